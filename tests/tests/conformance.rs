//! The whole conformance suite (`Profile::All`) against all four adapters'
//! reference servers (`sansrpc::reference::router()`), over real sockets on
//! 127.0.0.1: every MUST case passes and no SHOULD case warns, on each.
//! INFO cases may differ between adapters (the spec leaves them open).

use std::time::{Duration, Instant};

use sansrpc::Limits;
use sansrpc_conformance::{Level, Profile, RunOptions, Suite, Verdict};
use sansrpc_tests::{Adapter, start};

/// Cases that fail or warn on every adapter because of a known core bug,
/// with the bug. The test requires them to still fail, so that fixing the
/// bug makes this test say to remove the line.
const KNOWN_CORE_BUGS: &[(&str, &str)] = &[];

/// The bound on one adapter's whole run (115 cases, each with its own
/// 2-second timeout, normally a few milliseconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn conformance(adapter: Adapter) {
    let server = start(adapter, sansrpc::reference::router(), Limits::default()).expect("server starts");
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let report = runtime
        .block_on(async {
            tokio::time::timeout(
                RUN_TIMEOUT,
                Suite::new(Profile::All).run(&url, &RunOptions::default()),
            )
            .await
        })
        .unwrap_or_else(|_| panic!("{adapter}: the suite did not finish within {RUN_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{adapter}: the suite could not run: {e}"));
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| KNOWN_CORE_BUGS.iter().all(|(id, _)| *id != r.id))
        .filter(|r| {
            matches!(
                (&r.verdict, r.level),
                (Verdict::Fail { .. }, _) | (Verdict::Warn { .. }, Level::Should | Level::Must)
            )
        })
        .map(|r| format!("{} {} {}", r.verdict.as_str(), r.level.as_str(), r.id))
        .collect();
    let counts = report.results.iter().fold([0usize; 4], |mut c, r| {
        c[match r.verdict {
            Verdict::Pass => 0,
            Verdict::Fail { .. } => 1,
            Verdict::Warn { .. } => 2,
            Verdict::Skip { .. } => 3,
        }] += 1;
        c
    });
    println!(
        "{adapter} ({url}): {} pass, {} fail, {} warn, {} skip in {:.2?}",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        started.elapsed()
    );
    assert!(
        bad.is_empty(),
        "{adapter}: MUST failures or SHOULD warnings: {bad:#?}\n\n{}",
        report.to_text()
    );
    for (id, bug) in KNOWN_CORE_BUGS {
        let verdict = report.get(id).map(|r| r.verdict.as_str());
        assert!(
            matches!(verdict, Some("warn" | "fail")),
            "{adapter}: {id} is now {verdict:?}: the known core bug ({bug}) looks fixed; \
             remove it from KNOWN_CORE_BUGS"
        );
        println!(
            "{adapter}: {id}: known core bug, still {}: {bug}",
            verdict.unwrap_or("?")
        );
    }
    assert!(counts[0] > 0, "{adapter}: no case passed\n{}", report.to_text());
}

#[test]
fn tokio_passes_the_suite() {
    conformance(Adapter::Tokio);
}

#[test]
fn smol_passes_the_suite() {
    conformance(Adapter::Smol);
}

#[test]
fn actix_passes_the_suite() {
    conformance(Adapter::Actix);
}

#[test]
fn warp_passes_the_suite() {
    conformance(Adapter::Warp);
}
