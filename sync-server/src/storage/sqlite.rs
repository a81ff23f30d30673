//! The default storage: one SQLite file (WAL, `synchronous = FULL`), one connection behind a
//! lock, so one writer at a time. The schema is versioned (`PRAGMA user_version`,
//! [`SCHEMA_VERSION`]); older files are migrated when the relay opens them.

use std::path::Path;
use std::sync::Mutex;

use allervers_protocol::{
    encode, ControlBody, ControlPage, DeviceEntry, DeviceId, Envelope, Page, SpaceId, WipeOrder,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::{
    as_ms, check_post, control_page, envelope_page, id16, rounded_seconds, sha256, stored,
    whole_seconds, Caller, Enrolment, EpochOutcome, Storage, StorageError, StorageResult, Totals,
    ERASED, NOT_A_COORDINATOR, SPACE_CODE_REFUSED, SPACE_EXISTS,
};

/// Migrations in order; migration `i` brings a relay file from version `i` to `i + 1`, and
/// `PRAGMA user_version` holds the number applied. Version 0 is a new file, or one written before
/// the schema was versioned: the first migration creates only what is missing.
const MIGRATIONS: &[fn(&Transaction) -> rusqlite::Result<()>] = &[
    legacy_schema,
    less_to_know,
    control_log,
    recovery,
    erasure,
    space_invites,
];

/// The schema the relay had before it was versioned, with the clock offsets that a file older
/// still lacks.
fn legacy_schema(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spaces (space BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    space BLOB NOT NULL,
    device BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    coordinator INTEGER NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (space, device)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invites (
    secret_hash BLOB PRIMARY KEY,
    space BLOB NOT NULL,
    created_by BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;
-- One log for all spaces: `seq` is assigned at commit and only grows; a space's log is its
-- rows in `seq` order. `digest` (SHA-256 of the sealed bytes) makes pushes idempotent.
CREATE TABLE IF NOT EXISTS envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    space BLOB NOT NULL,
    digest BLOB NOT NULL,
    record BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    sealed BLOB NOT NULL,
    wrapped_key BLOB,
    device BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    clock_offset INTEGER NOT NULL DEFAULT 0,
    UNIQUE (space, digest)
);
CREATE INDEX IF NOT EXISTS envelopes_by_space ON envelopes (space, seq);
"#,
    )?;
    let has_offset = tx
        .prepare("SELECT 1 FROM pragma_table_info('envelopes') WHERE name = 'clock_offset'")?
        .exists([])?;
    if !has_offset {
        tx.execute_batch(
            "ALTER TABLE envelopes ADD COLUMN clock_offset INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    Ok(())
}

/// Less for the relay to know: no device id beside an envelope (nothing reads it: pushes are
/// idempotent on the digest, pages follow `seq`), every time the relay writes itself to the
/// second (`received_at`, `clock_offset`, `spaces.created_at`, `devices.enrolled_at` and
/// `revoked_at`; an invite's `expires_at` stays as the coordinator's device chose it, in
/// milliseconds), and no invite kept once used (the device's enrolment says when).
fn less_to_know(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
ALTER TABLE envelopes DROP COLUMN device;
UPDATE envelopes SET
    received_at = received_at / 1000,
    clock_offset = clock_offset / 1000
        + CASE WHEN clock_offset % 1000 >= 500 THEN 1
               WHEN clock_offset % 1000 <= -500 THEN -1
               ELSE 0 END;
UPDATE spaces SET created_at = created_at / 1000;
UPDATE devices SET enrolled_at = enrolled_at / 1000, revoked_at = revoked_at / 1000;
DELETE FROM invites WHERE used_at IS NOT NULL;
ALTER TABLE invites DROP COLUMN used_at;
"#,
    )
}

/// What devices need besides envelopes: each space's epoch (0 for the spaces that exist), the
/// wipe order stored beside a revoked device, and one control log for all spaces, numbered apart
/// from the envelopes, idempotent on the SHA-256 of each item's encoded bytes (`body`, the
/// [`ControlBody`] as the protocol encodes it).
fn control_log(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
ALTER TABLE spaces ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN wipe_order BLOB;
CREATE TABLE control (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    space BLOB NOT NULL,
    digest BLOB NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (space, digest)
);
CREATE INDEX control_by_space ON control (space, seq);
"#,
    )
}

/// Recovery tokens: an invite row marked `coordinator` enrols its device as a coordinator; a
/// space has at most one, which never expires.
fn recovery(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE invites ADD COLUMN coordinator INTEGER NOT NULL DEFAULT 0")
}

/// Erasure orders: the envelopes of a record found by its blinded id, and the `(epoch, record)`
/// pairs erased in each space, whose later pushes are refused.
fn erasure(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
CREATE INDEX envelopes_by_record ON envelopes (space, record);
CREATE TABLE erased (
    space BLOB NOT NULL,
    record BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    PRIMARY KEY (space, record, epoch)
) WITHOUT ROWID;
"#,
    )
}

