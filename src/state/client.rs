//! One connected client: identity, registration progress, modes, and the
//! per-client timers and counters the server keeps for it.
//!
//! Plain data with small helpers; the behaviour lives in `handlers/`.
//! Imports `proto` and `state::{sendq, fakelag}` only.

use std::net::IpAddr;
use std::time::Instant;

use super::fakelag::Fakelag;
use super::sendq::SendQueue;

/// A client's key in the client slab; equal to its connection's mio token.
pub type ClientId = usize;
/// A channel's key in the channel slab.
pub type ChanId = usize;

/// User modes, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserModes(pub u8);

impl UserModes {
    pub const INVISIBLE: u8 = 1; // i
    pub const WALLOPS: u8 = 2; // w
    pub const OPER: u8 = 4; // o
    pub const BOT: u8 = 8; // B
    pub const TLS: u8 = 16; // Z
    pub const REGISTERED: u8 = 32; // r

    /// The mode letters in the order they are shown.
    pub const LETTERS: [(u8, char); 6] = [
        (Self::BOT, 'B'),
        (Self::INVISIBLE, 'i'),
        (Self::OPER, 'o'),
        (Self::REGISTERED, 'r'),
        (Self::WALLOPS, 'w'),
        (Self::TLS, 'Z'),
    ];

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    pub fn set(&mut self, bit: u8, on: bool) {
        if on {
            self.0 |= bit;
        } else {
            self.0 &= !bit;
        }
    }

    /// The bit for a mode letter.
    pub fn bit(letter: char) -> Option<u8> {
        Self::LETTERS
            .iter()
            .find(|(_, l)| *l == letter)
            .map(|(b, _)| *b)
    }

    /// `+Biw` style string.
    pub fn to_mode_string(self) -> String {
        let mut s = String::from("+");
        for (bit, letter) in Self::LETTERS {
            if self.has(bit) {
                s.push(letter);
            }
        }
        s
    }
}

/// Where a client is in registration.
#[derive(Debug, Default)]
pub struct Registration {
    /// NICK was accepted.
    pub nick: bool,
    /// USER was accepted.
    pub user: bool,
    /// CAP LS/REQ started negotiation; registration waits for CAP END.
    pub cap_negotiating: bool,
    /// The password sent with PASS, kept until it is checked at registration.
    pub pass: Option<String>,
    /// A password check (PASS or OPER) is running on the worker thread.
    pub check_pending: bool,
}

/// An operator's session.
#[derive(Debug, Clone)]
pub struct OperSession {
    pub name: String,
    pub class: String,
    pub title: String,
    pub capabilities: Vec<String>,
    pub whois_line: Option<String>,
    pub hidden: bool,
}

/// One client.
pub struct Client {
    /// Unique for the server's lifetime (a slot is reused, a serial is not).
    pub serial: u64,
    pub ip: IpAddr,
    /// The host shown to others: a cloak, or an oper vhost.
    pub host: String,
    /// "*" until NICK is accepted.
    pub nick: String,
    /// The user name with its `~` (no ident lookup).
    pub user: String,
    pub realname: String,
    pub registered: bool,
    pub reg: Registration,
    pub modes: UserModes,
    pub away: Option<String>,
    pub channels: Vec<ChanId>,
    pub oper: Option<Box<OperSession>>,
    /// Channels (folded names) this client was invited to.
    pub invites: Vec<String>,
    /// Folded nicks this client MONITORs.
    pub monitoring: Vec<String>,
    /// IRCv3 capabilities (bits of `proto::caps`, filled by the IRCv3 issue).
    pub caps: u64,
    /// `CAP LS 302` (or higher) was asked.
    pub cap_version: u16,
    /// Connected at (UNIX seconds), for WHOIS 317.
    pub signon: u64,
    /// Last PRIVMSG/NOTICE (for WHOIS idle).
    pub last_message: Instant,
    /// Last line of any kind received.
    pub last_seen: Instant,
    /// A PING was sent and not yet answered by any line.
    pub ping_sent: bool,
    pub connected_at: Instant,
    pub sendq: SendQueue,
    pub fakelag: Fakelag,
    /// The client was quit; nothing more is read from or delivered to it.
    pub dead: bool,
    /// The local port it connected to.
    pub local_port: u16,
    /// A stamp used to visit each client once while walking several channels.
    pub visit: u64,
    /// The deadline of this client's live entry in `State::timers`; an
    /// entry for another time is stale.
    pub timer_due: Option<Instant>,
    /// The LUSERS counters this client is counted in (`counts`).
    pub counted: u8,
}

impl Client {
    pub fn new(
        serial: u64,
        ip: IpAddr,
        host: String,
        local_port: u16,
        tls: bool,
        now: Instant,
        unix: u64,
    ) -> Client {
        let mut modes = UserModes::default();
        modes.set(UserModes::TLS, tls);
        Client {
            serial,
            ip,
            host,
            nick: "*".into(),
            user: String::new(),
            realname: String::new(),
            registered: false,
            reg: Registration::default(),
            modes,
            away: None,
            channels: Vec::new(),
            oper: None,
            invites: Vec::new(),
            monitoring: Vec::new(),
            caps: 0,
            cap_version: 0,
            signon: unix,
            last_message: now,
            last_seen: now,
            ping_sent: false,
            connected_at: now,
            sendq: SendQueue::default(),
            fakelag: Fakelag::default(),
            dead: false,
            local_port,
            visit: 0,
            timer_due: None,
            counted: 0,
        }
    }

    /// `nick!user@host`.
    pub fn mask(&self) -> String {
        format!("{}!{}@{}", self.nick, self.user, self.host)
    }

    /// `nick!user@ip`, for ban matching against the real address.
    pub fn ip_mask(&self) -> String {
        format!("{}!{}@{}", self.nick, self.user, self.ip)
    }

    pub fn is_oper(&self) -> bool {
        self.oper.is_some()
    }

    /// Does this client's oper class grant `capability`?
    pub fn has_oper_cap(&self, capability: &str) -> bool {
        self.oper
            .as_ref()
            .is_some_and(|o| o.capabilities.iter().any(|c| c == capability))
    }

    pub fn has_cap(&self, bit: u64) -> bool {
        self.caps & bit != 0
    }
}
