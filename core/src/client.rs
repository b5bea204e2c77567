//! The client side of a connection: calls in, requests out; responses in,
//! matched answers out.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use crate::error::{Error, ErrorCode, ProtocolError, UsageError};
use crate::framing::{Framer, Newline};
use crate::id::Id;
use crate::limits::Limits;
use crate::message::{Accept, Incoming, Message, RawParams, Response, parse_message};
use crate::shell::Shell;
use crate::version::Version;

/// What happened to the calls of a [`ClientConnection`], produced by
/// [`ClientConnection::poll_event`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A call was answered. `response.id` is the id [`ClientConnection::call`]
    /// returned; the outcome is the peer's `result` or `error`.
    ///
    /// When the peer answers a whole batch (or a single call) with one error
    /// object whose id is `null`, every call of that message gets a
    /// `Response` carrying that error.
    Response(Response),
    /// The call's deadline passed before an answer arrived. The call is
    /// forgotten: a later answer is reported as
    /// [`ClientEvent::Unexpected`] with [`ProtocolError::UnmatchedResponse`].
    TimedOut {
        /// The id of the call.
        id: Id,
    },
    /// The input ended (or could no longer be framed) before the call was
    /// answered; no answer can arrive any more.
    Closed {
        /// The id of the call.
        id: Id,
    },
    /// The peer sent something that answers none of our calls: a response
    /// whose id matches no pending call (including a second response to an
    /// already answered call, and a late response to a timed-out call), or
    /// a message that is not a valid response. Pending calls are unaffected.
    Unexpected(ProtocolError),
}

