//! Accounts end to end (issue #7): NickServ over real sockets, SASL
//! (PLAIN by hand, SCRAM-SHA-256 with Python's scramp as the client,
//! EXTERNAL with a TLS client certificate), what survives a restart and a
//! `kill -9`, and a datastore that is damaged or cannot be written.
//! The server runs with `bcrypt-cost = 4` so that hashing is quick.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use util::tls::{pair, PyTls};
use util::{base_config, Client, Launch, TestServer, WAIT};

/// The test config with cheap bcrypt, no registration flood limit (the
/// tests register many accounts from one address), and `extra` appended.
fn config(extra: &str) -> String {
    let base = base_config();
    assert!(base.contains("network = \"PicoNet\"\n"));
    let base = base.replace(
        "network = \"PicoNet\"\n",
        "network = \"PicoNet\"\nbcrypt-cost = 4\n",
    );
    let unlimited = "[accounts]\nregistrations-per-minute = 0\n";
    if extra.contains("[accounts]\n") {
        base + &extra.replace("[accounts]\n", unlimited)
    } else {
        base + extra + "\n" + unlimited
    }
}

fn start() -> TestServer {
    TestServer::with_config(&config(""))
}

/// NickServ's NOTICE to `nick` with `text`.
fn ns(nick: &str, text: &str) -> String {
    format!(":NickServ!NickServ@localhost NOTICE {nick} :{text}")
}

/// Registers `nick` (already connected) with NS REGISTER; returns the lines.
fn ns_register(c: &mut Client, nick: &str, password: &str) -> Vec<String> {
    c.send(&format!("NS REGISTER {password}"));
    let lines = c.expect(&ns(nick, &format!("You're now logged in as {nick}")));
    assert!(lines.contains(&ns(nick, "Account created")), "{lines:?}");
    lines
}

#[test]
fn nickserv_register_identify_logout_and_restart() {
    let srv = start();
    let mut alice = srv.client("alice");
    alice.send("NS REGISTER hunter22 not-an-address");
    alice.expect_line(&ns("alice", "Registration requires a valid e-mail address"));
    ns_register(&mut alice, "alice", "hunter22");
    alice.expect_line(":pico.test MODE alice :+r");
    alice.send("WHOIS alice");
    let whois = alice.expect(" 318 ");
    assert!(
        whois.contains(&":pico.test 330 alice alice alice :is logged in as".to_string()),
        "{whois:?}"
    );
    alice.send("NS INFO");
    let info = alice.expect("registered channel(s).");
    assert!(info.contains(&ns("alice", "Account: alice")), "{info:?}");
    assert!(
        info.iter()
            .any(|l| l.starts_with(&ns("alice", "Registered at: "))),
        "{info:?}"
    );

    // The names nick enforcement renames to are no account names.
    let mut guest = srv.client("Guest123");
    guest.send("NS REGISTER some-password");
    guest.expect_line(&ns("Guest123", "Guest nicknames cannot be registered"));
    drop(guest);

    // Taken names and a second account from one connection are refused.
    let mut bob = srv.client("bob");
    bob.send("NICK alice");
    bob.expect(" 433 bob alice ");
    alice.send("NS REGISTER again");
    alice.expect_line(&ns("alice", "You're already logged into an account"));

    // LOGOUT: 901, -r, NickServ's notice.
    alice.send("NS LOGOUT");
    let out = alice.expect(&ns("alice", "You're now logged out"));
    assert!(
        out.iter()
            .any(|l| l.contains(" 901 alice ") && l.ends_with(":You are now logged out")),
        "{out:?}"
    );
    assert!(
        out.iter().any(|l| l == ":pico.test MODE alice :-r"),
        "{out:?}"
    );
    drop(alice);
    drop(bob);

    // The account was acknowledged: it survives a clean restart...
    let srv = srv.restart("TERM");
    let mut again = srv.client("alice");
    again.send("NS IDENTIFY alice wrongpass");
    again.expect_line(&ns(
        "alice",
        "Authentication failed: Invalid account credentials",
    ));
    again.send("NS REGISTER other");
    again.expect_line(&ns("alice", "Account already exists"));
    again.send("NS IDENTIFY alice hunter22");
    again.expect(&ns("alice", "You're now logged in as alice"));
    again.expect_line(":pico.test MODE alice :+r");
    drop(again);

    // ...and a crash.
    let srv = srv.restart("KILL");
    let mut third = srv.client("someone");
    third.send("NS IDENTIFY alice hunter22");
    third.expect_line(&ns("someone", "You're now logged in as alice"));
}

