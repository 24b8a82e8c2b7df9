//! SASLprep (RFC 4013, a profile of stringprep, RFC 3454) as far as it
//! goes without Unicode data tables; used by SCRAM for the username and
//! for the password its keys are derived from.
//!
//! Done: the mapping steps (B.1 "commonly mapped to nothing" removed, C.1.2
//! non-ASCII spaces to U+0020) and the prohibited output of RFC 4013
//! section 2.3 that fits in a few ranges: controls (C.2.1, C.2.2), private
//! use (C.3), non-characters (C.4), surrogates (C.5, impossible in a Rust
//! string), inappropriate for plain text (C.6) or canonical representation
//! (C.7), display-changing or deprecated (C.8), tagging characters (C.9).
//!
//! Skipped (each needs a Unicode table of thousands of entries):
//! - NFKC normalization (step 2). A string made of characters that NFKC
//!   leaves alone (all ASCII, and text typed as precomposed characters) is
//!   unaffected. A password holding compatibility characters (full-width
//!   letters, ligatures, superscripts, `Ⅸ`...) or decomposed accents gives
//!   different keys here than in a client that normalizes, so SCRAM fails
//!   for it; PLAIN still works, since it compares the password as sent.
//! - The bidirectional check (step 4, tables D.1/D.2) and the refusal of
//!   unassigned code points (A.1) for stored strings.
//!
//! For ASCII input the result is the full SASLprep: the input itself,
//! unless it holds a control character (refused).
//! Imports nothing.

use std::borrow::Cow;

/// The string holds a character SASLprep prohibits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prohibited;

/// RFC 3454 table B.1: mapped to nothing.
fn mapped_to_nothing(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{1806}'
            | '\u{180B}'..='\u{180D}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// RFC 3454 table C.1.2: non-ASCII space characters (mapped to U+0020).
fn non_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200B}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// RFC 4013 section 2.3: tables C.2.1 to C.9 (C.1.2 is mapped before this
/// check, C.5 cannot occur in a `str`).
fn prohibited(c: char) -> bool {
    let n = u32::from(c);
    c.is_control() // C.2.1 and the C1 block of C.2.2
        || matches!(
            c,
            // C.2.2 (the rest)
            '\u{06DD}'
                | '\u{070F}'
                | '\u{180E}'
                | '\u{200C}'
                | '\u{200D}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{2060}'..='\u{2063}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFC}'
                | '\u{1D173}'..='\u{1D17A}'
                // C.3 private use
                | '\u{E000}'..='\u{F8FF}'
                | '\u{F0000}'..='\u{FFFFD}'
                | '\u{100000}'..='\u{10FFFD}'
                // C.4 non-characters (and the plane ends below)
                | '\u{FDD0}'..='\u{FDEF}'
                // C.6 inappropriate for plain text
                | '\u{FFFD}'
                // C.7 inappropriate for canonical representation
                | '\u{2FF0}'..='\u{2FFB}'
                // C.8 change display properties or deprecated
                | '\u{0340}'
                | '\u{0341}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                // C.9 tagging characters
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
        // C.4: U+xFFFE and U+xFFFF of every plane.
        || n & 0xFFFE == 0xFFFE
}

/// `s` after SASLprep (as far as documented above).
pub fn saslprep(s: &str) -> Result<Cow<'_, str>, Prohibited> {
    if s.is_ascii() {
        return if s.bytes().any(|b| b.is_ascii_control()) {
            Err(Prohibited)
        } else {
            Ok(Cow::Borrowed(s))
        };
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if mapped_to_nothing(c) {
            continue;
        }
        let c = if non_ascii_space(c) { ' ' } else { c };
        if prohibited(c) {
            return Err(Prohibited);
        }
        out.push(c);
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4013_examples_that_need_no_tables() {
        // RFC 4013 section 3: SOFT HYPHEN mapped to nothing, identity,
        // NO-BREAK SPACE... (the NFKC examples are skipped, see the module).
        assert_eq!(saslprep("I\u{00AD}X").unwrap(), "IX");
        assert_eq!(saslprep("user").unwrap(), "user");
        assert_eq!(saslprep("USER").unwrap(), "USER");
        assert_eq!(saslprep("\u{0007}"), Err(Prohibited));
    }

    #[test]
    fn ascii_is_borrowed_unless_it_has_controls() {
        assert!(matches!(saslprep("pencil"), Ok(Cow::Borrowed("pencil"))));
        assert!(matches!(saslprep("with space"), Ok(Cow::Borrowed(_))));
        assert_eq!(saslprep("a\tb"), Err(Prohibited));
        assert_eq!(saslprep("a\x7fb"), Err(Prohibited));
        assert_eq!(saslprep(""), Ok(Cow::Borrowed("")));
    }

    #[test]
    fn mappings() {
        assert_eq!(saslprep("a\u{00A0}b\u{3000}c").unwrap(), "a b c");
        assert_eq!(saslprep("a\u{200B}b\u{FEFF}c\u{FE0F}").unwrap(), "abc");
        assert_eq!(saslprep("café").unwrap(), "café");
    }

    #[test]
    fn prohibited_characters() {
        for c in [
            '\u{0085}',
            '\u{2028}',
            '\u{E000}',
            '\u{10FFFD}',
            '\u{FDD0}',
            '\u{1FFFE}',
            '\u{FFFD}',
            '\u{2FF0}',
            '\u{200E}',
            '\u{202E}',
            '\u{E0001}',
            '\u{1D173}',
        ] {
            assert_eq!(saslprep(&format!("é{c}")), Err(Prohibited), "{c:?}");
        }
    }
}
