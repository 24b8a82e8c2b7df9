//! Connection registration and the connection-level commands: PASS, NICK,
//! USER, CAP, PING, PONG, QUIT; the welcome burst (001-005, LUSERS, MOTD,
//! 221) and ISUPPORT. Also the NICK change of a registered client, and
//! the state's side of STS: the `sts` value per connection in `CAP LS`
//! and the refusal to register on an `sts-only` listener.

use std::rc::Rc;
use std::time::Instant;

use crate::config::Config;
use crate::limits::{MAX_LIST, MAX_MODES, MAX_MONITOR, MAX_TARGETS, REALNAME_MAX, USERLEN};
use crate::proto::caps::{self, CAPS};
use crate::proto::numeric::*;
use crate::proto::{casemap, write, Message};
use crate::state::client::UserModes;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{handlers::monitor, snomask, ClientId, Purpose, State};

/// The version string shown in 002, 004 and VERSION.
pub const VERSION: &str = concat!("picoircd-", env!("CARGO_PKG_VERSION"));

/// `PASS <password>`
pub fn pass(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let c = &mut s.clients[id];
    if c.registered {
        return Err(CmdError::AlreadyRegistered);
    }
    c.reg.pass = Some(m.param(0).into());
    Ok(())
}

/// `NICK <nickname>`
pub fn nick(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let new = m.param(0);
    if new.is_empty() {
        return Err(CmdError::Numeric(
            ERR_NONICKNAMEGIVEN,
            vec![],
            "No nickname given".into(),
        ));
    }
    if !casemap::valid_nick(new, s.config.limits.nicklen) {
        return Err(CmdError::Numeric(
            ERR_ERRONEUSNICKNAME,
            vec![new.to_string()],
            "Erroneous nickname".into(),
        ));
    }
    let folded = casemap::fold(new);
    if let Some(&other) = s.nicks.get(folded.as_str()) {
        if other != id {
            return Err(CmdError::Numeric(
                ERR_NICKNAMEINUSE,
                vec![new.to_string()],
                "Nickname is already in use".into(),
            ));
        }
    }
    if s.nick_reserved_from(id, new) {
        return Err(CmdError::Numeric(
            ERR_NICKNAMEINUSE,
            vec![new.to_string()],
            "Nickname is reserved by a different account".into(),
        ));
    }
    let c = &s.clients[id];
    if c.nick() == new {
        return Ok(());
    }
    if !c.registered {
        let old = casemap::fold(c.nick());
        if s.nicks.get(old.as_str()) == Some(&id) {
            s.nicks.remove(old.as_str());
        }
        s.nicks.insert(folded.into(), id);
        let c = &mut s.clients[id];
        c.id.set_nick(new);
        c.reg.nick = true;
        try_register(s, id);
        return Ok(());
    }
    let old = c.nick().to_owned();
    change_nick(s, id, new);
    if s.snotices_wanted() {
        s.snotice(snomask::NICKS, &format!("{old} changed nickname to {new}"));
    }
    s.start_nick_enforcement(id, _now);
    Ok(())
}

/// Renames a registered client: NICK to itself and its peers, the index,
/// WHOWAS, MONITOR.
pub fn change_nick(s: &mut State, id: ClientId, new: &str) {
    let mask = s.clients[id].mask();
    let old_nick = s.clients[id].nick().to_owned();
    let old_folded = casemap::fold(&old_nick);
    let new_folded = casemap::fold(new);
    let mut ev = s.user_event(id, &mask, "NICK", &[], Some(new));
    s.send_event_to_common(id, &mut ev, true);
    s.record_whowas(id);
    if s.nicks.get(old_folded.as_str()) == Some(&id) {
        s.nicks.remove(old_folded.as_str());
    }
    s.nicks.insert(new_folded.clone().into(), id);
    s.clients[id].id.set_nick(new);
    if old_folded != new_folded {
        monitor::notify(s, &old_nick, None);
        monitor::notify(s, new, Some(id));
    }
}

