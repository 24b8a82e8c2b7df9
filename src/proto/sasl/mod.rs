//! SASL for AUTHENTICATE (IRCv3 sasl-3.1 and sasl-3.2): the mechanisms
//! PLAIN, EXTERNAL and SCRAM-SHA-256 as pure functions and state machines,
//! with no I/O and no server state. The AUTHENTICATE handler owns one
//! `Session` per client and does what each `Step` asks: send AUTHENTICATE
//! lines, check a password or a certificate, look SCRAM credentials up,
//! log the client in; every `Error` is one numeric (`Error::numeric`).
//!
//! - `chunks`: 400-byte AUTHENTICATE pieces, both ways.
//! - `base64`: a strict RFC 4648 codec.
//! - `plain`: the PLAIN and EXTERNAL client messages.
//! - `scram`: SCRAM-SHA-256, server side, and the stored credentials.
//! - `saslprep`: RFC 4013, without the parts that need Unicode tables.
//!
//! Must not import `state`, `net` or `config` (nor anything outside
//! `proto::sasl`); ring does the hashing.

pub mod base64;
pub mod chunks;
pub mod plain;
pub mod saslprep;
pub mod scram;

pub use chunks::{server_chunks, Assembler, Chunk};
pub use plain::{parse_external, parse_plain, Plain};
pub use scram::{ClientFirst, Credentials, DeriveError, Mock, ScramError, ScramServer};

/// The most decoded bytes one client message may have (all its
/// AUTHENTICATE pieces together); more is 905. Ergo's bound: room for
/// bearer tokens, far above what PLAIN or SCRAM need.
pub const RESPONSE_MAX: usize = 8192;
/// The longest authentication or authorization identity (bytes).
pub const NAME_MAX: usize = 255;
/// The longest PLAIN password (bytes).
pub const PASSWORD_MAX: usize = 1024;

/// A SASL mechanism the server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    External,
    ScramSha256,
}

impl Mechanism {
    /// Every mechanism, in the order they are advertised.
    pub const ALL: [Self; 3] = [Self::Plain, Self::External, Self::ScramSha256];

    /// The IANA name (as in `CAP LS` and `AUTHENTICATE <mechanism>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::External => "EXTERNAL",
            Self::ScramSha256 => "SCRAM-SHA-256",
        }
    }

    /// The mechanism named `name`, ASCII case-insensitively (as Ergo).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of mechanisms: those the config enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mechanisms(u8);

impl Mechanisms {
    pub const NONE: Self = Self(0);
    pub const ALL: Self = Self(0b111);

    /// This set with `m` in it.
    #[must_use]
    pub fn with(self, m: Mechanism) -> Self {
        Self(self.0 | m.bit())
    }

    pub fn contains(self, m: Mechanism) -> bool {
        self.0 & m.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The comma-separated list for the `sasl` capability's value and
    /// RPL_SASLMECHS (908), e.g. `PLAIN,EXTERNAL,SCRAM-SHA-256`.
    pub fn list(self) -> String {
        let names: Vec<&str> = Mechanism::ALL
            .into_iter()
            .filter(|&m| self.contains(m))
            .map(Mechanism::name)
            .collect();
        names.join(",")
    }
}

/// The `sasl` capability value for the enabled mechanisms (sasl-3.2,
/// "Mechanism list in CAP LS"): `PLAIN,EXTERNAL,SCRAM-SHA-256` with all.
pub fn mechanism_list(enabled: Mechanisms) -> String {
    enabled.list()
}

/// Why an exchange ended without success. Each is one numeric reply
/// (`numeric`) with Ergo's wording (`text`); the session is idle again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `AUTHENTICATE <mechanism>` for one not enabled: 908 (RPL_SASLMECHS,
    /// `<list> :are available SASL mechanisms`), then 904 with `text`.
    UnknownMechanism,
    /// A piece that is not strict base64 (904).
    BadBase64,
    /// A piece longer than 400 bytes (905).
    ChunkTooLong,
    /// A message longer than `RESPONSE_MAX` decoded bytes (905).
    TooLong,
    /// `AUTHENTICATE *` (906).
    Aborted,
    /// For the caller: AUTHENTICATE from a client already logged in (907).
    /// The session never returns it (the account is the caller's).
    Already,
    /// A PLAIN or EXTERNAL message that does not parse (904).
    Malformed,
    /// An authzid other than the authcid (904).
    AuthzidMismatch,
    /// Wrong password, unknown account, SCRAM's invalid proof (904). The
    /// session returns it for SCRAM; the caller uses it for PLAIN and
    /// EXTERNAL when its check fails, so every mechanism says the same.
    InvalidCredentials,
    /// Any other SCRAM failure (904).
    Scram(ScramError),
    /// An AUTHENTICATE line while none was expected: while the caller
    /// checks a password or looks credentials up, or after the exchange
    /// (904).
    Unexpected,
}

