//! sansrpc-tokio over WebSocket on 127.0.0.1: calls in both directions on
//! one connection, no deadlock when both sides call at once, nothing lost
//! under load, the hooks, binary frames, oversized messages, ping and idle.

use sansrpc_testkit::ws as ws_common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt, future::join_all};
use sansrpc::{BatchEntry, ConnectionState, Extension, Limits, Params, RawParams, Router};
use sansrpc_tokio::{Client, ClientBuilder, WsServer};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Every test ends within this, whatever happens (a deadlock fails the test
/// instead of hanging it).
const BOUND: Duration = Duration::from_secs(30);

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, test).await.expect("test timed out")
}

async fn start<S: Clone + Send + Sync + 'static>(server: WsServer<S>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve(listener));
    addr
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

fn internal(e: impl std::fmt::Display) -> sansrpc::Error {
    sansrpc::Error::internal_error().with_reason(e)
}

#[tokio::test]
async fn the_server_calls_the_client_and_gets_the_answer() {
    bounded(async {
        let mut on_server = Router::new();
        on_server
            .method("ask_page", |Extension(client): Extension<Client>| async move {
                client.call::<String>("page.title", ()).await.map_err(internal)
            })
            .unwrap()
            .method("ask_via_state", |state: ConnectionState| async move {
                let client: Client = state.get().expect("the client in the connection state");
                client.call::<i64>("page.add", [2, 3]).await.map_err(internal)
            })
            .unwrap();
        let addr = start(WsServer::new(on_server)).await;

        let mut on_client = Router::new();
        on_client
            .method("page.title", || "the page")
            .unwrap()
            .method("page.add", |Params((a, b)): Params<(i64, i64)>| a + b)
            .unwrap();
        let peer = ClientBuilder::new()
            .connect_ws_peer(&url(addr), on_client)
            .await
            .unwrap();
        assert_eq!(peer.call::<String>("ask_page", ()).await.unwrap(), "the page");
        assert_eq!(peer.call::<i64>("ask_via_state", ()).await.unwrap(), 5);
        peer.close();
        peer.closed().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn calls_in_both_directions_at_the_same_moment_do_not_deadlock() {
    bounded(async {
        // `relay` (server) calls the client's `bounce`, which calls the
        // server's `ping` before answering: each side awaits the other while
        // the other is calling it.
        let mut on_server = Router::new();
        on_server
            .method("ping", || "pong")
            .unwrap()
            .method(
                "relay",
                |Extension(client): Extension<Client>, Params((n,)): Params<(u64,)>| async move {
                    client.call::<u64>("bounce", [n]).await.map_err(internal)
                },
            )
            .unwrap();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Client>();
        let ready_tx = std::sync::Mutex::new(Some(ready_tx));
        let server = WsServer::new(on_server).on_connect(move |_, client| {
            if let Some(tx) = ready_tx.lock().unwrap().take() {
                let _ = tx.send(client);
            }
        });
        let addr = start(server).await;

        let mut on_client = Router::new();
        on_client
            .method(
                "bounce",
                |Extension(server): Extension<Client>, Params((n,)): Params<(u64,)>| async move {
                    let pong: String = server.call("ping", ()).await.map_err(internal)?;
                    assert_eq!(pong, "pong");
                    Ok::<_, sansrpc::Error>(n * 2)
                },
            )
            .unwrap()
            .method("echo", |Params((n,)): Params<(u64,)>| n)
            .unwrap();
        let peer = ClientBuilder::new()
            .connect_ws_peer(&url(addr), on_client)
            .await
            .unwrap();
        let to_client = ready_rx.await.unwrap();

        // 50 relays from the client (each one a nested call back) and 50
        // plain calls from the server, all started together; every side
        // stays under its 128 calls in flight.
        let client_side = join_all((0..50u64).map(|n| {
            let peer = peer.client().clone();
            async move { peer.call::<u64>("relay", [n]).await.unwrap() }
        }));
        let server_side = join_all((0..50u64).map(|n| {
            let c = to_client.clone();
            async move { c.call::<u64>("echo", [n]).await.unwrap() }
        }));
        let (relayed, echoed) = tokio::join!(client_side, server_side);
        assert_eq!(relayed, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(echoed, (0..50).collect::<Vec<_>>());
        peer.close();
    })
    .await;
}

#[tokio::test]
async fn a_thousand_messages_each_way_none_lost() {
    bounded(async {
        const N: u64 = 1000;
        let seen_by_server = Arc::new(AtomicUsize::new(0));
        let seen = seen_by_server.clone();
        let mut on_server = Router::new();
        on_server
            .method("double", |Params((n,)): Params<(u64,)>| n * 2)
            .unwrap()
            .method("tick", move || {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Client>();
        let ready_tx = std::sync::Mutex::new(Some(ready_tx));
        let addr = start(WsServer::new(on_server).on_connect(move |_, client| {
            if let Some(tx) = ready_tx.lock().unwrap().take() {
                let _ = tx.send(client);
            }
        }))
        .await;

        let seen_by_client = Arc::new(AtomicUsize::new(0));
        let seen = seen_by_client.clone();
        let mut on_client = Router::new();
        on_client
            .method("triple", |Params((n,)): Params<(u64,)>| n * 3)
            .unwrap()
            .method("tock", move || {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let peer = ClientBuilder::new()
            .connect_ws_peer(&url(addr), on_client)
            .await
            .unwrap();
        let to_client = ready_rx.await.unwrap();

        // Calls in waves under the in-flight limit, notifications all at once.
        let client_calls = async {
            let mut sum = 0;
            for wave in 0..(N / 100) {
                let answers = join_all((0..100).map(|i| peer.call::<u64>("double", [wave * 100 + i]))).await;
                sum += answers.into_iter().map(Result::unwrap).sum::<u64>();
            }
            for _ in 0..N {
                peer.notify("tick", ()).await.unwrap();
            }
            sum
        };
        let server_calls = async {
            let mut sum = 0;
            for wave in 0..(N / 100) {
                let answers =
                    join_all((0..100).map(|i| to_client.call::<u64>("triple", [wave * 100 + i]))).await;
                sum += answers.into_iter().map(Result::unwrap).sum::<u64>();
            }
            for _ in 0..N {
                to_client.notify("tock", ()).await.unwrap();
            }
            sum
        };
        let (doubled, tripled) = tokio::join!(client_calls, server_calls);
        let total: u64 = (0..N).sum();
        assert_eq!(doubled, 2 * total);
        assert_eq!(tripled, 3 * total);
        // Notifications are not answered: a final round trip each way proves
        // the earlier ones were read, then wait for their handlers.
        assert_eq!(peer.call::<u64>("double", [1]).await.unwrap(), 2);
        assert_eq!(to_client.call::<u64>("triple", [1]).await.unwrap(), 3);
        while seen_by_server.load(Ordering::SeqCst) < N as usize
            || seen_by_client.load(Ordering::SeqCst) < N as usize
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(seen_by_server.load(Ordering::SeqCst), N as usize);
        assert_eq!(seen_by_client.load(Ordering::SeqCst), N as usize);
        peer.close();
    })
    .await;
}

#[tokio::test]
async fn a_plain_client_calls_notifies_and_batches() {
    bounded(async {
        let addr = start(WsServer::new(sansrpc::reference::router())).await;
        let client = Client::connect_ws(&url(addr)).await.unwrap();
        assert_eq!(client.call::<i64>("subtract", [42, 23]).await.unwrap(), 19);
        client.notify("update", [1, 2, 3]).await.unwrap();
        let answers = client
            .batch([
                BatchEntry::call("sum", RawParams::from_json("[1,2,4]").unwrap()),
                BatchEntry::notification("notify_hello", RawParams::from_json("[7]").unwrap()),
                BatchEntry::call("subtract", RawParams::from_json("[42,23]").unwrap()),
            ])
            .await
            .unwrap();
        assert_eq!(answers.len(), 3);
        assert!(answers[1].is_none());
        assert_eq!(answers[0].as_ref().unwrap().as_ref().unwrap().get(), "7");
        assert_eq!(answers[2].as_ref().unwrap().as_ref().unwrap().get(), "19");
    })
    .await;
}

#[tokio::test]
async fn the_hooks_run_on_connect_and_on_close() {
    bounded(async {
        let opened = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (o, c) = (opened.clone(), closed.clone());
        let mut router = Router::new();
        router.method("ping", || "pong").unwrap();
        let server = WsServer::new(router)
            .on_connect(move |ctx, client| {
                assert_eq!(ctx.transport(), sansrpc::Transport::WebSocket);
                assert!(ctx.peer_addr().is_some());
                o.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = client
                        .notify("server.notice", serde_json::json!({"text": "hi"}))
                        .await;
                });
            })
            .on_close(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            });
        let addr = start(server).await;

        // A raw client sees the notice pushed on connect.
        let (mut ws, _) = tokio_tungstenite::connect_async(url(addr)).await.unwrap();
        let first = ws.next().await.unwrap().unwrap();
        assert_eq!(
            first.to_text().unwrap(),
            r#"{"jsonrpc":"2.0","method":"server.notice","params":{"text":"hi"}}"#
        );
        ws.close(None).await.unwrap();
        // The server answers the close handshake.
        while let Some(Ok(m)) = ws.next().await {
            if m.is_close() {
                break;
            }
        }

        for _ in 0..3 {
            let client = Client::connect_ws(&url(addr)).await.unwrap();
            assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
            drop(client);
        }
        while closed.load(Ordering::SeqCst) < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(opened.load(Ordering::SeqCst), 4);
        assert_eq!(closed.load(Ordering::SeqCst), 4);
    })
    .await;
}

/// Reads until a close frame; returns its code and reason.
async fn close_of<S>(ws: &mut S) -> (u16, String)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Close(Some(f))) => return (f.code.into(), f.reason.as_str().to_owned()),
            Ok(Message::Close(None)) => return (1005, String::new()),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
    panic!("the stream ended without a close frame");
}

#[tokio::test]
async fn a_binary_frame_is_refused_with_close_1003() {
    bounded(async {
        let addr = start(WsServer::new(sansrpc::reference::router())).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(url(addr)).await.unwrap();
        ws.send(Message::binary(
            &b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}"[..],
        ))
        .await
        .unwrap();
        let (code, reason) = close_of(&mut ws).await;
        assert_eq!(code, u16::from(CloseCode::Unsupported));
        assert_eq!(code, 1003);
        assert!(reason.contains("binary"), "{reason}");
    })
    .await;
}

#[tokio::test]
async fn oversized_messages_get_an_error_or_a_clean_close() {
    bounded(async {
        let mut router = sansrpc::reference::router();
        router.set_limits(Limits {
            max_message_bytes: 1024,
            ..Limits::default()
        });
        let server = WsServer::new(router);
        let library_limit = server.library_limit();
        let addr = start(server).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(url(addr)).await.unwrap();

        // Over the limit, under the library's: -32600, and the connection lives.
        let padding = "x".repeat(2000);
        let big = format!(r#"{{"jsonrpc":"2.0","method":"echo","params":["{padding}"],"id":1}}"#);
        ws.send(Message::text(big)).await.unwrap();
        let answer: serde_json::Value =
            serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(answer["error"]["code"], -32600);
        assert_eq!(answer["id"], serde_json::Value::Null);
        ws.send(Message::text(
            r#"{"jsonrpc":"2.0","method":"subtract","params":[3,1],"id":2}"#,
        ))
        .await
        .unwrap();
        let answer = ws.next().await.unwrap().unwrap();
        assert_eq!(
            answer.to_text().unwrap(),
            r#"{"jsonrpc":"2.0","result":2,"id":2}"#
        );

        // Far over: the library refuses to hold it and the server closes 1009.
        let huge = "y".repeat(library_limit + 1);
        let _ = ws.send(Message::text(huge)).await;
        let (code, _) = close_of(&mut ws).await;
        assert_eq!(code, 1009);
    })
    .await;
}

#[tokio::test]
async fn pings_go_out_and_a_silent_client_is_closed_after_the_idle_time() {
    bounded(async {
        let mut router = Router::new();
        router.method("ping", || "pong").unwrap();
        router.set_limits(Limits {
            idle_timeout: Some(Duration::from_millis(400)),
            ..Limits::default()
        });
        let addr = start(WsServer::new(router).ping_interval(Some(Duration::from_millis(50)))).await;

        // A live client (its library answers pings) outlives the idle time.
        let client = Client::connect_ws(&url(addr)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");

        // A client that never reads never answers a ping: closed with 1001.
        let (mut ws, _) = tokio_tungstenite::connect_async(url(addr)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut pings = 0;
        let code = loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Close(Some(f)))) => break u16::from(f.code),
                other => panic!("unexpected: {other:?}"),
            }
        };
        assert!(pings >= 1);
        assert_eq!(code, 1001);
    })
    .await;
}

#[tokio::test]
async fn the_shared_websocket_suite_passes() {
    let addr = start(ws_common::server()).await;
    ws_common::suite(&url(addr)).await;
}
