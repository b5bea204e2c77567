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

/// The largest emptied message buffer a connection keeps for its next
/// answer.
const SPARE_KEEP: usize = 4 * 1024;

/// The largest emptied output buffer a connection keeps (one handed back by
/// the transport in [`Shell::poll_transmit`]).
const OUT_KEEP: usize = 16 * 1024;

#[derive(Debug)]
pub(crate) struct Shell<F> {
    pub(crate) framer: F,
    pub(crate) limits: Limits,
    /// The framed outgoing messages, in order, one after the other from
    /// `out_start` (what [`Shell::poll_transmit_message`] already took
    /// lies before it): one buffer, reused, so that an answer costs no
    /// allocation of its own.
    out: Vec<u8>,
    /// Where the untaken output starts in `out`.
    out_start: usize,
    /// The framed length of each message in `out` from `out_start`, for
    /// [`Shell::poll_transmit_message`].
    frames: VecDeque<usize>,
    /// Bytes queued in `out` (from `out_start`).
    out_bytes: usize,
    /// An emptied message buffer kept for the next answer
    /// ([`Shell::take_spare`]).
    spare: Vec<u8>,
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
            out: Vec::new(),
            out_start: 0,
            frames: VecDeque::new(),
            out_bytes: 0,
            spare: Vec::new(),
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

    /// Queues `message`, framed; its buffer is kept for the next answer
    /// ([`Shell::take_spare`]) when it is small.
    pub(crate) fn push_out(&mut self, message: Vec<u8>) {
        if self.frames.is_empty() {
            // Nothing queued: the message's own buffer becomes the output
            // (no copy), and the output's emptied one the spare.
            let framed = self.framer.encode_owned(message);
            self.out_start = 0;
            self.out_bytes = framed.len();
            self.frames.clear();
            self.frames.push_back(framed.len());
            let old = std::mem::replace(&mut self.out, framed);
            self.recycle(old);
            return;
        }
        self.push_frame(&message);
        self.recycle(message);
    }

    /// Queues a copy of `message`, framed.
    pub(crate) fn push_frame(&mut self, message: &[u8]) {
        if self.frames.is_empty() {
            self.out.clear();
            self.out_start = 0;
        }
        let start = self.out.len();
        self.framer.encode(message, &mut self.out);
        let framed = self.out.len() - start;
        self.out_bytes += framed;
        self.frames.push_back(framed);
    }

    /// The output buffer, for one message to be written at its end and
    /// then framed in place by [`Shell::frame_written`] (with the length
    /// it had here as `start`); what is written is not output until then.
    pub(crate) fn out_to_write(&mut self) -> &mut Vec<u8> {
        if self.frames.is_empty() {
            self.out.clear();
            self.out_start = 0;
        }
        &mut self.out
    }

    /// Queues the message written into [`Shell::out_to_write`] from
    /// `start`, framed in place: no buffer of its own, no copy.
    pub(crate) fn frame_written(&mut self, start: usize) {
        let start = start.min(self.out.len());
        self.framer.encode_in_place(&mut self.out, start);
        let framed = self.out.len() - start;
        self.out_bytes += framed;
        self.frames.push_back(framed);
    }

