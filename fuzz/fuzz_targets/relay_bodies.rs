#![no_main]
//! Every request body the relay decodes and every answer a device decodes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::relay_bodies(data)
);