#[test]
fn the_account_reaches_peers_by_account_notify_account_tag_extended_join_and_whois() {
    let srv = start();
    let mut watcher = srv.connect();
    watcher.send("CAP LS 302");
    watcher.send("CAP REQ :account-notify account-tag extended-join");
    watcher.expect(" ACK ");
    watcher.send("CAP END");
    watcher.register("watcher");
    watcher.send("JOIN #c");
    watcher.expect(" 366 ");
    let mut alice = srv.client("alice");
    alice.send("JOIN #c");
    alice.expect(" 366 ");
    let join = watcher.expect_line(" JOIN ");
    assert!(
        join.ends_with(" JOIN #c * :alice real") || join.contains(" JOIN #c * :"),
        "{join}"
    );

    ns_register(&mut alice, "alice", "pw-alice-1");
    // With account-tag, the ACCOUNT line itself carries the tag.
    let account = watcher.expect_line(" ACCOUNT ");
    assert!(
        account.starts_with("@account=alice :alice!") && account.ends_with(" ACCOUNT alice"),
        "{account}"
    );
    alice.send("PRIVMSG #c :tagged");
    let msg = watcher.expect_line(" PRIVMSG #c :tagged");
    assert!(msg.starts_with("@account=alice :alice!"), "{msg}");
    alice.send("PART #c");
    alice.send("JOIN #c");
    let join = watcher.expect_line(" JOIN #c alice ");
    assert!(join.starts_with("@account=alice :alice!"), "{join}");

    alice.send("NS LOGOUT");
    let out = watcher.expect_line(" ACCOUNT ");
    assert!(out.ends_with(" ACCOUNT *"), "{out}");
}

/// A SASL PLAIN exchange before registration; the lines after the payload.
fn sasl_plain(c: &mut Client, account: &str, password: &str) -> Vec<String> {
    c.send("AUTHENTICATE PLAIN");
    c.expect_line("AUTHENTICATE +");
    c.send(&format!(
        "AUTHENTICATE {}",
        util::b64(format!("\0{account}\0{password}").as_bytes())
    ));
    c.expect(" 90")
}

