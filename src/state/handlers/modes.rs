//! MODE: channel modes (flags, key, limit, the b/e/I lists, member
//! prefixes) and user modes, plus the rank rule KICK shares.
//!
//! Who may change what (Ergo's `channelUserModeHasPrivsOver` for prefixes,
//! InspIRCd's halfop rank for the rest):
//! - prefixes `q a o h v`: a founder may set any; an admin or op may set
//!   `o h v`; a halfop only `v`; anyone may remove their own prefixes
//!   (RFC 2812: "no restriction on anyone deopping themselves");
//! - flags `C i m n s t`, `k`, `l` and changes to `b e I`: halfop or higher;
//! - listing `b`: anyone (members, or non-members of a non-secret
//!   channel, Ergo #163); listing `e` and `I`: halfop or higher;
//! - a non-member may query `MODE #chan` and the ban list, nothing else
//!   (442).
//!
//! All applied changes go out once, as one `MODE` line holding only what
//! actually changed; a line that changed nothing sends nothing.
//! Imports `proto`, `limits` and `state`; never `net`.

use std::time::Instant;

use crate::limits::{MAX_LIST, MAX_MODES};
use crate::proto::numeric::*;
use crate::proto::{casemap, mask, Message};
use crate::state::channel::{flag, prefix, Channel, ListEntry};
use crate::state::client::UserModes;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{snomask, ChanId, ClientId, State};

/// May a member whose prefix bits are `mine` grant or remove `target`
/// (a prefix bit), or kick a member whose prefix bits are `target`?
/// Ergo's rule: founders act on everyone; admins and ops on ops and below;
/// halfops on voiced and plain members only; others on no one.
pub fn has_privs_over(mine: u8, target: u8) -> bool {
    let (me, them) = (prefix::rank(mine), prefix::rank(target));
    let rank = |bit| prefix::rank(bit);
    if me >= rank(prefix::FOUNDER) {
        true
    } else if me >= rank(prefix::OP) {
        them <= rank(prefix::OP)
    } else if me >= rank(prefix::HALFOP) {
        them <= rank(prefix::VOICE)
    } else {
        false
    }
}

/// `MODE <target> [<modestring> [<mode arguments>...]]`
pub fn mode(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    if casemap::is_channel(m.param(0)) {
        channel_mode(s, id, m, false)
    } else {
        user_mode(s, id, m, false)
    }
}

/// MODE as an oper's SAMODE: channel modes without being a member or
/// having a rank there (as a founder would), and other users' modes.
pub fn samode(s: &mut State, id: ClientId, m: &Message) -> CmdResult {
    if casemap::is_channel(m.param(0)) {
        channel_mode(s, id, m, true)
    } else {
        user_mode(s, id, m, true)
    }
}

/// One requested channel mode change, before privileges are checked.
enum Req<'a> {
    /// `b`, `e` or `I` without an argument: show the list.
    List(char),
    Flag(bool, char, u16),
    Key(bool, &'a str),
    Limit(bool, &'a str),
    Mask(bool, char, &'a str),
    Prefix(bool, char, u8, &'a str),
}

/// What a parameter mode gets from the argument list.
enum Arg<'a> {
    Given(&'a str),
    /// None left.
    Missing,
    /// MODES already reached: the mode is dropped.
    OverLimit,
}

/// The arguments after the modestring, at most `MAX_MODES` of them used.
struct Args<'a, 'm> {
    rest: std::slice::Iter<'m, &'a str>,
    used: usize,
}

impl<'a> Args<'a, '_> {
    fn take(&mut self) -> Arg<'a> {
        if self.rest.as_slice().is_empty() {
            Arg::Missing
        } else if self.used >= MAX_MODES {
            Arg::OverLimit
        } else {
            self.used += 1;
            self.rest.next().map_or(Arg::Missing, |a| Arg::Given(a))
        }
    }
}

/// Splits a modestring and its arguments into requests; unknown letters
/// are returned separately (each once). A modestring without a leading
/// sign is taken as `+`.
fn parse<'a>(modestring: &str, args: &[&'a str]) -> (Vec<Req<'a>>, Vec<char>) {
    let mut reqs = Vec::new();
    let mut unknown = Vec::new();
    let mut args = Args {
        rest: args.iter(),
        used: 0,
    };
    let mut add = true;
    let mut listed = Vec::new();
    for letter in modestring.chars() {
        match letter {
            '+' => add = true,
            '-' => add = false,
            'b' | 'e' | 'I' => match args.take() {
                Arg::Given(a) => reqs.push(Req::Mask(add, letter, a)),
                Arg::Missing if !listed.contains(&letter) => {
                    listed.push(letter);
                    reqs.push(Req::List(letter));
                }
                _ => {}
            },
            // Unsetting takes an argument when one is there (`CHANMODES`
            // type B) but works without one.
            'k' => match (add, args.take()) {
                (true, Arg::Given(k)) => reqs.push(Req::Key(true, k)),
                (false, _) => reqs.push(Req::Key(false, "")),
                _ => {}
            },
            'l' if !add => reqs.push(Req::Limit(false, "")),
            'l' => {
                if let Arg::Given(n) = args.take() {
                    reqs.push(Req::Limit(true, n));
                }
            }
            _ => {
                if let Some(bit) = flag::from_letter(letter) {
                    reqs.push(Req::Flag(add, letter, bit));
                } else if let Some(bit) = prefix::from_mode(letter) {
                    if let Arg::Given(nick) = args.take() {
                        reqs.push(Req::Prefix(add, letter, bit, nick));
                    }
                } else if !unknown.contains(&letter) {
                    unknown.push(letter);
                }
            }
        }
    }
    (reqs, unknown)
}

