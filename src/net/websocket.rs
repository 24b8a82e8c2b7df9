//! The WebSocket transport (RFC 6455 and the IRCv3 WebSocket spec,
//! <https://ircv3.net/specs/extensions/websocket>) as a sans-I/O codec:
//! bytes in, lines/events/bytes out. The connection owns the buffers and the
//! socket; this module only looks at slices it is handed.
//!
//! - [`Handshake::parse`] reads the HTTP/1.1 upgrade request from the start
//!   of the read buffer and checks it (method, `Upgrade`, `Connection`,
//!   version 13, key, `Origin` allow list), picks the IRCv3 subprotocol, and
//!   parses `X-Forwarded-For` (the caller decides whom to trust, with
//!   [`Request::real_ip`]). A plain `GET /` without an upgrade is
//!   [`Handshake::Page`], so the listener can serve the web chat page.
//! - [`Decoder`] turns masked client frames into [`Event`]s: one IRC line per
//!   message, pings to answer, a close to echo. Every protocol violation is a
//!   [`WsError`] carrying the close code to send.
//! - [`encode_line`], [`encode_pong`] and [`encode_close`] write server frames.
//!
//! Everything is bounded: the request by [`HANDSHAKE_MAX`], a message by
//! [`MESSAGE_MAX`] (so the raw buffer never needs more than [`FRAME_MAX`]),
//! a fragmented message by [`MAX_FRAGMENTS`]. No input panics (a fuzz target,
//! `fuzz/fuzz_targets/websocket.rs`, checks it).
//!
//! tungstenite supplies the standard pieces: the accept key
//! (`derive_accept_key`), the frame header codec (`FrameHeader::parse` over a
//! cursor on the caller's buffer, `FrameHeader::format` into a `Vec`) and the
//! close codes. Its `WebSocket<S>` is not used: it wants a blocking stream.
//! HTTP is parsed with `httparse` (what tungstenite's handshake uses) into a
//! fixed header array, borrowing from the buffer.
//!
//! No I/O, no clock, no global state, no per-connection state besides the
//! [`Decoder`]; imports `limits` and `proto::mask` (origin globs) only,
//! besides tungstenite and httparse. It must not import `state`, `config`,
//! mio or sockets: the connection (`net::conn`) drives it.
//!
//! How the connection drives it (`raw`: bytes read from the socket or from
//! TLS; `lines`: the usual LF-separated line buffer; `out`: the sendq):
//!
//! ```
//! use picoircd::net::websocket::*;
//!
//! let policy = WsPolicy::default(); // from the listener's config, once
//! let mut raw = b"GET / HTTP/1.1\r\nHost: pi\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n\
//!     \x81\x84\x00\x00\x00\x00PING"
//!     .to_vec();
//! let (mut lines, mut out) = (Vec::new(), Vec::new());
//!
//! // 1. Until upgraded: the head at the start of `raw`.
//! let req = match Handshake::parse(&raw, &policy) {
//!     Ok(None) => return, // read more (it errs by itself past HANDSHAKE_MAX)
//!     Ok(Some((Handshake::Upgrade(req), used))) => {
//!         raw.drain(..used);
//!         out.extend_from_slice(&req.response());
//!         req // keep req.binary(); real IP: req.real_ip(peer, |ip| trusted(ip))
//!     }
//!     Ok(Some((Handshake::Page, _used))) => return, // serve the page, close
//!     Err(e) => {
//!         out.extend_from_slice(&e.response()); // log e, flush, close
//!         return;
//!     }
//! };
//!
//! // 2. Then frames: decode all complete ones (or up to the turn's budget).
//! let mut dec = Decoder::new(); // one per connection
//! let mut pos = 0;
//! loop {
//!     match dec.decode(&mut raw[pos..]) {
//!         Ok(None) => break, // read more; keep up to FRAME_MAX bytes
//!         Ok(Some((event, used))) => {
//!             match event {
//!                 Event::Line(line) => {
//!                     lines.extend_from_slice(line);
//!                     lines.push(b'\n');
//!                 }
//!                 Event::Ping(payload) => encode_pong(payload, &mut out),
//!                 Event::Close(code) => encode_close(code, &mut out), // then close
//!                 Event::Nothing => {}
//!             }
//!             pos += used;
//!         }
//!         Err(e) => {
//!             encode_close(e.code, &mut out); // log e, flush, close
//!             break;
//!         }
//!     }
//! }
//! raw.drain(..pos);
//! assert_eq!(lines, b"PING\n");
//!
//! // 3. Output: each line of the sendq becomes one frame.
//! encode_line(b":pi PONG pi :x", req.binary(), &mut out);
//! ```

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

pub use tungstenite::protocol::frame::coding::CloseCode;

use crate::limits::{LINE_MAX, WS_HEADERS_MAX as HEADERS_MAX};
pub use crate::limits::{
    WS_FRAGMENTS_MAX as MAX_FRAGMENTS, WS_HANDSHAKE_MAX as HANDSHAKE_MAX, WS_XFF_MAX as XFF_MAX,
};
use crate::proto::mask;

/// The longest client message (one IRC line, after reassembly). A longer
/// one closes with 1009; lines up to it still go through `line::check`, so a
/// line that is merely over the IRC limits gets 417 as on TCP.
pub const MESSAGE_MAX: usize = LINE_MAX;
/// The longest frame header (2 + 8 length bytes + 4 mask bytes).
const HEADER_MAX: usize = 14;
/// The most raw bytes [`Decoder::decode`] needs at once to make progress:
/// the connection's raw buffer must be able to hold this much.
pub const FRAME_MAX: usize = MESSAGE_MAX + HEADER_MAX;
/// RFC 6455 5.5: control frames carry at most 125 bytes.
const CONTROL_MAX: usize = 125;

/// The IRCv3 subprotocols.
pub const TEXT_PROTOCOL: &str = "text.ircv3.net";
pub const BINARY_PROTOCOL: &str = "binary.ircv3.net";

// ----- the handshake -------------------------------------------------------

/// What a WebSocket listener accepts in a handshake (from its config).
#[derive(Debug, Clone, Default)]
pub struct WsPolicy {
    /// Allowed `Origin` values, globs (`https://*.example.org`), ASCII case
    /// insensitive. Empty: any origin, or none. Not empty: a request without
    /// an `Origin` is refused too (as Ergo does).
    pub allowed_origins: Vec<String>,
}

/// The negotiated IRCv3 subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subprotocol {
    /// `text.ircv3.net`: text frames both ways.
    Text,
    /// `binary.ircv3.net`: binary frames both ways.
    Binary,
}

impl Subprotocol {
    pub fn name(self) -> &'static str {
        match self {
            Subprotocol::Text => TEXT_PROTOCOL,
            Subprotocol::Binary => BINARY_PROTOCOL,
        }
    }
}

