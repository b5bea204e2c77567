//! The adapter on the wire, byte for byte: a minimal Socket.IO v5 client
//! written over tokio-tungstenite sends Engine.IO/Socket.IO packets and
//! checks every packet that comes back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sansrpc::{Context, Extension, Router};
use sansrpc_socketio::{Client, SocketInfo, SocketIoServer};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One Socket.IO connection, joined to a namespace.
struct Sio {
    ws: Ws,
    ns: String,
}

impl Sio {
    async fn connect(addr: std::net::SocketAddr, ns: &str) -> Sio {
        Self::connect_with(addr, ns, &[]).await
    }

    async fn connect_with(addr: std::net::SocketAddr, ns: &str, headers: &[(&'static str, &str)]) -> Sio {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
            .into_client_request()
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let mut sio = Sio {
            ws,
            ns: ns.to_owned(),
        };
        let open = sio.recv_raw().await;
        assert!(open.starts_with("0{\"sid\":"), "{open}");
        let prefix = sio.prefix();
        sio.send_raw(&format!("40{prefix}")).await;
        let connected = sio.recv_raw().await;
        assert!(
            connected.starts_with(&format!("40{prefix}{{\"sid\":")),
            "{connected}"
        );
        sio
    }

    /// `/admin,` for a namespace other than `/`.
    fn prefix(&self) -> String {
        if self.ns == "/" {
            String::new()
        } else {
            format!("{},", self.ns)
        }
    }

    async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// The next Socket.IO packet (Engine.IO pings are answered here).
    async fn recv_raw(&mut self) -> String {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a packet within 10 s")
                .expect("the socket is open")
                .expect("a frame");
            match m {
                Message::Text(t) if t.as_str() == "2" => self.send_raw("3").await,
                Message::Text(t) => return t.as_str().to_owned(),
                _ => {}
            }
        }
    }

    /// Answers pings (and reads nothing else) for `time`.
    async fn keep_alive(&mut self, time: Duration) {
        let until = tokio::time::Instant::now() + time;
        while let Ok(Some(Ok(m))) = tokio::time::timeout_at(until, self.ws.next()).await {
            if matches!(&m, Message::Text(t) if t.as_str() == "2") {
                self.send_raw("3").await;
            }
        }
    }

    /// Emits `event` with `arg` (raw JSON) and ack id `id`; returns the ack
    /// packet's data.
    async fn emit_ack(&mut self, event: &str, arg: &str, id: u32) -> String {
        let prefix = self.prefix();
        self.send_raw(&format!("42{prefix}{id}[\"{event}\",{arg}]")).await;
        let ack = self.recv_raw().await;
        let head = format!("43{prefix}{id}");
        ack.strip_prefix(&head)
            .unwrap_or_else(|| panic!("expected {head}..., got {ack}"))
            .to_owned()
    }
}

fn router() -> Router {
    let mut router = Router::new();
    router.method("ping", || "pong").unwrap();
    router
        .method(
            "subtract",
            |sansrpc::Params((a, b)): sansrpc::Params<(i64, i64)>| a - b,
        )
        .unwrap();
    router
        .method("whoami", |ctx: Context| {
            let info = ctx.extension::<SocketInfo>().cloned();
            serde_json::json!({
                "peer": ctx.peer_addr().map(|a| a.ip().to_string()),
                "namespace": info.as_ref().map(|i| i.namespace.clone()),
                "sid_len": info.as_ref().map(|i| i.id.len()),
                "cookie": ctx.cookie("session"),
                "agent": ctx.header("x-agent"),
                "transport": format!("{:?}", ctx.transport()),
            })
        })
        .unwrap();
    router
        .method("protocol", |ctx: Context| {
            ctx.extension::<SocketInfo>().map(|i| format!("{:?}", i.protocol))
        })
        .unwrap();
    router
        .method("ask_page", async |Extension(page): Extension<Client>| {
            let sum: Result<i64, _> = page.call("page.add", [2, 3]).await;
            sum.map_err(|e| sansrpc::Error::new(-32000, e.to_string()))
        })
        .unwrap();
    router
}

async fn start(server: SocketIoServer) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve(listener));
    addr
}

