//! Reads: records by id, and the lists (persons, due actions, devices) read from the index
//! tables without loading a document.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::Reader;
use crate::model::fields::Kind;
use crate::model::{
    display_name, Action, Consent, Encounter, HealthContact, HealthNote, HealthProfile,
    Observation, Person, PersonSummary, Record, Referral,
};
use crate::text::fold;
use crate::{CoreError, DeviceId, RecordId, Result};

use super::*;

/// How to sort the person list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PersonSort {
    /// Most recently met first (never met last).
    #[default]
    RecentlySeen,
    /// By name (or nickname), alphabetically, ignoring accents and case.
    Name,
}

/// What person list to read.
#[derive(Clone, Debug)]
pub struct PersonQuery {
    /// Words to find in names, nicknames and other names (accent- and case-insensitive).
    pub search: Option<String>,
    pub sort: PersonSort,
    pub limit: usize,
    /// Include persons out of the active list.
    pub include_inactive: bool,
}

impl Default for PersonQuery {
    fn default() -> Self {
        PersonQuery {
            search: None,
            sort: PersonSort::RecentlySeen,
            limit: 50,
            include_inactive: false,
        }
    }
}

/// An action as listed in the due list.
#[derive(Clone, Debug, Serialize)]
pub struct DueAction {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub person_name: Option<String>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub due_at: Option<NaiveDate>,
    pub assigned_to: Option<String>,
    pub overdue: bool,
}

/// A device known from the roster.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    pub device: DeviceId,
    pub name: String,
    pub worker: String,
}

pub(super) const PERSON_COLUMNS: &str =
    "p.record_id, p.name, p.nickname, p.situation, p.alert_level, p.status";
/// A person's last meeting, through any record merged into them too (`merge.rs`): the lists
/// sort and cut by it in SQL, before the groups are completed.
pub(super) const LAST_SEEN: &str = "(SELECT max(t) FROM (
        SELECT max(occurred_at) AS t FROM encounter_persons e WHERE e.person_id = p.record_id
        UNION ALL
        SELECT max(e.occurred_at) FROM persons m
          JOIN encounter_persons e ON e.person_id = m.record_id
         WHERE m.merged_root = p.record_id)) AS last_seen";

/// A person's own last meeting (not their merged records'): where `Groups::complete` adds
/// those before anything is sorted or cut.
const OWN_LAST_SEEN: &str =
    "(SELECT max(occurred_at) FROM encounter_persons e WHERE e.person_id = p.record_id) AS last_seen";

type PersonRow = Result<PersonSummary>;

pub(super) fn person_row(r: &rusqlite::Row) -> rusqlite::Result<PersonRow> {
    let id: Vec<u8> = r.get(0)?;
    let name: Option<String> = r.get(1)?;
    let nickname: Option<String> = r.get(2)?;
    let seen: Option<i64> = r.get(6)?;
    Ok(RecordId::from_slice(&id)
        .ok_or_else(|| CoreError::corrupt("bad record id"))
        .map(|id| PersonSummary {
            id,
            display_name: display_name(name.as_deref(), nickname.as_deref()),
            name,
            nickname,
            situation: r.get(3).unwrap_or_default(),
            alert_level: r.get(4).unwrap_or_default(),
            status: r.get(5).unwrap_or_default(),
            last_seen_at: seen.and_then(DateTime::from_timestamp_millis),
        }))
}

/// The `LIKE` clauses (numbered from `?{first}`) and their arguments that keep the persons whose
/// index row holds every one of `words` (folded).
fn search_clauses(words: &[&str], first: usize) -> (Vec<String>, Vec<String>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    for word in words {
        args.push(format!("%{}%", like_escaped(word)));
        clauses.push(format!(
            "p.search LIKE ?{} ESCAPE '\\'",
            first + args.len() - 1
        ));
    }
    (clauses, args)
}

/// `text` with `LIKE`'s wildcards escaped (by `\`).
pub(super) fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What one pass over the persons' index rows finds for what was typed: how many rows there
/// are, the persons whose row holds every typed word, and those holding `whole` as one of their
/// names (the likely duplicates a creation form hints at, active persons only).
struct Scan {
    all: usize,
    matched: Vec<RecordId>,
    whole: Vec<RecordId>,
}

