//! Sync with a relay, sans IO: the store decides what to push and what to apply; a
//! transport outside the core does the I/O (the client crate drives [`SyncRound`]).
//!
//! A round pushes the outbox (local changes past the push cursor) in batches, then pulls pages
//! until none remain. A page is decrypted whole before anything is applied, then applied with
//! the cursor move in one transaction: a sync cut at any point resumes without loss or
//! duplication (pushes are idempotent at the relay, pages are applied once).

mod control;
mod engine;
mod erasure;
mod linked;
mod recovery;
mod seal;

use allervers_protocol::{Page, Push, Pushed, SpaceId, Stored};
use automerge::Change;
use serde::Serialize;

use crate::crypto::RawKey;
use crate::identity::PublicKeys;
use crate::store::control as control_state;
use crate::store::sync_state::{self, Cursor};
use crate::store::trust::{self, Setback};
use crate::store::{ImportSummary, SetAside, SignedChange, Store, ROSTER_ID};
use crate::{CoreError, DeviceId, RecordId, Result};
pub use control::ControlSummary;
#[cfg(feature = "fuzzing")]
pub(crate) use control::{delivery_opens, wipe_order_signed_by};
pub use engine::{Request, Response, SyncRound};
#[cfg(feature = "fuzzing")]
pub(crate) use erasure::order_signed_by;
pub use erasure::Erasure;
pub use linked::SpaceCode;
pub use recovery::RecoveryCode;
pub(crate) use seal::SpaceKeys;

/// Changes pushed in one request, at most.
pub const PUSH_BATCH: usize = 256;
/// Bytes of changes pushed in one request, at most (well under the relay's body limit).
pub const PUSH_BYTES: usize = 2 * 1024 * 1024;
/// Envelopes asked for in one pull.
pub const PULL_PAGE: usize = 1_000;
/// Bytes of changes (once inflated) opened and applied in one transaction, at most: a page of
/// many large, compressible changes is applied in slices, never held whole.
pub const PAGE_INFLATED: u64 = 32 * 1024 * 1024;

/// A space this store syncs with, and its credentials. Secret: kept in the encrypted store. The
/// space's keys are kept apart, by epoch: a device that joined holds none until a coordinator
/// delivers them.
#[derive(Clone)]
pub struct Membership {
    pub space: SpaceId,
    pub name: String,
    pub relay: String,
    pub token: String,
    /// The newest key epoch this store holds a key of (0 until it holds one).
    pub epoch: u32,
    pub coordinator: bool,
    /// The coordinator's device this store trusts for key deliveries and wipe orders: the one
    /// whose invite it joined with, or itself for the space's creator.
    pub root: Option<DeviceId>,
    /// The public keys of the space's founder (its creator's device): the anchor of the grants
    /// that make other devices coordinators.
    pub founder: Option<PublicKeys>,
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

/// An invitation to join a space: the relay's address, the space, the inviting coordinator's
/// public keys and a one-time secret. It carries nothing that decrypts: the relay only ever sees
/// the redemption token derived from the secret, and the joining device authenticates its keys
/// under a MAC key also derived from it, which the relay never sees; the coordinator's device
/// checks that MAC before it delivers the space key. Hand it over in person (a QR code): whoever
/// holds it first can enrol.
#[derive(Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Invite {
    pub relay: String,
    pub space: SpaceId,
    pub name: String,
    pub coordinator: PublicKeys,
    pub founder: PublicKeys,
    pub secret: [u8; 32],
}

const INVITE_PREFIX: &str = "ALV2-";

fn derive(secret: &[u8; 32], label: &[u8]) -> [u8; 32] {
    derive_from(b"allervers invite v2", secret, label)
}

/// 32 bytes derived by HKDF-SHA256 from a code's secret, for one use (`label`).
fn derive_from(salt: &[u8], secret: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), secret);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
    let _ = hkdf.expand(label, &mut out);
    out
}

