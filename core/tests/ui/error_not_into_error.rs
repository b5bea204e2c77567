// A `Result` whose error converts into no `sansrpc::Error`.
#[derive(Debug)]
struct MyError;

fn check(sansrpc::Params((n,)): sansrpc::Params<(i64,)>) -> Result<i64, MyError> {
    if n > 0 { Ok(n) } else { Err(MyError) }
}

fn main() {
    let mut router = sansrpc::Router::new();
    router.method("check", check).unwrap();
}