/// `USER <username> <mode> <unused> :<realname>`
pub fn user(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let c = &mut s.clients[id];
    if c.registered || c.reg.user {
        return Err(CmdError::AlreadyRegistered);
    }
    let Some(user) = casemap::clean_user(m.param(0), USERLEN) else {
        return Err(CmdError::NeedMoreParams("USER"));
    };
    c.id.set_user(&format!("~{user}"));
    let realname: String = m.param(3).chars().take(REALNAME_MAX).collect();
    c.id.set_realname(&realname);
    c.reg.user = true;
    try_register(s, id);
    Ok(())
}

/// `CAP LS [version]` | `CAP LIST` | `CAP REQ :<caps>` | `CAP END`
pub fn cap(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let sub = m.param(0).to_ascii_uppercase();
    let nick = s.clients[id].nick().to_owned();
    let server = s.config.server.name.clone();
    match sub.as_str() {
        "LS" => {
            let c = &mut s.clients[id];
            if !c.registered {
                c.reg.cap_negotiating = true;
            }
            let version: u16 = m.param(1).parse().unwrap_or(0);
            if version >= 302 {
                c.cap_version = c.cap_version.max(302);
                // 302 implies cap-notify (IRCv3 capability negotiation).
                c.caps |= caps::CAP_NOTIFY;
            }
            let with_values = c.cap_version >= 302;
            let tls = c.modes.has(UserModes::TLS);
            let mut words = ls_words(&s.config, with_values, tls);
            if s.config.sts.is_sts_only(c.local_port) {
                // An sts-only listener offers nothing but the policy (as Ergo).
                words.retain(|w| w.split('=').next() == Some("sts"));
            }
            send_cap_list(s, id, &server, &nick, "LS", &words, with_values);
        }
        "LIST" => {
            let words: Vec<String> = caps::names(s.clients[id].caps)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect();
            let multiline = s.clients[id].cap_version >= 302;
            send_cap_list(s, id, &server, &nick, "LIST", &words, multiline);
        }
        "REQ" => {
            let c = &mut s.clients[id];
            if !c.registered {
                c.reg.cap_negotiating = true;
            }
            let req = m.param(1);
            // On an sts-only listener nothing can be turned on.
            let sts_only = s.config.sts.is_sts_only(c.local_port);
            let mut add = 0u64;
            let mut remove = 0u64;
            let mut ok = !req.trim().is_empty();
            for word in req.split(' ').filter(|w| !w.is_empty()) {
                let (minus, name) = match word.strip_prefix('-') {
                    Some(n) => (true, n),
                    None => (false, word),
                };
                match caps::by_name(name) {
                    Some(cap) if minus => remove |= cap.bit,
                    Some(cap) if cap.bit & caps::NOT_REQUESTABLE == 0 && !sts_only => {
                        add |= cap.bit
                    }
                    // Unknown, or `sts` (never requested: NAK, as the spec allows).
                    _ => ok = false,
                }
            }
            let before = c.caps;
            let verb = if ok {
                c.caps = (c.caps | add) & !remove;
                "ACK"
            } else {
                "NAK"
            };
            let after = c.caps;
            s.send_line(id, Some(&server), "CAP", &[&nick, verb], Some(req.trim()));
            if after & !before & caps::EXTENDED_ISUPPORT != 0 {
                // draft/extended-isupport: the list as soon as it is enabled.
                send_isupport(s, id);
            }
        }
        "END" => {
            let c = &mut s.clients[id];
            if !c.registered {
                c.reg.cap_negotiating = false;
                if !refused_sts_only(s, id) {
                    try_register(s, id);
                }
            }
        }
        _ => {
            return Err(CmdError::Numeric(
                ERR_INVALIDCAPCMD,
                vec![m.param(0).to_string()],
                "Invalid CAP subcommand".into(),
            ))
        }
    }
    Ok(())
}

