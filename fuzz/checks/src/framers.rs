//! Target `framers`: every framer fed the same bytes in arbitrary chunks.
//!
//! Asserts, for `Newline`, `ContentLength` and `Body`:
//! - any split of the input (one push, the fuzzer's chunks with or without
//!   polling between them, byte by byte) gives the same frames and errors
//!   (the `len` of a `FrameTooLarge` from `Newline`/`Body` is how much was
//!   seen, which depends on the split, so it is compared as 0);
//! - no frame is longer than `max_frame`; a failed framer holds nothing and
//!   yields nothing more;
//! - memory: after polling to `None`, `buffered()` is at most `max + 1`
//!   (Newline: a trailing `\r` may wait for its `\n`), `max(max, 8 KiB)`
//!   (ContentLength: a partial body or a header block) or `max` (Body, at
//!   all times); between drains it grows by at most what was pushed;
//! - `Newline` and `Body` against a tiny reference model of the whole
//!   input; `ContentLength` round-trips bodies written with its own
//!   `encode` (the stream cut at every `0xFF` into bodies).

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use sansrpc::ProtocolError;
use sansrpc::conn::{ContentLength, Framer, MAX_HEADER_BYTES};

use crate::{Case, FramerKind};

/// Frame limits the configuration byte picks from (`config / 3`).
const MAX_FRAMES: [usize; 6] = [16, 1, 0, 64, 300, 9000];

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Chunk {
    len: u8,
    poll: bool,
}

type Item = Result<Vec<u8>, ProtocolError>;

fn normalize(kind: FramerKind, r: Result<Bytes, ProtocolError>) -> Item {
    match r {
        Ok(b) => Ok(b.to_vec()),
        Err(ProtocolError::FrameTooLarge { limit, .. }) if kind != FramerKind::ContentLength => {
            Err(ProtocolError::FrameTooLarge { len: 0, limit })
        }
        Err(e) => Err(e),
    }
}

/// The most a framer may hold right after `next_frame` returned `None`.
fn drained_bound(kind: FramerKind, max: usize) -> usize {
    match kind {
        FramerKind::Newline => max + 1,
        FramerKind::ContentLength => max.max(MAX_HEADER_BYTES),
        FramerKind::Body => max,
    }
}

struct Run {
    kind: FramerKind,
    max: usize,
    f: Box<dyn Framer>,
    out: Vec<Item>,
    since_drain: usize,
}

impl Run {
    fn new(kind: FramerKind, max: usize) -> Self {
        Self {
            kind,
            max,
            f: kind.make(max),
            out: Vec::new(),
            since_drain: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.f.push(bytes);
        self.since_drain += bytes.len();
        self.check_memory();
    }

    fn check_memory(&self) {
        let held = self.f.buffered();
        let bound = drained_bound(self.kind, self.max) + self.since_drain;
        assert!(
            held <= bound,
            "{:?} holds {held} bytes, bound {bound} (max {})",
            self.kind,
            self.max
        );
        if self.kind == FramerKind::Body {
            assert!(held <= self.max, "Body holds {held} > max {}", self.max);
        }
    }

    fn drain(&mut self) {
        let mut n = 0;
        while let Some(r) = self.f.next_frame() {
            if let Ok(frame) = &r {
                assert!(
                    frame.len() <= self.max,
                    "{:?} frame of {} > max {}",
                    self.kind,
                    frame.len(),
                    self.max
                );
            }
            self.out.push(normalize(self.kind, r));
            n += 1;
            assert!(n < 1_000_000, "next_frame never returns None");
        }
        self.since_drain = 0;
        self.check_memory();
        if self.f.is_failed() {
            let truncated = matches!(self.out.last(), Some(Err(ProtocolError::TruncatedFrame(_))));
            if !(truncated && crate::open_bug("content-length-truncated-keeps-buffer")) {
                assert_eq!(self.f.buffered(), 0, "a failed framer still holds bytes");
            }
        }
    }

    fn finish(mut self) -> Vec<Item> {
        self.f.push_eof();
        self.drain();
        assert!(self.f.next_frame().is_none(), "frames after the end");
        if self.f.is_failed() {
            self.f.push(b"Content-Length: 2\r\n\r\n{}\n");
            assert!(self.f.next_frame().is_none(), "a failed framer produced a frame");
        }
        self.out
    }
}

fn run_whole(kind: FramerKind, max: usize, input: &[u8]) -> Vec<Item> {
    let mut r = Run::new(kind, max);
    r.push(input);
    r.drain();
    r.finish()
}

fn run_chunks(kind: FramerKind, max: usize, input: &[u8], chunks: &[Chunk]) -> Vec<Item> {
    let mut r = Run::new(kind, max);
    let mut rest = input;
    for c in chunks {
        let (now, later) = rest.split_at(usize::from(c.len).min(rest.len()));
        r.push(now);
        if c.poll {
            r.drain();
        }
        rest = later;
    }
    r.push(rest);
    r.drain();
    r.finish()
}

fn run_bytewise(kind: FramerKind, max: usize, input: &[u8]) -> Vec<Item> {
    let mut r = Run::new(kind, max);
    for b in input {
        r.push(std::slice::from_ref(b));
        r.drain();
    }
    r.finish()
}

/// The reference for `Newline`: split at `\n`; a line's length excludes one
/// trailing `\r`; over `max` is an error; else trailing `\r`, `\n`, space
/// and tab are trimmed and blank lines dropped. An unterminated last line
/// counts at EOF.
fn newline_model(input: &[u8], max: usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let last = lines.pop().unwrap_or_default();
    if !last.is_empty() {
        lines.push(last);
    }
    for line in lines {
        let len = line.len() - usize::from(line.ends_with(b"\r"));
        if len > max {
            out.push(Err(ProtocolError::FrameTooLarge { len: 0, limit: max }));
            continue;
        }
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b'\r' | b'\n' | b' ' | b'\t') {
            end -= 1;
        }
        let trimmed = &line[..end];
        if !trimmed.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            out.push(Ok(trimmed.to_vec()));
        }
    }
    out
}

