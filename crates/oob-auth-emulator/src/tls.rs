//! Optional TLS: a self-signed certificate made at start (written to disk for the clients to
//! trust) and a listener that hands axum finished TLS connections.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::StartError;

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate the server presents, and where it was written.
#[derive(Clone)]
pub(crate) struct Tls {
    /// `cert.pem`: the certificate (clients add it to their trust store).
    pub(crate) certificate: PathBuf,
    /// `key.pem`: its private key (mode 0600).
    pub(crate) private_key: PathBuf,
    pub(crate) acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Makes a certificate for `names` (host names and IP addresses), valid from now on, and
    /// writes it and its key to `dir`.
    pub(crate) fn generate(dir: &Path, names: Vec<String>) -> Result<Tls, StartError> {
        let tls_error = |e: &dyn std::fmt::Display| StartError::Tls(e.to_string());
        let certified = rcgen::generate_simple_self_signed(names).map_err(|e| tls_error(&e))?;
        let cert_pem = pem("CERTIFICATE", certified.cert.der());
        let key_der = certified.signing_key.serialize_der();
        let key_pem = pem("PRIVATE KEY", &key_der);

        std::fs::create_dir_all(dir).map_err(|e| StartError::io(dir, e))?;
        let certificate = dir.join("cert.pem");
        let private_key = dir.join("key.pem");
        std::fs::write(&certificate, cert_pem).map_err(|e| StartError::io(&certificate, e))?;
        write_private(&private_key, key_pem.as_bytes())
            .map_err(|e| StartError::io(&private_key, e))?;

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(&e))?
            .with_no_client_auth()
            .with_single_cert(
                vec![certified.cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
            )
            .map_err(|e| tls_error(&e))?;
        Ok(Tls {
            certificate,
            private_key,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// PEM text (RFC 7468): base64 in lines of 64 characters between the labels.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(path, bytes)
}

/// A TCP listener whose connections axum receives after their TLS handshake. Handshakes run
/// in their own tasks, so a slow client holds up nobody; one that fails is dropped.
pub(crate) struct TlsListener {
    addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let addr = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    // Out of file descriptors and the like: wait, as axum's own listener does.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener {
            addr,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}
