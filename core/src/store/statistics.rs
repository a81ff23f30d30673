//! Statistics only: a device that reads reports and nothing nominative never holds the team's
//! key. The office (a coordinator's device) founds a statistics space of its own, held in a
//! third store beside the team's (its key derived from the team store's), and publishes into it
//! the activity reports it computes (`Kind::PublishedReport`: a period, a team, the figures by
//! code); statistics-only devices join that space and read the reports there.
//!
//! A statistics store holds published reports only (and its roster and access log); no other
//! store holds any (`purpose::check_kind`).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use serde::Serialize;

use crate::crypto::RawKey;
use crate::doc::{Edit, Reader};
use crate::model::fields::{Kind, Value};
use crate::report::Report;
use crate::{CoreError, RecordId, Result};

use super::purpose::Purpose;
use super::Store;

/// The key of the office's statistics store, derived from the key of its team's store.
pub fn statistics_store_key(team_store_key: &RawKey) -> RawKey {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(
        Some(b"allervers statistics store v1"),
        team_store_key.as_bytes(),
    );
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
    let _ = hkdf.expand(b"store key", &mut out);
    RawKey::from_bytes(out)
}

/// A report as a statistics space holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublishedReport {
    pub id: RecordId,
    /// When it was published, by the office's clock.
    pub published_at_ms: i64,
    pub report: Report,
}

impl Store {
    /// Makes this new store a statistics store. Refused once it syncs with a space, holds
    /// records of its own or has another purpose.
    pub fn make_statistics_store(&self) -> Result<()> {
        self.set_purpose(Purpose::Statistics, "statistics")
    }

    /// Whether this is a statistics space's store.
    pub fn is_statistics_store(&self) -> bool {
        self.purpose() == Purpose::Statistics
    }

    /// Publishes `report` (computed from a team's store) into this statistics store (the
    /// office's, a coordinator of the statistics space): its period, team and figures, nothing
    /// else. A report is what its publication says: later changes to it are ignored.
    pub fn publish_report(&self, report: &Report) -> Result<RecordId> {
        if !self.is_statistics_store() {
            return Err(CoreError::invalid(
                "statistics",
                "reports are published into a statistics store",
            ));
        }
        if let Some(m) = self.membership()? {
            if !m.coordinator {
                return Err(CoreError::invalid(
                    "statistics",
                    "only the office (a coordinator of the statistics space) publishes reports",
                ));
            }
        }
        let mut edits = vec![
            Edit::Set("period_from".into(), Value::Date(report.from)),
            Edit::Set("period_to".into(), Value::Date(report.to)),
        ];
        if let Some(team) = &report.team {
            edits.push(Edit::Set("team".into(), Value::Text(team.clone())));
        }
        for (key, value) in report.figures() {
            edits.push(Edit::Put("figures".into(), key, value));
        }
        self.create_record(Kind::PublishedReport, edits)
    }

    /// The reports published into this store, the latest publication first; `from`, `to` and
    /// `team` narrow them to one period (and one team, or all teams with `None`).
    pub fn published_reports(
        &self,
        period: Option<(NaiveDate, NaiveDate)>,
        team: Option<&str>,
    ) -> Result<Vec<PublishedReport>> {
        let rows: Vec<(Vec<u8>, i64)> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT record_id, created_at FROM published_reports
                  WHERE (?1 IS NULL OR (period_from = ?1 AND period_to = ?2))
                    AND (?3 IS NULL OR team = ?3)
                  ORDER BY created_at DESC, record_id DESC",
            )?;
            let (from, to) = match period {
                Some((f, t)) => (Some(f.to_string()), Some(t.to_string())),
                None => (None, None),
            };
            let rows = stmt.query_map(rusqlite::params![from, to, team], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::new();
        for (id, at) in rows {
            let id =
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
            let (from, to, team, figures) =
                self.read(id, Kind::PublishedReport, published_fields)?;
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            out.push(PublishedReport {
                id,
                published_at_ms: at,
                report: Report::from_figures(from, to, team, &figures)?,
            });
        }
        Ok(out)
    }
}

/// A published report's period, team and figures, as its document holds them.
fn published_fields(
    r: &Reader,
) -> (
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<String>,
    BTreeMap<String, String>,
) {
    let k = Kind::PublishedReport;
    let spec = |name: &str| k.field(name).ok();
    let date = |name: &str| match spec(name).and_then(|s| r.get(s)) {
        Some(Value::Date(d)) => Some(d),
        _ => None,
    };
    let team = match spec("team").and_then(|s| r.get(s)) {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    };
    let figures = spec("figures").map(|s| r.text_map(s)).unwrap_or_default();
    (date("period_from"), date("period_to"), team, figures)
}
