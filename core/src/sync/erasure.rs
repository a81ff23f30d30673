//! Erasure orders (GDPR article 17): a person's file erased on every device of the space, and
//! their envelopes on the relay.
//!
//! - **Made** on a coordinator's device ([`Store::erase_person`]): the person record, every
//!   action, referral and consent decision about them, every encounter only about them; an encounter shared with
//!   other persons is re-issued (a new record of this device, the same content without them; its
//!   notes, which may speak of them, only if the coordinator says so) and the old one erased.
//!   The order lists each erased record blinded under every epoch key the device holds (the
//!   relay deletes those envelopes and refuses them for good), seals what it erases (record ids,
//!   the person, the reason, the time) under the current epoch's erasure subkey, and is signed
//!   by the coordinator's device over the space and all of that. It is queued like key
//!   deliveries and carried out here at once.
//! - **Carried out** on every device when the control log serves it ([`Store::apply_control`]):
//!   checked first (signed by a device the roster proves a coordinator and not revoked, for this
//!   space, its content opens); a bad order is refused with its reason and changes nothing. One
//!   sealed under an epoch whose key has not arrived waits for it. Then, in one transaction with
//!   SQLite's secure deletion on, every trace of the records goes (`store/erasure.rs`) and a
//!   tombstone per record stays; records about the person that the order could not list (written
//!   here offline, or received before the order) go too: one written here and never sent that
//!   is shared with others is re-issued without them. Secure deletion zeroes what the
//!   transaction frees in the database file; then the write-ahead log, whose older frames still
//!   hold the pages as they were, is checkpointed and emptied.

use std::collections::BTreeSet;

use allervers_protocol::{BlindedRecord, ControlBody, SpaceId, MAX_ERASED_RECORDS};
use serde::{Deserialize, Serialize};

use super::{Membership, SpaceKeys};
use crate::doc::Reader;
use crate::identity;
use crate::model::fields::Kind;
use crate::model::{Encounter, NewEncounter};
use crate::store::erasure::{self as erased, Deleted, OrderStatus, ToErase};
use crate::store::{control, load_doc, record_kind, sync_state, trust};
use crate::{CoreError, DeviceId, RecordId, Result, Store};

/// What an erasure did on this device, in counts (never a value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The erased person.
    pub person: RecordId,
    /// Records erased: the person, encounters only about them, shared encounters (re-issued),
    /// actions and referrals.
    pub records: usize,
    pub encounters: usize,
    pub reissued: usize,
    pub actions: usize,
    pub referrals: usize,
    pub consents: usize,
    /// Health contacts (in a team's store) or health notes (in a health store).
    pub health: usize,
    /// Change rows deleted.
    pub changes: usize,
    /// Blinded ids listed for the relay (each record under every epoch key held); 0 outside a
    /// space, where the erasure is local only.
    pub blinded: usize,
}

/// What the order seals: what it erases, why and when. Only devices holding the space key of
/// its epoch read it.
#[derive(Serialize, Deserialize)]
struct Content {
    space: SpaceId,
    person: [u8; 16],
    /// Each erased record, and whether it was shared with other persons.
    records: Vec<([u8; 16], bool)>,
    reason: String,
    at_ms: i64,
    /// The grants that make the ordering device a coordinator (from the founder down), so that
    /// a device that has not received them through the roster yet can still tell a
    /// coordinator's order from anyone else's, as with key deliveries.
    chain: Vec<crate::identity::Grant>,
}

fn aad(space: &SpaceId, by: &[u8; 16]) -> Vec<u8> {
    let mut out = b"allervers erasure order v1".to_vec();
    out.extend_from_slice(space);
    out.extend_from_slice(by);
    out
}

/// What to erase of a person: the records only about them (the person, actions, referrals,
/// encounters only about them), and the encounters shared with others, to re-issue.
struct Plan {
    alone: Vec<(RecordId, Kind)>,
    shared: Vec<Encounter>,
}

/// Every record about `person` this store holds.
fn plan(conn: &rusqlite::Connection, person: RecordId) -> Result<Plan> {
    let about = erased::about_person(conn, person)?;
    let encounter_ids = about.encounters;
    let mut alone = vec![(person, Kind::Person)];
    alone.extend(about.others);
    let mut shared = Vec::new();
    for id in encounter_ids {
        let Some(doc) = load_doc(conn, id)? else {
            continue;
        };
        let encounter = Encounter::read(id, &Reader::new(&doc));
        if encounter.persons.iter().any(|p| *p != person) {
            shared.push(encounter);
        } else {
            alone.push((id, Kind::Encounter));
        }
    }
    Ok(Plan { alone, shared })
}

