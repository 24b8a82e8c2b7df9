//! Real IRC clients against the real binary: WeeChat (`weechat-headless`)
//! and irssi (inside a detached `tmux`) join a channel and exchange
//! messages with a raw-socket client; irc-framework (npm, the library
//! behind Kiwi IRC and The Lounge, driven by `tests/js/ircfw_client.js`)
//! also negotiates its IRCv3 capabilities and exchanges `server-time` and
//! `msgid` tags with raw clients.
//!
//! The clients come from apt and npm (`scripts/test` installs them). A
//! missing client is a test failure naming what to install, never a
//! silent skip.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;
use util::node::{self, text, NodeScript};
use util::tags::{capped, split_tags};
use util::{TestServer, WAIT};

static SESSION: AtomicUsize = AtomicUsize::new(0);

/// Is `bin` on PATH?
fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// Fails (does not skip) when `bin` is not on PATH.
fn require(bin: &str, package: &str) {
    assert!(
        on_path(bin),
        "`{bin}` is not on PATH: install the apt package `{package}` \
         (`apt-get install {package}`; scripts/test does this when run as root)"
    );
}

/// A child process killed (and reaped) when the test ends, pass or fail.
struct KillOnDrop(Child);

impl KillOnDrop {
    /// Waits for the process to exit on its own, at most `WAIT`.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.0.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "client did not exit in {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `path` until its text satisfies `ok`; panics with the last text
/// after `WAIT`.
fn wait_for_file(path: &Path, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if ok(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed {what}; it holds:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A WeeChat log line `date \t prefix \t message` from `nick` (any
/// channel-status prefix such as `@`) saying exactly `message`.
fn weechat_said(log: &str, nick: &str, message: &str) -> bool {
    log.lines().any(|l| {
        let mut f = l.splitn(3, '\t');
        let (_, Some(prefix), Some(msg)) = (f.next(), f.next(), f.next()) else {
            return false;
        };
        prefix.trim_start_matches(['~', '&', '@', '%', '+']) == nick && msg == message
    })
}

#[test]
fn weechat_joins_and_talks_with_a_raw_client() {
    require("weechat-headless", "weechat-headless");
    let srv = TestServer::start();
    let mut raw = srv.client("raw");
    raw.send("JOIN #pico");
    raw.expect(" 366 raw #pico ");

    let home = srv.dir.join("weechat");
    let logs = home.join("logs");
    std::fs::create_dir_all(&home).expect("weechat dir");
    // Everything WeeChat does is timed from its own connection (the
    // server's `command` runs on 001), not from process start, so a slow
    // start does not break it. The last /quit is only a backstop.
    let commands = [
        "/set irc.server_default.nicks wee".to_string(),
        "/set irc.server_default.username wee".to_string(),
        "/set irc.server_default.realname weechat".to_string(),
        format!("/set logger.file.path {}", logs.display()),
        "/set logger.file.flush_delay 0".to_string(),
        format!("/server add t {}/{} -notls", srv.addr.ip(), srv.addr.port()),
        "/set irc.server.t.autojoin \"#pico\"".to_string(),
        "/set irc.server.t.command \"/wait 3s /command -buffer irc.t.#pico * \
         /say hello from weechat\\;/wait 6s /quit\""
            .to_string(),
        "/connect t".to_string(),
        "/wait 30s /quit".to_string(),
    ]
    .join("; ");
    let mut wee = KillOnDrop(
        Command::new("weechat-headless")
            .arg("--dir")
            .arg(&home)
            .arg("-r")
            .arg(&commands)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn weechat-headless"),
    );

    let join = raw.expect_line(" JOIN #pico");
    assert!(
        join.starts_with(":wee!~wee@") && join.ends_with(" JOIN #pico"),
        "{join}"
    );
    raw.send("PRIVMSG #pico :hello weechat");
    let got = raw.expect_line("PRIVMSG #pico");
    assert!(
        got.starts_with(":wee!~wee@") && got.ends_with(" PRIVMSG #pico :hello from weechat"),
        "{got}"
    );
    let quit = raw.expect_line(" QUIT ");
    assert!(
        quit.starts_with(":wee!~wee@") && quit.contains(" QUIT :Quit: WeeChat "),
        "{quit}"
    );
    let status = wee.wait_exit();
    assert!(status.success(), "weechat-headless exited with {status}");

    // WeeChat really received and displayed the raw client's message.
    let chan = wait_for_file(&logs.join("irc.t.#pico.weechatlog"), "raw's message", |t| {
        weechat_said(t, "raw", "hello weechat")
    });
    assert!(weechat_said(&chan, "wee", "hello from weechat"), "{chan}");
    // WeeChat asks for extended-join, and shows the real name it carries.
    assert!(
        chan.contains("wee (weechat) (~wee@") && chan.contains("has joined #pico"),
        "{chan}"
    );

    // Capability negotiation and registration, as WeeChat saw them.
    let server = wait_for_file(&logs.join("irc.server.t.weechatlog"), "the welcome", |t| {
        t.contains("Welcome to the PicoNet IRC Network wee")
    });
    let enabled = server
        .lines()
        .find(|l| l.contains("client capability, enabled:"))
        .unwrap_or_else(|| panic!("no capabilities enabled:\n{server}"));
    assert!(enabled.contains("multi-prefix"), "{enabled}");
    for bad in [
        "Unknown command",
        "Not enough parameters",
        "You have not registered",
    ] {
        assert!(!server.contains(bad), "WeeChat got {bad:?}:\n{server}");
    }
}

/// A loopback relay that records every line each way: `>> ` from the
/// client, `<< ` from the server. One connection.
fn tap(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind tap");
    let addr = listener.local_addr().expect("tap addr");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&lines);
    std::thread::spawn(move || {
        let Ok((down, _)) = listener.accept() else {
            return;
        };
        let Ok(up) = TcpStream::connect_timeout(&upstream, WAIT) else {
            return;
        };
        let (down2, up2) = (
            down.try_clone().expect("clone"),
            up.try_clone().expect("clone"),
        );
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || pump(down2, up2, ">> ", &log2));
        pump(up, down, "<< ", &log);
    });
    (addr, lines)
}

fn pump(mut from: TcpStream, mut to: TcpStream, dir: &str, log: &Mutex<Vec<String>>) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = from.read(&mut chunk) {
        pending.extend_from_slice(&chunk[..n]);
        while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            // IRCv3 tags (irssi asks for server-time) are logged apart, so
            // the checks below read the lines as RFC 1459 has them.
            let (tags, body) = match text.strip_prefix('@') {
                Some(rest) => rest.split_once(' ').unwrap_or((rest, "")),
                None => ("", text),
            };
            let mut log = log.lock().expect("tap log");
            if !tags.is_empty() {
                log.push(format!("{dir}tags {tags}"));
            }
            log.push(format!("{dir}{body}"));
        }
        if to.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A detached tmux server on its own socket; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    /// Types `text` literally, then Enter.
    fn type_line(&self, text: &str) {
        assert!(self
            .run(&["send-keys", "-t", "pico", "-l", text])
            .status
            .success());
        assert!(self
            .run(&["send-keys", "-t", "pico", "Enter"])
            .status
            .success());
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "pico"]).stdout)
            .into_owned()
    }

    /// Polls the visible pane until it shows `needle`.
    fn expect_screen(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "irssi never showed {needle:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// irssi's config: no servers, networks or channels of its own (nothing
/// but the test server is ever contacted), and no command queueing, so
/// what is typed is sent at once.
const IRSSI_CONFIG: &str = r#"servers = ( );
chatnets = { };
channels = ( );
settings = {
  core = {
    real_name = "irssi test";
    user_name = "irc1";
    nick = "irc1";
    settings_autosave = "no";
  };
  "irc/core" = { cmds_max_at_once = "100"; };
};
"#;

#[test]
fn irssi_joins_and_talks_with_a_raw_client() {
    require("irssi", "irssi");
    require("tmux", "tmux");
    let srv = TestServer::start();
    let mut raw = srv.client("raw");
    raw.send("JOIN #pico");
    raw.expect(" 366 raw #pico ");

    let home: PathBuf = srv.dir.join("irssi");
    std::fs::create_dir_all(&home).expect("irssi dir");
    std::fs::write(home.join("config"), IRSSI_CONFIG).expect("irssi config");
    let (tap_addr, wire) = tap(srv.addr);

    let tmux = Tmux {
        socket: format!(
            "picoircd-rc-{}-{}",
            std::process::id(),
            SESSION.fetch_add(1, Ordering::SeqCst)
        ),
    };
    let irssi = format!(
        "irssi --home={} -n irc1 -c {} -p {}",
        home.display(),
        tap_addr.ip(),
        tap_addr.port()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "pico",
        "-x",
        "200",
        "-y",
        "50",
        &irssi,
    ]);
    assert!(started.status.success(), "tmux: {started:?}");

    let status = tmux.expect_screen("Welcome to the PicoNet IRC Network irc1");
    assert!(
        status
            .lines()
            .any(|l| l.contains("Capabilities acknowledged:") && l.contains("multi-prefix")),
        "{status}"
    );

    tmux.type_line("/join #pico");
    let join = raw.expect_line(" JOIN #pico");
    assert!(
        join.starts_with(":irc1!~irc1@") && join.ends_with(" JOIN #pico"),
        "{join}"
    );
    raw.send("PRIVMSG #pico :hello irssi");
    tmux.expect_screen("raw> hello irssi");

    tmux.type_line("hello from irssi");
    let got = raw.expect_line("PRIVMSG #pico");
    assert!(
        got.starts_with(":irc1!~irc1@") && got.ends_with(" PRIVMSG #pico :hello from irssi"),
        "{got}"
    );
    tmux.type_line("/quit see you");
    let quit = raw.expect_line(" QUIT ");
    assert!(
        quit.starts_with(":irc1!~irc1@") && quit.ends_with(" QUIT :Quit: see you"),
        "{quit}"
    );

    // irssi probes with `JOIN :` before registering; the server must say
    // 451 and keep the connection, which then registers normally.
    let deadline = Instant::now() + WAIT;
    let wire = loop {
        let lines = wire.lock().expect("tap log").clone();
        if lines.iter().any(|l| l.starts_with("<< ERROR")) || Instant::now() >= deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let at = |pred: &dyn Fn(&str) -> bool| wire.iter().position(|l| pred(l));
    let cap_ls = at(&|l| l == ">> CAP LS 302").unwrap_or_else(|| panic!("{wire:#?}"));
    let welcome = at(&|l| l.starts_with("<< :pico.test 001 irc1 ")).expect("001");
    assert!(cap_ls < welcome, "{wire:#?}");
    if let Some(probe) = at(&|l| l == ">> JOIN :") {
        let refused = at(&|l| l.starts_with("<< :pico.test 451 * "))
            .unwrap_or_else(|| panic!("no 451 for `JOIN :`: {wire:#?}"));
        assert!(probe < refused && refused < welcome, "{wire:#?}");
    } else {
        eprintln!("note: this irssi did not send the `JOIN :` probe");
    }
    let errors: Vec<_> = wire.iter().filter(|l| l.starts_with("<< ERROR")).collect();
    assert_eq!(
        errors,
        [&"<< ERROR :Quit: see you".to_string()],
        "{wire:#?}"
    );
    for bad in [" 421 ", " 461 "] {
        assert!(!wire.iter().any(|l| l.contains(bad)), "{bad}: {wire:#?}");
    }
    // irssi asks for server-time; from its ACK on, lines carry `time`.
    let acked = at(&|l| {
        l.starts_with("<< :pico.test CAP ") && l.contains(" ACK ") && l.contains("server-time")
    });
    if let Some(acked) = acked {
        let timed = wire[acked..]
            .iter()
            .filter(|l| l.starts_with("<< tags time="))
            .count();
        assert!(timed > 10, "{wire:#?}");
    } else {
        eprintln!("note: this irssi did not ask for server-time");
    }
}

// irc-framework (npm) ------------------------------------------------------

/// The irc-framework release `tests/js/package-lock.json` pins. The lists
/// below are read from its `src/commands/handlers/registration.js`: a new
/// release must be checked against them.
const IRCFW_VERSION: &str = "4.14.0";

/// What irc-framework asks for, with its default options, of the
/// capabilities a server offers (`want` in its CAP handler).
const IRCFW_WANTS: &[&str] = &[
    "cap-notify",
    "batch",
    "multi-prefix",
    "message-tags",
    "draft/message-tags-0.2",
    "away-notify",
    "invite-notify",
    "account-notify",
    "account-tag",
    "server-time",
    "userhost-in-names",
    "extended-join",
    "znc.in/server-time-iso",
    "znc.in/server-time",
];

/// What it asks for besides with one of its `enable_*` options
/// (`ircfw_client.js --enable NAME`).
const IRCFW_OPTIONAL: &[(&str, &str)] = &[
    ("echomessage", "echo-message"),
    ("setname", "setname"),
    ("chghost", "chghost"),
];

/// irc-framework in a `node` process running `tests/js/ircfw_client.js`
/// (see `util::node`).
struct IrcFramework(NodeScript);

impl IrcFramework {
    /// Starts it against `srv` as `nick`, to join `channel`; `args` are
    /// more ircfw_client.js options. Fails (does not skip) when node or
    /// the npm packages are missing.
    fn start(srv: &TestServer, nick: &str, channel: &str, args: &[String]) -> IrcFramework {
        node::require("irc-framework");
        let mut all: Vec<String> = [
            "--host",
            &srv.addr.ip().to_string(),
            "--port",
            &srv.addr.port().to_string(),
            "--nick",
            nick,
            "--channel",
            channel,
            // Its own bound, past every expectation's; drop kills it last.
            "--timeout",
            "60",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        all.extend_from_slice(args);
        let stderr = srv.dir.join(format!("ircfw-{nick}.stderr"));
        IrcFramework(NodeScript::start("ircfw_client.js", &all, stderr))
    }

    /// One command line (`say TEXT`, `quit TEXT`).
    fn command(&mut self, line: &str) {
        self.0.command(line);
    }

    /// The first event named `name` satisfying `ok`, within `WAIT`.
    fn wait_for(&mut self, name: &str, ok: impl Fn(&Value) -> bool) -> Value {
        self.0.wait_for(name, ok, WAIT, None)
    }

    /// The events named `name` seen so far.
    fn all(&self, name: &str) -> Vec<&Value> {
        self.0.all(name)
    }

    /// Waits for the process to exit and reads every event it printed.
    fn finish(&mut self) -> std::process::ExitStatus {
        self.0.finish(WAIT)
    }

    /// Everything it printed, for failure messages.
    fn log(&self) -> String {
        self.0.log()
    }
}

/// A list-of-strings field, sorted.
fn sorted_strings(v: &Value) -> Vec<String> {
    let mut list: Vec<String> = v
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect();
    list.sort();
    list
}

/// The capability names the server offers in `CAP LS 302`, over as many
/// lines as it takes (`CAP * LS * :…` continues the list).
fn server_caps(srv: &TestServer) -> Vec<String> {
    let mut c = srv.connect();
    c.send("CAP LS 302");
    let mut caps: Vec<String> = Vec::new();
    loop {
        let ls = c.expect_line(" CAP * LS ");
        let (head, list) = ls.split_once(" :").expect("a CAP LS list");
        caps.extend(
            list.split(' ')
                .map(|c| c.split('=').next().unwrap_or(c).to_string()),
        );
        if !head.ends_with(" *") {
            break;
        }
    }
    caps.sort();
    caps
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> &'a str {
    tags.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {key} tag in {tags:?}"))
}

/// `2026-11-25T10:00:00.123Z` (RFC 3339, milliseconds, UTC) as
/// milliseconds since 1970; panics on any other shape.
fn epoch_ms(v: &str) -> i64 {
    let b = v.as_bytes();
    assert_eq!(b.len(), 24, "{v}");
    for (i, c) in b.iter().enumerate() {
        let want = match i {
            4 | 7 => b'-',
            10 => b'T',
            13 | 16 => b':',
            19 => b'.',
            23 => b'Z',
            _ => {
                assert!(c.is_ascii_digit(), "{v}");
                continue;
            }
        };
        assert_eq!(*c, want, "{v}");
    }
    let n = |r: std::ops::Range<usize>| v[r].parse::<i64>().expect("digits");
    let (m, d) = (n(5..7), n(8..10));
    assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{v}");
    // Days from the civil date (H. Hinnant's algorithm).
    let y = n(0..4) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    (((days * 24 + n(11..13)) * 60 + n(14..16)) * 60 + n(17..19)) * 1000 + n(20..23)
}

/// A `msgid`: non-empty, letters and digits.
fn assert_msgid(v: &str) {
    assert!(
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{v}"
    );
}

/// The command (or numeric) of a raw line.
fn command_of(line: &str) -> &str {
    let line = match line.strip_prefix('@') {
        Some(rest) => rest.split_once(' ').map_or("", |(_, b)| b),
        None => line,
    };
    let line = match line.strip_prefix(':') {
        Some(rest) => rest.split_once(' ').map_or("", |(_, b)| b),
        None => line,
    };
    line.split(' ').next().unwrap_or_default()
}

/// irc-framework, started with `enable` (its `enable_*` options) and
/// `extra_caps` (`requestCap`), negotiates, joins `#pico` and talks with
/// raw clients `raw` and `peer` (both with `message-tags server-time`;
/// `peer` is the second witness of what the server relays).
fn ircfw_session(enable: &[&str], extra_caps: &[&str]) {
    let srv = TestServer::start();
    let offered = server_caps(&srv);
    let mut raw = capped(&srv, "raw", "message-tags server-time");
    let mut peer = capped(&srv, "peer", "message-tags server-time");
    raw.send("JOIN #pico");
    raw.expect(" 366 raw #pico ");
    peer.send("JOIN #pico");
    peer.expect(" 366 peer #pico ");
    let peer_join = raw.expect_line(" JOIN #pico");
    let peer_mask = split_tags(&peer_join).1;
    let peer_mask = peer_mask
        .strip_prefix(':')
        .and_then(|b| b.strip_suffix(" JOIN #pico"))
        .unwrap_or_else(|| panic!("{peer_join}"))
        .to_string();
    assert!(peer_mask.starts_with("peer!~peer@"), "{peer_join}");
    // Two prefixes on one member, for its multi-prefix NAMES.
    raw.send("MODE #pico +ov peer peer");
    raw.expect(" MODE #pico +ov peer peer");
    peer.expect(" MODE #pico +ov peer peer");

    // Every capability it asks for that the server offers, exactly.
    let mut wants: Vec<&str> = IRCFW_WANTS.to_vec();
    for e in enable {
        let (_, cap) = IRCFW_OPTIONAL
            .iter()
            .find(|(o, _)| o == e)
            .unwrap_or_else(|| panic!("no enable_{e} option"));
        wants.push(cap);
    }
    wants.extend(extra_caps);
    let expected: Vec<String> = offered
        .iter()
        .filter(|c| wants.contains(&c.as_str()))
        .cloned()
        .collect();
    let echo = expected.iter().any(|c| c == "echo-message");
    assert_eq!(echo, enable.contains(&"echomessage"), "{offered:?}");
    for core in ["message-tags", "server-time", "batch"] {
        assert!(expected.iter().any(|c| c == core), "{core}: {offered:?}");
    }

    let mut args = Vec::new();
    if !enable.is_empty() {
        args.extend(["--enable".to_string(), enable.join(",")]);
    }
    for cap in extra_caps {
        args.extend(["--cap".to_string(), cap.to_string()]);
    }
    let mut fw = IrcFramework::start(&srv, "fw", "#pico", &args);
    let start = fw.wait_for("start", |_| true);
    assert_eq!(
        text(&start, "version"),
        IRCFW_VERSION,
        "tests/js installs another irc-framework: check IRCFW_WANTS against it"
    );

    // Negotiation and registration, as irc-framework saw them.
    let registered = fw.wait_for("registered", |_| true);
    assert_eq!(text(&registered, "nick"), "fw");
    assert_eq!(sorted_strings(&registered["caps"]), expected);
    // The list comes over several `CAP * LS * :…` lines: one event each.
    fw.wait_for("cap_ls", |_| true);
    let mut ls: Vec<String> = fw
        .all("cap_ls")
        .iter()
        .flat_map(|e| sorted_strings(&e["caps"]))
        .collect();
    ls.sort();
    assert_eq!(ls, offered);
    let req = fw.wait_for("cap_req", |_| true);
    assert_eq!(sorted_strings(&req["caps"]), expected);
    let ack = fw.wait_for("cap_ack", |_| true);
    assert_eq!(sorted_strings(&ack["caps"]), expected);
    assert_eq!(fw.all("cap_req").len(), 1, "{}", fw.log());
    assert!(fw.all("cap_nak").is_empty(), "{}", fw.log());

    // It joined: the JOIN it parsed is the one the others got, tags too.
    let joined = fw.wait_for("join", |e| text(e, "nick") == "fw");
    assert_eq!(text(&joined, "channel"), "#pico");
    let fw_join = raw.expect_line(" JOIN #pico");
    assert_eq!(peer.expect_line(" JOIN #pico"), fw_join);
    let (tags, body) = split_tags(&fw_join);
    let mask = format!(
        "fw!{}@{}",
        text(&joined, "ident"),
        text(&joined, "hostname")
    );
    assert!(mask.starts_with("fw!~fw@"), "{mask}");
    assert_eq!(body, format!(":{mask} JOIN #pico"));
    assert_eq!(text(&joined["tags"], "time"), tag(&tags, "time"));
    assert_eq!(text(&joined["tags"], "msgid"), tag(&tags, "msgid"));
    assert_eq!(joined["time"].as_i64(), Some(epoch_ms(tag(&tags, "time"))));

    // It speaks: both raw clients get the same line, with a fresh msgid
    // and the server's time; with echo-message it gets the same back.
    fw.command("say hello from irc-framework");
    let said = raw.expect_line("PRIVMSG #pico");
    assert_eq!(peer.expect_line("PRIVMSG #pico"), said);
    let (tags, body) = split_tags(&said);
    assert_eq!(
        body,
        format!(":{mask} PRIVMSG #pico :hello from irc-framework")
    );
    assert_eq!(tags.len(), 2, "{said}");
    let (fw_time, fw_msgid) = (tag(&tags, "time"), tag(&tags, "msgid"));
    assert_msgid(fw_msgid);
    assert_ne!(fw_msgid, tag(&split_tags(&fw_join).0, "msgid"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    let now_ms = i64::try_from(now_ms).expect("ms");
    assert!(
        (now_ms - epoch_ms(fw_time)).abs() < 60_000,
        "{fw_time} is not now"
    );
    if echo {
        let own = fw.wait_for("privmsg", |e| text(e, "nick") == "fw");
        assert_eq!(text(&own, "target"), "#pico");
        assert_eq!(text(&own, "message"), "hello from irc-framework");
        assert_eq!(text(&own["tags"], "time"), fw_time);
        assert_eq!(text(&own["tags"], "msgid"), fw_msgid);
        assert_eq!(own["time"].as_i64(), Some(epoch_ms(fw_time)));
    }

    // The raw client speaks: irc-framework gets the tags `peer` got.
    raw.send("PRIVMSG #pico :hello irc-framework");
    let relayed = peer.expect_line("PRIVMSG #pico");
    let (tags, body) = split_tags(&relayed);
    assert!(
        body.starts_with(":raw!~raw@") && body.ends_with(" PRIVMSG #pico :hello irc-framework"),
        "{relayed}"
    );
    let (time, msgid) = (tag(&tags, "time"), tag(&tags, "msgid"));
    assert_msgid(msgid);
    assert_ne!(msgid, fw_msgid);
    let raw_mask = body
        .strip_prefix(':')
        .and_then(|b| b.split(' ').next())
        .expect("a prefix");
    let got = fw.wait_for("privmsg", |e| text(e, "nick") == "raw");
    assert_eq!(
        format!(
            ":raw!{}@{} PRIVMSG {} :{}",
            text(&got, "ident"),
            text(&got, "hostname"),
            text(&got, "target"),
            text(&got, "message")
        ),
        body
    );
    assert_eq!(text(&got["tags"], "time"), time);
    assert_eq!(text(&got["tags"], "msgid"), msgid);
    assert_eq!(got["time"].as_i64(), Some(epoch_ms(time)));

    // The NAMES it read on joining (multi-prefix, userhost-in-names).
    let names = fw.wait_for("userlist", |e| text(e, "channel") == "#pico");
    let mut members: Vec<(String, Vec<String>)> = names["users"]
        .as_sequence()
        .expect("users")
        .iter()
        .map(|u| {
            let mask = format!(
                "{}!{}@{}",
                text(u, "nick"),
                text(u, "ident"),
                text(u, "hostname")
            );
            (mask, sorted_strings(&u["modes"]))
        })
        .collect();
    members.sort();
    let modes = |m: &[&str]| m.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        members,
        [
            (mask.clone(), modes(&[])),
            (peer_mask, modes(&["o", "v"])),
            (raw_mask.to_string(), modes(&["o"])),
        ],
        "{}",
        fw.log()
    );

    fw.command("quit see you");
    let quit = raw.expect_line(" QUIT ");
    assert_eq!(split_tags(&quit).1, format!(":{mask} QUIT :Quit: see you"));
    let status = fw.finish();
    assert!(status.success(), "exit {status}\n{}", fw.log());

    // The whole session: one message each way (and the echo), nothing
    // it could not take, and `time` on every line after the ACK (but the
    // closing `ERROR`: the tag is optional, and that line is not an event).
    let log = fw.log();
    let privmsgs: Vec<&str> = fw.all("privmsg").iter().map(|e| text(e, "nick")).collect();
    assert_eq!(
        privmsgs,
        if echo { vec!["fw", "raw"] } else { vec!["raw"] },
        "{log}"
    );
    let closed = fw.all("closed");
    assert!(
        closed.len() == 1 && closed[0]["requested"].as_bool() == Some(true),
        "{log}"
    );
    for bad in ["timeout", "socket_error", "bad_command"] {
        assert!(fw.all(bad).is_empty(), "{bad}: {log}");
    }
    // irc-framework reports the closing `ERROR` as an error; nothing else.
    let errors: Vec<&str> = fw
        .all("irc_error")
        .iter()
        .map(|e| text(e, "reason"))
        .collect();
    assert_eq!(errors, ["Quit: see you"], "{log}");
    // Lines it has no handler for: informational numerics only.
    for unknown in fw.all("unknown") {
        let cmd = text(unknown, "command");
        assert!(
            cmd.len() == 3 && cmd < "400" && cmd.bytes().all(|b| b.is_ascii_digit()),
            "{cmd}: {log}"
        );
    }
    let from_server: Vec<&str> = fw
        .all("raw")
        .iter()
        .filter(|e| e["from_server"].as_bool() == Some(true))
        .map(|e| text(e, "line"))
        .collect();
    let acked = from_server
        .iter()
        .position(|l| command_of(l) == "CAP" && l.contains(" ACK "))
        .unwrap_or_else(|| panic!("{log}"));
    for line in &from_server {
        let cmd = command_of(line);
        assert!(
            !(cmd.starts_with('4') || cmd.starts_with('5') || cmd == "FAIL"),
            "{line}"
        );
    }
    for line in &from_server[acked + 1..] {
        if command_of(line) == "ERROR" {
            continue;
        }
        let (tags, _) = split_tags(line);
        epoch_ms(tag(&tags, "time"));
    }
}

#[test]
fn irc_framework_negotiates_its_caps_and_exchanges_tagged_messages() {
    ircfw_session(&[], &[]);
}

/// As The Lounge runs it: `enable_echomessage`, `enable_setname`,
/// `enable_chghost` and a request for `znc.in/self-message`.
#[test]
fn irc_framework_with_echo_message_gets_its_own_tagged_message_back() {
    ircfw_session(
        &["echomessage", "setname", "chghost"],
        &["znc.in/self-message"],
    );
}

/// Kiwi IRC's way in: irc-framework's WebSocket transport asking for
/// `text.ircv3.net`, on a `websocket = true` listener, joining and
/// chatting with a TCP client; every frame it got was text.
#[test]
fn irc_framework_over_websocket_as_kiwi_irc_uses_it() {
    let conf = format!(
        "{}\n[[listen]]\naddress = \"127.0.0.1:0\"\nwebsocket = true\n",
        util::base_config()
    );
    let srv = TestServer::with_config(&conf);
    let ws_line = srv.expect_new_log("now listening on ");
    assert!(ws_line.ends_with("(WebSocket)"), "{ws_line}");
    let ws_port = ws_line
        .split("now listening on ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .expect("address")
        .port();
    let mut raw = capped(&srv, "raw", "message-tags server-time");
    raw.send("JOIN #kiwi");
    raw.expect(" 366 raw #kiwi ");
    let args: Vec<String> = [
        "--port",
        &ws_port.to_string(),
        "--websocket",
        "text.ircv3.net",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut fw = IrcFramework::start(&srv, "kiwi", "#kiwi", &args);
    let registered = fw.wait_for("registered", |_| true);
    assert_eq!(text(&registered, "nick"), "kiwi");
    let caps = sorted_strings(&registered["caps"]);
    for cap in ["message-tags", "server-time", "batch"] {
        assert!(caps.iter().any(|c| c == cap), "{cap}: {caps:?}");
    }
    fw.wait_for("join", |e| text(e, "nick") == "kiwi");
    let joined = raw.expect_line(" JOIN #kiwi");
    assert!(joined.contains(":kiwi!"), "{joined}");
    raw.send("PRIVMSG #kiwi :hello browser");
    let got = fw.wait_for("privmsg", |e| text(e, "message") == "hello browser");
    assert_eq!(text(&got, "nick"), "raw");
    fw.command("say hello server");
    raw.expect_line(":hello server");
    fw.command("quit bye");
    let (_, quit) = split_tags(&raw.expect_line(" QUIT "));
    assert!(
        quit.starts_with(":kiwi!") && quit.ends_with(":Quit: bye"),
        "{quit}"
    );
    assert!(fw.finish().success(), "{}", fw.log());
    // Nothing went wrong on the way.
    assert!(fw.all("socket_error").is_empty(), "{}", fw.log());
}

/// irc-framework configured with an account (what Kiwi IRC and The Lounge
/// do with their account fields) logs in with SASL PLAIN before
/// registering, and others see the account.
#[test]
fn irc_framework_logs_in_with_sasl_plain() {
    let conf = util::base_config().replace(
        "network = \"PicoNet\"\n",
        "network = \"PicoNet\"\nbcrypt-cost = 4\n",
    );
    let srv = TestServer::with_config(&conf);
    let mut owner = srv.client("kiwi");
    owner.send("NS REGISTER kiwi-password");
    owner.expect_line("You're now logged in as kiwi");
    owner.send("QUIT");
    owner.expect_line("ERROR");
    drop(owner);

    let args = ["--account".to_string(), "kiwi:kiwi-password".to_string()];
    let mut fw = IrcFramework::start(&srv, "kiwi", "#sasl", &args);
    let req = fw.wait_for("cap_req", |_| true);
    assert!(
        sorted_strings(&req["caps"]).iter().any(|c| c == "sasl"),
        "{}",
        fw.log()
    );
    let logged = fw.wait_for("loggedin", |_| true);
    assert_eq!(text(&logged, "account"), "kiwi", "{}", fw.log());
    let registered = fw.wait_for("registered", |_| true);
    assert!(
        sorted_strings(&registered["caps"])
            .iter()
            .any(|c| c == "sasl"),
        "{}",
        fw.log()
    );
    assert!(fw.all("sasl_failed").is_empty(), "{}", fw.log());
    fw.wait_for("join", |e| text(e, "nick") == "kiwi");

    let mut peer = srv.client("peer");
    peer.send("WHOIS kiwi");
    let whois = peer.expect(" 318 ");
    assert!(
        whois
            .iter()
            .any(|l| l == ":pico.test 330 peer kiwi kiwi :is logged in as"),
        "{whois:?}"
    );
    fw.command("quit bye");
    fw.finish();

    // A wrong password: irc-framework reports the failure.
    let args = ["--account".to_string(), "kiwi:not-it".to_string()];
    let mut bad = IrcFramework::start(&srv, "kiwi2", "#sasl", &args);
    let failed = bad.wait_for("sasl_failed", |_| true);
    assert_eq!(text(&failed, "reason"), "fail", "{}", bad.log());
}
