//! IRCv3 `draft/multiline` end to end: the real binary and raw-socket
//! clients that negotiated different capabilities — one with
//! `draft/multiline batch message-tags`, one with `message-tags
//! server-time` only, one with none — and the exact lines each one gets
//! from a batch: the batch itself, the plain-line fallback, the echo (also
//! labeled), each FAIL, a batch left open at QUIT, and batches to a
//! channel the sender may not speak in. Values that change per run
//! (`time`, `msgid`, batch references, the cloaked host) are checked for
//! their shape and compared between recipients, never hard-coded.

mod util;

use std::time::Duration;

use util::tags::capped;
use util::{base_config, Client, TestServer};

/// The sender's capabilities.
const SENDER: &str = "draft/multiline batch message-tags server-time echo-message labeled-response";
/// A recipient that gets batches.
const MULTI: &str = "draft/multiline batch message-tags";
/// A recipient that gets the fallback, with tags.
const TAGGED: &str = "message-tags server-time";

/// The four clients of most tests, all on `#ml`, their joins read.
struct Room {
    alice: Client,
    bob: Client,
    carol: Client,
    dave: Client,
}

fn room(srv: &TestServer) -> Room {
    let mut r = Room {
        alice: capped(srv, "alice", SENDER),
        bob: capped(srv, "bob", MULTI),
        carol: capped(srv, "carol", TAGGED),
        dave: capped(srv, "dave", ""),
    };
    for c in [&mut r.alice, &mut r.bob, &mut r.carol, &mut r.dave] {
        c.send("JOIN #ml");
        c.expect(" 366 ");
    }
    for c in [&mut r.alice, &mut r.bob, &mut r.carol, &mut r.dave] {
        c.sync();
    }
    r
}

/// Sends several lines in one write.
fn send_all(c: &mut Client, lines: &[&str]) {
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    c.send_raw(text.as_bytes());
}

/// The next `n` lines.
fn lines(c: &mut Client, n: usize) -> Vec<String> {
    (0..n).map(|_| c.line()).collect()
}

/// The value of tag `key` on `line`.
fn tag<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let tags = line.strip_prefix('@')?.split(' ').next()?;
    tags.split(';')
        .map(|t| t.split_once('=').unwrap_or((t, "")))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// `2026-11-25T10:00:00.123Z`: RFC 3339, milliseconds, UTC.
fn assert_time(v: &str) {
    assert_eq!(v.len(), 24, "{v}");
    assert!(v.ends_with('Z') && v.as_bytes()[10] == b'T', "{v}");
}

/// A msgid or batch reference: non-empty, letters and digits.
fn assert_id(v: &str) {
    assert!(
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{v:?}"
    );
}

/// `alice!~alice@<host>`: the source of a line `alice` sent.
fn mask_in(line: &str) -> String {
    let at = line.find(":alice!").unwrap_or_else(|| panic!("{line}"));
    line[at + 1..]
        .split(' ')
        .next()
        .expect("a source")
        .to_string()
}

/// The batch a multiline recipient got: reads `BATCH +` and checks its
/// shape; returns (reference, its line).
fn opening(c: &mut Client) -> (String, String) {
    let open = c.line();
    let reference = open
        .split(" BATCH +")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("not a BATCH +: {open}"))
        .to_string();
    assert_id(&reference);
    (reference, open)
}

#[test]
fn cap_ls_advertises_the_configured_limits() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    c.send("CAP LS 302");
    let ls = c.expect_line(" CAP * LS ");
    assert!(
        ls.split([' ', ':'])
            .any(|w| w == "draft/multiline=max-bytes=4096,max-lines=100"),
        "{ls}"
    );
    // Without 302 no values.
    let mut old = srv.connect();
    old.send("CAP LS");
    let ls = old.expect_line(" CAP * LS ");
    assert!(ls.split([' ', ':']).any(|w| w == "draft/multiline"), "{ls}");

    let conf = base_config() + "multiline-max-bytes = 1000\nmultiline-max-lines = 5\n";
    let srv = TestServer::with_config(&conf);
    let mut c = srv.connect();
    c.send("CAP LS 302");
    let ls = c.expect_line(" CAP * LS ");
    assert!(
        ls.split([' ', ':'])
            .any(|w| w == "draft/multiline=max-bytes=1000,max-lines=5"),
        "{ls}"
    );
}

