//! `stdio:<command line>`: the suite starts the server itself and speaks to
//! it over its stdin and stdout, newline-delimited or with `Content-Length`
//! headers (language servers).
//!
//! One process plays the part of one long-lived connection: the cases run
//! one after another over its stdin and stdout, each followed by the probe
//! call (see the `stream` module). A case that leaves the stream in doubt —
//! the process closed stdout or exited, a framing error, the per-case
//! timeout — gets the process killed, and the next case starts a fresh one.
//! A fresh process first gets the [`init`](StdioTransport::with_init)
//! messages, if any, and must then answer a probe call (within
//! [`STARTUP_TIMEOUT`]), so a slow start never counts against a case.
//!
//! Everything the process writes to stderr is kept (the last
//! [`LOG_LIMIT`] bytes), with a line for every start, exit and kill; the
//! report carries it as its server log. The process is killed when the run
//! ends, and when the transport is dropped.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::stream::{self, Framing};
use super::{BoxFuture, Exchange, Transport};
use crate::case::{Case, TransportKind};
use crate::expect::{End, Observed};

/// How long a freshly started process may take to answer its first probe.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of the server's stderr is kept (the end of it).
pub const LOG_LIMIT: usize = 256 * 1024;

/// A server started by the suite, spoken to over stdin/stdout
/// (`stdio:<command line>`).
#[derive(Debug)]
pub struct StdioTransport {
    command: Vec<String>,
    framing: Framing,
    init: Vec<Vec<u8>>,
    session: tokio::sync::Mutex<Option<Session>>,
    log: Arc<Mutex<ServerLog>>,
}

#[derive(Debug)]
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    /// Bytes read from stdout and not yet framed.
    buf: Vec<u8>,
    stderr: Option<JoinHandle<()>>,
}

/// The tail of the server's stderr plus the suite's own notes.
#[derive(Debug, Default)]
struct ServerLog {
    text: Vec<u8>,
    dropped: usize,
}

impl ServerLog {
    fn push(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
        if self.text.len() > LOG_LIMIT {
            let cut = self.text.len() - LOG_LIMIT;
            self.text.drain(..cut);
            self.dropped += cut;
        }
    }
}

impl StdioTransport {
    /// A transport that runs `command` (program, then arguments).
    ///
    /// ```
    /// use sansrpc_conformance::{Framing, StdioTransport};
    /// let t = StdioTransport::new(vec!["pylsp".into()]).with_framing(Framing::ContentLength);
    /// assert_eq!(t.command(), ["pylsp"]);
    /// ```
    pub fn new(command: Vec<String>) -> StdioTransport {
        StdioTransport {
            command,
            framing: Framing::Newline,
            init: Vec::new(),
            session: tokio::sync::Mutex::new(None),
            log: Arc::default(),
        }
    }

    /// The same with another framing.
    pub fn with_framing(mut self, framing: Framing) -> StdioTransport {
        self.framing = framing;
        self
    }

    /// Messages every fresh process gets first, before its first probe
    /// call (e.g. a language server's `initialize` request and
    /// `initialized` notification); whatever it sends before the probe's
    /// answer is dropped, so their answers never count against a case.
    ///
    /// ```
    /// use sansrpc_conformance::StdioTransport;
    /// let init = br#"{"jsonrpc":"2.0","method":"initialize","params":{"capabilities":{}},"id":0}"#;
    /// let t = StdioTransport::new(vec!["pylsp".into()]).with_init(vec![init.to_vec()]);
    /// # drop(t);
    /// ```
    pub fn with_init(mut self, messages: Vec<Vec<u8>>) -> StdioTransport {
        self.init = messages;
        self
    }

    /// The program and its arguments.
    pub fn command(&self) -> &[String] {
        &self.command
    }

