//! Support at home (maintien dans le logement): a person's or a household's home once housed,
//! the home visits (encounters of the `home_visit` kind with the persons who live there), the
//! risks raised about a home and the actions that answer them, the homes at risk, and a home
//! lost opening the next period of the journey.

use chrono::NaiveDate;
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::doc::Edit;
use crate::model::fields::{parse_date, Kind, Value};
use crate::model::housing::{Concerns, Home, NewHome, NewPeriod, NewRiskSignal, RiskSignal};
use crate::model::{Action, Encounter, NewAction};
use crate::{CoreError, RecordId, Result};

use super::housing::{id_of, member_on, member_rows};
use super::{person_follow_ups, Store};

/// A home with what support at home made of it.
#[derive(Clone, Debug, Serialize)]
pub struct HomeView {
    pub home: Home,
    /// Who lives there (the person, or the household's name), and the persons it is about (the
    /// household's members then), whose files a reading of it reads.
    pub name: String,
    pub persons: Vec<RecordId>,
    /// Every risk raised, the open ones first.
    pub signals: Vec<RiskSignal>,
    /// The home visits since the entry, the latest first.
    pub visits: Vec<Encounter>,
    /// The actions that answer its risks.
    pub actions: Vec<Action>,
}

/// A home with an open risk, for the coordinator's list.
#[derive(Clone, Debug, Serialize)]
pub struct HomeAtRisk {
    pub home: RecordId,
    pub concerns: Option<Concerns>,
    pub name: String,
    pub landlord: Option<String>,
    pub address: Option<String>,
    /// The open risks, the oldest first.
    pub risks: Vec<RiskSignal>,
}

/// The home rows of the index: (home, person, household, entered, left).
type HomeRow = (
    RecordId,
    Option<RecordId>,
    Option<RecordId>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

fn home_rows(conn: &Connection, sql: &str, arg: Option<RecordId>) -> Result<Vec<HomeRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let map = |r: &rusqlite::Row| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Option<Vec<u8>>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    };
    let rows: Vec<_> = match arg {
        Some(id) => stmt
            .query_map([id.as_bytes()], map)?
            .collect::<rusqlite::Result<_>>()?,
        None => stmt.query_map([], map)?.collect::<rusqlite::Result<_>>()?,
    };
    rows.into_iter()
        .map(|(id, p, h, e, l)| {
            Ok((
                id_of(&id)?,
                p.as_deref().map(id_of).transpose()?,
                h.as_deref().map(id_of).transpose()?,
                e.as_deref().and_then(parse_date),
                l.as_deref().and_then(parse_date),
            ))
        })
        .collect()
}

const HOME_COLUMNS: &str = "record_id, person_id, household_id, entered_on, left_on";

impl Store {
    /// Records a home. With `situation` (social_housing, residence_sociale...), the journey gets
    /// the period it opens, from the day of entry, in the same transaction.
    pub fn add_home(&self, home: &NewHome, situation: Option<&str>) -> Result<RecordId> {
        super::purpose::check_kind(&self.purpose(), Kind::Home)?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.expect_concerns(&tx, home.concerns)?;
        let id = self.create_record_in(&tx, Kind::Home, home.edits())?;
        if let Some(situation) = situation.map(str::trim).filter(|s| !s.is_empty()) {
            let place = [home.landlord.as_deref(), home.address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            self.add_period_in(
                &tx,
                &NewPeriod {
                    concerns: home.concerns,
                    situation: situation.into(),
                    started_on: home.entered_on,
                    ended_on: None,
                    place: Some(place).filter(|p| !p.is_empty()),
                    end_reason: None,
                    notes: None,
                },
                Some("moved_on"),
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    pub fn home(&self, id: RecordId) -> Result<Home> {
        self.read(id, Kind::Home, |r| Home::read(id, r))
    }

    pub fn risk_signal(&self, id: RecordId) -> Result<RiskSignal> {
        self.read(id, Kind::RiskSignal, |r| RiskSignal::read(id, r))
    }

    /// The homes of a person (every record merged into them, and their households now) or of
    /// a household, or every home; the latest entry first.
    pub fn homes(&self, concerns: Option<Concerns>) -> Result<Vec<Home>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut rows = Vec::new();
            match concerns {
                Some(Concerns::Person(p)) => {
                    let today = self.now().date_naive();
                    for member in super::merge::Groups::load(&conn)?.group(p) {
                        rows.extend(home_rows(
                            &conn,
                            &format!("SELECT {HOME_COLUMNS} FROM homes WHERE person_id = ?1"),
                            Some(member),
                        )?);
                        for (_, h, _, _, joined, left) in
                            member_rows(&conn, Some(("person_id", member)))?
                        {
                            if member_on(joined, left, today) {
                                rows.extend(home_rows(
                                    &conn,
                                    &format!(
                                        "SELECT {HOME_COLUMNS} FROM homes WHERE household_id = ?1"
                                    ),
                                    Some(h),
                                )?);
                            }
                        }
                    }
                }
                Some(Concerns::Household(h)) => rows.extend(home_rows(
                    &conn,
                    &format!("SELECT {HOME_COLUMNS} FROM homes WHERE household_id = ?1"),
                    Some(h),
                )?),
                None => rows.extend(home_rows(
                    &conn,
                    &format!("SELECT {HOME_COLUMNS} FROM homes"),
                    None,
                )?),
            }
            rows.sort_by_key(|r| (std::cmp::Reverse(r.3), r.0));
            rows.dedup_by_key(|r| r.0);
            rows.into_iter().map(|r| r.0).collect()
        };
        ids.into_iter().map(|id| self.home(id)).collect()
    }

    /// The persons a home is about: its person, or its household's members on `day`.
    fn home_persons(&self, home: &Home, day: NaiveDate) -> Result<Vec<RecordId>> {
        Ok(match home.concerns {
            Some(Concerns::Person(p)) => vec![p],
            Some(Concerns::Household(h)) => member_rows(&self.lock(), Some(("household_id", h)))?
                .into_iter()
                .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, day))
                .map(|(_, _, p, ..)| p)
                .collect(),
            None => Vec::new(),
        })
    }

