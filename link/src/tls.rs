//! How a link trusts a `wss://` coordinator: the certificate pinned by its fingerprint
//! (`--tls-fingerprint sha256:<hex>`, the SHA-256 of the DER certificate, as
//! `netcoordinator tls-fingerprint` prints it), a CA file (`--tls-ca`), or the system's roots.
//!
//! A pinned certificate is accepted exactly, whatever its names and dates; the handshake
//! signature is still verified with its key, so only the holder of the pinned certificate's key
//! gets through.
//!
//! A certificate that is not the pinned one is a refusal only the operator can fix (an impostor
//! answers at the address, or the pin is out of date): [`pin_mismatch`] finds it in a connection
//! error, so the dialer treats it like a refused secret and not like a network failure.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

/// Which `wss://` coordinators a link trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsTrust {
    /// Certificates the system's roots vouch for (for the host name in the address).
    #[default]
    SystemRoots,
    /// Certificates the CAs of this PEM file vouch for.
    CaFile(PathBuf),
    /// Exactly these certificates (SHA-256 of the DER certificate).
    Pinned(Vec<[u8; 32]>),
}

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A fingerprint is not `sha256:` and 64 hex digits.
    #[error("--tls-fingerprint {0:?} is not sha256:<64 hex digits> (as `netcoordinator tls-fingerprint` prints it)")]
    BadFingerprint(String),
    /// The CA file cannot be read.
    #[error("--tls-ca {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No system root certificate could be loaded.
    #[error("no system root certificates ({0}): give --tls-fingerprint or --tls-ca")]
    NoRoots(String),
    /// rustls refused the settings.
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The coordinator's certificate is not the pinned one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the coordinator's TLS certificate is sha256:{got}, not the pinned {want} (an impostor, or --tls-fingerprint is out of date)")]
pub struct PinMismatch {
    /// The certificate's fingerprint (hex).
    pub got: String,
    /// The pinned fingerprints.
    pub want: String,
}

/// Parses `sha256:<64 hex digits>` (the prefix may be left out; colons between bytes are allowed).
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], TlsSetupError> {
    let t = text.trim();
    let hexpart = t.strip_prefix("sha256:").unwrap_or(t).replace(':', "");
    let mut out = [0u8; 32];
    hex::decode_to_slice(&hexpart, &mut out)
        .map_err(|_| TlsSetupError::BadFingerprint(text.to_string()))?;
    Ok(out)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The rustls client settings for `trust`.
pub fn client_config(trust: &TlsTrust) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = match trust {
        TlsTrust::Pinned(pins) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier {
                pins: pins.clone(),
                provider,
            }))
            .with_no_client_auth(),
        TlsTrust::CaFile(path) => {
            let err = |reason: String| TlsSetupError::CaFile {
                path: path.clone(),
                reason,
            };
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| err(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(e.to_string()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(err("no usable CA certificate in it".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::SystemRoots => {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = rustls::RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or("none found".to_string(), |e| e.to_string());
                return Err(TlsSetupError::NoRoots(why));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// The pinned-certificate mismatch inside a connection error (rustls reports it wrapped in an
/// I/O error, wrapped in the WebSocket error), if that is what the error is.
pub fn pin_mismatch<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a PinMismatch> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            err.downcast_ref::<rustls::Error>()
        {
            if let Some(m) = other.0.downcast_ref::<PinMismatch>() {
                return Some(m);
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(m) = io.get_ref().and_then(|inner| pin_mismatch(inner)) {
                return Some(m);
            }
        }
        cur = err.source();
    }
    None
}

#[derive(Debug)]
struct PinnedVerifier {
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if self.pins.contains(&got) {
            return Ok(ServerCertVerified::assertion());
        }
        let want = self
            .pins
            .iter()
            .map(|p| format!("sha256:{}", hex::encode(p)))
            .collect::<Vec<_>>()
            .join(" or ");
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch {
                got: hex::encode(got),
                want,
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_prefix_and_bad_ones_are_named() {
        let hex64 = "ab".repeat(32);
        assert_eq!(
            parse_fingerprint(&format!("sha256:{hex64}")).unwrap(),
            [0xab; 32]
        );
        assert_eq!(parse_fingerprint(&hex64).unwrap(), [0xab; 32]);
        let e = parse_fingerprint("sha256:1234").unwrap_err().to_string();
        assert!(e.contains("sha256:1234") && e.contains("64 hex"), "{e}");
    }

    #[test]
    fn a_pin_mismatch_is_found_inside_the_errors_that_wrap_it() {
        let mismatch = PinMismatch {
            got: "ab".repeat(32),
            want: "sha256:cd".into(),
        };
        let tls = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
            Arc::new(mismatch),
        )));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let ws = tokio_tungstenite::tungstenite::Error::Io(io);
        let found = pin_mismatch(&ws).expect("the mismatch");
        assert_eq!(found.want, "sha256:cd");
        let other = tokio_tungstenite::tungstenite::Error::Io(std::io::Error::other("refused"));
        assert!(pin_mismatch(&other).is_none());
    }
}
