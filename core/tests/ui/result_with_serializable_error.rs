// `Result<T, String>` is `Serialize` (as `{"Ok": ...}`): refused rather
// than answered that way.
fn parse(sansrpc::Params((s,)): sansrpc::Params<(String,)>) -> Result<i64, String> {
    s.parse().map_err(|e: std::num::ParseIntError| e.to_string())
}

fn main() {
    let mut router = sansrpc::Router::new();
    router.method("parse", parse).unwrap();
}
