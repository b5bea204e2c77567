//! Verdicts and reports: text for people, JSON for tools, JUnit for CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::case::{Case, Level, Profile, TransportKind};
use crate::catalog::SECTIONS;

/// The verdict on one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// The answer met the expectation.
    Pass,
    /// A MUST case's expectation was not met.
    Fail {
        /// What the case expected.
        expected: String,
        /// What came back.
        got: String,
        /// Why that falls short.
        why: String,
    },
    /// A SHOULD or INFO case's expectation was not met.
    Warn {
        /// What the case expected.
        expected: String,
        /// What came back.
        got: String,
        /// Why that falls short.
        why: String,
    },
    /// The case did not run.
    Skip {
        /// Why not (profile, transport).
        reason: String,
    },
}

impl Verdict {
    /// `"pass"`, `"fail"`, `"warn"` or `"skip"`: the word used in expectation files.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Warn { .. } => "warn",
            Verdict::Skip { .. } => "skip",
        }
    }
}

/// The outcome of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case id, e.g. `4.1/notification-unknown-method`.
    pub id: &'static str,
    /// Its section.
    pub section: &'static str,
    /// Its level.
    pub level: Level,
    /// What it checks.
    pub title: &'static str,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The bytes sent, printable and possibly shortened.
    pub sent: String,
    /// What came back, in one line (absent for skipped cases).
    pub observed: Option<String>,
    /// What came back, in a few words ([`Observed::brief`](crate::Observed::brief)):
    /// what side-by-side tables show (absent for skipped cases).
    pub answer: Option<String>,
    /// How long the case took.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

impl CaseResult {
    /// A result for `case`.
    pub fn new(case: &Case, verdict: Verdict, sent: String, elapsed: Duration) -> CaseResult {
        CaseResult {
            id: case.id,
            section: case.section(),
            level: case.level,
            title: case.title,
            verdict,
            sent,
            observed: None,
            answer: None,
            elapsed,
        }
    }

    /// One progress line: verdict, level, id, time.
    pub fn progress_line(&self) -> String {
        let word = match &self.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "FAIL",
            Verdict::Warn { .. } => "warn",
            Verdict::Skip { .. } => "skip",
        };
        match &self.verdict {
            Verdict::Skip { reason } => format!("{word}  {:<6}  {}  ({reason})", self.level, self.id),
            _ => format!(
                "{word}  {:<6}  {}  ({} ms)",
                self.level,
                self.id,
                self.elapsed.as_millis()
            ),
        }
    }
}