#[tokio::test]
async fn answers_through_the_ack() {
    let addr = start(SocketIoServer::new(router())).await;
    let mut s = Sio::connect(addr, "/").await;
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#
    );
    // A batch: answers in request order; the notification gets none.
    assert_eq!(
        s.emit_ack(
            "message",
            r#"[{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"a"},{"jsonrpc":"2.0","method":"ping"},{"jsonrpc":"2.0","method":"ping","id":2}]"#,
            2
        )
        .await,
        r#"[[{"jsonrpc":"2.0","result":19,"id":"a"},{"jsonrpc":"2.0","result":"pong","id":2}]]"#
    );
    // A notification, with an ack asked for: acked with no data.
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping"}"#, 3)
            .await,
        "[]"
    );
    // The same message as a JSON string: the answer is a JSON string too.
    assert_eq!(
        s.emit_ack(
            "message",
            r#""{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":4}""#,
            4
        )
        .await,
        r#"["{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":4}"]"#
    );
    // Not JSON at all (only a string can carry that): the core's -32700.
    assert_eq!(
        s.emit_ack("message", r#""{not json""#, 5).await,
        r#"["{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\",\"data\":\"key must be a string at line 1 column 2\"},\"id\":null}"]"#
    );
    // Valid JSON, not a request: the core's -32600.
    assert_eq!(
        s.emit_ack("message", "42", 6).await,
        r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"expected a request object or a batch array"},"id":null}]"#
    );
    // An event without arguments.
    let prefix = s.prefix();
    s.send_raw(&format!("42{prefix}7[\"message\"]")).await;
    let ack = s.recv_raw().await;
    assert!(
        ack.starts_with("437[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700"),
        "{ack}"
    );
    // A notification without an ack: nothing comes back; the next call is
    // answered next.
    s.send_raw(r#"42["message",{"jsonrpc":"2.0","method":"ping"}]"#)
        .await;
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":8}"#, 8)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":8}]"#
    );
}

