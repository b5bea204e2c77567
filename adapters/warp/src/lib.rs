//! sansrpc adapter for warp (work in progress).
