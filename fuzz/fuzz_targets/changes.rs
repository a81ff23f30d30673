#![no_main]
//! Automerge changes from elsewhere: a record id (16 bytes) then a change, imported into a
//! store made once per process.

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::changes(data)
);
