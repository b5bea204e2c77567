//! `sansrpc`: call any JSON-RPC 2.0 server from the command line.
//!
//! ```text
//! sansrpc call URL METHOD [PARAMS_JSON]     # prints the result, pretty, on stdout
//! sansrpc notify URL METHOD [PARAMS_JSON]   # sends a notification
//! sansrpc batch URL FILE|-                  # sends a batch read from FILE or stdin
//! sansrpc check URL [--profile P]           # the conformance suite (sansrpc-conformance)
//! ```
//!
//! `URL` is `http://…` or `https://…` (POST, with `sansrpc-http-client`),
//! `tcp://host:port` (newline-delimited JSON) or `ws://host:port/path`
//! (one message per text frame; not `wss://`), both with `sansrpc-tokio`'s client.
//! `PARAMS_JSON` is a JSON array or object. `-v` prints the wire log
//! (`-->` sent, `<--` received) on stderr; `-H 'Name: value'` adds an HTTP
//! header; `--timeout SECS` bounds each exchange (default 30).
//!
//! A batch file holds a JSON array of request objects; those with an `id`
//! are calls, the others notifications. The ids are the command's own on
//! the wire; the answers are printed in request order with the file's ids.
//!
//! Exit status: 0 on success, 1 when the server answered with a JSON-RPC
//! error (printed on stderr; for a batch, when any entry did), 2 when no
//! answer could be had (bad arguments, unreachable server, timeout, an
//! answer that is not valid JSON-RPC). `check` runs the
//! `sansrpc-conformance` library's suite and prints its report; it exits 1
//! when a MUST case fails, 2 when the suite cannot run.
//!
//! ```text
//! $ sansrpc call tcp://127.0.0.1:5000 subtract '[42, 23]'
//! 19
//! $ sansrpc -v call http://127.0.0.1:5000/ ping
//! --> {"jsonrpc":"2.0","method":"ping","id":1}
//! <-- {"jsonrpc":"2.0","result":"pong","id":1} (200 OK)
//! "pong"
//! ```
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sansrpc::Outcome;
use sansrpc::{BatchEntry, Error, RawParams, Router};
use serde_json::Value;
use serde_json::value::RawValue;

