//! What every byte-stream transport (`tcp://`, `stdio:`) shares: the
//! framing of messages on the stream and the exchange of one case.
//!
//! A case's bytes go out as one frame, then a probe call (an unknown method
//! with the id [`PROBE_ID`]) as the next frame. Its answer marks the point
//! where the server has read past the case, so "nothing comes back" is
//! proved by the probe's answer arriving with nothing before it, not by a
//! long wait. Because a server may answer calls on one connection in any
//! order, the exchange also waits for the expected number of messages
//! (for at most [`PATIENCE`] after the probe's answer), and then keeps
//! reading for a short settle time to catch a reply that was merely slow.
//!
//! The reader is the suite's own, independent of any server library: it
//! follows the same rules as the sansrpc core's framers (LSP-style
//! `Content-Length` headers: case-insensitive names, a decimal length, one
//! blank `\r\n` line before the body, other headers ignored) but shares no
//! code with them, so a bug in one is not hidden by the other.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::Exchange;
use crate::case::Case;
use crate::expect::{End, Observed};

/// The id of the probe call sent after every case on a stream.
pub const PROBE_ID: &str = "sansrpc-conformance-probe";

const PROBE: &[u8] =
    b"{\"jsonrpc\":\"2.0\",\"method\":\"sansrpc.conformance.probe\",\"id\":\"sansrpc-conformance-probe\"}";

/// How long to keep listening after the probe's answer and every expected
/// message arrived.
const SETTLE: Duration = Duration::from_millis(25);

/// How long, after the probe's answer, the expected messages may still take.
/// A server may answer out of order, but an answer seconds behind a later
/// call's is not one to wait the whole per-case timeout for.
pub const PATIENCE: Duration = Duration::from_millis(500);

/// The most bytes read for one message, and for all the messages of one
/// case together (a server that never stops talking ends the case).
const MAX_READ: usize = 64 * 1024 * 1024;

/// The longest header block accepted with [`Framing::ContentLength`].
const MAX_HEADER: usize = 8 * 1024;

/// How messages are delimited on a byte stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// One message per line (`\n`; a trailing `\r` is tolerated on read).
    #[default]
    Newline,
    /// LSP-style: `Content-Length: N\r\n`, optional other headers, a blank
    /// `\r\n` line, then exactly `N` bytes of message.
    ContentLength,
}

impl Framing {
    /// `"newline"` or `"content-length"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Newline => "newline",
            Framing::ContentLength => "content-length",
        }
    }

    /// Appends `message` as one frame.
    ///
    /// ```
    /// use sansrpc_conformance::Framing;
    /// let mut out = Vec::new();
    /// Framing::ContentLength.encode(b"{}", &mut out);
    /// Framing::Newline.encode(b"[]", &mut out);
    /// assert_eq!(out, b"Content-Length: 2\r\n\r\n{}[]\n");
    /// ```
    pub fn encode(self, message: &[u8], out: &mut Vec<u8>) {
        match self {
            Framing::Newline => {
                out.extend_from_slice(message);
                out.push(b'\n');
            }
            Framing::ContentLength => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", message.len()).as_bytes());
                out.extend_from_slice(message);
            }
        }
    }

    /// Takes every complete message off the front of `buf`. At the end of
    /// the input (`at_end`), a final unterminated line counts as a message;
    /// a partial Content-Length frame is an error. An error means the
    /// stream cannot be read any further.
    ///
    /// ```
    /// use sansrpc_conformance::Framing;
    /// let mut buf = b"Content-Length: 2\r\ncontent-type: x\r\n\r\n{}content-length:  3\r\n\r\n[1".to_vec();
    /// let got = Framing::ContentLength.decode(&mut buf, false).unwrap();
    /// assert_eq!(got, vec![b"{}".to_vec()]);
    /// assert_eq!(buf, b"content-length:  3\r\n\r\n[1");
    /// assert!(Framing::ContentLength.decode(&mut buf, true).is_err());
    /// let mut lines = b"a\r\nb\n\nc".to_vec();
    /// assert_eq!(Framing::Newline.decode(&mut lines, true).unwrap(), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    /// ```
    pub fn decode(self, buf: &mut Vec<u8>, at_end: bool) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        match self {
            Framing::Newline => {
                while let Some(i) = buf.iter().position(|&b| b == b'\n') {
                    let mut line: Vec<u8> = buf.drain(..=i).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    push_nonblank(line, &mut out);
                }
                if buf.len() > MAX_READ {
                    return Err("a line over 64 MiB".to_owned());
                }
                if at_end && !buf.is_empty() {
                    push_nonblank(std::mem::take(buf), &mut out);
                }
            }
            Framing::ContentLength => loop {
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    if buf.len() > MAX_HEADER {
                        return Err(format!("a header block over {MAX_HEADER} bytes"));
                    }
                    if at_end && !buf.is_empty() {
                        return Err(format!(
                            "the stream ended inside a header block ({} bytes)",
                            buf.len()
                        ));
                    }
                    break;
                };
                if end > MAX_HEADER {
                    return Err(format!("a header block over {MAX_HEADER} bytes"));
                }
                let len = content_length(buf.get(..end).unwrap_or_default())?;
                if len > MAX_READ {
                    return Err(format!("a frame of {len} bytes (over 64 MiB)"));
                }
                let body_start = end + 4;
                if buf.len() < body_start + len {
                    if at_end {
                        return Err(format!(
                            "the stream ended inside a frame ({} of {len} bytes)",
                            buf.len() - body_start
                        ));
                    }
                    break;
                }
                let frame: Vec<u8> = buf.drain(..body_start + len).skip(body_start).collect();
                push_nonblank(frame, &mut out);
            },
        }
        Ok(out)
    }
}

