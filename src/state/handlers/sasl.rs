//! `AUTHENTICATE`: SASL PLAIN, EXTERNAL and SCRAM-SHA-256 (sasl-3.1 and
//! 3.2), before or after registration, driving `proto::sasl::Session`.
//! PLAIN's bcrypt check runs on the worker (`Purpose::SaslPlain`); SCRAM
//! needs no worker (the stored keys are checked, not the password).
//! Replies are Ergo's: 900/903 on success, 904-908 otherwise.
//!
//! Imports `proto::sasl`, `state` (accounts, the login throttle).

use std::time::Instant;

use crate::proto::numeric::*;
use crate::proto::sasl::scram::{self, Credentials, Mock};
use crate::proto::sasl::{Error, Mechanisms, Session, Step};
use crate::proto::Message;
use crate::state::accounts::Via;
use crate::state::client::SaslSession;
use crate::state::error::CmdResult;
use crate::state::handlers::registration::SASL_MECHANISMS_LIST;
use crate::state::{ClientId, Purpose, State};

/// `AUTHENTICATE <mechanism>`, `AUTHENTICATE <base64 piece>|+|*`.
pub fn authenticate(s: &mut State, id: ClientId, m: &Message, now: Instant) -> CmdResult {
    let param = m.param(0);
    if s.clients[id].account().is_some() {
        s.numeric(id, ERR_SASLALREADY, &[], Error::Already.text());
        return Ok(());
    }
    let mut session = take_session(s, id);
    if param == "*" && !session.in_progress() {
        s.numeric(id, ERR_SASLABORTED, &[], Error::Aborted.text());
        return Ok(());
    }
    let step = session.authenticate(param, Mechanisms::ALL);
    let keep = run_step(s, id, &mut session, step, now);
    if keep && session.in_progress() {
        put_session(s, id, session);
    }
    Ok(())
}

/// Acts on one step of the exchange; false when it is over.
fn run_step(
    s: &mut State,
    id: ClientId,
    session: &mut Session,
    step: Result<Step, Error>,
    now: Instant,
) -> bool {
    match step {
        Err(e) => {
            fail(s, id, e);
            false
        }
        Ok(Step::NeedMore) => true,
        Ok(Step::Challenge(lines)) => {
            for line in lines {
                s.send_from_server(id, "AUTHENTICATE", &[&line], None);
            }
            true
        }
        Ok(Step::Plain { account, password }) => {
            if let Some(wait) = s.login_throttled(id, Some(&account), now) {
                s.numeric(id, ERR_SASLFAIL, &[], &wait);
                return false;
            }
            let found = s
                .account(&account)
                .and_then(|a| Some((a.name.clone(), a.password.clone()?)));
            match found {
                Some((name, hash)) => {
                    s.verify_password(id, hash, password, Purpose::SaslPlain(name));
                    true
                }
                None => {
                    s.login_failed(id, Some(&account), now);
                    fail(s, id, Error::InvalidCredentials);
                    false
                }
            }
        }
        Ok(Step::External { authzid }) => {
            external(s, id, authzid.as_deref(), now);
            false
        }
        Ok(Step::ScramNeedsCredentials { account }) => {
            if let Some(wait) = s.login_throttled(id, Some(&account), now) {
                s.numeric(id, ERR_SASLFAIL, &[], &wait);
                return false;
            }
            let creds = s
                .account(&account)
                .and_then(|a| a.scram.as_ref())
                .map(|c| Credentials {
                    salt: c.salt.clone(),
                    iterations: c.iterations,
                    stored_key: c.stored_key,
                    server_key: c.server_key,
                });
            if creds.is_none() {
                // A wrong password and an unknown name look the same
                // (the session plays the exchange out with made-up keys);
                // both count against the throttle.
                s.login_failed(id, Some(&account), now);
            }
            let rng = ring::rand::SystemRandom::new();
            let step = scram::new_nonce(&rng)
                .map_err(Error::from)
                .and_then(|nonce| session.scram_credentials(creds, &nonce, &mock(s)));
            run_step(s, id, session, step, now)
        }
        Ok(Step::Done { account }) => {
            match s.account(&account).map(|a| a.name.clone()) {
                Some(name) => s.log_in(id, &name, Via::Sasl),
                None => fail(s, id, Error::InvalidCredentials),
            }
            false
        }
    }
}

/// SASL EXTERNAL: the account holding the client's certificate
/// fingerprint (and named `authzid`, when one was given).
fn external(s: &mut State, id: ClientId, authzid: Option<&str>, now: Instant) {
    let Some(fp) = s.clients[id].certfp().map(str::to_owned) else {
        s.numeric(
            id,
            ERR_SASLFAIL,
            &[],
            "SASL authentication failed, you are not connecting with a certificate",
        );
        return;
    };
    let found: Option<String> = s
        .accounts
        .db()
        .and_then(|db| db.accounts().find(|(_, a)| a.certfps.contains(&fp)))
        .map(|(_, a)| a.name.clone());
    match (found, authzid) {
        (Some(name), None) => s.log_in(id, &name, Via::Sasl),
        (Some(name), Some(want)) if crate::proto::casemap::eq(&name, want) => {
            s.log_in(id, &name, Via::Sasl)
        }
        _ => {
            s.login_failed(id, authzid, now);
            fail(s, id, Error::InvalidCredentials);
        }
    }
}

/// The worker's verdict on a SASL PLAIN password.
pub fn plain_checked(s: &mut State, id: ClientId, account: &str, ok: bool, now: Instant) {
    // A verdict for an exchange the client aborted since is dropped.
    let verifying = s.clients[id]
        .extra
        .as_ref()
        .and_then(|e| e.sasl.as_ref())
        .is_some_and(|sess| sess.0.is_verifying());
    take_session(s, id);
    if !verifying {
        return;
    }
    if ok {
        s.log_in(id, account, Via::Sasl);
    } else {
        s.login_failed(id, Some(account), now);
        fail(s, id, Error::InvalidCredentials);
    }
}

/// Ends a SASL exchange that registration overtook (sasl-3.1: 906).
pub fn abort_on_registration(s: &mut State, id: ClientId) {
    let mut session = take_session(s, id);
    if session.reset() {
        s.numeric(id, ERR_SASLABORTED, &[], Error::Aborted.text());
    }
}

/// The failure numerics of `e` (908 with the list first, for an unknown
/// mechanism).
fn fail(s: &mut State, id: ClientId, e: Error) {
    if e == Error::UnknownMechanism {
        s.numeric(
            id,
            RPL_SASLMECHS,
            &[SASL_MECHANISMS_LIST],
            "are available SASL mechanisms",
        );
    }
    let numeric = match e.numeric() {
        RPL_SASLMECHS => ERR_SASLFAIL,
        n => n,
    };
    s.numeric(id, numeric, &[], e.text());
}

/// The made-up credentials of unknown names: from the cloak secret, so
/// an unknown name gets the same salt after a restart.
fn mock(s: &State) -> Mock {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &s.config.cloaks.secret);
    let tag = ring::hmac::sign(&key, b"picoircd scram mock");
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(tag.as_ref());
    Mock::new(bytes, s.config.accounts.scram_iterations)
}

fn take_session(s: &mut State, id: ClientId) -> Session {
    let c = &mut s.clients[id];
    let session = c
        .extra
        .as_mut()
        .and_then(|e| e.sasl.take())
        .map_or_else(Session::new, |b| b.0);
    c.tidy_extra();
    session
}

fn put_session(s: &mut State, id: ClientId, session: Session) {
    s.clients[id].extra_mut().sasl = Some(Box::new(SaslSession(session)));
}
