//! IRCv3 Strict Transport Security end to end (issue #6): the real binary
//! with a plaintext listener, a TLS one (a self-signed pair made per test
//! with rcgen) and, where a test needs it, an `sts-only` listener; raw
//! plaintext clients beside real TLS clients (Python's `ssl`:
//! `tests/py/tls_client.py`). The ports are fixed per test (the policy
//! names the TLS port, and sts-only listeners are known by their port), so
//! free ones are picked first.

mod util;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use util::tls::PyTls;
use util::{base_config, Client, TestServer};

/// Three distinct ports nothing listens on right now (the server binds
/// them next): all held open until all are known.
fn free_ports() -> [u16; 3] {
    let held: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let port = |i: usize| held[i].local_addr().expect("addr").port();
    [port(0), port(1), port(2)]
}

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The listeners of a test server, by port.
struct Ports {
    plain: u16,
    tls: u16,
    /// The `sts-only` listener, if any.
    redirect: Option<u16>,
}

/// A server with a plaintext listener, a TLS one and maybe an sts-only
/// one, on `base_config()` plus `sts` (an `[sts]` section, or nothing).
struct StsServer {
    srv: TestServer,
    ports: Ports,
    cert: PathBuf,
    key: PathBuf,
    _certs: util::TempDir,
}

impl StsServer {
    /// Starts the server; `sts` makes the `[sts]` part from the TLS port.
    fn start(redirect: bool, sts: impl Fn(u16) -> String) -> StsServer {
        let certs = util::temp_dir("sts", "certs");
        let made = rcgen::generate_simple_self_signed(vec!["pico.test".into()]).expect("rcgen");
        let (cert, key) = (certs.join("server.crt"), certs.join("server.key"));
        std::fs::write(&cert, made.cert.pem()).expect("cert");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("key");
        let [plain, tls, other] = free_ports();
        let ports = Ports {
            plain,
            tls,
            redirect: redirect.then_some(other),
        };
        let text = config(&ports, &cert, &key, &sts(ports.tls));
        let srv = TestServer::with_config(&text);
        for port in [Some(ports.plain), Some(ports.tls), ports.redirect]
            .into_iter()
            .flatten()
        {
            srv.expect_log(&format!("now listening on 127.0.0.1:{port}"));
        }
        StsServer {
            srv,
            ports,
            cert,
            key,
            _certs: certs,
        }
    }

    /// Rewrites the config with `sts` as its `[sts]` part and sends SIGHUP.
    fn rehash(&mut self, sts: &str) {
        let text = config(&self.ports, &self.cert, &self.key, sts);
        std::fs::write(&self.srv.conf, text).expect("conf");
        self.srv.signal("HUP");
        self.srv.expect_new_log("configuration reloaded");
    }

    fn plain(&self) -> Client {
        Client::connect(at(self.ports.plain))
    }

    fn tls(&self) -> PyTls {
        PyTls::connect(at(self.ports.tls), &[])
    }

    fn redirect(&self) -> Client {
        Client::connect(at(self.ports.redirect.expect("an sts-only listener")))
    }
}

/// The config text: `base_config()` with these listeners, plus `sts`.
fn config(p: &Ports, cert: &Path, key: &Path, sts: &str) -> String {
    let mut listen = format!(
        "[[listen]]\naddress = \"127.0.0.1:{}\"\n\n[[listen]]\naddress = \"127.0.0.1:{}\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n",
        p.plain,
        p.tls,
        cert.display(),
        key.display()
    );
    if let Some(r) = p.redirect {
        listen += &format!("[[listen]]\naddress = \"127.0.0.1:{r}\"\nsts-only = true\n\n");
    }
    let base = base_config();
    let placeholder = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
    assert!(base.contains(placeholder));
    base.replacen(placeholder, &listen, 1) + sts
}

/// `[sts]` on, sending clients to `tls`.
fn sts_on(tls: u16, extra: &str) -> String {
    format!("\n[sts]\nenabled = true\nport = {tls}\n{extra}")
}

/// The words of the `CAP LS` reply among `lines` (one or several lines).
fn ls_words(lines: &[String]) -> Vec<String> {
    let words: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with(":pico.test CAP * LS "))
        .flat_map(|l| l[l.find(" :").expect("trailing") + 2..].split(' '))
        .map(String::from)
        .collect();
    assert!(!words.is_empty(), "no CAP LS in {lines:#?}");
    words
}

