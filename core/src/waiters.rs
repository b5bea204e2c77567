//! Who waits for which answer: the bookkeeping between a client connection
//! and the tasks that made its calls, without any runtime.

use std::collections::HashMap;
use std::time::Instant;

use crate::client::{BatchEntry, ClientConnection, ClientEvent};
use crate::error::{ProtocolError, UsageError};
use crate::framing::Framer;
use crate::id::Id;
use crate::message::{Outcome, RawParams};
use crate::peer::Peer;

/// The calling verbs [`ClientConnection`] and [`Peer`] share, so one
/// adapter loop can make calls through either.
pub trait Requester {
    /// Sends a call; returns its id.
    fn call(&mut self, method: &str, params: RawParams, deadline: Option<Instant>) -> Result<Id, UsageError>;
    /// Sends a notification.
    fn notify(&mut self, method: &str, params: RawParams) -> Result<(), UsageError>;
    /// Sends a batch; returns the id of each call entry (`None` for
    /// notifications), in order.
    fn batch(
        &mut self,
        entries: Vec<BatchEntry>,
        deadline: Option<Instant>,
    ) -> Result<Vec<Option<Id>>, UsageError>;
    /// Forgets a pending call whose caller gave up.
    fn cancel(&mut self, id: &Id) -> bool;
    /// Whether the outgoing buffer is full: sending fails with
    /// [`UsageError::OutputFull`] until the transport takes it.
    fn is_output_full(&self) -> bool;
    /// Closes the connection gracefully (see [`crate::conn::Connection::close_input`]).
    fn close_input(&mut self);
}

macro_rules! requester {
    ($t:ty) => {
        impl<F: Framer> Requester for $t {
            fn call(
                &mut self,
                method: &str,
                params: RawParams,
                deadline: Option<Instant>,
            ) -> Result<Id, UsageError> {
                Self::call(self, method, params, deadline)
            }
            fn notify(&mut self, method: &str, params: RawParams) -> Result<(), UsageError> {
                Self::notify(self, method, params)
            }
            fn batch(
                &mut self,
                entries: Vec<BatchEntry>,
                deadline: Option<Instant>,
            ) -> Result<Vec<Option<Id>>, UsageError> {
                Self::batch(self, entries, deadline)
            }
            fn cancel(&mut self, id: &Id) -> bool {
                Self::cancel(self, id)
            }
            fn is_output_full(&self) -> bool {
                Self::is_output_full(self)
            }
            fn close_input(&mut self) {
                Self::close_input(self)
            }
        }
    };
}

requester!(ClientConnection<F>);
requester!(Peer<F>);

/// Why a call ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallFailure {
    /// Its deadline passed.
    TimedOut,
    /// The connection ended first.
    Closed,
}

/// A waiter whose wait is over, with what it waited for.
#[derive(Debug)]
#[non_exhaustive]
pub enum Settled<C, B> {
    /// A single call ended: its outcome, or why there is none.
    Call(C, Result<Outcome, CallFailure>),
    /// Every call of a batch ended: one entry per request in request order
    /// (`None` for notifications), or the first failure among them.
    Batch(B, Result<Vec<Option<Outcome>>, CallFailure>),
    /// The event concerned no waiter: the remote misbehaved.
    Unexpected(ProtocolError),
}

enum Waiter<C> {
    Single(C),
    InBatch { batch: u64, index: usize },
}

struct BatchWait<B> {
    slots: Vec<Option<Outcome>>,
    remaining: usize,
    failure: Option<CallFailure>,
    reply: B,
}

