//! Calls `ping` on an HTTP JSON-RPC server and prints the traffic, like
//! the `jsonrpcclient` tutorial:
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_ping                   # terminal 1: HTTP ping server on :5000
//! cargo run -p sansrpc-http-client --example http_ping_client     # terminal 2
//! --> {"jsonrpc":"2.0","method":"ping","id":1}
//! <-- {"jsonrpc":"2.0","result":"pong","id":1} (200 OK)
//! pong
//! ```
//!
//! The URL is the first argument (default `http://127.0.0.1:5000/`). The
//! wire log is the `sansrpc::wire` target at `debug`, on here unless
//! `RUST_LOG` says otherwise (`RUST_LOG=off` hides it).
//! This is the blocking client in a plain `fn main`; the async one
//! (`sansrpc_http_client::Client`) has the same methods.

use sansrpc_http_client::blocking::Client;

fn main() -> std::process::ExitCode {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "sansrpc::wire=debug".to_owned());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .init();

    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:5000/".to_owned());
    let pong = Client::new(url).and_then(|client| client.call::<String>("ping", ()));
    match pong {
        Ok(pong) => {
            println!("{pong}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