#[test]
fn a_channel_batch_reaches_each_form() {
    let srv = TestServer::start();
    let mut r = room(&srv);
    send_all(
        &mut r.alice,
        &[
            "@+example.com/x=1 BATCH +b1 draft/multiline #ml",
            "@batch=b1 PRIVMSG #ml hello",
            "@batch=b1 PRIVMSG #ml :",
            "@batch=b1 PRIVMSG #ml :how is ",
            "@batch=b1;draft/multiline-concat PRIVMSG #ml :everyone?",
            "BATCH -b1",
        ],
    );

    // bob: the batch, with msgid and the client-only tag on BATCH +.
    let (reference, open) = opening(&mut r.bob);
    let msgid = tag(&open, "msgid").expect("msgid").to_string();
    assert_id(&msgid);
    let mask = mask_in(&open);
    assert!(mask.starts_with("alice!~alice@"), "{mask}");
    assert_eq!(
        open,
        format!("@msgid={msgid};+example.com/x=1 :{mask} BATCH +{reference} draft/multiline #ml")
    );
    let body = [
        format!("@batch={reference} :{mask} PRIVMSG #ml :hello"),
        format!("@batch={reference} :{mask} PRIVMSG #ml :"),
        format!("@batch={reference} :{mask} PRIVMSG #ml :how is "),
        format!("@batch={reference};draft/multiline-concat :{mask} PRIVMSG #ml :everyone?"),
        format!(":{mask} BATCH -{reference}"),
    ];
    assert_eq!(lines(&mut r.bob, 5), body);

    // carol: each non-blank line as a PRIVMSG, the same time on each, the
    // msgid and client-only tags on the first only; no concat tag.
    let fallback = lines(&mut r.carol, 3);
    let time = tag(&fallback[0], "time").expect("time").to_string();
    assert_time(&time);
    assert_eq!(
        fallback,
        [
            format!("@time={time};msgid={msgid};+example.com/x=1 :{mask} PRIVMSG #ml :hello"),
            format!("@time={time} :{mask} PRIVMSG #ml :how is "),
            format!("@time={time} :{mask} PRIVMSG #ml :everyone?"),
        ]
    );

    // dave: the same lines, bare.
    assert_eq!(
        lines(&mut r.dave, 3),
        [
            format!(":{mask} PRIVMSG #ml :hello"),
            format!(":{mask} PRIVMSG #ml :how is "),
            format!(":{mask} PRIVMSG #ml :everyone?"),
        ]
    );

    // alice (echo-message): the batch in her form, the same ids; no ACK
    // for BATCH + and nothing for the lines.
    let echo = lines(&mut r.alice, 6);
    assert_eq!(
        echo[0],
        format!(
            "@time={time};msgid={msgid};+example.com/x=1 :{mask} BATCH +{reference} draft/multiline #ml"
        )
    );
    assert_eq!(echo[1..], body);

    // Nothing else came to anyone.
    for c in [&mut r.alice, &mut r.bob, &mut r.carol, &mut r.dave] {
        let rest = c.sync();
        assert_eq!(rest.len(), 1, "{rest:?}");
    }
}

