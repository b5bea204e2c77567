//! JSON-RPC 1.0 against an implementation nobody here wrote: jayson (npm)
//! with `version: 1` (interop/jayson/peer.js), both ways.
//!
//! - jayson as the server, our clients calling it: sansrpc-tokio's and
//!   sansrpc-smol's TCP clients, sansrpc-tokio's WebSocket client and
//!   sansrpc-http-client, each set to `Version::V1`.
//! - jayson as the client, calling our servers set to `Version::V1` (and
//!   `Auto`): warp and actix over HTTP, tokio and smol over TCP.
//!
//! Node comes from `SANSRPC_NODE`, else `node` on the PATH; jayson from
//! interop/jayson/node_modules (`.ci/run` installs it: `npm ci` there).
//! Without them the tests print `skipped: ...` and pass, except when the
//! environment variable `CI` is set: then a missing peer is a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sansrpc::{BatchEntry, Limits, RawParams, UsageError, Version};
use sansrpc_tests::{Adapter, start};
use serde_json::{Value, json};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The node binary and peer.js, or `None` (after saying why) when they
/// are missing outside CI.
fn jayson() -> Option<(PathBuf, PathBuf)> {
    let node = std::env::var_os("SANSRPC_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let dir = repo_root().join("interop/jayson");
    let has_node = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let has_jayson = dir.join("node_modules/jayson/package.json").is_file();
    if has_node && has_jayson {
        return Some((node, dir.join("peer.js")));
    }
    let why = if has_node {
        "jayson is not installed (cd interop/jayson && npm ci)"
    } else {
        "node is not installed"
    };
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and the jayson peer is missing: {why}");
    }
    println!("skipped: {why}");
    None
}

