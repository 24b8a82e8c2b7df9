//! The server under a service manager, with systemd's own wire protocols
//! and tools: the notify protocol (READY, RELOADING, STOPPING, WATCHDOG)
//! received on a real unix datagram socket, socket activation through
//! `systemd-socket-activate` (from the systemd package), `$STATE_DIRECTORY`
//! for written files, and journal-style logging when `$JOURNAL_STREAM`
//! names stderr.

mod util;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{base_config, temp_dir, Launch, TestServer, WAIT};

/// A notify socket the test listens on, like systemd's.
struct NotifySocket {
    socket: UnixDatagram,
    path: String,
    _dir: util::TempDir,
}

impl NotifySocket {
    fn new() -> NotifySocket {
        let dir = temp_dir("notify", "sock");
        let path = dir.join("notify");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket.set_read_timeout(Some(WAIT)).unwrap();
        NotifySocket {
            socket,
            path: path.to_str().unwrap().to_string(),
            _dir: dir,
        }
    }

    /// The next datagram, as text.
    fn next(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self
            .socket
            .recv(&mut buf)
            .expect("a notify datagram within the wait");
        String::from_utf8(buf[..n].to_vec()).expect("UTF-8 datagram")
    }

    /// The next datagram that is not a WATCHDOG=1.
    fn next_state(&self) -> String {
        loop {
            let d = self.next();
            if d != "WATCHDOG=1" {
                return d;
            }
        }
    }

    fn env(&self) -> (String, String) {
        ("NOTIFY_SOCKET".to_string(), self.path.clone())
    }
}

fn launch_env(env: Vec<(String, String)>) -> Launch {
    Launch {
        env,
        ..Launch::default()
    }
}

fn has_line(datagram: &str, line: &str) -> bool {
    datagram.lines().any(|l| l == line)
}

#[test]
fn notify_ready_reloading_stopping() {
    let notify = NotifySocket::new();
    let mut srv = TestServer::launch(&base_config(), launch_env(vec![notify.env()]));
    let ready = notify.next_state();
    assert!(has_line(&ready, "READY=1"), "{ready:?}");
    assert!(
        ready.contains(&format!("STATUS=Listening on {}", srv.addr)),
        "{ready:?}"
    );
    // READY=1 comes once the listeners are bound: a client gets in.
    let mut c = srv.client("early");

    srv.signal("HUP");
    let reloading = notify.next_state();
    assert!(has_line(&reloading, "RELOADING=1"), "{reloading:?}");
    let ready = notify.next_state();
    assert!(has_line(&ready, "READY=1"), "{ready:?}");
    srv.expect_log("configuration reloaded");

    // A bad config is refused, and the server is ready again all the same.
    let good = std::fs::read_to_string(&srv.conf).unwrap();
    std::fs::write(&srv.conf, format!("{good}\nbogus-key = 1\n")).unwrap();
    srv.signal("HUP");
    assert!(has_line(&notify.next_state(), "RELOADING=1"));
    assert!(has_line(&notify.next_state(), "READY=1"));
    srv.expect_log("rehash failed");
    c.sync();

    srv.signal("TERM");
    let stopping = notify.next_state();
    assert!(has_line(&stopping, "STOPPING=1"), "{stopping:?}");
    assert_eq!(c.expect_line("ERROR"), "ERROR :Server shutting down");
    assert_eq!(srv.wait_exit(), Some(0));
}

#[test]
fn notify_on_an_abstract_socket() {
    let name = format!("picoircd-test-{}", std::process::id());
    let addr = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap()
    };
    let socket = UnixDatagram::bind_addr(&addr).expect("bind an abstract socket");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let _srv = TestServer::launch(
        &base_config(),
        launch_env(vec![("NOTIFY_SOCKET".into(), format!("@{name}"))]),
    );
    let mut buf = [0u8; 512];
    let n = socket
        .recv(&mut buf)
        .expect("READY=1 on the abstract socket");
    assert!(has_line(std::str::from_utf8(&buf[..n]).unwrap(), "READY=1"));
}

