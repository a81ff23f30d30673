//! PostgreSQL storage: several relay instances over one database, for operators that outgrow one
//! machine. The same tables as SQLite's, but each space numbers its own envelopes and control
//! items (`spaces.last_seq`, `spaces.last_control`), under the space's row lock: every write to
//! a space takes `SELECT ... FOR UPDATE` on its row first and holds it until commit, so a number
//! is handed out only once the one before it has committed, and a reader that saw a number never
//! misses a smaller one. A transaction that PostgreSQL aborts as a deadlock or a serialisation
//! failure is run again, a few times.
//!
//! Connections come from a pool (r2d2); one found lost when a call begins on it (the database
//! restarted while it sat idle) is replaced at once, so that a restart costs the requests made
//! while the database was down (503) and nothing after. Each connection
//! keeps the statements it prepared. The schema is versioned (`relay_schema`); instances that
//! start together migrate one at a time under an advisory lock. With `sslmode=require` in the
//! URL, connections use TLS (rustls) and the server's certificate is checked against Mozilla's
//! roots, or against the operator's own CA (`--db-ca-file`), host name included; otherwise they
//! are plain, for a database on the same machine or a private network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use allervers_protocol::{
    encode, ControlBody, ControlPage, DeviceEntry, DeviceId, Envelope, Page, SpaceId, WipeOrder,
};
use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    as_ms, check_post, control_page, envelope_page, id16, rounded_seconds, sha256, stored,
    whole_seconds, Caller, Enrolment, EpochOutcome, Storage, StorageError, StorageResult, Totals,
    ERASED, NOT_A_COORDINATOR, SPACE_CODE_REFUSED, SPACE_EXISTS,
};

/// Migrations in order; migration `i` brings a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[FIRST_SCHEMA, ERASURE, SPACE_INVITES];

/// The schema this code writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The relay's tables as SQLite's are at its version 4, with per-space numbering.
const FIRST_SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE spaces (
    space BYTEA PRIMARY KEY,
    created_at BIGINT NOT NULL,
    epoch BIGINT NOT NULL DEFAULT 0,
    -- The last sequence number handed out in the space's envelope log, and in its control log.
    last_seq BIGINT NOT NULL DEFAULT 0,
    last_control BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE devices (
    space BYTEA NOT NULL REFERENCES spaces,
    device BYTEA NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    coordinator BOOLEAN NOT NULL,
    enrolled_at BIGINT NOT NULL,
    revoked_at BIGINT,
    wipe_order BYTEA,
    PRIMARY KEY (space, device)
);
CREATE TABLE invites (
    secret_hash BYTEA PRIMARY KEY,
    space BYTEA NOT NULL,
    created_by BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    coordinator BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX invites_by_space ON invites (space);
CREATE TABLE envelopes (
    space BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    digest BYTEA NOT NULL,
    record BYTEA NOT NULL,
    epoch BIGINT NOT NULL,
    nonce BYTEA NOT NULL,
    sealed BYTEA NOT NULL,
    wrapped_key BYTEA,
    received_at BIGINT NOT NULL,
    clock_offset BIGINT NOT NULL,
    PRIMARY KEY (space, seq),
    UNIQUE (space, digest)
);
CREATE TABLE control (
    space BYTEA NOT NULL,
    seq BIGINT NOT NULL,
    digest BYTEA NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (space, seq),
    UNIQUE (space, digest)
);
"#;

/// Erasure orders: the envelopes of a record found by its blinded id, the `(epoch, record)`
/// pairs erased in each space (a later push of one is refused), and how many a space has, read
/// with the space's row so that a push to a space with none costs no query.
const ERASURE: &str = r#"
CREATE INDEX envelopes_by_record ON envelopes (space, record);
CREATE TABLE erased (
    space BYTEA NOT NULL REFERENCES spaces,
    record BYTEA NOT NULL,
    epoch BIGINT NOT NULL,
    PRIMARY KEY (space, record, epoch)
);
ALTER TABLE spaces ADD COLUMN erased BIGINT NOT NULL DEFAULT 0;
"#;

/// Space invites: the hash of a one-time token that registers one new space, the coordinator's
/// device that made it, the space it came from and its expiry (milliseconds, as the device sent
/// it); deleted when used, or expired at the next redemption.
const SPACE_INVITES: &str = r#"
CREATE TABLE space_invites (
    secret_hash BYTEA PRIMARY KEY,
    space BYTEA NOT NULL REFERENCES spaces,
    created_by BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX space_invites_by_space ON space_invites (space);
"#;

/// The advisory lock under which an instance migrates ("alvr").
const MIGRATION_LOCK: i64 = 0x616c_7672;

/// How the pool is sized and how long a start waits for the database.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Connections this instance holds at most.
    pub max_connections: u32,
    /// How long a start waits for a database that does not answer yet.
    pub wait: Duration,
    /// How long a request waits for a connection before it is answered 503.
    pub checkout: Duration,
    /// The CA that signed the database server's certificate (PEM), when it is not one of the
    /// public roots; only with `sslmode=require`.
    pub ca_file: Option<PathBuf>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            wait: Duration::from_secs(60),
            checkout: Duration::from_secs(3),
            ca_file: None,
        }
    }
}

