//! Micro-benchmarks of the message history (issue #8): a log of 1,000,000
//! messages over 100 channels, built once in a temporary folder, then
//! `CHATHISTORY LATEST #chan * 100` (`History::latest`), BEFORE a msgid
//! half-way back (the msgid search scans the target's keys), the rebuild
//! of the index at start (`History::open`, a scan of every segment, warm
//! page cache), and the loop's cost of appending (encode, index, hand to
//! the writer; the writer's syncs are not timed).
//! `cargo bench -p picoircd-bench --bench history`;
//! `PICOIRCD_HISTORY_N` sets the number of messages.
//!
//! Uses only the server library's public `picoircd::history` API.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use picoircd::history::{Entry, History, Kind, Ref, Settings};

const TARGETS: usize = 100;
const T0: u64 = 1_700_000_000_000;

fn count() -> usize {
    std::env::var("PICOIRCD_HISTORY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn settings(n: usize) -> Settings {
    Settings {
        max_per_target: n,
        max_unflushed: usize::MAX,
        max_age: None,
        max_bytes: None,
        ..Settings::default()
    }
}

fn msgid(i: usize) -> String {
    format!("{:013}{:013}", T0 / 1000, i)
}

fn entry(i: usize) -> Entry {
    let chan = format!("#chan{}", i % TARGETS);
    Entry {
        params: vec![chan.clone()],
        target: chan,
        msgid: msgid(i),
        time_ms: T0 + i as u64,
        source: format!("nick{}!user@host.example", i % 37),
        account: None,
        kind: Kind::Privmsg,
        text: Some(format!("message number {i}, about as long as a chat line")),
        tags: vec![],
    }
}

/// A folder removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build(n: usize) -> Dir {
    let dir =
        Dir(std::env::temp_dir().join(format!("picoircd-history-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let (mut h, _) = History::open(&dir.0, settings(n), None).expect("open");
    for i in 0..n {
        h.append(entry(i), true);
    }
    let closed = h.close(Duration::from_secs(600));
    assert_eq!(closed.unflushed, 0);
    dir
}

fn history(c: &mut Criterion) {
    let n = count();
    let dir = build(n);
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    g.bench_function("rebuild_1m", |b| {
        b.iter(|| {
            let (h, report) = History::open(&dir.0, settings(n), None).expect("open");
            assert_eq!(report.frames, n);
            black_box(h.stats().indexed)
        })
    });
    g.finish();

    let (h, _) = History::open(&dir.0, settings(n), None).expect("open");
    let stats = h.stats();
    eprintln!(
        "history: {n} messages, index {} B/msg, segments {} B/msg",
        stats.index_bytes / n,
        stats.disk_bytes / n as u64
    );
    let mut g = c.benchmark_group("history");
    let mut k = 0;
    g.bench_function("latest_100", |b| {
        b.iter(|| {
            k = (k + 1) % TARGETS;
            let got = h.latest(black_box(&format!("#chan{k}")), None, 100);
            assert_eq!(got.len(), 100);
            black_box(got)
        })
    });
    g.bench_function("before_msgid_halfway_100", |b| {
        b.iter(|| {
            k = (k + 1) % TARGETS;
            let r = Ref::Msgid(msgid(n / 2 - n / 2 % TARGETS + k));
            let got = h.before(black_box(&format!("#chan{k}")), &r, 100);
            assert_eq!(got.len(), 100);
            black_box(got)
        })
    });
    drop(h);

    // The loop's share of an append; the writer syncs outside the timing.
    let adir = Dir(dir.0.with_extension("append"));
    let (mut h, _) = History::open(&adir.0, settings(n), None).expect("open");
    let mut i = 0;
    g.bench_function("append", |b| {
        b.iter_custom(|iters| {
            let entries: Vec<Entry> = (0..iters as usize).map(|j| entry(i + j)).collect();
            i += iters as usize;
            let t = Instant::now();
            for e in entries {
                black_box(h.append(e, true));
            }
            let took = t.elapsed();
            h.flush_now(Duration::from_secs(60));
            took
        })
    });
    g.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