/// A value as a code to type or scan: `prefix`, then its postcard bytes in URL-safe base64.
fn write_code<T: Serialize>(prefix: &str, value: &T) -> String {
    use base64::Engine;
    let bytes = postcard::to_stdvec(value).unwrap_or_default();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Reads a code [`write_code`] wrote (spaces and line breaks ignored); `None` when it is not
/// one of `prefix`, or names a relay that is not an http(s) address.
fn read_code<T: serde::de::DeserializeOwned>(
    prefix: &str,
    code: &str,
    relay: impl Fn(&T) -> &str,
) -> Option<T> {
    use base64::Engine;
    let code: String = code.split_whitespace().collect();
    let body = code.strip_prefix(prefix)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    let value: T = postcard::from_bytes(&bytes).ok()?;
    let address = relay(&value);
    (address.starts_with("http://") || address.starts_with("https://")).then_some(value)
}

impl Invite {
    /// The token that redeems the invite at the relay (once).
    pub fn redeem(&self) -> [u8; 32] {
        derive(&self.secret, b"redeem")
    }

    /// The hash of the redemption token, which is all the relay keeps.
    pub fn secret_hash(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.redeem()).into()
    }

    /// The MAC under which a joining device authenticates its public keys.
    pub fn mac(&self, device: &DeviceId, keys: &PublicKeys) -> [u8; 32] {
        enrolment_mac(&self.secret, &self.space, device, keys)
    }

    /// The code to type or scan.
    pub fn code(&self) -> String {
        write_code(INVITE_PREFIX, self)
    }

    /// Whether `code` is an invite of an older version (no longer accepted).
    pub fn is_older_code(code: &str) -> bool {
        code.trim().starts_with("ALV1-")
    }

    /// Reads a code; a mistyped or truncated code is refused.
    pub fn from_code(code: &str) -> Result<Invite> {
        if Invite::is_older_code(code) {
            return Err(CoreError::invalid(
                "invite code",
                "was made by an older version of allervers: ask for a new one",
            ));
        }
        read_code(INVITE_PREFIX, code, |i: &Invite| &i.relay).ok_or_else(|| {
            CoreError::invalid(
                "invite code",
                "is not an allervers invite code (mistyped or cut?)",
            )
        })
    }

    /// The membership a device gets once the relay enrolled it with `token`: no key yet, the
    /// inviting coordinator its root.
    pub fn membership(&self, token: String) -> Membership {
        Membership {
            space: self.space,
            name: self.name.clone(),
            relay: self.relay.clone(),
            token,
            epoch: 0,
            coordinator: false,
            root: Some(self.coordinator.device()),
            founder: Some(self.founder),
        }
    }
}

/// The MAC of an enrolment: the space, the device and its keys under a key derived from the
/// invite's secret.
fn enrolment_mac(
    secret: &[u8; 32],
    space: &SpaceId,
    device: &DeviceId,
    keys: &PublicKeys,
) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let key = derive(secret, b"mac");
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(b"allervers enrol v1");
    mac.update(space);
    mac.update(&device.to_bytes());
    mac.update(&keys.sign);
    mac.update(&keys.agree);
    mac.finalize().into_bytes().into()
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
    /// Envelopes set aside this round: held until a key arrives, or quarantined (see
    /// [`Store::set_aside`]); the cursor moved past them.
    pub held: usize,
    pub quarantined: usize,
    /// Space keys this device received, and devices whose enrolment it approved.
    pub keys_received: usize,
    pub approved: usize,
    /// Records erased here by erasure orders read this round.
    pub erased: usize,
    /// The pull cursor after the round.
    pub cursor: u64,
    pub requests: usize,
}

/// A relay's address as a store keeps it: `http://` or `https://`, a host (a name, an IPv4
/// address or an IPv6 one in brackets) and maybe a port and a path (a relay behind a reverse
/// proxy), without the trailing `/`. Refused: anything else, a user or password in the
/// address (it would be shown and logged), a query or a fragment (the relay's paths are
/// appended to it). The error names what is wrong, not the address.
pub fn relay_address(input: &str) -> Result<String> {
    let bad = |why: &str| CoreError::invalid("relay address", why);
    let address = input.trim().trim_end_matches('/');
    let rest = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"))
        .ok_or_else(|| bad("must start with http:// or https://"))?;
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not hold spaces"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("must not hold a query (?) or a fragment (#)"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("must not hold a user or a password"));
    }
    let (host, port, ipv6) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed [ in its host"))?;
            if !(after.is_empty() || after.starts_with(':')) {
                return Err(bad("has an invalid host"));
            }
            (host, after.strip_prefix(':'), true)
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port), false),
            None => (authority, None, false),
        },
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let host_char = |c: char| {
        if ipv6 {
            c.is_ascii_hexdigit() || c == ':' || c == '.'
        } else {
            c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'
        }
    };
    if !host.chars().all(host_char) {
        return Err(bad("has an invalid host"));
    }
    if let Some(port) = port {
        if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(bad("has an invalid port"));
        }
    }
    Ok(address.to_string())
}