fn scan(conn: &Connection, words: &[&str], whole: Option<&str>) -> Result<Scan> {
    let (clauses, mut args) = search_clauses(words, 1);
    let whole_clause = match whole {
        Some(name) => {
            args.push(format!("% | {} | %", like_escaped(name)));
            format!(
                "(' | ' || p.search || ' | ') LIKE ?{} ESCAPE '\\' AND p.status IS NOT 'inactive'",
                args.len()
            )
        }
        None => "0".to_string(),
    };
    let sql = format!(
        "SELECT count(*),
                group_concat(CASE WHEN {} THEN hex(p.record_id) END),
                group_concat(CASE WHEN {whole_clause} THEN hex(p.record_id) END)
         FROM persons p INDEXED BY persons_search",
        if clauses.is_empty() {
            "1".to_string()
        } else {
            clauses.join(" AND ")
        }
    );
    let (all, matched, whole): (i64, Option<String>, Option<String>) =
        conn.prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
    let ids = |list: Option<String>| -> Vec<RecordId> {
        list.unwrap_or_default()
            .split(',')
            .filter_map(|hex| RecordId::from_slice(&super::index::decode_hex(hex)?))
            .collect()
    };
    Ok(Scan {
        all: all.max(0) as usize,
        matched: ids(matched),
        whole: ids(whole),
    })
}

/// Whether walking back through the encounters costs less than sorting `matched` of `all`
/// persons by their last meeting: sorting costs about `matched` lookups, the walk about
/// `limit × all / matched` (persons met, most of them skipped unread), each about as dear
/// (measured by the store bench).
fn walk_is_cheaper(matched: usize, all: usize, limit: usize) -> bool {
    matched > 4 * limit && matched.saturating_mul(matched) > limit * all
}

/// One person's summary with its last meeting, and when it was recorded (for sorting).
fn summary_row(conn: &Connection, id: RecordId) -> Result<Option<(PersonSummary, i64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS}, {OWN_LAST_SEEN}, p.created_at FROM persons p WHERE p.record_id = ?1"
    ))?;
    let found = stmt
        .query_row([id.as_bytes()], |r| {
            Ok((person_row(r)?, r.get::<_, i64>(7)?))
        })
        .optional()?;
    match found {
        Some((row, created)) => Ok(Some((row?, created))),
        None => Ok(None),
    }
}

/// The persons `ids` stand as (a record merged into another is that person, once), active ones
/// only unless `include_inactive`, completed by their merged records, the most recently met
/// first (then the most recently recorded), at most `limit`.
fn sorted_by_last_meeting(
    conn: &Connection,
    groups: &super::merge::Groups,
    ids: &[RecordId],
    include_inactive: bool,
    limit: usize,
) -> Result<Vec<PersonSummary>> {
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for id in ids {
        let root = groups.root(*id);
        if !seen.insert(root) {
            continue;
        }
        if let Some((p, created)) = summary_row(conn, root)? {
            if include_inactive || p.status.as_deref() != Some("inactive") {
                rows.push((p, created));
            }
        }
    }
    let mut out: Vec<PersonSummary> = rows.iter().map(|(p, _)| p.clone()).collect();
    groups.complete(conn, &mut out)?;
    let created: std::collections::HashMap<RecordId, i64> =
        rows.iter().map(|(p, c)| (p.id, *c)).collect();
    out.sort_by_key(|p| {
        (
            p.last_seen_at.is_none(),
            std::cmp::Reverse(p.last_seen_at),
            std::cmp::Reverse(created.get(&p.id).copied().unwrap_or(0)),
        )
    });
    out.truncate(limit);
    Ok(out)
}