#[test]
fn sasl_plain_before_registration_and_its_failures() {
    let srv = start();
    let mut alice = srv.client("alice");
    ns_register(&mut alice, "alice", "s3cret-pw");
    drop(alice);

    let mut c = srv.connect();
    c.send("CAP LS 302");
    let ls = c.expect(" LS :");
    assert!(
        ls.iter()
            .flat_map(|l| l.split([' ', ':']))
            .any(|w| w == "sasl=PLAIN,EXTERNAL,SCRAM-SHA-256"),
        "{ls:?}"
    );
    c.send("CAP REQ :sasl");
    c.expect(" ACK :sasl");
    c.send("NICK someone");
    c.send("USER someone 0 * :Someone");
    // A wrong password, then an abort, then an unknown mechanism.
    let lines = sasl_plain(&mut c, "alice", "wrong");
    assert_eq!(
        lines.last().unwrap(),
        ":pico.test 904 someone :SASL authentication failed: Invalid account credentials"
    );
    c.send("AUTHENTICATE PLAIN");
    c.expect_line("AUTHENTICATE +");
    c.send("AUTHENTICATE *");
    c.expect_line(":pico.test 906 someone :SASL authentication aborted");
    c.send("AUTHENTICATE OTP");
    c.expect_line(
        ":pico.test 908 someone PLAIN,EXTERNAL,SCRAM-SHA-256 :are available SASL mechanisms",
    );
    c.expect_line(":pico.test 904 someone :SASL authentication failed");
    c.send("AUTHENTICATE PLAIN");
    c.expect_line("AUTHENTICATE +");
    c.send("AUTHENTICATE not*base64");
    c.expect_line(":pico.test 904 someone :SASL authentication failed: Invalid b64 encoding");

    let lines = sasl_plain(&mut c, "ALICE", "s3cret-pw");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(":pico.test 900 someone someone!")
                && l.ends_with(" alice :You are now logged in as alice")),
        "{lines:?}"
    );
    c.expect_line(":pico.test 903 someone :Authentication successful");
    c.send("AUTHENTICATE PLAIN");
    c.expect_line(":pico.test 907 someone :You're already logged into an account");
    c.send("CAP END");
    let burst = c.expect(" 221 ");
    assert!(
        burst.last().unwrap().ends_with(" 221 someone +ir"),
        "{burst:?}"
    );
}

#[test]
fn sasl_registration_overtaking_an_exchange_aborts_it() {
    let srv = start();
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.send("CAP REQ :sasl");
    c.expect(" ACK ");
    c.send("NICK late");
    c.send("USER late 0 * :Late");
    c.send("AUTHENTICATE PLAIN");
    c.expect_line("AUTHENTICATE +");
    c.send("CAP END");
    let lines = c.expect(" 001 ");
    assert!(
        lines
            .iter()
            .any(|l| l == ":pico.test 906 late :SASL authentication aborted"),
        "{lines:?}"
    );
}

/// A child process killed and reaped when dropped, whatever the test did.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Relays an exchange between `tests/py/scram_client.py` (scramp) and a
/// connection: the client's AUTHENTICATE lines (its mechanism first) go to
/// the server; the server's AUTHENTICATE lines and its 903-908 numerics
/// go back (`903 <text>`), 900 is noted. Returns the script's RESULT line
/// and whether a 900 came.
fn scramp_login(c: &mut Client, user: &str, password: &str) -> (String, bool) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/scram_client.py");
    let mut child = Reaped(
        Command::new("python3")
            .arg(script)
            .args(["login", user, password])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3"),
    );
    let mut to_py = child.0.stdin.take().unwrap();
    let mut from_py = BufReader::new(child.0.stdout.take().unwrap());
    let deadline = Instant::now() + WAIT;
    let mut logged_in = false;
    loop {
        assert!(Instant::now() < deadline, "the SCRAM exchange did not end");
        let mut line = String::new();
        if from_py.read_line(&mut line).unwrap() == 0 {
            panic!("scram_client.py ended without a RESULT");
        }
        let line = line.trim_end().to_string();
        if line.starts_with("RESULT ") {
            return (line, logged_in);
        }
        assert!(line.starts_with("AUTHENTICATE "), "{line}");
        c.send(&line);
        let piece = &line["AUTHENTICATE ".len()..];
        if piece.len() == 400 {
            continue; // more of the client's message follows
        }
        // The server's answer: AUTHENTICATE pieces up to the last, or a
        // numeric that ends the exchange.
        loop {
            let reply = c.line();
            let Some(rest) = reply.strip_prefix(":pico.test ") else {
                continue;
            };
            let (cmd, after) = rest.split_once(' ').unwrap();
            if cmd == "AUTHENTICATE" {
                writeln!(to_py, "AUTHENTICATE {after}").unwrap();
                if after.len() < 400 {
                    break;
                }
                continue;
            }
            if cmd == "900" {
                logged_in = true;
                continue;
            }
            if ["903", "904", "905", "906", "907", "908"].contains(&cmd) {
                let text = after.split_once(" :").map_or(after, |(_, t)| t);
                writeln!(to_py, "{cmd} {text}").unwrap();
                break;
            }
        }
        to_py.flush().unwrap();
    }
}

