//! `picoircd genpasswd`: reads a password and prints its bcrypt hash, for
//! `[[oper]] password` and `server.password`, as Oragono/Ergo's genpasswd.
//!
//! From a terminal it asks twice without echo; from a pipe it reads one
//! line. The hash is written with the `$2a$` prefix that Go's bcrypt
//! writes, so hashes move freely between Ergo and picoircd.
//! Imports bcrypt and rpassword; nothing from the crate.

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

/// bcrypt reads at most 72 bytes; Go's bcrypt refuses longer passwords
/// rather than ignore the rest, and so do we.
const PASSWORD_MAX: usize = 72;

pub fn run(cost: u32) -> ExitCode {
    match hash(cost) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("picoircd genpasswd: {message}");
            ExitCode::FAILURE
        }
    }
}

fn hash(cost: u32) -> Result<String, String> {
    if !(4..=31).contains(&cost) {
        return Err(format!("the cost must be 4 to 31, not {cost}"));
    }
    let password = if io::stdin().is_terminal() {
        from_terminal()?
    } else {
        from_pipe()?
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    if password.len() > PASSWORD_MAX {
        return Err(format!("the password is longer than {PASSWORD_MAX} bytes"));
    }
    let parts = bcrypt::hash_with_result(password.as_bytes(), cost).map_err(|e| e.to_string())?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

fn from_terminal() -> Result<String, String> {
    let read = |prompt: &str| rpassword::prompt_password(prompt).map_err(|e| e.to_string());
    let first = read("Enter Password: ")?;
    let second = read("Reenter Password: ")?;
    if first != second {
        return Err("passwords don't match".into());
    }
    Ok(first)
}

/// One line; the line ending (LF or CR LF) is not part of the password.
fn from_pipe() -> Result<String, String> {
    let mut line = String::new();
    io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    Ok(line)
}
