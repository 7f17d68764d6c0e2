//! A raw WebSocket client for protocol tests: send anything, read what comes back.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one server message.
pub const WAIT: Duration = Duration::from_secs(5);

/// One signaling connection.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server ended a connection with.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame with this code.
    Close(u16),
    /// The stream ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .context("connecting")?;
        Ok(Self { ws })
    }

    /// Sends a text frame.
    pub async fn text(&mut self, text: impl Into<String>) -> anyhow::Result<()> {
        self.ws.send(Message::text(text.into())).await?;
        Ok(())
    }

    /// Sends a JSON value.
    pub async fn json(&mut self, value: Value) -> anyhow::Result<()> {
        self.text(value.to_string()).await
    }

    /// Sends a binary frame.
    pub async fn binary(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(Message::binary(bytes)).await?;
        Ok(())
    }

    /// The next JSON message, skipping `active_speakers` and `connection_quality` noise.
    pub async fn next(&mut self) -> anyhow::Result<Value> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("no message in time")?
                .ok_or_else(|| anyhow!("connection ended"))??;
            match frame {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(&text)?;
                    match v["type"].as_str() {
                        Some("active_speakers" | "connection_quality") => continue,
                        _ => return Ok(v),
                    }
                }
                Message::Close(frame) => bail!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next message of `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> anyhow::Result<Value> {
        loop {
            let v = self.next().await?;
            if v["type"] == kind {
                return Ok(v);
            }
        }
    }

    /// Expects an `error` with `code` next; returns whether it was fatal.
    pub async fn expect_error(&mut self, code: &str) -> anyhow::Result<bool> {
        let v = self.next_of("error").await?;
        if v["code"] != code {
            bail!("expected error {code}, got {v}");
        }
        Ok(v["fatal"].as_bool().unwrap_or(false))
    }

    /// Reads until the server ends the connection; returns how.
    pub async fn ending(&mut self) -> anyhow::Result<Ending> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("the server did not close in time")?;
            match frame {
                None | Some(Err(_)) => return Ok(Ending::Dropped),
                Some(Ok(Message::Close(Some(f)))) => return Ok(Ending::Close(u16::from(f.code))),
                Some(Ok(Message::Close(None))) => {
                    return Ok(Ending::Close(u16::from(CloseCode::Status)));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a ping and expects the matching pong: the connection is alive and usable.
    pub async fn assert_alive(&mut self) -> anyhow::Result<()> {
        self.json(serde_json::json!({"type": "ping", "ts": 4242}))
            .await?;
        let pong = self.next_of("pong").await?;
        if pong["ts"] != 4242 {
            bail!("bad pong {pong}");
        }
        Ok(())
    }
}
