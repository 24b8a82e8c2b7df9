//! TLS listeners end to end (issue #6): the real binary with a `tls`
//! listener and a plaintext one, real TLS clients (Python's `ssl`, that
//! is OpenSSL: `tests/py/tls_client.py`) beside raw plaintext clients.
//! Certificates are made per test with rcgen; fingerprints are computed
//! here from the files and compared with what the client and the server
//! report, never hard-coded.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use util::tls::{pair, PyTls};
use util::{base_config, Client, TestServer, WAIT};

/// A server with a TLS listener (first) and a plaintext one, the
/// certificate in its own folder; `extra` is appended to the config.
struct TlsServer {
    srv: TestServer,
    /// The TLS listener's address (`srv.addr`) and the plaintext one's.
    tls: SocketAddr,
    plain: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
    fingerprint: String,
    _certs: util::TempDir,
}

impl TlsServer {
    fn start(extra: &str) -> TlsServer {
        let certs = util::temp_dir("tls", "certs");
        let (cert, key, fingerprint) = pair(&certs, "server");
        let base = base_config();
        let listen = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
        assert!(base.contains(listen));
        let conf = base.replacen(
            listen,
            &format!(
                "[[listen]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n{listen}",
                cert.display(),
                key.display()
            ),
            1,
        ) + extra;
        let srv = TestServer::with_config(&conf);
        let tls = srv.addr;
        let second = srv.expect_new_log("now listening on ");
        let plain = second
            .split("now listening on ")
            .nth(1)
            .and_then(|a| a.split_whitespace().next())
            .expect("address")
            .parse()
            .expect("plain address");
        assert!(
            srv.startup
                .last()
                .is_some_and(|l| l.contains("(TLS, certificate ")),
            "{:?}",
            srv.startup
        );
        TlsServer {
            srv,
            tls,
            plain,
            cert,
            key,
            fingerprint,
            _certs: certs,
        }
    }

    fn plain_client(&self, nick: &str) -> Client {
        let mut c = Client::connect(self.plain);
        c.register(nick);
        c
    }
}

/// The fingerprint in a `TLS <version> <fingerprint>` line.
fn server_fp(info: &str) -> &str {
    info.rsplit(' ').next().expect("fingerprint")
}

#[test]
fn a_tls_client_registers_with_mode_z_and_whois_671() {
    let t = TlsServer::start("");
    let mut c = PyTls::connect(t.tls, &[]);
    assert!(c.info.starts_with("TLS TLSv1.3 "), "{}", c.info);
    assert_eq!(server_fp(&c.info), t.fingerprint);
    let burst = c.register("alice");
    assert_eq!(
        burst[0],
        ":pico.test 001 alice :Welcome to the PicoNet IRC Network alice"
    );
    let umode = burst.last().expect("221");
    assert!(umode.ends_with(" 221 alice +iZ"), "{umode}");
    let mut plain = t.plain_client("bob");
    plain.send("WHOIS alice");
    let whois = plain.expect(" 318 ");
    assert!(
        whois.contains(&":pico.test 671 bob alice :is using a secure connection".to_string()),
        "{whois:#?}"
    );
    assert!(!whois.iter().any(|l| l.contains(" 276 ")), "{whois:#?}");
    // And the plaintext client is no TLS client.
    c.send("WHOIS bob");
    let whois = c.expect(" 318 ");
    assert!(!whois.iter().any(|l| l.contains(" 671 ")), "{whois:#?}");
    // Both ways through one channel.
    c.send("JOIN #tls");
    c.expect(" 366 ");
    plain.send("JOIN #tls");
    plain.expect(" 366 ");
    plain.send("PRIVMSG #tls :hello over tls");
    assert!(c.expect_line(":hello over tls").contains(" PRIVMSG #tls "));
    c.send("PRIVMSG #tls :and back");
    plain.expect_line(":and back");
}

#[test]
fn tls_1_2_works_too() {
    let t = TlsServer::start("");
    let mut c = PyTls::connect(t.tls, &["--tls12"]);
    assert!(c.info.starts_with("TLS TLSv1.2 "), "{}", c.info);
    c.register("old");
}

