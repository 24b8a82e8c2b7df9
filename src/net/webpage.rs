//! The built-in web chat page a plain `GET /` on a WebSocket listener
//! gets: one HTML file compiled into the binary (`web/chat.html`), no
//! build step, no external requests. Byte work only.

/// The page itself.
pub const PAGE: &str = include_str!("web/chat.html");

/// What the page may do: its own inline script and style, a WebSocket
/// (`'self'` covers the same host in CSP 3 browsers; `ws:`/`wss:` is for
/// older ones), the empty `data:` icon that stops a `/favicon.ico`
/// request; nothing else (no other script, style, image, font, frame, form
/// target or `<base>`), and it may not be framed.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self' ws: wss:; img-src data:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The whole HTTP answer: 200, the page, then the connection closes.
pub fn response() -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-cache\r\n\
         X-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: {CSP}\r\n\
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
        assert!(head.contains(&format!("\r\nContent-Security-Policy: {}\r\n", super::CSP)));
    }

    #[test]
    fn the_policy_allows_the_page_and_nothing_else() {
        let csp = super::CSP;
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        for bad in ["unsafe-eval", "http:", "https:", "*", "\r", "\n"] {
            assert!(!csp.contains(bad), "{bad} in {csp}");
        }
        for need in ["connect-src 'self' ws: wss:", "frame-ancestors 'none'"] {
            assert!(csp.contains(need), "{need} missing from {csp}");
        }
    }

    /// The page loads nothing from anywhere (the browser test checks the
    /// requests it really makes), and shows network text as text only.
    #[test]
    fn the_page_is_self_contained_and_never_writes_html() {
        let page = super::PAGE;
        assert!(page.len() < 20_000, "the page grew to {} bytes", page.len());
        for bad in [
            "http://",
            "https://",
            " src=",
            "@import",
            "url(",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!page.contains(bad), "{bad} in the page");
        }
        // The only link: an empty icon, so that no /favicon.ico is asked.
        assert_eq!(page.matches("<link").count(), 1);
        assert!(page.contains(r#"<link rel="icon" href="data:,">"#));
        assert!(page.contains("'text.ircv3.net'"));
    }
}
