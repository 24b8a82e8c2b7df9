//! The writer thread: owns the datastore file during the run, so the loop
//! never waits on the disk. The loop hands it encoded frames
//! ([`Writer::submit`], which only sends on a channel) and reads
//! [`Report`]s back from a channel, woken by a `mio::Waker`.
//!
//! Group commit: the thread takes everything queued, appends it with one
//! write, makes it durable with one `fdatasync`, then reports. A failed
//! write or sync (a full disk) cuts the file back to its last good length
//! and fails the whole group; the thread then refuses every later frame
//! ("fenced") until the loop has rolled back and sent [`Writer::resume`],
//! so nothing written after a failure can depend on a change that was
//! rolled back.
//!
//! Compaction writes `<path>.tmp`: the header, the snapshot chunks the loop
//! encodes one per wake-up (so no turn stalls on the whole state), then
//! every change committed since the snapshot began (kept aside meanwhile),
//! since a chunk may predate a later change of its keys. Then fsync,
//! rename over the file, fsync the folder, and appends go on there. A
//! write failure during it means a chunk may hold a change that was rolled
//! back: that compaction is dropped.
//!
//! Imports `store::file` (the rewrite) and mio's `Waker`; no sockets, no
//! state.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::Waker;

use super::file;

/// A change's place in the order of submission; 1 is the first. Reports
/// come in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(pub u64);

/// How many queued messages one batch takes at most, and about how many
/// bytes (then it commits and takes the rest): bounds a group's memory
/// and the delay of its report.
const GROUP_MAX: usize = 4096;
const GROUP_BYTES: usize = 4 << 20;

/// What the writer tells the loop, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Every change up to `upto` is durable.
    Committed {
        upto: Seq,
        /// The file's length now.
        len: u64,
        /// Its length after the last rewrite (see `compaction_due`).
        base: u64,
        /// `fdatasync` calls so far.
        syncs: u64,
    },
    /// The changes `first..=last` were not written (and never will be).
    /// Either their write failed, or an earlier failure fenced them.
    Failed {
        first: Seq,
        last: Seq,
        error: String,
    },
    /// A snapshot chunk is written: the loop may send the next one.
    ChunkWritten,
    /// The file was rewritten; appends continue there.
    Compacted { before: u64, len: u64 },
    /// A compaction was not done (the file is as it was, still in use).
    CompactFailed { error: String },
}

enum Msg {
    Append { seq: Seq, frame: Vec<u8> },
    CompactBegin { settled: Seq },
    CompactChunk(Vec<u8>),
    CompactEnd,
    Resume,
}

impl Msg {
    fn len(&self) -> usize {
        match self {
            Msg::Append { frame, .. } => frame.len(),
            Msg::CompactChunk(frames) => frames.len(),
            _ => 0,
        }
    }
}

/// The loop's handle on the writer thread. Dropping it lets the thread
/// finish what is queued, then joins it.
pub struct Writer {
    tx: Option<Sender<Msg>>,
    /// Reports, in order; read them when the waker fires.
    pub reports: Receiver<Report>,
    thread: Option<JoinHandle<()>>,
    last: Seq,
}

/// Where the writer starts: the file as file.rs left it.
pub struct Start {
    pub path: PathBuf,
    pub file: File,
    pub len: u64,
    pub base: u64,
    pub dir_dirty: bool,
}

