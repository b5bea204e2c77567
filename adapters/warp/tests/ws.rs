//! The shared WebSocket suite (`sansrpc-tokio`'s `tests/ws_common`) against
//! `sansrpc-warp`'s endpoint, over real sockets on 127.0.0.1.

use sansrpc_testkit::ws as ws_common;

use warp::Filter;

#[tokio::test]
async fn the_shared_websocket_suite_passes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let health = warp::path("health").map(|| "ok");
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(sansrpc_warp::websocket(ws_common::server()));
    tokio::spawn(warp::serve(ws.or(health)).incoming(listener).run());
    ws_common::suite(&ws_common::url(addr, "/ws")).await;
}
