//! The load matrix: start each server as a child process, drive it at
//! several connection counts, measure idle-connection memory, and keep
//! every figure in one JSON file for the report. Also the servers' CPU per
//! request under callgrind ([`cpu`]): each server under
//! `valgrind --tool=callgrind`, its instructions counted over a fixed time
//! of load and divided by the requests it answered.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::inputs::PING;
use crate::load::{self, LoadConfig, LoadReport, Protocol};
use crate::servers::{Kind, Wire};

/// One measured cell of the matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// Server kind name.
    pub server: String,
    /// `http` or `tcp`.
    pub wire: String,
    /// The measurement (the kept round's).
    pub report: LoadReport,
    /// The server's time on CPU in the kept round's measured window, in
    /// nanoseconds: every thread's `/proc/<pid>/task/*/schedstat` first
    /// field, summed, read at the window's start and end.
    #[serde(default)]
    pub server_cpu_ns: Option<u64>,
    /// Every round's requests/s, in the order run.
    #[serde(default)]
    pub rounds_rps: Vec<f64>,
    /// Every round's server CPU per answered request, in microseconds
    /// (read as `server_cpu_ns` is), in the order run.
    #[serde(default)]
    pub rounds_cpu_us: Vec<Option<f64>>,
}

impl Cell {
    /// Server CPU per answered request in the kept round, in
    /// microseconds.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let ns = self.server_cpu_ns?;
        (self.report.requests > 0).then(|| ns as f64 / 1e3 / self.report.requests as f64)
    }
}

/// Memory of one server holding many idle connections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rss {
    /// Server kind name.
    pub server: String,
    /// Connections opened (each answered one `ping` before going idle).
    pub connections: usize,
    /// Connections that still answered a `ping` after the measurement.
    pub alive_after: usize,
    /// VmRSS before any connection, in KiB.
    pub before_kib: u64,
    /// VmRSS with every connection open and idle, in KiB.
    pub idle_kib: u64,
}

/// Everything the load part of a run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Seconds measured per cell and round.
    pub seconds_per_cell: f64,
    /// Rounds run; each cell is the best of them.
    #[serde(default)]
    pub rounds: usize,
    /// The throughput/latency cells.
    pub cells: Vec<Cell>,
    /// The idle-connection memory figures.
    pub rss: Vec<Rss>,
    /// Servers that could not be measured, with why.
    pub skipped: Vec<(String, String)>,
}

/// How to run the matrix.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The `sansrpc-bench-server` binary.
    pub server_bin: PathBuf,
    /// CPU to pin each server to with `taskset`, if any.
    pub server_cpu: Option<usize>,
    /// Servers to drive.
    pub kinds: Vec<Kind>,
    /// Connection counts.
    pub connections: Vec<usize>,
    /// The one connection count at which the goal-only reference servers
    /// (`Kind::goal_cells_only`) are measured.
    pub goal_connections: usize,
    /// Pipeline depth for the pipelined TCP cells.
    pub pipeline: usize,
    /// Warm-up per cell.
    pub warmup: Duration,
    /// Measured time per cell.
    pub duration: Duration,
    /// Rounds over the whole matrix; each cell keeps its best round.
    pub rounds: usize,
    /// Idle connections for the memory figure (0 to skip).
    pub idle_connections: usize,
    /// Servers whose idle memory is measured.
    pub rss_kinds: Vec<Kind>,
}

/// A server child process, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(plan: &Plan, kind: Kind) -> io::Result<Server> {
    start_under(plan, kind, &[])
}

/// Starts `kind` as a child process, its command line prefixed by
/// `wrapper` (e.g. valgrind's), pinned with `taskset` when the plan says so.
fn start_under(plan: &Plan, kind: Kind, wrapper: &[OsString]) -> io::Result<Server> {
    let mut line: Vec<OsString> = Vec::new();
    if let Some(cpu) = plan.server_cpu.filter(|_| which("taskset")) {
        line.extend(["taskset".into(), "-c".into(), cpu.to_string().into()]);
    }
    line.extend(wrapper.iter().cloned());
    line.push(plan.server_bin.clone().into_os_string());
    let mut cmd = Command::new(line.first().ok_or_else(|| io::Error::other("no command"))?);
    cmd.args(line.get(1..).unwrap_or_default());
    cmd.arg(kind.name())
        .args([
            "--addr",
            "127.0.0.1:0",
            "--max-connections",
            "20000",
            "--lifetime",
            "600s",
        ])
        .env("SMOL_THREADS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| {
        let program = line
            .first()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        io::Error::new(e.kind(), format!("starting {program}: {e}"))
    })?;
    let stdout = child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .strip_prefix("listening ")
        .and_then(|a| a.trim().parse().ok())
        .ok_or_else(|| io::Error::other(format!("{} did not start: {line:?}", kind.name())));
    match addr {
        Ok(addr) => Ok(Server { child, addr }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Time on CPU of every thread of `pid`, in nanoseconds: the first field
/// of each `/proc/<pid>/task/<tid>/schedstat`, summed (`None` where the
/// kernel does not keep it). A thread that ended between two readings is
/// missing from the later one.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    (total > 0).then_some(total)
}

/// VmRSS of `pid` in KiB, from `/proc/<pid>/status`.
pub fn vm_rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS line"))
}

