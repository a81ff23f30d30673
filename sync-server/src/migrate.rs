//! Moving a relay from its SQLite file to PostgreSQL (`allervers-relay migrate`): spaces with
//! their epochs, devices with their token hashes and wipe orders, invites, space invites,
//! envelopes and control items with their sequence numbers, the records erasure orders erased, the admin token's hash. Devices keep their tokens and
//! cursors: pointed at the new address (`allervers space set-relay`), they continue where they
//! were. The copy is one PostgreSQL transaction, made while the SQLite file is held under its
//! write lock; the counts of both sides are compared before it commits. Then, still under that
//! lock, the file is marked as moved: a relay still running on it serves and writes nothing more
//! (503, "this relay has moved"), and none starts on it, so nothing is acknowledged there that
//! the new database lacks.

use std::fmt;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use rusqlite::{Connection, TransactionBehavior};

use allervers_protocol::Envelope;

use crate::storage::postgres::{Db, EnvelopeRows, Placed, PostgresOptions, PostgresStorage};
use crate::storage::sqlite::MOVED;
use crate::storage::{SqliteStorage, StorageError};
use crate::storage_reason;

/// Envelopes copied per statement.
const BATCH: usize = 500;

/// What was copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub spaces: u64,
    pub devices: u64,
    pub invites: u64,
    /// Pending space invites (a coordinator's one-time codes that register a new space).
    pub space_invites: u64,
    pub envelopes: u64,
    pub control: u64,
    /// The `(epoch, record)` pairs erasure orders erased, whose pushes stay refused.
    pub erased: u64,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "copied {} spaces, {} devices, {} invites, {} space invites, {} envelopes, {} control items and {} erased records",
            self.spaces,
            self.devices,
            self.invites,
            self.space_invites,
            self.envelopes,
            self.control,
            self.erased
        )
    }
}

/// Copies the relay data in the folder `from` into the PostgreSQL database at `to`, which must
/// hold no relay data yet.
pub fn sqlite_to_postgres(
    from: &Path,
    to: &str,
    options: &PostgresOptions,
) -> Result<Moved, String> {
    to.parse::<postgres::Config>()
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
    let file = from.join("relay.db");
    if !file.is_file() {
        return Err(format!("no relay database in {}", from.display()));
    }
    // Brought to this relay's schema first, as a start of the relay would.
    SqliteStorage::open(&file)
        .map_err(|e| format!("cannot open {}: {}", file.display(), storage_reason(&e)))?;
    let mut source =
        Connection::open(&file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    source
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    // The write lock for the whole copy: a relay still running on the file waits, and what the
    // copy reads is one state of it.
    let source = source
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| {
            format!(
                "cannot lock {} (is a relay still writing to it?): {e}",
                file.display()
            )
        })?;
    let target = PostgresStorage::connect(to, options).map_err(|e| {
        format!(
            "cannot open the PostgreSQL database: {}",
            storage_reason(&e)
        )
    })?;
    let expected = counts(&source).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let bar = ProgressBar::new(expected.envelopes);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} envelopes ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("copying");
    let moved = target
        .transaction(|db| {
            let empty: bool = db
                .query_one(
                    "SELECT NOT EXISTS (SELECT 1 FROM spaces) AND NOT EXISTS (SELECT 1 FROM meta)",
                    &[],
                )?
                .get(0);
            if !empty {
                return Ok(Err(StorageError::Conflict(
                    "the PostgreSQL database already holds a relay's data",
                )));
            }
            bar.set_position(0);
            let moved = match copy(&source, db, &bar)? {
                Ok(moved) => moved,
                Err(why) => return Ok(Err(StorageError::Failed(why))),
            };
            if moved != expected {
                return Ok(Err(StorageError::Failed(format!(
                    "the copy does not match its source ({moved}; the source has {expected})"
                ))));
            }
            Ok(Ok(moved))
        })
        .map_err(|e| format!("nothing was copied: {}", storage_reason(&e)))?;
    bar.finish_and_clear();
    let marked = source
        .execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, CAST(strftime('%s', 'now') AS TEXT))",
            [MOVED],
        )
        .and_then(|_| source.commit());
    if let Err(e) = marked {
        return Err(format!(
            "{moved}, but {} could not be marked as moved ({e}): stop any relay still running on it",
            file.display()
        ));
    }
    Ok(moved)
}

