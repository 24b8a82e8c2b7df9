//! draft/account-registration end to end (issue #7): the capability and
//! its value, `REGISTER` before connection registration (held until the
//! datastore has the account, then 900 and the welcome) and after it,
//! every `FAIL REGISTER`/`FAIL VERIFY` code picoircd sends, the
//! per-address throttle, a datastore that cannot be written, and an
//! account that survives a restart. The server runs with
//! `bcrypt-cost = 4` so that hashing is quick.

mod util;

use util::{base_config, Client, Launch, TestServer};

/// The test config with cheap bcrypt, `accounts` as the `[accounts]`
/// section's lines and `extra` appended.
fn config_with(accounts: &str, extra: &str) -> String {
    let base = base_config();
    assert!(base.contains("network = \"PicoNet\"\n"));
    base.replace(
        "network = \"PicoNet\"\n",
        "network = \"PicoNet\"\nbcrypt-cost = 4\n",
    ) + "\n[accounts]\n"
        + accounts
        + "\n"
        + extra
}

/// Registration unthrottled (the tests register many accounts from
/// 127.0.0.1).
fn config() -> String {
    config_with("registrations-per-minute = 0", "")
}

fn start() -> TestServer {
    TestServer::with_config(&config())
}

/// A connection that started CAP negotiation (registration waits for
/// CAP END) with `caps` on, and sent NICK and USER.
fn early(srv: &TestServer, nick: &str, caps: &str) -> Client {
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.expect(" LS ");
    if !caps.is_empty() {
        c.send(&format!("CAP REQ :{caps}"));
        c.expect(" ACK ");
    }
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} real"));
    c.nick = nick.into();
    c
}

/// The capabilities `CAP LS 302` advertises (over one or more lines).
fn cap_ls(c: &mut Client) -> Vec<String> {
    c.send("CAP LS 302");
    let mut caps = Vec::new();
    loop {
        let l = c.expect_line(" LS ");
        let (head, list) = l.split_once(" :").expect("a list");
        caps.extend(list.split(' ').map(String::from));
        if !head.ends_with(" *") {
            return caps;
        }
    }
}

/// The `FAIL` line `c` gets for `line`.
fn fail_for(c: &mut Client, line: &str) -> String {
    c.send(line);
    c.expect_line(" FAIL ")
}

fn position(lines: &[String], what: impl Fn(&str) -> bool) -> usize {
    lines
        .iter()
        .position(|l| what(l))
        .unwrap_or_else(|| panic!("not found in {lines:#?}"))
}

#[test]
fn cap_ls_302_value_follows_the_config() {
    // Default: offered, with before-connect (no email-required, no
    // custom-account-name).
    let srv = start();
    let mut c = srv.connect();
    let caps = cap_ls(&mut c);
    assert!(
        caps.contains(&"draft/account-registration=before-connect".to_string()),
        "{caps:?}"
    );
    // Without 302: the bare name.
    let mut old = srv.connect();
    old.send("CAP LS");
    let l = old.expect_line(" LS ");
    assert!(
        l.split(' ').any(|w| w == "draft/account-registration"),
        "{l}"
    );
    drop(srv);

    // A server password is checked only at the end of connection
    // registration, so early REGISTER would bypass it: no before-connect,
    // and REGISTER/VERIFY say so before registration.
    let hash = bcrypt::hash("letmein", 4).expect("bcrypt");
    let conf = config().replacen(
        "[server]\n",
        &format!("[server]\npassword = \"{hash}\"\n"),
        1,
    );
    let srv = TestServer::with_config(&conf);
    let mut c = srv.connect();
    let caps = cap_ls(&mut c);
    assert!(
        caps.contains(&"draft/account-registration".to_string()),
        "{caps:?}"
    );
    c.send("NICK early");
    c.send("USER early 0 * :x");
    assert_eq!(
        fail_for(&mut c, "REGISTER * * hunter22"),
        ":pico.test FAIL REGISTER COMPLETE_CONNECTION_REQUIRED :You must complete the connection before registering your account"
    );
    assert_eq!(
        fail_for(&mut c, "VERIFY early 1234"),
        ":pico.test FAIL VERIFY COMPLETE_CONNECTION_REQUIRED :You must complete the connection before verifying your account"
    );
    // After PASS and registration it works.
    c.send("PASS letmein");
    c.send("CAP END");
    c.expect(" 221 ");
    c.send("REGISTER * * hunter22");
    c.expect_line(":pico.test REGISTER SUCCESS early :Account successfully registered");
    drop(srv);

    // Registration off: not offered, and refused.
    let srv = TestServer::with_config(&config_with(
        "registration = false\nregistrations-per-minute = 0",
        "",
    ));
    let mut c = srv.connect();
    let caps = cap_ls(&mut c);
    assert!(
        !caps
            .iter()
            .any(|w| w.starts_with("draft/account-registration")),
        "{caps:?}"
    );
    c.send("CAP END");
    c.register("nobody");
    assert_eq!(
        fail_for(&mut c, "REGISTER * * hunter22"),
        ":pico.test FAIL REGISTER DISALLOWED nobody :Account registration is disabled"
    );
    assert_eq!(
        fail_for(&mut c, "VERIFY nobody 1234"),
        ":pico.test FAIL VERIFY DISALLOWED nobody :Account registration is disabled"
    );
}

