//! The compiled defaults of every optional key, in one place. The shipped
//! ircd.conf shows the same values (a test compares them).
//! Imports nothing from the crate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub const BCRYPT_COST: i64 = 12;
pub const MAX_CLIENTS: i64 = 10_000;
pub const PER_IP: i64 = 16;
pub const THROTTLE_PER_MINUTE: i64 = 32;
pub const SENDQ: i64 = 98_304;
pub const NICKLEN: i64 = 32;
pub const CHANNELLEN: i64 = 64;
pub const TOPICLEN: i64 = 390;
pub const AWAYLEN: i64 = 390;
pub const KICKLEN: i64 = 390;
pub const CHANLIMIT: i64 = 100;
pub const MULTILINE_MAX_BYTES: i64 = 4096;
pub const MULTILINE_MAX_LINES: i64 = 100;
pub const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);
pub const PING: Duration = Duration::from_secs(90);
pub const PING_TIMEOUT: Duration = Duration::from_secs(150);
/// How often TLS certificate files are checked for changes.
pub const TLS_WATCH: Duration = Duration::from_secs(60);
pub const FAKELAG_WINDOW: Duration = Duration::from_secs(1);
pub const FAKELAG_BURST: i64 = 5;
pub const FAKELAG_PER_WINDOW: i64 = 2;
pub const FAKELAG_COOLDOWN: Duration = Duration::from_secs(2);
pub const CLOAK_NETNAME: &str = "irc";
pub const CLOAK_SECRET_FILE: &str = "cloak.key";
pub const CLOAK_CIDR_V4: i64 = 32;
pub const CLOAK_CIDR_V6: i64 = 64;
pub const CLOAK_BITS: i64 = 64;
pub const DATASTORE: &str = "ircd.db";
pub const HISTORY: &str = "history";
pub const LOG_LEVEL: &str = "info";
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug"];
/// Topic, away and kick texts longer than this would not fit in a 512-byte line.
pub const TEXT_MAX: i64 = 390;
/// `relaymsg.separators`, as Ergo's default.
pub const RELAYMSG_SEPARATORS: &str = "/";
/// `sts.duration`: no persistence policy (`duration=0`), as the IRCv3
/// spec advises for a default, so that pinning clients to TLS is a choice
/// the operator makes (Ergo's example config shows about a month).
pub const STS_DURATION: Duration = Duration::ZERO;
/// `server.trusted-proxies`: the loopback, as (address, prefix length).
pub const TRUSTED_PROXIES: &[(IpAddr, u8)] = &[
    (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
    (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
];
