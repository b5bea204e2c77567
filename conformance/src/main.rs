//! `sansrpc-conformance`: run the JSON-RPC 2.0 conformance suite against a
//! live server, or list the catalog.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sansrpc_conformance::{
    Baseline, Framing, Level, Matrix, MatrixColumn, Profile, RunOptions, SECTIONS, Suite,
};

/// `println!` that ignores a closed stdout (`| head`) instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that ignores a closed stdout.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

/// JSON-RPC 2.0 conformance suite.
///
/// Runs a catalog of cases keyed to the JSON-RPC 2.0 specification against a
/// live server and reports what passed, failed (a MUST not met) or warned (a
/// SHOULD, or an INFO case answered unlike any reasonable server). Exits 1 if
/// any MUST case failed (with --baseline: any failure not in the baseline),
/// 2 if the suite could not run.
#[derive(Parser, Debug)]
#[command(name = "sansrpc-conformance", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the catalog: every case with its level, needs and title.
    List {
        /// Only the cases this profile runs.
        #[arg(long, value_enum, default_value_t = CliProfile::All)]
        profile: CliProfile,
        /// Only cases whose id matches this glob (`*`, `?`); repeatable.
        #[arg(long = "case", value_name = "GLOB")]
        cases: Vec<String>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the catalog against several servers and show them side by side
    /// (case × server). Exits 0 when every server could be run, 2 when one
    /// could not (it still gets its column, saying why).
    Matrix(MatrixArgs),
}

#[derive(Args, Debug)]
struct MatrixArgs {
    /// The servers, as `NAME=URL` (any target the suite takes, e.g.
    /// `jsonrpcserver=http://127.0.0.1:8080/`, `ref=stdio:'./server --stdio'`);
    /// `NAME+content-length=URL` speaks Content-Length framing to that one.
    #[arg(value_name = "NAME=URL", required = true)]
    servers: Vec<String>,
    /// Which cases to run (see the main command).
    #[arg(long, value_enum, default_value_t = CliProfile::Core)]
    profile: CliProfile,
    /// Only cases whose id matches this glob; repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Per-case timeout in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    timeout_ms: u64,
    /// What goes to stdout: the text table, the JSON or the HTML page.
    #[arg(long, value_enum, default_value_t = MatrixFormat::Text)]
    format: MatrixFormat,
    /// Also write the text table to this file.
    #[arg(long, value_name = "FILE")]
    text: Option<std::path::PathBuf>,
    /// Also write the JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// Also write the self-contained HTML page to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MatrixFormat {
    Text,
    Json,
    Html,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The server: `http://host:port/path` (HTTP POST), `tcp://host:port`
    /// (newline-delimited JSON), `ws://host:port/path` (WebSocket, one
    /// message per text frame), `socketio://host:port/namespace` (Socket.IO
    /// v5, one message per `message` event, answered through its
    /// acknowledgement) or `stdio:<command line>` (the suite starts the
    /// server and speaks over its stdin and stdout).
    url: Option<String>,
    /// Which cases to run, by what the server implements: `core` needs no
    /// method; `spec-examples` needs the methods of the spec's section-7
    /// examples (subtract, sum, update, notify_hello, get_data); `all` both.
    #[arg(long, value_enum, default_value_t = CliProfile::Core)]
    profile: CliProfile,
    /// Only cases whose id matches this glob (`*` matches `/` too); repeatable.
    #[arg(long = "case", value_name = "GLOB")]
    cases: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Per-case timeout in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    timeout_ms: u64,
    /// How messages are delimited on `tcp://` and `stdio:` targets:
    /// `newline` (one per line) or `content-length` (LSP-style headers).
    #[arg(long, value_name = "FRAMING", default_value = "newline")]
    framing: Framing,
    /// A message (JSON text) a `stdio:` server gets every time it starts,
    /// before the cases (repeatable, sent in order): e.g. an LSP
    /// `initialize` request, then the `initialized` notification. Its
    /// answers are dropped.
    #[arg(long = "init", value_name = "JSON")]
    init: Vec<String>,
    /// Expected failures and warnings (a file written by --write-baseline):
    /// the run then fails only on a failure not listed there, and says which
    /// listed ones now pass.
    #[arg(long, value_name = "FILE")]
    baseline: Option<std::path::PathBuf>,
    /// Write this run's failures and warnings to FILE as a baseline.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CliProfile {
    Core,
    SpecExamples,
    All,
    /// The JSON-RPC 1.0 cases, for a 1.0 server.
    V1,
}

