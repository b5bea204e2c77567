#![no_main]
//! Fuzz target `server`: see `sansrpc_fuzz_checks::server` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::server::check(data));
