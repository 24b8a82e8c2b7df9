//! The event loop: one `mio::Poll` on one thread for listeners, clients,
//! signals and the worker's wake-ups.
//!
//! Each turn: poll (timeout from the earliest deadline, zero while input
//! is waiting), note readiness, read and handle lines for active clients
//! (at most `LINES_PER_TURN` each, fakelag permitting), run timers, hand
//! jobs to the worker, then write every client with new output (a direct
//! vectored write; WRITABLE interest only for what the socket would not
//! take) and reap the connections marked closing. Slots are freed only at
//! the end of a turn, so a token never changes owner within one batch.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token, Waker};
use rustls::ServerConnection;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

use super::admission::{Admission, Refusal};
use super::conn::{self, Conn};
use super::listeners::{self, Listener};
use super::proxy;
use super::selfsigned::StandIn;
use super::stream::Stream;
use super::tls::{self, Acceptor, Serving};
use super::webpage;
use super::websocket::WsPolicy;
use super::worker::Worker;
use super::wsconn::{self, WsConn};
use crate::config::{Config, IpNet, TlsFiles};
use crate::limits::{LINES_PER_TURN, LINE_MAX, READ_PER_TURN};
use crate::proto::line;
use crate::state::accounts::Accounts;
use crate::state::sendq::SendQueue;
use crate::state::{handlers::oper, ClientId, State};
use crate::store::Store;
use crate::sys::notify::Notifier;
use crate::{log_error, log_info, log_warn};

const SIGNALS: Token = Token(0);
const WAKER: Token = Token(1);
const LISTENER_BASE: usize = 2;
const CLIENT_BASE: usize = 1 << 16;
/// How long accepting pauses after EMFILE/ENFILE.
const ACCEPT_PAUSE: Duration = Duration::from_millis(250);
/// How long a quit client's last lines (its ERROR) may wait for a slow
/// socket before the connection is closed anyway.
const LINGER: Duration = Duration::from_secs(5);
/// Lines queued within one turn before the dirty clients are written
/// early (about 1.5 MB of queue entries): bounds the memory of a turn.
const FLUSH_AFTER_LINES: usize = 65_536;
/// A client whose own lines left this much output for it (a welcome
/// burst, NAMES, WHO, LIST) is written at once, not at the end of the
/// turn: its buffers are freed and reused by the next client instead of
/// piling up for a whole turn of registrations.
const FLUSH_OWN_AT: usize = 1024;
/// How many slices one vectored write takes.
const IOV_MAX: usize = 64;

/// The server: state plus everything that talks to the OS.
pub struct Server {
    poll: Poll,
    listeners: Vec<Listener>,
    conns: Vec<Option<Conn>>,
    pub state: State,
    admission: Admission,
    worker: Worker,
    signals: Signals,
    active: Vec<ClientId>,
    throttled: BinaryHeap<Reverse<(Instant, ClientId)>>,
    accept_paused_until: Option<Instant>,
    /// Quit clients whose ERROR is still waiting for the socket, and until when.
    lingering: Vec<(ClientId, Instant)>,
    config_path: PathBuf,
    scratch: Box<[u8]>,
    last_sweep: Instant,
    stopping: bool,
    /// The service manager (systemd), when it asked to be told.
    notifier: Option<Notifier>,
    /// When `WATCHDOG=1` is next due.
    watchdog_due: Option<Instant>,
    /// When the TLS certificate files are next checked for changes.
    tls_check_due: Option<Instant>,
    /// The WebSocket listeners' rules (`[websocket]`).
    ws_policy: WsPolicy,
}

