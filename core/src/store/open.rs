//! Opening and creating a store: SQLCipher's settings and keying, the first read that tells a
//! wrong key from a full or read-only disk, the connection's settings, and the migrations (with
//! a rebuild of the index tables when a migration asks for one).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::ffi::ErrorCode;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::crypto::RawKey;
use crate::entropy::{self};
use crate::identity::DeviceKeys;
use crate::{CoreError, Result};

use super::*;

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

/// Rebuilds the index tables from the documents (after a migration that added index columns or
/// kinds an older store holds nothing in). Records an earlier version kept without a kind (one
/// it did not know) get theirs first. Conflicts keep the time they were first seen.
fn rebuild_index(tx: &Connection, now_ms: i64) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM persons; DELETE FROM encounters; DELETE FROM encounter_persons;
         DELETE FROM actions; DELETE FROM referrals; DELETE FROM observations;
         DELETE FROM situation_changes; DELETE FROM consents; DELETE FROM access_logs;
         DELETE FROM access_log; DELETE FROM households; DELETE FROM household_members;
         DELETE FROM journey_periods; DELETE FROM housing_applications; DELETE FROM homes;
         DELETE FROM risk_signals; DELETE FROM housing_offers; DELETE FROM proposals;
         DELETE FROM own_views;",
    )?;
    let unkinded: Vec<Vec<u8>> = {
        let mut stmt =
            tx.prepare("SELECT record_id FROM changes GROUP BY record_id HAVING count(kind) = 0")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    for id in unkinded {
        let id =
            crate::RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        let kind = load_doc(tx, id)?
            .and_then(|doc| crate::doc::kind_of(&doc))
            .and_then(|name| crate::Kind::from_name(&name));
        if let Some(kind) = kind {
            tx.execute(
                "UPDATE changes SET kind = ?2 WHERE record_id = ?1",
                rusqlite::params![id.as_bytes(), kind.name()],
            )?;
        }
    }
    for (id, kind) in all_records(tx)? {
        let Some(mut doc) = load_doc(tx, id)? else {
            continue;
        };
        index::refresh(tx, kind, id, &mut doc, now_ms, &index::Before::default())?;
        index::refresh_conflicts(tx, kind, id, &doc, now_ms)?;
    }
    Ok(())
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
        // The folder is made private before the store's first byte lands in it, and the store
        // file is made here, empty and private, before SQLite opens it: SQLite would create it
        // with the umask's mode, readable by every account of the machine.
        let folder = path.parent().unwrap_or(Path::new("."));
        files::private_folder(folder).map_err(|e| {
            CoreError::Storage(format!("cannot make the store's folder private: {e}"))
        })?;
        files::create_private_file(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CoreError::StoreExists {
                path: path.display().to_string(),
            },
            _ => CoreError::Storage(format!("cannot create the store file: {e}")),
        })?;
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
        // SQLite's log files took the store file's mode; a file left open by anything else is
        // narrowed before the first write.
        files::tighten_store_files(path).map_err(|e| {
            CoreError::Storage(format!("cannot make the store's files private: {e}"))
        })?;
        migrations::migrate(&mut conn, |_| Ok(()))?;
        let keys = new_device_keys(&*options.entropy);
        let device = keys.public().device();
        {
            let tx = conn.transaction()?;
            for (k, v) in [
                ("device_name", device_name.as_bytes().to_vec()),
                ("worker", worker.as_bytes().to_vec()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )?;
            }
            keep_device_keys(&tx, &keys)?;
            tx.commit()?;
        }
        let store = Store {
            keys,
            verify_signatures: true.into(),
            purpose: std::sync::RwLock::new(super::purpose::Purpose::Team),
            worker: std::sync::RwLock::new(worker.to_string()),
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
        // A store made before its files were private, or log files another program left open to
        // others, are narrowed before SQLite reads them and again once its log files exist.
        // Best effort: a store on a read-only disk, or a file of another account, still opens.
        let _ = files::tighten_store_files(path);
        let mut conn = open_connection(path, key, false)?;
        let _ = files::tighten_store_files(path);
        migrations::migrate(&mut conn, |tx| rebuild_index(tx, clock.now_ms()))?;
        let meta = |k: &str| -> Result<Vec<u8>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()?
                .ok_or_else(|| CoreError::corrupt(format!("store has no {k}")))
        };
        let text = |v: Vec<u8>| String::from_utf8(v).map_err(CoreError::corrupt);
        let device_name = text(meta("device_name")?)?;
        let worker = text(meta("worker")?)?;
        // A store made before devices had keys gets its keys now, and with them a new device
        // id (an id is the hash of its keys): its later changes are signed under that id.
        let (keys, new_identity) = match (meta("signing_key"), meta("agreement_key")) {
            (Ok(sign), Ok(agree)) => (
                DeviceKeys::from_secrets(
                    sign.try_into()
                        .map_err(|_| CoreError::corrupt("the device's signing key"))?,
                    agree
                        .try_into()
                        .map_err(|_| CoreError::corrupt("the device's agreement key"))?,
                ),
                false,
            ),
            _ => {
                let keys = new_device_keys(&*entropy);
                let tx = conn.transaction()?;
                keep_device_keys(&tx, &keys)?;
                tx.commit()?;
                (keys, true)
            }
        };
        let me = Identity {
            device: keys.public().device(),
            device_name,
            worker,
        };
        let purpose = super::purpose::read(&conn)?;
        let store = Store {
            keys,
            verify_signatures: true.into(),
            purpose: std::sync::RwLock::new(purpose),
            worker: std::sync::RwLock::new(me.worker.clone()),
            extra: std::sync::RwLock::new(extra_terms(&conn)?),
            conn: Mutex::new(conn),
            me,
            clock,
            entropy,
            path: path.to_path_buf(),
        };
        if new_identity {
            store.register_device()?;
        }
        Ok(store)
    }
}

impl Store {
    /// Erases the store: every table emptied in one transaction (so that nothing stays readable
    /// even if removing the files fails), then its files removed. The store is unusable after.
    pub(crate) fn erase(&self) -> Result<()> {
        {
            let mut conn = self.lock();
            let tables: Vec<String> = {
                let mut stmt = conn.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            let tx = conn.transaction()?;
            for table in &tables {
                tx.execute(
                    &format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")),
                    [],
                )?;
            }
            tx.commit()?;
            let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.as_os_str().to_owned();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(CoreError::Storage(format!("erasing the store: {e}"))),
            }
        }
        Ok(())
    }
}

/// A device's two key pairs, drawn from the store's entropy.
fn new_device_keys(entropy: &dyn crate::Entropy) -> DeviceKeys {
    DeviceKeys::from_secrets(entropy::bytes(entropy), entropy::bytes(entropy))
}

/// Keeps this device's secret keys (and its id, the hash of their public halves) in the store,
/// and its public keys with the other devices'.
fn keep_device_keys(tx: &Connection, keys: &DeviceKeys) -> Result<()> {
    let (sign, agree) = keys.secrets();
    for (k, v) in [
        ("device", keys.public().device().to_bytes()),
        ("signing_key", sign.to_vec()),
        ("agreement_key", agree.to_vec()),
    ] {
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![k, v],
        )?;
    }
    super::trust::learn_device_keys(tx, &keys.public())?;
    Ok(())
}
