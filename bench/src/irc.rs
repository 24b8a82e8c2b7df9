//! The client side of RFC 1459 that every scenario needs: a small line
//! parser (keeping the IRCv3 tag section), and a session that registers
//! (NICK/USER, done at 001; 432/433 pick another nick), answers the
//! server's PINGs, counts end-of-NAMES (366) after JOIN, and matches
//! PONGs to sync tokens. A session may first request IRCv3 capabilities
//! (`cap`): one `CAP REQ` per capability before NICK/USER, `CAP END` once
//! each was ACKed or NAKed; a server that does not know CAP (421/451)
//! registers it without them.
//!
//! Works against any RFC 1459 server (picoircd, ngircd, InspIRCd): it
//! relies on numerics and commands only, never on a server's notices.
//! No I/O: replies go into the caller's output buffer.

use std::io::Write;

/// The most parameters a line is split into (RFC 1459).
const MAX_PARAMS: usize = 15;

/// The IRCv3 capabilities a session may request, as bits.
pub mod cap {
    pub const MESSAGE_TAGS: u8 = 1 << 0;
    pub const SERVER_TIME: u8 = 1 << 1;
    pub const ECHO_MESSAGE: u8 = 1 << 2;
    /// Every bit with its wire name, in request order.
    pub const ALL: [(u8, &str); 3] = [
        (MESSAGE_TAGS, "message-tags"),
        (SERVER_TIME, "server-time"),
        (ECHO_MESSAGE, "echo-message"),
    ];

    /// The bit of a wire name, or 0 for a capability not requested here.
    pub fn bit(name: &str) -> u8 {
        ALL.iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map_or(0, |(b, _)| *b)
    }

    /// The wire names of `mask`, space separated (`"none"` when empty).
    pub fn names(mask: u8) -> String {
        let v: Vec<&str> = ALL
            .iter()
            .filter(|(b, _)| mask & b != 0)
            .map(|(_, n)| *n)
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(" ")
        }
    }
}

/// One line from the server, borrowing its text.
pub struct Line<'a> {
    /// The tag section without its `@` (values still escaped), or `""`.
    pub tags: &'a str,
    /// The source without its `:` (`nick!user@host` or a server), or `""`.
    pub source: &'a str,
    pub command: &'a str,
    params: [&'a str; MAX_PARAMS],
    n: usize,
}

impl<'a> Line<'a> {
    /// Splits a line (without CR LF). `None` for an empty or non-UTF-8 line.
    pub fn parse(raw: &'a [u8]) -> Option<Line<'a>> {
        let mut rest = std::str::from_utf8(raw).ok()?.trim_start_matches(' ');
        let mut tags = "";
        if let Some(t) = rest.strip_prefix('@') {
            let (t, r) = t.split_once(' ')?;
            tags = t;
            rest = r.trim_start_matches(' ');
        }
        let mut source = "";
        if let Some(s) = rest.strip_prefix(':') {
            let (src, r) = s.split_once(' ')?;
            source = src;
            rest = r.trim_start_matches(' ');
        }
        let (command, mut rest) = match rest.split_once(' ') {
            Some((c, r)) => (c, r.trim_start_matches(' ')),
            None => (rest, ""),
        };
        if command.is_empty() {
            return None;
        }
        let mut line = Line {
            tags,
            source,
            command,
            params: [""; MAX_PARAMS],
            n: 0,
        };
        while !rest.is_empty() && line.n < MAX_PARAMS {
            if let Some(t) = rest.strip_prefix(':') {
                line.params[line.n] = t;
                line.n += 1;
                break;
            }
            let (p, r) = rest.split_once(' ').unwrap_or((rest, ""));
            line.params[line.n] = p;
            line.n += 1;
            rest = r.trim_start_matches(' ');
        }
        Some(line)
    }

    /// Parameter `i`, or `""`.
    pub fn param(&self, i: usize) -> &'a str {
        if i < self.n {
            self.params[i]
        } else {
            ""
        }
    }

