//! Channel membership and channel queries: JOIN, PART, TOPIC, NAMES, LIST,
//! INVITE, KICK. MODE lives in `modes.rs`, which also holds the rank rule
//! (`has_privs_over`) that KICK shares.
//!
//! Every line a channel sees (JOIN, PART, TOPIC, KICK) is serialized once
//! and shared by all its recipients. A send can quit a client whose sendq
//! overflows, which can destroy a channel, so channels are looked up again
//! (by name, or with `get`) after each fan-out instead of being indexed.
//! Imports `proto`, `limits` and `state`; never `net`.

use std::time::Instant;

use crate::limits::BODY_MAX;
use crate::proto::caps;
use crate::proto::numeric::*;
use crate::proto::write::cut;
use crate::proto::{casemap, Message};
use crate::state::channel::{flag, prefix, Channel};
use crate::state::client::UserModes;
use crate::state::error::{CmdError, CmdResult};
use crate::state::event::Alt;
use crate::state::handlers::modes::has_privs_over;
use crate::state::handlers::read_marker;
use crate::state::{ChanId, ClientId, State};

/// How many pending invites one client keeps (oldest dropped first).
const MAX_INVITES: usize = 32;

/// `JOIN <channel>{,<channel>} [<key>{,<key>}]` | `JOIN 0`
pub fn join(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let targets = m.param(0);
    if targets == "0" {
        // RFC 2812: as if PART were sent for every channel, without reason.
        let chans = s.clients[id].channels.clone();
        for chan in chans {
            if let Some(name) = s.channels.get(chan).map(|ch| ch.name.clone()) {
                part_one(s, id, &name, None)?;
            }
        }
        return Ok(());
    }
    if targets.is_empty() {
        return Err(CmdError::NeedMoreParams("JOIN"));
    }
    let mut keys = m.param(1).split(',');
    for name in targets.split(',') {
        let key = keys.next().unwrap_or("");
        if name.is_empty() {
            continue;
        }
        if s.clients[id].dead {
            break;
        }
        if let Err(e) = join_one(s, id, name, key) {
            s.reply_error(id, &e);
        }
    }
    Ok(())
}

fn cannot_join(num: u16, chan: &str, letter: char) -> CmdError {
    CmdError::Numeric(
        num,
        vec![chan.to_string()],
        format!("Cannot join channel (+{letter})"),
    )
}

/// Joins one channel, creating it (with the joiner as `@`) if needed.
fn join_one(s: &mut State, id: ClientId, name: &str, key: &str) -> CmdResult {
    let existing = s.find_channel(name);
    if let Some(chan) = existing {
        if s.channels[chan].is_member(id) {
            return Ok(());
        }
    } else if !casemap::valid_channel(name, s.config.limits.channellen) {
        // Ergo answers bad names with ERR_NOSUCHCHANNEL too.
        return Err(CmdError::NoSuchChannel(name.to_string()));
    }
    if s.clients[id].channels.len() >= s.config.limits.chanlimit {
        let shown = existing.map_or(name.to_string(), |c| s.channels[c].name.clone());
        return Err(CmdError::Numeric(
            ERR_TOOMANYCHANNELS,
            vec![shown],
            "You have joined too many channels".into(),
        ));
    }
    let (chan, given, announce) = match existing {
        Some(chan) => {
            check_entry(s, id, chan, key)?;
            let given = s.join_privileges(chan, id);
            (chan, given, given != 0)
        }
        None if s.channel_reg(name).is_some() => {
            // A registered channel comes back as its record kept it; no
            // one is made an operator but by the record.
            let chan = s
                .channels
                .insert(Channel::new(name.to_string(), s.now_secs()));
            s.channel_names.insert(casemap::fold(name), chan);
            s.restore_channel(chan);
            check_entry(s, id, chan, key).inspect_err(|_| s.drop_if_empty(chan))?;
            let given = s.join_privileges(chan, id);
            (chan, given, given != 0)
        }
        None => {
            let chan = s
                .channels
                .insert(Channel::new(name.to_string(), s.now_secs()));
            s.channel_names.insert(casemap::fold(name), chan);
            // Ergo makes the creator of an unregistered channel an operator.
            (chan, prefix::OP, false)
        }
    };
    let chan_name = s.channels[chan].name.clone();
    let folded = casemap::fold(&chan_name);
    s.channels[chan].add(id, given);
    let c = &mut s.clients[id];
    c.add_channel(chan);
    if let Some(e) = c.extra.as_deref_mut() {
        e.invites.retain(|f| *f != folded);
    }
    c.tidy_extra();
    send_join(s, id, chan, false);
    if s.clients[id].dead || !s.channels.get(chan).is_some_and(|ch| ch.is_member(id)) {
        return Ok(());
    }
    if announce {
        // The prefix a registered channel gives: shown to every member.
        let letters: String = prefix::ALL
            .iter()
            .filter(|(bit, _, _)| given & bit != 0)
            .map(|(_, m, _)| *m)
            .collect();
        let modes = format!("+{letters}");
        let nick = s.clients[id].nick().to_owned();
        let args: Vec<&str> = std::iter::once(chan_name.as_str())
            .chain(std::iter::once(modes.as_str()))
            .chain(letters.chars().map(|_| nick.as_str()))
            .collect();
        let server = s.config.server.name.clone();
        let mut ev = s.event(Some(&server), "MODE", &args, None);
        s.send_event_to_channel(chan, &mut ev, None);
    }
    if let Some(away) = s.clients[id].away().map(str::to_owned) {
        let mask = s.clients[id].mask();
        announce_away(s, id, chan, &mask, &away);
    }
    send_join_burst(s, id, chan);
    Ok(())
}

