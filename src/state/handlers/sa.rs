//! Oper overrides, Ergo's commands and wording: SAJOIN (join a user to a
//! channel past its key, limit, bans and invite-only), SANICK (rename a
//! user) and SAMODE (MODE without channel rank, or on another user).
//! The dispatch table gates them by oper capability, Ergo's names:
//! `sajoin` for SAJOIN, `samode` for SAMODE and SANICK. Each leaves a
//! server notice (`o`, or `n` for SANICK).
//! Imports `proto` and `state`.

use std::time::Instant;

use crate::proto::numeric::*;
use crate::proto::{casemap, Message};
use crate::state::channel::{prefix, Channel};
use crate::state::error::{CmdError, CmdResult};
use crate::state::handlers::{channel, modes, registration};
use crate::state::{snomask, ClientId, State};

/// The oper's block name, for the notices.
fn oper_name(s: &State, id: ClientId) -> String {
    s.clients[id]
        .oper
        .as_ref()
        .map_or_else(String::new, |o| o.name.clone())
}

/// `SAJOIN [<nick>] <#channel>{,<#channel>}`
pub fn sajoin(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let (target, channels) = if casemap::is_channel(m.param(0)) {
        (id, m.param(0))
    } else {
        if m.params.len() < 2 {
            return Err(CmdError::NeedMoreParams("SAJOIN"));
        }
        let nick = m.param(0);
        let target = s
            .find_nick(nick)
            .filter(|&t| s.clients[t].registered && !s.clients[t].dead)
            .ok_or_else(|| CmdError::NoSuchNick(nick.to_string()))?;
        (target, m.param(1))
    };
    let text = format!(
        "Operator {} ran SAJOIN {}",
        oper_name(s, id),
        m.params.join(" ")
    );
    s.snotice(snomask::OPERS, &text);
    for name in channels.split(',').filter(|n| !n.is_empty()) {
        if s.clients[target].dead || s.clients[id].dead {
            break;
        }
        if let Err(e) = force_join(s, target, name) {
            s.reply_error(id, &e);
        }
    }
    Ok(())
}

/// Joins `id` to channel `name` whatever its modes say (creating it, with
/// `id` as its operator, if it does not exist), as JOIN would otherwise:
/// the JOIN to every member, then the topic and NAMES to `id`.
fn force_join(s: &mut State, id: ClientId, name: &str) -> CmdResult {
    let existing = s.find_channel(name);
    let (chan, given) = match existing {
        Some(chan) if s.channels[chan].is_member(id) => return Ok(()),
        Some(chan) => (chan, s.join_privileges(chan, id)),
        None => {
            if !casemap::valid_channel(name, s.config.limits.channellen) {
                return Err(CmdError::NoSuchChannel(name.to_string()));
            }
            let chan = s
                .channels
                .insert(Channel::new(name.to_string(), s.now_secs()));
            s.channel_names.insert(casemap::fold(name), chan);
            // A registered channel comes back as its record kept it.
            if s.channel_reg(name).is_some() {
                s.restore_channel(chan);
                (chan, s.join_privileges(chan, id))
            } else {
                (chan, prefix::OP)
            }
        }
    };
    let folded = casemap::fold(&s.channels[chan].name);
    s.channels[chan].add(id, given);
    let c = &mut s.clients[id];
    c.add_channel(chan);
    if let Some(e) = c.extra.as_deref_mut() {
        e.invites.retain(|f| *f != folded);
    }
    c.tidy_extra();
    channel::send_join(s, id, chan, false);
    if s.clients[id].dead || !s.channels.get(chan).is_some_and(|ch| ch.is_member(id)) {
        return Ok(());
    }
    channel::send_join_burst(s, id, chan);
    Ok(())
}

/// `SANICK <currentnick> <newnick>`
pub fn sanick(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let (old, new) = (m.param(0), m.param(1));
    let Some(target) = s
        .find_nick(old)
        .filter(|&t| s.clients[t].registered && !s.clients[t].dead)
    else {
        s.send_from_server(
            id,
            "FAIL",
            &["SANICK", "NO_SUCH_NICKNAME", old],
            Some("No such nick"),
        );
        return Ok(());
    };
    if !casemap::valid_nick(new, s.config.limits.nicklen) {
        return Err(CmdError::Numeric(
            ERR_ERRONEUSNICKNAME,
            vec![new.to_string()],
            "Erroneous nickname".into(),
        ));
    }
    if s.find_nick(new).is_some_and(|other| other != target) {
        return Err(CmdError::Numeric(
            ERR_NICKNAMEINUSE,
            vec![new.to_string()],
            "Nickname is already in use".into(),
        ));
    }
    let current = s.clients[target].nick().to_owned();
    if current == new {
        return Ok(());
    }
    registration::change_nick(s, target, new);
    let text = format!(
        "Operator {} changed nickname of {current} to {new}",
        s.clients[id].nick()
    );
    s.snotice(snomask::NICKS, &text);
    Ok(())
}

