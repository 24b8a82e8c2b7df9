//! The datastore in memory: one table per kind of record, changed only
//! through [`Db::apply`], which returns the [`Undo`] that puts the previous
//! value back (a change whose write fails is rolled back with it), and the
//! snapshot that compaction writes, encoded a chunk at a time.
//!
//! The tables are ordered maps: a snapshot resumes after the last key it
//! encoded, so the loop can encode it over several turns while changes go
//! on (each change made meanwhile is replayed after the snapshot in the
//! new file, see writer.rs). No I/O; imports `store::record` and
//! `store::codec`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

use super::codec::{self, KeyRef, PutRef, RecordRef, TooLarge};
use super::record::{Account, BanLine, Change, ChannelReg, Key, LineKind, Record};

/// Accounts, registered channels and server bans, by casefolded key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Db {
    accounts: BTreeMap<String, Account>,
    channels: BTreeMap<String, ChannelReg>,
    klines: BTreeMap<String, BanLine>,
    dlines: BTreeMap<String, BanLine>,
}

/// Where a snapshot taken in chunks ([`Db::encode_chunk`]) goes on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// 0 accounts, 1 channels, 2 K-lines, 3 D-lines, 4 done.
    table: u8,
    /// The last key encoded in that table.
    after: Option<String>,
}

impl Cursor {
    /// Whether every table has been encoded.
    pub fn done(&self) -> bool {
        self.table >= 4
    }

    /// A cursor past the end.
    pub fn done_cursor() -> Cursor {
        Cursor {
            table: 4,
            after: None,
        }
    }
}

/// What [`Db::undo`] needs to restore the value a change replaced (or
/// removed, or the absence it filled).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "an Undo is how a failed write is rolled back"]
pub struct Undo {
    key: Key,
    prev: Option<Record>,
}

impl Undo {
    /// The key the undone change was about.
    pub fn key(&self) -> &Key {
        &self.key
    }
}

/// A `Put` whose record is not of the kind its key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch;

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record filed under a key of another kind")
    }
}

impl Db {
    pub fn new() -> Db {
        Db::default()
    }

    /// Applies a change; the returned [`Undo`] reverts exactly it.
    pub fn apply(&mut self, change: Change) -> Result<Undo, Mismatch> {
        match change {
            Change::Put(key, record) => {
                if !key.fits(&record) {
                    return Err(Mismatch);
                }
                let prev = self.insert(key.clone(), record);
                Ok(Undo { key, prev })
            }
            Change::Delete(key) => {
                let prev = self.remove(&key);
                Ok(Undo { key, prev })
            }
        }
    }

    /// Puts back what the change behind `undo` replaced. Undos must be
    /// applied newest first when several touch the same key.
    pub fn undo(&mut self, undo: Undo) {
        match undo.prev {
            Some(record) => {
                self.insert(undo.key, record);
            }
            None => {
                self.remove(&undo.key);
            }
        }
    }

