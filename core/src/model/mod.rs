//! The domain model: the inputs a worker gives (`NewPerson`, `NewEncounter`...) and the views the
//! store returns (`Person`, `Encounter`...). Inputs become field edits, checked against
//! [`schema`]; views are read back from the record documents.

pub mod custom;
pub mod fields;
pub mod housing;
pub(crate) mod rules;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::doc::{Comment, Edit, Reader};
use crate::RecordId;
use fields::{Kind, Value};

fn set(edits: &mut Vec<Edit>, field: &str, value: Option<Value>) {
    if let Some(v) = value {
        edits.push(Edit::Set(field.into(), v));
    }
}

fn text(s: &Option<String>) -> Option<Value> {
    s.as_ref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| Value::Text(s.to_string()))
}

fn code(s: &Option<String>) -> Option<Value> {
    s.as_ref().map(|s| Value::Code(s.trim().to_string()))
}

fn add_all(edits: &mut Vec<Edit>, field: &str, values: impl IntoIterator<Item = Value>) {
    edits.extend(values.into_iter().map(|v| Edit::Add(field.into(), v)));
}

/// A person met in the street. Often only a first name or a nickname is known.
#[derive(Clone, Debug, Default)]
pub struct NewPerson {
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub other_names: Vec<String>,
    pub birth_year: Option<i64>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub languages: Vec<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub alert_level: Option<String>,
    pub on_street_since: Option<NaiveDate>,
    pub situation: Option<String>,
    pub needs: Vec<String>,
    pub consent_record: Option<bool>,
    pub consent_share: Option<bool>,
    pub teams: Vec<String>,
    pub custom: BTreeMap<String, String>,
}

impl NewPerson {
    /// The edits that record a new person: the fields given, the day they start to be followed
    /// and the active status.
    pub(crate) fn edits(&self, today: NaiveDate, worker: &str) -> Vec<Edit> {
        let mut e = self.changes(today, worker);
        set(&mut e, "followed_since", Some(Value::Date(today)));
        set(&mut e, "status", Some(Value::Code("active".into())));
        e
    }

    /// The edits that set the fields given here (and only those) on a person: lists and sets
    /// are appended to; consent given records the day and the worker who recorded it.
    pub fn changes(&self, today: NaiveDate, worker: &str) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "name", text(&self.name));
        set(&mut e, "nickname", text(&self.nickname));
        add_all(
            &mut e,
            "other_names",
            self.other_names
                .iter()
                .map(|s| Value::Text(s.trim().into())),
        );
        set(&mut e, "birth_year", self.birth_year.map(Value::Int));
        set(&mut e, "birth_date", self.birth_date.map(Value::Date));
        set(&mut e, "gender", code(&self.gender));
        add_all(
            &mut e,
            "languages",
            self.languages.iter().map(|s| Value::Text(s.trim().into())),
        );
        set(&mut e, "phone", text(&self.phone));
        set(&mut e, "description", text(&self.description));
        set(&mut e, "alert_level", code(&self.alert_level));
        set(
            &mut e,
            "on_street_since",
            self.on_street_since.map(Value::Date),
        );
        set(&mut e, "situation", code(&self.situation));
        add_all(
            &mut e,
            "needs",
            self.needs.iter().map(|s| Value::Code(s.trim().into())),
        );
        if self.consent_record.is_some() || self.consent_share.is_some() {
            set(
                &mut e,
                "consent_record",
                self.consent_record.map(Value::Bool),
            );
            set(&mut e, "consent_share", self.consent_share.map(Value::Bool));
            set(&mut e, "consent_date", Some(Value::Date(today)));
            set(&mut e, "consent_by", Some(Value::Text(worker.into())));
        }
        add_all(
            &mut e,
            "teams",
            self.teams.iter().map(|s| Value::Text(s.trim().into())),
        );
        for (k, v) in &self.custom {
            e.push(Edit::Put("custom".into(), k.clone(), v.clone()));
        }
        e
    }
}

/// A contact in the street: with known persons, anonymous people, or both.
#[derive(Clone, Debug, Default)]
pub struct NewEncounter {
    /// When it happened; defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub territory: Option<String>,
    pub team: Option<String>,
    pub workers: Vec<String>,
    pub persons: Vec<RecordId>,
    pub anonymous_count: i64,
    pub kind: Option<String>,
    pub services: Vec<String>,
    pub notes: Option<String>,
    pub follow_up: bool,
    /// Values of the organisation's fields of encounters (`custom.NAME`), checked against
    /// their definitions when the encounter is written.
    pub custom: BTreeMap<String, String>,
    /// The household met, when the encounter is with a household as a whole.
    pub household: Option<RecordId>,
}

