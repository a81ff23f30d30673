//! The local store: the entry point of the core. One SQLCipher database per device holds every
//! Automerge change (the source of truth), compacted snapshots, the index tables that lists and
//! reports read, and the sync state. Every write is one SQLite transaction.
//!
//! `Store` is a thin front: opening and migrations (`open.rs`, `migrations.rs`), the change log
//! (`changes.rs`), writes (`write.rs`), reads and lists (`query.rs`), the roster (`roster.rs`),
//! sync's state (`sync_state.rs`), the report's counts (`activity.rs`), exports (`export.rs`),
//! the access log (`access_log.rs`), what a store is for (`purpose.rs`), health notes and what
//! the team sees of them (`health.rs`), what the office publishes to partners (`partnership.rs`),
//! reports published to a statistics space (`statistics.rs`), the organisation's settings
//! (`settings.rs`), the retention review (`retention.rs`), the app's drafts (`drafts.rs`),
//! what the last syncs came to (`sync_outcome.rs`),
//! received changes (`import.rs`), erasure (`erasure.rs`), the index tables (`index.rs`) and the modes of the store's
//! files (`files.rs`) each have a module. No SQL lives outside them
//! (`core/tests/it/architecture.rs` checks it).

pub(crate) mod access_log;
pub(crate) mod activity;
mod changes;
pub(crate) mod control;
pub(crate) mod custom_fields;
pub mod drafts;
pub mod duplicates;
pub(crate) mod erasure;
pub mod export;
pub mod files;
pub mod health;
pub mod homes;
pub mod housing;
pub(crate) mod housing_report;
mod import;
mod index;
pub(crate) mod merge;
pub mod migrations;
pub mod offers;
mod open;
pub mod own_view;
pub(crate) mod partnership;
pub mod purpose;
mod query;
pub mod retention;
pub(crate) mod roster;
pub mod settings;
pub mod statistics;
pub mod sync_outcome;
pub(crate) mod sync_state;
pub(crate) mod trust;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::entropy::{self, Entropy, OsEntropy};
use crate::vocab::ExtraTerm;
use crate::{DeviceId, Result};

pub(crate) use changes::{
    all_records, creating_change, insert_change, insert_raw_change, load_doc, maybe_snapshot,
    record_kind, relay_times, RelayTimes,
};
pub use control::{Enrolment, EnrolmentStatus};
pub use erasure::OrderStatus;
pub use import::{ImportSummary, SignedChange};
pub use open::CIPHER_SETTINGS;
pub(crate) use query::{conflict_rows, person_encounters, person_follow_ups};
pub use query::{DeviceInfo, DueAction, PersonQuery, PersonSort};
pub use roster::ROSTER_ID;
pub(crate) use roster::{authors, extra_terms, role_in};
pub use trust::SetAside;

/// Who this device is.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    pub device: DeviceId,
    pub device_name: String,
    pub worker: String,
}

/// What a store is given besides its path and key: where it reads the time and draws random
/// bytes. The defaults are the device's clock and the OS's generator; tests and the simulation
/// pass a stepped clock and a seeded generator.
#[derive(Clone)]
pub struct StoreOptions {
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
        }
    }
}

impl StoreOptions {
    /// The default options with another clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        StoreOptions {
            clock,
            ..Default::default()
        }
    }
}

/// The encrypted local store of one device.
pub struct Store {
    conn: Mutex<Connection>,
    /// This device's secret keys (its id is the hash of their public halves).
    keys: crate::identity::DeviceKeys,
    /// Whether received changes' signatures are checked: always, except where the `fuzzing`
    /// feature's tools switch it off (fuzzing what lies past the check, a benchmark's baseline).
    verify_signatures: std::sync::atomic::AtomicBool,
    /// What this store is for (`purpose.rs`): a team's, a health space's or a partnership's;
    /// it decides which kinds of record the store may hold.
    purpose: std::sync::RwLock<purpose::Purpose>,
    /// The organisation's extra codes, read at open and after each change (every write checks
    /// its codes against them).
    extra: std::sync::RwLock<Vec<ExtraTerm>>,
    me: Identity,
    /// The worker using the device now (recorded with each change it writes): the one named
    /// when the store was made, until `set_worker` names another (a shared team phone).
    worker: std::sync::RwLock<String>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("me", &self.me)
            .finish()
    }
}

impl Store {
    /// The store's source of randomness.
    pub(crate) fn entropy(&self) -> Arc<dyn Entropy> {
        self.entropy.clone()
    }

    /// `N` bytes from the store's source of randomness.
    pub(crate) fn random<const N: usize>(&self) -> [u8; N] {
        entropy::bytes(&*self.entropy)
    }

    pub fn identity(&self) -> &Identity {
        &self.me
    }

    /// The worker using this device now.
    pub fn worker(&self) -> String {
        self.worker
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Names the worker using this device from now on (a shared team phone: each change records
    /// who wrote it); kept in the store.
    pub fn set_worker(&self, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(crate::CoreError::invalid(
                "worker",
                "is empty or longer than 100 characters",
            ));
        }
        self.lock().execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('worker', ?1)",
            [name.as_bytes()],
        )?;
        *self.worker.write().unwrap_or_else(|p| p.into_inner()) = name.to_string();
        Ok(())
    }

    /// This device's keys.
    pub(crate) fn device_keys(&self) -> &crate::identity::DeviceKeys {
        &self.keys
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Switches the checking of received changes' signatures off: for the fuzz targets that
    /// reach past it and the benchmark that measures what it costs. Never in a product.
    #[cfg(feature = "fuzzing")]
    pub fn skip_signature_checks(&self) {
        self.verify_signatures
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn verifies_signatures(&self) -> bool {
        self.verify_signatures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite rolled its
        // transaction back, so the connection is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