/// `SAMODE <target> [<modestring> [<mode arguments>...]]`
pub fn samode(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let text = format!(
        "Operator {} ran SAMODE {}",
        oper_name(s, id),
        m.params.join(" ")
    );
    s.snotice(snomask::OPERS, &text);
    modes::samode(s, id, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::{assert_has, config, Harness};

    fn harness() -> Harness {
        let mut cfg = config();
        cfg.opers[0].vhost = None;
        Harness::with_config(cfg)
    }

    #[test]
    fn sajoin_passes_keys_and_bans_and_tells_opers() {
        let mut h = harness();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        let chan = h.put_in(c, "#locked", prefix::OP);
        h.s.channels[chan].key = Some("sekrit".into());
        h.line(b, "JOIN #locked");
        assert_has(&h.take(b), " 475 bob #locked ");
        h.line(a, "SAJOIN bob #locked");
        assert_has(&h.take(a), " 481 alice ");
        h.make_oper(a);
        h.line(a, "MODE alice +s +o");
        h.take(a);
        h.line(a, "SAJOIN bob #locked,#new");
        let bm = h.s.clients[b].mask();
        let out = h.take(b);
        assert_eq!(out[0], format!(":{bm} JOIN #locked"));
        assert!(
            out.iter().any(|l| l.ends_with(&format!(":{bm} JOIN #new"))),
            "{out:?}"
        );
        assert_eq!(h.take(c), [format!(":{bm} JOIN #locked")]);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :*** Operator admin ran SAJOIN bob #locked,#new"]
        );
        h.line(a, "SAJOIN #self");
        assert!(h
            .s
            .find_channel("#self")
            .is_some_and(|ch| h.s.channels[ch].is_member(a)));
        h.line(a, "SAJOIN nobody #x");
        assert_has(&h.take(a), " 401 alice nobody ");
        h.line(a, "SAJOIN bob");
        assert_has(&h.take(a), " 461 alice SAJOIN ");
    }

    #[test]
    fn sanick_renames_with_ergos_replies() {
        let mut h = harness();
        let a = h.client("alice");
        let b = h.client("bob");
        h.client("carol");
        h.make_oper(a);
        h.line(a, "MODE alice +s +n");
        h.take(a);
        let bm = h.s.clients[b].mask();
        h.line(a, "SANICK bob robert");
        assert_eq!(h.take(b), [format!(":{bm} NICK :robert")]);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :*** Operator alice changed nickname of bob to robert"]
        );
        h.line(a, "SANICK nobody x");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL SANICK NO_SUCH_NICKNAME nobody :No such nick"]
        );
        h.line(a, "SANICK robert carol");
        assert_eq!(
            h.take(a),
            [":pico.test 433 alice carol :Nickname is already in use"]
        );
        h.line(a, "SANICK robert 1x");
        assert_eq!(h.take(a), [":pico.test 432 alice 1x :Erroneous nickname"]);
    }

    #[test]
    fn samode_needs_no_rank_and_reaches_other_users() {
        let mut cfg = config();
        cfg.opers[0].vhost = None;
        cfg.oper_classes[0].capabilities.retain(|c| c != "samode");
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        let b = h.client("bob");
        let chan = h.put_in(b, "#c", prefix::OP);
        h.make_oper(a);
        h.line(a, "SAMODE #c +m");
        assert_has(&h.take(a), " 481 alice ");
        let mut cfg = config();
        cfg.opers[0].vhost = None;
        crate::state::handlers::oper::rehash_done(&mut h.s, None, Ok(cfg));
        h.line(a, "MODE alice +s +o");
        h.take(a);
        let am = h.s.clients[a].mask();
        h.line(a, "SAMODE #c +mv bob");
        assert_eq!(h.take(b), [format!(":{am} MODE #c +mv bob")]);
        assert!(h.s.channels[chan].has(crate::state::channel::flag::MODERATED));
        let out = h.take(a);
        assert_eq!(
            out,
            [
                ":pico.test NOTICE alice :*** Operator admin ran SAMODE #c +mv bob".to_string(),
                format!(":{am} MODE #c +mv bob"),
            ]
        );
        h.line(a, "SAMODE bob +B");
        assert_has(&h.take(a), &format!(":{am} MODE bob +B"));
        assert_eq!(h.take(b), [format!(":{am} MODE bob +B")]);
    }
}