/// A batch of the outbox, sealed, with the last change sequence it covers.
pub struct OutboxBatch {
    pub push: Push,
    pub last_seq: i64,
}

impl Store {
    /// Records that this store syncs with `membership` (after creating or joining a space). A
    /// coordinator joining the space it created (its own root) draws the space's first key.
    pub fn join_space(&self, membership: &Membership) -> Result<()> {
        self.join_space_with(membership, None)
    }

    /// [`Store::join_space`], keeping the secret of the recovery code it recovers the space
    /// with, if any, in the same transaction.
    fn join_space_with(&self, membership: &Membership, recovery: Option<&[u8; 32]>) -> Result<()> {
        if membership.relay.trim().is_empty() || membership.token.is_empty() {
            return Err(CoreError::invalid(
                "space",
                "a relay address and a device token are needed",
            ));
        }
        let creator =
            membership.coordinator && membership.root.as_ref() == Some(&self.identity().device);
        let key = creator.then(|| RawKey::from_bytes(self.random()));
        let mut conn = self.lock();
        // The store keeps each space's state apart, but every change goes to every space it
        // belongs to: until partnerships receive only a consented projection, a store joins
        // one space.
        if !sync_state::memberships(&conn)?.is_empty() {
            return Err(CoreError::invalid(
                "space",
                "this store already belongs to a space",
            ));
        }
        let tx = conn.transaction()?;
        sync_state::insert_membership(&tx, membership, self.now().timestamp_millis())?;
        if let Some(key) = key {
            sync_state::keep_space_key(&tx, &membership.space, membership.epoch, &key)?;
        }
        if let Some(secret) = recovery {
            sync_state::set_recovery_secret(&tx, &membership.space, Some(secret))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Joins the space of `invite` with the device token the relay gave: the inviting
    /// coordinator's keys (from the invite, which came by hand) are the ones this store trusts
    /// for its key deliveries.
    pub fn join_invited(&self, invite: &Invite, token: String) -> Result<()> {
        trust::learn_device_keys(&self.lock(), &invite.coordinator)?;
        self.join_space(&invite.membership(token))
    }

    /// What `POST /v1/enroll` needs for `invite`: this device's id and keys, and their MAC.
    pub fn enrolment(&self, invite: &Invite) -> allervers_protocol::Enroll {
        let keys = self.device_keys().public();
        allervers_protocol::Enroll {
            space: invite.space,
            redeem: invite.redeem(),
            device: self.device_bytes(),
            sign_key: keys.sign,
            agree_key: keys.agree,
            mac: invite.mac(&self.identity().device, &keys),
        }
    }

    /// A key of a space received out of band (tests and the simulation, which have no
    /// coordinator delivering keys).
    pub fn keep_space_key(&self, space: &SpaceId, epoch: u32, key: &RawKey) -> Result<()> {
        sync_state::keep_space_key(&self.lock(), space, epoch, key).map(|_| ())
    }

    /// This device's id as the relay knows it.
    pub fn device_bytes(&self) -> [u8; 16] {
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

    /// A new space at `relay` with this device its coordinator: a fresh space id and key. The
    /// caller registers it at the relay, puts the device token it gets in, and joins it
    /// ([`Store::join_space`]).
    pub fn new_space(&self, relay: &str, name: &str) -> Result<Membership> {
        self.not_in_a_space()?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CoreError::invalid("space name", "is empty"));
        }
        let relay = relay_address(relay)?;
        Ok(Membership {
            space: self.random(),
            name: name.to_string(),
            relay,
            token: String::new(),
            epoch: 0,
            coordinator: true,
            root: Some(self.identity().device.clone()),
            founder: Some(self.device_keys().public()),
        })
    }

    /// A new one-time invite to this store's space, with its membership (a coordinator's
    /// device only). Its secret is kept here, to check the MAC of the device that redeems it;
    /// the caller registers the redemption token's hash at the relay.
    pub fn new_invite(&self) -> Result<(Membership, Invite)> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator {
            return Err(CoreError::invalid(
                "invite",
                "only a coordinator's device can invite",
            ));
        }
        let founder = m.founder.ok_or_else(|| {
            CoreError::invalid(
                "invite",
                "this space was created by an older version: create it anew to invite",
            )
        })?;
        let invite = Invite {
            relay: m.relay.clone(),
            space: m.space,
            name: m.name.clone(),
            coordinator: self.device_keys().public(),
            founder,
            secret: self.random(),
        };
        control_state::keep_invite(
            &self.lock(),
            &m.space,
            &invite.secret_hash(),
            &invite.secret,
            self.now().timestamp_millis(),
        )?;
        Ok((m, invite))
    }

