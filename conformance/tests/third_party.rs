//! The third-party matrix: the whole suite against real JSON-RPC servers of
//! other projects, each started by this test, each run compared verdict by
//! verdict with its checked-in expectation file in conformance/expectations/.
//! Any change fails the test, so a case that silently stops checking (or
//! starts failing), or a regression in the runner, shows up as a diff.
//!
//! | name | server | transport | file |
//! |---|---|---|---|
//! | `jsonrpcserver-http` | Python jsonrpcserver 5.0.9 behind aiohttp (`interop/aiohttp_server.py`) | HTTP | `jsonrpcserver-aiohttp.json` |
//! | `jsonrpcserver-tcp` | the same dispatcher, newline-delimited TCP | TCP | `jsonrpcserver-asyncio-tcp.json` |
//! | `jayson-http` | jayson 5.0.0 (npm), `server.http()` (`interop/jayson_server.js`) | HTTP | `jayson-http.json` |
//! | `jayson-tcp` | jayson 5.0.0, `server.tcp()` | TCP | `jayson-tcp.json` |
//! | `json-rpc-2.0-http` | json-rpc-2.0 1.8.1 (npm) behind Node's `http` (`interop/json_rpc_2_server.js`) | HTTP | `json-rpc-2.0-http.json` |
//! | `pylsp-stdio` | python-lsp-server 1.15.0 (PyPI), the `pylsp` language server itself | stdio, Content-Length | `pylsp-stdio.json` |
//!
//! The first five run `Profile::All` (their scripts add the spec's example
//! methods); pylsp runs `Profile::Core` (a language server has no such
//! methods), each of its processes first sent `initialize` and
//! `initialized` as an LSP client would. sansrpc's own tokio server runs beside them for comparison
//! (not pinned here: `tests/tests/conformance.rs` holds it to every MUST and
//! SHOULD). The matrix of the run is written to `artifacts/` at the repo
//! root as `conformance-matrix.html`, `.json` and `.txt`.
//!
//! Peers: Python is `$SANSRPC_PYTHON`, else `.venv/bin/python` at the repo
//! root (`pip install -r interop/requirements.txt`), and `pylsp` sits beside
//! it; Node.js is `node` on the PATH with `npm ci` run in
//! `conformance/interop/`. `.ci/run` installs them all. A missing peer is
//! skipped with a message, except when the environment variable `CI` is
//! set: then it fails the test.
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

use sansrpc_conformance::{
    Framing, Matrix, MatrixColumn, Profile, Report, RunOptions, Suite, Target, Verdict,
};

