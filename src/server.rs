//! Starting everything in one process: the SFU, the signaling service and the web client.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use seduta_sfu::{Sfu, SfuConfig, SfuHandle};
use seduta_signaling::auth::{StaffTokens, TokenIssuer, TokenVerifier, VerifierKey};
use seduta_signaling::package::{DeliveryEvent, Outbox, Packages, SystemClock};
use seduta_signaling::preservation::{AfterCopy, Preservation, PreservationSettings};
use seduta_signaling::store::Store;
use seduta_signaling::{
    ClientLimitSettings, ControlPlane, RecordingFinished, Signaling, SignalingConfig,
};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::tls::CertificateWatch;

/// A running server.
pub struct Server {
    /// Where HTTP and WebSocket listen.
    pub http_addr: SocketAddr,
    /// The media UDP port.
    pub udp_addr: Option<SocketAddr>,
    /// The ICE-TCP port, when enabled.
    pub tcp_addr: Option<SocketAddr>,
    /// `true` when serving HTTPS.
    pub tls: bool,
    issuer: Option<TokenIssuer>,
    sfu: SfuHandle,
    store: Store,
    handle: axum_server::Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
    tls_watch: Option<JoinHandle<()>>,
    delivery: Option<seduta_signaling::package::WorkerHandle>,
    packages: Packages,
    /// This process's replica id, when it is one of several (multi-node).
    replica: Option<String>,
}

impl Server {
    /// The token issuer, when the server holds the HS256 secret.
    pub fn issuer(&self) -> Option<&TokenIssuer> {
        self.issuer.as_ref()
    }

    /// The store (sessions, people, the attendance log).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The media plane's handle (tests drive it directly, below the meeting logic).
    pub fn sfu(&self) -> SfuHandle {
        self.sfu.clone()
    }

    /// The base URL of the web client as reached on the bound address.
    pub fn local_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.http_addr)
    }

    /// The session packages (built after the close, signed, delivered).
    pub fn packages(&self) -> &Packages {
        &self.packages
    }

    /// Serves until `stop` resolves (then shuts down as [`Server::shutdown`] says) or
    /// the server fails.
    pub async fn run_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            result = &mut self.task => {
                result.context("the HTTP server task failed")??;
                Ok(())
            }
            () = stop => {
                self.shutdown().await;
                Ok(())
            }
        }
    }

    /// Stops accepting, lets open requests finish for up to 2 s, hands this
    /// replica's sessions over (multi-node: their leases are given up, so another
    /// replica takes each at its clients' next request instead of after the lease),
    /// stops the delivery worker (an attempt in flight keeps its lease and is taken up
    /// again later), and waits.
    pub async fn shutdown(self) {
        if let Some(watch) = &self.tls_watch {
            watch.abort();
        }
        self.handle.graceful_shutdown(Some(Duration::from_secs(2)));
        let _ = self.task.await;
        if let Some(replica) = &self.replica {
            match self.store.release_sessions(replica).await {
                Ok(n) => tracing::info!(sessions = n, "this replica's sessions were handed over"),
                Err(e) => {
                    tracing::warn!(error = %e, "the session leases could not be given up; they lapse by themselves")
                }
            }
        }
        self.packages.stop();
        if let Some(worker) = self.delivery {
            worker.stop().await;
        }
    }
}

