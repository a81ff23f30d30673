//! The exports of the housing journey: each person's journey as periods, households, homes,
//! housing applications, proposals of offered homes and the persons' own views, for one period.
//! Read from the index, under the same rules as the other exports (`export.rs`): pseudonyms
//! for ids, names and free text, days for times, and what reveals health or a conviction left
//! out. A step of a journey in hospital or prison (or in a situation of the organisation's own)
//! shows as `other`, with no place and no end reason: left out, its days would leave a hole in
//! the line that says when and how long the stay was.

use chrono::NaiveDate;
use rusqlite::{params, Connection};

use super::{Pseudonyms, Table};
use crate::journey::{self, Changes};
use crate::model::custom::CustomField;
use crate::model::fields::{date_ms, parse_date, Kind};
use crate::sensitive::custom_field_is_free_text;
use crate::store::housing::{id_of, member_on, member_rows, person_journey, recorded, Rows};
use crate::vocab::Vocab;
use crate::Result;

/// What one export of the housing journey reads: the period, its days as the index writes
/// them, and the organisation's fields.
pub(super) struct Period<'a> {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub defs: &'a [CustomField],
}

impl Period<'_> {
    fn days(&self) -> (String, String) {
        (
            self.from.format("%Y-%m-%d").to_string(),
            self.to.format("%Y-%m-%d").to_string(),
        )
    }
}

fn header(table: &mut Table, columns: &[&str], custom: &[CustomField]) {
    table.header = columns.iter().map(|c| c.to_string()).collect();
    table.header.extend(custom.iter().map(|d| d.path()));
}

fn day(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A situation as an export shows it, and whether it is left out: one left out shows as
/// `other`, so that its step keeps its days (see the module's doc).
fn situation(ps: &Pseudonyms, code: Option<String>) -> (String, bool) {
    match code {
        Some(c) if ps.hides(Vocab::Situation, &c) => ("other".into(), true),
        c => (c.unwrap_or_default(), false),
    }
}

/// A record's id cell, or empty (a period of a household names no person).
fn id_cell(ps: &Pseudonyms, prefix: &str, id: Option<Vec<u8>>) -> String {
    id.map(|id| ps.id(prefix, &id)).unwrap_or_default()
}

/// Each step of the journeys that overlap the period: the persons' (every record merged into
/// one person is that person), their own steps and their households' for the days they
/// belonged, in order.
pub(super) fn journeys(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    header(
        table,
        &[
            "person",
            "household",
            "situation",
            "from",
            "to",
            "place",
            "end_reason",
            "recorded",
        ],
        &[],
    );
    let mut rows = Rows::load(conn)?;
    rows.load_persons(conn)?;
    let persons: Vec<Vec<u8>> = conn
        .prepare_cached("SELECT record_id FROM persons WHERE merged_root IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for person in persons {
        let steps = person_journey(conn, &rows, &ps.merged, id_of(&person)?)?;
        for s in steps {
            // A step that ended on the period's first day is the day's move, not a stay in it.
            let overlaps = s.from <= period.to
                && s.to
                    .is_none_or(|t| t > period.from || s.from >= period.from);
            if !overlaps {
                continue;
            }
            let (code, hidden) = situation(ps, Some(s.situation));
            table.rows.push(vec![
                ps.id("P", &person),
                id_cell(ps, "H", s.household.map(|h| h.as_bytes().to_vec())),
                code,
                s.from.to_string(),
                day(s.to),
                if hidden {
                    String::new()
                } else {
                    ps.text(s.place)
                },
                ps.code(Vocab::PeriodEnd, s.end_reason),
                if s.period.is_some() { "yes" } else { "no" }.to_string(),
            ]);
        }
    }
    Ok(())
}

/// The households that had a member in the period or were recorded in it, as they were on
/// its last day: members, size, children, where they lived.
pub(super) fn households(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    let custom = ps.custom_columns(period.defs, Kind::Household);
    header(
        table,
        &[
            "id",
            "label",
            "members",
            "size",
            "children",
            "situation",
            "created_at",
        ],
        &custom,
    );
    let (start, end) = (
        date_ms(period.from),
        date_ms(period.to + chrono::Duration::days(1)),
    );
    type Row = (
        Vec<u8>,
        Option<String>,
        i64,
        i64,
        Option<i64>,
        Option<String>,
    );
    let households: Vec<Row> = conn
        .prepare_cached(
            "SELECT record_id, label, coalesce(unrecorded_members, 0),
                    coalesce(unrecorded_children, 0), created_at, custom
               FROM households ORDER BY created_at, record_id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, label, unrecorded, unrecorded_children, created_at, values) in households {
        let household = id_of(&id)?;
        let members = member_rows(conn, Some(("household_id", household)))?;
        let in_period = members.iter().any(|(_, _, _, _, joined, left)| {
            joined.is_none_or(|j| j <= period.to) && left.is_none_or(|l| l > period.from)
        });
        let recorded_in = created_at.is_some_and(|t| t >= start && t < end);
        if !in_period && !recorded_in {
            continue;
        }
        let last: Vec<_> = members
            .iter()
            .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, period.to))
            .collect();
        // Two records of one person merged are one member.
        let persons: std::collections::BTreeSet<crate::RecordId> = last
            .iter()
            .map(|(_, _, p, ..)| ps.merged.root(*p))
            .collect();
        let children = unrecorded_children > 0
            || last
                .iter()
                .any(|(_, _, _, relation, ..)| relation.as_deref() == Some("child"));
        let steps = journey::steps(
            recorded(conn, Some(("household_id", household)))?,
            &Changes::default(),
        );
        let situation = steps
            .iter()
            .rev()
            .find(|s| s.from <= period.to)
            .map(|s| s.situation.clone());
        let listed: Vec<String> = persons.iter().map(|p| p.to_string()).collect();
        let mut row = vec![
            ps.id("H", &id),
            ps.name(&id, label),
            ps.ids("P", &listed.join(",")),
            (persons.len() as i64 + unrecorded.max(0)).to_string(),
            if children { "yes" } else { "no" }.to_string(),
            self::situation(ps, situation).0,
            ps.time(created_at),
        ];
        row.extend(ps.custom_cells(&custom, values));
        table.rows.push(row);
    }
    Ok(())
}

