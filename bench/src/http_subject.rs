//! The subject over HTTP: one request through [`sansrpc::http::Endpoint`],
//! exactly as the HTTP adapters drive it (the head decided, the body pushed,
//! the message run, the [`Reply`] built), without a framework around it.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use sansrpc::http::{Begin, Endpoint, HeaderName, HeaderView, HttpMethod, Reply};

use crate::subject::poll_ready;

/// The head of a typical JSON-RPC `POST`: `Host`, `Content-Type`,
/// `Content-Length` (`body_len`), `User-Agent`, `Accept`.
pub fn request_headers(body_len: usize) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    h.insert(header::USER_AGENT, HeaderValue::from_static("sansrpc-bench/0.1"));
    h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    h
}

/// Request headers borrowed from the framework, as actix-web lends them.
struct View<'a>(&'a HeaderMap);

impl HeaderView for View<'_> {
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }
}

/// One request as `sansrpc-actix` answers it: [`Endpoint::begin_view`] on
/// borrowed headers (copied only for a router that reads them), the body
/// pushed as the framework's one chunk, [`Endpoint::run`].
pub fn handle_view(endpoint: &Endpoint, headers: &HeaderMap, body: Bytes) -> Reply {
    let begin = endpoint.begin_view(&HttpMethod::POST, "", None, &View(headers), |v| v.0.clone());
    finish(endpoint, begin, body)
}

/// One request as `sansrpc-warp` answers it: [`Endpoint::begin`] on an
/// owned [`HeaderMap`], then as [`handle_view`].
pub fn handle_map(endpoint: &Endpoint, headers: HeaderMap, body: Bytes) -> Reply {
    let begin = endpoint.begin(&HttpMethod::POST, "", None, headers);
    finish(endpoint, begin, body)
}

fn finish<H: sansrpc::http::RequestHeaders>(endpoint: &Endpoint, begin: Begin<H>, body: Bytes) -> Reply {
    match begin {
        Begin::Respond(reply) => reply,
        Begin::Run(exchange, message) => poll_ready(endpoint.run(exchange, message, None, drop)),
        Begin::ReadBody(exchange, mut reader) => match reader.push_bytes(body).and_then(|()| reader.finish())
        {
            Ok(message) => poll_ready(endpoint.run(exchange, message, None, drop)),
            Err(reject) => endpoint.reject(exchange, reject, None),
        },
    }
}
