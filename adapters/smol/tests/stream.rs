//! sansrpc-smol over real sockets on 127.0.0.1: the shared stream suite
//! (`sansrpc_testkit::stream_suite!`, the very same cases `sansrpc-tokio`
//! runs: the spec's examples, the stream conventions, the limits, the
//! client and peer mode).

/// What the stream suite needs from smol.
mod rt {
    use std::future::Future;
    use std::time::Duration;

    use futures_lite::future;
    use smol::Timer;

    pub(crate) use futures_lite::io;
    pub(crate) use sansrpc_smol as adapter;
    pub(crate) use smol::net;

    pub(crate) fn block_on<T>(test: impl Future<Output = T>) -> T {
        smol::block_on(future::or(test, async {
            Timer::after(sansrpc_testkit::stream::BOUND).await;
            panic!("test timed out")
        }))
    }

    pub(crate) async fn sleep(time: Duration) {
        Timer::after(time).await;
    }

    pub(crate) type Task<T> = smol::Task<T>;

    pub(crate) fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Task<T> {
        smol::spawn(task)
    }

    pub(crate) async fn join<T>(task: Task<T>) -> T {
        task.await
    }

    pub(crate) async fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        smol::unblock(f).await
    }

    pub(crate) async fn shutdown_write<W: io::AsyncWrite + Unpin>(write: &mut W) {
        io::AsyncWriteExt::close(write).await.unwrap();
    }

    #[cfg(unix)]
    pub(crate) fn unix_pair() -> (net::unix::UnixStream, net::unix::UnixStream) {
        net::unix::UnixStream::pair().unwrap()
    }
}

sansrpc_testkit::stream_suite!(rt);
