//! How messages sit in a byte stream.
//!
//! A [`Framer`] cuts incoming bytes into frames (one JSON-RPC message each)
//! and wraps outgoing messages. Every framer has a maximum frame size and
//! never allocates what a peer merely declares.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::wire_log;

/// Writes the wire-log line of a frame that was cut (unless `quiet`), and
/// passes it on.
fn logged(frame: Option<Result<Bytes, ProtocolError>>, quiet: bool) -> Option<Result<Bytes, ProtocolError>> {
    if let Some(Ok(bytes)) = &frame {
        if !quiet {
            wire_log::received(bytes, None);
        }
    }
    frame
}

/// Cuts a byte stream into frames and wraps outgoing messages.
///
/// Feeding the same bytes split at any boundaries yields the same frames.
pub trait Framer {
    /// Appends bytes read from the transport.
    fn push(&mut self, bytes: &[u8]);

    /// Tells the framer that the input has ended.
    fn push_eof(&mut self);

    /// The next complete frame, or the report of a frame that was skipped.
    ///
    /// `None` means more input is needed (or, after EOF, that the stream is
    /// done). An `Err` is reported once per offending frame; unless
    /// [`Framer::is_failed`] says otherwise, framing continues after it.
    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>>;

    /// Appends `message`, framed, to `out`.
    fn encode(&self, message: &[u8], out: &mut Vec<u8>);

    /// Frames an owned message, reusing its allocation where the framing
    /// allows (a trailing newline, or nothing at all).
    fn encode_owned(&self, message: Vec<u8>) -> Vec<u8> {
        let mut framed = Vec::with_capacity(message.len() + 32);
        self.encode(&message, &mut framed);
        framed
    }

    /// Frames the message written at the end of `out`, from `start`, in
    /// place: what [`encode`](Self::encode) of `out[start..]` would have
    /// appended instead, so that a message can be written straight into
    /// the output. The default moves the message out and encodes it; a
    /// framer that only adds a suffix (or nothing) does it without a copy.
    ///
    /// ```
    /// use sansrpc::conn::{ContentLength, Framer, Newline};
    ///
    /// let mut out = b"{\"id\":1}\n".to_vec();
    /// let start = out.len();
    /// out.extend_from_slice(br#"{"id":2}"#);
    /// Newline::new(1024).encode_in_place(&mut out, start);
    /// assert_eq!(out, b"{\"id\":1}\n{\"id\":2}\n");
    ///
    /// let mut out = br#"{"id":3}"#.to_vec();
    /// ContentLength::new(1024).encode_in_place(&mut out, 0);
    /// assert_eq!(out, b"Content-Length: 8\r\n\r\n{\"id\":3}");
    /// ```
    fn encode_in_place(&self, out: &mut Vec<u8>, start: usize) {
        let message = out.split_off(start.min(out.len()));
        self.encode(&message, out);
    }

    /// Bytes currently held.
    fn buffered(&self) -> usize;

    /// The largest frame accepted.
    fn max_frame(&self) -> usize;

    /// Whether the stream can no longer be framed (a fatal error was
    /// reported); no further frames will be produced.
    fn is_failed(&self) -> bool {
        false
    }
}

/// After a line longer than this, an emptied buffer is released rather
/// than kept for the next line.
const RELEASE_AFTER: usize = 64 * 1024;

/// One JSON text per line, as in JSON Lines / NDJSON.
///
/// Lines end with `\n`; a trailing `\r` is removed; blank lines are
/// ignored. A line over the limit is reported once, as
/// [`ProtocolError::FrameTooLarge`], and skipped up to the next `\n` without
/// being buffered, so the stream survives. At EOF an unterminated last line
/// is still a frame.
///
/// ```
/// use sansrpc::conn::{Framer, Newline};
///
/// let mut f = Newline::new(1024);
/// f.push(b"{\"a\":1}\r\n\n{\"b\"");
/// f.push(b":2}\n");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"{\"a\":1}");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"{\"b\":2}");
/// assert!(f.next_frame().is_none());
/// ```
#[derive(Debug)]
pub struct Newline {
    buf: BytesMut,
    /// How far `buf` has been searched for `\n` already.
    scanned: usize,
    discarding: bool,
    /// Bytes of the over-long line discarded so far.
    discarded: u64,
    eof: bool,
    max: usize,
}

