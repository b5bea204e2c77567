//! The JSON-RPC 1.0 WebSocket service sansrpc grew from, ported: calls in
//! both directions, all in 1.0 form.
//!
//! - `hello(name)` answers `["hi, " + name]` when it is a call, and only
//!   logs it when it is a notification (`"id": null`);
//! - when a page connects, the server notifies it `hi(["the server"])`,
//!   then calls the page's `ask(["what is your name?"])` and waits, without
//!   a deadline, for the page to answer it later (the page defers the
//!   answer until its button is clicked, as the origin's `respond(id, ..)`
//!   does); the answer comes back to the page as `thanks(["got: ..."])`.
//!
//! `/` serves `web/v1.html`, `/sansrpc.js` the browser client (in 1.0
//! mode), `/ws` the JSON-RPC 1.0 endpoint.
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_v1_ws [127.0.0.1:5000]
//! ```
//! then open http://127.0.0.1:5000/ in a browser.

use std::net::SocketAddr;

use sansrpc::{Params, Router, Version};
use sansrpc_warp::{Client, WsServer};
use warp::Filter;

const V1_HTML: &str = include_str!("../../../web/v1.html");
const SANSRPC_JS: &str = include_str!("../../../web/sansrpc.js");

/// The origin's `hello`: answered only when it is a call.
fn hello(Params((name,)): Params<(String,)>) -> Vec<String> {
    println!("got hello from {name}");
    vec![format!("hi, {name}")]
}

/// On connect: the origin's `hi` notification, then a call the page
/// answers whenever it likes.
async fn greet(page: Client) {
    if let Err(e) = page.notify("hi", ["the server"]).await {
        println!("notify hi failed: {e}");
        return;
    }
    let page = page.with_timeout(None);
    match page.call::<Vec<String>>("ask", ["what is your name?"]).await {
        Ok(answer) => {
            println!("the page answered ask: {answer:?}");
            let text = format!("got: {}", answer.join(" "));
            let _ = page.notify("thanks", [text]).await;
        }
        Err(e) => println!("ask failed: {e}"),
    }
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
        .method("hello", hello)
        .expect("`hello` is a valid, new name");
    // Every connection of this router, both directions, speaks 1.0.
    router.set_version(Version::V1);
    let server = WsServer::new(router).on_connect(|ctx, page| {
        println!("connected: {:?}", ctx.peer_addr());
        tokio::spawn(greet(page));
    });

    let index = warp::path::end()
        .and(warp::get())
        .map(|| warp::reply::html(V1_HTML));
    let js = warp::path("sansrpc.js")
        .and(warp::path::end())
        .and(warp::get())
        .map(|| warp::reply::with_header(SANSRPC_JS, "content-type", "text/javascript; charset=utf-8"));
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(sansrpc_warp::websocket(server));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "sansrpc-warp JSON-RPC 1.0 example on http://{}/",
        listener.local_addr()?
    );
    warp::serve(index.or(js).or(ws)).incoming(listener).run().await;
    Ok(())
}
