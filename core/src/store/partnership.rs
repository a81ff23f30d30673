//! The tables of partnerships (`crate::partnership` decides what goes in them): in a
//! partnership store, its projections, shared assessments and erasure acknowledgements (index
//! tables), and, on the association's office only, the person each projection shows with what
//! was last published of them (`published`, local state that never leaves the device); in a
//! team's store, the persons with a consent decision about a partner.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::{CoreError, RecordId, Result};

/// What the office last published of one person to this store's partner.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Published {
    pub projection: RecordId,
    pub assessment: Option<RecordId>,
    pub categories: Vec<String>,
    /// Each field's value as last published, as text.
    pub fields: BTreeMap<String, String>,
}

fn id(bytes: Vec<u8>) -> Result<RecordId> {
    RecordId::from_slice(&bytes).ok_or_else(|| CoreError::corrupt("bad record id"))
}

/// What was last published of `person`, if anything.
pub(crate) fn published(conn: &Connection, person: RecordId) -> Result<Option<Published>> {
    /// The row's projection, assessment, categories and fields.
    type Row = (Vec<u8>, Option<Vec<u8>>, String, String);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT projection, assessment, categories, fields FROM published WHERE person_id = ?1",
        )?
        .query_row([person.as_bytes()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((projection, assessment, categories, fields)) = row else {
        return Ok(None);
    };
    Ok(Some(Published {
        projection: id(projection)?,
        assessment: assessment.map(id).transpose()?,
        categories: categories
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        fields: serde_json::from_str(&fields)
            .map_err(|_| CoreError::corrupt("a publication's fields"))?,
    }))
}

/// Keeps what was just published of `person`.
pub(crate) fn keep_published(
    conn: &Connection,
    person: RecordId,
    p: &Published,
    at_ms: i64,
) -> Result<()> {
    let fields =
        serde_json::to_string(&p.fields).map_err(|e| CoreError::corrupt(format!("{e}")))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO published (person_id, projection, assessment, categories, fields, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        person.as_bytes(),
        p.projection.as_bytes(),
        p.assessment.map(|a| a.as_bytes().to_vec()),
        p.categories.join(","),
        fields,
        at_ms
    ])?;
    Ok(())
}

/// Forgets what was published of `person` (their projection was erased): the row is zeroed
/// where it lay (secure deletion) and the write-ahead log emptied, as an erasure does, since it
/// holds the values that were published.
pub(crate) fn forget_published(conn: &Connection, person: RecordId) -> Result<()> {
    super::erasure::secure_delete(conn)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = (|| -> Result<()> {
        conn.prepare_cached("DELETE FROM published WHERE person_id = ?1")?
            .execute([person.as_bytes()])?;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('scrub_pending', x'01')",
        )?
        .execute([])?;
        Ok(())
    })();
    match done {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    super::erasure::scrub(conn)
}

/// The persons something was published of, with their projections.
pub(crate) fn published_persons(conn: &Connection) -> Result<Vec<(RecordId, RecordId)>> {
    let mut stmt =
        conn.prepare_cached("SELECT person_id, projection FROM published ORDER BY person_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    rows.map(|row| {
        let (p, j) = row?;
        Ok((id(p)?, id(j)?))
    })
    .collect()
}

/// The persons of a team's store with a consent decision about `partner`.
pub(crate) fn persons_with_consents(conn: &Connection, partner: &str) -> Result<Vec<RecordId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT person_id FROM consents WHERE partner = ?1 AND person_id IS NOT NULL
         ORDER BY person_id",
    )?;
    let rows = stmt.query_map([partner], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| id(row?)).collect()
}

/// Every person of the team's store still on the active list (for the team's restricted
/// devices).
pub(crate) fn active_persons(conn: &Connection) -> Result<Vec<RecordId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id FROM persons
         WHERE coalesce(status, 'active') = 'active' AND merged_root IS NULL
         ORDER BY record_id",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| id(row?)).collect()
}

/// The projections this partnership store holds, oldest first.
pub(crate) fn projections(conn: &Connection) -> Result<Vec<RecordId>> {
    let mut stmt =
        conn.prepare_cached("SELECT record_id FROM projections ORDER BY created_at, record_id")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| id(row?)).collect()
}

/// The shared assessment of `projection`, if there is one (the first made, should two be).
pub(crate) fn assessment_of(conn: &Connection, projection: RecordId) -> Result<Option<RecordId>> {
    conn.prepare_cached(
        "SELECT record_id FROM shared_assessments WHERE person_id = ?1
         ORDER BY created_at, record_id LIMIT 1",
    )?
    .query_row([projection.as_bytes()], |r| r.get::<_, Vec<u8>>(0))
    .optional()?
    .map(id)
    .transpose()
}

/// One acknowledgement of an erasure order by a partner's device.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ErasureAck {
    /// The order's sequence number in the partnership space's control log.
    pub order: u64,
    /// The device that carried it out (its id, hex).
    pub device: String,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every acknowledgement this store holds, by order.
pub(crate) fn erasure_acks(conn: &Connection) -> Result<Vec<ErasureAck>> {
    let mut stmt = conn.prepare_cached(
        "SELECT order_seq, device, at FROM erasure_acks WHERE order_seq IS NOT NULL
         ORDER BY order_seq, device",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ErasureAck {
            order: r.get::<_, i64>(0)?.max(0) as u64,
            device: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            at: r
                .get::<_, Option<i64>>(2)?
                .and_then(chrono::DateTime::from_timestamp_millis),
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
