//! # sansrpc-actix
//!
//! A JSON-RPC 2.0 endpoint for [actix-web](https://actix.rs), driven by the
//! sans-IO [`sansrpc`] core.
//!
//! [`endpoint`] turns a [`Router`] into an actix-web [`Resource`] that
//! [`App::service`](actix_web::App::service) mounts at any path, beside the
//! application's other routes on the same port. [`respond`] is the same
//! logic as a plain function, for applications that route requests
//! themselves (scopes, guards, middleware-wrapped routes).
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
//! A peer that sends and never reads is closed by the write-progress
//! deadline ([`Limits::idle_timeout`](sansrpc::Limits)), but actix-web's
//! dispatcher keeps holding a socket whose output the peer never takes. Give
//! the `HttpServer` the [`write_deadline`] connect hook
//! (`.on_connect(sansrpc_actix::write_deadline(idle))`) so that the kernel
//! drops such a socket too (Linux `TCP_USER_TIMEOUT`), for the WebSocket and
//! the HTTP endpoint alike.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use sansrpc::{Context, Router};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let mut router = Router::new();
//!     router
//!         .method("ping", || "pong")
//!         .expect("a valid, new method name")
//!         .method("whoami", |ctx: Context| ctx.peer_addr().map(|a| a.to_string()))
//!         .expect("a valid, new method name");
//!     // One router, shared by every worker.
//!     let router = std::sync::Arc::new(router);
//!
//!     HttpServer::new(move || {
//!         App::new()
//!             .service(sansrpc_actix::endpoint("/rpc", router.clone()))
//!             .route("/health", web::get().to(|| async { "ok" }))
//!     })
//!     .bind("127.0.0.1:5000")?
//!     .run()
//!     .await
//! }
//! ```
//!
//! ## Connections
//!
//! The application builds the `HttpServer`, so
//! [`Limits::max_connections`](sansrpc::Limits) does not reach it: the cap
//! on open connections (HTTP and WebSocket alike) is actix-web's own,
//! per worker. Divide the limit by the workers; a worker at its cap stops
//! accepting and new connections wait in the listen backlog (they are not
//! closed), until actix closes one of the open ones (a connection whose
//! client left may hold its slot up to the `keep_alive` time, 5 s by
//! default).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use sansrpc::{Limits, Router};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let limits = Limits::default();
//!     let mut router = Router::new();
//!     router.method("ping", || "pong").expect("a valid, new method name");
//!     router.set_limits(limits.clone());
//!     let router = std::sync::Arc::new(router);
//!     let workers = 4;
//!     HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/rpc", router.clone())))
//!         .workers(workers)
//!         .max_connections(limits.max_connections / workers)
//!         .bind("127.0.0.1:5000")?
//!         .run()
//!         .await
//! }
//! ```
//!
//! ## WebSocket
//!
//! [`websocket`] serves JSON-RPC over WebSocket (`actix-ws`): one message
//! per text frame, and calls in both directions — handlers (and the
//! `on_connect` hook) get a [`Client`] that notifies or calls the remote.
//! The connection is run by the driver shared with the other adapters,
//! [`WsServer`] (from `sansrpc-tokio`, re-exported here).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use sansrpc::{Extension, Router};
//! use sansrpc_actix::{Client, WsServer};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
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
//!         actix_web::rt::spawn(async move {
//!             let _ = page.notify("server.notice", serde_json::json!({"text": "welcome"})).await;
//!         });
//!     });
//!     HttpServer::new(move || App::new().service(sansrpc_actix::websocket("/ws", server.clone())))
//!         .bind("127.0.0.1:5000")?
//!         .run()
//!         .await
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

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header::{HeaderName as ActixName, HeaderValue as ActixValue};
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use futures_util::StreamExt;
use sansrpc::Router;
use sansrpc::http::{Begin, BodyReader, HeaderView, HttpReject, Reply, RequestHeaders};

mod ws;

