//! The application end of a connection: the state machine, the handlers it
//! runs, and the callers waiting for answers. The driver (`driver.rs`)
//! moves bytes; a side decides nothing about the lifecycle (the core does).

use std::cell::OnceCell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use async_channel::{Receiver, Sender};
use sansrpc::conn::{
    CallFailure, ClientConnection, ClientEvent, Connection, Dispatch, Framer, Peer, Requester,
    ServerConnection, Settled, Ticket,
};
use sansrpc::{BatchEntry, Context, Outcome, RawParams, Router};
use serde_json::value::RawValue;

use crate::error::ClientError;
use crate::runtime::Task;

/// What a handler task sends back to its connection.
pub(crate) enum Done {
    /// A call's outcome.
    Answer(Ticket, Outcome),
    /// A background notification finished.
    Notified,
}

pub(crate) type Reply<T> = Sender<Result<T, ClientError>>;

/// A request from a [`crate::Client`] handle to its connection task.
pub(crate) enum Command {
    Call {
        method: String,
        params: RawParams,
        deadline: Option<Instant>,
        reply: Reply<Box<RawValue>>,
    },
    Notify {
        method: String,
        params: RawParams,
        reply: Reply<()>,
    },
    Batch {
        entries: Vec<BatchEntry>,
        deadline: Option<Instant>,
        reply: Reply<Vec<Option<Outcome>>>,
    },
    Close,
}

/// The application end of a connection, as the driver sees it.
pub(crate) trait Side: Send {
    type M: Connection + Send;
    fn machine(&mut self) -> &mut Self::M;
    /// Runs every event the machine has; returns whether there was any.
    fn step(&mut self) -> bool;
    /// Takes what a handler task sent back.
    fn on_done(&mut self, done: Done);
    /// Runs a caller's command (a side that makes no calls has none).
    fn on_command(&mut self, command: Command);
    /// Whether a caller's command may be taken now.
    fn can_send(&self) -> bool;
    /// What a handler task sent back, if anything arrived (a side that
    /// runs no handlers has nothing).
    fn poll_done(&mut self, _cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        Poll::Pending
    }
}

/// Runs a connection's handlers: inline when they are ready at once, else
/// as tasks that end with the connection.
pub(crate) struct Dispatcher<S> {
    router: Arc<Router<S>>,
    context: Context,
    spawn: fn(Task),
    /// Made for the first handler that is not ready at once: a connection
    /// whose handlers all are (every plain `fn`) never holds the channels.
    tasks: OnceCell<Tasks>,
}

/// What the handler tasks of a connection share with it.
struct Tasks {
    /// Where tasks send what they did.
    done: Sender<Done>,
    answers: Pin<Box<Receiver<Done>>>,
    /// Dropped with the connection: every handler task still running is
    /// dropped then (its `gone.recv()` resolves).
    _alive: Sender<()>,
    gone: Receiver<()>,
}

impl Tasks {
    fn new() -> Self {
        let (done, answers) = async_channel::unbounded();
        let (alive, gone) = async_channel::bounded(1);
        Self {
            done,
            answers: Box::pin(answers),
            _alive: alive,
            gone,
        }
    }
}

/// What became of one dispatched event.
enum Ran {
    /// A call answered at once.
    Answered(Ticket, Outcome),
    /// A notification that runs on in the background.
    Background,
    /// Nothing for the connection to do now.
    Nothing,
}

