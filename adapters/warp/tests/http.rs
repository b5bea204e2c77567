//! The shared HTTP suite (`sansrpc_testkit::http`, the very same checks
//! `sansrpc-actix` runs) against `sansrpc-warp`, over real sockets on
//! 127.0.0.1.

use sansrpc_testkit::http as support;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use warp::Filter;

/// One server for every test of this binary, started on first use.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let reference = Arc::new(sansrpc::reference::router());
                let root = warp::path::end().and(sansrpc_warp::filter(support::main_router()));
                let small = warp::path!("small").and(sansrpc_warp::filter(support::small_router()));
                let rpc = warp::path!("rpc").and(sansrpc_warp::filter(reference));
                let health = warp::path!("health").and(warp::get()).map(|| "ok");
                // JSONP: `/api/<method>` reaches the filter, which takes the rest of the path.
                let api = warp::path("api").and(sansrpc_warp::filter_with(
                    support::api_router(),
                    support::api_options(),
                ));
                let open = warp::path("open").and(sansrpc_warp::filter_with(
                    support::open_router(),
                    support::open_options(),
                ));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                warp::serve(root.or(small).or(rpc).or(health).or(api).or(open))
                    .incoming(listener)
                    .run()
                    .await;
            });
        });
        rx.recv_timeout(Duration::from_secs(30)).unwrap()
    })
}

sansrpc_testkit::http_suite!(server);
