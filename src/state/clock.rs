//! Time as the state stores it: a `Stamp` is whole milliseconds since the
//! state was made, 8 bytes where an `Instant` takes 16. Clients keep
//! several of them, and the deadline heap one per entry, so the halving
//! counts at 10,000 clients. `net` still speaks `Instant`; `Clock`
//! converts at the boundary. Reads no clock itself: the epoch is given.
//!
//! Imports nothing from the crate.

use std::ops::Add;
use std::time::{Duration, Instant};

/// Milliseconds since the state's epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub u64);

impl Stamp {
    /// How long after `earlier` this is (zero if it is not after).
    pub fn since(self, earlier: Stamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Stamp {
    type Output = Stamp;

    fn add(self, d: Duration) -> Stamp {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Stamp(self.0.saturating_add(ms))
    }
}

/// Converts between `Instant`s and `Stamp`s.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn new(epoch: Instant) -> Clock {
        Clock { epoch }
    }

    /// `now` as a stamp, rounded down to the millisecond (an instant
    /// before the epoch is the epoch).
    pub fn stamp(&self, now: Instant) -> Stamp {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        Stamp(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The instant of a stamp. A deadline turned into an instant and back
    /// gives the same stamp, so a wake-up at it finds the deadline due.
    pub fn instant(&self, s: Stamp) -> Instant {
        self.epoch + Duration::from_millis(s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_arithmetic() {
        let t0 = Instant::now();
        let clock = Clock::new(t0);
        let t = t0 + Duration::from_micros(12_345_678);
        let s = clock.stamp(t);
        assert_eq!(s, Stamp(12_345));
        assert_eq!(clock.stamp(clock.instant(s)), s);
        assert!(clock.instant(s) <= t);
        let due = s + Duration::from_secs(60);
        assert_eq!(due.since(s), Duration::from_secs(60));
        assert_eq!(s.since(due), Duration::ZERO);
        assert_eq!(
            clock.stamp(t0 - Duration::from_secs(1).min(t0.elapsed())),
            Stamp(0)
        );
        assert_eq!(
            Stamp(u64::MAX - 1) + Duration::from_secs(5),
            Stamp(u64::MAX)
        );
    }
}