/// ERR_SASLFAIL.
const FAIL: u16 = 904;
/// ERR_SASLTOOLONG.
const TOO_LONG: u16 = 905;
/// ERR_SASLABORTED.
const ABORTED: u16 = 906;
/// ERR_SASLALREADY.
const ALREADY: u16 = 907;
/// RPL_SASLMECHS.
const MECHS: u16 = 908;

impl Error {
    /// The numeric reply: 904, 905, 906, 907, or 908 (then 904).
    pub fn numeric(self) -> u16 {
        match self {
            Self::UnknownMechanism => MECHS,
            Self::ChunkTooLong | Self::TooLong => TOO_LONG,
            Self::Aborted => ABORTED,
            Self::Already => ALREADY,
            Self::BadBase64
            | Self::Malformed
            | Self::AuthzidMismatch
            | Self::InvalidCredentials
            | Self::Scram(_)
            | Self::Unexpected => FAIL,
        }
    }

    /// The text of the reply (for `UnknownMechanism`, of the 904 that
    /// follows the 908).
    pub fn text(self) -> &'static str {
        const FAILED: &str = "SASL authentication failed";
        match self {
            Self::UnknownMechanism | Self::Unexpected => FAILED,
            Self::BadBase64 => "SASL authentication failed: Invalid b64 encoding",
            Self::ChunkTooLong | Self::TooLong => "SASL message too long",
            Self::Aborted => "SASL authentication aborted",
            Self::Already => "You're already logged into an account",
            Self::Malformed => "SASL authentication failed: Invalid auth blob",
            Self::AuthzidMismatch => {
                "SASL authentication failed: authcid and authzid should be the same"
            }
            Self::InvalidCredentials => "SASL authentication failed: Invalid account credentials",
            Self::Scram(e) => match e {
                ScramError::InvalidEncoding | ScramError::OtherError => {
                    "SASL authentication failed: Invalid SCRAM message"
                }
                ScramError::ExtensionsNotSupported => {
                    "SASL authentication failed: SCRAM extensions are not supported"
                }
                ScramError::ChannelBindingsDontMatch => {
                    "SASL authentication failed: Channel bindings do not match"
                }
                ScramError::ChannelBindingNotSupported => {
                    "SASL authentication failed: Channel binding is not supported"
                }
                ScramError::InvalidUsernameEncoding => {
                    "SASL authentication failed: Invalid account name"
                }
                ScramError::NoResources => "SASL authentication failed: Try again later",
                ScramError::InvalidProof => {
                    "SASL authentication failed: Invalid account credentials"
                }
                ScramError::AuthzidMismatch => {
                    "SASL authentication failed: authcid and authzid should be the same"
                }
            },
        }
    }
}

impl From<ScramError> for Error {
    fn from(e: ScramError) -> Self {
        match e {
            ScramError::InvalidProof => Self::InvalidCredentials,
            ScramError::AuthzidMismatch => Self::AuthzidMismatch,
            e => Self::Scram(e),
        }
    }
}

