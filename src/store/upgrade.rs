//! Schema versions: how a frame written under an older schema becomes a
//! change of the current one. The loader (file.rs) decodes an older file
//! with [`decode`], then rewrites it in the current schema after saving a
//! backup, as Oragono's `datastore.autoupgrade` does.
//!
//! Each old schema keeps its layout in a module of its own (`v0`, …) with
//! a `decode` and an `upgrade` to the next schema; [`decode`] chains the
//! steps. When schema 2 comes, today's record.rs types are copied into a
//! `v1` module with an `upgrade` to 2, and `v0::upgrade` is followed by
//! `v1::upgrade`. Imports `store::record` and `store::codec`.

use super::codec::{self, Torn, SCHEMA};
use super::record::Change;

/// A frame's payload under schema `version` as a current change.
pub fn decode(version: u32, payload: &[u8]) -> Result<Change, Torn> {
    match version {
        0 => codec::decode::<v0::Change>(payload).map(v0::upgrade),
        SCHEMA => codec::decode::<Change>(payload),
        v => Err(Torn::Undecodable(format!("no decoder for schema {v}"))),
    }
}

/// Schema 0, the pre-release layout (accounts with a password and an
/// e-mail, channels with a founder and a bare topic; no lines). No release
/// wrote it; it is kept so that the upgrade path is real code that the
/// tests run on real files, and as the model for the next step.
pub mod v0 {
    use serde::{Deserialize, Serialize};

    use super::super::record as v1;

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Account {
        pub name: String,
        pub password: Option<String>,
        pub email: Option<String>,
        pub registered: u64,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Channel {
        pub name: String,
        pub founder: String,
        pub registered: u64,
        pub topic: Option<String>,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Key {
        Account(String),
        Channel(String),
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Record {
        Account(Account),
        Channel(Channel),
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Change {
        Put(Key, Record),
        Delete(Key),
    }

    /// Schema 0 → 1: an account's nick group starts with its name; a
    /// channel's topic is credited to its founder at registration time,
    /// and it gets the modes a new channel gets (`nt`).
    pub fn upgrade(change: Change) -> v1::Change {
        let key = |k: Key| match k {
            Key::Account(k) => v1::Key::Account(k),
            Key::Channel(k) => v1::Key::Channel(k),
        };
        match change {
            Change::Delete(k) => v1::Change::Delete(key(k)),
            Change::Put(k, Record::Account(a)) => v1::Change::Put(
                key(k),
                v1::Record::Account(v1::Account {
                    nicks: vec![a.name.clone()],
                    name: a.name,
                    password: a.password,
                    email: a.email,
                    registered: a.registered,
                    ..v1::Account::default()
                }),
            ),
            Change::Put(k, Record::Channel(c)) => v1::Change::Put(
                key(k),
                v1::Record::Channel(v1::ChannelReg {
                    topic: c.topic.map(|text| v1::Topic {
                        text,
                        set_by: c.founder.clone(),
                        set_at: c.registered,
                    }),
                    name: c.name,
                    founder: c.founder,
                    registered: c.registered,
                    modes: "nt".into(),
                    ..v1::ChannelReg::default()
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_frames_decode_as_current_changes() {
        let old = v0::Change::Put(
            v0::Key::Channel("#pi".into()),
            v0::Record::Channel(v0::Channel {
                name: "#Pi".into(),
                founder: "alice".into(),
                registered: 9,
                topic: Some("hello".into()),
            }),
        );
        let mut frame = Vec::new();
        codec::push_frame(&mut frame, &old).unwrap();
        let (payload, _) = codec::next_frame(&frame, 0).unwrap().unwrap();
        let Change::Put(key, super::super::record::Record::Channel(c)) =
            decode(0, payload).unwrap()
        else {
            panic!("not a channel put");
        };
        assert_eq!(key, super::super::record::Key::Channel("#pi".into()));
        assert_eq!(c.modes, "nt");
        let topic = c.topic.unwrap();
        assert_eq!(
            (topic.text.as_str(), topic.set_by.as_str(), topic.set_at),
            ("hello", "alice", 9)
        );
        // A schema this build does not know is undecodable, not a panic.
        assert!(decode(SCHEMA + 1, payload).is_err());
    }
}
