//! The whole suite over `ws://` against the WebSocket endpoints of the
//! tokio, warp and actix-web adapters, each serving
//! `sansrpc::reference::router()`: every MUST and SHOULD case passes (a
//! case that cannot apply to WebSocket is skipped by the transport, with
//! its reason in the report).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use sansrpc_conformance::{Profile, RunOptions, Suite, Verdict};
use sansrpc_tokio::WsServer;
use warp::Filter;

fn server() -> WsServer {
    WsServer::new(sansrpc::reference::router())
}

async fn tokio_endpoint() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server().serve(listener));
    addr
}

async fn warp_endpoint() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(sansrpc_warp::websocket(server()));
    tokio::spawn(warp::serve(ws).incoming(listener).run());
    addr
}

fn actix_endpoint() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let ws = server();
            let http = actix_web::HttpServer::new(move || {
                actix_web::App::new().service(sansrpc_actix::websocket("/ws", ws.clone()))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(http.addrs()[0]).unwrap();
            http.run().await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

async fn check(name: &str, url: &str) {
    let report = Suite::new(Profile::All)
        .run(url, &RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            matches!(r.verdict, Verdict::Fail { .. } | Verdict::Warn { .. })
                && r.level != sansrpc_conformance::Level::Info
        })
        .map(|r| format!("{} {}: {:?}", r.id, r.level, r.verdict))
        .collect();
    assert!(
        bad.is_empty(),
        "{name} over {url}:\n{}\n\n{}",
        bad.join("\n"),
        report.to_text()
    );
    let skipped: Vec<&str> = report
        .results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Skip { .. }))
        .map(|r| r.id)
        .collect();
    assert!(
        skipped.iter().all(|id| !id.starts_with("ws/")),
        "{name}: ws cases skipped: {skipped:?}"
    );
    assert!(
        report
            .results
            .iter()
            .any(|r| r.id == "ws/binary-frame" && r.verdict == Verdict::Pass)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_over_websocket_on_tokio_warp_and_actix() {
    let tokio_addr = tokio_endpoint().await;
    check("tokio", &format!("ws://{tokio_addr}/")).await;
    let warp_addr = warp_endpoint().await;
    check("warp", &format!("ws://{warp_addr}/ws")).await;
    let actix_addr = actix_endpoint();
    check("actix", &format!("ws://{actix_addr}/ws")).await;
}
