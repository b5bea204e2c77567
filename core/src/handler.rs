//! Typed handlers: plain functions whose arguments are extracted from the
//! call and whose return value becomes the answer.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{ConnectionState, Context};
use crate::error::Error;
use crate::message::{Outcome, RawParams, result};

/// A boxed, sendable future, as the router returns them.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Everything known about one call, from which handler arguments are
/// extracted.
#[derive(Clone, Debug)]
pub struct CallParts<S> {
    /// The method name as called (an alias, or a prefixed name, stays as
    /// the caller wrote it).
    pub method: String,
    /// The raw parameters.
    pub params: RawParams,
    /// The call's surroundings.
    pub context: Context,
    /// The router's shared application state.
    pub state: S,
}

/// A handler argument that can be extracted from a call.
///
/// A failed extraction answers the call with the returned error (for
/// [`Params`], `-32602 Invalid params`); the handler does not run.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sansrpc handler argument",
    label = "not an extractor",
    note = "handler arguments are extractors: `Params<T>` (T: Deserialize; the call's params by position or by name), `Context`, `State<S>`, `Extension<T>`, `MethodName`, `ConnectionState`, `RawParams`",
    note = "to take the call's params as `{Self}`, write `Params(x): Params<{Self}>`, or `Params((a, b)): Params<(A, B)>` for several positional params"
)]
pub trait FromCall<S>: Sized {
    /// Whether the argument may read the request's headers (through
    /// [`CallParts::context`]). The router asks its handlers
    /// ([`Router::reads_request_headers`](crate::Router::reads_request_headers))
    /// so that an HTTP endpoint skips copying headers no handler reads; an
    /// extractor of yours that never reads them may say `false`.
    const READS_HEADERS: bool = true;

    /// Extracts the argument.
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error>;
}

/// Typed parameters: an array fills a tuple, a `Vec` or a struct by
/// position; an object fills a struct or a map by name.
///
/// ```
/// use sansrpc::{Params, Router};
///
/// #[derive(serde::Deserialize)]
/// struct Sub { minuend: i64, subtrahend: i64 }
///
/// let mut router = Router::new();
/// router.method("add", |Params((a, b)): Params<(i64, i64)>| a + b).unwrap();
/// router.method("subtract", |Params(s): Params<Sub>| s.minuend - s.subtrahend).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params<T>(pub T);

impl<S, T: DeserializeOwned> FromCall<S> for Params<T> {
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        parts.params.parse().map(Params)
    }
}

/// The router's shared application state (a clone of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<S>(pub S);

impl<S: Clone> FromCall<S> for State<S> {
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(State(parts.state.clone()))
    }
}

/// The name the method was called by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodName(pub String);

impl<S> FromCall<S> for MethodName {
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(MethodName(parts.method.clone()))
    }
}

impl<S> FromCall<S> for Context {
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(parts.context.clone())
    }
}

impl<S> FromCall<S> for ConnectionState {
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(parts.context.connection().clone())
    }
}

impl<S> FromCall<S> for RawParams {
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(parts.params.clone())
    }
}

/// A typed extension of the [`Context`]; extraction fails with `-32603` if
/// the adapter or application did not attach one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

impl<S, T: Clone + Send + Sync + 'static> FromCall<S> for Extension<T> {
    // An extension is the adapter's or the application's value, not the
    // request's headers.
    const READS_HEADERS: bool = false;

    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        parts
            .context
            .extension::<T>()
            .cloned()
            .map(Extension)
            .ok_or_else(|| Error::internal_error().with_reason("missing context extension"))
    }
}

/// What a handler may return: any `T: Serialize` (a number, a string, a
/// `Vec`, a map, `()`, a `#[derive(Serialize)]` struct of yours, a
/// `serde_json::Value`) or `Result<T: Serialize, E: Into<Error>>`.
///
/// `M` tells the two apart; it is inferred and never written.
///
/// A `Result` whose error type is itself `Serialize` (`Result<T, String>`,
/// a `#[derive(Serialize)]` error enum) is refused at compile time ("type
/// annotations needed ... multiple impls satisfying `IntoOutcome<_>`")
/// rather than answered as `{"Ok": ...}`: return `Result<T, sansrpc::Error>`
/// (`.map_err(|e| Error::new(code, e))`).
///
/// ```
/// use sansrpc::{Error, Params, Router};
///
/// #[derive(serde::Serialize)]
/// struct Point { x: i64, y: i64 }
///
/// let mut router = Router::new();
/// router.method("origin", || Point { x: 0, y: 0 }).unwrap();
/// router.method("checked", |Params((a, b)): Params<(i64, i64)>| {
///     a.checked_add(b).ok_or_else(|| Error::new(1, "overflow"))
/// }).unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a sansrpc handler",
    label = "the handler returns `{Self}`",
    note = "a handler returns any `T: serde::Serialize` (a `#[derive(Serialize)]` struct, `Json<T>`, `Vec`, `Option`, `serde_json::Value`, ...) or `Result<T: Serialize, E: Into<sansrpc::Error>>`",
    note = "an `async fn` handler's output follows the same rule"
)]
pub trait IntoOutcome<M> {
    /// Converts into the answer.
    fn into_outcome(self) -> Outcome;

