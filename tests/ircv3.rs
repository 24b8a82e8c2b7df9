//! IRCv3 capabilities end to end (issue #5): the real binary, two to four
//! raw-socket clients that negotiated different capabilities, and the
//! exact lines each one gets. Tag values that change per run (`time`,
//! `msgid`, batch references) are checked for their shape and then
//! compared between recipients, never hard-coded.

mod util;

use std::time::Duration;

use util::{Client, TestServer};

/// Registers `nick` after `CAP REQ` for `caps` (space separated; empty:
/// no CAP at all) and reads the burst up to 221.
fn capped(srv: &TestServer, nick: &str, caps: &str) -> Client {
    let mut c = srv.connect();
    if !caps.is_empty() {
        c.send("CAP LS 302");
        c.send(&format!("CAP REQ :{caps}"));
        let ack = c.expect_line(" CAP ");
        let ack = if ack.contains(" LS ") {
            c.expect_line(" CAP ")
        } else {
            ack
        };
        assert!(ack.contains(" ACK "), "{ack}");
        c.send("CAP END");
    }
    c.register(nick);
    c
}

/// The tags of a line as `(key, value)` pairs, and the rest of the line.
fn split(line: &str) -> (Vec<(String, String)>, String) {
    let Some(rest) = line.strip_prefix('@') else {
        return (Vec::new(), line.to_string());
    };
    let (tags, body) = rest.split_once(' ').expect("a body after the tags");
    let tags = tags
        .split(';')
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (tags, body.to_string())
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `2026-11-25T10:00:00.123Z`: RFC 3339, milliseconds, UTC.
fn assert_time(v: &str) {
    let b = v.as_bytes();
    assert_eq!(b.len(), 24, "{v}");
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-', "{v}"),
            10 => assert_eq!(*c, b'T', "{v}"),
            13 | 16 => assert_eq!(*c, b':', "{v}"),
            19 => assert_eq!(*c, b'.', "{v}"),
            23 => assert_eq!(*c, b'Z', "{v}"),
            _ => assert!(c.is_ascii_digit(), "{v}"),
        }
    }
}

fn join(c: &mut Client, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.expect(" 366 ");
}

#[test]
fn cap_ls_lists_the_tag_capabilities() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    c.send("CAP LS 302");
    let ls = c.expect_line(" CAP * LS ");
    for cap in [
        "message-tags",
        "server-time",
        "batch",
        "labeled-response",
        "echo-message",
    ] {
        assert!(ls.split([' ', ':']).any(|w| w == cap), "{cap}: {ls}");
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
