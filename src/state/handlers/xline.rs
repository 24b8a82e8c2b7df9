//! Server bans, Ergo's commands and wording: K-lines (`nick!user@host`
//! masks, refused at registration) and D-lines (IP addresses and CIDR
//! networks, refused at connection): KLINE/UNKLINE, DLINE/UNDLINE and
//! their LISTs, gated by the oper capability `ban` in the dispatch table.
//!
//! The lines live in the datastore (`store::BanLine` under `Key::Line`),
//! changed through `State::commit`: the oper's "Added K-Line" notice
//! waits until the change is on disk, and the lines survive a restart.
//! They are read from the datastore's tables when a client connects or
//! registers (a linear scan, as Ergo's; a server has few lines), so a
//! change rolled back after a failed write stops applying at once.
//!
//! A temporary line stops applying the moment it lapses; `expire` (run
//! with the client timers) drops lapsed lines from the datastore when the
//! earliest one is due, and `State::next_deadline` wakes the loop for it.
//! Imports `config` (durations, address blocks), `proto`, `store` and
//! `state`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::{values, IpNet};
use crate::log_info;
use crate::proto::numeric::*;
use crate::proto::{mask, Message};
use crate::state::accounts::After;
use crate::state::clock::Stamp;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{snomask, ClientId, State};
use crate::store::{BanLine, Change, Key, LineKind};

/// The id a change with no one to tell is committed for (an expired
/// line dropped by `expire`): no client has it, so no reply is sent.
const NO_CLIENT: ClientId = usize::MAX;

/// When the next line lapses, for the loop's timeout. `stale` until
/// recomputed from the datastore (at start, and after every change).
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub due: Option<Stamp>,
    pub stale: bool,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            due: None,
            stale: true,
        }
    }
}

/// The words of each kind in replies.
fn names(kind: LineKind) -> (&'static str, &'static str) {
    match kind {
        LineKind::Kline => ("KLINE", "K-Line"),
        LineKind::Dline => ("DLINE", "D-Line"),
    }
}

/// Has `line` lapsed at `now_ms` (UNIX ms)?
fn lapsed(line: &BanLine, now_ms: u64) -> bool {
    line.expires
        .is_some_and(|e| e.saturating_mul(1000) <= now_ms)
}

/// A duration as Go prints it (Ergo's replies): `1s`, `10m0s`, `1h30m0s`.
pub fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// What is left of a line's time (`indefinite` for a permanent one).
fn time_left(line: &BanLine, now_ms: u64) -> String {
    match line.expires {
        None => "indefinite".into(),
        Some(e) => go_duration(e.saturating_mul(1000).saturating_sub(now_ms) / 1000),
    }
}

/// The reason users are shown: what comes before a `|` (the rest is for
/// opers), as Ergo splits `reason | oper reason`.
fn user_reason(stored: &str) -> &str {
    let r = stored.split_once('|').map_or(stored, |(r, _)| r).trim();
    if r.is_empty() {
        "No reason given"
    } else {
        r
    }
}

/// `You are banned from this server (<reason>)`, with the time left of a
/// temporary line: Ergo's `BanMessage`.
fn ban_message(line: &BanLine, now_ms: u64) -> String {
    let mut text = format!(
        "You are banned from this server ({})",
        user_reason(&line.reason)
    );
    if line.expires.is_some() {
        text.push_str(&format!(" [{}]", time_left(line, now_ms)));
    }
    text
}

/// Ergo's `CanonicalizeMaskWildcard`: `nick`, `nick!user`, `user@host` or
/// `nick!user@host` as a full `nick!user@host`, lower-cased (the ascii
/// case mapping). `None` for `@` before `!`.
pub fn canonical_mask(text: &str) -> Option<String> {
    let text = text.trim();
    let (bang, at) = (text.find('!'), text.find('@'));
    let (nick, user, host) = match (bang, at) {
        (Some(b), Some(a)) if b < a => (&text[..b], &text[b + 1..a], &text[a + 1..]),
        (Some(_), Some(_)) => return None,
        (Some(b), None) => (&text[..b], &text[b + 1..], ""),
        (None, Some(a)) => ("", &text[..a], &text[a + 1..]),
        (None, None) => (text, "", ""),
    };
    let part = |p: &str| {
        if p.is_empty() {
            "*".to_string()
        } else {
            p.to_ascii_lowercase()
        }
    };
    Some(format!("{}!{}@{}", part(nick), part(user), part(host)))
}

