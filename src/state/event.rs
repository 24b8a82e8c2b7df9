//! One message for many recipients, with the IRCv3 tags each recipient
//! asked for, serialized once per *form* rather than once per recipient.
//!
//! A recipient's form is the set of capabilities it negotiated that
//! change the bytes of a relayed message: `message-tags` (msgid, `bot`,
//! client-only tags), `server-time` (`time`), `account-tag` (`account`),
//! and the one capability that selects the event's alternative wording
//! if it has one (`extended-join`'s `JOIN #chan account :realname`). Four
//! bits give sixteen forms; each is written on first use and shared
//! (`Rc`) by every recipient of that form. A channel of 5,000 members
//! whose clients use two forms costs two serializations.
//!
//! Plain data and the serializer; who gets which form is decided in
//! `State` (`send_event*`). Imports `proto` only.

use std::rc::Rc;

use crate::proto::{caps, write};

/// The capability bits that select a form, in form-index bit order.
const FORM_CAPS: [u64; 3] = [caps::MESSAGE_TAGS, caps::SERVER_TIME, caps::ACCOUNT_TAG];
/// The tag forms, times two for the alternative wording.
const FORMS: usize = 1 << (FORM_CAPS.len() + 1);
const MT: usize = 1;
const ST: usize = 2;
const AT: usize = 4;
const ALT: usize = 8;

/// Another wording of an event for recipients with capability `cap`
/// (`extended-join`).
pub struct Alt<'a> {
    pub cap: u64,
    pub middle: &'a [&'a str],
    pub trailing: Option<&'a str>,
}

/// A message to relay: what every recipient sees, plus the tags some of
/// them see.
pub struct Event<'a> {
    pub source: Option<&'a str>,
    pub command: &'a str,
    pub middle: &'a [&'a str],
    pub trailing: Option<&'a str>,
    /// Client-only tags (`+draft/typing`) as sent, values still escaped;
    /// relayed to `message-tags` recipients only.
    pub client_tags: Vec<(&'a str, &'a str)>,
    /// The server's id for this message (`msgid`), for events that have one.
    pub msgid: Option<String>,
    /// `time` (RFC 3339, milliseconds, UTC), shared with the other lines
    /// of the same millisecond.
    pub time: Option<Rc<str>>,
    /// The sender's account (`account-tag`), if logged in.
    pub account: Option<Box<str>>,
    /// The wording for recipients with `alt.cap`, if the event has one.
    pub alt: Option<Alt<'a>>,
    /// The sender has user mode +B (`bot` tag).
    pub bot: bool,
    /// Only `message-tags` recipients get it at all (TAGMSG).
    pub tags_only: bool,
    forms: [Option<Rc<[u8]>>; FORMS],
}

impl<'a> Event<'a> {
    /// A message without tags of its own; `time` and `msgid` are the
    /// state's to fill (`State::event`).
    pub fn new(
        source: Option<&'a str>,
        command: &'a str,
        middle: &'a [&'a str],
        trailing: Option<&'a str>,
    ) -> Event<'a> {
        Event {
            source,
            command,
            middle,
            trailing,
            client_tags: Vec::new(),
            msgid: None,
            time: None,
            account: None,
            alt: None,
            bot: false,
            tags_only: false,
            forms: Default::default(),
        }
    }

    /// Does a client with capabilities `caps` receive this message?
    pub fn reaches(&self, caps: u64) -> bool {
        !self.tags_only || caps & caps::MESSAGE_TAGS != 0
    }

    /// The line for a recipient with capabilities `caps`, written on the
    /// first request for its form.
    pub fn line_for(&mut self, caps: u64) -> Rc<[u8]> {
        let mut form = form_of(caps);
        if self.alt.as_ref().is_some_and(|a| caps & a.cap != 0) {
            form |= ALT;
        }
        if let Some(line) = &self.forms[form] {
            return Rc::clone(line);
        }
        let mut buf = Vec::with_capacity(128);
        self.write(form, &mut buf);
        let line: Rc<[u8]> = Rc::from(buf);
        self.forms[form] = Some(Rc::clone(&line));
        line
    }

    /// How many forms were written so far (tests, benchmarks).
    pub fn forms_written(&self) -> usize {
        self.forms.iter().filter(|f| f.is_some()).count()
    }

    fn write(&self, form: usize, out: &mut Vec<u8>) {
        let mut tags: Vec<(&str, &str)> = Vec::new();
        if let (true, Some(t)) = (form & ST != 0, &self.time) {
            tags.push(("time", t));
        }
        if form & MT != 0 {
            if let Some(id) = &self.msgid {
                tags.push(("msgid", id));
            }
            if self.bot {
                tags.push(("bot", ""));
            }
        }
        if form & AT != 0 {
            if let Some(account) = self.account.as_deref() {
                tags.push(("account", account));
            }
        }
        if form & MT != 0 {
            // Client tags are relayed as sent (already escaped).
            tags.extend_from_slice(&self.client_tags);
        }
        // Every value is in wire form: times and ids need no escapes, an
        // account name is a nick, client tags were never unescaped.
        write::raw_tags(out, &tags);
        match (&self.alt, form & ALT != 0) {
            (Some(alt), true) => {
                write::line(out, self.source, self.command, alt.middle, alt.trailing)
            }
            _ => write::line(out, self.source, self.command, self.middle, self.trailing),
        }
    }
}

