//! What sync keeps in the store: the spaces this store belongs to (relay, token, epoch) and their
//! keys by epoch, and
//! each one's push and pull cursors and sealed envelopes, the record keys by blinded id, the relay times of received changes,
//! and the outbox (local changes past the push cursor, read from the change log).

use allervers_protocol::{Envelope, SpaceId};
use rusqlite::{params, Connection, OptionalExtension};

use crate::crypto::RawKey;
use crate::identity::Grant;
use crate::sync::Membership;
use crate::{CoreError, RecordId, Result};

/// A space's cursors.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cursor {
    /// The last change the space's relay acknowledged: its outbox is every change after it.
    Push,
    /// The relay's sequence number this store has applied the space's log up to.
    Pull,
    /// Where this store read the space's control log up to.
    Control,
}

impl Cursor {
    fn column(self) -> &'static str {
        match self {
            Cursor::Push => "push_cursor",
            Cursor::Pull => "pull_cursor",
            Cursor::Control => "control_cursor",
        }
    }
}

pub(crate) fn cursor(conn: &Connection, space: &SpaceId, which: Cursor) -> Result<i64> {
    let v: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT {} FROM spaces WHERE space = ?1",
            which.column()
        ))?
        .query_row([space], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0))
}

pub(crate) fn set_cursor(
    conn: &Connection,
    space: &SpaceId,
    which: Cursor,
    value: i64,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE spaces SET {} = ?2 WHERE space = ?1",
        which.column()
    ))?
    .execute(params![space, value])?;
    Ok(())
}

/// The spaces this store syncs with, in the order it joined them.
pub(crate) fn memberships(conn: &Connection) -> Result<Vec<Membership>> {
    let mut stmt = conn.prepare_cached(
        "SELECT space, name, relay, token, epoch, coordinator, root, founder FROM spaces ORDER BY joined_at, space",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, bool>(5)?,
            r.get::<_, Option<Vec<u8>>>(6)?,
            r.get::<_, Option<Vec<u8>>>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (space, name, relay, token, epoch, coordinator, root, founder) = row?;
        out.push(Membership {
            space: <[u8; 16]>::try_from(space.as_slice())
                .map_err(|_| CoreError::corrupt("bad space id"))?,
            name,
            relay,
            token,
            epoch,
            coordinator,
            root: root.map(|r| crate::DeviceId::from_bytes(&r)),
            founder: founder.and_then(|f| {
                Some(crate::identity::PublicKeys {
                    sign: f.get(..32)?.try_into().ok()?,
                    agree: f.get(32..64)?.try_into().ok()?,
                })
            }),
        });
    }
    Ok(out)
}

pub(crate) fn insert_membership(conn: &Connection, m: &Membership, now_ms: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO spaces (space, name, relay, token, epoch, coordinator, root, founder, joined_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            m.space,
            m.name,
            m.relay.trim_end_matches('/'),
            m.token,
            m.epoch,
            m.coordinator,
            m.root.as_ref().map(|r| r.to_bytes()),
            m.founder.map(|f| [f.sign, f.agree].concat()),
            now_ms
        ],
    )?;
    Ok(())
}

/// `space` syncs with the relay at `relay` from now on (its cursors, token and keys stay: a
/// relay that moved keeps its sequence numbers). Whether the store belongs to `space`.
pub(crate) fn set_relay(conn: &Connection, space: &SpaceId, relay: &str) -> Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE spaces SET relay = ?2 WHERE space = ?1")?
        .execute(params![space, relay.trim_end_matches('/')])?;
    Ok(changed == 1)
}

/// This device became a coordinator of `space` (a grant in the roster).
pub(crate) fn set_coordinator(conn: &Connection, space: &SpaceId) -> Result<()> {
    conn.prepare_cached("UPDATE spaces SET coordinator = 1 WHERE space = ?1")?
        .execute([space])?;
    Ok(())
}

/// The grants a coordinator delivered with this device's first key of `space`: the chain that
/// makes it a member, carried by its roster changes until the roster's own grants prove it.
pub(crate) fn credentials(conn: &Connection, space: &SpaceId) -> Result<Vec<Grant>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT credentials FROM spaces WHERE space = ?1")?
        .query_row([space], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(bytes
        .and_then(|b| postcard::from_bytes(&b).ok())
        .unwrap_or_default())
}

