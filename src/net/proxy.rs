//! The PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy's
//! `doc/proxy-protocol.txt` defines them: the header a reverse proxy or
//! load balancer puts in front of a connection to say who the real client
//! is. Sans-I/O: `parse` takes the first bytes read from a `proxy = true`
//! listener and says "need more", "here is the header and its length", or
//! what is wrong with it; `is_trusted` checks the peer against
//! `server.trusted-proxies`. The loop owns the socket, the buffering, the
//! timeout and the log line.
//!
//! Every byte is hostile until the header is complete: lengths are checked
//! before they are used, nothing is allocated, and `Ok(None)` is only
//! returned while the buffer is shorter than `MAX_HEADER`, so a caller
//! that keeps calling `parse` as bytes arrive holds at most that much.
//!
//! Imports `config::IpNet` only; no sockets, no mio, no `state`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::config::IpNet;

/// The longest v1 line, CRLF included ("PROXY UNKNOWN" with two full
/// IPv6 addresses and ports, the spec's worst case).
pub const V1_MAX: usize = 107;

/// The longest v2 header accepted, its 16 fixed bytes included. The
/// length field allows 16 + 65535 bytes, but the largest header a real
/// proxy sends is well under 1 KiB: two 108-byte AF_UNIX addresses plus
/// the registered TLVs (an SNI authority of at most 255 bytes, a unique ID
/// of at most 128, the SSL TLV with version, CN, cipher and algorithms, a
/// CRC32C, a cloud endpoint ID). 4 KiB leaves room for custom TLVs while
/// keeping what an unauthenticated peer can make the server buffer small,
/// and well inside one read of the loop's read buffer.
pub const V2_MAX: usize = 4096;

/// The most bytes `parse` ever needs to see: `Ok(None)` means the buffer
/// is shorter than this.
pub const MAX_HEADER: usize = V2_MAX;

/// The 12 bytes that open a v2 header.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// What opens a v1 header: "PROXY" and exactly one space.
const V1_SIGNATURE: &[u8] = b"PROXY ";

/// The connection's real endpoints, as the proxy saw them.
///
/// Both are `None` for `PROXY UNKNOWN`, a v2 `LOCAL` command (a health
/// check by the proxy itself), a v2 unspecified family or protocol, and
/// AF_UNIX addresses: the caller then keeps the socket's own addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// The client: the address to show, cloak, limit and ban.
    pub source: Option<SocketAddr>,
    /// The address the client connected to (on the proxy).
    pub destination: Option<SocketAddr>,
}

/// Why a connection's first bytes are not an acceptable PROXY header. The
/// caller closes the connection and logs this (`Display` is the log text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyError {
    /// The first bytes are neither "PROXY " nor the v2 signature: the peer
    /// does not speak the protocol at all (a client connecting directly,
    /// or a proxy not configured to send it).
    NoHeader,
    /// v1: no CRLF within the first 107 bytes.
    V1TooLong,
    /// v1: the line is not exactly what the spec allows; says what.
    V1Malformed(&'static str),
    /// v2: the version nibble (the 13th byte's high 4 bits) is not 2.
    V2Version(u8),
    /// v2: the command (the 13th byte's low 4 bits) is neither LOCAL (0)
    /// nor PROXY (1).
    V2Command(u8),
    /// v2: the family/protocol byte (the 14th) is not one the spec defines.
    V2Family(u8),
    /// v2: the header would be this long, over `V2_MAX`.
    V2TooLong(usize),
    /// v2: the address block or a TLV does not fit the header; says what.
    V2Malformed(&'static str),
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxyError::NoHeader => {
                f.write_str("no PROXY header (the connection does not start with PROXY v1 or v2)")
            }
            ProxyError::V1TooLong => write!(f, "PROXY v1: no CRLF in the first {V1_MAX} bytes"),
            ProxyError::V1Malformed(what) => write!(f, "PROXY v1: {what}"),
            ProxyError::V2Version(v) => {
                write!(f, "PROXY v2: unsupported version {v} (only 2 exists)")
            }
            ProxyError::V2Command(c) => {
                write!(
                    f,
                    "PROXY v2: unknown command {c} (expected 0 LOCAL or 1 PROXY)"
                )
            }
            ProxyError::V2Family(b) => {
                write!(
                    f,
                    "PROXY v2: unknown address family/protocol byte 0x{b:02x}"
                )
            }
            ProxyError::V2TooLong(n) => {
                write!(
                    f,
                    "PROXY v2: a {n}-byte header is over the {V2_MAX}-byte limit"
                )
            }
            ProxyError::V2Malformed(what) => write!(f, "PROXY v2: {what}"),
        }
    }
}