#[tokio::test]
async fn context_namespaces_and_events() {
    let server = SocketIoServer::new(router())
        .namespace("/")
        .namespace("/admin")
        .event("rpc");
    let addr = start(server).await;
    let mut s = Sio::connect_with(
        addr,
        "/admin",
        &[("cookie", "session=abc; theme=dark"), ("x-agent", "wire-test")],
    )
    .await;
    assert_eq!(
        s.emit_ack("rpc", r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":{"agent":"wire-test","cookie":"abc","namespace":"/admin","peer":"127.0.0.1","sid_len":16,"transport":"SocketIo"},"id":1}]"#
    );
    // `message` is served too; another event is not.
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":2}"#, 2)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":2}]"#
    );
    s.send_raw(r#"42/admin,3["other",{"jsonrpc":"2.0","method":"ping","id":3}]"#)
        .await;
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":4}"#, 4)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":4}]"#
    );
    // A namespace that is not served is refused.
    let mut other = Sio {
        ws: s.ws,
        ns: "/nope".into(),
    };
    other.send_raw("40/nope,").await;
    assert_eq!(
        other.recv_raw().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn the_server_calls_the_page() {
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = SocketIoServer::new(router())
        .on_connect(|_ctx, client: Client| {
            tokio::spawn(async move {
                let _ = client.notify("page.hello", ["welcome"]).await;
            });
        })
        .on_close(move |ctx| {
            let _ = closed_tx.send(ctx.extension::<SocketInfo>().map(|i| i.namespace.clone()));
        });
    let addr = start(server).await;
    let mut s = Sio::connect(addr, "/").await;
    // The on_connect notification: an emit without an ack id.
    assert_eq!(
        s.recv_raw().await,
        r#"42["message",{"jsonrpc":"2.0","method":"page.hello","params":["welcome"]}]"#
    );
    // The handler calls the page: an emit with an ack id; the ack answers.
    s.send_raw(r#"421["message",{"jsonrpc":"2.0","method":"ask_page","id":1}]"#)
        .await;
    let call = s.recv_raw().await;
    let rest = call.strip_prefix("42").unwrap();
    let (ack_id, data) = rest.split_at(rest.find('[').unwrap());
    assert_eq!(
        data,
        r#"["message",{"jsonrpc":"2.0","method":"page.add","params":[2,3],"id":1}]"#
    );
    s.send_raw(&format!(r#"43{ack_id}[{{"jsonrpc":"2.0","result":5,"id":1}}]"#))
        .await;
    assert_eq!(s.recv_raw().await, r#"431[{"jsonrpc":"2.0","result":5,"id":1}]"#);
    // An answer that is not a response to the call fails it (the core says why).
    s.send_raw(r#"422["message",{"jsonrpc":"2.0","method":"ask_page","id":2}]"#)
        .await;
    let call = s.recv_raw().await;
    let rest = call.strip_prefix("42").unwrap();
    let ack_id = &rest[..rest.find('[').unwrap()];
    s.send_raw(&format!(r#"43{ack_id}[{{"jsonrpc":"2.0","result":5,"id":99}}]"#))
        .await;
    let answer = s.recv_raw().await;
    assert!(answer.starts_with(r#"432[{"jsonrpc":"2.0","error":{"code":-32000,"message":"the acknowledgement is not an answer to this call"#), "{answer}");
    // The client leaves: on_close runs with the socket's context.
    s.send_raw("41").await;
    let ns = tokio::time::timeout(Duration::from_secs(5), closed_rx.recv())
        .await
        .unwrap();
    assert_eq!(ns, Some(Some("/".to_owned())));
}

// ---- hostile input: bounded, and the other clients are still served ----

fn small_limits() -> sansrpc::Limits {
    sansrpc::Limits {
        max_message_bytes: 1024,
        max_in_flight: 4,
        max_connections: 3,
        ..sansrpc::Limits::default()
    }
}

fn slow_router() -> Router {
    let mut router = router();
    router
        .method("slow", async || {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "done"
        })
        .unwrap();
    router
        .method("ask_page_six", async |Extension(page): Extension<Client>| {
            let calls = (0..6).map(|_| page.call::<i64>("page.add", [2, 3]));
            let mut errors: Vec<String> = futures_util::future::join_all(calls)
                .await
                .into_iter()
                .map(|r| r.map_or_else(|e| e.to_string(), |v| v.to_string()))
                .collect();
            errors.sort();
            errors
        })
        .unwrap();
    router.set_limits(small_limits());
    router
}

async fn still_served(addr: std::net::SocketAddr) {
    let mut s = Sio::connect(addr, "/").await;
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#
    );
}

/// Reads until the server ends the socket: a disconnect packet, an
/// Engine.IO close, or the end of the WebSocket.
async fn ends(s: &mut Sio) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.ws.next())
            .await
            .expect("closed within 10 s")
        {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return "closed".into(),
            Some(Ok(Message::Text(t))) if t.as_str() == "41" || t.as_str() == "1" => {
                return t.as_str().to_owned();
            }
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => s.send_raw("3").await,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn oversized_messages() {
    let addr = start(SocketIoServer::new(slow_router())).await;
    let mut s = Sio::connect(addr, "/").await;
    // Over max_message_bytes: the core's -32600, and the socket lives on.
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"ping","params":["{}"],"id":1}}"#,
        "x".repeat(2000)
    );
    let answer = s.emit_ack("message", &big, 1).await;
    assert!(
        answer.starts_with(r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request""#)
            && answer.ends_with(r#""id":null}]"#),
        "{answer}"
    );
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":2}"#, 2)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":2}]"#
    );
    // Far over it (past the library's slack): Engine.IO refuses the packet
    // and closes the transport, holding none of it.
    let huge = format!(
        r#"42["message","{}"]"#,
        "x".repeat(sansrpc_socketio::LIBRARY_SLACK + 4096)
    );
    let _ = s.ws.send(Message::text(huge)).await;
    assert_eq!(ends(&mut s).await, "closed");
    still_served(addr).await;
}

#[tokio::test]
async fn malformed_packets() {
    let addr = start(SocketIoServer::new(slow_router())).await;
    for garbage in [
        r#"42["message""#,
        "4x",
        "9",
        r#"42{"not":"an array"}"#,
        "43999[1]",
        "\u{0}",
    ] {
        let mut s = Sio::connect(addr, "/").await;
        s.send_raw(garbage).await;
        // Either socketioxide drops the connection, or it ignores the packet
        // and the socket still answers; never a hang or a crash.
        let prefix = s.prefix();
        let _ =
            s.ws.send(Message::text(format!(
                r#"42{prefix}5["message",{{"jsonrpc":"2.0","method":"ping","id":5}}]"#
            )))
            .await;
        let next = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match s.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return "closed".to_owned(),
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {}
                    Some(Ok(Message::Text(t))) => return t.as_str().to_owned(),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no reaction to {garbage:?}"));
        assert!(
            next == "closed"
                || next == "1"
                || next == "41"
                || next == r#"435[{"jsonrpc":"2.0","result":"pong","id":5}]"#,
            "{garbage:?}: {next}"
        );
        still_served(addr).await;
    }
}

#[tokio::test]
async fn a_flood_of_events_disconnects_that_socket_only() {
    let addr = start(SocketIoServer::new(slow_router())).await;
    let mut s = Sio::connect(addr, "/").await;
    // max_in_flight 4 run, 4 more wait; the ninth disconnects the socket.
    for i in 0..20 {
        s.send_raw(&format!(
            r#"42{i}["message",{{"jsonrpc":"2.0","method":"slow","id":{i}}}]"#
        ))
        .await;
    }
    assert_eq!(ends(&mut s).await, "41");
    still_served(addr).await;
    // Within the limit, nothing is dropped: eight at once are all answered.
    let mut s = Sio::connect(addr, "/").await;
    for i in 0..8 {
        s.send_raw(&format!(
            r#"42{i}["message",{{"jsonrpc":"2.0","method":"slow","id":{i}}}]"#
        ))
        .await;
    }
    let mut acks = Vec::new();
    for _ in 0..8 {
        acks.push(s.recv_raw().await);
    }
    acks.sort();
    let want: Vec<String> = (0..8)
        .map(|i| format!(r#"43{i}[{{"jsonrpc":"2.0","result":"done","id":{i}}}]"#))
        .collect();
    assert_eq!(acks, want);
}

#[tokio::test]
async fn a_page_that_never_acks() {
    let server = SocketIoServer::new(slow_router()).call_timeout(Duration::from_millis(300));
    let addr = start(server).await;
    let mut s = Sio::connect(addr, "/").await;
    // One handler makes six calls to the page, which never answers: four
    // are sent (max_in_flight), two fail at once, the four time out.
    s.send_raw(r#"421["message",{"jsonrpc":"2.0","method":"ask_page_six","id":1}]"#)
        .await;
    let mut calls = 0;
    let answer = loop {
        let p = s.recv_raw().await;
        if p.starts_with("42") {
            calls += 1;
        } else {
            break p;
        }
    };
    assert_eq!(calls, 4);
    assert_eq!(
        answer,
        r#"431[{"jsonrpc":"2.0","result":["no answer within 300ms","no answer within 300ms","no answer within 300ms","no answer within 300ms","too many calls in flight to this socket","too many calls in flight to this socket"],"id":1}]"#
    );
    // The socket can call the page again once those are gone.
    s.send_raw(r#"429["message",{"jsonrpc":"2.0","method":"ask_page","id":9}]"#)
        .await;
    let call = s.recv_raw().await;
    let rest = call.strip_prefix("42").unwrap();
    let ack_id = &rest[..rest.find('[').unwrap()];
    s.send_raw(&format!(
        r#"43{ack_id}[{{"jsonrpc":"2.0","result":5,"id":{}}}]"#,
        5
    ))
    .await;
    let _ = s.recv_raw().await;
    still_served(addr).await;
}

#[tokio::test]
async fn connections_over_the_limit_are_refused() {
    let server = SocketIoServer::new(slow_router());
    let counter = server.clone();
    let addr = start(server).await;
    let a = Sio::connect(addr, "/").await;
    let _b = Sio::connect(addr, "/").await;
    let _c = Sio::connect(addr, "/").await;
    assert_eq!(counter.connections(), 3);
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"))
            .await
            .unwrap();
    let mut d = Sio { ws, ns: "/".into() };
    assert!(d.recv_raw().await.starts_with("0{"));
    d.send_raw("40").await;
    assert_eq!(d.recv_raw().await, r#"44{"message":"too many connections"}"#);
    // One leaves: its place is free again.
    drop(a);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while counter.connections() > 2 {
        assert!(std::time::Instant::now() < deadline, "the slot was not freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    still_served(addr).await;
}

// ---- protocol versions: v5 by default, v4 (socket.io 2.x) with the feature ----

/// A socket.io 2.x client's first request: Engine.IO v3.
async fn eio3_handshake(addr: std::net::SocketAddr) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[cfg(not(feature = "v4"))]
#[tokio::test]
async fn socket_io_2_clients_are_refused_without_the_v4_feature() {
    let addr = start(SocketIoServer::new(router())).await;
    let (status, body) = eio3_handshake(addr).await;
    assert_eq!(status, 400);
    assert!(
        body.contains(r#"{"code":"5","message":"Unsupported protocol version"}"#),
        "{body}"
    );
}

#[cfg(feature = "v4")]
#[tokio::test]
async fn socket_io_2_clients_are_served_with_the_v4_feature() {
    let addr = start(SocketIoServer::new(router())).await;
    let (status, body) = eio3_handshake(addr).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"0{"sid":""#), "{body}");
    // Engine.IO v3 over WebSocket, Socket.IO protocol v4: the default
    // namespace is joined without asking, then events and acks as in v5.
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/socket.io/?EIO=3&transport=websocket"))
            .await
            .unwrap();
    let mut s = Sio { ws, ns: "/".into() };
    assert!(s.recv_raw().await.starts_with("0{"));
    assert_eq!(s.recv_raw().await, "40");
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#
    );
    // The protocol a handler sees.
    let answer = s
        .emit_ack("message", r#"{"jsonrpc":"2.0","method":"protocol","id":2}"#, 2)
        .await;
    assert_eq!(answer, r#"[{"jsonrpc":"2.0","result":"V4","id":2}]"#);
}

// ---- idle time and shutdown ----

fn idle_router(idle: Duration) -> Router {
    let mut router = router();
    router.set_limits(sansrpc::Limits {
        idle_timeout: Some(idle),
        ..sansrpc::Limits::default()
    });
    router
}

#[tokio::test]
async fn idle_time_is_the_transports_liveness() {
    let addr = start(SocketIoServer::new(idle_router(Duration::from_millis(800)))).await;
    // Engine.IO's heartbeat comes from the idle time: ping every 400 ms,
    // 400 ms to answer.
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"))
            .await
            .unwrap();
    let mut silent = Sio { ws, ns: "/".into() };
    let open = silent.recv_raw().await;
    assert!(open.contains(r#""pingInterval":400,"pingTimeout":400"#), "{open}");
    // A live client (it answers every ping) stays connected past the idle time.
    let mut live = Sio::connect(addr, "/").await;
    // The silent one joins a namespace, then never answers a ping: dropped,
    // while the live one answers its pings all along.
    silent.send_raw("40").await;
    let started = std::time::Instant::now();
    let dropped = async {
        loop {
            match tokio::time::timeout(Duration::from_secs(5), silent.ws.next())
                .await
                .expect("dropped within 5 s")
            {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break started.elapsed(),
                Some(Ok(_)) => {}
            }
        }
    };
    let (elapsed, ()) = tokio::join!(dropped, live.keep_alive(Duration::from_millis(2000)));
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(2000),
        "{elapsed:?}"
    );
    assert_eq!(
        live.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#
    );
    // A client that opens a session but joins no namespace is dropped
    // after the idle time, though it answers pings.
    let (ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"))
            .await
            .unwrap();
    let mut idle = Sio { ws, ns: "/".into() };
    assert!(idle.recv_raw().await.starts_with("0{"));
    let started = std::time::Instant::now();
    let end = ends(&mut idle).await;
    assert!(end == "1" || end == "closed", "{end}");
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn graceful_shutdown_disconnects_every_socket() {
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = SocketIoServer::new(router()).on_close(move |_| {
        let _ = closed_tx.send(());
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_shutdown(listener, async move {
        let _ = stop_rx.await;
    }));
    let mut s = Sio::connect(addr, "/").await;
    assert_eq!(
        s.emit_ack("message", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#, 1)
            .await,
        r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#
    );
    stop_tx.send(()).unwrap();
    let end = ends(&mut s).await;
    assert_eq!(end, "41");
    drop(s);
    tokio::time::timeout(Duration::from_secs(5), closed_rx.recv())
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn serve_bounds_raw_tcp_connections() {
    use tokio::io::AsyncReadExt;
    let mut router = router();
    router.set_limits(sansrpc::Limits {
        idle_timeout: Some(Duration::from_millis(500)),
        max_connections: 1,
        ..sansrpc::Limits::default()
    });
    let addr = start(SocketIoServer::new(router)).await;
    // Twice max_connections TCP connections are held; one more is closed at once.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_millis(300), extra.read(&mut buf)).await;
    assert!(
        matches!(n, Ok(Ok(0)) | Ok(Err(_))),
        "the third connection was not closed at once: {n:?}"
    );
    // The held ones never send a request head: closed after the idle time.
    let started = std::time::Instant::now();
    for mut s in held {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("closed within 5 s");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    still_served(addr).await;
}
