//! WebSocket (`ws://host:port/path`), one connection per case.
//!
//! A case's bytes go out as one text frame, then a probe call (an unknown
//! method with the id [`PROBE_ID`]) in a text frame of its own; as on
//! `tcp://`, the probe's answer proves the server read past the case, so
//! "nothing comes back" needs no long wait, and a short settle time after
//! it catches a slow extra reply. Each text (or binary) frame received is
//! one message.
//!
//! Verdict semantics particular to WebSocket:
//!
//! - bytes that are not UTF-8 cannot be a text frame (RFC 6455 §5.6): for
//!   the WebSocket-only cases (`ws/*`) they are sent as a binary frame, and
//!   a close frame from the server counts as [`End::Closed`] (which those
//!   cases accept); the other cases with such bytes (`2/invalid-utf8-*`)
//!   are skipped with that reason, since no WebSocket client can send them
//!   as JSON-RPC text;
//! - a close frame, or the end of the stream, is [`End::Closed`]; a
//!   handshake that fails is [`End::Error`].

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{BoxFuture, Exchange, PROBE_ID, Transport, bracket, connect};
use crate::case::{Applies, Case, TransportKind};
use crate::expect::{End, Observed};

const PROBE: &str =
    "{\"jsonrpc\":\"2.0\",\"method\":\"sansrpc.conformance.probe\",\"id\":\"sansrpc-conformance-probe\"}";

/// How long to keep listening after the probe's answer.
const SETTLE: Duration = Duration::from_millis(25);

/// The largest message accepted from the server.
const MAX_READ: usize = 64 * 1024 * 1024;

/// JSON-RPC over a WebSocket (`ws://host:port/path`).
#[derive(Clone, Debug)]
pub struct WsTransport {
    host: String,
    port: u16,
    path: String,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

impl WsTransport {
    /// A transport for `ws://host:port/path`.
    pub fn new(host: String, port: u16, path: String) -> WsTransport {
        WsTransport { host, port, path }
    }

    fn url(&self) -> String {
        format!("ws://{}:{}{}", bracket(&self.host), self.port, self.path)
    }

    async fn open(&self, deadline: Instant) -> Result<Socket, End> {
        let stream = connect(&self.host, self.port, deadline).await?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_READ))
            .max_frame_size(Some(MAX_READ));
        let handshake = tokio_tungstenite::client_async_with_config(self.url(), stream, Some(config));
        match tokio::time::timeout_at(deadline, handshake).await {
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(e)) => Err(End::Error(format!(
                "WebSocket handshake with {}: {e}",
                self.url()
            ))),
            Err(_) => Err(End::Error(format!(
                "WebSocket handshake with {}: timed out",
                self.url()
            ))),
        }
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let mut socket = match self.open(ex.deadline).await {
            Ok(s) => s,
            Err(end) => return Observed::failed(end),
        };
        let frame = match std::str::from_utf8(ex.bytes) {
            Ok(text) => Message::text(text),
            Err(_) => Message::binary(ex.bytes.to_vec()),
        };
        let want = ex.case.expect.min_messages();
        let mut obs = Observed {
            messages: Vec::new(),
            http: None,
            probe_answered: false,
            end: End::Complete,
        };
        // A failed send (the server closed first) shows up on the read side.
        let sent = tokio::time::timeout_at(ex.deadline, async {
            socket.send(frame).await?;
            socket.send(Message::text(PROBE)).await
        })
        .await;
        if sent.is_err() {
            obs.end = End::TimedOut(ex.timeout);
            return obs;
        }
        let mut settle_until: Option<Instant> = None;
        loop {
            let until = settle_until.map_or(ex.deadline, |s| s.min(ex.deadline));
            match tokio::time::timeout_at(until, socket.next()).await {
                Err(_) if settle_until.is_some() => break,
                Err(_) => {
                    obs.end = End::TimedOut(ex.timeout);
                    break;
                }
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => {
                    if settle_until.is_none() {
                        obs.end = End::Closed;
                    }
                    break;
                }
                Ok(Some(Ok(Message::Text(text)))) => push(text.as_bytes(), &mut obs),
                Ok(Some(Ok(Message::Binary(bytes)))) => push(&bytes, &mut obs),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => {
                    if settle_until.is_none() {
                        obs.end = match e {
                            tokio_tungstenite::tungstenite::Error::ConnectionClosed
                            | tokio_tungstenite::tungstenite::Error::AlreadyClosed => End::Closed,
                            // A reset right after the server's close: still a close.
                            tokio_tungstenite::tungstenite::Error::Io(_)
                            | tokio_tungstenite::tungstenite::Error::Protocol(_) => End::Closed,
                            other => End::Error(format!("reading: {other}")),
                        };
                    }
                    break;
                }
            }
            if settle_until.is_none() && obs.probe_answered && obs.messages.len() >= want {
                settle_until = Some(Instant::now() + SETTLE);
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), socket.close(None)).await;
        obs
    }
}

fn push(message: &[u8], obs: &mut Observed) {
    let is_probe = serde_json::from_slice::<Value>(message)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(|id| id == PROBE_ID))
        .unwrap_or(false);
    if is_probe {
        obs.probe_answered = true;
    } else {
        obs.messages.push(message.to_vec());
    }
}

impl Transport for WsTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::WebSocket
    }

    fn exchange<'a>(&'a self, exchange: Exchange<'a>) -> BoxFuture<'a, Observed> {
        Box::pin(self.run(exchange))
    }

    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            match self.open(deadline).await {
                Ok(mut socket) => {
                    let _ = socket.close(None).await;
                    Ok(())
                }
                Err(End::Error(e)) => Err(e),
                Err(other) => Err(format!("{other:?}")),
            }
        })
    }

    fn skip(&self, case: &Case) -> Option<String> {
        if case.applies != Applies::WebSocket && std::str::from_utf8(&case.payload.bytes()).is_err() {
            return Some(
                "bytes that are not UTF-8 cannot be a WebSocket text frame (RFC 6455 §5.6); \
                 ws/binary-frame checks how a binary frame is refused"
                    .to_owned(),
            );
        }
        None
    }
}
