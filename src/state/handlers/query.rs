//! Queries about users and about the server: WHO (with WHOX), WHOIS,
//! WHOWAS, ISON, USERHOST, LUSERS, MOTD, VERSION, TIME, ADMIN, INFO, HELP.
//!
//! These handlers change nothing but reply queues. Two helpers decide what
//! a reply may reveal, so every command answers the same way: `sees_ip`
//! (a real address goes to opers and to the client itself only; everyone
//! else sees the cloak, or `255.255.255.255` in WHOX) and `visible_oper`
//! (hidden opers are opers to other opers only). Invisible (+i) users, and
//! their channels in WHOIS, show only to people sharing a channel with
//! them, and to opers. Wording follows Ergo where clients or bots parse it.
//! Imports `proto`, `state`, `limits` and `time` (formatting).

use std::time::Instant;

use crate::limits::MAX_TARGETS;
use crate::proto::numeric::*;
use crate::proto::{caps, casemap, mask, Message};
use crate::state::channel::{flag, prefix};
use crate::state::client::{Client, OperSession, UserModes};
use crate::state::dispatch::COMMANDS;
use crate::state::error::{CmdError, CmdResult};
use crate::state::handlers::registration::{send_isupport, send_lusers, send_motd, VERSION};
use crate::state::services;
use crate::state::{ChanId, ClientId, State};

/// What WHOX shows to a non-oper in place of another client's address (Ergo).
const HIDDEN_IP: &str = "255.255.255.255";
/// Replies that list words (319, 302, 303) are split at this many bytes of
/// text, well under the 512-byte line with its prefix and nick.
const TEXT_BUDGET: usize = 400;
/// How many nicks one USERHOST answers (`TARGMAX=USERHOST:10` in ISUPPORT).
const USERHOST_MAX: usize = 10;
/// How many nicks one ISON looks up.
const ISON_MAX: usize = 64;

// ----- shared visibility rules -------------------------------------------

/// May `asker` see `target`'s real IP? Opers and the client itself only.
fn sees_ip(s: &State, asker: ClientId, target: ClientId) -> bool {
    asker == target || s.clients[asker].is_oper()
}

/// `target`'s oper session as `asker` may see it: a hidden oper is an
/// oper to other opers only.
fn visible_oper(asker_is_oper: bool, target: &Client) -> Option<&OperSession> {
    target
        .oper
        .as_deref()
        .filter(|o| !o.hidden || asker_is_oper)
}

/// The member prefix shown for `bits`: the highest one, or all of them
/// for a client with `multi-prefix`.
fn member_prefix(bits: u8, multi: bool) -> String {
    if multi {
        prefix::all_chars(bits)
    } else {
        prefix::highest(bits).map(String::from).unwrap_or_default()
    }
}

/// The registered, live client using `nick`.
fn find_user(s: &State, nick: &str) -> Option<ClientId> {
    s.find_nick(nick)
        .filter(|&t| s.clients[t].registered && !s.clients[t].dead)
}

/// `Err(402)` when `target` names a server other than this one (`*` globs
/// allowed); an empty target means this server.
fn check_server(s: &State, target: &str) -> CmdResult {
    if target.is_empty() || mask::matches(target, s.server_name()) {
        return Ok(());
    }
    Err(CmdError::Numeric(
        ERR_NOSUCHSERVER,
        vec![target.to_string()],
        "No such server".into(),
    ))
}

/// Splits words into lines of at most `TEXT_BUDGET` bytes.
fn word_lines(words: &[String]) -> Vec<String> {
    let mut lines = vec![String::new()];
    for w in words {
        let cur = lines.last_mut().expect("never empty");
        if !cur.is_empty() && cur.len() + 1 + w.len() > TEXT_BUDGET {
            lines.push(w.clone());
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
    }
    lines
}

// ----- WHO ---------------------------------------------------------------

/// WHOX fields in the order they are written (IRCv3 WHOX).
const WHOX_FIELDS: &[u8] = b"tcuihsnfdlaor";

/// The second WHO parameter: `[<flags>][%<fields>[,<token>]]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct WhoQuery {
    /// `o`: operators only.
    opers_only: bool,
    /// `%` was given: answer with 354 and `fields`.
    whox: bool,
    /// Bit `i` set = `WHOX_FIELDS[i]` asked for.
    fields: u16,
    /// The query type echoed in the `t` field: 1-3 digits, else "0".
    token: String,
}

impl WhoQuery {
    fn parse(param: &str) -> WhoQuery {
        let (flags, whox) = match param.split_once('%') {
            Some((f, w)) => (f, Some(w)),
            None => (param, None),
        };
        let mut q = WhoQuery {
            opers_only: flags.contains('o'),
            whox: whox.is_some(),
            ..WhoQuery::default()
        };
        if let Some(w) = whox {
            let (fields, token) = w.split_once(',').unwrap_or((w, ""));
            for b in fields.bytes() {
                if let Some(i) = WHOX_FIELDS
                    .iter()
                    .position(|&f| f == b.to_ascii_lowercase())
                {
                    q.fields |= 1 << i;
                }
            }
            let valid = (1..=3).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_digit());
            q.token = if valid {
                token.to_string()
            } else {
                "0".to_string()
            };
        }
        q
    }

    fn has(&self, field: u8) -> bool {
        WHOX_FIELDS
            .iter()
            .position(|&f| f == field)
            .is_some_and(|i| self.fields & (1 << i) != 0)
    }
}

