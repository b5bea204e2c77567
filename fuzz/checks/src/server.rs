//! Target `server`: a `ServerConnection` driven by an arbitrary sequence of
//! operations — input chunks, EOF, polls, answers to tickets in any order,
//! transmits — then drained to the end (rest of the input, EOF, every call
//! answered, everything transmitted).
//!
//! Asserts:
//! - the events (calls and notifications, in order) are exactly those of a
//!   model that frames all the bytes fed at once and parses each frame:
//!   splitting the input or interleaving answers changes nothing;
//! - every output frame is valid JSON and a valid JSON-RPC response or a
//!   non-empty array of them, and the output as a whole is exactly the
//!   model's answers (in any order between messages, in request order
//!   inside a batch): every call answered exactly once with its own id,
//!   echoed byte for byte, and with the outcome it was given; protocol
//!   errors with the right code and id; nothing for notifications or an
//!   all-notification batch;
//! - memory: the framer inside holds at most its drained bound plus what
//!   was fed since it was last drained; calls in flight stay under
//!   `max_in_flight + max_batch_len`; bytes waiting to be transmitted stay
//!   under `max_buffered_out` plus one message's protocol errors plus the
//!   answers given since the last transmit;
//! - API contract: input after EOF is `UsageError::Closed`; after EOF it
//!   wants no input; an idle connection has nothing in flight; a finished
//!   one has answered everything; draining always makes progress and ends
//!   finished;
//! - all of it in each [`Version`] (`V2`, `V1`, `Auto`): every input runs
//!   three times, and each answer comes in the form of the message it
//!   answers (1.0 for [`Message::V1`], and for whole-message rejections
//!   under `V1`), a strict 1.0 response where it is 1.0.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use sansrpc::Outcome;
use sansrpc::conn::{Event, ServerConnection, Ticket};
use sansrpc::wire::{Accept, Incoming, Message, parse_message, write_response};
use sansrpc::{Error, Id, Limits, UsageError, Version};
use serde_json::Value;

use crate::json::{OutMessage, StrictResponse, strict_message_any};
use crate::spy::Spy;
use crate::{Case, FramerKind, frames_of};

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Feed(u8),
    FeedMore(u16),
    Poll(u8),
    Respond { pick: u8, answer: Answer },
    Transmit,
    Eof,
    Inspect,
}

/// What the application answers a call with; the marker `t` (the ticket
/// number) lets the check find each answer in the output.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub(crate) enum Answer {
    Result,
    Error(i16),
    Big(u8),
}

pub(crate) fn outcome(t: u64, answer: Answer) -> Outcome {
    match answer {
        Answer::Result => sansrpc::result(&serde_json::json!({ "t": t })),
        Answer::Error(code) => {
            Err(Error::new(i64::from(code), "application error").with_data(&serde_json::json!({ "t": t })))
        }
        Answer::Big(n) => {
            sansrpc::result(&serde_json::json!({ "t": t, "pad": "x".repeat(usize::from(n) * 16) }))
        }
    }
}

/// Limits the configuration byte picks from (`config / 3`).
fn limits_for(config: u8) -> Limits {
    let (msg, batch, depth, in_flight, out) = match (config / 3) % 4 {
        0 => (4096, 16, 16, 8, 2048),
        1 => (64, 4, 4, 2, 256),
        2 => (65536, 1024, 64, 128, 1 << 20),
        _ => (512, 3, 8, 1, 1),
    };
    Limits {
        max_message_bytes: msg,
        max_batch_len: batch,
        max_depth: depth,
        max_in_flight: in_flight,
        max_buffered_out: out,
        ..Limits::default()
    }
}

pub(crate) fn drained_bound(kind: FramerKind, max: usize) -> usize {
    match kind {
        FramerKind::Newline => max + 1,
        FramerKind::ContentLength => max.max(sansrpc::conn::MAX_HEADER_BYTES),
        FramerKind::Body => max,
    }
}

/// Upper bound of the protocol's own answer to one message.
fn one_message_bound(l: &Limits) -> usize {
    l.max_message_bytes + 100 * l.max_batch_len + 512
}

#[derive(Debug, Clone, PartialEq)]
struct Ev {
    call: bool,
    id: Option<String>,
    method: String,
    params: Option<String>,
}