/// An IP address or CIDR network, normalized: host bits cleared, an
/// IPv4-mapped IPv6 address as IPv4.
pub fn parse_net(text: &str) -> Option<IpNet> {
    let net = values::ip_net(text).ok()?;
    let (addr, prefix) = match net.addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) if net.prefix >= 96 => (IpAddr::V4(v4), net.prefix - 96),
            _ => (net.addr, net.prefix),
        },
        v4 => (v4, net.prefix),
    };
    let addr = match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Some(IpNet { addr, prefix })
}

/// A network as Ergo shows it: a single address bare, a block `a/n`.
pub fn net_text(net: &IpNet) -> String {
    let full = if net.addr.is_ipv4() { 32 } else { 128 };
    if net.prefix == full {
        net.addr.to_string()
    } else {
        format!("{}/{}", net.addr, net.prefix)
    }
}

/// Does K-line mask `line` match client `id` (its shown mask, or with
/// its address)? Both sides are in the ascii case mapping.
fn kline_hits(s: &State, line: &str, id: ClientId) -> bool {
    let c = &s.clients[id];
    mask::matches(line, &c.mask()) || mask::matches(line, &c.ip_mask())
}

impl State {
    /// The `ERROR` text for a connection from a D-lined address, `None`
    /// if `ip` may connect. `net` asks at accept; a proxied address is
    /// checked when it is learnt (`set_client_ip`).
    pub fn dline_refusal(&self, ip: IpAddr) -> Option<String> {
        let db = self.accounts.db()?;
        let line = db
            .lines()
            .filter(|(kind, _, l)| *kind == LineKind::Dline && !lapsed(l, self.now_ms))
            .find(|(_, key, _)| parse_net(key).is_some_and(|n| n.contains(ip)))
            .map(|(_, _, l)| l)?;
        log_info!("connections", "{ip}: refused by the D-line {}", line.mask);
        Some(ban_message(line, self.now_ms))
    }

    /// The refusal for a client about to register whose mask a K-line
    /// matches (Ergo checks `nick!user@host` with the shown host and the
    /// address), `None` if it may register.
    pub fn kline_refusal(&self, id: ClientId) -> Option<String> {
        let db = self.accounts.db()?;
        let line = db
            .lines()
            .filter(|(kind, _, l)| *kind == LineKind::Kline && !lapsed(l, self.now_ms))
            .find(|(_, key, _)| kline_hits(self, key, id))
            .map(|(_, _, l)| l)?;
        let mask = self.clients[id].mask();
        log_info!("connections", "{mask}: refused by the K-line {}", line.mask);
        Some(ban_message(line, self.now_ms))
    }
}

/// The words of an oper's KLINE/DLINE line after the command: the flags,
/// the duration, the target, `ON <server>` and the reason.
struct Parsed<'a> {
    andkill: bool,
    myself: bool,
    /// Whole seconds, rounded up; 0 (or none given) is permanent.
    duration: u64,
    target: &'a str,
    reason: String,
}

