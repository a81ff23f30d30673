//! The roster: one record per space with a fixed id, where each device writes its own entry
//! (`device:<actor hex>` -> name, worker) and the organisation keeps its extra codes
//! (`term:<vocab>:<code>` -> labels), fields (`field:<kind>:<name>`, `custom_fields.rs`) and
//! settings (`setting:<name>`, `settings.rs`). Writing
//! entries here; reading them back into the `devices`, `vocab_extra` and `settings` tables is
//! the index's work (`index.rs`).

use std::collections::HashMap;

use automerge::{AutoCommit, ObjType, ScalarValue, ROOT};
use rusqlite::Connection;

use crate::doc::{self};
use crate::identity::{role_of, Grant, PublicKeys, Role};
use crate::model::fields::Kind;
use crate::vocab::{ExtraTerm, Vocab};
use crate::{CoreError, DeviceId, RecordId, Result};

use super::*;

/// The roster record: one per space; its id is fixed so that every device's entry merges into
/// one document.
pub const ROSTER_ID: RecordId = RecordId::from_bytes([
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
]);

/// The key of a device's entry in the roster document.
pub(crate) fn device_key(device: &DeviceId) -> String {
    format!("device:{device}")
}

pub(crate) fn extra_terms(conn: &Connection) -> Result<Vec<ExtraTerm>> {
    let mut stmt = conn.prepare_cached("SELECT vocab, code, fr, en FROM vocab_extra")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (vocab, code, fr, en) = row?;
        if let Some(vocab) = Vocab::from_name(&vocab) {
            out.push(ExtraTerm {
                vocab,
                code,
                fr,
                en,
            });
        }
    }
    Ok(out)
}

impl Store {
    pub(super) fn register_device(&self) -> Result<()> {
        let me = &self.me;
        self.write_roster(|doc, now_ms| {
            use automerge::transaction::Transactable;
            let entry = doc.put_object(ROOT, device_key(&me.device), ObjType::Map)?;
            doc.put(&entry, "name", me.device_name.as_str())?;
            doc.put(&entry, "worker", me.worker.as_str())?;
            doc.put(&entry, "joined_at", ScalarValue::Timestamp(now_ms))?;
            let keys = self.keys.public();
            doc.put(&entry, "sign_key", ScalarValue::Bytes(keys.sign.to_vec()))?;
            doc.put(&entry, "agree_key", ScalarValue::Bytes(keys.agree.to_vec()))?;
            Ok(())
        })
    }

    /// Writes one change to the roster, the space's shared document (devices and the
    /// organisation's extra codes), in one transaction with its index rows.
    pub(crate) fn write_roster(
        &self,
        edit: impl FnOnce(&mut AutoCommit, i64) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.write_roster_in(&tx, edit)?;
        tx.commit()?;
        self.reload_extra_terms(&conn)
    }

