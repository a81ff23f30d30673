//! The roster: one record per space with a fixed id, where each device writes its own entry
//! (`device:<actor hex>` -> name, worker) and the organisation keeps its extra codes
//! (`term:<vocab>:<code>` -> labels). Writing entries here; reading them back into the
//! `devices` and `vocab_extra` tables is the index's work (`index.rs`).

use std::collections::HashMap;

use automerge::{AutoCommit, ObjType, ScalarValue, ROOT};
use rusqlite::Connection;

use crate::doc::{self};
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
    fn write_roster(&self, edit: impl FnOnce(&mut AutoCommit, i64) -> Result<()>) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut doc = match load_doc(&tx, ROSTER_ID)? {
            Some(doc) => doc,
            None => doc::new_record(Kind::Roster, &self.me.device, now_ms, &[])?.0,
        };
        doc.set_actor(self.me.device.actor().clone());
        edit(&mut doc, now_ms)?;
        doc::commit(&mut doc, now_ms);
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("roster change missing"))?;
        insert_change(&tx, ROSTER_ID, Some(Kind::Roster), &change, true, now_ms)?;
        index::refresh(
            &tx,
            Kind::Roster,
            ROSTER_ID,
            &mut doc,
            now_ms,
            &index::Before::default(),
        )?;
        tx.commit()?;
        self.reload_extra_terms(&conn)
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

/// Whether a roster change only touches what its author may write: its own device entry
/// (`device:<its actor>` and what is inside it) and the organisation's codes. A change that
/// writes, overwrites or deletes another device's entry is refused; the answer depends on the
/// change alone, so every device gives the same one.
pub(crate) fn check_roster_change(change: &automerge::Change) -> std::result::Result<(), String> {
    use automerge::legacy::{Key, ObjectId};
    let author = change.actor_id();
    let own = device_key(&DeviceId(author.clone()));
    for op in change.decode().operations {
        let allowed = match &op.obj {
            ObjectId::Root => match &op.key {
                Key::Map(key) => *key == own || key.starts_with("term:"),
                Key::Seq(_) => false,
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

/// Every device of the roster: actor id -> (device name, worker).
pub(crate) fn authors(conn: &Connection) -> Result<HashMap<Vec<u8>, (String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT device, name, worker FROM devices")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
