//! Test support: start the real `picoircd` binary on an ephemeral loopback
//! port with a config written for the test, and talk to it over real
//! sockets. Every wait is bounded.
//!
//! Submodules: `qemu` (the ARM builds under qemu-user, and their memory),
//! `fleet` (many clients from many loopback addresses), `node` (the
//! Node.js test drivers in tests/js), `elf` (is a binary
//! static and stripped), `tags` (IRCv3: capabilities and message tags), `tls` (certificates and
//! a real TLS client).

#![allow(dead_code)]

pub mod elf;
pub mod fleet;
pub mod node;
pub mod qemu;
pub mod tags;
pub mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// A fresh, empty folder under the system temp dir, removed (with its
/// contents) when dropped. `area` and `name` make it recognisable.
pub fn temp_dir(area: &str, name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "picoircd-{area}-{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// A folder removed (with its contents) when the test is done with it.
pub struct TempDir(pub PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long any single expectation may wait.
pub const WAIT: Duration = Duration::from_secs(10);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The `[server]` and `[[listen]]` part every test config starts with.
pub fn base_config() -> String {
    r#"
[server]
name = "pico.test"
network = "PicoNet"
motd = "ircd.motd"

[[listen]]
address = "127.0.0.1:0"

[cloaks]
secret = "test-secret"

[limits]
per-ip = 0
throttle-per-minute = 0
fakelag = false
"#
    .to_string()
}

/// The shipped `ircd.conf`'s listen addresses.
pub const SHIPPED_ADDRESSES: [&str; 3] = ["127.0.0.1:6667", ":6697", ":8097"];

/// `conf` (the shipped ircd.conf, or the installed copy) with each of its
/// listeners moved to 127.0.0.1:0, so that tests running at once never
/// collide; nothing else changed. The listeners keep their order, and the
/// harness reads the first one's port from the log (`listening` the rest).
pub fn on_free_ports(conf: &str) -> String {
    let mut out = conf.to_string();
    for address in SHIPPED_ADDRESSES {
        let line = format!("\naddress = \"{address}\"\n");
        assert_eq!(
            out.matches(&line).count(),
            1,
            "the shipped ircd.conf should listen on {address}, once"
        );
        out = out.replace(&line, "\naddress = \"127.0.0.1:0\"\n");
    }
    out
}

/// The shipped `ircd.conf` of this checkout, on free ports.
pub fn shipped_conf() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    on_free_ports(&std::fs::read_to_string(root.join("ircd.conf")).expect("ircd.conf"))
}

/// How to start the server process; `Launch::default()` is the test build
/// of `picoircd`, run directly, in the test's environment.
#[derive(Default)]
pub struct Launch {
    /// Another `picoircd` binary (a cross build); default: this build's.
    pub binary: Option<PathBuf>,
    /// Programs and arguments put before the binary (e.g. `qemu-aarch64`).
    pub wrapper: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Environment variables removed (e.g. `JOURNAL_STREAM` of the test run).
    pub env_remove: Vec<String>,
    /// The open-file limit, set with util-linux `prlimit`.
    pub nofile: Option<u32>,
    /// Files written beside the config (name, contents), after the test
    /// MOTD: an `ircd.motd` here replaces it.
    pub files: Vec<(String, Vec<u8>)>,
}

/// A running server process.
pub struct TestServer {
    child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub conf: PathBuf,
    log: Receiver<String>,
    /// The log lines up to the first "now listening on".
    pub startup: Vec<String>,
}

impl TestServer {
    /// Starts the server on `base_config()`.
    pub fn start() -> TestServer {
        Self::with_config(&base_config())
    }

    /// Starts the server on the given config text (listen on 127.0.0.1:0).
    pub fn with_config(conf: &str) -> TestServer {
        Self::with_config_and_fd_limit(conf, None)
    }

    /// Starts the server with its open-file limit set to `nofile` (via
    /// util-linux `prlimit`), to drive it into EMFILE.
    pub fn with_config_and_fd_limit(conf: &str, nofile: Option<u32>) -> TestServer {
        Self::launch(
            conf,
            Launch {
                nofile,
                ..Launch::default()
            },
        )
    }

    /// Starts a server as `launch` says (another binary, a wrapper such as
    /// `qemu-aarch64`, extra environment), on the given config text.
    pub fn launch(conf: &str, launch: Launch) -> TestServer {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("picoircd-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("ircd.motd"), "Welcome to $bpico$b\nsecond line\n").expect("motd");
        for (name, contents) in &launch.files {
            std::fs::write(dir.join(name), contents).expect("file beside the config");
        }
        let conf_path = dir.join("ircd.conf");
        std::fs::write(&conf_path, conf).expect("conf");
        Self::spawn(dir, conf_path, launch)
    }

    fn spawn(dir: PathBuf, conf_path: PathBuf, launch: Launch) -> TestServer {
        let binary = launch
            .binary
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_picoircd")));
        let mut argv: Vec<std::ffi::OsString> = Vec::new();
        if let Some(n) = launch.nofile {
            argv.push("prlimit".into());
            argv.push(format!("--nofile={n}:{n}").into());
        }
        argv.extend(launch.wrapper.iter().map(Into::into));
        argv.push(binary.into_os_string());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        for (k, v) in &launch.env {
            cmd.env(k, v);
        }
        for k in &launch.env_remove {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .args(["run", "--conf"])
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn picoircd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + WAIT;
        let mut startup = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let addr = line.split("now listening on ").nth(1).map(|a| {
                        let a = a.split_whitespace().next().unwrap_or_default();
                        a.parse().expect("listen address")
                    });
                    startup.push(line);
                    if let Some(addr) = addr {
                        break addr;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = std::fs::remove_dir_all(&dir);
                    panic!("server did not start listening: {startup:?}");
                }
            }
        };
        TestServer {
            child,
            addr,
            dir,
            conf: conf_path,
            log: rx,
            startup,
        }
    }

    /// A raw connection.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// A registered client named `nick` (burst read up to 221).
    pub fn client(&self, nick: &str) -> Client {
        let mut c = self.connect();
        c.register(nick);
        c
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// The first `count` listeners (the first is `addr`): each one's
    /// address and its "now listening on" log line. Reads the log up to
    /// the last of those lines, so call it once, before other log waits.
    pub fn listeners(&self, count: usize) -> Vec<(SocketAddr, String)> {
        let mut lines: Vec<String> = self
            .startup
            .iter()
            .filter(|l| l.contains("now listening on "))
            .cloned()
            .collect();
        while lines.len() < count {
            lines.push(self.expect_new_log("now listening on "));
        }
        lines
            .into_iter()
            .map(|line| {
                let addr = line
                    .split("now listening on ")
                    .nth(1)
                    .and_then(|a| a.split_whitespace().next())
                    .expect("address")
                    .parse()
                    .expect("listen address");
                (addr, line)
            })
            .collect()
    }

    /// Waits for a log line containing `needle` (start-up lines included).
    pub fn expect_log(&self, needle: &str) -> String {
        if let Some(l) = self.startup.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        self.expect_new_log(needle)
    }

    /// Waits for a log line containing `needle`, after the start-up lines
    /// and those already read.
    pub fn expect_new_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?}"),
            }
        }
    }

    /// Waits for the process to exit; returns its exit code.
    /// Stops the server with `sig` ("TERM", or "KILL" for a crash), then
    /// starts it again in the same folder on the same config (a new port):
    /// what survives is what it kept on disk.
    pub fn restart(mut self, sig: &str) -> TestServer {
        self.signal(sig);
        let _ = self.child.wait();
        let dir = std::mem::take(&mut self.dir);
        let conf = self.conf.clone();
        drop(self);
        Self::spawn(dir, conf, Launch::default())
    }

    pub fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not exit");
    }

    /// The server's resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Voluntary context switches of the server's main thread so far (a
    /// count of how often its loop went to sleep and woke up).
    pub fn wakeups(&self) -> u64 {
        let pid = self.child.id();
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("voluntary_ctxt_switches:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("voluntary_ctxt_switches")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Is the process still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A line-oriented IRC client over a blocking socket with timeouts.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pub nick: String,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(TcpStream::connect_timeout(&addr, WAIT).expect("connect"))
    }

    /// A client over a connected stream (short read timeouts, no Nagle).
    pub fn over(stream: TcpStream) -> Client {
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::new(),
            nick: "*".into(),
        }
    }

    /// A connection whose kernel receive buffer is tiny, so a client that
    /// stops reading fills the server's send queue quickly.
    pub fn connect_small_window(addr: SocketAddr) -> Client {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        sock.connect_timeout(&addr.into(), WAIT).expect("connect");
        let stream: TcpStream = sock.into();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        Client {
            stream,
            buf: Vec::new(),
            nick: "*".into(),
        }
    }

    /// Sends one line (CR LF added).
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// The next line, or `None` after `timeout` without one.
    pub fn next_line_within(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            if Instant::now() >= deadline || !self.read_more() {
                return None;
            }
        }
    }

    /// One bounded read (100 ms) into the buffer; false once the
    /// connection is closed or broken.
    fn read_more(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// The next line; panics after `WAIT`.
    pub fn line(&mut self) -> String {
        self.next_line_within(WAIT).expect("a line from the server")
    }

    /// Reads until a line contains `needle`; returns every line read.
    pub fn expect(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line_within(left) {
                Some(l) => {
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                None => panic!("no line with {needle:?}; got:\n{}", seen.join("\n")),
            }
        }
    }

    /// The line containing `needle` (reading past others).
    pub fn expect_line(&mut self, needle: &str) -> String {
        self.expect(needle).pop().expect("line")
    }

    /// Asserts nothing matching `needle` arrives within `d`.
    pub fn expect_none(&mut self, needle: &str, d: Duration) {
        let deadline = Instant::now() + d;
        while let Some(l) =
            self.next_line_within(deadline.saturating_duration_since(Instant::now()))
        {
            assert!(!l.contains(needle), "unexpected line {l:?}");
        }
    }

    /// Registers with NICK/USER and reads the burst up to 221.
    pub fn register(&mut self, nick: &str) -> Vec<String> {
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick} real"));
        self.nick = nick.into();
        self.expect(" 221 ")
    }

    /// True once the server closed the connection (EOF) within `WAIT`.
    pub fn closed(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if !self.read_more() {
                return true;
            }
        }
        false
    }

    /// A PING/PONG round trip: every line sent before it was handled.
    pub fn sync(&mut self) -> Vec<String> {
        let token = format!("sync{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        self.send(&format!("PING {token}"));
        self.expect(&format!("PONG pico.test :{token}"))
    }
}

