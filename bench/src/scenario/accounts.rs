//! `accounts` (issue #7): N accounts registered through NickServ, then
//! N/10 logins, while a probe connection times the server's loop.
//!
//! - Registrations: C connections, each on the nick of its first account,
//!   send `NS REGISTER <password>`; when NickServ answers "You're now
//!   logged in as <account>" (which picoircd sends once the account is
//!   fsynced), the connection sends `NS LOGOUT`, `NICK <next account>` and
//!   `NS REGISTER` again, until N accounts are done. One registration in
//!   flight per connection, C at once: the hashing (bcrypt and the
//!   SCRAM-SHA-256 keys, on the server's worker thread) always has work,
//!   and the connections are made once, so the phase measures the account
//!   path, not connection setup.
//! - Logins: N/10 fresh connections (C at once) register, send
//!   `NS IDENTIFY <account> <password>`, and QUIT once logged in.
//! - The probe: one more connection sends `PING :<n>` every `probe_ms`
//!   whatever came back and times each PONG. A server answers a PING in
//!   the loop turn that reads it, so the round trip is how long its loop
//!   took to come back to the socket: a blocking fsync, a compaction
//!   slice or a long turn shows as late PONGs. It runs alone first (the
//!   baseline), then through both phases, with a histogram per phase.
//!
//! Server CPU is reported in all and per thread (`/proc/PID/task`): the
//! main thread (`loop`), and the others by name (picoircd's `worker` and
//! `store`). Drives the pool directly; `steps` registers the connections.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::args::Accounts;
use crate::irc::{Event, Line};
use crate::latency::Histogram;
use crate::pool::Pool;
use crate::procfs::{self, Snapshot, Usage};
use crate::report::{ratio, round, Report};

use super::steps;

/// Every account's password (the server hashes it whatever it is).
const PASSWORD: &str = "bench-pass-7";
/// NickServ's notice once a client is logged in (Ergo's words).
const LOGGED_IN: &str = "You're now logged in as ";
/// NickServ's answers that end a REGISTER or IDENTIFY without a login
/// (Ergo's words, as picoircd sends them).
const REFUSALS: &[&str] = &[
    "Account already exists",
    "Account could not be created",
    "Could not register",
    "An error occurred",
    "You're already logged into an account",
    "That feature is disabled",
    "Passphrase contains",
    "Usage: REGISTER",
    "Authentication failed",
    "Please wait at least",
];
/// The longest the probe's last PONGs may take once the phases are over.
const PROBE_DRAIN: Duration = Duration::from_secs(5);
/// The longest one poll waits when no PING is due sooner.
const TICK: Duration = Duration::from_millis(20);
/// The slowest round trips of each phase kept with their time of day.
const SLOWEST: usize = 5;
/// A pass of the generator's own loop longer than this means it was
/// itself held up (its polls wait at most one probe period).
const GAP: Duration = Duration::from_millis(10);

/// What the probe timed in one phase.
#[derive(Default)]
struct ProbePhase {
    hist: Histogram,
    /// The `SLOWEST` longest round trips: (µs, when the PING went, in
    /// ms since the Unix epoch), to set beside the server's log.
    slowest: Vec<(u64, u64)>,
    /// The longest pass of the generator's loop (µs), and how many took
    /// longer than `GAP`: a late PONG then may be the generator's delay.
    max_gap_us: u64,
    gaps: u64,
}

impl ProbePhase {
    fn record(&mut self, us: u64, sent_unix_ms: u64) {
        self.hist.record(us);
        if self.slowest.len() < SLOWEST {
            self.slowest.push((us, sent_unix_ms));
        } else if let Some(min) = self.slowest.iter_mut().min_by_key(|(u, _)| *u) {
            if us > min.0 {
                *min = (us, sent_unix_ms);
            }
        }
    }

    fn gap(&mut self, d: Duration) {
        self.max_gap_us = self.max_gap_us.max(d.as_micros() as u64);
        if d > GAP {
            self.gaps += 1;
        }
    }

