//! The HTTP client against our reference servers (warp and actix), and
//! against raw servers that misbehave: each failure is a clear error
//! within the timeout, and what is read stays within `max_message_bytes`.

mod support;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sansrpc::{BatchEntry, ErrorCode, Limits, RawParams};
use sansrpc_http_client::{Client, ClientError, StatusCode, blocking};
use sansrpc_tests::{Adapter, Running, start};
use support::{capture_wire_log, hang, raw_server, respond};

fn reference(adapter: Adapter) -> Running {
    start(adapter, sansrpc::reference::router(), Limits::default()).unwrap()
}

async fn exercise(url: &str) {
    let client = Client::new(url).unwrap();
    let pong: String = client.call("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    let diff: i64 = client.call("subtract", [42, 23]).await.unwrap();
    assert_eq!(diff, 19);
    let named: i64 = client
        .call("subtract", serde_json::json!({"subtrahend": 23, "minuend": 42}))
        .await
        .unwrap();
    assert_eq!(named, 19);
    client.notify("update", [1, 2, 3, 4, 5]).await.unwrap();

    let answers = client
        .batch([
            BatchEntry::call("sum", RawParams::from_json("[1,2,4]").unwrap()),
            BatchEntry::notification("notify_hello", RawParams::from_json("[7]").unwrap()),
            BatchEntry::call("subtract", RawParams::from_json("[42,23]").unwrap()),
            BatchEntry::call("foo.get", RawParams::from_json(r#"{"name":"myself"}"#).unwrap()),
            BatchEntry::call("get_data", RawParams::none()),
        ])
        .await
        .unwrap();
    let shown: Vec<String> = answers
        .iter()
        .map(|a| match a {
            None => "none".to_owned(),
            Some(Ok(v)) => v.get().to_owned(),
            Some(Err(e)) => e.code().0.to_string(),
        })
        .collect();
    assert_eq!(shown, ["7", "none", "19", "-32601", r#"["hello",5]"#]);

    let only_notes = client
        .batch([BatchEntry::notification(
            "notify_hello",
            RawParams::from_json("[1]").unwrap(),
        )])
        .await
        .unwrap();
    assert_eq!(only_notes.len(), 1);
    assert!(only_notes[0].is_none());

    match client.call::<String>("nope", ()).await {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code(), ErrorCode::METHOD_NOT_FOUND),
        other => panic!("{other:?}"),
    }
    match client.call::<i64>("ping", ()).await {
        Err(ClientError::Decode(_)) => {}
        other => panic!("{other:?}"),
    }
    match client.call::<i64>("subtract", 5).await {
        Err(ClientError::Usage(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn against_warp_and_actix_reference_servers() {
    for adapter in [Adapter::Warp, Adapter::Actix] {
        let server = reference(adapter);
        exercise(&server.url()).await;
    }
}

#[test]
fn blocking_in_a_plain_fn() {
    let server = reference(Adapter::Warp);
    let client = blocking::Client::new(server.url()).unwrap();
    let pong: String = client.call("ping", ()).unwrap();
    assert_eq!(pong, "pong");
    let diff: i64 = client
        .call_timeout("subtract", [42, 23], Duration::from_secs(5))
        .unwrap();
    assert_eq!(diff, 19);
    client.notify("update", [1]).unwrap();
    let answers = client
        .batch([
            BatchEntry::call("sum", RawParams::from_json("[1,2]").unwrap()),
            BatchEntry::notification("update", RawParams::none()),
        ])
        .unwrap();
    assert_eq!(answers[0].as_ref().unwrap().as_ref().unwrap().get(), "3");
    assert!(answers[1].is_none());
    drop(client);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_inside_spawn_blocking() {
    let server = reference(Adapter::Actix);
    let url = server.url();
    // Built, used and dropped on a blocking thread of a running runtime.
    let pong = tokio::task::spawn_blocking(move || {
        let client = blocking::Client::new(url).unwrap();
        let pong: String = client.call("ping", ()).unwrap();
        drop(client);
        pong
    })
    .await
    .unwrap();
    assert_eq!(pong, "pong");
}

#[test]
fn wire_log_lines_byte_for_byte() {
    let server = reference(Adapter::Warp);
    let client = blocking::Client::new(server.url()).unwrap();
    let (log, guard) = capture_wire_log();
    let pong: String = client.call("ping", ()).unwrap();
    assert_eq!(pong, "pong");
    client.notify("update", [1]).unwrap();
    drop(guard);
    assert_eq!(
        log.text(),
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1} (200 OK)\n",
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1]}\n",
            "<-- (204 No Content)\n",
        )
    );
    // Off without a subscriber that wants it: nothing more is written.
    let _: String = client.call("ping", ()).unwrap();
    assert_eq!(log.text().lines().count(), 4);
}

#[tokio::test]
async fn async_wire_log_is_bounded() {
    let big = format!("\"{}\"", "x".repeat(5000));
    let body = format!(r#"{{"jsonrpc":"2.0","result":{big},"id":1}}"#);
    let sent = body.clone();
    let raw = raw_server(move |_, w| respond(w, "200 OK", "application/json", sent.as_bytes()));
    let client = Client::new(raw.url()).unwrap();
    let (log, guard) = capture_wire_log();
    let got: String = client.call("big", ()).await.unwrap();
    drop(guard);
    assert_eq!(got.len(), 5000);
    let text = log.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[1],
        format!("<-- {}… ({} bytes) (200 OK)", &body[..1024], body.len())
    );
}

fn quick(url: &str) -> Client {
    Client::builder(url)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Asserts the call failed the way `check` wants, within two seconds.
async fn fails_fast(client: &Client, check: impl Fn(&ClientError) -> bool) -> ClientError {
    let started = Instant::now();
    let e = client.call::<serde_json::Value>("ping", ()).await.unwrap_err();
    assert!(check(&e), "unexpected error: {e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    e
}

#[tokio::test]
async fn wrong_id_is_an_id_mismatch() {
    let raw = raw_server(|_, w| {
        respond(
            w,
            "200 OK",
            "application/json",
            br#"{"jsonrpc":"2.0","result":1,"id":999}"#,
        )
    });
    let e = fails_fast(&quick(&raw.url()), |e| {
        matches!(e, ClientError::IdMismatch { .. })
    })
    .await;
    assert_eq!(
        e.to_string(),
        "id mismatch: the call had id 1, the response has id 999"
    );
}

#[tokio::test]
async fn declared_100_mb_body_is_refused_unread() {
    let written = Arc::new(AtomicU64::new(0));
    let count = written.clone();
    let raw = raw_server(move |_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        )?;
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..1600 {
            w.write_all(&chunk)?;
            count.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        Ok(())
    });
    let e = fails_fast(&quick(&raw.url()), |e| {
        matches!(e, ClientError::TooLarge { limit: 1048576 })
    })
    .await;
    assert_eq!(
        e.to_string(),
        "the response body is over the limit of 1048576 bytes"
    );
    std::thread::sleep(Duration::from_millis(300));
    // Socket buffers hold a few MiB at most; the client read none of it.
    assert!(
        written.load(Ordering::SeqCst) < 16 << 20,
        "{}",
        written.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn chunked_100_mb_body_stops_at_the_limit() {
    let written = Arc::new(AtomicU64::new(0));
    let count = written.clone();
    let raw = raw_server(move |_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )?;
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..1600 {
            write!(w, "{:x}\r\n", chunk.len())?;
            w.write_all(&chunk)?;
            w.write_all(b"\r\n")?;
            count.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        w.write_all(b"0\r\n\r\n")
    });
    let client = Client::builder(raw.url())
        .timeout(Duration::from_secs(2))
        .limits(Limits {
            max_message_bytes: 256 * 1024,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client.call::<serde_json::Value>("ping", ()).await.unwrap_err();
    assert!(matches!(e, ClientError::TooLarge { limit: 262144 }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        written.load(Ordering::SeqCst) < 16 << 20,
        "{}",
        written.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn non_json_500_says_so() {
    let raw = raw_server(|_, w| {
        respond(
            w,
            "500 Internal Server Error",
            "text/html",
            b"<html><body>Internal Server Error</body></html>",
        )
    });
    let e = fails_fast(
        &quick(&raw.url()),
        |e| matches!(e, ClientError::Status { status, .. } if *status == StatusCode::INTERNAL_SERVER_ERROR),
    )
    .await;
    assert_eq!(
        e.to_string(),
        "HTTP 500 Internal Server Error without a JSON-RPC response: <html><body>Internal Server Error</body></html>"
    );
}

#[tokio::test]
async fn non_json_200_names_the_content_type() {
    let raw = raw_server(|_, w| respond(w, "200 OK", "text/plain", b"pong"));
    let e = fails_fast(&quick(&raw.url()), |e| {
        matches!(e, ClientError::ContentType { .. })
    })
    .await;
    assert_eq!(
        e.to_string(),
        "HTTP 200 OK with Content-Type \"text/plain\", not JSON: pong"
    );
}

#[tokio::test]
async fn a_body_that_never_ends_times_out() {
    let raw = raw_server(|_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"jsonrpc\""
        )?;
        // A byte now and then, for ever: never idle, never done.
        loop {
            std::thread::sleep(Duration::from_millis(50));
            w.write_all(b" ")?;
        }
    });
    fails_fast(&quick(&raw.url()), |e| matches!(e, ClientError::TimedOut)).await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let raw = raw_server(|_, _| {
        hang();
        Ok(())
    });
    let e = fails_fast(&quick(&raw.url()), |e| matches!(e, ClientError::TimedOut)).await;
    assert_eq!(e.to_string(), "no answer before the deadline");
    // The per-call timeout wins over the default.
    let client = Client::builder(raw.url())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = client
        .call_timeout::<String>("ping", (), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn blocking_client_meets_the_same_hostile_servers() {
    let never = raw_server(|_, _| {
        hang();
        Ok(())
    });
    let wrong = raw_server(|_, w| {
        respond(
            w,
            "200 OK",
            "application/json",
            br#"{"jsonrpc":"2.0","result":1,"id":2}"#,
        )
    });
    let huge = raw_server(|_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )?;
        let chunk = vec![b' '; 64 * 1024];
        loop {
            write!(w, "{:x}\r\n", chunk.len())?;
            w.write_all(&chunk)?;
            w.write_all(b"\r\n")?;
        }
    });
    let drip = raw_server(|_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
        )?;
        loop {
            std::thread::sleep(Duration::from_millis(50));
            w.write_all(b" ")?;
        }
    });
    type Check = fn(&ClientError) -> bool;
    let cases: [(&support::Raw, Check); 4] = [
        (&never, |e| matches!(e, ClientError::TimedOut)),
        (&wrong, |e| matches!(e, ClientError::IdMismatch { .. })),
        (&huge, |e| matches!(e, ClientError::TooLarge { .. })),
        (&drip, |e| matches!(e, ClientError::TimedOut)),
    ];
    for (server, check) in cases {
        let client = blocking::Client::builder(server.url())
            .timeout(Duration::from_millis(500))
            .build_blocking()
            .unwrap();
        let started = Instant::now();
        let e = client.call::<serde_json::Value>("ping", ()).unwrap_err();
        assert!(check(&e), "{}: {e:?}", server.url());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn keep_alive_and_extra_headers() {
    let raw = raw_server(|req, w| {
        let auth = req.header("authorization").unwrap_or_default();
        let ct = req.header("content-type").unwrap_or_default();
        let body = serde_json::json!({"jsonrpc": "2.0", "result": [auth, ct], "id": 1}).to_string();
        respond(w, "200 OK", "application/json", body.as_bytes())
    });
    let client = Client::builder(raw.url())
        .header("Authorization", "Bearer t0ken")
        .build()
        .unwrap();
    for _ in 0..3 {
        let got: (String, String) = client.call("whoami", ()).await.unwrap();
        assert_eq!(got, ("Bearer t0ken".to_owned(), "application/json".to_owned()));
    }
    assert_eq!(raw.connections(), 1, "three calls, one connection");

    let bad = Client::builder(raw.url())
        .header("bad header", "x")
        .build()
        .unwrap_err();
    assert!(matches!(bad, ClientError::Config(_)), "{bad:?}");
    let bad = Client::new("ftp://127.0.0.1/").unwrap_err();
    assert_eq!(
        bad.to_string(),
        "bad client configuration: URL \"ftp://127.0.0.1/\": the scheme must be http or https"
    );
}

#[tokio::test]
async fn https_speaks_tls() {
    // A plain-HTTP server behind an https URL: the client starts a TLS
    // handshake (rustls), which the server cannot answer.
    let raw = raw_server(|_, w| respond(w, "200 OK", "application/json", b"{}"));
    let url = format!("https://{}/", raw.addr);
    let e = quick(&url).call::<String>("ping", ()).await.unwrap_err();
    let mut chain = format!("{e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push_str(&format!(" / {s}"));
        source = s.source();
    }
    assert!(matches!(e, ClientError::Transport(_)), "{chain}");
    assert!(
        chain.to_lowercase().contains("tls")
            || chain.contains("InvalidContentType")
            || chain.contains("corrupt"),
        "{chain}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = quick(&format!("http://127.0.0.1:{port}/"))
        .call::<String>("ping", ())
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Transport(_)), "{e:?}");
}
