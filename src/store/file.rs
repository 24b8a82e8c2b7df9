//! Opening the datastore file at start: the lock, the header, reading the
//! frames into a [`Db`], recovering from a torn or corrupt tail (the whole
//! original is copied aside first), upgrading an older schema (a backup is
//! written first), and the write-temp + fsync + rename + fsync-directory
//! step that the upgrade and compaction share.
//!
//! Blocking, so it runs before the loop starts; during the run only the
//! writer thread (writer.rs) touches the file, through [`replace`].
//! Imports `store::{codec, db, upgrade}` and the compaction policy of
//! `store` (mod.rs); nothing else of the crate.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{self, Torn, HEADER_LEN, SCHEMA};
use super::db::Db;
use super::upgrade;

/// A datastore read, locked and ready for the writer.
pub struct Opened {
    pub db: Db,
    /// The file, holding the exclusive lock for the life of the process.
    pub file: File,
    /// Its length: the end of the last good frame.
    pub len: u64,
    /// Its length right after the last rewrite (or what a rewrite would
    /// be now): the measure for compaction.
    pub base: u64,
    /// The directory entry of a rewrite may not be durable yet (its fsync
    /// failed); the writer retries it before the next commit.
    pub dir_dirty: bool,
    pub report: OpenReport,
}

/// What happened while opening, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// The file was new (or empty) and got a fresh header.
    pub created: bool,
    /// The schema the file had.
    pub schema: u32,
    /// Frames read and applied.
    pub frames: usize,
    /// Records in the loaded state.
    pub records: usize,
    pub recovered: Option<Recovery>,
    pub upgraded: Option<Upgraded>,
    /// `(before, after)` lengths when the file was compacted at start.
    pub compacted: Option<(u64, u64)>,
    /// Why a compaction at start failed (the file is used as it is).
    pub compact_failed: Option<String>,
}

/// A torn or corrupt tail that was cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the first bad frame starts (the file now ends there).
    pub offset: u64,
    /// What was wrong with it.
    pub reason: String,
    /// Bytes cut off.
    pub dropped: u64,
    /// The copy of the whole original file.
    pub aside: PathBuf,
}

/// An older schema rewritten in the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgraded {
    pub from: u32,
    /// The copy of the file as it was (fsynced before the rewrite).
    pub backup: PathBuf,
}

impl OpenReport {
    /// One line per notable event, for the log (empty when there was none).
    pub fn messages(&self, path: &Path) -> Vec<String> {
        let p = path.display();
        let mut out = Vec::new();
        if self.created {
            out.push(format!("datastore: created {p}"));
        }
        if let Some(r) = &self.recovered {
            out.push(format!(
                "datastore: {p}: {} at byte {}; kept the {} frames before it and cut off {} bytes; \
                 the whole original file is saved as {}",
                r.reason,
                r.offset,
                self.frames,
                r.dropped,
                r.aside.display()
            ));
        }
        if let Some(u) = &self.upgraded {
            out.push(format!(
                "datastore: {p}: upgraded from schema {} to {SCHEMA}; the original is saved as {}",
                u.from,
                u.backup.display()
            ));
        }
        if let Some((before, after)) = self.compacted {
            out.push(format!(
                "datastore: {p}: compacted from {before} to {after} bytes"
            ));
        }
        if let Some(e) = &self.compact_failed {
            out.push(format!(
                "datastore: {p}: compacting failed ({e}); going on with the file as it is"
            ));
        }
        out
    }
}

