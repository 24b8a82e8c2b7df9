//! `Message<'a>`: one IRC line parsed into views of the caller's buffer.
//!
//! The parser never allocates: tags, source, command and parameters are
//! `&str` slices of the line, and the parameter list is a fixed-capacity
//! `heapless::Vec`. Parsing follows Modern IRC: one or more spaces separate
//! atoms, a `:` starts the trailing parameter, and after 14 middle
//! parameters the rest of the line is the 15th. Tag values stay escaped
//! until asked for (`unescape_tag_value`). Imports only `limits`.

use crate::limits::MAX_PARAMS;

/// A parsed line. Every field borrows from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The raw tag section without the leading `@`, if any.
    pub tags: Option<&'a str>,
    /// The source without the leading `:`, if any.
    pub source: Option<&'a str>,
    /// The command or numeric, as sent (not case-folded).
    pub command: &'a str,
    /// The parameters, the trailing one last, without its `:`.
    pub params: heapless::Vec<&'a str, MAX_PARAMS>,
}

/// Why a line could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but spaces (or tags/source) and no command.
    Empty,
}

impl<'a> Message<'a> {
    /// Parses one line without its CR LF. A line of only spaces is `Empty`.
    pub fn parse(line: &'a str) -> Result<Message<'a>, ParseError> {
        let mut rest = line.trim_start_matches(' ');
        let mut tags = None;
        if let Some(after) = rest.strip_prefix('@') {
            let (t, r) = split_atom(after);
            tags = Some(t);
            rest = r;
        }
        let mut source = None;
        if let Some(after) = rest.strip_prefix(':') {
            let (s, r) = split_atom(after);
            source = Some(s);
            rest = r;
        }
        let (command, mut rest) = split_atom(rest);
        if command.is_empty() {
            return Err(ParseError::Empty);
        }
        let mut params = heapless::Vec::new();
        loop {
            if rest.is_empty() {
                break;
            }
            if params.len() == MAX_PARAMS - 1 {
                // The 15th parameter is the rest of the line, colon or not.
                let last = rest.strip_prefix(':').unwrap_or(rest);
                let _ = params.push(last);
                break;
            }
            if let Some(trailing) = rest.strip_prefix(':') {
                let _ = params.push(trailing);
                break;
            }
            let (p, r) = split_atom(rest);
            let _ = params.push(p);
            rest = r;
        }
        Ok(Message {
            tags,
            source,
            command,
            params,
        })
    }

    /// The parameter at `i`, or `""` when absent.
    pub fn param(&self, i: usize) -> &'a str {
        self.params.get(i).copied().unwrap_or("")
    }

    /// Iterates the tags as `(key, raw escaped value)` in wire order,
    /// repeats included; a tag without `=` has the value `""`. An entry with
    /// an empty key (`@;=x`) is skipped: IRCv3 tag names are never empty,
    /// and `write::message` could not write it back.
    pub fn tags(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.tags
            .unwrap_or("")
            .split(';')
            .map(|t| t.split_once('=').unwrap_or((t, "")))
            .filter(|(k, _)| !k.is_empty())
    }

    /// The raw value of tag `key`; the last one wins when a key repeats.
    pub fn tag(&self, key: &str) -> Option<&'a str> {
        self.tags()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .last()
    }
}

