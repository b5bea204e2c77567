//! The servers the load matrix drives, each on one worker thread: the four
//! sansrpc adapters, the bare frameworks answering a fixed `pong` (the
//! framework's limit), the same bare frameworks running the typed limit on
//! each body (`crate::typed_limit`: the least JSON-RPC work, so the ceiling
//! any JSON-RPC server on that framework can reach), jsonrpsee's HTTP server
//! (the peer), and raw tokio and smol line servers (the transport's limit),
//! each also in a variant that runs the typed limit on every line.

use std::io;
use std::net::{SocketAddr, TcpListener};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::inputs::PONG;

/// A server the matrix can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// actix-web, one worker, a `POST /` handler returning the fixed pong.
    ActixBare,
    /// `sansrpc_actix::endpoint("/", router)` on the same actix-web setup.
    ActixSansrpc,
    /// `ActixBare` whose handler runs the typed limit on the body.
    ActixTyped,
    /// warp on a current-thread runtime, a filter returning the fixed pong.
    WarpBare,
    /// `WarpBare` whose filter runs the typed limit on the body.
    WarpTyped,
    /// `sansrpc_warp::filter(router)` on the same warp setup.
    WarpSansrpc,
    /// jsonrpsee's HTTP server (`http_only`) with the same methods.
    JsonrpseeHttp,
    /// Raw tokio: answers each newline-terminated line with the fixed pong
    /// line, without looking at it.
    TokioLine,
    /// Raw tokio that runs the serde_json `Value` limit
    /// (`crate::limit::handle`) on every line (kept for reference; not in
    /// the load matrix since the typed limit is the least JSON-RPC work).
    TokioLineJson,
    /// `TokioLine`'s shape running the typed limit
    /// (`crate::typed_limit::handle`) on every line: the transport plus the
    /// least JSON-RPC work.
    TokioLineTyped,
    /// `sansrpc_tokio::serve` on a current-thread runtime.
    TokioSansrpc,
    /// `sansrpc_smol::serve` under `smol::block_on`, `SMOL_THREADS=1`.
    SmolSansrpc,
    /// Raw smol, set up as `SmolSansrpc` is: the `TokioLine` echo on
    /// smol's `TcpStream` (the smol transport's limit).
    SmolLine,
    /// `SmolLine`'s shape running the typed limit on every line.
    SmolLineTyped,
}

/// Whether a server speaks HTTP or newline-framed TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// HTTP/1.1 POST.
    Http,
    /// Newline-delimited JSON over TCP.
    Tcp,
}

impl Kind {
    /// Every kind the load matrix drives, in report order.
    pub const ALL: [Kind; 13] = [
        Kind::ActixSansrpc,
        Kind::ActixBare,
        Kind::ActixTyped,
        Kind::WarpSansrpc,
        Kind::WarpBare,
        Kind::WarpTyped,
        Kind::JsonrpseeHttp,
        Kind::TokioSansrpc,
        Kind::SmolSansrpc,
        Kind::TokioLineTyped,
        Kind::SmolLineTyped,
        Kind::TokioLine,
        Kind::SmolLine,
    ];

    /// Kinds that run only when named (`sansrpc-bench-server`,
    /// `sansrpc-matrix --servers`), not in the default matrix.
    pub const EXTRA: [Kind; 1] = [Kind::TokioLineJson];

    /// Reference servers the matrix measures only at the goals' connection
    /// count (64), to keep its run time in check: the typed-limit servers.
    pub fn goal_cells_only(self) -> bool {
        matches!(
            self,
            Kind::ActixTyped | Kind::WarpTyped | Kind::TokioLineTyped | Kind::SmolLineTyped
        )
    }

