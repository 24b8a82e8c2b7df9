//! Micro-benchmark of the fan-out path (issue #4): one channel PRIVMSG
//! handled by an in-memory `picoircd::state::State` with N members, then
//! every member's send queue drained as the event loop's write would
//! (without the socket). `cargo bench -p picoircd-bench --bench fanout`.
//!
//! Uses only the server library's public API: `Config::load_str`,
//! `State::new`, `add_client`, `handle_line`, and each client's public
//! `sendq`. No sockets.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use picoircd::config::Config;
use picoircd::state::{ClientId, State};

const CONFIG: &str = r#"
[server]
name = "pico.test"
network = "PicoNet"

[[listen]]
address = "127.0.0.1:0"

[cloaks]
secret = "bench-secret"

[limits]
max-clients = 20000
per-ip = 0
throttle-per-minute = 0
fakelag = false
sendq = 67108864
"#;

/// A state with `n` registered clients, all in `#fan`; output drained.
fn channel_of(n: usize) -> (State, Vec<ClientId>, Instant) {
    let dir = std::env::temp_dir().join("picoircd-bench-fanout.conf");
    let config = Config::load_str(CONFIG, Path::new(&dir)).expect("bench config");
    let now = Instant::now();
    let mut s = State::new(config, now, 1_700_000_000_000);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let ip = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            (1 + i / 250) as u8,
            (1 + i % 250) as u8,
        ));
        let id = s.add_client(ip, 6667, false, now);
        s.handle_line(id, format!("NICK m{i}").as_bytes(), now);
        s.handle_line(id, format!("USER m{i} 0 * :member {i}").as_bytes(), now);
        s.handle_line(id, b"JOIN #fan", now);
        ids.push(id);
        drain(&mut s, &ids);
    }
    (s, ids, now)
}

/// Empties every member's send queue, as a complete write would.
fn drain(s: &mut State, ids: &[ClientId]) {
    for &id in ids {
        if let Some(c) = s.clients.get_mut(id) {
            let n = c.sendq.len();
            c.sendq.consume(n);
        }
    }
    s.dirty.clear();
}

fn privmsg(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout_privmsg");
    g.sample_size(30);
    for n in [10usize, 100, 1000, 5000] {
        let (mut s, ids, now) = channel_of(n);
        let sender = ids[0];
        let line = b"PRIVMSG #fan :hello there, how is everyone doing today? 0123456789";
        // Throughput in delivered lines: one per member but the sender.
        g.throughput(Throughput::Elements((n - 1) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                s.handle_line(sender, black_box(line), now);
                drain(&mut s, &ids);
            })
        });
        assert!(
            ids.iter().all(|&id| s.clients.contains(id)),
            "nobody dropped"
        );
    }
    g.finish();
}

fn join_part(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout_join_part");
    g.sample_size(20);
    for n in [100usize, 1000, 5000] {
        let (mut s, mut ids, now) = channel_of(n);
        let extra = s.add_client(IpAddr::V4(Ipv4Addr::new(127, 1, 1, 1)), 6667, false, now);
        s.handle_line(extra, b"NICK joiner", now);
        s.handle_line(extra, b"USER joiner 0 * :joiner", now);
        ids.push(extra);
        drain(&mut s, &ids);
        // Per JOIN+PART pair: two lines to each of n members, NAMES to the joiner.
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                s.handle_line(extra, b"JOIN #fan", now);
                s.handle_line(extra, b"PART #fan", now);
                drain(&mut s, &ids);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, privmsg, join_part);
criterion_main!(benches);
