//! The generator's event loop: one `mio::Poll` driving every client socket,
//! non-blocking, on one thread.
//!
//! Each connection is bound to its own loopback source address
//! (127.0.x.y, x and y from 1) before it connects, so per-IP limits never
//! apply and the ephemeral ports never run out. `turn` polls once, reads
//! what arrived (a bounded number of bytes per socket per turn; the rest
//! waits for the next turn), hands each complete line to the scenario's
//! handler, which may queue output on any connection, then writes what is
//! queued. Slots are freed only at the end of a turn. `BENCH_DEBUG=1` in
//! the environment prints each read error (a reset, say) to stderr. Knows sockets and
//! lines; the IRC meaning is in `irc`, the scenarios' in `scenario`.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::irc::{Event, Line, Session};

/// Bytes read from one socket per turn before others get their turn.
const READ_PER_TURN: usize = 256 * 1024;
/// A line longer than this without LF is dropped (no server sends one).
const LINE_MAX: usize = 64 * 1024;
/// The most events handled per poll.
const EVENTS: usize = 4096;

/// One client connection.
pub struct Conn {
    stream: TcpStream,
    /// The TCP handshake completed.
    connected: bool,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    wpos: usize,
    /// In the pool's `dirty` list (output queued).
    dirty: bool,
    /// In the pool's `backlog` list (more to read than the turn allowed).
    backlog: bool,
    /// Closed by the peer or by us; reaped at the end of the turn.
    pub closed: bool,
    /// The IRC side: nick, registration, syncs.
    pub irc: Session,
    /// The scenario's own number for this client (its role or index).
    pub tag: usize,
}

/// Counters over the pool's life.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub connects: u64,
    pub connect_errors: u64,
    /// Connections the server closed (EOF or error).
    pub closed_by_server: u64,
    /// Connections lost before registering and made again.
    pub retries: u64,
    pub lines_in: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// Every connection of a scenario.
pub struct Pool {
    poll: Poll,
    events: Events,
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    server: SocketAddr,
    next_source: u32,
    dirty: Vec<usize>,
    backlog: Vec<usize>,
    reap: Vec<usize>,
    scratch: Vec<u8>,
    pub counters: Counters,
}

/// The `n`th loopback source address: 127.0.x.y with x, y in 1..=250.
pub fn source_address(n: u32) -> Ipv4Addr {
    let x = 1 + (n / 250) % 250;
    let y = 1 + n % 250;
    Ipv4Addr::new(127, 0, x as u8, y as u8)
}

impl Pool {
    pub fn new(server: SocketAddr) -> io::Result<Pool> {
        if !server.ip().is_loopback() {
            return Err(io::Error::other(format!(
                "{server} is not a loopback address: the generator only loads this machine"
            )));
        }
        Ok(Pool {
            poll: Poll::new()?,
            events: Events::with_capacity(EVENTS),
            slots: Vec::new(),
            free: Vec::new(),
            server,
            next_source: 0,
            dirty: Vec::new(),
            backlog: Vec::new(),
            reap: Vec::new(),
            scratch: vec![0; 64 * 1024],
            counters: Counters::default(),
        })
    }

    /// Starts a connection from the next source address, with `nick` for
    /// its session and `tag` for the scenario; its registration lines are
    /// queued (sent once the handshake completes). Returns its id.
    pub fn connect(&mut self, nick: String, tag: usize) -> io::Result<usize> {
        self.connect_with_caps(nick, tag, 0)
    }

