//! ChanServ end to end (issue #7): registering a channel, what it keeps
//! across a restart (modes, key, topic, bans, founder, access list), and
//! the commands that manage it, over real sockets with the real binary.

mod util;

use util::{base_config, Client, TestServer};

fn config() -> String {
    base_config().replace(
        "network = \"PicoNet\"\n",
        "network = \"PicoNet\"\nbcrypt-cost = 4\n",
    ) + "\n[accounts]\nregistrations-per-minute = 0\n"
}

fn cs(nick: &str, text: &str) -> String {
    format!(":ChanServ!ChanServ@localhost NOTICE {nick} :{text}")
}

/// A registered client logged in to a new account named after it.
fn account(srv: &TestServer, nick: &str) -> Client {
    let mut c = srv.client(nick);
    c.send("NS REGISTER pw-of-account");
    c.expect_line(&format!("NOTICE {nick} :You're now logged in as {nick}"));
    c
}

/// Logs an existing account in on a fresh connection.
fn identified(srv: &TestServer, nick: &str) -> Client {
    let mut c = srv.client(nick);
    c.send(&format!("NS IDENTIFY {nick} pw-of-account"));
    c.expect_line(&format!("NOTICE {nick} :You're now logged in as {nick}"));
    c
}

#[test]
fn a_registered_channel_keeps_its_modes_topic_bans_and_founder_across_a_restart() {
    let srv = TestServer::with_config(&config());
    let mut alice = account(&srv, "alice");
    let mut bob = srv.client("bob");
    bob.send("CS REGISTER #club");
    bob.expect_line(&cs("bob", "You're not logged into an account"));
    alice.send("JOIN #club");
    alice.expect(" 366 ");
    bob.send("JOIN #club");
    bob.expect(" 366 ");
    alice.expect_line(" JOIN #club");

    // bob is no operator there; alice is.
    let mut carol = account(&srv, "carol");
    carol.send("JOIN #club");
    carol.expect(" 366 ");
    carol.send("CS REGISTER #club");
    carol.expect_line(&cs(
        "carol",
        "You must be an oper on the channel to register it",
    ));
    alice.send("CS REGISTER #club");
    alice.expect_line(&cs("alice", "Channel #club successfully registered"));
    let plusq = bob.expect_line(" MODE #club ");
    assert_eq!(plusq, ":ChanServ!ChanServ@localhost MODE #club +q alice");
    alice.send("CS REGISTER #club");
    alice.expect_line(&cs("alice", "Channel is already registered"));

    alice.send("MODE #club +mk sesame");
    alice.expect_line(" MODE #club +mk sesame");
    alice.send("TOPIC #club :the club's topic");
    alice.expect_line(" TOPIC #club :the club's topic");
    alice.send("MODE #club +b *!*@banned.example");
    alice.expect_line(" MODE #club +b *!*@banned.example");
    alice.send("CS INFO #club");
    alice.expect_line(&cs("alice", "Channel: #club"));
    alice.expect_line(&cs("alice", "Founder: alice"));
    drop((alice, bob, carol));

    let srv = srv.restart("TERM");
    // The first to join after the restart is not made an operator, and
    // needs the key.
    let mut dave = srv.client("dave");
    dave.send("JOIN #club");
    dave.expect_line(":pico.test 475 dave #club :Cannot join channel (+k)");
    dave.send("JOIN #club sesame");
    let burst = dave.expect(" 366 ");
    assert!(
        burst
            .iter()
            .any(|l| l.ends_with(" 332 dave #club :the club's topic")),
        "{burst:?}"
    );
    assert!(
        burst
            .iter()
            .any(|l| l.contains(" 353 ") && l.ends_with(":dave")),
        "{burst:?}"
    );
    dave.send("MODE #club");
    dave.expect_line(":pico.test 324 dave #club +mntk sesame");
    dave.send("MODE #club b");
    dave.expect_line(" 367 dave #club *!*@banned.example ");

    // The founder, logged in, gets +q on joining.
    let mut alice = identified(&srv, "alice");
    alice.send("JOIN #club sesame");
    alice.expect(" 366 ");
    let mode = dave.expect_line(" MODE #club ");
    assert_eq!(mode, ":pico.test MODE #club +q alice");
}

