//! Blocking work for the worker thread: bcrypt (checking a password, or
//! hashing a new one together with its SCRAM-SHA-256 keys) is far too slow
//! for the loop (a quarter of a second at cost 12 on a PC, seconds on a Pi
//! Zero). `State` queues a `Job` with the client's id and serial; `net`
//! runs it on the worker and hands the `JobDone` back, and the result is
//! dropped if the client has gone since. No I/O here; imports `store`
//! (the SCRAM record) and `proto::sasl` (its key derivation).

use super::ClientId;

/// A job for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Check `password` against the bcrypt `hash`.
    Verify {
        client: ClientId,
        serial: u64,
        hash: String,
        password: String,
        purpose: Purpose,
    },
    /// Hash a new password (bcrypt at `cost`, and SCRAM-SHA-256 keys with
    /// `scram_iterations`), after checking the current one when `then`
    /// carries it (NS PASSWD).
    Hash {
        client: ClientId,
        serial: u64,
        password: String,
        cost: u32,
        scram_iterations: u32,
        then: Hashed,
    },
}

/// Why a password is being checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// `server.password`, sent with PASS before registration.
    ServerPass,
    /// `OPER name password`.
    Oper(String),
    /// `NS IDENTIFY`: the account's display name.
    Identify(String),
    /// SASL PLAIN: the account's display name.
    SaslPlain(String),
}

/// What a new password hash is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hashed {
    /// `NS REGISTER` or `REGISTER`: a new account named `account`.
    Register {
        account: String,
        email: Option<String>,
        certfp: Option<String>,
        /// NickServ's notices (true) or draft/account-registration's
        /// replies (false).
        via_service: bool,
    },
    /// `NS PASSWD`: a new password for `account`; `current` is the
    /// password given and the stored hash it must match (None for an oper
    /// resetting it).
    Passwd {
        account: String,
        current: Option<(String, String)>,
    },
}

/// The credentials made from a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// The bcrypt hash; None for an empty password (certificate only).
    pub bcrypt: Option<String>,
    pub scram: Option<crate::store::ScramCreds>,
}

/// Why no credentials were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashFailure {
    /// NS PASSWD: the current password did not match.
    WrongCurrent,
    /// bcrypt refused (it never should with a valid cost).
    Failed(String),
}

/// What the worker hands back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDone {
    pub client: ClientId,
    pub serial: u64,
    pub result: JobResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    Checked {
        purpose: Purpose,
        ok: bool,
    },
    Hashed {
        then: Hashed,
        creds: Result<Creds, HashFailure>,
    },
}

impl Job {
    /// Does the blocking work (on the worker thread, or inline in tests).
    pub fn run(self) -> JobDone {
        match self {
            Job::Verify {
                client,
                serial,
                hash,
                password,
                purpose,
            } => JobDone {
                client,
                serial,
                result: JobResult::Checked {
                    purpose,
                    ok: bcrypt::verify(&password, &hash).unwrap_or(false),
                },
            },
            Job::Hash {
                client,
                serial,
                password,
                cost,
                scram_iterations,
                then,
            } => {
                let creds = hash(&password, cost, scram_iterations, &then);
                JobDone {
                    client,
                    serial,
                    result: JobResult::Hashed { then, creds },
                }
            }
        }
    }
}

/// The credentials for `password`, after the current-password check of
/// `then` if it has one.
fn hash(password: &str, cost: u32, iterations: u32, then: &Hashed) -> Result<Creds, HashFailure> {
    if let Hashed::Passwd {
        current: Some((given, stored)),
        ..
    } = then
    {
        if !bcrypt::verify(given, stored).unwrap_or(false) {
            return Err(HashFailure::WrongCurrent);
        }
    }
    if password.is_empty() {
        return Ok(Creds {
            bcrypt: None,
            scram: None,
        });
    }
    let bcrypt = bcrypt::hash(password, cost).map_err(|e| HashFailure::Failed(e.to_string()))?;
    Ok(Creds {
        bcrypt: Some(bcrypt),
        scram: crate::state::accounts::scram_creds(password, iterations),
    })
}
