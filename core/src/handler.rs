//! Typed handlers: plain functions whose arguments are extracted from the
//! call and whose return value becomes the answer.

use std::collections::{BTreeMap, HashMap};
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
pub trait FromCall<S>: Sized {
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
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        parts.params.parse().map(Params)
    }
}

/// The router's shared application state (a clone of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct State<S>(pub S);

impl<S: Clone> FromCall<S> for State<S> {
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(State(parts.state.clone()))
    }
}

/// The name the method was called by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MethodName(pub String);

impl<S> FromCall<S> for MethodName {
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
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(parts.context.connection().clone())
    }
}

impl<S> FromCall<S> for RawParams {
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        Ok(parts.params.clone())
    }
}

/// A typed extension of the [`Context`]; extraction fails with `-32603` if
/// the adapter or application did not attach one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

impl<S, T: Clone + Send + Sync + 'static> FromCall<S> for Extension<T> {
    fn from_call(parts: &CallParts<S>) -> Result<Self, Error> {
        parts
            .context
            .extension::<T>()
            .cloned()
            .map(Extension)
            .ok_or_else(|| Error::internal_error().with_reason("missing context extension"))
    }
}

/// What a handler may return: `Result<T: Serialize, E: Into<Error>>`, or a
/// plain value of a common type. Any other serializable value can be
/// returned wrapped in [`Json`].
pub trait IntoOutcome {
    /// Converts into the answer.
    fn into_outcome(self) -> Outcome;
}

impl<T: Serialize, E: Into<Error>> IntoOutcome for Result<T, E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(v) => result(&v),
            Err(e) => Err(e.into()),
        }
    }
}

/// Returns any serializable value from a handler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoOutcome for Json<T> {
    fn into_outcome(self) -> Outcome {
        result(&self.0)
    }
}

macro_rules! plain_outcome {
    ($($t:ty),* $(,)?) => {$(
        impl IntoOutcome for $t {
            fn into_outcome(self) -> Outcome {
                result(&self)
            }
        }
    )*};
}

plain_outcome!(
    (),
    bool,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    char,
    String,
    &'static str,
    serde_json::Value,
    Box<serde_json::value::RawValue>,
);

impl<T: Serialize> IntoOutcome for Vec<T> {
    fn into_outcome(self) -> Outcome {
        result(&self)
    }
}

impl<T: Serialize> IntoOutcome for Option<T> {
    fn into_outcome(self) -> Outcome {
        result(&self)
    }
}

impl<K: Serialize, V: Serialize, H> IntoOutcome for HashMap<K, V, H> {
    fn into_outcome(self) -> Outcome {
        result(&self)
    }
}

impl<K: Serialize, V: Serialize> IntoOutcome for BTreeMap<K, V> {
    fn into_outcome(self) -> Outcome {
        result(&self)
    }
}

/// Marks a handler that is a plain (synchronous) function.
#[derive(Debug)]
pub struct SyncFn<Args>(PhantomData<fn() -> Args>);

/// Marks a handler that is an `async fn` (or returns a future).
#[derive(Debug)]
pub struct AsyncFn<Args>(PhantomData<fn() -> Args>);

/// A function that can handle calls: `fn`s and `async fn`s of up to eight
/// [`FromCall`] arguments returning an [`IntoOutcome`].
///
/// `M` is a marker that tells apart sync and async functions; it is
/// inferred and never written.
pub trait Handler<M, S>: Clone + Send + Sync + 'static {
    /// Runs the handler on a call. Panics inside it become `-32603`.
    fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome>;
}

pub(crate) fn panicked() -> Error {
    Error::internal_error().with_reason("handler panicked")
}

macro_rules! impl_handler {
    ($($t:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, R, S, $($t,)*> Handler<SyncFn<($($t,)*)>, S> for F
        where
            F: Fn($($t),*) -> R + Clone + Send + Sync + 'static,
            R: IntoOutcome,
            S: Send + 'static,
            $($t: FromCall<S>,)*
        {
            fn call(&self, parts: CallParts<S>) -> BoxFuture<Outcome> {
                let run = AssertUnwindSafe(|| -> Outcome {
                    $(let $t = $t::from_call(&parts)?;)*
                    (self)($($t),*).into_outcome()
                });
                let outcome = std::panic::catch_unwind(run).unwrap_or_else(|_| Err(panicked()));
                Box::pin(std::future::ready(outcome))
            }
        }

        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, S, $($t,)*> Handler<AsyncFn<($($t,)*)>, S> for F
        where
            F: Fn($($t),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoOutcome,
            S: Send + 'static,
            $($t: FromCall<S>,)*
        {
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
