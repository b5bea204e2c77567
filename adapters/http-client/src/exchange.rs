//! One HTTP exchange without I/O: the core's `ClientConnection` over the
//! `Body` framer writes the request and judges the response; this module
//! adds only what HTTP says (status, content type, body size).

use reqwest::StatusCode;
use sansrpc::Outcome;
use sansrpc::conn::{Body, CallFailure, ClientConnection, Settled, Waiters};
use sansrpc::{BatchEntry, Id, Limits, ProtocolError, RawParams, wire_log};

use crate::{ClientError, quote};

/// What the caller gets back.
pub(crate) enum Reply {
    /// A call's outcome.
    Call(Outcome),
    /// A batch's outcomes, in request order (`None`: a notification).
    Batch(Vec<Option<Outcome>>),
    /// A notification (or a batch of them) was accepted.
    Nothing(usize),
}

enum Expect {
    /// Answers for these calls.
    Answers(Vec<Id>),
    /// No answer: `n` notifications.
    Nothing(usize),
}

/// One request and the judgement of its response.
pub(crate) struct Exchange {
    conn: ClientConnection<Body>,
    waiters: Waiters<(), ()>,
    expect: Expect,
    limit: usize,
}

impl Exchange {
    fn new(limits: &Limits) -> Self {
        Self {
            conn: ClientConnection::new(Body::new(limits.max_message_bytes).quiet_input(), limits.clone()),
            waiters: Waiters::new(),
            expect: Expect::Nothing(0),
            limit: limits.max_message_bytes,
        }
    }

    fn request(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        out
    }

    /// A call; returns the exchange and the request body.
    pub(crate) fn call(
        limits: &Limits,
        method: &str,
        params: RawParams,
    ) -> Result<(Self, Vec<u8>), ClientError> {
        let mut x = Self::new(limits);
        let id = x.conn.call(method, params, None)?;
        x.waiters.call(id.clone(), ());
        x.expect = Expect::Answers(vec![id]);
        let body = x.request();
        Ok((x, body))
    }

    /// A notification.
    pub(crate) fn notify(
        limits: &Limits,
        method: &str,
        params: RawParams,
    ) -> Result<(Self, Vec<u8>), ClientError> {
        let mut x = Self::new(limits);
        x.conn.notify(method, params)?;
        x.expect = Expect::Nothing(1);
        let body = x.request();
        Ok((x, body))
    }

    /// A batch.
    pub(crate) fn batch(
        limits: &Limits,
        entries: impl IntoIterator<Item = BatchEntry>,
    ) -> Result<(Self, Vec<u8>), ClientError> {
        let mut x = Self::new(limits);
        let ids = x.conn.batch(entries, None)?;
        x.expect = if x.waiters.batch(&ids, ()).is_some() {
            Expect::Nothing(ids.len())
        } else {
            Expect::Answers(ids.into_iter().flatten().collect())
        };
        let body = x.request();
        Ok((x, body))
    }

    /// The largest body accepted.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Refuses a body whose declared length is over the limit, before
    /// reading it.
    pub(crate) fn check_length(&self, declared: Option<u64>) -> Result<(), ClientError> {
        match declared {
            Some(n) if n > self.limit as u64 => Err(ClientError::TooLarge { limit: self.limit }),
            _ => Ok(()),
        }
    }

    /// Judges the response: `body` is all of it (at most [`limit`](Self::limit) bytes).
    pub(crate) fn finish(
        mut self,
        status: StatusCode,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ClientError> {
        wire_log::received(body, Some(&status.to_string()));
        let calls = match self.expect {
            Expect::Nothing(n) => {
                // Nothing is expected back; a body, if any, is ignored.
                return if status.is_success() {
                    Ok(Reply::Nothing(n))
                } else {
                    Err(ClientError::Status {
                        status,
                        body: quote(body),
                    })
                };
            }
            Expect::Answers(ref ids) => ids.clone(),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ClientError::Status {
                status,
                body: String::new(),
            });
        }
        if let Some(ct) = content_type.filter(|ct| !is_json(ct)) {
            return Err(if status.is_success() {
                ClientError::ContentType {
                    status,
                    content_type: ct.to_owned(),
                    body: quote(body),
                }
            } else {
                ClientError::Status {
                    status,
                    body: quote(body),
                }
            });
        }
        // A fresh connection accepts input.
        self.conn.handle_input(body)?;
        self.conn.handle_eof();
        let mut settled = None;
        let mut unexpected = None;
        while let Some(event) = self.conn.poll_event() {
            match self.waiters.on_event(event) {
                Some(Settled::Unexpected(e)) => {
                    unexpected.get_or_insert(e);
                }
                Some(s) => settled = Some(s),
                None => {}
            }
        }
        let failure = match settled {
            Some(Settled::Call((), Ok(outcome))) => return Ok(Reply::Call(outcome)),
            Some(Settled::Batch((), Ok(outcomes))) => return Ok(Reply::Batch(outcomes)),
            Some(Settled::Call((), Err(f)) | Settled::Batch((), Err(f))) => f,
            _ => CallFailure::Closed,
        };
        if failure == CallFailure::TimedOut {
            return Err(ClientError::TimedOut);
        }
        if !status.is_success() {
            return Err(ClientError::Status {
                status,
                body: quote(body),
            });
        }
        Err(match unexpected {
            Some(ProtocolError::UnmatchedResponse(got)) => ClientError::IdMismatch {
                sent: calls.iter().map(|id| id.as_json()).collect::<Vec<_>>().join(", "),
                got,
            },
            Some(e) => ClientError::Protocol(e),
            None => ClientError::Protocol(ProtocolError::InvalidResponse(
                "the response answers none of the calls".to_owned(),
            )),
        })
    }
}

