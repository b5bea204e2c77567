//! The suite: which cases run, and running them against a server.

use std::time::Duration;

use tokio::time::Instant;

use crate::case::{Case, Level, Profile};
use crate::catalog::catalog;
use crate::glob::Glob;
use crate::report::{CaseResult, Report, Verdict};
use crate::transport::{Exchange, Framing, StdioTransport, Target, Transport};

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long one case may take, from connecting to the last byte read.
    /// A server that does not answer in time fails that case; the run goes on.
    pub timeout: Duration,
    /// How messages are delimited on `tcp://` and `stdio:` targets (the
    /// default is one per line). Any other framing on another target is a
    /// [`RunError::BadTarget`].
    pub framing: Framing,
    /// Messages (JSON text) a `stdio:` server gets every time it starts,
    /// before the cases: e.g. a language server's `initialize` request and
    /// `initialized` notification. What it answers to them is dropped.
    /// Empty by default; on any other target a [`RunError::BadTarget`].
    pub init: Vec<String>,
}

impl Default for RunOptions {
    /// A 2-second per-case timeout, newline framing, no init messages.
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(2),
            framing: Framing::Newline,
            init: Vec::new(),
        }
    }
}

/// Why a run could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// The target URL is not one this suite can talk to.
    BadTarget(String),
    /// Nothing accepts connections at the target.
    Unreachable(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::BadTarget(e) => write!(f, "bad target: {e}"),
            RunError::Unreachable(e) => write!(f, "target unreachable: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// A selection of cases, ready to run against a server.
///
/// ```no_run
/// # async fn demo() -> Result<(), sansrpc_conformance::RunError> {
/// use sansrpc_conformance::{Profile, RunOptions, Suite};
/// let report = Suite::new(Profile::Core)
///     .run("http://127.0.0.1:8080/", &RunOptions::default())
///     .await?;
/// assert!(report.must_failures().next().is_none(), "{}", report.to_text());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Suite {
    profile: Profile,
    cases: Vec<Case>,
}

impl Suite {
    /// Every case of the catalog, run under `profile` (cases the profile
    /// does not select are reported as skipped, with the reason).
    pub fn new(profile: Profile) -> Suite {
        let cases = match profile {
            // The 1.0 cases are a catalog of their own: 2.0 reports stay as they were.
            Profile::V1 => crate::catalog_v1::catalog_v1(),
            _ => catalog(),
        };
        Suite { profile, cases }
    }

    /// Keeps only the cases whose id matches one of `patterns` (`*` matches
    /// any run of characters, `/` included; `?` one character). No patterns
    /// keeps everything.
    pub fn filter<S: AsRef<str>>(mut self, patterns: &[S]) -> Suite {
        if !patterns.is_empty() {
            let globs: Vec<Glob> = patterns.iter().map(|p| Glob::new(p.as_ref())).collect();
            self.cases.retain(|c| globs.iter().any(|g| g.matches(c.id)));
        }
        self
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The cases, in catalog order.
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Runs every case against `url` (`http://host:port/path`,
    /// `tcp://host:port`, `ws://host:port/path` or `stdio:<command line>`).
    pub async fn run(&self, url: &str, options: &RunOptions) -> Result<Report, RunError> {
        self.run_with_progress(url, options, |_| {}).await
    }

    /// Like [`run`](Self::run), calling `progress` after each case.
    pub async fn run_with_progress(
        &self,
        url: &str,
        options: &RunOptions,
        progress: impl FnMut(&CaseResult),
    ) -> Result<Report, RunError> {
        let target = Target::parse(url).map_err(RunError::BadTarget)?;
        let transport: Box<dyn Transport> = match &target {
            Target::Stdio { command } => Box::new(
                StdioTransport::new(command.clone())
                    .with_framing(options.framing)
                    .with_init(options.init.iter().map(|m| m.as_bytes().to_vec()).collect()),
            ),
            other if !options.init.is_empty() => {
                return Err(RunError::BadTarget(format!(
                    "{other}: init messages apply to stdio: targets only"
                )));
            }
            other => other
                .transport_with(options.framing)
                .map_err(RunError::BadTarget)?,
        };
        if let Err(e) = transport.preflight().await {
            transport.finish().await;
            return Err(RunError::Unreachable(e));
        }
        let label = match options.framing {
            Framing::Newline => target.to_string(),
            framing => format!("{target} (framing {framing})"),
        };
        Ok(self.run_on(&*transport, &label, options, progress).await)
    }

    /// Runs every case over a transport of your own (e.g. one that is not
    /// built in yet). `target` only labels the report. The transport's
    /// [`finish`](Transport::finish) is called at the end, and its
    /// [`server_log`](Transport::server_log) goes into the report.
    pub async fn run_on(
        &self,
        transport: &dyn Transport,
        target: &str,
        options: &RunOptions,
        mut progress: impl FnMut(&CaseResult),
    ) -> Report {
        let started = Instant::now();
        let mut results = Vec::with_capacity(self.cases.len());
        for case in &self.cases {
            let result = run_case(case, self.profile, transport, options).await;
            progress(&result);
            results.push(result);
        }
        transport.finish().await;
        Report {
            target: target.to_owned(),
            transport: transport.kind(),
            profile: self.profile,
            duration: started.elapsed(),
            results,
            server_log: transport.server_log(),
        }
    }
}

async fn run_case(
    case: &Case,
    profile: Profile,
    transport: &dyn Transport,
    options: &RunOptions,
) -> CaseResult {
    let sent = case.payload.preview(400);
    let skip = |reason: String| CaseResult::new(case, Verdict::Skip { reason }, sent.clone(), Duration::ZERO);
    if !profile.selects(case.needs) {
        return skip(format!(
            "needs the spec's example methods (profile {profile}; use --profile spec-examples or all)"
        ));
    }
    let kind = transport.kind();
    if !case.applies.to(kind) {
        return skip(format!("does not apply to {kind} transports"));
    }
    if let Some(reason) = transport.skip(case) {
        return skip(reason);
    }
    let bytes = case.payload.bytes();
    let started = Instant::now();
    let deadline = started + options.timeout;
    let exchange = Exchange {
        case,
        bytes: &bytes,
        deadline,
        timeout: options.timeout,
    };
    // The transports honor the deadline; this outer bound is a backstop so a
    // transport bug can never hang the run.
    let observed =
        match tokio::time::timeout_at(deadline + transport.grace(), transport.exchange(exchange)).await {
            Ok(obs) => obs,
            Err(_) => crate::Observed::failed(crate::End::TimedOut(options.timeout)),
        };
    let elapsed = started.elapsed();
    let got = observed.summary(400);
    let verdict = match case.expect.check(&observed) {
        Ok(()) => Verdict::Pass,
        Err(why) => {
            let expected = case.expect.to_string();
            let got = got.clone();
            match case.level {
                Level::Must => Verdict::Fail { expected, got, why },
                Level::Should | Level::Info => Verdict::Warn { expected, got, why },
            }
        }
    };
    let mut result = CaseResult::new(case, verdict, sent, elapsed);
    result.observed = Some(got);
    result.answer = Some(observed.brief());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_glob() {
        let s = Suite::new(Profile::All).filter(&["4.1/*"]);
        assert!(!s.cases().is_empty());
        assert!(s.cases().iter().all(|c| c.section() == "4.1"));
        let s = Suite::new(Profile::All).filter(&["7/*batch*", "6/empty-array"]);
        assert!(s.cases().iter().any(|c| c.id == "6/empty-array"));
        assert!(s.cases().iter().any(|c| c.id == "7/invalid-batch"));
        let none: [&str; 0] = [];
        assert_eq!(
            Suite::new(Profile::Core).filter(&none).cases().len(),
            catalog().len()
        );
    }

    #[tokio::test]
    async fn bad_and_dead_targets_stop_the_run() {
        let s = Suite::new(Profile::Core);
        let e = s.run("ftp://x", &RunOptions::default()).await.unwrap_err();
        assert!(matches!(e, RunError::BadTarget(_)));
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = s
            .run(&format!("tcp://127.0.0.1:{port}"), &RunOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, RunError::Unreachable(_)), "{e}");
    }
}
