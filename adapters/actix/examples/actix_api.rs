//! The Flask JSON-RPC server's example (flaskJSONRPCServer), ported: at
//! `/api`, with CORS (any origin, cookies allowed) and the JSONP fallback
//! on, the methods
//!
//! - `random(mult=65536)`: a random integer in `0..mult`;
//! - `echo(data="Hello world!")`: `data` back;
//! - `myip`: `"Hello, <the caller's IP>!"`;
//! - `setcookie`: sets the cookie `myTestCookie`;
//! - `block`: sleeps 10 s, then answers `"ok"` (called as a notification,
//!   the caller gets its `204` at once);
//! - `big` (alias `bigdata`): a long text, gzip-compressed for clients that
//!   accept it (the handler switches compression on for itself, like the
//!   Flask server's `allowCompress`);
//! - `stats`: count, errors and timings per method (`sansrpc::Stats`).
//!
//! ```text
//! cargo run -p sansrpc-actix --example actix_api [127.0.0.1:7001] [--no-cors]
//! curl -s http://127.0.0.1:7001/api -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","method":"echo","params":["hi"],"id":1}'
//! curl -s 'http://127.0.0.1:7001/api/echo?data=test_data&jsonp=jsonpCallback_129620'
//! curl -s --compressed http://127.0.0.1:7001/api -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","method":"bigdata","id":2}'
//! time curl -s http://127.0.0.1:7001/api -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","method":"block"}'   # 204 at once
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpServer};
use sansrpc::http::{Cors, HttpOptions};
use sansrpc::{Context, Params, Router, Stats};
use serde::Deserialize;

/// A number sent as a number, or as a string (JSONP query values are).
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(u64),
    Text(String),
}

#[derive(Deserialize)]
struct RandomArgs {
    #[serde(default)]
    mult: Option<Number>,
}

#[derive(Deserialize)]
struct EchoArgs {
    #[serde(default = "hello")]
    data: serde_json::Value,
}

fn hello() -> serde_json::Value {
    "Hello world!".into()
}

/// A random integer in `0..mult` (xorshift seeded by the clock: this is an
/// example, not a source of secrets).
fn random(Params(args): Params<RandomArgs>) -> Result<u64, sansrpc::Error> {
    let mult = match args.mult {
        None => 65536,
        Some(Number::Int(n)) => n,
        Some(Number::Text(s)) => s
            .parse()
            .map_err(|_| sansrpc::Error::invalid_params("mult: expected a whole number"))?,
    };
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    Ok(x % mult.max(1))
}

fn ip(ctx: &Context) -> String {
    ctx.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// The long text of `big`, about 4 KiB.
fn big(ctx: Context) -> String {
    ctx.set_compression(true);
    "They say that if you sat an infinite number of monkeys with an infinite number of typewriters, \
     then they would write the complete works of Shakespeare. This is known as the Infinite Monkey Theorem.\n"
        .repeat(20)
}

fn router() -> Result<Router, sansrpc::RegistrationError> {
    let stats = Stats::new();
    let mut router = Router::new();
    router
        .method("random", random)?
        .method("echo", |Params(a): Params<EchoArgs>| a.data)?
        .method("myip", |ctx: Context| format!("Hello, {}!", ip(&ctx)))?
        .method("setcookie", |ctx: Context| {
            ctx.set_cookie(&format!("myTestCookie=Your IP is {}; Path=/", ip(&ctx)));
            "Setted"
        })?
        .method("block", || async {
            actix_web::rt::time::sleep(Duration::from_secs(10)).await;
            "ok"
        })?
        .method("big", big)?
        .alias("bigdata", "big")?
        .method("stats", stats.handler())?;
    router.hook(stats);
    Ok(router)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut addr = SocketAddr::from(([127, 0, 0, 1], 7001));
    let mut cors = true;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-cors" => cors = false,
            other => {
                addr = other.parse().map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{other:?}: {e}"))
                })?
            }
        }
    }
    let router = std::sync::Arc::new(router().map_err(|e| std::io::Error::other(e.to_string()))?);
    let mut options = HttpOptions::new().jsonp(true);
    if cors {
        // Cookies too: the answer then names the caller's origin.
        options = options.cors(Cors::any().credentials(true));
    }
    let server = HttpServer::new(move || {
        App::new().service(sansrpc_actix::endpoint_with(
            "/api",
            router.clone(),
            options.clone(),
        ))
    })
    .workers(2)
    .bind(addr)?;
    for bound in server.addrs() {
        println!(
            "sansrpc-actix api example on http://{bound}/api (CORS {})",
            if cors { "on" } else { "off" }
        );
        println!("  JSONP: http://{bound}/api/echo?data=test_data&jsonp=jsonpCallback_129620");
    }
    server.run().await
}
