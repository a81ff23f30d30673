//! Housing offers: homes prospected or offered by landlords, proposed to persons or households,
//! with what became of each proposal; the office's list of open offers and, for each, the
//! persons and households it could suit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::doc::Edit;
use crate::model::fields::{parse_date, Kind, Value};
use crate::model::housing::{Concerns, NewOffer, Offer, Proposal};
use crate::text::fold;
use crate::vocab::HOUSING_SITUATIONS;
use crate::{CoreError, RecordId, Result};

use super::housing::{id_of, member_on, member_rows};
use super::merge::Groups;
use super::Store;

/// An offer in the office's list.
#[derive(Clone, Debug, Serialize)]
pub struct OfferSummary {
    pub offer: Offer,
    pub proposals: usize,
    pub candidates: usize,
}

/// A proposal, with whom it was made to.
#[derive(Clone, Debug, Serialize)]
pub struct ProposalRow {
    pub proposal: Proposal,
    pub name: String,
}

/// A person or a household an offer could suit.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub concerns: Concerns,
    pub name: String,
    /// Persons who would live there.
    pub size: i64,
    /// The day their oldest open housing application was filed, if they have one.
    pub waiting_since: Option<NaiveDate>,
    /// They need a home accessible with reduced mobility (a need of theirs, or of a member's):
    /// only an offer marked accessible suits them.
    pub accessible: bool,
}

/// An offer with its proposals and who it could suit.
#[derive(Clone, Debug, Serialize)]
pub struct OfferView {
    pub offer: Offer,
    pub proposals: Vec<ProposalRow>,
    pub candidates: Vec<Candidate>,
}

