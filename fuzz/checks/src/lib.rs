//! The invariant checks behind sansrpc's fuzz targets.
//!
//! Each target in `fuzz/fuzz_targets/` is one line calling a `check`
//! function of this crate; `tests/replay.rs` runs every checked-in corpus
//! and regression input through the same functions on stable, so CI
//! exercises them without nightly. A check panics (`assert!`) when an
//! invariant is violated: that is how libFuzzer reports a finding.
//!
//! Structured targets (`framers`, `server`, `client`) read their input as
//! a [`Case`]: one configuration byte, a little-endian `u16` length, that
//! many bytes of stream, and the rest, from which [`arbitrary`] builds the
//! operation sequence. An empty operation tail means "feed everything, then
//! answer everything", so hand-made seeds are just a header and a stream.
#![forbid(unsafe_code)]

pub mod client;
pub mod differential;
pub mod framers;
mod json;
pub mod params;
pub mod parse;
pub mod parse_reader;
pub mod router;
pub mod server;
mod spy;

/// Whether a known, reported and not yet fixed core bug may be tolerated.
///
/// Each tolerance names its bug (see `fuzz/regressions/OPEN_BUGS`). The
/// replay test runs without tolerances, so the regression inputs keep
/// failing until the core is fixed; long fuzz runs set
/// `SANSRPC_FUZZ_TOLERATE_OPEN_BUGS=1` so that a known bug does not hide
/// new ones.
pub fn open_bug(name: &str) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let on =
        *ON.get_or_init(|| std::env::var_os("SANSRPC_FUZZ_TOLERATE_OPEN_BUGS").is_some_and(|v| v == "1"));
    let _ = name;
    on
}

/// A target name and its check function, for the replay test and tools.
pub type Target = (&'static str, fn(&[u8]));

/// Every target: the name is the file name in `fuzz/fuzz_targets/` and the
/// folder name in `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: &[Target] = &[
    ("framers", framers::check),
    ("parse_message", parse::check),
    ("parse_reader", parse_reader::check),
    ("differential", differential::check),
    ("server", server::check),
    ("client", client::check),
    ("params", params::check),
    ("router", router::check),
];

/// A structured input: configuration byte, stream, operation bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case<'a> {
    /// Selects the framer and the limits.
    pub config: u8,
    /// The bytes the peer sends.
    pub stream: &'a [u8],
    /// What [`arbitrary::Unstructured`] builds the operations from.
    pub ops: &'a [u8],
}

impl<'a> Case<'a> {
    /// Splits fuzz input: `[config][len: u16 LE][stream; len][ops...]`. A
    /// length past the end takes what is there.
    pub fn split(data: &'a [u8]) -> Self {
        let config = data.first().copied().unwrap_or(0);
        let len = u16::from_le_bytes([
            data.get(1).copied().unwrap_or(0),
            data.get(2).copied().unwrap_or(0),
        ]) as usize;
        let body = data.get(3..).unwrap_or_default();
        let (stream, ops) = body.split_at(len.min(body.len()));
        Self { config, stream, ops }
    }

    /// The inverse of [`Case::split`], for writing seeds.
    pub fn encode(config: u8, stream: &[u8], ops: &[u8]) -> Vec<u8> {
        let len = u16::try_from(stream.len()).unwrap_or(u16::MAX);
        let mut out = vec![config];
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(stream.get(..usize::from(len)).unwrap_or(stream));
        out.extend_from_slice(ops);
        out
    }
}

/// Which framer a [`Case`]'s configuration byte selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramerKind {
    /// [`sansrpc::conn::Newline`].
    Newline,
    /// [`sansrpc::conn::ContentLength`].
    ContentLength,
    /// [`sansrpc::conn::Body`].
    Body,
}

impl FramerKind {
    /// All three, in configuration order.
    pub const ALL: [Self; 3] = [Self::Newline, Self::ContentLength, Self::Body];

    /// `config % 3`.
    pub fn from_config(config: u8) -> Self {
        Self::ALL[usize::from(config % 3)]
    }

    /// A boxed framer of this kind.
    pub fn make(self, max_frame: usize) -> Box<dyn sansrpc::conn::Framer> {
        match self {
            Self::Newline => Box::new(sansrpc::conn::Newline::new(max_frame)),
            Self::ContentLength => Box::new(sansrpc::conn::ContentLength::new(max_frame)),
            Self::Body => Box::new(sansrpc::conn::Body::new(max_frame)),
        }
    }
}

/// Feeds `input` to a fresh framer of `kind`, then EOF, and collects every
/// frame and error. Used to model what a connection should have seen and
/// to cut a connection's output back into messages.
pub fn frames_of(
    kind: FramerKind,
    max_frame: usize,
    input: &[u8],
) -> Vec<Result<bytes::Bytes, sansrpc::ProtocolError>> {
    let mut f = kind.make(max_frame);
    f.push(input);
    f.push_eof();
    let mut out = Vec::new();
    while let Some(r) = f.next_frame() {
        out.push(r);
        assert!(out.len() <= input.len() + 2, "framer keeps producing items");
    }
    out
}
