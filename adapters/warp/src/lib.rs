//! # sansrpc-warp
//!
//! A JSON-RPC 2.0 endpoint for [warp](https://docs.rs/warp) 0.4, driven by
//! the sans-IO [`sansrpc`] core.
//!
//! [`filter`] turns a [`Router`] into a warp [`Filter`] that answers every
//! request it sees; put it behind the path filters of your choice and
//! combine it with the application's other routes on the same port.
//!
//! Every HTTP decision is the core's ([`sansrpc::http`]), so both HTTP
//! adapters answer with the same bytes:
//!
//! - `POST` only; any other method gets `405` with `Allow: POST`;
//! - any JSON-RPC answer, errors included, is `200` with
//!   `Content-Type: application/json`;
//! - a notification or an all-notification batch gets `204` and no body at
//!   once: its handler runs in the background on the runtime, at most
//!   [`Limits::max_background_notifications`](sansrpc::Limits) of them per
//!   endpoint (past that the request waits for its own notifications); a
//!   batch mixing calls and notifications is answered when its calls are
//!   done;
//! - a body over [`Limits::max_message_bytes`](sansrpc::Limits) gets `413`:
//!   a declared `Content-Length` over the limit is refused before reading,
//!   and a chunked body is counted while it streams and refused as soon as
//!   it passes the limit;
//! - a `Content-Type` that is not JSON gets `415` (a missing one is
//!   accepted); a body with `Content-Encoding: gzip` is decoded, its
//!   decoded size bounded by the same limit (a gzip bomb gets `413` after
//!   reading no more than the limit); another encoding gets `415`.
//!
//! Opt-in, through the same [`HttpOptions`] on both adapters: CORS
//! ([`Cors`]: preflights, `Access-Control-Allow-Origin`), the JSONP fallback
//! on `GET <endpoint>/<method>?jsonp=<callback>&name=value...`, and gzip for
//! answers over a threshold when `Accept-Encoding` allows it (also switched
//! per call by [`Context::set_compression`](sansrpc::Context::set_compression)).
//!
//! Handlers see the peer address, the request headers and the cookies in
//! their [`Context`](sansrpc::Context); the headers and cookies they set with
//! [`Context::set_response_header`](sansrpc::Context::set_response_header) and
//! [`Context::set_cookie`](sansrpc::Context::set_cookie) are sent
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
//! ## Connections
//!
//! The application runs `warp::serve`, so
//! [`Limits::max_connections`](sansrpc::Limits) does not reach it, and warp
//! 0.4 has no cap of its own: `Server` takes only a plain
//! `tokio::net::TcpListener` (or `UnixListener`) and accepts every
//! connection. Cap open connections (HTTP and WebSocket alike) in front of
//! it: a reverse proxy's connection limit, or a firewall rule. (Serving
//! `warp::service(filter)` from an accept loop of your own with
//! `hyper-util` caps it too, but then `warp::addr::remote()`, and so
//! [`Context::peer_addr`](sansrpc::Context::peer_addr), is `None`: warp
//! keeps the type that carries it private.)
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

use std::future::{Future, poll_fn, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use futures_util::future::Either;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use sansrpc::Router;
use sansrpc::http::{Begin, BodyReader, Exchange, HeaderView, HttpReject, Reply, RequestHeaders};
use warp::path::Tail;
use warp::reply::Response;
use warp::{Filter, Rejection};

mod ws;

pub use sansrpc::http::{Cors, Endpoint, HttpOptions};
pub use sansrpc_tokio::{Client, ClientBuilder, ClientError, WsClose, WsServer};
pub use ws::websocket;

/// A warp filter that answers JSON-RPC requests with `router`.
///
/// It takes the path that is left: mount it with path filters in front
/// (`warp::path("rpc").and(filter(router))`). An empty rest is the
/// endpoint; anything more is rejected as not found, so that
/// [`Filter::or`] tries the next route (with JSONP on, see
/// [`filter_with`], one more segment is a JSONP method). It answers every
/// method itself, so a `GET` on its path is a `405`, never a `404`.
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
    filter_with(router, HttpOptions::default())
}

