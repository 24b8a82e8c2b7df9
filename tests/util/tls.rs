//! TLS helpers shared by the TLS tests: self-signed pairs made with
//! rcgen, and a real TLS client (Python's `ssl`, that is OpenSSL:
//! `tests/py/tls_client.py`) driven line by line.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use super::WAIT;

/// A self-signed pair written to `dir/<name>.crt` and `.key`; returns the
/// paths and the certificate's SHA-256 fingerprint (lower-case hex).
pub fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("rcgen");
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).expect("cert");
    std::fs::write(&key, made.signing_key.serialize_pem()).expect("key");
    let fp = ring::digest::digest(&ring::digest::SHA256, made.cert.der());
    let hex = fp.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (cert, key, hex)
}

/// `tests/py/tls_client.py`: a TLS client driven line by line.
pub struct PyTls {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<String>,
    /// `TLS <version> <server certificate fingerprint>`.
    pub info: String,
}

impl PyTls {
    pub fn connect(addr: SocketAddr, args: &[&str]) -> PyTls {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/tls_client.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(addr.port().to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let info = rx.recv_timeout(WAIT).expect("the client's first line");
        assert!(info.starts_with("TLS "), "{info}");
        PyTls {
            stdin: child.stdin.take(),
            child,
            rx,
            info,
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{line}").expect("to python");
        stdin.flush().expect("flush");
    }

    /// Reads server lines until one contains `needle`; returns them all.
    pub fn expect(&mut self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    let l = l.strip_prefix("<< ").map(str::to_string).unwrap_or(l);
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; got:\n{}", seen.join("\n")),
            }
        }
    }

    pub fn expect_line(&mut self, needle: &str) -> String {
        self.expect(needle).pop().expect("a line")
    }

    /// A PING/PONG round trip; the lines that came before the PONG.
    pub fn sync(&mut self, token: &str) -> Vec<String> {
        self.send(&format!("PING {token}"));
        self.expect(&format!("PONG pico.test :{token}"))
    }

    pub fn register(&mut self, nick: &str) -> Vec<String> {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} real"));
        self.expect(" 221 ")
    }
}

impl Drop for PyTls {
    fn drop(&mut self) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
