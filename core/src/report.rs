//! The activity report a service sends its funders and the state each month (the "fonction de
//! signal"): what the team did over a period, each figure beside the same figure for the period
//! just before. Read from the index tables only.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::{CoreError, RecordId, Result, Store};

/// A figure for the period and for the period before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub current: i64,
    pub previous: i64,
}

/// The activity report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub team: Option<String>,
    pub encounters: Figure,
    pub persons_met: Figure,
    pub new_persons: Figure,
    pub anonymous_contacts: Figure,
    pub services: BTreeMap<String, Figure>,
    pub needs: BTreeMap<String, Figure>,
    pub referrals_by_target: BTreeMap<String, Figure>,
    pub referrals_by_outcome: BTreeMap<String, Figure>,
    pub actions_done: Figure,
    pub actions_due: Figure,
    pub actions_overdue: Figure,
    /// "street -> emergency_shelter" and so on.
    pub situation_changes: BTreeMap<String, Figure>,
}

#[derive(Default)]
struct Period {
    encounters: i64,
    persons_met: i64,
    new_persons: i64,
    anonymous: i64,
    services: BTreeMap<String, i64>,
    needs: BTreeMap<String, i64>,
    by_target: BTreeMap<String, i64>,
    by_outcome: BTreeMap<String, i64>,
    actions_done: i64,
    actions_due: i64,
    actions_overdue: i64,
    situations: BTreeMap<String, i64>,
}

fn day_ms(d: NaiveDate) -> i64 {
    crate::model::schema::date_ms(d)
}

fn team_clause(column: &str) -> String {
    format!("(?3 IS NULL OR (',' || {column} || ',') LIKE '%,' || ?3 || ',%')")
}

fn period(conn: &Connection, from: NaiveDate, to: NaiveDate, team: Option<&str>) -> Result<Period> {
    let (start, end) = (day_ms(from), day_ms(to + Duration::days(1)));
    let (from_s, to_s) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let mut p = Period::default();
    let mut met = BTreeSet::new();
    let mut stmt = conn.prepare_cached(
        "SELECT persons, anonymous_count, services FROM encounters
         WHERE occurred_at >= ?1 AND occurred_at < ?2 AND (?3 IS NULL OR team = ?3)",
    )?;
    let mut rows = stmt.query(params![start, end, team])?;
    while let Some(row) = rows.next()? {
        p.encounters += 1;
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
                met.insert(id);
            }
        }
    }
    p.persons_met = met.len() as i64;
    let mut needs = conn.prepare_cached("SELECT needs FROM persons WHERE record_id = ?1")?;
    for id in &met {
        let row: Option<String> =
            rusqlite::OptionalExtension::optional(needs.query_row([id.as_bytes()], |r| r.get(0)))?;
        for n in row.unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
            *p.needs.entry(n.to_string()).or_default() += 1;
        }
    }
    p.new_persons = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM persons WHERE created_at >= ?1 AND created_at < ?2 AND {}",
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
         WHERE s.at >= ?1 AND s.at < ?2 AND {}",
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
    Ok(p)
}

fn pair(
    current: &BTreeMap<String, i64>,
    previous: &BTreeMap<String, i64>,
) -> BTreeMap<String, Figure> {
    let mut out = BTreeMap::new();
    for (k, v) in current {
        out.entry(k.clone()).or_insert_with(Figure::default).current = *v;
    }
    for (k, v) in previous {
        out.entry(k.clone())
            .or_insert_with(Figure::default)
            .previous = *v;
    }
    out
}

impl Store {
    /// The activity report for `from..=to` (whole days, UTC), optionally for one team, with the
    /// period of the same length just before.
    pub fn report(&self, from: NaiveDate, to: NaiveDate, team: Option<&str>) -> Result<Report> {
        if to < from {
            return Err(CoreError::invalid("period", "ends before it starts"));
        }
        if (to - from).num_days() > 3_660 {
            return Err(CoreError::invalid("period", "is longer than ten years"));
        }
        let team = team.map(str::trim).filter(|t| !t.is_empty());
        let days = (to - from).num_days() + 1;
        let previous_to = from - Duration::days(1);
        let previous_from = from - Duration::days(days);
        let conn = self.lock();
        let c = period(&conn, from, to, team)?;
        let p = period(&conn, previous_from, previous_to, team)?;
        let f = |current, previous| Figure { current, previous };
        Ok(Report {
            from,
            to,
            previous_from,
            previous_to,
            team: team.map(str::to_string),
            encounters: f(c.encounters, p.encounters),
            persons_met: f(c.persons_met, p.persons_met),
            new_persons: f(c.new_persons, p.new_persons),
            anonymous_contacts: f(c.anonymous, p.anonymous),
            services: pair(&c.services, &p.services),
            needs: pair(&c.needs, &p.needs),
            referrals_by_target: pair(&c.by_target, &p.by_target),
            referrals_by_outcome: pair(&c.by_outcome, &p.by_outcome),
            actions_done: f(c.actions_done, p.actions_done),
            actions_due: f(c.actions_due, p.actions_due),
            actions_overdue: f(c.actions_overdue, p.actions_overdue),
            situation_changes: pair(&c.situations, &p.situations),
        })
    }
}

impl Report {
    /// The report as rows of (section, item, current, previous), for a CSV file.
    pub fn rows(&self) -> Vec<(String, String, i64, i64)> {
        let mut rows = Vec::new();
        let mut one = |section: &str, item: &str, f: &Figure| {
            rows.push((section.to_string(), item.to_string(), f.current, f.previous))
        };
        one("encounters", "total", &self.encounters);
        one("persons", "met", &self.persons_met);
        one("persons", "new", &self.new_persons);
        one("encounters", "anonymous contacts", &self.anonymous_contacts);
        for (section, map) in [
            ("services", &self.services),
            ("needs", &self.needs),
            ("referrals by target", &self.referrals_by_target),
            ("referrals by outcome", &self.referrals_by_outcome),
            ("situation changes", &self.situation_changes),
        ] {
            for (k, f) in map {
                one(section, k, f);
            }
        }
        one("actions", "done", &self.actions_done);
        one("actions", "due", &self.actions_due);
        one("actions", "overdue", &self.actions_overdue);
        rows
    }
}