/// [`filter`] with [`HttpOptions`]: CORS, the JSONP fallback on `GET`
/// (`<mount>/<method>?jsonp=...`: do not end the path in front of it),
/// compression.
///
/// ```
/// use sansrpc::http::{Cors, HttpOptions};
/// use warp::Filter;
///
/// let options = HttpOptions::new().cors(Cors::any()).jsonp(true).compression(true);
/// let api = warp::path("api").and(sansrpc_warp::filter_with(sansrpc::Router::new(), options));
/// # drop(api);
/// ```
pub fn filter_with<S>(
    router: impl Into<Arc<Router<S>>>,
    options: HttpOptions,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static
where
    S: Clone + Send + Sync + 'static,
{
    // Shared, not cloned field by field: warp clones each route's closure
    // for every request it tries, and the request's future keeps one.
    let endpoint = Arc::new(Endpoint::with_options(router, options));
    // The endpoint itself: the query string is for JSONP only, so it is
    // not read (a missing one would cost a rejection per request). The
    // header map comes last: each `and` moves what the filters before it
    // extracted.
    let here = endpoint.clone();
    let endpoint_path = warp::path::end()
        .and(warp::method())
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .and(warp::header::headers_cloned())
        .and_then(
            move |method: Method, peer: Option<SocketAddr>, body, headers: HeaderMap| {
                // Decided here, before any future: the request's future
                // (which warp's filters move) keeps only what the answer
                // needs.
                begin_and_respond(&here, &method, "", None, headers, peer, body)
            },
        );
    // Anything below it: a JSONP call, or not found.
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    let below = warp::method()
        .and(warp::path::tail())
        .and(query)
        .and(warp::addr::remote())
        .and(warp::body::stream())
        .and(warp::header::headers_cloned())
        .and_then(
            move |method: Method,
                  tail: Tail,
                  query: String,
                  peer: Option<SocketAddr>,
                  body,
                  headers: HeaderMap| {
                let query = Some(query.as_str()).filter(|q| !q.is_empty());
                begin_and_respond(&endpoint, &method, tail.as_str(), query, headers, peer, body)
            },
        );
    endpoint_path.or(below).unify()
}

/// Decides on the request's head and answers it. The headers go to the
/// calls' context only when the router's handlers or hooks may read them;
/// otherwise the head is decided on a view of the few headers it reads,
/// found in one pass over warp's map (cheaper than a lookup by hash each),
/// and the map, emptied, holds the answer's headers (its memory reused:
/// no allocation for them, none freed for it).
fn begin_and_respond<S, St, B, E>(
    endpoint: &Arc<Endpoint<S>>,
    method: &Method,
    tail: &str,
    query: Option<&str>,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    body: St,
) -> impl Future<Output = Result<Response, Rejection>> + Send + use<S, St, B, E>
where
    S: Clone + Send + Sync + 'static,
    St: Stream<Item = Result<B, E>> + Unpin + Send + 'static,
    B: Buf + 'static,
    E: 'static,
{
    if endpoint.router().reads_request_headers() {
        Either::Left(respond(
            endpoint,
            endpoint.begin(method, tail, query, headers),
            peer,
            body,
            None,
        ))
    } else {
        let view = Picked::of(&headers);
        // `keep` is called only when the router reads headers: never here.
        let begin = endpoint.begin_view(method, tail, query, &view, |view| view.map.clone());
        Either::Right(respond(endpoint, begin, peer, body, Some(headers)))
    }
}

/// The request headers [`Endpoint::begin_view`] decides on, found in one
/// pass over warp's map; any other name, and a name given more than once,
/// is looked up in the map itself.
struct Picked<'h> {
    map: &'h HeaderMap,
    found: [Option<&'h HeaderValue>; N_PICKED],
    repeated: [bool; N_PICKED],
}

const N_PICKED: usize = 6;

/// The request headers the core's HTTP decisions read (a different
/// count there does not build here).
static PICKED: [HeaderName; N_PICKED] = sansrpc::http::HEAD_HEADERS;

impl<'h> Picked<'h> {
    fn of(map: &'h HeaderMap) -> Self {
        let mut picked = Self {
            map,
            found: [None; N_PICKED],
            repeated: [false; N_PICKED],
        };
        for (name, value) in map {
            if let Some(i) = PICKED.iter().position(|p| p == name) {
                if let (Some(found), Some(repeated)) = (picked.found.get_mut(i), picked.repeated.get_mut(i)) {
                    match found {
                        None => *found = Some(value),
                        Some(_) => *repeated = true,
                    }
                }
            }
        }
        picked
    }
}

impl HeaderView for Picked<'_> {
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        let i = PICKED.iter().position(|p| p == name);
        let (one, all) = match i.map(|i| (self.found.get(i), self.repeated.get(i))) {
            Some((Some(found), Some(false))) => (*found, None),
            _ => (None, Some(self.map.get_all(name))),
        };
        one.into_iter()
            .chain(all.into_iter().flatten())
            .map(HeaderValue::as_bytes)
    }

    /// The first value: the one the pass found, without the iterator.
    fn get<'a>(&'a self, name: &'a HeaderName) -> Option<&'a [u8]> {
        match PICKED.iter().position(|p| p == name) {
            Some(i) => self.found.get(i).copied().flatten().map(HeaderValue::as_bytes),
            None => self.map.get(name).map(HeaderValue::as_bytes),
        }
    }
}