/// A request head, parsed and accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    /// A valid WebSocket upgrade: answer with [`Request::response`], then
    /// frames follow.
    Upgrade(Request),
    /// A plain `GET /` (no upgrade asked): the built-in web page. The
    /// connection answers with the page and closes.
    Page,
}

/// An accepted WebSocket upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `Sec-WebSocket-Accept` for the response.
    accept: String,
    /// The subprotocol chosen; `None`: none was asked for (or none we
    /// know), so text frames, no `Sec-WebSocket-Protocol` in the response.
    pub subprotocol: Option<Subprotocol>,
    /// `X-Forwarded-For`, all headers joined in order, nearest hop last:
    /// only the hops after the last unparsable entry, at most [`XFF_MAX`].
    pub forwarded_for: Vec<IpAddr>,
    /// `X-Forwarded-Proto` said `https` (meaningful from a trusted proxy only).
    pub forwarded_https: bool,
}

/// The HTTP statuses the handshake answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    UpgradeRequired,
    HeadersTooLarge,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::UpgradeRequired => 426,
            Status::HeadersTooLarge => 431,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::UpgradeRequired => "Upgrade Required",
            Status::HeadersTooLarge => "Request Header Fields Too Large",
        }
    }
}

/// A refused request: the status to answer with and why (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeError {
    pub status: Status,
    pub reason: &'static str,
}

impl HandshakeError {
    fn new(status: Status, reason: &'static str) -> HandshakeError {
        HandshakeError { status, reason }
    }

    /// The HTTP answer ([`http_error`] with the reason in the body).
    pub fn response(&self) -> Vec<u8> {
        http_response(self.status, self.reason)
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.code(),
            self.status.text(),
            self.reason
        )
    }
}

impl std::error::Error for HandshakeError {}

impl Handshake {
    /// Parses the request head at the start of `buf`. `Ok(None)`: incomplete,
    /// read more (an error once [`HANDSHAKE_MAX`] bytes hold no complete
    /// head). `Ok(Some((outcome, used)))`: `used` bytes were the head; any
    /// bytes after it are the client's first frames. `Err`: answer with
    /// [`HandshakeError::response`] and close.
    pub fn parse(
        buf: &[u8],
        policy: &WsPolicy,
    ) -> Result<Option<(Handshake, usize)>, HandshakeError> {
        let head = &buf[..buf.len().min(HANDSHAKE_MAX)];
        let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
        let mut req = httparse::Request::new(&mut headers);
        let used = match req.parse(head) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) if buf.len() >= HANDSHAKE_MAX => {
                return Err(HandshakeError::new(
                    Status::HeadersTooLarge,
                    "request head too long",
                ))
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::new(
                    Status::HeadersTooLarge,
                    "too many header lines",
                ))
            }
            Err(_) => return Err(HandshakeError::new(Status::BadRequest, "not HTTP")),
        };
        let h = Headers(req.headers);
        if req.method != Some("GET") {
            return Err(HandshakeError::new(
                Status::MethodNotAllowed,
                "only GET is served",
            ));
        }
        let path = req.path.unwrap_or("");
        let upgrade = h.has_token("upgrade", "websocket");
        if !upgrade && !h.has("sec-websocket-key") && !h.has("sec-websocket-version") {
            // A plain HTTP request: the page at `/`, nothing else.
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            return if path == "/" {
                Ok(Some((Handshake::Page, used)))
            } else {
                Err(HandshakeError::new(Status::NotFound, "no such page"))
            };
        }
        let request = check_upgrade(&h, req.version, upgrade, policy)?;
        Ok(Some((Handshake::Upgrade(request), used)))
    }
}

/// RFC 6455 4.2.1/4.2.2 checks, then the subprotocol and the proxy headers.
/// Any path is accepted (clients are configured with `wss://host:port/` or a
/// path a reverse proxy forwards).
fn check_upgrade(
    h: &Headers<'_, '_>,
    version: Option<u8>,
    upgrade: bool,
    policy: &WsPolicy,
) -> Result<Request, HandshakeError> {
    let bad = |reason| Err(HandshakeError::new(Status::BadRequest, reason));
    if version != Some(1) {
        return bad("WebSocket needs HTTP/1.1");
    }
    if !h.has("host") {
        return bad("no Host header");
    }
    if !upgrade {
        return bad("no Upgrade: websocket header");
    }
    if !h.has_token("connection", "upgrade") {
        return bad("no Connection: upgrade header");
    }
    match h.single("sec-websocket-version") {
        Some(Some("13")) => {}
        Some(Some(_)) => {
            return Err(HandshakeError::new(
                Status::UpgradeRequired,
                "only WebSocket version 13 is supported",
            ))
        }
        Some(None) => return bad("bad Sec-WebSocket-Version header"),
        None => return bad("no Sec-WebSocket-Version header"),
    }
    let key = match h.single("sec-websocket-key") {
        Some(Some(key)) if valid_key(key) => key,
        Some(_) => return bad("bad Sec-WebSocket-Key header"),
        None => return bad("no Sec-WebSocket-Key header"),
    };
    if !policy.allowed_origins.is_empty() {
        let allowed = match h.single("origin") {
            Some(Some(origin)) => policy
                .allowed_origins
                .iter()
                .any(|glob| mask::matches(glob, origin)),
            _ => false,
        };
        if !allowed {
            return Err(HandshakeError::new(Status::Forbidden, "origin not allowed"));
        }
    }
    Ok(Request {
        accept: derive_accept_key(key.as_bytes()),
        subprotocol: choose_subprotocol(h),
        forwarded_for: forwarded_for(h),
        forwarded_https: h
            .values("x-forwarded-proto")
            .next()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")),
    })
}

/// The first protocol in the client's list that we speak: the IRCv3 spec
/// says "the server MUST accept any subprotocol it supports, respecting the
/// client's order of preference". Names are compared exactly (the browser
/// fails the connection unless the answer is one of its own strings).
fn choose_subprotocol(h: &Headers<'_, '_>) -> Option<Subprotocol> {
    h.values("sec-websocket-protocol")
        .flat_map(|v| v.split(','))
        .find_map(|p| match p.trim() {
            TEXT_PROTOCOL => Some(Subprotocol::Text),
            BINARY_PROTOCOL => Some(Subprotocol::Binary),
            _ => None,
        })
}

/// `X-Forwarded-For` hops, nearest last. An entry that is not an address
/// (`unknown`, a name) ends what can be believed: only the hops after it
/// are kept, as Ergo's walk from the right stops there.
/// Split as bytes: a proxy that appends to a client's header keeps the
/// client's bytes, which need not be text, in front of the hops it adds.
fn forwarded_for(h: &Headers<'_, '_>) -> Vec<IpAddr> {
    let mut hops = Vec::new();
    let entries =
        h.0.iter()
            .filter(|h| h.name.eq_ignore_ascii_case("x-forwarded-for"))
            .flat_map(|h| h.value.split(|&b| b == b','));
    for entry in entries {
        let hop = std::str::from_utf8(entry)
            .ok()
            .and_then(|e| parse_hop(e.trim()));
        match hop {
            Some(ip) => {
                if hops.len() == XFF_MAX {
                    hops.remove(0);
                }
                hops.push(ip);
            }
            None => hops.clear(),
        }
    }
    hops
}

