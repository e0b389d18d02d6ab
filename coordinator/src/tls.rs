//! TLS for the miners' listener (rustls): `wss://` instead of `ws://` on links that leave the LAN.
//!
//! The certificate is either the operator's own (`tls_cert` + `tls_key`, PEM), or a self-signed
//! one generated once into the data dir (`tls-cert.pem`, `tls-key.pem`, the key readable by its
//! owner only) and reused at every start. Miners pin it by its fingerprint, `sha256:<hex>` (the
//! SHA-256 of the DER certificate), which the daemon logs at start and
//! `netcoordinator tls-fingerprint` prints.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The self-signed certificate's file in the data dir.
pub const CERT_FILE: &str = "tls-cert.pem";
/// The self-signed certificate's key in the data dir.
pub const KEY_FILE: &str = "tls-key.pem";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("reading {path}: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    /// Writing the generated certificate failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// Generating the self-signed certificate failed.
    #[error("generating the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The certificate and key do not make a TLS server (e.g. the key is not the certificate's).
    #[error("the TLS certificate and key cannot be used: {0}")]
    Rustls(#[from] rustls::Error),
    /// Only one of `tls_cert` and `tls_key` was given.
    #[error("tls_cert and tls_key (--tls-cert, --tls-key) must be given together")]
    Half,
    /// No certificate was generated in the data dir yet.
    #[error("no TLS certificate in {0}: start netcoordinator with --tls once to generate it")]
    NotGenerated(PathBuf),
}

/// `sha256:<hex>`: the SHA-256 of a DER certificate, as miners pin it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(cert.as_ref())))
}

/// The fingerprint of the first certificate of a PEM file.
pub fn fingerprint_of_file(path: &Path) -> Result<String, TlsError> {
    Ok(fingerprint(&read_certs(path)?[0]))
}

/// The fingerprint of the certificate generated in `data_dir`.
pub fn data_dir_fingerprint(data_dir: &Path) -> Result<String, TlsError> {
    let path = data_dir.join(CERT_FILE);
    if !path.exists() {
        return Err(TlsError::NotGenerated(data_dir.to_path_buf()));
    }
    fingerprint_of_file(&path)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |source| TlsError::Pem {
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// The listener's TLS: the acceptor and the certificate's fingerprint.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
    fingerprint: String,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The operator's own certificate (chain) and private key, both PEM.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let certs = read_certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Pem {
            path: key.to_path_buf(),
            source,
        })?;
        ServerTls::new(certs, key)
    }

    /// The self-signed certificate of `data_dir`, generated on first use.
    pub fn self_signed(data_dir: &Path) -> Result<ServerTls, TlsError> {
        let cert = data_dir.join(CERT_FILE);
        let key = data_dir.join(KEY_FILE);
        if !(cert.exists() && key.exists()) {
            let gen = rcgen::generate_simple_self_signed(vec![
                "netcoordinator".to_string(),
                "localhost".to_string(),
            ])?;
            write_private(&key, gen.signing_key.serialize_pem().as_bytes())?;
            write_private(&cert, gen.cert.pem().as_bytes())?;
            tracing::info!(cert = %cert.display(), "generated a self-signed TLS certificate");
        }
        ServerTls::from_pem_files(&cert, &key)
    }

    fn new(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ServerTls, TlsError> {
        let fingerprint = fingerprint(&certs[0]);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            fingerprint,
        })
    }

    /// `sha256:<hex>` of the certificate miners see.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Writes a file readable by its owner only (the key), atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(err)?;
    io::Write::write_all(&mut f, bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// A miner's socket: plain TCP, or TLS over it.
pub enum MaybeTls {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl MaybeTls {
    /// The TLS handshake when `tls` is set, else the plain socket.
    pub async fn accept(tls: Option<&ServerTls>, tcp: TcpStream) -> io::Result<MaybeTls> {
        match tls {
            None => Ok(MaybeTls::Plain(tcp)),
            Some(t) => Ok(MaybeTls::Tls(Box::new(t.acceptor.accept(tcp).await?))),
        }
    }
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
