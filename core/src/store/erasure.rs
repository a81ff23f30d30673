//! What an erasure (GDPR article 17) does to the store: every row that holds an erased record
//! (its changes, snapshot, index rows, conflicts, record keys, the envelopes it was sealed into
//! and those set aside under its blinded ids) deleted in the caller's transaction, a tombstone
//! per record so that nothing received later brings it back; secure deletion on, so that no
//! freed cell or page of the database file keeps the deleted content, and the write-ahead log
//! emptied afterwards, so that no older frame keeps it either. The orders themselves (made,
//! checked and sealed in `sync/erasure.rs`) are logged here with what became of them.

use std::collections::BTreeSet;

use allervers_protocol::{BlindedRecord, ControlBody, Envelope, SpaceId};
use rusqlite::{params, Connection, OptionalExtension};

use super::{index, load_doc, record_kind};
use crate::model::fields::Kind;
use crate::{CoreError, RecordId, Result};

/// A record to erase: its id and whether it was shared with other persons (an encounter
/// re-issued without the erased person), whose later edits are set aside for review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ToErase {
    pub record: RecordId,
    pub shared: bool,
}

/// What is known here of an erased record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tombstone {
    pub shared: bool,
}

/// The tombstone of `id`, if it was erased.
pub(crate) fn tombstone(conn: &Connection, id: RecordId) -> Result<Option<Tombstone>> {
    Ok(conn
        .prepare_cached("SELECT shared FROM erased WHERE record_id = ?1")?
        .query_row([id.as_bytes()], |r| {
            Ok(Tombstone {
                shared: r.get::<_, bool>(0)?,
            })
        })
        .optional()?)
}

/// Why a received edit of an erased shared record is set aside.
pub(crate) const EDITS_ERASED: &str =
    "edits a record shared with a person erased since (it was re-issued without them): review it";
/// Why a received record about an erased person is set aside.
pub(crate) const REFERS_TO_ERASED: &str = "refers to an erased person";

/// The erased person a record of `kind` refers to, as its index rows say, if any.
pub(crate) fn refers_to_erased(
    conn: &Connection,
    kind: Kind,
    id: RecordId,
) -> Result<Option<RecordId>> {
    // Actions, referrals, consent decisions and health notes and contacts name their person in
    // a column of their table.
    let table = match kind {
        Kind::Action => Some("actions"),
        Kind::Referral => Some("referrals"),
        Kind::Consent => Some("consents"),
        Kind::HealthNote => Some("health_notes"),
        Kind::HealthContact => Some("health_contacts"),
        Kind::HealthProfile => Some("health_profiles"),
        Kind::SharedAssessment => Some("shared_assessments"),
        Kind::HouseholdMember => Some("household_members"),
        Kind::JourneyPeriod => Some("journey_periods"),
        Kind::HousingApplication => Some("housing_applications"),
        Kind::Home => Some("homes"),
        Kind::RiskSignal => Some("risk_signals"),
        Kind::Proposal => Some("proposals"),
        Kind::OwnView => Some("own_views"),
        _ => None,
    };
    // The records of the housing journey may name a household instead: one erased with the
    // only person it ever had (`households_alone`) is as erased as that person.
    let by_household = matches!(
        kind,
        Kind::HouseholdMember
            | Kind::JourneyPeriod
            | Kind::HousingApplication
            | Kind::Home
            | Kind::RiskSignal
            | Kind::Proposal
    );
    let sql = match (kind, table) {
        (_, Some(table)) if by_household => format!(
            "SELECT coalesce(
                 (SELECT e.person FROM erased e
                   WHERE e.record_id = t.person_id AND e.person = t.person_id),
                 (SELECT e.person FROM erased e WHERE e.record_id = t.household_id))
               FROM {table} t WHERE t.record_id = ?1"
        ),
        (_, Some(table)) => format!(
            "SELECT t.person_id FROM {table} t JOIN erased e
                ON e.record_id = t.person_id AND e.person = t.person_id
              WHERE t.record_id = ?1"
        ),
        (Kind::Encounter, _) => "SELECT p.person_id FROM encounter_persons p JOIN erased e
                ON e.record_id = p.person_id AND e.person = p.person_id
              WHERE p.encounter_id = ?1 LIMIT 1"
            .to_string(),
        _ => return Ok(None),
    };
    let found: Option<Option<Vec<u8>>> = conn
        .prepare_cached(&sql)?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?;
    Ok(found.flatten().and_then(|b| RecordId::from_slice(&b)))
}

/// The records about a person in the index: their actions, referrals and consent decisions (with
/// their kinds), and the encounters that met them.
pub(crate) struct About {
    pub others: Vec<(RecordId, Kind)>,
    pub encounters: Vec<RecordId>,
}

