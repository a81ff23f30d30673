//! End-to-end tests, in one binary: devices syncing through a real relay process (`sync`) and
//! the deterministic simulation of many devices (`simulation`).

mod simulation;
mod sync;
