//! The load generator behind `sansrpc-load`: N keep-alive connections to
//! one loopback server, each sending a fixed request (or `pipeline` of them
//! at once) and waiting for the answers, for a bounded time.
//!
//! HTTP/1.1 is spoken over a raw `TcpStream` with a minimal response reader
//! (status line, `Content-Length`); newline-framed JSON needs only a
//! newline count. Latency is measured per request, from the write of its
//! round to the arrival of its answer.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memchr::memmem;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How requests are framed on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 `POST` to `path`, keep-alive.
    Http {
        /// The request target, e.g. `/`.
        path: String,
    },
    /// One JSON message per line over TCP.
    Tcp,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server; must be a loopback address.
    pub addr: SocketAddr,
    /// HTTP or newline TCP.
    pub protocol: Protocol,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests written at once per connection before reading answers.
    pub pipeline: usize,
    /// Time before measuring starts (connections are open and busy).
    pub warmup: Duration,
    /// Time measured.
    pub duration: Duration,
    /// The JSON-RPC request body.
    pub body: Vec<u8>,
}

/// What a run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadReport {
    /// Connections that were opened and used.
    pub connections: usize,
    /// Pipeline depth.
    pub pipeline: usize,
    /// Answers received in the measured window.
    pub requests: u64,
    /// Answers that were not successful JSON-RPC results, or HTTP errors,
    /// plus connections lost, in the measured window.
    pub errors: u64,
    /// Length of the measured window, in seconds.
    pub seconds: f64,
    /// Answers per second.
    pub rps: f64,
    /// Median latency, in microseconds.
    pub p50_us: f64,
    /// 99th-percentile latency, in microseconds.
    pub p99_us: f64,
}

