//! draft/relaymsg: `RELAYMSG` lets a bridge post to a channel as a spoofed
//! nick (`matrix/alice!~u@<the bridge's host>`), as Ergo does. The nick
//! must hold one of the configured separators, which no real nick can,
//! so a relayed message can never pass for a real user's.
//!
//! Who may relay: opers whose class has the `relaymsg` capability, and
//! (unless `relaymsg.available-to-chanops` is off) the channel's
//! operators; the relayer then passes the same channel checks as a
//! PRIVMSG of its own (+n, +m, +b, +C), and the spoofed mask must not be
//! banned. Recipients with `message-tags` or `draft/relaymsg` get the
//! `draft/relaymsg=<relayer nick>` tag, so a bridge can tell its own
//! messages (and other relays) apart. The message is one event, written
//! once per tag form; the relay-tag-only form (`draft/relaymsg` without
//! `message-tags`) is written here, once per `server-time` variant.
//! Imports `proto` and `state`; never `net`.

use std::rc::Rc;
use std::time::Instant;

use crate::proto::message::escape_tag_value;
use crate::proto::{caps, casemap, write, Message};
use crate::state::channel::prefix;
use crate::state::error::{CmdError, CmdResult};
use crate::state::event::is_client_tag;
use crate::state::handlers::messaging;
use crate::state::{ClientId, State};

/// The tag naming the relayer (Ergo's `caps.RelaymsgTagName`).
const TAG: &str = "draft/relaymsg";
/// The user part of every relayed mask (Ergo's default without
/// `coerce-ident`).
const IDENT: &str = "~u";

fn fail(code: &'static str, text: String) -> CmdError {
    CmdError::Fail("RELAYMSG", code, vec![], text)
}

/// Why a spoofed nick is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BadNick {
    /// Not a nickname even with its separators read as letters.
    Invalid,
    /// A valid nickname, but without a separator.
    NoSeparator,
}

/// Checks a spoofed nick: a nickname (`casemap::valid_nick`, at most
/// `max` bytes) in which some characters after the first are separators.
pub fn check_nick(nick: &str, separators: &str, max: usize) -> Result<(), BadNick> {
    let is_sep = |c: char| separators.contains(c);
    // Separators are ASCII (config check), so the byte length is kept.
    let plain: String = nick
        .chars()
        .map(|c| if is_sep(c) { 'a' } else { c })
        .collect();
    if nick.starts_with(is_sep) || !casemap::valid_nick(&plain, max) {
        Err(BadNick::Invalid)
    } else if !nick.contains(is_sep) {
        Err(BadNick::NoSeparator)
    } else {
        Ok(())
    }
}