/// `WHO [<mask> [<flags>[%<fields>[,<token>]]]]`
///
/// A channel lists its members (invisible ones only to members and opers;
/// a secret channel lists nobody to outsiders). An exact nick answers for
/// that user, as Modern IRC says. Any other mask is matched against
/// `nick!user@host` (`mask::normalize` completes it; for opers also against
/// `nick!user@ip`) and lists the visible users: not +i, or sharing a
/// channel, or everyone for an oper.
pub fn who(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let shown_mask = match m.param(0) {
        "" => "*",
        p => p,
    };
    let query = WhoQuery::parse(m.param(1));
    let asker_oper = s.clients[id].is_oper();
    let mut rows: Vec<(Option<ChanId>, ClientId)> = Vec::new();
    if casemap::is_channel(shown_mask) {
        if let Some(chan) = s.find_channel(shown_mask) {
            let ch = &s.channels[chan];
            let joined = ch.is_member(id);
            if joined || asker_oper || !ch.has(flag::SECRET) {
                for mb in &ch.members {
                    let invisible = s.clients[mb.id].modes.has(UserModes::INVISIBLE);
                    if joined || asker_oper || !invisible {
                        rows.push((Some(chan), mb.id));
                    }
                }
            }
        }
    } else if !shown_mask.contains(['*', '?', '!', '@']) {
        if let Some(t) = find_user(s, shown_mask) {
            rows.push((None, t));
        }
    } else {
        let pattern = mask::normalize(shown_mask);
        let mut friends = s.common_peers(id, true);
        friends.sort_unstable();
        for (t, c) in &s.clients {
            // Opers may also search by real address; for anyone else a
            // match on it would reveal the address behind a cloak.
            let matched = mask::matches(&pattern, &c.mask())
                || (asker_oper && mask::matches(&pattern, &c.ip_mask()));
            if !c.registered || c.dead || !matched {
                continue;
            }
            let visible = !c.modes.has(UserModes::INVISIBLE) || friends.binary_search(&t).is_ok();
            if asker_oper || visible {
                rows.push((None, t));
            }
        }
    }
    if query.opers_only {
        rows.retain(|&(_, t)| visible_oper(asker_oper, &s.clients[t]).is_some());
    }
    for (chan, t) in rows {
        who_reply(s, id, chan, t, &query, now);
    }
    s.numeric(id, RPL_ENDOFWHO, &[shown_mask], "End of WHO list");
    Ok(())
}

/// One 352 (or 354 for WHOX) about `t`, seen by `id`.
fn who_reply(
    s: &mut State,
    id: ClientId,
    chan: Option<ChanId>,
    t: ClientId,
    q: &WhoQuery,
    now: Instant,
) {
    let asker = &s.clients[id];
    let multi = asker.has_cap(caps::MULTI_PREFIX);
    let c = &s.clients[t];
    // Flags: H/G, `*` for a (visible) oper, the member prefix, then B for a
    // bot, the order Modern IRC gives and Ergo writes.
    let mut flags = String::from(if c.away().is_some() { "G" } else { "H" });
    if visible_oper(asker.is_oper(), c).is_some() {
        flags.push('*');
    }
    let chan_name = match chan {
        Some(ch) => {
            let ch = &s.channels[ch];
            flags.push_str(&member_prefix(ch.prefix_of(t).unwrap_or(0), multi));
            ch.name.clone()
        }
        None => "*".to_string(),
    };
    if c.modes.has(UserModes::BOT) {
        flags.push('B');
    }
    let server = s.config.server.name.clone();
    if !q.whox {
        let middle = [
            chan_name.as_str(),
            c.user(),
            c.host(),
            &server,
            c.nick(),
            &flags,
        ]
        .map(String::from);
        let trailing = format!("0 {}", c.realname());
        let middle: Vec<&str> = middle.iter().map(String::as_str).collect();
        s.numeric(id, RPL_WHOREPLY, &middle, &trailing);
        return;
    }
    let mut params: Vec<String> = Vec::with_capacity(WHOX_FIELDS.len());
    for &f in WHOX_FIELDS {
        if !q.has(f) {
            continue;
        }
        params.push(match f {
            b't' => q.token.clone(),
            b'c' => chan_name.clone(),
            b'u' => c.user().to_owned(),
            b'i' if sees_ip(s, id, t) => c.ip.to_string(),
            b'i' => HIDDEN_IP.to_string(),
            b'h' => c.host().to_owned(),
            b's' => server.clone(),
            b'n' => c.nick().to_owned(),
            b'f' => flags.clone(),
            b'd' => "0".to_string(),
            b'l' => s
                .clock
                .stamp(now)
                .since(c.last_message)
                .as_secs()
                .to_string(),
            // No accounts yet: WHOX writes "0" for "not logged in".
            b'a' => "0".to_string(),
            // Channel op levels do not exist (Ergo writes `*` too).
            b'o' => "*".to_string(),
            _ => c.realname().to_owned(),
        });
    }
    // The real name, when asked for, is last (fixed order) and may hold
    // spaces: it goes as the trailing parameter.
    let trailing = if q.has(b'r') { params.pop() } else { None };
    let middle: Vec<&str> = params.iter().map(String::as_str).collect();
    s.numeric_opt(id, RPL_WHOSPCRPL, &middle, trailing.as_deref());
}

// ----- WHOIS / WHOWAS ----------------------------------------------------

/// `WHOIS [<server>] <nick>{,<nick>}` (only the first nick: `TARGMAX=WHOIS:1`)
///
/// 311, 319, 312, 301, 313, 335, 671, 338, 317, then 318; an unknown nick
/// gets 401 then 318.
pub fn whois(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let list = if m.params.len() > 1 {
        m.param(1)
    } else {
        m.param(0)
    };
    let nick = list.split(',').find(|n| !n.is_empty()).unwrap_or(list);
    match (find_user(s, nick), services::by_nick(nick)) {
        (Some(t), _) => send_whois(s, id, t, now),
        (None, Some(svc)) => {
            // A service, shown as Ergo shows it.
            let realname = format!("Network service, for more info /msg {} HELP", svc.name);
            s.numeric(
                id,
                RPL_WHOISUSER,
                &[svc.name, svc.name, services::HOST, "*"],
                &realname,
            );
            let (server, network) = (
                s.config.server.name.clone(),
                s.config.server.network.clone(),
            );
            s.numeric(id, RPL_WHOISSERVER, &[svc.name, &server], &network);
        }
        (None, None) => s.reply_error(id, &CmdError::NoSuchNick(nick.to_string())),
    }
    s.numeric(id, RPL_ENDOFWHOIS, &[nick], "End of /WHOIS list");
    Ok(())
}

