//! Real Socket.IO clients nobody here wrote, against the adapter serving
//! `sansrpc::reference::router()` (plus `ask_page`, which calls the page):
//! Node's `socket.io-client` 4 (npm, `web/tests/socketio_client.mjs`:
//! `send(msg, ack)`, `emitWithAck`, a batch, a notification, the JSON-string
//! form, answering the server's call) and Python's `python-socketio`
//! client (PyPI, `interop/socketio_client.py`), each over WebSocket and over
//! HTTP long-polling. Every line they print is compared byte for byte.
//!
//! Node comes from `SANSRPC_NODE` (else `node`), with `web/node_modules`
//! from `npm ci` in `web/`; Python from `SANSRPC_PYTHON` (else `.venv/bin/python`)
//! with `interop/requirements.txt` installed. Without them the tests print
//! `skipped: ...` and pass, except when the environment variable `CI` is
//! set: then a missing peer is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use sansrpc::Extension;
use sansrpc_socketio::{Client, SocketIoServer};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and {what}: .ci/run must install it");
    }
    eprintln!("skipped: {what}");
}

async fn server() -> std::net::SocketAddr {
    let mut router = sansrpc::reference::router();
    router
        .method("ask_page", async |Extension(page): Extension<Client>| {
            page.call::<i64>("page.add", [2, 3])
                .await
                .map_err(|e| sansrpc::Error::new(-32000, e.to_string()))
        })
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(SocketIoServer::new(router).serve(listener));
    addr
}

/// Runs `program args...` off the runtime; its stdout, or a panic with its
/// output.
async fn run(program: PathBuf, args: Vec<String>) -> String {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&program)
            .args(&args)
            .current_dir(repo_root())
            .output()
    })
    .await
    .unwrap()
    .expect("start the client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const NODE_EXPECTED: &str = r#"send {"jsonrpc":"2.0","result":"pong","id":1}
emitWithAck {"jsonrpc":"2.0","result":19,"id":2}
batch [{"jsonrpc":"2.0","result":7,"id":"1"},{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"}]
notification null
string "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":3}"
parse-error "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\",\"data\":\"key must be a string at line 1 column 2\"},\"id\":null}"
called {"jsonrpc":"2.0","method":"page.add","params":[2,3],"id":1}
both-ways {"jsonrpc":"2.0","result":5,"id":4}
"#;

const PYTHON_EXPECTED: &str = r#"ping {"jsonrpc":"2.0","result":"pong","id":1}
batch [{"jsonrpc":"2.0","result":7,"id":"1"},{"jsonrpc":"2.0","result":19,"id":"2"}]
notification null
string "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":3}"
called {"jsonrpc":"2.0","method":"page.add","params":[2,3],"id":1}
both-ways {"jsonrpc":"2.0","result":5,"id":4}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_socket_io_client() {
    let node = std::env::var_os("SANSRPC_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    if Command::new(&node).arg("--version").output().is_err() {
        return missing("node is not installed");
    }
    if !repo_root().join("web/node_modules/socket.io-client").is_dir() {
        return missing("web/node_modules/socket.io-client is not installed (npm ci in web/)");
    }
    let addr = server().await;
    for transport in ["websocket", "polling"] {
        let out = run(
            node.clone(),
            vec![
                "web/tests/socketio_client.mjs".into(),
                format!("http://{addr}"),
                transport.into(),
            ],
        )
        .await;
        assert_eq!(
            out,
            format!("transport \"{transport}\"\n{NODE_EXPECTED}"),
            "over {transport}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_client() {
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map_or_else(|| repo_root().join(".venv/bin/python"), PathBuf::from);
    let has_it = Command::new(&python)
        .args(["-c", "import socketio, websocket"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_it {
        return missing("python-socketio is not installed (pip install -r interop/requirements.txt)");
    }
    let addr = server().await;
    for transport in ["websocket", "polling"] {
        let out = run(
            python.clone(),
            vec![
                "interop/socketio_client.py".into(),
                format!("http://{addr}"),
                transport.into(),
            ],
        )
        .await;
        assert_eq!(
            out,
            format!("transport \"{transport}\"\n{PYTHON_EXPECTED}"),
            "over {transport}"
        );
    }
}
