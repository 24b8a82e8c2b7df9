//! One WebSocket connection's layer between the bytes of the stream (after
//! TLS, if any) and the IRC lines: the upgrade handshake (or the built-in
//! page, or an HTTP error), then frames in → lines, lines out → frames.
//! Uses the sans-I/O codec in `websocket`; reads and writes nothing
//! itself: `server` moves the bytes. Imports `net::websocket` and
//! `state::sendq` (to frame whole queued lines).

use std::net::IpAddr;

use super::websocket::{
    encode_close, encode_line, encode_pong, CloseCode, Decoder, Event, Handshake, WsPolicy,
    FRAME_MAX,
};
use crate::limits::{LINE_MAX, WS_OUT_HIGH as OUT_HIGH};
use crate::state::sendq::SendQueue;

/// Where a WebSocket connection is.
enum Stage {
    /// Waiting for the HTTP request.
    Handshake,
    /// Upgraded: frames both ways (binary frames out only with
    /// `binary.ircv3.net`).
    Open { binary: bool, decoder: Box<Decoder> },
    /// An HTTP answer or a close frame is queued; nothing more is read,
    /// and the connection closes once `out` is written.
    Closing,
}

/// What happened while taking bytes in, for the loop to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Note {
    /// Nothing the loop must do.
    Nothing,
    /// The upgrade succeeded; `forwarded` is the client's address from
    /// `X-Forwarded-For` when the peer is a trusted proxy.
    Upgraded { forwarded: Option<IpAddr> },
    /// Close once `out` is written (an HTTP answer, a close frame); the
    /// reason is for the log and the quit message.
    Close(String),
}

/// The WebSocket side of one connection.
pub struct WsConn {
    stage: Stage,
    /// Bytes read (after TLS) but not yet decoded.
    raw: Vec<u8>,
    /// Bytes for the stream (before TLS): the HTTP answer, frames.
    pub out: Vec<u8>,
}

impl Default for WsConn {
    fn default() -> WsConn {
        WsConn::new()
    }
}

impl WsConn {
    pub fn new() -> WsConn {
        WsConn {
            stage: Stage::Handshake,
            raw: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Upgraded and not closing: queued lines go out as frames.
    pub fn is_open(&self) -> bool {
        matches!(self.stage, Stage::Open { .. })
    }

    /// Undecoded bytes are waiting (the line buffer was full).
    pub fn has_input(&self) -> bool {
        !self.raw.is_empty() && !matches!(self.stage, Stage::Closing)
    }

    /// Takes bytes from the stream and decodes what it can: the handshake,
    /// then frames, whose lines are appended (each with `\n`) to `lines`
    /// until it holds `LINE_MAX * 2` bytes; the rest waits in `raw`.
    /// `page` is the built-in web page's HTTP answer; `trusted` says
    /// whether a peer may give `X-Forwarded-For`.
    pub fn take_in(
        &mut self,
        data: &[u8],
        lines: &mut Vec<u8>,
        policy: &WsPolicy,
        peer: IpAddr,
        trusted: impl Fn(IpAddr) -> bool,
        page: impl FnOnce() -> Vec<u8>,
    ) -> Note {
        if matches!(self.stage, Stage::Closing) {
            return Note::Nothing;
        }
        self.raw.extend_from_slice(data);
        let mut note = Note::Nothing;
        if matches!(self.stage, Stage::Handshake) {
            match Handshake::parse(&self.raw, policy) {
                Ok(None) => return Note::Nothing,
                Ok(Some((Handshake::Upgrade(req), used))) => {
                    self.raw.drain(..used);
                    self.out.extend_from_slice(&req.response());
                    let real = req.real_ip(peer, trusted);
                    note = Note::Upgraded {
                        forwarded: (real != peer).then_some(real),
                    };
                    self.stage = Stage::Open {
                        binary: req.binary(),
                        decoder: Box::default(),
                    };
                }
                Ok(Some((Handshake::Page, _))) => {
                    self.out.extend_from_slice(&page());
                    return self.close_now("served the web page");
                }
                Err(e) => {
                    self.out.extend_from_slice(&e.response());
                    return self.close_now(&format!("HTTP {}: {}", e.status.code(), e.reason));
                }
            }
        }
        match self.decode(lines) {
            Note::Nothing => note,
            other => other,
        }
    }

    /// Decodes frames already read, into `lines` (see `take_in`).
    pub fn decode(&mut self, lines: &mut Vec<u8>) -> Note {
        let Stage::Open { decoder, .. } = &mut self.stage else {
            return Note::Nothing;
        };
        let mut pos = 0;
        let mut closing = None;
        while lines.len() < LINE_MAX * 2 {
            match decoder.decode(&mut self.raw[pos..]) {
                Ok(None) => break,
                Ok(Some((event, used))) => {
                    match event {
                        Event::Line(l) => {
                            lines.extend_from_slice(l);
                            lines.push(b'\n');
                        }
                        Event::Ping(p) => encode_pong(p, &mut self.out),
                        Event::Close(code) => {
                            encode_close(code, &mut self.out);
                            closing = Some("WebSocket closed by the client".to_string());
                        }
                        Event::Nothing => {}
                    }
                    pos += used;
                    if closing.is_some() {
                        break;
                    }
                }
                Err(e) => {
                    encode_close(e.code, &mut self.out);
                    closing = Some(e.to_string());
                    break;
                }
            }
        }
        self.raw.drain(..pos);
        if self.raw.is_empty() && self.raw.capacity() > FRAME_MAX {
            self.raw = Vec::new();
        }
        match closing {
            Some(why) => {
                self.stage = Stage::Closing;
                self.raw = Vec::new();
                Note::Close(why)
            }
            None => Note::Nothing,
        }
    }

    fn close_now(&mut self, why: &str) -> Note {
        self.stage = Stage::Closing;
        self.raw = Vec::new();
        Note::Close(why.to_string())
    }

    /// Moves whole queued lines from `sendq` into `out` as frames (one
    /// frame per line, CR LF cut), until `out` holds `OUT_HIGH` bytes.
    /// Before the upgrade (or when closing) the queue is dropped: an HTTP
    /// client cannot read IRC lines.
    pub fn frame(&mut self, sendq: &mut SendQueue) {
        let binary = match &self.stage {
            Stage::Open { binary, .. } => *binary,
            _ => {
                sendq.clear();
                return;
            }
        };
        let mut line: Vec<u8> = Vec::new();
        while !sendq.is_empty() && self.out.len() < OUT_HIGH {
            // Gather one line (queued lines are whole, CR LF ended).
            let mut slices = [std::io::IoSlice::new(&[]); 16];
            let n = sendq.fill(&mut slices);
            let mut taken = 0;
            let mut done = false;
            for s in &slices[..n] {
                match s.iter().position(|&b| b == b'\n') {
                    Some(lf) => {
                        line.extend_from_slice(&s[..lf]);
                        taken += lf + 1;
                        done = true;
                        break;
                    }
                    None => {
                        line.extend_from_slice(s);
                        taken += s.len();
                    }
                }
            }
            if !done {
                // Not a whole line (cannot happen: lines are queued whole).
                break;
            }
            sendq.consume(taken);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            encode_line(&line, binary, &mut self.out);
            line.clear();
        }
    }

    /// The close frame for a connection the server ends (after its ERROR
    /// line), when the upgrade happened.
    pub fn goodbye(&mut self) {
        if self.is_open() {
            encode_close(CloseCode::Normal, &mut self.out);
            self.stage = Stage::Closing;
        }
    }
}
