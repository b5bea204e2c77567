//! Serves `sansrpc::reference::router()` — the methods of the JSON-RPC 2.0
//! specification's examples — at `/`, on the address given on the command
//! line (default 127.0.0.1:5000).
//!
//! ```text
//! cargo run -p sansrpc-actix --example actix_reference -- 127.0.0.1:5000
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer};

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
    let server = HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
        .bind(addr)?;
    let addr = server.addrs()[0];
    println!("sansrpc-actix: reference methods on http://{addr}/");
    println!(
        r#"try: curl -s http://{addr}/ -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}}'"#
    );
    server.run().await
}
