//! End-to-end proof of the core commands: the real binary on a loopback
//! port, two to four raw-socket clients at once, exact lines where clients
//! and bots parse them.
//!
//! Each scenario is a function over a running server, so that each runs as
//! its own test (on its own server) and, in
//! `server_keeps_serving_after_every_scenario`, all of them run one after
//! the other on a single server that must still welcome a new client at
//! the end. A scenario's clients are dropped when it returns; `settle`
//! waits until the server has seen them go.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use util::{base_config, host, join, mask, Client, TestServer};

/// The oper password used by `config()`.
const OPER_PW: &str = "hunter2";

/// Every nick a scenario uses (for `settle`).
const NICKS: &str = "alice bob carol dave eve alicia bobby";

/// One bcrypt hash of `OPER_PW` per test binary (cost 4: fast).
fn oper_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(OPER_PW, 4).expect("bcrypt"))
}

/// `base_config()` plus an `[admin]` block, an oper class with kill,
/// rehash and wallops, and an oper `boss` with a vhost and WHOIS line.
fn config() -> String {
    format!(
        r#"{}
[admin]
location1 = "A Raspberry Pi in a cupboard"
location2 = "The Example Club"
email = "admin@example.org"

[oper-classes.netadmin]
title = "Net Admin"
capabilities = ["kill", "rehash", "wallops"]

[[oper]]
name = "boss"
class = "netadmin"
password = "{}"
whois-line = "is the boss"
vhost = "staff.pico"
"#,
        base_config(),
        oper_hash()
    )
}

fn server() -> TestServer {
    TestServer::with_config(&config())
}

// ----- helpers -------------------------------------------------------------

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// `ts` is a Unix time within the last few minutes.
fn assert_recent(ts: &str) {
    let t: u64 = ts.parse().unwrap_or_else(|_| panic!("a timestamp: {ts:?}"));
    let now = now_secs();
    assert!(
        t <= now + 5 && t + 300 >= now,
        "{t} is not about now ({now})"
    );
}

/// The names of a NAMES reply (sorted; member order follows connection
/// slots), checking every 353 line's form and the 366.
fn names(c: &mut Client, chan: &str, symbol: &str) -> Vec<String> {
    let nick = c.nick.clone();
    c.send(&format!("NAMES {chan}"));
    let lines = c.expect(&format!(" 366 {nick} {chan} "));
    assert_eq!(
        lines.last().unwrap(),
        &format!(":pico.test 366 {nick} {chan} :End of NAMES list")
    );
    let head = format!(":pico.test 353 {nick} {symbol} {chan} :");
    let mut out: Vec<String> = Vec::new();
    for l in lines.iter().filter(|l| l.contains(" 353 ")) {
        let rest = l.strip_prefix(&head).unwrap_or_else(|| panic!("{l}"));
        out.extend(rest.split(' ').map(String::from));
    }
    out.sort();
    out
}

/// Nothing containing `needle` is queued for `c` (a PING/PONG barrier:
/// call it after the sender's own reply or `sync`, so that anything the
/// server would have sent `c` is already ahead of the PONG).
fn never(c: &mut Client, needle: &str) {
    let lines = c.sync();
    assert!(
        !lines.iter().any(|l| l.contains(needle)),
        "{} got {needle:?}: {lines:?}",
        c.nick
    );
}

/// Sends `line` and returns every line up to the one containing `end`.
fn ask(c: &mut Client, line: &str, end: &str) -> Vec<String> {
    c.sync();
    c.send(line);
    c.expect(end)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Waits until the server has let go of every scenario nick (the dropped
/// clients of the previous scenario), with a probe client that then quits.
fn settle(srv: &TestServer) {
    static PROBES: AtomicUsize = AtomicUsize::new(0);
    let mut p = srv.client(&format!("probe{}", PROBES.fetch_add(1, Ordering::SeqCst)));
    let deadline = Instant::now() + util::WAIT;
    loop {
        p.send(&format!("ISON {NICKS}"));
        let l = p.expect_line(" 303 ");
        if l.ends_with(" :") {
            break;
        }
        assert!(Instant::now() < deadline, "still online: {l}");
        std::thread::sleep(Duration::from_millis(20));
    }
    p.send("QUIT");
    assert!(p.closed());
}

// ----- NICK --------------------------------------------------------------

fn nick_change_collision_and_erroneous(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    join(&mut a, "#n");
    join(&mut b, "#n");
    let old = mask(&mut a);

    a.send("NICK alicia");
    let line = format!(":{old} NICK :alicia");
    assert_eq!(a.expect_line(" NICK "), line);
    assert_eq!(b.expect_line(" NICK "), line, "a channel peer sees it");
    a.nick = "alicia".into();

    a.send("NICK bob");
    assert_eq!(
        a.expect_line(" 433 "),
        ":pico.test 433 alicia bob :Nickname is already in use"
    );
    a.send("NICK 9lives");
    assert_eq!(
        a.expect_line(" 432 "),
        ":pico.test 432 alicia 9lives :Erroneous nickname"
    );
    a.send("NICK bad!nick");
    assert_eq!(
        a.expect_line(" 432 "),
        ":pico.test 432 alicia bad!nick :Erroneous nickname"
    );
    a.send("NICK");
    assert_eq!(
        a.expect_line(" 431 "),
        ":pico.test 431 alicia :No nickname given"
    );
    never(&mut b, " NICK ");

    // A collision during registration, then another nick registers.
    let mut c = srv.connect();
    c.send("NICK Alicia");
    c.send("USER carol 0 * :carol real");
    assert_eq!(
        c.expect_line(" 433 "),
        ":pico.test 433 * Alicia :Nickname is already in use"
    );
    c.send("NICK carol");
    assert_eq!(
        c.expect_line(" 001 "),
        ":pico.test 001 carol :Welcome to the PicoNet IRC Network carol"
    );

    // The old nick is free again, and the peer still reaches the new one.
    c.send("NICK alice");
    c.expect(" NICK :alice");
    b.send("PRIVMSG alicia :still there?");
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{} PRIVMSG alicia :still there?", mask(&mut b))
    );
}

#[test]
fn nick() {
    nick_change_collision_and_erroneous(&server());
}

// ----- JOIN / PART / TOPIC -----------------------------------------------

fn join_part_and_topic(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let (am, bm, cm) = (mask(&mut a), mask(&mut b), mask(&mut c));

    a.send("JOIN #a,#b,#c");
    a.expect(" 366 alice #c ");
    a.send("MODE #a +k ka");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #a +k ka"));
    a.send("MODE #b +k kb");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #b +k kb"));

    // Several channels with keys, in one line.
    b.send("JOIN #a,#b,#c ka,kb");
    let got = b.expect(" 366 bob #c ");
    for ch in ["#a", "#b", "#c"] {
        let line = format!(":{bm} JOIN {ch}");
        assert!(got.contains(&line), "{line} in {got:?}");
        assert_eq!(a.expect_line(&format!(" JOIN {ch}")), line);
    }

    // A wrong key refuses only its channel.
    c.send("JOIN #a,#b ka,nope");
    let got = c.expect(" 475 ");
    assert!(got.contains(&format!(":{cm} JOIN #a")), "{got:?}");
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 475 carol #b :Cannot join channel (+k)"
    );

    // TOPIC set, seen by everyone, then queried: 332 and 333.
    a.send("TOPIC #a :hello world");
    let line = format!(":{am} TOPIC #a :hello world");
    for x in [&mut a, &mut b, &mut c] {
        assert_eq!(x.expect_line(" TOPIC "), line);
    }
    let got = ask(&mut c, "TOPIC #a", " 333 ");
    assert_eq!(
        got[got.len() - 2..][0],
        ":pico.test 332 carol #a :hello world"
    );
    let l333 = got.last().unwrap();
    let ts = l333
        .strip_prefix(":pico.test 333 carol #a alice ")
        .unwrap_or_else(|| panic!("{l333}"));
    assert_recent(ts);

    // +t is on by default: a plain member may not set the topic.
    c.send("TOPIC #a :mine");
    assert_eq!(
        c.expect_line(" 482 "),
        ":pico.test 482 carol #a :You're not a channel operator"
    );
    a.send("MODE #a -t");
    assert_eq!(c.expect_line(" MODE "), format!(":{am} MODE #a -t"));
    c.send("TOPIC #a :carol's topic");
    assert_eq!(
        a.expect_line(" TOPIC "),
        format!(":{cm} TOPIC #a :carol's topic")
    );
    // No topic: 331 (also for a non-member of a public channel).
    let got = ask(&mut c, "TOPIC #c", " 331 ");
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 331 carol #c :No topic is set"
    );

    // PART with and without a reason.
    b.send("PART #a :see you");
    let line = format!(":{bm} PART #a :see you");
    assert_eq!(b.expect_line(" PART "), line);
    assert_eq!(a.expect_line(" PART "), line);
    assert_eq!(c.expect_line(" PART "), line);
    b.send("PART #b");
    let line = format!(":{bm} PART #b");
    assert_eq!(b.expect_line(" PART "), line);
    assert_eq!(a.expect_line(" PART "), line);

    // Rejoining shows the topic with its setter.
    b.send("JOIN #a ka");
    let got = b.expect(" 366 bob #a ");
    assert!(
        got.contains(&":pico.test 332 bob #a :carol's topic".to_string()),
        "{got:?}"
    );
    let l333 = got.iter().find(|l| l.contains(" 333 ")).expect("333");
    assert_recent(
        l333.strip_prefix(":pico.test 333 bob #a carol ")
            .unwrap_or_else(|| panic!("{l333}")),
    );

    // JOIN 0 parts every channel, without a reason.
    b.send("JOIN 0");
    let got = b.sync();
    let seen = a.sync();
    for ch in ["#a", "#c"] {
        let line = format!(":{bm} PART {ch}");
        assert!(got.contains(&line), "{line} in {got:?}");
        assert!(seen.contains(&line), "{line} in {seen:?}");
    }
    assert_eq!(names(&mut a, "#c", "="), ["@alice"]);

    b.send("PART #a");
    assert_eq!(
        b.expect_line(" 442 "),
        ":pico.test 442 bob #a :You're not on that channel"
    );
    b.send("PART #nope");
    assert_eq!(
        b.expect_line(" 403 "),
        ":pico.test 403 bob #nope :No such channel"
    );
}

