//! ChanServ: registering a channel and keeping its founder, access list,
//! modes, topic and bans across restarts. Replies in Ergo's words
//! (irc/chanserv.go). The record lives in the datastore; `chanreg` applies
//! it to the live channel. Imports `state` (accounts, channels, services)
//! and `store` (the channel record).

use std::time::Instant;

use super::{always, notice, Command, Service};
use crate::proto::casemap;
use crate::state::accounts::After;
use crate::state::channel::prefix;
use crate::state::{ChanId, ClientId, State};
use crate::store::{Access, Change, ChannelReg, Key, Record};

/// Channels one account may found (Ergo's default `max-channels-per-account`).
pub const MAX_CHANNELS_PER_ACCOUNT: usize = 15;

const fn cmd(
    name: &'static str,
    handler: super::Handler,
    help: &'static str,
    help_short: &'static str,
    min_params: usize,
    auth_required: bool,
) -> Command {
    Command {
        name,
        alias_of: None,
        handler,
        help,
        help_short,
        min_params,
        max_params: 0,
        auth_required,
        capab: None,
        hidden: false,
        enabled: always,
    }
}

pub static CHANSERV: Service = Service {
    name: "ChanServ",
    short: "CS",
    aliases: &["CHANSERV", "CS"],
    banner: "ChanServ lets you register and manage channels.",
    commands: &[
        cmd(
            "AMODE",
            amode,
            "Syntax: \x02AMODE #channel [mode change] [account]\x02\n\nAMODE lists or modifies persistent mode settings that affect channel members.\nFor example, \x02AMODE #channel +o dan\x02 grants the holder of the \"dan\"\naccount the +o operator mode every time they join #channel. To list current\naccounts and modes, use \x02AMODE #channel\x02. Note that users are always\nreferenced by their registered account names, not their nicknames.",
            "\x02AMODE\x02 modifies persistent mode settings for channel members.",
            1,
            false,
        ),
        cmd(
            "DEOP",
            deop,
            "Syntax: \x02DEOP #channel [nickname]\x02\n\nDEOP removes the given nickname, or yourself, the channel admin. You can only use\nthis command if you're the founder of the channel.",
            "\x02DEOP\x02 removes the given user (or yourself) from a channel admin.",
            1,
            false,
        ),
        Command {
            alias_of: Some("UNREGISTER"),
            hidden: true,
            ..cmd("DROP", unregister, "", "", 1, false)
        },
        cmd(
            "INFO",
            info,
            "Syntax: \x02INFO #channel\x02\n\nINFO displays info about a registered channel.",
            "\x02INFO\x02 displays info about a registered channel.",
            1,
            false,
        ),
        cmd(
            "OP",
            op,
            "Syntax: \x02OP #channel [nickname]\x02\n\nOP makes the given nickname, or yourself, a channel admin. You can only use\nthis command if you're a founder or in the AMODEs of the channel.",
            "\x02OP\x02 makes the given user (or yourself) a channel admin.",
            1,
            true,
        ),
        cmd(
            "REGISTER",
            register,
            "Syntax: \x02REGISTER #channel\x02\n\nREGISTER lets you own the given channel. If you rejoin this channel, you'll be\ngiven admin privs on it. Modes set on the channel and the topic will also be\nremembered.",
            "\x02REGISTER\x02 lets you own a given channel.",
            1,
            true,
        ),
        cmd(
            "TOPICLOCK",
            topiclock,
            "Syntax: \x02TOPICLOCK #channel <on|off>\x02\n\nTOPICLOCK keeps the topic of a registered channel for its founder and\nadmins (+q and +a): while it is on, channel operators cannot change it.",
            "\x02TOPICLOCK\x02 lets only the founder and admins change the topic.",
            2,
            true,
        ),
        cmd(
            "TRANSFER",
            transfer,
            "Syntax: \x02TRANSFER #channel user [code]\x02\n\nTRANSFER transfers ownership of a channel from one user to another.\nTo prevent accidental transfers, a verification code is required. For\nexample, \x02TRANSFER #channel alice\x02 displays the required confirmation\ncode, then \x02TRANSFER #channel alice 2930242125\x02 completes the transfer.",
            "\x02TRANSFER\x02 transfers ownership of a channel to another user.",
            2,
            true,
        ),
        cmd(
            "UNREGISTER",
            unregister,
            "Syntax: \x02UNREGISTER #channel [code]\x02\n\nUNREGISTER deletes a channel registration, allowing someone else to claim it.\nTo prevent accidental unregistrations, a verification code is required;\ninvoking the command without a code will display the necessary code.",
            "\x02UNREGISTER\x02 deletes a channel registration.",
            1,
            false,
        ),
        cmd(
            "VOICE",
            voice,
            "Syntax: \x02VOICE #channel [nickname]\x02\n\nVOICE gives the given nickname, or yourself, voice (+v). You can use it on\nyourself with any stored privilege on the channel, on others as the founder.",
            "\x02VOICE\x02 gives the given user (or yourself) voice.",
            1,
            true,
        ),
    ],
};