/// Matches a client connection's events to whoever waits for them: `C` is
/// what a single call's caller waits on (say, a oneshot sender), `B` what a
/// batch's caller waits on. Adapters keep one per connection task.
///
/// ```
/// use sansrpc::{Limits, RawParams};
/// use sansrpc::conn::{ClientConnection, Newline, Settled, Waiters};
///
/// let mut conn = ClientConnection::new(Newline::new(1024), Limits::default());
/// let mut waiters: Waiters<&str, ()> = Waiters::new();
/// let id = conn.call("ping", RawParams::none(), None).unwrap();
/// waiters.call(id, "the ping task");
/// conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n").unwrap();
/// let event = conn.poll_event().unwrap();
/// match waiters.on_event(event) {
///     Some(Settled::Call(who, Ok(Ok(result)))) => {
///         assert_eq!(who, "the ping task");
///         assert_eq!(result.get(), "\"pong\"");
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub struct Waiters<C, B> {
    calls: HashMap<Id, Waiter<C>>,
    batches: HashMap<u64, BatchWait<B>>,
    next_batch: u64,
}

impl<C, B> Default for Waiters<C, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C, B> std::fmt::Debug for Waiters<C, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiters")
            .field("calls", &self.calls.len())
            .field("batches", &self.batches.len())
            .finish()
    }
}

impl<C, B> Waiters<C, B> {
    /// No one waiting.
    pub fn new() -> Self {
        Self {
            calls: HashMap::new(),
            batches: HashMap::new(),
            next_batch: 0,
        }
    }

    /// Records that `reply` waits for call `id`.
    pub fn call(&mut self, id: Id, reply: C) {
        self.calls.insert(id, Waiter::Single(reply));
    }

    /// Records that `reply` waits for the calls of a batch (`ids` as
    /// returned by `batch`). A batch of notifications only is settled at
    /// once: it is returned.
    pub fn batch(&mut self, ids: &[Option<Id>], reply: B) -> Option<Settled<C, B>> {
        let batch = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let mut remaining = 0;
        for (index, id) in ids.iter().enumerate() {
            if let Some(id) = id {
                remaining += 1;
                self.calls.insert(id.clone(), Waiter::InBatch { batch, index });
            }
        }
        let slots = ids.iter().map(|_| None).collect();
        if remaining == 0 {
            return Some(Settled::Batch(reply, Ok(slots)));
        }
        self.batches.insert(
            batch,
            BatchWait {
                slots,
                remaining,
                failure: None,
                reply,
            },
        );
        None
    }

    /// Calls still awaited.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is awaited.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Stops waiting for call `id` (its caller went away); the batch it
    /// belongs to, if any, then fails as closed once the rest ends.
    pub fn forget(&mut self, id: &Id) -> Option<Settled<C, B>> {
        match self.calls.get(id) {
            Some(Waiter::Single(_)) => {
                self.calls.remove(id);
                None
            }
            Some(Waiter::InBatch { .. }) => self.settle(id, Err(CallFailure::Closed)),
            None => None,
        }
    }

