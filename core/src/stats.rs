//! Per-method call statistics, cheap enough to leave on in production:
//! lock-free counters, a bounded log-linear histogram per method, and a
//! one-minute window of per-second counts.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use crate::error::RejectionKind;
use crate::handler::{Json, SyncFn};
use crate::message::Outcome;
use crate::router::{CallInfo, Hook, Rejection};

/// Histogram resolution: `2^SUB_BITS` buckets per power of two, so a
/// percentile is off by at most 1/16 of its value (the bucket's midpoint
/// is reported).
const SUB_BITS: u32 = 3;
const SUBS: usize = 1 << SUB_BITS;
/// Below `2 * SUBS` nanoseconds every nanosecond has its own bucket.
const LINEAR: usize = 2 * SUBS;
/// The largest power of two the histogram tells apart: 2^40 ns ≈ 18
/// minutes; longer calls land in the last bucket.
const MAX_EXP: u32 = 40;
const BUCKETS: usize = LINEAR + (MAX_EXP as usize - SUB_BITS as usize) * SUBS;
/// The rate window: this many one-second slots.
const WINDOW_SECS: u64 = 60;

fn bucket_of(ns: u64) -> usize {
    if ns < LINEAR as u64 {
        return ns as usize;
    }
    let exp = (63 - ns.leading_zeros()).min(MAX_EXP);
    let ns = ns.min((1u64 << (MAX_EXP + 1)) - 1);
    let sub = ((ns >> (exp - SUB_BITS)) as usize) & (SUBS - 1);
    LINEAR + (exp - SUB_BITS - 1) as usize * SUBS + sub
}

/// The lowest value of `bucket` and its width, in nanoseconds.
fn bucket_range(bucket: usize) -> (u64, u64) {
    if bucket < LINEAR {
        return (bucket as u64, 1);
    }
    let i = bucket - LINEAR;
    let exp = (i / SUBS) as u32 + SUB_BITS + 1;
    let sub = (i % SUBS) as u64;
    let width = 1u64 << (exp - SUB_BITS);
    ((SUBS as u64 + sub) * width, width)
}

/// One method's (or the unknown-method bucket's) live counters.
struct Cell {
    count: AtomicU64,
    errors: AtomicU64,
    total_ns: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
    histogram: Box<[AtomicU64]>,
    /// Slot `s % WINDOW_SECS` holds `(s << 32) | count` for second `s`
    /// since the `Stats` was made: one atomic per slot, so a slot is
    /// claimed for a new second and counted in one step.
    window: Box<[AtomicU64]>,
}