/// One entry of a batch built with [`ClientConnection::batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchEntry {
    /// A request with an id: it will be answered.
    Call {
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
    /// A request without an id: it is never answered.
    Notification {
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
}

impl BatchEntry {
    /// A call entry.
    pub fn call(method: impl Into<String>, params: RawParams) -> Self {
        Self::Call {
            method: method.into(),
            params,
        }
    }

    /// A notification entry.
    pub fn notification(method: impl Into<String>, params: RawParams) -> Self {
        Self::Notification {
            method: method.into(),
            params,
        }
    }
}

/// A call awaiting its answer.
#[derive(Debug)]
struct Pending {
    id: Id,
    /// The message (single call or batch) it was sent in.
    group: u64,
    deadline: Option<Instant>,
}

/// The calls sent in one message, for attributing `null`-id errors.
#[derive(Debug)]
struct Group {
    /// Calls of the message still pending, in request order.
    calls: Vec<u64>,
    batch: bool,
    /// Whether any answer arrived for a call of this message.
    answered: bool,
}

/// The client half of the protocol, without framing: allocates ids, writes
/// requests, and matches parsed responses to pending calls.
///
/// [`ClientConnection`] and [`crate::conn::Peer`] are built on it. Events go into
/// a queue of the owner's event type, so the owner keeps one ordered queue.
#[derive(Debug)]
pub(crate) struct Caller {
    next_id: u64,
    next_group: u64,
    max_in_flight: usize,
    pending: HashMap<u64, Pending>,
    groups: BTreeMap<u64, Group>,
    deadlines: BTreeSet<(Instant, u64)>,
    /// The form our requests are written in.
    version: Version,
}

impl Caller {
    pub(crate) fn new(max_in_flight: usize) -> Self {
        Self {
            version: Version::V2,
            next_id: 1,
            next_group: 0,
            max_in_flight,
            pending: HashMap::new(),
            groups: BTreeMap::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// The same, writing our requests as `version` says.
    pub(crate) fn with_version(self, version: Version) -> Self {
        Self { version, ..self }
    }

    /// Calls awaiting an answer.
    pub(crate) fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn check_room(&self, calls: usize) -> Result<(), UsageError> {
        if self.pending.len().saturating_add(calls) > self.max_in_flight {
            return Err(UsageError::TooManyInFlight(self.max_in_flight));
        }
        Ok(())
    }

    fn alloc_id(&mut self) -> (u64, Id) {
        let n = self.next_id;
        // Ids are never reused, so a second answer to one can never be
        // taken for the answer to another call.
        self.next_id = self.next_id.wrapping_add(1).max(1);
        (n, Id::from(n))
    }

    fn new_group(&mut self, batch: bool) -> u64 {
        let g = self.next_group;
        self.next_group = self.next_group.wrapping_add(1);
        self.groups.insert(
            g,
            Group {
                calls: Vec::new(),
                batch,
                answered: false,
            },
        );
        g
    }

    fn register(&mut self, n: u64, id: Id, group: u64, deadline: Option<Instant>) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.calls.push(n);
        }
        if let Some(t) = deadline {
            self.deadlines.insert((t, n));
        }
        self.pending.insert(n, Pending { id, group, deadline });
    }

    /// Forgets the pending call `id`; whether it was pending.
    pub(crate) fn cancel(&mut self, id: &Id) -> bool {
        id.as_u64().and_then(|n| self.remove(n)).is_some()
    }

    /// Forgets call `n`; returns its id if it was pending.
    fn remove(&mut self, n: u64) -> Option<Id> {
        let p = self.pending.remove(&n)?;
        if let Some(t) = p.deadline {
            self.deadlines.remove(&(t, n));
        }
        if let Some(g) = self.groups.get_mut(&p.group) {
            g.calls.retain(|&c| c != n);
            if g.calls.is_empty() {
                self.groups.remove(&p.group);
            }
        }
        Some(p.id)
    }

    /// Writes a call into `out` (unframed) and returns its id.
    pub(crate) fn call(
        &mut self,
        method: &str,
        params: &RawParams,
        deadline: Option<Instant>,
        out: &mut Vec<u8>,
    ) -> Result<Id, UsageError> {
        self.check_room(1)?;
        let (n, id) = self.alloc_id();
        self.version.write_request(Some(&id), method, params, out);
        let group = self.new_group(false);
        self.register(n, id.clone(), group, deadline);
        Ok(id)
    }

    /// Writes a batch into `out` (unframed); returns each entry's id
    /// (`None` for notifications).
    pub(crate) fn batch(
        &mut self,
        entries: Vec<BatchEntry>,
        deadline: Option<Instant>,
        out: &mut Vec<u8>,
    ) -> Result<Vec<Option<Id>>, UsageError> {
        if self.version.sends_v1() {
            return Err(UsageError::BatchInV1);
        }
        if entries.is_empty() {
            return Err(UsageError::EmptyBatch);
        }
        let calls = entries
            .iter()
            .filter(|e| matches!(e, BatchEntry::Call { .. }))
            .count();
        self.check_room(calls)?;
        let group = (calls > 0).then(|| self.new_group(true));
        let mut ids = Vec::with_capacity(entries.len());
        out.push(b'[');
        for (i, entry) in entries.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match entry {
                BatchEntry::Call { method, params } => {
                    let (n, id) = self.alloc_id();
                    crate::message::write_request(Some(&id), &method, &params, out);
                    if let Some(group) = group {
                        self.register(n, id.clone(), group, deadline);
                    }
                    ids.push(Some(id));
                }
                BatchEntry::Notification { method, params } => {
                    crate::message::write_request(None, &method, &params, out);
                    ids.push(None);
                }
            }
        }
        out.push(b']');
        Ok(ids)
    }

    /// Matches a response to a call by id; `Err` gives the response back.
    fn take_match(&mut self, r: Response) -> Result<(Response, u64), Response> {
        let Some(n) = r.id.as_u64().filter(|n| self.pending.contains_key(n)) else {
            return Err(r);
        };
        let group = self.pending.get(&n).map(|p| p.group).unwrap_or_default();
        if let Some(g) = self.groups.get_mut(&group) {
            g.answered = true;
        }
        match self.remove(n) {
            Some(id) => Ok((
                Response {
                    id,
                    outcome: r.outcome,
                },
                group,
            )),
            None => Err(r),
        }
    }

    /// The oldest message none of whose calls was answered yet (only
    /// batches when `batch_only`).
    fn oldest_unanswered(&self, batch_only: bool) -> Option<u64> {
        self.groups
            .iter()
            .find(|(_, g)| !g.answered && (g.batch || !batch_only))
            .map(|(&k, _)| k)
    }

    /// Fails the calls still pending in `group` with the `null`-id errors,
    /// paired in order; calls left over get `missing` (or nothing when
    /// `missing` is `None`), errors left over are unmatched.
    fn fail_group<E: From<ClientEvent>>(
        &mut self,
        group: u64,
        nulls: &mut VecDeque<Error>,
        missing: Option<&Error>,
        events: &mut VecDeque<E>,
    ) {
        let calls = self
            .groups
            .get(&group)
            .map(|g| g.calls.clone())
            .unwrap_or_default();
        for n in calls {
            let error = match nulls.pop_front() {
                Some(e) => e,
                None => match missing {
                    Some(e) => e.clone(),
                    None => return,
                },
            };
            if let Some(id) = self.remove(n) {
                events.push_back(
                    ClientEvent::Response(Response {
                        id,
                        outcome: Err(error),
                    })
                    .into(),
                );
            }
        }
    }

    fn unmatched<E: From<ClientEvent>>(id: &Id, events: &mut VecDeque<E>) {
        events.push_back(
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse(id.as_json().to_owned())).into(),
        );
    }

    /// Handles a response that arrived on its own (not in an array).
    pub(crate) fn handle_single<E: From<ClientEvent>>(&mut self, r: Response, events: &mut VecDeque<E>) {
        let r = match self.take_match(r) {
            Ok((r, _)) => {
                events.push_back(ClientEvent::Response(r).into());
                return;
            }
            Err(r) => r,
        };
        // A `null`-id error answers a message the peer could not read as a
        // whole. The specification names the batch case (a batch rejected
        // as a whole); a single call we wrote is well-formed and only meets
        // it when it breaks a size limit. Servers take messages in order,
        // so it belongs to the oldest batch with no answer yet, else to the
        // oldest single call with no answer yet.
        if r.id.is_null() {
            if let Err(error) = &r.outcome {
                let group = self
                    .oldest_unanswered(true)
                    .or_else(|| self.oldest_unanswered(false));
                if let Some(group) = group {
                    let all = self.groups.get(&group).map_or(0, |g| g.calls.len());
                    let mut errors: VecDeque<Error> = std::iter::repeat_n(error.clone(), all).collect();
                    self.fail_group(group, &mut errors, None, events);
                    return;
                }
            }
        }
        Self::unmatched(&r.id, events);
    }

    /// Handles the responses that arrived together in one array.
    pub(crate) fn handle_batch<E: From<ClientEvent>>(
        &mut self,
        responses: Vec<Response>,
        events: &mut VecDeque<E>,
    ) {
        let mut touched = Vec::new();
        let mut nulls = VecDeque::new();
        for r in responses {
            match self.take_match(r) {
                Ok((r, group)) => {
                    events.push_back(ClientEvent::Response(r).into());
                    if !touched.contains(&group) {
                        touched.push(group);
                    }
                }
                Err(Response {
                    id,
                    outcome: Err(error),
                }) if id.is_null() => nulls.push_back(error),
                Err(r) => Self::unmatched(&r.id, events),
            }
        }
        // A batch is answered in one array, so calls of an answered batch
        // that the array left out will never be answered: the `null`-id
        // errors in the array (entries the peer could not read) are theirs,
        // in order, and any left over are failed rather than left hanging.
        let missing = Error::new(ErrorCode::INTERNAL_ERROR, "Internal error")
            .with_reason("the batch response has no answer for this call");
        let batches: Vec<u64> = touched
            .into_iter()
            .filter(|g| self.groups.get(g).is_some_and(|g| g.batch))
            .collect();
        if batches.is_empty() {
            if !nulls.is_empty() {
                if let Some(group) = self.oldest_unanswered(true) {
                    self.fail_group(group, &mut nulls, Some(&missing), events);
                }
            }
        } else {
            for group in batches {
                self.fail_group(group, &mut nulls, Some(&missing), events);
            }
        }
        for _ in nulls {
            Self::unmatched(&Id::null(), events);
        }
    }

    /// Reports a message that is not a valid response.
    pub(crate) fn handle_invalid<E: From<ClientEvent>>(
        &mut self,
        id: &Id,
        error: &Error,
        events: &mut VecDeque<E>,
    ) {
        let what = if id.is_null() {
            error.to_string()
        } else {
            format!("{error} (id {id})")
        };
        events.push_back(ClientEvent::Unexpected(ProtocolError::InvalidResponse(what)).into());
    }

    /// The earliest deadline of a pending call.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(t, _)| t)
    }

    /// Fails every call whose deadline is at or before `now`, earliest
    /// deadline first.
    pub(crate) fn handle_timeout<E: From<ClientEvent>>(&mut self, now: Instant, events: &mut VecDeque<E>) {
        while let Some(&(t, n)) = self.deadlines.first() {
            if t > now {
                break;
            }
            self.deadlines.remove(&(t, n));
            if let Some(id) = self.remove(n) {
                events.push_back(ClientEvent::TimedOut { id }.into());
            }
        }
    }

    /// Fails every pending call, in the order they were made: no answer can
    /// arrive any more.
    pub(crate) fn close<E: From<ClientEvent>>(&mut self, events: &mut VecDeque<E>) {
        let mut calls: Vec<u64> = self.pending.keys().copied().collect();
        calls.sort_unstable();
        for n in calls {
            if let Some(id) = self.remove(n) {
                events.push_back(ClientEvent::Closed { id }.into());
            }
        }
        self.groups.clear();
        self.deadlines.clear();
    }
}

