//! Applying changes received from elsewhere (a bundle file now, the relay later): all of a batch
//! is checked before anything is written, and the batch commits in one transaction or not at all.

use std::collections::BTreeMap;

use automerge::{AutoCommit, Change};
use rusqlite::params;
use serde::Serialize;

use super::{index, insert_change, load_doc, maybe_snapshot, Store, ROSTER_ID};
use crate::doc;
use crate::model::fields::Kind;
use crate::{CoreError, RecordId, Result};

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
}

impl Store {
    /// Every change of the store, in local order, with its record id.
    pub fn export_changes(&self) -> Result<Vec<(RecordId, Vec<u8>)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT record_id, bytes FROM changes ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, bytes) = row?;
            out.push((
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?,
                bytes,
            ));
        }
        Ok(out)
    }

    /// Applies changes received from other devices. Every change is parsed and every record
    /// checked before the batch commits; a bad change refuses the whole batch. Changes already
    /// known are ignored, so importing twice changes nothing.
    pub fn import_changes(&self, batch: &[(RecordId, Vec<u8>)]) -> Result<ImportSummary> {
        self.import_with(batch, |_| Ok(()))
    }

    /// Imports a batch and runs `also` in the same transaction (a sync cursor moves with the
    /// changes it covers).
    pub(crate) fn import_with(
        &self,
        batch: &[(RecordId, Vec<u8>)],
        also: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<ImportSummary> {
        let mut by_record: BTreeMap<RecordId, Vec<Change>> = BTreeMap::new();
        for (i, (id, bytes)) in batch.iter().enumerate() {
            let change = doc::parse_change(bytes).map_err(|e| {
                CoreError::ChangesRefused(format!(
                    "change {} (record {id}) is not a valid change: {e}",
                    i + 1
                ))
            })?;
            // Only plain change chunks: a compressed one would be inflated by Automerge with no
            // size limit (and this store never writes one).
            if bytes.get(8) != Some(&1) {
                return Err(CoreError::ChangesRefused(format!(
                    "change {} (record {id}) is not an uncompressed change",
                    i + 1
                )));
            }
            // Automerge parses a change without checking the checksum in its header (the first
            // four bytes of its hash): a damaged change would otherwise be stored as a different
            // change under the same author and sequence number, and block the genuine one.
            if bytes.get(4..8) != Some(&change.hash().0[..4]) {
                return Err(CoreError::ChangesRefused(format!(
                    "change {} (record {id}) fails its checksum",
                    i + 1
                )));
            }
            by_record.entry(*id).or_default().push(change);
        }
        let now_ms = self.clock.now_ms();
        let mut summary = ImportSummary::default();
        let mut roster_changed = false;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for (id, changes) in by_record {
            let mut new = Vec::new();
            for change in changes {
                let known = tx
                    .prepare_cached("SELECT 1 FROM changes WHERE record_id = ?1 AND hash = ?2")?
                    .exists(params![id.as_bytes(), change.hash().0])?;
                if known || new.iter().any(|c: &Change| c.hash() == change.hash()) {
                    summary.known_changes += 1;
                } else {
                    new.push(change);
                }
            }
            if new.is_empty() {
                continue;
            }
            let existing_kind: Option<Kind> = match super::record_kind(&tx, id) {
                Ok(kind) => Some(kind),
                Err(CoreError::RecordNotFound(_)) => None,
                Err(e) => return Err(e),
            };
            let stored = load_doc(&tx, id)?;
            let had_changes = stored.is_some();
            let mut doc = stored.unwrap_or_else(AutoCommit::new);
            let before = index::Before::read(existing_kind, &mut doc);
            // Changes come from other devices: a malformed one must refuse the batch, never take
            // the process down. The document is dropped and the transaction rolled back.
            let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                doc.apply_changes(new.iter().cloned())
            }));
            match applied {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(CoreError::ChangesRefused(format!("record {id}: {e}"))),
                Err(_) => {
                    return Err(CoreError::ChangesRefused(format!(
                        "record {id}: a change could not be applied"
                    )))
                }
            }
            let kind = if id == ROSTER_ID {
                Some(Kind::Roster)
            } else {
                match doc::kind_of(&doc) {
                    Some(name) => Kind::from_name(&name).filter(|k| *k != Kind::Roster),
                    None => None,
                }
            };
            if let (Some(existing), Some(kind)) = (existing_kind, kind) {
                if existing != kind {
                    return Err(CoreError::ChangesRefused(format!(
                        "record {id} is a {} here but the changes make it a {}",
                        existing.name(),
                        kind.name()
                    )));
                }
            }
            if existing_kind.is_some() && kind.is_none() {
                return Err(CoreError::ChangesRefused(format!(
                    "record {id} lost its kind"
                )));
            }
            for change in &new {
                insert_change(&tx, id, kind, change, false, now_ms)?;
            }
            summary.records += 1;
            roster_changed |= id == ROSTER_ID;
            summary.new_changes += new.len();
            let missing = doc.get_missing_deps(&[]);
            if !missing.is_empty() {
                summary.waiting += new.len();
            }
            if let Some(kind) = kind {
                if existing_kind.is_none() && had_changes {
                    // Changes that waited for the one saying what their record is.
                    tx.prepare_cached(
                        "UPDATE changes SET kind = ?2 WHERE record_id = ?1 AND kind IS NULL",
                    )?
                    .execute(params![id.as_bytes(), kind.name()])?;
                }
                index::refresh(&tx, kind, id, &mut doc, now_ms, &before)?;
                summary.new_conflicts += index::refresh_conflicts(&tx, kind, id, &doc, now_ms)?;
                maybe_snapshot(&tx, id, &mut doc)?;
            }
        }
        also(&tx)?;
        tx.commit()?;
        if roster_changed {
            self.reload_extra_terms(&conn)?;
        }
        Ok(summary)
    }
}
