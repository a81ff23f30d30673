#![no_main]
//! A bundle file: its header checked, then its body opened with a fixed key (argon2id is left
//! out: far too slow per input).

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: allervers_core::fuzzing::report_panics_without_aborting(),
    |data: &[u8]| allervers_core::fuzzing::bundle(data)
);