fn push_nonblank(message: Vec<u8>, out: &mut Vec<Vec<u8>>) {
    if !message.iter().all(u8::is_ascii_whitespace) {
        out.push(message);
    }
}

/// The body length a header block declares.
fn content_length(block: &[u8]) -> Result<usize, String> {
    let text = std::str::from_utf8(block).map_err(|_| "a header block that is not UTF-8".to_owned())?;
    let mut length: Option<usize> = None;
    for line in text.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("a header line without a colon: {line:?}"))?;
        if !name.trim().eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("Content-Length is not a decimal number: {value:?}"));
        }
        let n: usize = value
            .parse()
            .map_err(|_| format!("Content-Length is too large: {value}"))?;
        if length.replace(n).is_some_and(|old| old != n) {
            return Err("conflicting Content-Length headers".to_owned());
        }
    }
    length.ok_or_else(|| format!("a header block without Content-Length: {text:?}"))
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Framing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "newline" => Ok(Framing::Newline),
            "content-length" => Ok(Framing::ContentLength),
            other => Err(format!(
                "unknown framing {other:?} (expected newline or content-length)"
            )),
        }
    }
}

/// Cases about line framing itself, which a Content-Length stream cannot
/// carry as meant (their bytes would be one frame, not lines).
const NEWLINE_ONLY: &[&str] = &[
    "tcp/two-messages-one-write",
    "tcp/crlf-line-ending",
    "tcp/blank-line",
];

/// Why a stream with `framing` cannot send `case`, if it cannot.
pub(crate) fn skip(framing: Framing, case: &Case) -> Option<String> {
    (framing == Framing::ContentLength && NEWLINE_ONLY.contains(&case.id)).then(|| {
        "a case about line framing; with --framing content-length its bytes would be one frame".to_owned()
    })
}

fn is_probe_answer(message: &[u8]) -> bool {
    serde_json::from_slice::<Value>(message)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(|id| id == PROBE_ID))
        .unwrap_or(false)
}

/// The probe call alone, framed: for preflight checks.
pub(crate) fn probe_frame(framing: Framing) -> Vec<u8> {
    let mut out = Vec::new();
    framing.encode(PROBE, &mut out);
    out
}

