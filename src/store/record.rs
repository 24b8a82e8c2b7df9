//! The records the datastore keeps (schema version 1): accounts, registered
//! channels and K-/D-lines, the keys they are filed under, and a change.
//!
//! Plain data with serde derives. bincode writes fields and variants by
//! position, not by name, so inserting, removing or reordering a field or a
//! variant changes the file format: bump `codec::SCHEMA`, move the old layout
//! into upgrade.rs and add its step there. Appending a variant at the end
//! of an enum is the one safe change.
//!
//! Keys arrive already casefolded from the caller (this module knows no
//! casemapping); the records keep the display forms. Imports nothing from
//! the crate.

use serde::{Deserialize, Serialize};

/// A registered account (NickServ REGISTER, draft/account-registration).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account name as registered (display form).
    pub name: String,
    /// A bcrypt hash (`$2a$`/`$2b$`); `None` for certificate-only accounts.
    pub password: Option<String>,
    /// SCRAM-SHA-256 credentials (RFC 5802/7677), derived at registration.
    pub scram: Option<ScramCreds>,
    pub email: Option<String>,
    /// When it was registered (unix seconds).
    pub registered: u64,
    /// Grouped nicknames (display form), the account name first.
    pub nicks: Vec<String>,
    /// TLS client-certificate fingerprints (SASL EXTERNAL), lowercase hex.
    pub certfps: Vec<String>,
    pub settings: AccountSettings,
    /// Whether the registration was verified (REGISTER/VERIFY).
    pub verified: bool,
    pub vhost: Option<String>,
}

/// What SCRAM-SHA-256 stores instead of the password (RFC 5802 §3):
/// `StoredKey = H(ClientKey)`, `ServerKey = HMAC(SaltedPassword, "Server Key")`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCreds {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

/// Per-account settings (NickServ SET).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// NS SET ENFORCE.
    pub enforce: Enforce,
    /// NS SET MULTICLIENT: several connections on one nick; `None` is the
    /// server's default.
    pub multiclient: Option<bool>,
}

/// Nickname reservation enforcement, Ergo's NS SET ENFORCE values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Enforce {
    /// The server's configured method.
    #[default]
    Default,
    /// No enforcement: anyone may use the account's nicks.
    None,
    /// Only the logged-in owner may take the nicks (others are refused).
    Strict,
}

impl Enforce {
    /// The word NS SET ENFORCE and NS INFO use.
    pub fn name(self) -> &'static str {
        match self {
            Enforce::Default => "default",
            Enforce::None => "none",
            Enforce::Strict => "strict",
        }
    }

    /// Parses NS SET ENFORCE's argument (ASCII case-insensitive).
    pub fn parse(word: &str) -> Option<Enforce> {
        [Enforce::Default, Enforce::None, Enforce::Strict]
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(word))
    }
}

/// A registered channel (ChanServ REGISTER).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelReg {
    /// The channel name as registered (display form).
    pub name: String,
    /// The founder's account (casefolded, as the account key).
    pub founder: String,
    /// When it was registered (unix seconds).
    pub registered: u64,
    pub topic: Option<Topic>,
    /// CS TOPIC LOCK: only channel operators with access may change it.
    pub topic_lock: bool,
    /// Parameterless channel modes kept across restarts, e.g. `"nt"`.
    pub modes: String,
    /// `+k`.
    pub key: Option<String>,
    /// `+l`.
    pub limit: Option<u32>,
    pub bans: Vec<ListEntry>,
    pub excepts: Vec<ListEntry>,
    pub invites: Vec<ListEntry>,
    /// CS AMODE: prefix modes given on join.
    pub access: Vec<Access>,
}

/// A channel topic and who set it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub text: String,
    pub set_by: String,
    pub set_at: u64,
}

/// One entry of a `b`, `e` or `I` list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub mask: String,
    pub set_by: String,
    pub set_at: u64,
}

/// One access-list entry: an account and the prefix mode it gets on join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The account (casefolded, as the account key).
    pub account: String,
    /// One of `q a o h v`.
    pub mode: char,
}

/// Which kind of server ban a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LineKind {
    /// KLINE: a `nick!user@host` mask.
    Kline,
    /// DLINE: an IP address or CIDR network.
    Dline,
}

/// A KLINE or DLINE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanLine {
    pub kind: LineKind,
    pub mask: String,
    pub reason: String,
    /// The operator who set it.
    pub oper: String,
    pub set_at: u64,
    /// When it lapses (unix seconds); `None` is permanent.
    pub expires: Option<u64>,
}

/// Where a record is filed. The strings are casefolded by the caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Key {
    Account(String),
    Channel(String),
    Line(LineKind, String),
}

/// One stored value, of the kind its key names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    Account(Account),
    Channel(ChannelReg),
    Line(BanLine),
}

/// One change to the datastore: what the log records, one per frame.
// A Put carries its record inline: changes are made and consumed at once
// (encoded, then moved into the table), so a box would only add an
// allocation per change.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Creates or replaces the whole record under the key.
    Put(Key, Record),
    /// Removes the record (nothing if there is none).
    Delete(Key),
}

impl Key {
    /// Whether `record` is of the kind this key files (a line's kind too).
    pub fn fits(&self, record: &Record) -> bool {
        match (self, record) {
            (Key::Account(_), Record::Account(_)) | (Key::Channel(_), Record::Channel(_)) => true,
            (Key::Line(kind, _), Record::Line(line)) => *kind == line.kind,
            _ => false,
        }
    }
}

impl Change {
    /// The key the change is about.
    pub fn key(&self) -> &Key {
        match self {
            Change::Put(key, _) | Change::Delete(key) => key,
        }
    }

    /// `Put` of an account under its casefolded name.
    pub fn put_account(key: impl Into<String>, account: Account) -> Change {
        Change::Put(Key::Account(key.into()), Record::Account(account))
    }

    /// `Put` of a channel under its casefolded name.
    pub fn put_channel(key: impl Into<String>, channel: ChannelReg) -> Change {
        Change::Put(Key::Channel(key.into()), Record::Channel(channel))
    }

    /// `Put` of a line under its (casefolded) mask.
    pub fn put_line(key: impl Into<String>, line: BanLine) -> Change {
        Change::Put(Key::Line(line.kind, key.into()), Record::Line(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforce_words_are_ergos() {
        assert_eq!(Enforce::parse("STRICT"), Some(Enforce::Strict));
        assert_eq!(Enforce::parse("none"), Some(Enforce::None));
        assert_eq!(Enforce::parse("Default"), Some(Enforce::Default));
        assert_eq!(Enforce::parse("timeout"), None);
        assert_eq!(Enforce::Strict.name(), "strict");
    }

    #[test]
    fn keys_fit_only_their_kind() {
        let line = BanLine {
            kind: LineKind::Dline,
            mask: "192.0.2.0/24".into(),
            reason: "r".into(),
            oper: "o".into(),
            set_at: 1,
            expires: None,
        };
        assert!(Key::Line(LineKind::Dline, "x".into()).fits(&Record::Line(line.clone())));
        assert!(!Key::Line(LineKind::Kline, "x".into()).fits(&Record::Line(line)));
        assert!(!Key::Channel("#a".into()).fits(&Record::Account(Account::default())));
        assert!(Key::Account("a".into()).fits(&Record::Account(Account::default())));
    }
}