impl std::error::Error for ProxyError {}

/// Parses a PROXY header at the start of `buf`, the bytes read so far from
/// a `proxy = true` listener's connection.
///
/// - `Ok(None)`: the header is incomplete; read more and call again with
///   the whole buffer (always `buf.len() < MAX_HEADER`).
/// - `Ok(Some((header, n)))`: the header is `buf[..n]`; `buf[n..]` is the
///   start of the client's own bytes (IRC lines, a TLS ClientHello, an HTTP
///   upgrade) for the next layer.
/// - `Err(e)`: not a header this server accepts; close the connection.
pub fn parse(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    if starts_like(buf, &V2_SIGNATURE) {
        if buf.len() < V2_SIGNATURE.len() {
            return Ok(None);
        }
        parse_v2(buf)
    } else if starts_like(buf, V1_SIGNATURE) {
        if buf.len() < V1_SIGNATURE.len() {
            return Ok(None);
        }
        parse_v1(buf)
    } else {
        Err(ProxyError::NoHeader)
    }
}

/// Does `buf` agree with `signature` as far as both go? (True for an
/// empty buffer and for a signature's first bytes still arriving.)
fn starts_like(buf: &[u8], signature: &[u8]) -> bool {
    let n = buf.len().min(signature.len());
    buf[..n] == signature[..n]
}

/// Is the connection's peer one of the proxies allowed to send a PROXY
/// header (`server.trusted-proxies`)? An IPv4-mapped IPv6 peer
/// (`::ffff:127.0.0.1`, from a dual-stack listener) matches IPv4 entries.
pub fn is_trusted(peer: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(peer))
}

// ----- version 1 ------------------------------------------------------

/// "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n": one line of
/// printable US-ASCII ending in CRLF, at most 107 bytes. `buf` starts with
/// "PROXY ".
fn parse_v1(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    let window = &buf[..buf.len().min(V1_MAX)];
    // Check every byte as it arrives, so that garbage after "PROXY " is
    // refused at once rather than after 107 bytes.
    for (i, &b) in window.iter().enumerate() {
        match b {
            b'\n' => {
                // i >= 6: the line starts with "PROXY ".
                if window[i - 1] != b'\r' {
                    return Err(ProxyError::V1Malformed(
                        "the line ends in a bare LF, not CRLF",
                    ));
                }
                let header = parse_v1_line(&window[..i - 1])?;
                return Ok(Some((header, i + 1)));
            }
            b'\r' => {
                if window.get(i + 1).is_some_and(|&next| next != b'\n') {
                    return Err(ProxyError::V1Malformed("a CR not followed by LF"));
                }
            }
            0x20..=0x7e => {}
            _ => {
                return Err(ProxyError::V1Malformed(
                    "a control or non-ASCII byte in the line",
                ))
            }
        }
    }
    if buf.len() >= V1_MAX {
        Err(ProxyError::V1TooLong)
    } else {
        Ok(None)
    }
}