/// The form index of a recipient with capabilities `caps`.
fn form_of(caps: u64) -> usize {
    FORM_CAPS
        .iter()
        .enumerate()
        .filter(|(_, bit)| caps & **bit != 0)
        .fold(0, |acc, (i, _)| acc | 1 << i)
}

/// Is `key` a client-only tag name a server may relay? `+`, an optional
/// vendor (`example.com/`), then letters, digits and hyphens.
pub fn is_client_tag(key: &str) -> bool {
    let Some(name) = key.strip_prefix('+') else {
        return false;
    };
    let (vendor, name) = match name.rsplit_once('/') {
        Some((v, n)) => (Some(v), n),
        None => (None, name),
    };
    let ok_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let ok_vendor = vendor.is_none_or(|v| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'/')
    });
    ok_name && ok_vendor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &[u8]) -> &str {
        std::str::from_utf8(line).unwrap()
    }

    fn sample<'a>(middle: &'a [&'a str]) -> Event<'a> {
        let mut ev = Event::new(Some("a!u@h"), "PRIVMSG", middle, Some("hi there"));
        ev.msgid = Some("m1".into());
        ev.time = Some("2026-11-25T10:00:00.000Z".into());
        ev
    }

    #[test]
    fn each_form_carries_only_its_tags() {
        let middle = ["#c"];
        let mut ev = sample(&middle);
        ev.client_tags = vec![("+draft/typing", "active")];
        ev.bot = true;
        ev.account = Some("alice".into());
        assert_eq!(text(&ev.line_for(0)), ":a!u@h PRIVMSG #c :hi there\r\n");
        assert_eq!(
            text(&ev.line_for(caps::SERVER_TIME)),
            "@time=2026-11-25T10:00:00.000Z :a!u@h PRIVMSG #c :hi there\r\n"
        );
        assert_eq!(
            text(&ev.line_for(caps::MESSAGE_TAGS)),
            "@msgid=m1;bot;+draft/typing=active :a!u@h PRIVMSG #c :hi there\r\n"
        );
        assert_eq!(
            text(&ev.line_for(caps::MESSAGE_TAGS | caps::SERVER_TIME | caps::ACCOUNT_TAG)),
            "@time=2026-11-25T10:00:00.000Z;msgid=m1;bot;account=alice;+draft/typing=active \
             :a!u@h PRIVMSG #c :hi there\r\n"
        );
        assert_eq!(
            text(&ev.line_for(caps::ACCOUNT_TAG)),
            "@account=alice :a!u@h PRIVMSG #c :hi there\r\n"
        );
    }

    #[test]
    fn a_form_is_written_once_and_shared() {
        let middle = ["#c"];
        let mut ev = sample(&middle);
        let a = ev.line_for(caps::MESSAGE_TAGS | caps::ECHO_MESSAGE);
        let b = ev.line_for(caps::MESSAGE_TAGS | caps::MULTI_PREFIX);
        assert!(Rc::ptr_eq(&a, &b), "other caps do not make another form");
        let _ = ev.line_for(0);
        assert_eq!(ev.forms_written(), 2);
    }

    #[test]
    fn the_alternative_wording_is_its_own_form() {
        let middle = ["#c"];
        let alt_middle = ["#c", "*"];
        let mut ev = Event::new(Some("a!u@h"), "JOIN", &middle, None);
        ev.alt = Some(Alt {
            cap: caps::EXTENDED_JOIN,
            middle: &alt_middle,
            trailing: Some("Alice L"),
        });
        assert_eq!(text(&ev.line_for(0)), ":a!u@h JOIN #c\r\n");
        assert_eq!(
            text(&ev.line_for(caps::EXTENDED_JOIN)),
            ":a!u@h JOIN #c * :Alice L\r\n"
        );
        assert_eq!(
            text(&ev.line_for(caps::EXTENDED_JOIN | caps::MULTI_PREFIX)),
            ":a!u@h JOIN #c * :Alice L\r\n"
        );
        assert_eq!(ev.forms_written(), 2);
    }

    #[test]
    fn client_tags_alone_open_the_section() {
        let middle = ["bob"];
        let mut ev = Event::new(Some("a!u@h"), "TAGMSG", &middle, None);
        ev.tags_only = true;
        ev.client_tags = vec![("+draft/react", "\\s:)"), ("+x", "")];
        assert_eq!(
            text(&ev.line_for(caps::MESSAGE_TAGS)),
            "@+draft/react=\\s:);+x :a!u@h TAGMSG bob\r\n"
        );
        assert!(!ev.reaches(caps::SERVER_TIME));
        assert!(ev.reaches(caps::MESSAGE_TAGS));
    }

    #[test]
    fn client_tag_names() {
        for ok in ["+typing", "+draft/typing", "+example.com/x-y", "+a1"] {
            assert!(is_client_tag(ok), "{ok}");
        }
        for bad in ["typing", "+", "+draft/", "+/x", "+a b", "+a=b", "+é"] {
            assert!(!is_client_tag(bad), "{bad}");
        }
    }
}
