//! Wire logging: every message a connection sends or receives, as one
//! `tracing` event under the target [`TARGET`] (`sansrpc::wire`), at
//! `DEBUG`.
//!
//! The lines look like the ones Python's `jsonrpcclient` prints:
//!
//! ```text
//! --> {"jsonrpc":"2.0","method":"ping","id":1}
//! <-- {"jsonrpc":"2.0","result":"pong","id":1} (200 OK)
//! ```
//!
//! `-->` is what this side sent, `<--` what it received, on servers and
//! clients alike. The core's framers ([`Newline`](crate::conn::Newline),
//! [`Body`](crate::conn::Body), [`ContentLength`](crate::conn::ContentLength),
//! [`Messages`](crate::conn::Messages)) write these lines where they cut and wrap
//! frames, so every state machine, [`Router::handle_message`](crate::Router::handle_message)
//! and every adapter built on them logs the same way without code of its
//! own. An adapter adds only what the core cannot see: the HTTP client
//! puts the response's status after the message, as above.
//!
//! Nothing is logged unless a subscriber enables the target at `DEBUG`
//! (with `tracing-subscriber`'s `EnvFilter`: `RUST_LOG=sansrpc::wire=debug`).
//! When it is off, a line costs one check of the callsite's cached
//! interest and no formatting.
//!
//! Each line is bounded: a message longer than [`MAX_LOGGED_BYTES`] shows
//! its first bytes, then `…` and its full length (`… (1048576 bytes)`).
//! Bytes that are not UTF-8 show as `U+FFFD`, and line breaks inside a
//! message as `\n` / `\r`, so one message is always one line.
//!
//! ```
//! use sansrpc::wire_log::{Direction, line};
//!
//! let sent = line(Direction::Sent, br#"{"jsonrpc":"2.0","method":"ping","id":1}"#, None);
//! assert_eq!(sent, r#"--> {"jsonrpc":"2.0","method":"ping","id":1}"#);
//! let got = line(Direction::Received, br#"{"jsonrpc":"2.0","result":"pong","id":1}"#, Some("200 OK"));
//! assert_eq!(got, r#"<-- {"jsonrpc":"2.0","result":"pong","id":1} (200 OK)"#);
//! ```

use std::fmt;

/// The `tracing` target of every wire-log line.
pub const TARGET: &str = "sansrpc::wire";

/// How many bytes of a message a line shows at most; the rest is
/// summarised by its length.
pub const MAX_LOGGED_BYTES: usize = 1024;

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// This side wrote it: `-->`.
    Sent,
    /// This side read it: `<--`.
    Received,
}

/// One line, formatted only when a subscriber wants it.
struct Line<'a> {
    direction: Direction,
    message: &'a [u8],
    note: Option<&'a str>,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.direction {
            Direction::Sent => "--> ",
            Direction::Received => "<-- ",
        })?;
        let shown = self.message.get(..MAX_LOGGED_BYTES).unwrap_or(self.message);
        let truncated = shown.len() < self.message.len();
        let mut chunks = shown.utf8_chunks().peekable();
        while let Some(chunk) = chunks.next() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    c => fmt::Write::write_char(f, c)?,
                }
            }
            // A character cut by the bound is not an invalid one.
            let cut = truncated && chunks.peek().is_none() && chunk.invalid().len() < 4;
            if !chunk.invalid().is_empty() && !cut {
                f.write_str("\u{FFFD}")?;
            }
        }
        if truncated {
            write!(f, "… ({} bytes)", self.message.len())?;
        }
        if let Some(note) = self.note {
            // An empty body (HTTP 204) shows just the note.
            let gap = if self.message.is_empty() { "" } else { " " };
            write!(f, "{gap}({note})")?;
        }
        Ok(())
    }
}

/// The text of the line logged for `message` (what [`sent`] and
/// [`received`] log), for tests and for printing it elsewhere.
pub fn line(direction: Direction, message: &[u8], note: Option<&str>) -> String {
    Line {
        direction,
        message,
        note,
    }
    .to_string()
}

/// Whether wire-log lines are wanted now (a subscriber enabled
/// [`TARGET`] at `DEBUG`).
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// Logs a message this side sent: `--> {message}`, then ` (note)` if
/// given.
pub fn sent(message: &[u8], note: Option<&str>) {
    let line = Line {
        direction: Direction::Sent,
        message,
        note,
    };
    tracing::debug!(target: TARGET, "{line}");
}

/// Logs a message this side received: `<-- {message}`, then ` (note)` if
/// given (the HTTP client gives the status, `200 OK`).
pub fn received(message: &[u8], note: Option<&str>) {
    let line = Line {
        direction: Direction::Received,
        message,
        note,
    };
    tracing::debug!(target: TARGET, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let cases: &[(Direction, &[u8], Option<&str>, &str)] = &[
            (Direction::Sent, b"{}", None, "--> {}"),
            (
                Direction::Received,
                b"[1]",
                Some("204 No Content"),
                "<-- [1] (204 No Content)",
            ),
            (
                Direction::Received,
                b"{\"a\":\n\"\xff\"}",
                None,
                "<-- {\"a\":\\n\"\u{FFFD}\"}",
            ),
            (Direction::Sent, b"a\r\nb", None, "--> a\\r\\nb"),
            (Direction::Sent, b"", None, "--> "),
            (
                Direction::Received,
                b"",
                Some("204 No Content"),
                "<-- (204 No Content)",
            ),
        ];
        for (d, m, n, want) in cases {
            assert_eq!(line(*d, m, *n), *want, "{m:?}");
        }
    }

    #[test]
    fn long_messages_are_cut() {
        let long = vec![b'x'; MAX_LOGGED_BYTES + 10];
        let want = format!(
            "--> {}… ({} bytes)",
            "x".repeat(MAX_LOGGED_BYTES),
            MAX_LOGGED_BYTES + 10
        );
        assert_eq!(line(Direction::Sent, &long, None), want);
        // A multi-byte character cut by the bound is dropped, not shown as U+FFFD.
        let mut cut = vec![b'x'; MAX_LOGGED_BYTES - 1];
        cut.extend_from_slice("é and more".as_bytes());
        let want = format!("--> {}… ({} bytes)", "x".repeat(MAX_LOGGED_BYTES - 1), cut.len());
        assert_eq!(line(Direction::Sent, &cut, None), want);
    }
}
