//! The change log, the source of truth: every Automerge change by record, the compacted
//! snapshots, loading a record's document, and the relay times of received changes.

use std::collections::HashMap;

use automerge::{AutoCommit, Change};
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::fields::Kind;
use crate::{CoreError, RecordId, Result};

/// A snapshot is refreshed when a record has this many changes past its last snapshot.
const SNAPSHOT_EVERY: i64 = 16;

/// Every record whose kind is known, with its kind, in id order.
pub(crate) fn all_records(conn: &Connection) -> Result<Vec<(RecordId, Kind)>> {
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

/// Whether the store holds any change of `id`.
pub(crate) fn record_exists(conn: &Connection, id: RecordId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM changes WHERE record_id = ?1 LIMIT 1")?
        .exists([id.as_bytes()])?)
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

/// Stores a change of record `id`, with the record's kind when it is known (a change received
/// before the one that says what its record is waits with none) and its author's signature when
/// it has one (a local change is signed when it first leaves); returns whether it was new.
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
        None,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_raw_change(
    tx: &Connection,
    id: RecordId,
    kind: Option<Kind>,
    hash: &automerge::ChangeHash,
    bytes: &[u8],
    local: bool,
    now_ms: i64,
    signature: Option<&[u8]>,
) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO changes (record_id, hash, bytes, local, received_at, kind, signature)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            id.as_bytes(),
            hash.0,
            bytes,
            local,
            now_ms,
            kind.map(Kind::name),
            signature
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

/// Relay time and device clock offset of each change of a record that came through the relay.
pub(crate) type RelayTimes = HashMap<[u8; 32], (i64, Option<i64>)>;

pub(crate) fn relay_times(conn: &Connection, id: RecordId) -> Result<RelayTimes> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, relay_at, clock_offset FROM changes WHERE record_id = ?1 AND relay_at IS NOT NULL",
    )?;
    let rows = stmt.query_map([id.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (hash, at, offset) = row?;
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            out.insert(hash, (at, offset));
        }
    }
    Ok(out)
}

/// A change as stored, with the relay's time and how far the writing device's clock was from it
/// (for a change that came through the relay).
pub(crate) struct StoredChange {
    pub(crate) change: Change,
    pub(crate) relay_at: Option<i64>,
    pub(crate) clock_offset: Option<i64>,
}

/// A record's creating change (the only one with no dependencies), read from its row without
/// loading the document; `None` when the store holds no such change. Rows are read in local
/// order, so it is nearly always the first one read (an encounter is one change, mostly): only a
/// change received before its record's creation comes earlier.
pub(crate) fn creating_change(conn: &Connection, id: RecordId) -> Result<Option<StoredChange>> {
    let mut stmt = conn.prepare_cached(
        "SELECT bytes, relay_at, clock_offset FROM changes WHERE record_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id.as_bytes()])?;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        let change = Change::try_from(&bytes[..])
            .map_err(|e| CoreError::corrupt(format!("stored change: {e}")))?;
        if change.deps().is_empty() {
            return Ok(Some(StoredChange {
                change,
                relay_at: row.get(1)?,
                clock_offset: row.get(2)?,
            }));
        }
    }
    Ok(None)
}
