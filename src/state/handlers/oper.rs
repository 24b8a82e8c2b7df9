//! Operator commands: OPER (bcrypt checked on the worker thread), KILL,
//! WALLOPS, REHASH and the end of a rehash (`rehash_done`, called by `net`
//! once it has reloaded the config file).
//!
//! Capabilities are checked by the dispatch table before these handlers
//! run (KILL needs "kill", REHASH "rehash", WALLOPS "wallops"); what an oper
//! session holds comes from its `[[oper]]` block and oper class, through
//! `session_for` alone. Imports `config`, `proto` and `state`.

use std::rc::Rc;
use std::time::Instant;

use crate::config::{Config, OperConfig};
use crate::proto::numeric::*;
use crate::proto::{caps, casemap, Message};
use crate::state::client::{OperSession, UserModes};
use crate::state::error::{CmdError, CmdResult};
use crate::state::handlers::registration;
use crate::state::{snomask, ClientId, Purpose, State};

/// The `[[oper]]` block named `name` (case-insensitive, like nicks).
fn oper_block<'a>(cfg: &'a Config, name: &str) -> Option<&'a OperConfig> {
    cfg.opers.iter().find(|o| casemap::eq(&o.name, name))
}

/// The session an oper block grants: its class's title and capabilities
/// (none if the class is missing), its WHOIS line and hidden flag.
fn session_for(cfg: &Config, oper: &OperConfig) -> OperSession {
    let class = cfg.oper_class(&oper.class);
    OperSession {
        name: oper.name.clone(),
        class: oper.class.clone(),
        title: class.map(|c| c.title.clone()).unwrap_or_default(),
        capabilities: class.map(|c| c.capabilities.clone()).unwrap_or_default(),
        whois_line: oper.whois_line.clone(),
        hidden: oper.hidden,
        snomasks: 0,
    }
}

/// `OPER <name> [<password>]`
///
/// As Ergo: a block with a `certfp` needs the client's TLS certificate to
/// have that fingerprint, a block with a password needs the password
/// (checked by the worker thread; `oper_checked` finishes), a block with
/// both needs both; `OPER <name>` alone works for a certificate-only block.
/// An unknown name is checked too, against another block's hash, so the
/// answer takes as long as for a known one and does not tell which names
/// exist. One check per client at a time: a second OPER while one runs is
/// dropped (it would only queue more bcrypt work).
pub fn oper(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let name = m.param(0);
    let password = m.params.get(1).copied();
    if s.clients[id].reg.check_pending {
        return Ok(());
    }
    let cfg = Rc::clone(&s.config);
    // The hash to check, or (Err) the answer known without one.
    let hash: Result<String, bool> = match oper_block(&cfg, name) {
        Some(block) if !certfp_matches(s, id, block) => Err(false),
        Some(block) => match (&block.password, password) {
            // A certificate-only block: the fingerprint was the check.
            (None, _) => Err(true),
            (Some(_), None) => Err(false),
            (Some(hash), Some(_)) => Ok(hash.clone()),
        },
        None => match (cfg.opers.iter().find_map(|o| o.password.clone()), password) {
            (Some(decoy), Some(_)) => Ok(decoy),
            _ => Err(false),
        },
    };
    let hash = match hash {
        Ok(hash) => hash,
        Err(ok) => {
            oper_checked(s, id, name, ok);
            return Ok(());
        }
    };
    s.verify_password(
        id,
        hash,
        password.unwrap_or_default().to_string(),
        Purpose::Oper(name.to_string()),
    );
    Ok(())
}

/// Does the client present the certificate the block asks for (if any)?
fn certfp_matches(s: &State, id: ClientId, block: &OperConfig) -> bool {
    block.certfp.as_deref().is_none_or(|fp| {
        s.clients[id]
            .certfp()
            .is_some_and(|c| c.eq_ignore_ascii_case(fp))
    })
}

