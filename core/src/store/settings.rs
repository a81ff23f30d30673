//! The organisation's settings, kept in the space's roster like its codes (`setting:<name>` ->
//! an integer), so that a setting chosen at the office reaches every device with the next sync.
//! Only a coordinator may write them (the roster rule, `roster.rs`); a store outside any space
//! sets them freely. The `settings` table is derived from the roster, like `vocab_extra`.

use automerge::{AutoCommit, ReadDoc, ScalarValue, ROOT};
use rusqlite::{params, Connection, OptionalExtension};

use crate::{CoreError, Result, Store};

/// The prefix of a setting's key in the roster document.
pub(crate) const SETTING_PREFIX: &str = "setting:";

/// The retention period: a person not met for this many months is listed for review (the
/// CNIL's référentiel for social services: 24 months without contact).
pub const RETENTION_MONTHS: &str = "retention_months";

/// The retention period when the organisation has not chosen one.
pub const DEFAULT_RETENTION_MONTHS: u32 = 24;

/// The bounds of a retention period, in months (one month to twenty years).
pub const RETENTION_MONTHS_RANGE: std::ops::RangeInclusive<i64> = 1..=240;

/// The settings this build knows, each with the values it accepts. A setting from a newer
/// build, or a value out of bounds, is left in the roster and not indexed.
const KNOWN: &[(&str, std::ops::RangeInclusive<i64>)] =
    &[(RETENTION_MONTHS, RETENTION_MONTHS_RANGE)];

fn roster_key(name: &str) -> String {
    format!("{SETTING_PREFIX}{name}")
}

/// Rewrites the `settings` rows from the roster document: a known setting with a value in its
/// bounds is kept, anything else removed (the default applies).
pub(crate) fn refresh(tx: &Connection, doc: &AutoCommit) -> Result<()> {
    for (name, range) in KNOWN {
        let value = match doc.get(ROOT, roster_key(name)).ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Int(i) => Some(*i),
                ScalarValue::Uint(u) => i64::try_from(*u).ok(),
                _ => None,
            },
            _ => None,
        }
        .filter(|v| range.contains(v));
        match value {
            Some(v) => tx
                .prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)")?
                .execute(params![name, v])?,
            None => tx
                .prepare_cached("DELETE FROM settings WHERE key = ?1")?
                .execute([name])?,
        };
    }
    Ok(())
}

pub(crate) fn setting(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

impl Store {
    /// Whether this device acts as a coordinator: outside any space, or a coordinator of its
    /// space (by the roster's grants, or by its membership in a space made before grants).
    pub fn acts_as_coordinator(&self) -> Result<bool> {
        let Some(m) = self.membership()? else {
            return Ok(true);
        };
        Ok(self
            .is_coordinator(&self.me.device)?
            .unwrap_or(m.coordinator))
    }

    /// The organisation's retention period in months (24 unless a coordinator chose another).
    pub fn retention_months(&self) -> Result<u32> {
        let conn = self.lock();
        Ok(setting(&conn, RETENTION_MONTHS)?
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(DEFAULT_RETENTION_MONTHS))
    }

    /// Sets the organisation's retention period, in the roster so that it reaches every
    /// device of the space (a coordinator's device, or a store outside any space).
    pub fn set_retention_months(&self, months: u32) -> Result<()> {
        if !RETENTION_MONTHS_RANGE.contains(&i64::from(months)) {
            return Err(CoreError::invalid(
                "months",
                "a retention period is from 1 to 240 months",
            ));
        }
        if !self.acts_as_coordinator()? {
            return Err(CoreError::invalid(
                "retention",
                "refused: only a coordinator's device can set the retention period",
            ));
        }
        self.write_roster_setting(RETENTION_MONTHS, i64::from(months))
    }

    fn write_roster_setting(&self, name: &str, value: i64) -> Result<()> {
        let key = roster_key(name);
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.write_roster_in(&tx, |doc, _| {
            use automerge::transaction::Transactable;
            doc.put(ROOT, key, ScalarValue::Int(value))?;
            Ok(())
        })?;
        tx.commit()?;
        Ok(())
    }
}
