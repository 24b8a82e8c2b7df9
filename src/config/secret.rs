//! The cloak key file: read it, or create it with 32 random bytes
//! (hex-encoded, mode 0600) when it does not exist yet.
//!
//! The key is the file's text with surrounding whitespace trimmed, used as
//! HMAC key bytes, the same as a `secret` written inline in the config.
//! Imports ring (its system RNG) and nothing from the crate.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};

/// What the key file held, or why it could not be had.
pub enum Secret {
    Key(Vec<u8>),
    /// The file does not exist and `create` was false.
    Missing,
}

/// Reads the key at `path`, creating it first if it is missing and `create` is set.
pub fn read_or_create(path: &Path, create: bool) -> Result<Secret, String> {
    match fs::read_to_string(path) {
        Ok(text) => key_from_text(path, &text),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !create => Ok(Secret::Missing),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match create_key(path) {
            Ok(key) => Ok(Secret::Key(key)),
            // Another process made it between our read and our create.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(path).map_err(|e| cannot("read", path, &e))?;
                key_from_text(path, &text)
            }
            Err(e) => Err(cannot("create", path, &e)),
        },
        Err(e) => Err(cannot("read", path, &e)),
    }
}

fn key_from_text(path: &Path, text: &str) -> Result<Secret, String> {
    let key = text.trim();
    if key.is_empty() {
        return Err(format!(
            "the cloak secret file {} is empty (delete it to have a new key made)",
            path.display()
        ));
    }
    Ok(Secret::Key(key.as_bytes().to_vec()))
}

fn cannot(what: &str, path: &Path, e: &io::Error) -> String {
    format!(
        "cannot {what} the cloak secret file {}: {e}",
        path.display()
    )
}

/// Writes 32 random bytes as 64 hex digits and a newline; the file is made
/// with `create_new`, so an existing key is never overwritten.
fn create_key(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| io::Error::other("the system random number generator failed"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(hex.into_bytes())
}
