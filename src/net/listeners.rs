//! The listening sockets: the ones systemd passed (socket activation),
//! each matched to the `[[listen]]` entry with the same address, else the
//! same port; then every entry left over is bound here. A passed socket
//! that matches no entry is still served, as plain IRC, and logged.
//!
//! A listener with `tls` also holds its certificate (`tls::Acceptor`).
//! Knows the config's listen entries and `sys::activation`; registers
//! nothing with the poll (the server does).

use std::net::SocketAddr;

use mio::net::TcpListener;

use super::tls::Acceptor;
use crate::config::ListenConfig;
use crate::log_info;
use crate::sys::activation::{self, Inherited};

/// A listening socket, the address it is bound to, and its TLS
/// certificate when it has `tls`.
pub struct Listener {
    pub socket: TcpListener,
    pub addr: SocketAddr,
    /// The `[[listen]]` address it serves (`addr` is the bound one, which
    /// differs for port 0); a rehash finds its entry by it.
    pub configured: Option<SocketAddr>,
    pub tls: Option<Acceptor>,
    /// The IRCv3 WebSocket transport (and the web page) instead of lines.
    pub websocket: bool,
    /// Connections start with a PROXY protocol header.
    pub proxy: bool,
}

/// Opens every listener: the passed ones, then binds what `listen` still
/// needs. The error names the listener that failed.
pub fn open(listen: &[ListenConfig]) -> Result<Vec<Listener>, String> {
    let mut passed: Vec<Option<Inherited>> = activation::take()?.into_iter().map(Some).collect();
    let mut listeners = Vec::with_capacity(listen.len().max(passed.len()));
    for entry in listen {
        // The certificate first: a bad one stops the start before any bind.
        let tls = match &entry.tls {
            Some(files) => Some(
                Acceptor::load(files).map_err(|e| format!("listener {}: {e}", entry.address))?,
            ),
            None => None,
        };
        let found = take_matching(&mut passed, |s| s.addr == entry.address)
            .or_else(|| take_matching(&mut passed, |s| s.addr.port() == entry.address.port()));
        let mut listener = match found {
            Some(s) => from_systemd(s),
            None => {
                let socket = TcpListener::bind(entry.address)
                    .map_err(|e| format!("listener {}: {e}", entry.address))?;
                let addr = socket.local_addr().unwrap_or(entry.address);
                Listener {
                    socket,
                    addr,
                    configured: None,
                    tls: None,
                    websocket: false,
                    proxy: false,
                }
            }
        };
        listener.configured = Some(entry.address);
        listener.tls = tls;
        listener.websocket = entry.websocket;
        listener.proxy = entry.proxy;
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
        if let Some(t) = &l.tls {
            what.push(format!("TLS, certificate {}", t.files.cert.display()));
        }
        if l.websocket {
            what.push("WebSocket".to_string());
        }
        if l.proxy {
            what.push("PROXY protocol".to_string());
        }
        if what.is_empty() {
            log_info!("listeners", "now listening on {}", l.addr);
        } else {
            log_info!(
                "listeners",
                "now listening on {} ({})",
                l.addr,
                what.join(", ")
            );
        }
    }
    Ok(listeners)
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
        socket: TcpListener::from_std(s.listener),
        addr: s.addr,
        configured: None,
        tls: None,
        websocket: false,
        proxy: false,
    }
}
