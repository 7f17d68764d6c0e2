//! The delivery section of the server's configuration, as serde types.
//!
//! In the server's TOML:
//!
//! ```toml
//! [delivery.retry]
//! initial_backoff_secs = 30
//! max_backoff_secs = 1800
//! give_up_after_secs = 86400
//!
//! [[delivery.sinks]]
//! name = "archivio"
//! kind = "folder"
//! path = "/srv/conservazione/in"
//!
//! [[delivery.sinks]]
//! name = "protocollo"
//! kind = "webhook"
//! url = "https://protocollo.comune.example/seduta"
//! secret_env = "SEDUTA_WEBHOOK_SECRET"
//!
//! [[delivery.sinks]]
//! name = "s3"
//! kind = "s3"
//! bucket = "sedute"
//! endpoint = "https://s3.example.net"
//! region = "eu-south-1"
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::DeliveryError;

/// Everything the delivery outbox needs from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// The sinks every package is delivered to, by name. None: nothing is enqueued.
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
    /// Backoff and dead-letter timing.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// The worker's concurrency, polling and leases.
    #[serde(default)]
    pub worker: WorkerConfig,
}

impl DeliveryConfig {
    /// Checks what serde cannot: names unique and well formed, timings coherent,
    /// each sink's own settings. The error names the offending setting.
    pub fn validate(&self) -> Result<(), DeliveryError> {
        let mut seen = std::collections::HashSet::new();
        for sink in &self.sinks {
            if !crate::package::is_safe_name(&sink.name) || sink.name.len() > 64 {
                return Err(DeliveryError::Config(format!(
                    "sink name {:?}: use 1-64 letters, digits, '.', '_' or '-'",
                    sink.name
                )));
            }
            if !seen.insert(sink.name.as_str()) {
                return Err(DeliveryError::Config(format!(
                    "sink name {:?} is used twice",
                    sink.name
                )));
            }
        }
        self.retry.validate()?;
        self.worker.validate()
    }
}

/// One named destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkConfig {
    /// The sink's name: stored with each delivery, so keep it stable.
    pub name: String,
    /// What the sink is and its settings.
    #[serde(flatten)]
    pub kind: SinkKind,
}

/// The kinds of sink, tagged by `kind` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkKind {
    /// A folder on a local or mounted file system.
    Folder(FolderSinkConfig),
    /// An HTTP(S) endpoint that receives the package by POST.
    Webhook(WebhookSinkConfig),
    /// An S3-compatible bucket.
    S3(S3SinkConfig),
}

/// A folder sink: the package is written as `<session>-v<version>.zip` with its
/// `.zip.hash` beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderSinkConfig {
    /// The folder; it must exist (a missing mount point is retried, never created).
    pub path: PathBuf,
}

/// An HTTP webhook sink (headers and signature: docs/delivery.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSinkConfig {
    /// The URL the package is POSTed to; redirects are not followed.
    pub url: String,
    /// The shared HMAC secret, inline. Prefer `secret_env`.
    #[serde(default)]
    pub secret: Option<String>,
    /// The environment variable holding the shared HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Time allowed to connect, in seconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Time allowed for the whole request (upload and answer), in seconds.
    #[serde(default = "default_request_timeout")]
    pub timeout_secs: u64,
}

/// An S3-compatible sink (through `object_store`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3SinkConfig {
    /// The bucket; it must exist.
    pub bucket: String,
    /// The service's URL, for anything other than AWS (path-style requests).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The region (`us-east-1` if unset).
    #[serde(default)]
    pub region: Option<String>,
    /// Key prefix, e.g. `comune-x/sedute`; the object key is
    /// `<prefix>/<session>/v<version>/<session>-v<version>.zip`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Access key id; if unset, `AWS_ACCESS_KEY_ID` and the usual AWS sources.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The environment variable holding the secret access key (else
    /// `AWS_SECRET_ACCESS_KEY` and the usual AWS sources).
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// Allow `http://` endpoints (for a service on a private network).
    #[serde(default)]
    pub allow_http: bool,
    /// Multipart part size in bytes (at least 5 MiB, as S3 requires); packages up to
    /// this size go in one PUT.
    #[serde(default = "default_part_size")]
    pub part_size_bytes: u64,
}

/// Retry timing: exponential backoff with jitter, capped, and a time after which a
/// delivery becomes a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// The wait after the first failure, in seconds; it doubles after each failure.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff_secs: u64,
    /// The longest wait between attempts, in seconds.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_secs: u64,
    /// After this many seconds since enqueueing, a delivery that keeps failing is
    /// dead (and an alert is raised).
    #[serde(default = "default_give_up_after")]
    pub give_up_after_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff_secs: default_initial_backoff(),
            max_backoff_secs: default_max_backoff(),
            give_up_after_secs: default_give_up_after(),
        }
    }
}

impl RetryPolicy {
    fn validate(&self) -> Result<(), DeliveryError> {
        if self.initial_backoff_secs == 0 || self.max_backoff_secs < self.initial_backoff_secs {
            return Err(DeliveryError::Config(
                "retry: initial_backoff_secs must be at least 1 and at most max_backoff_secs"
                    .into(),
            ));
        }
        if self.give_up_after_secs == 0 {
            return Err(DeliveryError::Config(
                "retry: give_up_after_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The time allowed before a failing delivery is dead.
    pub fn give_up_after(&self) -> Duration {
        Duration::from_secs(self.give_up_after_secs)
    }
}

/// The worker's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Deliveries in progress at once, per process.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// How often the worker looks for due deliveries when nothing wakes it, in
    /// seconds (other processes' enqueues and retries become due without a wake-up).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    /// How long a claim holds a delivery; renewed while the delivery runs. A worker
    /// that dies leaves its claims to expire after this, then they are retried.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_concurrent: default_max_concurrent(),
            poll_interval_secs: default_poll_interval(),
            lease_secs: default_lease(),
        }
    }
}

impl WorkerConfig {
    fn validate(&self) -> Result<(), DeliveryError> {
        if self.max_concurrent == 0 || self.max_concurrent > 256 {
            return Err(DeliveryError::Config(
                "worker: max_concurrent must be between 1 and 256".into(),
            ));
        }
        if self.poll_interval_secs == 0 {
            return Err(DeliveryError::Config(
                "worker: poll_interval_secs must be at least 1".into(),
            ));
        }
        if self.lease_secs < 3 {
            return Err(DeliveryError::Config(
                "worker: lease_secs must be at least 3".into(),
            ));
        }
        Ok(())
    }
}

fn default_connect_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    600
}
fn default_part_size() -> u64 {
    16 * 1024 * 1024
}
fn default_initial_backoff() -> u64 {
    30
}
fn default_max_backoff() -> u64 {
    30 * 60
}
fn default_give_up_after() -> u64 {
    24 * 60 * 60
}
fn default_max_concurrent() -> u32 {
    4
}
fn default_poll_interval() -> u64 {
    5
}
fn default_lease() -> u64 {
    300
}