    /// `<prefix>_p50_ms` and the rest, the generator's own gaps, and a
    /// note with the slowest round trips.
    fn report(mut self, r: &mut Report, prefix: &str) {
        r.latency(prefix, &self.hist);
        r.metric(
            &format!("{prefix}_generator_max_gap_ms"),
            round(self.max_gap_us as f64 / 1e3, 3),
        );
        r.metric(&format!("{prefix}_generator_gaps_over_10ms"), self.gaps);
        if self.slowest.is_empty() {
            return;
        }
        self.slowest.sort_by(|a, b| b.cmp(a));
        let list: Vec<String> = self
            .slowest
            .iter()
            .map(|&(us, at)| format!("{:.2} ms at {}", us as f64 / 1e3, time_of_day(at)))
            .collect();
        r.note(format!(
            "{prefix}: slowest round trips {} (UTC, when the PING was sent: compare the server log)",
            list.join(", ")
        ));
    }
}

/// `HH:MM:SS.mmm` (UTC) of a time in ms since the Unix epoch.
fn time_of_day(unix_ms: u64) -> String {
    let ms = unix_ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The latency probe: `PING :<n>` every `period`, each PONG timed.
struct Probe {
    id: usize,
    period: Duration,
    next_at: Instant,
    seq: u64,
    /// PINGs sent and not yet answered, oldest first, with when they
    /// went (monotonic, and wall clock in ms for the slowest list).
    outstanding: VecDeque<(u64, Instant, u64)>,
    phase: ProbePhase,
    /// The last pass of the generator's loop (a `tick`).
    last_tick: Option<Instant>,
    /// PINGs whose PONG never came (a later one came first).
    lost: u64,
    /// PONGs of no PING outstanding.
    strays: u64,
}

impl Probe {
    fn new(id: usize, period: Duration) -> Probe {
        Probe {
            id,
            period,
            next_at: Instant::now(),
            seq: 0,
            outstanding: VecDeque::new(),
            phase: ProbePhase::default(),
            last_tick: None,
            lost: 0,
            strays: 0,
        }
    }

    /// Queues the PING that is due, if one is (written at the start of
    /// the next turn). A generator late by more than a period skips the
    /// slots it missed rather than sending a burst. Called once per pass
    /// of the generator's loop, so it also times those passes.
    fn tick(&mut self, pool: &mut Pool, now: Instant) {
        if let Some(last) = self.last_tick.replace(now) {
            self.phase.gap(now.saturating_duration_since(last));
        }
        if now < self.next_at {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        pool.send_with(self.id, |_, out| {
            let _ = write!(out, "PING :{seq}\r\n");
        });
        self.outstanding.push_back((seq, now, unix_ms()));
        self.next_at += self.period;
        if self.next_at <= now {
            self.next_at = now + self.period;
        }
    }

    /// How long the next poll may wait: until the next PING, at most `cap`.
    fn wait(&self, now: Instant, cap: Duration) -> Duration {
        self.next_at.saturating_duration_since(now).min(cap)
    }

    /// A line on the probe's connection: true when it was a PONG of ours
    /// (timed), false for anything else (for the session to handle).
    fn on_line(&mut self, line: &[u8], now: Instant) -> bool {
        let Some(l) = Line::parse(line) else {
            return false;
        };
        if l.command != "PONG" {
            return false;
        }
        let Ok(token) = l.last().parse::<u64>() else {
            return false;
        };
        while let Some(&(seq, at, wall)) = self.outstanding.front() {
            if seq > token {
                break;
            }
            self.outstanding.pop_front();
            if seq == token {
                self.phase
                    .record(now.duration_since(at).as_micros() as u64, wall);
                return true;
            }
            // Servers answer in order: an earlier PING with no PONG was lost.
            self.lost += 1;
        }
        self.strays += 1;
        true
    }

    /// The round trips timed since the last call.
    fn take(&mut self) -> ProbePhase {
        std::mem::take(&mut self.phase)
    }
}

/// Is this line's source NickServ?
fn from_nickserv(l: &Line) -> bool {
    l.command == "NOTICE"
        && l.source
            .split('!')
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case("NickServ"))
}

/// What a NickServ notice says about a REGISTER or IDENTIFY in flight.
#[derive(Debug, PartialEq, Eq)]
enum Answer<'a> {
    /// Logged in to this account.
    LoggedIn(&'a str),
    /// Refused: the attempt is over.
    Refused(&'a str),
    /// Anything else ("Account created", a nick enforcement warning).
    Other,
}

fn answer<'a>(text: &'a str) -> Answer<'a> {
    if let Some(account) = text.strip_prefix(LOGGED_IN) {
        Answer::LoggedIn(account.trim_end())
    } else if REFUSALS.iter().any(|r| text.starts_with(r)) {
        Answer::Refused(text)
    } else {
        Answer::Other
    }
}

