#![no_main]
//! A page from the relay (postcard), applied to a store made once per process.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::page(data)
);