/// The client side of one connection, with no I/O: make calls, take bytes
/// to send, feed it the bytes read, take matched answers.
///
/// Ids are allocated by the connection (`1`, `2`, …). Responses are matched
/// to calls by id in any order, single or inside batch arrays in any order;
/// a response that matches nothing (a duplicate, a late answer to a
/// timed-out call, an unknown id) is reported as
/// [`ClientEvent::Unexpected`], never a panic. Deadlines are checked when
/// the application passes the time in with
/// [`handle_timeout`](Self::handle_timeout).
///
/// Errors the peer could not tie to a call (`"id": null`) are attributed
/// as the specification implies: a single one fails every pending call of
/// the oldest batch with no answer yet (a batch rejected as a whole), or,
/// with no such batch, the oldest unanswered single call; inside a batch
/// array they fail, in order, the calls of that batch the array does not
/// answer by id. A batch is answered in one array, so calls of an answered
/// batch that the array leaves out fail with `-32603` rather than hang.
///
/// ```
/// use sansrpc::{Limits, RawParams};
/// use sansrpc::conn::{ClientConnection, ClientEvent, Newline};
///
/// let limits = Limits::default();
/// let mut conn = ClientConnection::new(Newline::new(limits.max_message_bytes), limits);
/// let id = conn.call("subtract", RawParams::from_json("[42,23]").unwrap(), None).unwrap();
///
/// let mut out = Vec::new();
/// conn.poll_transmit(&mut out);
/// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],\"id\":1}\n");
///
/// conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":1}\n").unwrap();
/// match conn.poll_event() {
///     Some(ClientEvent::Response(r)) => {
///         assert_eq!(r.id, id);
///         assert_eq!(r.parse::<i64>().unwrap(), 19);
///     }
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(conn.in_flight(), 0);
/// ```
#[derive(Debug)]
pub struct ClientConnection<F = Newline> {
    shell: Shell<F>,
    caller: Caller,
    events: VecDeque<ClientEvent>,
    closed: bool,
    scratch: Vec<u8>,
}

