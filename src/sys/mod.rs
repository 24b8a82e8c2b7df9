//! Operating-system glue that is not sockets of clients: the systemd
//! service manager's notify protocol (`notify`) and the listening sockets
//! it passes at start (`activation`).
//!
//! Both speak systemd's documented wire protocols directly (a datagram to
//! `$NOTIFY_SOCKET`, file descriptors from `$LISTEN_FDS`); no libsystemd.
//! May import `logging` only; knows nothing of IRC or of the config.

pub mod activation;
pub mod notify;
