//! Self-signed certificates: making a pair (what `picoircd mkcerts` writes
//! at a listener's configured paths), and the stand-in pair in the state
//! folder that `run` serves on a TLS listener whose files do not exist
//! yet, so that the shipped config listens on 6697 and 8097 out of the box.
//!
//! A pair names `server.name`, "localhost" and 127.0.0.1, with an ECDSA
//! P-256 key (rcgen with ring), valid for ten years from yesterday. Keys
//! are written with mode 0600, and existing files are never overwritten
//! but the stand-in's own, when they cannot be used. Files only, no
//! sockets and no TLS sessions (`tls` loads what is made here). Imports
//! `config` (the file pair).

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::TlsFiles;

/// The stand-in certificate's file in the state folder.
pub const STAND_IN_CERT: &str = "self-signed-cert.pem";
/// The stand-in key's file in the state folder.
pub const STAND_IN_KEY: &str = "self-signed-key.pem";

/// Where the stand-in pair lives and whom it names.
#[derive(Clone, Debug)]
pub struct StandIn {
    pub files: TlsFiles,
    pub server_name: String,
}

impl StandIn {
    /// The stand-in of a server whose state folder is `state_dir`.
    pub fn new(state_dir: &Path, server_name: &str) -> StandIn {
        StandIn {
            files: TlsFiles {
                cert: state_dir.join(STAND_IN_CERT),
                key: state_dir.join(STAND_IN_KEY),
            },
            server_name: server_name.to_string(),
        }
    }

    /// Makes the pair unless both files are there. A lone half (a start
    /// cut short between the two writes) is removed and the pair made
    /// again: these files are the server's own.
    pub fn ensure(&self) -> Result<&TlsFiles, String> {
        let files = &self.files;
        if files.cert.exists() && files.key.exists() {
            return Ok(files);
        }
        self.remake()?;
        Ok(files)
    }

    /// Replaces the pair with a new one (the old one could not be loaded).
    pub fn remake(&self) -> Result<(), String> {
        for path in [&self.files.cert, &self.files.key] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
            }
        }
        make(&self.server_name, &self.files)
    }
}

/// Are both files of `files` missing (the case the stand-in is for; one
/// half alone is a mistake to report, not to paper over)?
pub fn both_missing(files: &TlsFiles) -> bool {
    !exists(&files.cert) && !exists(&files.key)
}

/// Does anything (even a dangling symlink) sit at `path`?
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Makes a pair and writes both files (the key first, mode 0600),
/// creating their folders. Fails rather than replace an existing file.
pub fn make(server_name: &str, files: &TlsFiles) -> Result<(), String> {
    let (cert_pem, key_pem) = self_signed(server_name).map_err(|e| e.to_string())?;
    for path in [&files.cert, &files.key] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
        }
    }
    write(&files.key, key_pem.as_bytes(), true)
        .map_err(|e| format!("cannot write {}: {e}", files.key.display()))?;
    write(&files.cert, cert_pem.as_bytes(), false)
        .map_err(|e| format!("cannot write {}: {e}", files.cert.display()))?;
    Ok(())
}

/// (certificate PEM, private key PEM).
fn self_signed(server_name: &str) -> Result<(String, String), rcgen::Error> {
    let names = vec![
        server_name.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let mut params = rcgen::CertificateParams::new(names)?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, server_name);
    params.distinguished_name = dn;
    // Valid from yesterday (for clocks a little behind) for ten years.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let day = Duration::from_secs(86_400);
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + now.saturating_sub(day);
    params.not_after = params.not_before + day * (365 * 10 + 3);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Creates `path` (never replacing a file) and writes `bytes`; `private`
/// files get mode 0600.
fn write(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("picoircd-selfsigned-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_stand_in_is_made_once_and_a_lone_half_is_replaced() {
        let d = temp("standin");
        let s = StandIn::new(&d, "pico.test");
        assert!(both_missing(&s.files));
        s.ensure().expect("made");
        let key_mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&s.files.key).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(key_mode, 0o600);
        let first = fs::read(&s.files.cert).unwrap();
        s.ensure().expect("kept");
        assert_eq!(fs::read(&s.files.cert).unwrap(), first, "not remade");
        fs::remove_file(&s.files.key).unwrap();
        assert!(!both_missing(&s.files));
        s.ensure().expect("remade");
        assert_ne!(fs::read(&s.files.cert).unwrap(), first, "a new pair");
        assert!(s.files.key.exists());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn make_never_replaces_a_file() {
        let d = temp("make");
        let files = TlsFiles {
            cert: d.join("sub/cert.pem"),
            key: d.join("sub/key.pem"),
        };
        make("pico.test", &files).expect("made, folder too");
        let e = make("pico.test", &files).expect_err("exists");
        assert!(e.contains("key.pem"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }
}