/// The encounter `old` without `person`, to create anew; its notes only if `keep_notes`.
fn without(old: &Encounter, person: RecordId, keep_notes: bool) -> NewEncounter {
    NewEncounter {
        occurred_at: old.occurred_at,
        place: old.place.clone(),
        latitude: old.latitude,
        longitude: old.longitude,
        territory: old.territory.clone(),
        team: old.team.clone(),
        workers: old.workers.clone(),
        persons: old
            .persons
            .iter()
            .copied()
            .filter(|p| *p != person)
            .collect(),
        anonymous_count: old.anonymous_count,
        kind: old.kind.clone(),
        services: old.services.clone(),
        notes: if keep_notes { old.notes.clone() } else { None },
        follow_up: old.follow_up,
        // The organisation's fields may say something of the erased person, as the notes do;
        // unlike the notes, they are not carried over (a value that no longer fits its
        // definition would stop the erasure).
        custom: Default::default(),
        household: old.household,
    }
}

impl Store {
    /// Erases `person` (the right to erasure): on a coordinator's device of a space, an order
    /// every device carries out and the relay obeys, posted at the next sync and carried out
    /// here at once; on a store outside any space, here only. A shared encounter is re-issued
    /// without them, with its notes only when `keep_shared_notes` (they may speak of them).
    /// Refused on a worker's device. In a health store (which holds the person's health notes,
    /// not the person), a health professional's device that is not a coordinator of the health
    /// space erases its own copy only.
    ///
    /// A person's records merged into one another (`merge.rs`) are erased together: those
    /// merged in first, each by an order of its own, then the one they resolve to.
    pub fn erase_person(
        &self,
        person: RecordId,
        reason: &str,
        keep_shared_notes: bool,
    ) -> Result<Erasure> {
        let group = self.person_group(person)?;
        let mut total: Option<Erasure> = None;
        for record in group.iter().skip(1).chain(group.first()) {
            let one = self.erase_one(*record, reason, keep_shared_notes)?;
            total = Some(match total {
                None => one,
                Some(t) => Erasure {
                    person,
                    records: t.records + one.records,
                    encounters: t.encounters + one.encounters,
                    reissued: t.reissued + one.reissued,
                    actions: t.actions + one.actions,
                    referrals: t.referrals + one.referrals,
                    consents: t.consents + one.consents,
                    health: t.health + one.health,
                    changes: t.changes + one.changes,
                    blinded: t.blinded + one.blinded,
                },
            });
        }
        let mut total = total.ok_or(CoreError::RecordNotFound(person))?;
        total.person = person;
        Ok(total)
    }

