//! Both sides on one connection, for transports where either end may call
//! the other.

use std::collections::VecDeque;
use std::time::Instant;

use crate::client::{BatchEntry, Caller, ClientEvent};
use crate::error::{ProtocolError, RejectionKind, UsageError};
use crate::framing::{Framer, Newline};
use crate::id::Id;
use crate::limits::Limits;
use crate::message::{Accept, Incoming, Message, Outcome, RawParams, Response, parse_message};
use crate::server::{Event, Refusal, Responder, Ticket};
use crate::shell::Shell;

/// Work and answers for the application, produced by [`Peer::poll_event`]:
/// the remote's requests (as a server sees them) and what became of our own
/// calls (as a client sees it).
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum PeerEvent {
    /// The remote called us: run it, then answer with
    /// [`Peer::respond`]`(ticket, ..)`.
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
    /// The remote sent us a notification: run it; nothing is sent back.
    Notification {
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
    /// One of our calls was answered (see [`ClientEvent::Response`]).
    Response(Response),
    /// One of our calls passed its deadline (see [`ClientEvent::TimedOut`]).
    TimedOut {
        /// The id of the call.
        id: Id,
    },
    /// The input ended before one of our calls was answered (see
    /// [`ClientEvent::Closed`]).
    Closed {
        /// The id of the call.
        id: Id,
    },
    /// The remote sent a response that answers none of our calls (see
    /// [`ClientEvent::Unexpected`]).
    Unexpected(ProtocolError),
}

impl From<Event> for PeerEvent {
    fn from(e: Event) -> Self {
        match e {
            Event::Call {
                ticket,
                id,
                method,
                params,
            } => Self::Call {
                ticket,
                id,
                method,
                params,
            },
            Event::Notification { method, params } => Self::Notification { method, params },
        }
    }
}

impl PeerEvent {
    /// Splits the event by side: the remote's requests as a server
    /// [`Event`] (ready for [`crate::Router::dispatch`]), answers to our own
    /// calls as a [`ClientEvent`].
    pub fn into_event(self) -> Result<Event, ClientEvent> {
        match self {
            Self::Call {
                ticket,
                id,
                method,
                params,
            } => Ok(Event::Call {
                ticket,
                id,
                method,
                params,
            }),
            Self::Notification { method, params } => Ok(Event::Notification { method, params }),
            Self::Response(r) => Err(ClientEvent::Response(r)),
            Self::TimedOut { id } => Err(ClientEvent::TimedOut { id }),
            Self::Closed { id } => Err(ClientEvent::Closed { id }),
            Self::Unexpected(e) => Err(ClientEvent::Unexpected(e)),
        }
    }
}

impl From<ClientEvent> for PeerEvent {
    fn from(e: ClientEvent) -> Self {
        match e {
            ClientEvent::Response(r) => Self::Response(r),
            ClientEvent::TimedOut { id } => Self::TimedOut { id },
            ClientEvent::Closed { id } => Self::Closed { id },
            ClientEvent::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// Both ends of the protocol on one connection, with no I/O: either side
/// may call the other.
///
/// Incoming requests are handled exactly as [`crate::conn::ServerConnection`]
/// handles them (invalid ones are answered by the peer itself, batches are
/// answered in request order, notifications never), and incoming responses
/// exactly as [`crate::conn::ClientConnection`] matches them. A batch array from
/// the remote may mix requests and responses; the answer to its requests
/// contains only those answers.
///
/// Backpressure follows the server's rules: while
/// [`Limits::max_in_flight`] remote calls await [`respond`](Self::respond),
/// or [`Limits::max_buffered_out`] bytes await
/// [`poll_transmit`](Self::poll_transmit), no more input is parsed — which
/// also delays the answers to our own calls until the application catches
/// up.
///
/// ```
/// use sansrpc::{Limits, RawParams};
/// use sansrpc::conn::{Newline, Peer, PeerEvent};
///
/// let limits = Limits::default();
/// let mut a = Peer::new(Newline::new(limits.max_message_bytes), limits.clone());
/// let mut b = Peer::new(Newline::new(limits.max_message_bytes), limits);
///
/// // A calls B.
/// let id = a.call("ping", RawParams::none(), None).unwrap();
/// let mut wire = Vec::new();
/// a.poll_transmit(&mut wire);
/// b.handle_input(&wire).unwrap();
///
/// // B runs it and answers.
/// match b.poll_event() {
///     Some(PeerEvent::Call { ticket, method, .. }) => {
///         assert_eq!(method, "ping");
///         b.respond(ticket, sansrpc::result(&"pong")).unwrap();
///     }
///     other => panic!("{other:?}"),
/// }
/// wire.clear();
/// b.poll_transmit(&mut wire);
/// a.handle_input(&wire).unwrap();
///
/// // A gets the answer.
/// match a.poll_event() {
///     Some(PeerEvent::Response(r)) => {
///         assert_eq!(r.id, id);
///         assert_eq!(r.parse::<String>().unwrap(), "pong");
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Peer<F = Newline> {
    shell: Shell<F>,
    responder: Responder,
    caller: Caller,
    events: VecDeque<PeerEvent>,
    closed: bool,
    scratch: Vec<u8>,
    answers: Vec<Vec<u8>>,
    server_events: VecDeque<Event>,
    /// The remote's requests parsed while the in-flight limit holds, in
    /// order, and how many of them are calls: parsing goes on past the
    /// limit (up to `max_in_flight` held requests) so answers to our own
    /// calls keep arriving while every handler awaits one of them.
    /// Each with the length of its message, its charge against
    /// [`Limits::max_in_flight_bytes`]; `held_bytes` is their sum, and
    /// parsing also pauses at that limit.
    held: VecDeque<(PeerEvent, usize)>,
    held_calls: usize,
    held_bytes: usize,
    /// Notifications running in the background.
    running: usize,
}

impl<F: Framer> Peer<F> {
    /// A connection framed by `framer` and bounded by `limits`.
    pub fn new(framer: F, limits: Limits) -> Self {
        Self {
            caller: Caller::new(limits.max_in_flight).with_version(limits.version),
            responder: Responder::new(limits.version),
            shell: Shell::new(framer, limits, true),
            events: VecDeque::new(),
            closed: false,
            scratch: Vec::new(),
            answers: Vec::new(),
            server_events: VecDeque::new(),
            held: VecDeque::new(),
            held_calls: 0,
            held_bytes: 0,
            running: 0,
        }
    }

    /// The limits this connection enforces.
    pub fn limits(&self) -> &Limits {
        &self.shell.limits
    }

    /// Overrides the idle deadline ([`Limits::idle_timeout`] by default;
    /// `None` disables it, as the end that opened the connection may want).
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

    fn push_scratch(&mut self) {
        // The next message is written into the buffer the shell keeps.
        let spare = self.shell.take_spare();
        let message = std::mem::replace(&mut self.scratch, spare);
        self.shell.push_out(message);
    }

    /// Calls `method` on the remote; the answer comes later as
    /// [`PeerEvent::Response`] carrying the returned id.
    ///
    /// Ids are allocated `1`, `2`, … independently of the remote's ids.
    /// Fails as [`crate::conn::ClientConnection::call`] does.
    pub fn call(
        &mut self,
        method: &str,
        params: RawParams,
        deadline: Option<Instant>,
    ) -> Result<Id, UsageError> {
        self.check_open()?;
        self.scratch.clear();
        let id = self.caller.call(method, &params, deadline, &mut self.scratch)?;
        self.push_scratch();
        Ok(id)
    }

    /// Sends the remote a notification: a request that is never answered.
    ///
    /// Fails as [`crate::conn::ClientConnection::notify`] does.
    pub fn notify(&mut self, method: &str, params: RawParams) -> Result<(), UsageError> {
        self.check_open()?;
        self.scratch.clear();
        self.shell
            .limits
            .version
            .write_request(None, method, &params, &mut self.scratch);
        self.push_scratch();
        Ok(())
    }

    /// Sends calls and notifications to the remote as one batch array;
    /// returns each entry's id, in order (`None` for notifications).
    ///
    /// Fails as [`crate::conn::ClientConnection::batch`] does.
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
        self.push_scratch();
        Ok(ids)
    }

    /// Answers the remote's call that `ticket` was issued for. Still allowed
    /// after EOF, so calls in flight can finish.
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

    /// Records that a notification from the remote keeps running in the
    /// background (see [`crate::conn::ServerConnection::notification_started`]).
    pub fn notification_started(&mut self) {
        self.running += 1;
        self.responder.note_started();
    }

    /// Records that a background notification is done.
    pub fn notification_finished(&mut self) {
        self.running = self.running.saturating_sub(1);
        self.responder.note_finished();
        self.shell.note_progress();
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

    /// Tells the connection that the remote will send nothing more.
    /// Complete messages still buffered are still handled; then every call
    /// of ours still pending fails with [`PeerEvent::Closed`]. The remote's
    /// calls in flight may still be answered, and their answers are still
    /// transmitted.
    pub fn handle_eof(&mut self) {
        self.shell.handle_eof();
    }

    /// Stops input now, for a graceful shutdown: nothing more is read or
    /// parsed (complete messages still buffered and a partial one are
    /// dropped), the remote's calls already handed out may still be
    /// answered and transmitted, and our own pending calls fail with
    /// [`PeerEvent::Closed`]. [`is_finished`](Self::is_finished) then
    /// turns true once the answers are out.
    pub fn close_input(&mut self) {
        self.shell.input_closed = true;
    }

    /// Whether more frames may be parsed: the held requests and the
    /// outgoing buffer are under their bounds.
    fn may_parse(&self) -> bool {
        self.held.len() < self.shell.limits.max_in_flight.max(1)
            && (self.held_bytes == 0 || self.held_bytes < self.shell.limits.max_in_flight_bytes)
            && !self.shell.out_full()
            && !self.responder.refusals_full()
    }

    /// As [`ServerConnection::set_report_refusals`](crate::conn::ServerConnection::set_report_refusals):
    /// keeps every message of the remote's this peer answers by itself for
    /// [`poll_refusal`](Self::poll_refusal). Off by default.
    pub fn set_report_refusals(&mut self, on: bool) {
        self.responder.report_refusals(on);
    }

    /// The oldest refusal not yet taken (see
    /// [`set_report_refusals`](Self::set_report_refusals)).
    pub fn poll_refusal(&mut self) -> Option<Refusal> {
        self.responder.poll_refusal()
    }

    /// The next held request that may be handed out now.
    fn release(&mut self) -> Option<PeerEvent> {
        if self.serving() >= self.shell.limits.max_in_flight
            || self.responder.bytes_full(self.shell.limits.max_in_flight_bytes)
        {
            return None;
        }
        let (e, bytes) = self.held.pop_front()?;
        self.held_bytes = self.held_bytes.saturating_sub(bytes);
        let e = match e.into_event() {
            Ok(e) => {
                if matches!(e, Event::Call { .. }) {
                    self.held_calls = self.held_calls.saturating_sub(1);
                }
                self.responder.hand_out(&e, bytes);
                PeerEvent::from(e)
            }
            Err(other) => PeerEvent::from(other),
        };
        Some(e)
    }

    /// The next event, or `None` when more input (or time) is needed.
    ///
    /// At most [`Limits::max_in_flight`] of the remote's calls and
    /// background notifications are handed out unanswered at a time (the
    /// entries of a batch count one by one); past that, its requests are
    /// held (up to as many again, then reading pauses) while frames keep
    /// being parsed, so answers to our own calls are never stuck behind
    /// them.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.responder.settle();
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if let Some(e) = self.release() {
                return Some(e);
            }
            if !self.may_parse() {
                return None;
            }
            let next = if self.shell.input_closed || self.shell.timed_out() {
                None
            } else {
                self.shell.framer.next_frame()
            };
            let (message, bytes) = match next {
                Some(Ok(bytes)) => (
                    parse_message(&bytes, &self.shell.limits, Accept::Both),
                    bytes.len(),
                ),
                // As a server would: answer it, and keep going if the framer can.
                Some(Err(e)) => {
                    self.shell.note_progress();
                    let mut answers = std::mem::take(&mut self.answers);
                    self.responder
                        .refuse(RejectionKind::of_frame_error(&e), e.to_rpc_error(), &mut answers);
                    for m in answers.drain(..) {
                        self.shell.push_out(m);
                    }
                    self.answers = answers;
                    continue;
                }
                None => {
                    if self.shell.input_ended() && !self.closed {
                        self.closed = true;
                        self.caller.close(&mut self.events);
                        continue;
                    }
                    return None;
                }
            };
            self.shell.note_progress();
            self.accept(message, bytes);
        }
    }

    /// Takes in one message of `bytes` bytes.
    fn accept(&mut self, message: Message, bytes: usize) {
        let in_array = matches!(message, Message::Batch(_));
        let mut responses = Vec::new();
        let mut answers = std::mem::take(&mut self.answers);
        let (caller, events) = (&mut self.caller, &mut self.events);
        self.responder
            .accept(message, &mut self.server_events, &mut answers, &mut |r| match r {
                Incoming::Response(r) => responses.push(r),
                // Reported, never answered: its id numbers the remote's
                // own calls, so an error with it would answer one of them.
                Incoming::InvalidResponse { id, error } => caller.handle_invalid(&id, &error, events),
                _ => {}
            });
        for e in self.server_events.drain(..) {
            self.held_calls += usize::from(matches!(e, Event::Call { .. }));
            self.held_bytes += bytes;
            self.held.push_back((PeerEvent::from(e), bytes));
        }
        if in_array {
            if !responses.is_empty() {
                self.caller.handle_batch(responses, &mut self.events);
            }
        } else {
            for r in responses {
                self.caller.handle_single(r, &mut self.events);
            }
        }
        for m in answers.drain(..) {
            self.shell.push_out(m);
        }
        self.answers = answers;
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

    /// The earliest deadline: of one of our calls, or of the connection
    /// (see [`crate::conn::ServerConnection::poll_timeout`]).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (
            self.caller.poll_timeout(),
            self.shell.poll_timeout(self.is_idle()),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Passes the time in: fails every call of ours whose deadline is at or
    /// before `now` with [`PeerEvent::TimedOut`], earliest first, and
    /// closes the connection when one of its deadlines passed.
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

    /// The remote's calls handed out and not yet answered, plus its
    /// notifications running in the background (what the in-flight limit
    /// and [`wants_input`](Self::wants_input) count).
    pub fn serving(&self) -> usize {
        self.responder.in_flight().saturating_sub(self.held_calls) + self.running
    }

    /// Bytes of the remote's requests handed out and not yet finished
    /// (each charged its message's length), what
    /// [`Limits::max_in_flight_bytes`] bounds; the requests held past the
    /// limits are not counted here.
    pub fn serving_bytes(&self) -> usize {
        self.responder.held_bytes()
    }

    /// Unanswered calls on the connection, both ways:
    /// [`serving`](Self::serving) plus [`pending_calls`](Self::pending_calls).
    pub fn in_flight(&self) -> usize {
        self.serving() + self.pending_calls()
    }

    /// Forgets our pending call `id` (its caller gave up); a response that
    /// arrives for it later is reported as unmatched. Returns whether the
    /// call was pending.
    pub fn cancel(&mut self, id: &Id) -> bool {
        self.caller.cancel(id)
    }

    /// Our calls sent and not yet answered, timed out or closed.
    pub fn pending_calls(&self) -> usize {
        self.caller.in_flight()
    }

    /// Whether the transport should read more input now: false after EOF,
    /// while events wait to be polled, and while a limit applies
    /// backpressure.
    pub fn wants_input(&self) -> bool {
        self.shell.reading() && self.events.is_empty() && self.may_parse()
    }

    /// Whether the connection has nothing to do: no call in flight either
    /// way, nothing to send, no event waiting. A partial message does not
    /// count, so idle timeouts also end slow-drip connections; background
    /// notifications do not count either.
    pub fn is_idle(&self) -> bool {
        self.serving() == self.running
            && self.pending_calls() == 0
            && self.shell.out_is_empty()
            && self.events.is_empty()
            && self.held_calls == 0
    }

    /// Whether the connection is done: a deadline closed it, or the input
    /// ended (or could no longer be framed), every remote call was answered
    /// and every answer transmitted, every background notification
    /// finished, and every event was polled. The transport may close now.
    pub fn is_finished(&mut self) -> bool {
        if self.shell.timed_out() && self.events.is_empty() {
            return true;
        }
        if !self.shell.input_ended() || self.serving() > 0 || !self.shell.out_is_empty() {
            return false;
        }
        if let Some(event) = self.poll_event() {
            self.events.push_front(event);
            return false;
        }
        self.closed && self.events.is_empty() && self.shell.out_is_empty() && self.serving() == 0
    }
}