#[test]
fn a_private_batch_and_its_labeled_echo() {
    let srv = TestServer::start();
    let mut r = room(&srv);
    r.bob.send("AWAY :lunch");
    r.bob.expect(" 306 ");

    // To a multiline nick: labeled, the label lands on the echoed BATCH +.
    send_all(
        &mut r.alice,
        &[
            "@label=L1 BATCH +p1 draft/multiline bob",
            "@batch=p1 PRIVMSG bob :line one",
            "@batch=p1;draft/multiline-concat PRIVMSG bob :and more",
            "BATCH -p1",
        ],
    );
    let (reference, open) = opening(&mut r.bob);
    let msgid = tag(&open, "msgid").expect("msgid").to_string();
    let mask = mask_in(&open);
    assert_eq!(
        open,
        format!("@msgid={msgid} :{mask} BATCH +{reference} draft/multiline bob")
    );
    let body = [
        format!("@batch={reference} :{mask} PRIVMSG bob :line one"),
        format!("@batch={reference};draft/multiline-concat :{mask} PRIVMSG bob :and more"),
        format!(":{mask} BATCH -{reference}"),
    ];
    assert_eq!(lines(&mut r.bob, 3), body);

    // alice's labeled response is the echoed batch and RPL_AWAY: more than
    // one batch, so a labeled-response batch holds them, the multiline
    // batch nested in it.
    let outer_open = r.alice.line();
    let outer = outer_open
        .split(" BATCH +")
        .nth(1)
        .and_then(|r| r.strip_suffix(" labeled-response"))
        .unwrap_or_else(|| panic!("{outer_open}"))
        .to_string();
    assert_eq!(tag(&outer_open, "label"), Some("L1"), "{outer_open}");
    let echo = lines(&mut r.alice, 6);
    let time = tag(&echo[0], "time").expect("time").to_string();
    assert_eq!(
        echo[0],
        format!(
            "@batch={outer};time={time};msgid={msgid} :{mask} BATCH +{reference} draft/multiline bob"
        )
    );
    assert_eq!(echo[1..3], body[..2]);
    assert_eq!(
        echo[3],
        format!("@batch={outer} :{mask} BATCH -{reference}")
    );
    assert!(
        echo[4].starts_with(&format!("@batch={outer};time="))
            && echo[4].ends_with(" 301 alice bob :lunch"),
        "{}",
        echo[4]
    );
    assert!(
        echo[5].ends_with(&format!(":pico.test BATCH -{outer}")),
        "{}",
        echo[5]
    );

    // Back from lunch: the echo alone is the response, labeled on its
    // own BATCH + (Ergo collapses a response that is one batch).
    r.bob.send("AWAY");
    r.bob.expect(" 305 ");
    send_all(
        &mut r.alice,
        &[
            "@label=L2 BATCH +p2 draft/multiline bob",
            "@batch=p2 PRIVMSG bob :second",
            "BATCH -p2",
        ],
    );
    let (reference, open) = opening(&mut r.bob);
    let msgid = tag(&open, "msgid").expect("msgid").to_string();
    let echo = lines(&mut r.alice, 3);
    let time = tag(&echo[0], "time").expect("time").to_string();
    assert_eq!(
        echo,
        [
            format!(
                "@label=L2;time={time};msgid={msgid} :{mask} BATCH +{reference} draft/multiline bob"
            ),
            format!("@batch={reference} :{mask} PRIVMSG bob :second"),
            format!(":{mask} BATCH -{reference}"),
        ]
    );

    // To a nick without multiline: the fallback, as in a channel.
    send_all(
        &mut r.alice,
        &[
            "BATCH +p3 draft/multiline carol",
            "@batch=p3 NOTICE carol :first",
            "@batch=p3 NOTICE carol :",
            "@batch=p3 NOTICE carol :second",
            "BATCH -p3",
        ],
    );
    let got = lines(&mut r.carol, 2);
    let time = tag(&got[0], "time").expect("time").to_string();
    let msgid = tag(&got[0], "msgid").expect("msgid").to_string();
    assert_eq!(
        got,
        [
            format!("@time={time};msgid={msgid} :{mask} NOTICE carol :first"),
            format!("@time={time} :{mask} NOTICE carol :second"),
        ]
    );
    send_all(
        &mut r.alice,
        &[
            "BATCH +p4 draft/multiline dave",
            "@batch=p4 PRIVMSG dave :a",
            "@batch=p4;draft/multiline-concat PRIVMSG dave :b",
            "BATCH -p4",
        ],
    );
    assert_eq!(
        lines(&mut r.dave, 2),
        [
            format!(":{mask} PRIVMSG dave :a"),
            format!(":{mask} PRIVMSG dave :b"),
        ]
    );
}

/// Sends a batch of `body` lines to `#ml` with reference `reference` and
/// returns the next line `c` gets.
fn batch_reply(c: &mut Client, reference: &str, body: &[String]) -> String {
    let mut all = vec![format!("BATCH +{reference} draft/multiline #ml")];
    all.extend(body.iter().cloned());
    all.push(format!("BATCH -{reference}"));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    send_all(c, &refs);
    c.line()
}

/// The line without its `time` tag (alice has server-time).
fn untimed(line: &str) -> String {
    match line.strip_prefix("@time=") {
        Some(rest) => rest
            .split_once(' ')
            .map(|(_, l)| l.to_string())
            .unwrap_or_default(),
        None => line.to_string(),
    }
}

