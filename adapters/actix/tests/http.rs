//! The shared HTTP suite (`sansrpc_testkit::http`) against `sansrpc-actix`, over
//! real sockets on 127.0.0.1.

use sansrpc_testkit::http as support;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use actix_web::{App, HttpServer, web};

/// One server for every test of this binary, started on first use.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let main = Arc::new(support::main_router());
                let small = Arc::new(support::small_router());
                let reference = Arc::new(sansrpc::reference::router());
                let api = Arc::new(support::api_router());
                let open = Arc::new(support::open_router());
                let server = HttpServer::new(move || {
                    App::new()
                        .service(sansrpc_actix::endpoint_with(
                            "/api",
                            api.clone(),
                            support::api_options(),
                        ))
                        .service(sansrpc_actix::endpoint_with(
                            "/open",
                            open.clone(),
                            support::open_options(),
                        ))
                        .service(sansrpc_actix::endpoint("/", main.clone()))
                        .service(sansrpc_actix::endpoint("/small", small.clone()))
                        .service(sansrpc_actix::endpoint("/rpc", reference.clone()))
                        .route("/health", web::get().to(|| async { "ok" }))
                })
                .workers(2)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            });
        });
        rx.recv_timeout(Duration::from_secs(30)).unwrap()
    })
}

sansrpc_testkit::http_suite!(server);
