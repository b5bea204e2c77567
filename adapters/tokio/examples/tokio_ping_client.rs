//! Calls `ping` on the README's TCP ping server and prints the traffic,
//! like the `jsonrpcclient` tutorial:
//!
//! ```text
//! cargo run -p sansrpc-tokio --example tokio_ping           # terminal 1: the ping server on :5000
//! cargo run -p sansrpc-tokio --example tokio_ping_client    # terminal 2
//! --> {"jsonrpc":"2.0","method":"ping","id":1}
//! <-- {"jsonrpc":"2.0","result":"pong","id":1}
//! pong
//! ```
//!
//! The address is the first argument (default `127.0.0.1:5000`). The wire
//! log is the `sansrpc::wire` target at `debug`, on here unless `RUST_LOG`
//! says otherwise (`RUST_LOG=off` hides it).

use sansrpc_tokio::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "sansrpc::wire=debug".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .init();

    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let client = Client::connect(addr.as_str()).await?;
    let pong: String = client.call("ping", ()).await?;
    println!("{pong}");
    Ok(())
}
