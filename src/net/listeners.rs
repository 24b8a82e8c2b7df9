//! The listening sockets: the ones systemd passed (socket activation),
//! each matched to the `[[listen]]` entry with the same address, else the
//! same port; then every entry left over is bound here. A passed socket
//! that matches no entry is still served, as plain IRC, and logged.
//!
//! A listener with `tls` also holds its certificate (`tls::Acceptor`), or
//! the self-signed stand-in while its files do not exist (a warning).
//! Knows the config's listen entries and `sys::activation`; registers
//! nothing with the poll (the server does).

use std::net::SocketAddr;
use std::path::PathBuf;

use mio::net::{TcpListener, UnixListener};

use super::selfsigned::StandIn;
use super::stream::Stream;
use super::tls::Acceptor;
use crate::config::{ListenConfig, TlsFiles};
use crate::sys::activation::{self, Inherited};
use crate::{log_info, log_warn};

/// A listening socket: TCP, or a unix domain socket at a path.
pub enum Socket {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Socket {
    /// A new client: its stream, and its address (a unix socket's clients
    /// are this machine's: 127.0.0.1).
    pub fn accept(&self) -> std::io::Result<(Stream, std::net::IpAddr)> {
        match self {
            Socket::Tcp(l) => l.accept().map(|(s, peer)| (Stream::Tcp(s), peer.ip())),
            Socket::Unix(l, _) => l
                .accept()
                .map(|(s, _)| (Stream::Unix(s), std::net::Ipv4Addr::LOCALHOST.into())),
        }
    }
}

impl mio::event::Source for Socket {
    fn register(
        &mut self,
        r: &mio::Registry,
        t: mio::Token,
        i: mio::Interest,
    ) -> std::io::Result<()> {
        match self {
            Socket::Tcp(l) => l.register(r, t, i),
            Socket::Unix(l, _) => l.register(r, t, i),
        }
    }