/// One answer inside an output message, in comparable form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ans {
    /// The application's answer to the call with this ticket number.
    Marker(u64),
    /// An error the protocol layer gave by itself.
    Proto { id: String, code: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OutMsg {
    batch: bool,
    /// Written in JSON-RPC 1.0 form.
    v1: bool,
    answers: Vec<Ans>,
}

/// How an expected message is written: (a batch array, in 1.0 form).
type Form = (bool, bool);

/// Where an expected answer comes from, before tickets are known.
enum Want {
    Call(usize),
    Proto { id: String, code: i64 },
}

struct Driver<'a> {
    kind: FramerKind,
    limits: Limits,
    conn: ServerConnection<Spy>,
    held: Rc<Cell<usize>>,
    stream: &'a [u8],
    pos: usize,
    fed: Vec<u8>,
    eof: bool,
    since_drain: Option<usize>,
    pending: Vec<(Ticket, String)>,
    events: Vec<Ev>,
    tickets: Vec<Option<u64>>,
    answered: HashMap<u64, (String, Outcome)>,
    out: Vec<u8>,
    answer_bytes: usize,
    responds: usize,
    events_drained: bool,
}

impl<'a> Driver<'a> {
    fn new(kind: FramerKind, limits: Limits, stream: &'a [u8]) -> Self {
        let (spy, held) = Spy::new(kind.make(limits.max_message_bytes));
        Self {
            kind,
            conn: ServerConnection::new(spy, limits.clone()),
            limits,
            held,
            stream,
            pos: 0,
            fed: Vec::new(),
            eof: false,
            since_drain: Some(0),
            pending: Vec::new(),
            events: Vec::new(),
            tickets: Vec::new(),
            answered: HashMap::new(),
            out: Vec::new(),
            answer_bytes: 0,
            responds: 0,
            events_drained: true,
        }
    }

    fn feed(&mut self, n: usize) {
        let end = self.pos.saturating_add(n).min(self.stream.len());
        let chunk = &self.stream[self.pos..end];
        let r = self.conn.handle_input(chunk);
        if self.eof {
            assert_eq!(r, Err(UsageError::Closed), "input accepted after EOF");
            return;
        }
        assert_eq!(r, Ok(()));
        self.fed.extend_from_slice(chunk);
        self.pos = end;
        if let Some(s) = &mut self.since_drain {
            *s += chunk.len();
            let bound = drained_bound(self.kind, self.limits.max_message_bytes) + *s;
            assert!(
                self.held.get() <= bound,
                "framer holds {} > {bound}",
                self.held.get()
            );
        }
    }

    fn poll(&mut self, n: usize) -> usize {
        let mut got = 0;
        while got < n {
            self.events_drained = false;
            match self.conn.poll_event() {
                Some(Event::Call {
                    ticket,
                    id,
                    method,
                    params,
                }) => {
                    self.events.push(Ev {
                        call: true,
                        id: Some(id.as_json().to_owned()),
                        method,
                        params: params.as_str().map(str::to_owned),
                    });
                    self.tickets.push(Some(ticket.number()));
                    self.pending.push((ticket, id.as_json().to_owned()));
                }
                Some(Event::Notification { method, params }) => {
                    self.events.push(Ev {
                        call: false,
                        id: None,
                        method,
                        params: params.as_str().map(str::to_owned),
                    });
                    self.tickets.push(None);
                }
                Some(other) => panic!("unknown event {other:?}"),
                None => {
                    self.events_drained = true;
                    if self.conn.wants_input() {
                        // Not held back by a limit: the framer was drained.
                        let bound = drained_bound(self.kind, self.limits.max_message_bytes);
                        assert!(
                            self.held.get() <= bound,
                            "drained framer holds {} > {bound}",
                            self.held.get()
                        );
                        self.since_drain = Some(0);
                    }
                    break;
                }
            }
            got += 1;
        }
        got
    }

