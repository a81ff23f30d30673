//! The local store: the entry point of the core. One SQLCipher database per device holds every
//! Automerge change (the source of truth), compacted snapshots, the index tables that lists and
//! reports read, and the outbox. Every write is one SQLite transaction.

mod import;
mod index;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::{AutoCommit, Change, ObjType, ScalarValue, ROOT};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::ffi::ErrorCode;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::crypto::RawKey;
use crate::doc::{self, Edit, Reader};
use crate::entropy::{self, Entropy, OsEntropy};
use crate::model::schema::{Checker, FieldSpec, FieldType, Kind, Value};
use crate::model::{
    display_name, Action, Encounter, NewAction, NewEncounter, NewObservation, NewPerson,
    NewReferral, Observation, Person, PersonSummary, Record, Referral,
};
use crate::text::fold;
use crate::vocab::{ExtraTerm, Vocab};
use crate::{CoreError, DeviceId, RecordId, Result};

pub use import::ImportSummary;

/// The roster record: one per space; its id is fixed so that every device's entry merges into
/// one document.
pub const ROSTER_ID: RecordId = RecordId::from_bytes([
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
]);

/// A snapshot is refreshed when a record has this many changes past its last snapshot.
const SNAPSHOT_EVERY: i64 = 16;

/// Who this device is.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    pub device: DeviceId,
    pub device_name: String,
    pub worker: String,
}

/// A device known from the roster.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    pub device: DeviceId,
    pub name: String,
    pub worker: String,
}

/// How to sort the person list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PersonSort {
    /// Most recently met first (never met last).
    #[default]
    RecentlySeen,
    /// By name (or nickname), alphabetically, ignoring accents and case.
    Name,
}

/// What person list to read.
#[derive(Clone, Debug)]
pub struct PersonQuery {
    /// Words to find in names, nicknames and other names (accent- and case-insensitive).
    pub search: Option<String>,
    pub sort: PersonSort,
    pub limit: usize,
    /// Include persons out of the active list.
    pub include_inactive: bool,
}

impl Default for PersonQuery {
    fn default() -> Self {
        PersonQuery {
            search: None,
            sort: PersonSort::RecentlySeen,
            limit: 50,
            include_inactive: false,
        }
    }
}

/// An action as listed in the due list.
#[derive(Clone, Debug, Serialize)]
pub struct DueAction {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub person_name: Option<String>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub due_at: Option<NaiveDate>,
    pub assigned_to: Option<String>,
    pub overdue: bool,
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
    /// The organisation's extra codes, read at open and after each change (every write checks
    /// its codes against them).
    extra: std::sync::RwLock<Vec<ExtraTerm>>,
    me: Identity,
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

/// SQLCipher settings, applied at every open (they are not stored in the file). HMAC-SHA256
/// instead of the default SHA-512: phones and this machine's CPUs compute SHA-256 in hardware,
/// and every page a transaction writes is authenticated, so it is the largest share of a write.
pub const CIPHER_SETTINGS: &str =
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA256; PRAGMA cipher_page_size = 1024;";

/// Finishes SQLite's process-wide start-up on one thread before any store is opened.
///
/// SQLite marks itself initialised before it runs SQLCipher's own start-up, so a thread that
/// opened its first connection while another thread was still in that start-up found SQLCipher
/// not ready and `PRAGMA key` failed (about one run in three hundred of a test binary whose tests
/// each open a store). The first connection of the process is now opened here, under a lock that
/// every other opener takes, and SQLite's start-up, SQLCipher's included, is complete when the
/// lock is released.
fn sqlite_started() -> Result<()> {
    static STARTED: Mutex<bool> = Mutex::new(false);
    let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
    if !*started {
        // A failure is not remembered: the next open tries again.
        drop(Connection::open_in_memory()?);
        *started = true;
    }
    Ok(())
}

fn open_connection(path: &Path, key: &RawKey, create: bool) -> Result<Connection> {
    sqlite_started()?;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let opened = match keyed_connection(path, flags, key, false) {
        // A full disk: SQLite could not size the write-ahead log's shared index file beside
        // the store. In exclusive locking mode it keeps that index in memory, so the store
        // still reads, and a write says the disk is full.
        Err(e) if !create && sqlite_code(&e) == Some(ErrorCode::SystemIoFailure) => {
            keyed_connection(path, flags, key, true)
        }
        other => other,
    };
    match opened {
        // A read-only disk: SQLite cannot create the write-ahead log's files beside the store,
        // so open it for reading only; a write says the storage is read-only.
        Err(e) if !create && is_read_only(&e) => open_read_only(path, key),
        Err(e) if sqlite_code(&e) == Some(ErrorCode::CannotOpen) => Err(CoreError::Storage(
            "the store file cannot be opened (permissions, or a missing folder?)".into(),
        )),
        other => Ok(other?),
    }
}

fn sqlite_code(e: &rusqlite::Error) -> Option<ErrorCode> {
    match e {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
        _ => None,
    }
}

fn is_read_only(e: &rusqlite::Error) -> bool {
    matches!(
        sqlite_code(e),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen)
    )
}

