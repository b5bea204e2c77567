//! Helpers for sansrpc's cross-crate tests (`tests/tests/*.rs`): start any
//! of the four adapters' real servers on an ephemeral `127.0.0.1` port, in
//! this process, and read the process's memory figures.
//!
//! Each server runs on a thread of its own with its own runtime (a tokio
//! runtime for `sansrpc-tokio` and `sansrpc-warp`, an actix `System` for
//! `sansrpc-actix`, `smol::block_on` plus smol's global executor for
//! `sansrpc-smol`), so a test's own threads never drive it. Dropping the
//! returned [`Running`] stops it.
//!
//! ```no_run
//! use sansrpc_tests::{Adapter, start};
//!
//! let server = start(Adapter::Warp, sansrpc::reference::router(), sansrpc::Limits::default()).unwrap();
//! println!("serving on {}", server.url());
//! drop(server); // stops it
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use sansrpc::{Limits, Params, Router};

/// How long a stopping server may let its connections finish before it
/// drops them, and how long [`Running`]'s drop waits for its thread.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long a server thread may take to bind its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One of the four adapters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    /// `sansrpc-tokio`: newline-delimited JSON over TCP.
    Tokio,
    /// `sansrpc-smol`: newline-delimited JSON over TCP.
    Smol,
    /// `sansrpc-actix`: HTTP `POST` at `/`.
    Actix,
    /// `sansrpc-warp`: HTTP `POST` at `/`.
    Warp,
}

impl Adapter {
    /// All four, stream adapters first.
    pub const ALL: [Adapter; 4] = [Adapter::Tokio, Adapter::Smol, Adapter::Actix, Adapter::Warp];