/// A key must survive as a middle parameter and inside `JOIN`'s key list.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && !key.starts_with(':') && !key.contains([' ', ','])
}

fn list_of(ch: &mut Channel, letter: char) -> &mut Vec<ListEntry> {
    match letter {
        'b' => &mut ch.bans,
        'e' => &mut ch.excepts,
        _ => &mut ch.invex,
    }
}

/// Builds `+ov-k` and its arguments from applied changes, in order.
fn render(applied: &[(bool, char, Option<String>)]) -> (String, Vec<String>) {
    let mut modes = String::new();
    let mut args = Vec::new();
    let mut sign = None;
    for (add, letter, arg) in applied {
        if sign != Some(*add) {
            modes.push(if *add { '+' } else { '-' });
            sign = Some(*add);
        }
        modes.push(*letter);
        if let Some(a) = arg {
            args.push(a.clone());
        }
    }
    (modes, args)
}

fn channel_mode(s: &mut State, id: ClientId, m: &Message, samode: bool) -> CmdResult {
    let name = m.param(0);
    let chan = s
        .find_channel(name)
        .ok_or_else(|| CmdError::NoSuchChannel(name.to_string()))?;
    if m.params.len() < 2 || m.param(1).is_empty() {
        send_channel_modes(s, id, chan);
        return Ok(());
    }
    let args: &[&str] = m.params.get(2..).unwrap_or(&[]);
    let (reqs, unknown) = parse(m.param(1), args);
    for letter in unknown {
        s.numeric(
            id,
            ERR_UNKNOWNMODE,
            &[&letter.to_string()],
            "is an unknown mode character to me",
        );
    }
    let setter = s.clients[id].mask();
    let now = s.now_secs();
    let mut applied: Vec<(bool, char, Option<String>)> = Vec::new();
    let (mut not_on_sent, mut privs_sent) = (false, false);
    let mut full_warned = Vec::new();
    for req in reqs {
        // A reply to the setter can overflow its sendq and quit it, which
        // destroys the channel if it was the last member: stop then.
        let Some(ch) = s.channels.get(chan).filter(|_| !s.clients[id].dead) else {
            return Ok(());
        };
        let chan_name = ch.name.clone();
        // Looked up for each change: `-o alice+v bob` by alice drops her
        // rank before the voice, as in Ergo.
        // SAMODE acts as the channel's founder would.
        let mine = if samode {
            Some(prefix::FOUNDER)
        } else {
            ch.prefix_of(id)
        };
        let halfop = mine.is_some_and(|p| prefix::rank(p) >= prefix::rank(prefix::HALFOP));
        if let Req::List(letter) = req {
            let secret = ch.has(flag::SECRET);
            if mine.is_none() && (letter != 'b' || secret) {
                if !not_on_sent {
                    not_on_sent = true;
                    s.reply_error(id, &CmdError::NotOnChannel(chan_name.clone()));
                }
            } else if letter != 'b' && !halfop {
                if !privs_sent {
                    privs_sent = true;
                    s.reply_error(id, &CmdError::ChanOpPrivsNeeded(chan_name.clone()));
                }
            } else {
                send_list(s, id, chan, letter);
            }
            continue;
        }
        let Some(mine) = mine else {
            if !not_on_sent {
                not_on_sent = true;
                s.reply_error(id, &CmdError::NotOnChannel(chan_name.clone()));
            }
            continue;
        };
        let allowed = match &req {
            Req::Prefix(add, _, bit, nick) => {
                let own = !add && s.find_nick(nick) == Some(id);
                own || has_privs_over(mine, *bit)
            }
            _ => halfop,
        };
        if !allowed {
            if !privs_sent {
                privs_sent = true;
                s.reply_error(id, &CmdError::ChanOpPrivsNeeded(chan_name.clone()));
            }
            continue;
        }
        let ch = &mut s.channels[chan];
        match req {
            Req::List(_) => {}
            Req::Flag(add, letter, bit) => {
                if ch.has(bit) != add {
                    if add {
                        ch.flags |= bit;
                    } else {
                        ch.flags &= !bit;
                    }
                    applied.push((add, letter, None));
                }
            }
            Req::Key(true, key) => {
                if !valid_key(key) {
                    s.numeric(id, ERR_INVALIDKEY, &[&chan_name], "Key is not well-formed");
                } else if ch.key.as_deref() != Some(key) {
                    ch.key = Some(key.to_string());
                    applied.push((true, 'k', Some(key.to_string())));
                }
            }
            Req::Key(false, _) => {
                if ch.key.take().is_some() {
                    applied.push((false, 'k', Some("*".into())));
                }
            }
            Req::Limit(true, n) => {
                // A limit that is not a positive integer is ignored, as Ergo does.
                if let Ok(n) = n.parse::<usize>() {
                    if n > 0 && ch.limit != Some(n) {
                        ch.limit = Some(n);
                        applied.push((true, 'l', Some(n.to_string())));
                    }
                }
            }
            Req::Limit(false, _) => {
                if ch.limit.take().is_some() {
                    applied.push((false, 'l', None));
                }
            }
            Req::Mask(add, letter, raw) => {
                if raw.starts_with(':') {
                    continue;
                }
                let normal = mask::normalize(raw);
                let list = list_of(ch, letter);
                let pos = list.iter().position(|e| {
                    e.mask.eq_ignore_ascii_case(&normal) || e.mask.eq_ignore_ascii_case(raw)
                });
                let full = list.len() >= MAX_LIST;
                match (add, pos) {
                    (true, None) if full => {
                        // One 478 per list and line, as Ergo does.
                        let first = !full_warned.contains(&letter);
                        full_warned.push(letter);
                        if first {
                            s.numeric(
                                id,
                                ERR_BANLISTFULL,
                                &[&chan_name, &letter.to_string()],
                                "Channel list is full",
                            );
                        }
                    }
                    (true, None) => {
                        list.push(ListEntry {
                            mask: normal.clone(),
                            set_by: setter.clone(),
                            set_at: now,
                        });
                        applied.push((true, letter, Some(normal)));
                    }
                    (false, Some(i)) => {
                        let gone = list.remove(i);
                        applied.push((false, letter, Some(gone.mask)));
                    }
                    _ => {}
                }
            }
            Req::Prefix(add, letter, bit, nick) => {
                let Some(target) = s.find_nick(nick).filter(|&t| s.clients[t].registered) else {
                    s.reply_error(id, &CmdError::NoSuchNick(nick.to_string()));
                    continue;
                };
                let target_nick = s.clients[target].nick().to_owned();
                let ch = &mut s.channels[chan];
                let Some(before) = ch.prefix_of(target) else {
                    s.reply_error(
                        id,
                        &CmdError::UserNotInChannel(target_nick, chan_name.clone()),
                    );
                    continue;
                };
                if (before & bit != 0) != add {
                    ch.set_prefix(target, bit, add);
                    applied.push((add, letter, Some(target_nick)));
                }
            }
        }
    }
    let Some(ch) = s.channels.get(chan).filter(|_| !applied.is_empty()) else {
        return Ok(());
    };
    let chan_name = ch.name.clone();
    let (modes, args) = render(&applied);
    let mut middle: Vec<&str> = vec![&chan_name, &modes];
    middle.extend(args.iter().map(String::as_str));
    let outside = !ch.is_member(id);
    let mut ev = s.user_event(id, &setter, "MODE", &middle, None);
    s.send_event_to_channel(chan, &mut ev, None);
    s.persist_channel(chan, id);
    if samode && outside {
        // An oper's SAMODE from outside the channel: it sees the change too.
        s.send_event(id, &mut ev);
    }
    Ok(())
}

