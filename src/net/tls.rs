//! TLS for the listeners with `tls = { cert, key }`: the PEM chain and key
//! loaded into a rustls `ServerConfig` (TLS 1.2 and 1.3, the ring
//! provider), a client certificate asked for but never required and any
//! one accepted (its SHA-256 fingerprint is what `certfp` matches, so a
//! self-signed one is the normal case; the client still proves it holds
//! the key), the fingerprint of a finished handshake, and reloading when
//! the files change (a broken new pair is reported and the old one kept).
//! While neither configured file exists, the self-signed stand-in from
//! `selfsigned` is served, until the real pair appears.
//!
//! No sockets here: the loop drives each `rustls::ServerConnection`.
//! Imports `config` (the file pair), `net::selfsigned` and rustls/ring.

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
use crate::net::selfsigned::{self, StandIn};

/// A TLS listener's certificate and what it was loaded from.
pub struct Acceptor {
    /// The configured pair.
    pub files: TlsFiles,
    config: Arc<ServerConfig>,
    /// The configured files as last looked at (reload on change).
    stamp: (Option<FileStamp>, Option<FileStamp>),
    /// The self-signed stand-in being served because neither configured
    /// file exists yet (`selfsigned`); None once the real pair is in use.
    pub stand_in: Option<TlsFiles>,
}

/// Which pair a reload left in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serving {
    /// The configured files.
    Configured,
    /// Still the self-signed stand-in: the configured files do not exist.
    StandIn,
}

impl Acceptor {
    /// Loads the pair; the error names the file and what is wrong. When
    /// neither file exists the stand-in pair is served instead (made if
    /// needed, made again if it cannot be loaded).
    pub fn load(files: &TlsFiles, stand_in: &StandIn) -> Result<Acceptor, String> {
        let stamp = stamp_of(files);
        let (config, serving) = if selfsigned::both_missing(files) {
            (load_stand_in(stand_in)?, Some(stand_in.files.clone()))
        } else {
            (server_config(files)?, None)
        };
        Ok(Acceptor {
            files: files.clone(),
            config,
            stamp,
            stand_in: serving,
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
    /// On an error the current pair stays in use; so does the stand-in
    /// while neither file exists. Connections already open keep the pair
    /// they started with.
    pub fn reload(&mut self, files: &TlsFiles) -> Result<Serving, String> {
        // Whatever the outcome, this version of the files was looked at:
        // a broken pair is reported once, not at every check.
        self.stamp = stamp_of(files);
        if selfsigned::both_missing(files) {
            if self.stand_in.is_some() {
                self.files = files.clone();
                return Ok(Serving::StandIn);
            }
            return Err(format!(
                "neither {} nor {} exists",
                files.cert.display(),
                files.key.display()
            ));
        }
        self.config = server_config(files)?;
        self.files = files.clone();
        self.stand_in = None;
        Ok(Serving::Configured)
    }
}

/// Can `files` be served (`picoircd check`)? The error says why not.
pub fn check(files: &TlsFiles) -> Result<(), String> {
    server_config(files).map(|_| ())
}

/// The stand-in pair's configuration, making the pair when it is missing
/// and again when what is there cannot be loaded (it is the server's own).
fn load_stand_in(stand_in: &StandIn) -> Result<Arc<ServerConfig>, String> {
    let files = stand_in.ensure()?;
    match server_config(files) {
        Ok(config) => Ok(config),
        Err(_) => {
            stand_in.remake()?;
            server_config(&stand_in.files)
        }
    }
}

/// What tells one version of a file from the next: its modification
/// time, size and inode. A renewal that moves new files into place (or
/// repoints a symlink, as certbot does) changes the inode even when the
/// clock or a copy keeps the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp_of(files: &TlsFiles) -> (Option<FileStamp>, Option<FileStamp>) {
    use std::os::unix::fs::MetadataExt;
    // Follows symlinks: the file that would be loaded.
    let stamp = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| FileStamp {
            modified: m.modified().ok(),
            len: m.len(),
            inode: m.ino(),
        })
    };
    (stamp(&files.cert), stamp(&files.key))
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