/// Kills the node process when the test ends, however it ends.
struct NodeGuard(Child);

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn v1_limits() -> Limits {
    Limits {
        version: Version::V1,
        ..Limits::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Starts jayson's version-1 server; returns it and its HTTP, TCP and
/// WebSocket ports once all three listen.
fn jayson_server(node: &Path, script: &Path) -> (NodeGuard, u16, u16, u16) {
    let (http, tcp, ws) = (free_port(), free_port(), free_port());
    let mut child = Command::new(node)
        .arg(script)
        .args(["server", &http.to_string(), &tcp.to_string(), &ws.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let guard = NodeGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the ready line");
    assert_eq!(line.trim(), "ready", "jayson's server did not start");
    (guard, http, tcp, ws)
}

/// What our 1.0 clients get from jayson, whichever transport: the 1.0
/// text's echo, a `(result, error)` answer of each kind, a notification
/// that arrives, and a refused batch.
macro_rules! check_client {
    ($name:expr, $client:expr) => {{
        let c = $client;
        let echo: String = c.call("echo", ["Hello JSON-RPC"]).await.expect("echo");
        assert_eq!(echo, "Hello JSON-RPC", "{}", $name);
        let hi: Vec<String> = c.call("hello", ["sansrpc"]).await.expect("hello");
        assert_eq!(hi, ["hi, sansrpc"], "{}", $name);
        let any_id: Value = c.call("echo", [json!({"nested": [1, 2]})]).await.expect("echo object");
        assert_eq!(any_id, json!({"nested": [1, 2]}), "{}", $name);
        match c.call::<Value>("fail", ()).await {
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("seven"), "{}: {text}", $name);
            }
            Ok(v) => panic!("{}: fail answered {v}", $name),
        }
        c.notify("note", [$name]).await.expect("notify");
        let notes: Vec<String> = c.call("notes", ()).await.expect("notes");
        assert!(notes.iter().any(|n| n == $name), "{}: the notification did not arrive: {notes:?}", $name);
    }};
}

#[test]
fn our_v1_clients_call_jayson() {
    let Some((node, script)) = jayson() else {
        return;
    };
    let (_server, http, tcp, ws) = jayson_server(&node, &script);
    runtime().block_on(async {
        let tokio_tcp = sansrpc_tokio::Client::builder()
            .version(Version::V1)
            .connect(("127.0.0.1", tcp))
            .await
            .expect("tokio connects");
        check_client!("tokio-tcp", &tokio_tcp);
        match tokio_tcp
            .batch([BatchEntry::call(
                "echo",
                RawParams::from_json("[1]").expect("params"),
            )])
            .await
        {
            Err(sansrpc_tokio::ClientError::Usage(UsageError::BatchInV1)) => {}
            other => panic!("a 1.0 batch: {other:?}"),
        }

        let tokio_ws = sansrpc_tokio::ClientBuilder::new()
            .version(Version::V1)
            .connect_ws(&format!("ws://127.0.0.1:{ws}/"))
            .await
            .expect("WebSocket connects");
        check_client!("tokio-ws", &tokio_ws);

        let http_client = sansrpc_http_client::Client::builder(format!("http://127.0.0.1:{http}/"))
            .limits(v1_limits())
            .build()
            .expect("HTTP client");
        check_client!("http-client", &http_client);
    });
    // smol's client on its own runtime.
    smol::block_on(async {
        let smol_tcp = sansrpc_smol::Client::builder()
            .version(Version::V1)
            .connect(("127.0.0.1", tcp))
            .await
            .expect("smol connects");
        check_client!("smol-tcp", &smol_tcp);
    });
}

/// Runs jayson's version-1 client against `url`; returns its lines by step.
fn jayson_client(node: &Path, script: &Path, url: &str) -> Vec<Value> {
    let out = Command::new(node)
        .arg(script)
        .args(["client", url])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("node runs");
    assert!(out.status.success(), "jayson's client failed for {url}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("done"), "{url}: {text}");
    lines
        .into_iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {lines:?}"))
}

#[test]
fn jayson_v1_clients_call_our_servers() {
    let Some((node, script)) = jayson() else {
        return;
    };
    for version in [Version::V1, Version::Auto] {
        for adapter in Adapter::ALL {
            let limits = Limits {
                version,
                ..Limits::default()
            };
            let server = start(adapter, sansrpc::reference::router(), limits).expect("server starts");
            let url = if adapter.is_http() {
                format!("http://{}/", server.addr())
            } else {
                format!("tcp://{}", server.addr())
            };
            let lines = jayson_client(&node, &script, &url);
            let who = format!("{adapter} under {version:?}");
            for l in &lines {
                assert!(l.get("transportError").is_none(), "{who}: {l}");
            }
            // The whole response objects jayson read, member for member.
            assert_eq!(
                step(&lines, "echo")["response"],
                json!({"result": "Hello JSON-RPC", "error": null, "id": 1}),
                "{who}"
            );
            assert_eq!(
                step(&lines, "subtract")["response"],
                json!({"result": 19, "error": null, "id": "s-1"}),
                "{who}"
            );
            assert_eq!(
                step(&lines, "named")["response"],
                json!({"result": 19, "error": null, "id": 3}),
                "{who}"
            );
            assert_eq!(
                step(&lines, "unknown")["response"],
                json!({"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": 4}),
                "{who}"
            );
            let bad = &step(&lines, "bad-params")["response"];
            assert_eq!(bad["result"], Value::Null, "{who}");
            assert_eq!(bad["error"]["code"], json!(-32602), "{who}");
            assert_eq!(bad["id"], json!(5), "{who}");
            // jayson's own ids are UUID strings.
            let uuid = &step(&lines, "uuid-id")["response"];
            assert_eq!(uuid["result"], json!("pong"), "{who}");
            assert_eq!(uuid["error"], Value::Null, "{who}");
            assert!(
                uuid["id"].as_str().is_some_and(|s| s.len() == 36),
                "{who}: {uuid}"
            );
            assert_eq!(uuid.as_object().map(|o| o.len()), Some(3), "{who}: {uuid}");
            // A notification (`"id": null`) gets nothing back.
            assert_eq!(step(&lines, "notification")["response"], Value::Null, "{who}");
            drop(server);
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
