//! What the activity report counts of households and housing journeys over one period: the
//! households met and their sizes, the moves out of the street, into a home and out of one (a
//! household's once), the days from first contact to a home, the applications filed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use crate::journey::{self, Move, Unit};
use crate::{RecordId, Result};

use super::housing::{day_of_ms, id_of, member_on, person_journey, MemberRow, Rows};
use super::merge::Groups;

/// Over this many journeys to read, the persons' rows and situation changes are read in one
/// pass each.
const BULK: usize = 500;

/// An own view's row: step, satisfaction, the answers (JSON), the person's teams.
type ViewRow = (Option<String>, Option<i64>, Option<String>, Option<String>);

/// A row naming a person or a household (one of the two is set).
type Concerned = (Option<Vec<u8>>, Option<Vec<u8>>);

/// What the activity report counts of households and journeys over one period.
#[derive(Default)]
pub(crate) struct HousingFigures {
    /// Households with a member met in the period, by their size then ("1" to "4", "5+").
    pub households_met: i64,
    pub household_sizes: BTreeMap<String, i64>,
    pub households_with_children: i64,
    /// Moves out of the street (street, squat, car), by where to; a household's once.
    pub street_exits: BTreeMap<String, i64>,
    /// Moves into a home, and out of one.
    pub housed: i64,
    pub homes_lost: i64,
    /// The median of the days from first contact to a home, over those housed in the period.
    pub days_to_housing: i64,
    /// Housing applications filed in the period, by kind.
    pub applications: BTreeMap<String, i64>,
    /// Home visits made (counted by `activity.rs` with the encounters), risks to homes raised
    /// (by kind), offers proposed (by outcome).
    pub home_visits: i64,
    pub risks: BTreeMap<String, i64>,
    pub proposals: BTreeMap<String, i64>,
    /// The organisation's fields of each household met, as indexed (JSON), for the report to
    /// count.
    pub household_custom: Vec<Option<String>>,
    /// The persons' own views recorded in the period: by step, by satisfaction ("1" to "5"),
    /// and their answers to the organisation's questions (JSON), for the report to count.
    pub own_views: BTreeMap<String, i64>,
    pub satisfaction: BTreeMap<String, i64>,
    pub own_view_custom: Vec<Option<String>>,
}

fn team_matches(teams: Option<&str>, team: Option<&str>) -> bool {
    match team {
        None => true,
        Some(t) => teams.unwrap_or_default().split(',').any(|x| x == t),
    }
}

