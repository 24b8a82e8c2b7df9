//! The IRC server's state and semantics, without sockets.
//!
//! `State` owns the client and channel slabs, the nick and channel-name
//! indexes, WHOWAS and MONITOR, and every client's send queue. `net` feeds
//! it lines (`handle_line`), events (connect, disconnect, worker results)
//! and the time; it answers by filling send queues and the `dirty`,
//! `closing` and `jobs` lists that `net` drains. Nothing here touches a
//! socket or reads the clock. May import `proto`, `config`, `limits`,
//! `time` (formatting only) and `logging`; never `net` or mio.

pub mod accounts;
pub mod channel;
pub mod chanreg;
pub mod client;
pub mod cloak;
pub mod clock;
pub mod counts;
pub mod dispatch;
pub mod error;
pub mod event;
pub mod fakelag;
pub mod handlers;
pub mod identity;
pub mod jobs;
pub mod labels;
pub mod multiline;
pub mod notify;
pub mod sendq;
pub mod services;
pub mod snomask;
pub mod timers;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use slab::Slab;

use crate::config::Config;
use crate::proto::{caps, casemap, write};
use channel::Channel;
pub use client::{ChanId, Client, ClientId};
use error::{CmdError, Described};
pub use jobs::{Job, JobDone, JobResult, Purpose};

/// A WHOWAS entry.
#[derive(Debug, Clone)]
pub struct WhowasEntry {
    pub nick: String,
    pub user: String,
    pub host: String,
    pub realname: String,
    pub when: u64,
}

/// Counters for LUSERS.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub max_local: usize,
}

/// The whole server state.
pub struct State {
    pub config: Rc<Config>,
    pub clients: Slab<Client>,
    pub channels: Slab<Channel>,
    /// Folded nick → client (registered or with an accepted NICK).
    pub nicks: HashMap<Box<str>, ClientId>,
    /// Folded channel name → channel.
    pub channel_names: HashMap<String, ChanId>,
    pub whowas: VecDeque<WhowasEntry>,
    /// Folded nick → clients that MONITOR it.
    pub monitors: HashMap<String, Vec<ClientId>>,
    /// Clients with new output since the last flush.
    pub dirty: Vec<ClientId>,
    /// Clients to disconnect once their output is flushed.
    pub closing: Vec<ClientId>,
    /// Blocking work for the worker thread.
    pub jobs: Vec<Job>,
    /// Accounts and registered channels (the datastore in memory).
    pub accounts: accounts::Accounts,
    pub timers: timers::Timers,
    pub stats: Stats,
    /// When the server started (UNIX milliseconds; leads every `msgid`).
    started_ms: u64,
    /// Converts the `Instant`s `net` passes into stored `Stamp`s.
    pub clock: clock::Clock,
    /// The ISUPPORT lines' tokens, computed from the config.
    pub isupport: Vec<String>,
    /// The current wall clock (UNIX ms), set by `net` before each batch.
    pub now_ms: u64,
    next_serial: u64,
    visit_stamp: u64,
    /// Reused buffer for building one-off lines.
    scratch: Vec<u8>,
    /// The client whose line is being handled (for the central checks).
    registered_count: usize,
    /// Lines queued (to any client) since `net` last wrote the dirty
    /// clients: `net` writes early, mid-turn, when this grows large.
    pub queued_since_flush: usize,
    /// LUSERS counters (unregistered, invisible, visible opers).
    pub counts: counts::Counts,
    /// Set by REHASH; `net` reloads the config and calls `apply_config`.
    pub rehash_requested: Option<ClientId>,
    /// Set when the loop should stop (tests, DIE in the future).
    pub shutdown_requested: bool,
    /// The response of a labeled command being handled (labeled-response):
    /// its client's lines are held here until the command ends.
    capture: Option<labels::Capture>,
    /// A server batch open for one client (`begin_batch`): its reference,
    /// tagged on every line that client gets until `end_batch`.
    out_batch: Option<(ClientId, String)>,
    /// `time` tag text for `now_ms`, formatted at most once per millisecond.
    time_text: (u64, Rc<str>),
    /// Opers with server notice masks (id, serial), each once: `snotice`
    /// walks these, not every client. Stale entries (gone, de-opered,
    /// masks cleared) are dropped as it goes.
    sno_watchers: Vec<(ClientId, u64)>,
    /// When the next K-/D-line lapses (`handlers::xline`).
    pub line_expiry: handlers::xline::Expiry,
    /// Counter behind `msgid`s and batch references.
    msg_seq: u64,
}