#[test]
fn sasl_scram_sha_256_with_an_independent_client() {
    let srv = start();
    let mut alice = srv.client("alice");
    ns_register(&mut alice, "alice", "correct-horse");
    drop(alice);

    let mut c = srv.connect();
    c.send("CAP REQ :sasl");
    c.expect(" ACK ");
    c.send("NICK sc");
    c.send("USER sc 0 * :SCRAM");
    let (result, _) = scramp_login(&mut c, "alice", "wrong-horse");
    assert_eq!(
        result,
        "RESULT fail 904 SASL authentication failed: Invalid account credentials"
    );
    let (result, logged_in) = scramp_login(&mut c, "alice", "correct-horse");
    assert_eq!(result, "RESULT ok 903 Authentication successful");
    assert!(logged_in);
    c.send("CAP END");
    c.expect(" 001 ");
    c.send("WHOIS sc");
    let whois = c.expect(" 318 ");
    assert!(
        whois.iter().any(|l| l.contains(" 330 sc sc alice ")),
        "{whois:?}"
    );
    // An unknown account looks like a wrong password.
    let mut d = srv.connect();
    d.send("NICK sd");
    let (result, _) = scramp_login(&mut d, "nobody", "whatever");
    assert_eq!(
        result,
        "RESULT fail 904 SASL authentication failed: Invalid account credentials"
    );
}

#[test]
fn sasl_external_logs_in_with_the_certificate_an_account_was_registered_with() {
    let certs = util::temp_dir("accounts", "certs");
    let (scert, skey, _) = pair(&certs, "server");
    let (ccert, ckey, _) = pair(&certs, "client");
    let base = config("");
    let listen = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
    let conf = base.replacen(
        listen,
        &format!(
            "[[listen]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n",
            scert.display(),
            skey.display()
        ),
        1,
    );
    let srv = TestServer::with_config(&conf);
    let cert_args = [
        "--cert",
        ccert.to_str().unwrap(),
        "--key",
        ckey.to_str().unwrap(),
    ];
    let mut owner = PyTls::connect(srv.addr, &cert_args);
    owner.register("certy");
    owner.send("NS REGISTER *");
    owner.expect_line(&ns("certy", "You're now logged in as certy"));
    owner.send("QUIT");
    drop(owner);

    let mut again = PyTls::connect(srv.addr, &cert_args);
    again.send("CAP REQ :sasl");
    again.send("NICK other");
    again.send("USER other 0 * :x");
    again.send("AUTHENTICATE EXTERNAL");
    again.expect_line("AUTHENTICATE +");
    again.send("AUTHENTICATE +");
    again.expect_line(" 900 other ");
    again.expect_line(" 903 other ");
    // Without a certificate, EXTERNAL is refused.
    let mut plain = PyTls::connect(srv.addr, &[]);
    plain.send("NICK nocert");
    plain.send("AUTHENTICATE EXTERNAL");
    plain.expect_line("AUTHENTICATE +");
    plain.send("AUTHENTICATE +");
    plain.expect_line(":pico.test 904 nocert :SASL authentication failed, you are not connecting with a certificate");
}

