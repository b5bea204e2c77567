//! Serves the specification's example methods (`sansrpc::reference`) at the
//! address given on the command line (default 127.0.0.1:5000), for the
//! conformance suite and for trying things by hand.
//!
//! ```text
//! cargo run -p sansrpc-smol --example smol_reference -- 127.0.0.1:5000
//! echo '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}' | nc 127.0.0.1 5000
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(&addr).await?;
        println!("serving the reference methods on {}", listener.local_addr()?);
        sansrpc_smol::serve(listener, sansrpc::reference::router()).await?;
        Ok(())
    })
}