impl<S: Clone + Send + Sync + 'static> Dispatcher<S> {
    pub(crate) fn new(router: Arc<Router<S>>, context: Context, spawn: fn(Task)) -> Self {
        Self {
            router,
            context,
            spawn,
            tasks: OnceCell::new(),
        }
    }

    fn tasks(&self) -> &Tasks {
        self.tasks.get_or_init(Tasks::new)
    }

    /// What a handler task sent back, if anything arrived.
    pub(crate) fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        match self.tasks.get_mut() {
            Some(tasks) => futures_util::StreamExt::poll_next_unpin(&mut tasks.answers, cx),
            None => Poll::Pending,
        }
    }

    /// Spawns `fut`, to be dropped when the connection ends.
    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let gone = self.tasks().gone.clone();
        (self.spawn)(Box::pin(async move {
            let (fut, gone) = (pin!(fut), pin!(gone.recv()));
            futures_util::future::select(fut, gone).await;
        }));
    }

    /// Whether the connection should keep its refusals for the hooks.
    fn hears_refusals(&self) -> bool {
        self.router.has_hooks()
    }

    /// Tells the router's hooks of every message the connection answered
    /// by itself that `poll` yields; returns whether there was any.
    fn take_refusals(&self, mut poll: impl FnMut() -> Option<sansrpc::conn::Refusal>) -> bool {
        let mut any = false;
        while let Some(r) = poll() {
            any = true;
            self.router.rejected(r.kind, &r.error, &self.context);
        }
        any
    }

    fn run(&self, event: sansrpc::conn::Event) -> Ran {
        self.run_work(self.router.dispatch(event, &self.context))
    }

    /// Runs `event` of `conn`: a plain `fn` handler is answered on `conn`
    /// at once, straight into its output; the rest as [`Dispatcher::run`].
    fn run_on<F: Framer>(&self, conn: &mut ServerConnection<F>, event: sansrpc::conn::Event) -> Ran {
        match self.router.dispatch_on(conn, event, &self.context) {
            Ok(None) => Ran::Nothing,
            Ok(Some(work)) => self.run_work(work),
            Err(e) => {
                log_misuse(Err(e));
                Ran::Nothing
            }
        }
    }

    fn run_work(&self, work: Dispatch) -> Ran {
        use futures_util::FutureExt;
        match work {
            Dispatch::Call(ticket, mut fut) => {
                if let Some(outcome) = (&mut fut).now_or_never() {
                    return Ran::Answered(ticket, outcome);
                }
                let done = self.tasks().done.clone();
                self.spawn(async move {
                    let outcome = fut.await;
                    let _ = done.try_send(Done::Answer(ticket, outcome));
                });
            }
            Dispatch::Notification(mut fut) => {
                if (&mut fut).now_or_never().is_some() {
                    return Ran::Nothing;
                }
                let done = self.tasks().done.clone();
                self.spawn(async move {
                    fut.await;
                    let _ = done.try_send(Done::Notified);
                });
                return Ran::Background;
            }
        }
        Ran::Nothing
    }
}

fn log_misuse(r: Result<(), sansrpc::UsageError>) {
    if let Err(e) = r {
        tracing::error!("answering a call: {e}");
    }
}

/// A server connection task's side.
pub(crate) struct ServerSide<S, F> {
    pub(crate) conn: ServerConnection<F>,
    pub(crate) dispatcher: Dispatcher<S>,
}

impl<S: Clone + Send + Sync + 'static, F: Framer + Send> Side for ServerSide<S, F> {
    type M = ServerConnection<F>;
    fn machine(&mut self) -> &mut Self::M {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        loop {
            self.conn.set_report_refusals(self.dispatcher.hears_refusals());
            while let Some(event) = self.conn.poll_event() {
                took = true;
                match self.dispatcher.run_on(&mut self.conn, event) {
                    Ran::Answered(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
                    Ran::Background => self.conn.notification_started(),
                    Ran::Nothing => {}
                }
            }
            // Parsing pauses while refusals wait: take them, then go on.
            if !self.dispatcher.take_refusals(|| self.conn.poll_refusal()) {
                return took;
            }
            took = true;
        }
    }
    fn on_done(&mut self, done: Done) {
        match done {
            Done::Answer(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
            Done::Notified => self.conn.notification_finished(),
        }
    }
    fn on_command(&mut self, _: Command) {}
    fn can_send(&self) -> bool {
        false
    }
    fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        self.dispatcher.poll_done(cx)
    }
}

/// Who waits for which answer: the core's [`sansrpc::conn::Waiters`] with reply
/// channels.
#[derive(Default)]
pub(crate) struct Waiters(sansrpc::conn::Waiters<Reply<Box<RawValue>>, Reply<Vec<Option<Outcome>>>>);

impl Waiters {
    fn command(&mut self, m: &mut impl Requester, command: Command) {
        match command {
            Command::Call {
                method,
                params,
                deadline,
                reply,
            } => match self.retry(m, |m| m.call(&method, params.clone(), deadline)) {
                Ok(id) => self.0.call(id, reply),
                Err(e) => {
                    let _ = reply.try_send(Err(refused(e)));
                }
            },
            Command::Notify {
                method,
                params,
                reply,
            } => {
                let _ = reply.try_send(m.notify(&method, params).map_err(refused));
            }
            Command::Batch {
                entries,
                deadline,
                reply,
            } => match self.retry(m, |m| m.batch(entries.clone(), deadline)) {
                Ok(ids) => {
                    if let Some(settled) = self.0.batch(&ids, reply) {
                        deliver(settled);
                    }
                }
                Err(e) => {
                    let _ = reply.try_send(Err(refused(e)));
                }
            },
            Command::Close => m.close_input(),
        }
    }

