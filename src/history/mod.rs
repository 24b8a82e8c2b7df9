//! Message history (`[history] path`, a folder): every message and event
//! the server relays, kept in memory or in an append-only log of segment
//! files, and the CHATHISTORY queries over it (issue #8).
//!
//! The loop's use, through [`History`]:
//! 1. at start, [`History::open`] scans the segments and rebuilds the
//!    index (cutting a torn tail, skipping damage); log
//!    [`OpenReport::messages`];
//! 2. each relayed message or event is [`History::append`]ed: indexed at
//!    once (the next query sees it), and for a persistent target encoded
//!    and handed to the writer thread, which writes and syncs a batch once
//!    per `fsync_interval`; non-persistent targets (unregistered channels,
//!    anonymous private messages) stay in memory only;
//! 3. the queries ([`History::latest`], `before`, `after`, `around`,
//!    `between`, `targets`) answer from the index and read only the
//!    bodies they return (`pread`, or the copy in memory);
//! 4. when the waker fires, [`History::poll`] returns [`Event`]s
//!    (flushed up to, a failed write that will be retried, a deleted
//!    segment); every second or so [`History::retain`] (given the time)
//!    runs one small step of retention;
//! 5. at shutdown, [`History::close`] writes what is queued (bounded by a
//!    timeout).
//!
//! Files: entry.rs (the records), codec.rs (header, frames, bincode),
//! index.rs (per-target slots), query.rs (the subcommands' rules),
//! segment.rs (the folder at start), read.rs (bodies back from disk),
//! writer.rs (the thread), retention in this file.
//!
//! The on-disk format (schema 1): files `NNNNNNNN.seg` (8 decimal digits,
//! in order), each a 16-byte header (`picohist`, schema u32, crc32) and
//! frames `len u32 | crc32 u32 | bincode Entry`, appended; a new segment
//! when the next frame would pass `segment_size`. No other file is
//! needed (`lock` holds the folder's flock): the index is rebuilt by a
//! scan at start, never loaded from a checkpoint, so it cannot disagree
//! with the segments. The scan reads each frame's head, checks its crc32
//! and decodes only `target`, `msgid` and `time_ms`, borrowed.
//!
//! Measured on x86_64 (2 shared cores, release; `history::tests::
//! many_messages_load_and_answer_fast` and bench/benches/history.rs), 1,000,000
//! messages over 100 channels, 122 MiB of segments (128 bytes a message):
//! - index: 20 bytes a message (the slots), 28 bytes of RSS in a fresh
//!   process after the load;
//! - rebuild at start: 0.12-0.14 s with the files in the page cache,
//!   0.16 s after dropping it (this machine's disk is fast); on a Pi
//!   with an SD card, reading the 122 MiB dominates (some seconds at
//!   20-40 MB/s): a checkpoint of the index (20 MiB) is the step to take
//!   if that ever matters;
//! - `latest(#chan, None, 100)`: 62-70 µs (100 preads and decodes);
//!   `before(#chan, msgid half-way back, 100)`: 70-110 µs;
//! - `append`: 0.5 µs on the loop (encode, index, hand to the writer).
//!
//! Write amplification (`history::tests::write_amplification_at_steady_rates`,
//! bytes written to the block device, journal included, on a loop-mounted
//! ext4 nothing else wrote to; ~90-byte frames): with the default 1 s
//! interval, 49x at 1 msg/s (each sync rewrites the tail page and commits
//! the journal), 11x at 10 msg/s, 2.0x at 100 msg/s, 1.1x at 1000 msg/s;
//! without batching (a sync per frame), 49x at 100 msg/s. Idle, nothing
//! is written.
//!
//! Takes paths and values: imports nothing of `state`, `net` or `config`
//! (targets arrive casefolded, times are passed in); mio only for its
//! `Waker`.

mod codec;
mod entry;
mod index;
mod query;
mod read;
mod segment;
mod writer;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Waker;

