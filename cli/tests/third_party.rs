//! The `sansrpc` command (so `sansrpc-http-client` over HTTP and
//! `sansrpc-tokio`'s client over TCP) against servers nobody here wrote:
//! Python's `jsonrpcserver` behind `aiohttp`
//! (`conformance/interop/aiohttp_server.py`, HTTP and TCP) and jayson from
//! npm (`conformance/interop/jayson_server.js`, HTTP and TCP).
//!
//! Python comes from `SANSRPC_PYTHON`, else `.venv/bin/python` at the repo
//! root; jayson from `conformance/interop/node_modules` (`npm ci` there).
//! `.ci/run` installs both. Without them a test prints `skipped: ...` and
//! passes — unless the environment variable `CI` is set, where a missing
//! peer is a failure.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
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

/// `None` (after saying so) when the peer is missing outside CI.
fn missing(what: &str, how: &str) -> Option<PathBuf> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing and CI is set: {how}"
    );
    println!("skipped: {what} is missing ({how})");
    None
}

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import jsonrpcserver, aiohttp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        missing(
            &format!("Python with jsonrpcserver and aiohttp at {}", python.display()),
            "python3 -m venv .venv && .venv/bin/pip install -r interop/requirements.txt",
        )
    }
}

fn node() -> Option<PathBuf> {
    let interop = repo_root().join("conformance/interop");
    let ok = interop.join("node_modules/jayson/package.json").is_file()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        Some(PathBuf::from("node"))
    } else {
        missing("node with jayson", "cd conformance/interop && npm ci")
    }
}

fn start(program: &Path, args: &[String], ports: [u16; 2]) -> Server {
    let server = Server(
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display())),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    for port in ports {
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port}",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    server
}

fn sansrpc(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sansrpc"))
        .args(["--timeout", "10"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

#[track_caller]
fn check(out: &Output, code: i32, stdout: &str, stderr_starts: &str) {
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        (out.status.code(), o.as_ref()),
        (Some(code), stdout),
        "stderr: {e}"
    );
    assert!(
        e.starts_with(stderr_starts),
        "stderr: {e:?}, wanted {stderr_starts:?}"
    );
    if stderr_starts.is_empty() {
        assert_eq!(e, "");
    }
}

const BATCH: &str = r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1, 2, 4], "id": "1"},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
  {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": "2"},
  {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
  {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]"#;

/// What every server with the spec's example methods answers alike.
fn same_calls(url: &str) {
    check(&sansrpc(&["call", url, "ping"], ""), 0, "\"pong\"\n", "");
    check(
        &sansrpc(&["call", url, "subtract", "[42, 23]"], ""),
        0,
        "19\n",
        "",
    );
    check(
        &sansrpc(
            &["call", url, "subtract", r#"{"subtrahend": 23, "minuend": 42}"#],
            "",
        ),
        0,
        "19\n",
        "",
    );
    check(
        &sansrpc(&["call", url, "get_data"], ""),
        0,
        "[\n  \"hello\",\n  5\n]\n",
        "",
    );
    check(
        &sansrpc(&["call", url, "nope"], ""),
        1,
        "",
        "error: {\"code\":-32601,",
    );
    check(&sansrpc(&["notify", url, "update", "[1, 2, 3]"], ""), 0, "", "");
    let out = sansrpc(&["batch", url, "-"], BATCH);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let answers: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let answers = answers.as_array().unwrap();
    let ids: Vec<&str> = answers.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "5", "9"]);
    assert_eq!(answers[0]["result"], 7);
    assert_eq!(answers[1]["result"], 19);
    assert_eq!(answers[2]["error"]["code"], -32601);
    assert_eq!(answers[3]["result"], serde_json::json!(["hello", 5]));
}

#[test]
fn jsonrpcserver_behind_aiohttp_over_http_and_tcp() {
    let Some(python) = python() else { return };
    let (http, tcp) = (free_port(), free_port());
    let script = repo_root().join("conformance/interop/aiohttp_server.py");
    let _server = start(
        &python,
        &[
            "-u".to_owned(),
            script.display().to_string(),
            format!("127.0.0.1:{http}"),
            "--tcp".to_owned(),
            format!("127.0.0.1:{tcp}"),
        ],
        [http, tcp],
    );
    let http_url = format!("http://127.0.0.1:{http}/");
    same_calls(&http_url);
    same_calls(&format!("tcp://127.0.0.1:{tcp}"));
    // The origin tutorial's two lines, from our client, byte for byte.
    let out = sansrpc(&["-v", "call", &http_url, "ping"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "\"pong\"\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\": \"2.0\", \"result\": \"pong\", \"id\": 1} (200 OK)\n",
        )
    );
}

#[test]
fn jayson_over_http_and_tcp() {
    let Some(node) = node() else { return };
    let (http, tcp) = (free_port(), free_port());
    let script = repo_root().join("conformance/interop/jayson_server.js");
    let _server = start(
        &node,
        &[
            script.display().to_string(),
            "--http".to_owned(),
            format!("127.0.0.1:{http}"),
            "--tcp".to_owned(),
            format!("127.0.0.1:{tcp}"),
        ],
        [http, tcp],
    );
    same_calls(&format!("http://127.0.0.1:{http}/"));
    same_calls(&format!("tcp://127.0.0.1:{tcp}"));
}