    // `key.fits(&record)` holds (checked by `apply`, or the record came out
    // of this table under this key).
    fn insert(&mut self, key: Key, record: Record) -> Option<Record> {
        match (key, record) {
            (Key::Account(k), Record::Account(a)) => {
                self.accounts.insert(k, a).map(Record::Account)
            }
            (Key::Channel(k), Record::Channel(c)) => {
                self.channels.insert(k, c).map(Record::Channel)
            }
            (Key::Line(kind, k), Record::Line(l)) => {
                self.lines_mut(kind).insert(k, l).map(Record::Line)
            }
            _ => None,
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Record> {
        match key {
            Key::Account(k) => self.accounts.remove(k).map(Record::Account),
            Key::Channel(k) => self.channels.remove(k).map(Record::Channel),
            Key::Line(kind, k) => self.lines_mut(*kind).remove(k).map(Record::Line),
        }
    }

    fn lines_of(&self, kind: LineKind) -> &BTreeMap<String, BanLine> {
        match kind {
            LineKind::Kline => &self.klines,
            LineKind::Dline => &self.dlines,
        }
    }

    fn lines_mut(&mut self, kind: LineKind) -> &mut BTreeMap<String, BanLine> {
        match kind {
            LineKind::Kline => &mut self.klines,
            LineKind::Dline => &mut self.dlines,
        }
    }

    /// The account under a casefolded name.
    pub fn account(&self, key: &str) -> Option<&Account> {
        self.accounts.get(key)
    }

    /// The registered channel under a casefolded name.
    pub fn channel(&self, key: &str) -> Option<&ChannelReg> {
        self.channels.get(key)
    }

    /// The K- or D-line under a casefolded mask.
    pub fn line(&self, kind: LineKind, key: &str) -> Option<&BanLine> {
        self.lines_of(kind).get(key)
    }

    /// Every account, by casefolded name, in key order.
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &Account)> {
        self.accounts.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every registered channel, by casefolded name, in key order.
    pub fn channels(&self) -> impl Iterator<Item = (&str, &ChannelReg)> {
        self.channels.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every K-line, then every D-line, by casefolded mask.
    pub fn lines(&self) -> impl Iterator<Item = (LineKind, &str, &BanLine)> {
        let k = self
            .klines
            .iter()
            .map(|(k, v)| (LineKind::Kline, k.as_str(), v));
        let d = self
            .dlines
            .iter()
            .map(|(k, v)| (LineKind::Dline, k.as_str(), v));
        k.chain(d)
    }

    /// How many records there are of all kinds.
    pub fn len(&self) -> usize {
        self.accounts.len() + self.channels.len() + self.klines.len() + self.dlines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole state as `Put` changes (cloned; for tests and tools; the
    /// writer is fed [`Db::encode_chunk`], which does not clone).
    pub fn snapshot(&self) -> Vec<Change> {
        let mut out = Vec::with_capacity(self.len());
        out.extend(
            self.accounts
                .iter()
                .map(|(k, v)| Change::put_account(k.clone(), v.clone())),
        );
        out.extend(
            self.channels
                .iter()
                .map(|(k, v)| Change::put_channel(k.clone(), v.clone())),
        );
        out.extend(self.lines().map(|(_, k, v)| Change::put_line(k, v.clone())));
        out
    }

    /// The whole state as the frames of `Put` changes: the body of a
    /// compacted file (after its header).
    pub fn encode_snapshot(&self) -> Result<Vec<u8>, TooLarge> {
        self.encode_chunk(&mut Cursor::default(), usize::MAX)
    }

    /// The next frames of a snapshot from `cursor`, about `budget` bytes
    /// (at least one record), and moves the cursor past them. Changes made
    /// between two chunks may or may not be in the next ones: the new file
    /// replays them after the snapshot. Every record fitted in a frame
    /// when it was put, so this fails only on a record that never went
    /// through the log.
    pub fn encode_chunk(&self, cursor: &mut Cursor, budget: usize) -> Result<Vec<u8>, TooLarge> {
        let mut out = Vec::new();
        while !cursor.done() && out.len() < budget {
            let after = cursor.after.take();
            let last = match cursor.table {
                0 => chunk(&self.accounts, after, &mut out, budget, |k, v| {
                    PutRef::Put(KeyRef::Account(k), RecordRef::Account(v))
                })?,
                1 => chunk(&self.channels, after, &mut out, budget, |k, v| {
                    PutRef::Put(KeyRef::Channel(k), RecordRef::Channel(v))
                })?,
                t => {
                    let kind = if t == 2 {
                        LineKind::Kline
                    } else {
                        LineKind::Dline
                    };
                    chunk(self.lines_of(kind), after, &mut out, budget, |k, v| {
                        PutRef::Put(KeyRef::Line(kind, k), RecordRef::Line(v))
                    })?
                }
            };
            match last {
                // The budget ran out inside this table.
                Some(k) if out.len() >= budget => cursor.after = Some(k),
                // The table is done.
                _ => cursor.table += 1,
            }
        }
        Ok(out)
    }
}

/// Encodes the entries of `map` after `after` into `out` until `budget`;
/// returns the last key encoded.
fn chunk<'a, V, F>(
    map: &'a BTreeMap<String, V>,
    after: Option<String>,
    out: &mut Vec<u8>,
    budget: usize,
    put: F,
) -> Result<Option<String>, TooLarge>
where
    F: Fn(&'a str, &'a V) -> PutRef<'a>,
{
    let from = match &after {
        Some(k) => Bound::Excluded(k.as_str()),
        None => Bound::Unbounded,
    };
    let mut last = None;
    for (k, v) in map.range::<str, _>((from, Bound::Unbounded)) {
        codec::push_frame(out, &put(k, v))?;
        last = Some(k);
        if out.len() >= budget {
            break;
        }
    }
    Ok(last.cloned())
}

#[cfg(test)]
mod tests {
    use super::super::record::*;
    use super::*;

    fn account(name: &str, registered: u64) -> Account {
        Account {
            name: name.into(),
            registered,
            nicks: vec![name.into()],
            ..Account::default()
        }
    }

    fn kline(mask: &str) -> BanLine {
        BanLine {
            kind: LineKind::Kline,
            mask: mask.into(),
            reason: "spam".into(),
            oper: "admin".into(),
            set_at: 3,
            expires: None,
        }
    }

    #[test]
    fn undo_restores_every_kind_of_change() {
        let mut db = Db::new();
        let _ = db
            .apply(Change::put_account("alice", account("Alice", 1)))
            .unwrap();
        let _ = db.apply(Change::put_line("*!*@a", kline("*!*@a"))).unwrap();
        let before = db.clone();

        let changes = vec![
            // replaces an existing record
            Change::put_account("alice", account("ALICE", 2)),
            // fills an absence
            Change::put_channel(
                "#pi",
                ChannelReg {
                    name: "#Pi".into(),
                    founder: "alice".into(),
                    ..ChannelReg::default()
                },
            ),
            // removes a record
            Change::Delete(Key::Line(LineKind::Kline, "*!*@a".into())),
            // removes nothing
            Change::Delete(Key::Account("nobody".into())),
            // the same key twice in a row
            Change::put_account("alice", account("Alice", 3)),
        ];
        let mut undos = Vec::new();
        for c in changes {
            undos.push(db.apply(c).unwrap());
        }
        assert_eq!(db.account("alice").unwrap().registered, 3);
        assert!(db.channel("#pi").is_some());
        assert!(db.line(LineKind::Kline, "*!*@a").is_none());
        assert_ne!(db, before);

        while let Some(u) = undos.pop() {
            db.undo(u);
        }
        assert_eq!(db, before);
    }

    #[test]
    fn put_of_the_wrong_kind_is_refused_and_changes_nothing() {
        let mut db = Db::new();
        let wrong = Change::Put(Key::Channel("#a".into()), Record::Account(account("a", 1)));
        assert_eq!(db.apply(wrong), Err(Mismatch));
        let wrong_line = Change::Put(
            Key::Line(LineKind::Dline, "*!*@a".into()),
            Record::Line(kline("*!*@a")),
        );
        assert_eq!(db.apply(wrong_line), Err(Mismatch));
        assert!(db.is_empty());
    }

    #[test]
    fn snapshot_rebuilds_the_same_db() {
        let mut db = Db::new();
        for i in 0..20 {
            let _ = db
                .apply(Change::put_account(
                    format!("u{i}"),
                    account(&format!("U{i}"), i),
                ))
                .unwrap();
        }
        let _ = db.apply(Change::put_line("*!*@a", kline("*!*@a"))).unwrap();
        let _ = db
            .apply(Change::put_channel(
                "#c",
                ChannelReg {
                    name: "#c".into(),
                    ..ChannelReg::default()
                },
            ))
            .unwrap();

        let mut copy = Db::new();
        for c in db.snapshot() {
            let _ = copy.apply(c).unwrap();
        }
        assert_eq!(copy, db);

        let body = db.encode_snapshot().unwrap();
        let mut decoded = Db::new();
        let mut pos = 0;
        while let Some((payload, next)) = codec::next_frame(&body, pos).unwrap() {
            let _ = decoded
                .apply(codec::decode::<Change>(payload).unwrap())
                .unwrap();
            pos = next;
        }
        assert_eq!(decoded, db);
        assert_eq!(decoded.len(), 22);
    }

    #[test]
    fn a_snapshot_in_chunks_with_changes_between_them_replays_to_the_final_state() {
        let mut db = Db::new();
        for i in 0..300 {
            let _ = db
                .apply(Change::put_account(
                    format!("u{i:03}"),
                    account(&format!("U{i}"), i),
                ))
                .unwrap();
        }
        for m in ["a", "b", "c"] {
            let _ = db.apply(Change::put_line(m, kline(m))).unwrap();
        }
        let _ = db
            .apply(Change::put_channel(
                "#c",
                ChannelReg {
                    name: "#c".into(),
                    ..ChannelReg::default()
                },
            ))
            .unwrap();

        // Without changes in between, the chunks are the whole snapshot.
        let mut cursor = Cursor::default();
        let mut chunks = Vec::new();
        let mut count = 0;
        while !cursor.done() {
            let c = db.encode_chunk(&mut cursor, 1000).unwrap();
            assert!(!c.is_empty() || cursor.done());
            chunks.extend(c);
            count += 1;
        }
        assert!(count > 5);
        assert_eq!(chunks, db.encode_snapshot().unwrap());

        // With changes in between (before and after the cursor; puts,
        // replacements, deletions), the chunks followed by those changes
        // rebuild the final state.
        let mut cursor = Cursor::default();
        let mut file = Vec::new();
        let mut redo = Vec::new();
        let mut turn = 0u64;
        while !cursor.done() {
            file.extend(db.encode_chunk(&mut cursor, 700).unwrap());
            let changes = [
                Change::put_account(format!("u{:03}", (turn * 37) % 400), account("new", turn)),
                Change::Delete(Key::Account(format!("u{:03}", (turn * 13) % 300))),
                Change::put_line(format!("m{turn}"), kline("m")),
                Change::Delete(Key::Line(LineKind::Kline, "b".into())),
                Change::Delete(Key::Channel("#c".into())),
            ];
            for c in changes {
                codec::push_frame(&mut redo, &c).unwrap();
                let _ = db.apply(c).unwrap();
            }
            turn += 1;
        }
        file.extend(redo);
        let mut rebuilt = Db::new();
        let mut pos = 0;
        while let Some((payload, next)) = codec::next_frame(&file, pos).unwrap() {
            let _ = rebuilt
                .apply(codec::decode::<Change>(payload).unwrap())
                .unwrap();
            pos = next;
        }
        assert_eq!(rebuilt, db);
    }
}
