//! The only code that touches sockets, mio and the OS clock: the event
//! loop (`server`), the listening sockets (`listeners`), connections
//! (`conn`), per-IP admission (`admission`) and the worker thread for
//! blocking work (`worker`).
//!
//! It moves bytes between sockets and `state`, passes the time in, and
//! decides nothing about IRC. Imports `state`, `config`, `proto::line`,
//! and `sys` (systemd's notify protocol and socket activation).

pub mod admission;
pub mod conn;
pub mod listeners;
pub mod server;
pub mod websocket;
pub mod worker;

pub use server::Server;