#[test]
fn join_part_topic() {
    join_part_and_topic(&server());
}

// ----- NAMES / LIST --------------------------------------------------------

fn names_with_prefixes_and_caps(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let (am, bm, cm) = (mask(&mut a), mask(&mut b), mask(&mut c));
    join(&mut a, "#names");
    join(&mut b, "#names");
    join(&mut c, "#names");
    a.send("MODE #names +ovh bob bob carol");
    assert_eq!(
        a.expect_line(" MODE #names "),
        format!(":{am} MODE #names +ovh bob bob carol")
    );

    assert_eq!(
        names(&mut a, "#names", "="),
        ["%carol", "@alice", "@bob"],
        "the highest prefix only"
    );

    b.send("CAP REQ :multi-prefix userhost-in-names");
    assert_eq!(
        b.expect_line(" CAP "),
        ":pico.test CAP bob ACK :multi-prefix userhost-in-names"
    );
    assert_eq!(
        names(&mut b, "#names", "="),
        sorted(vec![format!("%{cm}"), format!("@+{bm}"), format!("@{am}")])
    );

    // An outsider sees no invisible (+i, the default) member.
    assert!(names(&mut d, "#names", "=").is_empty());
    b.send("MODE bob -i");
    assert_eq!(b.expect_line(" MODE bob"), format!(":{bm} MODE bob -i"));
    assert_eq!(names(&mut d, "#names", "="), ["@bob"]);
}

#[test]
fn names_multi_prefix_userhost_in_names() {
    names_with_prefixes_and_caps(&server());
}

fn list_with_elist(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    join(&mut a, "#l1");
    a.send("TOPIC #l1 :the topic");
    a.expect(" TOPIC #l1 ");
    join(&mut b, "#l1");
    join(&mut a, "#l2");
    join(&mut a, "#l3");
    a.send("MODE #l3 +s");
    a.expect(" MODE #l3 +s");

    let got = ask(&mut c, "LIST", " 323 ");
    assert_eq!(got[0], ":pico.test 321 carol Channel :Users  Name");
    assert_eq!(got.last().unwrap(), ":pico.test 323 carol :End of /LIST");
    assert_eq!(
        sorted(got[1..got.len() - 1].to_vec()),
        [
            ":pico.test 322 carol #l1 2 :[+nt] the topic",
            ":pico.test 322 carol #l2 1 :[+nt]",
        ]
    );

    let got = ask(&mut c, "LIST >1", " 323 ");
    assert_eq!(
        got,
        [
            ":pico.test 321 carol Channel :Users  Name",
            ":pico.test 322 carol #l1 2 :[+nt] the topic",
            ":pico.test 323 carol :End of /LIST",
        ]
    );
    let got = ask(&mut c, "LIST <2", " 323 ");
    assert_eq!(got[1], ":pico.test 322 carol #l2 1 :[+nt]");
    assert_eq!(got.len(), 3, "{got:?}");

    // A member sees its secret channel.
    let got = ask(&mut a, "LIST #l3", " 323 ");
    assert_eq!(got[1], ":pico.test 322 alice #l3 1 :[+nst]");
}

#[test]
fn list() {
    list_with_elist(&server());
}

// ----- INVITE / KICK -------------------------------------------------------

fn invite_and_invite_notify(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let am = mask(&mut a);
    join(&mut a, "#inv");
    join(&mut b, "#inv");
    a.send("MODE #inv +io bob");
    assert_eq!(b.expect_line(" MODE "), format!(":{am} MODE #inv +io bob"));
    b.send("CAP REQ :invite-notify");
    assert_eq!(
        b.expect_line(" CAP "),
        ":pico.test CAP bob ACK :invite-notify"
    );

    c.send("JOIN #inv");
    assert_eq!(
        c.expect_line(" 473 "),
        ":pico.test 473 carol #inv :Cannot join channel (+i)"
    );

    a.send("INVITE carol #inv");
    assert_eq!(a.expect_line(" 341 "), ":pico.test 341 alice carol #inv");
    let line = format!(":{am} INVITE carol #inv");
    assert_eq!(c.expect_line(" INVITE "), line);
    assert_eq!(
        b.expect_line(" INVITE "),
        line,
        "an op with invite-notify hears of it"
    );
    never(&mut a, " INVITE ");

    // The invite passes +i.
    let cm = mask(&mut c);
    let got = join(&mut c, "#inv");
    assert_eq!(got[0], format!(":{cm} JOIN #inv"));

    // A plain member may not invite to a +i channel, and hears nothing
    // of an op's invite.
    c.send("INVITE dave #inv");
    assert_eq!(
        c.expect_line(" 482 "),
        ":pico.test 482 carol #inv :You're not a channel operator"
    );
    a.send("INVITE dave #inv");
    a.expect(" 341 alice dave #inv");
    assert_eq!(d.expect_line(" INVITE "), format!(":{am} INVITE dave #inv"));
    never(&mut c, " INVITE dave");

    a.send("INVITE bob #inv");
    assert_eq!(
        a.expect_line(" 443 "),
        ":pico.test 443 alice bob #inv :is already on channel"
    );
    // Inviting someone away tells the inviter.
    d.send("AWAY :on holiday");
    d.expect(" 306 ");
    assert_eq!(
        ask(&mut a, "INVITE dave #inv", " 301 "),
        [
            ":pico.test 341 alice dave #inv",
            ":pico.test 301 alice dave :on holiday",
        ]
    );
    a.send("INVITE nobody #inv");
    assert_eq!(
        a.expect_line(" 401 "),
        ":pico.test 401 alice nobody :No such nick"
    );
}

