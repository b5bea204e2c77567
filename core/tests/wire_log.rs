//! The wire log: the framers write one `-->`/`<--` line per message, byte
//! for byte, under the `sansrpc::wire` target, and nothing when it is off.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sansrpc::conn::{Body, ClientConnection, ClientEvent, ContentLength, Framer, Newline};
use sansrpc::{Context, Limits, RawParams, Router};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

/// Runs `f` with a subscriber printing just the messages of `filter`.
fn logged(filter: &str, f: impl FnOnce()) -> String {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(capture.clone())
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(capture.0.lock().unwrap().clone()).unwrap()
}

fn router() -> Router {
    let mut router = Router::new();
    router.method("ping", || "pong").unwrap();
    router
}

#[test]
fn whole_body_server_logs_both_ways() {
    let router = router();
    let out = logged("sansrpc::wire=debug", || {
        let body = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
        let answer = futures_executor::block_on(router.handle_message(body, Context::default()));
        assert!(answer.is_some());
        // A notification: read, nothing written.
        let note = br#"{"jsonrpc":"2.0","method":"ping"}"#;
        assert!(futures_executor::block_on(router.handle_message(note, Context::default())).is_none());
    });
    assert_eq!(
        out,
        concat!(
            "<-- {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "--> {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n",
            "<-- {\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n",
        )
    );
}

#[test]
fn stream_client_logs_frames_not_framing() {
    let out = logged("sansrpc::wire=debug", || {
        let limits = Limits::default();
        let mut conn = ClientConnection::new(Newline::new(1024), limits);
        conn.call("ping", RawParams::none(), None).unwrap();
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n");
        conn.handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\r\n")
            .unwrap();
        assert!(matches!(conn.poll_event(), Some(ClientEvent::Response(_))));
    });
    assert_eq!(
        out,
        concat!(
            "--> {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n",
            "<-- {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n",
        )
    );
}

#[test]
fn content_length_and_quiet_body() {
    let out = logged("sansrpc::wire=debug", || {
        let mut f = ContentLength::new(64);
        let mut framed = Vec::new();
        f.encode(b"{}", &mut framed);
        f.push(b"Content-Length: 2\r\n\r\n[]");
        assert!(f.next_frame().is_some());
        let mut quiet = Body::new(64).quiet_input();
        quiet.push(b"{\"not\":\"logged\"}");
        quiet.push_eof();
        assert!(quiet.next_frame().is_some());
        quiet.encode(b"{\"sent\":1}", &mut framed);
    });
    assert_eq!(out, "--> {}\n<-- []\n--> {\"sent\":1}\n");
}

#[test]
fn off_unless_enabled() {
    let router = router();
    let out = logged("sansrpc=info,debug", || {
        let body = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
        assert!(futures_executor::block_on(router.handle_message(body, Context::default())).is_some());
    });
    assert_eq!(out, "");
}
