//! Operators end to end (issue #7): OPER by TLS client certificate,
//! K-lines and D-lines (refusal at registration and at connection,
//! ANDKILL, durations that lapse on their own, LIST, a restart in
//! between), the class capabilities that gate each command, SAJOIN,
//! SANICK and SAMODE, and server notices per mask (user mode +s).
//! Clients from other loopback addresses (127.0.0.2, ...) bind their
//! source address, so a D-line can hit them and not the oper.

mod util;

use std::net::{IpAddr, SocketAddr, TcpStream};

use util::tls::{pair, PyTls};
use util::{base_config, join, mask, Client, TestServer, WAIT};

const PW: &str = "sesame";

/// The test config: cheap bcrypt, an `admin` class with every oper
/// command and a `helper` class with KILL and SAJOIN only; the `boss`
/// oper gets server notices for most masks on OPER. `extra` is appended.
fn config(extra: &str) -> String {
    let hash = bcrypt::hash(PW, 4).expect("bcrypt");
    let base = base_config();
    assert!(base.contains("network = \"PicoNet\"\n"));
    base.replace(
        "network = \"PicoNet\"\n",
        "network = \"PicoNet\"\nbcrypt-cost = 4\n",
    ) + &format!(
        r#"
[oper-classes.helper]
title = "Helper"
capabilities = ["kill", "sajoin"]

[oper-classes.admin]
title = "Admin"
capabilities = ["kill", "ban", "sajoin", "samode", "rehash"]

[[oper]]
name = "boss"
class = "admin"
password = "{hash}"
modes = "+s +cknoqux"

[[oper]]
name = "helper"
class = "helper"
password = "{hash}"
{extra}"#
    )
}

fn start() -> TestServer {
    TestServer::with_config(&config(""))
}

/// OPER as `name`; returns the lines up to a PING round trip after it.
fn oper_up(c: &mut Client, name: &str) -> Vec<String> {
    c.send(&format!("OPER {name} {PW}"));
    let mut lines = c.expect(" 381 ");
    lines.extend(c.sync());
    lines
}

/// A raw connection from another loopback address (`127.0.0.x`).
fn connect_from(addr: SocketAddr, ip: &str) -> Client {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let ip: IpAddr = ip.parse().expect("ip");
    sock.bind(&SocketAddr::new(ip, 0).into()).expect("bind");
    sock.connect_timeout(&addr.into(), WAIT).expect("connect");
    let stream: TcpStream = sock.into();
    Client::over(stream)
}

/// Registers with NICK and USER, expecting a refusal: the 465 and the
/// ERROR lines, then the close.
fn refused_at_registration(c: &mut Client, nick: &str) -> (String, String) {
    c.send(&format!("NICK {nick}"));
    c.send(&format!("USER {nick} 0 * :{nick} real"));
    let numeric = c.expect_line(" 465 ");
    let error = c.line();
    assert!(c.closed(), "closed after {error}");
    (numeric, error)
}