#[test]
fn invite() {
    invite_and_invite_notify(&server());
}

fn kick_several_with_reason(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let am = mask(&mut a);
    join(&mut a, "#k");
    join(&mut b, "#k");
    join(&mut c, "#k");

    a.send("KICK #k bob,carol :bye now");
    let k1 = format!(":{am} KICK #k bob :bye now");
    let k2 = format!(":{am} KICK #k carol :bye now");
    assert_eq!(a.expect_line(" KICK #k bob "), k1);
    assert_eq!(a.expect_line(" KICK #k carol "), k2);
    assert_eq!(c.expect_line(" KICK "), k1);
    assert_eq!(c.expect_line(" KICK "), k2);
    assert_eq!(b.expect_line(" KICK "), k1);
    never(&mut b, " KICK #k carol ");
    assert_eq!(names(&mut a, "#k", "="), ["@alice"]);

    // No reason: the kicker's nick. A plain member may not kick.
    join(&mut b, "#k");
    join(&mut c, "#k");
    c.send("KICK #k bob");
    assert_eq!(
        c.expect_line(" 482 "),
        ":pico.test 482 carol #k :You're not a channel operator"
    );
    a.send("KICK #k bob");
    assert_eq!(b.expect_line(" KICK "), format!(":{am} KICK #k bob :alice"));
    a.send("KICK #k bob");
    assert_eq!(
        a.expect_line(" 441 "),
        ":pico.test 441 alice bob #k :They aren't on that channel"
    );
}

#[test]
fn kick() {
    kick_several_with_reason(&server());
}

// ----- channel MODE ----------------------------------------------------------

fn mode_query_key_limit_invite(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let am = mask(&mut a);
    join(&mut a, "#m");

    let got = ask(&mut a, "MODE #m", " 329 ");
    assert_eq!(got[got.len() - 2], ":pico.test 324 alice #m +nt");
    assert_recent(
        got.last()
            .unwrap()
            .strip_prefix(":pico.test 329 alice #m ")
            .expect("329"),
    );

    // +k: 475; the key shows to members only.
    a.send("MODE #m +k sesame");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #m +k sesame"));
    c.send("JOIN #m");
    assert_eq!(
        c.expect_line(" 475 "),
        ":pico.test 475 carol #m :Cannot join channel (+k)"
    );
    c.send("JOIN #m wrong");
    assert_eq!(
        c.expect_line(" 475 "),
        ":pico.test 475 carol #m :Cannot join channel (+k)"
    );
    assert_eq!(
        ask(&mut c, "MODE #m", " 324 ").pop().unwrap(),
        ":pico.test 324 carol #m +ntk *"
    );
    assert_eq!(
        ask(&mut a, "MODE #m", " 324 ").pop().unwrap(),
        ":pico.test 324 alice #m +ntk sesame"
    );

    // +l: 471 even with the key.
    a.send("MODE #m +l 1");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #m +l 1"));
    c.send("JOIN #m sesame");
    assert_eq!(
        c.expect_line(" 471 "),
        ":pico.test 471 carol #m :Cannot join channel (+l)"
    );
    a.send("MODE #m -l");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #m -l"));
    a.send("MODE #m -k sesame");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #m -k *"));

    // +i: 473; +I lets a matching mask in.
    a.send("MODE #m +i");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE #m +i"));
    c.send("JOIN #m");
    assert_eq!(
        c.expect_line(" 473 "),
        ":pico.test 473 carol #m :Cannot join channel (+i)"
    );
    a.send("MODE #m +I carol!*@*");
    assert_eq!(
        a.expect_line(" MODE "),
        format!(":{am} MODE #m +I carol!*@*")
    );
    let got = join(&mut c, "#m");
    assert!(got[0].ends_with(" JOIN #m"), "{got:?}");
    d.send("JOIN #m");
    assert_eq!(
        d.expect_line(" 473 "),
        ":pico.test 473 dave #m :Cannot join channel (+i)"
    );
    let got = ask(&mut a, "MODE #m I", " 347 ");
    let item = &got[got.len() - 2];
    let ts = item
        .strip_prefix(&format!(":pico.test 346 alice #m carol!*@* {am} "))
        .unwrap_or_else(|| panic!("{item}"));
    assert_recent(ts);
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 347 alice #m :End of channel invite list"
    );
}

#[test]
fn mode_query_key_limit_invite_only() {
    mode_query_key_limit_invite(&server());
}

fn bans_exceptions_and_evasion(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let am = mask(&mut a);
    join(&mut a, "#ban");
    join(&mut b, "#ban");
    let h = host(&mut b);

    // Every test client comes from 127.0.0.1, so they share one cloak:
    // a ban on it covers bob and carol (alice is op, which passes bans).
    a.send(&format!("MODE #ban +b *!*@{h}"));
    let line = format!(":{am} MODE #ban +b *!*@{h}");
    assert_eq!(a.expect_line(" MODE "), line);
    assert_eq!(b.expect_line(" MODE "), line);

    b.send("PRIVMSG #ban :can you hear me");
    assert_eq!(
        b.expect_line(" 404 "),
        ":pico.test 404 bob #ban :Cannot send to channel (+b)"
    );
    // Ban evasion: a new nick does not escape a host ban.
    b.send("NICK bobby");
    b.expect(" NICK :bobby");
    b.nick = "bobby".into();
    b.send("PRIVMSG #ban :and now?");
    assert_eq!(
        b.expect_line(" 404 "),
        ":pico.test 404 bobby #ban :Cannot send to channel (+b)"
    );
    never(&mut a, "PRIVMSG #ban");
    b.send("PART #ban");
    b.expect(" PART #ban");
    b.send("JOIN #ban");
    assert_eq!(
        b.expect_line(" 474 "),
        ":pico.test 474 bobby #ban :Cannot join channel (+b)"
    );
    c.send("JOIN #ban");
    assert_eq!(
        c.expect_line(" 474 "),
        ":pico.test 474 carol #ban :Cannot join channel (+b)"
    );

    // +e lets carol in (and talk), not bobby.
    a.send("MODE #ban +e carol!*@*");
    assert_eq!(
        a.expect_line(" MODE "),
        format!(":{am} MODE #ban +e carol!*@*")
    );
    join(&mut c, "#ban");
    let cm = mask(&mut c);
    c.send("PRIVMSG #ban :excepted");
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{cm} PRIVMSG #ban :excepted")
    );
    b.send("JOIN #ban");
    b.expect(" 474 bobby #ban ");

    let got = ask(&mut a, "MODE #ban b", " 368 ");
    let item = &got[got.len() - 2];
    assert_recent(
        item.strip_prefix(&format!(":pico.test 367 alice #ban *!*@{h} {am} "))
            .unwrap_or_else(|| panic!("{item}")),
    );
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 368 alice #ban :End of channel ban list"
    );
}

