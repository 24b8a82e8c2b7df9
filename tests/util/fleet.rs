//! Many clients at once. Each connection is bound to a loopback source
//! address 127.0.x.y before it connects (Linux routes all of 127.0.0.0/8 to
//! `lo`), so a server with the shipped per-IP limits (16 at once, 32 new per
//! minute) takes them all. Registrations are pipelined a batch at a time.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::{Client, WAIT};

/// Connections opened and registered before their replies are awaited.
const BATCH: usize = 100;

/// The most lines read while waiting for one expected line.
const MAX_LINES: usize = 500;

/// The `k`th source address: 127.0.1.1, 127.0.1.2, ... 127.0.1.250,
/// 127.0.2.1, ... (127.0.0.x is left to ordinary clients).
pub fn source_ip(k: usize) -> Ipv4Addr {
    assert!(k < 250 * 254, "source address {k} out of range");
    Ipv4Addr::new(127, 0, 1 + (k / 250) as u8, 1 + (k % 250) as u8)
}

/// A raw connection from `src` to `server`.
pub fn connect_from(src: Ipv4Addr, server: SocketAddr) -> Client {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddrV4::new(src, 0).into())
        .expect("bind to a loopback address");
    sock.connect_timeout(&server.into(), WAIT).expect("connect");
    Client::over(sock.into())
}

/// Connects and registers `n` clients named `c0`, `c1`, ..., `per_ip` from
/// each source address, all within `within` (panics otherwise). Each batch
/// sends every NICK/USER first, then reads each client's burst up to 221.
pub fn register_many(server: SocketAddr, n: usize, per_ip: usize, within: Duration) -> Vec<Client> {
    let deadline = Instant::now() + within;
    let mut clients = Vec::with_capacity(n);
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        for k in start..end {
            let mut c = connect_from(source_ip(k / per_ip), server);
            c.nick = format!("c{k}");
            let nick = &c.nick;
            let lines = format!("NICK {nick}\r\nUSER {nick} 0 * :client {k}\r\n");
            c.send_raw(lines.as_bytes());
            clients.push(c);
        }
        for c in &mut clients[start..end] {
            await_line(c, " 221 ", deadline);
        }
    }
    clients
}

/// Reads until a line contains `needle`; panics at `deadline`, at the end
/// of the connection, or after `MAX_LINES` other lines. Returns the line.
pub fn await_line(c: &mut Client, needle: &str, deadline: Instant) -> String {
    let mut last = String::new();
    for _ in 0..MAX_LINES {
        let left = deadline.saturating_duration_since(Instant::now());
        match c.next_line_within(left) {
            Some(l) if l.contains(needle) => return l,
            Some(l) => last = l,
            None => panic!("{}: no line with {needle:?} (last: {last:?})", c.nick),
        }
    }
    panic!("{}: no line with {needle:?} in {MAX_LINES} lines", c.nick);
}

/// The number of registered users the server counts (LUSERS 251: users
/// plus invisible), asked by the registered client `probe`.
pub fn users(probe: &mut Client, deadline: Instant) -> usize {
    probe.send("LUSERS");
    let line = await_line(probe, " 251 ", deadline);
    // ":pico.test 251 nick :There are N users and M invisible on 1 server(s)"
    let words: Vec<&str> = line.split(' ').collect();
    let at = |w: &str| {
        let i = words.iter().position(|x| *x == w).expect("251 text");
        words[i - 1].parse::<usize>().expect("251 count")
    };
    at("users") + at("invisible")
}

/// Raises this process's soft open-file limit to at least `n` (with
/// util-linux `prlimit`), for tests holding many sockets.
pub fn raise_fd_limit(n: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let field = |i: usize| {
        line.split_whitespace()
            .nth(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::MAX) // "unlimited"
    };
    let (soft, hard) = (field(3), field(4));
    if soft >= n {
        return;
    }
    // Only the soft limit when the hard one allows it; both as root.
    let limit = if hard >= n {
        format!("{n}:")
    } else {
        format!("{n}:{n}")
    };
    let ok = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={limit}"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "cannot raise the open-file limit from {soft} (hard {hard}) to {n} \
         with prlimit: run the tests after `ulimit -n {n}`"
    );
}