impl Newline {
    /// A newline framer accepting lines of at most `max_frame` bytes
    /// (without the line ending).
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanned: 0,
            discarding: false,
            discarded: 0,
            eof: false,
            max: max_frame,
        }
    }
}

/// The length of `line` without the trailing bytes [`trim_line`] removes;
/// 0 when it removes all (what is left after them cannot be blank: its
/// last byte is not a space, tab or line end).
fn trimmed_len(line: &[u8]) -> usize {
    let trailing = line
        .iter()
        .rev()
        .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        .count();
    line.len() - trailing
}

fn trim_line(mut line: Bytes) -> Option<Bytes> {
    while line
        .last()
        .is_some_and(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
    {
        line.truncate(line.len() - 1);
    }
    if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        None
    } else {
        Some(line)
    }
}

impl Framer for Newline {
    fn push(&mut self, mut bytes: &[u8]) {
        if self.discarding {
            match memchr::memchr(b'\n', bytes) {
                None => {
                    self.discarded = self.discarded.saturating_add(bytes.len() as u64);
                    return;
                }
                Some(i) => {
                    self.discarding = false;
                    self.discarded = 0;
                    bytes = bytes.get(i + 1..).unwrap_or_default();
                }
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    fn push_eof(&mut self) {
        self.eof = true;
    }

    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        logged(self.cut(), false)
    }

    fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        wire_log::sent(message, None);
        out.extend_from_slice(message);
        out.push(b'\n');
    }

    fn encode_owned(&self, mut message: Vec<u8>) -> Vec<u8> {
        wire_log::sent(&message, None);
        message.push(b'\n');
        message
    }

    fn encode_in_place(&self, out: &mut Vec<u8>, start: usize) {
        wire_log::sent(out.get(start..).unwrap_or_default(), None);
        out.push(b'\n');
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn max_frame(&self) -> usize {
        self.max
    }
}

impl Newline {
    fn cut(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        loop {
            if self.discarding {
                // Input arrived while discarding is handled in `push`; here
                // the buffer may still hold the rest of a long line.
                match memchr::memchr(b'\n', &self.buf) {
                    None => {
                        self.discarded = self.discarded.saturating_add(self.buf.len() as u64);
                        self.buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                    Some(i) => {
                        self.buf.advance(i + 1);
                        self.discarding = false;
                        self.discarded = 0;
                        self.scanned = 0;
                    }
                }
            }
            let from = self.scanned.min(self.buf.len());
            let found = self.buf.get(from..).and_then(|rest| memchr::memchr(b'\n', rest));
            match found {
                Some(i) => {
                    let end = from + i;
                    // `end` excludes the `\n`; a `\r` before it does not
                    // count. What `trim_line` keeps is measured on the
                    // buffer, so that only a frame is split off as `Bytes`.
                    let text = self.buf.get(..end).unwrap_or_default();
                    let len = if text.last() == Some(&b'\r') { end - 1 } else { end };
                    let kept = trimmed_len(text);
                    let frame = if len > self.max || kept == 0 {
                        self.buf.advance(end + 1);
                        None
                    } else {
                        let mut line = self.buf.split_to(end + 1).freeze();
                        line.truncate(kept);
                        Some(line)
                    };
                    self.scanned = 0;
                    if self.buf.is_empty() && end + 1 > RELEASE_AFTER {
                        // The empty rest still holds the large message's
                        // allocation: an idle connection gives it back.
                        self.buf = BytesMut::new();
                    }
                    if len > self.max {
                        return Some(Err(ProtocolError::FrameTooLarge {
                            len: len as u64,
                            limit: self.max,
                        }));
                    }
                    if let Some(frame) = frame {
                        return Some(Ok(frame));
                    }
                }
                None => {
                    self.scanned = self.buf.len();
                    // A trailing `\r` may still be followed by `\n`.
                    if self.buf.len() > self.max.saturating_add(1) {
                        let len = self.buf.len() as u64;
                        self.buf.clear();
                        self.scanned = 0;
                        if !self.eof {
                            self.discarding = true;
                            self.discarded = len;
                        }
                        return Some(Err(ProtocolError::FrameTooLarge { len, limit: self.max }));
                    }
                    if self.eof && !self.buf.is_empty() {
                        let line = self.buf.split().freeze();
                        self.scanned = 0;
                        if line.len() > self.max && line.last() != Some(&b'\r') {
                            return Some(Err(ProtocolError::FrameTooLarge {
                                len: line.len() as u64,
                                limit: self.max,
                            }));
                        }
                        if let Some(frame) = trim_line(line) {
                            return Some(Ok(frame));
                        }
                    }
                    return None;
                }
            }
        }
    }
}

/// The whole input is one message, as an HTTP body is.
///
/// The frame is produced at EOF. A body over the limit is reported once and
/// the rest of it is discarded, not buffered.
///
/// ```
/// use sansrpc::conn::{Body, Framer};
///
/// let mut f = Body::new(1024);
/// f.push(b"{\"jsonrpc\":");
/// assert!(f.next_frame().is_none());
/// f.push(b"\"2.0\"}");
/// f.push_eof();
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"{\"jsonrpc\":\"2.0\"}");
/// ```
#[derive(Debug)]
pub struct Body {
    buf: BytesMut,
    seen: u64,
    eof: bool,
    done: bool,
    max: usize,
    quiet: bool,
}

impl Body {
    /// A body framer accepting bodies of at most `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            seen: 0,
            eof: false,
            done: false,
            max: max_frame,
            quiet: false,
        }
    }