/// The `sts` words of a `CAP LS` reply (at most one is expected).
fn sts_words(lines: &[String]) -> Vec<String> {
    ls_words(lines)
        .into_iter()
        .filter(|w| w.split('=').next() == Some("sts"))
        .collect()
}

/// `CAP LS 302` on a plaintext client: the reply's lines.
fn ls_302(c: &mut Client) -> Vec<String> {
    c.send("CAP LS 302");
    c.expect(" LS :")
}

#[test]
fn plaintext_clients_get_the_port_and_tls_clients_the_duration() {
    let t = StsServer::start(false, |p| sts_on(p, "duration = \"30d\"\n"));
    let tls_port = t.ports.tls;
    let mut plain = t.plain();
    let reply = ls_302(&mut plain);
    assert_eq!(sts_words(&reply), [format!("sts=port={tls_port}")]);
    assert!(ls_words(&reply).contains(&"multi-prefix".to_string()));
    // sts cannot be requested (NAK), alone or with others; the rest can.
    plain.send("CAP REQ :sts");
    assert_eq!(plain.line(), ":pico.test CAP * NAK :sts");
    plain.send("CAP REQ :multi-prefix sts");
    assert_eq!(plain.line(), ":pico.test CAP * NAK :multi-prefix sts");
    plain.send("CAP REQ :multi-prefix");
    assert_eq!(plain.line(), ":pico.test CAP * ACK :multi-prefix");
    plain.send("CAP LIST");
    // (cap-notify comes with 302.)
    assert_eq!(
        plain.line(),
        ":pico.test CAP * LIST :cap-notify multi-prefix"
    );
    // An ordinary plaintext listener still lets clients in.
    plain.send("CAP END");
    let burst = plain.register("alice");
    assert!(burst[0].contains(" 001 alice "), "{burst:?}");

    // Without 302 the name alone.
    let mut old = t.plain();
    old.send("CAP LS");
    let reply = old.expect(" LS :");
    assert_eq!(reply.len(), 1, "{reply:?}");
    assert_eq!(sts_words(&reply), ["sts"]);

    let mut tls = t.tls();
    tls.send("CAP LS 302");
    let reply = tls.expect(" LS :");
    assert_eq!(sts_words(&reply), ["sts=duration=2592000"]);
    tls.send("CAP REQ :sts");
    tls.expect(":pico.test CAP * NAK :sts");
    tls.send("CAP END");
    tls.send("NICK bob");
    tls.send("USER bob 0 * :Bob");
    let burst = tls.expect(" 221 ");
    assert!(burst.last().unwrap().ends_with(" 221 bob +iZ"), "{burst:?}");
}

#[test]
fn preload_is_shown_on_both_kinds_of_connection() {
    let t = StsServer::start(false, |p| sts_on(p, "preload = true\n"));
    let mut plain = t.plain();
    assert_eq!(
        sts_words(&ls_302(&mut plain)),
        [format!("sts=port={},preload", t.ports.tls)]
    );
    let mut tls = t.tls();
    tls.send("CAP LS 302");
    // The default duration is 0: no persistence policy.
    assert_eq!(sts_words(&tls.expect(" LS :")), ["sts=duration=0,preload"]);
}

#[test]
fn without_sts_nothing_is_advertised() {
    let t = StsServer::start(false, |_| String::new());
    let mut plain = t.plain();
    let reply = ls_302(&mut plain);
    assert!(sts_words(&reply).is_empty(), "{reply:?}");
    plain.send("CAP REQ :sts");
    assert_eq!(plain.line(), ":pico.test CAP * NAK :sts");
    let mut tls = t.tls();
    tls.send("CAP LS 302");
    let reply = tls.expect(" LS :");
    assert!(sts_words(&reply).is_empty(), "{reply:?}");
}

