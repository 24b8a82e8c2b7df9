//! draft/read-marker: MARKREAD, the time of the last message the user
//! read in each buffer (channel or nick), so that the user's other
//! clients can clear their notifications. Kept per account for a logged-in
//! client (every connection of the account shares them, and the others
//! with the capability are sent each new value), else per connection; at
//! most `MAX_READ_MARKERS` targets each (the least recently set is
//! dropped); in memory, not across restarts. Never shown to anyone else.
//! Imports `proto`, `limits`, `time` and `state`.

use std::time::Instant;

use crate::limits::MAX_READ_MARKERS;
use crate::proto::{caps, casemap, Message};
use crate::state::error::{CmdError, CmdResult};
use crate::state::{ClientId, State};
use crate::time::{parse_rfc3339_millis, rfc3339_millis};

/// `MARKREAD <target> [timestamp=YYYY-MM-DDThh:mm:ss.sssZ]`
///
/// With a timestamp, sets the marker (it only moves forward, and never
/// past now); either way, answers with the marker as it stands.
pub fn markread(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let target = m.param(0);
    if target.is_empty() {
        return Err(fail("NEED_MORE_PARAMS", vec![], "Missing parameters"));
    }
    let limits = &s.config.limits;
    let valid = if casemap::is_channel(target) {
        casemap::valid_channel(target, limits.channellen)
    } else {
        casemap::valid_nick(target, limits.nicklen)
    };
    if !valid {
        return Err(fail(
            "INVALID_PARAMS",
            vec![target.to_string()],
            "Invalid parameters",
        ));
    }
    if m.params.len() >= 2 {
        let Some(ms) = m
            .param(1)
            .strip_prefix("timestamp=")
            .and_then(parse_rfc3339_millis)
        else {
            return Err(fail(
                "INVALID_PARAMS",
                vec![m.param(1).to_string()],
                "Invalid parameters",
            ));
        };
        let ms = ms.min(s.now_ms);
        set_marker(s, id, target, ms);
    }
    send_marker(s, id, target);
    Ok(())
}

fn fail(code: &'static str, context: Vec<String>, text: &str) -> CmdError {
    CmdError::Fail("MARKREAD", code, context, text.to_string())
}

/// Moves the marker of a folded target forward to `ms` (an older time
/// leaves it as it is, as the spec asks); the account's other clients
/// with the capability hear of it.
fn set_marker(s: &mut State, id: ClientId, target: &str, ms: u64) {
    let folded = casemap::fold(target);
    if marker(s, id, &folded).is_some_and(|old| old >= ms) {
        return;
    }
    let list = match s.clients[id].account().map(casemap::fold) {
        Some(account) => s.accounts.read_markers.entry(account).or_default(),
        None => &mut s.clients[id].extra_mut().read_markers,
    };
    list.retain(|(t, _)| **t != *folded);
    if list.len() >= MAX_READ_MARKERS {
        list.remove(0);
    }
    list.push((folded.into(), ms));
    let Some(account) = s.clients[id].account().map(str::to_owned) else {
        return;
    };
    let others: Vec<ClientId> = s
        .clients
        .iter()
        .filter(|&(other, c)| {
            other != id
                && c.registered
                && c.has_cap(caps::READ_MARKER)
                && c.account().is_some_and(|a| casemap::eq(a, &account))
        })
        .map(|(other, _)| other)
        .collect();
    for other in others {
        send_marker(s, other, target);
    }
}

/// The marker of a folded target for client `id`: its account's, or its own.
fn marker(s: &State, id: ClientId, folded: &str) -> Option<u64> {
    let c = &s.clients[id];
    match c.account() {
        Some(account) => s
            .accounts
            .read_markers
            .get(&casemap::fold(account))?
            .iter()
            .find(|(t, _)| &**t == folded)
            .map(|(_, ms)| *ms),
        None => c.read_marker(folded),
    }
}

/// `:server MARKREAD <target> timestamp=…|*` to client `id`.
pub fn send_marker(s: &mut State, id: ClientId, target: &str) {
    let text = match marker(s, id, &casemap::fold(target)) {
        Some(ms) => format!("timestamp={}", rfc3339_millis(ms)),
        None => "*".to_string(),
    };
    s.send_from_server(id, "MARKREAD", &[target, &text], None);
}

#[cfg(test)]
mod tests {
    use crate::proto::caps;
    use crate::state::testutil::Harness;

    #[test]
    fn set_get_forward_only_and_clamped_to_now() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.s.now_ms = 1_795_576_434_123;
        h.line(a, "MARKREAD #c");
        assert_eq!(h.take(a), [":pico.test MARKREAD #c *"]);
        h.line(a, "MARKREAD #C timestamp=2026-11-25T03:13:50.000Z");
        assert_eq!(
            h.take(a),
            [":pico.test MARKREAD #C timestamp=2026-11-25T03:13:50.000Z"]
        );
        // Older: the stored value stands.
        h.line(a, "MARKREAD #c timestamp=2026-11-25T03:00:00.000Z");
        assert_eq!(
            h.take(a),
            [":pico.test MARKREAD #c timestamp=2026-11-25T03:13:50.000Z"]
        );
        // In the future: cut to now.
        h.line(a, "MARKREAD #c timestamp=2030-01-01T00:00:00.000Z");
        assert_eq!(
            h.take(a),
            [":pico.test MARKREAD #c timestamp=2026-11-25T03:13:54.123Z"]
        );
        // Nicks are targets too, and other clients see nothing of it.
        let b = h.client("bob");
        h.line(a, "MARKREAD bob timestamp=2026-11-25T03:13:00.000Z");
        assert!(h.take(b).is_empty());
        h.line(b, "MARKREAD #c");
        assert_eq!(h.take(b), [":pico.test MARKREAD #c *"]);
    }

    #[test]
    fn errors_are_standard_replies() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "MARKREAD");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters"]
        );
        h.line(a, "MARKREAD #c 2026-11-25T03:13:50.000Z");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL MARKREAD INVALID_PARAMS 2026-11-25T03:13:50.000Z :Invalid parameters"]
        );
        h.line(a, "MARKREAD #c timestamp=yesterday");
        assert_eq!(h.take(a).len(), 1);
        h.line(a, "MARKREAD a,b");
        assert_eq!(
            h.take(a),
            [":pico.test FAIL MARKREAD INVALID_PARAMS a,b :Invalid parameters"]
        );
    }

    #[test]
    fn the_list_is_bounded() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.s.now_ms = 2_000_000_000_000;
        for i in 0..(super::MAX_READ_MARKERS + 10) {
            h.line(
                a,
                &format!("MARKREAD #c{i} timestamp=2026-11-25T03:13:50.000Z"),
            );
        }
        let e = h.s.clients[a].extra.as_deref().unwrap();
        assert_eq!(e.read_markers.len(), super::MAX_READ_MARKERS);
        assert!(
            h.s.clients[a].read_marker("#c0").is_none(),
            "oldest dropped"
        );
        assert!(h.s.clients[a].read_marker("#c137").is_some());
    }

    #[test]
    fn join_sends_the_marker_before_the_end_of_names() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.s.clients[a].caps |= caps::READ_MARKER;
        h.line(a, "JOIN #c");
        let out = h.take(a);
        let mark = out.iter().position(|l| l.contains(" MARKREAD #c *"));
        let end = out.iter().position(|l| l.contains(" 366 "));
        assert!(mark.is_some() && mark < end, "{out:?}");
    }
}
