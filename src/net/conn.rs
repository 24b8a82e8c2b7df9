//! One client connection: its socket, its TLS session when the listener
//! has `tls`, its WebSocket layer when it has `websocket`, whether a PROXY
//! header is still expected, and the bytes read but not yet handled. The read buffer is
//! empty (no allocation) for an idle client; it holds a partial line, or
//! complete lines waiting for their turn (fairness, fakelag).
//! Imports `limits` and `net::wsconn` (and mio, rustls).

use std::time::Instant;

use rustls::ServerConnection;

use super::stream::Stream;
use super::wsconn::WsConn;
use crate::limits::LINE_MAX;

/// A connection in the loop's table (indexed like the state's clients).
pub struct Conn {
    pub stream: Stream,
    /// Read but not yet handled.
    pub rbuf: Vec<u8>,
    /// An over-long line is being dropped until its LF.
    pub discarding: bool,
    /// The socket may have more to read (edge-triggered: we stopped early).
    pub readable: bool,
    /// WRITABLE interest is registered (output is waiting on the socket).
    pub write_armed: bool,
    /// In the loop's active list this turn.
    pub active: bool,
    /// Fakelag: no line is handled before this.
    pub throttled_until: Option<Instant>,
    /// The TLS session (boxed: plaintext connections pay one pointer).
    pub tls: Option<Box<ServerConnection>>,
    /// The TLS handshake finished and was reported to the state.
    pub tls_ready: bool,
    /// The WebSocket layer (boxed: other connections pay one pointer).
    pub ws: Option<Box<WsConn>>,
    /// The listener has `proxy`: a PROXY header comes first (read into
    /// `rbuf` until it is whole).
    pub proxy_pending: bool,
}

impl Conn {
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            rbuf: Vec::new(),
            discarding: false,
            readable: true,
            write_armed: false,
            active: false,
            throttled_until: None,
            tls: None,
            tls_ready: false,
            ws: None,
            proxy_pending: false,
        }
    }

    /// Drops the read buffer's memory once it is empty and was grown.
    pub fn shrink(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = Vec::new();
        }
    }
}

/// Appends bytes read from a client to its line buffer `rbuf`, dropping an
/// over-long line's bytes up to its LF while `discarding`. Returns whether
/// the buffer is full enough to stop reading for this turn. (A function of
/// the two fields, so that a TLS session or WebSocket layer borrowed from
/// the same `Conn` can feed it.)
pub fn take_in(rbuf: &mut Vec<u8>, discarding: &mut bool, mut data: &[u8]) -> bool {
    if *discarding {
        match data.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                *discarding = false;
                data = &data[lf + 1..];
            }
            None => return false,
        }
    }
    rbuf.extend_from_slice(data);
    rbuf.len() >= LINE_MAX * 2
}
