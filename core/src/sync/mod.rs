//! Sync with a relay, sans IO: the store decides what to push and what to apply; a
//! [`Transport`] does the I/O (a blocking HTTP client by default, or one a phone shell gives).
//!
//! A round pushes the outbox (local changes past the push cursor) in batches, then pulls pages
//! until none remain. A page is decrypted whole before anything is applied, then applied with
//! the cursor move in one transaction: a sync cut at any point resumes without loss or
//! duplication (pushes are idempotent at the relay, pages are applied once).

mod engine;
mod seal;

use allervers_protocol::{CreateInvite, Enroll, Exchange, Page, Push, Pushed, RelayApi, SpaceId};
use automerge::Change;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::crypto::RawKey;
use crate::store::{ImportSummary, Store, ROSTER_ID};
use crate::{CoreError, RecordId, Result};
pub use engine::{Request, Response, SyncRound};
pub(crate) use seal::SpaceKeys;

/// Changes pushed in one request, at most.
pub const PUSH_BATCH: usize = 256;
/// Bytes of changes pushed in one request, at most (well under the relay's body limit).
pub const PUSH_BYTES: usize = 2 * 1024 * 1024;
/// Envelopes asked for in one pull.
pub const PULL_PAGE: usize = 1_000;

/// The space this store syncs with, and its credentials. Secret: kept in the encrypted store.
#[derive(Clone)]
pub struct Membership {
    pub space: SpaceId,
    pub name: String,
    pub relay: String,
    pub token: String,
    pub key: RawKey,
    pub epoch: u32,
    pub coordinator: bool,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("space", &allervers_protocol::hex_id(&self.space))
            .field("name", &self.name)
            .field("relay", &self.relay)
            .field("coordinator", &self.coordinator)
            .finish_non_exhaustive()
    }
}

pub use allervers_protocol::{Transport, TransportError};

impl From<TransportError> for CoreError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unreachable(why) => CoreError::RelayUnreachable(why),
            TransportError::Refused { status, reason } => {
                CoreError::RelayRefused { status, reason }
            }
        }
    }
}

/// An invitation to join a space: everything a new device needs (the relay's address, the space
/// and its key, a one-time enrolment secret). It is a secret itself: hand it over in person (a
/// QR code), never by mail.
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Invite {
    pub relay: String,
    pub space: SpaceId,
    pub name: String,
    pub key: [u8; 32],
    pub epoch: u32,
    pub secret: [u8; 32],
}

const INVITE_PREFIX: &str = "ALV1-";

impl Invite {
    /// A new invitation to the space of `membership`, with a fresh `secret`.
    pub fn new(membership: &Membership, secret: [u8; 32]) -> Invite {
        Invite {
            relay: membership.relay.clone(),
            space: membership.space,
            name: membership.name.clone(),
            key: *membership.key.as_bytes(),
            epoch: membership.epoch,
            secret,
        }
    }

    /// The hash of the secret, which is all the relay keeps.
    pub fn secret_hash(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.secret).into()
    }

    /// The code to type or scan.
    pub fn code(&self) -> String {
        use base64::Engine;
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        format!(
            "{INVITE_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Reads a code; a mistyped or truncated code is refused.
    pub fn from_code(code: &str) -> Result<Invite> {
        use base64::Engine;
        let bad = || {
            CoreError::invalid(
                "invite code",
                "is not an allervers invite code (mistyped or cut?)",
            )
        };
        let body = code.trim().strip_prefix(INVITE_PREFIX).ok_or_else(bad)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| bad())?;
        let invite: Invite = postcard::from_bytes(&bytes).map_err(|_| bad())?;
        if !(invite.relay.starts_with("http://") || invite.relay.starts_with("https://")) {
            return Err(bad());
        }
        Ok(invite)
    }

    /// The membership a device gets once the relay enrolled it with `token`.
    pub fn membership(&self, token: String) -> Membership {
        Membership {
            space: self.space,
            name: self.name.clone(),
            relay: self.relay.clone(),
            token,
            key: RawKey::from_bytes(self.key),
            epoch: self.epoch,
            coordinator: false,
        }
    }
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("relay", &self.relay)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Where a sync round is, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncProgress {
    Pushing { done: usize, total: usize },
    Pulling { received: usize },
}

/// What a sync round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    pub pushed: usize,
    pub pulled: usize,
    pub new_changes: usize,
    pub new_conflicts: usize,
    pub waiting: usize,
    /// The pull cursor after the round.
    pub cursor: u64,
    pub requests: usize,
}

