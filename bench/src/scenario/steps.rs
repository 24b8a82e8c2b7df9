//! The steps scenarios are made of: register many clients with a bounded
//! number in progress, JOIN them with a bounded number in progress, sync
//! (a PING/PONG round trip per client, so every earlier line was handled
//! and its output read), and QUIT them all. Each step is bounded in time
//! and fails, naming what was left, when the server does not keep up or
//! drops clients.
//!
//! Uses `pool` and `irc`; knows no scenario.

use std::io;
use std::time::{Duration, Instant};

use crate::irc::Event;
use crate::pool::Pool;

/// How long one poll of a step waits at most.
const TICK: Duration = Duration::from_millis(20);
/// New connections started per turn at most: a burst of hundreds of SYNs
/// overflows the loopback's packet backlog (net.core.netdev_max_backlog)
/// and costs a 1 s SYN retransmit, which would measure the kernel.
pub const CONNECTS_PER_TURN: usize = 32;
/// The poll timeout while connections are still being paced out.
pub const PACE: Duration = Duration::from_millis(1);

/// An error for a step that ran out of time.
pub fn timeout(what: &str, done: usize, of: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}: {done} of {of} done when the time ran out"),
    )
}

/// Fails if the server closed any connection since `before` closes.
pub fn check_no_drops(pool: &Pool, before: u64, what: &str) -> io::Result<()> {
    let dropped = pool.counters.closed_by_server - before;
    if dropped > 0 {
        return Err(io::Error::other(format!(
            "{what}: the server closed {dropped} connections (limits not lifted? see scripts/bench-configs)"
        )));
    }
    Ok(())
}

/// How often one client may be reconnected during registration.
const RETRIES: u32 = 3;

/// Connects and registers `n` clients named by `nick`, at most
/// `concurrency` in progress; a client is done when the PONG of a PING
/// sent after its 001 arrives (so its whole welcome burst was read).
/// A connection lost before that (a listen queue that overflowed resets
/// it) is retried, at most `RETRIES` times per client, and counted in
/// `counters.retries`. Returns the connection ids, client `i` tagged `i`.
pub fn register(
    pool: &mut Pool,
    n: usize,
    nick: impl Fn(usize) -> String,
    concurrency: usize,
    limit: Duration,
) -> io::Result<Vec<usize>> {
    register_with_caps(pool, n, nick, |_| 0, concurrency, limit)
}

/// `register`, client `i` first requesting the IRCv3 capabilities
/// `caps(i)` (`irc::cap` bits); what the server ACKed is in each
/// session's `caps_acked`.
pub fn register_with_caps(
    pool: &mut Pool,
    n: usize,
    nick: impl Fn(usize) -> String,
    caps: impl Fn(usize) -> u8,
    concurrency: usize,
    limit: Duration,
) -> io::Result<Vec<usize>> {
    let deadline = Instant::now() + limit;
    let mut ids = Vec::with_capacity(n);
    let mut pending: Vec<usize> = Vec::new();
    let mut retries = vec![0u32; n];
    let mut done = 0;
    while done < n {
        let mut paced = 0;
        while ids.len() < n && pending.len() < concurrency.max(1) && paced < CONNECTS_PER_TURN {
            let i = ids.len();
            ids.push(pool.connect_with_caps(nick(i), i, caps(i))?);
            pending.push(i);
            paced += 1;
        }
        if Instant::now() >= deadline {
            return Err(timeout("registration", done, n));
        }
        pool.turn(
            if paced == CONNECTS_PER_TURN {
                PACE
            } else {
                TICK
            },
            &mut |p: &mut Pool, id, line: &[u8]| {
                if let Event::Registered = p.on_line(id, line) {
                    p.send_with(id, |s, out| s.sync(out))
                }
            },
        )?;
        let mut lost = Vec::new();
        pending.retain(|&i| match pool.get(ids[i]) {
            Some(c) if !c.closed => {
                let synced = c.irc.registered && c.irc.sync_done == c.irc.sync_sent;
                if synced {
                    done += 1;
                }
                !synced
            }
            _ => {
                lost.push(i);
                false
            }
        });
        for i in lost {
            retries[i] += 1;
            if retries[i] > RETRIES {
                return Err(io::Error::other(format!(
                    "registration: client {i} lost its connection {} times (limits not lifted? see scripts/bench-configs)",
                    retries[i]
                )));
            }
            pool.counters.retries += 1;
            ids[i] = pool.connect_with_caps(nick(i), i, caps(i))?;
            pending.push(i);
        }
    }
    Ok(ids)
}