/// 324 and 329; the key is shown to members only.
fn send_channel_modes(s: &mut State, id: ClientId, chan: ChanId) {
    let ch = &s.channels[chan];
    let (modes, params) = ch.mode_string(ch.is_member(id));
    let name = ch.name.clone();
    let created = ch.created.to_string();
    let mut middle: Vec<&str> = vec![&name, &modes];
    middle.extend(params.iter().map(String::as_str));
    s.numeric_opt(id, RPL_CHANNELMODEIS, &middle, None);
    s.numeric_opt(id, RPL_CREATIONTIME, &[&name, &created], None);
}

/// A b/e/I list: `<chan> <mask> <setter> <time>` lines, then the end.
fn send_list(s: &mut State, id: ClientId, chan: ChanId, letter: char) {
    let (item, end, text) = match letter {
        'b' => (RPL_BANLIST, RPL_ENDOFBANLIST, "End of channel ban list"),
        'e' => (
            RPL_EXCEPTLIST,
            RPL_ENDOFEXCEPTLIST,
            "End of channel exception list",
        ),
        _ => (
            RPL_INVITELIST,
            RPL_ENDOFINVITELIST,
            "End of channel invite list",
        ),
    };
    let ch = &mut s.channels[chan];
    let name = ch.name.clone();
    let entries = list_of(ch, letter).clone();
    for e in entries {
        let at = e.set_at.to_string();
        s.numeric_opt(id, item, &[&name, &e.mask, &e.set_by, &at], None);
    }
    s.numeric(id, end, &[&name], text);
}