    /// Runs `send`; when the in-flight limit refuses it, first forgets the
    /// calls whose callers gave up (dropped their future), then tries once
    /// more.
    fn retry<M: Requester, T>(
        &mut self,
        m: &mut M,
        mut send: impl FnMut(&mut M) -> Result<T, sansrpc::UsageError>,
    ) -> Result<T, sansrpc::UsageError> {
        match send(m) {
            Err(sansrpc::UsageError::TooManyInFlight(_)) => {
                for id in self.0.forget_gone(Sender::is_closed, Sender::is_closed) {
                    m.cancel(&id);
                }
                send(m)
            }
            other => other,
        }
    }

    fn on_event(&mut self, event: ClientEvent) {
        if let Some(settled) = self.0.on_event(event) {
            deliver(settled);
        }
    }
}

/// Why the connection refused to send: a closed connection is
/// [`ClientError::Closed`], however the caller raced its end.
fn refused(e: sansrpc::UsageError) -> ClientError {
    match e {
        sansrpc::UsageError::Closed => ClientError::Closed,
        e => e.into(),
    }
}

fn failure(f: CallFailure) -> ClientError {
    match f {
        CallFailure::TimedOut => ClientError::TimedOut,
        _ => ClientError::Closed,
    }
}

/// Sends a settled wait's result to its caller (who may have gone away).
fn deliver(settled: Settled<Reply<Box<RawValue>>, Reply<Vec<Option<Outcome>>>>) {
    match settled {
        Settled::Call(reply, fate) => {
            let _ = reply.try_send(fate.map_err(failure).and_then(|o| o.map_err(ClientError::Rpc)));
        }
        Settled::Batch(reply, fate) => {
            let _ = reply.try_send(fate.map_err(failure));
        }
        Settled::Unexpected(e) => tracing::debug!("ignoring unexpected message: {e}"),
        _ => {}
    }
}

/// A client connection task's side.
pub(crate) struct ClientSide<F> {
    pub(crate) conn: ClientConnection<F>,
    pub(crate) waiters: Waiters,
}

impl<F: Framer + Send> Side for ClientSide<F> {
    type M = ClientConnection<F>;
    fn machine(&mut self) -> &mut Self::M {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        while let Some(event) = self.conn.poll_event() {
            took = true;
            self.waiters.on_event(event);
        }
        took
    }
    fn on_done(&mut self, _: Done) {}
    fn on_command(&mut self, command: Command) {
        self.waiters.command(&mut self.conn, command);
    }
    fn can_send(&self) -> bool {
        !self.conn.is_output_full()
    }
}

/// A peer connection task's side: serves a router and makes calls.
pub(crate) struct PeerSide<S, F> {
    pub(crate) conn: Peer<F>,
    pub(crate) waiters: Waiters,
    pub(crate) dispatcher: Dispatcher<S>,
}

impl<S: Clone + Send + Sync + 'static, F: Framer + Send> Side for PeerSide<S, F> {
    type M = Peer<F>;
    fn machine(&mut self) -> &mut Self::M {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        loop {
            self.conn.set_report_refusals(self.dispatcher.hears_refusals());
            while let Some(event) = self.conn.poll_event() {
                took = true;
                let event = match event.into_event() {
                    Ok(event) => event,
                    Err(client_event) => {
                        self.waiters.on_event(client_event);
                        continue;
                    }
                };
                match self.dispatcher.run(event) {
                    Ran::Answered(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
                    Ran::Background => self.conn.notification_started(),
                    Ran::Nothing => {}
                }
            }
            // Parsing pauses while refusals wait: take them, then go on.
            if !self.dispatcher.take_refusals(|| self.conn.poll_refusal()) {
                return took;
            }
            took = true;
        }
    }
    fn on_done(&mut self, done: Done) {
        match done {
            Done::Answer(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
            Done::Notified => self.conn.notification_finished(),
        }
    }
    fn on_command(&mut self, command: Command) {
        self.waiters.command(&mut self.conn, command);
    }
    fn can_send(&self) -> bool {
        !self.conn.is_output_full()
    }
    fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        self.dispatcher.poll_done(cx)
    }
}