/// The records about `person` in the index.
pub(crate) fn about_person(conn: &Connection, person: RecordId) -> Result<About> {
    // Actions, referrals and consent decisions.
    let mut others = super::person_follow_ups(conn, person)?;
    others.extend(households_alone(conn, person)?);
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT encounter_id FROM encounter_persons WHERE person_id = ?1 ORDER BY encounter_id",
    )?;
    let rows = stmt.query_map([person.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
    let mut encounters = Vec::new();
    for row in rows {
        encounters
            .push(RecordId::from_slice(&row?).ok_or_else(|| CoreError::corrupt("bad record id"))?);
    }
    Ok(About { others, encounters })
}

/// What of the households `person` belonged to is theirs alone:
/// - a household of which they are the only member ever recorded, whole, with every record
///   about it (its journey's periods, housing applications, homes, the risks to those homes and
///   the offers proposed to it): its name and journey would still say who the person was once
///   their membership is erased;
/// - a household whose other members all left it before them, the records about it that begin
///   on or after the day the last of them left (and before the person left, if they did): those
///   are about this person alone. The household stays, with what it lived while the others
///   were in it: that is their history too.
fn households_alone(conn: &Connection, person: RecordId) -> Result<Vec<(RecordId, Kind)>> {
    // (household, left) of every membership of the person.
    let mut stmt = conn.prepare_cached(
        "SELECT household_id, left_on FROM household_members
          WHERE person_id = ?1 AND household_id IS NOT NULL ORDER BY household_id",
    )?;
    let memberships: Vec<(Vec<u8>, Option<String>)> = stmt
        .query_map([person.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // Their last day in each household: none while they are in it.
    let mut households: std::collections::BTreeMap<Vec<u8>, Option<String>> = Default::default();
    for (household, left) in memberships {
        let entry = households.entry(household).or_insert(Some(String::new()));
        *entry = match (entry.take(), left) {
            (None, _) | (_, None) => None,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
    }
    let mut out = Vec::new();
    for (household, until) in households {
        let others: Vec<Option<String>> = conn
            .prepare_cached(
                "SELECT left_on FROM household_members WHERE household_id = ?1 AND person_id != ?2",
            )?
            .query_map(params![household, person.as_bytes()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // From when the household is theirs alone: always, or since the last other member left.
        let since: Option<String> = if others.is_empty() {
            None
        } else if let Some(last) = others
            .iter()
            .cloned()
            .collect::<Option<Vec<String>>>()
            .and_then(|left| left.into_iter().max())
        {
            if until.as_ref().is_some_and(|until| *until <= last) {
                continue; // they left before, or with, the last of the others
            }
            Some(last)
        } else {
            continue; // another member is still in it
        };
        // A household wholly theirs goes whole, even what was recorded after they left it.
        let until = if since.is_none() { None } else { until };
        let mut homes: Vec<Vec<u8>> = Vec::new();
        for (table, kind, day) in [
            ("journey_periods", Kind::JourneyPeriod, "started_on"),
            ("housing_applications", Kind::HousingApplication, "filed_on"),
            ("homes", Kind::Home, "entered_on"),
            ("risk_signals", Kind::RiskSignal, "raised_on"),
            ("proposals", Kind::Proposal, "proposed_on"),
        ] {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT record_id FROM {table}
                  WHERE household_id = ?1
                    AND (?2 IS NULL OR {day} >= ?2) AND (?3 IS NULL OR {day} < ?3)
                  ORDER BY created_at, record_id"
            ))?;
            let mut rows: Vec<Vec<u8>> = stmt
                .query_map(params![household, since, until], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if kind == Kind::Home {
                homes = rows.clone();
            }
            if kind == Kind::RiskSignal && since.is_some() {
                // The risks to a home erased with them, whenever raised.
                for home in &homes {
                    let mut stmt = conn.prepare_cached(
                        "SELECT record_id FROM risk_signals WHERE home_id = ?1
                          ORDER BY created_at, record_id",
                    )?;
                    for r in stmt.query_map([home], |r| r.get::<_, Vec<u8>>(0))? {
                        let r = r?;
                        if !rows.contains(&r) {
                            rows.push(r);
                        }
                    }
                }
            }
            for r in rows {
                out.push((super::merge::id_of(&r)?, kind));
            }
        }
        if since.is_none() {
            out.push((super::merge::id_of(&household)?, Kind::Household));
        }
    }
    Ok(out)
}

/// The persons erased from this store, by id.
pub(crate) fn erased_persons(conn: &Connection) -> Result<Vec<RecordId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT person FROM erased WHERE record_id = person ORDER BY person",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| RecordId::from_slice(&row?).ok_or_else(|| CoreError::corrupt("bad record id")))
        .collect()
}

/// The person whose erasure erased `id`, if it was erased.
pub(crate) fn erased_for(conn: &Connection, id: RecordId) -> Result<Option<RecordId>> {
    let person: Option<Vec<u8>> = conn
        .prepare_cached("SELECT person FROM erased WHERE record_id = ?1")?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()?;
    Ok(person.and_then(|p| RecordId::from_slice(&p)))
}

/// Whether every change of `id` was written here and none has left for a relay yet (a record
/// created offline): `false` for a record this store never had.
pub(crate) fn created_here_unsent(conn: &Connection, id: RecordId) -> Result<bool> {
    let (all, unsent): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(local = 1 AND relay_at IS NULL
                 AND seq > coalesce((SELECT min(push_cursor) FROM spaces), 0)), 0)
             FROM changes WHERE record_id = ?1",
        )?
        .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(all > 0 && all == unsent)
}

/// What an erasure deleted here, in counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Deleted {
    /// Erased records this store held.
    pub records: usize,
    /// Their change rows.
    pub changes: usize,
    /// Envelopes set aside here whose blinded id the order lists.
    pub set_aside: usize,
}

impl Deleted {
    pub(crate) fn add(&mut self, more: Deleted) {
        self.records += more.records;
        self.changes += more.changes;
        self.set_aside += more.set_aside;
    }
}

/// Deletes every trace of `records` (tombstones kept, under `person`) in the caller's
/// transaction, and the envelopes held or quarantined in `space` under one of `blinded`.
pub(crate) fn delete(
    conn: &Connection,
    records: &[ToErase],
    person: RecordId,
    blinded: Option<(&SpaceId, &BTreeSet<BlindedRecord>)>,
    at_ms: i64,
) -> Result<Deleted> {
    let mut deleted = Deleted::default();
    for r in records {
        let id = r.record;
        let key = id.as_bytes();
        match record_kind(conn, id) {
            Ok(kind) => {
                let mut doc = load_doc(conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
                let before = index::Before::read(Some(kind), &mut doc);
                index::remove(conn, kind, id, &before)?;
                deleted.records += 1;
            }
            Err(CoreError::RecordNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        // The rows keyed by the record (`index::remove` took the others, found from its
        // document); a record whose kind never arrived here (changes waiting for their
        // creation) has no index rows.
        for sql in [
            "DELETE FROM persons WHERE record_id = ?1",
            "DELETE FROM actions WHERE record_id = ?1",
            "DELETE FROM referrals WHERE record_id = ?1",
            "DELETE FROM consents WHERE record_id = ?1",
            "DELETE FROM health_notes WHERE record_id = ?1",
            "DELETE FROM health_contacts WHERE record_id = ?1",
            "DELETE FROM health_profiles WHERE record_id = ?1",
            "DELETE FROM projections WHERE record_id = ?1",
            "DELETE FROM shared_assessments WHERE record_id = ?1",
            "DELETE FROM households WHERE record_id = ?1",
            "DELETE FROM household_members WHERE record_id = ?1",
            "DELETE FROM journey_periods WHERE record_id = ?1",
            "DELETE FROM housing_applications WHERE record_id = ?1",
            "DELETE FROM homes WHERE record_id = ?1",
            "DELETE FROM risk_signals WHERE record_id = ?1",
            "DELETE FROM housing_offers WHERE record_id = ?1",
            "DELETE FROM proposals WHERE record_id = ?1",
            "DELETE FROM own_views WHERE record_id = ?1",
            "DELETE FROM conflicts WHERE record_id = ?1",
            "DELETE FROM snapshots WHERE record_id = ?1",
            "DELETE FROM record_keys WHERE record_id = ?1",
            "DELETE FROM sealed WHERE seq IN (SELECT seq FROM changes WHERE record_id = ?1)",
        ] {
            conn.prepare_cached(sql)?.execute([key])?;
        }
        deleted.changes += conn
            .prepare_cached("DELETE FROM changes WHERE record_id = ?1")?
            .execute([key])?;
        conn.prepare_cached(
            "INSERT OR IGNORE INTO erased (record_id, person, shared, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![key, person.as_bytes(), r.shared, at_ms])?;
    }
    // Rows keyed by time, scanned once for the whole erasure.
    conn.prepare_cached("DELETE FROM situation_changes WHERE person_id = ?1")?
        .execute([person.as_bytes()])?;
    // Persons merged into the one erased resolve again (their own erasure follows theirs).
    super::merge::resolve(conn)?;
    super::drafts::drop_naming(conn, person)?;
    if let Some((space, blinded)) = blinded {
        deleted.set_aside += delete_set_aside(conn, space, blinded)?;
    }
    // A change's number is the largest one plus one: with the last changes gone, the next ones
    // would get numbers the push cursors have passed already, and never leave. The cursors come
    // back to the last change kept (nothing lies between).
    conn.prepare_cached(
        "UPDATE spaces SET push_cursor = (SELECT coalesce(max(seq), 0) FROM changes)
         WHERE push_cursor > (SELECT coalesce(max(seq), 0) FROM changes)",
    )?
    .execute([])?;
    if deleted != Deleted::default() {
        // Until the log is emptied (`scrub`), with the deletions: an emptying that fails (a disk
        // full, another process reading) is done again at the next erasure or sync.
        conn.prepare_cached(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('scrub_pending', x'01')",
        )?
        .execute([])?;
    }
    Ok(deleted)
}

/// Deletes the envelopes held or quarantined in `space` whose `(epoch, blinded id)` is listed.
fn delete_set_aside(
    conn: &Connection,
    space: &SpaceId,
    blinded: &BTreeSet<BlindedRecord>,
) -> Result<usize> {
    let mut count = 0;
    for table in ["held", "quarantine"] {
        let rows: Vec<(i64, Vec<u8>)> = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT seq, envelope FROM {table} WHERE space = ?1"
            ))?;
            let rows = stmt.query_map([space], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        for (seq, bytes) in rows {
            let Ok(envelope) = allervers_protocol::decode::<Envelope>(&bytes) else {
                continue;
            };
            let listed = BlindedRecord {
                epoch: envelope.epoch,
                record: envelope.record,
            };
            if blinded.contains(&listed) {
                count += conn
                    .prepare_cached(&format!(
                        "DELETE FROM {table} WHERE space = ?1 AND seq = ?2"
                    ))?
                    .execute(params![space, seq])?;
            }
        }
    }
    Ok(count)
}

/// Makes sure SQLite's secure deletion is on for this connection: deleted cells and freed pages
/// are overwritten with zeros, so the database file keeps nothing an erasure deleted. SQLCipher
/// turns it on for every keyed connection already (every write of the store has always run with
/// it, the write benchmark's included); an erasure does not depend on that default. It is never
/// turned off.
pub(crate) fn secure_delete(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

/// Moves the write-ahead log into the database file and empties it
/// (`wal_checkpoint(TRUNCATE)`): the log's older frames still hold the pages as they were before
/// the erasure. Outside any transaction. When another connection's reading stops the
/// checkpoint, the mark stays and the next sync or erasure does it again.
pub(crate) fn scrub(conn: &Connection) -> Result<()> {
    let checkpoint = |conn: &Connection| -> Result<bool> {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    };
    if !checkpoint(conn)? {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM meta WHERE key = 'scrub_pending'")?
        .execute([])?;
    // The mark's own deletion is emptied from the log too.
    checkpoint(conn)?;
    Ok(())
}

/// Whether an erasure's emptying of the log is still to be done.
pub(crate) fn scrub_pending(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM meta WHERE key = 'scrub_pending'")?
        .exists([])?)
}

/// What became of an erasure order read from a space's control log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Done,
    Refused(String),
    /// Sealed under a key epoch this device has not received yet.
    Waiting,
}

/// Logs an order read at `seq` of `space`'s control log and what became of it here.
pub(crate) fn keep_order(
    conn: &Connection,
    space: &SpaceId,
    seq: u64,
    body: &ControlBody,
    status: &OrderStatus,
    at_ms: i64,
) -> Result<()> {
    let (status, reason) = match status {
        OrderStatus::Done => ("done", None),
        OrderStatus::Refused(why) => ("refused", Some(why.as_str())),
        OrderStatus::Waiting => ("waiting", None),
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO erasure_orders (space, seq, body, status, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        space,
        seq as i64,
        allervers_protocol::encode(body),
        status,
        reason,
        at_ms
    ])?;
    Ok(())
}

/// The orders of `space` waiting for a key, in the log's order.
pub(crate) fn waiting_orders(
    conn: &Connection,
    space: &SpaceId,
) -> Result<Vec<(u64, ControlBody)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, body FROM erasure_orders WHERE space = ?1 AND status = 'waiting' ORDER BY seq",
    )?;
    let rows = stmt.query_map([space], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        let body = allervers_protocol::decode(&body)
            .map_err(|_| CoreError::corrupt("a kept erasure order"))?;
        out.push((seq as u64, body));
    }
    Ok(out)
}

/// The orders of `space` as logged here: sequence number, status and reason of a refusal.
pub(crate) fn orders(conn: &Connection, space: &SpaceId) -> Result<Vec<(u64, OrderStatus)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, status, reason FROM erasure_orders WHERE space = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([space], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, status, reason) = row?;
        let status = match status.as_str() {
            "done" => OrderStatus::Done,
            "waiting" => OrderStatus::Waiting,
            _ => OrderStatus::Refused(reason.unwrap_or_default()),
        };
        out.push((seq as u64, status));
    }
    Ok(out)
}
