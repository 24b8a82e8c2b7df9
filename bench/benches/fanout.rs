//! Micro-benchmark of the fan-out path (issue #4): one channel PRIVMSG
//! handled by an in-memory `picoircd::state::State` with N members, then
//! every member's send queue drained as the event loop's write would
//! (without the socket). `cargo bench -p picoircd-bench --bench fanout`.
//! `fanout_privmsg_mixed_caps` is the same channel with the members of
//! `picoircd-bench fanout --caps mixed` (issue #5): receivers a quarter
//! each with no tags, message-tags, server-time or both, the sender with
//! echo-message too, so every message is written in four forms.
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

/// The capabilities of member `i` in the mixed channel (member 0 sends).
fn mixed_caps(i: usize) -> &'static str {
    match i {
        0 => "message-tags server-time echo-message",
        _ => [
            "",
            "message-tags",
            "server-time",
            "message-tags server-time",
        ][(i - 1) % 4],
    }
}

/// A state with `n` registered clients, all in `#fan`; output drained.
fn channel_of(n: usize) -> (State, Vec<ClientId>, Instant) {
    channel_with_caps(n, |_| "")
}

/// `channel_of`, member `i` requesting `caps(i)` before it registers.
fn channel_with_caps(n: usize, caps: fn(usize) -> &'static str) -> (State, Vec<ClientId>, Instant) {
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
        let want = caps(i);
        if !want.is_empty() {
            s.handle_line(id, format!("CAP REQ :{want}").as_bytes(), now);
        }
        s.handle_line(id, format!("NICK m{i}").as_bytes(), now);
        s.handle_line(id, format!("USER m{i} 0 * :member {i}").as_bytes(), now);
        if !want.is_empty() {
            s.handle_line(id, b"CAP END", now);
        }
        s.handle_line(id, b"JOIN #fan", now);
        ids.push(id);
        drain(&mut s, &ids);
    }
    (s, ids, now)
}

/// What client `id` has queued, as text.
fn queued(s: &State, id: ClientId) -> String {
    let mut slices = Vec::new();
    s.clients[id].sendq.slices(&mut slices, usize::MAX);
    slices.iter().map(|b| String::from_utf8_lossy(b)).collect()
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
    privmsg_group(c, "fanout_privmsg", &[10, 100, 1000, 5000], |_| "", 0);
}

fn privmsg_mixed_caps(c: &mut Criterion) {
    privmsg_group(c, "fanout_privmsg_mixed_caps", &[100, 1000], mixed_caps, 1);
}

/// One PRIVMSG from member 0 to a channel of each size in `sizes`,
/// members requesting `caps`; `echo` is 1 when the sender gets its own
/// line back.
fn privmsg_group(
    c: &mut Criterion,
    name: &str,
    sizes: &[usize],
    caps: fn(usize) -> &'static str,
    echo: u64,
) {
    let mut g = c.benchmark_group(name);
    g.sample_size(30);
    for &n in sizes {
        let (mut s, ids, now) = channel_with_caps(n, caps);
        let sender = ids[0];
        let line = b"PRIVMSG #fan :hello there, how is everyone doing today? 0123456789";
        // Each member's tags are what it asked for; the sender's echo
        // shares the form of the members with both tags.
        let wants = |i: usize| {
            (
                caps(i).contains("message-tags"),
                caps(i).contains("server-time"),
            )
        };
        s.handle_line(sender, line, now);
        for (i, &id) in ids.iter().enumerate() {
            let got = queued(&s, id);
            if i == 0 && echo == 0 {
                assert!(got.is_empty(), "no echo without echo-message: {got}");
                continue;
            }
            let (tags, time) = wants(i);
            assert!(
                got.contains("PRIVMSG #fan :hello"),
                "member {i} got {got:?}"
            );
            assert_eq!(got.contains("msgid="), tags, "member {i} got {got:?}");
            assert_eq!(got.contains("time="), time, "member {i} got {got:?}");
        }
        drain(&mut s, &ids);
        // Throughput in delivered lines: one per member but the sender,
        // plus its echo.
        g.throughput(Throughput::Elements((n - 1) as u64 + echo));
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

criterion_group!(benches, privmsg, privmsg_mixed_caps, join_part);
criterion_main!(benches);
