//! What the store keeps to decide whom to believe: the public keys of the devices whose changes
//! it has checked, each change's signature, and the envelopes set aside (held until a key
//! arrives, or quarantined with the reason a check refused them).

use allervers_protocol::{SpaceId, Stored};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::identity::{ChangeSignature, PublicKeys};
use crate::{CoreError, DeviceId, RecordId, Result};

/// The version of the checks that quarantine an envelope. A build whose checks changed raises
/// it, and what an older build quarantined is tried again. 2: a second creation of a record is
/// no longer refused for its kind, and values are checked on the change alone (`import.rs`).
/// 3: a coordinator may write the organisation's settings in the roster (`setting:...`).
pub(crate) const CHECKS: i64 = 3;

/// The keys of `device`, if this store has learnt them.
pub(crate) fn device_keys(conn: &Connection, device: &DeviceId) -> Result<Option<PublicKeys>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .prepare_cached("SELECT sign, agree FROM device_keys WHERE device = ?1")?
        .query_row([device.to_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(sign, agree)| {
        Ok(PublicKeys {
            sign: sign
                .try_into()
                .map_err(|_| CoreError::corrupt("a device's signing key"))?,
            agree: agree
                .try_into()
                .map_err(|_| CoreError::corrupt("a device's agreement key"))?,
        })
    })
    .transpose()
}

/// Learns a device's keys (they hash to its id, so there is only ever one set); whether they
/// were new.
pub(crate) fn learn_device_keys(conn: &Connection, keys: &PublicKeys) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO device_keys (device, sign, agree) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![keys.device().to_bytes(), keys.sign, keys.agree])?
        == 1)
}

/// How many keys (devices' and spaces') this store knows: held envelopes are tried again when
/// it grows.
pub(crate) fn known_keys(conn: &Connection) -> Result<i64> {
    let devices: i64 = conn
        .prepare_cached("SELECT count(*) FROM device_keys")?
        .query_row([], |r| r.get(0))?;
    Ok(devices + super::sync_state::space_key_count(conn)?)
}

/// The signature kept with a change, if it has one.
pub(crate) fn signature(conn: &Connection, seq: i64) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT signature FROM changes WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?
        .flatten())
}

pub(crate) fn set_signature(
    conn: &Connection,
    seq: i64,
    signature: &ChangeSignature,
) -> Result<()> {
    conn.prepare_cached("UPDATE changes SET signature = ?2 WHERE seq = ?1")?
        .execute(params![seq, signature.encode()])?;
    Ok(())
}

/// Local changes of this device with no signature yet, with their record: what a bundle export
/// signs before it leaves.
pub(crate) fn unsigned_local(conn: &Connection) -> Result<Vec<(i64, RecordId, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, record_id, bytes FROM changes WHERE local = 1 AND signature IS NULL ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, bytes) = row?;
        let id = RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        out.push((seq, id, bytes));
    }
    Ok(out)
}

/// Why an envelope was set aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Setback {
    /// This store lacks a key to open or check it yet.
    Hold(String),
    /// It failed a check that gives the same answer on every device.
    Quarantine(String),
}

pub(crate) fn hold(
    conn: &Connection,
    space: &SpaceId,
    stored: &Stored,
    reason: &str,
    generation: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO held (space, seq, received_at, clock_offset, envelope, reason, generation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        space,
        stored.seq as i64,
        stored.received_at_ms,
        stored.clock_offset_ms,
        allervers_protocol::encode(&stored.envelope),
        reason,
        generation
    ])?;
    Ok(())
}

pub(crate) fn quarantine(
    conn: &Connection,
    space: &SpaceId,
    stored: &Stored,
    reason: &str,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO quarantine (space, seq, received_at, clock_offset, envelope, reason, at, checks)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        space,
        stored.seq as i64,
        stored.received_at_ms,
        stored.clock_offset_ms,
        allervers_protocol::encode(&stored.envelope),
        reason,
        now_ms,
        CHECKS
    ])?;
    Ok(())
}

