//! # sansrpc-tokio
//!
//! JSON-RPC 2.0 on [tokio](https://tokio.rs): newline-delimited JSON over
//! TCP, or over any [`AsyncRead`](tokio::io::AsyncRead) +
//! [`AsyncWrite`](tokio::io::AsyncWrite) (Unix sockets, stdio, pipes),
//! driven by the sans-IO core [`sansrpc`].
//!
//! - **Server**: [`serve`], [`serve_with_shutdown`], [`serve_connection`],
//!   and [`Server`] for options. Calls of one connection run concurrently;
//!   each answer is written when it is ready; reading pauses while the
//!   router's [`Limits`](sansrpc::Limits) say so; at the peer's end of input
//!   the calls in flight still finish and are answered; shutdown is
//!   graceful.
//! - **Client**: [`Client`] — `call`, `notify`, `batch`, with a default
//!   timeout per client and per-call overrides.
//! - **Peer mode**: [`PeerConnection`] and [`Server::peer_mode`] — both ends
//!   serve a router and call the other.
//!
//! A server and a client in one program:
//!
//! ```no_run
//! use sansrpc::{Error, Params, Router};
//! use sansrpc_tokio::{Client, serve};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut router = Router::new();
//!     router
//!         .method("ping", || "pong")?
//!         .method("add", |Params((a, b)): Params<(i64, i64)>| async move {
//!             a.checked_add(b).ok_or_else(|| Error::invalid_params("overflow"))
//!         })?;
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//!     tokio::spawn(serve(listener, router));
//!
//!     let client = Client::connect("127.0.0.1:5000").await?;
//!     assert_eq!(client.call::<String>("ping", ()).await?, "pong");
//!     assert_eq!(client.call::<i64>("add", [2, 3]).await?, 5);
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client;
mod driver;
mod server;
mod ws;

pub use client::{Client, ClientBuilder, ClientError, DEFAULT_TIMEOUT, PeerConnection};
pub use server::{DEFAULT_READ_BUFFER, Server, serve, serve_connection, serve_with_shutdown};
pub use ws::{DEFAULT_PING_INTERVAL, WsClose, WsError, WsFrame, WsServer};
