//! `picoircd check`: loads the configuration the way `run` would and says
//! whether it is usable, or prints the first error as `file:line:column:
//! message`.
//!
//! Creates no file (the cloak key is made on the first real start). A TLS
//! listener's pair is loaded as `run` loads it, and a broken one is an
//! error; one whose two files are both missing is a warning (`run` serves
//! a self-signed stand-in until they exist), and so is an oper still using
//! the password shipped in ircd.conf. Imports `config` and `net::tls`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::net::{selfsigned, tls};

/// The hash of "changeme" that ships in ircd.conf for the `admin` oper.
pub const SHIPPED_OPER_HASH: &str = "$2a$12$su.801O2CIs5v6PsKVy4gePPpLQlXbDwKX3WJoIegH2rfPGuwSk.S";

pub fn run(conf: &Path) -> ExitCode {
    let config = match Config::load_readonly(conf) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    for listener in &config.listen {
        let Some(files) = &listener.tls else { continue };
        if !selfsigned::both_missing(files) {
            if let Err(e) = tls::check(files) {
                eprintln!("{}: listener {}: {e}", conf.display(), listener.address);
                return ExitCode::FAILURE;
            }
        }
    }
    for warning in warnings(&config) {
        eprintln!("{}: warning: {warning}", conf.display());
    }
    println!("{}: OK", conf.display());
    ExitCode::SUCCESS
}

/// Things that will not stop the server from loading the config but that
/// the operator should hear about.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for listener in &config.listen {
        let Some(tls) = &listener.tls else { continue };
        if selfsigned::both_missing(tls) {
            let stand_in = selfsigned::StandIn::new(&config.state_dir, &config.server.name);
            out.push(format!(
                "listener {}: missing {} and {}: `run` serves a self-signed certificate ({}) in their place until they exist; put your certificate there, or run `picoircd mkcerts --conf {}` to write a self-signed one at those paths",
                listener.address,
                tls.cert.display(),
                tls.key.display(),
                stand_in.files.cert.display(),
                config.path.display()
            ));
        }
    }
    for oper in &config.opers {
        if oper.password.as_deref() == Some(SHIPPED_OPER_HASH) {
            out.push(format!(
                "oper `{}` still has the shipped password `changeme`: set a new hash with `picoircd genpasswd`",
                oper.name
            ));
        }
    }
    out
}
