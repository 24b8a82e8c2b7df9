//! The ARM builds of issue #3 under qemu-user: for aarch64, armv7 and armv6,
//! `picoircd version` names the target; the server runs on the shipped
//! `ircd.conf` and two clients register, join, talk and see each other quit,
//! with a third over TLS;
//! and its memory with 0 and with 1,000 clients stays within the budget
//! (binary and idle RSS under 4 MiB each).
//!
//! Ignored by default: they need the cross builds (`cross/build aarch64
//! armv7 armv6`) and qemu-user (`apt-get install qemu-user`). CI runs
//! `cargo test --test emulated -- --ignored --test-threads=1`;
//! `cross/measure` prints the memory table that the README reports.

mod util;

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use util::qemu::{Target, AARCH64, ARMV6, ARMV7};
use util::tls::PyTls;
use util::{elf, fleet, Launch, TestServer};

/// The budget of issue #3, for the stripped static binary and for the idle
/// server's resident memory alike: 4 MiB.
const BUDGET_KIB: u64 = 4096;

/// Clients held at once for the memory measurement.
const CLIENTS: usize = 1000;

/// Clients per source address: under the shipped `per-ip = 16` and
/// `throttle-per-minute = 32`.
const PER_IP: usize = 10;

/// How long the 1,000 registrations may take: qemu inflates time (a few
/// seconds natively), and the first client is sent a PING after 90 s.
const REGISTER_WITHIN: Duration = Duration::from_secs(80);

/// How long the server may take to see 1,000 clients leave.
const LEAVE_WITHIN: Duration = Duration::from_secs(60);