    /// The name used on command lines and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ActixBare => "actix-bare",
            Kind::ActixSansrpc => "actix-sansrpc",
            Kind::ActixTyped => "actix-typed",
            Kind::WarpBare => "warp-bare",
            Kind::WarpTyped => "warp-typed",
            Kind::WarpSansrpc => "warp-sansrpc",
            Kind::JsonrpseeHttp => "jsonrpsee-http",
            Kind::TokioLine => "tokio-line",
            Kind::TokioLineJson => "tokio-line-json",
            Kind::TokioLineTyped => "tokio-line-typed",
            Kind::TokioSansrpc => "tokio-sansrpc",
            Kind::SmolSansrpc => "smol-sansrpc",
            Kind::SmolLine => "smol-line",
            Kind::SmolLineTyped => "smol-line-typed",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Self::ALL
            .into_iter()
            .chain(Self::EXTRA)
            .find(|k| k.name() == name)
    }

    /// HTTP or TCP.
    pub fn wire(self) -> Wire {
        match self {
            Kind::TokioLine
            | Kind::TokioLineJson
            | Kind::TokioLineTyped
            | Kind::TokioSansrpc
            | Kind::SmolSansrpc
            | Kind::SmolLine
            | Kind::SmolLineTyped => Wire::Tcp,
            _ => Wire::Http,
        }
    }

    /// Whether this build includes the server (adapters are features).
    pub fn available(self) -> bool {
        match self {
            Kind::ActixSansrpc => cfg!(feature = "actix-adapter"),
            Kind::WarpSansrpc => cfg!(feature = "warp-adapter"),
            Kind::TokioSansrpc => cfg!(feature = "tokio-adapter"),
            Kind::SmolSansrpc => cfg!(feature = "smol-adapter"),
            _ => true,
        }
    }
}

/// Binds a loopback listener with a deep accept backlog (the std default of
/// 128 drops SYNs when hundreds of connections arrive at once).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "benchmark servers bind loopback only",
        ));
    }
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn current_thread() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

fn router(max_connections: usize) -> sansrpc::Router {
    let mut r = crate::subject::router();
    let limits = sansrpc::Limits {
        max_connections,
        ..r.limits().clone()
    };
    r.set_limits(limits);
    r
}

// Used only when an adapter feature is off.
#[allow(dead_code)]
fn unavailable(kind: Kind) -> io::Error {
    io::Error::other(format!(
        "{} was left out of this build (see bench/Cargo.toml features)",
        kind.name()
    ))
}

/// Serves `kind` on `listener` until the process ends, on the calling
/// thread (plus whatever fixed threads the framework itself insists on,
/// such as actix's acceptor).
pub fn serve(kind: Kind, listener: TcpListener, max_connections: usize) -> io::Result<()> {
    match kind {
        Kind::ActixBare => actix_bare(listener, max_connections),
        Kind::ActixTyped => actix_typed(listener, max_connections),
        Kind::ActixSansrpc => actix_sansrpc(listener, max_connections),
        Kind::WarpBare => warp_bare(listener),
        Kind::WarpTyped => warp_typed(listener),
        Kind::WarpSansrpc => warp_sansrpc(listener, max_connections),
        Kind::JsonrpseeHttp => jsonrpsee_http(listener, max_connections),
        Kind::TokioLine => tokio_line(listener),
        Kind::TokioLineJson => tokio_line_json(listener),
        Kind::TokioLineTyped => tokio_line_typed(listener),
        Kind::TokioSansrpc => tokio_sansrpc(listener, max_connections),
        Kind::SmolSansrpc => smol_sansrpc(listener, max_connections),
        Kind::SmolLine => smol_line(listener),
        Kind::SmolLineTyped => smol_line_typed(listener),
    }
}

fn actix_bare(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/",
                web::post().to(|_body: web::Bytes| async {
                    HttpResponse::Ok().content_type("application/json").body(PONG)
                }),
            )
        })
        .workers(1)
        .max_connections(max_connections)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}

/// The typed limit's answer to `body` as an owned body: written into a
/// per-thread buffer reused from request to request (as
/// `typed_limit::handle` is meant to be called), then copied out, since a
/// response must own its bytes.
fn typed_answer(body: &[u8]) -> bytes::Bytes {
    thread_local! {
        static OUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    OUT.with_borrow_mut(|out| {
        crate::typed_limit::handle(body, out);
        bytes::Bytes::copy_from_slice(out)
    })
}

fn actix_typed(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/",
                web::post().to(|body: web::Bytes| async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(typed_answer(&body))
                }),
            )
        })
        .workers(1)
        .max_connections(max_connections)
        .disable_signals()
        .listen(listener)?
        .run()
        .await
    })
}

#[cfg(feature = "actix-adapter")]
fn actix_sansrpc(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    use actix_web::{App, HttpServer};
    let router = std::sync::Arc::new(router(max_connections));
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
            .workers(1)
            .max_connections(max_connections)
            .disable_signals()
            .listen(listener)?
            .run()
            .await
    })
}

