//! A real webhook receiver on 127.0.0.1 (axum): it checks the timestamp's freshness,
//! the HMAC signature and the content digest exactly as docs/delivery.md tells a
//! receiver to, stores each package once per idempotency key, and can be told to
//! misbehave (answer 500 after storing, refuse, hang).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use seduta_delivery::signature;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Store (once per key) and answer 200.
    Accept,
    /// Store (once per key), then answer 500 this many more times.
    FailAfterStore(u32),
    /// Refuse with this status and message, storing nothing.
    Refuse(u16, String),
    /// Store, then never answer (until the test ends or 120 s pass).
    HangAfterStore,
}

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests that reached the handler, per idempotency key.
    pub requests: HashMap<String, u32>,
    /// Stored packages per idempotency key (body), stored once.
    pub stored: HashMap<String, Vec<u8>>,
    /// Times a key was stored (must stay 1).
    pub store_count: HashMap<String, u32>,
    /// Requests under way now, per key, and the most ever at once.
    pub in_progress: HashMap<String, u32>,
    pub max_in_progress: u32,
    /// Requests refused for a bad signature, timestamp or digest.
    pub bad_requests: u32,
    /// Headers of the last request.
    pub last_headers: Option<HeaderMap>,
}

#[derive(Clone)]
pub struct Receiver {
    pub seen: Arc<Mutex<Seen>>,
    pub mode: Arc<Mutex<Mode>>,
    /// Artificial work per request, so concurrent requests overlap.
    pub delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    pub fn new(mode: Mode) -> Receiver {
        Receiver {
            seen: Arc::default(),
            mode: Arc::new(Mutex::new(mode)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("lock") = mode;
    }

    /// Serves on `port` (0: any) until the handle is aborted.
    pub async fn serve(&self, port: u16) -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/seduta/pacchetti", post(handle))
            .with_state(self.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, task)
    }

    pub fn stored_count(&self, key: &str) -> u32 {
        self.seen
            .lock()
            .expect("lock")
            .store_count
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub fn requests(&self, key: &str) -> u32 {
        self.seen
            .lock()
            .expect("lock")
            .requests
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.seen.lock().expect("lock").stored.get(key).cloned()
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let Some(key) = header(&headers, signature::IDEMPOTENCY_KEY_HEADER).map(str::to_owned) else {
        return bad(&r, "no idempotency key");
    };
    // 1. Fresh timestamp (5 minutes either way).
    let Some(ts) = header(&headers, signature::TIMESTAMP_HEADER) else {
        return bad(&r, "no timestamp");
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match ts.parse::<u64>() {
        Ok(t) if t.abs_diff(now) <= 300 => {}
        _ => return bad(&r, "stale timestamp"),
    }
    // 2. Signature over timestamp + "." + body.
    let Some(sig) = header(&headers, signature::SIGNATURE_HEADER) else {
        return bad(&r, "no signature");
    };
    if !signature::verify(super::SECRET.as_bytes(), ts, &body, sig) {
        return bad(&r, "bad signature");
    }
    // 3. Content digest.
    if header(&headers, signature::CONTENT_SHA256_HEADER)
        != Some(hex::encode(Sha256::digest(&body)).as_str())
    {
        return bad(&r, "digest mismatch");
    }
    {
        let mut seen = r.seen.lock().expect("lock");
        *seen.requests.entry(key.clone()).or_default() += 1;
        let n = seen.in_progress.entry(key.clone()).or_default();
        *n += 1;
        let n = *n;
        seen.max_in_progress = seen.max_in_progress.max(n);
        seen.last_headers = Some(headers.clone());
    }
    let delay = *r.delay.lock().expect("lock");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = respond(&r, &key, body);
    if let Some(n) = r.seen.lock().expect("lock").in_progress.get_mut(&key) {
        *n -= 1;
    }
    match answer {
        Some(a) => a,
        None => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            (StatusCode::OK, "late".into())
        }
    }
}

/// The answer; `None` to hang.
fn respond(r: &Receiver, key: &str, body: Bytes) -> Option<(StatusCode, String)> {
    let mut mode = r.mode.lock().expect("lock");
    if let Mode::Refuse(status, message) = &*mode {
        return Some((
            StatusCode::from_u16(*status).expect("status"),
            message.clone(),
        ));
    }
    let mut seen = r.seen.lock().expect("lock");
    let duplicate = seen.stored.contains_key(key);
    if !duplicate {
        seen.stored.insert(key.to_owned(), body.to_vec());
        *seen.store_count.entry(key.to_owned()).or_default() += 1;
    }
    drop(seen);
    match &mut *mode {
        Mode::FailAfterStore(n) if *n > 0 => {
            *n -= 1;
            Some((StatusCode::INTERNAL_SERVER_ERROR, "errore interno".into()))
        }
        Mode::HangAfterStore => None,
        _ if duplicate => Some((StatusCode::OK, "già ricevuto".into())),
        _ => Some((StatusCode::CREATED, "ricevuto".into())),
    }
}

fn bad(r: &Receiver, why: &str) -> (StatusCode, String) {
    r.seen.lock().expect("lock").bad_requests += 1;
    (StatusCode::UNAUTHORIZED, why.into())
}
