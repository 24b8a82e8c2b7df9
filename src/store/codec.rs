//! The bytes of the datastore file: the header, the frames (their bytes
//! are `frames`', shared with the history segments) and the bincode
//! encoding of one change. Pure functions over byte slices: no files, no
//! threads. Imports `store::record` and `frames`.
//!
//! ```text
//! header  "picoircd" | schema u32 LE | crc32 of the 12 bytes before, u32 LE
//! frame   len u32 LE | crc32 of (len bytes + payload) u32 LE | payload
//! payload one `Change`, bincode 2 standard config (varint, little-endian)
//! ```
//!
//! The length is covered by the checksum, so a flipped length byte is
//! caught as a bad frame and not read as a huge or misplaced one.

use std::fmt;

use serde::Serialize;

use crate::frames;

use super::record::{Account, BanLine, Change, ChannelReg, LineKind};

/// The first bytes of every datastore file.
pub const MAGIC: [u8; 8] = *b"picoircd";
/// The schema this build writes (see record.rs for what changes it).
pub const SCHEMA: u32 = 1;
pub use crate::frames::{FRAME_HEAD, HEADER_LEN};
/// The largest payload accepted. A channel with full ban, except and
/// invite lists is tens of KiB; anything near this bound is corruption,
/// and reading it must not allocate without limit.
pub const FRAME_MAX: usize = 1 << 20;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<FRAME_MAX>()
}

/// The header of a file of schema `version`.
pub fn header(version: u32) -> [u8; HEADER_LEN] {
    frames::header(&MAGIC, version)
}

pub use crate::frames::HeaderError;

/// How `HeaderError::describe` names this file's magic.
pub const MAGIC_NAME: &str = "the datastore's magic bytes";

/// The schema version a file's header names. A short file that is not
/// even a prefix of the magic is some other file; say so rather than
/// "short".
pub fn parse_header(bytes: &[u8]) -> Result<u32, HeaderError> {
    frames::parse_header(&MAGIC, &MAGIC, bytes)
}

/// Why the frames stop before the end of the file.
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
    /// The payload is not a change of this schema.
    Undecodable(String),
    /// A record filed under a key of another kind.
    Mismatch,
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
            Torn::Undecodable(e) => write!(f, "an undecodable record ({e})"),
            Torn::Mismatch => f.write_str("a record filed under a key of another kind"),
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

/// The payload of the frame at `pos` and where the next frame starts;
/// `Ok(None)` at the exact end of `buf`.
pub fn next_frame(buf: &[u8], pos: usize) -> Result<Option<(&[u8], usize)>, Torn> {
    Ok(frames::next_frame(buf, pos, FRAME_MAX)?)
}

/// A change whose encoding is over [`FRAME_MAX`]: refused before it is
/// applied, since such a frame would read back as corruption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge(pub usize);

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a record of {} bytes, over the datastore's {FRAME_MAX}-byte limit",
            self.0
        )
    }
}

/// Appends `value` to `out` as one frame.
pub fn push_frame<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), TooLarge> {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEAD]);
    // The limit is checked after encoding: bincode's limit is for decoding.
    // Writing into a Vec cannot fail; an encoder error would mean a type
    // serde cannot express, which the derives rule out, and is refused too.
    if bincode::serde::encode_into_std_write(value, out, config()).is_err() {
        let len = out.len() - start - FRAME_HEAD;
        out.truncate(start);
        return Err(TooLarge(len));
    }
    frames::seal(out, start, FRAME_MAX)
        .map(|_| ())
        .map_err(TooLarge)
}

/// One change as a frame, ready to append.
pub fn encode_change(change: &Change) -> Result<Vec<u8>, TooLarge> {
    let mut out = Vec::with_capacity(128);
    push_frame(&mut out, change)?;
    Ok(out)
}

/// Decodes a payload of type `T`, refusing trailing bytes.
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, Torn> {
    match bincode::serde::decode_from_slice::<T, _>(payload, config()) {
        Ok((value, used)) if used == payload.len() => Ok(value),
        Ok((_, used)) => Err(Torn::Undecodable(format!(
            "{} trailing bytes",
            payload.len() - used
        ))),
        Err(e) => Err(Torn::Undecodable(e.to_string())),
    }
}

/// A `Change::Put` that borrows the record: the snapshot encodes every
/// record without cloning it. Same shape as `Change`/`Key`/`Record`
/// (bincode writes variant indices and fields, not names), so its bytes
/// are those of the owned change; a test holds them equal.
#[derive(Serialize)]
pub enum PutRef<'a> {
    Put(KeyRef<'a>, RecordRef<'a>),
}