/// Sends `JOIN <channel of tag>` for every client in `ids`, at most
/// `concurrency` waiting for their 366 at once, then syncs everyone so
/// the JOINs fanned out to the members were all read. Returns how many
/// JOIN lines of others the clients read (the fan-out delivered).
pub fn join(
    pool: &mut Pool,
    ids: &[usize],
    channel: impl Fn(usize) -> String,
    concurrency: usize,
    limit: Duration,
) -> io::Result<u64> {
    let mut join_lines = 0u64;
    let mut count = |cmd: &str| {
        if cmd == "JOIN" {
            join_lines += 1;
        }
    };
    let drops = pool.counters.closed_by_server;
    let deadline = Instant::now() + limit;
    let mut sent = 0;
    let mut done = 0;
    while done < ids.len() {
        while sent < ids.len() && sent - done < concurrency.max(1) {
            let id = ids[sent];
            let tag = pool.get(id).map_or(sent, |c| c.tag);
            pool.send(id, format!("JOIN {}\r\n", channel(tag)).as_bytes());
            sent += 1;
        }
        if Instant::now() >= deadline {
            return Err(timeout("JOIN", done, ids.len()));
        }
        pool.turn(
            TICK,
            &mut |p: &mut Pool, id, line: &[u8]| match p.on_line(id, line) {
                Event::Joined => done += 1,
                Event::Other(l) => count(l.command),
                _ => {}
            },
        )?;
        check_no_drops(pool, drops, "JOIN")?;
    }
    sync(
        pool,
        ids,
        deadline.saturating_duration_since(Instant::now()),
        &mut count,
    )?;
    Ok(join_lines)
}

/// A PING/PONG round trip for every client in `ids`.
pub fn sync(
    pool: &mut Pool,
    ids: &[usize],
    limit: Duration,
    on_other: &mut dyn FnMut(&str),
) -> io::Result<()> {
    let drops = pool.counters.closed_by_server;
    for &id in ids {
        pool.send_with(id, |s, out| s.sync(out));
    }
    let deadline = Instant::now() + limit;
    let mut done = 0;
    while done < ids.len() {
        if Instant::now() >= deadline {
            return Err(timeout("sync", done, ids.len()));
        }
        pool.turn(
            TICK,
            &mut |p: &mut Pool, id, line: &[u8]| match p.on_line(id, line) {
                Event::Synced => done += 1,
                Event::Other(l) => on_other(l.command),
                _ => {}
            },
        )?;
        check_no_drops(pool, drops, "sync")?;
    }
    Ok(())
}

/// Sends QUIT on every client in `ids` and waits until the server has
/// closed them all. `on_other` sees the QUIT lines of the others.
pub fn quit_all(
    pool: &mut Pool,
    ids: &[usize],
    limit: Duration,
    on_other: &mut dyn FnMut(&str),
) -> io::Result<()> {
    for &id in ids {
        pool.send(id, b"QUIT :bench done\r\n");
    }
    let deadline = Instant::now() + limit;
    loop {
        let open = ids.iter().filter(|&&id| pool.get(id).is_some()).count();
        if open == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(timeout("QUIT", ids.len() - open, ids.len()));
        }
        pool.turn(TICK, &mut |p: &mut Pool, id, line: &[u8]| {
            if let Event::Other(l) = p.on_line(id, line) {
                on_other(l.command)
            }
        })?;
    }
}

/// Keeps the clients answering PINGs for `d` without sending anything.
pub fn idle_for(pool: &mut Pool, d: Duration) -> io::Result<()> {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        pool.turn(left.min(TICK), &mut |p: &mut Pool, id, line: &[u8]| {
            let _ = p.on_line(id, line);
        })?;
    }
    Ok(())
}
