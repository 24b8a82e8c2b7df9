//! Unix-socket listeners (issue #6): a `[[listen]]` whose address is a
//! path, for a local reverse proxy or a Tor hidden service; `tor = true`
//! shows its clients as `tor-network.onion`. The real binary, real
//! `AF_UNIX` clients.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use util::{base_config, TestServer, WAIT};

/// Registers `nick` over the unix socket at `path`, sends `then`, and
/// returns every line up to one holding `until`.
fn session(path: &std::path::Path, nick: &str, then: &str, until: &str) -> Vec<String> {
    let mut s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n{then}\r\n").unwrap();
    let mut lines = Vec::new();
    let mut r = BufReader::new(s);
    loop {
        let mut l = String::new();
        let n = r.read_line(&mut l).expect("a line");
        assert!(n > 0, "closed: {lines:#?}");
        let l = l.trim_end().to_string();
        let done = l.contains(until);
        lines.push(l);
        if done {
            return lines;
        }
    }
}

#[test]
fn unix_socket_listeners_serve_local_and_tor_clients() {
    let conf = format!(
        "{}\n[[listen]]\naddress = \"./irc.sock\"\n\n[[listen]]\naddress = \"./tor.sock\"\ntor = true\n",
        base_config()
    );
    let srv = TestServer::with_config(&conf);
    let local = srv.dir.join("irc.sock");
    let tor = srv.dir.join("tor.sock");
    let line = srv.expect_new_log("now listening on ");
    assert!(line.ends_with("irc.sock"), "{line}");
    let line = srv.expect_new_log("now listening on ");
    assert!(line.ends_with("tor.sock (Tor)"), "{line}");

    let got = session(&local, "sock", "WHOIS sock", " 318 ");
    assert!(got[0].starts_with(":pico.test 001 sock "), "{got:#?}");
    let actual = got.iter().find(|l| l.contains(" 338 ")).expect("338");
    assert!(actual.contains(" 127.0.0.1 "), "{actual}");

    let got = session(&tor, "onion", "WHOIS onion", " 318 ");
    let user = got.iter().find(|l| l.contains(" 311 ")).expect("311");
    assert!(
        user.contains(" onion ~onion tor-network.onion * "),
        "{user}"
    );
    // TCP clients see the Tor user by that host too.
    let mut tcp = srv.client("tcp");
    tcp.send("JOIN #mix");
    tcp.expect(" 366 ");
    let mut s = UnixStream::connect(&tor).expect("connect");
    write!(s, "NICK hidden\r\nUSER hidden 0 * :h\r\nJOIN #mix\r\n").unwrap();
    let join = tcp.expect_line(" JOIN #mix");
    assert!(
        join.starts_with(":hidden!~hidden@tor-network.onion JOIN"),
        "{join}"
    );
    drop(s);
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn a_stale_socket_file_is_replaced_and_another_file_is_not() {
    let dir = util::temp_dir("unix", "stale");
    // A socket file left behind by a server that did not stop cleanly.
    let stale = dir.join("old.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let conf = format!(
        "{}\n[[listen]]\naddress = \"{}\"\n",
        base_config(),
        stale.display()
    );
    let mut srv = TestServer::with_config(&conf);
    let got = session(&stale, "fresh", "PING :x", "PONG");
    assert!(got[0].contains(" 001 fresh "), "{got:#?}");
    srv.signal("TERM");
    assert_eq!(srv.wait_exit(), Some(0));
    assert!(!stale.exists(), "the socket file goes with the server");

    // A regular file at the path stops the start with a clear error.
    let file = dir.join("notasocket");
    std::fs::write(&file, "keep me").unwrap();
    let conf = format!(
        "{}\n[[listen]]\naddress = \"{}\"\n",
        base_config(),
        file.display()
    );
    let err = util::run_must_fail(&dir, &conf);
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}