    /// Stops waiting for every call whose waiter is gone (`gone` says so
    /// for a single call's `C`, `gone_batch` for a batch's `B`: a caller
    /// that gave up); returns their ids, for
    /// [`Requester::cancel`] on the connection, so abandoned calls no
    /// longer hold in-flight slots.
    pub fn forget_gone(&mut self, gone: impl Fn(&C) -> bool, gone_batch: impl Fn(&B) -> bool) -> Vec<Id> {
        let batches: Vec<u64> = self
            .batches
            .iter()
            .filter(|(_, w)| gone_batch(&w.reply))
            .map(|(&k, _)| k)
            .collect();
        for b in &batches {
            self.batches.remove(b);
        }
        let ids: Vec<Id> = self
            .calls
            .iter()
            .filter(|(_, w)| match w {
                Waiter::Single(c) => gone(c),
                Waiter::InBatch { batch, .. } => batches.contains(batch),
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.calls.remove(id);
        }
        ids
    }

    /// Hands the fate of a call to its waiter; `None` when the event
    /// settles nothing yet (a batch still waits for other calls, or no one
    /// waited for that id any more).
    pub fn on_event(&mut self, event: ClientEvent) -> Option<Settled<C, B>> {
        match event {
            ClientEvent::Response(r) => self.settle(&r.id, Ok(r.outcome)),
            ClientEvent::TimedOut { id } => self.settle(&id, Err(CallFailure::TimedOut)),
            ClientEvent::Closed { id } => self.settle(&id, Err(CallFailure::Closed)),
            ClientEvent::Unexpected(e) => Some(Settled::Unexpected(e)),
        }
    }

    /// Fails every waiter as closed (the connection is gone).
    pub fn close_all(&mut self) -> Vec<Settled<C, B>> {
        let ids: Vec<Id> = self.calls.keys().cloned().collect();
        ids.iter()
            .filter_map(|id| self.settle(id, Err(CallFailure::Closed)))
            .collect()
    }

    fn settle(&mut self, id: &Id, fate: Result<Outcome, CallFailure>) -> Option<Settled<C, B>> {
        match self.calls.remove(id)? {
            Waiter::Single(reply) => Some(Settled::Call(reply, fate)),
            Waiter::InBatch { batch, index } => {
                let wait = self.batches.get_mut(&batch)?;
                match fate {
                    Ok(outcome) => {
                        if let Some(slot) = wait.slots.get_mut(index) {
                            *slot = Some(outcome);
                        }
                    }
                    Err(e) => {
                        wait.failure.get_or_insert(e);
                    }
                }
                wait.remaining = wait.remaining.saturating_sub(1);
                if wait.remaining > 0 {
                    return None;
                }
                let wait = self.batches.remove(&batch)?;
                Some(Settled::Batch(
                    wait.reply,
                    match wait.failure {
                        Some(e) => Err(e),
                        None => Ok(wait.slots),
                    },
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::framing::Newline;

    #[test]
    fn batches_settle_once_every_call_ended_in_request_order() {
        let mut conn = ClientConnection::new(Newline::new(1024), Limits::default());
        let mut w: Waiters<(), &str> = Waiters::new();
        let ids = conn
            .batch(
                vec![
                    BatchEntry::call("a", RawParams::none()),
                    BatchEntry::notification("n", RawParams::none()),
                    BatchEntry::call("b", RawParams::none()),
                ],
                None,
            )
            .unwrap();
        assert!(w.batch(&ids, "batch").is_none());
        conn.handle_input(
            b"[{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":2},{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}]\n",
        )
        .unwrap();
        let mut settled = Vec::new();
        while let Some(e) = conn.poll_event() {
            settled.extend(w.on_event(e));
        }
        match settled.as_slice() {
            [Settled::Batch("batch", Ok(slots))] => {
                let got: Vec<Option<&str>> = slots
                    .iter()
                    .map(|s| s.as_ref().map(|o| o.as_ref().unwrap().get()))
                    .collect();
                assert_eq!(got, [Some("1"), None, Some("2")]);
            }
            other => panic!("{other:?}"),
        }
        assert!(w.is_empty());
    }

    #[test]
    fn notification_only_batches_settle_at_once_and_failures_win() {
        let mut w: Waiters<u8, u8> = Waiters::new();
        assert!(matches!(w.batch(&[None, None], 7), Some(Settled::Batch(7, Ok(v))) if v.len() == 2));
        assert!(
            w.batch(&[Some(Id::from(1u64)), Some(Id::from(2u64))], 8)
                .is_none()
        );
        assert!(w.on_event(ClientEvent::TimedOut { id: Id::from(1u64) }).is_none());
        assert!(matches!(
            w.on_event(ClientEvent::Closed { id: Id::from(2u64) }),
            Some(Settled::Batch(8, Err(CallFailure::TimedOut)))
        ));
        w.call(Id::from(3u64), 9);
        assert!(matches!(
            w.close_all().as_slice(),
            [Settled::Call(9, Err(CallFailure::Closed))]
        ));
    }
}