fn counts(source: &Connection) -> rusqlite::Result<Moved> {
    let count = |table: &str| -> rusqlite::Result<u64> {
        source.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0).map(|n| n as u64)
        })
    };
    Ok(Moved {
        spaces: count("spaces")?,
        devices: count("devices")?,
        invites: count("invites")?,
        space_invites: count("space_invites")?,
        envelopes: count("envelopes")?,
        control: count("control")?,
        erased: count("erased")?,
    })
}

/// Copies every table; a source that cannot be read is `Ok(Err(why))`, a target that fails is
/// `Err`.
fn copy(
    source: &Connection,
    db: &mut Db<'_, postgres::Transaction<'_>>,
    bar: &ProgressBar,
) -> Result<Result<Moved, String>, postgres::Error> {
    macro_rules! read {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Ok(Err(format!("cannot read the SQLite database: {e}"))),
            }
        };
    }
    let mut moved = Moved::default();
    let meta: Vec<(String, Vec<u8>)> = read!(rows(source, "SELECT key, value FROM meta", |r| Ok(
        (r.get(0)?, r.get(1)?)
    )));
    for (key, value) in &meta {
        db.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)",
            &[key, value],
        )?;
    }
    // Each space's counters continue from its largest numbers: SQLite numbers all spaces in one
    // sequence, so a space's numbers have gaps, and keep them.
    let spaces: Vec<(Vec<u8>, i64, i64, i64, i64)> = read!(rows(
        source,
        "SELECT space, created_at, epoch,
                (SELECT coalesce(max(seq), 0) FROM envelopes e WHERE e.space = spaces.space),
                (SELECT coalesce(max(seq), 0) FROM control c WHERE c.space = spaces.space)
         FROM spaces",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    ));
    for (space, created_at, epoch, last_seq, last_control) in &spaces {
        db.execute(
            "INSERT INTO spaces (space, created_at, epoch, last_seq, last_control) VALUES ($1, $2, $3, $4, $5)",
            &[space, created_at, epoch, last_seq, last_control],
        )?;
        moved.spaces += 1;
    }
    type Device = (
        Vec<u8>,
        Vec<u8>,
        Vec<u8>,
        bool,
        i64,
        Option<i64>,
        Option<Vec<u8>>,
    );
    let devices: Vec<Device> = read!(rows(
        source,
        "SELECT space, device, token_hash, coordinator, enrolled_at, revoked_at, wipe_order FROM devices",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
    ));
    for (space, device, token_hash, coordinator, enrolled_at, revoked_at, wipe_order) in &devices {
        db.execute(
            "INSERT INTO devices (space, device, token_hash, coordinator, enrolled_at, revoked_at, wipe_order)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[space, device, token_hash, coordinator, enrolled_at, revoked_at, wipe_order],
        )?;
        moved.devices += 1;
    }
    type Invite = (Vec<u8>, Vec<u8>, Vec<u8>, i64, bool);
    let invites: Vec<Invite> = read!(rows(
        source,
        "SELECT secret_hash, space, created_by, expires_at, coordinator FROM invites",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    ));
    for (secret_hash, space, created_by, expires_at, coordinator) in &invites {
        db.execute(
            "INSERT INTO invites (secret_hash, space, created_by, expires_at, coordinator) VALUES ($1, $2, $3, $4, $5)",
            &[secret_hash, space, created_by, expires_at, coordinator],
        )?;
        moved.invites += 1;
    }
    type SpaceInvite = (Vec<u8>, Vec<u8>, Vec<u8>, i64);
    let space_invites: Vec<SpaceInvite> = read!(rows(
        source,
        "SELECT secret_hash, space, created_by, expires_at FROM space_invites",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    ));
    for (secret_hash, space, created_by, expires_at) in &space_invites {
        db.execute(
            "INSERT INTO space_invites (secret_hash, space, created_by, expires_at) VALUES ($1, $2, $3, $4)",
            &[secret_hash, space, created_by, expires_at],
        )?;
        moved.space_invites += 1;
    }
    type Item = (Vec<u8>, i64, Vec<u8>, Vec<u8>);
    let control: Vec<Item> = read!(rows(
        source,
        "SELECT space, seq, digest, body FROM control ORDER BY seq",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    ));
    for (space, seq, digest, body) in &control {
        db.execute(
            "INSERT INTO control (space, seq, digest, body) VALUES ($1, $2, $3, $4)",
            &[space, seq, digest, body],
        )?;
        moved.control += 1;
    }
    let erased: Vec<(Vec<u8>, Vec<u8>, i64)> = read!(rows(
        source,
        "SELECT space, record, epoch FROM erased",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    ));
    for (space, record, epoch) in &erased {
        db.execute(
            "INSERT INTO erased (space, record, epoch) VALUES ($1, $2, $3)",
            &[space, record, epoch],
        )?;
        db.execute(
            "UPDATE spaces SET erased = erased + 1 WHERE space = $1",
            &[space],
        )?;
        moved.erased += 1;
    }
    // Envelopes, in batches, so that a large relay is never held in memory whole.
    let mut after = 0i64;
    loop {
        let batch: Vec<EnvelopeRow> = read!(rows_after(source, after));
        let Some(last) = batch.last() else { break };
        after = last.seq;
        let mut rows = EnvelopeRows::default();
        for r in &batch {
            rows.add(r.placed(), &r.envelope);
        }
        rows.insert(db)?;
        moved.envelopes += batch.len() as u64;
        bar.inc(batch.len() as u64);
    }
    Ok(Ok(moved))
}

fn rows<T>(
    source: &Connection,
    sql: &str,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    source.prepare(sql)?.query_map([], f)?.collect()
}

/// A column of `N` bytes; any other length is an error (the file is not what it should be).
fn fixed<const N: usize>(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<[u8; N]> {
    let bytes: Vec<u8> = row.get(i)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            format!("{} bytes where {N} were expected", bytes.len()).into(),
        )
    })
}

