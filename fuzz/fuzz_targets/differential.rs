#![no_main]
//! Fuzz target `differential`: see `sansrpc_fuzz_checks::differential` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::differential::check(data));
