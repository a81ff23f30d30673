//! Applying changes received from elsewhere (a bundle file, a relay's page): every change is
//! checked before anything is written (its bytes, its author's signature, what it may touch),
//! and the batch commits in one transaction. A bundle is all or nothing; a relay's page sets a
//! change that fails a check aside (`trust.rs`) and applies the others, so that no envelope
//! stops a space.

use std::collections::BTreeMap;

use automerge::{AutoCommit, Change};
use rusqlite::params;
use serde::Serialize;

use super::roster::check_roster_change;
use super::trust::{self, Setback};
use super::{index, insert_raw_change, load_doc, maybe_snapshot, Store, ROSTER_ID};
use crate::doc;
use crate::identity::{role_of, verify_all, ChangeSignature, Grant, PublicKeys, ToVerify};
use crate::model::fields::Kind;
use crate::{CoreError, DeviceId, RecordId, Result};

/// A change as it travels between stores: its record, its bytes and its author's signature
/// (an encoded [`ChangeSignature`]; empty on a change that was never signed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedChange {
    pub record: RecordId,
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records that received at least one new change.
    pub records: usize,
    /// Changes this store did not have.
    pub new_changes: usize,
    /// Changes it already had (ignored).
    pub known_changes: usize,
    /// Fields that became conflicts.
    pub new_conflicts: usize,
    /// Changes stored but waiting for changes they depend on.
    pub waiting: usize,
    /// Changes held until a key arrives (their author's, say), and changes quarantined (see
    /// `trust.rs`); neither stops the others.
    pub held: usize,
    pub quarantined: usize,
    /// Devices whose keys this batch taught the store.
    pub learned_keys: usize,
    /// Changes dropped because their record was erased here (a person's erasure), or because
    /// they refer to an erased person (set aside as quarantined when they came from a relay).
    pub erased: usize,
}