    /// The adapter's short name: `tokio`, `smol`, `actix`, `warp`.
    pub fn name(self) -> &'static str {
        match self {
            Adapter::Tokio => "tokio",
            Adapter::Smol => "smol",
            Adapter::Actix => "actix",
            Adapter::Warp => "warp",
        }
    }

    /// Whether it speaks HTTP (else newline-delimited TCP).
    pub fn is_http(self) -> bool {
        matches!(self, Adapter::Actix | Adapter::Warp)
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A server started by [`start`]; dropping it stops the server (see
/// [`SHUTDOWN_GRACE`]).
#[must_use = "dropping it stops the server"]
pub struct Running {
    adapter: Adapter,
    addr: SocketAddr,
    /// Started by [`start_ws`]: a WebSocket endpoint at `/`.
    websocket: bool,
    /// Dropping it is the stop signal.
    stop: Option<Box<dyn Send>>,
    /// Disconnected when the server thread ends.
    ended: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("adapter", &self.adapter)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Which adapter serves.
    pub fn adapter(&self) -> Adapter {
        self.adapter
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL the conformance suite takes: `http://127.0.0.1:PORT/` or
    /// `tcp://127.0.0.1:PORT` (from [`start_ws`]: `ws://127.0.0.1:PORT/`).
    pub fn url(&self) -> String {
        if self.websocket {
            format!("ws://{}/", self.addr)
        } else if self.adapter.is_http() {
            format!("http://{}/", self.addr)
        } else {
            format!("tcp://{}", self.addr)
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stop.take());
        // The thread holds the sender; it disconnects when the thread ends.
        let limit = SHUTDOWN_GRACE * 3;
        match self.ended.recv_timeout(limit) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!(
                    "{} server on {} did not stop within {limit:?}; leaving it",
                    self.adapter, self.addr
                );
            }
            _ => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// Starts `adapter`'s server on `127.0.0.1:0` serving `router` under
/// `limits`, and returns once it listens.
///
/// For the HTTP adapters `limits.idle_timeout` also becomes the HTTP
/// server's keep-alive and request-head timeouts where the server offers
/// them (actix-web does; warp 0.4 has no such settings).
pub fn start(adapter: Adapter, mut router: Router, limits: Limits) -> io::Result<Running> {
    router.set_limits(limits);
    let (addr_tx, addr_rx) = mpsc::sync_channel::<io::Result<SocketAddr>>(1);
    let (ended_tx, ended) = mpsc::channel::<()>();
    let (stop, thread): (Box<dyn Send>, _) = match adapter {
        Adapter::Tokio => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = spawn("tokio", ended_tx, move || run_tokio(router, addr_tx, stopped))?;
            (Box::new(stop), thread)
        }
        Adapter::Warp => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = spawn("warp", ended_tx, move || run_warp(router, addr_tx, stopped))?;
            (Box::new(stop), thread)
        }
        Adapter::Actix => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let thread = spawn("actix", ended_tx, move || run_actix(router, addr_tx, stopped))?;
            (Box::new(stop), thread)
        }
        Adapter::Smol => {
            let (stop, stopped) = async_channel::bounded::<()>(1);
            let thread = spawn("smol", ended_tx, move || run_smol(router, addr_tx, stopped))?;
            (Box::new(stop), thread)
        }
    };
    let addr = addr_rx
        .recv_timeout(START_TIMEOUT)
        .map_err(|e| io::Error::other(format!("{adapter} server did not start: {e}")))??;
    Ok(Running {
        adapter,
        addr,
        websocket: false,
        stop: Some(stop),
        ended,
        thread: Some(thread),
    })
}

/// Starts `adapter`'s WebSocket endpoint at `/` of `127.0.0.1:0` (tokio:
/// `sansrpc_tokio::WsServer`; warp: `sansrpc_warp::websocket`; actix-web:
/// `sansrpc_actix::websocket`), serving `router` under `limits`, and
/// returns once it listens. smol has no WebSocket endpoint: an error.
/// actix-web's server gets the `sansrpc_actix::write_deadline` hook with
/// `limits.idle_timeout`, as the adapter's documentation asks.
pub fn start_ws(adapter: Adapter, mut router: Router, limits: Limits) -> io::Result<Running> {
    router.set_limits(limits);
    let server = sansrpc_tokio::WsServer::new(router).shutdown_timeout(SHUTDOWN_GRACE);
    let (addr_tx, addr_rx) = mpsc::sync_channel::<io::Result<SocketAddr>>(1);
    let (ended_tx, ended) = mpsc::channel::<()>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = match adapter {
        Adapter::Tokio => spawn("tokio-ws", ended_tx, move || {
            run_tokio_ws(server, addr_tx, stopped)
        })?,
        Adapter::Warp => spawn("warp-ws", ended_tx, move || run_warp_ws(server, addr_tx, stopped))?,
        Adapter::Actix => spawn("actix-ws", ended_tx, move || {
            run_actix_ws(server, addr_tx, stopped)
        })?,
        Adapter::Smol => return Err(io::Error::other("smol has no WebSocket endpoint")),
    };
    let addr = addr_rx
        .recv_timeout(START_TIMEOUT)
        .map_err(|e| io::Error::other(format!("{adapter} WebSocket server did not start: {e}")))??;
    Ok(Running {
        adapter,
        addr,
        websocket: true,
        stop: Some(Box::new(stop)),
        ended,
        thread: Some(thread),
    })
}

fn run_tokio_ws(
    server: sansrpc_tokio::WsServer,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => return drop(addr_tx.send(Err(e))),
    };
    runtime.block_on(async move {
        let listener = match tokio_listener() {
            Ok(l) => l,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let _ = addr_tx.send(listener.local_addr());
        let signal = async move {
            let _ = stopped.await;
        };
        if let Err(e) = server.serve_with_shutdown(listener, signal).await {
            eprintln!("tokio WebSocket server failed: {e}");
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn run_warp_ws(
    server: sansrpc_tokio::WsServer,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use warp::Filter;

    let runtime = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => return drop(addr_tx.send(Err(e))),
    };
    runtime.block_on(async move {
        let listener = match tokio_listener() {
            Ok(l) => l,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let _ = addr_tx.send(listener.local_addr());
        let routes = warp::path::end().and(sansrpc_warp::websocket(server));
        tokio::select! {
            () = warp::serve(routes).incoming(listener).run() => {}
            _ = stopped => {}
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn run_actix_ws(
    server: sansrpc_tokio::WsServer,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use actix_web::{App, HttpServer};

    let idle = server.router().limits().idle_timeout;
    actix_web::rt::System::new().block_on(async move {
        let mut server =
            HttpServer::new(move || App::new().service(sansrpc_actix::websocket("/", server.clone())))
                .workers(2)
                .backlog(2048)
                .disable_signals()
                .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        if let Some(idle) = idle {
            server = server.on_connect(sansrpc_actix::write_deadline(idle));
        }
        let server = match server.bind(("127.0.0.1", 0)) {
            Ok(s) => s,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let Some(addr) = server.addrs().first().copied() else {
            return drop(addr_tx.send(Err(io::Error::other("actix bound no address"))));
        };
        let _ = addr_tx.send(Ok(addr));
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            let _ = stopped.await;
            handle.stop(false).await;
        });
        if let Err(e) = server.await {
            eprintln!("actix WebSocket server failed: {e}");
        }
    });
}

fn spawn(
    name: &str,
    ended: mpsc::Sender<()>,
    run: impl FnOnce() + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("{name}-server"))
        .spawn(move || {
            run();
            drop(ended);
        })
}

fn tokio_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// A listener on an ephemeral port whose accept queue holds a connection
/// flood (tokio's `bind` asks for 1024; actix-web's servers get 2048 too).
fn tokio_listener() -> io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(2048)
}

/// The same for smol: `smol::net::TcpListener::bind` takes the standard
/// library's backlog (128), and a flood of 1,000 connections opened at once
/// then overflows the accept queue whenever the server's thread is slow to
/// accept (a loaded machine): the kernel drops the SYNs and the client
/// resends each after 1, 2, 4, 8 s; a connection dropped four times waits
/// 15 s, past the test's 10 s connect timeout.
fn smol_listener() -> io::Result<smol::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    socket.listen(2048)?;
    smol::net::TcpListener::try_from(std::net::TcpListener::from(socket))
}

fn run_tokio(
    router: Router,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => return drop(addr_tx.send(Err(e))),
    };
    runtime.block_on(async move {
        let listener = match tokio_listener() {
            Ok(l) => l,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let _ = addr_tx.send(listener.local_addr());
        let server = sansrpc_tokio::Server::new(router).shutdown_timeout(SHUTDOWN_GRACE);
        // A dropped sender is the signal too.
        let signal = async move {
            let _ = stopped.await;
        };
        if let Err(e) = server.serve_with_shutdown(listener, signal).await {
            eprintln!("tokio server failed: {e}");
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn run_warp(
    router: Router,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use warp::Filter;

    let runtime = match tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => return drop(addr_tx.send(Err(e))),
    };
    runtime.block_on(async move {
        let listener = match tokio_listener() {
            Ok(l) => l,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let _ = addr_tx.send(listener.local_addr());
        let routes = warp::path::end().and(sansrpc_warp::filter(router));
        // Not warp's `graceful`: it would wait for requests whose handler
        // never returns. The runtime's shutdown below drops them.
        tokio::select! {
            () = warp::serve(routes).incoming(listener).run() => {}
            _ = stopped => {}
        }
    });
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
}

fn run_actix(
    router: Router,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    use actix_web::{App, HttpServer};

    let idle = router.limits().idle_timeout;
    let router = Arc::new(router);
    actix_web::rt::System::new().block_on(async move {
        let mut server =
            HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
                .workers(2)
                .backlog(2048)
                .disable_signals()
                .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
        if let Some(idle) = idle {
            server = server.keep_alive(idle).client_request_timeout(idle);
        }
        let server = match server.bind(("127.0.0.1", 0)) {
            Ok(s) => s,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let Some(addr) = server.addrs().first().copied() else {
            return drop(addr_tx.send(Err(io::Error::other("actix bound no address"))));
        };
        let _ = addr_tx.send(Ok(addr));
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            let _ = stopped.await;
            handle.stop(false).await;
        });
        if let Err(e) = server.await {
            eprintln!("actix server failed: {e}");
        }
    });
}

fn run_smol(
    router: Router,
    addr_tx: mpsc::SyncSender<io::Result<SocketAddr>>,
    stopped: async_channel::Receiver<()>,
) {
    smol::block_on(async move {
        let listener = match smol_listener() {
            Ok(l) => l,
            Err(e) => return drop(addr_tx.send(Err(e))),
        };
        let _ = addr_tx.send(listener.local_addr());
        let server = sansrpc_smol::Server::new(router).shutdown_timeout(SHUTDOWN_GRACE);
        // Nothing is sent: `recv` fails when the sender is dropped.
        let signal = async move {
            let _ = stopped.recv().await;
        };
        if let Err(e) = server.serve_with_shutdown(listener, signal).await {
            eprintln!("smol server failed: {e}");
        }
    });
}

/// The reference methods (`sansrpc::reference::router()`) plus methods
/// that misbehave on purpose, runtime-free so every adapter can serve them:
///
/// - `sleep` `[ms]`: answers `ms` after `ms` milliseconds (capped at 10 s);
/// - `hang`: never answers;
/// - `panic`: panics (the router answers `-32603`);
/// - `hold`: never answers, and counts itself in [`holding`] while its
///   handler is alive (dropped handlers uncount themselves);
/// - `echo` `[value]`: answers `value` (from the reference router).
pub fn hostile_router() -> Router {
    let mut router = sansrpc::reference::router();
    // Fixed, valid, distinct names: registration cannot fail.
    let _ = router
        .method("sleep", sleep)
        .and_then(|r| r.method("hang", hang))
        .and_then(|r| r.method("panic", panic))
        .and_then(|r| r.method("hold", hold));
    router
}

async fn sleep(Params((ms,)): Params<(u64,)>) -> u64 {
    let (tx, rx) = async_channel::bounded::<()>(1);
    // A timer of no particular runtime: a thread that sleeps.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms.min(10_000)));
        let _ = tx.send_blocking(());
    });
    let _ = rx.recv().await;
    ms
}

async fn hang() {
    std::future::pending::<()>().await;
}

/// `hold` handlers alive in this process.
static HOLDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many `hold` handlers of [`hostile_router`] are alive now: started,
/// and not dropped (they never finish). Bounded by `max_in_flight` per
/// connection, and back to zero once their connections are gone.
pub fn holding() -> usize {
    HOLDING.load(std::sync::atomic::Ordering::SeqCst)
}

struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        HOLDING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn hold() {
    HOLDING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _held = Held;
    std::future::pending::<()>().await;
}

/// What the `panic` method of [`hostile_router`] panics with.
pub const PANIC_MESSAGE: &str = "a handler that panics, on purpose";

fn panic() -> &'static str {
    std::panic::panic_any(PANIC_MESSAGE)
}

/// This process's resident set size, in bytes (`VmRSS` of
/// `/proc/self/status`); `None` where that file does not exist.
pub fn rss_bytes() -> Option<u64> {
    proc_field("/proc/self/status", "VmRSS:").and_then(|v| {
        let kb: u64 = v.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// This process's soft limit on open files (`/proc/self/limits`); `None`
/// when unknown, `Some(u64::MAX)` when unlimited.
pub fn open_files_soft_limit() -> Option<u64> {
    let v = proc_field("/proc/self/limits", "Max open files")?;
    let soft = v.split_whitespace().next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|rest| rest.trim().to_owned())
}