    /// A stand-in in its own folder, so that no test sees another's.
    fn stand_in(name: &str) -> StandIn {
        StandIn::new(&temp(&format!("{name}-state")), "pico.test")
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
        let a = Acceptor::load(&files, &stand_in("load")).expect("loads");
        assert!(a.stand_in.is_none());
        let conn = a.connection().expect("a connection");
        assert!(conn.is_handshaking());
        assert!(!a.changed_on_disk());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn errors_name_the_file_and_a_bad_reload_keeps_the_old_pair() {
        let d = temp("errors");
        let files = pair(&d);
        let s = stand_in("errors");
        let mut a = Acceptor::load(&files, &s).expect("loads");
        let missing = TlsFiles {
            cert: d.join("nope.pem"),
            key: files.key.clone(),
        };
        let e = Acceptor::load(&missing, &s).err().expect("an error");
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
        let e = Acceptor::load(&mixed, &s).err().expect("mismatch");
        assert!(e.contains("does the key belong"), "{e}");
        // Both files gone: the real pair stays, never the stand-in.
        let gone = TlsFiles {
            cert: d.join("gone.pem"),
            key: d.join("gone-key.pem"),
        };
        let e = a.reload(&gone).expect_err("nothing to load");
        assert!(e.contains("neither") && e.contains("gone.pem"), "{e}");
        assert!(a.stand_in.is_none() && !s.files.cert.exists());
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&other);
        let _ = std::fs::remove_dir_all(s.files.cert.parent().unwrap());
    }

    #[test]
    fn the_stand_in_serves_until_the_configured_pair_appears() {
        let d = temp("standin");
        let s = stand_in("standin");
        let files = TlsFiles {
            cert: d.join("tls/fullchain.pem"),
            key: d.join("tls/privkey.pem"),
        };
        let mut a = Acceptor::load(&files, &s).expect("the stand-in");
        assert_eq!(a.stand_in.as_ref(), Some(&s.files));
        assert!(s.files.cert.exists() && !files.cert.exists());
        assert!(a.connection().is_ok());
        assert!(!a.changed_on_disk());
        assert_eq!(a.reload(&files), Ok(Serving::StandIn));
        // A stand-in that cannot be loaded is the server's own: remade.
        std::fs::write(&s.files.cert, "garbage\n").unwrap();
        let b = Acceptor::load(&files, &s).expect("remade");
        assert!(std::fs::read_to_string(&s.files.cert)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        drop(b);
        // The real pair appears: it is noticed and replaces the stand-in.
        std::fs::create_dir_all(d.join("tls")).unwrap();
        let real = pair(&d);
        std::fs::rename(&real.cert, &files.cert).unwrap();
        std::fs::rename(&real.key, &files.key).unwrap();
        assert!(a.changed_on_disk());
        assert_eq!(a.reload(&files), Ok(Serving::Configured));
        assert!(a.stand_in.is_none());
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(s.files.cert.parent().unwrap());
    }

    #[test]
    fn a_file_moved_into_place_with_the_old_time_is_noticed() {
        let d = temp("moved");
        let files = pair(&d);
        let a = Acceptor::load(&files, &stand_in("moved")).expect("loads");
        let old_time = std::fs::metadata(&files.cert).unwrap().modified().unwrap();
        // A renewal copied with its time kept (cp -p), then moved in.
        let next = temp("moved-next");
        let renewed = pair(&next);
        std::fs::File::options()
            .write(true)
            .open(&renewed.cert)
            .unwrap()
            .set_modified(old_time)
            .unwrap();
        std::fs::rename(&renewed.cert, &files.cert).unwrap();
        assert_eq!(
            std::fs::metadata(&files.cert).unwrap().modified().unwrap(),
            old_time
        );
        assert!(a.changed_on_disk());
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&next);
        let _ = std::fs::remove_dir_all(temp("moved-state"));
    }

    #[test]
    fn fingerprints_are_lower_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
