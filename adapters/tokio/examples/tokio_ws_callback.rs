//! A WebSocket server whose handler calls back into the client that
//! called it, and the Rust peer on the other end: the client calls
//! `greet`, the server's `greet` asks the client's `whoami` before it
//! answers. It starts its own server on a free port:
//!
//! ```text
//! cargo run -p sansrpc-tokio --example tokio_ws_callback
//! ```
//!
//! The handler gets the connection's [`Client`] as an extension
//! (`Extension<Client>`): a call on it goes to the peer of *this*
//! connection, and may be awaited inside the handler (the connection
//! keeps reading and answering while it waits).

use sansrpc::{Error, Extension, Router};
use sansrpc_tokio::{Client, ClientBuilder, WsServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut server_side = Router::new();
    server_side.method("greet", |Extension(client): Extension<Client>| async move {
        let name: String = client
            .call("whoami", ())
            .await
            .map_err(|e| Error::internal_error().with_reason(format_args!("asking the caller: {e}")))?;
        Ok::<_, Error>(format!("hello, {name}"))
    })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(WsServer::new(server_side).serve(listener));

    // The client serves a router too: the methods the server may call.
    let mut client_side = Router::new();
    client_side.method("whoami", || "ada")?;
    let peer = ClientBuilder::new()
        .connect_ws_peer(&format!("ws://{addr}/"), client_side)
        .await?;
    let greeting: String = peer.client().call("greet", ()).await?;
    println!("{greeting}");
    peer.client().close();
    peer.closed().await?;
    Ok(())
}