/// The WHOIS lines about `t` (without 318), as `id` may see them.
fn send_whois(s: &mut State, id: ClientId, t: ClientId, now: Instant) {
    let asker = &s.clients[id];
    let asker_oper = asker.is_oper();
    let multi = asker.has_cap(caps::MULTI_PREFIX);
    let c = &s.clients[t];
    let nick = c.nick().to_owned();
    let (user, host, realname) = (
        c.user().to_owned(),
        c.host().to_owned(),
        c.realname().to_owned(),
    );
    // Channels: all of them to opers and to the client itself; otherwise a
    // secret channel, or any channel of an invisible user, only when the
    // asker is on it too (Ergo's rule).
    let invisible = c.modes.has(UserModes::INVISIBLE);
    let chans: Vec<String> = c
        .channels
        .iter()
        .filter_map(|&chan| {
            let ch = &s.channels[chan];
            let private = invisible || ch.has(flag::SECRET);
            if private && !asker_oper && !ch.is_member(id) {
                return None;
            }
            let bits = ch.prefix_of(t).unwrap_or(0);
            Some(format!("{}{}", member_prefix(bits, multi), ch.name))
        })
        .collect();
    let away = c.away().map(str::to_owned);
    let oper_line = visible_oper(asker_oper, c).map(|o| {
        o.whois_line
            .clone()
            .unwrap_or_else(|| "is an IRC operator".into())
    });
    let bot = c.modes.has(UserModes::BOT);
    let account = c.account().map(str::to_owned);
    let tls = c.modes.has(UserModes::TLS);
    let actual = sees_ip(s, id, t).then(|| c.ip.to_string());
    // Ergo shows the fingerprint to the user and to opers, as the IP.
    let certfp = c.certfp().filter(|_| actual.is_some()).map(str::to_owned);
    let idle = s
        .clock
        .stamp(now)
        .since(c.last_message)
        .as_secs()
        .to_string();
    let signon = c.signon.to_string();
    let server = s.config.server.name.clone();
    let network = s.config.server.network.clone();

    s.numeric(id, RPL_WHOISUSER, &[&nick, &user, &host, "*"], &realname);
    if !chans.is_empty() {
        for line in word_lines(&chans) {
            s.numeric(id, RPL_WHOISCHANNELS, &[&nick], &line);
        }
    }
    s.numeric(id, RPL_WHOISSERVER, &[&nick, &server], &network);
    if let Some(text) = away {
        s.numeric(id, RPL_AWAY, &[&nick], &text);
    }
    if let Some(line) = oper_line {
        s.numeric(id, RPL_WHOISOPERATOR, &[&nick], &line);
    }
    if let Some(account) = account {
        s.numeric(id, RPL_WHOISACCOUNT, &[&nick, &account], "is logged in as");
    }
    if bot {
        // Ergo's wording, bold and all: bots and scripts match on it.
        let text = format!("is a \x02Bot\x02 on {}", s.config.server.network);
        s.numeric(id, RPL_WHOISBOT, &[&nick], &text);
    }
    if tls {
        s.numeric(
            id,
            RPL_WHOISSECURE,
            &[&nick],
            "is using a secure connection",
        );
    }
    if let Some(fp) = certfp {
        let text = format!("has client certificate fingerprint {fp}");
        s.numeric(id, RPL_WHOISCERTFP, &[&nick], &text);
    }
    if let Some(ip) = actual {
        // Ergo's form: `<nick> <user>@<real host> <ip>`; without reverse
        // DNS the real host is the IP.
        let real = format!("{user}@{ip}");
        s.numeric(
            id,
            RPL_WHOISACTUALLY,
            &[&nick, &real, &ip],
            "Actual user@host, Actual IP",
        );
    }
    s.numeric(
        id,
        RPL_WHOISIDLE,
        &[&nick, &idle, &signon],
        "seconds idle, signon time",
    );
}

/// `WHOWAS <nick>{,<nick>} [<count>]`
///
/// Newest first; a count of 0, a negative one or none means every entry.
/// Each entry is 314 then 312 with the time the nick was left; unknown
/// nicks get 406; 369 ends the list.
pub fn whowas(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let list = m.param(0);
    let count: usize = m
        .param(1)
        .parse::<i64>()
        .ok()
        .filter(|&n| n > 0)
        .map_or(0, |n| n as usize);
    let server = s.config.server.name.clone();
    for nick in list.split(',').filter(|n| !n.is_empty()).take(MAX_TARGETS) {
        let found: Vec<_> = s
            .whowas
            .iter()
            .filter(|e| casemap::eq(&e.nick, nick))
            .take(if count == 0 { usize::MAX } else { count })
            .cloned()
            .collect();
        if found.is_empty() {
            s.numeric(id, ERR_WASNOSUCHNICK, &[nick], "There was no such nickname");
            continue;
        }
        for e in found {
            s.numeric(
                id,
                RPL_WHOWASUSER,
                &[&e.nick, &e.user, &e.host, "*"],
                &e.realname,
            );
            let when = crate::time::human(e.when);
            s.numeric(id, RPL_WHOISSERVER, &[&e.nick, &server], &when);
        }
    }
    s.numeric(id, RPL_ENDOFWHOWAS, &[list], "End of WHOWAS");
    Ok(())
}

// ----- ISON / USERHOST ---------------------------------------------------

/// `ISON <nick>{ <nick>}`
///
/// Nicks may come as several parameters or space-separated in one; the
/// answer gives the online ones with their current case.
pub fn ison(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let mut online = String::new();
    let nicks = m
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter(|n| !n.is_empty());
    for nick in nicks.take(ISON_MAX) {
        let Some(t) = find_user(s, nick) else {
            continue;
        };
        let current = s.clients[t].nick();
        if online.len() + 1 + current.len() > TEXT_BUDGET {
            break;
        }
        if !online.is_empty() {
            online.push(' ');
        }
        online.push_str(current);
    }
    s.numeric(id, RPL_ISON, &[], &online);
    Ok(())
}

/// `USERHOST <nick>{ <nick>}`
///
/// `nick[*]=(+|-)user@host` per online nick: `*` for a visible oper, `-`
/// when away; the host is the one everyone sees.
pub fn userhost(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let asker_oper = s.clients[id].is_oper();
    let mut seen: Vec<ClientId> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let nicks = m
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter(|n| !n.is_empty());
    for nick in nicks.take(USERHOST_MAX) {
        let Some(t) = find_user(s, nick) else {
            continue;
        };
        if seen.contains(&t) {
            continue;
        }
        seen.push(t);
        let c = &s.clients[t];
        let oper = if visible_oper(asker_oper, c).is_some() {
            "*"
        } else {
            ""
        };
        let away = if c.away().is_some() { '-' } else { '+' };
        words.push(format!(
            "{}{oper}={away}{}@{}",
            c.nick(),
            c.user(),
            c.host()
        ));
    }
    for line in word_lines(&words) {
        s.numeric(id, RPL_USERHOST, &[], &line);
    }
    Ok(())
}

