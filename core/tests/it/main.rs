//! The core's integration tests, in one binary (one link of SQLCipher and Automerge instead of
//! one per file). They need no external resource: stores live in temporary folders, the relay
//! of the sync tests is in memory.

mod access_log;
mod architecture;
mod common;
mod consent;
mod control;
mod custom_fields;
mod dossier;
mod duplicates;
mod erasure;
mod exports;
mod field;
mod field_flows;
mod field_sync;
mod fuzz_corpus;
mod health;
mod health_attacks;
mod health_findings;
mod homes;
mod housing;
mod housing_exports;
mod housing_review;
mod merge;
mod merge_review;
mod pages;
mod partnership;
mod person_merge;
mod private_files;
mod received;
mod records;
mod report;
mod retention;
mod review_exports;
mod second_creation;
mod secrecy_attacks;
mod startup;
mod statistics;
mod store;
mod sync;
mod trust_attacks;