/// The host Tor clients are shown with (Ergo's `tor-listeners.vhost`).
pub const TOR_HOST: &str = "tor-network.onion";

impl State {
    /// A state for `config` at `now` (monotonic; the epoch of every
    /// stored `Stamp`) and `now_ms` (UNIX milliseconds).
    pub fn new(config: Config, now: Instant, now_ms: u64) -> State {
        let config = Rc::new(config);
        let isupport = handlers::registration::isupport_tokens(&config);
        // The per-client tables that fill from the front are sized for
        // `max-clients` up front: the room is only reserved (untouched
        // pages cost no RSS), and a table that never grows leaves no freed
        // old copies behind in the heap. Hash maps are not: they touch
        // their whole table, so they grow with use.
        let room = config.limits.max_clients;
        State {
            config,
            clients: Slab::with_capacity(room),
            channels: Slab::new(),
            nicks: HashMap::new(),
            channel_names: HashMap::new(),
            whowas: VecDeque::new(),
            monitors: HashMap::new(),
            dirty: Vec::new(),
            closing: Vec::new(),
            jobs: Vec::new(),
            accounts: accounts::Accounts::default(),
            timers: timers::Timers::with_capacity(room),
            stats: Stats::default(),
            started_ms: now_ms,
            clock: clock::Clock::new(now),
            isupport,
            now_ms,
            next_serial: 1,
            visit_stamp: 0,
            scratch: Vec::with_capacity(1024),
            registered_count: 0,
            queued_since_flush: 0,
            counts: counts::Counts::default(),
            rehash_requested: None,
            shutdown_requested: false,
            capture: None,
            out_batch: None,
            time_text: (u64::MAX, Rc::from("")),
            msg_seq: 0,
            sno_watchers: Vec::new(),
            line_expiry: handlers::xline::Expiry::default(),
        }
    }

    /// Replaces the config (rehash): MOTD, opers, limits, ISUPPORT.
    pub fn apply_config(&mut self, config: Config) {
        self.isupport = handlers::registration::isupport_tokens(&config);
        self.config = Rc::new(config);
    }

    /// The server's name.
    pub fn server_name(&self) -> &str {
        &self.config.server.name
    }

    /// When the server started (UNIX seconds).
    pub fn started(&self) -> u64 {
        self.started_ms / 1000
    }

    /// The current wall clock (UNIX seconds).
    pub fn now_secs(&self) -> u64 {
        self.now_ms / 1000
    }

    /// Registers a new connection; returns its id (the slab key `net` uses
    /// as the mio token).
    pub fn add_client(&mut self, ip: IpAddr, local_port: u16, tls: bool, now: Instant) -> ClientId {
        let host = cloak::host_for(&self.config.cloaks, ip);
        let serial = self.next_serial;
        self.next_serial += 1;
        let unix = self.now_secs();
        let at = self.clock.stamp(now);
        let id = self
            .clients
            .insert(Client::new(serial, ip, host, local_port, tls, at, unix));
        self.schedule_deadline(id, at + self.config.timeouts.registration);
        self.recount(id);
        id
    }