/// Counts for one section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SectionSummary {
    /// The section, e.g. `4.1` or `http`.
    pub section: String,
    /// Its title.
    pub title: String,
    /// Cases passed.
    pub passed: usize,
    /// MUST cases failed.
    pub failed: usize,
    /// SHOULD or INFO cases not met.
    pub warnings: usize,
    /// Cases skipped.
    pub skipped: usize,
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The target URL.
    pub target: String,
    /// The transport kind.
    pub transport: TransportKind,
    /// The profile.
    pub profile: Profile,
    /// How long the run took.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// One result per case, in catalog order.
    pub results: Vec<CaseResult>,
    /// What the server wrote beside the protocol, when the transport
    /// captures it (`stdio:`: its stderr and the suite's notes on every
    /// start, exit and kill of the process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_log: Option<String>,
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Report {
    /// The result of one case, by id.
    pub fn get(&self, id: &str) -> Option<&CaseResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// The failed MUST cases. None means the server conforms (on what ran).
    pub fn must_failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail { .. }))
    }

    /// Whether no MUST case failed.
    pub fn passed(&self) -> bool {
        self.must_failures().next().is_none()
    }

    /// Case id → `pass`/`fail`/`warn`/`skip`, sorted by id: the shape of an
    /// expectation file.
    pub fn verdicts(&self) -> BTreeMap<String, String> {
        self.results
            .iter()
            .map(|r| (r.id.to_owned(), r.verdict.as_str().to_owned()))
            .collect()
    }

    /// Counts per section, in spec order, then a `total` row.
    pub fn sections(&self) -> Vec<SectionSummary> {
        let mut rows: Vec<SectionSummary> = SECTIONS
            .iter()
            .map(|(s, t)| SectionSummary {
                section: (*s).to_owned(),
                title: (*t).to_owned(),
                ..SectionSummary::default()
            })
            .collect();
        let mut total = SectionSummary {
            section: "total".to_owned(),
            ..SectionSummary::default()
        };
        for r in &self.results {
            let Some(row) = rows.iter_mut().find(|row| row.section == r.section) else {
                continue;
            };
            for s in [row, &mut total] {
                match r.verdict {
                    Verdict::Pass => s.passed += 1,
                    Verdict::Fail { .. } => s.failed += 1,
                    Verdict::Warn { .. } => s.warnings += 1,
                    Verdict::Skip { .. } => s.skipped += 1,
                }
            }
        }
        rows.retain(|r| r.passed + r.failed + r.warnings + r.skipped > 0);
        rows.push(total);
        rows
    }

    /// The text report: a per-section table, then what was sent, expected
    /// and received for every failure and warning, then the result line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sansrpc-conformance {} against {} ({}), profile {}: {} cases in {:.1} s",
            env!("CARGO_PKG_VERSION"),
            self.target,
            self.transport,
            self.profile,
            self.results.len(),
            self.duration.as_secs_f64()
        );
        out.push('\n');
        let _ = writeln!(
            out,
            "{:<8} {:<38} {:>6} {:>6} {:>8} {:>7}",
            "section", "", "passed", "failed", "warnings", "skipped"
        );
        for s in self.sections() {
            if s.section == "total" {
                let _ = writeln!(out, "{}", "-".repeat(78));
            }
            let _ = writeln!(
                out,
                "{:<8} {:<38} {:>6} {:>6} {:>8} {:>7}",
                s.section, s.title, s.passed, s.failed, s.warnings, s.skipped
            );
        }
        for (heading, want_fail) in [("FAILURES (MUST)", true), ("WARNINGS (SHOULD / INFO)", false)] {
            let items: Vec<&CaseResult> = self
                .results
                .iter()
                .filter(|r| match r.verdict {
                    Verdict::Fail { .. } => want_fail,
                    Verdict::Warn { .. } => !want_fail,
                    _ => false,
                })
                .collect();
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{heading}");
            for r in items {
                let (Verdict::Fail { expected, got, why } | Verdict::Warn { expected, got, why }) =
                    &r.verdict
                else {
                    continue;
                };
                let _ = writeln!(out, "\n  {} [{}] {}", r.id, r.level, r.title);
                let _ = writeln!(out, "    sent:     {}", r.sent);
                let _ = writeln!(out, "    expected: {expected}");
                let _ = writeln!(out, "    got:      {got}");
                let _ = writeln!(out, "    why:      {why}");
            }
        }
        if let Some(log) = self.server_log.as_deref().filter(|l| !l.trim().is_empty()) {
            const SHOWN: usize = 4096;
            let mut start = log.len().saturating_sub(SHOWN);
            while !log.is_char_boundary(start) {
                start += 1;
            }
            let _ = writeln!(
                out,
                "\nSERVER LOG ({} bytes{})\n",
                log.len(),
                if start > 0 {
                    ", the last 4 KiB; all of it is in the JSON report"
                } else {
                    ""
                }
            );
            for line in log.get(start..).unwrap_or_default().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        let fails = self.must_failures().count();
        out.push('\n');
        if fails == 0 {
            let _ = writeln!(out, "result: PASS (no MUST case failed)");
        } else {
            let _ = writeln!(out, "result: FAIL ({fails} MUST case(s) failed)");
        }
        out
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as JUnit XML: a `testsuite` per section, a `testcase` per
    /// case. MUST failures are `<failure>`s; warnings pass with the details
    /// in `<system-out>`; skipped cases are `<skipped>`; the server log, if
    /// any, is the `<system-err>` of a last, empty suite named `server log`.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let summaries = self.sections();
        let total = summaries.last().cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "<testsuites name=\"sansrpc-conformance {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&self.target),
            self.results.len(),
            total.failed,
            total.skipped,
            self.duration.as_secs_f64()
        );
        for s in summaries.iter().filter(|s| s.section != "total") {
            let cases: Vec<&CaseResult> = self.results.iter().filter(|r| r.section == s.section).collect();
            let time: f64 = cases.iter().map(|r| r.elapsed.as_secs_f64()).sum();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{time:.3}\">",
                xml(&s.section),
                xml(&s.title),
                cases.len(),
                s.failed,
                s.skipped
            );
            for r in cases {
                let _ = write!(
                    out,
                    "    <testcase classname=\"jsonrpc.{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(r.section),
                    xml(r.id),
                    r.elapsed.as_secs_f64()
                );
                match &r.verdict {
                    Verdict::Pass => out.push_str("/>\n"),
                    Verdict::Skip { reason } => {
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(reason)
                        );
                    }
                    Verdict::Fail { expected, got, why } => {
                        let _ = writeln!(
                            out,
                            ">\n      <failure type=\"{}\" message=\"{}\">{}\nsent: {}\nexpected: {}\ngot: {}\nwhy: {}</failure>\n    </testcase>",
                            r.level,
                            xml(why),
                            xml(r.title),
                            xml(&r.sent),
                            xml(expected),
                            xml(got),
                            xml(why)
                        );
                    }
                    Verdict::Warn { expected, got, why } => {
                        let _ = writeln!(
                            out,
                            ">\n      <system-out>WARN [{}] {}\nsent: {}\nexpected: {}\ngot: {}\nwhy: {}</system-out>\n    </testcase>",
                            r.level,
                            xml(r.title),
                            xml(&r.sent),
                            xml(expected),
                            xml(got),
                            xml(why)
                        );
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        if let Some(log) = self.server_log.as_deref().filter(|l| !l.trim().is_empty()) {
            // JUnit has no log on <testsuites>: an empty suite carries it.
            let _ = writeln!(
                out,
                "  <testsuite name=\"server log\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0\">\n    <system-err>{}</system-err>\n  </testsuite>",
                xml(log)
            );
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Escapes text for XML attributes and content; characters XML 1.0 cannot
/// carry at all become U+FFFD.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    fn sample() -> Report {
        let cases = catalog();
        let pick = |id: &str| cases.iter().find(|c| c.id == id).unwrap();
        Report {
            target: "http://127.0.0.1:1/".into(),
            transport: TransportKind::Http,
            profile: Profile::Core,
            duration: Duration::from_millis(1234),
            server_log: Some("[sansrpc-conformance] started\n".into()),
            results: vec![
                CaseResult::new(
                    pick("4/id-integer"),
                    Verdict::Pass,
                    "{}".into(),
                    Duration::from_millis(2),
                ),
                CaseResult::new(
                    pick("4/id-null"),
                    Verdict::Fail {
                        expected: "error with id null".into(),
                        got: "empty body <&\"'> \u{1}".into(),
                        why: "no body".into(),
                    },
                    "{\"id\":null}".into(),
                    Duration::from_millis(3),
                ),
                CaseResult::new(
                    pick("http/notification-204"),
                    Verdict::Warn {
                        expected: "204".into(),
                        got: "200".into(),
                        why: "not 204".into(),
                    },
                    "{}".into(),
                    Duration::from_millis(1),
                ),
                CaseResult::new(
                    pick("tcp/blank-line"),
                    Verdict::Skip {
                        reason: "http".into(),
                    },
                    " ".into(),
                    Duration::ZERO,
                ),
            ],
        }
    }

    #[test]
    fn counts_and_verdicts() {
        let r = sample();
        assert!(!r.passed());
        assert_eq!(r.must_failures().count(), 1);
        let total = r.sections().pop().unwrap();
        assert_eq!(
            (total.passed, total.failed, total.warnings, total.skipped),
            (1, 1, 1, 1)
        );
        assert_eq!(r.verdicts()["4/id-null"], "fail");
        assert_eq!(r.sections()[0].section, "4");
    }

    #[test]
    fn text_shows_sent_expected_got() {
        let text = sample().to_text();
        assert!(text.contains("FAILURES (MUST)"));
        assert!(text.contains("    sent:     {\"id\":null}"));
        assert!(text.contains("    expected: error with id null"));
        assert!(text.contains("result: FAIL (1 MUST case(s) failed)"));
    }

    #[test]
    fn json_round_trips() {
        let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["results"][1]["verdict"], "fail");
        assert_eq!(v["results"][1]["level"], "MUST");
        assert_eq!(v["duration_ms"], 1234);
    }

    #[test]
    fn junit_is_escaped_and_balanced() {
        let x = sample().to_junit();
        assert!(x.contains("&lt;&amp;&quot;&apos;&gt; \u{fffd}"));
        assert!(!x.contains('\u{1}'));
        assert_eq!(
            x.matches("<testsuite ").count(),
            x.matches("</testsuite>").count()
        );
        assert_eq!(x.matches("<testcase ").count(), 4);
        assert!(x.contains("<failure type=\"MUST\""));
        assert!(x.contains("<skipped message=\"http\"/>"));
        assert!(x.contains("<system-err>[sansrpc-conformance] started\n</system-err>"));
    }
}
