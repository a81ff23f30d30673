//! The counts behind the activity report, for one period and optionally one team, read from
//! the index tables.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection};

use crate::model::custom::{CustomField, CustomType};
use crate::model::fields::Kind;
use crate::{RecordId, Result};

/// What a team did over one period, counted from the index tables.
#[derive(Default)]
pub(crate) struct Period {
    pub(crate) encounters: i64,
    pub(crate) persons_met: i64,
    pub(crate) new_persons: i64,
    pub(crate) anonymous: i64,
    pub(crate) services: BTreeMap<String, i64>,
    pub(crate) needs: BTreeMap<String, i64>,
    pub(crate) by_target: BTreeMap<String, i64>,
    pub(crate) by_outcome: BTreeMap<String, i64>,
    pub(crate) actions_done: i64,
    pub(crate) actions_due: i64,
    pub(crate) actions_overdue: i64,
    pub(crate) situations: BTreeMap<String, i64>,
    /// Health contacts (a health professional saw someone) and the distinct persons seen.
    pub(crate) health_contacts: i64,
    pub(crate) health_persons: i64,
    /// Households, journeys and housing applications (`housing.rs`).
    pub(crate) housing: super::housing_report::HousingFigures,
    /// The organisation's fields (`custom_fields.rs`), by `KIND.NAME.CHOICE` (choices),
    /// `KIND.NAME.yes` (yes/no) and `KIND.NAME.sum` (numbers, rounded): persons met and
    /// encounters in the period.
    pub(crate) custom: BTreeMap<String, i64>,
}

/// Adds one record's values of the organisation's fields of `kind` to `sums`: the choices
/// made, the yeses, the numbers. A value that does not fit the definition held here, and text
/// and dates, are not counted.
fn count_custom(
    sums: &mut BTreeMap<String, f64>,
    defs: &[CustomField],
    kind: Kind,
    values: &BTreeMap<String, String>,
) {
    for def in defs.iter().filter(|d| d.kind == kind) {
        let Some(raw) = values.get(&def.name).filter(|v| !v.is_empty()) else {
            continue;
        };
        if def.problem(raw).is_some() {
            continue;
        }
        let key = |item: &str| format!("{}.{}.{item}", kind.name(), def.name);
        match def.ty {
            CustomType::Choice | CustomType::Choices => {
                for code in raw.split(',') {
                    *sums.entry(key(code)).or_default() += 1.0;
                }
            }
            CustomType::YesNo if raw == "yes" => *sums.entry(key("yes")).or_default() += 1.0,
            CustomType::Number => {
                if let Ok(x) = raw.parse::<f64>() {
                    *sums.entry(key("sum")).or_default() += x;
                }
            }
            _ => {}
        }
    }
}

fn day_ms(d: NaiveDate) -> i64 {
    crate::model::fields::date_ms(d)
}

fn team_clause(column: &str) -> String {
    format!("(?3 IS NULL OR (',' || {column} || ',') LIKE '%,' || ?3 || ',%')")
}