/// The JOIN line of member `id` in `chan`: to every member (a join), or
/// to `id` alone (`only_self`: the channel-rename fallback, where the
/// others saw nothing change).
pub fn send_join(s: &mut State, id: ClientId, chan: ChanId, only_self: bool) {
    let Some(name) = s.channels.get(chan).map(|ch| ch.name.clone()) else {
        return;
    };
    let c = &s.clients[id];
    let mask = c.mask();
    // extended-join: `JOIN #chan <account|*> :<realname>`.
    let account = c.account().unwrap_or("*").to_owned();
    let realname = c.realname().to_owned();
    let middle = [name.as_str()];
    let extended = [name.as_str(), account.as_str()];
    let mut ev = s.user_event(id, &mask, "JOIN", &middle, None);
    ev.alt = Some(Alt {
        cap: caps::EXTENDED_JOIN,
        middle: &extended,
        trailing: Some(&realname),
    });
    if only_self {
        s.send_event(id, &mut ev);
    } else {
        s.send_event_to_channel(chan, &mut ev, None);
    }
}

/// What a client gets after its own JOIN: the topic (332/333; Ergo sends
/// nothing about the topic when none is set) and NAMES (353/366).
pub fn send_join_burst(s: &mut State, id: ClientId, chan: ChanId) {
    let Some(name) = s.channels.get(chan).map(|ch| ch.name.clone()) else {
        return;
    };
    send_topic(s, id, chan, false);
    if s.clients[id].has_cap(caps::READ_MARKER) {
        // Before RPL_ENDOFNAMES, as draft/read-marker asks.
        read_marker::send_marker(s, id, &name);
    }
    if !s.clients[id].has_cap(caps::NO_IMPLICIT_NAMES) {
        send_names(s, id, chan);
    }
}

/// away-notify: "clients will be sent an AWAY message when a user sharing
/// a channel with them sets, changes or removes their away state, as well
/// as when a user joins and has an away message set" (IRCv3). The other
/// members of `chan` with the capability hear that the joiner is away.
fn announce_away(s: &mut State, id: ClientId, chan: ChanId, mask: &str, away: &str) {
    let to: Vec<ClientId> = s.channels[chan]
        .members
        .iter()
        .map(|mb| mb.id)
        .filter(|&m| m != id)
        .filter(|&m| {
            s.clients
                .get(m)
                .is_some_and(|c| c.has_cap(caps::AWAY_NOTIFY))
        })
        .collect();
    if to.is_empty() {
        return;
    }
    let mut ev = s.user_event(id, mask, "AWAY", &[], Some(away));
    for m in to {
        s.send_event(m, &mut ev);
    }
}

/// The +k, +l, +i and +b checks, in that order.
///
/// An INVITE (or a match on the +I list) exempts from +i and +b but not
/// from +k or +l: Ergo's `Channel.Join` computes `isInvited` from both and
/// uses it only for the invite-only and ban checks.
fn check_entry(s: &State, id: ClientId, chan: ChanId, key: &str) -> CmdResult {
    let c = &s.clients[id];
    let ch = &s.channels[chan];
    let folded = casemap::fold(&ch.name);
    let (mask, ip_mask) = (c.mask(), c.ip_mask());
    let masks = [mask.as_str(), ip_mask.as_str()];
    let invited = c.invites().contains(&folded) || Channel::list_matches(&ch.invex, &masks);
    if ch.key.as_deref().is_some_and(|k| k != key) {
        return Err(cannot_join(ERR_BADCHANNELKEY, &ch.name, 'k'));
    }
    if ch.limit.is_some_and(|l| ch.members.len() >= l) {
        return Err(cannot_join(ERR_CHANNELISFULL, &ch.name, 'l'));
    }
    if ch.has(flag::INVITE_ONLY) && !invited {
        return Err(cannot_join(ERR_INVITEONLYCHAN, &ch.name, 'i'));
    }
    if !invited && ch.is_banned(&masks) {
        return Err(cannot_join(ERR_BANNEDFROMCHAN, &ch.name, 'b'));
    }
    Ok(())
}

