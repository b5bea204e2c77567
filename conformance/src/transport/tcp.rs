//! Newline-delimited JSON over TCP, one connection per case.
//!
//! Every case is followed by a probe call on the next line (an unknown
//! method with the id [`PROBE_ID`]). Its answer marks the point where the
//! server has read past the case, so "nothing comes back" is proved by the
//! probe's answer arriving with nothing before it, not by a long wait.
//! Because a server may answer calls on one connection in any order, the
//! transport also waits for the expected number of messages, and after the
//! probe's answer it keeps reading for a short settle time to catch a reply
//! that overtook nothing but was merely slow.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::Instant;

use super::{BoxFuture, Exchange, Transport, connect};
use crate::case::TransportKind;
use crate::expect::{End, Observed};

/// The id of the probe call sent after every case on a stream.
pub const PROBE_ID: &str = "sansrpc-conformance-probe";

const PROBE: &[u8] =
    b"{\"jsonrpc\":\"2.0\",\"method\":\"sansrpc.conformance.probe\",\"id\":\"sansrpc-conformance-probe\"}\n";

/// How long to keep listening after the probe's answer.
const SETTLE: Duration = Duration::from_millis(25);

/// The most bytes read for one case.
const MAX_READ: usize = 64 * 1024 * 1024;

/// Newline-delimited JSON over a TCP connection (`tcp://host:port`).
#[derive(Clone, Debug)]
pub struct TcpTransport {
    host: String,
    port: u16,
}

impl TcpTransport {
    /// A transport for `tcp://host:port`.
    pub fn new(host: String, port: u16) -> TcpTransport {
        TcpTransport { host, port }
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let stream = match connect(&self.host, self.port, ex.deadline).await {
            Ok(s) => s,
            Err(end) => return Observed::failed(end),
        };
        let (mut reader, writer) = stream.into_split();
        let mut out = Vec::with_capacity(ex.bytes.len() + 1 + PROBE.len());
        out.extend_from_slice(ex.bytes);
        out.push(b'\n');
        out.extend_from_slice(PROBE);

        let want = ex.case.expect.min_messages();
        let mut obs = Observed {
            messages: Vec::new(),
            http: None,
            probe_answered: false,
            end: End::Complete,
        };
        let write = write_all(writer, out);
        tokio::pin!(write);
        let mut writing = true;
        let mut _keep_open = None;
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut settle_until: Option<Instant> = None;
        loop {
            let until = settle_until.map_or(ex.deadline, |s| s.min(ex.deadline));
            let read = tokio::time::timeout_at(until, async {
                loop {
                    tokio::select! {
                        w = &mut write, if writing => {
                            writing = false;
                            if let Ok(w) = w { _keep_open = Some(w); }
                            // A failed write shows up as a close or reset on the read side.
                        }
                        r = reader.read_buf(&mut buf) => break r,
                    }
                }
            });
            match read.await {
                Err(_) if settle_until.is_some() => break,
                Err(_) => {
                    obs.end = End::TimedOut(ex.timeout);
                    break;
                }
                Ok(Ok(0)) => {
                    take_lines(&mut buf, &mut obs, true);
                    if settle_until.is_none() {
                        obs.end = End::Closed;
                    }
                    break;
                }
                Ok(Ok(_)) => {
                    take_lines(&mut buf, &mut obs, false);
                    if buf.len() > MAX_READ {
                        obs.end = End::Error("a line over 64 MiB".to_owned());
                        break;
                    }
                    if settle_until.is_none() && obs.probe_answered && obs.messages.len() >= want {
                        settle_until = Some(Instant::now() + SETTLE);
                    }
                }
                Ok(Err(e)) => {
                    take_lines(&mut buf, &mut obs, true);
                    if settle_until.is_none() {
                        obs.end = End::Error(format!("reading: {e}"));
                    }
                    break;
                }
            }
        }
        obs
    }
}

