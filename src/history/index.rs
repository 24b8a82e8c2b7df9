//! The in-memory index: per target, its entries in time order as 20-byte
//! [`Slot`]s (time, a 32-bit key of the msgid, and where the body is).
//! Bodies are not here: a slot points into a segment (`seg`, `off`), or to
//! an entry kept in memory (`Loc::Mem`), and the facade fetches them.
//!
//! Order: by `time_ms`, and entries of the same millisecond in the order
//! they were appended (an entry older than the target's last is inserted
//! after every entry of its time). A scan at start appends in file order,
//! so the order is the same after a restart: what CHATHISTORY's msgid
//! paging needs.
//!
//! Pure data structures: no files, no clock. Imports nothing of the crate.

use std::collections::{BTreeMap, VecDeque};

/// Where an entry's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Loc {
    /// A frame at this byte offset of segment `seg` (`NNNNNNNN.seg`).
    Disk { seg: u32, off: u32 },
    /// An entry kept in memory only, under this id.
    Mem(u64),
}

/// Segment numbers are below this bit; a slot's `seg` with it set holds
/// the high half of a memory id instead.
const MEM_BIT: u32 = 1 << 31;
/// The largest segment number (and memory ids stay below 2^63).
pub const SEG_MAX: u32 = MEM_BIT - 1;

/// One indexed entry: 20 bytes, 4-aligned (a `VecDeque<Slot>` packs them).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Slot {
    time: u64,
    key: u32,
    seg: u32,
    off: u32,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Slot({} {:08x} {:?})",
            self.time(),
            self.key(),
            self.loc()
        )
    }
}

impl Slot {
    pub fn new(time: u64, msgid: &str, loc: Loc) -> Slot {
        let (seg, off) = match loc {
            Loc::Disk { seg, off } => (seg & SEG_MAX, off),
            Loc::Mem(id) => (MEM_BIT | ((id >> 32) as u32 & SEG_MAX), id as u32),
        };
        Slot {
            time,
            key: msgid_key(msgid),
            seg,
            off,
        }
    }

    pub fn time(&self) -> u64 {
        self.time
    }

    pub fn key(&self) -> u32 {
        self.key
    }

    pub fn loc(&self) -> Loc {
        let (seg, off) = (self.seg, self.off);
        if seg & MEM_BIT != 0 {
            Loc::Mem((u64::from(seg & SEG_MAX) << 32) | u64::from(off))
        } else {
            Loc::Disk { seg, off }
        }
    }
}