impl Cell {
    fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            total_ns: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
            histogram: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            window: (0..WINDOW_SECS).map(|_| AtomicU64::new(u64::MAX)).collect(),
        }
    }

    fn record(&self, elapsed: Duration, failed: bool, second: u64) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Relaxed);
        if failed {
            self.errors.fetch_add(1, Relaxed);
        }
        self.total_ns.fetch_add(ns, Relaxed);
        self.min_ns.fetch_min(ns, Relaxed);
        self.max_ns.fetch_max(ns, Relaxed);
        if let Some(b) = self.histogram.get(bucket_of(ns)) {
            b.fetch_add(1, Relaxed);
        }
        // `second` fits 32 bits for 136 years of uptime.
        let tag = second << 32;
        if let Some(slot) = self.window.get((second % WINDOW_SECS) as usize) {
            let mut seen = slot.load(Relaxed);
            loop {
                let next = if seen & !0xffff_ffff == tag {
                    seen + 1
                } else {
                    tag | 1
                };
                match slot.compare_exchange_weak(seen, next, Relaxed, Relaxed) {
                    Ok(_) => break,
                    Err(now) => seen = now,
                }
            }
        }
    }

    fn snapshot(&self, now_second: u64, uptime: Duration) -> MethodStats {
        let count = self.count.load(Relaxed);
        if count == 0 {
            return MethodStats::default();
        }
        let min = self.min_ns.load(Relaxed);
        let max = self.max_ns.load(Relaxed);
        let counts: Vec<u64> = self.histogram.iter().map(|b| b.load(Relaxed)).collect();
        let in_histogram: u64 = counts.iter().sum();
        let percentile = |q: f64| -> Duration {
            // The rank of the q-quantile, 1-based, among what the
            // histogram holds (counters race ahead of it by a call or two).
            let rank = ((q * in_histogram as f64).ceil() as u64).clamp(1, in_histogram.max(1));
            let mut seen = 0;
            for (bucket, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    let (low, width) = bucket_range(bucket);
                    return Duration::from_nanos((low + width / 2).clamp(min, max));
                }
            }
            Duration::from_nanos(max)
        };
        let in_window: u64 = self
            .window
            .iter()
            .map(|slot| slot.load(Relaxed))
            .filter(|v| {
                let s = v >> 32;
                *v != u64::MAX && s <= now_second && now_second - s < WINDOW_SECS
            })
            .map(|v| v & 0xffff_ffff)
            .sum();
        let span = uptime.as_secs_f64().clamp(1.0, WINDOW_SECS as f64);
        MethodStats {
            count,
            errors: self.errors.load(Relaxed),
            total: Duration::from_nanos(self.total_ns.load(Relaxed)),
            min: Duration::from_nanos(min),
            mean: Duration::from_nanos(self.total_ns.load(Relaxed) / count),
            max: Duration::from_nanos(max),
            p50: percentile(0.50),
            p99: percentile(0.99),
            per_second: in_window as f64 / span,
        }
    }
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One method's figures, as [`Stats::snapshot`] reports them.
///
/// Serializes with durations as seconds (a JSON number), the unit
/// Prometheus uses too:
/// `{"count":2,"errors":0,"total":0.000003,"min":0.000001,...,"per_second":2.0}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MethodStats {
    /// Calls and notifications handled.
    pub count: u64,
    /// How many of them ended in an error (a notification's error too,
    /// although nothing is sent for it).
    pub errors: u64,
    /// Time spent in all of them.
    #[serde(serialize_with = "seconds")]
    pub total: Duration,
    /// The shortest one.
    #[serde(serialize_with = "seconds")]
    pub min: Duration,
    /// The mean duration.
    #[serde(serialize_with = "seconds")]
    pub mean: Duration,
    /// The longest one.
    #[serde(serialize_with = "seconds")]
    pub max: Duration,
    /// The median duration (within 1/16 of the true value).
    #[serde(serialize_with = "seconds")]
    pub p50: Duration,
    /// The 99th percentile of the duration (within 1/16 of the true value).
    #[serde(serialize_with = "seconds")]
    pub p99: Duration,
    /// Calls per second over the last minute (over the uptime, while it
    /// is shorter than a minute).
    pub per_second: f64,
}

/// Messages the protocol layer answered by itself, never reaching a
/// handler, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RejectedStats {
    /// Messages that were not JSON (`-32700`).
    pub parse_errors: u64,
    /// Valid JSON that was not a valid request (`-32600`), empty batches
    /// and batches over the length limit included.
    pub invalid_requests: u64,
    /// Messages over the size limit.
    pub oversize: u64,
}

/// Everything a [`Stats`] knows, at one moment; what the ready `stats`
/// method ([`Stats::handler`]) answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Registered methods (and aliases, by the name called), by name.
    pub methods: BTreeMap<String, MethodStats>,
    /// All calls of names no method is registered under, in one bucket
    /// (so a caller cannot grow the statistics by inventing names).
    pub unknown_methods: MethodStats,
    /// Messages the protocol layer refused before any method ran.
    pub rejected: RejectedStats,
    /// How long the statistics have been gathered.
    #[serde(serialize_with = "seconds")]
    pub uptime: Duration,
}