    /// `connect`, the session requesting the IRCv3 capabilities `caps`
    /// (`irc::cap` bits) before it registers.
    pub fn connect_with_caps(&mut self, nick: String, tag: usize, caps: u8) -> io::Result<usize> {
        let src = source_address(self.next_source);
        self.next_source = self.next_source.wrapping_add(1);
        let sock = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nonblocking(true)?;
        sock.set_tcp_nodelay(true)?;
        sock.bind(&SocketAddr::new(src.into(), 0).into())?;
        let connected = match sock.connect(&self.server.into()) {
            Ok(()) => true,
            Err(e) if e.raw_os_error() == Some(115) || e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => {
                self.counters.connect_errors += 1;
                return Err(e);
            }
        };
        let mut stream = TcpStream::from_std(sock.into());
        let id = self.free.pop().unwrap_or(self.slots.len());
        self.poll.registry().register(
            &mut stream,
            Token(id),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let irc = Session::with_caps(nick, caps);
        let mut conn = Conn {
            stream,
            connected,
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            wpos: 0,
            dirty: false,
            backlog: false,
            closed: false,
            irc,
            tag,
        };
        conn.irc.register(&mut conn.wbuf);
        if id == self.slots.len() {
            self.slots.push(None);
        }
        self.slots[id] = Some(conn);
        self.mark_dirty(id);
        self.counters.connects += 1;
        Ok(id)
    }

    /// The connection `id`, if it is still open (or closed this turn).
    pub fn get(&self, id: usize) -> Option<&Conn> {
        self.slots.get(id)?.as_ref()
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut Conn> {
        self.slots.get_mut(id)?.as_mut()
    }

    /// Is `id` open (not closed, not reaped)?
    pub fn is_open(&self, id: usize) -> bool {
        self.get(id).is_some_and(|c| !c.closed)
    }

    /// Queues bytes on `id` (ignored once it is closed).
    pub fn send(&mut self, id: usize, bytes: &[u8]) {
        if let Some(c) = self.get_mut(id) {
            if !c.closed {
                c.wbuf.extend_from_slice(bytes);
                self.mark_dirty(id);
            }
        }
    }

    /// Queues output built by `f` on `id`: `f` appends to its buffer and
    /// may update its session (a sync token, say).
    pub fn send_with(&mut self, id: usize, f: impl FnOnce(&mut Session, &mut Vec<u8>)) {
        if let Some(c) = self.get_mut(id) {
            if !c.closed {
                f(&mut c.irc, &mut c.wbuf);
                self.mark_dirty(id);
            }
        }
    }

    /// Lets `id`'s session handle `line` (PING, 001, 433, 366, PONG…);
    /// replies are queued. `Event::Nothing` for a closed connection or a
    /// line that does not parse.
    pub fn on_line<'a>(&mut self, id: usize, line: &'a [u8]) -> Event<'a> {
        let Some(parsed) = Line::parse(line) else {
            return Event::Nothing;
        };
        let Some(c) = self.get_mut(id) else {
            return Event::Nothing;
        };
        let before = c.wbuf.len();
        let ev = c.irc.on_line(parsed, &mut c.wbuf);
        if c.wbuf.len() != before {
            self.mark_dirty(id);
        }
        ev
    }

    fn mark_dirty(&mut self, id: usize) {
        if let Some(c) = self.slots.get_mut(id).and_then(Option::as_mut) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    /// Closes `id` from our side (the slot is freed at the end of the turn).
    pub fn close(&mut self, id: usize) {
        if let Some(c) = self.get_mut(id) {
            if !c.closed {
                c.closed = true;
                self.reap.push(id);
            }
        }
    }

    /// One turn: poll at most `timeout` (zero when input is left over from
    /// the last turn), read, hand every complete line to `handler`, write,
    /// reap closed connections.
    pub fn turn<F>(&mut self, timeout: Duration, handler: &mut F) -> io::Result<()>
    where
        F: FnMut(&mut Pool, usize, &[u8]),
    {
        let timeout = if self.backlog.is_empty() {
            timeout
        } else {
            Duration::ZERO
        };
        self.flush_dirty();
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let mut ready: Vec<usize> = std::mem::take(&mut self.backlog);
        for id in &ready {
            if let Some(c) = self.get_mut(*id) {
                c.backlog = false;
            }
        }
        let mut writable = Vec::new();
        for ev in self.events.iter() {
            let id = ev.token().0;
            if ev.is_writable() {
                writable.push(id);
            }
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                ready.push(id);
            }
        }
        for id in writable {
            if let Some(c) = self.get_mut(id) {
                if !c.connected {
                    match c.stream.take_error() {
                        Ok(None) if c.stream.peer_addr().is_ok() => c.connected = true,
                        Ok(None) => {}
                        _ => {
                            self.counters.connect_errors += 1;
                            self.close(id);
                            continue;
                        }
                    }
                }
                self.flush(id);
            }
        }
        for id in ready {
            self.read_and_handle(id, handler);
        }
        self.flush_dirty();
        for id in std::mem::take(&mut self.reap) {
            if let Some(mut c) = self.slots[id].take() {
                let _ = self.poll.registry().deregister(&mut c.stream);
                self.free.push(id);
            }
        }
        Ok(())
    }