#[test]
fn register_before_connect_then_cap_end_logs_in() {
    let srv = start();
    let mut watcher = srv.connect();
    watcher.send("CAP REQ :account-tag");
    watcher.expect(" ACK ");
    watcher.send("CAP END");
    watcher.register("watcher");

    let mut c = early(&srv, "alice", "account-tag");
    // REGISTER and CAP END at once: the welcome waits for the datastore,
    // so SUCCESS and 900 come first and 221 shows +r.
    c.send("REGISTER * * hunter22");
    c.send("CAP END");
    let lines = c.expect(" 221 ");
    let success = position(&lines, |l| {
        l == ":pico.test REGISTER SUCCESS alice :Account successfully registered"
    });
    let logged_in = position(&lines, |l| {
        l.starts_with(":pico.test 900 alice alice!")
            && l.ends_with(" alice :You are now logged in as alice")
    });
    let welcome = position(&lines, |l| l.starts_with(":pico.test 001 alice "));
    assert!(success < logged_in && logged_in < welcome, "{lines:#?}");
    assert!(
        lines.last().unwrap().ends_with(" 221 alice +ir"),
        "{lines:#?}"
    );
    // No MODE +r line before registration (221 carries it), and no 903
    // (that is SASL's).
    assert!(!lines.iter().any(|l| l.contains(" MODE ")), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains(" 903 ")), "{lines:#?}");

    // Peers see the account.
    c.send("PRIVMSG watcher :hi");
    let got = watcher.expect_line("PRIVMSG watcher :hi");
    assert!(got.starts_with("@account=alice :alice!"), "{got}");
    watcher.send("WHOIS alice");
    let whois = watcher.expect(" 318 ");
    assert!(
        whois.contains(&":pico.test 330 watcher alice alice :is logged in as".to_string()),
        "{whois:#?}"
    );
    // Already logged in.
    assert_eq!(
        fail_for(&mut c, "REGISTER * * another1"),
        ":pico.test FAIL REGISTER ALREADY_AUTHENTICATED alice :You have already registered or attempted to register"
    );
    assert_eq!(
        fail_for(&mut c, "VERIFY alice 123456"),
        ":pico.test FAIL VERIFY ALREADY_AUTHENTICATED alice :You have already registered or attempted to register"
    );
}

#[test]
fn register_after_connect_with_an_address_and_the_account_named_explicitly() {
    let srv = start();
    let mut c = srv.client("Bob");
    // The account parameter may be the nick in any case.
    c.send("REGISTER bob bob@example.org s3cret-pw");
    let lines = c.expect(":pico.test MODE Bob :+r");
    assert_eq!(
        lines[0],
        ":pico.test REGISTER SUCCESS Bob :Account successfully registered"
    );
    assert!(
        lines[1].starts_with(":pico.test 900 Bob Bob!")
            && lines[1].ends_with(" Bob :You are now logged in as Bob"),
        "{lines:#?}"
    );
    // The address was stored.
    c.send("NS INFO");
    let info = c.expect("registered channel(s).");
    assert!(
        info.contains(
            &":NickServ!NickServ@localhost NOTICE Bob :Email address: bob@example.org".to_string()
        ),
        "{info:#?}"
    );
    // A taken name is ACCOUNT_EXISTS: a client on the account's nick
    // (the default "timeout" enforcement lets it take it for a while).
    drop(c);
    let mut other = srv.client("BOB");
    assert_eq!(
        fail_for(&mut other, "REGISTER * * another-pw"),
        ":pico.test FAIL REGISTER ACCOUNT_EXISTS BOB :Username is already registered or otherwise unavailable"
    );
    // VERIFY: no registration ever waits for a code here.
    assert_eq!(
        fail_for(&mut other, "VERIFY BOB 123456"),
        ":pico.test FAIL VERIFY INVALID_CODE BOB :Invalid verification code"
    );
}