/// The homes lived in during the period, with the risks raised about them in it.
pub(super) fn homes(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    let custom = ps.custom_columns(period.defs, Kind::Home);
    header(
        table,
        &[
            "id",
            "person",
            "household",
            "landlord",
            "entered_on",
            "left_on",
            "lease_kind",
            "risks",
        ],
        &custom,
    );
    let (from, to) = period.days();
    let mut stmt = conn.prepare_cached(
        "SELECT h.record_id, h.person_id, h.household_id, h.landlord, h.entered_on, h.left_on,
                h.lease_kind, h.custom,
                (SELECT group_concat(DISTINCT risk) FROM risk_signals r
                  WHERE r.home_id = h.record_id AND r.raised_on >= ?1 AND r.raised_on <= ?2)
           FROM homes h
          WHERE coalesce(h.entered_on, '') <= ?2 AND (h.left_on IS NULL OR h.left_on >= ?1)
          ORDER BY h.entered_on",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        // Each kind once, in the order of their codes.
        let risks: std::collections::BTreeSet<String> = r
            .get::<_, Option<String>>(8)?
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect();
        let mut row = vec![
            ps.id("L", &r.get::<_, Vec<u8>>(0)?),
            id_cell(ps, "P", r.get(1)?),
            id_cell(ps, "H", r.get(2)?),
            ps.text(r.get(3)?),
            r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            ps.code(Vocab::LeaseKind, r.get(6)?),
            ps.codes(Vocab::RiskKind, &Vec::from_iter(risks).join(",")),
        ];
        row.extend(ps.custom_cells(&custom, r.get(7)?));
        table.rows.push(row);
    }
    Ok(())
}

