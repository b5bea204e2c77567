//! Socket.IO (`socketio://host:port/namespace`), one connection per case.
//!
//! The transport speaks Socket.IO protocol v5 over Engine.IO v4 on a
//! WebSocket (`GET /socket.io/?EIO=4&transport=websocket`), written here
//! packet by packet over tokio-tungstenite, so it depends on no Socket.IO
//! library and shows every byte: it waits for the Engine.IO open packet
//! (`0{...}`), joins the namespace (`40/ns,`), answers the server's pings
//! (`2` → `3`), and emits the JSON-RPC message as the first argument of a
//! `message` event with an acknowledgement id (`42/ns,1["message",...]`).
//! The server's acknowledgement (`43/ns,1[...]`) is the answer. A probe
//! call (an unknown method with the id [`PROBE_ID`](super::PROBE_ID)) follows in an event
//! of its own with acknowledgement id 2, as on `ws://`.
//!
//! How a case's bytes become the event's argument, and an acknowledgement
//! an answer — the conventions of JSON-RPC over Socket.IO:
//!
//! - bytes that are one JSON object or array go out as that value, byte for
//!   byte inside the packet (what a page's `socket.send(obj, ack)` does);
//!   any other bytes (not JSON, a bare scalar, a BOM, two values, ...) go out
//!   as a JSON string holding them, which a server reads as the message's
//!   text; bytes that are not UTF-8 cannot be a string and are skipped;
//! - an acknowledgement's first argument is the answer: a JSON string is
//!   the answer's text (an empty string, what Python's jsonrpcserver
//!   returns for a notification, is no answer), any other value is the
//!   answer itself; an acknowledgement without arguments is no answer;
//! - a disconnect packet, an Engine.IO close or the end of the WebSocket
//!   is [`End::Closed`]; a refused handshake or namespace is
//!   [`End::Error`].
//!
//! The URL's path is the namespace (`/` when empty). Its query may name
//! another event (`?event=rpc`) or Socket.IO path (`?path=/sio/`).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{BoxFuture, Exchange, Transport, bracket, connect};
use crate::case::{Case, TransportKind};
use crate::expect::{End, Observed};

const PROBE: &str =
    "{\"jsonrpc\":\"2.0\",\"method\":\"sansrpc.conformance.probe\",\"id\":\"sansrpc-conformance-probe\"}";

/// How long to wait for the case's acknowledgement once the probe's came:
/// a server may run a socket's events concurrently (socketioxide and
/// Flask-SocketIO do), so a quick probe can beat a slow case (a batch of
/// 1000 calls takes Flask-SocketIO about 300 ms, more on a busy machine).
/// Only a server that never acknowledges costs this wait.
const SETTLE: Duration = Duration::from_secs(2);

/// The largest packet accepted from the server.
const MAX_READ: usize = 64 * 1024 * 1024;

/// Acknowledgement ids of the case and of the probe.
const CASE_ACK: u64 = 1;
const PROBE_ACK: u64 = 2;

/// JSON-RPC over Socket.IO (`socketio://host:port/namespace`).
#[derive(Clone, Debug)]
pub struct SocketIoTransport {
    host: String,
    port: u16,
    namespace: String,
    event: String,
    path: String,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// How the case's bytes travel as the event's first argument.
fn as_argument(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let structured = matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_) | serde_json::Value::Array(_))
    );
    if structured {
        Some(text.to_owned())
    } else {
        serde_json::to_string(text).ok()
    }
}

/// The answer carried by an acknowledgement's arguments (`[...]`).
fn answer_of(args: &str) -> Result<Option<Vec<u8>>, String> {
    let args: Vec<&RawValue> = serde_json::from_str(args)
        .map_err(|e| format!("acknowledgement arguments are not a JSON array: {e}"))?;
    let Some(first) = args.first() else {
        return Ok(None);
    };
    let raw = first.get();
    if raw.starts_with('"') {
        let text: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
        Ok((!text.is_empty()).then(|| text.into_bytes()))
    } else {
        Ok(Some(raw.as_bytes().to_vec()))
    }
}

/// A Socket.IO packet (the part after Engine.IO's `4`), split into type,
/// namespace, ack id and data.
#[derive(Debug, PartialEq, Eq)]
struct Packet<'a> {
    kind: u8,
    namespace: &'a str,
    ack: Option<u64>,
    data: &'a str,
}