#[cfg(not(feature = "actix-adapter"))]
fn actix_sansrpc(_: TcpListener, _: usize) -> io::Result<()> {
    Err(unavailable(Kind::ActixSansrpc))
}

fn warp_bare(listener: TcpListener) -> io::Result<()> {
    use warp::Filter;
    let route = warp::post().and(warp::body::bytes()).map(|_body: bytes::Bytes| {
        warp::http::Response::builder()
            .header("content-type", "application/json")
            .body(PONG)
            .unwrap_or_default()
    });
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        warp::serve(route).incoming(listener).run().await;
        Ok(())
    })
}

fn warp_typed(listener: TcpListener) -> io::Result<()> {
    use warp::Filter;
    let route = warp::post().and(warp::body::bytes()).map(|body: bytes::Bytes| {
        warp::http::Response::builder()
            .header("content-type", "application/json")
            .body(typed_answer(&body))
            .unwrap_or_default()
    });
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        warp::serve(route).incoming(listener).run().await;
        Ok(())
    })
}

#[cfg(feature = "warp-adapter")]
fn warp_sansrpc(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    let route = sansrpc_warp::filter(router(max_connections));
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        warp::serve(route).incoming(listener).run().await;
        Ok(())
    })
}

#[cfg(not(feature = "warp-adapter"))]
fn warp_sansrpc(_: TcpListener, _: usize) -> io::Result<()> {
    Err(unavailable(Kind::WarpSansrpc))
}

fn jsonrpsee_http(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    let module = crate::peer::module().map_err(io::Error::other)?;
    current_thread()?.block_on(async move {
        let config = jsonrpsee::server::ServerConfig::builder()
            .http_only()
            .max_connections(u32::try_from(max_connections).unwrap_or(u32::MAX))
            .max_request_body_size(u32::try_from(crate::subject::MAX_MESSAGE_BYTES).unwrap_or(u32::MAX))
            .build();
        let server = jsonrpsee::server::Server::builder()
            .set_config(config)
            .build_from_tcp(listener)?;
        let handle = server.start(module);
        handle.stopped().await;
        Ok(())
    })
}

async fn line_connection(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut line = PONG.as_bytes().to_vec();
    line.push(b'\n');
    // Small buffers: this server is also the memory baseline for idle
    // connections. 16 pipelined pings fit in one read either way.
    let mut buf = vec![0u8; 4 * 1024];
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        out.clear();
        for _ in memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()) {
            out.extend_from_slice(&line);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

fn tokio_line(listener: TcpListener) -> io::Result<()> {
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(line_connection(stream));
        }
    })
}

async fn smol_line_connection(mut stream: smol::net::TcpStream) -> io::Result<()> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let mut line = PONG.as_bytes().to_vec();
    line.push(b'\n');
    let mut buf = vec![0u8; 4 * 1024];
    let mut out = Vec::new();
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        out.clear();
        for _ in memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()) {
            out.extend_from_slice(&line);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

fn smol_line(listener: TcpListener) -> io::Result<()> {
    smol::block_on(async move {
        let listener = smol::net::TcpListener::try_from(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            smol::spawn(smol_line_connection(stream)).detach();
        }
    })
}

/// `SANSRPC_BENCH_READ_BUFFER`: a per-connection read buffer size for the
/// stream adapters, to test how much of their idle memory it is.
#[allow(dead_code)]
fn read_buffer_override() -> Option<usize> {
    std::env::var("SANSRPC_BENCH_READ_BUFFER").ok()?.parse().ok()
}

async fn line_json_connection(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4 * 1024);
    let mut out = Vec::new();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4 * 1024);
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        out.clear();
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', buf.get(start..).unwrap_or_default()) {
            let line = buf.get(start..start + i).unwrap_or_default();
            out.extend_from_slice(&crate::limit::handle(line));
            out.push(b'\n');
            start += i + 1;
        }
        buf.drain(..start);
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

fn tokio_line_json(listener: TcpListener) -> io::Result<()> {
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(line_json_connection(stream));
        }
    })
}

/// Most bytes a typed line server keeps of a line that has not ended (a
/// bound, so a peer cannot make it grow without limit).
const MAX_LINE: usize = 1 << 20;