/// Space invites: the hash of a one-time token that registers one new space, the coordinator's
/// device that made it, the space it came from and its expiry (milliseconds, as the device sent
/// it); deleted when used, or expired at the next redemption.
fn space_invites(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        r#"
CREATE TABLE space_invites (
    secret_hash BLOB PRIMARY KEY,
    space BLOB NOT NULL,
    created_by BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    )
}

/// The schema version this code writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Runs the pending migrations in one transaction that takes the write lock first and reads the
/// version under it. Refuses a file written by a newer relay.
fn migrate(conn: &mut Connection) -> StorageResult<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    if found > SCHEMA_VERSION {
        return Err(StorageError::Failed(format!(
            "this relay file has schema version {found}, newer than this relay's {SCHEMA_VERSION}"
        )));
    }
    if found == SCHEMA_VERSION {
        return Ok(false);
    }
    for step in &MIGRATIONS[found..] {
        step(&tx)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION as i64)?;
    tx.commit()?;
    Ok(true)
}

/// The default storage: one SQLite file.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    pub fn open(path: &Path) -> StorageResult<SqliteStorage> {
        let mut conn = Connection::open(path)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        // FULL: an envelope the relay acknowledged survives a power cut, not only a crash.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")?;
        // Deleted content (a used invite, a dropped column) is overwritten with zeros, not
        // left in free pages of the file.
        conn.execute_batch("PRAGMA secure_delete = ON;")?;
        if migrate(&mut conn)? {
            // The log may still hold frames of the rows as they were before: empty it.
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpoint after an erasure failed");
            }
        }
        not_moved(&conn)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The mark `allervers-relay migrate` leaves in the file it copied, in the same locked
/// transaction as the copy commits: from then on the file's relay serves and writes nothing, so
/// that nothing acknowledged here after the copy is missing from the new database.
pub(crate) const MOVED: &str = "moved";

/// Refuses once the file's data was moved. Checked in every write's transaction, which takes
/// the write lock first (`IMMEDIATE`): the migration holds that lock until its mark commits, so
/// a write either commits before the copy starts or sees the mark.
fn not_moved(conn: &Connection) -> StorageResult<()> {
    let moved = conn
        .prepare_cached("SELECT 1 FROM meta WHERE key = ?1")?
        .exists([MOVED])?;
    if moved {
        return Err(StorageError::Moved);
    }
    Ok(())
}

/// A write's transaction: the write lock taken first, and refused once the file moved.
fn write(conn: &mut Connection) -> StorageResult<Transaction<'_>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    not_moved(&tx)?;
    Ok(tx)
}

/// Refuses a write to a space this relay does not have.
fn space_exists(conn: &Connection, space: SpaceId) -> StorageResult<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM spaces WHERE space = ?1")?
        .exists([space])?;
    if !found {
        return Err(StorageError::NotFound("no such space"));
    }
    Ok(())
}

/// Registers a space with its first, coordinator device (the admin token's route and a space
/// code's redemption alike); `Conflict` when the space exists already.
fn register_space(
    tx: &Transaction,
    space: SpaceId,
    coordinator: DeviceId,
    token_hash: [u8; 32],
    now_ms: i64,
) -> StorageResult<()> {
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO spaces (space, created_at) VALUES (?1, ?2)",
        params![space, whole_seconds(now_ms)],
    )?;
    if inserted == 0 {
        return Err(SPACE_EXISTS);
    }
    tx.execute(
        "INSERT INTO devices (space, device, token_hash, coordinator, enrolled_at) VALUES (?1, ?2, ?3, 1, ?4)",
        params![space, coordinator, token_hash, whole_seconds(now_ms)],
    )?;
    Ok(())
}