    /// The value of tag `key` (`""` for a tag without one), still escaped;
    /// `None` when the line does not carry it.
    pub fn tag(&self, key: &str) -> Option<&'a str> {
        self.tag_pairs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every `(key, value)` of the tag section, in order.
    pub fn tag_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.tags
            .split(';')
            .filter(|t| !t.is_empty())
            .map(|t| t.split_once('=').unwrap_or((t, "")))
    }

    /// The last parameter (the trailing text), or `""`.
    pub fn last(&self) -> &'a str {
        if self.n == 0 {
            ""
        } else {
            self.params[self.n - 1]
        }
    }
}

/// Where one client is with the server.
#[derive(Debug, Default, Clone)]
pub struct Session {
    pub nick: String,
    /// 001 arrived.
    pub registered: bool,
    /// How many 366 (end of NAMES) arrived: one per channel joined.
    pub joined: u32,
    /// The last sync token sent, and the last one answered.
    pub sync_sent: u64,
    pub sync_done: u64,
    /// Nicks refused (432/433) before registration.
    pub renames: u32,
    /// The server sent ERROR.
    pub error: bool,
    /// Capabilities (`cap` bits) requested before registering.
    pub caps_wanted: u8,
    /// Those the server ACKed.
    pub caps_acked: u8,
    /// Requests still waiting for their ACK or NAK.
    pub caps_pending: u8,
}

/// What a line meant to the session, when the scenario may care.
// `Other` holds the parsed line by value: boxing it would allocate once
// per received line, the generator's hottest path.
#[allow(clippy::large_enum_variant)]
pub enum Event<'a> {
    /// Handled here (PING, 433, PONG of an old token, …) or uninteresting.
    Nothing,
    /// 001: registered.
    Registered,
    /// 366: one more channel joined.
    Joined,
    /// The PONG of the last sync token: every earlier line was handled.
    Synced,
    /// Anything else, for the scenario (PRIVMSG, JOIN, QUIT, …).
    Other(Line<'a>),
}

impl Session {
    pub fn new(nick: String) -> Session {
        Session {
            nick,
            ..Session::default()
        }
    }

    /// A session that requests the capabilities `caps` (`cap` bits) before
    /// registering.
    pub fn with_caps(nick: String, caps: u8) -> Session {
        Session {
            caps_wanted: caps,
            ..Session::new(nick)
        }
    }

    /// The registration lines: one `CAP REQ` per wanted capability (so a
    /// server ACKs what it has and NAKs the rest, each on its own), then
    /// NICK and USER. A server that knows CAP holds the registration until
    /// `CAP END`, sent once every request has its answer.
    pub fn register(&mut self, out: &mut Vec<u8>) {
        self.caps_acked = 0;
        self.caps_pending = self.caps_wanted;
        for (bit, name) in cap::ALL {
            if self.caps_wanted & bit != 0 {
                let _ = write!(out, "CAP REQ :{name}\r\n");
            }
        }
        let _ = write!(out, "NICK {0}\r\nUSER {0} 0 * :bench {0}\r\n", self.nick);
    }

    /// `CAP <target> ACK|NAK :names`: records the answers, and ends the
    /// negotiation when the last one arrived.
    fn on_cap(&mut self, line: &Line, out: &mut Vec<u8>) {
        let ack = match line.param(1) {
            "ACK" => true,
            "NAK" => false,
            _ => return,
        };
        let before = self.caps_pending;
        for name in line.last().split(' ') {
            let bit = cap::bit(name) & self.caps_wanted;
            if ack {
                self.caps_acked |= bit;
            }
            self.caps_pending &= !bit;
        }
        if before != 0 && self.caps_pending == 0 && !self.registered {
            out.extend_from_slice(b"CAP END\r\n");
        }
    }