    fn respond(&mut self, pick: usize, answer: Answer) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        let (ticket, id) = self.pending.remove(pick % self.pending.len());
        let t = ticket.number();
        let o = outcome(t, answer);
        let mut written = Vec::new();
        write_response(&Id::from_json(&id).unwrap_or_else(Id::null), &o, &mut written);
        self.answer_bytes += written.len() + 64;
        self.responds += 1;
        assert_eq!(self.conn.respond(ticket, o.clone()), Ok(()), "respond failed");
        assert!(
            self.answered.insert(t, (id, o)).is_none(),
            "ticket {t} issued twice"
        );
        true
    }

    fn transmit(&mut self) -> bool {
        let before = self.out.len();
        let r = self.conn.poll_transmit(&mut self.out);
        let n = self.out.len() - before;
        match r {
            None => assert_eq!(n, 0),
            Some(k) => assert!(k == n && n > 0, "poll_transmit said {k}, wrote {n}"),
        }
        let bound = self.limits.max_buffered_out
            + one_message_bound(&self.limits) * (1 + self.responds)
            + self.answer_bytes;
        assert!(n <= bound, "{n} bytes were waiting to be sent, bound {bound}");
        self.answer_bytes = 0;
        self.responds = 0;
        n > 0
    }

    fn check_state(&mut self) {
        // Tickets of a message are issued when it is parsed, before its
        // events are polled: equal only once the event queue is empty.
        if self.events_drained {
            assert_eq!(
                self.conn.in_flight(),
                self.pending.len(),
                "in_flight disagrees with tickets held"
            );
        } else {
            assert!(
                self.conn.in_flight() >= self.pending.len(),
                "fewer in flight than tickets held"
            );
        }
        let cap = self.limits.max_in_flight.saturating_sub(1) + self.limits.max_batch_len;
        assert!(
            self.conn.in_flight() <= cap.max(1),
            "{} calls in flight",
            self.conn.in_flight()
        );
        if self.eof {
            assert!(!self.conn.wants_input(), "wants input after EOF");
        }
        if self.conn.is_idle() {
            assert_eq!(self.conn.in_flight(), 0);
        }
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Feed(n) => self.feed(usize::from(n)),
            Op::FeedMore(n) => self.feed(usize::from(n)),
            Op::Poll(n) => {
                self.poll(usize::from(n) + 1);
            }
            Op::Respond { pick, answer } => {
                self.respond(usize::from(pick), answer);
            }
            Op::Transmit => {
                self.transmit();
            }
            Op::Eof => {
                self.conn.handle_eof();
                self.eof = true;
                self.since_drain = None;
            }
            Op::Inspect => {
                // May parse a frame and queue its events.
                self.events_drained = false;
                let finished = self.conn.is_finished();
                if finished {
                    assert!(self.eof || self.conn.in_flight() == 0);
                    assert!(self.pending.is_empty(), "finished with calls unanswered");
                }
            }
        }
        self.check_state();
    }

    fn finish(&mut self) {
        if !self.eof {
            self.feed(self.stream.len());
            self.conn.handle_eof();
            self.eof = true;
            self.since_drain = None;
        }
        let mut rounds = 0usize;
        loop {
            let mut progress = self.poll(usize::MAX) > 0;
            while self.respond(0, Answer::Result) {
                progress = true;
            }
            progress |= self.transmit();
            self.check_state();
            if self.conn.is_finished() {
                break;
            }
            assert!(
                progress,
                "the connection is stuck: not finished, and nothing to do"
            );
            rounds += 1;
            assert!(rounds <= self.stream.len() + 16, "draining does not end");
        }
        assert!(self.pending.is_empty());
        assert_eq!(
            self.conn.poll_transmit(&mut Vec::new()),
            None,
            "output after finishing"
        );
    }

    /// What the connection should have seen and said, from the bytes fed.
    fn model(&self) -> (Vec<Ev>, Vec<Vec<Want>>, Vec<Form>) {
        let mut events = Vec::new();
        let mut msgs: Vec<Vec<Want>> = Vec::new();
        let mut batch = Vec::new();
        let frames = frames_of(self.kind, self.limits.max_message_bytes, &self.fed);
        let push_entry = |e: Incoming, events: &mut Vec<Ev>, into: &mut Vec<Want>| match e {
            Incoming::Call { id, method, params } => {
                into.push(Want::Call(events.len()));
                events.push(Ev {
                    call: true,
                    id: Some(id.as_json().to_owned()),
                    method,
                    params: params.as_str().map(str::to_owned),
                });
            }
            Incoming::Notification { method, params } => events.push(Ev {
                call: false,
                id: None,
                method,
                params: params.as_str().map(str::to_owned),
            }),
            Incoming::Invalid { id, error } => into.push(Want::Proto {
                id: id.as_json().to_owned(),
                code: error.code().code(),
            }),
            other => panic!("a server parsed {other:?}"),
        };
        for f in frames {
            let message = match f {
                Ok(bytes) => parse_message(&bytes, &self.limits, Accept::Requests),
                Err(e) => Message::Rejected(e.to_rpc_error()),
            };
            match message {
                Message::Rejected(e) => {
                    msgs.push(vec![Want::Proto {
                        id: "null".into(),
                        code: e.code().code(),
                    }]);
                    batch.push((false, self.limits.version == Version::V1));
                }
                Message::Single(e) => {
                    let mut into = Vec::new();
                    push_entry(e, &mut events, &mut into);
                    if !into.is_empty() {
                        msgs.push(into);
                        batch.push((false, false));
                    }
                }
                Message::V1(e) => {
                    let mut into = Vec::new();
                    push_entry(e, &mut events, &mut into);
                    if !into.is_empty() {
                        msgs.push(into);
                        batch.push((false, true));
                    }
                }
                Message::Batch(entries) => {
                    let mut into = Vec::new();
                    for e in entries {
                        push_entry(e, &mut events, &mut into);
                    }
                    if !into.is_empty() {
                        msgs.push(into);
                        batch.push((true, false));
                    }
                }
                other => panic!("unknown message {other:?}"),
            }
        }
        (events, msgs, batch)
    }

    fn answer_of(&self, r: &StrictResponse, v1: bool) -> Ans {
        let marker = match &r.outcome {
            Ok(result) => {
                let v: Value =
                    serde_json::from_str(result).unwrap_or_else(|e| panic!("result {result}: {e}"));
                Some(
                    v.get("t")
                        .and_then(Value::as_u64)
                        .unwrap_or_else(|| panic!("a result we never gave: {result}")),
                )
            }
            Err((_, _, Some(data))) if data.starts_with('{') => {
                let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("data {data}: {e}"));
                v.get("t").and_then(Value::as_u64)
            }
            Err(_) => None,
        };
        match marker {
            Some(t) => {
                let (id, outcome) = self
                    .answered
                    .get(&t)
                    .unwrap_or_else(|| panic!("an answer for ticket {t}, which was never answered"));
                assert_eq!(&r.id, id, "the answer to ticket {t} carries another id");
                // The id is compared above; the outcome is written as given.
                let mut want = Vec::new();
                let got = if v1 {
                    Version::V1.write_response(&Id::null(), outcome, &mut want);
                    crate::json::strict_response_v1(std::str::from_utf8(&want).unwrap_or_default())
                } else {
                    write_response(&Id::null(), outcome, &mut want);
                    crate::json::strict_response(std::str::from_utf8(&want).unwrap_or_default())
                };
                assert_eq!(
                    got.map(|g| g.outcome).as_ref(),
                    Ok(&r.outcome),
                    "the answer to ticket {t} is not what was given"
                );
                Ans::Marker(t)
            }
            None => {
                let Err((code, _, _)) = &r.outcome else {
                    unreachable!()
                };
                Ans::Proto {
                    id: r.id.clone(),
                    code: *code,
                }
            }
        }
    }

    fn verify(&self) {
        let (events, wants, batch) = self.model();
        assert_eq!(
            self.events, events,
            "events differ from the model of the bytes fed"
        );

        let mut expected: Vec<OutMsg> = wants
            .into_iter()
            .zip(batch)
            .map(|(w, (batch, v1))| OutMsg {
                batch,
                v1,
                answers: w
                    .into_iter()
                    .map(|w| match w {
                        Want::Call(i) => {
                            Ans::Marker(self.tickets[i].unwrap_or_else(|| panic!("event {i} is no call")))
                        }
                        Want::Proto { id, code } => Ans::Proto { id, code },
                    })
                    .collect(),
            })
            .collect();

        let mut actual = Vec::new();
        for f in frames_of(self.kind, usize::MAX / 2, &self.out) {
            let frame = f.unwrap_or_else(|e| panic!("output does not frame: {e}"));
            if self.kind == FramerKind::Body && frame.is_empty() && self.out.is_empty() {
                continue;
            }
            match strict_message_any(&frame) {
                Ok((OutMessage::Single(r), v1)) => actual.push(OutMsg {
                    batch: false,
                    v1,
                    answers: vec![self.answer_of(&r, v1)],
                }),
                Ok((OutMessage::Batch(v), v1)) => actual.push(OutMsg {
                    batch: true,
                    v1,
                    answers: v.iter().map(|r| self.answer_of(r, v1)).collect(),
                }),
                Err(why) => panic!("invalid output frame: {why}"),
            }
        }
        let mut seen = std::collections::HashSet::new();
        for m in &actual {
            for a in &m.answers {
                if let Ans::Marker(t) = a {
                    assert!(seen.insert(*t), "call with ticket {t} answered twice");
                }
            }
        }
        assert_eq!(seen.len(), self.answered.len(), "some answers never went out");
        expected.sort();
        actual.sort();
        assert_eq!(actual, expected, "output differs from the model");
    }
}

/// Runs the `server` target on one input.
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
        for &op in ops.iter().take(4096) {
            d.run(op);
        }
        d.finish();
        d.verify();
    }
}
