//! picoircd-bench: the load generator of issue #4.
//!
//! One thread and one mio `Poll` drive thousands of client sockets
//! against an IRC server on this machine (loopback only). Each scenario
//! prints one JSON object on stdout and a summary on stderr; the server's
//! CPU and memory are read from `/proc/PID`, the generator's own CPU from
//! `/proc/self` and reported beside it. `scripts/bench` runs it against
//! picoircd, ngircd and InspIRCd.
//!
//! Modules: `args` (command line), `pool` (sockets and the loop), `irc`
//! (the RFC 1459 client side), `scenario` (what is measured), `latency`
//! (histogram), `procfs` (/proc), `report` (JSON and summary), `summary`
//! (medians of many runs into results.md/results.json).

mod args;
mod irc;
mod latency;
mod pool;
mod procfs;
mod report;
mod scenario;
mod summary;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: args::Args = argh::from_env();
    if let args::Scenario::Summarize(s) = &args.scenario {
        return match summary::run(s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("picoircd-bench summarize: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match scenario::run(&args.scenario) {
        Ok(report) => {
            println!("{}", report.to_json());
            eprint!("{}", report.summary());
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            eprintln!("picoircd-bench: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("picoircd-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
