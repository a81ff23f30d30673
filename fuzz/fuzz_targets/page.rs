#![no_main]
//! A page from the relay (postcard), applied to a store made once per process.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| allervers_core::fuzzing::page(data));