/// The folded account of `id`, if logged in.
fn account_of(s: &State, id: ClientId) -> Option<String> {
    s.clients[id].account().map(casemap::fold)
}

/// The registered record of a channel, or the notice that it has none.
fn registered(
    s: &mut State,
    id: ClientId,
    svc: &'static Service,
    name: &str,
) -> Option<ChannelReg> {
    match s.channel_reg(name).cloned() {
        Some(reg) => Some(reg),
        None => {
            notice(s, id, svc, "That channel is not registered");
            None
        }
    }
}

/// The founder, or an oper with `chanreg` (Ergo's csPrivsCheck).
fn founder_or_oper(s: &mut State, id: ClientId, svc: &'static Service, reg: &ChannelReg) -> bool {
    if s.clients[id].has_oper_cap("chanreg") || account_of(s, id).as_deref() == Some(&reg.founder) {
        return true;
    }
    notice(s, id, svc, "Insufficient privileges");
    false
}

/// Gives or takes prefix `bits` of `target` in `chan` and tells the
/// channel, as `source` (a server or the acting client).
fn set_prefix(s: &mut State, chan: ChanId, target: ClientId, bits: u8, add: bool, source: &str) {
    let Some(before) = s.channels[chan].prefix_of(target) else {
        return;
    };
    let changed: Vec<char> = prefix::ALL
        .iter()
        .filter(|(bit, _, _)| bits & bit != 0 && (before & bit != 0) != add)
        .map(|(_, m, _)| *m)
        .collect();
    if changed.is_empty() {
        return;
    }
    for (bit, _, _) in prefix::ALL.iter().filter(|(b, _, _)| bits & b != 0) {
        s.channels[chan].set_prefix(target, *bit, add);
    }
    let nick = s.clients[target].nick().to_owned();
    let name = s.channels[chan].name.clone();
    let modes = format!(
        "{}{}",
        if add { '+' } else { '-' },
        changed.iter().collect::<String>()
    );
    let args: Vec<&str> = [name.as_str(), modes.as_str()]
        .into_iter()
        .chain(changed.iter().map(|_| nick.as_str()))
        .collect();
    let mut ev = s.event(Some(source), "MODE", &args, None);
    s.send_event_to_channel(chan, &mut ev, None);
}

/// `REGISTER #channel`: the founder's account owns it from now on.
fn register(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let name = params[0];
    let Some(chan) = s.find_channel(name) else {
        return notice(s, id, svc, "No such channel");
    };
    let mine = s.channels[chan].prefix_of(id).unwrap_or(0);
    if prefix::rank(mine) < prefix::rank(prefix::OP) {
        return notice(
            s,
            id,
            svc,
            "You must be an oper on the channel to register it",
        );
    }
    if s.channel_reg(name).is_some() {
        return notice(s, id, svc, "Channel is already registered");
    }
    let Some(account) = account_of(s, id) else {
        return notice(s, id, svc, "You're not logged into an account");
    };
    let founded = s.accounts.db().map_or(0, |db| {
        db.channels().filter(|(_, c)| c.founder == account).count()
    });
    if founded >= MAX_CHANNELS_PER_ACCOUNT && !s.clients[id].has_oper_cap("chanreg") {
        return notice(
            s,
            id,
            svc,
            "You have already registered the maximum number of channels; try dropping some with /CS UNREGISTER",
        );
    }
    let base = ChannelReg {
        founder: account,
        registered: s.now_secs(),
        ..ChannelReg::default()
    };
    let record = s.channel_record(chan, &base);
    let shown = record.name.clone();
    let key = Key::Channel(casemap::fold(&shown));
    s.commit(
        id,
        Change::Put(key, Record::Channel(record)),
        After::ChannelRegistered(shown),
    );
}

/// After a registration is durable: the notice and the founder's +q.
pub fn registered_done(s: &mut State, id: ClientId, name: &str) {
    notice(
        s,
        id,
        &CHANSERV,
        &format!("Channel {name} successfully registered"),
    );
    let mask = s.clients[id].mask();
    let text = format!("Channel registered {name} by {mask}");
    s.snotice(crate::state::snomask::CHANNELS, &text);
    if let Some(chan) = s.find_channel(name) {
        let source = CHANSERV.prefix();
        set_prefix(s, chan, id, prefix::FOUNDER, true, &source);
    }
}