/// An address, also with a port (`1.2.3.4:5`, `[::1]:5`) or brackets (`[::1]`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

/// RFC 6455 4.2.1: a base64 value that decodes to 16 bytes, i.e. 22 base64
/// characters, the last with its low 4 bits zero (canonical), then `==`.
fn valid_key(key: &str) -> bool {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = key.as_bytes();
    if b.len() != 24 || &b[22..] != b"==" {
        return false;
    }
    let mut last = 0;
    for &c in &b[..22] {
        match ALPHABET.iter().position(|&a| a == c) {
            Some(v) => last = v,
            None => return false,
        }
    }
    last & 0x0f == 0
}

impl Request {
    /// The `101 Switching Protocols` answer, with the chosen subprotocol.
    /// No extension is accepted (permessage-deflate offers are ignored).
    pub fn response(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: ",
        );
        out.extend_from_slice(self.accept.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(p) = self.subprotocol {
            out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            out.extend_from_slice(p.name().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Binary frames out (only with `binary.ircv3.net`). Text otherwise:
    /// Kiwi IRC drops the connection on any binary frame.
    pub fn binary(&self) -> bool {
        self.subprotocol == Some(Subprotocol::Binary)
    }

    /// The client's address: `peer` unless `peer` is a trusted proxy; then
    /// the `X-Forwarded-For` chain is walked from the right, past trusted
    /// proxies, to the first untrusted address (what the last trusted proxy
    /// saw). If every hop is trusted, the leftmost kept hop.
    pub fn real_ip(&self, peer: IpAddr, trusted: impl Fn(IpAddr) -> bool) -> IpAddr {
        let mut ip = peer;
        if !trusted(peer) {
            return ip;
        }
        for &hop in self.forwarded_for.iter().rev() {
            ip = hop;
            if !trusted(hop) {
                break;
            }
        }
        ip
    }
}

/// An HTTP error answer with `Connection: close` and a short text body
/// (426 also says `Sec-WebSocket-Version: 13`, 405 `Allow: GET`).
pub fn http_error(status: Status) -> Vec<u8> {
    http_response(status, "")
}

fn http_response(status: Status, reason: &str) -> Vec<u8> {
    let body = if reason.is_empty() {
        format!("{} {}\n", status.code(), status.text())
    } else {
        format!("{} {}: {}\n", status.code(), status.text(), reason)
    };
    let extra = match status {
        Status::UpgradeRequired => "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
        Status::MethodNotAllowed => "Allow: GET\r\n",
        _ => "",
    };
    format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\n{extra}\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        status.code(),
        status.text(),
        body.len(),
    )
    .into_bytes()
}

/// Header lookups over httparse's array (names are case-insensitive; a
/// header may repeat, and list-valued ones are joined in order).
struct Headers<'h, 'b>(&'h [httparse::Header<'b>]);

impl<'b> Headers<'_, 'b> {
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// Every value of `name` that is text (others are skipped).
    fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b str> + 's {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
    }

    /// A header that must appear once: `None` if absent, `Some(None)` if
    /// repeated or not text, else its trimmed value.
    fn single(&self, name: &str) -> Option<Option<&'b str>> {
        let mut it = self.0.iter().filter(|h| h.name.eq_ignore_ascii_case(name));
        let first = it.next()?;
        if it.next().is_some() {
            return Some(None);
        }
        Some(std::str::from_utf8(first.value).ok().map(str::trim))
    }

    /// A comma-separated token list holds `token` (case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

// ----- frames in -----------------------------------------------------------

/// What one client frame asks of the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete message: one IRC line, trailing CR/LF already stripped.
    /// Append it and `\n` to the line buffer. A message with an LF inside
    /// (the IRCv3 spec says one line per message) thus becomes several
    /// lines, exactly as the same bytes on a TCP connection would: each goes
    /// through the usual checks and fakelag, and nothing new is possible.
    Line(&'a [u8]),
    /// The client pinged: answer with [`encode_pong`] of this payload.
    Ping(&'a [u8]),
    /// The client closed: answer with [`encode_close`] of this code (its
    /// own, echoed), flush, then close the socket. The decoder is done.
    Close(CloseCode),
    /// Nothing to do (a fragment of a message, a pong, an empty message).
    Nothing,
}

/// A protocol violation: send [`encode_close`] of `code`, flush and close.
/// `reason` is for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsError {
    pub code: CloseCode,
    pub reason: &'static str,
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebSocket {}: {}", u16::from(self.code), self.reason)
    }
}

impl std::error::Error for WsError {}

/// The state of one connection's incoming frames: a fragmented message
/// being assembled (at most [`MESSAGE_MAX`] bytes, allocated only while a
/// fragmented message is open), and whether the stream has ended.
#[derive(Debug, Default)]
pub struct Decoder {
    msg: Assembly,
    /// A close was received or a violation found: nothing more is decoded.
    done: bool,
}