/// A store on storage that cannot be written. With the write-ahead log's files present (the
/// store was not closed cleanly) SQLite reads through them; without them, everything is in the
/// database file and it is opened as immutable.
fn open_read_only(path: &Path, key: &RawKey) -> Result<Connection> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if Path::new(&wal).exists() {
        keyed_connection(path, flags, key, false)
    } else {
        let uri = format!("file:{}?immutable=1", uri_path(path));
        keyed_connection(
            Path::new(&uri),
            flags | OpenFlags::SQLITE_OPEN_URI,
            key,
            false,
        )
    };
    conn.map_err(|e| {
        if is_read_only(&e) {
            CoreError::StorageReadOnly
        } else {
            e.into()
        }
    })
}

/// A path as the path of a `file:` URI: every byte but letters, digits, `/` and `-._~`
/// percent-encoded.
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Opens and keys a connection, checks the key with a first read and sets the connection up;
/// `exclusive` holds the store for this connection alone, with no shared-memory file.
fn keyed_connection(
    path: &Path,
    flags: OpenFlags,
    key: &RawKey,
    exclusive: bool,
) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs a wrong key to stderr by itself; the error we return says it once.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&format!(
        "PRAGMA key = \"{}\";",
        key.sqlcipher_literal().as_str()
    ))?;
    conn.execute_batch(CIPHER_SETTINGS)?;
    if exclusive {
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE;")?;
    }
    // The first read decrypts page 1: a wrong key fails here (SQLITE_NOTADB), before anything
    // is written. Any other failure is said as what it is (a full or read-only disk...).
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    if !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY) {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    }
    // The page cache keeps SQLite's default size: a larger one made every write slower (the
    // cache is walked at the end of each write transaction) for no gain on the lists.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;",
    )?;
    // Every write transaction takes the write lock when it begins: a transaction that read
    // first and asked for the lock later could not wait for it (SQLite answers "database is
    // locked" at once, without the busy timeout), and another process writing the same store
    // made it fail.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(conn)
}

impl Store {
    /// Creates a new store at `path` for this device. Fails if a store is already there.
    pub fn create(path: &Path, key: &RawKey, device_name: &str, worker: &str) -> Result<Store> {
        Self::create_with(path, key, device_name, worker, StoreOptions::default())
    }

    pub fn create_with(
        path: &Path,
        key: &RawKey,
        device_name: &str,
        worker: &str,
        options: StoreOptions,
    ) -> Result<Store> {
        let device_name = device_name.trim();
        let worker = worker.trim();
        if device_name.is_empty() {
            return Err(CoreError::invalid("device name", "is empty"));
        }
        if worker.is_empty() {
            return Err(CoreError::invalid("worker", "is empty"));
        }
        if path.exists() {
            return Err(CoreError::StoreExists {
                path: path.display().to_string(),
            });
        }
        let built = Self::build_new(path, key, device_name, worker, options);
        if built.is_err() {
            // Nothing half-made stays behind: a retry starts from scratch.
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
        built
    }

    fn build_new(
        path: &Path,
        key: &RawKey,
        device_name: &str,
        worker: &str,
        options: StoreOptions,
    ) -> Result<Store> {
        let mut conn = open_connection(path, key, true)?;
        schema::migrate(&mut conn, |_| Ok(()))?;
        let device = DeviceId::random(entropy::bytes(&*options.entropy));
        {
            let tx = conn.transaction()?;
            for (k, v) in [
                ("device", device.to_bytes()),
                ("device_name", device_name.as_bytes().to_vec()),
                ("worker", worker.as_bytes().to_vec()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            tx.commit()?;
        }
        let store = Store {
            extra: std::sync::RwLock::new(extra_terms(&conn)?),
            conn: Mutex::new(conn),
            me: Identity {
                device,
                device_name: device_name.to_string(),
                worker: worker.to_string(),
            },
            clock: options.clock,
            entropy: options.entropy,
            path: path.to_path_buf(),
        };
        store.register_device()?;
        Ok(store)
    }

    /// Opens an existing store. A wrong key is `CoreError::WrongKey`; nothing is created.
    pub fn open(path: &Path, key: &RawKey) -> Result<Store> {
        Self::open_with(path, key, StoreOptions::default())
    }

    pub fn open_with(path: &Path, key: &RawKey, options: StoreOptions) -> Result<Store> {
        let StoreOptions { clock, entropy } = options;
        if !path.is_file() {
            return Err(CoreError::StoreNotFound {
                path: path.display().to_string(),
            });
        }
        let mut conn = open_connection(path, key, false)?;
        schema::migrate(&mut conn, |tx| rebuild_index(tx, clock.now_ms()))?;
        let meta = |k: &str| -> Result<Vec<u8>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::corrupt(format!("store has no {k}")))
        };
        let text = |v: Vec<u8>| String::from_utf8(v).map_err(CoreError::corrupt);
        let me = Identity {
            device: DeviceId::from_bytes(&meta("device")?),
            device_name: text(meta("device_name")?)?,
            worker: text(meta("worker")?)?,
        };
        Ok(Store {
            extra: std::sync::RwLock::new(extra_terms(&conn)?),
            conn: Mutex::new(conn),
            me,
            clock,
            entropy,
            path: path.to_path_buf(),
        })
    }

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

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite rolled its
        // transaction back, so the connection is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register_device(&self) -> Result<()> {
        let me = &self.me;
        self.write_roster(|doc, now_ms| {
            use automerge::transaction::Transactable;
            let entry = doc.put_object(ROOT, device_key(&me.device), ObjType::Map)?;
            doc.put(&entry, "name", me.device_name.as_str())?;
            doc.put(&entry, "worker", me.worker.as_str())?;
            doc.put(&entry, "joined_at", ScalarValue::Timestamp(now_ms))?;
            Ok(())
        })
    }

