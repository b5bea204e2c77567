#![no_main]
//! Fuzz target `parse_message`: see `sansrpc_fuzz_checks::parse` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::parse::check(data));
