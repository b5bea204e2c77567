//! # sansrpc-io
//!
//! The one connection driver of sansrpc, written once for every runtime:
//! JSON-RPC 2.0 over any [`futures-io`](futures_io) byte stream
//! (newline-framed) and over any stream/sink of WebSocket frames, with
//! server, client and peer handles. It owns no runtime: a [`Runtime`]
//! (spawn a task, make a resettable timer) and the small [`Listen`],
//! [`Connect`] and [`Wrap`] traits are all it needs, and `sansrpc-tokio`
//! and `sansrpc-smol` implement them in about a hundred lines each.
//!
//! The driver decides nothing about the connection's life: the core's
//! state machines own the idle and write-progress deadlines, draining and
//! the "finished" test ([`sansrpc::conn::Connection`]); the driver sleeps until
//! `poll_timeout()`, calls `handle_timeout(now)`, and stops when
//! `is_finished()` says so.
//!
//! Applications use it through a runtime crate; a runtime of your own
//! looks like this:
//!
//! ```
//! use std::pin::Pin;
//! use std::task::{Context, Poll};
//! use std::time::Instant;
//! use sansrpc_io::{AsyncTimer, Runtime, Task};
//!
//! /// A runtime that runs every task on a new thread and never times out.
//! #[derive(Clone, Debug)]
//! struct Threads;
//!
//! #[derive(Debug)]
//! struct Never;
//!
//! impl AsyncTimer for Never {
//!     fn reset(self: Pin<&mut Self>, _at: Instant) {}
//!     fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
//!         Poll::Pending
//!     }
//! }
//!
//! impl Runtime for Threads {
//!     fn spawn(task: Task) {
//!         std::thread::spawn(move || futures_executor::block_on(task));
//!     }
//!     fn timer(_at: Instant) -> Pin<Box<dyn AsyncTimer>> {
//!         Box::pin(Never)
//!     }
//! }
//!
//! // A server for that runtime, served on an in-memory stream.
//! let server = sansrpc_io::Server::<Threads>::new(sansrpc::Router::new());
//! # let _ = server;
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client;
mod driver;
mod entry;
mod error;
mod runtime;
mod server;
mod side;
mod ws;

pub use client::{Client, ClientBuilder, DEFAULT_READ_BUFFER, DEFAULT_TIMEOUT, PeerConnection};
pub use error::ClientError;
pub use runtime::{AsyncTimer, Connect, Listen, Runtime, Task, Watch, Wrap};
pub use server::Server;
pub use ws::{
    DEFAULT_PING_INTERVAL, WsAccept, WsClose, WsConnect, WsError, WsFrame, WsFrames, WsServer, WsSink,
    library_limit,
};

// For `entry_points!`: the paths its expansion names.
#[doc(hidden)]
pub use sansrpc as __sansrpc;