pub use codec::{TooLarge, FRAME_MAX, HEADER_LEN, SCHEMA};
pub use entry::{Entry, Kind, Ref};
pub use segment::{Cut, Damage, OpenError, OpenReport};

use index::{Index, Loc, Slot, SEG_MAX};
use query::Point;
use read::Readers;
use writer::{Msg, Report, Writer};

/// The history's settings (`[history]` in ircd.conf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A new segment is started when the next frame would pass this size
    /// (`segment-size`; 4 KiB to 1 GiB).
    pub segment_size: u64,
    /// How often the writer syncs what it was given (`fsync-interval`):
    /// the most that a `kill -9` or a power cut loses.
    pub fsync_interval: Duration,
    /// Persistent entries older than this are dropped, and segments whose
    /// entries all are, deleted (`max-age`; `None`: kept by age forever).
    pub max_age: Option<Duration>,
    /// Oldest segments are deleted while the folder holds more
    /// (`max-bytes`; `None`: no limit).
    pub max_bytes: Option<u64>,
    /// Entries kept per target, persistent or not; the oldest go first
    /// (`max-per-target`, at least 1).
    pub max_per_target: usize,
    /// Memory-only entries older than this are dropped (`memory-max-age`).
    pub mem_max_age: Option<Duration>,
    /// Memory-only entries kept in all (`memory-max-entries`); the oldest
    /// go first.
    pub mem_max_entries: usize,
    /// Bytes of persistent entries waiting for the disk (a slow or failing
    /// one) past which further ones are kept in memory only and reported
    /// ([`Event::Overflow`]).
    pub max_unflushed: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            segment_size: 4 << 20,
            fsync_interval: Duration::from_secs(1),
            max_age: Some(Duration::from_secs(30 * 86_400)),
            max_bytes: Some(1 << 30),
            max_per_target: 20_000,
            mem_max_age: Some(Duration::from_secs(7 * 86_400)),
            mem_max_entries: 100_000,
            max_unflushed: 16 << 20,
        }
    }
}

impl Settings {
    /// Brought within the bounds the format and the policies need: a
    /// segment of 4 KiB to 1 GiB and at most a quarter of `max_bytes`
    /// (so that retention by bytes deletes a part, not everything).
    fn normalized(mut self) -> Settings {
        let mut seg = self.segment_size.clamp(4096, 1 << 30);
        if let Some(max) = self.max_bytes {
            seg = seg.min((max / 4).max(4096));
        }
        self.segment_size = seg;
        self.max_per_target = self.max_per_target.max(1);
        self
    }
}

/// An appended entry's number, in the order of [`History::append`]; 1 is
/// the first of this run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(pub u64);

/// What [`History::poll`] tells the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Every persistent entry up to this one is on disk (synced).
    Flushed(Id),
    /// A write or sync failed (a full disk…): the entries are still in
    /// memory, still answered, and the writer tries again in `retry_in`.
    WriteFailed {
        error: String,
        retry_in: Duration,
        /// Persistent entries not yet on disk.
        unflushed: usize,
    },
    /// Retention deleted a segment.
    SegmentDeleted(u32),
    DeleteFailed {
        segment: u32,
        error: String,
    },
    /// A query could not read an entry back (it was left out).
    ReadFailed(String),
    /// Persistent entries kept in memory only since the last report,
    /// because `max_unflushed` bytes were waiting for the disk or the
    /// writer has stopped.
    Overflow(u64),
}

/// Sizes, for logs, STATS and the benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub targets: usize,
    /// Entries indexed (persistent and memory-only).
    pub indexed: usize,
    /// Bytes of the index (slots, names, tree).
    pub index_bytes: usize,
    pub mem_entries: usize,
    pub unflushed: usize,
    pub unflushed_bytes: usize,
    /// Bytes of the segments (as written or being written).
    pub disk_bytes: u64,
    pub segments: usize,
    /// Syncs and bytes written by the writer (at its last report).
    pub syncs: u64,
    pub written: u64,
    /// Bytes of frames handed to the writer in this run.
    pub appended: u64,
}