pub(crate) fn period(
    conn: &Connection,
    journeys: &mut super::housing::Rows,
    from: NaiveDate,
    to: NaiveDate,
    team: Option<&str>,
) -> Result<Period> {
    let (start, end) = (day_ms(from), day_ms(to + Duration::days(1)));
    let (from_s, to_s) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let mut p = Period::default();
    // Records merged into another person count as that person (`merge.rs`).
    let groups = super::merge::Groups::load(conn)?;
    // The fields in force are counted; a retired field is no longer reported.
    let defs: Vec<CustomField> = super::custom_fields::definitions(conn, None)?
        .into_iter()
        .filter(|d| !d.retired)
        .collect();
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    // Each person met, with the day they were first met in the period.
    let mut met: BTreeMap<RecordId, NaiveDate> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(
        "SELECT persons, anonymous_count, services, custom, occurred_at, encounter_kind
           FROM encounters
         WHERE occurred_at >= ?1 AND occurred_at < ?2 AND (?3 IS NULL OR team = ?3)
         ORDER BY occurred_at",
    )?;
    let mut rows = stmt.query(params![start, end, team])?;
    let mut home_visits = 0;
    while let Some(row) = rows.next()? {
        p.encounters += 1;
        if row.get::<_, Option<String>>(5)?.as_deref() == Some("home_visit") {
            home_visits += 1;
        }
        p.anonymous += row.get::<_, i64>(1)?;
        for s in row
            .get::<_, String>(2)?
            .split(',')
            .filter(|s| !s.is_empty())
        {
            *p.services.entry(s.to_string()).or_default() += 1;
        }
        for id in row
            .get::<_, String>(0)?
            .split(',')
            .filter(|s| !s.is_empty())
        {
            if let Ok(id) = id.parse::<RecordId>() {
                let day = chrono::DateTime::from_timestamp_millis(row.get::<_, i64>(4)?)
                    .map_or(from, |t| t.date_naive());
                met.entry(groups.root(id)).or_insert(day);
            }
        }
        if let Some(custom) = row.get::<_, Option<String>>(3)? {
            let values = super::custom_fields::parse_values(Some(&custom));
            count_custom(&mut sums, &defs, Kind::Encounter, &values);
        }
    }
    p.persons_met = met.len() as i64;
    let mut needs =
        conn.prepare_cached("SELECT needs, custom FROM persons WHERE record_id = ?1")?;
    for id in met.keys() {
        // A merged person's needs are those of every record merged in, each counted once; the
        // organisation's fields, each name's first value in the group (the person's own first).
        let mut theirs = BTreeSet::new();
        let mut custom: BTreeMap<String, String> = BTreeMap::new();
        for record in groups.group(*id) {
            let row: Option<(String, Option<String>)> = rusqlite::OptionalExtension::optional(
                needs.query_row([record.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?))),
            )?;
            let (row, values) = row.unwrap_or_default();
            for n in row.split(',').filter(|s| !s.is_empty()) {
                theirs.insert(n.to_string());
            }
            if values.is_some() && !defs.is_empty() {
                for (k, v) in super::custom_fields::parse_values(values.as_deref()) {
                    custom.entry(k).or_insert(v);
                }
            }
        }
        for n in theirs {
            *p.needs.entry(n).or_default() += 1;
        }
        count_custom(&mut sums, &defs, Kind::Person, &custom);
    }
    // A merged person is new when their first record was made: the persons standing for
    // themselves recorded in the period before any record merged into them, and those a record
    // merged into them made new earlier than their own.
    p.new_persons = conn
        .prepare_cached(&format!(
            "SELECT
               (SELECT count(*) FROM persons p
                 WHERE p.created_at >= ?1 AND p.created_at < ?2 AND p.merged_root IS NULL AND {}
                   AND NOT EXISTS (SELECT 1 FROM persons m
                                    WHERE m.merged_root = p.record_id AND m.created_at < p.created_at))
             + (SELECT count(*) FROM (
                  SELECT p.teams AS teams, p.created_at AS own,
                         (SELECT min(m.created_at) FROM persons m
                           WHERE m.merged_root = p.record_id) AS first
                    FROM persons p
                   WHERE p.merged_root IS NULL
                     AND p.record_id IN (SELECT merged_root FROM persons WHERE merged_root IS NOT NULL))
                 WHERE first < own AND first >= ?1 AND first < ?2 AND {})",
            team_clause("p.teams"),
            team_clause("teams")
        ))?
        .query_row(params![start, end, team], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT r.target, r.status FROM referrals r LEFT JOIN persons p ON p.record_id = r.person_id
         WHERE r.date >= ?1 AND r.date <= ?2 AND {}",
        team_clause("coalesce(p.teams, '')")
    ))?;
    let mut rows = stmt.query(params![from_s, to_s, team])?;
    while let Some(row) = rows.next()? {
        *p.by_target
            .entry(row.get::<_, Option<String>>(0)?.unwrap_or_default())
            .or_default() += 1;
        *p.by_outcome
            .entry(row.get::<_, Option<String>>(1)?.unwrap_or_default())
            .or_default() += 1;
    }
    let actions = |condition: &str, args: &[&dyn rusqlite::ToSql]| -> Result<i64> {
        let sql = format!(
            "SELECT count(*) FROM actions a LEFT JOIN persons p ON p.record_id = a.person_id
             WHERE {condition} AND {}",
            team_clause("coalesce(p.teams, '')")
        );
        Ok(conn.prepare_cached(&sql)?.query_row(args, |r| r.get(0))?)
    };
    p.actions_done = actions(
        "a.status = 'done' AND a.done_at >= ?1 AND a.done_at < ?2",
        &[&start, &end, &team],
    )?;
    p.actions_due = actions(
        "a.status = 'todo' AND a.due_at >= ?1 AND a.due_at <= ?2",
        &[&from_s, &to_s, &team],
    )?;
    // Overdue at the end of the period: still to do, due before its last day. (?1 is bound but
    // unused: the helper binds the period's two bounds and the team.)
    p.actions_overdue = actions(
        "a.status = 'todo' AND a.due_at < ?2 AND ?1 IS NOT NULL",
        &[&from_s, &to_s, &team],
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.from_situation, s.to_situation FROM situation_changes s
         LEFT JOIN persons p ON p.record_id = s.person_id
         WHERE s.at >= ?1 AND s.at < ?2 AND s.from_situation != '' AND {}",
        team_clause("coalesce(p.teams, '')")
    ))?;
    let mut rows = stmt.query(params![start, end, team])?;
    while let Some(row) = rows.next()? {
        let key = format!(
            "{} -> {}",
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?
        );
        *p.situations.entry(key).or_default() += 1;
    }
    let (contacts, persons): (i64, i64) = conn
        .prepare_cached(&format!(
            "SELECT count(*), count(DISTINCT h.person_id) FROM health_contacts h
             LEFT JOIN persons p ON p.record_id = h.person_id
             WHERE h.on_day >= ?1 AND h.on_day <= ?2 AND {}",
            team_clause("coalesce(p.teams, '')")
        ))?
        .query_row(params![from_s, to_s, team], |r| Ok((r.get(0)?, r.get(1)?)))?;
    p.health_contacts = contacts;
    p.health_persons = persons;
    p.housing =
        super::housing_report::housing_figures(conn, journeys, &groups, from, to, team, &met)?;
    p.housing.home_visits = home_visits;
    // The households met count by their own fields too.
    if !defs.is_empty() {
        for values in &p.housing.household_custom {
            let values = super::custom_fields::parse_values(values.as_deref());
            count_custom(&mut sums, &defs, Kind::Household, &values);
        }
        for values in &p.housing.own_view_custom {
            let values = super::custom_fields::parse_values(values.as_deref());
            count_custom(&mut sums, &defs, Kind::OwnView, &values);
        }
    }
    p.custom = sums
        .into_iter()
        .map(|(k, v)| (k, v.round() as i64))
        .collect();
    Ok(p)
}
