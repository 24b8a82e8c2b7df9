//! IRCv3 capabilities end to end (issue #5): the real binary, two to four
//! raw-socket clients that negotiated different capabilities, and the
//! exact lines each one gets. Tag values that change per run (`time`,
//! `msgid`, batch references) are checked for their shape and then
//! compared between recipients, never hard-coded.

mod util;

use std::time::Duration;

use util::tags::{assert_time, capped, split_tags as split, tag};
use util::{host, join, Client, TestServer};

#[test]
fn cap_ls_lists_the_tag_capabilities() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    // The list takes more than one line (cap_ls reads them all).
    let ls = cap_ls(&mut c);
    for cap in [
        "message-tags",
        "server-time",
        "batch",
        "labeled-response",
        "echo-message",
    ] {
        assert!(ls.iter().any(|w| w == cap), "{cap}: {ls:?}");
    }
}

#[test]
fn each_recipient_gets_the_tags_it_asked_for() {
    let srv = TestServer::start();
    let mut full = capped(&srv, "alice", "message-tags server-time");
    let mut timed = capped(&srv, "bob", "server-time");
    let mut plain = capped(&srv, "carol", "");
    let mut sender = capped(&srv, "dave", "");
    for c in [&mut full, &mut timed, &mut plain, &mut sender] {
        join(c, "#t");
    }
    full.sync();
    timed.sync();
    plain.sync();
    sender.send("PRIVMSG #t :hello all");

    let (tags, body) = split(&full.expect_line("PRIVMSG #t"));
    assert_eq!(
        body,
        ":dave!~dave@".to_string() + body.split('@').nth(1).unwrap()
    );
    assert!(body.ends_with(" PRIVMSG #t :hello all"), "{body}");
    assert_time(tag(&tags, "time").expect("time"));
    let msgid = tag(&tags, "msgid").expect("msgid").to_string();
    assert!(
        !msgid.is_empty() && msgid.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{msgid}"
    );
    assert_eq!(tags.len(), 2, "{tags:?}");

    let (tags, body2) = split(&timed.expect_line("PRIVMSG #t"));
    assert_eq!(body2, body);
    assert_time(tag(&tags, "time").expect("time"));
    assert_eq!(tags.len(), 1, "server-time alone: no msgid: {tags:?}");

    let line = plain.expect_line("PRIVMSG #t");
    assert_eq!(line, body, "no capabilities: no tags");

    // Every line to a server-time client carries the time, numerics too.
    timed.send("LUSERS");
    for l in timed.expect(" 266 ") {
        let (tags, _) = split(&l);
        assert_time(tag(&tags, "time").unwrap_or_else(|| panic!("no time on {l}")));
    }

    // A second message gets another msgid.
    sender.send("PRIVMSG #t :again");
    let (tags, _) = split(&full.expect_line(":again"));
    assert_ne!(tag(&tags, "msgid"), Some(msgid.as_str()));
}

#[test]
fn channel_events_carry_a_msgid() {
    // The watcher's own JOIN is an event too.
    let srv = TestServer::start();
    let mut watcher = capped(&srv, "alice", "message-tags");
    let mut actor = capped(&srv, "bob", "");
    join(&mut actor, "#e");
    watcher.send("JOIN #e");
    let (tags, _) = split(&watcher.expect_line(" JOIN #e"));
    assert!(tag(&tags, "msgid").is_some(), "{tags:?}");
    watcher.expect(" 366 ");
    actor.send("TOPIC #e :a topic");
    actor.send("MODE #e +m");
    actor.send("NICK bobby");
    actor.send("PART #e :bye");
    for needle in [" TOPIC #e ", " MODE #e +m", " NICK ", " PART #e "] {
        let l = watcher.expect_line(needle);
        let (tags, _) = split(&l);
        assert!(tag(&tags, "msgid").is_some_and(|v| !v.is_empty()), "{l}");
    }
}

