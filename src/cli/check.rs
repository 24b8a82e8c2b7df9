//! `picoircd check`: loads the configuration the way `run` would and says
//! whether it is usable, or prints the first error as `file:line:column:
//! message`.
//!
//! Creates no file (the cloak key is made on the first real start). TLS
//! listeners whose certificate files are missing are a warning pointing
//! at `picoircd mkcerts`, not an error; so is an oper still using the
//! password shipped in ircd.conf. Imports `config`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;

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
        let missing: Vec<String> = [&tls.cert, &tls.key]
            .into_iter()
            .filter(|p| !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "listener {}: missing {} (run `picoircd mkcerts --conf {}` to make a self-signed certificate)",
                listener.address,
                missing.join(" and "),
                config.path.display()
            ));
        }
    }
    for oper in &config.opers {
        if oper.password == SHIPPED_OPER_HASH {
            out.push(format!(
                "oper `{}` still has the shipped password `changeme`: set a new hash with `picoircd genpasswd`",
                oper.name
            ));
        }
    }
    out
}
