//! The origin's Socket.IO server, on sansrpc: `ping` answers `pong` on the
//! `message` event at 127.0.0.1:5000 (or the address given), and `/` serves
//! the origin's page, which connects, sends `{"jsonrpc":"2.0","method":"ping","id":1}`
//! with `socket.send(message, ack)` on a click and logs
//! `<-- {"jsonrpc":"2.0","result":"pong","id":1}`.
//!
//! The page's socket.io client is served from the npm package
//! (`web/node_modules/socket.io-client`, installed by `npm ci` in `web/`;
//! `SOCKETIO_CLIENT_JS` names another copy).
//!
//! ```text
//! (cd web && npm ci) && cargo run -p sansrpc-socketio --example socketio_ping
//! # open http://127.0.0.1:5000/ and click Ping
//! ```

use std::convert::Infallible;
use std::future::Ready;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use sansrpc::Router;
use sansrpc_socketio::SocketIoServer;

const PAGE: &str = include_str!("static/index.html");

/// The socket.io client's path in the npm package.
fn client_js() -> std::path::PathBuf {
    std::env::var_os("SOCKETIO_CLIENT_JS")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../web/node_modules/socket.io-client/dist/socket.io.min.js")
        })
}

/// Everything that is not Socket.IO: the page and its script.
#[derive(Clone)]
struct Static;

impl<B> tower_service::Service<http::Request<B>> for Static {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (status, kind, body) = match req.uri().path() {
            "/" | "/index.html" => (
                200,
                "text/html; charset=utf-8",
                Bytes::from_static(PAGE.as_bytes()),
            ),
            "/socket.io.min.js" => match std::fs::read(client_js()) {
                Ok(js) => (200, "text/javascript", Bytes::from(js)),
                Err(e) => (
                    500,
                    "text/plain",
                    Bytes::from(format!("{}: {e} (run `npm ci` in web/)", client_js().display())),
                ),
            },
            _ => (404, "text/plain", Bytes::from_static(b"not found")),
        };
        let mut response = http::Response::new(Full::new(body));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        if let Ok(v) = http::HeaderValue::from_str(kind) {
            response.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        std::future::ready(Ok(response))
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let mut router = Router::new();
    router.method("ping", || "pong").map_err(std::io::Error::other)?;
    let server = SocketIoServer::new(router);
    let (service, _io) = server.service_with(Static);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "Socket.IO JSON-RPC on http://{}/ (page at /)",
        listener.local_addr()?
    );
    let limits = server.router().limits().clone();
    sansrpc_socketio::serve_tower(listener, service, &limits, std::future::pending()).await
}
