//! `picoircd mkcerts`: writes a self-signed certificate and key for every
//! TLS listener whose files are missing, as Oragono's `mkcerts`.
//!
//! The pair is made by `net::selfsigned` (server name, "localhost" and
//! 127.0.0.1; ECDSA P-256; ten years; key mode 0600; folders created).
//! Existing files are never overwritten: a listener with both files is
//! skipped, one with only one of them is an error (the other half cannot
//! be remade). Imports `config` and `net::selfsigned`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::net::selfsigned;

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
        if let Err(e) = selfsigned::make(&config.server.name, tls) {
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
