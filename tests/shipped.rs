//! The shipped `ircd.conf` out of the box (issue #6): plaintext on the
//! loopback, TLS on 6697 and WebSocket over TLS on 8097 (moved to free
//! ports, nothing else changed). With no certificate in place the TLS
//! listeners serve the self-signed stand-in the server makes in its state
//! folder, and say so; a real pair put at the configured paths replaces it
//! on SIGHUP without dropping anyone. Real clients: Python's `ssl` for
//! TLS, Node's `ws` for WebSocket, raw TCP for plaintext.

mod util;

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use util::node::{event, ws_probe};
use util::tls::{pair, PyTls};
use util::{Launch, TestServer};

/// The SHA-256 fingerprint (lower-case hex) of the first certificate in
/// the PEM file at `path`.
fn fingerprint(path: &Path) -> String {
    let der = CertificateDer::from_pem_file(path).expect("a PEM certificate");
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The shipped config and MOTD, started as `cargo run -- run` would start
/// them in a fresh checkout (state folder = the config's folder).
fn shipped_server() -> TestServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let motd = std::fs::read(root.join("ircd.motd")).expect("ircd.motd");
    TestServer::launch(
        &util::shipped_conf(),
        Launch {
            files: vec![("ircd.motd".into(), motd)],
            ..Launch::default()
        },
    )
}

#[test]
fn serves_tls_and_wss_with_a_self_signed_stand_in_until_a_real_pair_arrives() {
    let srv = shipped_server();
    let warning = srv.expect_new_log("SELF-SIGNED CERTIFICATE");
    assert!(
        warning.contains("tls/fullchain.pem") && warning.contains("self-signed-cert.pem"),
        "{warning}"
    );
    let listeners = srv.listeners(3);
    let (tls_addr, wss_addr) = (listeners[1].0, listeners[2].0);
    for (_, line) in &listeners[1..] {
        assert!(line.contains("(TLS, SELF-SIGNED certificate "), "{line}");
    }
    assert!(listeners[2].1.contains("WebSocket"), "{}", listeners[2].1);

    // The stand-in pair is in the state folder, its key private; nothing
    // was written at the configured paths.
    let cert = srv.dir.join("self-signed-cert.pem");
    let key = srv.dir.join("self-signed-key.pem");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("the key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!srv.dir.join("tls").exists());
    let stand_in = fingerprint(&cert);

    // Plaintext on the loopback and TLS talk to each other.
    let mut alice = srv.client("alice");
    alice.send("JOIN #pi");
    alice.expect(" 366 alice #pi ");
    let mut carol = PyTls::connect(tls_addr, &[]);
    assert!(
        carol.info.ends_with(&format!(" {stand_in}")),
        "{}",
        carol.info
    );
    carol.register("carol");
    carol.send("JOIN #pi");
    carol.expect(" 366 carol #pi ");
    alice.expect_line(":carol!");
    carol.send("PRIVMSG #pi :hello over TLS");
    let got = alice.expect_line(" PRIVMSG #pi ");
    assert!(got.ends_with(" PRIVMSG #pi :hello over TLS"), "{got}");

    // WebSocket over TLS, as Kiwi IRC connects to wss://host:8097.
    let events = ws_probe(
        &format!("wss://{wss_addr}/"),
        "text.ircv3.net",
        "webby",
        None,
    );
    let open = event(&events, "open");
    assert_eq!(open.len(), 1, "{events:?}");
    assert_eq!(open[0]["protocol"].as_str(), Some("text.ircv3.net"));
    assert!(
        event(&events, "frame").iter().any(|f| f["data"]
            .as_str()
            .is_some_and(|d| d.contains(" 001 webby "))),
        "{events:?}"
    );

    // A real pair put where the config says, then SIGHUP: both listeners
    // load it, carol stays connected, new clients get the real one.
    let tls_dir = srv.dir.join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let (real_cert, real_key, real) = pair(&tls_dir, "real");
    std::fs::rename(real_key, tls_dir.join("privkey.pem")).unwrap();
    std::fs::rename(real_cert, tls_dir.join("fullchain.pem")).unwrap();
    assert_ne!(real, stand_in);
    srv.signal("HUP");
    for _ in 0..2 {
        let loaded = srv.expect_new_log("certificate ");
        assert!(
            loaded.contains("tls/fullchain.pem loaded (rehash)"),
            "{loaded}"
        );
    }
    carol.send("PRIVMSG #pi :still here");
    let got = alice.expect_line(" PRIVMSG #pi ");
    assert!(got.ends_with(" PRIVMSG #pi :still here"), "{got}");
    let dave = PyTls::connect(tls_addr, &[]);
    assert!(dave.info.ends_with(&format!(" {real}")), "{}", dave.info);
}
