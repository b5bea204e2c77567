//! The WebSocket endpoint: `actix-ws` sockets, driven by the one connection
//! driver of [`sansrpc_tokio::WsServer`].

use std::any::Any;
use std::io;
use std::time::Duration;

use actix_web::dev::Extensions;
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError, Session};
use futures_util::StreamExt;
use sansrpc::{Context, Transport};
use sansrpc_tokio::{WsClose, WsError, WsFrame, WsServer};

use crate::convert_headers;

/// An actix-web resource at `path` that accepts WebSocket upgrades (`GET`)
/// and serves JSON-RPC on them with `server`: one message (or batch) per
/// text frame, calls in both directions, and everything else [`WsServer`]
/// documents (hooks, pings, the limits, `1003` for binary frames).
///
/// A remote that sends calls and never reads is let go only if the
/// `HttpServer` has the [`write_deadline`] hook: the driver ends at the
/// write-progress deadline, but the socket belongs to actix-web.
///
/// ```
/// use actix_web::App;
/// use sansrpc_tokio::WsServer;
///
/// let mut router = sansrpc::Router::new();
/// router.method("ping", || "pong").unwrap();
/// let server = WsServer::new(router);
/// let app = App::new().service(sansrpc_actix::websocket("/ws", server));
/// # drop(app);
/// ```
pub fn websocket<S>(path: &str, server: WsServer<S>) -> Resource
where
    S: Clone + Send + Sync + 'static,
{
    web::resource(path).route(web::get().to(move |req: HttpRequest, payload: web::Payload| {
        let server = server.clone();
        async move { websocket_respond(&server, &req, payload) }
    }))
}

/// A hook for [`HttpServer::on_connect`](actix_web::HttpServer::on_connect)
/// that gives every accepted TCP connection a write-progress deadline of
/// `limit`, kept by the kernel (`TCP_USER_TIMEOUT`): a connection whose
/// remote takes none of the output queued for it for `limit` (its receive
/// window stays shut, or nothing sent is acknowledged) is aborted, and
/// actix-web then drops it, freeing its descriptor and its connection
/// slot. Pass the router's [`Limits::idle_timeout`](sansrpc::Limits).
///
/// Without it a remote that sends calls and never reads keeps its
/// connection for good: actix-web's HTTP/1 dispatcher holds a response
/// whose write buffer the socket does not take (a WebSocket's, or a
/// pipelining HTTP client's) for as long as the remote stays, and does
/// not poll the response body meanwhile, so sansrpc's own write-progress
/// deadline ends the WebSocket driver but cannot reach the socket. The
/// kernel aborts a few hundred milliseconds after `limit` (at its next
/// window probe), without a close frame: the remote stopped reading.
///
/// Plain TCP connections only, on Linux and Android (elsewhere the hook
/// does nothing); behind TLS, set `TCP_USER_TIMEOUT` on the listening
/// socket instead (Linux copies it to the sockets it accepts) and give it
/// to [`HttpServer::listen`](actix_web::HttpServer::listen).
///
/// ```no_run
/// use std::time::Duration;
///
/// use actix_web::{App, HttpServer};
/// use sansrpc::Limits;
/// use sansrpc_tokio::WsServer;
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let idle = Duration::from_secs(30);
///     let mut router = sansrpc::Router::new();
///     router.method("ping", || "pong").expect("a valid, new method name");
///     router.set_limits(Limits { idle_timeout: Some(idle), ..Limits::default() });
///     let server = WsServer::new(router);
///     HttpServer::new(move || App::new().service(sansrpc_actix::websocket("/ws", server.clone())))
///         .on_connect(sansrpc_actix::write_deadline(idle))
///         .bind("127.0.0.1:5000")?
///         .run()
///         .await
/// }
/// ```
pub fn write_deadline(limit: Duration) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + 'static {
    move |connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            // A socket that refuses the option keeps the kernel's default;
            // the connection is served all the same.
            let _ = set_user_timeout(tcp, limit);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_user_timeout(tcp: &actix_web::rt::net::TcpStream, limit: Duration) -> io::Result<()> {
    socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(limit))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_user_timeout(_tcp: &actix_web::rt::net::TcpStream, _limit: Duration) -> io::Result<()> {
    Ok(())
}

/// Completes the WebSocket handshake for `req` and serves the connection
/// with `server` on the current actix worker, as [`websocket`] does; for
/// applications that route requests themselves. A request that is not a
/// valid upgrade gets actix-web's handshake error (`400`).
pub fn websocket_respond<S>(
    server: &WsServer<S>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error>
where
    S: Clone + Send + Sync + 'static,
{
    let (response, session, stream) = actix_ws::handle(req, payload)?;
    let limit = server.library_limit();
    let stream = stream
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit)
        .map(|r| r.map(from_actix).map_err(actix_error));
    let sink = futures_util::sink::unfold(session, send);

    let mut context = Context::builder(Transport::WebSocket).headers(convert_headers(req.headers()));
    if let Some(addr) = req.peer_addr() {
        context = context.peer_addr(addr);
    }
    let server = server.clone();
    // The socket's stream is tied to this worker's thread.
    actix_web::rt::spawn(async move {
        // The driver logs why a connection broke; nothing is left to do here.
        let _ = server.serve_socket(stream, sink, context).await;
    });
    Ok(response)
}

async fn send(mut session: Session, frame: WsFrame) -> Result<Session, actix_ws::Closed> {
    match frame {
        WsFrame::Text(t) => session.text(t).await?,
        WsFrame::Binary(b) => session.binary(b).await?,
        WsFrame::Ping(p) => session.ping(&p).await?,
        WsFrame::Pong(p) => session.pong(&p).await?,
        WsFrame::Close(c) => {
            let reason = c.map(|c| CloseReason {
                code: CloseCode::from(c.code),
                description: (!c.reason.is_empty()).then_some(c.reason),
            });
            // `close` consumes a handle; the clone shares the connection.
            session.clone().close(reason).await?;
        }
        // Frame kinds added later are not ones the driver sends.
        _ => {}
    }
    Ok(session)
}

fn from_actix(m: AggregatedMessage) -> WsFrame {
    match m {
        AggregatedMessage::Text(t) => WsFrame::Text(String::from(&*t)),
        AggregatedMessage::Binary(b) => WsFrame::Binary(b.to_vec()),
        AggregatedMessage::Ping(p) => WsFrame::Ping(p.to_vec()),
        AggregatedMessage::Pong(p) => WsFrame::Pong(p.to_vec()),
        AggregatedMessage::Close(c) => {
            WsFrame::Close(c.map(|c| WsClose::new(u16::from(c.code), c.description.unwrap_or_default())))
        }
    }
}

/// The close an `actix-ws` read error calls for.
fn actix_error(e: ProtocolError) -> WsError {
    let message = e.to_string();
    let close = match &e {
        ProtocolError::Overflow => Some(WsClose::new(WsClose::MESSAGE_TOO_BIG, "message too big")),
        ProtocolError::Io(io) if io.kind() == io::ErrorKind::InvalidData => Some(WsClose::new(
            WsClose::INVALID_PAYLOAD,
            "a text frame that is not UTF-8",
        )),
        // actix-ws reports an over-long fragmented message as a plain I/O error.
        ProtocolError::Io(io) if io.to_string().contains("maximum continuation size") => {
            Some(WsClose::new(WsClose::MESSAGE_TOO_BIG, "message too big"))
        }
        ProtocolError::Io(_) => None,
        _ => Some(WsClose::new(WsClose::PROTOCOL_ERROR, "WebSocket protocol error")),
    };
    WsError { close, message }
}