#[test]
fn group_drop_ghost_passwd_set_and_unregister() {
    let srv = start();
    let mut alice = srv.client("alice");
    ns_register(&mut alice, "alice", "first-pw");
    alice.send("NICK alice_away");
    alice.expect(" NICK ");
    alice.send("NS GROUP");
    alice.expect_line(&ns(
        "alice_away",
        "Successfully grouped nick alice_away with your account",
    ));
    alice.send("NS INFO");
    alice.expect_line(&ns("alice_away", "Additional grouped nick: alice_away"));

    // Strict enforcement: nobody else may take the nicks.
    alice.send("NS SET ENFORCE strict");
    alice.expect_line(&ns(
        "alice_away",
        "Successfully changed your account settings",
    ));
    alice.expect_line(&ns(
        "alice_away",
        "Your stored nickname enforcement setting is: strict",
    ));
    let mut bob = srv.client("bob");
    bob.send("NICK alice");
    bob.expect_line(":pico.test 433 bob alice :Nickname is reserved by a different account");
    bob.send("NICK NickServ");
    bob.expect_line(" 433 bob NickServ ");

    // GHOST: alice's second connection takes back a nick of hers.
    let mut second = srv.client("second");
    second.send("NS IDENTIFY alice first-pw");
    second.expect_line(&ns("second", "You're now logged in as alice"));
    second.send("NS GHOST alice_away");
    alice.expect_line("ERROR :GHOSTed by second");
    second.send("NS GHOST bob");
    second.expect_line(&ns("second", "You don't own that nick"));

    // PASSWD: the old password stops working, the new one works.
    second.send("NS PASSWD first-pw second-pw nope");
    second.expect_line(&ns("second", "Passwords do not match"));
    second.send("NS PASSWD wrong second-pw second-pw");
    second.expect_line(&ns("second", "Password incorrect"));
    second.send("NS PASSWD first-pw second-pw second-pw");
    second.expect_line(&ns("second", "Password changed"));
    let mut third = srv.client("third");
    third.send("NS IDENTIFY alice first-pw");
    third.expect_line(&ns(
        "third",
        "Authentication failed: Invalid account credentials",
    ));
    third.send("NS IDENTIFY alice second-pw");
    third.expect_line(&ns("third", "You're now logged in as alice"));

    // DROP the grouped nick; UNREGISTER with its confirmation code.
    second.send("NS DROP alice_away");
    second.expect_line(&ns(
        "second",
        "Successfully ungrouped nick alice_away with your account",
    ));
    second.send("NS UNREGISTER alice");
    let lines = second.expect("To confirm, run this command: /NS UNREGISTER alice ");
    let code = lines
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(code.len(), 8, "{code}");
    second.send(&format!("NS UNREGISTER alice {code}"));
    second.expect_line(&ns("second", "Successfully unregistered account alice"));
    // Every client logged in to it is logged out.
    third.expect_line(" 901 third ");
    bob.send("NICK alice");
    bob.expect(" NICK ");
}

#[test]
fn wrong_passwords_are_throttled_per_address() {
    let srv = start();
    let mut alice = srv.client("alice");
    ns_register(&mut alice, "alice", "right-pw");
    let mut guesser = srv.client("guesser");
    for _ in 0..3 {
        guesser.send("NS IDENTIFY alice guess");
        guesser.expect_line("Authentication failed: Invalid account credentials");
    }
    guesser.send("NS IDENTIFY alice right-pw");
    let line = guesser.expect_line(" NOTICE guesser :");
    assert!(line.contains(":Please wait at least "), "{line}");

    // Per account: ten failures from ten addresses lock the account for
    // everyone, even with the right password; other accounts are free.
    let mut bob = srv.client("bob");
    ns_register(&mut bob, "bob", "bobs-pw");
    for k in 1..=10 {
        let mut g = util::fleet::connect_from(util::fleet::source_ip(k), srv.addr);
        g.register(&format!("g{k}"));
        g.send("NS IDENTIFY bob wrong");
        g.expect_line("Authentication failed: Invalid account credentials");
    }
    let mut other = util::fleet::connect_from(util::fleet::source_ip(20), srv.addr);
    other.register("other");
    other.send("NS IDENTIFY bob bobs-pw");
    let line = other.expect_line(" NOTICE other :");
    assert!(line.contains(":Please wait at least "), "{line}");
    other.send("NS IDENTIFY alice right-pw");
    other.expect_line("You're now logged in as alice");
}

