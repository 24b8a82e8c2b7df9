//! Line framing: finds LF / CR LF line ends in a byte buffer, strips telnet
//! IAC negotiation, and checks a line's size and encoding before parsing.
//!
//! Pure functions over byte slices; the connection keeps the partial line.
//! Imports only `limits`.

use std::borrow::Cow;

use crate::limits::{BODY_MAX, TAGS_MAX};

/// Finds the first complete line in `buf`. Returns the line without its
/// CR LF (or bare LF) and the number of bytes it used up.
pub fn next_line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let lf = buf.iter().position(|&b| b == b'\n')?;
    let mut line = &buf[..lf];
    while let [rest @ .., b'\r'] = line {
        line = rest;
    }
    Some((line, lf + 1))
}

/// Telnet's "interpret as command" byte.
const IAC: u8 = 255;
/// Telnet sub-negotiation begin/end.
const SB: u8 = 250;
const SE: u8 = 240;

/// Removes telnet IAC sequences (`IAC WILL x`, `IAC SB … IAC SE`, …) that a
/// telnet client sends when it connects. Borrows when there are none.
pub fn strip_telnet(line: &[u8]) -> Cow<'_, [u8]> {
    if !line.contains(&IAC) {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != IAC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        match line.get(i + 1) {
            Some(&IAC) => i += 2, // an escaped 255 is not text in UTF-8 either
            Some(&SB) => {
                i += 2;
                while i < line.len() && !(line[i] == IAC && line.get(i + 1) == Some(&SE)) {
                    i += 1;
                }
                i += 2;
            }
            Some(&(251..=254)) => i += 3, // WILL, WONT, DO, DONT + option
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    Cow::Owned(out)
}

/// Why a framed line is refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The body (without tags) is over 510 bytes: 417 "Input line too long".
    BodyTooLong,
    /// The tag section is over 8190 bytes: 417 "Input line contained excess tag data".
    TagsTooLong,
    /// The line has a NUL byte or a bare CR inside it: malformed (Ergo quits
    /// the client with "Received malformed line").
    Nul,
    /// The line is not UTF-8 (UTF8ONLY).
    InvalidUtf8,
}

/// Checks a line's size, NUL bytes and encoding; returns it as `&str`.
pub fn check(line: &[u8]) -> Result<&str, LineError> {
    let body_start = if line.first() == Some(&b'@') {
        match line.iter().position(|&b| b == b' ') {
            Some(sp) if sp + 1 > TAGS_MAX => return Err(LineError::TagsTooLong),
            Some(sp) => sp + 1,
            None if line.len() + 1 > TAGS_MAX => return Err(LineError::TagsTooLong),
            None => line.len(),
        }
    } else {
        0
    };
    if line.len() - body_start + 2 > BODY_MAX {
        return Err(LineError::BodyTooLong);
    }
    if line.iter().any(|&b| b == 0 || b == b'\r') {
        return Err(LineError::Nul);
    }
    std::str::from_utf8(line).map_err(|_| LineError::InvalidUtf8)
}

/// The command word of a line that failed `check`, for error replies.
pub fn command_of(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split(' ').filter(|w| !w.is_empty());
    let mut word = words.next().unwrap_or("*");
    if word.starts_with('@') {
        word = words.next().unwrap_or("*");
    }
    if word.starts_with(':') {
        word = words.next().unwrap_or("*");
    }
    word.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(32)
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_crlf_and_bare_lf() {
        assert_eq!(next_line(b"NICK a\r\nUSER"), Some((&b"NICK a"[..], 8)));
        assert_eq!(next_line(b"NICK a\nUSER"), Some((&b"NICK a"[..], 7)));
        assert_eq!(next_line(b"NICK a"), None);
    }

    #[test]
    fn frames_edge_cases() {
        assert_eq!(next_line(b"\n"), Some((&b""[..], 1)));
        assert_eq!(next_line(b"A\r\r\nB"), Some((&b"A"[..], 4)));
        // A CR that does not end the line stays in it (check lets it through).
        assert_eq!(next_line(b"A\rB\n"), Some((&b"A\rB"[..], 4)));
        assert_eq!(next_line(b""), None);
    }

    #[test]
    fn strips_truncated_telnet_sequences() {
        assert_eq!(&*strip_telnet(&[b'A', 255]), b"A");
        assert_eq!(&*strip_telnet(&[b'A', 255, 251]), b"A");
        assert_eq!(&*strip_telnet(&[b'A', 255, 250, 1, 2]), b"A");
        assert_eq!(&*strip_telnet(&[255, 255, b'A']), b"A");
        assert_eq!(&*strip_telnet(&[255, 241, b'A']), b"A");
    }

    #[test]
    fn tag_limit_boundary() {
        // `@` + tags + space is exactly TAGS_MAX bytes: accepted.
        let mut line = vec![b'@'];
        line.extend(std::iter::repeat_n(b'x', TAGS_MAX - 2));
        line.extend_from_slice(b" PING");
        assert!(check(&line).is_ok());
        line.insert(1, b'y');
        assert_eq!(check(&line), Err(LineError::TagsTooLong));
    }

    #[test]
    fn strips_telnet_negotiation() {
        let raw = [
            255, 251, 31, b'N', b'I', 255, 250, 24, 0, 255, 240, b'C', b'K',
        ];
        assert_eq!(&*strip_telnet(&raw), b"NICK");
        assert!(matches!(strip_telnet(b"NICK"), Cow::Borrowed(_)));
    }

    #[test]
    fn checks_size_nul_and_utf8() {
        assert_eq!(check(b"PING x"), Ok("PING x"));
        let long = vec![b'a'; 511];
        assert_eq!(check(&long), Err(LineError::BodyTooLong));
        assert_eq!(check(&long[..510]).map(str::len), Ok(510));
        let mut tagged = vec![b'@'];
        tagged.extend(std::iter::repeat_n(b'x', 8200));
        tagged.extend_from_slice(b" PING");
        assert_eq!(check(&tagged), Err(LineError::TagsTooLong));
        assert_eq!(check(b"PRIVMSG a :\0"), Err(LineError::Nul));
        assert_eq!(check(b"PRIVMSG a :x\ry"), Err(LineError::Nul));
        assert_eq!(check(b"PRIVMSG a :\xff"), Err(LineError::InvalidUtf8));
        assert_eq!(command_of(b"@t :src privmsg a :\xff"), "PRIVMSG");
    }
}
