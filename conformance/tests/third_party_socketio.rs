//! The other direction of the Socket.IO interop: the origin's own server
//! (Python Flask-SocketIO + jsonrpcserver from PyPI,
//! `conformance/interop/socketio_server.py`, the seed's `server.py`) checked
//! by the suite over `socketio://`, every verdict pinned in
//! `conformance/expectations/flask-socketio.json`. Any change fails the
//! test; after an intended one, rerun with `SANSRPC_BLESS=1` and review the
//! diff.
//!
//! Python comes from `SANSRPC_PYTHON`, else `.venv/bin/python`, with
//! `interop/requirements.txt` installed; without it the test prints
//! `skipped: ...` and passes, except when `CI` is set, where a missing peer
//! is a failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sansrpc_conformance::{Profile, RunOptions, Suite};

/// The server process, killed however the test ends.
struct Origin(std::process::Child);

impl Drop for Origin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flask_socketio_verdicts_are_unchanged() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python =
        std::env::var_os("SANSRPC_PYTHON").map_or_else(|| root.join(".venv/bin/python"), PathBuf::from);
    let ready = Command::new(&python)
        .args(["-c", "import flask_socketio, jsonrpcserver, simple_websocket"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and Flask-SocketIO is missing at {}: .ci/run must install interop/requirements.txt",
            python.display()
        );
        println!(
            "skipped: no Flask-SocketIO at {} (pip install -r interop/requirements.txt)",
            python.display()
        );
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log =
        std::fs::File::create(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flask-socketio.log")).unwrap();
    let _origin = Origin(
        Command::new(&python)
            .arg("-u")
            .arg(root.join("conformance/interop/socketio_server.py"))
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the origin's server"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the origin's server did not listen within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let options = RunOptions {
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let report = Suite::new(Profile::All)
        .run(&format!("socketio://127.0.0.1:{port}/"), &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = report.verdicts();
    let file = root.join("conformance/expectations/flask-socketio.json");
    if std::env::var_os("SANSRPC_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&file, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    let want: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the expectation file")).unwrap();
    let changed: Vec<String> = want
        .keys()
        .chain(got.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|id| want.get(*id) != got.get(*id))
        .map(|id| format!("{id}: pinned {:?}, now {:?}", want.get(id), got.get(id)))
        .collect();
    assert!(
        changed.is_empty(),
        "verdicts changed against Flask-SocketIO (SANSRPC_BLESS=1 if intended):\n  {}\n\n{}",
        changed.join("\n  "),
        report.to_text()
    );
}