/// The persons most recently met first, walking back through the encounters from now (so that
/// a long list is never sorted whole), then those never met, the most recently recorded first;
/// only those in `matching` (persons as they stand, merged records mapped), when given.
fn recent_persons(
    conn: &Connection,
    groups: &super::merge::Groups,
    limit: usize,
    include_inactive: bool,
    matching: Option<&std::collections::HashSet<RecordId>>,
) -> Result<Vec<PersonSummary>> {
    let mut out: Vec<PersonSummary> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut walk = conn
        .prepare_cached("SELECT occurred_at, persons FROM encounters ORDER BY occurred_at DESC")?;
    let mut person = conn.prepare_cached(&format!(
        "SELECT {PERSON_COLUMNS}, ?2 FROM persons p WHERE p.record_id = ?1"
    ))?;
    let mut rows = walk.query([])?;
    while out.len() < limit {
        let Some(row) = rows.next()? else { break };
        let at: i64 = row.get(0)?;
        let persons: String = row.get(1)?;
        for id in persons.split(',').filter(|s| !s.is_empty()) {
            let Ok(id) = id.parse::<RecordId>() else {
                continue;
            };
            // A person merged into another is met as that person.
            let id = groups.root(id);
            if out.len() >= limit || matching.is_some_and(|m| !m.contains(&id)) || !seen.insert(id)
            {
                continue;
            }
            let found = person
                .query_row(params![id.as_bytes(), at], person_row)
                .optional()?;
            if let Some(p) = found.transpose()? {
                if include_inactive || p.status.as_deref() != Some("inactive") {
                    out.push(p);
                }
            }
        }
    }
    if out.len() < limit {
        // Never met (a person met through a record merged into them was listed by the walk).
        let mut never = conn.prepare_cached(&format!(
            "SELECT {PERSON_COLUMNS}, NULL FROM persons p
             WHERE NOT EXISTS (SELECT 1 FROM encounter_persons e WHERE e.person_id = p.record_id)
               AND p.merged_root IS NULL AND (?1 OR p.status IS NOT 'inactive')
             ORDER BY p.created_at DESC"
        ))?;
        let mut rows = never.query([include_inactive])?;
        while out.len() < limit {
            let Some(row) = rows.next()? else { break };
            let p = person_row(row)??;
            if matching.is_none_or(|m| m.contains(&p.id)) && seen.insert(p.id) {
                out.push(p);
            }
        }
    }
    groups.complete(conn, &mut out)?;
    Ok(out)
}

impl Store {
    /// The kind of a record.
    pub fn kind_of(&self, id: RecordId) -> Result<Kind> {
        record_kind(&self.lock(), id)
    }

    pub(crate) fn read<T>(
        &self,
        id: RecordId,
        kind: Kind,
        read: impl FnOnce(&Reader) -> T,
    ) -> Result<T> {
        let conn = self.lock();
        let actual = record_kind(&conn, id)?;
        if actual != kind {
            return Err(CoreError::WrongKind {
                id,
                expected: kind.name(),
                actual: actual.name().to_string(),
            });
        }
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        if matches!(kind, Kind::Consent | Kind::PublishedReport) {
            // A consent decision or a published report is what its creation says (`index.rs`
            // indexes it so).
            let creation = crate::doc::creation_heads(&mut doc);
            doc = doc.fork_at(&creation)?;
        }
        Ok(read(&Reader::new(&doc)))
    }

    pub fn person(&self, id: RecordId) -> Result<Person> {
        self.read(id, Kind::Person, |r| Person::read(id, r))
    }

    pub fn encounter(&self, id: RecordId) -> Result<Encounter> {
        self.read(id, Kind::Encounter, |r| Encounter::read(id, r))
    }

    pub fn action(&self, id: RecordId) -> Result<Action> {
        self.read(id, Kind::Action, |r| Action::read(id, r))
    }

    pub fn referral(&self, id: RecordId) -> Result<Referral> {
        self.read(id, Kind::Referral, |r| Referral::read(id, r))
    }

    pub fn observation(&self, id: RecordId) -> Result<Observation> {
        self.read(id, Kind::Observation, |r| Observation::read(id, r))
    }

    pub fn consent(&self, id: RecordId) -> Result<Consent> {
        self.read(id, Kind::Consent, |r| Consent::read(id, r))
    }