impl Store {
    /// Every change of the store, in local order, with its record id and signature. This
    /// device's changes that never left it are signed now.
    pub fn export_changes(&self) -> Result<Vec<SignedChange>> {
        self.sign_unsigned()?;
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT record_id, bytes, coalesce(signature, x'') FROM changes ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bytes, signature) = row?;
            out.push(SignedChange {
                record: RecordId::from_slice(&id)
                    .ok_or_else(|| CoreError::corrupt("bad record id"))?,
                bytes,
                signature,
            });
        }
        Ok(out)
    }

    /// Signs this device's changes that have no signature yet (in one transaction).
    fn sign_unsigned(&self) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for (seq, record, bytes) in trust::unsigned_local(&tx)? {
            let change = automerge::Change::try_from(&bytes[..])
                .map_err(|e| CoreError::corrupt(format!("stored change: {e}")))?;
            if let Some(signature) = self.sign_change(&tx, record, &change)? {
                trust::set_signature(&tx, seq, &signature)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// This device's signature of one of its changes; `None` for a change it did not write
    /// (one written before this store's device had keys carries another actor). In a space, a
    /// roster change carries the grants that make its author a member (none for the founder).
    pub(crate) fn sign_change(
        &self,
        conn: &rusqlite::Connection,
        record: RecordId,
        change: &Change,
    ) -> Result<Option<ChangeSignature>> {
        if *change.actor_id() != *self.me.device.actor() {
            return Ok(None);
        }
        let mut signature = self
            .keys
            .sign(record, &change.hash().0, record == ROSTER_ID);
        // A roster change, and a change that writes a coordinator's decision on a record,
        // carry the grants that make their author what it must be.
        if record == ROSTER_ID
            || crate::model::fields::coordinator_field(&change.decode().operations).is_some()
        {
            signature.credentials = self.own_credentials(conn)?;
        }
        Ok(Some(signature))
    }

    /// The grants this device's roster changes carry in a space: the roster's when they prove
    /// it a member (a coordinator's chain wins), else those delivered with its first key; none
    /// outside a space and for the founder.
    pub(crate) fn own_credentials(&self, conn: &rusqlite::Connection) -> Result<Vec<Grant>> {
        let anchor = super::sync_state::memberships(conn)?
            .into_iter()
            .next()
            .and_then(|m| m.founder.map(|founder| (m.space, founder)));
        let Some((space, founder)) = anchor else {
            return Ok(Vec::new());
        };
        let from_roster = load_doc(conn, ROSTER_ID)?
            .and_then(|doc| super::roster::member_chain(&doc, &space, &founder, &self.me.device));
        match from_roster {
            Some(chain) => Ok(chain),
            None => super::sync_state::credentials(conn, &space),
        }
    }

    /// Applies changes received from other devices. Every change is parsed, its signature and
    /// every record checked before the batch commits; a bad change refuses the whole batch.
    /// Changes already known are ignored, so importing twice changes nothing.
    pub fn import_changes(&self, batch: &[SignedChange]) -> Result<ImportSummary> {
        self.import_with(batch, true, |_, _| Ok(()))
    }

    /// Imports a batch and runs `also` in the same transaction, with what became of each change
    /// (`None`: applied or already known; a setback otherwise). `strict` refuses the whole
    /// batch at the first setback; otherwise a change that fails a check is set aside and the
    /// others apply.
    pub(crate) fn import_with(
        &self,
        batch: &[SignedChange],
        strict: bool,
        also: impl FnOnce(&rusqlite::Connection, &[Option<Setback>]) -> Result<()>,
    ) -> Result<ImportSummary> {
        let mut verdicts: Vec<Option<Setback>> = vec![None; batch.len()];
        let set_back = |verdicts: &mut Vec<Option<Setback>>, i: usize, s: Setback| {
            if strict {
                let why = match &s {
                    Setback::Hold(why) | Setback::Quarantine(why) => why.clone(),
                };
                return Err(CoreError::ChangesRefused(format!(
                    "change {} (record {}) {why}",
                    i + 1,
                    batch[i].record
                )));
            }
            verdicts[i] = Some(s);
            Ok(())
        };
        let mut parsed: Vec<Option<Change>> = Vec::with_capacity(batch.len());
        for (i, incoming) in batch.iter().enumerate() {
            match parse(&incoming.bytes) {
                Ok(change) => parsed.push(Some(change)),
                Err(why) => {
                    set_back(&mut verdicts, i, Setback::Quarantine(why))?;
                    parsed.push(None);
                }
            }
        }
        let now_ms = self.clock.now_ms();
        let mut summary = ImportSummary::default();
        let mut roster_changed = false;
        // The space's founder anchors the roles the roster rule reads.
        let anchor = self
            .membership()?
            .and_then(|m| m.founder.map(|founder| (m.space, founder)));
        let mut conn = self.lock();
        let tx = conn.transaction()?;

        // Changes this store already has are skipped; the others' signatures are checked, in
        // one batch.
        let mut known = vec![false; batch.len()];
        let mut learned: BTreeMap<Vec<u8>, PublicKeys> = BTreeMap::new();
        let mut signatures: Vec<Option<ChangeSignature>> = vec![None; batch.len()];
        for (i, change) in parsed.iter().enumerate() {
            let Some(change) = change else { continue };
            let id = batch[i].record;
            known[i] = tx
                .prepare_cached("SELECT 1 FROM changes WHERE record_id = ?1 AND hash = ?2")?
                .exists(params![id.as_bytes(), change.hash().0])?;
            if known[i] || !self.verifies_signatures() {
                continue;
            }
            let Some(signature) = ChangeSignature::decode(&batch[i].signature) else {
                set_back(
                    &mut verdicts,
                    i,
                    Setback::Quarantine("carries no valid signature".into()),
                )?;
                continue;
            };
            if let Some(keys) = signature.keys {
                if keys.device().actor() != change.actor_id() {
                    set_back(
                        &mut verdicts,
                        i,
                        Setback::Quarantine("is signed by another device than its author".into()),
                    )?;
                    continue;
                }
                // In a space, a device's keys are learnt only with the grants that make it a
                // member: whoever holds the space key without a coordinator's grant gets no
                // change of theirs applied anywhere.
                if let Some((space, founder)) = &anchor {
                    let author = DeviceId::from_bytes(change.actor_id().to_bytes());
                    if role_of(space, founder, &author, &signature.credentials).is_none() {
                        set_back(
                            &mut verdicts,
                            i,
                            Setback::Quarantine(super::roster::NOT_A_MEMBER.into()),
                        )?;
                        continue;
                    }
                }
                learned.insert(change.actor_id().to_bytes().to_vec(), keys);
            }
            signatures[i] = Some(signature);
        }
        let mut to_verify = Vec::new();
        let mut positions = Vec::new();
        for (i, change) in parsed.iter().enumerate() {
            let (Some(change), Some(signature)) = (change, &signatures[i]) else {
                continue;
            };
            let actor = change.actor_id().to_bytes().to_vec();
            let keys = match learned.get(&actor) {
                Some(keys) => Some(*keys),
                None => trust::device_keys(&tx, &DeviceId::from_bytes(&actor))?,
            };
            let Some(keys) = keys else {
                set_back(
                    &mut verdicts,
                    i,
                    Setback::Hold("its author's keys have not arrived yet".into()),
                )?;
                continue;
            };
            to_verify.push(ToVerify {
                record: batch[i].record,
                hash: change.hash().0,
                keys,
                signature: &signature.signature,
            });
            positions.push(i);
        }
        for (ok, i) in verify_all(&to_verify).into_iter().zip(positions) {
            if !ok {
                set_back(
                    &mut verdicts,
                    i,
                    Setback::Quarantine("its signature does not verify".into()),
                )?;
            }
        }
        drop(to_verify);
        for keys in learned.values() {
            if trust::learn_device_keys(&tx, keys)? {
                summary.learned_keys += 1;
            }
        }

        let mut by_record: BTreeMap<RecordId, Vec<(usize, Change)>> = BTreeMap::new();
        for (i, change) in parsed.into_iter().enumerate() {
            let Some(change) = change else { continue };
            if known[i] {
                summary.known_changes += 1;
                continue;
            }
            if verdicts[i].is_some() {
                continue;
            }
            let id = batch[i].record;
            if id == ROSTER_ID {
                let credentials = signatures[i]
                    .as_ref()
                    .map_or(&[][..], |s| s.credentials.as_slice());
                // A store that checks no signature (a test or benchmark tool) reads no grants
                // either: roles as outside a space.
                let anchor = anchor
                    .as_ref()
                    .filter(|_| self.verifies_signatures())
                    .map(|(space, founder)| (space, founder));
                if let Err(why) = check_roster_change(&change, credentials, anchor) {
                    set_back(&mut verdicts, i, Setback::Quarantine(why))?;
                    continue;
                }
            } else if self.verifies_signatures()
                && crate::model::fields::is_creation(&change)
                && !id.drawn_by(&DeviceId::from_bytes(change.actor_id().to_bytes()))
            {
                // A record is created only by the device that drew its id: a second creation
                // under another device's record id is refused on the change alone.
                set_back(
                    &mut verdicts,
                    i,
                    Setback::Quarantine(
                        "creates a record under an id its author did not draw".into(),
                    ),
                )?;
                continue;
            }
            if let Some(tombstone) = super::erasure::tombstone(&tx, id)? {
                // An erased record is never brought back. An edit of one that was shared with
                // other persons (re-issued without the erased one) may matter to them: it is
                // set aside for review rather than dropped unseen.
                if tombstone.shared && !strict {
                    set_back(
                        &mut verdicts,
                        i,
                        Setback::Quarantine(super::erasure::EDITS_ERASED.into()),
                    )?;
                } else {
                    summary.erased += 1;
                }
                continue;
            }
            let new = by_record.entry(id).or_default();
            if new.iter().any(|(_, c)| c.hash() == change.hash()) {
                summary.known_changes += 1;
            } else {
                new.push((i, change));
            }
        }
        for (id, new) in by_record {
            let existing_kind: Option<Kind> = match super::record_kind(&tx, id) {
                Ok(kind) => Some(kind),
                Err(CoreError::RecordNotFound(_)) => None,
                Err(e) => return Err(e),
            };
            // Values every device checks the same way, on the change alone: a change with one out
            // of bounds is set aside before anything applies.
            let mut checked = Vec::with_capacity(new.len());
            for (i, change) in new {
                let received = match crate::model::fields::check_received(&change) {
                    Ok(received) => received,
                    Err(why) => {
                        set_back(&mut verdicts, i, Setback::Quarantine(why))?;
                        continue;
                    }
                };
                // A store holds the kinds its space is for: a health note sent into a team's
                // space, or a person into a health space, is set aside by every device of it.
                if let Some(kind) = received.kind {
                    let allowed = super::purpose::check_kind(&self.purpose(), kind);
                    if allowed.is_err() {
                        set_back(
                            &mut verdicts,
                            i,
                            Setback::Quarantine(format!(
                                "a {} has no place in this space",
                                kind.name()
                            )),
                        )?;
                        continue;
                    }
                }
                match received.coordinator_field {
                    Some(field) if id != ROSTER_ID => {
                        // A coordinator's decision: the author's grants, carried in its
                        // signature, must prove it one (outside a space, anyone decides).
                        let credentials = signatures[i]
                            .as_ref()
                            .map_or(&[][..], |s| s.credentials.as_slice());
                        let author = DeviceId::from_bytes(change.actor_id().to_bytes());
                        let refused = match anchor.as_ref().filter(|_| self.verifies_signatures()) {
                            None => false,
                            Some((space, founder)) => {
                                crate::identity::role_of(space, founder, &author, credentials)
                                    != Some(crate::identity::Role::Coordinator)
                            }
                        };
                        if refused {
                            set_back(
                                &mut verdicts,
                                i,
                                Setback::Quarantine(format!(
                                    "only a coordinator may write {field}"
                                )),
                            )?;
                        } else {
                            checked.push((i, change));
                        }
                    }
                    _ => checked.push((i, change)),
                }
            }
            let new = checked;
            if new.is_empty() {
                continue;
            }
            let stored = load_doc(&tx, id)?;
            let had_changes = stored.is_some();
            let mut doc = stored.unwrap_or_else(AutoCommit::new);
            let mut before = index::Before::read(existing_kind, &mut doc);
            let changes: Vec<Change> = new.iter().map(|(_, c)| c.clone()).collect();
            let (kind, accepted) = match apply(&mut doc, id, &changes) {
                Ok(kind) => (kind, new),
                Err(why) if strict => return Err(CoreError::ChangesRefused(why)),
                Err(_) => {
                    // One by one, to find the changes that cannot apply: they are set aside,
                    // the others apply.
                    let mut doc_ok = load_doc(&tx, id)?.unwrap_or_else(AutoCommit::new);
                    let mut accepted = Vec::new();
                    let mut kind = existing_kind;
                    for (i, change) in new {
                        let mut trial = doc_ok.fork();
                        match apply(&mut trial, id, std::slice::from_ref(&change)) {
                            Ok(k) => {
                                doc_ok = trial;
                                kind = k;
                                accepted.push((i, change));
                            }
                            Err(why) => set_back(&mut verdicts, i, Setback::Quarantine(why))?,
                        }
                    }
                    doc = doc_ok;
                    (kind, accepted)
                }
            };
            if accepted.is_empty() {
                continue;
            }
            for (i, change) in &accepted {
                insert_raw_change(
                    &tx,
                    id,
                    kind,
                    &change.hash(),
                    change.raw_bytes(),
                    false,
                    now_ms,
                    Some(&batch[*i].signature),
                )?;
            }
            summary.records += 1;
            roster_changed |= id == ROSTER_ID;
            summary.new_changes += accepted.len();
            let missing = doc.get_missing_deps(&[]);
            if !missing.is_empty() {
                summary.waiting += accepted.len();
            }
            if kind != existing_kind && had_changes {
                // Changes that waited for the one saying what their record is; or a second
                // creation made the record another kind (see `apply`): its rows of the old kind
                // go, and its new ones are written from its whole history.
                tx.prepare_cached("UPDATE changes SET kind = ?2 WHERE record_id = ?1")?
                    .execute(params![id.as_bytes(), kind.map(Kind::name)])?;
                if let Some(old) = existing_kind {
                    index::remove(&tx, old, id, &before)?;
                    before = index::Before::default();
                }
            }
            if let Some(kind) = kind {
                index::refresh(&tx, kind, id, &mut doc, now_ms, &before)?;
                if let Some(person) = super::erasure::refers_to_erased(&tx, kind, id)? {
                    // Written about a person erased since, by a device that had not seen the
                    // order: set aside the same way on every device (and gone from this one).
                    super::erasure::delete(
                        &tx,
                        &[super::erasure::ToErase {
                            record: id,
                            shared: false,
                        }],
                        person,
                        None,
                        now_ms,
                    )?;
                    summary.records -= 1;
                    summary.new_changes -= accepted.len();
                    if !missing.is_empty() {
                        summary.waiting -= accepted.len();
                    }
                    for (i, _) in &accepted {
                        if strict {
                            summary.erased += 1;
                        } else {
                            verdicts[*i] =
                                Some(Setback::Quarantine(super::erasure::REFERS_TO_ERASED.into()));
                        }
                    }
                    continue;
                }
                summary.new_conflicts += index::refresh_conflicts(&tx, kind, id, &doc, now_ms)?;
                maybe_snapshot(&tx, id, &mut doc)?;
            }
        }
        for verdict in verdicts.iter().flatten() {
            match verdict {
                Setback::Hold(_) => summary.held += 1,
                Setback::Quarantine(_) => summary.quarantined += 1,
            }
        }
        also(&tx, &verdicts)?;
        tx.commit()?;
        if roster_changed {
            self.reload_extra_terms(&conn)?;
            // A grant in the roster may have made this device a coordinator.
            if let Some((space, founder)) = &anchor {
                if super::roster::role_in(&conn, space, founder, &self.me.device)?
                    == Some(crate::identity::Role::Coordinator)
                {
                    super::sync_state::set_coordinator(&conn, space)?;
                }
            }
        }
        Ok(summary)
    }
}

/// Reads one received change: only plain change chunks whose checksum holds.
fn parse(bytes: &[u8]) -> std::result::Result<Change, String> {
    let change = doc::parse_change(bytes).map_err(|e| format!("is not a valid change: {e}"))?;
    // Only plain change chunks: a compressed one would be inflated by Automerge with no size
    // limit (and this store never writes one).
    if bytes.get(8) != Some(&1) {
        return Err("is not an uncompressed change".into());
    }
    // Automerge parses a change without checking the checksum in its header (the first four
    // bytes of its hash): a damaged change would otherwise be stored as a different change under
    // the same author and sequence number, and block the genuine one.
    if bytes.get(4..8) != Some(&change.hash().0[..4]) {
        return Err("fails its checksum".into());
    }
    Ok(change)
}

/// Applies changes of record `id` to its document and says what the record is then; refuses
/// changes Automerge refuses (or panics on).
///
/// A record is what its merged document says, and is never refused for it. Only a creation (a
/// change with no dependencies) writes a kind (`fields::check_received`), but nothing ties a
/// record's id to the device that created it: a member's device can sign, as itself, a second
/// creation of someone else's record, of another kind. Which creation is the genuine one cannot
/// be told from the changes, and refusing the one that arrives second would keep a different
/// one on each device. Both apply, and the record's kind is the value Automerge's merge keeps of
/// the concurrent ones (the same on every device, whatever order they came in): the record may
/// become another kind, or one this version does not know, and it does on every device.
fn apply(
    doc: &mut AutoCommit,
    id: RecordId,
    changes: &[Change],
) -> std::result::Result<Option<Kind>, String> {
    // Changes come from other devices: a malformed one must be refused, never take the process
    // down.
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.apply_changes(changes.iter().cloned())
    }));
    match applied {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("record {id}: {e}")),
        Err(_) => return Err(format!("record {id}: a change could not be applied")),
    }
    if id == ROSTER_ID {
        return Ok(Some(Kind::Roster));
    }
    Ok(doc::kind_of(doc)
        .and_then(|name| Kind::from_name(&name))
        .filter(|k| *k != Kind::Roster))
}
