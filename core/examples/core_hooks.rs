//! Hooks around every call, in memory (no server needed): a logging hook,
//! an asynchronous authentication hook that hands the caller's name from
//! `before` to `after`, and `Stats`, read back as a snapshot and as
//! Prometheus text.
//!
//! ```text
//! cargo run -p sansrpc --example core_hooks
//! ```

use std::time::Duration;

use sansrpc::{
    AsyncHook, CallInfo, Context, Error, Hook, Outcome, Params, Rejection, Router, Stats, Transport,
};

/// Logs every call when it ends, and every message refused before any
/// method ran.
struct Log;

impl Hook for Log {
    fn after(&self, call: &CallInfo, elapsed: Duration, outcome: &Outcome) {
        let id = call
            .id
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        match outcome {
            Ok(_) => println!("log: {} id={id} ok in {elapsed:?}", call.method),
            Err(e) => println!(
                "log: {} id={id} error {} in {elapsed:?}",
                call.method,
                e.raw_code()
            ),
        }
    }

    fn rejected(&self, rejection: &Rejection) {
        println!("log: refused ({:?}): {}", rejection.kind, rejection.error);
    }
}

/// Checks the bearer token (here against a table; a database or another
/// service would be awaited the same way) and tells `after` who called.
struct Auth;

impl AsyncHook for Auth {
    type Data = String;

    async fn before(&self, call: &CallInfo) -> Result<String, Error> {
        let token = call
            .context
            .header("authorization")
            .unwrap_or_default()
            .to_owned();
        let user = lookup(&token).await;
        user.ok_or_else(|| {
            Error::new(-32001, "unauthorized").with_data(&"send Authorization: Bearer <token>")
        })
    }

    fn after(&self, call: &CallInfo, _: Duration, outcome: &Outcome, user: Option<String>) {
        println!("auth: {} by {user:?}, ok={}", call.method, outcome.is_ok());
    }
}

async fn lookup(token: &str) -> Option<String> {
    (token == "Bearer ada-token").then(|| "ada".to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stats = Stats::new();
    let mut router = Router::new();
    router
        .method("add", |Params((a, b)): Params<(i64, i64)>| a + b)?
        .method("stats", stats.handler())?;
    router.hook(Log).async_hook(Auth).hook(stats.clone());

    let authed = Context::builder(Transport::Http)
        .header("authorization", "Bearer ada-token")
        .build();
    let send = |body: &str, ctx: Context| {
        let answer = futures_executor::block_on(router.handle_message(body.as_bytes(), ctx));
        println!(
            "--> {body}\n<-- {}",
            answer
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        );
    };
    send(
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
        authed.clone(),
    );
    send(
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":2}"#,
        Context::default(),
    );
    send(r#"{"jsonrpc":"2.0","method":"no.such","id":3}"#, authed.clone());
    send(r#"{"jsonrpc":"2.0","method":"stats","id":4}"#, authed);

    let snap = stats.snapshot();
    println!("add: {:?}", snap.methods.get("add"));
    println!("unknown names: {} calls", snap.unknown_methods.count);
    println!("{}", stats.prometheus());
    Ok(())
}