    /// Puts client `id` in the LUSERS counters it belongs in now (call
    /// after anything that may change its registration, modes, oper
    /// session or liveness; calling it again changes nothing).
    /// The client's address is `ip`, not its socket peer's (a PROXY header
    /// or a trusted proxy's `X-Forwarded-For` said so, before it
    /// registered): its cloaked host follows.
    /// A D-lined address is refused here, as at accept.
    pub fn set_client_ip(&mut self, id: ClientId, ip: IpAddr) {
        let host = cloak::host_for(&self.config.cloaks, ip);
        if let Some(c) = self.clients.get_mut(id) {
            c.ip = ip;
            c.id.set_host(&host);
        }
        if let Some(refusal) = self.dline_refusal(ip) {
            self.quit(id, &refusal);
        }
    }

    /// The client came through a Tor listener: shown as
    /// `tor-network.onion` (as Ergo), never by its (local) address.
    pub fn mark_tor(&mut self, id: ClientId) {
        if let Some(c) = self.clients.get_mut(id) {
            c.id.set_host(TOR_HOST);
        }
    }

    /// Records the fingerprint of the client certificate a TLS client
    /// presented (`net`, when its handshake finishes).
    pub fn set_certfp(&mut self, id: ClientId, fingerprint: &str) {
        if let Some(c) = self.clients.get_mut(id) {
            c.extra_mut().certfp = Some(fingerprint.into());
        }
    }

    pub fn recount(&mut self, id: ClientId) {
        if let Some(c) = self.clients.get_mut(id) {
            let now = counts::Counts::membership(c);
            self.counts.apply(c.counted, now);
            c.counted = now;
        }
    }

