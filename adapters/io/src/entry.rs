//! The free entry points of a runtime crate (`serve`,
//! `serve_with_shutdown`, `serve_connection`), written once.

/// Writes a runtime crate's free functions `serve`, `serve_with_shutdown`
/// and `serve_connection` over [`Server`](crate::Server) for the runtime
/// `$rt` and its listener type, with the documentation (and example) each
/// crate gives `serve` and `serve_connection`. `sansrpc-tokio` and
/// `sansrpc-smol` call it; their API is what it writes.
#[doc(hidden)]
#[macro_export]
macro_rules! entry_points {
    (
        runtime: $rt:ty,
        listener: $listener:ty,
        stream: [$($io:tt)+],
        $(#[$serve_doc:meta])*
        serve;
        $(#[$conn_doc:meta])*
        serve_connection;
    ) => {
        $(#[$serve_doc])*
        pub async fn serve<S: Clone + Send + Sync + 'static>(
            listener: $listener,
            router: impl Into<::std::sync::Arc<$crate::__sansrpc::Router<S>>>,
        ) -> ::std::io::Result<()> {
            $crate::Server::<$rt, S>::new(router).serve(listener).await
        }

        /// Serves `router` on `listener` until `signal` completes, then shuts
        /// down gracefully: no new connections, calls in flight finish and
        /// are answered, then it returns.
        pub async fn serve_with_shutdown<S: Clone + Send + Sync + 'static>(
            listener: $listener,
            router: impl Into<::std::sync::Arc<$crate::__sansrpc::Router<S>>>,
            signal: impl ::std::future::Future<Output = ()>,
        ) -> ::std::io::Result<()> {
            $crate::Server::<$rt, S>::new(router).serve_with_shutdown(listener, signal).await
        }

        $(#[$conn_doc])*
        pub async fn serve_connection<S, IO>(
            io: IO,
            router: impl Into<::std::sync::Arc<$crate::__sansrpc::Router<S>>>,
            context: $crate::__sansrpc::Context,
        ) -> ::std::io::Result<()>
        where
            S: Clone + Send + Sync + 'static,
            IO: $($io)+,
        {
            $crate::Server::<$rt, S>::new(router).serve_connection(io, context).await
        }
    };
}
