//! The server side of a connection: frames in, calls out, answers in,
//! frames out.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use crate::error::{Error, RejectionKind, UsageError};
use crate::framing::{Framer, Newline};
use crate::id::Frame;
use crate::id::Id;
use crate::limits::Limits;
use crate::message::{
    Accept, Incoming, Message, Outcome, Parsed, RawParams, Request, parse_borrowed, write_error,
    write_error_to, write_response,
};
use crate::shell::Shell;
use crate::v1::{write_error_v1, write_error_v1_to, write_response_v1};
use crate::version::Version;

/// A claim on one call's answer, handed out with [`Event::Call`] and given
/// back to [`ServerConnection::respond`].
///
/// Not `Clone`: a call is answered exactly once.
#[must_use = "every call must be answered with `respond`"]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// The connection that issued it: answering it on another connection
    /// is a [`UsageError::UnknownTicket`], never a wrong answer.
    conn: u64,
    /// Where its slot is in the connection's slab.
    slot: usize,
    number: u64,
}

impl Ticket {
    /// A number unique among the tickets of one connection, for logs.
    pub fn number(&self) -> u64 {
        self.number
    }
}

/// Connection numbers, unique in the process, so tickets of different
/// connections never collide.
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A message the connection answered by itself, before any method ran (a
/// parse error, an invalid request, a frame over the size limit): what
/// [`ServerConnection::poll_refusal`] reports, for hooks and statistics
/// (see [`crate::Router::rejected`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Refusal {
    /// Why it was refused.
    pub kind: RejectionKind,
    /// The error the peer was sent.
    pub error: Error,
}

/// How many refusals a connection keeps for
/// [`ServerConnection::poll_refusal`] before it stops parsing input until
/// they are taken.
pub const MAX_PENDING_REFUSALS: usize = 64;