/// Reads until the probe's answer (for preflight checks); everything before
/// it is dropped. `Err` when the stream ends, fails or the deadline passes.
pub(crate) async fn await_probe<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    framing: Framing,
    deadline: Instant,
) -> Result<(), String> {
    loop {
        let read = tokio::time::timeout_at(deadline, reader.read_buf(buf)).await;
        let at_end = !matches!(read, Ok(Ok(n)) if n > 0);
        let messages = framing.decode(buf, at_end)?;
        if messages.iter().any(|m| is_probe_answer(m)) {
            return Ok(());
        }
        match read {
            Err(_) => return Err("no answer to a probe call within the time allowed".to_owned()),
            Ok(Ok(0)) => return Err("the stream ended before the probe call was answered".to_owned()),
            Ok(Err(e)) => return Err(format!("reading: {e}")),
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends one case and its probe on an open stream and collects what comes
/// back. `buf` holds bytes read but not yet framed; it carries over between
/// cases on a stream that is reused (stdio).
pub(crate) async fn exchange<R, W>(
    reader: &mut R,
    writer: &mut W,
    buf: &mut Vec<u8>,
    framing: Framing,
    ex: Exchange<'_>,
) -> Observed
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut out = Vec::with_capacity(ex.bytes.len() + PROBE.len() + 64);
    framing.encode(ex.bytes, &mut out);
    framing.encode(PROBE, &mut out);

    let want = ex.case.expect.min_messages();
    let mut obs = Observed {
        messages: Vec::new(),
        http: None,
        probe_answered: false,
        end: End::Complete,
    };
    // Kept open afterwards: a half-close could make the server stop before
    // answering. A failed write shows up as a close or reset on the read side.
    let write = async {
        writer.write_all(&out).await?;
        writer.flush().await
    };
    tokio::pin!(write);
    let mut writing = true;
    let mut settle_until: Option<Instant> = None;
    let mut patience_until: Option<Instant> = None;
    let mut received = 0usize;
    loop {
        let until = settle_until
            .or(patience_until)
            .map_or(ex.deadline, |s| s.min(ex.deadline));
        let read = tokio::time::timeout_at(until, async {
            loop {
                tokio::select! {
                    _ = &mut write, if writing => writing = false,
                    r = reader.read_buf(buf) => break r,
                }
            }
        });
        let (at_end, failure) = match read.await {
            Err(_) if settle_until.is_some() || patience_until.is_some_and(|p| p < ex.deadline) => break,
            Err(_) => {
                obs.end = End::TimedOut(ex.timeout);
                break;
            }
            Ok(Ok(0)) => (true, Some(End::Closed)),
            Ok(Ok(_)) => (false, None),
            Ok(Err(e)) => (true, Some(End::Error(format!("reading: {e}")))),
        };
        match framing.decode(buf, at_end) {
            Ok(messages) => {
                for m in messages {
                    received = received.saturating_add(m.len());
                    if is_probe_answer(&m) {
                        obs.probe_answered = true;
                    } else {
                        obs.messages.push(m);
                    }
                }
            }
            Err(e) => {
                obs.end = End::Error(format!("framing ({framing}): {e}"));
                break;
            }
        }
        if received > MAX_READ {
            obs.end = End::Error("over 64 MiB of answers to one case".to_owned());
            break;
        }
        if let Some(end) = failure {
            if settle_until.is_none() {
                obs.end = end;
            }
            break;
        }
        if obs.probe_answered && patience_until.is_none() {
            patience_until = Some(Instant::now() + PATIENCE);
        }
        if settle_until.is_none() && obs.probe_answered && obs.messages.len() >= want {
            settle_until = Some(Instant::now() + SETTLE);
        }
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_reader_follows_the_rules() {
        let cl = Framing::ContentLength;
        // Split anywhere: nothing until the frame is whole.
        let whole = b"Content-Length: 7\r\n\r\n[1,2,3]".to_vec();
        for cut in 0..whole.len() {
            let mut buf = whole[..cut].to_vec();
            assert!(cl.decode(&mut buf, false).unwrap().is_empty(), "cut {cut}");
            buf.extend_from_slice(&whole[cut..]);
            assert_eq!(cl.decode(&mut buf, false).unwrap(), vec![b"[1,2,3]".to_vec()]);
            assert!(buf.is_empty());
        }
        for bad in [
            &b"Content-Type: x\r\n\r\n"[..],
            b"Content-Length: -1\r\n\r\n",
            b"Content-Length: abc\r\n\r\n",
            b"Content-Length:\r\n\r\n",
            b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"no colon\r\n\r\n",
            b"Content-Length: 99999999999999999999999\r\n\r\n",
            b"Content-Length: 999999999\r\n\r\n",
        ] {
            let mut buf = bad.to_vec();
            assert!(
                cl.decode(&mut buf, false).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Agreeing duplicates are one header; a flood of header bytes is bounded.
        let mut buf = b"Content-Length: 2\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        assert_eq!(cl.decode(&mut buf, false).unwrap(), vec![b"{}".to_vec()]);
        let mut flood = vec![b'x'; MAX_HEADER + 1];
        assert!(cl.decode(&mut flood, false).is_err());
        let mut partial = b"Content-Length: 5\r\n\r\n{}".to_vec();
        assert!(cl.decode(&mut partial, false).unwrap().is_empty());
        assert!(cl.decode(&mut partial, true).is_err());
    }

    #[test]
    fn newline_reader_splits_lines() {
        let mut buf = b"{\"a\":1}\r\n \n{\"b\":2}\n{\"c\"".to_vec();
        assert_eq!(
            Framing::Newline.decode(&mut buf, false).unwrap(),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert_eq!(buf, b"{\"c\"");
        assert_eq!(
            Framing::Newline.decode(&mut buf, true).unwrap(),
            vec![b"{\"c\"".to_vec()]
        );
    }

    #[test]
    fn framing_names() {
        assert_eq!("content-length".parse::<Framing>(), Ok(Framing::ContentLength));
        assert_eq!("newline".parse::<Framing>(), Ok(Framing::Newline));
        assert!("lsp".parse::<Framing>().is_err());
        let c = crate::catalog()
            .into_iter()
            .find(|c| c.id == "tcp/blank-line")
            .unwrap();
        assert!(skip(Framing::ContentLength, &c).is_some());
        assert!(skip(Framing::Newline, &c).is_none());
    }
}