#[test]
fn a_kline_refuses_at_registration_kills_with_andkill_and_survives_a_restart() {
    let srv = start();
    let mut a = srv.client("alice");
    let am = mask(&mut a);
    let lines = oper_up(&mut a, "boss");
    assert!(
        lines.contains(&format!(":{am} MODE alice +os :+cknoqux")),
        "{lines:#?}"
    );
    let mut v = srv.client("spammer");
    let mut bystander = srv.client("bystander");
    a.sync();

    // A mask that matches the oper needs MYSELF; a malformed one is refused.
    a.send("KLINE *!*@*");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice KLINE :This ban matches you. To KLINE yourself, you must use the command:  /KLINE MYSELF <arguments>"
    );
    a.send("KLINE a@b!c");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice KLINE :Erroneous nickname"
    );

    a.send("KLINE ANDKILL spammer!*@* :no spam|seen in #x");
    let out = a.expect("Added K-Line for spammer!*@*");
    for want in [
        ":pico.test NOTICE alice :*** alice [boss] added K-Line for spammer!*@*",
        ":pico.test NOTICE alice :*** spammer exited the network",
        ":pico.test NOTICE alice :*** alice [boss] killed 1 clients with a KLINE [spammer]",
        ":pico.test NOTICE alice :Added K-Line for spammer!*@*",
    ] {
        assert!(out.contains(&want.to_string()), "{want}: {out:#?}");
    }
    assert_eq!(
        v.expect_line("ERROR"),
        "ERROR :You have been banned from this server (no spam)"
    );
    assert!(v.closed());
    bystander.sync();

    // Registering on a K-lined mask: 465 and ERROR, Ergo's words (the
    // oper reason after `|` is for opers only).
    let mut again = srv.connect();
    let (numeric, error) = refused_at_registration(&mut again, "Spammer");
    assert_eq!(
        numeric,
        ":pico.test 465 Spammer :You are banned from this server (no spam)"
    );
    assert_eq!(error, "ERROR :You are banned from this server (no spam)");
    srv.client("fine");

    // The line is in the datastore: it is there after a restart.
    drop((a, bystander));
    let srv = srv.restart("TERM");
    let mut again = srv.connect();
    let (_, error) = refused_at_registration(&mut again, "spammer");
    assert_eq!(error, "ERROR :You are banned from this server (no spam)");
    let mut a = srv.client("alice");
    oper_up(&mut a, "boss");
    a.send("KLINE LIST");
    let listed = a.expect_line(" :Ban - ");
    assert!(
        listed.starts_with(
            ":pico.test NOTICE alice :Ban - spammer!*@* - added by boss - no spam | seen in #x [indefinite] added on ["
        ),
        "{listed}"
    );
    assert!(listed.ends_with(" UTC]"), "{listed}");
    a.send("UNKLINE Spammer");
    let out = a.expect(":Removed K-Line for spammer!*@*");
    assert!(
        out.contains(&":pico.test NOTICE alice :*** alice removed K-Line for spammer!*@*".into()),
        "{out:#?}"
    );
    a.send("UNKLINE spammer");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice UNKLINE :Could not remove ban [Ban does not exist]"
    );
    a.send("KLINE LIST");
    a.expect_line(":No KLINEs have been set!");
    srv.client("spammer");
}

#[test]
fn a_dline_refuses_at_connection_before_registration() {
    let srv = start();
    let mut far = connect_from(srv.addr, "127.0.0.2");
    far.register("faraway");
    let mut a = srv.client("alice");
    oper_up(&mut a, "boss");

    a.send("DLINE 127.0.0.1");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice DLINE :This ban matches you. To DLINE yourself, you must use the command:  /DLINE MYSELF <arguments>"
    );
    a.send("DLINE 127.0.0.300");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice DLINE :Could not parse IP address or CIDR network"
    );
    a.send("DLINE ANDKILL 127.0.0.2/32 :go away");
    let out = a.expect(":Added D-Line for 127.0.0.2");
    for want in [
        ":pico.test NOTICE alice :*** alice [boss] added D-Line for 127.0.0.2",
        ":pico.test NOTICE alice :*** alice [boss] killed 1 clients with a DLINE [faraway]",
    ] {
        assert!(out.contains(&want.to_string()), "{want}: {out:#?}");
    }
    assert_eq!(
        far.expect_line("ERROR"),
        "ERROR :You have been banned from this server (go away)"
    );
    assert!(far.closed());

    // Refused at once, before the client has sent anything.
    let mut refused = connect_from(srv.addr, "127.0.0.2");
    assert_eq!(
        refused.line(),
        "ERROR :You are banned from this server (go away)"
    );
    assert!(refused.closed());
    let mut near = connect_from(srv.addr, "127.0.0.3");
    near.register("near");

    // Kept across a restart; UNDLINE lifts it.
    drop((a, near));
    let srv = srv.restart("TERM");
    let mut refused = connect_from(srv.addr, "127.0.0.2");
    assert_eq!(
        refused.line(),
        "ERROR :You are banned from this server (go away)"
    );
    let mut a = srv.client("alice");
    oper_up(&mut a, "boss");
    a.send("DLINE LIST");
    assert!(a
        .expect_line(" :Ban - ")
        .starts_with(":pico.test NOTICE alice :Ban - 127.0.0.2 - added by boss - go away [indefinite] added on ["));
    a.send("UNDLINE 127.0.0.2");
    a.expect_line(":Removed D-Line for 127.0.0.2");
    a.send("UNDLINE 127.0.0.2");
    assert_eq!(
        a.expect_line(" 400 "),
        ":pico.test 400 alice UNDLINE :Could not remove ban [Ban does not exist]"
    );
    connect_from(srv.addr, "127.0.0.2").register("back");
}