impl NewEncounter {
    pub(crate) fn edits(&self, now: DateTime<Utc>) -> Vec<Edit> {
        let mut e = Vec::new();
        set(
            &mut e,
            "occurred_at",
            Some(Value::Time(self.occurred_at.unwrap_or(now))),
        );
        set(&mut e, "recorded_at", Some(Value::Time(now)));
        set(&mut e, "place", text(&self.place));
        set(&mut e, "latitude", self.latitude.map(Value::Float));
        set(&mut e, "longitude", self.longitude.map(Value::Float));
        set(&mut e, "territory", text(&self.territory));
        set(&mut e, "team", text(&self.team));
        add_all(
            &mut e,
            "workers",
            self.workers.iter().map(|s| Value::Text(s.trim().into())),
        );
        add_all(
            &mut e,
            "persons",
            self.persons.iter().map(|p| Value::Ref(*p)),
        );
        set(
            &mut e,
            "anonymous_count",
            Some(Value::Int(self.anonymous_count)),
        );
        set(&mut e, "encounter_kind", code(&self.kind));
        add_all(
            &mut e,
            "services",
            self.services.iter().map(|s| Value::Code(s.trim().into())),
        );
        set(&mut e, "notes", text(&self.notes));
        set(&mut e, "follow_up", Some(Value::Bool(self.follow_up)));
        set(&mut e, "household", self.household.map(Value::Ref));
        for (k, v) in &self.custom {
            e.push(Edit::Put("custom".into(), k.clone(), v.clone()));
        }
        e
    }
}

/// A follow-up action (suivi) about one person.
#[derive(Clone, Debug)]
pub struct NewAction {
    pub person: RecordId,
    pub title: String,
    pub category: String,
    pub due_at: Option<NaiveDate>,
    pub assigned_to: Option<String>,
}

impl NewAction {
    pub(crate) fn edits(&self) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(&mut e, "title", Some(Value::Text(self.title.trim().into())));
        set(
            &mut e,
            "category",
            Some(Value::Code(self.category.trim().into())),
        );
        set(&mut e, "due_at", self.due_at.map(Value::Date));
        set(&mut e, "status", Some(Value::Code("todo".into())));
        set(&mut e, "assigned_to", text(&self.assigned_to));
        e
    }
}

/// A referral (orientation) of one person to a service.
#[derive(Clone, Debug)]
pub struct NewReferral {
    pub person: RecordId,
    pub target: String,
    pub target_name: Option<String>,
    pub date: Option<NaiveDate>,
    pub status: Option<String>,
    /// The household referred with the person, when it is referred as a whole.
    pub household: Option<RecordId>,
}

impl NewReferral {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(
            &mut e,
            "target",
            Some(Value::Code(self.target.trim().into())),
        );
        set(&mut e, "target_name", text(&self.target_name));
        set(
            &mut e,
            "date",
            Some(Value::Date(self.date.unwrap_or(today))),
        );
        set(
            &mut e,
            "status",
            Some(Value::Code(
                self.status.clone().unwrap_or_else(|| "sent".into()),
            )),
        );
        set(&mut e, "household", self.household.map(Value::Ref));
        e
    }
}

/// A person's decision about sharing one category with one partner.
#[derive(Clone, Debug)]
pub struct NewConsent {
    pub person: RecordId,
    pub partner: String,
    pub category: String,
    pub given: bool,
    /// When the person decided; today when not said.
    pub decided_on: Option<NaiveDate>,
    pub how: String,
    pub note: Option<String>,
}

impl NewConsent {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(
            &mut e,
            "partner",
            Some(Value::Code(self.partner.trim().into())),
        );
        set(
            &mut e,
            "category",
            Some(Value::Code(self.category.trim().into())),
        );
        set(&mut e, "given", Some(Value::Bool(self.given)));
        set(
            &mut e,
            "decided_on",
            Some(Value::Date(self.decided_on.unwrap_or(today))),
        );
        set(&mut e, "how", Some(Value::Code(self.how.trim().into())));
        set(&mut e, "note", text(&self.note));
        e
    }
}

/// A health professional's note about a person: a consultation or care, in the health space.
#[derive(Clone, Debug)]
pub struct NewHealthNote {
    /// The person, as the team's store knows them.
    pub person: RecordId,
    /// When it happened; today when not said.
    pub on: Option<NaiveDate>,
    /// The health professional who writes it.
    pub professional: String,
    pub category: String,
    pub text: String,
    /// What is to be done next.
    pub next_step: Option<String>,
}

