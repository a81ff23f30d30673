//! The command line's tests, in one binary: the real `allervers` binary driven as a person
//! would (`commands`), and the sync commands against a real relay process (`sync`).

mod commands;
mod consent;
mod dashboard;
mod dashboard_roles;
mod dossier;
mod fields;
mod health;
mod health_attacks;
mod housing;
mod hygiene;
mod partnership;
mod secrecy;
mod statistics;
mod sync;