#[test]
fn kill_9_during_a_burst_of_registrations_keeps_every_acknowledged_account() {
    let srv = start();
    // Ten connections register accounts one after another, as fast as the
    // server acknowledges them; the server is killed mid-way.
    let mut acked: Vec<String> = Vec::new();
    let mut conns: Vec<(Client, usize)> = (0..10)
        .map(|i| {
            let mut c = srv.client(&format!("u{i}x0"));
            c.send("NS REGISTER pw");
            (c, 0)
        })
        .collect();
    // 1,000 registrations are planned; the server dies after half.
    let target = 500;
    'outer: while acked.len() < target {
        for (i, (c, n)) in conns.iter_mut().enumerate() {
            let nick = format!("u{i}x{n}");
            c.expect_line(&ns(&nick, &format!("You're now logged in as {nick}")));
            acked.push(nick);
            *n += 1;
            c.send("NS LOGOUT");
            c.send(&format!("NICK u{i}x{}", *n));
            c.send("NS REGISTER pw");
            if acked.len() >= target {
                break 'outer;
            }
        }
    }
    let srv = srv.restart("KILL");
    let mut check = srv.client("checker");
    for nick in &acked {
        check.send(&format!("NS INFO {nick}"));
        check.expect_line(&ns("checker", &format!("Account: {nick}")));
    }
}

#[test]
fn a_datastore_that_cannot_be_written_refuses_and_keeps_what_was_acknowledged() {
    // A file-size limit a little over the empty datastore: the first
    // accounts fit, later ones fail with EFBIG (not a crash: SIGXFSZ is
    // ignored), are rolled back and reported.
    let srv = TestServer::launch(
        &config(""),
        Launch {
            wrapper: vec!["prlimit".into(), "--fsize=2048".into(), "--".into()],
            ..Launch::default()
        },
    );
    let mut ok = Vec::new();
    let mut refused = false;
    for i in 0..40 {
        let nick = format!("n{i}");
        let mut c = srv.client(&nick);
        c.send("NS REGISTER pw-pw-pw");
        let line = c.expect_line(&format!("NOTICE {nick} :"));
        if line == ns(&nick, "Account created") {
            ok.push(nick);
        } else {
            assert_eq!(line, ns(&nick, "Could not register"));
            refused = true;
            break;
        }
    }
    assert!(refused, "the file-size limit never hit");
    assert!(!ok.is_empty(), "nothing fit under the limit");
    srv.expect_log("datastore write failed");
    let srv = srv.restart("TERM");
    let mut check = srv.client("checker");
    for nick in &ok {
        check.send(&format!("NS INFO {nick}"));
        check.expect_line(&ns("checker", &format!("Account: {nick}")));
    }
}

#[test]
fn a_damaged_datastore_is_repaired_or_refused_at_start() {
    let srv = start();
    let mut a = srv.client("keeper");
    ns_register(&mut a, "keeper", "pw1");
    let mut b = srv.client("lost");
    ns_register(&mut b, "lost", "pw2");
    drop((a, b));
    let mut srv = srv;
    srv.signal("TERM");
    srv.wait_exit();
    let db = srv.dir.join("ircd.db");
    // Cut the last record in half: the start repairs it, keeps a copy,
    // and says so.
    let len = std::fs::metadata(&db).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    let conf = std::fs::read_to_string(&srv.conf).unwrap();
    let dir = srv.dir.clone();
    let srv2 = TestServer::launch(
        &conf,
        Launch {
            files: vec![("ircd.db".into(), std::fs::read(&db).unwrap())],
            ..Launch::default()
        },
    );
    let repaired = srv2.expect_log("the whole original file is saved as");
    assert!(repaired.contains(" warn "), "{repaired}");
    let mut check = srv2.client("checker");
    check.send("NS INFO keeper");
    check.expect_line(&ns("checker", "Account: keeper"));
    check.send("NS INFO lost");
    check.expect_line(&ns("checker", "That nickname is not registered"));
    assert!(std::fs::read_dir(&srv2.dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("ircd.db.corrupt-")));
    drop(dir);

    // Garbage from the first byte is not a datastore: the start stops.
    let bad = util::temp_dir("accounts", "garbage");
    std::fs::write(bad.join("ircd.db"), b"this is not a datastore at all\n").unwrap();
    let err = util::run_must_fail(&bad, &config(""));
    assert!(err.contains("datastore"), "{err}");
    assert_eq!(
        std::fs::read(bad.join("ircd.db")).unwrap(),
        b"this is not a datastore at all\n",
        "left untouched"
    );
}

