#![no_main]
//! Fuzz target `framers`: see `sansrpc_fuzz_checks::framers` for what it asserts.

libfuzzer_sys::fuzz_target!(|data: &[u8]| sansrpc_fuzz_checks::framers::check(data));
