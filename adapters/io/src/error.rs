//! Why a call has no result.

use sansrpc::{Error, UsageError};

/// Why a call made through a [`Client`](crate::Client) has no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The remote answered with a JSON-RPC error.
    #[error("the remote answered with an error: {0}")]
    Rpc(Error),
    /// No answer arrived before the call's deadline.
    #[error("no answer before the deadline")]
    TimedOut,
    /// The connection closed (or broke) before the answer arrived.
    #[error("the connection is closed")]
    Closed,
    /// The call could not be made: params that are not an array or an
    /// object, too many calls in flight, an empty batch.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The result does not deserialize into the requested type.
    #[error("the result does not fit the requested type: {0}")]
    Decode(#[source] serde_json::Error),
}
