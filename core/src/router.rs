//! The runtime-free router: methods by name, typed handlers, hooks, and the
//! two entry points adapters use.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;

use crate::context::Context;
use crate::error::{Error, RegistrationError, RejectionKind, UsageError};
use crate::framing::{Body, Framer};
use crate::handler::{BoxFuture, CallParts, Handler};
use crate::id::{Frame, Id};
use crate::limits::Limits;
use crate::message::{
    Accept, Message, Outcome, Parsed, RawParams, looks_like_batch, parse_borrowed, write_error_to,
    write_response,
};
use crate::server::{Event, ServerConnection, Ticket, write_refusal, write_response_with};

trait ErasedHandlerFn<S>: Send + Sync {
    fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome>;
    fn call_now(&self, parts: &CallParts<S>, out: &mut Vec<u8>) -> Option<Result<(), Error>>;
}

struct ErasedHandler<H, M> {
    handler: H,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<H: Handler<M, S>, M: 'static, S: Clone> ErasedHandlerFn<S> for ErasedHandler<H, M> {
    fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome> {
        self.handler.call(parts)
    }

    fn call_now(&self, parts: &CallParts<S>, out: &mut Vec<u8>) -> Option<Result<(), Error>> {
        self.handler.call_now_ref(parts, out)
    }
}

/// What a [`Hook`] learns about a call.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CallInfo {
    /// The method name as called.
    pub method: String,
    /// The call's id; `None` for a notification.
    pub id: Option<Id>,
    /// The call's surroundings.
    pub context: Context,
    /// Whether a method (or alias) of this name is registered; `false`
    /// for a call answered `-32601 Method not found`. Per-method
    /// bookkeeping keyed by names a caller invents grows without bound:
    /// key it by registered names only.
    pub registered: bool,
    /// When the router started the call (before the first hook ran);
    /// `started + elapsed` is when it ended.
    pub started: Instant,
}

/// A message the protocol layer answered by itself, before any method or
/// [`Hook::before`] ran: what [`Hook::rejected`] sees.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Rejection {
    /// Why it was refused.
    pub kind: RejectionKind,
    /// The error the peer was sent (or would have been sent, where the
    /// transport answers otherwise, e.g. HTTP 413).
    pub error: Error,
    /// The surroundings of the connection it arrived on.
    pub context: Context,
}

impl Rejection {
    /// A rejection of this kind, with the error the peer is sent.
    pub fn new(kind: RejectionKind, error: Error, context: Context) -> Self {
        Self { kind, error, context }
    }
}

/// Code run around every call and notification, without touching handlers:
/// logging, authentication, statistics.
///
/// `before` is synchronous; for a check that must await (a token looked up
/// in a database) or a value carried from `before` to `after` (a span, a
/// start time of one's own), implement [`AsyncHook`] instead.
///
/// ```
/// use std::time::Duration;
/// use sansrpc::{CallInfo, Error, Hook, Outcome};
///
/// struct RequireToken;
///
/// impl Hook for RequireToken {
///     fn before(&self, call: &CallInfo) -> Result<(), Error> {
///         match call.context.header("authorization") {
///             Some("Bearer secret") => Ok(()),
///             _ => Err(Error::new(-32001, "unauthorized")),
///         }
///     }
///     fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome) {
///         eprintln!("{} took {:?}: ok={}", call.method, elapsed, outcome.is_ok());
///     }
/// }
/// ```
pub trait Hook: Send + Sync + 'static {
    /// Runs before the handler (also for unknown methods); an error answers
    /// the call instead of the handler.
    fn before(&self, call: &CallInfo) -> Result<(), Error> {
        let _ = call;
        Ok(())
    }

    /// Runs after the call finished, with how long it took and its outcome
    /// (for a notification, the outcome that was not sent). It runs for
    /// every hook, also when an earlier hook's `before` refused the call.
    fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome) {
        let _ = (call, elapsed, outcome);
    }

    /// Runs for a message the protocol layer refused by itself (a parse
    /// error, an invalid request, a message over the size limit): no
    /// method ran and `before`/`after` are not called for it.
    fn rejected(&self, rejection: &Rejection) {
        let _ = rejection;
    }
}

