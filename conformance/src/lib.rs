//! A JSON-RPC 2.0 conformance suite: what h2spec is for HTTP/2, this is for
//! JSON-RPC 2.0.
//!
//! - A **catalog** of [`Case`]s, each with a stable id keyed to the section
//!   of the [specification](https://www.jsonrpc.org/specification) it checks
//!   (`4.1/notification-unknown-method`), a [`Level`] (MUST, SHOULD, or INFO
//!   for what the spec leaves open), the exact bytes sent and an [`Expect`]ation
//!   of what comes back, or that nothing does.
//! - A **runner** ([`Suite`]) that talks to a live server over a
//!   [`Transport`]: `http://host:port/path` (POST), `tcp://host:port`
//!   (newline-delimited JSON), `ws://host:port/path` (one message per
//!   WebSocket text frame), or `stdio:<command line>` ([`StdioTransport`]:
//!   the suite starts the server and speaks over its stdin and stdout).
//!   Streams take either [`Framing`]: lines, or LSP-style `Content-Length`
//!   headers. Every case has a timeout; a silent server fails cases, it
//!   never hangs the run.
//! - A **report** ([`Report`]) with a [`Verdict`] per case and text, JSON
//!   and JUnit renderings.
//! - **Baselines** ([`Baseline`]): the failures a project already knows
//!   about, so its CI fails only on a new one.
//! - A **matrix** ([`Matrix`]): several reports side by side, as text, JSON
//!   and a self-contained HTML page.
//!
//! It is a black-box client: it works against any server, in any language.
//!
//! # Profiles
//!
//! [`Profile::Core`] needs no method at all (unknown names and malformed
//! input). [`Profile::SpecExamples`] needs the methods of the spec's
//! section-7 examples: `subtract` (positional, and named with `minuend` /
//! `subtrahend`), `sum`, `update` and `notify_hello` (as notifications) and
//! `get_data` (returning `["hello", 5]`). [`Profile::All`] runs both.
//!
//! # Running the suite in a test
//!
//! ```no_run
//! use sansrpc_conformance::{Profile, RunOptions, Suite, Verdict};
//!
//! # async fn demo(port: u16) {
//! let report = Suite::new(Profile::All)
//!     .run(&format!("http://127.0.0.1:{port}/"), &RunOptions::default())
//!     .await
//!     .expect("server reachable");
//! for r in report.must_failures() {
//!     eprintln!("{}: {:?}", r.id, r.verdict);
//! }
//! assert!(report.passed(), "{}", report.to_text());
//! assert_eq!(report.get("4.1/notification-unknown-method").unwrap().verdict, Verdict::Pass);
//! # }
//! ```
//!
//! Checks can be exercised without a server, from canned answers:
//!
//! ```
//! use sansrpc_conformance::{Observed, catalog};
//!
//! let case = catalog().into_iter().find(|c| c.id == "7/invalid-json").unwrap();
//! let answer = br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#;
//! assert!(case.expect.check(&Observed::http(200, &[], answer)).is_ok());
//! assert!(case.expect.check(&Observed::http(204, &[], b"")).is_err());
//! ```

#![forbid(unsafe_code)]

mod baseline;
mod case;
mod catalog;
mod catalog_v1;
mod expect;
mod glob;
mod matrix;
mod report;
mod runner;
mod transport;

pub use baseline::{Baseline, BaselineCheck};
pub use case::{Applies, Case, HttpRequest, Level, Needs, Payload, Profile, TransportKind};
pub use catalog::{OVERSIZED_BYTES, SECTIONS, catalog};
pub use catalog_v1::catalog_v1;
pub use expect::{
    CheckFn, End, Expect, HttpMeta, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, IdMatch,
    METHOD_NOT_FOUND, Observed, Outcome, PARSE_ERROR, Resp, json_eq, parse, validate_response,
};
pub use matrix::{Matrix, MatrixColumn};
pub use report::{CaseResult, Report, SectionSummary, Verdict};
pub use runner::{RunError, RunOptions, Suite};
pub use transport::{
    BoxFuture, Exchange, Framing, HttpTransport, LOG_LIMIT, PATIENCE, PROBE_ID, STARTUP_TIMEOUT,
    SocketIoTransport, StdioTransport, Target, TcpTransport, Transport, WsTransport, split_command_line,
};
