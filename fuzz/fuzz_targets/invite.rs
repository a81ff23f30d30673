#![no_main]
//! An invite code, typed or scanned (lossy UTF-8).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| allervers_core::fuzzing::invite(data));