impl From<CliProfile> for Profile {
    fn from(p: CliProfile) -> Profile {
        match p {
            CliProfile::Core => Profile::Core,
            CliProfile::SpecExamples => Profile::SpecExamples,
            CliProfile::All => Profile::All,
            CliProfile::V1 => Profile::V1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Junit,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::List {
            profile,
            cases,
            format,
        }) => list(profile.into(), &cases, format),
        Some(Command::Matrix(args)) => match runtime() {
            Ok(rt) => rt.block_on(matrix(&args)),
            Err(code) => code,
        },
        None => {
            let Some(url) = cli.run.url.clone() else {
                eprintln!(
                    "error: give a server URL (http://host:port/path, tcp://host:port, ws://host:port/path, socketio://host:port/namespace or stdio:<command line>), `list` or `matrix`\n\nFor more information, try '--help'."
                );
                return ExitCode::from(2);
            };
            match runtime() {
                Ok(rt) => rt.block_on(run(&url, &cli.run)),
                Err(code) => code,
            }
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::from(2)
        })
}

/// `NAME=URL` or `NAME+FRAMING=URL`.
fn parse_server(spec: &str) -> Result<(String, Framing, String), String> {
    let (name, url) = spec
        .split_once('=')
        .ok_or_else(|| format!("{spec:?}: expected NAME=URL"))?;
    let (name, framing) = match name.split_once('+') {
        Some((n, f)) => (n, f.parse::<Framing>()?),
        None => (name, Framing::Newline),
    };
    if name.is_empty() || url.is_empty() {
        return Err(format!("{spec:?}: expected NAME=URL"));
    }
    Ok((name.to_owned(), framing, url.to_owned()))
}

