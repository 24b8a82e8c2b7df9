//! The IRCv3 capability table: one row per capability, its bit, wire name
//! and `CAP LS 302` value (fixed in the row, or made from `Settings`).
//! Adding a capability is adding a row (and implementing it); nothing is
//! advertised before it works. A value that depends on the config
//! (draft/multiline's limits, draft/relaymsg's separators, the sts policy)
//! is made by `value` from `Settings`, which the state fills from the
//! config and, for `sts`, the client's connection (plaintext or TLS).
//! `offered` says whether a row is advertised at all (`sts` only when the
//! policy is on, `draft/account-registration` only when registration is).
//! Imports nothing.

/// One capability.
pub struct Cap {
    pub bit: u64,
    pub name: &'static str,
    /// Value shown in `CAP LS 302` (`name=value`), if any.
    pub value: Option<&'static str>,
}

pub const CAP_NOTIFY: u64 = 1 << 0;
pub const MULTI_PREFIX: u64 = 1 << 1;
pub const USERHOST_IN_NAMES: u64 = 1 << 2;
pub const AWAY_NOTIFY: u64 = 1 << 3;
pub const INVITE_NOTIFY: u64 = 1 << 4;
pub const SETNAME: u64 = 1 << 5;
pub const ECHO_MESSAGE: u64 = 1 << 6;
pub const MESSAGE_TAGS: u64 = 1 << 7;
pub const SERVER_TIME: u64 = 1 << 8;
pub const BATCH: u64 = 1 << 9;
pub const LABELED_RESPONSE: u64 = 1 << 10;
pub const ACCOUNT_TAG: u64 = 1 << 11;
pub const ACCOUNT_NOTIFY: u64 = 1 << 12;
pub const EXTENDED_JOIN: u64 = 1 << 13;
pub const CHGHOST: u64 = 1 << 14;
pub const NO_IMPLICIT_NAMES: u64 = 1 << 15;
pub const EXTENDED_MONITOR: u64 = 1 << 16;
pub const STANDARD_REPLIES: u64 = 1 << 17;
pub const SELF_MESSAGE: u64 = 1 << 18;
pub const PRE_AWAY: u64 = 1 << 19;
pub const READ_MARKER: u64 = 1 << 20;
pub const EXTENDED_ISUPPORT: u64 = 1 << 21;
pub const WHOAMI: u64 = 1 << 22;
/// Its `CAP LS 302` value comes from the config (`value`).
pub const MULTILINE: u64 = 1 << 23;
pub const CHANNEL_RENAME: u64 = 1 << 24;
/// Its `CAP LS 302` value comes from the config (`value`).
pub const RELAYMSG: u64 = 1 << 25;
/// IRCv3 Strict Transport Security: offered only when `Settings::sts` is
/// set; its value depends on the connection (`value`). Never requested.
pub const STS: u64 = 1 << 26;
/// SASL (sasl-3.1/3.2): the value is the mechanism list.
pub const SASL: u64 = 1 << 27;
/// draft/account-registration (REGISTER/VERIFY): offered only when
/// `Settings::account_registration` is set; its value says how (`value`).
pub const ACCOUNT_REGISTRATION: u64 = 1 << 28;

/// Capabilities a client may not `CAP REQ` (NAKed): `sts` is a policy the
/// server announces, not a feature to turn on ("Clients MUST NOT request
/// this capability"; the spec lets servers NAK it).
pub const NOT_REQUESTABLE: u64 = STS;

