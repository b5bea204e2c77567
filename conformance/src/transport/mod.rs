//! Transports: how a case's bytes reach a server and what comes back.
//!
//! A [`Transport`] turns one case into one [`Observed`]. HTTP, TCP,
//! WebSocket and `stdio:` (a server the suite starts itself) ship here; TCP
//! and stdio share one stream exchange and either [`Framing`].

mod http;
mod socketio;
mod stdio;
mod stream;
mod tcp;
mod ws;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

pub use self::http::HttpTransport;
pub use self::socketio::SocketIoTransport;
pub use self::stdio::{LOG_LIMIT, STARTUP_TIMEOUT, StdioTransport, split_command_line};
pub use self::stream::{Framing, PATIENCE, PROBE_ID};
pub use self::tcp::TcpTransport;
pub use self::ws::WsTransport;
use crate::case::{Case, TransportKind};
use crate::expect::Observed;

/// A boxed future, so [`Transport`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transport needs to send one case.
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// The case.
    pub case: &'a Case,
    /// The exact bytes to send.
    pub bytes: &'a [u8],
    /// When to give up and report what has arrived so far.
    pub deadline: Instant,
    /// The per-case timeout the deadline came from (for reports).
    pub timeout: Duration,
}

/// A way of talking to a server under test.
///
/// Implementations never hang past `exchange.deadline` and never fail: every
/// outcome, including "connection refused", is an [`Observed`] with the
/// matching [`End`](crate::End).
pub trait Transport: Send + Sync {
    /// The kind of transport, which selects the cases that apply.
    fn kind(&self) -> TransportKind;

    /// Sends one case and collects the answer.
    fn exchange<'a>(&'a self, exchange: Exchange<'a>) -> BoxFuture<'a, Observed>;

    /// Checks that the server accepts connections at all, so a run against a
    /// dead address stops with one clear error instead of a page of failures.
    fn preflight(&self) -> BoxFuture<'_, Result<(), String>>;

    /// Why this transport cannot send `case` at all, if it cannot (the case
    /// is then reported as skipped with that reason). By default every
    /// case that applies to [`kind`](Self::kind) is sent.
    fn skip(&self, case: &Case) -> Option<String> {
        let _ = case;
        None
    }