/// A fragmented message being put together.
#[derive(Debug, Default)]
struct Assembly {
    /// The fragments so far.
    partial: Vec<u8>,
    /// A fragmented message is open: is it text (UTF-8 checked at its end)?
    open: Option<bool>,
    /// Frames in the open message.
    fragments: usize,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The stream has ended (a close event or an error was returned).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes at most one frame from the start of `buf` (unmasking it in
    /// place). `Ok(None)`: the frame is incomplete (or the decoder is done);
    /// read more, keeping up to [`FRAME_MAX`] bytes. `Ok(Some((event,
    /// used)))`: drop `used` bytes once the event is handled, then call
    /// again. `Err`: close with its code. An oversized or unmasked frame is
    /// refused from its header alone, before its payload is buffered.
    pub fn decode<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> Result<Option<(Event<'a>, usize)>, WsError> {
        if self.msg.open.is_none() && self.msg.partial.capacity() > 0 {
            // The last fragmented message was handed out (or the stream
            // ended): free its buffer.
            self.msg.partial = Vec::new();
        }
        if self.done {
            return Ok(None);
        }
        let result = self.msg.frame(buf);
        if matches!(result, Err(_) | Ok(Some((Event::Close(_), _)))) {
            self.done = true;
        }
        result
    }
}

impl Assembly {
    fn frame<'a>(&'a mut self, buf: &'a mut [u8]) -> Result<Option<(Event<'a>, usize)>, WsError> {
        use CloseCode::{Invalid, Policy, Protocol, Size};
        let mut cursor = Cursor::new(&buf[..]);
        let (header, len) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok(None),
            Err(_) => return self.fail(Protocol, "reserved opcode"),
        };
        let start = cursor.position() as usize;
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return self.fail(Protocol, "reserved bits set (no extension was agreed)");
        }
        let Some(mask) = header.mask else {
            return self.fail(Protocol, "unmasked client frame");
        };
        let control = matches!(header.opcode, OpCode::Control(_));
        if control && (!header.is_final || len > CONTROL_MAX as u64) {
            return self.fail(Protocol, "fragmented or oversized control frame");
        }
        // Limits from the header alone, before waiting for the payload.
        let so_far = if header.opcode == OpCode::Data(Data::Continue) {
            self.partial.len() as u64
        } else {
            0
        };
        if !control && so_far.saturating_add(len) > MESSAGE_MAX as u64 {
            return self.fail(Size, "message too long");
        }
        let len = len as usize; // <= MESSAGE_MAX, or <= 125 for control frames
        let end = start + len;
        if buf.len() < end {
            return Ok(None);
        }
        let payload = &mut buf[start..end];
        unmask(payload, mask);
        let payload = &*payload;
        let event = match header.opcode {
            OpCode::Data(Data::Text | Data::Binary) if self.open.is_some() => {
                return self.fail(Protocol, "new message inside a fragmented one");
            }
            OpCode::Data(kind @ (Data::Text | Data::Binary)) => {
                let text = kind == Data::Text;
                if header.is_final {
                    return message(payload, text).map(|ev| Some((ev, end)));
                }
                self.open = Some(text);
                self.fragments = 1;
                self.partial.clear();
                self.partial.extend_from_slice(payload);
                Event::Nothing
            }
            OpCode::Data(Data::Continue) => {
                let Some(text) = self.open else {
                    return self.fail(Protocol, "continuation without a message");
                };
                self.fragments += 1;
                if self.fragments > MAX_FRAGMENTS {
                    return self.fail(Policy, "too many fragments");
                }
                self.partial.extend_from_slice(payload);
                if !header.is_final {
                    Event::Nothing
                } else {
                    self.open = None;
                    return message(&self.partial, text).map(|ev| Some((ev, end)));
                }
            }
            OpCode::Control(Control::Ping) => Event::Ping(payload),
            OpCode::Control(Control::Pong) => Event::Nothing,
            OpCode::Control(Control::Close) => match payload {
                [] => Event::Close(CloseCode::Normal),
                [_] => return self.fail(Protocol, "one-byte close payload"),
                [hi, lo, reason @ ..] => {
                    let code = CloseCode::from(u16::from_be_bytes([*hi, *lo]));
                    if !code.is_allowed() {
                        return self.fail(Protocol, "invalid close code");
                    }
                    if std::str::from_utf8(reason).is_err() {
                        return self.fail(Invalid, "close reason is not UTF-8");
                    }
                    Event::Close(code)
                }
            },
            // FrameHeader::parse refuses the reserved opcodes.
            OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_)) => {
                return self.fail(Protocol, "reserved opcode");
            }
        };
        Ok(Some((event, end)))
    }

    /// A violation: the open message is abandoned.
    fn fail<T>(&mut self, code: CloseCode, reason: &'static str) -> Result<T, WsError> {
        self.open = None;
        Err(WsError { code, reason })
    }
}

/// A complete message as a line: text must be UTF-8 (RFC 6455 8.1, close
/// 1007); a trailing CR LF, which the spec forbids but clients send, is cut.
fn message(payload: &[u8], text: bool) -> Result<Event<'_>, WsError> {
    if text && std::str::from_utf8(payload).is_err() {
        return Err(WsError {
            code: CloseCode::Invalid,
            reason: "text message is not UTF-8",
        });
    }
    let mut line = payload;
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    Ok(if line.is_empty() {
        Event::Nothing
    } else {
        Event::Line(line)
    })
}

/// RFC 6455 5.3 (tungstenite's `apply_mask` is private).
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

// ----- frames out ----------------------------------------------------------

fn header(opcode: OpCode, len: usize, out: &mut Vec<u8>) {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail.
    let _ = header.format(len as u64, out);
}

/// One server frame (unmasked, final) holding one IRC line; a trailing
/// CR LF is cut. Binary with `binary.ircv3.net` ([`Request::binary`]);
/// otherwise a text frame, with any invalid UTF-8 replaced by U+FFFD (the
/// IRCv3 spec: never non-UTF-8 in a text message, a browser would drop the
/// connection).
pub fn encode_line(line: &[u8], binary: bool, out: &mut Vec<u8>) {
    let mut line = line;
    while let [rest @ .., b'\r' | b'\n'] = line {
        line = rest;
    }
    if binary {
        header(OpCode::Data(Data::Binary), line.len(), out);
        out.extend_from_slice(line);
        return;
    }
    if std::str::from_utf8(line).is_ok() {
        header(OpCode::Data(Data::Text), line.len(), out);
        out.extend_from_slice(line);
        return;
    }
    const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
    let chunk_len = |c: std::str::Utf8Chunk<'_>| {
        c.valid().len()
            + if c.invalid().is_empty() {
                0
            } else {
                REPLACEMENT.len()
            }
    };
    let len = line.utf8_chunks().map(chunk_len).sum();
    header(OpCode::Data(Data::Text), len, out);
    for chunk in line.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice(REPLACEMENT);
        }
    }
}

/// The pong answering a ping (its payload, at most 125 bytes, echoed).
pub fn encode_pong(payload: &[u8], out: &mut Vec<u8>) {
    let payload = &payload[..payload.len().min(CONTROL_MAX)];
    header(OpCode::Control(Control::Pong), payload.len(), out);
    out.extend_from_slice(payload);
}

