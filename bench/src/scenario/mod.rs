//! The scenarios of issue #4, one file each (`idle`, `fanout`, `pairs`,
//! `storm`), built from the shared `steps`; `fanout --caps mixed` is the
//! fan-out to clients of four IRCv3 capability sets (issue #5);
//! `accounts` is NickServ registrations and logins with a latency probe
//! (issue #7); `history` waits for the history issue (#8).
//!
//! Picks the scenario from the command line; returns its report.

mod accounts;
mod fanout;
mod idle;
mod pairs;
mod payload;
mod steps;
mod storm;

use std::io;

use crate::args::Scenario;
use crate::report::Report;

/// Runs the scenario the command line names.
pub fn run(s: &Scenario) -> io::Result<Report> {
    match s {
        Scenario::Idle(a) => idle::run(a),
        Scenario::Fanout(a) => fanout::run(a),
        Scenario::Pairs(a) => pairs::run(a),
        Scenario::Storm(a) => storm::run(a),
        Scenario::Accounts(a) => accounts::run(a),
        Scenario::History(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "history: CHATHISTORY is not implemented yet (issue #8); this scenario is skipped",
        )),
        Scenario::Summarize(_) => Err(io::Error::other("summarize is not a scenario")),
    }
}
