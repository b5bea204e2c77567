//! Test support shared by the adapters' test suites (dev-only, never
//! published): [`stream`] holds the stream suite both stream adapters run
//! (tokio, smol; expanded by [`stream_suite!`]), [`ws`] the WebSocket suite every WebSocket endpoint runs
//! (tokio, warp, actix-web), [`http`] the HTTP suite both HTTP adapters run
//! (actix-web, warp) and the Python HTTP clients they talk to.
//!
//! ```
//! assert_eq!(sansrpc_testkit::stream::one_line("{\n  \"a\": 1\n}"), "{\"a\": 1}\n");
//! ```
#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod http;
pub mod stream;
pub mod ws;
