//! The `stdio:` transport's process handling (start, kill on timeout,
//! restart, stderr captured, killed at the end) and Content-Length framing
//! over TCP, against toy servers.

use std::time::Duration;

use sansrpc_conformance::{Framing, Profile, RunOptions, Suite, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROBE_ANSWER: &str = r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"sansrpc-conformance-probe"}"#;

/// A server that answers its first probe, says so on stderr, then hangs:
/// every case times out, so every case gets a fresh process.
#[cfg(unix)]
#[tokio::test]
async fn a_hanging_process_is_killed_and_restarted() {
    let script = format!("read line; echo '{PROBE_ANSWER}'; echo ready >&2; exec sleep 1000");
    let url = format!("stdio:sh -c \"{}\"", script.replace('"', "\\\""));
    let options = RunOptions {
        timeout: Duration::from_millis(300),
        ..RunOptions::default()
    };
    let suite = Suite::new(Profile::Core).filter(&["4/id-integer", "4/id-string"]);
    let report = suite.run(&url, &options).await.expect("the process starts");
    for r in &report.results {
        assert_eq!(r.verdict.as_str(), "fail", "{}", r.id);
        let Verdict::Fail { got, .. } = &r.verdict else {
            unreachable!()
        };
        assert!(got.contains("timed out"), "{got}");
    }
    let log = report.server_log.clone().unwrap_or_default();
    // Started for the preflight (which ran the first case), then once more.
    assert_eq!(log.matches("] started sh -c").count(), 2, "{log}");
    assert_eq!(
        log.matches("the case timed out; a new process runs the next case")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(log.matches("ready\n").count(), 2, "stderr is captured: {log}");
    for line in log.lines().filter(|l| l.contains("] stopped")) {
        assert!(line.contains("SIGKILL"), "{line}");
    }
    // The pids from the log are gone.
    for pid in log
        .lines()
        .filter_map(|l| l.split("(pid ").nth(1)?.strip_suffix(')'))
    {
        let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        assert!(!alive, "pid {pid} still runs:\n{log}");
    }
}

#[tokio::test]
async fn a_process_that_cannot_start_is_a_run_error() {
    let err = Suite::new(Profile::Core)
        .run("stdio:/nonexistent/server --stdio", &RunOptions::default())
        .await
        .expect_err("nothing to start");
    assert!(err.to_string().contains("cannot start"), "{err}");
    let err = Suite::new(Profile::Core)
        .run(
            "http://127.0.0.1:1/",
            &RunOptions {
                framing: Framing::ContentLength,
                ..RunOptions::default()
            },
        )
        .await
        .expect_err("no framing on HTTP");
    assert!(
        err.to_string()
            .contains("applies to tcp:// and stdio: targets only"),
        "{err}"
    );
}

/// A toy Content-Length server over TCP: every request with an id gets
/// -32601, everything else nothing.
async fn content_length_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|n| n.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            break;
                        }
                        let body: Vec<u8> = buf.drain(..end + 4 + len).skip(end + 4).collect();
                        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                        if let Some(id) = v.get("id") {
                            let answer = format!(
                                r#"{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"Method not found"}},"id":{id}}}"#
                            );
                            let frame = format!("Content-Length: {}\r\n\r\n{answer}", answer.len());
                            s.write_all(frame.as_bytes()).await.unwrap();
                        }
                    }
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn content_length_framing_over_tcp() {
    let port = content_length_server().await;
    let options = RunOptions {
        framing: Framing::ContentLength,
        ..RunOptions::default()
    };
    let report = Suite::new(Profile::Core)
        .filter(&["4/id-*", "4.1/notification-unknown-method", "tcp/*"])
        .run(&format!("tcp://127.0.0.1:{port}"), &options)
        .await
        .expect("reachable");
    assert!(
        report.target.ends_with("(framing content-length)"),
        "{}",
        report.target
    );
    for id in [
        "4/id-integer",
        "4/id-string",
        "4/id-null",
        "4.1/notification-unknown-method",
    ] {
        assert_eq!(
            report.get(id).unwrap().verdict,
            Verdict::Pass,
            "{id}\n{}",
            report.to_text()
        );
    }
    for id in [
        "tcp/two-messages-one-write",
        "tcp/crlf-line-ending",
        "tcp/blank-line",
    ] {
        let r = report.get(id).unwrap();
        let Verdict::Skip { reason } = &r.verdict else {
            panic!("{id} ran: {:?}", r.verdict)
        };
        assert!(reason.contains("line framing"), "{reason}");
    }
    // The same server spoken to with lines answers nothing the suite can read.
    let lines = Suite::new(Profile::Core)
        .filter(&["4/id-integer"])
        .run(
            &format!("tcp://127.0.0.1:{port}"),
            &RunOptions {
                timeout: Duration::from_millis(300),
                ..RunOptions::default()
            },
        )
        .await
        .expect("reachable");
    assert_eq!(lines.get("4/id-integer").unwrap().verdict.as_str(), "fail");
}

/// A server that insists on an `initialize` message first, as language
/// servers do: the init messages are sent to every fresh process, and what
/// it answers to them never reaches a case.
#[cfg(unix)]
#[tokio::test]
async fn init_messages_come_first_and_their_answers_are_dropped() {
    let script = format!(
        "read l; case \"$l\" in *initialize*) echo '{{\"jsonrpc\":\"2.0\",\"result\":{{}},\"id\":0}}';; \
         *) echo 'not initialized' >&2; exit 3;; esac; \
         while read l; do case \"$l\" in *probe*) echo '{PROBE_ANSWER}';; esac; done"
    );
    let url = format!("stdio:sh -c \"{}\"", script.replace('"', "\\\""));
    let suite = Suite::new(Profile::Core).filter(&["4.1/notification-unknown-method"]);

    let err = suite
        .run(&url, &RunOptions::default())
        .await
        .expect_err("the server exits without initialize");
    let err = err.to_string();
    assert!(
        err.contains("not initialized") && err.contains("exit status: 3"),
        "{err}"
    );

    let options = RunOptions {
        init: vec![r#"{"jsonrpc":"2.0","method":"initialize","params":{},"id":0}"#.to_owned()],
        ..RunOptions::default()
    };
    let report = suite.run(&url, &options).await.expect("initialized");
    let r = report.get("4.1/notification-unknown-method").unwrap();
    assert_eq!(r.verdict, Verdict::Pass, "{}", report.to_text());
    assert_eq!(r.answer.as_deref(), Some("nothing"));

    let err = suite
        .run("tcp://127.0.0.1:1", &options)
        .await
        .expect_err("init is for stdio");
    assert!(
        err.to_string()
            .contains("init messages apply to stdio: targets only"),
        "{err}"
    );
}
