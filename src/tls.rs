//! HTTPS certificate reload without a restart: the certificate and key files are
//! read again every few seconds and on `SIGHUP`; when they changed and form a valid
//! pair, new connections get the new certificate (open ones keep theirs). A pair that
//! does not load (a renewal caught half-written, a wrong key) is logged and the
//! previous certificate stays in service.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use tracing::{info, warn};

/// Watches `cert` and `key` and reloads `config` when they change.
pub struct CertificateWatch {
    config: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
    loaded: Option<u64>,
}

impl CertificateWatch {
    /// A watch over the pair `config` was loaded from.
    pub fn new(config: RustlsConfig, cert: &Path, key: &Path) -> Self {
        let loaded = fingerprint(cert, key);
        Self {
            config,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            loaded,
        }
    }

    /// Runs until the process ends: checks every `every` and at each `SIGHUP`.
    pub async fn run(mut self, every: Duration) {
        let mut hangups =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            match &mut hangups {
                Some(h) => {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = h.recv() => info!("SIGHUP: checking the TLS certificate"),
                    }
                }
                None => {
                    tick.tick().await;
                }
            }
            self.check().await;
        }
    }

    /// Reloads when the files changed since the last successful load.
    pub async fn check(&mut self) {
        let now = fingerprint(&self.cert, &self.key);
        if now.is_none() || now == self.loaded {
            return;
        }
        match self
            .config
            .reload_from_pem_file(&self.cert, &self.key)
            .await
        {
            Ok(()) => {
                self.loaded = now;
                info!("the TLS certificate was reloaded");
            }
            Err(e) => {
                // Remembered, so that the same bad pair is not retried every tick.
                self.loaded = now;
                warn!(error = %e, "the new TLS certificate could not be loaded; the previous one stays in service");
            }
        }
    }
}

/// A hash of both files' contents; `None` when either cannot be read.
fn fingerprint(cert: &Path, key: &Path) -> Option<u64> {
    let mut h = DefaultHasher::new();
    std::fs::read(cert).ok()?.hash(&mut h);
    std::fs::read(key).ok()?.hash(&mut h);
    Some(h.finish())
}
