//! The lists of *aller vers* persistence and of duplicates, read from the index rows: the
//! persons not met for some days (oldest first), those with an open follow-up action, those on
//! the alert list, the pairs of persons likely to be one person recorded twice (two phones that
//! met them offline), and the hints a creation form shows for what was typed.
//!
//! Two persons are likely duplicates when they share a name, nickname or other name once
//! accents, case and spaces are folded, and their birth years, when both are known, are at most
//! [`BIRTH_YEAR_SLACK`] apart. Persons out of the active list are left out.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;

use super::merge::Groups;
use super::query::{person_row, LAST_SEEN, PERSON_COLUMNS};
use super::Store;
use crate::model::PersonSummary;
use crate::text::fold;
use crate::{CoreError, RecordId, Result};

/// How far apart two known birth years may be for two persons to be one (a year given from
/// memory, or an age given instead of a year).
pub const BIRTH_YEAR_SLACK: i64 = 2;

/// A name held by more active persons than this says nothing by itself (a common first name):
/// it pairs no one in the office's list, where it would bury the likely duplicates under
/// thousands of pairs. Two persons sharing it and another name are still paired by the other.
pub const COMMON_NAME: usize = 50;

/// How many persons a creation form's hints list at most (the most recently met first).
pub const HINTS: usize = 10;

/// Two persons likely to be one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LikelyDuplicate {
    /// The two persons, the one recorded first first.
    pub persons: [PersonSummary; 2],
    /// The folded names they share (a name, nickname or other name of each).
    pub shared: Vec<String>,
    /// Their birth years, when known.
    pub birth_years: [Option<i64>; 2],
}

/// A person with a follow-up action still to do: the one due earliest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenFollowUp {
    pub person: PersonSummary,
    pub title: Option<String>,
    pub due: Option<NaiveDate>,
}

/// One active person's folded names and what the duplicate search needs of them.
struct Names {
    id: RecordId,
    names: BTreeSet<String>,
    birth_year: Option<i64>,
}

/// The folded names of a person's index row (`search` joins them with ` | `).
fn names_of(search: &str) -> BTreeSet<String> {
    search
        .split(" | ")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

fn close_years(a: Option<i64>, b: Option<i64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= BIRTH_YEAR_SLACK,
        _ => true,
    }
}

fn active_names(conn: &Connection) -> Result<Vec<Names>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, search, birth_year FROM persons
         WHERE status IS NOT 'inactive' AND merged_root IS NULL ORDER BY created_at, record_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (id, search, birth_year) = row?;
        Ok(Names {
            id: RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?,
            names: names_of(&search),
            birth_year,
        })
    })
    .collect()
}

fn summary(conn: &Connection, id: RecordId) -> Result<PersonSummary> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS}, {LAST_SEEN} FROM persons p WHERE p.record_id = ?1"
    ))?;
    stmt.query_row([id.as_bytes()], person_row)?
}

/// `rows` as the lists show them: a person merged into another listed as that person, once
/// (where their first record came), each group completed by its members (`merge.rs`).
fn as_merged(conn: &Connection, rows: Vec<PersonSummary>) -> Result<Vec<PersonSummary>> {
    let groups = Groups::load(conn)?;
    if groups.is_empty() {
        return Ok(rows);
    }
    let mut out: Vec<PersonSummary> = Vec::with_capacity(rows.len());
    for row in rows {
        let root = groups.root(row.id);
        if out.iter().any(|p| p.id == root) {
            continue;
        }
        out.push(if root == row.id {
            row
        } else {
            summary(conn, root)?
        });
    }
    groups.complete(conn, &mut out)?;
    Ok(out)
}