    fn erase_one(
        &self,
        person: RecordId,
        reason: &str,
        keep_shared_notes: bool,
    ) -> Result<Erasure> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CoreError::invalid(
                "reason",
                "is empty: say why the file is erased",
            ));
        }
        let membership = self.membership()?;
        if let Some(m) = &membership {
            // A health professional's device that is not a coordinator of the health space
            // erases its own copy; a coordinator's order erases everyone's.
            if !m.coordinator && !self.is_health_store() {
                return Err(CoreError::invalid(
                    "erase",
                    "only a coordinator's device can erase a person",
                ));
            }
        }
        let now_ms = self.now().timestamp_millis();
        let mut summary = Erasure {
            person,
            records: 0,
            encounters: 0,
            reissued: 0,
            actions: 0,
            referrals: 0,
            consents: 0,
            health: 0,
            changes: 0,
            blinded: 0,
        };
        let mut conn = self.lock();
        erased::secure_delete(&conn)?;
        (|| -> Result<()> {
            let tx = conn.transaction()?;
            // A health store holds the person's health notes, never the person; in a
            // partnership store, the person a partner sees is a projection.
            let kind = match record_kind(&tx, person) {
                Err(CoreError::RecordNotFound(_)) if self.is_health_store() => Kind::Person,
                Ok(Kind::Projection) if self.purpose().partner().is_some() => Kind::Person,
                found => found?,
            };
            if kind != Kind::Person {
                return Err(CoreError::WrongKind {
                    id: person,
                    expected: Kind::Person.name(),
                    actual: kind.name().to_string(),
                });
            }
            let Plan { alone, shared } = plan(&tx, person)?;
            let mut records: Vec<ToErase> = Vec::new();
            for (id, kind) in &alone {
                match kind {
                    Kind::Encounter => summary.encounters += 1,
                    Kind::Action => summary.actions += 1,
                    Kind::Referral => summary.referrals += 1,
                    Kind::Consent => summary.consents += 1,
                    Kind::HealthContact | Kind::HealthNote | Kind::HealthProfile => {
                        summary.health += 1
                    }
                    _ => {}
                }
                records.push(ToErase {
                    record: *id,
                    shared: false,
                });
            }
            for old in &shared {
                let new = without(old, person, keep_shared_notes);
                self.create_record_in(&tx, Kind::Encounter, new.edits(self.now()))?;
                summary.reissued += 1;
                records.push(ToErase {
                    record: old.id,
                    shared: true,
                });
            }
            summary.records = records.len();
            let blinded = match &membership {
                Some(m) => {
                    let blinded = blind_all(&tx, &m.space, &records)?;
                    if m.coordinator {
                        summary.blinded = blinded.len();
                        let order =
                            self.order(&tx, m, person, &records, reason, now_ms, &blinded)?;
                        control::queue(&tx, &m.space, &order)?;
                    }
                    Some((m.space, blinded))
                }
                None => None,
            };
            let deleted = erased::delete(
                &tx,
                &records,
                person,
                blinded.as_ref().map(|(s, b)| (s, b)),
                now_ms,
            )?;
            summary.changes = deleted.changes;
            tx.commit()?;
            Ok(())
        })()?;
        if erased::scrub_pending(&conn)? {
            erased::scrub(&conn)?;
        }
        Ok(summary)
    }

    /// The signed order erasing `records` about `person`, sealed under the space's current key.
    #[allow(clippy::too_many_arguments)]
    fn order(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        person: RecordId,
        records: &[ToErase],
        reason: &str,
        at_ms: i64,
        blinded: &BTreeSet<BlindedRecord>,
    ) -> Result<ControlBody> {
        let key = sync_state::space_key(conn, &m.space, m.epoch)?.ok_or_else(|| {
            CoreError::invalid(
                "erase",
                "this device has not received the space's key yet: sync first",
            )
        })?;
        let keys = SpaceKeys::new(&key, m.epoch);
        let by = self.device_bytes();
        let chain = match &m.founder {
            Some(founder) => self
                .own_coordinator_chain(conn, &m.space, founder)?
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let content = Content {
            chain,
            space: m.space,
            person: *person.as_bytes(),
            records: records
                .iter()
                .map(|r| (*r.record.as_bytes(), r.shared))
                .collect(),
            reason: reason.to_string(),
            at_ms,
        };
        let plain = zeroize::Zeroizing::new(
            postcard::to_stdvec(&content)
                .map_err(|e| CoreError::corrupt(format!("an erasure order: {e}")))?,
        );
        let sealed = keys.seal_order(&plain, &aad(&m.space, &by), self.random());
        let records: Vec<BlindedRecord> = blinded.iter().copied().collect();
        let signature = self
            .device_keys()
            .sign_bytes(&identity::erasure_message(&m.space, &by, &records, &sealed))
            .to_vec();
        Ok(ControlBody::Erase {
            by,
            records,
            sealed,
            signature,
        })
    }

    /// Checks and carries out an erasure order read at `seq` of the control log, in the caller's
    /// transaction, and logs what became of it. Returns what was deleted.
    pub(super) fn carry_out_order(
        &self,
        tx: &rusqlite::Connection,
        m: &Membership,
        seq: u64,
        body: &ControlBody,
    ) -> Result<Deleted> {
        let now_ms = self.now().timestamp_millis();
        let (status, deleted) = match self.check_order(tx, m, body)? {
            Checked::Refused(why) => (OrderStatus::Refused(why), Deleted::default()),
            Checked::Waiting => (OrderStatus::Waiting, Deleted::default()),
            Checked::Valid(content, listed) => (
                OrderStatus::Done,
                self.obey(tx, m, &content, &listed, now_ms)?,
            ),
        };
        erased::keep_order(tx, &m.space, seq, body, &status, now_ms)?;
        // A partner's device says it carried out an order of the office (acknowledged for
        // good: the order is kept done, so it is not carried out twice).
        let by_other = matches!(body, ControlBody::Erase { by, .. } if *by != self.device_bytes());
        if status == OrderStatus::Done && by_other && self.purpose().partner().is_some() {
            self.acknowledge_erasure(tx, seq, now_ms)?;
        }
        Ok(deleted)
    }

    /// Tries again the orders that waited for a key, now that one arrived.
    pub(super) fn retry_waiting_orders(
        &self,
        tx: &rusqlite::Connection,
        m: &Membership,
    ) -> Result<Deleted> {
        let mut total = Deleted::default();
        for (seq, body) in erased::waiting_orders(tx, &m.space)? {
            total.add(self.carry_out_order(tx, m, seq, &body)?);
        }
        Ok(total)
    }

    fn check_order(
        &self,
        tx: &rusqlite::Connection,
        m: &Membership,
        body: &ControlBody,
    ) -> Result<Checked> {
        let ControlBody::Erase {
            by,
            records,
            sealed,
            signature,
        } = body
        else {
            return Ok(Checked::Refused("is not an erasure order".into()));
        };
        let refuse = |why: &str| Ok(Checked::Refused(why.to_string()));
        if records.len() > MAX_ERASED_RECORDS {
            return refuse("lists more records than an order may");
        }
        // Its content first (sealed under the space key of its epoch): it carries the grants
        // that prove its signer a coordinator.
        let Some(epoch) = sealed
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
        else {
            return refuse("its sealed content is malformed");
        };
        let Some(key) = sync_state::space_key(tx, &m.space, epoch)? else {
            return Ok(Checked::Waiting);
        };
        let space_keys = SpaceKeys::new(&key, epoch);
        let Some(plain) = space_keys.open_order(sealed, &aad(&m.space, by)) else {
            return refuse("its sealed content does not open with the space's key");
        };
        let Ok(content) = postcard::from_bytes::<Content>(&plain) else {
            return refuse("its sealed content is malformed");
        };
        if content.space != m.space {
            return refuse("is for another space");
        }
        if content.records.len() > MAX_ERASED_RECORDS {
            return refuse("lists more records than an order may");
        }
        // Then who signed it: this coordinator's device itself, or one this device trusts as
        // it trusts key deliveries (its root, a coordinator by the roster's grants or by the
        // grants sealed with the order), never a device the roster says was revoked.
        let by_id = DeviceId::from_bytes(by);
        let own = *by == self.device_bytes() && m.coordinator;
        let keys = if *by == self.device_bytes() {
            Some(self.device_keys().public())
        } else {
            match trust::device_keys(tx, &by_id)? {
                Some(keys) => Some(keys),
                None => content
                    .chain
                    .last()
                    .map(|g| g.device)
                    .filter(|k| k.device() == by_id),
            }
        };
        let Some(keys) = keys else {
            return refuse("is signed by a device whose keys this device does not know");
        };
        if !identity::verify_bytes(
            &keys,
            &identity::erasure_message(&m.space, by, records, sealed),
            signature,
        ) {
            return refuse("its signature does not verify");
        }
        let revocations = crate::store::roster::revocations_in(tx)?;
        let by_chain = m.founder.is_some_and(|founder| {
            !revocations.is_revoked(&by_id)
                && identity::is_coordinator(&m.space, &founder, &by_id, &content.chain)
                && revocations.chain_stands(&content.chain)
        });
        if !own && !by_chain && !self.trusted_coordinator(tx, m, &by_id)? {
            return refuse("is not signed by a coordinator of the space (or by a revoked one)");
        }
        let listed: BTreeSet<BlindedRecord> = records.iter().copied().collect();
        Ok(Checked::Valid(content, listed))
    }

    /// Carries out a checked order: the records it lists, and those about the person it could
    /// not list (written here offline and never sent: erased, or re-issued without the person
    /// when shared; received before the order: erased).
    fn obey(
        &self,
        tx: &rusqlite::Connection,
        m: &Membership,
        content: &Content,
        listed: &BTreeSet<BlindedRecord>,
        now_ms: i64,
    ) -> Result<Deleted> {
        let person = RecordId::from_slice(&content.person)
            .ok_or_else(|| CoreError::corrupt("an erasure order's person"))?;
        let mut records: Vec<ToErase> = Vec::new();
        for (id, shared) in &content.records {
            if let Some(record) = RecordId::from_slice(id) {
                records.push(ToErase {
                    record,
                    shared: *shared,
                });
            }
        }
        let mut extra: Vec<ToErase> = Vec::new();
        let Plan { alone, shared } = plan(tx, person)?;
        for (id, _) in alone {
            if !records.iter().any(|r| r.record == id) {
                extra.push(ToErase {
                    record: id,
                    shared: false,
                });
            }
        }
        for old in shared {
            if records.iter().any(|r| r.record == old.id) {
                continue;
            }
            if erased::created_here_unsent(tx, old.id)? {
                // Written here offline about the person and others: the others keep it.
                let new = without(&old, person, false);
                self.create_record_in(tx, Kind::Encounter, new.edits(self.now()))?;
            }
            extra.push(ToErase {
                record: old.id,
                shared: true,
            });
        }
        // What is set aside here under the extra records' blinded ids goes too.
        let mut blinded = listed.clone();
        blinded.extend(blind_all(tx, &m.space, &extra)?);
        records.extend(extra);
        erased::delete(tx, &records, person, Some((&m.space, &blinded)), now_ms)
    }

    /// On a coordinator's device, a follow-up order for records about an erased person that
    /// another device sent before it saw the order (set aside here on arrival): the relay
    /// deletes their envelopes, and every device erases them and what it set aside of them,
    /// so that every replica ends the same. Elsewhere nothing: a coordinator does it when it
    /// receives them.
    pub(super) fn follow_up_order(
        &self,
        tx: &rusqlite::Connection,
        space: &SpaceId,
        records: &[RecordId],
    ) -> Result<()> {
        let Some(m) = sync_state::memberships(tx)?
            .into_iter()
            .find(|m| m.space == *space)
        else {
            return Ok(());
        };
        if !m.coordinator || records.is_empty() {
            return Ok(());
        }
        let now_ms = self.now().timestamp_millis();
        let mut by_person: std::collections::BTreeMap<RecordId, Vec<ToErase>> = Default::default();
        for record in records {
            if let Some(person) = erased::erased_for(tx, *record)? {
                by_person.entry(person).or_default().push(ToErase {
                    record: *record,
                    shared: false,
                });
            }
        }
        for (person, records) in by_person {
            let blinded = blind_all(tx, space, &records)?;
            let order = self.order(
                tx,
                &m,
                person,
                &records,
                "written about an erased person before its author saw the order",
                now_ms,
                &blinded,
            )?;
            control::queue(tx, space, &order)?;
        }
        Ok(())
    }

    /// The erasure orders read from this store's space and what became of each here: its
    /// sequence number in the control log and its status (done, refused with the reason, or
    /// waiting for a key).
    pub fn erasure_orders(&self) -> Result<Vec<(u64, OrderStatus)>> {
        let Some(m) = self.membership()? else {
            return Ok(Vec::new());
        };
        erased::orders(&self.lock(), &m.space)
    }

    /// Whether `record` was erased on this store (a tombstone is kept).
    pub fn is_erased(&self, record: RecordId) -> Result<bool> {
        Ok(erased::tombstone(&self.lock(), record)?.is_some())
    }
}

