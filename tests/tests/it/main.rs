//! End-to-end tests, in one binary: devices syncing through a real relay process (`sync`), or
//! through several on one PostgreSQL database behind nginx (`multi_instance`), over TLS to
//! PostgreSQL (`postgres_tls`), what a
//! misbehaving member or relay can send them (`adversarial`, with the counting allocator of
//! `alloc_peak`), a coordinator's key for an epoch the relay never started (`epoch_forgery`), a
//! relay moved to a new address that the devices follow (`moved_relay`), a space recovered with
//! its code (`recovery`) and the deterministic simulation of many devices (`simulation`).

mod adversarial;
mod alloc_peak;
mod epoch_forgery;
mod moved_relay;
mod multi_instance;
mod postgres_tls;
mod recovery;
mod simulation;
mod sync;
