//! The IRCv3 WebSocket transport end to end (issue #6): the real binary
//! with `ws://` and `wss://` listeners; a real WebSocket client (Node's
//! `ws`, the library Node clients such as irc-framework use:
//! `tests/js/ws_probe.js`) asking for each subprotocol; raw TCP for the
//! malformed upgrades and frames a browser would never send, and for
//! `X-Forwarded-For`. (irc-framework over WebSocket, as Kiwi IRC uses it,
//! is in `tests/real_client.rs`.)

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use util::node::{event, ws_probe as probe};
use util::{base_config, http, TestServer, WAIT};

/// A server with a `ws://` listener (first), a plaintext one and a
/// `wss://` one; `extra` is appended to the config.
struct WsServer {
    srv: TestServer,
    ws: SocketAddr,
    plain: SocketAddr,
    wss: SocketAddr,
    _certs: util::TempDir,
}

fn listen_addr(line: &str) -> SocketAddr {
    line.split("now listening on ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .expect("address")
        .parse()
        .expect("address")
}

impl WsServer {
    fn start(extra: &str) -> WsServer {
        WsServer::start_with("", extra)
    }

    /// `server_keys` go into `[server]`, `extra` at the end.
    fn start_with(server_keys: &str, extra: &str) -> WsServer {
        let certs = util::temp_dir("ws", "certs");
        let made = rcgen::generate_simple_self_signed(vec!["pico.test".into()]).expect("rcgen");
        let (cert, key) = (certs.join("c.pem"), certs.join("k.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let listen = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
        let conf = base_config().replacen(
            listen,
            &format!(
                "[[listen]]\naddress = \"127.0.0.1:0\"\nwebsocket = true\n\n{listen}\n\
                 [[listen]]\naddress = \"127.0.0.1:0\"\nwebsocket = true\n\
                 tls = {{ cert = \"{}\", key = \"{}\" }}\n",
                cert.display(),
                key.display()
            ),
            1,
        ) + extra;
        let conf = conf.replacen("[server]\n", &format!("[server]\n{server_keys}"), 1);
        let srv = TestServer::with_config(&conf);
        assert!(srv.startup.last().unwrap().contains("(WebSocket)"));
        let plain = listen_addr(&srv.expect_new_log("now listening on "));
        let wss_line = srv.expect_new_log("now listening on ");
        assert!(wss_line.contains("TLS, certificate") && wss_line.contains("WebSocket"));
        WsServer {
            ws: srv.addr,
            plain,
            wss: listen_addr(&wss_line),
            srv,
            _certs: certs,
        }
    }
}

/// A registration over WebSocket with `proto`: the frames' type, the
/// chosen subprotocol, whole lines without CR LF, and a clean close.
fn session(url: &str, proto: &str, nick: &str, binary: bool) {
    let events = probe(url, proto, nick, None);
    let open = event(&events, "open");
    assert_eq!(open.len(), 1, "{events:?}");
    let chosen = if proto == "none" { "" } else { proto };
    assert_eq!(open[0]["protocol"].as_str(), Some(chosen));
    let frames = event(&events, "frame");
    assert!(frames.len() > 10, "{events:?}");
    for f in &frames {
        assert_eq!(f["binary"].as_bool(), Some(binary), "{f:?}");
        let data = f["data"].as_str().expect("data");
        assert!(!data.contains('\r') && !data.contains('\n'), "{data:?}");
    }
    let text: Vec<&str> = frames.iter().filter_map(|f| f["data"].as_str()).collect();
    assert!(text.contains(
        &format!(":pico.test 001 {nick} :Welcome to the PicoNet IRC Network {nick}").as_str()
    ));
    assert!(
        text.contains(&":pico.test PONG pico.test :probe"),
        "{text:?}"
    );
    assert_eq!(text.last(), Some(&"ERROR :Quit: bye"), "{text:?}");
    let close = event(&events, "close");
    assert_eq!(close[0]["code"].as_u64(), Some(1000), "{events:?}");
}

#[test]
fn each_subprotocol_and_none_over_ws_and_wss() {
    let s = WsServer::start("");
    let ws = format!("ws://{}/", s.ws);
    session(&ws, "text.ircv3.net", "texter", false);
    session(&ws, "binary.ircv3.net", "binner", true);
    session(&ws, "none", "plainws", false);
    let wss = format!("wss://127.0.0.1:{}/", s.wss.port());
    session(&wss, "text.ircv3.net", "secure", false);
    // A TCP client saw none of it go wrong.
    let mut c = util::Client::connect(s.plain);
    c.register("tcp");
}

#[test]
fn origins_outside_the_allow_list_get_403() {
    let s = WsServer::start("\n[websocket]\nallowed-origins = [\"https://chat.example.org\"]\n");
    let url = format!("ws://{}/", s.ws);
    let refused = probe(&url, "text.ircv3.net", "evil", Some("https://evil.example"));
    assert_eq!(event(&refused, "http")[0]["status"].as_u64(), Some(403));
    let ok = probe(
        &url,
        "text.ircv3.net",
        "good",
        Some("https://chat.example.org"),
    );
    assert_eq!(event(&ok, "open").len(), 1, "{ok:?}");
    let line = s.srv.expect_new_log("HTTP 403");
    assert!(
        line.contains("websocket") && line.contains("127.0.0.1"),
        "{line}"
    );
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn upgrade(extra_headers: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\n{extra_headers}\r\n"
    )
}

#[test]
fn bad_upgrades_get_http_errors_and_the_page_a_200() {
    let s = WsServer::start("");
    let version = http(s.ws, &upgrade("Sec-WebSocket-Version: 8\r\n"));
    assert!(version.starts_with("HTTP/1.1 426 "), "{version}");
    assert!(version.contains("Sec-WebSocket-Version: 13"), "{version}");
    let key = http(
        s.ws,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(key.starts_with("HTTP/1.1 400 "), "{key}");
    let post = http(s.ws, "POST / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let missing = http(s.ws, "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
    let garbage = http(s.ws, "\x16\x03\x01garbage\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let page = http(s.ws, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains("Content-Type: text/html") && page.contains("<html"),
        "{page}"
    );
    // Nobody noticed.
    let mut c = util::Client::connect(s.plain);
    c.register("after");
}

/// A masked client frame (opcode, payload), as RFC 6455 requires.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65_536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A raw WebSocket connection past its upgrade.
fn raw_ws(addr: SocketAddr, extra_headers: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(upgrade(&format!("Sec-WebSocket-Version: 13\r\n{extra_headers}")).as_bytes())
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the 101");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    // RFC 6455's example key and its accept value.
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    s
}

/// Reads server frames (unmasked) until one holds `needle`; returns the
/// text frames read.
fn read_frames(s: &mut TcpStream, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h)
            .unwrap_or_else(|e| panic!("{e}: {seen:?}"));
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            len = u64::from_be_bytes(b);
        }
        assert_eq!(h[1] & 0x80, 0, "server frames are not masked");
        let mut payload = vec![0u8; len as usize];
        s.read_exact(&mut payload).unwrap();
        let text = String::from_utf8_lossy(&payload).into_owned();
        let opcode = h[0] & 0x0f;
        if opcode == 8 {
            let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            seen.push(format!("close {}", code.unwrap_or(0)));
        } else {
            seen.push(text);
        }
        if seen.last().is_some_and(|l| l.contains(needle)) {
            return seen;
        }
    }
}

#[test]
fn oversized_frames_and_fragment_storms_close_the_connection() {
    let s = WsServer::start("");
    // A frame header announcing far more than one line.
    let mut big = raw_ws(s.ws, "");
    let mut header = frame(1, b"");
    header[1] = 0x80 | 127;
    header.truncate(2);
    header.extend_from_slice(&1_000_000u64.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    big.write_all(&header).unwrap();
    assert_eq!(read_frames(&mut big, "close"), ["close 1009"]);
    // A storm of one-byte continuation fragments.
    let mut storm = raw_ws(s.ws, "");
    let mut bytes = frame(1, b"N");
    bytes[0] = 0x01; // text, not final
    for _ in 0..200 {
        let mut f = frame(0, b"x");
        f[0] = 0x00; // continuation, not final
        bytes.extend_from_slice(&f);
    }
    let _ = storm.write_all(&bytes);
    let got = read_frames(&mut storm, "close");
    assert!(got.last().unwrap().starts_with("close 10"), "{got:?}");
    // The server goes on.
    let mut c = util::Client::connect(s.plain);
    c.register("fine");
}

#[test]
fn x_forwarded_for_from_a_trusted_proxy_is_the_clients_address() {
    let s = WsServer::start("");
    // 127.0.0.1 is in the default trusted-proxies.
    let mut ws = raw_ws(s.ws, "X-Forwarded-For: 203.0.113.9, 127.0.0.1\r\n");
    ws.write_all(&frame(1, b"NICK fwd")).unwrap();
    ws.write_all(&frame(1, b"USER fwd 0 * :fwd")).unwrap();
    read_frames(&mut ws, " 221 ");
    ws.write_all(&frame(1, b"WHOIS fwd")).unwrap();
    let whois = read_frames(&mut ws, " 318 ");
    let actual = whois.iter().find(|l| l.contains(" 338 ")).expect("338");
    assert!(
        actual.contains(" ~fwd@203.0.113.9 203.0.113.9 "),
        "{actual}"
    );
    // From an untrusted peer the header is ignored.
    let u = WsServer::start_with("trusted-proxies = []\n", "");
    let mut ws = raw_ws(u.ws, "X-Forwarded-For: 203.0.113.9\r\n");
    ws.write_all(&frame(1, b"NICK direct")).unwrap();
    ws.write_all(&frame(1, b"USER direct 0 * :d")).unwrap();
    ws.write_all(&frame(1, b"WHOIS direct")).unwrap();
    let whois = read_frames(&mut ws, " 318 ");
    let actual = whois.iter().find(|l| l.contains(" 338 ")).expect("338");
    assert!(actual.contains(" 127.0.0.1 "), "{actual}");
}
