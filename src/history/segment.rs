//! The history folder at start: the lock, the listing, the scan of every
//! segment's frames, and the repairs: a torn or corrupt tail of the last
//! segment is cut at the last good frame (the cut bytes saved aside first
//! as `<segment>.corrupt-<secs>`); a bad frame in an earlier segment ends
//! that segment's scan (reported, the file left as it is); a file that is
//! not a segment, or a segment with a foreign or damaged header, is
//! reported and left alone. Nothing here panics on what the folder holds.
//!
//! Also the file helpers the writer thread shares: names, creating a
//! segment, syncing the folder. Blocking; runs before the loop starts.
//! Imports `history::codec` and `history::index` (segment number bound).

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{self, Head, Torn, FRAME_HEAD, FRAME_MAX, HEADER_LEN, SCHEMA};
use super::index::SEG_MAX;

/// New files' mode: private conversations are in them.
const PRIVATE: u32 = 0o600;
/// The lock file in the folder (held for the life of the process).
pub const LOCK: &str = "lock";

/// `NNNNNNNN.seg`.
pub fn name(seg: u32) -> String {
    format!("{seg:08}.seg")
}

pub fn path(dir: &Path, seg: u32) -> PathBuf {
    dir.join(name(seg))
}

/// The number of a segment file name (`NNNNNNNN.seg`, 8 digits).
pub fn parse_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n <= SEG_MAX)
}

/// Opens segment `seg` for writing, creating it with its header when it
/// is new or shorter than a header. Returns the file and whether it was
/// (re)created, in which case the folder needs an fsync.
pub fn create(dir: &Path, seg: u32) -> io::Result<(File, bool)> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE)
        .open(path(dir, seg))?;
    let len = f.metadata()?.len();
    if len >= HEADER_LEN as u64 {
        return Ok((f, false));
    }
    f.write_all_at(&codec::header(SCHEMA), 0)?;
    f.sync_all()?;
    Ok((f, true))
}

/// Makes the folder's entries durable (a created or removed segment).
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A segment read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub seg: u32,
    /// Its length on disk (after a cut).
    pub len: u64,
}

/// Where appends go on.
pub enum Resume {
    /// The last segment, from its end.
    At { seg: u32, len: u64, file: File },
    /// A new segment of this number (created by the writer).
    New(u32),
}

/// The folder, locked and read.
pub struct Opened {
    pub lock: File,
    /// The segments read, in order.
    pub segments: Vec<Scanned>,
    pub resume: Resume,
    pub report: OpenReport,
}

/// What happened while opening, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// The folder was created.
    pub created: bool,
    /// Segments read.
    pub segments: usize,
    /// Frames read (every entry on disk).
    pub frames: usize,
    /// Entries not indexed because their target had `max-per-target`.
    pub trimmed: usize,
    /// Bytes of the segments read.
    pub bytes: u64,
    /// The last segment's tail that was cut off.
    pub cut: Option<Cut>,
    /// Earlier segments whose scan stopped before their end, and segments
    /// skipped (foreign or damaged header, newer schema).
    pub damaged: Vec<Damage>,
    /// Files and folders that are not segments, left alone.
    pub ignored: Vec<PathBuf>,
}

/// A torn or corrupt tail cut off the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub segment: PathBuf,
    /// Where the first bad frame started (the segment now ends there).
    pub offset: u64,
    pub reason: String,
    /// Bytes cut off.
    pub dropped: u64,
    /// The copy of the bytes cut off.
    pub aside: PathBuf,
}

/// A segment not read to its end (kept as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub segment: PathBuf,
    /// Where reading stopped (0: not read at all).
    pub offset: u64,
    pub reason: String,
    /// Bytes left unread.
    pub skipped: u64,
}

impl OpenReport {
    /// One line per notable event, for the log (empty when there was none).
    pub fn messages(&self, dir: &Path) -> Vec<String> {
        let d = dir.display();
        let mut out = Vec::new();
        if self.created {
            out.push(format!("history: created {d}"));
        }
        if let Some(c) = &self.cut {
            out.push(format!(
                "history: {}: {} at byte {}; cut off {} bytes there (saved as {})",
                c.segment.display(),
                c.reason,
                c.offset,
                c.dropped,
                c.aside.display()
            ));
        }
        for x in &self.damaged {
            out.push(format!(
                "history: {}: {} at byte {}; {} bytes after it are not read (the file is left as it is)",
                x.segment.display(),
                x.reason,
                x.offset,
                x.skipped
            ));
        }
        for p in &self.ignored {
            out.push(format!(
                "history: {}: not a history segment, ignored",
                p.display()
            ));
        }
        out
    }
}