#[test]
fn bans_and_exceptions() {
    bans_exceptions_and_evasion(&server());
}

fn moderated_external_secret_noctcp(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let (am, bm, cm) = (mask(&mut a), mask(&mut b), mask(&mut c));
    join(&mut a, "#f");
    join(&mut b, "#f");

    // +m: unvoiced members are silenced; voiced ones talk.
    a.send("MODE #f +m");
    assert_eq!(b.expect_line(" MODE "), format!(":{am} MODE #f +m"));
    b.send("PRIVMSG #f :hi");
    assert_eq!(
        b.expect_line(" 404 "),
        ":pico.test 404 bob #f :Cannot send to channel (+m)"
    );
    a.send("MODE #f +v bob");
    assert_eq!(b.expect_line(" MODE "), format!(":{am} MODE #f +v bob"));
    b.send("PRIVMSG #f :now I can");
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{bm} PRIVMSG #f :now I can")
    );
    a.send("MODE #f -m");
    a.expect(" MODE #f -m");

    // +n (default): nothing from outside; -n lets it in.
    c.send("PRIVMSG #f :from outside");
    assert_eq!(
        c.expect_line(" 404 "),
        ":pico.test 404 carol #f :Cannot send to channel"
    );
    a.send("MODE #f -n");
    a.expect(" MODE #f -n");
    c.send("PRIVMSG #f :from outside");
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{cm} PRIVMSG #f :from outside")
    );
    a.send("MODE #f +n");
    a.expect(" MODE #f +n");

    // +C: CTCP blocked, ACTION allowed.
    a.send("MODE #f +C");
    assert_eq!(b.expect_line(" MODE #f +C"), format!(":{am} MODE #f +C"));
    b.send("PRIVMSG #f :\x01VERSION\x01");
    assert_eq!(
        b.expect_line(" 404 "),
        ":pico.test 404 bob #f :Cannot send to channel (+C)"
    );
    b.send("PRIVMSG #f :\x01ACTION waves\x01");
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{bm} PRIVMSG #f :\x01ACTION waves\x01")
    );
    never(&mut a, "VERSION");

    // +s: hidden from LIST, NAMES, WHO and WHOIS of outsiders.
    b.send("MODE bob -i");
    b.expect(" MODE bob -i");
    join(&mut a, "#pub");
    join(&mut b, "#pub");
    a.send("MODE #f +s");
    assert_eq!(b.expect_line(" MODE #f +s"), format!(":{am} MODE #f +s"));
    let got = ask(&mut c, "WHOIS bob", " 318 ");
    assert!(
        got.contains(&":pico.test 319 carol bob :#pub".to_string()),
        "{got:?}"
    );
    let got = ask(&mut a, "WHOIS bob", " 318 ");
    assert!(
        got.contains(&":pico.test 319 alice bob :+#f #pub".to_string()),
        "{got:?}"
    );
    let got = ask(&mut c, "LIST", " 323 ");
    assert!(!got.iter().any(|l| l.contains("#f")), "{got:?}");
    assert!(got.contains(&":pico.test 322 carol #pub 2 :[+nt]".to_string()));
    let got = ask(&mut b, "LIST", " 323 ");
    assert!(got.contains(&":pico.test 322 bob #f 2 :[+Cnst]".to_string()));
    assert!(names(&mut c, "#f", "@").is_empty());
    assert_eq!(
        ask(&mut c, "WHO #f", " 315 "),
        [":pico.test 315 carol #f :End of WHO list"]
    );
    assert_eq!(names(&mut b, "#f", "@"), ["+bob", "@alice"]);
}

#[test]
fn moderated_no_external_secret_no_ctcp() {
    moderated_external_secret_noctcp(&server());
}

fn prefixes_and_privileges(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let (am, bm, cm) = (mask(&mut a), mask(&mut b), mask(&mut c));
    for x in [&mut a, &mut b, &mut c, &mut d] {
        join(x, "#p");
    }

    a.send("MODE #p +h bob");
    assert_eq!(a.expect_line(" MODE #p "), format!(":{am} MODE #p +h bob"));
    // A halfop may voice, not op or halfop.
    b.send("MODE #p +o carol");
    assert_eq!(
        b.expect_line(" 482 "),
        ":pico.test 482 bob #p :You're not a channel operator"
    );
    b.send("MODE #p +h dave");
    b.expect(" 482 bob #p ");
    b.send("MODE #p +v carol");
    assert_eq!(
        b.expect_line(" MODE #p +v"),
        format!(":{bm} MODE #p +v carol")
    );
    // ... may set the topic under +t and kick plain members, not ops.
    b.send("TOPIC #p :by a halfop");
    assert_eq!(
        b.expect_line(" TOPIC "),
        format!(":{bm} TOPIC #p :by a halfop")
    );
    b.send("KICK #p alice");
    assert_eq!(
        b.expect_line(" 482 "),
        ":pico.test 482 bob #p :You don't have enough channel privileges"
    );
    b.send("KICK #p dave :halfop kick");
    assert_eq!(
        d.expect_line(" KICK "),
        format!(":{bm} KICK #p dave :halfop kick")
    );

    // An op grants o, h, v but not the founder or admin prefixes (there
    // is no ChanServ yet, so nobody holds q or a).
    a.send("MODE #p +q bob");
    assert_eq!(
        a.expect_line(" 482 "),
        ":pico.test 482 alice #p :You're not a channel operator"
    );
    a.send("MODE #p +a bob");
    a.expect(" 482 alice #p ");
    a.send("MODE #p +o carol");
    assert_eq!(
        a.expect_line(" MODE #p +o"),
        format!(":{am} MODE #p +o carol")
    );
    assert_eq!(names(&mut a, "#p", "="), ["%bob", "@alice", "@carol"]);
    // Ops act on ops; anyone may drop their own prefix.
    c.send("MODE #p -o alice");
    assert_eq!(
        a.expect_line(" MODE #p -o"),
        format!(":{cm} MODE #p -o alice")
    );
    b.send("MODE #p -h bob");
    assert_eq!(
        b.expect_line(" MODE #p -h"),
        format!(":{bm} MODE #p -h bob")
    );
    a.send("MODE #p +v alice");
    a.expect(" 482 alice #p ");
    assert_eq!(names(&mut c, "#p", "="), ["@carol", "alice", "bob"]);
}

#[test]
fn prefixes() {
    prefixes_and_privileges(&server());
}

fn maxlist_then_478(srv: &TestServer) {
    let mut a = srv.client("alice");
    join(&mut a, "#max");
    let masks: Vec<String> = (0..100).map(|i| format!("m{i}!*@*")).collect();
    for chunk in masks.chunks(6) {
        a.send(&format!(
            "MODE #max +{} {}",
            "b".repeat(chunk.len()),
            chunk.join(" ")
        ));
    }
    a.expect(" MODE #max +bbbb m96!*@* m97!*@* m98!*@* m99!*@*");
    a.send("MODE #max +bb over1!*@* over2!*@*");
    assert_eq!(
        a.sync()
            .into_iter()
            .filter(|l| !l.contains(" PONG "))
            .collect::<Vec<_>>(),
        [":pico.test 478 alice #max b :Channel list is full"],
        "one 478 per list and line, nothing applied"
    );
    let got = ask(&mut a, "MODE #max +b", " 368 ");
    assert_eq!(got.iter().filter(|l| l.contains(" 367 ")).count(), 100);
    // The other lists have their own room.
    a.send("MODE #max +e ok!*@*");
    a.expect(" MODE #max +e ok!*@*");
}