/// Parses `http://127.0.0.1:5000/path` or `tcp://127.0.0.1:5001` into an
/// address and protocol. Only loopback addresses are accepted: this tool
/// is for measuring servers on the same machine.
pub fn parse_url(url: &str) -> Result<(SocketAddr, Protocol), String> {
    let (rest, http) = if let Some(r) = url.strip_prefix("http://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("tcp://") {
        (r, false)
    } else {
        return Err(format!(
            "unsupported URL {url:?}: use http://HOST:PORT/PATH or tcp://HOST:PORT"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = authority
        .parse()
        .map_err(|e| format!("bad address {authority:?}: {e} (give an IP and a port)"))?;
    if !is_loopback(addr.ip()) {
        return Err(format!(
            "{addr} is not a loopback address; only 127.0.0.0/8 and ::1 are allowed"
        ));
    }
    let protocol = if http {
        Protocol::Http {
            path: path.to_owned(),
        }
    } else {
        Protocol::Tcp
    };
    Ok((addr, protocol))
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// The bytes of one request as written on the wire.
pub fn frame_request(protocol: &Protocol, addr: SocketAddr, body: &[u8]) -> Vec<u8> {
    match protocol {
        Protocol::Http { path } => {
            let mut r = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
        Protocol::Tcp => {
            let mut r = body.to_vec();
            r.push(b'\n');
            r
        }
    }
}

/// Outcome of parsing one response off the front of a buffer.
enum Parsed {
    /// Need more bytes.
    Partial,
    /// One whole response of `len` bytes; `ok` if it was a successful
    /// JSON-RPC result.
    Done { len: usize, ok: bool },
    /// Unparseable or unsupported (e.g. chunked encoding).
    Broken,
}

/// Splits answers off the front of the read buffer.
struct Reader {
    http: bool,
    head_end: memmem::Finder<'static>,
    result: memmem::Finder<'static>,
}

impl Reader {
    fn new(http: bool) -> Self {
        Self {
            http,
            head_end: memmem::Finder::new(b"\r\n\r\n"),
            result: memmem::Finder::new(b"\"result\""),
        }
    }

    fn parse(&self, buf: &[u8]) -> Parsed {
        if self.http {
            self.parse_http(buf)
        } else {
            self.parse_line(buf)
        }
    }

    fn parse_line(&self, buf: &[u8]) -> Parsed {
        match memchr::memchr(b'\n', buf) {
            Some(i) => Parsed::Done {
                len: i + 1,
                ok: self.result.find(&buf[..i]).is_some(),
            },
            None if buf.len() > 16 * 1024 * 1024 => Parsed::Broken,
            None => Parsed::Partial,
        }
    }

    fn parse_http(&self, buf: &[u8]) -> Parsed {
        let Some(end) = self.head_end.find(buf) else {
            return if buf.len() > 64 * 1024 {
                Parsed::Broken
            } else {
                Parsed::Partial
            };
        };
        let head = &buf[..end];
        let status_ok = head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200");
        let no_body = head.starts_with(b"HTTP/1.1 204") || head.starts_with(b"HTTP/1.1 304");
        let mut content_length = None;
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let name = &line[..colon];
            if name.eq_ignore_ascii_case(b"content-length") {
                let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                return Parsed::Broken;
            }
        }
        let body_len = match (content_length, no_body) {
            (Some(n), _) => n,
            (None, true) => 0,
            (None, false) => return Parsed::Broken,
        };
        let total = end + 4 + body_len;
        if buf.len() < total {
            return Parsed::Partial;
        }
        let ok = status_ok && self.result.find(&buf[end + 4..total]).is_some();
        Parsed::Done { len: total, ok }
    }
}

#[derive(Default)]
struct ConnStats {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

/// Most latency samples kept per connection (a bound on memory; the count
/// of requests is exact regardless).
const MAX_SAMPLES_PER_CONN: usize = 2_000_000;

async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

async fn drive(
    addr: SocketAddr,
    request: std::sync::Arc<Vec<u8>>,
    reader: std::sync::Arc<Reader>,
    pipeline: usize,
    measure_from: Instant,
    stop_at: Instant,
) -> ConnStats {
    let mut stats = ConnStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut stream = match connect(addr).await {
        Ok(s) => Some(s),
        Err(_) => {
            stats.errors += 1;
            None
        }
    };
    'rounds: while Instant::now() < stop_at {
        let Some(s) = stream.as_mut() else {
            // Reconnect after a loss, a little later, within the deadline.
            tokio::time::sleep(Duration::from_millis(10)).await;
            stream = connect(addr).await.ok();
            continue;
        };
        let sent = Instant::now();
        if s.write_all(&request).await.is_err() {
            stats.errors += u64::from(sent >= measure_from);
            stream = None;
            continue;
        }
        let mut answered = 0;
        let mut start = 0;
        while answered < pipeline {
            match reader.parse(&buf[start..]) {
                Parsed::Done { len, ok } => {
                    start += len;
                    answered += 1;
                    let now = Instant::now();
                    if sent >= measure_from && now < stop_at {
                        stats.requests += 1;
                        stats.errors += u64::from(!ok);
                        if stats.latencies_us.len() < MAX_SAMPLES_PER_CONN {
                            let us = now.duration_since(sent).as_micros();
                            stats.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                        }
                    }
                }
                Parsed::Broken => {
                    stats.errors += 1;
                    buf.clear();
                    stream = None;
                    continue 'rounds;
                }
                Parsed::Partial => {
                    make_room(&mut buf, &mut start);
                    let Some(s) = stream.as_mut() else {
                        continue 'rounds;
                    };
                    match s.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => {
                            stats.errors += u64::from(Instant::now() >= measure_from);
                            buf.clear();
                            stream = None;
                            continue 'rounds;
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
        buf.drain(..start);
    }
    stats
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

/// Before reading more answers: drops the answers already read
/// (`..start`) and keeps at least 16 KiB free.
fn make_room(buf: &mut Vec<u8>, start: &mut usize) {
    if *start > 0 {
        buf.drain(..*start);
        *start = 0;
    }
    if buf.capacity() - buf.len() < 16 * 1024 {
        buf.reserve(64 * 1024);
    }
}

/// What every connection of a run shares: the pipeline depth, the bytes
/// written per round (`pipeline` framed requests) and the answer reader.
/// Refuses any target but loopback.
fn prepare(config: &LoadConfig) -> io::Result<(usize, Arc<Vec<u8>>, Arc<Reader>)> {
    if !is_loopback(config.addr.ip()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "only loopback targets are allowed",
        ));
    }
    let pipeline = config.pipeline.max(1);
    let one = frame_request(&config.protocol, config.addr, &config.body);
    let request = Arc::new(one.repeat(pipeline));
    let reader = Arc::new(Reader::new(matches!(config.protocol, Protocol::Http { .. })));
    Ok((pipeline, request, reader))
}

/// Runs the load on the current thread's runtime (the caller builds a
/// current-thread runtime so the generator uses exactly one thread).
pub async fn run(config: &LoadConfig) -> io::Result<LoadReport> {
    run_probed(config, || ()).await.map(|(report, _)| report)
}

/// [`run`], calling `probe` once at the start of the measured window and
/// once at its end (from the generator's own task, while the connections
/// keep going), e.g. to read the server's CPU time around the window.
pub async fn run_probed<T>(
    config: &LoadConfig,
    mut probe: impl FnMut() -> T,
) -> io::Result<(LoadReport, (T, T))> {
    let (pipeline, request, reader) = prepare(config)?;
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let stop_at = measure_from + config.duration;
    // A stalled server must not hold the run: every connection is abandoned
    // a little after the deadline.
    let hard_stop = config.warmup + config.duration + Duration::from_secs(5);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..config.connections.max(1) {
        let (request, reader) = (request.clone(), reader.clone());
        let addr = config.addr;
        tasks.spawn(async move {
            tokio::time::timeout(
                hard_stop,
                drive(addr, request, reader, pipeline, measure_from, stop_at),
            )
            .await
        });
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let at_start = probe();
    tokio::time::sleep_until(stop_at.into()).await;
    let at_end = probe();
    let mut total = ConnStats::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(s)) => {
                total.requests += s.requests;
                total.errors += s.errors;
                total.latencies_us.extend_from_slice(&s.latencies_us);
            }
            // Timed out or failed: count it as an error, keep the rest.
            _ => total.errors += 1,
        }
    }
    total.latencies_us.sort_unstable();
    let seconds = config.duration.as_secs_f64();
    let report = LoadReport {
        connections: config.connections.max(1),
        pipeline,
        requests: total.requests,
        errors: total.errors,
        seconds,
        rps: total.requests as f64 / seconds,
        p50_us: percentile(&total.latencies_us, 50.0),
        p99_us: percentile(&total.latencies_us, 99.0),
    };
    Ok((report, (at_start, at_end)))
}

/// What one phase of [`run_at_rest`] did.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Phase {
    /// Every answer received in the phase: each connection finished its
    /// last round before the phase ended, so this is exactly the number of
    /// requests the server answered in it.
    pub requests: u64,
    /// Seconds from the phase's start to the last connection at rest.
    pub seconds: f64,
}

/// One round on a connection: the pipelined requests written, every answer
/// read. Any broken, failed or missing answer is an error: a phase counts
/// only complete, successful rounds.
async fn round_trip(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    request: &[u8],
    reader: &Reader,
    pipeline: usize,
) -> io::Result<()> {
    stream.write_all(request).await?;
    let mut answered = 0;
    let mut start = 0;
    while answered < pipeline {
        match reader.parse(buf.get(start..).unwrap_or_default()) {
            Parsed::Done { len, ok: true } => {
                start += len;
                answered += 1;
            }
            Parsed::Done { ok: false, .. } => return Err(io::Error::other("an answer was not a result")),
            Parsed::Broken => return Err(io::Error::other("an answer did not parse")),
            Parsed::Partial => {
                make_room(buf, &mut start);
                if stream.read_buf(buf).await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
        }
    }
    buf.drain(..start);
    Ok(())
}

/// Drives `config.connections` connections (opened once, kept for every
/// phase) through one timed phase per entry of `phases`. Within a phase
/// each connection runs rounds until the phase's time is up and then
/// finishes the round it is in, so between phases nothing is in flight:
/// `at_rest(i)` is called after phase `i` with the server at rest (e.g. to
/// zero or dump a profiler's counters), and each phase's count is exactly
/// what the server answered in it. `config.warmup` and `config.duration`
/// are not used. Any error, a lost connection or an answer that is not a
/// result fails the whole run; a phase is abandoned 30 s after its time.
pub async fn run_at_rest(
    config: &LoadConfig,
    phases: &[Duration],
    mut at_rest: impl FnMut(usize) -> io::Result<()>,
) -> io::Result<Vec<Phase>> {
    let (pipeline, request, reader) = prepare(config)?;
    let mut conns = Vec::with_capacity(config.connections.max(1));
    for _ in 0..config.connections.max(1) {
        conns.push((connect(config.addr).await?, Vec::with_capacity(64 * 1024)));
    }
    let mut out = Vec::with_capacity(phases.len());
    for (i, &length) in phases.iter().enumerate() {
        let start = Instant::now();
        let stop_at = start + length;
        let mut tasks = tokio::task::JoinSet::new();
        for (mut stream, mut buf) in conns.drain(..) {
            let (request, reader) = (request.clone(), reader.clone());
            tasks.spawn(async move {
                let mut rounds = 0u64;
                while Instant::now() < stop_at {
                    round_trip(&mut stream, &mut buf, &request, &reader, pipeline).await?;
                    rounds += 1;
                }
                Ok::<_, io::Error>((stream, buf, rounds))
            });
        }
        let mut requests = 0;
        let give_up = tokio::time::Instant::from(stop_at + Duration::from_secs(30));
        while let Some(joined) = tokio::time::timeout_at(give_up, tasks.join_next())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "a phase did not end"))?
        {
            let (stream, buf, rounds) = joined.map_err(io::Error::other)??;
            requests += rounds * pipeline as u64;
            conns.push((stream, buf));
        }
        out.push(Phase {
            requests,
            seconds: start.elapsed().as_secs_f64(),
        });
        at_rest(i)?;
    }
    Ok(out)
}

/// Parses `5s`, `500ms`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    if !(0.0..=3600.0).contains(&(v * scale)) {
        return Err(format!("duration {s:?} out of range (at most 1 hour)"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}
