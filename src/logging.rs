//! The server log: one readable line per event on stderr,
//! `time : level : area : message`, as Oragono/Ergo print it.
//!
//! When stderr is the journal (systemd), the time is left out (journald
//! adds its own) and each line starts with its syslog priority (`<3>`
//! error, `<4>` warn, `<6>` info, `<7>` debug), which journald reads, so
//! `journalctl -p warning` works. A global level filter; no allocation
//! when a line is filtered out. Imports only `time`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

impl Level {
    /// Parses "error", "warn", "info", "debug".
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "error" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    /// The syslog priority journald reads from a `<N>` prefix.
    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Debug => 7,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn ",
            Level::Info => "info ",
            Level::Debug => "debug",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
static JOURNAL: AtomicBool = AtomicBool::new(false);

/// Sets the level filter, and whether lines go to the journal (no
/// timestamp, a priority prefix) or to a terminal or file (a timestamp).
pub fn init(level: Level, journal: bool) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JOURNAL.store(journal, Ordering::Relaxed);
}

/// Is stderr the journal? systemd says so by setting `JOURNAL_STREAM` to
/// the `device:inode` of the stream it connected; the variable alone is
/// not enough, since a child whose stderr was redirected inherits it.
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// Is a line at `level` written?
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one log line (use the `log_*!` macros).
pub fn write(level: Level, area: &str, args: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(96);
    if JOURNAL.load(Ordering::Relaxed) {
        let _ = write!(line, "<{}>", level.priority());
    } else {
        line.push_str(&crate::time::rfc3339_millis(crate::time::unix_millis()));
        line.push_str(" : ");
    }
    let _ = write!(line, "{} : {:<10} : {}", level.name(), area, args);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[macro_export]
macro_rules! log_at {
    ($level:expr, $area:expr, $($arg:tt)*) => {
        if $crate::logging::enabled($level) {
            $crate::logging::write($level, $area, format_args!($($arg)*));
        }
    };
}
#[macro_export]
macro_rules! log_error { ($area:expr, $($arg:tt)*) => { $crate::log_at!($crate::logging::Level::Error, $area, $($arg)*) }; }
#[macro_export]
macro_rules! log_warn { ($area:expr, $($arg:tt)*) => { $crate::log_at!($crate::logging::Level::Warn, $area, $($arg)*) }; }
#[macro_export]
macro_rules! log_info { ($area:expr, $($arg:tt)*) => { $crate::log_at!($crate::logging::Level::Info, $area, $($arg)*) }; }
#[macro_export]
macro_rules! log_debug { ($area:expr, $($arg:tt)*) => { $crate::log_at!($crate::logging::Level::Debug, $area, $($arg)*) }; }
