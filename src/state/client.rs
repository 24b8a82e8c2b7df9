//! One connected client: identity, registration progress, modes, and the
//! per-client timers and counters the server keeps for it.
//!
//! Plain data with small helpers; the behaviour lives in `handlers/`.
//! Imports `state::{clock, sendq, fakelag, identity, multiline}` only.

use std::net::IpAddr;

use super::clock::Stamp;
use super::fakelag::Fakelag;
use super::identity::Identity;
use super::multiline::Batch;
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
    /// Server notices: set while an oper has server notice masks.
    pub const SNOTICE: u8 = 64; // s

    /// The mode letters in the order they are shown.
    pub const LETTERS: [(u8, char); 7] = [
        (Self::BOT, 'B'),
        (Self::INVISIBLE, 'i'),
        (Self::OPER, 'o'),
        (Self::REGISTERED, 'r'),
        (Self::SNOTICE, 's'),
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
    /// A password check (PASS or OPER) is running on the worker thread.
    pub check_pending: bool,
    /// The password sent with PASS, kept until it is checked at registration.
    pub pass: Option<Box<str>>,
}

/// An operator's session.
#[derive(Debug, Clone, Default)]
pub struct OperSession {
    pub name: String,
    pub class: String,
    pub title: String,
    pub capabilities: Vec<String>,
    pub whois_line: Option<String>,
    pub hidden: bool,
    /// Server notice masks (`state::snomask`), user mode +s.
    pub snomasks: u16,
}

/// What most clients never have: an away message, pending invites, a
/// MONITOR list, a multiline batch being sent. Boxed behind one pointer in `Client`, and dropped again
/// when it is empty (`Client::tidy_extra`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Extra {
    pub away: Option<String>,
    /// Channels (folded names) this client was invited to.
    pub invites: Vec<String>,
    /// Folded nicks this client MONITORs.
    pub monitoring: Vec<String>,
    /// The account this client is logged in to (set by the accounts
    /// issue's login paths through `State::set_account`).
    pub account: Option<Box<str>>,
    /// draft/read-marker: (folded target, UNIX ms of the last message
    /// read), most recently set last; at most `MAX_READ_MARKERS`.
    pub read_markers: Vec<(Box<str>, u64)>,
    /// The SHA-256 fingerprint (lower-case hex) of the TLS client
    /// certificate, if the client sent one (WHOIS 276, certfp matching).
    pub certfp: Option<Box<str>>,
    /// A draft/multiline batch being sent (boxed: most Extras never hold one).
    pub multiline: Option<Box<Batch>>,
    /// Fakelag owed for a closed multiline batch, charged before the
    /// client's next lines are handled (`State::admit`).
    pub fakelag_debt: u32,
    /// A SASL exchange under way (`handlers::sasl`).
    pub sasl: Option<Box<SaslSession>>,
    /// Nick enforcement (`timeout`): when the client is renamed unless it
    /// logged in to the account that owns its nick, and which nick that
    /// was (folded).
    pub enforce_at: Option<(Stamp, Box<str>)>,
}

/// A SASL exchange, compared only by being there (`Extra` is compared
/// with its default to know when it can be dropped).
#[derive(Debug, Default)]
pub struct SaslSession(pub crate::proto::sasl::Session);

impl PartialEq for SaslSession {
    fn eq(&self, other: &Self) -> bool {
        self.0.in_progress() == other.0.in_progress()
    }
}

impl Eq for SaslSession {}

/// One client. Kept small: 10,000 idle clients should cost under 10 MB,
/// so cold data is boxed (`oper`, `extra`) and the names share one
/// allocation (`Identity`).
pub struct Client {
    /// Unique for the server's lifetime (a slot is reused, a serial is not).
    pub serial: u64,
    /// IRCv3 capabilities (bits of `proto::caps`, filled by the IRCv3 issue).
    pub caps: u64,
    /// A stamp used to visit each client once while walking several channels.
    pub visit: u64,
    /// Connected at (UNIX seconds), for WHOIS 317.
    pub signon: u64,
    /// nick ("*" until NICK is accepted), user (with its `~`: no ident
    /// lookup), host (a cloak, or an oper vhost) and realname.
    pub id: Identity,
    pub channels: Vec<ChanId>,
    pub oper: Option<Box<OperSession>>,
    pub extra: Option<Box<Extra>>,
    pub sendq: SendQueue,
    pub fakelag: Fakelag,
    /// Last PRIVMSG/NOTICE (for WHOIS idle).
    pub last_message: Stamp,
    /// Last line of any kind received.
    pub last_seen: Stamp,
    pub connected_at: Stamp,
    /// The deadline of this client's live entry in `State::timers`; an
    /// entry for another time is stale. `Stamp(0)`: none.
    pub timer_due: Stamp,
    pub reg: Registration,
    pub ip: IpAddr,
    pub modes: UserModes,
    pub registered: bool,
    /// A PING was sent and not yet answered by any line.
    pub ping_sent: bool,
    /// The client was quit; nothing more is read from or delivered to it.
    pub dead: bool,
    /// The LUSERS counters this client is counted in (`counts`).
    pub counted: u8,
    /// `CAP LS 302` (or higher) was asked.
    pub cap_version: u16,
    /// The local port it connected to.
    pub local_port: u16,
}

