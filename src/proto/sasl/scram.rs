//! SCRAM-SHA-256, the server side (RFC 5802, RFC 7677), as a state
//! machine with no I/O: `ScramServer::start` takes the client-first
//! message and gives the server-first one, `finish` takes the client-final
//! message and gives the server-final one and the account.
//!
//! - GS2 header: `n,,` and `y,,` (the client can bind channels but thinks
//!   the server cannot: true, no `-PLUS` mechanism is offered) are
//!   accepted; `p=` (channel binding) is refused with
//!   `channel-binding-not-supported`. An `a=` authzid other than the
//!   username is refused.
//! - `m=` (a mandatory extension) is refused; optional extensions after
//!   the nonce are ignored, as the RFC asks.
//! - The username is unescaped (`=2C`, `=3D`) and SASLprep'd (see
//!   `saslprep` for what that covers); passwords are SASLprep'd by
//!   `Credentials::derive`.
//! - The server nonce is passed in (`new_nonce` makes one from a CSPRNG),
//!   so tests can replay RFC 7677's exchange.
//! - The proof is checked in fixed time (no early exit on the first
//!   differing byte).
//! - Unknown users: the exchange goes on with credentials made up from a
//!   server secret and the username (`Mock`): a salt that stays the same
//!   for the same name, the caller's iteration count, keys no password
//!   matches. The client gets the same server-first shape and the same
//!   `invalid-proof` at the end as with a wrong password, and the server
//!   does the same work either way, so neither the messages nor their
//!   timing tell whether the account exists. (Ergo's library answers
//!   `unknown-user` at once; PostgreSQL does what is done here.)
//!
//! Imports nothing outside `proto::sasl`; hashing is ring's.

use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use std::num::NonZeroU32;

use super::base64;
use super::saslprep::saslprep;
use super::NAME_MAX;

/// RFC 7677's minimum, and the default for new credentials.
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Salt length of new credentials and of the made-up ones (`Mock`).
pub const SALT_LEN: usize = 16;
/// Random bytes in a server nonce (base64: 24 characters).
pub const NONCE_BYTES: usize = 18;

/// A SCRAM failure, by its RFC 5802 `server-error-value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramError {
    /// A message that does not follow the grammar (or is not UTF-8).
    InvalidEncoding,
    /// `m=`: an extension the server must understand.
    ExtensionsNotSupported,
    /// Wrong password, or an unknown user (see the module).
    InvalidProof,
    /// The `c=` of the final message is not the GS2 header sent first.
    ChannelBindingsDontMatch,
    /// The client asked for channel binding (`p=`).
    ChannelBindingNotSupported,
    /// A username with a bad `=` escape, prohibited characters (SASLprep),
    /// empty or longer than `NAME_MAX` bytes.
    InvalidUsernameEncoding,
    /// No random bytes for the nonce.
    NoResources,
    /// An `a=` authzid other than the username (RFC value `other-error`).
    AuthzidMismatch,
    /// Anything else: the final message's nonce is not the one agreed, a
    /// bad server nonce passed in.
    OtherError,
}

impl ScramError {
    /// The RFC 5802 `server-error-value`.
    pub fn value(self) -> &'static str {
        match self {
            Self::InvalidEncoding => "invalid-encoding",
            Self::ExtensionsNotSupported => "extensions-not-supported",
            Self::InvalidProof => "invalid-proof",
            Self::ChannelBindingsDontMatch => "channel-bindings-dont-match",
            Self::ChannelBindingNotSupported => "channel-binding-not-supported",
            Self::InvalidUsernameEncoding => "invalid-username-encoding",
            Self::NoResources => "no-resources",
            Self::AuthzidMismatch | Self::OtherError => "other-error",
        }
    }

    /// The server-final message reporting this error (`e=...`), for a
    /// transport that sends one. (IRC does not: the 904 numeric ends the
    /// exchange; see `Error::text`.)
    pub fn server_final(self) -> Vec<u8> {
        format!("e={}", self.value()).into_bytes()
    }
}

