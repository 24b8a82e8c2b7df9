//! `picoircd mkcerts`: writes a self-signed certificate and key for every
//! TLS listener whose files are missing, as Oragono's `mkcerts`.
//!
//! The certificate names `server.name`, "localhost" and 127.0.0.1, with an
//! ECDSA P-256 key (rcgen with ring), valid for ten years from today. Key
//! files are made with mode 0600 and parent folders are created. Existing
//! files are never overwritten: a listener with both files is skipped, one
//! with only one of them is an error (the other half cannot be remade).
//! Imports `config`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::{Config, TlsFiles};

pub fn run(conf: &Path) -> ExitCode {
    let config = match Config::load_readonly(conf) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut any = false;
    for listener in &config.listen {
        let Some(tls) = &listener.tls else { continue };
        any = true;
        match (tls.cert.exists(), tls.key.exists()) {
            (true, true) => {
                println!(
                    "listener {}: {} and {} exist, skipped",
                    listener.address,
                    tls.cert.display(),
                    tls.key.display()
                );
                continue;
            }
            (false, false) => {}
            (cert, _) => {
                let (has, lacks) = if cert {
                    (&tls.cert, &tls.key)
                } else {
                    (&tls.key, &tls.cert)
                };
                eprintln!(
                    "picoircd mkcerts: listener {}: {} exists but {} does not; not overwriting it (move it away or fix the path)",
                    listener.address,
                    has.display(),
                    lacks.display()
                );
                return ExitCode::FAILURE;
            }
        }
        if let Err(e) = make(&config.server.name, tls) {
            eprintln!("picoircd mkcerts: listener {}: {e}", listener.address);
            return ExitCode::FAILURE;
        }
        println!(
            "wrote certificate {} and key {} for listener {}",
            tls.cert.display(),
            tls.key.display(),
            listener.address
        );
    }
    if !any {
        println!("no TLS listeners need certificates");
    }
    ExitCode::SUCCESS
}

/// Makes the pair and writes both files (the key first, mode 0600).
fn make(server_name: &str, files: &TlsFiles) -> Result<(), String> {
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
