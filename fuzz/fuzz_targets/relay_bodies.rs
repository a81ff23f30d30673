#![no_main]
//! Every request body the relay decodes and every answer a device decodes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| allervers_core::fuzzing::relay_bodies(data));
