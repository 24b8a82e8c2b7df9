//! `picoircd run` (stub).

use std::process::ExitCode;

pub fn run(_arg: impl Sized) -> ExitCode {
    ExitCode::FAILURE
}