fn parse_packet(p: &str) -> Option<Packet<'_>> {
    let kind = *p.as_bytes().first()?;
    let mut rest = p.get(1..)?;
    if kind == b'5' || kind == b'6' {
        // Binary packets carry an attachment count first: `51-...`.
        let dash = rest.find('-')?;
        rest = rest.get(dash + 1..)?;
    }
    let mut namespace = "/";
    if rest.starts_with('/') {
        match rest.find(',') {
            Some(i) => {
                namespace = rest.get(..i)?;
                rest = rest.get(i + 1..)?;
            }
            None => {
                namespace = rest;
                rest = "";
            }
        }
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack = if digits > 0 {
        rest.get(..digits)?.parse().ok()
    } else {
        None
    };
    let data = rest.get(digits..)?;
    Some(Packet {
        kind: kind.wrapping_sub(b'0'),
        namespace,
        ack,
        data,
    })
}

impl SocketIoTransport {
    /// A transport for `socketio://host:port/namespace`, on event
    /// `message` at the Socket.IO path `/socket.io/`.
    pub fn new(host: String, port: u16, namespace: String) -> SocketIoTransport {
        let (namespace, query) = match namespace.split_once('?') {
            Some((n, q)) => (n.to_owned(), q.to_owned()),
            None => (namespace, String::new()),
        };
        let mut transport = SocketIoTransport {
            host,
            port,
            namespace: if namespace.is_empty() {
                "/".to_owned()
            } else {
                namespace
            },
            event: "message".to_owned(),
            path: "/socket.io/".to_owned(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("event", v)) => transport.event = v.to_owned(),
                Some(("path", v)) => {
                    transport.path = if v.ends_with('/') {
                        v.to_owned()
                    } else {
                        format!("{v}/")
                    }
                }
                _ => {}
            }
        }
        transport
    }

    /// `/admin,` for a namespace other than `/`.
    fn prefix(&self) -> String {
        if self.namespace == "/" {
            String::new()
        } else {
            format!("{},", self.namespace)
        }
    }

    fn url(&self) -> String {
        format!(
            "ws://{}:{}{}?EIO=4&transport=websocket",
            bracket(&self.host),
            self.port,
            self.path
        )
    }

    /// Connects, waits for the open packet and joins the namespace.
    async fn open(&self, deadline: Instant) -> Result<Socket, End> {
        let stream = connect(&self.host, self.port, deadline).await?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_READ))
            .max_frame_size(Some(MAX_READ));
        let handshake = tokio_tungstenite::client_async_with_config(self.url(), stream, Some(config));
        let mut socket = match tokio::time::timeout_at(deadline, handshake).await {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(e)) => {
                return Err(End::Error(format!(
                    "Engine.IO handshake with {}: {e}",
                    self.url()
                )));
            }
            Err(_) => {
                return Err(End::Error(format!(
                    "Engine.IO handshake with {}: timed out",
                    self.url()
                )));
            }
        };
        let open = match self.next_text(&mut socket, deadline).await {
            Ok(t) => t,
            Err(end) => return Err(end),
        };
        if !open.starts_with("0{") {
            return Err(End::Error(format!(
                "expected an Engine.IO open packet, got {open:?}"
            )));
        }
        let join = format!("40{}", self.prefix());
        if socket.send(Message::text(join)).await.is_err() {
            return Err(End::Error(
                "the server closed before the namespace was joined".to_owned(),
            ));
        }
        loop {
            let text = self.next_text(&mut socket, deadline).await?;
            let Some(p) = text.strip_prefix('4').and_then(parse_packet) else {
                continue;
            };
            if p.namespace != self.namespace {
                continue;
            }
            match p.kind {
                0 => return Ok(socket),
                4 => {
                    return Err(End::Error(format!(
                        "namespace {} refused: {}",
                        self.namespace, p.data
                    )));
                }
                _ => continue,
            }
        }
    }

    /// The next Engine.IO packet other than a ping (which is answered).
    async fn next_text(&self, socket: &mut Socket, until: Instant) -> Result<String, End> {
        loop {
            match tokio::time::timeout_at(until, socket.next()).await {
                Err(_) => return Err(End::TimedOut(Duration::ZERO)),
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return Err(End::Closed),
                Ok(Some(Err(e))) => {
                    return Err(match e {
                        tokio_tungstenite::tungstenite::Error::ConnectionClosed
                        | tokio_tungstenite::tungstenite::Error::AlreadyClosed
                        | tokio_tungstenite::tungstenite::Error::Io(_)
                        | tokio_tungstenite::tungstenite::Error::Protocol(_) => End::Closed,
                        other => End::Error(format!("reading: {other}")),
                    });
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    let t = t.as_str();
                    if t == "2" {
                        if socket.send(Message::text("3")).await.is_err() {
                            return Err(End::Closed);
                        }
                        continue;
                    }
                    if t == "1" {
                        return Err(End::Closed);
                    }
                    return Ok(t.to_owned());
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    fn event_packet(&self, ack: u64, argument: &str) -> String {
        let event = serde_json::to_string(&self.event).unwrap_or_else(|_| "\"message\"".to_owned());
        format!("42{}{ack}[{event},{argument}]", self.prefix())
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let Some(argument) = as_argument(ex.bytes) else {
            return Observed::failed(End::Error("bytes that are not UTF-8 cannot be sent".to_owned()));
        };
        let mut socket = match self.open(ex.deadline).await {
            Ok(s) => s,
            Err(End::TimedOut(_)) => return Observed::failed(End::TimedOut(ex.timeout)),
            Err(end) => return Observed::failed(end),
        };
        let mut obs = Observed {
            messages: Vec::new(),
            http: None,
            probe_answered: false,
            end: End::Complete,
        };
        let sent = tokio::time::timeout_at(ex.deadline, async {
            socket
                .send(Message::text(self.event_packet(CASE_ACK, &argument)))
                .await?;
            socket
                .send(Message::text(self.event_packet(PROBE_ACK, PROBE)))
                .await
        })
        .await;
        if sent.is_err() {
            obs.end = End::TimedOut(ex.timeout);
            return obs;
        }
        let mut case_acked = false;
        let mut settle_until: Option<Instant> = None;
        while !(case_acked && obs.probe_answered) {
            let until = settle_until.map_or(ex.deadline, |s| s.min(ex.deadline));
            let text = match self.next_text(&mut socket, until).await {
                Ok(t) => t,
                Err(End::TimedOut(_)) if settle_until.is_some() => break,
                Err(End::TimedOut(_)) => {
                    obs.end = End::TimedOut(ex.timeout);
                    break;
                }
                Err(end) => {
                    obs.end = end;
                    break;
                }
            };
            let Some(p) = text.strip_prefix('4').and_then(parse_packet) else {
                continue;
            };
            if p.namespace != self.namespace {
                continue;
            }
            match (p.kind, p.ack) {
                (3, Some(CASE_ACK)) => {
                    case_acked = true;
                    match answer_of(p.data) {
                        Ok(Some(m)) => obs.messages.push(m),
                        Ok(None) => {}
                        Err(e) => {
                            obs.end = End::Error(e);
                            break;
                        }
                    }
                }
                (3, Some(PROBE_ACK)) => {
                    obs.probe_answered = true;
                    if !case_acked {
                        settle_until = Some(Instant::now() + SETTLE);
                    }
                }
                // The server left the namespace.
                (1, _) => {
                    obs.end = End::Closed;
                    break;
                }
                _ => {}
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), socket.close(None)).await;
        obs
    }
}

impl Transport for SocketIoTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::SocketIo
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
        if std::str::from_utf8(&case.payload.bytes()).is_err() {
            return Some(
                "bytes that are not UTF-8 cannot be a Socket.IO event argument (a JSON value or string)"
                    .to_owned(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        assert_eq!(as_argument(br#"{"a":1}"#).unwrap(), r#"{"a":1}"#);
        assert_eq!(as_argument(b"[1,2]").unwrap(), "[1,2]");
        assert_eq!(as_argument(b"42").unwrap(), r#""42""#);
        assert_eq!(as_argument(br#"{"a""#).unwrap(), r#""{\"a\"""#);
        assert_eq!(as_argument(b"\xFF"), None);
    }

    #[test]
    fn answers() {
        assert_eq!(answer_of("[]").unwrap(), None);
        assert_eq!(answer_of(r#"[""]"#).unwrap(), None);
        assert_eq!(answer_of(r#"[{"a":1}]"#).unwrap().unwrap(), br#"{"a":1}"#);
        assert_eq!(answer_of(r#"["{\"a\":1}"]"#).unwrap().unwrap(), br#"{"a":1}"#);
        assert!(answer_of("nope").is_err());
    }

    #[test]
    fn packets() {
        assert_eq!(
            parse_packet(r#"3/admin,12["x"]"#),
            Some(Packet {
                kind: 3,
                namespace: "/admin",
                ack: Some(12),
                data: r#"["x"]"#
            })
        );
        assert_eq!(
            parse_packet(r#"0{"sid":"a"}"#),
            Some(Packet {
                kind: 0,
                namespace: "/",
                ack: None,
                data: r#"{"sid":"a"}"#
            })
        );
        assert_eq!(parse_packet("1/admin").map(|p| p.namespace), Some("/admin"));
        assert_eq!(parse_packet(""), None);
    }
}