/// What a [`History::close`] could do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The last reports (flushes, a failure).
    pub events: Vec<Event>,
    /// Persistent entries not on disk when it gave up (0: all written).
    pub unflushed: usize,
}

/// One segment as the loop knows it.
#[derive(Debug, Clone, Copy)]
struct SegInfo {
    /// Bytes (header and frames, including those not yet written).
    len: u64,
    /// The times of its entries.
    min_time: u64,
    max_time: u64,
    /// Index slots pointing into it.
    live: u32,
}

impl SegInfo {
    fn new(len: u64) -> SegInfo {
        SegInfo {
            len,
            min_time: u64::MAX,
            max_time: 0,
            live: 0,
        }
    }

    fn add(&mut self, time: u64) {
        self.min_time = self.min_time.min(time);
        self.max_time = self.max_time.max(time);
        self.live += 1;
    }
}

/// A persistent entry handed to the writer and not yet reported flushed:
/// queries read it here.
struct Pending {
    id: u64,
    seg: u32,
    off: u32,
    len: usize,
    entry: Entry,
}

/// What decides whether a slot is still answered (borrowed apart from the
/// index, so the retention walk can drain it).
struct Live<'a> {
    segs: &'a BTreeMap<u32, SegInfo>,
    mem: &'a HashMap<u64, Entry>,
    disk_cutoff: u64,
    mem_cutoff: u64,
}

impl Live<'_> {
    fn alive(&self, s: &Slot) -> bool {
        match s.loc() {
            Loc::Disk { seg, .. } => s.time() >= self.disk_cutoff && self.segs.contains_key(&seg),
            Loc::Mem(id) => s.time() >= self.mem_cutoff && self.mem.contains_key(&id),
        }
    }
}

/// Targets visited, and slots removed, by one [`History::retain`] step.
const RETAIN_TARGETS: usize = 256;
const RETAIN_SLOTS: usize = 4096;
/// Segments deleted by one step at most.
const RETAIN_SEGMENTS: usize = 8;

/// The history: the index, the entries kept in memory, and the writer.
pub struct History {
    dir: Option<PathBuf>,
    s: Settings,
    index: Index,
    segs: BTreeMap<u32, SegInfo>,
    disk_bytes: u64,
    /// Where the next frame goes.
    cur_seg: u32,
    cur_len: u64,
    /// The next frame starts a new segment.
    rotate: bool,
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    mem: HashMap<u64, Entry>,
    /// Memory ids in append order (some already gone), for the age and
    /// count limits.
    mem_order: VecDeque<u64>,
    next_mem: u64,
    next_id: u64,
    /// Slots older than these are expired (set by `retain`).
    disk_cutoff: u64,
    mem_cutoff: u64,
    /// The retention walk's place (the last target visited).
    cursor: Option<String>,
    readers: RefCell<Option<Readers>>,
    read_errors: RefCell<Vec<String>>,
    overflow: u64,
    syncs: u64,
    written: u64,
    appended: u64,
    writer_gone: bool,
    /// Dropped before the lock: the thread finishes first.
    writer: Option<Writer>,
    _lock: Option<File>,
}

