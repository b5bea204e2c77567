#![no_main]
//! Fuzz target `parse_reader`: see `sansrpc_fuzz_checks::parse_reader` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::parse_reader::check(data));
