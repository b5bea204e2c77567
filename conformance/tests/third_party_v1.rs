//! The `v1` profile (the JSON-RPC 1.0 cases) against a third-party 1.0
//! server: jayson (npm) with `version: 1` over HTTP
//! (interop/jayson/peer.js, installed by `.ci/run` with `npm ci` in
//! interop/jayson). Every case's verdict is compared with the checked-in
//! conformance/expectations/jayson-v1-http.json; any change fails.
//!
//! Only HTTP: on streams the suite marks the end of each case with a 2.0
//! probe call without `params`, which jayson's version-1 mode rejects with
//! `id: null`, so the probe's answer could not be recognised.
//!
//! Node comes from `SANSRPC_NODE`, else `node` on the PATH; without node
//! or jayson the test prints `skipped: ...` and passes, unless `CI` is set:
//! then it fails. Regenerate after an intended change with
//! `SANSRPC_BLESS=1 cargo test -p sansrpc-conformance --test third_party_v1`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sansrpc_conformance::{Profile, RunOptions, Suite};

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

#[tokio::test]
async fn jayson_v1_verdicts_are_unchanged() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("conformance/ has a parent")
        .to_path_buf();
    let node = std::env::var_os("SANSRPC_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let dir = root.join("interop/jayson");
    let has_node = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_node || !dir.join("node_modules/jayson/package.json").is_file() {
        let why = "node or jayson missing (cd interop/jayson && npm ci)";
        assert!(std::env::var_os("CI").is_none(), "CI is set and {why}");
        println!("skipped: {why}");
        return;
    }
    let (http, tcp, ws) = (free_port(), free_port(), free_port());
    let mut child = Command::new(&node)
        .arg(dir.join("peer.js"))
        .args(["server", &http.to_string(), &tcp.to_string(), &ws.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let _guard = NodeGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the ready line");
    assert_eq!(line.trim(), "ready");

    let options = RunOptions {
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let suite = Suite::new(Profile::V1);
    let report = suite
        .run(&format!("http://127.0.0.1:{http}/"), &options)
        .await
        .expect("the suite runs");
    assert_eq!(report.results.len(), suite.cases().len());
    let got = report.verdicts();
    let file = root.join("conformance/expectations/jayson-v1-http.json");
    if std::env::var_os("SANSRPC_BLESS").is_some_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(&got).expect("serialize") + "\n";
        std::fs::write(&file, text).expect("write expectations");
        println!("blessed {}", file.display());
        return;
    }
    let text = std::fs::read_to_string(&file).expect("the expectation file");
    let want: BTreeMap<String, String> = serde_json::from_str(&text).expect("a JSON object of strings");
    let got: BTreeMap<String, String> = got.into_iter().collect();
    if got != want {
        let diffs: Vec<String> = got
            .iter()
            .filter(|(id, v)| want.get(*id) != Some(*v))
            .map(|(id, v)| {
                let detail = report
                    .get(id)
                    .map(|r| format!("{:?}", r.verdict))
                    .unwrap_or_default();
                format!("{id}: expected {:?}, now {v}: {detail}", want.get(id))
            })
            .chain(
                want.keys()
                    .filter(|id| !got.contains_key(*id))
                    .map(|id| format!("{id}: gone")),
            )
            .collect();
        panic!(
            "jayson v1 verdicts changed (SANSRPC_BLESS=1 if intended):\n  {}",
            diffs.join("\n  ")
        );
    }
    println!("{}", report.to_text());
}
