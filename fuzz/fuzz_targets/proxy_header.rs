//! Fuzzes `net::proxy::parse`, the PROXY protocol header (v1 and v2) read
//! from a `proxy = true` listener before anything else. For any bytes:
//! no panic; `Ok(None)` (wait for more) only while the buffer is shorter
//! than `MAX_HEADER`, so a stalled peer holds bounded memory; a header's
//! length is within the buffer and the limit; and the result depends on
//! the header's bytes alone (the same from `buf[..n]`, and `Ok(None)` from
//! shorter prefixes, so reading in any chunking gives the same answer).

#![no_main]

use libfuzzer_sys::fuzz_target;
use picoircd::net::proxy::{parse, MAX_HEADER};

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(None) => assert!(data.len() < MAX_HEADER, "waits at {} bytes", data.len()),
        Ok(Some((header, n))) => {
            assert!(n > 0 && n <= data.len() && n <= MAX_HEADER, "length {n}");
            assert_eq!(parse(&data[..n]), Ok(Some((header, n))));
            // A few prefixes (all of them would be quadratic).
            for k in [0, 1, n / 2, n - 1] {
                assert_eq!(parse(&data[..k]), Ok(None), "prefix {k} of {n}");
            }
            // Addresses come together or not at all.
            assert_eq!(header.source.is_some(), header.destination.is_some());
        }
        Err(e) => {
            // Errors render for the log without panicking.
            assert!(!e.to_string().is_empty());
        }
    }
});