/// Appends an item to a space's control log, or finds it there (same encoded bytes): its
/// sequence number.
fn append_control(tx: &Transaction, space: SpaceId, item: &ControlBody) -> StorageResult<u64> {
    let body = encode(item);
    let digest = sha256(&body);
    let inserted = tx
        .prepare_cached("INSERT OR IGNORE INTO control (space, digest, body) VALUES (?1, ?2, ?3)")?
        .execute(params![space, digest, body])?;
    let seq: i64 = if inserted == 1 {
        tx.last_insert_rowid()
    } else {
        tx.prepare_cached("SELECT seq FROM control WHERE space = ?1 AND digest = ?2")?
            .query_row(params![space, digest], |r| r.get(0))?
    };
    Ok(seq as u64)
}

impl Storage for SqliteStorage {
    fn check(&self) -> StorageResult<()> {
        self.lock().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn admin_token_hash(&self) -> StorageResult<Option<[u8; 32]>> {
        let v: Option<Vec<u8>> = self
            .lock()
            .query_row(
                "SELECT value FROM meta WHERE key = 'admin_token_hash'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()))
    }

    fn init_admin_token_hash(&self, hash: [u8; 32]) -> StorageResult<[u8; 32]> {
        self.lock().execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('admin_token_hash', ?1)",
            [hash.as_slice()],
        )?;
        self.admin_token_hash()?.ok_or(StorageError::Failed(
            "the admin token was not stored".into(),
        ))
    }

    fn create_space(
        &self,
        space: SpaceId,
        coordinator: DeviceId,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        register_space(&tx, space, coordinator, token_hash, now_ms)?;
        tx.commit()?;
        Ok(())
    }

    fn caller(&self, token_hash: [u8; 32]) -> StorageResult<Option<Caller>> {
        let conn = self.lock();
        not_moved(&conn)?;
        let found = conn
            .prepare_cached(
                "SELECT space, device, coordinator, revoked_at IS NOT NULL,
                        CASE WHEN revoked_at IS NOT NULL THEN wipe_order END
                 FROM devices WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(Caller {
                    space: id16(r.get(0)?),
                    device: id16(r.get(1)?),
                    coordinator: r.get(2)?,
                    revoked: r.get(3)?,
                    wipe_order: r.get(4)?,
                })
            })
            .optional()?;
        Ok(found)
    }

