//! The records of the history log (schema version 1): one [`Entry`] per
//! message or event delivered, its [`Kind`], and the [`Ref`] a query names
//! a position with.
//!
//! Plain data with serde derives. bincode writes fields and variants by
//! position, not by name: inserting, removing or reordering a field or a
//! variant changes the file format (bump `codec::SCHEMA`). Appending a
//! variant at the end of [`Kind`] is the one safe change. `target`,
//! `msgid` and `time_ms` come first on purpose: the scan at start decodes
//! only them (codec::Head).
//!
//! Imports nothing from the crate; knows no casemapping (targets arrive
//! folded) and no wire escaping (the caller serializes).

use serde::{Deserialize, Serialize};

/// One message or event, as it was relayed: enough to send the same line
/// again (`@msgid=…;time=…;<tags> :<source> <VERB> <params…> [:<text>]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The buffer it belongs to: a casefolded channel name, or the key of
    /// a private conversation that the caller builds (for instance both
    /// participants' folded accounts or nicks, sorted). Never shown as is.
    pub target: String,
    /// The `msgid` tag it was relayed with.
    pub msgid: String,
    /// The `time` tag it was relayed with (UNIX milliseconds).
    pub time_ms: u64,
    /// `nick!user@host` as relayed.
    pub source: String,
    /// The sender's account (display form), for `account-tag`.
    pub account: Option<String>,
    pub kind: Kind,
    /// Every middle parameter of the original line, in order, as written
    /// (display case): `["#Chan"]` for a channel PRIVMSG, `["Bob"]` for a
    /// private one (the recipient), `["#Chan", "Bob"]` for a KICK,
    /// `["#Chan", "+o", "Bob"]` for a MODE, `["NewNick"]` for a NICK.
    pub params: Vec<String>,
    /// The trailing parameter (message text, part/quit/kick reason, topic),
    /// when the line had one.
    pub text: Option<String>,
    /// Client-only tags (`+draft/reply`, `+typing`…), names with their `+`,
    /// values unescaped.
    pub tags: Vec<(String, String)>,
}

/// What kind of line an [`Entry`] replays as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    Privmsg,
    Notice,
    Tagmsg,
    Join,
    Part,
    Quit,
    Kick,
    Mode,
    Topic,
    Nick,
}

impl Kind {
    /// The command it is sent as.
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Privmsg => "PRIVMSG",
            Kind::Notice => "NOTICE",
            Kind::Tagmsg => "TAGMSG",
            Kind::Join => "JOIN",
            Kind::Part => "PART",
            Kind::Quit => "QUIT",
            Kind::Kick => "KICK",
            Kind::Mode => "MODE",
            Kind::Topic => "TOPIC",
            Kind::Nick => "NICK",
        }
    }

    /// PRIVMSG and NOTICE: what a client gets without
    /// `draft/event-playback`; the rest are events.
    pub fn is_message(self) -> bool {
        matches!(self, Kind::Privmsg | Kind::Notice)
    }
}

impl Entry {
    /// The line without its tags: `:<source> <VERB> <params…>[ :<text>]`.
    /// Parameters are written as stored (a middle parameter has no space
    /// and no leading `:`, as the parser that accepted it guarantees).
    pub fn line(&self) -> String {
        let mut out = String::with_capacity(
            self.source.len()
                + 12
                + self.params.iter().map(|p| p.len() + 1).sum::<usize>()
                + self.text.as_ref().map_or(0, |t| t.len() + 2),
        );
        out.push(':');
        out.push_str(&self.source);
        out.push(' ');
        out.push_str(self.kind.verb());
        for p in &self.params {
            out.push(' ');
            out.push_str(p);
        }
        if let Some(t) = &self.text {
            out.push_str(" :");
            out.push_str(t);
        }
        out
    }
}

/// A position in a target's history, as CHATHISTORY names one
/// (`msgid=…` or `timestamp=…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ref {
    /// The message with this `msgid` (excluded from the bounds it sets).
    Msgid(String),
    /// A UNIX time in milliseconds (messages of exactly this time are
    /// excluded from the bounds it sets).
    Timestamp(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_rebuilt_from_its_entry() {
        let kick = Entry {
            target: "#pi".into(),
            msgid: "m1".into(),
            time_ms: 1,
            source: "op!o@host".into(),
            account: Some("Op".into()),
            kind: Kind::Kick,
            params: vec!["#Pi".into(), "bob".into()],
            text: Some("bye now".into()),
            tags: vec![],
        };
        assert_eq!(kick.line(), ":op!o@host KICK #Pi bob :bye now");
        let tagmsg = Entry {
            kind: Kind::Tagmsg,
            params: vec!["#Pi".into()],
            text: None,
            tags: vec![("+typing".into(), "active".into())],
            ..kick
        };
        assert_eq!(tagmsg.line(), ":op!o@host TAGMSG #Pi");
        assert!(!Kind::Tagmsg.is_message() && Kind::Notice.is_message());
    }
}
