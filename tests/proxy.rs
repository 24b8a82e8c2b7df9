//! PROXY protocol listeners end to end (issue #6): the real binary with a
//! `proxy = true` listener; raw TCP clients play the proxy (HAProxy's v1
//! text and v2 binary headers), and the client's address the server then
//! uses shows in WHOIS (338, to the user itself) and in per-IP limits.

mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use util::{base_config, Client, TestServer, WAIT};

/// A server whose first listener has `proxy = true`; `server_keys` go
/// into `[server]`, `limits` replace `per-ip = 0`.
fn start(server_keys: &str, per_ip: u32) -> (TestServer, SocketAddr) {
    let listen = "[[listen]]\naddress = \"127.0.0.1:0\"\n";
    let conf = base_config()
        .replacen(
            listen,
            &format!("[[listen]]\naddress = \"127.0.0.1:0\"\nproxy = true\n\n{listen}"),
            1,
        )
        .replacen("[server]\n", &format!("[server]\n{server_keys}"), 1)
        .replace("per-ip = 0", &format!("per-ip = {per_ip}"));
    let srv = TestServer::with_config(&conf);
    assert!(srv.startup.last().unwrap().ends_with("(PROXY protocol)"));
    let plain = srv
        .expect_new_log("now listening on ")
        .split("now listening on ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .expect("address")
        .parse()
        .expect("address");
    (srv, plain)
}

/// A client behind the proxy: the header, then registration.
fn proxied(srv: &TestServer, header: &[u8], nick: &str) -> Client {
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.write_all(header).expect("header");
    let mut c = Client::over(s);
    c.register(nick);
    c
}

/// The address WHOIS 338 shows a user for itself.
fn actual_ip(c: &mut Client) -> String {
    let nick = c.nick.clone();
    c.send(&format!("WHOIS {nick}"));
    let line = c.expect_line(" 338 ");
    line.split(' ').nth(5).expect("ip").to_string()
}

fn v2_tcp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x21); // version 2, PROXY
    h.push(0x21); // AF_INET6, STREAM
    h.extend_from_slice(&36u16.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h
}

#[test]
fn v1_and_v2_headers_give_the_clients_address() {
    let (srv, _) = start("", 0);
    let mut a = proxied(
        &srv,
        b"PROXY TCP4 198.51.100.4 127.0.0.1 40000 6667\r\n",
        "four",
    );
    assert_eq!(actual_ip(&mut a), "198.51.100.4");
    let src: std::net::Ipv6Addr = "2001:db8::7".parse().unwrap();
    let dst: std::net::Ipv6Addr = "::1".parse().unwrap();
    let mut b = proxied(
        &srv,
        &v2_tcp6(src.octets(), dst.octets(), 5555, 6667),
        "six",
    );
    assert_eq!(actual_ip(&mut b), "2001:db8::7");
    // UNKNOWN: the proxy's own address stays.
    let mut c = proxied(&srv, b"PROXY UNKNOWN\r\n", "unknown");
    assert_eq!(actual_ip(&mut c), "127.0.0.1");
}

#[test]
fn per_ip_limits_apply_to_the_proxied_address() {
    let (srv, _) = start("", 1);
    let _one = proxied(&srv, b"PROXY TCP4 198.51.100.1 127.0.0.1 1 6667\r\n", "one");
    let _two = proxied(&srv, b"PROXY TCP4 198.51.100.2 127.0.0.1 2 6667\r\n", "two");
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.write_all(b"PROXY TCP4 198.51.100.1 127.0.0.1 3 6667\r\n")
        .unwrap();
    let mut again = Client::over(s);
    assert_eq!(
        again.expect_line("ERROR"),
        "ERROR :Too many connections from your IP address"
    );
    assert!(again.closed());
}

#[test]
fn no_header_or_a_bad_one_is_closed_and_logged() {
    let (srv, plain) = start("", 0);
    for bytes in [
        &b"NICK nohdr\r\nUSER x 0 * :x\r\n"[..],
        &b"PROXY TCP4 300.1.1.1 127.0.0.1 1 2\r\n"[..],
    ] {
        let mut s = TcpStream::connect(srv.addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(bytes).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        assert!(!String::from_utf8_lossy(&out).contains(" 001 "));
    }
    let line = srv.expect_new_log("PROXY");
    assert!(
        line.contains("127.0.0.1") && line.ends_with("; closing"),
        "{line}"
    );
    let mut c = Client::connect(plain);
    c.register("fine");
}

#[test]
fn an_untrusted_peer_is_refused_before_anything_is_read() {
    let (srv, plain) = start("trusted-proxies = [\"10.0.0.0/8\"]\n", 0);
    let mut s = TcpStream::connect(srv.addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    let _ = s.write_all(b"PROXY TCP4 198.51.100.4 127.0.0.1 40000 6667\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(out.is_empty(), "{out:?}");
    let line = srv.expect_new_log("not a trusted proxy");
    assert!(line.contains("127.0.0.1"), "{line}");
    // Direct clients use the other listener.
    let mut c = Client::connect(plain);
    c.register("direct");
}
