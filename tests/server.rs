//! Whole-server tests: the real binary on a loopback port, raw IRC from
//! several clients over real sockets.

mod util;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use util::{base_config, TestServer};

/// The telnet session from the seed: CAP LS 302, NICK, USER, CAP END,
/// JOIN, PRIVMSG, PING, WHO, QUIT — as a person types it (bare LF).
#[test]
fn seed_telnet_transcript() {
    let srv = TestServer::start();
    let mut bob = srv.client("bob");
    bob.send("JOIN #pico");
    bob.expect(" 366 bob #pico ");

    let mut t = srv.connect();
    t.send_raw(b"CAP LS 302\n");
    // A 302 client gets the list over several lines: `CAP * LS * :…` while
    // more follow, then `CAP * LS :…`.
    let first = t.expect_line("CAP * LS");
    assert!(first.starts_with(":pico.test CAP * LS * :"), "{first}");
    let last = t.expect_line("CAP * LS :");
    assert!(last.starts_with(":pico.test CAP * LS :"), "{last}");
    t.send_raw(b"NICK alice\n");
    t.send_raw(b"USER alice 0 * :Alice\n");
    t.expect_none(" 001 ", Duration::from_millis(300));
    t.send_raw(b"CAP END\n");
    let burst = t.expect(" 221 ");
    let first = &burst[0];
    assert_eq!(
        first,
        ":pico.test 001 alice :Welcome to the PicoNet IRC Network alice"
    );
    for n in ["002", "003", "004", "005", "251", "375", "372", "376"] {
        assert!(
            burst.iter().any(|l| l.contains(&format!(" {n} alice "))),
            "{n} in {burst:?}"
        );
    }
    assert!(
        burst
            .iter()
            .any(|l| l.contains(":- Welcome to \u{2}pico\u{2}")),
        "motd formatting: {burst:?}"
    );

    t.send_raw(b"JOIN #pico\n");
    let join = t.expect(" 366 alice #pico :End of NAMES list");
    let join_line = &join[0];
    assert!(
        join_line.starts_with(":alice!~alice@") && join_line.ends_with(" JOIN #pico"),
        "{join_line}"
    );
    assert!(join_line.contains(".irc "), "cloaked host: {join_line}");
    assert!(!join_line.contains("127.0.0.1"), "no real IP: {join_line}");
    assert!(
        join.iter()
            .any(|l| l.contains(" 353 alice = #pico :") && l.contains("@bob")),
        "{join:?}"
    );
    bob.expect(" JOIN #pico");

    t.send_raw(b"PRIVMSG #pico :hello from telnet\n");
    let got = bob.expect_line("PRIVMSG #pico");
    assert!(
        got.starts_with(":alice!~alice@") && got.ends_with(" PRIVMSG #pico :hello from telnet"),
        "{got}"
    );

    t.send_raw(b"PING :12345\n");
    assert_eq!(t.expect_line("PONG"), ":pico.test PONG pico.test :12345");

    t.send_raw(b"WHO #pico\n");
    let who = t.expect(" 315 alice #pico :End of WHO list");
    assert!(
        who.iter()
            .any(|l| l.contains(" 352 alice #pico ~bob ") && l.contains(" bob H@ :0 bob real")),
        "{who:?}"
    );

    t.send_raw(b"QUIT :bye\n");
    assert_eq!(t.expect_line("ERROR"), "ERROR :Quit: bye");
    assert!(t.closed());
    assert!(bob.expect_line(" QUIT ").ends_with(" QUIT :Quit: bye"));
}

#[test]
fn unregistered_commands_get_451_and_the_connection_stays() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    c.send("JOIN :");
    assert_eq!(
        c.expect_line(" 451 "),
        ":pico.test 451 * :You need to register before you can use that command"
    );
    c.send("FOO bar");
    assert_eq!(
        c.expect_line(" 421 "),
        ":pico.test 421 * FOO :Unknown command"
    );
    c.register("late");
}

#[test]
fn hostile_input_never_takes_the_server_down() {
    let srv = TestServer::start();
    let mut ok = srv.client("steady");

    // 20 KB without a newline, then a newline: 417 and still connected.
    let mut c = srv.client("longline");
    c.send_raw(&vec![b'A'; 20_000]);
    c.send_raw(b"\r\n");
    assert_eq!(
        c.expect_line(" 417 "),
        ":pico.test 417 longline :Input line too long"
    );
    c.sync();

    // A body just over 510 bytes: 417, connection kept.
    c.send(&format!("PRIVMSG steady :{}", "x".repeat(600)));
    c.expect(" 417 ");
    c.sync();

    // Invalid UTF-8: FAIL, connection kept.
    c.send_raw(b"PRIVMSG steady :caf\xe9 \xc3\x28\r\n");
    assert_eq!(
        c.expect_line("FAIL"),
        ":pico.test FAIL PRIVMSG INVALID_UTF8 :Message rejected for containing invalid UTF-8"
    );
    c.sync();

    // Telnet negotiation bytes are ignored.
    c.send_raw(b"\xff\xfb\x1f\xff\xfd\x03PING :iac\r\n");
    c.expect("PONG pico.test :iac");

    // NUL: malformed, the client is dropped with ERROR.
    let mut n = srv.client("nul");
    n.send_raw(b"PRIVMSG steady :a\0b\r\n");
    n.expect("ERROR :Received malformed line");
    assert!(n.closed());

    // Half-closed socket after a partial registration.
    let mut h = srv.connect();
    h.send("NICK half");
    h.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(h.closed());

    // 1000 connections opened and dropped mid-registration.
    for i in 0..1000 {
        let mut s = TcpStream::connect(srv.addr).unwrap();
        let _ = s.write_all(format!("NICK drop{i}\r\nUSER x 0 *").as_bytes());
    }
    ok.sync();
    let mut after = srv.client("after");
    after.send("PRIVMSG steady :still here");
    ok.expect("still here");
}

