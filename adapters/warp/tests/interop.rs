//! Clients nobody here wrote against warp servers: Python's
//! `jsonrpcclient` 4 over `requests` (`interop/http_client.py`) against the
//! reference server, and `requests` decoding a gzip answer
//! (`interop/http_gzip_client.py`).

use sansrpc_testkit::http as support;

use std::sync::mpsc;
use std::time::Duration;

use warp::Filter;

#[test]
fn python_jsonrpcclient_calls_the_reference_server() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let routes = warp::path::end().and(sansrpc_warp::filter(sansrpc::reference::router()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            warp::serve(routes).incoming(listener).run().await;
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    support::run_python_client(&format!("http://{addr}/"));
}

#[test]
fn python_requests_decodes_a_gzip_answer() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let routes = warp::path("api").and(sansrpc_warp::filter_with(
                support::api_router(),
                support::api_options(),
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            warp::serve(routes).incoming(listener).run().await;
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    support::run_python_gzip_client(&format!("http://{addr}/api"));
}
