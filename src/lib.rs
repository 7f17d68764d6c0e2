//! # seduta
//!
//! Seduta is a self-hosted video-conferencing server for the sessions of an Italian
//! municipal Giunta held in mixed mode. This crate wires the media plane
//! ([`seduta_sfu`]), the control plane ([`seduta_signaling`]) and the embedded web
//! client into one process; the `seduta` binary is its command line.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let config = seduta::config::Config {
//!     http_bind: "127.0.0.1:0".parse()?,
//!     udp_bind: "127.0.0.1:0".parse()?,
//!     tcp_bind: None,
//!     jwt_secret: Some("a-long-enough-test-secret".into()),
//!     ..Default::default()
//! };
//! let server = seduta::server::start(config).await?;
//! println!("listening on {}", server.local_url());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod config;
pub mod demo;
pub mod server;
mod tls;
mod web;
