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
    CallFailure, ClientConnection, Connection, Dispatch, Framer, Newline, Peer, Refusal, Requester,
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
    /// A call: method, params, deadline, where its result goes.
    Call(String, RawParams, Option<Instant>, Reply<Box<RawValue>>),
    /// A notification: method, params, where "queued" goes.
    Notify(String, RawParams, Reply<()>),
    /// A batch: its entries, deadline, where its outcomes go.
    Batch(Vec<BatchEntry>, Option<Instant>, Reply<Vec<Option<Outcome>>>),
    /// Close the connection gracefully.
    Close,
}

/// The application end of a connection, as the driver sees it.
pub(crate) trait Side: Send {
    type M: Connection + Send;
    fn machine(&mut self) -> &mut Self::M;
    /// Runs every event the machine has; returns whether there was any.
    fn step(&mut self) -> bool;
    /// Takes what a handler task sent back (a side that runs no handlers
    /// gets nothing).
    fn on_done(&mut self, _done: Done) {}
    /// Runs a caller's command (a side that makes no calls gets none).
    fn on_command(&mut self, _command: Command) {}
    /// Whether a caller's command may be taken now.
    fn can_send(&self) -> bool {
        false
    }
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

    /// What a handler task sent back, if anything arrived.
    pub(crate) fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        match self.tasks.get_mut() {
            Some(tasks) => futures_util::StreamExt::poll_next_unpin(&mut tasks.answers, cx),
            None => Poll::Pending,
        }
    }

    /// Spawns `fut`, which sends what it did back to the connection unless
    /// it is dropped first, when the connection ends.
    fn spawn(&self, fut: impl Future<Output = Done> + Send + 'static) {
        let tasks = self.tasks.get_or_init(|| {
            let (done, answers) = async_channel::unbounded();
            let (_alive, gone) = async_channel::bounded(1);
            let answers = Box::pin(answers);
            Tasks {
                done,
                answers,
                _alive,
                gone,
            }
        });
        let (done, gone) = (tasks.done.clone(), tasks.gone.clone());
        (self.spawn)(Box::pin(async move {
            let fut = pin!(async move {
                let _ = done.try_send(fut.await);
            });
            futures_util::future::select(fut, pin!(gone.recv())).await;
        }));
    }

    /// Runs `conn`'s events with `event` (`None`: none left) and hands the
    /// refusals `refusal` yields to the router's hooks, again while there
    /// were any (parsing pauses while refusals wait); returns whether there
    /// was anything.
    fn serve<C>(
        &self,
        conn: &mut C,
        mut event: impl FnMut(&mut C) -> Option<()>,
        refusal: fn(&mut C) -> Option<Refusal>,
    ) -> bool {
        let mut took = false;
        loop {
            while event(conn).is_some() {
                took = true;
            }
            let mut refused = false;
            while let Some(r) = refusal(conn) {
                refused = true;
                self.router.rejected(r.kind, &r.error, &self.context);
            }
            if !refused {
                return took;
            }
            took = true;
        }
    }

    fn run(&self, event: sansrpc::conn::Event) -> Ran {
        self.run_work(self.router.dispatch(event, &self.context))
    }

    fn run_work(&self, work: Dispatch) -> Ran {
        use futures_util::FutureExt;
        match work {
            Dispatch::Call(ticket, mut fut) => match (&mut fut).now_or_never() {
                Some(outcome) => Ran::Answered(ticket, outcome),
                None => {
                    self.spawn(async move { Done::Answer(ticket, fut.await) });
                    Ran::Nothing
                }
            },
            Dispatch::Notification(mut fut) => match (&mut fut).now_or_never() {
                Some(()) => Ran::Nothing,
                None => {
                    self.spawn(async move {
                        fut.await;
                        Done::Notified
                    });
                    Ran::Background
                }
            },
        }
    }
}

fn log_misuse(r: Result<(), sansrpc::UsageError>) {
    if let Err(e) = r {
        tracing::error!("answering a call: {e}");
    }
}

/// A server connection task's side.
pub(crate) struct ServerSide<S> {
    pub(crate) conn: ServerConnection<Newline>,
    pub(crate) dispatcher: Dispatcher<S>,
}

impl<S: Clone + Send + Sync + 'static> ServerSide<S> {
    /// Serves `router` to a newline-framed remote whose calls see `context`.
    pub(crate) fn new(router: Arc<Router<S>>, context: Context, spawn: fn(Task)) -> Self {
        let limits = router.limits().clone();
        let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
        conn.set_report_refusals(router.has_hooks());
        let dispatcher = Dispatcher::new(router, context, spawn);
        Self { conn, dispatcher }
    }
}

impl<S: Clone + Send + Sync + 'static> Side for ServerSide<S> {
    type M = ServerConnection<Newline>;
    fn machine(&mut self) -> &mut Self::M {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let d = &self.dispatcher;
        let event = |conn: &mut Self::M| {
            let event = conn.poll_event()?;
            // A plain `fn` handler is answered at once, straight into the
            // connection's output: nothing is left to run.
            let work = d.router.dispatch_on(conn, event, &d.context);
            match work.map(|work| work.map(|work| d.run_work(work))) {
                Ok(Some(Ran::Answered(ticket, outcome))) => log_misuse(conn.respond(ticket, outcome)),
                Ok(Some(Ran::Background)) => conn.notification_started(),
                Ok(_) => {}
                Err(e) => log_misuse(Err(e)),
            }
            Some(())
        };
        d.serve(&mut self.conn, event, ServerConnection::poll_refusal)
    }
    fn on_done(&mut self, done: Done) {
        match done {
            Done::Answer(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
            Done::Notified => self.conn.notification_finished(),
        }
    }
    fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        self.dispatcher.poll_done(cx)
    }
}

