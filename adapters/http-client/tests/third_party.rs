//! The HTTP client, async and blocking, against HTTP servers nobody here
//! wrote: Python's `jsonrpcserver` behind `aiohttp`
//! (`conformance/interop/aiohttp_server.py`, the origin tutorial's setup)
//! and jayson from npm (`conformance/interop/jayson_server.js`).
//!
//! Python comes from `SANSRPC_PYTHON`, else `.venv/bin/python` at the repo
//! root; jayson from `conformance/interop/node_modules` (`npm ci` there);
//! `.ci/run` installs both. Without them a test prints `skipped: ...` and
//! passes, unless the environment variable `CI` is set: then a missing peer
//! fails the test.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sansrpc::{BatchEntry, ErrorCode, RawParams};
use sansrpc_http_client::{Client, ClientError, blocking};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn missing<T>(what: &str, how: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing and CI is set: {how}"
    );
    println!("skipped: {what} is missing ({how})");
    None
}

fn start(program: &str, args: Vec<String>, port: u16) -> Server {
    let server = Server(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}")),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{program} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn aiohttp() -> Option<(Server, String)> {
    let python = std::env::var("SANSRPC_PYTHON")
        .unwrap_or_else(|_| repo_root().join(".venv/bin/python").display().to_string());
    let ok = Command::new(&python)
        .args(["-c", "import jsonrpcserver, aiohttp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return missing(
            &format!("Python with jsonrpcserver and aiohttp ({python})"),
            "python3 -m venv .venv && .venv/bin/pip install -r interop/requirements.txt",
        );
    }
    let port = free_port();
    let script = repo_root().join("conformance/interop/aiohttp_server.py");
    let args = vec![
        "-u".to_owned(),
        script.display().to_string(),
        format!("127.0.0.1:{port}"),
    ];
    Some((start(&python, args, port), format!("http://127.0.0.1:{port}/")))
}

fn jayson() -> Option<(Server, String)> {
    let interop = repo_root().join("conformance/interop");
    let ok = interop.join("node_modules/jayson/package.json").is_file()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        return missing("node with jayson", "cd conformance/interop && npm ci");
    }
    let port = free_port();
    let script = interop.join("jayson_server.js");
    let args = vec![
        script.display().to_string(),
        "--http".to_owned(),
        format!("127.0.0.1:{port}"),
    ];
    Some((start("node", args, port), format!("http://127.0.0.1:{port}/")))
}

async fn exercise(url: &str) {
    let client = Client::new(url).unwrap();
    let pong: String = client.call("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");
    let diff: i64 = client.call("subtract", [42, 23]).await.unwrap();
    assert_eq!(diff, 19);
    let named: i64 = client
        .call("subtract", serde_json::json!({"minuend": 42, "subtrahend": 23}))
        .await
        .unwrap();
    assert_eq!(named, 19);
    client.notify("update", [1, 2, 3]).await.unwrap();
    match client.call::<String>("nope", ()).await {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code(), ErrorCode::METHOD_NOT_FOUND),
        other => panic!("{url}: {other:?}"),
    }
    let answers = client
        .batch([
            BatchEntry::call("sum", RawParams::from_json("[1,2,4]").unwrap()),
            BatchEntry::notification("notify_hello", RawParams::from_json("[7]").unwrap()),
            BatchEntry::call("get_data", RawParams::none()),
            BatchEntry::call("nope", RawParams::none()),
        ])
        .await
        .unwrap();
    let shown: Vec<String> = answers
        .iter()
        .map(|a| match a {
            None => "none".to_owned(),
            Some(Ok(v)) => v.get().replace(' ', ""),
            Some(Err(e)) => e.code().0.to_string(),
        })
        .collect();
    assert_eq!(shown, ["7", "none", r#"["hello",5]"#, "-32601"], "{url}");

    // The blocking client, from a blocking thread.
    let url = url.to_owned();
    let pong = tokio::task::spawn_blocking(move || {
        let client = blocking::Client::new(url).unwrap();
        client.call::<String>("ping", ()).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(pong, "pong");
}

#[tokio::test]
async fn jsonrpcserver_behind_aiohttp() {
    let Some((_server, url)) = aiohttp() else {
        return;
    };
    exercise(&url).await;
    // The origin tutorial's two lines: jsonrpcserver's own spacing, and
    // the status after the response.
    let client = Client::new(&url).unwrap();
    let (log, guard) = support::capture_wire_log();
    let _: String = client.call("ping", ()).await.unwrap();
    drop(guard);
    assert_eq!(
        log.text(),
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\": \"2.0\", \"result\": \"pong\", \"id\": 1} (200 OK)\n",
        )
    );
}

#[tokio::test]
async fn jayson_over_http() {
    let Some((_server, url)) = jayson() else {
        return;
    };
    exercise(&url).await;
}
