//! The writer thread: the only code that writes segments or deletes them.
//!
//! The loop hands it frames already placed (segment and offset decided by
//! the facade, so the index knows where each entry will be before it is
//! written). The thread gathers them and, once per `fsync_interval` after
//! the first one arrived, writes them with one positioned write per
//! contiguous run and one `fdatasync` per segment touched, then reports
//! [`Report::Flushed`]. Batching by time is what keeps an SD card's wear
//! low: at a low rate every sync rewrites the tail page and commits the
//! journal, so one sync a second bounds that cost (measured in mod.rs:
//! 2.0x at 100 msg/s instead of 49x with a sync per frame). A burst over [`GROUP_BYTES`] is written at
//! once.
//!
//! A failed write (a full disk, EFBIG, EIO) is reported with
//! [`Report::Failed`]; the frames stay queued, in order, and the same
//! bytes are written at the same offsets on the next try (after a backoff
//! doubling from the interval to 30 s), so a retry never duplicates an
//! entry and a partial write is overwritten. Later segments are never
//! written before earlier ones are synced: what survives a crash is a
//! prefix. Deletions (retention) are done between batches.
//!
//! Imports `history::{codec, segment}` (file helpers) and mio's `Waker`. The clock
//! it reads paces the syncs only; no retention decision is made here.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Waker;

use super::segment;

/// Queued bytes past which a batch is written before its deadline.
pub const GROUP_BYTES: usize = 4 << 20;
/// The longest wait between two tries after failures.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

pub enum Msg {
    /// Entry `id` encoded as a frame, to be written at `off` of `seg`.
    Frame {
        id: u64,
        seg: u32,
        off: u64,
        bytes: Vec<u8>,
    },
    /// Removes a segment (retention).
    Delete(u32),
    /// Write what is queued now, whatever the deadline or backoff.
    Flush,
}

/// What the writer tells the loop, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Every frame up to entry `upto` is written and synced.
    Flushed {
        upto: u64,
        /// `fdatasync`/`fsync` calls so far.
        syncs: u64,
        /// Bytes written so far (frames and headers).
        written: u64,
    },
    /// A write or sync failed; the frames are kept and retried.
    Failed {
        error: String,
        retry_in: Duration,
    },
    Deleted {
        seg: u32,
    },
    DeleteFailed {
        seg: u32,
        error: String,
    },
}