/// Who waits for which answer: the core's [`sansrpc::conn::Waiters`] with reply
/// channels.
pub(crate) type Waiters = sansrpc::conn::Waiters<Reply<Box<RawValue>>, Reply<Vec<Option<Outcome>>>>;

/// Runs a caller's command on `m`, recording in `waiters` who waits.
fn run_command(waiters: &mut Waiters, m: &mut impl Requester, command: Command) {
    match command {
        Command::Call(method, params, deadline, reply) => {
            match retry(waiters, m, |m| m.call(&method, params.clone(), deadline)) {
                Ok(id) => waiters.call(id, reply),
                Err(e) => drop(reply.try_send(Err(refused(e)))),
            }
        }
        Command::Notify(method, params, reply) => {
            let _ = reply.try_send(m.notify(&method, params).map_err(refused));
        }
        Command::Batch(entries, deadline, reply) => {
            match retry(waiters, m, |m| m.batch(entries.clone(), deadline)) {
                Ok(ids) => deliver(waiters.batch(&ids, reply)),
                Err(e) => drop(reply.try_send(Err(refused(e)))),
            }
        }
        Command::Close => m.close_input(),
    }
}

/// Runs `send`; when the in-flight limit refuses it, first forgets the
/// calls whose callers gave up (dropped their future), then tries once
/// more.
fn retry<M: Requester, T>(
    waiters: &mut Waiters,
    m: &mut M,
    mut send: impl FnMut(&mut M) -> Result<T, sansrpc::UsageError>,
) -> Result<T, sansrpc::UsageError> {
    match send(m) {
        Err(sansrpc::UsageError::TooManyInFlight(_)) => {
            for id in waiters.forget_gone(Sender::is_closed, Sender::is_closed) {
                m.cancel(&id);
            }
            send(m)
        }
        other => other,
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

/// A wait that an event or a command settled, if any.
type Settling = Option<Settled<Reply<Box<RawValue>>, Reply<Vec<Option<Outcome>>>>>;

/// Sends a settled wait's result to its caller (who may have gone away).
fn deliver(settled: Settling) {
    match settled {
        Some(Settled::Call(reply, fate)) => {
            let _ = reply.try_send(fate.map_err(failure).and_then(|o| o.map_err(ClientError::Rpc)));
        }
        Some(Settled::Batch(reply, fate)) => {
            let _ = reply.try_send(fate.map_err(failure));
        }
        Some(Settled::Unexpected(e)) => tracing::debug!("ignoring unexpected message: {e}"),
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
            deliver(self.waiters.on_event(event));
        }
        took
    }
    fn on_command(&mut self, command: Command) {
        run_command(&mut self.waiters, &mut self.conn, command);
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

impl<S: Clone + Send + Sync + 'static, F: Framer + Send> PeerSide<S, F> {
    /// Serves `router` to the remote (its calls see `context`) over the
    /// framer `framer` makes for the router's largest message.
    pub(crate) fn new(
        router: Arc<Router<S>>,
        context: Context,
        framer: fn(usize) -> F,
        spawn: fn(Task),
    ) -> Self {
        let limits = router.limits().clone();
        let mut conn = Peer::new(framer(limits.max_message_bytes), limits);
        conn.set_report_refusals(router.has_hooks());
        let dispatcher = Dispatcher::new(router, context, spawn);
        let waiters = Waiters::default();
        Self {
            conn,
            waiters,
            dispatcher,
        }
    }
}

impl<S: Clone + Send + Sync + 'static, F: Framer + Send> Side for PeerSide<S, F> {
    type M = Peer<F>;
    fn machine(&mut self) -> &mut Self::M {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let (d, waiters) = (&self.dispatcher, &mut self.waiters);
        let event = |conn: &mut Self::M| {
            let event = conn.poll_event()?;
            match event.into_event().map(|event| d.run(event)) {
                Ok(Ran::Answered(ticket, outcome)) => log_misuse(conn.respond(ticket, outcome)),
                Ok(Ran::Background) => conn.notification_started(),
                Ok(Ran::Nothing) => {}
                Err(answer) => deliver(waiters.on_event(answer)),
            }
            Some(())
        };
        d.serve(&mut self.conn, event, Peer::poll_refusal)
    }
    fn on_done(&mut self, done: Done) {
        match done {
            Done::Answer(ticket, outcome) => log_misuse(self.conn.respond(ticket, outcome)),
            Done::Notified => self.conn.notification_finished(),
        }
    }
    fn on_command(&mut self, command: Command) {
        run_command(&mut self.waiters, &mut self.conn, command);
    }
    fn can_send(&self) -> bool {
        !self.conn.is_output_full()
    }
    fn poll_done(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Done>> {
        self.dispatcher.poll_done(cx)
    }
}
