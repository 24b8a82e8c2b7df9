//! One channel: members with their prefixes, modes, topic, and the
//! ban/exception/invite-exception lists.
//!
//! Plain data plus the rules that need nothing but the channel (who may set
//! what, does a mask list match). Members are a Vec sorted by client id:
//! fan-out walks it in order, lookups are a binary search.
//! Imports `proto` and `state::client` only.

use super::client::ClientId;
use crate::proto::mask;

/// Member prefixes, one bit each; higher bit = higher rank.
pub mod prefix {
    pub const VOICE: u8 = 1; // + v
    pub const HALFOP: u8 = 2; // % h
    pub const OP: u8 = 4; // @ o
    pub const ADMIN: u8 = 8; // & a
    pub const FOUNDER: u8 = 16; // ~ q

    /// (bit, mode letter, prefix char), highest first: `PREFIX=(qaohv)~&@%+`.
    pub const ALL: [(u8, char, char); 5] = [
        (FOUNDER, 'q', '~'),
        (ADMIN, 'a', '&'),
        (OP, 'o', '@'),
        (HALFOP, 'h', '%'),
        (VOICE, 'v', '+'),
    ];

    /// The bit for a mode letter (q a o h v).
    pub fn from_mode(letter: char) -> Option<u8> {
        ALL.iter()
            .find(|(_, m, _)| *m == letter)
            .map(|(b, _, _)| *b)
    }

    /// The bit for a prefix char (~ & @ % +).
    pub fn from_char(c: char) -> Option<u8> {
        ALL.iter().find(|(_, _, p)| *p == c).map(|(b, _, _)| *b)
    }

    /// The highest prefix char, if any.
    pub fn highest(bits: u8) -> Option<char> {
        ALL.iter()
            .find(|(b, _, _)| bits & b != 0)
            .map(|(_, _, p)| *p)
    }

    /// Every prefix char, highest first (multi-prefix).
    pub fn all_chars(bits: u8) -> String {
        ALL.iter()
            .filter(|(b, _, _)| bits & b != 0)
            .map(|(_, _, p)| *p)
            .collect()
    }

    /// The rank of the highest bit (0 when none).
    pub fn rank(bits: u8) -> u8 {
        if bits == 0 {
            0
        } else {
            8 - bits.leading_zeros() as u8
        }
    }
}

/// A member of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub id: ClientId,
    pub prefix: u8,
}

/// An entry of a b/e/I list.
#[derive(Debug, Clone)]
pub struct ListEntry {
    pub mask: String,
    pub set_by: String,
    pub set_at: u64,
}

/// The topic and who set it when.
#[derive(Debug, Clone)]
pub struct Topic {
    pub text: String,
    pub set_by: String,
    pub set_at: u64,
}

/// Channel modes without parameters, one bit each.
pub mod flag {
    pub const INVITE_ONLY: u16 = 1; // i
    pub const MODERATED: u16 = 2; // m
    pub const NO_EXTERNAL: u16 = 4; // n
    pub const SECRET: u16 = 8; // s
    pub const TOPIC_LOCK: u16 = 16; // t
    pub const NO_CTCP: u16 = 32; // C

    /// (bit, letter) in the order `MODE #chan` shows them.
    pub const ALL: [(u16, char); 6] = [
        (NO_CTCP, 'C'),
        (INVITE_ONLY, 'i'),
        (MODERATED, 'm'),
        (NO_EXTERNAL, 'n'),
        (SECRET, 's'),
        (TOPIC_LOCK, 't'),
    ];

    pub fn from_letter(letter: char) -> Option<u16> {
        ALL.iter().find(|(_, l)| *l == letter).map(|(b, _)| *b)
    }
}

/// One channel.
pub struct Channel {
    /// The name as first created (case kept).
    pub name: String,
    pub members: Vec<Member>,
    pub topic: Option<Topic>,
    /// UNIX seconds (RPL_CREATIONTIME).
    pub created: u64,
    pub flags: u16,
    pub key: Option<String>,
    pub limit: Option<usize>,
    pub bans: Vec<ListEntry>,
    pub excepts: Vec<ListEntry>,
    pub invex: Vec<ListEntry>,
}

