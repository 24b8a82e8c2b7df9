//! MONITOR (IRCv3): clients watch nicknames and are told when they come
//! online (730) or go offline (731). The index maps a folded nick to the
//! clients watching it, so a nick change or quit notifies in O(watchers).

use std::time::Instant;

use crate::limits::MAX_MONITOR;
use crate::proto::numeric::*;
use crate::proto::{casemap, Message};
use crate::state::error::CmdResult;
use crate::state::{ClientId, State};

/// `MONITOR + <targets>` | `- <targets>` | `C` | `L` | `S`
pub fn monitor(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let sub = m.param(0);
    let targets: Vec<String> = m
        .param(1)
        .split(',')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    match sub {
        "+" => {
            let mut online = Vec::new();
            let mut offline = Vec::new();
            for (i, t) in targets.iter().enumerate() {
                let folded = casemap::fold(t);
                let c = &mut s.clients[id];
                if c.monitoring().contains(&folded) {
                    continue;
                }
                if c.monitoring().len() >= MAX_MONITOR {
                    let rest = targets[i..].join(",");
                    s.numeric(
                        id,
                        ERR_MONLISTFULL,
                        &[&MAX_MONITOR.to_string(), &rest],
                        "Monitor list is full",
                    );
                    break;
                }
                c.extra_mut().monitoring.push(folded.clone());
                s.monitors.entry(folded.clone()).or_default().push(id);
                match s.find_nick(t).filter(|&o| s.clients[o].registered) {
                    Some(o) => online.push(s.clients[o].mask()),
                    None => offline.push(t.clone()),
                }
            }
            send_list(s, id, RPL_MONONLINE, &online);
            send_list(s, id, RPL_MONOFFLINE, &offline);
        }
        "-" => {
            for t in &targets {
                let folded = casemap::fold(t);
                let c = &mut s.clients[id];
                if let Some(e) = c.extra.as_deref_mut() {
                    e.monitoring.retain(|n| *n != folded);
                }
                c.tidy_extra();
                unwatch(s, &folded, id);
            }
        }
        "C" | "c" => forget_client(s, id),
        "L" | "l" => {
            let list: Vec<String> = s.clients[id].monitoring().to_vec();
            send_list(s, id, RPL_MONLIST, &list);
            s.numeric(id, RPL_ENDOFMONLIST, &[], "End of MONITOR list");
        }
        "S" | "s" => {
            let list = s.clients[id].monitoring().to_vec();
            let (mut online, mut offline) = (Vec::new(), Vec::new());
            for folded in list {
                match s
                    .nicks
                    .get(folded.as_str())
                    .copied()
                    .filter(|&o| s.clients[o].registered)
                {
                    Some(o) => online.push(s.clients[o].mask()),
                    None => offline.push(folded),
                }
            }
            send_list(s, id, RPL_MONONLINE, &online);
            send_list(s, id, RPL_MONOFFLINE, &offline);
        }
        _ => {}
    }
    Ok(())
}

/// Sends a comma list numeric, split to fit lines.
fn send_list(s: &mut State, id: ClientId, num: u16, items: &[String]) {
    let mut cur = String::new();
    for item in items {
        if !cur.is_empty() && cur.len() + item.len() > 400 {
            s.numeric(id, num, &[], &cur);
            cur.clear();
        }
        if !cur.is_empty() {
            cur.push(',');
        }
        cur.push_str(item);
    }
    if !cur.is_empty() {
        s.numeric(id, num, &[], &cur);
    }
}

fn unwatch(s: &mut State, folded: &str, id: ClientId) {
    if let Some(w) = s.monitors.get_mut(folded) {
        w.retain(|&x| x != id);
        if w.is_empty() {
            s.monitors.remove(folded);
        }
    }
}

/// Drops every MONITOR entry of a client (MONITOR C, or it quit).
pub fn forget_client(s: &mut State, id: ClientId) {
    let c = &mut s.clients[id];
    let list = c
        .extra
        .as_deref_mut()
        .map(|e| std::mem::take(&mut e.monitoring))
        .unwrap_or_default();
    c.tidy_extra();
    for folded in list {
        unwatch(s, &folded, id);
    }
}

/// Tells the watchers of `nick` that it is now online (`Some(client)`)
/// or offline (`None`).
pub fn notify(s: &mut State, nick: &str, online: Option<ClientId>) {
    if s.monitors.is_empty() {
        return;
    }
    let Some(watchers) = s.monitors.get(&casemap::fold(nick)).cloned() else {
        return;
    };
    let (num, text) = match online {
        Some(o) => (RPL_MONONLINE, s.clients[o].mask()),
        None => (RPL_MONOFFLINE, nick.to_string()),
    };
    for w in watchers {
        if Some(w) != online && s.clients.contains(w) {
            s.numeric(w, num, &[], &text);
        }
    }
}
