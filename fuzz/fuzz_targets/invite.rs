#![no_main]
//! An invite code, typed or scanned (lossy UTF-8).

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::invite(data)
);
