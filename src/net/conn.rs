//! One client connection: its socket and the bytes read but not yet
//! handled. The read buffer is empty (no allocation) for an idle client;
//! it holds a partial line, or complete lines waiting for their turn
//! (fairness, fakelag). Imports `limits` only (and mio).

use std::time::Instant;

use mio::net::TcpStream;

/// A connection in the loop's table (indexed like the state's clients).
pub struct Conn {
    pub stream: TcpStream,
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
}

impl Conn {
    pub fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            rbuf: Vec::new(),
            discarding: false,
            readable: true,
            write_armed: false,
            active: false,
            throttled_until: None,
        }
    }

    /// Drops the read buffer's memory once it is empty and was grown.
    pub fn shrink(&mut self) {
        if self.rbuf.is_empty() && self.rbuf.capacity() > 0 {
            self.rbuf = Vec::new();
        }
    }
}
