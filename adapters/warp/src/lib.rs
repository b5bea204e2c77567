//! # sansrpc-warp
//!
//! A JSON-RPC 2.0 endpoint for [warp](https://docs.rs/warp) 0.4, driven by
//! the sans-IO [`sansrpc`] core.
//!
//! [`filter`] turns a [`Router`] into a warp [`Filter`] that answers every
//! request it sees; put it behind the path filters of your choice and
//! combine it with the application's other routes on the same port.
//!
//! Every HTTP decision is the core's ([`sansrpc::http`]):
//!
//! - `POST` only; any other method gets `405` with `Allow: POST` (the
//!   filter answers every method itself, so a `GET` on its path is a `405`,
//!   never a `404` or a rejection picked by [`Filter::or`]);
//! - any JSON-RPC answer, errors included, is `200` with
//!   `Content-Type: application/json`;
//! - a notification or an all-notification batch gets `204` and no body;
//! - a body over [`Limits::max_message_bytes`](sansrpc::Limits) gets `413`:
//!   a declared `Content-Length` over the limit is refused before reading,
//!   and a chunked body is counted while it streams and refused as soon as
//!   it passes the limit;
//! - a `Content-Type` that is not JSON gets `415` (a missing one is
//!   accepted).
//!
//! Handlers see the peer address, the request headers and the cookies in
//! their [`Context`]; the headers and cookies they set with
//! [`Context::set_response_header`] and [`Context::set_cookie`] are sent
//! with the answer.
//!
//! ```no_run
//! use sansrpc::{Context, Router};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() {
//!     let mut router = Router::new();
//!     router
//!         .method("ping", || "pong")
//!         .expect("a valid, new method name")
//!         .method("whoami", |ctx: Context| ctx.peer_addr().map(|a| a.to_string()))
//!         .expect("a valid, new method name");
//!
//!     let rpc = warp::path("rpc").and(warp::path::end()).and(sansrpc_warp::filter(router));
//!     let health = warp::path("health").and(warp::path::end()).and(warp::get()).map(|| "ok");
//!
//!     warp::serve(rpc.or(health)).run(([127, 0, 0, 1], 5000)).await;
//! }
//! ```
//!
//! ## WebSocket
//!
//! [`websocket`] serves JSON-RPC over warp's own WebSocket upgrade: one
//! message per text frame, and calls in both directions — handlers (and
//! the `on_connect` hook) get a [`Client`] that notifies or calls the
//! remote. The connection is run by the driver shared with the other
//! adapters, [`WsServer`] (from `sansrpc-tokio`, re-exported here).
//!
//! ```no_run
//! use sansrpc::{Extension, Router};
//! use sansrpc_warp::{Client, WsServer};
//! use warp::Filter;
//!
//! #[tokio::main]
//! async fn main() {
//!     let mut router = Router::new();
//!     router
//!         .method("ping", || "pong")
//!         .expect("a valid, new method name")
//!         .method("whoareyou", |Extension(page): Extension<Client>| async move {
//!             // Calls the browser back and waits for its answer.
//!             page.call::<serde_json::Value>("page.info", ()).await.ok()
//!         })
//!         .expect("a valid, new method name");
//!     let server = WsServer::new(router).on_connect(|_ctx, page: Client| {
//!         tokio::spawn(async move {
//!             let _ = page.notify("server.notice", serde_json::json!({"text": "welcome"})).await;
//!         });
//!     });
//!     let ws = warp::path("ws").and(warp::path::end()).and(sansrpc_warp::websocket(server));
//!     warp::serve(ws).run(([127, 0, 0, 1], 5000)).await;
//! }
//! ```
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

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, Method};
use sansrpc::http::{BodyLimit, HttpReject, answer_headers, answer_status, check_head};
use sansrpc::{Context, Router, Transport};
use warp::reply::Response;
use warp::{Filter, Rejection};

mod ws;

pub use sansrpc_tokio::{Client, ClientBuilder, ClientError, WsClose, WsServer};
pub use ws::websocket;

/// A warp filter that answers JSON-RPC requests with `router`.
///
/// It matches any path and any method: mount it with path filters in
/// front (`warp::path("rpc").and(warp::path::end()).and(filter(router))`).
/// It rejects only if an earlier filter already took the request body.
/// `router` may be a [`Router`] or an `Arc<Router<S>>` shared with other
/// filters.
///
/// ```
/// use warp::Filter;
///
/// let rpc = warp::path("rpc")
///     .and(warp::path::end())
///     .and(sansrpc_warp::filter(sansrpc::Router::new()));
/// let health = warp::path("health").and(warp::get()).map(|| "ok");
/// let routes = rpc.or(health);
/// # drop(routes);
/// ```
pub fn filter<S>(
    router: impl Into<Arc<Router<S>>>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static
where
    S: Clone + Send + Sync + 'static,
{
    let router: Arc<Router<S>> = router.into();
    warp::method()
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .then(
            move |method: Method, headers: HeaderMap, peer: Option<SocketAddr>, body| {
                let router = Arc::clone(&router);
                async move { respond(&router, &method, headers, peer, body).await }
            },
        )
}

async fn respond<S, B, E>(
    router: &Router<S>,
    method: &Method,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    body: impl Stream<Item = Result<B, E>>,
) -> Response
where
    S: Clone + Send + Sync + 'static,
    B: Buf,
{
    let max = router.limits().max_message_bytes;
    if let Err(reject) = check_head(method, &headers, max) {
        return rejection(reject);
    }
    let read = read_body(body, max);
    // A body still incomplete after the idle timeout: a slow-drip peer is
    // idle (as on the stream transports).
    let body = match router.limits().idle_timeout {
        Some(limit) => tokio::time::timeout(limit, read)
            .await
            .unwrap_or(Err(HttpReject::RequestTimeout)),
        None => read.await,
    };
    let body = match body {
        Ok(body) => body,
        Err(reject) => return rejection(reject),
    };

    let mut context = Context::builder(Transport::Http).headers(headers);
    if let Some(addr) = peer {
        context = context.peer_addr(addr);
    }
    let context = context.build();
    let answer = router.handle_message(&body, context.clone()).await;

    let status = answer_status(answer.as_deref());
    let headers = answer_headers(answer.as_deref(), &context.response_parts());
    let mut response = Response::new(answer.unwrap_or_default().into());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Reads the body chunk by chunk; [`BodyLimit`] refuses it at the first
/// chunk that passes `max`, so a peer can never make us hold more.
async fn read_body<B: Buf, E>(
    body: impl Stream<Item = Result<B, E>>,
    max: usize,
) -> Result<Bytes, HttpReject> {
    let mut body = std::pin::pin!(body);
    let mut buf = BodyLimit::new(max);
    while let Some(chunk) = body.next().await {
        // The peer hung up or broke the chunked encoding.
        let mut chunk = chunk.map_err(|_| HttpReject::BadRequest)?;
        while chunk.has_remaining() {
            let part = chunk.chunk();
            let n = part.len();
            buf.push(part)?;
            chunk.advance(n);
        }
    }
    Ok(buf.finish())
}

fn rejection(reject: HttpReject) -> Response {
    let mut response = Response::new(reject.body().into());
    *response.status_mut() = reject.status();
    *response.headers_mut() = reject.headers();
    response
}
