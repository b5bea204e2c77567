//! sansrpc adapter for tokio (work in progress).