#[test]
fn a_client_certificate_shows_its_fingerprint_to_its_owner_and_opers() {
    let t = TlsServer::start("");
    let (cert, key, fp) = pair(&t.srv.dir, "client");
    let mut c = PyTls::connect(
        t.tls,
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    c.register("carol");
    c.send("WHOIS carol");
    let own = c.expect(" 318 ");
    let want = format!(":pico.test 276 carol carol :has client certificate fingerprint {fp}");
    assert!(own.contains(&want), "{own:#?}");
    let mut other = t.plain_client("dave");
    other.send("WHOIS carol");
    let theirs = other.expect(" 318 ");
    assert!(!theirs.iter().any(|l| l.contains(" 276 ")), "{theirs:#?}");
}

#[test]
fn plaintext_and_garbage_on_the_tls_port_are_closed_and_logged() {
    let t = TlsServer::start("");
    let mut watcher = t.plain_client("watch");
    for bytes in [
        &b"NICK plain\r\nUSER plain 0 * :x\r\n"[..],
        &b"\x16\x03\x01\x00\x05garbage-garbage-garbage"[..],
        &b"GET / HTTP/1.1\r\n\r\n"[..],
    ] {
        let mut s = TcpStream::connect(t.tls).expect("connect");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        s.write_all(bytes).expect("send");
        let mut buf = Vec::new();
        // An alert at most, then the end of the stream.
        let _ = s.read_to_end(&mut buf);
        assert!(buf.len() < 64, "{buf:?}");
        assert!(!String::from_utf8_lossy(&buf).contains("001"));
    }
    let logged = t.srv.expect_new_log("127.0.0.1: TLS: ");
    assert!(logged.ends_with("; closing"), "{logged}");
    // Nobody else noticed; TLS still works.
    watcher.sync();
    let mut c = PyTls::connect(t.tls, &[]);
    c.register("after");
}

#[test]
fn a_long_burst_gets_through_tls_whole() {
    let t = TlsServer::start("");
    let mut c = PyTls::connect(t.tls, &[]);
    c.register("reader");
    c.send("JOIN #burst");
    c.expect(" 366 ");
    let mut plain = t.plain_client("writer");
    plain.send("JOIN #burst");
    plain.expect(" 366 ");
    let text = "x".repeat(400);
    for i in 0..500 {
        plain.send(&format!("PRIVMSG #burst :{i} {text}"));
    }
    let got = c.expect(&format!(":499 {text}"));
    let n = got
        .iter()
        .filter(|l| l.contains(" PRIVMSG #burst "))
        .count();
    assert_eq!(n, 500);
}

#[test]
fn sighup_reloads_the_certificate_without_dropping_anyone() {
    let mut t = TlsServer::start("");
    let mut old = PyTls::connect(t.tls, &[]);
    old.register("old");
    old.send("JOIN #r");
    old.expect(" 366 ");
    let mut plain = t.plain_client("plain");
    plain.send("JOIN #r");
    plain.expect(" 366 ");

    // A renewed pair in the same files, then SIGHUP.
    let (new_cert, new_key, new_fp) = pair(&t.srv.dir, "renewed");
    std::fs::copy(&new_cert, &t.cert).expect("cert");
    std::fs::copy(&new_key, &t.key).expect("key");
    t.srv.signal("HUP");
    let line = t.srv.expect_new_log("certificate ");
    assert!(line.contains("loaded (rehash)"), "{line}");
    let fresh = PyTls::connect(t.tls, &[]);
    assert_eq!(server_fp(&fresh.info), new_fp);
    assert_ne!(new_fp, t.fingerprint);
    // The client from before still talks, on its old session.
    plain.send("PRIVMSG #r :still there?");
    old.expect_line(":still there?");
    old.send("PRIVMSG #r :yes");
    plain.expect_line(":yes");

    // A broken pair is refused; the renewed one stays in use.
    std::fs::write(&t.cert, "-----BEGIN CERTIFICATE-----\nbroken\n").expect("cert");
    t.srv.signal("HUP");
    let line = t.srv.expect_new_log("cannot be used");
    assert!(line.contains("keeping the old one"), "{line}");
    let after = PyTls::connect(t.tls, &[]);
    assert_eq!(server_fp(&after.info), new_fp);
    assert!(t.srv.alive());
    t.fingerprint = new_fp;
}

#[test]
fn changed_files_are_picked_up_by_themselves() {
    let t = TlsServer::start("\n[timeouts]\ntls-watch = \"200ms\"\n");
    let (new_cert, new_key, new_fp) = pair(&t.srv.dir, "auto");
    // The key first: the pair is only whole once both are in place, and
    // a half-written pair is logged and retried on the next change.
    std::fs::copy(&new_key, &t.key).expect("key");
    std::fs::copy(&new_cert, &t.cert).expect("cert");
    let deadline = Instant::now() + WAIT;
    loop {
        let c = PyTls::connect(t.tls, &[]);
        if server_fp(&c.info) == new_fp {
            break;
        }
        assert!(Instant::now() < deadline, "never reloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    let line = t.srv.expect_new_log("changed on disk");
    assert!(line.contains("certificate "), "{line}");
}

/// A certificate that is not PEM, or half a pair, stops the start with
/// the file named (only a pair with both files missing gets the
/// self-signed stand-in, in tests/shipped.rs).
#[test]
fn a_bad_certificate_stops_the_start_with_the_file_named() {
    let dir = util::temp_dir("tls", "bad");
    let conf = |cert: &str, key: &str| {
        format!(
            "{}\n[[listen]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n",
            base_config(),
            dir.join(cert).display(),
            dir.join(key).display()
        )
    };
    std::fs::write(dir.join("garbage.crt"), "not a certificate\n").unwrap();
    let err = util::run_must_fail(&dir, &conf("garbage.crt", "missing.key"));
    assert!(err.contains("garbage.crt: no certificate"), "{err}");
    let (cert, _, _) = pair(&dir, "half");
    let err = util::run_must_fail(
        &dir,
        &conf(cert.file_name().unwrap().to_str().unwrap(), "missing.key"),
    );
    assert!(err.contains("missing.key"), "{err}");
    assert!(!dir.join("self-signed-cert.pem").exists());
}
