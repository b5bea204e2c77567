//! Call statistics three ways: a JSON-RPC endpoint at `/rpc` measured by
//! `sansrpc::Stats`, the ready `stats` method on it, and Prometheus text
//! at `GET /metrics` (127.0.0.1:5000, or the address given on the command
//! line).
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_metrics
//! curl -s http://127.0.0.1:5000/rpc -H 'Content-Type: application/json' \
//!      -d '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}'
//! curl -s http://127.0.0.1:5000/rpc -H 'Content-Type: application/json' \
//!      -d '{"jsonrpc":"2.0","method":"stats","id":2}'
//! curl -s http://127.0.0.1:5000/metrics
//! ```
//!
//! A Prometheus scrape configuration needs only the address:
//! `static_configs: [{ targets: ["127.0.0.1:5000"] }]` (the path
//! `/metrics` is its default).

use std::net::SocketAddr;

use sansrpc::Stats;
use warp::Filter;

#[tokio::main]
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
    let stats = Stats::new();
    let mut router = sansrpc::reference::router();
    router
        .method("stats", stats.handler())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    router.hook(stats.clone());

    let rpc = warp::path!("rpc").and(sansrpc_warp::filter(router));
    let metrics = warp::path!("metrics").and(warp::get()).map(move || {
        warp::reply::with_header(
            stats.prometheus(),
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )
    });

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("sansrpc-warp: JSON-RPC 2.0 on http://{addr}/rpc, Prometheus metrics on http://{addr}/metrics");
    warp::serve(metrics.or(rpc)).incoming(listener).run().await;
    Ok(())
}
