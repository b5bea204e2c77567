//! The one I/O loop every connection runs: read → state machine → write,
//! with answers and commands arriving over a channel.

use std::io;
use std::time::{Duration, Instant};

use sansrpc::{Connection, Outcome, Ticket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::Command;

/// What reaches a connection task from outside: answers of the calls it
/// spawned, and commands from [`crate::Client`] handles.
pub(crate) enum Msg {
    Answer(Ticket, Outcome),
    Command(Command),
}

/// The application end of a connection: it owns the state machine, runs
/// what the machine yields, and takes what arrives on the channel.
pub(crate) trait Side: Send {
    type M: Connection + Send;
    fn machine(&mut self) -> &mut Self::M;
    /// Takes every event the machine has and acts on it; returns whether
    /// it took any (a complete message arrived: activity, for the idle
    /// timeout).
    fn step(&mut self) -> bool;
    /// Handles one message; returns `true` when it asks for a graceful close.
    fn on_msg(&mut self, msg: Msg) -> bool;
}

/// How a connection task behaves beyond the protocol.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) read_buffer: usize,
    pub(crate) idle_timeout: Option<Duration>,
    /// Cancelled: stop reading, finish the calls in flight, close.
    pub(crate) shutdown: CancellationToken,
    /// Cancelled: close at once.
    pub(crate) abort: CancellationToken,
}

impl Options {
    pub(crate) fn new(read_buffer: usize, idle_timeout: Option<Duration>) -> Self {
        Self {
            read_buffer,
            idle_timeout,
            shutdown: CancellationToken::new(),
            abort: CancellationToken::new(),
        }
    }
}

/// The read buffer of a connection that is idle or reads little.
const SMALL_READ_BUFFER: usize = 2048;

/// Runs one connection until it is finished, idle for too long, closed, or
/// broken.
pub(crate) async fn drive<S, IO>(
    io: IO,
    side: &mut S,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    opts: &Options,
) -> io::Result<()>
where
    S: Side,
    IO: AsyncRead + AsyncWrite,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    // The read buffer starts small and grows while reads fill it, up to
    // `read_buffer`; an idle connection shrinks it back, so ten thousand
    // idle connections do not hold ten thousand large buffers.
    let max_buf = opts.read_buffer.max(1);
    let small_buf = SMALL_READ_BUFFER.min(max_buf);
    let mut buf = vec![0u8; small_buf];
    // Bytes taken from the machine and not yet written. The machine is
    // asked for more only once these are out, so its outgoing limit is what
    // pauses reading when the peer does not read its answers.
    let mut out = Vec::new();
    let mut written = 0;
    let mut eof = false;
    let mut draining = false;
    let mut last_activity = Instant::now();

    let sleep = tokio::time::sleep_until(Instant::now().into());
    tokio::pin!(sleep);
    let mut armed: Option<Instant> = None;

    let result = loop {
        loop {
            if side.step() {
                last_activity = Instant::now();
            }
            if written == out.len() {
                out.clear();
                written = 0;
                // Taking output may lift backpressure: step again.
                if side.machine().poll_transmit(&mut out).is_some() {
                    continue;
                }
            }
            break;
        }
        let m = side.machine();
        if out.is_empty() && (m.is_finished() || (draining && m.serving() == 0)) {
            break Ok(());
        }
        if out.is_empty() && m.is_idle() {
            if buf.len() > small_buf {
                buf = vec![0u8; small_buf];
            }
            if out.capacity() > small_buf {
                out = Vec::new();
            }
        }

        let wants_read = !eof && !draining && m.wants_input();
        let idle_at = match opts.idle_timeout {
            Some(limit) if out.is_empty() && m.is_idle() => Some(last_activity + limit),
            _ => None,
        };
        let wake_at = match (idle_at, m.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // One timer for the connection's life, moved only when the deadline
        // moves: registering a new one per turn costs more than the turn.
        if let Some(t) = wake_at {
            if armed != Some(t) {
                sleep.as_mut().reset(t.into());
                armed = Some(t);
            }
        }

        tokio::select! {
            read = reader.read(&mut buf), if wants_read => match read {
                Ok(0) => {
                    eof = true;
                    side.machine().handle_eof();
                }
                Ok(n) => {
                    if n == buf.len() && buf.len() < max_buf {
                        buf.resize((buf.len() * 2).min(max_buf), 0);
                    }
                    // Bytes alone are not activity: a peer that trickles a
                    // message it never finishes stays idle (the core's
                    // `is_idle`), so the idle timeout ends it. Completed
                    // messages (`step`) and written answers are activity.
                    // Cannot fail: input is only fed before EOF.
                    let _ = side.machine().handle_input(buf.get(..n).unwrap_or_default());
                }
                Err(e) => break Err(e),
            },
            wrote = writer.write(out.get(written..).unwrap_or_default()), if written < out.len() => match wrote {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    written += n;
                    last_activity = Instant::now();
                    if written == out.len() {
                        if let Err(e) = writer.flush().await {
                            break Err(e);
                        }
                    }
                }
                Err(e) => break Err(e),
            },
            msg = rx.recv() => match msg {
                Some(msg) => {
                    if side.on_msg(msg) {
                        draining = true;
                    }
                    // Take every answer already waiting, so answers that
                    // are ready together go out in one write.
                    while let Ok(msg) = rx.try_recv() {
                        if side.on_msg(msg) {
                            draining = true;
                        }
                    }
                }
                // Only a client's channel closes: every handle is gone, so
                // no one waits for anything on this connection.
                None => break Ok(()),
            },
            () = &mut sleep, if wake_at.is_some() => {
                armed = None;
                let now = Instant::now();
                let m = side.machine();
                if idle_at.is_some_and(|t| t <= now) && out.is_empty() && m.is_idle() {
                    tracing::debug!("closing idle connection");
                    break Ok(());
                }
                m.handle_timeout(now);
            },
            () = opts.shutdown.cancelled(), if !draining => draining = true,
            () = opts.abort.cancelled() => break Ok(()),
        }
    };
    if result.is_ok() {
        // Best effort: the peer sees a clean end of stream.
        let _ = writer.shutdown().await;
    }
    result
}

/// What both tokio servers (newline TCP and WebSocket) do with a listener:
/// accept until `signal`, close connections over `max_connections` at once,
/// run each accepted one with `serve`, then shut down gracefully — cancel
/// `shutdown`, wait for the connections, and cancel `abort` if they take
/// longer than `shutdown_timeout`.
pub(crate) async fn accept_loop<F, Fut>(
    listener: tokio::net::TcpListener,
    max_connections: usize,
    signal: impl std::future::Future<Output = ()>,
    shutdown: &CancellationToken,
    abort: &CancellationToken,
    shutdown_timeout: Option<Duration>,
    mut serve: F,
) -> io::Result<()>
where
    F: FnMut(tokio::net::TcpStream, std::net::SocketAddr, tokio_util::task::TaskTracker) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tasks = tokio_util::task::TaskTracker::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(
        max_connections.min(tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, addr) = tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    // Out of descriptors and the like: give it a moment
                    // rather than spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%addr, "connection limit reached: closing the new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = serve(stream, addr, tasks.clone());
        tasks.spawn(async move {
            conn.await;
            drop(slot);
        });
    }
    drop(listener);
    shutdown.cancel();
    tasks.close();
    match shutdown_timeout {
        Some(limit) => {
            if tokio::time::timeout(limit, tasks.wait()).await.is_err() {
                tracing::warn!("shutdown timeout: closing the remaining connections");
                abort.cancel();
            }
        }
        None => tasks.wait().await,
    }
    Ok(())
}