    /// Keeps `buf`, emptied, for the next answer unless it is large.
    fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() <= SPARE_KEEP && buf.capacity() > self.spare.capacity() {
            buf.clear();
            self.spare = buf;
        }
    }

    /// An empty buffer to write the next outgoing message into (one kept
    /// from an earlier message when there is one); give it back with
    /// [`Shell::push_out`].
    pub(crate) fn take_spare(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.spare)
    }

    /// Gives back a buffer from [`Shell::take_spare`] that was not used.
    pub(crate) fn put_spare(&mut self, buf: Vec<u8>) {
        self.recycle(buf);
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
        self.frames.is_empty() && !(self.reports_writes && self.handed > 0)
    }

    pub(crate) fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        let n = self.out_bytes;
        if buf.is_empty() && self.out_start == 0 {
            // Hand over the whole buffer, and keep the caller's (emptied)
            // for the next output: no copy, no allocation.
            std::mem::swap(buf, &mut self.out);
            if self.out.capacity() > OUT_KEEP {
                self.out = Vec::new();
            }
        } else {
            buf.extend_from_slice(self.out.get(self.out_start..).unwrap_or_default());
        }
        self.out.clear();
        self.out_start = 0;
        self.frames.clear();
        self.out_bytes = 0;
        self.handed = self.handed.saturating_add(n);
        self.progress = true;
        self.wrote = true;
        Some(n)
    }

    pub(crate) fn poll_transmit_message(&mut self) -> Option<Vec<u8>> {
        let len = self.frames.pop_front()?;
        let frame = if self.frames.is_empty() && self.out_start == 0 {
            std::mem::take(&mut self.out)
        } else {
            let end = self.out_start.saturating_add(len);
            let frame = self.out.get(self.out_start..end).unwrap_or_default().to_vec();
            self.out_start = end;
            frame
        };
        if self.frames.is_empty() {
            self.out.clear();
            self.out_start = 0;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{ContentLength, Messages, Newline};

    #[test]
    fn frames_come_out_whole_and_in_order_either_way() {
        let mut shell = Shell::new(Messages::new(1 << 20), Limits::default(), true);
        shell.push_out(b"{\"a\":1}".to_vec());
        shell.push_frame(b"[]");
        shell.push_out(vec![b'x'; 10_000]);
        assert_eq!(shell.buffered_out(), 7 + 2 + 10_000);
        assert_eq!(shell.poll_transmit_message().unwrap(), b"{\"a\":1}");
        assert_eq!(shell.buffered_out(), 2 + 10_000);
        // The rest, taken as bytes after one message was taken alone.
        let mut buf = b"held".to_vec();
        assert_eq!(shell.poll_transmit(&mut buf), Some(10_002));
        assert_eq!(buf.len(), 4 + 10_002);
        assert_eq!(&buf[..6], b"held[]");
        assert!(shell.out_is_empty());
        assert!(shell.poll_transmit_message().is_none());
        assert_eq!(shell.poll_transmit(&mut buf), None);

        // A large first message, then small ones, one by one.
        shell.push_out(vec![b'y'; 5_000]);
        shell.push_frame(b"1");
        shell.push_frame(b"2");
        assert_eq!(shell.poll_transmit_message().unwrap(), vec![b'y'; 5_000]);
        assert_eq!(shell.poll_transmit_message().unwrap(), b"1");
        assert_eq!(shell.poll_transmit_message().unwrap(), b"2");
        assert!(shell.poll_transmit_message().is_none());
        assert!(shell.out_is_empty());
    }

    #[test]
    fn an_empty_frame_still_counts_as_output() {
        let mut shell = Shell::new(Messages::new(1024), Limits::default(), true);
        shell.push_frame(b"");
        assert!(!shell.out_is_empty());
        let mut buf = Vec::new();
        assert_eq!(shell.poll_transmit(&mut buf), Some(0));
        assert!(shell.out_is_empty());
    }

    #[test]
    fn byte_streams_get_every_frame_framed() {
        let mut shell = Shell::new(Newline::new(1024), Limits::default(), true);
        let mut buf = Vec::new();
        for round in 0..3 {
            let mut m = shell.take_spare();
            m.extend_from_slice(format!("{{\"n\":{round}}}").as_bytes());
            shell.push_out(m);
            shell.push_frame(b"[]");
            buf.clear();
            assert_eq!(shell.poll_transmit(&mut buf), Some(buf.len()));
            assert_eq!(buf, format!("{{\"n\":{round}}}\n[]\n").as_bytes());
        }
        let mut shell = Shell::new(ContentLength::new(1024), Limits::default(), true);
        shell.push_out(b"{}".to_vec());
        shell.push_out(b"[1]".to_vec());
        let mut buf = Vec::new();
        shell.poll_transmit(&mut buf);
        assert_eq!(buf, b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\n\r\n[1]");
    }
}
