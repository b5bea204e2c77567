//! The shared WebSocket suite (`sansrpc-tokio`'s `tests/ws_common`) against
//! `sansrpc-actix`'s endpoint, over real sockets on 127.0.0.1.

use sansrpc_testkit::ws as ws_common;

use std::sync::mpsc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};

#[tokio::test]
async fn the_shared_websocket_suite_passes() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = ws_common::server();
            let http = HttpServer::new(move || {
                App::new()
                    .service(sansrpc_actix::websocket("/ws", server.clone()))
                    .route("/health", web::get().to(|| async { "ok" }))
            })
            .workers(2)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(http.addrs()[0]).unwrap();
            http.run().await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    ws_common::suite(&ws_common::url(addr, "/ws")).await;
}
