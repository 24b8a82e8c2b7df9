//! Who may connect: the client limit, concurrent connections per IP and
//! new connections per IP per minute, with exempt address blocks.
//! Imports `config` only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::config::LimitsConfig;

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ServerFull,
    TooManyFromIp,
    Throttled,
}

impl Refusal {
    /// The `ERROR` text sent before closing.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::ServerFull => "Server is full",
            Refusal::TooManyFromIp => "Too many connections from your IP address",
            Refusal::Throttled => {
                "Your IP address has connected too many times recently; try again later"
            }
        }
    }
}

const THROTTLE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Admission {
    /// Open connections per address (u32: 24-byte entries, not 32).
    per_ip: HashMap<IpAddr, u32>,
    recent: HashMap<IpAddr, (Instant, usize)>,
    total: usize,
}

impl Admission {
    /// Checks and counts a new connection from `ip`.
    pub fn admit(&mut self, cfg: &LimitsConfig, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.total >= cfg.max_clients {
            return Err(Refusal::ServerFull);
        }
        let exempt = cfg.exempt.iter().any(|n| n.contains(ip));
        if !exempt {
            if cfg.per_ip > 0 && self.per_ip.get(&ip).map_or(0, |&n| n as usize) >= cfg.per_ip {
                return Err(Refusal::TooManyFromIp);
            }
            if cfg.throttle_per_minute > 0 {
                let e = self.recent.entry(ip).or_insert((now, 0));
                if now.saturating_duration_since(e.0) >= THROTTLE_WINDOW {
                    *e = (now, 0);
                }
                if e.1 >= cfg.throttle_per_minute {
                    return Err(Refusal::Throttled);
                }
                e.1 += 1;
            }
        }
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.total += 1;
        Ok(())
    }

    /// Counts a connection from `ip` without checking the limits: a
    /// connection whose proxied address was refused goes back to being
    /// counted as its proxy's until it closes.
    pub fn count(&mut self, ip: IpAddr) {
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.total += 1;
    }

    /// A counted connection from `ip` closed.
    pub fn release(&mut self, ip: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Forgets throttle windows that have passed (called now and then).
    pub fn sweep(&mut self, now: Instant) {
        self.recent
            .retain(|_, (start, _)| now.saturating_duration_since(*start) < THROTTLE_WINDOW);
    }

    pub fn total(&self) -> usize {
        self.total
    }
}
