//! PRIVMSG, NOTICE and TAGMSG: to channels (with STATUSMSG prefixes), to
//! nicks, to several targets; CTCP passes through untouched (DCC offers
//! reach the peer as sent), except where a channel has +C. Client-only
//! tags (`+draft/typing`, `+draft/react`) ride along to `message-tags`
//! recipients; TAGMSG reaches only those. A channel message is serialized
//! once per tag form and shared by every recipient (`state::event`).
//! The checks a message to a target must pass are in `route`, shared with
//! draft/multiline batches (`handlers::multiline`), whose lines arrive
//! here as PRIVMSG/NOTICE with a `batch` tag.

use std::time::Instant;

use crate::limits::MAX_TARGETS;
use crate::proto::caps;
use crate::proto::numeric::*;
use crate::proto::Message;
use crate::state::channel::{flag, prefix};
use crate::state::error::{CmdError, CmdResult};
use crate::state::event::{is_client_tag, Event};
use crate::state::handlers::multiline;
use crate::state::services;
use crate::state::{ChanId, ClientId, State};

/// `PRIVMSG <target>{,<target>} :<text>`; with a `batch` tag, one line
/// of a draft/multiline batch (`multiline::absorb`).
pub fn privmsg(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    if let Some(reference) = m.tag("batch") {
        return multiline::absorb(s, id, m, "PRIVMSG", reference);
    }
    deliver(s, id, m, now, "PRIVMSG")
}

/// `NOTICE <target>{,<target>} :<text>` (errors are not answered, per RFC 1459)
pub fn notice(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    if let Some(reference) = m.tag("batch") {
        return multiline::absorb(s, id, m, "NOTICE", reference);
    }
    match deliver(s, id, m, now, "NOTICE") {
        Err(CmdError::NeedMoreParams(_)) => Ok(()),
        other => other,
    }
}

/// `TAGMSG <target>{,<target>}`: tags only, to `message-tags` clients.
pub fn tagmsg(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    deliver(s, id, m, now, "TAGMSG")
}

/// What is relayed: the command, its text (none for TAGMSG) and the
/// sender's client-only tags.
struct Relay<'a> {
    cmd: &'static str,
    text: Option<&'a str>,
    tags: Vec<(&'a str, &'a str)>,
}

impl<'a> Relay<'a> {
    /// The event from client `from` for one target, stamped with a fresh
    /// msgid and the sender's account and bot tags.
    fn event<'b>(
        &self,
        s: &mut State,
        from: ClientId,
        source: &'b str,
        target: &'b [&'b str],
    ) -> Event<'b>
    where
        'a: 'b,
    {
        let mut ev = s.user_event(from, source, self.cmd, target, self.text);
        ev.client_tags = self.tags.clone();
        ev.tags_only = self.cmd == "TAGMSG";
        ev
    }
}

fn deliver(s: &mut State, id: ClientId, m: &Message, now: Instant, cmd: &'static str) -> CmdResult {
    let notice = cmd == "NOTICE";
    let tagmsg = cmd == "TAGMSG";
    let targets = m.param(0);
    if targets.is_empty() {
        if notice {
            return Ok(());
        }
        return Err(CmdError::Numeric(
            ERR_NORECIPIENT,
            vec![],
            format!("No recipient given ({cmd})"),
        ));
    }
    let text = m.param(1);
    if text.is_empty() && !tagmsg {
        if notice {
            return Ok(());
        }
        return Err(CmdError::Numeric(
            ERR_NOTEXTTOSEND,
            vec![],
            "No text to send".into(),
        ));
    }
    let relay = Relay {
        cmd,
        text: (!tagmsg).then_some(text),
        tags: m.tags().filter(|(k, _)| is_client_tag(k)).collect(),
    };
    if !tagmsg {
        s.clients[id].last_message = s.clock.stamp(now);
    }
    for (i, target) in targets.split(',').filter(|t| !t.is_empty()).enumerate() {
        if i >= MAX_TARGETS {
            if !notice {
                s.numeric(
                    id,
                    ERR_TOOMANYTARGETS,
                    &[target],
                    &format!("Too many targets (maximum {MAX_TARGETS})"),
                );
            }
            break;
        }
        if let Some(svc) = services::by_nick(target) {
            // NickServ and ChanServ read PRIVMSGs; NOTICE and TAGMSG to
            // them go nowhere, as to a client that ignores them.
            if let (false, false, Some(text)) = (notice, tagmsg, relay.text) {
                services::privmsg(s, id, svc, text, now);
            }
            continue;
        }
        if let Err(e) = to_target(s, id, target, &relay) {
            if !notice {
                s.reply_error(id, &e);
            }
        }
    }
    Ok(())
}