    /// Every consent decision about `person`, the latest first (by the date of the decision,
    /// then by record id, which is time-ordered): the same order on every replica.
    pub fn consents(&self, person: RecordId) -> Result<Vec<Consent>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT record_id FROM consents WHERE person_id = ?1
                 ORDER BY decided_on DESC, record_id DESC",
            )?;
            let rows = stmt.query_map([person.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|id| {
                RecordId::from_slice(&id?).ok_or_else(|| CoreError::corrupt("bad record id"))
            })
            .collect::<Result<_>>()?
        };
        ids.into_iter().map(|id| self.consent(id)).collect()
    }

    /// The person's consent now: for each partner and category decided, the latest decision
    /// (see [`Store::consents`]), sorted by partner and category. A decision dated after
    /// tomorrow does not count yet: a device with a wrong clock, or a member's device that
    /// lies, cannot pin a consent against every later withdrawal.
    pub fn current_consents(&self, person: RecordId) -> Result<Vec<Consent>> {
        Ok(self.consent_now(self.consents(person)?))
    }

    /// The consent now among `decisions`, as [`Store::consents`] lists them (the latest first).
    pub fn consent_now(&self, decisions: Vec<Consent>) -> Vec<Consent> {
        let tomorrow = self.now().date_naive() + chrono::Duration::days(1);
        let mut seen = std::collections::BTreeMap::new();
        for c in decisions {
            if c.decided_on.is_some_and(|d| d > tomorrow) {
                continue;
            }
            let key = (c.partner.clone(), c.category.clone());
            seen.entry(key).or_insert(c);
        }
        seen.into_values().collect()
    }

    /// Any record, whatever its kind.
    pub fn record(&self, id: RecordId) -> Result<Record> {
        Ok(match self.kind_of(id)? {
            Kind::Person => Record::Person(self.person(id)?),
            Kind::Encounter => Record::Encounter(self.encounter(id)?),
            Kind::Action => Record::Action(self.action(id)?),
            Kind::Referral => Record::Referral(self.referral(id)?),
            Kind::Observation => Record::Observation(self.observation(id)?),
            Kind::Consent => Record::Consent(self.consent(id)?),
            Kind::HealthNote => {
                Record::HealthNote(self.read(id, Kind::HealthNote, |r| HealthNote::read(id, r))?)
            }
            Kind::HealthContact => {
                Record::HealthContact(
                    self.read(id, Kind::HealthContact, |r| HealthContact::read(id, r))?,
                )
            }
            Kind::HealthProfile => {
                Record::HealthProfile(
                    self.read(id, Kind::HealthProfile, |r| HealthProfile::read(id, r))?,
                )
            }
            Kind::Household => Record::Household(self.household(id)?),
            Kind::HouseholdMember => Record::HouseholdMember(self.household_member(id)?),
            Kind::JourneyPeriod => Record::JourneyPeriod(self.period(id)?),
            Kind::HousingApplication => Record::HousingApplication(self.application(id)?),
            Kind::Home => Record::Home(self.home(id)?),
            Kind::RiskSignal => Record::RiskSignal(self.risk_signal(id)?),
            Kind::HousingOffer => Record::HousingOffer(self.offer(id)?),
            Kind::Proposal => Record::Proposal(self.proposal(id)?),
            Kind::OwnView => Record::OwnView(self.own_view(id)?),
            Kind::PublishedReport => {
                return Err(CoreError::invalid(
                    "record",
                    "a published report is read with published_reports()",
                ))
            }
            Kind::Roster => {
                return Err(CoreError::invalid(
                    "record",
                    "the roster is read with devices()",
                ))
            }
            Kind::AccessLog => {
                return Err(CoreError::invalid(
                    "record",
                    "an access log is read with access_log()",
                ))
            }
            Kind::Projection | Kind::SharedAssessment | Kind::ErasureAck => {
                return Err(CoreError::invalid(
                    "record",
                    "a partnership's records are read with projection()",
                ))
            }
        })
    }

    /// Lists persons from the index (no document is loaded).
    pub fn list_persons(&self, query: &PersonQuery) -> Result<Vec<PersonSummary>> {
        let search = query.search.as_deref().map(fold).filter(|s| !s.is_empty());
        Ok(self.find_persons(query, search.as_deref(), None)?.0)
    }

    /// What a search screen shows for `text`: the active persons whose names hold every typed
    /// word, the most recently met first (at most `limit`), and apart the likely duplicates of
    /// the text as a name (as [`Store::duplicate_hints`] gives them, from two letters), both
    /// from one pass over the persons' index rows.
    pub fn search_persons(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<(Vec<PersonSummary>, Vec<PersonSummary>)> {
        let folded = fold(text);
        let folded = folded.trim();
        let query = PersonQuery {
            search: Some(folded.to_string()).filter(|s| !s.is_empty()),
            sort: PersonSort::RecentlySeen,
            limit,
            include_inactive: false,
        };
        let whole = (folded.chars().count() >= 2).then_some(folded);
        self.find_persons(&query, query.search.as_deref(), whole)
    }

    /// `list_persons` for the folded `search`, and the persons holding `whole` as one of their
    /// names (none when `None`).
    fn find_persons(
        &self,
        query: &PersonQuery,
        search: Option<&str>,
        whole: Option<&str>,
    ) -> Result<(Vec<PersonSummary>, Vec<PersonSummary>)> {
        let conn = self.lock();
        let limit = query.limit.min(100_000);
        let words: Vec<&str> = search
            .map(|s| s.split(' ').filter(|w| !w.is_empty()).collect())
            .unwrap_or_default();
        let groups = super::merge::Groups::load(&conn)?;
        if words.is_empty() {
            let found = if query.sort == PersonSort::RecentlySeen && limit <= 1_000 {
                recent_persons(&conn, &groups, limit, query.include_inactive, None)?
            } else {
                self.sorted_in_sql(&conn, &groups, query, &words, limit)?
            };
            return Ok((found, Vec::new()));
        }
        let found = scan(&conn, &words, whole)?;
        let hints = sorted_by_last_meeting(
            &conn,
            &groups,
            &found.whole,
            false,
            super::duplicates::HINTS,
        )?;
        if query.sort != PersonSort::RecentlySeen || limit > 1_000 {
            return Ok((
                self.sorted_in_sql(&conn, &groups, query, &words, limit)?,
                hints,
            ));
        }
        // Most recently met first: walked back from now when the words match so many persons
        // (a letter typed) that sorting them all by their last meeting costs more than the walk.
        let list = if walk_is_cheaper(found.matched.len(), found.all, limit) {
            let matching: std::collections::HashSet<RecordId> =
                found.matched.iter().map(|id| groups.root(*id)).collect();
            recent_persons(
                &conn,
                &groups,
                limit,
                query.include_inactive,
                Some(&matching),
            )?
        } else {
            sorted_by_last_meeting(
                &conn,
                &groups,
                &found.matched,
                query.include_inactive,
                limit,
            )?
        };
        Ok((list, hints))
    }

    /// The persons `words` match, sorted by SQLite (by name, or a list too long to walk).
    fn sorted_in_sql(
        &self,
        conn: &Connection,
        groups: &super::merge::Groups,
        query: &PersonQuery,
        words: &[&str],
        limit: usize,
    ) -> Result<Vec<PersonSummary>> {
        let (mut clauses, args) = search_clauses(words, 1);
        let mut sql = format!("SELECT {PERSON_COLUMNS}, {LAST_SEEN} FROM persons p");
        clauses.push("p.merged_root IS NULL".to_string());
        if !query.include_inactive {
            clauses.push("p.status IS NOT 'inactive'".to_string());
        }
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
        sql.push_str(match query.sort {
            PersonSort::RecentlySeen => {
                " ORDER BY last_seen IS NULL, last_seen DESC, p.created_at DESC"
            }
            PersonSort::Name => " ORDER BY p.search",
        });
        sql.push_str(&format!(" LIMIT {limit}"));
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), person_row)?;
        let mut out: Vec<PersonSummary> = rows
            .map(|r| r.map_err(CoreError::from).and_then(|r| r))
            .collect::<Result<_>>()?;
        if groups.is_empty() {
            return Ok(out);
        }
        // Merged persons found by a name only a record merged into them holds.
        if !words.is_empty() {
            let merged: Vec<RecordId> = scan(conn, words, None)?
                .matched
                .into_iter()
                .filter(|id| groups.is_merged(*id))
                .collect();
            for (p, _) in merged
                .into_iter()
                .map(|id| summary_row(conn, groups.root(id)))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
            {
                if !out.iter().any(|o| o.id == p.id)
                    && (query.include_inactive || p.status.as_deref() != Some("inactive"))
                {
                    out.push(p);
                }
            }
        }
        groups.complete(conn, &mut out)?;
        match query.sort {
            PersonSort::RecentlySeen => {
                out.sort_by_key(|p| (p.last_seen_at.is_none(), std::cmp::Reverse(p.last_seen_at)))
            }
            PersonSort::Name => out.sort_by_key(|p| fold(&p.display_name)),
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Open actions due on or before `by` (all open actions with a due date when `None`), oldest
    /// first, with the person's name.
    pub fn due_actions(&self, by: Option<NaiveDate>) -> Result<Vec<DueAction>> {
        let today = self.clock.now().date_naive();
        let by = by.map_or_else(
            || "9999-12-31".to_string(),
            |d| d.format("%Y-%m-%d").to_string(),
        );
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT a.record_id, a.person_id, p.name, p.nickname, a.title, a.category, a.due_at, a.assigned_to
             FROM actions a LEFT JOIN persons p ON p.record_id = a.person_id
             WHERE a.status = 'todo' AND a.due_at IS NOT NULL AND a.due_at <= ?1
             ORDER BY a.due_at",
        )?;
        let rows = stmt.query_map([by], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, person, name, nickname, title, category, due, assigned_to) = row?;
            let due_at = due.as_deref().and_then(crate::model::fields::parse_date);
            out.push(DueAction {
                id: RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?,
                person: person.as_deref().and_then(RecordId::from_slice),
                person_name: (name.is_some() || nickname.is_some())
                    .then(|| display_name(name.as_deref(), nickname.as_deref())),
                title,
                category,
                overdue: due_at.is_some_and(|d| d < today),
                due_at,
                assigned_to,
            });
        }
        Ok(out)
    }

    /// When the relay received the newest change written by `device` that reached this store
    /// (among the last 20,000 received), if any: what a coordinator sees before revoking it.
    pub fn last_change_from(&self, device: &DeviceId) -> Result<Option<DateTime<Utc>>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT relay_at, bytes FROM changes WHERE relay_at IS NOT NULL ORDER BY seq DESC LIMIT 20000",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let at: i64 = row.get(0)?;
            let bytes: Vec<u8> = row.get(1)?;
            if let Ok(change) = crate::doc::parse_change(&bytes) {
                if change.actor_id() == device.actor() {
                    return Ok(DateTime::from_timestamp_millis(at));
                }
            }
        }
        Ok(None)
    }

    /// The devices of the roster.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT device, name, worker FROM devices ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceInfo {
                device: DeviceId::from_bytes(&r.get::<_, Vec<u8>>(0)?),
                name: r.get(1)?,
                worker: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves the write-ahead log into the database file and empties it.
    pub fn checkpoint(&self) -> Result<()> {
        self.lock()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// How many local changes wait to be sent.
    pub fn pending_changes(&self) -> Result<u64> {
        super::sync_state::pending(&self.lock())
    }

    /// The record's Automerge document, as bytes any Automerge implementation loads.
    pub fn record_document(&self, id: RecordId) -> Result<Vec<u8>> {
        let conn = self.lock();
        record_kind(&conn, id)?;
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        Ok(doc.save())
    }

    /// The current heads of a record (hex change hashes, sorted): equal heads mean equal records.
    pub fn record_heads(&self, id: RecordId) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
        heads.sort();
        Ok(heads)
    }

    /// Every record id with its kind, in id order.
    pub fn record_ids(&self) -> Result<Vec<(RecordId, Kind)>> {
        all_records(&self.lock())
    }

    /// Finds persons by an id or by words of their names: the id must exist; words must match
    /// exactly one person.
    pub fn find_person(&self, id_or_name: &str) -> Result<RecordId> {
        if let Ok(id) = id_or_name.parse::<RecordId>() {
            let kind = self.kind_of(id)?;
            if kind != Kind::Person {
                return Err(CoreError::WrongKind {
                    id,
                    expected: "person",
                    actual: kind.name().into(),
                });
            }
            return Ok(id);
        }
        let found = self.list_persons(&PersonQuery {
            search: Some(id_or_name.to_string()),
            limit: 6,
            include_inactive: true,
            ..Default::default()
        })?;
        match found.as_slice() {
            [one] => Ok(one.id),
            [] => Err(CoreError::NoPersonMatches),
            many => Err(CoreError::AmbiguousPerson(
                many.iter().take(5).map(|p| p.id).collect(),
            )),
        }
    }
}