/// Why the datastore cannot be used. Never a reason to start empty over
/// the file: the server should refuse to start.
#[derive(Debug)]
pub enum OpenError {
    Io {
        path: PathBuf,
        doing: &'static str,
        err: io::Error,
    },
    /// Another process holds the lock.
    Locked { path: PathBuf },
    /// Not our file, or its header is damaged.
    NotADatastore { path: PathBuf, why: String },
    /// Written by a newer release.
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, doing, err } => {
                write!(f, "datastore: {doing} {}: {err}", path.display())
            }
            OpenError::Locked { path } => write!(
                f,
                "datastore: {} is locked by another process: is another picoircd running on it?",
                path.display()
            ),
            OpenError::NotADatastore { path, why } => write!(
                f,
                "datastore: {} is not a picoircd datastore ({why}); refusing to use or overwrite \
                 it: move it away, or set [datastore] path to another file",
                path.display()
            ),
            OpenError::TooNew {
                path,
                found,
                supported,
            } => write!(
                f,
                "datastore: {} has schema version {found}, newer than the {supported} this \
                 picoircd understands; it was written by a newer release: run that one, or \
                 restore a backup",
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

/// New files' mode: they hold password hashes and e-mail addresses.
const PRIVATE: u32 = 0o600;

/// Opens (or creates) the datastore at `path`, locks it, reads it, and
/// repairs, upgrades or compacts it as needed.
pub fn open(path: &Path) -> Result<Opened, OpenError> {
    let mut file = lock(path)?;
    // A compaction or upgrade that died before its rename leaves this.
    let _ = fs::remove_file(sibling(path, ".tmp"));

    let mut bytes = Vec::new();
    (&file)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "reading"))?;
    let mut report = OpenReport {
        schema: SCHEMA,
        ..OpenReport::default()
    };

    // Empty, or a header cut short while this very build created the
    // file: nobody's data is in it.
    let fresh = codec::header(SCHEMA);
    if bytes.len() < HEADER_LEN && bytes[..] == fresh[..bytes.len()] {
        file.set_len(0)
            .and_then(|()| file.write_all_at(&fresh, 0))
            .and_then(|()| file.sync_all())
            .map_err(io_err(path, "creating"))?;
        let dir_dirty = fsync_dir(path).is_err();
        report.created = true;
        return Ok(Opened {
            db: Db::new(),
            file,
            len: HEADER_LEN as u64,
            base: HEADER_LEN as u64,
            dir_dirty,
            report,
        });
    }

    let version = codec::parse_header(&bytes).map_err(|e| OpenError::NotADatastore {
        path: path.to_owned(),
        why: e.describe(codec::MAGIC_NAME),
    })?;
    if version > SCHEMA {
        return Err(OpenError::TooNew {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA,
        });
    }
    report.schema = version;

    let scan = scan(&bytes, version);
    report.frames = scan.frames;
    report.records = scan.db.len();
    let mut len = scan.end as u64;
    if let Some((offset, torn)) = scan.torn {
        // Keep every byte before cutting any.
        let aside = unique(sibling(path, &format!(".corrupt-{}", unix_now())));
        copy_synced(path, &aside).map_err(io_err(path, "saving a copy of the damaged file"))?;
        file.set_len(len)
            .and_then(|()| file.sync_all())
            .map_err(io_err(path, "cutting the damaged tail of"))?;
        report.recovered = Some(Recovery {
            offset: offset as u64,
            reason: torn.to_string(),
            dropped: bytes.len() as u64 - len,
            aside,
        });
    }
    drop(bytes);

    let db = scan.db;
    let body = db.encode_snapshot().map_err(|e| OpenError::Io {
        path: path.to_owned(),
        doing: "re-encoding",
        err: io::Error::other(e.to_string()),
    })?;
    let base = (HEADER_LEN + body.len()) as u64;
    let mut dir_dirty = false;
    if version < SCHEMA {
        let backup = unique(sibling(path, &format!(".v{version}.bak")));
        copy_synced(path, &backup).map_err(io_err(path, "backing up before upgrading"))?;
        let (new_file, synced) = replace(path, &body).map_err(io_err(path, "upgrading"))?;
        file = new_file;
        dir_dirty = !synced;
        len = base;
        report.upgraded = Some(Upgraded {
            from: version,
            backup,
        });
    } else if super::compaction_due(len, base) {
        // Optional: on failure (a full disk) the file serves as it is.
        match replace(path, &body) {
            Ok((new_file, synced)) => {
                report.compacted = Some((len, base));
                file = new_file;
                dir_dirty = !synced;
                len = base;
            }
            Err(e) => report.compact_failed = Some(e.to_string()),
        }
    }
    Ok(Opened {
        db,
        file,
        len,
        // After a failed compaction, not again before the file doubles.
        base: if report.compact_failed.is_some() {
            len
        } else {
            base
        },
        dir_dirty,
        report,
    })
}

/// Opens `path` read-write (creating it), takes the exclusive lock, and
/// checks that the locked file is still the one at `path`: a running
/// server's compaction renames a new file over it, and the lock on the old
/// one, released then, proves nothing.
fn lock(path: &Path) -> Result<File, OpenError> {
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PRIVATE)
            .open(path)
            .map_err(io_err(path, "opening"))?;
        try_lock(&file).map_err(|e| match e {
            TryLockError::WouldBlock => OpenError::Locked {
                path: path.to_owned(),
            },
            TryLockError::Error(e) => io_err(path, "locking")(e),
        })?;
        let held = file
            .metadata()
            .map_err(io_err(path, "reading the metadata of"))?;
        match fs::metadata(path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => return Ok(file),
            _ => continue,
        }
    }
    Err(OpenError::Locked {
        path: path.to_owned(),
    })
}

