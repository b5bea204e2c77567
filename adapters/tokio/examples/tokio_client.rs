//! The Rust client, end to end: a call, a call that times out, a
//! notification, and a batch with typed params and typed answers. It
//! starts its own server on a free port, so it runs on its own:
//!
//! ```text
//! cargo run -p sansrpc-tokio --example tokio_client
//! ```
//!
//! About timeouts: JSON-RPC has no way to cancel a call, so when the
//! client stops waiting (`ClientError::TimedOut`) the server's handler
//! keeps running to its end and its late answer is dropped by the client
//! (it matches no pending call any more). A handler that must stop early
//! takes a deadline in its params, or the application adds a `cancel`
//! method of its own.

use std::time::Duration;

use sansrpc::{BatchEntry, Error, Params, Router, decode_outcome};
use sansrpc_tokio::{Client, ClientError, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut router = Router::new();
    router
        .method("subtract", |Params((a, b)): Params<(i64, i64)>| {
            a.checked_sub(b)
                .ok_or_else(|| Error::invalid_params("the difference overflows"))
        })?
        .method("slow", || async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "finally"
        })?
        .method("log", |Params((line,)): Params<(String,)>| {
            println!("server log: {line}")
        })?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, router));

    // Every call waits at most 5 s unless it says otherwise.
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .connect(addr)
        .await?;

    let difference: i64 = client.call("subtract", (42, 23)).await?;
    println!("subtract(42, 23) = {difference}");

    match client
        .call_timeout::<String>("slow", (), Duration::from_millis(100))
        .await
    {
        Err(ClientError::TimedOut) => {
            println!("slow: no answer within 100 ms (the server still finishes it)")
        }
        other => println!("slow: unexpected {other:?}"),
    }

    // A notification: sent, never answered.
    client.notify("log", ("hello from the client",)).await?;

    // A batch: typed params in, one answer per entry out (`None` for the
    // notification), each read as the type it is.
    let answers = client
        .batch([
            BatchEntry::call_with("subtract", &(10, 3))?,
            BatchEntry::notification_with("log", &("in a batch",))?,
            BatchEntry::call_with("subtract", &(i64::MIN, 1))?,
        ])
        .await?;
    for (i, answer) in answers.iter().enumerate() {
        match answer {
            None => println!("entry {i}: a notification, no answer"),
            Some(outcome) => match decode_outcome::<i64>(outcome) {
                Ok(n) => println!("entry {i}: {n}"),
                Err(e) => println!("entry {i}: error {} ({})", e.raw_code(), e.message()),
            },
        }
    }
    client.close();
    Ok(())
}