impl Client {
    pub fn new(
        serial: u64,
        ip: IpAddr,
        host: String,
        local_port: u16,
        tls: bool,
        now: Stamp,
        unix: u64,
    ) -> Client {
        let mut modes = UserModes::default();
        modes.set(UserModes::TLS, tls);
        Client {
            serial,
            caps: 0,
            visit: 0,
            signon: unix,
            id: Identity::new("*", "", &host, ""),
            channels: Vec::new(),
            oper: None,
            extra: None,
            sendq: SendQueue::default(),
            fakelag: Fakelag::default(),
            last_message: now,
            last_seen: now,
            connected_at: now,
            timer_due: Stamp(0),
            reg: Registration::default(),
            ip,
            modes,
            registered: false,
            ping_sent: false,
            dead: false,
            counted: 0,
            cap_version: 0,
            local_port,
        }
    }

    pub fn nick(&self) -> &str {
        self.id.nick()
    }

    pub fn user(&self) -> &str {
        self.id.user()
    }

    pub fn host(&self) -> &str {
        self.id.host()
    }

    pub fn realname(&self) -> &str {
        self.id.realname()
    }

    pub fn away(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.away.as_deref())
    }

    pub fn invites(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.invites)
    }

    pub fn monitoring(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.monitoring)
    }

    pub fn certfp(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.certfp.as_deref())
    }

    pub fn account(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.account.as_deref())
    }

    /// The read marker (UNIX ms) this client set for a folded target.
    pub fn read_marker(&self, folded: &str) -> Option<u64> {
        self.extra.as_ref().and_then(|e| {
            e.read_markers
                .iter()
                .find(|(t, _)| &**t == folded)
                .map(|&(_, ms)| ms)
        })
    }

    /// The cold fields, created on first use; call `tidy_extra` after a
    /// change that may have emptied them.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Frees the cold fields once nothing is left in them.
    pub fn tidy_extra(&mut self) {
        if self
            .extra
            .as_deref()
            .is_some_and(|e| *e == Extra::default())
        {
            self.extra = None;
        } else if let Some(e) = self.extra.as_deref_mut() {
            e.invites.shrink_to_fit();
            e.monitoring.shrink_to_fit();
            e.read_markers.shrink_to_fit();
        }
    }

    /// Joins channel `ch` in this client's own list, which grows by one
    /// slot at a time: most clients are in a few channels, and a doubling
    /// Vec would hold up to twice the room.
    pub fn add_channel(&mut self, ch: ChanId) {
        self.channels.reserve_exact(1);
        self.channels.push(ch);
    }

    /// Leaves channel `ch` in this client's own list.
    pub fn remove_channel(&mut self, ch: ChanId) {
        self.channels.retain(|&c| c != ch);
        self.channels.shrink_to_fit();
    }

    /// `nick!user@host`.
    pub fn mask(&self) -> String {
        self.id.prefix().to_owned()
    }

    /// `nick!user@ip`, for ban matching against the real address.
    pub fn ip_mask(&self) -> String {
        format!("{}!{}@{}", self.nick(), self.user(), self.ip)
    }

    pub fn is_oper(&self) -> bool {
        self.oper.is_some()
    }

    /// The server notice masks this client gets (none unless an oper).
    pub fn snomasks(&self) -> u16 {
        self.oper.as_ref().map_or(0, |o| o.snomasks)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The idle-memory target (issue #4: at most 1 KB per client, all
    /// tables included) leaves the client record about a quarter of it.
    #[test]
    fn a_client_record_stays_small() {
        assert!(
            std::mem::size_of::<Client>() <= 256,
            "{}",
            std::mem::size_of::<Client>()
        );
        assert!(std::mem::size_of::<Option<Box<Extra>>>() == 8);
    }

    #[test]
    fn cold_fields_are_freed_when_emptied() {
        let mut c = Client::new(
            1,
            [127, 0, 0, 1].into(),
            "h".into(),
            6667,
            false,
            Stamp(5),
            0,
        );
        assert!(c.extra.is_none() && c.away().is_none() && c.invites().is_empty());
        c.extra_mut().invites.push("#a".into());
        c.tidy_extra();
        assert_eq!(c.invites(), ["#a"]);
        c.extra_mut().invites.clear();
        c.tidy_extra();
        assert!(c.extra.is_none());
        c.add_channel(3);
        c.add_channel(4);
        c.remove_channel(3);
        assert_eq!(c.channels, [4]);
        assert_eq!(c.channels.capacity(), 1);
    }
}
