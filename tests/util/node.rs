//! A Node.js test driver (`tests/js/*.js`) in a child process: commands go
//! to its stdin, each line of its stdout is one JSON event (read with the
//! YAML parser the tests already have: JSON is YAML), its stderr goes to a
//! file shown on failure. Killed when dropped. Used by the irc-framework
//! and the headless-Chromium tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;

/// `tests/js`: the driver scripts and, after `npm ci`, their node_modules.
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Is `bin` on PATH?
pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// Fails (never skips) when node or the npm package `package` is missing,
/// saying what to run.
pub fn require(package: &str) {
    assert!(
        on_path("node"),
        "`node` is not on PATH: install Node.js (20 or later) with npm, then run \
         scripts/test, which installs {package} into tests/js"
    );
    let js = js_dir();
    assert!(
        js.join("node_modules")
            .join(package)
            .join("package.json")
            .is_file(),
        "{package} is not installed in {}: run scripts/test, which runs \
         `npm ci --prefix tests/js` (Node.js and npm needed)",
        js.display()
    );
}

/// A string field of an event (`""` when absent).
pub fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// A running driver script.
pub struct NodeScript {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<String>,
    /// Every event so far, in order, as parsed and as printed.
    pub seen: Vec<(Value, String)>,
    stderr: PathBuf,
    name: String,
}

impl NodeScript {
    /// Runs `node tests/js/<script> <args>`, its stderr into `stderr`.
    pub fn start(script: &str, args: &[String], stderr: PathBuf) -> NodeScript {
        let mut child = Command::new("node")
            .arg(js_dir().join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        NodeScript {
            child,
            stdin,
            events,
            seen: Vec::new(),
            stderr,
            name: script.to_string(),
        }
    }

    /// One command line to its stdin.
    pub fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to the script");
        stdin.flush().expect("flush");
    }

    /// Takes in one event line; false once stdout is closed.
    pub fn read_one(&mut self, timeout: Duration) -> bool {
        match self.events.recv_timeout(timeout) {
            Ok(line) => {
                let value = serde_yaml_ng::from_str::<Value>(&line)
                    .unwrap_or_else(|e| panic!("not a JSON event ({e}): {line}\n{}", self.log()));
                self.seen.push((value, line));
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    /// The first event named `name` satisfying `ok`, among those seen so
    /// far and those to come within `within`. An event named `fail_on`
    /// (if given) fails at once.
    pub fn wait_for(
        &mut self,
        name: &str,
        ok: impl Fn(&Value) -> bool,
        within: Duration,
        fail_on: Option<&str>,
    ) -> Value {
        let deadline = Instant::now() + within;
        let mut from = 0;
        loop {
            if let Some(bad) = fail_on {
                if let Some((e, _)) = self.seen.iter().find(|(v, _)| text(v, "event") == bad) {
                    panic!("{} failed: {e:?}\n{}", self.name, self.log());
                }
            }
            if let Some((v, _)) = self.seen[from..]
                .iter()
                .find(|(v, _)| text(v, "event") == name && ok(v))
            {
                return v.clone();
            }
            from = self.seen.len();
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && self.read_one(left.min(Duration::from_millis(200))),
                "{} never reported a matching {name:?}\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// The events named `name` seen so far.
    pub fn all(&self, name: &str) -> Vec<&Value> {
        self.seen
            .iter()
            .map(|(v, _)| v)
            .filter(|v| text(v, "event") == name)
            .collect()
    }

    /// Closes its stdin, waits (at most `within`) for it to exit, and
    /// reads every event it printed.
    pub fn finish(&mut self, within: Duration) -> std::process::ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        while self.read_one(Duration::from_millis(100)) {
            assert!(Instant::now() < deadline, "stdout never closed");
        }
        status
    }

    /// Everything it printed (events, then stderr), for failure messages.
    pub fn log(&self) -> String {
        let events: Vec<&str> = self.seen.iter().map(|(_, l)| l.as_str()).collect();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "{} events:\n{}\nits stderr:\n{stderr}",
            self.name,
            events.join("\n")
        )
    }
}

impl Drop for NodeScript {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tests/js/ws_probe.js` (a WebSocket client on the `ws` package,
/// certificates not checked) to register at `url` asking for `proto`
/// ("none" for no subprotocol); returns its events.
pub fn ws_probe(url: &str, proto: &str, nick: &str, origin: Option<&str>) -> Vec<Value> {
    require("ws");
    let mut cmd = Command::new("node");
    cmd.arg(js_dir().join("ws_probe.js"))
        .args([url, proto, nick]);
    if let Some(o) = origin {
        cmd.arg(o);
    }
    let out = cmd.output().expect("node");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_yaml_ng::from_str(l).expect("json"))
        .collect()
}

/// The events named `name`.
pub fn event<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"].as_str() == Some(name))
        .collect()
}
