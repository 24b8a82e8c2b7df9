//! Server notice masks: which server notices (`*** ...` NOTICEs to opers)
//! an oper gets, as user mode `+s` with a mask argument, Ergo's letters
//! (`config::SNOMASKS`): `MODE nick +s +cko` adds connects, kills and oper
//! notices, `+s -k` removes kills, `+s *` adds every mask, `-s` (or
//! `+s -*`) removes them all.
//!
//! A mask set is a bitset, one bit per letter of `SNOMASKS` in order; it
//! lives in the oper session, so losing the session loses the masks.
//! Pure functions; imports `config` (the letters) only.

use crate::config::SNOMASKS;

/// Announcements (rehash).
pub const ANNOUNCEMENTS: char = 'a';
/// Clients connecting.
pub const CONNECTS: char = 'c';
/// Channels: registrations (ChanServ).
pub const CHANNELS: char = 'j';
/// Kills (KILL, and ANDKILL of a K-/D-line).
pub const KILLS: char = 'k';
/// Nick changes (NICK, SANICK).
pub const NICKS: char = 'n';
/// Oper actions: OPER, SAJOIN, SAMODE.
pub const OPERS: char = 'o';
/// Clients quitting.
pub const QUITS: char = 'q';
/// Accounts: registrations and logins.
pub const ACCOUNTS: char = 'u';
/// K-lines and D-lines added and removed.
pub const XLINES: char = 'x';

/// The bit of a mask letter; `None` for a letter that is no mask.
pub fn bit(letter: char) -> Option<u16> {
    SNOMASKS
        .chars()
        .position(|c| c == letter)
        .map(|i| 1u16 << i)
}

/// Every mask.
pub fn all() -> u16 {
    (1u16 << SNOMASKS.len()) - 1
}

/// The letters of a set, in `SNOMASKS` order (`cko`), without a sign.
pub fn letters(set: u16) -> String {
    SNOMASKS
        .chars()
        .enumerate()
        .filter(|(i, _)| set & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect()
}

/// The masks a `+s <arg>` names and whether it adds them (`+cko`, `cko`,
/// `*`) or removes them (`-k`, `-*`); unknown letters are skipped, as
/// Ergo does.
pub fn parse(arg: &str) -> (bool, u16) {
    let (add, rest) = match arg.strip_prefix('-') {
        Some(r) => (false, r),
        None => (true, arg.strip_prefix('+').unwrap_or(arg)),
    };
    if rest.contains('*') {
        return (add, all());
    }
    let set = rest.chars().filter_map(bit).fold(0, |acc, b| acc | b);
    (add, set)
}

/// A change to a set: the new set and the argument that describes what
/// changed (`+ck`, `-q`), `None` when nothing did. Ergo's
/// `EvaluateSnomaskChanges` for `+s <arg>`.
pub fn apply(current: u16, arg: &str) -> (u16, Option<String>) {
    let (add, named) = parse(arg);
    if add {
        let added = named & !current;
        let shown = (added != 0).then(|| format!("+{}", letters(added)));
        (current | added, shown)
    } else {
        let removed = named & current;
        let shown = (removed != 0).then(|| format!("-{}", letters(removed)));
        (current & !removed, shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip_in_order() {
        let set = bit('o').unwrap() | bit('c').unwrap() | bit('k').unwrap();
        assert_eq!(letters(set), "cko");
        assert_eq!(letters(all()), SNOMASKS);
        assert_eq!(bit('z'), None);
        assert_eq!(bit('s'), None);
    }

    #[test]
    fn changes_as_ergo_evaluates_them() {
        let (set, shown) = apply(0, "+cko");
        assert_eq!(
            (letters(set).as_str(), shown.as_deref()),
            ("cko", Some("+cko"))
        );
        let (set2, shown) = apply(set, "ckq");
        assert_eq!(letters(set2), "ckoq");
        assert_eq!(shown.as_deref(), Some("+q"), "only what changed");
        let (set3, shown) = apply(set2, "-kz");
        assert_eq!(
            (letters(set3).as_str(), shown.as_deref()),
            ("coq", Some("-k"))
        );
        assert_eq!(apply(set3, "-k"), (set3, None));
        assert_eq!(apply(set3, "+*").0, all());
        assert_eq!(apply(set3, "-*"), (0, Some("-coq".into())));
        assert_eq!(apply(0, ""), (0, None));
    }
}