struct Inner {
    started: Instant,
    methods: RwLock<HashMap<Box<str>, Arc<Cell>>>,
    unknown: Cell,
    parse_errors: AtomicU64,
    invalid_requests: AtomicU64,
    oversize: AtomicU64,
}

/// A [`Hook`] that measures every call: per method the count, errors,
/// min / mean / max / p50 / p99 of the duration and the calls per second
/// over the last minute; and the messages refused before any method ran.
///
/// Cheap enough to leave on: a call costs a read lock, a hash lookup and a
/// few relaxed atomic additions (see `BENCHMARKS.md` for the measured
/// figure), and memory is bounded — one entry (about 3 KiB) per
/// *registered* name; calls of unknown names share one bucket.
///
/// Read it three ways: [`snapshot`](Stats::snapshot) in Rust, a ready
/// JSON-RPC method ([`handler`](Stats::handler)) registered under any
/// name, and Prometheus text ([`prometheus`](Stats::prometheus)).
///
/// ```
/// use sansrpc::{Context, Params, Router, Stats};
///
/// let stats = Stats::new();
/// let mut router = Router::new();
/// router.method("add", |Params((a, b)): Params<(i64, i64)>| a + b).unwrap();
/// router.method("stats", stats.handler()).unwrap();
/// router.hook(stats.clone());
///
/// let call = |body: &str| futures_executor::block_on(router.handle_message(body.as_bytes(), Context::default()));
/// call(r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#);
/// call(r#"{"jsonrpc":"2.0","method":"no such method","id":2}"#);
///
/// let snap = stats.snapshot();
/// assert_eq!(snap.methods["add"].count, 1);
/// assert_eq!(snap.unknown_methods.count, 1);
/// assert!(stats.prometheus().contains("sansrpc_calls_total{method=\"add\"} 1\n"));
/// ```
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stats")
            .field("snapshot", &self.snapshot())
            .finish()
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty statistics; the rate window starts now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: Instant::now(),
                methods: RwLock::new(HashMap::new()),
                unknown: Cell::new(),
                parse_errors: AtomicU64::new(0),
                invalid_requests: AtomicU64::new(0),
                oversize: AtomicU64::new(0),
            }),
        }
    }

    fn second(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.inner.started).as_secs()
    }

    fn cell(&self, method: &str) -> Arc<Cell> {
        let read = self.inner.methods.read().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = read.get(method) {
            return cell.clone();
        }
        drop(read);
        let mut write = self.inner.methods.write().unwrap_or_else(|e| e.into_inner());
        write
            .entry(method.into())
            .or_insert_with(|| Arc::new(Cell::new()))
            .clone()
    }

    /// Counts one finished call of `method` (for callers that measure
    /// outside a [`Router`](crate::Router)); `registered` says whether
    /// `method` is a known name, and only known names get an entry.
    pub fn record(&self, method: &str, registered: bool, elapsed: Duration, failed: bool) {
        let second = self.second(Instant::now());
        self.record_at(method, registered, elapsed, failed, second);
    }

    fn record_at(&self, method: &str, registered: bool, elapsed: Duration, failed: bool, second: u64) {
        if !registered {
            self.inner.unknown.record(elapsed, failed, second);
            return;
        }
        // The common case takes only the read lock, and clones no Arc.
        let read = self.inner.methods.read().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = read.get(method) {
            cell.record(elapsed, failed, second);
            return;
        }
        drop(read);
        self.cell(method).record(elapsed, failed, second);
    }

    /// Counts one message refused by the protocol layer.
    pub fn record_rejected(&self, kind: RejectionKind) {
        let counter = match kind {
            RejectionKind::ParseError => &self.inner.parse_errors,
            RejectionKind::InvalidRequest => &self.inner.invalid_requests,
            RejectionKind::Oversize => &self.inner.oversize,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// The figures so far.
    pub fn snapshot(&self) -> StatsSnapshot {
        let now = Instant::now();
        let uptime = now.saturating_duration_since(self.inner.started);
        let second = self.second(now);
        let methods = self.inner.methods.read().unwrap_or_else(|e| e.into_inner());
        StatsSnapshot {
            methods: methods
                .iter()
                .map(|(name, cell)| (name.to_string(), cell.snapshot(second, uptime)))
                .collect(),
            unknown_methods: self.inner.unknown.snapshot(second, uptime),
            rejected: RejectedStats {
                parse_errors: self.inner.parse_errors.load(Relaxed),
                invalid_requests: self.inner.invalid_requests.load(Relaxed),
                oversize: self.inner.oversize.load(Relaxed),
            },
            uptime,
        }
    }

    /// One method's figures, if it was called.
    pub fn method(&self, name: &str) -> Option<MethodStats> {
        let now = Instant::now();
        let methods = self.inner.methods.read().unwrap_or_else(|e| e.into_inner());
        methods.get(name).map(|cell| {
            cell.snapshot(
                self.second(now),
                now.saturating_duration_since(self.inner.started),
            )
        })
    }

    /// A ready JSON-RPC method answering [`snapshot`](Stats::snapshot) as
    /// JSON; register it under any name:
    /// `router.method("stats", stats.handler())`.
    pub fn handler<S>(&self) -> impl crate::Handler<SyncFn<()>, S> + use<S>
    where
        S: Send + 'static,
    {
        let stats = self.clone();
        move || Json(stats.snapshot())
    }

    /// The figures in the Prometheus text exposition format (version
    /// 0.0.4), for a `GET /metrics` endpoint: serve it with
    /// `Content-Type: text/plain; version=0.0.4`.
    ///
    /// Durations are in seconds; calls of unknown names are the
    /// `sansrpc_unknown_method_*` series, refused messages
    /// `sansrpc_rejected_total{reason=...}`.
    pub fn prometheus(&self) -> String {
        let snap = self.snapshot();
        let mut out = String::new();
        let families: [Family; 6] = [
            (
                "sansrpc_calls_total",
                "counter",
                "Calls and notifications handled.",
                |s| s.count.to_string(),
            ),
            (
                "sansrpc_errors_total",
                "counter",
                "Calls and notifications that ended in an error.",
                |s| s.errors.to_string(),
            ),
            (
                "sansrpc_call_duration_seconds_min",
                "gauge",
                "The shortest call.",
                |s| fmt_secs(s.min),
            ),
            (
                "sansrpc_call_duration_seconds_mean",
                "gauge",
                "The mean call duration.",
                |s| fmt_secs(s.mean),
            ),
            (
                "sansrpc_call_duration_seconds_max",
                "gauge",
                "The longest call.",
                |s| fmt_secs(s.max),
            ),
            (
                "sansrpc_calls_per_second",
                "gauge",
                "Calls per second over the last minute.",
                |s| format_f64(s.per_second),
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (method, s) in &snap.methods {
                let _ = writeln!(out, "{name}{{method=\"{}\"}} {}", escape_label(method), value(s));
            }
        }
        let name = "sansrpc_call_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Call duration (p50 and p99 within 1/16).\n# TYPE {name} summary"
        );
        for (method, s) in &snap.methods {
            let m = escape_label(method);
            let _ = writeln!(
                out,
                "{name}{{method=\"{m}\",quantile=\"0.5\"}} {}",
                fmt_secs(s.p50)
            );
            let _ = writeln!(
                out,
                "{name}{{method=\"{m}\",quantile=\"0.99\"}} {}",
                fmt_secs(s.p99)
            );
            let _ = writeln!(out, "{name}_sum{{method=\"{m}\"}} {}", fmt_secs(s.total));
            let _ = writeln!(out, "{name}_count{{method=\"{m}\"}} {}", s.count);
        }
        let u = &snap.unknown_methods;
        let _ = writeln!(
            out,
            "# HELP sansrpc_unknown_method_calls_total Calls of names no method is registered under.\n\
             # TYPE sansrpc_unknown_method_calls_total counter\n\
             sansrpc_unknown_method_calls_total {}",
            u.count
        );
        let r = &snap.rejected;
        let _ = writeln!(
            out,
            "# HELP sansrpc_rejected_total Messages refused before any method ran.\n\
             # TYPE sansrpc_rejected_total counter\n\
             sansrpc_rejected_total{{reason=\"parse_error\"}} {}\n\
             sansrpc_rejected_total{{reason=\"invalid_request\"}} {}\n\
             sansrpc_rejected_total{{reason=\"oversize\"}} {}",
            r.parse_errors, r.invalid_requests, r.oversize
        );
        out
    }
}

/// A Prometheus metric family: name, type, help, and the value of one
/// method's sample.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&MethodStats) -> String,
);

