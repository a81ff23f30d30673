//! The housing journey in the store: households and their members, journey periods and housing
//! applications written and read, a person's or a household's journey (`journey.rs`) read from
//! the index tables. What the activity report counts of them is in `housing_report.rs`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::doc::Edit;
use crate::journey::{self, Changes, JourneyStep, Recorded};
use crate::model::fields::{parse_date, Kind, Value};
use crate::model::housing::{
    Application, Concerns, Household, HouseholdMember, NewApplication, NewHousehold,
    NewHouseholdMember, NewPeriod, Period,
};
use crate::{CoreError, RecordId, Result};

use super::merge::Groups;
use super::{record_kind, Store};

/// A household in the office's list.
#[derive(Clone, Debug, Serialize)]
pub struct HouseholdSummary {
    pub id: RecordId,
    pub label: String,
    /// Its members now (recorded or not).
    pub size: i64,
    pub children: bool,
    pub members: Vec<MemberView>,
    /// The situation of its journey's last step, if it has one.
    pub situation: Option<String>,
}

/// A member of a household, now or earlier.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    pub membership: RecordId,
    pub person: RecordId,
    /// The person's name or nickname as the lists show it.
    pub name: String,
    pub relation: Option<String>,
    pub joined_on: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<String>,
}

/// A household with its members (those of today first, then those who left), its journey and
/// its housing applications.
#[derive(Clone, Debug, Serialize)]
pub struct HouseholdView {
    pub household: Household,
    pub size: i64,
    pub children: bool,
    pub members: Vec<MemberView>,
    pub journey: Vec<JourneyStep>,
    pub applications: Vec<Application>,
}

pub(super) use super::merge::id_of;

pub(super) fn day_of_ms(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// A membership row of the index: (membership, household, person, relation, joined, left).
pub(super) type MemberRow = (
    RecordId,
    RecordId,
    RecordId,
    Option<String>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// The `WHERE` clause and its argument for the rows of one person or household (`column` and
/// its id), or for every row.
fn rows_of(of: Option<(&str, RecordId)>) -> (String, Vec<Vec<u8>>) {
    match of {
        Some((column, id)) => (format!("WHERE {column} = ?1"), vec![id.as_bytes().to_vec()]),
        None => (String::new(), Vec::new()),
    }
}

/// The memberships of one person (`person_id`) or one household (`household_id`), or every
/// membership.
pub(super) fn member_rows(
    conn: &Connection,
    of: Option<(&str, RecordId)>,
) -> Result<Vec<MemberRow>> {
    let (filter, args) = rows_of(of);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT record_id, household_id, person_id, relation, joined_on, left_on
           FROM household_members {filter} ORDER BY joined_on, record_id"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, household, person, relation, joined, left) = row?;
        let (Some(household), Some(person)) = (household, person) else {
            continue;
        };
        out.push((
            id_of(&id)?,
            id_of(&household)?,
            id_of(&person)?,
            relation,
            joined.as_deref().and_then(parse_date),
            left.as_deref().and_then(parse_date),
        ));
    }
    Ok(out)
}

/// Whether a membership held on `day`.
pub(super) fn member_on(
    joined: Option<NaiveDate>,
    left: Option<NaiveDate>,
    day: NaiveDate,
) -> bool {
    joined.is_none_or(|j| j <= day) && left.is_none_or(|l| day < l)
}

/// The recorded periods of one person (`person_id`) or one household (`household_id`), or
/// every period.
pub(super) fn recorded(conn: &Connection, of: Option<(&str, RecordId)>) -> Result<Vec<Recorded>> {
    let (filter, args) = rows_of(of);
    let sql = format!(
        "SELECT record_id, situation, started_on, ended_on, place, end_reason, person_id,
                household_id
           FROM journey_periods {filter}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            (
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ),
            (
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ),
            r.get::<_, Option<String>>(5)?,
            (
                r.get::<_, Option<Vec<u8>>>(6)?,
                r.get::<_, Option<Vec<u8>>>(7)?,
            ),
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, (situation, from), (to, place), end_reason, (person, household)) = row?;
        // A period whose situation or start is missing (a conflict settled by clearing it, a
        // newer device's shape) is not a step of the line.
        let (Some(situation), Some(from)) = (situation, from.as_deref().and_then(parse_date))
        else {
            continue;
        };
        out.push(Recorded {
            id: id_of(&id)?,
            situation,
            from,
            to: to.as_deref().and_then(parse_date),
            place,
            end_reason,
            person: person.as_deref().map(id_of).transpose()?,
            household: household.as_deref().map(id_of).transpose()?,
            joined: false,
        });
    }
    Ok(out)
}

