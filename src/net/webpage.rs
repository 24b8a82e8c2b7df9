//! The built-in web chat page a plain `GET /` on a WebSocket listener
//! gets: one HTML file compiled into the binary (`web/chat.html`), no
//! build step, no external requests. Byte work only.

/// The page itself.
pub const PAGE: &str = include_str!("web/chat.html");

/// The whole HTTP answer: 200, the page, then the connection closes.
pub fn response() -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ws: wss:\r\n\
         Connection: close\r\n\r\n",
        PAGE.len()
    )
    .into_bytes();
    out.extend_from_slice(PAGE.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_answer_carries_the_page_whole() {
        let r = super::response();
        let text = String::from_utf8(r).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(body, super::PAGE);
    }
}