/// A hook whose `before` may await, and hands a value of its own to its
/// `after`: asynchronous authentication, a span or a permit held for the
/// length of the call. Registered with [`Router::async_hook`].
///
/// ```
/// use std::time::Duration;
/// use sansrpc::{AsyncHook, CallInfo, Context, Error, Outcome, Router};
///
/// /// Looks the caller's token up (a database, another service) and tells
/// /// `after` who the caller was.
/// struct Auth;
///
/// impl AsyncHook for Auth {
///     type Data = String;
///
///     async fn before(&self, call: &CallInfo) -> Result<String, Error> {
///         let token = call.context.header("authorization").unwrap_or_default().to_owned();
///         let user = async { (token == "Bearer ada").then(|| "ada".to_owned()) }.await;
///         user.ok_or_else(|| Error::new(-32001, "unauthorized"))
///     }
///
///     fn after(&self, call: &CallInfo, _: Duration, outcome: &Outcome, user: Option<String>) {
///         eprintln!("{} by {user:?}: ok={}", call.method, outcome.is_ok());
///     }
/// }
///
/// let mut router = Router::new();
/// router.method("ping", || "pong").unwrap();
/// router.async_hook(Auth);
/// let ctx = Context::builder(sansrpc::Transport::Http).header("authorization", "Bearer ada").build();
/// let answer = futures_executor::block_on(
///     router.handle_message(br#"{"jsonrpc":"2.0","method":"ping","id":1}"#, ctx),
/// );
/// assert_eq!(answer.unwrap(), r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
/// ```
pub trait AsyncHook: Send + Sync + 'static {
    /// What `before` hands to `after`.
    type Data: Send + 'static;

    /// Runs before the handler (also for unknown methods); an error answers
    /// the call instead of the handler.
    fn before(&self, call: &CallInfo) -> impl Future<Output = Result<Self::Data, Error>> + Send;

    /// Runs after the call finished, with how long it took (hooks
    /// included), its outcome, and what this hook's `before` returned —
    /// `None` when it did not run or refused the call.
    fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome, data: Option<Self::Data>) {
        let _ = (call, elapsed, outcome, data);
    }

    /// Runs for a message the protocol layer refused by itself; see
    /// [`Hook::rejected`].
    fn rejected(&self, rejection: &Rejection) {
        let _ = rejection;
    }
}

type Erased<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

trait DynAsyncHook: Send + Sync + 'static {
    fn before<'a>(&'a self, call: &'a CallInfo) -> Erased<'a, Result<Box<dyn Any + Send>, Error>>;
    fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome, data: Option<Box<dyn Any + Send>>);
    fn rejected(&self, rejection: &Rejection);
}

impl<H: AsyncHook> DynAsyncHook for H {
    fn before<'a>(&'a self, call: &'a CallInfo) -> Erased<'a, Result<Box<dyn Any + Send>, Error>> {
        Box::pin(AsyncHook::before(self, call).map(|r| r.map(|d| Box::new(d) as Box<dyn Any + Send>)))
    }

    fn after(
        &self,
        call: &CallInfo,
        elapsed: Duration,
        outcome: &Outcome,
        data: Option<Box<dyn Any + Send>>,
    ) {
        let data = data.and_then(|d| d.downcast::<H::Data>().ok()).map(|d| *d);
        AsyncHook::after(self, call, elapsed, outcome, data);
    }

    fn rejected(&self, rejection: &Rejection) {
        AsyncHook::rejected(self, rejection);
    }
}

#[derive(Clone)]
enum AnyHook {
    Sync(Arc<dyn Hook>),
    Async(Arc<dyn DynAsyncHook>),
}

impl AnyHook {
    fn after(
        &self,
        call: &CallInfo,
        elapsed: Duration,
        outcome: &Outcome,
        data: Option<Box<dyn Any + Send>>,
    ) {
        match self {
            Self::Sync(h) => h.after(call, elapsed, outcome),
            Self::Async(h) => h.after(call, elapsed, outcome, data),
        }
    }

    fn rejected(&self, rejection: &Rejection) {
        match self {
            Self::Sync(h) => h.rejected(rejection),
            Self::Async(h) => h.rejected(rejection),
        }
    }
}

/// A call's work, as [`Router::dispatch`] hands it to an adapter.
#[must_use = "a dispatched call must be run and answered"]
pub enum Dispatch {
    /// Run the future, then answer `ticket` with its outcome.
    Call(Ticket, BoxFuture<Outcome>),
    /// Run the future; nothing is sent.
    Notification(BoxFuture<()>),
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Call(t, _) => f.debug_tuple("Call").field(t).finish_non_exhaustive(),
            Self::Notification(_) => f.debug_tuple("Notification").finish_non_exhaustive(),
        }
    }
}

