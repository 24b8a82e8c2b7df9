//! The LUSERS counts (unregistered, invisible, visible opers) kept as
//! counters, so that a registration does not walk every client.
//!
//! Each client remembers which counters it is in (`Client::counted`);
//! `State::recount` moves it to the counters it belongs in now, which is
//! idempotent, so it can be called after anything that may have changed a
//! client's registration, modes, oper session or liveness. Debug builds
//! check the counters against a full walk whenever LUSERS is sent.
//! Imports `client` only.

use super::client::{Client, UserModes};

pub const UNKNOWN: u8 = 1;
pub const INVISIBLE: u8 = 2;
pub const OPER: u8 = 4;

/// How many clients are in each counter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub unknown: usize,
    pub invisible: usize,
    pub opers: usize,
}

impl Counts {
    /// The counters `c` belongs in.
    pub fn membership(c: &Client) -> u8 {
        if c.dead {
            return 0;
        }
        if !c.registered {
            return UNKNOWN;
        }
        let mut bits = 0;
        if c.modes.has(UserModes::INVISIBLE) {
            bits |= INVISIBLE;
        }
        if c.oper.as_ref().is_some_and(|o| !o.hidden) {
            bits |= OPER;
        }
        bits
    }

    /// Moves one client from the counters `old` to the counters `new`.
    pub fn apply(&mut self, old: u8, new: u8) {
        for (bit, n) in [
            (UNKNOWN, &mut self.unknown),
            (INVISIBLE, &mut self.invisible),
            (OPER, &mut self.opers),
        ] {
            match (old & bit != 0, new & bit != 0) {
                (false, true) => *n += 1,
                (true, false) => *n -= 1,
                _ => {}
            }
        }
    }

    /// The counts by walking every client (the debug check).
    pub fn walk<'a>(clients: impl Iterator<Item = &'a Client>) -> Counts {
        let mut counts = Counts::default();
        for c in clients {
            counts.apply(0, Self::membership(c));
        }
        counts
    }
}
