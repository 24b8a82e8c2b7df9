//! Fuzzes `net::websocket`: the handshake parser and the frame decoder,
//! driven the way the connection drives them, plus `encode_line` on every
//! line decoded.
//!
//! The first input byte picks the set-up: bit 0 an `Origin` allow list or
//! none; bit 1 whether the rest is raw bytes or a list of frame specs
//! (`[first byte, length, payload…]`, written as masked client frames, so
//! that fragments, control frames and closes are reached often); the high
//! six bits the read size (1 to 64 bytes per "read").
//!
//! Always asserted:
//! - `Handshake::parse` never panics; a complete head uses at least one and
//!   at most the given bytes; `Ok(None)` only below `HANDSHAKE_MAX`; every
//!   error's answer and every 101 is a whole HTTP head; at most `XFF_MAX`
//!   forwarded hops are kept;
//! - the decoder never panics, consumes at least one byte per event and no
//!   more than it was given, always makes progress once `FRAME_MAX` bytes
//!   are buffered (so the connection's raw buffer is bounded), and stops
//!   for good after a close or an error;
//! - a line is non-empty, at most `MESSAGE_MAX` bytes and has no trailing
//!   CR/LF; a ping payload is at most 125 bytes;
//! - `encode_line` of a line in text mode is one text frame whose payload
//!   is UTF-8, and in binary mode one binary frame whose payload is the line.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use picoircd::net::websocket::{
    encode_line, Decoder, Event, Handshake, WsPolicy, FRAME_MAX, HANDSHAKE_MAX, MESSAGE_MAX,
    XFF_MAX,
};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

fuzz_target!(|data: &[u8]| {
    let Some((&setup, rest)) = data.split_first() else {
        return;
    };
    let policy = WsPolicy {
        allowed_origins: if setup & 1 == 1 {
            vec!["https://*.example.org".into(), "http://localhost:*".into()]
        } else {
            Vec::new()
        },
    };
    handshake(rest, &policy);
    let stream = if setup & 2 == 2 {
        frames(rest)
    } else {
        rest.to_vec()
    };
    decode(&stream, usize::from(setup >> 2) + 1);
});

fn handshake(buf: &[u8], policy: &WsPolicy) {
    match Handshake::parse(buf, policy) {
        Ok(None) => assert!(buf.len() < HANDSHAKE_MAX),
        Ok(Some((outcome, used))) => {
            assert!(used > 0 && used <= buf.len().min(HANDSHAKE_MAX));
            if let Handshake::Upgrade(req) = outcome {
                let resp = req.response();
                assert!(resp.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
                assert!(resp.ends_with(b"\r\n\r\n"));
                assert!(req.forwarded_for.len() <= XFF_MAX);
            }
        }
        Err(e) => {
            let resp = e.response();
            assert!(resp.starts_with(b"HTTP/1.1 4"));
            assert!(resp.windows(4).any(|w| w == b"\r\n\r\n"));
        }
    }
}

/// `[first byte, length, payload…]` records as masked client frames.
fn frames(mut spec: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let [first, len, rest @ ..] = spec {
        let n = usize::from(*len).min(rest.len());
        let (payload, tail) = rest.split_at(n);
        spec = tail;
        let opcode = first & 0x0f;
        if matches!(opcode, 3..=7 | 11..=15) {
            // A reserved opcode, written by hand (OpCode would refuse it).
            out.extend_from_slice(&[*first, 0x80 | n as u8, 1, 2, 3, 4]);
        } else {
            let header = FrameHeader {
                is_final: first & 0x80 != 0,
                rsv1: first & 0x40 != 0,
                rsv2: false,
                rsv3: false,
                opcode: OpCode::from(opcode),
                mask: Some([1, 2, 3, 4]),
            };
            header.format(n as u64, &mut out).unwrap();
        }
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i & 3]));
    }
    out
}

/// Feeds `stream` `step` bytes at a time, decoding as the loop would.
fn decode(stream: &[u8], step: usize) {
    let mut dec = Decoder::new();
    let mut raw: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    for chunk in stream.chunks(step) {
        raw.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            let before = raw.len() - pos;
            match dec.decode(&mut raw[pos..]) {
                Ok(None) => {
                    assert!(dec.is_done() || before < FRAME_MAX, "no progress");
                    break;
                }
                Ok(Some((event, used))) => {
                    assert!(used > 0 && used <= before);
                    let close = matches!(event, Event::Close(_));
                    match event {
                        Event::Line(line) => {
                            assert!(!line.is_empty() && line.len() <= MESSAGE_MAX);
                            assert!(!matches!(line.last(), Some(b'\r' | b'\n')));
                            check_encode(line, &mut frames);
                        }
                        Event::Ping(payload) => assert!(payload.len() <= 125),
                        Event::Close(_) | Event::Nothing => {}
                    }
                    pos += used;
                    if close {
                        assert!(dec.is_done());
                    }
                }
                Err(_) => {
                    assert!(dec.is_done());
                    assert_eq!(dec.decode(&mut raw[pos..]), Ok(None));
                    return;
                }
            }
        }
        raw.drain(..pos);
        if dec.is_done() {
            return;
        }
    }
}

fn check_encode(line: &[u8], out: &mut Vec<u8>) {
    for binary in [false, true] {
        out.clear();
        encode_line(line, binary, out);
        let mut cursor = Cursor::new(&out[..]);
        let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        let payload = &out[cursor.position() as usize..];
        assert!(header.is_final && header.mask.is_none());
        assert_eq!(len as usize, payload.len());
        if binary {
            assert_eq!(header.opcode, OpCode::Data(Data::Binary));
            assert_eq!(payload, line);
        } else {
            assert_eq!(header.opcode, OpCode::Data(Data::Text));
            assert!(std::str::from_utf8(payload).is_ok());
        }
    }
}
