//! labeled-response: the lines one labeled command produced for its
//! sender, held while the command runs and then sent with the label, as
//! the IRCv3 spec asks: nothing → `ACK`; one line → that line with the
//! `label` tag; more → a `labeled-response` batch whose opening line has
//! the label. Also the id helpers (`msgid`, batch references).
//!
//! Byte work only; `State` decides when to hold and finish. Imports
//! `proto::{write, message}`.

use crate::proto::{write, Message};

/// A labeled command's response being collected.
pub struct Capture {
    pub client: usize,
    /// The label as the client sent it (still tag-escaped).
    label: String,
    /// Complete lines, each ending in CR LF, with their own tags.
    lines: Vec<u8>,
}

impl Capture {
    pub fn new(client: usize, label: &str) -> Capture {
        Capture {
            client,
            label: label.to_owned(),
            lines: Vec::new(),
        }
    }

    /// The label, for a response that ends later (a draft/multiline
    /// batch answers at `BATCH -` for its labeled `BATCH +`).
    pub fn into_label(self) -> String {
        self.label
    }

    /// Holds one or more complete lines.
    pub fn hold(&mut self, lines: &[u8]) {
        self.lines.extend_from_slice(lines);
    }

    /// The labeled response. `time`: the `time` tag for the lines the
    /// server makes here (ACK, BATCH), when the client has server-time.
    /// Without `batch` a many-line response goes out unlabeled: the spec
    /// allows no batch to a client that did not ask for batches.
    pub fn finish(self, server: &str, time: Option<&str>, batch: bool, reference: &str) -> Vec<u8> {
        let count = self.lines.split_inclusive(|&b| b == b'\n').count();
        let mut out = Vec::with_capacity(self.lines.len() + 64);
        let server_line = |tags: &[(&str, &str)], middle: &[&str], out: &mut Vec<u8>| {
            let mut all: Vec<(&str, &str)> = time.map(|t| ("time", t)).into_iter().collect();
            all.extend_from_slice(tags);
            write::raw_tags(out, &all);
            write::line(out, Some(server), middle[0], &middle[1..], None);
        };
        match count {
            0 => server_line(&[("label", &self.label)], &["ACK"], &mut out),
            1 => write::add_raw_tag(&self.lines, "label", &self.label, &mut out),
            // A response that is one batch (an echoed draft/multiline
            // batch) is labeled on its opening line, as Ergo does.
            _ if is_one_batch(&self.lines) => {
                let first = self.lines.split_inclusive(|&b| b == b'\n').next();
                let first = first.unwrap_or_default();
                write::add_raw_tag(first, "label", &self.label, &mut out);
                out.extend_from_slice(&self.lines[first.len()..]);
            }
            _ if !batch => out = self.lines,
            _ => {
                let open = format!("+{reference}");
                server_line(
                    &[("label", &self.label)],
                    &["BATCH", &open, "labeled-response"],
                    &mut out,
                );
                for line in self.lines.split_inclusive(|&b| b == b'\n') {
                    // The lines inside a nested batch keep its tag alone.
                    if has_tag(line, "batch") {
                        out.extend_from_slice(line);
                    } else {
                        write::add_raw_tag(line, "batch", reference, &mut out);
                    }
                }
                let close = format!("-{reference}");
                server_line(&[], &["BATCH", &close], &mut out);
            }
        }
        out
    }
}

