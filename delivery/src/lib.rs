//! Delivery of session packages to the minutes and preservation pipeline, through
//! an outbox kept in the control plane's database.
//!
//! A closed session's package (a `.zip` built by the session package builder) is
//! **enqueued** once: one row per configured sink, in one transaction, in the
//! `deliveries` table (`signaling/migrations/0003_delivery.sql`). A **worker**
//! claims due rows under a lease, hands the package to the sink, and records the
//! outcome: delivered; retried later with exponential backoff and jitter; or
//! **dead** — refused by the sink, or still failing after `give_up_after_secs` —
//! which raises a [`DeliveryEvent::DeadLetter`] alert. All state is in the table:
//! after a restart, or when another server process shares the PostgreSQL
//! database, delivery goes on where it stopped, and a crashed worker's leases expire
//! so its deliveries are retried. Every attempt of one delivery carries the same
//! idempotency key, so a receiver sees each package once.
//!
//! Sinks: a **folder** (temporary name, fsync, rename), an **HTTP webhook** (the
//! body streamed from the file, HMAC-SHA256 signed: see [`signature`]), and
//! **S3-compatible** storage through `object_store` (multipart above the part
//! size). docs/delivery.md describes the receiver's side.
//!
//! ```no_run
//! # async fn run(pool: sqlx::AnyPool) -> Result<(), seduta_delivery::DeliveryError> {
//! use std::sync::Arc;
//! use seduta_delivery::{DeliveryConfig, Outbox, Package, PackageId, SystemClock};
//!
//! // The `[delivery]` table of the server's TOML.
//! let config: DeliveryConfig = toml::from_str(r#"
//!     [[sinks]]
//!     name = "archivio"
//!     kind = "folder"
//!     path = "/srv/conservazione/in"
//! "#).map_err(|e| seduta_delivery::DeliveryError::Config(e.to_string()))?;
//!
//! // `pool` is the control plane's database (`Store::pool()`), already migrated.
//! let outbox = Outbox::new(pool, &config, Arc::new(SystemClock))?;
//! let worker = outbox.worker("seduta-1").spawn();
//! let mut alerts = outbox.subscribe();
//!
//! // At close, once the package is built:
//! outbox
//!     .enqueue(&Package {
//!         id: PackageId { session_id: "giunta-2026-03-12".into(), version: 1 },
//!         zip_path: "/var/lib/seduta/packages/giunta-2026-03-12-v1.zip".into(),
//!     })
//!     .await?;
//! for d in outbox.for_session("giunta-2026-03-12").await? {
//!     println!("{} → {:?}", d.sink, d.state);
//! }
//! # let _ = alerts.try_recv();
//! worker.stop().await;
//! # Ok(())
//! # }
//! ```

mod backoff;
mod clock;
mod config;
mod error;
mod event;
mod outbox;
mod package;
mod record;
mod sink;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    DeliveryConfig, FolderSinkConfig, RetryPolicy, S3SinkConfig, SinkConfig, SinkKind,
    WebhookSinkConfig, WorkerConfig,
};
pub use error::{DeliveryError, Disposition, SinkError};
pub use event::DeliveryEvent;
pub use outbox::{Backlog, Outbox};
pub use package::{Package, PackageId};
pub use record::{Delivery, DeliveryState};
pub use sink::signature;
pub use worker::{RoundReport, Worker, WorkerHandle};