#[test]
fn maxlist() {
    maxlist_then_478(&server());
}

// ----- user MODE -------------------------------------------------------------

fn user_modes(srv: &TestServer) {
    let mut a = srv.client("alice");
    let _b = srv.client("bob");
    let am = mask(&mut a);
    let got = ask(&mut a, "MODE alice", " 221 ");
    assert_eq!(got.last().unwrap(), ":pico.test 221 alice +i");
    a.send("MODE alice +wB");
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE alice +wB"));
    let got = ask(&mut a, "MODE alice", " 221 ");
    assert_eq!(got.last().unwrap(), ":pico.test 221 alice +Biw");
    a.send("MODE alice -w+x");
    assert_eq!(
        a.expect_line(" 501 "),
        ":pico.test 501 alice :Unknown MODE flag"
    );
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE alice -w"));
    a.send("MODE alice +x");
    assert_eq!(
        a.expect_line(" 501 "),
        ":pico.test 501 alice :Unknown MODE flag"
    );
    assert_eq!(a.expect_line(" 221 "), ":pico.test 221 alice +Bi");
    // +o is the server's to give.
    a.send("MODE alice +o");
    assert_eq!(a.expect_line(" 221 "), ":pico.test 221 alice +Bi");
    a.send("MODE bob");
    assert_eq!(
        a.expect_line(" 502 "),
        ":pico.test 502 alice :Can't view modes for other users"
    );
    a.send("MODE bob +i");
    assert_eq!(
        a.expect_line(" 502 "),
        ":pico.test 502 alice :Can't change modes for other users"
    );
    a.send("MODE nobody");
    assert_eq!(
        a.expect_line(" 401 "),
        ":pico.test 401 alice nobody :No such nick"
    );
}

#[test]
fn user_mode() {
    user_modes(&server());
}

// ----- PRIVMSG / NOTICE ------------------------------------------------------

fn privmsg_and_notice(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let (am, bm) = (mask(&mut a), mask(&mut b));
    for x in [&mut a, &mut b, &mut c] {
        join(x, "#msg");
    }

    a.send("PRIVMSG #msg :hello all");
    let line = format!(":{am} PRIVMSG #msg :hello all");
    assert_eq!(b.expect_line("PRIVMSG"), line);
    assert_eq!(c.expect_line("PRIVMSG"), line);
    never(&mut a, "hello all");
    a.send("PRIVMSG bob :hi bob");
    assert_eq!(
        b.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG bob :hi bob")
    );
    a.send("NOTICE bob :a notice");
    assert_eq!(
        b.expect_line("NOTICE"),
        format!(":{am} NOTICE bob :a notice")
    );
    a.send("NOTICE #msg :to the channel");
    assert_eq!(
        c.expect_line("NOTICE"),
        format!(":{am} NOTICE #msg :to the channel")
    );

    // Several targets.
    a.send("PRIVMSG bob,carol,#msg :multi");
    assert_eq!(
        b.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG bob :multi")
    );
    assert_eq!(
        b.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG #msg :multi")
    );
    assert_eq!(
        c.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG carol :multi")
    );
    assert_eq!(
        c.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG #msg :multi")
    );

    // STATUSMSG: @#msg reaches the ops only.
    a.send("MODE #msg +o bob");
    b.expect(" MODE #msg +o bob");
    a.send("PRIVMSG @#msg :ops only");
    assert_eq!(
        b.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG @#msg :ops only")
    );
    a.send("PRIVMSG #msg :everyone");
    let got = c.expect("everyone");
    assert!(!got.iter().any(|l| l.contains("ops only")), "{got:?}");

    // CTCP and DCC offers pass through byte for byte.
    a.send("PRIVMSG bob :\x01PING 123\x01");
    assert_eq!(
        b.expect_line("PING 123"),
        format!(":{am} PRIVMSG bob :\x01PING 123\x01")
    );
    b.send("NOTICE alice :\x01PING 123\x01");
    assert_eq!(
        a.expect_line("PING 123"),
        format!(":{bm} NOTICE alice :\x01PING 123\x01")
    );
    a.send("PRIVMSG bob :\x01DCC SEND file 2130706433 5000 100\x01");
    assert_eq!(
        b.expect_line("DCC SEND"),
        format!(":{am} PRIVMSG bob :\x01DCC SEND file 2130706433 5000 100\x01")
    );
    a.send("PRIVMSG #msg :\x01PING 456\x01");
    assert_eq!(
        c.expect_line("PING 456"),
        format!(":{am} PRIVMSG #msg :\x01PING 456\x01")
    );

    // Errors.
    a.send("PRIVMSG nobody :hello?");
    assert_eq!(
        a.expect_line(" 401 "),
        ":pico.test 401 alice nobody :No such nick"
    );
    a.send("PRIVMSG");
    assert_eq!(
        a.expect_line(" 411 "),
        ":pico.test 411 alice :No recipient given (PRIVMSG)"
    );
    a.send("PRIVMSG bob");
    assert_eq!(
        a.expect_line(" 412 "),
        ":pico.test 412 alice :No text to send"
    );
    a.send("PRIVMSG bob :");
    assert_eq!(
        a.expect_line(" 412 "),
        ":pico.test 412 alice :No text to send"
    );

    // NOTICE errors are never answered.
    for l in [
        "NOTICE nobody :hello?",
        "NOTICE",
        "NOTICE bob",
        "NOTICE bob :",
        "NOTICE #nochan :x",
    ] {
        a.send(l);
    }
    d.send("NOTICE #msg :from outside");
    for x in [&mut a, &mut d] {
        let got = x.sync();
        assert!(
            !got.iter().any(|l| l.starts_with(":pico.test 4")),
            "{got:?}"
        );
    }

    // echo-message.
    a.send("CAP REQ :echo-message");
    assert_eq!(
        a.expect_line(" CAP "),
        ":pico.test CAP alice ACK :echo-message"
    );
    a.send("PRIVMSG #msg :echoed");
    let line = format!(":{am} PRIVMSG #msg :echoed");
    assert_eq!(a.expect_line("echoed"), line);
    assert_eq!(b.expect_line("echoed"), line);
    a.send("PRIVMSG bob :echo dm");
    let line = format!(":{am} PRIVMSG bob :echo dm");
    assert_eq!(a.expect_line("echo dm"), line);
    assert_eq!(b.expect_line("echo dm"), line);
}

#[test]
fn privmsg_notice() {
    privmsg_and_notice(&server());
}

// ----- AWAY / SETNAME ---------------------------------------------------------

