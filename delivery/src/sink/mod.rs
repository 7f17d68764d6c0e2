//! The destinations a package is delivered to. Each attempt ends with a receipt
//! (what the sink answered) or a [`SinkError`] that says whether to retry.

mod folder;
mod s3;
pub mod signature;
mod webhook;

use crate::config::{SinkConfig, SinkKind};
use crate::error::{DeliveryError, SinkError};
use crate::record::Delivery;

/// A sink built from its configuration.
#[derive(Debug)]
pub(crate) enum Sink {
    Folder(folder::FolderSink),
    Webhook(webhook::WebhookSink),
    S3(s3::S3Sink),
}

impl Sink {
    pub(crate) fn new(config: &SinkConfig) -> Result<Sink, DeliveryError> {
        Ok(match &config.kind {
            SinkKind::Folder(c) => Sink::Folder(folder::FolderSink::new(c)),
            SinkKind::Webhook(c) => Sink::Webhook(webhook::WebhookSink::new(&config.name, c)?),
            SinkKind::S3(c) => Sink::S3(s3::S3Sink::new(&config.name, c)?),
        })
    }

    /// One attempt. The package file's content is checked against the enqueued
    /// digest on the way.
    pub(crate) async fn deliver(&self, job: &Delivery) -> Result<String, SinkError> {
        match self {
            Sink::Folder(s) => s.deliver(job).await,
            Sink::Webhook(s) => s.deliver(job).await,
            Sink::S3(s) => s.deliver(job).await,
        }
    }
}
