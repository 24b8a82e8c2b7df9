//! TLS for the listeners with `tls = { cert, key }`: the PEM chain and key
//! loaded into a rustls `ServerConfig` (TLS 1.2 and 1.3, the ring
//! provider), a client certificate asked for but never required and any
//! one accepted (its SHA-256 fingerprint is what `certfp` matches, so a
//! self-signed one is the normal case; the client still proves it holds
//! the key), the fingerprint of a finished handshake, and reloading when
//! the files change (a broken new pair is reported and the old one kept).
//!
//! No sockets here: the loop drives each `rustls::ServerConnection`.
//! Imports `config` (the file pair) and rustls/ring.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring as provider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, ServerConfig, ServerConnection, SignatureScheme,
};

use crate::config::TlsFiles;

/// A TLS listener's certificate and what it was loaded from.
pub struct Acceptor {
    pub files: TlsFiles,
    config: Arc<ServerConfig>,
    /// The files' modification times when loaded (reload on change).
    stamp: (Option<SystemTime>, Option<SystemTime>),
}

impl Acceptor {
    /// Loads the pair; the error names the file and what is wrong.
    pub fn load(files: &TlsFiles) -> Result<Acceptor, String> {
        let stamp = stamp_of(files);
        let config = server_config(files)?;
        Ok(Acceptor {
            files: files.clone(),
            config,
            stamp,
        })
    }

    /// A server side for one new connection.
    pub fn connection(&self) -> Result<ServerConnection, rustls::Error> {
        ServerConnection::new(Arc::clone(&self.config))
    }

    /// Have the files changed on disk since they were loaded?
    pub fn changed_on_disk(&self) -> bool {
        stamp_of(&self.files) != self.stamp
    }

    /// Loads `files` (the same or new paths) in place of the current pair.
    /// On an error the current pair stays in use. Connections already
    /// open keep the pair they started with.
    pub fn reload(&mut self, files: &TlsFiles) -> Result<(), String> {
        let stamp = stamp_of(files);
        let config = server_config(files);
        // Whatever the outcome, this version of the files was looked at:
        // a broken pair is reported once, not at every check.
        self.stamp = stamp;
        self.config = config?;
        self.files = files.clone();
        Ok(())
    }
}

fn stamp_of(files: &TlsFiles) -> (Option<SystemTime>, Option<SystemTime>) {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (mtime(&files.cert), mtime(&files.key))
}

/// The rustls configuration for a certificate chain and key.
fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: {}", files.cert.display(), pem_error(e)))?;
    if chain.is_empty() {
        return Err(format!(
            "{}: no certificate in it (a PEM `BEGIN CERTIFICATE` block)",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: {}", files.key.display(), pem_error(e)))?;
    let provider = Arc::new(provider::default_provider());
    let verifier = Arc::new(AnyClientCert {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| {
            format!(
                "{} and {}: {e} (does the key belong to the certificate?)",
                files.cert.display(),
                files.key.display()
            )
        })?;
    Ok(Arc::new(config))
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => io.to_string(),
        Error::NoItemsFound => "no PEM item of the expected kind in it".to_string(),
        other => format!("not a valid PEM file ({other:?})"),
    }
}

/// The SHA-256 fingerprint (lower-case hex, as Ergo shows it) of the
/// client's certificate, once the handshake is done, if it sent one.
pub fn fingerprint(conn: &ServerConnection) -> Option<String> {
    let leaf = conn.peer_certificates()?.first()?;
    Some(sha256_hex(leaf))
}

/// Lower-case hex SHA-256 of some bytes (a certificate's DER).
pub fn sha256_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Asks every client for a certificate, requires none, accepts any whose
/// handshake signature checks out: IRC client certificates are
/// self-signed identities, matched by fingerprint, not by a CA.
#[derive(Debug)]
struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path) -> TlsFiles {
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        let made = rcgen::generate_simple_self_signed(vec!["pico.test".into()]).expect("rcgen");
        std::fs::write(&files.cert, made.cert.pem()).unwrap();
        std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
        files
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("picoircd-tls-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn loads_a_pair_and_makes_connections() {
        let d = temp("load");
        let files = pair(&d);
        let a = Acceptor::load(&files).expect("loads");
        let conn = a.connection().expect("a connection");
        assert!(conn.is_handshaking());
        assert!(!a.changed_on_disk());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn errors_name_the_file_and_a_bad_reload_keeps_the_old_pair() {
        let d = temp("errors");
        let files = pair(&d);
        let mut a = Acceptor::load(&files).expect("loads");
        let missing = TlsFiles {
            cert: d.join("nope.pem"),
            key: files.key.clone(),
        };
        let e = Acceptor::load(&missing).err().expect("an error");
        assert!(e.contains("nope.pem"), "{e}");
        std::fs::write(&files.cert, "garbage\n").unwrap();
        let e = a.reload(&files).expect_err("garbage");
        assert!(
            e.contains("cert.pem") && e.contains("no certificate"),
            "{e}"
        );
        assert!(a.connection().is_ok(), "the old pair still serves");
        assert!(!a.changed_on_disk(), "reported once");
        // A key that is not the certificate's.
        let other = temp("other");
        let second = pair(&other);
        let mixed = TlsFiles {
            cert: second.cert.clone(),
            key: pair(&d).key,
        };
        let e = Acceptor::load(&mixed).err().expect("mismatch");
        assert!(e.contains("does the key belong"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&other);
    }

    #[test]
    fn fingerprints_are_lower_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
