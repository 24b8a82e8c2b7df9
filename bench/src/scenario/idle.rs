//! `idle`: N clients register, then join C channels (client i joins
//! `#idle<i mod C>`), then sit idle. Measures the server's RSS before and
//! after (bytes per client), and its CPU per 1,000 registrations and per
//! 1,000 JOINs, each phase with the generator's own CPU beside it.
//!
//! Built from `steps`; reads `/proc` through `procfs`.

use std::io;
use std::time::Duration;

use crate::args::Idle;
use crate::pool::Pool;
use crate::procfs::{self, Snapshot};
use crate::report::{ratio, round, Report};

use super::steps;

pub fn run(a: &Idle) -> io::Result<Report> {
    let t = a.target();
    let limit = Duration::from_secs(a.timeout);
    let mut r = Report::new("idle", &t);
    r.param("clients", a.clients);
    r.param("channels", a.channels);
    r.param("concurrency", a.concurrency);
    let channels = a.channels.max(1);
    let mut pool = Pool::new(t.addr)?;

    let rss_before = procfs::status_kib(t.pid, "VmRSS")?;
    let s0 = Snapshot::take(t.pid)?;
    let ids = steps::register(
        &mut pool,
        a.clients,
        |i| format!("i{i}"),
        a.concurrency,
        limit,
    )?;
    let s1 = Snapshot::take(t.pid)?;
    let drops = pool.counters.closed_by_server;
    let join_lines = steps::join(
        &mut pool,
        &ids,
        |i| format!("#idle{}", i % channels),
        a.concurrency,
        limit,
    )?;
    let s2 = Snapshot::take(t.pid)?;
    steps::idle_for(&mut pool, Duration::from_millis(a.settle_ms))?;
    let rss_after = procfs::status_kib(t.pid, "VmRSS")?;
    steps::check_no_drops(&pool, drops, "idle")?;

    let n = a.clients as f64;
    let reg = s1.since(&s0);
    let joins = s2.since(&s1);
    r.metric("rss_before_kib", rss_before);
    r.metric("rss_after_kib", rss_after);
    r.metric(
        "rss_bytes_per_client",
        round(
            ratio(rss_after.saturating_sub(rss_before) as f64 * 1024.0, n),
            1,
        ),
    );
    r.usage("register", &reg);
    r.usage("join", &joins);
    r.metric(
        "server_cpu_s_per_1000_registrations",
        round(ratio(reg.server_cpu_s * 1000.0, n), 4),
    );
    r.metric(
        "server_cpu_s_per_1000_joins",
        round(ratio(joins.server_cpu_s * 1000.0, n), 4),
    );
    r.metric("registrations_per_s", round(ratio(n, reg.wall_s), 1));
    r.metric("joins_per_s", round(ratio(n, joins.wall_s), 1));
    r.metric("join_lines_delivered", join_lines);
    r.memory(t.pid);
    r.counters(&pool.counters);
    r.note("registration ends at the PONG of a PING sent after 001 (whole welcome burst read); JOIN ends at 366 plus a PING round trip per client");
    Ok(r)
}