/// What the caller does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A 400-byte piece was taken: send nothing, wait for the next line.
    NeedMore,
    /// Send `AUTHENTICATE <line>` for each line, in order.
    Challenge(Vec<String>),
    /// Check this password (bcrypt, off the loop), then reply 900/903 or
    /// `Error::InvalidCredentials`, and `reset` the session.
    Plain { account: String, password: String },
    /// Check the client certificate (and that it maps to `authzid` when
    /// given), then reply and `reset` as for `Plain`.
    External { authzid: Option<String> },
    /// Look the account's SCRAM credentials up and hand them to
    /// `Session::scram_credentials` (`None` if the account does not exist
    /// or has none: the exchange goes on, see `scram`). A login throttle
    /// belongs here, before the salt is shown.
    ScramNeedsCredentials { account: String },
    /// SCRAM succeeded and the client acknowledged: log in to `account`
    /// (900, 903). The session is idle again.
    Done { account: String },
}

/// One client's SASL exchange. Small (a few words; what an exchange holds
/// is boxed or bounded by `RESPONSE_MAX`), idle when no exchange runs.
#[derive(Debug, Default)]
pub struct Session {
    state: State,
    attempt: u32,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    /// Waiting for the client's first message of `mechanism`.
    Collecting {
        mechanism: Mechanism,
        pieces: Assembler,
    },
    /// Waiting for the caller's `scram_credentials`.
    ScramLookup(Box<ClientFirst>),
    /// Waiting for the client-final message.
    ScramFinal {
        pieces: Assembler,
        server: Box<ScramServer>,
    },
    /// Server-final sent; waiting for the client's empty response.
    ScramAck { account: String },
    /// Waiting for the caller's verdict on a PLAIN or EXTERNAL message.
    Verifying(Mechanism),
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    /// An exchange is under way (including while the caller checks a
    /// password): a registration completing now should `reset` and send
    /// 906 (sasl-3.1).
    pub fn in_progress(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// The caller is checking a PLAIN or EXTERNAL message. A verdict that
    /// arrives when this is false, or when `attempt` has changed since the
    /// step, belongs to an exchange the client has abandoned: drop it.
    pub fn is_verifying(&self) -> bool {
        matches!(self.state, State::Verifying(_))
    }

    /// The mechanism of the exchange under way.
    pub fn mechanism(&self) -> Option<Mechanism> {
        match &self.state {
            State::Idle => None,
            State::Collecting { mechanism, .. } | State::Verifying(mechanism) => Some(*mechanism),
            State::ScramLookup(_) | State::ScramFinal { .. } | State::ScramAck { .. } => {
                Some(Mechanism::ScramSha256)
            }
        }
    }

    /// A counter of exchanges begun on this session (wrapping), to match a
    /// verdict computed elsewhere with the exchange it is for.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Ends any exchange, releasing its memory; says whether one was under
    /// way. The caller calls it after its verdict on `Plain`/`External`.
    pub fn reset(&mut self) -> bool {
        let was = self.in_progress();
        self.state = State::Idle;
        was
    }

    /// The parameter of an AUTHENTICATE line, whatever the state: the
    /// mechanism when idle (`begin`), else a piece of the exchange (`feed`).
    pub fn authenticate(&mut self, param: &str, enabled: Mechanisms) -> Result<Step, Error> {
        if self.in_progress() {
            self.feed(param)
        } else {
            self.begin(param, enabled)
        }
    }

    /// `AUTHENTICATE <mechanism>`: starts an exchange (ending any under
    /// way). All three mechanisms are client-first, so the step is the
    /// empty challenge `+`. `*` is `Aborted`; a mechanism not in `enabled`
    /// is `UnknownMechanism` and leaves the session idle (sasl-3.1: the
    /// client may try another).
    pub fn begin(&mut self, mechanism: &str, enabled: Mechanisms) -> Result<Step, Error> {
        self.reset();
        if mechanism == "*" {
            return Err(Error::Aborted);
        }
        let mechanism = Mechanism::from_name(mechanism)
            .filter(|&m| enabled.contains(m))
            .ok_or(Error::UnknownMechanism)?;
        self.attempt = self.attempt.wrapping_add(1);
        self.state = State::Collecting {
            mechanism,
            pieces: Assembler::new(),
        };
        Ok(Step::Challenge(vec!["+".to_owned()]))
    }

    /// The parameter of an AUTHENTICATE line during an exchange. Every
    /// error ends the exchange.
    pub fn feed(&mut self, param: &str) -> Result<Step, Error> {
        let r = self.feed_inner(param);
        if r.is_err() {
            self.reset();
        }
        r
    }

    fn feed_inner(&mut self, param: &str) -> Result<Step, Error> {
        if param == "*" {
            return Err(Error::Aborted);
        }
        match &mut self.state {
            State::Idle | State::ScramLookup(_) | State::Verifying(_) => Err(Error::Unexpected),
            State::Collecting { mechanism, pieces } => {
                let Chunk::Done(msg) = pieces.push(param)? else {
                    return Ok(Step::NeedMore);
                };
                match *mechanism {
                    Mechanism::Plain => {
                        let Plain { account, password } = parse_plain(&msg)?;
                        self.state = State::Verifying(Mechanism::Plain);
                        Ok(Step::Plain { account, password })
                    }
                    Mechanism::External => {
                        let authzid = parse_external(&msg)?;
                        self.state = State::Verifying(Mechanism::External);
                        Ok(Step::External { authzid })
                    }
                    Mechanism::ScramSha256 => {
                        let first = ClientFirst::parse(&msg)?;
                        let account = first.username().to_owned();
                        self.state = State::ScramLookup(Box::new(first));
                        Ok(Step::ScramNeedsCredentials { account })
                    }
                }
            }
            State::ScramFinal { pieces, .. } => {
                let Chunk::Done(msg) = pieces.push(param)? else {
                    return Ok(Step::NeedMore);
                };
                let State::ScramFinal { server, .. } = std::mem::take(&mut self.state) else {
                    unreachable!("matched above")
                };
                let (server_final, account) = server.finish(&msg)?;
                self.state = State::ScramAck { account };
                Ok(Step::Challenge(server_chunks(&server_final)))
            }
            State::ScramAck { account } => {
                // RFC 5802 over SASL: the client answers the server-final
                // message with an empty response, then the outcome is sent.
                if param != "+" {
                    return Err(Error::Unexpected);
                }
                let account = std::mem::take(account);
                self.state = State::Idle;
                Ok(Step::Done { account })
            }
        }
    }

    /// The answer to `Step::ScramNeedsCredentials`: the account's
    /// credentials (or `None`), a server nonce from `scram::new_nonce`, and
    /// the server's `Mock`. The step is the server-first challenge.
    pub fn scram_credentials(
        &mut self,
        creds: Option<Credentials>,
        server_nonce: &str,
        mock: &Mock,
    ) -> Result<Step, Error> {
        let State::ScramLookup(first) = std::mem::take(&mut self.state) else {
            return Err(Error::Unexpected);
        };
        let (server, server_first) = ScramServer::respond(*first, creds, server_nonce, mock)?;
        self.state = State::ScramFinal {
            pieces: Assembler::new(),
            server: Box::new(server),
        };
        Ok(Step::Challenge(server_chunks(&server_first)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        base64::encode(s)
    }

    fn challenge(lines: &[&str]) -> Result<Step, Error> {
        Ok(Step::Challenge(
            lines.iter().map(|s| s.to_string()).collect(),
        ))
    }

    #[test]
    fn mechanism_lists() {
        assert_eq!(
            mechanism_list(Mechanisms::ALL),
            "PLAIN,EXTERNAL,SCRAM-SHA-256"
        );
        assert_eq!(mechanism_list(Mechanisms::NONE), "");
        let some = Mechanisms::NONE
            .with(Mechanism::ScramSha256)
            .with(Mechanism::Plain);
        assert_eq!(mechanism_list(some), "PLAIN,SCRAM-SHA-256");
        assert!(!some.contains(Mechanism::External));
        assert!(Mechanisms::NONE.is_empty());
        assert_eq!(
            Mechanism::from_name("scram-sha-256"),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(Mechanism::from_name("SCRAM-SHA-1"), None);
    }

    #[test]
    fn numerics_and_texts() {
        assert_eq!(Error::UnknownMechanism.numeric(), 908);
        assert_eq!(Error::BadBase64.numeric(), 904);
        assert_eq!(Error::TooLong.numeric(), 905);
        assert_eq!(Error::Aborted.numeric(), 906);
        assert_eq!(Error::Already.numeric(), 907);
        assert_eq!(Error::Scram(ScramError::InvalidEncoding).numeric(), 904);
        assert_eq!(
            Error::from(ScramError::InvalidProof),
            Error::InvalidCredentials
        );
        assert_eq!(Error::Aborted.text(), "SASL authentication aborted");
        assert_eq!(Error::TooLong.text(), "SASL message too long");
    }

    #[test]
    fn session_is_small() {
        assert!(
            std::mem::size_of::<Session>() <= 64,
            "{}",
            std::mem::size_of::<Session>()
        );
    }

    #[test]
    fn plain_through_the_session() {
        let mut s = Session::new();
        assert!(!s.in_progress());
        assert_eq!(s.authenticate("plain", Mechanisms::ALL), challenge(&["+"]));
        assert_eq!(s.mechanism(), Some(Mechanism::Plain));
        assert_eq!(s.attempt(), 1);
        assert_eq!(
            s.authenticate("amlsbGVzAGppbGxlcwBzZXNhbWU=", Mechanisms::ALL),
            Ok(Step::Plain {
                account: "jilles".into(),
                password: "sesame".into()
            })
        );
        assert!(s.is_verifying());
        // A line while the caller checks ends the attempt.
        assert_eq!(s.feed("Zm9v"), Err(Error::Unexpected));
        assert!(!s.in_progress());
        // The caller's verdict path: reset says whether it was running.
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        s.feed("amlsbGVzAGppbGxlcwBzZXNhbWU=").unwrap();
        assert_eq!(s.attempt(), 2);
        assert!(s.reset());
        assert!(!s.reset());
    }

    #[test]
    fn plain_errors_end_the_exchange() {
        let mut s = Session::new();
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed(&b64(b"alice\0pw")), Err(Error::Malformed));
        assert!(!s.in_progress());
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed(&b64(b"bob\0alice\0pw")), Err(Error::AuthzidMismatch));
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed("%%%%"), Err(Error::BadBase64));
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed(&"A".repeat(404)), Err(Error::ChunkTooLong));
        assert!(!s.in_progress());
    }

