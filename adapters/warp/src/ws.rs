//! The WebSocket endpoint: warp's own `ws` upgrade, driven by the one
//! connection driver of [`sansrpc_tokio::WsServer`].

use std::future::ready;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use http::HeaderMap;
use sansrpc::{Context, Transport};
use sansrpc_tokio::{WsClose, WsError, WsFrame, WsServer};
use warp::ws::{Message, Ws};
use warp::{Filter, Rejection, Reply};

/// A warp filter that upgrades a `GET` with the WebSocket handshake and
/// serves JSON-RPC on the socket with `server`: one message (or batch) per
/// text frame, calls in both directions, and everything else
/// [`WsServer`] documents (hooks, pings, the limits, `1003` for binary
/// frames).
///
/// Mount it behind path filters; requests that are not WebSocket upgrades
/// are rejected, so `.or(..)` passes them to the application's other
/// routes. warp's own message limit is set to
/// [`WsServer::library_limit`].
///
/// ```
/// use sansrpc_tokio::WsServer;
/// use warp::Filter;
///
/// let mut router = sansrpc::Router::new();
/// router.method("ping", || "pong").unwrap();
/// let server = WsServer::new(router).on_connect(|_ctx, client| {
///     tokio::spawn(async move {
///         let _ = client.notify("server.notice", serde_json::json!({"text": "hello"})).await;
///     });
/// });
/// let routes = warp::path("ws").and(warp::path::end()).and(sansrpc_warp::websocket(server));
/// # drop(routes);
/// ```
pub fn websocket<S>(
    server: WsServer<S>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone + Send + Sync + 'static
where
    S: Clone + Send + Sync + 'static,
{
    warp::ws()
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .map(move |ws: Ws, headers: HeaderMap, peer: Option<SocketAddr>| {
            // tungstenite (under warp) answers pings itself.
            let server = server.clone().library_answers_pings(true);
            let limit = server.library_limit();
            ws.max_message_size(limit)
                .max_frame_size(limit)
                .on_upgrade(move |socket| async move {
                    let (sink, stream) = socket.split();
                    let stream = stream.map(|r| match r {
                        Ok(m) => Ok(from_warp(m)),
                        Err(e) => Err(WsError::from_error(&e)),
                    });
                    let sink = sink.with(|f| ready(Ok::<_, warp::Error>(to_warp(f))));
                    let mut context = Context::builder(Transport::WebSocket).headers(headers);
                    if let Some(addr) = peer {
                        context = context.peer_addr(addr);
                    }
                    // The driver logs why a connection broke; nothing is left to do here.
                    let _ = server.serve_socket(stream, sink, context).await;
                })
        })
}

fn from_warp(m: Message) -> WsFrame {
    if m.is_text() {
        // warp checked the UTF-8 already; `to_str` cannot fail on a text frame.
        WsFrame::Text(m.to_str().map(str::to_owned).unwrap_or_default())
    } else if m.is_ping() {
        WsFrame::Ping(m.into_bytes().to_vec())
    } else if m.is_pong() {
        WsFrame::Pong(m.into_bytes().to_vec())
    } else if m.is_close() {
        WsFrame::Close(m.close_frame().map(|(code, reason)| WsClose::new(code, reason)))
    } else {
        WsFrame::Binary(m.into_bytes().to_vec())
    }
}

fn to_warp(f: WsFrame) -> Message {
    match f {
        WsFrame::Text(t) => Message::text(t),
        WsFrame::Binary(b) => Message::binary(b),
        WsFrame::Ping(p) => Message::ping(p),
        WsFrame::Pong(p) => Message::pong(p),
        WsFrame::Close(Some(c)) => Message::close_with(c.code, c.reason),
        // `Close(None)`, and any frame kind added later (not one the driver sends).
        _ => Message::close(),
    }
}
