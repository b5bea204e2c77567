//! Runtime-free test material shared by the stream adapters' tests
//! (`sansrpc-smol` includes this file by path).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The JSON-RPC 2.0 specification's section 7 examples: request → the exact
/// answer line (`None`: nothing is sent). Multi-line requests are sent as
/// one line (see [`one_line`]).
pub(crate) const SECTION_7: &[(&str, &str, Option<&str>)] = &[
    (
        "positional params",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
    ),
    (
        "positional params, reversed",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
        Some(r#"{"jsonrpc":"2.0","result":-19,"id":2}"#),
    ),
    (
        "named params",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":3}"#),
    ),
    (
        "named params, reordered",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":4}"#),
    ),
    (
        "notification",
        r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
        None,
    ),
    (
        "notification, unknown method",
        r#"{"jsonrpc": "2.0", "method": "foobar"}"#,
        None,
    ),
    (
        "non-existent method",
        r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"}"#),
    ),
    (
        "invalid JSON",
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#),
    ),
    (
        "invalid request object",
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
    ),
    (
        "batch, invalid JSON",
        r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#),
    ),
    (
        "empty array",
        r#"[]"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
    ),
    (
        "invalid batch, not empty",
        r#"[1]"#,
        Some(r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]"#),
    ),
    (
        "invalid batch",
        r#"[1,2,3]"#,
        Some(concat!(
            r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]"#
        )),
    ),
    (
        "batch",
        r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
        Some(concat!(
            r#"[{"jsonrpc":"2.0","result":7,"id":"1"},"#,
            r#"{"jsonrpc":"2.0","result":19,"id":"2"},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"},"#,
            r#"{"jsonrpc":"2.0","result":["hello",5],"id":"9"}]"#
        )),
    ),
    (
        "batch, all notifications",
        r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
        None,
    ),
];

/// A request as one line (the multi-line examples compacted), with `\n`.
pub(crate) fn one_line(request: &str) -> String {
    let mut line: String = request.lines().map(str::trim).collect();
    line.push('\n');
    line
}

/// The call sent after a request that must get no answer: the next line
/// read must be [`PROBE_ANSWER`].
pub(crate) const PROBE: &str = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"probe\"}\n";
/// The answer to [`PROBE`].
pub(crate) const PROBE_ANSWER: &str = r#"{"jsonrpc":"2.0","result":"pong","id":"probe"}"#;

/// `{"jsonrpc":"2.0","method":"sleep","params":[ms],"id":id}` and a newline.
pub(crate) fn sleep_call(id: u64, ms: u64) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"sleep\",\"params\":[{ms}],\"id\":{id}}}\n")
}

/// The id of an answer line.
pub(crate) fn answer_id(line: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(line).expect("answer is JSON");
    v["id"].clone()
}

/// The Python interpreter for interop tests: `$SANSRPC_PYTHON`, else the
/// repository's `.venv`, else `python3` on `PATH` (the stream client needs
/// only the standard library).
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SANSRPC_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// The workspace root.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `interop/tcp_client.py` against `addr` (blocking) and asserts that
/// every check passed.
pub(crate) fn run_python_tcp_client(addr: std::net::SocketAddr) {
    let script = repo_root().join("interop/tcp_client.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .output()
        .expect("run the Python interop client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("PASS") && !stdout.contains("FAIL"),
        "python client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
