//! # sansrpc
//!
//! A sans-IO JSON-RPC 2.0 core: bytes in → request events; answers in →
//! bytes out. No runtime, no sockets, no clock: the same state machines
//! serve actix-web, warp, tokio and smol (see the `sansrpc-*` adapter
//! crates), and anything else you can read bytes from.
//!
//! ## By audience
//!
//! - **Applications** use the crate root: a [`Router`] of methods with
//!   typed `fn`/`async fn` handlers taking [`Params`], [`Context`],
//!   [`State`] and other extractors and returning any `Serialize` or a
//!   `Result` with an [`Error`]; [`Hook`]s and [`Stats`]; [`Limits`];
//!   [`RawParams`], [`Response`], [`BatchEntry`], [`Outcome`] and
//!   [`decode_outcome`] for the clients of the adapter crates. Serving happens in an adapter crate.
//! - **Adapter authors** use [`conn`]: the state machines
//!   (`ServerConnection`, `ClientConnection`, `Peer`), their events and
//!   tickets, the framers, and the callers' bookkeeping (`Requester`,
//!   `Waiters`). [`http`] holds every HTTP decision for HTTP adapters.
//! - **Byte-level tools** (tests, fuzzers) use [`wire`]: `parse_message`
//!   and the `write_*` functions.
//!
//! ```
//! use sansrpc::{Context, Params, Router};
//!
//! let mut router = Router::new();
//! router.method("add", |Params((a, b)): Params<(i64, i64)>| a + b).unwrap();
//!
//! // A whole-body transport (HTTP, a WebSocket message) hands the router
//! // the body and sends what comes back; `None` means nothing to send.
//! let body = br#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
//! let answer = futures_executor::block_on(router.handle_message(body, Context::default()));
//! assert_eq!(answer.as_deref(), Some(&br#"{"jsonrpc":"2.0","result":3,"id":1}"#[..]));
//! ```
//!
//! A stream adapter runs the loop shown in [`conn`]: read bytes →
//! `handle_input` → `poll_event` → run the handler → `respond` →
//! `poll_transmit` → write bytes.
//!
//! ## Limits
//!
//! One [`Limits`] value bounds every transport: message size, batch
//! length, nesting depth, calls in flight, buffered output, connections,
//! idle time. Hitting one yields a JSON-RPC error or a clean close — never
//! a panic or an unbounded allocation.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod client;
mod connection;
mod context;
mod error;
mod framing;
mod handler;
pub mod http;
mod id;
mod limits;
mod message;
mod peer;
#[cfg(feature = "reference")]
pub mod reference;
mod router;
mod server;
mod shell;
mod stats;
mod v1;
mod version;
mod waiters;
pub mod wire_log;

pub use client::BatchEntry;
pub use context::{ConnectionState, Context, ContextBuilder, ResponseParts, Transport};
pub use error::{Error, ErrorCode, ProtocolError, RegistrationError, RejectionKind, UsageError};
pub use handler::{
    BoxFuture, CallParts, Extension, Fallible, FromCall, Handler, IntoOutcome, Json, MethodName, Params,
    PlainValue, SerializableError, State,
};
pub use id::{Id, IdKind};
pub use limits::Limits;
pub use message::{Outcome, ParamsKind, RawParams, Response, decode_outcome, result};
pub use router::{AsyncHook, CallInfo, Hook, Rejection, Router};
pub use stats::{MethodStats, RejectedStats, Stats, StatsSnapshot};
pub use version::{V1_ERROR_CODE, Version};

/// For adapter authors: the sans-IO state machines and what drives them.
///
/// An application registers methods on a [`Router`] and serves it with an
/// adapter crate (`sansrpc-tokio`, `sansrpc-smol`, `sansrpc-actix`, …); it
/// never needs this module. An adapter — code that moves bytes between a
/// transport and the protocol — uses:
///
/// - the three machines, [`ServerConnection`](conn::ServerConnection),
///   [`ClientConnection`](conn::ClientConnection) and [`Peer`](conn::Peer),
///   their events and the [`Ticket`](conn::Ticket) a call is answered with,
///   and the [`Connection`](conn::Connection) trait a driver loop is
///   written against;
/// - the framers that cut a byte stream into messages:
///   [`Newline`](conn::Newline), [`Body`](conn::Body),
///   [`ContentLength`](conn::ContentLength), [`Messages`](conn::Messages);
/// - [`Dispatch`](conn::Dispatch), what [`Router::dispatch`] turns an event
///   into (a call's future gives the [`Outcome`] to respond with);
/// - [`Requester`](conn::Requester) and [`Waiters`](conn::Waiters), which
///   match answers to the callers waiting for them.
///
/// ```
/// use sansrpc::conn::{Dispatch, Newline, ServerConnection};
/// use sansrpc::{Context, Limits, Router};
///
/// let mut router = Router::new();
/// router.method("ping", || "pong").unwrap();
///
/// let limits = Limits::default();
/// let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
/// conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":7}\n").unwrap();
/// while let Some(event) = conn.poll_event() {
///     if let Dispatch::Call(ticket, call) = router.dispatch(event, &Context::default()) {
///         conn.respond(ticket, futures_executor::block_on(call)).unwrap();
///     }
/// }
/// let mut written = Vec::new();
/// conn.poll_transmit(&mut written);
/// assert_eq!(written, b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":7}\n");
/// ```
pub mod conn {
    pub use crate::client::{ClientConnection, ClientEvent};
    pub use crate::connection::Connection;
    pub use crate::framing::{Body, ContentLength, Framer, MAX_HEADER_BYTES, Messages, Newline};
    pub use crate::peer::{Peer, PeerEvent};
    pub use crate::router::Dispatch;
    pub use crate::server::{Event, MAX_PENDING_REFUSALS, Refusal, ServerConnection, Ticket};
    pub use crate::waiters::{CallFailure, Requester, Settled, Waiters};
}

/// The JSON-RPC messages as bytes: parse one, write one.
///
/// The state machines in [`conn`] and [`Router::handle_message`] call
/// these for you; use them directly to build or check messages by hand
/// (tests, fuzzers, a transport of your own with its own framing).
///
/// ```
/// use bytes::Bytes;
/// use sansrpc::wire::{Accept, Incoming, Message, parse_message, write_result};
/// use sansrpc::{Id, Limits};
///
/// let frame = Bytes::from_static(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}");
/// let message = parse_message(&frame, &Limits::default(), Accept::Requests);
/// assert!(matches!(message, Message::Single(Incoming::Call { ref method, .. }) if method == "ping"));
///
/// let mut out = Vec::new();
/// let pong = serde_json::value::to_raw_value("pong").unwrap();
/// write_result(&Id::from(1u64), &pong, &mut out);
/// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}");
/// ```
pub mod wire {
    pub use crate::message::{
        Accept, Incoming, Message, parse_message, parse_message_full, write_error, write_request,
        write_response, write_result,
    };
}