/// The loop's handle on the thread. Dropping it lets the thread write what
/// is queued, then joins it.
pub struct Writer {
    tx: Option<Sender<Msg>>,
    pub reports: Receiver<Report>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread on `dir`; `resume` is the segment appends go on
    /// in (opened for writing), if any. `waker` is woken after reports.
    pub fn start(
        dir: PathBuf,
        resume: Option<(u32, File)>,
        interval: Duration,
        waker: Option<Arc<Waker>>,
    ) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let (report_tx, reports) = mpsc::channel::<Report>();
        let mut t = Thread {
            dir,
            interval,
            cur: resume,
            runs: VecDeque::new(),
            queued: 0,
            deadline: None,
            failures: 0,
            dir_dirty: false,
            syncs: 0,
            written: 0,
            reports: report_tx,
            waker,
        };
        let handle = std::thread::Builder::new()
            .name("picoircd-history".into())
            .spawn(move || t.run(rx))?;
        Ok(Writer {
            tx: Some(tx),
            reports,
            thread: Some(handle),
        })
    }

    pub fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx {
            // The thread ends only when this handle lets it go.
            let _ = tx.send(msg);
        }
    }

    /// Lets the thread write what is queued and end; waits until
    /// `deadline` for it. Returns whether it ended (if not, it is left to
    /// finish on its own).
    pub fn stop(&mut self, deadline: Instant) -> bool {
        self.tx = None;
        let Some(t) = self.thread.take() else {
            return true;
        };
        while !t.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if t.is_finished() {
            let _ = t.join();
            true
        } else {
            false
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

/// Frames contiguous in one segment.
struct Run {
    seg: u32,
    off: u64,
    bytes: Vec<u8>,
    last_id: u64,
}

struct Thread {
    dir: PathBuf,
    interval: Duration,
    /// The segment being written, open.
    cur: Option<(u32, File)>,
    runs: VecDeque<Run>,
    queued: usize,
    /// When the queued frames are due (None: nothing queued).
    deadline: Option<Instant>,
    /// Consecutive failed tries.
    failures: u32,
    /// A segment was created and the folder not synced since.
    dir_dirty: bool,
    syncs: u64,
    written: u64,
    reports: Sender<Report>,
    waker: Option<Arc<Waker>>,
}

impl Thread {
    fn run(&mut self, rx: Receiver<Msg>) {
        loop {
            let msg = match self.deadline {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            let mut told = false;
            match msg {
                Ok(Msg::Frame {
                    id,
                    seg,
                    off,
                    bytes,
                }) => {
                    self.push(id, seg, off, bytes);
                    if self.queued >= GROUP_BYTES && self.failures == 0 {
                        told |= self.write_out();
                    }
                }
                Ok(Msg::Delete(seg)) => told |= self.delete(seg),
                Ok(Msg::Flush) => told |= self.write_out(),
                Err(RecvTimeoutError::Timeout) => told |= self.write_out(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.write_out();
                    return;
                }
            }
            if self.deadline.is_some_and(|d| d <= Instant::now()) {
                told |= self.write_out();
            }
            if told {
                if let Some(w) = &self.waker {
                    let _ = w.wake();
                }
            }
        }
    }

    fn push(&mut self, id: u64, seg: u32, off: u64, bytes: Vec<u8>) {
        self.queued += bytes.len();
        if self.deadline.is_none() {
            self.deadline = Some(Instant::now() + self.interval);
        }
        if let Some(last) = self.runs.back_mut() {
            if last.seg == seg && last.off + last.bytes.len() as u64 == off {
                last.bytes.extend_from_slice(&bytes);
                last.last_id = id;
                return;
            }
        }
        self.runs.push_back(Run {
            seg,
            off,
            bytes,
            last_id: id,
        });
    }

    fn report(&self, r: Report) {
        let _ = self.reports.send(r);
    }

    /// Writes and syncs every queued run, segment by segment, in order.
    /// Returns whether a report was sent.
    fn write_out(&mut self) -> bool {
        if self.runs.is_empty() {
            self.deadline = None;
            return false;
        }
        let mut upto = None;
        while let Some(seg) = self.runs.front().map(|r| r.seg) {
            let n = self.runs.iter().take_while(|r| r.seg == seg).count();
            match self.write_group(seg, n) {
                Ok(()) => {
                    for _ in 0..n {
                        if let Some(r) = self.runs.pop_front() {
                            self.queued -= r.bytes.len();
                            upto = Some(r.last_id);
                        }
                    }
                }
                Err(e) => {
                    if let Some(upto) = upto {
                        self.flushed(upto);
                    }
                    self.failures += 1;
                    let shift = (self.failures - 1).min(16);
                    let retry_in = (self.interval * (1u32 << shift))
                        .min(BACKOFF_MAX)
                        .max(self.interval);
                    self.deadline = Some(Instant::now() + retry_in);
                    self.report(Report::Failed {
                        error: format!("writing {}: {e}", segment::name(seg)),
                        retry_in,
                    });
                    return true;
                }
            }
        }
        self.failures = 0;
        self.deadline = None;
        if let Some(upto) = upto {
            self.flushed(upto);
        }
        true
    }

    fn flushed(&self, upto: u64) {
        self.report(Report::Flushed {
            upto,
            syncs: self.syncs,
            written: self.written,
        });
    }

    /// The first `n` runs, all of segment `seg`: written, then synced.
    fn write_group(&mut self, seg: u32, n: usize) -> io::Result<()> {
        if self.cur.as_ref().map(|(s, _)| *s) != Some(seg) {
            self.cur = None;
            let (f, created) = segment::create(&self.dir, seg)?;
            if created {
                self.dir_dirty = true;
                self.syncs += 1;
                self.written += super::codec::HEADER_LEN as u64;
            }
            self.cur = Some((seg, f));
        }
        let Some((_, file)) = &self.cur else {
            return Err(io::Error::other("no segment open"));
        };
        for r in self.runs.iter().take(n) {
            file.write_all_at(&r.bytes, r.off)?;
        }
        file.sync_data()?;
        self.syncs += 1;
        if self.dir_dirty {
            segment::fsync_dir(&self.dir)?;
            self.syncs += 1;
            self.dir_dirty = false;
        }
        self.written += self
            .runs
            .iter()
            .take(n)
            .map(|r| r.bytes.len() as u64)
            .sum::<u64>();
        Ok(())
    }

    fn delete(&mut self, seg: u32) -> bool {
        if self.cur.as_ref().is_some_and(|(s, _)| *s == seg) {
            self.cur = None;
        }
        match fs::remove_file(segment::path(&self.dir, seg)) {
            Ok(()) => {
                // Best effort: a deletion lost in a crash is redone.
                let _ = segment::fsync_dir(&self.dir);
                self.report(Report::Deleted { seg });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.report(Report::Deleted { seg }),
            Err(e) => self.report(Report::DeleteFailed {
                seg,
                error: e.to_string(),
            }),
        }
        true
    }
}