#[test]
fn tagmsg_and_client_tags_reach_only_message_tags_clients() {
    let srv = TestServer::start();
    let mut tagged = capped(&srv, "alice", "message-tags");
    let mut plain = capped(&srv, "carol", "");
    let mut sender = capped(&srv, "bob", "message-tags");
    for c in [&mut tagged, &mut plain, &mut sender] {
        join(c, "#typing");
    }
    plain.sync();
    tagged.sync();

    sender.send("@+draft/typing=active;+example.com/x=a\\sb;nonclient=dropped TAGMSG #typing");
    let (tags, body) = split(&tagged.expect_line(" TAGMSG "));
    assert!(
        body.starts_with(":bob!~bob@") && body.ends_with(" TAGMSG #typing"),
        "{body}"
    );
    assert_eq!(tag(&tags, "+draft/typing"), Some("active"));
    assert_eq!(
        tag(&tags, "+example.com/x"),
        Some("a\\sb"),
        "relayed as sent (escaped)"
    );
    assert_eq!(
        tag(&tags, "nonclient"),
        None,
        "only client-only tags are relayed"
    );
    assert!(tag(&tags, "msgid").is_some());

    sender.send("@+draft/react=👍;+draft/reply=abc PRIVMSG #typing :nice");
    let (tags, _) = split(&tagged.expect_line(":nice"));
    assert_eq!(tag(&tags, "+draft/react"), Some("👍"));
    assert_eq!(tag(&tags, "+draft/reply"), Some("abc"));
    let line = plain.expect_line(":nice");
    assert!(
        line.starts_with(":bob!"),
        "a client without message-tags gets no tags: {line}"
    );
    plain.sync();
    // The TAGMSG never reached carol: her first line about bob was the PRIVMSG.
    plain.send("PRIVMSG #typing :done");
    plain.sync();

    // To a nick: same rules.
    sender.send("@+draft/typing=paused TAGMSG alice");
    let (tags, body) = split(&tagged.expect_line(" TAGMSG alice"));
    assert_eq!(tag(&tags, "+draft/typing"), Some("paused"), "{body}");
    sender.send("@+draft/typing=paused TAGMSG carol");
    sender.sync();
    plain.expect_none("TAGMSG", Duration::from_millis(300));

    // No target: 411, as PRIVMSG.
    sender.send("TAGMSG");
    sender.expect(" 411 bob ");
}

#[test]
fn a_bot_marks_its_messages() {
    let srv = TestServer::start();
    let mut reader = capped(&srv, "alice", "message-tags");
    let mut bot = capped(&srv, "robot", "");
    bot.send("MODE robot +B");
    bot.expect(" MODE robot ");
    bot.send("PRIVMSG alice :beep");
    let (tags, _) = split(&reader.expect_line(":beep"));
    assert_eq!(tag(&tags, "bot"), Some(""), "{tags:?}");
}

#[test]
fn labeled_responses_ack_label_or_batch() {
    let srv = TestServer::start();
    let mut c = capped(&srv, "alice", "labeled-response batch");
    let _other = capped(&srv, "bob", "");

    // One line: labeled.
    c.send("@label=one PING tok");
    assert_eq!(c.line(), "@label=one :pico.test PONG pico.test :tok");

    // No output: ACK.
    c.send("@label=two PONG x");
    assert_eq!(c.line(), "@label=two :pico.test ACK");

    // Several lines: a labeled-response batch around them.
    c.send("@label=three WHOIS bob");
    let (tags, open) = split(&c.line());
    assert_eq!(tag(&tags, "label"), Some("three"));
    let reference = open
        .strip_prefix(":pico.test BATCH +")
        .and_then(|r| r.strip_suffix(" labeled-response"))
        .unwrap_or_else(|| panic!("{open}"))
        .to_string();
    let mut inner = Vec::new();
    loop {
        let l = c.line();
        if l.starts_with(":pico.test BATCH -") {
            assert_eq!(l, format!(":pico.test BATCH -{reference}"));
            break;
        }
        let (tags, body) = split(&l);
        assert_eq!(tag(&tags, "batch"), Some(reference.as_str()), "{l}");
        inner.push(body);
    }
    assert!(
        inner[0].starts_with(":pico.test 311 alice bob "),
        "{inner:?}"
    );
    assert!(
        inner
            .last()
            .unwrap()
            .starts_with(":pico.test 318 alice bob "),
        "{inner:?}"
    );

    // An error reply is the response too.
    c.send("@label=four NOSUCHCMD");
    assert_eq!(
        c.line(),
        "@label=four :pico.test 421 alice NOSUCHCMD :Unknown command"
    );

    // Without the capability a label is ignored.
    let mut d = capped(&srv, "dave", "batch");
    d.send("@label=x PING tok");
    assert_eq!(d.line(), ":pico.test PONG pico.test :tok");
}