/// One pooled connection, the statements it prepared, and whether it was found lost.
pub struct Connection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    broken: bool,
}

/// Opens connections for the pool (over TLS when the URL requires it) and tells it which ones
/// still work.
struct Manager {
    config: postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        let client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone())?,
            None => self.config.connect(NoTls)?,
        };
        Ok(Connection {
            client,
            statements: HashMap::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// A client or a transaction with the connection's prepared statements.
pub(crate) struct Db<'a, C: GenericClient> {
    client: &'a mut C,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl<C: GenericClient> Db<'_, C> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }
}

/// A transaction's outcome: the database failed (`Err`, retried when PostgreSQL says so), or it
/// ran to a result, which commits when it is `Ok` and rolls back when it is not.
pub(crate) type Outcome<T> = Result<StorageResult<T>, postgres::Error>;

/// The storage for several relay instances: one PostgreSQL database.
pub struct PostgresStorage {
    pool: r2d2::Pool<Manager>,
}

/// How many lost connections one call steps over: every idle one of the pool, once the database
/// restarted, and one more.
fn lost_allowed(pool: &r2d2::Pool<Manager>) -> u32 {
    pool.max_size() + 1
}

impl PostgresStorage {
    /// Connects to `url` (`postgres://user@host:port/database?...`), waiting up to
    /// `options.wait` for a database that does not answer yet, and migrates its schema.
    pub fn connect(url: &str, options: &PostgresOptions) -> StorageResult<PostgresStorage> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Failed(format!("not a PostgreSQL URL: {e}")))?;
        limit_waits(&mut config);
        let tls = tls(&config, options.ca_file.as_deref())?;
        let manager = Manager { config, tls };
        // The first connection is made here, so that what keeps the database out of reach is
        // said whole; one that is not up yet (refused, reset, starting) is waited for.
        let deadline = Instant::now() + options.wait;
        loop {
            match r2d2::ManageConnection::connect(&manager) {
                Ok(_) => break,
                Err(e) if Instant::now() < deadline && not_up_yet(&e) => {
                    tracing::warn!(why = %describe(&e), "waiting for the database");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(StorageError::Failed(describe(&e))),
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(1))
            // No query to check a connection before each use (a round trip per request): one
            // found lost is replaced then (`transaction`, `read`).
            .test_on_check_out(false)
            .connection_timeout(options.checkout)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        let storage = PostgresStorage { pool };
        storage.migrate()?;
        Ok(storage)
    }

    fn connection(&self) -> StorageResult<r2d2::PooledConnection<Manager>> {
        self.pool
            .get()
            .map_err(|e| StorageError::Failed(format!("database unavailable: {e}")))
    }

    /// Runs the pending migrations, one instance at a time. Refuses a database written by a
    /// newer relay.
    fn migrate(&self) -> StorageResult<()> {
        self.transaction(|db| {
            db.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            db.execute(
                "CREATE TABLE IF NOT EXISTS relay_schema (version INTEGER NOT NULL)",
                &[],
            )?;
            let found: Option<i32> = db
                .query_opt("SELECT version FROM relay_schema", &[])?
                .map(|r| r.get(0));
            let found = usize::try_from(found.unwrap_or(0)).unwrap_or(usize::MAX);
            if found > SCHEMA_VERSION {
                return Ok(Err(StorageError::Failed(format!(
                    "this relay database has schema version {found}, newer than this relay's {SCHEMA_VERSION}"
                ))));
            }
            for step in &MIGRATIONS[found..] {
                db.client.batch_execute(step)?;
            }
            let version = SCHEMA_VERSION as i32;
            if found == 0 {
                db.execute("INSERT INTO relay_schema (version) VALUES ($1)", &[&version])?;
            } else {
                db.execute("UPDATE relay_schema SET version = $1", &[&version])?;
            }
            Ok(Ok(()))
        })
    }

    /// Runs `f` in one transaction, again when PostgreSQL aborts it as a deadlock or a
    /// serialisation failure (at most four times in all), and on another connection when the
    /// one taken from the pool turns out lost before anything was sent (its BEGIN failed: the
    /// database restarted while it sat idle; so may the pool's other idle ones). A connection lost later fails the call: whether
    /// its COMMIT landed is unknown, and the device retries (a push is idempotent).
    pub(crate) fn transaction<T>(
        &self,
        mut f: impl FnMut(&mut Db<'_, postgres::Transaction<'_>>) -> Outcome<T>,
    ) -> StorageResult<T> {
        let mut conn = self.connection()?;
        let mut replaced = 0;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let lost_at_begin = {
                let Connection {
                    client,
                    statements,
                    broken,
                } = &mut *conn;
                match client.transaction() {
                    Err(e) if lost(&e) && replaced < lost_allowed(&self.pool) => {
                        *broken = true;
                        true
                    }
                    Err(e) => return Err(mark(broken, e)),
                    Ok(mut tx) => {
                        let outcome = f(&mut Db {
                            client: &mut tx,
                            statements: &mut *statements,
                        });
                        let result = match outcome {
                            Ok(Ok(value)) => tx.commit().map(|()| Ok(value)),
                            Ok(Err(refused)) => tx.rollback().map(|()| Err(refused)),
                            Err(e) => Err(e),
                        };
                        match result {
                            Ok(result) => return result,
                            Err(e) if attempt < 4 && retryable(&e) => continue,
                            Err(e) => return Err(mark(broken, e)),
                        }
                    }
                }
            };
            if lost_at_begin {
                conn = self.connection()?;
                replaced += 1;
                attempt -= 1;
            }
        }
    }

    /// Runs one statement's worth of reading outside a transaction, again on another connection
    /// when the first one turns out lost.
    fn read<T>(
        &self,
        mut f: impl FnMut(&mut Db<'_, Client>) -> Result<T, postgres::Error>,
    ) -> StorageResult<T> {
        let mut replaced = 0;
        loop {
            let mut conn = self.connection()?;
            let Connection {
                client,
                statements,
                broken,
            } = &mut *conn;
            match f(&mut Db { client, statements }) {
                Ok(value) => return Ok(value),
                Err(e) if lost(&e) && replaced < lost_allowed(&self.pool) => {
                    *broken = true;
                    replaced += 1;
                }
                Err(e) => return Err(mark(broken, e)),
            }
        }
    }
}

