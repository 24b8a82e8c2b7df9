//! Real IRC clients against the real binary: WeeChat (`weechat-headless`)
//! and irssi (inside a detached `tmux`) join a channel and exchange
//! messages with a raw-socket client.
//!
//! The clients come from apt (`scripts/test` installs them). A missing
//! client is a test failure naming the package, never a silent skip.

mod util;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::{TestServer, WAIT};

static SESSION: AtomicUsize = AtomicUsize::new(0);

/// Fails (does not skip) when `bin` is not on PATH.
fn require(bin: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false);
    assert!(
        found,
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
