//! # sansrpc
//!
//! A sans-IO JSON-RPC 2.0 core: bytes in → request events; answers in →
//! bytes out. No runtime, no sockets, no clock: the same state machines
//! serve actix-web, warp, tokio and smol (see the `sansrpc-*` adapter
//! crates), and anything else you can read bytes from.
//!
//! The layers, bottom up:
//!
//! 1. **Message** — [`parse_message`], [`Id`], [`Error`], [`ErrorCode`]:
//!    the JSON-RPC 2.0 data model, validated completely (ids echoed as
//!    sent, `-32700`/`-32600` decided here, never a panic on any input).
//! 2. **Framing** — [`Newline`], [`Body`], [`ContentLength`]: how messages
//!    sit in a byte stream, each with a maximum frame size.
//! 3. **State machines** — [`ServerConnection`], [`ClientConnection`],
//!    [`Peer`]: `handle_*` feeds input, `poll_*` drains output, the
//!    application answers with `respond(ticket, outcome)`.
//! 4. **Router** — [`Router`]: methods by name with typed `fn`/`async fn`
//!    handlers, hooks, and the entry points adapters use.
//!
//! ## The adapter loop
//!
//! An adapter's whole job is: read bytes → `handle_input` → `poll_event` →
//! run the handler → `respond` → `poll_transmit` → write bytes. Here it is
//! over an in-memory buffer standing in for a socket:
//!
//! ```
//! use sansrpc::{Context, Dispatch, Limits, Newline, Params, Router, ServerConnection};
//!
//! let mut router = Router::new();
//! router.method("add", |Params((a, b)): Params<(i64, i64)>| a + b).unwrap();
//!
//! let limits = Limits::default();
//! let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
//! let ctx = Context::default();
//!
//! // What the peer wrote, arriving in two reads.
//! let reads: [&[u8]; 2] = [
//!     b"{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":1}\n{\"jsonrpc\"",
//!     b":\"2.0\",\"method\":\"add\",\"params\":[3,4]}\n",
//! ];
//! let mut written = Vec::new();
//! for bytes in reads {
//!     conn.handle_input(bytes).unwrap();
//!     while let Some(event) = conn.poll_event() {
//!         match router.dispatch(event, &ctx) {
//!             // A real adapter spawns the future on its runtime.
//!             Dispatch::Call(ticket, call) => {
//!                 conn.respond(ticket, futures_executor::block_on(call)).unwrap()
//!             }
//!             Dispatch::Notification(run) => futures_executor::block_on(run),
//!         }
//!     }
//!     conn.poll_transmit(&mut written);
//! }
//! // The call is answered; the notification is not.
//! assert_eq!(written, b"{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":1}\n");
//! ```
//!
//! For whole-body transports (HTTP, WebSocket messages) the router's
//! one-shot form does all of it: [`Router::handle_message`] takes the body
//! and returns the answer, or `None` when nothing is to be sent.
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
mod version;
mod waiters;
pub mod wire_log;

pub use connection::Connection;
pub use context::{ConnectionState, Context, ContextBuilder, ResponseParts, Transport};
pub use error::{Error, ErrorCode, ProtocolError, RejectionKind, UsageError};
pub use framing::{Body, ContentLength, Framer, MAX_HEADER_BYTES, Messages, Newline};
pub use handler::{
    AsyncFn, BoxFuture, CallParts, Extension, Fallible, FromCall, Handler, IntoOutcome, Json, MethodName,
    Params, PlainValue, SerializableError, State, SyncFn,
};
pub use id::{Id, IdKind};
pub use limits::Limits;
pub use message::{
    Accept, Incoming, Message, Outcome, ParamsKind, RawParams, Response, decode_outcome, parse_message,
    result, write_error, write_request, write_response, write_result,
};
pub use router::{AsyncHook, CallInfo, Dispatch, Hook, Rejection, Router};
pub use server::{Event, ServerConnection, Ticket};
pub use stats::{MethodStats, RejectedStats, Stats, StatsSnapshot};
pub use version::{V1_ERROR_CODE, Version};
pub use waiters::{CallFailure, Requester, Settled, Waiters};
// Filled by the client/peer work: keep these two lines, edit only what they export.
pub use client::{BatchEntry, ClientConnection, ClientEvent};
pub use peer::{Peer, PeerEvent};
