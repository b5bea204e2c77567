//! Target `client`: a `ClientConnection` driven by an arbitrary sequence of
//! calls, notifications and batches, arbitrary responses to them (right,
//! duplicate, late, stray id, `null`-id errors, garbage, and raw bytes
//! from the input), timeouts and EOF; then EOF and draining.
//!
//! Asserts:
//! - every call ends in exactly one of `Response`, `TimedOut`, `Closed`,
//!   only for ids the client allocated; after EOF and draining, all did;
//! - a `Response` with a result carries the result sent *for that id*
//!   (results and error data name the id they answer), so no answer is
//!   ever given to another call;
//! - `TimedOut` only for a deadline at or before the time passed in; after
//!   `handle_timeout(now)`, `poll_timeout()` is later than `now` or `None`
//!   and always the earliest deadline of the calls still pending;
//! - `in_flight()` equals the calls not yet ended and never exceeds
//!   `max_in_flight`; `TooManyInFlight` exactly when a call would exceed
//!   it; `EmptyBatch` for an empty batch; `Closed` for sending after EOF;
//! - every transmitted frame parses as the request, notification or batch
//!   that was made, with the ids that were returned, in order;
//! - the framer inside stays within its drained bound;
//! - all of it in each [`Version`]: under `V1` the requests are written
//!   and read back in 1.0 form, the replies are 1.0 responses and a batch
//!   is refused with `BatchInV1`; under `Auto` the requests are 2.0 and the
//!   single replies alternate between 1.0 and 2.0 form.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use sansrpc::conn::{ClientConnection, ClientEvent, Framer};
use sansrpc::wire::{Accept, Incoming, Message, parse_message};
use sansrpc::{BatchEntry, Id, Limits, RawParams, UsageError, Version};
use serde_json::Value;

