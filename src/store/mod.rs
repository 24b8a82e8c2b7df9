//! The datastore (`[datastore] path`, `ircd.db`): accounts, registered
//! channels and K-/D-lines, kept in memory ([`Db`]) and in an append-only
//! file of checksummed bincode frames that a writer thread makes durable
//! before anything is acknowledged.
//!
//! The loop's use, through [`Store`]:
//! 1. at start, [`Store::open`] reads the file (cutting off a torn tail,
//!    upgrading an older schema) and logs [`OpenReport::messages`];
//! 2. a command calls [`Store::submit`]: the change is applied in memory at
//!    once (so the next command sees it) and queued for the writer;
//!    the reply that acknowledges it waits;
//! 3. when the waker fires, [`Store::poll`] returns [`Event`]s: `Durable`
//!    releases the waiting replies, `Failed` tells their users (the store
//!    has already rolled the changes back);
//! 4. `poll` also runs compaction: when the file has grown past twice its
//!    size at the last rewrite (and 64 KiB), the snapshot is encoded a
//!    [`CHUNK`] per wake-up and the writer swaps in the rewritten file;
//! 5. at shutdown, [`Store::wait_idle`] gets the last reports, and
//!    dropping the store lets the writer finish and closes the file.
//!
//! Files: record.rs (the records), db.rs (the tables, apply/undo),
//! codec.rs (header, frames, bincode), upgrade.rs (older schemas),
//! file.rs (open, lock, recover, rewrite), writer.rs (the thread).
//!
//! Takes paths and values: imports nothing of `state`, `net` or `config`
//! (keys arrive casefolded); mio only for its `Waker`.

mod codec;
mod db;
mod file;
mod record;
mod upgrade;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;

pub use codec::{TooLarge, FRAME_MAX, SCHEMA};
pub use db::{Cursor, Db, Mismatch, Undo};
pub use file::{OpenError, OpenReport, Recovery, Upgraded};
pub use record::{
    Access, Account, AccountSettings, BanLine, Change, ChannelReg, Enforce, Key, LineKind,
    ListEntry, Record, ScramCreds, Topic,
};
pub use writer::Seq;
use writer::{Report, Writer};

/// The file is not compacted below this length: rewriting a small file
/// often costs more than it saves.
pub const COMPACT_MIN: u64 = 64 * 1024;
/// The file is compacted when it is this many times its length after the
/// last rewrite (its live size then).
pub const COMPACT_RATIO: u64 = 2;

/// How much of the snapshot the loop encodes per wake-up during a
/// compaction: about 0.1 ms of one x86_64 core (release build; 10,000
/// accounts are 2.1 MiB, 34 chunks), so a few ms on a Pi Zero.
pub const CHUNK: usize = 64 * 1024;

/// Whether a file of `len` bytes, `base` bytes after its last rewrite, is
/// due for compaction.
pub fn compaction_due(len: u64, base: u64) -> bool {
    len > COMPACT_MIN && len > base.saturating_mul(COMPACT_RATIO)
}

/// What [`Store::poll`] tells the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Every change up to this one is on disk: acknowledge them.
    Durable(Seq),
    /// These changes were not written and have been rolled back in the
    /// [`Db`] (newest first): the group whose write failed and every
    /// change submitted after it that was still in flight, whatever its
    /// key (they were applied on top of it). Tell their users; listed
    /// oldest first.
    Failed { seqs: Vec<Seq>, error: String },
    /// The file was rewritten (for the log).
    Compacted { before: u64, after: u64 },
    /// A compaction failed or was skipped; the file is still in use.
    CompactFailed(String),
}