fn parse_args<'a>(s: &State, command: &'static str, p: &[&'a str]) -> Result<Parsed<'a>, CmdError> {
    let mut i = 0;
    let word = |i: usize, w: &str| p.len() > i + 1 && p[i].eq_ignore_ascii_case(w);
    let andkill = word(i, "andkill");
    if andkill {
        i += 1;
    }
    let myself = word(i, "myself");
    if myself {
        i += 1;
    }
    let mut duration = 0;
    if let Some(d) = p.get(i).and_then(|w| values::duration(w).ok()) {
        duration = d.as_millis().div_ceil(1000).try_into().unwrap_or(u64::MAX);
        i += 1;
    }
    let target = *p.get(i).ok_or(CmdError::NeedMoreParams(command))?;
    i += 1;
    if p.get(i) == Some(&"ON") {
        // One server: `ON <this server>` is accepted, any other refused.
        if !p
            .get(i + 1)
            .is_some_and(|n| n.eq_ignore_ascii_case(s.server_name()))
        {
            return Err(unknown(command, "Remote servers not yet supported"));
        }
        i += 2;
    }
    // Ergo joins the rest (a reason sent without `:`) and splits off the
    // oper reason at the first `|`.
    let rest = p.get(i..).unwrap_or(&[]).join(" ");
    let reason = match rest.split_once('|') {
        Some((r, o)) if !o.trim().is_empty() => format!("{}|{}", r.trim(), o.trim()),
        Some((r, _)) => r.trim().to_string(),
        None => rest.trim().to_string(),
    };
    let reason = if rest.is_empty() {
        "No reason given".to_string()
    } else {
        reason
    };
    Ok(Parsed {
        andkill,
        myself,
        duration,
        target,
        reason,
    })
}

/// `400 <command> :<text>` (ERR_UNKNOWNERROR), as Ergo answers.
fn unknown(command: &str, text: &str) -> CmdError {
    CmdError::Numeric(
        ERR_UNKNOWNERROR,
        vec![command.to_string()],
        text.to_string(),
    )
}

/// The oper's name for notices and the line's record (the server's if the
/// session is gone).
fn oper_name(s: &State, id: ClientId) -> String {
    s.clients[id]
        .oper
        .as_ref()
        .map_or_else(|| s.server_name().to_string(), |o| o.name.clone())
}

/// `KLINE [ANDKILL] [MYSELF] [<duration>] <mask> [ON <server>] [<reason>[|<oper reason>]]`
/// | `KLINE LIST`
pub fn kline(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    add_line(s, id, m, now, LineKind::Kline)
}

/// `DLINE [ANDKILL] [MYSELF] [<duration>] <ip>/<net> [ON <server>] [<reason>[|<oper reason>]]`
/// | `DLINE LIST`
pub fn dline(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    add_line(s, id, m, now, LineKind::Dline)
}

fn add_line(s: &mut State, id: ClientId, m: &Message, _now: Instant, kind: LineKind) -> CmdResult {
    let (command, word) = names(kind);
    if m.params.len() == 1 && m.param(0).eq_ignore_ascii_case("list") {
        list(s, id, kind);
        return Ok(());
    }
    let p = parse_args(s, command, &m.params)?;
    // The key and the shown form; whether the oper's own connection is hit.
    let (key, hits_me) = match kind {
        LineKind::Kline => {
            let mask =
                canonical_mask(p.target).ok_or_else(|| unknown(command, "Erroneous nickname"))?;
            let hit = kline_hits(s, &mask, id);
            (mask, hit)
        }
        LineKind::Dline => {
            let net = parse_net(p.target)
                .ok_or_else(|| unknown(command, "Could not parse IP address or CIDR network"))?;
            (net_text(&net), net.contains(s.clients[id].ip))
        }
    };
    if hits_me && !p.myself {
        return Err(unknown(
            command,
            &format!("This ban matches you. To {command} yourself, you must use the command:  /{command} MYSELF <arguments>"),
        ));
    }
    let oper = oper_name(s, id);
    let now_secs = s.now_secs();
    let expires = (p.duration > 0).then(|| (s.now_ms.div_ceil(1000)).saturating_add(p.duration));
    let line = BanLine {
        kind,
        mask: key.clone(),
        reason: p.reason.clone(),
        oper: oper.clone(),
        set_at: now_secs,
        expires,
    };
    let (done, added) = if p.duration > 0 {
        let d = go_duration(p.duration);
        (
            format!("Added temporary ({d}) {word} for {key}"),
            format!("added temporary ({d}) {word} for {key}"),
        )
    } else {
        (
            format!("Added {word} for {key}"),
            format!("added {word} for {key}"),
        )
    };
    let failed = format!("Could not successfully save new {}", word.to_uppercase());
    s.commit(
        id,
        Change::put_line(key.clone(), line.clone()),
        After::ServerNotice { done, failed },
    );
    s.line_expiry.stale = true;
    // A change the datastore refused outright was never applied (the oper
    // has been told): nothing more to do.
    let applied = s
        .accounts
        .db()
        .and_then(|db| db.line(kind, &key))
        .is_some_and(|l| *l == line);
    if !applied {
        return Ok(());
    }
    let nick = s.clients[id].nick().to_owned();
    s.snotice(snomask::XLINES, &format!("{nick} [{oper}] {added}"));
    if p.andkill {
        let victims: Vec<ClientId> = s
            .clients
            .iter()
            .filter(|(v, c)| {
                !c.dead
                    && match kind {
                        LineKind::Kline => c.registered && kline_hits(s, &key, *v),
                        LineKind::Dline => parse_net(&key).is_some_and(|n| n.contains(c.ip)),
                    }
            })
            .map(|(v, _)| v)
            .collect();
        let mut nicks: Vec<String> = victims
            .iter()
            .filter(|&&v| s.clients[v].registered)
            .map(|&v| s.clients[v].nick().to_owned())
            .collect();
        nicks.sort();
        let reason = format!(
            "You have been banned from this server ({})",
            user_reason(&p.reason)
        );
        for v in victims {
            s.quit(v, &reason);
        }
        s.snotice(
            snomask::KILLS,
            &format!(
                "{nick} [{oper}] killed {} clients with a {command} [{}]",
                nicks.len(),
                nicks.join(", ")
            ),
        );
    }
    Ok(())
}

/// `KLINE LIST` / `DLINE LIST`: one NOTICE per line in force, Ergo's
/// `formatBanForListing`.
fn list(s: &mut State, id: ClientId, kind: LineKind) {
    let now_ms = s.now_ms;
    let shown: Vec<String> = s
        .accounts
        .db()
        .into_iter()
        .flat_map(|db| db.lines())
        .filter(|(k, _, l)| *k == kind && !lapsed(l, now_ms))
        .map(|(_, key, l)| {
            let mut desc = user_reason(&l.reason).to_string();
            if let Some((_, oper)) = l.reason.split_once('|') {
                let oper = oper.trim();
                if !oper.is_empty() && oper != desc {
                    desc = format!("{desc} | {oper}");
                }
            }
            format!(
                "Ban - {key} - added by {} - {desc} [{}] added on [{}]",
                l.oper,
                time_left(l, now_ms),
                crate::time::rfc1123(l.set_at)
            )
        })
        .collect();
    if shown.is_empty() {
        let (command, _) = names(kind);
        s.notice(id, &format!("No {command}s have been set!"));
    }
    for line in shown {
        s.notice(id, &line);
    }
}

/// `UNKLINE <mask>`
pub fn unkline(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let key = canonical_mask(m.param(0)).ok_or_else(|| unknown("UNKLINE", "Erroneous nickname"))?;
    remove_line(s, id, LineKind::Kline, key)
}

/// `UNDLINE <ip>|<net>`
pub fn undline(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let net = parse_net(m.param(0))
        .ok_or_else(|| unknown("UNDLINE", "Could not parse IP address or CIDR network"))?;
    remove_line(s, id, LineKind::Dline, net_text(&net))
}

fn remove_line(s: &mut State, id: ClientId, kind: LineKind, key: String) -> CmdResult {
    let (command, word) = names(kind);
    let command = format!("UN{command}");
    if s.accounts.db().and_then(|db| db.line(kind, &key)).is_none() {
        return Err(unknown(
            &command,
            "Could not remove ban [Ban does not exist]",
        ));
    }
    s.commit(
        id,
        Change::Delete(Key::Line(kind, key.clone())),
        After::ServerNotice {
            done: format!("Removed {word} for {key}"),
            failed: "Could not remove ban [An error occurred]".into(),
        },
    );
    s.line_expiry.stale = true;
    if s.accounts.db().and_then(|db| db.line(kind, &key)).is_none() {
        let nick = s.clients[id].nick().to_owned();
        s.snotice(snomask::XLINES, &format!("{nick} removed {word} for {key}"));
    }
    Ok(())
}

/// Drops lapsed lines from the datastore once the earliest is due, and
/// works out when the next one lapses (run with the client timers).
pub fn expire(s: &mut State, now: Instant) {
    let stamp = s.clock.stamp(now);
    let due = s.line_expiry.due.is_some_and(|d| d <= stamp);
    if !s.line_expiry.stale && !due {
        return;
    }
    let now_ms = s.now_ms;
    let gone: Vec<(LineKind, String)> = s
        .accounts
        .db()
        .into_iter()
        .flat_map(|db| db.lines())
        .filter(|(_, _, l)| lapsed(l, now_ms))
        .map(|(k, key, _)| (k, key.to_string()))
        .collect();
    for (kind, key) in gone {
        log_info!(
            "opers",
            "the {} for {key} has lapsed; dropped",
            names(kind).1
        );
        s.commit(
            NO_CLIENT,
            Change::Delete(Key::Line(kind, key)),
            After::ServerNotice {
                done: String::new(),
                failed: String::new(),
            },
        );
    }
    let next = s
        .accounts
        .db()
        .into_iter()
        .flat_map(|db| db.lines())
        .filter_map(|(_, _, l)| l.expires)
        .map(|e| e.saturating_mul(1000))
        .min();
    s.line_expiry = Expiry {
        stale: false,
        // A line still there though lapsed could not be dropped (a failed
        // write): tried again in a minute, never in a busy loop.
        due: next.map(|ms| {
            let wait = ms.saturating_sub(now_ms);
            stamp + Duration::from_millis(if wait == 0 { 60_000 } else { wait })
        }),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::accounts::Accounts;
    use crate::state::testutil::{assert_has, assert_lacks, config, Harness};
    use crate::store::Store;

    /// A harness whose oper class has `ban`, on a datastore in a temp dir.
    fn harness(name: &str) -> (Harness, std::path::PathBuf) {
        let mut cfg = config();
        cfg.oper_classes[0].capabilities.push("ban".into());
        cfg.opers[0].vhost = None;
        let mut h = Harness::with_config(cfg);
        let dir =
            std::env::temp_dir().join(format!("picoircd-xline-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (store, _) = Store::open(&dir.join("ircd.db"), None).unwrap();
        h.s.accounts = Accounts::new(store);
        (h, dir)
    }

    /// Waits for the datastore, so that the replies waiting for it go out.
    fn settle(h: &mut Harness) {
        h.s.store_finish(Duration::from_secs(10));
    }

    #[test]
    fn masks_and_networks_are_canonical() {
        assert_eq!(canonical_mask("Bob").unwrap(), "bob!*@*");
        assert_eq!(canonical_mask("bob!x").unwrap(), "bob!x@*");
        assert_eq!(
            canonical_mask("~x@Host.Example").unwrap(),
            "*!~x@host.example"
        );
        assert_eq!(canonical_mask("a!b@c").unwrap(), "a!b@c");
        assert_eq!(canonical_mask("a@b!c"), None);
        let n = parse_net("192.0.2.77/24").unwrap();
        assert_eq!(net_text(&n), "192.0.2.0/24");
        assert_eq!(net_text(&parse_net("192.0.2.7").unwrap()), "192.0.2.7");
        assert_eq!(
            net_text(&parse_net("::ffff:192.0.2.7").unwrap()),
            "192.0.2.7"
        );
        assert_eq!(
            net_text(&parse_net("2001:db8::1/32").unwrap()),
            "2001:db8::/32"
        );
        assert!(parse_net("nonsense").is_none());
        assert!(parse_net("10.0.0.0/33").is_none());
        assert_eq!(go_duration(1), "1s");
        assert_eq!(go_duration(600), "10m0s");
        assert_eq!(go_duration(5400), "1h30m0s");
    }

    #[test]
    fn kline_refuses_registration_and_lapses() {
        let (mut h, dir) = harness("kline");
        let a = h.client("alice");
        h.make_oper(a);
        h.line(a, "MODE alice +s +xk");
        h.take(a);
        h.line(a, "KLINE 2s bad!*@* :go away|spammer");
        settle(&mut h);
        let out = h.take(a);
        assert_eq!(
            out,
            [
                ":pico.test NOTICE alice :*** alice [admin] added temporary (2s) K-Line for bad!*@*",
                ":pico.test NOTICE alice :Added temporary (2s) K-Line for bad!*@*",
            ]
        );
        let b = h.connect();
        h.line(b, "NICK bad");
        h.line(b, "USER u 0 * :r");
        let out = h.take(b);
        assert_eq!(
            out[0],
            ":pico.test 465 bad :You are banned from this server (go away) [2s]"
        );
        assert_eq!(
            out[1],
            "ERROR :You are banned from this server (go away) [2s]"
        );
        assert!(h.s.clients[b].dead && !h.s.clients[b].registered);
        h.line(a, "KLINE LIST");
        let list = h.take(a);
        assert_eq!(list.len(), 1);
        assert!(
            list[0].starts_with(":pico.test NOTICE alice :Ban - bad!*@* - added by admin - go away | spammer [2s] added on ["),
            "{list:?}"
        );
        // Lapsed: no longer applies, listed or kept.
        h.s.now_ms += 3_000;
        h.advance(Duration::from_secs(3));
        settle(&mut h);
        assert!(h.s.accounts.db().unwrap().lines().next().is_none());
        h.line(a, "KLINE LIST");
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :No KLINEs have been set!"]
        );
        let c = h.client("bad");
        assert!(h.s.clients[c].registered);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn myself_andkill_and_unkline() {
        let (mut h, dir) = harness("andkill");
        let a = h.client("alice");
        h.make_oper(a);
        let v = h.client("victim");
        let w = h.client("bystander");
        h.line(a, "KLINE *!*@*");
        assert_eq!(
            h.take(a),
            [":pico.test 400 alice KLINE :This ban matches you. To KLINE yourself, you must use the command:  /KLINE MYSELF <arguments>"]
        );
        h.line(a, "KLINE a@b!c");
        assert_eq!(
            h.take(a),
            [":pico.test 400 alice KLINE :Erroneous nickname"]
        );
        h.line(a, "KLINE victim ON elsewhere.test :x");
        assert_eq!(
            h.take(a),
            [":pico.test 400 alice KLINE :Remote servers not yet supported"]
        );
        h.line(a, "MODE alice +s +k");
        h.take(a);
        h.line(a, "KLINE ANDKILL victim ON pico.test bye now");
        settle(&mut h);
        assert_eq!(
            h.take(v).last().unwrap(),
            "ERROR :You have been banned from this server (bye now)"
        );
        assert!(h.s.clients[v].dead && !h.s.clients[w].dead);
        let out = h.take(a);
        assert_has(
            &out,
            ":*** alice [admin] killed 1 clients with a KLINE [victim]",
        );
        assert_has(&out, ":Added K-Line for victim!*@*");
        h.line(a, "UNKLINE Victim");
        settle(&mut h);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :Removed K-Line for victim!*@*"]
        );
        h.line(a, "UNKLINE victim");
        assert_eq!(
            h.take(a),
            [":pico.test 400 alice UNKLINE :Could not remove ban [Ban does not exist]"]
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn dline_refuses_addresses_and_is_gated() {
        let (mut h, dir) = harness("dline");
        let a = h.client("alice");
        let n = h.client("nobody");
        h.line(n, "DLINE 192.0.2.0/24");
        assert_has(&h.take(n), " 481 nobody ");
        h.make_oper(a);
        h.line(a, "DLINE 300.1.2.3");
        assert_eq!(
            h.take(a),
            [":pico.test 400 alice DLINE :Could not parse IP address or CIDR network"]
        );
        let own = h.s.clients[a].ip.to_string();
        h.line(a, &format!("DLINE {own}"));
        assert_has(&h.take(a), "This ban matches you. To DLINE yourself");
        h.line(a, "DLINE 1h 192.0.2.9/24 :no thanks");
        settle(&mut h);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :Added temporary (1h0m0s) D-Line for 192.0.2.0/24"]
        );
        let refused = h.s.dline_refusal("192.0.2.200".parse().unwrap());
        assert_eq!(
            refused.as_deref(),
            Some("You are banned from this server (no thanks) [1h0m0s]")
        );
        assert_eq!(h.s.dline_refusal("192.0.3.1".parse().unwrap()), None);
        // A proxied address is checked when it is learnt.
        let p = h.connect();
        h.s.set_client_ip(p, "192.0.2.1".parse().unwrap());
        assert!(h.s.clients[p].dead);
        h.line(a, "DLINE LIST");
        assert_has(
            &h.take(a),
            "Ban - 192.0.2.0/24 - added by admin - no thanks [1h0m0s] added on [",
        );
        h.line(a, "UNDLINE 192.0.2.0/24");
        settle(&mut h);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :Removed D-Line for 192.0.2.0/24"]
        );
        assert_eq!(h.s.dline_refusal("192.0.2.200".parse().unwrap()), None);
        assert_lacks(&h.take(n), "D-Line");
        let _ = std::fs::remove_dir_all(dir);
    }
}
