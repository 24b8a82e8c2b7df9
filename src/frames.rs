//! The framing both append-only files share (the datastore, `store`, and
//! the history segments, `history`): a header, then checksummed frames.
//!
//! ```text
//! header  magic (8 bytes) | schema u32 LE | crc32 of the 12 bytes before, u32 LE
//! frame   len u32 LE | crc32 of (len bytes + payload) u32 LE | payload
//! ```
//!
//! The length is covered by the checksum, so a flipped length byte is
//! caught as a bad frame and not read as a huge or misplaced one. Each
//! file kind has its own magic and payload bound and its own error types
//! (which say which file it is); this module only does the bytes. Pure
//! functions over slices; imports nothing.

/// Magic, schema, header checksum.
pub const HEADER_LEN: usize = 16;
/// Length and checksum in front of each payload.
pub const FRAME_HEAD: usize = 8;

/// The header of a file with `magic` and schema `version`.
pub fn header(magic: &[u8; 8], version: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(magic);
    h[8..12].copy_from_slice(&version.to_le_bytes());
    let crc = crc32fast::hash(&h[..12]);
    h[12..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Why a file's first bytes are not a header with the expected magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than a header, all of them a prefix of `prefix_of`.
    Short(usize),
    /// The magic bytes differ: some other file.
    Magic,
    /// The magic matches but the checksum does not: a damaged header.
    Checksum,
}

impl HeaderError {
    /// What is wrong, for a message that names the file; `magic` says
    /// whose magic was expected ("the datastore's magic bytes").
    pub fn describe(self, magic: &str) -> String {
        match self {
            HeaderError::Short(n) => format!("only {n} bytes, shorter than a header"),
            HeaderError::Magic => format!("it does not start with {magic}"),
            HeaderError::Checksum => "its header is damaged (checksum mismatch)".to_string(),
        }
    }
}

/// The schema version a header names. A file shorter than a header is
/// `Short` only if its bytes begin with (as much as they hold of)
/// `prefix_of`: the magic, or the whole header this build would write; any
/// other short file is some other file (`Magic`).
pub fn parse_header(magic: &[u8; 8], prefix_of: &[u8], bytes: &[u8]) -> Result<u32, HeaderError> {
    if bytes.len() < HEADER_LEN {
        let n = bytes.len().min(prefix_of.len());
        if bytes[..n] != prefix_of[..n] {
            return Err(HeaderError::Magic);
        }
        return Err(HeaderError::Short(bytes.len()));
    }
    if bytes[..8] != magic[..] {
        return Err(HeaderError::Magic);
    }
    let crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32fast::hash(&bytes[..12]) != crc {
        return Err(HeaderError::Checksum);
    }
    Ok(u32::from_le_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11],
    ]))
}

/// Why a frame cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes left than a frame head.
    ShortHead(usize),
    /// A length over the file kind's bound.
    Length(u32),
    /// Fewer bytes left than the length says.
    ShortPayload { have: usize, want: usize },
    /// The checksum does not match.
    Checksum,
}

/// The payload length a frame head announces, checked against `max`.
pub fn frame_len(head: &[u8; FRAME_HEAD], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if len as usize > max {
        return Err(FrameError::Length(len));
    }
    Ok(len as usize)
}

/// Checks a payload against the checksum in its head.
pub fn check(head: &[u8; FRAME_HEAD], payload: &[u8]) -> Result<(), FrameError> {
    let len = [head[0], head[1], head[2], head[3]];
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if frame_crc(&len, payload) != crc {
        return Err(FrameError::Checksum);
    }
    Ok(())
}

/// The payload of the frame at `pos` and where the next frame starts;
/// `Ok(None)` at the exact end of `buf`.
pub fn next_frame(
    buf: &[u8],
    pos: usize,
    max: usize,
) -> Result<Option<(&[u8], usize)>, FrameError> {
    let rest = buf.get(pos..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(None);
    }
    if rest.len() < FRAME_HEAD {
        return Err(FrameError::ShortHead(rest.len()));
    }
    let head = [
        rest[0], rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], rest[7],
    ];
    let want = frame_len(&head, max)?;
    let body = &rest[FRAME_HEAD..];
    if body.len() < want {
        return Err(FrameError::ShortPayload {
            have: body.len(),
            want,
        });
    }
    let payload = &body[..want];
    check(&head, payload)?;
    Ok(Some((payload, pos + FRAME_HEAD + want)))
}

/// Fills in the head of the frame that starts at `start` in `out` (room
/// for the head, then the payload up to the end of `out`); the payload's
/// length, or `Err(length)` when it is over `max` (the frame is then cut
/// off again).
pub fn seal(out: &mut Vec<u8>, start: usize, max: usize) -> Result<usize, usize> {
    let len = out.len() - start - FRAME_HEAD;
    if len > max {
        out.truncate(start);
        return Err(len);
    }
    let len_bytes = (len as u32).to_le_bytes();
    let crc = frame_crc(&len_bytes, &out[start + FRAME_HEAD..]);
    out[start..start + 4].copy_from_slice(&len_bytes);
    out[start + 4..start + FRAME_HEAD].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

fn frame_crc(len: &[u8; 4], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_frame_reads_back_and_every_flip_is_caught() {
        let mut out = header(b"testfile", 3).to_vec();
        let start = out.len();
        out.extend_from_slice(&[0; FRAME_HEAD]);
        out.extend_from_slice(b"payload");
        assert_eq!(seal(&mut out, start, 64), Ok(7));
        let h = header(b"testfile", 3);
        assert_eq!(parse_header(b"testfile", &h, &out), Ok(3));
        assert_eq!(
            next_frame(&out, HEADER_LEN, 64),
            Ok(Some((&b"payload"[..], out.len())))
        );
        for i in HEADER_LEN..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 1;
            assert!(next_frame(&bad, HEADER_LEN, 64).is_err(), "byte {i}");
        }
        assert_eq!(
            parse_header(b"testfile", &h, &out[..5]),
            Err(HeaderError::Short(5))
        );
        assert_eq!(parse_header(b"otherone", &h, &out), Err(HeaderError::Magic));
        let mut long = out.clone();
        long.truncate(start);
        long.extend_from_slice(&[0; FRAME_HEAD]);
        long.extend_from_slice(&[7; 65]);
        assert_eq!(seal(&mut long, start, 64), Err(65));
        assert_eq!(long.len(), start);
    }
}
