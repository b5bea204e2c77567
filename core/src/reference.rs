//! The methods the JSON-RPC 2.0 specification's examples call, as one
//! router: what every adapter's `reference` example serves and what the
//! conformance suite's `spec-examples` profile expects.
//!
//! Enabled by the `reference` feature.

use serde::Deserialize;

use crate::error::{Error, UsageError};
use crate::handler::Params;
use crate::router::Router;

/// `subtract`'s parameters: `[minuend, subtrahend]` by position or
/// `{"minuend": .., "subtrahend": ..}` by name.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Subtract {
    /// The number subtracted from.
    pub minuend: i64,
    /// The number subtracted.
    pub subtrahend: i64,
}

fn subtract(Params(p): Params<Subtract>) -> Result<i64, Error> {
    p.minuend
        .checked_sub(p.subtrahend)
        .ok_or_else(|| Error::invalid_params("the difference overflows a 64-bit integer"))
}

fn sum(Params(v): Params<Vec<i64>>) -> Result<i64, Error> {
    v.into_iter()
        .try_fold(0i64, i64::checked_add)
        .ok_or_else(|| Error::invalid_params("the sum overflows a 64-bit integer"))
}

/// A router with the specification's example methods:
///
/// - `subtract`: `[42, 23]` or `{"minuend": 42, "subtrahend": 23}` → `19`
/// - `sum`: `[1, 2, 4]` → `7`
/// - `update`, `notify_hello`: accept anything, return `null` (the
///   examples send them as notifications)
/// - `get_data`: → `["hello", 5]`
/// - `ping`: → `"pong"`
///
/// ```
/// let router = sansrpc::reference::router();
/// let answer = futures_executor::block_on(router.handle_message(
///     br#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":3}"#,
///     sansrpc::Context::default(),
/// ));
/// assert_eq!(answer.unwrap(), r#"{"jsonrpc":"2.0","result":19,"id":3}"#);
/// ```
pub fn router() -> Router {
    let mut r = Router::new();
    // The names are fixed and valid, so registration cannot fail.
    let _ = register(&mut r);
    r
}

fn register(r: &mut Router) -> Result<(), UsageError> {
    r.method("subtract", subtract)?
        .method("sum", sum)?
        .method("update", || ())?
        .method("notify_hello", || ())?
        .method("get_data", || crate::handler::Json(("hello", 5)))?
        .method("ping", || "pong")?;
    Ok(())
}
