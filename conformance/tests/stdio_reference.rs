//! The whole suite (`Profile::All`) over `stdio:` against a stdio build of
//! sansrpc's own reference server (`tokio_reference --stdio`, the example of
//! sansrpc-tokio): every MUST case passes and no SHOULD case warns, as over
//! TCP. The example is built first with the cargo running this test.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sansrpc_conformance::{Level, Profile, RunOptions, Suite, Target, Verdict};

/// Builds the example and returns its path.
fn reference_binary() -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "sansrpc-tokio",
            "--example",
            "tokio_reference",
        ])
        .env("CARGO_TARGET_DIR", target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --example tokio_reference: {status}"
    );
    let bin = profile_dir
        .join("examples")
        .join(format!("tokio_reference{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

#[tokio::test]
async fn reference_server_over_stdio_passes_every_must_and_should() {
    let bin = reference_binary();
    let target = Target::Stdio {
        command: vec![bin.display().to_string(), "--stdio".to_owned()],
    };
    let options = RunOptions {
        timeout: Duration::from_secs(10),
        ..RunOptions::default()
    };
    let report = Suite::new(Profile::All)
        .run(&target.to_string(), &options)
        .await
        .unwrap_or_else(|e| panic!("{target}: {e}"));
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            matches!(
                (&r.verdict, r.level),
                (Verdict::Fail { .. }, _) | (Verdict::Warn { .. }, Level::Should | Level::Must)
            )
        })
        .map(|r| format!("{} {} {}", r.verdict.as_str(), r.level, r.id))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}\n{}", report.to_text());
    // Every stream case ran (none skipped for the transport), the server was
    // started once and killed at the end, and its log says so.
    for id in [
        "tcp/two-messages-one-write",
        "tcp/oversized-line",
        "7/batch",
        "4.1/notification-unknown-method",
    ] {
        assert_eq!(report.get(id).map(|r| r.verdict.as_str()), Some("pass"), "{id}");
    }
    let log = report.server_log.clone().unwrap_or_default();
    assert_eq!(log.matches("] started ").count(), 1, "{log}");
    assert!(log.contains("stopped (the run is over): signal: 9"), "{log}");
}