    /// Writes one change to the roster, the space's shared document (devices and the
    /// organisation's extra codes), in one transaction with its index rows.
    fn write_roster(&self, edit: impl FnOnce(&mut AutoCommit, i64) -> Result<()>) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut doc = match load_doc(&tx, ROSTER_ID)? {
            Some(doc) => doc,
            None => doc::new_record(Kind::Roster, &self.me.device, now_ms, &[])?.0,
        };
        doc.set_actor(self.me.device.actor().clone());
        edit(&mut doc, now_ms)?;
        doc::commit(&mut doc, now_ms);
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("roster change missing"))?;
        insert_change(&tx, ROSTER_ID, Some(Kind::Roster), &change, true, now_ms)?;
        index::refresh(
            &tx,
            Kind::Roster,
            ROSTER_ID,
            &mut doc,
            now_ms,
            &index::Before::default(),
        )?;
        tx.commit()?;
        self.reload_extra_terms(&conn)
    }

    /// Re-reads the organisation's extra codes after the roster changed.
    pub(crate) fn reload_extra_terms(&self, conn: &Connection) -> Result<()> {
        *self.extra.write().unwrap_or_else(|p| p.into_inner()) = extra_terms(conn)?;
        Ok(())
    }

    /// The organisation's extra codes.
    pub fn extra_terms(&self) -> Result<Vec<ExtraTerm>> {
        Ok(self.extra.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Adds an extra code to a code list (an organisation's own service, target...).
    pub fn add_term(&self, vocab: Vocab, code: &str, fr: &str, en: &str) -> Result<()> {
        crate::vocab::check_term(vocab, code, fr, en)?;
        // In the roster, so that it reaches every device of the space with the next sync.
        self.write_roster(|doc, _| {
            use automerge::transaction::Transactable;
            let entry = doc.put_object(ROOT, index::term_key(vocab, code), ObjType::Map)?;
            doc.put(&entry, "fr", fr.trim())?;
            doc.put(&entry, "en", en.trim())?;
            Ok(())
        })
    }

    // ----- writes -----

    /// Records a person met in the street.
    pub fn add_person(&self, person: &NewPerson) -> Result<RecordId> {
        let now = self.clock.now();
        self.create_record(
            Kind::Person,
            person.edits(now.date_naive(), &self.me.worker),
        )
    }

    /// Logs an encounter.
    pub fn log_encounter(&self, encounter: &NewEncounter) -> Result<RecordId> {
        self.create_record(Kind::Encounter, encounter.edits(self.clock.now()))
    }

    /// Adds a follow-up action about a person.
    pub fn add_action(&self, action: &NewAction) -> Result<RecordId> {
        self.create_record(Kind::Action, action.edits())
    }

    /// Marks an action done, with an optional closing comment.
    pub fn complete_action(&self, id: RecordId, comment: Option<&str>) -> Result<()> {
        let mut edits = vec![
            Edit::Set("status".into(), Value::Code("done".into())),
            Edit::Set("done_at".into(), Value::Time(self.clock.now())),
        ];
        if let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) {
            edits.push(Edit::Comment("comments".into(), c.to_string()));
        }
        self.edit_kind(id, Some(Kind::Action), &edits)
    }

    /// Adds a referral.
    pub fn add_referral(&self, referral: &NewReferral) -> Result<RecordId> {
        self.create_record(
            Kind::Referral,
            referral.edits(self.clock.now().date_naive()),
        )
    }

    /// Records what became of a referral.
    pub fn update_referral(
        &self,
        id: RecordId,
        status: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<()> {
        let mut edits = Vec::new();
        if let Some(s) = status {
            edits.push(Edit::Set("status".into(), Value::Code(s.trim().into())));
        }
        if let Some(o) = outcome.map(str::trim).filter(|o| !o.is_empty()) {
            edits.push(Edit::Set("outcome".into(), Value::Text(o.into())));
        }
        if edits.is_empty() {
            return Err(CoreError::invalid(
                "referral",
                "nothing to update: give a status or an outcome",
            ));
        }
        self.edit_kind(id, Some(Kind::Referral), &edits)
    }

    /// Records a territory observation.
    pub fn add_observation(&self, observation: &NewObservation) -> Result<RecordId> {
        if let Some((k, _)) = observation.counts.iter().find(|(_, v)| **v < 0) {
            return Err(CoreError::invalid("counts", format!("{k} is negative")));
        }
        self.create_record(
            Kind::Observation,
            observation.edits(self.clock.now().date_naive()),
        )
    }

    /// Applies edits to a record of any kind, by field name.
    pub fn edit(&self, id: RecordId, edits: &[Edit]) -> Result<()> {
        self.edit_kind(id, None, edits)
    }

    /// Settles a conflict: writes `value` over every concurrent value of `path` (a field name, or
    /// `field.key` for sets and free maps) and records who resolved it and what was replaced.
    pub fn resolve(&self, id: RecordId, path: &str, value: &str) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let kind = record_kind(&tx, id)?;
        let mut doc = load_doc(&tx, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let before = index::Before::read(Some(kind), &mut doc);
        let conflicts = Reader::new(&doc).conflicts(kind);
        let Some((_, values)) = conflicts.iter().find(|(p, _)| p == path) else {
            let fields: Vec<_> = conflicts.iter().map(|(p, _)| p.as_str()).collect();
            return Err(CoreError::invalid(
                "field",
                if fields.is_empty() {
                    format!("record {id} has no conflict")
                } else {
                    format!(
                        "{path:?} is not in conflict on record {id} (conflicts: {})",
                        fields.join(", ")
                    )
                },
            ));
        };
        let (field, key) = doc::split_path(path);
        let spec = kind.field(field)?;
        let extra = extra_terms(&tx)?;
        let checker = Checker {
            now: self.clock.now(),
            extra: &extra,
        };
        let parsed = checker.parse(path, spec.ty, value)?;
        let edit = match (spec.ty, key) {
            (FieldType::CodeSet(_), Some(k)) => match parsed {
                Value::Bool(true) => Edit::Add(field.into(), Value::Code(k.into())),
                _ => Edit::Remove(field.into(), Value::Code(k.into())),
            },
            (FieldType::TextMap, Some(k)) => Edit::Put(field.into(), k.into(), parsed.to_string()),
            (_, None) => Edit::Set(field.into(), parsed.clone()),
            _ => {
                return Err(CoreError::invalid(
                    "field",
                    format!("{path:?} cannot be resolved"),
                ))
            }
        };
        self.checker_edits(&tx, kind, std::slice::from_ref(&edit))?;
        doc.set_actor(self.me.device.actor().clone());
        doc::apply(&mut doc, kind, &edit, &self.me.worker, now_ms)?;
        check_record_rules(kind, &Reader::new(&doc))?;
        let replaced: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        doc::record_resolution(
            &mut doc,
            path,
            &parsed.to_string(),
            &replaced,
            &self.me.worker,
            now_ms,
        )?;
        self.commit_edit(&tx, id, kind, &mut doc, now_ms, &before)?;
        tx.commit()?;
        Ok(())
    }

    fn checker_edits(&self, conn: &Connection, kind: Kind, edits: &[Edit]) -> Result<()> {
        let extra = self.extra.read().unwrap_or_else(|p| p.into_inner());
        let checker = Checker {
            now: self.clock.now(),
            extra: &extra,
        };
        for edit in edits {
            let spec = kind.field(edit.field())?;
            match edit {
                Edit::Set(_, v) | Edit::Add(_, v) | Edit::Remove(_, v) => {
                    let ty = match (edit, spec.ty) {
                        (Edit::Set(..), ty) if !ty.is_container() => ty,
                        (Edit::Add(..) | Edit::Remove(..), FieldType::CodeSet(v)) => {
                            FieldType::Code(v)
                        }
                        (
                            Edit::Add(..),
                            ty @ (FieldType::TextList
                            | FieldType::CodeList(_)
                            | FieldType::RefList(_)),
                        ) => ty.element(),
                        _ => {
                            return Err(CoreError::invalid(
                                spec.name,
                                "this change does not apply to this kind of field",
                            ))
                        }
                    };
                    checker.check(spec.name, ty, v)?;
                    if let (FieldType::Ref(target), Value::Ref(r)) = (ty, v) {
                        let actual = record_kind(conn, *r)?;
                        if actual != target {
                            return Err(CoreError::WrongKind {
                                id: *r,
                                expected: target.name(),
                                actual: actual.name().to_string(),
                            });
                        }
                    }
                    if let Value::Text(t) = v {
                        if t.is_empty() && matches!(edit, Edit::Add(..)) {
                            return Err(CoreError::invalid(spec.name, "is empty"));
                        }
                    }
                }
                Edit::Clear(_) => {}
                Edit::Put(_, k, v) => {
                    if k.trim().is_empty() || k.chars().count() > 64 {
                        return Err(CoreError::invalid(
                            spec.name,
                            "names are 1 to 64 characters",
                        ));
                    }
                    checker.check(spec.name, FieldType::Text, &Value::Text(v.clone()))?;
                }
                Edit::Comment(_, text) => {
                    if text.trim().is_empty() {
                        return Err(CoreError::invalid(spec.name, "comment is empty"));
                    }
                    checker.check(spec.name, FieldType::Text, &Value::Text(text.clone()))?;
                }
            }
        }
        Ok(())
    }

    fn create_record(&self, kind: Kind, edits: Vec<Edit>) -> Result<RecordId> {
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        self.checker_edits(&conn, kind, &edits)?;
        let id = RecordId::new_at(now_ms, self.random());
        let (mut doc, root) = doc::new_record(kind, &self.me.device, now_ms, &edits)?;
        check_record_rules(kind, &root)?;
        let hash = doc::commit(&mut doc, now_ms)
            .ok_or_else(|| CoreError::corrupt("new record has no change"))?;
        // The document is new: everything after its (empty) save cursor is this one change.
        let bytes = doc.save_incremental();
        let tx = conn.transaction()?;
        insert_raw_change(&tx, id, Some(kind), &hash, &bytes, true, now_ms)?;
        index::insert_new(&tx, kind, id, root, &self.me.device, now_ms)?;
        tx.commit()?;
        Ok(id)
    }

    fn edit_kind(&self, id: RecordId, expected: Option<Kind>, edits: &[Edit]) -> Result<()> {
        if edits.is_empty() {
            return Err(CoreError::invalid("edit", "nothing to change"));
        }
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let kind = record_kind(&tx, id)?;
        if let Some(expected) = expected {
            if kind != expected {
                return Err(CoreError::WrongKind {
                    id,
                    expected: expected.name(),
                    actual: kind.name().to_string(),
                });
            }
        }
        if kind == Kind::Roster {
            return Err(CoreError::invalid(
                "record",
                "the roster is not edited field by field",
            ));
        }
        self.checker_edits(&tx, kind, edits)?;
        let mut doc = load_doc(&tx, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let before = index::Before::read(Some(kind), &mut doc);
        doc.set_actor(self.me.device.actor().clone());
        for edit in edits {
            doc::apply(&mut doc, kind, edit, &self.me.worker, now_ms)?;
        }
        check_record_rules(kind, &Reader::new(&doc))?;
        self.commit_edit(&tx, id, kind, &mut doc, now_ms, &before)?;
        tx.commit()?;
        Ok(())
    }

    fn commit_edit(
        &self,
        tx: &Transaction,
        id: RecordId,
        kind: Kind,
        doc: &mut AutoCommit,
        now_ms: i64,
        before: &index::Before,
    ) -> Result<()> {
        if doc::commit(doc, now_ms).is_none() {
            return Ok(());
        }
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("edit has no change"))?;
        insert_change(tx, id, Some(kind), &change, true, now_ms)?;
        index::refresh(tx, kind, id, doc, now_ms, before)?;
        index::refresh_conflicts(tx, kind, id, doc, now_ms)?;
        maybe_snapshot(tx, id, doc)?;
        Ok(())
    }

    // ----- reads -----

    /// The kind of a record.
    pub fn kind_of(&self, id: RecordId) -> Result<Kind> {
        record_kind(&self.lock(), id)
    }

    fn read<T>(&self, id: RecordId, kind: Kind, read: impl FnOnce(&Reader) -> T) -> Result<T> {
        let conn = self.lock();
        let actual = record_kind(&conn, id)?;
        if actual != kind {
            return Err(CoreError::WrongKind {
                id,
                expected: kind.name(),
                actual: actual.name().to_string(),
            });
        }
        let doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        Ok(read(&Reader::new(&doc)))
    }

    pub fn person(&self, id: RecordId) -> Result<Person> {
        self.read(id, Kind::Person, |r| Person::read(id, r))
    }

    pub fn encounter(&self, id: RecordId) -> Result<Encounter> {
        self.read(id, Kind::Encounter, |r| Encounter::read(id, r))
    }

    pub fn action(&self, id: RecordId) -> Result<Action> {
        self.read(id, Kind::Action, |r| Action::read(id, r))
    }

    pub fn referral(&self, id: RecordId) -> Result<Referral> {
        self.read(id, Kind::Referral, |r| Referral::read(id, r))
    }

    pub fn observation(&self, id: RecordId) -> Result<Observation> {
        self.read(id, Kind::Observation, |r| Observation::read(id, r))
    }

    /// Any record, whatever its kind.
    pub fn record(&self, id: RecordId) -> Result<Record> {
        Ok(match self.kind_of(id)? {
            Kind::Person => Record::Person(self.person(id)?),
            Kind::Encounter => Record::Encounter(self.encounter(id)?),
            Kind::Action => Record::Action(self.action(id)?),
            Kind::Referral => Record::Referral(self.referral(id)?),
            Kind::Observation => Record::Observation(self.observation(id)?),
            Kind::Roster => {
                return Err(CoreError::invalid(
                    "record",
                    "the roster is read with devices()",
                ))
            }
        })
    }

    /// Lists persons from the index (no document is loaded).
    pub fn list_persons(&self, query: &PersonQuery) -> Result<Vec<PersonSummary>> {
        let conn = self.lock();
        let limit = query.limit.min(100_000);
        let search = query.search.as_deref().map(fold).filter(|s| !s.is_empty());
        if query.sort == PersonSort::RecentlySeen && search.is_none() && limit <= 1_000 {
            return recent_persons(&conn, limit, query.include_inactive);
        }
        let mut sql = format!("SELECT {PERSON_COLUMNS}, {LAST_SEEN} FROM persons p");
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        if !query.include_inactive {
            clauses.push("p.status IS NOT 'inactive'".to_string());
        }
        if let Some(search) = search {
            for word in search.split(' ') {
                let escaped = word
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                args.push(format!("%{escaped}%"));
                clauses.push(format!("p.search LIKE ?{} ESCAPE '\\'", args.len()));
            }
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(match query.sort {
            PersonSort::RecentlySeen => {
                " ORDER BY last_seen IS NULL, last_seen DESC, p.created_at DESC"
            }
            PersonSort::Name => " ORDER BY p.search",
        });
        sql.push_str(&format!(" LIMIT {limit}"));
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), person_row)?;
        rows.map(|r| r.map_err(CoreError::from).and_then(|r| r))
            .collect()
    }

    /// Open actions due on or before `by` (all open actions with a due date when `None`), oldest
    /// first, with the person's name.
    pub fn due_actions(&self, by: Option<NaiveDate>) -> Result<Vec<DueAction>> {
        let today = self.clock.now().date_naive();
        let by = by.map_or_else(
            || "9999-12-31".to_string(),
            |d| d.format("%Y-%m-%d").to_string(),
        );
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT a.record_id, a.person_id, p.name, p.nickname, a.title, a.category, a.due_at, a.assigned_to
             FROM actions a LEFT JOIN persons p ON p.record_id = a.person_id
             WHERE a.status = 'todo' AND a.due_at IS NOT NULL AND a.due_at <= ?1
             ORDER BY a.due_at",
        )?;
        let rows = stmt.query_map([by], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, person, name, nickname, title, category, due, assigned_to) = row?;
            let due_at = due.as_deref().and_then(crate::model::schema::parse_date);
            out.push(DueAction {
                id: RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?,
                person: person.as_deref().and_then(RecordId::from_slice),
                person_name: (name.is_some() || nickname.is_some())
                    .then(|| display_name(name.as_deref(), nickname.as_deref())),
                title,
                category,
                overdue: due_at.is_some_and(|d| d < today),
                due_at,
                assigned_to,
            });
        }
        Ok(out)
    }

    /// The devices of the roster.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT device, name, worker FROM devices ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceInfo {
                device: DeviceId::from_bytes(&r.get::<_, Vec<u8>>(0)?),
                name: r.get(1)?,
                worker: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves the write-ahead log into the database file and empties it.
    pub fn checkpoint(&self) -> Result<()> {
        self.lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// How many local changes wait to be sent.
    pub fn pending_changes(&self) -> Result<u64> {
        let conn = self.lock();
        let cursor = push_cursor(&conn)?;
        let count: i64 = conn.query_row(
            "SELECT count(*) FROM changes WHERE seq > ?1 AND relay_at IS NULL",
            [cursor],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }

    /// The record's Automerge document, as bytes any Automerge implementation loads.
    pub fn record_document(&self, id: RecordId) -> Result<Vec<u8>> {
        let conn = self.lock();
        record_kind(&conn, id)?;
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        Ok(doc.save())
    }

    /// The current heads of a record (hex change hashes, sorted): equal heads mean equal records.
    pub fn record_heads(&self, id: RecordId) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        heads.sort();
        Ok(heads)
    }

    /// Every record id with its kind, in id order.
    pub fn record_ids(&self) -> Result<Vec<(RecordId, Kind)>> {
        all_records(&self.lock())
    }

    /// Finds persons by an id or by words of their names: the id must exist; words must match
    /// exactly one person.
    pub fn find_person(&self, id_or_name: &str) -> Result<RecordId> {
        if let Ok(id) = id_or_name.parse::<RecordId>() {
            let kind = self.kind_of(id)?;
            if kind != Kind::Person {
                return Err(CoreError::WrongKind {
                    id,
                    expected: "person",
                    actual: kind.name().into(),
                });
            }
            return Ok(id);
        }
        let found = self.list_persons(&PersonQuery {
            search: Some(id_or_name.to_string()),
            limit: 6,
            include_inactive: true,
            ..Default::default()
        })?;
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(CoreError::NoPersonMatches),
            many => Err(CoreError::AmbiguousPerson(
                many.iter().take(5).map(|p| p.id).collect(),
            )),
        }
    }
}

