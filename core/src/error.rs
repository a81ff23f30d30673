//! Two error types. `CoreError` is what the core's functions return: it keeps the cause it came
//! from (SQLite's, Automerge's) for logs and tests. `ApiError` is what a person or a shell is
//! shown: a small set of variants one can act on, carrying ids, field names and counts only,
//! never a field value or a person's name. `ApiError::from(CoreError)` is the one mapping.
//! Neither carries a field value: errors end up in logs and on screens, records hold secrets.

use crate::RecordId;

/// What went wrong inside the core, with its cause.
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
    /// Words that were to name one person match none.
    #[error("no person matches these words")]
    NoPersonMatches,
    /// Words that were to name one person match several: their ids (at most five).
    #[error("{} persons match these words: give the id", .0.len())]
    AmbiguousPerson(Vec<RecordId>),
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
    /// A coordinator revoked this device and ordered its store erased: it was.
    #[error("this device was revoked by a coordinator: its store has been erased")]
    Wiped,
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
    /// The store holds something it cannot have written: `what`, and the cause if any.
    #[error("store damaged: {what}")]
    StorageCorrupt {
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A record document the store holds does not load or apply.
    #[error("store damaged: a record document: {0}")]
    Document(#[source] automerge::AutomergeError),
    /// Any other failure of SQLite (I/O, locking...).
    #[error("storage error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// A failure outside SQLite (a file, an encoding).
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
        CoreError::StorageCorrupt {
            what: what.to_string(),
            source: None,
        }
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
                ErrorCode::DatabaseCorrupt => CoreError::StorageCorrupt {
                    what: "the database file".into(),
                    source: Some(Box::new(err)),
                },
                _ => CoreError::Sqlite(err),
            },
            _ => CoreError::Sqlite(err),
        }
    }
}

impl From<automerge::AutomergeError> for CoreError {
    fn from(err: automerge::AutomergeError) -> Self {
        CoreError::Document(err)
    }
}

/// What a person or a shell is told: variants one can act on, with ids, field names and
/// counts, never a field value or a person's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("wrong key: this store cannot be opened with the key given")]
    WrongKey,
    #[error("no store at {path}: create one first (allervers init)")]
    StoreNotFound { path: String },
    #[error("a store already exists at {path}")]
    StoreExists { path: String },
    #[error("this store was written by a newer version of allervers: update the app")]
    NewerVersion,
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("no person matches these words")]
    NoPersonMatches,
    #[error("{} persons match these words: give the id", .candidates.len())]
    AmbiguousPerson { candidates: Vec<RecordId> },
    #[error("unknown record {0}")]
    RecordNotFound(RecordId),
    #[error("record {id} is a {actual}, not a {expected}")]
    WrongKind {
        id: RecordId,
        expected: String,
        actual: String,
    },
    /// A bundle, a change or a page from elsewhere was refused whole; nothing was applied.
    #[error("refused, nothing was applied: {reason}")]
    Refused { reason: String },
    #[error("not enrolled: this device has not joined a space")]
    NotEnrolled,
    #[error("this device was revoked by a coordinator: its store has been erased")]
    Wiped,
    #[error("relay unreachable: {reason}")]
    RelayUnreachable { reason: String },
    #[error("relay refused ({status}): {reason}")]
    RelayRefused { status: u16, reason: String },
    #[error("storage full: free some space on this device and try again")]
    StorageFull,
    #[error("storage read-only: this store can be read but not changed")]
    StorageReadOnly,
    #[error("store damaged: restore it from another device or a backup")]
    StorageCorrupt,
    #[error("storage error: {reason}")]
    Storage { reason: String },
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::WrongKey => ApiError::WrongKey,
            CoreError::StoreNotFound { path } => ApiError::StoreNotFound { path },
            CoreError::StoreExists { path } => ApiError::StoreExists { path },
            CoreError::NewerSchema { .. } => ApiError::NewerVersion,
            CoreError::InvalidInput { field, reason } => ApiError::InvalidInput { field, reason },
            CoreError::NoPersonMatches => ApiError::NoPersonMatches,
            CoreError::AmbiguousPerson(candidates) => ApiError::AmbiguousPerson { candidates },
            CoreError::RecordNotFound(id) => ApiError::RecordNotFound(id),
            CoreError::WrongKind {
                id,
                expected,
                actual,
            } => ApiError::WrongKind {
                id,
                expected: expected.to_string(),
                actual,
            },
            CoreError::BundleRefused(reason) | CoreError::ChangesRefused(reason) => {
                ApiError::Refused { reason }
            }
            CoreError::NotEnrolled => ApiError::NotEnrolled,
            CoreError::Wiped => ApiError::Wiped,
            CoreError::RelayUnreachable(reason) => ApiError::RelayUnreachable { reason },
            CoreError::RelayRefused { status, reason } => ApiError::RelayRefused { status, reason },
            CoreError::StorageFull => ApiError::StorageFull,
            CoreError::StorageReadOnly => ApiError::StorageReadOnly,
            CoreError::StorageCorrupt { .. } | CoreError::Document(_) => ApiError::StorageCorrupt,
            // SQLite's own words name tables and constraints, never a value.
            CoreError::Sqlite(e) => ApiError::Storage {
                reason: e.to_string(),
            },
            CoreError::Storage(reason) => ApiError::Storage { reason },
        }
    }
}
