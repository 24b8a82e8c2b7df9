//! draft/account-registration: `REGISTER` and `VERIFY`, before and after
//! connection registration (spec: ircv3-specifications
//! extensions/account-registration.md; Ergo's registerHandler and
//! verifyHandler for the wording).
//!
//! The account is always the current nick (no `custom-account-name`, as
//! Ergo by default: nobody registers a nick out from under its user). An
//! e-mail address is optional and only stored: no mail is ever sent, so
//! `REGISTER` completes at once (`REGISTER SUCCESS`, then 900) and never
//! answers `VERIFICATION_REQUIRED`; `VERIFY` has nothing to verify.
//! `before-connect` is advertised, and `REGISTER` accepted before
//! connection registration, unless `[server] password` is set: the spec
//! asks that early registration not bypass PASS, and PASS is only checked
//! at the end of connection registration.
//!
//! The checks are NickServ's (`State::registration_refusal`) plus a few of
//! its own (password strength, the address, the per-address throttle);
//! the password is hashed on the worker and the account written through
//! `State::commit`, which holds connection registration until the
//! datastore has it, so an early `REGISTER` is answered before 001.
//! Imports `proto`, `state` (accounts, jobs).

use std::time::Instant;

use crate::config::Config;
use crate::proto::caps::AccountRegistration;
use crate::proto::{casemap, Message};
use crate::state::accounts::Refused;
use crate::state::error::CmdResult;
use crate::state::jobs::Hashed;
use crate::state::{ClientId, State};

/// Passwords shorter than this (in characters) are `WEAK_PASSWORD`.
pub const MIN_PASSWORD_CHARS: usize = 4;

/// How `draft/account-registration` is advertised under `cfg`: not at all
/// when registration is off, `before-connect` unless a server password
/// must be checked first.
pub fn cap_setting(cfg: &Config) -> Option<AccountRegistration> {
    cfg.accounts.registration.then_some(AccountRegistration {
        before_connect: before_connect(cfg),
    })
}

/// Is REGISTER accepted before connection registration?
fn before_connect(cfg: &Config) -> bool {
    cfg.server.password.is_none()
}

/// `REGISTER <account|*> <email|*> <password>`
pub fn register(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let (wanted, email, password) = (m.param(0), m.param(1), m.param(2));
    let c = &s.clients[id];
    if !c.registered {
        if s.config.sts.is_sts_only(c.local_port) {
            // Nothing but the upgrade to TLS happens on such a listener.
            super::registration::refused_sts_only(s, id);
            return Ok(());
        }
        if !before_connect(&s.config) {
            s.send_from_server(
                id,
                "FAIL",
                &["REGISTER", "COMPLETE_CONNECTION_REQUIRED"],
                Some("You must complete the connection before registering your account"),
            );
            return Ok(());
        }
        if !c.reg.nick {
            return fail(
                s,
                id,
                "NEED_NICK",
                "*",
                "You must choose a nickname before registering",
            );
        }
    }
    let nick = c.nick().to_owned();
    if wanted != "*" && !casemap::eq(wanted, &nick) {
        return fail(
            s,
            id,
            "ACCOUNT_NAME_MUST_BE_NICK",
            wanted,
            "You may only register your nickname as your account name",
        );
    }
    if !s.config.accounts.registration && !c.has_oper_cap("accreg") {
        return fail(
            s,
            id,
            "DISALLOWED",
            &nick,
            "Account registration is disabled",
        );
    }
    if let Some(account) = c.account() {
        let account = account.to_owned();
        return fail(
            s,
            id,
            "ALREADY_AUTHENTICATED",
            &account,
            "You have already registered or attempted to register",
        );
    }
    if c.reg.check_pending {
        // A password check or another REGISTER is on the worker (or the
        // datastore): one at a time, or two logins could race.
        return fail(
            s,
            id,
            "TEMPORARILY_UNAVAILABLE",
            &nick,
            "Your previous registration or login is still in progress",
        );
    }
    if let Some(why) = s.registration_refusal(id, &nick, password) {
        let (code, text) = match why {
            Refused::Disabled => ("DISALLOWED", "Account registration is disabled"),
            Refused::BadName => ("BAD_ACCOUNT_NAME", "That name cannot be an account name"),
            Refused::Guest => ("BAD_ACCOUNT_NAME", "Guest nicknames cannot be registered"),
            Refused::Exists => (
                "ACCOUNT_EXISTS",
                "Username is already registered or otherwise unavailable",
            ),
            Refused::BadPassword => ("UNACCEPTABLE_PASSWORD", "Password was invalid"),
        };
        return fail(s, id, code, &nick, text);
    }
    if let Err(text) = check_password(password, &nick) {
        let code = match text {
            PasswordProblem::Unacceptable => "UNACCEPTABLE_PASSWORD",
            PasswordProblem::Weak(_) => "WEAK_PASSWORD",
        };
        return fail(s, id, code, &nick, text.text());
    }
    let email = match email {
        "*" => None,
        address => match check_email(address) {
            Ok(()) => Some(address.to_owned()),
            Err(EmailProblem::Invalid) => {
                return fail(
                    s,
                    id,
                    "INVALID_EMAIL",
                    &nick,
                    "A valid e-mail address is required",
                );
            }
            Err(EmailProblem::Unacceptable) => {
                return fail(
                    s,
                    id,
                    "UNACCEPTABLE_EMAIL",
                    &nick,
                    "Addresses without a public domain name are not accepted",
                );
            }
        },
    };
    if let Err(wait) = s.count_registration(id, now) {
        let text = format!(
            "Too many registrations from your address; please wait at least {wait}s and try again"
        );
        return fail(s, id, "TEMPORARILY_UNAVAILABLE", &nick, &text);
    }
    let certfp = s.clients[id].certfp().map(str::to_owned);
    s.hash_password(
        id,
        password.to_owned(),
        Hashed::Register {
            account: nick,
            email,
            certfp,
            via_service: false,
        },
    );
    Ok(())
}

