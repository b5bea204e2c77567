//! Errors that say why: an application error with structured `data`, the
//! `data` the library gives its own errors, and reading an error's code
//! and data back. In memory, no server needed:
//!
//! ```text
//! cargo run -p sansrpc --example core_error_data
//! ```

use sansrpc::{Context, Error, ErrorCode, Params, Router};

#[derive(serde::Deserialize)]
struct Withdraw {
    account: String,
    amount: u64,
}

#[derive(serde::Serialize)]
struct Shortfall {
    balance: u64,
    requested: u64,
}

/// Application codes live outside the reserved range (-32768..=-32000).
const INSUFFICIENT_FUNDS: i64 = 4001;

fn withdraw(Params(w): Params<Withdraw>) -> Result<u64, Error> {
    let balance = if w.account == "ada" { 30 } else { 0 };
    if w.amount > balance {
        // `with_data` is infallible: no `?`, no turbofish in a closure.
        return Err(
            Error::new(INSUFFICIENT_FUNDS, "insufficient funds").with_data(&Shortfall {
                balance,
                requested: w.amount,
            }),
        );
    }
    Ok(balance - w.amount)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut router = Router::new();
    router.method("withdraw", withdraw)?;
    let send = |body: &str| {
        let answer = futures_executor::block_on(router.handle_message(body.as_bytes(), Context::default()));
        println!(
            "--> {body}\n<-- {}\n",
            answer
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        );
    };
    // The application's error, with data.
    send(r#"{"jsonrpc":"2.0","method":"withdraw","params":{"account":"ada","amount":50},"id":1}"#);
    // The library's errors say why in `data`: params of the wrong count or
    // type, a refused request, a parse error with its position.
    send(r#"{"jsonrpc":"2.0","method":"withdraw","params":["ada",5,6],"id":2}"#);
    send(r#"{"jsonrpc":"2.0","method":"withdraw","params":{"account":"ada"},"id":3}"#);
    send(r#"{"jsonrpc":"2.0","method":"withdraw","params":5,"id":4}"#);
    send(r#"{"jsonrpc":"2.0","method":"withdraw","params":[}"#);

    // Reading an error back: the integer code, the message, the data.
    let e = Error::new(INSUFFICIENT_FUNDS, "insufficient funds").with_data(&Shortfall {
        balance: 30,
        requested: 50,
    });
    assert_eq!(e.raw_code(), 4001);
    assert!(e.code() == INSUFFICIENT_FUNDS && !e.code().is_reserved());
    assert_eq!(Error::method_not_found().code(), ErrorCode::METHOD_NOT_FOUND);
    println!(
        "code {}, message {:?}, data {}",
        e.raw_code(),
        e.message(),
        e.data().map_or("none", |d| d.get())
    );
    Ok(())
}
