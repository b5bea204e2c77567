//! The whole suite over `socketio://` against the Socket.IO adapter
//! serving `sansrpc::reference::router()`, on the default namespace and on
//! another one with its own event name: every MUST and SHOULD case passes
//! (the cases whose bytes are not UTF-8 are skipped by the transport, and
//! those of other transports do not apply).

use std::net::SocketAddr;

use sansrpc_conformance::{Level, Profile, RunOptions, Suite, Verdict};
use sansrpc_socketio::SocketIoServer;

async fn endpoint() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = SocketIoServer::new(sansrpc::reference::router())
        .namespace("/")
        .namespace("/rpc")
        .event("jsonrpc");
    tokio::spawn(server.serve(listener));
    addr
}

async fn check(url: &str) {
    let report = Suite::new(Profile::All)
        .run(url, &RunOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            matches!(r.verdict, Verdict::Fail { .. } | Verdict::Warn { .. }) && r.level != Level::Info
        })
        .map(|r| format!("{} {}: {:?}", r.id, r.level, r.verdict))
        .collect();
    assert!(
        bad.is_empty(),
        "{url}:\n{}\n\n{}",
        bad.join("\n"),
        report.to_text()
    );
    let passed = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    assert!(
        passed >= 90,
        "only {passed} cases passed over {url}:\n{}",
        report.to_text()
    );
    for r in &report.results {
        if let Verdict::Skip { reason } = &r.verdict {
            assert!(
                reason.contains("not UTF-8") || reason.contains("does not apply"),
                "{} skipped: {reason}",
                r.id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_over_socketio() {
    let addr = endpoint().await;
    check(&format!("socketio://{addr}/")).await;
    check(&format!("socketio://{addr}/rpc?event=jsonrpc")).await;
}