/// Call, notify and batch any JSON-RPC 2.0 server over HTTP(S), TCP or
/// WebSocket.
#[derive(Parser, Debug)]
#[command(name = "sansrpc", version, about)]
struct Cli {
    /// Print the wire log (every message sent and received) on stderr.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Seconds to wait for each exchange (default 30; for `check`, per
    /// case, default 2).
    #[arg(long, global = true, value_name = "SECS")]
    timeout: Option<f64>,
    /// An extra HTTP header, `Name: value` (repeatable; HTTP only).
    #[arg(short = 'H', long = "header", global = true, value_name = "HEADER")]
    headers: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Calls METHOD and prints its result.
    Call {
        /// http(s)://host:port/path, tcp://host:port or ws://host:port/path.
        url: String,
        /// The method name.
        method: String,
        /// The params: a JSON array or object.
        params: Option<String>,
    },
    /// Sends a notification (no answer).
    Notify {
        /// http(s)://host:port/path, tcp://host:port or ws://host:port/path.
        url: String,
        /// The method name.
        method: String,
        /// The params: a JSON array or object.
        params: Option<String>,
    },
    /// Sends a batch: a JSON array of request objects from FILE, or `-` for stdin.
    Batch {
        /// http(s)://host:port/path, tcp://host:port or ws://host:port/path.
        url: String,
        /// The file holding the batch, or `-` for stdin.
        file: String,
    },
    /// Runs the conformance suite (sansrpc-conformance) against URL.
    Check {
        /// Any target sansrpc-conformance takes: http://, tcp://, ws://, ...
        url: String,
        /// Which cases: `core` (no method needed), `spec-examples` (the
        /// spec's example methods) or `all`.
        #[arg(long, value_enum, default_value_t = CheckProfile::Core)]
        profile: CheckProfile,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The conformance profiles `check` offers.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum CheckProfile {
    Core,
    SpecExamples,
    All,
}

async fn check(
    url: &str,
    profile: CheckProfile,
    json: bool,
    timeout: Option<Duration>,
) -> Result<(), Failure> {
    use sansrpc_conformance::{Profile, RunOptions, Suite};
    let profile = match profile {
        CheckProfile::Core => Profile::Core,
        CheckProfile::SpecExamples => Profile::SpecExamples,
        CheckProfile::All => Profile::All,
    };
    let mut options = RunOptions::default();
    if let Some(t) = timeout {
        options.timeout = t;
    }
    let report = Suite::new(profile).run(url, &options).await?;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if report.passed() {
        Ok(())
    } else {
        // The report says which cases failed.
        Err(Failure::Other(String::new()))
    }
}

/// Why the command failed.
enum Failure {
    /// The server answered with a JSON-RPC error (exit 1).
    Rpc(Error),
    /// Anything else (exit 2).
    Other(String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Other(e.to_string())
    }
}

/// A connection to the server, whatever the transport.
enum Remote {
    Http(sansrpc_http_client::Client),
    Stream(sansrpc_tokio::PeerConnection),
}

fn http_error(e: sansrpc_http_client::ClientError) -> Failure {
    match e {
        sansrpc_http_client::ClientError::Rpc(e) => Failure::Rpc(e),
        e => Failure::Other(e.to_string()),
    }
}

fn stream_error(e: sansrpc_tokio::ClientError) -> Failure {
    match e {
        sansrpc_tokio::ClientError::Rpc(e) => Failure::Rpc(e),
        e => Failure::Other(e.to_string()),
    }
}

impl Remote {
    async fn open(cli: &Cli, url: &str, timeout: Duration) -> Result<Self, Failure> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https") => {
                let mut builder = sansrpc_http_client::Client::builder(url).timeout(timeout);
                for h in &cli.headers {
                    let (name, value) = h
                        .split_once(':')
                        .ok_or_else(|| Failure::Other(format!("header {h:?} is not `Name: value`")))?;
                    builder = builder.header(name.trim(), value.trim());
                }
                Ok(Remote::Http(builder.build().map_err(http_error)?))
            }
            Some("tcp") => {
                let addr = url.get(6..).unwrap_or_default().trim_end_matches('/');
                let builder = sansrpc_tokio::ClientBuilder::new().timeout(timeout);
                let peer = tokio::time::timeout(timeout, builder.connect_peer(addr, Router::new()))
                    .await
                    .map_err(|_| Failure::Other(format!("connecting to {addr}: timed out")))?
                    .map_err(|e| Failure::Other(format!("connecting to {addr}: {e}")))?;
                Ok(Remote::Stream(peer))
            }
            Some("wss") => Err(Failure::Other(format!(
                "unsupported URL {url:?}: wss:// needs TLS, which sansrpc-tokio's WebSocket client does not build in; use ws://, or https:// for HTTP"
            ))),
            Some("ws") => {
                let builder = sansrpc_tokio::ClientBuilder::new().timeout(timeout);
                let peer = tokio::time::timeout(timeout, builder.connect_ws_peer(url, Router::new()))
                    .await
                    .map_err(|_| Failure::Other(format!("connecting to {url}: timed out")))?
                    .map_err(|e| Failure::Other(format!("connecting to {url}: {e}")))?;
                Ok(Remote::Stream(peer))
            }
            _ => Err(Failure::Other(format!(
                "unsupported URL {url:?}: use http://, https://, tcp:// or ws://"
            ))),
        }
    }

    async fn call(&self, method: &str, params: RawParams) -> Result<Box<RawValue>, Failure> {
        match self {
            Remote::Http(c) => c.call_raw(method, params, c.timeout()).await.map_err(http_error),
            Remote::Stream(c) => c
                .call_raw(method, params, c.timeout())
                .await
                .map_err(stream_error),
        }
    }

    async fn notify(&self, method: &str, params: RawParams) -> Result<(), Failure> {
        let params = params_value(&params)?;
        match self {
            Remote::Http(c) => c.notify(method, params).await.map_err(http_error),
            Remote::Stream(c) => c.notify(method, params).await.map_err(stream_error),
        }
    }

    async fn batch(&self, entries: Vec<BatchEntry>) -> Result<Vec<Option<Outcome>>, Failure> {
        match self {
            Remote::Http(c) => c.batch(entries).await.map_err(http_error),
            Remote::Stream(c) => c.batch(entries).await.map_err(stream_error),
        }
    }

    /// Closes a stream connection once what was sent is written.
    async fn close(self, timeout: Duration) {
        if let Remote::Stream(peer) = self {
            peer.close();
            let _ = tokio::time::timeout(timeout, peer.closed()).await;
        }
    }
}

/// The params as a value the clients serialize back unchanged (`None`
/// sends no `params` member).
fn params_value(params: &RawParams) -> Result<Option<Value>, Failure> {
    match params.as_str() {
        None => Ok(None),
        Some(text) => Ok(Some(serde_json::from_str(text)?)),
    }
}

fn parse_params(text: Option<&str>) -> Result<RawParams, Failure> {
    match text {
        None => Ok(RawParams::none()),
        Some(text) => RawParams::from_json(text.trim()).map_err(|e| {
            let why = e
                .data()
                .map_or_else(|| e.message().to_owned(), |d| d.get().to_owned());
            Failure::Other(format!("PARAMS_JSON must be a JSON array or object: {why}"))
        }),
    }
}