async fn ping_line(stream: &mut TcpStream) -> io::Result<()> {
    let mut req = PING.as_bytes().to_vec();
    req.push(b'\n');
    stream.write_all(&req).await?;
    let mut buf = [0u8; 256];
    let mut got = 0;
    loop {
        let n = stream.read(&mut buf[got..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
        if buf[..got].contains(&b'\n') {
            return Ok(());
        }
        if got == buf.len() {
            return Err(io::Error::other("answer too long"));
        }
    }
}

async fn open_pinged(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    ping_line(&mut s).await?;
    Ok(s)
}

async fn idle_rss(plan: &Plan, kind: Kind) -> io::Result<Rss> {
    let server = start(plan, kind)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.child.id();
    let before_kib = vm_rss_kib(pid)?;
    let mut streams = Vec::with_capacity(plan.idle_connections);
    // In waves, so the accept backlog never overflows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while streams.len() < plan.idle_connections && tokio::time::Instant::now() < deadline {
        let wave = (plan.idle_connections - streams.len()).min(250);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..wave {
            set.spawn(open_pinged(server.addr));
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(s)) => streams.push(s),
                Ok(Err(e)) => {
                    return Err(io::Error::other(format!(
                        "opening connection {}: {e}",
                        streams.len()
                    )));
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = vm_rss_kib(pid)?;
    let mut alive_after = 0;
    for s in &mut streams {
        if tokio::time::timeout(Duration::from_secs(2), ping_line(s))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            alive_after += 1;
        }
    }
    Ok(Rss {
        server: kind.name().to_owned(),
        connections: streams.len(),
        alive_after,
        before_kib,
        idle_kib,
    })
}

/// Runs the whole matrix; progress goes to stderr.
pub async fn run(plan: &Plan) -> Results {
    let mut results = Results {
        seconds_per_cell: plan.duration.as_secs_f64(),
        ..Results::default()
    };
    // Every server runs at once (an idle one costs nothing), so each cell
    // can be repeated in rounds that interleave the servers: a burst of
    // load from elsewhere on the machine then hits the adapter and its
    // limit alike, and the best round of each cell is kept.
    let mut running = Vec::new();
    for &kind in &plan.kinds {
        if !kind.available() {
            results
                .skipped
                .push((kind.name().to_owned(), "left out of this build".to_owned()));
            continue;
        }
        match start(plan, kind) {
            Ok(s) => running.push((kind, s)),
            Err(e) => {
                eprintln!("{}: {e}", kind.name());
                results.skipped.push((kind.name().to_owned(), e.to_string()));
            }
        }
    }
    let mut best: Vec<Cell> = Vec::new();
    for round in 0..plan.rounds.max(1) {
        for &connections in &plan.connections {
            for (kind, server) in &running {
                if kind.goal_cells_only() && connections != plan.goal_connections {
                    continue;
                }
                let (protocol, pipelines) = match kind.wire() {
                    Wire::Http => (Protocol::Http { path: "/".to_owned() }, vec![1]),
                    Wire::Tcp => (Protocol::Tcp, vec![1, plan.pipeline]),
                };
                for &pipeline in &pipelines {
                    let config = LoadConfig {
                        addr: server.addr,
                        protocol: protocol.clone(),
                        connections,
                        pipeline,
                        warmup: plan.warmup,
                        duration: plan.duration,
                        body: PING.as_bytes().to_vec(),
                    };
                    let pid = server.child.id();
                    let (report, window) = match load::run_probed(&config, || cpu_ns(pid)).await {
                        Ok(r) => r,
                        Err(e) => {
                            results.skipped.push((kind.name().to_owned(), e.to_string()));
                            continue;
                        }
                    };
                    let server_cpu_ns = match window {
                        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                        _ => None,
                    };
                    let cpu_us = server_cpu_ns
                        .filter(|_| report.requests > 0)
                        .map(|ns| ns as f64 / 1e3 / report.requests as f64);
                    eprintln!(
                        "round {round} {:>16} c={:<4} p={:<3} {:>10.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  server CPU {} µs/req  errors {}",
                        kind.name(),
                        connections,
                        pipeline,
                        report.rps,
                        report.p50_us,
                        report.p99_us,
                        cpu_us.map_or_else(|| "–".to_owned(), |us| format!("{us:.2}")),
                        report.errors
                    );
                    let cell = Cell {
                        server: kind.name().to_owned(),
                        wire: match kind.wire() {
                            Wire::Http => "http",
                            Wire::Tcp => "tcp",
                        }
                        .to_owned(),
                        report,
                        server_cpu_ns,
                        rounds_rps: Vec::new(),
                        rounds_cpu_us: Vec::new(),
                    };
                    let same = |c: &Cell| {
                        c.server == cell.server
                            && c.report.connections == cell.report.connections
                            && c.report.pipeline == cell.report.pipeline
                    };
                    let rps = cell.report.rps;
                    let i = match best.iter().position(same) {
                        Some(i) => i,
                        None => {
                            best.push(cell.clone());
                            best.len() - 1
                        }
                    };
                    let Some(kept) = best.get_mut(i) else { continue };
                    if kept.report.rps < rps {
                        let rounds_rps = std::mem::take(&mut kept.rounds_rps);
                        let rounds_cpu_us = std::mem::take(&mut kept.rounds_cpu_us);
                        *kept = Cell {
                            rounds_rps,
                            rounds_cpu_us,
                            ..cell
                        };
                    }
                    kept.rounds_rps.push(rps);
                    kept.rounds_cpu_us.push(cpu_us);
                }
            }
        }
    }
    drop(running);
    results.cells = best;
    results.rounds = plan.rounds.max(1);
    if plan.idle_connections > 0 {
        for &kind in &plan.rss_kinds {
            if !kind.available() {
                continue;
            }
            match idle_rss(plan, kind).await {
                Ok(r) => {
                    eprintln!(
                        "{:>15} {} idle connections: VmRSS {} KiB (before: {} KiB), {} alive after",
                        r.server, r.connections, r.idle_kib, r.before_kib, r.alive_after
                    );
                    results.rss.push(r);
                }
                Err(e) => {
                    eprintln!("{} idle RSS: {e}", kind.name());
                    results
                        .skipped
                        .push((format!("{} (idle RSS)", kind.name()), e.to_string()));
                }
            }
        }
    }
    results
}

/// One server's instructions per request under callgrind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CpuCell {
    /// Server kind name.
    pub server: String,
    /// Connections driving it.
    pub connections: usize,
    /// Requests written at once per connection.
    pub pipeline: usize,
    /// Requests the server answered in the measured window (every
    /// connection's last round finished inside it).
    pub requests: u64,
    /// Instructions the server ran in that window: callgrind's `Ir`,
    /// user space, every thread of the process.
    pub instructions: u64,
    /// Length of the window, in seconds.
    pub seconds: f64,
}

impl CpuCell {
    /// Instructions per answered request.
    pub fn per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.instructions as f64 / self.requests as f64)
    }
}

