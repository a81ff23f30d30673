//! What the last syncs of this device came to, kept in the store's `meta` table so that the
//! field app shows it whoever ran the sync (the worker's button, the phone's background sync,
//! the command line): the last successful one, the last failed one and why, and the latest
//! outcome not shown to the worker yet (`unseen`), which the first screen mentions once.
//!
//! Local state of this device only: never synced, and no person's data (times, counts and the
//! kind of failure).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::{CoreError, Result, Store, SyncSummary};

const LAST_SUCCESS: &str = "sync_last_success";
const LAST_FAILURE: &str = "sync_last_failure";
const UNSEEN: &str = "sync_unseen";

/// Why a sync failed, as far as a worker can act on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SyncFailure {
    /// No answer from the relay: no network, the relay down, a timeout.
    NoNetwork,
    /// The relay answered with a refusal (its HTTP status).
    Refused { status: u16 },
    /// The phone has joined no team yet.
    NotEnrolled,
    /// The phone's storage is full.
    StorageFull,
    /// Anything else (the store could not be read or written, a page refused...).
    Other,
}

impl SyncFailure {
    /// The failure a sync's error comes to.
    pub fn of(e: &CoreError) -> SyncFailure {
        match e {
            CoreError::RelayUnreachable(_) => SyncFailure::NoNetwork,
            CoreError::RelayRefused { status, .. } => SyncFailure::Refused { status: *status },
            CoreError::NotEnrolled => SyncFailure::NotEnrolled,
            CoreError::StorageFull => SyncFailure::StorageFull,
            _ => SyncFailure::Other,
        }
    }
}

/// How one sync ended, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOutcome {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
    /// `None` when it succeeded.
    pub failure: Option<SyncFailure>,
    /// Changes sent to the relay and changes received that were new here.
    pub sent: u64,
    pub received: u64,
}

impl SyncOutcome {
    /// The outcome of a sync that ended at `at` with `result`.
    pub fn of(result: &Result<SyncSummary>, at: DateTime<Utc>) -> SyncOutcome {
        match result {
            Ok(s) => SyncOutcome {
                at,
                failure: None,
                sent: s.pushed as u64,
                received: s.new_changes as u64,
            },
            Err(e) => SyncOutcome {
                at,
                failure: Some(SyncFailure::of(e)),
                sent: 0,
                received: 0,
            },
        }
    }

    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}

/// What the store remembers of its syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    pub last_success: Option<SyncOutcome>,
    pub last_failure: Option<SyncOutcome>,
    /// The latest outcome, until the app says it showed it (`mark_sync_seen`).
    pub unseen: Option<SyncOutcome>,
}

fn read(conn: &Connection, key: &str) -> Result<Option<SyncOutcome>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    // A value this build cannot read (a newer one's) is as good as none: it only informs.
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

impl Store {
    /// Records how a sync ended: the last success or failure, and the latest outcome as not
    /// shown yet. One transaction.
    pub fn record_sync(&self, outcome: &SyncOutcome) -> Result<()> {
        let bytes = serde_json::to_vec(outcome)
            .map_err(|e| CoreError::Storage(format!("sync outcome: {e}")))?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let key = if outcome.succeeded() {
            LAST_SUCCESS
        } else {
            LAST_FAILURE
        };
        for key in [key, UNSEEN] {
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
                .execute(rusqlite::params![key, bytes])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The last successful and failed syncs, and the latest outcome not shown yet.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let conn = self.lock();
        Ok(SyncStatus {
            last_success: read(&conn, LAST_SUCCESS)?,
            last_failure: read(&conn, LAST_FAILURE)?,
            unseen: read(&conn, UNSEEN)?,
        })
    }

    /// The latest outcome was shown to the worker: the first screen stops mentioning it.
    pub fn mark_sync_seen(&self) -> Result<()> {
        self.lock()
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([UNSEEN])?;
        Ok(())
    }
}