const PERSON_COLUMNS: &str =
    "p.record_id, p.name, p.nickname, p.situation, p.alert_level, p.status";
const LAST_SEEN: &str =
    "(SELECT max(occurred_at) FROM encounter_persons e WHERE e.person_id = p.record_id) AS last_seen";

type PersonRow = Result<PersonSummary>;

fn person_row(r: &rusqlite::Row) -> rusqlite::Result<PersonRow> {
    let id: Vec<u8> = r.get(0)?;
    let name: Option<String> = r.get(1)?;
    let nickname: Option<String> = r.get(2)?;
    let seen: Option<i64> = r.get(6)?;
    Ok(RecordId::from_slice(&id)
        .ok_or_else(|| CoreError::corrupt("bad record id"))
        .map(|id| PersonSummary {
            id,
            display_name: display_name(name.as_deref(), nickname.as_deref()),
            name,
            nickname,
            situation: r.get(3).unwrap_or_default(),
            alert_level: r.get(4).unwrap_or_default(),
            status: r.get(5).unwrap_or_default(),
            last_seen_at: seen.and_then(DateTime::from_timestamp_millis),
        }))
}

/// The `limit` most recently met persons, walking the encounters back from the newest (a few
/// hundred rows for a screenful), then persons never met, newest first.
fn recent_persons(
    conn: &Connection,
    limit: usize,
    include_inactive: bool,
) -> Result<Vec<PersonSummary>> {
    let mut out: Vec<PersonSummary> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut walk = conn
        .prepare_cached("SELECT occurred_at, persons FROM encounters ORDER BY occurred_at DESC")?;
    let mut person = conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS}, ?2 FROM persons p WHERE p.record_id = ?1"
    ))?;
    let mut rows = walk.query([])?;
    while out.len() < limit {
        let Some(row) = rows.next()? else { break };
        let at: i64 = row.get(0)?;
        let persons: String = row.get(1)?;
        for id in persons.split(',').filter(|s| !s.is_empty()) {
            let Ok(id) = id.parse::<RecordId>() else {
                continue;
            };
            if out.len() >= limit || !seen.insert(id) {
                continue;
            }
            let found = person
                .query_row(params![id.as_bytes(), at], person_row)
                .optional()?;
            if let Some(p) = found.transpose()? {
                if include_inactive || p.status.as_deref() != Some("inactive") {
                    out.push(p);
                }
            }
        }
    }
    if out.len() < limit {
        let mut never = conn.prepare_cached(&format!(
            "SELECT {PERSON_COLUMNS}, NULL FROM persons p
             WHERE NOT EXISTS (SELECT 1 FROM encounter_persons e WHERE e.person_id = p.record_id)
               AND (?1 OR p.status IS NOT 'inactive')
             ORDER BY p.created_at DESC LIMIT ?2"
        ))?;
        let rows = never.query_map(
            params![include_inactive, (limit - out.len()) as i64],
            person_row,
        )?;
        for row in rows {
            out.push(row??);
        }
    }
    Ok(out)
}