async fn matrix(args: &MatrixArgs) -> ExitCode {
    let mut servers = Vec::new();
    for spec in &args.servers {
        match parse_server(spec) {
            Ok(s) => servers.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let suite = Suite::new(args.profile.into()).filter(&args.cases);
    if suite.cases().is_empty() {
        eprintln!("error: no case matches {:?}", args.cases);
        return ExitCode::from(2);
    }
    let mut columns = Vec::new();
    let mut all_ran = true;
    for (name, framing, url) in servers {
        let options = RunOptions {
            timeout: Duration::from_millis(args.timeout_ms.max(1)),
            framing,
            ..RunOptions::default()
        };
        eprintln!("running {} cases against {name} ({url})", suite.cases().len());
        let outcome = suite.run(&url, &options).await.map_err(|e| e.to_string());
        match &outcome {
            Ok(r) => {
                let t = r.sections().pop().unwrap_or_default();
                eprintln!(
                    "  {name}: {} passed, {} failed, {} warnings, {} skipped",
                    t.passed, t.failed, t.warnings, t.skipped
                );
            }
            Err(e) => {
                all_ran = false;
                eprintln!("  {name}: {e}");
            }
        }
        let target = match framing {
            Framing::Newline => url,
            f => format!("{url} (framing {f})"),
        };
        columns.push(MatrixColumn {
            name,
            target,
            outcome,
        });
    }
    let m = Matrix::new(columns);
    for (path, text) in [
        (&args.text, m.to_text()),
        (&args.json, m.to_json()),
        (&args.html, m.to_html()),
    ] {
        if let Some(path) = path {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    match args.format {
        MatrixFormat::Text => out!("{}", m.to_text()),
        MatrixFormat::Json => outln!("{}", m.to_json()),
        MatrixFormat::Html => out!("{}", m.to_html()),
    }
    if all_ran {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

async fn run(url: &str, args: &RunArgs) -> ExitCode {
    let baseline = match &args.baseline {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Baseline::parse(&t))
        {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("error: baseline {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let suite = Suite::new(args.profile.into()).filter(&args.cases);
    if suite.cases().is_empty() {
        eprintln!("error: no case matches {:?}", args.cases);
        return ExitCode::from(2);
    }
    let options = RunOptions {
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        framing: args.framing,
        init: args.init.clone(),
    };
    let text = args.format == Format::Text;
    let mut header = text;
    let report = suite
        .run_with_progress(url, &options, |r| {
            if !text {
                return;
            }
            // Printed with the first result, so an unreachable target gets
            // one error line and nothing else.
            if std::mem::take(&mut header) {
                outln!(
                    "running {} cases against {url} (profile {}, timeout {} ms)",
                    suite.cases().len(),
                    suite.profile(),
                    args.timeout_ms
                );
            }
            outln!("{}", r.progress_line());
            let _ = std::io::stdout().flush();
        })
        .await;
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.format {
        Format::Text => outln!("\n{}", report.to_text()),
        Format::Json => outln!("{}", report.to_json()),
        Format::Junit => out!("{}", report.to_junit()),
    }
    if let Some(path) = &args.write_baseline {
        let text = Baseline::from_report(&report).to_json(&report);
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write the baseline {}: {e}", path.display());
            return ExitCode::from(2);
        }
        eprintln!("wrote the baseline {}", path.display());
    }
    if let (Some(baseline), Some(path)) = (&baseline, &args.baseline) {
        let check = baseline.check(&report);
        let text = check.to_text(&path.display().to_string());
        // On stdout with the text report; on stderr beside JSON or JUnit,
        // which must stay parseable.
        if args.format == Format::Text {
            outln!("\n{text}");
        } else {
            eprintln!("{text}");
        }
        return if check.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn list(profile: Profile, patterns: &[String], format: Format) -> ExitCode {
    let suite = Suite::new(profile).filter(patterns);
    let cases: Vec<_> = suite
        .cases()
        .iter()
        .filter(|c| profile.selects(c.needs))
        .collect();
    if format == Format::Json {
        let items: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "section": c.section(),
                    "level": c.level,
                    "needs": c.needs,
                    "applies": c.applies,
                    "title": c.title,
                    "http_method": c.http.method,
                    "content_type": c.http.content_type,
                    "sent": c.payload.preview(400),
                    "expected": c.expect.to_string(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&items).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if format == Format::Junit {
        eprintln!("error: `list` prints text or json");
        return ExitCode::from(2);
    }
    let mut counts: BTreeMap<(usize, Level), usize> = BTreeMap::new();
    for c in &cases {
        let needs = match c.needs {
            sansrpc_conformance::Needs::Nothing => "core",
            sansrpc_conformance::Needs::SpecExamples => "examples",
            sansrpc_conformance::Needs::V1 => "v1",
        };
        let applies = match c.applies {
            sansrpc_conformance::Applies::Any => "any",
            sansrpc_conformance::Applies::Http => "http",
            sansrpc_conformance::Applies::Stream => "stream",
            sansrpc_conformance::Applies::WebSocket => "ws",
        };
        outln!(
            "{:<36} {:<6} {:<8} {:<6} {}",
            c.id,
            c.level,
            needs,
            applies,
            c.title
        );
        let section = SECTIONS
            .iter()
            .position(|(s, _)| *s == c.section())
            .unwrap_or(usize::MAX);
        *counts.entry((section, c.level)).or_default() += 1;
    }
    outln!(
        "\n{:<8} {:<38} {:>5} {:>6} {:>5} {:>6}",
        "section",
        "",
        "MUST",
        "SHOULD",
        "INFO",
        "total"
    );
    let mut totals = [0usize; 3];
    for (i, (s, title)) in SECTIONS.iter().enumerate() {
        let n: Vec<usize> = [Level::Must, Level::Should, Level::Info]
            .iter()
            .map(|l| counts.get(&(i, *l)).copied().unwrap_or(0))
            .collect();
        if n.iter().sum::<usize>() == 0 {
            continue;
        }
        for (t, v) in totals.iter_mut().zip(&n) {
            *t += v;
        }
        outln!(
            "{:<8} {:<38} {:>5} {:>6} {:>5} {:>6}",
            s,
            title,
            n[0],
            n[1],
            n[2],
            n.iter().sum::<usize>()
        );
    }
    outln!(
        "{:<8} {:<38} {:>5} {:>6} {:>5} {:>6}",
        "total",
        "",
        totals[0],
        totals[1],
        totals[2],
        totals.iter().sum::<usize>()
    );
    ExitCode::SUCCESS
}