/// `UNREGISTER #channel [code]` (and DROP).
fn unregister(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(reg) = registered(s, id, svc, params[0]) else {
        return;
    };
    if !founder_or_oper(s, id, svc, &reg) {
        return;
    }
    let key = casemap::fold(&reg.name);
    let code = crate::state::accounts::confirmation_code(&reg.name, reg.registered);
    if params.get(1) != Some(&code.as_str()) {
        notice(
            s,
            id,
            svc,
            "\x02Warning: unregistering this channel will remove all stored channel attributes.\x02",
        );
        let text = format!("To confirm, run this command: /CS UNREGISTER {key} {code}");
        return notice(s, id, svc, &text);
    }
    let text = format!("Channel {key} is now unregistered");
    s.commit(
        id,
        Change::Delete(Key::Channel(key)),
        After::Notice(svc, text),
    );
}

/// `INFO #channel`.
fn info(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(reg) = s.channel_reg(params[0]).cloned() else {
        let text = format!("Channel {} is not registered", params[0]);
        return notice(s, id, svc, &text);
    };
    let founder = s
        .account(&reg.founder)
        .map_or_else(|| reg.founder.clone(), |a| a.name.clone());
    for line in [
        format!("Channel: {}", reg.name),
        format!("Founder: {founder}"),
        format!("Registered at: {}", crate::time::rfc1123(reg.registered)),
        format!("Topic lock: {}", if reg.topic_lock { "on" } else { "off" }),
    ] {
        notice(s, id, svc, &line);
    }
}

/// The client `params[1]` names (or `id` itself), in channel `chan`.
fn target_in(
    s: &mut State,
    id: ClientId,
    svc: &'static Service,
    params: &[&str],
) -> Option<ClientId> {
    match params.get(1) {
        None => Some(id),
        Some(nick) => match s.find_nick(nick).filter(|&t| s.clients[t].registered) {
            Some(t) => Some(t),
            None => {
                notice(s, id, svc, "Could not find given client");
                None
            }
        },
    }
}

/// `OP #channel [nick]`: the founder (or an AMODE holder, for itself)
/// gets its stored mode; the founder can op others.
fn op(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    grant(
        s,
        id,
        svc,
        params,
        prefix::OP,
        "Successfully granted operator privileges",
    );
}

/// `VOICE #channel [nick]`.
fn voice(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    grant(
        s,
        id,
        svc,
        params,
        prefix::VOICE,
        "Successfully granted voice privileges",
    );
}

fn grant(
    s: &mut State,
    id: ClientId,
    svc: &'static Service,
    params: &[&str],
    others: u8,
    done: &str,
) {
    let Some(chan) = s.find_channel(params[0]) else {
        return notice(s, id, svc, "Channel does not exist");
    };
    let Some(reg) = registered(s, id, svc, params[0]) else {
        return;
    };
    let Some(target) = target_in(s, id, svc, params) else {
        return;
    };
    let account = account_of(s, id).unwrap_or_default();
    let is_founder = account == reg.founder;
    let given = if target == id {
        if is_founder {
            prefix::FOUNDER
        } else {
            match s.join_privileges(chan, id) {
                0 => {
                    return notice(
                        s,
                        id,
                        svc,
                        "You don't have any stored privileges on that channel",
                    )
                }
                // VOICE gives voice, whatever the stored privilege.
                _ if others == prefix::VOICE => prefix::VOICE,
                stored => stored,
            }
        }
    } else if is_founder {
        others
    } else {
        return notice(s, id, svc, "Only the channel founder can do this");
    };
    if s.channels[chan].prefix_of(target).is_none() {
        return notice(s, id, svc, "Target is not on that channel");
    }
    let server = s.config.server.name.clone();
    set_prefix(s, chan, target, given, true, &server);
    notice(s, id, svc, done);
}

/// `DEOP #channel [nick]`: every prefix of the target goes, with the
/// client's own privileges checked (as a MODE would).
fn deop(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(chan) = s.find_channel(params[0]) else {
        return notice(s, id, svc, "Channel does not exist");
    };
    let Some(mine) = s.channels[chan].prefix_of(id) else {
        return notice(s, id, svc, "You're not on that channel");
    };
    let Some(target) = target_in(s, id, svc, params) else {
        return;
    };
    let theirs = s.channels[chan].prefix_of(target).unwrap_or(0);
    if theirs == 0 {
        return notice(s, id, svc, "Target has no privileges to remove");
    }
    let highest = prefix::ALL
        .iter()
        .find(|(b, _, _)| theirs & b != 0)
        .map_or(0, |(b, _, _)| *b);
    if target != id && !crate::state::handlers::modes::has_privs_over(mine, highest) {
        return notice(s, id, svc, "Insufficient privileges");
    }
    let mask = s.clients[id].mask();
    set_prefix(s, chan, target, theirs, false, &mask);
    notice(s, id, svc, "Successfully removed operator privileges");
}