fn away_and_setname(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let (am, bm) = (mask(&mut a), mask(&mut b));
    for x in [&mut a, &mut b, &mut c] {
        join(x, "#aw");
    }
    b.send("CAP REQ :away-notify setname");
    assert_eq!(
        b.expect_line(" CAP "),
        ":pico.test CAP bob ACK :away-notify setname"
    );

    a.send("AWAY :gone fishing");
    assert_eq!(
        a.expect_line(" 306 "),
        ":pico.test 306 alice :You have been marked as being away"
    );
    assert_eq!(b.expect_line(" AWAY"), format!(":{am} AWAY :gone fishing"));
    never(&mut c, " AWAY");

    b.send("PRIVMSG alice :are you there?");
    assert_eq!(
        b.expect_line(" 301 "),
        ":pico.test 301 bob alice :gone fishing"
    );
    assert_eq!(
        a.expect_line("PRIVMSG"),
        format!(":{bm} PRIVMSG alice :are you there?")
    );
    b.send("NOTICE alice :no auto-reply to a notice");
    never(&mut b, " 301 ");
    // An away user who joins is announced to away-notify members.
    join(&mut b, "#aw2");
    join(&mut c, "#aw2");
    join(&mut a, "#aw2");
    assert_eq!(b.expect_line("alice!~alice@"), format!(":{am} JOIN #aw2"));
    assert_eq!(b.expect_line(" AWAY"), format!(":{am} AWAY :gone fishing"));
    never(&mut c, " AWAY");
    let got = ask(&mut c, "WHO alice", " 315 ");
    assert!(got[0].ends_with(" alice G :0 alice real"), "{got:?}");

    a.send("AWAY");
    assert_eq!(
        a.expect_line(" 305 "),
        ":pico.test 305 alice :You are no longer marked as being away"
    );
    assert_eq!(b.expect_line(" AWAY"), format!(":{am} AWAY"));

    a.send("SETNAME :Alice Liddell");
    let line = format!(":{am} SETNAME :Alice Liddell");
    assert_eq!(a.expect_line(" SETNAME "), line);
    assert_eq!(b.expect_line(" SETNAME "), line);
    never(&mut c, "SETNAME");
    let h = host(&mut a);
    let got = ask(&mut c, "WHOIS alice", " 318 ");
    assert_eq!(
        got[0],
        format!(":pico.test 311 carol alice ~alice {h} * :Alice Liddell")
    );
}

#[test]
fn away_setname() {
    away_and_setname(&server());
}

// ----- WHO / WHOX / WHOIS / WHOWAS --------------------------------------------

fn who_whois_whowas(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let bm = mask(&mut b);
    let h = host(&mut a);
    for x in [&mut a, &mut b, &mut c] {
        join(x, "#w");
    }

    let got = ask(&mut c, "WHO #w", " 315 ");
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 315 carol #w :End of WHO list"
    );
    assert_eq!(
        sorted(got[..got.len() - 1].to_vec()),
        [
            format!(":pico.test 352 carol #w ~alice {h} pico.test alice H@ :0 alice real"),
            format!(":pico.test 352 carol #w ~bob {h} pico.test bob H :0 bob real"),
            format!(":pico.test 352 carol #w ~carol {h} pico.test carol H :0 carol real"),
        ]
    );
    assert_eq!(
        ask(&mut c, "WHO bob", " 315 "),
        [
            format!(":pico.test 352 carol * ~bob {h} pico.test bob H :0 bob real"),
            ":pico.test 315 carol bob :End of WHO list".to_string(),
        ]
    );

    // WHOX: t c u i h s n f d l a o r, in that order; the address is
    // hidden from non-opers except their own.
    let got = ask(&mut c, "WHO #w %tcuihsnfdlaor,42", " 315 ");
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 315 carol #w :End of WHO list"
    );
    let rows = &got[..got.len() - 1];
    assert_eq!(rows.len(), 3, "{got:?}");
    let mut seen = Vec::new();
    for row in rows {
        let (head, _) = row.split_once(" :").expect("realname");
        let w: Vec<&str> = head.split(' ').collect();
        assert_eq!(w.len(), 15, "{row}");
        let (nick, idle) = (w[9], w[12]);
        assert!(idle.parse::<u64>().unwrap() < 300, "{row}");
        let ip = if nick == "carol" {
            "127.0.0.1"
        } else {
            "255.255.255.255"
        };
        let flags = if nick == "alice" { "H@" } else { "H" };
        assert_eq!(
            row,
            &format!(
                ":pico.test 354 carol 42 #w ~{nick} {ip} {h} pico.test {nick} {flags} 0 {idle} 0 * :{nick} real"
            )
        );
        seen.push(nick.to_string());
    }
    assert_eq!(sorted(seen), ["alice", "bob", "carol"]);

    // WHOIS, the whole sequence.
    b.send("MODE bob +B");
    b.expect(" MODE bob +B");
    b.send("AWAY :busy");
    b.expect(" 306 ");
    let got = ask(&mut c, "WHOIS bob", " 318 ");
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(
        got[..5],
        [
            format!(":pico.test 311 carol bob ~bob {h} * :bob real"),
            ":pico.test 319 carol bob :#w".to_string(),
            ":pico.test 312 carol bob pico.test :PicoNet".to_string(),
            ":pico.test 301 carol bob :busy".to_string(),
            ":pico.test 335 carol bob :is a \x02Bot\x02 on PicoNet".to_string(),
        ]
    );
    let w: Vec<&str> = got[5].split(' ').collect();
    assert_eq!(w[..4], [":pico.test", "317", "carol", "bob"], "{}", got[5]);
    assert!(w[4].parse::<u64>().unwrap() < 300);
    assert_recent(w[5]);
    assert!(got[5].ends_with(" :seconds idle, signon time"));
    assert_eq!(got[6], ":pico.test 318 carol bob :End of /WHOIS list");
    // One's own WHOIS shows the real address.
    let got = ask(&mut b, "WHOIS bob", " 318 ");
    assert!(
        got.contains(
            &":pico.test 338 bob bob ~bob@127.0.0.1 127.0.0.1 :Actual user@host, Actual IP"
                .to_string()
        ),
        "{got:?}"
    );
    assert_eq!(
        ask(&mut c, "WHOIS nobody", " 318 "),
        [
            ":pico.test 401 carol nobody :No such nick",
            ":pico.test 318 carol nobody :End of /WHOIS list",
        ]
    );

    // WHOWAS after a QUIT.
    b.send("QUIT :bye");
    assert_eq!(b.expect_line("ERROR"), "ERROR :Quit: bye");
    assert_eq!(c.expect_line(" QUIT "), format!(":{bm} QUIT :Quit: bye"));
    let got = ask(&mut c, "WHOWAS bob 1", " 369 ");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got[0],
        format!(":pico.test 314 carol bob ~bob {h} * :bob real")
    );
    assert!(
        got[1].starts_with(":pico.test 312 carol bob pico.test :") && got[1].len() > 40,
        "{got:?}"
    );
    assert_eq!(got[2], ":pico.test 369 carol bob :End of WHOWAS");
    assert_eq!(
        ask(&mut c, "WHOWAS nobody", " 369 "),
        [
            ":pico.test 406 carol nobody :There was no such nickname",
            ":pico.test 369 carol nobody :End of WHOWAS",
        ]
    );
}

#[test]
fn who_whox_whois_whowas() {
    who_whois_whowas(&server());
}

// ----- server queries ------------------------------------------------------

