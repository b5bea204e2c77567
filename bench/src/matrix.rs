//! The load matrix: start each server as a child process, drive it at
//! several connection counts, measure idle-connection memory, and keep
//! every figure in one JSON file for the report.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
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
    /// The measurement.
    pub report: LoadReport,
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
    let mut cmd = match plan.server_cpu {
        Some(cpu) if which("taskset") => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu.to_string()).arg(&plan.server_bin);
            c
        }
        _ => Command::new(&plan.server_bin),
    };
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
    let mut child = cmd.spawn()?;
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
                    let report = match load::run(&config).await {
                        Ok(r) => r,
                        Err(e) => {
                            results.skipped.push((kind.name().to_owned(), e.to_string()));
                            continue;
                        }
                    };
                    eprintln!(
                        "round {round} {:>15} c={:<4} p={:<3} {:>10.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  errors {}",
                        kind.name(),
                        connections,
                        pipeline,
                        report.rps,
                        report.p50_us,
                        report.p99_us,
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
                    };
                    let same = |c: &Cell| {
                        c.server == cell.server
                            && c.report.connections == cell.report.connections
                            && c.report.pipeline == cell.report.pipeline
                    };
                    match best.iter_mut().find(|c| same(c)) {
                        Some(old) if old.report.rps < cell.report.rps => *old = cell,
                        Some(_) => {}
                        None => best.push(cell),
                    }
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
