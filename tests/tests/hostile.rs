//! Hostile input against all four adapters' real servers, over real
//! sockets on 127.0.0.1, in this process.
//!
//! One `#[test]` per adapter × attack family (`tokio::deep_nesting`,
//! `warp::slow_drip`, ...). Each test starts a fresh server serving
//! [`hostile_router`], and while it attacks, a background load of 100
//! calls across 10 connections per round (rounds repeat until the attack
//! ends) must get every exact answer; after the attack a fresh client's
//! `ping` must get `pong`. In every case the offender gets a clear JSON-RPC
//! error, an HTTP error status or a clean close, and nothing crashes.
//!
//! Memory: the servers run in this process, so its resident set size
//! (`VmRSS`) is measured before and after each test, with the tests of this
//! file serialized (one lock) so that each figure is one test's own. The
//! bound, per test and summed over one adapter's battery, is
//! [`RSS_BOUND`] (200 MB) — with the default 1 MiB message limit a server
//! must never hold anything close to the 100 MB the attacks send. The
//! figures are printed (`cargo test -p sansrpc-tests --test hostile --
//! --nocapture`).
//!
//! Every socket has timeouts, every loop a count bound, every test a
//! [`TEST_TIMEOUT`].

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use sansrpc::Limits;
use sansrpc_tests::{
    Adapter, PANIC_MESSAGE, Running, holding, hostile_router, open_files_soft_limit, rss_bytes, start,
    start_ws,
};
use serde_json::{Value, json};

/// The most one test, or one adapter's whole battery, may add to this
/// process's resident set: 200 MB.
const RSS_BOUND: u64 = 200 * 1024 * 1024;

/// The bound on one test, server start and stop included.
const TEST_TIMEOUT: Duration = Duration::from_secs(40);

/// The bound on any one socket read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The idle timeout configured for the slow-drip attack.
const IDLE: Duration = Duration::from_secs(1);

/// How long the slow-drip attack drips (one byte per [`DRIP_EVERY`]).
const DRIP_FOR: Duration = Duration::from_secs(3);
const DRIP_EVERY: Duration = Duration::from_millis(100);

/// The size of the huge message: 100 MB, streamed in [`CHUNK`]s.
const HUGE: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// How many connections the connection flood opens at once.
const FLOOD: usize = 1000;

/// Tests of this file run one at a time: RSS figures are then each
/// test's own, and two cores are enough.
static SERIAL: Mutex<()> = Mutex::new(());

/// One adapter's battery so far: tests run, the sum of their RSS
/// increments, the largest RSS seen.
type Figures = (usize, i64, u64);

/// [`Figures`] per adapter.
static BATTERY: Mutex<Option<HashMap<Adapter, Figures>>> = Mutex::new(None);

// ---------------------------------------------------------------------------
// The harness.

/// Runs one attack against a fresh `adapter` server under `limits`, with
/// the background load, the fresh-client check and the memory check.
fn run(adapter: Adapter, family: &'static str, limits: Limits, attack: fn(Adapter, SocketAddr)) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    quiet_on_purpose_panics();
    let name = format!("{adapter}/{family}");
    bounded(&name.clone(), TEST_TIMEOUT, move || {
        let before = rss_bytes().expect("/proc/self/status has VmRSS");
        let started = Instant::now();
        let server: Running = start(adapter, hostile_router(), limits).expect("server starts");
        let addr = server.addr();

        let load = Load::start(adapter, addr);
        let attack_started = Instant::now();
        attack(adapter, addr);
        let attack_took = attack_started.elapsed();
        let (rounds, calls) = load.finish();
        fresh_ping(adapter, addr);

        let after = rss_bytes().expect("/proc/self/status has VmRSS");
        drop(server);
        let delta = after as i64 - before as i64;
        let (runs, sum, max) = {
            let mut battery = BATTERY.lock().unwrap_or_else(|e| e.into_inner());
            let entry = battery
                .get_or_insert_with(HashMap::new)
                .entry(adapter)
                .or_insert((0, 0, 0));
            entry.0 += 1;
            entry.1 += delta;
            entry.2 = entry.2.max(after);
            *entry
        };
        println!(
            "{name}: attack {attack_took:.2?}, test {:.2?}; load {calls} exact answers in {rounds} rounds; \
             RSS before {}, after {} ({:+.1} MB); {adapter} battery so far: {runs} tests, {:+.1} MB summed, \
             max {}",
            started.elapsed(),
            mb(before),
            mb(after),
            delta as f64 / 1e6,
            sum as f64 / 1e6,
            mb(max),
        );
        assert!(
            delta < RSS_BOUND as i64,
            "{name}: RSS grew by {:.1} MB (bound {} MB)",
            delta as f64 / 1e6,
            RSS_BOUND / 1_000_000
        );
        assert!(
            sum < RSS_BOUND as i64,
            "{adapter}: the battery's RSS grew by {:.1} MB in all (bound {} MB)",
            sum as f64 / 1e6,
            RSS_BOUND / 1_000_000
        );
    });
}

/// The `panic` method's panics are expected: they are not printed.
fn quiet_on_purpose_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&PANIC_MESSAGE) {
                default(info);
            }
        }));
    });
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Runs `f` on a thread of its own and fails if it takes longer than
/// `limit` (the thread is then left behind; the test process ends anyway).
fn bounded(what: &str, limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel::<()>();
    let handle = thread::spawn(move || {
        f();
        drop(done_tx);
    });
    match done.recv_timeout(limit) {
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not done within {limit:?}"),
        _ => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// 100 calls across 10 connections per round, rounds repeated while the
/// attack runs (at least one, at most [`Load::MAX_ROUNDS`]); every answer
/// is checked against the exact expected result.
struct Load {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<(usize, usize)>,
}

impl Load {
    const CONNECTIONS: usize = 10;
    const CALLS: usize = 10;
    const MAX_ROUNDS: usize = 200;

    fn start(adapter: Adapter, addr: SocketAddr) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::spawn(move || {
            let answered = AtomicUsize::new(0);
            let mut rounds = 0;
            while rounds < Self::MAX_ROUNDS && (rounds == 0 || !flag.load(Ordering::SeqCst)) {
                thread::scope(|s| {
                    for c in 0..Self::CONNECTIONS {
                        let answered = &answered;
                        s.spawn(move || {
                            let n = load_connection(adapter, addr, rounds, c);
                            answered.fetch_add(n, Ordering::SeqCst);
                        });
                    }
                });
                rounds += 1;
            }
            (rounds, answered.into_inner())
        });
        Load { stop, thread }
    }

    /// Stops after the current round; returns (rounds, calls answered).
    fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.join() {
            Ok(figures) => figures,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// One load connection's calls: `subtract [a, b]` with distinct operands;
/// panics on any wrong, missing or extra answer. Returns the calls answered.
fn load_connection(adapter: Adapter, addr: SocketAddr, round: usize, conn: usize) -> usize {
    let calls: Vec<(u64, i64, i64)> = (0..Load::CALLS)
        .map(|k| {
            let id = (round * 1000 + conn * 100 + k) as u64;
            (id, id as i64 * 3 + 1, k as i64)
        })
        .collect();
    let request = |(id, a, b): (u64, i64, i64)| {
        json!({"jsonrpc": "2.0", "method": "subtract", "params": [a, b], "id": id}).to_string()
    };
    let mut answers: HashMap<u64, Value> = HashMap::new();
    if adapter.is_http() {
        let mut http = Http::connect(addr);
        for &call in &calls {
            let reply = http.post(request(call).as_bytes());
            assert_eq!(reply.status, 200, "load call {call:?}: {reply:?}");
            let v = reply.json();
            answers.insert(v["id"].as_u64().expect("numeric id"), v);
        }
    } else {
        let mut line = Line::connect(addr);
        // Pipelined: all ten written, then the ten answers, in any order.
        let mut batch = String::new();
        for &call in &calls {
            batch.push_str(&request(call));
            batch.push('\n');
        }
        line.send(batch.as_bytes());
        for _ in 0..calls.len() {
            let v = line.recv_json();
            answers.insert(v["id"].as_u64().expect("numeric id"), v);
        }
    }
    for (id, a, b) in &calls {
        let answer = answers
            .get(id)
            .unwrap_or_else(|| panic!("{adapter}: load call {id} lost its answer"));
        assert_eq!(
            answer,
            &json!({"jsonrpc": "2.0", "result": a - b, "id": id}),
            "{adapter}: load call {id}"
        );
    }
    assert_eq!(
        answers.len(),
        calls.len(),
        "{adapter}: extra answers: {answers:?}"
    );
    calls.len()
}

/// A fresh client's `ping` gets `pong`.
fn fresh_ping(adapter: Adapter, addr: SocketAddr) {
    let answer = rpc(
        adapter,
        addr,
        br#"{"jsonrpc":"2.0","method":"ping","id":"fresh"}"#,
    );
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "result": "pong", "id": "fresh"}),
        "{adapter}: a fresh client's ping after the attack"
    );
}

