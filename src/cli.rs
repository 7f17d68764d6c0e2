//! Command-line arguments and the commands they run.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use seduta::config::Config;
use seduta::{demo, server};
use seduta_signaling::auth::{Role, TokenIssuer};

/// Seduta: video conferencing for municipal Giunta sessions.
#[derive(Debug, Parser)]
#[command(name = "seduta", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (media, signaling and web client) in one process.
    Serve(Box<ServeArgs>),
    /// Mint a join token for one participant of one session.
    Token(TokenArgs),
    /// Check an attendance log (an exported JSON Lines file, or a session's log in the
    /// database) and name its first broken link.
    Verify(VerifyArgs),
    /// Mint invitation links for a stored session (revocable, one session only).
    Invite(InviteArgs),
    /// Convene a session of an organ, with its agenda.
    Session(SessionArgs),
    /// Run a media node for a multi-node deployment: an SFU that dials the control
    /// plane's replicas and carries the sessions they place on it.
    SfuNode(crate::node::NodeArgs),
    /// Load test on loopback: synthetic participants against an in-process server,
    /// and a bare UDP relay as the floor (`seduta loadtest --help` for its options).
    #[command(disable_help_flag = true)]
    Loadtest(LoadtestArgs),
}

/// Arguments passed on to `seduta-loadtest` (the `loadtest/` crate's binary).
#[derive(Debug, Args)]
struct LoadtestArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// The exported log file.
    #[arg(required_unless_present = "session")]
    file: Option<PathBuf>,
    /// Verify this session's log in the database instead.
    #[arg(long, conflicts_with = "file")]
    session: Option<String>,
}

#[derive(Debug, Args)]
struct InviteArgs {
    #[command(flatten)]
    common: Common,
    /// Session id.
    #[arg(long)]
    session: String,
    /// One participant (default: everyone but the segretario).
    #[arg(long)]
    participant: Option<String>,
    /// Validity in hours.
    #[arg(long, default_value_t = 48)]
    ttl_hours: u64,
}

#[derive(Debug, Args)]
struct SessionArgs {
    #[command(flatten)]
    common: Common,
    /// The organ (e.g. giunta-demo).
    #[arg(long)]
    organ: String,
    /// Title.
    #[arg(long)]
    title: String,
    /// Date and time, RFC 3339 (e.g. 2026-03-12T09:00:00+01:00).
    #[arg(long)]
    at: String,
    /// Seat (sede).
    #[arg(long)]
    seat: String,
    /// prima or seconda.
    #[arg(long, default_value = "prima")]
    convocation: String,
    /// The segretario's staff account name.
    #[arg(long)]
    segretario: String,
    /// An agenda item's subject; repeat for each item, in order.
    #[arg(long = "item")]
    items: Vec<String>,
}