/// Where a journey's recorded periods and memberships are read from: the index one query at a
/// time (a person's page), or every row loaded once (the report, over many persons).
pub(crate) enum Rows<'a> {
    Query(&'a Connection),
    Loaded(Box<Loaded>),
}

/// Every period and membership row, by person and by household.
#[derive(Default)]
pub(crate) struct Loaded {
    periods_of_person: HashMap<RecordId, Vec<Recorded>>,
    periods_of_household: HashMap<RecordId, Vec<Recorded>>,
    memberships_of_person: HashMap<RecordId, Vec<MemberRow>>,
    members_of_household: HashMap<RecordId, Vec<MemberRow>>,
    persons: Option<HashMap<RecordId, PersonRow>>,
    changes: Option<HashMap<RecordId, Vec<ChangeRow>>>,
}

impl Rows<'_> {
    /// Every period and membership of the store, read once.
    pub(crate) fn load(conn: &Connection) -> Result<Rows<'static>> {
        let mut loaded = Loaded::default();
        for r in recorded(conn, None)? {
            let (person, household) = (r.person, r.household);
            if let Some(p) = person {
                loaded.periods_of_person.entry(p).or_default().push(r);
            } else if let Some(h) = household {
                loaded.periods_of_household.entry(h).or_default().push(r);
            }
        }
        for m in member_rows(conn, None)? {
            loaded
                .memberships_of_person
                .entry(m.2)
                .or_default()
                .push(m.clone());
            loaded.members_of_household.entry(m.1).or_default().push(m);
        }
        Ok(Rows::Loaded(Box::new(loaded)))
    }

    /// Loads every person's row and situation changes too, for a report over many persons'
    /// journeys (one query each would cost more).
    pub(crate) fn load_persons(&mut self, conn: &Connection) -> Result<()> {
        let Rows::Loaded(loaded) = self else {
            return Ok(());
        };
        if loaded.persons.is_some() {
            return Ok(());
        }
        let (mut persons, mut changes) = (HashMap::new(), HashMap::new());
        let mut stmt =
            conn.prepare_cached("SELECT record_id, created_at, situation FROM persons")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, (r.get(1)?, r.get(2)?)))
        })?;
        for row in rows {
            let (id, row) = row?;
            persons.insert(id_of(&id)?, row);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT person_id, at, from_situation, to_situation FROM situation_changes
              ORDER BY person_id, at, from_situation, to_situation",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        for row in rows {
            let (id, change) = row?;
            changes
                .entry(id_of(&id)?)
                .or_insert_with(Vec::new)
                .push(change);
        }
        loaded.persons = Some(persons);
        loaded.changes = Some(changes);
        Ok(())
    }

    fn situation_steps(&self, conn: &Connection, person: RecordId) -> Result<SituationSteps> {
        Ok(match self {
            Rows::Loaded(l) => match (&l.persons, &l.changes) {
                (Some(persons), Some(changes)) => situation_steps(
                    persons.get(&person).cloned(),
                    changes.get(&person).cloned().unwrap_or_default(),
                ),
                _ => situation_steps(person_row(conn, person)?, change_rows(conn, person)?),
            },
            Rows::Query(_) => {
                situation_steps(person_row(conn, person)?, change_rows(conn, person)?)
            }
        })
    }

    fn periods(&self, column: &str, id: RecordId) -> Result<Vec<Recorded>> {
        match self {
            Rows::Query(conn) => recorded(conn, Some((column, id))),
            Rows::Loaded(l) => {
                let map = if column == "person_id" {
                    &l.periods_of_person
                } else {
                    &l.periods_of_household
                };
                Ok(map.get(&id).cloned().unwrap_or_default())
            }
        }
    }

    pub(crate) fn members(&self, column: &str, id: RecordId) -> Result<Vec<MemberRow>> {
        match self {
            Rows::Query(conn) => member_rows(conn, Some((column, id))),
            Rows::Loaded(l) => {
                let map = if column == "person_id" {
                    &l.memberships_of_person
                } else {
                    &l.members_of_household
                };
                Ok(map.get(&id).cloned().unwrap_or_default())
            }
        }
    }
}