/// Whether an error means the connection itself is gone (closed by the server, reset, timed
/// out), not that a statement failed.
fn lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || std::error::Error::source(e)
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
}

/// The error, with its connection marked for the pool to drop when it is lost.
fn mark(broken: &mut bool, e: postgres::Error) -> StorageError {
    *broken |= lost(&e);
    e.into()
}

/// TLS for connections to a database whose URL requires it: the server's certificate checked
/// against `ca_file` (PEM, one or more certificates) or, without one, Mozilla's roots.
fn tls(
    config: &postgres::Config,
    ca_file: Option<&Path>,
) -> StorageResult<Option<MakeRustlsConnect>> {
    if config.get_ssl_mode() != SslMode::Require {
        return match ca_file {
            Some(_) => Err(StorageError::Failed(
                "a CA file is only used with sslmode=require in the database URL".into(),
            )),
            None => Ok(None),
        };
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| {
                StorageError::Failed(format!("cannot read the CA file {}: {e}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
                roots
                    .add(cert.map_err(|e| unreadable(&e))?)
                    .map_err(|e| unreadable(&e))?;
            }
            if roots.is_empty() {
                return Err(unreadable(&"no certificate in it"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::Failed(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// Bounds on what one session may wait for, so that one stalled instance (frozen, or cut off
/// while it holds a space's row lock) cannot hold the others up for long: a statement waits at
/// most 2 s for a lock (then 503, and the device retries), a session idle inside a transaction
/// is ended by the server after 30 s (its locks go with it), a statement runs at most 60 s, a
/// connection is made within 5 s, and a dead peer is noticed by TCP keepalives within a minute
/// or so. Options the URL sets itself come first and are kept.
fn limit_waits(config: &mut postgres::Config) {
    let given = config.get_options().unwrap_or_default().to_string();
    let ours =
        "-c lock_timeout=2s -c idle_in_transaction_session_timeout=30s -c statement_timeout=60s";
    config.options(format!("{given} {ours}").trim());
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
}

/// Whether a failed connection means the database is not up yet (nothing listens, it closed the
/// connection, its name does not resolve yet, it is starting or recovering), as opposed to a
/// refusal that waiting will not change (a certificate, a password, a database that does not
/// exist).
fn not_up_yet(e: &postgres::Error) -> bool {
    use std::io::ErrorKind::*;
    if e.code() == Some(&SqlState::CANNOT_CONNECT_NOW) {
        return true;
    }
    // Any failure to reach it (refused, reset, timed out, a host name that does not resolve
    // yet), but not a TLS handshake that failed on the certificate (invalid data).
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            !matches!(
                io.kind(),
                InvalidData | InvalidInput | PermissionDenied | Unsupported
            )
        })
}

/// A PostgreSQL error with its causes, on one line ("db error" alone says nothing).
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out += &format!(": {s}");
        source = s.source();
    }
    out
}

fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
    )
}

/// A space's row, locked until the transaction ends: its epoch and last sequence numbers.
struct Locked {
    epoch: u32,
    last_seq: i64,
    last_control: i64,
    /// How many `(epoch, record)` pairs of the space were erased.
    erased: i64,
}

fn lock_space(
    db: &mut Db<'_, postgres::Transaction<'_>>,
    space: SpaceId,
) -> Result<Option<Locked>, postgres::Error> {
    Ok(db
        .query_opt(
            "SELECT epoch, last_seq, last_control, erased FROM spaces WHERE space = $1 FOR UPDATE",
            &[&&space[..]],
        )?
        .map(|r| Locked {
            epoch: u32::try_from(r.get::<_, i64>(0)).unwrap_or(u32::MAX),
            last_seq: r.get(1),
            last_control: r.get(2),
            erased: r.get(3),
        }))
}

/// Appends an item to a locked space's control log, or finds it there (same encoded bytes): its
/// sequence number. The caller writes `locked.last_control` back.
fn append_control(
    db: &mut Db<'_, postgres::Transaction<'_>>,
    space: SpaceId,
    locked: &mut Locked,
    item: &ControlBody,
) -> Result<u64, postgres::Error> {
    let body = encode(item);
    let digest = sha256(&body);
    if let Some(row) = db.query_opt(
        "SELECT seq FROM control WHERE space = $1 AND digest = $2",
        &[&&space[..], &&digest[..]],
    )? {
        return Ok(row.get::<_, i64>(0) as u64);
    }
    locked.last_control += 1;
    db.execute(
        "INSERT INTO control (space, seq, digest, body) VALUES ($1, $2, $3, $4)",
        &[&&space[..], &locked.last_control, &&digest[..], &body],
    )?;
    Ok(locked.last_control as u64)
}

fn save_control(
    db: &mut Db<'_, postgres::Transaction<'_>>,
    space: SpaceId,
    locked: &Locked,
) -> Result<(), postgres::Error> {
    db.execute(
        "UPDATE spaces SET last_control = $2 WHERE space = $1",
        &[&&space[..], &locked.last_control],
    )?;
    Ok(())
}

const NO_SUCH_SPACE: StorageError = StorageError::NotFound("no such space");

/// Registers a space with its first, coordinator device (the admin token's route and a space
/// code's redemption alike); `Conflict` when the space exists already.
fn register_space(
    db: &mut Db<'_, postgres::Transaction<'_>>,
    space: SpaceId,
    coordinator: DeviceId,
    token_hash: [u8; 32],
    now_ms: i64,
) -> Outcome<()> {
    let now = whole_seconds(now_ms);
    let inserted = db.execute(
        "INSERT INTO spaces (space, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&&space[..], &now],
    )?;
    if inserted == 0 {
        return Ok(Err(SPACE_EXISTS));
    }
    db.execute(
        "INSERT INTO devices (space, device, token_hash, coordinator, enrolled_at) VALUES ($1, $2, $3, TRUE, $4)",
        &[&&space[..], &&coordinator[..], &&token_hash[..], &now],
    )?;
    Ok(Ok(()))
}

impl Storage for PostgresStorage {
    fn check(&self) -> StorageResult<()> {
        self.read(|db| db.query_one("SELECT 1", &[]).map(|_| ()))
    }

    fn admin_token_hash(&self) -> StorageResult<Option<[u8; 32]>> {
        let value: Option<Vec<u8>> = self.read(|db| {
            Ok(db
                .query_opt("SELECT value FROM meta WHERE key = 'admin_token_hash'", &[])?
                .map(|r| r.get(0)))
        })?;
        Ok(value.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()))
    }

    fn init_admin_token_hash(&self, hash: [u8; 32]) -> StorageResult<[u8; 32]> {
        self.read(|db| {
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('admin_token_hash', $1) ON CONFLICT DO NOTHING",
                &[&&hash[..]],
            )
        })?;
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
        self.transaction(|db| register_space(db, space, coordinator, token_hash, now_ms))
    }

    fn caller(&self, token_hash: [u8; 32]) -> StorageResult<Option<Caller>> {
        self.read(|db| {
            Ok(db
                .query_opt(
                    "SELECT space, device, coordinator, revoked_at IS NOT NULL,
                            CASE WHEN revoked_at IS NOT NULL THEN wipe_order END
                     FROM devices WHERE token_hash = $1",
                    &[&&token_hash[..]],
                )?
                .map(|r| Caller {
                    space: id16(r.get(0)),
                    device: id16(r.get(1)),
                    coordinator: r.get(2),
                    revoked: r.get(3),
                    wipe_order: r.get(4),
                }))
        })
    }

    fn add_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()> {
        self.transaction(|db| {
            if lock_space(db, space)?.is_none() {
                return Ok(Err(NO_SUCH_SPACE));
            }
            let inserted = db.execute(
                "INSERT INTO invites (secret_hash, space, created_by, expires_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&&secret_hash[..], &&space[..], &&by[..], &expires_at_ms],
            )?;
            if inserted == 0 {
                return Ok(Err(StorageError::Conflict("this invite already exists")));
            }
            Ok(Ok(()))
        })
    }

    fn set_recovery(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
    ) -> StorageResult<()> {
        self.transaction(|db| {
            if lock_space(db, space)?.is_none() {
                return Ok(Err(NO_SUCH_SPACE));
            }
            db.execute(
                "DELETE FROM invites WHERE space = $1 AND coordinator",
                &[&&space[..]],
            )?;
            let inserted = db.execute(
                "INSERT INTO invites (secret_hash, space, created_by, expires_at, coordinator)
                 VALUES ($1, $2, $3, $4, TRUE) ON CONFLICT DO NOTHING",
                &[&&secret_hash[..], &&space[..], &&by[..], &i64::MAX],
            )?;
            if inserted == 0 {
                return Ok(Err(StorageError::Conflict("this token already exists")));
            }
            Ok(Ok(()))
        })
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
        let item = ControlBody::Enrolled {
            invite: secret_hash,
            device,
            sign_key: enrolment.sign_key,
            agree_key: enrolment.agree_key,
            mac: enrolment.mac,
        };
        let now = whole_seconds(now_ms);
        self.transaction(|db| {
            // The space's lock first: a revocation of the inviter, or another redemption of the
            // invite, waits for this one or went before it.
            let Some(mut locked) = lock_space(db, space)? else {
                return Ok(Err(StorageError::NotFound(
                    "this invite is unknown, already used or expired",
                )));
            };
            let coordinator: Option<bool> = db
                .query_opt(
                    "DELETE FROM invites
                     WHERE secret_hash = $1 AND space = $2 AND expires_at > $3
                       AND EXISTS (SELECT 1 FROM devices d WHERE d.space = invites.space
                                   AND d.device = invites.created_by AND d.revoked_at IS NULL)
                     RETURNING coordinator",
                    &[&&secret_hash[..], &&space[..], &now_ms],
                )?
                .map(|r| r.get(0));
            let Some(coordinator) = coordinator else {
                return Ok(Err(StorageError::NotFound(
                    "this invite is unknown, already used or expired",
                )));
            };
            let inserted = db.execute(
                "INSERT INTO devices (space, device, token_hash, coordinator, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &&space[..],
                    &&device[..],
                    &&token_hash[..],
                    &coordinator,
                    &now,
                ],
            )?;
            if inserted == 0 {
                return Ok(Err(StorageError::Conflict(
                    "this device is already enrolled in this space",
                )));
            }
            let seq = append_control(db, space, &mut locked, &item)?;
            save_control(db, space, &locked)?;
            db.execute("DELETE FROM invites WHERE expires_at <= $1", &[&now_ms])?;
            Ok(Ok(seq))
        })
    }

    fn add_space_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()> {
        self.transaction(|db| {
            // The space's lock first: a revocation of `by` waits for this or went before it.
            if lock_space(db, space)?.is_none() {
                return Ok(Err(NO_SUCH_SPACE));
            }
            let coordinator = db.query_opt(
                "SELECT 1 FROM devices WHERE space = $1 AND device = $2 AND coordinator
                 AND revoked_at IS NULL",
                &[&&space[..], &&by[..]],
            )?;
            if coordinator.is_none() {
                return Ok(Err(NOT_A_COORDINATOR));
            }
            let inserted = db.execute(
                "INSERT INTO space_invites (secret_hash, space, created_by, expires_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&&secret_hash[..], &&space[..], &&by[..], &expires_at_ms],
            )?;
            if inserted == 0 {
                return Ok(Err(StorageError::Conflict(
                    "this space code already exists",
                )));
            }
            Ok(Ok(()))
        })
    }

    fn create_linked_space(
        &self,
        invite: [u8; 32],
        space: SpaceId,
        coordinator: DeviceId,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<()> {
        self.transaction(|db| {
            // The inviting space's lock first, as an enrolment takes it: a revocation of the
            // inviter, or another redemption of the token, waits for this one or went before it.
            let origin = db
                .query_opt(
                    "SELECT space FROM space_invites WHERE secret_hash = $1",
                    &[&&invite[..]],
                )?
                .map(|r| id16(r.get(0)));
            let Some(origin) = origin else {
                return Ok(Err(SPACE_CODE_REFUSED));
            };
            if lock_space(db, origin)?.is_none() {
                return Ok(Err(SPACE_CODE_REFUSED));
            }
            let used = db.execute(
                "DELETE FROM space_invites
                 WHERE secret_hash = $1 AND expires_at > $2
                   AND EXISTS (SELECT 1 FROM devices d WHERE d.space = space_invites.space
                               AND d.device = space_invites.created_by AND d.coordinator
                               AND d.revoked_at IS NULL)",
                &[&&invite[..], &now_ms],
            )?;
            if used == 0 {
                return Ok(Err(SPACE_CODE_REFUSED));
            }
            // A space id taken already rolls the whole transaction back: the invite stays.
            if let Err(refused) = register_space(db, space, coordinator, token_hash, now_ms)? {
                return Ok(Err(refused));
            }
            // Expired space invites register nothing: they go too.
            db.execute(
                "DELETE FROM space_invites WHERE expires_at <= $1",
                &[&now_ms],
            )?;
            Ok(Ok(()))
        })
    }

    fn devices(&self, space: SpaceId) -> StorageResult<Vec<DeviceEntry>> {
        self.read(|db| {
            Ok(db
                .query(
                    "SELECT device, coordinator, enrolled_at, revoked_at FROM devices WHERE space = $1
                     ORDER BY enrolled_at, coordinator DESC, device",
                    &[&&space[..]],
                )?
                .into_iter()
                .map(|r| DeviceEntry {
                    device: id16(r.get(0)),
                    coordinator: r.get(1),
                    enrolled_at_ms: as_ms(r.get(2)),
                    revoked_at_ms: r.get::<_, Option<i64>>(3).map(as_ms),
                })
                .collect())
        })
    }

    fn revoke(
        &self,
        space: SpaceId,
        device: DeviceId,
        order: Option<&WipeOrder>,
        now_ms: i64,
    ) -> StorageResult<()> {
        let order = order.map(encode);
        let now = whole_seconds(now_ms);
        self.transaction(|db| {
            if lock_space(db, space)?.is_none() {
                return Ok(Err(StorageError::NotFound("no such device in this space")));
            }
            let updated = db.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $3), wipe_order = coalesce(wipe_order, $4)
                 WHERE space = $1 AND device = $2",
                &[&&space[..], &&device[..], &now, &order],
            )?;
            if updated == 0 {
                return Ok(Err(StorageError::NotFound("no such device in this space")));
            }
            // Invites and space invites the revoked device made and nobody used die with it.
            db.execute(
                "DELETE FROM invites WHERE space = $1 AND created_by = $2",
                &[&&space[..], &&device[..]],
            )?;
            db.execute(
                "DELETE FROM space_invites WHERE space = $1 AND created_by = $2",
                &[&&space[..], &&device[..]],
            )?;
            Ok(Ok(()))
        })
    }

    fn make_coordinator(&self, space: SpaceId, device: DeviceId) -> StorageResult<()> {
        self.transaction(|db| {
            let updated = if lock_space(db, space)?.is_some() {
                db.execute(
                    "UPDATE devices SET coordinator = TRUE
                     WHERE space = $1 AND device = $2 AND revoked_at IS NULL",
                    &[&&space[..], &&device[..]],
                )?
            } else {
                0
            };
            if updated == 0 {
                return Ok(Err(StorageError::NotFound(
                    "no such device in this space, or it was revoked",
                )));
            }
            Ok(Ok(()))
        })
    }

    fn post_control(&self, space: SpaceId, items: &[ControlBody]) -> StorageResult<Vec<u64>> {
        self.transaction(|db| {
            let Some(mut locked) = lock_space(db, space)? else {
                return Ok(Err(NO_SUCH_SPACE));
            };
            let erased = match check_post(items, locked.epoch) {
                Ok(erased) => erased,
                Err(refused) => return Ok(Err(refused)),
            };
            if !erased.is_empty() {
                let records: Vec<&[u8]> = erased.iter().map(|r| &r.record[..]).collect();
                let epochs: Vec<i64> = erased.iter().map(|r| i64::from(r.epoch)).collect();
                db.execute(
                    "DELETE FROM envelopes e USING unnest($2::bytea[], $3::bigint[]) AS p(record, epoch)
                     WHERE e.space = $1 AND e.record = p.record AND e.epoch = p.epoch",
                    &[&&space[..], &records, &epochs],
                )?;
                let added = db.execute(
                    "INSERT INTO erased (space, record, epoch)
                     SELECT $1, record, epoch FROM unnest($2::bytea[], $3::bigint[]) AS p(record, epoch)
                     ON CONFLICT DO NOTHING",
                    &[&&space[..], &records, &epochs],
                )?;
                db.execute(
                    "UPDATE spaces SET erased = erased + $2 WHERE space = $1",
                    &[&&space[..], &(added as i64)],
                )?;
            }
            let seqs = items
                .iter()
                .map(|item| append_control(db, space, &mut locked, item))
                .collect::<Result<Vec<u64>, _>>()?;
            save_control(db, space, &locked)?;
            Ok(Ok(seqs))
        })
    }

    fn control(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<ControlPage> {
        let after_sql = i64::try_from(after).unwrap_or(i64::MAX);
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = self.read(|db| {
            db.query(
                "SELECT seq, body FROM control WHERE space = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&&space[..], &after_sql, &limit_sql],
            )
        })?;
        control_page(
            rows.into_iter()
                .map(|r| Ok((r.get::<_, i64>(0) as u64, r.get(1)))),
            after,
            limit,
        )
    }

    fn start_epoch(
        &self,
        space: SpaceId,
        expected: u32,
        by: DeviceId,
    ) -> StorageResult<EpochOutcome> {
        self.transaction(|db| {
            let Some(mut locked) = lock_space(db, space)? else {
                return Ok(Err(NO_SUCH_SPACE));
            };
            if locked.epoch != expected {
                return Ok(Ok(EpochOutcome::Stale(locked.epoch)));
            }
            let Some(epoch) = locked.epoch.checked_add(1) else {
                return Ok(Err(StorageError::Conflict("this space has no epoch left")));
            };
            db.execute(
                "UPDATE spaces SET epoch = $2 WHERE space = $1",
                &[&&space[..], &i64::from(epoch)],
            )?;
            append_control(db, space, &mut locked, &ControlBody::Epoch { epoch, by })?;
            save_control(db, space, &locked)?;
            Ok(Ok(EpochOutcome::Started(epoch)))
        })
    }

    fn push(
        &self,
        space: SpaceId,
        envelopes: &[Envelope],
        now_ms: i64,
        clock_offset_ms: i64,
    ) -> StorageResult<Vec<u64>> {
        let (now, offset) = (whole_seconds(now_ms), rounded_seconds(clock_offset_ms));
        let digests: Vec<[u8; 32]> = envelopes.iter().map(|e| sha256(&e.sealed)).collect();
        let digest_refs: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
        self.transaction(|db| {
            let Some(locked) = lock_space(db, space)? else {
                return Ok(Err(NO_SUCH_SPACE));
            };
            if locked.erased > 0 {
                let records: Vec<&[u8]> = envelopes.iter().map(|e| &e.record[..]).collect();
                let epochs: Vec<i64> = envelopes.iter().map(|e| i64::from(e.epoch)).collect();
                let hit = db.query_opt(
                    "SELECT 1 FROM erased e JOIN unnest($2::bytea[], $3::bigint[]) AS p(record, epoch)
                     ON e.record = p.record AND e.epoch = p.epoch WHERE e.space = $1 LIMIT 1",
                    &[&&space[..], &records, &epochs],
                )?;
                if hit.is_some() {
                    return Ok(Err(ERASED));
                }
            }
            let mut known: HashMap<Vec<u8>, i64> = db
                .query(
                    "SELECT digest, seq FROM envelopes WHERE space = $1 AND digest = ANY($2)",
                    &[&&space[..], &digest_refs],
                )?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let mut last = locked.last_seq;
            let mut seqs = Vec::with_capacity(envelopes.len());
            let mut new = EnvelopeRows::default();
            for (e, digest) in envelopes.iter().zip(&digests) {
                let seq = *known.entry(digest.to_vec()).or_insert_with(|| {
                    last += 1;
                    let at = Placed {
                        space: &space,
                        seq: last,
                        digest,
                        received_at: now,
                        clock_offset: offset,
                    };
                    new.add(at, e);
                    last
                });
                seqs.push(seq as u64);
            }
            if last > locked.last_seq {
                new.insert(db)?;
                db.execute(
                    "UPDATE spaces SET last_seq = $2 WHERE space = $1",
                    &[&&space[..], &last],
                )?;
            }
            Ok(Ok(seqs))
        })
    }

    fn pull(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<Page> {
        let after_sql = i64::try_from(after).unwrap_or(i64::MAX);
        let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1;
        let rows = self.read(|db| {
            db.query(
                "SELECT seq, received_at, clock_offset, record, epoch, nonce, sealed, wrapped_key FROM envelopes
                 WHERE space = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&&space[..], &after_sql, &limit_sql],
            )
        })?;
        envelope_page(
            rows.into_iter().map(|r| {
                let epoch = u32::try_from(r.get::<_, i64>(4)).map_err(|_| {
                    StorageError::Failed("an envelope's epoch is out of range".into())
                })?;
                Ok(stored(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    epoch,
                    r.get(5),
                    r.get(6),
                    r.get(7),
                ))
            }),
            after,
            limit,
        )
    }

    fn totals(&self) -> StorageResult<Totals> {
        self.read(|db| {
            let r = db.query_one(
                "SELECT (SELECT count(*) FROM spaces),
                        (SELECT count(*) FROM envelopes),
                        (SELECT coalesce(sum(length(sealed)), 0)::BIGINT FROM envelopes),
                        (SELECT count(*) FROM devices WHERE revoked_at IS NULL)",
                &[],
            )?;
            Ok(Totals {
                spaces: r.get::<_, i64>(0) as u64,
                envelopes: r.get::<_, i64>(1) as u64,
                envelope_bytes: r.get::<_, i64>(2) as u64,
                active_devices: r.get::<_, i64>(3) as u64,
            })
        })
    }
}

