//! Where the relay keeps spaces, devices, invites and space codes, envelopes and each space's
//! control log: one trait, [`Storage`], that the handlers call, and two backends behind it:
//! SQLite (the default: one file, nothing to install) and PostgreSQL (several relay instances
//! over one database).
//! Tokens and invite secrets are stored as SHA-256 hashes only (an invite's redemption token
//! never is); an envelope is stored without the device that pushed it, and the times the relay
//! writes are whole seconds. Each backend's schema is versioned and migrated when the relay
//! opens it.
//!
//! Architecture invariant: a reader of a space's log never sees a sequence number before a
//! smaller one of the same space commits (a cursor past a number is never behind a later
//! commit). SQLite has one writer; PostgreSQL allocates a space's numbers under that space's row
//! lock, held until commit.

pub mod postgres;
pub mod sqlite;

pub use self::postgres::PostgresStorage;
pub use self::sqlite::{SqliteStorage, SCHEMA_VERSION};

use allervers_protocol::{
    BlindedRecord, Control, ControlBody, ControlPage, DeviceEntry, DeviceId, Envelope, Page,
    SpaceId, Stored, WipeOrder,
};
use sha2::{Digest, Sha256};

/// What went wrong in storage, as the handlers map it to a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The thing already exists (a space id taken, a device enrolled twice).
    Conflict(&'static str),
    /// The thing does not exist or is no longer usable (an invite used or expired).
    NotFound(&'static str),
    /// The caller may not do this (a space code unknown, used or expired; a space code from a
    /// device that is no coordinator of its space).
    Forbidden(&'static str),
    /// The database failed.
    Failed(String),
    /// This relay's SQLite data was moved to another database (`allervers-relay migrate`): it
    /// serves and writes nothing more.
    Moved,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Failed(e.to_string())
    }
}

impl From<::postgres::Error> for StorageError {
    fn from(e: ::postgres::Error) -> Self {
        StorageError::Failed(postgres::describe(&e))
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Sealed bytes served in one page, at most (one larger envelope is served alone).
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// A device that presented a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub space: SpaceId,
    pub device: DeviceId,
    pub coordinator: bool,
    pub revoked: bool,
    /// For a revoked device, the wipe order stored with its revocation, as the protocol encodes
    /// it (served as is).
    pub wipe_order: Option<Vec<u8>>,
}

/// A redeemed invite: what the relay writes into the space's control log as
/// [`ControlBody::Enrolled`] when it enrols the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    pub space: SpaceId,
    /// `sha256(redeem)`: the invite's `secret_hash`.
    pub invite: [u8; 32],
    pub device: DeviceId,
    pub sign_key: [u8; 32],
    pub agree_key: [u8; 32],
    pub mac: [u8; 32],
}

/// What became of a request to start a space's next epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochOutcome {
    /// The space was at the expected epoch: this is the new one.
    Started(u32),
    /// The space was not at the expected epoch: this is its current one, unchanged.
    Stale(u32),
}

