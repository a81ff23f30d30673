//! The housing journey's records: households and their members, the periods of a journey and
//! housing applications. Inputs (`NewHousehold`...) become field edits like every other record's;
//! views (`Household`...) are read back from the documents.

use chrono::NaiveDate;
use serde::Serialize;

use super::fields::{Kind, Value};
use super::{code, get_date, get_int, get_text, set, text};
use crate::doc::{Comment, Edit, Reader};
use crate::RecordId;

/// Whom a journey period or a housing application is about: a person, or a household as a
/// whole (a household's move is one move, whatever its size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "of", content = "id", rename_all = "snake_case")]
pub enum Concerns {
    Person(RecordId),
    Household(RecordId),
}

impl Concerns {
    pub(crate) fn edit(self) -> Edit {
        match self {
            Concerns::Person(p) => Edit::Set("person".into(), Value::Ref(p)),
            Concerns::Household(h) => Edit::Set("household".into(), Value::Ref(h)),
        }
    }

    pub fn id(self) -> RecordId {
        match self {
            Concerns::Person(id) | Concerns::Household(id) => id,
        }
    }

    fn read(r: &Reader, kind: Kind) -> Option<Concerns> {
        let id = |field| get_text(r, kind, field).and_then(|s| s.parse().ok());
        match (id("person"), id("household")) {
            (Some(p), _) => Some(Concerns::Person(p)),
            (None, Some(h)) => Some(Concerns::Household(h)),
            _ => None,
        }
    }
}

/// A new household.
#[derive(Clone, Debug, Default)]
pub struct NewHousehold {
    pub label: String,
    /// Members not recorded as persons (a baby, a relative who stays elsewhere).
    pub unrecorded_members: Option<i64>,
    /// Of whom children.
    pub unrecorded_children: Option<i64>,
    pub pets: Option<String>,
    pub notes: Option<String>,
}

impl NewHousehold {
    pub(crate) fn edits(&self) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "label", text(&Some(self.label.clone())));
        set(
            &mut e,
            "unrecorded_members",
            self.unrecorded_members.map(Value::Int),
        );
        set(
            &mut e,
            "unrecorded_children",
            self.unrecorded_children.map(Value::Int),
        );
        set(&mut e, "pets", text(&self.pets));
        set(&mut e, "notes", text(&self.notes));
        e
    }
}

/// A person joining a household.
#[derive(Clone, Debug)]
pub struct NewHouseholdMember {
    pub household: RecordId,
    pub person: RecordId,
    pub relation: String,
    /// Today when not said.
    pub joined_on: Option<NaiveDate>,
}

impl NewHouseholdMember {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "household", Some(Value::Ref(self.household)));
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(&mut e, "relation", code(&Some(self.relation.clone())));
        set(
            &mut e,
            "joined_on",
            Some(Value::Date(self.joined_on.unwrap_or(today))),
        );
        e
    }
}

/// A period of a housing journey.
#[derive(Clone, Debug)]
pub struct NewPeriod {
    pub concerns: Concerns,
    pub situation: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub place: Option<String>,
    pub end_reason: Option<String>,
    pub notes: Option<String>,
}

impl NewPeriod {
    pub(crate) fn edits(&self) -> Vec<Edit> {
        let mut e = vec![self.concerns.edit()];
        set(&mut e, "situation", code(&Some(self.situation.clone())));
        set(&mut e, "started_on", Some(Value::Date(self.started_on)));
        set(&mut e, "ended_on", self.ended_on.map(Value::Date));
        set(&mut e, "place", text(&self.place));
        set(&mut e, "end_reason", code(&self.end_reason));
        set(&mut e, "notes", text(&self.notes));
        e
    }
}

/// A housing application.
#[derive(Clone, Debug)]
pub struct NewApplication {
    pub concerns: Concerns,
    pub kind: String,
    pub number: Option<String>,
    /// Today when not said.
    pub filed_on: Option<NaiveDate>,
    pub renew_by: Option<NaiveDate>,
    /// `filed` when not said.
    pub status: Option<String>,
    /// The areas wished for, comma-separated.
    pub areas: Option<String>,
}

