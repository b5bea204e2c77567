//! A minimal, honest HTTP/1.1 client: one request per connection
//! (`Connection: close`), the exact method, headers and body bytes a case
//! asks for, and the status, headers and body as received (Content-Length,
//! chunked, or read until close).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

use super::{BoxFuture, Exchange, Transport, bracket, connect};
use crate::case::TransportKind;
use crate::expect::{End, HttpMeta, Observed};

/// The most response bytes read for one case; a server that sends more is
/// cut off there (no case needs a response that large).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// The most bytes a response head may take.
const MAX_HEAD: usize = 64 * 1024;

/// HTTP/1.1 POST (or whatever method a case asks for) to one URL.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    host: String,
    port: u16,
    path: String,
}

impl HttpTransport {
    /// A transport for `http://host:port` + `path` (`path` starts with `/`).
    pub fn new(host: String, port: u16, path: String) -> HttpTransport {
        HttpTransport { host, port, path }
    }

    fn head(&self, method: &str, content_type: Option<&str>, body_len: Option<usize>) -> Vec<u8> {
        let mut head = format!(
            "{method} {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: sansrpc-conformance/{}\r\nAccept: application/json\r\nConnection: close\r\n",
            self.path,
            bracket(&self.host),
            self.port,
            env!("CARGO_PKG_VERSION"),
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if let Some(len) = body_len {
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    async fn run(&self, ex: Exchange<'_>) -> Observed {
        let stream = match connect(&self.host, self.port, ex.deadline).await {
            Ok(s) => s,
            Err(end) => return Observed::failed(end),
        };
        let (mut reader, writer) = stream.into_split();
        let method = ex.case.http.method;
        // A GET carries no body; everything else sends the case's bytes.
        let body: &[u8] = if method == "GET" { b"" } else { ex.bytes };
        let head = self.head(
            method,
            ex.case.http.content_type,
            (method != "GET").then_some(body.len()),
        );

        // Read while writing: a server may answer 413 and close before it
        // has read a large body, and that answer is what the case checks.
        let write = write_request(writer, head, body);
        tokio::pin!(write);
        let read = read_response(&mut reader);
        tokio::pin!(read);
        let mut writing = true;
        let mut write_error = None;
        let mut _keep_open = None;
        let result = tokio::time::timeout_at(ex.deadline, async {
            loop {
                tokio::select! {
                    w = &mut write, if writing => {
                        writing = false;
                        match w {
                            Ok(w) => _keep_open = Some(w),
                            Err(e) => write_error = Some(e),
                        }
                    }
                    r = &mut read => break r,
                }
            }
        })
        .await;
        match result {
            Ok(Ok((meta, body))) => {
                let mut obs = Observed::http(meta.status, &[], &body);
                obs.http = Some(meta);
                obs
            }
            Ok(Err(e)) => {
                let msg = match write_error {
                    Some(w) => format!("{e} (writing the request failed: {w})"),
                    None => e,
                };
                Observed::failed(End::Error(msg))
            }
            Err(_) => Observed::failed(End::TimedOut(ex.timeout)),
        }
    }
}

impl Transport for HttpTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Http
    }

    fn exchange<'a>(&'a self, exchange: Exchange<'a>) -> BoxFuture<'a, Observed> {
        Box::pin(self.run(exchange))
    }

    fn preflight(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let deadline = Instant::now() + std::time::Duration::from_secs(5);
            connect(&self.host, self.port, deadline)
                .await
                .map(drop)
                .map_err(|e| match e {
                    End::Error(e) => e,
                    other => format!("{other:?}"),
                })
        })
    }
}

async fn write_request(mut w: OwnedWriteHalf, head: Vec<u8>, body: &[u8]) -> std::io::Result<OwnedWriteHalf> {
    w.write_all(&head).await?;
    w.write_all(body).await?;
    w.flush().await?;
    // Returned, not dropped: dropping the write half would half-close the
    // socket, which some servers take as the client going away.
    Ok(w)
}

/// Reads one response (skipping `1xx` interim responses).
async fn read_response(r: &mut OwnedReadHalf) -> Result<(HttpMeta, Vec<u8>), String> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let (meta, head_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let meta = HttpMeta {
                        status: resp.code.unwrap_or_default(),
                        headers: resp
                            .headers
                            .iter()
                            .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
                            .collect(),
                    };
                    break (meta, n);
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(format!("malformed HTTP response: {e}")),
            }
            if buf.len() > MAX_HEAD {
                return Err("HTTP response head over 64 KiB".to_owned());
            }
            if fill(r, &mut buf).await? == 0 {
                return Err(if buf.is_empty() {
                    "the server closed the connection without a response".to_owned()
                } else {
                    "the server closed the connection in the middle of the response head".to_owned()
                });
            }
        };
        buf.drain(..head_len);
        if (100..200).contains(&meta.status) {
            continue;
        }
        let body = read_body(r, &meta, buf).await?;
        return Ok((meta, body));
    }
}