/// A quiet moment before each measurement, for the loop to go back to sleep.
const SETTLE: Duration = Duration::from_secs(1);

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn version_aarch64() {
    version(&AARCH64);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn version_armv7() {
    version(&ARMV7);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn version_armv6() {
    version(&ARMV6);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn chat_aarch64() {
    chat(&AARCH64);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn chat_armv7() {
    chat(&ARMV7);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn chat_armv6() {
    chat(&ARMV6);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn memory_aarch64() {
    memory(&AARCH64);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn memory_armv7() {
    memory(&ARMV7);
}

#[test]
#[ignore = "needs cross builds: cross/build aarch64 armv7 armv6"]
fn memory_armv6() {
    memory(&ARMV6);
}

/// The comparison row: this test build's own binary on the host (a release
/// build under `cargo test --release`, as `cross/measure` runs it), VmRSS.
#[test]
#[ignore = "the native row of the memory table (cross/measure)"]
fn memory_native() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_picoircd"));
    let size = std::fs::metadata(&binary).expect("binary").len();
    let f = footprint(Launch::default(), TestServer::rss_kib);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let label = format!("{} (native, {profile} build)", env!("PICOIRCD_TARGET"));
    print_row(&label, size, &f);
}

/// `picoircd version` under qemu prints the version and the target triple.
fn version(t: &Target) {
    let expected = format!("picoircd {} {}", env!("CARGO_PKG_VERSION"), t.triple);
    assert_eq!(t.version(), expected);
}

/// On the shipped config, alice and bob register (alice gets the shipped
/// MOTD), join #pi, exchange a channel and a private PRIVMSG, and alice
/// sees bob quit; carol comes over TLS (rustls and ring on the target),
/// served the self-signed stand-in the build made on its first start.
fn chat(t: &Target) {
    let srv = shipped_server(t.launch());
    let listeners = srv.listeners(3);
    assert!(
        listeners[1].1.contains("(TLS, SELF-SIGNED certificate "),
        "{listeners:?}"
    );
    let mut alice = srv.connect();
    let burst = alice.register("alice");
    assert!(
        burst
            .iter()
            .any(|l| l.contains(" 372 alice :") && l.contains("This MOTD is ircd.motd")),
        "the shipped MOTD: {burst:?}"
    );
    let mut bob = srv.client("bob");

    alice.send("JOIN #pi");
    alice.expect(" 366 alice #pi ");
    bob.send("JOIN #pi");
    bob.expect(" 366 bob #pi ");
    let join = alice.expect_line(":bob!");
    assert!(join.ends_with(" JOIN #pi"), "{join}");

    alice.send("PRIVMSG #pi :hello from alice");
    let got = bob.expect_line(" PRIVMSG #pi ");
    assert!(
        got.starts_with(":alice!~alice@") && got.ends_with(" PRIVMSG #pi :hello from alice"),
        "{got}"
    );
    bob.send("PRIVMSG alice :hello back");
    let got = alice.expect_line(" PRIVMSG alice ");
    assert!(
        got.starts_with(":bob!~bob@") && got.ends_with(" PRIVMSG alice :hello back"),
        "{got}"
    );

    let mut carol = PyTls::connect(listeners[1].0, &[]);
    carol.register("carol");
    carol.send("JOIN #pi");
    carol.expect(" 366 carol #pi ");
    alice.expect_line(":carol!");
    alice.send("PRIVMSG #pi :over TLS?");
    let got = carol.expect_line(" PRIVMSG #pi ");
    assert!(got.ends_with(" PRIVMSG #pi :over TLS?"), "{got}");
    carol.send("QUIT :done");
    alice.expect_line(":carol!");

    bob.send("QUIT :bye");
    let got = alice.expect_line(" QUIT ");
    assert!(
        got.starts_with(":bob!~bob@") && got.ends_with(" QUIT :Quit: bye"),
        "{got}"
    );
}

/// The memory row of one cross build, then the budget: the binary is
/// static, stripped and under 4 MiB; the idle guest RSS under 4 MiB.
fn memory(t: &Target) {
    let binary = t.binary();
    let image = std::fs::read(&binary).expect("binary");
    let size = image.len() as u64;
    let f = footprint(t.launch(), |srv| t.guest_rss_kib(srv.pid()));
    print_row(&format!("{} ({})", t.triple, t.qemu.join(" ")), size, &f);

    let parsed = elf::parse(&image).expect("an ELF file");
    assert!(parsed.is_static(), "{} is not static", binary.display());
    assert!(!parsed.symtab, "{} is not stripped", binary.display());
    assert!(
        size < BUDGET_KIB * 1024,
        "{}: {size} bytes, over the {BUDGET_KIB} KiB budget",
        t.arch
    );
    assert!(
        f.idle < BUDGET_KIB,
        "{}: idle RSS {} KiB, over the {BUDGET_KIB} KiB budget",
        t.arch,
        f.idle
    );
}

/// Resident memory (KiB) of one server on the shipped config.
struct Footprint {
    /// Just started, no client.
    idle: u64,
    /// With `CLIENTS` registered, idle clients.
    full: u64,
    /// After they all left.
    after: u64,
    /// How long the registrations took.
    took: Duration,
}

/// Starts the server as `launch` says on the shipped config and measures
/// it with `rss` idle, with `CLIENTS` registered clients, and after they
/// left.
fn footprint(launch: Launch, rss: impl Fn(&TestServer) -> u64) -> Footprint {
    fleet::raise_fd_limit(CLIENTS as u64 + 256);
    let srv = shipped_server(Launch {
        nofile: Some(CLIENTS as u32 + 256),
        ..launch
    });
    sleep(SETTLE);
    let idle = rss(&srv);

    let started = Instant::now();
    let clients = fleet::register_many(srv.addr, CLIENTS, PER_IP, REGISTER_WITHIN);
    let took = started.elapsed();
    sleep(SETTLE);
    let full = rss(&srv);

    let mut probe = srv.client("probe");
    let deadline = Instant::now() + LEAVE_WITHIN;
    assert_eq!(
        fleet::users(&mut probe, deadline),
        CLIENTS + 1,
        "every client still registered when measured"
    );
    drop(clients);
    let mut left = false;
    for _ in 0..LEAVE_WITHIN.as_secs() * 2 {
        if fleet::users(&mut probe, deadline) == 1 {
            left = true;
            break;
        }
        sleep(Duration::from_millis(500));
    }
    assert!(
        left,
        "the server still counts clients after {LEAVE_WITHIN:?}"
    );
    drop(probe);
    sleep(SETTLE);
    let after = rss(&srv);
    Footprint {
        idle,
        full,
        after,
        took,
    }
}

/// Prints the table header and one row (markdown, as in the README), and
/// how long the registrations took.
fn print_row(label: &str, binary_bytes: u64, f: &Footprint) {
    let per_client = f.full.saturating_sub(f.idle) * 1024 / CLIENTS as u64;
    // The harness has printed "test memory_x ... " without a line end.
    println!();
    println!(
        "| target (run as) | binary | RSS, 0 clients | RSS, {CLIENTS} clients \
         | RSS, after they left | per client |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {label} | {} KiB | {} KiB | {} KiB | {} KiB | {per_client} B |",
        binary_bytes.div_ceil(1024),
        f.idle,
        f.full,
        f.after
    );
    println!(
        "{label}: {CLIENTS} clients registered in {:.1} s",
        f.took.as_secs_f64()
    );
}

/// The shipped `ircd.conf` and `ircd.motd`, the listeners moved to
/// 127.0.0.1:0 (the harness reads the ports from the log); nothing else
/// changed, so the TLS listeners serve the self-signed stand-in.
fn shipped_server(launch: Launch) -> TestServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf = util::shipped_conf();
    let motd = std::fs::read(root.join("ircd.motd")).expect("ircd.motd");
    TestServer::launch(
        &conf,
        Launch {
            files: vec![("ircd.motd".into(), motd)],
            ..launch
        },
    )
}