/// Why the server could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Server {
    /// Binds every listener and prepares the loop.
    pub fn new(config: Config) -> Result<Server, StartError> {
        let err = |what: &str, e: io::Error| StartError(format!("{what}: {e}"));
        let poll = Poll::new().map_err(|e| err("creating the poll", e))?;
        let stand_in = StandIn::new(&config.state_dir, &config.server.name);
        let mut listeners = listeners::open(&config.listen, &stand_in).map_err(StartError)?;
        if config.sts.enabled && listeners.iter().any(Listener::self_signed) {
            log_warn!(
                "tls",
                "[sts] is enabled but a TLS listener serves a self-signed certificate: STS clients will refuse it"
            );
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(&mut l.socket, Token(LISTENER_BASE + i), Interest::READABLE)
                .map_err(|e| err("registering a listener", e))?;
        }
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])
            .map_err(|e| err("installing signal handlers", e))?;
        // A write past a file-size limit (RLIMIT_FSIZE) must fail with
        // EFBIG, which the datastore reports and rolls back, instead of
        // killing the server with SIGXFSZ.
        signal_hook::flag::register(
            signal_hook::consts::SIGXFSZ,
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        )
        .map_err(|e| err("installing signal handlers", e))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(|e| err("registering signals", e))?;
        let waker =
            Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| err("creating the waker", e))?);
        // The datastore's writer shares the waker (mio allows one per Poll).
        let (store, report) = Store::open(&config.datastore.path, Some(Arc::clone(&waker)))
            .map_err(|e| StartError(format!("datastore: {e}")))?;
        for line in report.messages(&config.datastore.path) {
            let line = line.strip_prefix("datastore: ").unwrap_or(&line);
            if line.starts_with("created ") {
                log_info!("datastore", "{line}");
            } else {
                // Repaired, upgraded or compacted: worth the admin's eye.
                log_warn!("datastore", "{line}");
            }
        }
        let worker = Worker::start(waker).map_err(|e| err("starting the worker thread", e))?;
        let config_path = config.path.clone();
        let ws_policy = WsPolicy {
            allowed_origins: config.websocket.allowed_origins.clone(),
        };
        let now = Instant::now();
        // Reserved, not touched: see `State::new`.
        let room = config.limits.max_clients;
        Ok(Server {
            poll,
            listeners,
            conns: Vec::with_capacity(room),
            state: {
                let mut state = State::new(config, now, crate::time::unix_millis());
                state.accounts = Accounts::new(store);
                state
            },
            admission: Admission::default(),
            worker,
            signals,
            active: Vec::new(),
            throttled: BinaryHeap::new(),
            accept_paused_until: None,
            lingering: Vec::new(),
            config_path,
            scratch: vec![0u8; READ_PER_TURN].into_boxed_slice(),
            last_sweep: now,
            stopping: false,
            notifier: Notifier::from_env(),
            watchdog_due: None,
            tls_check_due: None,
            ws_policy,
        })
    }

    /// The TCP addresses actually bound (useful with port 0); unix-socket
    /// listeners have none.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|l| matches!(l.socket, listeners::Socket::Tcp(_)))
            .map(|l| l.addr)
            .collect()
    }

    /// Runs until SIGTERM/SIGINT; returns after every client got its ERROR.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        log_info!("server", "server running");
        self.schedule_tls_check(Instant::now());
        self.notify_ready();
        if let Some(n) = &self.notifier {
            if let Some(every) = n.watchdog() {
                log_info!("systemd", "watchdog on: WATCHDOG=1 every {every:?}");
                self.watchdog_due = Some(Instant::now());
            }
        }
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let now = Instant::now();
            self.state.now_ms = crate::time::unix_millis();
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => self.on_signals(),
                    WAKER => {
                        self.on_worker_results();
                        self.state.store_poll();
                    }
                    Token(t) if (LISTENER_BASE..CLIENT_BASE).contains(&t) => {
                        self.accept(t - LISTENER_BASE, now)
                    }
                    Token(t) => {
                        let id = t - CLIENT_BASE;
                        if let Some(Some(conn)) = self.conns.get_mut(id) {
                            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                                conn.readable = true;
                                if !conn.active {
                                    conn.active = true;
                                    self.active.push(id);
                                }
                            }
                            if ev.is_writable() {
                                self.flush(id);
                            }
                        }
                    }
                }
            }
            self.after_events(now);
            if self.stopping {
                self.notify("STOPPING=1\nSTATUS=Shutting down");
                // Changes in flight get their replies before the goodbye.
                self.state.store_finish(Duration::from_secs(5));
                self.state.shutdown();
                self.before_sleep();
                log_info!("server", "shut down");
                return Ok(());
            }
        }
    }

    /// The work of one turn after readiness was noted.
    fn after_events(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_paused_until = None;
            for i in 0..self.listeners.len() {
                self.accept(i, now);
            }
        }
        while let Some(Reverse((t, id))) = self.throttled.peek().copied() {
            if t > now {
                break;
            }
            self.throttled.pop();
            if let Some(Some(conn)) = self.conns.get_mut(id) {
                conn.throttled_until = None;
                if !conn.active {
                    conn.active = true;
                    self.active.push(id);
                }
            }
        }
        let active = std::mem::take(&mut self.active);
        for id in active {
            self.service(id, now);
            if self.state.queued_since_flush > FLUSH_AFTER_LINES {
                // A big fan-out (JOINs into a 5,000-member channel): write
                // now rather than queue a whole turn's worth per member.
                self.flush_dirty();
            }
        }
        self.state.run_timers(now);
        for job in std::mem::take(&mut self.state.jobs) {
            self.worker.submit(job);
        }
        if let Some(by) = self.state.rehash_requested.take() {
            self.rehash(Some(by));
        }
        self.feed_watchdog(now);
        if self.tls_check_due.is_some_and(|t| t <= now) {
            self.check_certificates();
            self.schedule_tls_check(now);
        }
        if now.saturating_duration_since(self.last_sweep) > Duration::from_secs(60) {
            self.admission.sweep(now);
            self.last_sweep = now;
        }
        self.before_sleep();
    }

    fn poll_timeout(&self) -> Option<Duration> {
        if !self.active.is_empty() {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        [
            self.state.next_deadline(),
            self.throttled.peek().map(|Reverse((t, _))| *t),
            self.accept_paused_until,
            self.watchdog_due,
            self.tls_check_due,
            self.lingering.iter().map(|(_, t)| *t).min(),
        ]
        .into_iter()
        .flatten()
        .min()
        // Round up so a deadline is never polled for a hair too early.
        .map(|t| t.saturating_duration_since(now) + Duration::from_millis(1))
    }

    // ----- accepting ----------------------------------------------------

    fn accept(&mut self, index: usize, now: Instant) {
        if self.accept_paused_until.is_some() || self.stopping {
            return;
        }
        loop {
            let Some(l) = self.listeners.get(index) else {
                return;
            };
            let (mut stream, peer_ip) = match l.socket.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // EMFILE/ENFILE and friends: back off instead of spinning
                    // on a listener that stays readable.
                    log_warn!("listeners", "accept failed: {e}; pausing accepts");
                    self.accept_paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
            };
            let ip = canonical_ip(peer_ip);
            let local_port = l.addr.port();
            if l.proxy && !proxy::is_trusted(ip, &self.state.config.server.trusted_proxies) {
                log_info!(
                    "connections",
                    "{ip}: not a trusted proxy (server.trusted-proxies) on the PROXY listener {}; closing",
                    l.addr
                );
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            }
            let (websocket, proxied, tor) = (l.websocket, l.proxy, l.tor);
            let tls = match l.tls.as_ref().map(Acceptor::connection) {
                None => None,
                Some(Ok(session)) => Some(Box::new(session)),
                Some(Err(e)) => {
                    log_error!("tls", "{ip}: cannot start a TLS session: {e}");
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
            };
            // A D-lined address is refused before anything is kept for it
            // (Tor clients all come from the local Tor daemon: exempt).
            if let Some(why) = (!tor).then(|| self.state.dline_refusal(ip)).flatten() {
                if tls.is_none() {
                    let _ = stream.write_all(format!("ERROR :{why}\r\n").as_bytes());
                }
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            }
            if let Err(refusal) = self.admission.admit(&self.state.config.limits, ip, now) {
                // A TLS client could not read a plaintext ERROR.
                if tls.is_none() {
                    refuse(&mut stream, refusal);
                } else {
                    let _ = stream.shutdown(Shutdown::Both);
                }
                continue;
            }
            stream.set_nodelay();
            let id = self.state.add_client(ip, local_port, tls.is_some(), now);
            if tor {
                self.state.mark_tor(id);
            }
            if let Err(e) = self.poll.registry().register(
                &mut stream,
                Token(CLIENT_BASE + id),
                Interest::READABLE,
            ) {
                log_error!("connections", "register failed: {e}");
                self.admission.release(ip);
                self.state.remove_client(id, "Connection closed");
                continue;
            }
            if self.conns.len() <= id {
                self.conns.resize_with(id + 1, || None);
            }
            let mut conn = Conn::new(stream);
            conn.tls = tls;
            conn.ws = websocket.then(Box::default);
            conn.proxy_pending = proxied;
            conn.active = true;
            self.conns[id] = Some(conn);
            self.active.push(id);
        }
    }

    // ----- reading and handling ------------------------------------------

    /// Reads what the socket has (within budget) and handles lines.
    fn service(&mut self, id: ClientId, now: Instant) {
        let Some(Some(conn)) = self.conns.get_mut(id) else {
            return;
        };
        conn.active = false;
        let pending_ws = conn.ws.as_deref().is_some_and(WsConn::has_input);
        if (conn.readable || pending_ws) && conn.rbuf.len() < LINE_MAX * 2 {
            let peer = self
                .state
                .clients
                .get(id)
                .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
                    c.ip
                });
            let cfg = &self.state.config;
            let ctx = Ingest {
                policy: &self.ws_policy,
                trusted: &cfg.server.trusted_proxies,
                peer,
            };
            let mut notes = Vec::new();
            let read = read_some(conn, &mut self.scratch, &ctx, &mut notes);
            for note in notes {
                self.on_note(id, note, now);
            }
            match read {
                Ok(ReadOutcome::Open) => {}
                Ok(ReadOutcome::Eof) => {
                    self.handle_lines(id, now);
                    self.state.quit(id, "Connection closed");
                    return;
                }
                Err(e) => {
                    let Some(Some(conn)) = self.conns.get_mut(id) else {
                        return;
                    };
                    let refused = e.kind() == ErrorKind::InvalidData;
                    if refused {
                        log_info!("connections", "{peer}: {e}; closing");
                        // rustls queued an alert: send it if the socket takes it.
                        if let Some(tls) = conn.tls.as_mut() {
                            let _ = tls.write_tls(&mut conn.stream);
                        }
                    }
                    let why = match (refused, conn.tls.is_some()) {
                        (true, true) => "TLS error",
                        (true, false) => "Protocol error",
                        _ => "Connection closed",
                    };
                    self.state.quit(id, why);
                    return;
                }
            }
        }
        let Some(Some(conn)) = self.conns.get_mut(id) else {
            return;
        };
        let mut own_out = false;
        if let Some(tls) = conn.tls.as_deref() {
            if !conn.tls_ready && !tls.is_handshaking() {
                conn.tls_ready = true;
                if let Some(fp) = tls::fingerprint(tls) {
                    self.state.set_certfp(id, &fp);
                }
            }
            // Handshake records (or an alert) to send.
            own_out = tls.wants_write();
        }
        // The 101 answer, a pong: the WebSocket layer's own output.
        own_out |= conn.ws.as_deref().is_some_and(|w| !w.out.is_empty());
        if own_out {
            self.flush(id);
        }
        self.handle_lines(id, now);
        if self
            .state
            .clients
            .get(id)
            .is_some_and(|c| !c.dead && c.sendq.len() >= FLUSH_OWN_AT)
        {
            self.flush(id);
        }
    }

    /// Handles complete lines in the read buffer, fairly and within fakelag.
    fn handle_lines(&mut self, id: ClientId, now: Instant) {
        let Some(Some(conn)) = self.conns.get_mut(id) else {
            return;
        };
        if conn.throttled_until.is_some() {
            return;
        }
        let mut pos = 0;
        let mut handled = 0;
        let mut more = false;
        while let Some((raw, used)) = line::next_line(&conn.rbuf[pos..]) {
            if self.state.clients.get(id).is_none_or(|c| c.dead) {
                break;
            }
            if handled == LINES_PER_TURN {
                more = true;
                break;
            }
            if let Some(until) = self.state.admit(id, now) {
                conn.throttled_until = Some(until);
                self.throttled.push(Reverse((until, id)));
                break;
            }
            pos += used;
            handled += 1;
            if !handle_caught(&mut self.state, id, raw, now) {
                break;
            }
        }
        conn.rbuf.drain(..pos);
        if conn.rbuf.len() > LINE_MAX && !conn.rbuf.contains(&b'\n') {
            // An over-long line: answer once, then drop it up to its LF.
            conn.rbuf.clear();
            conn.discarding = true;
            self.state.handle_overlong(id);
        }
        conn.shrink();
        let pending_ws = conn.ws.as_deref().is_some_and(WsConn::has_input);
        let can_read_more = (conn.readable || pending_ws) && conn.rbuf.len() < LINE_MAX * 2;
        if (more || can_read_more) && conn.throttled_until.is_none() && !conn.active {
            conn.active = true;
            self.active.push(id);
        }
    }

    /// Acts on what reading found: a client's real address (PROXY header,
    /// `X-Forwarded-For` from a trusted proxy), a WebSocket connection
    /// that ends (after its HTTP answer or close frame is written).
    fn on_note(&mut self, id: ClientId, note: Note, now: Instant) {
        match note {
            Note::Proxied(ip)
            | Note::Ws(wsconn::Note::Upgraded {
                forwarded: Some(ip),
            }) => {
                self.reassign_ip(id, ip, now);
            }
            Note::Ws(wsconn::Note::Upgraded { forwarded: None })
            | Note::Ws(wsconn::Note::Nothing) => {}
            Note::Ws(wsconn::Note::Close(why)) => {
                let ip = self.state.clients.get(id).map(|c| c.ip);
                if let Some(ip) = ip {
                    log_info!("websocket", "{ip}: {why}; closing");
                }
                // Lines that came before the close frame (a QUIT with its
                // reason) are handled first, as at the end of a TCP stream.
                self.handle_lines(id, now);
                self.state.quit(id, "Connection closed");
            }
        }
    }

    /// A connection's client is at another address than its socket's
    /// peer (a proxy told us): per-IP limits, cloak and bans follow it.
    fn reassign_ip(&mut self, id: ClientId, ip: IpAddr, now: Instant) {
        let Some(old) = self.state.clients.get(id).map(|c| c.ip) else {
            return;
        };
        if old == ip {
            return;
        }
        self.admission.release(old);
        match self.admission.admit(&self.state.config.limits, ip, now) {
            Ok(()) => self.state.set_client_ip(id, ip),
            Err(refusal) => {
                // Counted as `old` again, so that `close` releases it.
                self.admission.count(old);
                self.state.quit(id, refusal.text());
            }
        }
    }

    // ----- writing --------------------------------------------------------

    /// Writes a client's queued output; arms WRITABLE if the socket is full.
    fn flush(&mut self, id: ClientId) {
        let (Some(Some(conn)), Some(client)) =
            (self.conns.get_mut(id), self.state.clients.get_mut(id))
        else {
            return;
        };
        let mut failed = false;
        let Conn {
            stream, tls, ws, ..
        } = conn;
        loop {
            // WebSocket: whole lines become frames in `ws.out` first.
            if let Some(ws) = ws.as_deref_mut() {
                ws.frame(&mut client.sendq);
            }
            let out = match ws.as_deref_mut() {
                Some(ws) => Out::Buf(&mut ws.out),
                None => Out::Queue(&mut client.sendq),
            };
            let progress = match tls.as_deref_mut() {
                Some(tls) => write_tls(tls, stream, out),
                None => write_plain(stream, out),
            };
            match progress {
                Progress::Failed => {
                    failed = true;
                    break;
                }
                Progress::Blocked => break,
                // Written out: WebSocket may have more lines to frame.
                Progress::Drained if ws.is_some() && !client.sendq.is_empty() => {}
                Progress::Drained => break,
            }
        }
        let tls_pending = tls.as_deref().is_some_and(|t| t.wants_write());
        let ws_pending = ws.as_deref().is_some_and(|w| !w.out.is_empty());
        let want_write = !failed && (!client.sendq.is_empty() || tls_pending || ws_pending);
        if want_write != conn.write_armed {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self.poll.registry().reregister(
                &mut conn.stream,
                Token(CLIENT_BASE + id),
                interest,
            );
            conn.write_armed = want_write;
        }
        if failed {
            client.sendq.clear();
            self.state.quit(id, "Connection closed");
        }
    }

    /// Flushes every client with new output, then reaps closed ones.
    /// Writes every client with new output. Flushing can quit a client
    /// (write error), which adds to `dirty`; loop until it settles.
    fn flush_dirty(&mut self) {
        loop {
            let dirty = std::mem::take(&mut self.state.dirty);
            if dirty.is_empty() {
                break;
            }
            for id in dirty {
                self.flush(id);
            }
        }
        self.state.queued_since_flush = 0;
    }

    fn before_sleep(&mut self) {
        self.flush_dirty();
        let now = Instant::now();
        for id in std::mem::take(&mut self.state.closing) {
            self.flush(id);
            // A WebSocket client gets a close frame after its ERROR line.
            if let Some(Some(conn)) = self.conns.get_mut(id) {
                if let Some(ws) = conn.ws.as_deref_mut().filter(|w| w.is_open()) {
                    ws.goodbye();
                    self.flush(id);
                }
            }
            if self.pending_output(id) && !self.stopping {
                // Stop reading; keep writing until the ERROR is out.
                if let Some(Some(conn)) = self.conns.get_mut(id) {
                    let _ = self.poll.registry().reregister(
                        &mut conn.stream,
                        Token(CLIENT_BASE + id),
                        Interest::WRITABLE,
                    );
                    conn.write_armed = true;
                }
                self.lingering.push((id, now + LINGER));
            } else {
                self.close(id);
            }
        }
        let mut i = 0;
        while i < self.lingering.len() {
            let (id, until) = self.lingering[i];
            if !self.pending_output(id) || until <= now || self.stopping {
                self.lingering.swap_remove(i);
                self.close(id);
            } else {
                i += 1;
            }
        }
        self.state.dirty.clear();
    }

    /// Does the client still have bytes waiting for its socket?
    fn pending_output(&self, id: ClientId) -> bool {
        let Some(Some(conn)) = self.conns.get(id) else {
            return false;
        };
        self.state
            .clients
            .get(id)
            .is_some_and(|c| !c.sendq.is_empty())
            || conn.tls.as_deref().is_some_and(|t| t.wants_write())
            || conn.ws.as_deref().is_some_and(|w| !w.out.is_empty())
    }

    /// Closes a connection and forgets its client (end of a turn only).
    fn close(&mut self, id: ClientId) {
        // The address is the client's: a connection and its client are
        // made together in `accept` and forgotten together here.
        let ip = self.state.clients.get(id).map(|c| c.ip);
        if let Some(slot) = self.conns.get_mut(id) {
            if let Some(mut conn) = slot.take() {
                if let Some(tls) = conn.tls.as_deref_mut() {
                    // Best effort: a clean end of the TLS stream.
                    tls.send_close_notify();
                    let _ = tls.write_tls(&mut conn.stream);
                }
                let _ = conn.stream.shutdown(Shutdown::Both);
                let _ = self.poll.registry().deregister(&mut conn.stream);
                if let Some(ip) = ip {
                    self.admission.release(ip);
                }
            }
        }
        self.state.remove_client(id, "Connection closed");
    }

    // ----- signals, worker, rehash -----------------------------------------

    fn on_signals(&mut self) {
        let pending: Vec<i32> = self.signals.pending().collect();
        for sig in pending {
            match sig {
                SIGHUP => {
                    log_info!("server", "SIGHUP: reloading {}", self.config_path.display());
                    self.rehash(None);
                }
                _ => {
                    log_info!("server", "signal {sig}: shutting down");
                    self.stopping = true;
                }
            }
        }
    }

    fn on_worker_results(&mut self) {
        while let Ok(done) = self.worker.results.try_recv() {
            self.state.job_done(done, Instant::now());
        }
    }

    /// Reloads the config; a bad one is logged and the old one kept.
    /// The service manager is told `RELOADING=1`, then `READY=1` again.
    fn rehash(&mut self, by: Option<ClientId>) {
        self.notify("RELOADING=1\nSTATUS=Reloading the configuration");
        let result = Config::load(&self.config_path);
        match &result {
            Ok(cfg) => {
                let shape = |c: &Config| -> Vec<_> {
                    c.listen
                        .iter()
                        .map(|l| (l.address, l.tls.is_some(), l.websocket))
                        .collect()
                };
                if shape(&self.state.config) != shape(cfg) {
                    log_warn!("server", "listener changes take effect after a restart");
                }
                self.reload_certificates(cfg);
                crate::logging::init(
                    crate::logging::Level::parse(&cfg.logging.level)
                        .unwrap_or(crate::logging::Level::Info),
                    crate::logging::stderr_is_journal(),
                );
                log_info!("server", "configuration reloaded");
            }
            Err(e) => log_error!(
                "server",
                "rehash failed, keeping the old configuration: {e}"
            ),
        }
        oper::rehash_done(&mut self.state, by, result.map_err(|e| e.to_string()));
        self.notify_ready();
    }

    // ----- TLS certificates ------------------------------------------------

    /// Arms the next check of the certificate files (`timeouts.tls-watch`;
    /// none without TLS listeners or with the check off).
    fn schedule_tls_check(&mut self, now: Instant) {
        let every = self.state.config.timeouts.tls_watch;
        let any = self.listeners.iter().any(|l| l.tls.is_some());
        self.tls_check_due = (any && !every.is_zero()).then(|| now + every);
    }

    /// Reloads the certificates whose files changed on disk.
    fn check_certificates(&mut self) {
        for l in &mut self.listeners {
            let Some(acceptor) = l.tls.as_mut() else {
                continue;
            };
            if acceptor.changed_on_disk() {
                let files = acceptor.files.clone();
                reload_certificate(l.addr, acceptor, &files, "the files changed on disk");
            }
        }
    }

    /// Reloads every TLS listener's certificate from `cfg` (SIGHUP,
    /// REHASH), by the listener's configured address: the k-th listener
    /// on an address takes the k-th entry with it (several may say port 0).
    fn reload_certificates(&mut self, cfg: &Config) {
        let mut seen: Vec<SocketAddr> = Vec::with_capacity(self.listeners.len());
        for l in &mut self.listeners {
            let Some(configured) = l.configured else {
                continue;
            };
            let rank = seen.iter().filter(|&&a| a == configured).count();
            seen.push(configured);
            let Some(acceptor) = l.tls.as_mut() else {
                continue;
            };
            let Some(files) = cfg
                .listen
                .iter()
                .filter(|e| e.address == configured)
                .nth(rank)
                .and_then(|e| e.tls.clone())
            else {
                log_warn!(
                    "tls",
                    "listener {}: no longer has `tls` in the config; it keeps its certificate until a restart",
                    l.addr
                );
                continue;
            };
            reload_certificate(l.addr, acceptor, &files, "rehash");
        }
    }

    // ----- the service manager --------------------------------------------

    fn notify(&self, state: &str) {
        if let Some(n) = &self.notifier {
            n.send(state);
        }
    }

    /// `READY=1`, with a status line `systemctl status` shows.
    fn notify_ready(&self) {
        if self.notifier.is_some() {
            let addrs: Vec<String> = self
                .listeners
                .iter()
                .map(|l| {
                    if l.self_signed() {
                        format!("{} (self-signed TLS)", l.shown())
                    } else {
                        l.shown()
                    }
                })
                .collect();
            self.notify(&format!(
                "READY=1\nSTATUS=Listening on {}",
                if addrs.is_empty() {
                    "nothing".to_string()
                } else {
                    addrs.join(", ")
                }
            ));
        }
    }

    /// Sends `WATCHDOG=1` when it is due. It is sent from the loop, after
    /// a turn's work, so that a loop stalled anywhere stops feeding it.
    fn feed_watchdog(&mut self, now: Instant) {
        let (Some(due), Some(every)) = (
            self.watchdog_due,
            self.notifier.as_ref().and_then(Notifier::watchdog),
        ) else {
            return;
        };
        if due <= now {
            self.notify("WATCHDOG=1");
            self.watchdog_due = Some(now + every);
        }
    }
}