/// Why the history cannot be used (the server should say so and refuse
/// to start, or run without history).
#[derive(Debug)]
pub enum OpenError {
    Io {
        path: PathBuf,
        doing: &'static str,
        err: io::Error,
    },
    /// Another process holds the folder's lock.
    Locked { path: PathBuf },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, doing, err } => {
                write!(f, "history: {doing} {}: {err}", path.display())
            }
            OpenError::Locked { path } => write!(
                f,
                "history: {} is locked by another process: is another picoircd running on it?",
                path.display()
            ),
        }
    }
}

impl std::error::Error for OpenError {}

fn io_err<'a>(path: &'a Path, doing: &'static str) -> impl FnOnce(io::Error) -> OpenError + 'a {
    move |err| OpenError::Io {
        path: path.to_owned(),
        doing,
        err,
    }
}

/// Opens (creating) the folder, locks it, and reads every segment in
/// order, calling `each(seg, offset, head)` for each good frame.
/// `segment_size`: the last segment is resumed only when shorter.
pub fn open(
    dir: &Path,
    segment_size: u64,
    mut each: impl FnMut(u32, u32, Head<'_>),
) -> Result<Opened, OpenError> {
    let mut report = OpenReport::default();
    if fs::symlink_metadata(dir).is_err() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir, "creating the folder"))?;
        report.created = true;
    }
    let lock = lock(dir)?;

    let mut numbers = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir, "listing"))? {
        let e = e.map_err(io_err(dir, "listing"))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == LOCK {
            continue;
        }
        let is_file = e.file_type().map(|t| t.is_file()).unwrap_or(false);
        match parse_name(&name) {
            Some(n) if is_file => numbers.push(n),
            _ => report.ignored.push(e.path()),
        }
    }
    numbers.sort_unstable();
    report.ignored.sort();

    let last = numbers.last().copied();
    let mut segments = Vec::new();
    let mut resume = None;
    for &seg in &numbers {
        let p = path(dir, seg);
        let is_last = Some(seg) == last;
        let file = match OpenOptions::new().read(true).write(is_last).open(&p) {
            Ok(f) => f,
            Err(e) => {
                report.damaged.push(Damage {
                    segment: p,
                    offset: 0,
                    reason: format!("cannot be opened ({e})"),
                    skipped: 0,
                });
                continue;
            }
        };
        let flen = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = [0u8; HEADER_LEN];
        let got = read_at_most(&file, &mut head, 0).unwrap_or(0);
        match codec::parse_header(&head[..got]) {
            Ok(SCHEMA) => {}
            // A segment whose creation was cut short: no data in it.
            Err(codec::HeaderError::Short(_)) if is_last && flen < HEADER_LEN as u64 => {
                let (file, _) = create(dir, seg).map_err(io_err(&p, "recreating"))?;
                resume = Some(Resume::At {
                    seg,
                    len: HEADER_LEN as u64,
                    file,
                });
                segments.push(Scanned {
                    seg,
                    len: HEADER_LEN as u64,
                });
                continue;
            }
            Ok(v) => {
                report.damaged.push(Damage {
                    segment: p,
                    offset: 0,
                    reason: format!(
                        "schema version {v}, not the {SCHEMA} this picoircd writes (skipped)"
                    ),
                    skipped: flen,
                });
                continue;
            }
            Err(e) => {
                report.damaged.push(Damage {
                    segment: p,
                    offset: 0,
                    reason: format!(
                        "not a history segment: {} (skipped)",
                        e.describe(codec::MAGIC_NAME)
                    ),
                    skipped: flen,
                });
                continue;
            }
        }
        let (end, torn) = scan(&file, flen, |off, head| each(seg, off, head), &mut report);
        report.segments += 1;
        let mut len = flen;
        if let Some(torn) = torn {
            if is_last {
                let aside = unique(sibling(&p, &format!(".corrupt-{}", unix_secs())));
                save_aside(&file, end, &aside).map_err(io_err(&p, "saving the damaged tail of"))?;
                file.set_len(end)
                    .and_then(|()| file.sync_all())
                    .map_err(io_err(&p, "cutting the damaged tail of"))?;
                report.cut = Some(Cut {
                    segment: p.clone(),
                    offset: end,
                    reason: torn,
                    dropped: flen - end,
                    aside,
                });
                len = end;
            } else {
                report.damaged.push(Damage {
                    segment: p.clone(),
                    offset: end,
                    reason: torn,
                    skipped: flen - end,
                });
            }
        }
        report.bytes += len;
        segments.push(Scanned { seg, len });
        if is_last && len < segment_size {
            resume = Some(Resume::At { seg, len, file });
        }
    }
    let resume = resume.unwrap_or_else(|| Resume::New(last.map_or(0, |n| n + 1).min(SEG_MAX)));
    Ok(Opened {
        lock,
        segments,
        resume,
        report,
    })
}

