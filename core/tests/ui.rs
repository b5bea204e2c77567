//! The compile errors a newcomer meets, as the compiler prints them: each
//! names what a handler may take and return (`Params`, `Json`, `Result`).
//!
//! The `.stderr` files are rustc 1.95's output; after a deliberate change
//! to a diagnostic, regenerate them with `TRYBUILD=overwrite cargo test -p
//! sansrpc --test ui` and review the diff.

#[test]
fn handler_diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