/// 332 and 333, or 331 (only when `no_topic` asks for it).
fn send_topic(s: &mut State, id: ClientId, chan: ChanId, no_topic: bool) {
    let Some(ch) = s.channels.get(chan) else {
        return;
    };
    let name = ch.name.clone();
    match ch.topic.clone() {
        Some(t) => {
            s.numeric(id, RPL_TOPIC, &[&name], &t.text);
            let at = t.set_at.to_string();
            s.numeric_opt(id, RPL_TOPICWHOTIME, &[&name, &t.set_by, &at], None);
        }
        None if no_topic => s.numeric(id, RPL_NOTOPIC, &[&name], "No topic is set"),
        None => {}
    }
}

/// 353 lines then 366 for one channel, as `id` may see it: a non-member
/// sees nothing of a secret channel and no invisible users elsewhere.
pub fn send_names(s: &mut State, id: ClientId, chan: ChanId) {
    let Some(ch) = s.channels.get(chan) else {
        return;
    };
    let c = &s.clients[id];
    let member = ch.is_member(id);
    let secret = ch.has(flag::SECRET);
    let multi = c.has_cap(caps::MULTI_PREFIX);
    let uhnames = c.has_cap(caps::USERHOST_IN_NAMES);
    let mut items = Vec::new();
    if member || !secret {
        for mb in &ch.members {
            let Some(peer) = s.clients.get(mb.id) else {
                continue;
            };
            if !member && peer.modes.has(UserModes::INVISIBLE) {
                continue;
            }
            let mut item = if multi {
                prefix::all_chars(mb.prefix)
            } else {
                prefix::highest(mb.prefix)
                    .map(String::from)
                    .unwrap_or_default()
            };
            if uhnames {
                item.push_str(&peer.mask());
            } else {
                item.push_str(peer.nick());
            }
            items.push(item);
        }
    }
    let name = ch.name.clone();
    let symbol = if secret { "@" } else { "=" };
    // `:server 353 nick = #chan :` precedes the names on every line, and
    // the body must fit the 510 bytes before CR LF.
    let fixed = 1 + s.server_name().len() + 5 + c.nick().len() + 3 + name.len() + 2;
    let budget = (BODY_MAX - 2).saturating_sub(fixed);
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + 1 + item.len() > budget {
            s.numeric(id, RPL_NAMREPLY, &[symbol, &name], &line);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    if !line.is_empty() {
        s.numeric(id, RPL_NAMREPLY, &[symbol, &name], &line);
    }
    s.numeric(id, RPL_ENDOFNAMES, &[&name], "End of NAMES list");
}

/// `PART <channel>{,<channel>} [:<reason>]`
pub fn part(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let reason = m.params.get(1).copied().filter(|r| !r.is_empty());
    for name in m.param(0).split(',').filter(|n| !n.is_empty()) {
        if s.clients[id].dead {
            break;
        }
        if let Err(e) = part_one(s, id, name, reason) {
            s.reply_error(id, &e);
        }
    }
    Ok(())
}

fn part_one(s: &mut State, id: ClientId, name: &str, reason: Option<&str>) -> CmdResult {
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    let ch = &s.channels[chan];
    if !ch.is_member(id) {
        return Err(CmdError::NotOnChannel(ch.name.clone()));
    }
    let chan_name = ch.name.clone();
    let mask = s.clients[id].mask();
    let middle = [chan_name.as_str()];
    let mut ev = s.user_event(id, &mask, "PART", &middle, reason);
    s.send_event_to_channel(chan, &mut ev, None);
    s.remove_member(chan, id);
    Ok(())
}

/// `TOPIC <channel> [:<topic>]`
pub fn topic(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let name = m.param(0);
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    let ch = &s.channels[chan];
    let mine = ch.prefix_of(id);
    let Some(text) = m.params.get(1).copied() else {
        if mine.is_none() && ch.has(flag::SECRET) {
            return Err(CmdError::NotOnChannel(ch.name.clone()));
        }
        send_topic(s, id, chan, true);
        return Ok(());
    };
    let Some(mine) = mine else {
        return Err(CmdError::NotOnChannel(ch.name.clone()));
    };
    if ch.has(flag::TOPIC_LOCK) && prefix::rank(mine) < prefix::rank(prefix::HALFOP) {
        return Err(CmdError::ChanOpPrivsNeeded(ch.name.clone()));
    }
    // ChanServ's TOPICLOCK: only the founder and admins (+q, +a).
    if s.channel_reg(&ch.name).is_some_and(|r| r.topic_lock)
        && prefix::rank(mine) < prefix::rank(prefix::ADMIN)
    {
        return Err(CmdError::Numeric(
            ERR_CHANOPRIVSNEEDED,
            vec![ch.name.clone()],
            "The topic is locked by ChanServ".into(),
        ));
    }
    let text = cut(text, s.config.limits.topiclen);
    let c = &s.clients[id];
    let (mask, nick) = (c.mask(), c.nick().to_owned());
    let set_at = s.now_secs();
    let ch = &mut s.channels[chan];
    ch.topic = (!text.is_empty()).then(|| crate::state::channel::Topic {
        text: text.to_string(),
        set_by: nick,
        set_at,
    });
    let chan_name = ch.name.clone();
    let middle = [chan_name.as_str()];
    let mut ev = s.user_event(id, &mask, "TOPIC", &middle, Some(text));
    s.send_event_to_channel(chan, &mut ev, None);
    s.persist_channel(chan, id);
    Ok(())
}

/// `NAMES [<channel>{,<channel>}]`: only the first channel is answered
/// (`TARGMAX=NAMES:1`, as Ergo and Modern IRC allow).
pub fn names(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let Some(name) = m.param(0).split(',').find(|n| !n.is_empty()) else {
        s.numeric(id, RPL_ENDOFNAMES, &["*"], "End of NAMES list");
        return Ok(());
    };
    match s.find_channel(name) {
        Some(chan) => send_names(s, id, chan),
        None => s.numeric(id, RPL_ENDOFNAMES, &[name], "End of NAMES list"),
    }
    Ok(())
}

/// `LIST [<channel>{,<channel>}] [<elistcond>{,<elistcond>}]`
///
/// ELIST=U: `>N` lists channels with more than N users, `<N` with fewer.
/// Secret channels are shown to their members only. The count is every
/// member (not only visible ones), as most servers show it.
pub fn list(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let is_cond = |p: &str| p.starts_with('<') || p.starts_with('>');
    let (names, conds) = if is_cond(m.param(0)) {
        ("", m.param(0))
    } else {
        (m.param(0), m.param(1))
    };
    let (mut min, mut max) = (0usize, usize::MAX);
    for cond in conds.split(',') {
        if let Some(n) = cond.strip_prefix('>').and_then(|n| n.parse::<usize>().ok()) {
            min = min.max(n.saturating_add(1));
        } else if let Some(n) = cond.strip_prefix('<').and_then(|n| n.parse::<usize>().ok()) {
            max = max.min(n);
        }
    }
    let chans: Vec<ChanId> = if names.is_empty() {
        s.channels.iter().map(|(chan, _)| chan).collect()
    } else {
        names
            .split(',')
            .filter(|n| !n.is_empty())
            .filter_map(|n| s.find_channel(n))
            .collect()
    };
    let mut rows = Vec::new();
    for chan in chans {
        let ch = &s.channels[chan];
        let count = ch.members.len();
        if (ch.has(flag::SECRET) && !ch.is_member(id)) || count < min || count >= max {
            continue;
        }
        let (modes, _) = ch.mode_string(false);
        let text = match &ch.topic {
            Some(t) => format!("[{modes}] {}", t.text),
            None => format!("[{modes}]"),
        };
        rows.push((ch.name.clone(), count.to_string(), text));
    }
    s.numeric(id, RPL_LISTSTART, &["Channel"], "Users  Name");
    for (name, count, text) in rows {
        s.numeric(id, RPL_LIST, &[&name, &count], &text);
    }
    s.numeric(id, RPL_LISTEND, &[], "End of /LIST");
    Ok(())
}

/// `INVITE <nickname> <channel>`
pub fn invite(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let (nick, name) = (m.param(0), m.param(1));
    let target = s
        .find_nick(nick)
        .filter(|&t| s.clients[t].registered)
        .ok_or_else(|| CmdError::NoSuchNick(nick.to_string()))?;
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    let ch = &s.channels[chan];
    let chan_name = ch.name.clone();
    let Some(mine) = ch.prefix_of(id) else {
        return Err(CmdError::NotOnChannel(chan_name));
    };
    let peer = &s.clients[target];
    let target_nick = peer.nick().to_owned();
    let away = peer.away().map(str::to_owned);
    if ch.is_member(target) {
        return Err(CmdError::Numeric(
            ERR_USERONCHANNEL,
            vec![target_nick, chan_name],
            "is already on channel".into(),
        ));
    }
    let halfop = prefix::rank(prefix::HALFOP);
    if ch.has(flag::INVITE_ONLY) && prefix::rank(mine) < halfop {
        return Err(CmdError::ChanOpPrivsNeeded(chan_name));
    }
    // invite-notify: the channel's halfops and up hear of it too.
    let notify: Vec<ClientId> = ch
        .members
        .iter()
        .filter(|mb| mb.id != id && prefix::rank(mb.prefix) >= halfop)
        .filter(|mb| {
            s.clients
                .get(mb.id)
                .is_some_and(|c| c.has_cap(caps::INVITE_NOTIFY))
        })
        .map(|mb| mb.id)
        .collect();
    let folded = casemap::fold(&chan_name);
    let invites = &mut s.clients[target].extra_mut().invites;
    if !invites.contains(&folded) {
        if invites.len() >= MAX_INVITES {
            invites.remove(0);
        }
        invites.push(folded);
    }
    let mask = s.clients[id].mask();
    s.numeric_opt(id, RPL_INVITING, &[&target_nick, &chan_name], None);
    let middle = [target_nick.as_str(), chan_name.as_str()];
    let mut ev = s.user_event(id, &mask, "INVITE", &middle, None);
    s.send_event(target, &mut ev);
    for member in notify {
        s.send_event(member, &mut ev);
    }
    if let Some(away) = away {
        s.numeric(id, RPL_AWAY, &[&target_nick], &away);
    }
    Ok(())
}

/// `KICK <channel> <user>{,<user>} [:<comment>]`
pub fn kick(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let name = m.param(0);
    if s.find_channel(name).is_none() {
        return Err(CmdError::NoSuchChannel(name.to_string()));
    }
    let reason = match m.params.get(2).copied().filter(|r| !r.is_empty()) {
        Some(r) => cut(r, s.config.limits.kicklen).to_string(),
        None => s.clients[id].nick().to_owned(),
    };
    for nick in m.param(1).split(',').filter(|n| !n.is_empty()) {
        if s.clients[id].dead {
            break;
        }
        if let Err(e) = kick_one(s, id, name, nick, &reason) {
            s.reply_error(id, &e);
        }
    }
    Ok(())
}

/// Kicks one user. The channel is looked up again for each: an earlier
/// kick may have emptied it, or removed the kicker itself.
fn kick_one(s: &mut State, id: ClientId, name: &str, nick: &str, reason: &str) -> CmdResult {
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    let ch = &s.channels[chan];
    let chan_name = ch.name.clone();
    let Some(mine) = ch.prefix_of(id) else {
        return Err(CmdError::NotOnChannel(chan_name));
    };
    if prefix::rank(mine) < prefix::rank(prefix::HALFOP) {
        return Err(CmdError::ChanOpPrivsNeeded(chan_name));
    }
    let target = s
        .find_nick(nick)
        .filter(|&t| s.clients[t].registered)
        .ok_or_else(|| CmdError::NoSuchNick(nick.to_string()))?;
    let target_nick = s.clients[target].nick().to_owned();
    let Some(theirs) = ch.prefix_of(target) else {
        return Err(CmdError::UserNotInChannel(target_nick, chan_name));
    };
    if !has_privs_over(mine, theirs) {
        return Err(CmdError::Numeric(
            ERR_CHANOPRIVSNEEDED,
            vec![chan_name],
            "You don't have enough channel privileges".into(),
        ));
    }
    let mask = s.clients[id].mask();
    let middle = [chan_name.as_str(), target_nick.as_str()];
    let mut ev = s.user_event(id, &mask, "KICK", &middle, Some(reason));
    s.send_event_to_channel(chan, &mut ev, None);
    s.remove_member(chan, target);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::proto::numeric::RPL_NAMREPLY;
    use crate::state::testutil::{assert_has, assert_lacks, config, Harness};
    use crate::state::ClientId;

    fn mask(h: &Harness, id: ClientId) -> String {
        h.s.clients[id].mask()
    }

    /// alice creates `#x` (and is its op), bob joins; outputs drained.
    fn pair() -> (Harness, ClientId, ClientId) {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(a, "JOIN #x");
        h.line(b, "JOIN #x");
        h.take(a);
        h.take(b);
        (h, a, b)
    }

    #[test]
    fn join_creates_the_channel_with_its_creator_as_op() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "JOIN #Chat");
        let out = h.take(a);
        assert_eq!(
            out,
            [
                format!(":{} JOIN #Chat", mask(&h, a)),
                ":pico.test 353 alice = #Chat :@alice".to_string(),
                ":pico.test 366 alice #Chat :End of NAMES list".to_string(),
            ]
        );
        let b = h.client("bob");
        h.line(b, "JOIN #chat");
        let out = h.take(b);
        assert_eq!(
            out[0],
            format!(":{} JOIN #Chat", mask(&h, b)),
            "the channel keeps its first spelling"
        );
        assert_has(&out, ":pico.test 353 bob = #Chat :@alice bob");
        assert_eq!(h.take(a), [format!(":{} JOIN #Chat", mask(&h, b))]);
        let chan = h.s.find_channel("#CHAT").unwrap();
        assert_eq!(h.s.clients[b].channels, [chan]);
        assert_eq!(h.s.channels[chan].created, 1_700_000_000);
        h.line(b, "JOIN #chat");
        assert!(h.take(b).is_empty(), "joining again is ignored");
    }

    #[test]
    fn an_away_joiner_is_announced_to_away_notify_members() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(a, "CAP REQ away-notify");
        h.line(c, "AWAY :lunch");
        h.take(a);
        h.take(c);
        h.line(c, "JOIN #x");
        let join = format!(":{} JOIN #x", mask(&h, c));
        let away = format!(":{} AWAY :lunch", mask(&h, c));
        assert_eq!(h.take(a), [join.clone(), away]);
        assert_eq!(h.take(b), [join], "no away-notify, no AWAY");
        assert_lacks(&h.take(c), " AWAY ");
        // Back from away: a later join announces nothing.
        h.line(c, "AWAY");
        h.line(c, "PART #x");
        h.take(a);
        h.line(c, "JOIN #x");
        assert_eq!(h.take(a), [format!(":{} JOIN #x", mask(&h, c))]);
    }

    #[test]
    fn join_rejects_bad_names_and_too_many_channels() {
        let mut cfg = config();
        cfg.limits.chanlimit = 2;
        cfg.limits.channellen = 10;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.line(a, "JOIN nochan,#,#waytoolongname");
        let out = h.take(a);
        assert_has(&out, " 403 alice nochan :No such channel");
        assert_has(&out, " 403 alice # :No such channel");
        assert_has(&out, " 403 alice #waytoolongname :No such channel");
        h.line(a, "JOIN #a,#b,#c");
        let out = h.take(a);
        assert_has(&out, " 405 alice #c :You have joined too many channels");
        assert!(h.s.find_channel("#c").is_none());
        h.line(a, "JOIN :");
        assert_has(&h.take(a), " 461 alice JOIN :Not enough parameters");
    }

    #[test]
    fn join_checks_key_limit_invite_and_bans_in_order() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(a, "MODE #x +kl sesame 2");
        h.line(c, "JOIN #x");
        assert_has(&h.take(c), " 475 carol #x :Cannot join channel (+k)");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " 471 carol #x :Cannot join channel (+l)");
        h.line(b, "PART #x");
        h.line(a, "MODE #x +i");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " 473 carol #x :Cannot join channel (+i)");
        h.line(a, "MODE #x -i+b carol");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " 474 carol #x :Cannot join channel (+b)");
        h.line(a, "MODE #x +e *!*@*");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " JOIN #x");
    }

    #[test]
    fn an_invite_passes_invite_only_and_bans_but_not_key_or_limit() {
        let (mut h, a, _b) = pair();
        let c = h.client("carol");
        h.line(a, "MODE #x +ibk carol sesame");
        h.line(a, "INVITE carol #x");
        assert_eq!(h.s.clients[c].invites(), ["#x"]);
        h.line(c, "JOIN #x");
        assert_has(&h.take(c), " 475 carol #x :Cannot join channel (+k)");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " JOIN #x");
        assert!(h.s.clients[c].invites().is_empty(), "the invite is used up");
        h.line(c, "PART #x");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " 473 carol #x :Cannot join channel (+i)");
        h.line(a, "MODE #x +I carol");
        h.line(c, "JOIN #x sesame");
        assert_has(&h.take(c), " JOIN #x");
    }

    #[test]
    fn join_zero_parts_everything_without_reason() {
        let (mut h, a, b) = pair();
        h.line(a, "JOIN #y");
        h.take(a);
        h.line(a, "JOIN 0");
        let out = h.take(a);
        assert_has(&out, &format!(":{} PART #x", mask(&h, a)));
        assert_has(&out, &format!(":{} PART #y", mask(&h, a)));
        assert_lacks(&out, "PART #x :");
        assert_eq!(h.take(b), [format!(":{} PART #x", mask(&h, a))]);
        assert!(h.s.clients[a].channels.is_empty());
        assert!(
            h.s.find_channel("#y").is_none(),
            "an empty channel is destroyed"
        );
    }

    #[test]
    fn part_with_and_without_reason_and_its_errors() {
        let (mut h, a, b) = pair();
        h.line(b, "PART #x :see you");
        let line = format!(":{} PART #x :see you", mask(&h, b));
        assert_eq!(h.take(a), std::slice::from_ref(&line));
        assert_eq!(h.take(b), [line]);
        h.line(b, "PART #x,#nope");
        let out = h.take(b);
        assert_has(&out, " 442 bob #x :You're not on that channel");
        assert_has(&out, " 403 bob #nope :No such channel");
        h.line(a, "PART #X");
        assert_eq!(h.take(a), [format!(":{} PART #x", mask(&h, a))]);
        assert!(h.s.find_channel("#x").is_none());
        assert!(h.s.channels.is_empty());
    }

    #[test]
    fn topic_query_set_lock_and_clear() {
        let (mut h, a, b) = pair();
        h.line(b, "TOPIC #x");
        assert_eq!(h.take(b), [":pico.test 331 bob #x :No topic is set"]);
        h.line(b, "TOPIC #x :hello");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You're not a channel operator"]
        );
        h.line(a, "TOPIC #x :hello world");
        let line = format!(":{} TOPIC #x :hello world", mask(&h, a));
        assert_eq!(h.take(a), std::slice::from_ref(&line));
        assert_eq!(h.take(b), [line]);
        h.line(b, "TOPIC #x");
        assert_eq!(
            h.take(b),
            [
                ":pico.test 332 bob #x :hello world",
                ":pico.test 333 bob #x alice 1700000000",
            ]
        );
        let c = h.client("carol");
        h.line(c, "JOIN #x");
        let out = h.take(c);
        assert_has(&out, ":pico.test 332 carol #x :hello world");
        assert_has(&out, ":pico.test 333 carol #x alice 1700000000");
        h.line(a, "MODE #x -t");
        h.line(b, "TOPIC #x :bob's");
        assert_has(&h.take(a), " TOPIC #x :bob's");
        h.line(b, "TOPIC #x :");
        assert_has(&h.take(a), &format!(":{} TOPIC #x :", mask(&h, b)));
        h.take(b);
        h.line(b, "TOPIC #x");
        assert_eq!(h.take(b), [":pico.test 331 bob #x :No topic is set"]);
    }

    #[test]
    fn topic_for_non_members_and_errors() {
        let (mut h, a, _b) = pair();
        let c = h.client("carol");
        h.line(a, "TOPIC #x :public");
        h.line(c, "TOPIC #x");
        assert_has(&h.take(c), ":pico.test 332 carol #x :public");
        h.line(c, "TOPIC #x :mine");
        assert_eq!(
            h.take(c),
            [":pico.test 442 carol #x :You're not on that channel"]
        );
        h.line(a, "MODE #x +s");
        h.line(c, "TOPIC #x");
        assert_eq!(
            h.take(c),
            [":pico.test 442 carol #x :You're not on that channel"]
        );
        h.line(c, "TOPIC #nope");
        assert_eq!(h.take(c), [":pico.test 403 carol #nope :No such channel"]);
    }

    #[test]
    fn topic_is_cut_to_topiclen() {
        let mut cfg = config();
        cfg.limits.topiclen = 5;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.line(a, "JOIN #x");
        h.line(a, "TOPIC #x :abcdéfgh");
        assert_has(&h.take(a), " TOPIC #x :abcd");
        let chan = h.s.find_channel("#x").unwrap();
        assert_eq!(
            h.s.channels[chan].topic.as_ref().unwrap().text,
            "abcd",
            "cut at a char boundary"
        );
    }

    #[test]
    fn names_visibility_and_caps() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(c, "NAMES");
        assert_eq!(h.take(c), [":pico.test 366 carol * :End of NAMES list"]);
        h.line(c, "NAMES #nope");
        assert_eq!(h.take(c), [":pico.test 366 carol #nope :End of NAMES list"]);
        // Everyone is +i after registration: a non-member sees no one.
        h.line(c, "NAMES #x");
        assert_eq!(h.take(c), [":pico.test 366 carol #x :End of NAMES list"]);
        h.line(b, "MODE bob -i");
        h.line(c, "NAMES #x");
        assert_eq!(
            h.take(c),
            [
                ":pico.test 353 carol = #x :bob",
                ":pico.test 366 carol #x :End of NAMES list"
            ]
        );
        h.line(a, "MODE #x +s");
        h.line(c, "NAMES #x");
        assert_eq!(h.take(c), [":pico.test 366 carol #x :End of NAMES list"]);
        h.take(a);
        h.line(a, "MODE #x +v alice");
        h.line(a, "NAMES #x,#ignored");
        assert_eq!(
            h.take(a),
            [
                format!(":{} MODE #x +v alice", mask(&h, a)),
                ":pico.test 353 alice @ #x :@alice bob".to_string(),
                ":pico.test 366 alice #x :End of NAMES list".to_string(),
            ]
        );
        h.line(a, "CAP REQ :multi-prefix userhost-in-names");
        h.take(a);
        h.line(a, "NAMES #x");
        let out = h.take(a);
        assert_eq!(
            out[0],
            format!(
                ":pico.test 353 alice @ #x :@+{} {}",
                mask(&h, a),
                mask(&h, b)
            )
        );
    }

    #[test]
    fn long_names_replies_are_split() {
        let mut h = Harness::new();
        let first = h.client("a00000000000000000000000000000");
        h.line(first, "JOIN #big");
        let mut ids = vec![first];
        for i in 1..40 {
            let id = h.client(&format!("a{i:029}"));
            h.line(id, "JOIN #big");
            ids.push(id);
        }
        h.take(first);
        h.line(first, "NAMES #big");
        let out = h.take(first);
        let lines: Vec<&String> = out.iter().filter(|l| l.contains(" 353 ")).collect();
        assert!(lines.len() >= 3, "{out:?}");
        assert!(out.iter().all(|l| l.len() <= 510), "{out:?}");
        let names: usize = lines
            .iter()
            .map(|l| l.rsplit_once(" :").unwrap().1.split(' ').count())
            .sum();
        assert_eq!(names, 40);
        assert!(lines
            .iter()
            .all(|l| l.starts_with(&format!(":pico.test {RPL_NAMREPLY} "))));
    }

    #[test]
    fn list_shows_public_channels_with_modes_and_filters() {
        let (mut h, a, b) = pair();
        h.line(a, "TOPIC #x :the topic");
        h.line(b, "JOIN #solo");
        h.line(a, "JOIN #hidden");
        h.line(a, "MODE #hidden +s");
        let c = h.client("carol");
        h.take(a);
        h.line(c, "LIST");
        let out = h.take(c);
        assert_eq!(out[0], ":pico.test 321 carol Channel :Users  Name");
        assert_has(&out, ":pico.test 322 carol #x 2 :[+nt] the topic");
        assert_has(&out, ":pico.test 322 carol #solo 1 :[+nt]");
        assert_lacks(&out, "#hidden");
        assert_eq!(out.last().unwrap(), ":pico.test 323 carol :End of /LIST");
        h.line(a, "LIST");
        assert_has(&h.take(a), ":pico.test 322 alice #hidden 1 :[+nst]");
        h.line(c, "LIST >1");
        let out = h.take(c);
        assert_has(&out, " 322 carol #x 2 ");
        assert_lacks(&out, "#solo");
        h.line(c, "LIST <2");
        let out = h.take(c);
        assert_has(&out, " 322 carol #solo 1 ");
        assert_lacks(&out, "#x");
        h.line(c, "LIST #solo,#hidden,#nope");
        let out = h.take(c);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_has(&out, " 322 carol #solo 1 ");
    }

    #[test]
    fn invite_happy_path_notify_and_away() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(b, "CAP REQ invite-notify");
        h.line(a, "MODE #x +h bob");
        h.take(b);
        h.s.clients[c].extra_mut().away = Some("lunch".into());
        h.take(a);
        h.line(a, "INVITE Carol #x");
        let line = format!(":{} INVITE carol #x", mask(&h, a));
        assert_eq!(
            h.take(a),
            [
                ":pico.test 341 alice carol #x",
                ":pico.test 301 alice carol :lunch"
            ]
        );
        assert_eq!(h.take(c), std::slice::from_ref(&line));
        assert_eq!(h.take(b), [line], "a halfop with invite-notify hears of it");
        h.line(a, "INVITE carol #x");
        assert_eq!(h.s.clients[c].invites(), ["#x"], "recorded once");
    }

    #[test]
    fn invite_errors() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(a, "INVITE nobody #x");
        assert_eq!(h.take(a), [":pico.test 401 alice nobody :No such nick"]);
        h.line(a, "INVITE carol #nope");
        assert_eq!(h.take(a), [":pico.test 403 alice #nope :No such channel"]);
        h.line(c, "INVITE alice #x");
        assert_eq!(
            h.take(c),
            [":pico.test 442 carol #x :You're not on that channel"]
        );
        h.line(a, "INVITE bob #x");
        assert_eq!(
            h.take(a),
            [":pico.test 443 alice bob #x :is already on channel"]
        );
        h.line(a, "MODE #x +i");
        h.take(b);
        h.line(b, "INVITE carol #x");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You're not a channel operator"]
        );
        assert!(h.take(c).is_empty());
        h.line(a, "INVITE");
        assert_has(&h.take(a), " 461 alice INVITE :Not enough parameters");
    }

    #[test]
    fn kick_several_with_default_reason() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(c, "JOIN #x");
        h.take(a);
        h.take(b);
        h.take(c);
        h.line(a, "KICK #x bob,carol");
        let out = h.take(a);
        assert_eq!(
            out,
            [
                format!(":{} KICK #x bob :alice", mask(&h, a)),
                format!(":{} KICK #x carol :alice", mask(&h, a)),
            ]
        );
        assert_eq!(
            h.take(b),
            [out[0].clone()],
            "bob was gone before carol's kick"
        );
        assert_eq!(h.take(c), out);
        let chan = h.s.find_channel("#x").unwrap();
        assert_eq!(h.s.channels[chan].members.len(), 1);
        assert!(h.s.clients[b].channels.is_empty());
    }

    #[test]
    fn kick_reason_is_cut_to_kicklen() {
        let mut cfg = config();
        cfg.limits.kicklen = 4;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(a, "JOIN #x");
        h.line(b, "JOIN #x");
        h.take(b);
        h.line(a, "KICK #x bob :go away");
        assert_eq!(h.take(b), [format!(":{} KICK #x bob :go a", mask(&h, a))]);
    }

    #[test]
    fn kick_errors_and_rank_rules() {
        let (mut h, a, b) = pair();
        let c = h.client("carol");
        h.line(c, "JOIN #x");
        h.take(b);
        h.line(b, "KICK #x carol");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You're not a channel operator"]
        );
        h.line(a, "MODE #x +h bob");
        h.take(b);
        h.line(b, "KICK #x alice :bye");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You don't have enough channel privileges"]
        );
        h.line(a, "MODE #x +h carol");
        h.take(b);
        h.line(b, "KICK #x carol");
        assert_has(
            &h.take(b),
            " 482 bob #x :You don't have enough channel privileges",
        );
        h.line(a, "MODE #x -h carol");
        h.take(b);
        h.line(b, "KICK #x carol :halfops kick plain members");
        assert_has(&h.take(b), " KICK #x carol :halfops kick plain members");
        h.line(a, "KICK #x carol,nobody");
        let out = h.take(a);
        assert_has(&out, " 441 alice carol #x :They aren't on that channel");
        assert_has(&out, " 401 alice nobody :No such nick");
        h.take(c);
        h.line(c, "KICK #x bob");
        assert_eq!(
            h.take(c),
            [":pico.test 442 carol #x :You're not on that channel"]
        );
        h.line(a, "KICK #nope bob");
        assert_eq!(h.take(a), [":pico.test 403 alice #nope :No such channel"]);
        h.line(a, "KICK #x alice");
        assert!(h.s.find_channel("#x").is_some(), "bob is still there");
        assert!(h.s.clients[a].channels.is_empty(), "an op may kick itself");
    }
}
