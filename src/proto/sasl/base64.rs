//! A strict RFC 4648 base64 codec (standard alphabet, `=` padding), for
//! AUTHENTICATE payloads and the base64 attributes of SCRAM (`s=`, `c=`,
//! `p=`, `v=`).
//!
//! Strict means: the length is a multiple of 4, only `A-Z a-z 0-9 + /`
//! appear before the padding, padding is one or two `=` at the very end,
//! and the bits the padding leaves over are zero (RFC 4648 section 3.5
//! lets a decoder reject non-canonical input; every encoder writes zeros,
//! so only a forged or corrupted payload is refused). No whitespace, no
//! URL-safe alphabet, no missing padding.
//! Imports nothing.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Not base64 by the rules above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// `bytes` in base64, padded.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The number of bytes `text` decodes to, if it is well formed in length
/// and padding (the characters themselves are checked by `decode_into`).
pub fn decoded_len(text: &[u8]) -> Result<usize, Invalid> {
    if !text.len().is_multiple_of(4) {
        return Err(Invalid);
    }
    let pad = text.iter().rev().take(2).filter(|&&c| c == b'=').count();
    Ok(text.len() / 4 * 3 - pad)
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Appends the bytes `text` decodes to onto `out`. On error `out` is left
/// as it was.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), Invalid> {
    decoded_len(text)?;
    let start = out.len();
    let groups = text.len() / 4;
    for (g, quad) in text.chunks_exact(4).enumerate() {
        let last = g + 1 == groups;
        // Padding only in the last group, and only as its last one or two
        // characters (`x===` and `==xx` are refused below).
        let pad = if last {
            quad.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            out.truncate(start);
            return Err(Invalid);
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            match value(c) {
                Some(v) => n = (n << 6) | v,
                None => {
                    out.truncate(start);
                    return Err(Invalid);
                }
            }
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Canonical: the bits under the padding must be zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            out.truncate(start);
            return Err(Invalid);
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Ok(())
}

/// The bytes `text` decodes to.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Invalid> {
    let mut out = Vec::with_capacity(decoded_len(text)?);
    decode_into(text, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10.
    const VECTORS: &[(&str, &str)] = &[
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn rfc4648_vectors_both_ways() {
        for &(plain, coded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded.as_bytes()).unwrap(), plain.as_bytes());
            assert_eq!(decoded_len(coded.as_bytes()).unwrap(), plain.len());
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let all: Vec<u8> = (0..=255u8).collect();
        for len in 0..all.len() {
            let coded = encode(&all[..len]);
            assert_eq!(decode(coded.as_bytes()).unwrap(), &all[..len]);
        }
        // The two alphabet characters beyond letters and digits.
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn refuses_what_is_not_strict_base64() {
        for bad in [
            "Zg", "Zg=", "Zm9",      // missing padding
            "Zg==Zg==", // padding in the middle
            "Z===", "====", "=Zg=", // misplaced padding
            "Zh==", "Zm9=", // non-zero bits under the padding
            "Zm9v\r\n", "Zm 9", "Zm9-", "Zm9_", "Zm9é", // outside the alphabet
        ] {
            assert_eq!(decode(bad.as_bytes()), Err(Invalid), "{bad:?}");
        }
    }

    #[test]
    fn a_failed_decode_leaves_the_output_as_it_was() {
        let mut out = b"kept".to_vec();
        assert_eq!(decode_into(b"Zm9vZm9v!m9v", &mut out), Err(Invalid));
        assert_eq!(out, b"kept");
        decode_into(b"Zm9v", &mut out).unwrap();
        assert_eq!(out, b"keptfoo");
    }
}
