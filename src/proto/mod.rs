//! Bytes ↔ IRC messages: line framing, the zero-copy parser, the serializer,
//! numerics, case mapping and mask matching.
//!
//! No I/O, no server state, no allocation on the parse path. May import only
//! `limits`.

pub mod caps;
pub mod casemap;
pub mod line;
pub mod mask;
pub mod message;
pub mod numeric;
pub mod sasl;
pub mod write;

pub use message::{Message, ParseError};