use crate::spy::Spy;
use crate::{Case, FramerKind, frames_of};

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Call { method: u8, deadline: Option<u8> },
    Notify { method: u8 },
    Batch { calls: Vec<bool>, deadline: Option<u8> },
    Transmit,
    Answer { pick: u8, reply: Reply },
    AnswerBatch { picks: Vec<(u8, Reply)> },
    Deliver(u8),
    Raw(u8),
    Eof,
    Advance(u8),
    Poll(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Reply {
    Result,
    Error(i16),
    NullError,
    StrayId(u16),
    Garbage,
}

fn reply_text(id: &str, reply: Reply, v1: bool) -> String {
    if v1 {
        return match reply {
            Reply::Result => format!(r#"{{"result":{{"for":{id}}},"error":null,"id":{id}}}"#),
            Reply::Error(code) => format!(
                r#"{{"result":null,"error":{{"code":{code},"message":"no","data":{{"for":{id}}}}},"id":{id}}}"#
            ),
            Reply::NullError => {
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request"},"id":null}"#.into()
            }
            Reply::StrayId(n) => reply_text(&(u64::from(n) + 1_000_000).to_string(), Reply::Result, true),
            Reply::Garbage => r#"{"result":1,"error":{},"id":"#.into(),
        };
    }
    match reply {
        Reply::Result => format!(r#"{{"jsonrpc":"2.0","result":{{"for":{id}}},"id":{id}}}"#),
        Reply::Error(code) => format!(
            r#"{{"jsonrpc":"2.0","error":{{"code":{code},"message":"no","data":{{"for":{id}}}}},"id":{id}}}"#
        ),
        Reply::NullError => {
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#.into()
        }
        Reply::StrayId(n) => reply_text(&(u64::from(n) + 1_000_000).to_string(), Reply::Result, false),
        Reply::Garbage => r#"{"jsonrpc":"2.0","result":1,"error":{},"id":"#.into(),
    }
}

fn limits_for(config: u8) -> Limits {
    let (msg, in_flight) = match (config / 3) % 3 {
        0 => (4096, 8),
        1 => (96, 2),
        _ => (65536, 128),
    };
    Limits {
        max_message_bytes: msg,
        max_in_flight: in_flight,
        ..Limits::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Response,
    TimedOut,
    Closed,
}

struct Driver<'a> {
    kind: FramerKind,
    limits: Limits,
    conn: ClientConnection<Spy>,
    held: Rc<Cell<usize>>,
    encoder: Box<dyn Framer>,
    raw: &'a [u8],
    raw_pos: usize,
    replies: Vec<u8>,
    reply_pos: usize,
    eof: bool,
    base: Instant,
    now: Instant,
    ids: Vec<String>,
    deadlines: HashMap<String, Option<Instant>>,
    ended: HashMap<String, End>,
    sent: Vec<Vec<(Option<String>, String)>>,
    out: Vec<u8>,
    fed: Vec<u8>,
}

impl<'a> Driver<'a> {
    fn new(kind: FramerKind, limits: Limits, raw: &'a [u8]) -> Self {
        let (spy, held) = Spy::new(kind.make(limits.max_message_bytes));
        let base = Instant::now();
        Self {
            kind,
            conn: ClientConnection::new(spy, limits.clone()),
            limits,
            held,
            encoder: kind.make(usize::MAX / 2),
            raw,
            raw_pos: 0,
            replies: Vec::new(),
            reply_pos: 0,
            eof: false,
            base,
            now: base,
            ids: Vec::new(),
            deadlines: HashMap::new(),
            ended: HashMap::new(),
            sent: Vec::new(),
            out: Vec::new(),
            fed: Vec::new(),
        }
    }

    fn deadline(&self, d: Option<u8>) -> Option<Instant> {
        d.map(|ms| self.base + Duration::from_millis(u64::from(ms)))
    }

    fn pending(&self) -> impl Iterator<Item = &String> {
        self.ids.iter().filter(|id| !self.ended.contains_key(*id))
    }

    fn expect_send<T: std::fmt::Debug>(
        &self,
        before: usize,
        r: &Result<T, UsageError>,
        calls: usize,
    ) -> bool {
        if self.eof {
            assert!(
                matches!(r, Err(UsageError::Closed)),
                "sending after EOF gave {r:?}"
            );
            return false;
        }
        if matches!(r, Err(UsageError::Closed)) && self.input_failed() {
            // The input can no longer be framed: the connection closed,
            // which comes before any limit.
            return false;
        }
        if before + calls > self.limits.max_in_flight {
            assert!(
                matches!(r, Err(UsageError::TooManyInFlight(_))),
                "over max_in_flight gave {r:?}"
            );
            return false;
        }
        assert!(r.is_ok(), "send failed: {r:?}");
        true
    }

    fn register(&mut self, id: &Id, deadline: Option<Instant>) -> String {
        let id = id.as_json().to_owned();
        assert!(!self.deadlines.contains_key(&id), "id {id} allocated twice");
        self.ids.push(id.clone());
        self.deadlines.insert(id.clone(), deadline);
        id
    }

    fn feed(&mut self, bytes: Vec<u8>) {
        let r = self.conn.handle_input(&bytes);
        if self.eof {
            assert_eq!(r, Err(UsageError::Closed));
        } else {
            assert_eq!(r, Ok(()));
            self.fed.extend_from_slice(&bytes);
        }
    }

    fn end(&mut self, id: &Id, how: End) {
        let id = id.as_json().to_owned();
        assert!(
            self.deadlines.contains_key(&id),
            "{how:?} for id {id}, never allocated"
        );
        if let Some(prev) = self.ended.insert(id.clone(), how) {
            panic!("id {id} ended twice: {prev:?}, then {how:?}");
        }
    }

    fn poll(&mut self, n: usize) {
        let mut got = 0;
        while got < n {
            let Some(event) = self.conn.poll_event() else {
                self.in_sync();
                return;
            };
            match event {
                ClientEvent::Response(r) => {
                    self.end(&r.id, End::Response);
                    let named = match &r.outcome {
                        Ok(result) => Some(result.get().to_owned()),
                        Err(e) => e.data().map(|d| d.get().to_owned()),
                    };
                    if let Some(text) = named {
                        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        // Raw input bytes may answer anything; our own
                        // replies name the id they answer.
                        if let Some(f) = v.get("for") {
                            assert_eq!(
                                f.to_string(),
                                r.id.as_json(),
                                "call {} got another call's answer",
                                r.id
                            );
                        }
                    }
                }
                ClientEvent::TimedOut { id } => {
                    let deadline = self.deadlines.get(id.as_json()).copied().flatten();
                    assert!(
                        deadline.is_some_and(|d| d <= self.now),
                        "{id} timed out with deadline {deadline:?}"
                    );
                    self.end(&id, End::TimedOut);
                }
                ClientEvent::Closed { id } => {
                    assert!(
                        self.eof || self.input_failed(),
                        "{id} closed before the input ended"
                    );
                    self.end(&id, End::Closed);
                }
                ClientEvent::Unexpected(_) => {}
                other => panic!("unknown event {other:?}"),
            }
            got += 1;
        }
    }

    /// Whether the input fed so far can no longer be framed.
    fn input_failed(&self) -> bool {
        let mut f = self.kind.make(self.limits.max_message_bytes);
        f.push(&self.fed);
        while f.next_frame().is_some() {}
        f.is_failed()
    }

    /// After `poll_event` returned `None` the event queue is empty, so the
    /// model and the connection must agree.
    fn in_sync(&mut self) {
        let pending: Vec<String> = self.pending().cloned().collect();
        assert_eq!(
            self.conn.in_flight(),
            pending.len(),
            "in_flight disagrees with calls not ended"
        );
        assert!(self.conn.in_flight() <= self.limits.max_in_flight);
        let earliest = pending.iter().filter_map(|id| self.deadlines[id]).min();
        // The connection may also hold a lifecycle deadline of its own (the
        // write-progress deadline while output waits), so `poll_timeout` is
        // at most the earliest call deadline, and present whenever one is.
        match (self.conn.poll_timeout(), earliest) {
            (_, None) => {}
            (Some(next), Some(call)) => assert!(next <= call, "poll_timeout is after a call's deadline"),
            (None, Some(_)) => panic!("poll_timeout misses a call's deadline"),
        }
        if self.conn.wants_input() {
            let bound = crate::server::drained_bound(self.kind, self.limits.max_message_bytes);
            assert!(
                self.held.get() <= bound,
                "drained framer holds {} > {bound}",
                self.held.get()
            );
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Call { method, deadline } => {
                let d = self.deadline(deadline);
                let before = self.conn.in_flight();
                let r = self.conn.call(
                    &format!("m{method}"),
                    RawParams::from_json("[1]").unwrap_or_default(),
                    d,
                );
                if self.expect_send(before, &r, 1) {
                    if let Ok(id) = &r {
                        let id = self.register(id, d);
                        self.sent.push(vec![(Some(id), format!("m{method}"))]);
                    }
                }
            }
            Op::Notify { method } => {
                let before = self.conn.in_flight();
                let r = self.conn.notify(&format!("n{method}"), RawParams::none());
                if self.expect_send(before, &r, 0) {
                    self.sent.push(vec![(None, format!("n{method}"))]);
                }
            }
            Op::Batch { calls, deadline } => {
                let calls: Vec<bool> = calls.into_iter().take(8).collect();
                let d = self.deadline(deadline);
                let entries = calls.iter().enumerate().map(|(i, &c)| {
                    if c {
                        BatchEntry::call(format!("b{i}"), RawParams::none())
                    } else {
                        BatchEntry::notification(format!("b{i}"), RawParams::none())
                    }
                });
                let before = self.conn.in_flight();
                let r = self.conn.batch(entries, d);
                if self.limits.version == Version::V1 {
                    let closed = r == Err(UsageError::Closed) && (self.eof || self.input_failed());
                    assert!(
                        closed || r == Err(UsageError::BatchInV1),
                        "a 1.0 batch gave {r:?}"
                    );
                } else if calls.is_empty() && !self.eof {
                    let closed = r == Err(UsageError::Closed) && self.input_failed();
                    assert!(
                        closed || r == Err(UsageError::EmptyBatch),
                        "empty batch gave {r:?}"
                    );
                } else if self.expect_send(before, &r, calls.iter().filter(|c| **c).count()) {
                    let ids = r.unwrap_or_default();
                    assert_eq!(ids.len(), calls.len());
                    let mut msg = Vec::new();
                    for (i, (id, c)) in ids.iter().zip(&calls).enumerate() {
                        assert_eq!(id.is_some(), *c, "batch ids do not match the entries");
                        let id = id.as_ref().map(|id| self.register(id, d));
                        msg.push((id, format!("b{i}")));
                    }
                    self.sent.push(msg);
                }
            }
            Op::Transmit => {
                self.conn.poll_transmit(&mut self.out);
            }
            Op::Answer { pick, reply } => {
                let id = self
                    .ids
                    .get(usize::from(pick) % self.ids.len().max(1))
                    .cloned()
                    .unwrap_or("1".into());
                let v1 = match self.limits.version {
                    Version::V1 => true,
                    Version::Auto => pick % 2 == 1,
                    _ => false,
                };
                self.encoder
                    .encode(reply_text(&id, reply, v1).as_bytes(), &mut self.replies);
            }
            Op::AnswerBatch { picks } => {
                let texts: Vec<String> = picks
                    .into_iter()
                    .take(8)
                    .map(|(pick, reply)| {
                        let id = self
                            .ids
                            .get(usize::from(pick) % self.ids.len().max(1))
                            .cloned()
                            .unwrap_or("1".into());
                        // Arrays are 2.0 batches (under V1 they are refused).
                        reply_text(&id, reply, false)
                    })
                    .collect();
                let text = format!("[{}]", texts.join(","));
                self.encoder.encode(text.as_bytes(), &mut self.replies);
            }
            Op::Deliver(n) => {
                let end = (self.reply_pos + usize::from(n) + 1).min(self.replies.len());
                let chunk = self.replies[self.reply_pos..end].to_vec();
                self.reply_pos = end;
                self.feed(chunk);
            }
            Op::Raw(n) => {
                let end = (self.raw_pos + usize::from(n)).min(self.raw.len());
                let chunk = self.raw[self.raw_pos..end].to_vec();
                self.raw_pos = end;
                self.feed(chunk);
            }
            Op::Eof => {
                self.conn.handle_eof();
                self.eof = true;
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.conn.handle_timeout(self.now);
                self.poll(usize::MAX);
                if let Some(t) = self.conn.poll_timeout() {
                    assert!(
                        t > self.now,
                        "a deadline at or before now survived handle_timeout"
                    );
                }
            }
            Op::Poll(n) => self.poll(usize::from(n) + 1),
        }
    }

    fn finish(&mut self) {
        self.conn.poll_transmit(&mut self.out);
        let rest = self.replies[self.reply_pos..].to_vec();
        self.reply_pos = self.replies.len();
        if !self.eof {
            self.feed(rest);
            let raw = self.raw[self.raw_pos..].to_vec();
            self.feed(raw);
            self.conn.handle_eof();
            self.eof = true;
        }
        self.poll(usize::MAX);
        assert!(self.conn.is_finished(), "not finished after EOF and draining");
        assert_eq!(self.conn.in_flight(), 0);
        for id in &self.ids {
            assert!(self.ended.contains_key(id), "call {id} never ended");
        }
        assert!(
            self.conn.call("late", RawParams::none(), None) == Err(UsageError::Closed),
            "call after EOF"
        );
    }

    fn verify_output(&self) {
        if self.kind == FramerKind::Body {
            // Body has no delimiters: several requests run together.
            return;
        }
        let mut got: Vec<Vec<(Option<String>, String)>> = Vec::new();
        for f in frames_of(self.kind, usize::MAX / 2, &self.out) {
            let frame = f.unwrap_or_else(|e| panic!("output does not frame: {e}"));
            let entry = |e: &Incoming| match e {
                Incoming::Call { id, method, .. } => (Some(id.as_json().to_owned()), method.clone()),
                Incoming::Notification { method, .. } => (None, method.clone()),
                other => panic!("the client wrote {other:?}"),
            };
            let limits = Limits {
                version: self.limits.version,
                ..Limits::default()
            };
            match parse_message(&frame, &limits, Accept::Requests) {
                Message::Single(e) => {
                    assert_ne!(self.limits.version, Version::V1, "a 1.0 client wrote 2.0");
                    got.push(vec![entry(&e)])
                }
                Message::V1(e) => {
                    assert_eq!(self.limits.version, Version::V1, "a 2.0 client wrote 1.0");
                    got.push(vec![entry(&e)])
                }
                Message::Batch(v) => got.push(v.iter().map(entry).collect()),
                other => panic!("the client wrote {other:?}"),
            }
        }
        assert_eq!(got, self.sent, "transmitted requests differ from those made");
    }
}

/// Runs the `client` target on one input.
pub fn check(data: &[u8]) {
    let case = Case::split(data);
    let kind = FramerKind::from_config(case.config);
    let ops: Vec<Op> = Vec::arbitrary_take_rest(Unstructured::new(case.ops)).unwrap_or_default();
    for version in [Version::V2, Version::V1, Version::Auto] {
        let limits = Limits {
            version,
            ..limits_for(case.config)
        };
        let mut d = Driver::new(kind, limits, case.stream);
        for op in ops.iter().take(2048) {
            d.run(op.clone());
        }
        d.finish();
        d.verify_output();
    }
}
