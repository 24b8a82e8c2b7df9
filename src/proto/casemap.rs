//! Case mapping (`CASEMAPPING=ascii`) and the validity rules for nicknames,
//! channel names, user names and hostnames.
//!
//! Pure functions; imports only `limits`.

use crate::limits::HOSTLEN;

/// Folds a name for comparison and indexing (ascii: only A-Z fold).
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Runs `f` on the folded form of `name`, on the stack when it is short
/// (every nick and most channel names): lookups on the message path
/// need not allocate.
pub fn with_folded<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 64];
    match buf.get_mut(..name.len()) {
        Some(out) => {
            out.copy_from_slice(name.as_bytes());
            out.make_ascii_lowercase();
            // ASCII folding keeps UTF-8 valid.
            f(std::str::from_utf8(out).unwrap_or(name))
        }
        None => f(&fold(name)),
    }
}

/// Compares two names under the case mapping.
pub fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Is `c` a channel type prefix (`CHANTYPES=#`)?
pub fn is_channel(name: &str) -> bool {
    name.starts_with('#')
}

/// A valid nickname: 1..=max bytes, not starting with a digit, `-`, `#`, `&`,
/// `:` or `$`; letters, digits and `[]\`_^{|}-` only (RFC 2812 plus Ergo's
/// ascii set), never a service name.
pub fn valid_nick(nick: &str, max: usize) -> bool {
    let bytes = nick.as_bytes();
    if bytes.is_empty() || bytes.len() > max {
        return false;
    }
    if bytes[0].is_ascii_digit() || matches!(bytes[0], b'-' | b'#' | b'&' | b':' | b'$' | b'~') {
        return false;
    }
    bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"[]\\`_^{|}-".contains(&b))
}

/// A valid channel name: `#` then 1..max-1 bytes without space, comma,
/// BEL, colon-free is not required (Modern IRC forbids only these).
pub fn valid_channel(name: &str, max: usize) -> bool {
    name.len() >= 2
        && name.len() <= max
        && is_channel(name)
        && !name
            .bytes()
            .any(|b| matches!(b, b' ' | b',' | 7 | 0 | b'\r' | b'\n'))
}

/// Cleans a user name from USER: keeps ident characters, caps the length;
/// `None` when nothing usable is left.
pub fn clean_user(user: &str, max: usize) -> Option<String> {
    let u: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        .take(max)
        .collect();
    if u.is_empty() {
        None
    } else {
        Some(u)
    }
}

/// A valid hostname for a server name or a client's host (ircdocs
/// validate-hostname): dot-separated labels of 1..=63 ASCII letters, digits
/// and `-`, none starting or ending with `-`, at most 253 bytes without the
/// optional final `.`. Unlike DNS, at least one `.` is required (`irc` and
/// `com` are not IRC hostnames, `services.` is). International names must
/// already be punycode (`xn--…`); `_` is refused.
pub fn valid_hostname(host: &str) -> bool {
    if !host.contains('.') {
        return false;
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > HOSTLEN {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_rules() {
        assert!(valid_nick("alice", 32));
        assert!(valid_nick("[bot]_^|", 32));
        assert!(!valid_nick("1abc", 32));
        assert!(!valid_nick("a b", 32));
        assert!(!valid_nick("#chan", 32));
        assert!(!valid_nick("", 32));
        assert!(!valid_nick(&"a".repeat(33), 32));
        assert!(!valid_nick("é", 32));
    }

    #[test]
    fn channel_rules() {
        assert!(valid_channel("#chat", 64));
        assert!(valid_channel("#ça-va", 64));
        assert!(!valid_channel("#", 64));
        assert!(!valid_channel("#a,b", 64));
        assert!(!valid_channel("chat", 64));
        assert!(fold("#Chat") == fold("#CHAT"));
    }

    #[test]
    fn hostname_rules() {
        assert!(valid_hostname("irc.example.com"));
        assert!(valid_hostname("services."));
        assert!(valid_hostname("127.0.0.1"));
        assert!(valid_hostname("a-b.c"));
        assert!(!valid_hostname("."));
        assert!(!valid_hostname("irc..net"));
        assert!(!valid_hostname(".irc.net"));
        assert!(!valid_hostname("irc.net.."));
        assert!(!valid_hostname("irc-.net"));
        assert!(!valid_hostname("irc.bücher.ch"));
        assert!(!valid_hostname("::1"));
        let label = "a".repeat(63);
        assert!(valid_hostname(&format!("{label}.net")));
        assert!(!valid_hostname(&format!("{label}a.net")));
        let long = ["abcdefghi"; 25].join("."); // 249 bytes
        assert!(valid_hostname(&format!("{long}.abc")));
        assert!(valid_hostname(&format!("{long}.abc.")));
        assert!(!valid_hostname(&format!("{long}.abcd")));
    }

    #[test]
    fn folding_on_the_stack_matches_fold() {
        let long = "N".repeat(100);
        for name in ["Alice", "#Pico", "ÄÖ-x", "", long.as_str()] {
            assert_eq!(with_folded(name, str::to_owned), fold(name));
        }
    }
}
