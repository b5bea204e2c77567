//! WebSocket on tokio: the tokio-tungstenite handshakes for
//! [`sansrpc_io::WsServer`] and [`sansrpc_io::Client::connect_ws`]. The
//! connection driver itself is `sansrpc-io`'s, shared with warp and
//! actix-web.

use std::io;

use futures_util::{SinkExt, StreamExt};
use sansrpc_io::{WsAccept, WsClose, WsConnect, WsError, WsFrame, WsFrames, WsSink};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;

use crate::Tokio;

/// A tungstenite message as a [`WsFrame`] (`None` for a raw frame, which
/// reading never yields).
fn from_tungstenite(message: tungstenite::Message) -> Option<WsFrame> {
    Some(match message {
        tungstenite::Message::Text(t) => WsFrame::Text(t.as_str().to_owned()),
        tungstenite::Message::Binary(b) => WsFrame::Binary(b.to_vec()),
        tungstenite::Message::Ping(p) => WsFrame::Ping(p.to_vec()),
        tungstenite::Message::Pong(p) => WsFrame::Pong(p.to_vec()),
        tungstenite::Message::Close(c) => {
            WsFrame::Close(c.map(|c| WsClose::new(c.code.into(), c.reason.as_str())))
        }
        tungstenite::Message::Frame(_) => return None,
    })
}

/// A [`WsFrame`] as a tungstenite message.
fn to_tungstenite(frame: WsFrame) -> tungstenite::Message {
    match frame {
        WsFrame::Text(t) => tungstenite::Message::text(t),
        WsFrame::Binary(b) => tungstenite::Message::binary(b),
        WsFrame::Ping(p) => tungstenite::Message::Ping(p.into()),
        WsFrame::Pong(p) => tungstenite::Message::Pong(p.into()),
        WsFrame::Close(c) => tungstenite::Message::Close(c.map(|c| CloseFrame {
            code: c.code.into(),
            reason: c.reason.into(),
        })),
        // Frame kinds added later are not ones the driver sends.
        _ => tungstenite::Message::Close(None),
    }
}

/// Splits a tokio-tungstenite socket into the driver's frame stream and
/// sink.
fn parts<IO>(socket: tokio_tungstenite::WebSocketStream<IO>) -> (WsFrames, WsSink)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    let stream = stream.filter_map(|r| {
        std::future::ready(match r {
            Ok(m) => from_tungstenite(m).map(Ok),
            Err(e) => Some(Err(WsError::from_error(&e))),
        })
    });
    let sink = sink
        .sink_map_err(io::Error::other)
        .with(|f: WsFrame| std::future::ready(Ok::<_, io::Error>(to_tungstenite(f))));
    (Box::pin(stream), Box::pin(sink))
}

/// The tokio-tungstenite configuration for a library limit.
fn config(library_limit: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(library_limit))
        .max_frame_size(Some(library_limit))
}

impl<IO> WsAccept<IO> for Tokio
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    async fn upgrade(io: IO, library_limit: usize) -> io::Result<(http::HeaderMap, WsFrames, WsSink)> {
        let mut headers = http::HeaderMap::new();
        // The error type is the one tungstenite's callback signature asks for.
        #[allow(clippy::result_large_err)]
        let callback = |request: &tungstenite::handshake::server::Request,
                        response: tungstenite::handshake::server::Response| {
            headers = request.headers().clone();
            Ok(response)
        };
        let socket =
            tokio_tungstenite::accept_hdr_async_with_config(io, callback, Some(config(library_limit)))
                .await
                .map_err(io::Error::other)?;
        let (stream, sink) = parts(socket);
        Ok((headers, stream, sink))
    }
}

impl WsConnect for Tokio {
    async fn connect_ws(url: &str, library_limit: usize) -> io::Result<(WsFrames, WsSink)> {
        let (socket, _response) =
            tokio_tungstenite::connect_async_with_config(url, Some(config(library_limit)), true)
                .await
                .map_err(|e| match e {
                    tungstenite::Error::Io(e) => e,
                    other => io::Error::other(other),
                })?;
        Ok(parts(socket))
    }
}
