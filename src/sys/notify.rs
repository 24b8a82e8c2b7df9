//! The systemd notify protocol (`sd_notify(3)`): one datagram of
//! `KEY=value` lines to the unix socket named by `$NOTIFY_SOCKET`.
//!
//! The server sends `READY=1` once it listens, `RELOADING=1` and then
//! `READY=1` around a reload, `STOPPING=1` when it shuts down, and
//! `WATCHDOG=1` every half `$WATCHDOG_USEC` from the loop itself, so a
//! stalled loop is what the watchdog catches. Sends never block: a
//! datagram the manager cannot take now is dropped (and logged).

use std::io::ErrorKind;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use crate::{log_debug, log_warn};

/// The shortest watchdog interval honoured (a smaller `WATCHDOG_USEC`
/// would turn the loop into a busy one).
const WATCHDOG_MIN: Duration = Duration::from_millis(10);

/// A connection to the service manager, when there is one.
pub struct Notifier {
    socket: UnixDatagram,
    addr: SocketAddr,
    watchdog: Option<Duration>,
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` asks for, or `None` when the server
    /// does not run under a manager that listens (or the variable is bad,
    /// which is logged).
    pub fn from_env() -> Option<Notifier> {
        let name = std::env::var_os("NOTIFY_SOCKET")?;
        let name = name.to_string_lossy().into_owned();
        let made = address(&name).and_then(|addr| {
            let socket = UnixDatagram::unbound()?;
            socket.set_nonblocking(true)?;
            Ok((socket, addr))
        });
        match made {
            Ok((socket, addr)) => Some(Notifier {
                socket,
                addr,
                watchdog: watchdog_interval(),
            }),
            Err(e) => {
                log_warn!("systemd", "cannot use NOTIFY_SOCKET={name}: {e}");
                None
            }
        }
    }

    /// How often `WATCHDOG=1` is due, when the manager wants it: half of
    /// `$WATCHDOG_USEC`, as `sd_watchdog_enabled(3)` advises.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Sends `state` (newline-separated `KEY=value` lines).
    pub fn send(&self, state: &str) {
        match self.socket.send_to_addr(state.as_bytes(), &self.addr) {
            Ok(_) => log_debug!("systemd", "notified {}", state.replace('\n', " ")),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                log_warn!("systemd", "the service manager is busy; dropped {state:?}")
            }
            Err(e) => log_warn!("systemd", "cannot notify the service manager: {e}"),
        }
    }
}

/// The socket address of `$NOTIFY_SOCKET`: a path, or an abstract name
/// written with a leading `@`.
fn address(name: &str) -> std::io::Result<SocketAddr> {
    if let Some(abstract_name) = name.strip_prefix('@') {
        abstract_address(abstract_name.as_bytes())
    } else if name.starts_with('/') {
        SocketAddr::from_pathname(name)
    } else {
        Err(std::io::Error::new(
            ErrorKind::InvalidInput,
            "neither an absolute path nor an abstract @name",
        ))
    }
}

#[cfg(target_os = "linux")]
fn abstract_address(name: &[u8]) -> std::io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_address(_name: &[u8]) -> std::io::Result<SocketAddr> {
    Err(std::io::Error::new(
        ErrorKind::Unsupported,
        "abstract socket names exist only on Linux",
    ))
}

/// Half of `$WATCHDOG_USEC`, when it is set for this process
/// (`$WATCHDOG_PID`, when present, must be ours).
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim().parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    if usec == 0 {
        return None;
    }
    Some((Duration::from_micros(usec) / 2).max(WATCHDOG_MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(address("/run/systemd/notify").is_ok());
        assert!(address("relative/path").is_err());
        assert!(address("").is_err());
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let a = address("@picoircd-test").unwrap();
            assert_eq!(a.as_abstract_name(), Some(&b"picoircd-test"[..]));
        }
    }

    #[test]
    fn sends_a_datagram() {
        let dir = std::env::temp_dir().join(format!("picoircd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            socket: UnixDatagram::unbound().unwrap(),
            addr: address(path.to_str().unwrap()).unwrap(),
            watchdog: None,
        };
        notifier.send("READY=1\nSTATUS=ok");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=ok");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