/// Reads the frames of a segment from its header on; returns where the
/// good frames end and, when that is before `len`, why.
fn scan(
    file: &File,
    len: u64,
    mut each: impl FnMut(u32, Head<'_>),
    report: &mut OpenReport,
) -> (u64, Option<String>) {
    let mut r = BufReader::with_capacity(256 * 1024, file);
    let mut pos = HEADER_LEN as u64;
    if let Err(e) = r.seek(SeekFrom::Start(pos)) {
        return (pos, Some(format!("a read error ({e})")));
    }
    let mut payload = Vec::with_capacity(1024);
    loop {
        let left = len - pos;
        if left == 0 {
            return (pos, None);
        }
        if pos > u64::from(u32::MAX) {
            return (pos, Some("a segment longer than 4 GiB".into()));
        }
        if left < FRAME_HEAD as u64 {
            return (pos, Some(Torn::ShortHead(left as usize).to_string()));
        }
        let mut head = [0u8; FRAME_HEAD];
        if let Err(e) = r.read_exact(&mut head) {
            return (pos, Some(format!("a read error ({e})")));
        }
        let want = match codec::frame_len(&head) {
            Ok(n) => n,
            Err(t) => return (pos, Some(t.to_string())),
        };
        if left - (FRAME_HEAD as u64) < want as u64 {
            let have = (left as usize) - FRAME_HEAD;
            return (pos, Some(Torn::ShortPayload { have, want }.to_string()));
        }
        payload.resize(want.min(FRAME_MAX), 0);
        if let Err(e) = r.read_exact(&mut payload) {
            return (pos, Some(format!("a read error ({e})")));
        }
        if let Err(t) = codec::check(&head, &payload) {
            return (pos, Some(t.to_string()));
        }
        match codec::decode_head(&payload) {
            Ok(h) => each(pos as u32, h),
            Err(t) => return (pos, Some(t.to_string())),
        }
        report.frames += 1;
        pos += (FRAME_HEAD + want) as u64;
    }
}

/// Copies the bytes of `file` from `from` to its end into a new file
/// `to`, made durable.
fn save_aside(file: &File, from: u64, to: &Path) -> io::Result<()> {
    let mut src = file.try_clone()?;
    src.seek(SeekFrom::Start(from))?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(to)?;
    io::copy(&mut src, &mut dst)?;
    dst.sync_all()?;
    match to.parent() {
        Some(d) => fsync_dir(d),
        None => Ok(()),
    }
}

/// Takes the folder's lock (`flock` on `<dir>/lock`), tried for a moment:
/// a child process being started by another thread holds a copy of the
/// descriptor until its exec.
fn lock(dir: &Path) -> Result<File, OpenError> {
    let p = dir.join(LOCK);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE)
        .open(&p)
        .map_err(io_err(&p, "opening"))?;
    for _ in 0..20 {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&p, "locking")(e)),
        }
    }
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            path: dir.to_owned(),
        }),
        Err(TryLockError::Error(e)) => Err(io_err(&p, "locking")(e)),
    }
}

fn read_at_most(file: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], off + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `base`, or `base.1`, `base.2`…: the first that does not exist.
fn unique(base: PathBuf) -> PathBuf {
    if fs::symlink_metadata(&base).is_err() {
        return base;
    }
    (1u32..)
        .map(|i| sibling(&base, &format!(".{i}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or(base)
}

/// For the name of a file saved aside only (never for retention).
fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip_and_others_are_refused() {
        assert_eq!(name(7), "00000007.seg");
        assert_eq!(parse_name("00000007.seg"), Some(7));
        for bad in [
            "7.seg",
            "0000007.seg",
            "000000007.seg",
            "0000000a.seg",
            "00000007.seg.corrupt-1",
            "00000007.sego",
            "+0000007.seg",
            "lock",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }
}