// ----- about the server --------------------------------------------------

/// `LUSERS [<mask> [<server>]]` (one server: the parameters change nothing)
pub fn lusers(s: &mut State, id: ClientId, _m: &Message, _now: Instant) -> CmdResult {
    send_lusers(s, id);
    Ok(())
}

/// `MOTD [<server>]`
pub fn motd(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    check_server(s, m.param(0))?;
    send_motd(s, id);
    Ok(())
}

/// `VERSION [<server>]`: 351, then the ISUPPORT lines (as Ergo does).
pub fn version(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    check_server(s, m.param(0))?;
    let server = s.config.server.name.clone();
    s.numeric(
        id,
        RPL_VERSION,
        &[VERSION, &server],
        env!("CARGO_PKG_DESCRIPTION"),
    );
    send_isupport(s, id);
    Ok(())
}

/// `TIME [<server>]`
pub fn time(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    check_server(s, m.param(0))?;
    let server = s.config.server.name.clone();
    let text = crate::time::human(s.now_secs());
    s.numeric(id, RPL_TIME, &[&server], &text);
    Ok(())
}

/// `ADMIN [<server>]`: 256-259 from the config's `[admin]` block.
pub fn admin(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    check_server(s, m.param(0))?;
    let cfg = std::rc::Rc::clone(&s.config);
    s.numeric(id, RPL_ADMINME, &[&cfg.server.name], "Administrative info");
    s.numeric(id, RPL_ADMINLOC1, &[], &cfg.admin.location1);
    s.numeric(id, RPL_ADMINLOC2, &[], &cfg.admin.location2);
    s.numeric(id, RPL_ADMINEMAIL, &[], &cfg.admin.email);
    Ok(())
}

/// `INFO [<server>]`: name and version, what this is, since when it runs.
pub fn info(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    check_server(s, m.param(0))?;
    let up = s.now_secs().saturating_sub(s.started());
    let lines = [
        format!("{} running {VERSION}", s.config.server.name),
        "picoircd is an IRC server for small machines".to_string(),
        format!("On-line since {}", crate::time::human(s.started())),
        format!(
            "Uptime: {} days, {:02}:{:02}:{:02}",
            up / 86_400,
            up / 3600 % 24,
            up / 60 % 60,
            up % 60
        ),
    ];
    for line in &lines {
        s.numeric(id, RPL_INFO, &[], line);
    }
    s.numeric(id, RPL_ENDOFINFO, &[], "End of /INFO");
    Ok(())
}

// ----- HELP --------------------------------------------------------------

