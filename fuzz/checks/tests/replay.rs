//! Replays every checked-in corpus and regression input through its
//! target's check, on stable, so CI exercises them without nightly.
//!
//! `fuzz/regressions/OPEN_BUGS` lists `target/file` inputs that reproduce
//! a core bug not fixed yet: they must still fail (so the list stays
//! honest); once the core is fixed, remove the line and the input becomes
//! an ordinary regression test.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sansrpc_fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn open_bugs() -> Vec<String> {
    fs::read_to_string(fuzz_dir().join("regressions/OPEN_BUGS"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn fails(check: fn(&[u8]), data: &[u8]) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| check(data))).err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

#[test]
fn replay_corpus_and_regressions() {
    let open = open_bugs();
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut still_open = 0;
    for (target, check) in TARGETS {
        let corpus = inputs("corpus", target);
        assert!(!corpus.is_empty(), "no seed corpus for target {target}");
        for path in corpus.iter().chain(&inputs("regressions", target)) {
            let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = format!(
                "{target}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let failed = fails(*check, &data);
            ran += 1;
            match (open.contains(&name), failed) {
                (false, None) => {}
                (false, Some(why)) => failures.push(format!("{}: {why}", path.display())),
                (true, Some(_)) => still_open += 1,
                (true, None) => failures.push(format!(
                    "{name} is listed in regressions/OPEN_BUGS but passes now: remove the line"
                )),
            }
        }
    }
    eprintln!("replayed {ran} inputs ({still_open} known open bugs still reproduce)");
    assert!(
        failures.is_empty(),
        "{} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