/// One message on a fresh connection; its answer (HTTP: status 200).
fn rpc(adapter: Adapter, addr: SocketAddr, message: &[u8]) -> Value {
    if adapter.is_http() {
        let reply = Http::connect(addr).post(message);
        assert_eq!(reply.status, 200, "{adapter}: {reply:?}");
        reply.json()
    } else {
        let mut line = Line::connect(addr);
        line.send(message);
        line.send(b"\n");
        line.recv_json()
    }
}

/// Asserts `v` is a JSON-RPC error answer with one of `codes`.
fn assert_error(adapter: Adapter, what: &str, v: &Value, codes: &[i64]) {
    let code = v["error"]["code"].as_i64();
    assert!(
        v["jsonrpc"] == "2.0"
            && code.is_some_and(|c| codes.contains(&c))
            && v["error"]["message"].is_string(),
        "{adapter}: {what}: expected a JSON-RPC error with a code in {codes:?}, got {v}"
    );
}

// ---------------------------------------------------------------------------
// Raw clients over std sockets: the tests control every byte.

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("write timeout");
    let _ = stream.set_nodelay(true);
    stream
}

/// A newline-delimited JSON connection.
struct Line {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Line {
    fn connect(addr: SocketAddr) -> Line {
        let stream = connect(addr);
        Line {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line, without its newline; `None` at a clean end of stream.
    fn recv(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) => {
                let text = String::from_utf8(buf).expect("answers are UTF-8");
                Some(text.trim_end().to_owned())
            }
            Err(e) => panic!("reading an answer line: {e}"),
        }
    }

    fn recv_json(&mut self) -> Value {
        let line = self.recv().expect("an answer line, not the end of stream");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("answer {line:?} is not JSON: {e}"))
    }
}

/// An HTTP/1.1 keep-alive connection.
struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body {:?} is not JSON: {e}", String::from_utf8_lossy(&self.body)))
    }
}

fn head(length: &str) -> String {
    format!("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{length}\r\n\r\n")
}

impl Http {
    fn connect(addr: SocketAddr) -> Http {
        let stream = connect(addr);
        Http {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        }
    }

    fn post(&mut self, body: &[u8]) -> Reply {
        let mut request = head(&format!("Content-Length: {}", body.len())).into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request).expect("write request");
        self.read_reply().expect("a response")
    }

    /// Reads one response; `None` when the connection ends before one.
    fn read_reply(&mut self) -> Option<Reply> {
        let mut status_line = String::new();
        match self.reader.read_line(&mut status_line) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                return None;
            }
            Err(e) => panic!("reading a status line: {e}"),
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut length = None;
        let mut chunked = false;
        for _ in 0..100 {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("a header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header");
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            for _ in 0..10_000 {
                let mut size = String::new();
                self.reader.read_line(&mut size).expect("a chunk size");
                let size = usize::from_str_radix(size.trim(), 16).expect("a hex chunk size");
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).expect("a chunk");
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body).expect("the body");
        }
        Some(Reply { status, body })
    }
}

/// Whether the server has closed `stream`: a read sees the end of stream
/// or a reset within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + wait;
    // Anything the server sends first (an error, a 408) is read past.
    for _ in 0..64 {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
    false
}

// ---------------------------------------------------------------------------
// The attacks.

