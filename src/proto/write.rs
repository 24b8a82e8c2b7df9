//! The serializer: writes one IRC line into a byte buffer.
//!
//! Middle parameters are written as given; the trailing parameter always
//! gets its `:`. The body is cut to 510 bytes (at a UTF-8 boundary) so a
//! line never exceeds the protocol limit, and CR, LF and NUL inside a
//! parameter become spaces, so no parameter can forge a second line.
//! Imports only `limits` and `message` (tag escaping).

use crate::limits::BODY_MAX;

/// Appends `[:source ]command middle… [:trailing]\r\n` to `out`.
pub fn line(
    out: &mut Vec<u8>,
    source: Option<&str>,
    command: &str,
    middle: &[&str],
    trailing: Option<&str>,
) {
    let start = out.len();
    if let Some(src) = source {
        out.push(b':');
        push_clean(out, src);
        out.push(b' ');
    }
    push_clean(out, command);
    for p in middle {
        out.push(b' ');
        if p.is_empty() {
            out.push(b'*');
        } else {
            push_middle(out, p);
        }
    }
    if let Some(t) = trailing {
        out.extend_from_slice(b" :");
        push_clean(out, t);
    }
    truncate_body(out, start);
    out.extend_from_slice(b"\r\n");
}

/// Appends a numeric reply `:server NNN target middle… [:trailing]\r\n`.
pub fn numeric(
    out: &mut Vec<u8>,
    server: &str,
    num: u16,
    target: &str,
    middle: &[&str],
    trailing: Option<&str>,
) {
    let start = out.len();
    out.push(b':');
    push_clean(out, server);
    out.push(b' ');
    out.push(b'0' + (num / 100 % 10) as u8);
    out.push(b'0' + (num / 10 % 10) as u8);
    out.push(b'0' + (num % 10) as u8);
    out.push(b' ');
    push_middle(out, if target.is_empty() { "*" } else { target });
    for p in middle {
        out.push(b' ');
        if p.is_empty() {
            out.push(b'*');
        } else {
            push_middle(out, p);
        }
    }
    if let Some(t) = trailing {
        out.extend_from_slice(b" :");
        push_clean(out, t);
    }
    truncate_body(out, start);
    out.extend_from_slice(b"\r\n");
}

/// Writes text with CR, LF and NUL replaced by spaces.
fn push_clean(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.extend(s.bytes().map(|b| match b {
        b'\r' | b'\n' | 0 => b' ',
        b => b,
    }));
}

/// Writes a middle parameter: no spaces, no leading `:`.
fn push_middle(out: &mut Vec<u8>, s: &str) {
    let s = s.strip_prefix(':').unwrap_or(s);
    out.extend(s.bytes().map(|b| match b {
        b'\r' | b'\n' | 0 | b' ' => b'_',
        b => b,
    }));
}

/// Cuts what was written since `start` to the body limit at a char boundary.
fn truncate_body(out: &mut Vec<u8>, start: usize) {
    let max = BODY_MAX - 2;
    if out.len() - start <= max {
        return;
    }
    let mut end = start + max;
    // Step back over UTF-8 continuation bytes so the cut is on a boundary.
    while end > start && (out[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    out.truncate(end);
}

/// Appends a tag section `@k=v;k2 ` built from already-escaped pairs.
pub fn tags(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    if pairs.is_empty() {
        return;
    }
    out.push(b'@');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(k.as_bytes());
        if !v.is_empty() {
            out.push(b'=');
            crate::proto::message::escape_tag_value(v, out);
        }
    }
    out.push(b' ');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[u8]) -> &str {
        std::str::from_utf8(v).unwrap()
    }

    #[test]
    fn writes_lines_and_numerics() {
        let mut out = Vec::new();
        line(
            &mut out,
            Some("n!u@h"),
            "PRIVMSG",
            &["#c"],
            Some("hi there"),
        );
        assert_eq!(s(&out), ":n!u@h PRIVMSG #c :hi there\r\n");
        out.clear();
        line(&mut out, Some("n!u@h"), "JOIN", &["#c"], None);
        assert_eq!(s(&out), ":n!u@h JOIN #c\r\n");
        out.clear();
        numeric(&mut out, "pico.test", 1, "nick", &[], Some("Welcome"));
        assert_eq!(s(&out), ":pico.test 001 nick :Welcome\r\n");
    }

    #[test]
    fn never_forges_lines_or_exceeds_the_limit() {
        let mut out = Vec::new();
        line(&mut out, None, "NOTICE", &["a b"], Some("x\r\nQUIT"));
        assert_eq!(s(&out), "NOTICE a_b :x  QUIT\r\n");
        out.clear();
        let long = "é".repeat(400);
        line(&mut out, Some("srv"), "NOTICE", &["n"], Some(&long));
        assert!(out.len() <= BODY_MAX);
        assert!(std::str::from_utf8(&out).is_ok());
    }

    #[test]
    fn writes_tags() {
        let mut out = Vec::new();
        tags(
            &mut out,
            &[("time", "2020-01-01T00:00:00.000Z"), ("+x", "a b")],
        );
        assert_eq!(s(&out), "@time=2020-01-01T00:00:00.000Z;+x=a\\sb ");
    }
}
