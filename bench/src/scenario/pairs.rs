//! `pairs`: K pairs of clients (2i and 2i+1) send each other private
//! messages, each client keeping W in flight (sent, not yet read by its
//! partner). Measures messages/s, latency, server CPU per million
//! messages.
//!
//! Built from `steps`; message text from `payload`.

use std::io;
use std::time::{Duration, Instant};

use crate::args::Pairs;
use crate::irc::Event;
use crate::latency::Histogram;
use crate::pool::Pool;
use crate::procfs::Snapshot;
use crate::report::{ratio, round, Report};

use super::{payload, steps};

/// How long in-flight messages may take to arrive once sending stops.
const DRAIN: Duration = Duration::from_secs(30);

pub fn run(a: &Pairs) -> io::Result<Report> {
    let t = a.target();
    let limit = Duration::from_secs(a.timeout);
    let pairs = a.pairs.max(1);
    let window = a.window.max(1);
    let mut r = Report::new("pairs", &t);
    r.param("pairs", pairs);
    r.param("window", window);
    r.param("seconds", a.seconds);
    r.param("payload", a.payload);
    let mut pool = Pool::new(t.addr)?;
    let origin = Instant::now();
    let n = pairs * 2;
    let ids = steps::register(&mut pool, n, |i| format!("p{i}"), a.concurrency, limit)?;
    let nicks: Vec<String> = ids
        .iter()
        .map(|&id| pool.get(id).map(|c| c.irc.nick.clone()).unwrap_or_default())
        .collect();

    let mut in_flight = vec![0usize; n];
    let mut seq = vec![0u64; n];
    let mut sent = 0u64;
    let mut delivered = 0u64;
    let mut strays = 0u64;
    let mut latency = Histogram::default();
    let drops = pool.counters.closed_by_server;
    let s0 = Snapshot::take(t.pid)?;
    let send_until = Instant::now() + Duration::from_secs_f64(a.seconds);
    let mut drained = true;
    loop {
        let now = Instant::now();
        if now < send_until {
            for i in 0..n {
                let partner = &nicks[i ^ 1];
                while in_flight[i] < window {
                    let s = seq[i];
                    let len = a.payload;
                    pool.send_with(ids[i], |_, out| {
                        payload::write(out, partner, i, s, origin, len)
                    });
                    seq[i] += 1;
                    in_flight[i] += 1;
                    sent += 1;
                }
            }
        } else if in_flight.iter().all(|&f| f == 0) {
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
                        match payload::read(l.last(), origin) {
                            Some((from, _, lat)) if from < n && in_flight[from] > 0 => {
                                in_flight[from] -= 1;
                                delivered += 1;
                                latency.record(lat);
                            }
                            _ => strays += 1,
                        }
                    }
                }
            },
        )?;
        steps::check_no_drops(&pool, drops, "pairs")?;
    }
    let s1 = Snapshot::take(t.pid)?;
    let u = s1.since(&s0);
    r.metric("messages_sent", sent);
    r.metric("messages_delivered", delivered);
    r.metric("messages_lost", sent.saturating_sub(delivered));
    r.metric("stray_lines", strays);
    r.metric(
        "messages_per_s",
        round(ratio(delivered as f64, u.wall_s), 0),
    );
    r.latency("latency", &latency);
    r.usage("messages", &u);
    r.metric(
        "server_cpu_s_per_million_messages",
        round(ratio(u.server_cpu_s * 1e6, delivered as f64), 4),
    );
    r.metric(
        "generator_cpu_s_per_million_messages",
        round(ratio(u.generator_cpu_s * 1e6, delivered as f64), 4),
    );
    r.memory(t.pid);
    r.counters(&pool.counters);
    if !drained {
        r.note(format!(
            "{} messages still in flight {DRAIN:?} after sending stopped",
            in_flight.iter().sum::<usize>()
        ));
    }
    r.note("both clients of a pair send; rates and CPU include the drain after sending stops");
    Ok(r)
}
