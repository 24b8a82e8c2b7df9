//! The serializer: writes one IRC line into a byte buffer.
//!
//! `line` and `numeric` write server replies: middle parameters are written
//! as given and the trailing parameter always gets its `:`. `message` is
//! the general inverse of `Message::parse` (tags, source, verb, params, a
//! `:` on the last parameter only when needed). In all of them the body is
//! cut to 510 bytes (at a UTF-8 boundary) so a line never exceeds the
//! protocol limit, and CR, LF and NUL inside a parameter become spaces, so
//! no parameter can forge a second line.
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
    push_middles(out, middle);
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
    push_middles(out, middle);
    if let Some(t) = trailing {
        out.extend_from_slice(b" :");
        push_clean(out, t);
    }
    truncate_body(out, start);
    out.extend_from_slice(b"\r\n");
}

/// Appends a whole message `[@tags ][:source ]verb params…\r\n` to `out`:
/// the general serializer, and the inverse of `Message::parse`.
///
/// - `tags` are `(key, unescaped value)` pairs, written in the order given
///   and escaped; an empty value is written as the bare key (the IRCv3
///   "missing" form), and a pair with an empty key is skipped (no such tag
///   can be parsed). Bytes a key may not hold (`=`, `;`, space, CR, LF, NUL)
///   become `_`; a NUL in a value is dropped.
/// - `source` and `verb` have space, CR, LF and NUL replaced by `_`, so they
///   stay one atom each. A verb starting with `@` or `:` would be read back
///   as tags or a source, so that first byte becomes `_` too. The caller
///   passes a non-empty verb.
/// - Every parameter but the last is written like `line`'s middles (`*`
///   when empty, no leading `:`, `_` for space, CR, LF, NUL). Only the last
///   one gets a `:`, and only when it needs one: when it is empty, starts
///   with `:` or holds a space (or a CR, LF or NUL, which become spaces).
///   More than 15 parameters cannot be parsed back as given.
/// - The body (everything after the tag section) is cut to 510 bytes at a
///   UTF-8 boundary, like `line`; the tag section is not cut.
///
/// Like `line` and `numeric`, and unlike `tags`, it writes a complete wire
/// line: CR LF is appended, so the output is always exactly one line. The
/// ircdocs msg-join vectors and the round-trip tests strip that CR LF.
pub fn message(
    out: &mut Vec<u8>,
    tags: &[(&str, &str)],
    source: Option<&str>,
    verb: &str,
    params: &[&str],
) {
    let mut first = true;
    for (k, v) in tags.iter().filter(|(k, _)| !k.is_empty()) {
        out.push(if first { b'@' } else { b';' });
        first = false;
        out.extend(k.bytes().map(|b| match b {
            b'=' | b';' | b' ' | b'\r' | b'\n' | 0 => b'_',
            b => b,
        }));
        if !v.is_empty() {
            out.push(b'=');
            for part in v.split('\0') {
                crate::proto::message::escape_tag_value(part, out);
            }
        }
    }
    if !first {
        out.push(b' ');
    }
    let start = out.len();
    if let Some(src) = source {
        out.push(b':');
        push_atom(out, src);
        out.push(b' ');
    }
    if let Some(rest) = verb.strip_prefix(['@', ':']) {
        out.push(b'_');
        push_atom(out, rest);
    } else {
        push_atom(out, verb);
    }
    if let Some((last, middle)) = params.split_last() {
        push_middles(out, middle);
        out.push(b' ');
        let needs_colon = last.is_empty()
            || last.starts_with(':')
            || last.bytes().any(|b| matches!(b, b' ' | b'\r' | b'\n' | 0));
        if needs_colon {
            out.push(b':');
        }
        push_clean(out, last);
    }
    truncate_body(out, start);
    out.extend_from_slice(b"\r\n");
}

/// Writes one atom (source, verb): space, CR, LF and NUL become `_`.
fn push_atom(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().map(|b| match b {
        b'\r' | b'\n' | 0 | b' ' => b'_',
        b => b,
    }));
}

