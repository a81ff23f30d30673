//! CSV-ready exports of persons, encounters, actions and referrals for a period, and of the
//! housing journey (`export/housing.rs`: journeys, households, homes, applications, proposals,
//! own views), for the office and, pseudonymised, for funders and researchers. Only a coordinator's device, or an office
//! store outside any space, may export.
//!
//! A pseudonymised export cannot be linked to another one: its pseudonyms come from a key drawn
//! for it alone and never stored, unless the coordinator asks for a named series (one stored
//! key per series name: the same person gets the same pseudonym in every export of that series
//! only). Its times are days unless asked otherwise, and what reveals health
//! (`crate::sensitive`) is left out unless asked: a removed column for a sensitive field, a
//! code removed from a list cell, an empty cell for a single code (as when none was recorded),
//! and the whole row of an action or a referral whose category or target is sensitive (an
//! empty target would still single out a health referral).

use chrono::{DateTime, Duration, NaiveDate};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::Sha256;

use crate::model::custom::CustomField;
use crate::model::fields::Kind;
use crate::sensitive::{
    custom_field_is_free_text, is_sensitive_code, is_sensitive_custom_field, is_sensitive_field,
};
use crate::vocab::Vocab;
use crate::{CoreError, RecordId, Result, Store};

mod housing;

/// How to export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Replace ids, names and free text with pseudonyms (for funders, researchers).
    pub pseudonymise: bool,
    /// Draw the pseudonyms from the named series' stored key instead of a fresh one, so that
    /// this export links to the series' other exports (longitudinal research).
    pub series: Option<String>,
    /// Keep times to the minute in a pseudonymised export (days otherwise).
    pub precise_times: bool,
    /// Keep what reveals health in a pseudonymised export (left out otherwise).
    pub include_sensitive: bool,
}

impl ExportOptions {
    /// A nominative export, for the office: everything, times to the minute.
    pub fn nominative() -> ExportOptions {
        ExportOptions::default()
    }

    /// A pseudonymised export with a fresh key, times as days, nothing sensitive.
    pub fn pseudonymised() -> ExportOptions {
        ExportOptions {
            pseudonymise: true,
            ..Default::default()
        }
    }
}

/// The `meta` key of a series' pseudonym key.
fn series_meta_key(name: &str) -> String {
    format!("pseudonym_series:{name}")
}

/// The series that takes over the single stored key of earlier versions, so that a store that
/// exported with it can continue its pseudonyms.
pub const LEGACY_SERIES: &str = "default";

fn check_series_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "series",
            "a series name is 1 to 64 letters, digits, '_', '-' or '.'",
        ))
    }
}

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    Persons,
    Encounters,
    Actions,
    Referrals,
    Journeys,
    Households,
    Homes,
    Applications,
    Proposals,
    OwnViews,
}

impl ExportKind {
    pub const ALL: [ExportKind; 10] = [
        ExportKind::Persons,
        ExportKind::Encounters,
        ExportKind::Actions,
        ExportKind::Referrals,
        ExportKind::Journeys,
        ExportKind::Households,
        ExportKind::Homes,
        ExportKind::Applications,
        ExportKind::Proposals,
        ExportKind::OwnViews,
    ];

    pub fn from_name(name: &str) -> Option<ExportKind> {
        ExportKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Persons => "persons",
            ExportKind::Encounters => "encounters",
            ExportKind::Actions => "actions",
            ExportKind::Referrals => "referrals",
            ExportKind::Journeys => "journeys",
            ExportKind::Households => "households",
            ExportKind::Homes => "homes",
            ExportKind::Applications => "applications",
            ExportKind::Proposals => "proposals",
            ExportKind::OwnViews => "own_views",
        }
    }
}