    fn read_and_handle<F>(&mut self, id: usize, handler: &mut F)
    where
        F: FnMut(&mut Pool, usize, &[u8]),
    {
        let mut scratch = std::mem::take(&mut self.scratch);
        let Some(c) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            self.scratch = scratch;
            return;
        };
        if c.closed {
            self.scratch = scratch;
            return;
        }
        let mut buf = std::mem::take(&mut c.rbuf);
        let mut got = 0;
        let mut eof = false;
        while got < READ_PER_TURN {
            match c.stream.read(&mut scratch) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    got += n;
                    buf.extend_from_slice(&scratch[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    if std::env::var_os("BENCH_DEBUG").is_some() {
                        eprintln!("read error on {id}: {e}");
                    }
                    eof = true;
                    break;
                }
            }
        }
        let more = got >= READ_PER_TURN;
        self.scratch = scratch;
        self.counters.bytes_in += got as u64;
        let mut pos = 0;
        while let Some(lf) = buf[pos..].iter().position(|&b| b == b'\n') {
            let mut line = &buf[pos..pos + lf];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            pos += lf + 1;
            self.counters.lines_in += 1;
            handler(self, id, line);
        }
        buf.drain(..pos);
        if buf.len() > LINE_MAX {
            buf.clear();
        }
        if eof {
            if self.is_open(id) {
                self.counters.closed_by_server += 1;
            }
            self.close(id);
        }
        if let Some(c) = self.slots.get_mut(id).and_then(Option::as_mut) {
            c.rbuf = buf;
            if more && !c.closed && !c.backlog {
                c.backlog = true;
                self.backlog.push(id);
            }
        }
    }

    fn flush_dirty(&mut self) {
        for id in std::mem::take(&mut self.dirty) {
            if let Some(c) = self.get_mut(id) {
                c.dirty = false;
            }
            self.flush(id);
        }
    }

    /// Writes what `id` has queued; the rest waits for a writable event.
    fn flush(&mut self, id: usize) {
        let Some(c) = self.slots.get_mut(id).and_then(Option::as_mut) else {
            return;
        };
        if !c.connected || c.closed {
            return;
        }
        while c.wpos < c.wbuf.len() {
            match c.stream.write(&c.wbuf[c.wpos..]) {
                Ok(0) => break,
                Ok(n) => {
                    c.wpos += n;
                    self.counters.bytes_out += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(id);
                    return;
                }
            }
        }
        if c.wpos == c.wbuf.len() {
            c.wbuf.clear();
            c.wpos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_are_loopback_and_distinct() {
        let a: Vec<Ipv4Addr> = (0..62_500).map(source_address).collect();
        assert!(a
            .iter()
            .all(|ip| ip.is_loopback() && *ip != Ipv4Addr::LOCALHOST));
        let mut d = a.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), a.len());
    }

    #[test]
    fn refuses_non_loopback_targets() {
        assert!(Pool::new("10.0.0.1:6667".parse().unwrap()).is_err());
        assert!(Pool::new("127.0.0.1:6667".parse().unwrap()).is_ok());
    }
}