pub(crate) fn set_credentials(conn: &Connection, space: &SpaceId, chain: &[Grant]) -> Result<()> {
    let bytes =
        postcard::to_stdvec(chain).map_err(|e| CoreError::corrupt(format!("credentials: {e}")))?;
    conn.prepare_cached("UPDATE spaces SET credentials = ?2 WHERE space = ?1")?
        .execute(params![space, bytes])?;
    Ok(())
}

/// The secret of the recovery code this device recovered `space` with, until it is forgotten.
pub(crate) fn recovery_secret(conn: &Connection, space: &SpaceId) -> Result<Option<[u8; 32]>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT recovery FROM spaces WHERE space = ?1")?
        .query_row([space], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(bytes.and_then(|b| b.try_into().ok()))
}

pub(crate) fn set_recovery_secret(
    conn: &Connection,
    space: &SpaceId,
    secret: Option<&[u8; 32]>,
) -> Result<()> {
    conn.prepare_cached("UPDATE spaces SET recovery = ?2 WHERE space = ?1")?
        .execute(params![space, secret])?;
    Ok(())
}

/// The key of `space` at `epoch`, if this store received it.
pub(crate) fn space_key(conn: &Connection, space: &SpaceId, epoch: u32) -> Result<Option<RawKey>> {
    let key: Option<Vec<u8>> = conn
        .prepare_cached("SELECT key FROM space_keys WHERE space = ?1 AND epoch = ?2")?
        .query_row(params![space, epoch], |r| r.get(0))
        .optional()?;
    key.map(|k| RawKey::from_slice(&k).map_err(|_| CoreError::corrupt("bad space key")))
        .transpose()
}

/// Every key of `space` this store holds, by epoch.
pub(crate) fn space_keys(conn: &Connection, space: &SpaceId) -> Result<Vec<(u32, RawKey)>> {
    let mut stmt =
        conn.prepare_cached("SELECT epoch, key FROM space_keys WHERE space = ?1 ORDER BY epoch")?;
    let rows = stmt.query_map([space], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (epoch, key) = row?;
        out.push((
            epoch,
            RawKey::from_slice(&key).map_err(|_| CoreError::corrupt("bad space key"))?,
        ));
    }
    Ok(out)
}

/// Keeps the key of `space` at `epoch` (the first one received for an epoch stays); a key of a
/// later epoch than the space's becomes the one new envelopes are sealed with, and envelopes
/// sealed under an older one and not acknowledged yet are dropped, to be sealed again under
/// it. Returns whether the key was new.
pub(crate) fn keep_space_key(
    conn: &Connection,
    space: &SpaceId,
    epoch: u32,
    key: &RawKey,
) -> Result<bool> {
    let new = conn
        .prepare_cached("INSERT OR IGNORE INTO space_keys (space, epoch, key) VALUES (?1, ?2, ?3)")?
        .execute(params![space, epoch, key.as_bytes()])?
        == 1;
    let current: Option<u32> = conn
        .prepare_cached("SELECT epoch FROM spaces WHERE space = ?1")?
        .query_row([space], |r| r.get(0))
        .optional()?;
    if current.is_some_and(|c| epoch > c) {
        conn.prepare_cached("UPDATE spaces SET epoch = ?2 WHERE space = ?1")?
            .execute(params![space, epoch])?;
        conn.prepare_cached("DELETE FROM sealed WHERE space = ?1")?
            .execute([space])?;
    }
    Ok(new)
}

/// How many space keys this store holds: with the devices' keys, what decides whether held
/// envelopes are worth another try.
pub(crate) fn space_key_count(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM space_keys")?
        .query_row([], |r| r.get(0))?)
}

