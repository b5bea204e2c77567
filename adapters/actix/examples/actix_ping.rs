//! The classic first program: a JSON-RPC server on 127.0.0.1:5000 that
//! answers `ping` with `"pong"`, over HTTP at `/`.
//!
//! ```text
//! cargo run -p sansrpc-actix --example actix_ping
//! RUST_LOG=sansrpc::wire=debug cargo run -p sansrpc-actix --example actix_ping     # logs every message: --> sent, <-- received
//! ```

use std::sync::Arc;

use actix_web::{App, HttpServer};
use sansrpc::Router;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // The wire log (target `sansrpc::wire`), and anything else RUST_LOG enables.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut router = Router::new();
    router
        .method("ping", || "pong")
        .expect("`ping` is a valid, new name");
    let router = Arc::new(router);

    let addr = "127.0.0.1:5000";
    let server = HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
        .bind(addr)?;
    println!("sansrpc-actix: JSON-RPC 2.0 on http://{addr}/");
    println!(
        r#"try: curl -s http://{addr}/ -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"ping","id":1}}'"#
    );
    server.run().await
}
