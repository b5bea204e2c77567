//! # sansrpc-socketio
//!
//! JSON-RPC 2.0 over [Socket.IO](https://socket.io), on
//! [socketioxide](https://docs.rs/socketioxide): a [`sansrpc::Router`]
//! answers the `message` event (what `socket.send(msg, ack)` emits) and any
//! event you name; the answer is the event's acknowledgement. Handlers can
//! call the page back through its [`Client`]. WebSocket and HTTP
//! long-polling, Socket.IO protocol v5 (v4 with the `v4` feature).
//!
//! The page of the origin of this crate, unchanged, talks to it:
//!
//! ```js
//! var socket = io.connect('http://localhost:5000/');
//! socket.send({jsonrpc: "2.0", method: "ping", id: 1}, function (response) {
//!     console.log('<-- ' + JSON.stringify(response)); // {"jsonrpc":"2.0","result":"pong","id":1}
//! });
//! ```
//!
//! A complete server, calling the page back from a handler:
//!
//! ```no_run
//! use sansrpc::{Extension, Router};
//! use sansrpc_socketio::{Client, ClientError, SocketIoServer};
//!
//! async fn greet(Extension(page): Extension<Client>) -> Result<String, sansrpc::Error> {
//!     // The page answers `page.name` through the acknowledgement.
//!     let name: Result<String, ClientError> = page.call("page.name", ()).await;
//!     Ok(format!("hello, {}", name.unwrap_or_else(|_| "stranger".into())))
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let mut router = Router::new();
//!     router.method("ping", || "pong").unwrap();
//!     router.method("greet", greet).unwrap();
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//!     SocketIoServer::new(router).event("rpc").serve(listener).await
//! }
//! ```
//!
//! Mounting: [`serve`] / [`SocketIoServer::serve`] run a server of their
//! own; [`SocketIoServer::layer`] is the tower `Layer` for hyper and axum;
//! [`SocketIoServer::service_with`] puts Socket.IO in front of any other
//! tower service (the `socketio_warp` example serves warp routes and
//! Socket.IO on one port). actix-web has no socketioxide integration.
//!
//! See [`SocketIoServer`] for how each [`sansrpc::Limits`] knob applies.
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
mod message;
mod server;

pub use client::{Client, ClientError, DEFAULT_CALL_TIMEOUT};
pub use server::{
    DEFAULT_EVENT, LIBRARY_SLACK, NotFound, PeerAddr, SocketInfo, SocketIoServer, serve, serve_tower,
};
/// The socketioxide version this crate is built on, for naming its types
/// ([`SocketIo`](socketioxide::SocketIo), layers, services).
pub use socketioxide;