    /// Sends a PING whose PONG proves every earlier line was handled.
    pub fn sync(&mut self, out: &mut Vec<u8>) {
        self.sync_sent += 1;
        let _ = write!(out, "PING :sync{}\r\n", self.sync_sent);
    }

    /// Handles what every session handles; replies go to `out`.
    pub fn on_line<'a>(&mut self, line: Line<'a>, out: &mut Vec<u8>) -> Event<'a> {
        match line.command {
            "PRIVMSG" | "NOTICE" | "JOIN" | "PART" | "QUIT" => Event::Other(line),
            "CAP" => {
                self.on_cap(&line, out);
                Event::Nothing
            }
            "PING" => {
                let _ = write!(out, "PONG :{}\r\n", line.last());
                Event::Nothing
            }
            "PONG" => {
                let token = line
                    .last()
                    .strip_prefix("sync")
                    .and_then(|t| t.parse().ok());
                if token == Some(self.sync_sent) {
                    self.sync_done = self.sync_sent;
                    Event::Synced
                } else {
                    Event::Nothing
                }
            }
            // A server without CAP: it never held the registration.
            "421" | "451" if line.param(1) == "CAP" && !self.registered => {
                self.caps_pending = 0;
                Event::Nothing
            }
            "001" => {
                self.registered = true;
                // Requests still unanswered are not granted.
                self.caps_pending = 0;
                // The server may have changed or cut the nick: it is the target.
                if !line.param(0).is_empty() {
                    self.nick = line.param(0).to_string();
                }
                Event::Registered
            }
            "366" => {
                self.joined += 1;
                Event::Joined
            }
            "432" | "433" | "436" if !self.registered => {
                self.renames += 1;
                // A short, fresh nick (432 may mean "too long").
                self.nick = format!("{}{}", &self.nick[..self.nick.len().min(6)], self.renames);
                let _ = write!(out, "NICK {}\r\n", self.nick);
                Event::Nothing
            }
            "ERROR" => {
                self.error = true;
                Event::Other(line)
            }
            _ => Event::Other(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        let l = Line::parse(b"@t=1 :n!u@h PRIVMSG #c :hello world").unwrap();
        assert_eq!(
            (l.source, l.command, l.param(0), l.last()),
            ("n!u@h", "PRIVMSG", "#c", "hello world")
        );
        let l = Line::parse(b"PING srv").unwrap();
        assert_eq!((l.source, l.command, l.last()), ("", "PING", "srv"));
        let l = Line::parse(b":s 366 me #c :End of /NAMES list.").unwrap();
        assert_eq!((l.param(0), l.param(1), l.param(9)), ("me", "#c", ""));
        assert!(Line::parse(b"").is_none());
        assert!(Line::parse(b"\xff").is_none());
        let l = Line::parse(b"@time=2026-11-25T10:00:00.000Z;msgid=a1;bot :n!u@h PRIVMSG #c :x")
            .unwrap();
        assert_eq!((l.command, l.param(0), l.last()), ("PRIVMSG", "#c", "x"));
        assert_eq!(l.tag("msgid"), Some("a1"));
        assert_eq!(l.tag("time"), Some("2026-11-25T10:00:00.000Z"));
        assert_eq!(l.tag("bot"), Some(""));
        assert_eq!(l.tag("account"), None);
        assert_eq!(l.tag_pairs().count(), 3);
        let l = Line::parse(b":n!u@h PRIVMSG #c :x").unwrap();
        assert_eq!(
            (l.tags, l.tag("msgid"), l.tag_pairs().count()),
            ("", None, 0)
        );
        assert!(Line::parse(b"@only-tags").is_none());
    }

    #[test]
    fn negotiates_caps_one_request_each() {
        let all = cap::MESSAGE_TAGS | cap::SERVER_TIME | cap::ECHO_MESSAGE;
        let mut s = Session::with_caps("c1".into(), all);
        let mut out = Vec::new();
        s.register(&mut out);
        assert_eq!(
            out,
            b"CAP REQ :message-tags\r\nCAP REQ :server-time\r\nCAP REQ :echo-message\r\n\
              NICK c1\r\nUSER c1 0 * :bench c1\r\n"
        );
        out.clear();
        let feed = |s: &mut Session, line: &[u8], out: &mut Vec<u8>| {
            assert!(matches!(
                s.on_line(Line::parse(line).unwrap(), out),
                Event::Nothing
            ));
        };
        feed(&mut s, b":srv CAP * ACK :message-tags", &mut out);
        feed(
            &mut s,
            b"@time=2026-11-25T10:00:00.000Z :srv CAP * NAK :server-time",
            &mut out,
        );
        assert!(out.is_empty(), "CAP END waits for every answer");
        feed(&mut s, b":srv CAP * ACK :echo-message ", &mut out);
        assert_eq!(out, b"CAP END\r\n");
        assert_eq!(s.caps_acked, cap::MESSAGE_TAGS | cap::ECHO_MESSAGE);
        assert_eq!(s.caps_pending, 0);
        // A late ACK still enables what it names (the server will tag
        // for it), a capability never asked for is ignored, and the
        // negotiation is not ended twice.
        out.clear();
        feed(
            &mut s,
            b":srv CAP * ACK :server-time multi-prefix",
            &mut out,
        );
        assert!(out.is_empty());
        assert_eq!(
            cap::names(s.caps_acked),
            "message-tags server-time echo-message"
        );
        assert_eq!(cap::names(0), "none");
    }

    #[test]
    fn registers_without_caps_on_a_server_without_cap() {
        let mut s = Session::with_caps("c2".into(), cap::SERVER_TIME);
        let mut out = Vec::new();
        s.register(&mut out);
        out.clear();
        s.on_line(
            Line::parse(b":srv 421 * CAP :Unknown command").unwrap(),
            &mut out,
        );
        assert_eq!((s.caps_pending, s.caps_acked), (0, 0));
        assert!(out.is_empty(), "no CAP END to a server that never held us");
        // A server that ignores CAP altogether: 001 ends the wait.
        let mut s = Session::with_caps("c3".into(), cap::MESSAGE_TAGS);
        s.register(&mut out);
        out.clear();
        s.on_line(Line::parse(b":srv 001 c3 :hi").unwrap(), &mut out);
        assert!(s.registered && s.caps_pending == 0 && s.caps_acked == 0);
        s.on_line(
            Line::parse(b":srv CAP c3 ACK :message-tags").unwrap(),
            &mut out,
        );
        assert!(out.is_empty(), "no CAP END after registration");
    }

    #[test]
    fn registers_renames_and_syncs() {
        let mut s = Session::new("bench1".into());
        let mut out = Vec::new();
        s.register(&mut out);
        assert_eq!(out, b"NICK bench1\r\nUSER bench1 0 * :bench bench1\r\n");
        out.clear();
        s.on_line(Line::parse(b":srv 433 * bench1 :in use").unwrap(), &mut out);
        assert_eq!(out, b"NICK bench11\r\n");
        out.clear();
        s.on_line(Line::parse(b"PING :abc").unwrap(), &mut out);
        assert_eq!(out, b"PONG :abc\r\n");
        assert!(matches!(
            s.on_line(Line::parse(b":srv 001 bench11 :hi").unwrap(), &mut out),
            Event::Registered
        ));
        assert!(s.registered && s.nick == "bench11");
        out.clear();
        s.sync(&mut out);
        assert_ne!(s.sync_done, s.sync_sent);
        assert!(matches!(
            s.on_line(Line::parse(b":srv PONG srv :sync1").unwrap(), &mut out),
            Event::Synced
        ));
        assert_eq!(s.sync_done, s.sync_sent);
        assert!(matches!(
            s.on_line(Line::parse(b":srv 366 bench11 #c :End").unwrap(), &mut out),
            Event::Joined
        ));
        assert_eq!(s.joined, 1);
    }
}
