//! Commands that change how a user appears to others: AWAY (with IRCv3
//! `away-notify`) and SETNAME (IRCv3 `setname`).
//!
//! Each change is serialized once and fanned out to the common-channel
//! peers that negotiated the matching capability.
//! Imports `proto`, `limits` and `state`.

use std::time::Instant;

use crate::limits::REALNAME_MAX;
use crate::proto::numeric::*;
use crate::proto::write::cut;
use crate::proto::{caps, Message};
use crate::state::error::{CmdError, CmdResult};
use crate::state::notify::ToSelf;
use crate::state::{ClientId, State};

/// Sends `:mask <command> [:<text>]` once to every common-channel peer of
/// `id` that has capability `cap`, and to extended-monitor watchers.
fn tell_peers(
    s: &mut State,
    id: ClientId,
    cap: u64,
    command: &str,
    text: Option<&str>,
    to_self: ToSelf,
) {
    let mask = s.clients[id].mask();
    let mut ev = s.user_event(id, &mask, command, &[], text);
    s.send_change(id, cap, &mut ev, to_self);
}

/// `AWAY [:<message>]`
///
/// A message (cut to AWAYLEN bytes) marks the client away (306); none, or
/// an empty one, marks it back (305). Peers with `away-notify` hear of it
/// only when the state or the message actually changed (as Ergo).
///
/// Before registration only with `draft/pre-away`; `AWAY *` ("not present
/// for an unspecified reason", from clients that connect on their own) is
/// kept and shown as it is, which that spec allows.
pub fn away(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let c = &s.clients[id];
    if !c.registered && !c.has_cap(caps::PRE_AWAY) {
        return Err(CmdError::NotRegistered);
    }
    let text = cut(m.param(0), s.config.limits.awaylen);
    let new = (!text.is_empty()).then(|| text.to_string());
    let c = &mut s.clients[id];
    let old = std::mem::replace(&mut c.extra_mut().away, new.clone());
    c.tidy_extra();
    match &new {
        Some(_) => s.numeric(id, RPL_NOWAWAY, &[], "You have been marked as being away"),
        None => s.numeric(
            id,
            RPL_UNAWAY,
            &[],
            "You are no longer marked as being away",
        ),
    }
    if old != new {
        tell_peers(
            s,
            id,
            caps::AWAY_NOTIFY,
            "AWAY",
            new.as_deref(),
            ToSelf::Never,
        );
    }
    Ok(())
}

/// `SETNAME :<realname>`
///
/// The new real name (cut to `REALNAME_MAX` characters, as USER does) is
/// echoed to the client whatever its capabilities, and to common-channel
/// peers with `setname`. Like Ergo, `SETNAME Jane Doe` without the colon
/// is taken whole, for clients that send unknown commands raw.
pub fn setname(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let joined;
    let raw = if m.params.len() > 1 {
        joined = m.params.join(" ");
        joined.as_str()
    } else {
        m.param(0)
    };
    let realname: String = raw.chars().take(REALNAME_MAX).collect();
    if realname.trim().is_empty() {
        return Err(CmdError::Fail(
            "SETNAME",
            "INVALID_REALNAME",
            vec![],
            "Realname is not valid".into(),
        ));
    }
    s.clients[id].id.set_realname(&realname);
    tell_peers(
        s,
        id,
        caps::SETNAME,
        "SETNAME",
        Some(&realname),
        ToSelf::Always,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::proto::caps;
    use crate::state::testutil::{assert_lacks, Harness};

    #[test]
    fn away_sets_and_clears() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "AWAY :at lunch");
        assert_eq!(
            h.take(a),
            [":pico.test 306 alice :You have been marked as being away"]
        );
        assert_eq!(h.s.clients[a].away(), Some("at lunch"));
        h.line(a, "AWAY");
        assert_eq!(
            h.take(a),
            [":pico.test 305 alice :You are no longer marked as being away"]
        );
        assert_eq!(h.s.clients[a].away(), None);
        h.line(a, "AWAY :");
        assert_eq!(
            h.take(a),
            [":pico.test 305 alice :You are no longer marked as being away"]
        );
    }

    #[test]
    fn away_is_cut_to_awaylen() {
        let mut cfg = crate::state::testutil::config();
        cfg.limits.awaylen = 5;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.line(a, "AWAY :abcdéfgh");
        assert_eq!(h.s.clients[a].away(), Some("abcd"), "é does not fit whole");
        let b = h.client("bob");
        h.line(b, "PRIVMSG alice :hi");
        assert_eq!(h.take(b), [":pico.test 301 bob alice :abcd"]);
    }

    #[test]
    fn away_notify_reaches_peers_with_the_cap_once() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        let out = h.client("eve");
        for chan in ["#x", "#y"] {
            h.put_in(a, chan, 0);
            h.put_in(b, chan, 0);
            h.put_in(c, chan, 0);
        }
        h.s.clients[b].caps |= caps::AWAY_NOTIFY;
        h.s.clients[out].caps |= caps::AWAY_NOTIFY;
        let mask = h.s.clients[a].mask();
        h.line(a, "AWAY :brb");
        assert_eq!(h.take(b), [format!(":{mask} AWAY :brb")]);
        assert!(h.take(c).is_empty(), "carol lacks away-notify");
        assert!(h.take(out).is_empty(), "eve shares no channel");
        assert_lacks(&h.take(a), " AWAY ");
        // The same message again changes nothing: no notification.
        h.line(a, "AWAY :brb");
        assert!(h.take(b).is_empty());
        h.line(a, "AWAY");
        assert_eq!(h.take(b), [format!(":{mask} AWAY")]);
    }

    #[test]
    fn setname_echoes_and_notifies_cap_holders() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        h.put_in(a, "#x", 0);
        h.put_in(b, "#x", 0);
        h.put_in(c, "#x", 0);
        h.s.clients[b].caps |= caps::SETNAME;
        let mask = h.s.clients[a].mask();
        h.line(a, "SETNAME :Alice Liddell");
        let line = format!(":{mask} SETNAME :Alice Liddell");
        assert_eq!(h.take(a), std::slice::from_ref(&line));
        assert_eq!(h.take(b), [line]);
        assert!(h.take(c).is_empty());
        assert_eq!(h.s.clients[a].realname(), "Alice Liddell");
        // Without the colon, the words are joined (Ergo's workaround).
        h.line(a, "SETNAME Jane Doe");
        assert_eq!(h.s.clients[a].realname(), "Jane Doe");
        h.take(a);
        let long = "x".repeat(crate::limits::REALNAME_MAX + 10);
        h.line(a, &format!("SETNAME :{long}"));
        assert_eq!(h.s.clients[a].realname().len(), crate::limits::REALNAME_MAX);
    }

    #[test]
    fn setname_errors() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "SETNAME :");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL SETNAME INVALID_REALNAME :Realname is not valid"]
        );
        assert_eq!(h.s.clients[a].realname(), "alice real");
        h.line(a, "SETNAME");
        assert_eq!(
            h.take(a),
            [":pico.test 461 alice SETNAME :Not enough parameters"]
        );
    }
}
