//! A JSON-RPC endpoint mounted at `/rpc` beside an ordinary `GET /health`
//! route of the application, on one port (127.0.0.1:5000, or the address
//! given on the command line).
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_mount
//! ```

use std::net::SocketAddr;

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
    // `path!` ends the path, so `/rpc/x` is not the endpoint. The filter
    // answers every method itself: `GET /rpc` is a 405, not a 404.
    let rpc = warp::path!("rpc").and(sansrpc_warp::filter(sansrpc::reference::router()));
    let health = warp::path!("health").and(warp::get()).map(|| "ok");

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("sansrpc-warp: JSON-RPC 2.0 on http://{addr}/rpc, health on http://{addr}/health");
    println!(
        r#"try: curl -s http://{addr}/rpc -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"ping","id":1}}'"#
    );
    println!("     curl -s http://{addr}/health");
    warp::serve(rpc.or(health)).incoming(listener).run().await;
    Ok(())
}