#[test]
fn amode_op_deop_voice_transfer_topiclock_and_unregister() {
    let srv = TestServer::with_config(&config());
    let mut alice = account(&srv, "alice");
    let mut bob = account(&srv, "bob");
    alice.send("JOIN #room");
    alice.expect(" 366 ");
    alice.send("CS REGISTER #room");
    alice.expect_line(&cs("alice", "Channel #room successfully registered"));

    // AMODE: bob gets +o whenever he joins.
    alice.send("CS AMODE #room +o bob");
    alice.expect_line(&cs("alice", "Successfully set persistent mode +o on bob"));
    alice.send("CS AMODE #room +o nobody-such");
    alice.expect_line(&cs("alice", "Account does not exist"));
    alice.send("CS AMODE #room");
    alice.expect_line(&cs("alice", "Channel #room has 1 persistent modes set"));
    alice.expect_line(&cs("alice", "Account bob receives mode +o"));
    bob.send("JOIN #room");
    bob.expect(" 366 ");
    let mode = alice.expect_line(" MODE #room ");
    assert_eq!(mode, ":pico.test MODE #room +o bob");
    bob.send("CS AMODE #room +o bob");
    bob.expect_line(&cs("bob", "Insufficient privileges"));

    // DEOP and OP.
    alice.send("CS DEOP #room bob");
    alice.expect_line(&cs("alice", "Successfully removed operator privileges"));
    bob.expect_line(" MODE #room -o bob");
    bob.send("CS OP #room");
    bob.expect_line(&cs("bob", "Successfully granted operator privileges"));
    alice.expect_line(":pico.test MODE #room +o bob");
    bob.send("CS OP #room alice");
    bob.expect_line(&cs("bob", "Only the channel founder can do this"));
    let mut eve = srv.client("eve");
    eve.send("JOIN #room");
    eve.expect(" 366 ");
    alice.send("CS VOICE #room eve");
    alice.expect_line(&cs("alice", "Successfully granted voice privileges"));
    eve.expect_line(":pico.test MODE #room +v eve");

    // TOPICLOCK: operators may no longer change the topic.
    alice.send("CS TOPICLOCK #room on");
    alice.expect_line(&cs("alice", "Topic lock is now on for #room"));
    bob.send("TOPIC #room :from an op");
    bob.expect_line(":pico.test 482 bob #room :The topic is locked by ChanServ");
    alice.send("TOPIC #room :from the founder");
    alice.expect_line(" TOPIC #room :from the founder");

    // TRANSFER needs its code; then bob is the founder.
    alice.send("CS TRANSFER #room bob");
    let lines = alice.expect("To confirm your channel transfer, type: /CS TRANSFER #room bob ");
    let code = lines
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    alice.send(&format!("CS TRANSFER #room bob {code}"));
    alice.expect_line(&cs(
        "alice",
        "Successfully transferred channel #room to account bob",
    ));
    bob.send("CS INFO #room");
    bob.expect_line(&cs("bob", "Founder: bob"));
    alice.send("CS UNREGISTER #room");
    alice.expect_line(&cs("alice", "Insufficient privileges"));

    // UNREGISTER with its code.
    bob.send("CS UNREGISTER #room");
    let lines = bob.expect("To confirm, run this command: /CS UNREGISTER #room ");
    let code = lines
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    bob.send(&format!("CS DROP #room {code}"));
    bob.expect_line(&cs("bob", "Channel #room is now unregistered"));
    bob.send("CS INFO #room");
    bob.expect_line(&cs("bob", "Channel #room is not registered"));
}
