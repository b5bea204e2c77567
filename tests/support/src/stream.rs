//! The stream suite the stream adapters (tokio, smol) share: runtime-free
//! material here, and the cases, written once, in
//! [`stream_suite!`](crate::stream_suite).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Every test of the stream suite ends within this, whatever happens.
pub const BOUND: Duration = Duration::from_secs(20);

/// The specification's section 7 examples, from the core (one table for
/// every transport's tests).
pub use sansrpc::reference::SECTION_7;

/// A request as one line (the multi-line examples compacted), with `\n`.
pub fn one_line(request: &str) -> String {
    let mut line: String = request.lines().map(str::trim).collect();
    line.push('\n');
    line
}

/// The call sent after a request that must get no answer: the next line
/// read must be [`PROBE_ANSWER`].
pub const PROBE: &str = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"probe\"}\n";
/// The answer to [`PROBE`].
pub const PROBE_ANSWER: &str = r#"{"jsonrpc":"2.0","result":"pong","id":"probe"}"#;

/// `{"jsonrpc":"2.0","method":"sleep","params":[ms],"id":id}` and a newline.
pub fn sleep_call(id: u64, ms: u64) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"sleep\",\"params\":[{ms}],\"id\":{id}}}\n")
}

/// The id of an answer line.
pub fn answer_id(line: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(line).expect("answer is JSON");
    v["id"].clone()
}