#[test]
fn a_reserved_nick_is_renamed_after_the_grace_period_unless_its_owner_logs_in() {
    let srv = TestServer::with_config(&config(
        "\n[accounts]\nnick-enforcement = \"timeout\"\nenforcement-grace = \"1s\"\n",
    ));
    let mut alice = srv.client("alice");
    ns_register(&mut alice, "alice", "pw-of-alice");
    alice.send("QUIT");
    drop(alice);

    // An impostor is warned, then renamed.
    let mut imp = srv.connect();
    let burst = imp.register("alice");
    let _ = burst;
    imp.expect_line(&ns(
        "alice",
        "This nickname is reserved by a different account. Please log in within 1s (using /msg NickServ IDENTIFY <password> or SASL), or switch to a different nickname.",
    ));
    let started = Instant::now();
    let line = imp.expect_line(" NICK ");
    assert!(
        line.starts_with(":alice!") && line.contains(" NICK :Guest"),
        "{line}"
    );
    assert!(started.elapsed() < WAIT);
    drop(imp);

    // The owner, logging in within the grace period, keeps the nick.
    let mut owner = srv.client("alice");
    owner.expect_line("This nickname is reserved");
    owner.send("NS IDENTIFY pw-of-alice");
    owner.expect_line(&ns("alice", "You're now logged in as alice"));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    owner.send("PING :after");
    let lines = owner.expect("PONG");
    assert!(!lines.iter().any(|l| l.contains(" NICK ")), "{lines:?}");
}

#[test]
fn read_markers_are_shared_by_the_connections_of_an_account() {
    let srv = start();
    let mut first = srv.connect();
    first.send("CAP REQ :draft/read-marker");
    first.expect(" ACK ");
    first.send("CAP END");
    first.register("alice");
    ns_register(&mut first, "alice", "markers-pw");
    let mut second = srv.connect();
    second.send("CAP REQ :draft/read-marker");
    second.expect(" ACK ");
    second.send("CAP END");
    second.register("alice2");
    second.send("NS IDENTIFY alice markers-pw");
    second.expect_line("You're now logged in as alice");

    first.send("MARKREAD #c timestamp=2026-01-01T00:00:00.000Z");
    first.expect_line(":pico.test MARKREAD #c timestamp=2026-01-01T00:00:00.000Z");
    second.expect_line(":pico.test MARKREAD #c timestamp=2026-01-01T00:00:00.000Z");
    // A later connection of the account reads it back; another user does not.
    let mut third = srv.client("alice3");
    third.send("NS IDENTIFY alice markers-pw");
    third.expect_line("You're now logged in as alice");
    third.send("MARKREAD #c");
    third.expect_line(":pico.test MARKREAD #c timestamp=2026-01-01T00:00:00.000Z");
    let mut bob = srv.client("bob");
    bob.send("MARKREAD #c");
    bob.expect_line(":pico.test MARKREAD #c *");
}

