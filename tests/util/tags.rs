//! IRCv3 helpers shared by the capability tests: registering a raw client
//! with capabilities, and reading the tags of a line back. Values that
//! change per run (`time`, `msgid`) are checked for shape only.

use super::{Client, TestServer};

/// Registers `nick` after `CAP LS 302` and `CAP REQ :<caps>` (space
/// separated; empty: no CAP at all) and reads the burst up to 221. The
/// request must be ACKed whole.
pub fn capped(srv: &TestServer, nick: &str, caps: &str) -> Client {
    let mut c = srv.connect();
    if !caps.is_empty() {
        c.send("CAP LS 302");
        c.send(&format!("CAP REQ :{caps}"));
        // Past the LS lines (several: the list does not fit one).
        let ack = loop {
            let l = c.expect_line(" CAP ");
            if !l.contains(" LS ") {
                break l;
            }
        };
        assert!(
            ack.contains(" ACK ") && ack.ends_with(&format!(":{caps}")),
            "{ack}"
        );
        c.send("CAP END");
    }
    c.register(nick);
    c
}

/// The tags of a line as `(key, value)` pairs (values as sent), and the
/// rest of the line.
pub fn split_tags(line: &str) -> (Vec<(String, String)>, String) {
    let Some(rest) = line.strip_prefix('@') else {
        return (Vec::new(), line.to_string());
    };
    let (tags, body) = rest.split_once(' ').expect("a body after the tags");
    let tags = tags
        .split(';')
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (tags, body.to_string())
}

/// The value of tag `key`, if the line had it.
pub fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `2026-11-25T10:00:00.123Z`: RFC 3339, milliseconds, UTC.
pub fn assert_time(v: &str) {
    let b = v.as_bytes();
    assert_eq!(b.len(), 24, "{v}");
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-', "{v}"),
            10 => assert_eq!(*c, b'T', "{v}"),
            13 | 16 => assert_eq!(*c, b':', "{v}"),
            19 => assert_eq!(*c, b'.', "{v}"),
            23 => assert_eq!(*c, b'Z', "{v}"),
            _ => assert!(c.is_ascii_digit(), "{v}"),
        }
    }
}

/// A `msgid`: non-empty, letters and digits. Returns it.
pub fn assert_msgid(v: Option<&str>) -> String {
    let v = v.expect("a msgid");
    assert!(
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{v}"
    );
    v.to_string()
}
