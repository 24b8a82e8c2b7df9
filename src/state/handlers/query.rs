//! Stub: filled in by the handler work.

use std::time::Instant;

use crate::proto::Message;
use crate::state::error::{CmdError, CmdResult};
use crate::state::{ClientId, State};

pub fn admin(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn help(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn info(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn ison(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn lusers(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn motd(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn time(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn userhost(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn version(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn who(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn whois(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}

pub fn whowas(_s: &mut State, _id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    Err(CmdError::UnknownCommand(m.command.to_ascii_uppercase()))
}