    /// Reads an invite code for this store, which must not belong to a space yet.
    pub fn read_invite(&self, code: &str) -> Result<Invite> {
        self.not_in_a_space()?;
        Invite::from_code(code)
    }

    /// The space this store first joined (its team's), if any.
    pub fn membership(&self) -> Result<Option<Membership>> {
        Ok(self.memberships()?.into_iter().next())
    }

    /// Every space this store syncs with, in the order it joined them.
    pub fn memberships(&self) -> Result<Vec<Membership>> {
        sync_state::memberships(&self.lock())
    }

    /// `space` syncs with the relay at `relay` from now on: the relay moved (its operator moved
    /// its data, with the same spaces, device tokens and sequence numbers, to a new address).
    /// Only the address changes; the cursors, the token and the keys stay, so nothing is pulled
    /// or pushed twice. The address is checked ([`relay_address`]); `NotEnrolled` when this
    /// store does not belong to `space`. Whether the new address serves the space is for the
    /// caller to check first (the client's `set_relay` asks it).
    pub fn set_relay(&self, space: &SpaceId, relay: &str) -> Result<Membership> {
        let relay = relay_address(relay)?;
        if !sync_state::set_relay(&self.lock(), space, &relay)? {
            return Err(CoreError::NotEnrolled);
        }
        self.memberships()?
            .into_iter()
            .find(|m| m.space == *space)
            .ok_or(CoreError::NotEnrolled)
    }

    fn keys(&self, space: &SpaceId) -> Result<(Membership, SpaceKeys)> {
        let m = self
            .memberships()?
            .into_iter()
            .find(|m| m.space == *space)
            .ok_or(CoreError::NotEnrolled)?;
        let key = sync_state::space_key(&self.lock(), space, m.epoch)?.ok_or_else(|| {
            CoreError::invalid(
                "space",
                "this device has not received the space's key yet: a coordinator's device delivers it at its next sync",
            )
        })?;
        let keys = SpaceKeys::new(&key, m.epoch);
        Ok((m, keys))
    }

    /// The keys of `space` at `epoch`, if this store holds them.
    fn keys_at(&self, space: &SpaceId, epoch: u32) -> Result<Option<SpaceKeys>> {
        Ok(sync_state::space_key(&self.lock(), space, epoch)?
            .map(|key| SpaceKeys::new(&key, epoch)))
    }

    /// Whether this store holds the key new envelopes of `space` are sealed with.
    pub fn holds_space_key(&self, space: &SpaceId) -> Result<bool> {
        let Some(m) = self.memberships()?.into_iter().find(|m| m.space == *space) else {
            return Ok(false);
        };
        Ok(self.keys_at(space, m.epoch)?.is_some())
    }