    #[test]
    fn plain_in_several_pieces() {
        let password = "p".repeat(400);
        let msg = format!("\0alice\0{password}");
        let lines = server_chunks(msg.as_bytes());
        assert_eq!(lines.len(), 2);
        let mut s = Session::new();
        s.begin("PLAIN", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed(&lines[0]), Ok(Step::NeedMore));
        assert_eq!(
            s.feed(&lines[1]),
            Ok(Step::Plain {
                account: "alice".into(),
                password
            })
        );
    }

    #[test]
    fn external_through_the_session() {
        let mut s = Session::new();
        s.begin("EXTERNAL", Mechanisms::ALL).unwrap();
        assert_eq!(s.feed("+"), Ok(Step::External { authzid: None }));
        s.reset();
        s.begin("EXTERNAL", Mechanisms::ALL).unwrap();
        assert_eq!(
            s.feed(&b64(b"alice")),
            Ok(Step::External {
                authzid: Some("alice".into())
            })
        );
    }

    #[test]
    fn unknown_or_disabled_mechanisms() {
        let mut s = Session::new();
        assert_eq!(
            s.begin("DIGEST-MD5", Mechanisms::ALL),
            Err(Error::UnknownMechanism)
        );
        assert!(!s.in_progress());
        let only_plain = Mechanisms::NONE.with(Mechanism::Plain);
        assert_eq!(
            s.begin("EXTERNAL", only_plain),
            Err(Error::UnknownMechanism)
        );
        assert_eq!(s.attempt(), 0);
        // `*` with nothing under way: 906, as Ergo.
        assert_eq!(s.authenticate("*", Mechanisms::ALL), Err(Error::Aborted));
        // Another mechanism after a failure works.
        assert_eq!(s.begin("PLAIN", only_plain), challenge(&["+"]));
    }