/// The journey of the person `person` resolves to: every record merged into them, their own
/// periods and those of the households they belonged to (each cut to the days they belonged).
pub(crate) fn person_journey(
    conn: &Connection,
    rows: &Rows,
    groups: &Groups,
    person: RecordId,
) -> Result<Vec<JourneyStep>> {
    journey_of(conn, rows, groups, person, true)
}

/// [`person_journey`], with or without the situation each record was created with (a weak
/// fact: what was typed when the record was made, which a past period recorded later may
/// correct).
fn journey_of(
    conn: &Connection,
    rows: &Rows,
    groups: &Groups,
    person: RecordId,
    with_creation: bool,
) -> Result<Vec<JourneyStep>> {
    let mut periods = Vec::new();
    let mut situation_steps: Vec<(i64, String)> = Vec::new();
    for member in groups.group(person) {
        periods.extend(rows.periods("person_id", member)?);
        for (_, household, _, _, joined, left) in rows.members("person_id", member)? {
            for mut p in rows.periods("household_id", household)? {
                let to = match (p.to, left) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let from = joined.map_or(p.from, |j| p.from.max(j));
                // Cut to the days they belonged, nothing left: a member who joined on the day the
                // household moved on lived none of the period before (a day of it would be a
                // move of theirs into it and out).
                let cut = from > p.from || to != p.to;
                if to.is_some_and(|to| to < from || (cut && to == from))
                    || left.is_some_and(|l| l <= from)
                {
                    continue;
                }
                p.joined = from > p.from;
                p.from = from;
                p.to = to;
                periods.push(p);
            }
        }
        let (created, changes) = rows.situation_steps(conn, member)?;
        if with_creation {
            situation_steps.extend(created);
        }
        situation_steps.extend(changes);
    }
    // Changes of several records merged into one person, in the order of their times.
    situation_steps.sort_by_key(|(at, _)| *at);
    let changes = Changes {
        steps: situation_steps
            .into_iter()
            .filter_map(|(at, s)| day_of_ms(at).map(|d| (d, s)))
            .collect(),
    };
    Ok(journey::steps(periods, &changes))
}

/// A person row as the journey reads it: when it was created, its situation now.
type PersonRow = (Option<i64>, Option<String>);

/// A situation change row: at, from, to.
type ChangeRow = (i64, String, String);