#[test]
fn temporary_lines_lapse_on_their_own() {
    let srv = start();
    let mut a = srv.client("alice");
    oper_up(&mut a, "boss");
    // 3s: long enough for the refusals below on a slow machine.
    a.send("KLINE 3s tempo :cool off");
    let out = a.expect(":Added temporary (3s) K-Line for tempo!*@*");
    assert!(
        out.contains(
            &":pico.test NOTICE alice :*** alice [boss] added temporary (3s) K-Line for tempo!*@*"
                .to_string()
        ),
        "{out:#?}"
    );
    a.send("DLINE 3s 127.0.0.4");
    a.expect(":Added temporary (3s) D-Line for 127.0.0.4");

    let mut c = srv.connect();
    let (_, error) = refused_at_registration(&mut c, "tempo");
    assert!(
        error.starts_with("ERROR :You are banned from this server (cool off) ["),
        "{error}"
    );
    let mut d = connect_from(srv.addr, "127.0.0.4");
    let error = d.line();
    assert!(
        error.starts_with("ERROR :You are banned from this server (No reason given) ["),
        "{error}"
    );

    // With no client doing anything, the loop wakes up for them and drops
    // them from the datastore.
    srv.expect_new_log("the K-Line for tempo!*@* has lapsed; dropped");
    srv.expect_new_log("the D-Line for 127.0.0.4 has lapsed; dropped");
    srv.client("tempo");
    connect_from(srv.addr, "127.0.0.4").register("four");
    a.send("KLINE LIST");
    a.expect_line(":No KLINEs have been set!");
    a.send("DLINE LIST");
    a.expect_line(":No DLINEs have been set!");
}

