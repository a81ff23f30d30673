#![no_main]
//! An envelope from the relay (postcard), opened with the space key; and the same bytes as an
//! envelope's plaintext.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::envelope(data)
);