impl NewHealthNote {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(&mut e, "person", Some(Value::Ref(self.person)));
        set(&mut e, "on", Some(Value::Date(self.on.unwrap_or(today))));
        set(
            &mut e,
            "professional",
            text(&Some(self.professional.clone())),
        );
        set(
            &mut e,
            "category",
            Some(Value::Code(self.category.trim().into())),
        );
        set(&mut e, "text", text(&Some(self.text.clone())));
        set(&mut e, "next_step", text(&self.next_step));
        e
    }
}

/// A territory observation: anonymous counts, no person.
#[derive(Clone, Debug, Default)]
pub struct NewObservation {
    pub territory: String,
    pub team: Option<String>,
    pub date: Option<NaiveDate>,
    pub counts: BTreeMap<String, i64>,
    pub notes: Option<String>,
}

impl NewObservation {
    pub(crate) fn edits(&self, today: NaiveDate) -> Vec<Edit> {
        let mut e = Vec::new();
        set(
            &mut e,
            "territory",
            Some(Value::Text(self.territory.trim().into())),
        );
        set(&mut e, "team", text(&self.team));
        set(
            &mut e,
            "date",
            Some(Value::Date(self.date.unwrap_or(today))),
        );
        for (k, v) in &self.counts {
            e.push(Edit::Put("counts".into(), k.clone(), v.to_string()));
        }
        set(&mut e, "notes", text(&self.notes));
        e
    }
}

pub(crate) fn get_text(r: &Reader, kind: Kind, field: &str) -> Option<String> {
    kind.field(field)
        .ok()
        .and_then(|s| r.get(s))
        .map(|v| v.to_string())
}

pub(crate) fn get_date(r: &Reader, kind: Kind, field: &str) -> Option<NaiveDate> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Date(d)) => Some(d),
        _ => None,
    }
}

fn get_time(r: &Reader, kind: Kind, field: &str) -> Option<DateTime<Utc>> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Time(t)) => Some(t),
        _ => None,
    }
}

pub(crate) fn get_int(r: &Reader, kind: Kind, field: &str) -> Option<i64> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Int(i)) => Some(i),
        _ => None,
    }
}

fn get_float(r: &Reader, kind: Kind, field: &str) -> Option<f64> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Float(x)) => Some(x),
        _ => None,
    }
}

fn get_bool(r: &Reader, kind: Kind, field: &str) -> Option<bool> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Bool(b)) => Some(b),
        _ => None,
    }
}

