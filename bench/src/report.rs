//! Renders BENCHMARKS.md from criterion's estimates and the load matrix's
//! JSON: tables, ratios to each figure's limit and peer, targets met or
//! missed, the machine, and the hand-written findings.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use crate::inputs;
use crate::matrix::{Cell, CpuResults, Results};

/// Where the figures came from and what the machine was.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The date of the run.
    pub date: String,
    /// `rustc --version`.
    pub rustc: String,
    /// CPUs online.
    pub cpus: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// `/proc/loadavg` before the run.
    pub load_before: String,
    /// `/proc/loadavg` after the run.
    pub load_after: String,
    /// Criterion warm-up and measurement seconds.
    pub criterion_secs: (f64, f64),
    /// Versions of the compared crates, from Cargo.lock.
    pub versions: Vec<(String, String)>,
    /// Whether servers and the load generator were pinned to CPUs.
    pub pinned: bool,
}

/// Median time of one criterion benchmark in nanoseconds.
pub fn criterion_median_ns(dir: &Path, group: &str, line: &str) -> Option<f64> {
    let path = dir.join(group).join(line).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.pointer("/median/point_estimate")?.as_f64()
}

/// Instructions per request by (case, line), from `case\tline\tcount`
/// lines.
pub type Instructions = std::collections::HashMap<(String, String), u64>;

/// Parses the tab-separated instruction counts `bench/run.sh` writes.
pub fn parse_instructions(text: &str) -> Instructions {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let (case, line, n) = (parts.next()?, parts.next()?, parts.next()?.trim().parse().ok()?);
            Some(((case.to_owned(), line.to_owned()), n))
        })
        .collect()
}

/// Versions of `names` as locked in `lock` (a Cargo.lock's text).
pub fn locked_versions(lock: &str, names: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            current = Some(n.trim_matches('"'));
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), current) {
            if names.contains(&n) {
                out.push((n.to_owned(), v.trim_matches('"').to_owned()));
            }
            current = None;
        }
    }
    out
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.0} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.1} /s")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

fn ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}x"))
}

struct Target {
    what: String,
    goal: String,
    /// The figure the goal is stated in (requests/s ratio, instructions,
    /// KiB).
    figure: String,
    ok: Option<bool>,
    /// The same goal judged by callgrind instructions per request (empty
    /// where that does not apply).
    cpu_figure: String,
    cpu_ok: Option<bool>,
}

/// The limits a server is compared with: its bare framework or its
/// runtime's line echo, and the same running the typed limit.
fn limits_of(server: &str) -> (Option<&'static str>, Option<&'static str>) {
    match server.split('-').next() {
        Some("actix") => (Some("actix-bare"), Some("actix-typed")),
        Some("warp") => (Some("warp-bare"), Some("warp-typed")),
        Some("tokio") => (Some("tokio-line"), Some("tokio-line-typed")),
        Some("smol") => (Some("smol-line"), Some("smol-line-typed")),
        _ => (None, None),
    }
}

fn cell<'a>(cells: &'a [Cell], server: &str, connections: usize, pipeline: usize) -> Option<&'a Cell> {
    cells
        .iter()
        .find(|c| c.server == server && c.report.connections == connections && c.report.pipeline == pipeline)
}

