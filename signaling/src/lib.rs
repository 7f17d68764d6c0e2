//! # seduta-signaling
//!
//! The control plane of Seduta: the WebSocket protocol ([`protocol`]), join tokens
//! ([`auth`]), the room domain ([`room`], a sans-IO state machine), the hash-chained
//! attendance log ([`attendance`]), the rules of a
//! session ([`meeting`]: quorum, majorities, immediate executability, as pure
//! functions of the organ's settings) and the service that ties them to the media
//! plane ([`Signaling`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use seduta_sfu::{Sfu, SfuConfig};
//! use seduta_signaling::auth::{StaffTokens, TokenIssuer, TokenVerifier, VerifierKey};
//! use seduta_signaling::store::Store;
//! use seduta_signaling::{ControlPlane, Signaling, SignalingConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (sfu, events) = Sfu::start(SfuConfig {
//!     udp_bind: "127.0.0.1:0".parse()?,
//!     tcp_bind: None,
//!     advertised_ips: vec![],
//!     enable_h264: true,
//! })
//! .await?;
//! let verifier = TokenVerifier::new(&VerifierKey::Hs256(b"secret".to_vec()), "seduta")?;
//! let control = ControlPlane {
//!     store: Store::open("sqlite::memory:").await?,
//!     issuer: Some(TokenIssuer::hs256(b"secret", "seduta")),
//!     staff_tokens: StaffTokens::new(b"secret", Duration::from_secs(8 * 3600)),
//!     public_url: "http://127.0.0.1:8080".into(),
//! };
//! let signaling = Signaling::start(SignalingConfig::default(), verifier, sfu, events, control);
//! let app = signaling.router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod api;
pub mod attendance;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod meeting;
pub mod metrics;
pub mod package;
pub mod preservation;
pub mod protocol;
pub mod room;
mod service;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use seduta_sfu::{SfuEvent, SfuHandle};
use tokio::sync::mpsc;

pub use api::{ApiError, DEFAULT_RETENTION_YEARS, MintedLink, NewSession, convene, mint_link};
use auth::TokenVerifier;
pub use service::client_limits::ClientLimitSettings;
use service::{Hub, HubSender};
pub use service::{RecordingFinished, StoppedRecording};

/// Parses one client WebSocket text frame exactly as the service does (JSON, known
/// `type`, then the message). Exposed only for the fuzz targets (`fuzz/`, see
/// `docs/fuzzing.md`); not a stable interface.
#[doc(hidden)]
pub use service::inbound::parse as parse_client_frame;

/// Timing and limits of the signaling service.
#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// Client ping interval announced in `joined`.
    pub heartbeat: Duration,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// A connection must `join` within this time.
    pub join_timeout: Duration,
    /// How long a participant whose connection is lost keeps its place.
    pub reconnect_grace: Duration,
    /// Origins, besides the server's own, whose pages may open the WebSocket
    /// (`https://host[:port]`). A browser always sends its page's origin; a request
    /// from another site is refused with 403 so that no foreign page can drive a
    /// participant's session.
    pub allowed_origins: Vec<String>,
    /// Where sessions are recorded: each into `<recordings_dir>/<session id>/`
    /// (`seduta serve` uses `<data_dir>/recordings`). `None`: nothing is recorded.
    pub recordings_dir: Option<std::path::PathBuf>,
    /// Below this much free room on the recordings' disk a recording does not start,
    /// and a running one is stopped cleanly with an alarm to the segretario and in
    /// `/metrics`. 0: not watched.
    pub recording_min_free_bytes: u64,
    /// Told when a session's recording has stopped (at the close), with what was
    /// recorded: where the preservation copy is started from.
    pub on_recording_finished: Option<Arc<dyn RecordingFinished>>,
    /// The bearer token a Prometheus scraper sends to `GET /metrics`; `None`: the
    /// endpoint answers 404 (metrics are off).
    pub metrics_token: Option<String>,
    /// Request rate and open WebSockets per client address.
    pub client_limits: ClientLimitSettings,
    /// Years after the close before a session's working masters may be deleted under
    /// the retention procedure (and only once its package has been delivered; see
    /// `docs/archive-ui.md`). 0: right after the delivery.
    pub retention_years: u32,
    /// The session packages (built after the close, signed, delivered), served under
    /// `/api/sessions/{id}/package`. `None`: no packages.
    pub packages: Option<package::Packages>,
    /// Multi-node: this replica among others on the same PostgreSQL, with media
    /// nodes attached over control channels. `None`: one process does everything.
    pub cluster: Option<cluster::ClusterSettings>,
}