/// The answer to a request whose head the endpoint has decided on: at
/// once, or once the body is read and run.
fn respond<S, H, St, B, E>(
    endpoint: &Arc<Endpoint<S>>,
    begin: Begin<H>,
    peer: Option<SocketAddr>,
    body: St,
    spare: Option<HeaderMap>,
) -> impl Future<Output = Result<Response, Rejection>> + Send + use<S, H, St, B, E>
where
    S: Clone + Send + Sync + 'static,
    H: RequestHeaders,
    St: Stream<Item = Result<B, E>> + Unpin + Send + 'static,
    B: Buf + 'static,
    E: 'static,
{
    let (exchange, read) = match begin {
        // Not this endpoint's path: let the next route try.
        Begin::Respond(reply) if reply.status == http::StatusCode::NOT_FOUND => {
            return Either::Left(ready(Err(warp::reject::not_found())));
        }
        Begin::Respond(reply) => return Either::Left(ready(Ok(response(reply, spare)))),
        Begin::Run(exchange, message) => (exchange, ReadBody::Read(Some(message))),
        Begin::ReadBody(exchange, reader) => (exchange, ReadBody::Reading(body, Some(reader))),
    };
    Either::Right(read_and_run(endpoint.clone(), exchange, read, peer, spare))
}

/// Reads the body (if any is still to be read) and runs it. A plain fn
/// around an `async` block: an `async fn` would also keep a copy of its
/// arguments in the future.
#[allow(clippy::manual_async_fn)] // the plain fn is the point: see above
fn read_and_run<S, H, St, B, E>(
    endpoint: Arc<Endpoint<S>>,
    exchange: Exchange<H>,
    mut read: ReadBody<St>,
    peer: Option<SocketAddr>,
    spare: Option<HeaderMap>,
) -> impl Future<Output = Result<Response, Rejection>>
where
    S: Clone + Send + Sync + 'static,
    H: RequestHeaders,
    St: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
{
    async move {
        // A body still incomplete after the idle timeout: a slow-drip peer
        // is idle (as on the stream transports). Most bodies came with
        // their head: then no timer is set.
        let body = match poll_fn(|cx| Poll::Ready(Pin::new(&mut read).poll(cx))).await {
            Poll::Ready(body) => body,
            // Boxed, as this is the rare case: the timer would grow every
            // request's future (which warp's filters move).
            Poll::Pending => match endpoint.router().limits().idle_timeout {
                Some(limit) => Box::pin(tokio::time::timeout(limit, read))
                    .await
                    .unwrap_or(Err(HttpReject::RequestTimeout)),
                None => (&mut read).await,
            },
        };
        let reply = match body {
            Ok(body) => endpoint.run(exchange, body, peer, spawn).await,
            Err(reject) => endpoint.reject(exchange, reject, peer),
        };
        Ok(response(reply, spare))
    }
}

/// The core's reply as warp's response; its headers go into `spare` (a
/// map of the request's, emptied) when there is one.
fn response(reply: Reply, spare: Option<HeaderMap>) -> Response {
    let mut response = Response::new(reply.body.into());
    *response.status_mut() = reply.status;
    *response.headers_mut() = match spare {
        Some(map) => reply.headers.into_header_map_reusing(map),
        None => reply.headers.into_header_map(),
    };
    response
}

/// Background notifications run on warp's tokio runtime.
fn spawn(run: sansrpc::BoxFuture<()>) {
    tokio::spawn(run);
}

/// Reads the body chunk by chunk; [`BodyReader`] refuses it at the first
/// chunk that passes the limit (decoded or not), so a peer can never make
/// us hold more. A JSONP call has no body to read: it is `Read` at once.
enum ReadBody<St> {
    /// The body's stream, and the reader until the body is read.
    Reading(St, Option<BodyReader>),
    /// The message, until it is taken.
    Read(Option<Bytes>),
}

impl<St, B, E> Future for ReadBody<St>
where
    St: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
{
    type Output = Result<Bytes, HttpReject>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Polled again after its end, it has nothing left: a `400`.
        let (body, reader) = match self.get_mut() {
            ReadBody::Read(message) => return Poll::Ready(message.take().ok_or(HttpReject::BadRequest)),
            ReadBody::Reading(body, reader) => (body, reader),
        };
        loop {
            let Some(read) = reader.as_mut() else {
                return Poll::Ready(Err(HttpReject::BadRequest));
            };
            match ready!(body.poll_next_unpin(cx)) {
                // hyper's chunks are `Bytes`: taken without a copy.
                Some(Ok(mut chunk)) => {
                    let n = chunk.remaining();
                    if let Err(reject) = read.push_bytes(chunk.copy_to_bytes(n)) {
                        *reader = None;
                        return Poll::Ready(Err(reject));
                    }
                }
                // The peer hung up or broke the chunked encoding.
                Some(Err(_)) => {
                    *reader = None;
                    return Poll::Ready(Err(HttpReject::BadRequest));
                }
                None => {
                    return Poll::Ready(
                        reader
                            .take()
                            .map_or(Err(HttpReject::BadRequest), BodyReader::finish),
                    );
                }
            }
        }
    }
}
