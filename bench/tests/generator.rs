//! The load generator works: each scenario, at tiny sizes, against the
//! real `picoircd` server (built here with cargo, started on a free
//! loopback port with scripts/bench-configs/picoircd.conf), and its JSON
//! has the expected fields with sane values. Counts and presence only,
//! never timings. `fanout --caps mixed` is checked to negotiate its
//! capability groups and to count every line of every group as checked;
//! `accounts` to have every NickServ registration acknowledged.
//! The peers (ngircd, InspIRCd) are exercised by `scripts/bench --quick`,
//! which fails when a run against them fails.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const GENERATOR: &str = env!("CARGO_BIN_EXE_picoircd-bench");

/// Builds the server binary with cargo (debug) and returns its path.
fn server_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "picoircd",
            "--bin",
            "picoircd",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo to build the picoircd server");
    assert!(
        out.status.success(),
        "cargo build -p picoircd failed: the generator test needs the server binary"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("executable")?.as_str().map(PathBuf::from))
        .find(|p| p.file_name().is_some_and(|n| n == "picoircd"))
        .filter(|p| p.exists())
        .expect("cargo built no picoircd executable (looked in its JSON messages)")
}

/// A running picoircd on the bench config; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Server {
    fn start() -> Server {
        let binary = server_binary();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir =
            std::env::temp_dir().join(format!("picoircd-bench-test-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/bench-configs");
        std::fs::copy(configs.join("motd.txt"), dir.join("motd.txt")).expect("motd");
        let conf = std::fs::read_to_string(configs.join("picoircd.conf"))
            .expect("scripts/bench-configs/picoircd.conf")
            .replace("@DIR@", &dir.to_string_lossy())
            .replace("@PORT@", &port.to_string());
        std::fs::write(dir.join("ircd.conf"), conf).expect("conf");
        let child = Command::new(&binary)
            .args(["run", "--conf"])
            .arg(dir.join("ircd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "picoircd did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, addr, dir }
    }

    /// Runs the generator with `args`; returns its JSON.
    fn run(&self, args: &[&str]) -> Value {
        let out = Command::new(GENERATOR)
            .args(args)
            .args(["--addr", &self.addr.to_string()])
            .args(["--pid", &self.child.id().to_string()])
            .args(["--server", "picoircd", "--timeout", "60"])
            .output()
            .expect("run picoircd-bench");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "picoircd-bench {args:?} failed:\n{stderr}"
        );
        assert!(
            stderr.contains(" against picoircd"),
            "no summary on stderr: {stderr}"
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn num(v: &Value, key: &str) -> f64 {
    v["metrics"][key]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {key} missing in {v}"))
}

fn common(v: &Value, scenario: &str) {
    assert_eq!(v["scenario"], scenario);
    assert_eq!(v["server"], "picoircd");
    assert!(v["clk_tck"].as_u64().unwrap() > 0);
    assert!(v["params"].is_object() && v["notes"].is_array());
    assert_eq!(num(v, "connect_errors"), 0.0);
    assert_eq!(num(v, "registration_retries"), 0.0);
    assert!(num(v, "peak_rss_kib") > 0.0);
}

#[test]
fn every_scenario_runs_against_picoircd() {
    let server = Server::start();

    let v = server.run(&[
        "idle",
        "--clients",
        "20",
        "--channels",
        "3",
        "--settle-ms",
        "100",
    ]);
    common(&v, "idle");
    assert_eq!(num(&v, "connections"), 20.0);
    assert_eq!(num(&v, "closed_by_server"), 0.0);
    assert!(num(&v, "rss_before_kib") > 0.0 && num(&v, "rss_after_kib") > 0.0);
    assert!(num(&v, "register_server_cpu_s") >= 0.0 && num(&v, "register_generator_cpu_s") >= 0.0);
    assert!(num(&v, "server_cpu_s_per_1000_joins") >= 0.0);
    // Channels of 7, 7 and 6: each JOIN reaches every member so far, itself included.
    assert_eq!(num(&v, "join_lines_delivered"), (28 + 28 + 21) as f64);

    let v = server.run(&[
        "fanout",
        "--members",
        "5",
        "--senders",
        "2",
        "--window",
        "3",
        "--seconds",
        "1",
    ]);
    common(&v, "fanout");
    let sent = num(&v, "messages_sent");
    assert!(sent > 0.0);
    assert_eq!(num(&v, "lines_expected"), sent * 4.0);
    assert_eq!(num(&v, "lines_delivered"), sent * 4.0);
    assert_eq!(num(&v, "lines_lost"), 0.0);
    assert_eq!(num(&v, "stray_lines"), 0.0);
    assert_eq!(num(&v, "latency_samples"), sent * 4.0);
    assert!(
        num(&v, "latency_max_ms") > 0.0 && num(&v, "latency_p99_ms") >= num(&v, "latency_p50_ms")
    );
    assert!(num(&v, "messages_server_cpu_s") >= 0.0);
    assert!(num(&v, "server_cpu_s_per_million_lines") >= 0.0);
    assert_eq!(num(&v, "join_lines_delivered"), 15.0);
    assert_eq!(num(&v, "quit_lines_delivered"), 10.0);
    // Plain clients: no CAP, no echo, and every line checked to carry no tags.
    assert_eq!(v["params"]["caps"], "none");
    assert_eq!(num(&v, "echo_lines_expected"), 0.0);
    assert_eq!(num(&v, "lines_checked"), sent * 4.0);
    assert_eq!(num(&v, "wrong_form_lines"), 0.0);
    assert!(v["metrics"].get("tag_forms").is_none());
    assert!(num(&v, "mean_line_bytes") > 64.0);

    let v = server.run(&["pairs", "--pairs", "3", "--window", "2", "--seconds", "1"]);
    common(&v, "pairs");
    let sent = num(&v, "messages_sent");
    assert!(sent > 0.0);
    assert_eq!(num(&v, "messages_delivered"), sent);
    assert_eq!(num(&v, "messages_lost"), 0.0);
    assert!(num(&v, "latency_max_ms") > 0.0);
    assert!(num(&v, "server_cpu_s_per_million_messages") >= 0.0);

    let v = server.run(&["storm", "--clients", "20", "--concurrency", "5"]);
    common(&v, "storm");
    assert_eq!(num(&v, "registrations"), 20.0);
    assert_eq!(num(&v, "failed"), 0.0);
    assert!(num(&v, "registrations_per_s") > 0.0);
    assert!(num(&v, "server_cpu_s_per_1000_registrations") >= 0.0);
}

#[test]
fn fanout_with_mixed_caps_checks_every_form() {
    let server = Server::start();
    // 2 senders (message-tags server-time echo-message) and 8 receivers,
    // 2 in each group: none, message-tags, server-time, both.
    let v = server.run(&[
        "fanout",
        "--members",
        "10",
        "--senders",
        "2",
        "--window",
        "3",
        "--seconds",
        "1",
        "--caps",
        "mixed",
    ]);
    common(&v, "fanout");
    let p = &v["params"];
    assert_eq!(p["caps"], "mixed");
    assert_eq!(
        (
            &p["caps_asked_message_tags"],
            &p["caps_asked_server_time"],
            &p["caps_asked_echo_message"]
        ),
        (&6.into(), &6.into(), &2.into())
    );
    // picoircd grants all of them: four forms of each message.
    assert_eq!(num(&v, "caps_acked_message_tags"), 6.0);
    assert_eq!(num(&v, "caps_acked_server_time"), 6.0);
    assert_eq!(num(&v, "caps_acked_echo_message"), 2.0);
    assert_eq!(num(&v, "tag_forms"), 4.0);
    let sent = num(&v, "messages_sent");
    assert!(sent > 0.0);
    // Nine other members and the sender's own echo per message.
    assert_eq!(num(&v, "lines_expected"), sent * 10.0);
    assert_eq!(num(&v, "lines_delivered"), sent * 10.0);
    assert_eq!(num(&v, "echo_lines_expected"), sent);
    assert_eq!(num(&v, "lines_lost"), 0.0);
    assert_eq!(num(&v, "stray_lines"), 0.0);
    assert_eq!(num(&v, "lines_checked"), sent * 10.0);
    assert_eq!(num(&v, "wrong_form_lines"), 0.0);
    assert_eq!(num(&v, "tag_mismatches"), 0.0);
    for g in ["plain", "tags", "time", "tags_time", "senders"] {
        assert_eq!(num(&v, &format!("group_{g}_members")), 2.0, "{g}");
        assert_eq!(num(&v, &format!("group_{g}_acked_as_asked")), 2.0, "{g}");
        // Each receiver reads every message; each sender the other's and
        // its own echoes.
        assert_eq!(num(&v, &format!("group_{g}_lines")), sent * 2.0, "{g}");
    }
    // Half the lines carry a time, half a msgid.
    assert!(num(&v, "mean_line_bytes") > 64.0 + 20.0);
    assert!(num(&v, "server_cpu_s_per_million_lines") >= 0.0);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("picoircd granted: message-tags 6 of 6"),
        "{notes}"
    );
}

#[test]
fn accounts_registers_and_logs_in_through_nickserv() {
    let server = Server::start();
    // 12 accounts over 3 connections (LOGOUT, NICK, REGISTER between
    // them), then 3 logins on fresh connections. Small: the server is a
    // debug build, where hashing a password takes a good part of a second.
    let v = server.run(&[
        "accounts",
        "--accounts",
        "12",
        "--concurrency",
        "3",
        "--logins",
        "3",
        "--baseline-ms",
        "100",
        "--prefix",
        "acc",
    ]);
    common(&v, "accounts");
    let p = &v["params"];
    assert_eq!(
        (
            &p["accounts"],
            &p["concurrency"],
            &p["logins"],
            &p["probe_ms"]
        ),
        (&12.into(), &3.into(), &3.into(), &5.into())
    );
    // Every REGISTER was acknowledged with "You're now logged in as" the
    // account it was for, and timed.
    assert_eq!(num(&v, "registrations"), 12.0);
    assert_eq!(num(&v, "registrations_failed"), 0.0);
    assert_eq!(num(&v, "registrations_wrong_account"), 0.0);
    assert_eq!(num(&v, "register_ack_samples"), 12.0);
    assert!(num(&v, "registrations_per_s") > 0.0);
    assert_eq!(num(&v, "logins"), 3.0);
    assert_eq!(num(&v, "logins_failed"), 0.0);
    assert_eq!(num(&v, "login_ack_samples"), 3.0);
    // The probe, 3 registrars and 3 login connections; the server closed
    // the login connections after their QUIT, nothing else.
    assert_eq!(num(&v, "connections"), 7.0);
    assert_eq!(num(&v, "closed_by_server"), 3.0);
    // The probe ran in each phase, every PING answered in order.
    assert!(num(&v, "probe_idle_samples") >= 5.0);
    assert!(num(&v, "probe_register_samples") >= 1.0);
    assert!(num(&v, "probe_login_samples") >= 1.0);
    assert_eq!(num(&v, "probe_lost"), 0.0);
    assert_eq!(num(&v, "probe_strays"), 0.0);
    assert!(num(&v, "probe_register_max_ms") >= num(&v, "probe_register_p50_ms"));
    // CPU in all and per thread: picoircd's loop, worker and store writer.
    for key in ["server", "loop", "worker", "store"] {
        assert!(num(&v, &format!("{key}_cpu_s_per_1000_registrations")) >= 0.0);
        assert!(num(&v, &format!("{key}_cpu_s_per_1000_logins")) >= 0.0);
    }
    // The accounts are in the datastore the bench config puts in the
    // run's folder: the same names again are refused, and still log in.
    let db = std::fs::metadata(server.dir.join("ircd.db")).expect("ircd.db in the state folder");
    assert!(db.len() > 12 * 64, "{} bytes for 12 accounts", db.len());
    let v = server.run(&[
        "accounts",
        "--accounts",
        "2",
        "--concurrency",
        "2",
        "--logins",
        "1",
        "--baseline-ms",
        "50",
        "--prefix",
        "acc",
    ]);
    assert_eq!(num(&v, "registrations"), 0.0);
    assert_eq!(num(&v, "registrations_refused"), 2.0);
    assert_eq!(num(&v, "registrations_failed"), 2.0);
    assert_eq!(num(&v, "logins"), 1.0);
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("REGISTER refused 2 times: Account already exists"),
        "{notes}"
    );
}

#[test]
fn accounts_refuses_a_prefix_that_is_no_nick() {
    let out = Command::new(GENERATOR)
        .args([
            "accounts",
            "--addr",
            "127.0.0.1:6667",
            "--pid",
            "1",
            "--prefix",
            "9 bad",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prefix"));
}

#[test]
fn rejects_an_unknown_caps_mix() {
    let out = Command::new(GENERATOR)
        .args([
            "fanout",
            "--addr",
            "127.0.0.1:6667",
            "--pid",
            "1",
            "--caps",
            "some",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected none or mixed"));
}

#[test]
fn history_is_skipped_with_a_note() {
    let out = Command::new(GENERATOR)
        .arg("history")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("issue #8"));
}

#[test]
fn refuses_a_non_loopback_server() {
    let out = Command::new(GENERATOR)
        .args([
            "storm",
            "--addr",
            "192.0.2.1:6667",
            "--pid",
            "1",
            "--clients",
            "1",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
