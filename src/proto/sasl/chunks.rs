//! AUTHENTICATE chunking (IRCv3 sasl-3.1, "The AUTHENTICATE command"): a
//! SASL message travels base64-encoded in 400-byte pieces, one per
//! AUTHENTICATE line. A piece of exactly 400 bytes means more follows; a
//! shorter one ends the message; `+` is the empty message, or ends one
//! whose encoding is a multiple of 400 bytes long; `*` aborts.
//!
//! `Assembler` collects a client's pieces into the decoded message (decoded
//! as they arrive, so only the decoded bytes are held, at most
//! `RESPONSE_MAX`); `server_chunks` cuts a server challenge the same way.
//! Imports nothing outside `proto::sasl`.

use super::base64;
use super::{Error, RESPONSE_MAX};

/// The AUTHENTICATE piece size (sasl-3.1).
pub const CHUNK: usize = 400;

/// What one piece did to the message being collected.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk {
    /// A 400-byte piece was taken; the message goes on.
    More,
    /// The message is complete: its decoded bytes.
    Done(Vec<u8>),
}

/// One client message being collected from AUTHENTICATE pieces.
#[derive(Debug, Default)]
pub struct Assembler {
    /// The decoded bytes so far (at most `RESPONSE_MAX`).
    buf: Vec<u8>,
    /// The last 400-byte piece ended in `=` padding: the encoding is over,
    /// so only `+` may follow.
    padded: bool,
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing collected yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty() && !self.padded
    }

    /// Forgets what was collected, releasing its memory.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Takes the parameter of one AUTHENTICATE line. Every error clears the
    /// message: `Aborted` for `*` (906), `ChunkTooLong` for a piece over 400
    /// bytes and `TooLong` past `RESPONSE_MAX` decoded bytes (905),
    /// `BadBase64` for anything that is not a piece of strict base64 (904),
    /// the empty parameter included.
    pub fn push(&mut self, param: &str) -> Result<Chunk, Error> {
        let r = self.push_inner(param.as_bytes());
        if r.is_err() {
            self.clear();
        }
        r
    }

    fn push_inner(&mut self, piece: &[u8]) -> Result<Chunk, Error> {
        match piece {
            b"*" => return Err(Error::Aborted),
            b"+" => {
                self.padded = false;
                return Ok(Chunk::Done(std::mem::take(&mut self.buf)));
            }
            _ => {}
        }
        if piece.len() > CHUNK {
            return Err(Error::ChunkTooLong);
        }
        if piece.is_empty() || self.padded {
            return Err(Error::BadBase64);
        }
        let add = base64::decoded_len(piece).map_err(|_| Error::BadBase64)?;
        if self.buf.len() + add > RESPONSE_MAX {
            return Err(Error::TooLong);
        }
        base64::decode_into(piece, &mut self.buf).map_err(|_| Error::BadBase64)?;
        if piece.len() == CHUNK {
            self.padded = piece.ends_with(b"=");
            Ok(Chunk::More)
        } else {
            Ok(Chunk::Done(std::mem::take(&mut self.buf)))
        }
    }
}

