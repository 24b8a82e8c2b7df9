//! picoircd: an IRC server for small machines.
//!
//! Layers, imported one way only (see README "Layout"):
//! `limits`, `proto` ← `config` ← `state` ← `net` ← `main`.
//! `proto` turns bytes into messages, `state` is the IRC semantics without
//! sockets, `net` is the only code that touches mio and the OS.

pub mod cli;
pub mod config;
pub mod frames;
pub mod history;
pub mod limits;
pub mod logging;
pub mod net;
pub mod proto;
pub mod state;
pub mod store;
pub mod sys;
pub mod time;
