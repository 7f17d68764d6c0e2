//! Limits per client address on a real server: past its request rate an address gets
//! `429 rate_limited` with `Retry-After` while another address is served; a forged
//! `X-Forwarded-For` from an untrusted peer changes nothing; past its cap of open
//! WebSockets an address's upgrade is refused with `429 too_many_connections`, and a
//! closed socket frees its slot. Loopback has every 127.0.0.0/8 address, so the test
//! speaks from several.
//!
//! Run inside a network namespace (see README): `unshare -n bash -c 'ip link set lo
//! up && cargo test -p seduta-tests --test client_limits'`.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use seduta_tests::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// `GET path` from source address `from`: the status line's code, the whole answer.
async fn get_from(
    from: IpAddr,
    to: SocketAddr,
    path: &str,
    extra: &str,
) -> anyhow::Result<(u16, String)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
        .await
        .context("connect timed out")??;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {to}\r\n{extra}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .context("read timed out")??;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status line")?;
    Ok((code, text))
}

/// A WebSocket upgrade from 127.0.0.1; the handshake's HTTP status on refusal.
async fn open_ws(
    url: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(_) => Err(0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_is_limited_on_its_own() -> anyhow::Result<()> {
    let srv = server::start_with(|c| {
        c.per_ip_requests_per_second = 5;
        c.per_ip_request_burst = 10;
        c.per_ip_websockets = 3;
        c.preservation = false;
    })
    .await?;
    let addr = srv.http_addr;

    // WebSockets from 127.0.0.1: three open, the fourth refused, one closed frees one.
    let url = server::ws_url(&srv, "limits");
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            open_ws(&url)
                .await
                .map_err(|s| anyhow::anyhow!("upgrade refused: {s}"))?,
        );
    }
    ensure!(
        matches!(open_ws(&url).await, Err(429)),
        "a fourth WebSocket from one address was accepted"
    );
    let mut first = open.remove(0);
    first.close(None).await?;
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Each attempt is a request too; the burst of 10 covers these few.
        match open_ws(&url).await {
            Ok(ws) => {
                open.push(ws);
                break;
            }
            Err(status) => {
                ensure!(status == 429, "upgrade failed with {status}");
                ensure!(
                    Instant::now() < deadline,
                    "the closed socket's slot was never freed"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    drop(open);

    // Requests from 127.0.0.2: past the burst, refused with the stable code.
    let a: IpAddr = "127.0.0.2".parse()?;
    let b: IpAddr = "127.0.0.3".parse()?;
    let mut refused = None;
    let mut served = 0;
    for _ in 0..40 {
        let (code, text) = get_from(a, addr, "/api/openapi.json", "").await?;
        match code {
            200 => served += 1,
            429 => {
                refused = Some(text);
                break;
            }
            other => anyhow::bail!("unexpected status {other}"),
        }
    }
    let refused = refused.context("40 quick requests from one address were all served")?;
    eprintln!("served {served} before the first refusal");
    ensure!(
        served >= 10,
        "only {served} requests were served before the limit"
    );
    ensure!(refused.contains("\"code\":\"rate_limited\""), "{refused}");
    ensure!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    // A forged forwarded address from an untrusted peer does not escape the limit.
    let (code, _) = get_from(a, addr, "/livez", "X-Forwarded-For: 198.51.100.9\r\n").await?;
    ensure!(
        code == 429,
        "X-Forwarded-For from an untrusted peer was believed ({code})"
    );
    // Another address is served meanwhile.
    let (code, _) = get_from(b, addr, "/api/openapi.json", "").await?;
    ensure!(code == 200, "another address was refused ({code})");
    // And the limited one is served again once its bucket refills.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, _) = get_from(a, addr, "/livez", "").await?;
    ensure!(
        code == 200,
        "the address was still refused after refilling ({code})"
    );

    srv.shutdown().await;
    Ok(())
}