/// FNV-1a over a method name. Peers only look names up (they never insert
/// one), so a keyed hash buys no protection here, and SipHash cost a few
/// percent of a `ping`.
#[derive(Clone, Copy)]
struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A message [`Router::start_message`] could not answer at once.
pub(crate) struct Started(OneShot);

/// How [`Router::handle_message`] goes on with a message it read whole.
enum OneShot {
    /// The answer (or `None`: nothing is sent), complete.
    Answered(Option<Bytes>),
    /// A single call still to run; answer it with this id.
    Call(Id, BoxFuture<Outcome>),
    /// A single notification still to run.
    Notification(BoxFuture<()>),
    /// Parsed into a connection that holds its events and answers.
    Parsed(Box<ServerConnection<Body>>),
    /// To be framed by a connection, as any message.
    Framed,
}

impl OneShot {
    /// The answer `write` writes, as it goes on the wire.
    fn answered(write: impl FnOnce(&mut Vec<u8>)) -> Self {
        Self::Answered(Some(with_scratch(|out| {
            write(out);
            sent(out)
        })))
    }
}

thread_local! {
    /// Where [`Router::handle_message`] writes a lone answer before it is
    /// copied out at its exact size (no buffer allocated and regrown per
    /// answer, no `Bytes` header allocated for a buffer with spare room).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most [`SCRATCH`] keeps between answers.
const SCRATCH_KEEP: usize = 16 * 1024;

/// Runs `f` on this thread's empty scratch buffer (a fresh one when it is
/// in use further up the stack), and keeps the buffer for the next answer
/// when it stayed small.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut out = SCRATCH.with_borrow_mut(std::mem::take);
    out.clear();
    let r = f(&mut out);
    if out.capacity() <= SCRATCH_KEEP {
        SCRATCH.with_borrow_mut(|kept| *kept = out);
    }
    r
}

