//! The bytes of a history segment: the header, the frames and the bincode
//! encoding of one [`Entry`]. Pure functions over byte slices: no files,
//! no threads. Imports `history::entry` and `frames`.
//!
//! ```text
//! header  "picohist" | schema u32 LE | crc32 of the 12 bytes before, u32 LE
//! frame   len u32 LE | crc32 of (len bytes + payload) u32 LE | payload
//! payload one `Entry`, bincode 2 standard config (varint, little-endian)
//! ```
//!
//! The same layout as the datastore's file with its own magic; the bytes of
//! headers and frames are `frames`' (shared with `store`).

use std::fmt;

use serde::Deserialize;

use crate::frames;

use super::entry::Entry;

/// The first bytes of every segment.
pub const MAGIC: [u8; 8] = *b"picohist";
/// The schema this build writes (see entry.rs for what changes it).
pub const SCHEMA: u32 = 1;
pub use crate::frames::{FRAME_HEAD, HEADER_LEN};
/// The largest payload accepted. An entry is one IRC line (at most 8 KiB
/// of tags and 512 bytes of message, less than 10 KiB encoded); anything
/// near this bound is corruption, and reading it must not allocate
/// without limit.
pub const FRAME_MAX: usize = 64 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<FRAME_MAX>()
}

/// The header of a segment of schema `version`.
pub fn header(version: u32) -> [u8; HEADER_LEN] {
    frames::header(&MAGIC, version)
}

pub use crate::frames::HeaderError;

/// How `HeaderError::describe` names this file's magic.
pub const MAGIC_NAME: &str = "a history segment's magic";

/// The schema version a segment's header names; a short file is a cut
/// start of a segment only if it begins the header this build writes.
pub fn parse_header(bytes: &[u8]) -> Result<u32, HeaderError> {
    frames::parse_header(&MAGIC, &header(SCHEMA), bytes)
}

/// Why the frames stop before the end of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Torn {
    /// Fewer bytes left than a frame head.
    ShortHead(usize),
    /// A length over [`FRAME_MAX`].
    Length(u32),
    /// Fewer bytes left than the length says.
    ShortPayload { have: usize, want: usize },
    /// The checksum does not match.
    Checksum,
    /// The payload is not an entry of this schema.
    Undecodable(String),
}

impl fmt::Display for Torn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Torn::ShortHead(n) => write!(f, "a frame head cut short ({n} of {FRAME_HEAD} bytes)"),
            Torn::Length(n) => write!(f, "a frame length of {n} bytes, over the {FRAME_MAX} limit"),
            Torn::ShortPayload { have, want } => {
                write!(f, "a frame cut short ({have} of {want} bytes)")
            }
            Torn::Checksum => f.write_str("a frame checksum mismatch"),
            Torn::Undecodable(e) => write!(f, "an undecodable entry ({e})"),
        }
    }
}

impl From<frames::FrameError> for Torn {
    fn from(e: frames::FrameError) -> Torn {
        match e {
            frames::FrameError::ShortHead(n) => Torn::ShortHead(n),
            frames::FrameError::Length(n) => Torn::Length(n),
            frames::FrameError::ShortPayload { have, want } => Torn::ShortPayload { have, want },
            frames::FrameError::Checksum => Torn::Checksum,
        }
    }
}

/// The payload length a frame head announces, checked against the bound.
pub fn frame_len(head: &[u8; FRAME_HEAD]) -> Result<usize, Torn> {
    Ok(frames::frame_len(head, FRAME_MAX)?)
}

/// Checks a payload against the checksum of its head.
pub fn check(head: &[u8; FRAME_HEAD], payload: &[u8]) -> Result<(), Torn> {
    Ok(frames::check(head, payload)?)
}

/// The payload of the frame at `pos` and where the next frame starts;
/// `Ok(None)` at the exact end of `buf`. (The scan at start streams the
/// same steps; this form is for tests over a file's bytes.)
#[cfg(test)]
pub fn next_frame(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, Torn> {
    Ok(frames::next_frame(buf, pos, FRAME_MAX)?)
}

/// An entry whose encoding is over [`FRAME_MAX`]: it would read back as
/// corruption, so it is kept in memory only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an entry of {} bytes, over the history's {FRAME_MAX}-byte limit",
            self.0
        )
    }
}

