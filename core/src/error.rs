//! The one error type of the core. Every variant is something a person can act on, and none
//! carries a field value: errors end up in logs and on screens, records hold secrets.

use crate::RecordId;

/// What went wrong, in terms a worker, a supervisor or a shell developer can act on.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The key does not open this store (or the file is not a store at all).
    #[error("wrong key: this store cannot be opened with the key given")]
    WrongKey,
    /// No store exists at the path given.
    #[error("no store at {path}: create one first (allervers init)")]
    StoreNotFound { path: String },
    /// A store already exists where a new one was asked for.
    #[error("a store already exists at {path}")]
    StoreExists { path: String },
    /// The store file was written by a newer version of allervers.
    #[error("this store was written by a newer version of allervers (schema {found}, this build knows {known})")]
    NewerSchema { found: i64, known: i64 },
    /// A value given by a person or a program is not acceptable.
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// No record with this id is known to this store.
    #[error("unknown record {0}")]
    RecordNotFound(RecordId),
    /// The record exists but is of another kind than the operation needs.
    #[error("record {id} is a {actual}, not a {expected}")]
    WrongKind {
        id: RecordId,
        expected: &'static str,
        actual: String,
    },
    /// A bundle or change file could not be read, decrypted or verified; nothing was applied.
    #[error("bundle refused, nothing was imported: {0}")]
    BundleRefused(String),
    /// Changes received from elsewhere are malformed or inconsistent; nothing was applied.
    #[error("changes refused, nothing was applied: {0}")]
    ChangesRefused(String),
    /// This store has not joined a space (no relay to sync with).
    #[error("not enrolled: this device has not joined a space (allervers space create, or allervers join CODE)")]
    NotEnrolled,
    /// The relay could not be reached (no network, relay down, timeout).
    #[error("relay unreachable: {0}")]
    RelayUnreachable(String),
    /// The relay answered with a refusal.
    #[error("relay refused ({status}): {reason}")]
    RelayRefused { status: u16, reason: String },
    /// The disk is full.
    #[error("storage full: free some space on this device and try again")]
    StorageFull,
    /// The store's storage cannot be written (a read-only disk or mount): reading still works.
    #[error("storage read-only: this store can be read but not changed (is the disk mounted read-only?)")]
    StorageReadOnly,
    /// The store file is damaged.
    #[error("store damaged: {0}")]
    StorageCorrupt(String),
    /// Any other storage failure (I/O, locking).
    #[error("storage error: {0}")]
    Storage(String),
}

/// Result alias used throughout the core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        CoreError::StorageCorrupt(what.to_string())
    }
}

impl From<rusqlite::Error> for CoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match &err {
            rusqlite::Error::SqliteFailure(e, _) => match e.code {
                ErrorCode::NotADatabase => CoreError::WrongKey,
                ErrorCode::DiskFull => CoreError::StorageFull,
                ErrorCode::ReadOnly => CoreError::StorageReadOnly,
                ErrorCode::DatabaseCorrupt => CoreError::StorageCorrupt(err.to_string()),
                _ => CoreError::Storage(err.to_string()),
            },
            _ => CoreError::Storage(err.to_string()),
        }
    }
}

impl From<automerge::AutomergeError> for CoreError {
    fn from(err: automerge::AutomergeError) -> Self {
        CoreError::StorageCorrupt(format!("record document: {err}"))
    }
}