impl Channel {
    pub fn new(name: String, created: u64) -> Channel {
        Channel {
            name,
            members: Vec::new(),
            topic: None,
            created,
            // Ergo's default channel modes: +nt.
            flags: flag::NO_EXTERNAL | flag::TOPIC_LOCK,
            key: None,
            limit: None,
            bans: Vec::new(),
            excepts: Vec::new(),
            invex: Vec::new(),
        }
    }

    fn find(&self, id: ClientId) -> Result<usize, usize> {
        self.members.binary_search_by_key(&id, |m| m.id)
    }

    pub fn is_member(&self, id: ClientId) -> bool {
        self.find(id).is_ok()
    }

    /// The member's prefix bits, `None` if not a member.
    pub fn prefix_of(&self, id: ClientId) -> Option<u8> {
        self.find(id).ok().map(|i| self.members[i].prefix)
    }

    /// Adds a member (no-op when present).
    pub fn add(&mut self, id: ClientId, prefix: u8) {
        if let Err(i) = self.find(id) {
            self.members.insert(i, Member { id, prefix });
        }
    }

    pub fn remove(&mut self, id: ClientId) {
        if let Ok(i) = self.find(id) {
            self.members.remove(i);
        }
    }

    /// Sets or clears a prefix bit; false if not a member.
    pub fn set_prefix(&mut self, id: ClientId, bit: u8, on: bool) -> bool {
        match self.find(id) {
            Ok(i) => {
                let m = &mut self.members[i];
                if on {
                    m.prefix |= bit;
                } else {
                    m.prefix &= !bit;
                }
                true
            }
            Err(_) => false,
        }
    }

    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Is either mask (`nick!user@host` or with the IP) on `list`?
    pub fn list_matches(list: &[ListEntry], masks: &[&str]) -> bool {
        list.iter()
            .any(|e| masks.iter().any(|m| mask::matches(&e.mask, m)))
    }

    /// Banned and not excepted?
    pub fn is_banned(&self, masks: &[&str]) -> bool {
        Self::list_matches(&self.bans, masks) && !Self::list_matches(&self.excepts, masks)
    }

    /// `+ntk key` style mode string; the key is shown only to members.
    pub fn mode_string(&self, show_key: bool) -> (String, Vec<String>) {
        let mut s = String::from("+");
        let mut params = Vec::new();
        for (bit, letter) in flag::ALL {
            if self.has(bit) {
                s.push(letter);
            }
        }
        if let Some(k) = &self.key {
            s.push('k');
            params.push(if show_key { k.clone() } else { "*".into() });
        }
        if let Some(l) = self.limit {
            s.push('l');
            params.push(l.to_string());
        }
        (s, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_stay_sorted_with_prefixes() {
        let mut c = Channel::new("#a".into(), 0);
        c.add(5, prefix::OP);
        c.add(2, 0);
        c.add(9, prefix::VOICE);
        c.add(5, 0);
        assert_eq!(
            c.members.iter().map(|m| m.id).collect::<Vec<_>>(),
            [2, 5, 9]
        );
        assert_eq!(c.prefix_of(5), Some(prefix::OP));
        assert!(c.set_prefix(2, prefix::HALFOP, true));
        assert_eq!(prefix::highest(prefix::OP | prefix::VOICE), Some('@'));
        assert_eq!(prefix::all_chars(prefix::OP | prefix::VOICE), "@+");
        assert!(prefix::rank(prefix::FOUNDER) > prefix::rank(prefix::OP));
        c.remove(5);
        assert!(!c.is_member(5));
    }

    #[test]
    fn bans_and_exceptions() {
        let mut c = Channel::new("#a".into(), 0);
        let e = |m: &str| ListEntry {
            mask: m.into(),
            set_by: "x".into(),
            set_at: 0,
        };
        c.bans.push(e("*!*@bad.host"));
        assert!(c.is_banned(&["n!u@bad.host"]));
        assert!(!c.is_banned(&["n!u@good.host"]));
        c.excepts.push(e("friend!*@*"));
        assert!(!c.is_banned(&["friend!u@bad.host"]));
        let (modes, params) = c.mode_string(true);
        assert_eq!(modes, "+nt");
        assert!(params.is_empty());
    }
}