/// A person row as the offers read it: id, name, nickname, situation, needs.
type WaitingPerson = (
    RecordId,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// The need of a home accessible with reduced mobility.
const ACCESSIBLE_HOME: &str = "accessible_home";

fn has_need(needs: &str, need: &str) -> bool {
    needs.split(',').any(|n| n == need)
}

/// Application statuses that still wait for a home.
const OPEN_APPLICATIONS: &[&str] = &["preparing", "filed", "in_review", "accepted"];

/// How many candidates an offer's page lists.
const CANDIDATES: usize = 50;

/// Persons a home of `rooms` rooms suits at most: two a room, a studio as one room.
fn fits(rooms: Option<i64>, size: i64) -> bool {
    rooms.is_none_or(|r| size <= 2 * r.max(1))
}

/// Whether `area` is among the `wished` ones (comma-separated, accents and case ignored), or
/// none is wished.
fn in_areas(area: Option<&str>, wished: &[String]) -> bool {
    if wished.is_empty() {
        return true;
    }
    let Some(area) = area.map(fold) else {
        return false;
    };
    wished
        .iter()
        .map(|w| fold(w.trim()))
        .filter(|w| !w.is_empty())
        .any(|w| area.contains(&w) || w.contains(&area))
}

impl Store {
    /// Records a housing offer, open.
    pub fn add_offer(&self, offer: &NewOffer) -> Result<RecordId> {
        self.create_record(Kind::HousingOffer, offer.edits())
    }

    pub fn offer(&self, id: RecordId) -> Result<Offer> {
        self.read(id, Kind::HousingOffer, |r| Offer::read(id, r))
    }

    pub fn proposal(&self, id: RecordId) -> Result<Proposal> {
        self.read(id, Kind::Proposal, |r| Proposal::read(id, r))
    }

    /// Proposes an open offer to a person or a household (once each, while a proposal waits).
    pub fn propose(
        &self,
        offer: RecordId,
        concerns: Concerns,
        on: Option<NaiveDate>,
    ) -> Result<RecordId> {
        let o = self.offer(offer)?;
        if o.status.as_deref() != Some("open") {
            return Err(CoreError::invalid("offer", "is not open"));
        }
        self.expect_concerns(&self.lock(), concerns)?;
        if self
            .proposals_of(offer)?
            .iter()
            .any(|p| p.concerns == Some(concerns) && p.outcome.as_deref() == Some("pending"))
        {
            return Err(CoreError::invalid(
                "offer",
                "is already proposed to them and waits for an answer",
            ));
        }
        self.create_record(
            Kind::Proposal,
            vec![
                Edit::Set("offer".into(), Value::Ref(offer)),
                concerns.edit(),
                Edit::Set(
                    "proposed_on".into(),
                    Value::Date(on.unwrap_or_else(|| self.now().date_naive())),
                ),
                Edit::Set("outcome".into(), Value::Code("pending".into())),
            ],
        )
    }

    /// Records what became of a proposal (and why); an accepted one fills its offer, in the
    /// same transaction.
    pub fn proposal_outcome(
        &self,
        id: RecordId,
        outcome: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        let p = self.proposal(id)?;
        let mut edits = vec![Edit::Set(
            "outcome".into(),
            Value::Code(outcome.trim().into()),
        )];
        if let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) {
            edits.push(Edit::Set("reason".into(), Value::Text(r.into())));
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.edit_in(&tx, id, Some(Kind::Proposal), &edits)?;
        if outcome.trim() == "accepted" {
            if let Some(offer) = p.offer {
                self.edit_in(
                    &tx,
                    offer,
                    Some(Kind::HousingOffer),
                    &[Edit::Set("status".into(), Value::Code("filled".into()))],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn proposals_of(&self, offer: RecordId) -> Result<Vec<Proposal>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT record_id FROM proposals WHERE offer_id = ?1 ORDER BY proposed_on, record_id",
            )?;
            let rows = stmt.query_map([offer.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| id_of(&r?)).collect::<Result<_>>()?
        };
        ids.into_iter().map(|id| self.proposal(id)).collect()
    }

    /// The offers, the open ones first (the soonest available first), each with how many
    /// proposals it had and how many it could suit.
    pub fn offers(&self, open_only: bool) -> Result<Vec<OfferSummary>> {
        let ids: Vec<RecordId> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT record_id FROM housing_offers
                  WHERE (?1 = 0 OR status = 'open')
                  ORDER BY status != 'open', available_from, record_id",
            )?;
            let rows = stmt.query_map([open_only], |r| r.get::<_, Vec<u8>>(0))?;
            rows.map(|r| id_of(&r?)).collect::<Result<_>>()?
        };
        let units = self.waiting_units()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let offer = self.offer(id)?;
            let proposals = self.proposals_of(id)?;
            let candidates = if offer.status.as_deref() == Some("open") {
                self.suiting(&offer, &proposals, &units).len()
            } else {
                0
            };
            out.push(OfferSummary {
                offer,
                proposals: proposals.len(),
                candidates,
            });
        }
        Ok(out)
    }

    /// An offer, its proposals and whom it could suit.
    pub fn offer_view(&self, id: RecordId) -> Result<OfferView> {
        let offer = self.offer(id)?;
        let proposals = self.proposals_of(id)?;
        let candidates = if offer.status.as_deref() == Some("open") {
            let units = self.waiting_units()?;
            self.suiting(&offer, &proposals, &units)
        } else {
            Vec::new()
        };
        let mut rows = Vec::with_capacity(proposals.len());
        for p in proposals {
            let name = match p.concerns {
                Some(c) => self.concerns_name(c)?,
                None => String::new(),
            };
            rows.push(ProposalRow { proposal: p, name });
        }
        Ok(OfferView {
            offer,
            proposals: rows,
            candidates,
        })
    }

    /// Those who wait for a home: the households with members today and the persons in no
    /// household, who have an open housing application or a need of housing and are not
    /// housed now; with their size, the areas their applications wish for, and the day of
    /// their oldest open application.
    fn waiting_units(&self) -> Result<Vec<(Candidate, Vec<String>)>> {
        let today = self.now().date_naive();
        let conn = self.lock();
        let groups = Groups::load(&conn)?;
        // Open applications by person and by household: (oldest filed day, areas).
        let mut applied: BTreeMap<Concerns, (Option<NaiveDate>, Vec<String>)> = BTreeMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT person_id, household_id, filed_on, areas, status FROM housing_applications",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Option<Vec<u8>>>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            for row in rows {
                let (person, household, filed, areas, status) = row?;
                if !status
                    .as_deref()
                    .is_some_and(|s| OPEN_APPLICATIONS.contains(&s))
                {
                    continue;
                }
                let concerns = match (person, household) {
                    (Some(p), _) => Concerns::Person(groups.root(id_of(&p)?)),
                    (None, Some(h)) => Concerns::Household(id_of(&h)?),
                    _ => continue,
                };
                let entry = applied.entry(concerns).or_default();
                let filed = filed.as_deref().and_then(parse_date);
                entry.0 = match (entry.0, filed) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                entry.1.extend(
                    areas
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_string),
                );
            }
        }
        // Households today, and who is in one.
        let mut in_household: BTreeSet<RecordId> = BTreeSet::new();
        let mut households: Vec<(RecordId, String, i64, Vec<RecordId>)> = Vec::new();
        {
            let mut stmt =
                conn.prepare_cached("SELECT record_id, label, unrecorded_members FROM households")?;
            let rows: Vec<(Vec<u8>, Option<String>, Option<i64>)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, label, unrecorded) in rows {
                let id = id_of(&id)?;
                let members: Vec<RecordId> = member_rows(&conn, Some(("household_id", id)))?
                    .into_iter()
                    .filter(|(_, _, _, _, joined, left)| member_on(*joined, *left, today))
                    .map(|(_, _, p, ..)| groups.root(p))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if members.is_empty() {
                    continue;
                }
                in_household.extend(members.iter().copied());
                let size = members.len() as i64 + unrecorded.unwrap_or(0);
                households.push((id, label.unwrap_or_default(), size, members));
            }
        }
        // Persons standing for themselves, with their name, situation and needs.
        let mut persons: Vec<WaitingPerson> = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT record_id, name, nickname, situation, needs FROM persons
                  WHERE merged_root IS NULL AND (status IS NULL OR status != 'inactive')",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            for row in rows {
                let (id, name, nickname, situation, needs) = row?;
                persons.push((
                    id_of(&id)?,
                    name,
                    nickname,
                    situation,
                    needs.unwrap_or_default(),
                ));
            }
        }
        let housed = |s: &Option<String>| {
            s.as_deref()
                .is_some_and(|s| HOUSING_SITUATIONS.contains(&s))
        };
        let situation_of: BTreeMap<RecordId, Option<String>> =
            persons.iter().map(|p| (p.0, p.3.clone())).collect();
        // Needed on any record of a person (those merged into them too, as their needs are
        // combined) and by any member today, whatever their status.
        let mut accessible_for: BTreeSet<RecordId> = BTreeSet::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT record_id, needs FROM persons WHERE needs LIKE '%accessible_home%'",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            for row in rows {
                let (id, needs) = row?;
                if has_need(&needs.unwrap_or_default(), ACCESSIBLE_HOME) {
                    accessible_for.insert(groups.root(id_of(&id)?));
                }
            }
        }
        let mut out = Vec::new();
        for (id, label, size, members) in households {
            let key = Concerns::Household(id);
            let application = applied.get(&key);
            let needs = application.is_some()
                || members
                    .iter()
                    .any(|m| applied.contains_key(&Concerns::Person(*m)));
            let all_housed = members
                .iter()
                .all(|m| situation_of.get(m).is_some_and(housed));
            if !needs || all_housed {
                continue;
            }
            out.push((
                Candidate {
                    concerns: key,
                    name: label,
                    size,
                    waiting_since: application.and_then(|a| a.0),
                    accessible: members.iter().any(|m| accessible_for.contains(m)),
                },
                application.map(|a| a.1.clone()).unwrap_or_default(),
            ));
        }
        for (id, name, nickname, situation, needs) in persons {
            if in_household.contains(&id) || housed(&situation) {
                continue;
            }
            let key = Concerns::Person(id);
            let application = applied.get(&key);
            if application.is_none() && !has_need(&needs, "housing") {
                continue;
            }
            out.push((
                Candidate {
                    concerns: key,
                    name: crate::model::display_name(name.as_deref(), nickname.as_deref()),
                    size: 1,
                    waiting_since: application.and_then(|a| a.0),
                    accessible: accessible_for.contains(&id),
                },
                application.map(|a| a.1.clone()).unwrap_or_default(),
            ));
        }
        // Those waiting longest first, then those with no application, by name.
        out.sort_by(|a, b| {
            (
                a.0.waiting_since.is_none(),
                a.0.waiting_since,
                fold(&a.0.name),
            )
                .cmp(&(
                    b.0.waiting_since.is_none(),
                    b.0.waiting_since,
                    fold(&b.0.name),
                ))
        });
        Ok(out)
    }

    /// Whom an open offer could suit: size and wished areas fit, accessible for those who need
    /// it, not proposed it yet.
    fn suiting(
        &self,
        offer: &Offer,
        proposals: &[Proposal],
        units: &[(Candidate, Vec<String>)],
    ) -> Vec<Candidate> {
        let proposed: BTreeSet<Concerns> = proposals.iter().filter_map(|p| p.concerns).collect();
        units
            .iter()
            .filter(|(c, areas)| {
                fits(offer.rooms, c.size)
                    && in_areas(offer.area.as_deref(), areas)
                    && (!c.accessible || offer.accessible == Some(true))
                    && !proposed.contains(&c.concerns)
            })
            .take(CANDIDATES)
            .map(|(c, _)| c.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_holds_two_and_a_studio_is_one_room() {
        assert!(fits(Some(0), 2));
        assert!(!fits(Some(0), 3));
        assert!(fits(Some(2), 4));
        assert!(!fits(Some(2), 5));
        assert!(fits(None, 9));
    }

    #[test]
    fn wished_areas_match_either_way_accents_and_case_ignored() {
        let wished = vec!["Pantin".to_string(), " Bobigny ".to_string()];
        assert!(in_areas(
            Some("pantin, quartier des Courtillières"),
            &wished
        ));
        assert!(in_areas(Some("BOBIGNY"), &wished));
        assert!(!in_areas(Some("Saint-Denis"), &wished));
        assert!(!in_areas(None, &wished));
        assert!(in_areas(None, &[]));
    }
}