    /// The same framer, writing no `<--` [wire-log](crate::wire_log) line
    /// for the body it receives: for an adapter that logs the body itself
    /// with what only it knows (the HTTP client adds the status). What is
    /// sent is still logged.
    #[must_use]
    pub fn quiet_input(mut self) -> Self {
        self.quiet = true;
        self
    }
}

impl Framer for Body {
    fn push(&mut self, bytes: &[u8]) {
        if self.done {
            return;
        }
        self.seen = self.seen.saturating_add(bytes.len() as u64);
        if self.seen <= self.max as u64 {
            self.buf.extend_from_slice(bytes);
        } else {
            self.buf = BytesMut::new();
        }
    }

    fn push_eof(&mut self) {
        self.eof = true;
    }

    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        if self.done {
            return None;
        }
        if self.seen > self.max as u64 {
            self.done = true;
            return Some(Err(ProtocolError::FrameTooLarge {
                len: self.seen,
                limit: self.max,
            }));
        }
        if !self.eof {
            return None;
        }
        self.done = true;
        logged(Some(Ok(self.buf.split().freeze())), self.quiet)
    }

    fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        wire_log::sent(message, None);
        out.extend_from_slice(message);
    }

    fn encode_owned(&self, message: Vec<u8>) -> Vec<u8> {
        wire_log::sent(&message, None);
        message
    }

    fn encode_in_place(&self, out: &mut Vec<u8>, start: usize) {
        wire_log::sent(out.get(start..).unwrap_or_default(), None);
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn max_frame(&self) -> usize {
        self.max
    }
}

/// LSP-style framing: a header block with `Content-Length: N`, a blank
/// line, then exactly `N` bytes of message.
///
/// Other headers (such as `Content-Type`) are accepted and ignored. A
/// declared length over the limit is reported once and that many bytes are
/// skipped without being buffered, so the stream survives. A header block
/// that cannot be read (no `Content-Length`, a non-numeric one, a header
/// block over 8 KiB) is fatal: the framer reports
/// [`ProtocolError::BadHeader`] and produces nothing more.
///
/// ```
/// use sansrpc::conn::{ContentLength, Framer};
///
/// let mut f = ContentLength::new(1024);
/// f.push(b"Content-Length: 2\r\n\r\n{}Content-Length: 7\r\n\r\n[1,2,3]");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"{}");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"[1,2,3]");
/// let mut out = Vec::new();
/// f.encode(b"{}", &mut out);
/// assert_eq!(out, b"Content-Length: 2\r\n\r\n{}");
/// ```
#[derive(Debug)]
pub struct ContentLength {
    buf: BytesMut,
    /// The body length once a header block has been read.
    body_len: Option<usize>,
    /// Bytes still to skip of an over-long body.
    skip: u64,
    /// How far the buffer has been searched for the end of a header
    /// block, so bytes fed one at a time are each looked at a bounded
    /// number of times (as [`Newline`] does for its line end).
    header_scanned: usize,
    /// Bytes looked at in search of header ends, for the linearity test.
    #[cfg(test)]
    header_work: usize,
    failed: bool,
    eof: bool,
    pending: VecDeque<ProtocolError>,
    max: usize,
}

