//! Command handlers, grouped by area. Each handler opens with its syntax
//! line, takes `(&mut State, ClientId, &Message, Instant)`, writes its
//! replies through `State`'s send helpers and returns `CmdResult`.
//! Handlers never touch sockets; they may import `proto`, `state`, `config`.

pub mod accountreg;
pub mod channel;
pub mod messaging;
pub mod modes;
pub mod monitor;
pub mod multiline;
pub mod oper;
pub mod query;
pub mod read_marker;
pub mod registration;
pub mod relaymsg;
pub mod rename;
pub mod sa;
pub mod sasl;
pub mod user;
pub mod xline;