/// Splits off one atom, then skips the spaces after it.
fn split_atom(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

/// Appends the unescaped form of a tag value to `out` (IRCv3 message-tags:
/// `\:` `;`, `\s` space, `\\`, `\r`, `\n`; other escapes drop the backslash,
/// a lone trailing backslash is dropped).
pub fn unescape_tag_value(raw: &str, out: &mut String) {
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
}

/// Appends the escaped form of a tag value to `out` (inverse of `unescape_tag_value`).
pub fn escape_tag_value(value: &str, out: &mut Vec<u8>) {
    for b in value.bytes() {
        match b {
            b';' => out.extend_from_slice(b"\\:"),
            b' ' => out.extend_from_slice(b"\\s"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Splits a source `nick!user@host` into its parts (ircdocs userhost-split).
pub fn split_source(source: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, host) = match source.split_once('@') {
        Some((r, h)) => (r, Some(h)),
        None => (source, None),
    };
    let (nick, user) = match rest.split_once('!') {
        Some((n, u)) => (n, Some(u)),
        None => (rest, None),
    };
    (nick, user, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        let m = Message::parse("@a=b;c :nick!u@h PRIVMSG #chan :hello world").unwrap();
        assert_eq!(m.tags, Some("a=b;c"));
        assert_eq!(m.source, Some("nick!u@h"));
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params.as_slice(), ["#chan", "hello world"]);
        assert_eq!(m.tag("a"), Some("b"));
        assert_eq!(m.tag("c"), Some(""));
        assert_eq!(m.tag("d"), None);
    }

    #[test]
    fn empty_and_space_only_lines_are_errors() {
        assert_eq!(Message::parse(""), Err(ParseError::Empty));
        assert_eq!(Message::parse("    "), Err(ParseError::Empty));
        assert_eq!(Message::parse("@a=b "), Err(ParseError::Empty));
    }

    #[test]
    fn fifteenth_parameter_takes_the_rest() {
        let line = "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
        let m = Message::parse(line).unwrap();
        assert_eq!(m.params.len(), 15);
        assert_eq!(m.params[14], "15 16");
    }

    #[test]
    fn spaces_and_colons() {
        let m = Message::parse("  :src   CMD  a   b  :  c d ").unwrap();
        assert_eq!((m.source, m.command), (Some("src"), "CMD"));
        assert_eq!(m.params.as_slice(), ["a", "b", "  c d "]);
        let m = Message::parse(":src CMD a b ").unwrap();
        assert_eq!(m.params.as_slice(), ["a", "b"]);
        let m = Message::parse("CMD :").unwrap();
        assert_eq!(m.params.as_slice(), [""]);
        assert_eq!(m.param(0), "");
        assert_eq!(m.param(5), "");
        // A colon inside a middle parameter is literal.
        let m = Message::parse("CMD a:b :c").unwrap();
        assert_eq!(m.params.as_slice(), ["a:b", "c"]);
    }

    #[test]
    fn fifteenth_parameter_loses_one_leading_colon() {
        let m = Message::parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 ::x y").unwrap();
        assert_eq!(m.params[14], ":x y");
        let m = Message::parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14").unwrap();
        assert_eq!(m.params.len(), 14);
    }

    #[test]
    fn tag_sections() {
        let m = Message::parse("@a=1;;b=2;a=3;=x;c= CMD").unwrap();
        let all: Vec<_> = m.tags().collect();
        // Empty entries and entries with an empty key are skipped.
        assert_eq!(all, [("a", "1"), ("b", "2"), ("a", "3"), ("c", "")]);
        assert_eq!(m.tag("a"), Some("3"));
        assert_eq!(m.tag(""), None);
        let m = Message::parse("@ CMD").unwrap();
        assert_eq!(m.tags, Some(""));
        assert_eq!(m.tags().count(), 0);
        // Only the first atom can be tags, only the next one a source.
        let m = Message::parse("@a :s @b :c").unwrap();
        assert_eq!((m.source, m.command), (Some("s"), "@b"));
        assert_eq!(m.params.as_slice(), ["c"]);
    }

    #[test]
    fn splits_sources() {
        assert_eq!(split_source("n!u@h"), ("n", Some("u"), Some("h")));
        assert_eq!(split_source("n@h"), ("n", None, Some("h")));
        assert_eq!(split_source("n!u"), ("n", Some("u"), None));
        assert_eq!(
            split_source("irc.example.com"),
            ("irc.example.com", None, None)
        );
        assert_eq!(split_source("n!u!v@h@i"), ("n", Some("u!v"), Some("h@i")));
    }

    #[test]
    fn tag_escapes_round_trip() {
        let mut s = String::new();
        unescape_tag_value("a\\:b\\sc\\\\d\\r\\n\\x\\", &mut s);
        assert_eq!(s, "a;b c\\d\r\nx");
        let mut e = Vec::new();
        escape_tag_value("a;b c\\d\r\n", &mut e);
        assert_eq!(e, b"a\\:b\\sc\\\\d\\r\\n");
    }
}
