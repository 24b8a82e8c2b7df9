//! The CHATHISTORY subcommands' selection rules over one target's slots
//! (draft/chathistory, extensions/chathistory.md): which slots a LATEST,
//! BEFORE, AFTER, AROUND, BETWEEN or TARGETS answers with. The facade
//! resolves a `msgid=` to a position first ([`find_msgid`]) and fetches
//! the bodies after.
//!
//! Bounds, as the spec says: every reference is excluded. A msgid excludes
//! exactly its message (a position); a timestamp excludes every message of
//! that millisecond (`timestamp=T`: BEFORE takes time < T, AFTER time > T).
//! The `limit` counts from the reference (BEFORE: the nearest before it;
//! BETWEEN: from the first reference towards the second, forwards or
//! backwards in time). Results are always in chronological order.
//!
//! `alive` hides slots that retention has expired but not yet removed.
//! Pure functions: no files, no clock. Imports `history::index` only.

use std::collections::VecDeque;

use super::index::{Index, Slot};

/// A reference resolved against a target's slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// The message at this position (a `msgid=` that was found).
    At { pos: usize, time: u64 },
    /// A `timestamp=` (UNIX milliseconds).
    Time(u64),
}

impl Point {
    fn time(self) -> u64 {
        match self {
            Point::At { time, .. } | Point::Time(time) => time,
        }
    }
}

/// The position of the live slot whose key is `key` and whose body
/// `confirm` says has the msgid, searching from the newest (a client pages
/// from recent messages).
pub fn find_msgid(
    slots: &VecDeque<Slot>,
    key: u32,
    alive: impl Fn(&Slot) -> bool,
    mut confirm: impl FnMut(&Slot) -> bool,
) -> Option<Point> {
    (0..slots.len()).rev().find_map(|pos| {
        let s = &slots[pos];
        (s.key() == key && alive(s) && confirm(s)).then(|| Point::At {
            pos,
            time: s.time(),
        })
    })
}

/// The first position after `p` (its exclusive lower bound).
fn after_cut(slots: &VecDeque<Slot>, p: Point) -> usize {
    match p {
        Point::At { pos, .. } => pos + 1,
        Point::Time(t) => slots.partition_point(|s| s.time() <= t),
    }
}

/// One past the last position before `p` (its exclusive upper bound).
fn before_cut(slots: &VecDeque<Slot>, p: Point) -> usize {
    match p {
        Point::At { pos, .. } => pos,
        Point::Time(t) => slots.partition_point(|s| s.time() < t),
    }
}

/// The first `limit` live slots of `lo..hi`.
fn first(
    slots: &VecDeque<Slot>,
    lo: usize,
    hi: usize,
    limit: usize,
    alive: &impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    if lo >= hi {
        return Vec::new();
    }
    slots
        .range(lo..hi)
        .filter(|s| alive(s))
        .take(limit)
        .copied()
        .collect()
}

/// The last `limit` live slots of `lo..hi`, in order.
fn last(
    slots: &VecDeque<Slot>,
    lo: usize,
    hi: usize,
    limit: usize,
    alive: &impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    if lo >= hi {
        return Vec::new();
    }
    let mut out: Vec<Slot> = slots
        .range(lo..hi)
        .rev()
        .filter(|s| alive(s))
        .take(limit)
        .copied()
        .collect();
    out.reverse();
    out
}

/// LATEST: the newest `limit`, after `after` when given (`*` is `None`).
pub fn latest(
    slots: &VecDeque<Slot>,
    after: Option<Point>,
    limit: usize,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    let lo = after.map_or(0, |p| after_cut(slots, p));
    last(slots, lo, slots.len(), limit, &alive)
}

/// BEFORE: the `limit` nearest before `p`.
pub fn before(
    slots: &VecDeque<Slot>,
    p: Point,
    limit: usize,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    last(slots, 0, before_cut(slots, p), limit, &alive)
}

/// AFTER: the `limit` nearest after `p`.
pub fn after(
    slots: &VecDeque<Slot>,
    p: Point,
    limit: usize,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    first(slots, after_cut(slots, p), slots.len(), limit, &alive)
}

