//! The one I/O loop every connection runs: read → state machine → write,
//! with answers and commands arriving over a channel.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures_lite::future;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use sansrpc::{Connection, Outcome, Ticket};

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

/// Keeps a server's `wait` pending while alive, and spawns detached tasks
/// that each hold such a token.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tasks {
    alive: Option<Sender<()>>,
}

impl Tasks {
    /// Tasks whose end [`Tasks::wait`]'s receiver observes.
    pub(crate) fn tracked() -> (Self, Receiver<()>) {
        let (alive, all_done) = async_channel::bounded(1);
        (Self { alive: Some(alive) }, all_done)
    }

    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let token = self.alive.clone();
        smol::spawn(async move {
            fut.await;
            drop(token);
        })
        .detach();
    }
}

/// How a connection task behaves beyond the protocol.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) read_buffer: usize,
    pub(crate) idle_timeout: Option<Duration>,
    /// Closed: stop reading, finish the calls in flight, close.
    pub(crate) shutdown: Option<Receiver<()>>,
    /// Closed: close at once.
    pub(crate) abort: Option<Receiver<()>>,
}

impl Options {
    /// Options for a connection that no server shuts down.
    pub(crate) fn new(read_buffer: usize, idle_timeout: Option<Duration>) -> Self {
        Self {
            read_buffer,
            idle_timeout,
            shutdown: None,
            abort: None,
        }
    }
}

/// Resolves when `signal`'s sending side is gone; never without one.
async fn closed(signal: Option<&Receiver<()>>) {
    match signal {
        // Nothing is ever sent: `recv` ends only when the channel closes.
        Some(rx) => while rx.recv().await.is_ok() {},
        None => future::pending().await,
    }
}

enum Wake {
    Read(io::Result<usize>),
    Wrote(io::Result<usize>),
    Msg(Option<Msg>),
    Timer,
    Shutdown,
    Abort,
}

/// The read buffer of a connection that is idle or reads little.
const SMALL_READ_BUFFER: usize = 2048;

/// Runs one connection until it is finished, idle for too long, closed, or
/// broken.
pub(crate) async fn drive<S, IO>(io: IO, side: &mut S, rx: &Receiver<Msg>, opts: &Options) -> io::Result<()>
where
    S: Side,
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = futures_lite::io::split(io);
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

        let pending = written < out.len();
        let unwritten = out.get(written..).unwrap_or_default();
        let write = async {
            if pending {
                Wake::Wrote(writer.write(unwritten).await)
            } else {
                future::pending().await
            }
        };
        let read = async {
            if wants_read {
                Wake::Read(reader.read(&mut buf).await)
            } else {
                future::pending().await
            }
        };
        let timer = async {
            match wake_at {
                Some(t) => {
                    smol::Timer::at(t).await;
                    Wake::Timer
                }
                None => future::pending().await,
            }
        };
        let shutdown = async {
            if draining {
                future::pending().await
            } else {
                closed(opts.shutdown.as_ref()).await;
                Wake::Shutdown
            }
        };
        let abort = async {
            closed(opts.abort.as_ref()).await;
            Wake::Abort
        };
        let msg = async { Wake::Msg(rx.recv().await.ok()) };
        let wake = future::or(
            future::or(abort, msg),
            future::or(future::or(write, read), future::or(timer, shutdown)),
        )
        .await;

        match wake {
            Wake::Read(Ok(0)) => {
                eof = true;
                side.machine().handle_eof();
            }
            Wake::Read(Ok(n)) => {
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
            Wake::Read(Err(e)) | Wake::Wrote(Err(e)) => break Err(e),
            Wake::Wrote(Ok(0)) => break Err(io::ErrorKind::WriteZero.into()),
            Wake::Wrote(Ok(n)) => {
                written += n;
                last_activity = Instant::now();
                if written == out.len() {
                    if let Err(e) = writer.flush().await {
                        break Err(e);
                    }
                }
            }
            Wake::Msg(Some(msg)) => {
                if side.on_msg(msg) {
                    draining = true;
                }
                // Take every answer already waiting, so answers that are
                // ready together go out in one write.
                while let Ok(msg) = rx.try_recv() {
                    if side.on_msg(msg) {
                        draining = true;
                    }
                }
            }
            // Only a client's channel closes: every handle is gone, so no
            // one waits for anything on this connection.
            Wake::Msg(None) => break Ok(()),
            Wake::Timer => {
                let now = Instant::now();
                let m = side.machine();
                if idle_at.is_some_and(|t| t <= now) && out.is_empty() && m.is_idle() {
                    tracing::debug!("closing idle connection");
                    break Ok(());
                }
                m.handle_timeout(now);
            }
            Wake::Shutdown => draining = true,
            Wake::Abort => break Ok(()),
        }
    };
    // Messages still queued hold the reply senders of waiting callers:
    // dropping them is what tells those callers the connection is gone
    // (the queue itself lives as long as any sender does).
    rx.close();
    while rx.try_recv().is_ok() {}
    if result.is_ok() {
        // Best effort: the peer sees a clean end of stream.
        let _ = writer.close().await;
    }
    result
}