/// The `sasl` capability's value: every mechanism picoircd has.
pub const SASL_MECHANISMS_LIST: &str = "PLAIN,EXTERNAL,SCRAM-SHA-256";

/// The `CAP LS` words for a config and a kind of connection (`tls`: the
/// client is on TLS, user mode +Z): each capability offered, with its
/// value (`name=value`) when `with_values` (302 clients). Only `sts`
/// depends on `tls`: `port=` for plaintext clients, `duration=` for TLS
/// ones (`caps::value`).
pub fn ls_words(cfg: &Config, with_values: bool, tls: bool) -> Vec<String> {
    let sts = &cfg.sts;
    let settings = caps::Settings {
        multiline_max_bytes: cfg.limits.multiline_max_bytes,
        multiline_max_lines: cfg.limits.multiline_max_lines,
        relaymsg: &cfg.relaymsg.separators,
        sts: match (sts.enabled, sts.port) {
            (true, Some(port)) => Some(caps::StsPolicy {
                port,
                duration: sts.duration.as_secs(),
                preload: sts.preload,
            }),
            _ => None,
        },
        tls,
        sasl: SASL_MECHANISMS_LIST,
        account_registration: super::accountreg::cap_setting(cfg),
    };
    CAPS.iter()
        .filter(|cap| caps::offered(cap, &settings))
        .map(|cap| match (with_values, caps::value(cap, &settings)) {
            (true, Some(v)) => format!("{}={}", cap.name, v),
            _ => cap.name.to_string(),
        })
        .collect()
}

