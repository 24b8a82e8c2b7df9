//! The built-in web chat page (issue #6, `src/net/web/chat.html`) in a
//! real headless Chromium: Debian's `chromium`, driven by playwright-core
//! (npm) through `tests/js/webchat_test.js`. The browser loads the page
//! from a `websocket = true` listener of the real binary, joins a channel
//! and chats with a raw TCP client; the page's text is read back from its
//! DOM, and screenshots are kept in `target/test-artefacts/`.
//!
//! Chromium comes from apt and playwright-core from npm (`scripts/test`
//! installs both). A missing one is a test failure naming what to do,
//! never a silent skip.

mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use picoircd::net::webpage;
use serde_yaml_ng::Value;
use util::node::{self, text, NodeScript};
use util::tags::{assert_time, capped, split_tags, tag};
use util::{http, TestServer, WAIT};

/// Debian's Chromium (the `chromium` apt package).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where screenshots are kept after the run: `target/test-artefacts/`.
fn artefacts() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target dir>/tmp`.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artefacts");
    std::fs::create_dir_all(&dir).expect("artefacts dir");
    dir
}

/// A server with a plaintext listener (`srv.addr`) and a WebSocket one.
fn start() -> (TestServer, SocketAddr) {
    start_with("")
}

/// The same, `listen_keys` added to the WebSocket listener.
fn start_with(listen_keys: &str) -> (TestServer, SocketAddr) {
    let conf = format!(
        "{}\n[[listen]]\naddress = \"127.0.0.1:0\"\nwebsocket = true\n{listen_keys}",
        util::base_config()
    );
    let srv = TestServer::with_config(&conf);
    let line = srv.expect_new_log("now listening on ");
    assert!(line.contains("WebSocket"), "{line}");
    let ws = line
        .split("now listening on ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .expect("address");
    (srv, ws)
}

/// The page as a plain HTTP client gets it: 200, HTML, its security
/// policy, the whole file and nothing after it.
#[test]
fn the_page_is_served_whole_with_its_policy() {
    let (_srv, ws) = start();
    for path in ["/", "/?channel=x"] {
        let answer = http(ws, &format!("GET {path} HTTP/1.1\r\nHost: pi:8097\r\n\r\n"));
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(lines[0], "HTTP/1.1 200 OK", "{head}");
        for want in [
            "Content-Type: text/html; charset=utf-8".to_string(),
            format!("Content-Length: {}", body.len()),
            format!("Content-Security-Policy: {}", webpage::CSP),
            "X-Content-Type-Options: nosniff".to_string(),
        ] {
            assert!(lines.contains(&want.as_str()), "{want} missing:\n{head}");
        }
        assert_eq!(body, webpage::PAGE);
        assert!(body.contains("<title>picoircd chat</title>"));
    }
}

/// `tests/js/webchat_test.js` in `node` (see `util::node`), driving a
/// headless Chromium. Killed when dropped (node's exit closes Chromium).
struct Browser(NodeScript);

impl Browser {
    /// Opens `url` as `nick` to join `channel`. Fails (does not skip)
    /// when Chromium, node or playwright-core is missing.
    fn start(url: &str, nick: &str, channel: &str, shot: &Path, stderr: PathBuf) -> Browser {
        Browser::start_with(url, nick, channel, shot, stderr, &[])
    }

    /// `start` with more webchat_test.js arguments.
    fn start_with(
        url: &str,
        nick: &str,
        channel: &str,
        shot: &Path,
        stderr: PathBuf,
        args: &[&str],
    ) -> Browser {
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing: install the apt package `chromium` \
             (scripts/test does this when run as root)"
        );
        node::require("playwright-core");
        let shot = shot.display().to_string();
        let all: Vec<String> = [
            "--url",
            url,
            "--nick",
            nick,
            "--channel",
            channel,
            "--screenshot",
            &shot,
            "--chromium",
            CHROMIUM,
            // Its own bound, past every expectation's; drop kills it last.
            "--timeout",
            "90",
        ]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect();
        Browser(NodeScript::start("webchat_test.js", &all, stderr))
    }

    /// One command line (see webchat_test.js).
    fn command(&mut self, line: &str) {
        self.0.command(line);
    }

    /// The `n`th (from 0) event named `name`, among those seen so far and
    /// those to come. Browser start-up is slow on a busy machine: twice
    /// `WAIT`. An `error` event fails at once.
    fn nth(&mut self, name: &str, n: usize) -> Value {
        let deadline = Instant::now() + WAIT * 2;
        loop {
            if let Some((e, _)) = self
                .0
                .seen
                .iter()
                .find(|(v, _)| text(v, "event") == "error")
            {
                panic!("webchat_test.js failed: {e:?}\n{}", self.log());
            }
            if let Some(v) = self.0.all(name).get(n) {
                return (*v).clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero() && self.0.read_one(left.min(Duration::from_millis(200))),
                "the browser never reported {name:?} #{n}\n{}",
                self.log()
            );
        }
    }

    /// The events named `name` seen so far.
    fn all(&self, name: &str) -> Vec<&Value> {
        self.0.all(name)
    }

    /// Runs `command`, which reports one `name` event, and returns it.
    fn ask(&mut self, command: &str, name: &str) -> Value {
        let n = self.all(name).len();
        self.command(command);
        self.nth(name, n)
    }

    /// Waits for the process to exit and reads every event it printed.
    fn finish(&mut self) -> std::process::ExitStatus {
        self.0.finish(WAIT * 2)
    }

    /// Everything it printed, for failure messages.
    fn log(&self) -> String {
        self.0.log()
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A PNG file of some size (its signature and an IHDR chunk first).
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 2000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    assert_eq!(&bytes[12..16], b"IHDR", "{}", path.display());
}

#[test]
fn the_page_in_chromium_joins_and_chats_with_a_tcp_client() {
    let (srv, ws) = start();
    let mut tcp = capped(&srv, "tcp", "message-tags server-time");
    tcp.send("JOIN #webchat");
    tcp.expect(" 366 tcp #webchat ");

    let shots = artefacts();
    let shot = shots.join("webchat.png");
    let phone = shots.join("webchat-390x720.png");
    for old in [&shot, &phone] {
        let _ = std::fs::remove_file(old);
    }
    let url = format!("http://{ws}/");
    let stderr = srv.dir.join("webchat.stderr");
    let mut web = Browser::start(&url, "webber", "#webchat", &shot, stderr);

    // Loaded, connected, registered with its capabilities, joined.
    let page = web.nth("page", 0);
    assert_eq!(page["status"].as_u64(), Some(200), "{}", web.log());
    assert_eq!(
        text(&page["headers"], "content-security-policy"),
        webpage::CSP
    );
    let joined = web.nth("joined", 0);
    assert_eq!(text(&joined, "nick"), "webber");
    assert_eq!(text(&joined, "target"), "#webchat (2)");
    assert_eq!(strings(&joined["members"]), ["@tcp", "webber"]);
    let (_, join) = split_tags(&tcp.expect_line(" JOIN #webchat"));
    assert!(join.starts_with(":webber!"), "{join}");
    web.nth("sent", 5);
    let sent: Vec<String> = web
        .all("sent")
        .iter()
        .map(|e| text(e, "data").to_string())
        .collect();
    assert_eq!(
        sent[..6],
        [
            "CAP LS 302",
            "NICK webber",
            "USER webber 0 * :picoircd web chat",
            "CAP REQ :server-time message-tags echo-message",
            "CAP END",
            "JOIN #webchat",
        ],
        "{}",
        web.log()
    );
    assert_eq!(text(web.all("websocket")[0], "url"), format!("ws://{ws}/"));

    // The browser says something; the TCP client gets it.
    web.command("say hello from the browser");
    let (tags, said) = split_tags(&tcp.expect_line(" PRIVMSG #webchat "));
    assert!(
        said.starts_with(":webber!") && said.ends_with(" PRIVMSG #webchat :hello from the browser"),
        "{said}"
    );
    let time = tag(&tags, "time").expect("a time tag").to_string();
    assert_time(&time);
    // Shown once, from its echo (echo-message), stamped with the server's
    // `time` (the browser runs in UTC).
    let echo = web.ask("wait_text hello from the browser", "shown");
    assert_eq!(
        text(&echo, "row"),
        format!("{} <webber> hello from the browser", &time[11..16])
    );

    // The TCP client says something, markup and formatting included: the
    // page shows it as text.
    tcp.send("PRIVMSG #webchat :<b>hi</b> & \x02bold\x02 <script>x()</script> from tcp");
    let shown = web.ask("wait_text from tcp", "shown");
    let row = text(&shown, "row");
    assert!(
        row.ends_with(" <tcp> <b>hi</b> & bold <script>x()</script> from tcp"),
        "{row}"
    );

    // Long text is cut into messages that fit a line, never mid-character.
    let long = "é".repeat(300) + " the end";
    web.command(&format!("say {long}"));
    let mut got = String::new();
    let mut messages = 0;
    while got.len() < long.len() && messages < 3 {
        let (_, m) = split_tags(&tcp.expect_line(" PRIVMSG #webchat :"));
        got += m.split_once(" PRIVMSG #webchat :").expect("a message").1;
        messages += 1;
    }
    assert_eq!((got, messages), (long, 2));

    // /me, and the member list following NICK, JOIN and QUIT.
    web.command("say /me waves");
    tcp.expect_line(" PRIVMSG #webchat :\x01ACTION waves\x01");
    tcp.send("NICK tcp2");
    web.ask("wait_member tcp2", "members");
    let mut late = srv.client("late");
    late.send("JOIN #webchat");
    tcp.expect_line(":late!");
    web.ask("wait_member late", "members");
    late.send("QUIT :gone");
    tcp.expect_line(" QUIT :Quit: gone");
    web.ask("wait_text late quit (Quit: gone)", "shown");
    let dump = web.ask("dump", "dump");
    assert_eq!(strings(&dump["members"]), ["@tcp2", "webber"], "{dump:?}");
    assert_eq!(text(&dump, "target"), "#webchat (2)");
    let rows = strings(&dump["rows"]);
    let count = |end: &str| rows.iter().filter(|r| r.ends_with(end)).count();
    assert_eq!(count(" <webber> hello from the browser"), 1, "{rows:?}");
    assert_eq!(count(" from tcp"), 1, "{rows:?}");
    assert_eq!(count(" * webber waves"), 1, "{rows:?}");
    assert_eq!(count(" tcp is now known as tcp2"), 1, "{rows:?}");

    // A dropped connection (the server closes it after a QUIT the page
    // did not ask for) comes back by itself and joins again.
    web.command("say /raw QUIT :dropped");
    let (_, quit) = split_tags(&tcp.expect_line(" QUIT :Quit: dropped"));
    assert!(quit.starts_with(":webber!"), "{quit}");
    let (_, rejoin) = split_tags(&tcp.expect_line(" JOIN #webchat"));
    assert!(rejoin.starts_with(":webber!"), "{rejoin}");
    let joined = web.ask("wait_joined", "joined");
    assert_eq!(strings(&joined["members"]), ["@tcp2", "webber"]);
    tcp.send("PRIVMSG #webchat :welcome back");
    web.ask("wait_text <tcp2> welcome back", "shown");
    // The welcome burst is shown once, not again on the reconnection.
    let rows = strings(&web.ask("dump", "dump")["rows"]);
    let welcome = rows
        .iter()
        .filter(|r| r.contains(" Welcome to the PicoNet IRC Network"));
    assert_eq!(welcome.count(), 1, "{rows:?}");
    assert_eq!(
        rows.iter().filter(|r| r.ends_with(" Disconnected")).count(),
        1
    );

    // Screenshots: the desktop one, then a phone-sized one.
    let s = web.ask("screenshot", "screenshot");
    assert_eq!(Path::new(text(&s, "path")), shot);
    assert_png(&shot);
    web.ask("screenshot 390x720", "screenshot");
    assert_png(&phone);

    // /quit: the server relays it, and the page does not come back.
    web.command("quit see you");
    let (_, quit) = split_tags(&tcp.expect_line(" QUIT :Quit: see you"));
    assert!(quit.starts_with(":webber!"), "{quit}");
    let closed = web.nth("closed", 0);
    assert_eq!(text(&closed, "status"), "disconnected", "{}", web.log());
    assert_eq!(text(&closed, "button"), "Connect");
    assert!(web.finish().success(), "{}", web.log());
    assert_eq!(web.all("joined").len(), 2, "{}", web.log());

    // Nothing went wrong in the page, every frame was text, and it made
    // no request but the page and its WebSockets.
    for bad in ["page_error", "error", "bad_command"] {
        assert!(web.all(bad).is_empty(), "{}", web.log());
    }
    let console: Vec<&Value> = web
        .all("console")
        .into_iter()
        .filter(|e| matches!(text(e, "type"), "error" | "warning"))
        .collect();
    assert!(console.is_empty(), "{console:?}");
    for e in web.all("sent").iter().chain(web.all("received").iter()) {
        assert_eq!(e["binary"].as_bool(), Some(false), "{e:?}");
    }
    let requests = web.all("request");
    assert_eq!(requests.len(), 1, "{}", web.log());
    assert_eq!(text(requests[0], "url"), url);
    assert_eq!(text(requests[0], "type"), "document");
    let sockets = web.all("websocket");
    assert_eq!(sockets.len(), 2, "{}", web.log());
    assert!(sockets
        .iter()
        .all(|e| text(e, "url") == format!("ws://{ws}/")));

    // The server saw the same: one page served, nothing else asked for
    // (no favicon). The POST marks the end of what is to be read.
    http(ws, "POST /end HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut served = 0;
    loop {
        let line = srv.expect_new_log("websocket");
        assert!(!line.contains("HTTP 404"), "{line}");
        served += usize::from(line.contains("served the web page"));
        if line.contains("HTTP 405") {
            break;
        }
    }
    assert_eq!(served, 1);
}

/// On a TLS WebSocket listener the page is `https://` and connects back
/// with `wss://` (the test's self-signed certificate is accepted).
#[test]
fn the_page_over_tls_connects_with_wss() {
    let certs = util::temp_dir("webchat", "certs");
    let made = rcgen::generate_simple_self_signed(vec!["pico.test".into()]).expect("rcgen");
    let (cert, key) = (certs.join("c.pem"), certs.join("k.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (srv, ws) = start_with(&format!(
        "tls = {{ cert = \"{}\", key = \"{}\" }}\n",
        cert.display(),
        key.display()
    ));
    let mut tcp = srv.client("tcp");
    tcp.send("JOIN #tls");
    tcp.expect(" 366 tcp #tls ");

    let shot = artefacts().join("webchat-tls.png");
    let _ = std::fs::remove_file(&shot);
    let url = format!("https://{ws}/");
    let stderr = srv.dir.join("webchat-tls.stderr");
    let args = ["--insecure", "yes"];
    let mut web = Browser::start_with(&url, "secure", "#tls", &shot, stderr, &args);
    assert_eq!(web.nth("page", 0)["status"].as_u64(), Some(200));
    let joined = web.nth("joined", 0);
    assert_eq!(strings(&joined["members"]), ["@tcp", "secure"]);
    tcp.expect_line(":secure!");
    web.command("say hello over tls");
    let said = tcp.expect_line(" PRIVMSG #tls ");
    assert!(
        said.starts_with(":secure!") && said.ends_with(" :hello over tls"),
        "{said}"
    );
    tcp.send("PRIVMSG #tls :and back");
    web.ask("wait_text <tcp> and back", "shown");
    web.ask("screenshot", "screenshot");
    assert_png(&shot);
    web.command("quit done");
    tcp.expect_line(" QUIT :Quit: done");
    assert!(web.finish().success(), "{}", web.log());
    let sockets = web.all("websocket");
    assert_eq!(sockets.len(), 1, "{}", web.log());
    assert_eq!(text(sockets[0], "url"), format!("wss://{ws}/"));
    assert_eq!(web.all("request").len(), 1, "{}", web.log());
}