    /// Writes one change to the roster, with its index rows, in the caller's transaction.
    pub(crate) fn write_roster_in(
        &self,
        tx: &Connection,
        edit: impl FnOnce(&mut AutoCommit, i64) -> Result<()>,
    ) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let mut doc = match load_doc(tx, ROSTER_ID)? {
            Some(doc) => doc,
            None => doc::new_record(Kind::Roster, &self.me.device, now_ms, &[])?.0,
        };
        doc.set_actor(self.me.device.actor().clone());
        edit(&mut doc, now_ms)?;
        doc::commit(&mut doc, now_ms, &self.worker());
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("roster change missing"))?;
        insert_change(tx, ROSTER_ID, Some(Kind::Roster), &change, true, now_ms)?;
        index::refresh(
            tx,
            Kind::Roster,
            ROSTER_ID,
            &mut doc,
            now_ms,
            &index::Before::default(),
        )
    }

    /// Re-reads the organisation's extra codes after the roster changed.
    pub(crate) fn reload_extra_terms(&self, conn: &Connection) -> Result<()> {
        *self.extra.write().unwrap_or_else(|p| p.into_inner()) = extra_terms(conn)?;
        Ok(())
    }

    /// The organisation's extra codes.
    pub fn extra_terms(&self) -> Result<Vec<ExtraTerm>> {
        Ok(self.extra.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Adds an extra code to a code list (an organisation's own service, target...).
    pub fn add_term(&self, vocab: Vocab, code: &str, fr: &str, en: &str) -> Result<()> {
        crate::vocab::check_term(vocab, code, fr, en)?;
        // In a space, the organisation's codes are its coordinators' to define (every device
        // refuses a code written by another).
        if self.is_coordinator(&self.me.device)? == Some(false) {
            return Err(CoreError::invalid(
                "code",
                "only a coordinator's device can add the organisation's codes",
            ));
        }
        // In the roster, so that it reaches every device of the space with the next sync.
        self.write_roster(|doc, _| {
            use automerge::transaction::Transactable;
            let entry = doc.put_object(ROOT, index::term_key(vocab, code), ObjType::Map)?;
            doc.put(&entry, "fr", fr.trim())?;
            doc.put(&entry, "en", en.trim())?;
            Ok(())
        })
    }
}

/// Why a change whose author no coordinator added to the space is refused.
pub(crate) const NOT_A_MEMBER: &str =
    "its author was not added to this space by a coordinator's signed grant";

/// The key of a device's grant in the roster document.
pub(crate) fn grant_key(device: &DeviceId) -> String {
    format!("grant:{device}")
}

/// The roster key of the space's recovery identity's grant (see `sync/recovery.rs`).
pub(crate) const RECOVERY_KEY: &str = "recovery";

/// The grants of the space's current recovery identity (one, or several that coordinators
/// made at once), if a coordinator made one.
pub(crate) fn recovery_grants(doc: &AutoCommit) -> Vec<Grant> {
    use automerge::ReadDoc;
    let mut out = Vec::new();
    for (value, _) in doc.get_all(ROOT, RECOVERY_KEY).unwrap_or_default() {
        if let automerge::Value::Scalar(s) = value {
            if let ScalarValue::Bytes(bytes) = s.as_ref() {
                out.extend(Grant::decode(bytes));
            }
        }
    }
    out
}

/// Every grant the roster holds (every concurrent value of each `grant:` entry, and of the
/// recovery identity's).
fn grants(doc: &AutoCommit) -> Vec<Grant> {
    use automerge::ReadDoc;
    let mut out = Vec::new();
    for key in doc.keys(ROOT) {
        if !key.starts_with("grant:") && key != RECOVERY_KEY {
            continue;
        }
        for (value, _) in doc.get_all(ROOT, key.as_str()).unwrap_or_default() {
            if let automerge::Value::Scalar(s) = value {
                if let ScalarValue::Bytes(bytes) = s.as_ref() {
                    if let Some(grant) = Grant::decode(bytes) {
                        out.push(grant);
                    }
                }
            }
        }
    }
    out
}

/// A coordinator's roster entry revoking `device`: its id, then those of the devices whose
/// grants by it stand (every grant it signed that the roster holds), under `revoked:<id>`.
pub(crate) fn revocation_entry(doc: Option<&AutoCommit>, device: &DeviceId) -> (String, Vec<u8>) {
    let mut value = device.to_bytes();
    for grant in doc.map(grants).unwrap_or_default() {
        if grant.by.device() == *device {
            value.extend(grant.device.device().to_bytes());
        }
    }
    (format!("revoked:{device}"), value)
}

/// The devices a coordinator revoked (the roster's `revoked:` entries), each with the devices
/// whose grants by it still stand (those it had signed when it was revoked). A revoked device is
/// trusted for nothing (key deliveries, wipe orders, grants it signs after), but what it signed
/// before stays: the workers a departed coordinator added stay members.
#[derive(Default)]
pub(crate) struct Revocations(
    std::collections::BTreeMap<Vec<u8>, std::collections::BTreeSet<Vec<u8>>>,
);

impl Revocations {
    pub(crate) fn of(doc: &AutoCommit) -> Revocations {
        use automerge::ReadDoc;
        let mut out = Revocations::default();
        for key in doc.keys(ROOT) {
            if !key.starts_with("revoked:") {
                continue;
            }
            for (value, _) in doc.get_all(ROOT, key.as_str()).unwrap_or_default() {
                if let automerge::Value::Scalar(s) = value {
                    if let ScalarValue::Bytes(bytes) = s.as_ref() {
                        // The revoked device's id, then those of the devices it granted.
                        let mut ids = bytes.chunks_exact(16).map(<[u8]>::to_vec);
                        if let Some(device) = ids.next() {
                            out.0.entry(device).or_default().extend(ids);
                        }
                    }
                }
            }
        }
        out
    }

    pub(crate) fn is_revoked(&self, device: &DeviceId) -> bool {
        self.0.contains_key(&device.to_bytes())
    }

    /// Whether a grant still stands: its signer was not revoked, or was after signing it.
    fn stands(&self, grant: &Grant) -> bool {
        match self.0.get(&grant.by.device().to_bytes()) {
            None => true,
            Some(kept) => kept.contains(&grant.device.device().to_bytes()),
        }
    }

    /// Whether every grant of a chain stands, and its last device is not revoked.
    pub(crate) fn chain_stands(&self, chain: &[Grant]) -> bool {
        chain.iter().all(|g| self.stands(g))
            && chain
                .last()
                .is_none_or(|g| !self.is_revoked(&g.device.device()))
    }
}

/// The revocations of the roster stored in `conn`.
pub(crate) fn revocations_in(conn: &Connection) -> Result<Revocations> {
    Ok(load_doc(conn, ROSTER_ID)?
        .map(|doc| Revocations::of(&doc))
        .unwrap_or_default())
}

/// The chain of grants, from the founder down, that makes `device` a coordinator of `space`
/// by the grants in the roster `doc`; `Some(vec![])` for the founder itself, `None` when it is
/// not one.
pub(crate) fn coordinator_chain(
    doc: &AutoCommit,
    space: &[u8; 16],
    founder: &PublicKeys,
    device: &DeviceId,
) -> Option<Vec<Grant>> {
    let revocations = Revocations::of(doc);
    if revocations.is_revoked(device) {
        return None;
    }
    if founder.device() == *device {
        return Some(Vec::new());
    }
    let all: Vec<Grant> = grants(doc)
        .into_iter()
        .filter(|g| g.role == Role::Coordinator && revocations.stands(g))
        .collect();
    // Up from the device, one grant at a time, to the founder (no chain is longer than the
    // roster has grants).
    let mut chain: Vec<Grant> = Vec::new();
    let mut current = device.clone();
    for _ in 0..=all.len() {
        let step = all.iter().find(|g| {
            g.device.device() == current && !chain.iter().any(|c| c.device == g.device)
        })?;
        chain.push(step.clone());
        if step.by == *founder {
            chain.reverse();
            return (role_of(space, founder, device, &chain) == Some(Role::Coordinator))
                .then_some(chain);
        }
        current = step.by.device();
    }
    None
}

/// The chain of grants that makes `device` a member of `space` by the roster `doc`: its
/// coordinator chain if it is one, else a worker's grant signed by a coordinator, after that
/// coordinator's chain. `None` when the roster holds no grant for it.
pub(crate) fn member_chain(
    doc: &AutoCommit,
    space: &[u8; 16],
    founder: &PublicKeys,
    device: &DeviceId,
) -> Option<Vec<Grant>> {
    if let Some(chain) = coordinator_chain(doc, space, founder, device) {
        return Some(chain);
    }
    let revocations = Revocations::of(doc);
    grants(doc)
        .into_iter()
        .filter(|g| g.role == Role::Worker && g.device.device() == *device && revocations.stands(g))
        .find_map(|grant| {
            let mut chain = coordinator_chain(doc, space, founder, &grant.by.device())?;
            chain.push(grant);
            (role_of(space, founder, device, &chain) == Some(Role::Worker)).then_some(chain)
        })
}

/// The role the roster stored in `conn` gives `device` in `space` (revocations included);
/// `None` when it is no member.
pub(crate) fn role_in(
    conn: &Connection,
    space: &[u8; 16],
    founder: &PublicKeys,
    device: &DeviceId,
) -> Result<Option<Role>> {
    let Some(doc) = load_doc(conn, ROSTER_ID)? else {
        return Ok((founder.device() == *device).then_some(Role::Coordinator));
    };
    Ok(
        if coordinator_chain(&doc, space, founder, device).is_some() {
            Some(Role::Coordinator)
        } else if member_chain(&doc, space, founder, device).is_some() {
            Some(Role::Worker)
        } else {
            None
        },
    )
}

/// Whether a roster change only touches what its author may write: its own device entry
/// (`device:<its actor>` and what is inside it) and, if it is a coordinator of the space, the
/// organisation's codes (`term:...`), its fields (`field:...`), its settings (`setting:...`) and grants (`grant:...`). In a space, its author must be
/// a member: the founder, or a device a coordinator's signed grant added. `anchor` is the space
/// and its founder's keys; a store outside any space has none, and no roles. The author's role
/// is read from the grants the change itself carries, so the answer depends on the change
/// alone: every device gives the same one, whatever the order changes arrive in.
pub(crate) fn check_roster_change(
    change: &automerge::Change,
    credentials: &[Grant],
    anchor: Option<(&[u8; 16], &PublicKeys)>,
) -> std::result::Result<(), String> {
    use automerge::legacy::{Key, ObjectId};
    let author = change.actor_id();
    let own = device_key(&DeviceId(author.clone()));
    let coordinator = match anchor {
        None => true,
        Some((space, founder)) => {
            match role_of(space, founder, &DeviceId(author.clone()), credentials) {
                Some(role) => role == Role::Coordinator,
                None => return Err(NOT_A_MEMBER.into()),
            }
        }
    };
    for op in change.decode().operations {
        let allowed = match &op.obj {
            ObjectId::Root => match &op.key {
                Key::Map(key) if *key == own => true,
                Key::Map(key)
                    if key.starts_with("term:")
                        || key.starts_with(crate::model::custom::FIELD_PREFIX)
                        || key.starts_with(super::settings::SETTING_PREFIX)
                        || key.starts_with("grant:")
                        || key.starts_with("revoked:")
                        || key == RECOVERY_KEY =>
                {
                    if !coordinator {
                        return Err(format!(
                            "only a coordinator may write {}",
                            if key.starts_with("term:") {
                                "the organisation's codes"
                            } else if key.starts_with(super::settings::SETTING_PREFIX) {
                                "the organisation's settings"
                            } else if key.starts_with(crate::model::custom::FIELD_PREFIX) {
                                "the organisation's fields"
                            } else {
                                "roles"
                            }
                        ));
                    }
                    true
                }
                _ => false,
            },
            // Inside an object: only one its author created.
            ObjectId::Id(id) => id.1 == *author,
        };
        if !allowed {
            return Err("it writes another device's roster entry".into());
        }
    }
    Ok(())
}

impl Store {
    /// Makes `device` (its id or first hex digits, a device whose keys this store knows) a
    /// coordinator of the space: a grant signed by this coordinator's device, written in the
    /// roster. The relay is told by the caller (it gates invites, revocations and key posts).
    pub fn make_coordinator(&self, device: &DeviceId) -> Result<()> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !self.is_coordinator(&self.me.device)?.unwrap_or(false) {
            return Err(CoreError::invalid(
                "coordinator",
                "only a coordinator's device can make another one",
            ));
        }
        let keys = super::trust::device_keys(&self.lock(), device)?.ok_or_else(|| {
            CoreError::invalid(
                "device",
                "its keys are not known here yet: sync once it has synced",
            )
        })?;
        if !self.is_coordinator(device)?.unwrap_or(false) {
            let grant = Grant::new(&m.space, keys, Role::Coordinator, &self.keys);
            let key = grant_key(device);
            self.write_roster(|doc, _| {
                use automerge::transaction::Transactable;
                doc.put(ROOT, key, ScalarValue::Bytes(grant.encode()))?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// This device's chain of grants as a coordinator of `space` (empty for the founder), by
    /// the roster in `conn`; `None` when it is not one.
    pub(crate) fn own_coordinator_chain(
        &self,
        conn: &Connection,
        space: &[u8; 16],
        founder: &PublicKeys,
    ) -> Result<Option<Vec<Grant>>> {
        if founder.device() == self.me.device {
            return Ok(Some(Vec::new()));
        }
        if let Some(chain) = load_doc(conn, ROSTER_ID)?
            .and_then(|doc| coordinator_chain(&doc, space, founder, &self.me.device))
        {
            return Ok(Some(chain));
        }
        // The chain it carries, before the roster holds it (a device that recovered the space).
        let own = super::sync_state::credentials(conn, space)?;
        Ok(
            (role_of(space, founder, &self.me.device, &own) == Some(Role::Coordinator))
                .then_some(own),
        )
    }

    /// Adds the device with `keys` to the space as a worker: a grant signed by this
    /// coordinator's device (whose own chain is `chain`), written in the roster in the caller's
    /// transaction. Returns the chain that proves the new device's membership, for it to carry.
    pub(crate) fn grant_worker_in(
        &self,
        tx: &Connection,
        space: &[u8; 16],
        chain: &[Grant],
        keys: PublicKeys,
    ) -> Result<Vec<Grant>> {
        let grant = Grant::new(space, keys, Role::Worker, &self.keys);
        let key = grant_key(&keys.device());
        let value = grant.encode();
        self.write_roster_in(tx, |doc, _| {
            use automerge::transaction::Transactable;
            doc.put(ROOT, key, ScalarValue::Bytes(value))?;
            Ok(())
        })?;
        let mut out = chain.to_vec();
        out.push(grant);
        Ok(out)
    }

    /// Whether `device` is a coordinator of this store's space by the roster's grants; `None`
    /// outside a space (or in one made before grants).
    pub fn is_coordinator(&self, device: &DeviceId) -> Result<Option<bool>> {
        let Some(m) = self.membership()? else {
            return Ok(None);
        };
        let Some(founder) = m.founder else {
            return Ok(None);
        };
        let conn = self.lock();
        if *device == self.me.device {
            // This device's own grants may not be in the roster yet (a device that recovered
            // the space carries the chain it made).
            let own = self.own_credentials(&conn)?;
            if role_of(&m.space, &founder, device, &own) == Some(Role::Coordinator) {
                return Ok(Some(true));
            }
        }
        let Some(doc) = load_doc(&conn, ROSTER_ID)? else {
            return Ok(Some(founder.device() == *device));
        };
        Ok(Some(
            coordinator_chain(&doc, &m.space, &founder, device).is_some(),
        ))
    }
}

/// Every device of the roster: actor id -> (device name, worker).
pub(crate) fn authors(conn: &Connection) -> Result<HashMap<Vec<u8>, (String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT device, name, worker FROM devices")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
