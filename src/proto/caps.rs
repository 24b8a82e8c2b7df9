//! The IRCv3 capability table: one row per capability, its bit, wire name
//! and `CAP LS 302` value. Adding a capability is adding a row (and
//! implementing it); nothing is advertised before it works. A value that
//! depends on the config (draft/multiline's limits) is made by `value`
//! from `Settings`, which the state fills from the config.
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
/// Advertised with accounts (issue #7); the tag plumbing is here.
pub const ACCOUNT_TAG: u64 = 1 << 11;
/// draft/multiline (its value comes from the config: `value`).
pub const MULTILINE: u64 = 1 << 20;

/// Every capability the server implements, in `CAP LS` order.
pub static CAPS: &[Cap] = &[
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
        bit: MULTILINE,
        name: "draft/multiline",
        value: None,
    },
    Cap {
        bit: ECHO_MESSAGE,
        name: "echo-message",
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
        bit: USERHOST_IN_NAMES,
        name: "userhost-in-names",
        value: None,
    },
];

/// The configured values some capabilities advertise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub multiline_max_bytes: usize,
    pub multiline_max_lines: usize,
}

/// The `CAP LS 302` value of `cap`: its row's, or one made from `settings`.
pub fn value(cap: &Cap, settings: &Settings) -> Option<String> {
    match cap.bit {
        MULTILINE => Some(format!(
            "max-bytes={},max-lines={}",
            settings.multiline_max_bytes, settings.multiline_max_lines
        )),
        _ => cap.value.map(str::to_owned),
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
    fn values_come_from_the_row_or_the_settings() {
        let settings = Settings {
            multiline_max_bytes: 4096,
            multiline_max_lines: 100,
        };
        let multiline = by_name("draft/multiline").expect("row");
        assert_eq!(
            value(multiline, &settings).as_deref(),
            Some("max-bytes=4096,max-lines=100")
        );
        assert_eq!(value(by_name("batch").expect("row"), &settings), None);
        let bits: Vec<u64> = CAPS.iter().map(|c| c.bit).collect();
        for (i, b) in bits.iter().enumerate() {
            assert_eq!(b.count_ones(), 1);
            assert!(!bits[i + 1..].contains(b), "bit {b:#x} used twice");
        }
    }
}