/// Settings shared by `serve` and `token`.
#[derive(Debug, Args)]
struct Common {
    /// TOML configuration file; flags and environment override it.
    #[arg(long, env = "SEDUTA_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (holds the generated token secret).
    #[arg(long, env = "SEDUTA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// HS256 secret for join tokens (at least 16 characters).
    #[arg(long, env = "SEDUTA_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Base URL people use to reach the server, for printed links.
    #[arg(long, env = "SEDUTA_PUBLIC_URL")]
    public_url: Option<String>,
    /// PostgreSQL URL (default: the SQLite file seduta.db in the data directory).
    #[arg(long, env = "SEDUTA_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// HTTP/WebSocket listen address.
    #[arg(long, env = "SEDUTA_HTTP_BIND")]
    http_bind: Option<SocketAddr>,
    /// UDP address shared by every media peer.
    #[arg(long, env = "SEDUTA_UDP_BIND")]
    udp_bind: Option<SocketAddr>,
    /// ICE-TCP (fallback) listen address.
    #[arg(long, env = "SEDUTA_TCP_BIND")]
    tcp_bind: Option<SocketAddr>,
    /// Disable the ICE-TCP fallback.
    #[arg(long)]
    no_tcp: bool,
    /// Address to advertise to browsers (1:1 NAT); repeatable.
    #[arg(
        long = "advertise-ip",
        env = "SEDUTA_ADVERTISE_IPS",
        value_delimiter = ','
    )]
    advertise_ips: Vec<IpAddr>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "SEDUTA_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "SEDUTA_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Seconds between checks of the certificate files (reloaded without a restart).
    #[arg(long, env = "SEDUTA_TLS_RELOAD_SECS")]
    tls_reload_secs: Option<u64>,
    /// Verify tokens with this PEM public key instead of the HS256 secret.
    #[arg(long, env = "SEDUTA_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,
    /// Algorithm of the public key: EdDSA or RS256.
    #[arg(long, env = "SEDUTA_JWT_ALGORITHM")]
    jwt_algorithm: Option<String>,
    /// Do not start the demo Giunta.
    #[arg(long)]
    no_demo: bool,
    /// Log JSON lines.
    #[arg(long, env = "SEDUTA_LOG_JSON")]
    log_json: bool,
    /// Serve Prometheus metrics at /metrics to requests with this bearer token.
    #[arg(long, env = "SEDUTA_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Seconds a lost participant keeps its place.
    #[arg(long, env = "SEDUTA_RECONNECT_GRACE_SECS")]
    reconnect_grace_secs: Option<u64>,
    /// Seconds a new connection has to join.
    #[arg(long, env = "SEDUTA_JOIN_TIMEOUT_SECS")]
    join_timeout_secs: Option<u64>,
    /// Do not make preservation copies of closed sessions (another host makes them).
    #[arg(long, env = "SEDUTA_NO_PRESERVATION")]
    no_preservation: bool,
    /// Encoder threads for the preservation copy (0: as many as the encoder wants).
    #[arg(long, env = "SEDUTA_PRESERVATION_THREADS")]
    preservation_threads: Option<u32>,
    /// Years after the close before the working masters may be deleted (retention).
    #[arg(long, env = "SEDUTA_RETENTION_YEARS")]
    retention_years: Option<u32>,
    /// Free room (MiB) the recordings' disk must keep: below it a recording does not
    /// start and a running one is stopped cleanly, with an alarm.
    #[arg(long, env = "SEDUTA_RECORDING_MIN_FREE_MB")]
    recording_min_free_mb: Option<u64>,
    /// Multi-node: the URL other control-plane replicas reach this one at; media then
    /// runs on `seduta sfu-node` processes (needs PostgreSQL and --cluster-secret).
    #[arg(long, env = "SEDUTA_REPLICA_URL")]
    replica_url: Option<String>,
    /// Multi-node: this replica's unique id (default: the host name).
    #[arg(long, env = "SEDUTA_REPLICA_ID")]
    replica_id: Option<String>,
    /// Multi-node: the secret shared by the replicas and the media nodes.
    #[arg(long, env = "SEDUTA_CLUSTER_SECRET", hide_env_values = true)]
    cluster_secret: Option<String>,
    /// Write the bound addresses as JSON to this file once listening (for scripts and tests).
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TokenArgs {
    #[command(flatten)]
    common: Common,
    /// Session id.
    #[arg(long)]
    session: String,
    /// presiding, member, segretario or guest.
    #[arg(long)]
    role: String,
    /// Participant id.
    #[arg(long)]
    sub: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Validity in seconds.
    #[arg(long, default_value_t = 12 * 3600)]
    ttl: u64,
    /// Print a join link (needs a public URL) instead of the bare token.
    #[arg(long)]
    link: bool,
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Token(args) => token(args).await,
        Command::Verify(args) => verify(args).await,
        Command::Invite(args) => invite(args).await,
        Command::Session(args) => convene(args).await,
        Command::SfuNode(args) => {
            init_logging(args.log_json);
            crate::node::run(args).await
        }
        Command::Loadtest(args) => loadtest(args),
    }
}

/// Runs `seduta-loadtest`, built next to this executable (`cargo build --release -p
/// seduta-loadtest`): it starts the server itself, which this crate's library is, so it
/// is a binary of its own rather than code linked in here.
fn loadtest(args: LoadtestArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?.with_file_name("seduta-loadtest");
    if !exe.exists() {
        bail!(
            "{} not found; build it with `cargo build --release -p seduta-loadtest`",
            exe.display()
        );
    }
    let status = std::process::Command::new(&exe).args(&args.args).status()?;
    if !status.success() {
        bail!("seduta-loadtest failed ({status})");
    }
    Ok(())
}

fn base_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = match &common.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(secret) = &common.jwt_secret {
        config.jwt_secret = Some(secret.clone());
    }
    if let Some(url) = &common.public_url {
        config.public_url = Some(url.clone());
    }
    if let Some(url) = &common.database_url {
        config.database_url = Some(url.clone());
    }
    Ok(config)
}