    /// Who lives in a home, as a list shows it.
    fn home_name(&self, home: &Home) -> Result<String> {
        match home.concerns {
            Some(c) => self.concerns_name(c),
            None => Ok(String::new()),
        }
    }

    /// The risks raised about a home, the open ones first, then the latest.
    fn signals_of(&self, home: RecordId) -> Result<Vec<RiskSignal>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt =
                conn.prepare_cached("SELECT record_id FROM risk_signals WHERE home_id = ?1")?;
            let rows = stmt.query_map([home.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| id_of(&r?)).collect::<Result<_>>()?
        };
        let mut out: Vec<RiskSignal> = ids
            .into_iter()
            .map(|id| self.risk_signal(id))
            .collect::<Result<_>>()?;
        out.sort_by_key(|s| {
            (
                s.status.as_deref() != Some("open"),
                std::cmp::Reverse(s.raised_on),
                s.id,
            )
        });
        Ok(out)
    }

    /// A home with its risks, the home visits since its entry and the actions that answer
    /// its risks.
    pub fn home_view(&self, id: RecordId) -> Result<HomeView> {
        let home = self.home(id)?;
        let signals = self.signals_of(id)?;
        let today = self.now().date_naive();
        let persons = self.home_persons(&home, home.left_on.unwrap_or(today))?;
        let (from, to) = (
            home.entered_on.map(crate::model::fields::date_ms),
            home.left_on
                .map(|d| crate::model::fields::date_ms(d + chrono::Duration::days(1))),
        );
        let mut visits = Vec::new();
        let mut actions = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for person in &persons {
            let (encounters, follow_ups) = {
                let conn = self.lock();
                let mut stmt = conn.prepare_cached(
                    "SELECT e.record_id FROM encounter_persons ep JOIN encounters e
                        ON e.occurred_at = ep.occurred_at AND e.record_id = ep.encounter_id
                      WHERE ep.person_id = ?1 AND e.encounter_kind = 'home_visit'
                        AND (?2 IS NULL OR ep.occurred_at >= ?2)
                        AND (?3 IS NULL OR ep.occurred_at < ?3)",
                )?;
                let rows = stmt.query_map(params![person.as_bytes(), from, to], |r| {
                    r.get::<_, Vec<u8>>(0)
                })?;
                let encounters: Vec<RecordId> = rows.map(|r| id_of(&r?)).collect::<Result<_>>()?;
                (encounters, person_follow_ups(&conn, *person)?)
            };
            for e in encounters {
                if seen.insert(e) {
                    visits.push(self.encounter(e)?);
                }
            }
            for (a, kind) in follow_ups {
                if kind != Kind::Action {
                    continue;
                }
                let action = self.action(a)?;
                if action
                    .signal
                    .is_some_and(|s| signals.iter().any(|x| x.id == s))
                {
                    actions.push(action);
                }
            }
        }
        visits.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
        Ok(HomeView {
            name: self.home_name(&home)?,
            persons,
            home,
            signals,
            visits,
            actions,
        })
    }

    /// Raises a risk about a home that is still lived in.
    pub fn raise_risk(&self, signal: &NewRiskSignal) -> Result<RecordId> {
        let home = self.home(signal.home)?;
        if home.left_on.is_some() {
            return Err(CoreError::invalid(
                "home",
                "was left: raise no risk about it",
            ));
        }
        let mut edits = vec![Edit::Set("home".into(), Value::Ref(signal.home))];
        if let Some(c) = home.concerns {
            edits.push(c.edit());
        }
        edits.push(Edit::Set(
            "risk".into(),
            Value::Code(signal.risk.trim().into()),
        ));
        edits.push(Edit::Set(
            "raised_on".into(),
            Value::Date(signal.raised_on.unwrap_or_else(|| self.now().date_naive())),
        ));
        for (field, value) in [("raised_by", &signal.raised_by), ("notes", &signal.notes)] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                edits.push(Edit::Set(field.into(), Value::Text(v.into())));
            }
        }
        edits.push(Edit::Set("status".into(), Value::Code("open".into())));
        self.create_record(Kind::RiskSignal, edits)
    }

    /// Marks a risk resolved, on `on` (today when not said).
    pub fn resolve_risk(
        &self,
        id: RecordId,
        on: Option<NaiveDate>,
        notes: Option<&str>,
    ) -> Result<()> {
        let mut edits = vec![
            Edit::Set("status".into(), Value::Code("resolved".into())),
            Edit::Set(
                "resolved_on".into(),
                Value::Date(on.unwrap_or_else(|| self.now().date_naive())),
            ),
        ];
        if let Some(n) = notes.map(str::trim).filter(|n| !n.is_empty()) {
            edits.push(Edit::Set("notes".into(), Value::Text(n.into())));
        }
        self.edit_kind(id, Some(Kind::RiskSignal), &edits)
    }

    /// An action that answers a risk: about the home's person (a household's reference
    /// person, or its first member today).
    pub fn add_risk_action(
        &self,
        signal: RecordId,
        title: &str,
        due_at: Option<NaiveDate>,
        assigned_to: Option<String>,
    ) -> Result<RecordId> {
        let s = self.risk_signal(signal)?;
        let home = self.home(s.home.ok_or(CoreError::RecordNotFound(signal))?)?;
        let today = self.now().date_naive();
        let person = match home.concerns {
            Some(Concerns::Person(p)) => Some(p),
            Some(Concerns::Household(h)) => {
                let members = member_rows(&self.lock(), Some(("household_id", h)))?;
                let now: Vec<_> = members
                    .into_iter()
                    .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, today))
                    .collect();
                now.iter()
                    .find(|m| m.3.as_deref() == Some("reference"))
                    .or(now.first())
                    .map(|m| m.2)
            }
            None => None,
        }
        .ok_or_else(|| CoreError::invalid("home", "nobody lives there now"))?;
        let mut edits = NewAction {
            person,
            title: title.into(),
            category: "other".into(),
            due_at,
            assigned_to,
        }
        .edits();
        edits.push(Edit::Set("signal".into(), Value::Ref(signal)));
        self.create_record(Kind::Action, edits)
    }

    /// The homes lived in with an open risk: the most risks first, then the oldest risk.
    pub fn homes_at_risk(&self) -> Result<Vec<HomeAtRisk>> {
        let homes: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT s.home_id FROM risk_signals s JOIN homes h ON h.record_id = s.home_id
                  WHERE s.status = 'open' AND h.left_on IS NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| id_of(&r?)).collect::<Result<_>>()?
        };
        let mut out = Vec::with_capacity(homes.len());
        for id in homes {
            let home = self.home(id)?;
            let mut risks: Vec<RiskSignal> = self
                .signals_of(id)?
                .into_iter()
                .filter(|s| s.status.as_deref() == Some("open"))
                .collect();
            risks.sort_by_key(|s| (s.raised_on, s.id));
            out.push(HomeAtRisk {
                home: id,
                concerns: home.concerns,
                name: self.home_name(&home)?,
                landlord: home.landlord,
                address: home.address,
                risks,
            });
        }
        out.sort_by_key(|h| {
            (
                std::cmp::Reverse(h.risks.len()),
                h.risks.first().and_then(|s| s.raised_on),
                h.home,
            )
        });
        Ok(out)
    }

    /// A home lost: left on `on` for `reason`, and the next period of the journey (`situation`,
    /// at `place` when known) opened that day with the same reason, in one transaction. The
    /// open risks stay as they were: what they said is in the home's history.
    pub fn home_lost(
        &self,
        id: RecordId,
        on: NaiveDate,
        reason: &str,
        situation: &str,
        place: Option<&str>,
    ) -> Result<RecordId> {
        let home = self.home(id)?;
        if home.left_on.is_some() {
            return Err(CoreError::invalid("home", "was left already"));
        }
        let concerns = home
            .concerns
            .ok_or_else(|| CoreError::invalid("home", "names no person or household"))?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.edit_in(
            &tx,
            id,
            Some(Kind::Home),
            &[
                Edit::Set("left_on".into(), Value::Date(on)),
                Edit::Set("left_reason".into(), Value::Code(reason.trim().into())),
            ],
        )?;
        let period = self.add_period_in(
            &tx,
            &NewPeriod {
                concerns,
                situation: situation.into(),
                started_on: on,
                ended_on: None,
                place: place.map(str::to_string),
                end_reason: None,
                notes: None,
            },
            Some(reason),
        )?;
        tx.commit()?;
        Ok(period)
    }
}