/// The longest prefix of `text` that fits `max` bytes without cutting a
/// UTF-8 character (TOPICLEN, AWAYLEN, KICKLEN…).
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Writes middle parameters, each after a space; an empty one becomes `*`.
fn push_middles(out: &mut Vec<u8>, middle: &[&str]) {
    for p in middle {
        out.push(b' ');
        if p.is_empty() {
            out.push(b'*');
        } else {
            push_middle(out, p);
        }
    }
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

/// Appends a tag section `@k=v;k2 ` from pairs whose values are already
/// in wire form (escaped, or needing no escapes: times, ids, labels as
/// the client sent them).
pub fn raw_tags(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    tag_section(out, pairs, |v, out| out.extend_from_slice(v.as_bytes()));
}

/// Appends `line` (one serialized line) to `out` with one more tag, put
/// first in its tag section; `value` is in wire form.
pub fn add_raw_tag(line: &[u8], key: &str, value: &str, out: &mut Vec<u8>) {
    out.push(b'@');
    out.extend_from_slice(key.as_bytes());
    if !value.is_empty() {
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
    match line.strip_prefix(b"@") {
        Some(rest) => {
            out.push(b';');
            out.extend_from_slice(rest);
        }
        None => {
            out.push(b' ');
            out.extend_from_slice(line);
        }
    }
}

/// Appends a tag section `@k=v;k2 `, escaping each value.
pub fn tags(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
    tag_section(out, pairs, crate::proto::message::escape_tag_value);
}

/// `@k=v;k2 ` with each non-empty value written by `value`.
fn tag_section(out: &mut Vec<u8>, pairs: &[(&str, &str)], value: impl Fn(&str, &mut Vec<u8>)) {
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
            value(v, out);
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

    fn msg(tags: &[(&str, &str)], source: Option<&str>, verb: &str, params: &[&str]) -> String {
        let mut out = Vec::new();
        message(&mut out, tags, source, verb, params);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn message_puts_a_colon_on_the_last_param_only_when_needed() {
        assert_eq!(msg(&[], None, "foo", &["bar", "baz"]), "foo bar baz\r\n");
        assert_eq!(msg(&[], Some("src"), "AWAY", &[]), ":src AWAY\r\n");
        assert_eq!(msg(&[], Some("src"), "AWAY", &[""]), ":src AWAY :\r\n");
        assert_eq!(msg(&[], None, "foo", &["a b"]), "foo :a b\r\n");
        assert_eq!(msg(&[], None, "foo", &[":x"]), "foo ::x\r\n");
        assert_eq!(msg(&[], None, "foo", &["  "]), "foo :  \r\n");
        assert_eq!(msg(&[], None, "foo", &["b\tar"]), "foo b\tar\r\n");
    }

    #[test]
    fn message_writes_tags_in_order_escaped() {
        let tags = [
            ("a", "b\\and\nk"),
            ("d", "gh;764"),
            ("k", ""),
            ("", "skipped"),
        ];
        assert_eq!(
            msg(&tags, Some("s"), "foo", &["p"]),
            "@a=b\\\\and\\nk;d=gh\\:764;k :s foo p\r\n"
        );
        assert_eq!(msg(&[("", "x")], None, "foo", &[]), "foo\r\n");
        // A NUL in a value is dropped; one in a key becomes `_`.
        assert_eq!(msg(&[("a\0", "b\0c")], None, "foo", &[]), "@a_=bc foo\r\n");
    }

    #[test]
    fn message_keeps_every_atom_in_place() {
        // Middle params cannot be empty, hold a space or start with `:`.
        assert_eq!(
            msg(&[], None, "foo", &["", "a b", ":c", "last"]),
            "foo * a_b c last\r\n"
        );
        // Source and verb stay one atom; CR/LF/NUL never reach the wire.
        assert_eq!(
            msg(&[("k\r", "v\r")], Some("a b\r"), "V\nX", &["m\r", "t\r"]),
            "@k_=v\\r :a_b_ V_X m_ :t \r\n"
        );
    }

    /// Fuzz regression (fuzz/fuzz_targets/parse_line.rs, input `@ @\r`):
    /// the parser yields the verb `@\r` after an empty tag section; written
    /// first on a line, a verb starting with `@` or `:` would be read back
    /// as tags or a source.
    #[test]
    fn message_never_starts_a_verb_with_at_or_colon() {
        let m = crate::proto::Message::parse("@ @\r").unwrap();
        assert_eq!((m.tags, m.command), (Some(""), "@\r"));
        let line = msg(&[], m.source, m.command, &m.params);
        assert_eq!(line, "__\r\n");
        assert_eq!(msg(&[], None, ":x", &["y"]), "_x y\r\n");
        assert_eq!(msg(&[("t", "")], Some("s"), "@x", &[]), "@t :s _x\r\n");
    }

    #[test]
    fn message_cuts_the_body_not_the_tags() {
        let long_tag = "v".repeat(600);
        let long = "é".repeat(400);
        let line = msg(&[("t", &long_tag)], Some("srv"), "NOTICE", &["n", &long]);
        let body = &line[line.find(' ').unwrap() + 1..line.len() - 2];
        assert!(
            line.starts_with(&format!("@t={long_tag} :srv NOTICE n éé")),
            "{line}"
        );
        assert!(body.len() <= BODY_MAX - 2 && body.len() >= BODY_MAX - 4);
        assert!(line.ends_with("é\r\n"));
    }

    #[test]
    fn message_round_trips_through_the_parser() {
        let line = "@a=b\\sc;d :n!u@h PRIVMSG #c :hi  there ";
        let m = crate::proto::Message::parse(line).unwrap();
        let mut tags = Vec::new();
        for (k, raw) in m.tags() {
            let mut v = String::new();
            crate::proto::message::unescape_tag_value(raw, &mut v);
            tags.push((k, v));
        }
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = msg(&pairs, m.source, m.command, &m.params);
        assert_eq!(out, format!("{line}\r\n"));
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