#[test]
fn without_batch_a_long_response_goes_out_unlabeled() {
    let srv = TestServer::start();
    let mut c = capped(&srv, "alice", "labeled-response");
    let _other = capped(&srv, "bob", "");
    c.send("@label=w WHOIS bob");
    let first = c.line();
    assert!(first.starts_with(":pico.test 311 alice bob "), "{first}");
    let end = c.expect_line(" 318 ");
    assert!(!end.starts_with('@'), "{end}");
}

#[test]
fn echo_message_comes_back_labeled_with_the_same_msgid() {
    let srv = TestServer::start();
    let mut me = capped(
        &srv,
        "alice",
        "echo-message labeled-response batch message-tags server-time",
    );
    let mut peer = capped(&srv, "bob", "message-tags");
    join(&mut me, "#echo");
    join(&mut peer, "#echo");
    me.sync();
    me.send("@label=e1 PRIVMSG #echo :hi");
    let (tags, body) = split(&me.line());
    assert_eq!(tag(&tags, "label"), Some("e1"), "{tags:?}");
    assert_time(tag(&tags, "time").expect("time"));
    assert!(body.ends_with(" PRIVMSG #echo :hi"), "{body}");
    let (peer_tags, peer_body) = split(&peer.expect_line(":hi"));
    assert_eq!(peer_body, body);
    assert_eq!(tag(&tags, "msgid"), tag(&peer_tags, "msgid"));
}

/// Every line read by a `sync()` round trip, checked for `needle`.
fn assert_quiet(c: &mut Client, needle: &str) {
    let seen = c.sync();
    assert!(
        !seen.iter().any(|l| l.contains(needle)),
        "unexpected {needle:?} in {seen:#?}"
    );
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

#[test]
fn cap_ls_302_lists_every_capability_of_this_issue() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    let caps = cap_ls(&mut c);
    let names: Vec<&str> = caps
        .iter()
        .map(|w| w.split_once('=').map_or(w.as_str(), |(n, _)| n))
        .collect();
    for want in [
        "account-notify",
        "account-tag",
        "away-notify",
        "batch",
        "cap-notify",
        "chghost",
        "draft/extended-isupport",
        "draft/pre-away",
        "draft/read-marker",
        "draft/whoami",
        "echo-message",
        "extended-join",
        "extended-monitor",
        "invite-notify",
        "labeled-response",
        "message-tags",
        "multi-prefix",
        "no-implicit-names",
        "server-time",
        "setname",
        "standard-replies",
        "userhost-in-names",
        "znc.in/self-message",
    ] {
        assert!(names.contains(&want), "{want} missing from {caps:?}");
    }
    // Without 302 there are no values and no continuation lines.
    let mut old = srv.connect();
    old.send("CAP LS");
    let l = old.expect_line(" LS ");
    assert!(!l.contains(" LS * "), "{l}");
    // CAP REQ -cap takes one back; CAP LIST shows what is on.
    c.send("CAP REQ :extended-join chghost");
    c.expect_line(" ACK ");
    c.send("CAP REQ :-chghost");
    assert!(c.expect_line(" ACK ").ends_with(":-chghost"));
    c.send("CAP LIST");
    let list = c.expect_line(" LIST ");
    assert!(
        list.contains("extended-join") && !list.contains("chghost"),
        "{list}"
    );
}