fn fmt_secs(d: Duration) -> String {
    format_f64(d.as_secs_f64())
}

fn format_f64(v: f64) -> String {
    // `Display` for f64 never uses an exponent and prints integers
    // without a fraction; both are valid Prometheus sample values.
    format!("{v}")
}

/// Escapes a label value as the text format requires: `\`, `"` and
/// newline.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

impl Hook for Stats {
    fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome) {
        // The call's end, from what the router measured: no second clock
        // read per call.
        let second = self.second(call.started + elapsed);
        self.record_at(&call.method, call.registered, elapsed, outcome.is_err(), second);
    }

    fn rejected(&self, rejection: &Rejection) {
        self.record_rejected(rejection.kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for ns in (0..5000u64).chain([1 << 20, (1 << 20) + 1, 1 << 39, 1 << 40, u64::MAX]) {
            let b = bucket_of(ns);
            assert!(b < BUCKETS, "{ns} -> {b}");
            assert!(b >= last, "{ns}: bucket {b} after {last}");
            last = b;
            let (low, width) = bucket_range(b);
            if ns < 1 << (MAX_EXP + 1) {
                assert!(
                    low <= ns && ns < low + width,
                    "{ns} not in [{low}, {})",
                    low + width
                );
                // Relative width bounded by 1/8 (the midpoint is within 1/16).
                assert!(width == 1 || width * 8 <= low, "{ns}: {low}+{width}");
            }
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_min_mean_max() {
        let stats = Stats::new();
        for us in 1..=100u64 {
            stats.record("m", true, Duration::from_micros(us), us > 95);
        }
        let s = stats.method("m").unwrap();
        assert_eq!((s.count, s.errors), (100, 5));
        assert_eq!(s.min, Duration::from_micros(1));
        assert_eq!(s.max, Duration::from_micros(100));
        assert_eq!(s.mean, Duration::from_nanos(50_500));
        let near = |d: Duration, us: f64| (d.as_secs_f64() * 1e6 - us).abs() <= us / 16.0;
        assert!(near(s.p50, 50.0), "{:?}", s.p50);
        assert!(near(s.p99, 99.0), "{:?}", s.p99);
        assert_eq!(s.per_second, 100.0, "100 calls in the first (partial) second");
    }

    #[test]
    fn window_counts_only_the_last_minute() {
        let cell = Cell::new();
        for second in [0, 1, 1, 59] {
            cell.record(Duration::ZERO, false, second);
        }
        assert_eq!(cell.snapshot(59, Duration::from_secs(60)).per_second, 4.0 / 60.0);
        // Second 60 reuses slot 0: second 0's count is gone.
        cell.record(Duration::ZERO, false, 60);
        assert_eq!(cell.snapshot(60, Duration::from_secs(61)).per_second, 4.0 / 60.0);
        // Two minutes later nothing is left in the window.
        assert_eq!(cell.snapshot(200, Duration::from_secs(201)).per_second, 0.0);
    }

    #[test]
    fn label_escaping() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