/// A batch entry of the file: its method, params, and id if it is a call.
struct FileEntry {
    id: Option<Value>,
    entry: BatchEntry,
}

fn parse_batch(text: &str) -> Result<Vec<FileEntry>, Failure> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Failure::Other(format!("the batch is not JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(Failure::Other(
            "the batch must be a JSON array of request objects".to_owned(),
        ));
    };
    if items.is_empty() {
        return Err(Failure::Other("the batch is empty".to_owned()));
    }
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut object) = item else {
            return Err(Failure::Other(format!("batch entry {i} is not an object")));
        };
        let Some(Value::String(method)) = object.remove("method") else {
            return Err(Failure::Other(format!(
                "batch entry {i} has no string \"method\""
            )));
        };
        let params = match object.remove("params") {
            None => RawParams::none(),
            Some(p) => RawParams::serialize(&p).map_err(|_| {
                Failure::Other(format!("batch entry {i}: params must be an array or an object"))
            })?,
        };
        let id = object.remove("id");
        let entry = if id.is_some() {
            BatchEntry::call(method, params)
        } else {
            BatchEntry::notification(method, params)
        };
        entries.push(FileEntry { id, entry });
    }
    Ok(entries)
}

/// One answer of a batch as printed: members in the specification's order.
#[derive(serde::Serialize)]
struct Answer {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
    id: Value,
}

fn pretty(raw: &RawValue) -> String {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| raw.get().to_owned()),
        Err(_) => raw.get().to_owned(),
    }
}

fn error_json(e: &Error) -> Value {
    // `Error` is not `Serialize` (a handler's `Result<T, Error>` must not
    // look like a plain value); its JSON text is.
    serde_json::from_str(&e.to_json()).unwrap_or_else(|_| Value::String(e.to_string()))
}

async fn run(cli: &Cli) -> Result<(), Failure> {
    let given = match cli.timeout {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            return Err(Failure::Other(
                "--timeout must be a positive number of seconds".to_owned(),
            ));
        }
        Some(t) => Some(Duration::from_secs_f64(t)),
        None => None,
    };
    let timeout = given.unwrap_or(Duration::from_secs(30));
    match &cli.command {
        Command::Check { url, profile, json } => check(url, *profile, *json, given).await,
        Command::Call { url, method, params } => {
            let params = parse_params(params.as_deref())?;
            let remote = Remote::open(cli, url, timeout).await?;
            let result = remote.call(method, params).await;
            remote.close(timeout).await;
            println!("{}", pretty(&result?));
            Ok(())
        }
        Command::Notify { url, method, params } => {
            let params = parse_params(params.as_deref())?;
            let remote = Remote::open(cli, url, timeout).await?;
            let sent = remote.notify(method, params).await;
            remote.close(timeout).await;
            sent
        }
        Command::Batch { url, file } => {
            let text = if file == "-" {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                text
            } else {
                std::fs::read_to_string(file).map_err(|e| Failure::Other(format!("reading {file}: {e}")))?
            };
            let entries = parse_batch(&text)?;
            let ids: Vec<Option<Value>> = entries.iter().map(|e| e.id.clone()).collect();
            let remote = Remote::open(cli, url, timeout).await?;
            let answers = remote.batch(entries.into_iter().map(|e| e.entry).collect()).await;
            remote.close(timeout).await;
            let mut printed = Vec::new();
            let mut failed = false;
            for (id, answer) in ids.into_iter().zip(answers?) {
                let (Some(id), Some(outcome)) = (id, answer) else {
                    continue;
                };
                let mut answer = Answer {
                    jsonrpc: "2.0",
                    result: None,
                    error: None,
                    id,
                };
                match outcome {
                    Ok(result) => answer.result = Some(serde_json::from_str(result.get())?),
                    Err(e) => {
                        failed = true;
                        eprintln!("error: {}", serde_json::to_string(&error_json(&e))?);
                        answer.error = Some(error_json(&e));
                    }
                }
                printed.push(answer);
            }
            println!("{}", serde_json::to_string_pretty(&printed)?);
            if failed {
                return Err(Failure::Other(String::new()));
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose || std::env::var_os("RUST_LOG").is_some() {
        let filter = if cli.verbose {
            "sansrpc::wire=debug".to_owned()
        } else {
            std::env::var("RUST_LOG").unwrap_or_default()
        };
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .with_level(false)
            .with_ansi(false)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rpc(e)) => {
            match serde_json::to_string(&error_json(&e)) {
                Ok(json) => eprintln!("error: {json}"),
                Err(_) => eprintln!("error: {e}"),
            }
            ExitCode::from(1)
        }
        Err(Failure::Other(why)) if why.is_empty() => ExitCode::from(1),
        Err(Failure::Other(why)) => {
            eprintln!("error: {why}");
            ExitCode::from(2)
        }
    }
}