#[test]
fn extended_join_shows_the_account_and_realname() {
    let srv = TestServer::start();
    let mut ext = capped(&srv, "alice", "extended-join");
    let mut plain = capped(&srv, "bob", "");
    join(&mut ext, "#x");
    join(&mut plain, "#x");
    ext.sync();
    let mut joiner = capped(&srv, "carol", "extended-join");
    joiner.send("JOIN #x");
    // No account yet: `*`, then the realname USER gave.
    let own = joiner.expect_line(" JOIN #x");
    assert!(own.starts_with(":carol!~carol@"), "{own}");
    assert!(own.ends_with(" JOIN #x * :carol real"), "{own}");
    assert_eq!(ext.expect_line(" JOIN #x"), own);
    let short = plain.expect_line(" JOIN #x");
    assert_eq!(short, own.trim_end_matches(" * :carol real"));
}

#[test]
fn no_implicit_names_skips_names_on_join_only() {
    let srv = TestServer::start();
    let mut op = srv.client("bob");
    join(&mut op, "#n");
    op.send("TOPIC #n :the topic");
    op.sync();
    let mut c = capped(&srv, "alice", "no-implicit-names");
    c.send("JOIN #n");
    c.expect_line(" JOIN #n");
    c.expect_line(" 332 alice #n :the topic");
    let rest = c.sync();
    assert!(
        !rest
            .iter()
            .any(|l| l.contains(" 353 ") || l.contains(" 366 ")),
        "{rest:#?}"
    );
    // Asked for, NAMES answers as usual.
    c.send("NAMES #n");
    let names = c.expect_line(" 353 ");
    let (_, list) = names.split_once(" :").expect("names");
    let mut who: Vec<&str> = list.split(' ').collect();
    who.sort_unstable();
    assert_eq!(who, ["@bob", "alice"], "{names}");
    c.expect_line(" 366 alice #n ");
}

/// A config with an oper `boss` (password `pw`) who gets a vhost.
fn oper_config() -> String {
    format!(
        r#"{}
[oper-classes.staff]
capabilities = ["rehash"]

[[oper]]
name = "boss"
class = "staff"
password = "{}"
vhost = "staff.pico"
"#,
        util::base_config(),
        bcrypt::hash("pw", 4).expect("bcrypt")
    )
}

#[test]
fn chghost_tells_cap_holders_and_extended_monitor_watchers() {
    let srv = TestServer::with_config(&oper_config());
    let mut eve = capped(&srv, "eve", "chghost");
    let mut peer = capped(&srv, "alice", "chghost");
    let mut plain = capped(&srv, "bob", "");
    // carol shares no channel but MONITORs eve; dave too, without chghost.
    let mut watcher = capped(&srv, "carol", "chghost extended-monitor");
    let mut half = capped(&srv, "dave", "extended-monitor");
    for c in [&mut eve, &mut peer, &mut plain] {
        join(c, "#h");
    }
    for c in [&mut watcher, &mut half] {
        c.send("MONITOR + eve");
        c.expect_line(" 730 ");
    }
    let old_host = host(&mut eve);
    eve.send("OPER boss pw");
    let want = format!(":eve!~eve@{old_host} CHGHOST ~eve staff.pico");
    assert_eq!(peer.expect_line(" CHGHOST "), want);
    assert_eq!(watcher.expect_line(" CHGHOST "), want);
    let own = eve.expect(" 396 ");
    assert!(own.contains(&want), "{own:#?}");
    assert_quiet(&mut plain, "CHGHOST");
    assert_quiet(&mut half, "CHGHOST");
    // Everyone sees the new host from now on.
    eve.send("PRIVMSG #h :hello");
    assert!(plain
        .expect_line(":hello")
        .starts_with(":eve!~eve@staff.pico PRIVMSG"));
}