#[test]
fn each_error_is_a_fail_with_ergos_words() {
    let srv = TestServer::start();
    let mut r = room(&srv);
    let a = &mut r.alice;

    let big: Vec<String> = (0..11)
        .map(|_| format!("@batch=e1 PRIVMSG #ml {}", "x".repeat(400)))
        .collect();
    assert_eq!(
        untimed(&batch_reply(a, "e1", &big)),
        ":pico.test FAIL BATCH MULTILINE_MAX_BYTES 4096 :Multiline batch byte limit 4096 exceeded"
    );
    // The failed batch's remaining lines and its BATCH - went quietly.
    assert_eq!(a.sync().len(), 1);

    let many: Vec<String> = (0..101)
        .map(|_| "@batch=e2 PRIVMSG #ml hi".to_string())
        .collect();
    assert_eq!(
        untimed(&batch_reply(a, "e2", &many)),
        ":pico.test FAIL BATCH MULTILINE_MAX_LINES 100 :Multiline batch line limit 100 exceeded"
    );
    assert_eq!(a.sync().len(), 1);

    assert_eq!(
        untimed(&batch_reply(
            a,
            "e3",
            &["@batch=e3 PRIVMSG #other :x".into()]
        )),
        ":pico.test FAIL BATCH MULTILINE_INVALID_TARGET #ml #other :Invalid multiline target"
    );
    assert_eq!(
        untimed(&batch_reply(
            a,
            "e4",
            &[
                "@batch=e4 PRIVMSG #ml :a privmsg".into(),
                "@batch=e4 NOTICE #ml :then a notice".into()
            ]
        )),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Invalid multiline batch"
    );
    assert_eq!(
        untimed(&batch_reply(
            a,
            "e5",
            &[
                "@batch=e5 PRIVMSG #ml :hello ".into(),
                "@batch=e5;draft/multiline-concat PRIVMSG #ml :".into(),
                "@batch=e5 PRIVMSG #ml :there".into()
            ]
        )),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Cannot send a blank line with the multiline concat tag"
    );
    assert_eq!(
        untimed(&batch_reply(
            a,
            "e6",
            &[
                "@batch=e6 PRIVMSG #ml :".into(),
                "@batch=e6 PRIVMSG #ml :".into()
            ]
        )),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Invalid multiline batch"
    );
    assert_eq!(
        untimed(&batch_reply(
            a,
            "e7",
            &["@batch=other PRIVMSG #ml :hi".into()]
        )),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Incorrect batch tag sent"
    );
    a.sync();

    // Another command inside a batch ends it and does not run.
    send_all(
        a,
        &[
            "BATCH +e8 draft/multiline #ml",
            "@batch=e8 PRIVMSG #ml :hi",
            "TOPIC #ml :not now",
            "BATCH -e8",
        ],
    );
    assert_eq!(
        untimed(&a.line()),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Command not allowed during a multiline batch"
    );
    assert_eq!(a.sync().len(), 1, "no TOPIC, no more FAIL");

    // No nesting: both end.
    send_all(
        a,
        &[
            "BATCH +e9 draft/multiline #ml",
            "BATCH +e10 draft/multiline #ml",
        ],
    );
    assert_eq!(
        untimed(&a.line()),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Invalid multiline batch"
    );
    // BATCH - of no batch, another batch type, a bare reference.
    for bad in ["BATCH -e9", "BATCH +x chathistory #ml", "BATCH e11"] {
        a.send(bad);
        assert_eq!(
            untimed(&a.line()),
            ":pico.test FAIL BATCH MULTILINE_INVALID :Invalid multiline batch",
            "{bad}"
        );
    }
    a.send("BATCH");
    assert_eq!(
        untimed(&a.line()),
        ":pico.test 461 alice BATCH :Not enough parameters"
    );

    // A NOTICE batch fails without a word.
    send_all(
        a,
        &[
            "BATCH +n1 draft/multiline #ml",
            "@batch=n1 NOTICE #other :x",
            "BATCH -n1",
        ],
    );
    assert_eq!(a.sync().len(), 1);

    // A labeled batch's failure carries its label.
    let mut labeled = vec!["@label=F1 BATCH +f1 draft/multiline #ml".to_string()];
    labeled.extend((0..101).map(|_| "@batch=f1 PRIVMSG #ml hi".to_string()));
    let refs: Vec<&str> = labeled.iter().map(String::as_str).collect();
    send_all(a, &refs);
    let fail = a.line();
    assert!(
        fail.starts_with("@label=F1;time=")
            && fail.ends_with(
                " :pico.test FAIL BATCH MULTILINE_MAX_LINES 100 :Multiline batch line limit 100 exceeded"
            ),
        "{fail}"
    );
    a.send("BATCH -f1");
    assert_eq!(a.sync().len(), 1);

    // Without the capability there is no batch to open.
    r.dave.send("BATCH +d1 draft/multiline #ml");
    assert_eq!(
        r.dave.line(),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Invalid multiline batch"
    );
    r.dave.send("@batch=d1 PRIVMSG #ml :hi");
    assert_eq!(
        r.dave.line(),
        ":pico.test FAIL BATCH MULTILINE_INVALID :Incorrect batch tag sent"
    );

    // None of it reached anyone.
    for c in [&mut r.bob, &mut r.carol] {
        let rest = c.sync();
        assert_eq!(rest.len(), 1, "{rest:?}");
    }
    let rest = r.dave.sync();
    assert_eq!(rest.len(), 1, "{rest:?}");
}

