//! A JSON-RPC endpoint mounted at `/rpc` beside an ordinary `GET /health`
//! route of the application, on one port (127.0.0.1:5000, or the address
//! given on the command line).
//!
//! ```text
//! cargo run -p sansrpc-actix --example actix_mount
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad address {arg:?}: {e}"),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 5000)),
    };
    let router = Arc::new(sansrpc::reference::router());
    let server = HttpServer::new(move || {
        App::new()
            .service(sansrpc_actix::endpoint("/rpc", router.clone()))
            .route("/health", web::get().to(|| async { "ok" }))
    })
    .bind(addr)?;
    let addr = server.addrs()[0];
    println!("sansrpc-actix: JSON-RPC 2.0 on http://{addr}/rpc, health on http://{addr}/health");
    println!(
        r#"try: curl -s http://{addr}/rpc -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"ping","id":1}}'"#
    );
    println!("     curl -s http://{addr}/health");
    server.run().await
}