/// Starts the SFU, the signaling service and the web client as configured.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let (key, issuer) = token_keys(&config)?;
    let verifier = TokenVerifier::new(&key, &config.jwt_audience)
        .context("loading the token verification key")?;
    let store = config.open_store().await?;
    // Staff tokens are always signed with the server's own secret.
    let staff_tokens = StaffTokens::new(
        &config.hs256_secret()?,
        Duration::from_secs(config.staff_session_hours.max(1) * 3600),
    );

    let (sfu, events, router) = if config.replica_url.is_some() {
        let (sfu, router, events) = Sfu::cluster();
        (sfu, events, Some(router))
    } else {
        let (sfu, events) = Sfu::start(SfuConfig {
            udp_bind: config.udp_bind,
            tcp_bind: config.tcp_bind,
            advertised_ips: config.advertise_ips.clone(),
            enable_h264: config.h264,
        })
        .await
        .context("starting the media plane")?;
        (sfu, events, None)
    };
    let cluster = match (router, &config.replica_url) {
        (Some(router), Some(url)) => Some(cluster_settings(&config, url, router)?),
        _ => None,
    };
    let replica = cluster.as_ref().map(|c| c.replica.clone());
    let udp_addr = sfu.udp_addr();
    let tcp_addr = sfu.tcp_addr();

    let tls_files = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        (None, None) => None,
        _ => bail!("tls_cert and tls_key must be given together"),
    };
    let listener = TcpListener::bind(config.http_bind)
        .with_context(|| format!("binding the HTTP listener on {}", config.http_bind))?;
    listener.set_nonblocking(true)?;
    let http_addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls_files.is_some() { "https" } else { "http" };
        format!("{scheme}://{http_addr}")
    });

    // Delivery: the outbox in the store's database, one worker, dead letters logged.
    let outbox = if config.delivery.sinks.is_empty() {
        None
    } else {
        Some(
            Outbox::new(
                store.pool().clone(),
                &config.delivery,
                Arc::new(SystemClock),
            )
            .context("the delivery settings ([delivery])")?,
        )
    };
    let delivery = outbox.as_ref().map(|outbox| {
        log_delivery_events(outbox);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "seduta".to_owned());
        outbox
            .worker(format!("{host}-{}", std::process::id()))
            .spawn()
    });
    let packages = Packages::new(
        store.clone(),
        &config.data_dir,
        config.package.clone(),
        outbox,
        config.preservation,
    )
    .context("the package settings ([package])")?;
    packages.resume_in_background();

    let recordings_dir = config.data_dir.join("recordings");
    let on_recording_finished: Option<Arc<dyn RecordingFinished>> = if config.preservation {
        let settings = PreservationSettings {
            threads: config.preservation_threads,
            ..PreservationSettings::default()
        };
        settings
            .validate()
            .context("the preservation settings (preservation_threads: 0 to 64)")?;
        let for_package = packages.clone();
        let after: AfterCopy =
            Arc::new(move |session: &str| for_package.after_preservation(session));
        let worker =
            Preservation::start_then(store.clone(), recordings_dir.clone(), settings, Some(after))
                .context("starting the preservation worker")?;
        Some(Arc::new(worker))
    } else {
        // No copies: the package is made as soon as the recording stops.
        Some(Arc::new(packages.clone()))
    };

    let signaling = Signaling::start(
        SignalingConfig {
            reconnect_grace: config.reconnect_grace(),
            join_timeout: config.join_timeout(),
            allowed_origins: config
                .allowed_origins
                .iter()
                .cloned()
                .chain(config.public_url.as_deref().map(origin_of))
                .collect(),
            recordings_dir: Some(recordings_dir),
            recording_min_free_bytes: config.recording_min_free_mb.saturating_mul(1024 * 1024),
            on_recording_finished,
            metrics_token: config.metrics_token.clone(),
            client_limits: ClientLimitSettings {
                requests_per_second: config.per_ip_requests_per_second,
                request_burst: config.per_ip_request_burst,
                websockets_per_ip: config.per_ip_websockets,
                trusted_proxies: config.trusted_proxies.clone(),
            },
            packages: Some(packages.clone()),
            retention_years: config.retention_years,
            cluster,
            ..SignalingConfig::default()
        },
        verifier,
        sfu.clone(),
        events,
        ControlPlane {
            store: store.clone(),
            issuer: issuer.clone(),
            staff_tokens,
            public_url,
        },
    );
    let app = signaling
        .router()
        .merge(crate::web::router(tls_files.is_some()));

    let handle = axum_server::Handle::new();
    // The peer address reaches the per-address limits.
    let service = app.into_make_service_with_connect_info::<SocketAddr>();

    let mut tls_watch = None;
    let (tls, task) = match &tls_files {
        Some((cert, key)) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "loading the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let watch = CertificateWatch::new(rustls.clone(), cert, key);
            tls_watch = Some(tokio::spawn(
                watch.run(Duration::from_secs(config.tls_reload_secs)),
            ));
            let server = axum_server::from_tcp_rustls(listener, rustls)?.handle(handle.clone());
            (true, tokio::spawn(server.serve(service)))
        }
        None => {
            let server = axum_server::from_tcp(listener)?.handle(handle.clone());
            (false, tokio::spawn(server.serve(service)))
        }
    };

    Ok(Server {
        http_addr,
        udp_addr,
        tcp_addr,
        tls,
        issuer,
        sfu,
        store,
        handle,
        task,
        tls_watch,
        delivery,
        packages,
        replica,
    })
}