impl History {
    /// Opens the folder `dir` (creating it), reads every segment into the
    /// index and starts the writer; `waker` is woken when
    /// [`History::poll`] has news.
    pub fn open(
        dir: &Path,
        settings: Settings,
        waker: Option<Arc<Waker>>,
    ) -> Result<(History, OpenReport), OpenError> {
        let s = settings.normalized();
        let mut index = Index::default();
        let mut segs: BTreeMap<u32, SegInfo> = BTreeMap::new();
        let mut trimmed = 0;
        let max = s.max_per_target;
        let opened = segment::open(dir, s.segment_size, |seg, off, head| {
            segs.entry(seg).or_insert(SegInfo::new(0)).add(head.time_ms);
            let slot = Slot::new(head.time_ms, head.msgid, Loc::Disk { seg, off });
            if index.insert(head.target, slot) > max {
                if let Some(old) = index.pop_front(head.target) {
                    if let Loc::Disk { seg, .. } = old.loc() {
                        if let Some(i) = segs.get_mut(&seg) {
                            i.live = i.live.saturating_sub(1);
                        }
                    }
                    trimmed += 1;
                }
            }
        })?;
        index.shrink();
        let mut report = opened.report;
        report.trimmed = trimmed;
        for sc in &opened.segments {
            segs.entry(sc.seg).or_insert(SegInfo::new(0)).len = sc.len;
        }
        let (cur_seg, cur_len, resume) = match opened.resume {
            segment::Resume::At { seg, len, file } => (seg, len, Some((seg, file))),
            segment::Resume::New(seg) => (seg, HEADER_LEN as u64, None),
        };
        let writer =
            Writer::start(dir.to_owned(), resume, s.fsync_interval, waker).map_err(|err| {
                OpenError::Io {
                    path: dir.to_owned(),
                    doing: "starting the writer thread for",
                    err,
                }
            })?;
        let disk_bytes = segs.values().map(|i| i.len).sum();
        let mut h = History::empty(s, Some(dir.to_owned()));
        h.index = index;
        h.segs = segs;
        h.disk_bytes = disk_bytes;
        h.cur_seg = cur_seg;
        h.cur_len = cur_len;
        h.writer = Some(writer);
        h._lock = Some(opened.lock);
        Ok((h, report))
    }

    /// A history without a folder: everything in memory (the `persist`
    /// flag is ignored), lost at exit.
    pub fn memory(settings: Settings) -> History {
        History::empty(settings.normalized(), None)
    }

    fn empty(s: Settings, dir: Option<PathBuf>) -> History {
        History {
            readers: RefCell::new(dir.clone().map(Readers::new)),
            dir,
            s,
            index: Index::default(),
            segs: BTreeMap::new(),
            disk_bytes: 0,
            cur_seg: 0,
            cur_len: HEADER_LEN as u64,
            rotate: false,
            pending: VecDeque::new(),
            pending_bytes: 0,
            mem: HashMap::new(),
            mem_order: VecDeque::new(),
            next_mem: 0,
            next_id: 0,
            disk_cutoff: 0,
            mem_cutoff: 0,
            cursor: None,
            read_errors: RefCell::new(Vec::new()),
            overflow: 0,
            syncs: 0,
            written: 0,
            appended: 0,
            writer_gone: false,
            writer: None,
            _lock: None,
        }
    }