    fn note(&self, text: &str) {
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("[sansrpc-conformance] {text}\n").as_bytes());
        }
    }

    /// Starts the process and waits for it to answer a probe call.
    async fn start(&self) -> Result<Session, String> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| "stdio: needs a command line".to_owned())?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {program:?}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("{program:?}: no stdin/stdout pipe"));
        };
        self.note(&format!(
            "started {} (pid {})",
            self.command.join(" "),
            child.id().map_or_else(|| "?".to_owned(), |p| p.to_string())
        ));
        let stderr = child.stderr.take().map(|mut err| {
            let log = Arc::clone(&self.log);
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 8192];
                while let Ok(n @ 1..) = err.read(&mut chunk).await {
                    if let (Ok(mut log), Some(bytes)) = (log.lock(), chunk.get(..n)) {
                        log.push(bytes);
                    }
                }
            })
        });
        let mut session = Session {
            child,
            stdin,
            stdout,
            buf: Vec::new(),
            stderr,
        };
        if let Err(e) = self.warm_up(&mut session).await {
            let why = self.stop(session, "it did not answer its first probe call").await;
            return Err(format!("{program:?}: {e}{why}"));
        }
        Ok(session)
    }

    async fn warm_up(&self, s: &mut Session) -> Result<(), String> {
        use tokio::io::AsyncWriteExt;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut first = Vec::new();
        for message in &self.init {
            self.framing.encode(message, &mut first);
        }
        first.extend_from_slice(&stream::probe_frame(self.framing));
        let write = async {
            s.stdin.write_all(&first).await?;
            s.stdin.flush().await
        };
        tokio::time::timeout_at(deadline, write)
            .await
            .map_err(|_| "writing to its stdin timed out".to_owned())?
            .map_err(|e| format!("writing to its stdin: {e}"))?;
        stream::await_probe(&mut s.stdout, &mut s.buf, self.framing, deadline).await
    }

    /// Kills the process, waits for it and notes why; returns the exit
    /// status as a suffix for messages.
    async fn stop(&self, mut s: Session, why: &str) -> String {
        let exited = s.child.try_wait().ok().flatten();
        let status = match exited {
            Some(status) => status,
            None => {
                let _ = s.child.start_kill();
                match tokio::time::timeout(Duration::from_secs(5), s.child.wait()).await {
                    Ok(Ok(status)) => status,
                    _ => {
                        self.note(&format!(
                            "stopped ({why}): killed, and it did not exit within 5 s"
                        ));
                        return String::new();
                    }
                }
            }
        };
        if let Some(task) = s.stderr.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        // The status tells an exit from a kill (`signal: 9 (SIGKILL)`).
        self.note(&format!("stopped ({why}): {status}"));
        format!(" (the process ended: {status})")
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let mut guard = self.session.lock().await;
        if let Some(mut s) = guard.take() {
            match s.child.try_wait() {
                Ok(None) => *guard = Some(s),
                _ => {
                    self.stop(s, "found gone before a case").await;
                }
            }
        }
        let mut ex = ex;
        let session = match guard.as_mut() {
            Some(s) => s,
            None => match self.start().await {
                Ok(s) => {
                    // The start is not the case's time.
                    ex.deadline = Instant::now() + ex.timeout;
                    guard.insert(s)
                }
                Err(e) => return Observed::failed(End::Error(e)),
            },
        };
        let obs = stream::exchange(
            &mut session.stdout,
            &mut session.stdin,
            &mut session.buf,
            self.framing,
            ex,
        )
        .await;
        if obs.end != End::Complete {
            let Some(s) = guard.take() else {
                return obs;
            };
            let why = match &obs.end {
                End::Closed => "stdout closed",
                End::TimedOut(_) => "the case timed out",
                _ => "the stream failed",
            };
            self.stop(
                s,
                &format!("{}: {why}; a new process runs the next case", ex.case.id),
            )
            .await;
        }
        obs
    }
}

impl Transport for StdioTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Stream
    }

    fn exchange<'a>(&'a self, exchange: Exchange<'a>) -> BoxFuture<'a, Observed> {
        Box::pin(self.run(exchange))
    }

    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut guard = self.session.lock().await;
            if guard.is_none() {
                *guard = Some(self.start().await.map_err(|e| {
                    let log = self.server_log().unwrap_or_default();
                    format!("{e}\nits stderr:\n{log}")
                })?);
            }
            Ok(())
        })
    }

    fn skip(&self, case: &Case) -> Option<String> {
        stream::skip(self.framing, case)
    }

    fn grace(&self) -> Duration {
        STARTUP_TIMEOUT + Duration::from_secs(6)
    }

    fn finish(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(s) = self.session.lock().await.take() {
                self.stop(s, "the run is over").await;
            }
        })
    }

    fn server_log(&self) -> Option<String> {
        let log = self.log.lock().ok()?;
        let text = String::from_utf8_lossy(&log.text);
        Some(if log.dropped > 0 {
            format!(
                "[sansrpc-conformance] {} earlier bytes dropped\n{text}",
                log.dropped
            )
        } else {
            text.into_owned()
        })
    }
}

/// Splits a command line into program and arguments: whitespace separates,
/// `'…'` and `"…"` quote (no expansion of any kind), `\` escapes the next
/// character outside single quotes.
///
/// ```
/// use sansrpc_conformance::split_command_line;
/// assert_eq!(
///     split_command_line(r#"python3 -c 'print("hi")' "a b" c\ d"#).unwrap(),
///     ["python3", "-c", "print(\"hi\")", "a b", "c d"]
/// );
/// assert!(split_command_line("x 'open").is_err());
/// assert!(split_command_line("  ").unwrap().is_empty());
/// ```
pub fn split_command_line(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed ' in {line:?}")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => w.push(c),
                            None => return Err(format!("a trailing \\ in {line:?}")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed \" in {line:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(format!("a trailing \\ in {line:?}")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// Quotes a word for display, when it needs it.
pub(crate) fn quote(word: &str) -> String {
    if !word.is_empty() && !word.chars().any(|c| c.is_whitespace() || "'\"\\".contains(c)) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for words in [vec!["a", "b c", "it's", ""], vec!["x\\y", "\"q\""]] {
            let line: Vec<String> = words.iter().map(|w| quote(w)).collect();
            assert_eq!(split_command_line(&line.join(" ")).unwrap(), words);
        }
    }

    #[test]
    fn log_keeps_the_tail() {
        let mut log = ServerLog::default();
        log.push(&vec![b'a'; LOG_LIMIT]);
        log.push(b"end");
        assert_eq!(log.text.len(), LOG_LIMIT);
        assert!(log.text.ends_with(b"aend"));
        assert_eq!(log.dropped, 3);
    }
}