    /// How long past a case's deadline the runner waits for
    /// [`exchange`](Self::exchange) before giving it up, as a backstop
    /// against a transport bug. By default 1 s; `stdio:` adds the time a
    /// restarted process may take to start, which is not the case's time.
    fn grace(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// Called once after the last case: releases what the transport holds
    /// (`stdio:` kills its process here). By default nothing.
    fn finish(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// What the server wrote beside the protocol (`stdio:`: its stderr, with
    /// a line for every start, exit and kill), for the report. By default
    /// `None`.
    fn server_log(&self) -> Option<String> {
        None
    }
}

/// A parsed target URL: `http://host:port/path`, `tcp://host:port` or
/// `ws://host:port/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// HTTP POST to this host, port and path (with query, if any).
    Http {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port (80 if not given).
        port: u16,
        /// Request target: path and query, starting with `/`.
        path: String,
    },
    /// Newline-delimited JSON over TCP.
    Tcp {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A server the suite starts itself (`stdio:<command line>`), spoken to
    /// over its stdin and stdout.
    Stdio {
        /// The program, then its arguments.
        command: Vec<String>,
    },
    /// WebSocket: one message per text frame.
    WebSocket {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port (80 if not given).
        port: u16,
        /// Request target: path and query, starting with `/`.
        path: String,
    },
    /// Socket.IO: one message per event, answered through its
    /// acknowledgement.
    SocketIo {
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// TCP port (80 if not given).
        port: u16,
        /// The namespace (`/` by default), with an optional query
        /// (`?event=rpc`, `?path=/socket.io/`).
        namespace: String,
    },
}

impl Target {
    /// Parses a target URL.
    ///
    /// ```
    /// use sansrpc_conformance::Target;
    /// let t = Target::parse("http://127.0.0.1:8080/rpc").unwrap();
    /// assert_eq!(t, Target::Http { host: "127.0.0.1".into(), port: 8080, path: "/rpc".into() });
    /// assert!(Target::parse("tcp://[::1]:9000").is_ok());
    /// assert!(Target::parse("ws://127.0.0.1:5000/ws").is_ok());
    /// assert!(Target::parse("socketio://127.0.0.1:5000/admin").is_ok());
    /// assert!(Target::parse("ftp://x").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Target, String> {
        if let Some(line) = url.strip_prefix("stdio:") {
            let command = split_command_line(line)?;
            if command.is_empty() {
                return Err(format!(
                    "{url:?}: stdio: needs a command line, e.g. stdio:'pylsp -v'"
                ));
            }
            return Ok(Target::Stdio { command });
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url:?} is not a URL (expected http://host:port/path, tcp://host:port, ws://host:port/path, socketio://host:port/namespace or stdio:<command line>)")
        })?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) =
            split_authority(authority).ok_or_else(|| format!("{url:?}: cannot read host and port"))?;
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        let full_path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        match scheme.to_ascii_lowercase().as_str() {
            "http" => Ok(Target::Http {
                host,
                port: port.unwrap_or(80),
                path: full_path,
            }),
            "socketio" => Ok(Target::SocketIo {
                host,
                port: port.unwrap_or(80),
                namespace: full_path,
            }),
            "ws" => Ok(Target::WebSocket {
                host,
                port: port.unwrap_or(80),
                path: full_path,
            }),
            "tcp" => {
                if !path.is_empty() && path != "/" {
                    return Err(format!("{url:?}: a tcp:// target has no path"));
                }
                let port = port.ok_or_else(|| format!("{url:?}: a tcp:// target needs a port"))?;
                Ok(Target::Tcp { host, port })
            }
            "https" | "wss" => Err(format!(
                "{url:?}: {scheme}:// is not supported yet (http://, tcp:// and ws:// are)"
            )),
            _ => Err(format!(
                "{url:?}: unknown scheme {scheme:?} (expected http://, tcp://, ws:// or socketio://)"
            )),
        }
    }

    /// A transport for this target, with another framing on a stream
    /// (`tcp://`, `stdio:`); `Err` when the target is not a stream.
    pub fn transport_with(&self, framing: Framing) -> Result<Box<dyn Transport>, String> {
        match self {
            Target::Tcp { host, port } => Ok(Box::new(
                TcpTransport::new(host.clone(), *port).with_framing(framing),
            )),
            Target::Stdio { command } => Ok(Box::new(
                StdioTransport::new(command.clone()).with_framing(framing),
            )),
            _ if framing == Framing::Newline => Ok(self.transport()),
            other => Err(format!(
                "{other}: --framing {framing} applies to tcp:// and stdio: targets only"
            )),
        }
    }

    /// A transport for this target.
    pub fn transport(&self) -> Box<dyn Transport> {
        match self {
            Target::Stdio { command } => Box::new(StdioTransport::new(command.clone())),
            Target::Http { host, port, path } => {
                Box::new(HttpTransport::new(host.clone(), *port, path.clone()))
            }
            Target::Tcp { host, port } => Box::new(TcpTransport::new(host.clone(), *port)),
            Target::WebSocket { host, port, path } => {
                Box::new(WsTransport::new(host.clone(), *port, path.clone()))
            }
            Target::SocketIo {
                host,
                port,
                namespace,
            } => Box::new(SocketIoTransport::new(host.clone(), *port, namespace.clone())),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Http { host, port, path } => {
                write!(f, "http://{}:{port}{path}", bracket(host))
            }
            Target::Tcp { host, port } => write!(f, "tcp://{}:{port}", bracket(host)),
            Target::Stdio { command } => {
                let words: Vec<String> = command.iter().map(|w| stdio::quote(w)).collect();
                write!(f, "stdio:{}", words.join(" "))
            }
            Target::WebSocket { host, port, path } => {
                write!(f, "ws://{}:{port}{path}", bracket(host))
            }
            Target::SocketIo {
                host,
                port,
                namespace,
            } => {
                write!(f, "socketio://{}:{port}{namespace}", bracket(host))
            }
        }
    }
}

pub(crate) fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), Some(port.parse().ok()?))),
        None => Some((authority.to_owned(), None)),
    }
}

/// Connects with a deadline, as an error message on failure.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<tokio::net::TcpStream, crate::expect::End> {
    use crate::expect::End;
    match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => {
            // Small writes (a probe line) must not wait for Nagle.
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(End::Error(format!(
            "cannot connect to {}:{port}: {e}",
            bracket(host)
        ))),
        Err(_) => Err(End::Error(format!(
            "cannot connect to {}:{port}: timed out",
            bracket(host)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("http://localhost:8080").unwrap(),
            Target::Http {
                host: "localhost".into(),
                port: 8080,
                path: "/".into()
            }
        );
        assert_eq!(
            Target::parse("http://example.test/a/b?x=1").unwrap(),
            Target::Http {
                host: "example.test".into(),
                port: 80,
                path: "/a/b?x=1".into()
            }
        );
        assert_eq!(
            Target::parse("tcp://[::1]:9000").unwrap(),
            Target::Tcp {
                host: "::1".into(),
                port: 9000
            }
        );
        assert_eq!(
            Target::parse("tcp://[::1]:9000").unwrap().to_string(),
            "tcp://[::1]:9000"
        );
        assert_eq!(
            Target::parse("stdio:pylsp --log-file 'a b.log'").unwrap(),
            Target::Stdio {
                command: vec!["pylsp".into(), "--log-file".into(), "a b.log".into()]
            }
        );
        assert_eq!(
            Target::parse("stdio:pylsp --log-file 'a b.log'")
                .unwrap()
                .to_string(),
            "stdio:pylsp --log-file 'a b.log'"
        );
        for bad in [
            "stdio:",
            "stdio: 'x",
            "127.0.0.1:80",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:x",
            "http://:80/",
            "wss://127.0.0.1:1",
            "tcp://127.0.0.1:1/path",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
