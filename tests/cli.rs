//! The real `picoircd` binary: `check`, `genpasswd`, `mkcerts`, `version`.
//! Each test works in its own folder under the system temp dir.

mod util;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use util::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_picoircd");

fn temp_dir(name: &str) -> TempDir {
    util::temp_dir("cli", name)
}

fn picoircd(args: &[&str], cwd: &Path, stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit (bad arguments) before reading: a broken pipe here
    // is expected and the exit status tells the rest.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A folder holding the shipped ircd.conf and ircd.motd.
fn shipped_copy() -> TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir("shipped");
    for f in ["ircd.conf", "ircd.motd"] {
        fs::copy(root.join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn version() {
    let out = picoircd(&["version"], Path::new("."), b"");
    assert!(out.status.success());
    // The version and the target triple the binary was built for.
    assert_eq!(
        text(&out.stdout),
        format!("picoircd 0.1.0 {}\n", env!("PICOIRCD_TARGET"))
    );
    assert!(env!("PICOIRCD_TARGET").contains("-linux-"));
}

#[test]
fn check_accepts_the_shipped_config() {
    let dir = shipped_copy();
    // The default --conf is ./ircd.conf.
    let out = picoircd(&["check"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ircd.conf: OK\n");
    // It warns about the shipped oper password, and creates no file.
    assert!(
        text(&out.stderr).contains("oper `admin` still has the shipped password"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.join("cloak.key").exists());

    let out = picoircd(&["check", "--conf", "./ircd.conf"], &dir, b"");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "./ircd.conf: OK\n");
}

#[test]
fn check_reports_the_error_position() {
    let dir = temp_dir("check-error");
    let conf = dir.join("bad.conf");
    fs::write(
        &conf,
        "[server]\nname = \"pico.test\"\nnetwork = \"PicoNet\"\n\n[[listen]]\naddress = \"nowhere\"\n",
    )
    .unwrap();
    let out = picoircd(&["check", "--conf", conf.to_str().unwrap()], &dir, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:6:11: invalid listen address `nowhere`: expected host:port, [v6]:port or :port\n",
            conf.display()
        )
    );

    let out = picoircd(&["check", "--conf", "missing.conf"], &dir, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("missing.conf: cannot read the configuration file"));
}

const TLS_CONF: &str = r#"[server]
name = "pico.test"
network = "PicoNet"

[[listen]]
address = "127.0.0.1:6667"

[[listen]]
address = ":6697"
tls = { cert = "tls/fullchain.pem", key = "tls/privkey.pem" }
"#;

#[test]
fn check_warns_about_missing_tls_files() {
    let dir = temp_dir("check-tls");
    fs::write(dir.join("ircd.conf"), TLS_CONF).unwrap();
    let out = picoircd(&["check"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: listener 0.0.0.0:6697: missing tls/fullchain.pem and tls/privkey.pem: `run` serves a self-signed certificate (self-signed-cert.pem)"),
        "{err}"
    );
    assert!(err.contains("picoircd mkcerts"), "{err}");
    // check makes nothing, not even the stand-in.
    assert!(!dir.join("self-signed-cert.pem").exists());

    // Half a pair, or a file that is not PEM, stops `run`: an error here.
    fs::create_dir_all(dir.join("tls")).unwrap();
    fs::write(dir.join("tls/fullchain.pem"), "not a certificate\n").unwrap();
    let out = picoircd(&["check"], &dir, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("ircd.conf: listener 0.0.0.0:6697: tls/fullchain.pem: "),
        "{err}"
    );
}

#[test]
fn genpasswd_from_a_pipe() {
    let dir = temp_dir("genpasswd");
    let out = picoircd(&["genpasswd", "--cost", "4"], &dir, b"s3cret pass\r\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let hash = stdout.trim_end();
    assert_eq!(stdout, format!("{hash}\n"));
    assert!(hash.starts_with("$2a$04$"), "{hash}");
    assert_eq!(hash.len(), 60);
    assert!(bcrypt::verify("s3cret pass", hash).unwrap());
    assert!(!bcrypt::verify("s3cret pass\r", hash).unwrap());

    // Only the first line is the password; the default cost is 12.
    let out = picoircd(&["genpasswd"], &dir, b"changeme\nsecond line\n");
    assert!(out.status.success());
    let hash = text(&out.stdout).trim_end().to_string();
    assert!(hash.starts_with("$2a$12$"), "{hash}");
    assert!(bcrypt::verify("changeme", &hash).unwrap());

    // A hash it prints is accepted by the config loader as an oper password.
    let conf = format!(
        "[server]\nname = \"pico.test\"\nnetwork = \"N\"\n[[listen]]\naddress = \":6667\"\n\
         [oper-classes.x]\n[[oper]]\nname = \"me\"\nclass = \"x\"\npassword = \"{hash}\"\n"
    );
    fs::write(dir.join("ircd.conf"), conf).unwrap();
    let out = picoircd(&["check"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn genpasswd_refuses_bad_input() {
    let dir = temp_dir("genpasswd-bad");
    for (args, stdin, message) in [
        (&["genpasswd"][..], &b"\n"[..], "the password is empty"),
        (&["genpasswd"][..], &b""[..], "the password is empty"),
        (
            &["genpasswd", "--cost", "3"][..],
            &b"x\n"[..],
            "the cost must be 4 to 31",
        ),
        (
            &["genpasswd", "--cost", "32"][..],
            &b"x\n"[..],
            "the cost must be 4 to 31",
        ),
        (
            &["genpasswd", "--cost", "4"][..],
            &[b'a'; 73][..],
            "longer than 72 bytes",
        ),
    ] {
        let out = picoircd(args, &dir, stdin);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn mkcerts_writes_then_skips() {
    let dir = temp_dir("mkcerts");
    fs::write(dir.join("ircd.conf"), TLS_CONF).unwrap();
    let out = picoircd(&["mkcerts"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "wrote certificate tls/fullchain.pem and key tls/privkey.pem for listener 0.0.0.0:6697\n"
    );
    let cert = fs::read_to_string(dir.join("tls/fullchain.pem")).unwrap();
    let key = fs::read_to_string(dir.join("tls/privkey.pem")).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"), "{cert}");
    assert!(cert.trim_end().ends_with("-----END CERTIFICATE-----"));
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    assert!(key.trim_end().ends_with("-----END PRIVATE KEY-----"));
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("tls/privkey.pem")), 0o600);
    // The certificate is DER (a SEQUENCE) naming the server, localhost and 127.0.0.1.
    let der = pem_body(&cert);
    assert_eq!(der[0], 0x30);
    assert!(contains(&der, b"pico.test"));
    assert!(contains(&der, b"localhost"));
    assert!(
        contains(&der, &[0x87, 4, 127, 0, 0, 1]),
        "an iPAddress SAN 127.0.0.1"
    );
    // The key parses as an ECDSA P-256 PKCS#8 key, as rcgen reads it back.
    let pair = rcgen::KeyPair::from_pem(&key).unwrap();
    assert!(pair.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256));
    // mkcerts made no cloak key: it only reads the config.
    assert!(!dir.join("cloak.key").exists());
    // Now `check` is quiet about the listener.
    let out = picoircd(&["check"], &dir, b"");
    assert!(
        !text(&out.stderr).contains("missing"),
        "{}",
        text(&out.stderr)
    );

    let out = picoircd(&["mkcerts"], &dir, b"");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "listener 0.0.0.0:6697: tls/fullchain.pem and tls/privkey.pem exist, skipped\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("tls/fullchain.pem")).unwrap(),
        cert
    );
}

/// The bytes of a one-block PEM file (base64 between the armour lines).
fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in b64.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | u32::from(value(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn mkcerts_refuses_half_a_pair_and_bad_configs() {
    let dir = temp_dir("mkcerts-half");
    fs::write(dir.join("ircd.conf"), TLS_CONF).unwrap();
    fs::create_dir_all(dir.join("tls")).unwrap();
    fs::write(dir.join("tls/fullchain.pem"), "mine").unwrap();
    let out = picoircd(&["mkcerts"], &dir, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not overwriting"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(dir.join("tls/fullchain.pem")).unwrap(),
        "mine"
    );
    assert!(!dir.join("tls/privkey.pem").exists());

    fs::write(dir.join("ircd.conf"), "[server]\n").unwrap();
    let out = picoircd(&["mkcerts"], &dir, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("ircd.conf:1:1: missing key `name`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mkcerts_on_the_shipped_config_and_without_tls_listeners() {
    // The shipped TLS and WebSocket listeners share one pair.
    let dir = shipped_copy();
    let out = picoircd(&["mkcerts"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "wrote certificate tls/fullchain.pem and key tls/privkey.pem for listener 0.0.0.0:6697\n\
         listener 0.0.0.0:8097: tls/fullchain.pem and tls/privkey.pem exist, skipped\n"
    );
    let out = picoircd(&["check"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("self-signed"),
        "{}",
        text(&out.stderr)
    );

    let dir = temp_dir("mkcerts-none");
    fs::write(
        dir.join("ircd.conf"),
        &TLS_CONF[..TLS_CONF.find("\n[[listen]]\naddress = \":6697\"").unwrap()],
    )
    .unwrap();
    let out = picoircd(&["mkcerts"], &dir, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "no TLS listeners need certificates\n");
}