    /// Recounts every client (after a rehash changed oper sessions).
    pub fn recount_all(&mut self) {
        let ids: Vec<ClientId> = self.clients.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.recount(id);
        }
    }

    /// The connection is gone (closed by the peer, an I/O error, or after
    /// `closing`): quit if still alive, then forget the client.
    pub fn remove_client(&mut self, id: ClientId, reason: &str) {
        if self.clients.contains(id) && !self.clients[id].dead {
            self.quit(id, reason);
        }
        if self.clients.contains(id) {
            let c = self.clients.remove(id);
            self.counts.apply(c.counted, 0);
        }
        self.compact_timers();
    }

    /// Number of registered clients.
    pub fn registered_count(&self) -> usize {
        self.registered_count
    }

    // ----- output -------------------------------------------------------

    /// Queues server lines (one or more, each ending in CR LF) for one
    /// client, enforcing its sendq. A `server-time` client gets a `time`
    /// tag on each; during a labeled command its lines are held for the
    /// labeled response instead.
    pub fn send_bytes(&mut self, id: ClientId, bytes: &[u8]) {
        let Some(c) = self.clients.get(id) else {
            return;
        };
        if c.dead {
            return;
        }
        let timed = c.has_cap(caps::SERVER_TIME);
        let held = self.capture.as_ref().is_some_and(|cap| cap.client == id);
        let batch = self
            .out_batch
            .as_ref()
            .filter(|(to, _)| *to == id)
            .map(|(_, r)| r.clone());
        if !timed && !held && batch.is_none() {
            return self.enqueue(id, |q| q.push_bytes(bytes));
        }
        let time = timed.then(|| self.time_text());
        let mut buf = Vec::with_capacity(bytes.len() + 40);
        let mut tagged = Vec::new();
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let line = match &batch {
                Some(r) => {
                    tagged.clear();
                    write::add_raw_tag(line, "batch", r, &mut tagged);
                    &tagged[..]
                }
                None => line,
            };
            match &time {
                Some(t) => write::add_raw_tag(line, "time", t, &mut buf),
                None => buf.extend_from_slice(line),
            }
        }
        match self.capture.as_mut().filter(|cap| cap.client == id) {
            Some(cap) => cap.hold(&buf),
            None => self.enqueue(id, |q| q.push_bytes(&buf)),
        }
    }

    /// Queues a shared line for one client (fan-out), enforcing its sendq.
    /// The line carries its own tags (`send_event`).
    pub fn send_shared(&mut self, id: ClientId, line: &Rc<[u8]>) {
        if self.out_batch.as_ref().is_some_and(|(to, _)| *to == id) {
            // Inside a batch the line needs this client's batch tag.
            let r = self
                .out_batch
                .as_ref()
                .map(|(_, r)| r.clone())
                .unwrap_or_default();
            let mut buf = Vec::with_capacity(line.len() + r.len() + 8);
            write::add_raw_tag(line, "batch", &r, &mut buf);
            return match self.capture.as_mut().filter(|cap| cap.client == id) {
                Some(cap) => cap.hold(&buf),
                None => self.enqueue(id, |q| q.push_bytes(&buf)),
            };
        }
        if let Some(cap) = self.capture.as_mut().filter(|cap| cap.client == id) {
            return cap.hold(line);
        }
        self.enqueue(id, |q| q.push_shared(line));
    }

    /// Adds to a live client's queue, marks it dirty, enforces the sendq.
    fn enqueue(&mut self, id: ClientId, push: impl FnOnce(&mut sendq::SendQueue)) {
        let limit = self.config.limits.sendq;
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.dead {
            return;
        }
        if c.sendq.is_empty() {
            self.dirty.push(id);
        }
        self.queued_since_flush += 1;
        push(&mut c.sendq);
        if c.sendq.len() > limit {
            self.sendq_exceeded(id);
        }
    }

    // ----- IRCv3 tags: events, time, labels ------------------------------

    /// The `time` tag for now (`now_ms`).
    /// Shared: every line stamped in the same millisecond clones one `Rc`.
    pub fn time_text(&mut self) -> Rc<str> {
        if self.time_text.0 != self.now_ms {
            let text = crate::time::rfc3339_millis(self.now_ms);
            self.time_text = (self.now_ms, Rc::from(text));
        }
        Rc::clone(&self.time_text.1)
    }

    /// A fresh id for a message (`msgid`) or a batch: unique across
    /// restarts (the start time leads), short, and safe in a tag value.
    pub fn next_id(&mut self) -> String {
        self.msg_seq += 1;
        // Two 13-digit numbers: one allocation of the final size.
        let mut out = String::with_capacity(26);
        labels::base32(self.started_ms, &mut out);
        labels::base32(self.msg_seq, &mut out);
        out
    }

    /// A message to relay, stamped with the time and (for the events
    /// that have one) a `msgid`.
    pub fn event<'a>(
        &mut self,
        source: Option<&'a str>,
        command: &'a str,
        middle: &'a [&'a str],
        trailing: Option<&'a str>,
    ) -> event::Event<'a> {
        let mut ev = event::Event::new(source, command, middle, trailing);
        ev.time = Some(self.time_text());
        if labels::has_msgid(command) {
            ev.msgid = Some(self.next_id());
        }
        ev
    }

    /// Sends an event to one client, in the form its capabilities ask for.
    ///
    /// The fan-out hot path: one slab lookup per recipient, unless a
    /// labeled response or a server batch is being collected.
    pub fn send_event(&mut self, id: ClientId, ev: &mut event::Event) {
        let limit = self.config.limits.sendq;
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.dead || !ev.reaches(c.caps) {
            return;
        }
        let line = ev.line_for(c.caps);
        if self.capture.is_some() || self.out_batch.is_some() {
            return self.send_shared(id, &line);
        }
        if c.sendq.is_empty() {
            self.dirty.push(id);
        }
        self.queued_since_flush += 1;
        c.sendq.push_shared(&line);
        if c.sendq.len() > limit {
            self.sendq_exceeded(id);
        }
    }

    /// Sends an event to every member of a channel except `except`.
    pub fn send_event_to_channel(
        &mut self,
        chan: ChanId,
        ev: &mut event::Event,
        except: Option<ClientId>,
    ) {
        let Some(ch) = self.channels.get(chan) else {
            return;
        };
        // The member list is copied out only as ids; sending may quit a
        // client (sendq), which must not alter the list while it is walked.
        let ids: Vec<ClientId> = ch
            .members
            .iter()
            .map(|m| m.id)
            .filter(|&m| Some(m) != except)
            .collect();
        for id in ids {
            self.send_event(id, ev);
        }
    }

    /// Sends an event once to every client sharing a channel with `id`
    /// (and to `id` itself when `include_self`).
    pub fn send_event_to_common(
        &mut self,
        id: ClientId,
        ev: &mut event::Event,
        include_self: bool,
    ) {
        for peer in self.common_peers(id, include_self) {
            self.send_event(peer, ev);
        }
    }

    /// Opens a server batch of `kind` (with `params`) for client `id`,
    /// when it negotiated `batch`: every line it gets until `end_batch`
    /// carries the batch's reference. Returns whether it opened one.
    /// One batch at a time; an open one is closed first.
    pub fn begin_batch(&mut self, id: ClientId, kind: &str, params: &[&str]) -> bool {
        self.end_batch();
        if !self.clients.get(id).is_some_and(|c| c.has_cap(caps::BATCH)) {
            return false;
        }
        let reference = self.next_id();
        let open = format!("+{reference}");
        let mut middle = vec![open.as_str(), kind];
        middle.extend_from_slice(params);
        self.send_from_server(id, "BATCH", &middle, None);
        self.out_batch = Some((id, reference));
        true
    }

    /// Closes the open server batch, if any.
    pub fn end_batch(&mut self) {
        if let Some((id, reference)) = self.out_batch.take() {
            let close = format!("-{reference}");
            self.send_from_server(id, "BATCH", &[&close], None);
        }
    }

    /// Starts holding client `id`'s output for a labeled response.
    pub fn begin_label(&mut self, id: ClientId, label: &str) {
        self.capture = Some(labels::Capture::new(id, label));
    }

    /// Ends a labeled command: sends what it produced with the label (an
    /// `ACK` when nothing, the one line labeled, or a `labeled-response`
    /// batch).
    pub fn end_label(&mut self) {
        let Some(cap) = self.capture.take() else {
            return;
        };
        let id = cap.client;
        let Some(c) = self.clients.get(id) else {
            return;
        };
        let batch_ok = c.has_cap(caps::BATCH);
        let time = c.has_cap(caps::SERVER_TIME).then(|| self.time_text());
        let reference = self.next_id();
        let server = Rc::clone(&self.config);
        let out = cap.finish(&server.server.name, time.as_deref(), batch_ok, &reference);
        self.enqueue(id, |q| q.push_bytes(&out));
    }

    fn sendq_exceeded(&mut self, id: ClientId) {
        // What is queued will never be read in time: drop it so the ERROR
        // goes out first, then quit the client for everyone else.
        if let Some(c) = self.clients.get_mut(id) {
            c.sendq.clear();
        }
        self.quit(id, "SendQ exceeded");
    }

    /// Sends `[:source ]command middle… [:trailing]` to one client.
    pub fn send_line(
        &mut self,
        id: ClientId,
        source: Option<&str>,
        command: &str,
        middle: &[&str],
        trailing: Option<&str>,
    ) {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        write::line(&mut buf, source, command, middle, trailing);
        self.send_bytes(id, &buf);
        self.scratch = buf;
    }

    /// Sends a message from the server to one client.
    pub fn send_from_server(
        &mut self,
        id: ClientId,
        command: &str,
        middle: &[&str],
        trailing: Option<&str>,
    ) {
        let name = Rc::clone(&self.config);
        self.send_line(id, Some(&name.server.name), command, middle, trailing);
    }

    /// Sends a numeric to one client: `:server NNN nick middle… :text`.
    pub fn numeric(&mut self, id: ClientId, num: u16, middle: &[&str], trailing: &str) {
        self.numeric_opt(id, num, middle, Some(trailing));
    }

    /// A numeric whose last parameter is not a trailing text.
    pub fn numeric_opt(&mut self, id: ClientId, num: u16, middle: &[&str], trailing: Option<&str>) {
        let Some(c) = self.clients.get(id) else {
            return;
        };
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        write::numeric(
            &mut buf,
            &self.config.server.name,
            num,
            c.nick(),
            middle,
            trailing,
        );
        self.send_bytes(id, &buf);
        self.scratch = buf;
    }

    /// Sends a server NOTICE to one client.
    pub fn notice(&mut self, id: ClientId, text: &str) {
        let nick = self
            .clients
            .get(id)
            .map(|c| c.nick().to_owned())
            .unwrap_or_default();
        self.send_from_server(id, "NOTICE", &[&nick], Some(text));
    }

    /// Writes an error reply (the one place errors become numerics).
    pub fn reply_error(&mut self, id: ClientId, err: &CmdError) {
        match error::describe(err) {
            Described::Numeric { num, params, text } => {
                let p: Vec<&str> = params.iter().map(String::as_str).collect();
                self.numeric(id, num, &p, &text);
            }
            Described::Fail {
                command,
                code,
                context,
                text,
            } => {
                let mut p: Vec<&str> = vec![command, code];
                p.extend(context.iter().map(String::as_str));
                self.send_from_server(id, "FAIL", &p, Some(&text));
            }
        }
    }

    /// Every client that shares a channel with `id`, each once.
    pub fn common_peers(&mut self, id: ClientId, include_self: bool) -> Vec<ClientId> {
        self.visit_stamp += 1;
        let stamp = self.visit_stamp;
        let mut out = Vec::new();
        if let Some(c) = self.clients.get_mut(id) {
            c.visit = stamp;
            if include_self {
                out.push(id);
            }
        }
        let chans = self
            .clients
            .get(id)
            .map(|c| c.channels.clone())
            .unwrap_or_default();
        for chan in chans {
            let Some(ch) = self.channels.get(chan) else {
                continue;
            };
            for m in &ch.members {
                if let Some(peer) = self.clients.get_mut(m.id) {
                    if peer.visit != stamp {
                        peer.visit = stamp;
                        out.push(m.id);
                    }
                }
            }
        }
        out
    }

    // ----- lookups ------------------------------------------------------

    /// The client using `nick`, if any.
    pub fn find_nick(&self, nick: &str) -> Option<ClientId> {
        casemap::with_folded(nick, |f| self.nicks.get(f).copied())
    }

    /// The channel named `name`, if any.
    pub fn find_channel(&self, name: &str) -> Option<ChanId> {
        casemap::with_folded(name, |f| self.channel_names.get(f).copied())
    }

    // ----- leaving ------------------------------------------------------

    /// Quits a client with `reason` as peers see it (the QUIT handler adds
    /// "Quit: "): QUIT to its peers, out of every channel and index,
    /// a WHOWAS entry, MONITOR offline notices, then `ERROR` and close.
    pub fn quit(&mut self, id: ClientId, reason: &str) {
        self.quit_as(id, reason, true);
    }

    /// `quit`, with the opers' `q` server notice (`announce`) or without
    /// (a KILL has its own notice; a shutdown tells no one).
    pub fn quit_as(&mut self, id: ClientId, reason: &str, announce: bool) {
        let Some(c) = self.clients.get(id) else {
            return;
        };
        if c.dead {
            return;
        }
        if self.capture.as_ref().is_some_and(|cap| cap.client == id) {
            // What the command answered goes out before the ERROR.
            self.end_label();
        }
        let c = &self.clients[id];
        if c.registered {
            let mask = c.mask();
            let mut ev = self.user_event(id, &mask, "QUIT", &[], Some(reason));
            self.send_event_to_common(id, &mut ev, false);
        }
        self.part_all(id);
        self.forget_nick(id);
        handlers::monitor::forget_client(self, id);
        let c = &mut self.clients[id];
        c.dead = true;
        let counted = std::mem::take(&mut c.counted);
        self.counts.apply(counted, 0);
        let c = &mut self.clients[id];
        // `dead` blocks sends, so the ERROR goes straight into the queue.
        if c.sendq.is_empty() {
            self.dirty.push(id);
        }
        let mut buf = Vec::with_capacity(64);
        write::line(&mut buf, None, "ERROR", &[], Some(reason));
        c.sendq.push_bytes(&buf);
        let was_registered = c.registered;
        if c.registered {
            self.registered_count -= 1;
        }
        self.closing.push(id);
        if was_registered && announce && self.snotices_wanted() {
            let nick = self.clients[id].nick().to_owned();
            self.snotice(snomask::QUITS, &format!("{nick} exited the network"));
        }
    }

    /// Removes a client from all its channels (no messages sent).
    fn part_all(&mut self, id: ClientId) {
        let chans = std::mem::take(&mut self.clients[id].channels);
        for chan in chans {
            self.remove_member(chan, id);
        }
    }

    /// Removes one member; an empty channel is destroyed.
    pub fn remove_member(&mut self, chan: ChanId, id: ClientId) {
        if let Some(c) = self.clients.get_mut(id) {
            c.remove_channel(chan);
        }
        let Some(ch) = self.channels.get_mut(chan) else {
            return;
        };
        ch.remove(id);
        if ch.members.is_empty() {
            let folded = casemap::fold(&ch.name);
            self.channel_names.remove(&folded);
            self.channels.remove(chan);
            // An invite is to this channel, not to a later one of the same name.
            for (_, c) in self.clients.iter_mut() {
                if let Some(e) = c.extra.as_deref_mut() {
                    e.invites.retain(|i| *i != folded);
                }
            }
        }
    }

    /// Removes `chan` if it has no members (a registered channel brought
    /// back for a JOIN that was then refused).
    pub fn drop_if_empty(&mut self, chan: ChanId) {
        if self
            .channels
            .get(chan)
            .is_some_and(|ch| ch.members.is_empty())
        {
            let folded = casemap::fold(&self.channels[chan].name);
            self.channel_names.remove(&folded);
            self.channels.remove(chan);
        }
    }

    /// Renames channel `chan` to `name` (RENAME): the name index is
    /// rekeyed and pending invites to the old name follow. The caller has
    /// checked that `name` is valid and not another channel's.
    pub fn rename_channel(&mut self, chan: ChanId, name: &str) {
        let Some(ch) = self.channels.get_mut(chan) else {
            return;
        };
        let (old, new) = (casemap::fold(&ch.name), casemap::fold(name));
        ch.name = name.to_string();
        if old == new {
            return;
        }
        self.channel_names.remove(&old);
        self.channel_names.insert(new.clone(), chan);
        for (_, c) in self.clients.iter_mut() {
            if let Some(e) = c.extra.as_deref_mut() {
                if let Some(i) = e.invites.iter().position(|f| *f == old) {
                    e.invites.remove(i);
                    if !e.invites.contains(&new) {
                        e.invites.push(new.clone());
                    }
                }
            }
        }
    }

    /// Drops the client's nick from the index and records WHOWAS.
    fn forget_nick(&mut self, id: ClientId) {
        let c = &self.clients[id];
        if c.nick() == "*" {
            return;
        }
        let folded = casemap::fold(c.nick());
        if self.nicks.get(folded.as_str()) == Some(&id) {
            self.nicks.remove(folded.as_str());
        }
        if c.registered {
            let nick = c.nick().to_owned();
            self.record_whowas(id);
            handlers::monitor::notify(self, &nick, None);
        }
    }

    /// Adds a WHOWAS entry for the client's current identity.
    pub fn record_whowas(&mut self, id: ClientId) {
        let c = &self.clients[id];
        let entry = WhowasEntry {
            nick: c.nick().to_owned(),
            user: c.user().to_owned(),
            host: c.host().to_owned(),
            realname: c.realname().to_owned(),
            when: self.now_ms / 1000,
        };
        if self.whowas.len() >= crate::limits::WHOWAS_MAX {
            self.whowas.pop_back();
        }
        self.whowas.push_front(entry);
    }

    /// Marks a client registered (counts, stats).
    pub fn mark_registered(&mut self, id: ClientId) {
        self.clients[id].registered = true;
        self.registered_count += 1;
        self.recount(id);
        self.stats.max_local = self.stats.max_local.max(self.registered_count);
    }

    /// Says goodbye to everyone (SIGTERM/SIGINT).
    pub fn shutdown(&mut self) {
        let ids: Vec<ClientId> = self.clients.iter().map(|(id, _)| id).collect();
        for id in ids {
            self.quit_as(id, "Server shutting down", false);
        }
    }

    /// Sends a server notice, `*** <text>`, to every oper whose server
    /// notice masks (user mode +s) include `mask` (`snomask::CONNECTS`...).
    pub fn snotice(&mut self, mask: char, text: &str) {
        let Some(bit) = snomask::bit(mask) else {
            return;
        };
        let mut to = Vec::new();
        let clients = &self.clients;
        // Kept in place before sending: a send can quit a watcher (sendq),
        // whose quit notice walks this list again.
        self.sno_watchers.retain(|&(id, serial)| {
            let Some(c) = clients.get(id).filter(|c| c.serial == serial && !c.dead) else {
                return false;
            };
            let masks = c.snomasks();
            if masks & bit != 0 {
                to.push(id);
            }
            masks != 0
        });
        if to.is_empty() {
            return;
        }
        let line = format!("*** {text}");
        for id in to {
            self.notice(id, &line);
        }
    }

    /// Might an oper want a server notice? (Callers skip formatting one
    /// when no oper has any mask: the common case, on hot paths.)
    pub fn snotices_wanted(&self) -> bool {
        !self.sno_watchers.is_empty()
    }

    /// Client `id` (an oper) now has server notice masks: `snotice`
    /// considers it from now on.
    pub fn watch_snomasks(&mut self, id: ClientId) {
        let Some(serial) = self.clients.get(id).map(|c| c.serial) else {
            return;
        };
        if !self.sno_watchers.contains(&(id, serial)) {
            self.sno_watchers.push((id, serial));
        }
    }
}

