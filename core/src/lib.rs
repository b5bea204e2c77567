//! # sansrpc
//!
//! A sans-IO JSON-RPC 2.0 core: bytes in → request events; answers in →
//! bytes out. No runtime, no sockets, no clock.
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

pub use context::{ConnectionState, Context, ContextBuilder, ResponseParts, Transport};
pub use error::{Error, ErrorCode, ProtocolError, UsageError};
pub use framing::{Body, ContentLength, Framer, MAX_HEADER_BYTES, Newline};
pub use handler::{
    AsyncFn, BoxFuture, CallParts, Extension, FromCall, Handler, IntoOutcome, Json, MethodName, Params,
    State, SyncFn,
};
pub use id::{Id, IdKind};
pub use limits::Limits;
pub use message::{
    Accept, Incoming, Message, Outcome, ParamsKind, RawParams, Response, parse_message, result, write_error,
    write_request, write_response, write_result,
};
pub use router::{CallInfo, Dispatch, Hook, MethodStats, Router, Stats};
pub use server::{Event, ServerConnection, Ticket};
// Filled by the client/peer work: keep these two lines, edit only what they export.
pub use client::{BatchEntry, ClientConnection, ClientEvent};
pub use peer::{Peer, PeerEvent};