    /// Writes the result's JSON text straight to `out` (the same bytes
    /// [`into_outcome`](Self::into_outcome) would hold), or returns the
    /// error to answer with; after an error, what was written to `out` is
    /// to be dropped.
    fn write_outcome(self, out: &mut Vec<u8>) -> Result<(), Error>
    where
        Self: Sized,
    {
        let result = self.into_outcome()?;
        out.extend_from_slice(result.get().as_bytes());
        Ok(())
    }
}

/// Serializes `value` to `out` as [`result`] would serialize it.
fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    serde_json::to_writer(out, value).map_err(Error::from)
}

/// The [`IntoOutcome`] marker of a plain serializable value.
#[derive(Debug)]
pub enum PlainValue {}

/// The [`IntoOutcome`] marker of a `Result`.
#[derive(Debug)]
pub enum Fallible {}

impl<T: Serialize> IntoOutcome<PlainValue> for T {
    fn into_outcome(self) -> Outcome {
        result(&self)
    }

    fn write_outcome(self, out: &mut Vec<u8>) -> Result<(), Error> {
        write_json(&self, out)
    }
}

/// The [`IntoOutcome`] marker of a `Result` whose error is `Serialize`:
/// it exists so that such a `Result` matches two impls and is refused at
/// compile time, never silently answered as the `{"Ok": ...}` object serde
/// makes of it.
#[derive(Debug)]
pub enum SerializableError {}

impl<T: Serialize, E: Serialize> IntoOutcome<SerializableError> for Result<T, E> {
    fn into_outcome(self) -> Outcome {
        // Unreachable through type inference (the plain-value impl matches
        // too); a caller naming the marker gets the error as `data`.
        match self {
            Ok(v) => result(&v),
            Err(e) => Err(Error::internal_error().with_data(&e)),
        }
    }
}

impl<T: Serialize, E: Into<Error>> IntoOutcome<Fallible> for Result<T, E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(v) => result(&v),
            Err(e) => Err(e.into()),
        }
    }

    fn write_outcome(self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Ok(v) => write_json(&v, out),
            Err(e) => Err(e.into()),
        }
    }
}

/// Wraps a serializable value, as a handler's return or anywhere a value
/// is to be serialized as itself (it is transparent).
///
/// Handlers may return any `T: Serialize` directly; `Json` remains for
/// symmetry with [`Params`] and for code written before that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> Serialize for Json<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

// The markers that tell apart the `Handler` impls. They are `pub` so that
// public signatures (`Handler<SyncFn<..>, S>`, `Stats::handler`) may name
// them, inside a private module so that no user can: the impls are sealed.
#[allow(unreachable_pub)]
mod markers {
    use super::{PhantomData, PlainValue};

    /// Marks a handler that is a plain (synchronous) function; `R` is its
    /// [`IntoOutcome`](super::IntoOutcome) marker.
    #[derive(Debug)]
    pub struct SyncFn<Args, R = PlainValue>(PhantomData<fn() -> (Args, R)>);

    /// Marks a handler that is an `async fn` (or returns a future); `R` is its
    /// output's [`IntoOutcome`](super::IntoOutcome) marker.
    #[derive(Debug)]
    pub struct AsyncFn<Args, R = PlainValue>(PhantomData<fn() -> (Args, R)>);
}
pub(crate) use markers::{AsyncFn, SyncFn};

