//! Server configuration: defaults, a TOML file, environment variables and flags, in
//! that order of precedence (flags win).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Everything `seduta serve` needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP (and WebSocket) listener.
    pub http_bind: SocketAddr,
    /// The UDP port every media peer shares.
    pub udp_bind: SocketAddr,
    /// Passive ICE-TCP listener; `None` disables the TCP fallback.
    pub tcp_bind: Option<SocketAddr>,
    /// Addresses to advertise to browsers in place of the bound ones (1:1 NAT).
    pub advertise_ips: Vec<IpAddr>,
    /// The address people use to reach the server, for printed links.
    pub public_url: Option<String>,
    /// Other origins whose pages may open the signaling WebSocket.
    pub allowed_origins: Vec<String>,
    /// PEM certificate chain; with `tls_key` enables HTTPS and WSS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Seconds between checks of the certificate files: a renewed pair is served to
    /// new connections without a restart (also at `SIGHUP`).
    pub tls_reload_secs: u64,
    /// Where the server keeps its state: the generated token secret and, unless
    /// `database_url` is set, the SQLite database `seduta.db`.
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite://…`) to use instead of the embedded SQLite file.
    pub database_url: Option<String>,
    /// SQLite: milliseconds a change waits for a lock another process holds on the
    /// database (an operator's `sqlite3` shell in a transaction) before it is
    /// refused with `storage`, nothing changed.
    pub sqlite_busy_timeout_ms: u64,
    /// Hours a staff login stays valid.
    pub staff_session_hours: u64,
    /// HS256 secret for join tokens; generated in `data_dir` when absent.
    pub jwt_secret: Option<String>,
    /// PEM public key: when set, tokens are verified with it and minted elsewhere.
    pub jwt_public_key: Option<PathBuf>,
    /// `EdDSA` or `RS256`, the algorithm of `jwt_public_key`.
    pub jwt_algorithm: Option<String>,
    /// The `aud` claim tokens must carry.
    pub jwt_audience: String,
    /// Start with the demo Giunta and print its join links.
    pub demo: bool,
    /// Offer H.264 besides VP8.
    pub h264: bool,
    /// Seconds a participant whose connection was lost keeps its place.
    pub reconnect_grace_secs: u64,
    /// Seconds a new connection has to send `join`.
    pub join_timeout_secs: u64,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
    /// Requests (HTTP calls, WebSocket upgrades) per second per client address.
    pub per_ip_requests_per_second: u32,
    /// Requests an address may make at once before the rate applies.
    pub per_ip_request_burst: u32,
    /// Open WebSockets per client address (a town hall's NAT may hold the whole Giunta).
    pub per_ip_websockets: u32,
    /// Reverse proxies (ingress) whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Vec<IpAddr>,
    /// Bearer token of the Prometheus scraper for `GET /metrics`; unset: no metrics.
    pub metrics_token: Option<String>,
    /// Make each closed session's preservation copy (MP4, H.264 High, FLAC) in the
    /// background.
    pub preservation: bool,
    /// Encoder threads for the preservation copy (0: as many as the encoder wants).
    /// Lower it on a machine that also hosts live sessions.
    pub preservation_threads: u32,
    /// The session packages: signature trust list, when to deliver.
    pub package: seduta_signaling::package::PackageConfig,
    /// Delivery of the packages to the preservation pipeline (folder, webhook, S3);
    /// no sinks: nothing is delivered.
    pub delivery: seduta_signaling::package::DeliveryConfig,
    /// Years after the close before a session's working masters may be deleted under
    /// the retention procedure, once its package has been delivered (0: right after
    /// the delivery). The preservation copy and the record are never deleted.
    pub retention_years: u32,
    /// Free room (MiB) the recordings' disk must keep: below it a recording does not
    /// start, and a running one is stopped cleanly with an alarm to the segretario and
    /// in `/metrics`, while its files can still be closed. 0: not watched.
    pub recording_min_free_mb: u64,
    /// Multi-node: this control-plane replica's id (default: the host name).
    pub replica_id: Option<String>,
    /// Multi-node: the URL other replicas reach this one at (`http://10.0.0.7:8080`).
    /// Setting it makes this process a replica among others on one PostgreSQL, with
    /// its media on separate `seduta sfu-node` processes (docs/deployment.md).
    pub replica_url: Option<String>,
    /// Multi-node: the secret shared by the replicas and the media nodes.
    pub cluster_secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            http_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            udp_bind: SocketAddr::from(([0, 0, 0, 0], 50000)),
            tcp_bind: Some(SocketAddr::from(([0, 0, 0, 0], 50001))),
            advertise_ips: Vec::new(),
            public_url: None,
            allowed_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
            tls_reload_secs: 30,
            data_dir: PathBuf::from("seduta-data"),
            database_url: None,
            sqlite_busy_timeout_ms: 5000,
            staff_session_hours: 10,
            jwt_secret: None,
            jwt_public_key: None,
            jwt_algorithm: None,
            jwt_audience: seduta_signaling::auth::DEFAULT_AUDIENCE.to_owned(),
            demo: true,
            h264: true,
            reconnect_grace_secs: 30,
            join_timeout_secs: 10,
            log_json: false,
            metrics_token: None,
            per_ip_requests_per_second: 50,
            per_ip_request_burst: 200,
            per_ip_websockets: 60,
            trusted_proxies: Vec::new(),
            preservation: true,
            preservation_threads: 0,
            package: Default::default(),
            delivery: Default::default(),
            retention_years: seduta_signaling::DEFAULT_RETENTION_YEARS,
            recording_min_free_mb: 256,
            replica_id: None,
            replica_url: None,
            cluster_secret: None,
        }
    }
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("parsing the configuration file {}", path.display()))
    }

    /// The grace period as a duration.
    pub fn reconnect_grace(&self) -> Duration {
        Duration::from_secs(self.reconnect_grace_secs)
    }

    /// The join timeout as a duration.
    pub fn join_timeout(&self) -> Duration {
        Duration::from_secs(self.join_timeout_secs)
    }

    /// Opens the store: `database_url`, or `seduta.db` in `data_dir` (created).
    pub async fn open_store(&self) -> anyhow::Result<seduta_signaling::store::Store> {
        use seduta_signaling::store::{Store, StoreOptions};
        let options = StoreOptions {
            sqlite_busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
        };
        match &self.database_url {
            Some(url) => Store::open_with(url, options)
                .await
                .context("opening the database at database_url"),
            None => {
                std::fs::create_dir_all(&self.data_dir).with_context(|| {
                    format!("creating the data directory {}", self.data_dir.display())
                })?;
                let path = self.data_dir.join("seduta.db");
                Store::open_sqlite_file_with(&path, options)
                    .await
                    .with_context(|| format!("opening the database {}", path.display()))
            }
        }
    }

    /// The HS256 secret: configured, or read from (and first written to) `data_dir`.
    pub fn hs256_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = &self.jwt_secret {
            anyhow::ensure!(
                secret.len() >= 16,
                "jwt_secret must be at least 16 characters long"
            );
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join("jwt-secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim();
            anyhow::ensure!(
                existing.len() >= 32,
                "{} is too short; delete it to generate a new one",
                path.display()
            );
            return Ok(existing.as_bytes().to_vec());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating the data directory {}", self.data_dir.display()))?;
        let secret: String = {
            use rand::Rng;
            let bytes: [u8; 32] = rand::rng().random();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        write_private(&path, secret.as_bytes())?;
        Ok(secret.into_bytes())
    }
}

/// Writes a new file readable by its owner only (refuses to overwrite).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_owner_only(path, bytes, false)
}

