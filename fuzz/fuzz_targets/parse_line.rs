//! Fuzzes the client input path: framing (`line::next_line`), telnet
//! stripping, `line::check`, `Message::parse`, and then the serializer
//! (`write::message`) by round-tripping every parsed message.
//!
//! Always asserted, for every message that parses:
//! - the accessors do not panic, and `tag(k)` is the last value of `k`;
//! - `write::message` writes exactly one UTF-8 line: it ends in CR LF and
//!   holds no other CR, LF or NUL, and its body is at most 510 bytes.
//!
//! Asserted for every written body under 507 bytes: parsing the written
//! line gives back the atoms (tags in order with unescaped values, source,
//! verb, params), exactly as parsed except in two cases where the input
//! cannot be written as it is, and the serializer's rewrite is asserted
//! instead:
//! - a raw CR inside the line outside a tag value (`check` lets a lone CR
//!   through): it becomes `_` in the source, the verb, a tag key or a
//!   middle parameter, and a space in the last parameter (which then gets
//!   its `:`). In a tag value it is escaped as `\r` and comes back as is;
//! - a verb starting with `@` or `:`, which the parser yields only after a
//!   tag section or a source (`@ @x`, `:s :x`). Written first on a line it
//!   would be read as tags or a source, so its first byte becomes `_`.
//!
//! Not asserted when the written body is 507 bytes or more: it may have
//! been cut at 510 bytes (stepping back at most 3 bytes to a UTF-8
//! boundary). The body can grow by one byte, the `:` that the 15th
//! parameter gains when it holds a space.
//!
//! Middle parameters need no other rewrite: the parser never yields one
//! that is empty, holds a space or starts with `:`, which are the cases
//! where `write::message` must change a middle parameter.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picoircd::proto::message::unescape_tag_value;
use picoircd::proto::{line, write, Message};

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    while let Some((raw, used)) = line::next_line(buf) {
        one_line(raw);
        buf = &buf[used..];
    }
    // What is left has no LF: the connection would keep it as a partial
    // line, but it must not upset the checks or the parser either.
    one_line(buf);
});

fn one_line(raw: &[u8]) {
    assert!(!raw.contains(&b'\n'));
    let clean = line::strip_telnet(raw);
    let text = match line::check(&clean) {
        Ok(text) => text,
        Err(_) => {
            let _ = line::command_of(&clean);
            return;
        }
    };
    let Ok(msg) = Message::parse(text) else {
        return;
    };
    round_trip(&msg);
}

/// The tags of `m` in wire order with unescaped values.
fn tag_list<'a>(m: &Message<'a>) -> Vec<(&'a str, String)> {
    m.tags()
        .map(|(k, raw)| {
            let mut v = String::new();
            unescape_tag_value(raw, &mut v);
            (k, v)
        })
        .collect()
}

fn round_trip(m: &Message<'_>) {
    assert!(!m.command.is_empty());
    assert!(m.params.len() <= 15);
    for i in 0..17 {
        let _ = m.param(i);
    }
    let tags = tag_list(m);
    for (k, _) in m.tags() {
        assert!(!k.is_empty());
        let last = m.tags().filter(|(k2, _)| *k2 == k).map(|(_, v)| v).last();
        assert_eq!(m.tag(k), last);
    }

    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut out = Vec::new();
    write::message(&mut out, &pairs, m.source, m.command, &m.params);

    let text = std::str::from_utf8(&out).expect("serializer wrote invalid UTF-8");
    let line = text
        .strip_suffix("\r\n")
        .expect("serializer did not end the line");
    assert!(
        !line.contains(['\r', '\n', '\0']),
        "serializer wrote a forbidden byte: {line:?}"
    );
    // A tag section is written exactly when there is a tag (the parser
    // yields no empty keys), and it ends at the first space.
    let body = if tags.is_empty() {
        assert!(!line.starts_with('@'), "no tags, yet {line:?}");
        line
    } else {
        let end = line.find(' ').expect("tag section ends in a space");
        assert!(line.starts_with('@'));
        &line[end + 1..]
    };
    assert!(!body.starts_with(['@', ' ']), "body {body:?}");
    if m.source.is_none() {
        assert!(!body.starts_with(':'), "body {body:?}");
    }
    assert!(body.len() <= 510, "body of {} bytes", body.len());

    if body.len() >= 507 {
        return;
    }

    // What the serializer must have made of `m` (see the header).
    let atom = |s: &str| s.replace('\r', "_");
    let want_tags: Vec<(String, String)> = tags.iter().map(|(k, v)| (atom(k), v.clone())).collect();
    let want_source = m.source.map(atom);
    let mut want_verb = atom(m.command);
    if want_verb.starts_with(['@', ':']) {
        want_verb.replace_range(..1, "_");
    }
    let mut want_params: Vec<String> = m.params.iter().map(|p| atom(p)).collect();
    if let (Some(last), Some(raw)) = (want_params.last_mut(), m.params.last()) {
        *last = raw.replace('\r', " ");
    }

    let again = Message::parse(line)
        .unwrap_or_else(|e| panic!("{m:?} wrote {line:?}, which does not parse: {e:?}"));
    let got_tags: Vec<(String, String)> = tag_list(&again)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(got_tags, want_tags, "tags of {m:?} via {line:?}");
    assert_eq!(
        again.source.map(str::to_string),
        want_source,
        "source of {m:?} via {line:?}"
    );
    assert_eq!(again.command, want_verb, "verb of {m:?} via {line:?}");
    assert_eq!(
        again.params.as_slice(),
        want_params.as_slice(),
        "params of {m:?} via {line:?}"
    );
}
