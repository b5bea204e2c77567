//! The WebSocket suite every WebSocket endpoint runs (tokio, warp and
//! actix-web): the endpoint is built from
//! [`server`] and mounted at some `ws://` URL, then [`suite`] checks it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sansrpc::{Extension, Limits, Router};
use sansrpc_tokio::{Client, ClientBuilder, WsServer};
use tokio_tungstenite::tungstenite::Message;

/// Connections that closed, counted by the `on_close` hook.
pub static CLOSED: AtomicUsize = AtomicUsize::new(0);
/// Connections that opened, counted by the `on_connect` hook.
pub static OPENED: AtomicUsize = AtomicUsize::new(0);

/// Largest message of the suite's server.
pub const MAX_MESSAGE: usize = 4096;

/// The suite's server: the reference methods, `ask_page` (calls the
/// client's `page.title` and returns it), a small message limit, counting
/// hooks, and a `server.notice` pushed on connect.
pub fn server() -> WsServer {
    let mut router = sansrpc::reference::router();
    router
        .method("ask_page", |Extension(page): Extension<Client>| async move {
            page.call::<String>("page.title", ())
                .await
                .map_err(|e| sansrpc::Error::internal_error().with_reason(e))
        })
        .unwrap();
    router.set_limits(Limits {
        max_message_bytes: MAX_MESSAGE,
        ..Limits::default()
    });
    WsServer::new(router)
        .on_connect(|_, client| {
            OPENED.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = client
                    .notify("server.notice", serde_json::json!({"text": "hello"}))
                    .await;
            });
        })
        .on_close(|_| {
            CLOSED.fetch_add(1, Ordering::SeqCst);
        })
}

async fn next_text<S>(ws: &mut S) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn close_code<S>(ws: &mut S) -> u16
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(f)))) => return f.code.into(),
            Some(Ok(Message::Close(None))) => return 1005,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Checks the endpoint at `url` (serving [`server`]).
pub async fn suite(url: &str) {
    tokio::time::timeout(Duration::from_secs(30), run(url))
        .await
        .expect("the WebSocket suite timed out");
}

async fn run(url: &str) {
    let closed_before = CLOSED.load(Ordering::SeqCst);

    // A raw socket: the notice pushed on connect, a call, a batch, a
    // notification (nothing back), an oversized message, then a binary frame.
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"jsonrpc":"2.0","method":"server.notice","params":{"text":"hello"}}"#
    );
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_text(&mut ws).await,
        r#"{"jsonrpc":"2.0","result":19,"id":1}"#
    );
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#,
    ))
    .await
    .unwrap();
    ws.send(Message::text(
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method":"notify_hello","params":[7]}]"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        next_text(&mut ws).await,
        r#"[{"jsonrpc":"2.0","result":7,"id":"1"}]"#
    );
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":2}}"#,
        "x".repeat(MAX_MESSAGE)
    );
    ws.send(Message::text(big)).await.unwrap();
    let answer: serde_json::Value = serde_json::from_str(&next_text(&mut ws).await).unwrap();
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    ws.send(Message::binary(&b"[]"[..])).await.unwrap();
    assert_eq!(close_code(&mut ws).await, 1003);
    drop(ws);

    // The server calls the client back, matched by id, while the client waits
    // for the server's answer.
    let mut page = Router::new();
    page.method("page.title", || "the page").unwrap();
    let peer = ClientBuilder::new().connect_ws_peer(url, page).await.unwrap();
    assert_eq!(peer.call::<String>("ask_page", ()).await.unwrap(), "the page");
    peer.close();
    peer.closed().await.unwrap();

    // A plain client too, closed by dropping it.
    let client = Client::connect_ws(url).await.unwrap();
    assert_eq!(client.call::<i64>("subtract", [3, 1]).await.unwrap(), 2);
    drop(client);

    // Three connections, three close hooks.
    while CLOSED.load(Ordering::SeqCst) < closed_before + 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(OPENED.load(Ordering::SeqCst) >= 3);
}

/// A tokio-tungstenite URL for `addr` and `path`.
pub fn url(addr: std::net::SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}
