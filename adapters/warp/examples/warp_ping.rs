//! The classic first program: a JSON-RPC server on 127.0.0.1:5000 that
//! answers `ping` with `"pong"`, over HTTP at `/`.
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_ping
//! RUST_LOG=sansrpc::wire=debug cargo run -p sansrpc-warp --example warp_ping     # logs every message: --> sent, <-- received
//! ```

use sansrpc::Router;
use warp::Filter;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // The wire log (target `sansrpc::wire`), and anything else RUST_LOG enables.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut router = Router::new();
    router
        .method("ping", || "pong")
        .expect("`ping` is a valid, new name");
    let routes = warp::path::end().and(sansrpc_warp::filter(router));

    let addr = "127.0.0.1:5000";
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("sansrpc-warp: JSON-RPC 2.0 on http://{addr}/");
    println!(
        r#"try: curl -s http://{addr}/ -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"ping","id":1}}'"#
    );
    warp::serve(routes).incoming(listener).run().await;
    Ok(())
}