/// Every capability the server implements, in `CAP LS` order.
pub static CAPS: &[Cap] = &[
    Cap {
        bit: ACCOUNT_NOTIFY,
        name: "account-notify",
        value: None,
    },
    Cap {
        bit: ACCOUNT_TAG,
        name: "account-tag",
        value: None,
    },
    Cap {
        bit: AWAY_NOTIFY,
        name: "away-notify",
        value: None,
    },
    Cap {
        bit: BATCH,
        name: "batch",
        value: None,
    },
    Cap {
        bit: CAP_NOTIFY,
        name: "cap-notify",
        value: None,
    },
    Cap {
        bit: CHGHOST,
        name: "chghost",
        value: None,
    },
    Cap {
        bit: ACCOUNT_REGISTRATION,
        name: "draft/account-registration",
        value: None,
    },
    Cap {
        bit: CHANNEL_RENAME,
        name: "draft/channel-rename",
        value: None,
    },
    Cap {
        bit: EXTENDED_ISUPPORT,
        name: "draft/extended-isupport",
        value: None,
    },
    Cap {
        bit: MULTILINE,
        name: "draft/multiline",
        value: None,
    },
    Cap {
        bit: PRE_AWAY,
        name: "draft/pre-away",
        value: None,
    },
    Cap {
        bit: READ_MARKER,
        name: "draft/read-marker",
        value: None,
    },
    Cap {
        bit: RELAYMSG,
        name: "draft/relaymsg",
        value: None,
    },
    Cap {
        bit: WHOAMI,
        name: "draft/whoami",
        value: None,
    },
    Cap {
        bit: ECHO_MESSAGE,
        name: "echo-message",
        value: None,
    },
    Cap {
        bit: EXTENDED_JOIN,
        name: "extended-join",
        value: None,
    },
    Cap {
        bit: EXTENDED_MONITOR,
        name: "extended-monitor",
        value: None,
    },
    Cap {
        bit: INVITE_NOTIFY,
        name: "invite-notify",
        value: None,
    },
    Cap {
        bit: LABELED_RESPONSE,
        name: "labeled-response",
        value: None,
    },
    Cap {
        bit: MESSAGE_TAGS,
        name: "message-tags",
        value: None,
    },
    Cap {
        bit: MULTI_PREFIX,
        name: "multi-prefix",
        value: None,
    },
    Cap {
        bit: NO_IMPLICIT_NAMES,
        name: "no-implicit-names",
        value: None,
    },
    Cap {
        bit: SASL,
        name: "sasl",
        value: None,
    },
    Cap {
        bit: SERVER_TIME,
        name: "server-time",
        value: None,
    },
    Cap {
        bit: SETNAME,
        name: "setname",
        value: None,
    },
    Cap {
        bit: STANDARD_REPLIES,
        name: "standard-replies",
        value: None,
    },
    Cap {
        bit: STS,
        name: "sts",
        value: None,
    },
    Cap {
        bit: USERHOST_IN_NAMES,
        name: "userhost-in-names",
        value: None,
    },
    Cap {
        bit: SELF_MESSAGE,
        name: "znc.in/self-message",
        value: None,
    },
];

/// The configured values some capabilities advertise, which `state`
/// gathers from `Config` (this module knows no config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings<'a> {
    pub multiline_max_bytes: usize,
    pub multiline_max_lines: usize,
    /// `draft/relaymsg`: the separators a relayed nick must contain.
    pub relaymsg: &'a str,
    /// `sts`: the policy, when it is advertised.
    pub sts: Option<StsPolicy>,
    /// The client is connected over TLS (the `sts` value depends on it).
    pub tls: bool,
    /// `sasl`: the mechanisms, comma separated.
    pub sasl: &'a str,
    /// `draft/account-registration`, when users may register accounts.
    pub account_registration: Option<AccountRegistration>,
}

/// How REGISTER works, for the `draft/account-registration` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRegistration {
    /// REGISTER is accepted before connection registration completes.
    pub before_connect: bool,
}

/// The Strict Transport Security policy of the `sts` capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StsPolicy {
    /// The TLS port plaintext clients must reconnect to.
    pub port: u16,
    /// Seconds TLS clients must keep to TLS (0: no persistence policy).
    pub duration: u64,
    /// The network agrees to be in clients' preload lists.
    pub preload: bool,
}

/// The `CAP LS 302` value of `cap`: its row's, or one made from `settings`.
/// `sts` (spec: extensions/sts.md) gives a plaintext client the upgrade
/// policy, `port=<p>`, and a TLS client the persistence policy,
/// `duration=<s>`; each side ignores the other's key, so only the one
/// that counts is sent. `preload` is added to both when set.
/// `draft/account-registration` (spec: extensions/account-registration.md)
/// lists its keys: `before-connect` when REGISTER works before connection
/// registration; never `email-required` (no mail is sent, an address is
/// optional) nor `custom-account-name` (the account is the current nick).
pub fn value(cap: &Cap, settings: &Settings) -> Option<String> {
    match cap.bit {
        MULTILINE => Some(format!(
            "max-bytes={},max-lines={}",
            settings.multiline_max_bytes, settings.multiline_max_lines
        )),
        RELAYMSG => Some(settings.relaymsg.to_owned()),
        SASL => Some(settings.sasl.to_owned()),
        ACCOUNT_REGISTRATION => settings
            .account_registration
            .filter(|r| r.before_connect)
            .map(|_| "before-connect".to_owned()),
        STS => settings.sts.map(|p| {
            let mut v = if settings.tls {
                format!("duration={}", p.duration)
            } else {
                format!("port={}", p.port)
            };
            if p.preload {
                v.push_str(",preload");
            }
            v
        }),
        _ => cap.value.map(str::to_owned),
    }
}

