//! HTTPS from the owner's PEM files, read again when they change, so a
//! renewed certificate (certbot, acme.sh) needs no restart. A renewal that
//! does not load (half written, key and certificate apart) keeps the last
//! good pair and says so in the log.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// How often the files are looked at for a change.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Names the file, never its contents.
    #[error("cannot read {what} file {path}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} file {path} holds no usable PEM {what}")]
    Pem { what: &'static str, path: PathBuf },
    #[error("the private key in {key} does not fit the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// Accepts TLS connections with the current certificate.
pub struct Acceptor {
    acceptor: tokio_rustls::TlsAcceptor,
    _reloader: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Acceptor")
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        if let Some(task) = &self._reloader {
            task.abort();
        }
    }
}

impl Acceptor {
    /// Loads the pair now (an error names the file) and looks for changes
    /// every few seconds from then on.
    pub fn new(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let files = Files {
            cert: cert.to_owned(),
            key: key.to_owned(),
        };
        let loaded = files.load(&provider)?;
        let resolver = Arc::new(Reloading {
            current: RwLock::new(loaded),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|_| TlsError::Pem {
                what: "certificate",
                path: files.cert.clone(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let reloader = tokio::runtime::Handle::try_current()
            .ok()
            .map(|rt| rt.spawn(reload(files, provider, resolver)));
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            _reloader: reloader,
        })
    }

    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.acceptor.accept(stream).await
    }
}

struct Files {
    cert: PathBuf,
    key: PathBuf,
}

/// What a loaded pair came from, to notice a change.
type Stamp = [Option<(SystemTime, u64)>; 2];

struct Loaded {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
}

impl Files {
    fn stamp(&self) -> Stamp {
        let of = |p: &Path| {
            let meta = std::fs::metadata(p).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        [of(&self.cert), of(&self.key)]
    }

    fn load(&self, provider: &CryptoProvider) -> Result<Loaded, TlsError> {
        let stamp = self.stamp();
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.to_owned(),
                source,
            })
        };
        let pem_error = |what: &'static str, path: &Path| TlsError::Pem {
            what,
            path: path.to_owned(),
        };
        let chain = CertificateDer::pem_slice_iter(&read("certificate", &self.cert)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| pem_error("certificate", &self.cert))?;
        if chain.is_empty() {
            return Err(pem_error("certificate", &self.cert));
        }
        let key = PrivateKeyDer::from_pem_slice(&read("private key", &self.key)?)
            .map_err(|_| pem_error("private key", &self.key))?;
        let signing = provider
            .key_provider
            .load_private_key(key)
            .map_err(|_| pem_error("private key", &self.key))?;
        let certified = CertifiedKey::new(chain, signing);
        if certified.keys_match().is_err() {
            return Err(TlsError::Mismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
            });
        }
        Ok(Loaded {
            key: Arc::new(certified),
            stamp,
        })
    }
}

#[derive(Debug)]
struct Reloading {
    current: RwLock<Loaded>,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loaded")
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.key.clone())
    }
}

async fn reload(files: Files, provider: Arc<CryptoProvider>, resolver: Arc<Reloading>) {
    let mut tick = tokio::time::interval(RELOAD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed: Option<Stamp> = None;
    loop {
        tick.tick().await;
        let stamp = files.stamp();
        let known = resolver.current.read().map(|c| c.stamp).ok();
        if known == Some(stamp) || failed == Some(stamp) {
            continue;
        }
        match files.load(&provider) {
            Ok(loaded) => {
                if let Ok(mut current) = resolver.current.write() {
                    *current = loaded;
                    failed = None;
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
            }
            Err(e) => {
                // Once per change, not every tick.
                failed = Some(stamp);
                tracing::warn!(error = %e, "TLS files changed but do not load; keeping the previous certificate");
            }
        }
    }
}