/// JSON nested 100,000 deep, balanced and unbalanced, as params and as the
/// whole message: a JSON-RPC error, never a stack overflow.
fn deep_nesting(adapter: Adapter, addr: SocketAddr) {
    const DEPTH: usize = 100_000;
    let params = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let messages = [
        format!(r#"{{"jsonrpc":"2.0","method":"echo","params":[{params}],"id":7}}"#),
        format!(
            r#"{{"jsonrpc":"2.0","method":"echo","params":[{}"#,
            "[".repeat(DEPTH)
        ),
        "{\"a\":".repeat(DEPTH),
        params,
    ];
    for m in &messages {
        let v = rpc(adapter, addr, m.as_bytes());
        assert_error(adapter, "100,000-deep JSON", &v, &[-32600, -32700]);
    }
    if !adapter.is_http() {
        // The same connection goes on.
        let mut line = Line::connect(addr);
        line.send(messages[0].as_bytes());
        line.send(b"\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":2}\n");
        assert_error(adapter, "100,000-deep JSON", &line.recv_json(), &[-32600, -32700]);
        assert_eq!(line.recv_json(), json!({"jsonrpc":"2.0","result":"pong","id":2}));
    }
}

/// Writes `total` bytes of `fill` in [`CHUNK`]s (one buffer, reused);
/// stops at the first error (the server may refuse and close early).
/// Returns the bytes written.
fn stream_bytes(stream: &mut TcpStream, total: usize, http_chunked: bool) -> usize {
    let chunk = vec![b'x'; CHUNK];
    let chunk_head = format!("{CHUNK:x}\r\n");
    let mut written = 0;
    while written < total {
        let result = if http_chunked {
            stream
                .write_all(chunk_head.as_bytes())
                .and_then(|()| stream.write_all(&chunk))
                .and_then(|()| stream.write_all(b"\r\n"))
        } else {
            stream.write_all(&chunk)
        };
        if result.is_err() {
            break;
        }
        written += CHUNK;
    }
    written
}

/// A 100 MB line (TCP) or body (HTTP, chunked so nothing is declared),
/// streamed: TCP answers one `-32600` and the connection goes on; HTTP
/// answers `413`.
fn huge_message(adapter: Adapter, addr: SocketAddr) {
    if adapter.is_http() {
        let http = Http::connect(addr);
        let mut writer = http.writer.try_clone().expect("clone");
        writer
            .write_all(head("Transfer-Encoding: chunked").as_bytes())
            .expect("write head");
        let streamer = thread::spawn(move || {
            let n = stream_bytes(&mut writer, HUGE, true);
            let _ = writer.write_all(b"0\r\n\r\n");
            n
        });
        let mut http = http;
        let reply = http.read_reply().expect("a response to a 100 MB body");
        assert_eq!(reply.status, 413, "{adapter}: 100 MB chunked body: {reply:?}");
        // Unblocks the streamer if the server stopped reading.
        let _ = http.writer.shutdown(Shutdown::Both);
        let sent = streamer.join().expect("streamer");
        println!(
            "{adapter}: 413 after the client wrote {} of 100 MB",
            mb(sent as u64)
        );
    } else {
        let mut line = Line::connect(addr);
        line.send(br#"{"jsonrpc":"2.0","method":"echo","params":[""#);
        let sent = stream_bytes(&mut line.writer, HUGE, false);
        assert_eq!(
            sent, HUGE,
            "{adapter}: the server must keep reading (and skipping) a huge line"
        );
        line.send(b"\"],\"id\":1}\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":2}\n");
        let v = line.recv_json();
        assert_error(adapter, "100 MB line", &v, &[-32600]);
        assert_eq!(v["id"], Value::Null, "{adapter}: the over-long line's error: {v}");
        assert_eq!(line.recv_json(), json!({"jsonrpc":"2.0","result":"pong","id":2}));
    }
}

/// `Content-Length: 10 GB` with a few bytes of body: `413` at once, never an
/// allocation of what was declared (HTTP only).
fn declared_ten_gigabytes(adapter: Adapter, addr: SocketAddr) {
    let mut http = Http::connect(addr);
    let started = Instant::now();
    http.writer
        .write_all(head("Content-Length: 10737418240").as_bytes())
        .expect("write head");
    let _ = http.writer.write_all(br#"{"jsonrpc":"2.0","method":"ping","#);
    let reply = http.read_reply().expect("a response to a 10 GB declaration");
    assert_eq!(reply.status, 413, "{adapter}: Content-Length 10 GB: {reply:?}");
    println!("{adapter}: 413 for a declared 10 GB in {:.2?}", started.elapsed());
}

/// One byte per 100 ms of a message never finished, for up to 3 s, with a
/// 1 s idle timeout: the server must close the connection.
fn slow_drip(adapter: Adapter, addr: SocketAddr) {
    // What is dripped, and a known reason when the server is not expected
    // to close it.
    let cases: &[(&str, Vec<u8>, Option<&str>)] = if adapter.is_http() {
        &[
            (
                "request head",
                head("Content-Length: 40").into_bytes(),
                // Before the adapter sees a request: the HTTP server's job.
                (adapter == Adapter::Warp).then_some(
                    "warp 0.4's `serve` has no request-head timeout (hyper's `header_read_timeout` \
                     is not exposed)",
                ),
            ),
            (
                "body",
                [
                    head("Content-Length: 100").as_bytes(),
                    br#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
                ]
                .concat(),
                None,
            ),
        ]
    } else {
        &[(
            "line",
            br#"{"jsonrpc":"2.0","method":"ping","params":["drip"],"id":1}"#.to_vec(),
            None,
        )]
    };
    for (what, bytes, known_open) in cases {
        let mut stream = connect(addr);
        // A body drip sends the head at once, then drips the body.
        let (at_once, drip) = match adapter.is_http() && *what == "body" {
            true => bytes.split_at(head("Content-Length: 100").len()),
            false => bytes.split_at(0),
        };
        stream.write_all(at_once).expect("write");
        let started = Instant::now();
        let mut closed_after = None;
        for &b in drip
            .iter()
            .cycle()
            .take((DRIP_FOR.as_millis() / DRIP_EVERY.as_millis()) as usize)
        {
            if stream.write_all(&[b]).is_err() {
                closed_after = Some(started.elapsed());
                break;
            }
            // The pacing wait is itself the check: a read that ends early
            // means the server closed.
            if closed_within(&mut stream, DRIP_EVERY) {
                closed_after = Some(started.elapsed());
                break;
            }
        }
        match (closed_after, known_open) {
            (Some(t), None) => {
                println!("{adapter}: slow drip of the {what}: closed by the server after {t:.2?}")
            }
            (None, Some(why)) => {
                println!("{adapter}: slow drip of the {what}: still open after {DRIP_FOR:?}, known: {why}")
            }
            (None, None) => {
                panic!(
                    "{adapter}: slow drip of the {what}: still open after {DRIP_FOR:?} (idle timeout {IDLE:?})"
                )
            }
            (Some(t), Some(why)) => {
                panic!(
                    "{adapter}: slow drip of the {what}: closed after {t:.2?}, though known not to be ({why}): update the test"
                )
            }
        }
    }
}

/// Room for the flood and for the harness's load beside it. The default
/// limit (1,024) would leave 24 connections: the load opens 10 per round,
/// and a connection its client closed counts until the server has read its
/// end, so on a loaded machine (the server's thread slow to reap the
/// closed ones; hundreds were seen in `CLOSE_WAIT` as the flood closed) the
/// load's connections were over the limit and refused (a reset), which is
/// the limit working, not what this test checks. The refusal itself is
/// the stream adapters' `connections_beyond_the_limit_are_closed_at_once`
/// (`tests/support/src/stream.rs`).
fn many_connections_limits() -> Limits {
    Limits {
        max_connections: 2 * FLOOD,
        ..Limits::default()
    }
}

fn slow_drip_limits() -> Limits {
    Limits {
        idle_timeout: Some(IDLE),
        ..Limits::default()
    }
}

/// 1,000 connections opened at once, each then calls `ping`: every one is
/// answered (under [`many_connections_limits`]).
fn many_connections(adapter: Adapter, addr: SocketAddr) {
    // This process holds both ends, plus the load's and some slack.
    let soft = open_files_soft_limit().unwrap_or(1024);
    let count = FLOOD.min((soft.saturating_sub(300) / 2) as usize);
    if count < FLOOD {
        println!(
            "note: open-file soft limit {soft}: opening {count} connections instead of {FLOOD} \
             (raise it with `ulimit -n 4096`)"
        );
    }
    let started = Instant::now();
    let mut streams: Vec<TcpStream> = (0..count).map(|_| connect(addr)).collect();
    let opened = started.elapsed();
    for (i, s) in streams.iter_mut().enumerate() {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"ping","id":{i}}}"#);
        let bytes = if adapter.is_http() {
            [
                head(&format!("Content-Length: {}", body.len())).as_bytes(),
                body.as_bytes(),
            ]
            .concat()
        } else {
            format!("{body}\n").into_bytes()
        };
        s.write_all(&bytes).expect("write ping");
    }
    for (i, s) in streams.into_iter().enumerate() {
        let v = if adapter.is_http() {
            let mut http = Http {
                writer: s.try_clone().expect("clone"),
                reader: BufReader::new(s),
            };
            let reply = http.read_reply().expect("a response");
            assert_eq!(reply.status, 200, "{adapter}: connection {i}: {reply:?}");
            reply.json()
        } else {
            Line {
                writer: s.try_clone().expect("clone"),
                reader: BufReader::new(s),
            }
            .recv_json()
        };
        assert_eq!(
            v,
            json!({"jsonrpc":"2.0","result":"pong","id":i}),
            "{adapter}: connection {i}"
        );
    }
    println!(
        "{adapter}: {count} connections opened in {opened:.2?}, all answered in {:.2?}",
        started.elapsed()
    );
}

/// Peers that vanish mid-request: half a message, half a head, half a
/// body, and slow calls dropped before their answer.
fn vanishing_peers(adapter: Adapter, addr: SocketAddr) {
    let halves: Vec<Vec<u8>> = if adapter.is_http() {
        vec![
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty".to_vec(),
            [
                head("Content-Length: 80").as_bytes(),
                br#"{"jsonrpc":"2.0","method""#,
            ]
            .concat(),
            [
                head("Transfer-Encoding: chunked").as_bytes(),
                b"50\r\n{\"jsonrpc\":",
            ]
            .concat(),
        ]
    } else {
        vec![br#"{"jsonrpc":"2.0","method":"pi"#.to_vec()]
    };
    for _ in 0..20 {
        for half in &halves {
            let mut s = connect(addr);
            s.write_all(half).expect("write half a request");
            drop(s);
        }
    }
    // A slow call, dropped before its answer; half of them with the write
    // side shut first (an EOF the server sees), half just dropped.
    let call = br#"{"jsonrpc":"2.0","method":"sleep","params":[300],"id":1}"#;
    for i in 0..20 {
        let mut s = connect(addr);
        if adapter.is_http() {
            s.write_all(&[head(&format!("Content-Length: {}", call.len())).as_bytes(), call].concat())
        } else {
            s.write_all(&[call.as_slice(), b"\n"].concat())
        }
        .expect("write a slow call");
        if i % 2 == 0 {
            let _ = s.shutdown(Shutdown::Write);
        }
        drop(s);
    }
    // Calls dropped mid-flight do not disturb calls that are answered.
    let v = rpc(adapter, addr, call);
    assert_eq!(
        v,
        json!({"jsonrpc":"2.0","result":300,"id":1}),
        "{adapter}: a slow call kept"
    );
}

/// Invalid UTF-8 and NUL bytes, in strings, names and as the whole message:
/// each a JSON-RPC error (TCP: the connection goes on); an escaped NUL is
/// ordinary JSON and echoes back.
fn invalid_utf8_and_nul(adapter: Adapter, addr: SocketAddr) {
    let bad: [&[u8]; 6] = [
        b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\xff\xfe\",\"id\":1}",
        b"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"\xc3\x28\"],\"id\":2}",
        b"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"a\x00b\"],\"id\":3}",
        b"\x00\x00\x00\x00",
        b"\xef\xbb\xbf\xff\xff{\"jsonrpc\":\"2.0\"}",
        b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":4}\x00",
    ];
    for m in bad {
        let v = rpc(adapter, addr, m);
        assert_error(
            adapter,
            &format!("{:?}", String::from_utf8_lossy(m)),
            &v,
            &[-32700, -32600],
        );
    }
    let v = rpc(
        adapter,
        addr,
        br#"{"jsonrpc":"2.0","method":"echo","params":["a\u0000b"],"id":5}"#,
    );
    assert_eq!(
        v,
        json!({"jsonrpc":"2.0","result":"a\u{0}b","id":5}),
        "{adapter}: escaped NUL"
    );
    if !adapter.is_http() {
        let mut line = Line::connect(addr);
        for m in bad {
            line.send(m);
            line.send(b"\n");
        }
        line.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"after\"}\n");
        for _ in bad {
            assert_error(
                adapter,
                "bad bytes on one connection",
                &line.recv_json(),
                &[-32700, -32600],
            );
        }
        assert_eq!(
            line.recv_json(),
            json!({"jsonrpc":"2.0","result":"pong","id":"after"})
        );
    }
}

/// A handler that panics answers `-32603` with the call's id, alone and in
/// a batch beside a good call, again and again; the connection lives on.
fn panicking_handler(adapter: Adapter, addr: SocketAddr) {
    let batch = br#"[{"jsonrpc":"2.0","method":"panic","id":1},{"jsonrpc":"2.0","method":"ping","id":2}]"#;
    for i in 0..20 {
        let v = rpc(
            adapter,
            addr,
            format!(r#"{{"jsonrpc":"2.0","method":"panic","id":{i}}}"#).as_bytes(),
        );
        assert_error(adapter, "a panicking handler", &v, &[-32603]);
        assert_eq!(v["id"], json!(i), "{adapter}: {v}");
    }
    let v = rpc(adapter, addr, batch);
    assert_error(adapter, "a panicking handler in a batch", &v[0], &[-32603]);
    assert_eq!(
        v[1],
        json!({"jsonrpc":"2.0","result":"pong","id":2}),
        "{adapter}: {v}"
    );
    if !adapter.is_http() {
        let mut line = Line::connect(addr);
        line.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"panic\",\"id\":1}\n");
        line.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":2}\n");
        let mut got = [line.recv_json(), line.recv_json()];
        got.sort_by_key(|v| v["id"].as_i64());
        assert_error(adapter, "a panicking handler", &got[0], &[-32603]);
        assert_eq!(got[1], json!({"jsonrpc":"2.0","result":"pong","id":2}));
    }
}