pub use sansrpc::http::{Cors, Endpoint, HttpOptions};
pub use sansrpc_tokio::{Client, ClientBuilder, ClientError, WsClose, WsServer};
pub use ws::{websocket, websocket_respond, write_deadline};

/// An actix-web resource at `path` that answers JSON-RPC requests with
/// `router`, for [`App::service`](actix_web::App::service).
///
/// The resource takes every method, so that a wrong one gets the `405` the
/// HTTP rules ask for (rather than actix-web's `404`). `router` may be a
/// [`Router`] or an `Arc<Router<S>>` shared with other endpoints or
/// workers.
///
/// ```
/// use actix_web::{App, web};
///
/// let router = sansrpc::Router::new();
/// let app = App::new()
///     .service(sansrpc_actix::endpoint("/rpc", router))
///     .route("/health", web::get().to(|| async { "ok" }));
/// # drop(app);
/// ```
pub fn endpoint<S>(path: &str, router: impl Into<Arc<Router<S>>>) -> Resource
where
    S: Clone + Send + Sync + 'static,
{
    endpoint_with(path, router, HttpOptions::default())
}

/// [`endpoint`] with [`HttpOptions`]: CORS, the JSONP fallback on `GET`
/// (the resource then also answers `path/{method}`), compression.
///
/// ```
/// use actix_web::App;
/// use sansrpc::http::{Cors, HttpOptions};
///
/// let options = HttpOptions::new().cors(Cors::any()).jsonp(true).compression(true);
/// let app = App::new().service(sansrpc_actix::endpoint_with("/api", sansrpc::Router::new(), options));
/// # drop(app);
/// ```
pub fn endpoint_with<S>(path: &str, router: impl Into<Arc<Router<S>>>, options: HttpOptions) -> Resource
where
    S: Clone + Send + Sync + 'static,
{
    let endpoint = Endpoint::with_options(router, options);
    let mut patterns = vec![path.to_owned()];
    if endpoint.options().jsonp_enabled() {
        let sep = if path.ends_with('/') { "" } else { "/" };
        patterns.push(format!("{path}{sep}{{method}}"));
    }
    web::resource(patterns).to(move |req: HttpRequest, payload: web::Payload| {
        let endpoint = endpoint.clone();
        async move { respond(&endpoint, &req, payload).await }
    })
}

/// Answers one HTTP request with `endpoint` (a [`Router`] converts into
/// one with `.into()`): checks the head, reads the body within the
/// router's limit, runs the JSON-RPC message and builds the response, as
/// [`endpoint`] does. A JSONP call's method is the `{method}` segment of
/// the matched pattern (the last segment of the path).
///
/// Use it from your own handler when the endpoint needs guards, a scope or
/// extractors of its own; keep one [`Endpoint`] (it counts the
/// notifications running in the background):
///
/// ```
/// use actix_web::{App, HttpRequest, web};
/// use sansrpc::http::Endpoint;
///
/// async fn rpc(endpoint: web::Data<Endpoint>, req: HttpRequest, body: web::Payload) -> actix_web::HttpResponse {
///     sansrpc_actix::respond(&endpoint, &req, body).await
/// }
///
/// let endpoint = web::Data::new(Endpoint::from(sansrpc::Router::new()));
/// let app = App::new()
///     .app_data(endpoint)
///     .service(web::scope("/api").route("/rpc", web::to(rpc)));
/// # drop(app);
/// ```
pub async fn respond<S>(endpoint: &Endpoint<S>, req: &HttpRequest, payload: web::Payload) -> HttpResponse
where
    S: Clone + Send + Sync + 'static,
{
    // Read in place by the endpoint; copied only when a handler or hook
    // of the router may read them (actix-web's request is not `Send`, so
    // the calls cannot borrow it), converted to `http` 1 only when one
    // does.
    let view = ActixView(req.headers());
    // The raw segment: the core decodes it, as it does for warp.
    let tail = match req.match_info().get("method") {
        Some(_) => req.uri().path().rsplit('/').next().unwrap_or(""),
        None => "",
    };
    let method = convert_method(req.method());
    // Taken apart before any await, so that the request's future keeps
    // only what each step needs.
    let (exchange, read) = match endpoint.begin_view(&method, tail, req.uri().query(), &view, ActixView::copy)
    {
        Begin::Respond(reply) => return convert_reply(reply),
        Begin::Run(exchange, message) => (exchange, Err(message)),
        Begin::ReadBody(exchange, reader) => (exchange, Ok(reader)),
    };
    let body = match read {
        Ok(reader) => ReadBody::new(payload, reader, endpoint.router().limits().idle_timeout).await,
        Err(message) => Ok(message),
    };
    let reply = match body {
        Ok(body) => endpoint.run(exchange, body, req.peer_addr(), spawn).await,
        Err(reject) => endpoint.reject(exchange, reject, req.peer_addr()),
    };
    convert_reply(reply)
}