/// Figures for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub spaces: u64,
    pub envelopes: u64,
    pub envelope_bytes: u64,
    pub active_devices: u64,
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The relay's storage. Every method is one transaction: an acknowledged write is durable.
///
/// Times come in as the relay's clock in milliseconds; a backend keeps those it writes to the
/// second ([`whole_seconds`], clock offsets [`rounded_seconds`]) and serves them as milliseconds
/// that are multiples of 1000. Only an invite's expiry, chosen by the coordinator's device, is
/// kept as it came. No envelope is stored with the device that pushed it.
pub trait Storage: Send + Sync + 'static {
    /// Whether the database answers (for `/healthz`).
    fn check(&self) -> StorageResult<()>;
    /// The hash of the admin token, if one was stored by an earlier start.
    fn admin_token_hash(&self) -> StorageResult<Option<[u8; 32]>>;
    /// Stores `hash` as the admin token's unless one is stored already (another instance may
    /// have started at the same moment), and returns the one that is stored.
    fn init_admin_token_hash(&self, hash: [u8; 32]) -> StorageResult<[u8; 32]>;
    fn create_space(
        &self,
        space: SpaceId,
        coordinator: DeviceId,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<()>;
    fn caller(&self, token_hash: [u8; 32]) -> StorageResult<Option<Caller>>;
    fn add_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()>;
    /// Sets the space's recovery token (an invite that enrols a coordinator and never expires),
    /// replacing the one before.
    fn set_recovery(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
    ) -> StorageResult<()>;
    /// Uses an invite of the space (once, unexpired, its inviter not revoked), enrols the device
    /// with the token hash and appends a [`ControlBody::Enrolled`] item to the space's control
    /// log; returns that item's sequence number.
    fn enroll(
        &self,
        enrolment: &Enrolment,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<u64>;
    /// Stores a space invite of `space` by its coordinator's device `by`: `secret_hash` is the
    /// SHA-256 of a one-time token that registers one new space ([`Storage::create_linked_space`]).
    /// Refused (`Forbidden`) unless `by` is a coordinator's device of `space`, not revoked.
    fn add_space_invite(
        &self,
        space: SpaceId,
        by: DeviceId,
        secret_hash: [u8; 32],
        expires_at_ms: i64,
    ) -> StorageResult<()>;
    /// Redeems the space invite whose hash is `invite` (once, unexpired, its inviter not
    /// revoked) and, in the same transaction, registers `space` with `coordinator` as its first,
    /// coordinator device, as [`Storage::create_space`] does; the invite is deleted, and expired
    /// space invites with it. An unknown, used or expired invite is [`SPACE_CODE_REFUSED`]; a
    /// space that exists already is `Conflict`, and the invite stays usable.
    fn create_linked_space(
        &self,
        invite: [u8; 32],
        space: SpaceId,
        coordinator: DeviceId,
        token_hash: [u8; 32],
        now_ms: i64,
    ) -> StorageResult<()>;
    fn devices(&self, space: SpaceId) -> StorageResult<Vec<DeviceEntry>>;
    /// Revokes a device of the space, with the wipe order it will be served from then on when
    /// one is given (the caller has checked that it names this space and device). A device
    /// revoked again keeps its first revocation time, and its first order if it had one.
    fn revoke(
        &self,
        space: SpaceId,
        device: DeviceId,
        order: Option<&WipeOrder>,
        now_ms: i64,
    ) -> StorageResult<()>;
    /// Makes an enrolled device that is not revoked a coordinator of the space (it may invite,
    /// list and revoke devices, post key deliveries and start epochs).
    fn make_coordinator(&self, space: SpaceId, device: DeviceId) -> StorageResult<()>;
    /// Appends items posted by a coordinator's device to the space's control log (the caller
    /// has checked that they are [`ControlBody::Keys`] or [`ControlBody::Erase`]); an item
    /// already in the log (same encoded bytes) keeps its sequence number. A delivery or an
    /// erasure order for an epoch after the space's current one refuses the whole post
    /// (`Conflict`). In the same transaction, an erasure order deletes the space's envelopes
    /// whose `(epoch, record)` it lists and keeps those pairs, so that a later push carrying one
    /// of them is refused (`Conflict`).
    fn post_control(&self, space: SpaceId, items: &[ControlBody]) -> StorageResult<Vec<u64>>;
    /// One page of the space's control log after `after`: at most `limit` items and
    /// [`PAGE_BYTES`] (at least one item).
    fn control(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<ControlPage>;
    /// Starts epoch `expected + 1` if the space is at `expected`, appending a
    /// [`ControlBody::Epoch`] item by device `by`; otherwise changes nothing.
    fn start_epoch(
        &self,
        space: SpaceId,
        expected: u32,
        by: DeviceId,
    ) -> StorageResult<EpochOutcome>;
    /// Appends envelopes, with the pushing device's clock offset measured from the request; one
    /// already stored (same sealed bytes) keeps its sequence number and offset. The caller has
    /// checked that the pushing device belongs to `space`; which device it was is not stored.
    /// A push carrying an envelope of an erased record is refused whole (`Conflict`).
    fn push(
        &self,
        space: SpaceId,
        envelopes: &[Envelope],
        now_ms: i64,
        clock_offset_ms: i64,
    ) -> StorageResult<Vec<u64>>;
    fn pull(&self, space: SpaceId, after: u64, limit: usize) -> StorageResult<Page>;
    fn totals(&self) -> StorageResult<Totals>;
}

/// A time of the relay's clock, kept to the second.
pub fn whole_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// A clock offset, rounded to the nearest second (half away from zero, as the migration of
/// older files rounds it).
pub fn rounded_seconds(ms: i64) -> i64 {
    let (q, r) = (ms / 1000, ms % 1000);
    match r {
        500.. => q + 1,
        ..=-500 => q - 1,
        _ => q,
    }
}

/// Seconds as the wire types carry them (milliseconds, a multiple of 1000).
fn as_ms(seconds: i64) -> i64 {
    seconds.saturating_mul(1000)
}

/// A 16-byte id read back from a database (a backend only ever writes 16 bytes there).
fn id16(bytes: Vec<u8>) -> [u8; 16] {
    <[u8; 16]>::try_from(bytes.as_slice()).unwrap_or_default()
}

/// A stored envelope from its columns as both backends keep them.
#[allow(clippy::too_many_arguments)]
fn stored(
    seq: i64,
    received_at: i64,
    clock_offset: i64,
    record: Vec<u8>,
    epoch: u32,
    nonce: Vec<u8>,
    sealed: Vec<u8>,
    key: Option<Vec<u8>>,
) -> Stored {
    Stored {
        seq: seq as u64,
        received_at_ms: as_ms(received_at),
        clock_offset_ms: as_ms(clock_offset),
        envelope: Envelope {
            record: id16(record),
            epoch,
            nonce: <[u8; 24]>::try_from(nonce.as_slice()).unwrap_or([0; 24]),
            sealed,
            key,
        },
    }
}

/// One page of envelopes from the rows after `after` in sequence order (the query asks for
/// `limit + 1`): at most `limit` envelopes and [`PAGE_BYTES`] of sealed bytes (at least one
/// envelope), so that no page is too large to hold in memory on either side.
fn envelope_page(
    rows: impl IntoIterator<Item = StorageResult<Stored>>,
    after: u64,
    limit: usize,
) -> StorageResult<Page> {
    let (envelopes, more) = paged(rows, limit, |s| s.envelope.sealed.len())?;
    let next = envelopes.last().map_or(after, |e| e.seq);
    Ok(Page {
        envelopes,
        next,
        more,
        control: None,
    })
}

/// One page of a control log, as [`envelope_page`]; each row is a sequence number and the item
/// as the protocol encodes it.
fn control_page(
    rows: impl IntoIterator<Item = StorageResult<(u64, Vec<u8>)>>,
    after: u64,
    limit: usize,
) -> StorageResult<ControlPage> {
    let (rows, more) = paged(rows, limit, |(_, body)| body.len())?;
    let items = rows
        .into_iter()
        .map(|(seq, body)| {
            allervers_protocol::decode::<ControlBody>(&body)
                .map(|body| Control { seq, body })
                .map_err(|why| {
                    StorageError::Failed(format!("control item {seq} unreadable: {why}"))
                })
        })
        .collect::<StorageResult<Vec<Control>>>()?;
    let next = items.last().map_or(after, |c| c.seq);
    Ok(ControlPage { items, next, more })
}

/// The first rows that fit in `limit` items and [`PAGE_BYTES`] (at least one), and whether more
/// remain.
fn paged<T>(
    rows: impl IntoIterator<Item = StorageResult<T>>,
    limit: usize,
    size: impl Fn(&T) -> usize,
) -> StorageResult<(Vec<T>, bool)> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let row = row?;
        if out.len() == limit || (!out.is_empty() && bytes + size(&row) > PAGE_BYTES) {
            return Ok((out, true));
        }
        bytes += size(&row);
        out.push(row);
    }
    Ok((out, false))
}