/// Calls to a handler that never returns, with `max_in_flight` 4: the
/// offending connections wait forever (by design: nothing is dropped),
/// other connections are served all along.
fn hanging_handler(adapter: Adapter, addr: SocketAddr) {
    let hang = |id: usize| format!(r#"{{"jsonrpc":"2.0","method":"hang","id":{id}}}"#);
    let mut stuck = Vec::new();
    if adapter.is_http() {
        for i in 0..8 {
            let mut s = connect(addr);
            let body = hang(i);
            s.write_all(
                &[
                    head(&format!("Content-Length: {}", body.len())).as_bytes(),
                    body.as_bytes(),
                ]
                .concat(),
            )
            .expect("write");
            stuck.push(s);
        }
        // A batch of hanging calls larger than the in-flight limit.
        let batch = format!("[{}]", (100..110).map(hang).collect::<Vec<_>>().join(","));
        let mut s = connect(addr);
        s.write_all(
            &[
                head(&format!("Content-Length: {}", batch.len())).as_bytes(),
                batch.as_bytes(),
            ]
            .concat(),
        )
        .expect("write");
        stuck.push(s);
    } else {
        for _ in 0..3 {
            let mut s = connect(addr);
            let lines: String = (0..8).map(|i| hang(i) + "\n").collect();
            s.write_all(lines.as_bytes()).expect("write");
            stuck.push(s);
        }
    }
    // Served meanwhile, several times over.
    for _ in 0..10 {
        fresh_ping(adapter, addr);
    }
    for s in &mut stuck {
        assert!(
            !closed_within(s, Duration::from_millis(50)),
            "{adapter}: a connection waiting for a hanging call was closed or answered"
        );
    }
    drop(stuck);
}

fn hanging_limits() -> Limits {
    Limits {
        max_in_flight: 4,
        ..Limits::default()
    }
}

// ---------------------------------------------------------------------------
// Round two (issue 11): every task, slot and descriptor a peer can make a
// stream server hold is bounded and released.

/// The limits of round two: four handlers at a time, a one-second idle and
/// write-progress deadline.
fn round_two_limits() -> Limits {
    Limits {
        max_in_flight: 4,
        idle_timeout: Some(IDLE),
        ..Limits::default()
    }
}

/// Waits up to `wait` for `holding()` to be `want`; returns the last value.
fn holding_reaches(want: usize, wait: Duration) -> usize {
    let deadline = Instant::now() + wait;
    loop {
        let now = holding();
        if now == want || Instant::now() >= deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a socket from `server` to `client` (a connection the server
/// accepted) is still held by this process, in `/proc/net/tcp`: a
/// descriptor the server did not close.
fn server_holds(server: SocketAddr, client: SocketAddr) -> bool {
    let (local, remote) = (
        format!(":{:04X} ", server.port()),
        format!(":{:04X} ", client.port()),
    );
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|l| {
            let mut cols = l.split_whitespace().skip(1);
            let (Some(a), Some(b)) = (cols.next(), cols.next()) else {
                return false;
            };
            // TIME_WAIT (06) holds no descriptor.
            let state = cols.next().unwrap_or("");
            format!("{a} ").ends_with(&local) && format!("{b} ").ends_with(&remote) && state != "06"
        })
    })
}

/// Waits up to 2 s for the server to let go of its end of `client`.
fn released(server: SocketAddr, client: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while server_holds(server, client) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Item 1: 20,000 notifications of a method that never returns. At most
/// `max_in_flight` run at once (reading pauses), and once the connection
/// ends (here: the idle deadline, the client being silent) none is left.
fn notification_flood(_adapter: Adapter, addr: SocketAddr) {
    let base = holding();
    let mut stream = connect(addr);
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        thread::spawn(move || {
            let line = b"{\"jsonrpc\":\"2.0\",\"method\":\"hold\"}\n";
            let mut sent = 0;
            while sent < 20_000 && stream.write_all(line).is_ok() {
                sent += 1;
            }
            sent
        })
    };
    let mut most = 0;
    for _ in 0..25 {
        most = most.max(holding() - base);
        thread::sleep(Duration::from_millis(20));
    }
    assert!(most >= 1, "the notifications ran");
    assert!(
        most <= 4,
        "{most} notification handlers at once, over max_in_flight 4"
    );
    // Silent client, nothing answered: the idle deadline ends the
    // connection, and its handlers with it.
    assert!(
        closed_within(&mut stream, IDLE * 4),
        "the idle connection was closed"
    );
    assert_eq!(
        holding_reaches(base, Duration::from_secs(2)),
        base,
        "handlers outlived their connection"
    );
    drop(stream);
    let _ = writer.join();
}

/// Item 3: a peer that sends calls and never reads what comes back. Once
/// the socket takes nothing for the idle time, the server closes the
/// connection (its writes then fail with a reset or a broken pipe).
fn stalled_reader(_adapter: Adapter, addr: SocketAddr) {
    let stream = connect(addr);
    let me = stream.local_addr().expect("local address");
    let mut writer = stream.try_clone().expect("clone");
    let started = Instant::now();
    let line = b"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[\"0123456789012345678901234567890123456789012345678901234567890123456789\"],\"id\":1}\n";
    let error = loop {
        if let Err(e) = writer.write_all(line) {
            break e;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never closed the stalled connection"
        );
    };
    assert!(
        matches!(error.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "the server should have closed the connection, but the write failed with {error}"
    );
    assert!(
        started.elapsed() < IDLE * 8,
        "closed only after {:.1?}",
        started.elapsed()
    );
    drop((writer, stream));
    assert!(
        released(addr, me),
        "the server still holds the stalled connection's socket"
    );
}

/// Item 4: a batch of 1,024 calls to a method that never returns, then a
/// reset. The entries count one by one against `max_in_flight` (4 run, not
/// 1,024), and the reset is seen while reading is paused: the handlers are
/// dropped and the descriptor closed.
fn reset_while_backpressured(_adapter: Adapter, addr: SocketAddr) {
    let base = holding();
    let mut stream = connect(addr);
    let me = stream.local_addr().expect("local address");
    let batch = format!(
        "[{}]\n",
        (0..1024)
            .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"hold","id":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    stream.write_all(batch.as_bytes()).expect("write");
    thread::sleep(Duration::from_millis(300));
    let now = holding() - base;
    assert!(
        (1..=4).contains(&now),
        "{now} handlers of one batch at once, max_in_flight is 4"
    );
    assert!(
        server_holds(addr, me),
        "the server holds the connection before the reset"
    );
    reset(stream);
    assert_eq!(
        holding_reaches(base, Duration::from_secs(2)),
        base,
        "a reset connection's handlers live on"
    );
    assert!(
        released(addr, me),
        "the server still holds the reset connection's socket"
    );
}

/// Open descriptors of this process (`/proc/self/fd`).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Waits up to 2 s for [`open_fds`] to be at most `want`; returns the last
/// count.
fn fds_reach(want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = open_fds();
        if now <= want || Instant::now() >= deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A reset seen while reading is paused with far more than one read buffer
/// (32 KiB) of input queued unread: Linux hands out queued input before the
/// `ECONNRESET`, so only a watch on the socket itself sees it. Two
/// connection slots: one for a neighbour served throughout, one for the
/// attacker, which sends never-returning `hold` calls until the kernel's
/// buffers are full, then resets. Its handlers are dropped, its descriptor
/// closed and its slot freed (a new connection is served), and the
/// neighbour's calls are answered before and after. No idle deadline, so
/// nothing but the reset ends the connection.
fn reset_with_input_queued(adapter: Adapter) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(
        &format!("{adapter}/reset-with-input-queued"),
        TEST_TIMEOUT,
        move || {
            let limits = Limits {
                max_in_flight: 4,
                max_connections: 2,
                idle_timeout: None,
                ..Limits::default()
            };
            let server = start(adapter, hostile_router(), limits).expect("server starts");
            let addr = server.addr();
            let base = holding();
            let mut neighbour = Line::connect(addr);
            let ping = |line: &mut Line, what: &str| {
                line.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":7}\n");
                assert_eq!(
                    line.recv_json(),
                    json!({"jsonrpc": "2.0", "result": "pong", "id": 7}),
                    "{what}"
                );
            };
            ping(&mut neighbour, "the neighbour before the attack");
            let fds = open_fds();
            let mut stream = connect(addr);
            let me = stream.local_addr().expect("local address");
            stream.set_nonblocking(true).expect("nonblocking");
            let calls: String = (0..1000)
                .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"method\":\"hold\",\"id\":{i}}}\n"))
                .collect();
            // Until the kernel takes no more, twice (the server reads what it
            // reads before it pauses), within 64 MB.
            let mut sent = 0;
            for _ in 0..2 {
                thread::sleep(Duration::from_millis(200));
                while sent < 64 << 20 {
                    match stream.write(calls.as_bytes()) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("the attacker's write failed: {e}"),
                    }
                }
            }
            assert!(
                sent > 8 * 32 * 1024,
                "only {sent} bytes queued, not far over one read buffer"
            );
            assert_eq!(
                holding_reaches(base + 4, Duration::from_secs(2)),
                base + 4,
                "four handlers hold"
            );
            ping(&mut neighbour, "the neighbour while the attacker is paused");
            assert!(
                server_holds(addr, me),
                "the server holds the connection before the reset"
            );
            reset(stream);
            let left = holding_reaches(base, Duration::from_secs(3)) - base;
            assert_eq!(
                left, 0,
                "{left} handlers of a connection reset with {sent} bytes queued live on"
            );
            assert!(
                released(addr, me),
                "the server still holds the reset connection's socket"
            );
            let now = fds_reach(fds);
            assert!(
                now <= fds,
                "{now} descriptors open, {fds} before the attacker connected"
            );
            let mut fresh = Line::connect(addr);
            ping(&mut fresh, "a new connection in the freed slot");
            ping(&mut neighbour, "the neighbour after the reset");
            println!(
                "{adapter}/reset-with-input-queued: {sent} bytes queued; handlers, descriptor and slot released"
            );
            drop((fresh, neighbour, server));
        },
    );
}