/// The line without its CRLF; printable ASCII only.
fn parse_v1_line(line: &[u8]) -> Result<Header, ProxyError> {
    let malformed = ProxyError::V1Malformed;
    let line = std::str::from_utf8(line).map_err(|_| malformed("not ASCII"))?;
    // Fields are separated by exactly one space: `split(' ')` turns a
    // doubled or trailing space into an empty field, which is refused.
    let mut fields = line.split(' ');
    if fields.next() != Some("PROXY") {
        return Err(malformed("the line does not start with \"PROXY \""));
    }
    let v6 = match fields.next() {
        Some("TCP4") => false,
        Some("TCP6") => true,
        // "the receiver must ignore anything presented before the CRLF".
        Some("UNKNOWN") => return Ok(Header::default()),
        _ => {
            return Err(malformed(
                "the protocol is not TCP4, TCP6 or UNKNOWN (after exactly one space)",
            ))
        }
    };
    let mut next = |what: &'static str| fields.next().ok_or(malformed(what));
    let source = next("the source address is missing")?;
    let destination = next("the destination address is missing")?;
    let source_port = next("the source port is missing")?;
    let destination_port = next("the destination port is missing")?;
    if fields.next().is_some() {
        return Err(malformed(
            "more than four fields after the protocol (or a trailing space)",
        ));
    }
    let source = v1_address(source, v6).ok_or(malformed(if v6 {
        "the source is not an IPv6 address"
    } else {
        "the source is not a dotted-quad IPv4 address"
    }))?;
    let destination = v1_address(destination, v6).ok_or(malformed(if v6 {
        "the destination is not an IPv6 address"
    } else {
        "the destination is not a dotted-quad IPv4 address"
    }))?;
    let source_port = v1_port(source_port).ok_or(malformed(
        "the source port is not a number 0 to 65535 without leading zeros",
    ))?;
    let destination_port = v1_port(destination_port).ok_or(malformed(
        "the destination port is not a number 0 to 65535 without leading zeros",
    ))?;
    Ok(Header {
        source: Some(SocketAddr::new(source, source_port)),
        destination: Some(SocketAddr::new(destination, destination_port)),
    })
}