/// Help texts, one per command of the dispatch table (a test checks that
/// none is missing). The first line is the syntax; lines are split on `\n`.
static HELP: &[(&str, &str)] = &[
    ("ADMIN", "ADMIN [<server>]\n\nShows who runs this server and how to reach them."),
    (
        "AUTHENTICATE",
        "AUTHENTICATE <mechanism> | AUTHENTICATE <base64 data> | AUTHENTICATE *\n\n\
         Logs in to an account with SASL (PLAIN, EXTERNAL or SCRAM-SHA-256),\n\
         usually before registering. Clients normally do this for you.",
    ),
    (
        "AWAY",
        "AWAY [:<message>]\n\nMarks you as away with <message>; without one (or with an empty\n\
         one), marks you as back. Others see the message when they message you\n\
         or WHOIS you.",
    ),
    (
        "BATCH",
        "BATCH +<ref> draft/multiline <target> | BATCH -<ref>\n\n\
         Sends one message of several lines (IRCv3 draft/multiline): the lines\n\
         between BATCH + and BATCH - (PRIVMSG or NOTICE, tagged batch=<ref>)\n\
         reach <target> together. Clients normally do this for you.",
    ),
    (
        "CAP",
        "CAP LS [<version>] | CAP LIST | CAP REQ :<capabilities> | CAP END\n\n\
         Negotiates IRCv3 capabilities. Clients normally do this for you.",
    ),
    (
        "CHANSERV",
        "CHANSERV <command> [<params>]\n\nTalks to ChanServ, as /msg ChanServ does.\n\
         For its commands, try /CHANSERV HELP.",
    ),
    (
        "CS",
        "CS <command> [<params>]\n\nThe same as CHANSERV.",
    ),
    (
        "DLINE",
        "DLINE [ANDKILL] [MYSELF] [<duration>] <ip>/<net> [ON <server>] [<reason>[|<oper reason>]]\n\
         DLINE LIST\n\nBans an IP address or network from connecting, for <duration> (e.g.\n\
         1h, 30m, 7d) or for good; ANDKILL also disconnects those connected\n\
         from it, MYSELF is needed when it covers your own address (IRC\n\
         operators with the ban capability).",
    ),
    (
        "HELP",
        "HELP [<topic>]\n\nShows help on a command; HELP INDEX lists every command.",
    ),
    (
        "HELPOP",
        "HELPOP [<topic>]\n\nThe same as HELP.",
    ),
    ("INFO", "INFO [<server>]\n\nShows the server's version and how long it has been up."),
    (
        "INVITE",
        "INVITE <nick> <channel>\n\nInvites <nick> to <channel>, letting them in past +i.",
    ),
    (
        "ISON",
        "ISON <nick>{ <nick>}\n\nTells which of the given nicks are online.",
    ),
    (
        "ISUPPORT",
        "ISUPPORT\n\nShows again what this server supports (the 005 lines), also before\n\
         you are registered.",
    ),
    (
        "JOIN",
        "JOIN <channel>{,<channel>} [<key>{,<key>}]\n\nJoins channels, creating those that do not exist. JOIN 0 leaves\n\
         every channel.",
    ),
    (
        "KICK",
        "KICK <channel> <nick>{,<nick>} [:<reason>]\n\nRemoves people from a channel (channel operators).",
    ),
    (
        "KILL",
        "KILL <nick> [:<reason>]\n\nDisconnects <nick> from the server (IRC operators).",
    ),
    (
        "KLINE",
        "KLINE [ANDKILL] [MYSELF] [<duration>] <mask> [ON <server>] [<reason>[|<oper reason>]]\n\
         KLINE LIST\n\nBans a nick!user@host mask (or nick, or user@host) from registering,\n\
         for <duration> or for good; ANDKILL also disconnects those it matches,\n\
         MYSELF is needed when it matches you (IRC operators with ban).",
    ),
    (
        "LIST",
        "LIST [<channel>{,<channel>}] [<filter>]\n\nLists channels with their user counts and topics; secret channels\n\
         are hidden. The filter >N or <N keeps channels by user count.",
    ),
    (
        "LUSERS",
        "LUSERS\n\nShows how many users, operators and channels there are.",
    ),
    (
        "MARKREAD",
        "MARKREAD <target> [timestamp=<time>]\n\nSets or shows the time of the last message you read in <target>\n\
         (draft/read-marker). Your clients do this for you.",
    ),
    (
        "MODE",
        "MODE <target> [<modes> [<parameters>]]\n\nShows or changes the modes of a channel or of yourself. User modes:\n\
         +i invisible, +w wallops, +B bot, +s <masks> server notices (opers).\n\
         Channel modes: +b +e +I lists,\n\
         +k key, +l limit, +C +i +m +n +s +t, and +q +a +o +h +v for members.",
    ),
    (
        "MONITOR",
        "MONITOR + <nick>{,<nick>} | - <nick>{,<nick>} | C | L | S\n\n\
         Watches nicks and tells you when they come online or leave.",
    ),
    ("MOTD", "MOTD [<server>]\n\nShows the message of the day."),
    (
        "NAMES",
        "NAMES <channel>\n\nLists the people in a channel.",
    ),
    ("NICK", "NICK <nickname>\n\nChanges your nickname."),
    (
        "NICKSERV",
        "NICKSERV <command> [<params>]\n\nTalks to NickServ, as /msg NickServ does:\n\
         accounts (REGISTER, IDENTIFY, ...). For its commands, try /NICKSERV HELP.",
    ),
    (
        "NOTICE",
        "NOTICE <target>{,<target>} :<text>\n\nLike PRIVMSG, but never answered automatically.",
    ),
    (
        "NS",
        "NS <command> [<params>]\n\nThe same as NICKSERV.",
    ),
    (
        "OPER",
        "OPER <name> [<password>]\n\nLogs you in as an IRC operator (the password may be left out for an\n\
         oper block that only asks for your TLS client certificate).",
    ),
    (
        "PART",
        "PART <channel>{,<channel>} [:<reason>]\n\nLeaves channels.",
    ),
    (
        "PASS",
        "PASS <password>\n\nSends the server password; only before registration.",
    ),
    ("PING", "PING <token>\n\nAsks the server to answer with PONG <token>."),
    ("PONG", "PONG [<server>] <token>\n\nAnswers a PING."),
    (
        "PRIVMSG",
        "PRIVMSG <target>{,<target>} :<text>\n\nSends a message to people or channels. @#channel reaches only the\n\
         channel's operators (and +#channel voiced people and up).",
    ),
    ("QUIT", "QUIT [:<reason>]\n\nLeaves the server."),
    (
        "REGISTER",
        "REGISTER <account|*> <email|*> <password>\n\nRegisters your current nick as an account and logs you in\n\
         (draft/account-registration), also before connection registration.",
    ),
    (
        "REHASH",
        "REHASH\n\nReloads the configuration file (IRC operators).",
    ),
    (
        "RELAYMSG",
        "RELAYMSG <channel> <nick> :<text>\n\nPosts <text> to <channel> as <nick>, which must contain a separator\n\
         such as / (for bridges: channel operators, and opers with relaymsg).",
    ),
    (
        "RENAME",
        "RENAME <channel> <new name> [:<reason>]\n\nRenames a channel, keeping its members, modes and topic (channel\n\
         operators).",
    ),
    (
        "SAJOIN",
        "SAJOIN [<nick>] <channel>{,<channel>}\n\nJoins <nick> (or you) to channels past keys, limits, bans and +i\n\
         (IRC operators with sajoin).",
    ),
    (
        "SAMODE",
        "SAMODE <target> [<modes> [<parameters>]]\n\nChanges a channel's modes without channel rank, or another user's\n\
         modes (IRC operators with samode).",
    ),
    (
        "SANICK",
        "SANICK <nick> <new nick>\n\nChanges someone's nickname (IRC operators with samode).",
    ),
    (
        "SETNAME",
        "SETNAME :<realname>\n\nChanges your real name (the setname capability tells others).",
    ),
    (
        "TAGMSG",
        "TAGMSG <target>{,<target>}\n\nSends only tags (such as +draft/typing) to clients with the message-tags capability.",
    ),
    ("TIME", "TIME [<server>]\n\nShows the server's time."),
    (
        "TOPIC",
        "TOPIC <channel> [:<topic>]\n\nShows or sets a channel's topic; an empty topic clears it.",
    ),
    (
        "UNDLINE",
        "UNDLINE <ip>/<net>\n\nRemoves a D-line (IRC operators with ban).",
    ),
    (
        "UNKLINE",
        "UNKLINE <mask>\n\nRemoves a K-line (IRC operators with ban).",
    ),
    (
        "USER",
        "USER <username> <mode> <unused> :<realname>\n\nSends your user name and real name; only before registration.",
    ),
    (
        "USERHOST",
        "USERHOST <nick>{ <nick>}\n\nShows the user@host of up to 10 nicks; * marks an operator, - someone away.",
    ),
    (
        "VERIFY",
        "VERIFY <account> <code>\n\nCompletes a registration that needs a verification code\n\
         (draft/account-registration); none does on this server.",
    ),
    (
        "VERSION",
        "VERSION [<server>]\n\nShows the server's version and the features it supports.",
    ),
    (
        "WALLOPS",
        "WALLOPS :<text>\n\nSends <text> to everyone with user mode +w (IRC operators).",
    ),
    (
        "WHO",
        "WHO <mask> [<flags>[%<fields>[,<token>]]]\n\nLists the people in a channel or those whose nick!user@host matches\n\
         <mask>. The flag o keeps operators only; %<fields> asks for WHOX\n\
         replies (fields tcuihsnfdlaor).",
    ),
    (
        "WHOIS",
        "WHOIS [<server>] <nick>\n\nShows information about someone.",
    ),
    (
        "WHOWAS",
        "WHOWAS <nick> [<count>]\n\nShows information about someone who used <nick> before.",
    ),
];