/// The guard beside [`reset_with_input_queued`]: a half-close (FIN) is no
/// reset. 1,000 calls of `sleep` 10 ms (2.5 s) (over 40 KiB, more than one read
/// buffer) with four in flight, then `shutdown(Write)` at once: reading
/// pauses with input queued and the watch is polled for seconds (smol's
/// probe every second) before and after the EOF, and every call is still
/// answered, once each.
fn half_close_with_input_queued(adapter: Adapter) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    bounded(
        &format!("{adapter}/half-close-with-input-queued"),
        TEST_TIMEOUT,
        move || {
            let limits = Limits {
                max_in_flight: 4,
                idle_timeout: None,
                ..Limits::default()
            };
            let server = start(adapter, hostile_router(), limits).expect("server starts");
            let mut line = Line::connect(server.addr());
            let calls: String = (0..1000)
                .map(|i| format!("{{\"jsonrpc\":\"2.0\",\"method\":\"sleep\",\"params\":[10],\"id\":{i}}}\n"))
                .collect();
            assert!(calls.len() > 32 * 1024, "more than one read buffer");
            line.send(calls.as_bytes());
            line.writer.shutdown(Shutdown::Write).expect("half-close");
            let mut seen = vec![false; 1000];
            for _ in 0..1000 {
                let answer = line.recv_json();
                assert_eq!(answer["result"], json!(10), "{answer}");
                let id = answer["id"].as_u64().expect("an id") as usize;
                assert!(
                    !std::mem::replace(&mut seen[id], true),
                    "call {id} answered twice"
                );
            }
            assert_eq!(line.recv(), None, "the server closes after the last answer");
            drop(server);
        },
    );
}

/// The length of each message of [`big_messages_held`]: just under the
/// default 1 MiB `max_message_bytes`.
const BIG: usize = 1000 * 1024;

/// How much one connection's held messages may add to the resident set in
/// [`big_messages_held`]: 40 MB (the bound is about 5 MiB of requests,
/// plus the input buffer and the allocator's slack), where 128 held 1 MB
/// messages took about 200 MB before `max_in_flight_bytes`.
const HELD_RSS: u64 = 40 * 1024 * 1024;

