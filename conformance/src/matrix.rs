//! The matrix: one run of the catalog against several servers, side by
//! side (case × server), as text, JSON and a self-contained HTML page in the
//! manner of the Autobahn testsuite's report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::case::Level;
use crate::report::{CaseResult, Report, Verdict};

/// One server of a matrix: its name, its target, and its report (or why it
/// could not run).
#[derive(Clone, Debug)]
pub struct MatrixColumn {
    /// The short name the table shows.
    pub name: String,
    /// The target it was run against, or a description of the server.
    pub target: String,
    /// The report, or why the run could not start.
    pub outcome: Result<Report, String>,
}

/// Several reports side by side.
///
/// ```
/// use sansrpc_conformance::{Matrix, MatrixColumn};
/// let m = Matrix::new(vec![MatrixColumn {
///     name: "down".into(),
///     target: "tcp://127.0.0.1:1".into(),
///     outcome: Err("target unreachable".into()),
/// }]);
/// assert!(m.to_text().contains("down"));
/// assert!(m.to_html().starts_with("<!DOCTYPE html>"));
/// ```
#[derive(Clone, Debug)]
pub struct Matrix {
    /// The servers, in the order given.
    pub columns: Vec<MatrixColumn>,
}

/// A row: one case, as the reports list it.
struct Row<'a> {
    id: &'static str,
    level: Level,
    title: &'static str,
    cells: Vec<Option<&'a CaseResult>>,
}

const CELL_MAX: usize = 26;

impl Matrix {
    /// A matrix of these columns.
    pub fn new(columns: Vec<MatrixColumn>) -> Matrix {
        Matrix { columns }
    }

