#![no_main]
//! Fuzz target `router`: see `sansrpc_fuzz_checks::router` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::router::check(data));
