//! What the three state machines share: the framer, the outgoing queue and
//! its byte count, the input flags, and the connection's deadlines (the
//! rustls `ConnectionCommon` pattern). [`crate::conn::ServerConnection`],
//! [`crate::conn::ClientConnection`] and [`crate::conn::Peer`] each own one, so their
//! limits, names and lifecycle are the same by construction.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::UsageError;
use crate::framing::Framer;
use crate::limits::Limits;

#[derive(Debug)]
pub(crate) struct Shell<F> {
    pub(crate) framer: F,
    pub(crate) limits: Limits,
    out: VecDeque<Vec<u8>>,
    /// Bytes queued in `out`.
    out_bytes: usize,
    /// Bytes handed to the transport and not yet reported written.
    handed: usize,
    /// Whether the transport reports what it writes
    /// ([`Shell::handle_transmitted`]); until it does, only `out` counts as
    /// pending output.
    reports_writes: bool,
    pub(crate) eof: bool,
    pub(crate) input_closed: bool,
    timed_out: bool,
    /// Idle deadline length (`None` for a plain client, or when disabled).
    idle_timeout: Option<Duration>,
    /// Write-progress deadline length.
    write_timeout: Option<Duration>,
    /// Something happened since the last `handle_timeout`: a complete
    /// message, output taken or written, work finished.
    progress: bool,
    /// When progress was last seen (the idle deadline's base).
    last_progress: Option<Instant>,
    /// Output was written (or taken) since the last `handle_timeout`.
    wrote: bool,
    /// Since when output has been pending without being written.
    stalled_since: Option<Instant>,
}

impl<F: Framer> Shell<F> {
    pub(crate) fn new(framer: F, limits: Limits, idle: bool) -> Self {
        Self {
            framer,
            idle_timeout: if idle { limits.idle_timeout } else { None },
            write_timeout: limits.idle_timeout,
            limits,
            out: VecDeque::new(),
            out_bytes: 0,
            handed: 0,
            reports_writes: false,
            eof: false,
            input_closed: false,
            timed_out: false,
            progress: false,
            last_progress: None,
            wrote: false,
            stalled_since: None,
        }
    }

    pub(crate) fn set_idle_timeout(&mut self, idle: Option<Duration>) {
        self.idle_timeout = idle;
    }

    pub(crate) fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError> {
        if self.eof || self.timed_out {
            return Err(UsageError::Closed);
        }
        self.framer.push(bytes);
        Ok(())
    }

    pub(crate) fn handle_eof(&mut self) {
        if !self.eof {
            self.eof = true;
            self.framer.push_eof();
        }
    }

    /// Whether no more input will be read: EOF, closed input, an unframeable
    /// stream, or a deadline that closed the connection.
    pub(crate) fn input_ended(&self) -> bool {
        self.eof || self.input_closed || self.timed_out || self.framer.is_failed()
    }

    /// Whether input may still be fed and parsed.
    pub(crate) fn reading(&self) -> bool {
        !self.input_ended()
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// Marks activity for the idle deadline (a complete message, work done).
    pub(crate) fn note_progress(&mut self) {
        self.progress = true;
    }

    pub(crate) fn push_out(&mut self, message: Vec<u8>) {
        let framed = self.framer.encode_owned(message);
        self.out_bytes += framed.len();
        self.out.push_back(framed);
    }

    /// Whether the outgoing bytes (queued, and held by a transport that
    /// reports its writes) reached [`Limits::max_buffered_out`].
    pub(crate) fn out_full(&self) -> bool {
        self.buffered_out() >= self.limits.max_buffered_out
    }

    /// Outgoing bytes not yet accepted by the transport.
    pub(crate) fn buffered_out(&self) -> usize {
        self.out_bytes + if self.reports_writes { self.handed } else { 0 }
    }

    pub(crate) fn out_is_empty(&self) -> bool {
        self.out.is_empty() && !(self.reports_writes && self.handed > 0)
    }

    pub(crate) fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        if self.out.is_empty() {
            return None;
        }
        let start = buf.len();
        if buf.is_empty() && self.out.len() == 1 {
            // One frame into an empty buffer: hand over the allocation.
            if let Some(frame) = self.out.pop_front() {
                *buf = frame;
            }
        }
        for frame in self.out.drain(..) {
            buf.extend_from_slice(&frame);
        }
        self.out_bytes = 0;
        let n = buf.len() - start;
        self.handed = self.handed.saturating_add(n);
        self.progress = true;
        self.wrote = true;
        Some(n)
    }

    pub(crate) fn poll_transmit_message(&mut self) -> Option<Vec<u8>> {
        let frame = self.out.pop_front()?;
        self.out_bytes = self.out_bytes.saturating_sub(frame.len());
        self.handed = self.handed.saturating_add(frame.len());
        self.progress = true;
        self.wrote = true;
        Some(frame)
    }

    pub(crate) fn handle_transmitted(&mut self, bytes: usize) {
        self.reports_writes = true;
        self.handed = self.handed.saturating_sub(bytes);
        if bytes > 0 {
            self.progress = true;
            self.wrote = true;
        }
    }

    /// The next lifecycle deadline; `idle` is the owner's `is_idle()`.
    pub(crate) fn poll_timeout(&self, idle: bool) -> Option<Instant> {
        if self.timed_out {
            return None;
        }
        let idle_at = match (self.idle_timeout, self.last_progress) {
            (Some(limit), Some(base)) if idle => base.checked_add(limit),
            _ => None,
        };
        let stall_at = match (self.write_timeout, self.stalled_since) {
            (Some(limit), Some(since)) if !self.out_is_empty() => since.checked_add(limit),
            _ => None,
        };
        match (idle_at, stall_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Learns the time and closes the connection when a deadline passed;
    /// returns whether it did so now.
    pub(crate) fn handle_timeout(&mut self, now: Instant, idle: bool) -> bool {
        if self.timed_out {
            return false;
        }
        if std::mem::take(&mut self.progress) || self.last_progress.is_none() {
            self.last_progress = Some(now);
        }
        if self.out_is_empty() {
            self.stalled_since = None;
        } else if std::mem::take(&mut self.wrote) || self.stalled_since.is_none() {
            self.stalled_since = Some(now);
        }
        self.wrote = false;
        if self.poll_timeout(idle).is_some_and(|t| t <= now) {
            self.timed_out = true;
            return true;
        }
        false
    }
}
