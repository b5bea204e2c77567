//! Runs the whole suite against a third-party server — Python's
//! `jsonrpcserver` behind `aiohttp` (conformance/interop/aiohttp_server.py),
//! over HTTP and over newline-delimited TCP — and compares every case's
//! verdict with the checked-in expectation files in
//! conformance/expectations/. Any change fails the test, so a case that
//! silently stops checking (or starts failing) is caught.
//!
//! Python comes from `SANSRPC_PYTHON`, else `.venv/bin/python` at the repo
//! root; without it the test prints `skipped: ...` and passes. Set up with:
//!
//! ```text
//! python3 -m venv .venv && .venv/bin/pip install -r conformance/interop/requirements.txt
//! ```
//!
//! After an intended change, regenerate the expectations with
//! `SANSRPC_BLESS=1 cargo test -p sansrpc-conformance --test third_party`
//! and review the diff.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sansrpc_conformance::{Profile, Report, RunOptions, Suite, Verdict};

/// Kills the server when the test ends, however it ends.
struct ServerGuard {
    child: Child,
    log: PathBuf,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerGuard {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance/ has a parent")
        .to_path_buf()
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn start_server(python: &Path, http_port: u16, tcp_port: u16) -> ServerGuard {
    let script = repo_root().join("conformance/interop/aiohttp_server.py");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jsonrpcserver-aiohttp.log");
    let log_file = File::create(&log).expect("create server log");
    let child = Command::new(python)
        .arg("-u")
        .arg(&script)
        .arg(format!("127.0.0.1:{http_port}"))
        .arg("--tcp")
        .arg(format!("127.0.0.1:{tcp_port}"))
        .stdin(Stdio::null())
        // jsonrpcserver logs a traceback per internal error: a file, never an
        // unread pipe that could fill up and stall the server.
        .stdout(log_file.try_clone().expect("clone log handle"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let mut guard = ServerGuard { child, log };

    let deadline = Instant::now() + Duration::from_secs(60);
    for port in [http_port, tcp_port] {
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = guard.child.try_wait() {
                panic!(
                    "the server exited ({status}) before listening; its output:\n{}",
                    guard.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the server did not listen on port {port} within 60 s; its output:\n{}",
                guard.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    guard
}

/// Compares a run with its expectation file (or rewrites the file when
/// blessing). Returns the differences, one line each.
fn compare(report: &Report, file: &Path, bless: bool) -> Vec<String> {
    let got = report.verdicts();
    if bless {
        let text = serde_json::to_string_pretty(&got).expect("serialize verdicts") + "\n";
        std::fs::write(file, text).expect("write expectations");
        println!("blessed {} ({} cases)", file.display(), got.len());
        return Vec::new();
    }
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (create it with SANSRPC_BLESS=1)",
            file.display()
        )
    });
    let want: BTreeMap<String, String> =
        serde_json::from_str(&text).expect("expectation file is a JSON object of strings");
    let mut diffs = Vec::new();
    for (id, verdict) in &got {
        match want.get(id) {
            None => diffs.push(format!("{id}: new case, now {verdict}")),
            Some(w) if w != verdict => {
                let detail = report
                    .get(id)
                    .map(|r| match &r.verdict {
                        Verdict::Fail { got, why, .. } | Verdict::Warn { got, why, .. } => {
                            format!("\n      got: {got}\n      why: {why}")
                        }
                        _ => String::new(),
                    })
                    .unwrap_or_default();
                diffs.push(format!("{id}: expected {w}, now {verdict}{detail}"));
            }
            Some(_) => {}
        }
    }
    for id in want.keys().filter(|id| !got.contains_key(*id)) {
        diffs.push(format!(
            "{id}: in the expectation file but no longer in the catalog"
        ));
    }
    diffs
}

#[tokio::test]
async fn jsonrpcserver_aiohttp_verdicts_are_unchanged() {
    let root = repo_root();
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    if !python.exists() {
        println!(
            "skipped: no Python at {} (set SANSRPC_PYTHON, or run `python3 -m venv .venv && .venv/bin/pip install jsonrpcserver aiohttp` at the repo root)",
            python.display()
        );
        return;
    }
    let bless = std::env::var_os("SANSRPC_BLESS").is_some_and(|v| v == "1");
    let (http_port, tcp_port) = (free_port(), free_port());
    let server = start_server(&python, http_port, tcp_port);

    // Generous: CI machines are slow, and no case here should wait on it.
    let options = RunOptions {
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let suite = Suite::new(Profile::All);
    let mut diffs = Vec::new();
    for (url, file) in [
        (
            format!("http://127.0.0.1:{http_port}/"),
            "jsonrpcserver-aiohttp.json",
        ),
        (
            format!("tcp://127.0.0.1:{tcp_port}"),
            "jsonrpcserver-asyncio-tcp.json",
        ),
    ] {
        let report = suite
            .run(&url, &options)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}\nserver output:\n{}", server.log_text()));
        let total = report.sections().pop().expect("a total row");
        println!(
            "{url}: {} passed, {} failed, {} warnings, {} skipped",
            total.passed, total.failed, total.warnings, total.skipped
        );
        assert_eq!(report.results.len(), suite.cases().len());
        let path = root.join("conformance/expectations").join(file);
        for d in compare(&report, &path, bless) {
            diffs.push(format!("[{file}] {d}"));
        }
    }
    drop(server);
    assert!(
        diffs.is_empty(),
        "verdicts changed against jsonrpcserver (rerun with SANSRPC_BLESS=1 if intended):\n  {}",
        diffs.join("\n  ")
    );
}
