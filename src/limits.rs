//! Every fixed capacity of the server, in one place.
//!
//! Nothing here is configurable at run time: these are the bounds that the
//! parser, the buffers and the protocol numerics (ISUPPORT) rely on. The
//! configurable limits (sendq, max clients, nick length, ...) live in
//! `config.rs` and are checked against these bounds when the config loads.
//! This module imports nothing.

/// The longest message body a client may send, CR LF included (RFC 1459, Modern IRC).
pub const BODY_MAX: usize = 512;
/// The longest tag section a client may send, `@` and the trailing space included (IRCv3).
pub const TAGS_MAX: usize = 8191;
/// The longest client-only tag data a client may send (`+`-prefixed tags, IRCv3 message-tags).
pub const CLIENT_TAGS_MAX: usize = 4094;
/// The longest line accepted from a client before it is discarded with 417.
pub const LINE_MAX: usize = BODY_MAX + TAGS_MAX;
/// The most parameters one message carries (RFC 1459: 14 middle + 1 trailing).
pub const MAX_PARAMS: usize = 15;
/// How many lines of one client are handled per loop turn before others get their turn.
pub const LINES_PER_TURN: usize = 16;
/// How many bytes are read from one socket per loop turn (fairness; edge-triggered
/// readiness is kept alive by re-arming the client while input remains).
pub const READ_PER_TURN: usize = 16 * 1024;
/// The largest sendq a config may ask for.
pub const SENDQ_MAX: usize = 64 * 1024 * 1024;
/// How many targets one PRIVMSG/NOTICE may name (TARGMAX).
pub const MAX_TARGETS: usize = 4;
/// How many modes with a parameter one MODE line may carry (MODES).
pub const MAX_MODES: usize = 6;
/// How many entries a channel's b, e or I list may hold (MAXLIST).
pub const MAX_LIST: usize = 100;
/// How many nicknames one client may MONITOR.
pub const MAX_MONITOR: usize = 100;
/// draft/read-marker: read markers one connection keeps (oldest dropped).
pub const MAX_READ_MARKERS: usize = 128;
/// How many WHOWAS entries are kept in all.
pub const WHOWAS_MAX: usize = 1024;
/// The longest real name (USER, SETNAME).
pub const REALNAME_MAX: usize = 150;
/// The longest user name (ident) kept from USER.
pub const USERLEN: usize = 18;
/// The longest hostname accepted from a config or DNS (RFC 1035).
pub const HOSTLEN: usize = 253;

// WebSocket transport (net/websocket.rs, net/wsconn.rs). The bounds the
// protocol itself sets (frame header, control payload) stay there.

/// The longest HTTP request head (request line and headers) accepted.
pub const WS_HANDSHAKE_MAX: usize = 8 * 1024;
/// The most header lines in the request head (browsers send about 15).
pub const WS_HEADERS_MAX: usize = 48;
/// The most frames one fragmented message may have (browsers send one).
/// Without a cap, a client could keep a message open forever with empty
/// continuation frames, costing work without ever making a line.
pub const WS_FRAGMENTS_MAX: usize = 64;
/// The most `X-Forwarded-For` hops kept (the nearest ones).
pub const WS_XFF_MAX: usize = 16;
/// Frame bytes queued for the wire per connection at most (then the send
/// queue waits).
pub const WS_OUT_HIGH: usize = 64 * 1024;