/// An envelope as SQLite stores it.
struct EnvelopeRow {
    space: Vec<u8>,
    seq: i64,
    digest: Vec<u8>,
    envelope: Envelope,
    received_at: i64,
    clock_offset: i64,
}

impl EnvelopeRow {
    fn placed(&self) -> Placed<'_> {
        Placed {
            space: &self.space,
            seq: self.seq,
            digest: &self.digest,
            received_at: self.received_at,
            clock_offset: self.clock_offset,
        }
    }
}

fn rows_after(source: &Connection, after: i64) -> rusqlite::Result<Vec<EnvelopeRow>> {
    source
        .prepare_cached(
            "SELECT space, seq, digest, record, epoch, nonce, sealed, wrapped_key, received_at, clock_offset
             FROM envelopes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(rusqlite::params![after, BATCH as i64], |r| {
            Ok(EnvelopeRow {
                space: r.get(0)?,
                seq: r.get(1)?,
                digest: r.get(2)?,
                envelope: Envelope {
                    record: fixed(r, 3)?,
                    epoch: r.get(4)?,
                    nonce: fixed(r, 5)?,
                    sealed: r.get(6)?,
                    key: r.get(7)?,
                },
                received_at: r.get(8)?,
                clock_offset: r.get(9)?,
            })
        })?
        .collect()
}