/// CPU and wall time of a phase, in all and per server thread.
struct Phase {
    at: Snapshot,
    threads: BTreeMap<String, u64>,
}

impl Phase {
    fn start(pid: u32) -> io::Result<Phase> {
        Ok(Phase {
            threads: procfs::thread_ticks(pid)?,
            at: Snapshot::take(pid)?,
        })
    }

    fn end(&self, pid: u32) -> io::Result<(Usage, BTreeMap<String, f64>)> {
        let at = Snapshot::take(pid)?;
        let threads = procfs::thread_ticks(pid)?;
        Ok((
            at.since(&self.at),
            procfs::threads_since(&threads, &self.threads),
        ))
    }
}

/// A thread's key in the metrics: `loop` for the main thread, else the
/// last `-` part of its name (`picoircd-worker` → `worker`), kept to
/// letters, digits and `_`.
fn thread_key(name: &str) -> String {
    if name == "main" {
        return "loop".into();
    }
    let last = name.rsplit('-').next().unwrap_or(name);
    let key: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if key.is_empty() {
        "thread".into()
    } else {
        key
    }
}

/// The CPU metrics of a phase that did `done` operations of kind `what`
/// (`registrations`, `logins`): in all and per thread, per 1,000.
fn cpu_metrics(
    r: &mut Report,
    prefix: &str,
    what: &str,
    done: u64,
    u: &Usage,
    threads: &BTreeMap<String, f64>,
) {
    r.usage(prefix, u);
    r.metric(
        &format!("server_cpu_s_per_1000_{what}"),
        round(ratio(u.server_cpu_s * 1e3, done as f64), 4),
    );
    r.metric(
        &format!("generator_cpu_s_per_1000_{what}"),
        round(ratio(u.generator_cpu_s * 1e3, done as f64), 4),
    );
    let mut by_key: BTreeMap<String, f64> = BTreeMap::new();
    for (name, s) in threads {
        *by_key.entry(thread_key(name)).or_insert(0.0) += s;
    }
    for (key, s) in by_key {
        r.metric(&format!("{prefix}_{key}_cpu_s"), round(s, 3));
        r.metric(
            &format!("{key}_cpu_s_per_1000_{what}"),
            round(ratio(s * 1e3, done as f64), 4),
        );
    }
}

/// The registrations in progress: which account each connection is on.
struct Burst<'n> {
    name: &'n dyn Fn(usize) -> String,
    n: usize,
    /// The next account to hand out.
    next: usize,
    /// Per registrar (tag - 1): its account and when its REGISTER went.
    current: Vec<Option<(usize, Instant)>>,
    acked: u64,
    refused: u64,
    /// Logged in to another account than the one registered.
    wrong: u64,
    ack: Histogram,
    /// Refusal texts and how often each came.
    refusals: BTreeMap<String, u64>,
}

impl Burst<'_> {
    fn finished(&self) -> u64 {
        self.acked + self.refused + self.wrong
    }

    /// NickServ answered registrar `k` (connection `id`).
    fn on_answer(&mut self, p: &mut Pool, id: usize, k: usize, ans: Answer, now: Instant) {
        let Some((account, sent)) = self.current.get(k).copied().flatten() else {
            return;
        };
        match ans {
            Answer::LoggedIn(name) if name.eq_ignore_ascii_case(&(self.name)(account)) => {
                self.acked += 1;
                self.ack.record(now.duration_since(sent).as_micros() as u64);
            }
            Answer::LoggedIn(_) => self.wrong += 1,
            Answer::Refused(text) => {
                self.refused += 1;
                *self.refusals.entry(text.to_string()).or_insert(0) += 1;
            }
            Answer::Other => return,
        }
        self.current[k] = None;
        if self.next < self.n {
            let next = self.next;
            self.next += 1;
            let nick = (self.name)(next);
            p.send(
                id,
                format!("NS LOGOUT\r\nNICK {nick}\r\nNS REGISTER {PASSWORD}\r\n").as_bytes(),
            );
            self.current[k] = Some((next, now));
        }
    }
}