/// Writes a file readable by its owner only; `replace` allows overwriting (through
/// a temporary file, so a reader never sees half of it).
pub(crate) fn write_owner_only(
    path: &std::path::Path,
    bytes: &[u8],
    replace: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if replace {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        write_owner_only(&tmp, bytes, false)?;
        return std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let config: Config = toml::from_str(include_str!("../docs/seduta.example.toml"))
            .expect("docs/seduta.example.toml must stay valid");
        assert_eq!(config.udp_bind.port(), 50000);
        assert!(!config.demo);
        assert_eq!(config.sqlite_busy_timeout_ms, 5000);
    }

    #[test]
    fn the_documented_tsa_settings_parse() {
        // The commented `[package]` lines of the example, uncommented.
        let text = include_str!("../docs/seduta.example.toml")
            .replace("# tsa_url = ", "tsa_url = ")
            .replace("# tsa_trust = ", "tsa_trust = ");
        let config: Config = toml::from_str(&text).expect("the TSA settings parse");
        assert_eq!(
            config.package.tsa_url.as_deref(),
            Some("https://tsa.example.it/tsa")
        );
        assert_eq!(
            config.package.tsa_trust.as_deref(),
            Some(std::path::Path::new("/etc/seduta/tsa-ca.pem"))
        );
    }

    #[test]
    fn the_documented_cluster_settings_parse() {
        let text = include_str!("../docs/seduta.example.toml")
            .replace("# replica_url = ", "replica_url = ")
            .replace("# replica_id = ", "replica_id = ")
            .replace("# cluster_secret = ", "cluster_secret = ");
        let config: Config = toml::from_str(&text).expect("the cluster settings parse");
        assert_eq!(config.replica_url.as_deref(), Some("http://10.0.0.7:8080"));
        assert_eq!(config.replica_id.as_deref(), Some("control-0"));
        assert!(config.cluster_secret.is_some_and(|s| s.len() >= 16));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("http_bnid = \"127.0.0.1:1\"").is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        let config = Config {
            jwt_secret: Some("short".into()),
            ..Config::default()
        };
        assert!(config.hs256_secret().is_err());
    }
}
