//! draft/channel-rename (RENAME) and draft/relaymsg (RELAYMSG) end to end:
//! the real binary, several raw-socket clients with and without the
//! capabilities, the exact lines each one gets. `time` and `msgid` values
//! are checked for shape and compared between recipients, never
//! hard-coded; hosts are cloaks, read back with USERHOST.

mod util;

use std::time::Duration;

use util::tags::{assert_msgid, assert_time, capped, split_tags as split, tag};
use util::{base_config, host, join, mask, Client, TestServer};

const OPER_PW: &str = "hunter2";

/// `base_config()` plus an oper `relay` whose class may RELAYMSG, and
/// `extra` (more sections).
fn config(extra: &str) -> String {
    let hash = bcrypt::hash(OPER_PW, 4).expect("bcrypt");
    format!(
        r#"{}
[oper-classes.bridges]
capabilities = ["relaymsg"]

[[oper]]
name = "relay"
class = "bridges"
password = "{hash}"
{extra}"#,
        base_config()
    )
}

/// The words of a 353 line's name list, sorted.
fn names_of(line: &str) -> Vec<String> {
    let mut v: Vec<String> = line
        .rsplit_once(" :")
        .expect("353 text")
        .1
        .split(' ')
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// Sends `line`, then reads everything up to a PING round trip.
fn ask(c: &mut Client, line: &str) -> Vec<String> {
    c.send(line);
    let mut got = c.sync();
    got.pop();
    got
}

// ----- RENAME ----------------------------------------------------------------

#[test]
fn cap_ls_advertises_both_capabilities() {
    let srv = TestServer::start();
    let mut c = srv.connect();
    c.send("CAP LS 302");
    let ls = c.expect_line(" CAP * LS ");
    let words: Vec<&str> = ls.rsplit_once(" :").unwrap().1.split(' ').collect();
    assert!(words.contains(&"draft/channel-rename"), "{ls}");
    assert!(words.contains(&"draft/relaymsg=/"), "{ls}");
    let mut old = srv.connect();
    old.send("CAP LS");
    let ls = old.expect_line(" CAP * LS ");
    assert!(
        ls.contains(" draft/relaymsg "),
        "302 clients only see values: {ls}"
    );

    let srv = TestServer::with_config(&config("[relaymsg]\nseparators = \"/~\"\n"));
    let mut c = srv.connect();
    c.send("CAP LS 302");
    assert!(c.expect_line(" CAP * LS ").contains(" draft/relaymsg=/~ "));
}

#[test]
fn rename_reaches_each_member_in_its_form() {
    let srv = TestServer::start();
    let mut alice = capped(&srv, "alice", "draft/channel-rename");
    let mut bob = capped(&srv, "bob", "");
    let mut carol = capped(
        &srv,
        "carol",
        "draft/channel-rename message-tags server-time",
    );
    let (am, bm) = (mask(&mut alice), mask(&mut bob));
    for c in [&mut alice, &mut bob, &mut carol] {
        join(c, "#old");
    }
    alice.send("TOPIC #old :the topic");
    for c in [&mut alice, &mut bob, &mut carol] {
        c.expect(" TOPIC #old ");
    }

    alice.send("RENAME #Old #new :tidy up");
    let rename = format!(":{am} RENAME #old #new :tidy up");
    assert_eq!(alice.expect_line(" RENAME "), rename);
    let (tags, body) = split(&carol.expect_line(" RENAME "));
    assert_eq!(body, rename);
    assert_time(tag(&tags, "time").expect("time"));
    assert_msgid(tag(&tags, "msgid"));

    // Without the capability: as if bob left and joined the new name.
    let got = bob.expect(" 366 ");
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(got[0], format!(":{bm} PART #old :Channel renamed: tidy up"));
    assert_eq!(got[1], format!(":{bm} JOIN #new"));
    assert_eq!(got[2], ":pico.test 332 bob #new :the topic");
    assert!(
        got[3].starts_with(":pico.test 333 bob #new alice "),
        "{got:?}"
    );
    assert!(got[4].starts_with(":pico.test 353 bob = #new :"), "{got:?}");
    assert_eq!(names_of(&got[4]), ["@alice", "bob", "carol"]);
    assert_eq!(got[5], ":pico.test 366 bob #new :End of NAMES list");
    for c in [&mut alice, &mut carol] {
        let rest = c.sync();
        assert!(
            rest.iter()
                .all(|l| !l.contains("#old") && !l.contains("#new")),
            "{rest:?}"
        );
    }

    // The old name is free: a newcomer makes a new channel of it.
    let mut dave = capped(&srv, "dave", "");
    let got = join(&mut dave, "#old");
    assert_eq!(got[got.len() - 2], ":pico.test 353 dave = #old :@dave");
    alice.expect_none("#old", Duration::from_millis(300));

    // The new name answers everywhere a name is looked up.
    let mut eve = capped(&srv, "eve", "");
    let topic = ask(&mut eve, "TOPIC #NEW");
    assert_eq!(topic.len(), 2, "{topic:?}");
    assert_eq!(topic[0], ":pico.test 332 eve #new :the topic");
    assert!(
        topic[1].starts_with(":pico.test 333 eve #new alice "),
        "{topic:?}"
    );
    let list = ask(&mut eve, "LIST #new");
    assert_eq!(list[1], ":pico.test 322 eve #new 3 :[+nt] the topic");
    let who = ask(&mut bob, "WHO #new");
    assert_eq!(who.len(), 4, "{who:?}");
    assert!(
        who[..3].iter().all(|l| l.contains(" 352 bob #new ")),
        "{who:?}"
    );
    assert_eq!(who[3], ":pico.test 315 bob #new :End of WHO list");
    let names = ask(&mut bob, "NAMES #new");
    assert_eq!(names_of(&names[0]), ["@alice", "bob", "carol"]);
    let got = join(&mut eve, "#new");
    assert_eq!(
        names_of(&got[got.len() - 2]),
        ["@alice", "bob", "carol", "eve"]
    );
    assert!(alice.expect_line(" JOIN #new").starts_with(":eve!"));
}

#[test]
fn the_fallback_names_follow_multi_prefix_and_userhost_in_names() {
    let srv = TestServer::start();
    let mut alice = capped(&srv, "alice", "");
    let mut bob = capped(&srv, "bob", "multi-prefix userhost-in-names");
    let (am, bm) = (mask(&mut alice), mask(&mut bob));
    join(&mut alice, "#a");
    join(&mut bob, "#a");
    alice.send("MODE #a +v alice");
    bob.expect(" MODE #a +v alice");
    alice.sync();

    alice.send("RENAME #a #b");
    let got = bob.expect(" 366 ");
    assert_eq!(got[0], format!(":{bm} PART #a :Channel renamed"));
    assert_eq!(got[1], format!(":{bm} JOIN #b"));
    assert_eq!(names_of(&got[2]), [format!("@+{am}"), bm.clone()]);
    assert_eq!(got.len(), 4, "no topic, no 332/333: {got:?}");
    let got = alice.expect(" 366 ");
    assert_eq!(got[0], format!(":{am} PART #a :Channel renamed"));
    assert_eq!(names_of(&got[2]), ["@alice", "bob"]);
}

#[test]
fn rename_errors_and_a_change_of_case() {
    let srv = TestServer::start();
    let mut alice = capped(&srv, "alice", "");
    let mut bob = capped(&srv, "bob", "draft/channel-rename");
    let mut carol = capped(&srv, "carol", "");
    let am = mask(&mut alice);
    join(&mut alice, "#old");
    join(&mut alice, "#other");
    join(&mut bob, "#old");
    alice.sync();

    let long = format!("#{}", "x".repeat(64));
    let cases = [
        (
            "alice",
            "RENAME #old".to_string(),
            ":pico.test 461 alice RENAME :Not enough parameters".to_string(),
        ),
        (
            "alice",
            "RENAME #nope #new".into(),
            ":pico.test 403 alice #nope :No such channel".into(),
        ),
        (
            "bob",
            "RENAME #old #new".into(),
            ":pico.test 482 bob #old :You're not a channel operator".into(),
        ),
        (
            "carol",
            "RENAME #OLD #new".into(),
            ":pico.test 482 carol #old :You're not a channel operator".into(),
        ),
        (
            "alice",
            "RENAME #old new".into(),
            ":pico.test 403 alice new :Invalid channel name".into(),
        ),
        (
            "alice",
            format!("RENAME #old {long}"),
            format!(":pico.test 403 alice {long} :Invalid channel name"),
        ),
        (
            "alice",
            "RENAME #old #Other :mine".into(),
            ":pico.test FAIL RENAME CHANNEL_NAME_IN_USE #old #Other :Channel name in use".into(),
        ),
    ];
    for (who, line, want) in cases {
        let c = match who {
            "alice" => &mut alice,
            "bob" => &mut bob,
            _ => &mut carol,
        };
        assert_eq!(ask(c, &line), [want], "{line}");
    }
    bob.expect_none("RENAME", Duration::from_millis(200));

    // Case only: allowed; no PART/JOIN for those without the capability.
    assert!(ask(&mut alice, "RENAME #old #OLD").is_empty());
    assert_eq!(
        bob.expect_line(" RENAME "),
        format!(":{am} RENAME #old #OLD :")
    );
    assert_eq!(
        ask(&mut carol, "LIST #old")[1],
        ":pico.test 322 carol #OLD 2 :[+nt]"
    );
}

#[test]
fn invites_follow_the_new_name() {
    let srv = TestServer::start();
    let mut alice = capped(&srv, "alice", "");
    let mut carol = capped(&srv, "carol", "");
    join(&mut alice, "#old");
    alice.send("MODE #old +i");
    alice.send("INVITE carol #old");
    alice.expect(" 341 ");
    carol.expect(" INVITE carol #old");
    alice.send("RENAME #old #new");
    alice.expect(" 366 ");
    let got = join(&mut carol, "#new");
    assert!(got[0].ends_with(" JOIN #new"), "{got:?}");
    // The old name is free (and a new channel, without +i).
    let got = join(&mut carol, "#old");
    assert_eq!(got[got.len() - 2], ":pico.test 353 carol = #old :@carol");
}

// ----- RELAYMSG --------------------------------------------------------------

#[test]
fn an_op_relays_to_every_member_in_its_form() {
    let srv = TestServer::with_config(&config(""));
    let mut bridge = capped(&srv, "bridge", "draft/relaymsg message-tags");
    let mut plain = capped(&srv, "plain", "");
    let mut tagged = capped(&srv, "tagged", "message-tags server-time");
    let mut relay_only = capped(&srv, "onlyrelay", "draft/relaymsg");
    let h = host(&mut bridge);
    for c in [&mut bridge, &mut plain, &mut tagged, &mut relay_only] {
        join(c, "#r");
    }
    bridge.sync();

    bridge.send("@+draft/reply=abc RELAYMSG #r matrix/bob :hello from matrix");
    let body = format!(":matrix/bob!~u@{h} PRIVMSG #r :hello from matrix");
    assert_eq!(plain.expect_line(" PRIVMSG "), body);
    assert_eq!(
        relay_only.expect_line(" PRIVMSG "),
        format!("@draft/relaymsg=bridge {body}")
    );
    let (tags, got) = split(&tagged.expect_line(" PRIVMSG "));
    assert_eq!(got, body);
    assert_time(tag(&tags, "time").expect("time"));
    let msgid = assert_msgid(tag(&tags, "msgid"));
    assert_eq!(tag(&tags, "draft/relaymsg"), Some("bridge"));
    assert_eq!(tag(&tags, "+draft/reply"), Some("abc"));
    assert_eq!(tags.len(), 4, "{tags:?}");
    // The bridge sees its own relay (as in Ergo), with the same id.
    let (tags, got) = split(&bridge.expect_line(" PRIVMSG "));
    assert_eq!(got, body);
    assert_eq!(tag(&tags, "msgid"), Some(msgid.as_str()));
    assert_eq!(tag(&tags, "draft/relaymsg"), Some("bridge"));
}

#[test]
fn relaymsg_refusals_and_channel_modes() {
    let srv = TestServer::with_config(&config(""));
    let mut op = capped(&srv, "op", "");
    let mut voice = capped(&srv, "voice", "");
    let mut oper = capped(&srv, "oscar", "");
    join(&mut op, "#r");
    join(&mut voice, "#r");
    op.send("MODE #r +v voice");
    voice.expect(" MODE #r +v voice");
    oper.send(&format!("OPER relay {OPER_PW}"));
    oper.expect(" 381 ");
    oper.sync();
    op.sync();

    let fail = |t: &str| format!(":pico.test FAIL RELAYMSG {t}");
    let cases = [
        (
            "voice",
            "RELAYMSG #r a/b :hi",
            fail("PRIVS_NEEDED :You cannot relay messages to this channel"),
        ),
        (
            "voice",
            "RELAYMSG #r a/b",
            ":pico.test 461 voice RELAYMSG :Not enough parameters".into(),
        ),
        (
            "op",
            "RELAYMSG #nope a/b :hi",
            ":pico.test 403 op #nope :No such channel".into(),
        ),
        (
            "op",
            "RELAYMSG #r a/b :  ",
            fail("BLANK_MSG :The message must not be blank"),
        ),
        (
            "op",
            "RELAYMSG #r a.b/c :hi",
            fail("INVALID_NICK :Invalid nickname"),
        ),
        (
            "op",
            "RELAYMSG #r /ab :hi",
            fail("INVALID_NICK :Invalid nickname"),
        ),
        (
            "op",
            "RELAYMSG #r alice :hi",
            fail(
                "INVALID_NICK :Relayed nicknames MUST contain a relaymsg separator from this set: /",
            ),
        ),
        // An oper with the capability, outside the channel: +n holds.
        (
            "oscar",
            "RELAYMSG #r x/y :hi",
            ":pico.test 404 oscar #r :Cannot send to channel".into(),
        ),
    ];
    for (who, line, want) in cases {
        let c = match who {
            "voice" => &mut voice,
            "op" => &mut op,
            _ => &mut oper,
        };
        assert_eq!(ask(c, line), [want], "{line}");
    }
    op.send("MODE #r +b spam/*!*@*");
    op.expect(" MODE #r +b ");
    voice.expect(" MODE #r +b ");
    assert_eq!(
        ask(&mut op, "RELAYMSG #r spam/bot :buy now"),
        [fail(
            "BANNED :spam/bot is banned from relaying to the channel"
        )]
    );
    voice.expect_none("PRIVMSG", Duration::from_millis(200));

    op.send("MODE #r -n");
    voice.expect(" MODE #r -n");
    assert!(ask(&mut oper, "RELAYMSG #r x/y :from outside").is_empty());
    assert!(voice.expect_line(" PRIVMSG ").starts_with(":x/y!~u@"));
    op.send("MODE #r +m");
    voice.expect(" MODE #r +m");
    assert_eq!(
        ask(&mut oper, "RELAYMSG #r x/y :muted"),
        [":pico.test 404 oscar #r :Cannot send to channel (+m)"]
    );
    // A channel operator may still speak, and so relay, under +m.
    op.send("RELAYMSG #r x/y :ops talk");
    assert!(voice
        .expect_line(" PRIVMSG ")
        .ends_with(" PRIVMSG #r :ops talk"));
    voice.expect_none("muted", Duration::from_millis(200));
}

#[test]
fn chanops_cannot_relay_when_the_config_says_so() {
    let srv = TestServer::with_config(&config("[relaymsg]\navailable-to-chanops = false\n"));
    let mut op = capped(&srv, "op", "");
    join(&mut op, "#r");
    assert_eq!(
        ask(&mut op, "RELAYMSG #r a/b :hi"),
        [":pico.test FAIL RELAYMSG PRIVS_NEEDED :You cannot relay messages to this channel"]
    );
}
