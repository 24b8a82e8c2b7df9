//! The server log: one readable line per event on stderr,
//! `time : level : area : message`, as Oragono/Ergo print it.
//!
//! Under systemd (journald adds its own timestamps) the time is left out.
//! A global level filter; no allocation when a line is filtered out.
//! Imports only `time`.

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
static TIMESTAMPS: AtomicBool = AtomicBool::new(true);

/// Sets the level filter and whether lines carry a timestamp.
pub fn init(level: Level, timestamps: bool) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    TIMESTAMPS.store(timestamps, Ordering::Relaxed);
}

/// Should lines carry a timestamp? Not under systemd, whose journal adds
/// its own (`JOURNAL_STREAM` is set when stderr is the journal).
pub fn timestamps_wanted() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_none()
}

/// Is a line at `level` written?
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one log line (use the `log_*!` macros).
pub fn write(level: Level, area: &str, args: std::fmt::Arguments<'_>) {
    let mut line = String::with_capacity(96);
    if TIMESTAMPS.load(Ordering::Relaxed) {
        line.push_str(&crate::time::rfc3339_millis(crate::time::unix_millis()));
        line.push_str(" : ");
    }
    use std::fmt::Write as _;
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