/// The outbox is every local change whose `seq` is past this cursor (the last change the relay
/// acknowledged); it is written only by sync, so a write touches no outbox row.
pub(crate) fn push_cursor(conn: &Connection) -> Result<i64> {
    let cursor: Option<i64> = conn
        .prepare_cached("SELECT value FROM sync_state WHERE key = 'push_cursor'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(cursor.unwrap_or(0))
}

/// The key of a device's entry in the roster document.
pub(crate) fn device_key(device: &DeviceId) -> String {
    format!("device:{device}")
}

pub(crate) fn extra_terms(conn: &Connection) -> Result<Vec<ExtraTerm>> {
    let mut stmt = conn.prepare_cached("SELECT vocab, code, fr, en FROM vocab_extra")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (vocab, code, fr, en) = row?;
        if let Some(vocab) = Vocab::from_name(&vocab) {
            out.push(ExtraTerm {
                vocab,
                code,
                fr,
                en,
            });
        }
    }
    Ok(out)
}

/// What the record rules read of a record: its merged document after edits, or the root a new
/// record is built from (read without going through Automerge, which costs more than the
/// rules themselves on a write).
trait RuleFields {
    fn value(&self, spec: &FieldSpec) -> Option<Value>;
    fn list_len(&self, spec: &FieldSpec) -> usize;
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String>;
}

