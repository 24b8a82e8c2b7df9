//! draft/channel-rename: `RENAME` renames a channel in place, keeping its
//! members, modes, lists, topic and creation time, as Ergo does.
//!
//! Members with the capability get one `RENAME` line (an event shared by
//! every recipient of a tag form). The others get Ergo's fallback: their
//! own `PART` of the old name, then their own `JOIN` of the new one with
//! the usual topic and NAMES replies, through the same code as a real
//! JOIN (`channel::send_join`, `send_join_burst`). A change of case only
//! gets no fallback (the spec's "SHOULD NOT"): under the case mapping the
//! channel those clients know is still the same name.
//! Imports `proto` and `state`; never `net`.

use std::time::Instant;

use crate::proto::numeric::ERR_NOSUCHCHANNEL;
use crate::proto::{caps, casemap, Message};
use crate::state::accounts::After;
use crate::state::channel::prefix;
use crate::state::error::{CmdError, CmdResult};
use crate::state::handlers::channel::{send_join, send_join_burst};
use crate::state::{ChanId, ClientId, State};
use crate::store::{Change, Key, Record};

/// `RENAME <channel> <new name> [:<reason>]`
pub fn rename(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let (given, new_name) = (m.param(0), m.param(1));
    let reason = m.param(2);
    let chan = s
        .find_channel(given)
        .ok_or_else(|| CmdError::NoSuchChannel(given.to_string()))?;
    let ch = &s.channels[chan];
    let old = ch.name.clone();
    let op = ch
        .prefix_of(id)
        .is_some_and(|p| prefix::rank(p) >= prefix::rank(prefix::OP));
    // Ergo: channel operators and up, or an oper who may manage any channel.
    if !op && !s.clients[id].has_oper_cap("chanreg") {
        return Err(CmdError::ChanOpPrivsNeeded(old));
    }
    if !casemap::valid_channel(new_name, s.config.limits.channellen) {
        return Err(CmdError::Numeric(
            ERR_NOSUCHCHANNEL,
            vec![new_name.to_string()],
            "Invalid channel name".into(),
        ));
    }
    // The same channel under another case is not "in use"; nor may it
    // take the name of another registered channel.
    let taken_by_record = !casemap::eq(new_name, &old) && s.channel_reg(new_name).is_some();
    if taken_by_record || s.find_channel(new_name).is_some_and(|other| other != chan) {
        return Err(CmdError::Fail(
            "RENAME",
            "CHANNEL_NAME_IN_USE",
            vec![old, new_name.to_string()],
            "Channel name in use".into(),
        ));
    }
    s.rename_channel(chan, new_name);
    // A registered channel's record follows it (ChanServ keeps it).
    if let Some(base) = s.channel_reg(&old).cloned() {
        let record = s.channel_record(chan, &base);
        let old_key = Key::Channel(casemap::fold(&old));
        let new_key = Key::Channel(casemap::fold(new_name));
        if old_key != new_key {
            s.commit(id, Change::Delete(old_key), After::Quiet);
        }
        s.commit(
            id,
            Change::Put(new_key, Record::Channel(record)),
            After::Quiet,
        );
    }
    announce(s, id, chan, &old, reason);
    Ok(())
}

/// Tells every member of `chan` (renamed from `old` by `id`).
fn announce(s: &mut State, id: ClientId, chan: ChanId, old: &str, reason: &str) {
    let Some(ch) = s.channels.get(chan) else {
        return;
    };
    let new = ch.name.clone();
    let members: Vec<ClientId> = ch.members.iter().map(|mb| mb.id).collect();
    let case_only = casemap::eq(old, &new);
    let mask = s.clients[id].mask();
    let middle = [old, new.as_str()];
    // The spec: the server's RENAME always has the reason, "" when none.
    let mut ev = s.user_event(id, &mask, "RENAME", &middle, Some(reason));
    for member in members {
        // A send may quit a client (sendq) and so empty the channel.
        if !s.channels.get(chan).is_some_and(|ch| ch.is_member(member)) {
            continue;
        }
        if s.clients[member].has_cap(caps::CHANNEL_RENAME) {
            s.send_event(member, &mut ev);
        } else if !case_only {
            fallback(s, member, chan, old, reason);
        }
    }
}

/// What a member without the capability sees: itself leaving the old
/// name and joining the new one (Ergo's wording for the PART).
fn fallback(s: &mut State, member: ClientId, chan: ChanId, old: &str, reason: &str) {
    let mask = s.clients[member].mask();
    let text = if reason.is_empty() {
        "Channel renamed".to_string()
    } else {
        format!("Channel renamed: {reason}")
    };
    let middle = [old];
    let mut ev = s.user_event(member, &mask, "PART", &middle, Some(&text));
    s.send_event(member, &mut ev);
    send_join(s, member, chan, true);
    send_join_burst(s, member, chan);
}

#[cfg(test)]
mod tests {
    use crate::state::channel::prefix;
    use crate::state::testutil::*;

    fn mask(h: &Harness, id: usize) -> String {
        h.s.clients[id].mask()
    }

