//! # sansrpc-tokio
//!
//! JSON-RPC 2.0 on [tokio](https://tokio.rs): newline-delimited JSON over
//! TCP, or over any [`AsyncRead`](tokio::io::AsyncRead) +
//! [`AsyncWrite`](tokio::io::AsyncWrite) (Unix sockets, stdio, pipes),
//! driven by the sans-IO core [`sansrpc`].
//!
//! - **Server**: [`serve`], [`serve_with_shutdown`], [`serve_connection`],
//!   and [`Server`] for options (limits, and the connection's lifecycle:
//!   concurrent calls, backpressure, draining, graceful shutdown).
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
//!
//! The connection driver is [`sansrpc_io`]'s, written once for every
//! runtime; this crate is the tokio glue: the [`Tokio`] runtime, tokio's
//! streams through the `compat` shim, TCP, and the tokio-tungstenite
//! handshakes for WebSocket.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod runtime;
mod ws;

use tokio::net::TcpListener;

pub use runtime::Tokio;
pub use sansrpc_io::{
    ClientError, DEFAULT_PING_INTERVAL, DEFAULT_READ_BUFFER, DEFAULT_TIMEOUT, WsClose, WsError, WsFrame,
};

/// A handle to a JSON-RPC connection: call and notify the remote (see
/// [`sansrpc_io::Client`]). Cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sansrpc::{BatchEntry, RawParams};
/// use sansrpc_tokio::Client;
///
/// let client = Client::connect("127.0.0.1:5000").await?;
/// let pong: String = client.call("ping", ()).await?;
/// let diff: i64 = client.call("subtract", [42, 23]).await?;
/// client.notify("update", [1, 2, 3]).await?;
/// let quick: String = client.call_timeout("ping", (), Duration::from_millis(100)).await?;
/// let answers = client
///     .batch([BatchEntry::call("sum", RawParams::from_json("[1,2,4]")?)])
///     .await?;
/// let ws = Client::connect_ws("ws://127.0.0.1:5001/ws").await?;
/// # Ok(()) }
/// ```
pub type Client = sansrpc_io::Client<Tokio>;

/// Options for a [`Client`] or [`PeerConnection`] (see
/// [`sansrpc_io::ClientBuilder`]).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// let client = sansrpc_tokio::ClientBuilder::new()
///     .timeout(Duration::from_secs(5))
///     .connect("127.0.0.1:5000")
///     .await?;
/// # Ok(()) }
/// ```
pub type ClientBuilder = sansrpc_io::ClientBuilder<Tokio>;

/// A connection on which both ends may call (see
/// [`sansrpc_io::PeerConnection`]).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut router = sansrpc::Router::new();
/// router.method("ask_client", || "client says hi")?;
/// let peer = sansrpc_tokio::PeerConnection::connect("127.0.0.1:5000", router).await?;
/// let answer: String = peer.call("hello", ()).await?;
/// peer.close();
/// peer.closed().await?;
/// # Ok(()) }
/// ```
pub type PeerConnection = sansrpc_io::PeerConnection<Tokio>;

/// A JSON-RPC server over TCP or any tokio byte stream, newline-framed
/// (see [`sansrpc_io::Server`] for the limits and the lifecycle).
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_tokio::Server;
/// use std::time::Duration;
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let mut router = Router::new();
///     router.method("ping", || "pong").unwrap();
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
///     Server::new(router)
///         .shutdown_timeout(Duration::from_secs(10))
///         .serve_with_shutdown(listener, async {
///             let _ = tokio::signal::ctrl_c().await;
///         })
///         .await
/// }
/// ```
pub type Server<S = ()> = sansrpc_io::Server<Tokio, S>;

/// A JSON-RPC server over WebSocket (see [`sansrpc_io::WsServer`]).
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_tokio::{Client, WsServer};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let mut router = Router::new();
///     router.method("ping", || "pong").unwrap();
///     let server = WsServer::new(router).on_connect(|_ctx, client: Client| {
///         tokio::spawn(async move {
///             let _ = client.notify("server.notice", serde_json::json!({"text": "welcome"})).await;
///         });
///     });
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
///     server.serve(listener).await
/// }
/// ```
pub type WsServer<S = ()> = sansrpc_io::WsServer<Tokio, S>;

sansrpc_io::entry_points! {
    runtime: Tokio,
    listener: TcpListener,
    stream: [tokio::io::AsyncRead + tokio::io::AsyncWrite + Send],
    /// Serves `router` on `listener` (newline-delimited JSON over TCP) until the
    /// task is dropped. See [`Server`] for options.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    /// sansrpc_tokio::serve(listener, sansrpc::Router::new()).await
    /// # }
    /// ```
    serve;
    /// Serves `router` on one connection over any byte stream (a Unix socket,
    /// stdio, an accepted TCP stream); handlers see `context`. Returns when the
    /// peer closed its input and every call was answered.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use sansrpc::{Context, Transport};
    /// // JSON-RPC on this process's stdin and stdout.
    /// let stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    /// let router = sansrpc::Router::new();
    /// sansrpc_tokio::serve_connection(stdio, router, Context::builder(Transport::Stream).build()).await
    /// # }
    /// ```
    serve_connection;
}