    /// The next batch of the outbox, sealed: a change already sealed by an earlier attempt goes
    /// out in the very same envelope; one never sent is sealed now and kept until acknowledged
    /// (record keys are created for records that have none yet). `None` when everything was
    /// pushed.
    pub fn outbox_batch(&self, space_id: &SpaceId, limit: usize) -> Result<Option<OutboxBatch>> {
        let (_, space) = self.keys(space_id)?;
        let now_ms = self.now().timestamp_millis();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let after = sync_state::cursor(&tx, space_id, Cursor::Push)?;
        let entropy = self.entropy();
        let rows = sync_state::outbox(&tx, after, limit, PUSH_BYTES)?;
        let Some(last_seq) = rows.last().map(|r| r.0) else {
            return Ok(None);
        };
        let mut envelopes = Vec::with_capacity(rows.len());
        for (seq, record, bytes) in rows {
            if let Some(envelope) = sync_state::sealed(&tx, space_id, seq)? {
                envelopes.push(envelope);
                continue;
            }
            let key = record_key(&tx, &space, record, &*entropy)?;
            let change = Change::try_from(&bytes[..])
                .map_err(|e| CoreError::corrupt(format!("stored change: {e}")))?;
            // Signed when it first leaves: this device's own change now, a change that came in
            // a bundle with the signature it came with.
            let signature = match trust::signature(&tx, seq)? {
                Some(signature) => signature,
                None => match self.sign_change(&tx, record, &change)? {
                    Some(signature) => {
                        trust::set_signature(&tx, seq, &signature)?;
                        signature.encode()
                    }
                    None => Vec::new(),
                },
            };
            let envelope = space.seal(record, &key, &change, signature);
            sync_state::keep_sealed(&tx, space_id, seq, &envelope)?;
            envelopes.push(envelope);
        }
        tx.commit()?;
        Ok(Some(OutboxBatch {
            push: Push {
                envelopes,
                sent_at_ms: now_ms,
            },
            last_seq,
        }))
    }

    /// The relay acknowledged a batch of `count` envelopes ending at change `last_seq`: its
    /// changes leave the outbox.
    pub(crate) fn ack_push(
        &self,
        space: &SpaceId,
        last_seq: i64,
        count: usize,
        pushed: &Pushed,
    ) -> Result<()> {
        if pushed.seqs.len() != count {
            return Err(CoreError::RelayRefused {
                status: 200,
                reason: format!("acknowledged {} envelopes of {count}", pushed.seqs.len()),
            });
        }
        sync_state::acknowledge(&mut self.lock(), space, last_seq)
    }

    /// Where the next pull starts.
    pub fn pull_cursor(&self, space: &SpaceId) -> Result<u64> {
        Ok(sync_state::cursor(&self.lock(), space, Cursor::Pull)? as u64)
    }

    /// Applies one page. Its envelopes are opened and applied in slices of at most
    /// `PAGE_INFLATED` bytes of changes (a page of many large, compressible changes is never
    /// held whole), each slice with the cursor moved to its last envelope in one transaction.
    /// An envelope this store cannot open or check yet is held, one that fails a check every
    /// device makes the same way is quarantined (`Store::set_aside`); neither stops the others
    /// or the cursor. Envelopes held earlier are tried again when the page taught the store a
    /// key.
    pub fn apply_page(&self, space_id: &SpaceId, page: &Page) -> Result<ImportSummary> {
        let next = i64::try_from(page.next)
            .map_err(|_| CoreError::ChangesRefused("the relay's cursor is out of range".into()))?;
        let mut summary = ImportSummary::default();
        let mut start = 0;
        while start < page.envelopes.len() {
            let (applied, taken) =
                self.apply_envelopes(space_id, &page.envelopes[start..], Some(next))?;
            add(&mut summary, applied);
            start += taken;
        }
        if page.envelopes.is_empty() {
            sync_state::set_cursor(&self.lock(), space_id, Cursor::Pull, next)?;
        }
        if summary.learned_keys > 0 {
            add(&mut summary, self.retry_set_aside(space_id)?);
        }
        Ok(summary)
    }

