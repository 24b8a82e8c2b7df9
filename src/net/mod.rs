//! The only code that touches sockets, mio and the OS clock: the event
//! loop (`server`), connections (`conn`), per-IP admission (`admission`)
//! and the worker thread for blocking work (`worker`).
//!
//! It moves bytes between sockets and `state`, passes the time in, and
//! decides nothing about IRC. Imports `state`, `config`, `proto::line`.

pub mod admission;
pub mod conn;
pub mod server;
pub mod worker;

pub use server::Server;