/// Why a change was refused before anything was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    TooLarge(TooLarge),
    Mismatch(Mismatch),
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::TooLarge(e) => e.fmt(f),
            SubmitError::Mismatch(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubmitError {}

/// The datastore: the tables in memory and the writer thread behind them.
pub struct Store {
    path: PathBuf,
    db: Db,
    writer: Writer,
    /// Changes applied and submitted, not yet reported, oldest first.
    inflight: VecDeque<(Seq, Undo)>,
    /// Every change up to this one is known committed or rolled back.
    settled: Seq,
    len: u64,
    base: u64,
    syncs: u64,
    /// A compaction under way: where its snapshot goes on.
    compaction: Option<db::Cursor>,
    /// The writer took the last chunk: the next one may be encoded.
    chunk_due: bool,
}

impl Store {
    /// Opens the datastore at `path` (creating it when absent) and starts
    /// its writer; `waker` is woken when [`Store::poll`] has news.
    pub fn open(path: &Path, waker: Option<Arc<Waker>>) -> Result<(Store, OpenReport), OpenError> {
        let opened = file::open(path)?;
        let start = writer::Start {
            path: path.to_owned(),
            file: opened.file,
            len: opened.len,
            base: opened.base,
            dir_dirty: opened.dir_dirty,
        };
        let writer = Writer::start(start, waker).map_err(|err| OpenError::Io {
            path: path.to_owned(),
            doing: "starting the writer thread for",
            err,
        })?;
        let store = Store {
            path: path.to_owned(),
            db: opened.db,
            writer,
            inflight: VecDeque::new(),
            settled: Seq(0),
            len: opened.len,
            base: opened.base,
            syncs: 0,
            compaction: None,
            chunk_due: false,
        };
        Ok((store, opened.report))
    }

    /// The tables, as every submitted change left them.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `change` in memory and queues it for the disk; acknowledge
    /// it to the user when [`Event::Durable`] reaches its [`Seq`]. Only
    /// encodes and sends on a channel: never waits for the disk.
    pub fn submit(&mut self, change: Change) -> Result<Seq, SubmitError> {
        let frame = codec::encode_change(&change).map_err(SubmitError::TooLarge)?;
        let undo = self.db.apply(change).map_err(SubmitError::Mismatch)?;
        let seq = self.writer.submit(frame);
        self.inflight.push_back((seq, undo));
        Ok(seq)
    }

    /// Changes submitted and not yet reported.
    pub fn pending(&self) -> usize {
        self.inflight.len()
    }

    /// The file's length at the last report.
    pub fn log_len(&self) -> u64 {
        self.len
    }

    /// `fdatasync` calls the writer has made (at the last report).
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Whether the file is due for compaction: twice its size at the
    /// last rewrite (or at the last measure of its live data).
    pub fn compaction_due(&self) -> bool {
        compaction_due(self.len, self.base)
    }

    /// Takes the writer's reports (never blocks), rolls back failed
    /// changes, and starts a compaction when one is due.
    pub fn poll(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        self.drain(&mut events);
        self.next_chunk();
        self.maybe_compact();
        events
    }

    /// Handles the reports already there.
    fn drain(&mut self, events: &mut Vec<Event>) {
        loop {
            match self.writer.reports.try_recv() {
                Ok(report) => self.handle(report, events),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => return self.writer_gone(events),
            }
        }
    }

    /// The writer thread ended (only a bug can do that): nothing in flight
    /// will be written, so it is all rolled back and reported failed.
    fn writer_gone(&mut self, events: &mut Vec<Event>) {
        if self.inflight.is_empty() {
            return;
        }
        let mut seqs = Vec::with_capacity(self.inflight.len());
        while let Some((seq, undo)) = self.inflight.pop_back() {
            self.db.undo(undo);
            seqs.push(seq);
        }
        seqs.reverse();
        self.settled = self.writer.last_seq();
        self.compaction = None;
        events.push(Event::Failed {
            seqs,
            error: "the datastore's writer thread has stopped".into(),
        });
    }

    /// Blocks until nothing is in flight (or `timeout`): at shutdown, so
    /// the last replies can go out, and in tests. Finishes a compaction
    /// under way but starts none.
    pub fn wait_idle(&mut self, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        self.drain(&mut events);
        self.next_chunk();
        while !self.inflight.is_empty() || self.compaction.is_some() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.writer.reports.recv_timeout(left) {
                Ok(report) => self.handle(report, &mut events),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    self.writer_gone(&mut events);
                    break;
                }
            }
            self.next_chunk();
        }
        events
    }

    fn handle(&mut self, report: Report, events: &mut Vec<Event>) {
        match report {
            Report::Committed {
                upto,
                len,
                base,
                syncs,
            } => {
                while self.inflight.front().is_some_and(|(s, _)| *s <= upto) {
                    self.inflight.pop_front();
                }
                self.settled = self.settled.max(upto);
                self.len = len;
                self.base = base;
                self.syncs = syncs;
                events.push(Event::Durable(upto));
            }
            Report::Failed { first, last, error } => {
                if last <= self.settled {
                    // Fenced after a failure already rolled back.
                    return;
                }
                // Everything from the failed change on is undone, newest
                // first: later changes were applied on top of it and the
                // writer refuses them until `resume`.
                let mut seqs = Vec::new();
                while self.inflight.back().is_some_and(|(s, _)| *s >= first) {
                    if let Some((seq, undo)) = self.inflight.pop_back() {
                        self.db.undo(undo);
                        seqs.push(seq);
                    }
                }
                seqs.reverse();
                self.settled = self.writer.last_seq();
                self.writer.resume();
                events.push(Event::Failed { seqs, error });
            }
            // The next chunk waits for the end of the drain: one chunk
            // per poll, however fast the writer answers.
            Report::ChunkWritten => self.chunk_due = true,
            Report::Compacted { before, len } => {
                self.compaction = None;
                self.chunk_due = false;
                self.len = len;
                self.base = len;
                events.push(Event::Compacted { before, after: len });
            }
            Report::CompactFailed { error } => {
                self.compaction = None;
                self.chunk_due = false;
                // Not again until the file has grown by as much again.
                self.base = self.len;
                events.push(Event::CompactFailed(error));
            }
        }
    }

    /// Starts a compaction when one is due: the writer is told to begin,
    /// and gets the first chunk of the snapshot.
    fn maybe_compact(&mut self) {
        if self.compaction.is_some() || !self.compaction_due() {
            return;
        }
        self.writer.compact_begin(self.settled);
        self.compaction = Some(db::Cursor::default());
        self.chunk_due = true;
        self.next_chunk();
    }

    /// Encodes and sends the next chunk of the snapshot (here, on the
    /// loop's thread: it must be the state of this moment), and the end
    /// after the last one.
    fn next_chunk(&mut self) {
        if !std::mem::take(&mut self.chunk_due) {
            return;
        }
        let Some(cursor) = &mut self.compaction else {
            return;
        };
        if cursor.done() {
            return; // the end is sent; waiting for Compacted
        }
        match self.db.encode_chunk(cursor, CHUNK) {
            Ok(frames) => {
                self.writer.compact_chunk(frames);
                if cursor.done() {
                    self.writer.compact_end();
                }
            }
            Err(_) => {
                // Cannot happen for records that went through the log;
                // end it with what was sent, and wait a doubling.
                self.writer.compact_end();
                *cursor = db::Cursor::done_cursor();
            }
        }
    }
}