/// The worker's answer to an OPER password check (or the certificate
/// check of a block without a password).
///
/// The block is looked up again: the config may have been rehashed while
/// the check ran, and a decoy check for an unknown name always fails here.
pub fn oper_checked(s: &mut State, id: ClientId, name: &str, ok: bool) {
    let Some(c) = s.clients.get_mut(id) else {
        return;
    };
    c.reg.check_pending = false;
    let cfg = Rc::clone(&s.config);
    let known = oper_block(&cfg, name);
    let Some(block) = known.filter(|b| ok && certfp_matches(s, id, b)) else {
        let mask = s.clients[id].mask();
        // A name that is no block's is not echoed to the opers: it may be
        // a password typed in the wrong place.
        let what = match known {
            Some(b) => format!("as {}", b.name),
            None => "unknown oper name".to_string(),
        };
        s.numeric(id, ERR_PASSWDMISMATCH, &[], "Password incorrect");
        s.snotice(
            snomask::OPERS,
            &format!("Failed OPER attempt by {mask} ({what})"),
        );
        return;
    };
    let old_mask = s.clients[id].mask();
    let session = session_for(&cfg, block);
    let c = &mut s.clients[id];
    c.oper = Some(Box::new(session));
    // +o, then the block's own modes (e.g. "+w", "+ws +cko"); only changes
    // are shown.
    let mut added = String::new();
    let mut removed = String::new();
    let mut masks_shown = None;
    if !c.modes.has(UserModes::OPER) {
        c.modes.set(UserModes::OPER, true);
        added.push('o');
    }
    let mut words = block.modes.split_whitespace();
    let letters = words.next().unwrap_or("");
    let mut adding = true;
    for letter in letters.chars() {
        match letter {
            '+' => adding = true,
            '-' => adding = false,
            // o is the session's, Z the connection's, r an account's.
            'o' | 'Z' | 'r' => {}
            's' => {
                // Server notice masks: the block's argument for +s.
                let arg = if adding {
                    words.next().unwrap_or("")
                } else {
                    "-*"
                };
                let current = c.snomasks();
                let (new, shown) = snomask::apply(current, arg);
                if let Some(o) = c.oper.as_deref_mut() {
                    o.snomasks = new;
                }
                let on = new != 0;
                if c.modes.has(UserModes::SNOTICE) != on {
                    c.modes.set(UserModes::SNOTICE, on);
                    let shown_in = if on { &mut added } else { &mut removed };
                    shown_in.push('s');
                }
                if on {
                    masks_shown = shown;
                }
            }
            _ => {
                let Some(bit) = UserModes::bit(letter) else {
                    continue;
                };
                if c.modes.has(bit) != adding {
                    c.modes.set(bit, adding);
                    let shown = if adding { &mut added } else { &mut removed };
                    shown.push(letter);
                }
            }
        }
    }
    if c.snomasks() != 0 {
        s.watch_snomasks(id);
    }
    let c = &s.clients[id];
    let vhost = block.vhost.clone().filter(|v| *v != c.host());
    let nick = c.nick().to_owned();
    if let Some(v) = &vhost {
        // Peers with `chghost` hear of it (CHGHOST from the old mask).
        s.set_host(id, None, v);
    }
    let new_mask = s.clients[id].mask();
    s.numeric(id, RPL_YOUREOPER, &[], "You are now an IRC operator");
    let mut change = String::new();
    if !added.is_empty() {
        change = format!("+{added}");
    }
    if !removed.is_empty() {
        change.push('-');
        change.push_str(&removed);
    }
    if !change.is_empty() {
        // From the mask the client had when it sent OPER, as Ergo does;
        // the server notice masks, if any, as the argument of +s.
        match &masks_shown {
            Some(masks) => s.send_line(id, Some(&old_mask), "MODE", &[&nick, &change], Some(masks)),
            None => s.send_line(id, Some(&old_mask), "MODE", &[&nick], Some(&change)),
        }
    }
    if let Some(v) = vhost {
        s.numeric(id, RPL_VISIBLEHOST, &[&v], "is now your displayed host");
    }
    s.snotice(
        snomask::OPERS,
        &format!("Client opered up [{new_mask}, {}]", block.name),
    );
}