/// A server told to feed a 200 ms watchdog (WATCHDOG=1 due every 100 ms),
/// for process `pid` when given; returns once it said READY=1.
fn with_watchdog(notify: &NotifySocket, pid: Option<&str>) -> TestServer {
    let mut env = vec![notify.env(), ("WATCHDOG_USEC".into(), "200000".into())];
    if let Some(pid) = pid {
        env.push(("WATCHDOG_PID".into(), pid.into()));
    }
    let srv = TestServer::launch(&base_config(), launch_env(env));
    assert!(has_line(&notify.next_state(), "READY=1"));
    srv
}

#[test]
fn watchdog_is_fed_from_the_loop() {
    let notify = NotifySocket::new();
    let srv = with_watchdog(&notify, None);
    let start = Instant::now();
    let mut pings = 0;
    while pings < 5 {
        assert_eq!(notify.next(), "WATCHDOG=1");
        pings += 1;
    }
    // Five pings at 100 ms intervals: not a busy loop (bounded from below
    // only; a slow machine may take longer).
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    srv.expect_log("watchdog on");
    // The loop still serves clients while feeding the watchdog.
    let mut c = srv.client("fed");
    c.send("PING :x");
    c.expect("PONG");
}

#[test]
fn watchdog_of_another_process_is_ignored() {
    let notify = NotifySocket::new();
    let srv = with_watchdog(&notify, Some("1"));
    notify
        .socket
        .set_read_timeout(Some(Duration::from_millis(600)))
        .unwrap();
    let mut buf = [0u8; 64];
    let got = notify.socket.recv(&mut buf);
    assert!(
        got.is_err(),
        "unexpected datagram {:?}",
        got.map(|n| buf[..n].to_vec())
    );
    drop(srv);
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config_listening_on(port: u16) -> String {
    base_config().replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))
}

/// `systemd-socket-activate` starts the program at the first connection:
/// this connects (retrying until the socket is there) from a thread, and
/// the connection is then the server's first client.
fn first_connection(port: u16) -> std::thread::JoinHandle<util::Client> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                drop(s);
                break;
            }
            assert!(Instant::now() < deadline, "nothing listens on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // That probe started the server; now a real client.
        util::Client::connect(format!("127.0.0.1:{port}").parse().unwrap())
    })
}

fn socket_activate(args: &[String]) -> Launch {
    let mut wrapper = vec!["systemd-socket-activate".to_string()];
    wrapper.extend_from_slice(args);
    Launch {
        wrapper,
        ..Launch::default()
    }
}

#[test]
fn socket_activation_uses_the_passed_socket_for_its_listen_entry() {
    let port = free_port();
    let first = first_connection(port);
    let srv = TestServer::launch(
        &config_listening_on(port),
        socket_activate(&["-l".into(), format!("127.0.0.1:{port}")]),
    );
    assert_eq!(srv.addr.port(), port);
    // The connection that started the server is served like any other.
    first.join().unwrap().register("first");
    srv.expect_log(&format!(
        "using the socket 127.0.0.1:{port} passed by systemd (descriptor 3)"
    ));
    let mut a = srv.client("alice");
    let mut b = srv.client("bob");
    a.send("PRIVMSG bob :over a socket systemd opened");
    b.expect(":alice!");
    a.sync();
}

#[test]
fn socket_activation_serves_a_passed_socket_with_no_listen_entry() {
    let (configured, passed) = (free_port(), free_port());
    let first = first_connection(passed);
    let srv = TestServer::launch(
        &config_listening_on(configured),
        socket_activate(&["-l".into(), format!("127.0.0.1:{passed}")]),
    );
    // The config's own listener is bound as usual ...
    assert_eq!(srv.addr.port(), configured);
    srv.expect_log(&format!(
        "the socket 127.0.0.1:{passed} from systemd matches no [[listen]] entry"
    ));
    // ... and the passed one is served too.
    first.join().unwrap().register("extra");
}