/// `flock(LOCK_EX | LOCK_NB)`, tried for a moment before giving up. A lock
/// belongs to the open file, and a child process being started by another
/// thread holds a copy of every descriptor from fork until exec (even
/// close-on-exec ones): a file this process has just closed may stay
/// locked for that long. Another server holds it for good.
fn try_lock(file: &File) -> Result<(), TryLockError> {
    for _ in 0..20 {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            other => return other,
        }
    }
    file.try_lock()
}

/// The frames of a file read to the first bad one.
struct Scan {
    db: Db,
    frames: usize,
    /// The end of the last good frame.
    end: usize,
    /// Where the first bad frame starts, and what is wrong with it.
    torn: Option<(usize, Torn)>,
}

fn scan(bytes: &[u8], version: u32) -> Scan {
    let mut db = Db::new();
    let mut frames = 0;
    let mut pos = HEADER_LEN;
    let torn = loop {
        let applied = codec::next_frame(bytes, pos).and_then(|frame| match frame {
            None => Ok(None),
            Some((payload, next)) => {
                let change = upgrade::decode(version, payload)?;
                let _undo = db.apply(change).map_err(|_| Torn::Mismatch)?;
                Ok(Some(next))
            }
        });
        match applied {
            Ok(None) => break None,
            Ok(Some(next)) => {
                frames += 1;
                pos = next;
            }
            Err(torn) => break Some((pos, torn)),
        }
    };
    Scan {
        db,
        frames,
        end: pos,
        torn,
    }
}

/// Writes a fresh file of the current schema with `body` (frames) beside
/// `path` and puts it in place ([`create_tmp`], then [`install`]).
/// Returns the new file, locked, and whether the directory fsync
/// succeeded. On an error, `path` is untouched and the temp file removed.
pub fn replace(path: &Path, body: &[u8]) -> io::Result<(File, bool)> {
    let mut f = create_tmp(path)?;
    match f.write_all(body) {
        Ok(()) => install(path, f),
        Err(e) => {
            discard_tmp(path);
            Err(e)
        }
    }
}

/// Starts the rewrite of `path`: `<path>.tmp`, emptied, locked, with a
/// header of the current schema; frames are then written after it.
pub fn create_tmp(path: &Path) -> io::Result<File> {
    let tmp = sibling(path, ".tmp");
    let made = (|| {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(PRIVATE)
            .open(&tmp)?;
        // The new file keeps the mode an admin gave the old one.
        if let Ok(old) = fs::metadata(path) {
            f.set_permissions(fs::Permissions::from_mode(
                old.permissions().mode() & 0o7777,
            ))?;
        }
        try_lock(&f).map_err(|e| match e {
            TryLockError::WouldBlock => io::Error::other("the temporary file is locked"),
            TryLockError::Error(e) => e,
        })?;
        f.write_all(&codec::header(SCHEMA))?;
        Ok(f)
    })();
    if made.is_err() {
        discard_tmp(path);
    }
    made
}

/// Ends the rewrite: fsyncs the temp file, renames it over `path`, and
/// fsyncs the directory. Returns the file, still locked, and whether the
/// directory fsync succeeded (when it did not, the rename may not be
/// durable yet: retry [`fsync_dir`] before trusting appends to it). On an
/// error, `path` is untouched and the temp file removed.
pub fn install(path: &Path, tmp: File) -> io::Result<(File, bool)> {
    match tmp
        .sync_all()
        .and_then(|()| fs::rename(sibling(path, ".tmp"), path))
    {
        Ok(()) => Ok((tmp, fsync_dir(path).is_ok())),
        Err(e) => {
            discard_tmp(path);
            Err(e)
        }
    }
}

/// Removes an unfinished rewrite.
pub fn discard_tmp(path: &Path) {
    let _ = fs::remove_file(sibling(path, ".tmp"));
}

/// Makes the directory entries of `path`'s folder durable (a rename or a
/// new file).
pub fn fsync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `base`, or `base.1`, `base.2`… : the first that does not exist, so an
/// earlier copy is never overwritten.
fn unique(base: PathBuf) -> PathBuf {
    if fs::symlink_metadata(&base).is_err() {
        return base;
    }
    (1u32..)
        .map(|i| sibling(&base, &format!(".{i}")))
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or(base)
}

/// Copies `from` to `to` (a new file) and makes the copy durable.
fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = File::open(from)?;
    let mut dst = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(to)?;
    io::copy(&mut src, &mut dst)?;
    dst.sync_all()?;
    fsync_dir(to)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
