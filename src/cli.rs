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
    Serve(ServeArgs),
    /// Mint a join token for one participant of one session.
    Token(TokenArgs),
    /// Check an exported attendance log (JSON Lines) and name its first broken link.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The exported log file.
    file: PathBuf,
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
    /// Seconds a lost participant keeps its place.
    #[arg(long, env = "SEDUTA_RECONNECT_GRACE_SECS")]
    reconnect_grace_secs: Option<u64>,
    /// Seconds a new connection has to join.
    #[arg(long, env = "SEDUTA_JOIN_TIMEOUT_SECS")]
    join_timeout_secs: Option<u64>,
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
        Command::Serve(args) => serve(args).await,
        Command::Token(args) => token(args),
        Command::Verify(args) => verify(args),
    }
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
    if let Some(v) = args.reconnect_grace_secs {
        config.reconnect_grace_secs = v;
    }
    if let Some(v) = args.join_timeout_secs {
        config.join_timeout_secs = v;
    }
    Ok(config)
}

fn init_logging(json: bool) {
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
    let server = server::start(config).await?;
    let base = public_url.unwrap_or_else(|| server.local_url());

    println!("Seduta in ascolto su / listening on {}", server.local_url());
    println!("  media UDP {}", server.udp_addr);
    if let Some(tcp) = server.tcp_addr {
        println!("  media ICE-TCP {tcp}");
    }
    if demo_enabled {
        match server.issuer() {
            Some(issuer) => {
                println!();
                println!(
                    "Giunta dimostrativa / demo Giunta (sessione {}):",
                    demo::SESSION
                );
                for (member, url) in demo::links(issuer, &base)? {
                    println!("  {} — {}:", member.name, member.office);
                    println!("    {url}");
                }
                println!();
            }
            None => println!("(demo links need the HS256 secret; a public key is configured)"),
        }
    }
    if let Some(path) = &args.ready_file {
        let ready = serde_json::json!({
            "http_url": server.local_url(),
            "udp_addr": server.udp_addr.to_string(),
            "tcp_addr": server.tcp_addr.map(|a| a.to_string()),
        });
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }

    tokio::select! {
        result = server.wait() => result,
        _ = tokio::signal::ctrl_c() => {
            println!("Arresto / shutting down");
            Ok(())
        }
    }
}

fn token(args: TokenArgs) -> anyhow::Result<()> {
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
    let token = issuer
        .mint(
            &args.sub,
            &args.session,
            role,
            &args.name,
            Duration::from_secs(args.ttl),
        )
        .context("minting the token")?;
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

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    use seduta_signaling::attendance;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let verified = attendance::read_jsonl(&text).and_then(|entries| attendance::verify(&entries));
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