impl Writer {
    /// Starts the thread; `waker` (if any) is woken after each batch of
    /// reports.
    pub fn start(start: Start, waker: Option<Arc<Waker>>) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let (report_tx, reports) = mpsc::channel::<Report>();
        let mut thread = Thread {
            path: start.path,
            file: start.file,
            len: start.len,
            base: start.base,
            dir_dirty: start.dir_dirty,
            tail_dirty: false,
            syncs: 0,
            fenced: false,
            last_failed: Seq(0),
            fenced_run: None,
            compaction: None,
            reports: report_tx,
        };
        let handle = std::thread::Builder::new()
            .name("picoircd-store".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut bytes = first.len();
                    let mut batch = vec![first];
                    while batch.len() < GROUP_MAX && bytes < GROUP_BYTES {
                        match rx.try_recv() {
                            Ok(m) => {
                                bytes += m.len();
                                batch.push(m);
                            }
                            Err(_) => break,
                        }
                    }
                    if !thread.handle(batch) {
                        break;
                    }
                    if let Some(w) = &waker {
                        let _ = w.wake();
                    }
                }
            })?;
        Ok(Writer {
            tx: Some(tx),
            reports,
            thread: Some(handle),
            last: Seq(0),
        })
    }

    /// Queues one encoded frame (codec::encode_change) and returns its
    /// sequence number. Never blocks.
    pub fn submit(&mut self, frame: Vec<u8>) -> Seq {
        self.last = Seq(self.last.0 + 1);
        self.send(Msg::Append {
            seq: self.last,
            frame,
        });
        self.last
    }

    /// The last sequence number handed out (0: none yet).
    pub fn last_seq(&self) -> Seq {
        self.last
    }

    /// Starts a compaction. `settled`: every change up to it was known
    /// committed or rolled back when the snapshot began. If a later one
    /// fails before [`Writer::compact_end`], the compaction is dropped
    /// (`CompactFailed`): a chunk may hold it.
    pub fn compact_begin(&self, settled: Seq) {
        self.send(Msg::CompactBegin { settled });
    }

    /// The next frames of the snapshot (`Db::encode_chunk`); answered by
    /// `ChunkWritten`.
    pub fn compact_chunk(&self, frames: Vec<u8>) {
        self.send(Msg::CompactChunk(frames));
    }

    /// The snapshot is complete: put the new file in place (`Compacted`).
    pub fn compact_end(&self) {
        self.send(Msg::CompactEnd);
    }

    /// After a `Failed` report, once the loop has rolled back every change
    /// from the failed one on: lets later changes be written again.
    pub fn resume(&self) {
        self.send(Msg::Resume);
    }

    fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx {
            // The thread only stops when this handle drops it: a send
            // cannot fail before then.
            let _ = tx.send(msg);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread's side.
struct Thread {
    path: PathBuf,
    file: File,
    /// The end of the last durable frame.
    len: u64,
    base: u64,
    /// A rename's directory fsync failed: retried before the next commit.
    dir_dirty: bool,
    /// A failed write could not be cut back yet: retried before the next.
    tail_dirty: bool,
    syncs: u64,
    /// A group failed and the loop has not sent `Resume` yet.
    fenced: bool,
    last_failed: Seq,
    /// Fenced appends not reported yet, coalesced.
    fenced_run: Option<(Seq, Seq)>,
    compaction: Option<Compaction>,
    reports: Sender<Report>,
}

/// A rewrite under way.
struct Compaction {
    /// `<path>.tmp`, locked.
    tmp: File,
    settled: Seq,
    /// Groups committed since it began, to replay after the snapshot.
    redo: Vec<u8>,
    /// Bytes written to it so far (header included).
    len: u64,
}

#[derive(Default)]
struct Group {
    bytes: Vec<u8>,
    first: Seq,
    last: Seq,
}

impl Thread {
    /// Handles one batch; false when the loop has gone away.
    fn handle(&mut self, batch: Vec<Msg>) -> bool {
        let mut group = Group::default();
        let mut alive = true;
        for msg in batch {
            match msg {
                Msg::Append { seq, frame } if self.fenced => {
                    self.fenced_run = Some(match self.fenced_run {
                        Some((first, _)) => (first, seq),
                        None => (seq, seq),
                    });
                    drop(frame);
                }
                Msg::Append { seq, frame } => {
                    if group.bytes.is_empty() {
                        group.first = seq;
                        group.bytes = frame;
                    } else {
                        group.bytes.extend_from_slice(&frame);
                    }
                    group.last = seq;
                }
                // Groups never straddle a compaction's beginning or end:
                // what it replays is exactly what was committed between.
                Msg::CompactBegin { settled } => {
                    alive &= self.commit(std::mem::take(&mut group));
                    alive &= self.flush_fenced();
                    if let Some(r) = self.compact_begin(settled) {
                        alive &= self.report(r);
                    }
                }
                Msg::CompactChunk(frames) => {
                    if let Some(r) = self.compact_chunk(&frames) {
                        alive &= self.report(r);
                    }
                }
                Msg::CompactEnd => {
                    alive &= self.commit(std::mem::take(&mut group));
                    alive &= self.flush_fenced();
                    alive &= self.compact_end();
                }
                Msg::Resume => {
                    alive &= self.flush_fenced();
                    self.fenced = false;
                }
            }
        }
        alive &= self.commit(group);
        alive &= self.flush_fenced();
        alive
    }

    fn report(&self, r: Report) -> bool {
        self.reports.send(r).is_ok()
    }

    fn flush_fenced(&mut self) -> bool {
        match self.fenced_run.take() {
            Some((first, last)) => self.report(Report::Failed {
                first,
                last,
                error: "an earlier change could not be written".into(),
            }),
            None => true,
        }
    }

    /// Appends and syncs one group, then reports it.
    fn commit(&mut self, group: Group) -> bool {
        if group.bytes.is_empty() {
            return true;
        }
        match self.append(&group.bytes) {
            Ok(()) => {
                if let Some(c) = &mut self.compaction {
                    c.redo.extend_from_slice(&group.bytes);
                }
                self.report(Report::Committed {
                    upto: group.last,
                    len: self.len,
                    base: self.base,
                    syncs: self.syncs,
                })
            }
            Err(e) => {
                self.fenced = true;
                self.last_failed = group.last;
                self.report(Report::Failed {
                    first: group.first,
                    last: group.last,
                    error: e,
                })
            }
        }
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.dir_dirty {
            file::fsync_dir(&self.path)
                .map_err(|e| format!("syncing the datastore's folder: {e}"))?;
            self.dir_dirty = false;
        }
        if self.tail_dirty {
            self.cut_back()
                .map_err(|e| format!("cutting back the datastore after a failed write: {e}"))?;
        }
        // Positioned write: a partial write earlier never shifts this one.
        let written = self
            .file
            .write_all_at(bytes, self.len)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                self.syncs += 1;
                Ok(())
            }
            Err(e) => {
                // Whatever part of the group reached the file goes: its
                // changes are reported failed and must not come back at
                // the next start. If even that fails, the next group
                // retries it before writing.
                self.tail_dirty = true;
                let _ = self.cut_back();
                Err(format!("writing the datastore: {e}"))
            }
        }
    }

    fn cut_back(&mut self) -> io::Result<()> {
        self.file.set_len(self.len)?;
        self.file.sync_data()?;
        self.tail_dirty = false;
        Ok(())
    }

    fn compact_begin(&mut self, settled: Seq) -> Option<Report> {
        match file::create_tmp(&self.path) {
            Ok(tmp) => {
                self.compaction = Some(Compaction {
                    tmp,
                    settled,
                    redo: Vec::new(),
                    len: super::codec::HEADER_LEN as u64,
                });
                None
            }
            Err(e) => Some(Report::CompactFailed {
                error: format!("creating the new file: {e}"),
            }),
        }
    }

    /// Writes a chunk; a failure ends the compaction at once (the chunks
    /// and the end still queued for it are then ignored).
    fn compact_chunk(&mut self, frames: &[u8]) -> Option<Report> {
        let c = self.compaction.as_mut()?;
        match c.tmp.write_all_at(frames, c.len) {
            Ok(()) => {
                c.len += frames.len() as u64;
                Some(Report::ChunkWritten)
            }
            Err(e) => {
                self.compaction = None;
                file::discard_tmp(&self.path);
                Some(Report::CompactFailed {
                    error: format!("writing the new file: {e}"),
                })
            }
        }
    }

    fn compact_end(&mut self) -> bool {
        let Some(c) = self.compaction.take() else {
            return true;
        };
        let failed = |error: String| {
            file::discard_tmp(&self.path);
            Report::CompactFailed { error }
        };
        let tmp = c.tmp;
        if self.fenced || self.last_failed > c.settled {
            drop(tmp);
            return self.report(failed(
                "dropped: a change it may hold failed to be written".into(),
            ));
        }
        if let Err(e) = tmp.write_all_at(&c.redo, c.len) {
            drop(tmp);
            return self.report(failed(format!("writing the new file: {e}")));
        }
        let len = c.len + c.redo.len() as u64;
        match file::install(&self.path, tmp) {
            Ok((new_file, dir_synced)) => {
                let before = self.len;
                // The old file (and its lock) goes; the new one is locked.
                self.file = new_file;
                self.len = len;
                self.base = len;
                self.tail_dirty = false;
                self.dir_dirty = !dir_synced;
                self.report(Report::Compacted { before, len })
            }
            Err(e) => self.report(Report::CompactFailed {
                error: format!("putting the new file in place: {e}"),
            }),
        }
    }
}
