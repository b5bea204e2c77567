//! What a handler can learn about the HTTP request, and send back: the
//! caller's IP, request headers, cookies read and set, a response header
//! (127.0.0.1:5000, or the address given on the command line).
//!
//! ```text
//! cargo run -p sansrpc-warp --example warp_headers
//! curl -si http://127.0.0.1:5000/ -H 'Content-Type: application/json' -H 'Cookie: theme=dark' \
//!      -d '[{"jsonrpc":"2.0","method":"myip","id":1},{"jsonrpc":"2.0","method":"theme","id":2},
//!           {"jsonrpc":"2.0","method":"login","params":["ada"],"id":3}]'
//! ```
//!
//! **Behind a reverse proxy** the peer address is the proxy's. The proxy
//! says who its client was in `X-Forwarded-For` (`client, proxy1, ...`),
//! but any client can send that header too: believe it only when the
//! connection comes from a proxy you run, and then take the right-most
//! address your proxies did not add. `myip` below trusts it only from
//! `127.0.0.1`.

use std::net::{IpAddr, SocketAddr};

use sansrpc::{Context, Params, Router};
use warp::Filter;

/// The proxies whose `X-Forwarded-For` is believed.
const TRUSTED_PROXIES: &[IpAddr] = &[IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)];

fn caller_ip(ctx: &Context) -> Option<IpAddr> {
    let peer = ctx.peer_addr()?.ip();
    if !TRUSTED_PROXIES.contains(&peer) {
        return Some(peer);
    }
    // Right to left: the first address that is not one of our proxies.
    let forwarded = ctx.header("x-forwarded-for").unwrap_or_default();
    forwarded
        .rsplit(',')
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|a| !TRUSTED_PROXIES.contains(a))
        .or(Some(peer))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => SocketAddr::from(([127, 0, 0, 1], 5000)),
    };
    let mut router = Router::new();
    router
        .method("myip", |ctx: Context| caller_ip(&ctx).map(|ip| ip.to_string()))?
        .method("useragent", |ctx: Context| {
            ctx.header("user-agent").map(str::to_owned)
        })?
        .method("theme", |ctx: Context| {
            ctx.cookie("theme").unwrap_or_else(|| "light".to_owned())
        })?
        .method("login", |ctx: Context, Params((user,)): Params<(String,)>| {
            // `set_cookie` says whether the cookie will be sent: over HTTP
            // it is; over TCP or WebSocket it would be `false`.
            let sent = ctx.set_cookie(&format!("user={user}; Path=/; HttpOnly; SameSite=Strict"));
            ctx.set_response_header("x-logged-in", &user);
            sent
        })?;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("sansrpc-warp: JSON-RPC 2.0 on http://{addr}/ (myip, useragent, theme, login)");
    warp::serve(warp::path::end().and(sansrpc_warp::filter(router)))
        .incoming(listener)
        .run()
        .await;
    Ok(())
}