impl<F: Framer> ClientConnection<F> {
    /// A connection framed by `framer` and bounded by `limits`.
    ///
    /// A client keeps no idle deadline (see
    /// [`set_idle_timeout`](Self::set_idle_timeout)); the write-progress
    /// deadline ([`Limits::idle_timeout`]) applies.
    pub fn new(framer: F, limits: Limits) -> Self {
        Self {
            caller: Caller::new(limits.max_in_flight).with_version(limits.version),
            shell: Shell::new(framer, limits, false),
            events: VecDeque::new(),
            closed: false,
            scratch: Vec::new(),
        }
    }

    /// The limits this connection enforces.
    pub fn limits(&self) -> &Limits {
        &self.shell.limits
    }

    /// Sets an idle deadline (none by default for a client): with nothing
    /// pending for that long, the connection closes.
    pub fn set_idle_timeout(&mut self, idle: Option<std::time::Duration>) {
        self.shell.set_idle_timeout(idle);
    }

    fn check_open(&self) -> Result<(), UsageError> {
        if self.shell.input_ended() || self.closed {
            return Err(UsageError::Closed);
        }
        if self.shell.out_full() {
            return Err(UsageError::OutputFull(self.shell.limits.max_buffered_out));
        }
        Ok(())
    }

    /// Whether [`Limits::max_buffered_out`] bytes await the transport: a
    /// call, notification or batch fails with [`UsageError::OutputFull`]
    /// until they are taken (a driver holds its callers' requests
    /// meanwhile).
    pub fn is_output_full(&self) -> bool {
        self.shell.out_full()
    }