/// The borrowed twin of `Key`.
#[derive(Serialize)]
pub enum KeyRef<'a> {
    Account(&'a str),
    Channel(&'a str),
    Line(LineKind, &'a str),
}

/// The borrowed twin of `Record`.
#[derive(Serialize)]
pub enum RecordRef<'a> {
    Account(&'a Account),
    Channel(&'a ChannelReg),
    Line(&'a BanLine),
}

#[cfg(test)]
mod tests {
    use super::super::record::*;
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let h = header(7);
        assert_eq!(parse_header(&h), Ok(7));
        let mut bad = h;
        bad[9] ^= 1;
        assert_eq!(parse_header(&bad), Err(HeaderError::Checksum));
        assert_eq!(
            parse_header(b"hello world, some text"),
            Err(HeaderError::Magic)
        );
        assert_eq!(parse_header(b"xy"), Err(HeaderError::Magic));
        assert_eq!(parse_header(&h[..5]), Err(HeaderError::Short(5)));
    }

    #[test]
    fn frame_round_trips_and_checks_length_and_payload() {
        let change = Change::put_account(
            "alice",
            Account {
                name: "Alice".into(),
                nicks: vec!["Alice".into()],
                ..Account::default()
            },
        );
        let bytes = encode_change(&change).unwrap();
        let (payload, next) = next_frame(&bytes, 0).unwrap().unwrap();
        assert_eq!(next, bytes.len());
        assert_eq!(decode::<Change>(payload).unwrap(), change);
        assert_eq!(next_frame(&bytes, next), Ok(None));

        // A flipped bit anywhere in the frame is caught.
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(next_frame(&bad, 0).is_err(), "flip at {i} went unnoticed");
        }
        // Every cut is caught as short.
        for cut in 1..bytes.len() {
            assert!(matches!(
                next_frame(&bytes[..cut], 0),
                Err(Torn::ShortHead(_) | Torn::ShortPayload { .. })
            ));
        }
        // A length over the bound is refused before reading further.
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(next_frame(&huge, 0), Err(Torn::Length(u32::MAX)));
    }

    #[test]
    fn borrowed_put_encodes_like_the_owned_change() {
        let account = Account {
            name: "Bob".into(),
            password: Some("$2a$04$abc".into()),
            scram: Some(ScramCreds {
                salt: vec![1, 2, 3],
                iterations: 4096,
                stored_key: [7; 32],
                server_key: [9; 32],
            }),
            certfps: vec!["ab".into()],
            ..Account::default()
        };
        let line = BanLine {
            kind: LineKind::Kline,
            mask: "*!*@bad".into(),
            reason: "spam".into(),
            oper: "admin".into(),
            set_at: 5,
            expires: Some(10),
        };
        let chan = ChannelReg {
            name: "#Pi".into(),
            founder: "bob".into(),
            access: vec![Access {
                account: "bob".into(),
                mode: 'q',
            }],
            ..ChannelReg::default()
        };
        let pairs: Vec<(Change, PutRef)> = vec![
            (
                Change::put_account("bob", account.clone()),
                PutRef::Put(KeyRef::Account("bob"), RecordRef::Account(&account)),
            ),
            (
                Change::put_line("*!*@bad", line.clone()),
                PutRef::Put(
                    KeyRef::Line(LineKind::Kline, "*!*@bad"),
                    RecordRef::Line(&line),
                ),
            ),
            (
                Change::put_channel("#pi", chan.clone()),
                PutRef::Put(KeyRef::Channel("#pi"), RecordRef::Channel(&chan)),
            ),
        ];
        for (owned, borrowed) in pairs {
            let mut a = Vec::new();
            let mut b = Vec::new();
            push_frame(&mut a, &owned).unwrap();
            push_frame(&mut b, &borrowed).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn oversized_change_is_refused_and_leaves_the_buffer_alone() {
        let mut out = vec![1, 2, 3];
        let big = Change::put_account(
            "big",
            Account {
                vhost: Some("x".repeat(FRAME_MAX)),
                ..Account::default()
            },
        );
        assert!(matches!(push_frame(&mut out, &big), Err(TooLarge(n)) if n > FRAME_MAX));
        assert_eq!(out, [1, 2, 3]);
    }

    #[test]
    fn a_huge_length_inside_a_payload_is_refused_without_allocating() {
        // Put, Key::Account, then a string said to be 2 GiB long.
        let err = decode::<Change>(&[0, 0, 0xfc, 0xff, 0xff, 0xff, 0x7f]).unwrap_err();
        assert!(
            matches!(&err, Torn::Undecodable(e) if e.contains("Limit")),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_bytes_are_undecodable() {
        let change = Change::Delete(Key::Channel("#a".into()));
        let bytes = encode_change(&change).unwrap();
        let mut payload = bytes[FRAME_HEAD..].to_vec();
        payload.push(0);
        assert!(matches!(
            decode::<Change>(&payload),
            Err(Torn::Undecodable(_))
        ));
    }
}
