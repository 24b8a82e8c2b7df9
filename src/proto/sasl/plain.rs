//! The client messages of PLAIN (RFC 4616) and EXTERNAL (RFC 4422
//! appendix A), already decoded from base64.
//!
//! PLAIN is `[authzid] NUL authcid NUL passwd`, all UTF-8. The authzid
//! (whom to act as) may be empty or the authcid itself; acting as another
//! account is refused (as Ergo does). The password is returned as sent:
//! it is compared with a bcrypt hash made from the password as typed at
//! registration, so it is not SASLprep'd here either (both sides must see
//! the same bytes).
//!
//! EXTERNAL's only message is the optional authzid: empty (sent as
//! `AUTHENTICATE +`) or an account name; the identity itself comes from
//! the TLS client certificate, which the caller checks.
//! Imports nothing outside `proto::sasl`.

use super::{Error, NAME_MAX, PASSWORD_MAX};

/// The credentials of a PLAIN message.
#[derive(Debug, PartialEq, Eq)]
pub struct Plain {
    /// The authentication identity (the account to log in to).
    pub account: String,
    pub password: String,
}

/// An account name field: non-empty, UTF-8, at most `NAME_MAX` bytes, no
/// control characters (C0, DEL, C1).
fn name(field: &[u8]) -> Result<&str, Error> {
    let s = std::str::from_utf8(field).map_err(|_| Error::Malformed)?;
    if s.is_empty() || s.len() > NAME_MAX || s.chars().any(char::is_control) {
        return Err(Error::Malformed);
    }
    Ok(s)
}

/// Parses a PLAIN message: `Malformed` (904) unless there are exactly two
/// NULs, a non-empty UTF-8 authcid and password within bounds;
/// `AuthzidMismatch` (904) for an authzid other than the authcid.
pub fn parse_plain(msg: &[u8]) -> Result<Plain, Error> {
    let mut fields = msg.splitn(3, |&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd)) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(Error::Malformed);
    };
    // RFC 4616: passwd = 1*SAFE, and SAFE excludes NUL.
    if passwd.contains(&0) || passwd.is_empty() || passwd.len() > PASSWORD_MAX {
        return Err(Error::Malformed);
    }
    let account = name(authcid)?;
    let password = std::str::from_utf8(passwd).map_err(|_| Error::Malformed)?;
    if !authzid.is_empty() && name(authzid)? != account {
        return Err(Error::AuthzidMismatch);
    }
    Ok(Plain {
        account: account.to_owned(),
        password: password.to_owned(),
    })
}

/// Parses an EXTERNAL message: `None` for the empty one, else the account
/// name asked for (`Malformed`, 904, if it is not a valid name).
pub fn parse_external(msg: &[u8]) -> Result<Option<String>, Error> {
    if msg.is_empty() {
        return Ok(None);
    }
    Ok(Some(name(msg)?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(account: &str, password: &str) -> Result<Plain, Error> {
        Ok(Plain {
            account: account.to_owned(),
            password: password.to_owned(),
        })
    }

    #[test]
    fn plain_good() {
        // The sasl-3.1 example: "jilles\0jilles\0sesame".
        let msg = super::super::base64::decode(b"amlsbGVzAGppbGxlcwBzZXNhbWU=").unwrap();
        assert_eq!(parse_plain(&msg), plain("jilles", "sesame"));
        // Passwords keep spaces, `:` and non-ASCII as sent.
        assert_eq!(
            parse_plain("\0bob\0 p w:é ".as_bytes()),
            plain("bob", " p w:é ")
        );
    }

    #[test]
    fn plain_authzid_variants() {
        assert_eq!(parse_plain(b"\0alice\0pw"), plain("alice", "pw"));
        assert_eq!(parse_plain(b"alice\0alice\0pw"), plain("alice", "pw"));
        assert_eq!(
            parse_plain(b"mallory\0alice\0pw"),
            Err(Error::AuthzidMismatch)
        );
        // Exact comparison: the caller casefolds account names, not this.
        assert_eq!(
            parse_plain(b"Alice\0alice\0pw"),
            Err(Error::AuthzidMismatch)
        );
        // A malformed authzid is malformed, not a mismatch.
        assert_eq!(parse_plain(b"al\x01ice\0alice\0pw"), Err(Error::Malformed));
    }

    #[test]
    fn plain_missing_nuls() {
        for bad in [
            &b""[..],
            b"alice",
            b"alice\0pw",
            b"\0alice",
            b"\0\0pw",        // empty authcid
            b"\0alice\0",     // empty password
            b"\0alice\0p\0w", // NUL in the password
        ] {
            assert_eq!(parse_plain(bad), Err(Error::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn plain_non_utf8_and_bounds() {
        assert_eq!(parse_plain(b"\0al\xffice\0pw"), Err(Error::Malformed));
        assert_eq!(parse_plain(b"\0alice\0p\xc3"), Err(Error::Malformed));
        assert_eq!(parse_plain(b"\xff\0alice\0pw"), Err(Error::Malformed));
        assert_eq!(parse_plain(b"\0ali\rce\0pw"), Err(Error::Malformed));
        let long_name = format!("\0{}\0pw", "a".repeat(NAME_MAX + 1));
        assert_eq!(parse_plain(long_name.as_bytes()), Err(Error::Malformed));
        let max_name = format!("\0{}\0pw", "a".repeat(NAME_MAX));
        assert!(parse_plain(max_name.as_bytes()).is_ok());
        let long_pw = format!("\0a\0{}", "p".repeat(PASSWORD_MAX + 1));
        assert_eq!(parse_plain(long_pw.as_bytes()), Err(Error::Malformed));
        let max_pw = format!("\0a\0{}", "p".repeat(PASSWORD_MAX));
        assert!(parse_plain(max_pw.as_bytes()).is_ok());
    }

    #[test]
    fn external_authzid() {
        assert_eq!(parse_external(b""), Ok(None));
        assert_eq!(parse_external(b"alice"), Ok(Some("alice".to_owned())));
        assert_eq!(parse_external(b"al\0ice"), Err(Error::Malformed));
        assert_eq!(parse_external(b"\xff"), Err(Error::Malformed));
        assert_eq!(
            parse_external("a".repeat(NAME_MAX + 1).as_bytes()),
            Err(Error::Malformed)
        );
    }
}