/// The longest header block accepted by [`ContentLength`].
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

impl ContentLength {
    /// A Content-Length framer accepting bodies of at most `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            body_len: None,
            skip: 0,
            header_scanned: 0,
            #[cfg(test)]
            header_work: 0,
            failed: false,
            eof: false,
            pending: VecDeque::new(),
            max: max_frame,
        }
    }

    fn fail(&mut self, why: &'static str) -> Option<Result<Bytes, ProtocolError>> {
        self.failed = true;
        self.buf = BytesMut::new();
        Some(Err(ProtocolError::BadHeader(why)))
    }

    fn skip_from_buf(&mut self) {
        let n = (self.buf.len() as u64).min(self.skip) as usize;
        self.buf.advance(n);
        self.skip -= n as u64;
    }
}

fn parse_header_block(block: &[u8]) -> Result<u64, &'static str> {
    let text = std::str::from_utf8(block).map_err(|_| "header is not UTF-8")?;
    let mut length = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or("header line without a colon")?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Content-Length is not a decimal number");
            }
            let n: u64 = value.parse().map_err(|_| "Content-Length is too large")?;
            if length.replace(n).is_some_and(|old| old != n) {
                return Err("conflicting Content-Length headers");
            }
        }
    }
    length.ok_or("missing Content-Length header")
}

impl Framer for ContentLength {
    fn push(&mut self, mut bytes: &[u8]) {
        if self.failed {
            return;
        }
        if self.skip > 0 && self.buf.is_empty() {
            let n = (bytes.len() as u64).min(self.skip) as usize;
            self.skip -= n as u64;
            bytes = bytes.get(n..).unwrap_or_default();
        }
        self.buf.extend_from_slice(bytes);
    }

    fn push_eof(&mut self) {
        self.eof = true;
    }

    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        logged(self.cut(), false)
    }

    fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        wire_log::sent(message, None);
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(message.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(message);
    }

    fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn max_frame(&self) -> usize {
        self.max
    }

    fn is_failed(&self) -> bool {
        self.failed
    }
}

impl ContentLength {
    fn cut(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        if let Some(e) = self.pending.pop_front() {
            return Some(Err(e));
        }
        if self.failed {
            return None;
        }
        loop {
            if self.skip > 0 {
                self.skip_from_buf();
                if self.skip > 0 {
                    return None;
                }
            }
            match self.body_len {
                Some(n) => {
                    if self.buf.len() < n {
                        if self.eof {
                            self.failed = true;
                            let missing = n - self.buf.len();
                            self.buf = BytesMut::new();
                            return Some(Err(ProtocolError::TruncatedFrame(missing)));
                        }
                        return None;
                    }
                    self.body_len = None;
                    return Some(Ok(self.buf.split_to(n).freeze()));
                }
                None => {
                    // A `\r\n\r\n` may straddle the old end: back up 3.
                    let from = self.header_scanned.saturating_sub(3).min(self.buf.len());
                    let unsearched = self.buf.get(from..).unwrap_or_default();
                    #[cfg(test)]
                    {
                        self.header_work += unsearched.len();
                    }
                    let end = unsearched
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|p| p + from);
                    let Some(end) = end else {
                        self.header_scanned = self.buf.len();
                        if self.buf.len() > MAX_HEADER_BYTES {
                            return self.fail("header block over 8 KiB");
                        }
                        if self.eof && !self.buf.is_empty() {
                            if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                                self.buf.clear();
                                self.header_scanned = 0;
                                return None;
                            }
                            return self.fail("stream ended inside a header block");
                        }
                        return None;
                    };
                    if end > MAX_HEADER_BYTES {
                        return self.fail("header block over 8 KiB");
                    }
                    self.header_scanned = 0;
                    let block = self.buf.split_to(end + 4);
                    // Tolerate blank lines between frames.
                    let start = block
                        .iter()
                        .position(|b| !b.is_ascii_whitespace())
                        .unwrap_or(block.len());
                    let header = block.get(start..end).unwrap_or_default();
                    let declared = match parse_header_block(header) {
                        Ok(n) => n,
                        Err(why) => return self.fail(why),
                    };
                    if declared > self.max as u64 {
                        self.skip = declared;
                        return Some(Err(ProtocolError::FrameTooLarge {
                            len: declared,
                            limit: self.max,
                        }));
                    }
                    // `declared <= max`, so it fits in usize.
                    self.body_len = Some(declared as usize);
                }
            }
        }
    }
}

