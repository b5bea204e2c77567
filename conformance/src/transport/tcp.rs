//! JSON-RPC over TCP, one connection per case: newline-delimited by
//! default, or with LSP-style `Content-Length` headers
//! ([`Framing::ContentLength`]). The exchange itself (a probe after every
//! case, see the `stream` module) is shared with `stdio:`.

use std::time::Duration;

use tokio::time::Instant;

use super::stream::{self, Framing};
use super::{BoxFuture, Exchange, Transport, connect};
use crate::case::{Case, TransportKind};
use crate::expect::{End, Observed};

/// JSON-RPC over a TCP connection (`tcp://host:port`).
#[derive(Clone, Debug)]
pub struct TcpTransport {
    host: String,
    port: u16,
    framing: Framing,
}

impl TcpTransport {
    /// A newline-delimited transport for `tcp://host:port`.
    pub fn new(host: String, port: u16) -> TcpTransport {
        TcpTransport {
            host,
            port,
            framing: Framing::Newline,
        }
    }

    /// The same with another framing.
    pub fn with_framing(mut self, framing: Framing) -> TcpTransport {
        self.framing = framing;
        self
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let stream = match connect(&self.host, self.port, ex.deadline).await {
            Ok(s) => s,
            Err(end) => return Observed::failed(end),
        };
        let (mut reader, mut writer) = stream.into_split();
        let mut buf = Vec::with_capacity(8192);
        stream::exchange(&mut reader, &mut writer, &mut buf, self.framing, ex).await
    }
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

    fn skip(&self, case: &Case) -> Option<String> {
        stream::skip(self.framing, case)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::PROBE_ID;
    use serde_json::Value;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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
