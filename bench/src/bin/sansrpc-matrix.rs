//! Runs the server load matrix, or renders BENCHMARKS.md.
//!
//! ```text
//! sansrpc-matrix load --out FILE [--duration 3s] [--warmup 0.5s] [--pin] [--idle 10000] [--rounds 2] [--servers a,b] [--connections 1,64,256]
//! sansrpc-matrix cpu --out FILE [--duration 3s] [--warmup 1s] [--pin] [--servers a,b] [--dir DIR]
//! sansrpc-matrix report --load FILE --criterion DIR --findings FILE --out FILE [--cpu FILE] [--load-before "..."]
//! ```
//! `bash bench/run.sh` calls all three (`cpu` only where valgrind is
//! installed).

use std::path::PathBuf;
use std::time::Duration;

use sansrpc_bench::load::parse_duration;
use sansrpc_bench::matrix::{self, Plan, Results};
use sansrpc_bench::report::{self, Meta};
use sansrpc_bench::servers::Kind;

const USAGE: &str = "usage: sansrpc-matrix load --out FILE [--duration 3s] [--warmup 0.5s] [--pin] [--idle 10000] [--rounds 2] [--servers a,b] [--connections 1,64,256]\n       sansrpc-matrix cpu --out FILE [--duration 3s] [--warmup 1s] [--pin] [--servers a,b] [--dir DIR]\n       sansrpc-matrix report --load FILE --criterion DIR --findings FILE --out FILE [--cpu FILE] [--instructions FILE] [--load-before TEXT]";

fn main() {
    if let Err(e) = run() {
        eprintln!("sansrpc-matrix: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn flags(args: impl Iterator<Item = String>) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument {flag:?}"));
        }
        let value = match args.peek() {
            Some(v) if !v.starts_with("--") => args.next(),
            _ => None,
        };
        out.push((flag, value));
    }
    Ok(out)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let command = args.next().ok_or("a command is required")?;
    let flags = flags(args)?;
    let get = |name: &str| flags.iter().find(|(f, _)| f == name).and_then(|(_, v)| v.clone());
    let has = |name: &str| flags.iter().any(|(f, _)| f == name);
    match command.as_str() {
        "load" | "cpu" => {
            let out = PathBuf::from(get("--out").ok_or("--out is required")?);
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let server_bin = exe.with_file_name("sansrpc-bench-server");
            let kinds = match get("--servers") {
                Some(list) => list
                    .split(',')
                    .map(|n| Kind::from_name(n).ok_or_else(|| format!("unknown server {n}")))
                    .collect::<Result<Vec<_>, _>>()?,
                None if command == "cpu" => matrix::CPU_KINDS.to_vec(),
                None => Kind::ALL.to_vec(),
            };
            let mut plan = Plan {
                server_bin,
                server_cpu: has("--pin").then_some(0),
                kinds,
                connections: match get("--connections") {
                    Some(list) => list
                        .split(',')
                        .map(|n| n.parse().map_err(|e| format!("--connections: {e}")))
                        .collect::<Result<Vec<usize>, _>>()?,
                    None => vec![1, 64, 256],
                },
                goal_connections: 64,
                pipeline: 16,
                rounds: get("--rounds").map_or(Ok(2), |v| v.parse().map_err(|e| format!("--rounds: {e}")))?,
                warmup: get("--warmup").map_or(Ok(Duration::from_millis(500)), |v| parse_duration(&v))?,
                duration: get("--duration").map_or(Ok(Duration::from_secs(3)), |v| parse_duration(&v))?,
                idle_connections: get("--idle")
                    .map_or(Ok(10_000), |v| v.parse().map_err(|e| format!("--idle: {e}")))?,
                rss_kinds: vec![Kind::TokioSansrpc, Kind::SmolSansrpc, Kind::TokioLine],
            };
            // A server list narrows the idle-memory step too.
            let kinds = plan.kinds.clone();
            plan.rss_kinds.retain(|k| kinds.contains(k));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let json = if command == "cpu" {
                let cpu = matrix::CpuPlan {
                    kinds: plan.kinds.clone(),
                    connections: plan.goal_connections,
                    pipeline: plan.pipeline,
                    warmup: get("--warmup").map_or(Ok(Duration::from_secs(1)), |v| parse_duration(&v))?,
                    duration: plan.duration,
                    dir: get("--dir").map_or_else(std::env::temp_dir, PathBuf::from),
                };
                let results = rt.block_on(matrix::cpu(&plan, &cpu));
                serde_json::to_string_pretty(&results)
            } else {
                serde_json::to_string_pretty(&rt.block_on(matrix::run(&plan)))
            }
            .map_err(|e| e.to_string())?;
            std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(())
        }
        "report" => {
            let load_path = PathBuf::from(get("--load").ok_or("--load is required")?);
            let criterion = PathBuf::from(get("--criterion").ok_or("--criterion is required")?);
            let out = PathBuf::from(get("--out").ok_or("--out is required")?);
            let load: Results = match std::fs::read_to_string(&load_path) {
                Ok(text) => {
                    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", load_path.display()))?
                }
                Err(_) => Results::default(),
            };
            let findings = match get("--findings") {
                Some(p) => std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?,
                None => String::new(),
            };
            let meta = machine(
                get("--load-before").unwrap_or_default(),
                get("--pinned").is_some() || has("--pinned"),
            );
            let instructions = get("--instructions")
                .and_then(|p| std::fs::read_to_string(p).ok())
                .map(|t| report::parse_instructions(&t))
                .unwrap_or_default();
            let cpu: matrix::CpuResults = match get("--cpu").map(|p| (std::fs::read_to_string(&p), p)) {
                Some((Ok(text), p)) => serde_json::from_str(&text).map_err(|e| format!("{p}: {e}"))?,
                _ => matrix::CpuResults::default(),
            };
            let md = report::render(&meta, &criterion, &load, &cpu, &instructions, &findings);
            std::fs::write(&out, md).map_err(|e| format!("{}: {e}", out.display()))?;
            Ok(())
        }
        _ => Err(format!("unknown command {command:?}")),
    }
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn machine(load_before: String, pinned: bool) -> Meta {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let loadavg = |s: String| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock");
    let lock = std::fs::read_to_string(lock_path).unwrap_or_default();
    let secs = |var: &str, default: f64| {
        std::env::var(var)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default)
    };
    Meta {
        date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        rustc: command_line("rustc", &["--version"]),
        cpus,
        cpu_model,
        load_before: loadavg(load_before),
        load_after: loadavg(std::fs::read_to_string("/proc/loadavg").unwrap_or_default()),
        criterion_secs: (secs("BENCH_WARMUP_SECS", 1.0), secs("BENCH_MEASURE_SECS", 3.0)),
        versions: report::locked_versions(
            &lock,
            &[
                "jsonrpsee",
                "serde_json",
                "actix-web",
                "warp",
                "hyper",
                "tokio",
                "smol",
                "criterion",
            ],
        ),
        pinned,
    }
}