/// `Limits::max_in_flight_bytes`: 128 calls of a method that never returns,
/// each a message of [`BIG`] bytes (the call padded with whitespace, which
/// its id, a slice of the message, keeps alive), on one connection at the
/// defaults. `max_in_flight` (128) would let all of them run; the 4 MiB
/// bound lets at most 5 run (the bytes stay under 4 MiB + one message), so
/// reading pauses and the process grows by less than [`HELD_RSS`], while
/// other connections are served.
fn big_messages_held(_adapter: Adapter, addr: SocketAddr) {
    let limits = Limits::default();
    let most = limits.max_in_flight_bytes / BIG + 1;
    let base = holding();
    let before = rss_bytes().expect("/proc/self/status has VmRSS");
    let stream = connect(addr);
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        thread::spawn(move || {
            let mut sent = 0;
            for id in 0..limits.max_in_flight {
                let call = format!(r#"{{"jsonrpc":"2.0","method":"hold","id":{id}"#);
                let mut message = call.into_bytes();
                message.resize(BIG - 2, b' ');
                message.extend_from_slice(b"}\n");
                if stream.write_all(&message).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        })
    };
    // Until the handlers stop starting: no new one for 500 ms.
    let mut last = (0, Instant::now());
    while last.1.elapsed() < Duration::from_millis(500) {
        thread::sleep(Duration::from_millis(50));
        let now = holding() - base;
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let held = holding() - base;
    let during = rss_bytes().expect("/proc/self/status has VmRSS");
    let grew = during.saturating_sub(before);
    println!(
        "big-messages-held: {held} handlers of {BIG}-byte messages held; RSS {} -> {} ({:+.1} MB)",
        mb(before),
        mb(during),
        grew as f64 / 1e6
    );
    assert!(held >= 1, "the calls ran");
    assert!(
        held <= most,
        "{held} calls of {BIG} bytes running at once on one connection, over max_in_flight_bytes \
         ({} bytes: at most {most})",
        limits.max_in_flight_bytes
    );
    assert!(
        grew < HELD_RSS,
        "one connection's held messages grew the process by {:.1} MB (bound {} MB)",
        grew as f64 / 1e6,
        HELD_RSS / 1_000_000
    );
    // The writer is stalled (reading paused): end its writes. The
    // connection and its handlers end with the server, after the harness's
    // load and fresh-client checks (a reset with this much input unread is
    // `reset_with_input_queued`'s case).
    let _ = stream.shutdown(Shutdown::Write);
    let _ = writer.join();
}

/// Closes `stream` with a reset (`SO_LINGER` 0), as a vanished peer does.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("linger");
    drop(stream);
}

/// Item 5: calls whose callers gave up (their future dropped, as
/// `timeout` does) no longer hold in-flight slots: after 3 × the limit of
/// abandoned calls, a call still goes through.
fn abandoned_calls(adapter: Adapter, addr: SocketAddr) {
    let limits = Limits {
        max_in_flight: 8,
        ..Limits::default()
    };
    match adapter {
        Adapter::Smol => ::smol::block_on(async {
            let client = sansrpc_smol::Client::builder()
                .limits(limits)
                .connect(addr)
                .await
                .expect("connect");
            for _ in 0..24 {
                let gave_up =
                    ::smol::future::or(async { Some(client.call::<()>("hang", ()).await) }, async {
                        ::smol::Timer::after(Duration::from_millis(5)).await;
                        None
                    })
                    .await;
                assert!(gave_up.is_none());
            }
            assert_eq!(
                client
                    .call::<String>("ping", ())
                    .await
                    .expect("a call after abandoned ones"),
                "pong"
            );
        }),
        _ => {
            let rt = ::tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let client = sansrpc_tokio::Client::builder()
                    .limits(limits)
                    .connect(addr)
                    .await
                    .expect("connect");
                for _ in 0..24 {
                    let gave_up =
                        ::tokio::time::timeout(Duration::from_millis(5), client.call::<()>("hang", ())).await;
                    assert!(gave_up.is_err());
                }
                assert_eq!(
                    client
                        .call::<String>("ping", ())
                        .await
                        .expect("a call after abandoned ones"),
                    "pong"
                );
            });
        }
    }
}

/// Item 6: a client notifying a server that never reads: `notify` waits
/// once `max_buffered_out` is reached, so the client holds a bounded
/// amount (here: far fewer than the 50,000 1 KB notifications get out).
fn notify_backpressure(adapter: Adapter, _addr: SocketAddr) {
    let sink = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = sink.local_addr().expect("addr");
    let held = thread::spawn(move || sink.accept().map(|(s, _)| s));
    let limits = Limits {
        max_buffered_out: 64 * 1024,
        ..Limits::default()
    };
    let payload = "x".repeat(1024);
    let sent = AtomicUsize::new(0);
    // `notify` waits while the output is full; it does not fail.
    let refused = Mutex::new(None::<String>);
    let before = rss_bytes().unwrap_or(0);
    match adapter {
        Adapter::Smol => ::smol::block_on(async {
            let client = sansrpc_smol::Client::builder()
                .limits(limits)
                .connect(addr)
                .await
                .expect("connect");
            let flood = async {
                for _ in 0..50_000 {
                    if let Err(e) = client.notify("note", [&payload]).await {
                        *refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                        break;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            };
            ::smol::future::or(flood, async {
                ::smol::Timer::after(Duration::from_secs(2)).await;
            })
            .await;
        }),
        _ => {
            let rt = ::tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let client = sansrpc_tokio::Client::builder()
                    .limits(limits)
                    .connect(addr)
                    .await
                    .expect("connect");
                let flood = async {
                    for _ in 0..50_000 {
                        if let Err(e) = client.notify("note", [&payload]).await {
                            *refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                            break;
                        }
                        sent.fetch_add(1, Ordering::SeqCst);
                    }
                };
                let _ = ::tokio::time::timeout(Duration::from_secs(2), flood).await;
            });
        }
    }
    let sent = sent.into_inner();
    let grew = rss_bytes().unwrap_or(0).saturating_sub(before);
    println!(
        "{adapter}/notify-backpressure: {sent} notifications queued, RSS +{:.1} MB",
        grew as f64 / 1e6
    );
    assert!(
        sent < 50_000,
        "all 50,000 notifications were queued for a peer that reads nothing"
    );
    assert!(grew < 40 * 1024 * 1024, "the client grew by {grew} bytes");
    assert_eq!(
        refused.into_inner().unwrap_or_else(|e| e.into_inner()),
        None,
        "{adapter}: notify failed instead of waiting for room"
    );
    drop(held);
}

// ---------------------------------------------------------------------------
// Item 2 (issue 11): a WebSocket ping flood from a client that never reads.

/// How many pings the flood sends: 200,000 of [`PING_PAYLOAD`] bytes
/// (26 MB on the wire, more than loopback's socket buffers hold);
/// answered without a bound, their pongs would be 25 MB held by the
/// server.
const PINGS: usize = 200_000;

/// The largest control-frame payload (RFC 6455 §5.5): each ping carries
/// its sequence number, zero-padded to this length.
const PING_PAYLOAD: usize = 125;

/// The most the server may grow while the flood's pongs go unread.
const PING_FLOOD_RSS: u64 = 12 * 1024 * 1024;

/// A raw WebSocket client over a std socket: the test controls every
/// frame (client frames masked, as RFC 6455 §5.3 requires).
struct Ws {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Ws {
    fn connect(addr: SocketAddr) -> Ws {
        Ws::over(connect(addr))
    }