fn get_list(r: &Reader, kind: Kind, field: &str) -> Vec<String> {
    kind.field(field)
        .map(|s| r.list(s).into_iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

/// A person, as merged from every device. Scalar fields show the winning value of a conflict;
/// `conflicts` names the fields that hold concurrent values.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    pub id: RecordId,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub other_names: Vec<String>,
    pub birth_year: Option<i64>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub languages: Vec<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub alert_level: Option<String>,
    pub on_street_since: Option<NaiveDate>,
    pub situation: Option<String>,
    pub needs: Vec<String>,
    pub consent_record: Option<bool>,
    pub consent_share: Option<bool>,
    pub consent_date: Option<NaiveDate>,
    pub consent_by: Option<String>,
    pub teams: Vec<String>,
    pub followed_since: Option<NaiveDate>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub status_date: Option<NaiveDate>,
    pub household: Option<String>,
    pub custom: BTreeMap<String, String>,
    pub conflicts: Vec<String>,
    /// The person this record was merged into at the office (a duplicate), if it was.
    pub merged_into: Option<RecordId>,
    /// The records merged into this person ([`crate::Store::merged_person`] fills it).
    pub merged: Vec<RecordId>,
}

impl Person {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Person {
        let k = Kind::Person;
        Person {
            id,
            name: get_text(r, k, "name"),
            nickname: get_text(r, k, "nickname"),
            other_names: get_list(r, k, "other_names"),
            birth_year: get_int(r, k, "birth_year"),
            birth_date: get_date(r, k, "birth_date"),
            gender: get_text(r, k, "gender"),
            languages: get_list(r, k, "languages"),
            phone: get_text(r, k, "phone"),
            description: get_text(r, k, "description"),
            alert_level: get_text(r, k, "alert_level"),
            on_street_since: get_date(r, k, "on_street_since"),
            situation: get_text(r, k, "situation"),
            needs: k.field("needs").map(|s| r.set(s)).unwrap_or_default(),
            consent_record: get_bool(r, k, "consent_record"),
            consent_share: get_bool(r, k, "consent_share"),
            consent_date: get_date(r, k, "consent_date"),
            consent_by: get_text(r, k, "consent_by"),
            teams: get_list(r, k, "teams"),
            followed_since: get_date(r, k, "followed_since"),
            status: get_text(r, k, "status"),
            status_reason: get_text(r, k, "status_reason"),
            status_date: get_date(r, k, "status_date"),
            household: get_text(r, k, "household"),
            custom: k.field("custom").map(|s| r.text_map(s)).unwrap_or_default(),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
            merged_into: k.field("merged_into").ok().and_then(|s| match r.get(s) {
                Some(Value::Ref(p)) if p != id => Some(p),
                _ => None,
            }),
            merged: Vec::new(),
        }
    }

    /// The name to show: name, else nickname.
    pub fn display_name(&self) -> String {
        display_name(self.name.as_deref(), self.nickname.as_deref())
    }
}

/// `name «nickname»`, or whichever of the two is known.
pub fn display_name(name: Option<&str>, nickname: Option<&str>) -> String {
    match (name, nickname) {
        (Some(n), Some(k)) => format!("{n} «{k}»"),
        (Some(n), None) => n.to_string(),
        (None, Some(k)) => format!("«{k}»"),
        (None, None) => "(sans nom)".to_string(),
    }
}

/// A person as listed (read from the index, without loading the document).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonSummary {
    pub id: RecordId,
    pub display_name: String,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub situation: Option<String>,
    pub alert_level: Option<String>,
    pub status: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// An encounter, as merged from every device.
#[derive(Clone, Debug, Serialize)]
pub struct Encounter {
    pub id: RecordId,
    pub occurred_at: Option<DateTime<Utc>>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub place: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub territory: Option<String>,
    pub team: Option<String>,
    pub workers: Vec<String>,
    pub persons: Vec<RecordId>,
    pub anonymous_count: i64,
    pub kind: Option<String>,
    pub services: Vec<String>,
    pub notes: Option<String>,
    pub follow_up: bool,
    /// Values of the organisation's fields (empty for an encounter made by a build that kept
    /// none).
    pub custom: BTreeMap<String, String>,
    pub conflicts: Vec<String>,
    /// The household met, when the encounter is with a household as a whole.
    pub household: Option<RecordId>,
}

impl Encounter {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Encounter {
        let k = Kind::Encounter;
        Encounter {
            id,
            household: get_text(r, k, "household").and_then(|s| s.parse().ok()),
            occurred_at: get_time(r, k, "occurred_at"),
            recorded_at: get_time(r, k, "recorded_at"),
            place: get_text(r, k, "place"),
            latitude: get_float(r, k, "latitude"),
            longitude: get_float(r, k, "longitude"),
            territory: get_text(r, k, "territory"),
            team: get_text(r, k, "team"),
            workers: get_list(r, k, "workers"),
            persons: k
                .field("persons")
                .map(|s| {
                    r.list(s)
                        .into_iter()
                        .filter_map(|v| match v {
                            Value::Ref(id) => Some(id),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            anonymous_count: get_int(r, k, "anonymous_count").unwrap_or(0),
            kind: get_text(r, k, "encounter_kind"),
            services: get_list(r, k, "services"),
            notes: get_text(r, k, "notes"),
            follow_up: get_bool(r, k, "follow_up").unwrap_or(false),
            custom: k.field("custom").map(|s| r.text_map(s)).unwrap_or_default(),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A follow-up action.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub title: Option<String>,
    pub category: Option<String>,
    pub due_at: Option<NaiveDate>,
    pub status: Option<String>,
    pub assigned_to: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    pub comments: Vec<Comment>,
    /// The risk to a home it answers, when it answers one.
    pub signal: Option<RecordId>,
    pub conflicts: Vec<String>,
}

impl Action {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Action {
        let k = Kind::Action;
        Action {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            title: get_text(r, k, "title"),
            category: get_text(r, k, "category"),
            due_at: get_date(r, k, "due_at"),
            status: get_text(r, k, "status"),
            assigned_to: get_text(r, k, "assigned_to"),
            done_at: get_time(r, k, "done_at"),
            comments: k
                .field("comments")
                .map(|s| r.comments(s))
                .unwrap_or_default(),
            signal: get_text(r, k, "signal").and_then(|s| s.parse().ok()),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A referral.
#[derive(Clone, Debug, Serialize)]
pub struct Referral {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub target: Option<String>,
    pub target_name: Option<String>,
    pub date: Option<NaiveDate>,
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub conflicts: Vec<String>,
    pub household: Option<RecordId>,
}

impl Referral {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Referral {
        let k = Kind::Referral;
        Referral {
            id,
            household: get_text(r, k, "household").and_then(|s| s.parse().ok()),
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            target: get_text(r, k, "target"),
            target_name: get_text(r, k, "target_name"),
            date: get_date(r, k, "date"),
            status: get_text(r, k, "status"),
            outcome: get_text(r, k, "outcome"),
            conflicts: r.conflicts(k).into_iter().map(|(f, _)| f).collect(),
        }
    }
}

/// A territory observation.
#[derive(Clone, Debug, Serialize)]
pub struct Observation {
    pub id: RecordId,
    pub territory: Option<String>,
    pub team: Option<String>,
    pub date: Option<NaiveDate>,
    pub counts: BTreeMap<String, String>,
    pub notes: Option<String>,
}

impl Observation {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Observation {
        let k = Kind::Observation;
        Observation {
            id,
            territory: get_text(r, k, "territory"),
            team: get_text(r, k, "team"),
            date: get_date(r, k, "date"),
            counts: k.field("counts").map(|s| r.text_map(s)).unwrap_or_default(),
            notes: get_text(r, k, "notes"),
        }
    }
}

/// A consent decision.
#[derive(Clone, Debug, Serialize)]
pub struct Consent {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub partner: Option<String>,
    pub category: Option<String>,
    pub given: Option<bool>,
    pub decided_on: Option<NaiveDate>,
    pub how: Option<String>,
    pub note: Option<String>,
}

impl Consent {
    pub(crate) fn read(id: RecordId, r: &Reader) -> Consent {
        let k = Kind::Consent;
        Consent {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            partner: get_text(r, k, "partner"),
            category: get_text(r, k, "category"),
            given: get_bool(r, k, "given"),
            decided_on: get_date(r, k, "decided_on"),
            how: get_text(r, k, "how"),
            note: get_text(r, k, "note"),
        }
    }
}

/// A health note, as read on a health professional's device.
#[derive(Clone, Debug, Serialize)]
pub struct HealthNote {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub on: Option<NaiveDate>,
    pub professional: Option<String>,
    pub category: Option<String>,
    pub text: Option<String>,
    pub next_step: Option<String>,
}

impl HealthNote {
    pub(crate) fn read(id: RecordId, r: &Reader) -> HealthNote {
        let k = Kind::HealthNote;
        HealthNote {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            on: get_date(r, k, "on"),
            professional: get_text(r, k, "professional"),
            category: get_text(r, k, "category"),
            text: get_text(r, k, "text"),
            next_step: get_text(r, k, "next_step"),
        }
    }
}

/// That a health professional saw a person on a day: all the team sees of a health note.
#[derive(Clone, Debug, Serialize)]
pub struct HealthContact {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub on: Option<NaiveDate>,
}

impl HealthContact {
    pub(crate) fn read(id: RecordId, r: &Reader) -> HealthContact {
        let k = Kind::HealthContact;
        HealthContact {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            on: get_date(r, k, "on"),
        }
    }
}

/// A person's health details, as read on a health professional's device.
#[derive(Clone, Debug, Serialize)]
pub struct HealthProfile {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub conditions: Option<String>,
    pub treatments: Option<String>,
    pub allergies: Option<String>,
    pub care_team: Option<String>,
}

impl HealthProfile {
    pub(crate) fn read(id: RecordId, r: &Reader) -> HealthProfile {
        let k = Kind::HealthProfile;
        HealthProfile {
            id,
            person: get_text(r, k, "person").and_then(|s| s.parse().ok()),
            conditions: get_text(r, k, "conditions"),
            treatments: get_text(r, k, "treatments"),
            allergies: get_text(r, k, "allergies"),
            care_team: get_text(r, k, "care_team"),
        }
    }
}

/// Any record, as read by `Store::record`.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Person(Person),
    Encounter(Encounter),
    Action(Action),
    Referral(Referral),
    Observation(Observation),
    Consent(Consent),
    HealthNote(HealthNote),
    HealthContact(HealthContact),
    HealthProfile(HealthProfile),
    Household(housing::Household),
    HouseholdMember(housing::HouseholdMember),
    JourneyPeriod(housing::Period),
    HousingApplication(housing::Application),
    Home(housing::Home),
    RiskSignal(housing::RiskSignal),
    HousingOffer(housing::Offer),
    Proposal(housing::Proposal),
    OwnView(housing::OwnView),
}