thread_local! {
    /// The method name of a call [`Router::handle_message`] answers at
    /// once: a buffer kept for the next call, not a `String` allocated and
    /// freed per call.
    static METHOD: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The longest method name buffer [`METHOD`] keeps.
const METHOD_KEEP: usize = 256;

/// `name` in this thread's method buffer (a fresh one when it is in use).
fn method_buffer(name: &str) -> String {
    let mut method = METHOD.with_borrow_mut(std::mem::take);
    method.clear();
    method.push_str(name);
    method
}

/// Gives back a buffer from [`method_buffer`] for the next call.
fn keep_method_buffer(method: String) {
    if method.capacity() <= METHOD_KEEP {
        METHOD.with_borrow_mut(|kept| *kept = method);
    }
}

/// `out`, as it goes on the wire.
fn sent(out: &[u8]) -> Bytes {
    crate::wire_log::sent(out, None);
    Bytes::copy_from_slice(out)
}

/// Methods by name, with typed handlers, hooks and limits; runtime-free.
///
/// Handlers are plain `fn`s or `async fn`s (closures too) whose arguments
/// are extracted — [`Params<T>`](crate::Params), [`Context`],
/// [`State<S>`](crate::State), [`MethodName`](crate::MethodName),
/// [`ConnectionState`](crate::ConnectionState),
/// [`Extension<T>`](crate::Extension), [`RawParams`] — and which return
/// `Result<T: Serialize, E: Into<Error>>` or a plain value.
///
/// ```
/// use sansrpc::{Context, Error, Params, Router};
///
/// async fn subtract(Params((a, b)): Params<(i64, i64)>) -> Result<i64, Error> {
///     a.checked_sub(b).ok_or_else(|| Error::new(1, "overflow"))
/// }
///
/// let mut router = Router::new();
/// router
///     .method("subtract", subtract).unwrap()
///     .method("ping", || "pong").unwrap()
///     .method("whoami", |ctx: Context| ctx.peer_addr().map(|a| a.to_string())).unwrap()
///     .alias("minus", "subtract").unwrap();
///
/// let answer = futures_executor::block_on(router.handle_message(
///     br#"{"jsonrpc":"2.0","method":"minus","params":[42,23],"id":1}"#,
///     Context::default(),
/// ));
/// assert_eq!(answer.unwrap(), r#"{"jsonrpc":"2.0","result":19,"id":1}"#);
/// ```
pub struct Router<S = ()> {
    methods: HashMap<String, Arc<dyn ErasedHandlerFn<S>>, BuildHasherDefault<NameHasher>>,
    /// Shared, so a call clones one `Arc`, not a vector.
    hooks: Arc<Vec<AnyHook>>,
    /// Whether any hook is an [`AsyncHook`] (the call path awaits then).
    async_hooks: bool,
    /// Whether a registered handler may read the request's headers.
    handlers_read_headers: bool,
    state: S,
    limits: Limits,
}

impl<S> fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.methods.keys().collect();
        names.sort();
        f.debug_struct("Router")
            .field("methods", &names)
            .field("hooks", &self.hooks.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for Router<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl Router<()> {
    /// An empty router without application state.
    pub fn new() -> Self {
        Self::with_state(())
    }
}

fn check_name(name: &str) -> Result<(), RegistrationError> {
    if name.is_empty() {
        return Err(RegistrationError::EmptyMethodName);
    }
    if name.starts_with("rpc.") {
        return Err(RegistrationError::ReservedMethodName(name.to_owned()));
    }
    Ok(())
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// An empty router whose handlers can extract [`State<S>`](crate::State).
    /// Use an `Arc` for state that is expensive to clone.
    pub fn with_state(state: S) -> Self {
        Self {
            methods: HashMap::default(),
            hooks: Arc::new(Vec::new()),
            async_hooks: false,
            handlers_read_headers: false,
            state,
            limits: Limits::default(),
        }
    }

    fn insert(&mut self, name: &str, h: Arc<dyn ErasedHandlerFn<S>>) -> Result<&mut Self, RegistrationError> {
        check_name(name)?;
        if self.methods.contains_key(name) {
            return Err(RegistrationError::DuplicateMethod(name.to_owned()));
        }
        self.methods.insert(name.to_owned(), h);
        Ok(self)
    }

    /// Registers `handler` under `name`.
    ///
    /// Fails for a reserved name (`rpc.` prefix), an empty name, or a name
    /// already registered.
    pub fn method<M: 'static, H: Handler<M, S>>(
        &mut self,
        name: &str,
        handler: H,
    ) -> Result<&mut Self, RegistrationError> {
        self.insert(
            name,
            Arc::new(ErasedHandler {
                handler,
                _marker: std::marker::PhantomData,
            }),
        )?;
        self.handlers_read_headers |= H::READS_HEADERS;
        Ok(self)
    }

    /// Makes `alias` call the handler registered as `target`.
    pub fn alias(&mut self, alias: &str, target: &str) -> Result<&mut Self, RegistrationError> {
        let h = self
            .methods
            .get(target)
            .cloned()
            .ok_or_else(|| RegistrationError::UnknownAliasTarget(target.to_owned()))?;
        self.insert(alias, h)
    }

    /// Moves every method of `other` into this router (its hooks and limits
    /// are dropped: the receiving router's apply).
    pub fn merge(&mut self, other: Router<S>) -> Result<&mut Self, RegistrationError> {
        self.nest_inner(None, other)
    }

    /// Moves every method of `other` into this router under `prefix`:
    /// `nest("math", r)` turns `add` into `math.add`.
    pub fn nest(&mut self, prefix: &str, other: Router<S>) -> Result<&mut Self, RegistrationError> {
        self.nest_inner(Some(prefix), other)
    }

    fn nest_inner(&mut self, prefix: Option<&str>, other: Router<S>) -> Result<&mut Self, RegistrationError> {
        self.handlers_read_headers |= other.handlers_read_headers;
        let mut names: Vec<_> = other.methods.into_iter().collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, h) in names {
            let full = match prefix {
                Some(p) => format!("{p}.{name}"),
                None => name,
            };
            self.insert(&full, h)?;
        }
        Ok(self)
    }

    /// Adds a hook; hooks (of both kinds) run in the order they were
    /// added.
    pub fn hook(&mut self, hook: impl Hook) -> &mut Self {
        Arc::make_mut(&mut self.hooks).push(AnyHook::Sync(Arc::new(hook)));
        self
    }

    /// Adds a hook whose `before` may await and pass data to its `after`.
    pub fn async_hook(&mut self, hook: impl AsyncHook) -> &mut Self {
        Arc::make_mut(&mut self.hooks).push(AnyHook::Async(Arc::new(hook)));
        self.async_hooks = true;
        self
    }

    /// Whether any hook is registered (a driver asks its connections for
    /// their refusals only then: see
    /// [`ServerConnection::set_report_refusals`]).
    pub fn has_hooks(&self) -> bool {
        !self.hooks.is_empty()
    }

    /// Whether anything this router runs may read a request's headers: a
    /// hook, or a handler with an argument that may
    /// ([`FromCall::READS_HEADERS`](crate::FromCall::READS_HEADERS): a
    /// [`Context`] does, `Params`, `State` and the other extractors of this
    /// crate do not). When none may, an HTTP endpoint does not hand the
    /// headers to the calls' [`Context`].
    ///
    /// ```
    /// use sansrpc::{Context, Params, Router};
    ///
    /// let mut router = Router::new();
    /// router.method("add", |Params((a, b)): Params<(i64, i64)>| a + b).unwrap();
    /// assert!(!router.reads_request_headers());
    ///
    /// // A handler that takes the `Context` may look at the headers.
    /// router
    ///     .method("agent", |ctx: Context| ctx.header("user-agent").unwrap_or("").to_owned())
    ///     .unwrap();
    /// assert!(router.reads_request_headers());
    /// ```
    pub fn reads_request_headers(&self) -> bool {
        self.handlers_read_headers || !self.hooks.is_empty()
    }

    /// Tells the hooks about a message the protocol layer refused by itself
    /// (the router calls this for what its own entry points refuse;
    /// a transport calls it for what it refuses before the router sees the
    /// message, such as an HTTP body over the size limit).
    pub fn rejected(&self, kind: RejectionKind, error: &Error, context: &Context) {
        if self.hooks.is_empty() {
            return;
        }
        let rejection = Rejection::new(kind, error.clone(), context.clone());
        for hook in self.hooks.iter() {
            hook.rejected(&rejection);
        }
    }

    /// Sets the limits adapters enforce for this router.
    pub fn set_limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// The limits adapters enforce for this router.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the JSON-RPC version this router's connections speak (default
    /// [`Version::V2`](crate::Version::V2)); see [`crate::Version`] for
    /// the 1.0 rules and the `Auto` mode.
    ///
    /// It is the [`Limits::version`] field, so a later
    /// [`set_limits`](Self::set_limits) replaces it too.
    pub fn set_version(&mut self, version: crate::Version) -> &mut Self {
        self.limits.version = version;
        self
    }

    /// The JSON-RPC version this router's connections speak.
    pub fn version(&self) -> crate::Version {
        self.limits.version
    }

    /// Whether a method (or alias) of this name is registered.
    pub fn has_method(&self, name: &str) -> bool {
        self.methods.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn method_names(&self) -> Vec<&str> {
        let mut v: Vec<_> = self.methods.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Runs one call: hooks, then the handler (or `-32601` for an unknown
    /// method). The future owns everything it needs.
    pub fn call(
        &self,
        method: String,
        id: Option<Id>,
        params: RawParams,
        context: Context,
    ) -> BoxFuture<Outcome> {
        let handler = self.methods.get(&method).cloned();
        let state = self.state.clone();
        if self.hooks.is_empty() {
            return match handler {
                Some(h) => h.call(CallParts {
                    method,
                    params,
                    context,
                    state,
                }),
                None => Box::pin(std::future::ready(Err(Error::method_not_found()))),
            };
        }
        let hooks = self.hooks.clone();
        let info = CallInfo {
            method,
            id,
            context,
            registered: handler.is_some(),
            started: Instant::now(),
        };
        let run = move |info: &CallInfo| match handler {
            Some(h) => h.call(CallParts {
                method: info.method.clone(),
                params,
                context: info.context.clone(),
                state,
            }),
            None => Box::pin(std::future::ready(Err(Error::method_not_found()))),
        };
        if self.async_hooks {
            return Box::pin(async move {
                let mut data: Vec<Option<Box<dyn Any + Send>>> = Vec::with_capacity(hooks.len());
                let mut refused = None;
                for hook in hooks.iter() {
                    let before = match hook {
                        AnyHook::Sync(h) => h.before(&info).map(|()| None),
                        AnyHook::Async(h) => h.before(&info).await.map(Some),
                    };
                    match before {
                        Ok(d) => data.push(d),
                        Err(e) => {
                            refused = Some(e);
                            break;
                        }
                    }
                }
                let outcome = match refused {
                    Some(e) => Err(e),
                    None => run(&info).await,
                };
                let elapsed = info.started.elapsed();
                let mut data = data.into_iter();
                for hook in hooks.iter() {
                    hook.after(&info, elapsed, &outcome, data.next().flatten());
                }
                outcome
            });
        }
        for hook in hooks.iter() {
            let AnyHook::Sync(h) = hook else { continue };
            if let Err(e) = h.before(&info) {
                let outcome = Err(e);
                let elapsed = info.started.elapsed();
                for h in hooks.iter() {
                    h.after(&info, elapsed, &outcome, None);
                }
                return Box::pin(std::future::ready(outcome));
            }
        }
        let fut = run(&info);
        Box::pin(fut.map(move |outcome| {
            let elapsed = info.started.elapsed();
            for h in hooks.iter() {
                h.after(&info, elapsed, &outcome, None);
            }
            outcome
        }))
    }

    /// Turns a connection's [`Event`] into work for the adapter.
    pub fn dispatch(&self, event: Event, context: &Context) -> Dispatch {
        match event {
            Event::Call {
                ticket,
                id,
                method,
                params,
            } => Dispatch::Call(ticket, self.call(method, Some(id), params, context.clone())),
            Event::Notification { method, params } => Dispatch::Notification(Box::pin(
                self.call(method, None, params, context.clone()).map(|_| ()),
            )),
        }
    }

    /// Runs `event`, which `conn` produced, as far as it can at once: a call
    /// to a plain `fn` handler (or to an unknown method) is answered on
    /// `conn` right here, its result serialized straight into the answer,
    /// and a notification to a plain `fn` is run. What is left to run (an
    /// `async fn`'s future, or any call when hooks are registered) comes
    /// back as [`Router::dispatch`] would give it. The answers are those
    /// `dispatch` and [`ServerConnection::respond`] give.
    ///
    /// Fails with [`UsageError::UnknownTicket`] for an event of another
    /// connection.
    ///
    /// ```
    /// use sansrpc::{Context, Limits, Router};
    /// use sansrpc::conn::{Newline, ServerConnection};
    ///
    /// let mut router = Router::new();
    /// router.method("ping", || "pong").unwrap();
    /// let limits = Limits::default();
    /// let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
    /// conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n").unwrap();
    /// while let Some(event) = conn.poll_event() {
    ///     // `ping` is a plain `fn`: answered at once, nothing left to run.
    ///     assert!(router.dispatch_on(&mut conn, event, &Context::default()).unwrap().is_none());
    /// }
    /// let mut out = Vec::new();
    /// conn.poll_transmit(&mut out);
    /// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n");
    /// ```
    pub fn dispatch_on<F: Framer>(
        &self,
        conn: &mut ServerConnection<F>,
        event: Event,
        context: &Context,
    ) -> Result<Option<Dispatch>, UsageError> {
        if !self.hooks.is_empty() {
            return Ok(Some(self.dispatch(event, context)));
        }
        match event {
            Event::Call {
                ticket,
                id: _,
                method,
                params,
            } => {
                let Some(handler) = self.methods.get(method.as_str()) else {
                    conn.respond(ticket, Err(Error::method_not_found()))?;
                    conn.keep_method(method);
                    return Ok(None);
                };
                let parts = CallParts {
                    method,
                    params,
                    context: context.clone(),
                    state: self.state.clone(),
                };
                match conn.respond_with(ticket, |out| handler.call_now(&parts, out))? {
                    // Answered: the method name goes back to the connection
                    // for the next request's.
                    None => {
                        conn.keep_method(parts.method);
                        Ok(None)
                    }
                    Some(ticket) => Ok(Some(Dispatch::Call(ticket, handler.call(parts)))),
                }
            }
            Event::Notification { method, params } => {
                let Some(handler) = self.methods.get(method.as_str()) else {
                    conn.keep_method(method);
                    return Ok(None);
                };
                let parts = CallParts {
                    method,
                    params,
                    context: context.clone(),
                    state: self.state.clone(),
                };
                // What a notification's handler returns is never sent.
                Ok(match with_scratch(|discard| handler.call_now(&parts, discard)) {
                    Some(_) => {
                        conn.keep_method(parts.method);
                        None
                    }
                    None => Some(Dispatch::Notification(Box::pin(handler.call(parts).map(|_| ())))),
                })
            }
        }
    }

    /// The one-shot form of a single-object message: what a
    /// `ServerConnection<Body>` would do with it, without building one for
    /// the common case of one call or one notification. Anything else comes
    /// back parsed, inside a connection that goes on from there; a message
    /// the framer or a limit must see first (too large, or limits that
    /// would hold back its first event) is left to the framer.
    fn one_shot(&self, message: &[u8], context: &Context) -> OneShot {
        let limits = &self.limits;
        if message.len() > limits.max_message_bytes
            || limits.max_in_flight == 0
            || limits.max_buffered_out == 0
        {
            return OneShot::Framed;
        }
        crate::wire_log::received(message, None);
        // A lone request is read in place: it keeps nothing of the message
        // but copies of its params (and of its id, when answered later). A
        // batch's many ids and params share one copy of the message.
        let copy;
        let (bytes, frame) = if looks_like_batch(message) {
            copy = Bytes::copy_from_slice(message);
            (&copy[..], Frame::Shared(&copy))
        } else {
            (message, Frame::Borrowed)
        };
        match parse_borrowed(bytes, &frame, limits, Accept::Requests) {
            Parsed::Request(request) => {
                if !self.hooks.is_empty() {
                    let params = request.params(&frame);
                    let method = request.method.into_owned();
                    return match request
                        .id
                        .map(|raw| Id::from_valid_json(&frame, raw).unwrap_or_else(Id::null))
                    {
                        Some(id) => {
                            OneShot::Call(id.clone(), self.call(method, Some(id), params, context.clone()))
                        }
                        None => OneShot::Notification(Box::pin(
                            self.call(method, None, params, context.clone()).map(|_| ()),
                        )),
                    };
                }
                let Some(id) = request.id else {
                    let Some(handler) = self.methods.get(request.method.as_ref()) else {
                        return OneShot::Answered(None);
                    };
                    let parts = CallParts {
                        params: request.params(&frame),
                        method: method_buffer(&request.method),
                        context: context.clone(),
                        state: self.state.clone(),
                    };
                    // What a notification's handler returns is never sent.
                    return match with_scratch(|discard| handler.call_now(&parts, discard)) {
                        Some(_) => {
                            keep_method_buffer(parts.method);
                            OneShot::Answered(None)
                        }
                        None => OneShot::Notification(Box::pin(handler.call(parts).map(|_| ()))),
                    };
                };
                let Some(handler) = self.methods.get(request.method.as_ref()) else {
                    return OneShot::answered(|out| write_error_to(id, &Error::method_not_found(), out));
                };
                let parts = CallParts {
                    params: request.params(&frame),
                    method: method_buffer(&request.method),
                    context: context.clone(),
                    state: self.state.clone(),
                };
                let answer = with_scratch(|out| {
                    write_response_with(id.as_bytes(), false, |out| handler.call_now(&parts, out), out)
                        .then(|| sent(out))
                });
                match answer {
                    Some(answer) => {
                        keep_method_buffer(parts.method);
                        OneShot::Answered(Some(answer))
                    }
                    None => OneShot::Call(
                        Id::from_valid_json(&frame, id).unwrap_or_else(Id::null),
                        handler.call(parts),
                    ),
                }
            }
            // Refused as a whole: answered here with the bytes and the
            // refusal a connection would give it, without building one.
            Parsed::Other(Message::Rejected(error)) => {
                let answer = OneShot::answered(|out| write_refusal(limits.version, &error, out));
                self.rejected(RejectionKind::of_error(&error), &error, context);
                answer
            }
            Parsed::Other(other) => {
                let mut conn = ServerConnection::new(Body::new(limits.max_message_bytes), limits.clone());
                conn.set_report_refusals(self.has_hooks());
                conn.accept_parsed(other, message.len());
                conn.close_input();
                OneShot::Parsed(Box::new(conn))
            }
        }
    }

    /// Answers one whole message (an HTTP body, a WebSocket message): bytes
    /// in, the answer out, or `None` when nothing is to be sent (a
    /// notification, an all-notification batch).
    ///
    /// The calls of a batch run concurrently; their answers keep request
    /// order. Notifications run here too, and the answer waits for them:
    /// for a transport that must not make its caller wait (HTTP), use
    /// [`Router::handle_message_detached`].
    pub async fn handle_message(&self, message: &[u8], context: Context) -> Option<Bytes> {
        self.handle_message_detached(message, context, Some).await
    }

    /// [`Router::handle_message`], with the notifications handed to
    /// `detach` as they are dispatched, so that the answer waits for the
    /// calls only.
    ///
    /// Each notification is polled once first: one that finishes at once
    /// (a plain `fn` handler) is done before `detach` would see it, so the
    /// response headers it set are still sent. One that is not finished is
    /// handed to `detach`, which either takes it (to run it elsewhere, e.g.
    /// spawned on the adapter's runtime) and returns `None`, or gives it
    /// back (`Some`, e.g. when a bound on background work is reached); a
    /// notification given back is run here, and the answer waits for it.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use sansrpc::{BoxFuture, Context, Router};
    ///
    /// let mut router = Router::new();
    /// router
    ///     .method("ping", || "pong").unwrap()
    ///     .method("never", || std::future::pending::<()>()).unwrap();
    ///
    /// let detached: Arc<Mutex<Vec<BoxFuture<()>>>> = Arc::default();
    /// let answer = futures_executor::block_on(router.handle_message_detached(
    ///     br#"[{"jsonrpc":"2.0","method":"never"},{"jsonrpc":"2.0","method":"ping","id":1}]"#,
    ///     Context::default(),
    ///     |run| {
    ///         detached.lock().unwrap().push(run); // an adapter spawns it
    ///         None
    ///     },
    /// ));
    /// // Answered although the notification never finishes.
    /// assert_eq!(answer.unwrap(), r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#);
    /// assert_eq!(detached.lock().unwrap().len(), 1);
    /// ```
    pub async fn handle_message_detached(
        &self,
        message: &[u8],
        context: Context,
        detach: impl FnMut(BoxFuture<()>) -> Option<BoxFuture<()>>,
    ) -> Option<Bytes> {
        match self.one_shot(message, &context) {
            OneShot::Answered(answer) => answer,
            started => {
                self.finish_message(Started(started), message, context, detach)
                    .await
            }
        }
    }

    /// The start of [`Router::handle_message_detached`], run at once: the
    /// answer (`Ok`) when the message needs nothing awaited (a call or
    /// notification to a plain `fn`, an unknown method, a refusal), else
    /// what is left for [`Router::finish_message`].
    pub(crate) fn start_message(&self, message: &[u8], context: &Context) -> Result<Option<Bytes>, Started> {
        match self.one_shot(message, context) {
            OneShot::Answered(answer) => Ok(answer),
            other => Err(Started(other)),
        }
    }

    /// The rest of [`Router::handle_message_detached`] after
    /// [`Router::start_message`], on the same message and context.
    pub(crate) async fn finish_message(
        &self,
        started: Started,
        message: &[u8],
        context: Context,
        mut detach: impl FnMut(BoxFuture<()>) -> Option<BoxFuture<()>>,
    ) -> Option<Bytes> {
        let mut conn = match started.0 {
            OneShot::Answered(answer) => return answer,
            OneShot::Call(id, call) => {
                let outcome = call.await;
                return Some(with_scratch(|out| {
                    write_response(&id, &outcome, out);
                    sent(out)
                }));
            }
            OneShot::Notification(mut run) => {
                if (&mut run).now_or_never().is_none() {
                    if let Some(run) = detach(run) {
                        run.await;
                    }
                }
                return None;
            }
            OneShot::Parsed(conn) => *conn,
            OneShot::Framed => {
                let mut conn =
                    ServerConnection::new(Body::new(self.limits.max_message_bytes), self.limits.clone());
                conn.set_report_refusals(self.has_hooks());
                // A fresh connection accepts input, and `Body` buffers it once.
                conn.handle_input(message).ok()?;
                conn.handle_eof();
                conn
            }
        };
        loop {
            let mut calls = Vec::new();
            let mut inline = Vec::new();
            while let Some(event) = conn.poll_event() {
                // Events come from this connection, so this cannot fail.
                let Ok(Some(work)) = self.dispatch_on(&mut conn, event, &context) else {
                    continue;
                };
                match work {
                    Dispatch::Call(ticket, fut) => calls.push(fut.map(move |o| (ticket, o))),
                    Dispatch::Notification(mut fut) => {
                        if (&mut fut).now_or_never().is_none() {
                            inline.extend(detach(fut));
                        }
                    }
                }
            }
            while let Some(refusal) = conn.poll_refusal() {
                self.rejected(refusal.kind, &refusal.error, &context);
            }
            if calls.is_empty() && inline.is_empty() {
                break;
            }
            if calls.len() == 1 && inline.is_empty() {
                // A single call (the common case) needs no join machinery.
                if let Some(call) = calls.pop() {
                    let (ticket, outcome) = call.await;
                    let _ = conn.respond(ticket, outcome);
                }
                continue;
            }
            let (answers, _) = futures_util::future::join(
                futures_util::future::join_all(calls),
                futures_util::future::join_all(inline),
            )
            .await;
            for (ticket, outcome) in answers {
                // Tickets come from this connection, so this cannot fail.
                let _ = conn.respond(ticket, outcome);
            }
        }
        let mut out = Vec::new();
        conn.poll_transmit(&mut out)?;
        Some(Bytes::from(out))
    }
}