    fn push_out(&mut self) {
        // The next message is written into the buffer the shell keeps.
        let spare = self.shell.take_spare();
        let message = std::mem::replace(&mut self.scratch, spare);
        self.shell.push_out(message);
    }

    /// Sends a call to `method`; its answer (or its failure) comes later as
    /// an event carrying the returned id.
    ///
    /// `deadline`, if given, is when [`handle_timeout`](Self::handle_timeout)
    /// gives up on the call. Fails with [`UsageError::TooManyInFlight`] when
    /// [`Limits::max_in_flight`] calls already await an answer, with
    /// [`UsageError::OutputFull`] while [`Limits::max_buffered_out`] bytes
    /// wait to be transmitted, and with [`UsageError::Closed`] after the
    /// input ended.
    pub fn call(
        &mut self,
        method: &str,
        params: RawParams,
        deadline: Option<Instant>,
    ) -> Result<Id, UsageError> {
        self.check_open()?;
        self.scratch.clear();
        let id = self.caller.call(method, &params, deadline, &mut self.scratch)?;
        self.push_out();
        Ok(id)
    }

    /// Sends a notification: a request that is never answered.
    ///
    /// Fails as [`call`](Self::call) does, except for the in-flight limit.
    pub fn notify(&mut self, method: &str, params: RawParams) -> Result<(), UsageError> {
        self.check_open()?;
        self.scratch.clear();
        self.shell
            .limits
            .version
            .write_request(None, method, &params, &mut self.scratch);
        self.push_out();
        Ok(())
    }