#[test]
fn the_sts_only_listener_only_redirects() {
    let t = StsServer::start(true, |p| sts_on(p, ""));
    let refusal = format!(
        "ERROR :This server is only accessible over TLS. Please reconnect using TLS on port {}.",
        t.ports.tls
    );
    // CAP LS offers the upgrade policy and nothing else.
    let mut c = t.redirect();
    c.send("CAP LS 302");
    assert_eq!(
        c.line(),
        format!(":pico.test CAP * LS :sts=port={}", t.ports.tls)
    );
    c.send("CAP REQ :multi-prefix");
    assert_eq!(c.line(), ":pico.test CAP * NAK :multi-prefix");
    c.send("NICK carol");
    c.send("USER carol 0 * :Carol");
    c.send("CAP END");
    assert_eq!(c.line(), refusal);
    assert!(c.closed(), "the connection is closed");

    // Without CAP: refused as soon as NICK and USER are in.
    let mut c = t.redirect();
    c.send("NICK dave");
    c.send("USER dave 0 * :Dave");
    let seen = c.expect("ERROR ");
    assert_eq!(seen, std::slice::from_ref(&refusal));
    assert!(c.closed());

    // CAP END alone is an attempt to register too.
    let mut c = t.redirect();
    c.send("CAP LS");
    assert_eq!(c.line(), ":pico.test CAP * LS :sts");
    c.send("CAP END");
    assert_eq!(c.line(), refusal);
    assert!(c.closed());

    // The nick a refused client asked for was never taken; the other
    // listeners work as usual.
    let mut plain = t.plain();
    let burst = plain.register("carol");
    assert!(burst[0].contains(" 001 carol "), "{burst:?}");
    let mut tls = t.tls();
    tls.send("NICK dave");
    tls.send("USER dave 0 * :Dave");
    tls.expect(" 001 dave ");
}

#[test]
fn a_rehash_announces_the_policy_with_cap_new_and_never_cap_del() {
    let mut t = StsServer::start(false, |_| String::new());
    let tls_port = t.ports.tls;
    let mut plain = t.plain();
    ls_302(&mut plain);
    plain.send("CAP END");
    plain.register("alice");
    let mut tls = t.tls();
    tls.send("CAP LS 302");
    tls.expect(" LS :");
    tls.send("CAP END");
    tls.send("NICK bob");
    tls.send("USER bob 0 * :Bob");
    tls.expect(" 221 ");
    // A client without cap-notify is not told.
    let mut quiet = t.plain();
    quiet.register("carol");

    t.rehash(&sts_on(tls_port, "duration = \"1d\"\n"));
    assert_eq!(
        plain.expect(" CAP "),
        [format!(":pico.test CAP alice NEW :sts=port={tls_port}")]
    );
    assert_eq!(
        tls.expect(" CAP "),
        [":pico.test CAP bob NEW :sts=duration=86400"]
    );
    assert!(!quiet.sync().iter().any(|l| l.contains(" CAP ")));

    // Turned off: nothing is said (the spec forbids CAP DEL for sts).
    t.rehash("");
    assert!(!plain.sync().iter().any(|l| l.contains(" CAP ")));
    assert!(!tls.sync("off").iter().any(|l| l.contains(" CAP ")));
    // New clients are no longer offered it.
    let mut late = t.plain();
    assert!(sts_words(&ls_302(&mut late)).is_empty());
}

#[test]
fn sts_config_errors_are_reported_with_their_position() {
    let dir = util::temp_dir("sts", "check");
    let conf = dir.join("ircd.conf");
    let check = |text: &str| {
        std::fs::write(&conf, text).expect("conf");
        let out = Command::new(env!("CARGO_BIN_EXE_picoircd"))
            .args(["check", "--conf"])
            .arg(&conf)
            .output()
            .expect("picoircd check");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let head = "[server]\nname = \"pico.test\"\nnetwork = \"PicoNet\"\n\n[[listen]]\naddress = \"127.0.0.1:6667\"\n";
    // Line 7: an sts-only listener without [sts].
    assert_eq!(
        check(&format!("{head}sts-only = true\n")),
        format!(
            "{}:7:12: `sts-only` needs `[sts]` with `enabled = true` and the TLS `port` to send clients to\n",
            conf.display()
        )
    );
    // Line 10: a port no TLS listener serves.
    assert_eq!(
        check(&format!("{head}\n[sts]\nenabled = true\nport = 6697\n")),
        format!(
            "{}:10:8: `sts.port` 6697 is not the port of a TLS listener: clients sent there would fail to connect; add a [[listen]] with `tls` on port 6697\n",
            conf.display()
        )
    );
    // And the server itself refuses to start on it.
    let out = Command::new(env!("CARGO_BIN_EXE_picoircd"))
        .args(["run", "--conf"])
        .arg(&conf)
        .output()
        .expect("picoircd run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(":10:8: `sts.port` 6697"),
        "{out:?}"
    );
}