/// Do the lines start with `BATCH +ref` and end with `BATCH -ref`?
fn is_one_batch(lines: &[u8]) -> bool {
    let mut all = lines.split_inclusive(|&b| b == b'\n');
    let (Some(first), Some(last)) = (all.next(), all.next_back()) else {
        return false;
    };
    match (batch_reference(first, '+'), batch_reference(last, '-')) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The reference of a `BATCH <sign>ref …` line.
fn batch_reference(line: &[u8], sign: char) -> Option<&str> {
    let text = std::str::from_utf8(line)
        .ok()?
        .trim_end_matches(['\r', '\n']);
    let m = Message::parse(text).ok()?;
    if m.command != "BATCH" {
        return None;
    }
    m.param(0).strip_prefix(sign).filter(|r| !r.is_empty())
}

/// Does a serialized line carry tag `key`?
fn has_tag(line: &[u8], key: &str) -> bool {
    let Some(rest) = line.strip_prefix(b"@") else {
        return false;
    };
    let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    rest[..end]
        .split(|&b| b == b';')
        .any(|t| t.split(|&b| b == b'=').next() == Some(key.as_bytes()))
}

/// Does a relayed `command` get a `msgid` (message-tags)? The events the
/// IRCv3 issue names: messages and the channel and nick events.
pub fn has_msgid(command: &str) -> bool {
    matches!(
        command,
        "PRIVMSG"
            | "NOTICE"
            | "TAGMSG"
            | "JOIN"
            | "PART"
            | "QUIT"
            | "KICK"
            | "NICK"
            | "TOPIC"
            | "MODE"
            | "RENAME"
    )
}

/// Appends `n` in lower-case base32 (RFC 4648 alphabet), fixed width
/// (13 digits), so concatenated numbers stay unambiguous.
pub fn base32(n: u64, out: &mut String) {
    const DIGITS: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    for i in (0..13).rev() {
        out.push(DIGITS[((n >> (i * 5)) & 31) as usize] as char);
    }
}

/// Is a label acceptable? The spec bounds it at 64 bytes.
pub fn valid_label(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &[u8]) -> &str {
        std::str::from_utf8(v).unwrap()
    }

    #[test]
    fn nothing_becomes_an_ack() {
        let c = Capture::new(1, "l1");
        assert_eq!(
            text(&c.finish("srv", None, true, "r")),
            "@label=l1 :srv ACK\r\n"
        );
    }

    #[test]
    fn one_line_gets_the_label_among_its_tags() {
        let mut c = Capture::new(1, "l2");
        c.hold(b"@time=T :srv 001 a :hi\r\n");
        assert_eq!(
            text(&c.finish("srv", Some("T"), true, "r")),
            "@label=l2;time=T :srv 001 a :hi\r\n"
        );
        let mut c = Capture::new(1, "l3");
        c.hold(b":srv PONG srv :x\r\n");
        assert_eq!(
            text(&c.finish("srv", None, true, "r")),
            "@label=l3 :srv PONG srv :x\r\n"
        );
    }

    #[test]
    fn many_lines_are_batched_or_sent_bare_without_batch() {
        let mut c = Capture::new(1, "l4");
        c.hold(b":srv 311 a b u h * :r\r\n:srv 318 a b :End\r\n");
        assert_eq!(
            text(&c.finish("srv", Some("T"), true, "ref")),
            "@time=T;label=l4 :srv BATCH +ref labeled-response\r\n\
             @batch=ref :srv 311 a b u h * :r\r\n\
             @batch=ref :srv 318 a b :End\r\n\
             @time=T :srv BATCH -ref\r\n"
        );
        let mut c = Capture::new(1, "l5");
        c.hold(b":srv 311 a b u h * :r\r\n:srv 318 a b :End\r\n");
        assert_eq!(
            text(&c.finish("srv", None, false, "ref")),
            ":srv 311 a b u h * :r\r\n:srv 318 a b :End\r\n"
        );
    }

    #[test]
    fn a_response_that_is_one_batch_is_labeled_on_its_opening() {
        let batch = "@time=T :a!u@h BATCH +m draft/multiline #c\r\n\
                     @batch=m :a!u@h PRIVMSG #c :one\r\n\
                     :a!u@h BATCH -m\r\n";
        let mut c = Capture::new(1, "l6");
        c.hold(batch.as_bytes());
        assert_eq!(
            text(&c.finish("srv", Some("T"), true, "ref")),
            "@label=l6;time=T :a!u@h BATCH +m draft/multiline #c\r\n\
             @batch=m :a!u@h PRIVMSG #c :one\r\n\
             :a!u@h BATCH -m\r\n"
        );
        // With more after it, a labeled-response batch holds it nested:
        // its own lines keep their tag alone.
        let mut c = Capture::new(1, "l7");
        c.hold(batch.as_bytes());
        c.hold(b":srv 301 a b :away\r\n");
        assert_eq!(
            text(&c.finish("srv", None, true, "ref")),
            "@label=l7 :srv BATCH +ref labeled-response\r\n\
             @batch=ref;time=T :a!u@h BATCH +m draft/multiline #c\r\n\
             @batch=m :a!u@h PRIVMSG #c :one\r\n\
             @batch=ref :a!u@h BATCH -m\r\n\
             @batch=ref :srv 301 a b :away\r\n\
             :srv BATCH -ref\r\n"
        );
        // Two lines that are not one batch are not collapsed.
        assert!(!is_one_batch(b":a BATCH +m x\r\n:a BATCH -n\r\n"));
        assert!(is_one_batch(b":a BATCH +m x\r\n:a BATCH -m\r\n"));
        assert!(!is_one_batch(b":a BATCH +m x\r\n"));
    }

    #[test]
    fn ids_are_fixed_width_base32() {
        let mut s = String::new();
        base32(0, &mut s);
        base32(u64::MAX, &mut s);
        assert_eq!(s, "aaaaaaaaaaaaap777777777777");
        assert!(valid_label("abc") && !valid_label("") && !valid_label(&"x".repeat(65)));
    }
}
