// A handler argument that is not an extractor: the params must be asked
// for with `Params<T>`.
fn main() {
    let mut router = sansrpc::Router::new();
    router.method("shout", |s: String| s.to_uppercase()).unwrap();
}