/// Whether a post of control items may be appended to a space at `epoch` (a key delivery or an
/// erasure order naming an epoch the relay has not started refuses the whole post), and the
/// records the post's erasure orders erase, each once.
fn check_post(items: &[ControlBody], epoch: u32) -> StorageResult<Vec<BlindedRecord>> {
    let mut erased = Vec::new();
    for item in items {
        match item {
            ControlBody::Keys { epoch: e, .. } if *e > epoch => {
                return Err(StorageError::Conflict(
                    "a key delivery for an epoch this relay has not started",
                ))
            }
            ControlBody::Erase { records, .. } => {
                if records.iter().any(|r| r.epoch > epoch) {
                    return Err(StorageError::Conflict(
                        "an erasure order for an epoch this relay has not started",
                    ));
                }
                erased.extend_from_slice(records);
            }
            _ => {}
        }
    }
    erased.sort_unstable();
    erased.dedup();
    Ok(erased)
}

/// The refusal of a space code that registers nothing: unknown, used, expired, or from a
/// coordinator revoked since (one reason for all: which one it was is nobody's business).
pub const SPACE_CODE_REFUSED: StorageError =
    StorageError::Forbidden("unknown, used or expired space code");

/// The refusal of a space invite from a device that is no coordinator of its space.
const NOT_A_COORDINATOR: StorageError =
    StorageError::Forbidden("only a coordinator's device may do this");

/// The refusal of a space id taken already (by the admin token's route or a space code).
const SPACE_EXISTS: StorageError = StorageError::Conflict("this space already exists");

/// The refusal of a push that carries an envelope of an erased record.
const ERASED: StorageError = StorageError::Conflict("a record in this push was erased");
