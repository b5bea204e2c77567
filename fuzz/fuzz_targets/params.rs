#![no_main]
//! Fuzz target `params`: see `sansrpc_fuzz_checks::params` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::params::check(data));
