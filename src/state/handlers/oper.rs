//! Stub: filled in by the handler work.

use std::time::Instant;

use crate::proto::Message;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{ClientId, State};

pub fn oper(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn kill(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn wallops(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn rehash(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

/// The worker's answer to an OPER password check.
pub fn oper_checked(_s: &mut State, _id: ClientId, _name: &str, _ok: bool) {}

/// Stub: replaced by the oper handler work.
pub fn rehash_done(
    s: &mut State,
    _by: Option<ClientId>,
    result: Result<crate::config::Config, String>,
) {
    if let Ok(cfg) = result {
        s.apply_config(cfg);
    }
}