#[test]
fn a_reader_that_never_reads_is_cut_at_its_sendq() {
    let mut conf = base_config();
    conf = conf.replace("per-ip = 0", "per-ip = 0\nsendq = 20000");
    let srv = TestServer::with_config(&conf);
    let mut talker = srv.client("talker");
    let mut reader = srv.client("reader");
    let mut stuck = util::Client::connect_small_window(srv.addr);
    stuck.register("stuck");
    for c in [&mut talker, &mut reader, &mut stuck] {
        c.send("JOIN #flood");
        c.expect(" 366 ");
    }
    // Shrink the stuck client's receive window by never reading; the
    // server's queue for it grows until the limit.
    let line = format!("PRIVMSG #flood :{}", "z".repeat(400));
    let mut cut = false;
    for i in 0..20_000 {
        talker.send(&line);
        if i % 100 == 99 {
            // The reader keeps up and sees everything.
            let quits = reader.sync();
            if quits.iter().any(|l| l.contains("QUIT :SendQ exceeded")) {
                cut = true;
                break;
            }
        }
    }
    if !cut {
        reader.expect("QUIT :SendQ exceeded");
    }
    // Behind what the kernel had buffered, the stuck client finds why.
    stuck.expect("ERROR :SendQ exceeded");
    assert!(stuck.closed());
    talker.sync();
}

#[test]
fn ping_timeout_disconnects_a_silent_client() {
    let mut conf = base_config();
    conf.push_str("\n[timeouts]\nping = \"1s\"\nping-timeout = \"2s\"\n");
    let srv = TestServer::with_config(&conf);
    let mut quiet = srv.client("quiet");
    let mut alive = srv.client("alive");
    quiet.expect("PING :pico.test");
    let ping = alive.expect_line("PING");
    alive.send(&format!("PONG {}", ping.split(' ').nth(1).unwrap()));
    quiet.expect("ERROR :Ping timeout: 2 seconds");
    assert!(quiet.closed());
    // The client that answered is still here.
    alive.sync();
}

#[test]
fn registration_timeout_drops_a_client_that_never_registers() {
    let mut conf = base_config();
    conf.push_str("\n[timeouts]\nregistration = \"1s\"\n");
    let srv = TestServer::with_config(&conf);
    let mut unreg = srv.connect();
    unreg.send("NICK slow");
    unreg.expect("ERROR :Registration timed out");
    assert!(unreg.closed());
}

#[test]
fn fakelag_slows_a_flooder_but_not_others() {
    let conf = base_config().replace("fakelag = false", "fakelag = true");
    let srv = TestServer::with_config(&conf);
    let mut flooder = srv.client("flooder");
    let mut calm = srv.client("calm");
    let mut watcher = srv.client("watcher");
    for _ in 0..20 {
        flooder.send("PRIVMSG watcher :flood");
    }
    // The calm client's message overtakes most of the flood.
    calm.send("PRIVMSG watcher :calm");
    let seen = watcher.expect("PRIVMSG watcher :calm");
    let floods = seen.iter().filter(|l| l.ends_with(":flood")).count();
    assert!(
        floods < 20,
        "fakelag held the flood back ({floods} delivered first)"
    );
    let start = std::time::Instant::now();
    let mut total = floods;
    while total < 20 {
        watcher.expect(":flood");
        total += 1;
    }
    // 5 in the burst, then 2 per second: the rest takes seconds, not ms.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn sigterm_says_goodbye_and_exits_zero() {
    let mut srv = TestServer::start();
    let mut c = srv.client("leaving");
    srv.signal("TERM");
    assert_eq!(c.expect_line("ERROR"), "ERROR :Server shutting down");
    assert_eq!(srv.wait_exit(), Some(0));
}

#[test]
fn sighup_reloads_the_motd_and_keeps_clients_and_a_bad_config_is_refused() {
    let srv = TestServer::start();
    let mut c = srv.client("stay");
    std::fs::write(srv.dir.join("ircd.motd"), "fresh motd\n").unwrap();
    srv.signal("HUP");
    srv.expect_log("configuration reloaded");
    c.send("MOTD");
    c.expect(":- fresh motd");
    let good = std::fs::read_to_string(&srv.conf).unwrap();
    std::fs::write(&srv.conf, format!("{good}\nbogus-key = 1\n")).unwrap();
    srv.signal("HUP");
    srv.expect_log("rehash failed");
    c.sync();
    c.send("MOTD");
    c.expect(":- fresh motd");
}