pub fn run(a: &Accounts) -> io::Result<Report> {
    let t = a.target();
    let limit = Duration::from_secs(a.timeout);
    let n = a.accounts.max(1);
    let c = a.concurrency.clamp(1, n);
    let logins = a.logins.unwrap_or(n / 10).min(n);
    let period = Duration::from_millis(a.probe_ms.max(1));
    let prefix = a
        .prefix
        .clone()
        .unwrap_or_else(|| format!("a{}x", std::process::id()));
    if !prefix.starts_with(|ch: char| ch.is_ascii_alphabetic())
        || !prefix.chars().all(|ch| ch.is_ascii_alphanumeric())
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--prefix {prefix:?}: a letter, then letters and digits"),
        ));
    }
    let name = |i: usize| format!("{prefix}{i}");
    let mut r = Report::new("accounts", &t);
    r.param("accounts", n);
    r.param("concurrency", c);
    r.param("logins", logins);
    r.param("probe_ms", period.as_millis() as u64);
    r.param("baseline_ms", a.baseline_ms);
    let mut pool = Pool::new(t.addr)?;

    // The probe (client 0) and the registrars (1..=c), each on the nick
    // of its first account.
    let ids = steps::register(
        &mut pool,
        c + 1,
        |i| {
            if i == 0 {
                format!("{prefix}probe")
            } else {
                name(i - 1)
            }
        },
        c + 1,
        limit,
    )?;
    let mut probe = Probe::new(ids[0], period);
    let drops = pool.counters.closed_by_server;

    // The baseline: the probe alone on an idle server.
    let until = Instant::now() + Duration::from_millis(a.baseline_ms);
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        probe.tick(&mut pool, now);
        pool.turn(
            probe.wait(now, until.saturating_duration_since(now)),
            &mut |p: &mut Pool, id, line: &[u8]| {
                if !(id == probe.id && probe.on_line(line, Instant::now())) {
                    let _ = p.on_line(id, line);
                }
            },
        )?;
        steps::check_no_drops(&pool, drops, "accounts (baseline)")?;
    }
    let probe_idle = probe.take();

    // The burst of registrations.
    let mut burst = Burst {
        name: &name,
        n,
        next: c,
        current: vec![None; c],
        acked: 0,
        refused: 0,
        wrong: 0,
        ack: Histogram::default(),
        refusals: BTreeMap::new(),
    };
    let phase = Phase::start(t.pid)?;
    let started = Instant::now();
    for (k, &id) in ids[1..].iter().enumerate() {
        pool.send(id, format!("NS REGISTER {PASSWORD}\r\n").as_bytes());
        burst.current[k] = Some((k, started));
    }
    let deadline = started + limit;
    while burst.finished() < n as u64 {
        let now = Instant::now();
        if now >= deadline {
            return Err(steps::timeout(
                "accounts (registrations)",
                burst.finished() as usize,
                n,
            ));
        }
        probe.tick(&mut pool, now);
        pool.turn(
            probe.wait(now, TICK),
            &mut |p: &mut Pool, id, line: &[u8]| {
                let now = Instant::now();
                if id == probe.id && probe.on_line(line, now) {
                    return;
                }
                let tag = p.get(id).map_or(0, |conn| conn.tag);
                if let Event::Other(l) = p.on_line(id, line) {
                    if tag > 0 && from_nickserv(&l) {
                        burst.on_answer(p, id, tag - 1, answer(l.last()), now);
                    }
                }
            },
        )?;
        steps::check_no_drops(&pool, drops, "accounts (registrations)")?;
    }
    let (u, threads) = phase.end(t.pid)?;
    let probe_register = probe.take();
    let failed = burst.refused + burst.wrong;
    r.metric("registrations", burst.acked);
    r.metric("registrations_failed", failed);
    r.metric("registrations_refused", burst.refused);
    r.metric("registrations_wrong_account", burst.wrong);
    r.metric(
        "registrations_per_s",
        round(ratio(burst.acked as f64, u.wall_s), 1),
    );
    cpu_metrics(
        &mut r,
        "register",
        "registrations",
        burst.acked,
        &u,
        &threads,
    );
    r.latency("register_ack", &burst.ack);
    for (text, count) in &burst.refusals {
        r.note(format!("REGISTER refused {count} times: {text}"));
    }

    // The logins: fresh connections, C at once.
    let base = c + 1;
    let account_of = |i: usize| i * n / logins.max(1);
    let mut sent: Vec<Option<Instant>> = vec![None; logins];
    let mut done = vec![false; logins];
    let (mut logged_in, mut login_failed) = (0u64, 0u64);
    let mut login_ack = Histogram::default();
    let mut login_refusals: BTreeMap<String, u64> = BTreeMap::new();
    let mut active: Vec<usize> = Vec::with_capacity(c);
    let mut started_logins = 0;
    let phase = Phase::start(t.pid)?;
    let deadline = Instant::now() + limit;
    while started_logins < logins || !active.is_empty() {
        let mut paced = 0;
        while started_logins < logins && active.len() < c && paced < steps::CONNECTS_PER_TURN {
            let i = started_logins;
            active.push(pool.connect(format!("{prefix}l{i}"), base + i)?);
            started_logins += 1;
            paced += 1;
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(steps::timeout(
                "accounts (logins)",
                (logged_in + login_failed) as usize,
                logins,
            ));
        }
        probe.tick(&mut pool, now);
        let cap = if paced == steps::CONNECTS_PER_TURN {
            steps::PACE
        } else {
            TICK
        };
        pool.turn(
            probe.wait(now, cap),
            &mut |p: &mut Pool, id, line: &[u8]| {
                let now = Instant::now();
                if id == probe.id && probe.on_line(line, now) {
                    return;
                }
                let tag = p.get(id).map_or(0, |conn| conn.tag);
                let Some(i) = tag.checked_sub(base).filter(|&i| i < logins) else {
                    let _ = p.on_line(id, line);
                    return;
                };
                match p.on_line(id, line) {
                    Event::Registered => {
                        let account = name(account_of(i));
                        p.send(
                            id,
                            format!("NS IDENTIFY {account} {PASSWORD}\r\n").as_bytes(),
                        );
                        sent[i] = Some(now);
                    }
                    Event::Other(l) if from_nickserv(&l) && !done[i] => {
                        match answer(l.last()) {
                            Answer::LoggedIn(got)
                                if got.eq_ignore_ascii_case(&name(account_of(i))) =>
                            {
                                logged_in += 1;
                                if let Some(at) = sent[i] {
                                    login_ack.record(now.duration_since(at).as_micros() as u64);
                                }
                            }
                            Answer::LoggedIn(_) => login_failed += 1,
                            Answer::Refused(text) => {
                                login_failed += 1;
                                *login_refusals.entry(text.to_string()).or_insert(0) += 1;
                            }
                            Answer::Other => return,
                        }
                        done[i] = true;
                        p.send(id, b"QUIT :bench done\r\n");
                    }
                    _ => {}
                }
            },
        )?;
        // A login connection is over once the server closed it; one that
        // closed before its answer counts as failed.
        active.retain(|&id| pool.get(id).is_some());
        if !pool.is_open(probe.id) {
            return Err(io::Error::other(
                "accounts (logins): the server closed the probe's connection",
            ));
        }
    }
    let (u, threads) = phase.end(t.pid)?;
    let lost_logins = done.iter().filter(|d| !**d).count() as u64;
    login_failed += lost_logins;

    // The probe's last PONGs (of PINGs sent during the logins).
    let drain_until = Instant::now() + PROBE_DRAIN;
    while !probe.outstanding.is_empty() && Instant::now() < drain_until {
        pool.turn(TICK, &mut |p: &mut Pool, id, line: &[u8]| {
            if !(id == probe.id && probe.on_line(line, Instant::now())) {
                let _ = p.on_line(id, line);
            }
        })?;
    }
    let probe_login = probe.take();

    r.metric("logins", logged_in);
    r.metric("logins_failed", login_failed);
    r.metric("logins_per_s", round(ratio(logged_in as f64, u.wall_s), 1));
    cpu_metrics(&mut r, "login", "logins", logged_in, &u, &threads);
    r.latency("login_ack", &login_ack);
    for (text, count) in &login_refusals {
        r.note(format!("IDENTIFY refused {count} times: {text}"));
    }
    if lost_logins > 0 {
        r.note(format!(
            "{lost_logins} login connections closed before NickServ answered"
        ));
    }

    probe_idle.report(&mut r, "probe_idle");
    probe_register.report(&mut r, "probe_register");
    probe_login.report(&mut r, "probe_login");
    r.metric("probe_lost", probe.lost + probe.outstanding.len() as u64);
    r.metric("probe_strays", probe.strays);
    r.memory(t.pid);
    r.counters(&pool.counters);
    r.note(format!(
        "registrations: {c} connections, each NS REGISTER, then NS LOGOUT + NICK + NS REGISTER per account; \
         one counts at NickServ's \"{LOGGED_IN}<account>\" (picoircd sends it once the account is fsynced)"
    ));
    r.note(
        "the server hashes each password (bcrypt, and for picoircd the SCRAM-SHA-256 keys) on a \
         worker thread, which shares the machine's cores with its loop, its store writer and this \
         generator: the probe's round trip includes waiting for a core",
    );
    r.note(format!(
        "logins: fresh connections, NICK/USER, NS IDENTIFY, QUIT ({c} at once): their CPU includes the connection"
    ));
    r.note(format!(
        "probe: PING every {} ms on its own connection, alone for {} ms (probe_idle), then through the registrations and the logins; \
         *_generator_max_gap_ms is the generator's own longest pass (over 10 ms: it was held up itself, and its late PONGs are partly its own)",
        period.as_millis(),
        a.baseline_ms
    ));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nickserv_answers() {
        let l =
            Line::parse(b":NickServ!NickServ@localhost NOTICE a1x0 :You're now logged in as a1x0")
                .unwrap();
        assert!(from_nickserv(&l));
        assert_eq!(answer(l.last()), Answer::LoggedIn("a1x0"));
        assert_eq!(answer("Account created"), Answer::Other);
        assert_eq!(
            answer("Account already exists"),
            Answer::Refused("Account already exists")
        );
        assert_eq!(
            answer("Please wait at least 40s and try again"),
            Answer::Refused("Please wait at least 40s and try again")
        );
        let l = Line::parse(b":nick!u@h NOTICE a1x0 :You're now logged in as x").unwrap();
        assert!(!from_nickserv(&l), "a user's notice is not NickServ's");
        let l = Line::parse(b":NickServ!NickServ@localhost PRIVMSG a :hi").unwrap();
        assert!(!from_nickserv(&l));
    }

    #[test]
    fn keeps_the_slowest_round_trips() {
        let mut p = ProbePhase::default();
        for (i, us) in [5, 900, 7, 30_000, 12, 400, 3, 2_500]
            .into_iter()
            .enumerate()
        {
            p.record(us, 1_000 * i as u64);
        }
        assert_eq!(p.hist.count(), 8);
        p.gap(Duration::from_millis(3));
        p.gap(Duration::from_millis(25));
        p.gap(Duration::from_millis(11));
        assert_eq!((p.max_gap_us, p.gaps), (25_000, 2));
        let mut kept: Vec<u64> = p.slowest.iter().map(|s| s.0).collect();
        kept.sort();
        assert_eq!(kept, [12, 400, 900, 2_500, 30_000]);
        let mut r = Report::new(
            "accounts",
            &crate::args::Target {
                addr: "127.0.0.1:1".parse().unwrap(),
                pid: 1,
                server: "s".into(),
            },
        );
        p.report(&mut r, "probe_x");
        let json = r.to_json();
        assert_eq!(json["metrics"]["probe_x_generator_max_gap_ms"], 25.0);
        assert_eq!(json["metrics"]["probe_x_generator_gaps_over_10ms"], 2);
        let notes = json["notes"].to_string();
        assert!(
            notes.contains(
                "probe_x: slowest round trips 30.00 ms at 00:00:03.000, 2.50 ms at 00:00:07.000"
            ),
            "{notes}"
        );
        assert_eq!(time_of_day(1_795_604_541_514), "11:02:21.514");
    }

    #[test]
    fn names_threads() {
        assert_eq!(thread_key("main"), "loop");
        assert_eq!(thread_key("picoircd-worker"), "worker");
        assert_eq!(thread_key("picoircd-store"), "store");
        assert_eq!(thread_key("io uring"), "io_uring");
        assert_eq!(thread_key("x-"), "thread");
    }
}
