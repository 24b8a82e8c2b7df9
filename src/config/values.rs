//! Parsers for the values that TOML leaves as strings: durations, listen
//! addresses, CIDR blocks, host names, bcrypt hashes, capability names.
//!
//! Each returns `Err(message)` in plain English; the caller knows the span
//! and makes the `ConfigError`. Pure functions: no files, no spans.
//! Imports only `limits` and the parent module's `IpNet`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::IpNet;
use crate::limits;

/// The oper capabilities the server knows; any other name is an error.
pub const CAPABILITIES: &[&str] = &[
    "kill",
    "rehash",
    "wallops",
    "nofakelag",
    "local_kill",
    "sajoin",
    "samode",
    "ban",
    "unregister",
    "accreg",
    "chanreg",
    "history",
    "defcon",
    "relaymsg",
    "vhosts",
];

/// "90s", "2m30s", "1h", "500ms", "1d12h": numbers each followed by a unit
/// (ms, s, m, h, d), summed.
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!(
            "invalid duration `{text}`: {why} (write e.g. \"90s\", \"2m30s\", \"1h\" or \"500ms\")"
        )
    };
    if text.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis_per_unit: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(bad("a number has no unit")),
            other => return Err(bad(&format!("unknown unit `{other}`"))),
        };
        rest = &rest[unit_len..];
        let millis = number
            .checked_mul(millis_per_unit)
            .ok_or_else(|| bad("it is too long"))?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or_else(|| bad("it is too long"))?;
    }
    Ok(total)
}

/// Renders a duration the way the config writes it ("2m30s"), for messages.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// "127.0.0.1:6667", "[::1]:6667", ":6667" (all IPv4 interfaces) or
/// "localhost:6667" (127.0.0.1).
pub fn listen_address(text: &str) -> Result<SocketAddr, String> {
    let bad = || format!("invalid listen address `{text}`: expected host:port, [v6]:port or :port");
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip = match host {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        h if h.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return Err(bad()),
    };
    Ok(SocketAddr::new(ip, port))
}

/// "10.0.0.0/8", "2001:db8::/32", or a single address ("192.0.2.1" = /32).
pub fn ip_net(text: &str) -> Result<IpNet, String> {
    let bad = |why: &str| format!("invalid address block `{text}`: {why}");
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| bad("expected an IP address or ip/prefix"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        // Digits only: `u8::from_str` would also take "+8".
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(bad(&format!("the prefix length must be 0 to {max}"))),
        },
    };
    Ok(IpNet { addr, prefix })
}

/// A server name: letters, digits, `-` and `.`, with at least one `.`,
/// no empty label, at most `limits::HOSTLEN` bytes.
pub fn server_name(text: &str) -> Result<(), String> {
    let ok = text.len() <= limits::HOSTLEN
        && text.contains('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && text
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid server name `{text}`: it must look like a host name (letters, digits, `-` and `.`, with at least one `.`)"
        ))
    }
}

/// A word that goes on the wire as one parameter: not empty, no spaces,
/// no control characters.
pub fn word(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        Err(format!("{what} must not be empty"))
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "{what} `{}` must not contain spaces or control characters",
            text.escape_debug()
        ))
    } else if text.starts_with(':') {
        Err(format!("{what} `{text}` must not start with `:`"))
    } else {
        Ok(())
    }
}

/// Free text sent in a trailing parameter: any characters but CR, LF, NUL
/// and other control characters (formatting codes excepted).
pub fn line_of_text(what: &str, text: &str) -> Result<(), String> {
    const FORMATTING: &[char] = &[
        '\x02', '\x03', '\x0f', '\x11', '\x16', '\x1d', '\x1e', '\x1f',
    ];
    if text
        .chars()
        .any(|c| c.is_control() && !FORMATTING.contains(&c))
    {
        Err(format!(
            "{what} must not contain line breaks or control characters"
        ))
    } else {
        Ok(())
    }
}

/// An oper's vhost: a word without the characters of a mask (`!@*?,`).
pub fn vhost(text: &str) -> Result<(), String> {
    word("the vhost", text)?;
    if text.contains(['!', '@', '*', '?', ',']) || text.len() > limits::HOSTLEN {
        Err(format!(
            "invalid vhost `{text}`: it may not contain `!`, `@`, `*`, `?` or `,`"
        ))
    } else {
        Ok(())
    }
}

/// A bcrypt hash as Oragono/Ergo's `genpasswd` writes it: `$2a$`, `$2b$`
/// or `$2y$`, a cost of 4 to 31, 53 characters of bcrypt base64.
pub fn bcrypt_hash(text: &str) -> Result<(), String> {
    let bad = |why: &str| {
        format!("invalid bcrypt hash `{text}`: {why} (make one with `picoircd genpasswd`)")
    };
    if !["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
        return Err(bad("it must start with $2a$, $2b$ or $2y$"));
    }
    let parts: bcrypt::HashParts = text
        .parse()
        .map_err(|e: bcrypt::BcryptError| bad(&e.to_string()))?;
    if !(4..=31).contains(&parts.get_cost()) {
        return Err(bad("the cost must be 4 to 31"));
    }
    Ok(())
}