    fn add_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        space_exists(&tx, space)?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO invites (secret_hash, space, created_by, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![secret_hash, space, by, expires_at_ms],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict("this invite already exists"));
        }
        tx.commit()?;
        Ok(())
    }

    fn set_recovery(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        space_exists(&tx, space)?;
        tx.execute(
            "DELETE FROM invites WHERE space = ?1 AND coordinator = 1",
            [space],
        )?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO invites (secret_hash, space, created_by, expires_at, coordinator)
             VALUES (?1, ?2, ?3, ?4, 1)",
            params![secret_hash, space, by, i64::MAX],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict("this token already exists"));
        }
        tx.commit()?;
        Ok(())
    }

    fn enroll(
        &self,
        enrolment: &Enrolment,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<u64> {
        let Enrolment {
            space,
            invite: secret_hash,
            device,
            ..
        } = *enrolment;
        let mut conn = self.lock();
        // The write lock first: the invite is read and deleted under it, so that of two
        // redemptions of one invite exactly one finds it.
        let tx = write(&mut conn)?;
        // An invite is used once: it is deleted, and the device's enrolment time is all the
        // relay keeps of it.
        let coordinator: Option<bool> = tx
            .query_row(
                "DELETE FROM invites
                 WHERE secret_hash = ?1 AND space = ?2 AND expires_at > ?3
                   AND EXISTS (SELECT 1 FROM devices d WHERE d.space = invites.space
                               AND d.device = invites.created_by AND d.revoked_at IS NULL)
                 RETURNING coordinator",
                params![secret_hash, space, now_ms],
                |r| r.get(0),
            )
            .optional()?;
        let Some(coordinator) = coordinator else {
            return Err(StorageError::NotFound(
                "this invite is unknown, already used or expired",
            ));
        };
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO devices (space, device, token_hash, coordinator, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![space, device, token_hash, coordinator, whole_seconds(now_ms)],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(
                "this device is already enrolled in this space",
            ));
        }
        // The coordinators learn of the device, its keys and the invite's mac from the log.
        let seq = append_control(
            &tx,
            space,
            &ControlBody::Enrolled {
                invite: secret_hash,
                device,
                sign_key: enrolment.sign_key,
                agree_key: enrolment.agree_key,
                mac: enrolment.mac,
            },
        )?;
        // Expired invites enrol nobody: they go too.
        tx.execute("DELETE FROM invites WHERE expires_at <= ?1", [now_ms])?;
        tx.commit()?;
        Ok(seq)
    }

    fn add_space_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        space_exists(&tx, space)?;
        let coordinator = tx
            .prepare_cached(
                "SELECT 1 FROM devices WHERE space = ?1 AND device = ?2 AND coordinator = 1
                 AND revoked_at IS NULL",
            )?
            .exists(params![space, by])?;
        if !coordinator {
            return Err(NOT_A_COORDINATOR);
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO space_invites (secret_hash, space, created_by, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![secret_hash, space, by, expires_at_ms],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict("this space code already exists"));
        }
        tx.commit()?;
        Ok(())
    }

    fn create_linked_space(
        &self,
        invite: [u8; 32],
        space: SpaceId,
        coordinator: DeviceId,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<()> {
        let mut conn = self.lock();
        // The write lock first: the invite is read and deleted under it, so that of two
        // redemptions of one token exactly one finds it.
        let tx = write(&mut conn)?;
        let used = tx.execute(
            "DELETE FROM space_invites
             WHERE secret_hash = ?1 AND expires_at > ?2
               AND EXISTS (SELECT 1 FROM devices d WHERE d.space = space_invites.space
                           AND d.device = space_invites.created_by AND d.coordinator = 1
                           AND d.revoked_at IS NULL)",
            params![invite, now_ms],
        )?;
        if used == 0 {
            return Err(SPACE_CODE_REFUSED);
        }
        // A space id taken already rolls the whole transaction back: the invite stays.
        register_space(&tx, space, coordinator, token_hash, now_ms)?;
        // Expired space invites register nothing: they go too.
        tx.execute("DELETE FROM space_invites WHERE expires_at <= ?1", [now_ms])?;
        tx.commit()?;
        Ok(())
    }

    fn devices(&self, space: SpaceId) -> StorageResult<Vec<DeviceEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT device, coordinator, enrolled_at, revoked_at FROM devices WHERE space = ?1
             ORDER BY enrolled_at, coordinator DESC, device",
        )?;
        let rows = stmt.query_map([space], |r| {
            Ok(DeviceEntry {
                device: id16(r.get(0)?),
                coordinator: r.get(1)?,
                enrolled_at_ms: as_ms(r.get(2)?),
                revoked_at_ms: r.get::<_, Option<i64>>(3)?.map(as_ms),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke(
        &self,
        space: SpaceId,
        device: DeviceId,
        order: Option<&WipeOrder>,
        now_ms: i64,
    ) -> StorageResult<()> {
        let order = order.map(encode);
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        let updated = tx.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?3), wipe_order = coalesce(wipe_order, ?4)
             WHERE space = ?1 AND device = ?2",
            params![space, device, whole_seconds(now_ms), order],
        )?;
        if updated == 0 {
            return Err(StorageError::NotFound("no such device in this space"));
        }
        // Invites and space invites the revoked device made and nobody used die with it.
        tx.execute(
            "DELETE FROM invites WHERE space = ?1 AND created_by = ?2",
            params![space, device],
        )?;
        tx.execute(
            "DELETE FROM space_invites WHERE space = ?1 AND created_by = ?2",
            params![space, device],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn make_coordinator(&self, space: SpaceId, device: DeviceId) -> StorageResult<()> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        let updated = tx.execute(
            "UPDATE devices SET coordinator = 1 WHERE space = ?1 AND device = ?2 AND revoked_at IS NULL",
            params![space, device],
        )?;
        if updated == 0 {
            return Err(StorageError::NotFound(
                "no such device in this space, or it was revoked",
            ));
        }
        tx.commit()?;
        Ok(())
    }

    fn push(
        &self,
        space: SpaceId,
        envelopes: &[Envelope],
        now_ms: i64,
        clock_offset_ms: i64,
    ) -> StorageResult<Vec<u64>> {
        let (now, offset) = (whole_seconds(now_ms), rounded_seconds(clock_offset_ms));
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        space_exists(&tx, space)?;
        let mut seqs = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            let erased = tx
                .prepare_cached(
                    "SELECT 1 FROM erased WHERE space = ?1 AND record = ?2 AND epoch = ?3",
                )?
                .exists(params![space, e.record, e.epoch])?;
            if erased {
                return Err(ERASED);
            }
            let digest = sha256(&e.sealed);
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO envelopes (space, digest, record, epoch, nonce, sealed, wrapped_key, received_at, clock_offset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![space, digest, e.record, e.epoch, e.nonce, e.sealed, e.key, now, offset])?;
            let seq: i64 = if inserted == 1 {
                tx.last_insert_rowid()
            } else {
                tx.prepare_cached("SELECT seq FROM envelopes WHERE space = ?1 AND digest = ?2")?
                    .query_row(params![space, digest], |r| r.get(0))?
            };
            seqs.push(seq as u64);
        }
        tx.commit()?;
        Ok(seqs)
    }

    fn pull(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<Page> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, received_at, clock_offset, record, epoch, nonce, sealed, wrapped_key FROM envelopes
             WHERE space = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let after_sql = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            params![
                space,
                after_sql,
                i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
            ],
            |r| {
                Ok(stored(
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )?;
        envelope_page(rows.map(|r| r.map_err(StorageError::from)), after, limit)
    }

    fn post_control(&self, space: SpaceId, items: &[ControlBody]) -> StorageResult<Vec<u64>> {
        let mut conn = self.lock();
        let tx = write(&mut conn)?;
        let epoch: u32 = tx
            .query_row("SELECT epoch FROM spaces WHERE space = ?1", [space], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(StorageError::NotFound("no such space"))?;
        let erased = check_post(items, epoch)?;
        for r in &erased {
            tx.prepare_cached(
                "DELETE FROM envelopes WHERE space = ?1 AND record = ?2 AND epoch = ?3",
            )?
            .execute(params![space, r.record, r.epoch])?;
            tx.prepare_cached(
                "INSERT OR IGNORE INTO erased (space, record, epoch) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![space, r.record, r.epoch])?;
        }
        let seqs = items
            .iter()
            .map(|item| append_control(&tx, space, item))
            .collect::<StorageResult<Vec<u64>>>()?;
        tx.commit()?;
        if !erased.is_empty() {
            // `secure_delete` zeroed the rows in the file; the log's frames still hold them until
            // a checkpoint, which nothing else holds up here (one connection).
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpoint after an erasure failed");
            }
        }
        Ok(seqs)
    }

    fn control(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<ControlPage> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, body FROM control WHERE space = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let after_sql = i64::try_from(after).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            params![
                space,
                after_sql,
                i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
            ],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?)),
        )?;
        control_page(rows.map(|r| r.map_err(StorageError::from)), after, limit)
    }

    fn start_epoch(
        &self,
        space: SpaceId,
        expected: u32,
        by: DeviceId,
    ) -> StorageResult<EpochOutcome> {
        let mut conn = self.lock();
        // The epoch is read under the write lock: two starts from the same epoch cannot both
        // see it.
        let tx = write(&mut conn)?;
        let current: Option<u32> = tx
            .query_row("SELECT epoch FROM spaces WHERE space = ?1", [space], |r| {
                r.get(0)
            })
            .optional()?;
        let current = current.ok_or(StorageError::NotFound("no such space"))?;
        if current != expected {
            return Ok(EpochOutcome::Stale(current));
        }
        let epoch = current
            .checked_add(1)
            .ok_or(StorageError::Conflict("this space has no epoch left"))?;
        tx.execute(
            "UPDATE spaces SET epoch = ?2 WHERE space = ?1",
            params![space, epoch],
        )?;
        append_control(&tx, space, &ControlBody::Epoch { epoch, by })?;
        tx.commit()?;
        Ok(EpochOutcome::Started(epoch))
    }

    fn totals(&self) -> StorageResult<Totals> {
        let conn = self.lock();
        let (envelopes, bytes): (i64, i64) = conn.query_row(
            "SELECT count(*), coalesce(sum(length(sealed)), 0) FROM envelopes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let spaces: i64 = conn.query_row("SELECT count(*) FROM spaces", [], |r| r.get(0))?;
        let active: i64 = conn.query_row(
            "SELECT count(*) FROM devices WHERE revoked_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(Totals {
            spaces: spaces as u64,
            envelopes: envelopes as u64,
            envelope_bytes: bytes as u64,
            active_devices: active as u64,
        })
    }
}
