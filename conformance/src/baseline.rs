//! Baselines: the failures and warnings a project already knows about, so
//! its CI fails only on a new one (as the MCP conformance suite does).
//!
//! A baseline file is JSON:
//!
//! ```json
//! {
//!   "sansrpc-conformance-baseline": 1,
//!   "target": "http://127.0.0.1:8080/",
//!   "profile": "all",
//!   "expected": { "6/invalid-entries": "fail", "2/nan-literal": "warn" }
//! }
//! ```
//!
//! Only `expected` is read; `target` and `profile` are notes for people. A
//! plain object of case id → verdict (the shape of
//! [`Report::verdicts`], as in the suite's own expectation files) is read
//! as a baseline too, its `pass` and `skip` entries ignored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::report::{Report, Verdict};

/// The expected failures and warnings of one server, by case id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Case id → `"fail"` or `"warn"`.
    pub expected: BTreeMap<String, String>,
}

/// How a run compares with a [`Baseline`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaselineCheck {
    /// Cases that failed and are not expected to: these fail the run.
    pub new_failures: Vec<String>,
    /// Cases that warned and are not expected to (they do not fail the run).
    pub new_warnings: Vec<String>,
    /// Expected failures and warnings that passed this time, with what was
    /// expected: the baseline can lose these lines.
    pub now_passing: Vec<(String, String)>,
    /// Expected failures and warnings that came out as expected.
    pub as_expected: usize,
    /// Entries of the baseline that did not run (skipped, filtered out, or
    /// not in the catalog), with why.
    pub not_run: Vec<(String, String)>,
}

impl BaselineCheck {
    /// Whether the run passes against the baseline: no new failure.
    pub fn passed(&self) -> bool {
        self.new_failures.is_empty()
    }

    /// The comparison for people: what is new, what now passes, and the
    /// result line.
    pub fn to_text(&self, file: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "BASELINE {file}: {} expected failure(s)/warning(s) as expected",
            self.as_expected
        );
        let lists: [(&str, Vec<String>); 4] = [
            ("new failures (not in the baseline)", self.new_failures.clone()),
            (
                "new warnings (not in the baseline; they do not fail the run)",
                self.new_warnings.clone(),
            ),
            (
                "now passing (expected to fail or warn; remove them from the baseline)",
                self.now_passing
                    .iter()
                    .map(|(id, was)| format!("{id} (expected {was})"))
                    .collect(),
            ),
            (
                "in the baseline but not run",
                self.not_run
                    .iter()
                    .map(|(id, why)| format!("{id} ({why})"))
                    .collect(),
            ),
        ];
        for (title, items) in lists {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title}:");
            for item in items {
                let _ = writeln!(out, "    {item}");
            }
        }
        if self.passed() {
            let _ = writeln!(out, "result: PASS against the baseline (no new failure)");
        } else {
            let _ = writeln!(
                out,
                "result: FAIL against the baseline ({} new failure(s): {})",
                self.new_failures.len(),
                self.new_failures.join(", ")
            );
        }
        out
    }
}

impl Baseline {
    /// The failures and warnings of a run.
    pub fn from_report(report: &Report) -> Baseline {
        Baseline {
            expected: report
                .results
                .iter()
                .filter(|r| matches!(r.verdict, Verdict::Fail { .. } | Verdict::Warn { .. }))
                .map(|r| (r.id.to_owned(), r.verdict.as_str().to_owned()))
                .collect(),
        }
    }