#[test]
fn extended_monitor_carries_away_and_setname() {
    let srv = TestServer::start();
    let mut target = capped(&srv, "alice", "setname");
    let mut watcher = capped(&srv, "bob", "extended-monitor away-notify setname");
    let mut legacy = capped(&srv, "carol", "away-notify setname");
    for c in [&mut watcher, &mut legacy] {
        c.send("MONITOR + alice");
        c.expect_line(" 730 ");
    }
    target.send("AWAY :lunch");
    target.expect(" 306 ");
    target.send("SETNAME :Alice L");
    target.expect(" SETNAME ");
    let away = watcher.expect_line(" AWAY ");
    assert!(
        away.starts_with(":alice!~alice@") && away.ends_with(" AWAY :lunch"),
        "{away}"
    );
    let name = watcher.expect_line(" SETNAME ");
    assert!(name.ends_with(" SETNAME :Alice L"), "{name}");
    // Without extended-monitor a watcher only hears online/offline.
    assert_quiet(&mut legacy, "alice");
}

#[test]
fn extended_isupport_before_and_after_registration() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.expect_line(" LS ");
    c.send("CAP REQ :batch draft/extended-isupport");
    c.expect_line(" ACK ");
    // The list follows the ACK, in a draft/isupport batch.
    let open = c.line();
    let reference = open
        .strip_prefix(":pico.test BATCH +")
        .and_then(|r| r.strip_suffix(" draft/isupport"))
        .unwrap_or_else(|| panic!("{open}"))
        .to_string();
    let lines = c.expect(&format!("BATCH -{reference}"));
    let (close, body) = lines.split_last().expect("lines");
    assert_eq!(close, &format!(":pico.test BATCH -{reference}"));
    assert!(!body.is_empty());
    for l in body {
        assert!(
            l.starts_with(&format!("@batch={reference} :pico.test 005 * ")),
            "{l}"
        );
    }
    assert!(
        body.iter().any(|l| l.contains(" NETWORK=PicoNet ")),
        "{body:#?}"
    );
    // The ISUPPORT command repeats it, still before registration.
    c.send("ISUPPORT");
    let again = c.expect(" BATCH -");
    assert!(again.iter().any(|l| l.contains(" 005 * ")), "{again:#?}");
    // After CAP END the welcome's 005 lines are batched too.
    c.send("CAP END");
    let burst = c.register("alice");
    for l in burst.iter().filter(|l| l.contains(" 005 ")) {
        assert!(l.starts_with("@batch="), "{l}");
    }
    // A client without the capability gets plain 005 lines.
    let mut plain = srv.connect();
    for l in plain.register("bob").iter().filter(|l| l.contains(" 005 ")) {
        assert!(l.starts_with(":pico.test 005 bob "), "{l}");
    }
}

#[test]
fn pre_away_allows_away_before_registration() {
    let srv = TestServer::start();
    let mut early = srv.connect();
    early.send("AWAY :too early");
    early.expect_line(" 451 ");
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.send("CAP REQ :draft/pre-away");
    c.expect_line(" ACK ");
    c.send("AWAY *");
    c.expect_line(":pico.test 306 * :You have been marked as being away");
    c.send("CAP END");
    c.register("alice");
    let mut other = srv.client("bob");
    other.send("WHOIS alice");
    assert_eq!(other.expect_line(" 301 "), ":pico.test 301 bob alice :*");
    other.send("PRIVMSG alice :there?");
    assert_eq!(other.expect_line(" 301 "), ":pico.test 301 bob alice :*");
}