/// What the server stores for an account (RFC 5802 section 2.2): never the
/// password nor SaltedPassword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

/// Why credentials could not be made from a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeriveError {
    /// The password holds a character SASLprep prohibits, or is empty
    /// after it.
    Prohibited,
    /// An iteration count of 0.
    Iterations,
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Equality of two keys in fixed time: every byte is looked at, whatever
/// the first difference.
fn fixed_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Credentials {
    /// The stored keys for `password` (SASLprep'd first) with this salt and
    /// iteration count: PBKDF2-HMAC-SHA-256 then RFC 5802's ClientKey,
    /// StoredKey and ServerKey. Costs `iterations` HMACs: run it off the
    /// event loop.
    pub fn derive(password: &str, salt: &[u8], iterations: u32) -> Result<Self, DeriveError> {
        let iters = NonZeroU32::new(iterations).ok_or(DeriveError::Iterations)?;
        let prepped = saslprep(password).map_err(|_| DeriveError::Prohibited)?;
        if prepped.is_empty() {
            return Err(DeriveError::Prohibited);
        }
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iters,
            salt,
            prepped.as_bytes(),
            &mut salted,
        );
        let client_key = hmac256(&salted, &[b"Client Key"]);
        Ok(Self {
            salt: salt.to_vec(),
            iterations,
            stored_key: sha256(&client_key),
            server_key: hmac256(&salted, &[b"Server Key"]),
        })
    }

    /// `derive` with a fresh random salt of `SALT_LEN` bytes (registration,
    /// password change). `None` if the random source fails.
    pub fn generate(
        password: &str,
        iterations: u32,
        rng: &dyn SecureRandom,
    ) -> Option<Result<Self, DeriveError>> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill(&mut salt).ok()?;
        Some(Self::derive(password, &salt, iterations))
    }
}

/// The made-up credentials of unknown users. `key` is a server secret:
/// from a CSPRNG at start (`generate`), or kept across restarts by the
/// caller so an unknown name's salt does not change when the server
/// restarts (a real account's does not either). `iterations` should be
/// what new accounts get.
#[derive(Clone)]
pub struct Mock {
    key: [u8; 32],
    iterations: u32,
}

impl std::fmt::Debug for Mock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mock")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Mock {
    pub fn new(key: [u8; 32], iterations: u32) -> Self {
        Self { key, iterations }
    }

    /// A mock with a random key; `None` if the random source fails.
    pub fn generate(rng: &dyn SecureRandom, iterations: u32) -> Option<Self> {
        let mut key = [0u8; 32];
        rng.fill(&mut key).ok()?;
        Some(Self::new(key, iterations))
    }

    /// Credentials for `username` that stay the same for the same name and
    /// key; no password gives their StoredKey (it is not a hash of any
    /// ClientKey anyone knows).
    pub fn credentials(&self, username: &str) -> Credentials {
        let name = username.as_bytes();
        let salt = hmac256(&self.key, &[b"scram salt\0", name]);
        Credentials {
            salt: salt[..SALT_LEN].to_vec(),
            iterations: self.iterations,
            stored_key: hmac256(&self.key, &[b"scram stored key\0", name]),
            server_key: hmac256(&self.key, &[b"scram server key\0", name]),
        }
    }
}

/// A fresh server nonce: `NONCE_BYTES` random bytes in base64 (printable,
/// no comma). `NoResources` if the random source fails.
pub fn new_nonce(rng: &dyn SecureRandom) -> Result<String, ScramError> {
    let mut bytes = [0u8; NONCE_BYTES];
    rng.fill(&mut bytes).map_err(|_| ScramError::NoResources)?;
    Ok(base64::encode(&bytes))
}