    /// A connection whose own socket buffers are small (64 KiB each way),
    /// so a flood it sends stalls soon after the server stops reading:
    /// only the server's buffers then hold what is in transit.
    fn connect_small_buffers(addr: SocketAddr) -> Ws {
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime");
        let stream = rt.block_on(async {
            let socket = ::tokio::net::TcpSocket::new_v4().expect("socket");
            socket.set_send_buffer_size(64 * 1024).expect("SO_SNDBUF");
            socket.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
            socket.connect(addr).await.expect("connect")
        });
        let stream = stream.into_std().expect("a std socket");
        stream.set_nonblocking(false).expect("blocking");
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("write timeout");
        Ws::over(stream)
    }

    fn over(stream: TcpStream) -> Ws {
        let mut ws = Ws {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
        };
        ws.writer
            .write_all(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            .expect("write the handshake");
        let mut status = String::new();
        ws.reader.read_line(&mut status).expect("a status line");
        assert!(
            status.starts_with("HTTP/1.1 101"),
            "handshake refused: {status:?}"
        );
        for _ in 0..100 {
            let mut line = String::new();
            ws.reader.read_line(&mut line).expect("a header line");
            if line.trim_end().is_empty() {
                return ws;
            }
        }
        panic!("a handshake response of more than 100 header lines");
    }

    /// One masked client frame, final, of `opcode`.
    fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x80 | opcode];
        match payload.len() {
            n @ 0..=125 => frame.push(0x80 | n as u8),
            n @ 126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&MASK);
        frame.extend(payload.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
        frame
    }

    /// The next frame from the server: (opcode, payload).
    fn recv(&mut self) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        self.reader.read_exact(&mut head).expect("a frame header");
        assert_eq!(head[1] & 0x80, 0, "a server frame must not be masked");
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                self.reader.read_exact(&mut n).expect("a 16-bit length");
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                self.reader.read_exact(&mut n).expect("a 64-bit length");
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        assert!(len <= 16 * 1024 * 1024, "a {len}-byte frame from the server");
        let mut payload = vec![0; len as usize];
        self.reader.read_exact(&mut payload).expect("a frame payload");
        (head[0] & 0x0f, payload)
    }

    /// The next text frame (pings and pongs from the server skipped).
    fn recv_text(&mut self) -> String {
        for _ in 0..1000 {
            match self.recv() {
                (0x1, text) => return String::from_utf8(text).expect("a text frame is UTF-8"),
                (0x9 | 0xa, _) => {}
                (op, payload) => panic!("expected a text frame, got opcode {op:#x}: {payload:?}"),
            }
        }
        panic!("1000 control frames and no text frame");
    }
}

fn ping_payload(seq: usize) -> Vec<u8> {
    format!("{seq:0PING_PAYLOAD$}").into_bytes()
}

fn ping_seq(payload: &[u8]) -> usize {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a pong whose payload is no ping's: {payload:?}"))
}