async fn fill(r: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> Result<usize, String> {
    if buf.len() >= MAX_RESPONSE {
        return Err("response over 64 MiB".to_owned());
    }
    buf.reserve(8192);
    r.read_buf(buf)
        .await
        .map_err(|e| format!("reading the response: {e}"))
}

async fn read_body(r: &mut OwnedReadHalf, meta: &HttpMeta, mut buf: Vec<u8>) -> Result<Vec<u8>, String> {
    if meta.status == 204 || meta.status == 304 {
        return Ok(Vec::new());
    }
    let chunked = meta.header("transfer-encoding").is_some_and(|te| {
        te.rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    });
    if chunked {
        return read_chunked(r, buf).await;
    }
    if let Some(len) = meta.header("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        if len > MAX_RESPONSE {
            return Err(format!("Content-Length {len} over 64 MiB"));
        }
        while buf.len() < len {
            if fill(r, &mut buf).await? == 0 {
                return Err(format!(
                    "the server closed the connection after {} of {len} body bytes",
                    buf.len()
                ));
            }
        }
        buf.truncate(len);
        return Ok(buf);
    }
    // No framing: the body runs until the server closes.
    while fill(r, &mut buf).await? != 0 {}
    Ok(buf)
}

async fn read_chunked(r: &mut OwnedReadHalf, mut buf: Vec<u8>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete((used, size))) => {
                let size = usize::try_from(size)
                    .ok()
                    .filter(|s| body.len() + s <= MAX_RESPONSE)
                    .ok_or("chunked response over 64 MiB")?;
                if size == 0 {
                    // Trailers are not needed; the connection closes anyway.
                    return Ok(body);
                }
                let start = pos + used;
                while buf.len() < start + size + 2 {
                    if fill(r, &mut buf).await? == 0 {
                        return Err("the server closed the connection inside a chunk".to_owned());
                    }
                }
                body.extend_from_slice(&buf[start..start + size]);
                if &buf[start + size..start + size + 2] != b"\r\n" {
                    return Err("malformed chunked encoding: no CRLF after a chunk".to_owned());
                }
                pos = start + size + 2;
            }
            Ok(httparse::Status::Partial) => {
                if fill(r, &mut buf).await? == 0 {
                    return Err("the server closed the connection inside chunked encoding".to_owned());
                }
            }
            Err(_) => return Err("malformed chunked encoding: bad chunk size".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Case, Payload};
    use std::time::Duration;
    use tokio::net::TcpListener;

    /// Serves one canned response to one connection and returns the request.
    async fn serve_once(response: &'static [u8]) -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Read until the end of the head plus the declared body.
            loop {
                let n = s.read(&mut buf).await.unwrap();
                req.extend_from_slice(&buf[..n]);
                if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..i]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    if req.len() >= i + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            s.write_all(response).await.unwrap();
            s.shutdown().await.unwrap();
            req
        });
        (port, task)
    }

    fn case() -> Case {
        crate::catalog()
            .into_iter()
            .find(|c| c.id == "5.1/method-not-found")
            .unwrap()
    }

    async fn exchange(port: u16, case: &Case) -> Observed {
        let t = HttpTransport::new("127.0.0.1".into(), port, "/rpc".into());
        let bytes = case.payload.bytes();
        t.exchange(Exchange {
            case,
            bytes: &bytes,
            deadline: Instant::now() + Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        })
        .await
    }

    #[tokio::test]
    async fn content_length_response_and_exact_request() {
        let (port, task) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n[1]\nignored",
        )
        .await;
        let c = case();
        let obs = exchange(port, &c).await;
        assert_eq!(obs.end, End::Complete);
        assert_eq!(obs.messages, vec![b"[1]\n".to_vec()]);
        assert_eq!(
            obs.http.as_ref().unwrap().header("CONTENT-TYPE"),
            Some("application/json")
        );
        let req = task.await.unwrap();
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("POST /rpc HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("\r\nConnection: close\r\n"));
        assert!(text.ends_with(&String::from_utf8(c.payload.bytes().to_vec()).unwrap()));
    }

    #[tokio::test]
    async fn chunked_response_with_interim_100() {
        let (port, _task) = serve_once(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;ext=1\r\n\":1}\r\n0\r\n\r\n",
        )
        .await;
        let obs = exchange(port, &case()).await;
        assert_eq!(obs.messages, vec![br#"{"a":1}"#.to_vec()]);
        assert_eq!(obs.http.unwrap().status, 200);
    }

    #[tokio::test]
    async fn body_until_close_and_empty_204() {
        let (port, _task) = serve_once(b"HTTP/1.1 200 OK\r\n\r\n{\"x\":2}").await;
        let obs = exchange(port, &case()).await;
        assert_eq!(obs.messages, vec![br#"{"x":2}"#.to_vec()]);

        let (port, _task) = serve_once(b"HTTP/1.1 204 No Content\r\n\r\n").await;
        let obs = exchange(port, &case()).await;
        assert!(obs.messages.is_empty());
        assert_eq!(obs.http.unwrap().status, 204);
    }

    #[tokio::test]
    async fn refused_and_garbage_are_errors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let obs = exchange(port, &case()).await;
        assert!(matches!(obs.end, End::Error(_)), "{obs:?}");

        let (port, _task) = serve_once(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let obs = exchange(port, &case()).await;
        assert!(matches!(obs.end, End::Error(_)), "{obs:?}");
    }

    #[tokio::test]
    async fn silence_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = HttpTransport::new("127.0.0.1".into(), port, "/".into());
        let c = case();
        let bytes = c.payload.bytes();
        let obs = t
            .exchange(Exchange {
                case: &c,
                bytes: &bytes,
                deadline: Instant::now() + Duration::from_millis(200),
                timeout: Duration::from_millis(200),
            })
            .await;
        assert_eq!(obs.end, End::TimedOut(Duration::from_millis(200)));
        drop(listener);
        let _ = Payload::Bytes(Vec::new());
    }
}