fn serve_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = base_config(&args.common)?;
    if let Some(v) = args.http_bind {
        config.http_bind = v;
    }
    if let Some(v) = args.udp_bind {
        config.udp_bind = v;
    }
    if let Some(v) = args.tcp_bind {
        config.tcp_bind = Some(v);
    }
    if args.no_tcp {
        config.tcp_bind = None;
    }
    if !args.advertise_ips.is_empty() {
        config.advertise_ips = args.advertise_ips.clone();
    }
    if args.tls_cert.is_some() {
        config.tls_cert = args.tls_cert.clone();
    }
    if let Some(v) = args.tls_reload_secs {
        config.tls_reload_secs = v;
    }
    if args.tls_key.is_some() {
        config.tls_key = args.tls_key.clone();
    }
    if args.jwt_public_key.is_some() {
        config.jwt_public_key = args.jwt_public_key.clone();
    }
    if args.jwt_algorithm.is_some() {
        config.jwt_algorithm = args.jwt_algorithm.clone();
    }
    if args.no_demo {
        config.demo = false;
    }
    if args.log_json {
        config.log_json = true;
    }
    if args.metrics_token.is_some() {
        config.metrics_token = args.metrics_token.clone();
    }
    if let Some(v) = args.reconnect_grace_secs {
        config.reconnect_grace_secs = v;
    }
    if let Some(v) = args.join_timeout_secs {
        config.join_timeout_secs = v;
    }
    if args.no_preservation {
        config.preservation = false;
    }
    if let Some(v) = args.preservation_threads {
        config.preservation_threads = v;
    }
    if let Some(v) = args.retention_years {
        config.retention_years = v;
    }
    if let Some(v) = args.recording_min_free_mb {
        config.recording_min_free_mb = v;
    }
    if args.replica_url.is_some() {
        config.replica_url = args.replica_url.clone();
    }
    if args.replica_id.is_some() {
        config.replica_id = args.replica_id.clone();
    }
    if args.cluster_secret.is_some() {
        config.cluster_secret = args.cluster_secret.clone();
    }
    Ok(config)
}

pub(crate) fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,seduta_sfu=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = serve_config(&args)?;
    init_logging(config.log_json);
    let demo_enabled = config.demo;
    let public_url = config.public_url.clone();
    let data_dir = config.data_dir.clone();
    let server = server::start(config).await?;
    let base = public_url.unwrap_or_else(|| server.local_url());

    println!("Seduta in ascolto su / listening on {}", server.local_url());
    match server.udp_addr {
        Some(udp) => println!("  media UDP {udp}"),
        None => println!("  media: nodi sfu-node / on sfu-node processes"),
    }
    if let Some(tcp) = server.tcp_addr {
        println!("  media ICE-TCP {tcp}");
    }
    if demo_enabled {
        match server.issuer() {
            Some(issuer) => {
                let demo = demo::seed(server.store(), issuer, &base, &data_dir).await?;
                print_demo(&demo, &base);
            }
            None => println!("(demo links need the HS256 secret; a public key is configured)"),
        }
    }
    if let Some(path) = &args.ready_file {
        let ready = serde_json::json!({
            "http_url": server.local_url(),
            "udp_addr": server.udp_addr.map(|a| a.to_string()),
            "tcp_addr": server.tcp_addr.map(|a| a.to_string()),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }

    server
        .run_until(async {
            crate::node::shutdown_signal().await;
            println!("Arresto / shutting down");
        })
        .await
}

async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let config = base_config(&args.common)?;
    if config.jwt_public_key.is_some() {
        bail!(
            "this installation verifies tokens with a public key; mint them with the matching private key"
        );
    }
    let Some(role) = Role::parse(&args.role) else {
        bail!(
            "unknown role {:?}: use presiding, member, segretario or guest",
            args.role
        );
    };
    let secret = config.hs256_secret()?;
    let issuer = TokenIssuer::hs256(&secret, config.jwt_audience.clone());
    let ttl = Duration::from_secs(args.ttl);
    let store = config.open_store().await?;
    let token = match store.participant(&args.session, &args.sub).await? {
        // A stored session admits only through a stored (revocable) invitation.
        Some(p) => {
            if p.role != role {
                bail!(
                    "{} is a {} in session {}, not a {role}",
                    p.id,
                    p.role,
                    args.session
                );
            }
            let link =
                seduta_signaling::mint_link(&store, Some(&issuer), "", &args.session, &p, ttl)
                    .await
                    .context("minting the invitation")?;
            link.token
        }
        None if store.session(&args.session).await?.is_some() => {
            bail!(
                "{} is not a participant of session {}",
                args.sub,
                args.session
            )
        }
        None => issuer
            .mint(&args.sub, &args.session, role, &args.name, ttl)
            .context("minting the token")?,
    };
    if args.link {
        let Some(base) = config.public_url else {
            bail!("--link needs --public-url (or public_url in the configuration)");
        };
        println!("{}/#token={token}", base.trim_end_matches('/'));
    } else {
        println!("{token}");
    }
    Ok(())
}