/// Work for the application, produced by [`ServerConnection::poll_event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A request with an id: run it, then answer with `respond(ticket, ..)`.
    Call {
        /// The claim on the answer.
        ticket: Ticket,
        /// The request's id, as sent.
        id: Id,
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
    /// A request without an id: run it; nothing is ever sent back.
    Notification {
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
}

#[derive(Debug)]
enum Slot {
    Single(Id),
    /// A JSON-RPC 1.0 call: answered in 1.0 form.
    V1(Id),
    Batch {
        batch: u64,
        index: usize,
        id: Id,
    },
}

/// A batch being answered. Answers that are ready in request order go
/// straight into `joined`; one that comes before an earlier entry's waits
/// in `entries` until the entries before it are in.
#[derive(Debug, Default)]
struct BatchState {
    /// One per call or invalid entry, in request order; `None` while a
    /// call is unanswered, and for every entry already in `joined`.
    entries: Vec<Option<Vec<u8>>>,
    remaining: usize,
    /// `[` and the entries before `next`, comma-separated.
    joined: Vec<u8>,
    /// The first entry not yet in `joined`.
    next: usize,
}

/// Where [`Responder::respond_with`] put an answer.
#[derive(Debug)]
pub(crate) enum Answered {
    /// A single response, appended to the output it was given.
    Appended,
    /// A batch's entry; the batch's whole answer when it was the last.
    Batch(Option<Vec<u8>>),
}

/// The most a batch's answer reserves ahead, guessed from its first entry.
const FIRST_RESERVE: usize = 64 * 1024;

/// A guess of the size of a batch entry's answer besides its id, for the
/// room reserved ahead (`{"jsonrpc":"2.0","result":19,"id":}` is 35).
const ENTRY_GUESS: usize = 40;

impl BatchState {
    /// Starts the next entry of `joined`.
    fn separate(&mut self) {
        self.joined.push(if self.joined.is_empty() { b'[' } else { b',' });
    }

    /// Moves the answers that are next in request order into `joined`.
    fn flush(&mut self) {
        while let Some(slot) = self.entries.get_mut(self.next) {
            let Some(entry) = slot.take() else { break };
            if self.joined.is_empty() {
                // Room for answers the size of the first, up to a bound.
                let left = self.entries.len().saturating_sub(self.next);
                self.joined
                    .reserve((entry.len() + 1).saturating_mul(left).min(FIRST_RESERVE) + 1);
            }
            self.separate();
            self.joined.extend_from_slice(&entry);
            self.next += 1;
        }
    }

    /// The whole answer, once every entry is in.
    fn finish(mut self) -> Vec<u8> {
        self.flush();
        if self.joined.is_empty() {
            self.joined.push(b'[');
        }
        self.joined.push(b']');
        self.joined
    }
}

/// The server half of the protocol, without framing: turns parsed messages
/// into events and answers into complete response messages.
///
/// [`ServerConnection`] and [`crate::conn::Peer`] are built on it.
#[derive(Debug)]
pub(crate) struct Responder {
    conn: u64,
    /// Calls awaiting an answer: a slab indexed by `Ticket::slot` (no
    /// hashing on the hot path), each entry tagged with its ticket number.
    pending: Vec<Option<(u64, Slot)>>,
    free: Vec<usize>,
    live: usize,
    batches: HashMap<u64, BatchState, BuildHasherDefault<BatchHasher>>,
    next_ticket: u64,
    next_batch: u64,
    /// Only decides the form of errors about input of unknown version;
    /// each message's own version is decided by the parser.
    version: Version,
    /// Refusals kept for the application; `None` unless it asked for them.
    refusals: Option<VecDeque<Refusal>>,
    /// Bytes of the requests handed out and not yet finished (see
    /// [`Limits::max_in_flight_bytes`]): the sum of `charges`, of
    /// `loose_note` and of `running_notes`.
    held_bytes: usize,
    /// What each slot of `pending` was charged when its call was handed
    /// out (0 until then), indexed as `pending`.
    charges: Vec<usize>,
    /// The charge of the notification handed out last, until the
    /// application says it runs in the background
    /// ([`Self::note_started`]) or asks for the next event (then it ran at
    /// once, and the charge is released).
    loose_note: usize,
    /// The charges of the notifications running in the background. Which
    /// one finished is never said, so a finished one releases the
    /// smallest charge: the sum kept is then never below the sum of the
    /// charges of those still running (it is exact once none runs).
    running_notes: BinaryHeap<Reverse<usize>>,
}

/// Hashes the responder's own batch numbers (never a peer's input, so no
/// flooding defence is needed): one multiply instead of SipHash.
#[derive(Default)]
struct BatchHasher(u64);

impl Hasher for BatchHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Responder {
    fn default() -> Self {
        Self {
            version: Version::V2,
            conn: NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            pending: Vec::new(),
            free: Vec::new(),
            live: 0,
            batches: HashMap::default(),
            next_ticket: 0,
            next_batch: 0,
            refusals: None,
            held_bytes: 0,
            charges: Vec::new(),
            loose_note: 0,
            running_notes: BinaryHeap::new(),
        }
    }
}

impl Responder {
    /// A responder for a connection speaking `version`.
    pub(crate) fn new(version: Version) -> Self {
        Self {
            version,
            ..Self::default()
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.live
    }

    /// Bytes of the requests handed out and not finished.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Whether handing out more work must wait for [`Limits::max_in_flight_bytes`]:
    /// never while nothing is held, so one message of any allowed size
    /// still runs.
    pub(crate) fn bytes_full(&self, limit: usize) -> bool {
        self.held_bytes > 0 && self.held_bytes >= limit
    }

    /// Charges `event`, about to be handed out, `bytes` (what it keeps
    /// alive: the message it came from). A call's charge is released by
    /// its answer; a notification's by [`Self::settle`] or, when it runs
    /// in the background, by [`Self::note_finished`].
    pub(crate) fn hand_out(&mut self, event: &Event, bytes: usize) {
        match event {
            Event::Call { ticket, .. } => {
                if let Some(c) = self.charges.get_mut(ticket.slot) {
                    // A call handed out again (`is_finished` puts one back)
                    // is charged once.
                    self.held_bytes = self.held_bytes.saturating_sub(*c) + bytes;
                    *c = bytes;
                }
            }
            Event::Notification { .. } => {
                self.settle();
                self.loose_note = bytes;
                self.held_bytes += bytes;
            }
        }
    }

    /// Releases the charge of the notification handed out last unless it
    /// was reported running in the background: it is done.
    pub(crate) fn settle(&mut self) {
        self.held_bytes = self.held_bytes.saturating_sub(self.loose_note);
        self.loose_note = 0;
    }

    /// The notification handed out last runs on in the background: its
    /// charge stays until [`Self::note_finished`].
    pub(crate) fn note_started(&mut self) {
        self.running_notes.push(Reverse(self.loose_note));
        self.loose_note = 0;
    }

    /// A background notification finished: releases the smallest charge
    /// of those running.
    pub(crate) fn note_finished(&mut self) {
        if let Some(Reverse(c)) = self.running_notes.pop() {
            self.held_bytes = self.held_bytes.saturating_sub(c);
        }
    }

    /// Starts (or stops) keeping refusals for [`Self::poll_refusal`].
    pub(crate) fn report_refusals(&mut self, on: bool) {
        match (on, self.refusals.is_some()) {
            (true, false) => self.refusals = Some(VecDeque::new()),
            (false, true) => self.refusals = None,
            _ => {}
        }
    }

    pub(crate) fn poll_refusal(&mut self) -> Option<Refusal> {
        self.refusals.as_mut()?.pop_front()
    }

    /// Whether enough refusals wait to be taken that parsing should pause.
    pub(crate) fn refusals_full(&self) -> bool {
        self.refusals
            .as_ref()
            .is_some_and(|r| r.len() >= MAX_PENDING_REFUSALS)
    }

    fn note(&mut self, kind: RejectionKind, error: &Error) {
        if let Some(r) = self.refusals.as_mut() {
            r.push_back(Refusal {
                kind,
                error: error.clone(),
            });
        }
    }

    /// Answers a message refused as a whole (the id is `null`).
    pub(crate) fn refuse(&mut self, kind: RejectionKind, error: Error, out: &mut Vec<Vec<u8>>) {
        let mut buf = Vec::new();
        self.refuse_into(kind, error, &mut buf);
        out.push(buf);
    }

    /// [`Self::refuse`], the answer written into `buf` (empty).
    pub(crate) fn refuse_into(&mut self, kind: RejectionKind, error: Error, buf: &mut Vec<u8>) {
        write_refusal(self.version, &error, buf);
        self.note(kind, &error);
    }

    /// The ticket of a lone 2.0 call with `id` (what [`Self::accept`]
    /// issues for it).
    pub(crate) fn single_ticket(&mut self, id: &Id) -> Ticket {
        self.ticket(Slot::Single(id.clone()))
    }

    fn ticket(&mut self, slot: Slot) -> Ticket {
        let number = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        let index = match self.free.pop() {
            Some(i) => {
                if let Some(entry) = self.pending.get_mut(i) {
                    *entry = Some((number, slot));
                }
                i
            }
            None => {
                self.pending.push(Some((number, slot)));
                self.charges.push(0);
                self.pending.len() - 1
            }
        };
        self.live += 1;
        Ticket {
            conn: self.conn,
            slot: index,
            number,
        }
    }

    fn take(&mut self, ticket: &Ticket) -> Option<Slot> {
        let entry = self.pending.get_mut(ticket.slot)?;
        if !matches!(entry, Some((n, _)) if *n == ticket.number) {
            return None;
        }
        let (_, slot) = entry.take()?;
        self.free.push(ticket.slot);
        self.live -= 1;
        if let Some(c) = self.charges.get_mut(ticket.slot) {
            self.held_bytes = self.held_bytes.saturating_sub(*c);
            *c = 0;
        }
        Some(slot)
    }

    /// Turns one incoming message into events; complete answers (errors the
    /// protocol layer gives by itself) go to `out`, one message each.
    ///
    /// Responses inside the message are handed to `on_response`.
    pub(crate) fn accept(
        &mut self,
        message: Message,
        events: &mut VecDeque<Event>,
        out: &mut Vec<Vec<u8>>,
        on_response: &mut dyn FnMut(Incoming),
    ) {
        match message {
            Message::Rejected(error) => self.refuse(RejectionKind::of_error(&error), error, out),
            Message::V1(entry) => match entry {
                Incoming::Call { id, method, params } => {
                    let ticket = self.ticket(Slot::V1(id.clone()));
                    events.push_back(Event::Call {
                        ticket,
                        id,
                        method,
                        params,
                    });
                }
                Incoming::Notification { method, params } => {
                    events.push_back(Event::Notification { method, params })
                }
                Incoming::Invalid { id, error } => {
                    self.note(RejectionKind::InvalidRequest, &error);
                    let mut buf = Vec::new();
                    write_error_v1(&id, &error, &mut buf);
                    out.push(buf);
                }
                r @ (Incoming::Response(_) | Incoming::InvalidResponse { .. }) => on_response(r),
            },
            Message::Single(entry) => match entry {
                Incoming::Call { id, method, params } => {
                    let ticket = self.ticket(Slot::Single(id.clone()));
                    events.push_back(Event::Call {
                        ticket,
                        id,
                        method,
                        params,
                    });
                }
                Incoming::Notification { method, params } => {
                    events.push_back(Event::Notification { method, params })
                }
                Incoming::Invalid { id, error } => {
                    self.note(RejectionKind::InvalidRequest, &error);
                    let mut buf = Vec::new();
                    write_error(&id, &error, &mut buf);
                    out.push(buf);
                }
                r @ (Incoming::Response(_) | Incoming::InvalidResponse { .. }) => on_response(r),
            },
            Message::Batch(entries) => {
                let batch = self.next_batch;
                self.next_batch = self.next_batch.wrapping_add(1);
                let mut state = BatchState::default();
                // Room for every entry at once (the batch is already held
                // whole, within `max_batch_len`): no growing step by step.
                let n = entries.len();
                state.entries.reserve_exact(n);
                events.reserve(n);
                let new_slots = n.saturating_sub(self.free.len());
                self.pending.reserve(new_slots);
                self.charges.reserve(new_slots);
                // Every slot may come back to the free list.
                let slots = self.pending.len() + new_slots;
                self.free.reserve(slots.saturating_sub(self.free.len()));
                for entry in entries {
                    match entry {
                        Incoming::Call { id, method, params } => {
                            let index = state.entries.len();
                            state.entries.push(None);
                            state.remaining += 1;
                            let ticket = self.ticket(Slot::Batch {
                                batch,
                                index,
                                id: id.clone(),
                            });
                            events.push_back(Event::Call {
                                ticket,
                                id,
                                method,
                                params,
                            });
                        }
                        Incoming::Notification { method, params } => {
                            events.push_back(Event::Notification { method, params })
                        }
                        Incoming::Invalid { id, error } => {
                            self.note(RejectionKind::InvalidRequest, &error);
                            let mut buf = Vec::new();
                            write_error(&id, &error, &mut buf);
                            state.entries.push(Some(buf));
                        }
                        r @ (Incoming::Response(_) | Incoming::InvalidResponse { .. }) => on_response(r),
                    }
                }
                if state.remaining == 0 {
                    if !state.entries.is_empty() {
                        out.push(state.finish());
                    }
                } else {
                    state.flush();
                    self.batches.insert(batch, state);
                }
            }
        }
    }

    /// Records the answer for `ticket`; returns a complete message when one
    /// is ready (a single response, or a batch's last answer).
    ///
    /// A single response is written into `spare` (an emptied buffer, see
    /// [`Shell::take_spare`](crate::shell::Shell::take_spare)), which it
    /// takes.
    pub(crate) fn respond(
        &mut self,
        ticket: Ticket,
        outcome: &Outcome,
        spare: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, UsageError> {
        let body = outcome_len(outcome);
        self.answer(ticket, body, spare, |id, v1, buf| {
            if v1 {
                write_response_v1(id, outcome, buf);
            } else {
                write_response(id, outcome, buf);
            }
        })
    }

    /// [`respond`](Self::respond) with the result serialized by `write`
    /// straight into the response (no [`Outcome`] in between); when
    /// `write` fails, its error is answered instead. When `write` declines
    /// (`None`: the answer is not ready), nothing is recorded and the
    /// ticket is handed back (`Ok(Err(ticket))`).
    /// A single response is appended to `out` (the connection's output,
    /// where it is framed in place: [`Answered::Appended`]); `out` is left
    /// as it was otherwise.
    pub(crate) fn respond_with(
        &mut self,
        ticket: Ticket,
        write: impl FnOnce(&mut Vec<u8>) -> Option<Result<(), Error>>,
        out: &mut Vec<u8>,
    ) -> Result<Result<Answered, Ticket>, UsageError> {
        if ticket.conn != self.conn {
            return Err(UsageError::UnknownTicket);
        }
        let Some(Some((number, slot))) = self.pending.get(ticket.slot) else {
            return Err(UsageError::UnknownTicket);
        };
        if *number != ticket.number {
            return Err(UsageError::UnknownTicket);
        }
        // The next answer of a batch in request order is written straight
        // into the batch's answer.
        let in_order = match slot {
            Slot::Batch { batch, index, id } => self
                .batches
                .get_mut(batch)
                .filter(|state| state.next == *index)
                .map(|state| (state, id)),
            _ => None,
        };
        if let Some((state, id)) = in_order {
            let mark = state.joined.len();
            if mark == 0 {
                // Room for every answer at a guess of their size, up to a
                // bound: one allocation instead of a regrowing one.
                let per_entry = id.json_bytes().len() + ENTRY_GUESS;
                state
                    .joined
                    .reserve(per_entry.saturating_mul(state.entries.len()).min(FIRST_RESERVE) + 1);
            }
            state.separate();
            if !write_response_with(id.json_bytes(), false, write, &mut state.joined) {
                state.joined.truncate(mark);
                return Ok(Err(ticket));
            }
            state.next += 1;
            state.remaining = state.remaining.saturating_sub(1);
            let done = state.remaining == 0;
            let Some(Slot::Batch { batch, .. }) = self.take(&ticket) else {
                return Err(UsageError::UnknownTicket);
            };
            return Ok(Ok(Answered::Batch(if done {
                self.batches.remove(&batch).map(BatchState::finish)
            } else {
                None
            })));
        }
        let (id, v1, single) = match slot {
            Slot::Single(id) => (id, false, true),
            Slot::Batch { id, .. } => (id, false, false),
            Slot::V1(id) => (id, true, true),
        };
        let id = id.json_bytes();
        if single {
            // Written where it is sent from: no buffer of its own.
            let start = out.len();
            if !write_response_with(id, v1, write, out) {
                return Ok(Err(ticket));
            }
            if self.take(&ticket).is_none() {
                out.truncate(start);
                return Err(UsageError::UnknownTicket);
            }
            return Ok(Ok(Answered::Appended));
        }
        // A batch entry answered out of order waits in the batch.
        let mut buf = Vec::with_capacity(id.len() + 80);
        if !write_response_with(id, v1, write, &mut buf) {
            return Ok(Err(ticket));
        }
        let slot = self.take(&ticket).ok_or(UsageError::UnknownTicket)?;
        self.place(slot, buf).map(|m| Ok(Answered::Batch(m)))
    }

    /// Takes `ticket`'s slot and has `write` write the response for its id
    /// (`v1`: in JSON-RPC 1.0 form) into a buffer about `body` bytes more
    /// than the envelope.
    fn answer(
        &mut self,
        ticket: Ticket,
        body: usize,
        spare: &mut Vec<u8>,
        write: impl FnOnce(&Id, bool, &mut Vec<u8>),
    ) -> Result<Option<Vec<u8>>, UsageError> {
        if ticket.conn != self.conn {
            return Err(UsageError::UnknownTicket);
        }
        let slot = self.take(&ticket).ok_or(UsageError::UnknownTicket)?;
        let (id, v1, extra) = match &slot {
            Slot::Single(id) | Slot::Batch { id, .. } => (id, false, 40),
            Slot::V1(id) => (id, true, 52),
        };
        let mut buf = std::mem::take(spare);
        buf.reserve(body + id.json_bytes().len() + extra);
        write(id, v1, &mut buf);
        self.place(slot, buf)
    }

    /// Puts the response for a slot taken from `pending` where it belongs:
    /// a single response is complete; a batch's entry completes the batch
    /// when it is the last one.
    fn place(&mut self, slot: Slot, response: Vec<u8>) -> Result<Option<Vec<u8>>, UsageError> {
        let Slot::Batch { batch, index, .. } = slot else {
            return Ok(Some(response));
        };
        let Some(state) = self.batches.get_mut(&batch) else {
            return Err(UsageError::UnknownTicket);
        };
        if let Some(entry) = state.entries.get_mut(index) {
            *entry = Some(response);
        }
        state.flush();
        Ok(self.count_batch_answer(batch))
    }

    /// Counts one more answer of `batch`; its whole answer when that was
    /// the last one.
    fn count_batch_answer(&mut self, batch: u64) -> Option<Vec<u8>> {
        let state = self.batches.get_mut(&batch)?;
        state.remaining = state.remaining.saturating_sub(1);
        if state.remaining > 0 {
            return None;
        }
        self.batches.remove(&batch).map(BatchState::finish)
    }
}

/// Writes a response whose result `write` serializes straight into `out`
/// (`v1`: in JSON-RPC 1.0 form); when `write` fails, what it wrote is
/// dropped and its error is answered instead. The bytes are those
/// [`write_response`] writes for the same outcome. Returns false, with
/// `out` as it was, when `write` declines (`None`).
pub(crate) fn write_response_with(
    id: &[u8],
    v1: bool,
    write: impl FnOnce(&mut Vec<u8>) -> Option<Result<(), Error>>,
    out: &mut Vec<u8>,
) -> bool {
    let start = out.len();
    out.extend_from_slice(if v1 {
        b"{\"result\":"
    } else {
        b"{\"jsonrpc\":\"2.0\",\"result\":"
    });
    match write(out) {
        None => {
            out.truncate(start);
            return false;
        }
        Some(Ok(())) => {
            out.extend_from_slice(if v1 {
                b",\"error\":null,\"id\":"
            } else {
                b",\"id\":"
            });
            out.extend_from_slice(id);
            out.push(b'}');
        }
        Some(Err(e)) => {
            out.truncate(start);
            // Ids are JSON text, so this never falls back.
            let id = std::str::from_utf8(id).unwrap_or("null");
            if v1 {
                write_error_v1_to(id, &e, out);
            } else {
                write_error_to(id, &e, out);
            }
        }
    }
    true
}

/// A close upper guess of an outcome's length in a response, to write it
/// without regrowing.
fn outcome_len(outcome: &Outcome) -> usize {
    match outcome {
        Ok(r) => r.get().len(),
        Err(e) => error_len(e),
    }
}

/// A close upper guess of an error object's length.
fn error_len(e: &Error) -> usize {
    e.message().len() + e.data().map_or(0, |d| d.get().len()) + 48
}

/// The answer to a message refused as a whole (the id is `null`), in 1.0
/// form when the connection speaks only 1.0, appended to `buf` (sized for
/// it at once, not grown step by step).
pub(crate) fn write_refusal(version: Version, error: &Error, buf: &mut Vec<u8>) {
    buf.reserve(error_answer_len(error));
    if version.rejects_as_v1() {
        write_error_v1(&Id::null(), error, buf);
    } else {
        write_error(&Id::null(), error, buf);
    }
}

/// A close upper guess of a whole error response's length (the envelope,
/// a `null` id, a frame's suffix), to write it without regrowing.
fn error_answer_len(e: &Error) -> usize {
    error_len(e) + 48
}

/// The server side of one connection, with no I/O: feed it bytes, take
/// calls from it, give it answers, take bytes from it.
///
/// It answers parse errors, invalid requests and empty batches by itself;
/// it hands the application only well-formed calls (each with a
/// [`Ticket`]) and notifications; it assembles a batch's answers in request
/// order and writes nothing for notifications or an all-notification
/// batch.
///
/// ```
/// use sansrpc::Limits;
/// use sansrpc::conn::{Event, Newline, ServerConnection};
///
/// let limits = Limits::default();
/// let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
/// conn.handle_input(br#"{"jsonrpc":"2.0","method":"ping","id":1}
/// {"jsonrpc":"2.0","method":"log"}
/// "#).unwrap();
/// while let Some(event) = conn.poll_event() {
///     match event {
///         Event::Call { ticket, method, .. } => {
///             assert_eq!(method, "ping");
///             conn.respond(ticket, sansrpc::result(&"pong")).unwrap();
///         }
///         Event::Notification { method, .. } => assert_eq!(method, "log"),
///         _ => {}
///     }
/// }
/// let mut out = Vec::new();
/// conn.poll_transmit(&mut out);
/// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n");
/// ```
#[derive(Debug)]
pub struct ServerConnection<F = Newline> {
    shell: Shell<F>,
    responder: Responder,
    events: VecDeque<Event>,
    /// Calls parsed into `events` and not yet handed out: their tickets
    /// exist, but they are not in flight until `poll_event` yields them.
    queued_calls: usize,
    /// Notifications the application runs in the background (see
    /// [`ServerConnection::notification_started`]).
    running: usize,
    /// The length of the message the queued events came from: what each
    /// of them is charged against [`Limits::max_in_flight_bytes`].
    events_bytes: usize,
    scratch: Vec<Vec<u8>>,
    /// An emptied method name kept for the next request's
    /// ([`ServerConnection::keep_method`]).
    method_spare: String,
    /// Every message through [`Responder::accept`] and the event queue,
    /// for the test that holds the quick path for lone requests to it.
    #[cfg(test)]
    general_only: bool,
}

/// The longest emptied method name a connection keeps for the next.
const METHOD_KEEP: usize = 256;

impl<F: Framer> ServerConnection<F> {
    /// A connection framed by `framer` and bounded by `limits`.
    pub fn new(framer: F, limits: Limits) -> Self {
        Self {
            responder: Responder::new(limits.version),
            shell: Shell::new(framer, limits, true),
            events: VecDeque::new(),
            queued_calls: 0,
            running: 0,
            events_bytes: 0,
            scratch: Vec::new(),
            method_spare: String::new(),
            #[cfg(test)]
            general_only: false,
        }
    }

    /// The limits this connection enforces.
    pub fn limits(&self) -> &Limits {
        &self.shell.limits
    }

    /// Overrides the idle deadline ([`Limits::idle_timeout`] by default;
    /// `None` disables it). The write-progress deadline keeps
    /// `Limits::idle_timeout`.
    pub fn set_idle_timeout(&mut self, idle: Option<std::time::Duration>) {
        self.shell.set_idle_timeout(idle);
    }

    /// Feeds bytes read from the transport. Nothing is parsed until
    /// [`poll_event`](Self::poll_event) is called.
    ///
    /// Read only while [`wants_input`](Self::wants_input) is true: that is
    /// what keeps the input buffer bounded. Fails with
    /// [`UsageError::Closed`] after EOF or a deadline closed the connection.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError> {
        self.shell.handle_input(bytes)
    }

    /// Tells the connection that the peer will send nothing more. Complete
    /// messages still buffered are still yielded, calls in flight may still
    /// be answered, and their answers are still transmitted.
    pub fn handle_eof(&mut self) {
        self.shell.handle_eof();
    }

    /// Stops input now, for a graceful shutdown: nothing more is read or
    /// parsed (complete messages still buffered and a partial one are
    /// dropped); calls already handed out may still be answered and
    /// transmitted, and [`is_finished`](Self::is_finished) turns true once
    /// they are.
    pub fn close_input(&mut self) {
        self.shell.input_closed = true;
    }

    fn backpressured(&self) -> bool {
        self.serving() >= self.shell.limits.max_in_flight
            || self.shell.out_full()
            || self.responder.bytes_full(self.shell.limits.max_in_flight_bytes)
    }

    /// Asks the connection to keep every message it answers by itself (a
    /// parse error, an invalid request or batch entry, a frame over the
    /// size limit) for [`poll_refusal`](Self::poll_refusal), so that hooks
    /// and statistics hear of them ([`crate::Router::rejected`]). Off by
    /// default: a driver that never takes them loses nothing.
    ///
    /// While it is on, parsing pauses once [`MAX_PENDING_REFUSALS`] wait
    /// to be taken, so take them after every [`poll_event`](Self::poll_event)
    /// loop.
    pub fn set_report_refusals(&mut self, on: bool) {
        self.responder.report_refusals(on);
    }

    /// The oldest refusal not yet taken (see
    /// [`set_report_refusals`](Self::set_report_refusals)).
    ///
    /// ```
    /// use sansrpc::conn::{Newline, ServerConnection};
    /// use sansrpc::{Limits, RejectionKind};
    ///
    /// let mut conn = ServerConnection::new(Newline::new(1024), Limits::default());
    /// conn.set_report_refusals(true);
    /// conn.handle_input(b"{oops\n").unwrap();
    /// assert!(conn.poll_event().is_none());
    /// let refusal = conn.poll_refusal().unwrap();
    /// assert_eq!(refusal.kind, RejectionKind::ParseError);
    /// assert_eq!(refusal.error.raw_code(), -32700);
    /// ```
    pub fn poll_refusal(&mut self) -> Option<Refusal> {
        self.responder.poll_refusal()
    }

    /// The next call or notification to run, or `None` when more input is
    /// needed, or while the in-flight or outgoing-buffer limit is reached
    /// (answer calls, finish notifications and transmit to make room).
    ///
    /// The entries of a batch are handed out one by one and each counts
    /// against [`Limits::max_in_flight`] on its own, and against
    /// [`Limits::max_in_flight_bytes`] with the length of its message.
    /// A notification handed out counts until the next `poll_event` call,
    /// or, once reported by
    /// [`notification_started`](Self::notification_started), until
    /// [`notification_finished`](Self::notification_finished).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.responder.settle();
        loop {
            if self.backpressured() {
                return None;
            }
            if let Some(e) = self.events.pop_front() {
                if matches!(e, Event::Call { .. }) {
                    self.queued_calls = self.queued_calls.saturating_sub(1);
                }
                self.responder.hand_out(&e, self.events_bytes);
                return Some(e);
            }
            if self.shell.input_closed || self.shell.timed_out() {
                return None;
            }
            if self.responder.refusals_full() {
                return None;
            }
            let frame = self.shell.framer.next_frame()?;
            self.shell.note_progress();
            match frame {
                Ok(bytes) => {
                    let frame = Frame::Shared(&bytes);
                    match parse_borrowed(&bytes, &frame, &self.shell.limits, Accept::Requests) {
                        // What `accept_parsed` and the next turn of this
                        // loop do with a lone request, without the queue:
                        // nothing it does moves a limit checked above.
                        Parsed::Request(request) if self.quick_requests() => {
                            return Some(self.hand_out_request(request, &frame, bytes.len()));
                        }
                        Parsed::Request(request) => {
                            self.accept_parsed(Message::Single(request.into_incoming(&frame)), bytes.len());
                        }
                        Parsed::Other(message) => self.accept_parsed(message, bytes.len()),
                    }
                }
                Err(e) => self.refuse_now(RejectionKind::of_frame_error(&e), e.to_rpc_error()),
            }
        }
    }

    /// Whether a lone 2.0 request skips the queue ([`Self::hand_out_request`]).
    #[cfg(not(test))]
    fn quick_requests(&self) -> bool {
        true
    }

    #[cfg(test)]
    fn quick_requests(&self) -> bool {
        !self.general_only
    }

    /// Hands out a lone 2.0 request read from `frame` (`len` bytes) at
    /// once, with no event queued: the event, ticket and charge
    /// [`accept_parsed`](Self::accept_parsed) and the queue would give it
    /// (`parse_message` builds the same `Incoming`). Its method name is
    /// written into the kept one, if any.
    fn hand_out_request(&mut self, request: Request<'_>, frame: &Frame<'_>, len: usize) -> Event {
        let params = request.params(frame);
        let mut method = std::mem::take(&mut self.method_spare);
        method.push_str(&request.method);
        let event = match request.id(frame) {
            Some(id) => Event::Call {
                ticket: self.responder.single_ticket(&id),
                id,
                method,
                params,
            },
            None => Event::Notification { method, params },
        };
        self.events_bytes = len;
        self.queued_calls = 0;
        self.responder.hand_out(&event, len);
        event
    }

    /// Keeps the method name of an event that is done with, emptied, for
    /// the next request's (unless it is long): a request costs no
    /// allocation for its method name.
    pub(crate) fn keep_method(&mut self, mut method: String) {
        if method.capacity() <= METHOD_KEEP && method.capacity() > self.method_spare.capacity() {
            method.clear();
            self.method_spare = method;
        }
    }

    /// Takes in a message as if this connection had framed and parsed it:
    /// its events queue up, and the answers the protocol layer gives by
    /// itself are queued for transmission; its requests are charged `len`
    /// bytes (the message's length) when handed out. For a one-shot path
    /// that parsed the message itself first.
    pub(crate) fn accept_parsed(&mut self, message: Message, len: usize) {
        self.events_bytes = len;
        let mut scratch = std::mem::take(&mut self.scratch);
        match message {
            // What `Responder::accept` does with it, written into the
            // spare buffer rather than a new one.
            Message::Rejected(error) => self.refuse_now(RejectionKind::of_error(&error), error),
            message => self
                .responder
                .accept(message, &mut self.events, &mut scratch, &mut |_response| {
                    // A server does not expect responses; `Accept::Requests`
                    // already turned them into invalid requests.
                }),
        }
        self.queued_calls = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::Call { .. }))
            .count();
        for m in scratch.drain(..) {
            self.shell.push_out(m);
        }
        self.scratch = scratch;
    }

    /// Answers a message refused as a whole, written into the kept spare
    /// buffer (no allocation once the connection has answered before).
    fn refuse_now(&mut self, kind: RejectionKind, error: Error) {
        let mut buf = self.shell.take_spare();
        self.responder.refuse_into(kind, error, &mut buf);
        self.shell.push_out(buf);
    }

    /// Answers the call `ticket` was issued for.
    ///
    /// Fails with [`UsageError::UnknownTicket`] for a ticket of another
    /// connection.
    pub fn respond(&mut self, ticket: Ticket, outcome: Outcome) -> Result<(), UsageError> {
        let mut spare = self.shell.take_spare();
        let answer = self.responder.respond(ticket, &outcome, &mut spare);
        self.shell.put_spare(spare);
        if let Some(message) = answer? {
            self.shell.push_out(message);
        }
        self.shell.note_progress();
        Ok(())
    }

    /// [`respond`](Self::respond) with the result serialized by `write`
    /// straight into the answer (no [`Outcome`] in between); when `write`
    /// fails, its error is answered instead.
    /// When `write` declines (`None`: the answer is not ready), nothing is
    /// recorded and the ticket is handed back.
    pub(crate) fn respond_with(
        &mut self,
        ticket: Ticket,
        write: impl FnOnce(&mut Vec<u8>) -> Option<Result<(), Error>>,
    ) -> Result<Option<Ticket>, UsageError> {
        let out = self.shell.out_to_write();
        let start = out.len();
        match self.responder.respond_with(ticket, write, out)? {
            Err(ticket) => return Ok(Some(ticket)),
            Ok(Answered::Appended) => self.shell.frame_written(start),
            Ok(Answered::Batch(Some(message))) => self.shell.push_out(message),
            Ok(Answered::Batch(None)) => {}
        }
        self.shell.note_progress();
        Ok(None)
    }

    /// Records that a notification handed out by
    /// [`poll_event`](Self::poll_event) keeps running in the background
    /// (its handler was not done at once): it counts against
    /// [`Limits::max_in_flight`], and with its message's length against
    /// [`Limits::max_in_flight_bytes`], until
    /// [`notification_finished`](Self::notification_finished). Call it
    /// before the next [`poll_event`](Self::poll_event).
    pub fn notification_started(&mut self) {
        self.running += 1;
        self.responder.note_started();
    }

    /// Records that a notification counted by
    /// [`notification_started`](Self::notification_started) is done.
    pub fn notification_finished(&mut self) {
        self.running = self.running.saturating_sub(1);
        self.responder.note_finished();
        self.shell.note_progress();
    }

    /// Appends every finished outgoing frame to `buf`; returns how many
    /// bytes were appended, or `None` when there is nothing to send.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        self.shell.poll_transmit(buf)
    }

    /// The next finished outgoing frame on its own, for transports that
    /// send each message separately (WebSocket, with [`crate::conn::Messages`]).
    pub fn poll_transmit_message(&mut self) -> Option<Vec<u8>> {
        self.shell.poll_transmit_message()
    }

    /// Reports that the transport wrote `bytes` of what
    /// [`poll_transmit`](Self::poll_transmit) handed it. A driver that
    /// reports its writes makes the bytes it still holds count against
    /// [`Limits::max_buffered_out`] and the write-progress deadline, and
    /// [`is_finished`](Self::is_finished) wait for them.
    pub fn handle_transmitted(&mut self, bytes: usize) {
        self.shell.handle_transmitted(bytes);
    }

    /// Calls handed out and not yet answered, plus notifications running
    /// in the background: the remote's work we still owe.
    pub fn serving(&self) -> usize {
        (self.responder.in_flight() - self.queued_calls.min(self.responder.in_flight())) + self.running
    }

    /// Bytes of the requests handed out and not yet finished (each
    /// charged its message's length), what [`Limits::max_in_flight_bytes`]
    /// bounds.
    pub fn serving_bytes(&self) -> usize {
        self.responder.held_bytes()
    }

    /// Unanswered work on the connection, both ways; for a server the
    /// same as [`serving`](Self::serving).
    pub fn in_flight(&self) -> usize {
        self.serving()
    }

    /// Whether the transport should read more input now: false after EOF,
    /// while events wait to be polled, and while a limit applies
    /// backpressure.
    pub fn wants_input(&self) -> bool {
        self.shell.reading() && self.events.is_empty() && !self.backpressured()
    }

    /// Whether the connection has nothing to do: no call in flight, nothing
    /// to send. A partial message does not count: a peer that trickles
    /// bytes without finishing a message is idle, so idle timeouts also end
    /// slow-drip connections. Background notifications do not count
    /// either, nor notifications parsed and waiting for a slot: the idle
    /// deadline ends a connection whose only work is notifications that
    /// never finish (their handlers are dropped with the connection).
    pub fn is_idle(&self) -> bool {
        self.serving() == self.running && self.shell.out_is_empty() && self.queued_calls == 0
    }

    /// The next deadline of the connection: the idle deadline
    /// ([`Limits::idle_timeout`] without activity while
    /// [`is_idle`](Self::is_idle)) or the write-progress deadline (output
    /// pending and not accepted by the transport for `idle_timeout`).
    /// `None` before the first [`handle_timeout`](Self::handle_timeout),
    /// which is how the connection learns the time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.shell.poll_timeout(self.is_idle())
    }

    /// Passes the time in: a driver calls it when the
    /// [`poll_timeout`](Self::poll_timeout) deadline is reached (calling
    /// it more often is harmless). When a deadline passed, the connection
    /// is closed: [`is_finished`](Self::is_finished) turns true at once.
    pub fn handle_timeout(&mut self, now: Instant) {
        let idle = self.is_idle();
        self.shell.handle_timeout(now, idle);
    }

    /// Whether a deadline closed the connection.
    pub fn is_timed_out(&self) -> bool {
        self.shell.timed_out()
    }

    /// Tells the connection the remote showed it is alive without sending
    /// a message (a WebSocket pong): activity for the idle deadline.
    pub fn handle_keepalive(&mut self) {
        self.shell.note_progress();
    }

    /// Whether the connection is done: a deadline closed it, or the input
    /// ended (EOF, [`close_input`](Self::close_input), or input that can
    /// no longer be framed), every call was answered, every background
    /// notification finished and every answer transmitted. The transport
    /// may close now.
    pub fn is_finished(&mut self) -> bool {
        if self.shell.timed_out() {
            return true;
        }
        if !self.shell.input_ended() || self.serving() > 0 || !self.shell.out_is_empty() {
            return false;
        }
        // Frames still buffered must be processed before the end.
        if let Some(event) = self.poll_event() {
            if matches!(event, Event::Call { .. }) {
                self.queued_calls += 1;
            }
            self.events.push_front(event);
            return false;
        }
        self.events.is_empty() && self.shell.out_is_empty() && self.serving() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MESSAGES: &[&str] = &[
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"two"}"#,
        r#"{"jsonrpc":"2.0","method":"p\u0069ng","params":{"a":[1]},"id":null}"#,
        r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#,
        r#"{"jsonrpc":"2.0","method":"update"}"#,
        r#"[{"jsonrpc":"2.0","method":"a","id":9},{"jsonrpc":"2.0","method":"b"},1]"#,
        r#"[{"jsonrpc":"2.0","method":"c","id":10}]"#,
        r#"[]"#,
        r#"{"method":"v1","params":[],"id":14}"#,
        r#"{"method":"v1","params":[],"id":null}"#,
        r#"{"jsonrpc":"2.0","method":"ping","id":1"#,
        r#"{"jsonrpc":"2.0","result":1,"id":15}"#,
        r#"{"jsonrpc":"2.0","method":"a long method name that goes over the frame limit of the tight limits","id":16}"#,
    ];

    /// One step of a run: feed the next piece, take an event (and answer
    /// it now, later, or run it in the background), answer the oldest
    /// waiting call, finish a background notification, take the output.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Poll { answer: bool, background: bool },
        AnswerOldest,
        FinishNote,
        Transmit,
        Eof,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (any::<bool>(), any::<bool>()).prop_map(|(answer, background)| Step::Poll { answer, background }),
            1 => Just(Step::AnswerOldest),
            1 => Just(Step::FinishNote),
            1 => Just(Step::Transmit),
            1 => Just(Step::Eof),
        ]
    }

    /// What one connection did, step by step, with the state its limits
    /// and lifecycle read.
    fn run(general_only: bool, limits: &Limits, input: &[u8], cuts: &[usize], steps: &[Step]) -> Vec<String> {
        let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits.clone());
        conn.general_only = general_only;
        conn.set_report_refusals(true);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([input.len()]) {
            pieces.push(&input[at..c]);
            at = c;
        }
        let mut pieces = pieces.into_iter();
        let mut waiting = VecDeque::new();
        let mut log = Vec::new();
        let mut n = 0;
        for step in steps.iter().chain(std::iter::repeat_n(&Step::AnswerOldest, 64)) {
            if conn.wants_input() {
                match pieces.next() {
                    Some(p) => conn.handle_input(p).unwrap(),
                    None => conn.handle_eof(),
                }
            }
            match *step {
                Step::Poll { answer, background } => match conn.poll_event() {
                    Some(Event::Call {
                        ticket,
                        id,
                        method,
                        params,
                    }) => {
                        log.push(format!(
                            "call {} {} {method} {:?}",
                            ticket.number(),
                            id.as_json(),
                            params.as_str()
                        ));
                        n += 1;
                        let outcome = crate::message::result(&n);
                        if answer {
                            conn.respond(ticket, outcome).unwrap();
                        } else {
                            waiting.push_back((ticket, outcome));
                        }
                    }
                    Some(Event::Notification { method, params }) => {
                        log.push(format!("note {method} {:?}", params.as_str()));
                        if background {
                            conn.notification_started();
                        }
                    }
                    None => log.push("none".into()),
                },
                Step::AnswerOldest => {
                    if let Some((ticket, outcome)) = waiting.pop_front() {
                        conn.respond(ticket, outcome).unwrap();
                    }
                }
                Step::FinishNote => conn.notification_finished(),
                Step::Transmit => {
                    let mut out = Vec::new();
                    conn.poll_transmit(&mut out);
                    conn.handle_transmitted(out.len() / 2);
                    log.push(String::from_utf8_lossy(&out).into_owned());
                }
                Step::Eof => conn.handle_eof(),
            }
            while let Some(r) = conn.poll_refusal() {
                log.push(format!("refused {:?}", r.kind));
            }
            log.push(format!(
                "serving {} bytes {} in flight {} idle {} wants {} finished {}",
                conn.serving(),
                conn.serving_bytes(),
                conn.in_flight(),
                conn.is_idle(),
                conn.wants_input(),
                conn.is_finished()
            ));
        }
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        log.push(String::from_utf8_lossy(&out).into_owned());
        log
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A lone request handed out at once (`hand_out_request`) gives the
        /// events, tickets, charges, answers and lifecycle that the queue
        /// gives it (`accept` and the next turn of `poll_event`).
        #[test]
        fn lone_requests_skip_the_queue_with_the_same_outcome(
            messages in proptest::collection::vec(0..MESSAGES.len(), 0..20),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            steps in proptest::collection::vec(step(), 0..60),
            tight in any::<bool>(),
            version in prop_oneof![Just(Version::V2), Just(Version::Auto), Just(Version::V1)],
        ) {
            let mut limits = Limits { version, ..Limits::default() };
            if tight {
                limits.max_message_bytes = 80;
                limits.max_in_flight = 2;
                limits.max_buffered_out = 60;
                limits.max_in_flight_bytes = 100;
                limits.max_batch_len = 2;
            }
            let mut input = Vec::new();
            for m in messages {
                input.extend_from_slice(MESSAGES[m].as_bytes());
                input.push(b'\n');
            }
            let general = run(true, &limits, &input, &cuts, &steps);
            let quick = run(false, &limits, &input, &cuts, &steps);
            prop_assert_eq!(quick, general);
        }
    }
}
