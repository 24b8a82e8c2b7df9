//! Socket activation (`sd_listen_fds(3)`): listening sockets the service
//! manager opened and passed as file descriptors 3, 4, … with
//! `$LISTEN_FDS` and `$LISTEN_PID`, so that a unit can own ports below
//! 1024 with no capability and keep them across restarts.
//!
//! This file holds the crate's only `unsafe` block: taking ownership of
//! those descriptors. Each is first checked with safe calls to be open and
//! a socket, and ownership is taken once per process.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Domain, SockRef, Type};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;
/// More passed sockets than this is a broken environment, not a config.
const MAX_FDS: RawFd = 64;

static TAKEN: AtomicBool = AtomicBool::new(false);

/// One listening TCP socket from the service manager, non-blocking.
pub struct Inherited {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    /// Its descriptor number, for messages.
    pub fd: RawFd,
}

/// The sockets passed to this process, in descriptor order: empty when
/// there are none (`$LISTEN_PID` absent or another process's), an error
/// when one of them is not a listening TCP socket. Only the first call
/// takes them; later calls return nothing.
pub fn take() -> Result<Vec<Inherited>, String> {
    let Some(count) = passed_count()? else {
        return Ok(Vec::new());
    };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    (FIRST_FD..FIRST_FD + count).map(adopt).collect()
}

/// `$LISTEN_FDS` when `$LISTEN_PID` names this process.
fn passed_count() -> Result<Option<RawFd>, String> {
    let Ok(pid) = std::env::var("LISTEN_PID") else {
        return Ok(None);
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(None);
    }
    let fds = std::env::var("LISTEN_FDS").unwrap_or_default();
    match fds.trim().parse::<RawFd>() {
        Ok(n) if (0..=MAX_FDS).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "socket activation: LISTEN_FDS={fds:?} is not a number from 0 to {MAX_FDS}"
        )),
    }
}

/// Takes descriptor `fd` after checking that it is an open socket, then
/// checks that it is a listening TCP socket.
fn adopt(fd: RawFd) -> Result<Inherited, String> {
    let err = |what: String| format!("socket activation: descriptor {fd} {what}");
    // /proc/self/fd/N is a link to "socket:[inode]" for an open socket.
    match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
        Ok(target) if target.to_string_lossy().starts_with("socket:") => {}
        Ok(target) => return Err(err(format!("is not a socket ({})", target.display()))),
        Err(e) => return Err(err(format!("cannot be checked: {e}"))),
    }
    let owned = own(fd);
    let sock = SockRef::from(&owned);
    let kind = sock.r#type().map_err(|e| err(e.to_string()))?;
    let domain = sock.domain().map_err(|e| err(e.to_string()))?;
    let listening = sock.is_listener().map_err(|e| err(e.to_string()))?;
    if kind != Type::STREAM || !(domain == Domain::IPV4 || domain == Domain::IPV6) {
        return Err(err(
            "is not a TCP socket (only ListenStream= with an address or port is supported)"
                .to_string(),
        ));
    }
    if !listening {
        return Err(err(
            "is not listening (Accept=yes is not supported)".to_string()
        ));
    }
    let listener = TcpListener::from(owned);
    listener
        .set_nonblocking(true)
        .map_err(|e| err(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| err(e.to_string()))?;
    Ok(Inherited { listener, addr, fd })
}

/// Takes ownership of a passed descriptor.
#[allow(unsafe_code)]
fn own(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was passed to this process by the service manager
    // ($LISTEN_PID is ours), /proc shows it open as a socket, nothing in
    // this process opened or owns it (std and the crates here never touch
    // descriptors they did not create), and `take` adopts each one once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_passed_without_listen_pid() {
        // The test runner sets no LISTEN_PID for us.
        if std::env::var_os("LISTEN_PID").is_none() {
            assert_eq!(passed_count(), Ok(None));
            assert!(take().unwrap().is_empty());
        }
    }
}