/// Is `text` a CTCP other than ACTION?
pub fn is_ctcp(text: &str) -> bool {
    text.starts_with('\x01') && !text.starts_with("\x01ACTION")
}

/// Where a message goes once the checks for its target passed: the
/// recipients (the sender never among them), the target as they see it,
/// and the away message of a nick target. Shared by PRIVMSG/NOTICE/TAGMSG
/// and draft/multiline batches (`handlers::multiline`).
pub struct Route {
    pub recipients: Vec<ClientId>,
    /// `@#Chan` (status prefix and the channel's own spelling) or the nick.
    pub target: String,
    /// A nick target's nick and away message, for RPL_AWAY.
    pub away: Option<(String, String)>,
}

/// Resolves `target` (a channel with optional STATUSMSG prefixes, or a
/// nick) for client `id` and runs the checks a message to it must pass.
/// `ctcp`: the message holds a CTCP other than ACTION (refused by +C).
pub fn route(s: &State, id: ClientId, target: &str, ctcp: bool) -> Result<Route, CmdError> {
    let name = target.trim_start_matches(['~', '&', '@', '%', '+']);
    if name.starts_with('#') {
        channel_route(s, id, target, name, ctcp)
    } else {
        nick_route(s, target)
    }
}

fn channel_route(
    s: &State,
    id: ClientId,
    target: &str,
    name: &str,
    ctcp: bool,
) -> Result<Route, CmdError> {
    let status = &target[..target.len() - name.len()];
    // The lowest prefix named is the threshold (`@+#chan` → voiced and up).
    let min_rank = status
        .chars()
        .filter_map(prefix::from_char)
        .map(prefix::rank)
        .min();
    let Some(chan) = s.find_channel(name) else {
        return Err(CmdError::NoSuchChannel(name.to_string()));
    };
    may_speak(s, id, chan, ctcp)?;
    let ch = &s.channels[chan];
    let recipients = ch
        .members
        .iter()
        .filter(|mb| mb.id != id && min_rank.is_none_or(|rank| prefix::rank(mb.prefix) >= rank))
        .map(|mb| mb.id)
        .collect();
    Ok(Route {
        recipients,
        target: format!("{status}{}", ch.name),
        away: None,
    })
}

/// May client `id` speak in `chan`? +n (members only), +m (voiced and
/// up), +b (bans, unless voiced), +C (no CTCP other than ACTION, when
/// `ctcp`). PRIVMSG, NOTICE, TAGMSG, multiline and RELAYMSG all ask this.
pub fn may_speak(s: &State, id: ClientId, chan: ChanId, ctcp: bool) -> Result<(), CmdError> {
    let c = &s.clients[id];
    let ch = &s.channels[chan];
    let member = ch.prefix_of(id);
    let voiced = member.is_some_and(|p| p != 0);
    let why = if ch.has(flag::NO_EXTERNAL) && member.is_none() {
        ""
    } else if ch.has(flag::MODERATED) && !voiced {
        " (+m)"
    } else if !voiced && ch.is_banned(&[&c.mask(), &c.ip_mask()]) {
        " (+b)"
    } else if ch.has(flag::NO_CTCP) && ctcp {
        " (+C)"
    } else {
        return Ok(());
    };
    Err(CmdError::Numeric(
        ERR_CANNOTSENDTOCHAN,
        vec![ch.name.clone()],
        format!("Cannot send to channel{why}"),
    ))
}

fn nick_route(s: &State, target: &str) -> Result<Route, CmdError> {
    let Some(to) = s.find_nick(target).filter(|&t| s.clients[t].registered) else {
        return Err(CmdError::NoSuchNick(target.to_string()));
    };
    let peer = &s.clients[to];
    let nick = peer.nick().to_owned();
    let away = peer.away().map(|a| (nick.clone(), a.to_owned()));
    Ok(Route {
        recipients: vec![to],
        target: nick,
        away,
    })
}

fn to_target(s: &mut State, id: ClientId, target: &str, relay: &Relay) -> CmdResult {
    let ctcp = relay.text.is_some_and(is_ctcp);
    let route = route(s, id, target, ctcp)?;
    let mask = s.clients[id].mask();
    let echo = s.clients[id].has_cap(caps::ECHO_MESSAGE);
    let middle = [route.target.as_str()];
    let mut ev = relay.event(s, id, &mask, &middle);
    for &r in &route.recipients {
        s.send_event(r, &mut ev);
    }
    // A message to oneself arrives once, echo or not (znc.in/self-message).
    if echo && !route.recipients.contains(&id) {
        s.send_event(id, &mut ev);
    }
    if let (Some((nick, away)), "PRIVMSG") = (&route.away, relay.cmd) {
        s.numeric(id, RPL_AWAY, &[nick], away);
    }
    Ok(())
}
