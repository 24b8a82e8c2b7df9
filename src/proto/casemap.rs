//! Case mapping (`CASEMAPPING=ascii`) and the validity rules for nicknames,
//! channel names and user names.
//!
//! Pure functions; imports nothing from the crate.

/// Folds a name for comparison and indexing (ascii: only A-Z fold).
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
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
}
