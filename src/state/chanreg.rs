//! Registered channels (ChanServ REGISTER), on the state side: a new
//! channel takes back its stored modes, key, limit, topic and lists; a
//! joining member gets the prefix its account is owed (the founder +q, the
//! AMODE list the rest); and a change to a registered channel's modes or
//! topic is written to the datastore (`persist_channel`).
//!
//! The record is `store::ChannelReg`, filed under the folded name. Imports
//! `store`, `proto::casemap` and the channel table; no I/O.

use super::accounts::After;
use super::channel::{flag, prefix, Channel, ListEntry, Topic};
use super::{ChanId, ClientId, State};
use crate::proto::casemap;
use crate::store::{self, Change, ChannelReg, Key, Record};

/// The parameterless modes kept in a record, as letters (`"Cimnst"`).
fn flags_to_letters(flags: u16) -> String {
    flag::ALL
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, l)| *l)
        .collect()
}

fn letters_to_flags(letters: &str) -> u16 {
    letters
        .chars()
        .filter_map(flag::from_letter)
        .fold(0, |a, b| a | b)
}

fn list_to_store(list: &[ListEntry]) -> Vec<store::ListEntry> {
    list.iter()
        .map(|e| store::ListEntry {
            mask: e.mask.clone(),
            set_by: e.set_by.clone(),
            set_at: e.set_at,
        })
        .collect()
}

fn list_from_store(list: &[store::ListEntry]) -> Vec<ListEntry> {
    list.iter()
        .map(|e| ListEntry {
            mask: e.mask.clone(),
            set_by: e.set_by.clone(),
            set_at: e.set_at,
        })
        .collect()
}

impl State {
    /// The record of the registered channel `name` (any case).
    pub fn channel_reg(&self, name: &str) -> Option<&ChannelReg> {
        self.accounts.db()?.channel(&casemap::fold(name))
    }

    /// A channel just created takes back what its record kept.
    pub fn restore_channel(&mut self, chan: ChanId) {
        let Some(reg) = self.channel_reg(&self.channels[chan].name).cloned() else {
            return;
        };
        let ch = &mut self.channels[chan];
        ch.flags = letters_to_flags(&reg.modes);
        ch.key = reg.key.clone();
        ch.limit = reg.limit.map(|l| l as usize);
        ch.topic = reg.topic.as_ref().map(|t| Topic {
            text: t.text.clone(),
            set_by: t.set_by.clone(),
            set_at: t.set_at,
        });
        ch.bans = list_from_store(&reg.bans);
        ch.excepts = list_from_store(&reg.excepts);
        ch.invex = list_from_store(&reg.invites);
    }

    /// The prefix a member of a registered channel gets on joining: +q
    /// for the founder's account, its AMODE for an account on the access
    /// list, nothing otherwise (nor for anyone in an unregistered one).
    pub fn join_privileges(&self, chan: ChanId, id: ClientId) -> u8 {
        let Some(account) = self.clients[id].account() else {
            return 0;
        };
        let Some(reg) = self.channel_reg(&self.channels[chan].name) else {
            return 0;
        };
        let folded = casemap::fold(account);
        if reg.founder == folded {
            return prefix::FOUNDER;
        }
        reg.access
            .iter()
            .find(|a| a.account == folded)
            .and_then(|a| prefix::from_mode(a.mode))
            .unwrap_or(0)
    }

    /// The record of `chan` as it stands now, keeping the registration's
    /// own fields (founder, time, access list, topic lock) from `base`.
    pub fn channel_record(&self, chan: ChanId, base: &ChannelReg) -> ChannelReg {
        let ch: &Channel = &self.channels[chan];
        ChannelReg {
            name: ch.name.clone(),
            modes: flags_to_letters(ch.flags),
            key: ch.key.clone(),
            limit: ch.limit.map(|l| l.min(u32::MAX as usize) as u32),
            topic: ch.topic.as_ref().map(|t| store::Topic {
                text: t.text.clone(),
                set_by: t.set_by.clone(),
                set_at: t.set_at,
            }),
            bans: list_to_store(&ch.bans),
            excepts: list_to_store(&ch.excepts),
            invites: list_to_store(&ch.invex),
            ..base.clone()
        }
    }

    /// Writes a registered channel's modes, lists and topic after a change
    /// (MODE, TOPIC); nothing for an unregistered one. `id` is who changed
    /// it (told if the write fails).
    pub fn persist_channel(&mut self, chan: ChanId, id: ClientId) {
        let Some(ch) = self.channels.get(chan) else {
            return;
        };
        let Some(base) = self.channel_reg(&ch.name).cloned() else {
            return;
        };
        let record = self.channel_record(chan, &base);
        if record == base {
            return;
        }
        let key = Key::Channel(casemap::fold(&record.name));
        self.commit(id, Change::Put(key, Record::Channel(record)), After::Quiet);
    }
}