impl RuleFields for Reader<'_> {
    fn value(&self, spec: &FieldSpec) -> Option<Value> {
        self.get(spec)
    }
    fn list_len(&self, spec: &FieldSpec) -> usize {
        self.list(spec).len()
    }
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String> {
        Reader::text_map(self, spec)
    }
}

impl RuleFields for automerge::hydrate::Map {
    fn value(&self, spec: &FieldSpec) -> Option<Value> {
        match self.get(spec.name)? {
            automerge::hydrate::Value::Scalar(s) => Some(doc::from_scalar(spec.ty, s)),
            _ => None,
        }
    }
    fn list_len(&self, spec: &FieldSpec) -> usize {
        match self.get(spec.name) {
            Some(automerge::hydrate::Value::List(items)) => items.len(),
            _ => 0,
        }
    }
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String> {
        match self.get(spec.name) {
            Some(automerge::hydrate::Value::Map(map)) => map
                .iter()
                .filter_map(|(k, v)| match &v.value {
                    automerge::hydrate::Value::Scalar(automerge::ScalarValue::Str(s)) => {
                        Some((k.to_string(), s.to_string()))
                    }
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// Rules over a whole record, checked after edits and before commit.
fn check_record_rules(kind: Kind, r: &impl RuleFields) -> Result<()> {
    let field = |name: &str| kind.field(name).ok();
    let present = |name: &str| {
        field(name)
            .and_then(|s| r.value(s))
            .is_some_and(|v| !v.to_string().trim().is_empty())
    };
    match kind {
        Kind::Person if !present("name") && !present("nickname") => Err(CoreError::invalid(
            "name",
            "a person needs a name or a nickname",
        )),
        Kind::Encounter => {
            let persons = field("persons").map(|s| r.list_len(s)).unwrap_or(0);
            let anonymous = match field("anonymous_count").and_then(|s| r.value(s)) {
                Some(Value::Int(n)) => n,
                _ => 0,
            };
            if persons == 0 && anonymous <= 0 {
                return Err(CoreError::invalid(
                    "persons",
                    "an encounter needs at least one person met or an anonymous count",
                ));
            }
            Ok(())
        }
        Kind::Action if !present("title") => Err(CoreError::invalid("title", "is empty")),
        Kind::Action | Kind::Referral if !present("person") => {
            Err(CoreError::invalid("person", "is required"))
        }
        Kind::Referral if !present("target") => Err(CoreError::invalid("target", "is required")),
        Kind::Observation => {
            if !present("territory") {
                return Err(CoreError::invalid("territory", "is empty"));
            }
            let counts = field("counts").map(|s| r.text_map(s)).unwrap_or_default();
            match counts.iter().find(|(_, v)| v.parse::<u32>().is_err()) {
                Some((k, _)) => Err(CoreError::invalid(
                    "counts",
                    format!("{k} is not a whole number of zero or more"),
                )),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Rebuilds the index tables from the documents (after a migration that added index columns an
/// older store holds nothing in). Conflicts keep the time they were first seen.
fn rebuild_index(tx: &Connection, now_ms: i64) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM persons; DELETE FROM encounters; DELETE FROM encounter_persons;
         DELETE FROM actions; DELETE FROM referrals; DELETE FROM observations;
         DELETE FROM situation_changes;",
    )?;
    for (id, kind) in all_records(tx)? {
        let Some(mut doc) = load_doc(tx, id)? else {
            continue;
        };
        index::refresh(tx, kind, id, &mut doc, now_ms, &index::Before::default())?;
        index::refresh_conflicts(tx, kind, id, &doc, now_ms)?;
    }
    Ok(())
}

/// Every record whose kind is known, with its kind, in id order.
fn all_records(conn: &Connection) -> Result<Vec<(RecordId, Kind)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT record_id, kind FROM changes WHERE kind IS NOT NULL ORDER BY record_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind) = row?;
        let id = RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        let kind = Kind::from_name(&kind)
            .ok_or_else(|| CoreError::corrupt(format!("record {id} has unknown kind {kind}")))?;
        out.push((id, kind));
    }
    Ok(out)
}

pub(crate) fn record_kind(conn: &Connection, id: RecordId) -> Result<Kind> {
    let kind: Option<String> = conn
        .prepare_cached(
            "SELECT kind FROM changes WHERE record_id = ?1 AND kind IS NOT NULL LIMIT 1",
        )?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?;
    let kind = kind.ok_or(CoreError::RecordNotFound(id))?;
    Kind::from_name(&kind).ok_or_else(|| CoreError::corrupt(format!("unknown kind {kind:?}")))
}

/// Loads a record document from its snapshot and the changes after it; `None` if the store
/// holds no change of it.
pub(crate) fn load_doc(conn: &Connection, id: RecordId) -> Result<Option<AutoCommit>> {
    let snapshot: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT upto_seq, bytes FROM snapshots WHERE record_id = ?1")?
        .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (upto, mut doc) = match &snapshot {
        Some((upto, bytes)) => (*upto, AutoCommit::load(bytes)?),
        None => (0, AutoCommit::new()),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT bytes FROM changes WHERE record_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![id.as_bytes(), upto], |r| r.get::<_, Vec<u8>>(0))?;
    let mut changes = Vec::new();
    for bytes in rows {
        let bytes = bytes?;
        changes.push(
            Change::try_from(&bytes[..])
                .map_err(|e| CoreError::corrupt(format!("stored change: {e}")))?,
        );
    }
    if snapshot.is_none() && changes.is_empty() {
        return Ok(None);
    }
    doc.apply_changes(changes)?;
    Ok(Some(doc))
}

/// Stores one change; returns whether it was new. Local changes past the push cursor are the
/// outbox.
/// Stores a change of record `id`, with the record's kind when it is known (a change received
/// before the one that says what its record is waits with none).
pub(crate) fn insert_change(
    tx: &Connection,
    id: RecordId,
    kind: Option<Kind>,
    change: &Change,
    local: bool,
    now_ms: i64,
) -> Result<bool> {
    insert_raw_change(
        tx,
        id,
        kind,
        &change.hash(),
        change.raw_bytes(),
        local,
        now_ms,
    )
}

fn insert_raw_change(
    tx: &Connection,
    id: RecordId,
    kind: Option<Kind>,
    hash: &automerge::ChangeHash,
    bytes: &[u8],
    local: bool,
    now_ms: i64,
) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO changes (record_id, hash, bytes, local, received_at, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id.as_bytes(),
            hash.0,
            bytes,
            local,
            now_ms,
            kind.map(Kind::name)
        ])?;
    Ok(inserted == 1)
}

/// Refreshes a record's snapshot when enough changes have piled up after it.
pub(crate) fn maybe_snapshot(tx: &Connection, id: RecordId, doc: &mut AutoCommit) -> Result<()> {
    let (behind, last): (i64, Option<i64>) = tx
        .prepare_cached(
            "SELECT count(*), max(c.seq) FROM changes c
             WHERE c.record_id = ?1 AND c.seq > coalesce((SELECT upto_seq FROM snapshots WHERE record_id = ?1), 0)",
        )?
        .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if behind >= SNAPSHOT_EVERY && doc.get_missing_deps(&[]).is_empty() {
        if let Some(last) = last {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO snapshots (record_id, upto_seq, bytes) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id.as_bytes(), last, doc.save()])?;
        }
    }
    Ok(())
}