async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    use seduta_signaling::attendance;
    let verified = match (&args.file, &args.session) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            attendance::read_jsonl(&text).and_then(|entries| attendance::verify(&entries))
        }
        (None, Some(session)) => {
            let store = base_config(&args.common)?.open_store().await?;
            let entries = store.log(session).await.context("reading the log")?;
            attendance::verify(&entries)
        }
        (None, None) => bail!("give a log file or --session"),
    };
    match verified {
        Ok(v) => {
            println!(
                "integro / intact: {} eventi / events, {}, ultimo hash / last hash {}",
                v.entries,
                if v.sealed {
                    "sigillato / sealed"
                } else {
                    "non sigillato / not sealed"
                },
                v.last_hash
            );
            Ok(())
        }
        Err(broken) => bail!(
            "registro alterato / log altered: voce / entry {}: {}",
            broken.line,
            broken.reason
        ),
    }
}

fn print_demo(demo: &demo::Demo, base: &str) {
    println!();
    println!(
        "Giunta dimostrativa / demo Giunta (sessione {}):",
        demo.session
    );
    println!("  Segretario (console della seduta / session console):");
    println!("    {}", demo.segretario_link);
    for (name, office, url) in &demo.links {
        println!("  {name} — {office}:");
        println!("    {url}");
    }
    println!();
    println!(
        "Console del personale / staff console: {}/console",
        base.trim_end_matches('/')
    );
    for s in &demo.staff {
        println!(
            "  {} ({}): utente / user {:?}, password {:?}",
            s.display_name, s.role, s.username, s.password
        );
    }
    println!();
}

async fn invite(args: InviteArgs) -> anyhow::Result<()> {
    let config = base_config(&args.common)?;
    if config.jwt_public_key.is_some() {
        bail!(
            "this installation verifies tokens with a public key; invitations are minted by the external issuer"
        );
    }
    let issuer = TokenIssuer::hs256(&config.hs256_secret()?, config.jwt_audience.clone());
    let Some(base) = config.public_url.clone() else {
        bail!("invitation links need --public-url (or public_url in the configuration)");
    };
    let store = config.open_store().await?;
    if store.session(&args.session).await?.is_none() {
        bail!("no session {:?} in the database", args.session);
    }
    let people = store.participants(&args.session).await?;
    let targets: Vec<_> = people
        .iter()
        .filter(|p| match &args.participant {
            Some(id) => &p.id == id,
            None => p.role != Role::Segretario,
        })
        .collect();
    if targets.is_empty() {
        bail!("no such participant in session {:?}", args.session);
    }
    let ttl = Duration::from_secs(args.ttl_hours.clamp(1, 744) * 3600);
    for p in targets {
        let link = seduta_signaling::mint_link(&store, Some(&issuer), &base, &args.session, p, ttl)
            .await
            .context("minting the invitation")?;
        println!(
            "{} ({}) [invito / invitation {}]:",
            p.name, p.role, link.jti
        );
        println!("  {}", link.link);
    }
    Ok(())
}

async fn convene(args: SessionArgs) -> anyhow::Result<()> {
    let config = base_config(&args.common)?;
    let store = config.open_store().await?;
    let Some(segretario) = store.staff_by_username(&args.segretario).await? else {
        bail!("no staff account {:?}", args.segretario);
    };
    let request = seduta_signaling::NewSession {
        organ_id: args.organ,
        title: args.title,
        scheduled_at: args.at,
        seat: args.seat,
        convocation: args.convocation,
        agenda: args
            .items
            .into_iter()
            .zip(1..)
            .map(|(subject, number)| seduta_signaling::store::AgendaItem { number, subject })
            .collect(),
    };
    let record =
        seduta_signaling::convene(&store, &request, &segretario.id, &segretario.display_name)
            .await
            .context("convening the session")?;
    println!("{}", record.id);
    Ok(())
}