    fn reregister(
        &mut self,
        r: &mio::Registry,
        t: mio::Token,
        i: mio::Interest,
    ) -> std::io::Result<()> {
        match self {
            Socket::Tcp(l) => l.reregister(r, t, i),
            Socket::Unix(l, _) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &mio::Registry) -> std::io::Result<()> {
        match self {
            Socket::Tcp(l) => l.deregister(r),
            Socket::Unix(l, _) => l.deregister(r),
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The socket file goes with the listener.
        if let Socket::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Listener {
    /// Does it serve the self-signed stand-in certificate?
    pub fn self_signed(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.stand_in.is_some())
    }

    /// Where it listens, as people write it: `127.0.0.1:6667`, or the
    /// unix socket's path.
    pub fn shown(&self) -> String {
        match &self.socket {
            Socket::Unix(_, path) => path.display().to_string(),
            Socket::Tcp(_) => self.addr.to_string(),
        }
    }
}

/// A listening socket, the address it is bound to, and its TLS
/// certificate when it has `tls`.
pub struct Listener {
    pub socket: Socket,
    pub addr: SocketAddr,
    /// The `[[listen]]` address it serves (`addr` is the bound one, which
    /// differs for port 0); a rehash finds its entry by it.
    pub configured: Option<SocketAddr>,
    pub tls: Option<Acceptor>,
    /// The IRCv3 WebSocket transport (and the web page) instead of lines.
    pub websocket: bool,
    /// Connections start with a PROXY protocol header.
    pub proxy: bool,
    /// Its clients come through Tor (shown as `tor-network.onion`).
    pub tor: bool,
}

/// Opens every listener: the passed ones, then binds what `listen` still
/// needs. A TLS listener whose files do not exist serves `stand_in` (and
/// says so, loudly). The error names the listener that failed.
pub fn open(listen: &[ListenConfig], stand_in: &StandIn) -> Result<Vec<Listener>, String> {
    let mut passed: Vec<Option<Inherited>> = activation::take()?.into_iter().map(Some).collect();
    let mut listeners = Vec::with_capacity(listen.len().max(passed.len()));
    for entry in listen {
        // The certificate first: a bad one stops the start before any bind.
        let tls = match &entry.tls {
            Some(files) => Some(
                Acceptor::load(files, stand_in)
                    .map_err(|e| format!("listener {}: {e}", entry.address))?,
            ),
            None => None,
        };
        let found = match entry.unix {
            Some(_) => None,
            None => take_matching(&mut passed, |s| s.addr == entry.address)
                .or_else(|| take_matching(&mut passed, |s| s.addr.port() == entry.address.port())),
        };
        let mut listener = match (found, &entry.unix) {
            (_, Some(path)) => Listener {
                socket: bind_unix(path)?,
                addr: entry.address,
                configured: None,
                tls: None,
                websocket: false,
                proxy: false,
                tor: false,
            },
            (Some(s), None) => from_systemd(s),
            (None, None) => {
                let socket = TcpListener::bind(entry.address)
                    .map_err(|e| format!("listener {}: {e}", entry.address))?;
                let addr = socket.local_addr().unwrap_or(entry.address);
                Listener {
                    socket: Socket::Tcp(socket),
                    addr,
                    configured: None,
                    tls: None,
                    websocket: false,
                    proxy: false,
                    tor: false,
                }
            }
        };
        listener.configured = Some(entry.address);
        listener.tls = tls;
        listener.websocket = entry.websocket;
        listener.proxy = entry.proxy;
        listener.tor = entry.tor;
        listeners.push(listener);
    }
    for s in passed.into_iter().flatten() {
        log_info!(
            "listeners",
            "the socket {} from systemd matches no [[listen]] entry; serving plain IRC on it",
            s.addr
        );
        listeners.push(from_systemd(s));
    }
    for l in &listeners {
        let mut what = Vec::new();
        match l.tls.as_ref().map(|t| (t, &t.stand_in)) {
            Some((t, None)) => what.push(format!("TLS, certificate {}", t.files.cert.display())),
            Some((t, Some(s))) => {
                what.push(format!("TLS, SELF-SIGNED certificate {}", s.cert.display()));
                warn_stand_in(l.addr, &t.files, s);
            }
            None => {}
        }
        if l.websocket {
            what.push("WebSocket".to_string());
        }
        if l.proxy {
            what.push("PROXY protocol".to_string());
        }
        if l.tor {
            what.push("Tor".to_string());
        }
        let at = l.shown();
        if what.is_empty() {
            log_info!("listeners", "now listening on {at}");
        } else {
            log_info!("listeners", "now listening on {at} ({})", what.join(", "));
        }
    }
    Ok(listeners)
}

/// The loud warning of a listener serving the self-signed stand-in.
pub fn warn_stand_in(addr: SocketAddr, files: &TlsFiles, stand_in: &TlsFiles) {
    log_warn!(
        "tls",
        "listener {addr}: SELF-SIGNED CERTIFICATE. {} and {} do not exist, so it serves the self-signed pair {} and {}, which clients warn about or refuse. Put your certificate chain and key at those paths (Let's Encrypt's fullchain.pem and privkey.pem, readable by this server's user): they are picked up without a restart.",
        files.cert.display(),
        files.key.display(),
        stand_in.cert.display(),
        stand_in.key.display()
    );
}

/// Binds a unix domain socket at `path`, replacing a stale socket file
/// (one left by a server that did not stop cleanly), never another file.
fn bind_unix(path: &std::path::Path) -> Result<Socket, String> {
    use std::os::unix::fs::FileTypeExt;
    let err = |e: &dyn std::fmt::Display| format!("listener {}: {e}", path.display());
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(err(
                &"the path exists and is not a socket; not replacing it",
            ));
        }
        std::fs::remove_file(path).map_err(|e| err(&e))?;
    }
    let socket = UnixListener::bind(path).map_err(|e| err(&e))?;
    Ok(Socket::Unix(socket, path.to_path_buf()))
}

/// Takes the first passed socket that `pred` accepts.
fn take_matching(
    passed: &mut [Option<Inherited>],
    pred: impl Fn(&Inherited) -> bool,
) -> Option<Inherited> {
    passed
        .iter_mut()
        .find(|s| s.as_ref().is_some_and(&pred))
        .and_then(Option::take)
}

fn from_systemd(s: Inherited) -> Listener {
    log_info!(
        "listeners",
        "using the socket {} passed by systemd (descriptor {})",
        s.addr,
        s.fd
    );
    Listener {
        socket: Socket::Tcp(TcpListener::from_std(s.listener)),
        addr: s.addr,
        configured: None,
        tls: None,
        websocket: false,
        proxy: false,
        tor: false,
    }
}