/// Background notifications run on the worker's runtime.
fn spawn(run: sansrpc::BoxFuture<()>) {
    actix_web::rt::spawn(run);
}

/// Reads the body chunk by chunk; [`BodyReader`] refuses it at the first
/// chunk that passes the limit (decoded or not), so a peer can never make
/// us hold more. A body still incomplete after the idle timeout is refused:
/// a slow-drip peer is idle (as on the stream transports).
///
/// Written by hand, not as an `async fn`: it is small (an `async fn` keeps
/// its arguments beside its locals) and needs no allocation of its own.
struct ReadBody {
    payload: web::Payload,
    /// `None` once finished.
    reader: Option<BodyReader>,
    idle: Option<std::time::Duration>,
    polled: bool,
    /// Set when the body is still incomplete at the second poll.
    timer: Option<std::pin::Pin<Box<actix_web::rt::time::Sleep>>>,
}

impl ReadBody {
    fn new(payload: web::Payload, reader: BodyReader, idle: Option<std::time::Duration>) -> Self {
        Self {
            payload,
            reader: Some(reader),
            idle,
            polled: false,
            timer: None,
        }
    }
}

impl Future for ReadBody {
    type Output = Result<bytes::Bytes, HttpReject>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(reader) = this.reader.as_mut() else {
            // Polled after it finished.
            return Poll::Ready(Err(HttpReject::BadRequest));
        };
        loop {
            match this.payload.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Err(reject) = reader.push_bytes(chunk) {
                        this.reader = None;
                        return Poll::Ready(Err(reject));
                    }
                }
                // The peer hung up or broke the chunked encoding.
                Poll::Ready(Some(Err(_))) => {
                    this.reader = None;
                    return Poll::Ready(Err(HttpReject::BadRequest));
                }
                Poll::Ready(None) => {
                    return Poll::Ready(match this.reader.take() {
                        Some(reader) => reader.finish(),
                        None => Err(HttpReject::BadRequest),
                    });
                }
                Poll::Pending => break,
            }
        }
        // Most bodies came with their head: then no timer is set.
        // actix-web polls a handler once before it hands over the body that
        // came with the head, then again in the same turn, so the timer
        // waits for a second poll; the task asks for that poll itself, so
        // that a peer that sends nothing more still meets the timer.
        if !this.polled {
            this.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let Some(limit) = this.idle else {
            return Poll::Pending;
        };
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(actix_web::rt::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.reader = None;
                Poll::Ready(Err(HttpReject::RequestTimeout))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn convert_reply(reply: Reply) -> HttpResponse {
    let mut response = if reply.status == ActixStatus::NO_CONTENT.as_u16() {
        HttpResponse::new(ActixStatus::NO_CONTENT)
    } else {
        HttpResponse::with_body(convert_status(reply.status), reply.body).map_into_boxed_body()
    };
    let headers = response.headers_mut();
    for (name, value) in &reply.headers {
        if let (Some(name), Some(value)) = (actix_name(name), actix_value(value)) {
            headers.append(name, value);
        }
    }
    response
}
// actix-web 4 is built on `http` 0.2 and the core on `http` 1: the
// conversions below go through the wire representation, which both share.

fn convert_method(method: &actix_web::http::Method) -> http::Method {
    // Every method actix-web parsed is a valid token; should one still fail,
    // any stand-in other than POST gets the same `405`.
    http::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(http::Method::GET)
}

/// actix-web's request headers, borrowed while the endpoint decides on
/// them.
struct ActixView<'a>(&'a actix_web::http::header::HeaderMap);

impl ActixView<'_> {
    /// The copy handlers get.
    fn copy(&self) -> ActixHeaders {
        ActixHeaders::of(self.0)
    }
}

