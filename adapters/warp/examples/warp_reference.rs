//! Serves `sansrpc::reference::router()` — the methods of the JSON-RPC 2.0
//! specification's examples — at `/`, on the address given on the command
//! line (default 127.0.0.1:5000).
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_reference -- 127.0.0.1:5000
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
    let routes = warp::path::end().and(sansrpc_warp::filter(sansrpc::reference::router()));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("sansrpc-warp: reference methods on http://{addr}/");
    println!(
        r#"try: curl -s http://{addr}/ -H 'Content-Type: application/json' -d '{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}}'"#
    );
    warp::serve(routes).incoming(listener).run().await;
    Ok(())
}