#[test]
fn per_ip_limit_refuses_extra_connections() {
    let conf = base_config().replace("per-ip = 0", "per-ip = 2");
    let srv = TestServer::with_config(&conf);
    let _a = srv.client("a1");
    let _b = srv.client("a2");
    let mut c = srv.connect();
    assert_eq!(c.line(), "ERROR :Too many connections from your IP address");
    assert!(c.closed());
}

/// bcrypt runs on the worker thread: while an OPER with a cost-12 hash is
/// being checked, other clients are answered at once (the answer to the
/// other client arrives before the OPER verdict).
#[test]
fn a_password_check_does_not_stall_other_clients() {
    let hash = bcrypt::hash("secret", 12).unwrap();
    let conf = format!(
        "{}\n[oper-classes.admin]\ntitle = \"Admin\"\ncapabilities = [\"kill\"]\n\n[[oper]]\nname = \"boss\"\nclass = \"admin\"\npassword = \"{hash}\"\n",
        base_config()
    );
    let srv = TestServer::with_config(&conf);
    let mut opering = srv.client("opering");
    let mut other = srv.client("other");
    opering.send("OPER boss secret");
    let t0 = std::time::Instant::now();
    other.sync();
    let other_done = t0.elapsed();
    opering.expect(" 381 opering :You are now an IRC operator");
    let oper_done = t0.elapsed();
    assert!(
        other_done < oper_done,
        "the other client waited for bcrypt: {other_done:?} vs {oper_done:?}"
    );
}

#[test]
fn connection_throttle_refuses_a_burst_from_one_ip() {
    let conf = base_config().replace("throttle-per-minute = 0", "throttle-per-minute = 3");
    let srv = TestServer::with_config(&conf);
    let mut kept = Vec::new();
    for i in 0..3 {
        kept.push(srv.client(&format!("t{i}")));
    }
    let mut fourth = srv.connect();
    assert_eq!(
        fourth.line(),
        "ERROR :Your IP address has connected too many times recently; try again later"
    );
    assert!(fourth.closed());
    // Those already connected are unaffected.
    kept[0].sync();
}

/// An idle server with idle clients sleeps until its next real deadline
/// (the first PING is 90 s away): its loop does not wake up at all.
#[test]
fn an_idle_server_does_not_wake_up() {
    let srv = TestServer::start();
    let mut clients: Vec<_> = (0..10).map(|i| srv.client(&format!("idle{i}"))).collect();
    clients[0].send("JOIN #quiet");
    clients[0].expect(" 366 ");
    std::thread::sleep(Duration::from_millis(200));
    let before = srv.wakeups();
    std::thread::sleep(Duration::from_millis(1500));
    let after = srv.wakeups();
    assert_eq!(after - before, 0, "the loop woke up while nothing happened");
}

/// Out of file descriptors (EMFILE): the server pauses accepting instead of
/// spinning, keeps serving its clients, and accepts again once fds free up.
#[test]
fn out_of_file_descriptors_the_server_keeps_serving_and_recovers() {
    let srv = TestServer::with_config_and_fd_limit(&base_config(), Some(24));
    let mut steady = srv.client("steady");
    // Fill every descriptor the server has left.
    let mut extra = Vec::new();
    for _ in 0..40 {
        extra.push(TcpStream::connect(srv.addr).unwrap());
    }
    srv.expect_log("accept failed");
    steady.sync();
    steady.send("PRIVMSG steady :still served");
    steady.expect("still served");
    drop(extra);
    // Once the extra connections are gone, new clients get in again.
    let deadline = std::time::Instant::now() + util::WAIT;
    loop {
        let mut c = srv.connect();
        c.send("NICK back");
        c.send("USER back 0 * :b");
        if c.next_line_within(Duration::from_secs(1))
            .is_some_and(|l| l.contains(" 001 back "))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never accepted again");
    }
}

#[test]
fn a_panicking_command_drops_only_its_client() {
    // Debug builds panic on DEBUG-PANIC when this is set (the one way to
    // reach the loop's catch: no handler is known to panic).
    let srv = TestServer::launch(
        &base_config(),
        util::Launch {
            env: vec![("PICOIRCD_DEBUG_PANIC".into(), "1".into())],
            ..util::Launch::default()
        },
    );
    let mut victim = srv.client("victim");
    let mut other = srv.client("other");
    victim.send("JOIN #p");
    victim.expect(" 366 ");
    other.send("JOIN #p");
    other.expect(" 366 ");
    victim.send("DEBUG-PANIC");
    assert!(victim.expect_line("ERROR").contains("Internal error"));
    other.expect(":victim!");
    srv.expect_log("failed with a panic");
    // The loop goes on: others are served, newcomers get in.
    other.send("PRIVMSG #p :still here");
    other.send("PING :alive");
    other.expect("PONG");
    srv.client("newcomer").sync();
}