fn body_model(input: &[u8], max: usize) -> Vec<Item> {
    if input.len() > max {
        vec![Err(ProtocolError::FrameTooLarge { len: 0, limit: max })]
    } else {
        vec![Ok(input.to_vec())]
    }
}

/// Runs the `framers` target on one input.
pub fn check(data: &[u8]) {
    let case = Case::split(data);
    let max = MAX_FRAMES[usize::from(case.config / 3) % MAX_FRAMES.len()];
    let chunks: Vec<Chunk> = Vec::arbitrary_take_rest(Unstructured::new(case.ops)).unwrap_or_default();
    let input = case.stream;

    for kind in FramerKind::ALL {
        let whole = run_whole(kind, max, input);
        let split = run_chunks(kind, max, input, &chunks);
        assert_eq!(
            whole, split,
            "{kind:?} (max {max}): chunked input gave other frames"
        );
        if input.len() <= 2048 {
            let bytewise = run_bytewise(kind, max, input);
            assert_eq!(
                whole, bytewise,
                "{kind:?} (max {max}): byte-by-byte input gave other frames"
            );
        }
        match kind {
            FramerKind::Newline => {
                assert_eq!(
                    whole,
                    newline_model(input, max),
                    "Newline (max {max}) differs from the model"
                );
                for frame in whole.iter().flatten() {
                    assert!(!frame.contains(&b'\n'), "Newline frame holds a newline");
                }
            }
            FramerKind::Body => {
                assert_eq!(
                    whole,
                    body_model(input, max),
                    "Body (max {max}) differs from the model"
                );
            }
            FramerKind::ContentLength => {}
        }
    }

    // ContentLength round trip: bodies cut at 0xFF, each written with
    // `encode`, must come back one by one (over-long ones as errors).
    let bodies: Vec<&[u8]> = if input.is_empty() {
        Vec::new()
    } else {
        input.split(|&b| b == 0xFF).collect()
    };
    let enc = ContentLength::new(max);
    let mut stream = Vec::new();
    let mut want = Vec::new();
    for b in &bodies {
        enc.encode(b, &mut stream);
        want.push(if b.len() > max {
            Err(ProtocolError::FrameTooLarge {
                len: b.len() as u64,
                limit: max,
            })
        } else {
            Ok(b.to_vec())
        });
    }
    let got = run_chunks(FramerKind::ContentLength, max, &stream, &chunks);
    assert_eq!(got, want, "ContentLength (max {max}) lost its own encoding");
}