fn server_queries(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let h = host(&mut a);
    join(&mut b, "#q");

    assert_eq!(
        ask(&mut c, "ISON alice nobody BOB", " 303 "),
        [":pico.test 303 carol :alice bob"]
    );
    a.send("AWAY :out");
    a.expect(" 306 ");
    assert_eq!(
        ask(&mut c, "USERHOST alice bob nobody", " 302 "),
        [format!(
            ":pico.test 302 carol :alice=-~alice@{h} bob=+~bob@{h}"
        )]
    );

    let got = ask(&mut c, "LUSERS", " 266 ");
    assert_eq!(
        got[..5],
        [
            ":pico.test 251 carol :There are 0 users and 3 invisible on 1 server(s)",
            ":pico.test 252 carol 0 :IRC Operators online",
            ":pico.test 253 carol 0 :unregistered connections",
            ":pico.test 254 carol 1 :channels formed",
            ":pico.test 255 carol :I have 3 clients and 0 servers",
        ]
    );
    // The maximum is the server's history (other scenarios may have run).
    let max: usize = got[5].split(' ').nth(4).unwrap().parse().unwrap();
    assert!(max >= 3);
    assert_eq!(
        got[5..],
        [
            format!(":pico.test 265 carol 3 {max} :Current local users 3, max {max}"),
            format!(":pico.test 266 carol 3 {max} :Current global users 3, max {max}"),
        ]
    );

    assert_eq!(
        ask(&mut c, "MOTD", " 376 "),
        [
            ":pico.test 375 carol :- pico.test Message of the day - ",
            ":pico.test 372 carol :- Welcome to \u{2}pico\u{2}",
            ":pico.test 372 carol :- second line",
            ":pico.test 376 carol :End of MOTD command",
        ]
    );
    assert_eq!(
        ask(&mut c, "MOTD other.example", " 402 "),
        [":pico.test 402 carol other.example :No such server"]
    );

    let version = env!("CARGO_PKG_VERSION");
    let got = ask(&mut c, "VERSION", " 351 ");
    assert_eq!(
        got,
        [format!(
            ":pico.test 351 carol picoircd-{version} pico.test :{}",
            env!("CARGO_PKG_DESCRIPTION")
        )]
    );
    let isupport = c.sync();
    assert!(
        isupport[0].starts_with(":pico.test 005 carol AWAYLEN=")
            && isupport[0].ends_with(" :are supported by this server"),
        "{isupport:?}"
    );

    let got = ask(&mut c, "TIME", " 391 ");
    assert!(
        got[0].starts_with(":pico.test 391 carol pico.test :") && got[0].len() > 40,
        "{got:?}"
    );

    assert_eq!(
        ask(&mut c, "ADMIN", " 259 "),
        [
            ":pico.test 256 carol pico.test :Administrative info",
            ":pico.test 257 carol :A Raspberry Pi in a cupboard",
            ":pico.test 258 carol :The Example Club",
            ":pico.test 259 carol :admin@example.org",
        ]
    );

    let got = ask(&mut c, "INFO", " 374 ");
    assert_eq!(
        got[0],
        format!(":pico.test 371 carol :pico.test running picoircd-{version}")
    );
    assert!(got[1..got.len() - 1]
        .iter()
        .all(|l| l.starts_with(":pico.test 371 carol :")));
    assert_eq!(got.last().unwrap(), ":pico.test 374 carol :End of /INFO");

    assert_eq!(
        ask(&mut c, "HELP privmsg", " 706 "),
        [
            ":pico.test 704 carol PRIVMSG :PRIVMSG <target>{,<target>} :<text>",
            ":pico.test 705 carol PRIVMSG :",
            ":pico.test 705 carol PRIVMSG :Sends a message to people or channels. @#channel reaches only the",
            ":pico.test 705 carol PRIVMSG :channel's operators (and +#channel voiced people and up).",
            ":pico.test 706 carol PRIVMSG :End of /HELPOP",
        ]
    );
    let got = ask(&mut c, "HELP", " 706 ");
    assert_eq!(got[0], ":pico.test 704 carol * :HELP <command>");
    assert!(got
        .iter()
        .any(|l| l.contains(" 705 carol * :") && l.contains("WHOWAS")));
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 706 carol * :End of /HELPOP"
    );
    assert_eq!(
        ask(&mut c, "HELP nosuch", " 524 "),
        [":pico.test 524 carol NOSUCH :Help not found"]
    );
}

#[test]
fn ison_userhost_lusers_motd_version_time_admin_info_help() {
    server_queries(&server());
}

// ----- MONITOR -------------------------------------------------------------

fn monitor(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut c = srv.client("carol");
    let am = mask(&mut a);
    assert_eq!(
        ask(&mut c, "MONITOR + dave,alice", " 731 "),
        [
            format!(":pico.test 730 carol :{am}"),
            ":pico.test 731 carol :dave".to_string(),
        ]
    );
    let mut d = srv.client("dave");
    let dm = mask(&mut d);
    assert_eq!(
        c.expect_line(" 730 "),
        format!(":pico.test 730 carol :{dm}")
    );
    assert_eq!(
        ask(&mut c, "MONITOR L", " 733 "),
        [
            ":pico.test 732 carol :dave,alice",
            ":pico.test 733 carol :End of MONITOR list",
        ]
    );
    assert_eq!(
        ask(&mut c, "MONITOR S", " 730 "),
        [format!(":pico.test 730 carol :{dm},{am}")]
    );
    d.send("QUIT :gone");
    assert_eq!(c.expect_line(" 731 "), ":pico.test 731 carol :dave");
    a.send("NICK alicia");
    assert_eq!(c.expect_line(" 731 "), ":pico.test 731 carol :alice");
    // Taking a watched nick is coming online.
    a.send("NICK dave");
    let h = am.rsplit_once('@').expect("host").1;
    assert_eq!(
        c.expect_line(" 730 "),
        format!(":pico.test 730 carol :dave!~alice@{h}")
    );
    a.send("NICK alicia");
    assert_eq!(c.expect_line(" 731 "), ":pico.test 731 carol :dave");
    c.send("MONITOR - alice");
    assert_eq!(
        ask(&mut c, "MONITOR L", " 733 "),
        [
            ":pico.test 732 carol :dave",
            ":pico.test 733 carol :End of MONITOR list",
        ]
    );
    c.send("MONITOR C");
    assert_eq!(
        ask(&mut c, "MONITOR L", " 733 "),
        [":pico.test 733 carol :End of MONITOR list"]
    );
}

#[test]
fn monitor_online_offline() {
    monitor(&server());
}

// ----- OPER, KILL, WALLOPS, REHASH ---------------------------------------------