/// A table: a header and rows of text cells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Replaces names, ids and free text with pseudonyms: the same person, record or text gets the
/// same pseudonym wherever it appears under one key (one export, or one series), and none can
/// be turned back without that key. Also decides what a cell shows of times and codes.
struct Pseudonyms {
    key: Option<[u8; 32]>,
    /// Times as days.
    days: bool,
    /// Leave out what reveals health.
    hide_sensitive: bool,
    /// A person's records merged into one another are one person (`merge.rs`).
    merged: super::merge::Groups,
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
        // A record merged into another person is that person.
        let root = match (prefix, RecordId::from_slice(id)) {
            ("P", Some(r)) => Some(self.merged.root(r)),
            _ => None,
        };
        let id = root.as_ref().map_or(id, |r| &r.as_bytes()[..]);
        match (&self.key, RecordId::from_slice(id)) {
            (None, Some(r)) => r.to_string(),
            (Some(_), _) => self.token(prefix, id),
            (None, None) => String::new(),
        }
    }

    fn ids(&self, prefix: &str, list: &str) -> String {
        let mut out: Vec<String> = Vec::new();
        for s in list.split(',').filter(|s| !s.is_empty()) {
            let id = match s.parse::<RecordId>() {
                Ok(r) => self.id(prefix, r.as_bytes()),
                Err(_) => String::new(),
            };
            // Two records of one person met together are one person met.
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out.join(" ")
    }

    fn text(&self, text: Option<String>) -> String {
        match (text, &self.key) {
            (None, _) => String::new(),
            (Some(t), None) => t,
            (Some(t), Some(_)) if t.trim().is_empty() => String::new(),
            (Some(t), Some(_)) => self.token("T", t.as_bytes()),
        }
    }

    /// A birth year: in a pseudonymised export (unless precise times were asked for), the
    /// five-year band it falls in ("1980-1984"), which pairs rows less readily than the year.
    fn birth_year(&self, year: Option<i64>) -> String {
        match (year, self.days) {
            (None, _) => String::new(),
            (Some(y), false) => y.to_string(),
            (Some(y), true) => {
                let from = y - y.rem_euclid(5);
                format!("{from}-{}", from + 4)
            }
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

impl Pseudonyms {
    fn time(&self, ms: Option<i64>) -> String {
        let format = if self.days {
            "%Y-%m-%d"
        } else {
            "%Y-%m-%d %H:%M"
        };
        ms.and_then(DateTime::from_timestamp_millis)
            .map(|t| t.format(format).to_string())
            .unwrap_or_default()
    }

    /// Whether a code is left out.
    fn hides(&self, vocab: Vocab, code: &str) -> bool {
        self.hide_sensitive && is_sensitive_code(vocab, code)
    }

    /// A single code's cell: empty when the code is left out (as when none was recorded).
    fn code(&self, vocab: Vocab, code: Option<String>) -> String {
        code.filter(|c| !self.hides(vocab, c)).unwrap_or_default()
    }

    /// A list of codes (stored comma-separated), space-separated, without the codes left out.
    fn codes(&self, vocab: Vocab, list: &str) -> String {
        list.split(',')
            .filter(|c| !c.is_empty() && !self.hides(vocab, c))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a field's column is left out.
    fn hides_field(&self, kind: Kind, field: &str) -> bool {
        self.hide_sensitive && is_sensitive_field(kind, field)
    }

    /// The organisation's fields of `kind` that have a column: those in force, less, in a
    /// pseudonymised export, text fields and (unless asked) sensitive ones.
    fn custom_columns(&self, defs: &[CustomField], kind: Kind) -> Vec<CustomField> {
        defs.iter()
            .filter(|d| d.kind == kind && !d.retired)
            .filter(|d| self.key.is_none() || !custom_field_is_free_text(d))
            .filter(|d| !(self.hide_sensitive && is_sensitive_custom_field(d)))
            .cloned()
            .collect()
    }

    /// The cells of the organisation's fields `columns` from a record's values (its index row's
    /// JSON): the value as the record keeps it; in a pseudonymised export, a value that does not
    /// fit its definition here (another device's text, perhaps) is left out.
    fn custom_cells(&self, columns: &[CustomField], json: Option<String>) -> Vec<String> {
        let values = super::custom_fields::parse_values(json.as_deref());
        columns
            .iter()
            .map(|d| match values.get(&d.name) {
                Some(v) if self.key.is_none() || d.problem(v).is_none() => v.clone(),
                _ => String::new(),
            })
            .collect()
    }
}

impl Store {
    /// Whether this device may export: a coordinator's device, or a store outside any space.
    pub fn may_export(&self) -> Result<bool> {
        self.may_review()
    }

    /// The key of a named series: stored at its first use, drawn from the store's entropy. The
    /// series `default` takes over the single key earlier versions kept for every export.
    fn series_key(&self, name: &str) -> Result<[u8; 32]> {
        check_series_name(name)?;
        let meta_key = series_meta_key(name);
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let read = |key: &str| -> Result<Option<Vec<u8>>> {
            Ok(tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?)
        };
        let own = read(&meta_key)?;
        let kept = own.is_some();
        let stored = match own {
            Some(key) => Some(key),
            None if name == LEGACY_SERIES => read("pseudonym_key")?,
            None => None,
        };
        let key: [u8; 32] = match stored {
            Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| CoreError::corrupt("a pseudonym series key is damaged"))?,
            None => self.random(),
        };
        if kept {
            return Ok(key);
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![meta_key, key.as_slice()],
        )?;
        if name == LEGACY_SERIES {
            // Moved to the series: it stays the key of `default` only.
            tx.execute("DELETE FROM meta WHERE key = 'pseudonym_key'", [])?;
        }
        tx.commit()?;
        Ok(key)
    }

    /// The names of the pseudonym series this store keeps a key for.
    pub fn export_series(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT key FROM meta WHERE key LIKE 'pseudonym_series:%' ORDER BY key",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for key in rows {
            if let Some(name) = key?.strip_prefix("pseudonym_series:") {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// The rows of one kind for `from..=to` (persons: created or met in the period), logged in
    /// the access log as an export made through `via`.
    pub fn export(
        &self,
        kind: ExportKind,
        from: NaiveDate,
        to: NaiveDate,
        options: &ExportOptions,
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
        let pseudonymise = options.pseudonymise;
        if !pseudonymise
            && (options.series.is_some() || options.precise_times || options.include_sensitive)
        {
            return Err(CoreError::invalid(
                "export",
                "a series, precise times and sensitive values are options of a pseudonymised export",
            ));
        }
        let mut ps = Pseudonyms {
            key: match (pseudonymise, &options.series) {
                (false, _) => None,
                (true, None) => Some(self.random()),
                (true, Some(name)) => Some(self.series_key(name)?),
            },
            days: pseudonymise && !options.precise_times,
            hide_sensitive: pseudonymise && !options.include_sensitive,
            merged: Default::default(),
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
        ps.merged = super::merge::Groups::load(&conn)?;
        let ps = ps;
        let defs = super::custom_fields::definitions(&conn, None)?;
        let custom_header =
            |columns: &[CustomField]| columns.iter().map(|d| d.path()).collect::<Vec<String>>();
        let header = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let mut table = Table::default();
        match kind {
            ExportKind::Persons => {
                let alert = !ps.hides_field(Kind::Person, "alert_level");
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
                if !alert {
                    table.header.retain(|c| c != "alert_level");
                }
                let custom = ps.custom_columns(&defs, Kind::Person);
                table.header.extend(custom_header(&custom));
                let mut stmt = conn.prepare_cached(
                    "SELECT p.record_id, p.name, p.nickname, p.birth_year, p.situation, p.alert_level, p.status, p.needs, p.teams, p.created_at,
                            p.custom,
                            (SELECT max(t) FROM (
                                SELECT max(occurred_at) AS t FROM encounter_persons e WHERE e.person_id = p.record_id AND e.occurred_at < ?2
                                UNION ALL
                                SELECT max(e.occurred_at) FROM persons m JOIN encounter_persons e ON e.person_id = m.record_id
                                 WHERE m.merged_root = p.record_id AND e.occurred_at < ?2)) AS seen
                     FROM persons p
                     WHERE p.merged_root IS NULL AND ((p.created_at >= ?1 AND p.created_at < ?2)
                        OR EXISTS (SELECT 1 FROM encounter_persons e WHERE e.person_id = p.record_id AND e.occurred_at >= ?1 AND e.occurred_at < ?2)
                        OR EXISTS (SELECT 1 FROM persons m JOIN encounter_persons e ON e.person_id = m.record_id
                                    WHERE m.merged_root = p.record_id AND e.occurred_at >= ?1 AND e.occurred_at < ?2))
                     ORDER BY p.created_at",
                )?;
                let mut rows = stmt.query(params![start, end])?;
                while let Some(r) = rows.next()? {
                    let id: Vec<u8> = r.get(0)?;
                    let mut row = vec![
                        ps.id("P", &id),
                        ps.name(&id, r.get(1)?),
                        ps.name(&id, r.get(2)?),
                        ps.birth_year(r.get(3)?),
                        ps.code(Vocab::Situation, r.get(4)?),
                    ];
                    if alert {
                        row.push(ps.code(Vocab::AlertLevel, r.get(5)?));
                    }
                    row.extend([
                        ps.code(Vocab::PersonStatus, r.get(6)?),
                        ps.codes(Vocab::Need, &r.get::<_, String>(7)?),
                        r.get::<_, String>(8)?.replace(',', " "),
                        ps.time(r.get(9)?),
                        ps.time(r.get(11)?),
                    ]);
                    row.extend(ps.custom_cells(&custom, r.get(10)?));
                    table.rows.push(row);
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
                let custom = ps.custom_columns(&defs, Kind::Encounter);
                table.header.extend(custom_header(&custom));
                let mut stmt = conn.prepare_cached(
                    "SELECT record_id, occurred_at, team, place, territory, encounter_kind, persons, anonymous_count, services, workers, notes, follow_up, custom
                     FROM encounters WHERE occurred_at >= ?1 AND occurred_at < ?2 ORDER BY occurred_at",
                )?;
                let mut rows = stmt.query(params![start, end])?;
                while let Some(r) = rows.next()? {
                    let workers: String = r.get(9)?;
                    let mut row = vec![
                        ps.id("E", &r.get::<_, Vec<u8>>(0)?),
                        ps.time(r.get(1)?),
                        r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        ps.text(r.get(3)?),
                        ps.text(r.get(4)?),
                        ps.code(Vocab::EncounterKind, r.get(5)?),
                        ps.ids("P", &r.get::<_, String>(6)?),
                        r.get::<_, i64>(7)?.to_string(),
                        ps.codes(Vocab::Service, &r.get::<_, String>(8)?),
                        workers
                            .split(',')
                            .filter(|w| !w.is_empty())
                            .map(|w| ps.text(Some(w.to_string())))
                            .collect::<Vec<_>>()
                            .join(" "),
                        ps.text(r.get(10)?),
                        if r.get::<_, bool>(11)? { "yes" } else { "no" }.to_string(),
                    ];
                    row.extend(ps.custom_cells(&custom, r.get(12)?));
                    table.rows.push(row);
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
                    let category: Option<String> = r.get(3)?;
                    // The category says what the action is about: an action left without it
                    // would still single out a health appointment.
                    if category
                        .as_deref()
                        .is_some_and(|c| ps.hides(Vocab::ActionCategory, c))
                    {
                        continue;
                    }
                    table.rows.push(vec![
                        ps.id("A", &r.get::<_, Vec<u8>>(0)?),
                        r.get::<_, Option<Vec<u8>>>(1)?
                            .map(|p| ps.id("P", &p))
                            .unwrap_or_default(),
                        ps.text(r.get(2)?),
                        category.unwrap_or_default(),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        ps.code(Vocab::ActionStatus, r.get(5)?),
                        ps.text(r.get(6)?),
                        ps.time(r.get(7)?),
                        ps.time(r.get(8)?),
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
                    let target: Option<String> = r.get(2)?;
                    // The target says what the referral is about: a referral left without it
                    // would still single out one to psychiatry or to hospital care.
                    if target
                        .as_deref()
                        .is_some_and(|t| ps.hides(Vocab::ReferralTarget, t))
                    {
                        continue;
                    }
                    table.rows.push(vec![
                        ps.id("R", &r.get::<_, Vec<u8>>(0)?),
                        r.get::<_, Option<Vec<u8>>>(1)?
                            .map(|p| ps.id("P", &p))
                            .unwrap_or_default(),
                        target.unwrap_or_default(),
                        ps.text(r.get(3)?),
                        r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        ps.code(Vocab::ReferralStatus, r.get(5)?),
                        ps.text(r.get(6)?),
                    ]);
                }
            }
            ExportKind::Journeys
            | ExportKind::Households
            | ExportKind::Homes
            | ExportKind::Applications
            | ExportKind::Proposals
            | ExportKind::OwnViews => {
                let period = housing::Period {
                    from,
                    to,
                    defs: &defs,
                };
                let rows = match kind {
                    ExportKind::Journeys => housing::journeys,
                    ExportKind::Households => housing::households,
                    ExportKind::Homes => housing::homes,
                    ExportKind::Applications => housing::applications,
                    ExportKind::Proposals => housing::proposals,
                    _ => housing::own_views,
                };
                rows(&conn, &ps, &period, &mut table)?;
            }
        }
        drop(conn);
        if pseudonymise {
            // In the order of their pseudonyms (drawn anew for each export), not of their
            // times: the order within a day would otherwise survive the coarsening to days.
            table.rows.sort();
        }
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
