//! The text of a measured PRIVMSG: `<from> <seq> <sent µs> <padding>`,
//! so a receiver knows who sent it, which one it is, and when it left
//! (microseconds since the scenario's origin, on the same clock), and
//! every message has the same length.
//!
//! Formatting and parsing only.

use std::io::Write;
use std::time::Instant;

/// Appends `PRIVMSG <target> :<from> <seq> <µs> xxx…\r\n`, the text padded
/// to `len` bytes (never shorter than its numbers).
pub fn write(out: &mut Vec<u8>, target: &str, from: usize, seq: u64, origin: Instant, len: usize) {
    let us = origin.elapsed().as_micros() as u64;
    let _ = write!(out, "PRIVMSG {target} :");
    let start = out.len();
    let _ = write!(out, "{from} {seq} {us} ");
    let used = out.len() - start;
    out.extend(std::iter::repeat_n(b'x', len.saturating_sub(used).max(1)));
    out.extend_from_slice(b"\r\n");
}

/// `(from, seq, latency µs)` of a received text, or `None` for another text.
pub fn read(text: &str, origin: Instant) -> Option<(usize, u64, u64)> {
    let mut w = text.splitn(4, ' ');
    let from = w.next()?.parse().ok()?;
    let seq = w.next()?.parse().ok()?;
    let sent: u64 = w.next()?.parse().ok()?;
    let now = origin.elapsed().as_micros() as u64;
    Some((from, seq, now.saturating_sub(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let origin = Instant::now();
        let mut out = Vec::new();
        write(&mut out, "#c", 3, 17, origin, 64);
        let line = std::str::from_utf8(&out).unwrap();
        assert!(line.starts_with("PRIVMSG #c :3 17 ") && line.ends_with("x\r\n"));
        let text = &line["PRIVMSG #c :".len()..line.len() - 2];
        assert_eq!(text.len(), 64);
        let (from, seq, lat) = read(text, origin).unwrap();
        assert_eq!((from, seq), (3, 17));
        assert!(lat < 10_000_000);
        assert!(read("hello there", origin).is_none());
    }
}