/// The outbox after `after`: every change the relay has not given us (this device's own, and
/// those that came in a bundle: the relay stores a change it already has once), in order, at
/// most `limit` of them and `max_bytes` of change bytes (at least one).
pub(crate) fn outbox(
    conn: &Connection,
    after: i64,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<(i64, RecordId, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, record_id, bytes FROM changes WHERE seq > ?1 AND relay_at IS NULL ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after, limit as i64])?;
    let mut out = Vec::new();
    let mut total = 0;
    while let Some(r) = rows.next()? {
        let bytes: Vec<u8> = r.get(2)?;
        if !out.is_empty() && total + bytes.len() > max_bytes {
            break;
        }
        total += bytes.len();
        let id: Vec<u8> = r.get(1)?;
        let id = RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        out.push((r.get(0)?, id, bytes));
    }
    Ok(out)
}

/// How many local changes wait to be sent to the space that is furthest behind (all of them
/// when the store belongs to no space).
pub(crate) fn pending(conn: &Connection) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM changes WHERE relay_at IS NULL
               AND seq > coalesce((SELECT min(push_cursor) FROM spaces), 0)",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(count as u64)
}

/// The envelope an outbox change was sealed into for `space` when it first left, if it did.
pub(crate) fn sealed(conn: &Connection, space: &SpaceId, seq: i64) -> Result<Option<Envelope>> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT envelope FROM sealed WHERE space = ?1 AND seq = ?2")?
        .query_row(params![space, seq], |r| r.get(0))
        .optional()?;
    bytes
        .map(|b| {
            allervers_protocol::decode(&b).map_err(|_| CoreError::corrupt("a sealed envelope"))
        })
        .transpose()
}

/// Keeps the envelope an outbox change was sealed into for `space`, until its relay
/// acknowledges it.
pub(crate) fn keep_sealed(
    conn: &Connection,
    space: &SpaceId,
    seq: i64,
    envelope: &Envelope,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sealed (space, seq, envelope) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![space, seq, allervers_protocol::encode(envelope)])?;
    Ok(())
}

/// The space's relay acknowledged every change up to `seq`: the push cursor moves there and
/// their sealed envelopes go, in one transaction.
pub(crate) fn acknowledge(conn: &mut Connection, space: &SpaceId, seq: i64) -> Result<()> {
    let tx = conn.transaction()?;
    tx.prepare_cached("DELETE FROM sealed WHERE space = ?1 AND seq <= ?2")?
        .execute(params![space, seq])?;
    set_cursor(&tx, space, Cursor::Push, seq)?;
    tx.commit()?;
    Ok(())
}

/// Marks a received change with the relay's time and the sending device's clock offset.
pub(crate) fn set_relay_time(
    conn: &Connection,
    record: RecordId,
    hash: &automerge::ChangeHash,
    at: i64,
    offset: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE changes SET relay_at = ?3, clock_offset = ?4 WHERE record_id = ?1 AND hash = ?2 AND local = 0",
    )?
    .execute(params![record.as_bytes(), hash.0, at, offset])?;
    Ok(())
}

/// A record's key by its blinded id, if this store knows it.
pub(crate) fn record_key(conn: &Connection, blind: &[u8; 16]) -> Result<Option<RawKey>> {
    let key: Option<Vec<u8>> = conn
        .prepare_cached("SELECT key FROM record_keys WHERE blind = ?1")?
        .query_row([blind], |r| r.get(0))
        .optional()?;
    key.map(|k| RawKey::from_slice(&k).map_err(|_| CoreError::corrupt("bad record key")))
        .transpose()
}

/// Keeps a record's key (the first one known for a blinded id stays).
pub(crate) fn insert_record_key(
    conn: &Connection,
    blind: &[u8; 16],
    record: RecordId,
    key: &RawKey,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO record_keys (blind, record_id, key) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![blind, record.as_bytes(), key.as_bytes()])?;
    Ok(())
}

/// Every record key this store holds (the adversarial tests copy a device's keys before it is
/// revoked).
#[cfg(feature = "fuzzing")]
pub(crate) fn all_record_keys(conn: &Connection) -> Result<Vec<RawKey>> {
    let mut stmt = conn.prepare_cached("SELECT key FROM record_keys ORDER BY blind")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(RawKey::from_slice(&row?)?);
    }
    Ok(out)
}
