//! A page that talks JSON-RPC to the server over a WebSocket, both ways:
//! `/` serves `web/index.html`, `/sansrpc.js` the browser client, `/ws` the
//! JSON-RPC endpoint. The server answers `ping` with `"pong"`; when a page
//! connects, the server calls the page's `page.info` and pushes a
//! `server.notice` notification that the page shows.
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_web [127.0.0.1:5000]
//! ```
//! then open http://127.0.0.1:5000/ in a browser.

use std::net::SocketAddr;

use sansrpc::Router;
use sansrpc_warp::{Client, WsServer};
use serde_json::{Value, json};
use warp::Filter;

const INDEX_HTML: &str = include_str!("../../../web/index.html");
const SANSRPC_JS: &str = include_str!("../../../web/sansrpc.js");

/// On connect: ask the page who it is, then tell it we know.
async fn greet(page: Client) {
    let title = match page.call::<Value>("page.info", ()).await {
        Ok(info) => {
            println!("page.info -> {info}");
            info["title"].as_str().unwrap_or("?").to_owned()
        }
        Err(e) => format!("(page.info failed: {e})"),
    };
    let text = format!("hello from sansrpc-warp: the server called page.info and read the title \"{title}\"");
    let _ = page.notify("server.notice", json!({ "text": text })).await;
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;

    let mut router = Router::new();
    router
        .method("ping", || "pong")
        .expect("`ping` is a valid, new name");
    let server = WsServer::new(router).on_connect(|ctx, page| {
        println!("connected: {:?}", ctx.peer_addr());
        tokio::spawn(greet(page));
    });

    let index = warp::path::end()
        .and(warp::get())
        .map(|| warp::reply::html(INDEX_HTML));
    let js = warp::path("sansrpc.js")
        .and(warp::path::end())
        .and(warp::get())
        .map(|| warp::reply::with_header(SANSRPC_JS, "content-type", "text/javascript; charset=utf-8"));
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(sansrpc_warp::websocket(server));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("sansrpc-warp web example on http://{}/", listener.local_addr()?);
    warp::serve(index.or(js).or(ws)).incoming(listener).run().await;
    Ok(())
}