/// `VERIFY <account> <code>`: no registration ever waits for a code here
/// (no mail is sent), so every code is invalid.
pub fn verify(s: &mut State, id: ClientId, m: &Message, _now: Instant) -> CmdResult {
    let account = m.param(0);
    let c = &s.clients[id];
    if !s.config.accounts.registration && !c.has_oper_cap("accreg") {
        return verify_fail(
            s,
            id,
            "DISALLOWED",
            account,
            "Account registration is disabled",
        );
    }
    if !c.registered && !before_connect(&s.config) {
        s.send_from_server(
            id,
            "FAIL",
            &["VERIFY", "COMPLETE_CONNECTION_REQUIRED"],
            Some("You must complete the connection before verifying your account"),
        );
        return Ok(());
    }
    if let Some(mine) = c.account() {
        let mine = mine.to_owned();
        return verify_fail(
            s,
            id,
            "ALREADY_AUTHENTICATED",
            &mine,
            "You have already registered or attempted to register",
        );
    }
    verify_fail(s, id, "INVALID_CODE", account, "Invalid verification code")
}

/// `FAIL REGISTER <code> <account> :text`.
fn fail(s: &mut State, id: ClientId, code: &str, account: &str, text: &str) -> CmdResult {
    s.send_from_server(
        id,
        "FAIL",
        &["REGISTER", code, context(account)],
        Some(text),
    );
    Ok(())
}

/// `FAIL VERIFY <code> <account> :text`.
fn verify_fail(s: &mut State, id: ClientId, code: &str, account: &str, text: &str) -> CmdResult {
    s.send_from_server(id, "FAIL", &["VERIFY", code, context(account)], Some(text));
    Ok(())
}

/// A client's word as a middle parameter: `*` when it could not be one
/// (empty, a leading colon, a space), as Ergo's `SafeErrorParam`.
fn context(word: &str) -> &str {
    if word.is_empty() || word.starts_with(':') || word.contains(' ') {
        "*"
    } else {
        word
    }
}

/// Why a password was refused (beyond `registration_refusal`'s checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordProblem {
    /// Empty, `*`, or with spaces or control characters (Ergo refuses
    /// spaces: NS IDENTIFY could never send it).
    Unacceptable,
    /// Too short, or the account's own name.
    Weak(&'static str),
}