/// `RELAYMSG <channel> <spoofed nick> :<text>`
pub fn relaymsg(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let (name, nick, text) = (m.param(0), m.param(1), m.param(2));
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    let cfg = Rc::clone(&s.config);
    let c = &s.clients[id];
    let ch = &s.channels[chan];
    let member = ch.prefix_of(id);
    let chanop = member.is_some_and(|p| prefix::rank(p) >= prefix::rank(prefix::OP));
    if !(c.has_oper_cap("relaymsg") || cfg.relaymsg.available_to_chanops && chanop) {
        return Err(fail(
            "PRIVS_NEEDED",
            "You cannot relay messages to this channel".into(),
        ));
    }
    if text.trim().is_empty() {
        return Err(fail("BLANK_MSG", "The message must not be blank".into()));
    }
    let separators = &cfg.relaymsg.separators;
    match check_nick(nick, separators, cfg.limits.nicklen) {
        Ok(()) => {}
        Err(BadNick::Invalid) => return Err(fail("INVALID_NICK", "Invalid nickname".into())),
        Err(BadNick::NoSeparator) => {
            return Err(fail(
                "INVALID_NICK",
                format!(
                "Relayed nicknames MUST contain a relaymsg separator from this set: {separators}"
            ),
            ))
        }
    }
    let source = format!("{nick}!{IDENT}@{}", c.host());
    if ch.is_banned(&[&source]) {
        return Err(fail(
            "BANNED",
            format!("{nick} is banned from relaying to the channel"),
        ));
    }
    // The relayer speaks in the channel: PRIVMSG's checks, for the relayer.
    messaging::may_speak(s, id, chan, messaging::is_ctcp(text))?;
    let c = &s.clients[id];
    let ch = &s.channels[chan];
    let chan_name = ch.name.clone();
    let members: Vec<ClientId> = ch.members.iter().map(|mb| mb.id).collect();
    let mut relayer = Vec::new();
    escape_tag_value(c.nick(), &mut relayer);
    let relayer = String::from_utf8(relayer).unwrap_or_default();
    s.clients[id].last_message = s.clock.stamp(now);

    let middle = [chan_name.as_str()];
    let mut ev = s.event(Some(&source), "PRIVMSG", &middle, Some(text));
    // message-tags recipients: the relay tag, then the relayer's own
    // client-only tags (Ergo relays those too).
    ev.client_tags.push((TAG, &relayer));
    ev.client_tags
        .extend(m.tags().filter(|(k, _)| is_client_tag(k)));
    // `draft/relaymsg` without `message-tags`: the relay tag alone (and
    // `time`), no msgid; indexed by server-time.
    let mut tag_only: [Option<Rc<[u8]>>; 2] = [None, None];
    // Every member hears it, the relayer too (as in Ergo: a bridge sees
    // its own relays, echo-message or not).
    for member in members {
        let Some(c) = s.clients.get(member) else {
            continue;
        };
        if c.has_cap(caps::RELAYMSG) && !c.has_cap(caps::MESSAGE_TAGS) {
            let timed = c.has_cap(caps::SERVER_TIME);
            let line = tag_only[usize::from(timed)].get_or_insert_with(|| {
                let mut tags = Vec::with_capacity(2);
                if let (true, Some(t)) = (timed, ev.time.as_deref()) {
                    tags.push(("time", t));
                }
                tags.push((TAG, relayer.as_str()));
                let mut buf = Vec::with_capacity(128);
                write::raw_tags(&mut buf, &tags);
                write::line(&mut buf, Some(&source), "PRIVMSG", &middle, Some(text));
                Rc::from(buf)
            });
            let line = Rc::clone(line);
            s.send_shared(member, &line);
        } else {
            s.send_event(member, &mut ev);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::*;

    #[test]
    fn spoofed_nicks() {
        assert_eq!(check_nick("matrix/alice", "/", 32), Ok(()));
        assert_eq!(check_nick("a/b~c", "/~", 32), Ok(()));
        assert_eq!(check_nick("alice", "/", 32), Err(BadNick::NoSeparator));
        for bad in [
            "/alice", "1a/b", "a b/c", "a!b/c", "a/b@c", "", "é/x", "a/b.c",
        ] {
            assert_eq!(check_nick(bad, "/", 32), Err(BadNick::Invalid), "{bad}");
        }
        assert_eq!(check_nick("ab/cd", "/", 4), Err(BadNick::Invalid));
        assert_eq!(check_nick("a~b", "/", 32), Err(BadNick::Invalid));
    }

    #[test]
    fn an_op_relays_to_every_member_with_the_right_tags() {
        let mut h = Harness::new();
        let bot = h.client("bridge");
        let plain = h.client("plain");
        let tagged = h.client("tagged");
        let relay = h.client("relay");
        h.line(tagged, "CAP REQ message-tags");
        h.line(relay, "CAP REQ :draft/relaymsg server-time");
        for (id, p) in [(bot, prefix::OP), (plain, 0), (tagged, 0), (relay, 0)] {
            h.put_in(id, "#c", p);
            h.take(id);
        }
        h.line(
            bot,
            "@+draft/reply=x;other=y RELAYMSG #c irc/bob :hello there",
        );
        let host = h.s.clients[bot].host().to_owned();
        let body = format!(":irc/bob!~u@{host} PRIVMSG #c :hello there");
        assert_eq!(h.take(plain), std::slice::from_ref(&body));
        assert_eq!(
            h.take(bot),
            std::slice::from_ref(&body),
            "the relayer hears it too"
        );
        let got = h.take(tagged);
        assert_eq!(got.len(), 1);
        let (tags, rest) = got[0][1..].split_once(' ').unwrap();
        assert_eq!(rest, body);
        let tags: Vec<&str> = tags.split(';').collect();
        assert!(tags[0].starts_with("msgid="), "{tags:?}");
        assert_eq!(tags[1..], ["draft/relaymsg=bridge", "+draft/reply=x"]);
        let got = h.take(relay);
        assert_eq!(got.len(), 1);
        let (tags, rest) = got[0][1..].split_once(' ').unwrap();
        assert_eq!(rest, body);
        assert!(tags.starts_with("time=") && tags.ends_with(";draft/relaymsg=bridge"));
        assert!(!tags.contains("msgid"), "{tags}");
    }

    #[test]
    fn who_may_relay_and_the_errors() {
        let mut cfg = config();
        cfg.oper_classes[0].capabilities.push("relaymsg".into());
        let mut h = Harness::with_config(cfg);
        let op = h.client("op");
        let voice = h.client("voice");
        let oper = h.client("oscar");
        h.put_in(op, "#c", prefix::OP);
        h.put_in(voice, "#c", prefix::VOICE);
        h.make_oper(oper);
        h.take(op);
        h.take(voice);
        let fails = [
            (
                "RELAYMSG #nope a/b :hi",
                ":pico.test 403 voice #nope :No such channel",
            ),
            (
                "RELAYMSG #c a/b",
                ":pico.test 461 voice RELAYMSG :Not enough parameters",
            ),
            (
                "RELAYMSG #c a/b :hi",
                ":pico.test FAIL RELAYMSG PRIVS_NEEDED :You cannot relay messages to this channel",
            ),
        ];
        for (line, want) in fails {
            h.line(voice, line);
            assert_eq!(h.take(voice), [want], "{line}");
        }
        let fails = [
            ("RELAYMSG #c a/b : ", "BLANK_MSG :The message must not be blank"),
            ("RELAYMSG #c a.b/c :hi", "INVALID_NICK :Invalid nickname"),
            (
                "RELAYMSG #c ab :hi",
                "INVALID_NICK :Relayed nicknames MUST contain a relaymsg separator from this set: /",
            ),
        ];
        for (line, want) in fails {
            h.line(op, line);
            assert_eq!(
                h.take(op),
                [format!(":pico.test FAIL RELAYMSG {want}")],
                "{line}"
            );
        }
        h.line(op, "MODE #c +b evil/*!*@*");
        h.take(op);
        h.line(op, "RELAYMSG #c evil/one :hi");
        assert_eq!(
            h.take(op),
            [":pico.test FAIL RELAYMSG BANNED :evil/one is banned from relaying to the channel"]
        );
        h.take(voice);
        // An oper with the capability, outside the channel: +n stops it.
        h.line(oper, "RELAYMSG #c x/y :hi");
        assert_eq!(
            h.take(oper),
            [":pico.test 404 oscar #c :Cannot send to channel"]
        );
        h.line(op, "MODE #c -n");
        h.line(oper, "RELAYMSG #c x/y :hi");
        assert!(h.take(oper).is_empty(), "not a member: no copy");
        assert_has(&h.take(voice), " PRIVMSG #c :hi");
        h.line(op, "MODE #c +m");
        h.line(oper, "RELAYMSG #c x/y :hi");
        assert_eq!(
            h.take(oper),
            [":pico.test 404 oscar #c :Cannot send to channel (+m)"]
        );
        h.line(op, "MODE #c +C");
        h.line(op, "RELAYMSG #c x/y :\x01VERSION\x01");
        assert_has(&h.take(op), " 404 op #c :Cannot send to channel (+C)");
    }

    #[test]
    fn chanops_need_the_config_switch() {
        let mut cfg = config();
        cfg.relaymsg.available_to_chanops = false;
        let mut h = Harness::with_config(cfg);
        let op = h.client("op");
        h.put_in(op, "#c", prefix::OP);
        h.take(op);
        h.line(op, "RELAYMSG #c a/b :hi");
        assert_has(&h.take(op), "FAIL RELAYMSG PRIVS_NEEDED ");
    }
}
