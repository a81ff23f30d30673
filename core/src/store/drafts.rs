//! Drafts: what a form of the app held, kept in the encrypted store's `meta` table under
//! `draft:<name>` so that a form typed halfway survives the app being killed. A draft is opaque
//! bytes here (the app chooses their shape); saving one is a single upsert, done after each
//! keystroke. Drafts never leave the device: sync, exports and reports do not read them; an
//! erasure drops those that name the erased person (`drop_naming`).

use rusqlite::{Connection, OptionalExtension};

use crate::{CoreError, RecordId, Result, Store};

/// The largest draft kept: a form's texts, not a file.
pub const MAX_DRAFT_BYTES: usize = 256 * 1024;

/// The prefix of a draft's key in `meta`.
const PREFIX: &str = "draft:";

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

impl Store {
    /// Keeps `bytes` as the draft called `name`, replacing the one before.
    pub fn save_draft(&self, name: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() > MAX_DRAFT_BYTES {
            return Err(CoreError::invalid(
                "draft",
                format!("is larger than {} KiB", MAX_DRAFT_BYTES / 1024),
            ));
        }
        self.lock()
            .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
            .execute(rusqlite::params![key(name), bytes])?;
        Ok(())
    }

    /// The draft called `name`, when one is kept.
    pub fn draft(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .lock()
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key(name)], |r| r.get(0))
            .optional()?)
    }

    /// Drops the draft called `name` (nothing happens when there is none).
    pub fn drop_draft(&self, name: &str) -> Result<()> {
        self.lock()
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key(name)])?;
        Ok(())
    }
}

/// Drops, in the caller's transaction, every draft whose bytes name `record` (its id as text):
/// a form typed about a person does not outlive their erasure.
pub(crate) fn drop_naming(conn: &Connection, record: RecordId) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM meta WHERE key LIKE 'draft:%' AND instr(CAST(value AS TEXT), ?1) > 0",
        )?
        .execute([record.to_string()])?)
}
