//! Reading one entry back from a segment on the loop's thread: a
//! positioned read (`pread`) at the frame's offset, its checksum checked,
//! its payload decoded. Segments are opened read-only on first use and
//! kept open (at most [`OPEN_MAX`]); only the writer thread writes, and a
//! frame is read only after the writer reported it flushed.
//!
//! Imports `history::{codec, entry, segment}` (file names); no
//! writes, no clock.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use super::codec::{self, FRAME_HEAD};
use super::entry::Entry;
use super::segment;

/// Read-only segment files kept open at once; past it they are all closed
/// (a query touches few segments; old ones are rarely read).
pub const OPEN_MAX: usize = 64;

/// The first read of a frame: most entries fit, so one `pread` does.
const FIRST_READ: usize = 512;

/// The open segments of a history folder.
pub struct Readers {
    dir: PathBuf,
    files: HashMap<u32, File>,
}

impl Readers {
    pub fn new(dir: PathBuf) -> Readers {
        Readers {
            dir,
            files: HashMap::new(),
        }
    }

    /// Forgets a segment (deleted, or about to be).
    pub fn close(&mut self, seg: u32) {
        self.files.remove(&seg);
    }

    /// The entry of the frame at `off` in segment `seg`.
    pub fn read(&mut self, seg: u32, off: u32) -> Result<Entry, String> {
        let where_ = || format!("{} at byte {off}", segment::name(seg));
        if !self.files.contains_key(&seg) {
            if self.files.len() >= OPEN_MAX {
                self.files.clear();
            }
            let f = File::open(self.dir.join(segment::name(seg)))
                .map_err(|e| format!("opening {}: {e}", segment::name(seg)))?;
            self.files.insert(seg, f);
        }
        let Some(file) = self.files.get(&seg) else {
            return Err(where_());
        };
        let mut buf = vec![0u8; FIRST_READ];
        let got = read_at_most(file, &mut buf, u64::from(off))
            .map_err(|e| format!("reading {}: {e}", where_()))?;
        if got < FRAME_HEAD {
            return Err(format!("{}: the segment ends there", where_()));
        }
        let head: [u8; FRAME_HEAD] = buf[..FRAME_HEAD].try_into().unwrap_or_default();
        let len = codec::frame_len(&head).map_err(|t| format!("{}: {t}", where_()))?;
        let end = FRAME_HEAD + len;
        if end > got {
            buf.resize(end, 0);
            let more = read_at_most(file, &mut buf[got..], u64::from(off) + got as u64)
                .map_err(|e| format!("reading {}: {e}", where_()))?;
            if got + more < end {
                return Err(format!("{}: a frame cut short", where_()));
            }
        }
        let payload = &buf[FRAME_HEAD..end];
        codec::check(&head, payload).map_err(|t| format!("{}: {t}", where_()))?;
        codec::decode(payload).map_err(|t| format!("{}: {t}", where_()))
    }
}

/// Fills `buf` from `off` up to the end of the file; returns the bytes
/// read.
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
