//! Stub: filled in by the handler work.

use std::time::Instant;

use crate::proto::Message;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{ClientId, State};

pub fn mode(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}
