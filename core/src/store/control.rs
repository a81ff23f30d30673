//! What a space's control log leaves in the store: the invites this coordinator's device issued
//! (their secrets key the enrolments' MACs), the devices that enrolled and what became of them,
//! and the control items (key deliveries) waiting to be posted.

use allervers_protocol::{ControlBody, SpaceId};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::identity::PublicKeys;
use crate::{CoreError, DeviceId, Result};

pub(crate) fn keep_invite(
    conn: &Connection,
    space: &SpaceId,
    hash: &[u8; 32],
    secret: &[u8; 32],
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO invites (hash, space, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![hash, space, secret, now_ms])?;
    Ok(())
}

/// The secret of an invite this device issued for `space`, by its hash.
pub(crate) fn invite_secret(
    conn: &Connection,
    space: &SpaceId,
    hash: &[u8; 32],
) -> Result<Option<[u8; 32]>> {
    let secret: Option<Vec<u8>> = conn
        .prepare_cached("SELECT secret FROM invites WHERE hash = ?1 AND space = ?2")?
        .query_row(params![hash, space], |r| r.get(0))
        .optional()?;
    secret
        .map(|s| {
            s.try_into()
                .map_err(|_| CoreError::corrupt("an invite's secret"))
        })
        .transpose()
}

/// What became of a device that enrolled with an invite, here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentStatus {
    /// The space's keys were delivered to it (its invite's MAC matched, or `approve`).
    Approved,
    /// Its invite is not one this device issued: a coordinator approves it by hand.
    Pending,
    /// Its MAC did not match its invite: its keys were swapped on the way. It gets nothing.
    Refused,
    /// A coordinator revoked it: it gets nothing again, whatever the relay replays.
    Revoked,
}

impl EnrolmentStatus {
    fn name(self) -> &'static str {
        match self {
            EnrolmentStatus::Approved => "approved",
            EnrolmentStatus::Pending => "pending",
            EnrolmentStatus::Refused => "refused",
            EnrolmentStatus::Revoked => "revoked",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "approved" => Some(EnrolmentStatus::Approved),
            "pending" => Some(EnrolmentStatus::Pending),
            "refused" => Some(EnrolmentStatus::Refused),
            "revoked" => Some(EnrolmentStatus::Revoked),
            _ => None,
        }
    }
}

/// A device that enrolled in a space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    pub device: DeviceId,
    pub status: EnrolmentStatus,
    /// When this store read it (milliseconds).
    pub at_ms: i64,
    #[serde(skip)]
    pub(crate) keys: PublicKeys,
}

/// Whether `device` enrolled in `space` before (an enrolment the relay serves again is not
/// approved again).
pub(crate) fn known_enrolment(
    conn: &Connection,
    space: &SpaceId,
    device: &DeviceId,
) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM enrolments WHERE space = ?1 AND device = ?2")?
        .exists(params![space, device.to_bytes()])?)
}

/// Marks `device` revoked here, whether or not this store saw its enrolment.
pub(crate) fn mark_revoked(
    conn: &Connection,
    space: &SpaceId,
    device: &DeviceId,
    keys: Option<&PublicKeys>,
    now_ms: i64,
) -> Result<()> {
    let (sign, agree) = keys.map_or((Vec::new(), Vec::new()), |k| {
        (k.sign.to_vec(), k.agree.to_vec())
    });
    conn.prepare_cached(
        "INSERT INTO enrolments (space, device, sign, agree, status, at) VALUES (?1, ?2, ?3, ?4, 'revoked', ?5)
         ON CONFLICT (space, device) DO UPDATE SET status = 'revoked'",
    )?
    .execute(params![space, device.to_bytes(), sign, agree, now_ms])?;
    Ok(())
}

/// An invite was used: its secret goes.
pub(crate) fn forget_invite(conn: &Connection, hash: &[u8; 32]) -> Result<()> {
    conn.prepare_cached("DELETE FROM invites WHERE hash = ?1")?
        .execute([hash])?;
    Ok(())
}

/// Records an enrolment; an approved or refused one is never changed back to pending.
pub(crate) fn keep_enrolment(
    conn: &Connection,
    space: &SpaceId,
    keys: &PublicKeys,
    status: EnrolmentStatus,
    now_ms: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO enrolments (space, device, sign, agree, status, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (space, device) DO UPDATE SET status = excluded.status
         WHERE enrolments.status = 'pending'",
    )?
    .execute(params![
        space,
        keys.device().to_bytes(),
        keys.sign,
        keys.agree,
        status.name(),
        now_ms
    ])?;
    Ok(())
}

pub(crate) fn enrolments(conn: &Connection, space: &SpaceId) -> Result<Vec<Enrolment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT sign, agree, status, at FROM enrolments WHERE space = ?1 ORDER BY at, device",
    )?;
    let rows = stmt.query_map([space], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sign, agree, status, at_ms) = row?;
        if sign.is_empty() {
            // Revoked before this store saw its enrolment: nothing to show of it.
            continue;
        }
        let keys = PublicKeys {
            sign: sign
                .try_into()
                .map_err(|_| CoreError::corrupt("an enrolment's key"))?,
            agree: agree
                .try_into()
                .map_err(|_| CoreError::corrupt("an enrolment's key"))?,
        };
        out.push(Enrolment {
            device: keys.device(),
            status: EnrolmentStatus::from_name(&status)
                .ok_or_else(|| CoreError::corrupt("an enrolment's status"))?,
            at_ms,
            keys,
        });
    }
    Ok(out)
}

/// Queues a control item to post at the next sync.
pub(crate) fn queue(conn: &Connection, space: &SpaceId, item: &ControlBody) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO control_out (space, n, item)
         VALUES (?1, coalesce((SELECT max(n) FROM control_out WHERE space = ?1), 0) + 1, ?2)",
    )?
    .execute(params![space, allervers_protocol::encode(item)])?;
    Ok(())
}

/// The control items waiting to be posted, at most `limit`, with the last one's number.
pub(crate) fn queued(
    conn: &Connection,
    space: &SpaceId,
    limit: usize,
) -> Result<(Vec<ControlBody>, i64)> {
    let mut stmt = conn
        .prepare_cached("SELECT n, item FROM control_out WHERE space = ?1 ORDER BY n LIMIT ?2")?;
    let rows = stmt.query_map(params![space, limit as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut items = Vec::new();
    let mut last = 0;
    for row in rows {
        let (n, bytes) = row?;
        items.push(
            allervers_protocol::decode(&bytes)
                .map_err(|_| CoreError::corrupt("a queued control item"))?,
        );
        last = n;
    }
    Ok((items, last))
}

/// The relay stored the queued items up to `n`.
pub(crate) fn posted(conn: &Connection, space: &SpaceId, n: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM control_out WHERE space = ?1 AND n <= ?2")?
        .execute(params![space, n])?;
    Ok(())
}
