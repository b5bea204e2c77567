//! Benchmarks for sansrpc: the inputs, the comparison lines of the core
//! benchmark (the typed limit, the serde_json `Value` limit and jsonrpsee's
//! `RpcModule`), the load
//! generator behind `sansrpc-load`, and the servers the load matrix drives.
//!
//! Nothing here is part of sansrpc's API; the crate is `publish = false`
//! and lives outside the root workspace so its heavy dependencies never
//! reach `cargo test --workspace`.

pub mod http_subject;
pub mod inputs;
pub mod limit;
pub mod load;
pub mod matrix;
pub mod peer;
pub mod report;
pub mod servers;
pub mod subject;
pub mod typed_limit;
