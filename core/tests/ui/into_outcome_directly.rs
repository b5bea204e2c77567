// A value that is neither `Serialize` nor a `Result`, asked for directly.
struct Opaque;

fn answer<M, T: sansrpc::IntoOutcome<M>>(_: T) {}

fn main() {
    answer(Opaque);
}