impl HeaderView for ActixView<'_> {
    fn get_all<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        // Looked up by hash: walking actix-web's map costs more than
        // naming the header in its type.
        let values = match actix_name(name) {
            Some(name) => self.0.get_all(&name),
            None => [].iter(),
        };
        values.map(ActixValue::as_bytes)
    }
}

/// actix-web's request headers, as the calls' context gets them: the pairs
/// in actix-web's order, each a shared (reference-counted) copy.
#[derive(Debug)]
struct ActixHeaders(Vec<(ActixName, ActixValue)>);

impl ActixHeaders {
    fn of(headers: &actix_web::http::header::HeaderMap) -> Self {
        let mut pairs = Vec::with_capacity(headers.len());
        pairs.extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
        Self(pairs)
    }
}

impl RequestHeaders for ActixHeaders {
    fn get_all<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        // A request has a few headers: a scan beats hashing, and both
        // crates spell names in lowercase, so the text is compared as it is.
        let name = name.as_str();
        self.0
            .iter()
            .filter(move |(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_bytes())
    }

    fn into_header_map(self) -> http::HeaderMap {
        let mut out = http::HeaderMap::with_capacity(self.0.len());
        for (name, value) in &self.0 {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_str().as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                out.append(name, value);
            }
        }
        out
    }
}

/// The actix-web (`http` 0.2) name of `name`: the ones the endpoint reads
/// and writes without parsing them again.
fn actix_name(name: &http::HeaderName) -> Option<ActixName> {
    use actix_web::http::header as a;
    use http::header as h;
    // Standard names compare by their tag, without reading the text.
    Some(if *name == h::CONTENT_TYPE {
        a::CONTENT_TYPE
    } else if *name == h::CONTENT_LENGTH {
        a::CONTENT_LENGTH
    } else if *name == h::CONTENT_ENCODING {
        a::CONTENT_ENCODING
    } else if *name == h::ACCEPT_ENCODING {
        a::ACCEPT_ENCODING
    } else if *name == h::ORIGIN {
        a::ORIGIN
    } else if *name == h::VARY {
        a::VARY
    } else if *name == h::ACCESS_CONTROL_REQUEST_METHOD {
        a::ACCESS_CONTROL_REQUEST_METHOD
    } else {
        return ActixName::from_bytes(name.as_str().as_bytes()).ok();
    })
}

/// The actix-web value of `value`, without a copy for the content types
/// the endpoint sends.
fn actix_value(value: &http::HeaderValue) -> Option<ActixValue> {
    for fixed in [sansrpc::http::JSON_CONTENT_TYPE, "text/plain; charset=utf-8"] {
        if value.as_bytes() == fixed.as_bytes() {
            return Some(ActixValue::from_static(fixed));
        }
    }
    ActixValue::from_bytes(value.as_bytes()).ok()
}

fn convert_headers(headers: &actix_web::http::header::HeaderMap) -> http::HeaderMap {
    ActixHeaders::of(headers).into_header_map()
}

fn convert_status(status: http::StatusCode) -> ActixStatus {
    ActixStatus::from_u16(status.as_u16()).unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR)
}