#[test]
fn a_batch_left_open_is_dropped_at_quit() {
    let srv = TestServer::start();
    let mut r = room(&srv);
    send_all(
        &mut r.alice,
        &[
            "BATCH +q1 draft/multiline #ml",
            "@batch=q1 PRIVMSG #ml :never sent",
            "@batch=q1 PRIVMSG #ml :at all",
            "QUIT :gone",
        ],
    );
    r.alice.expect("ERROR :Quit: gone");
    for c in [&mut r.bob, &mut r.carol, &mut r.dave] {
        let got = c.expect(" QUIT :Quit: gone");
        assert_eq!(got.len(), 1, "only the QUIT: {got:?}");
        assert!(got[0].contains(":alice!"), "{got:?}");
    }
    for c in [&mut r.bob, &mut r.carol, &mut r.dave] {
        c.expect_none("never sent", Duration::from_millis(200));
    }
}

#[test]
fn a_batch_obeys_the_channel_modes() {
    let srv = TestServer::start();
    let mut op = capped(&srv, "oper8r", "");
    let mut alice = capped(&srv, "alice", SENDER);
    let mut bob = capped(&srv, "bob", MULTI);
    for c in [&mut op, &mut bob] {
        c.send("JOIN #quiet");
        c.expect(" 366 ");
        c.send("JOIN #closed");
        c.expect(" 366 ");
    }
    alice.send("JOIN #quiet");
    alice.expect(" 366 ");
    op.send("MODE #quiet +m");
    op.expect(" MODE #quiet +m");
    alice.expect(" MODE #quiet +m");
    bob.sync();

    // +m: alice is a member without voice.
    send_all(
        &mut alice,
        &[
            "@label=M1 BATCH +m1 draft/multiline #quiet",
            "@batch=m1 PRIVMSG #quiet :let me",
            "@batch=m1 PRIVMSG #quiet :speak",
            "BATCH -m1",
        ],
    );
    let reply = alice.line();
    assert!(
        reply.starts_with("@label=M1;time=")
            && reply.ends_with(" :pico.test 404 alice #quiet :Cannot send to channel (+m)"),
        "{reply}"
    );
    // +n (the default): alice is not on #closed.
    send_all(
        &mut alice,
        &[
            "BATCH +n1 draft/multiline #closed",
            "@batch=n1 PRIVMSG #closed :hello",
            "BATCH -n1",
        ],
    );
    assert_eq!(
        untimed(&alice.line()),
        ":pico.test 404 alice #closed :Cannot send to channel"
    );
    let rest = bob.sync();
    assert_eq!(rest.len(), 1, "nothing reached bob: {rest:?}");

    // Voiced, the same batch goes through.
    op.send("MODE #quiet +v alice");
    op.expect(" MODE #quiet +v alice");
    alice.expect(" MODE #quiet +v alice");
    bob.expect(" MODE #quiet +v alice");
    send_all(
        &mut alice,
        &[
            "BATCH +m2 draft/multiline #quiet",
            "@batch=m2 PRIVMSG #quiet :now I",
            "@batch=m2 PRIVMSG #quiet :may",
            "BATCH -m2",
        ],
    );
    let (reference, _) = opening(&mut bob);
    let got = lines(&mut bob, 3);
    assert!(got[0].ends_with(" PRIVMSG #quiet :now I"), "{got:?}");
    assert_eq!(
        got[2].split(' ').nth(2),
        Some(format!("-{reference}").as_str())
    );
    let mask = mask_in(&got[0]);
    assert_eq!(
        lines(&mut op, 2),
        [
            format!(":{mask} PRIVMSG #quiet :now I"),
            format!(":{mask} PRIVMSG #quiet :may"),
        ]
    );
}
