//! `fanout`: M members join one channel, S of them (members 0..S) send
//! PRIVMSGs to it, each keeping W messages in flight (sent, not yet read
//! by every other member), every member reading. Measures delivered
//! lines/s, end-to-end latency (send time in the text), server CPU per
//! million delivered lines and peak RSS; and, to show JOIN/QUIT fan-out
//! stays linear in the channel size, the server CPU of the JOIN phase and
//! of the QUIT phase per line they delivered.
//!
//! Built from `steps`; message text from `payload`.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use crate::args::Fanout;
use crate::irc::Event;
use crate::latency::Histogram;
use crate::pool::Pool;
use crate::procfs::Snapshot;
use crate::report::{ratio, round, Report};

use super::{payload, steps};

const CHANNEL: &str = "#fan";
/// How long in-flight messages may take to arrive once sending stops.
const DRAIN: Duration = Duration::from_secs(30);

/// One sender's window.
struct Sender {
    id: usize,
    seq: u64,
    in_flight: usize,
    /// Receipts still missing for messages `base`, `base + 1`, …
    missing: VecDeque<u32>,
    base: u64,
}

/// Receipt bookkeeping for every sender.
struct Ledger {
    senders: Vec<Sender>,
    per_message: u32,
    sent: u64,
    delivered: u64,
    strays: u64,
    latency: Histogram,
}

impl Ledger {
    /// One member read message `seq` of sender `from`.
    fn receipt(&mut self, from: usize, seq: u64, latency_us: u64) {
        self.latency.record(latency_us);
        self.delivered += 1;
        let Some(s) = self.senders.get_mut(from) else {
            self.strays += 1;
            return;
        };
        let Some(slot) = seq
            .checked_sub(s.base)
            .and_then(|i| s.missing.get_mut(i as usize))
            .filter(|m| **m > 0)
        else {
            self.strays += 1;
            return;
        };
        *slot -= 1;
        if *slot == 0 {
            s.in_flight -= 1;
            while s.missing.front() == Some(&0) {
                s.missing.pop_front();
                s.base += 1;
            }
        }
    }

    fn in_flight(&self) -> usize {
        self.senders.iter().map(|s| s.in_flight).sum()
    }
}

pub fn run(a: &Fanout) -> io::Result<Report> {
    let t = a.target();
    let limit = Duration::from_secs(a.timeout);
    let members = a.members.max(2);
    let senders = a.senders.clamp(1, members);
    let window = a.window.max(1);
    let mut r = Report::new("fanout", &t);
    r.param("members", members);
    r.param("senders", senders);
    r.param("window", window);
    r.param("seconds", a.seconds);
    r.param("payload", a.payload);
    let mut pool = Pool::new(t.addr)?;
    let origin = Instant::now();

    let ids = steps::register(
        &mut pool,
        members,
        |i| format!("f{i}"),
        a.concurrency,
        limit,
    )?;
    let s_join = Snapshot::take(t.pid)?;
    let join_lines = steps::join(
        &mut pool,
        &ids,
        |_| CHANNEL.to_string(),
        a.concurrency,
        limit,
    )?;
    let s_msg = Snapshot::take(t.pid)?;

    let mut ledger = Ledger {
        senders: ids[..senders]
            .iter()
            .map(|&id| Sender {
                id,
                seq: 0,
                in_flight: 0,
                missing: VecDeque::new(),
                base: 0,
            })
            .collect(),
        per_message: (members - 1) as u32,
        sent: 0,
        delivered: 0,
        strays: 0,
        latency: Histogram::default(),
    };
    let drops = pool.counters.closed_by_server;
    let send_until = Instant::now() + Duration::from_secs_f64(a.seconds);
    let mut drained = true;
    loop {
        let now = Instant::now();
        if now < send_until {
            for (i, s) in ledger.senders.iter_mut().enumerate() {
                while s.in_flight < window {
                    let seq = s.seq;
                    let len = a.payload;
                    pool.send_with(s.id, |_, out| {
                        payload::write(out, CHANNEL, i, seq, origin, len)
                    });
                    s.seq += 1;
                    s.in_flight += 1;
                    s.missing.push_back(ledger.per_message);
                    ledger.sent += 1;
                }
            }
        } else if ledger.in_flight() == 0 {
            break;
        } else if now > send_until + DRAIN {
            drained = false;
            break;
        }
        pool.turn(
            Duration::from_millis(5),
            &mut |p: &mut Pool, id, line: &[u8]| {
                if let Event::Other(l) = p.on_line(id, line) {
                    if l.command == "PRIVMSG" {
                        if let Some((from, seq, lat)) = payload::read(l.last(), origin) {
                            ledger.receipt(from, seq, lat);
                        }
                    }
                }
            },
        )?;
        steps::check_no_drops(&pool, drops, "fanout messages")?;
    }
    let s_quit = Snapshot::take(t.pid)?;
    r.memory(t.pid);
    r.counters(&pool.counters);
    let mut quit_lines = 0u64;
    steps::quit_all(&mut pool, &ids, limit, &mut |cmd| {
        if cmd == "QUIT" {
            quit_lines += 1;
        }
    })?;
    let s_end = Snapshot::take(t.pid)?;

    let joins = s_msg.since(&s_join);
    let msgs = s_quit.since(&s_msg);
    let quits = s_end.since(&s_quit);
    let expected = ledger.sent * ledger.per_message as u64;
    let delivered = ledger.delivered as f64;
    r.metric("messages_sent", ledger.sent);
    r.metric("lines_expected", expected);
    r.metric("lines_delivered", ledger.delivered);
    r.metric("lines_lost", expected.saturating_sub(ledger.delivered));
    r.metric("stray_lines", ledger.strays);
    r.metric(
        "delivered_lines_per_s",
        round(ratio(delivered, msgs.wall_s), 0),
    );
    r.latency("latency", &ledger.latency);
    r.usage("messages", &msgs);
    r.metric(
        "server_cpu_s_per_million_lines",
        round(ratio(msgs.server_cpu_s * 1e6, delivered), 4),
    );
    r.metric(
        "generator_cpu_s_per_million_lines",
        round(ratio(msgs.generator_cpu_s * 1e6, delivered), 4),
    );
    r.usage("join", &joins);
    r.metric("join_lines_delivered", join_lines);
    r.metric(
        "join_server_cpu_us_per_line",
        round(ratio(joins.server_cpu_s * 1e6, join_lines as f64), 4),
    );
    r.metric(
        "join_server_cpu_ms_per_join",
        round(ratio(joins.server_cpu_s * 1e3, members as f64), 4),
    );
    r.usage("quit", &quits);
    r.metric("quit_lines_delivered", quit_lines);
    r.metric(
        "quit_server_cpu_us_per_line",
        round(ratio(quits.server_cpu_s * 1e6, quit_lines as f64), 4),
    );
    if !drained {
        r.note(format!(
            "{} messages still in flight {DRAIN:?} after sending stopped",
            ledger.in_flight()
        ));
    }
    r.note("senders are members 0..S; each message is expected by the M-1 other members; rates and CPU of the message phase include the drain after sending stops");
    r.note("join/quit: every member joins (QUITs) once; lines delivered grow as M^2/2, so a constant CPU per line means linear per-JOIN/QUIT cost");
    Ok(r)
}