/// Answers every whole line of `data` with the typed limit (`scratch` is
/// the reused answer buffer), appending each answer and its `\n` to `out`;
/// returns how many bytes of `data` were whole lines.
fn typed_lines(data: &[u8], scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> usize {
    let mut start = 0;
    while let Some(i) = memchr::memchr(b'\n', data.get(start..).unwrap_or_default()) {
        crate::typed_limit::handle(data.get(start..start + i).unwrap_or_default(), scratch);
        out.extend_from_slice(scratch);
        out.push(b'\n');
        start += i + 1;
    }
    start
}

/// What a typed line server does with one read (`read`): answers the
/// whole lines into `out` (cleared first), keeping a line that has not
/// ended in `pending` for the next read. Lines are answered straight from
/// the read buffer when nothing is pending.
fn typed_read(
    pending: &mut Vec<u8>,
    read: &[u8],
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    out.clear();
    if pending.is_empty() {
        let used = typed_lines(read, scratch, out);
        pending.extend_from_slice(read.get(used..).unwrap_or_default());
    } else {
        pending.extend_from_slice(read);
        let used = typed_lines(pending, scratch, out);
        pending.drain(..used);
    }
    if pending.len() > MAX_LINE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    Ok(())
}

async fn line_typed_connection(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // The echo's buffers (`line_connection`), plus the scratch answer and
    // a line carried over between reads.
    let mut buf = vec![0u8; 4 * 1024];
    let (mut pending, mut scratch, mut out) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        typed_read(
            &mut pending,
            buf.get(..n).unwrap_or_default(),
            &mut scratch,
            &mut out,
        )?;
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

fn tokio_line_typed(listener: TcpListener) -> io::Result<()> {
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(line_typed_connection(stream));
        }
    })
}

async fn smol_line_typed_connection(mut stream: smol::net::TcpStream) -> io::Result<()> {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4 * 1024];
    let (mut pending, mut scratch, mut out) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        typed_read(
            &mut pending,
            buf.get(..n).unwrap_or_default(),
            &mut scratch,
            &mut out,
        )?;
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
    }
}

fn smol_line_typed(listener: TcpListener) -> io::Result<()> {
    smol::block_on(async move {
        let listener = smol::net::TcpListener::try_from(listener)?;
        loop {
            let (stream, _) = listener.accept().await?;
            smol::spawn(smol_line_typed_connection(stream)).detach();
        }
    })
}

#[cfg(feature = "tokio-adapter")]
fn tokio_sansrpc(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    let mut server = sansrpc_tokio::Server::new(router(max_connections));
    if let Some(bytes) = read_buffer_override() {
        server = server.read_buffer(bytes);
    }
    current_thread()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        server.serve(listener).await
    })
}

#[cfg(not(feature = "tokio-adapter"))]
fn tokio_sansrpc(_: TcpListener, _: usize) -> io::Result<()> {
    Err(unavailable(Kind::TokioSansrpc))
}

#[cfg(feature = "smol-adapter")]
fn smol_sansrpc(listener: TcpListener, max_connections: usize) -> io::Result<()> {
    let mut server = sansrpc_smol::Server::new(router(max_connections));
    if let Some(bytes) = read_buffer_override() {
        server = server.read_buffer(bytes);
    }
    smol::block_on(async move {
        let listener = smol::net::TcpListener::try_from(listener)?;
        server.serve(listener).await
    })
}

#[cfg(not(feature = "smol-adapter"))]
fn smol_sansrpc(_: TcpListener, _: usize) -> io::Result<()> {
    Err(unavailable(Kind::SmolSansrpc))
}

#[cfg(test)]
mod tests {
    use super::typed_read;

    #[test]
    fn typed_lines_across_reads() {
        let ping = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
        let mut input = Vec::new();
        for _ in 0..3 {
            input.extend_from_slice(ping);
            input.push(b'\n');
        }
        let want = "{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n".repeat(3);
        for cut in 0..=input.len() {
            let (mut pending, mut scratch, mut out) = (Vec::new(), Vec::new(), Vec::new());
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                typed_read(&mut pending, part, &mut scratch, &mut out).unwrap();
                got.extend_from_slice(&out);
            }
            assert_eq!(String::from_utf8(got).unwrap(), want, "cut at {cut}");
            assert!(pending.is_empty());
        }
    }
}