/// Transports that carry whole messages (WebSocket text frames, datagrams):
/// each [`push`](Framer::push) is one complete frame, and outgoing
/// messages are not wrapped.
///
/// Pair it with `poll_transmit_message` on the state machines, which yields
/// one message at a time so each goes out in a frame of its own. A message
/// over the limit is reported (and dropped) as it arrives.
///
/// ```
/// use sansrpc::conn::{Framer, Messages};
///
/// let mut f = Messages::new(1024);
/// f.push(b"{\"a\":1}");
/// f.push(b"[]");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"{\"a\":1}");
/// assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"[]");
/// assert!(f.next_frame().is_none());
/// ```
#[derive(Debug)]
pub struct Messages {
    queue: VecDeque<Result<Bytes, ProtocolError>>,
    buffered: usize,
    max: usize,
}

impl Messages {
    /// A message framer accepting messages of at most `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            buffered: 0,
            max: max_frame,
        }
    }
}

impl Framer for Messages {
    fn push(&mut self, bytes: &[u8]) {
        if bytes.len() > self.max {
            self.queue.push_back(Err(ProtocolError::FrameTooLarge {
                len: bytes.len() as u64,
                limit: self.max,
            }));
        } else {
            self.buffered += bytes.len();
            self.queue.push_back(Ok(Bytes::copy_from_slice(bytes)));
        }
    }

    fn push_eof(&mut self) {}

    fn next_frame(&mut self) -> Option<Result<Bytes, ProtocolError>> {
        let next = self.queue.pop_front()?;
        if let Ok(b) = &next {
            self.buffered = self.buffered.saturating_sub(b.len());
        }
        logged(Some(next), false)
    }

    fn encode(&self, message: &[u8], out: &mut Vec<u8>) {
        wire_log::sent(message, None);
        out.extend_from_slice(message);
    }

    fn encode_owned(&self, message: Vec<u8>) -> Vec<u8> {
        wire_log::sent(&message, None);
        message
    }

    fn encode_in_place(&self, out: &mut Vec<u8>, start: usize) {
        wire_log::sent(out.get(start..).unwrap_or_default(), None);
    }

    fn buffered(&self) -> usize {
        self.buffered
    }

    fn max_frame(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(f: &mut dyn Framer) -> Vec<Result<Vec<u8>, ProtocolError>> {
        let mut v = Vec::new();
        while let Some(r) = f.next_frame() {
            // How much of an over-long line was seen depends on the split;
            // that it was reported (once) does not.
            v.push(r.map(|b| b.to_vec()).map_err(|e| match e {
                ProtocolError::FrameTooLarge { limit, .. } => ProtocolError::FrameTooLarge { len: 0, limit },
                e => e,
            }));
        }
        v
    }

    fn run_chunks(f: &mut dyn Framer, input: &[u8], cuts: &[usize]) -> Vec<Result<Vec<u8>, ProtocolError>> {
        let mut out = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts.into_iter().chain([input.len()]) {
            f.push(&input[at..c]);
            out.extend(frames(f));
            at = c;
        }
        f.push_eof();
        out.extend(frames(f));
        out
    }

    #[test]
    fn newline_releases_the_buffer_of_a_large_line() {
        let mut f = Newline::new(1 << 20);
        let mut line = vec![b' '; 100 * 1024];
        line[0] = b'1';
        line.push(b'\n');
        f.push(&line);
        let frame = f.next_frame().unwrap().unwrap();
        assert_eq!(&frame[..], b"1");
        assert_eq!(f.buf.capacity(), 0);
        // A small line keeps it for the next.
        f.push(b"2\n3");
        assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"2");
        assert!(f.buf.capacity() > 0);
        f.push(b"\n");
        assert_eq!(&f.next_frame().unwrap().unwrap()[..], b"3");
    }