/// Loads a listener's certificate again; a broken pair is logged and the
/// old one stays in use, as does the stand-in (warned about again).
fn reload_certificate(addr: SocketAddr, acceptor: &mut Acceptor, files: &TlsFiles, why: &str) {
    match acceptor.reload(files) {
        Ok(Serving::Configured) => log_info!(
            "tls",
            "listener {addr}: certificate {} loaded ({why})",
            files.cert.display()
        ),
        Ok(Serving::StandIn) => {
            if let Some(stand_in) = &acceptor.stand_in {
                listeners::warn_stand_in(addr, files, stand_in);
            }
        }
        Err(e) => log_error!(
            "tls",
            "listener {addr}: the new certificate cannot be used, keeping the old one: {e}"
        ),
    }
}

/// Handles one line, catching a panic in its handler: the client whose
/// line it was is dropped ("Internal error") and everyone else goes on.
/// Returns false when the client is gone. A panic while dropping it too
/// means the state cannot be trusted: that one is not caught, the process
/// exits and the service manager restarts it.
fn handle_caught(state: &mut State, id: ClientId, raw: &[u8], now: Instant) -> bool {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(debug_assertions)]
        debug_panic(raw);
        state.handle_line(id, raw, now);
    }));
    if outcome.is_ok() {
        return true;
    }
    log_error!(
        "server",
        "a command from client {id} failed with a panic (above); dropping that client"
    );
    state.quit(id, "Internal error");
    false
}

