//! CSV-ready exports of persons, encounters, actions and referrals for a period, for the office
//! and, pseudonymised, for funders and researchers. Only a coordinator's device, or an office
//! store outside any space, may export.

use chrono::{DateTime, Duration, NaiveDate};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::Sha256;

use crate::{CoreError, RecordId, Result, Store};

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    Persons,
    Encounters,
    Actions,
    Referrals,
}

impl ExportKind {
    pub fn from_name(name: &str) -> Option<ExportKind> {
        match name {
            "persons" => Some(ExportKind::Persons),
            "encounters" => Some(ExportKind::Encounters),
            "actions" => Some(ExportKind::Actions),
            "referrals" => Some(ExportKind::Referrals),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Persons => "persons",
            ExportKind::Encounters => "encounters",
            ExportKind::Actions => "actions",
            ExportKind::Referrals => "referrals",
        }
    }
}

/// A table: a header and rows of text cells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Replaces names, ids and free text with stable pseudonyms: the same person, record or text
/// gets the same pseudonym in every export of this store, and none can be turned back without
/// the store's key.
struct Pseudonyms {
    key: Option<[u8; 32]>,
}

impl Pseudonyms {
    fn token(&self, prefix: &str, data: &[u8]) -> String {
        let Some(key) = &self.key else {
            return String::from_utf8_lossy(data).into_owned();
        };
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(prefix.as_bytes());
        mac.update(data);
        let out = mac.finalize().into_bytes();
        format!(
            "{prefix}-{}",
            out[..5]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    fn id(&self, prefix: &str, id: &[u8]) -> String {
        match (&self.key, RecordId::from_slice(id)) {
            (None, Some(r)) => r.to_string(),
            (Some(_), _) => self.token(prefix, id),
            (None, None) => String::new(),
        }
    }

    fn ids(&self, prefix: &str, list: &str) -> String {
        list.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<RecordId>() {
                Ok(r) => self.id(prefix, r.as_bytes()),
                Err(_) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn text(&self, text: Option<String>) -> String {
        match (text, &self.key) {
            (None, _) => String::new(),
            (Some(t), None) => t,
            (Some(t), Some(_)) if t.trim().is_empty() => String::new(),
            (Some(t), Some(_)) => self.token("T", t.as_bytes()),
        }
    }

    fn name(&self, person: &[u8], name: Option<String>) -> String {
        match (&self.key, name) {
            (_, None) => String::new(),
            (None, Some(n)) => n,
            (Some(_), Some(_)) => self.token("N", person),
        }
    }
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

impl Store {
    /// Whether this device may export: a coordinator's device, or a store outside any space.
    pub fn may_export(&self) -> Result<bool> {
        self.may_review()
    }

    fn pseudonym_key(&self) -> Result<[u8; 32]> {
        let conn = self.lock();
        let stored: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'pseudonym_key'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(key) = stored.and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok()) {
            return Ok(key);
        }
        let key: [u8; 32] = self.random();
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('pseudonym_key', ?1)",
            [key.as_slice()],
        )?;
        Ok(key)
    }

    /// The rows of one kind for `from..=to` (persons: created or met in the period), logged in
    /// the access log as an export made through `via`.
    pub fn export(
        &self,
        kind: ExportKind,
        from: NaiveDate,
        to: NaiveDate,
        pseudonymise: bool,
        via: crate::access_log::Via,
    ) -> Result<Table> {
        if !self.may_export()? {
            return Err(CoreError::invalid(
                "export",
                "refused: only a coordinator's device (or an office store outside any space) may export",
            ));
        }
        if to < from {
            return Err(CoreError::invalid("period", "ends before it starts"));
        }
        let ps = Pseudonyms {
            key: if pseudonymise {
                Some(self.pseudonym_key()?)
            } else {
                None
            },
        };
        let (start, end) = (
            crate::model::fields::date_ms(from),
            crate::model::fields::date_ms(to + Duration::days(1)),
        );
        let (from_s, to_s) = (
            from.format("%Y-%m-%d").to_string(),
            to.format("%Y-%m-%d").to_string(),
        );
        let conn = self.lock();
        let header = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let mut table = Table::default();
        match kind {
            ExportKind::Persons => {
                table.header = header(&[
                    "id",
                    "name",
                    "nickname",
                    "birth_year",
                    "situation",
                    "alert_level",
                    "status",
                    "needs",
                    "teams",
                    "created_at",
                    "last_seen_at",
                ]);
                let mut stmt = conn.prepare_cached(
                    "SELECT p.record_id, p.name, p.nickname, p.birth_year, p.situation, p.alert_level, p.status, p.needs, p.teams, p.created_at,
                            (SELECT max(occurred_at) FROM encounter_persons e WHERE e.person_id = p.record_id AND e.occurred_at < ?2) AS seen
                     FROM persons p
                     WHERE (p.created_at >= ?1 AND p.created_at < ?2)
                        OR EXISTS (SELECT 1 FROM encounter_persons e WHERE e.person_id = p.record_id AND e.occurred_at >= ?1 AND e.occurred_at < ?2)
                     ORDER BY p.created_at",
                )?;
                let mut rows = stmt.query(params![start, end])?;
                while let Some(r) = rows.next()? {
                    let id: Vec<u8> = r.get(0)?;
                    table.rows.push(vec![
                        ps.id("P", &id),
                        ps.name(&id, r.get(1)?),
                        ps.name(&id, r.get(2)?),
                        r.get::<_, Option<i64>>(3)?
                            .map(|y| y.to_string())
                            .unwrap_or_default(),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                        r.get::<_, String>(7)?.replace(',', " "),
                        r.get::<_, String>(8)?.replace(',', " "),
                        time(r.get(9)?),
                        time(r.get(10)?),
                    ]);
                }
            }
            ExportKind::Encounters => {
                table.header = header(&[
                    "id",
                    "occurred_at",
                    "team",
                    "place",
                    "territory",
                    "kind",
                    "persons",
                    "anonymous_count",
                    "services",
                    "workers",
                    "notes",
                    "follow_up",
                ]);
                let mut stmt = conn.prepare_cached(
                    "SELECT record_id, occurred_at, team, place, territory, encounter_kind, persons, anonymous_count, services, workers, notes, follow_up
                     FROM encounters WHERE occurred_at >= ?1 AND occurred_at < ?2 ORDER BY occurred_at",
                )?;
                let mut rows = stmt.query(params![start, end])?;
                while let Some(r) = rows.next()? {
                    let workers: String = r.get(9)?;
                    table.rows.push(vec![
                        ps.id("E", &r.get::<_, Vec<u8>>(0)?),
                        time(r.get(1)?),
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        ps.text(r.get(3)?),
                        ps.text(r.get(4)?),
                        r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        ps.ids("P", &r.get::<_, String>(6)?),
                        r.get::<_, i64>(7)?.to_string(),
                        r.get::<_, String>(8)?.replace(',', " "),
                        workers
                            .split(',')
                            .filter(|w| !w.is_empty())
                            .map(|w| ps.text(Some(w.to_string())))
                            .collect::<Vec<_>>()
                            .join(" "),
                        ps.text(r.get(10)?),
                        if r.get::<_, bool>(11)? { "yes" } else { "no" }.to_string(),
                    ]);
                }
            }
            ExportKind::Actions => {
                table.header = header(&[
                    "id",
                    "person",
                    "title",
                    "category",
                    "due_at",
                    "status",
                    "assigned_to",
                    "done_at",
                    "created_at",
                ]);
                let mut stmt = conn.prepare_cached(
                    "SELECT record_id, person_id, title, category, due_at, status, assigned_to, done_at, created_at FROM actions
                     WHERE (created_at >= ?1 AND created_at < ?2) OR (done_at >= ?1 AND done_at < ?2) OR (due_at >= ?3 AND due_at <= ?4)
                     ORDER BY created_at",
                )?;
                let mut rows = stmt.query(params![start, end, from_s, to_s])?;
                while let Some(r) = rows.next()? {
                    table.rows.push(vec![
                        ps.id("A", &r.get::<_, Vec<u8>>(0)?),
                        r.get::<_, Option<Vec<u8>>>(1)?
                            .map(|p| ps.id("P", &p))
                            .unwrap_or_default(),
                        ps.text(r.get(2)?),
                        r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        ps.text(r.get(6)?),
                        time(r.get(7)?),
                        time(r.get(8)?),
                    ]);
                }
            }
            ExportKind::Referrals => {
                table.header = header(&[
                    "id",
                    "person",
                    "target",
                    "target_name",
                    "date",
                    "status",
                    "outcome",
                ]);
                let mut stmt = conn.prepare_cached(
                    "SELECT record_id, person_id, target, target_name, date, status, outcome FROM referrals
                     WHERE date >= ?1 AND date <= ?2 ORDER BY date",
                )?;
                let mut rows = stmt.query(params![from_s, to_s])?;
                while let Some(r) = rows.next()? {
                    table.rows.push(vec![
                        ps.id("R", &r.get::<_, Vec<u8>>(0)?),
                        r.get::<_, Option<Vec<u8>>>(1)?
                            .map(|p| ps.id("P", &p))
                            .unwrap_or_default(),
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        ps.text(r.get(3)?),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        ps.text(r.get(6)?),
                    ]);
                }
            }
        }
        drop(conn);
        // An export of personal data is logged (kind, period, pseudonymised or not); one that
        // cannot be logged is not handed over.
        self.log_access(
            &[crate::access_log::Access::Export {
                kind: kind.name().to_string(),
                from,
                to,
                pseudonymised: pseudonymise,
            }],
            via,
        )?;
        Ok(table)
    }
}
