//! End-to-end tests, in one binary: devices syncing through a real relay process (`sync`), or
//! through several on one PostgreSQL database behind nginx (`multi_instance`), over TLS to
//! PostgreSQL (`postgres_tls`), what a
//! misbehaving member or relay can send them (`adversarial`, with the counting allocator of
//! `alloc_peak`), a coordinator's key for an epoch the relay never started (`epoch_forgery`), a
//! relay moved to a new address that the devices follow (`moved_relay`), a space recovered with
//! its code (`recovery`), a person's erasure reaching every store and the relay with no trace
//! left in their files (`erasure`), every sync's outcome recorded for the field app
//! (`field_sync`) and the deterministic simulation of many devices (`simulation`).

mod adversarial;
mod alloc_peak;
mod custom_fields;
mod epoch_forgery;
mod erasure;
mod field_sync;
mod moved_relay;
mod multi_instance;
/// Every page of a store file, decrypted with its key (shared with the core's tests).
#[path = "../../../core/tests/it/pages.rs"]
mod pages;
mod postgres_tls;
mod recovery;
mod simulation;
mod sync;

/// The 1,000 simulated schedules. Its name comes first in the order the tests start: its two
/// threads then run while the scenarios above wait on relay processes, PostgreSQL and nginx,
/// rather than alone after them.
#[test]
fn a_thousand_simulated_schedules_converge_and_lose_nothing() {
    simulation::a_thousand_schedules();
}