/// The housing figures of `first..=last` for `team` (every team when none): `met` are the
/// persons met in the period (as the lists show them), with the day of their first meeting in
/// it.
pub(crate) fn housing_figures(
    conn: &Connection,
    index: &mut Rows,
    groups: &Groups,
    first: NaiveDate,
    last: NaiveDate,
    team: Option<&str>,
    met: &BTreeMap<RecordId, NaiveDate>,
) -> Result<HousingFigures> {
    let mut f = HousingFigures::default();
    let (from_s, to_s) = (first.to_string(), last.to_string());
    let teams_of = |person: RecordId| -> Result<Option<String>> {
        Ok(conn
            .prepare_cached("SELECT teams FROM persons WHERE record_id = ?1")?
            .query_row([person.as_bytes()], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    };

    // Households met: through a member met, as they were on the day of that meeting.
    let mut households: BTreeMap<RecordId, NaiveDate> = BTreeMap::new();
    for (person, day) in met {
        for member in groups.group(*person) {
            for (_, household, _, _, joined, left) in index.members("person_id", member)? {
                if member_on(joined, left, *day) {
                    households.entry(household).or_insert(*day);
                }
            }
        }
    }
    for (household, day) in &households {
        let (unrecorded, unrecorded_children, custom): (Option<i64>, Option<i64>, Option<String>) =
            conn.prepare_cached(
                "SELECT unrecorded_members, unrecorded_children, custom FROM households
                  WHERE record_id = ?1",
            )?
            .query_row([household.as_bytes()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?
            .unwrap_or((None, None, None));
        f.household_custom.push(custom);
        let members: Vec<MemberRow> = index
            .members("household_id", *household)?
            .into_iter()
            .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, *day))
            .collect();
        let persons: BTreeSet<RecordId> = members.iter().map(|m| groups.root(m.2)).collect();
        let size = persons.len() as i64 + unrecorded.unwrap_or(0);
        let bucket = if size >= 5 {
            "5+".to_string()
        } else {
            size.to_string()
        };
        f.households_met += 1;
        *f.household_sizes.entry(bucket).or_default() += 1;
        if unrecorded_children.unwrap_or(0) > 0
            || members.iter().any(|m| m.3.as_deref() == Some("child"))
        {
            f.households_with_children += 1;
        }
    }

    // Moves: the journeys of the persons whose journey may have a step beginning in the
    // period: a change of their situation, a period of theirs or of a household they belonged
    // to, or their arrival in a household or departure from one.
    let (start_ms, end_ms) = (
        crate::model::fields::date_ms(first),
        crate::model::fields::date_ms(last + chrono::Duration::days(1)),
    );
    let mut candidates: BTreeSet<RecordId> = BTreeSet::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT person_id FROM situation_changes WHERE at >= ?1 AND at < ?2",
        )?;
        for r in stmt.query_map(params![start_ms, end_ms], |r| r.get::<_, Vec<u8>>(0))? {
            candidates.insert(groups.root(id_of(&r?)?));
        }
        let mut stmt = conn.prepare_cached(
            "SELECT person_id FROM household_members
              WHERE (joined_on >= ?1 AND joined_on <= ?2) OR (left_on >= ?1 AND left_on <= ?2)",
        )?;
        for r in stmt.query_map(params![from_s, to_s], |r| r.get::<_, Option<Vec<u8>>>(0))? {
            if let Some(p) = r? {
                candidates.insert(groups.root(id_of(&p)?));
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT person_id, household_id FROM journey_periods
              WHERE started_on >= ?1 AND started_on <= ?2",
        )?;
        let rows: Vec<Concerned> = stmt
            .query_map(params![from_s, to_s], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (person, household) in rows {
            if let Some(p) = person {
                candidates.insert(groups.root(id_of(&p)?));
            }
            if let Some(h) = household {
                for (_, _, p, ..) in index.members("household_id", id_of(&h)?)? {
                    candidates.insert(groups.root(p));
                }
            }
        }
    }
    // Many journeys to read (a store just migrated, a seeded one): every person's row and
    // situation changes in one pass each rather than two queries a person.
    if candidates.len() > BULK {
        index.load_persons(conn)?;
    }
    let mut moves: BTreeSet<Move> = BTreeSet::new();
    let mut persons_of: BTreeMap<Unit, BTreeSet<RecordId>> = BTreeMap::new();
    for person in candidates {
        if groups.is_merged(person)
            || (team.is_some() && !team_matches(teams_of(person)?.as_deref(), team))
        {
            continue;
        }
        let steps = person_journey(conn, index, groups, person)?;
        for m in journey::moves(person, &steps, first, last) {
            persons_of.entry(m.unit).or_default().insert(person);
            moves.insert(m);
        }
    }
    // One move of a unit on a day into a situation, whatever its members came from (a
    // household's members may have come from different places): a street exit when one of
    // them came from the street, a move into a home when one came from elsewhere, a home lost
    // when one left a home.
    let mut by_move: BTreeMap<(NaiveDate, Unit, String), BTreeSet<String>> = BTreeMap::new();
    for m in moves {
        by_move
            .entry((m.on, m.unit, m.to))
            .or_default()
            .insert(m.from);
    }
    let mut days = Vec::new();
    for ((on, unit, to), from) in by_move {
        let any = |f: fn(&str) -> bool| from.iter().any(|s| f(s));
        if any(journey::is_street) && !journey::is_street(&to) {
            *f.street_exits.entry(to.clone()).or_default() += 1;
        }
        if journey::is_housing(&to) && any(|s| !journey::is_housing(s)) {
            f.housed += 1;
            let first_contact = first_contact(conn, groups, &persons_of[&unit])?;
            if let Some(contact) = first_contact {
                days.push((on - contact).num_days().max(0));
            }
        }
        if any(journey::is_housing) && !journey::is_housing(&to) {
            f.homes_lost += 1;
        }
    }
    days.sort_unstable();
    if !days.is_empty() {
        f.days_to_housing = days[(days.len() - 1) / 2];
    }

    // The persons' own views, in aggregate only.
    {
        let mut stmt = conn.prepare_cached(
            "SELECT v.step, v.satisfaction, v.custom, p.teams FROM own_views v
               LEFT JOIN persons p ON p.record_id = v.person_id
              WHERE v.on_day >= ?1 AND v.on_day <= ?2",
        )?;
        let rows: Vec<ViewRow> = stmt
            .query_map(params![from_s, to_s], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (step, satisfaction, custom, teams) in rows {
            if !team_matches(teams.as_deref(), team) {
                continue;
            }
            *f.own_views.entry(step.unwrap_or_default()).or_default() += 1;
            if let Some(s) = satisfaction {
                *f.satisfaction.entry(s.to_string()).or_default() += 1;
            }
            f.own_view_custom.push(custom);
        }
    }

    // Applications filed, risks to homes raised and offers proposed in the period, each by its
    // code; a household's counts for a team when one of its members is the team's.
    for (sql, map) in [
        (
            "SELECT application_kind, person_id, household_id FROM housing_applications
              WHERE filed_on >= ?1 AND filed_on <= ?2",
            &mut f.applications,
        ),
        (
            "SELECT risk, person_id, household_id FROM risk_signals
              WHERE raised_on >= ?1 AND raised_on <= ?2",
            &mut f.risks,
        ),
        (
            "SELECT outcome, person_id, household_id FROM proposals
              WHERE proposed_on >= ?1 AND proposed_on <= ?2",
            &mut f.proposals,
        ),
    ] {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows: Vec<(Option<String>, Concerned)> = stmt
            .query_map(params![from_s, to_s], |r| {
                Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (code, (person, household)) in rows {
            if team.is_some() {
                let persons: Vec<RecordId> = match (person, household) {
                    (Some(p), _) => vec![id_of(&p)?],
                    (None, Some(h)) => index
                        .members("household_id", id_of(&h)?)?
                        .into_iter()
                        .map(|m| m.2)
                        .collect(),
                    _ => Vec::new(),
                };
                let mut any = false;
                for p in persons {
                    any = any || team_matches(teams_of(p)?.as_deref(), team);
                }
                if !any {
                    continue;
                }
            }
            *map.entry(code.unwrap_or_default()).or_default() += 1;
        }
    }

    Ok(f)
}

/// The day of the first contact with any of `persons` (every record merged into them): their
/// first encounter, or their recording when they were never met.
fn first_contact(
    conn: &Connection,
    groups: &Groups,
    persons: &BTreeSet<RecordId>,
) -> Result<Option<NaiveDate>> {
    let mut first: Option<i64> = None;
    for person in persons {
        for member in groups.group(*person) {
            let (met, created): (Option<i64>, Option<i64>) = conn
                .prepare_cached(
                    "SELECT (SELECT min(occurred_at) FROM encounter_persons WHERE person_id = ?1),
                            (SELECT created_at FROM persons WHERE record_id = ?1)",
                )?
                .query_row([member.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for at in [met, created].into_iter().flatten() {
                first = Some(first.map_or(at, |f| f.min(at)));
            }
        }
    }
    Ok(first.and_then(day_of_ms))
}