/// An erasure order for `person` as `store`'s device would sign it, whatever its role, without
/// carrying anything out (for the adversarial tests: a worker's or a revoked coordinator's
/// order, or one altered on the way).
#[cfg(feature = "fuzzing")]
pub(crate) fn order_signed_by(
    store: &Store,
    person: RecordId,
    reason: &str,
) -> Result<ControlBody> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    let now_ms = store.now().timestamp_millis();
    let conn = store.lock();
    let Plan { alone, shared } = plan(&conn, person)?;
    let mut records: Vec<ToErase> = alone
        .into_iter()
        .map(|(record, _)| ToErase {
            record,
            shared: false,
        })
        .collect();
    records.extend(shared.into_iter().map(|e| ToErase {
        record: e.id,
        shared: true,
    }));
    let blinded = blind_all(&conn, &m.space, &records)?;
    store.order(&conn, &m, person, &records, reason, now_ms, &blinded)
}

enum Checked {
    Refused(String),
    Waiting,
    Valid(Content, BTreeSet<BlindedRecord>),
}

/// Each record blinded under every key of `space` this store holds.
fn blind_all(
    conn: &rusqlite::Connection,
    space: &SpaceId,
    records: &[ToErase],
) -> Result<BTreeSet<BlindedRecord>> {
    let mut out = BTreeSet::new();
    for (epoch, key) in sync_state::space_keys(conn, space)? {
        let keys = SpaceKeys::new(&key, epoch);
        for r in records {
            out.insert(BlindedRecord {
                epoch,
                record: keys.blind(r.record),
            });
        }
    }
    if out.len() > MAX_ERASED_RECORDS {
        return Err(CoreError::invalid(
            "erase",
            "more records than one order may list: erase in several orders",
        ));
    }
    Ok(out)
}
