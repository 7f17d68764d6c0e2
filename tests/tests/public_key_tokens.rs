//! Tokens minted elsewhere and verified with a public key (EdDSA, RS256): keys are
//! made by openssl in the test; the server holds only the public half.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use seduta_signaling::auth::{Claims, Role};
use seduta_tests::server;
use seduta_tests::ws::{Ending, WsClient};
use serde_json::json;

fn openssl(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("openssl").args(args).status()?;
    anyhow::ensure!(status.success(), "openssl {args:?} failed");
    Ok(())
}

/// Writes a key pair; returns (private PEM, public PEM path).
fn keypair(dir: &Path, name: &str, genpkey: &[&str]) -> anyhow::Result<(Vec<u8>, PathBuf)> {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let private_s = private.to_string_lossy().into_owned();
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend_from_slice(&["-out", &private_s]);
    openssl(&args)?;
    openssl(&[
        "pkey",
        "-in",
        &private_s,
        "-pubout",
        "-out",
        &public.to_string_lossy(),
    ])?;
    Ok((std::fs::read(&private)?, public))
}

fn claims(sub: &str, session: &str) -> Claims {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Claims {
        sub: sub.into(),
        session: session.into(),
        role: Role::Member,
        name: "Assessore".into(),
        exp: now + 600,
        nbf: now,
        aud: "seduta".into(),
        jti: None,
    }
}

async fn check(alg: Algorithm, name: &str, genpkey: &[&str]) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("seduta-keys-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (private, public) = keypair(&dir, name, genpkey)?;
    let key = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&private)?,
        _ => EncodingKey::from_rsa_pem(&private)?,
    };
    let algorithm = if alg == Algorithm::EdDSA {
        "EdDSA"
    } else {
        "RS256"
    };
    let srv = server::start_with(|c| {
        c.jwt_secret = None;
        c.jwt_public_key = Some(public.clone());
        c.jwt_algorithm = Some(algorithm.to_owned());
    })
    .await?;
    assert!(srv.issuer().is_none(), "a public-key server cannot mint");
    let url = server::ws_url(&srv, "pk");

    let good = encode(&Header::new(alg), &claims("a1", "pk"), &key)?;
    let mut c = WsClient::connect(&url).await?;
    c.json(json!({"type": "join", "token": good})).await?;
    c.next_of("joined").await?;

    // The same claims signed with HS256 and the public key as the "secret" (the
    // classic algorithm-confusion attack) are refused: the algorithm is pinned.
    let pem = std::fs::read(&public)?;
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims("a2", "pk"),
        &EncodingKey::from_secret(&pem),
    )?;
    let mut c = WsClient::connect(&url).await?;
    c.json(json!({"type": "join", "token": confused})).await?;
    assert!(c.expect_error("token_invalid").await?);
    assert_eq!(c.ending().await?, Ending::Close(4001));
    srv.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_public_key() -> anyhow::Result<()> {
    check(Algorithm::EdDSA, "ed25519", &["-algorithm", "ed25519"]).await
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_public_key() -> anyhow::Result<()> {
    check(
        Algorithm::RS256,
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    )
    .await
}
