//! The baseline round trip, through the command-line tool: write a baseline
//! from a server that fails cases, rerun against it (exit 0), break one more
//! case (exit 1, naming it), fix one (exit 0, saying it now passes).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BASE: u8 = 0;
/// Also answers `"id": 0` with id 1: `4/id-zero` fails too.
const BROKEN: u8 = 1;
/// Also answers lines that are not JSON with a parse error: `7/invalid-json` passes.
const FIXED: u8 = 2;

/// A sloppy line server: -32601 for every object with an id, nothing for
/// anything else (so batches, parse errors and invalid requests fail).
async fn sloppy_server(mode: Arc<AtomicU8>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let mode = Arc::clone(&mode);
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut lines = BufReader::new(r).split(b'\n');
                while let Ok(Some(line)) = lines.next_segment().await {
                    let answer = match serde_json::from_slice::<serde_json::Value>(&line) {
                        Ok(v) => match v.get("id") {
                            Some(id) if id == 0 && mode.load(Ordering::SeqCst) == BROKEN => Some("1".to_owned()),
                            Some(id) => Some(id.to_string()),
                            None => None,
                        }
                        .map(|id| {
                            format!(r#"{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"Method not found"}},"id":{id}}}"#)
                        }),
                        Err(_) if mode.load(Ordering::SeqCst) == FIXED => Some(
                            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#.to_owned(),
                        ),
                        Err(_) => None,
                    };
                    if let Some(a) = answer {
                        if w.write_all(format!("{a}\n").as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

async fn cli(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sansrpc-conformance"))
            .args(&args)
            .output()
            .expect("run sansrpc-conformance")
    })
    .await
    .expect("join")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_round_trip() {
    let mode = Arc::new(AtomicU8::new(BASE));
    let port = sloppy_server(Arc::clone(&mode)).await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baseline-round-trip");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("baseline.json");
    let _ = std::fs::remove_file(&file);
    let url = format!("tcp://127.0.0.1:{port}");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a = vec![
            url.clone(),
            "--profile".into(),
            "core".into(),
            "--timeout-ms".into(),
            "1000".into(),
        ];
        // Enough cases to fail several ways, few enough to stay quick.
        for glob in ["4/id-*", "6/mixed", "6/empty-array", "7/invalid-json", "7/batch*"] {
            a.extend(["--case".to_owned(), glob.to_owned()]);
        }
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let file_arg = file.display().to_string();

    // 1. The sloppy server fails MUST cases: exit 1, and the baseline is written.
    let first = cli(args(&["--write-baseline", &file_arg])).await;
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    let written = std::fs::read_to_string(&file).expect("the baseline was written");
    let v: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(v["sansrpc-conformance-baseline"], 1);
    assert_eq!(v["expected"]["7/invalid-json"], "fail", "{written}");
    assert_eq!(v["expected"]["6/mixed"], "fail", "{written}");
    assert!(v["expected"].get("4/id-zero").is_none(), "{written}");

    // 2. The same server against its baseline: exit 0.
    let again = cli(args(&["--baseline", &file_arg])).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again).contains("result: PASS against the baseline (no new failure)"),
        "{}",
        text(&again)
    );

    // 3. One more case broken: exit 1, naming it (and only it).
    mode.store(BROKEN, Ordering::SeqCst);
    let broken = cli(args(&["--baseline", &file_arg])).await;
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        text(&broken).contains("result: FAIL against the baseline (1 new failure(s): 4/id-zero)"),
        "{}",
        text(&broken)
    );

    // 4. One case fixed instead: exit 0, and the baseline entry is named as now passing.
    mode.store(FIXED, Ordering::SeqCst);
    let fixed = cli(args(&["--baseline", &file_arg, "--format", "json"])).await;
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let stderr = String::from_utf8_lossy(&fixed.stderr);
    assert!(stderr.contains("7/invalid-json (expected fail)"), "{stderr}");
    // The JSON report on stdout stays parseable.
    serde_json::from_slice::<serde_json::Value>(&fixed.stdout).expect("JSON on stdout");

    // 5. A baseline that is not one: exit 2.
    std::fs::write(dir.join("bad.json"), "[1,2]").unwrap();
    let bad = cli(args(&["--baseline", &dir.join("bad.json").display().to_string()])).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

/// The matrix subcommand: two servers side by side, one that cannot be
/// reached; the text on stdout, the JSON and HTML in files; exit 2 because
/// one server did not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_through_the_cli() {
    let port = sloppy_server(Arc::new(AtomicU8::new(BASE))).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("matrix-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let (json, html) = (dir.join("m.json"), dir.join("m.html"));
    let out = cli(vec![
        "matrix".into(),
        format!("sloppy=tcp://127.0.0.1:{port}"),
        format!("gone=tcp://127.0.0.1:{dead_port}"),
        "--case".into(),
        "4/id-*".into(),
        "--case".into(),
        "7/invalid-json".into(),
        "--timeout-ms".into(),
        "1000".into(),
        "--json".into(),
        json.display().to_string(),
        "--html".into(),
        html.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("7/invalid-json"))
        .expect("a row per case");
    assert!(row.contains("FAIL: nothing"), "{row}");
    assert!(
        stdout.contains("gone    did not run: target unreachable"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    let zero = cases.iter().find(|c| c["id"] == "4/id-zero").unwrap();
    assert_eq!(zero["results"]["sloppy"]["verdict"], "pass");
    assert!(zero["results"].get("gone").is_none());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("did not run"),
        "{page}"
    );
    // A malformed server argument is a usage error.
    let bad = cli(vec!["matrix".into(), "no-equals-sign".into()]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}