/// Envelopes as they are stored, column by column, for one `INSERT ... unnest`: the envelopes a
/// push adds, or a batch that a migration copies.
#[derive(Default)]
pub(crate) struct EnvelopeRows<'a> {
    space: Vec<&'a [u8]>,
    seq: Vec<i64>,
    digest: Vec<&'a [u8]>,
    record: Vec<&'a [u8]>,
    epoch: Vec<i64>,
    nonce: Vec<&'a [u8]>,
    sealed: Vec<&'a [u8]>,
    key: Vec<Option<&'a [u8]>>,
    received_at: Vec<i64>,
    clock_offset: Vec<i64>,
}

/// Where an envelope goes and when it came: its space, sequence number, digest, arrival time
/// and clock offset (both in seconds, as stored).
pub(crate) struct Placed<'a> {
    pub space: &'a [u8],
    pub seq: i64,
    pub digest: &'a [u8],
    pub received_at: i64,
    pub clock_offset: i64,
}

impl<'a> EnvelopeRows<'a> {
    pub(crate) fn add(&mut self, at: Placed<'a>, e: &'a Envelope) {
        self.space.push(at.space);
        self.seq.push(at.seq);
        self.digest.push(at.digest);
        self.record.push(&e.record);
        self.epoch.push(i64::from(e.epoch));
        self.nonce.push(&e.nonce);
        self.sealed.push(&e.sealed);
        self.key.push(e.key.as_deref());
        self.received_at.push(at.received_at);
        self.clock_offset.push(at.clock_offset);
    }

    pub(crate) fn insert(
        &self,
        db: &mut Db<'_, postgres::Transaction<'_>>,
    ) -> Result<u64, postgres::Error> {
        db.execute(
            "INSERT INTO envelopes (space, seq, digest, record, epoch, nonce, sealed, wrapped_key, received_at, clock_offset)
             SELECT * FROM unnest($1::BYTEA[], $2::BIGINT[], $3::BYTEA[], $4::BYTEA[], $5::BIGINT[], $6::BYTEA[], $7::BYTEA[], $8::BYTEA[], $9::BIGINT[], $10::BIGINT[])",
            &[
                &self.space,
                &self.seq,
                &self.digest,
                &self.record,
                &self.epoch,
                &self.nonce,
                &self.sealed,
                &self.key,
                &self.received_at,
                &self.clock_offset,
            ],
        )
    }
}
