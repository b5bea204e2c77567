//! Runtime-free test material shared by the stream adapters' tests.

use std::path::PathBuf;
use std::process::Command;

/// The specification's section 7 examples, from the core (one table for
/// every transport's tests).
pub use sansrpc::reference::SECTION_7;

/// A request as one line (the multi-line examples compacted), with `\n`.
pub fn one_line(request: &str) -> String {
    let mut line: String = request.lines().map(str::trim).collect();
    line.push('\n');
    line
}

/// The call sent after a request that must get no answer: the next line
/// read must be [`PROBE_ANSWER`].
pub const PROBE: &str = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"probe\"}\n";
/// The answer to [`PROBE`].
pub const PROBE_ANSWER: &str = r#"{"jsonrpc":"2.0","result":"pong","id":"probe"}"#;

/// `{"jsonrpc":"2.0","method":"sleep","params":[ms],"id":id}` and a newline.
pub fn sleep_call(id: u64, ms: u64) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"sleep\",\"params\":[{ms}],\"id\":{id}}}\n")
}

/// The id of an answer line.
pub fn answer_id(line: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(line).expect("answer is JSON");
    v["id"].clone()
}

/// The Python interpreter for interop tests: `$SANSRPC_PYTHON`, else the
/// repository's `.venv`, else `python3` on `PATH` (the stream client needs
/// only the standard library).
pub fn python() -> PathBuf {
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
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `interop/tcp_client.py` against `addr` (blocking) and asserts that
/// every check passed.
pub fn run_python_tcp_client(addr: std::net::SocketAddr) {
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