    /// Tries again the envelopes set aside in `space` that may apply now (held ones, once the
    /// store learnt a key; quarantined ones, after an upgrade of the checks).
    pub fn retry_set_aside(&self, space_id: &SpaceId) -> Result<ImportSummary> {
        let mut total = ImportSummary::default();
        // Each pass may teach keys that open more of them: at most one pass per envelope.
        loop {
            let retry = trust::to_retry(&self.lock(), space_id)?;
            if retry.is_empty() {
                break;
            }
            let mut summary = ImportSummary::default();
            let mut start = 0;
            while start < retry.len() {
                let (applied, taken) = self.apply_envelopes(space_id, &retry[start..], None)?;
                add(&mut summary, applied);
                start += taken;
            }
            let learned = summary.learned_keys;
            add(&mut total, summary);
            if learned == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// The sequence numbers of quarantined envelopes that the relay should serve once more
    /// (see [`Store::recheck`]).
    pub fn to_recheck(&self, space_id: &SpaceId) -> Result<Vec<u64>> {
        trust::unconfirmed(&self.lock(), space_id)
    }

    /// The relay served a quarantined envelope again: the same bytes confirm the quarantine
    /// (the check gives the same answer everywhere); other bytes (the first copy was damaged on
    /// the way) are opened and applied, or set aside on their own merits.
    /// `None` when the answer did not hold it (a confused or stale answer): it is asked for
    /// again at the next round.
    pub fn recheck(
        &self,
        space_id: &SpaceId,
        seq: u64,
        served: Option<&Stored>,
    ) -> Result<ImportSummary> {
        let Some(served) = served else {
            return Ok(ImportSummary::default());
        };
        let kept = trust::quarantined(&self.lock(), space_id, seq)?;
        let stored = match kept {
            Some(kept) if kept != served.envelope => served,
            _ => {
                trust::confirm(&self.lock(), space_id, seq)?;
                return Ok(ImportSummary::default());
            }
        };
        let (mut summary, _) =
            self.apply_envelopes(space_id, std::slice::from_ref(stored), None)?;
        if summary.quarantined > 0 {
            // Quarantined again with the new bytes: those are worth one more look too.
            summary.quarantined = 0;
        }
        if summary.learned_keys > 0 {
            // The genuine copy taught a device's keys (its roster change): what was held for
            // them applies now, as after a page, not a round later.
            add(&mut summary, self.retry_set_aside(space_id)?);
        }
        Ok(summary)
    }

    /// Envelopes this store set aside in `space`: quarantined ones (with the check they failed)
    /// and held ones (with the key they wait for).
    pub fn set_aside(&self, space_id: &SpaceId) -> Result<Vec<SetAside>> {
        trust::set_aside(&self.lock(), space_id)
    }

    /// Opens and applies the first envelopes of `envelopes`, up to `PAGE_INFLATED` bytes of
    /// changes (at least one envelope), in one transaction. With `page_end` (the page's next
    /// cursor), the pull cursor moves with them: to `page_end` when all were taken, to the last
    /// one taken otherwise. Returns what was applied and how many envelopes were taken.
    fn apply_envelopes(
        &self,
        space_id: &SpaceId,
        envelopes: &[Stored],
        page_end: Option<i64>,
    ) -> Result<(ImportSummary, usize)> {
        let mut epochs: Vec<(u32, Option<SpaceKeys>)> = Vec::new();
        let mut opened: Vec<SignedChange> = Vec::new();
        let mut origin: Vec<usize> = Vec::new();
        let mut early: Vec<(usize, Setback)> = Vec::new();
        let mut new_keys: Vec<([u8; 16], RecordId, RawKey)> = Vec::new();
        let mut inflated: u64 = 0;
        let mut taken = 0;
        {
            let conn = self.lock();
            for (i, stored) in envelopes.iter().enumerate() {
                if inflated >= PAGE_INFLATED {
                    break;
                }
                taken = i + 1;
                let env = &stored.envelope;
                let space = match epochs.iter().find(|(e, _)| *e == env.epoch) {
                    Some((_, keys)) => keys.clone(),
                    None => {
                        let keys = sync_state::space_key(&conn, space_id, env.epoch)?
                            .map(|key| SpaceKeys::new(&key, env.epoch));
                        epochs.push((env.epoch, keys.clone()));
                        keys
                    }
                };
                let Some(space) = space else {
                    early.push((
                        i,
                        Setback::Hold(format!(
                            "sealed under key epoch {}, whose key this device has not received",
                            env.epoch
                        )),
                    ));
                    continue;
                };
                let key = match &env.key {
                    Some(wrapped) => match space.unwrap(&env.record, wrapped) {
                        Ok(key) => key,
                        Err(e) => {
                            early.push((i, Setback::Quarantine(reason(e))));
                            continue;
                        }
                    },
                    // Only the roster's envelopes carry no record key (every device derives
                    // it): any other without one is refused, the same way on every device,
                    // whether or not this one happens to know the record's key.
                    None if env.record == space.blind(ROSTER_ID) => space.roster_key(),
                    None => {
                        early.push((
                            i,
                            Setback::Quarantine("carries no wrapped record key".into()),
                        ));
                        continue;
                    }
                };
                let room = (PAGE_INFLATED - inflated).max(seal::MAX_CHANGE);
                let open = match space.open(env, &key, room) {
                    Ok(open) => open,
                    Err(e) => {
                        early.push((i, Setback::Quarantine(reason(e))));
                        continue;
                    }
                };
                inflated += open.bytes.len() as u64;
                if env.key.is_some() && !new_keys.iter().any(|(b, _, _)| *b == env.record) {
                    new_keys.push((env.record, open.record, key));
                }
                opened.push(SignedChange {
                    record: open.record,
                    bytes: open.bytes,
                    signature: open.signature,
                });
                origin.push(i);
            }
        }
        let cursor = match page_end {
            Some(end) if taken == envelopes.len() => Some(end),
            Some(_) => Some(envelopes[taken - 1].seq as i64),
            None => None,
        };
        let envelopes = &envelopes[..taken];
        let now_ms = self.now().timestamp_millis();
        let mut summary = self.import_with(&opened, false, |tx, verdicts| {
            let generation = trust::known_keys(tx)?;
            let mut setbacks: Vec<(usize, &Setback)> = early.iter().map(|(i, s)| (*i, s)).collect();
            let mut about_erased: Vec<RecordId> = Vec::new();
            for (j, verdict) in verdicts.iter().enumerate() {
                let stored = &envelopes[origin[j]];
                match verdict {
                    Some(setback) => {
                        if *setback
                            == Setback::Quarantine(crate::store::erasure::REFERS_TO_ERASED.into())
                            && !about_erased.contains(&opened[j].record)
                        {
                            about_erased.push(opened[j].record);
                        }
                        setbacks.push((origin[j], setback))
                    }
                    None => {
                        let change = &opened[j];
                        if let Ok(parsed) = Change::try_from(&change.bytes[..]) {
                            sync_state::set_relay_time(
                                tx,
                                change.record,
                                &parsed.hash(),
                                stored.received_at_ms,
                                stored.clock_offset_ms,
                            )?;
                        }
                        // An erased record's change was dropped: its key is not kept either.
                        let erased = crate::store::erasure::tombstone(tx, change.record)?.is_some();
                        if let Some((blind, record, key)) = new_keys
                            .iter()
                            .filter(|_| !erased)
                            .find(|(b, r, _)| *r == change.record && *b == stored.envelope.record)
                        {
                            sync_state::insert_record_key(tx, blind, *record, key)?;
                        }
                        trust::release(tx, space_id, stored.seq)?;
                    }
                }
            }
            for (i, setback) in setbacks {
                let stored = &envelopes[i];
                trust::release(tx, space_id, stored.seq)?;
                match setback {
                    Setback::Hold(why) => trust::hold(tx, space_id, stored, why, generation)?,
                    Setback::Quarantine(why) => {
                        trust::quarantine(tx, space_id, stored, why, now_ms)?
                    }
                }
            }
            if let Some(cursor) = cursor {
                sync_state::set_cursor(tx, space_id, Cursor::Pull, cursor)?;
            }
            self.follow_up_order(tx, space_id, &about_erased)?;
            Ok(())
        })?;
        for (_, setback) in &early {
            match setback {
                Setback::Hold(_) => summary.held += 1,
                Setback::Quarantine(_) => summary.quarantined += 1,
            }
        }
        Ok((summary, taken))
    }
}

/// The reason an envelope was refused, without the error's wrapping.
fn reason(e: CoreError) -> String {
    match e {
        CoreError::ChangesRefused(why) => why,
        other => other.to_string(),
    }
}

fn add(total: &mut ImportSummary, more: ImportSummary) {
    total.records += more.records;
    total.new_changes += more.new_changes;
    total.known_changes += more.known_changes;
    total.new_conflicts += more.new_conflicts;
    total.waiting = more.waiting.max(total.waiting);
    total.held += more.held;
    total.quarantined += more.quarantined;
    total.learned_keys += more.learned_keys;
    total.erased += more.erased;
}

/// The key of a record; a new random one is stored for a record that has none yet.
fn record_key(
    conn: &rusqlite::Connection,
    space: &SpaceKeys,
    record: RecordId,
    entropy: &dyn crate::Entropy,
) -> Result<RawKey> {
    if record == ROSTER_ID {
        return Ok(space.roster_key());
    }
    let blind = space.blind(record);
    if let Some(key) = sync_state::record_key(conn, &blind)? {
        return Ok(key);
    }
    let key = RawKey::from_bytes(crate::entropy::bytes(entropy));
    sync_state::insert_record_key(conn, &blind, record, &key)?;
    Ok(key)
}
