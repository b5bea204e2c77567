//! The peer line: jsonrpsee's `RpcModule` with the same methods, handling
//! the same raw requests.
//!
//! `RpcModule::raw_json_request` takes one call; for a batch and a parse
//! error this module does what `jsonrpsee-server`'s `handle_rpc_call` does
//! around it (split the batch into raw entries and answer each; answer a
//! body that does not parse with `-32700`), so every case is comparable.

use jsonrpsee::RpcModule;
use jsonrpsee::core::RegisterMethodError;
use jsonrpsee::core::server::MethodResponse;
use jsonrpsee::types::{ErrorCode, ErrorObject, ErrorObjectOwned, Id, Params};
use sansrpc::reference::Subtract;
use serde_json::value::RawValue;

fn invalid_params(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(ErrorCode::InvalidParams.code(), e.to_string(), None::<()>)
}

/// The module: `ping`, `subtract` (by position or by name) and `sum`, as
/// in `sansrpc::reference`.
pub fn module() -> Result<RpcModule<()>, RegisterMethodError> {
    let mut m = RpcModule::new(());
    m.register_method("ping", |_, _, _| "pong")?;
    m.register_method("subtract", |p: Params<'_>, _, _| {
        let s: Subtract = p.parse()?;
        s.minuend
            .checked_sub(s.subtrahend)
            .ok_or_else(|| invalid_params("the difference overflows a 64-bit integer"))
    })?;
    m.register_method("sum", |p: Params<'_>, _, _| {
        let v: Vec<i64> = p.parse()?;
        v.into_iter()
            .try_fold(0i64, i64::checked_add)
            .ok_or_else(|| invalid_params("the sum overflows a 64-bit integer"))
    })?;
    Ok(m)
}

fn parse_error() -> String {
    let r = MethodResponse::error(Id::Null, ErrorObject::from(ErrorCode::ParseError));
    r.as_ref().to_owned()
}

async fn one(module: &RpcModule<()>, request: &str) -> String {
    match module.raw_json_request(request, 1).await {
        Ok((response, _subscription)) => Box::<str>::from(response).into_string(),
        Err(_) => parse_error(),
    }
}

/// Answers one raw request body.
pub async fn handle(module: &RpcModule<()>, request: &str) -> String {
    if !request.trim_start().starts_with('[') {
        return one(module, request).await;
    }
    let Ok(entries) = serde_json::from_str::<Vec<&RawValue>>(request) else {
        return parse_error();
    };
    let mut out = String::from("[");
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&one(module, entry.get()).await);
    }
    out.push(']');
    out
}