fn rps(cells: &[Cell], server: &str, connections: usize, pipeline: usize) -> Option<f64> {
    cell(cells, server, connections, pipeline).map(|c| c.report.rps)
}

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Renders the whole document.
pub fn render(
    meta: &Meta,
    criterion_dir: &Path,
    load: &Results,
    cpu: &CpuResults,
    instructions: &Instructions,
    findings: &str,
) -> String {
    let mut md = String::new();
    let mut targets: Vec<Target> = Vec::new();
    let w = &mut md;
    let _ = writeln!(w, "# sansrpc benchmarks\n");
    let _ = writeln!(
        w,
        "Generated by `bash bench/run.sh` on {}. Every figure below comes from that one run; \
         re-run the command to regenerate this file (about 15 minutes).\n",
        meta.date
    );
    let _ = writeln!(w, "## Machine and method\n");
    let _ = writeln!(w, "- CPU: {} ({} CPUs online)", meta.cpu_model, meta.cpus);
    let _ = writeln!(
        w,
        "- Toolchain: {}; release profile (no LTO), as a user would build",
        meta.rustc
    );
    let versions: Vec<_> = meta.versions.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let _ = writeln!(w, "- Compared crates: {}", versions.join(", "));
    let _ = writeln!(
        w,
        "- Load average (1/5/15 min) before the run: {}; after: {}. The machine is shared, \
         so treat differences under ~10% as noise.",
        meta.load_before, meta.load_after
    );
    let _ = writeln!(
        w,
        "- Core: criterion, {:.1} s warm-up and {:.1} s measurement per line; the figure is the median \
         time per request. Each line is checked to give the same answers (ids, results, error codes) \
         before it is timed.",
        meta.criterion_secs.0, meta.criterion_secs.1
    );
    let _ = writeln!(
        w,
        "- Servers: each runs as a child process on **one worker thread** (tokio current-thread \
         runtime; actix-web `workers(1)`; smol with `SMOL_THREADS=1`); the load generator \
         (`sansrpc-load`'s engine) runs on **one thread** (tokio current-thread). {} \
         Loopback only (127.0.0.1), keep-alive HTTP/1.1 over raw TCP, {:.0} s measured per cell after \
         a short warm-up, in {} rounds that interleave the servers; each cell shows its best round \
         (a burst of load from elsewhere hits a server and its limit alike). Every request is `ping` \
         and every answer is checked for `\"result\"`. Each cell also shows the server's time on CPU \
         per request in that window (`/proc/<pid>/task/*/schedstat`, user and kernel).",
        if meta.pinned {
            "Server pinned to CPU 0 and generator to CPU 1 with `taskset`."
        } else {
            "Not pinned (taskset unavailable)."
        },
        load.seconds_per_cell,
        load.rounds.max(1)
    );
    if !cpu.cells.is_empty() {
        let _ = writeln!(
            w,
            "- Server CPU per request: each goal's servers under callgrind, one at a time, {:.0} s \
             measured at 64 connections after {:.0} s of warm-up; see \"Server CPU per request \
             (callgrind, user space)\".",
            cpu.seconds_per_cell, cpu.warmup_secs
        );
    }
    let _ = writeln!(w);

    // Core.
    let _ = writeln!(w, "## Core: bytes in → response bytes out\n");
    let _ = writeln!(
        w,
        "`sansrpc`: `Router::handle_message(bytes, Context::default())` on the reference router, polled \
         with a no-op waker. `typed limit`: a typed, borrowing parse of the envelope (`Cow<str>` method, \
         `&RawValue` params and id), the params parsed into the method's own type, and \
         `serde_json::to_writer` of the response into a reused buffer: the least a JSON-RPC server must \
         do, and the limit the targets are measured against. `Value limit`: serde_json parses the same \
         bytes into a `Value` and serializes a response `Value` (kept for reference). `jsonrpsee`: \
         `RpcModule::raw_json_request` with the same methods, on a tokio current-thread runtime (a batch \
         is split into entries and a body that does not parse is answered with `-32700`, as \
         `jsonrpsee-server` does). Every line is checked to give the same answers before it is timed. \
         Ratios are throughput ratios: above 1 means sansrpc is faster.\n"
    );
    let _ = writeln!(
        w,
        "| input | sansrpc | typed limit | Value limit | jsonrpsee | sansrpc vs typed limit | vs Value limit | vs jsonrpsee | sansrpc calls/s |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut single_sub = None;
    let mut batch = None;
    for case in inputs::cases() {
        let ours = criterion_median_ns(criterion_dir, case.name, "sansrpc");
        let typed = criterion_median_ns(criterion_dir, case.name, "typed_limit");
        let floor = criterion_median_ns(criterion_dir, case.name, "serde_json_limit");
        let peer = criterion_median_ns(criterion_dir, case.name, "jsonrpsee");
        let show = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), time);
        let calls = ours.map_or_else(|| "–".to_owned(), |t| rate(case.calls as f64 * 1e9 / t));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.name,
            show(ours),
            show(typed),
            show(floor),
            show(peer),
            ratio(div(typed, ours)),
            ratio(div(floor, ours)),
            ratio(div(peer, ours)),
            calls
        );
        if case.name == "subtract_positional" {
            single_sub = ours;
        }
        if case.name == "batch_100" {
            batch = ours.map(|t| t / case.calls as f64);
        }
    }
    let _ = writeln!(w);
    if let (Some(single), Some(per_call)) = (single_sub, batch) {
        let _ = writeln!(
            w,
            "Batch of 100 (`subtract` by position): {} per call, against {} for one single `subtract` call \
             ({:.2}x the single-call cost).\n",
            time(per_call),
            time(single),
            per_call / single
        );
    }

    let ir = |case: &str, line: &str| {
        instructions
            .get(&(case.to_owned(), line.to_owned()))
            .map(|&n| n as f64)
    };
    if !instructions.is_empty() {
        let _ = writeln!(
            w,
            "The same lines counted in instructions per request (`valgrind --tool=callgrind`, \
             `sansrpc-core-profile`, two run lengths, the difference divided by the difference of \
             their lengths, so start-up drops out): these do not move with the machine's load, so they \
             are the figures the core targets use. `connection` is the path the TCP adapters take: one \
             long-lived `ServerConnection` over newline framing, each event through `Router::dispatch`, \
             a future that is ready at once answered inline. The ratios here are cost ratios: below \
             1.25x meets the target.\n"
        );
        let _ = writeln!(
            w,
            "| input | sansrpc | connection | typed limit | Value limit | jsonrpsee | sansrpc ÷ typed limit | connection ÷ typed limit |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for case in inputs::cases() {
            let ours = ir(case.name, "sansrpc");
            let stream = ir(case.name, "sansrpc_stream");
            let typed = ir(case.name, "typed_limit");
            let show = |x: Option<f64>| x.map_or_else(|| "–".to_owned(), |n| format!("{n:.0}"));
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                case.name,
                show(ours),
                show(stream),
                show(typed),
                show(ir(case.name, "serde_json_limit")),
                show(ir(case.name, "jsonrpsee")),
                ratio(div(ours, typed)),
                ratio(div(stream, typed))
            );
        }
        let _ = writeln!(w);
        if let (Some(b), Some(s1)) = (ir("batch_100", "sansrpc"), ir("subtract_positional", "sansrpc")) {
            let _ = writeln!(
                w,
                "In instructions, a call in the batch of 100 costs {:.0} against {:.0} for a single call \
                 ({:.2}x).\n",
                b / 100.0,
                s1,
                b / 100.0 / s1
            );
        }
    }
    for (case, what) in [
        (
            "ping",
            "Core `ping` through the router, instructions ÷ typed limit",
        ),
        (
            "batch_100",
            "Core batch of 100 `subtract`, instructions per call ÷ typed limit",
        ),
    ] {
        let r = div(ir(case, "sansrpc"), ir(case, "typed_limit"));
        let per_call = if case == "batch_100" { 100.0 } else { 1.0 };
        targets.push(Target {
            what: what.into(),
            goal: "≤ 1.25x".into(),
            figure: match (r, ir(case, "sansrpc")) {
                (Some(r), Some(n)) => format!("{r:.2}x ({:.0} instructions per call)", n / per_call),
                _ => ratio(r),
            },
            ok: r.map(|r| r <= 1.25),
            cpu_figure: String::new(),
            cpu_ok: None,
        });
    }
    let r = div(ir("ping", "sansrpc_stream"), ir("ping", "typed_limit"));
    if r.is_some() {
        targets.push(Target {
            what:
                "(for reference, not a target) core `ping` on the connection path, instructions ÷ typed limit"
                    .into(),
            goal: "–".into(),
            figure: ratio(r),
            ok: None,
            cpu_figure: String::new(),
            cpu_ok: None,
        });
    }

    let parts = [
        (
            "handle_message_fresh_context",
            "`Router::handle_message`, fresh `Context` (the line above)",
        ),
        (
            "handle_message_shared_context",
            "`Router::handle_message`, a cloned shared `Context`",
        ),
        (
            "connection_inline_shared_context",
            "`ServerConnection<Body>` + `Router::dispatch`, futures polled inline (no batch join)",
        ),
        ("parse_message_only", "`parse_message` alone"),
        (
            "router_call_only",
            "`Router::call(\"ping\")` polled to its outcome",
        ),
        ("write_response_only", "`write_response` into a new `Vec`"),
        ("context_default_only", "`Context::default()` and its drop"),
        (
            "server_connection_new_only",
            "`ServerConnection::new` with a `Body` framer, and its drop",
        ),
    ];
    if parts
        .iter()
        .any(|(id, _)| criterion_median_ns(criterion_dir, "ping_breakdown", id).is_some())
    {
        let _ = writeln!(
            w,
            "Where sansrpc's `ping` time goes (public API pieces timed on their own):\n"
        );
        let _ = writeln!(w, "| piece | median |");
        let _ = writeln!(w, "|---|---:|");
        for (id, what) in parts {
            if let Some(t) = criterion_median_ns(criterion_dir, "ping_breakdown", id) {
                let _ = writeln!(w, "| {what} | {} |", time(t));
            }
        }
        let _ = writeln!(w);
    }

    // HTTP.
    let cells = &load.cells;
    let conns: Vec<usize> = {
        let mut v: Vec<usize> = cells.iter().map(|c| c.report.connections).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let cpu_us = |x: &Cell| {
        x.cpu_us_per_request()
            .map_or_else(|| "–".to_owned(), |us| format!("{us:.2} µs"))
    };
    let errors = |x: &Cell| {
        if x.report.errors > 0 {
            format!(" {} errors", x.report.errors)
        } else {
            String::new()
        }
    };
    let _ = writeln!(w, "## HTTP servers (`ping`, one call per request)\n");
    let _ = writeln!(
        w,
        "Bare = the same framework with a handler that returns the fixed `pong` response without \
         parsing anything (the framework's limit). Typed = the bare server's exact shape whose handler \
         runs the typed limit (`typed_limit::handle`, the core table's line) on the body into a reused \
         per-thread buffer and answers a copy of it: the least JSON-RPC work on that framework, so \
         typed ÷ bare is the ceiling any JSON-RPC server on it can reach (measured at 64 connections \
         only). jsonrpsee = `jsonrpsee-server` (HTTP only) with the same `ping` method. Server CPU = \
         the server's time on CPU (every thread's `/proc/<pid>/task/*/schedstat`, read at the start \
         and end of the measured window) ÷ the requests answered in it.\n"
    );
    let _ = writeln!(
        w,
        "| server | connections | requests/s | p50 | p99 | server CPU per request | vs bare framework | vs typed-limit server | vs jsonrpsee |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for server in [
        "actix-sansrpc",
        "actix-bare",
        "actix-typed",
        "warp-sansrpc",
        "warp-bare",
        "warp-typed",
        "jsonrpsee-http",
    ] {
        let (bare, typed) = limits_of(server);
        for &c in &conns {
            let Some(x) = cell(cells, server, c, 1) else {
                continue;
            };
            let vs = |limit: Option<&str>| {
                limit
                    .filter(|&l| l != server)
                    .and_then(|l| div(Some(x.report.rps), rps(cells, l, c, 1)))
            };
            let vs_peer = if server == "jsonrpsee-http" {
                None
            } else {
                div(Some(x.report.rps), rps(cells, "jsonrpsee-http", c, 1))
            };
            let _ = writeln!(
                w,
                "| {server} | {c} | {:.0} | {:.0} µs | {:.0} µs | {} | {} | {} | {} |{}",
                x.report.rps,
                x.report.p50_us,
                x.report.p99_us,
                cpu_us(x),
                ratio(vs(bare)),
                ratio(vs(typed.filter(|_| !server.ends_with("-bare")))),
                ratio(vs_peer),
                errors(x)
            );
        }
    }
    let _ = writeln!(w);

    // TCP.
    let pipelines: Vec<usize> = {
        let mut v: Vec<usize> = cells
            .iter()
            .filter(|c| c.wire == "tcp")
            .map(|c| c.report.pipeline)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let deep = pipelines.iter().copied().max().unwrap_or(1);
    let _ = writeln!(w, "## TCP servers (newline-delimited `ping`)\n");
    let _ = writeln!(
        w,
        "tokio-line / smol-line = raw tokio / raw smol (set up as the adapter on that runtime is) that \
         answers every line with the fixed `pong` line without parsing it (the transport's limit); each \
         sansrpc server is compared with the echo of its own runtime. tokio-line-typed / smol-line-typed = \
         the same servers running the typed limit on every line (the transport plus the least JSON-RPC \
         work; measured at 64 connections only). Pipelined = {deep} requests written at once per \
         connection before the answers are read. Server CPU as in the HTTP table.\n"
    );
    let _ = writeln!(
        w,
        "| server | connections | pipeline | requests/s | p50 | p99 | server CPU per request | vs raw line server | vs typed-limit line server |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for server in [
        "tokio-sansrpc",
        "tokio-line-typed",
        "tokio-line",
        "smol-sansrpc",
        "smol-line-typed",
        "smol-line",
    ] {
        let (echo, typed) = limits_of(server);
        for &p in &pipelines {
            for &c in &conns {
                let Some(x) = cell(cells, server, c, p) else {
                    continue;
                };
                let vs = |limit: Option<&str>| {
                    limit
                        .filter(|&l| l != server)
                        .and_then(|l| div(Some(x.report.rps), rps(cells, l, c, p)))
                };
                let _ = writeln!(
                    w,
                    "| {server} | {c} | {p} | {:.0} | {:.0} µs | {:.0} µs | {} | {} | {} |{}",
                    x.report.rps,
                    x.report.p50_us,
                    x.report.p99_us,
                    cpu_us(x),
                    ratio(vs(echo)),
                    ratio(vs(typed.filter(|_| !server.ends_with("-line")))),
                    errors(x)
                );
            }
        }
    }
    let _ = writeln!(w);

    // Server CPU per request under callgrind.
    let ir_of = |server: &str, pipeline: usize| {
        cpu.cells
            .iter()
            .find(|c| c.server == server && c.pipeline == pipeline)
            .and_then(|c| c.per_request())
    };
    if !cpu.cells.is_empty() {
        let _ = writeln!(w, "## Server CPU per request (callgrind, user space)\n");
        let _ = writeln!(
            w,
            "Each server alone under `valgrind --tool=callgrind` (on CPU 0 when pinned), driven by \
             `sansrpc-load`'s engine over 64 connections: {:.0} s of load, the counters zeroed \
             (`callgrind_control -z`) with no request in flight, {:.0} s of load, the counters dumped \
             (`callgrind_control -d`) with no request in flight, and the dump's instruction total (every \
             thread of the server, user space; the kernel's share of a system call is not counted) divided \
             by the requests answered in between. Instruction counts do not move with the machine's load, \
             so these are the steady figures; a server-bound load run's requests/s ratio is about the \
             inverse of their cost ratio where user space is most of the cost (HTTP, pipelined TCP); for \
             TCP one call at a time the kernel's share is most of it (the TCP table's server CPU column). \
             The cost ratios here are the server's instructions ÷ its limit's: below 1 would be cheaper \
             than the limit.\n",
            cpu.warmup_secs, cpu.seconds_per_cell
        );
        let _ = writeln!(
            w,
            "| server | pipeline | requests | instructions per request | ÷ bare / echo | ÷ typed-limit server |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
        for c in &cpu.cells {
            let (bare, typed) = limits_of(&c.server);
            let base = |limit: Option<&str>| {
                limit
                    .filter(|&l| l != c.server)
                    .and_then(|l| div(c.per_request(), ir_of(l, c.pipeline)))
            };
            let is_limit = c.server.ends_with("-bare") || c.server.ends_with("-line");
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} |",
                c.server,
                c.pipeline,
                c.requests,
                c.per_request()
                    .map_or_else(|| "–".to_owned(), |n| format!("{n:.0}")),
                ratio(base(bare)),
                ratio(base(typed.filter(|_| !is_limit)))
            );
        }
        let _ = writeln!(w);
    }
    if !cpu.skipped.is_empty() {
        let _ = writeln!(w, "Not measured under callgrind in this run:\n");
        for (what, why) in &cpu.skipped {
            let _ = writeln!(w, "- {what}: {why}");
        }
        let _ = writeln!(w);
    }

    // The adapters' targets, each judged by requests/s (the issue's) and by
    // callgrind instructions, with the typed-limit server's ceiling.
    let throughput = |goal: f64, r: Option<f64>| r.map(|r| r >= goal);
    let goal_rows = |targets: &mut Vec<Target>,
                     server: &str,
                     limit: &str,
                     typed: &str,
                     p: usize,
                     shape: &str,
                     goal: f64| {
        let by_rps = div(rps(cells, server, 64, p), rps(cells, limit, 64, p));
        let by_ir = div(ir_of(limit, p), ir_of(server, p));
        let ir_text = |r: Option<f64>, a: &str, b: &str| match (r, ir_of(a, p), ir_of(b, p)) {
            (Some(r), Some(x), Some(y)) => format!("{r:.2}x ({y:.0} ÷ {x:.0})"),
            _ => ratio(r),
        };
        targets.push(Target {
            what: format!("`{server}` {shape} ÷ `{limit}`"),
            goal: format!("≥ {goal}x"),
            figure: ratio(by_rps),
            ok: throughput(goal, by_rps),
            cpu_figure: ir_text(by_ir, server, limit),
            cpu_ok: throughput(goal, by_ir),
        });
        for (a, b, why) in [
            (typed, limit, "the ceiling of any JSON-RPC server there"),
            (server, typed, "sansrpc against that ceiling"),
        ] {
            let by_rps = div(rps(cells, a, 64, p), rps(cells, b, 64, p));
            let by_ir = div(ir_of(b, p), ir_of(a, p));
            targets.push(Target {
                what: format!("(for reference) `{a}` {shape} ÷ `{b}`: {why}"),
                goal: "–".into(),
                figure: ratio(by_rps),
                ok: None,
                cpu_figure: ir_text(by_ir, a, b),
                cpu_ok: None,
            });
        }
    };
    for server in ["actix-sansrpc", "warp-sansrpc"] {
        let (Some(bare), Some(typed)) = limits_of(server) else {
            continue;
        };
        goal_rows(
            &mut targets,
            server,
            bare,
            typed,
            1,
            "req/s at 64 connections",
            0.95,
        );
    }
    for server in ["tokio-sansrpc", "smol-sansrpc"] {
        let (Some(echo), Some(typed)) = limits_of(server) else {
            continue;
        };
        let goals: &[(usize, f64)] = if deep > 1 {
            &[(1, 0.9), (deep, 0.5)]
        } else {
            &[(1, 0.9)]
        };
        for &(p, goal) in goals {
            let shape = if p == 1 {
                "at 64 connections, one call at a time,".to_owned()
            } else {
                format!("at 64 connections × {p} pipelined")
            };
            goal_rows(&mut targets, server, echo, typed, p, &shape, goal);
            if echo != "tokio-line" {
                let by_rps = div(rps(cells, server, 64, p), rps(cells, "tokio-line", 64, p));
                let by_ir = div(ir_of("tokio-line", p), ir_of(server, p));
                targets.push(Target {
                    what: format!(
                        "(for reference) `{server}` {shape} ÷ `tokio-line` (how this goal was judged before)"
                    ),
                    goal: "–".into(),
                    figure: ratio(by_rps),
                    ok: None,
                    cpu_figure: ratio(by_ir),
                    cpu_ok: None,
                });
            }
        }
    }

    // Memory.
    if !load.rss.is_empty() {
        let _ = writeln!(w, "## Memory with idle TCP connections\n");
        let _ = writeln!(
            w,
            "Each connection answered one `ping`, then stayed open and idle for a second before VmRSS \
             was read from `/proc/<pid>/status`; afterwards every connection was pinged again.\n"
        );
        let _ = writeln!(
            w,
            "| server | connections | VmRSS before | VmRSS idle | per connection | alive after |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
        for r in &load.rss {
            let per = (r.idle_kib.saturating_sub(r.before_kib)) as f64 * 1024.0 / r.connections.max(1) as f64;
            let _ = writeln!(
                w,
                "| {} | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {} |",
                r.server,
                r.connections,
                r.before_kib as f64 / 1024.0,
                r.idle_kib as f64 / 1024.0,
                per / 1024.0,
                r.alive_after
            );
            if r.server.ends_with("-sansrpc") {
                targets.push(Target {
                    what: format!(
                        "`{}` RSS per idle TCP connection ({} connections)",
                        r.server, r.connections
                    ),
                    goal: "≤ 6 KiB".into(),
                    figure: format!("{:.1} KiB", per / 1024.0),
                    ok: Some(per <= 6.0 * 1024.0 && r.alive_after == r.connections),
                    cpu_figure: String::new(),
                    cpu_ok: None,
                });
            }
        }
        let _ = writeln!(w);
    }
    if !load.skipped.is_empty() {
        let _ = writeln!(w, "Not measured in this run:\n");
        for (what, why) in &load.skipped {
            let _ = writeln!(w, "- {what}: {why}");
        }
        let _ = writeln!(w);
    }

    // Targets.
    let mut t = String::new();
    let _ = writeln!(t, "## Targets\n");
    let _ = writeln!(
        t,
        "The adapters' goals are the issue's, in requests/s of the load matrix (its cells move by up to \
         ~40% from run to run on a shared machine, so read them with the run's load average). Each is also \
         judged by the servers' CPU per request under callgrind (the limit's instructions ÷ the server's: \
         the requests/s ratio a run bound by the server alone would show; see \"Server CPU per request\" \
         below), which does not move with the machine's load. Those count user space only: for TCP one \
         call at a time the kernel's share (a read, a write and an `epoll` wake-up per request) is most of \
         an echo's cost and the same for every server, so there the user-space ratio is far below the \
         ratio of whole CPU time (the tables' server CPU column), and where the load generator, not the \
         server, is the bottleneck the requests/s ratio is closer to 1 still. The reference rows give, for \
         each goal, the typed-limit server's ratio (the ceiling any JSON-RPC server on that framework or \
         runtime can reach) and sansrpc's ratio to that server.\n"
    );
    let _ = writeln!(
        t,
        "| target | goal | this run | | by server CPU per request (callgrind) | |"
    );
    let _ = writeln!(t, "|---|---:|---:|---|---:|---|");
    let judged = |ok: Option<bool>, goal: &str| match (ok, goal) {
        (_, "–") => "",
        (None, _) => "not measured",
        (Some(ok), _) => verdict(ok),
    };
    for x in &targets {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} |",
            x.what,
            x.goal,
            x.figure,
            judged(x.ok, &x.goal),
            if x.cpu_figure.is_empty() {
                ""
            } else {
                &x.cpu_figure
            },
            if x.cpu_figure.is_empty() {
                ""
            } else {
                judged(x.cpu_ok, &x.goal)
            }
        );
    }
    let _ = writeln!(t);
    // Targets first after the method, then the tables, then the findings.
    let split = md.find("## Core:").unwrap_or(md.len());
    md.insert_str(split, &t);
    md.push_str(findings.trim_end());
    md.push('\n');
    md
}