/// The housing applications filed in the period, or filed before its end and still waiting for
/// a home (as they stand today: the index keeps no past status).
pub(super) fn applications(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    header(
        table,
        &[
            "id",
            "person",
            "household",
            "kind",
            "number",
            "filed_on",
            "renew_by",
            "status",
            "areas",
        ],
        &[],
    );
    let (from, to) = period.days();
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, person_id, household_id, application_kind, number, filed_on,
                renew_by, status, areas
           FROM housing_applications
          WHERE (filed_on >= ?1 AND filed_on <= ?2)
             OR (coalesce(filed_on, '') <= ?2
                 AND coalesce(status, 'preparing')
                     IN ('preparing', 'filed', 'in_review', 'accepted'))
          ORDER BY filed_on",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        table.rows.push(vec![
            ps.id("D", &r.get::<_, Vec<u8>>(0)?),
            id_cell(ps, "P", r.get(1)?),
            id_cell(ps, "H", r.get(2)?),
            ps.code(Vocab::ApplicationKind, r.get(3)?),
            ps.text(r.get(4)?),
            r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            ps.code(Vocab::ApplicationStatus, r.get(7)?),
            // The areas wished for are typed: free text.
            ps.text(r.get(8)?),
        ]);
    }
    Ok(())
}

/// The homes offered that were proposed in the period, with the offer and the outcome.
pub(super) fn proposals(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    header(
        table,
        &[
            "id",
            "offer",
            "person",
            "household",
            "proposed_on",
            "outcome",
            "home_kind",
            "rooms",
            "rent",
            "area",
        ],
        &[],
    );
    let (from, to) = period.days();
    let mut stmt = conn.prepare_cached(
        "SELECT p.record_id, p.offer_id, p.person_id, p.household_id, p.proposed_on, p.outcome,
                o.home_kind, o.rooms, o.rent, o.area
           FROM proposals p LEFT JOIN housing_offers o ON o.record_id = p.offer_id
          WHERE p.proposed_on >= ?1 AND p.proposed_on <= ?2
          ORDER BY p.proposed_on",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    while let Some(r) = rows.next()? {
        table.rows.push(vec![
            ps.id("X", &r.get::<_, Vec<u8>>(0)?),
            id_cell(ps, "O", r.get(1)?),
            id_cell(ps, "P", r.get(2)?),
            id_cell(ps, "H", r.get(3)?),
            r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            ps.code(Vocab::ProposalOutcome, r.get(5)?),
            ps.code(Vocab::Situation, r.get(6)?),
            number(r.get(7)?),
            number(r.get(8)?),
            // The offer's area is typed: free text, which may say where the person now lives.
            ps.text(r.get(9)?),
        ]);
    }
    Ok(())
}

/// The persons' own views recorded in the period: the step, the satisfaction and the
/// organisation's questions but those answered in words; never their own words (theirs, or an
/// answer to a text question), which stay in the person's file.
pub(super) fn own_views(
    conn: &Connection,
    ps: &Pseudonyms,
    period: &Period,
    table: &mut Table,
) -> Result<()> {
    let mut custom = ps.custom_columns(period.defs, Kind::OwnView);
    custom.retain(|d| !custom_field_is_free_text(d));
    header(
        table,
        &["id", "person", "step", "on_day", "satisfaction"],
        &custom,
    );
    let (from, to) = period.days();
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, person_id, step, on_day, satisfaction, custom FROM own_views
          WHERE on_day >= ?1 AND on_day <= ?2 ORDER BY on_day",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let on_day: Option<String> = r.get(3)?;
        let mut row = vec![
            ps.id("V", &r.get::<_, Vec<u8>>(0)?),
            id_cell(ps, "P", r.get(1)?),
            ps.code(Vocab::ViewStep, r.get(2)?),
            day(on_day.as_deref().and_then(parse_date)),
            r.get::<_, Option<i64>>(4)?
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ];
        row.extend(ps.custom_cells(&custom, r.get(5)?));
        table.rows.push(row);
    }
    Ok(())
}