/// Debug builds only (the tests' binary): the line `DEBUG-PANIC` panics
/// when `PICOIRCD_DEBUG_PANIC` is set, to exercise `handle_caught`.
#[cfg(debug_assertions)]
fn debug_panic(raw: &[u8]) {
    if raw.starts_with(b"DEBUG-PANIC") && std::env::var_os("PICOIRCD_DEBUG_PANIC").is_some() {
        panic!("DEBUG-PANIC asked for");
    }
}

/// How a read ended.
enum ReadOutcome {
    Open,
    Eof,
}

/// What reading needs to know besides the connection: the WebSocket
/// rules and who may send a PROXY header or `X-Forwarded-For`.
struct Ingest<'a> {
    policy: &'a WsPolicy,
    trusted: &'a [IpNet],
    peer: IpAddr,
}

/// Something reading found that the loop must act on.
enum Note {
    /// A PROXY header named the client's address.
    Proxied(IpAddr),
    /// The WebSocket layer's news (upgrade, close).
    Ws(wsconn::Note),
}

/// Reads until WouldBlock or the per-turn budget: the PROXY header first
/// (when the listener has `proxy`), then TLS records (when it has `tls`),
/// then WebSocket frames (when it has `websocket`), ending as lines in
/// `rbuf`. An `InvalidData` error is a peer that broke the protocol (a bad
/// PROXY header, TLS garbage); the caller logs it and closes.
fn read_some(
    conn: &mut Conn,
    scratch: &mut [u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> io::Result<ReadOutcome> {
    // Frames decoded earlier but held back by a full line buffer.
    if let Some(ws) = conn.ws.as_deref_mut().filter(|w| w.has_input()) {
        push_ws(notes, ws.decode(&mut conn.rbuf));
        if conn.rbuf.len() >= LINE_MAX * 2 {
            return Ok(ReadOutcome::Open);
        }
    }
    if conn.proxy_pending {
        if let Some(done) = read_proxy(conn, scratch, ctx, notes)? {
            return Ok(done);
        }
    }
    if conn.tls.is_some() {
        return read_tls(conn, scratch, ctx, notes);
    }
    let mut total = 0;
    while total < READ_PER_TURN {
        match conn.stream.read(scratch) {
            Ok(0) => return Ok(ReadOutcome::Eof),
            Ok(n) => {
                total += n;
                let Conn {
                    rbuf,
                    discarding,
                    ws,
                    ..
                } = conn;
                if deliver(rbuf, discarding, ws, &scratch[..n], ctx, notes) {
                    // Enough to work on; the rest waits in the socket.
                    return Ok(ReadOutcome::Open);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                conn.readable = false;
                return Ok(ReadOutcome::Open);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(ReadOutcome::Open)
}

/// Bytes of the plaintext stream (after TLS) to their layer: WebSocket
/// frames or raw lines. True when the line buffer is full for this turn.
fn deliver(
    rbuf: &mut Vec<u8>,
    discarding: &mut bool,
    ws: &mut Option<Box<WsConn>>,
    data: &[u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> bool {
    match ws.as_deref_mut() {
        Some(ws) => {
            let trusted = |ip: IpAddr| proxy::is_trusted(ip, ctx.trusted);
            let note = ws.take_in(data, rbuf, ctx.policy, ctx.peer, trusted, webpage::response);
            push_ws(notes, note);
            rbuf.len() >= LINE_MAX * 2
        }
        None => conn::take_in(rbuf, discarding, data),
    }
}

fn push_ws(notes: &mut Vec<Note>, note: wsconn::Note) {
    if note != wsconn::Note::Nothing {
        notes.push(Note::Ws(note));
    }
}

/// Reads the PROXY header into `rbuf` until it is whole. `Ok(Some(_))`:
/// this turn's reading is over (wait for more, or the end); `Ok(None)`:
/// the header is done and what followed it was passed on, read on.
fn read_proxy(
    conn: &mut Conn,
    scratch: &mut [u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> io::Result<Option<ReadOutcome>> {
    loop {
        match proxy::parse(&conn.rbuf) {
            Ok(None) => {}
            Ok(Some((header, used))) => {
                conn.proxy_pending = false;
                if let Some(source) = header.source {
                    notes.push(Note::Proxied(canonical_ip(source.ip())));
                }
                let rest = conn.rbuf.split_off(used);
                conn.rbuf = Vec::new();
                if !rest.is_empty() {
                    pass_on(conn, &rest, scratch, ctx, notes)?;
                }
                return Ok(None);
            }
            Err(e) => return Err(io::Error::new(ErrorKind::InvalidData, e)),
        }
        let room = proxy::MAX_HEADER.saturating_sub(conn.rbuf.len()).max(1);
        let want = room.min(scratch.len());
        match conn.stream.read(&mut scratch[..want]) {
            Ok(0) => return Ok(Some(ReadOutcome::Eof)),
            Ok(n) => conn.rbuf.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                conn.readable = false;
                return Ok(Some(ReadOutcome::Open));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Bytes that arrived with the PROXY header: TLS records, or the stream.
fn pass_on(
    conn: &mut Conn,
    mut rest: &[u8],
    scratch: &mut [u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> io::Result<()> {
    let Conn {
        rbuf,
        discarding,
        ws,
        tls,
        ..
    } = conn;
    let Some(tls) = tls.as_deref_mut() else {
        deliver(rbuf, discarding, ws, rest, ctx, notes);
        return Ok(());
    };
    while !rest.is_empty() {
        if tls.read_tls(&mut rest)? == 0 {
            break;
        }
        tls.process_new_packets()
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, format!("TLS: {e}")))?;
        drain_plaintext(tls, rbuf, discarding, ws, scratch, ctx, notes)?;
    }
    Ok(())
}

/// Plaintext rustls holds, into the next layer. `Ok(Some(_))` when the
/// reading of this turn is over (the buffer is full, or the peer closed).
fn drain_plaintext(
    tls: &mut ServerConnection,
    rbuf: &mut Vec<u8>,
    discarding: &mut bool,
    ws: &mut Option<Box<WsConn>>,
    scratch: &mut [u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> io::Result<Option<ReadOutcome>> {
    loop {
        match tls.reader().read(scratch) {
            // The peer's close_notify, and nothing left to read.
            Ok(0) => return Ok(Some(ReadOutcome::Eof)),
            Ok(n) => {
                if deliver(rbuf, discarding, ws, &scratch[..n], ctx, notes) {
                    return Ok(Some(ReadOutcome::Open));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// `read_some` for a TLS connection: records from the socket into rustls,
/// the plaintext out to the next layer. A TLS error (garbage, a plaintext
/// client on the TLS port, a failed handshake) is `InvalidData`; rustls
/// has then queued an alert for the peer.
fn read_tls(
    conn: &mut Conn,
    scratch: &mut [u8],
    ctx: &Ingest<'_>,
    notes: &mut Vec<Note>,
) -> io::Result<ReadOutcome> {
    let Conn {
        stream,
        rbuf,
        discarding,
        readable,
        ws,
        tls: Some(tls),
        ..
    } = conn
    else {
        return Ok(ReadOutcome::Open);
    };
    let mut total = 0;
    loop {
        // Plaintext rustls already holds first: a turn that stopped on a
        // full line buffer left some there, and the socket may be empty.
        if let Some(done) = drain_plaintext(tls, rbuf, discarding, ws, scratch, ctx, notes)? {
            return Ok(done);
        }
        if total >= READ_PER_TURN {
            return Ok(ReadOutcome::Open);
        }
        match tls.read_tls(stream) {
            Ok(0) => return Ok(ReadOutcome::Eof),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                *readable = false;
                return Ok(ReadOutcome::Open);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        tls.process_new_packets()
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, format!("TLS: {e}")))?;
    }
}

/// Bytes waiting for the stream: the client's send queue (raw lines), or
/// a WebSocket layer's frames.
enum Out<'a> {
    Queue(&'a mut SendQueue),
    Buf(&'a mut Vec<u8>),
}

impl Out<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Out::Queue(q) => q.is_empty(),
            Out::Buf(b) => b.is_empty(),
        }
    }

    fn fill<'s>(&'s self, slices: &mut [IoSlice<'s>]) -> usize {
        match self {
            Out::Queue(q) => q.fill(slices),
            Out::Buf(b) => {
                slices[0] = IoSlice::new(b);
                1
            }
        }
    }

    fn consume(&mut self, n: usize) {
        match self {
            Out::Queue(q) => q.consume(n),
            Out::Buf(b) => {
                b.drain(..n);
                if b.is_empty() && b.capacity() > 16 * 1024 {
                    **b = Vec::new();
                }
            }
        }
    }
}

/// How a write went.
enum Progress {
    /// Everything was written.
    Drained,
    /// The socket is full: wait for WRITABLE.
    Blocked,
    /// The connection failed.
    Failed,
}

/// Writes `out` to a plain socket, vectored.
fn write_plain(stream: &mut Stream, mut out: Out<'_>) -> Progress {
    while !out.is_empty() {
        let written = {
            let mut slices = [IoSlice::new(&[]); IOV_MAX];
            let n = out.fill(&mut slices);
            stream.write_vectored(&slices[..n])
        };
        match written {
            Ok(0) => return Progress::Failed,
            Ok(n) => out.consume(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Progress::Blocked,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Progress::Failed,
        }
    }
    Progress::Drained
}

/// Moves `out` into the TLS session and its records into the socket,
/// until both are empty or the socket is full.
fn write_tls(tls: &mut ServerConnection, stream: &mut Stream, mut out: Out<'_>) -> Progress {
    loop {
        while !out.is_empty() {
            let mut slices = [IoSlice::new(&[]); IOV_MAX];
            let n = out.fill(&mut slices);
            match tls.writer().write_vectored(&slices[..n]) {
                // rustls' buffer is full: send records first.
                Ok(0) => break,
                Ok(k) => out.consume(k),
                Err(_) => return Progress::Failed,
            }
        }
        while tls.wants_write() {
            match tls.write_tls(stream) {
                Ok(0) => return Progress::Failed,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Progress::Blocked,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Progress::Failed,
            }
        }
        if out.is_empty() {
            return Progress::Drained;
        }
    }
}

/// Says why, then drops a refused connection.
fn refuse(stream: &mut Stream, why: Refusal) {
    let _ = stream.write_all(format!("ERROR :{}\r\n", why.text()).as_bytes());
    let _ = stream.shutdown(Shutdown::Both);
}

/// IPv4-mapped IPv6 addresses are IPv4 for limits and cloaks.
fn canonical_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}