impl Default for SignalingConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(15),
            join_timeout: Duration::from_secs(10),
            reconnect_grace: Duration::from_secs(30),
            allowed_origins: Vec::new(),
            recordings_dir: None,
            recording_min_free_bytes: seduta_recordings::DEFAULT_MIN_FREE_BYTES,
            on_recording_finished: None,
            metrics_token: None,
            client_limits: ClientLimitSettings::default(),
            retention_years: api::DEFAULT_RETENTION_YEARS,
            packages: None,
            cluster: None,
        }
    }
}

/// What the control plane keeps and mints besides join-token verification.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    /// Sessions, people, invitations, the attendance log.
    pub store: store::Store,
    /// Mints invitation tokens; `None` when tokens are minted elsewhere (the
    /// server holds only a public key).
    pub issuer: Option<auth::TokenIssuer>,
    /// Mints and checks staff tokens.
    pub staff_tokens: auth::StaffTokens,
    /// The base URL people reach the server at, for invitation links.
    pub public_url: String,
}

/// State shared by every connection.
pub(crate) struct Shared {
    config: SignalingConfig,
    verifier: TokenVerifier,
    sfu: SfuHandle,
    hub: HubSender,
    store: store::Store,
    issuer: Option<auth::TokenIssuer>,
    staff_tokens: auth::StaffTokens,
    public_url: String,
    logins: api::LoginThrottle,
    metrics: metrics::Metrics,
    client_limits: Arc<service::client_limits::ClientLimits>,
}

/// The running signaling service.
#[derive(Clone)]
pub struct Signaling {
    shared: Arc<Shared>,
}

impl Signaling {
    /// Starts the hub that owns the rooms, fed by the media plane's `events`.
    pub fn start(
        config: SignalingConfig,
        verifier: TokenVerifier,
        sfu: SfuHandle,
        events: mpsc::UnboundedReceiver<SfuEvent>,
        control: ControlPlane,
    ) -> Self {
        let metrics = metrics::Metrics::new();
        let client_limits = Arc::new(service::client_limits::ClientLimits::new(
            config.client_limits.clone(),
        ));
        let hub = Hub::spawn(
            sfu.clone(),
            events,
            service::HubTiming {
                heartbeat: config.heartbeat,
                reconnect_grace: config.reconnect_grace,
                replicated: config.cluster.is_some(),
            },
            control.store.clone(),
            service::RecordingSetup {
                dir: config.recordings_dir.clone(),
                on_finished: config.on_recording_finished.clone(),
                min_free_bytes: config.recording_min_free_bytes,
            },
            metrics.clone(),
        );
        let signaling = Self {
            shared: Arc::new(Shared {
                config,
                verifier,
                sfu,
                hub,
                store: control.store,
                issuer: control.issuer,
                staff_tokens: control.staff_tokens,
                public_url: control.public_url,
                logins: api::LoginThrottle::default(),
                metrics,
                client_limits,
            }),
        };
        cluster::leases::spawn_renewal(signaling.shared.clone());
        signaling
    }

    /// The HTTP routes of the service: `/ws/{session}`, `/healthz`, the REST API
    /// under `/api` and its OpenAPI document at `/api/openapi.json`; with replicas, the
    /// media nodes' control channel (`/internal/sfu`) and the relay of a session's
    /// requests to the replica that runs it.
    pub fn router(&self) -> axum::Router {
        let mut app = service::router(self.shared.clone()).merge(api::router(self.shared.clone()));
        if self.shared.config.cluster.is_some() {
            app = app
                .layer(axum::middleware::from_fn_with_state(
                    self.shared.clone(),
                    cluster::relay::forward,
                ))
                .merge(cluster::nodes::routes(self.shared.clone()))
                .merge(cluster::notify::routes(self.shared.clone()));
        }
        app.layer(axum::middleware::from_fn_with_state(
            self.shared.clone(),
            service::client_limits::limit,
        ))
    }
}