    /// Sends calls and notifications as one batch array; returns each
    /// entry's id, in order (`None` for notifications).
    ///
    /// `deadline` applies to every call of the batch. Fails with
    /// [`UsageError::EmptyBatch`] for no entries, with
    /// [`UsageError::TooManyInFlight`] when the batch's calls would exceed
    /// [`Limits::max_in_flight`] (nothing is sent then), and otherwise as
    /// [`call`](Self::call) does.
    pub fn batch(
        &mut self,
        entries: impl IntoIterator<Item = BatchEntry>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Option<Id>>, UsageError> {
        self.check_open()?;
        self.scratch.clear();
        let ids = self
            .caller
            .batch(entries.into_iter().collect(), deadline, &mut self.scratch)?;
        self.push_out();
        Ok(ids)
    }

    /// Feeds bytes read from the transport. Nothing is parsed until
    /// [`poll_event`](Self::poll_event) is called.
    ///
    /// Read only while [`wants_input`](Self::wants_input) is true: that is
    /// what keeps the input buffer bounded. Fails with
    /// [`UsageError::Closed`] after [`handle_eof`](Self::handle_eof).
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError> {
        self.shell.handle_input(bytes)
    }

    /// Tells the connection that the peer will send nothing more. Complete
    /// messages still buffered are still matched; then every call still
    /// pending fails with [`ClientEvent::Closed`].
    pub fn handle_eof(&mut self) {
        self.shell.handle_eof();
    }

    /// Stops input now (a graceful close): nothing more is read or parsed,
    /// nothing more can be sent, and every call still pending fails with
    /// [`ClientEvent::Closed`]. What is queued is still transmitted.
    pub fn close_input(&mut self) {
        self.shell.input_closed = true;
    }

    /// The next event, or `None` when more input (or time) is needed.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            let next = if self.shell.input_closed || self.shell.timed_out() {
                None
            } else {
                self.shell.framer.next_frame()
            };
            match next {
                Some(Ok(frame)) => {
                    self.shell.note_progress();
                    let message = parse_message(&frame, &self.shell.limits, Accept::Responses);
                    self.accept(message);
                }
                Some(Err(e)) => self.events.push_back(ClientEvent::Unexpected(e)),
                None => {
                    if self.shell.input_ended() && !self.closed {
                        self.closed = true;
                        self.caller.close(&mut self.events);
                        continue;
                    }
                    return None;
                }
            }
        }
    }

    fn accept(&mut self, message: Message) {
        accept_responses(&mut self.caller, message, &mut self.events);
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

    /// Reports that the transport wrote `bytes` of what it was handed (see
    /// [`crate::conn::ServerConnection::handle_transmitted`]).
    pub fn handle_transmitted(&mut self, bytes: usize) {
        self.shell.handle_transmitted(bytes);
    }

    /// The earliest deadline: of a pending call, or of the connection
    /// itself (the write-progress deadline, and an idle deadline if one was
    /// set). When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (
            self.caller.poll_timeout(),
            self.shell.poll_timeout(self.is_idle()),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Passes the time in. Fails every pending call whose deadline is at
    /// or before `now` with [`ClientEvent::TimedOut`], earliest first; when
    /// a connection deadline passed, the connection is closed (pending
    /// calls fail with [`ClientEvent::Closed`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.caller.handle_timeout(now, &mut self.events);
        let idle = self.is_idle();
        if self.shell.handle_timeout(now, idle) && !self.closed {
            self.closed = true;
            self.caller.close(&mut self.events);
        }
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

    /// Forgets pending call `id` (its caller gave up): it no longer counts
    /// against the in-flight limit, and a response that arrives for it
    /// later is reported as unmatched. Returns whether the call was pending.
    pub fn cancel(&mut self, id: &Id) -> bool {
        self.caller.cancel(id)
    }

    /// Calls sent and not yet answered, timed out or closed.
    pub fn pending_calls(&self) -> usize {
        self.caller.in_flight()
    }

    /// The remote's work we owe: always `0` for a client.
    pub fn serving(&self) -> usize {
        0
    }

    /// Unanswered calls on the connection, both ways; for a client the
    /// same as [`pending_calls`](Self::pending_calls).
    pub fn in_flight(&self) -> usize {
        self.pending_calls()
    }

    /// Whether the transport should read more input now: false after EOF,
    /// once the input can no longer be framed, and while events wait to be
    /// polled.
    pub fn wants_input(&self) -> bool {
        self.shell.reading() && self.events.is_empty()
    }

    /// Whether the connection has nothing to do: no call pending, nothing
    /// to send, no event waiting. A
    /// partial message does not count, so idle timeouts also end slow-drip
    /// connections.
    pub fn is_idle(&self) -> bool {
        self.in_flight() == 0 && self.shell.out_is_empty() && self.events.is_empty()
    }

    /// Whether the connection is done: a deadline closed it, or the input
    /// ended (or could no longer be framed), every event was polled and
    /// everything was transmitted. The transport may close now.
    pub fn is_finished(&mut self) -> bool {
        if self.shell.timed_out() && self.events.is_empty() {
            return true;
        }
        if !self.shell.input_ended() || !self.shell.out_is_empty() {
            return false;
        }
        if let Some(event) = self.poll_event() {
            self.events.push_front(event);
            return false;
        }
        self.closed && self.events.is_empty() && self.in_flight() == 0
    }
}

/// Hands the responses in `message` to `caller`; anything else in it is
/// reported as an invalid response and never answered.
pub(crate) fn accept_responses<E: From<ClientEvent>>(
    caller: &mut Caller,
    message: Message,
    events: &mut VecDeque<E>,
) {
    let not_a_response = || Error::invalid_request().with_reason("expected a response");
    match message {
        Message::Rejected(error) => caller.handle_invalid(&Id::null(), &error, events),
        Message::Single(Incoming::Response(r)) | Message::V1(Incoming::Response(r)) => {
            caller.handle_single(r, events)
        }
        Message::Single(Incoming::Invalid { id, error } | Incoming::InvalidResponse { id, error })
        | Message::V1(Incoming::Invalid { id, error } | Incoming::InvalidResponse { id, error }) => {
            caller.handle_invalid(&id, &error, events)
        }
        Message::Single(_) | Message::V1(_) => caller.handle_invalid(&Id::null(), &not_a_response(), events),
        Message::Batch(entries) => {
            let mut responses = Vec::with_capacity(entries.len());
            for entry in entries {
                match entry {
                    Incoming::Response(r) => responses.push(r),
                    Incoming::Invalid { id, error } | Incoming::InvalidResponse { id, error } => {
                        caller.handle_invalid(&id, &error, events)
                    }
                    _ => caller.handle_invalid(&Id::null(), &not_a_response(), events),
                }
            }
            if !responses.is_empty() {
                caller.handle_batch(responses, events);
            }
        }
    }
}