/// An encounter as the timeline shows it, read from the index.
pub(crate) struct EncounterRow {
    pub id: RecordId,
    pub occurred_at: i64,
    pub device: Vec<u8>,
    pub place: Option<String>,
    pub team: Option<String>,
    pub kind: Option<String>,
    pub services: String,
    pub workers: String,
    pub notes: Option<String>,
    pub follow_up: bool,
    pub anonymous_count: i64,
    pub persons: String,
}

/// The encounters where `person` was met, oldest first.
pub(crate) fn person_encounters(conn: &Connection, person: RecordId) -> Result<Vec<EncounterRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.record_id, e.occurred_at, e.device, e.place, e.team, e.encounter_kind, e.services,
                e.workers, e.notes, e.follow_up, e.anonymous_count, e.persons
         FROM encounter_persons ep JOIN encounters e ON e.occurred_at = ep.occurred_at AND e.record_id = ep.encounter_id
         WHERE ep.person_id = ?1 ORDER BY ep.occurred_at",
    )?;
    let rows = stmt.query_map([person.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            EncounterRow {
                id: person,
                occurred_at: r.get(1)?,
                device: r.get(2)?,
                place: r.get(3)?,
                team: r.get(4)?,
                kind: r.get(5)?,
                services: r.get(6)?,
                workers: r.get(7)?,
                notes: r.get(8)?,
                follow_up: r.get(9)?,
                anonymous_count: r.get(10)?,
                persons: r.get(11)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, mut row) = row?;
        row.id = RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        out.push(row);
    }
    Ok(out)
}