/// Kills a server when the test ends, however it ends.
struct ServerGuard {
    name: &'static str,
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

/// Starts `program args`, with its output in a log file (never an unread
/// pipe that could fill up and stall it), and waits until every port
/// accepts connections.
fn start_server(name: &'static str, program: &Path, args: &[String], ports: &[u16]) -> ServerGuard {
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
    let log_file = File::create(&log).expect("create server log");
    let child = Command::new(program)
        .args(args)
        .current_dir(repo_root().join("conformance/interop"))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("clone log handle"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: cannot start {}: {e}", program.display()));
    let mut guard = ServerGuard { name, child, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    for &port in ports {
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = guard.child.try_wait() {
                panic!(
                    "{name}: the server exited ({status}) before listening; its output:\n{}",
                    guard.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{name}: the server did not listen on port {port} within 60 s; its output:\n{}",
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

/// An LSP session's start: `initialize`, then `initialized`.
const LSP_INIT: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{}}}"#,
    r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
];

/// One column of the matrix: what to run, and the file that pins it.
struct Run {
    name: &'static str,
    /// What the matrix says it is (its URLs have random ports).
    about: &'static str,
    url: String,
    framing: Framing,
    profile: Profile,
    /// Sent to a stdio server every time it starts.
    init: &'static [&'static str],
    pinned: Option<&'static str>,
}

impl Run {
    fn new(name: &'static str, about: &'static str, url: String, pinned: &'static str) -> Run {
        Run {
            name,
            about,
            url,
            framing: Framing::Newline,
            profile: Profile::All,
            init: &[],
            pinned: Some(pinned),
        }
    }
}

/// Why a peer cannot run here, if it cannot.
fn check_peer(program: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(repo_root().join("conformance/interop"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {}: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// sansrpc's own tokio server, in this process, for comparison.
async fn sansrpc_tokio() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(sansrpc_tokio::serve(listener, sansrpc::reference::router()));
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_matrix_verdicts_are_unchanged() {
    let root = repo_root();
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let bless = std::env::var_os("SANSRPC_BLESS").is_some_and(|v| v == "1");
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let pylsp = python.with_file_name(format!("pylsp{}", std::env::consts::EXE_SUFFIX));
    let node = PathBuf::from("node");

    let mut missing = Vec::new();
    let mut guards = Vec::new();
    let mut runs = Vec::new();

    match check_peer(&python, &["-c", "import jsonrpcserver, aiohttp"]) {
        Ok(()) => {
            let (http, tcp) = (free_port(), free_port());
            let args = [
                "-u".to_owned(),
                root.join("conformance/interop/aiohttp_server.py")
                    .display()
                    .to_string(),
                format!("127.0.0.1:{http}"),
                "--tcp".to_owned(),
                format!("127.0.0.1:{tcp}"),
            ];
            guards.push(start_server(
                "jsonrpcserver-aiohttp",
                &python,
                &args,
                &[http, tcp],
            ));
            runs.push(Run::new(
                "jsonrpcserver-http",
                "HTTP: Python jsonrpcserver 5.0.9 + aiohttp 3.14.5",
                format!("http://127.0.0.1:{http}/"),
                "jsonrpcserver-aiohttp.json",
            ));
            runs.push(Run::new(
                "jsonrpcserver-tcp",
                "TCP, lines: jsonrpcserver 5.0.9, asyncio streams",
                format!("tcp://127.0.0.1:{tcp}"),
                "jsonrpcserver-asyncio-tcp.json",
            ));
        }
        Err(e) => missing.push(format!(
            "jsonrpcserver + aiohttp (Python at {}): {e}",
            python.display()
        )),
    }
    match check_peer(&node, &["-e", "require('jayson'); require('json-rpc-2.0')"]) {
        Ok(()) => {
            let (http, tcp, other) = (free_port(), free_port(), free_port());
            let args = [
                "jayson_server.js".to_owned(),
                "--http".to_owned(),
                format!("127.0.0.1:{http}"),
                "--tcp".to_owned(),
                format!("127.0.0.1:{tcp}"),
            ];
            guards.push(start_server("jayson", &node, &args, &[http, tcp]));
            runs.push(Run::new(
                "jayson-http",
                "HTTP: jayson 5.0.0 (npm), server.http()",
                format!("http://127.0.0.1:{http}/"),
                "jayson-http.json",
            ));
            runs.push(Run::new(
                "jayson-tcp",
                "TCP, lines: jayson 5.0.0, server.tcp()",
                format!("tcp://127.0.0.1:{tcp}"),
                "jayson-tcp.json",
            ));
            let args = ["json_rpc_2_server.js".to_owned(), format!("127.0.0.1:{other}")];
            guards.push(start_server("json-rpc-2.0", &node, &args, &[other]));
            runs.push(Run::new(
                "json-rpc-2.0-http",
                "HTTP: json-rpc-2.0 1.8.1 (npm) + node:http",
                format!("http://127.0.0.1:{other}/"),
                "json-rpc-2.0-http.json",
            ));
        }
        Err(e) => missing.push(format!(
            "jayson and json-rpc-2.0 (Node.js, `npm ci` in conformance/interop): {e}"
        )),
    }
    match check_peer(&pylsp, &["--version"]) {
        Ok(()) => runs.push(Run {
            name: "pylsp-stdio",
            about: "stdio, Content-Length: python-lsp-server 1.15.0 (pylsp)",
            url: Target::Stdio {
                command: vec![pylsp.display().to_string()],
            }
            .to_string(),
            framing: Framing::ContentLength,
            profile: Profile::Core,
            // As every LSP client starts a session.
            init: LSP_INIT,
            pinned: Some("pylsp-stdio.json"),
        }),
        Err(e) => missing.push(format!(
            "python-lsp-server (pylsp beside {}): {e}",
            python.display()
        )),
    }
    runs.push(Run {
        name: "sansrpc-tokio",
        about: "TCP, lines: sansrpc-tokio, the reference router (not pinned here)",
        url: format!("tcp://127.0.0.1:{}", sansrpc_tokio().await),
        framing: Framing::Newline,
        profile: Profile::All,
        init: &[],
        pinned: None,
    });

    let mut diffs = Vec::new();
    let mut columns = Vec::new();
    for run in &runs {
        // Generous: CI machines are slow, and no case here should wait on it
        // (streams stop waiting shortly after the probe is answered).
        let options = RunOptions {
            timeout: Duration::from_secs(10),
            framing: run.framing,
            init: run.init.iter().map(|m| (*m).to_owned()).collect(),
        };
        let suite = Suite::new(run.profile);
        let started = Instant::now();
        let report = suite.run(&run.url, &options).await.unwrap_or_else(|e| {
            let logs: Vec<String> = guards
                .iter()
                .map(|g| format!("--- {} ---\n{}", g.name, g.log_text()))
                .collect();
            panic!(
                "{} ({}): {e}\nserver output:\n{}",
                run.name,
                run.url,
                logs.join("\n")
            )
        });
        let total = report.sections().pop().expect("a total row");
        println!(
            "{} ({}): {} passed, {} failed, {} warnings, {} skipped in {:.1?}",
            run.name,
            run.url,
            total.passed,
            total.failed,
            total.warnings,
            total.skipped,
            started.elapsed()
        );
        assert_eq!(report.results.len(), suite.cases().len());
        if let Some(file) = run.pinned {
            let path = root.join("conformance/expectations").join(file);
            for d in compare(&report, &path, bless) {
                diffs.push(format!("[{file}] {d}"));
            }
        }
        columns.push(MatrixColumn {
            name: run.name.to_owned(),
            target: run.about.to_owned(),
            outcome: Ok(report),
        });
    }
    drop(guards);

    let matrix = Matrix::new(columns);
    let artifacts = root.join("artifacts");
    std::fs::create_dir_all(&artifacts).expect("create artifacts/");
    for (file, text) in [
        ("conformance-matrix.html", matrix.to_html()),
        ("conformance-matrix.json", matrix.to_json()),
        ("conformance-matrix.txt", matrix.to_text()),
    ] {
        std::fs::write(artifacts.join(file), text).expect("write the matrix");
    }
    println!(
        "matrix written to {}/conformance-matrix.{{html,json,txt}}",
        artifacts.display()
    );

    if !missing.is_empty() {
        let list = missing.join("\n  ");
        assert!(
            !in_ci,
            "CI is set and peers of the third-party matrix are missing (.ci/run installs them):\n  {list}"
        );
        println!("skipped (not installed here; CI fails on this):\n  {list}");
    }
    assert!(
        diffs.is_empty(),
        "verdicts changed against third-party servers (rerun with SANSRPC_BLESS=1 if intended):\n  {}",
        diffs.join("\n  ")
    );
}