/// The client's `nick!user@host` as others see it (from USERHOST; works
/// with or without tags on the reply).
pub fn mask(c: &mut Client) -> String {
    let nick = c.nick.clone();
    c.send(&format!("USERHOST {nick}"));
    let line = c.expect_line(" 302 ");
    let word = line.rsplit_once(" :").expect("302 text").1;
    let (n, rest) = word.split_once('=').expect("nick=+user@host");
    format!("{}!{}", n.trim_end_matches('*'), &rest[1..])
}

/// The client's displayed (cloaked) host.
pub fn host(c: &mut Client) -> String {
    mask(c).rsplit_once('@').expect("host").1.to_string()
}

/// Joins `chan` and reads up to the end of NAMES.
pub fn join(c: &mut Client, chan: &str) -> Vec<String> {
    c.send(&format!("JOIN {chan}"));
    c.expect(&format!(" 366 {} {chan} ", c.nick))
}

/// Runs `picoircd run` on `conf` (written to `dir/ircd.conf`, with a
/// MOTD) where the start must fail; returns its stderr.
pub fn run_must_fail(dir: &std::path::Path, conf: &str) -> String {
    let path = dir.join("ircd.conf");
    std::fs::write(&path, conf).expect("config");
    std::fs::write(dir.join("ircd.motd"), "hi\n").expect("motd");
    // Bounded: a server that starts after all is stopped by `timeout`.
    let out = Command::new("timeout")
        .arg(WAIT.as_secs().to_string())
        .arg(env!("CARGO_BIN_EXE_picoircd"))
        .args(["run", "--conf"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        !out.status.success() && out.status.code() != Some(124),
        "the server started: {out:?}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Sends `request` on a fresh connection and reads until the server
/// closes it (HTTP on a WebSocket listener).
pub fn http(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("the server closes");
    String::from_utf8_lossy(&out).into_owned()
}

/// Base64 (RFC 4648, with padding), written here rather than taken from the
/// server's own codec, so the SASL tests encode independently of it.
pub fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