/// Sends `CAP <nick> LS|LIST :…`, split over several lines (with `*`) for
/// 302 clients when it does not fit one line.
fn send_cap_list(
    s: &mut State,
    id: ClientId,
    server: &str,
    nick: &str,
    verb: &str,
    words: &[String],
    multiline: bool,
) {
    const BUDGET: usize = 400;
    let mut lines: Vec<String> = vec![String::new()];
    for w in words {
        let cur = lines.last_mut().expect("never empty");
        if multiline && !cur.is_empty() && cur.len() + 1 + w.len() > BUDGET {
            lines.push(w.clone());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
    }
    let n = lines.len();
    for (i, text) in lines.iter().enumerate() {
        if i + 1 < n {
            s.send_line(id, Some(server), "CAP", &[nick, verb, "*"], Some(text));
        } else {
            s.send_line(id, Some(server), "CAP", &[nick, verb], Some(text));
        }
    }
}

/// `PING <token>`
pub fn ping(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let server = s.config.server.name.clone();
    s.send_line(id, Some(&server), "PONG", &[&server], Some(m.param(0)));
    Ok(())
}

/// `PONG [server] <token>`: the read itself reset the idle timer.
pub fn pong(_s: &mut State, _id: ClientId, _m: &Message, _now: Instant) -> CmdResult {
    Ok(())
}

/// `QUIT [:reason]`
pub fn quit(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let reason = match m.params.first() {
        Some(r) if !r.is_empty() => format!("Quit: {r}"),
        _ => "Client Quit".to_string(),
    };
    s.quit(id, &reason);
    Ok(())
}

/// Completes registration when NICK, USER, CAP END and PASS allow it.
pub fn try_register(s: &mut State, id: ClientId) {
    let c = &s.clients[id];
    if c.registered || !c.reg.nick || !c.reg.user || c.reg.cap_negotiating || c.reg.check_pending {
        return;
    }
    if refused_sts_only(s, id) {
        return;
    }
    if let Some(hash) = s.config.server.password.clone() {
        let Some(password) = s.clients[id].reg.pass.take() else {
            s.numeric(id, ERR_PASSWDMISMATCH, &[], "Password incorrect");
            s.quit(id, "Bad password");
            return;
        };
        s.verify_password(id, hash, password.into(), Purpose::ServerPass);
        return;
    }
    complete_registration(s, id);
}

/// A client of an `sts-only` listener that tries to register (NICK and
/// USER, or CAP END) is told where TLS is and disconnected, in Ergo's
/// words; true if so. Such a listener only serves the `sts` upgrade
/// policy in `CAP LS`.
pub(crate) fn refused_sts_only(s: &mut State, id: ClientId) -> bool {
    let sts = &s.config.sts;
    if !sts.is_sts_only(s.clients[id].local_port) {
        return false;
    }
    let reason = match sts.port {
        Some(port) => format!(
            "This server is only accessible over TLS. Please reconnect using TLS on port {port}."
        ),
        None => "This server is only accessible over TLS.".to_string(),
    };
    s.quit(id, &reason);
    true
}

/// The worker's answer to a server-password check.
pub fn server_pass_checked(s: &mut State, id: ClientId, ok: bool) {
    if ok {
        complete_registration(s, id);
    } else {
        s.numeric(id, ERR_PASSWDMISMATCH, &[], "Password incorrect");
        s.quit(id, "Bad password");
    }
}

/// Registers the client and sends the welcome burst.
fn complete_registration(s: &mut State, id: ClientId) {
    // The nick may have been taken while a password check ran.
    let folded = casemap::fold(s.clients[id].nick());
    match s.nicks.get(folded.as_str()) {
        Some(&other) if other != id => {
            let nick = s.clients[id].nick().to_owned();
            s.numeric(
                id,
                ERR_NICKNAMEINUSE,
                &[&nick],
                "Nickname is already in use",
            );
            s.clients[id].reg.nick = false;
            return;
        }
        _ => {}
    }
    // A K-line refuses the client here, in Ergo's words (and 465).
    if let Some(why) = s.kline_refusal(id) {
        s.numeric(id, ERR_YOUREBANNEDCREEP, &[], &why);
        s.quit(id, &why);
        return;
    }
    // sasl-3.1: registration ends an exchange still under way (906).
    super::sasl::abort_on_registration(s, id);
    s.clients[id].modes.set(UserModes::INVISIBLE, true);
    if s.clients[id].account().is_some() {
        s.clients[id].modes.set(UserModes::REGISTERED, true);
    }
    s.mark_registered(id);
    let cfg = Rc::clone(&s.config);
    let nick = s.clients[id].nick().to_owned();
    let name = &cfg.server.name;
    s.numeric(
        id,
        RPL_WELCOME,
        &[],
        &format!("Welcome to the {} IRC Network {}", cfg.server.network, nick),
    );
    s.numeric(
        id,
        RPL_YOURHOST,
        &[],
        &format!("Your host is {name}, running version {VERSION}"),
    );
    let created = crate::time::human(s.started());
    s.numeric(
        id,
        RPL_CREATED,
        &[],
        &format!("This server was created {created}"),
    );
    s.numeric_opt(
        id,
        RPL_MYINFO,
        &[name, VERSION, "BiorswZ", "CIabehiklmnoqstv", "Iabehkloqv"],
        None,
    );
    send_isupport(s, id);
    let c = &s.clients[id];
    if c.has_cap(caps::WHOAMI) && c.has_cap(caps::CHGHOST) {
        // draft/whoami: the client's own prefix and realname, between the
        // last 005 and 251.
        let (mask, realname) = (c.mask(), c.realname().to_owned());
        s.send_line(id, Some(&mask), "SETNAME", &[], Some(&realname));
    }
    send_lusers(s, id);
    send_motd(s, id);
    let modes = s.clients[id].modes.to_mode_string();
    s.numeric_opt(id, RPL_UMODEIS, &[&modes], None);
    let due = s.clients[id].last_seen + cfg.timeouts.ping;
    s.schedule_deadline(id, due);
    let nick = s.clients[id].nick().to_owned();
    monitor::notify(s, &nick, Some(id));
    let now = s.clock.instant(s.clients[id].last_seen);
    s.start_nick_enforcement(id, now);
    if !s.snotices_wanted() {
        return;
    }
    let c = &s.clients[id];
    let text = format!(
        "Client connected [{}] [u:{}] [h:{}] [ip:{}] [r:{}]",
        c.nick(),
        c.user(),
        c.host(),
        c.ip,
        c.realname()
    );
    s.snotice(snomask::CONNECTS, &text);
}

/// The ISUPPORT tokens for a config.
pub fn isupport_tokens(cfg: &Config) -> Vec<String> {
    let l = &cfg.limits;
    vec![
        format!("AWAYLEN={}", l.awaylen),
        "BOT=B".into(),
        "CASEMAPPING=ascii".into(),
        format!("CHANLIMIT=#:{}", l.chanlimit),
        "CHANMODES=Ibe,k,l,Cimnst".into(),
        format!("CHANNELLEN={}", l.channellen),
        "CHANTYPES=#".into(),
        "ELIST=U".into(),
        "EXCEPTS".into(),
        "INVEX".into(),
        format!("KICKLEN={}", l.kicklen),
        format!("MAXLIST=beI:{MAX_LIST}"),
        format!("MAXTARGETS={MAX_TARGETS}"),
        format!("MODES={MAX_MODES}"),
        format!("MONITOR={MAX_MONITOR}"),
        format!("NETWORK={}", cfg.server.network),
        format!("NICKLEN={}", l.nicklen),
        "PREFIX=(qaohv)~&@%+".into(),
        "STATUSMSG=~&@%+".into(),
        format!(
            "TARGMAX=NAMES:1,LIST:1,KICK:,WHOIS:1,USERHOST:10,PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS},MONITOR:{MAX_MONITOR}"
        ),
        format!("TOPICLEN={}", l.topiclen),
        "UTF8ONLY".into(),
        "WHOX".into(),
    ]
}

/// `ISUPPORT` (draft/extended-isupport, as Ergo): the 005 lines again,
/// also before registration.
pub fn isupport(s: &mut State, id: ClientId, _m: &Message, _now: Instant) -> CmdResult {
    send_isupport(s, id);
    Ok(())
}

/// 005 lines, at most 13 tokens each; inside a `draft/isupport` batch
/// for clients with `draft/extended-isupport` and `batch`.
pub fn send_isupport(s: &mut State, id: ClientId) {
    let batched =
        s.clients[id].has_cap(caps::EXTENDED_ISUPPORT) && s.begin_batch(id, "draft/isupport", &[]);
    let tokens = s.isupport.clone();
    for chunk in tokens.chunks(13) {
        let p: Vec<&str> = chunk.iter().map(String::as_str).collect();
        s.numeric(id, RPL_ISUPPORT, &p, "are supported by this server");
    }
    if batched {
        s.end_batch();
    }
}

/// LUSERS: 251-255, 265, 266.
pub fn send_lusers(s: &mut State, id: ClientId) {
    let total = s.registered_count();
    debug_assert_eq!(
        s.counts,
        crate::state::counts::Counts::walk(s.clients.iter().map(|(_, c)| c))
    );
    let crate::state::counts::Counts {
        unknown,
        invisible,
        opers,
    } = s.counts;
    let chans = s.channels.len();
    let max = s.stats.max_local;
    s.numeric(
        id,
        RPL_LUSERCLIENT,
        &[],
        &format!(
            "There are {} users and {} invisible on 1 server(s)",
            total - invisible,
            invisible
        ),
    );
    s.numeric(
        id,
        RPL_LUSEROP,
        &[&opers.to_string()],
        "IRC Operators online",
    );
    s.numeric(
        id,
        RPL_LUSERUNKNOWN,
        &[&unknown.to_string()],
        "unregistered connections",
    );
    s.numeric(
        id,
        RPL_LUSERCHANNELS,
        &[&chans.to_string()],
        "channels formed",
    );
    s.numeric(
        id,
        RPL_LUSERME,
        &[],
        &format!("I have {total} clients and 0 servers"),
    );
    let (t, m) = (total.to_string(), max.to_string());
    s.numeric(
        id,
        RPL_LOCALUSERS,
        &[&t, &m],
        &format!("Current local users {total}, max {max}"),
    );
    s.numeric(
        id,
        RPL_GLOBALUSERS,
        &[&t, &m],
        &format!("Current global users {total}, max {max}"),
    );
}

/// MOTD: 375, 372…, 376, or 422.
pub fn send_motd(s: &mut State, id: ClientId) {
    let cfg = Rc::clone(&s.config);
    let Some(lines) = &cfg.server.motd else {
        s.numeric(id, ERR_NOMOTD, &[], "MOTD File is missing");
        return;
    };
    s.numeric(
        id,
        RPL_MOTDSTART,
        &[],
        &format!("- {} Message of the day - ", cfg.server.name),
    );
    let mut buf = Vec::with_capacity(lines.len() * 64);
    let nick = s.clients[id].nick().to_owned();
    for l in lines {
        write::numeric(
            &mut buf,
            &cfg.server.name,
            RPL_MOTD,
            &nick,
            &[],
            Some(&format!("- {l}")),
        );
    }
    s.send_bytes(id, &buf);
    s.numeric(id, RPL_ENDOFMOTD, &[], "End of MOTD command");
}

#[cfg(test)]
mod tests {
    use crate::state::testutil::{assert_has, assert_lacks, config, Harness};
    use std::time::Duration;

    #[test]
    fn welcome_burst_in_order() {
        let mut h = Harness::new();
        let id = h.connect();
        h.line(id, "CAP LS 302");
        h.line(id, "NICK alice");
        h.line(id, "USER alice 0 * :Alice A");
        assert!(!h.s.clients[id].registered, "held until CAP END");
        h.line(id, "JOIN :");
        let out = h.take(id);
        assert_has(&out, "CAP * LS :");
        assert_has(&out, ":pico.test 451 alice :You need to register");
        h.line(id, "CAP END");
        let out = h.take(id);
        let nums: Vec<&str> = out.iter().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(&nums[..4], ["001", "002", "003", "004"]);
        assert_eq!(
            out[0],
            ":pico.test 001 alice :Welcome to the PicoNet IRC Network alice"
        );
        assert_has(&out, "PREFIX=(qaohv)~&@%+");
        assert_has(&out, "CASEMAPPING=ascii");
        assert_has(&out, " 251 alice ");
        assert_has(&out, " 375 alice :- pico.test Message of the day - ");
        assert_has(&out, " 372 alice :- hello");
        assert_has(&out, " 376 alice :End of MOTD command");
        assert_eq!(out.last().unwrap(), ":pico.test 221 alice +i");
    }

    #[test]
    fn nick_rules_and_collisions() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.connect();
        h.line(b, "NICK Alice");
        assert_has(&h.take(b), " 433 * Alice :Nickname is already in use");
        h.line(b, "NICK 1bad");
        assert_has(&h.take(b), " 432 * 1bad :Erroneous nickname");
        h.line(b, "NICK");
        assert_has(&h.take(b), " 431 * :No nickname given");
        h.line(a, "NICK ALICE");
        assert_has(&h.take(a), ":alice!~alice@");
        assert_eq!(h.s.clients[a].nick(), "ALICE");
    }

    #[test]
    fn server_password_is_checked_off_loop() {
        let mut cfg = config();
        cfg.server.password = Some(bcrypt::hash("sesame", 4).unwrap());
        let mut h = Harness::with_config(cfg);
        let ok = h.connect();
        h.s.handle_line(ok, b"PASS sesame", h.now);
        h.s.handle_line(ok, b"NICK a", h.now);
        h.s.handle_line(ok, b"USER a 0 * :a", h.now);
        assert_eq!(h.s.jobs.len(), 1, "bcrypt goes to the worker");
        assert!(!h.s.clients[ok].registered);
        h.run_jobs();
        assert!(h.s.clients[ok].registered);
        let bad = h.connect();
        h.line(bad, "PASS wrong");
        h.line(bad, "NICK b");
        h.line(bad, "USER b 0 * :b");
        let out = h.take(bad);
        assert_has(&out, " 464 b :Password incorrect");
        assert_has(&out, "ERROR :Bad password");
        assert!(h.s.clients[bad].dead);
    }

    #[test]
    fn registration_and_ping_timeouts() {
        let mut h = Harness::new();
        let idle = h.connect();
        let a = h.client("alice");
        h.advance(Duration::from_secs(61));
        assert_has(&h.take(idle), "ERROR :Registration timed out");
        h.advance(Duration::from_secs(30));
        assert_has(&h.take(a), "PING :pico.test");
        h.line(a, "PONG :pico.test");
        h.advance(Duration::from_secs(89));
        assert_lacks(&h.take(a), "PING");
        h.advance(Duration::from_secs(2));
        assert_has(&h.take(a), "PING");
        h.advance(Duration::from_secs(60));
        assert_has(&h.take(a), "ERROR :Ping timeout: 150 seconds");
    }

    #[test]
    fn one_deadline_entry_per_client_and_departed_ones_are_dropped() {
        let mut h = Harness::new();
        let ids: Vec<_> = (0..300).map(|i| h.client(&format!("u{i}"))).collect();
        // Registration replaced the registration deadline: one live entry
        // each, and the stale one is not re-armed when it comes up.
        h.advance(Duration::from_secs(61));
        let live = |h: &Harness| {
            h.s.clients
                .iter()
                .filter(|(_, c)| c.timer_due != crate::state::clock::Stamp(0))
                .count()
        };
        assert_eq!(live(&h), 300);
        assert!(h.s.timers.len() <= 2 * 300, "{}", h.s.timers.len());
        h.advance(Duration::from_secs(60));
        assert!(h.s.timers.len() <= 2 * 300, "{}", h.s.timers.len());
        // Everyone leaves: their entries do not wait minutes for their deadlines.
        for id in ids {
            h.s.remove_client(id, "gone");
        }
        assert!(h.s.timers.len() <= 64, "{}", h.s.timers.len());
    }

    /// The harness config with `[sts]` on: port 6697, 30 days; `only`:
    /// the sts-only ports (the harness connects on 6667).
    fn sts_config(only: &[u16]) -> crate::config::Config {
        let mut cfg = config();
        cfg.sts = crate::config::StsConfig {
            enabled: true,
            port: Some(6697),
            duration: Duration::from_secs(2_592_000),
            preload: false,
            only_ports: only.to_vec(),
        };
        cfg
    }

    /// The words of a (possibly multi-line) `CAP LS` reply.
    fn ls_reply(out: &[String]) -> Vec<String> {
        out.iter()
            .filter(|l| l.contains(" CAP * LS "))
            .flat_map(|l| l[l.find(" :").expect("trailing") + 2..].split(' '))
            .map(String::from)
            .collect()
    }

    /// The `sts` word of a `CAP LS` reply, if offered.
    fn sts_word(out: &[String]) -> Option<String> {
        let words = ls_reply(out);
        assert!(words.len() > 20, "{out:?}");
        words
            .into_iter()
            .find(|w| w.split('=').next() == Some("sts"))
    }

    /// A connection to the TLS port (user mode +Z).
    fn connect_tls(h: &mut Harness) -> crate::state::ClientId {
        h.s.add_client("127.0.1.1".parse().unwrap(), 6697, true, h.now)
    }

    #[test]
    fn sts_value_depends_on_the_connection() {
        let mut h = Harness::with_config(sts_config(&[]));
        let plain = h.connect();
        h.line(plain, "CAP LS 302");
        let out = h.take(plain);
        assert_eq!(sts_word(&out).as_deref(), Some("sts=port=6697"));
        let tls = connect_tls(&mut h);
        h.line(tls, "CAP LS 302");
        let out = h.take(tls);
        assert_eq!(sts_word(&out).as_deref(), Some("sts=duration=2592000"));
        // No values before 302: the bare name.
        let old = h.connect();
        h.line(old, "CAP LS");
        let out = h.take(old);
        assert_eq!(out.len(), 1, "one line before 302");
        assert_eq!(sts_word(&out).as_deref(), Some("sts"));
        // preload is added to both forms.
        let mut cfg = sts_config(&[]);
        cfg.sts.preload = true;
        let mut h = Harness::with_config(cfg);
        let (plain, tls) = (h.connect(), connect_tls(&mut h));
        h.line(plain, "CAP LS 302");
        h.line(tls, "CAP LS 302");
        let (p, t) = (h.take(plain), h.take(tls));
        assert_eq!(sts_word(&p).as_deref(), Some("sts=port=6697,preload"));
        assert_eq!(
            sts_word(&t).as_deref(),
            Some("sts=duration=2592000,preload")
        );
    }

    #[test]
    fn sts_is_not_offered_when_disabled_and_never_acked() {
        let mut h = Harness::new();
        let a = h.connect();
        h.line(a, "CAP LS 302");
        let out = h.take(a);
        assert_eq!(sts_word(&out), None);
        assert!(ls_reply(&out).contains(&"standard-replies".to_string()));
        let mut h = Harness::with_config(sts_config(&[]));
        let a = h.connect();
        h.line(a, "CAP REQ :sts");
        assert_eq!(h.take(a), [":pico.test CAP * NAK :sts"]);
        // REQ is all or nothing: batch is not turned on either.
        h.line(a, "CAP REQ :batch sts");
        assert_eq!(h.take(a), [":pico.test CAP * NAK :batch sts"]);
        assert_eq!(h.s.clients[a].caps & crate::proto::caps::BATCH, 0);
        h.line(a, "CAP LIST");
        assert_eq!(h.take(a), [":pico.test CAP * LIST :"]);
    }

    #[test]
    fn an_sts_only_listener_only_redirects() {
        let mut h = Harness::with_config(sts_config(&[6667]));
        let a = h.connect();
        h.line(a, "CAP LS 302");
        assert_eq!(h.take(a), [":pico.test CAP * LS :sts=port=6697"]);
        h.line(a, "CAP REQ :batch");
        assert_eq!(h.take(a), [":pico.test CAP * NAK :batch"]);
        h.line(a, "CAP END");
        assert_eq!(
            h.take(a),
            ["ERROR :This server is only accessible over TLS. Please reconnect using TLS on port 6697."]
        );
        assert!(h.s.clients[a].dead && !h.s.clients[a].registered);
        // Without CAP: refused once NICK and USER are both in.
        let b = h.connect();
        h.line(b, "NICK bob");
        assert!(!h.s.clients[b].dead, "NICK alone is not registering");
        h.line(b, "USER bob 0 * :Bob");
        let out = h.take(b);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].starts_with("ERROR :This server is only accessible over TLS."));
        assert!(h.s.clients[b].dead && !h.s.clients[b].registered);
        assert!(h.s.find_nick("bob").is_none(), "the nick is free again");
        // The TLS port registers as usual.
        let t = connect_tls(&mut h);
        h.line(t, "NICK tess");
        h.line(t, "USER tess 0 * :Tess");
        assert!(h.s.clients[t].registered);
        assert_has(&h.take(t), " 001 tess ");
    }

    #[test]
    fn quit_reaches_peers_once() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(a, "JOIN #x,#y");
        h.line(b, "JOIN #x,#y");
        h.take(a);
        h.line(b, "QUIT :bye");
        let out = h.take(a);
        assert_eq!(
            out.iter()
                .filter(|l| l.contains(" QUIT :Quit: bye"))
                .count(),
            1,
            "{out:?}"
        );
        assert_has(&h.take(b), "ERROR :Quit: bye");
    }
}
