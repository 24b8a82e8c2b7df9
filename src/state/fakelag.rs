//! Flood control: Ergo's "fakelag". A client may send a burst of
//! `burst_limit` lines freely; after that its lines are spaced to
//! `messages_per_window` per `window`, until it has been quiet for
//! `cooldown`. Lines are delayed, never dropped (the socket's own buffer
//! and the read limit push back on the flooder). Imports `config` only.

use std::time::{Duration, Instant};

use crate::config::FakelagConfig;

/// Per-client flood state.
#[derive(Debug, Default, Clone)]
pub struct Fakelag {
    burst: u32,
    throttled: bool,
    last: Option<Instant>,
}

impl Fakelag {
    /// Asks to handle one line at `now`. `None`: go ahead (and it is
    /// counted). `Some(t)`: wait until `t`, then ask again.
    pub fn admit(&mut self, cfg: &FakelagConfig, now: Instant) -> Option<Instant> {
        if !cfg.enabled {
            return None;
        }
        let since = self.last.map(|l| now.saturating_duration_since(l));
        if since.is_some_and(|s| s >= cfg.cooldown) {
            self.throttled = false;
            self.burst = 0;
        }
        if self.throttled {
            let spacing = cfg.window / cfg.messages_per_window.max(1);
            let since = since.unwrap_or(Duration::MAX);
            if since < spacing {
                // `last` is Some whenever throttled.
                return self.last.map(|l| l + spacing);
            }
        } else {
            self.burst += 1;
            if self.burst >= cfg.burst_limit {
                self.throttled = true;
            }
        }
        self.last = Some(now);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> FakelagConfig {
        FakelagConfig {
            enabled: true,
            window: Duration::from_secs(1),
            burst_limit: 5,
            messages_per_window: 2,
            cooldown: Duration::from_secs(2),
        }
    }

    #[test]
    fn bursts_then_spaces_then_cools_down() {
        let c = cfg();
        let mut f = Fakelag::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(f.admit(&c, t0), None);
        }
        let wait = f.admit(&c, t0).expect("throttled after the burst");
        assert_eq!(wait, t0 + Duration::from_millis(500));
        assert_eq!(f.admit(&c, wait), None);
        assert!(f.admit(&c, wait).is_some());
        let later = wait + Duration::from_secs(3);
        for _ in 0..5 {
            assert_eq!(f.admit(&c, later), None);
        }
    }

    #[test]
    fn disabled_never_waits() {
        let mut c = cfg();
        c.enabled = false;
        let mut f = Fakelag::default();
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(f.admit(&c, t0), None);
        }
    }
}