impl Store {
    /// The active persons not met for `days` days or more (never met ones counted from when
    /// they were recorded), the longest unseen first: whom to go and see again.
    pub fn persons_not_seen_for(&self, days: u32, limit: usize) -> Result<Vec<PersonSummary>> {
        let cutoff = (self.now() - Duration::days(i64::from(days))).timestamp_millis();
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT * FROM (
                SELECT {PERSON_COLUMNS}, {LAST_SEEN},
                    -- Recorded again under a record merged into them is recorded then.
                    (SELECT max(c) FROM (SELECT p.created_at AS c UNION ALL
                        SELECT m.created_at FROM persons m WHERE m.merged_root = p.record_id))
                        AS created
                FROM persons p WHERE p.status IS NOT 'inactive' AND p.merged_root IS NULL)
             WHERE coalesce(last_seen, created) <= ?1
             ORDER BY coalesce(last_seen, created), created LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit.min(100_000)).unwrap_or(100_000);
        let rows = stmt.query_map(rusqlite::params![cutoff, limit], person_row)?;
        let rows = rows
            .map(|r| r.map_err(CoreError::from).and_then(|r| r))
            .collect::<Result<Vec<_>>>()?;
        // A person met lately through a record merged into them is not to see again.
        let mut rows = as_merged(&conn, rows)?;
        rows.retain(|p| {
            p.last_seen_at
                .is_none_or(|t| t.timestamp_millis() <= cutoff)
        });
        Ok(rows)
    }

    /// The services and the place of the `limit` most recent encounters, the most recent
    /// first: what an encounter form offers first.
    pub fn recent_encounter_facts(
        &self,
        limit: usize,
    ) -> Result<Vec<(Vec<String>, Option<String>)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT services, place FROM encounters ORDER BY occurred_at DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit.min(100_000)).unwrap_or(100_000);
        let rows = stmt.query_map([limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        rows.map(|r| {
            let (services, place) = r?;
            let services = services
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            Ok((services, place))
        })
        .collect()
    }

    /// How many persons are on the active list.
    pub fn active_person_count(&self) -> Result<u64> {
        let count: i64 = self
            .lock()
            .prepare_cached(
                "SELECT count(*) FROM persons WHERE status IS NOT 'inactive' AND merged_root IS NULL",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(count.max(0) as u64)
    }

    /// The active persons with a follow-up action still to do, the one due earliest first
    /// (actions with no due date after the dated ones), each with that action's title and due
    /// day.
    pub fn persons_with_open_actions(&self, limit: usize) -> Result<Vec<OpenFollowUp>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT a.person_id, a.title, a.due_at FROM actions a
             JOIN persons p ON p.record_id = a.person_id
             WHERE a.status = 'todo' AND p.status IS NOT 'inactive'
             ORDER BY a.due_at IS NULL, a.due_at, a.created_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let groups = Groups::load(&conn)?;
        let mut out: Vec<OpenFollowUp> = Vec::new();
        for row in rows {
            let (id, title, due) = row?;
            let id =
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
            // A follow-up of a record merged into another is that person's.
            let id = groups.root(id);
            if out.iter().any(|o| o.person.id == id) {
                continue;
            }
            let due = due.as_deref().and_then(crate::model::fields::parse_date);
            let mut person = [summary(&conn, id)?];
            groups.complete(&conn, &mut person)?;
            let [person] = person;
            out.push(OpenFollowUp { person, title, due });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The active persons on the alert list (an alert level other than `none`), the longest
    /// unseen first.
    pub fn persons_on_alert(&self, limit: usize) -> Result<Vec<PersonSummary>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT * FROM (
                SELECT {PERSON_COLUMNS}, {LAST_SEEN}, p.created_at AS created
                FROM persons p
                WHERE p.status IS NOT 'inactive'
                  AND coalesce(p.alert_level, 'none') NOT IN ('', 'none'))
             ORDER BY coalesce(last_seen, created), created LIMIT ?1"
        ))?;
        let limit = i64::try_from(limit.min(100_000)).unwrap_or(100_000);
        let rows = stmt.query_map([limit], person_row)?;
        let rows = rows
            .map(|r| r.map_err(CoreError::from).and_then(|r| r))
            .collect::<Result<Vec<_>>>()?;
        // A record merged into another puts that person on the list.
        as_merged(&conn, rows)
    }

    /// Every pair of active persons likely to be one, the pair recorded first first.
    pub fn likely_duplicates(&self) -> Result<Vec<LikelyDuplicate>> {
        let conn = self.lock();
        let persons = active_names(&conn)?;
        // Persons by each folded name: only persons sharing a name are ever compared.
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in persons.iter().enumerate() {
            for name in &p.names {
                by_name.entry(name).or_default().push(i);
            }
        }
        let mut pairs: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        for (name, group) in by_name.iter().filter(|(_, g)| g.len() <= COMMON_NAME) {
            for (n, &a) in group.iter().enumerate() {
                for &b in &group[n + 1..] {
                    if close_years(persons[a].birth_year, persons[b].birth_year) {
                        pairs.entry((a, b)).or_default().push(name.to_string());
                    }
                }
            }
        }
        pairs
            .into_iter()
            .map(|((a, b), shared)| {
                let (a, b) = (&persons[a], &persons[b]);
                Ok(LikelyDuplicate {
                    persons: [summary(&conn, a.id)?, summary(&conn, b.id)?],
                    shared,
                    birth_years: [a.birth_year, b.birth_year],
                })
            })
            .collect()
    }

    /// The active persons a new person with this name, nickname and birth year would likely
    /// duplicate, the most recently met first, at most [`HINTS`]: what a creation form shows
    /// while the worker types.
    pub fn duplicate_hints(
        &self,
        name: Option<&str>,
        nickname: Option<&str>,
        birth_year: Option<i64>,
    ) -> Result<Vec<PersonSummary>> {
        let typed: BTreeSet<String> = [name, nickname]
            .into_iter()
            .flatten()
            .map(fold)
            .filter(|n| !n.is_empty())
            .collect();
        if typed.is_empty() {
            return Ok(Vec::new());
        }
        // Only the rows holding one of the typed names whole are read (the index row joins a
        // person's folded names with " | "): a keystroke reads a few rows, not every person.
        let like = |name: &str| {
            let escaped = name
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("% | {escaped} | %")
        };
        let patterns: Vec<String> = typed.iter().map(|n| like(n)).collect();
        let clauses = (1..=patterns.len())
            .map(|i| format!("(' | ' || p.search || ' | ') LIKE ?{i} ESCAPE '\\'"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let year = patterns.len() + 1;
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PERSON_COLUMNS}, {LAST_SEEN} FROM persons p
             WHERE p.status IS NOT 'inactive' AND ({clauses})
               AND (?{year} IS NULL OR p.birth_year IS NULL
                    OR abs(p.birth_year - ?{year}) <= {BIRTH_YEAR_SLACK})
             ORDER BY last_seen IS NULL, last_seen DESC, p.created_at DESC LIMIT {HINTS}"
        ))?;
        let mut args: Vec<rusqlite::types::Value> = patterns
            .into_iter()
            .map(rusqlite::types::Value::Text)
            .collect();
        args.push(birth_year.map_or(
            rusqlite::types::Value::Null,
            rusqlite::types::Value::Integer,
        ));
        let rows = stmt.query_map(rusqlite::params_from_iter(args), person_row)?;
        let rows = rows
            .map(|r| r.map_err(CoreError::from).and_then(|r| r))
            .collect::<Result<Vec<_>>>()?;
        // A hint names the person a merged record stands as.
        as_merged(&conn, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_row_gives_each_folded_name_once() {
        let names = names_of("karim | le grand | karim | kader");
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["kader", "karim", "le grand"]
        );
        assert!(names_of("").is_empty());
    }

    #[test]
    fn birth_years_are_close_within_the_slack_or_when_one_is_unknown() {
        assert!(close_years(Some(1980), Some(1982)));
        assert!(!close_years(Some(1980), Some(1983)));
        assert!(close_years(None, Some(1983)));
    }
}