/// Item 2: [`PINGS`] pings from a client that reads nothing. While the
/// pongs go unread the server holds at most one pending pong: it stops
/// reading the flood (the writer stalls before all of it is out) instead
/// of queuing pongs, and grows by less than [`PING_FLOOD_RSS`]; other
/// connections are served meanwhile. Once the
/// client reads, every pong answers a distinct ping, in order (none twice:
/// the WebSocket library and the driver do not both answer), the latest
/// ping is answered, and no more pongs come than pings went out.
fn ping_flood(adapter: Adapter) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("{adapter}/ws-ping-flood");
    bounded(&name.clone(), TEST_TIMEOUT, move || {
        let started = Instant::now();
        let server = start_ws(adapter, hostile_router(), Limits::default()).expect("server starts");
        let addr = server.addr();
        let before = rss_bytes().expect("/proc/self/status has VmRSS");

        let mut attacker = Ws::connect_small_buffers(addr);
        let sent = Arc::new(AtomicUsize::new(0));
        let writer = {
            let mut stream = attacker.writer.try_clone().expect("clone");
            // The flood may stall for as long as the test takes to come
            // back and read.
            stream
                .set_write_timeout(Some(TEST_TIMEOUT))
                .expect("write timeout");
            let sent = sent.clone();
            thread::spawn(move || {
                const PER_WRITE: usize = 500;
                let mut buf = Vec::new();
                for first in (0..PINGS).step_by(PER_WRITE) {
                    buf.clear();
                    for seq in first..(first + PER_WRITE).min(PINGS) {
                        buf.extend_from_slice(&Ws::frame(0x9, &ping_payload(seq)));
                    }
                    stream.write_all(&buf).expect("write pings");
                    sent.store((first + PER_WRITE).min(PINGS), Ordering::SeqCst);
                }
            })
        };

        // The flood runs until the server stops taking it (or all of it is
        // out): no progress for 500 ms.
        let mut last = (0, Instant::now());
        while !writer.is_finished() && last.1.elapsed() < Duration::from_millis(500) {
            thread::sleep(Duration::from_millis(50));
            let now = sent.load(Ordering::SeqCst);
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        let stalled_at = sent.load(Ordering::SeqCst);
        let during = rss_bytes().expect("/proc/self/status has VmRSS");
        let grew = during.saturating_sub(before);

        // Served meanwhile.
        for id in 0..5 {
            let mut other = Ws::connect(addr);
            let call = format!(r#"{{"jsonrpc":"2.0","method":"ping","id":{id}}}"#);
            other
                .writer
                .write_all(&Ws::frame(0x1, call.as_bytes()))
                .expect("write a call");
            let answer: Value = serde_json::from_str(&other.recv_text()).expect("a JSON answer");
            assert_eq!(
                answer,
                json!({"jsonrpc": "2.0", "result": "pong", "id": id}),
                "{name}: another connection during the flood"
            );
        }

        // Now read: pongs in order, none twice, the latest ping answered.
        let (mut pongs, mut previous) = (0usize, None::<usize>);
        while previous != Some(PINGS - 1) {
            let (op, payload) = attacker.recv();
            match op {
                0xa => {
                    let seq = ping_seq(&payload);
                    assert!(
                        previous.is_none_or(|p| seq > p),
                        "{name}: pong {seq} after pong {previous:?}: a ping answered twice or out of order"
                    );
                    previous = Some(seq);
                    pongs += 1;
                }
                // The server's own keepalive.
                0x9 => {}
                _ => panic!("{name}: opcode {op:#x} during a ping flood: {payload:?}"),
            }
            assert!(pongs <= PINGS, "{name}: more pongs than pings");
        }
        writer.join().expect("the flood's writer");
        println!(
            "{name}: {stalled_at} of {PINGS} pings taken before the server paused; RSS before {}, \
             during {} ({:+.1} MB); {pongs} pongs for {PINGS} pings, the last one answered; test {:.2?}",
            mb(before),
            mb(during),
            grew as f64 / 1e6,
            started.elapsed(),
        );
        assert!(
            stalled_at < PINGS,
            "{name}: the server read all {PINGS} pings while their pongs went unread"
        );
        assert!(
            grew < PING_FLOOD_RSS,
            "{name}: the server grew by {:.1} MB while {stalled_at} pings' pongs went unread (bound {} MB)",
            grew as f64 / 1e6,
            PING_FLOOD_RSS / 1_000_000
        );
        drop(attacker);
        drop(server);
    });
}

/// Item 3 on WebSocket: a client that sends calls in text frames and never
/// reads the answers. Once the socket takes nothing for the idle time
/// (round two's one second), the write-progress deadline closes the
/// connection (the client's writes then fail) and the server lets go of
/// its socket (no entry left in `/proc/net/tcp`, no descriptor left open),
/// while other connections are served before, during and after. On
/// actix-web, whose dispatcher owns the socket, the deadline is the
/// kernel's, through `sansrpc_actix::write_deadline`.
fn ws_stalled_reader(adapter: Adapter) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("{adapter}/ws-stalled-reader");
    bounded(&name.clone(), TEST_TIMEOUT, move || {
        let server = start_ws(adapter, hostile_router(), round_two_limits()).expect("server starts");
        let addr = server.addr();
        let ping = |what: &str| {
            let mut other = Ws::connect(addr);
            other
                .writer
                .write_all(&Ws::frame(0x1, br#"{"jsonrpc":"2.0","method":"ping","id":3}"#))
                .expect("write a call");
            let answer: Value = serde_json::from_str(&other.recv_text()).expect("a JSON answer");
            assert_eq!(
                answer,
                json!({"jsonrpc": "2.0", "result": "pong", "id": 3}),
                "{name}: {what}"
            );
        };
        // A framework's workers open their descriptors (runtimes, copies of
        // the listener) as they start: count once they are up.
        ping("a connection before the attack");
        let mut fds = open_fds();
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(100));
            let now = open_fds();
            if now == fds {
                break;
            }
            fds = now;
        }
        let attacker = Ws::connect(addr);
        let me = attacker.writer.local_addr().expect("local address");
        let started = Instant::now();
        let writer = {
            let mut stream = attacker.writer.try_clone().expect("clone");
            thread::spawn(move || {
                let call = br#"{"jsonrpc":"2.0","method":"echo","params":["0123456789012345678901234567890123456789012345678901234567890123456789"],"id":1}"#;
                let frames = Ws::frame(0x1, call).repeat(100);
                let mut last_taken = Instant::now();
                loop {
                    if let Err(e) = stream.write_all(&frames) {
                        break (e, last_taken);
                    }
                    last_taken = Instant::now();
                    if started.elapsed() > Duration::from_secs(30) {
                        let e = io::Error::other("the server never closed the stalled connection");
                        break (e, last_taken);
                    }
                }
            })
        };
        thread::sleep(Duration::from_millis(300));
        ping("another connection while the reader stalls");
        // The server lets go of its end (its entry leaves `/proc/net/tcp`).
        while server_holds(addr, me) && started.elapsed() < Duration::from_secs(30) {
            thread::sleep(Duration::from_millis(20));
        }
        let let_go_at = Instant::now();
        let (error, last_taken) = writer.join().expect("the writer");
        // From the stall (the kernel's buffers full) to the close.
        let took = last_taken.elapsed();
        assert!(
            matches!(error.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{name}: the server should have closed the connection, but the write failed with {error}"
        );
        // The idle time, and no close handshake with a remote that takes
        // nothing (which added 2 s + 2 s). The server's end is gone by then
        // too (on actix-web the kernel's deadline counts from its first
        // probe of the client's shut window: the idle time and a probe).
        // Quiet runs read 0.8-1.5 s; one run under load average ~7 read
        // 3.2 s. Four idle times leave room for that and still catch the
        // close handshake (4 s more than the quiet figure).
        let let_go = let_go_at.saturating_duration_since(last_taken);
        assert!(
            let_go < IDLE * 4,
            "{name}: the server let go {let_go:.1?} after the stall"
        );
        // On actix-web the kernel aborts the connection without a reset:
        // the client learns of it from the reset that answers its next
        // probe of the server's shut window, and those probes back off
        // (0.2 s, 0.4 s, ... doubling), so it may be seconds later.
        let bound = if adapter == Adapter::Actix {
            Duration::from_secs(15)
        } else {
            IDLE * 3
        };
        assert!(took < bound, "{name}: closed {took:.1?} after the stall");
        drop(attacker);
        assert!(
            released(addr, me),
            "{name}: the server still holds the stalled connection's socket"
        );
        let now = fds_reach(fds);
        assert!(
            now <= fds,
            "{name}: {now} descriptors open, {fds} before the attacker connected"
        );
        ping("a connection after the attack");
        println!(
            "{name}: the server let go {let_go:.2?} and the client saw the close {took:.2?} after \
             the stall, {:.2?} after the start",
            started.elapsed()
        );
        drop(server);
    });
}

mod ws {
    use super::*;

    #[test]
    fn tokio_ping_flood() {
        ping_flood(Adapter::Tokio);
    }

    #[test]
    fn warp_ping_flood() {
        ping_flood(Adapter::Warp);
    }

    #[test]
    fn actix_ping_flood() {
        ping_flood(Adapter::Actix);
    }

    #[test]
    fn tokio_stalled_reader() {
        ws_stalled_reader(Adapter::Tokio);
    }

    #[test]
    fn warp_stalled_reader() {
        ws_stalled_reader(Adapter::Warp);
    }

    #[test]
    fn actix_stalled_reader() {
        ws_stalled_reader(Adapter::Actix);
    }
}

// ---------------------------------------------------------------------------
// The tests: one module per adapter, one test per attack family.

macro_rules! battery {
    ($adapter:expr; $($extra:ident: $attack:expr, $limits:expr;)*) => {
        use super::*;

        const ADAPTER: Adapter = $adapter;

        #[test]
        fn deep_nesting() {
            run(ADAPTER, "deep-nesting", Limits::default(), super::deep_nesting);
        }

        #[test]
        fn huge_message() {
            run(ADAPTER, "huge-message", Limits::default(), super::huge_message);
        }

        #[test]
        fn slow_drip() {
            run(ADAPTER, "slow-drip", slow_drip_limits(), super::slow_drip);
        }

        #[test]
        fn many_connections() {
            run(ADAPTER, "many-connections", many_connections_limits(), super::many_connections);
        }

        #[test]
        fn vanishing_peers() {
            run(ADAPTER, "vanishing-peers", Limits::default(), super::vanishing_peers);
        }

        #[test]
        fn invalid_utf8_and_nul() {
            run(ADAPTER, "invalid-utf8-and-nul", Limits::default(), super::invalid_utf8_and_nul);
        }

        #[test]
        fn panicking_handler() {
            run(ADAPTER, "panicking-handler", Limits::default(), super::panicking_handler);
        }

        #[test]
        fn hanging_handler() {
            run(ADAPTER, "hanging-handler", hanging_limits(), super::hanging_handler);
        }

        $(
            #[test]
            fn $extra() {
                run(ADAPTER, stringify!($extra), $limits, $attack);
            }
        )*
    };
}

mod tokio {
    battery!(Adapter::Tokio;
        notification_flood: super::notification_flood, round_two_limits();
        stalled_reader: super::stalled_reader, round_two_limits();
        reset_while_backpressured: super::reset_while_backpressured, round_two_limits();
        abandoned_calls: super::abandoned_calls, Limits::default();
        notify_backpressure: super::notify_backpressure, Limits::default();
        big_messages_held: super::big_messages_held, Limits::default();
    );

    #[test]
    fn reset_with_input_queued() {
        super::reset_with_input_queued(ADAPTER);
    }

    #[test]
    fn half_close_with_input_queued() {
        super::half_close_with_input_queued(ADAPTER);
    }
}

mod smol {
    battery!(Adapter::Smol;
        notification_flood: super::notification_flood, round_two_limits();
        stalled_reader: super::stalled_reader, round_two_limits();
        reset_while_backpressured: super::reset_while_backpressured, round_two_limits();
        abandoned_calls: super::abandoned_calls, Limits::default();
        notify_backpressure: super::notify_backpressure, Limits::default();
        big_messages_held: super::big_messages_held, Limits::default();
    );

    #[test]
    fn reset_with_input_queued() {
        super::reset_with_input_queued(ADAPTER);
    }

    #[test]
    fn half_close_with_input_queued() {
        super::half_close_with_input_queued(ADAPTER);
    }
}

mod actix {
    battery!(Adapter::Actix; declared_ten_gigabytes: super::declared_ten_gigabytes, Limits::default(););
}

mod warp {
    battery!(Adapter::Warp; declared_ten_gigabytes: super::declared_ten_gigabytes, Limits::default(););
}

#[test]
fn the_harness_reads_memory_figures() {
    assert!(rss_bytes().is_some_and(|b| b > 0));
    assert!(open_files_soft_limit().is_some_and(|n| n > 0));
    let _ = io::stderr().flush();
}