#[test]
fn every_refusal_has_its_code() {
    let srv = start();
    // Before NICK.
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.expect(" LS ");
    assert_eq!(
        fail_for(&mut c, "REGISTER * * hunter22"),
        ":pico.test FAIL REGISTER NEED_NICK * :You must choose a nickname before registering"
    );
    c.send("NICK carol");
    c.send("USER carol 0 * :x");
    let cases = [
        (
            "REGISTER dave * hunter22",
            "ACCOUNT_NAME_MUST_BE_NICK dave :You may only register your nickname as your account name",
        ),
        (
            "REGISTER * * abc",
            "WEAK_PASSWORD carol :Password is too weak: use at least 4 characters",
        ),
        (
            "REGISTER * * CAROL",
            "WEAK_PASSWORD carol :Password is too weak: it must not be your account name",
        ),
        ("REGISTER * * *", "UNACCEPTABLE_PASSWORD carol :Password was invalid"),
        (
            "REGISTER * * :two words",
            "UNACCEPTABLE_PASSWORD carol :Password was invalid",
        ),
        ("REGISTER * * :", "UNACCEPTABLE_PASSWORD carol :Password was invalid"),
        (
            "REGISTER * not-an-address hunter22",
            "INVALID_EMAIL carol :A valid e-mail address is required",
        ),
        (
            "REGISTER * a..b@example.org hunter22",
            "INVALID_EMAIL carol :A valid e-mail address is required",
        ),
        (
            "REGISTER * root@localhost hunter22",
            "UNACCEPTABLE_EMAIL carol :Addresses without a public domain name are not accepted",
        ),
        (
            "REGISTER * me@[192.0.2.1] hunter22",
            "UNACCEPTABLE_EMAIL carol :Addresses without a public domain name are not accepted",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(
            fail_for(&mut c, line),
            format!(":pico.test FAIL REGISTER {want}"),
            "{line}"
        );
    }
    let long = format!("REGISTER * * {}", "p".repeat(301));
    assert_eq!(
        fail_for(&mut c, &long),
        ":pico.test FAIL REGISTER UNACCEPTABLE_PASSWORD carol :Password was invalid"
    );
    // Too few parameters: 461, as every command.
    c.send("REGISTER * hunter22");
    c.expect_line(":pico.test 461 carol REGISTER :Not enough parameters");
    c.send("VERIFY carol");
    c.expect_line(":pico.test 461 carol VERIFY :Not enough parameters");
    // None of that registered anything, nor held registration.
    c.send("CAP END");
    let burst = c.expect(" 221 ");
    assert!(
        burst.last().unwrap().ends_with(" 221 carol +i"),
        "{burst:#?}"
    );
    c.send("NS INFO carol");
    c.expect_line(":NickServ!NickServ@localhost NOTICE carol :That nickname is not registered");

    // The names nick enforcement gives are never accounts.
    let mut guest = srv.client("Guest4242");
    assert_eq!(
        fail_for(&mut guest, "REGISTER * * hunter22"),
        ":pico.test FAIL REGISTER BAD_ACCOUNT_NAME Guest4242 :Guest nicknames cannot be registered"
    );
}

#[test]
fn a_flood_from_one_address_is_throttled() {
    let srv = TestServer::with_config(&config_with("registrations-per-minute = 2", ""));
    for nick in ["one", "two"] {
        let mut c = srv.client(nick);
        c.send("REGISTER * * hunter22");
        c.expect_line(&format!(
            ":pico.test REGISTER SUCCESS {nick} :Account successfully registered"
        ));
    }
    // The third from 127.0.0.1 this minute, also before connection
    // registration; registration then goes on, without an account.
    let mut c = early(&srv, "three", "");
    let line = fail_for(&mut c, "REGISTER * * hunter22");
    let wait = line
        .strip_prefix(":pico.test FAIL REGISTER TEMPORARILY_UNAVAILABLE three :Too many registrations from your address; please wait at least ")
        .and_then(|rest| rest.strip_suffix("s and try again"))
        .unwrap_or_else(|| panic!("{line}"));
    let secs: u64 = wait.parse().expect("seconds");
    assert!((1..=60).contains(&secs), "{line}");
    c.send("CAP END");
    let burst = c.expect(" 221 ");
    assert!(
        burst.last().unwrap().ends_with(" 221 three +i"),
        "{burst:#?}"
    );
    // Refusals that cost no hash are not counted, and are still answered.
    assert_eq!(
        fail_for(&mut c, "REGISTER * * abc"),
        ":pico.test FAIL REGISTER WEAK_PASSWORD three :Password is too weak: use at least 4 characters"
    );
    // NickServ's REGISTER counts against the same limit.
    c.send("NS REGISTER hunter22");
    c.expect_line(":NickServ!NickServ@localhost NOTICE three :There have been too many registration attempts recently; try again later");
}

#[test]
fn an_account_registered_before_connect_survives_a_restart() {
    let srv = start();
    let mut c = early(&srv, "dora", "");
    c.send("REGISTER * dora@example.net correct-horse");
    c.expect_line(":pico.test REGISTER SUCCESS dora :Account successfully registered");
    c.send("CAP END");
    c.expect(" 221 ");
    drop(c);

    let srv = srv.restart("TERM");
    // SASL PLAIN with the password given to REGISTER.
    let mut c = srv.connect();
    c.send("CAP REQ :sasl");
    c.expect(" ACK ");
    c.send("NICK dora");
    c.send("USER dora 0 * :x");
    c.send("AUTHENTICATE PLAIN");
    c.expect_line("AUTHENTICATE +");
    c.send(&format!(
        "AUTHENTICATE {}",
        util::b64(b"\0dora\0correct-horse")
    ));
    c.expect_line(":pico.test 903 dora :Authentication successful");
    c.send("CAP END");
    let burst = c.expect(" 221 ");
    assert!(
        burst.last().unwrap().ends_with(" 221 dora +ir"),
        "{burst:#?}"
    );
    // The address was kept (shown to the owner).
    c.send("NS INFO");
    c.expect_line(":NickServ!NickServ@localhost NOTICE dora :Email address: dora@example.net");
    drop(c);
    // The name is still taken.
    let mut other = early(&srv, "DORA", "");
    assert_eq!(
        fail_for(&mut other, "REGISTER * * hunter22"),
        ":pico.test FAIL REGISTER ACCOUNT_EXISTS DORA :Username is already registered or otherwise unavailable"
    );
}

#[test]
fn a_datastore_that_cannot_be_written_fails_register_and_lets_registration_go_on() {
    // A file-size limit a little over the empty datastore: the first
    // accounts fit, a later one fails with EFBIG and is rolled back.
    let srv = TestServer::launch(
        &config(),
        Launch {
            wrapper: vec!["prlimit".into(), "--fsize=2048".into(), "--".into()],
            ..Launch::default()
        },
    );
    let mut ok = Vec::new();
    let mut refused = false;
    for i in 0..40 {
        let nick = format!("r{i}");
        let mut c = early(&srv, &nick, "");
        c.send("REGISTER * * pw-pw-pw");
        c.send("CAP END");
        let lines = c.expect(" 221 ");
        let welcome = position(&lines, |l| l.starts_with(":pico.test 001 "));
        let success =
            format!(":pico.test REGISTER SUCCESS {nick} :Account successfully registered");
        let failed =
            format!(":pico.test FAIL REGISTER TEMPORARILY_UNAVAILABLE {nick} :Could not register");
        if let Some(at) = lines.iter().position(|l| *l == success) {
            assert!(at < welcome, "{lines:#?}");
            assert!(lines.last().unwrap().ends_with(" +ir"), "{lines:#?}");
            ok.push(nick);
        } else {
            let at = position(&lines, |l| l == failed);
            assert!(at < welcome, "{lines:#?}");
            assert!(
                lines.last().unwrap().ends_with(&format!(" 221 {nick} +i")),
                "{lines:#?}"
            );
            assert!(!lines.iter().any(|l| l.contains(" 900 ")), "{lines:#?}");
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
        check.expect_line(&format!(
            ":NickServ!NickServ@localhost NOTICE checker :Account: {nick}"
        ));
    }
}
