//! sansrpc adapter for smol (work in progress).
