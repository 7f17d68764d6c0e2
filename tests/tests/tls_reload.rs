//! The HTTPS certificate is replaced without a restart: the server serves a renewed
//! pair to new connections within its check interval, and a broken pair (a renewal
//! caught half-written) leaves the previous certificate in service. Judged from the
//! outside with `openssl s_client`, an independent TLS client.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test tls_reload'`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use seduta_tests::server::start_with;

/// A self-signed ECDSA P-256 certificate for 127.0.0.1 with common name `cn`.
fn make_pair(dir: &Path, cn: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let cert = dir.join(format!("{cn}.crt"));
    let key = dir.join(format!("{cn}.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={cn}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running openssl (Debian package openssl)")?;
    ensure!(status.success(), "openssl req failed");
    Ok((std::fs::read(&cert)?, std::fs::read(&key)?))
}

/// Replaces `path`'s content at once (temporary file, rename), as certbot does.
fn replace(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The common name of the certificate the server presents on a new connection.
fn served_cn(port: u16) -> anyhow::Result<String> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("running openssl s_client")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let subject = text
        .lines()
        .find(|l| l.starts_with("subject="))
        .context("no certificate in the handshake")?;
    Ok(subject
        .rsplit("CN")
        .next()
        .unwrap_or_default()
        .trim_start_matches([' ', '='])
        .trim()
        .to_owned())
}

async fn wait_for_cn(port: u16, want: &str, within: Duration) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let seen = tokio::task::spawn_blocking(move || served_cn(port)).await??;
        if seen == want {
            return Ok(start.elapsed());
        }
        ensure!(
            start.elapsed() < within,
            "the server still presents {seen:?}, not {want:?}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_a_restart() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("seduta-tls-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (cert_a, key_a) = make_pair(&dir, "seduta-a")?;
    let (cert_b, key_b) = make_pair(&dir, "seduta-b")?;
    let cert = dir.join("fullchain.pem");
    let key = dir.join("privkey.pem");
    replace(&cert, &cert_a)?;
    replace(&key, &key_a)?;

    let server = start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
        c.tls_reload_secs = 1;
        c.preservation = false;
    })
    .await?;
    let port = server.http_addr.port();
    ensure!(server.tls, "the server does not speak TLS");
    wait_for_cn(port, "seduta-a", Duration::from_secs(5)).await?;

    // The renewal: key first, then the certificate, as a renewal tool writes them.
    replace(&key, &key_b)?;
    replace(&cert, &cert_b)?;
    let took = wait_for_cn(port, "seduta-b", Duration::from_secs(15)).await?;
    eprintln!("the renewed certificate was served after {took:?}");

    // A broken pair (certificate of A with the key of B) is refused: B stays.
    replace(&cert, &cert_a)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = tokio::task::spawn_blocking(move || served_cn(port)).await??;
    ensure!(
        still == "seduta-b",
        "after a broken pair the server presents {still:?}"
    );
    // And garbage in place of the certificate changes nothing either.
    replace(&cert, b"-----BEGIN CERTIFICATE-----\nnot a certificate\n")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = tokio::task::spawn_blocking(move || served_cn(port)).await??;
    ensure!(
        still == "seduta-b",
        "after garbage the server presents {still:?}"
    );

    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
