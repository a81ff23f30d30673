#![no_main]
//! Signed changes from other devices of a space with a founder (record id, signature, change,
//! repeated), imported into a store that checks signatures and grants; each import is rolled
//! back.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::signed(data)
);