#[test]
fn socket_activation_refuses_a_datagram_socket() {
    let port = free_port();
    let dir = temp_dir("activation", "udp");
    std::fs::write(dir.join("ircd.motd"), "x").unwrap();
    std::fs::write(dir.join("ircd.conf"), config_listening_on(port)).unwrap();
    let log_path = dir.join("stderr.log");
    let mut child = Command::new("systemd-socket-activate")
        .args(["--datagram", "-l", &format!("127.0.0.1:{port}")])
        .arg(env!("CARGO_BIN_EXE_picoircd"))
        .args(["run", "--conf"])
        .arg(dir.join("ircd.conf"))
        .stdin(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("systemd-socket-activate");
    // The program starts at the first datagram.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + WAIT;
    let status = loop {
        let _ = udp.send_to(b"hello", ("127.0.0.1", port));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not refuse the datagram socket");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    let err = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        err.contains("socket activation: descriptor 3 is not a TCP socket"),
        "{err}"
    );
}

/// A config whose cloak key comes from the default `secret-file`.
fn config_with_key_file() -> String {
    base_config().replace("secret = \"test-secret\"", "")
}

#[test]
fn state_directory_holds_written_files() {
    let state = temp_dir("state", "dir");
    let srv = TestServer::launch(
        &config_with_key_file(),
        launch_env(vec![(
            "STATE_DIRECTORY".into(),
            format!("{}:/nonexistent/second", state.display()),
        )]),
    );
    srv.client("cloaked").sync();
    let key = state.join("cloak.key");
    assert!(key.exists(), "no cloak key in the state folder");
    assert_eq!(
        std::fs::metadata(&key).unwrap().mode() & 0o777,
        0o600,
        "the key file's mode"
    );
    assert!(
        !srv.dir.join("cloak.key").exists(),
        "the key went beside the config"
    );
}

#[test]
fn without_state_directory_files_go_beside_the_config() {
    let srv = TestServer::launch(
        &config_with_key_file(),
        Launch {
            env_remove: vec!["STATE_DIRECTORY".into()],
            ..Launch::default()
        },
    );
    srv.client("plain").sync();
    assert!(srv.dir.join("cloak.key").exists());
}

/// Starts the server with stderr to `log` and `JOURNAL_STREAM` set to
/// `journal_stream`, waits for it to listen, stops it, returns the log.
fn log_with_journal_stream(
    dir: &Path,
    journal_stream: impl Fn(&std::fs::File) -> String,
) -> String {
    std::fs::write(dir.join("ircd.motd"), "x").unwrap();
    std::fs::write(dir.join("ircd.conf"), base_config()).unwrap();
    let log_path = dir.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let stream = journal_stream(&log);
    let mut child = Command::new(env!("CARGO_BIN_EXE_picoircd"))
        .args(["run", "--conf"])
        .arg(dir.join("ircd.conf"))
        .env("JOURNAL_STREAM", stream)
        .stdin(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        if text.contains("server running") {
            break text;
        }
        assert!(Instant::now() < deadline, "no start-up log: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[test]
fn journal_logging_has_priorities_and_no_timestamps() {
    let dir = temp_dir("journal", "match");
    let text = log_with_journal_stream(&dir, |file| {
        let m = file.metadata().unwrap();
        format!("{}:{}", m.dev(), m.ino())
    });
    for line in text.lines() {
        assert!(line.starts_with("<6>info  : "), "{line:?}");
    }
    assert!(text.contains("<6>info  : listeners  : now listening on 127.0.0.1:"));
}

#[test]
fn a_journal_stream_that_is_not_stderr_keeps_timestamps() {
    let dir = temp_dir("journal", "other");
    // Inherited from a parent whose stderr was the journal; ours is a file.
    let text = log_with_journal_stream(&dir, |_| "1:1".to_string());
    for line in text.lines() {
        assert!(!line.starts_with('<'), "{line:?}");
        assert!(
            line.starts_with("20") && line.contains("Z : info  : "),
            "{line:?}"
        );
    }
}