#[test]
fn read_marker_on_join_and_markread() {
    let srv = TestServer::start();
    let mut c = capped(&srv, "alice", "draft/read-marker server-time");
    c.send("JOIN #r");
    let got = c.expect(" 366 ");
    let mark = got
        .iter()
        .position(|l| l.ends_with(":pico.test MARKREAD #r *"))
        .unwrap_or_else(|| panic!("{got:#?}"));
    assert!(got[mark + 1..].iter().any(|l| l.contains(" 366 ")));
    // Marks the time of a message it received.
    let mut peer = srv.client("bob");
    join(&mut peer, "#r");
    peer.send("PRIVMSG #r :read me");
    let (tags, _) = split(&c.expect_line(":read me"));
    let t = tag(&tags, "time").expect("time").to_string();
    c.send(&format!("MARKREAD #r timestamp={t}"));
    let (_, body) = split(&c.expect_line(" MARKREAD "));
    assert_eq!(body, format!(":pico.test MARKREAD #r timestamp={t}"));
    // Asking gives it back; an older one does not move it; a part and a
    // new join show it again.
    c.send("MARKREAD #R timestamp=2000-01-01T00:00:00.000Z");
    let (_, body) = split(&c.expect_line(" MARKREAD "));
    assert_eq!(body, format!(":pico.test MARKREAD #R timestamp={t}"));
    c.send("PART #r");
    c.send("JOIN #r");
    let (_, body) = split(&c.expect_line(" MARKREAD "));
    assert_eq!(body, format!(":pico.test MARKREAD #r timestamp={t}"));
    c.send("MARKREAD");
    let (_, body) = split(&c.expect_line(" FAIL "));
    assert_eq!(
        body,
        ":pico.test FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters"
    );
    // Nobody else learns of it.
    assert_quiet(&mut peer, "MARKREAD");
}

#[test]
fn a_message_to_oneself_arrives_once() {
    let srv = TestServer::start();
    let mut c = capped(&srv, "alice", "echo-message znc.in/self-message");
    c.send("PRIVMSG alice :note to self");
    let seen = c.sync();
    let copies = seen.iter().filter(|l| l.ends_with(":note to self")).count();
    assert_eq!(copies, 1, "{seen:#?}");
}

#[test]
fn standard_replies_turn_a_failed_rehash_into_fail() {
    let srv = TestServer::with_config(&oper_config());
    let mut legacy = capped(&srv, "alice", "");
    let mut modern = capped(&srv, "bob", "standard-replies");
    for c in [&mut legacy, &mut modern] {
        c.send("OPER boss pw");
        c.expect(" 381 ");
    }
    let good = std::fs::read_to_string(&srv.conf).expect("config");
    std::fs::write(&srv.conf, format!("{good}\n[limits]\nbogus = 1\n")).expect("config");
    modern.send("REHASH");
    let fail = modern.expect_line(" FAIL ");
    assert!(
        fail.starts_with(":pico.test FAIL REHASH CONFIG_BAD :Error rehashing: "),
        "{fail}"
    );
    legacy.send("REHASH");
    let notice = legacy.expect_line(":Error rehashing: ");
    assert!(notice.starts_with(":pico.test NOTICE alice :"), "{notice}");
    std::fs::write(&srv.conf, good).expect("config");
}

