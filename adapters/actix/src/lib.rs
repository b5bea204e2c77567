//! sansrpc adapter for actix (work in progress).