    #[test]
    fn newline_vectors() {
        type V = (&'static [u8], &'static [&'static [u8]]);
        let table: &[V] = &[
            (b"a\nb\n", &[b"a", b"b"]),
            (b"a\r\nb\r\n", &[b"a", b"b"]),
            (b"\n\n  \r\na\n", &[b"a"]),
            (b"a", &[b"a"]),
            (b"a\nb", &[b"a", b"b"]),
            (b"", &[]),
        ];
        for (input, want) in table {
            let mut f = Newline::new(16);
            let got = run_chunks(&mut f, input, &[]);
            let want: Vec<_> = want.iter().map(|w| Ok(w.to_vec())).collect();
            assert_eq!(got, want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn newline_long_line_reported_once_and_skipped() {
        let mut f = Newline::new(4);
        f.push(b"ok\n0123456789");
        assert_eq!(f.next_frame(), Some(Ok(Bytes::from_static(b"ok"))));
        assert!(matches!(
            f.next_frame(),
            Some(Err(ProtocolError::FrameTooLarge { limit: 4, .. }))
        ));
        assert_eq!(f.next_frame(), None);
        f.push(b"more garbage without newline");
        assert_eq!(f.next_frame(), None);
        assert_eq!(f.buffered(), 0);
        f.push(b"tail\nnext\n");
        assert_eq!(f.next_frame(), Some(Ok(Bytes::from_static(b"next"))));
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn newline_exactly_at_limit() {
        let mut f = Newline::new(4);
        f.push(b"abcd\r\nabcde\n");
        assert_eq!(f.next_frame(), Some(Ok(Bytes::from_static(b"abcd"))));
        assert_eq!(
            f.next_frame(),
            Some(Err(ProtocolError::FrameTooLarge { len: 5, limit: 4 }))
        );
    }

    #[test]
    fn content_length_huge_declared_is_skipped_not_allocated() {
        let mut f = ContentLength::new(16);
        f.push(b"Content-Length: 10000000000\r\n\r\n");
        assert_eq!(
            f.next_frame(),
            Some(Err(ProtocolError::FrameTooLarge {
                len: 10_000_000_000,
                limit: 16
            }))
        );
        f.push(&[b'x'; 4096]);
        assert_eq!(f.next_frame(), None);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn content_length_skip_then_resume() {
        let mut f = ContentLength::new(4);
        f.push(
            b"Content-Length: 6\r\n\r\n123456Content-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
        );
        assert!(matches!(
            f.next_frame(),
            Some(Err(ProtocolError::FrameTooLarge { len: 6, .. }))
        ));
        assert_eq!(f.next_frame(), Some(Ok(Bytes::from_static(b"{}"))));
    }

    #[test]
    fn content_length_bad_headers_are_fatal() {
        for input in [
            &b"Content-Type: x\r\n\r\n"[..],
            b"Content-Length: -1\r\n\r\n",
            b"Content-Length: abc\r\n\r\n",
            b"garbage\r\n\r\n",
            b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
        ] {
            let mut f = ContentLength::new(16);
            f.push(input);
            assert!(
                matches!(f.next_frame(), Some(Err(ProtocolError::BadHeader(_)))),
                "{input:?}"
            );
            assert!(f.is_failed());
            f.push(b"Content-Length: 2\r\n\r\n{}");
            assert_eq!(f.next_frame(), None);
        }
    }

    #[test]
    fn content_length_header_flood_is_bounded() {
        let mut f = ContentLength::new(16);
        f.push(&vec![b'a'; MAX_HEADER_BYTES + 1]);
        assert!(matches!(f.next_frame(), Some(Err(ProtocolError::BadHeader(_)))));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn content_length_header_fed_byte_by_byte_is_scanned_once() {
        // An 8 KiB header block, then a body, one byte per push and a
        // `next_frame` after each: every byte is looked at a bounded number
        // of times (rescanning from the start would be ~33 million).
        let mut input = b"Content-Length: 2\r\n".to_vec();
        while input.len() < MAX_HEADER_BYTES - 100 {
            input.extend_from_slice(b"X-Padding: 0123456789abcdef0123456789abcdef\r\n");
        }
        input.extend_from_slice(b"\r\n{}");
        let mut f = ContentLength::new(16);
        let mut frames = Vec::new();
        for &b in &input {
            f.push(&[b]);
            while let Some(frame) = f.next_frame() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, [Ok(Bytes::from_static(b"{}"))]);
        assert!(
            f.header_work <= 4 * input.len(),
            "{} bytes looked at for a {}-byte header block",
            f.header_work,
            input.len()
        );
        // The same straddling a push boundary at every offset of the end.
        for cut in 1..4 {
            let mut f = ContentLength::new(16);
            let whole = b"Content-Length: 2\r\n\r\n{}";
            let at = whole.len() - 2 - cut;
            f.push(&whole[..at]);
            assert_eq!(f.next_frame(), None);
            f.push(&whole[at..]);
            assert_eq!(f.next_frame(), Some(Ok(Bytes::from_static(b"{}"))), "cut {cut}");
        }
    }

    #[test]
    fn content_length_truncated_at_eof() {
        let mut f = ContentLength::new(16);
        f.push(b"Content-Length: 5\r\n\r\n{}");
        f.push_eof();
        assert_eq!(f.next_frame(), Some(Err(ProtocolError::TruncatedFrame(3))));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn body_over_limit_reported_once() {
        let mut f = Body::new(4);
        f.push(b"12345");
        f.push(b"6789");
        assert_eq!(f.buffered(), 0);
        f.push_eof();
        assert_eq!(
            f.next_frame(),
            Some(Err(ProtocolError::FrameTooLarge { len: 9, limit: 4 }))
        );
        assert_eq!(f.next_frame(), None);
    }

    proptest! {
        /// The length the line framer keeps, measured in place, is what
        /// `trim_line` keeps of the same line (with its `\n`).
        #[test]
        fn trimmed_len_is_what_trim_line_keeps(
            line in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b' '), Just(b'\t'), Just(b'a')], 0..24),
        ) {
            let mut with_end = line.clone();
            with_end.push(b'\n');
            let want = trim_line(Bytes::from(with_end)).map_or(0, |l| l.len());
            prop_assert_eq!(trimmed_len(&line), want);
        }
    }

    fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'\n'),
                Just(b'\r'),
                Just(b' '),
                Just(b'{'),
                Just(b'}'),
                Just(b'a'),
                Just(b'1'),
            ],
            0..200,
        )
    }

    fn cl_stream() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8).prop_map(|bodies| {
            let f = ContentLength::new(24);
            let mut out = Vec::new();
            for b in bodies {
                f.encode(&b, &mut out);
            }
            out
        })
    }

    proptest! {
        #[test]
        fn newline_any_split_same_frames(input in arb_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
            let whole = run_chunks(&mut Newline::new(16), &input, &[]);
            let split = run_chunks(&mut Newline::new(16), &input, &cuts);
            let bytewise = run_chunks(&mut Newline::new(16), &input, &(0..input.len()).collect::<Vec<_>>());
            prop_assert_eq!(&whole, &split);
            prop_assert_eq!(&whole, &bytewise);
        }

        #[test]
        fn content_length_any_split_same_frames(input in cl_stream(), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
            let whole = run_chunks(&mut ContentLength::new(24), &input, &[]);
            let split = run_chunks(&mut ContentLength::new(24), &input, &cuts);
            prop_assert_eq!(&whole, &split);
        }

        #[test]
        fn body_any_split_same_frame(input in proptest::collection::vec(any::<u8>(), 0..64), cuts in proptest::collection::vec(any::<usize>(), 0..12)) {
            let whole = run_chunks(&mut Body::new(32), &input, &[]);
            let split = run_chunks(&mut Body::new(32), &input, &cuts);
            prop_assert_eq!(&whole, &split);
        }
    }
}