/// A close frame with `code` (no reason text). Codes that may not be sent
/// (1005, 1006, 1015, invalid ones) become 1000.
pub fn encode_close(code: CloseCode, out: &mut Vec<u8>) {
    let code = if code.is_allowed() {
        code
    } else {
        CloseCode::Normal
    };
    header(OpCode::Control(Control::Close), 2, out);
    out.extend_from_slice(&u16::from(code).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any() -> WsPolicy {
        WsPolicy::default()
    }

    /// A request head from lines (CR LF added).
    fn req(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(l.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    fn upgrade(buf: &[u8], policy: &WsPolicy) -> Request {
        match Handshake::parse(buf, policy) {
            Ok(Some((Handshake::Upgrade(r), used))) => {
                assert_eq!(used, buf.len());
                r
            }
            other => panic!("not an upgrade: {other:?}"),
        }
    }

    fn refused(buf: &[u8], policy: &WsPolicy) -> Status {
        match Handshake::parse(buf, policy) {
            Err(e) => e.status,
            other => panic!("not refused: {other:?}"),
        }
    }

    /// Chrome running Kiwi IRC (text.ircv3.net, an Origin, a deflate offer).
    const CHROME: &[&str] = &[
        "GET / HTTP/1.1",
        "Host: irc.example.org:8097",
        "Connection: Upgrade",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Upgrade: websocket",
        "Origin: https://kiwiirc.com",
        "Sec-WebSocket-Version: 13",
        "Accept-Encoding: gzip, deflate, br, zstd",
        "Accept-Language: en-US,en;q=0.9",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Protocol: text.ircv3.net",
    ];

    /// Firefox, no subprotocol (Kiwi's retry after a 1006), keep-alive too.
    const FIREFOX: &[&str] = &[
        "GET /webirc/ HTTP/1.1",
        "Host: irc.example.org:8097",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Accept: */*",
        "Accept-Language: en-US,en;q=0.5",
        "Accept-Encoding: gzip, deflate, br",
        "Sec-WebSocket-Version: 13",
        "Origin: http://localhost:8080",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
        "Connection: keep-alive, Upgrade",
        "Sec-Fetch-Dest: empty",
        "Sec-Fetch-Mode: websocket",
        "Sec-Fetch-Site: cross-site",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        "Upgrade: websocket",
    ];

    /// irc-framework on Node (the `ws` package): no Origin, lower-case names.
    const NODE_WS: &[&str] = &[
        "GET / HTTP/1.1",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Protocol: text.ircv3.net",
        "Host: 127.0.0.1:8097",
    ];

    fn with(base: &[&str], replace: &str, by: Option<&str>) -> Vec<u8> {
        let name = replace.split(':').next().unwrap();
        let mut lines: Vec<&str> = base
            .iter()
            .copied()
            .filter(|l| !l.split(':').next().unwrap().eq_ignore_ascii_case(name))
            .collect();
        if let Some(by) = by {
            lines.push(by);
        }
        req(&lines)
    }

    #[test]
    fn accept_key_is_rfc6455_section_1_3() {
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn kiwi_in_chrome_gets_text_subprotocol() {
        let r = upgrade(&req(CHROME), &any());
        assert_eq!(r.subprotocol, Some(Subprotocol::Text));
        assert!(!r.binary());
        assert_eq!(
            r.response(),
            b"HTTP/1.1 101 Switching Protocols\r\n\
              Upgrade: websocket\r\n\
              Connection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
              Sec-WebSocket-Protocol: text.ircv3.net\r\n\r\n"
        );
    }

    #[test]
    fn firefox_without_subprotocol_any_path() {
        let r = upgrade(&req(FIREFOX), &any());
        assert_eq!(r.subprotocol, None);
        let resp = String::from_utf8(r.response()).unwrap();
        assert!(!resp.contains("Sec-WebSocket-Protocol"), "{resp}");
        assert!(!resp.contains("Extensions"), "{resp}");
        assert!(resp.contains(&format!(
            "Sec-WebSocket-Accept: {}\r\n",
            derive_accept_key(b"x3JJHMbDL1EzLkh9GBhXDw==")
        )));
    }

    #[test]
    fn irc_framework_on_node_without_origin() {
        let r = upgrade(&req(NODE_WS), &any());
        assert_eq!(r.subprotocol, Some(Subprotocol::Text));
        assert!(r.forwarded_for.is_empty());
        assert!(!r.forwarded_https);
    }

    #[test]
    fn subprotocol_follows_the_clients_order() {
        let proto = |v: &str| {
            let line = format!("Sec-WebSocket-Protocol: {v}");
            upgrade(&with(CHROME, "Sec-WebSocket-Protocol", Some(&line)), &any()).subprotocol
        };
        assert_eq!(
            proto("binary.ircv3.net, text.ircv3.net"),
            Some(Subprotocol::Binary)
        );
        assert_eq!(
            proto("text.ircv3.net,binary.ircv3.net"),
            Some(Subprotocol::Text)
        );
        assert_eq!(proto("irc, binary.ircv3.net"), Some(Subprotocol::Binary));
        assert_eq!(proto("irc"), None);
        assert_eq!(proto("TEXT.IRCV3.NET"), None);
        // Two headers are one list, in order.
        let mut lines = CHROME[..CHROME.len() - 1].to_vec();
        lines.push("Sec-WebSocket-Protocol: chat");
        lines.push("Sec-WebSocket-Protocol: binary.ircv3.net");
        let r = upgrade(&req(&lines), &any());
        assert!(r.binary());
        assert!(String::from_utf8(r.response())
            .unwrap()
            .contains("Sec-WebSocket-Protocol: binary.ircv3.net\r\n"));
    }

    #[test]
    fn origin_allow_list() {
        let policy = WsPolicy {
            allowed_origins: vec!["https://kiwiirc.com".into(), "http://*.example.org".into()],
        };
        upgrade(&req(CHROME), &policy);
        let at = |o: &str| with(CHROME, "Origin", Some(&format!("Origin: {o}")));
        upgrade(&at("http://chat.example.org"), &policy);
        upgrade(&at("HTTPS://KIWIIRC.COM"), &policy);
        assert_eq!(
            refused(&at("https://evil.example.com"), &policy),
            Status::Forbidden
        );
        assert_eq!(
            refused(&at("https://kiwiirc.com.evil"), &policy),
            Status::Forbidden
        );
        // No Origin at all: refused when a list is set, accepted otherwise.
        assert_eq!(refused(&req(NODE_WS), &policy), Status::Forbidden);
        upgrade(&at("https://evil.example.com"), &any());
        let e = Handshake::parse(&at("https://x"), &policy).unwrap_err();
        let resp = String::from_utf8(e.response()).unwrap();
        assert!(resp.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{resp}");
        assert!(
            resp.ends_with("\r\n\r\n403 Forbidden: origin not allowed\n"),
            "{resp}"
        );
    }

    #[test]
    fn bad_version_is_426_with_version_header() {
        let buf = with(
            CHROME,
            "Sec-WebSocket-Version",
            Some("Sec-WebSocket-Version: 8"),
        );
        let e = Handshake::parse(&buf, &any()).unwrap_err();
        assert_eq!(e.status, Status::UpgradeRequired);
        let resp = String::from_utf8(e.response()).unwrap();
        assert!(resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(resp.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(resp.contains("\r\nConnection: close\r\n"));
        let missing = with(CHROME, "Sec-WebSocket-Version", None);
        assert_eq!(refused(&missing, &any()), Status::BadRequest);
    }

    #[test]
    fn bad_keys_are_400() {
        for key in [
            "dGhlIHNhbXBsZSBub25jZQ=",   // 23 chars
            "dGhlIHNhbXBsZSBub25jZQ===", // 25 chars
            "dGhlIHNhbXBsZSBub25jZ!==",  // not base64
            "dGhlIHNhbXBsZSBub25jZR==",  // non-canonical last char
            "dGhlIHNhbXBsZSBub25jZQAA",  // 18 bytes, no padding
            "",
        ] {
            let line = format!("Sec-WebSocket-Key: {key}");
            let buf = with(CHROME, "Sec-WebSocket-Key", Some(&line));
            assert_eq!(refused(&buf, &any()), Status::BadRequest, "{key:?}");
        }
        let missing = with(CHROME, "Sec-WebSocket-Key", None);
        assert_eq!(refused(&missing, &any()), Status::BadRequest);
        let mut twice = CHROME.to_vec();
        twice.push("Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==");
        assert_eq!(refused(&req(&twice), &any()), Status::BadRequest);
        assert!(valid_key("AAAAAAAAAAAAAAAAAAAAAA=="));
        assert!(valid_key("/////////////////////w=="));
    }

    #[test]
    fn bad_method_version_and_headers() {
        let mut post = CHROME.to_vec();
        post[0] = "POST / HTTP/1.1";
        let e = Handshake::parse(&req(&post), &any()).unwrap_err();
        assert_eq!(e.status, Status::MethodNotAllowed);
        assert!(String::from_utf8(e.response())
            .unwrap()
            .contains("\r\nAllow: GET\r\n"));
        let mut old = CHROME.to_vec();
        old[0] = "GET / HTTP/1.0";
        assert_eq!(refused(&req(&old), &any()), Status::BadRequest);
        let no_host = with(CHROME, "Host", None);
        assert_eq!(refused(&no_host, &any()), Status::BadRequest);
        let no_conn = with(CHROME, "Connection", Some("Connection: keep-alive"));
        assert_eq!(refused(&no_conn, &any()), Status::BadRequest);
        // A key but no Upgrade: a broken upgrade, not a page request.
        let no_upgrade = with(CHROME, "Upgrade", None);
        assert_eq!(refused(&no_upgrade, &any()), Status::BadRequest);
        let h2c = with(CHROME, "Upgrade", Some("Upgrade: h2c"));
        assert_eq!(refused(&h2c, &any()), Status::BadRequest);
    }

    #[test]
    fn plain_get_is_the_page_and_other_paths_404() {
        let page = req(&["GET / HTTP/1.1", "Host: pi.local:8097", "Accept: text/html"]);
        assert!(matches!(
            Handshake::parse(&page, &any()),
            Ok(Some((Handshake::Page, n))) if n == page.len()
        ));
        let query = req(&["GET /?nick=bob HTTP/1.0"]);
        assert!(matches!(
            Handshake::parse(&query, &any()),
            Ok(Some((Handshake::Page, _)))
        ));
        let other = req(&["GET /favicon.ico HTTP/1.1", "Host: pi.local"]);
        assert_eq!(refused(&other, &any()), Status::NotFound);
        // curl --http2 on http:// asks for h2c: still just a page request.
        let curl = req(&[
            "GET / HTTP/1.1",
            "Host: pi",
            "Connection: Upgrade, HTTP2-Settings",
            "Upgrade: h2c",
        ]);
        assert!(matches!(
            Handshake::parse(&curl, &any()),
            Ok(Some((Handshake::Page, _)))
        ));
        let head = req(&["HEAD / HTTP/1.1", "Host: pi"]);
        assert_eq!(refused(&head, &any()), Status::MethodNotAllowed);
    }

    #[test]
    fn incomplete_oversized_and_garbage_heads() {
        let full = req(CHROME);
        for cut in [0, 1, 10, full.len() / 2, full.len() - 1] {
            assert_eq!(
                Handshake::parse(&full[..cut], &any()),
                Ok(None),
                "cut at {cut}"
            );
        }
        // Bytes after the head (a pipelined first frame) are not consumed.
        let mut more = full.clone();
        more.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
        assert!(matches!(
            Handshake::parse(&more, &any()),
            Ok(Some((Handshake::Upgrade(_), n))) if n == full.len()
        ));
        // A head that never ends.
        let mut long = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        long.resize(HANDSHAKE_MAX - 1, b'a');
        assert_eq!(Handshake::parse(&long, &any()), Ok(None));
        long.push(b'a');
        assert_eq!(refused(&long, &any()), Status::HeadersTooLarge);
        let mut many = vec!["GET / HTTP/1.1".to_string()];
        many.extend((0..HEADERS_MAX + 1).map(|i| format!("X-{i}: y")));
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(refused(&req(&many), &any()), Status::HeadersTooLarge);
        // A TLS ClientHello on the plaintext port, an IRC client, junk.
        assert_eq!(
            refused(&[0x16, 3, 1, 0, 0xa5, 1, 0, 0], &any()),
            Status::BadRequest
        );
        assert_eq!(
            refused(b"NICK bob\r\nUSER b 0 * :b\r\n\r\n", &any()),
            Status::BadRequest
        );
        assert_eq!(refused(b"\0\0\0\0\r\n\r\n", &any()), Status::BadRequest);
    }

    #[test]
    fn x_forwarded_for_walk() {
        let mut lines = CHROME.to_vec();
        lines.push("X-Forwarded-For: 198.51.100.9, 203.0.113.7");
        lines.push("X-Forwarded-For: 10.0.0.2");
        lines.push("X-Forwarded-Proto: https");
        let r = upgrade(&req(&lines), &any());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            r.forwarded_for,
            [ip("198.51.100.9"), ip("203.0.113.7"), ip("10.0.0.2")]
        );
        assert!(r.forwarded_https);
        let trusted = |a: IpAddr| a.is_loopback() || matches!(a, IpAddr::V4(v) if v.is_private());
        // From the local proxy: past 10.0.0.2 (trusted) to 203.0.113.7.
        assert_eq!(r.real_ip(ip("127.0.0.1"), trusted), ip("203.0.113.7"));
        // From an untrusted peer the header is ignored.
        assert_eq!(r.real_ip(ip("192.0.2.1"), trusted), ip("192.0.2.1"));
        // Everything trusted: the leftmost hop.
        assert_eq!(r.real_ip(ip("127.0.0.1"), |_| true), ip("198.51.100.9"));

        // An unparsable hop cuts the chain; ports and brackets are tolerated.
        let mut lines = CHROME.to_vec();
        lines.push("X-Forwarded-For: 192.0.2.50, unknown, [2001:db8::1]:4711, 192.0.2.60:80");
        let r = upgrade(&req(&lines), &any());
        assert_eq!(r.forwarded_for, [ip("2001:db8::1"), ip("192.0.2.60")]);
        let mut lines = CHROME.to_vec();
        lines.push("X-Forwarded-For: 192.0.2.50, garbage");
        let r = upgrade(&req(&lines), &any());
        assert!(r.forwarded_for.is_empty());
        assert_eq!(r.real_ip(ip("127.0.0.1"), trusted), ip("127.0.0.1"));
        // A client's non-UTF-8 bytes in front of what the proxy appended.
        let mut buf = req(CHROME);
        buf.truncate(buf.len() - 2);
        buf.extend_from_slice(b"X-Forwarded-For: \xff\xfe, 192.0.2.70\r\n\r\n");
        let r = upgrade(&buf, &any());
        assert_eq!(r.forwarded_for, [ip("192.0.2.70")]);

        // A long chain keeps the nearest XFF_MAX hops.
        let chain: Vec<String> = (0..40).map(|i| format!("192.0.2.{i}")).collect();
        let line = format!("X-Forwarded-For: {}", chain.join(","));
        let mut lines = CHROME.to_vec();
        lines.push(&line);
        let r = upgrade(&req(&lines), &any());
        assert_eq!(r.forwarded_for.len(), XFF_MAX);
        assert_eq!(r.forwarded_for[XFF_MAX - 1], ip("192.0.2.39"));
    }

    // ----- frames --------------------------------------------------------

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked client frame.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let h = FrameHeader {
            is_final: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::from(first & 0x0f),
            mask: Some(MASK),
        };
        let mut out = Vec::new();
        h.format(payload.len() as u64, &mut out).unwrap();
        let start = out.len();
        out.extend_from_slice(payload);
        unmask(&mut out[start..], MASK);
        out
    }

    /// Decodes everything in `buf`: the events (owned) and the error, if any.
    fn decode_all(dec: &mut Decoder, buf: &mut [u8]) -> (Vec<String>, Option<WsError>) {
        let mut events = Vec::new();
        let mut pos = 0;
        loop {
            match dec.decode(&mut buf[pos..]) {
                Ok(Some((ev, used))) => {
                    assert!(used > 0);
                    events.push(match ev {
                        Event::Line(l) => format!("line {}", String::from_utf8_lossy(l)),
                        Event::Ping(p) => format!("ping {}", String::from_utf8_lossy(p)),
                        Event::Close(c) => format!("close {}", u16::from(c)),
                        Event::Nothing => "-".into(),
                    });
                    pos += used;
                }
                Ok(None) => return (events, None),
                Err(e) => return (events, Some(e)),
            }
        }
    }

    fn code(e: Option<WsError>) -> u16 {
        u16::from(e.expect("an error").code)
    }

    #[test]
    fn rfc6455_masked_hello() {
        // Section 5.7: a single-frame masked text message, "Hello".
        let mut buf = vec![
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(buf, frame(0x81, b"Hello"));
        let mut dec = Decoder::new();
        assert_eq!(dec.decode(&mut buf), Ok(Some((Event::Line(b"Hello"), 11))));
    }

    #[test]
    fn rfc6455_unmasked_hello_is_refused() {
        let mut buf = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let mut dec = Decoder::new();
        let e = dec.decode(&mut buf).unwrap_err();
        assert_eq!(e.code, CloseCode::Protocol);
        assert!(dec.is_done());
        assert_eq!(dec.decode(&mut buf), Ok(None));
    }

    #[test]
    fn partial_frames_wait_for_bytes() {
        let mut full = frame(0x81, b"PRIVMSG #pi :hi");
        full.extend(frame(0x81, b"PING x"));
        let first = full.len() - 12;
        let mut dec = Decoder::new();
        for cut in 0..first {
            let mut part = full[..cut].to_vec();
            assert_eq!(dec.decode(&mut part), Ok(None), "cut {cut}");
        }
        let (events, err) = decode_all(&mut dec, &mut full);
        assert_eq!(events, ["line PRIVMSG #pi :hi", "line PING x"]);
        assert!(err.is_none());
    }

    #[test]
    fn fragmented_message_with_ping_inside() {
        // Section 5.4/5.7 "Hel" + "lo", masked, with a ping between.
        let mut buf = frame(0x01, b"Hel");
        buf.extend(frame(0x89, b"x"));
        buf.extend(frame(0x00, b"l"));
        buf.extend(frame(0x80, b"o\r\n"));
        buf.extend(frame(0x82, b"NICK \xffbob"));
        let mut dec = Decoder::new();
        let (events, err) = decode_all(&mut dec, &mut buf);
        assert!(err.is_none());
        assert_eq!(
            events,
            ["-", "ping x", "-", "line Hello", "line NICK \u{fffd}bob"]
        );
        let mut empty = Vec::new();
        assert_eq!(dec.decode(&mut empty), Ok(None));
        assert_eq!(
            dec.msg.partial.capacity(),
            0,
            "buffer freed after the message"
        );
    }

    #[test]
    fn fragmentation_errors() {
        let mut dec = Decoder::new();
        let mut buf = frame(0x80, b"x");
        assert_eq!(code(decode_all(&mut dec, &mut buf).1), 1002);
        let mut dec = Decoder::new();
        let mut buf = frame(0x01, b"a");
        buf.extend(frame(0x81, b"b"));
        assert_eq!(code(decode_all(&mut dec, &mut buf).1), 1002);
        // A fragmented ping.
        let mut dec = Decoder::new();
        assert_eq!(code(decode_all(&mut dec, &mut frame(0x09, b"p")).1), 1002);
    }

    #[test]
    fn oversized_frames_close_1009_from_the_header() {
        let mut dec = Decoder::new();
        let mut exact = frame(0x81, &vec![b'a'; MESSAGE_MAX]);
        assert_eq!(exact.len(), MESSAGE_MAX + 8, "16-bit length, mask");
        let (events, err) = decode_all(&mut dec, &mut exact);
        assert!(err.is_none());
        assert_eq!(events.len(), 1);

        let big = frame(0x81, &vec![b'a'; MESSAGE_MAX + 1]);
        let mut dec = Decoder::new();
        // Only the header has arrived.
        let e = dec.decode(&mut big[..8].to_vec()).unwrap_err();
        assert_eq!(e.code, CloseCode::Size);

        // A 64-bit length with the top bit set.
        let mut huge = vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(
            Decoder::new().decode(&mut huge).unwrap_err().code,
            CloseCode::Size
        );

        // Fragments adding up to more than a line.
        let mut dec = Decoder::new();
        let mut buf = frame(0x01, &vec![b'a'; MESSAGE_MAX - 10]);
        buf.extend(frame(0x80, &[b'b'; 11]));
        let (events, err) = decode_all(&mut dec, &mut buf);
        assert_eq!(events, ["-"]);
        assert_eq!(code(err), 1009);

        // An oversized ping.
        let mut dec = Decoder::new();
        assert_eq!(
            code(decode_all(&mut dec, &mut frame(0x89, &[0; 126])).1),
            1002
        );
    }

    #[test]
    fn fragment_storm_is_cut_off() {
        let mut buf = frame(0x01, b"");
        for _ in 1..MAX_FRAGMENTS {
            buf.extend(frame(0x00, b""));
        }
        let mut over = buf.clone();
        over.extend(frame(0x80, b""));
        let (events, err) = decode_all(&mut Decoder::new(), &mut over);
        assert_eq!(code(err), 1008, "{} events", events.len());
        buf.truncate(buf.len() - 6);
        buf.extend(frame(0x80, b"PING a"));
        let (events, err) = decode_all(&mut Decoder::new(), &mut buf);
        assert!(err.is_none());
        assert_eq!(events.len(), MAX_FRAGMENTS);
        assert_eq!(events.last().unwrap(), "line PING a");
    }

    #[test]
    fn ping_pong() {
        let mut dec = Decoder::new();
        let mut buf = frame(0x89, b"Hello");
        buf.extend(frame(0x8a, b"late pong"));
        let (events, err) = decode_all(&mut dec, &mut buf);
        assert!(err.is_none());
        assert_eq!(events, ["ping Hello", "-"]);
        // Section 5.7's pong, unmasked as a server sends it.
        let mut out = Vec::new();
        encode_pong(b"Hello", &mut out);
        assert_eq!(out, [0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        encode_pong(&[7; 200], &mut out);
        assert_eq!(out.len(), 2 + 125);
    }

    #[test]
    fn close_is_echoed_then_done() {
        let mut dec = Decoder::new();
        let mut buf = frame(0x88, &[0x03, 0xe9, b'b', b'y', b'e']);
        buf.extend(frame(0x81, b"QUIT"));
        let (events, err) = decode_all(&mut dec, &mut buf);
        assert!(err.is_none());
        assert_eq!(events, ["close 1001"]);
        assert!(dec.is_done());
        let mut out = Vec::new();
        encode_close(CloseCode::Away, &mut out);
        assert_eq!(out, [0x88, 0x02, 0x03, 0xe9]);
        out.clear();
        encode_close(CloseCode::Status, &mut out);
        assert_eq!(out, [0x88, 0x02, 0x03, 0xe8], "1005 is never sent");

        let close = |payload: &[u8]| decode_all(&mut Decoder::new(), &mut frame(0x88, payload));
        assert_eq!(close(&[]).0, ["close 1000"]);
        assert_eq!(close(&[0x0f, 0xa0]).0, ["close 4000"]);
        assert_eq!(code(close(&[0x03]).1), 1002);
        assert_eq!(code(close(&[0x03, 0xed]).1), 1002, "1005 on the wire");
        assert_eq!(code(close(&[0x00, 0x10]).1), 1002);
        assert_eq!(code(close(&[0x03, 0xe8, 0xff]).1), 1007);
    }

    #[test]
    fn bad_utf8_text_is_1007_binary_passes() {
        let mut dec = Decoder::new();
        let mut buf = frame(0x82, b"PRIVMSG #a :\xe9t\xe9");
        buf.extend(frame(0x81, b"PRIVMSG #a :\xe9t\xe9"));
        let mut pos = 0;
        let Ok(Some((Event::Line(l), used))) = dec.decode(&mut buf) else {
            panic!("binary frame refused");
        };
        assert_eq!(l, b"PRIVMSG #a :\xe9t\xe9");
        pos += used;
        assert_eq!(
            dec.decode(&mut buf[pos..]).unwrap_err().code,
            CloseCode::Invalid
        );
        // Split inside a character across fragments is fine.
        let mut buf = frame(0x01, b"caf\xc3");
        buf.extend(frame(0x80, b"\xa9"));
        assert_eq!(
            decode_all(&mut Decoder::new(), &mut buf).0,
            ["-", "line café"]
        );
    }

    #[test]
    fn crlf_empty_and_embedded_lf() {
        let mut buf = frame(0x81, b"PING a\r\n");
        buf.extend(frame(0x81, b""));
        buf.extend(frame(0x81, b"\r\n"));
        buf.extend(frame(0x81, b"NICK a\r\nUSER a 0 * :a"));
        let (events, err) = decode_all(&mut Decoder::new(), &mut buf);
        assert!(err.is_none());
        assert_eq!(
            events,
            ["line PING a", "-", "-", "line NICK a\r\nUSER a 0 * :a"]
        );
    }

    #[test]
    fn reserved_bits_and_opcodes() {
        // A permessage-deflate frame (RSV1), though no extension was agreed.
        let mut buf = frame(0xc1, b"x");
        assert_eq!(code(decode_all(&mut Decoder::new(), &mut buf).1), 1002);
        for op in [0x83, 0x8b] {
            let mut buf = frame(op, b"x");
            assert_eq!(code(decode_all(&mut Decoder::new(), &mut buf).1), 1002);
        }
    }

    #[test]
    fn length_encodings() {
        // Section 5.7: 256 bytes (16-bit length) and 64 KiB (64-bit length)
        // headers, from a client here, so masked; 64 KiB is over the limit.
        let mut buf = frame(0x82, &[b'x'; 256]);
        assert_eq!(buf[..4], [0x82, 0xfe, 0x01, 0x00]);
        let (events, _) = decode_all(&mut Decoder::new(), &mut buf);
        assert_eq!(events, [format!("line {}", "x".repeat(256))]);
        let mut big = vec![0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0];
        big.extend_from_slice(&MASK);
        assert_eq!(
            Decoder::new().decode(&mut big).unwrap_err().code,
            CloseCode::Size
        );
    }

    #[test]
    fn encode_lines() {
        let mut out = Vec::new();
        // Section 5.7's unmasked "Hello", and the CR LF cut.
        encode_line(b"Hello\r\n", false, &mut out);
        assert_eq!(out, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        out.clear();
        encode_line(b"Hello", true, &mut out);
        assert_eq!(out[0], 0x82);
        out.clear();
        encode_line(&[b'x'; 256], true, &mut out);
        assert_eq!(out[..4], [0x82, 0x7e, 0x01, 0x00]);
        assert_eq!(out.len(), 4 + 256);
        out.clear();
        encode_line(&[b'x'; 70_000], false, &mut out);
        assert_eq!(out[..10], [0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        // Never invalid UTF-8 in a text frame.
        out.clear();
        encode_line(b":a PRIVMSG b :caf\xe9 \xff\xfe!", false, &mut out);
        let text = ":a PRIVMSG b :caf\u{fffd} \u{fffd}\u{fffd}!";
        assert_eq!(out[1] as usize, text.len());
        assert_eq!(&out[2..], text.as_bytes());
        // Binary keeps the bytes.
        out.clear();
        encode_line(b"caf\xe9", true, &mut out);
        assert_eq!(out, [0x82, 4, b'c', b'a', b'f', 0xe9]);
    }

    #[test]
    fn http_error_bodies() {
        let resp = String::from_utf8(http_error(Status::NotFound)).unwrap();
        assert_eq!(
            resp,
            "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n"
        );
        for s in [
            Status::BadRequest,
            Status::Forbidden,
            Status::MethodNotAllowed,
            Status::UpgradeRequired,
            Status::HeadersTooLarge,
        ] {
            let r = String::from_utf8(http_error(s)).unwrap();
            let (head, body) = r.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("Content-Length: {}", body.len())));
            assert!(head.starts_with(&format!("HTTP/1.1 {} ", s.code())));
        }
    }
}
