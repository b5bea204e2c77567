//! sansrpc-tokio over real sockets on 127.0.0.1: the shared stream suite
//! (`sansrpc_testkit::stream_suite!`, the very same cases `sansrpc-smol`
//! runs: the spec's examples, the stream conventions, the limits, the
//! client and peer mode), plus an in-memory byte stream.

/// What the stream suite needs from tokio.
mod rt {
    use std::future::Future;
    use std::time::Duration;

    pub(crate) use sansrpc_tokio as adapter;
    pub(crate) use tokio::{io, net};

    pub(crate) fn block_on<T>(test: impl Future<Output = T>) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The timer is made inside the runtime, as `#[tokio::test]` would.
        runtime
            .block_on(async { tokio::time::timeout(sansrpc_testkit::stream::BOUND, test).await })
            .expect("test timed out")
    }

    pub(crate) async fn sleep(time: Duration) {
        tokio::time::sleep(time).await;
    }

    pub(crate) type Task<T> = tokio::task::JoinHandle<T>;

    pub(crate) fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Task<T> {
        tokio::spawn(task)
    }

    pub(crate) async fn join<T>(task: Task<T>) -> T {
        task.await.unwrap()
    }

    pub(crate) async fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        tokio::task::spawn_blocking(f).await.unwrap()
    }

    pub(crate) async fn shutdown_write<W: io::AsyncWrite + Unpin>(write: &mut W) {
        io::AsyncWriteExt::shutdown(write).await.unwrap();
    }

    #[cfg(unix)]
    pub(crate) fn unix_pair() -> (net::UnixStream, net::UnixStream) {
        net::UnixStream::pair().unwrap()
    }
}

sansrpc_testkit::stream_suite!(rt);

#[test]
fn any_byte_stream_is_served() {
    rt::block_on(async {
        let (ours, theirs) = tokio::io::duplex(64);
        let server = tokio::spawn(async move {
            let ctx = Context::builder(Transport::InMemory).build();
            sansrpc_tokio::serve_connection(theirs, router(), ctx).await
        });
        let mut conn = Lines::new(ours);
        section_7_on(&mut conn).await;
        drop(conn);
        server.await.unwrap().unwrap();
    })
}
