//! The HTTP webhook sink: POSTs the `.zip`, streamed from its file, signed.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::signature::{
    ATTEMPT_HEADER, CONTENT_SHA256_HEADER, IDEMPOTENCY_KEY_HEADER, PACKAGE_VERSION_HEADER,
    SESSION_HEADER, SIGNATURE_HEADER, Signer, TIMESTAMP_HEADER,
};
use crate::config::WebhookSinkConfig;
use crate::error::{DeliveryError, SinkError};
use crate::record::Delivery;

/// The longest part of a receiver's error answer kept in the outbox.
const MAX_MESSAGE: usize = 1024;

/// A configured webhook.
#[derive(Debug)]
pub(crate) struct WebhookSink {
    url: reqwest::Url,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl WebhookSink {
    pub(crate) fn new(name: &str, config: &WebhookSinkConfig) -> Result<Self, DeliveryError> {
        let bad = |what: String| DeliveryError::Config(format!("sink {name:?}: {what}"));
        let url = reqwest::Url::parse(&config.url).map_err(|e| bad(format!("url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("url must be http:// or https://".into()));
        }
        let secret = match (&config.secret, &config.secret_env) {
            (Some(s), None) => s.clone(),
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| bad(format!("the environment variable {var} is not set")))?,
            _ => return Err(bad("set exactly one of secret and secret_env".into())),
        };
        if secret.len() < 16 {
            return Err(bad("the shared secret must be at least 16 bytes".into()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .timeout(Duration::from_secs(config.timeout_secs))
            // A streamed body cannot be sent twice: a redirect is a configuration
            // error to fix, not something to follow.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(format!("HTTP client: {e}")))?;
        Ok(WebhookSink {
            url,
            secret: secret.into_bytes(),
            client,
        })
    }

    pub(crate) async fn deliver(&self, job: &Delivery) -> Result<String, SinkError> {
        let path = Path::new(&job.package_path);
        let timestamp = (crate::clock::system_now_ms() / 1000).to_string();
        // The signature goes in a header, before the body: one pass over the file
        // to sign it (and to check it is still the package that was enqueued), a
        // second to send it.
        let signature = self.sign_file(path, &timestamp, job).await?;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| SinkError::permanent("package_missing", format!("{e}")))?;
        let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, 256 * 1024));
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/zip")
            .header(CONTENT_LENGTH, job.package_size)
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_KEY_HEADER, &job.idempotency_key)
            .header(CONTENT_SHA256_HEADER, &job.package_sha256)
            .header(SESSION_HEADER, &job.package.session_id)
            .header(PACKAGE_VERSION_HEADER, job.package.version)
            .header(ATTEMPT_HEADER, job.attempts)
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(format!("HTTP {}", status.as_u16()));
        }
        let retry_after = retry_after(response.headers());
        let message = format!("HTTP {}: {}", status.as_u16(), answer_text(response).await);
        Err(classify(status, message, retry_after))
    }

    async fn sign_file(
        &self,
        path: &Path,
        timestamp: &str,
        job: &Delivery,
    ) -> Result<String, SinkError> {
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| SinkError::permanent("package_missing", format!("{e}")))?;
        let mut signer = Signer::new(&self.secret, timestamp);
        let mut digest = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| SinkError::retry("package_read", format!("{e}")))?;
            if n == 0 {
                break;
            }
            signer.update(&buf[..n]);
            digest.update(&buf[..n]);
        }
        if hex::encode(digest.finalize()) != job.package_sha256 {
            return Err(SinkError::permanent(
                "package_changed",
                "the package file no longer has the content that was enqueued",
            ));
        }
        Ok(signer.finish())
    }
}

/// What a status means: 2xx is handled before; 408 and 429 and 5xx are passing;
/// any other answer (4xx, and 3xx since redirects are not followed) is a refusal.
fn classify(status: StatusCode, message: String, retry_after: Option<Duration>) -> SinkError {
    let mut err = if status.is_server_error() {
        SinkError::retry("http_5xx", message)
    } else if status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS {
        SinkError::retry("http_busy", message)
    } else if status.is_redirection() {
        SinkError::permanent("http_redirect", message)
    } else {
        SinkError::permanent("http_4xx", message)
    };
    err.retry_after = retry_after;
    err
}

fn transport_error(e: reqwest::Error) -> SinkError {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    // reqwest's message names the URL, which is configuration, not personal data.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    SinkError::retry(code, message)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for webhooks and ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(24 * 3600)))
}

/// The start of the receiver's answer, as printable text.
async fn answer_text(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_MESSAGE {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(MAX_MESSAGE);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Disposition;

    #[test]
    fn statuses() {
        let d =
            |s: u16| classify(StatusCode::from_u16(s).unwrap(), String::new(), None).disposition;
        assert_eq!(d(500), Disposition::Retry);
        assert_eq!(d(503), Disposition::Retry);
        assert_eq!(d(408), Disposition::Retry);
        assert_eq!(d(429), Disposition::Retry);
        assert_eq!(d(400), Disposition::Permanent);
        assert_eq!(d(401), Disposition::Permanent);
        assert_eq!(d(422), Disposition::Permanent);
        assert_eq!(d(302), Disposition::Permanent);
    }
}