/// What the callgrind part of a run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CpuResults {
    /// Warm-up before each window, in seconds.
    pub warmup_secs: f64,
    /// Length of each measured window, in seconds.
    pub seconds_per_cell: f64,
    /// The measured cells.
    pub cells: Vec<CpuCell>,
    /// Servers that could not be measured, with why.
    pub skipped: Vec<(String, String)>,
}

/// How to run the callgrind part.
#[derive(Clone, Debug)]
pub struct CpuPlan {
    /// Servers to measure.
    pub kinds: Vec<Kind>,
    /// Connections driving each server.
    pub connections: usize,
    /// The pipelined depth measured for the TCP servers besides 1.
    pub pipeline: usize,
    /// Load before the counters are zeroed.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Where callgrind writes its dumps (each is removed once read).
    pub dir: PathBuf,
}

/// Every server of a goal, in the order the report shows them.
pub const CPU_KINDS: [Kind; 12] = [
    Kind::ActixSansrpc,
    Kind::ActixBare,
    Kind::ActixTyped,
    Kind::WarpSansrpc,
    Kind::WarpBare,
    Kind::WarpTyped,
    Kind::TokioSansrpc,
    Kind::TokioLine,
    Kind::TokioLineTyped,
    Kind::SmolSansrpc,
    Kind::SmolLine,
    Kind::SmolLineTyped,
];