/// `KILL <nick> [:<reason>]`
///
/// The victim quits with `Killed by <oper>: <reason>` (Ergo's wording;
/// without a reason, `Killed by <oper>`); opers get a server notice.
pub fn kill(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let target = m.param(0);
    if casemap::eq(target, s.server_name()) {
        return Err(CmdError::Numeric(
            ERR_CANTKILLSERVER,
            vec![],
            "You can't kill a server!".into(),
        ));
    }
    let Some(victim) = s.find_nick(target).filter(|&v| !s.clients[v].dead) else {
        return Err(CmdError::NoSuchNick(target.to_string()));
    };
    let killer = s.clients[id].nick().to_owned();
    let victim_nick = s.clients[victim].nick().to_owned();
    let reason = m.param(1);
    let (quit_reason, notice) = if reason.is_empty() {
        (
            format!("Killed by {killer}"),
            format!("{victim_nick} was killed by {killer}"),
        )
    } else {
        (
            format!("Killed by {killer}: {reason}"),
            format!("{victim_nick} was killed by {killer} [{reason}]"),
        )
    };
    // The kill notice stands for the quit notice, as in Ergo.
    s.quit_as(victim, &quit_reason, false);
    s.snotice(snomask::KILLS, &notice);
    Ok(())
}

/// `WALLOPS :<text>`: to every client with user mode +w, and the sender.
pub fn wallops(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let text = m.param(0);
    if text.is_empty() {
        return Err(CmdError::NeedMoreParams("WALLOPS"));
    }
    let mask = s.clients[id].mask();
    let mut ev = s.user_event(id, &mask, "WALLOPS", &[], Some(text));
    let to: Vec<ClientId> = s
        .clients
        .iter()
        .filter(|&(c_id, c)| c.registered && (c.modes.has(UserModes::WALLOPS) || c_id == id))
        .map(|(c_id, _)| c_id)
        .collect();
    for r in to {
        s.send_event(r, &mut ev);
    }
    Ok(())
}

/// `REHASH`
///
/// Only flags the request: `net` reads the file (I/O stays out of
/// `state`) and answers through `rehash_done`.
pub fn rehash(s: &mut State, id: ClientId, _m: &Message, _now: Instant) -> CmdResult {
    s.rehash_requested = Some(id);
    Ok(())
}

/// The end of a rehash, asked by REHASH (`by`) or by SIGHUP (`None`).
///
/// On success the new config is applied and every oper session whose
/// `[[oper]]` block still exists is rebuilt from it (class, capabilities,
/// WHOIS line, hidden flag; the displayed host is left alone). An oper
/// whose block was removed keeps the session it has until it disconnects:
/// a rehash does not de-oper anyone. On failure the old config stays.
pub fn rehash_done(s: &mut State, by: Option<ClientId>, result: Result<Config, String>) {
    // The requester may have left (and its slot been reused) meanwhile:
    // answer it only if it is still an oper.
    let by = by.filter(|&b| s.clients.get(b).is_some_and(|c| c.is_oper() && !c.dead));
    let who = match by {
        Some(b) => s.clients[b].nick().to_owned(),
        None => "SIGHUP".to_string(),
    };
    match result {
        Ok(cfg) => {
            let file = cfg
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| cfg.path.display().to_string());
            let old_isupport = s.isupport.clone();
            let old_config = Rc::clone(&s.config);
            s.apply_config(cfg);
            refresh_opers(s);
            s.recount_all();
            announce_cap_values(s, &old_config);
            if s.isupport != old_isupport {
                // draft/extended-isupport: updates reach those who asked.
                let to: Vec<ClientId> = s
                    .clients
                    .iter()
                    .filter(|(_, c)| c.has_cap(caps::EXTENDED_ISUPPORT) && !c.dead)
                    .map(|(i, _)| i)
                    .collect();
                for c in to {
                    registration::send_isupport(s, c);
                }
            }
            if let Some(b) = by {
                s.numeric(b, RPL_REHASHING, &[&file], "Rehashing");
            }
            s.snotice(
                snomask::ANNOUNCEMENTS,
                &format!("{who} rehashed the server config ({file})"),
            );
        }
        Err(msg) => {
            if let Some(b) = by {
                let text = format!("Error rehashing: {msg}");
                if s.clients[b].has_cap(caps::STANDARD_REPLIES) {
                    s.send_from_server(b, "FAIL", &["REHASH", "CONFIG_BAD"], Some(&text));
                } else {
                    s.notice(b, &text);
                }
            }
            s.snotice(
                snomask::ANNOUNCEMENTS,
                &format!("Rehash by {who} failed: {msg}"),
            );
        }
    }
}

