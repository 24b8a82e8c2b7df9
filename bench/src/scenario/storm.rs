//! `storm`: N clients connect and register one after another, at most
//! `concurrency` in progress, each sending QUIT as soon as 001 arrives
//! and done when the server closes it. Measures registrations/s and the
//! server's CPU per registration (connect, welcome burst, QUIT, close).
//!
//! Drives the pool directly: clients come and go, slots are reused.

use std::io;
use std::time::{Duration, Instant};

use crate::args::Storm;
use crate::irc::Event;
use crate::pool::Pool;
use crate::procfs::Snapshot;
use crate::report::{ratio, round, Report};

use super::steps;

pub fn run(a: &Storm) -> io::Result<Report> {
    let t = a.target();
    let n = a.clients;
    let concurrency = a.concurrency.max(1);
    let mut r = Report::new("storm", &t);
    r.param("clients", n);
    r.param("concurrency", concurrency);
    let mut pool = Pool::new(t.addr)?;
    let deadline = Instant::now() + Duration::from_secs(a.timeout);

    let mut started = 0;
    let mut finished = 0;
    let mut registered = 0u64;
    let mut active: Vec<usize> = Vec::with_capacity(concurrency);
    let s0 = Snapshot::take(t.pid)?;
    while finished < n {
        let mut paced = 0;
        while started < n && active.len() < concurrency && paced < steps::CONNECTS_PER_TURN {
            active.push(pool.connect(format!("s{started}"), started)?);
            started += 1;
            paced += 1;
        }
        if Instant::now() >= deadline {
            return Err(steps::timeout("storm", finished, n));
        }
        let wait = if paced == steps::CONNECTS_PER_TURN {
            steps::PACE
        } else {
            Duration::from_millis(20)
        };
        pool.turn(wait, &mut |p: &mut Pool, id, line: &[u8]| {
            if let Event::Registered = p.on_line(id, line) {
                registered += 1;
                p.send(id, b"QUIT :storm\r\n");
            }
        })?;
        // A slot is empty once its connection was closed and reaped; it is
        // reused only by the connects at the top of the next pass.
        let before = active.len();
        active.retain(|&id| pool.get(id).is_some());
        finished += before - active.len();
    }
    let s1 = Snapshot::take(t.pid)?;
    let u = s1.since(&s0);
    r.metric("registrations", registered);
    r.metric("failed", (n as u64).saturating_sub(registered));
    r.metric(
        "registrations_per_s",
        round(ratio(registered as f64, u.wall_s), 1),
    );
    r.usage("storm", &u);
    r.metric(
        "server_cpu_ms_per_registration",
        round(ratio(u.server_cpu_s * 1e3, registered as f64), 5),
    );
    r.metric(
        "server_cpu_s_per_1000_registrations",
        round(ratio(u.server_cpu_s * 1e3, registered as f64), 4),
    );
    r.metric(
        "generator_cpu_ms_per_registration",
        round(ratio(u.generator_cpu_s * 1e3, registered as f64), 5),
    );
    r.memory(t.pid);
    r.counters(&pool.counters);
    r.note("each client: connect, NICK/USER, 001, QUIT, closed by the server");
    Ok(r)
}