/// Moves every complete line out of `buf` into `obs`; at the end of input
/// a final unterminated line counts too.
fn take_lines(buf: &mut Vec<u8>, obs: &mut Observed, at_end: bool) {
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        push_line(&line[..i], obs);
    }
    if at_end && !buf.is_empty() {
        let line = std::mem::take(buf);
        push_line(&line, obs);
    }
}

fn push_line(line: &[u8], obs: &mut Observed) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if is_probe_answer(line) {
        obs.probe_answered = true;
    } else {
        obs.messages.push(line.to_vec());
    }
}

fn is_probe_answer(line: &[u8]) -> bool {
    serde_json::from_slice::<Value>(line)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(|id| id == PROBE_ID))
        .unwrap_or(false)
}

async fn write_all(mut w: OwnedWriteHalf, bytes: Vec<u8>) -> std::io::Result<OwnedWriteHalf> {
    w.write_all(&bytes).await?;
    w.flush().await?;
    // Kept open: a half-close could make the server stop before answering.
    Ok(w)
}

impl Transport for TcpTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }

    fn exchange<'a>(&'a self, exchange: Exchange<'a>) -> BoxFuture<'a, Observed> {
        Box::pin(self.run(exchange))
    }

    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            connect(&self.host, self.port, deadline)
                .await
                .map(drop)
                .map_err(|e| match e {
                    End::Error(e) => e,
                    other => format!("{other:?}"),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpListener;

    /// A toy line server: answers every line with `answer(line)` lines.
    async fn serve(answer: fn(&str) -> Vec<String>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        for out in answer(&line) {
                            w.write_all(format!("{out}\n").as_bytes()).await.unwrap();
                        }
                    }
                });
            }
        });
        port
    }

    fn echo_error(line: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        match v.get("id") {
            Some(id) => vec![format!(
                r#"{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"Method not found"}},"id":{id}}}"#
            )],
            None => vec![],
        }
    }

    async fn run(port: u16, id: &str) -> Observed {
        let c = crate::catalog().into_iter().find(|c| c.id == id).unwrap();
        let bytes = c.payload.bytes();
        TcpTransport::new("127.0.0.1".into(), port)
            .exchange(Exchange {
                case: &c,
                bytes: &bytes,
                deadline: Instant::now() + Duration::from_secs(5),
                timeout: Duration::from_secs(5),
            })
            .await
    }

    #[tokio::test]
    async fn notification_proved_silent_by_the_probe() {
        let port = serve(echo_error).await;
        let obs = run(port, "4.1/notification-unknown-method").await;
        assert!(obs.probe_answered);
        assert!(obs.messages.is_empty());
        assert_eq!(obs.end, End::Complete);
    }

    #[tokio::test]
    async fn a_reply_to_a_notification_is_seen() {
        fn chatty(_: &str) -> Vec<String> {
            vec![
                format!(r#"{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"x"}},"id":"{PROBE_ID}"}}"#),
                "{\"unexpected\":true}".to_owned(),
            ]
        }
        // The unexpected line comes after the probe's answer: the settle time catches it.
        let port = serve(chatty).await;
        let obs = run(port, "4.1/notification-unknown-method").await;
        assert!(obs.probe_answered);
        assert!(!obs.messages.is_empty());
    }

    #[tokio::test]
    async fn call_answer_collected() {
        let port = serve(echo_error).await;
        let obs = run(port, "5.1/method-not-found").await;
        assert_eq!(obs.messages.len(), 1);
        assert!(obs.probe_answered);
        let obs = run(port, "tcp/two-messages-one-write").await;
        assert_eq!(obs.messages.len(), 2);
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let port = serve(|_| vec![]).await;
        let c = crate::catalog()
            .into_iter()
            .find(|c| c.id == "4/id-integer")
            .unwrap();
        let bytes = c.payload.bytes();
        let obs = TcpTransport::new("127.0.0.1".into(), port)
            .exchange(Exchange {
                case: &c,
                bytes: &bytes,
                deadline: Instant::now() + Duration::from_millis(150),
                timeout: Duration::from_millis(150),
            })
            .await;
        assert_eq!(obs.end, End::TimedOut(Duration::from_millis(150)));
        assert!(c.expect.check(&obs).is_err());
    }
}
