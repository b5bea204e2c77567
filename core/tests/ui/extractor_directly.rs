// Calling `FromCall` on a type that is not an extractor.
fn needs_extractor<T: sansrpc::FromCall<()>>() {}

fn main() {
    needs_extractor::<u32>();
}