/// The Python interpreter for interop tests: `$SANSRPC_PYTHON`, else the
/// repository's `.venv`, else `python3` on `PATH` (the stream client needs
/// only the standard library).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SANSRPC_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `interop/tcp_client.py` against `addr` (blocking) and asserts that
/// every check passed.
pub fn run_python_tcp_client(addr: std::net::SocketAddr) {
    let script = repo_root().join("interop/tcp_client.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .output()
        .expect("run the Python interop client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("PASS") && !stdout.contains("FAIL"),
        "python client failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// The runtime-neutral channel the stream suite uses (stop signals, notes
/// the peer receives), re-exported for [`stream_suite!`](crate::stream_suite).
pub use async_channel;

/// The stream suite both stream adapters (`sansrpc-tokio`, `sansrpc-smol`)
/// must pass, written once.
///
/// `stream_suite!(rt)` expands, in the calling test crate, the helpers
/// (`router`, `start`, `Running`, `Lines`, `section_7_on`, ...) and one
/// `#[test]` per case. `rt` names a module of the caller that holds what
/// differs per runtime:
///
/// - `adapter`: the adapter crate (`Server`, `Client`, `ClientBuilder`,
///   `ClientError`, `PeerConnection`, `serve_connection`);
/// - `io`: the runtime's I/O module (`split`, `ReadHalf`, `WriteHalf`,
///   `BufReader`, `AsyncRead`, `AsyncWrite` and the `*Ext` traits);
/// - `net`: the runtime's `TcpListener` and `TcpStream`;
/// - `fn block_on<T>(test: impl Future<Output = T>) -> T`: runs a test on
///   the runtime, failing it after [`BOUND`];
/// - `async fn sleep(Duration)`;
/// - `type Task<T>`, `fn spawn(..) -> Task<T>` (the task has
///   `is_finished()`), `async fn join<T>(Task<T>) -> T`;
/// - `async fn unblock(f) -> T`: runs blocking `f` off the runtime;
/// - `async fn shutdown_write(&mut io::WriteHalf<IO>)`: half-closes;
/// - `fn unix_pair()` (unix only): a connected pair of Unix sockets.
#[macro_export]
macro_rules! stream_suite {
    ($rt:ident) => {
        use std::net::SocketAddr;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::{Duration, Instant};

        use $crate::stream::*;
        use $rt::adapter::{Client, ClientBuilder, ClientError, PeerConnection, Server};
        use $rt::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
        use sansrpc::{
            BatchEntry, ConnectionState, Context, ErrorCode, Extension, Limits, Params, RawParams, Router,
            State, Transport,
        };

        async fn sleep_ms(Params((ms,)): Params<(u64,)>) -> u64 {
            $rt::sleep(Duration::from_millis(ms)).await;
            ms
        }

        /// The reference methods plus `sleep` ([ms] → ms).
        fn router() -> Router {
            let mut r = sansrpc::reference::router();
            r.method("sleep", sleep_ms).unwrap();
            r
        }

        fn with_limits(mut r: Router, limits: Limits) -> Router {
            r.set_limits(limits);
            r
        }

        /// A running server on an ephemeral port; dropping `stop` shuts it down.
        struct Running {
            addr: SocketAddr,
            stop: Option<$crate::stream::async_channel::Sender<()>>,
            task: $rt::Task<std::io::Result<()>>,
        }

        impl Running {
            async fn shutdown(mut self) {
                drop(self.stop.take());
                $rt::join(self.task).await.unwrap();
            }
        }

        async fn start<S: Clone + Send + Sync + 'static>(server: Server<S>) -> Running {
            let listener = $rt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = $crate::stream::async_channel::bounded::<()>(1);
            let task = $rt::spawn(server.serve_with_shutdown(listener, async move {
                let _ = stopped.recv().await;
            }));
            Running {
                addr,
                stop: Some(stop),
                task,
            }
        }

        /// A raw line-oriented connection.
        struct Lines<IO> {
            read: $rt::io::BufReader<$rt::io::ReadHalf<IO>>,
            write: $rt::io::WriteHalf<IO>,
        }

        impl Lines<$rt::net::TcpStream> {
            async fn connect(addr: SocketAddr) -> Self {
                Self::new($rt::net::TcpStream::connect(addr).await.unwrap())
            }
        }

        impl<IO: $rt::io::AsyncRead + $rt::io::AsyncWrite + Unpin> Lines<IO> {
            fn new(io: IO) -> Self {
                let (read, write) = $rt::io::split(io);
                Self {
                    read: $rt::io::BufReader::new(read),
                    write,
                }
            }

            async fn send(&mut self, text: &str) {
                self.write.write_all(text.as_bytes()).await.unwrap();
            }

            /// The next line without its `\n`, or `None` at the end of the stream.
            async fn line(&mut self) -> Option<String> {
                let mut line = String::new();
                match self.read.read_line(&mut line).await {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line.trim_end_matches('\n').to_owned()),
                }
            }

            async fn expect_closed(&mut self) {
                let mut rest = Vec::new();
                // A reset is a close too.
                let _ = self.read.read_to_end(&mut rest).await;
                assert!(
                    rest.is_empty(),
                    "unexpected bytes: {}",
                    String::from_utf8_lossy(&rest)
                );
            }
        }

        async fn section_7_on<IO: $rt::io::AsyncRead + $rt::io::AsyncWrite + Unpin>(conn: &mut Lines<IO>) {
            for (name, request, want) in SECTION_7 {
                conn.send(&one_line(request)).await;
                match want {
                    Some(want) => assert_eq!(conn.line().await.as_deref(), Some(*want), "{name}"),
                    None => {
                        conn.send(PROBE).await;
                        assert_eq!(
                            conn.line().await.as_deref(),
                            Some(PROBE_ANSWER),
                            "{name}: answered"
                        );
                    }
                }
            }
        }

        #[test]
        fn section_7_examples_byte_for_byte_over_tcp() {
            $rt::block_on(async {
                let server = start(Server::new(router())).await;
                let mut conn = Lines::connect(server.addr).await;
                section_7_on(&mut conn).await;
                drop(conn);
                server.shutdown().await;
            })
        }

        #[cfg(unix)]
        #[test]
        fn unix_socket_is_served() {
            $rt::block_on(async {
                let (ours, theirs) = $rt::unix_pair();
                let server = $rt::spawn(async move {
                    let ctx = Context::builder(Transport::Stream).build();
                    $rt::adapter::serve_connection(theirs, router(), ctx).await
                });
                let mut conn = Lines::new(ours);
                conn.send(PROBE).await;
                assert_eq!(conn.line().await.as_deref(), Some(PROBE_ANSWER));
                section_7_on(&mut conn).await;
                drop(conn);
                $rt::join(server).await.unwrap();
            })
        }

        #[test]
        fn a_slow_call_does_not_delay_a_fast_one() {
            $rt::block_on(async {
                let server = start(Server::new(router())).await;
                let mut conn = Lines::connect(server.addr).await;
                conn.send(&(sleep_call(1, 500) + PROBE)).await;
                // The answers come in the order they are ready, not as asked.
                assert_eq!(conn.line().await.as_deref(), Some(PROBE_ANSWER));
                assert_eq!(answer_id(&conn.line().await.unwrap()), 1);
                drop(conn);
                server.shutdown().await;
            })
        }

        #[test]
        fn at_eof_calls_in_flight_are_answered_before_the_close() {
            $rt::block_on(async {
                let server = start(Server::new(router())).await;
                let mut conn = Lines::connect(server.addr).await;
                let calls: String = (1..=5).map(|id| sleep_call(id, 100 + 50 * id)).collect();
                conn.send(&calls).await;
                $rt::shutdown_write(&mut conn.write).await;
                let mut ids = Vec::new();
                while let Some(line) = conn.line().await {
                    ids.push(answer_id(&line));
                }
                assert_eq!(ids, [1, 2, 3, 4, 5].map(serde_json::Value::from));
                server.shutdown().await;
            })
        }

        #[test]
        fn connections_beyond_the_limit_are_closed_at_once() {
            $rt::block_on(async {
                let limits = Limits {
                    max_connections: 1,
                    ..Limits::default()
                };
                let server = start(Server::new(with_limits(router(), limits))).await;
                let mut first = Lines::connect(server.addr).await;
                first.send(PROBE).await;
                assert_eq!(first.line().await.as_deref(), Some(PROBE_ANSWER));

                let mut second = Lines::connect(server.addr).await;
                second.send(PROBE).await;
                assert_eq!(second.line().await, None, "over the limit: closed");

                // The slot is free again once the first connection is gone.
                drop(first);
                let mut third = loop {
                    let mut conn = Lines::connect(server.addr).await;
                    conn.send(PROBE).await;
                    if conn.line().await.as_deref() == Some(PROBE_ANSWER) {
                        break conn;
                    }
                    $rt::sleep(Duration::from_millis(20)).await;
                };
                third.send(PROBE).await;
                assert_eq!(third.line().await.as_deref(), Some(PROBE_ANSWER));
                drop(third);
                server.shutdown().await;
            })
        }

        #[test]
        fn idle_connections_are_closed() {
            $rt::block_on(async {
                let limits = Limits {
                    idle_timeout: Some(Duration::from_millis(200)),
                    ..Limits::default()
                };
                let server = start(Server::new(with_limits(router(), limits))).await;
                let mut conn = Lines::connect(server.addr).await;
                // Busy is not idle: a call longer than the timeout is answered.
                conn.send(&sleep_call(1, 400)).await;
                assert_eq!(answer_id(&conn.line().await.unwrap()), 1);
                let start = Instant::now();
                conn.expect_closed().await;
                assert!(
                    start.elapsed() >= Duration::from_millis(150),
                    "closed after {:?}",
                    start.elapsed()
                );
                server.shutdown().await;
            })
        }

        /// Counts calls running at once.
        #[derive(Default)]
        struct Gauge {
            now: AtomicUsize,
            max: AtomicUsize,
        }

        async fn gauged_sleep(State(gauge): State<Arc<Gauge>>, Params((ms,)): Params<(u64,)>) -> u64 {
            let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.max.fetch_max(now, Ordering::SeqCst);
            $rt::sleep(Duration::from_millis(ms)).await;
            gauge.now.fetch_sub(1, Ordering::SeqCst);
            ms
        }

        #[test]
        fn the_in_flight_limit_pauses_reading_and_loses_nothing() {
            $rt::block_on(async {
                let gauge = Arc::new(Gauge::default());
                let mut r = Router::with_state(gauge.clone());
                r.method("sleep", gauged_sleep).unwrap();
                r.set_limits(Limits {
                    max_in_flight: 2,
                    ..Limits::default()
                });
                let server = start(Server::new(r)).await;
                let mut conn = Lines::connect(server.addr).await;
                let calls: String = (1..=10).map(|id| sleep_call(id, 50)).collect();
                conn.send(&calls).await;
                let mut ids: Vec<u64> = Vec::new();
                for _ in 0..10 {
                    ids.push(answer_id(&conn.line().await.unwrap()).as_u64().unwrap());
                }
                ids.sort_unstable();
                assert_eq!(ids, (1..=10).collect::<Vec<_>>());
                assert_eq!(gauge.max.load(Ordering::SeqCst), 2, "at most 2 calls ran at once");
                drop(conn);
                server.shutdown().await;
            })
        }

        /// Calls answered at once, sent in one write, fill the output bound
        /// over and over: each time the output is written the connection
        /// must go on with the calls it already read (no more input comes).
        #[test]
        fn the_output_limit_pauses_parsing_and_loses_nothing() {
            $rt::block_on(async {
                let r = with_limits(
                    router(),
                    Limits {
                        max_buffered_out: 100,
                        ..Limits::default()
                    },
                );
                let server = start(Server::new(r)).await;
                let mut conn = Lines::connect(server.addr).await;
                let calls: String = (1..=200)
                    .map(|id| format!("{{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":{id}}}\n"))
                    .collect();
                conn.send(&calls).await;
                for id in 1..=200 {
                    let want = format!("{{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":{id}}}");
                    assert_eq!(conn.line().await, Some(want));
                }
                drop(conn);
                server.shutdown().await;
            })
        }

        #[test]
        fn graceful_shutdown_drains_calls_in_flight() {
            $rt::block_on(async {
                let server = start(Server::new(router())).await;
                let addr = server.addr;
                let mut busy = Lines::connect(addr).await;
                let mut idle = Lines::connect(addr).await;
                idle.send(PROBE).await;
                assert_eq!(idle.line().await.as_deref(), Some(PROBE_ANSWER));
                // The probe's answer proves the slow call before it was read.
                busy.send(&(sleep_call(7, 300) + PROBE)).await;
                assert_eq!(busy.line().await.as_deref(), Some(PROBE_ANSWER));

                let Running { stop, task, .. } = server;
                drop(stop);
                idle.expect_closed().await;
                assert_eq!(answer_id(&busy.line().await.unwrap()), 7);
                busy.expect_closed().await;
                $rt::join(task).await.unwrap();
                assert!(
                    $rt::net::TcpStream::connect(addr).await.is_err(),
                    "no longer accepting"
                );
            })
        }

        #[test]
        fn client_calls_notifies_batches_and_times_out() {
            $rt::block_on(async {
                let server = start(Server::new(router())).await;
                let client = Client::connect(server.addr).await.unwrap();

                assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
                assert_eq!(client.call::<i64>("subtract", [42, 23]).await.unwrap(), 19);
                let named = serde_json::json!({"subtrahend": 23, "minuend": 42});
                assert_eq!(client.call::<i64>("subtract", named).await.unwrap(), 19);
                match client.call::<i64>("foobar", ()).await {
                    Err(ClientError::Rpc(e)) => assert_eq!(e.code(), ErrorCode::METHOD_NOT_FOUND),
                    other => panic!("{other:?}"),
                }
                assert!(matches!(
                    client.call::<i64>("ping", ()).await,
                    Err(ClientError::Decode(_))
                ));
                assert!(matches!(
                    client.call::<i64>("sum", 5).await,
                    Err(ClientError::Usage(_))
                ));
                client.notify("update", [1, 2, 3]).await.unwrap();

                let answers = client
                    .batch([
                        BatchEntry::call("sum", RawParams::from_json("[1,2,4]").unwrap()),
                        BatchEntry::notification("notify_hello", RawParams::from_json("[7]").unwrap()),
                        BatchEntry::call("subtract", RawParams::from_json("[42,23]").unwrap()),
                        BatchEntry::call("foo.get", RawParams::none()),
                    ])
                    .await
                    .unwrap();
                let shown: Vec<_> = answers
                    .iter()
                    .map(|a| {
                        a.as_ref()
                            .map(|o| o.as_ref().map(|r| r.get().to_owned()).map_err(|e| e.code()))
                    })
                    .collect();
                assert_eq!(
                    shown,
                    [
                        Some(Ok("7".to_owned())),
                        None,
                        Some(Ok("19".to_owned())),
                        Some(Err(ErrorCode::METHOD_NOT_FOUND))
                    ]
                );

                // Concurrent calls on one connection: the fast one is not held up.
                let slow = $rt::spawn({
                    let client = client.clone();
                    async move { client.call::<u64>("sleep", [300]).await }
                });
                $rt::sleep(Duration::from_millis(20)).await;
                assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
                assert!(
                    !slow.is_finished(),
                    "the fast call was answered while the slow one ran"
                );
                assert_eq!($rt::join(slow).await.unwrap(), 300);

                // Timeouts: per call, and per client; a late answer is ignored.
                let late = client
                    .call_timeout::<u64>("sleep", [400], Duration::from_millis(100))
                    .await;
                assert!(matches!(late, Err(ClientError::TimedOut)), "{late:?}");
                let impatient = client.with_timeout(Some(Duration::from_millis(50)));
                assert!(matches!(
                    impatient.call::<u64>("sleep", [300]).await,
                    Err(ClientError::TimedOut)
                ));
                $rt::sleep(Duration::from_millis(400)).await;
                assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");

                drop((client, impatient));
                server.shutdown().await;
            })
        }

        #[test]
        fn client_calls_fail_with_closed_when_the_server_goes_away() {
            $rt::block_on(async {
                let listener = $rt::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let accept = $rt::spawn(async move {
                    let (mut stream, _) = listener.accept().await.unwrap();
                    // Read the request, then hang up without answering.
                    let mut buf = [0u8; 256];
                    let _ = stream.read(&mut buf).await;
                });
                let client = ClientBuilder::new().no_timeout().connect(addr).await.unwrap();
                assert!(matches!(
                    client.call::<String>("ping", ()).await,
                    Err(ClientError::Closed)
                ));
                $rt::join(accept).await;
                assert!(matches!(
                    client.call::<String>("ping", ()).await,
                    Err(ClientError::Closed)
                ));
            })
        }

        #[test]
        fn peer_mode_the_server_calls_the_client_back() {
            $rt::block_on(async {
                let mut on_server = Router::new();
                on_server
                    .method("callback", |Extension(client): Extension<Client>| async move {
                        client
                            .call::<String>("whoami", ())
                            .await
                            .map_err(|e| sansrpc::Error::internal_error().with_reason(e))
                    })
                    .unwrap()
                    .method("tell_me", |state: ConnectionState| async move {
                        let client: Client = state.get().expect("peer handle in the connection state");
                        client.notify("note", ["from the server"]).await.is_ok()
                    })
                    .unwrap();
                let server = start(Server::new(on_server).peer_mode(ClientBuilder::new())).await;

                let (notes, noted) = $crate::stream::async_channel::unbounded::<String>();
                let mut on_client = Router::new();
                on_client
                    .method("whoami", || "the client")
                    .unwrap()
                    .method("note", move |Params((text,)): Params<(String,)>| {
                        let _ = notes.try_send(text);
                    })
                    .unwrap();
                let peer = PeerConnection::connect(server.addr, on_client).await.unwrap();

                assert_eq!(peer.call::<String>("callback", ()).await.unwrap(), "the client");
                assert!(peer.call::<bool>("tell_me", ()).await.unwrap());
                assert_eq!(noted.recv().await.ok().as_deref(), Some("from the server"));

                peer.close();
                peer.closed().await.unwrap();
                server.shutdown().await;
            })
        }

        #[test]
        fn a_python_client_interoperates() {
            $rt::block_on(async {
                let server = start(Server::new(sansrpc::reference::router())).await;
                let addr = server.addr;
                $rt::unblock(move || run_python_tcp_client(addr)).await;
                server.shutdown().await;
            })
        }
    };
}