/// RFC 5802 `printable`: %x21-2B / %x2D-7E (no comma).
fn printable(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// A `saslname` (RFC 5802): `=2C` is `,`, `=3D` is `=`, any other `=` is
/// an error; then SASLprep and the bounds.
fn decode_saslname(s: &str) -> Result<String, ScramError> {
    let bad = ScramError::InvalidUsernameEncoding;
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(bad),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    let prepped = saslprep(&out).map_err(|_| bad)?;
    if prepped.is_empty() || prepped.len() > NAME_MAX {
        return Err(bad);
    }
    Ok(prepped.into_owned())
}

/// `attr=value` with the expected one-letter attribute.
fn attr(field: Option<&str>, name: char) -> Result<&str, ScramError> {
    let field = field.ok_or(ScramError::InvalidEncoding)?;
    let mut it = field.chars();
    match (it.next(), it.next()) {
        (Some(c), Some('=')) if c == name => Ok(&field[2..]),
        _ => Err(ScramError::InvalidEncoding),
    }
}

/// RFC 5802 `attr-val` of an extension: ALPHA "=" value.
fn is_extension(field: &str) -> bool {
    let b = field.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b'='
}

/// A parsed client-first message.
#[derive(Debug, Clone)]
pub struct ClientFirst {
    /// The GS2 header as sent (`n,,`, `y,,`, `n,a=...,`): `c=` must echo it.
    gs2_header: String,
    /// The client-first-message-bare, part of the AuthMessage.
    bare: String,
    username: String,
    client_nonce: String,
}

impl ClientFirst {
    /// Parses `gs2-header client-first-message-bare`.
    pub fn parse(msg: &[u8]) -> Result<Self, ScramError> {
        let msg = std::str::from_utf8(msg).map_err(|_| ScramError::InvalidEncoding)?;
        // gs2-cbind-flag "," [authzid] "," bare
        let mut parts = msg.splitn(3, ',');
        let (Some(flag), Some(authzid), Some(bare)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ScramError::InvalidEncoding);
        };
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(ScramError::ChannelBindingNotSupported),
            _ => return Err(ScramError::InvalidEncoding),
        }
        let gs2_header = format!("{flag},{authzid},");
        let authzid = if authzid.is_empty() {
            None
        } else {
            Some(decode_saslname(attr(Some(authzid), 'a')?)?)
        };
        let mut fields = bare.split(',');
        let first = fields.next();
        if first.is_some_and(|f| f.starts_with("m=")) {
            return Err(ScramError::ExtensionsNotSupported);
        }
        let username = decode_saslname(attr(first, 'n')?)?;
        let client_nonce = attr(fields.next(), 'r')?;
        if !printable(client_nonce) || !fields.all(is_extension) {
            return Err(ScramError::InvalidEncoding);
        }
        if authzid.is_some_and(|a| a != username) {
            return Err(ScramError::AuthzidMismatch);
        }
        Ok(Self {
            gs2_header,
            bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
            username,
        })
    }

    /// The username (unescaped, SASLprep'd): the account to look up.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// A SCRAM exchange waiting for the client-final message.
#[derive(Debug)]
pub struct ScramServer {
    username: String,
    gs2_header: String,
    /// client-nonce + server-nonce.
    nonce: String,
    /// client-first-message-bare "," server-first-message.
    auth_prefix: String,
    stored_key: [u8; 32],
    server_key: [u8; 32],
    /// The credentials are made up (unknown user): the proof must fail.
    mock: bool,
}

impl ScramServer {
    /// Parses `client_first`, looks its user up, and returns the exchange
    /// and the server-first message. `server_nonce` comes from `new_nonce`
    /// (tests pass a fixed one).
    pub fn start(
        client_first: &[u8],
        server_nonce: &str,
        mock: &Mock,
        lookup: impl FnOnce(&str) -> Option<Credentials>,
    ) -> Result<(Self, Vec<u8>), ScramError> {
        let first = ClientFirst::parse(client_first)?;
        let creds = lookup(first.username());
        Self::respond(first, creds, server_nonce, mock)
    }