/// A batch of the outbox, sealed, with the last change sequence it covers.
pub struct OutboxBatch {
    pub push: Push,
    pub last_seq: i64,
}

fn cursor(conn: &rusqlite::Connection, key: &str) -> Result<i64> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(v.unwrap_or(0))
}

fn set_cursor(conn: &rusqlite::Connection, key: &str, value: i64) -> Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

impl Store {
    /// Records that this store syncs with `membership` (after creating or joining a space).
    pub fn join_space(&self, membership: &Membership) -> Result<()> {
        if membership.relay.trim().is_empty() || membership.token.is_empty() {
            return Err(CoreError::invalid(
                "space",
                "a relay address and a device token are needed",
            ));
        }
        let conn = self.lock();
        if conn.query_row("SELECT count(*) FROM space", [], |r| r.get::<_, i64>(0))? > 0 {
            return Err(CoreError::invalid(
                "space",
                "this store already belongs to a space",
            ));
        }
        conn.execute(
            "INSERT INTO space (id, space, name, relay, token, key, epoch, coordinator, joined_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                membership.space,
                membership.name,
                membership.relay.trim_end_matches('/'),
                membership.token,
                membership.key.as_bytes(),
                membership.epoch,
                membership.coordinator,
                self.now().timestamp_millis()
            ],
        )?;
        Ok(())
    }

    fn device_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let bytes = self.identity().device.to_bytes();
        out[..bytes.len().min(16)].copy_from_slice(&bytes[..bytes.len().min(16)]);
        out
    }

    fn not_in_a_space(&self) -> Result<()> {
        if self.membership()?.is_some() {
            return Err(CoreError::invalid(
                "space",
                "this store already belongs to a space",
            ));
        }
        Ok(())
    }

    /// Registers a new space at `relay` (with the relay's admin token), this device its
    /// coordinator, and joins it.
    pub fn create_space(
        &self,
        exchange: &dyn Exchange,
        relay: &str,
        admin_token: &str,
        name: &str,
    ) -> Result<Membership> {
        self.not_in_a_space()?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CoreError::invalid("space name", "is empty"));
        }
        let relay = relay.trim().trim_end_matches('/');
        if !(relay.starts_with("http://") || relay.starts_with("https://")) || relay.len() < 10 {
            return Err(CoreError::invalid(
                "relay",
                format!("{relay:?} is not an http:// or https:// address"),
            ));
        }
        let space: SpaceId = self.random();
        let token = exchange
            .create_space(relay, admin_token, space, self.device_bytes())?
            .device_token;
        let membership = Membership {
            space,
            name: name.to_string(),
            relay: relay.to_string(),
            token,
            key: RawKey::from_bytes(self.random()),
            epoch: 0,
            coordinator: true,
        };
        self.join_space(&membership)?;
        Ok(membership)
    }

    /// A one-time invite to this store's space, registered at the relay until `expires_at_ms`
    /// (relay clock; a coordinator's device only).
    pub fn invite(&self, exchange: &dyn Exchange, expires_at_ms: i64) -> Result<Invite> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator {
            return Err(CoreError::invalid(
                "invite",
                "only a coordinator's device can invite",
            ));
        }
        let invite = Invite::new(&m, self.random());
        let request = CreateInvite {
            secret_hash: invite.secret_hash(),
            expires_at_ms,
        };
        exchange.create_invite(&m.relay, &m.space, &m.token, &request)?;
        Ok(invite)
    }

    /// Redeems an invite code at its relay and joins its space.
    pub fn join(&self, exchange: &dyn Exchange, code: &str) -> Result<Invite> {
        self.not_in_a_space()?;
        let invite = Invite::from_code(code)?;
        let enroll = Enroll {
            space: invite.space,
            secret: invite.secret,
            device: self.device_bytes(),
        };
        let token = exchange.enroll(&invite.relay, &enroll)?.device_token;
        self.join_space(&invite.membership(token))?;
        Ok(invite)
    }

    /// The space this store syncs with, if any.
    pub fn membership(&self) -> Result<Option<Membership>> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT space, name, relay, token, key, epoch, coordinator FROM space WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, u32>(5)?,
                        r.get::<_, bool>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((space, name, relay, token, key, epoch, coordinator)) = row else {
            return Ok(None);
        };
        Ok(Some(Membership {
            space: <[u8; 16]>::try_from(space.as_slice())
                .map_err(|_| CoreError::corrupt("bad space id"))?,
            name,
            relay,
            token,
            key: RawKey::from_slice(&key).map_err(|_| CoreError::corrupt("bad space key"))?,
            epoch,
            coordinator,
        }))
    }

    fn keys(&self) -> Result<(Membership, SpaceKeys)> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        let keys = SpaceKeys {
            key: m.key.clone(),
            epoch: m.epoch,
        };
        Ok((m, keys))
    }

    /// The next batch of the outbox, sealed (record keys are created for records that have
    /// none yet). `None` when everything was pushed.
    pub fn outbox_batch(&self, limit: usize) -> Result<Option<OutboxBatch>> {
        let (_, space) = self.keys()?;
        let now_ms = self.now().timestamp_millis();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let after = cursor(&tx, "push_cursor")?;
        // Every change the relay has not given us: this device's own, and those that came in a
        // bundle (the relay stores a change it already has once).
        let mut rows: Vec<(i64, Vec<u8>, Vec<u8>)> = Vec::new();
        let mut bytes_total = 0;
        {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, record_id, bytes FROM changes WHERE seq > ?1 AND relay_at IS NULL ORDER BY seq LIMIT ?2",
            )?;
            let mut q = stmt.query(params![after, limit as i64])?;
            while let Some(r) = q.next()? {
                let bytes: Vec<u8> = r.get(2)?;
                if !rows.is_empty() && bytes_total + bytes.len() > PUSH_BYTES {
                    break;
                }
                bytes_total += bytes.len();
                rows.push((r.get(0)?, r.get(1)?, bytes));
            }
        }
        let Some(last_seq) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let mut envelopes = Vec::with_capacity(rows.len());
        for (_, id, bytes) in rows {
            let record =
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
            let key = record_key(&tx, &space, record, &*self.entropy())?;
            let change = Change::try_from(&bytes[..])
                .map_err(|e| CoreError::corrupt(format!("stored change: {e}")))?;
            envelopes.push(space.seal(record, &key, &change, now_ms));
        }
        tx.commit()?;
        Ok(Some(OutboxBatch {
            push: Push { envelopes },
            last_seq,
        }))
    }

    /// The relay acknowledged a batch of `count` envelopes ending at change `last_seq`: its
    /// changes leave the outbox.
    pub(crate) fn ack_push(&self, last_seq: i64, count: usize, pushed: &Pushed) -> Result<()> {
        if pushed.seqs.len() != count {
            return Err(CoreError::RelayRefused {
                status: 200,
                reason: format!("acknowledged {} envelopes of {count}", pushed.seqs.len()),
            });
        }
        set_cursor(&self.lock(), "push_cursor", last_seq)
    }

    /// Where the next pull starts.
    pub fn pull_cursor(&self) -> Result<u64> {
        Ok(cursor(&self.lock(), "pull_cursor")? as u64)
    }

    /// Applies one page: every envelope is opened first, then the changes and the cursor move
    /// commit together. A page with one envelope that does not open is refused whole and the
    /// cursor stays where it was.
    pub fn apply_page(&self, page: &Page) -> Result<ImportSummary> {
        let (_, space) = self.keys()?;
        let mut changes = Vec::with_capacity(page.envelopes.len());
        let mut relay_times = Vec::with_capacity(page.envelopes.len());
        let mut new_keys: Vec<([u8; 16], RecordId, RawKey)> = Vec::new();
        {
            let conn = self.lock();
            for stored in &page.envelopes {
                let env = &stored.envelope;
                let key = match &env.key {
                    Some(wrapped) => space.unwrap(&env.record, wrapped)?,
                    None => match new_keys.iter().find(|(b, _, _)| *b == env.record) {
                        Some((_, _, k)) => k.clone(),
                        None => known_key(&conn, &space, &env.record)?.ok_or_else(|| {
                            CoreError::ChangesRefused(
                                "an envelope's record key is unknown here".into(),
                            )
                        })?,
                    },
                };
                let (record, change, sent_at) = space.open(env, &key)?;
                if env.key.is_some() && !new_keys.iter().any(|(b, _, _)| *b == env.record) {
                    new_keys.push((env.record, record, key));
                }
                relay_times.push((
                    record,
                    change.hash(),
                    stored.received_at_ms,
                    // The relay's time is not sealed: any number may come.
                    stored.received_at_ms.saturating_sub(sent_at),
                ));
                changes.push((record, change.raw_bytes().to_vec()));
            }
        }
        let next = i64::try_from(page.next)
            .map_err(|_| CoreError::ChangesRefused("the relay's cursor is out of range".into()))?;
        self.import_with(&changes, |tx| {
            for (record, hash, at, offset) in &relay_times {
                tx.prepare_cached(
                    "UPDATE changes SET relay_at = ?3, clock_offset = ?4 WHERE record_id = ?1 AND hash = ?2 AND local = 0",
                )?
                .execute(params![record.as_bytes(), hash.0, at, offset])?;
            }
            for (blind, record, key) in &new_keys {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO record_keys (blind, record_id, key) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![blind, record.as_bytes(), key.as_bytes()])?;
            }
            set_cursor(tx, "pull_cursor", next)
        })
    }
}