    #[test]
    fn rename_moves_the_index_and_keeps_the_channel() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let chan = h.put_in(a, "#old", prefix::OP);
        h.line(a, "TOPIC #old :kept");
        h.line(a, "MODE #old +k sesame");
        h.line(a, "MODE #old +b bad!*@*");
        let created = h.s.channels[chan].created;
        h.take(a);
        h.line(a, "RENAME #OLD #New :tidy");
        assert!(h.s.find_channel("#old").is_none());
        assert_eq!(h.s.find_channel("#new"), Some(chan));
        let ch = &h.s.channels[chan];
        assert_eq!(ch.name, "#New");
        assert_eq!(ch.topic.as_ref().unwrap().text, "kept");
        assert_eq!(ch.key.as_deref(), Some("sesame"));
        assert_eq!(ch.bans.len(), 1);
        assert_eq!(ch.created, created);
        assert_eq!(ch.prefix_of(a), Some(prefix::OP));
        assert_eq!(h.s.channel_names.len(), 1);
    }

    #[test]
    fn members_with_the_cap_get_rename_others_part_and_join() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(a, "CAP REQ draft/channel-rename");
        h.put_in(a, "#old", prefix::OP);
        h.put_in(b, "#old", 0);
        h.line(a, "TOPIC #old :the topic");
        h.take(a);
        h.take(b);
        h.line(a, "RENAME #old #new :why not");
        let rename = format!(":{} RENAME #old #new :why not", mask(&h, a));
        assert_eq!(h.take(a), [rename]);
        let out = h.take(b);
        assert_eq!(
            out[0],
            format!(":{} PART #old :Channel renamed: why not", mask(&h, b))
        );
        assert_eq!(out[1], format!(":{} JOIN #new", mask(&h, b)));
        assert_eq!(out[2], ":pico.test 332 bob #new :the topic");
        assert!(out[3].starts_with(":pico.test 333 bob #new alice "));
        assert_eq!(out[4], ":pico.test 353 bob = #new :@alice bob");
        assert_eq!(out[5], ":pico.test 366 bob #new :End of NAMES list");
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn no_reason_and_case_only() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(b, "CAP REQ draft/channel-rename");
        h.put_in(a, "#old", prefix::OP);
        h.put_in(b, "#old", 0);
        h.take(a);
        h.take(b);
        h.line(a, "RENAME #old #Old");
        assert!(h.take(a).is_empty(), "case only: no fallback");
        assert_eq!(h.take(b), [format!(":{} RENAME #old #Old :", mask(&h, a))]);
        h.line(a, "RENAME #old #new");
        let out = h.take(a);
        assert_eq!(
            out[0],
            format!(":{} PART #Old :Channel renamed", mask(&h, a))
        );
        assert_eq!(out[1], format!(":{} JOIN #new", mask(&h, a)));
        assert_eq!(out.len(), 4, "no topic: JOIN, 353, 366: {out:?}");
    }

    #[test]
    fn errors() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        h.put_in(a, "#old", prefix::OP);
        h.put_in(b, "#old", prefix::HALFOP);
        h.put_in(a, "#other", prefix::OP);
        h.take(a);
        h.take(b);
        h.line(a, "RENAME #old");
        assert_eq!(
            h.take(a),
            [":pico.test 461 alice RENAME :Not enough parameters"]
        );
        h.line(a, "RENAME #nope #new");
        assert_eq!(h.take(a), [":pico.test 403 alice #nope :No such channel"]);
        h.line(b, "RENAME #old #new");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #old :You're not a channel operator"]
        );
        h.line(c, "RENAME #OLD #new");
        assert_eq!(
            h.take(c),
            [":pico.test 482 carol #old :You're not a channel operator"]
        );
        h.line(a, "RENAME #old new");
        assert_eq!(
            h.take(a),
            [":pico.test 403 alice new :Invalid channel name"]
        );
        let long = format!("#{}", "x".repeat(64));
        h.line(a, &format!("RENAME #old {long}"));
        assert_eq!(
            h.take(a),
            [format!(":pico.test 403 alice {long} :Invalid channel name")]
        );
        h.line(a, "RENAME #old :#a b");
        assert_eq!(
            h.take(a),
            [":pico.test 403 alice #a_b :Invalid channel name"]
        );
        h.line(a, "RENAME #old #OTHER :mine now");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL RENAME CHANNEL_NAME_IN_USE #old #OTHER :Channel name in use"]
        );
        assert!(h.take(b).is_empty());
        assert_eq!(h.s.channels[h.s.find_channel("#old").unwrap()].name, "#old");
    }

    #[test]
    fn invites_follow_and_chanreg_opers_may_rename() {
        let mut cfg = config();
        cfg.oper_classes[0].capabilities.push("chanreg".into());
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        let c = h.client("carol");
        let o = h.client("oscar");
        h.put_in(a, "#old", prefix::OP);
        h.line(a, "MODE #old +i");
        h.line(a, "INVITE carol #old");
        h.make_oper(o);
        h.take(o);
        h.line(o, "RENAME #old #new");
        assert!(h.take(o).is_empty(), "not a member: nothing to see");
        assert_eq!(h.s.clients[c].invites(), ["#new"]);
        h.line(c, "JOIN #new");
        assert_has(&h.take(c), " JOIN #new");
        assert!(h.s.clients[c].invites().is_empty());
    }
}
