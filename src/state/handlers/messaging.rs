//! PRIVMSG, NOTICE and TAGMSG: to channels (with STATUSMSG prefixes), to
//! nicks, to several targets; CTCP passes through untouched (DCC offers
//! reach the peer as sent), except where a channel has +C. Client-only
//! tags (`+draft/typing`, `+draft/react`) ride along to `message-tags`
//! recipients; TAGMSG reaches only those. A channel message is serialized
//! once per tag form and shared by every recipient (`state::event`).

use std::time::Instant;

use crate::limits::MAX_TARGETS;
use crate::proto::caps;
use crate::proto::numeric::*;
use crate::proto::Message;
use crate::state::channel::{flag, prefix};
use crate::state::error::{CmdError, CmdResult};
use crate::state::event::{is_client_tag, Event};
use crate::state::{ClientId, State};

/// `PRIVMSG <target>{,<target>} :<text>`
pub fn privmsg(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    deliver(s, id, m, now, "PRIVMSG")
}

/// `NOTICE <target>{,<target>} :<text>` (errors are not answered, per RFC 1459)
pub fn notice(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
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
        let result = if target
            .trim_start_matches(['~', '&', '@', '%', '+'])
            .starts_with('#')
        {
            to_channel(s, id, target, &relay)
        } else {
            to_nick(s, id, target, &relay)
        };
        if let Err(e) = result {
            if !notice {
                s.reply_error(id, &e);
            }
        }
    }
    Ok(())
}

/// Is `text` a CTCP other than ACTION?
fn is_ctcp(text: &str) -> bool {
    text.starts_with('\x01') && !text.starts_with("\x01ACTION")
}

fn to_channel(s: &mut State, id: ClientId, target: &str, relay: &Relay) -> CmdResult {
    let text = relay.text.unwrap_or("");
    let name = target.trim_start_matches(['~', '&', '@', '%', '+']);
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
    let c = &s.clients[id];
    let ch = &s.channels[chan];
    let member = ch.prefix_of(id);
    let voiced = member.is_some_and(|p| p != 0);
    let cannot = |why: &str| {
        Err(CmdError::Numeric(
            ERR_CANNOTSENDTOCHAN,
            vec![ch.name.clone()],
            format!("Cannot send to channel{why}"),
        ))
    };
    if ch.has(flag::NO_EXTERNAL) && member.is_none() {
        return cannot("");
    }
    if ch.has(flag::MODERATED) && !voiced {
        return cannot(" (+m)");
    }
    if !voiced && ch.is_banned(&[&c.mask(), &c.ip_mask()]) {
        return cannot(" (+b)");
    }
    if ch.has(flag::NO_CTCP) && is_ctcp(text) {
        return cannot(" (+C)");
    }
    let shown_target = format!("{status}{}", ch.name);
    let mask = c.mask();
    let echo = c.has_cap(caps::ECHO_MESSAGE);
    let middle = [shown_target.as_str()];
    let mut ev = relay.event(s, id, &mask, &middle);
    match min_rank {
        None => s.send_event_to_channel(chan, &mut ev, Some(id)),
        Some(rank) => {
            let ids: Vec<ClientId> = s.channels[chan]
                .members
                .iter()
                .filter(|mb| mb.id != id && prefix::rank(mb.prefix) >= rank)
                .map(|mb| mb.id)
                .collect();
            for r in ids {
                s.send_event(r, &mut ev);
            }
        }
    }
    if echo {
        s.send_event(id, &mut ev);
    }
    Ok(())
}

fn to_nick(s: &mut State, id: ClientId, target: &str, relay: &Relay) -> CmdResult {
    let Some(to) = s.find_nick(target).filter(|&t| s.clients[t].registered) else {
        return Err(CmdError::NoSuchNick(target.to_string()));
    };
    let c = &s.clients[id];
    let mask = c.mask();
    let echo = c.has_cap(caps::ECHO_MESSAGE);
    let peer = &s.clients[to];
    let to_nick = peer.nick().to_owned();
    let away = peer.away().map(str::to_owned);
    let middle = [to_nick.as_str()];
    let mut ev = relay.event(s, id, &mask, &middle);
    s.send_event(to, &mut ev);
    // A message to oneself arrives once, echo or not (znc.in/self-message).
    if echo && to != id {
        s.send_event(id, &mut ev);
    }
    if let (Some(away), "PRIVMSG") = (away, relay.cmd) {
        s.numeric(id, RPL_AWAY, &[&to_nick], &away);
    }
    Ok(())
}