impl PasswordProblem {
    fn text(self) -> &'static str {
        match self {
            PasswordProblem::Unacceptable => "Password was invalid",
            PasswordProblem::Weak(text) => text,
        }
    }
}

fn check_password(password: &str, account: &str) -> Result<(), PasswordProblem> {
    if password.is_empty()
        || password == "*"
        || password
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(PasswordProblem::Unacceptable);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::Weak(
            "Password is too weak: use at least 4 characters",
        ));
    }
    if casemap::eq(password, account) {
        return Err(PasswordProblem::Weak(
            "Password is too weak: it must not be your account name",
        ));
    }
    Ok(())
}

/// Why an e-mail address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmailProblem {
    /// Not an address (`INVALID_EMAIL`).
    Invalid,
    /// An address, but not one of a public domain: an IP literal
    /// (`user@[192.0.2.1]`) or a single label (`user@localhost`)
    /// (`UNACCEPTABLE_EMAIL`).
    Unacceptable,
}

/// Checks `local@domain` (RFC 5321 lengths, dot-atom local part, domain
/// labels of letters, digits and hyphens; non-ASCII letters are allowed,
/// as SMTPUTF8 does).
fn check_email(address: &str) -> Result<(), EmailProblem> {
    use EmailProblem::*;
    if address.len() > 254 {
        return Err(Invalid);
    }
    let (local, domain) = address.split_once('@').ok_or(Invalid)?;
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(atext));
    if !local_ok {
        return Err(Invalid);
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        let is_ip = literal.parse::<std::net::Ipv4Addr>().is_ok()
            || literal
                .strip_prefix("IPv6:")
                .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
        return Err(if is_ip { Unacceptable } else { Invalid });
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() || !domain.split('.').all(label_ok) {
        return Err(Invalid);
    }
    if !domain.contains('.') {
        return Err(Unacceptable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in [
            "alice@example.org",
            "a.b+tag@mail.example.co.uk",
            "o'neil@example.com",
            "jörg@bücher.example",
            "x@example.org.",
        ] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "alice",
            "@example.org",
            "alice@",
            "a@b@example.org",
            "a..b@example.org",
            ".a@example.org",
            "a b@example.org",
            "a@-example.org",
            "a@exa_mple.org",
            "a@example..org",
            "a@[not an ip]",
            &format!("{}@example.org", "a".repeat(65)),
            &format!("a@{}.org", "b".repeat(250)),
        ] {
            assert_eq!(check_email(bad), Err(EmailProblem::Invalid), "{bad}");
        }
        for unacceptable in ["root@localhost", "a@[192.0.2.1]", "a@[IPv6:2001:db8::1]"] {
            assert_eq!(
                check_email(unacceptable),
                Err(EmailProblem::Unacceptable),
                "{unacceptable}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(check_password("hunter22", "alice"), Ok(()));
        assert_eq!(check_password("pässwörd", "alice"), Ok(()));
        for bad in ["", "*", "two words", "tab\there", "bell\u{7}"] {
            assert_eq!(
                check_password(bad, "alice"),
                Err(PasswordProblem::Unacceptable),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check_password("abc", "alice"),
            Err(PasswordProblem::Weak(_))
        ));
        assert!(matches!(
            check_password("ALICE", "alice"),
            Err(PasswordProblem::Weak(_))
        ));
    }

    #[test]
    fn guest_names_and_context_words() {
        assert!(crate::state::accounts::is_guest_name("Guest123"));
        assert!(crate::state::accounts::is_guest_name("guest7"));
        assert!(!crate::state::accounts::is_guest_name("Guest"));
        assert!(!crate::state::accounts::is_guest_name("Guestbook"));
        assert!(!crate::state::accounts::is_guest_name("Guest1a"));
        assert_eq!(context(""), "*");
        assert_eq!(context(":x"), "*");
        assert_eq!(context("a b"), "*");
        assert_eq!(context("alice"), "alice");
    }
}