fn callgrind_control(flag: &str, pid: u32) -> io::Result<()> {
    let out = Command::new("callgrind_control")
        .arg(flag)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Error") {
        return Err(io::Error::other(format!(
            "callgrind_control {flag} {pid}: {}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The `totals:` of the latest dump of `prefix` (`<prefix>.<n>`), read and
/// then every dump of it removed.
fn take_dump_total(dir: &Path, prefix: &str) -> io::Result<u64> {
    let mut dumps: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| {
            let path = e.ok()?.path();
            let n = path
                .file_name()?
                .to_str()?
                .strip_prefix(prefix)?
                .strip_prefix('.')?
                .parse()
                .ok()?;
            Some((n, path))
        })
        .collect();
    dumps.sort();
    let (_, latest) = dumps
        .last()
        .ok_or_else(|| io::Error::other(format!("no callgrind dump {prefix}.N in {}", dir.display())))?;
    let text = std::fs::read_to_string(latest)?;
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("{}: no totals line", latest.display())));
    for (_, path) in &dumps {
        let _ = std::fs::remove_file(path);
    }
    total
}

fn dump_prefix(kind: Kind) -> String {
    format!("{}.{}", kind.name(), std::process::id())
}

async fn cpu_one(plan: &Plan, cpu: &CpuPlan, kind: Kind) -> io::Result<Vec<CpuCell>> {
    let prefix = dump_prefix(kind);
    let wrapper: Vec<OsString> = vec![
        "valgrind".into(),
        "-q".into(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", cpu.dir.join(&prefix).display()).into(),
    ];
    let server = start_under(plan, kind, &wrapper)?;
    let pid = server.child.id();
    let (protocol, pipelines) = match kind.wire() {
        Wire::Http => (Protocol::Http { path: "/".to_owned() }, vec![1]),
        Wire::Tcp => (Protocol::Tcp, vec![1, cpu.pipeline]),
    };
    let mut cells = Vec::new();
    for pipeline in pipelines {
        let config = LoadConfig {
            addr: server.addr,
            protocol: protocol.clone(),
            connections: cpu.connections,
            pipeline,
            warmup: Duration::ZERO,
            duration: Duration::ZERO,
            body: PING.as_bytes().to_vec(),
        };
        let phases = load::run_at_rest(&config, &[cpu.warmup, cpu.duration], |i| {
            callgrind_control(if i == 0 { "-z" } else { "-d" }, pid)
        })
        .await?;
        let window = phases.get(1).copied().unwrap_or_default();
        let instructions = take_dump_total(&cpu.dir, &prefix)?;
        let cell = CpuCell {
            server: kind.name().to_owned(),
            connections: cpu.connections,
            pipeline,
            requests: window.requests,
            instructions,
            seconds: window.seconds,
        };
        eprintln!(
            "callgrind {:>16} c={:<4} p={:<3} {:>9} requests in {:.1} s: {} instructions per request",
            cell.server,
            cell.connections,
            cell.pipeline,
            cell.requests,
            cell.seconds,
            cell.per_request()
                .map_or_else(|| "–".to_owned(), |n| format!("{n:.0}"))
        );
        cells.push(cell);
    }
    Ok(cells)
}

/// Measures each server's CPU per request under callgrind, one server at a
/// time: started under `valgrind --tool=callgrind` (pinned as the plan
/// says), driven by `cpu.connections` connections for `cpu.warmup`, its
/// counters zeroed (`callgrind_control -z`) with nothing in flight, driven
/// for `cpu.duration`, dumped (`callgrind_control -d`) with nothing in
/// flight, and the dump's total divided by the requests answered in
/// between; the TCP servers one call at a time and `cpu.pipeline` deep.
/// A server that fails is killed and reported as skipped. Progress goes
/// to stderr.
pub async fn cpu(plan: &Plan, cpu: &CpuPlan) -> CpuResults {
    let mut results = CpuResults {
        warmup_secs: cpu.warmup.as_secs_f64(),
        seconds_per_cell: cpu.duration.as_secs_f64(),
        ..CpuResults::default()
    };
    if let Err(e) = std::fs::create_dir_all(&cpu.dir) {
        results
            .skipped
            .push(("every server".to_owned(), format!("{}: {e}", cpu.dir.display())));
        return results;
    }
    for &kind in &cpu.kinds {
        if !kind.available() {
            results
                .skipped
                .push((kind.name().to_owned(), "left out of this build".to_owned()));
            continue;
        }
        let measured = cpu_one(plan, cpu, kind).await;
        // The server is gone by now (killed on drop, on error too); remove
        // whatever dump is left of it.
        let _ = take_dump_total(&cpu.dir, &dump_prefix(kind));
        let _ = std::fs::remove_file(cpu.dir.join(dump_prefix(kind)));
        match measured {
            Ok(cells) => results.cells.extend(cells),
            Err(e) => {
                eprintln!("callgrind {}: {e}", kind.name());
                results.skipped.push((kind.name().to_owned(), e.to_string()));
            }
        }
    }
    results
}