/// `AMODE #channel [+mode|-mode account]`.
fn amode(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(mut reg) = registered(s, id, svc, params[0]) else {
        return;
    };
    let Some(change) = params.get(1) else {
        let mut list = reg.access.clone();
        list.sort_by_key(|a| std::cmp::Reverse(prefix::from_mode(a.mode).map_or(0, prefix::rank)));
        let text = format!(
            "Channel {} has {} persistent modes set",
            reg.name,
            list.len()
        );
        notice(s, id, svc, &text);
        for a in list {
            let shown = s
                .account(&a.account)
                .map_or(a.account.clone(), |x| x.name.clone());
            notice(
                s,
                id,
                svc,
                &format!("Account {shown} receives mode +{}", a.mode),
            );
        }
        return;
    };
    let mut chars = change.chars();
    let (Some(sign @ ('+' | '-')), Some(letter), None, Some(account)) =
        (chars.next(), chars.next(), chars.next(), params.get(2))
    else {
        return notice(s, id, svc, "Invalid mode change");
    };
    if prefix::from_mode(letter).is_none() {
        return notice(s, id, svc, "Invalid mode change");
    }
    if !founder_or_oper(s, id, svc, &reg) {
        return;
    }
    let folded = casemap::fold(account);
    if sign == '+' && s.account(account).is_none() {
        return notice(s, id, svc, "Account does not exist");
    }
    let before = reg.access.clone();
    reg.access.retain(|a| a.account != folded);
    if sign == '+' {
        reg.access.push(Access {
            account: folded.clone(),
            mode: letter,
        });
    } else if before.len() == reg.access.len() {
        return notice(s, id, svc, "No changes were made");
    }
    let text = format!("Successfully set persistent mode {sign}{letter} on {folded}");
    let name = reg.name.clone();
    let key = Key::Channel(casemap::fold(&name));
    s.commit(
        id,
        Change::Put(key, Record::Channel(reg)),
        After::Notice(svc, text),
    );
    // Ergo #729: members logged in to the account get the change now.
    if let (Some(chan), Some(bit)) = (s.find_channel(&name), prefix::from_mode(letter)) {
        let members: Vec<ClientId> = s.channels[chan]
            .members
            .iter()
            .map(|m| m.id)
            .filter(|&m| {
                s.clients[m]
                    .account()
                    .is_some_and(|a| casemap::fold(a) == folded)
            })
            .collect();
        let server = s.config.server.name.clone();
        for m in members {
            set_prefix(s, chan, m, bit, sign == '+', &server);
        }
    }
}

/// `TRANSFER #channel <account> [code]`.
fn transfer(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(mut reg) = registered(s, id, svc, params[0]) else {
        return;
    };
    if !founder_or_oper(s, id, svc, &reg) {
        return;
    }
    let Some(target) = s.account(params[1]).map(|a| a.name.clone()) else {
        return notice(s, id, svc, "Account does not exist");
    };
    let code = crate::state::accounts::confirmation_code(&reg.name, reg.registered);
    if params.get(2) != Some(&code.as_str()) {
        notice(
            s,
            id,
            svc,
            "\x02Warning: you are about to transfer control of your channel to another user.\x02",
        );
        let text = format!(
            "To confirm your channel transfer, type: /CS TRANSFER {} {} {code}",
            reg.name, params[1]
        );
        return notice(s, id, svc, &text);
    }
    reg.founder = casemap::fold(&target);
    let text = format!(
        "Successfully transferred channel {} to account {target}",
        reg.name
    );
    let key = Key::Channel(casemap::fold(&reg.name));
    s.commit(
        id,
        Change::Put(key, Record::Channel(reg)),
        After::Notice(svc, text),
    );
}

/// `TOPICLOCK #channel on|off`.
fn topiclock(s: &mut State, id: ClientId, svc: &'static Service, params: &[&str], _now: Instant) {
    let Some(mut reg) = registered(s, id, svc, params[0]) else {
        return;
    };
    if !founder_or_oper(s, id, svc, &reg) {
        return;
    }
    reg.topic_lock = match params[1].to_ascii_lowercase().as_str() {
        "on" => true,
        "off" => false,
        _ => return notice(s, id, svc, "Invalid parameters"),
    };
    let text = format!(
        "Topic lock is now {} for {}",
        if reg.topic_lock { "on" } else { "off" },
        reg.name
    );
    let key = Key::Channel(casemap::fold(&reg.name));
    s.commit(
        id,
        Change::Put(key, Record::Channel(reg)),
        After::Notice(svc, text),
    );
}