#[cfg(test)]
pub mod testutil;

impl State {
    /// Sends a bcrypt check to the worker (never run on the loop); the
    /// answer comes back through `job_done`. One check per client at a time.
    pub fn verify_password(
        &mut self,
        id: ClientId,
        hash: String,
        password: String,
        purpose: Purpose,
    ) {
        let c = &mut self.clients[id];
        c.reg.check_pending = true;
        let serial = c.serial;
        self.jobs.push(Job::Verify {
            client: id,
            serial,
            hash,
            password,
            purpose,
        });
    }

    /// The worker thread's answer to a job; dropped when the client has
    /// gone (or its slot holds another client) since.
    pub fn job_done(&mut self, done: JobDone, now: Instant) {
        let id = done.client;
        let alive = self
            .clients
            .get(id)
            .is_some_and(|c| c.serial == done.serial && !c.dead);
        if !alive {
            return;
        }
        self.clients[id].reg.check_pending = false;
        match done.result {
            JobResult::Checked { purpose, ok } => match purpose {
                Purpose::ServerPass => handlers::registration::server_pass_checked(self, id, ok),
                Purpose::Oper(name) => handlers::oper::oper_checked(self, id, &name, ok),
                Purpose::Identify(account) => self.identify_checked(id, &account, ok, now),
                Purpose::SaslPlain(account) => {
                    handlers::sasl::plain_checked(self, id, &account, ok, now)
                }
            },
            JobResult::Hashed { then, creds } => self.hashed(id, then, creds),
        }
        self.recount(id);
        // A SASL login before CAP END may have been what registration
        // waited for.
        if self
            .clients
            .get(id)
            .is_some_and(|c| !c.registered && !c.dead)
        {
            handlers::registration::try_register(self, id);
        }
    }
}