/// `message` as the parameters of the AUTHENTICATE lines that carry it:
/// base64 in 400-byte pieces, then `+` when the last piece is exactly 400
/// bytes; the empty message is `["+"]`.
pub fn server_chunks(message: &[u8]) -> Vec<String> {
    let coded = base64::encode(message);
    let mut lines: Vec<String> = coded
        .as_bytes()
        .chunks(CHUNK)
        // base64 is ASCII, so any byte boundary is a char boundary.
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    if coded.len().is_multiple_of(CHUNK) {
        lines.push("+".to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` bytes whose base64 has no padding when `n` is a multiple of 3.
    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    /// Feeds every line of `lines` and returns what the last one gave,
    /// checking that every earlier one asked for more.
    fn feed(a: &mut Assembler, lines: &[String]) -> Result<Chunk, Error> {
        for line in &lines[..lines.len() - 1] {
            assert_eq!(a.push(line), Ok(Chunk::More), "{line}");
        }
        a.push(&lines[lines.len() - 1])
    }

    #[test]
    fn server_chunks_follow_the_400_byte_rule() {
        assert_eq!(server_chunks(b""), ["+"]);
        assert_eq!(server_chunks(b"foo"), ["Zm9v"]);
        // 300 bytes encode to exactly 400: a `+` must follow.
        let l = server_chunks(&bytes(300));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].len(), 400);
        assert_eq!(l[1], "+");
        // 600 bytes: 800 characters, two full pieces and `+`.
        let l = server_chunks(&bytes(600));
        assert_eq!(l.iter().map(String::len).collect::<Vec<_>>(), [400, 400, 1]);
        // 301 bytes: 404 characters (with padding), no `+`.
        let l = server_chunks(&bytes(301));
        assert_eq!(l.iter().map(String::len).collect::<Vec<_>>(), [400, 4]);
        assert_eq!(l.concat(), base64::encode(&bytes(301)));
    }

    #[test]
    fn exactly_400_needs_the_plus_terminator() {
        let msg = bytes(300);
        let coded = base64::encode(&msg);
        assert_eq!(coded.len(), 400);
        let mut a = Assembler::new();
        assert_eq!(a.push(&coded), Ok(Chunk::More));
        assert!(!a.is_empty());
        assert_eq!(a.push("+"), Ok(Chunk::Done(msg)));
        assert!(a.is_empty());
    }

    #[test]
    fn exactly_800_is_two_pieces_and_plus() {
        let msg = bytes(600);
        let lines = server_chunks(&msg);
        assert_eq!(lines.len(), 3);
        assert_eq!(feed(&mut Assembler::new(), &lines), Ok(Chunk::Done(msg)));
    }

    #[test]
    fn shorter_than_400_ends_the_message() {
        // 399 characters cannot be base64 (not a multiple of 4): refused.
        let mut a = Assembler::new();
        let coded = base64::encode(&bytes(300));
        assert_eq!(a.push(&coded[..399]), Err(Error::BadBase64));
        assert!(a.is_empty());
        // 396 characters (297 bytes): a whole message in one line.
        let msg = bytes(297);
        let coded = base64::encode(&msg);
        assert_eq!(coded.len(), 396);
        assert_eq!(a.push(&coded), Ok(Chunk::Done(msg)));
    }

    #[test]
    fn four_hundred_and_one_is_two_pieces() {
        // 301 bytes encode to 404 characters: 400, then 4.
        let msg = bytes(301);
        let lines = server_chunks(&msg);
        assert_eq!(lines[1].len(), 4);
        assert_eq!(feed(&mut Assembler::new(), &lines), Ok(Chunk::Done(msg)));
        // A single 401-byte line is over the piece size: 905.
        let mut a = Assembler::new();
        let long = base64::encode(&bytes(301));
        assert_eq!(a.push(&long[..401]), Err(Error::ChunkTooLong));
        assert_eq!(Error::ChunkTooLong.numeric(), 905);
    }

    #[test]
    fn plus_alone_is_the_empty_message() {
        let mut a = Assembler::new();
        assert_eq!(a.push("+"), Ok(Chunk::Done(Vec::new())));
    }

    #[test]
    fn star_aborts_and_forgets() {
        let mut a = Assembler::new();
        assert_eq!(a.push(&base64::encode(&bytes(300))), Ok(Chunk::More));
        assert_eq!(a.push("*"), Err(Error::Aborted));
        assert_eq!(Error::Aborted.numeric(), 906);
        assert!(a.is_empty());
        // The next message starts from nothing.
        assert_eq!(a.push("Zm9v"), Ok(Chunk::Done(b"foo".to_vec())));
    }

    #[test]
    fn oversized_messages_are_refused_at_the_bound() {
        // RESPONSE_MAX bytes exactly are accepted ...
        let msg = bytes(RESPONSE_MAX);
        let lines = server_chunks(&msg);
        assert_eq!(feed(&mut Assembler::new(), &lines), Ok(Chunk::Done(msg)));
        // ... one more byte is 905, at the piece that crosses the bound,
        // without decoding it.
        let lines = server_chunks(&bytes(RESPONSE_MAX + 1));
        let mut a = Assembler::new();
        let mut result = Ok(Chunk::More);
        let mut taken = 0;
        for line in &lines {
            result = a.push(line);
            taken += 1;
            if result != Ok(Chunk::More) {
                break;
            }
        }
        assert_eq!(result, Err(Error::TooLong));
        assert_eq!(
            taken,
            lines.len() - 1 + usize::from(lines.last().unwrap() != "+")
        );
        assert_eq!(Error::TooLong.numeric(), 905);
        assert!(a.is_empty());
    }

    #[test]
    fn bad_base64_is_904_and_clears() {
        let mut a = Assembler::new();
        assert_eq!(a.push(&base64::encode(&bytes(300))), Ok(Chunk::More));
        assert_eq!(a.push("!!!!"), Err(Error::BadBase64));
        assert_eq!(Error::BadBase64.numeric(), 904);
        assert!(a.is_empty());
        for bad in ["", "Zm9", "Zm9v=", "Zm 9v", "Zh=="] {
            assert_eq!(a.push(bad), Err(Error::BadBase64), "{bad:?}");
        }
    }

    #[test]
    fn padding_ends_the_encoding_even_in_a_full_piece() {
        // 299 bytes encode to 400 characters ending in `=`: only `+` may
        // follow (more base64 after padding is not base64).
        let msg = bytes(299);
        let coded = base64::encode(&msg);
        assert_eq!(coded.len(), 400);
        assert!(coded.ends_with('='));
        let mut a = Assembler::new();
        assert_eq!(a.push(&coded), Ok(Chunk::More));
        assert_eq!(a.push("Zm9v"), Err(Error::BadBase64));
        assert_eq!(a.push(&coded), Ok(Chunk::More));
        assert_eq!(a.push("+"), Ok(Chunk::Done(msg)));
    }
}
