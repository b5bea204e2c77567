//! The classic first program: a JSON-RPC server answering `ping` with
//! `"pong"` on 127.0.0.1:5000.
//!
//! ```text
//! cargo run -p sansrpc-tokio --example tokio_ping
//! RUST_LOG=sansrpc::wire=debug cargo run -p sansrpc-tokio --example tokio_ping     # logs every message: --> sent, <-- received
//! echo '{"jsonrpc":"2.0","method":"ping","id":1}' | nc 127.0.0.1 5000
//! ```

use sansrpc::Router;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The wire log (target `sansrpc::wire`), and anything else RUST_LOG enables.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut router = Router::new();
    router.method("ping", || "pong")?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr} (newline-delimited JSON-RPC 2.0); try:");
    println!(
        "  echo '{{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}}' | nc {} {}",
        addr.ip(),
        addr.port()
    );
    sansrpc_tokio::serve_with_shutdown(listener, router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