/// The quarantined envelopes of `space` that the relay has served only once: they are asked
/// for again, since bytes damaged on the way would otherwise be taken for a bad envelope.
pub(crate) fn unconfirmed(conn: &Connection, space: &SpaceId) -> Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq FROM quarantine WHERE space = ?1 AND confirmed = 0 ORDER BY seq",
    )?;
    let rows = stmt.query_map([space], |r| r.get::<_, i64>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row? as u64);
    }
    Ok(out)
}

/// The quarantined envelope of `space` at `seq`, if there is one.
pub(crate) fn quarantined(
    conn: &Connection,
    space: &SpaceId,
    seq: u64,
) -> Result<Option<allervers_protocol::Envelope>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT envelope FROM quarantine WHERE space = ?1 AND seq = ?2")?
        .query_row(params![space, seq as i64], |r| r.get(0))
        .optional()?;
    bytes
        .map(|b| {
            allervers_protocol::decode(&b).map_err(|_| CoreError::corrupt("a set-aside envelope"))
        })
        .transpose()
}

/// The relay served a quarantined envelope again with the same bytes: it stays quarantined.
pub(crate) fn confirm(conn: &Connection, space: &SpaceId, seq: u64) -> Result<()> {
    conn.prepare_cached("UPDATE quarantine SET confirmed = 1 WHERE space = ?1 AND seq = ?2")?
        .execute(params![space, seq as i64])?;
    Ok(())
}

/// An envelope is no longer set aside (it applied, or moved from one table to the other).
pub(crate) fn release(conn: &Connection, space: &SpaceId, seq: u64) -> Result<()> {
    for sql in [
        "DELETE FROM held WHERE space = ?1 AND seq = ?2",
        "DELETE FROM quarantine WHERE space = ?1 AND seq = ?2",
    ] {
        conn.prepare_cached(sql)?
            .execute(params![space, seq as i64])?;
    }
    Ok(())
}

/// The envelopes worth trying again: those held before the store learnt a key it lacked then,
/// and those quarantined by older checks.
pub(crate) fn to_retry(conn: &Connection, space: &SpaceId) -> Result<Vec<Stored>> {
    let generation = known_keys(conn)?;
    let mut out = Vec::new();
    for (sql, bound) in [
        (
            "SELECT seq, received_at, clock_offset, envelope FROM held
             WHERE space = ?1 AND generation < ?2 ORDER BY seq",
            generation,
        ),
        (
            "SELECT seq, received_at, clock_offset, envelope FROM quarantine
             WHERE space = ?1 AND checks < ?2 ORDER BY seq",
            CHECKS,
        ),
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![space, bound], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        for row in rows {
            let (seq, received_at_ms, clock_offset_ms, bytes) = row?;
            out.push(Stored {
                seq: seq as u64,
                received_at_ms,
                clock_offset_ms,
                envelope: allervers_protocol::decode(&bytes)
                    .map_err(|_| CoreError::corrupt("a set-aside envelope"))?,
            });
        }
    }
    out.sort_by_key(|s| s.seq);
    Ok(out)
}

/// One envelope set aside, as listed to a coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetAside {
    /// The relay's sequence number of the envelope in its space's log.
    pub seq: u64,
    /// `true` when quarantined; `false` when held until a key arrives.
    pub quarantined: bool,
    pub reason: String,
    /// The relay's time when it received the envelope (milliseconds).
    pub received_at_ms: i64,
    /// The envelope's size in bytes.
    pub size: usize,
}

/// Every envelope set aside in `space`, quarantined ones first, in the relay's order.
pub(crate) fn set_aside(conn: &Connection, space: &SpaceId) -> Result<Vec<SetAside>> {
    let mut out = Vec::new();
    for (quarantined, sql) in [
        (
            true,
            "SELECT seq, reason, received_at, length(envelope) FROM quarantine WHERE space = ?1 ORDER BY seq",
        ),
        (
            false,
            "SELECT seq, reason, received_at, length(envelope) FROM held WHERE space = ?1 ORDER BY seq",
        ),
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([space], |r| {
            Ok(SetAside {
                seq: r.get::<_, i64>(0)? as u64,
                quarantined,
                reason: r.get(1)?,
                received_at_ms: r.get(2)?,
                size: r.get::<_, i64>(3)? as usize,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}