#[test]
fn an_oper_block_with_a_certfp_takes_the_certificate() {
    let certs = util::temp_dir("opers", "certs");
    let (scert, skey, _) = pair(&certs, "server");
    let (ccert, ckey, fp) = pair(&certs, "client");
    // As OpenSSL prints it: upper case, with colons.
    let printed: Vec<String> = fp
        .as_bytes()
        .chunks(2)
        .map(|b| String::from_utf8_lossy(b).to_uppercase())
        .collect();
    let printed = printed.join(":");
    let hash = bcrypt::hash(PW, 4).expect("bcrypt");
    let conf = config(&format!(
        "\n[[oper]]\nname = \"certy\"\nclass = \"admin\"\ncertfp = \"{printed}\"\n\
         \n[[oper]]\nname = \"both\"\nclass = \"admin\"\npassword = \"{hash}\"\ncertfp = \"{fp}\"\n"
    ));
    let listen = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
    let conf = conf.replacen(
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

    let mut c = PyTls::connect(srv.addr, &cert_args);
    c.register("certa");
    c.send("OPER certy");
    assert_eq!(
        c.expect_line(" 381 "),
        ":pico.test 381 certa :You are now an IRC operator"
    );

    let mut b = PyTls::connect(srv.addr, &cert_args);
    b.register("certb");
    b.send(&format!("OPER both wrong{PW}"));
    assert_eq!(
        b.expect_line(" 464 "),
        ":pico.test 464 certb :Password incorrect"
    );
    b.send("OPER both");
    b.expect_line(" 464 ");
    b.send(&format!("OPER both {PW}"));
    b.expect_line(" 381 certb ");

    // Without the certificate, neither block lets anyone in.
    let mut n = PyTls::connect(srv.addr, &[]);
    n.register("nocert");
    n.send("OPER certy");
    assert_eq!(
        n.expect_line(" 464 "),
        ":pico.test 464 nocert :Password incorrect"
    );
    n.send(&format!("OPER both {PW}"));
    n.expect_line(" 464 nocert ");
    n.send("MODE nocert");
    assert_eq!(n.expect_line(" 221 "), ":pico.test 221 nocert +iZ");
}

#[test]
fn bad_oper_blocks_are_named_with_their_place() {
    let dir = util::temp_dir("opers", "badconf");
    let base = config("");
    let err = util::run_must_fail(
        &dir,
        &format!("{base}\n[[oper]]\nname = \"nopass\"\nclass = \"admin\"\n"),
    );
    assert!(
        err.contains("oper `nopass` needs a `password` (a bcrypt hash from `picoircd genpasswd`) or a `certfp`"),
        "{err}"
    );
    let lines = base.lines().count();
    assert!(err.contains(&format!("ircd.conf:{}:1", lines + 2)), "{err}");
    let err = util::run_must_fail(
        &dir,
        &format!("{base}\n[[oper]]\nname = \"x\"\nclass = \"admin\"\ncertfp = \"abc\"\n"),
    );
    assert!(
        err.contains(&format!("ircd.conf:{}:10", lines + 5)),
        "{err}"
    );
    assert!(err.contains("invalid certfp `abc`"), "{err}");
    let err = util::run_must_fail(&dir, &base.replace("+s +cknoqux", "+s +cz"));
    assert!(err.contains("invalid modes `+s +cz`"), "{err}");
}

#[test]
fn oper_commands_are_gated_by_class_capabilities() {
    let srv = start();
    let mut h = srv.client("helen");
    let mut n = srv.client("nobody");
    oper_up(&mut h, "helper");
    let denied = |nick: &str| {
        format!(":pico.test 481 {nick} :Permission Denied - You're not an IRC operator")
    };
    for line in [
        "KLINE bad",
        "KLINE LIST",
        "UNKLINE bad",
        "DLINE 192.0.2.1",
        "UNDLINE 192.0.2.1",
        "SAMODE #x +m",
        "SANICK nobody other",
    ] {
        h.send(line);
        assert_eq!(h.expect_line(" 481 "), denied("helen"), "{line}");
        n.send(line);
        assert_eq!(n.expect_line(" 481 "), denied("nobody"), "{line}");
    }
    // `sajoin` is the helper's.
    n.send("SAJOIN #x");
    assert_eq!(n.expect_line(" 481 "), denied("nobody"));
    h.send("SAJOIN #x");
    h.expect(" 366 helen #x ");
    // And only opers get server notices.
    n.send("MODE nobody +s +c");
    assert_eq!(n.expect_line(" 221 "), ":pico.test 221 nobody +i");
}

#[test]
fn sajoin_sanick_and_samode_override_the_channel() {
    let srv = start();
    let mut a = srv.client("alice");
    oper_up(&mut a, "boss");
    a.send("MODE alice +s -cq");
    a.sync();
    let am = mask(&mut a);
    let mut b = srv.client("bob");
    let bm = mask(&mut b);
    let mut c = srv.client("carol");
    let cm = mask(&mut c);
    join(&mut c, "#keyed");
    c.send("MODE #keyed +ki sekrit");
    assert_eq!(
        c.expect_line(" MODE "),
        format!(":{cm} MODE #keyed +ki sekrit")
    );
    b.send("JOIN #keyed");
    assert!(b
        .expect_line(" 47")
        .contains(" #keyed :Cannot join channel (+"));

    a.send("SAJOIN bob #keyed");
    assert_eq!(b.expect_line(" JOIN "), format!(":{bm} JOIN #keyed"));
    b.expect(" 366 bob #keyed ");
    assert_eq!(c.expect_line(" JOIN "), format!(":{bm} JOIN #keyed"));
    assert_eq!(
        a.expect_line("SAJOIN"),
        ":pico.test NOTICE alice :*** Operator boss ran SAJOIN bob #keyed"
    );

    // SAMODE from outside the channel: as a founder would, seen by all.
    a.send("SAMODE #keyed +o bob");
    let change = format!(":{am} MODE #keyed +o bob");
    assert_eq!(
        a.expect_line("SAMODE"),
        ":pico.test NOTICE alice :*** Operator boss ran SAMODE #keyed +o bob"
    );
    assert_eq!(a.expect_line(" MODE #keyed"), change);
    assert_eq!(b.expect_line(" MODE "), change);
    assert_eq!(c.expect_line(" MODE "), change);
    // And on another user.
    a.send("SAMODE bob +B");
    assert_eq!(a.expect_line(" MODE bob"), format!(":{am} MODE bob +B"));
    assert_eq!(b.expect_line(" MODE "), format!(":{am} MODE bob +B"));

    a.send("SANICK bob robert");
    assert_eq!(b.expect_line(" NICK "), format!(":{bm} NICK :robert"));
    assert_eq!(c.expect_line(" NICK "), format!(":{bm} NICK :robert"));
    assert_eq!(
        a.expect_line("changed nickname"),
        ":pico.test NOTICE alice :*** Operator alice changed nickname of bob to robert"
    );
    a.send("SANICK nobody x");
    assert_eq!(
        a.expect_line(" FAIL "),
        ":pico.test FAIL SANICK NO_SUCH_NICKNAME nobody :No such nick"
    );
    a.send("SANICK robert carol");
    assert_eq!(
        a.expect_line(" 433 "),
        ":pico.test 433 alice carol :Nickname is already in use"
    );
}

#[test]
fn server_notices_reach_opers_by_mask() {
    let srv = start();
    let mut w = srv.client("watch");
    oper_up(&mut w, "boss");
    let wm = mask(&mut w);
    w.send("MODE watch -s");
    assert_eq!(w.expect_line(" MODE "), format!(":{wm} MODE watch -s"));
    w.send("MODE watch +s +c");
    assert_eq!(w.expect_line(" MODE "), format!(":{wm} MODE watch +s +c"));

    // c: connects (not quits).
    let mut x = srv.client("xavier");
    let host = util::host(&mut x);
    assert_eq!(
        w.expect_line("Client connected"),
        format!(
            ":pico.test NOTICE watch :*** Client connected [xavier] [u:~xavier] [h:{host}] [ip:127.0.0.1] [r:xavier real]"
        )
    );
    x.send("QUIT :bye");
    assert!(x.closed());
    w.send("MODE watch +s -c");
    w.send("MODE watch +s +q");
    let lines = w.sync();
    assert!(
        !lines.iter().any(|l| l.contains("xavier exited")),
        "{lines:#?}"
    );

    // q: quits (not connects).
    let mut y = srv.client("yvonne");
    y.send("QUIT");
    let lines = w.expect("yvonne exited the network");
    assert_eq!(
        lines.last().unwrap(),
        ":pico.test NOTICE watch :*** yvonne exited the network"
    );
    assert!(
        !lines.iter().any(|l| l.contains("Client connected")),
        "{lines:#?}"
    );

    // k: kills, which stand for the quit notice.
    w.send("MODE watch +s +k");
    w.sync();
    let mut z = srv.client("zed");
    let mut h = srv.client("helen");
    oper_up(&mut h, "helper");
    h.send("KILL zed :bye");
    assert!(z.closed());
    assert_eq!(
        w.expect_line("was killed"),
        ":pico.test NOTICE watch :*** zed was killed by helen [bye]"
    );
    let lines = w.sync();
    assert!(
        !lines.iter().any(|l| l.contains("zed exited")),
        "{lines:#?}"
    );

    // o: oper-ups and failed attempts.
    w.send("MODE watch +s +o");
    w.sync();
    let mut o = srv.client("olga");
    let om = mask(&mut o);
    o.send("OPER helper wrong");
    o.expect_line(" 464 ");
    assert_eq!(
        w.expect_line("Failed OPER"),
        format!(":pico.test NOTICE watch :*** Failed OPER attempt by {om} (as helper)")
    );
    oper_up(&mut o, "helper");
    assert_eq!(
        w.expect_line("opered up"),
        format!(":pico.test NOTICE watch :*** Client opered up [{om}, helper]")
    );

    // n: nick changes.
    w.send("MODE watch +s +n");
    w.sync();
    o.send("NICK olgaa");
    assert_eq!(
        w.expect_line("changed nickname"),
        ":pico.test NOTICE watch :*** olga changed nickname to olgaa"
    );

    // u: accounts.
    w.send("MODE watch +s +u");
    w.sync();
    let mut r = srv.client("regina");
    let rm = mask(&mut r);
    r.send("NS REGISTER hunter22");
    assert_eq!(
        w.expect_line("registered account"),
        format!(":pico.test NOTICE watch :*** Client {rm} registered account regina")
    );

    // x: K-/D-lines.
    w.send("MODE watch +s +x");
    w.sync();
    w.send("KLINE 1h nasty");
    assert_eq!(
        w.expect_line("added temporary"),
        ":pico.test NOTICE watch :*** watch [boss] added temporary (1h0m0s) K-Line for nasty!*@*"
    );

    // The masks, in Ergo's order, with 008.
    w.send("MODE watch");
    assert_eq!(w.expect_line(" 221 "), ":pico.test 221 watch +ios");
    assert_eq!(w.line(), ":pico.test 008 watch knoqux :Server notice masks");
    // Opers who asked for nothing hear nothing.
    let lines = h.sync();
    assert!(!lines.iter().any(|l| l.contains("***")), "{lines:#?}");
}