/// An address of the announced family. Rust's parsers are strict enough:
/// IPv4 is exactly four decimal numbers 0-255 with no leading zeros (no
/// octal), IPv6 has at most one `::` and exactly 128 bits, and neither
/// takes a zone, a port or spaces.
fn v1_address(text: &str, v6: bool) -> Option<IpAddr> {
    if v6 {
        text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        text.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// A port: 1 to 5 decimal digits, no sign, no leading zero, 0 to 65535.
fn v1_port(text: &str) -> Option<u16> {
    let digits = !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

// ----- version 2 ------------------------------------------------------

/// The binary header: the signature, version and command, family and
/// protocol, a big-endian length, then that many bytes (addresses, TLVs).
/// `buf` starts with the 12-byte signature.
fn parse_v2(buf: &[u8]) -> Result<Option<(Header, usize)>, ProxyError> {
    // The fixed part is checked as soon as it is here, so a bad version,
    // command, family or length is refused before waiting for the body.
    let Some((fixed, _)) = buf.split_first_chunk::<16>() else {
        return Ok(None);
    };
    let [.., ver_cmd, family, len_hi, len_lo] = *fixed;
    let version = ver_cmd >> 4;
    if version != 2 {
        return Err(ProxyError::V2Version(version));
    }
    let command = ver_cmd & 0x0f;
    let local = match command {
        0 => true,
        1 => false,
        _ => return Err(ProxyError::V2Command(command)),
    };
    let total = 16 + usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if total > V2_MAX {
        return Err(ProxyError::V2TooLong(total));
    }
    // LOCAL: "discard the protocol block including the family which is
    // ignored". PROXY: the family byte must be one the spec defines.
    if !local && (family >> 4 > 3 || family & 0x0f > 2) {
        return Err(ProxyError::V2Family(family));
    }
    let Some(body) = buf.get(16..total) else {
        return Ok(None);
    };
    let header = if local {
        Header::default()
    } else {
        v2_addresses(family, body)?
    };
    Ok(Some((header, total)))
}

/// The address block and TLVs of a PROXY command; `family` is valid.
fn v2_addresses(family: u8, body: &[u8]) -> Result<Header, ProxyError> {
    let (af, protocol) = (family >> 4, family & 0x0f);
    // AF_UNSPEC or an unspecified protocol: "the receiver should ignore
    // address information", and its length is unknown, so skip it all.
    if af == 0 || protocol == 0 {
        return Ok(Header::default());
    }
    let address_len = match af {
        1 => 12,  // two IPv4 addresses, two ports
        2 => 36,  // two IPv6 addresses, two ports
        _ => 216, // two 108-byte AF_UNIX paths
    };
    if body.len() < address_len {
        return Err(ProxyError::V2Malformed(
            "the address block is shorter than its family needs",
        ));
    }
    let (addresses, tlvs) = body.split_at(address_len);
    skip_tlvs(tlvs)?;
    // STREAM (TCP) and DGRAM (UDP) carry the same address layout.
    let header = match af {
        1 => {
            let mut r = Reader(addresses);
            let (src, dst) = (r.v4(), r.v4());
            let (sport, dport) = (r.port(), r.port());
            Header {
                source: Some(SocketAddr::new(IpAddr::V4(src), sport)),
                destination: Some(SocketAddr::new(IpAddr::V4(dst), dport)),
            }
        }
        2 => {
            let mut r = Reader(addresses);
            let (src, dst) = (r.v6(), r.v6());
            let (sport, dport) = (r.port(), r.port());
            Header {
                source: Some(SocketAddr::new(IpAddr::V6(src), sport)),
                destination: Some(SocketAddr::new(IpAddr::V6(dst), dport)),
            }
        }
        // AF_UNIX: a path is no client address; keep the socket's own.
        _ => Header::default(),
    };
    Ok(header)
}

/// Walks the TLVs (type, 16-bit big-endian length, value) to the end of
/// the header, checking that each fits. Their contents are ignored,
/// including a CRC32C (the spec asks for its check only from receivers
/// that support it) and the SSL TLV's nested TLVs.
fn skip_tlvs(mut rest: &[u8]) -> Result<(), ProxyError> {
    while !rest.is_empty() {
        let Some((&[_type, len_hi, len_lo], after)) = rest.split_first_chunk::<3>() else {
            return Err(ProxyError::V2Malformed(
                "a TLV is cut short (fewer than 3 bytes left)",
            ));
        };
        let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
        let Some(next) = after.get(len..) else {
            return Err(ProxyError::V2Malformed(
                "a TLV runs past the end of the header",
            ));
        };
        rest = next;
    }
    Ok(())
}

/// Reads fixed-size fields off an address block whose length was checked
/// against its family first; a short read gives zeros, never a panic.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        match self.0.split_first_chunk::<N>() {
            Some((chunk, rest)) => {
                self.0 = rest;
                *chunk
            }
            None => [0; N],
        }
    }

    fn v4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.take::<4>())
    }

    fn v6(&mut self) -> Ipv6Addr {
        Ipv6Addr::from(self.take::<16>())
    }

    fn port(&mut self) -> u16 {
        u16::from_be_bytes(self.take::<2>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(text: &str) -> Option<SocketAddr> {
        Some(text.parse().unwrap())
    }

    fn header(source: &str, destination: &str) -> Header {
        Header {
            source: sa(source),
            destination: sa(destination),
        }
    }

    /// `bytes` is one complete header: every shorter prefix asks for more,
    /// the whole parses to `expected`, and bytes after it are left alone.
    fn complete(bytes: &[u8], expected: Header) {
        for k in 0..bytes.len() {
            assert_eq!(
                parse(&bytes[..k]),
                Ok(None),
                "prefix of {k} bytes of {bytes:?}"
            );
        }
        assert_eq!(parse(bytes), Ok(Some((expected, bytes.len()))));
        let mut more = bytes.to_vec();
        more.extend_from_slice(b"NICK alice\r\nUSER a 0 * :A\r\n");
        assert_eq!(parse(&more), Ok(Some((expected, bytes.len()))));
    }

    fn v1_err(line: &str) -> ProxyError {
        match parse(line.as_bytes()) {
            Err(e) => e,
            other => panic!("{line:?} should fail, got {other:?}"),
        }
    }

    // ----- v1 -----

    #[test]
    fn v1_spec_examples() {
        complete(
            b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            header("192.168.0.1:56324", "192.168.0.11:443"),
        );
        // The longest TCP4 line, 56 bytes.
        let line = b"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
        assert_eq!(line.len(), 56);
        complete(
            line,
            header("255.255.255.255:65535", "255.255.255.255:65535"),
        );
        complete(
            b"PROXY TCP6 2001:db8::1 2001:db8::2 51000 6697\r\n",
            header("[2001:db8::1]:51000", "[2001:db8::2]:6697"),
        );
        complete(
            b"PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n",
            header("0.0.0.0:0", "10.0.0.1:0"),
        );
        // The longest TCP6 line, 104 bytes.
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let line = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
        assert_eq!(line.len(), 104);
        let max = format!("[{full}]:65535");
        complete(line.as_bytes(), header(&max, &max));
    }

    #[test]
    fn v1_unknown_ignores_the_rest_of_the_line() {
        complete(b"PROXY UNKNOWN\r\n", Header::default());
        complete(
            b"PROXY UNKNOWN 192.168.0.1 192.168.0.11 56324 443\r\n",
            Header::default(),
        );
        // The spec's worst case: exactly 107 bytes is still accepted.
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let line = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
        assert_eq!(line.len(), V1_MAX);
        complete(line.as_bytes(), Header::default());
        complete(b"PROXY UNKNOWN whatever it says\r\n", Header::default());
    }

    #[test]
    fn v1_too_long() {
        // 108 bytes: the LF is one past the limit.
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let line = format!("PROXY UNKNOWN {full} {full} 65535 655350\r\n");
        assert_eq!(line.len(), V1_MAX + 1);
        assert_eq!(v1_err(&line), ProxyError::V1TooLong);
        // No CRLF at all: refused once 107 bytes are in, waited for before.
        let endless = format!("PROXY UNKNOWN {}", "a".repeat(200));
        assert_eq!(parse(&endless.as_bytes()[..V1_MAX - 1]), Ok(None));
        assert_eq!(
            parse(&endless.as_bytes()[..V1_MAX]),
            Err(ProxyError::V1TooLong)
        );
        assert_eq!(v1_err(&endless), ProxyError::V1TooLong);
    }

    #[test]
    fn v1_bad_ports() {
        for port in [
            "65536", "99999", "123456", "-1", "+80", "080", "00", "", "8o", " 80",
        ] {
            let line = format!("PROXY TCP4 1.2.3.4 5.6.7.8 {port} 6667\r\n");
            assert!(
                matches!(v1_err(&line), ProxyError::V1Malformed(_)),
                "{line:?}"
            );
            let line = format!("PROXY TCP4 1.2.3.4 5.6.7.8 6667 {port}\r\n");
            assert!(
                matches!(v1_err(&line), ProxyError::V1Malformed(_)),
                "{line:?}"
            );
        }
        assert_eq!(
            v1_err("PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n"),
            ProxyError::V1Malformed(
                "the source port is not a number 0 to 65535 without leading zeros"
            )
        );
    }

    #[test]
    fn v1_bad_addresses_and_fields() {
        let cases = [
            // Family mismatch both ways.
            "PROXY TCP4 ::1 ::1 1 2\r\n",
            "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
            "PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
            // Not canonical IPv4: octal-looking, short, out of range.
            "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
            "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
            "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n",
            "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
            "PROXY TCP6 [::1] ::1 1 2\r\n",
            // Spacing: exactly one space between fields.
            "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
            "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
            // Field counts.
            "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            "PROXY TCP4\r\n",
            "PROXY \r\n",
            // Protocols.
            "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
            "PROXY UNKNOWNX\r\n",
            // Non-ASCII and control bytes.
            "PROXY UNKNOWN é\r\n",
            "PROXY UNKNOWN \0\r\n",
        ];
        for line in cases {
            assert!(
                matches!(v1_err(line), ProxyError::V1Malformed(_)),
                "{line:?}: {:?}",
                parse(line.as_bytes())
            );
        }
    }

    #[test]
    fn v1_missing_crlf() {
        // A bare LF or a bare CR ends nothing: refused as soon as seen.
        assert_eq!(
            v1_err("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"),
            ProxyError::V1Malformed("the line ends in a bare LF, not CRLF")
        );
        assert_eq!(
            v1_err("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rNICK a\r\n"),
            ProxyError::V1Malformed("a CR not followed by LF")
        );
        // A line cut before its CRLF is just incomplete.
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), Ok(None));
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), Ok(None));
        // Garbage is refused before 107 bytes arrive.
        assert!(matches!(
            parse(b"PROXY \x16\x03\x01"),
            Err(ProxyError::V1Malformed(_))
        ));
    }

    #[test]
    fn not_a_proxy_header() {
        for first in [
            &b"NICK alice\r\n"[..],
            b"CAP LS 302\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"GET / HTTP/1.1\r\n",
            b"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXYTCP4",
            b"P\r",
            b"\r\n\r\n\0\r\nQUIT\r",
            b"\n",
            b"\0",
        ] {
            assert_eq!(parse(first), Err(ProxyError::NoHeader), "{first:?}");
        }
        assert_eq!(
            ProxyError::NoHeader.to_string(),
            "no PROXY header (the connection does not start with PROXY v1 or v2)"
        );
        // What could still become a signature waits for more.
        for start in [
            &b""[..],
            b"P",
            b"PROX",
            b"PROXY",
            b"\r",
            b"\r\n\r\n\0\r\nQUI",
        ] {
            assert_eq!(parse(start), Ok(None), "{start:?}");
        }
    }

    // ----- v2 -----

    /// A v2 header: signature, version 2 with `command`, `family`, the
    /// length, `body`.
    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | command);
        h.push(family);
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    fn tcp4_body() -> Vec<u8> {
        let mut b = vec![192, 168, 0, 1, 192, 168, 0, 11];
        b.extend_from_slice(&56324u16.to_be_bytes());
        b.extend_from_slice(&443u16.to_be_bytes());
        b
    }

    fn tcp6_body() -> Vec<u8> {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let mut b = src.octets().to_vec();
        b.extend_from_slice(&dst.octets());
        b.extend_from_slice(&51000u16.to_be_bytes());
        b.extend_from_slice(&6697u16.to_be_bytes());
        b
    }

    fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let mut t = vec![kind];
        t.extend_from_slice(&(value.len() as u16).to_be_bytes());
        t.extend_from_slice(value);
        t
    }

    fn v2_err(bytes: &[u8]) -> ProxyError {
        match parse(bytes) {
            Err(e) => e,
            other => panic!("{bytes:?} should fail, got {other:?}"),
        }
    }

    #[test]
    fn v2_proxy_tcp4_and_tcp6() {
        let v4 = header("192.168.0.1:56324", "192.168.0.11:443");
        let v6 = header("[2001:db8::1]:51000", "[2001:db8::2]:6697");
        complete(&v2(1, 0x11, &tcp4_body()), v4);
        complete(&v2(1, 0x21, &tcp6_body()), v6);
        // UDP carries the same layout.
        complete(&v2(1, 0x12, &tcp4_body()), v4);
        complete(&v2(1, 0x22, &tcp6_body()), v6);
    }

    #[test]
    fn v2_with_tlvs() {
        let mut body = tcp4_body();
        body.extend(tlv(0x01, b"irc")); // ALPN
        body.extend(tlv(0x02, b"irc.example.org")); // AUTHORITY (SNI)
        body.extend(tlv(0x04, b"")); // NOOP, empty
        body.extend(tlv(0x05, &[7; 128])); // UNIQUE_ID
        let mut ssl = vec![0x01, 0, 0, 0, 0];
        ssl.extend(tlv(0x21, b"TLSv1.3"));
        ssl.extend(tlv(0x23, b"TLS_AES_128_GCM_SHA256"));
        body.extend(tlv(0x20, &ssl)); // SSL with sub-TLVs
        body.extend(tlv(0x03, &[1, 2, 3, 4])); // CRC32C (not checked)
        body.extend(tlv(0xea, &[0xff; 300])); // custom
        complete(
            &v2(1, 0x11, &body),
            header("192.168.0.1:56324", "192.168.0.11:443"),
        );
        let mut body = tcp6_body();
        body.extend(tlv(0x02, b"irc.example.org"));
        complete(
            &v2(1, 0x21, &body),
            header("[2001:db8::1]:51000", "[2001:db8::2]:6697"),
        );
    }

    #[test]
    fn v2_bad_tlvs() {
        // Cut inside the type/length.
        for extra in [&[0x01][..], &[0x01, 0x00]] {
            let mut body = tcp4_body();
            body.extend_from_slice(extra);
            assert_eq!(
                v2_err(&v2(1, 0x11, &body)),
                ProxyError::V2Malformed("a TLV is cut short (fewer than 3 bytes left)")
            );
        }
        // A value longer than what is left of the header.
        let mut body = tcp4_body();
        body.extend(tlv(0x02, b"irc.example.org"));
        body.truncate(body.len() - 1);
        assert_eq!(
            v2_err(&v2(1, 0x11, &body)),
            ProxyError::V2Malformed("a TLV runs past the end of the header")
        );
        let mut body = tcp4_body();
        body.extend_from_slice(&[0x02, 0xff, 0xff, b'x']);
        assert_eq!(
            v2_err(&v2(1, 0x11, &body)),
            ProxyError::V2Malformed("a TLV runs past the end of the header")
        );
    }

    #[test]
    fn v2_local_unspec_and_unix_keep_the_socket_address() {
        // LOCAL: a health check; the family and any bytes are ignored.
        complete(&v2(0, 0x00, b""), Header::default());
        complete(&v2(0, 0x11, &tcp4_body()), Header::default());
        complete(&v2(0, 0xff, b"anything at all"), Header::default());
        // PROXY with AF_UNSPEC or an unspecified protocol.
        complete(&v2(1, 0x00, b""), Header::default());
        complete(&v2(1, 0x00, b"ignored"), Header::default());
        complete(&v2(1, 0x10, &tcp4_body()), Header::default());
        // AF_UNIX stream and datagram: two 108-byte paths, then TLVs.
        let mut unix = vec![0u8; 216];
        unix[..13].copy_from_slice(b"/run/haproxy\0");
        complete(&v2(1, 0x31, &unix), Header::default());
        complete(&v2(1, 0x32, &unix), Header::default());
        unix.extend(tlv(0x05, b"id"));
        complete(&v2(1, 0x31, &unix), Header::default());
        // ...which are still bounds-checked.
        unix.push(0x05);
        assert!(matches!(
            v2_err(&v2(1, 0x31, &unix)),
            ProxyError::V2Malformed(_)
        ));
    }

    #[test]
    fn v2_address_block_too_short() {
        for (family, body) in [
            (0x11, tcp4_body()),
            (0x21, tcp6_body()),
            (0x31, vec![0; 216]),
        ] {
            let short = &body[..body.len() - 1];
            assert_eq!(
                v2_err(&v2(1, family, short)),
                ProxyError::V2Malformed("the address block is shorter than its family needs"),
                "family {family:#x}"
            );
        }
        // An IPv4 block under the IPv6 family.
        assert!(matches!(
            v2_err(&v2(1, 0x21, &tcp4_body())),
            ProxyError::V2Malformed(_)
        ));
    }

    #[test]
    fn v2_bad_version_command_family() {
        let mut h = v2(1, 0x11, &tcp4_body());
        h[12] = 0x11; // version 1 in the binary format
        assert_eq!(v2_err(&h), ProxyError::V2Version(1));
        h[12] = 0x31;
        assert_eq!(v2_err(&h), ProxyError::V2Version(3));
        h[12] = 0x22; // command 2
        assert_eq!(v2_err(&h), ProxyError::V2Command(2));
        h[12] = 0x2f;
        assert_eq!(v2_err(&h), ProxyError::V2Command(15));
        for family in [0x41, 0x13, 0x23, 0xf1, 0x1f] {
            assert_eq!(
                v2_err(&v2(1, family, &tcp4_body())),
                ProxyError::V2Family(family)
            );
        }
        // Refused from the 16 fixed bytes alone, before any body.
        let mut h = v2(1, 0x11, &tcp4_body());
        h[12] = 0x12;
        assert_eq!(parse(&h[..16]), Err(ProxyError::V2Version(1)));
        assert_eq!(parse(&h[..15]), Ok(None));
        assert!(ProxyError::V2Version(1).to_string().contains("version 1"));
        assert!(ProxyError::V2Family(0x41).to_string().contains("0x41"));
    }

    #[test]
    fn v2_huge_length() {
        // Refused as soon as the length field is read.
        let mut h = V2_SIGNATURE.to_vec();
        h.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&h), Err(ProxyError::V2TooLong(16 + 65535)));
        // The limit itself is fine, one more is not.
        let body = {
            let mut b = tcp4_body();
            b.extend(tlv(0xe0, &vec![0; V2_MAX - 16 - 12 - 3]));
            b
        };
        let h = v2(1, 0x11, &body);
        assert_eq!(h.len(), V2_MAX);
        assert_eq!(parse(&h[..V2_MAX - 1]), Ok(None));
        assert!(matches!(parse(&h), Ok(Some((_, V2_MAX)))));
        let mut body = body;
        body.push(0);
        assert_eq!(
            v2_err(&v2(1, 0x11, &body)),
            ProxyError::V2TooLong(V2_MAX + 1)
        );
        assert_eq!(
            ProxyError::V2TooLong(V2_MAX + 1).to_string(),
            "PROXY v2: a 4097-byte header is over the 4096-byte limit"
        );
    }

    #[test]
    fn v2_truncated_at_every_length() {
        let mut body = tcp6_body();
        body.extend(tlv(0x02, b"irc.example.org"));
        body.extend(tlv(0x20, &[1, 0, 0, 0, 0]));
        let h = v2(1, 0x21, &body);
        // `complete` checks every prefix; so does this, with the tail of
        // the client's first line after the header.
        complete(&h, header("[2001:db8::1]:51000", "[2001:db8::2]:6697"));
        let mut stream = h.clone();
        stream.extend_from_slice(b"\x16\x03\x01");
        for k in 0..h.len() {
            assert_eq!(parse(&stream[..k]), Ok(None), "{k}");
        }
        assert_eq!(parse(&stream).map(|r| r.map(|(_, n)| n)), Ok(Some(h.len())));
    }

    // ----- trust -----

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn trusted_proxies() {
        let trusted = nets(&["127.0.0.0/8", "::1"]);
        for ok in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
            assert!(is_trusted(ok.parse().unwrap(), &trusted), "{ok}");
        }
        for no in ["128.0.0.1", "10.0.0.1", "::2", "::ffff:10.0.0.1", "fe80::1"] {
            assert!(!is_trusted(no.parse().unwrap(), &trusted), "{no}");
        }
        assert!(!is_trusted("127.0.0.1".parse().unwrap(), &[]));
        let lan = nets(&["10.0.0.0/8", "fd00::/8", "192.168.1.7"]);
        assert!(is_trusted("10.9.8.7".parse().unwrap(), &lan));
        assert!(is_trusted("fdab::1".parse().unwrap(), &lan));
        assert!(!is_trusted("fe00::1".parse().unwrap(), &lan));
        assert!(is_trusted("192.168.1.7".parse().unwrap(), &lan));
        assert!(!is_trusted("192.168.1.8".parse().unwrap(), &lan));
        assert!(is_trusted("::ffff:10.1.1.1".parse().unwrap(), &lan));
        // Everything.
        let any = nets(&["0.0.0.0/0", "::/0"]);
        assert!(is_trusted("203.0.113.5".parse().unwrap(), &any));
        assert!(is_trusted("2001:db8::5".parse().unwrap(), &any));
    }

    #[test]
    fn cidr_parsing() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert_eq!((n.addr, n.prefix), ("10.0.0.0".parse().unwrap(), 8));
        assert_eq!("127.0.0.1".parse::<IpNet>().unwrap().prefix, 32);
        assert_eq!("::1".parse::<IpNet>().unwrap().prefix, 128);
        assert_eq!("fd00::/8".parse::<IpNet>().unwrap().prefix, 8);
        assert_eq!("0.0.0.0/0".parse::<IpNet>().unwrap().prefix, 0);
        assert_eq!("fd00::/8".parse::<IpNet>().unwrap().to_string(), "fd00::/8");
        assert_eq!(
            "127.0.0.1".parse::<IpNet>().unwrap().to_string(),
            "127.0.0.1/32"
        );
        for bad in [
            "",
            "/8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/-1",
            "10.0.0.0/8/8",
            "localhost",
            "10.0.0",
            "[::1]",
            "::1/+8",
            " 10.0.0.0/8",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
    }
}