/// cap-notify: a capability whose `CAP LS 302` value a rehash changed
/// (draft/multiline's limits, draft/relaymsg's separators) is withdrawn
/// with `CAP DEL` and offered again with `CAP NEW` and its new value, to
/// every client with cap-notify; those that had it on must ask again.
/// Clients without cap-notify cannot be told and keep it as it was.
///
/// The words are compared per client: `sts` has one value for plaintext
/// clients (`port=`) and another for TLS ones (`duration=`), so each is
/// told of a change to its own. `sts` is never requested and the spec
/// forbids `CAP DEL` for it: a new or changed policy is only a `CAP NEW`,
/// and turning it off says nothing (`duration = "0s"` is how a policy is
/// withdrawn). A client of an `sts-only` listener only hears about `sts`.
fn announce_cap_values(s: &mut State, old: &Config) {
    let diff = |tls: bool| {
        cap_changes(
            &registration::ls_words(old, true, tls),
            &registration::ls_words(&s.config, true, tls),
        )
    };
    let (plain, tls) = (diff(false), diff(true));
    if plain.is_empty() && tls.is_empty() {
        return;
    }
    let to: Vec<ClientId> = s
        .clients
        .iter()
        .filter(|(_, c)| c.has_cap(caps::CAP_NOTIFY) && !c.dead)
        .map(|(i, _)| i)
        .collect();
    let server = Rc::clone(&s.config);
    let host = Some(server.server.name.as_str());
    for id in to {
        let c = &s.clients[id];
        let sts_only = server.sts.is_sts_only(c.local_port);
        let changes = if c.modes.has(UserModes::TLS) {
            &tls
        } else {
            &plain
        };
        for (name, word) in changes {
            let is_sts = name == "sts";
            if sts_only && !is_sts {
                continue;
            }
            let c = &mut s.clients[id];
            let shown = match word {
                Some(w) if c.cap_version >= 302 => w.as_str(),
                _ => name.as_str(),
            };
            let nick = c.nick().to_owned();
            if !is_sts {
                if let Some(cap) = caps::by_name(name) {
                    c.caps &= !cap.bit;
                }
                s.send_line(id, host, "CAP", &[&nick, "DEL"], Some(name));
            }
            if word.is_some() {
                s.send_line(id, host, "CAP", &[&nick, "NEW"], Some(shown));
            }
        }
    }
}

/// The capabilities whose `CAP LS 302` word differs between two lists:
/// (name, the new word), the new word `None` for one no longer offered.
fn cap_changes(old: &[String], new: &[String]) -> Vec<(String, Option<String>)> {
    let name = |w: &String| w.split('=').next().unwrap_or(w).to_string();
    let mut out: Vec<(String, Option<String>)> = new
        .iter()
        .filter(|n| !old.contains(n))
        .map(|n| (name(n), Some(n.clone())))
        .collect();
    for o in old {
        let gone = name(o);
        if !new.iter().any(|n| name(n) == gone) {
            out.push((gone, None));
        }
    }
    out
}

