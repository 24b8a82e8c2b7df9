//! The client side of RFC 1459 that every scenario needs: a small line
//! parser, and a session that registers (NICK/USER, done at 001; 432/433
//! pick another nick), answers the server's PINGs, counts end-of-NAMES
//! (366) after JOIN, and matches PONGs to sync tokens.
//!
//! Works against any RFC 1459 server (picoircd, ngircd, InspIRCd): it
//! relies on numerics and commands only, never on a server's notices.
//! No I/O: replies go into the caller's output buffer.

use std::io::Write;

/// The most parameters a line is split into (RFC 1459).
const MAX_PARAMS: usize = 15;

/// One line from the server, borrowing its text.
pub struct Line<'a> {
    pub command: &'a str,
    params: [&'a str; MAX_PARAMS],
    n: usize,
}

impl<'a> Line<'a> {
    /// Splits a line (without CR LF). `None` for an empty or non-UTF-8 line.
    pub fn parse(raw: &'a [u8]) -> Option<Line<'a>> {
        let mut rest = std::str::from_utf8(raw).ok()?.trim_start_matches(' ');
        if rest.starts_with('@') {
            rest = rest.split_once(' ')?.1.trim_start_matches(' ');
        }
        if let Some(s) = rest.strip_prefix(':') {
            rest = s.split_once(' ')?.1.trim_start_matches(' ');
        }
        let (command, mut rest) = match rest.split_once(' ') {
            Some((c, r)) => (c, r.trim_start_matches(' ')),
            None => (rest, ""),
        };
        if command.is_empty() {
            return None;
        }
        let mut line = Line {
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

    /// The registration lines.
    pub fn register(&self, out: &mut Vec<u8>) {
        let _ = write!(out, "NICK {0}\r\nUSER {0} 0 * :bench {0}\r\n", self.nick);
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
            "001" => {
                self.registered = true;
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
            (l.command, l.param(0), l.last()),
            ("PRIVMSG", "#c", "hello world")
        );
        let l = Line::parse(b"PING srv").unwrap();
        assert_eq!((l.command, l.last()), ("PING", "srv"));
        let l = Line::parse(b":s 366 me #c :End of /NAMES list.").unwrap();
        assert_eq!((l.param(0), l.param(1), l.param(9)), ("me", "#c", ""));
        assert!(Line::parse(b"").is_none());
        assert!(Line::parse(b"\xff").is_none());
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
