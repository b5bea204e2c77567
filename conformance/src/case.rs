//! What one conformance case is: an id keyed to the spec, a level, the bytes
//! sent and the expectation checked against what comes back.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::expect::{Expect, printable};

/// How strongly the specification binds the server on what a case checks.
///
/// A failed `Must` case is a [`Verdict::Fail`](crate::Verdict::Fail) and makes
/// the CLI exit non-zero; a failed `Should` or `Info` case is a
/// [`Verdict::Warn`](crate::Verdict::Warn).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// The spec says MUST (or defines the only correct answer).
    Must,
    /// The spec says SHOULD, or the answer is the near-universal convention.
    Should,
    /// The spec leaves it open; the case records what the server does and
    /// warns only when the answer is none of the reasonable ones.
    Info,
}

impl Level {
    /// `"MUST"`, `"SHOULD"` or `"INFO"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Info => "INFO",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a case needs the server to implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Needs {
    /// Nothing: the case uses unknown method names and malformed input.
    Nothing,
    /// The methods of the spec's section-7 examples: `subtract` (positional
    /// and named `minuend`/`subtrahend`), `sum`, `update` and `notify_hello`
    /// (used as notifications) and `get_data` (returns `["hello", 5]`).
    SpecExamples,
    /// A JSON-RPC 1.0 server with an `echo` method (`[value]` → `value`):
    /// the cases of the `v1` profile (see [`crate::catalog_v1`]).
    V1,
}

/// Which cases a run selects, by what the server implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Cases that need no method at all: any JSON-RPC 2.0 server can run them.
    #[default]
    Core,
    /// Only the cases that need the spec's section-7 example methods.
    SpecExamples,
    /// Every JSON-RPC 2.0 case (not the `v1` ones).
    All,
    /// The JSON-RPC 1.0 cases ([`crate::catalog_v1`]), for a server that
    /// speaks 1.0; the 2.0 cases are not run.
    V1,
}

impl Profile {
    /// Whether a case with these needs runs under this profile.
    pub fn selects(self, needs: Needs) -> bool {
        matches!(
            (self, needs),
            (Profile::All, Needs::Nothing | Needs::SpecExamples)
                | (Profile::Core, Needs::Nothing)
                | (Profile::SpecExamples, Needs::SpecExamples)
                | (Profile::V1, Needs::V1)
        )
    }

    /// `"core"`, `"spec-examples"`, `"all"` or `"v1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Core => "core",
            Profile::SpecExamples => "spec-examples",
            Profile::All => "all",
            Profile::V1 => "v1",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "core" => Ok(Profile::Core),
            "spec-examples" => Ok(Profile::SpecExamples),
            "all" => Ok(Profile::All),
            "v1" => Ok(Profile::V1),
            other => Err(format!(
                "unknown profile {other:?} (expected core, spec-examples, all or v1)"
            )),
        }
    }
}

/// The kind of transport a run talks over; cases may apply to only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TransportKind {
    /// HTTP POST: one message per request body, the answer in the response body.
    Http,
    /// A byte stream with newline-delimited JSON (e.g. `tcp://`).
    Stream,
    /// WebSocket (`ws://`): one message per text frame.
    WebSocket,
    /// Socket.IO (`socketio://`): one message per event, the answer in its
    /// acknowledgement.
    SocketIo,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TransportKind::Http => "http",
            TransportKind::Stream => "stream",
            TransportKind::WebSocket => "websocket",
            TransportKind::SocketIo => "socketio",
        })
    }
}

/// Which transports a case applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applies {
    /// Every transport.
    Any,
    /// HTTP only (status codes, headers, or bytes a line framing cannot carry).
    Http,
    /// Newline-delimited streams only.
    Stream,
    /// WebSocket only (frame kinds, close codes).
    WebSocket,
}

impl Applies {
    /// Whether a case with this applicability runs over `kind`.
    pub fn to(self, kind: TransportKind) -> bool {
        matches!(
            (self, kind),
            (Applies::Any, _)
                | (Applies::Http, TransportKind::Http)
                | (Applies::Stream, TransportKind::Stream)
                | (Applies::WebSocket, TransportKind::WebSocket)
        )
    }
}

/// The bytes a case sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// These exact bytes.
    Bytes(Vec<u8>),
    /// A syntactically valid call of an unknown method whose params hold one
    /// long string, padded to exactly this many bytes (built on demand so the
    /// catalog stays small).
    Oversized(usize),
}

impl Payload {
    /// The exact bytes sent (on a stream, a `\n` follows).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Payload::Bytes(b) => Cow::Borrowed(b),
            Payload::Oversized(len) => {
                let head = br#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1,"params":[""#;
                let tail = br#""]}"#;
                let fill = len.saturating_sub(head.len() + tail.len());
                let mut out = Vec::with_capacity(head.len() + fill + tail.len());
                out.extend_from_slice(head);
                out.resize(head.len() + fill, b'x');
                out.extend_from_slice(tail);
                Cow::Owned(out)
            }
        }
    }

    /// The number of bytes sent.
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Oversized(_) => self.bytes().len(),
        }
    }

    /// Whether no byte is sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A printable rendering for reports: valid UTF-8 as is (control
    /// characters and invalid bytes escaped as `\n`, `\xff`, ...), cut to
    /// about `max` characters with the total size noted.
    pub fn preview(&self, max: usize) -> String {
        match self {
            Payload::Bytes(b) => printable(b, max),
            Payload::Oversized(len) => {
                format!(
                    "{{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":1,\"params\":[\"xxxx…\"]}} ({len} bytes)"
                )
            }
        }
    }
}

/// How an HTTP transport sends a case (ignored by other transports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// The request method (`POST` for almost every case).
    pub method: &'static str,
    /// The `Content-Type` header, if one is sent.
    pub content_type: Option<&'static str>,
}

impl Default for HttpRequest {
    fn default() -> Self {
        HttpRequest {
            method: "POST",
            content_type: Some("application/json"),
        }
    }
}

/// One conformance case.
#[derive(Clone, Debug)]
pub struct Case {
    /// Stable id: the spec section it checks, a slash, a kebab-case name,
    /// e.g. `4.1/notification-unknown-method`. `http/…` and `tcp/…` check
    /// transport conventions the spec leaves to the transport; `2/…` checks
    /// the JSON text itself (the spec's section 2 defers to the JSON RFC).
    pub id: &'static str,
    /// How strongly the spec binds the server here.
    pub level: Level,
    /// What the server must implement for this case to apply.
    pub needs: Needs,
    /// The transports this case applies to.
    pub applies: Applies,
    /// One line: what is checked and why.
    pub title: &'static str,
    /// The bytes sent.
    pub payload: Payload,
    /// HTTP method and content type (ignored on streams).
    pub http: HttpRequest,
    /// What must come back.
    pub expect: Expect,
}

impl Case {
    /// The spec section (or `http`, `tcp`) this case checks: the id up to the
    /// first `/`.
    pub fn section(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(s, _)| s)
    }
}