/// Is `cap` advertised under `settings`? Every row but `sts`, which is
/// only when its policy is configured, and `draft/account-registration`,
/// only when registration is on.
pub fn offered(cap: &Cap, settings: &Settings) -> bool {
    match cap.bit {
        STS => settings.sts.is_some(),
        ACCOUNT_REGISTRATION => settings.account_registration.is_some(),
        _ => true,
    }
}

/// The row for a wire name.
pub fn by_name(name: &str) -> Option<&'static Cap> {
    CAPS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The wire names of the bits set in `mask`, space separated.
pub fn names(mask: u64) -> String {
    CAPS.iter()
        .filter(|c| mask & c.bit != 0)
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_distinct_and_rows_sorted() {
        let mut seen = 0u64;
        for cap in CAPS {
            assert_eq!(cap.bit.count_ones(), 1, "{}", cap.name);
            assert_eq!(seen & cap.bit, 0, "{} reuses a bit", cap.name);
            seen |= cap.bit;
        }
        assert!(CAPS.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn values_come_from_the_row_or_the_settings() {
        let settings = Settings {
            multiline_max_bytes: 4096,
            multiline_max_lines: 100,
            relaymsg: "/~",
            sts: None,
            tls: false,
            sasl: "PLAIN",
            account_registration: None,
        };
        let multiline = by_name("draft/multiline").expect("row");
        assert_eq!(
            value(multiline, &settings).as_deref(),
            Some("max-bytes=4096,max-lines=100")
        );
        let relay = by_name("draft/relaymsg").unwrap();
        assert_eq!(value(relay, &settings).as_deref(), Some("/~"));
        let rename = by_name("DRAFT/CHANNEL-RENAME").unwrap();
        assert_eq!(rename.bit, CHANNEL_RENAME);
        assert_eq!(value(rename, &settings), None);
        assert_eq!(value(by_name("batch").expect("row"), &settings), None);
        assert_eq!(
            names(CHANNEL_RENAME | RELAYMSG | BATCH),
            "batch draft/channel-rename draft/relaymsg"
        );
    }

    #[test]
    fn account_registration_is_offered_when_on_with_before_connect_when_allowed() {
        let reg = by_name("draft/account-registration").expect("row");
        assert_eq!(reg.bit, ACCOUNT_REGISTRATION);
        let mut settings = Settings {
            multiline_max_bytes: 4096,
            multiline_max_lines: 100,
            relaymsg: "/",
            sts: None,
            tls: false,
            sasl: "PLAIN",
            account_registration: None,
        };
        assert!(!offered(reg, &settings));
        settings.account_registration = Some(AccountRegistration {
            before_connect: true,
        });
        assert!(offered(reg, &settings));
        assert_eq!(value(reg, &settings).as_deref(), Some("before-connect"));
        settings.account_registration = Some(AccountRegistration {
            before_connect: false,
        });
        assert!(offered(reg, &settings));
        assert_eq!(value(reg, &settings), None);
    }

    #[test]
    fn sts_value_depends_on_the_connection_and_is_offered_only_when_set() {
        let sts = by_name("sts").expect("row");
        assert_eq!(sts.bit, STS);
        assert_ne!(NOT_REQUESTABLE & STS, 0);
        let mut settings = Settings {
            multiline_max_bytes: 4096,
            multiline_max_lines: 100,
            relaymsg: "/",
            sts: None,
            tls: false,
            sasl: "PLAIN",
            account_registration: None,
        };
        assert!(!offered(sts, &settings));
        assert_eq!(value(sts, &settings), None);
        assert!(offered(by_name("batch").expect("row"), &settings));
        settings.sts = Some(StsPolicy {
            port: 6697,
            duration: 2_592_000,
            preload: false,
        });
        assert!(offered(sts, &settings));
        assert_eq!(value(sts, &settings).as_deref(), Some("port=6697"));
        settings.tls = true;
        assert_eq!(value(sts, &settings).as_deref(), Some("duration=2592000"));
        settings.sts = Some(StsPolicy {
            port: 7000,
            duration: 0,
            preload: true,
        });
        assert_eq!(value(sts, &settings).as_deref(), Some("duration=0,preload"));
        settings.tls = false;
        assert_eq!(value(sts, &settings).as_deref(), Some("port=7000,preload"));
    }
}