/// AROUND: at most `limit` around `p`: `limit / 2` before it, the rest
/// from it on, its own message first (a msgid is included, centred for an
/// odd limit: 5 gives 2, it, 2; 4 gives 2, it, 1). For a timestamp, the
/// split is at the first message of that time or later. When one side has
/// fewer, the other gives more, up to `limit` in all.
pub fn around(
    slots: &VecDeque<Slot>,
    p: Point,
    limit: usize,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    let pivot = before_cut(slots, p);
    let mut before = last(slots, 0, pivot, limit, &alive);
    let from = first(slots, pivot, slots.len(), limit, &alive);
    let mut nb = before.len().min(limit / 2);
    let na = from.len().min(limit - nb);
    nb = before.len().min(limit - na);
    before.drain(..before.len() - nb);
    before.extend_from_slice(&from[..na]);
    before
}

/// BETWEEN: the messages strictly between `a` and `b`, at most `limit`
/// counted from `a` (the oldest ones when `a` is older, the newest when it
/// is newer).
pub fn between(
    slots: &VecDeque<Slot>,
    a: Point,
    b: Point,
    limit: usize,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<Slot> {
    let forward = match (a, b) {
        (Point::At { pos: pa, .. }, Point::At { pos: pb, .. }) => pa < pb,
        // Equal times with a timestamp: the window is empty either way.
        _ => a.time() < b.time(),
    };
    if forward {
        first(
            slots,
            after_cut(slots, a),
            before_cut(slots, b),
            limit,
            &alive,
        )
    } else {
        last(
            slots,
            after_cut(slots, b),
            before_cut(slots, a),
            limit,
            &alive,
        )
    }
}

/// TARGETS: the targets whose latest live message is strictly between the
/// two times and that `which` accepts, at most `limit` counted from
/// `from` (the earliest when `from < to`, the latest otherwise), each with
/// the time of that message; listed latest first.
pub fn targets(
    index: &Index,
    from: u64,
    to: u64,
    limit: usize,
    which: impl Fn(&str) -> bool,
    alive: impl Fn(&Slot) -> bool,
) -> Vec<(String, u64)> {
    let (lo, hi) = (from.min(to), from.max(to));
    let mut found: Vec<(u64, &str)> = index
        .iter()
        .filter_map(|(name, slots)| {
            let t = slots.iter().rev().find(|s| alive(s))?.time();
            (t > lo && t < hi && which(name)).then_some((t, name))
        })
        .collect();
    found.sort_unstable();
    let n = found.len();
    let keep = if from < to {
        0..limit.min(n)
    } else {
        n - limit.min(n)..n
    };
    found[keep]
        .iter()
        .rev()
        .map(|(t, name)| ((*name).to_owned(), *t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::index::{msgid_key, Loc};
    use super::*;

    /// Messages m0..m9 at times 100, 110, 120, 130, 130, 130, 160…190.
    fn ten() -> VecDeque<Slot> {
        let times = [100, 110, 120, 130, 130, 130, 160, 170, 180, 190];
        let mut ix = Index::default();
        for (i, t) in times.iter().enumerate() {
            ix.insert("#x", Slot::new(*t, &format!("m{i}"), Loc::Mem(i as u64)));
        }
        ix.get("#x").unwrap().clone()
    }

    fn ids(slots: &[Slot]) -> Vec<u64> {
        slots
            .iter()
            .map(|s| match s.loc() {
                Loc::Mem(id) => id,
                Loc::Disk { .. } => unreachable!(),
            })
            .collect()
    }

    fn at(slots: &VecDeque<Slot>, i: usize) -> Point {
        find_msgid(slots, msgid_key(&format!("m{i}")), |_| true, |_| true).unwrap()
    }

    const ALL: fn(&Slot) -> bool = |_| true;

    #[test]
    fn msgid_and_timestamp_bounds_are_exclusive() {
        let s = ten();
        assert_eq!(ids(&latest(&s, None, 3, ALL)), [7, 8, 9]);
        assert_eq!(ids(&latest(&s, None, 50, ALL)), (0..10).collect::<Vec<_>>());
        assert_eq!(ids(&latest(&s, Some(at(&s, 7)), 50, ALL)), [8, 9]);
        assert_eq!(
            ids(&latest(&s, Some(Point::Time(130)), 50, ALL)),
            [6, 7, 8, 9]
        );
        assert_eq!(ids(&before(&s, at(&s, 4), 10, ALL)), [0, 1, 2, 3]);
        assert_eq!(ids(&before(&s, Point::Time(130), 10, ALL)), [0, 1, 2]);
        assert_eq!(ids(&before(&s, Point::Time(131), 2, ALL)), [4, 5]);
        assert_eq!(ids(&after(&s, at(&s, 4), 10, ALL)), [5, 6, 7, 8, 9]);
        assert_eq!(ids(&after(&s, Point::Time(130), 2, ALL)), [6, 7]);
        assert_eq!(ids(&after(&s, Point::Time(99), 2, ALL)), [0, 1]);
        assert!(after(&s, at(&s, 9), 10, ALL).is_empty());
        assert!(before(&s, at(&s, 0), 10, ALL).is_empty());
        assert!(latest(&s, None, 0, ALL).is_empty());
    }

    #[test]
    fn between_counts_from_the_first_reference_both_ways() {
        let s = ten();
        assert_eq!(ids(&between(&s, at(&s, 1), at(&s, 8), 3, ALL)), [2, 3, 4]);
        assert_eq!(ids(&between(&s, at(&s, 8), at(&s, 1), 3, ALL)), [5, 6, 7]);
        assert_eq!(ids(&between(&s, at(&s, 3), at(&s, 5), 9, ALL)), [4]);
        assert_eq!(ids(&between(&s, at(&s, 5), at(&s, 3), 9, ALL)), [4]);
        assert_eq!(
            ids(&between(&s, Point::Time(110), Point::Time(180), 9, ALL)),
            [2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            ids(&between(&s, Point::Time(180), Point::Time(110), 2, ALL)),
            [6, 7]
        );
        // Mixed: a msgid and a timestamp.
        assert_eq!(
            ids(&between(&s, at(&s, 4), Point::Time(170), 9, ALL)),
            [5, 6]
        );
        assert_eq!(
            ids(&between(&s, Point::Time(170), at(&s, 4), 9, ALL)),
            [5, 6]
        );
        assert!(between(&s, Point::Time(130), at(&s, 4), 9, ALL).is_empty());
        assert!(between(&s, Point::Time(130), Point::Time(130), 9, ALL).is_empty());
        assert!(between(&s, at(&s, 4), at(&s, 4), 9, ALL).is_empty());
    }

    #[test]
    fn around_centres_odd_limits_and_fills_from_the_other_side() {
        let s = ten();
        assert_eq!(ids(&around(&s, at(&s, 5), 5, ALL)), [3, 4, 5, 6, 7]);
        assert_eq!(ids(&around(&s, at(&s, 5), 4, ALL)), [3, 4, 5, 6]);
        assert_eq!(ids(&around(&s, at(&s, 5), 1, ALL)), [5]);
        assert_eq!(ids(&around(&s, at(&s, 1), 5, ALL)), [0, 1, 2, 3, 4]);
        assert_eq!(ids(&around(&s, at(&s, 9), 4, ALL)), [6, 7, 8, 9]);
        assert_eq!(ids(&around(&s, Point::Time(130), 4, ALL)), [1, 2, 3, 4]);
        assert_eq!(ids(&around(&s, Point::Time(1000), 3, ALL)), [7, 8, 9]);
        assert_eq!(ids(&around(&s, at(&s, 5), 50, ALL)).len(), 10);
    }

    #[test]
    fn dead_slots_are_skipped_and_not_counted() {
        let s = ten();
        let alive = |x: &Slot| x.time() != 180;
        assert_eq!(ids(&latest(&s, None, 3, alive)), [6, 7, 9]);
        assert_eq!(find_msgid(&s, msgid_key("m8"), alive, |_| true), None);
        // A key match the body denies is not the message.
        assert_eq!(find_msgid(&s, msgid_key("m8"), ALL, |_| false), None);
    }

    #[test]
    fn targets_are_listed_latest_first_with_the_limit_from_the_first_time() {
        let mut ix = Index::default();
        for (name, t) in [
            ("#a", 100),
            ("#b", 200),
            ("#c", 300),
            ("#d", 400),
            ("#b", 250),
        ] {
            ix.insert(name, Slot::new(t, "x", Loc::Mem(0)));
        }
        let all = |_: &str| true;
        let names = |v: Vec<(String, u64)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            targets(&ix, 1000, 0, 10, all, ALL),
            [
                ("#d".to_owned(), 400),
                ("#c".to_owned(), 300),
                ("#b".to_owned(), 250),
                ("#a".to_owned(), 100)
            ]
        );
        assert_eq!(names(targets(&ix, 1000, 0, 2, all, ALL)), ["#d", "#c"]);
        assert_eq!(names(targets(&ix, 0, 1000, 2, all, ALL)), ["#b", "#a"]);
        assert_eq!(names(targets(&ix, 250, 400, 9, all, ALL)), ["#c"]);
        assert_eq!(
            names(targets(&ix, 0, 1000, 9, |n: &str| n != "#c", ALL)),
            ["#d", "#b", "#a"]
        );
    }
}