impl BatchEntry {
    /// A call entry with typed params (a tuple for positional, a struct or
    /// map for named, `()` for none): no [`RawParams`] to build by hand.
    ///
    /// ```
    /// use sansrpc::BatchEntry;
    ///
    /// let entries = [
    ///     BatchEntry::call_with("subtract", &(42, 23))?,
    ///     BatchEntry::notification_with("log", &["hello"])?,
    ///     BatchEntry::call_with("ping", &())?,
    /// ];
    /// # Ok::<(), sansrpc::UsageError>(())
    /// ```
    pub fn call_with<P: serde::Serialize + ?Sized>(
        method: impl Into<String>,
        params: &P,
    ) -> Result<Self, UsageError> {
        Ok(Self::call(method, RawParams::for_call(params)?))
    }

    /// A notification entry with typed params; see
    /// [`call_with`](Self::call_with).
    pub fn notification_with<P: serde::Serialize + ?Sized>(
        method: impl Into<String>,
        params: &P,
    ) -> Result<Self, UsageError> {
        Ok(Self::notification(method, RawParams::for_call(params)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ev(events: &mut VecDeque<ClientEvent>) -> Vec<ClientEvent> {
        events.drain(..).collect()
    }

    fn resp(id: Id, result: &str) -> Response {
        Response {
            id,
            outcome: Ok(serde_json::value::RawValue::from_string(result.to_owned()).unwrap()),
        }
    }

    fn err(id: Id, e: Error) -> Response {
        Response { id, outcome: Err(e) }
    }

    #[test]
    fn ids_count_from_one() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let a = c.call("a", &RawParams::none(), None, &mut out).unwrap();
        let b = c.call("b", &RawParams::none(), None, &mut out).unwrap();
        assert_eq!((a.as_json(), b.as_json()), ("1", "2"));
        assert_eq!(
            out,
            br#"{"jsonrpc":"2.0","method":"a","id":1}{"jsonrpc":"2.0","method":"b","id":2}"#
        );
    }

    #[test]
    fn batch_writes_array_and_checks_limits() {
        let mut c = Caller::new(2);
        let mut out = Vec::new();
        assert_eq!(c.batch(vec![], None, &mut out), Err(UsageError::EmptyBatch));
        let three = vec![
            BatchEntry::call("a", RawParams::none()),
            BatchEntry::call("b", RawParams::none()),
            BatchEntry::call("c", RawParams::none()),
        ];
        assert_eq!(
            c.batch(three, None, &mut out),
            Err(UsageError::TooManyInFlight(2))
        );
        assert!(out.is_empty());
        let ids = c
            .batch(
                vec![
                    BatchEntry::call("a", RawParams::from_json("[1]").unwrap()),
                    BatchEntry::notification("n", RawParams::none()),
                ],
                None,
                &mut out,
            )
            .unwrap();
        assert_eq!(ids, vec![Some(Id::from(1u64)), None]);
        assert_eq!(
            out,
            br#"[{"jsonrpc":"2.0","method":"a","params":[1],"id":1},{"jsonrpc":"2.0","method":"n"}]"#
        );
        // Only the batch's call counts as in flight.
        assert_eq!(c.in_flight(), 1);
    }

    #[test]
    fn null_error_fails_oldest_unanswered_message() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let one = c.call("x", &RawParams::none(), None, &mut out).unwrap();
        let batch = c
            .batch(
                vec![
                    BatchEntry::call("a", RawParams::none()),
                    BatchEntry::call("b", RawParams::none()),
                ],
                None,
                &mut out,
            )
            .unwrap();
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        c.handle_single(resp(one.clone(), "0"), &mut events);
        c.handle_single(err(Id::null(), Error::invalid_request()), &mut events);
        let got = ev(&mut events);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], ClientEvent::Response(resp(one, "0")));
        for (e, id) in got[1..].iter().zip(batch.iter().flatten()) {
            assert_eq!(
                e,
                &ClientEvent::Response(err(id.clone(), Error::invalid_request()))
            );
        }
        assert_eq!(c.in_flight(), 0);
        // Nothing left to attribute a further null error to.
        c.handle_single(err(Id::null(), Error::parse_error()), &mut events);
        assert_eq!(
            ev(&mut events),
            vec![ClientEvent::Unexpected(ProtocolError::UnmatchedResponse(
                "null".into()
            ))]
        );
    }

    #[test]
    fn null_error_prefers_a_batch_over_an_older_single_call() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let single = c.call("x", &RawParams::none(), None, &mut out).unwrap();
        let batch = c
            .batch(vec![BatchEntry::call("a", RawParams::none())], None, &mut out)
            .unwrap();
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        c.handle_single(err(Id::null(), Error::invalid_request()), &mut events);
        c.handle_single(err(Id::null(), Error::parse_error()), &mut events);
        assert_eq!(
            ev(&mut events),
            vec![
                ClientEvent::Response(err(batch[0].clone().unwrap(), Error::invalid_request())),
                ClientEvent::Response(err(single, Error::parse_error())),
            ]
        );
    }

    #[test]
    fn batch_array_null_entries_pair_with_unanswered_calls() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let ids: Vec<Id> = c
            .batch(
                (0..3).map(|_| BatchEntry::call("m", RawParams::none())).collect(),
                None,
                &mut out,
            )
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        c.handle_batch(
            vec![
                err(Id::null(), Error::invalid_request()),
                resp(ids[1].clone(), "true"),
            ],
            &mut events,
        );
        let got = ev(&mut events);
        assert_eq!(got[0], ClientEvent::Response(resp(ids[1].clone(), "true")));
        assert_eq!(
            got[1],
            ClientEvent::Response(err(ids[0].clone(), Error::invalid_request()))
        );
        match &got[2] {
            ClientEvent::Response(Response { id, outcome: Err(e) }) => {
                assert_eq!(id, &ids[2]);
                assert_eq!(e.code(), ErrorCode::INTERNAL_ERROR);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn timeouts_fire_in_deadline_order() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let t0 = Instant::now();
        let late = c
            .call(
                "a",
                &RawParams::none(),
                Some(t0 + Duration::from_secs(2)),
                &mut out,
            )
            .unwrap();
        let none = c.call("b", &RawParams::none(), None, &mut out).unwrap();
        let early = c
            .call(
                "c",
                &RawParams::none(),
                Some(t0 + Duration::from_secs(1)),
                &mut out,
            )
            .unwrap();
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        c.handle_timeout(t0, &mut events);
        assert!(events.is_empty());
        c.handle_timeout(t0 + Duration::from_secs(5), &mut events);
        assert_eq!(
            ev(&mut events),
            vec![
                ClientEvent::TimedOut { id: early },
                ClientEvent::TimedOut { id: late }
            ]
        );
        assert_eq!(c.poll_timeout(), None);
        c.close(&mut events);
        assert_eq!(ev(&mut events), vec![ClientEvent::Closed { id: none }]);
    }

    #[test]
    fn answered_call_no_longer_times_out() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        let t0 = Instant::now();
        let id = c.call("a", &RawParams::none(), Some(t0), &mut out).unwrap();
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        c.handle_single(resp(id, "1"), &mut events);
        assert_eq!(c.poll_timeout(), None);
        events.clear();
        c.handle_timeout(t0 + Duration::from_secs(1), &mut events);
        assert!(events.is_empty());
    }

    #[test]
    fn non_numeric_ids_are_unmatched() {
        let mut c = Caller::new(8);
        let mut out = Vec::new();
        c.call("a", &RawParams::none(), None, &mut out).unwrap();
        let mut events: VecDeque<ClientEvent> = VecDeque::new();
        for id in [Id::from("1"), Id::from_json("1.0").unwrap(), Id::from(-1i64)] {
            c.handle_single(resp(id.clone(), "1"), &mut events);
            assert_eq!(
                ev(&mut events),
                vec![ClientEvent::Unexpected(ProtocolError::UnmatchedResponse(
                    id.as_json().into()
                ))]
            );
        }
        assert_eq!(c.in_flight(), 1);
    }
}