/// The actions, then the referrals, then the consent decisions about `person`, each in
/// creation order.
pub(crate) fn person_follow_ups(
    conn: &Connection,
    person: RecordId,
) -> Result<Vec<(RecordId, Kind)>> {
    let mut out = Vec::new();
    for (table, kind) in [
        ("actions", Kind::Action),
        ("referrals", Kind::Referral),
        ("consents", Kind::Consent),
        ("health_notes", Kind::HealthNote),
        ("health_contacts", Kind::HealthContact),
        ("health_profiles", Kind::HealthProfile),
        // In a partnership store, the "person" is a projection, and this is its assessment.
        ("shared_assessments", Kind::SharedAssessment),
        ("household_members", Kind::HouseholdMember),
        ("journey_periods", Kind::JourneyPeriod),
        ("housing_applications", Kind::HousingApplication),
        ("homes", Kind::Home),
        ("risk_signals", Kind::RiskSignal),
        ("proposals", Kind::Proposal),
        ("own_views", Kind::OwnView),
    ] {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT record_id FROM {table} WHERE person_id = ?1 ORDER BY created_at"
        ))?;
        let ids = stmt.query_map([person.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
        for id in ids {
            let id =
                RecordId::from_slice(&id?).ok_or_else(|| CoreError::corrupt("bad record id"))?;
            out.push((id, kind));
        }
    }
    Ok(out)
}

/// The fields in conflict: record, field, and when this device first saw the conflict.
pub(crate) fn conflict_rows(conn: &Connection) -> Result<Vec<(RecordId, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, field, since FROM conflicts ORDER BY since, record_id, field",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, field, since) = row?;
        let id = RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
        out.push((id, field, since));
    }
    Ok(out)
}