fn oper_kill_wallops_rehash(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let mut c = srv.client("carol");
    let mut d = srv.client("dave");
    let (am, bm, cm) = (mask(&mut a), mask(&mut b), mask(&mut c));
    for x in [&mut a, &mut b, &mut c] {
        join(x, "#o");
    }

    b.send("OPER boss wrong");
    assert_eq!(
        b.expect_line(" 464 "),
        ":pico.test 464 bob :Password incorrect"
    );
    b.send(&format!("OPER nobody {OPER_PW}"));
    assert_eq!(
        b.expect_line(" 464 "),
        ":pico.test 464 bob :Password incorrect"
    );
    let denied = ":pico.test 481 bob :Permission Denied - You're not an IRC operator";
    for l in ["KILL carol :no", "REHASH", "WALLOPS :no"] {
        b.send(l);
        assert_eq!(b.expect_line(" 481 "), denied, "{l}");
    }

    a.send(&format!("OPER boss {OPER_PW}"));
    assert_eq!(
        a.expect_line(" 381 "),
        ":pico.test 381 alice :You are now an IRC operator"
    );
    assert_eq!(a.expect_line(" MODE "), format!(":{am} MODE alice :+o"));
    assert_eq!(
        a.expect_line(" 396 "),
        ":pico.test 396 alice staff.pico :is now your displayed host"
    );
    let got = ask(&mut c, "WHOIS alice", " 318 ");
    assert_eq!(
        got[0],
        ":pico.test 311 carol alice ~alice staff.pico * :alice real"
    );
    assert!(
        got.contains(&":pico.test 313 carol alice :is the boss".to_string()),
        "{got:?}"
    );
    assert_eq!(
        ask(&mut c, "USERHOST alice", " 302 "),
        [":pico.test 302 carol :alice*=+~alice@staff.pico"]
    );
    let oper_mask = "alice!~alice@staff.pico";
    // Kill notices are for opers who asked for them (server notice mask k).
    a.send("MODE alice +s +k");
    assert_eq!(
        a.expect_line(" MODE "),
        format!(":{oper_mask} MODE alice +s +k")
    );

    // KILL: the victim gets ERROR, channel peers the QUIT.
    a.send("KILL dave :spamming");
    assert_eq!(d.expect_line("ERROR"), "ERROR :Killed by alice: spamming");
    assert!(d.closed());
    a.send("KILL carol");
    assert_eq!(c.expect_line("ERROR"), "ERROR :Killed by alice");
    assert!(c.closed());
    assert_eq!(
        b.expect_line(" QUIT "),
        format!(":{cm} QUIT :Killed by alice")
    );
    assert!(a
        .expect_line("carol was killed by")
        .ends_with(":*** carol was killed by alice"));
    a.send("KILL nobody");
    assert_eq!(
        a.expect_line(" 401 "),
        ":pico.test 401 alice nobody :No such nick"
    );

    // WALLOPS goes to +w users (and the sender) only.
    let mut e = srv.client("eve");
    b.send("MODE bob +w");
    assert_eq!(b.expect_line(" MODE bob"), format!(":{bm} MODE bob +w"));
    a.send("WALLOPS :hello wallops");
    let line = format!(":{oper_mask} WALLOPS :hello wallops");
    assert_eq!(b.expect_line(" WALLOPS "), line);
    assert_eq!(a.expect_line(" WALLOPS "), line);
    a.send("PRIVMSG eve :marker");
    let got = e.expect("marker");
    assert!(!got.iter().any(|l| l.contains("WALLOPS")), "{got:?}");

    // REHASH reloads the MOTD from disk.
    let motd = srv.dir.join("ircd.motd");
    let old = std::fs::read_to_string(&motd).expect("motd");
    std::fs::write(&motd, "Rehashed $bMOTD$b\n").expect("motd");
    a.send("REHASH");
    assert_eq!(
        a.expect_line(" 382 "),
        ":pico.test 382 alice ircd.conf :Rehashing"
    );
    assert_eq!(
        ask(&mut b, "MOTD", " 376 "),
        [
            ":pico.test 375 bob :- pico.test Message of the day - ",
            ":pico.test 372 bob :- Rehashed \u{2}MOTD\u{2}",
            ":pico.test 376 bob :End of MOTD command",
        ]
    );
    let got = ask(&mut b, "LUSERS", " 252 ");
    assert_eq!(
        got.last().unwrap(),
        ":pico.test 252 bob 1 :IRC Operators online"
    );
    // Put the MOTD back (other scenarios may follow on this server).
    std::fs::write(&motd, old).expect("motd");
    a.send("REHASH");
    a.expect(" 382 ");
}

#[test]
fn oper_kill_wallops_rehash_test() {
    oper_kill_wallops_rehash(&server());
}

// ----- server password -------------------------------------------------------

#[test]
fn server_password() {
    let hash = bcrypt::hash("letmein", 4).expect("bcrypt");
    let conf = base_config().replacen(
        "[server]\n",
        &format!("[server]\npassword = \"{hash}\"\n"),
        1,
    );
    let srv = TestServer::with_config(&conf);

    let mut c = srv.connect();
    c.send("NICK nopass");
    c.send("USER nopass 0 * :x");
    assert_eq!(
        c.expect_line(" 464 "),
        ":pico.test 464 nopass :Password incorrect"
    );
    assert_eq!(c.expect_line("ERROR"), "ERROR :Bad password");
    assert!(c.closed());

    let mut c = srv.connect();
    c.send("PASS wrong");
    c.send("NICK wrongpass");
    c.send("USER wrongpass 0 * :x");
    assert_eq!(
        c.expect_line(" 464 "),
        ":pico.test 464 wrongpass :Password incorrect"
    );
    assert_eq!(c.expect_line("ERROR"), "ERROR :Bad password");
    assert!(c.closed());

    let mut c = srv.connect();
    c.send("PASS letmein");
    c.send("NICK rightpass");
    c.send("USER rightpass 0 * :x");
    assert_eq!(
        c.expect_line(" 001 "),
        ":pico.test 001 rightpass :Welcome to the PicoNet IRC Network rightpass"
    );
    c.send("PASS letmein");
    assert_eq!(
        c.expect_line(" 462 "),
        ":pico.test 462 rightpass :You may not reregister"
    );
}

// ----- case mapping ------------------------------------------------------------

fn case_mapping(srv: &TestServer) {
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    let (am, bm) = (mask(&mut a), mask(&mut b));
    join(&mut a, "#Chat");
    b.send("JOIN #chat");
    let got = b.expect(" 366 bob #Chat ");
    assert_eq!(
        got[0],
        format!(":{bm} JOIN #Chat"),
        "the first spelling stays"
    );
    a.send("PRIVMSG #CHAT :loud");
    assert_eq!(
        b.expect_line("PRIVMSG"),
        format!(":{am} PRIVMSG #Chat :loud")
    );
    b.send("PRIVMSG ALICE :hi");
    assert_eq!(a.expect_line("PRIVMSG"), format!(":{bm} PRIVMSG alice :hi"));
    a.send("NICK Bob");
    assert_eq!(
        a.expect_line(" 433 "),
        ":pico.test 433 alice Bob :Nickname is already in use"
    );
    let mut c = srv.connect();
    c.send("NICK BOB");
    c.send("USER x 0 * :x");
    assert_eq!(
        c.expect_line(" 433 "),
        ":pico.test 433 * BOB :Nickname is already in use"
    );
    // A case change of one's own nick is allowed.
    b.send("NICK BOB");
    assert_eq!(b.expect_line(" NICK "), format!(":{bm} NICK :BOB"));
    assert_eq!(a.expect_line(" NICK "), format!(":{bm} NICK :BOB"));
}

#[test]
fn case_insensitive_channels_and_nicks() {
    case_mapping(&server());
}

/// A scenario: clients and assertions against a running server.
type Scenario = fn(&TestServer);

// ----- everything on one server ------------------------------------------------

#[test]
fn server_keeps_serving_after_every_scenario() {
    let srv = server();
    let scenarios: &[(&str, Scenario)] = &[
        ("nick", nick_change_collision_and_erroneous),
        ("join", join_part_and_topic),
        ("names", names_with_prefixes_and_caps),
        ("list", list_with_elist),
        ("invite", invite_and_invite_notify),
        ("kick", kick_several_with_reason),
        ("mode", mode_query_key_limit_invite),
        ("bans", bans_exceptions_and_evasion),
        ("flags", moderated_external_secret_noctcp),
        ("prefixes", prefixes_and_privileges),
        ("maxlist", maxlist_then_478),
        ("umodes", user_modes),
        ("privmsg", privmsg_and_notice),
        ("away", away_and_setname),
        ("who", who_whois_whowas),
        ("queries", server_queries),
        ("monitor", monitor),
        ("oper", oper_kill_wallops_rehash),
        ("case", case_mapping),
    ];
    for (name, run) in scenarios {
        settle(&srv);
        eprintln!("scenario {name}");
        run(&srv);
    }
    settle(&srv);
    let mut last = srv.connect();
    let burst = last.register("last");
    assert_eq!(
        burst[0],
        ":pico.test 001 last :Welcome to the PicoNet IRC Network last"
    );
    last.send("JOIN #still");
    last.expect(" 366 last #still ");
}
