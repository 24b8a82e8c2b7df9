//! Micro-benchmarks of the protocol layer (issue #4): the line parser
//! (`proto::Message::parse`, with the framing check `proto::line::check`
//! in front as the server runs it) and the serializer (`proto::write`).
//! `cargo bench -p picoircd-bench --bench proto`.
//!
//! Calls the server's public library only; no sockets, no state.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use picoircd::proto::{line, write, Message};

/// Lines as clients and servers send them, from the shortest to a tagged one.
const LINES: &[(&str, &str)] = &[
    ("ping", "PING :1700000000"),
    ("privmsg", "PRIVMSG #pico :hello there, how is everyone doing today?"),
    (
        "sourced_privmsg",
        ":alice!~alice@gcjc79gmtbe42.irc PRIVMSG #pico :hello there, how is everyone doing today?",
    ),
    (
        "tagged",
        "@time=2024-01-01T00:00:00.000Z;msgid=abc123;+draft/reply=xyz :alice!~a@h PRIVMSG #pico :reply text",
    ),
    ("numeric", ":pico.test 353 alice = #pico :alice @bob +carol dave eve mallory trent"),
    ("join", "JOIN #pico,#rust,#pi key1,key2"),
];

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, text) in LINES {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| {
                let checked = line::check(black_box(text.as_bytes())).expect("valid line");
                let m = Message::parse(checked).expect("parses");
                black_box(m.params.len())
            })
        });
    }
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let mut g = c.benchmark_group("write");
    let mut out = Vec::with_capacity(1024);
    g.bench_function("line_privmsg", |b| {
        b.iter(|| {
            out.clear();
            write::line(
                &mut out,
                Some(black_box("alice!~alice@gcjc79gmtbe42.irc")),
                "PRIVMSG",
                &[black_box("#pico")],
                Some(black_box("hello there, how is everyone doing today?")),
            );
            black_box(out.len())
        })
    });
    g.bench_function("numeric_353", |b| {
        b.iter(|| {
            out.clear();
            write::numeric(
                &mut out,
                black_box("pico.test"),
                353,
                black_box("alice"),
                &["=", "#pico"],
                Some(black_box("alice @bob +carol dave eve mallory trent")),
            );
            black_box(out.len())
        })
    });
    let m = Message::parse(LINES[3].1).expect("parses");
    let tags: Vec<(&str, &str)> = m.tags().collect();
    g.bench_function("message_tagged_round_trip", |b| {
        b.iter(|| {
            out.clear();
            write::message(&mut out, &tags, m.source, m.command, &m.params);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
