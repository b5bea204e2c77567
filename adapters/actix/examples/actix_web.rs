//! A page that talks JSON-RPC to the server over a WebSocket, both ways:
//! `/` serves `web/index.html`, `/sansrpc.js` the browser client, `/ws` the
//! JSON-RPC endpoint. The server answers `ping` with `"pong"`; when a page
//! connects, the server calls the page's `page.info` and pushes a
//! `server.notice` notification that the page shows.
//!
//! ```text
//! cargo run -p sansrpc-actix --example actix_web [127.0.0.1:5000]
//! ```
//! then open http://127.0.0.1:5000/ in a browser.

use std::net::SocketAddr;

use actix_web::{App, HttpResponse, HttpServer, web};
use sansrpc::Router;
use sansrpc_actix::{Client, WsServer};
use serde_json::{Value, json};

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
    let text =
        format!("hello from sansrpc-actix: the server called page.info and read the title \"{title}\"");
    let _ = page.notify("server.notice", json!({ "text": text })).await;
}

#[actix_web::main]
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
        actix_web::rt::spawn(greet(page));
    });

    let http = HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(INDEX_HTML)
                }),
            )
            .route(
                "/sansrpc.js",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/javascript; charset=utf-8")
                        .body(SANSRPC_JS)
                }),
            )
            .service(sansrpc_actix::websocket("/ws", server.clone()))
    })
    .workers(1)
    // The kernel drops a socket whose output the peer never takes for as
    // long as the router's idle timeout.
    .on_connect(sansrpc_actix::write_deadline(
        sansrpc::Limits::default()
            .idle_timeout
            .unwrap_or(std::time::Duration::from_secs(300)),
    ))
    .bind(addr)?;
    for bound in http.addrs() {
        println!("sansrpc-actix web example on http://{bound}/");
    }
    http.run().await
}
