//! The S3-compatible sink, through `object_store`: one PUT for a package up to the
//! part size, a multipart upload above it; the key is derived from the package id, so
//! a repeat finds the object already there.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, RetryConfig, WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::config::S3SinkConfig;
use crate::error::{DeliveryError, SinkError};
use crate::record::Delivery;

/// S3's smallest part (but the last).
const MIN_PART: u64 = 5 * 1024 * 1024;
/// Parts uploaded at once: memory use is about this many parts.
const PARALLEL_PARTS: usize = 2;

/// A configured bucket.
#[derive(Debug)]
pub(crate) struct S3Sink {
    store: Arc<dyn ObjectStore>,
    prefix: Option<String>,
    part_size: usize,
}

impl S3Sink {
    pub(crate) fn new(name: &str, config: &S3SinkConfig) -> Result<Self, DeliveryError> {
        let bad = |what: String| DeliveryError::Config(format!("sink {name:?}: {what}"));
        if config.part_size_bytes < MIN_PART || config.part_size_bytes > 1024 * 1024 * 1024 {
            return Err(bad("part_size_bytes must be between 5 MiB and 1 GiB".into()));
        }
        let part_size = usize::try_from(config.part_size_bytes)
            .map_err(|_| bad("part_size_bytes is too large".into()))?;
        // The outbox retries over hours; the client's own retries only smooth over
        // a dropped connection within one attempt.
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_allow_http(config.allow_http)
            .with_retry(retry);
        if let Some(endpoint) = &config.endpoint {
            b = b.with_endpoint(endpoint);
        }
        b = b.with_region(config.region.as_deref().unwrap_or("us-east-1"));
        if let Some(id) = &config.access_key_id {
            b = b.with_access_key_id(id);
        }
        if let Some(var) = &config.secret_access_key_env {
            let secret = std::env::var(var)
                .map_err(|_| bad(format!("the environment variable {var} is not set")))?;
            b = b.with_secret_access_key(secret);
        }
        let store = b.build().map_err(|e| bad(format!("{e}")))?;
        let prefix = config
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/').to_owned())
            .filter(|p| !p.is_empty());
        Ok(S3Sink {
            store: Arc::new(store),
            prefix,
            part_size,
        })
    }

    /// `<prefix>/<session>/v<version>/<session>-v<version>.zip`.
    pub(crate) fn key(&self, job: &Delivery) -> ObjectPath {
        let tail = format!(
            "{}/v{}/{}",
            job.package.session_id,
            job.package.version,
            job.package.file_name()
        );
        match &self.prefix {
            Some(p) => ObjectPath::from(format!("{p}/{tail}")),
            None => ObjectPath::from(tail),
        }
    }

    pub(crate) async fn deliver(&self, job: &Delivery) -> Result<String, SinkError> {
        let key = self.key(job);
        if self.already_there(&key, job).await? {
            return Ok(format!("{key} (already present)"));
        }
        let mut file = tokio::fs::File::open(Path::new(&job.package_path))
            .await
            .map_err(|e| SinkError::permanent("package_missing", format!("{e}")))?;
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, "application/zip".into());
        attributes.insert(
            Attribute::Metadata("sha256".into()),
            job.package_sha256.clone().into(),
        );
        if job.package_size <= self.part_size as u64 {
            let body = read_up_to(&mut file, self.part_size + 1).await?;
            check_digest(&body, job)?;
            let opts = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            self.store
                .put_opts(&key, PutPayload::from(body), opts)
                .await
                .map_err(store_error)?;
        } else {
            self.upload_parts(&key, &mut file, attributes, job).await?;
        }
        Ok(key.to_string())
    }

    async fn upload_parts(
        &self,
        key: &ObjectPath,
        file: &mut tokio::fs::File,
        attributes: Attributes,
        job: &Delivery,
    ) -> Result<(), SinkError> {
        let opts = PutMultipartOptions {
            attributes,
            ..PutMultipartOptions::default()
        };
        let upload = self
            .store
            .put_multipart_opts(key, opts)
            .await
            .map_err(store_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut digest = Sha256::new();
        let mut buf = vec![0u8; 1024 * 1024];
        let streamed: Result<(), SinkError> = async {
            loop {
                writer
                    .wait_for_capacity(PARALLEL_PARTS)
                    .await
                    .map_err(store_error)?;
                let n = file
                    .read(&mut buf)
                    .await
                    .map_err(|e| SinkError::retry("package_read", format!("{e}")))?;
                if n == 0 {
                    return Ok(());
                }
                digest.update(&buf[..n]);
                writer.write(&buf[..n]);
            }
        }
        .await;
        let verdict = streamed.and_then(|()| {
            if hex::encode(digest.finalize()) == job.package_sha256 {
                Ok(())
            } else {
                Err(changed())
            }
        });
        match verdict {
            Ok(()) => writer.finish().await.map(|_| ()).map_err(store_error),
            Err(e) => {
                // Leave no half-uploaded parts billed in the bucket.
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Whether the object exists with exactly this content. Another object under the
    /// package's key is a conflict: a package version never changes.
    async fn already_there(&self, key: &ObjectPath, job: &Delivery) -> Result<bool, SinkError> {
        let meta = match self.store.head(key).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(store_error(e)),
        };
        if meta.size == job.package_size {
            let mut stream = self
                .store
                .get(key)
                .await
                .map_err(store_error)?
                .into_stream();
            let mut digest = Sha256::new();
            while let Some(chunk) = stream.next().await {
                digest.update(chunk.map_err(store_error)?);
            }
            if hex::encode(digest.finalize()) == job.package_sha256 {
                return Ok(true);
            }
        }
        Err(SinkError::permanent(
            "conflict",
            format!("{key} exists with other content; it is not overwritten"),
        ))
    }
}

async fn read_up_to(file: &mut tokio::fs::File, limit: usize) -> Result<Vec<u8>, SinkError> {
    let mut body = Vec::new();
    file.take(limit as u64)
        .read_to_end(&mut body)
        .await
        .map_err(|e| SinkError::retry("package_read", format!("{e}")))?;
    Ok(body)
}

fn check_digest(body: &[u8], job: &Delivery) -> Result<(), SinkError> {
    if hex::encode(Sha256::digest(body)) == job.package_sha256 {
        Ok(())
    } else {
        Err(changed())
    }
}

fn changed() -> SinkError {
    SinkError::permanent(
        "package_changed",
        "the package file no longer has the content that was enqueued",
    )
}

/// Refusals of the credentials are permanent (like an HTTP 4xx); everything else,
/// including a network failure, is retried.
fn store_error(e: object_store::Error) -> SinkError {
    match e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            SinkError::permanent("s3_denied", e.to_string())
        }
        other => SinkError::retry("s3", other.to_string()),
    }
}