/// The compact key of a msgid: 32-bit FNV-1a. Only narrows the search: a
/// match is confirmed against the msgid of the body.
pub fn msgid_key(msgid: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in msgid.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The slots of every target, by target name.
#[derive(Default)]
pub struct Index {
    targets: BTreeMap<String, VecDeque<Slot>>,
    slots: usize,
}

impl Index {
    pub fn get(&self, target: &str) -> Option<&VecDeque<Slot>> {
        self.targets.get(target)
    }

    /// Adds a slot in its place; returns the target's slot count.
    pub fn insert(&mut self, target: &str, slot: Slot) -> usize {
        let slots = match self.targets.get_mut(target) {
            Some(s) => s,
            None => self.targets.entry(target.to_owned()).or_default(),
        };
        match slots.back() {
            Some(last) if last.time() > slot.time() => {
                let at = slots.partition_point(|s| s.time() <= slot.time());
                slots.insert(at, slot);
            }
            _ => slots.push_back(slot),
        }
        self.slots += 1;
        slots.len()
    }

    /// Removes the oldest slot of `target` (dropping the target when it
    /// was its last).
    pub fn pop_front(&mut self, target: &str) -> Option<Slot> {
        let slots = self.targets.get_mut(target)?;
        let slot = slots.pop_front();
        if slot.is_some() {
            self.slots -= 1;
        }
        if slots.is_empty() {
            self.targets.remove(target);
        }
        slot
    }

    /// Removes the leading slots of `target` that `dead` says are gone, at
    /// most `budget` of them; calls `gone` for each. Returns how many.
    pub fn drain_front(
        &mut self,
        target: &str,
        budget: usize,
        dead: impl Fn(&Slot) -> bool,
        mut gone: impl FnMut(Slot),
    ) -> usize {
        let Some(slots) = self.targets.get_mut(target) else {
            return 0;
        };
        let mut n = 0;
        while n < budget {
            match slots.front() {
                Some(s) if dead(s) => {
                    gone(*s);
                    slots.pop_front();
                    n += 1;
                }
                _ => break,
            }
        }
        self.slots -= n;
        if slots.is_empty() {
            self.targets.remove(target);
        }
        n
    }

    /// The first target name after `after` (the first of all for `None`),
    /// in name order: the retention walk's cursor.
    pub fn next_target(&self, after: Option<&str>) -> Option<&str> {
        use std::ops::Bound::{Excluded, Unbounded};
        let lower = match after {
            Some(a) => Excluded(a),
            None => Unbounded,
        };
        self.targets
            .range::<str, _>((lower, Unbounded))
            .next()
            .map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &VecDeque<Slot>)> {
        self.targets.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn targets(&self) -> usize {
        self.targets.len()
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Frees the spare capacity the growth of each deque left (after the
    /// scan at start).
    pub fn shrink(&mut self) {
        for slots in self.targets.values_mut() {
            slots.shrink_to_fit();
        }
    }

    /// Bytes held: the deques' capacity, the names, and about 48 bytes a
    /// B-tree entry (keys and values in nodes of 11 with their links).
    pub fn heap_bytes(&self) -> usize {
        self.targets
            .iter()
            .map(|(k, v)| {
                k.capacity()
                    + v.capacity() * std::mem::size_of::<Slot>()
                    + std::mem::size_of::<(String, VecDeque<Slot>)>()
                    + 16
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_20_bytes_and_keeps_its_location() {
        assert_eq!(std::mem::size_of::<Slot>(), 20);
        for loc in [
            Loc::Disk { seg: 0, off: 16 },
            Loc::Disk {
                seg: SEG_MAX,
                off: u32::MAX,
            },
            Loc::Mem(0),
            Loc::Mem((1 << 40) + 7),
        ] {
            let s = Slot::new(1_700_000_000_000, "abc", loc);
            assert_eq!(s.loc(), loc);
            assert_eq!(s.time(), 1_700_000_000_000);
            assert_eq!(s.key(), msgid_key("abc"));
        }
        assert_ne!(msgid_key("abc"), msgid_key("abd"));
    }

    #[test]
    fn slots_stay_in_time_order_and_ties_keep_append_order() {
        let mut ix = Index::default();
        for (t, id) in [
            (10, "a"),
            (20, "b"),
            (20, "c"),
            (15, "d"),
            (20, "e"),
            (5, "f"),
        ] {
            ix.insert("#x", Slot::new(t, id, Loc::Mem(0)));
        }
        let keys: Vec<u32> = ix.get("#x").unwrap().iter().map(|s| s.key()).collect();
        let want: Vec<u32> = ["f", "a", "d", "b", "c", "e"].map(msgid_key).to_vec();
        assert_eq!(keys, want);
        assert_eq!(ix.slots(), 6);
        assert_eq!(ix.pop_front("#x").map(|s| s.time()), Some(5));
        let n = ix.drain_front("#x", 10, |s| s.time() < 20, |_| {});
        assert_eq!((n, ix.slots()), (2, 3));
        assert_eq!(ix.next_target(None), Some("#x"));
        assert_eq!(ix.next_target(Some("#x")), None);
        ix.drain_front("#x", 10, |_| true, |_| {});
        assert_eq!((ix.targets(), ix.slots()), (0, 0));
    }
}
