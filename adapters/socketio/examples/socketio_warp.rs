//! Socket.IO beside warp routes on one port: warp serves the page at `/`
//! and `GET /health`; `/socket.io/` is sansrpc over Socket.IO, in front of
//! the warp service (socketioxide's layer over `warp::service`).
//!
//! ```text
//! (cd web && npm ci) && cargo run -p sansrpc-socketio --example socketio_warp -- 127.0.0.1:5000
//! curl http://127.0.0.1:5000/health                 # ok
//! # open http://127.0.0.1:5000/ and click Ping
//! ```

use sansrpc::Router;
use sansrpc_socketio::SocketIoServer;
use tower_layer::Layer;
use warp::Filter;

const PAGE: &str = include_str!("static/index.html");

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let mut router = Router::new();
    router.method("ping", || "pong").map_err(std::io::Error::other)?;
    let server = SocketIoServer::new(router);

    let js_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../web/node_modules/socket.io-client/dist/socket.io.min.js");
    let page = warp::path::end().map(|| warp::reply::html(PAGE));
    let health = warp::path("health").and(warp::path::end()).map(|| "ok");
    let js = warp::path("socket.io.min.js").and(warp::fs::file(js_path));
    let routes = warp::get().and(page.or(health).or(js));

    let (layer, _io) = server.layer();
    let service = layer.layer(warp::service(routes));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("warp routes and Socket.IO on http://{}/", listener.local_addr()?);
    let limits = server.router().limits().clone();
    sansrpc_socketio::serve_tower(listener, service, &limits, std::future::pending()).await
}