    fn rows(&self) -> Vec<Row<'_>> {
        let mut order: Vec<&CaseResult> = Vec::new();
        for col in &self.columns {
            if let Ok(report) = &col.outcome {
                for r in &report.results {
                    if !order.iter().any(|o| o.id == r.id) {
                        order.push(r);
                    }
                }
            }
        }
        order
            .into_iter()
            .map(|first| Row {
                id: first.id,
                level: first.level,
                title: first.title,
                cells: self
                    .columns
                    .iter()
                    .map(|c| c.outcome.as_ref().ok().and_then(|r| r.get(first.id)))
                    .collect(),
            })
            .collect()
    }

    /// Per-server totals, by name: `[pass, fail, warn, skip]` (servers
    /// that did not run are absent).
    pub fn totals(&self) -> BTreeMap<String, [usize; 4]> {
        self.columns
            .iter()
            .filter_map(|c| {
                c.outcome
                    .as_ref()
                    .ok()
                    .map(|r| (c.name.clone(), report_totals(r)))
            })
            .collect()
    }

    fn profile(&self) -> String {
        self.columns
            .iter()
            .find_map(|c| c.outcome.as_ref().ok().map(|r| r.profile.to_string()))
            .unwrap_or_else(|| "-".to_owned())
    }

    /// The side-by-side table as text: a list of the servers with their
    /// totals, then one line per case. A cell is the verdict (`FAIL` in
    /// capitals), followed for INFO cases, failures and warnings by what the
    /// server answered ([`Observed::brief`](crate::Observed::brief)).
    pub fn to_text(&self) -> String {
        let rows = self.rows();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "sansrpc-conformance {} matrix: {} servers, profile {}, {} cases\n",
            env!("CARGO_PKG_VERSION"),
            self.columns.len(),
            self.profile(),
            rows.len()
        );
        let name_w = self
            .columns
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(4)
            .max(6);
        let _ = writeln!(
            out,
            "{:<name_w$}  {:>4} {:>4} {:>4} {:>4}  target",
            "server", "pass", "fail", "warn", "skip"
        );
        for c in &self.columns {
            match &c.outcome {
                Ok(r) => {
                    let [p, f, w, s] = report_totals(r);
                    let _ = writeln!(
                        out,
                        "{:<name_w$}  {p:>4} {f:>4} {w:>4} {s:>4}  {}",
                        c.name, c.target
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "{:<name_w$}  did not run: {e}", c.name);
                }
            }
        }
        out.push('\n');
        let texts: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.cells.iter().map(|cell| cell_text(row.level, *cell)).collect())
            .collect();
        let id_w = rows.iter().map(|r| r.id.len()).max().unwrap_or(4).max(4);
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                texts
                    .iter()
                    .filter_map(|t| t.get(i))
                    .map(|t| t.chars().count())
                    .chain([c.name.len()])
                    .max()
                    .unwrap_or(4)
            })
            .collect();
        let mut line = format!("{:<id_w$}  {:<6}", "case", "level");
        for (c, w) in self.columns.iter().zip(&widths) {
            let _ = write!(line, "  {:<w$}", c.name);
        }
        let _ = writeln!(out, "{}", line.trim_end());
        for (row, cells) in rows.iter().zip(&texts) {
            let mut line = format!("{:<id_w$}  {:<6}", row.id, row.level);
            for (cell, w) in cells.iter().zip(&widths) {
                let _ = write!(line, "  {cell:<w$}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    /// The matrix as JSON: the servers with their totals (and server logs),
    /// and per case every server's verdict, answer and, when not passed,
    /// why.
    pub fn to_json(&self) -> String {
        let servers: Vec<Value> = self
            .columns
            .iter()
            .map(|c| match &c.outcome {
                Ok(r) => {
                    let [pass, fail, warn, skip] = report_totals(r);
                    json!({
                        "name": c.name, "target": c.target, "transport": r.transport,
                        "duration_ms": u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
                        "totals": {"pass": pass, "fail": fail, "warn": warn, "skip": skip},
                        "server_log": r.server_log,
                    })
                }
                Err(e) => json!({"name": c.name, "target": c.target, "error": e}),
            })
            .collect();
        let cases: Vec<Value> = self
            .rows()
            .iter()
            .map(|row| {
                let results: serde_json::Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(&row.cells)
                    .filter_map(|(c, cell)| {
                        let r = (*cell)?;
                        let mut v = json!({"verdict": r.verdict.as_str(), "answer": r.answer});
                        match &r.verdict {
                            Verdict::Fail { why, .. } | Verdict::Warn { why, .. } => v["why"] = json!(why),
                            Verdict::Skip { reason } => v["why"] = json!(reason),
                            Verdict::Pass => {}
                        }
                        Some((c.name.clone(), v))
                    })
                    .collect();
                json!({"id": row.id, "level": row.level, "title": row.title, "results": results})
            })
            .collect();
        let v = json!({
            "sansrpc-conformance": env!("CARGO_PKG_VERSION"),
            "profile": self.profile(),
            "servers": servers,
            "cases": cases,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// A self-contained HTML page (no script, no outside resources): the
    /// servers with their totals, the case × server table with a colour per
    /// verdict (each cell that is not a plain pass links to its details),
    /// then per server what was sent, expected and received for every
    /// failure and warning, and its server log.
    pub fn to_html(&self) -> String {
        let rows = self.rows();
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>sansrpc-conformance matrix</title><style>{STYLE}</style></head><body>\n\
             <h1>JSON-RPC 2.0 conformance matrix</h1>\n<p>sansrpc-conformance {} · profile {} · {} cases · {} servers. \
             <span class=\"pass\">pass</span> <span class=\"fail\">FAIL</span> (a MUST not met) \
             <span class=\"warn\">warn</span> (a SHOULD, or an INFO answer unlike any reasonable one) \
             <span class=\"skip\">skip</span>; INFO cells show what the server answered.</p>\n",
            env!("CARGO_PKG_VERSION"),
            html(&self.profile()),
            rows.len(),
            self.columns.len()
        );
        out.push_str("<table class=\"servers\"><tr><th>server</th><th>target</th><th>pass</th><th>fail</th><th>warn</th><th>skip</th></tr>\n");
        for c in &self.columns {
            match &c.outcome {
                Ok(r) => {
                    let [p, f, w, s] = report_totals(r);
                    let _ = writeln!(
                        out,
                        "<tr><td><a href=\"#{}\">{}</a></td><td><code>{}</code></td><td>{p}</td><td>{f}</td><td>{w}</td><td>{s}</td></tr>",
                        anchor(&c.name, ""),
                        html(&c.name),
                        html(&c.target)
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "<tr><td>{}</td><td><code>{}</code></td><td colspan=\"4\" class=\"fail\">did not run: {}</td></tr>",
                        html(&c.name),
                        html(&c.target),
                        html(e)
                    );
                }
            }
        }
        out.push_str("</table>\n<table class=\"matrix\"><tr><th>case</th><th>level</th>");
        for c in &self.columns {
            let _ = write!(out, "<th>{}</th>", html(&c.name));
        }
        out.push_str("</tr>\n");
        let mut section = "";
        for row in &rows {
            let this = row.id.split_once('/').map_or(row.id, |(s, _)| s);
            if this != section {
                section = this;
                let _ = writeln!(
                    out,
                    "<tr class=\"section\"><td colspan=\"{}\">section {}</td></tr>",
                    self.columns.len() + 2,
                    html(section)
                );
            }
            let _ = write!(
                out,
                "<tr><td title=\"{}\"><code>{}</code></td><td>{}</td>",
                html(row.title),
                html(row.id),
                row.level
            );
            for (c, cell) in self.columns.iter().zip(&row.cells) {
                let Some(r) = cell else {
                    out.push_str("<td class=\"none\">-</td>");
                    continue;
                };
                let word = r.verdict.as_str();
                let text = html(&cell_text(row.level, Some(r)));
                let title = match &r.verdict {
                    Verdict::Fail { why, .. } | Verdict::Warn { why, .. } => html(why),
                    Verdict::Skip { reason } => html(reason),
                    Verdict::Pass => html(r.answer.as_deref().unwrap_or("")),
                };
                if matches!(r.verdict, Verdict::Fail { .. } | Verdict::Warn { .. }) {
                    let _ = write!(
                        out,
                        "<td class=\"{word}\" title=\"{title}\"><a href=\"#{}\">{text}</a></td>",
                        anchor(&c.name, row.id)
                    );
                } else {
                    let _ = write!(out, "<td class=\"{word}\" title=\"{title}\">{text}</td>");
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        for c in &self.columns {
            let Ok(report) = &c.outcome else { continue };
            let _ = writeln!(
                out,
                "<h2 id=\"{}\">{} <small><code>{}</code></small></h2>",
                anchor(&c.name, ""),
                html(&c.name),
                html(&c.target)
            );
            let mut any = false;
            for r in &report.results {
                let (Verdict::Fail { expected, got, why } | Verdict::Warn { expected, got, why }) =
                    &r.verdict
                else {
                    continue;
                };
                any = true;
                let _ = writeln!(
                    out,
                    "<div class=\"detail {}\" id=\"{}\"><h3><code>{}</code> [{}] {}</h3><dl>\
                     <dt>sent</dt><dd><pre>{}</pre></dd><dt>expected</dt><dd><pre>{}</pre></dd>\
                     <dt>got</dt><dd><pre>{}</pre></dd><dt>why</dt><dd>{}</dd></dl></div>",
                    r.verdict.as_str(),
                    anchor(&c.name, r.id),
                    html(r.id),
                    r.level,
                    html(r.title),
                    html(&r.sent),
                    html(expected),
                    html(got),
                    html(why)
                );
            }
            if !any {
                out.push_str("<p>No failure and no warning.</p>\n");
            }
            if let Some(log) = report.server_log.as_deref().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(
                    out,
                    "<details><summary>server log ({} bytes)</summary><pre>{}</pre></details>",
                    log.len(),
                    html(log)
                );
            }
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// A cell's words: the verdict, and what the server answered for INFO
/// cases, failures and warnings; cut to a width that keeps tables readable.
fn cell_text(level: Level, cell: Option<&CaseResult>) -> String {
    let Some(r) = cell else {
        return "-".to_owned();
    };
    let word = match &r.verdict {
        Verdict::Fail { .. } => "FAIL",
        other => other.as_str(),
    };
    let show = level == Level::Info || matches!(r.verdict, Verdict::Fail { .. } | Verdict::Warn { .. });
    let text = match (&r.answer, show) {
        (Some(a), true) => format!("{word}: {a}"),
        _ => word.to_owned(),
    };
    if text.chars().count() > CELL_MAX {
        let cut: String = text.chars().take(CELL_MAX - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML id for a server (and case): only characters safe in a URL
/// fragment.
fn anchor(server: &str, case: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    if case.is_empty() {
        format!("s-{}", clean(server))
    } else {
        format!("d-{}-{}", clean(server), clean(case))
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left;vertical-align:top}\
th{background:#eee;position:sticky;top:0}.pass{background:#c8f0c8}.fail{background:#f4a6a6;font-weight:bold}\
.warn{background:#fbe7a1}.skip,.none{background:#e4e4e4;color:#777}.section td{background:#445;color:#fff;font-weight:bold}\
td a{color:inherit}pre{white-space:pre-wrap;word-break:break-all;margin:0}.detail{border-left:6px solid #ccc;padding-left:8px;margin:8px 0}\
.detail.fail{border-color:#d33;background:none;font-weight:normal}.detail.warn{border-color:#e0b000;background:none}\
dt{font-weight:bold}dd{margin-left:1.5em}h3{font-size:14px;margin:4px 0}";

fn report_totals(report: &Report) -> [usize; 4] {
    let t = report.sections().pop().unwrap_or_default();
    [t.passed, t.failed, t.warnings, t.skipped]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Profile, TransportKind};
    use crate::catalog::catalog;
    use std::time::Duration;

    fn report(fail_id: &str) -> Report {
        let results = catalog()
            .iter()
            .take(20)
            .map(|c| {
                let verdict = if c.id == fail_id {
                    Verdict::Fail {
                        expected: "x".into(),
                        got: "<y>".into(),
                        why: "z & w".into(),
                    }
                } else {
                    Verdict::Pass
                };
                let mut r = CaseResult::new(c, verdict, "{}".into(), Duration::ZERO);
                r.answer = Some("-32601".into());
                r
            })
            .collect();
        Report {
            target: "tcp://127.0.0.1:1".into(),
            transport: TransportKind::Stream,
            profile: Profile::All,
            duration: Duration::ZERO,
            results,
            server_log: Some("log <line>".into()),
        }
    }

    #[test]
    fn side_by_side() {
        let m = Matrix::new(vec![
            MatrixColumn {
                name: "a".into(),
                target: "tcp://1".into(),
                outcome: Ok(report("2/whitespace-around")),
            },
            MatrixColumn {
                name: "bee".into(),
                target: "tcp://2".into(),
                outcome: Ok(report("none")),
            },
            MatrixColumn {
                name: "down".into(),
                target: "tcp://3".into(),
                outcome: Err("unreachable".into()),
            },
        ]);
        let text = m.to_text();
        let line = text
            .lines()
            .find(|l| l.starts_with("2/whitespace-around"))
            .unwrap();
        assert!(line.contains("FAIL: -32601") && line.contains("pass"), "{line}");
        assert!(text.contains("down    did not run: unreachable"), "{text}");
        let info = text.lines().find(|l| l.starts_with("2/byte-order-mark")).unwrap();
        assert!(info.contains("pass: -32601"), "{info}");
        let v: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(v["cases"][0]["results"]["a"]["verdict"], "fail");
        assert_eq!(v["cases"][0]["results"]["bee"]["verdict"], "pass");
        assert_eq!(v["servers"][2]["error"], "unreachable");
        let page = m.to_html();
        assert!(page.contains("href=\"#d-a-2_whitespace-around\""));
        assert!(page.contains("id=\"d-a-2_whitespace-around\""));
        assert!(
            page.contains("z &amp; w") && page.contains("&lt;y&gt;") && page.contains("log &lt;line&gt;")
        );
        assert!(!page.contains("<script"));
        assert_eq!(m.totals()["a"], [19, 1, 0, 0]);
    }
}