/// The help text for `topic` (any case); `INDEX` lists every command.
fn help_text(topic: &str) -> Option<String> {
    if topic.eq_ignore_ascii_case("INDEX") {
        let names: Vec<String> = COMMANDS.iter().map(|c| c.name.to_string()).collect();
        let mut text = String::from("HELP <command>\n\nShows help on one of these commands:\n");
        for row in names.chunks(8) {
            text.push('\n');
            text.push_str(&row.join(" "));
        }
        return Some(text);
    }
    HELP.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(topic))
        .map(|(_, text)| text.to_string())
}

/// `HELP [<topic>]` / `HELPOP [<topic>]`
///
/// 704 with the first line, 705 for the rest, 706 to end; no topic shows
/// the index under `*` (Modern IRC); an unknown topic gets 524.
pub fn help(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let asked = m.param(0);
    let (shown, text) = if asked.is_empty() {
        ("*".to_string(), help_text("INDEX"))
    } else {
        (asked.to_ascii_uppercase(), help_text(asked))
    };
    let Some(text) = text else {
        return Err(CmdError::Numeric(
            ERR_HELPNOTFOUND,
            vec![shown],
            "Help not found".into(),
        ));
    };
    for (i, line) in text.split('\n').enumerate() {
        let num = if i == 0 { RPL_HELPSTART } else { RPL_HELPTXT };
        s.numeric(id, num, &[&shown], line);
    }
    s.numeric(id, RPL_ENDOFHELP, &[&shown], "End of /HELPOP");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::{assert_has, assert_lacks, Harness};

    fn host(h: &Harness, id: ClientId) -> String {
        h.s.clients[id].host().to_owned()
    }

    fn ip(h: &Harness, id: ClientId) -> String {
        h.s.clients[id].ip.to_string()
    }

    #[test]
    fn who_channel_lists_members_with_flags() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.put_in(a, "#pi", prefix::OP | prefix::VOICE);
        h.put_in(b, "#pi", 0);
        h.s.clients[b].extra_mut().away = Some("lunch".into());
        h.s.clients[b].modes.set(UserModes::BOT, true);
        h.line(a, "WHO #pi");
        let (ha, hb) = (host(&h, a), host(&h, b));
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 352 alice #pi ~alice {ha} pico.test alice H@ :0 alice real"),
                format!(":pico.test 352 alice #pi ~bob {hb} pico.test bob GB :0 bob real"),
                ":pico.test 315 alice #pi :End of WHO list".to_string(),
            ]
        );
        h.s.clients[a].caps |= caps::MULTI_PREFIX;
        h.line(a, "WHO #PI");
        assert_has(&h.take(a), " 352 alice #pi ~alice ");
        h.line(a, "WHO #pi");
        assert_has(&h.take(a), " alice H@+ :0 alice real");
    }

    #[test]
    fn who_hides_invisible_and_secret_from_outsiders() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let out = h.client("eve");
        let chan = h.put_in(a, "#pi", 0);
        h.put_in(b, "#pi", 0);
        h.s.clients[b].modes.set(UserModes::INVISIBLE, false);
        // alice is +i (the default): outsiders see only bob.
        h.line(out, "WHO #pi");
        let lines = h.take(out);
        assert_lacks(&lines, " alice ");
        assert_has(&lines, " 352 eve #pi ~bob ");
        h.s.channels[chan].flags |= flag::SECRET;
        h.line(out, "WHO #pi");
        assert_eq!(h.take(out), [":pico.test 315 eve #pi :End of WHO list"]);
        // Unknown channel: just the end.
        h.line(out, "WHO #nope");
        assert_eq!(h.take(out), [":pico.test 315 eve #nope :End of WHO list"]);
        // Opers see everyone.
        h.make_oper(out);
        h.line(out, "WHO #pi");
        let lines = h.take(out);
        assert_has(&lines, " 352 eve #pi ~alice ");
        assert_has(&lines, " 352 eve #pi ~bob ");
    }

    #[test]
    fn who_mask_matches_nickmask_of_visible_users() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("bobby");
        h.s.clients[b].modes.set(UserModes::INVISIBLE, false);
        // bobby is +i and shares no channel with alice: hidden.
        h.line(a, "WHO bob*");
        let hb = host(&h, b);
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 352 alice * ~bob {hb} pico.test bob H :0 bob real"),
                ":pico.test 315 alice bob* :End of WHO list".to_string(),
            ]
        );
        // Sharing a channel makes an invisible user visible.
        h.put_in(a, "#x", 0);
        h.put_in(c, "#x", 0);
        h.line(a, "WHO bob*");
        assert_has(&h.take(a), " 352 alice * ~bobby ");
        // A host mask works too (`*!*@host`), and an exact nick always answers.
        let hc = host(&h, c);
        h.line(b, &format!("WHO *!*@{hc}"));
        assert_lacks(&h.take(b), " 352 ");
        h.s.clients[c].modes.set(UserModes::INVISIBLE, false);
        h.line(b, &format!("WHO *!*@{hc}"));
        assert_has(&h.take(b), " 352 bob * ~bobby ");
        // Only opers may search by real address.
        let ipc = ip(&h, c);
        h.line(b, &format!("WHO *@{ipc}"));
        assert_lacks(&h.take(b), " 352 ");
        h.s.clients[c].modes.set(UserModes::INVISIBLE, true);
        h.line(b, "WHO BOBBY");
        assert_has(&h.take(b), " 352 bob * ~bobby ");
        // Only opers with the `o` flag.
        h.line(a, "WHO * o");
        assert_eq!(h.take(a), [":pico.test 315 alice * :End of WHO list"]);
        h.make_oper(b);
        h.line(b, &format!("WHO *@{ipc}"));
        assert_has(&h.take(b), &format!(" 352 bob * ~bobby {hc} "));
        h.line(a, "WHO * o");
        let lines = h.take(a);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_has(
            &lines,
            " 352 alice * ~bob staff pico.test bob H* :0 bob real",
        );
    }

    #[test]
    fn who_hidden_oper_is_not_starred_for_users() {
        let mut cfg = crate::state::testutil::config();
        cfg.opers[0].hidden = true;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        let b = h.client("bob");
        h.make_oper(b);
        h.line(a, "WHO bob");
        assert_has(&h.take(a), " bob H :0 bob real");
        h.line(a, "WHO bob o");
        assert_lacks(&h.take(a), " 352 ");
        h.line(b, "WHO bob");
        assert_has(&h.take(b), " bob H* :0 bob real");
    }

    #[test]
    fn whox_fields_token_and_no_real_ip_for_users() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.put_in(a, "#pi", 0);
        h.put_in(b, "#pi", prefix::OP);
        let hb = host(&h, b);
        h.line(a, "WHO #pi %tcuihsnfdlaor,42");
        let lines = h.take(a);
        assert_eq!(
            lines[1],
            format!(
                ":pico.test 354 alice 42 #pi ~bob 255.255.255.255 {hb} pico.test bob H@ 0 0 0 * :bob real"
            )
        );
        assert_eq!(lines[2], ":pico.test 315 alice #pi :End of WHO list");
        for l in &lines {
            assert!(!l.contains(&ip(&h, b)), "real IP leaked: {l}");
        }
        // Own IP is shown to oneself (Ergo).
        assert!(
            lines[0].contains(&format!(" ~alice {} ", ip(&h, a))),
            "{}",
            lines[0]
        );
        // Without `r` nothing is trailing; without a valid token `t` is 0.
        h.line(a, "WHO bob %tnf");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 354 alice 0 bob H",
                ":pico.test 315 alice bob :End of WHO list"
            ]
        );
        h.line(a, "WHO bob %ntr,1234");
        assert_eq!(h.take(a)[0], ":pico.test 354 alice 0 bob :bob real");
        // Opers see addresses.
        h.make_oper(a);
        h.line(a, "WHO bob %ni");
        assert_eq!(
            h.take(a)[0],
            format!(":pico.test 354 alice {} bob", ip(&h, b))
        );
    }

    #[test]
    fn who_never_shows_real_ips_to_users() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.put_in(a, "#pi", 0);
        h.put_in(b, "#pi", 0);
        let real = ip(&h, b);
        for q in [
            "WHO #pi",
            "WHO bob",
            "WHO *",
            "WHO #pi %cuihsnfr",
            "WHO bob %i",
        ] {
            h.line(a, q);
            let lines = h.take(a);
            assert_has(&lines, " 315 ");
            for l in &lines {
                assert!(!l.contains(&real), "{q}: real IP in {l}");
            }
        }
        h.line(a, "WHOIS bob");
        for l in h.take(a) {
            assert!(!l.contains(&real), "WHOIS: real IP in {l}");
        }
    }

    #[test]
    fn whox_query_parsing() {
        let q = WhoQuery::parse("o%cnf,7");
        assert!(q.opers_only && q.whox);
        assert!(q.has(b'c') && q.has(b'n') && q.has(b'f') && !q.has(b'r'));
        assert_eq!(q.token, "7");
        assert_eq!(WhoQuery::parse(""), WhoQuery::default());
        assert!(!WhoQuery::parse("%").opers_only);
    }

    #[test]
    fn whois_full_sequence_in_order() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.put_in(a, "#pi", 0);
        h.put_in(b, "#pi", prefix::OP);
        h.put_in(b, "#hidden", 0);
        let secret = h.put_in(b, "#secret", 0);
        h.s.channels[secret].flags |= flag::SECRET;
        h.s.clients[b].modes.set(UserModes::INVISIBLE, false);
        h.make_oper(b);
        h.line(b, "AWAY :gone fishing");
        h.s.clients[b].modes.set(UserModes::BOT, true);
        h.s.clients[b].modes.set(UserModes::TLS, true);
        h.s.set_certfp(b, "ab12");
        h.take(b);
        h.line(a, "WHOIS bob");
        let signon = h.s.clients[b].signon;
        assert_eq!(
            h.take(a),
            [
                ":pico.test 311 alice bob ~bob staff * :bob real".to_string(),
                ":pico.test 319 alice bob :@#pi #hidden".to_string(),
                ":pico.test 312 alice bob pico.test :PicoNet".to_string(),
                ":pico.test 301 alice bob :gone fishing".to_string(),
                ":pico.test 313 alice bob :is a server admin".to_string(),
                ":pico.test 335 alice bob :is a \x02Bot\x02 on PicoNet".to_string(),
                ":pico.test 671 alice bob :is using a secure connection".to_string(),
                format!(":pico.test 317 alice bob 0 {signon} :seconds idle, signon time"),
                ":pico.test 318 alice bob :End of /WHOIS list".to_string(),
            ]
        );
        // Self (and opers) see the actual IP and every channel.
        h.line(b, "WHOIS pico.test BOB,alice");
        let lines = h.take(b);
        let real = ip(&h, b);
        assert_has(&lines, ":pico.test 319 bob bob :@#pi #hidden #secret");
        assert_has(
            &lines,
            ":pico.test 276 bob bob :has client certificate fingerprint ab12",
        );
        assert_has(
            &lines,
            &format!(":pico.test 338 bob bob ~bob@{real} {real} :Actual user@host, Actual IP"),
        );
        assert_eq!(
            lines.last().unwrap(),
            ":pico.test 318 bob BOB :End of /WHOIS list"
        );
    }

    #[test]
    fn whois_invisible_users_channels_only_when_shared() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.put_in(b, "#pi", 0);
        h.put_in(b, "#both", prefix::VOICE);
        h.put_in(a, "#both", 0);
        h.line(a, "WHOIS bob");
        let lines = h.take(a);
        assert_has(&lines, ":pico.test 319 alice bob :+#both");
        assert_lacks(&lines, "#pi");
        assert_lacks(&lines, " 313 ");
        assert_lacks(&lines, " 338 ");
    }

    #[test]
    fn whois_unknown_nick() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "WHOIS nobody");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 401 alice nobody :No such nick",
                ":pico.test 318 alice nobody :End of /WHOIS list"
            ]
        );
        h.line(a, "WHOIS");
        assert_eq!(
            h.take(a),
            [":pico.test 461 alice WHOIS :Not enough parameters"]
        );
    }

    #[test]
    fn whowas_lists_past_nicks() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let hb = host(&h, b);
        h.line(b, "NICK robert");
        h.line(b, "QUIT");
        h.line(a, "WHOWAS bob");
        let when = crate::time::human(h.s.now_secs());
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 314 alice bob ~bob {hb} * :bob real"),
                format!(":pico.test 312 alice bob pico.test :{when}"),
                ":pico.test 369 alice bob :End of WHOWAS".to_string(),
            ]
        );
        h.line(a, "WHOWAS robert 1");
        assert_has(&h.take(a), " 314 alice robert ~bob ");
        h.line(a, "WHOWAS ghost");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 406 alice ghost :There was no such nickname",
                ":pico.test 369 alice ghost :End of WHOWAS"
            ]
        );
        h.line(a, "WHOWAS");
        assert_has(&h.take(a), " 461 alice WHOWAS ");
    }

    #[test]
    fn ison_and_userhost() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("Bob");
        h.client("carol");
        h.line(a, "ISON bob nobody :CAROL alice");
        assert_eq!(h.take(a), [":pico.test 303 alice :Bob carol alice"]);
        h.line(a, "ISON nobody");
        assert_eq!(h.take(a), [":pico.test 303 alice :"]);
        h.line(a, "ISON");
        assert_has(&h.take(a), " 461 alice ISON ");

        h.make_oper(b);
        h.line(b, "AWAY :out");
        h.take(b);
        let ha = host(&h, a);
        h.line(a, "USERHOST bob alice nobody bob");
        assert_eq!(
            h.take(a),
            [format!(
                ":pico.test 302 alice :Bob*=-~Bob@staff alice=+~alice@{ha}"
            )]
        );
        h.line(a, "USERHOST nobody");
        assert_eq!(h.take(a), [":pico.test 302 alice :"]);
        h.line(a, "USERHOST");
        assert_has(&h.take(a), " 461 alice USERHOST ");
    }

    #[test]
    fn lusers_counts_follow_modes_opers_and_quits() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let _pending = h.connect();
        h.make_oper(a);
        h.line(b, "MODE bob -i");
        h.take(b);
        h.line(b, "LUSERS");
        let lines = h.take(b);
        assert_has(
            &lines,
            ":pico.test 251 bob :There are 1 users and 1 invisible on 1 server(s)",
        );
        assert_has(&lines, ":pico.test 252 bob 1 :IRC Operators online");
        assert_has(&lines, ":pico.test 253 bob 1 :unregistered connections");
        h.line(a, "MODE alice -o");
        h.line(a, "QUIT");
        h.line(b, "LUSERS");
        let lines = h.take(b);
        assert_has(
            &lines,
            ":pico.test 251 bob :There are 1 users and 0 invisible on 1 server(s)",
        );
        assert_has(&lines, ":pico.test 252 bob 0 :IRC Operators online");
    }

    #[test]
    fn server_queries() {
        let mut cfg = crate::state::testutil::config();
        cfg.admin.location1 = "Somewhere".into();
        cfg.admin.location2 = "On a Pi".into();
        cfg.admin.email = "root@pico.test".into();
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");

        h.line(a, "LUSERS");
        let lines = h.take(a);
        assert_has(
            &lines,
            ":pico.test 251 alice :There are 0 users and 1 invisible on 1 server(s)",
        );
        assert_has(
            &lines,
            ":pico.test 266 alice 1 1 :Current global users 1, max 1",
        );

        h.line(a, "MOTD");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 375 alice :- pico.test Message of the day - ",
                ":pico.test 372 alice :- hello",
                ":pico.test 376 alice :End of MOTD command"
            ]
        );
        h.line(a, "MOTD other.server");
        assert_eq!(
            h.take(a),
            [":pico.test 402 alice other.server :No such server"]
        );

        h.line(a, "VERSION");
        let lines = h.take(a);
        assert_eq!(
            lines[0],
            format!(
                ":pico.test 351 alice {VERSION} pico.test :{}",
                env!("CARGO_PKG_DESCRIPTION")
            )
        );
        assert!(
            lines[1..].iter().all(|l| l.contains(" 005 alice ")),
            "{lines:?}"
        );
        assert_has(&lines, "WHOX");

        h.line(a, "TIME");
        let now = crate::time::human(h.s.now_secs());
        assert_eq!(
            h.take(a),
            [format!(":pico.test 391 alice pico.test :{now}")]
        );
        h.line(a, "TIME pico.*");
        assert_has(&h.take(a), " 391 ");

        h.line(a, "ADMIN");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 256 alice pico.test :Administrative info",
                ":pico.test 257 alice :Somewhere",
                ":pico.test 258 alice :On a Pi",
                ":pico.test 259 alice :root@pico.test"
            ]
        );

        h.s.now_ms += 90_061_000;
        h.line(a, "INFO");
        let since = crate::time::human(h.s.started());
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 371 alice :pico.test running {VERSION}"),
                ":pico.test 371 alice :picoircd is an IRC server for small machines".to_string(),
                format!(":pico.test 371 alice :On-line since {since}"),
                ":pico.test 371 alice :Uptime: 1 days, 01:01:01".to_string(),
                ":pico.test 374 alice :End of /INFO".to_string(),
            ]
        );
    }

    #[test]
    fn help_topics_index_and_unknown() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "HELP away");
        let lines = h.take(a);
        assert_eq!(lines[0], ":pico.test 704 alice AWAY :AWAY [:<message>]");
        assert_eq!(lines[1], ":pico.test 705 alice AWAY :");
        assert_eq!(
            lines.last().unwrap(),
            ":pico.test 706 alice AWAY :End of /HELPOP"
        );

        h.line(a, "HELPOP index");
        let lines = h.take(a);
        assert_eq!(lines[0], ":pico.test 704 alice INDEX :HELP <command>");
        for spec in COMMANDS {
            assert_has(&lines, spec.name);
        }
        h.line(a, "HELP");
        let lines = h.take(a);
        assert_eq!(lines[0], ":pico.test 704 alice * :HELP <command>");
        assert_eq!(
            lines.last().unwrap(),
            ":pico.test 706 alice * :End of /HELPOP"
        );

        h.line(a, "HELP frobnicate");
        assert_eq!(
            h.take(a),
            [":pico.test 524 alice FROBNICATE :Help not found"]
        );
    }

    #[test]
    fn every_command_has_help() {
        for spec in COMMANDS {
            let text = help_text(spec.name).unwrap_or_else(|| panic!("no help for {}", spec.name));
            assert!(
                text.starts_with(spec.name),
                "help for {} must open with its syntax",
                spec.name
            );
        }
        assert!(HELP.windows(2).all(|w| w[0].0 < w[1].0), "HELP sorted");
        assert_eq!(HELP.len(), COMMANDS.len(), "no help for unknown commands");
    }
}