/// User modes: only one's own (any user's by SAMODE). `i`, `w` and `B`
/// may be set and unset; `-o` drops the oper session (the host is kept,
/// the server notice masks go with it); `s` (opers only, ignored for
/// others as Ergo does) takes the server notice masks as its argument
/// (`+s +cko`, `+s -k`, `+s *`; `-s` drops them all); `+o`, `Z` and `r`
/// are the server's to set and are ignored.
fn user_mode(s: &mut State, id: ClientId, m: &Message, samode: bool) -> CmdResult {
    let nick = m.param(0);
    let target = s
        .find_nick(nick)
        .filter(|&t| s.clients[t].registered)
        .ok_or_else(|| CmdError::NoSuchNick(nick.to_string()))?;
    let changing = m.params.len() > 1;
    if target != id && !samode {
        // Ergo's wording.
        let text = if changing {
            "Can't change modes for other users"
        } else {
            "Can't view modes for other users"
        };
        return Err(CmdError::Numeric(ERR_USERSDONTMATCH, vec![], text.into()));
    }
    let mut args = m.params.get(2..).unwrap_or(&[]).iter();
    let mut applied: Vec<(bool, char, Option<String>)> = Vec::new();
    let mut unknown = false;
    let mut add = true;
    for letter in m.param(1).chars() {
        let c = &mut s.clients[target];
        match letter {
            '+' => add = true,
            '-' => add = false,
            'i' | 'w' | 'B' => {
                let bit = UserModes::bit(letter).expect("a user mode letter");
                if c.modes.has(bit) != add {
                    c.modes.set(bit, add);
                    applied.push((add, letter, None));
                }
            }
            'o' => {
                if !add && (c.oper.is_some() || c.modes.has(UserModes::OPER)) {
                    c.oper = None;
                    c.modes.set(UserModes::OPER, false);
                    applied.push((false, 'o', None));
                    if c.modes.has(UserModes::SNOTICE) {
                        c.modes.set(UserModes::SNOTICE, false);
                        applied.push((false, 's', None));
                    }
                }
            }
            's' => {
                // Only `+s` takes an argument (Ergo: `-s` clears them all).
                let arg = if add {
                    args.next().copied()
                } else {
                    Some("-*")
                };
                let Some(session) = c.oper.as_deref_mut() else {
                    continue;
                };
                let Some(arg) = arg else {
                    continue;
                };
                let (new, shown) = snomask::apply(session.snomasks, arg);
                session.snomasks = new;
                c.modes.set(UserModes::SNOTICE, new != 0);
                if let Some(shown) = shown {
                    if new == 0 {
                        applied.push((false, 's', None));
                    } else {
                        applied.push((true, 's', Some(shown)));
                    }
                }
            }
            'Z' | 'r' => {}
            _ => unknown = true,
        }
    }
    if s.clients[target].snomasks() != 0 {
        s.watch_snomasks(target);
    }
    if unknown {
        s.numeric(id, ERR_UMODEUNKNOWNFLAG, &[], "Unknown MODE flag");
    }
    let c = &s.clients[target];
    let target_nick = c.nick().to_owned();
    if applied.is_empty() {
        // Ergo answers a query, or a line that changed nothing, with 221,
        // and an oper's server notice masks with 008.
        let modes = c.modes.to_mode_string();
        let masks = snomask::letters(c.snomasks());
        s.numeric_opt(id, RPL_UMODEIS, &[&modes], None);
        if !masks.is_empty() {
            s.numeric(id, RPL_SNOMASKIS, &[&masks], "Server notice masks");
        }
        return Ok(());
    }
    let mask = s.clients[id].mask();
    let (modes, margs) = render(&applied);
    let mut middle: Vec<&str> = vec![&target_nick, &modes];
    middle.extend(margs.iter().map(String::as_str));
    s.send_line(id, Some(&mask), "MODE", &middle, None);
    if target != id {
        // The user is told of its new modes too (Ergo tells the oper only).
        s.send_line(target, Some(&mask), "MODE", &middle, None);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::has_privs_over;
    use crate::limits::{MAX_LIST, MAX_MODES};
    use crate::state::channel::{prefix, ListEntry};
    use crate::state::client::{OperSession, UserModes};
    use crate::state::testutil::{assert_has, assert_lacks, Harness};
    use crate::state::{ChanId, ClientId};

    fn mask(h: &Harness, id: ClientId) -> String {
        h.s.clients[id].mask()
    }

    /// alice creates `#x` (op), bob and carol join; outputs drained.
    fn trio() -> (Harness, ClientId, ClientId, ClientId, ChanId) {
        let mut h = Harness::new();
        let a = h.client("alice");
        let b = h.client("bob");
        let c = h.client("carol");
        for id in [a, b, c] {
            h.line(id, "JOIN #x");
        }
        for id in [a, b, c] {
            h.take(id);
        }
        let chan = h.s.find_channel("#x").unwrap();
        (h, a, b, c, chan)
    }

    #[test]
    fn rank_rule_matches_ergo() {
        use prefix::*;
        assert!(has_privs_over(FOUNDER, FOUNDER));
        assert!(has_privs_over(OP, OP) && has_privs_over(ADMIN, OP));
        assert!(!has_privs_over(OP, ADMIN) && !has_privs_over(ADMIN, FOUNDER));
        assert!(has_privs_over(HALFOP, VOICE) && has_privs_over(HALFOP, 0));
        assert!(!has_privs_over(HALFOP, HALFOP) && !has_privs_over(VOICE, 0));
        assert!(
            has_privs_over(OP | VOICE, HALFOP | VOICE),
            "the highest prefix counts"
        );
    }

    #[test]
    fn query_shows_modes_and_creation_time() {
        let (mut h, a, _b, _c, _) = trio();
        h.line(a, "MODE #x");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 324 alice #x +nt",
                ":pico.test 329 alice #x 1700000000"
            ]
        );
        h.line(a, "MODE #x +kl sesame 10");
        h.take(a);
        h.line(a, "MODE #X");
        assert_has(&h.take(a), ":pico.test 324 alice #x +ntkl sesame 10");
        let d = h.client("dave");
        h.line(d, "MODE #x");
        assert_has(&h.take(d), ":pico.test 324 dave #x +ntkl * 10");
        h.line(d, "MODE #nope");
        assert_eq!(h.take(d), [":pico.test 403 dave #nope :No such channel"]);
    }

    #[test]
    fn one_broadcast_with_only_effective_changes() {
        let (mut h, a, b, c, chan) = trio();
        h.line(a, "MODE #x +k sesame");
        for id in [a, b, c] {
            h.take(id);
        }
        h.line(a, "MODE #x +ntov-k bob carol anything");
        let line = format!(":{} MODE #x +ov-k bob carol *", mask(&h, a));
        assert_eq!(h.take(a), std::slice::from_ref(&line));
        assert_eq!(h.take(b), std::slice::from_ref(&line));
        assert_eq!(h.take(c), [line]);
        let ch = &h.s.channels[chan];
        assert_eq!(ch.prefix_of(b), Some(prefix::OP));
        assert_eq!(ch.prefix_of(c), Some(prefix::VOICE));
        assert!(ch.key.is_none());
        h.line(a, "MODE #x +nt-k+o bob");
        assert!(h.take(a).is_empty(), "nothing changed, nothing sent");
        assert!(h.take(b).is_empty());
        h.line(a, "MODE #x imC");
        assert_eq!(
            h.take(c),
            [format!(":{} MODE #x +imC", mask(&h, a))],
            "no sign means +; order kept"
        );
        h.line(a, "MODE #x -m+s-i");
        assert_eq!(h.take(c), [format!(":{} MODE #x -m+s-i", mask(&h, a))]);
    }

    #[test]
    fn unknown_letters_and_the_modes_limit() {
        let (mut h, a, b, _c, chan) = trio();
        h.line(a, "MODE #x +Xzs");
        let out = h.take(a);
        assert_has(
            &out,
            ":pico.test 472 alice X :is an unknown mode character to me",
        );
        assert_has(
            &out,
            ":pico.test 472 alice z :is an unknown mode character to me",
        );
        assert_has(&out, " MODE #x +s");
        h.take(b);
        let masks: Vec<String> = (0..MAX_MODES + 2).map(|i| format!("n{i}!*@*")).collect();
        h.line(
            a,
            &format!("MODE #x +{} {}", "b".repeat(MAX_MODES + 2), masks.join(" ")),
        );
        let out = h.take(b);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0],
            format!(
                ":{} MODE #x +{} {}",
                mask(&h, a),
                "b".repeat(MAX_MODES),
                masks[..MAX_MODES].join(" ")
            )
        );
        assert_eq!(h.s.channels[chan].bans.len(), MAX_MODES);
    }

    #[test]
    fn ban_exception_and_invex_lists() {
        let (mut h, a, b, _c, chan) = trio();
        h.line(a, "MODE #x +b-b+eI bob nobody friend!*@* *!*@trusted");
        assert_eq!(
            h.take(b),
            [format!(
                ":{} MODE #x +beI bob!*@* friend!*@* *!*@trusted",
                mask(&h, a)
            )]
        );
        h.take(a);
        h.line(a, "MODE #x +b BOB!*@*");
        assert!(h.take(a).is_empty(), "already listed (case-insensitively)");
        h.line(a, "MODE #x b");
        let setter = mask(&h, a);
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 367 alice #x bob!*@* {setter} 1700000000"),
                ":pico.test 368 alice #x :End of channel ban list".to_string(),
            ]
        );
        h.line(a, "MODE #x +eI");
        assert_eq!(
            h.take(a),
            [
                format!(":pico.test 348 alice #x friend!*@* {setter} 1700000000"),
                ":pico.test 349 alice #x :End of channel exception list".to_string(),
                format!(":pico.test 346 alice #x *!*@trusted {setter} 1700000000"),
                ":pico.test 347 alice #x :End of channel invite list".to_string(),
            ]
        );
        // Anyone may see the ban list; e and I need halfop.
        h.line(b, "MODE #x +b");
        assert_has(&h.take(b), " 368 bob #x :End of channel ban list");
        h.line(b, "MODE #x +e");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You're not a channel operator"]
        );
        let d = h.client("dave");
        h.line(d, "MODE #x +b");
        assert_has(&h.take(d), " 367 dave #x bob!*@* ");
        h.line(d, "MODE #x +e");
        assert_eq!(
            h.take(d),
            [":pico.test 442 dave #x :You're not on that channel"]
        );
        h.line(a, "MODE #x -b bob!*@*");
        assert_eq!(h.take(b), [format!(":{} MODE #x -b bob!*@*", mask(&h, a))]);
        assert!(h.s.channels[chan].bans.is_empty());
    }

    #[test]
    fn a_host_ban_survives_a_nick_change() {
        let (mut h, a, b, _c, _) = trio();
        let host = h.s.clients[b].host().to_owned();
        h.line(a, &format!("MODE #x +b *!*@{host}"));
        h.line(b, "PRIVMSG #x :hi");
        assert_has(
            &h.take(b),
            ":pico.test 404 bob #x :Cannot send to channel (+b)",
        );
        h.line(b, "PART #x");
        h.line(b, "NICK bobby");
        h.take(b);
        h.line(b, "JOIN #x");
        assert_eq!(
            h.take(b),
            [":pico.test 474 bobby #x :Cannot join channel (+b)"]
        );
        // A ban on the real IP matches as well.
        h.line(a, &format!("MODE #x -b+b *!*@{host} *!*@127.0.0.2"));
        h.line(b, "JOIN #x");
        assert_eq!(
            h.take(b),
            [":pico.test 474 bobby #x :Cannot join channel (+b)"]
        );
    }

    #[test]
    fn list_is_capped_at_maxlist() {
        let (mut h, a, _b, _c, chan) = trio();
        for i in 0..MAX_LIST {
            h.s.channels[chan].bans.push(ListEntry {
                mask: format!("n{i}!*@*"),
                set_by: "x".into(),
                set_at: 0,
            });
        }
        h.line(a, "MODE #x +bb one two");
        assert_eq!(
            h.take(a),
            [":pico.test 478 alice #x b :Channel list is full"]
        );
        h.line(a, "MODE #x +e one");
        assert_has(&h.take(a), " MODE #x +e one!*@*");
        assert_eq!(h.s.channels[chan].bans.len(), MAX_LIST);
    }

    #[test]
    fn key_and_limit() {
        let (mut h, a, b, _c, chan) = trio();
        h.line(a, "MODE #x +k a,b");
        assert_eq!(
            h.take(a),
            [":pico.test 525 alice #x :Key is not well-formed"]
        );
        h.line(a, "MODE #x +k");
        assert!(h.take(a).is_empty(), "+k without a key is ignored");
        h.line(a, "MODE #x +k sesame");
        assert_eq!(h.take(b), [format!(":{} MODE #x +k sesame", mask(&h, a))]);
        let d = h.client("dave");
        h.line(d, "JOIN #x wrong");
        assert_has(&h.take(d), " 475 dave #x :Cannot join channel (+k)");
        h.line(a, "MODE #x -k");
        assert_eq!(h.take(b), [format!(":{} MODE #x -k *", mask(&h, a))]);
        h.line(a, "MODE #x +l nope");
        h.line(a, "MODE #x +l 0");
        assert!(h.take(b).is_empty(), "a limit must be a positive integer");
        h.line(a, "MODE #x +l 3");
        assert_eq!(h.take(b), [format!(":{} MODE #x +l 3", mask(&h, a))]);
        h.line(d, "JOIN #x");
        assert_has(&h.take(d), " 471 dave #x :Cannot join channel (+l)");
        h.line(a, "MODE #x -l");
        assert_eq!(h.take(b), [format!(":{} MODE #x -l", mask(&h, a))]);
        assert_eq!(h.s.channels[chan].limit, None);
        h.line(d, "JOIN #x");
        assert_has(&h.take(d), " JOIN #x");
    }

    #[test]
    fn moderated_no_external_and_no_ctcp() {
        let (mut h, a, b, c, _) = trio();
        let d = h.client("dave");
        h.line(d, "PRIVMSG #x :from outside");
        assert_eq!(
            h.take(d),
            [":pico.test 404 dave #x :Cannot send to channel"]
        );
        h.line(a, "MODE #x -n");
        h.line(d, "PRIVMSG #x :from outside");
        assert!(h.take(d).is_empty());
        assert_has(&h.take(b), " PRIVMSG #x :from outside");
        h.line(a, "MODE #x +mv carol");
        h.take(b);
        h.line(b, "PRIVMSG #x :hello");
        assert_eq!(
            h.take(b),
            [":pico.test 404 bob #x :Cannot send to channel (+m)"]
        );
        h.line(c, "PRIVMSG #x :voiced");
        assert_has(&h.take(b), " PRIVMSG #x :voiced");
        h.line(a, "MODE #x -m+C");
        h.take(b);
        h.take(c);
        h.line(c, "PRIVMSG #x :\x01VERSION\x01");
        assert_eq!(
            h.take(c),
            [":pico.test 404 carol #x :Cannot send to channel (+C)"]
        );
        assert!(h.take(b).is_empty());
        h.line(c, "PRIVMSG #x :\x01ACTION waves\x01");
        assert_has(&h.take(b), " PRIVMSG #x :\x01ACTION waves\x01");
    }

    #[test]
    fn invite_only_and_secret() {
        let (mut h, a, _b, _c, _) = trio();
        h.line(a, "MODE #x +is");
        let d = h.client("dave");
        h.line(d, "JOIN #x");
        assert_has(&h.take(d), " 473 dave #x :Cannot join channel (+i)");
        h.line(d, "LIST");
        assert_lacks(&h.take(d), "#x");
        h.line(d, "NAMES #x");
        assert_eq!(h.take(d), [":pico.test 366 dave #x :End of NAMES list"]);
        h.line(d, "MODE #x +b");
        assert_eq!(
            h.take(d),
            [":pico.test 442 dave #x :You're not on that channel"]
        );
        h.line(a, "INVITE dave #x");
        h.line(d, "JOIN #x");
        assert_has(
            &h.take(d),
            ":pico.test 353 dave @ #x :@alice bob carol dave",
        );
    }

    #[test]
    fn prefix_privileges() {
        let (mut h, a, b, c, chan) = trio();
        let d = h.client("dave");
        h.line(d, "MODE #x +v dave");
        assert_eq!(
            h.take(d),
            [":pico.test 442 dave #x :You're not on that channel"]
        );
        h.line(b, "MODE #x +o bob");
        assert_eq!(
            h.take(b),
            [":pico.test 482 bob #x :You're not a channel operator"]
        );
        h.line(a, "MODE #x +h bob");
        h.take(b);
        h.line(b, "MODE #x +o-n+v carol carol");
        assert_eq!(
            h.take(b),
            [
                ":pico.test 482 bob #x :You're not a channel operator".to_string(),
                format!(":{} MODE #x -n+v carol", mask(&h, b)),
            ],
            "a halfop cannot op, sends the error once, and may voice"
        );
        h.take(a);
        h.line(a, "MODE #x +a carol");
        assert_eq!(
            h.take(a),
            [":pico.test 482 alice #x :You're not a channel operator"]
        );
        h.s.channels[chan].set_prefix(c, prefix::FOUNDER, true);
        h.line(a, "MODE #x -q carol");
        assert_eq!(
            h.take(a),
            [":pico.test 482 alice #x :You're not a channel operator"]
        );
        h.line(c, "MODE #x +a alice");
        assert_has(&h.take(c), " MODE #x +a alice");
        h.take(b);
        h.line(b, "MODE #x -h bob");
        assert_eq!(
            h.take(b),
            [format!(":{} MODE #x -h bob", mask(&h, b))],
            "anyone may drop their own"
        );
        h.take(a);
        h.line(a, "MODE #x +o nobody");
        assert_eq!(h.take(a), [":pico.test 401 alice nobody :No such nick"]);
        h.line(a, "MODE #x +o dave");
        assert_eq!(
            h.take(a),
            [":pico.test 441 alice dave #x :They aren't on that channel"]
        );
        assert_eq!(
            h.s.channels[chan].prefix_of(a),
            Some(prefix::OP | prefix::ADMIN)
        );
    }

    #[test]
    fn rank_is_checked_for_each_change() {
        let (mut h, a, b, _c, chan) = trio();
        h.line(a, "MODE #x -o+v alice bob");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 482 alice #x :You're not a channel operator".to_string(),
                format!(":{} MODE #x -o alice", mask(&h, a)),
            ]
        );
        assert_eq!(h.s.channels[chan].prefix_of(b), Some(0));
    }

    #[test]
    fn a_sendq_overflow_in_the_middle_of_a_mode_line_is_survived() {
        let mut cfg = crate::state::testutil::config();
        cfg.limits.sendq = 4096;
        let mut h = Harness::with_config(cfg);
        let a = h.client("alice");
        h.line(a, "JOIN #x");
        h.take(a);
        let chan = h.s.find_channel("#x").unwrap();
        let ch = &mut h.s.channels[chan];
        for list in [&mut ch.bans, &mut ch.excepts, &mut ch.invex] {
            for i in 0..MAX_LIST {
                list.push(ListEntry {
                    mask: format!("{i:0>60}!*@*"),
                    set_by: "x".into(),
                    set_at: 0,
                });
            }
        }
        h.line(a, "MODE #x beI+m");
        assert!(h.s.clients[a].dead, "quit for its sendq");
        assert!(
            h.s.find_channel("#x").is_none(),
            "and its channel went with it"
        );
    }

    #[test]
    fn user_modes() {
        let mut h = Harness::new();
        let a = h.client("alice");
        let _b = h.client("bob");
        h.line(a, "MODE alice");
        assert_eq!(h.take(a), [":pico.test 221 alice +i"]);
        h.line(a, "MODE Alice +wB-i");
        assert_eq!(h.take(a), [format!(":{} MODE alice +wB-i", mask(&h, a))]);
        assert!(h.s.clients[a].modes.has(UserModes::BOT));
        h.line(a, "MODE alice +oZr");
        assert_eq!(
            h.take(a),
            [":pico.test 221 alice +Bw"],
            "o, Z and r are not the user's to set"
        );
        assert!(!h.s.clients[a].is_oper());
        h.line(a, "MODE alice +x");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 501 alice :Unknown MODE flag",
                ":pico.test 221 alice +Bw"
            ]
        );
        h.line(a, "MODE bob +i");
        assert_eq!(
            h.take(a),
            [":pico.test 502 alice :Can't change modes for other users"]
        );
        h.line(a, "MODE bob");
        assert_eq!(
            h.take(a),
            [":pico.test 502 alice :Can't view modes for other users"]
        );
        h.line(a, "MODE nobody");
        assert_eq!(h.take(a), [":pico.test 401 alice nobody :No such nick"]);
        h.s.clients[a].oper = Some(Box::new(OperSession {
            name: "admin".into(),
            class: "server-admin".into(),
            title: "Server Admin".into(),
            ..OperSession::default()
        }));
        h.s.clients[a].modes.set(UserModes::OPER, true);
        h.line(a, "MODE alice -o");
        assert_eq!(h.take(a), [format!(":{} MODE alice -o", mask(&h, a))]);
        assert!(!h.s.clients[a].is_oper());
        assert!(!h.s.clients[a].modes.has(UserModes::OPER));
    }

    #[test]
    fn server_notice_masks_are_for_opers() {
        let mut h = Harness::new();
        let a = h.client("alice");
        h.line(a, "MODE alice +s +cko");
        assert_eq!(
            h.take(a),
            [":pico.test 221 alice +i"],
            "ignored for non-opers"
        );
        h.make_oper(a);
        let m2 = mask(&h, a);
        h.line(a, "MODE alice +s +cko");
        assert_eq!(h.take(a), [format!(":{m2} MODE alice +s +cko")]);
        h.line(a, "MODE alice +s ckq");
        assert_eq!(h.take(a), [format!(":{m2} MODE alice +s +q")]);
        h.line(a, "MODE alice +s -kz");
        assert_eq!(h.take(a), [format!(":{m2} MODE alice +s -k")]);
        h.line(a, "MODE alice");
        assert_eq!(
            h.take(a),
            [
                ":pico.test 221 alice +ios",
                ":pico.test 008 alice coq :Server notice masks"
            ]
        );
        h.line(a, "MODE alice -s");
        assert_eq!(h.take(a), [format!(":{m2} MODE alice -s")]);
        assert_eq!(h.s.clients[a].snomasks(), 0);
        h.line(a, "MODE alice +s *");
        h.take(a);
        assert_eq!(h.s.clients[a].snomasks(), crate::state::snomask::all());
        // -o takes the masks with the session.
        h.line(a, "MODE alice -o");
        assert_eq!(h.take(a), [format!(":{m2} MODE alice -os")]);
        assert!(!h.s.clients[a].modes.has(UserModes::SNOTICE));
    }
}