impl NewApplication {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = vec![self.concerns.edit()];
        set(&mut e, "application_kind", code(&Some(self.kind.clone())));
        set(&mut e, "number", text(&self.number));
        set(
            &mut e,
            "filed_on",
            Some(Value::Date(self.filed_on.unwrap_or(today))),
        );
        set(&mut e, "renew_by", self.renew_by.map(Value::Date));
        set(
            &mut e,
            "status",
            code(&Some(self.status.clone().unwrap_or_else(|| "filed".into()))),
        );
        set(&mut e, "areas", text(&self.areas));
        e
    }
}

/// A household as merged from every device.
#[derive(Clone, Debug, Serialize)]
pub struct Household {
    pub id: RecordId,
    pub label: Option<String>,
    pub unrecorded_members: i64,
    pub unrecorded_children: i64,
    pub pets: Option<String>,
    pub notes: Option<String>,
    pub conflicts: Vec<String>,
}

impl Household {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Household {
        let k = Kind::Household;
        Household {
            id,
            label: get_text(r, k, "label"),
            unrecorded_members: get_int(r, k, "unrecorded_members").unwrap_or(0),
            unrecorded_children: get_int(r, k, "unrecorded_children").unwrap_or(0),
            pets: get_text(r, k, "pets"),
            notes: get_text(r, k, "notes"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A person's membership of a household.
#[derive(Clone, Debug, Serialize)]
pub struct HouseholdMember {
    pub id: RecordId,
    pub household: Option<RecordId>,
    pub person: Option<RecordId>,
    pub relation: Option<String>,
    pub joined_on: Option<NaiveDate>,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<String>,
    pub conflicts: Vec<String>,
}

impl HouseholdMember {
    pub(crate) fn read(id: RecordId, r: &Reader) -> HouseholdMember {
        let k = Kind::HouseholdMember;
        let id_of = |field| get_text(r, k, field).and_then(|s| s.parse().ok());
        HouseholdMember {
            id,
            household: id_of("household"),
            person: id_of("person"),
            relation: get_text(r, k, "relation"),
            joined_on: get_date(r, k, "joined_on"),
            left_on: get_date(r, k, "left_on"),
            left_reason: get_text(r, k, "left_reason"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }

    /// Whether the person belonged to the household on `day`.
    pub fn on(&self, day: NaiveDate) -> bool {
        self.joined_on.is_none_or(|j| j <= day) && self.left_on.is_none_or(|l| day < l)
    }
}

/// A period of a journey, as its record holds it.
#[derive(Clone, Debug, Serialize)]
pub struct Period {
    pub id: RecordId,
    pub concerns: Option<Concerns>,
    pub situation: Option<String>,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub place: Option<String>,
    pub end_reason: Option<String>,
    pub notes: Option<String>,
    pub conflicts: Vec<String>,
}

impl Period {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Period {
        let k = Kind::JourneyPeriod;
        Period {
            id,
            concerns: Concerns::read(r, k),
            situation: get_text(r, k, "situation"),
            started_on: get_date(r, k, "started_on"),
            ended_on: get_date(r, k, "ended_on"),
            place: get_text(r, k, "place"),
            end_reason: get_text(r, k, "end_reason"),
            notes: get_text(r, k, "notes"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A housing application.
#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub id: RecordId,
    pub concerns: Option<Concerns>,
    pub kind: Option<String>,
    pub number: Option<String>,
    pub filed_on: Option<NaiveDate>,
    pub renew_by: Option<NaiveDate>,
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub steps: Vec<Comment>,
    pub areas: Option<String>,
    pub conflicts: Vec<String>,
}

impl Application {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Application {
        let k = Kind::HousingApplication;
        Application {
            id,
            concerns: Concerns::read(r, k),
            kind: get_text(r, k, "application_kind"),
            number: get_text(r, k, "number"),
            filed_on: get_date(r, k, "filed_on"),
            renew_by: get_date(r, k, "renew_by"),
            status: get_text(r, k, "status"),
            outcome: get_text(r, k, "outcome"),
            steps: k.field("steps").map(|s| r.comments(s)).unwrap_or_default(),
            areas: get_text(r, k, "areas"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A home, once a person or a household is housed.
#[derive(Clone, Debug)]
pub struct NewHome {
    pub concerns: Concerns,
    pub landlord: Option<String>,
    pub address: Option<String>,
    pub entered_on: NaiveDate,
    pub lease_kind: Option<String>,
    pub notes: Option<String>,
}

impl NewHome {
    pub(crate) fn edits(&self) -> Vec<Edit> {
        let mut e = vec![self.concerns.edit()];
        set(&mut e, "landlord", text(&self.landlord));
        set(&mut e, "address", text(&self.address));
        set(&mut e, "entered_on", Some(Value::Date(self.entered_on)));
        set(&mut e, "lease_kind", code(&self.lease_kind));
        set(&mut e, "notes", text(&self.notes));
        e
    }
}

/// What puts a home at risk.
#[derive(Clone, Debug)]
pub struct NewRiskSignal {
    pub home: RecordId,
    pub risk: String,
    /// Today when not said.
    pub raised_on: Option<NaiveDate>,
    /// Who raised it (the worker, the landlord, a neighbour).
    pub raised_by: Option<String>,
    pub notes: Option<String>,
}

/// A home offered by a landlord.
#[derive(Clone, Debug, Default)]
pub struct NewOffer {
    /// The kind of home: a situation code (social_housing, residence_sociale...).
    pub home_kind: String,
    pub rooms: Option<i64>,
    pub size_m2: Option<i64>,
    pub rent: Option<i64>,
    pub area: Option<String>,
    pub accessible: Option<bool>,
    pub available_from: Option<NaiveDate>,
    pub landlord: Option<String>,
    pub notes: Option<String>,
}

impl NewOffer {
    pub(crate) fn edits(&self) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "home_kind", code(&Some(self.home_kind.clone())));
        set(&mut e, "rooms", self.rooms.map(Value::Int));
        set(&mut e, "size_m2", self.size_m2.map(Value::Int));
        set(&mut e, "rent", self.rent.map(Value::Int));
        set(&mut e, "area", text(&self.area));
        set(&mut e, "accessible", self.accessible.map(Value::Bool));
        set(
            &mut e,
            "available_from",
            self.available_from.map(Value::Date),
        );
        set(&mut e, "landlord", text(&self.landlord));
        set(&mut e, "status", Some(Value::Code("open".into())));
        set(&mut e, "notes", text(&self.notes));
        e
    }
}

/// A home, as merged from every device.
#[derive(Clone, Debug, Serialize)]
pub struct Home {
    pub id: RecordId,
    pub concerns: Option<Concerns>,
    pub landlord: Option<String>,
    pub address: Option<String>,
    pub entered_on: Option<NaiveDate>,
    pub lease_kind: Option<String>,
    pub left_on: Option<NaiveDate>,
    pub left_reason: Option<String>,
    pub notes: Option<String>,
    pub conflicts: Vec<String>,
}

impl Home {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Home {
        let k = Kind::Home;
        Home {
            id,
            concerns: Concerns::read(r, k),
            landlord: get_text(r, k, "landlord"),
            address: get_text(r, k, "address"),
            entered_on: get_date(r, k, "entered_on"),
            lease_kind: get_text(r, k, "lease_kind"),
            left_on: get_date(r, k, "left_on"),
            left_reason: get_text(r, k, "left_reason"),
            notes: get_text(r, k, "notes"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A risk to a home.
#[derive(Clone, Debug, Serialize)]
pub struct RiskSignal {
    pub id: RecordId,
    pub home: Option<RecordId>,
    pub risk: Option<String>,
    pub raised_on: Option<NaiveDate>,
    pub raised_by: Option<String>,
    pub status: Option<String>,
    pub resolved_on: Option<NaiveDate>,
    pub notes: Option<String>,
    pub conflicts: Vec<String>,
}

impl RiskSignal {
    pub(crate) fn read(id: RecordId, r: &Reader) -> RiskSignal {
        let k = Kind::RiskSignal;
        RiskSignal {
            id,
            home: get_text(r, k, "home").and_then(|s| s.parse().ok()),
            risk: get_text(r, k, "risk"),
            raised_on: get_date(r, k, "raised_on"),
            raised_by: get_text(r, k, "raised_by"),
            status: get_text(r, k, "status"),
            resolved_on: get_date(r, k, "resolved_on"),
            notes: get_text(r, k, "notes"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A housing offer.
#[derive(Clone, Debug, Serialize)]
pub struct Offer {
    pub id: RecordId,
    pub home_kind: Option<String>,
    pub rooms: Option<i64>,
    pub size_m2: Option<i64>,
    pub rent: Option<i64>,
    pub area: Option<String>,
    pub accessible: Option<bool>,
    pub available_from: Option<NaiveDate>,
    pub landlord: Option<String>,
    pub status: Option<String>,
    pub notes: Option<String>,
    pub conflicts: Vec<String>,
}

impl Offer {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Offer {
        let k = Kind::HousingOffer;
        Offer {
            id,
            home_kind: get_text(r, k, "home_kind"),
            rooms: get_int(r, k, "rooms"),
            size_m2: get_int(r, k, "size_m2"),
            rent: get_int(r, k, "rent"),
            area: get_text(r, k, "area"),
            accessible: super::get_bool(r, k, "accessible"),
            available_from: get_date(r, k, "available_from"),
            landlord: get_text(r, k, "landlord"),
            status: get_text(r, k, "status"),
            notes: get_text(r, k, "notes"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// An offer proposed to a person or a household.
#[derive(Clone, Debug, Serialize)]
pub struct Proposal {
    pub id: RecordId,
    pub offer: Option<RecordId>,
    pub concerns: Option<Concerns>,
    pub proposed_on: Option<NaiveDate>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub conflicts: Vec<String>,
}

impl Proposal {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Proposal {
        let k = Kind::Proposal;
        Proposal {
            id,
            offer: get_text(r, k, "offer").and_then(|s| s.parse().ok()),
            concerns: Concerns::read(r, k),
            proposed_on: get_date(r, k, "proposed_on"),
            outcome: get_text(r, k, "outcome"),
            reason: get_text(r, k, "reason"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A person's own view of the support after a step.
#[derive(Clone, Debug)]
pub struct NewOwnView {
    pub person: RecordId,
    /// home_found, six_months_in_home, support_end, other.
    pub step: String,
    /// Today when not said.
    pub on: Option<NaiveDate>,
    /// From 1 (not at all) to 5 (very).
    pub satisfaction: Option<i64>,
    pub what_helped: Option<String>,
    pub what_missing: Option<String>,
    pub own_words: Option<String>,
    /// The organisation's own questions (its fields of `own_view`), by name.
    pub answers: std::collections::BTreeMap<String, String>,
}

impl NewOwnView {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(&mut e, "step", code(&Some(self.step.clone())));
        set(&mut e, "on", Some(Value::Date(self.on.unwrap_or(today))));
        set(&mut e, "satisfaction", self.satisfaction.map(Value::Int));
        set(&mut e, "what_helped", text(&self.what_helped));
        set(&mut e, "what_missing", text(&self.what_missing));
        set(&mut e, "own_words", text(&self.own_words));
        for (k, v) in &self.answers {
            e.push(Edit::Put("custom".into(), k.clone(), v.clone()));
        }
        e
    }
}

/// A person's own view, as recorded.
#[derive(Clone, Debug, Serialize)]
pub struct OwnView {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub step: Option<String>,
    pub on: Option<NaiveDate>,
    pub satisfaction: Option<i64>,
    pub what_helped: Option<String>,
    pub what_missing: Option<String>,
    pub own_words: Option<String>,
    pub answers: std::collections::BTreeMap<String, String>,
    pub conflicts: Vec<String>,
}

impl OwnView {
    pub(crate) fn read(id: RecordId, r: &Reader) -> OwnView {
        let k = Kind::OwnView;
        OwnView {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            step: get_text(r, k, "step"),
            on: get_date(r, k, "on"),
            satisfaction: get_int(r, k, "satisfaction"),
            what_helped: get_text(r, k, "what_helped"),
            what_missing: get_text(r, k, "what_missing"),
            own_words: get_text(r, k, "own_words"),
            answers: k.field("custom").map(|s| r.text_map(s)).unwrap_or_default(),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}
