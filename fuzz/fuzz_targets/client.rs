#![no_main]
//! Fuzz target `client`: see `sansrpc_fuzz_checks::client` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::client::check(data));