    /// `start` in two steps, for a caller that looks the user up itself:
    /// `first` from `ClientFirst::parse`, `creds` the user's credentials
    /// (`None`: unknown user, or one without SCRAM credentials).
    pub fn respond(
        first: ClientFirst,
        creds: Option<Credentials>,
        server_nonce: &str,
        mock: &Mock,
    ) -> Result<(Self, Vec<u8>), ScramError> {
        if !printable(server_nonce) {
            return Err(ScramError::OtherError);
        }
        // Made up whether needed or not, so both paths cost the same.
        let fake = mock.credentials(first.username());
        let (creds, is_mock) = match creds {
            Some(c) if c.iterations > 0 => (c, false),
            _ => (fake, true),
        };
        let nonce = format!("{}{}", first.client_nonce, server_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            base64::encode(&creds.salt),
            creds.iterations
        );
        let server = Self {
            auth_prefix: format!("{},{server_first}", first.bare),
            username: first.username,
            gs2_header: first.gs2_header,
            nonce,
            stored_key: creds.stored_key,
            server_key: creds.server_key,
            mock: is_mock,
        };
        Ok((server, server_first.into_bytes()))
    }

    /// The account being authenticated.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Checks the client-final message; on success, the server-final
    /// message (`v=...`) and the account.
    pub fn finish(self, client_final: &[u8]) -> Result<(Vec<u8>, String), ScramError> {
        let msg = std::str::from_utf8(client_final).map_err(|_| ScramError::InvalidEncoding)?;
        // client-final-message-without-proof "," proof, the proof last.
        let (without_proof, proof) = msg.rsplit_once(',').ok_or(ScramError::InvalidEncoding)?;
        let proof = attr(Some(proof), 'p')?;
        let mut fields = without_proof.split(',');
        let cbind = attr(fields.next(), 'c')?;
        let nonce = attr(fields.next(), 'r')?;
        if !fields.all(is_extension) {
            return Err(ScramError::InvalidEncoding);
        }
        let cbind = base64::decode(cbind.as_bytes()).map_err(|_| ScramError::InvalidEncoding)?;
        let proof = base64::decode(proof.as_bytes()).map_err(|_| ScramError::InvalidEncoding)?;
        if cbind != self.gs2_header.as_bytes() {
            return Err(ScramError::ChannelBindingsDontMatch);
        }
        if nonce != self.nonce {
            return Err(ScramError::OtherError);
        }
        let proof: [u8; 32] = proof.try_into().map_err(|_| ScramError::InvalidProof)?;
        let auth = [self.auth_prefix.as_bytes(), b",", without_proof.as_bytes()];
        // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and
        // H(ClientKey) must be StoredKey.
        let signature = hmac256(&self.stored_key, &auth);
        let mut client_key = [0u8; 32];
        for (k, (p, s)) in client_key.iter_mut().zip(proof.iter().zip(&signature)) {
            *k = p ^ s;
        }
        let good = fixed_time_eq(&sha256(&client_key), &self.stored_key);
        let server_signature = hmac256(&self.server_key, &auth);
        if !good || self.mock {
            return Err(ScramError::InvalidProof);
        }
        let server_final = format!("v={}", base64::encode(&server_signature));
        Ok((server_final.into_bytes(), self.username))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 section 3.
    const USER: &str = "user";
    const PASSWORD: &str = "pencil";
    const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn mock() -> Mock {
        Mock::new([7; 32], DEFAULT_ITERATIONS)
    }

    /// "pencil"'s credentials, derived once (PBKDF2 is slow unoptimized).
    fn creds() -> Credentials {
        static CREDS: std::sync::OnceLock<Credentials> = std::sync::OnceLock::new();
        CREDS
            .get_or_init(|| {
                let salt = base64::decode(SALT.as_bytes()).unwrap();
                Credentials::derive(PASSWORD, &salt, 4096).unwrap()
            })
            .clone()
    }

    fn lookup(name: &str) -> Option<Credentials> {
        (name == USER).then(creds)
    }

    fn start(first: &str) -> Result<(ScramServer, Vec<u8>), ScramError> {
        ScramServer::start(first.as_bytes(), SERVER_NONCE, &mock(), lookup)
    }

    /// A client's side of the exchange (RFC 5802 section 3), to make
    /// proofs for messages the RFC does not list.
    fn client_proof(password: &str, salt: &[u8], iters: u32, auth: &str) -> String {
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iters).unwrap(),
            salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hmac256(&salted, &[b"Client Key"]);
        let sig = hmac256(&sha256(&client_key), &[auth.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(sig).map(|(k, s)| k ^ s).collect();
        base64::encode(&proof)
    }

    /// The client-final message for `first` (whose bare part follows the
    /// GS2 header `gs2`) after `server_first`.
    fn client_final(gs2: &str, first: &str, server_first: &str, password: &str) -> String {
        let bare = &first[gs2.len()..];
        let sf = server_first;
        let nonce = &sf[2..sf.find(',').unwrap()];
        let salt = sf.split(",s=").nth(1).unwrap().split(',').next().unwrap();
        let salt = base64::decode(salt.as_bytes()).unwrap();
        let iters: u32 = sf.rsplit("i=").next().unwrap().parse().unwrap();
        let without = format!("c={},r={nonce}", base64::encode(gs2.as_bytes()));
        let auth = format!("{bare},{sf},{without}");
        format!(
            "{without},p={}",
            client_proof(password, &salt, iters, &auth)
        )
    }

    #[test]
    fn rfc7677_exchange_byte_for_byte() {
        let (server, server_first) = start(CLIENT_FIRST).unwrap();
        assert_eq!(server.username(), "user");
        assert_eq!(server_first, SERVER_FIRST.as_bytes());
        let (server_final, account) = server.finish(CLIENT_FINAL.as_bytes()).unwrap();
        assert_eq!(server_final, SERVER_FINAL.as_bytes());
        assert_eq!(account, "user");
    }

    #[test]
    fn derive_matches_rfc7677() {
        // The proof RFC 7677 lists is the one these keys verify, and the
        // client helper agrees with it byte for byte.
        let auth = format!("n=user,r=rOprNGfwEbeRWgbNEkqO,{SERVER_FIRST},c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        let salt = base64::decode(SALT.as_bytes()).unwrap();
        assert_eq!(
            client_proof(PASSWORD, &salt, 4096, &auth),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            Credentials::derive("pencil", &salt, 0),
            Err(DeriveError::Iterations)
        );
        assert_eq!(
            Credentials::derive("pen\u{7}cil", &salt, 4096),
            Err(DeriveError::Prohibited)
        );
        assert_eq!(
            Credentials::derive("\u{00AD}", &salt, 4096),
            Err(DeriveError::Prohibited)
        );
        // SASLprep mapping: a soft hyphen does not change the keys.
        assert_eq!(
            Credentials::derive("pen\u{00AD}cil", &salt, 4096),
            Ok(creds())
        );
    }

    #[test]
    fn wrong_password_is_invalid_proof() {
        let (server, sf) = start(CLIENT_FIRST).unwrap();
        let fin = client_final(
            "n,,",
            CLIENT_FIRST,
            std::str::from_utf8(&sf).unwrap(),
            "pencils",
        );
        assert_eq!(server.finish(fin.as_bytes()), Err(ScramError::InvalidProof));
        // A right password with the RFC's exchange still passes through the
        // same helper (the helper is not what fails above).
        let (server, sf) = start(CLIENT_FIRST).unwrap();
        let fin = client_final(
            "n,,",
            CLIENT_FIRST,
            std::str::from_utf8(&sf).unwrap(),
            "pencil",
        );
        assert_eq!(fin, CLIENT_FINAL);
        assert!(server.finish(fin.as_bytes()).is_ok());
        assert_eq!(
            ScramError::InvalidProof.server_final(),
            b"e=invalid-proof".to_vec()
        );
    }

    #[test]
    fn tampered_proofs_fail() {
        for bad in [
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVA=",
            // 31 bytes
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",
        ] {
            let (server, _) = start(CLIENT_FIRST).unwrap();
            assert_eq!(server.finish(bad.as_bytes()), Err(ScramError::InvalidProof));
        }
    }

    #[test]
    fn tampered_nonce_fails() {
        // The nonce in the final message must be the combined one, whole.
        for nonce in [
            "rOprNGfwEbeRWgbNEkqO",
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1",
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0x",
            "xOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        ] {
            let (server, _) = start(CLIENT_FIRST).unwrap();
            let fin = CLIENT_FINAL.replace(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                &format!("r={nonce}"),
            );
            assert_eq!(
                server.finish(fin.as_bytes()),
                Err(ScramError::OtherError),
                "{nonce}"
            );
        }
        // A server nonce that is not `printable` is the caller's bug: refused.
        let first = ClientFirst::parse(CLIENT_FIRST.as_bytes()).unwrap();
        assert_eq!(
            ScramServer::respond(first, None, "a,b", &mock()).err(),
            Some(ScramError::OtherError)
        );
    }

    #[test]
    fn channel_binding_flags() {
        // `y`: the client could bind but thinks the server cannot. Accepted,
        // and `c=` must echo `y,,`.
        let first = "y,,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let (server, sf) = start(first).unwrap();
        let fin = client_final("y,,", first, std::str::from_utf8(&sf).unwrap(), PASSWORD);
        assert!(fin.starts_with("c=eSws,"));
        assert_eq!(server.finish(fin.as_bytes()).unwrap().1, "user");
        // `p=`: channel binding asked for: refused at once.
        assert_eq!(
            start("p=tls-unique,,n=user,r=abc").err(),
            Some(ScramError::ChannelBindingNotSupported)
        );
        assert_eq!(
            start("p=tls-server-end-point,a=user,n=user,r=abc").err(),
            Some(ScramError::ChannelBindingNotSupported)
        );
        // `c=` that does not echo the header: `y` sent, `n` claimed later.
        let (server, _) = start(first).unwrap();
        let fin = client_final(
            "n,,",
            "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            SERVER_FIRST,
            PASSWORD,
        );
        assert_eq!(
            server.finish(fin.as_bytes()),
            Err(ScramError::ChannelBindingsDontMatch)
        );
        // `c=` carrying channel-binding data after an `n` header.
        let (server, _) = start(CLIENT_FIRST).unwrap();
        let fin = CLIENT_FINAL.replace("c=biws", &format!("c={}", base64::encode(b"n,,xyz")));
        assert_eq!(
            server.finish(fin.as_bytes()),
            Err(ScramError::ChannelBindingsDontMatch)
        );
    }

    #[test]
    fn authzid() {
        let first = "n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO";
        let (server, sf) = start(first).unwrap();
        let fin = client_final(
            "n,a=user,",
            first,
            std::str::from_utf8(&sf).unwrap(),
            PASSWORD,
        );
        assert!(fin.starts_with(&format!("c={},", base64::encode(b"n,a=user,"))));
        assert_eq!(server.finish(fin.as_bytes()).unwrap().1, "user");
        assert_eq!(
            start("n,a=admin,n=user,r=abc").err(),
            Some(ScramError::AuthzidMismatch)
        );
        assert_eq!(
            start("n,x=user,n=user,r=abc").err(),
            Some(ScramError::InvalidEncoding)
        );
    }

    #[test]
    fn usernames_are_unescaped_and_prepped() {
        let seen = std::cell::RefCell::new(Vec::new());
        for (sent, looked_up) in [
            ("a=2Cb", "a,b"),
            ("a=3Db", "a=b"),
            ("us\u{00AD}er", "user"),
            ("caf\u{00E9}", "caf\u{00E9}"),
        ] {
            let first = format!("n,,n={sent},r=abc");
            let r = ScramServer::start(first.as_bytes(), "xyz", &mock(), |n| {
                seen.borrow_mut().push(n.to_owned());
                None
            });
            assert!(r.is_ok(), "{sent}");
            assert_eq!(seen.borrow().last().unwrap(), looked_up);
        }
        for bad in ["a=2", "a=2c", "a=41", "a=", "", "u\u{0007}", "\u{00AD}"] {
            let first = format!("n,,n={bad},r=abc");
            assert_eq!(
                start(&first).err(),
                Some(ScramError::InvalidUsernameEncoding),
                "{bad:?}"
            );
        }
        let long = format!("n,,n={},r=abc", "u".repeat(NAME_MAX + 1));
        assert_eq!(
            start(&long).err(),
            Some(ScramError::InvalidUsernameEncoding)
        );
    }

    #[test]
    fn malformed_attributes() {
        for bad in [
            "",
            "n",
            "n,",
            "n,,",
            "x,,n=user,r=abc",      // unknown flag
            "n,,r=abc,n=user",      // order
            "n,,n=user",            // no nonce
            "n,,n=user,r=",         // empty nonce
            "n,,n=user,r=a b",      // not printable
            "n,,n=user,r=abc,=x",   // extension without a name
            "n,,n=user,r=abc,xy=1", // extension name of two letters
            "n,,N=user,r=abc",      // attribute names are case-sensitive
            "n,,n=user,rr=abc",
        ] {
            assert_eq!(
                start(bad).err(),
                Some(ScramError::InvalidEncoding),
                "{bad:?}"
            );
        }
        assert_eq!(
            ClientFirst::parse(b"n,,n=us\xffer,r=abc").err(),
            Some(ScramError::InvalidEncoding)
        );
        assert_eq!(
            start("n,,m=ext,n=user,r=abc").err(),
            Some(ScramError::ExtensionsNotSupported)
        );
        // Optional extensions are ignored, on both messages.
        let first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO,x=1";
        let (server, sf) = start(first).unwrap();
        let sf = std::str::from_utf8(&sf).unwrap();
        let bare = &first[3..];
        let without = format!("c=biws,r={},y=2", &sf[2..sf.find(',').unwrap()]);
        let salt = base64::decode(SALT.as_bytes()).unwrap();
        let proof = client_proof(PASSWORD, &salt, 4096, &format!("{bare},{sf},{without}"));
        let fin = format!("{without},p={proof}");
        assert!(server.finish(fin.as_bytes()).is_ok());

        for bad in [
            "",
            "c=biws",
            "p=abc",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=AAAA",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!!",
            "c=b!ws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
        ] {
            let (server, _) = start(CLIENT_FIRST).unwrap();
            assert_eq!(
                server.finish(bad.as_bytes()),
                Err(ScramError::InvalidEncoding),
                "{bad:?}"
            );
        }
        let (server, _) = start(CLIENT_FIRST).unwrap();
        assert_eq!(
            server.finish(b"c=biws,r=\xff,p=AAAA"),
            Err(ScramError::InvalidEncoding)
        );
    }

    #[test]
    fn unknown_user_looks_like_a_wrong_password() {
        let first = "n,,n=nobody,r=rOprNGfwEbeRWgbNEkqO";
        let (server, sf) = start(first).unwrap();
        let sf = String::from_utf8(sf).unwrap();
        // Same shape as a real account's: combined nonce, a 16-byte salt,
        // the mock's iteration count.
        assert!(sf.starts_with(&format!("r=rOprNGfwEbeRWgbNEkqO{SERVER_NONCE},s=")));
        assert!(sf.ends_with(",i=4096"));
        let salt = sf.split(",s=").nth(1).unwrap().split(',').next().unwrap();
        assert_eq!(base64::decode(salt.as_bytes()).unwrap().len(), SALT_LEN);
        // The same salt for the same name, another one for another name.
        let (_, again) = start(first).unwrap();
        assert_eq!(again, sf.as_bytes());
        let (_, other) = start("n,,n=somebody,r=rOprNGfwEbeRWgbNEkqO").unwrap();
        assert_ne!(other, sf.as_bytes());
        // Whatever the password, the end is invalid-proof.
        for password in ["pencil", "", "nobody"] {
            let (server, _) = start(first).unwrap();
            let fin = client_final("n,,", first, &sf, password);
            assert_eq!(server.finish(fin.as_bytes()), Err(ScramError::InvalidProof));
        }
        // The exchange started first ends the same way.
        let fin = client_final("n,,", first, &sf, "x");
        assert_eq!(server.finish(fin.as_bytes()), Err(ScramError::InvalidProof));
        // Credentials with 0 iterations (none stored) are treated the same.
        let first_p = ClientFirst::parse(CLIENT_FIRST.as_bytes()).unwrap();
        let mut zero = creds();
        zero.iterations = 0;
        let (server, sf) =
            ScramServer::respond(first_p, Some(zero), SERVER_NONCE, &mock()).unwrap();
        assert!(String::from_utf8(sf).unwrap().ends_with(",i=4096"));
        assert_eq!(
            server.finish(CLIENT_FINAL.as_bytes()),
            Err(ScramError::InvalidProof)
        );
    }

    #[test]
    fn nonces_and_generated_credentials() {
        let rng = ring::rand::SystemRandom::new();
        let a = new_nonce(&rng).unwrap();
        let b = new_nonce(&rng).unwrap();
        assert_eq!(a.len(), 24);
        assert!(printable(&a));
        assert_ne!(a, b);
        let c = Credentials::generate("pencil", DEFAULT_ITERATIONS, &rng)
            .unwrap()
            .unwrap();
        assert_eq!(c.salt.len(), SALT_LEN);
        assert_eq!(
            c,
            Credentials::derive("pencil", &c.salt, DEFAULT_ITERATIONS).unwrap()
        );
        let m = Mock::generate(&rng, 10_000).unwrap();
        assert_eq!(m.credentials("x").iterations, 10_000);
        assert!(!format!("{m:?}").contains("key"));
    }

    /// Every one-byte change to either client message of RFC 7677's
    /// exchange is refused (and none panics).
    #[test]
    fn every_one_byte_mutation_fails() {
        let replacements = [b',', b'=', b'x', b'A', 0, 0xff, b' '];
        for i in 0..CLIENT_FIRST.len() {
            for &r in &replacements {
                let mut m = CLIENT_FIRST.as_bytes().to_vec();
                if m[i] == r {
                    continue;
                }
                m[i] = r;
                if let Ok((server, _)) = ScramServer::start(&m, SERVER_NONCE, &mock(), lookup) {
                    assert!(
                        server.finish(CLIENT_FINAL.as_bytes()).is_err(),
                        "first[{i}]={r}"
                    );
                }
            }
        }
        for i in 0..CLIENT_FINAL.len() {
            for &r in &replacements {
                let mut m = CLIENT_FINAL.as_bytes().to_vec();
                if m[i] == r {
                    continue;
                }
                m[i] = r;
                let (server, _) = start(CLIENT_FIRST).unwrap();
                assert!(server.finish(&m).is_err(), "final[{i}]={r}");
            }
        }
    }

    #[test]
    fn fixed_time_eq_compares_every_byte() {
        let a = [5u8; 32];
        let mut b = a;
        assert!(fixed_time_eq(&a, &b));
        b[31] ^= 1;
        assert!(!fixed_time_eq(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!fixed_time_eq(&a, &b));
    }
}