/// A function that can handle calls: `fn`s and `async fn`s of up to eight
/// [`FromCall`] arguments returning an [`IntoOutcome`].
///
/// `M` is a marker that tells apart sync and async functions (and the
/// kind of return); it is inferred and never written.
#[diagnostic::on_unimplemented(
    message = "this is not a sansrpc handler",
    label = "not a handler: check its arguments and its return type",
    note = "a handler is a `fn`, `async fn` or closure (`Clone + Send + Sync + 'static`) of up to eight extractor arguments: `Params<T>`, `Context`, `State<S>`, `Extension<T>`, `MethodName`, `ConnectionState`, `RawParams`",
    note = "it returns any `T: serde::Serialize`, `Json<T>`, or `Result<T: Serialize, E: Into<sansrpc::Error>>` (or a future of one)",
    note = "an argument that is not an extractor, e.g. `|s: String|`, must be wrapped: `|Params(s): Params<String>|` or `|Params((s,)): Params<(String,)>|`"
)]
pub trait Handler<M, S>: Clone + Send + Sync + 'static {
    /// Whether the handler may read the request's headers: `true` when
    /// one of its arguments may ([`FromCall::READS_HEADERS`]).
    const READS_HEADERS: bool = true;

    /// Runs the handler on a call. Panics inside it become `-32603`.
    fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome>;

    /// Runs the handler at once when it is a plain (synchronous) `fn`,
    /// writing its result's JSON text straight to `out`: `Ok(Ok(()))`
    /// when it wrote a result, `Ok(Err(error))` for the error to answer
    /// with (drop what `out` received then). A handler that must be awaited
    /// hands the call back (`Err(parts)`) for [`call`](Self::call).
    /// Panics inside it become `-32603`.
    fn call_now(&self, parts: CallParts<S>, out: &mut Vec<u8>) -> Result<Result<(), Error>, CallParts<S>> {
        let _ = out;
        Err(parts)
    }

    /// [`call_now`](Self::call_now) on borrowed parts, which stay the
    /// caller's: `Some` with what `call_now` returns in `Ok`, `None` when
    /// the handler must be awaited. The router calls this one, so that it
    /// can reuse the parts' buffers. The default clones the parts for
    /// `call_now`; the handlers made of functions answer from the borrowed
    /// parts.
    fn call_now_ref(&self, parts: &CallParts<S>, out: &mut Vec<u8>) -> Option<Result<(), Error>>
    where
        S: Clone,
    {
        self.call_now(parts.clone(), out).ok()
    }
}

pub(crate) fn panicked() -> Error {
    Error::internal_error().with_reason("handler panicked")
}

macro_rules! impl_handler {
    ($($t:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, R, RM, S, $($t,)*> Handler<SyncFn<($($t,)*), RM>, S> for F
        where
            F: Fn($($t),*) -> R + Clone + Send + Sync + 'static,
            R: IntoOutcome<RM>,
            RM: 'static,
            S: Send + 'static,
            $($t: FromCall<S>,)*
        {
            const READS_HEADERS: bool = false $(|| $t::READS_HEADERS)*;

            fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome> {
                let run = AssertUnwindSafe(|| -> Outcome {
                    $(let $t = $t::from_call(&parts)?;)*
                    (self)($($t),*).into_outcome()
                });
                let outcome = std::panic::catch_unwind(run).unwrap_or_else(|_| Err(panicked()));
                Box::pin(std::future::ready(outcome))
            }

            fn call_now(&self, parts: CallParts<S>, out: &mut Vec<u8>) -> Result<Result<(), Error>, CallParts<S>> {
                let run = AssertUnwindSafe(|| -> Result<(), Error> {
                    $(let $t = $t::from_call(&parts)?;)*
                    (self)($($t),*).write_outcome(out)
                });
                Ok(std::panic::catch_unwind(run).unwrap_or_else(|_| Err(panicked())))
            }

            fn call_now_ref(&self, parts: &CallParts<S>, out: &mut Vec<u8>) -> Option<Result<(), Error>>
            where
                S: Clone,
            {
                let run = AssertUnwindSafe(|| -> Result<(), Error> {
                    $(let $t = $t::from_call(parts)?;)*
                    (self)($($t),*).write_outcome(out)
                });
                Some(std::panic::catch_unwind(run).unwrap_or_else(|_| Err(panicked())))
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, RM, S, $($t,)*> Handler<AsyncFn<($($t,)*), RM>, S> for F
        where
            F: Fn($($t),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoOutcome<RM>,
            RM: 'static,
            S: Send + 'static,
            $($t: FromCall<S>,)*
        {
            const READS_HEADERS: bool = false $(|| $t::READS_HEADERS)*;

            fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome> {
                let start = AssertUnwindSafe(|| -> Result<Fut, Error> {
                    $(let $t = $t::from_call(&parts)?;)*
                    Ok((self)($($t),*))
                });
                match std::panic::catch_unwind(start) {
                    Err(_) => Box::pin(std::future::ready(Err(panicked()))),
                    Ok(Err(e)) => Box::pin(std::future::ready(Err(e))),
                    Ok(Ok(fut)) => Box::pin(
                        AssertUnwindSafe(fut)
                            .catch_unwind()
                            .map(|r| r.map_or_else(|_| Err(panicked()), IntoOutcome::into_outcome)),
                    ),
                }
            }

            fn call_now_ref(&self, _: &CallParts<S>, _: &mut Vec<u8>) -> Option<Result<(), Error>>
            where
                S: Clone,
            {
                None
            }
        }
    };
}

impl_handler!();
impl_handler!(T1);
impl_handler!(T1, T2);
impl_handler!(T1, T2, T3);
impl_handler!(T1, T2, T3, T4);
impl_handler!(T1, T2, T3, T4, T5);
impl_handler!(T1, T2, T3, T4, T5, T6);
impl_handler!(T1, T2, T3, T4, T5, T6, T7);
impl_handler!(T1, T2, T3, T4, T5, T6, T7, T8);
