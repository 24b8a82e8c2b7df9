//! Glob masks (`*`, `?`) for bans, exceptions, invites, WHO and MONITOR.
//!
//! Matching is case-insensitive under the ascii case mapping; `[` and `]`
//! are literal (the ircdocs mask-match vectors check this). Pure functions.

/// Does `text` match the glob `mask` (`*` any run, `?` one char)?
pub fn matches(mask: &str, text: &str) -> bool {
    let m = mask.as_bytes();
    let t = text.as_bytes();
    let (mut mi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // `*` is tested first: it is a wildcard even where the text holds a
        // literal `*`, which the literal branch would otherwise consume.
        if mi < m.len() && m[mi] == b'*' {
            star = Some((mi, ti));
            mi += 1;
        } else if mi < m.len() && (m[mi] == b'?' || m[mi].eq_ignore_ascii_case(&t[ti])) {
            // A `?` consumes one whole UTF-8 character.
            if m[mi] == b'?' {
                ti += utf8_len(t[ti]);
            } else {
                ti += 1;
            }
            mi += 1;
        } else if let Some((smi, sti)) = star {
            let next = sti + utf8_len(t[sti]);
            star = Some((smi, next));
            mi = smi + 1;
            ti = next;
        } else {
            return false;
        }
    }
    while mi < m.len() && m[mi] == b'*' {
        mi += 1;
    }
    mi == m.len()
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Completes a partial mask to `nick!user@host` form, as servers do for
/// `MODE +b nick` (`nick!*@*`), `+b user@host` (`*!user@host`) and `+b host`.
pub fn normalize(mask: &str) -> String {
    let (nick_user, host) = match mask.split_once('@') {
        Some((nu, h)) => (nu, if h.is_empty() { "*" } else { h }),
        None => {
            if mask.contains('!') || !mask.contains('.') && !mask.contains(':') {
                (mask, "*")
            } else {
                // A bare host: `MODE +b example.com`.
                return format!("*!*@{mask}");
            }
        }
    };
    let (nick, user) = match nick_user.split_once('!') {
        Some((n, u)) => (n, u),
        None if mask.contains('@') => ("*", nick_user),
        None => (nick_user, "*"),
    };
    let nick = if nick.is_empty() { "*" } else { nick };
    let user = if user.is_empty() { "*" } else { user };
    format!("{nick}!{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("*", ""));
        assert!(matches("a*c", "abbbc"));
        assert!(matches("A?C", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*!*@é?", "n!u@éx"));
        assert!(matches("*!*@?x", "n!u@éx"));
    }

    #[test]
    fn literal_brackets() {
        assert!(matches("cool[guy]!*@*", "cool[guy]!a@h"));
        assert!(!matches("cool[guy]!*@*", "coolg!a@h"));
    }

    /// Fuzz regression (fuzz/fuzz_targets/mask_match.rs): a `*` in the mask
    /// was matched as a literal against a `*` in the text, so the star was
    /// never recorded and `*` failed to match `*x`.
    #[test]
    fn star_is_a_wildcard_even_against_a_literal_star() {
        assert!(matches("*", "*\0"));
        assert!(matches("*", "*x"));
        assert!(matches("a*b", "a*xb"));
        assert!(matches("*!*@*", "*!*@*"));
        assert!(matches("**", "*"));
        assert!(!matches("*a", "*"));
    }

    #[test]
    fn normalizes_partial_masks() {
        assert_eq!(normalize("bob"), "bob!*@*");
        assert_eq!(normalize("bob!x"), "bob!x@*");
        assert_eq!(normalize("x@host"), "*!x@host");
        assert_eq!(normalize("example.com"), "*!*@example.com");
        assert_eq!(normalize("*!*@*"), "*!*@*");
    }
}
