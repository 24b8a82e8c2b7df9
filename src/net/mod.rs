//! The only code that touches sockets, mio and the OS clock: the event
//! loop (`server`), the listening sockets (`listeners`), connections
//! (`conn`) and their sockets (`stream`: TCP or unix), per-IP admission
//! (`admission`), TLS (`tls`; `selfsigned` makes certificates), the PROXY
//! protocol header (`proxy`, sans-I/O), the WebSocket transport
//! (`websocket`, the sans-I/O codec; `wsconn`, one connection's layer),
//! the built-in web page (`webpage`) and the worker thread for blocking
//! work (`worker`).
//!
//! It moves bytes between sockets and `state`, passes the time in, and
//! decides nothing about IRC. Imports `state`, `config`, `proto::line`
//! and `proto::mask`, and `sys` (systemd's notify protocol and socket
//! activation).

pub mod admission;
pub mod conn;
pub mod listeners;
pub mod proxy;
pub mod selfsigned;
pub mod server;
pub mod stream;
pub mod tls;
pub mod webpage;
pub mod websocket;
pub mod worker;
pub mod wsconn;

pub use server::Server;
