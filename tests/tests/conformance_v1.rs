//! The conformance suite's `v1` profile (the JSON-RPC 1.0 cases) against
//! all four adapters' reference servers set to `Version::V1` and to
//! `Version::Auto`, over real sockets on 127.0.0.1: every MUST case passes
//! and no SHOULD case warns, on each.

use std::time::Duration;

use sansrpc::{Limits, Version};
use sansrpc_conformance::{Level, Profile, RunOptions, Suite, Verdict};
use sansrpc_tests::{Adapter, start};

/// The v1 report of `adapter` under `version`: the cases that failed, or
/// warned at MUST/SHOULD, or were skipped.
fn bad_cases(adapter: Adapter, version: Version) -> Vec<String> {
    let limits = Limits {
        version,
        ..Limits::default()
    };
    let server = start(adapter, sansrpc::reference::router(), limits).expect("server starts");
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let suite = Suite::new(Profile::V1);
    let report = runtime
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), suite.run(&url, &RunOptions::default())).await
        })
        .unwrap_or_else(|_| panic!("{adapter}: the v1 suite did not finish in time"))
        .unwrap_or_else(|e| panic!("{adapter}: the v1 suite could not run: {e}"));
    assert_eq!(report.results.len(), suite.cases().len());
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            matches!(
                (&r.verdict, r.level),
                (Verdict::Fail { .. }, _)
                    | (Verdict::Warn { .. }, Level::Should | Level::Must)
                    | (Verdict::Skip { .. }, _)
            )
        })
        .map(|r| {
            format!(
                "{} {} {}: {:?}",
                r.verdict.as_str(),
                r.level.as_str(),
                r.id,
                r.verdict
            )
        })
        .collect();
    let passed = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    println!(
        "{adapter} {version:?}: {passed} of {} v1 cases passed",
        report.results.len()
    );
    bad
}

#[test]
fn v1_profile_passes_on_every_adapter_in_v1_and_auto() {
    for version in [Version::V1, Version::Auto] {
        for adapter in Adapter::ALL {
            let bad = bad_cases(adapter, version);
            assert!(bad.is_empty(), "{adapter} under {version:?}:\n{}", bad.join("\n"));
        }
    }
}

/// The profile can fail: a 2.0-only server fails its MUST cases.
#[test]
fn v1_profile_fails_on_a_2_0_only_server() {
    let bad = bad_cases(Adapter::Tokio, Version::V2);
    assert!(bad.iter().any(|b| b.contains("v1/echo-example")), "{bad:?}");
}