    /// Reads a baseline file's text.
    ///
    /// ```
    /// use sansrpc_conformance::Baseline;
    /// let b = Baseline::parse(r#"{"expected":{"6/mixed":"fail","2/nan-literal":"warn"}}"#).unwrap();
    /// assert_eq!(b.expected.len(), 2);
    /// let flat = Baseline::parse(r#"{"6/mixed":"fail","4/id-zero":"pass"}"#).unwrap();
    /// assert_eq!(flat.expected.len(), 1);
    /// assert!(Baseline::parse(r#"{"expected":{"6/mixed":"broken"}}"#).is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Value::Object(mut obj) = v else {
            return Err("a baseline is a JSON object".to_owned());
        };
        let (entries, flat) = match obj.remove("expected") {
            Some(Value::Object(e)) => (e, false),
            Some(_) => {
                return Err("\"expected\" must be an object of case id → \"fail\" or \"warn\"".to_owned());
            }
            None => (obj, true),
        };
        let mut expected = BTreeMap::new();
        for (id, verdict) in entries {
            match verdict.as_str() {
                Some(v @ ("fail" | "warn")) => {
                    expected.insert(id, v.to_owned());
                }
                Some("pass" | "skip") if flat => {}
                _ => {
                    return Err(format!(
                        "{id}: {verdict} is not an expected verdict (\"fail\" or \"warn\")"
                    ));
                }
            }
        }
        Ok(Baseline { expected })
    }

    /// The baseline file's text for a run (pretty JSON, ids sorted).
    pub fn to_json(&self, report: &Report) -> String {
        let v = json!({
            "sansrpc-conformance-baseline": 1,
            "target": report.target,
            "profile": report.profile,
            "expected": self.expected,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// Compares a run with the baseline.
    pub fn check(&self, report: &Report) -> BaselineCheck {
        let mut c = BaselineCheck::default();
        for r in &report.results {
            let expected = self.expected.get(r.id).map(String::as_str);
            match (&r.verdict, expected) {
                (Verdict::Fail { .. }, Some("fail")) | (Verdict::Warn { .. }, Some("warn")) => {
                    c.as_expected += 1
                }
                (Verdict::Fail { .. }, _) => c.new_failures.push(r.id.to_owned()),
                (Verdict::Warn { .. }, _) => c.new_warnings.push(r.id.to_owned()),
                (Verdict::Pass, Some(was)) => c.now_passing.push((r.id.to_owned(), was.to_owned())),
                (Verdict::Skip { reason }, Some(_)) => c.not_run.push((r.id.to_owned(), reason.clone())),
                (Verdict::Pass | Verdict::Skip { .. }, None) => {}
            }
        }
        for id in self.expected.keys() {
            if report.get(id).is_none() {
                c.not_run
                    .push((id.clone(), "not selected, or not in the catalog".to_owned()));
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Profile, TransportKind};
    use crate::catalog::catalog;
    use crate::report::CaseResult;
    use std::time::Duration;

    fn report(verdicts: &[(&str, &str)]) -> Report {
        let cases = catalog();
        let results = verdicts
            .iter()
            .map(|(id, v)| {
                let case = cases.iter().find(|c| c.id == *id).unwrap();
                let detail = || ("e".to_owned(), "g".to_owned(), "w".to_owned());
                let verdict = match *v {
                    "pass" => Verdict::Pass,
                    "fail" => {
                        let (expected, got, why) = detail();
                        Verdict::Fail { expected, got, why }
                    }
                    "warn" => {
                        let (expected, got, why) = detail();
                        Verdict::Warn { expected, got, why }
                    }
                    _ => Verdict::Skip { reason: "r".into() },
                };
                CaseResult::new(case, verdict, String::new(), Duration::ZERO)
            })
            .collect();
        Report {
            target: "tcp://127.0.0.1:1".into(),
            transport: TransportKind::Stream,
            profile: Profile::All,
            duration: Duration::ZERO,
            results,
            server_log: None,
        }
    }

    #[test]
    fn round_trip_and_compare() {
        let first = report(&[
            ("6/mixed", "fail"),
            ("2/nan-literal", "warn"),
            ("4/id-zero", "pass"),
        ]);
        let b = Baseline::from_report(&first);
        let again = Baseline::parse(&b.to_json(&first)).unwrap();
        assert_eq!(again, b);
        let same = again.check(&first);
        assert!(same.passed());
        assert_eq!(same.as_expected, 2);

        let worse = report(&[
            ("6/mixed", "pass"),
            ("2/nan-literal", "warn"),
            ("4/id-zero", "fail"),
        ]);
        let c = again.check(&worse);
        assert!(!c.passed());
        assert_eq!(c.new_failures, ["4/id-zero"]);
        assert_eq!(c.now_passing, [("6/mixed".to_owned(), "fail".to_owned())]);
        let text = c.to_text("b.json");
        assert!(
            text.contains("result: FAIL against the baseline (1 new failure(s): 4/id-zero)"),
            "{text}"
        );
        assert!(text.contains("6/mixed (expected fail)"), "{text}");

        let skipped = report(&[("6/mixed", "skip")]);
        let c = again.check(&skipped);
        assert!(c.passed());
        assert_eq!(c.not_run.len(), 2);
    }
}
