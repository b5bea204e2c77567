//! The `sansrpc` command against our reference servers over HTTP, TCP and
//! WebSocket: stdout, stderr and the exit status, byte for byte.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};

use sansrpc::Limits;
use sansrpc_tests::{Adapter, Running, start};

fn sansrpc(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sansrpc"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[track_caller]
fn check(out: &Output, code: i32, stdout: &str, stderr: &str) {
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        (out.status.code(), o.as_ref(), e.as_ref()),
        (Some(code), stdout, stderr)
    );
}

fn reference(adapter: Adapter) -> Running {
    start(adapter, sansrpc::reference::router(), Limits::default()).unwrap()
}

/// A WebSocket server (sansrpc-tokio's) serving the reference methods.
fn ws_reference() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let _ = sansrpc_tokio::WsServer::new(sansrpc::reference::router())
                .serve(listener)
                .await;
        });
    });
    rx.recv().unwrap()
}

const BATCH: &str = r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1, 2, 4], "id": "1"},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
  {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": "2"},
  {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
  {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]"#;

const BATCH_OUT: &str = r#"[
  {
    "jsonrpc": "2.0",
    "result": 7,
    "id": "1"
  },
  {
    "jsonrpc": "2.0",
    "result": 19,
    "id": "2"
  },
  {
    "jsonrpc": "2.0",
    "error": {
      "code": -32601,
      "message": "Method not found"
    },
    "id": "5"
  },
  {
    "jsonrpc": "2.0",
    "result": [
      "hello",
      5
    ],
    "id": "9"
  }
]
"#;

fn same_everywhere(url: &str) {
    check(
        &sansrpc(&["call", url, "subtract", "[42, 23]"], None),
        0,
        "19\n",
        "",
    );
    check(
        &sansrpc(
            &["call", url, "subtract", r#"{"subtrahend": 23, "minuend": 42}"#],
            None,
        ),
        0,
        "19\n",
        "",
    );
    check(
        &sansrpc(&["call", url, "get_data"], None),
        0,
        "[\n  \"hello\",\n  5\n]\n",
        "",
    );
    check(
        &sansrpc(&["call", url, "nope"], None),
        1,
        "",
        "error: {\"code\":-32601,\"message\":\"Method not found\"}\n",
    );
    check(&sansrpc(&["notify", url, "update", "[1,2,3]"], None), 0, "", "");
    check(
        &sansrpc(&["batch", url, "-"], Some(BATCH)),
        1,
        BATCH_OUT,
        "error: {\"code\":-32601,\"message\":\"Method not found\"}\n",
    );
    check(
        &sansrpc(&["call", url, "subtract", "5"], None),
        2,
        "",
        "error: PARAMS_JSON must be a JSON array or object: \"params must be an array or an object\"\n",
    );
}

#[test]
fn http_tcp_and_websocket() {
    let warp = reference(Adapter::Warp);
    same_everywhere(&warp.url());
    let actix = reference(Adapter::Actix);
    same_everywhere(&actix.url());
    let tokio = reference(Adapter::Tokio);
    same_everywhere(&tokio.url());
    let smol = reference(Adapter::Smol);
    same_everywhere(&smol.url());
    let ws = ws_reference();
    same_everywhere(&format!("ws://{ws}/"));
}

#[test]
fn verbose_prints_the_wire_log_on_stderr() {
    let warp = reference(Adapter::Warp);
    check(
        &sansrpc(&["-v", "call", &warp.url(), "ping"], None),
        0,
        "\"pong\"\n",
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1} (200 OK)\n",
        ),
    );
    let tokio = reference(Adapter::Tokio);
    check(
        &sansrpc(&["call", &tokio.url(), "ping", "-v"], None),
        0,
        "\"pong\"\n",
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n",
        ),
    );
}

#[test]
fn a_tcp_notification_is_written_before_exit() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line
    });
    check(
        &sansrpc(&["notify", &format!("tcp://{addr}"), "log", r#"["hi"]"#], None),
        0,
        "",
        "",
    );
    assert_eq!(
        server.join().unwrap(),
        "{\"jsonrpc\":\"2.0\",\"method\":\"log\",\"params\":[\"hi\"]}\n"
    );
}

#[test]
fn failures_exit_2_with_a_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = sansrpc(&["call", "ftp://x/", "ping"], None);
    check(
        &out,
        2,
        "",
        "error: unsupported URL \"ftp://x/\": use http://, https://, tcp:// or ws://\n",
    );
    let out = sansrpc(&["call", "wss://x/", "ping"], None);
    check(
        &out,
        2,
        "",
        "error: unsupported URL \"wss://x/\": wss:// needs TLS, which sansrpc-tokio's WebSocket client does not build in; use ws://, or https:// for HTTP\n",
    );
    let out = sansrpc(&["batch", "http://127.0.0.1:1/", "-"], Some("{}"));
    check(
        &out,
        2,
        "",
        "error: the batch must be a JSON array of request objects\n",
    );
    let out = sansrpc(&["call", &format!("tcp://127.0.0.1:{port}"), "ping"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: connecting to 127.0.0.1:{port}: ")),
        "{err}"
    );
    // A server that never answers: the timeout, then exit 2.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let out = sansrpc(&["--timeout", "0.3", "call", &url, "ping"], None);
    check(&out, 2, "", "error: no answer before the deadline\n");
}

#[test]
fn check_runs_the_conformance_suite() {
    let warp = reference(Adapter::Warp);
    let out = sansrpc(&["check", &warp.url(), "--profile", "all"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("\ntotal "), "{text}");
    let tokio = reference(Adapter::Tokio);
    let out = sansrpc(&["--timeout", "0.3", "check", &tokio.url(), "--json"], None);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.is_object());

    // A server that answers every line with garbage fails MUST cases: exit 1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    line.clear();
                    if writer.write_all(b"nope\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    let out = sansrpc(&["--timeout", "0.1", "check", &format!("tcp://{addr}")], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = sansrpc(&["check", "gopher://x"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: bad target: "));
}
