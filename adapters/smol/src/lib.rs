//! # sansrpc-smol
//!
//! JSON-RPC 2.0 on [smol](https://docs.rs/smol): newline-delimited JSON over
//! TCP, or over any [`AsyncRead`](futures_lite::io::AsyncRead) +
//! [`AsyncWrite`](futures_lite::io::AsyncWrite) (Unix sockets, pipes, stdio
//! through [`smol::Unblock`]), driven by the sans-IO core [`sansrpc`].
//!
//! - **Server**: [`serve`], [`serve_with_shutdown`], [`serve_connection`],
//!   and [`Server`] for options. Calls of one connection run concurrently
//!   on smol's executor; each answer is written when it is ready; reading
//!   pauses while the router's [`Limits`](sansrpc::Limits) say so; at the
//!   peer's end of input the calls in flight still finish and are answered;
//!   shutdown is graceful.
//! - **Client**: [`Client`] — `call`, `notify`, `batch`, with a default
//!   timeout per client and per-call overrides.
//! - **Peer mode**: [`PeerConnection`] and [`Server::peer_mode`] — both ends
//!   serve a router and call the other.
//!
//! Tasks are spawned with [`smol::spawn`] (smol's global executor).
//!
//! A server and a client in one program:
//!
//! ```no_run
//! use sansrpc::{Error, Params, Router};
//! use sansrpc_smol::{Client, serve};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     smol::block_on(async {
//!         let mut router = Router::new();
//!         router
//!             .method("ping", || "pong")?
//!             .method("add", |Params((a, b)): Params<(i64, i64)>| async move {
//!                 a.checked_add(b).ok_or_else(|| Error::invalid_params("overflow"))
//!             })?;
//!
//!         let listener = smol::net::TcpListener::bind("127.0.0.1:5000").await?;
//!         smol::spawn(serve(listener, router)).detach();
//!
//!         let client = Client::connect("127.0.0.1:5000").await?;
//!         assert_eq!(client.call::<String>("ping", ()).await?, "pong");
//!         assert_eq!(client.call::<i64>("add", [2, 3]).await?, 5);
//!         Ok(())
//!     })
//! }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client;
mod driver;
mod server;

pub use client::{Client, ClientBuilder, ClientError, DEFAULT_TIMEOUT, PeerConnection};
pub use server::{DEFAULT_READ_BUFFER, Server, serve, serve_connection, serve_with_shutdown};