    #[test]
    fn abort_at_every_stage() {
        let mech = Mechanisms::ALL;
        let mock = Mock::new([1; 32], 4096);
        let held = "QUFB".repeat(100); // a 400-byte piece
        let first = b64(b"n,,n=user,r=abc"); // then waiting for the lookup
        let stages: [Vec<&str>; 3] = [vec![], vec![&held], vec![&first]];
        for (i, lines) in stages.iter().enumerate() {
            let mut s = Session::new();
            s.begin("SCRAM-SHA-256", mech).unwrap();
            for l in lines {
                s.feed(l).unwrap();
            }
            assert_eq!(s.authenticate("*", mech), Err(Error::Aborted), "stage {i}");
            assert!(!s.in_progress());
        }
        // After the server-first challenge, and after the server-final one.
        let mut s = Session::new();
        s.begin("SCRAM-SHA-256", mech).unwrap();
        s.feed(&b64(b"n,,n=user,r=abc")).unwrap();
        s.scram_credentials(None, "xyz", &mock).unwrap();
        assert_eq!(s.feed("*"), Err(Error::Aborted));
        assert!(!s.in_progress());
    }

    /// RFC 7677's exchange through the session, AUTHENTICATE lines and all.
    #[test]
    fn scram_rfc7677_through_the_session() {
        let salt = base64::decode(b"W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let creds = Credentials::derive("pencil", &salt, 4096).unwrap();
        let mock = Mock::new([9; 32], 4096);
        let mut s = Session::new();
        assert_eq!(
            s.authenticate("SCRAM-SHA-256", Mechanisms::ALL),
            challenge(&["+"])
        );
        assert_eq!(
            s.authenticate(&b64(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"), Mechanisms::ALL),
            Ok(Step::ScramNeedsCredentials {
                account: "user".into()
            })
        );
        // A line before the caller answers is unexpected.
        let mut early = Session::new();
        early.begin("SCRAM-SHA-256", Mechanisms::ALL).unwrap();
        early.feed(&b64(b"n,,n=user,r=abc")).unwrap();
        assert_eq!(early.feed("+"), Err(Error::Unexpected));
        assert_eq!(
            early.scram_credentials(None, "x", &mock),
            Err(Error::Unexpected)
        );

        let sf = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        assert_eq!(
            s.scram_credentials(Some(creds), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &mock),
            challenge(&[&b64(sf.as_bytes())])
        );
        let cf = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        assert_eq!(
            s.feed(&b64(cf.as_bytes())),
            challenge(&[&b64(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")])
        );
        assert!(s.in_progress());
        assert_eq!(
            s.feed("+"),
            Ok(Step::Done {
                account: "user".into()
            })
        );
        assert!(!s.in_progress());
    }

    #[test]
    fn scram_failures_through_the_session() {
        let mock = Mock::new([9; 32], 4096);
        let salt = base64::decode(b"W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let creds = Credentials::derive("pencils", &salt, 4096).unwrap();
        let cf = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        // Wrong password and unknown user end alike.
        for creds in [Some(creds), None] {
            let mut s = Session::new();
            s.begin("SCRAM-SHA-256", Mechanisms::ALL).unwrap();
            s.feed(&b64(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")).unwrap();
            s.scram_credentials(creds, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &mock)
                .unwrap();
            let e = s.feed(&b64(cf.as_bytes())).unwrap_err();
            assert_eq!(e, Error::InvalidCredentials);
            assert_eq!(e.numeric(), 904);
            assert!(!s.in_progress());
        }
        // Channel binding asked for.
        let mut s = Session::new();
        s.begin("SCRAM-SHA-256", Mechanisms::ALL).unwrap();
        assert_eq!(
            s.feed(&b64(b"p=tls-unique,,n=user,r=abc")),
            Err(Error::Scram(ScramError::ChannelBindingNotSupported))
        );
        // A non-empty answer to the server-final message.
        let good = Credentials::derive("pencil", &salt, 4096).unwrap();
        let mut s = Session::new();
        s.begin("SCRAM-SHA-256", Mechanisms::ALL).unwrap();
        s.feed(&b64(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")).unwrap();
        s.scram_credentials(Some(good), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", &mock)
            .unwrap();
        s.feed(&b64(cf.as_bytes())).unwrap();
        assert_eq!(s.feed("Zm9v"), Err(Error::Unexpected));
        assert!(!s.in_progress());
    }
}
