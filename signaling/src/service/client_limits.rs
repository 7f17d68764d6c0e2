//! Limits per client address, in front of every signaling and API route: a request
//! rate (token bucket per IP) and a cap on open WebSockets per IP. A municipal network
//! often puts the whole Giunta behind one address, so the defaults are generous for a
//! room and still stop one address from flooding the service. Refusals are `429` with
//! `{"code":"rate_limited"}` or `{"code":"too_many_connections"}` and `Retry-After`.
//!
//! The address is the TCP peer's; behind a reverse proxy listed in `trusted_proxies`,
//! the last address of `X-Forwarded-For` that is not itself a trusted proxy.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::rate_limit::TokenBucket;
use crate::Shared;

/// Per-address limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientLimitSettings {
    /// Requests (HTTP calls and WebSocket upgrades) per second per address.
    pub requests_per_second: u32,
    /// Requests an address may make at once before the rate applies.
    pub request_burst: u32,
    /// Open WebSockets per address.
    pub websockets_per_ip: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for ClientLimitSettings {
    fn default() -> Self {
        Self {
            requests_per_second: 50,
            request_burst: 200,
            websockets_per_ip: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Addresses idle this long are forgotten.
const IDLE: Duration = Duration::from_secs(600);
/// Past this many addresses, idle ones are swept on the next request.
const SWEEP_ABOVE: usize = 10_000;

/// The state of every address seen recently.
#[derive(Debug)]
pub struct ClientLimits {
    settings: ClientLimitSettings,
    clients: Mutex<HashMap<IpAddr, Client>>,
}

#[derive(Debug)]
struct Client {
    bucket: TokenBucket,
    websockets: u32,
    last: Instant,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address exceeded its request rate.
    RateLimited,
    /// The address has too many WebSockets open.
    TooManyConnections,
}

/// An open WebSocket counted against its address until dropped.
#[derive(Debug)]
pub struct WebSocketSlot {
    limits: Arc<ClientLimits>,
    ip: IpAddr,
}

impl Drop for WebSocketSlot {
    fn drop(&mut self) {
        if let Ok(mut clients) = self.limits.clients.lock()
            && let Some(c) = clients.get_mut(&self.ip)
        {
            c.websockets = c.websockets.saturating_sub(1);
        }
    }
}

impl ClientLimits {
    /// Limits with `settings`.
    pub fn new(settings: ClientLimitSettings) -> Self {
        Self {
            settings,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip` at `now`.
    pub fn request(&self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let Ok(mut clients) = self.clients.lock() else {
            return Ok(());
        };
        if clients.len() > SWEEP_ABOVE {
            clients.retain(|_, c| c.websockets > 0 || now.duration_since(c.last) < IDLE);
        }
        let s = &self.settings;
        let client = clients.entry(ip).or_insert_with(|| Client {
            bucket: TokenBucket::new(s.requests_per_second, s.request_burst, now),
            websockets: 0,
            last: now,
        });
        client.last = now;
        if client.bucket.take(now) {
            Ok(())
        } else {
            Err(Refusal::RateLimited)
        }
    }

    /// Takes a WebSocket slot for `ip`, released when the slot is dropped.
    pub fn open_websocket(
        self: &Arc<Self>,
        ip: IpAddr,
        now: Instant,
    ) -> Result<WebSocketSlot, Refusal> {
        let Ok(mut clients) = self.clients.lock() else {
            return Err(Refusal::TooManyConnections);
        };
        let s = &self.settings;
        let client = clients.entry(ip).or_insert_with(|| Client {
            bucket: TokenBucket::new(s.requests_per_second, s.request_burst, now),
            websockets: 0,
            last: now,
        });
        if client.websockets >= s.websockets_per_ip {
            return Err(Refusal::TooManyConnections);
        }
        client.websockets += 1;
        client.last = now;
        Ok(WebSocketSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// The client's address: the peer, or behind a trusted proxy the forwarded one.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.settings.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.settings.trusted_proxies.contains(ip))
            .unwrap_or(peer)
    }
}

impl Refusal {
    /// The `429` answer.
    pub fn response(self) -> Response {
        let (code, message) = match self {
            Refusal::RateLimited => (
                "rate_limited",
                "too many requests from this address; retry shortly",
            ),
            Refusal::TooManyConnections => (
                "too_many_connections",
                "too many connections from this address",
            ),
        };
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(json!({ "code": code, "message": message })),
        )
            .into_response()
    }
}

/// The client address a request came from, when the server knows its peer.
pub fn request_ip(shared: &Shared, request: &Request) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    Some(shared.client_limits.client_ip(peer, request.headers()))
}

/// The client address of a request, as the middleware found it (an extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The middleware: counts the request against its address, refuses past the rate,
/// and leaves the address for the handlers ([`ClientIp`]).
pub async fn limit(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    // A request relayed by another replica was counted there, against its client.
    if crate::cluster::relay::is_relayed(&shared, request.headers()) {
        return next.run(request).await;
    }
    if let Some(ip) = request_ip(&shared, &request) {
        if let Err(refusal) = shared.client_limits.request(ip, Instant::now()) {
            return refusal.response();
        }
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(trusted: &[&str]) -> Arc<ClientLimits> {
        Arc::new(ClientLimits::new(ClientLimitSettings {
            requests_per_second: 2,
            request_burst: 3,
            websockets_per_ip: 2,
            trusted_proxies: trusted.iter().filter_map(|a| a.parse().ok()).collect(),
        }))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn each_address_has_its_own_rate() {
        let l = limits(&[]);
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.request(ip("192.0.2.1"), t), Ok(()));
        }
        assert_eq!(l.request(ip("192.0.2.1"), t), Err(Refusal::RateLimited));
        assert_eq!(l.request(ip("192.0.2.2"), t), Ok(()));
        // Half a second later one token (2 per second) is back.
        let later = t + Duration::from_millis(500);
        assert_eq!(l.request(ip("192.0.2.1"), later), Ok(()));
        assert_eq!(l.request(ip("192.0.2.1"), later), Err(Refusal::RateLimited));
    }

    #[test]
    fn websockets_are_capped_and_released() {
        let l = limits(&[]);
        let t = Instant::now();
        let a = l.open_websocket(ip("192.0.2.1"), t);
        let b = l.open_websocket(ip("192.0.2.1"), t);
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(
            l.open_websocket(ip("192.0.2.1"), t).err(),
            Some(Refusal::TooManyConnections)
        );
        assert!(l.open_websocket(ip("192.0.2.9"), t).is_ok());
        drop(a);
        assert!(l.open_websocket(ip("192.0.2.1"), t).is_ok());
    }

    #[test]
    fn forwarded_addresses_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 10.0.0.5"
                .parse()
                .unwrap_or_else(|_| header::HeaderValue::from_static("")),
        );
        let l = limits(&["10.0.0.5", "10.0.0.6"]);
        // From a proxy: the last address that is not a proxy.
        assert_eq!(l.client_ip(ip("10.0.0.6"), &headers), ip("198.51.100.7"));
        // From anyone else the header is a claim, not a fact.
        assert_eq!(l.client_ip(ip("203.0.113.1"), &headers), ip("203.0.113.1"));
        let untrusted = limits(&[]);
        assert_eq!(
            untrusted.client_ip(ip("10.0.0.6"), &headers),
            ip("10.0.0.6")
        );
    }
}
