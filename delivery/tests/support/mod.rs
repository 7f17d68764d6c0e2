//! Fixtures for the delivery tests: a fresh database on each engine, migrated by the
//! control plane's own migrations, and real receivers (an HTTP webhook server that
//! checks signatures, an S3-compatible server).

#![allow(dead_code)]

pub mod db;
pub mod receiver;
pub mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use seduta_delivery::{
    Clock, DeliveryConfig, FolderSinkConfig, Outbox, Package, PackageId, RetryPolicy, S3SinkConfig,
    SinkConfig, SinkKind, WebhookSinkConfig, WorkerConfig,
};
use sha2::{Digest, Sha256};

/// The shared secret of the test webhook.
pub const SECRET: &str = "test-secret-0123456789abcdef";

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "seduta-delivery-{tag}-{:016x}",
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a package file of `size` random bytes; returns the package and its SHA-256.
pub fn make_package(dir: &Path, session: &str, version: u32, size: usize) -> (Package, String) {
    let mut bytes = vec![0u8; size];
    for chunk in bytes.chunks_mut(8) {
        let r = rand::random::<u64>().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    let path = dir.join(format!("{session}-v{version}.zip"));
    std::fs::write(&path, &bytes).expect("package file");
    let sha = hex::encode(Sha256::digest(&bytes));
    (
        Package {
            id: PackageId {
                session_id: session.into(),
                version,
            },
            zip_path: path,
        },
        sha,
    )
}

/// The retry timing of the tests: 1 min doubling to 15 min, dead after 24 h.
pub fn retry() -> RetryPolicy {
    RetryPolicy {
        initial_backoff_secs: 60,
        max_backoff_secs: 15 * 60,
        give_up_after_secs: 24 * 3600,
    }
}

/// Worker settings: 4 at once, 30 s leases.
pub fn worker() -> WorkerConfig {
    WorkerConfig {
        max_concurrent: 4,
        poll_interval_secs: 1,
        lease_secs: 30,
    }
}

pub fn folder_sink(name: &str, dir: &Path) -> SinkConfig {
    SinkConfig {
        name: name.into(),
        kind: SinkKind::Folder(FolderSinkConfig {
            path: dir.to_path_buf(),
        }),
    }
}

pub fn webhook_sink(name: &str, port: u16) -> SinkConfig {
    SinkConfig {
        name: name.into(),
        kind: SinkKind::Webhook(WebhookSinkConfig {
            url: format!("http://127.0.0.1:{port}/seduta/pacchetti"),
            secret: Some(SECRET.into()),
            secret_env: None,
            connect_timeout_secs: 5,
            timeout_secs: 30,
        }),
    }
}

pub fn s3_sink(name: &str, server: &s3::S3Server, part_size: u64) -> SinkConfig {
    SinkConfig {
        name: name.into(),
        kind: SinkKind::S3(S3SinkConfig {
            bucket: s3::BUCKET.into(),
            endpoint: Some(server.endpoint()),
            region: Some("us-east-1".into()),
            prefix: Some("comune-test/sedute".into()),
            access_key_id: Some(s3::ACCESS_KEY.into()),
            secret_access_key_env: Some(s3::SECRET_ENV.into()),
            allow_http: true,
            part_size_bytes: part_size,
        }),
    }
}

/// An outbox over `pool` with these sinks and the test timing.
pub fn outbox(pool: &sqlx::AnyPool, sinks: Vec<SinkConfig>, clock: Arc<dyn Clock>) -> Outbox {
    outbox_with(pool, sinks, retry(), clock)
}

pub fn outbox_with(
    pool: &sqlx::AnyPool,
    sinks: Vec<SinkConfig>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
) -> Outbox {
    let config = DeliveryConfig {
        sinks,
        retry,
        worker: worker(),
    };
    Outbox::new(pool.clone(), &config, clock).expect("outbox")
}

/// Waits (bounded: 60 s in 50 ms steps) until `check` holds; panics with `what`
/// otherwise. A bound on a wait, never a timing assertion.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting: {what}");
}

/// A port on 127.0.0.1 with nothing listening on it (a receiver that is down).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