    /// The folder (`None` for a memory-only history).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn settings(&self) -> &Settings {
        &self.s
    }

    /// Records `entry`: indexed at once; when `persist`, also encoded and
    /// handed to the writer (never waits for the disk). An entry over
    /// [`FRAME_MAX`] encoded, or one that finds `max_unflushed` bytes
    /// already waiting, is kept in memory only.
    pub fn append(&mut self, entry: Entry, persist: bool) -> Id {
        self.next_id += 1;
        let id = self.next_id;
        if persist && self.writer.is_some() {
            if self.pending_bytes >= self.s.max_unflushed || self.writer_gone {
                self.overflow += 1;
            } else if let Ok(frame) = codec::encode(&entry) {
                self.append_disk(id, entry, frame);
                return Id(id);
            }
        }
        self.append_mem(entry);
        Id(id)
    }

    fn append_disk(&mut self, id: u64, entry: Entry, frame: Vec<u8>) {
        let len = frame.len() as u64;
        let header = HEADER_LEN as u64;
        let full = self.cur_len > header
            && (self.cur_len + len > self.s.segment_size
                || self.cur_len + len > u64::from(u32::MAX));
        if (self.rotate || full) && self.cur_seg < SEG_MAX {
            self.cur_seg += 1;
            self.cur_len = header;
            self.rotate = false;
        }
        let (seg, off) = (self.cur_seg, self.cur_len);
        self.cur_len += len;
        if !self.segs.contains_key(&seg) {
            self.disk_bytes += header;
        }
        self.disk_bytes += len;
        let info = self.segs.entry(seg).or_insert(SegInfo::new(header));
        info.len = self.cur_len;
        info.add(entry.time_ms);
        let loc = Loc::Disk {
            seg,
            off: off as u32,
        };
        let slot = Slot::new(entry.time_ms, &entry.msgid, loc);
        if let Some(w) = &self.writer {
            w.send(Msg::Frame {
                id,
                seg,
                off,
                bytes: frame,
            });
        }
        self.appended += len;
        self.pending_bytes += len as usize;
        let target = entry.target.clone();
        self.pending.push_back(Pending {
            id,
            seg,
            off: off as u32,
            len: len as usize,
            entry,
        });
        self.index_slot(&target, slot);
    }

    fn append_mem(&mut self, entry: Entry) {
        let mid = self.next_mem;
        self.next_mem += 1;
        let slot = Slot::new(entry.time_ms, &entry.msgid, Loc::Mem(mid));
        let target = entry.target.clone();
        self.mem.insert(mid, entry);
        self.mem_order.push_back(mid);
        self.index_slot(&target, slot);
        while self.mem.len() > self.s.mem_max_entries {
            match self.mem_order.pop_front() {
                Some(old) => {
                    self.mem.remove(&old);
                }
                None => break,
            }
        }
        self.compact_mem_order();
    }

    /// Drops ids of entries already gone from `mem_order` when they are
    /// most of it (amortized O(1) per append).
    fn compact_mem_order(&mut self) {
        if self.mem_order.len() > 2 * self.mem.len() + 1024 {
            let mem = &self.mem;
            self.mem_order.retain(|id| mem.contains_key(id));
        }
    }

    fn index_slot(&mut self, target: &str, slot: Slot) {
        if self.index.insert(target, slot) > self.s.max_per_target {
            if let Some(old) = self.index.pop_front(target) {
                self.release(old);
            }
        }
    }

    /// A slot left the index: its segment has one fewer live entry, or
    /// its memory copy goes.
    fn release(&mut self, slot: Slot) {
        match slot.loc() {
            Loc::Disk { seg, .. } => {
                if let Some(i) = self.segs.get_mut(&seg) {
                    i.live = i.live.saturating_sub(1);
                }
            }
            Loc::Mem(id) => {
                self.mem.remove(&id);
            }
        }
    }

    /// Whether a slot is still answered: not expired, its body still there.
    fn alive(&self, s: &Slot) -> bool {
        self.live().alive(s)
    }

    fn live(&self) -> Live<'_> {
        Live {
            segs: &self.segs,
            mem: &self.mem,
            disk_cutoff: self.disk_cutoff,
            mem_cutoff: self.mem_cutoff,
        }
    }

    /// The body of a slot (`None` if it cannot be read; the error goes to
    /// the next `poll`).
    fn body(&self, s: &Slot) -> Option<Entry> {
        match s.loc() {
            Loc::Mem(id) => self.mem.get(&id).cloned(),
            Loc::Disk { seg, off } => {
                if let Ok(i) = self
                    .pending
                    .binary_search_by(|p| (p.seg, p.off).cmp(&(seg, off)))
                {
                    return Some(self.pending[i].entry.clone());
                }
                let mut readers = self.readers.borrow_mut();
                let r = readers.as_mut()?;
                match r.read(seg, off) {
                    Ok(e) => Some(e),
                    Err(err) => {
                        self.read_errors.borrow_mut().push(err);
                        None
                    }
                }
            }
        }
    }

    fn bodies(&self, slots: Vec<Slot>) -> Vec<Entry> {
        slots.iter().filter_map(|s| self.body(s)).collect()
    }

    /// A reference resolved in `slots` (`None`: an unknown or expired
    /// msgid).
    fn point(&self, slots: &VecDeque<Slot>, r: &Ref) -> Option<Point> {
        match r {
            Ref::Timestamp(t) => Some(Point::Time(*t)),
            Ref::Msgid(m) => query::find_msgid(
                slots,
                index::msgid_key(m),
                |s| self.alive(s),
                |s| self.body(s).is_some_and(|e| e.msgid == *m),
            ),
        }
    }

    /// LATEST: the newest `limit` entries of `target`, only those after
    /// `after` when given (`*` is `None`). Chronological, as every query.
    /// An unknown msgid gives nothing.
    pub fn latest(&self, target: &str, after: Option<&Ref>, limit: usize) -> Vec<Entry> {
        let Some(slots) = self.index.get(target) else {
            return Vec::new();
        };
        let p = match after {
            None => None,
            Some(r) => match self.point(slots, r) {
                Some(p) => Some(p),
                None => return Vec::new(),
            },
        };
        self.bodies(query::latest(slots, p, limit, |s| self.alive(s)))
    }

    /// BEFORE: the `limit` entries nearest before `r` (excluded).
    pub fn before(&self, target: &str, r: &Ref, limit: usize) -> Vec<Entry> {
        self.one_ref(target, r, |slots, p| {
            query::before(slots, p, limit, |s| self.alive(s))
        })
    }

    /// AFTER: the `limit` entries nearest after `r` (excluded).
    pub fn after(&self, target: &str, r: &Ref, limit: usize) -> Vec<Entry> {
        self.one_ref(target, r, |slots, p| {
            query::after(slots, p, limit, |s| self.alive(s))
        })
    }

    /// AROUND: at most `limit` entries around `r`: `limit / 2` before it
    /// and the rest from it on (a msgid's own message included and
    /// centred for an odd limit).
    pub fn around(&self, target: &str, r: &Ref, limit: usize) -> Vec<Entry> {
        self.one_ref(target, r, |slots, p| {
            query::around(slots, p, limit, |s| self.alive(s))
        })
    }

    /// BETWEEN: the entries strictly between `a` and `b`, at most `limit`
    /// counted from `a` (forwards or backwards in time).
    pub fn between(&self, target: &str, a: &Ref, b: &Ref, limit: usize) -> Vec<Entry> {
        let Some(slots) = self.index.get(target) else {
            return Vec::new();
        };
        let (Some(pa), Some(pb)) = (self.point(slots, a), self.point(slots, b)) else {
            return Vec::new();
        };
        self.bodies(query::between(slots, pa, pb, limit, |s| self.alive(s)))
    }

    fn one_ref(
        &self,
        target: &str,
        r: &Ref,
        pick: impl FnOnce(&VecDeque<Slot>, Point) -> Vec<Slot>,
    ) -> Vec<Entry> {
        let Some(slots) = self.index.get(target) else {
            return Vec::new();
        };
        match self.point(slots, r) {
            Some(p) => self.bodies(pick(slots, p)),
            None => Vec::new(),
        }
    }

    /// TARGETS: the targets `which` accepts whose latest entry is strictly
    /// between `from_ms` and `to_ms`, at most `limit` counted from
    /// `from_ms`, latest first, each with the time of that entry.
    pub fn targets(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
        which: impl Fn(&str) -> bool,
    ) -> Vec<(String, u64)> {
        query::targets(&self.index, from_ms, to_ms, limit, which, |s| self.alive(s))
    }

    /// The writer's reports since the last call (never blocks), and what
    /// the queries could not read.
    pub fn poll(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(w) = &self.writer {
            match w.reports.try_recv() {
                Ok(r) => self.handle(r, &mut events),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.gone(&mut events);
                    break;
                }
            }
        }
        self.notes(&mut events);
        events
    }

    fn notes(&mut self, events: &mut Vec<Event>) {
        events.extend(self.read_errors.get_mut().drain(..).map(Event::ReadFailed));
        if self.overflow > 0 {
            events.push(Event::Overflow(std::mem::take(&mut self.overflow)));
        }
    }

    /// The writer thread ended (only a bug can do that): what it held
    /// stays in memory, and later persistent entries are kept there too.
    fn gone(&mut self, events: &mut Vec<Event>) {
        if !self.writer_gone {
            self.writer_gone = true;
            events.push(Event::WriteFailed {
                error: "the history's writer thread has stopped".into(),
                retry_in: Duration::MAX,
                unflushed: self.pending.len(),
            });
        }
    }

    fn handle(&mut self, r: Report, events: &mut Vec<Event>) {
        match r {
            Report::Flushed {
                upto,
                syncs,
                written,
            } => {
                while self.pending.front().is_some_and(|p| p.id <= upto) {
                    if let Some(p) = self.pending.pop_front() {
                        self.pending_bytes -= p.len;
                    }
                }
                self.syncs = syncs;
                self.written = written;
                events.push(Event::Flushed(Id(upto)));
            }
            Report::Failed { error, retry_in } => events.push(Event::WriteFailed {
                error,
                retry_in,
                unflushed: self.pending.len(),
            }),
            Report::Deleted { seg } => events.push(Event::SegmentDeleted(seg)),
            Report::DeleteFailed { seg, error } => events.push(Event::DeleteFailed {
                segment: seg,
                error,
            }),
        }
    }

    /// Asks the writer to write what it holds now and waits (at most
    /// `timeout`) until it is on disk or a write fails. For shutdown and
    /// tests: it blocks.
    pub fn flush_now(&mut self, timeout: Duration) -> Vec<Event> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        if let Some(w) = &self.writer {
            w.send(Msg::Flush);
        }
        while !self.pending.is_empty() && !self.writer_gone {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = match &self.writer {
                Some(w) => w.reports.recv_timeout(left),
                None => break,
            };
            match got {
                Ok(r) => {
                    let failed = matches!(r, Report::Failed { .. });
                    self.handle(r, &mut events);
                    if failed {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => self.gone(&mut events),
            }
        }
        self.notes(&mut events);
        events
    }

    /// Writes what is queued and stops the writer, waiting at most
    /// `timeout` in all.
    pub fn close(mut self, timeout: Duration) -> Closed {
        let deadline = Instant::now() + timeout;
        let mut events = self.flush_now(timeout);
        if let Some(mut w) = self.writer.take() {
            if w.stop(deadline) {
                while let Ok(r) = w.reports.try_recv() {
                    self.handle(r, &mut events);
                }
            } else {
                // Still in a write or sync: left to finish on its own.
                std::mem::forget(w);
            }
        }
        Closed {
            events,
            unflushed: self.pending.len(),
        }
    }

    /// One small step of retention at time `now_ms` (UNIX ms): expires by
    /// age, deletes segments whose entries are all expired or dropped and
    /// the oldest while over `max_bytes`, and removes expired slots from a
    /// bounded number of targets. Returns whether the walk over the
    /// targets is still under way (call again soon) or has just ended.
    pub fn retain(&mut self, now_ms: u64) -> bool {
        let ms = |d: Option<Duration>| d.map_or(0, |d| now_ms.saturating_sub(d.as_millis() as u64));
        self.disk_cutoff = ms(self.s.max_age);
        self.mem_cutoff = ms(self.s.mem_max_age);
        let segs_left = self.retain_segments(now_ms);
        self.retain_mem();
        let walk_left = self.retain_walk();
        segs_left || walk_left
    }

    /// Deletes at most [`RETAIN_SEGMENTS`] segments; true if more are due.
    fn retain_segments(&mut self, now_ms: u64) -> bool {
        // Never one still being written or with frames not yet written.
        let first_unwritten = self.pending.front().map_or(self.cur_seg, |p| p.seg);
        let deletable = |seg: u32| seg < first_unwritten && seg != self.cur_seg;
        let mut doomed: Vec<u32> = self
            .segs
            .iter()
            .filter(|(seg, i)| deletable(**seg) && (i.live == 0 || i.max_time < self.disk_cutoff))
            .map(|(seg, _)| *seg)
            .take(RETAIN_SEGMENTS + 1)
            .collect();
        let mut more = doomed.len() > RETAIN_SEGMENTS;
        doomed.truncate(RETAIN_SEGMENTS);
        if let Some(max) = self.s.max_bytes {
            let mut bytes = self.disk_bytes
                - doomed
                    .iter()
                    .filter_map(|s| self.segs.get(s))
                    .map(|i| i.len)
                    .sum::<u64>();
            for (seg, i) in &self.segs {
                if bytes <= max {
                    break;
                }
                if doomed.contains(seg) {
                    continue;
                }
                if !deletable(*seg) {
                    // Only the newest is left over the limit: start
                    // another so this one can go later.
                    if *seg == self.cur_seg {
                        self.rotate = true;
                    }
                    break;
                }
                if doomed.len() >= RETAIN_SEGMENTS {
                    more = true;
                    break;
                }
                doomed.push(*seg);
                bytes -= i.len;
            }
        }
        for seg in doomed {
            if let Some(i) = self.segs.remove(&seg) {
                self.disk_bytes -= i.len;
            }
            if let Some(r) = self.readers.get_mut() {
                r.close(seg);
            }
            if let Some(w) = &self.writer {
                w.send(Msg::Delete(seg));
            }
        }
        // A quiet segment would hold old entries past their age: start a
        // new one every sixteenth of `max_age`, so that age retention
        // deletes in steps of that size.
        if let (Some(age), Some(cur)) = (self.s.max_age, self.segs.get(&self.cur_seg)) {
            let step = (age.as_millis() as u64 / 16).max(1);
            if cur.live > 0 && cur.min_time.saturating_add(step) < now_ms {
                self.rotate = true;
            }
        }
        more
    }

    /// Memory-only entries past their age go (oldest first, bounded).
    fn retain_mem(&mut self) {
        for _ in 0..RETAIN_SLOTS {
            let Some(&id) = self.mem_order.front() else {
                break;
            };
            match self.mem.get(&id) {
                Some(e) if e.time_ms >= self.mem_cutoff => break,
                Some(_) => {
                    self.mem.remove(&id);
                }
                None => {}
            }
            self.mem_order.pop_front();
        }
        self.compact_mem_order();
    }

    /// Removes expired slots at the front of a bounded number of targets,
    /// from where the last step stopped; true until a walk has reached
    /// the end.
    fn retain_walk(&mut self) -> bool {
        let mut removed = 0;
        for _ in 0..RETAIN_TARGETS {
            let Some(name) = self
                .index
                .next_target(self.cursor.as_deref())
                .map(str::to_owned)
            else {
                self.cursor = None;
                return false;
            };
            let mut gone = Vec::new();
            let budget = RETAIN_SLOTS - removed;
            let live = Live {
                segs: &self.segs,
                mem: &self.mem,
                disk_cutoff: self.disk_cutoff,
                mem_cutoff: self.mem_cutoff,
            };
            removed += self
                .index
                .drain_front(&name, budget, |s| !live.alive(s), |s| gone.push(s));
            for s in gone {
                self.release(s);
            }
            self.cursor = Some(name);
            if removed >= RETAIN_SLOTS {
                return true;
            }
        }
        true
    }

    pub fn stats(&self) -> Stats {
        Stats {
            targets: self.index.targets(),
            indexed: self.index.slots(),
            index_bytes: self.index.heap_bytes(),
            mem_entries: self.mem.len(),
            unflushed: self.pending.len(),
            unflushed_bytes: self.pending_bytes,
            disk_bytes: self.disk_bytes,
            segments: self.segs.len(),
            syncs: self.syncs,
            written: self.written,
            appended: self.appended,
        }
    }
}