/// The key of a record, by its blinded id, if this store knows it.
fn known_key(
    conn: &rusqlite::Connection,
    space: &SpaceKeys,
    blind: &[u8; 16],
) -> Result<Option<RawKey>> {
    if *blind == space.blind(ROSTER_ID) {
        return Ok(Some(space.roster_key()));
    }
    let key: Option<Vec<u8>> = conn
        .prepare_cached("SELECT key FROM record_keys WHERE blind = ?1")?
        .query_row([blind], |r| r.get(0))
        .optional()?;
    key.map(|k| RawKey::from_slice(&k).map_err(|_| CoreError::corrupt("bad record key")))
        .transpose()
}

/// The key of a record; a new random one is stored for a record that has none yet.
fn record_key(
    conn: &rusqlite::Connection,
    space: &SpaceKeys,
    record: RecordId,
    entropy: &dyn crate::Entropy,
) -> Result<RawKey> {
    let blind = space.blind(record);
    if let Some(key) = known_key(conn, space, &blind)? {
        return Ok(key);
    }
    let key = RawKey::from_bytes(crate::entropy::bytes(entropy));
    conn.prepare_cached("INSERT INTO record_keys (blind, record_id, key) VALUES (?1, ?2, ?3)")?
        .execute(params![blind, record.as_bytes(), key.as_bytes()])?;
    Ok(key)
}
