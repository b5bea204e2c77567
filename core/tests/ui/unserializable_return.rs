// A return value that is not `Serialize`.
struct Secret;

fn main() {
    let mut router = sansrpc::Router::new();
    router.method("secret", || Secret).unwrap();
}
