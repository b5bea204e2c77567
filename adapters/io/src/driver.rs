//! The one connection loop: the transport's input → the state machine →
//! the transport's output, with handler answers and caller commands
//! arriving over channels, and one timer that sleeps until the core's next
//! deadline. What to do and when to stop is the core's decision
//! (`poll_timeout`, `handle_timeout`, `is_finished`); this file only moves
//! things.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_channel::Receiver;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::StreamExt;
use sansrpc::conn::Connection;

use crate::runtime::{AsyncTimer, Runtime, Watch};
use crate::side::{Command, Side};

/// What a transport read.
pub(crate) enum Read {
    /// Input was fed to the connection (or a control frame handled).
    Data,
    /// The remote ended its input.
    Eof,
    /// The transport ended the connection itself (the reason is kept by
    /// the transport, for its close).
    Closed,
}

/// A byte stream or a frame stream, seen by the driver.
pub(crate) trait Transport {
    /// Reads what is available into `conn` (also while it wants no input,
    /// within a bound, so a paused connection still sees EOF and errors).
    fn poll_read<C: Connection>(&mut self, cx: &mut Context<'_>, conn: &mut C) -> io::Result<Poll<Read>>;
    /// Writes what it holds, taking more from `conn` as it goes, until
    /// the transport blocks or nothing is left; returns whether anything
    /// was taken or written.
    fn poll_write<C: Connection>(&mut self, cx: &mut Context<'_>, conn: &mut C) -> io::Result<bool>;
    /// Whether bytes or frames are held unwritten.
    fn holds_output(&self) -> bool;
    /// The transport's own deadline (WebSocket pings).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// Acts on the transport's deadline.
    fn handle_timeout(&mut self, _now: Instant) {}
    /// The connection has nothing to do: give back large buffers.
    fn on_idle(&mut self) {}
    /// The driver's task was polled again: a read that was pending may
    /// have something now.
    fn woken(&mut self) {}
}

/// How the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The core says the connection is finished.
    Finished,
    /// A deadline of the core closed it.
    TimedOut,
    /// The transport ended it (see [`Read::Closed`]).
    Transport,
    /// The server aborted it.
    Aborted,
}

/// What ends a connection besides its input: signals from a server (each
/// fires when its sending side is dropped) and the socket's watch.
#[derive(Default)]
pub(crate) struct Signals {
    /// Stop reading, finish what was handed out, close.
    pub(crate) shutdown: Option<Pin<Box<Receiver<()>>>>,
    /// Close at once.
    pub(crate) abort: Option<Pin<Box<Receiver<()>>>>,
    /// Whether this connection drains (the server's shutdown began).
    pub(crate) draining: bool,
    /// Sees a reset the paused reads do not (see [`Listen::watch`](crate::Listen::watch)).
    pub(crate) watch: Option<Watch>,
    /// The waker each of `shutdown` and `abort` was last polled with.
    pub(crate) polled_with: [Option<Waker>; 2],
}

/// Whether `signal` fired. It is polled only when something arrived on
/// its channel (a signal fires by closing) or its last poll was with
/// another waker: a pending poll leaves the task's waker with the
/// channel, which wakes the task when the channel closes, so polling it
/// again on every wake-up (each poll registers the waker anew) is not
/// needed.
fn fired(
    signal: &mut Option<Pin<Box<Receiver<()>>>>,
    polled_with: &mut Option<Waker>,
    cx: &mut Context<'_>,
) -> bool {
    let Some(rx) = signal.as_mut() else { return false };
    if polled_with.as_ref().is_some_and(|w| w.will_wake(cx.waker())) && !rx.is_closed() && rx.is_empty() {
        return false;
    }
    let fired = rx.poll_next_unpin(cx).is_ready();
    if fired {
        *signal = None;
        *polled_with = None;
    } else {
        *polled_with = Some(cx.waker().clone());
    }
    fired
}

/// Runs one connection until the core says it is finished, a deadline
/// closes it, the transport ends, or the server aborts it.
pub(crate) async fn drive<R: Runtime, S: Side, T: Transport>(
    transport: &mut T,
    side: &mut S,
    commands: Option<Receiver<Command>>,
    signals: &mut Signals,
) -> io::Result<End> {
    let mut commands = commands.map(Box::pin);
    let mut timer: Option<Pin<Box<dyn AsyncTimer>>> = None;
    // The deadline the timer is set to: moved only to an earlier one. A
    // later deadline (each request moves the idle deadline a little) is
    // left to the timer firing early, when the core is asked again.
    let mut armed: Option<Instant> = None;
    // The waker the timer was last polled with, pending, since it was
    // set to `armed`.
    let mut timer_waker: Option<Waker> = None;
    let mut eof = false;
    // Whether the machine wanted input right after its last step.
    let mut stepped_idle = false;
    poll_fn(|cx| {
        // The signals once per wake-up, not every turn: a signal that fires
        // later wakes the task. The abort follows the shutdown (the server
        // drops the abort sender after the shutdown one), so it is polled
        // only once the shutdown fired (or when there is none).
        let [shutdown_waker, abort_waker] = &mut signals.polled_with;
        if fired(&mut signals.shutdown, shutdown_waker, cx) {
            signals.draining = true;
            side.machine().close_input();
        }
        if signals.shutdown.is_none() && fired(&mut signals.abort, abort_waker, cx) {
            return Poll::Ready(Ok(End::Aborted));
        }
        transport.woken();
        // Whether anything reached the machine (or the transport) since the
        // last step and write: every wake-up starts as if it had.
        let mut fresh = true;
        // Turns with progress before yielding to the executor, so one busy
        // connection cannot starve the others on a runtime without a
        // cooperative budget.
        let mut budget = 64;
        loop {
            let mut progress = false;
            while let Poll::Ready(Some(d)) = side.poll_done(cx) {
                side.on_done(d);
                progress = true;
                fresh = true;
            }
            while side.can_send() {
                let Some(rx) = commands.as_mut() else { break };
                match rx.poll_next_unpin(cx) {
                    Poll::Ready(Some(c)) => side.on_command(c),
                    // Every handle is gone: no one can call any more.
                    Poll::Ready(None) => {
                        commands = None;
                        side.machine().close_input();
                    }
                    Poll::Pending => break,
                }
                progress = true;
                fresh = true;
            }
            // Read, run what was read, write the answers: one turn per
            // request that is answered at once.
            let m = side.machine();
            if !eof && !m.is_timed_out() {
                match transport.poll_read(cx, m)? {
                    Poll::Ready(Read::Data) => progress = true,
                    Poll::Ready(Read::Eof) => {
                        eof = true;
                        m.handle_eof();
                        progress = true;
                    }
                    Poll::Ready(Read::Closed) => return Poll::Ready(Ok(End::Transport)),
                    Poll::Pending => {}
                }
                fresh |= progress;
            }
            // The turn after the one that answered (it reads again only to
            // leave the waker with the socket) skips the step and the write
            // when nothing arrived since: a machine that wanted input after
            // its last step (not held back by a limit) has no event until
            // more input, an answer or a command comes, and the last write
            // took all the output or left the waker with the transport.
            if fresh || !stepped_idle {
                progress |= side.step();
                stepped_idle = side.machine().wants_input();
                let m = side.machine();
                progress |= transport.poll_write(cx, m)?;
                fresh = false;
            }
            let m = side.machine();
            if eof || !m.wants_input() {
                if let Some(Poll::Ready(e)) = signals.watch.as_mut().map(|w| w.as_mut().poll(cx)) {
                    return Poll::Ready(Err(e));
                }
            }
            if progress {
                budget -= 1;
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            let now = Instant::now();
            m.handle_timeout(now);
            transport.handle_timeout(now);
            if m.is_timed_out() {
                return Poll::Ready(Ok(End::TimedOut));
            }
            if m.is_finished() && !transport.holds_output() {
                return Poll::Ready(Ok(End::Finished));
            }
            if m.is_idle() && !transport.holds_output() {
                transport.on_idle();
            }
            let Some(at) = m.poll_timeout().into_iter().chain(transport.poll_timeout()).min() else {
                return Poll::Pending;
            };
            let t = timer.get_or_insert_with(|| R::timer(at));
            if armed.is_none_or(|armed| at < armed) {
                t.as_mut().reset(at);
                armed = Some(at);
                timer_waker = None;
            }
            // A timer fires at its deadline or later, and a pending one
            // keeps the waker it was polled with: before the deadline, and
            // with the same waker, a poll (which registers the waker
            // again) would change nothing.
            let same_waker = timer_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
            if same_waker && armed.is_some_and(|armed| now < armed) {
                return Poll::Pending;
            }
            if t.as_mut().poll(cx).is_pending() {
                if !same_waker {
                    timer_waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            armed = None;
            timer_waker = None;
            // The deadline acted on (`handle_timeout`) may have queued
            // output (a WebSocket ping): step and write again.
            fresh = true;
        }
    })
    .await
}

/// A transport that closes itself once its driver returned.
pub(crate) trait Close: Transport {
    /// Closes after `end` (`draining`: a server shutdown), waiting on `R`.
    fn close_after<R: Runtime>(
        &mut self,
        end: io::Result<End>,
        draining: bool,
    ) -> impl std::future::Future<Output = io::Result<()>> + Send;
}

/// What a connection that is idle or reads little reads at a time.
const SMALL_READ_BUFFER: usize = 2048;

/// The largest emptied output buffer an idle connection keeps (a few
/// answers' worth): with the two the core circulates (its output and its
/// spare, each at most what the transport handed it), an idle connection
/// holds at most three of these.
const IDLE_OUT_KEEP: usize = 256;

thread_local! {
    /// The buffer every connection of a thread reads into: what is read is
    /// copied into the connection's framer at once, so a connection holds
    /// no read buffer of its own (an idle one costs none).
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `read` on the thread's read buffer, cut to `len` bytes (on a
/// buffer of its own while the thread's is unavailable).
fn with_read_buffer<T>(len: usize, mut read: impl FnMut(&mut [u8]) -> T) -> T {
    let shared = READ_BUFFER.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        Some(read(buf.get_mut(..len).unwrap_or_default()))
    });
    match shared {
        Ok(Some(out)) => out,
        // The thread is ending, or its buffer is in use.
        _ => read(&mut vec![0; len]),
    }
}

/// A `futures-io` byte stream, newline-framed by the connection's framer.
pub(crate) struct ByteStream<IO> {
    io: Pin<Box<IO>>,
    /// How much to read at a time: from `SMALL_READ_BUFFER`, doubled while
    /// reads fill it, up to `max_buf`; back to small when idle.
    read_len: usize,
    max_buf: usize,
    /// Bytes read while the connection did not want input (to see EOF and
    /// errors of a paused connection); bounded by one read buffer.
    unwanted: usize,
    out: Vec<u8>,
    written: usize,
    unflushed: bool,
    /// The stream's read was pending in this poll of the task: it holds
    /// the waker, so it is not read again until the task is woken.
    blocked: bool,
}

impl<IO: AsyncRead + AsyncWrite> ByteStream<IO> {
    pub(crate) fn new(io: IO, read_buffer: usize) -> Self {
        let max_buf = read_buffer.max(1);
        Self {
            io: Box::pin(io),
            read_len: SMALL_READ_BUFFER.min(max_buf),
            max_buf,
            unwanted: 0,
            out: Vec::new(),
            written: 0,
            unflushed: false,
            blocked: false,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite> Transport for ByteStream<IO> {
    fn poll_read<C: Connection>(&mut self, cx: &mut Context<'_>, conn: &mut C) -> io::Result<Poll<Read>> {
        let wanted = conn.wants_input();
        if wanted {
            self.unwanted = 0;
        } else if self.unwanted >= self.max_buf {
            return Ok(Poll::Pending);
        }
        if self.blocked {
            return Ok(Poll::Pending);
        }
        let len = self.read_len;
        let (io, blocked) = (&mut self.io, &mut self.blocked);
        let mut n = 0;
        let read = with_read_buffer(len, |buf| {
            n = match io.as_mut().poll_read(cx, buf) {
                Poll::Ready(Ok(0)) => return Ok(Poll::Ready(Read::Eof)),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                    return Ok(Poll::Ready(Read::Data));
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => {
                    *blocked = true;
                    return Ok(Poll::Pending);
                }
            };
            // Cannot fail: input is only fed before EOF.
            let _ = conn.handle_input(buf.get(..n).unwrap_or_default());
            Ok(Poll::Ready(Read::Data))
        })?;
        if n == 0 {
            return Ok(read);
        }
        if !wanted {
            self.unwanted += n;
        }
        if n == len && len < self.max_buf {
            self.read_len = (len * 2).min(self.max_buf);
        }
        Ok(Poll::Ready(Read::Data))
    }

    fn poll_write<C: Connection>(&mut self, cx: &mut Context<'_>, conn: &mut C) -> io::Result<bool> {
        let mut progress = false;
        loop {
            if self.written == self.out.len() {
                self.out.clear();
                self.written = 0;
                // Taken only once the last is out, so the core's output
                // bound is what pauses a peer that does not read.
                if conn.poll_transmit(&mut self.out).is_none() {
                    break;
                }
                progress = true;
            }
            match self
                .io
                .as_mut()
                .poll_write(cx, self.out.get(self.written..).unwrap_or_default())
            {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.unflushed = true;
                    conn.handle_transmitted(n);
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => return Ok(progress),
            }
        }
        if self.unflushed {
            if let Poll::Ready(r) = self.io.as_mut().poll_flush(cx) {
                r?;
                self.unflushed = false;
            }
        }
        Ok(progress)
    }

    fn holds_output(&self) -> bool {
        self.written < self.out.len() || self.unflushed
    }

    fn woken(&mut self) {
        self.blocked = false;
    }

    fn on_idle(&mut self) {
        self.read_len = SMALL_READ_BUFFER.min(self.max_buf);
        // Nothing is held (see `holds_output`). A small emptied buffer is
        // kept: handed to the core with the next answers, it comes back as
        // the buffer the answer after them is written into, so a connection
        // answering one call at a time allocates and frees nothing per
        // answer. A larger one (a pipelined turn's) is given back.
        if self.out.capacity() > IDLE_OUT_KEEP {
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        self.written = 0;
    }
}

/// A byte stream shuts its write side down (the remote sees EOF) after a
/// clean end, best effort.
impl<IO: AsyncRead + AsyncWrite + Send> Close for ByteStream<IO> {
    async fn close_after<R: Runtime>(&mut self, end: io::Result<End>, _: bool) -> io::Result<()> {
        if end.is_ok() {
            let _ = poll_fn(|cx| self.io.as_mut().poll_close(cx)).await;
        }
        end.map(|_| ())
    }
}

/// How long a graceful close waits for the remote, at most.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(2);