/// This replica's place in a multi-node deployment: replicas share PostgreSQL and a
/// secret, and need an id of their own.
fn cluster_settings(
    config: &Config,
    url: &str,
    router: Arc<seduta_sfu::cluster::Router>,
) -> anyhow::Result<seduta_signaling::cluster::ClusterSettings> {
    let postgres = config
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"));
    if !postgres {
        bail!("replicas (replica_url) share one PostgreSQL database: set database_url to it");
    }
    let Some(secret) = config.cluster_secret.clone().filter(|s| s.len() >= 16) else {
        bail!("replicas need cluster_secret (at least 16 characters), shared with the media nodes");
    };
    let replica = match &config.replica_id {
        Some(id) => id.clone(),
        None => std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .context("set replica_id (no HOSTNAME to default to)")?,
    };
    Ok(seduta_signaling::cluster::ClusterSettings {
        replica,
        url: url.trim_end_matches('/').to_owned(),
        secret,
        router,
    })
}

/// Logs the outbox's outcomes: a dead letter as a warning (ids and codes only: the
/// receiver's message may quote anything), a delivery as information.
fn log_delivery_events(outbox: &Outbox) {
    let mut events = outbox.subscribe();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(DeliveryEvent::DeadLetter {
                    id,
                    package,
                    sink,
                    code,
                    ..
                }) => tracing::warn!(
                    delivery = id,
                    package,
                    sink,
                    code,
                    "a session package could not be delivered (dead letter): fix the receiver, then retry it"
                ),
                Ok(DeliveryEvent::Delivered {
                    package,
                    sink,
                    attempts,
                    ..
                }) => tracing::info!(package, sink, attempts, "session package delivered"),
                Ok(DeliveryEvent::Retrying { sink, code, .. }) => {
                    tracing::info!(sink, code, "a package delivery will be retried")
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "delivery events were missed")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{authority}")
        }
        None => url.trim_end_matches('/').to_owned(),
    }
}

/// The verification key, and an issuer when we hold the secret.
fn token_keys(config: &Config) -> anyhow::Result<(VerifierKey, Option<TokenIssuer>)> {
    if let Some(path) = &config.jwt_public_key {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the token public key {}", path.display()))?;
        let key = match config.jwt_algorithm.as_deref() {
            Some("EdDSA") => VerifierKey::EdDsaPem(pem),
            Some("RS256") => VerifierKey::Rs256Pem(pem),
            other => bail!(
                "jwt_algorithm must be EdDSA or RS256 with a public key, not {:?}",
                other.unwrap_or("(unset)")
            ),
        };
        return Ok((key, None));
    }
    let secret = config.hs256_secret()?;
    let issuer = TokenIssuer::hs256(&secret, config.jwt_audience.clone());
    Ok((VerifierKey::Hs256(secret), Some(issuer)))
}