/// One entry as a frame, ready to append.
pub fn encode(entry: &Entry) -> Result<Vec<u8>, TooLarge> {
    let mut out = Vec::with_capacity(FRAME_HEAD + 64 + entry.text.as_ref().map_or(0, |t| t.len()));
    out.extend_from_slice(&[0; FRAME_HEAD]);
    // Writing into a Vec cannot fail; an encoder error would mean a type
    // serde cannot express, which the derives rule out, and is refused too.
    if bincode::serde::encode_into_std_write(entry, &mut out, config()).is_err() {
        return Err(TooLarge(out.len() - FRAME_HEAD));
    }
    frames::seal(&mut out, 0, FRAME_MAX).map_err(TooLarge)?;
    Ok(out)
}

/// Decodes a whole entry, refusing trailing bytes.
pub fn decode(payload: &[u8]) -> Result<Entry, Torn> {
    match bincode::serde::decode_from_slice::<Entry, _>(payload, config()) {
        Ok((value, used)) if used == payload.len() => Ok(value),
        Ok((_, used)) => Err(Torn::Undecodable(format!(
            "{} trailing bytes",
            payload.len() - used
        ))),
        Err(e) => Err(Torn::Undecodable(e.to_string())),
    }
}

/// The first fields of an [`Entry`], borrowed from the payload: what the
/// scan at start indexes, without allocating or decoding the rest (the
/// checksum already vouches for the bytes).
#[derive(Debug, Deserialize)]
pub struct Head<'a> {
    pub target: &'a str,
    pub msgid: &'a str,
    pub time_ms: u64,
}

/// Decodes the [`Head`] of a payload.
pub fn decode_head(payload: &[u8]) -> Result<Head<'_>, Torn> {
    bincode::serde::borrow_decode_from_slice::<Head, _>(payload, config())
        .map(|(head, _)| head)
        .map_err(|e| Torn::Undecodable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::entry::Kind;
    use super::*;

    fn entry() -> Entry {
        Entry {
            target: "#pi".into(),
            msgid: "abc".into(),
            time_ms: 1_700_000_000_123,
            source: "n!u@h".into(),
            account: None,
            kind: Kind::Privmsg,
            params: vec!["#Pi".into()],
            text: Some("hello".into()),
            tags: vec![("+draft/reply".into(), "x".into())],
        }
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = header(7);
        assert_eq!(parse_header(&h), Ok(7));
        let mut bad = h;
        bad[9] ^= 1;
        assert_eq!(parse_header(&bad), Err(HeaderError::Checksum));
        assert_eq!(
            parse_header(b"some text file here"),
            Err(HeaderError::Magic)
        );
        assert_eq!(
            parse_header(&header(SCHEMA)[..5]),
            Err(HeaderError::Short(5))
        );
        assert_eq!(parse_header(b""), Err(HeaderError::Short(0)));
    }

    #[test]
    fn a_frame_round_trips_and_every_flip_and_cut_is_caught() {
        let bytes = encode(&entry()).unwrap();
        let (payload, next) = next_frame(&bytes, 0).unwrap().unwrap();
        assert_eq!(next, bytes.len());
        assert_eq!(decode(payload).unwrap(), entry());
        let head = decode_head(payload).unwrap();
        assert_eq!(
            (head.target, head.msgid, head.time_ms),
            ("#pi", "abc", 1_700_000_000_123)
        );
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(next_frame(&bad, 0).is_err(), "flip at {i}");
        }
        for cut in 1..bytes.len() {
            assert!(matches!(
                next_frame(&bytes[..cut], 0),
                Err(Torn::ShortHead(_) | Torn::ShortPayload { .. })
            ));
        }
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(next_frame(&huge, 0), Err(Torn::Length(u32::MAX)));
    }

    #[test]
    fn oversized_entries_and_noise_are_refused() {
        let mut big = entry();
        big.text = Some("x".repeat(FRAME_MAX));
        assert!(matches!(encode(&big), Err(TooLarge(n)) if n > FRAME_MAX));
        // A string said to be 2 GiB long: bincode's limit refuses it.
        assert!(decode(&[2, 0xfc, 0xff, 0xff, 0xff, 0x7f]).is_err());
        assert!(decode_head(&[0xfc, 0xff, 0xff, 0xff, 0x7f]).is_err());
        let mut payload = encode(&entry()).unwrap()[FRAME_HEAD..].to_vec();
        payload.push(0);
        assert!(matches!(decode(&payload), Err(Torn::Undecodable(_))));
    }
}