#[test]
fn nickserv_registrations_are_throttled_per_address() {
    let srv = TestServer::with_config(
        &(base_config().replace(
            "network = \"PicoNet\"\n",
            "network = \"PicoNet\"\nbcrypt-cost = 4\n",
        ) + "\n[accounts]\nregistrations-per-minute = 2\n"),
    );
    for nick in ["first", "second"] {
        let mut c = srv.client(nick);
        ns_register(&mut c, nick, "pw-pw-pw");
    }
    let mut third = srv.client("third");
    third.send("NS REGISTER pw-pw-pw");
    third.expect_line(&ns(
        "third",
        "There have been too many registration attempts recently; try again later",
    ));
}

#[test]
fn nickserv_help_settings_and_its_shape_as_a_service() {
    let srv = start();
    let mut alice = srv.client("alice");
    // HELP by PRIVMSG and by the NS command, a command's own help, and
    // the replies to an unknown command and to missing parameters.
    alice.send("PRIVMSG NickServ :HELP");
    let help = alice.expect(&ns("alice", "*** \x02End of NickServ HELP\x02 ***"));
    assert_eq!(help[0], ns("alice", "*** \x02NickServ HELP\x02 ***"));
    assert!(
        help.contains(&ns(
            "alice",
            "    \x02REGISTER\x02 lets you register a user account."
        )),
        "{help:?}"
    );
    assert!(
        !help.iter().any(|l| l.contains("ENFORCE")),
        "hidden: {help:?}"
    );
    alice.send("NS HELP REGISTER");
    alice.expect_line(&ns("alice", "Syntax: \x02REGISTER <password> [email]\x02"));
    alice.send("NS FROBNICATE");
    alice.expect_line(&ns(
        "alice",
        "Unknown command. To see available commands, run: /NS HELP",
    ));
    alice.send("NICKSERV IDENTIFY");
    alice.expect_line(&ns(
        "alice",
        "Invalid parameters. For usage, do /msg NickServ HELP IDENTIFY",
    ));
    alice.send("NS GET enforce");
    alice.expect_line(&ns("alice", "You're not logged into an account"));
    // CTCP VERSION, WHOIS, and a NOTICE that goes nowhere.
    alice.send("PRIVMSG NickServ :\x01VERSION\x01");
    let version = alice.expect_line(" NOTICE alice :\x01VERSION ");
    assert!(
        version.starts_with(":NickServ!NickServ@localhost "),
        "{version}"
    );
    alice.send("NOTICE NickServ :hello");
    alice.send("WHOIS NickServ");
    let whois = alice.expect(" 318 ");
    assert_eq!(
        whois[0],
        ":pico.test 311 alice NickServ NickServ localhost * :Network service, for more info /msg NickServ HELP"
    );

    ns_register(&mut alice, "alice", "settings-pw");
    alice.send("NS SET EMAIL alice@example.org");
    alice.expect_line(&ns("alice", "Successfully changed your account settings"));
    alice.expect_line(&ns(
        "alice",
        "Your stored e-mail address is: alice@example.org",
    ));
    alice.send("NS GET email");
    alice.expect_line(&ns(
        "alice",
        "Your stored e-mail address is: alice@example.org",
    ));
    alice.send("NS ENFORCE none");
    alice.expect_line(&ns(
        "alice",
        "Your stored nickname enforcement setting is: none",
    ));
    alice.expect_line(&ns(
        "alice",
        "Given current server settings, your nickname is enforced with: none",
    ));
    alice.send("NS GET enforce");
    alice.expect_line(&ns(
        "alice",
        "Your stored nickname enforcement setting is: none",
    ));
    alice.send("NS GET colour");
    alice.expect_line(&ns("alice", "No such setting"));
    alice.send("NS SET PASSWORD x");
    alice.expect_line(&ns(
        "alice",
        "To change a password, use the PASSWD command. For details, /msg NickServ HELP PASSWD",
    ));
    alice.send("NS INFO");
    alice.expect_line(&ns("alice", "Email address: alice@example.org"));
}