fn person_row(conn: &Connection, person: RecordId) -> Result<Option<PersonRow>> {
    Ok(conn
        .prepare_cached("SELECT created_at, situation FROM persons WHERE record_id = ?1")?
        .query_row([person.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn change_rows(conn: &Connection, person: RecordId) -> Result<Vec<ChangeRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, from_situation, to_situation FROM situation_changes WHERE person_id = ?1
          ORDER BY at, from_situation, to_situation",
    )?;
    let rows = stmt
        .query_map([person.as_bytes()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A person record's situation steps: the situation it was created with at its creation, and
/// each change, at the change's time.
type SituationSteps = (Option<(i64, String)>, Vec<(i64, String)>);

fn situation_steps(row: Option<PersonRow>, rows: Vec<ChangeRow>) -> SituationSteps {
    let Some((created, now)) = row else {
        return (None, Vec::new());
    };
    let rows = in_causal_order(rows);
    // The situation it was created with: the first change's `from` (none when that change
    // gave the first one), or the situation now when it never changed.
    let first = match rows.first() {
        Some((_, from, _)) => Some(from.clone()).filter(|f| !f.is_empty()),
        None => now,
    };
    let creation = created.zip(first);
    (
        creation,
        rows.into_iter().map(|(at, _, to)| (at, to)).collect(),
    )
}

/// Changes in the order of their times and, within one millisecond (several writes of one
/// transaction, or a clock that did not move), in the order they chain: a change from the
/// situation another left follows it. The same order on every replica: it reads the rows alone.
fn in_causal_order(mut rows: Vec<ChangeRow>) -> Vec<ChangeRow> {
    rows.sort();
    let mut out: Vec<ChangeRow> = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let j = rows[i..]
            .iter()
            .position(|r| r.0 != rows[i].0)
            .map_or(rows.len(), |n| i + n);
        let mut group: Vec<ChangeRow> = rows[i..j].to_vec();
        // Start from what the change before left (or from a change no other in the group
        // leads to), then follow the chain; what does not chain keeps its sorted order.
        let mut last = out.last().map(|r| r.2.clone());
        while !group.is_empty() {
            let next = last
                .as_ref()
                .and_then(|l| group.iter().position(|r| &r.1 == l))
                .or_else(|| {
                    group
                        .iter()
                        .position(|r| !group.iter().any(|o| o.2 == r.1 && o != r))
                })
                .unwrap_or(0);
            let row = group.remove(next);
            last = Some(row.2.clone());
            out.push(row);
        }
        i = j;
    }
    out
}

impl Store {
    /// Records a household.
    pub fn add_household(&self, household: &NewHousehold) -> Result<RecordId> {
        self.create_record(Kind::Household, household.edits())
    }

    pub fn household(&self, id: RecordId) -> Result<Household> {
        self.read(id, Kind::Household, |r| Household::read(id, r))
    }

    pub fn household_member(&self, id: RecordId) -> Result<HouseholdMember> {
        self.read(id, Kind::HouseholdMember, |r| HouseholdMember::read(id, r))
    }

    pub fn period(&self, id: RecordId) -> Result<Period> {
        self.read(id, Kind::JourneyPeriod, |r| Period::read(id, r))
    }

    pub fn application(&self, id: RecordId) -> Result<Application> {
        self.read(id, Kind::HousingApplication, |r| Application::read(id, r))
    }

    pub(super) fn expect_kind(&self, conn: &Connection, id: RecordId, kind: Kind) -> Result<()> {
        let actual = record_kind(conn, id)?;
        if actual != kind {
            return Err(CoreError::WrongKind {
                id,
                expected: kind.name(),
                actual: actual.name().to_string(),
            });
        }
        Ok(())
    }

    pub(super) fn expect_concerns(&self, conn: &Connection, concerns: Concerns) -> Result<()> {
        match concerns {
            Concerns::Person(p) => self.expect_kind(conn, p, Kind::Person),
            Concerns::Household(h) => self.expect_kind(conn, h, Kind::Household),
        }
    }

    /// Whom a record concerns, as a list shows them: the person's name or nickname (empty for
    /// one erased here), or the household's name.
    pub(super) fn concerns_name(&self, concerns: Concerns) -> Result<String> {
        Ok(match concerns {
            Concerns::Person(p) => match self.person(p) {
                Ok(person) => person.display_name(),
                Err(CoreError::RecordNotFound(_)) => String::new(),
                Err(e) => return Err(e),
            },
            Concerns::Household(h) => self.household(h)?.label.unwrap_or_default(),
        })
    }

    /// A person joins a household. Refused when they belong to it already.
    pub fn join_household(&self, membership: &NewHouseholdMember) -> Result<RecordId> {
        {
            let conn = self.lock();
            self.expect_kind(&conn, membership.household, Kind::Household)?;
            self.expect_kind(&conn, membership.person, Kind::Person)?;
            let today = self.now().date_naive();
            let day = membership.joined_on.unwrap_or(today);
            let already = member_rows(&conn, Some(("person_id", membership.person)))?
                .into_iter()
                .any(|(_, h, _, _, joined, left)| {
                    h == membership.household && (member_on(joined, left, day) || left.is_none())
                });
            if already {
                return Err(CoreError::invalid(
                    "person",
                    "already belongs to this household",
                ));
            }
        }
        self.create_record(
            Kind::HouseholdMember,
            membership.edits(self.now().date_naive()),
        )
    }

    /// A person leaves a household on `on` (today when not said), for `reason`.
    pub fn leave_household(
        &self,
        household: RecordId,
        person: RecordId,
        on: Option<NaiveDate>,
        reason: Option<&str>,
    ) -> Result<()> {
        let on = on.unwrap_or_else(|| self.now().date_naive());
        let mut edits = vec![Edit::Set("left_on".into(), Value::Date(on))];
        if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
            edits.push(Edit::Set("left_reason".into(), Value::Text(reason.into())));
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let open: Vec<RecordId> = member_rows(&tx, Some(("person_id", person)))?
            .into_iter()
            .filter(|(_, h, _, _, _, left)| *h == household && left.is_none())
            .map(|(id, ..)| id)
            .collect();
        if open.is_empty() {
            return Err(CoreError::invalid(
                "person",
                "does not belong to this household now",
            ));
        }
        for id in open {
            self.edit_in(&tx, id, Some(Kind::HouseholdMember), &edits)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every person who belongs or belonged to a household.
    pub(crate) fn household_persons(&self, household: RecordId) -> Result<Vec<RecordId>> {
        let rows = member_rows(&self.lock(), Some(("household_id", household)))?;
        let persons: BTreeSet<RecordId> = rows.into_iter().map(|(_, _, p, ..)| p).collect();
        Ok(persons.into_iter().collect())
    }

    /// The households a person belongs or belonged to: their memberships, the earliest first.
    pub fn person_households(&self, person: RecordId) -> Result<Vec<HouseholdMember>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let groups = Groups::load(&conn)?;
            let mut ids = Vec::new();
            for member in groups.group(person) {
                ids.extend(
                    member_rows(&conn, Some(("person_id", member)))?
                        .into_iter()
                        .map(|(id, ..)| id),
                );
            }
            ids
        };
        let mut out: Vec<HouseholdMember> = ids
            .into_iter()
            .map(|id| self.household_member(id))
            .collect::<Result<_>>()?;
        out.sort_by_key(|m| (m.joined_on, m.id));
        Ok(out)
    }

    /// The members of a household, those of today first (by relation, then arrival), then those
    /// who left (the latest first).
    fn members_of(&self, household: RecordId) -> Result<Vec<MemberView>> {
        let rows = member_rows(&self.lock(), Some(("household_id", household)))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, _, person, ..) in rows {
            let m = self.household_member(id)?;
            let name = match self.person(person) {
                Ok(p) => p.display_name(),
                Err(CoreError::RecordNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            out.push(MemberView {
                membership: id,
                person,
                name,
                relation: m.relation,
                joined_on: m.joined_on,
                left_on: m.left_on,
                left_reason: m.left_reason,
            });
        }
        let today = self.now().date_naive();
        let rank = |r: &Option<String>| match r.as_deref() {
            Some("reference") => 0,
            Some("partner") => 1,
            Some("child") => 3,
            _ => 2,
        };
        out.sort_by_key(|m| {
            let now = member_on(m.joined_on, m.left_on, today);
            (
                !now,
                if now { rank(&m.relation) } else { 0 },
                if now { m.joined_on } else { None },
                std::cmp::Reverse(m.left_on),
                m.membership,
            )
        });
        Ok(out)
    }

    /// A household's size and whether children are in it today: its members now and those not
    /// recorded as persons.
    fn size_of(&self, household: &Household, members: &[MemberView]) -> (i64, bool) {
        let today = self.now().date_naive();
        let now: Vec<&MemberView> = members
            .iter()
            .filter(|m| member_on(m.joined_on, m.left_on, today))
            .collect();
        let size = now.len() as i64 + household.unrecorded_members;
        let children = household.unrecorded_children > 0
            || now.iter().any(|m| m.relation.as_deref() == Some("child"));
        (size, children)
    }

    /// A household with its members, journey and applications.
    pub fn household_view(&self, id: RecordId) -> Result<HouseholdView> {
        let household = self.household(id)?;
        let members = self.members_of(id)?;
        let (size, children) = self.size_of(&household, &members);
        Ok(HouseholdView {
            journey: self.household_journey(id)?,
            applications: self.applications(Some(Concerns::Household(id)))?,
            household,
            size,
            children,
            members,
        })
    }

    /// Every household, by name, with its members of today.
    pub fn households(&self) -> Result<Vec<HouseholdSummary>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt =
                conn.prepare_cached("SELECT record_id FROM households ORDER BY label, record_id")?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| id_of(&r?)).collect::<Result<_>>()?
        };
        let today = self.now().date_naive();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let household = self.household(id)?;
            let members = self.members_of(id)?;
            let (size, children) = self.size_of(&household, &members);
            let situation = self
                .household_journey(id)?
                .last()
                .map(|s| s.situation.clone());
            out.push(HouseholdSummary {
                id,
                label: household.label.unwrap_or_default(),
                size,
                children,
                members: members
                    .into_iter()
                    .filter(|m| member_on(m.joined_on, m.left_on, today))
                    .collect(),
                situation,
            });
        }
        Ok(out)
    }

    /// Records a period of a journey. When it is open-ended and nothing recorded since says
    /// otherwise (no period of the same person or household starting after it, no change of
    /// their situation to another after its first day), it is their situation now: the open periods before
    /// it end on its first day (`previous_end` says why, when given), and the person's
    /// `situation` (each member's today, for a household) takes its situation. All in one
    /// transaction.
    pub fn add_period(&self, period: &NewPeriod, previous_end: Option<&str>) -> Result<RecordId> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let id = self.add_period_in(&tx, period, previous_end)?;
        tx.commit()?;
        Ok(id)
    }

    /// [`Store::add_period`] in the caller's transaction (a home lost ends it and opens the
    /// next period in one).
    pub(crate) fn add_period_in(
        &self,
        tx: &rusqlite::Transaction,
        period: &NewPeriod,
        previous_end: Option<&str>,
    ) -> Result<RecordId> {
        super::purpose::check_kind(&self.purpose(), Kind::JourneyPeriod)?;
        let previous_end = previous_end.map(str::trim).filter(|r| !r.is_empty());
        self.expect_concerns(tx, period.concerns)?;
        let id = self.create_record_in(tx, Kind::JourneyPeriod, period.edits())?;
        let (column, of) = match period.concerns {
            Concerns::Person(p) => ("person_id", p),
            Concerns::Household(h) => ("household_id", h),
        };
        let others: Vec<Recorded> = recorded(tx, Some((column, of)))?
            .into_iter()
            .filter(|r| r.id != id)
            .collect();
        let persons: Vec<RecordId> = match period.concerns {
            Concerns::Person(p) => vec![p],
            Concerns::Household(h) => {
                let today = self.now().date_naive();
                member_rows(tx, Some(("household_id", h)))?
                    .into_iter()
                    .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, today))
                    .map(|(_, _, p, ..)| p)
                    .collect()
            }
        };
        // It is the situation now when it is open-ended and nothing recorded since says
        // otherwise: no period of theirs starts after it, and no change of a person's
        // situation after its first day went elsewhere (a past period recorded late leaves
        // the situation a phone wrote since).
        let mut current =
            period.ended_on.is_none() && !others.iter().any(|r| r.from > period.started_on);
        if current {
            // Each person's journey with the new period: a step after it (a change of the
            // situation the periods do not account for, not the one typed at the record's
            // creation) says it is not the situation now.
            let groups = Groups::load(tx)?;
            for person in &persons {
                let steps = journey_of(tx, &Rows::Query(tx), &groups, *person, false)?;
                if steps
                    .iter()
                    .any(|s| s.period != Some(id) && s.from > period.started_on)
                {
                    current = false;
                }
            }
        }
        if current {
            for open in others
                .iter()
                .filter(|r| r.to.is_none() && r.from <= period.started_on)
            {
                let mut edits = vec![Edit::Set("ended_on".into(), Value::Date(period.started_on))];
                if let Some(reason) = previous_end {
                    edits.push(Edit::Set("end_reason".into(), Value::Code(reason.into())));
                }
                self.edit_in(tx, open.id, Some(Kind::JourneyPeriod), &edits)?;
            }
            for person in persons {
                let now: Option<String> = tx
                    .prepare_cached("SELECT situation FROM persons WHERE record_id = ?1")?
                    .query_row([person.as_bytes()], |r| r.get(0))
                    .optional()?
                    .flatten();
                if now.as_deref() != Some(period.situation.trim()) {
                    let edit = Edit::Set(
                        "situation".into(),
                        Value::Code(period.situation.trim().into()),
                    );
                    self.edit_in(tx, person, Some(Kind::Person), &[edit])?;
                }
            }
        }
        Ok(id)
    }

    /// The periods recorded for a person or a household, the earliest first.
    pub fn periods(&self, concerns: Concerns) -> Result<Vec<Period>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let (column, of) = match concerns {
                Concerns::Person(p) => ("person_id", p),
                Concerns::Household(h) => ("household_id", h),
            };
            let mut rows = recorded(&conn, Some((column, of)))?;
            rows.sort_by_key(|r| (r.from, r.id));
            rows.into_iter().map(|r| r.id).collect()
        };
        ids.into_iter().map(|id| self.period(id)).collect()
    }

    /// A person's housing journey as a line of steps (`journey.rs`), over every record merged
    /// into them and the households they belonged to.
    pub fn journey(&self, person: RecordId) -> Result<Vec<JourneyStep>> {
        let conn = self.lock();
        self.expect_kind(&conn, person, Kind::Person)?;
        let groups = Groups::load(&conn)?;
        person_journey(&conn, &Rows::Query(&conn), &groups, person)
    }

    /// A household's journey: its recorded periods.
    pub fn household_journey(&self, household: RecordId) -> Result<Vec<JourneyStep>> {
        let conn = self.lock();
        let periods = recorded(&conn, Some(("household_id", household)))?;
        Ok(journey::steps(periods, &Changes::default()))
    }

    /// Records a housing application.
    pub fn add_application(&self, application: &NewApplication) -> Result<RecordId> {
        self.expect_concerns(&self.lock(), application.concerns)?;
        self.create_record(
            Kind::HousingApplication,
            application.edits(self.now().date_naive()),
        )
    }

    /// Adds a step to a housing application (a document sent, a commission's date...).
    pub fn application_step(&self, id: RecordId, step: &str) -> Result<()> {
        let step = step.trim();
        if step.is_empty() {
            return Err(CoreError::invalid("steps", "the step is empty"));
        }
        self.edit_kind(
            id,
            Some(Kind::HousingApplication),
            &[Edit::Comment("steps".into(), step.into())],
        )
    }

    /// Records where a housing application stands, and its outcome.
    pub fn update_application(
        &self,
        id: RecordId,
        status: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<()> {
        let mut edits = Vec::new();
        if let Some(s) = status.map(str::trim).filter(|s| !s.is_empty()) {
            edits.push(Edit::Set("status".into(), Value::Code(s.into())));
        }
        if let Some(o) = outcome.map(str::trim).filter(|o| !o.is_empty()) {
            edits.push(Edit::Set("outcome".into(), Value::Text(o.into())));
        }
        if edits.is_empty() {
            return Err(CoreError::invalid(
                "application",
                "nothing to update: give a status or an outcome",
            ));
        }
        self.edit_kind(id, Some(Kind::HousingApplication), &edits)
    }

    /// The housing applications of a person (every record merged into them) or a household,
    /// or all of them; the latest filed first.
    pub fn applications(&self, concerns: Option<Concerns>) -> Result<Vec<Application>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let (sql, of): (&str, Vec<RecordId>) = match concerns {
                Some(Concerns::Person(p)) => (
                    "SELECT record_id FROM housing_applications WHERE person_id = ?1",
                    Groups::load(&conn)?.group(p),
                ),
                Some(Concerns::Household(h)) => (
                    "SELECT record_id FROM housing_applications WHERE household_id = ?1",
                    vec![h],
                ),
                None => ("SELECT record_id FROM housing_applications", Vec::new()),
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let mut ids = Vec::new();
            if of.is_empty() {
                for r in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
                    ids.push(id_of(&r?)?);
                }
            }
            for one in of {
                for r in stmt.query_map([one.as_bytes()], |r| r.get::<_, Vec<u8>>(0))? {
                    ids.push(id_of(&r?)?);
                }
            }
            ids
        };
        let mut out: Vec<Application> = ids
            .into_iter()
            .map(|id| self.application(id))
            .collect::<Result<_>>()?;
        out.sort_by_key(|a| (std::cmp::Reverse(a.filed_on), a.id));
        Ok(out)
    }
}