#[test]
fn whoami_gives_the_own_prefix_in_the_burst_and_on_change() {
    let srv = TestServer::with_config(&oper_config());
    let mut c = capped(&srv, "alice", "chghost draft/whoami");
    let mut d = srv.connect();
    d.send("CAP LS 302");
    d.send("CAP REQ :chghost draft/whoami");
    d.expect_line(" ACK ");
    d.send("CAP END");
    let burst = d.register("bob");
    let last_005 = burst
        .iter()
        .rposition(|l| l.contains(" 005 "))
        .expect("005");
    let setname = burst
        .iter()
        .position(|l| l.contains(" SETNAME "))
        .unwrap_or_else(|| panic!("{burst:#?}"));
    let lusers = burst.iter().position(|l| l.contains(" 251 ")).expect("251");
    assert!(last_005 < setname && setname < lusers, "{burst:#?}");
    let host = host(&mut d);
    assert_eq!(
        burst[setname],
        format!(":bob!~bob@{host} SETNAME :bob real")
    );
    // Its own host change comes as CHGHOST.
    c.send("OPER boss pw");
    let own = c.expect(" 396 ");
    assert!(
        own.iter()
            .any(|l| l.ends_with(" CHGHOST ~alice staff.pico")),
        "{own:#?}"
    );
    // Without whoami, no SETNAME in the burst.
    let mut plain = srv.connect();
    let burst = plain.register("carol");
    assert!(!burst.iter().any(|l| l.contains(" SETNAME ")), "{burst:#?}");
}

#[test]
fn registration_waits_for_cap_end_once_negotiation_started() {
    let srv = TestServer::start();
    // CAP LS, then NICK/USER: nothing until CAP END (no REQ at all).
    let mut c = srv.connect();
    c.send("CAP LS 302");
    c.send("NICK alice");
    c.send("USER alice 0 * :alice real");
    let seen = c.sync();
    assert!(!seen.iter().any(|l| l.contains(" 001 ")), "{seen:#?}");
    c.send("CAP END");
    c.expect_line(":pico.test 001 alice ");
    // CAP END from a client that never negotiated changes nothing.
    let mut d = srv.connect();
    d.send("CAP END");
    d.register("bob");
    // irssi's probe: `JOIN :` before registering gets 451 and the
    // connection stays usable.
    let mut e = srv.connect();
    e.send("CAP LS 302");
    e.send("JOIN :");
    e.expect_line(" 451 ");
    e.send("CAP REQ :server-time");
    e.expect_line(" ACK ");
    e.send("CAP END");
    e.register("carol");
}

#[test]
fn a_rehash_that_changes_a_cap_value_sends_cap_del_and_new() {
    let srv = TestServer::with_config(&oper_config());
    let mut c = capped(&srv, "alice", "batch draft/multiline");
    c.send("OPER boss pw");
    c.expect(" 381 ");
    let good = std::fs::read_to_string(&srv.conf).expect("config");
    let changed = good.replacen("[limits]\n", "[limits]\nmultiline-max-lines = 7\n", 1);
    assert_ne!(changed, good);
    std::fs::write(&srv.conf, &changed).expect("config");
    c.send("REHASH");
    // CAP LS 302 implied cap-notify: the cap is withdrawn and offered anew.
    assert_eq!(
        c.expect_line(" CAP alice DEL "),
        ":pico.test CAP alice DEL :draft/multiline"
    );
    assert_eq!(
        c.expect_line(" CAP alice NEW "),
        ":pico.test CAP alice NEW :draft/multiline=max-bytes=4096,max-lines=7"
    );
    c.send("CAP LIST");
    let list = c.expect_line(" LIST ");
    assert!(!list.contains("draft/multiline"), "{list}");
    std::fs::write(&srv.conf, good).expect("config");
}

#[test]
fn account_caps_without_logins_add_nothing() {
    // Until accounts exist (#7) nobody is logged in: account-tag adds no
    // tag, account-notify sends nothing, extended-join shows `*`.
    let srv = TestServer::start();
    let mut a = capped(&srv, "alice", "account-tag account-notify extended-join");
    join(&mut a, "#acc");
    let mut b = srv.client("bob");
    b.send("JOIN #acc");
    let j = a.expect_line(" JOIN #acc");
    assert!(
        j.starts_with(":bob!") && j.ends_with(" JOIN #acc * :bob real"),
        "{j}"
    );
    b.send("PRIVMSG #acc :hi");
    let m = a.expect_line(":hi");
    assert!(m.starts_with(":bob!"), "no tags at all: {m}");
    assert_quiet(&mut a, "ACCOUNT");
}