/// A known oper capability name.
pub fn capability(text: &str) -> Result<(), String> {
    if CAPABILITIES.contains(&text) {
        Ok(())
    } else {
        Err(format!(
            "unknown capability `{text}`, expected one of {}",
            CAPABILITIES
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The characters `relaymsg.separators` may hold: printable ASCII that no
/// nickname can contain (so no user can take a relayed-looking nick) and
/// that the relaymsg draft does not reserve (`!+%@&#$:'"?*,.`).
pub const RELAYMSG_SEPARATOR_CHARS: &str = "/()<>;=~";

/// `relaymsg.separators`: one to eight of `RELAYMSG_SEPARATOR_CHARS`.
pub fn relaymsg_separators(text: &str) -> Result<(), String> {
    let allowed = RELAYMSG_SEPARATOR_CHARS
        .chars()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        Err(format!(
            "`relaymsg.separators` must not be empty: give one or more of {allowed}"
        ))
    } else if let Some(c) = text
        .chars()
        .find(|c| !RELAYMSG_SEPARATOR_CHARS.contains(*c))
    {
        Err(format!(
            "`relaymsg.separators` may not contain `{}`: a separator must be a character no nickname can hold, one of {allowed}",
            c.escape_debug()
        ))
    } else if let Some(c) = text.char_indices().find(|&(i, c)| text[..i].contains(c)) {
        // All ASCII here, so byte and char indexes agree.
        Err(format!(
            "`relaymsg.separators` repeats `{}`: give each character once",
            c.1
        ))
    } else {
        Ok(())
    }
}

/// User modes an oper gets on OPER: empty, or `+` and letters.
pub fn user_modes(text: &str) -> Result<(), String> {
    if text.is_empty()
        || (text.len() > 1
            && text.starts_with('+')
            && text[1..].chars().all(|c| c.is_ascii_alphabetic()))
    {
        Ok(())
    } else {
        Err(format!(
            "invalid modes `{text}`: expected `+` and mode letters, e.g. \"+w\""
        ))
    }
}

/// A `websocket.allowed-origins` entry: `scheme://host[:port]`, `*`
/// globs allowed (`https://*.example.org`), no path, no spaces.
pub fn origin(text: &str) -> Result<(), String> {
    let bad = |why: &str| {
        format!("invalid origin `{text}`: {why} (write e.g. \"https://chat.example.org\" or \"https://*.example.org\")")
    };
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(bad("it needs a scheme, `https://` or `http://`"));
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*')
    {
        return Err(bad("the scheme is not valid"));
    }
    if rest.is_empty()
        || rest.contains('/')
        || rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(bad("a host (and port) only, without a path"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1d1ms"), Ok(Duration::from_millis(86_400_001)));
        for bad in [
            "",
            "90",
            "s",
            "1x",
            "1.5s",
            " 1s",
            "1s ",
            "-1s",
            "99999999999999999999s",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert_eq!(format_duration(Duration::from_secs(150)), "2m30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            listen_address("127.0.0.1:6667").unwrap().to_string(),
            "127.0.0.1:6667"
        );
        assert_eq!(
            listen_address("[::1]:6667").unwrap().to_string(),
            "[::1]:6667"
        );
        assert_eq!(
            listen_address("[::]:6667").unwrap().to_string(),
            "[::]:6667"
        );
        assert_eq!(listen_address(":6697").unwrap().to_string(), "0.0.0.0:6697");
        assert_eq!(
            listen_address("localhost:1").unwrap().to_string(),
            "127.0.0.1:1"
        );
        for bad in [
            "",
            "6667",
            ":",
            ":99999",
            "::1:6667",
            "example.com:6667",
            "1.2.3.4",
        ] {
            assert!(listen_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nets() {
        let n = ip_net("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.0".parse().unwrap()));
        assert_eq!(ip_net("::1").unwrap().prefix, 128);
        assert_eq!(ip_net("192.0.2.1").unwrap().prefix, 32);
        assert!(ip_net("10.0.0.0/33").is_err());
        assert!(ip_net("nope").is_err());
    }

    #[test]
    fn names() {
        assert!(server_name("pico.test").is_ok());
        assert!(server_name("irc-1.example.org").is_ok());
        for bad in [
            "pico",
            "pico..test",
            ".pico.test",
            "pico test.x",
            "pico_x.test",
            "-a.b",
        ] {
            assert!(server_name(bad).is_err(), "{bad}");
        }
        assert!(word("network", "PicoNet").is_ok());
        assert!(vhost("staff").is_ok());
        assert!(vhost("a@b").is_err());
        assert!(word("network", "Pico Net").is_err());
        assert!(line_of_text("x", "is \x02bold").is_ok());
        assert!(line_of_text("x", "two\r\nlines").is_err());
    }

    #[test]
    fn hashes() {
        let go = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
        assert!(bcrypt_hash(go).is_ok());
        assert!(bcrypt_hash(&go.replace("$2a$", "$2y$")).is_ok());
        assert!(bcrypt_hash(&go.replace("$2a$", "$2x$")).is_err());
        assert!(bcrypt_hash("changeme").is_err());
        assert!(bcrypt_hash(&go[..50]).is_err());
        assert!(bcrypt_hash(&go.replace("$10$", "$03$")).is_err());
    }

    #[test]
    fn modes_and_capabilities() {
        assert!(user_modes("").is_ok());
        assert!(user_modes("+wi").is_ok());
        assert!(user_modes("w").is_err());
        assert!(user_modes("+").is_err());
        assert!(capability("kill").is_ok());
        assert!(capability("die").is_err());
    }

    #[test]
    fn relaymsg_separator_sets() {
        assert!(relaymsg_separators("/").is_ok());
        assert!(relaymsg_separators(RELAYMSG_SEPARATOR_CHARS).is_ok());
        for bad in ["", "|", "/ ", "a", "/.", "@", "-", "/é", "//"] {
            assert!(relaymsg_separators(bad).is_err(), "{bad}");
        }
    }
}