/// Rebuilds the sessions of current opers from the (new) config.
fn refresh_opers(s: &mut State) {
    let cfg = Rc::clone(&s.config);
    for (_, c) in s.clients.iter_mut() {
        let Some(session) = &c.oper else {
            continue;
        };
        if let Some(block) = oper_block(&cfg, &session.name) {
            // The server notice masks are the oper's own choice: kept.
            let snomasks = session.snomasks;
            let mut fresh = session_for(&cfg, block);
            fresh.snomasks = snomasks;
            c.oper = Some(Box::new(fresh));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testutil::{assert_has, assert_lacks, config, Harness};

    #[test]
    fn oper_success_sets_session_modes_and_vhost() {
        let mut cfg = config();
        cfg.opers[0].modes = "+ws +o".into();
        let mut h = Harness::with_config(cfg);
        let watcher = h.client("root");
        let mut session = session_for(&h.s.config, &h.s.config.opers[0]);
        session.snomasks = snomask::all();
        h.s.clients[watcher].oper = Some(Box::new(session));
        h.s.watch_snomasks(watcher);
        h.s.recount(watcher);
        let a = h.client("alice");
        let old_mask = h.s.clients[a].mask();
        h.s.handle_line(a, b"OPER admin changeme", h.now);
        assert_eq!(h.s.jobs.len(), 1, "bcrypt goes to the worker");
        assert!(!h.s.clients[a].is_oper());
        h.run_jobs();
        assert_eq!(
            h.take(a),
            [
                ":pico.test 381 alice :You are now an IRC operator".to_string(),
                format!(":{old_mask} MODE alice +ows :+o"),
                ":pico.test 396 alice staff :is now your displayed host".to_string(),
                ":pico.test NOTICE alice :*** Client opered up [alice!~alice@staff, admin]"
                    .to_string(),
            ]
        );
        let c = &h.s.clients[a];
        assert_eq!(c.host(), "staff");
        assert!(c.modes.has(UserModes::OPER) && c.modes.has(UserModes::WALLOPS));
        assert!(c.modes.has(UserModes::SNOTICE));
        assert_eq!(snomask::letters(c.snomasks()), "o");
        let o = c.oper.as_ref().unwrap();
        assert_eq!(o.class, "server-admin");
        assert_eq!(o.title, "Server Admin");
        assert!(c.has_oper_cap("kill"));
        assert_has(
            &h.take(watcher),
            "*** Client opered up [alice!~alice@staff, admin]",
        );
        // The WHOIS line shows in 313.
        let b = h.client("bob");
        h.line(b, "WHOIS alice");
        assert_has(&h.take(b), ":pico.test 313 bob alice :is a server admin");
    }

    #[test]
    fn oper_wrong_password_or_unknown_name() {
        let mut h = Harness::new();
        let watcher = h.client("root");
        h.line(watcher, "OPER admin changeme");
        h.line(watcher, "MODE root +s o");
        h.take(watcher);
        let a = h.client("alice");
        h.line(a, "OPER admin wrong");
        assert_eq!(h.take(a), [":pico.test 464 alice :Password incorrect"]);
        assert!(!h.s.clients[a].is_oper());
        let mask = h.s.clients[a].mask();
        assert_eq!(
            h.take(watcher),
            [format!(
                ":pico.test NOTICE root :*** Failed OPER attempt by {mask} (as admin)"
            )]
        );
        // An unknown name is checked against a decoy hash: same path, same answer,
        // even with a password that matches another block.
        h.s.handle_line(a, b"OPER nobody changeme", h.now);
        assert_eq!(h.s.jobs.len(), 1, "unknown names cost a bcrypt check too");
        h.run_jobs();
        assert_eq!(h.take(a), [":pico.test 464 alice :Password incorrect"]);
        assert!(!h.s.clients[a].is_oper());
        assert_eq!(
            h.take(watcher),
            [format!(
                ":pico.test NOTICE root :*** Failed OPER attempt by {mask} (unknown oper name)"
            )]
        );
        // The client stays connected and can try again.
        h.line(a, "OPER ADMIN changeme");
        assert_has(&h.take(a), " 381 alice ");
        h.line(a, "MODE alice -o");
        h.take(a);
        // Without the password the block asks for: refused, no check run.
        h.s.handle_line(a, b"OPER admin", h.now);
        assert!(h.s.jobs.is_empty());
        assert_eq!(h.take(a), [":pico.test 464 alice :Password incorrect"]);
        h.line(a, "OPER");
        assert_has(&h.take(a), " 461 alice OPER ");
    }

    #[test]
    fn oper_by_certificate_alone_or_with_a_password() {
        let fp = "ab".repeat(32);
        let mut cfg = config();
        cfg.opers[0].vhost = None;
        let mut cert_only = cfg.opers[0].clone();
        cert_only.name = "certy".into();
        cert_only.password = None;
        cert_only.certfp = Some(fp.clone());
        let mut both = cfg.opers[0].clone();
        both.name = "both".into();
        both.certfp = Some(fp.clone());
        cfg.opers.push(cert_only);
        cfg.opers.push(both);
        let mut h = Harness::with_config(cfg);
        let plain = h.client("plain");
        h.s.handle_line(plain, b"OPER certy", h.now);
        assert!(h.s.jobs.is_empty(), "no certificate: refused at once");
        assert_eq!(h.take(plain), [":pico.test 464 plain :Password incorrect"]);
        let a = h.client("alice");
        h.s.set_certfp(a, &fp.to_uppercase());
        h.s.handle_line(a, b"OPER certy", h.now);
        assert!(h.s.jobs.is_empty(), "the certificate is the check");
        assert_has(
            &h.take(a),
            ":pico.test 381 alice :You are now an IRC operator",
        );
        let b = h.client("bob");
        h.s.set_certfp(b, &fp);
        h.line(b, "OPER both wrong");
        assert_eq!(h.take(b), [":pico.test 464 bob :Password incorrect"]);
        h.line(b, "OPER both");
        assert_eq!(h.take(b), [":pico.test 464 bob :Password incorrect"]);
        h.line(b, "OPER both changeme");
        assert_has(&h.take(b), " 381 bob ");
        // The right password without the certificate is not enough.
        h.line(plain, "OPER both changeme");
        assert_eq!(h.take(plain), [":pico.test 464 plain :Password incorrect"]);
    }

    #[test]
    fn oper_checks_one_at_a_time() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.s.handle_line(a, b"OPER admin x", h.now);
        h.s.handle_line(a, b"OPER admin y", h.now);
        assert_eq!(h.s.jobs.len(), 1);
        h.run_jobs();
        assert_eq!(h.take(a), [":pico.test 464 alice :Password incorrect"]);
        h.line(a, "OPER admin changeme");
        assert!(h.s.clients[a].is_oper());
    }

    #[test]
    fn oper_without_any_block_fails_at_once() {
        let mut cfg = config();
        cfg.opers.clear();
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.s.handle_line(a, b"OPER admin changeme", h.now);
        assert!(h.s.jobs.is_empty());
        assert_eq!(h.take(a), [":pico.test 464 alice :Password incorrect"]);
    }

    #[test]
    fn kill_by_oper_and_refusals() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.line(a, "KILL bob :spam");
        assert_eq!(
            h.take(a),
            [":pico.test 481 alice :Permission Denied - You're not an IRC operator"]
        );
        assert!(!h.s.clients[b].dead);
        h.line(a, "OPER admin changeme");
        h.line(a, "MODE alice +s +kq");
        h.take(a);
        h.line(a, "KILL nobody :x");
        assert_eq!(h.take(a), [":pico.test 401 alice nobody :No such nick"]);
        h.line(a, "KILL pico.test :x");
        assert_eq!(
            h.take(a),
            [":pico.test 483 alice :You can't kill a server!"]
        );
        h.line(a, "KILL");
        assert_has(&h.take(a), " 461 alice KILL ");
        h.line(a, "KILL Bob :spam");
        assert_eq!(h.take(b), ["ERROR :Killed by alice: spam"]);
        assert!(h.s.clients[b].dead);
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :*** bob was killed by alice [spam]"]
        );
        assert!(h.s.find_nick("bob").is_none());
        let c = h.client("carol");
        h.line(a, "KILL carol");
        assert_eq!(h.take(c), ["ERROR :Killed by alice"]);
    }

    #[test]
    fn kill_reaches_peers_as_quit() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        h.put_in(b, "#x", 0);
        h.put_in(c, "#x", 0);
        h.line(a, "OPER admin changeme");
        let bob = h.s.clients[b].mask();
        h.line(a, "KILL bob :bye");
        assert_eq!(h.take(c), [format!(":{bob} QUIT :Killed by alice: bye")]);
    }

    #[test]
    fn wallops_goes_to_plus_w_only() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let w = h.client("wendy");
        let n = h.client("nobody");
        h.s.clients[w].modes.set(UserModes::WALLOPS, true);
        h.line(a, "WALLOPS :hello opers");
        assert_has(&h.take(a), " 481 alice ");
        assert!(h.take(w).is_empty());
        h.line(a, "OPER admin changeme");
        h.take(a);
        let mask = h.s.clients[a].mask();
        h.line(a, "WALLOPS :maintenance at noon");
        let line = format!(":{mask} WALLOPS :maintenance at noon");
        assert_eq!(h.take(w), std::slice::from_ref(&line));
        assert_eq!(h.take(a), [line], "the sender sees it once");
        assert!(h.take(n).is_empty());
        h.line(a, "WALLOPS :");
        assert_eq!(
            h.take(a),
            [":pico.test 461 alice WALLOPS :Not enough parameters"]
        );
    }

    #[test]
    fn rehash_applies_new_config() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let other = h.client("bob");
        h.line(a, "REHASH");
        assert_has(&h.take(a), " 481 alice ");
        assert_eq!(h.s.rehash_requested, None);
        h.line(a, "OPER admin changeme");
        h.line(other, "OPER admin changeme");
        h.line(a, "MODE alice +s +a");
        h.line(other, "MODE bob +s +a");
        h.take(a);
        h.take(other);
        h.line(a, "REHASH");
        assert_eq!(h.s.rehash_requested, Some(a));
        assert!(h.take(a).is_empty(), "the answer waits for the reload");

        let mut cfg = config();
        cfg.server.motd = Some(vec!["new motd".into()]);
        cfg.opers[0].whois_line = Some("keeps the lights on".into());
        cfg.oper_classes[0].capabilities = vec!["kill".into()];
        let by = h.s.rehash_requested.take();
        rehash_done(&mut h.s, by, Ok(cfg));
        assert_eq!(
            h.take(a),
            [
                ":pico.test 382 alice test.conf :Rehashing",
                ":pico.test NOTICE alice :*** alice rehashed the server config (test.conf)"
            ]
        );
        assert_eq!(
            h.take(other),
            [":pico.test NOTICE bob :*** alice rehashed the server config (test.conf)"]
        );
        h.line(a, "MOTD");
        assert_has(&h.take(a), ":pico.test 372 alice :- new motd");
        // Sessions follow the new class and block.
        assert!(!h.s.clients[a].has_oper_cap("rehash"));
        h.line(a, "REHASH");
        assert_has(&h.take(a), " 481 alice ");
        let c = h.client("carol");
        h.line(c, "WHOIS alice");
        assert_has(&h.take(c), " 313 carol alice :keeps the lights on");
    }

    #[test]
    fn rehash_removed_block_keeps_session() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "OPER admin changeme");
        h.line(a, "MODE alice +s *");
        h.take(a);
        let mut cfg = config();
        cfg.opers.clear();
        rehash_done(&mut h.s, None, Ok(cfg));
        assert_eq!(
            h.take(a),
            [":pico.test NOTICE alice :*** SIGHUP rehashed the server config (test.conf)"]
        );
        assert!(h.s.clients[a].has_oper_cap("rehash"), "not de-opered");
    }

    #[test]
    fn rehash_error_keeps_old_config() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "OPER admin changeme");
        h.line(a, "MODE alice +s +a");
        h.take(a);
        h.line(a, "REHASH");
        let by = h.s.rehash_requested.take();
        rehash_done(&mut h.s, by, Err("ircd.conf:3:1: bad key".into()));
        assert_eq!(
            h.take(a),
            [
                ":pico.test NOTICE alice :Error rehashing: ircd.conf:3:1: bad key",
                ":pico.test NOTICE alice :*** Rehash by alice failed: ircd.conf:3:1: bad key"
            ]
        );
        h.line(a, "MOTD");
        let lines = h.take(a);
        assert_has(&lines, ":- hello");
        assert_lacks(&lines, "new motd");
        // standard-replies: a FAIL the client can act on.
        h.s.clients[a].caps |= caps::STANDARD_REPLIES;
        h.line(a, "REHASH");
        let by = h.s.rehash_requested.take();
        rehash_done(&mut h.s, by, Err("ircd.conf:3:1: bad key".into()));
        assert_has(
            &h.take(a),
            ":pico.test FAIL REHASH CONFIG_BAD :Error rehashing: ircd.conf:3:1: bad key",
        );
    }

    #[test]
    fn rehash_tells_cap_notify_clients_of_a_changed_value() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.s.clients[a].caps |= caps::CAP_NOTIFY | caps::MULTILINE | caps::BATCH;
        h.s.clients[a].cap_version = 302;
        h.s.clients[b].caps |= caps::MULTILINE | caps::BATCH;
        let mut cfg = config();
        cfg.limits.multiline_max_lines = 7;
        rehash_done(&mut h.s, None, Ok(cfg));
        let out = h.take(a);
        assert_has(&out, ":pico.test CAP alice DEL :draft/multiline");
        assert_has(
            &out,
            ":pico.test CAP alice NEW :draft/multiline=max-bytes=4096,max-lines=7",
        );
        assert!(!h.s.clients[a].has_cap(caps::MULTILINE), "withdrawn");
        assert_lacks(&h.take(b), " CAP ");
        assert!(
            h.s.clients[b].has_cap(caps::MULTILINE),
            "kept: it cannot be told"
        );
        // The same config again: nothing to say.
        rehash_done(&mut h.s, None, Ok(config()));
        h.take(a);
        rehash_done(&mut h.s, None, Ok(config()));
        assert_lacks(&h.take(a), " CAP ");
    }

    #[test]
    fn rehash_announces_the_sts_policy_with_cap_new_only() {
        let mut h = Harness::new();
        let plain = h.client("alice");
        let tls =
            h.s.add_client("127.0.1.1".parse().unwrap(), 6697, true, h.now);
        h.line(tls, "NICK bob");
        h.line(tls, "USER bob 0 * :Bob");
        h.take(tls);
        let quiet = h.client("carol");
        for id in [plain, tls] {
            h.s.clients[id].caps |= caps::CAP_NOTIFY | caps::MULTILINE;
            h.s.clients[id].cap_version = 302;
        }
        let sts = |duration: u64| {
            let mut cfg = config();
            cfg.sts.enabled = true;
            cfg.sts.port = Some(6697);
            cfg.sts.duration = std::time::Duration::from_secs(duration);
            cfg
        };
        // Turned on: each connection hears its own form; nothing else
        // moves (the other rows are not shifted by the new one).
        rehash_done(&mut h.s, None, Ok(sts(600)));
        assert_eq!(h.take(plain), [":pico.test CAP alice NEW :sts=port=6697"]);
        assert_eq!(h.take(tls), [":pico.test CAP bob NEW :sts=duration=600"]);
        assert_lacks(&h.take(quiet), " CAP ");
        assert!(h.s.clients[plain].has_cap(caps::MULTILINE));
        // A new duration only concerns TLS clients.
        rehash_done(&mut h.s, None, Ok(sts(0)));
        assert_lacks(&h.take(plain), " CAP ");
        assert_eq!(h.take(tls), [":pico.test CAP bob NEW :sts=duration=0"]);
        // Turned off: never a CAP DEL for sts.
        rehash_done(&mut h.s, None, Ok(config()));
        assert_lacks(&h.take(plain), " CAP ");
        assert_lacks(&h.take(tls), " CAP ");
    }

    #[test]
    fn an_sts_only_client_hears_only_of_sts() {
        let mut cfg = config();
        cfg.sts.enabled = true;
        cfg.sts.port = Some(6697);
        cfg.sts.only_ports = vec![6668];
        let mut h = Harness::with_config(cfg.clone());
        let r =
            h.s.add_client("127.0.1.2".parse().unwrap(), 6668, false, h.now);
        h.line(r, "CAP LS 302");
        assert_eq!(h.take(r), [":pico.test CAP * LS :sts=port=6697"]);
        let a = h.client("alice");
        h.s.clients[a].caps |= caps::CAP_NOTIFY;
        h.s.clients[a].cap_version = 302;
        cfg.sts.port = Some(7000);
        cfg.limits.multiline_max_lines = 7;
        rehash_done(&mut h.s, None, Ok(cfg));
        assert_eq!(h.take(r), [":pico.test CAP * NEW :sts=port=7000"]);
        let out = h.take(a);
        assert_has(&out, ":pico.test CAP alice NEW :sts=port=7000");
        assert_has(&out, ":pico.test CAP alice DEL :draft/multiline");
        assert_lacks(&out, "DEL :sts");
    }

    #[test]
    fn rehash_sends_changed_isupport_to_extended_isupport_clients() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        h.s.clients[b].caps |= caps::EXTENDED_ISUPPORT | caps::BATCH;
        let mut cfg = config();
        cfg.limits.topiclen = 77;
        rehash_done(&mut h.s, None, Ok(cfg));
        let out = h.take(b);
        assert!(out[0].starts_with(":pico.test BATCH +") && out[0].ends_with(" draft/isupport"));
        assert_has(&out, "TOPICLEN=77");
        assert!(out[1].starts_with("@batch="), "{out:?}");
        assert!(out.iter().any(|l| l.starts_with(":pico.test BATCH -")));
        assert_lacks(&h.take(a), " 005 ");
    }
}
