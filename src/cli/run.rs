//! `picoircd run [--conf PATH]`: load the config, start the server, run
//! the loop until SIGTERM/SIGINT. Errors are printed with their file:line
//! position (config) or the listener they concern (startup).

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::logging::{self, Level};
use crate::net::Server;
use crate::{log_error, log_info};

pub fn run(conf: &Path) -> ExitCode {
    logging::init(Level::Info, logging::stderr_is_journal());
    let config = match Config::load(conf) {
        Ok(c) => c,
        Err(e) => {
            log_error!("config", "{e}");
            return ExitCode::FAILURE;
        }
    };
    logging::init(
        Level::parse(&config.logging.level).unwrap_or(Level::Info),
        logging::stderr_is_journal(),
    );
    log_info!(
        "server",
        "picoircd {} starting, config {}",
        env!("CARGO_PKG_VERSION"),
        conf.display()
    );
    log_info!(
        "server",
        "state folder {} (cloak key, datastore, history)",
        if config.state_dir.as_os_str().is_empty() {
            std::path::Path::new(".").display()
        } else {
            config.state_dir.display()
        }
    );
    let mut server = match Server::new(config) {
        Ok(s) => s,
        Err(e) => {
            log_error!("server", "{e}");
            return ExitCode::FAILURE;
        }
    };
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log_error!("server", "event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}