/// Whether a `Content-Type` is JSON: `application/json`, `text/json` or
/// any `+json` type, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

/// A response body read piece by piece, refused once over the limit.
pub(crate) struct BodyBuf {
    buf: Vec<u8>,
    limit: usize,
}

impl BodyBuf {
    pub(crate) fn new(limit: usize, declared: Option<u64>) -> Self {
        // Preallocate what was declared, never more than the limit.
        let cap = declared
            .map_or(0, |n| n.min(limit as u64) as usize)
            .min(64 * 1024);
        Self {
            buf: Vec::with_capacity(cap),
            limit,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        if self.buf.len().saturating_add(chunk.len()) > self.limit {
            return Err(ClientError::TooLarge { limit: self.limit });
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// Serializes `params` with the core's rule ([`RawParams::for_call`]),
/// as the other sansrpc clients do.
pub(crate) fn to_params<P: serde::Serialize>(params: P) -> Result<RawParams, ClientError> {
    RawParams::for_call(&params).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Exchange {
        let (x, body) = Exchange::call(&Limits::default(), "ping", RawParams::none()).unwrap();
        assert_eq!(body, br#"{"jsonrpc":"2.0","method":"ping","id":1}"#);
        x
    }

    #[test]
    fn judgements() {
        let json = Some("application/json; charset=utf-8");
        let ok = StatusCode::OK;
        let cases: &[(StatusCode, Option<&str>, &[u8], &str)] = &[
            (
                ok,
                json,
                br#"{"jsonrpc":"2.0","result":"pong","id":1}"#,
                "ok \"pong\"",
            ),
            (
                ok,
                None,
                br#"{"jsonrpc":"2.0","result":"pong","id":1}"#,
                "ok \"pong\"",
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json,
                br#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}"#,
                "rpc -32603",
            ),
            (
                ok,
                json,
                br#"{"jsonrpc":"2.0","result":1,"id":7}"#,
                "id mismatch: the call had id 1, the response has id 7",
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("text/html"),
                b"<h1>oops</h1>",
                "HTTP 500 Internal Server Error without a JSON-RPC response: <h1>oops</h1>",
            ),
            (
                ok,
                Some("text/plain"),
                b"pong",
                "HTTP 200 OK with Content-Type \"text/plain\", not JSON: pong",
            ),
            (ok, json, b"", "HTTP 200 OK without a JSON-RPC response"),
            (
                StatusCode::BAD_GATEWAY,
                json,
                b"{}",
                "HTTP 502 Bad Gateway without a JSON-RPC response: {}",
            ),
            (
                ok,
                json,
                b"{\"jsonrpc\":\"2.0\"",
                "the server's answer is not a valid response: invalid response: Parse error",
            ),
        ];
        for (status, ct, body, want) in cases {
            let got = match call().finish(*status, *ct, body) {
                Ok(Reply::Call(Ok(v))) => format!("ok {}", v.get()),
                Ok(Reply::Call(Err(e))) => format!("rpc {}", e.code().0),
                Ok(_) => "other".to_owned(),
                Err(e) => e.to_string(),
            };
            assert!(got.starts_with(want), "{body:?}: {got}");
        }
    }

    #[test]
    fn notifications_want_a_success_status_only() {
        let (x, body) = Exchange::notify(&Limits::default(), "hi", RawParams::none()).unwrap();
        assert_eq!(body, br#"{"jsonrpc":"2.0","method":"hi"}"#);
        assert!(matches!(
            x.finish(StatusCode::NO_CONTENT, None, b""),
            Ok(Reply::Nothing(1))
        ));
        let (x, _) = Exchange::notify(&Limits::default(), "hi", RawParams::none()).unwrap();
        assert!(matches!(
            x.finish(StatusCode::NOT_FOUND, None, b"no"),
            Err(ClientError::Status { .. })
        ));
    }

    #[test]
    fn bodies_are_bounded() {
        let mut b = BodyBuf::new(4, Some(u64::MAX));
        b.push(b"ab").unwrap();
        b.push(b"cd").unwrap();
        assert!(matches!(b.push(b"e"), Err(ClientError::TooLarge { limit: 4 })));
        assert_eq!(b.bytes(), b"abcd");
        let x = call();
        assert!(x.check_length(Some(1 << 30)).is_err());
        assert!(x.check_length(None).is_ok());
    }

    #[test]
    fn json_content_types() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.x+json",
            "text/json",
        ] {
            assert!(is_json(ct), "{ct}");
        }
        for ct in ["text/html", "text/plain", "application/jsonp", ""] {
            assert!(!is_json(ct), "{ct}");
        }
    }
}
