//! Serves the specification's example methods (`sansrpc::reference`) at the
//! address given on the command line (default 127.0.0.1:5000), or with
//! `--stdio` on its own stdin and stdout (one connection, newline-delimited,
//! ending when stdin does), for the conformance suite and for trying things
//! by hand.
//!
//! ```text
//! cargo run -p sansrpc-tokio --example tokio_reference -- 127.0.0.1:5000
//! echo '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}' | nc 127.0.0.1 5000
//! echo '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}' | cargo run -q -p sansrpc-tokio --example tokio_reference -- --stdio
//! cargo build -p sansrpc-tokio --example tokio_reference
//! cargo run -p sansrpc-conformance -- 'stdio:target/debug/examples/tokio_reference --stdio' --profile all
//! ```

use sansrpc::{Context, Transport};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--stdio") {
        // stdout carries the protocol: nothing else may be printed there.
        let stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        let context = Context::builder(Transport::Stream).build();
        sansrpc_tokio::serve_connection(stdio, sansrpc::reference::router(), context).await?;
        return Ok(());
    }
    let addr = arg.unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("serving the reference methods on {}", listener.local_addr()?);
    sansrpc_tokio::serve_with_shutdown(listener, sansrpc::reference::router(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
