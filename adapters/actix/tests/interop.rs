//! Clients nobody here wrote against actix servers: Python's
//! `jsonrpcclient` 4 over `requests` (`interop/http_client.py`) against the
//! reference server, and `requests` decoding a gzip answer
//! (`interop/http_gzip_client.py`).

use sansrpc_testkit::http as support;

use std::sync::mpsc;
use std::time::Duration;

use actix_web::{App, HttpServer};

#[test]
fn python_jsonrpcclient_calls_the_reference_server() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let router = std::sync::Arc::new(sansrpc::reference::router());
            let server =
                HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
                    .workers(1)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    support::run_python_client(&format!("http://{addr}/"));
}

#[test]
fn python_requests_decodes_a_gzip_answer() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let router = std::sync::Arc::new(support::api_router());
            let server = HttpServer::new(move || {
                App::new().service(sansrpc_actix::endpoint_with(
                    "/api",
                    router.clone(),
                    support::api_options(),
                ))
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    support::run_python_gzip_client(&format!("http://{addr}/api"));
}
