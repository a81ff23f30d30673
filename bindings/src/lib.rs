//! uniffi bindings over `allervers-core`: thin wrappers, no logic. Core types are mirrored as
//! uniffi records and enums (never JSON strings); every error crosses as a typed `FfiError`;
//! every entry point catches what it calls, so no panic crosses the boundary.

use std::sync::Arc;

use allervers_core as core;
use chrono::{DateTime, NaiveDate, Utc};

uniffi::setup_scaffolding!();

mod field;

/// The errors a shell can act on: the core's public `ApiError`, mirrored.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    #[error("wrong key")]
    WrongKey,
    #[error("{detail}")]
    StoreNotFound { detail: String },
    #[error("{detail}")]
    StoreExists { detail: String },
    #[error("this store was written by a newer version of allervers")]
    NewerVersion,
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("no person matches these words")]
    NoPersonMatches,
    #[error("{} persons match these words", candidates.len())]
    AmbiguousPerson { candidates: Vec<String> },
    #[error("unknown record {id}")]
    RecordNotFound { id: String },
    #[error("{detail}")]
    WrongKind { detail: String },
    #[error("not enrolled")]
    NotEnrolled,
    /// A coordinator revoked this device and its store was erased: the shell deletes the store
    /// key from the Keystore or Keychain and goes back to its first screen.
    #[error("this device was revoked by a coordinator: its store has been erased")]
    Wiped,
    #[error("relay unreachable: {detail}")]
    RelayUnreachable { detail: String },
    #[error("relay refused ({status}): {reason}")]
    RelayRefused { status: u16, reason: String },
    #[error("{detail}")]
    Refused { detail: String },
    #[error("storage full")]
    StorageFull,
    #[error("storage read-only")]
    StorageReadOnly,
    #[error("store damaged")]
    StorageCorrupt,
    #[error("{detail}")]
    Storage { detail: String },
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl From<core::ApiError> for FfiError {
    fn from(e: core::ApiError) -> Self {
        use core::ApiError as E;
        let detail = e.to_string();
        match e {
            E::WrongKey => FfiError::WrongKey,
            E::StoreNotFound { .. } => FfiError::StoreNotFound { detail },
            E::StoreExists { .. } => FfiError::StoreExists { detail },
            E::NewerVersion => FfiError::NewerVersion,
            E::InvalidInput { field, reason } => FfiError::InvalidInput { field, reason },
            E::NoPersonMatches => FfiError::NoPersonMatches,
            E::AmbiguousPerson { candidates } => FfiError::AmbiguousPerson {
                candidates: candidates.iter().map(ToString::to_string).collect(),
            },
            E::RecordNotFound(id) => FfiError::RecordNotFound { id: id.to_string() },
            E::WrongKind { .. } => FfiError::WrongKind { detail },
            E::Refused { .. } => FfiError::Refused { detail },
            E::NotEnrolled => FfiError::NotEnrolled,
            E::Wiped => FfiError::Wiped,
            E::RelayUnreachable { reason } => FfiError::RelayUnreachable { detail: reason },
            E::RelayRefused { status, reason } => FfiError::RelayRefused { status, reason },
            E::StorageFull => FfiError::StorageFull,
            E::StorageReadOnly => FfiError::StorageReadOnly,
            E::StorageCorrupt => FfiError::StorageCorrupt,
            E::Storage { .. } => FfiError::Storage { detail },
        }
    }
}

impl From<core::CoreError> for FfiError {
    fn from(e: core::CoreError) -> Self {
        core::ApiError::from(e).into()
    }
}

type Result<T> = std::result::Result<T, FfiError>;

/// Runs a call into the core, turning a panic into an error instead of unwinding across FFI.
fn guard<T>(f: impl FnOnce() -> std::result::Result<T, core::CoreError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(FfiError::from),
        Err(_) => Err(FfiError::Internal {
            detail: "the core failed unexpectedly".into(),
        }),
    }
}

fn id(text: &str) -> std::result::Result<core::RecordId, core::CoreError> {
    text.parse()
}

fn date(
    field: &str,
    text: &Option<String>,
) -> std::result::Result<Option<NaiveDate>, core::CoreError> {
    text.as_deref()
        .map(|t| {
            core::model::fields::parse_date(t).ok_or_else(|| core::CoreError::InvalidInput {
                field: field.into(),
                reason: "is not a date (YYYY-MM-DD)".into(),
            })
        })
        .transpose()
}

fn ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

/// This device.
#[derive(uniffi::Record)]
pub struct Identity {
    pub device: String,
    pub device_name: String,
    pub worker: String,
}

/// A person to record.
#[derive(uniffi::Record)]
pub struct NewPerson {
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub birth_year: Option<i64>,
    pub situation: Option<String>,
    pub needs: Vec<String>,
    pub description: Option<String>,
    pub alert_level: Option<String>,
    pub consent_record: Option<bool>,
    pub consent_share: Option<bool>,
    #[uniffi(default = [])]
    pub other_names: Vec<String>,
    /// YYYY-MM-DD.
    #[uniffi(default = None)]
    pub birth_date: Option<String>,
    #[uniffi(default = None)]
    pub gender: Option<String>,
    #[uniffi(default = [])]
    pub languages: Vec<String>,
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// YYYY-MM-DD.
    #[uniffi(default = None)]
    pub on_street_since: Option<String>,
    #[uniffi(default = [])]
    pub teams: Vec<String>,
    /// The organisation's own fields, by name.
    #[uniffi(default = [])]
    pub custom: Vec<CustomField>,
}

impl TryFrom<NewPerson> for core::NewPerson {
    type Error = core::CoreError;

    fn try_from(p: NewPerson) -> std::result::Result<Self, Self::Error> {
        Ok(core::NewPerson {
            name: p.name,
            nickname: p.nickname,
            other_names: p.other_names,
            birth_year: p.birth_year,
            birth_date: date("birth_date", &p.birth_date)?,
            gender: p.gender,
            languages: p.languages,
            phone: p.phone,
            description: p.description,
            alert_level: p.alert_level,
            on_street_since: date("on_street_since", &p.on_street_since)?,
            situation: p.situation,
            needs: p.needs,
            consent_record: p.consent_record,
            consent_share: p.consent_share,
            teams: p.teams,
            custom: p.custom.into_iter().map(|c| (c.name, c.value)).collect(),
        })
    }
}

/// A person as merged from every device: every field of the core's person (dates as
/// YYYY-MM-DD).
#[derive(uniffi::Record)]
pub struct Person {
    pub id: String,
    pub display_name: String,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub other_names: Vec<String>,
    pub birth_year: Option<i64>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub languages: Vec<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub alert_level: Option<String>,
    pub on_street_since: Option<String>,
    pub situation: Option<String>,
    pub needs: Vec<String>,
    pub consent_record: Option<bool>,
    pub consent_share: Option<bool>,
    pub consent_date: Option<String>,
    pub consent_by: Option<String>,
    pub teams: Vec<String>,
    pub followed_since: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub status_date: Option<String>,
    pub household: Option<String>,
    pub custom: Vec<CustomField>,
    /// Fields holding concurrent values.
    pub conflicts: Vec<String>,
    /// The person this record was merged into at the office, if it was.
    pub merged_into: Option<String>,
    /// The records merged into this person.
    pub merged: Vec<String>,
}

impl From<core::Person> for Person {
    fn from(p: core::Person) -> Self {
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        Person {
            id: p.id.to_string(),
            display_name: p.display_name(),
            name: p.name,
            nickname: p.nickname,
            other_names: p.other_names,
            birth_year: p.birth_year,
            birth_date: day(p.birth_date),
            gender: p.gender,
            languages: p.languages,
            phone: p.phone,
            description: p.description,
            alert_level: p.alert_level,
            on_street_since: day(p.on_street_since),
            situation: p.situation,
            needs: p.needs,
            consent_record: p.consent_record,
            consent_share: p.consent_share,
            consent_date: day(p.consent_date),
            consent_by: p.consent_by,
            teams: p.teams,
            followed_since: day(p.followed_since),
            status: p.status,
            status_reason: p.status_reason,
            status_date: day(p.status_date),
            household: p.household,
            custom: p
                .custom
                .into_iter()
                .map(|(name, value)| CustomField { name, value })
                .collect(),
            conflicts: p.conflicts,
            merged_into: p.merged_into.map(|m| m.to_string()),
            merged: p.merged.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// A person as listed.
#[derive(uniffi::Record)]
pub struct PersonSummary {
    pub id: String,
    pub display_name: String,
    pub situation: Option<String>,
    /// Milliseconds since the epoch.
    pub last_seen_at_ms: Option<i64>,
}

/// How to sort the list.
#[derive(uniffi::Enum)]
pub enum PersonSort {
    RecentlySeen,
    Name,
}

/// A contact in the street.
#[derive(uniffi::Record)]
pub struct NewEncounter {
    pub persons: Vec<String>,
    pub anonymous_count: i64,
    /// Milliseconds since the epoch; now when absent.
    pub occurred_at_ms: Option<i64>,
    pub place: Option<String>,
    pub team: Option<String>,
    pub kind: Option<String>,
    pub services: Vec<String>,
    pub notes: Option<String>,
    pub follow_up: bool,
    #[uniffi(default = None)]
    pub territory: Option<String>,
    #[uniffi(default = None)]
    pub latitude: Option<f64>,
    #[uniffi(default = None)]
    pub longitude: Option<f64>,
    #[uniffi(default = [])]
    pub workers: Vec<String>,
    /// The organisation's own fields of encounters, by name.
    #[uniffi(default = [])]
    pub custom: Vec<CustomField>,
}

impl TryFrom<NewEncounter> for core::NewEncounter {
    type Error = core::CoreError;

    fn try_from(e: NewEncounter) -> std::result::Result<Self, Self::Error> {
        let occurred_at = match e.occurred_at_ms {
            Some(ms) => Some(DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                core::CoreError::InvalidInput {
                    field: "occurred_at".into(),
                    reason: "is out of range".into(),
                }
            })?),
            None => None,
        };
        Ok(core::NewEncounter {
            occurred_at,
            place: e.place,
            latitude: e.latitude,
            longitude: e.longitude,
            territory: e.territory,
            team: e.team,
            workers: e.workers,
            persons: e
                .persons
                .iter()
                .map(|p| id(p))
                .collect::<std::result::Result<_, _>>()?,
            anonymous_count: e.anonymous_count,
            kind: e.kind,
            services: e.services,
            notes: e.notes,
            follow_up: e.follow_up,
            custom: e.custom.into_iter().map(|c| (c.name, c.value)).collect(),
            household: None,
        })
    }
}

/// A follow-up action to add.
#[derive(uniffi::Record)]
pub struct NewAction {
    pub person: String,
    pub title: String,
    pub category: String,
    /// YYYY-MM-DD.
    pub due_at: Option<String>,
    #[uniffi(default = None)]
    pub assigned_to: Option<String>,
}

impl TryFrom<NewAction> for core::NewAction {
    type Error = core::CoreError;

    fn try_from(a: NewAction) -> std::result::Result<Self, Self::Error> {
        Ok(core::NewAction {
            person: id(&a.person)?,
            title: a.title,
            category: a.category,
            due_at: date("due_at", &a.due_at)?,
            assigned_to: a.assigned_to,
        })
    }
}

/// A due action.
#[derive(uniffi::Record)]
pub struct DueAction {
    pub id: String,
    pub person_name: Option<String>,
    pub title: Option<String>,
    pub due_at: Option<String>,
    pub overdue: bool,
}

/// A referral to add.
#[derive(uniffi::Record)]
pub struct NewReferral {
    pub person: String,
    /// siao_115, emergency_shelter, chrs, social_landlord, psychiatry_cmp, pass_health, day_centre, other
    pub target: String,
    pub target_name: Option<String>,
    /// YYYY-MM-DD; today when absent.
    pub date: Option<String>,
    /// sent (default), pending, accepted, refused, no_answer.
    #[uniffi(default = None)]
    pub status: Option<String>,
}

impl TryFrom<NewReferral> for core::NewReferral {
    type Error = core::CoreError;

    fn try_from(r: NewReferral) -> std::result::Result<Self, Self::Error> {
        Ok(core::NewReferral {
            person: id(&r.person)?,
            target: r.target,
            target_name: r.target_name,
            date: date("date", &r.date)?,
            status: r.status,
            household: None,
        })
    }
}

/// A period of a person's housing journey to record (a household's are recorded at the
/// office).
#[derive(uniffi::Record)]
pub struct NewPeriod {
    pub person: String,
    /// street, squat, car, emergency_shelter, hotel, chrs, supported_housing,
    /// residence_sociale, pension_de_famille, intermediation_locative, social_housing,
    /// private_housing, hospital, prison, other
    pub situation: String,
    /// YYYY-MM-DD
    pub started_on: String,
    /// YYYY-MM-DD, when it is over.
    #[uniffi(default = None)]
    pub ended_on: Option<String>,
    #[uniffi(default = None)]
    pub place: Option<String>,
    /// Why the period before it ended (moved_on, end_of_stay, exclusion, left, eviction,
    /// rent_arrears, hospital, prison, other).
    #[uniffi(default = None)]
    pub previous_end: Option<String>,
}

/// The person's own view of the support after a step.
#[derive(uniffi::Record)]
pub struct NewOwnView {
    pub person: String,
    /// home_found, six_months_in_home, support_end, other
    pub step: String,
    /// From 1 (not at all) to 5 (very).
    #[uniffi(default = None)]
    pub satisfaction: Option<i64>,
    #[uniffi(default = None)]
    pub what_helped: Option<String>,
    #[uniffi(default = None)]
    pub what_missing: Option<String>,
    #[uniffi(default = None)]
    pub own_words: Option<String>,
    /// Answers to the organisation's questions (its fields of `own_view`).
    #[uniffi(default = [])]
    pub answers: Vec<CustomField>,
}

/// A home of a person's or of their household's.
#[derive(uniffi::Record)]
pub struct Home {
    pub id: String,
    pub landlord: Option<String>,
    pub address: Option<String>,
    /// YYYY-MM-DD
    pub entered_on: Option<String>,
    pub left_on: Option<String>,
}

/// One step of a person's housing journey.
#[derive(uniffi::Record)]
pub struct JourneyStep {
    pub situation: String,
    /// YYYY-MM-DD
    pub started_on: String,
    /// YYYY-MM-DD; none while it lasts.
    pub ended_on: Option<String>,
    pub place: Option<String>,
    pub end_reason: Option<String>,
    /// The period record, when it was recorded as one (none when read from a change of the
    /// situation).
    pub period_id: Option<String>,
    /// The household whose period it is, when it is a household's.
    pub household_id: Option<String>,
}

/// A person's decision about sharing one category with one partner.
#[derive(uniffi::Record)]
pub struct NewConsent {
    pub person: String,
    /// siao, or one of the organisation's own partner codes.
    pub partner: String,
    /// identity_contact, situation_journey, housing_application, shared_assessment
    pub category: String,
    /// Given, or refused (a withdrawal is a refusal recorded later).
    pub given: bool,
    /// YYYY-MM-DD; today when absent.
    pub decided_on: Option<String>,
    /// oral, written, representative, other
    pub how: String,
    #[uniffi(default = None)]
    pub note: Option<String>,
}

impl TryFrom<NewConsent> for core::NewConsent {
    type Error = core::CoreError;

    fn try_from(c: NewConsent) -> std::result::Result<Self, Self::Error> {
        Ok(core::NewConsent {
            person: id(&c.person)?,
            partner: c.partner,
            category: c.category,
            given: c.given,
            decided_on: date("decided_on", &c.decided_on)?,
            how: c.how,
            note: c.note,
        })
    }
}

/// A consent decision, as recorded.
#[derive(uniffi::Record)]
pub struct Consent {
    pub id: String,
    pub partner: Option<String>,
    pub category: Option<String>,
    pub given: Option<bool>,
    pub decided_on: Option<String>,
    pub how: Option<String>,
    pub note: Option<String>,
}

impl From<core::Consent> for Consent {
    fn from(c: core::Consent) -> Self {
        Consent {
            id: c.id.to_string(),
            partner: c.partner,
            category: c.category,
            given: c.given,
            decided_on: c.decided_on.map(|d| d.to_string()),
            how: c.how,
            note: c.note,
        }
    }
}

/// A health professional's note to write (in a health store).
#[derive(uniffi::Record)]
pub struct NewHealthNote {
    /// The person, as the team's store knows them.
    pub person: String,
    /// YYYY-MM-DD; today when absent.
    pub on: Option<String>,
    /// consultation, care, mental_health, addiction, prevention, referral, other
    pub category: String,
    pub text: String,
    #[uniffi(default = None)]
    pub next_step: Option<String>,
}

/// A health note, as read on a health professional's device.
#[derive(uniffi::Record)]
pub struct HealthNote {
    pub id: String,
    pub on: Option<String>,
    pub professional: Option<String>,
    pub category: Option<String>,
    pub text: Option<String>,
    pub next_step: Option<String>,
}

impl From<core::HealthNote> for HealthNote {
    fn from(n: core::HealthNote) -> Self {
        HealthNote {
            id: n.id.to_string(),
            on: n.on.map(|d| d.to_string()),
            professional: n.professional,
            category: n.category,
            text: n.text,
            next_step: n.next_step,
        }
    }
}

/// A person's health details, as read on a health professional's device.
#[derive(uniffi::Record)]
pub struct HealthProfile {
    pub id: String,
    pub conditions: Option<String>,
    pub treatments: Option<String>,
    pub allergies: Option<String>,
    pub care_team: Option<String>,
}

impl From<core::HealthProfile> for HealthProfile {
    fn from(p: core::HealthProfile) -> Self {
        HealthProfile {
            id: p.id.to_string(),
            conditions: p.conditions,
            treatments: p.treatments,
            allergies: p.allergies,
            care_team: p.care_team,
        }
    }
}

/// The shared assessment beside a projection, written by the association and the partner.
#[derive(uniffi::Record)]
pub struct SharedAssessment {
    pub id: String,
    pub needs: Option<String>,
    pub resources: Option<String>,
    pub autonomy: Option<String>,
    pub housing_sought: Option<String>,
    pub own_words: Option<String>,
}

/// What a partner's (or a restricted) device sees of a person: the consented categories only.
#[derive(uniffi::Record)]
pub struct Projection {
    pub id: String,
    /// The categories published (consent codes).
    pub categories: Vec<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub other_names: Option<String>,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub languages: Option<String>,
    pub phone: Option<String>,
    pub situation: Option<String>,
    pub on_street_since: Option<String>,
    pub referrals: Option<String>,
    pub housing_actions: Option<String>,
    pub assessment: Option<SharedAssessment>,
}

impl From<core::partnership::Projection> for Projection {
    fn from(p: core::partnership::Projection) -> Self {
        Projection {
            id: p.id.to_string(),
            categories: p.categories,
            name: p.name,
            nickname: p.nickname,
            other_names: p.other_names,
            birth_year: p.birth_year,
            gender: p.gender,
            languages: p.languages,
            phone: p.phone,
            situation: p.situation,
            on_street_since: p.on_street_since.map(|d| d.to_string()),
            referrals: p.referrals,
            housing_actions: p.housing_actions,
            assessment: p.assessment.map(|a| SharedAssessment {
                id: a.id.to_string(),
                needs: a.needs,
                resources: a.resources,
                autonomy: a.autonomy,
                housing_sought: a.housing_sought,
                own_words: a.own_words,
            }),
        }
    }
}

/// One figure of a published report: its key (`encounters`, `s.food` for a service...) and the
/// current and previous periods' counts.
#[derive(uniffi::Record)]
pub struct Figure {
    pub key: String,
    pub current: i64,
    pub previous: i64,
}

/// A report the office published into its statistics space.
#[derive(uniffi::Record)]
pub struct PublishedReport {
    pub id: String,
    pub from: String,
    pub to: String,
    pub team: Option<String>,
    pub published_at_ms: i64,
    pub figures: Vec<Figure>,
}

impl From<core::PublishedReport> for PublishedReport {
    fn from(p: core::PublishedReport) -> Self {
        let figures = p
            .report
            .figures()
            .into_iter()
            .map(|(key, value)| {
                let mut parts = value.split(' ').map(|n| n.parse::<i64>().unwrap_or(0));
                Figure {
                    key,
                    current: parts.next().unwrap_or(0),
                    previous: parts.next().unwrap_or(0),
                }
            })
            .collect();
        PublishedReport {
            id: p.id.to_string(),
            from: p.report.from.to_string(),
            to: p.report.to.to_string(),
            team: p.report.team,
            published_at_ms: p.published_at_ms,
            figures,
        }
    }
}

/// A territory observation to add.
#[derive(uniffi::Record)]
pub struct NewObservation {
    pub territory: String,
    pub team: Option<String>,
    pub counts: Vec<Count>,
    pub notes: Option<String>,
    /// YYYY-MM-DD; today when absent.
    #[uniffi(default = None)]
    pub date: Option<String>,
}

impl TryFrom<NewObservation> for core::NewObservation {
    type Error = core::CoreError;

    fn try_from(o: NewObservation) -> std::result::Result<Self, Self::Error> {
        Ok(core::NewObservation {
            territory: o.territory,
            team: o.team,
            date: date("date", &o.date)?,
            counts: o.counts.into_iter().map(|c| (c.name, c.value)).collect(),
            notes: o.notes,
        })
    }
}

/// One of the organisation's own fields: a name and its text.
#[derive(uniffi::Record)]
pub struct CustomField {
    pub name: String,
    pub value: String,
}

/// One choice of a `choice` or `choices` field of the organisation.
#[derive(uniffi::Record)]
pub struct CustomChoice {
    pub code: String,
    pub label_fr: String,
    pub label_en: Option<String>,
}

/// The definition of one of the organisation's fields (a coordinator writes it; it reaches
/// every device with the sync).
#[derive(uniffi::Record)]
pub struct CustomFieldDefinition {
    /// `person` or `encounter`.
    pub kind: String,
    pub name: String,
    /// `text`, `number`, `date`, `yes_no`, `choice` or `choices`.
    pub field_type: String,
    pub label_fr: String,
    pub label_en: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub choices: Vec<CustomChoice>,
    /// Whether its values may reveal health or the like.
    pub sensitive: bool,
    /// A retired field takes no new value; the values written are kept.
    pub retired: bool,
}

impl From<core::CustomField> for CustomFieldDefinition {
    fn from(f: core::CustomField) -> Self {
        CustomFieldDefinition {
            kind: f.kind.name().to_string(),
            name: f.name,
            field_type: f.ty.name().to_string(),
            label_fr: f.fr,
            label_en: f.en,
            min: f.min,
            max: f.max,
            choices: f
                .choices
                .into_iter()
                .map(|c| CustomChoice {
                    code: c.code,
                    label_fr: c.fr,
                    label_en: c.en,
                })
                .collect(),
            sensitive: f.sensitive,
            retired: f.retired,
        }
    }
}

impl TryFrom<CustomFieldDefinition> for core::CustomField {
    type Error = core::CoreError;

    fn try_from(f: CustomFieldDefinition) -> std::result::Result<Self, Self::Error> {
        let invalid = |field: &str, reason: &str| core::CoreError::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        };
        Ok(core::CustomField {
            kind: core::Kind::from_name(&f.kind)
                .ok_or_else(|| invalid("kind", "is person or encounter"))?,
            name: f.name,
            ty: core::CustomType::from_name(&f.field_type).ok_or_else(|| {
                invalid(
                    "field_type",
                    "is text, number, date, yes_no, choice or choices",
                )
            })?,
            fr: f.label_fr,
            en: f.label_en,
            min: f.min,
            max: f.max,
            choices: f
                .choices
                .into_iter()
                .map(|c| core::Choice {
                    code: c.code,
                    fr: c.label_fr,
                    en: c.label_en,
                })
                .collect(),
            sensitive: f.sensitive,
            retired: f.retired,
        })
    }
}

/// One value of the organisation's fields as a screen shows it.
#[derive(uniffi::Record)]
pub struct CustomFieldValue {
    pub name: String,
    /// The field's label, or its name when this device holds no definition of it.
    pub label: String,
    /// Its type; none when this device holds no definition of it.
    pub field_type: Option<String>,
    /// The value as a person reads it (choices by their labels); empty when none was written.
    pub value: String,
    /// The value as the record keeps it.
    pub raw: String,
    pub retired: bool,
    /// What is wrong with the value, in one sentence, when it does not fit the definition here.
    pub problem: Option<String>,
}

impl From<core::CustomValue> for CustomFieldValue {
    fn from(v: core::CustomValue) -> Self {
        CustomFieldValue {
            name: v.name,
            label: v.label,
            field_type: v.ty.map(|t| t.name().to_string()),
            value: v.value,
            raw: v.raw,
            retired: v.retired,
            problem: v.problem,
        }
    }
}

fn lang(text: &str) -> std::result::Result<core::vocab::Lang, core::CoreError> {
    match text {
        "fr" => Ok(core::vocab::Lang::Fr),
        "en" => Ok(core::vocab::Lang::En),
        _ => Err(core::CoreError::InvalidInput {
            field: "lang".into(),
            reason: "is fr or en".into(),
        }),
    }
}

#[derive(uniffi::Record)]
pub struct Count {
    pub name: String,
    pub value: i64,
}

/// One field-level change of a record.
#[derive(uniffi::Record)]
pub struct HistoryEntry {
    pub at_ms: i64,
    pub worker: Option<String>,
    pub device_name: Option<String>,
    pub field: String,
    pub old: Vec<String>,
    pub new: Option<String>,
    pub creation: bool,
    pub relay_at_ms: Option<i64>,
    pub clock_off: bool,
}

/// What an entry of a person's timeline is.
#[derive(uniffi::Enum)]
pub enum TimelineKind {
    Encounter,
    Action,
    Referral,
    Consent,
    /// A health professional saw the person (the day in `title`; the content stays in the
    /// health space).
    HealthContact,
    /// A period of the housing journey (its situation in `title`, its days in `notes`).
    Period,
    /// A housing application (its kind in `title`, its number and status in `notes`).
    Application,
    /// The person joined a household (the relation in `title`, the days in `notes`).
    Household,
    /// A home (the landlord in `title`, the address and days in `notes`).
    Home,
    /// A risk to the home (its kind in `title`, the day and status in `notes`).
    Risk,
    /// A housing offer proposed (the outcome in `title`, the day in `notes`).
    Proposal,
    /// The person's own view (the step in `title`, the day and satisfaction in `notes`).
    OwnView,
    Change,
}

/// One entry of a person's merged visit history.
#[derive(uniffi::Record)]
pub struct TimelineEntry {
    pub at_ms: i64,
    pub kind: TimelineKind,
    pub record_id: String,
    pub worker: Option<String>,
    pub device_name: Option<String>,
    /// The place (encounters), title (actions), target (referrals) or field (changes).
    pub title: Option<String>,
    pub services: Vec<String>,
    pub notes: Option<String>,
    pub relay_at_ms: Option<i64>,
    pub clock_off: bool,
}

/// One value of a conflict.
#[derive(uniffi::Record)]
pub struct ConflictValue {
    pub value: String,
    pub worker: Option<String>,
    pub device_name: Option<String>,
    pub at_ms: i64,
}

/// A field with concurrent values.
#[derive(uniffi::Record)]
pub struct Conflict {
    pub record_id: String,
    pub record_label: String,
    pub field: String,
    pub values: Vec<ConflictValue>,
}

fn timeline_entry(e: core::TimelineEntry) -> TimelineEntry {
    use core::TimelineItem as I;
    let (kind, record_id, title, services, notes) = match e.item {
        I::Encounter {
            id,
            place,
            services,
            notes,
            ..
        } => (
            TimelineKind::Encounter,
            id.to_string(),
            place,
            services,
            notes,
        ),
        I::Action { id, title, .. } => (TimelineKind::Action, id.to_string(), title, vec![], None),
        I::Referral { id, target, .. } => {
            (TimelineKind::Referral, id.to_string(), target, vec![], None)
        }
        I::Consent {
            id,
            partner,
            category,
            given,
            ..
        } => (
            TimelineKind::Consent,
            id.to_string(),
            category,
            vec![],
            Some(format!(
                "{}: {}",
                partner.unwrap_or_default(),
                if given == Some(true) {
                    "given"
                } else {
                    "refused"
                }
            )),
        ),
        I::HealthContact { id, on } => (
            TimelineKind::HealthContact,
            id.to_string(),
            on.map(|d| d.to_string()),
            vec![],
            None,
        ),
        I::Period {
            id,
            situation,
            started_on,
            ended_on,
            place,
        } => (
            TimelineKind::Period,
            id.to_string(),
            situation,
            vec![],
            Some(
                format!(
                    "{} → {} {}",
                    started_on.map(|d| d.to_string()).unwrap_or_default(),
                    ended_on.map(|d| d.to_string()).unwrap_or_default(),
                    place.unwrap_or_default()
                )
                .trim()
                .to_string(),
            ),
        ),
        I::Application {
            id,
            kind,
            number,
            status,
        } => (
            TimelineKind::Application,
            id.to_string(),
            kind,
            vec![],
            Some(
                format!(
                    "{} {}",
                    number.unwrap_or_default(),
                    status.unwrap_or_default()
                )
                .trim()
                .to_string(),
            ),
        ),
        I::Home {
            id,
            landlord,
            address,
            entered_on,
            left_on,
        } => (
            TimelineKind::Home,
            id.to_string(),
            landlord,
            vec![],
            Some(format!(
                "{} {} → {}",
                address.unwrap_or_default(),
                entered_on.map(|d| d.to_string()).unwrap_or_default(),
                left_on.map(|d| d.to_string()).unwrap_or_default()
            )),
        ),
        I::Risk {
            id,
            risk,
            raised_on,
            status,
        } => (
            TimelineKind::Risk,
            id.to_string(),
            risk,
            vec![],
            Some(format!(
                "{} {}",
                raised_on.map(|d| d.to_string()).unwrap_or_default(),
                status.unwrap_or_default()
            )),
        ),
        I::OwnView {
            id,
            step,
            on,
            satisfaction,
        } => (
            TimelineKind::OwnView,
            id.to_string(),
            step,
            vec![],
            Some(format!(
                "{} {}",
                on.map(|d| d.to_string()).unwrap_or_default(),
                satisfaction.map(|s| format!("{s}/5")).unwrap_or_default()
            )),
        ),
        I::Proposal {
            id,
            proposed_on,
            outcome,
            ..
        } => (
            TimelineKind::Proposal,
            id.to_string(),
            outcome,
            vec![],
            proposed_on.map(|d| d.to_string()),
        ),
        I::Household {
            id,
            relation,
            joined_on,
            left_on,
            ..
        } => (
            TimelineKind::Household,
            id.to_string(),
            relation,
            vec![],
            Some(format!(
                "{} → {}",
                joined_on.map(|d| d.to_string()).unwrap_or_default(),
                left_on.map(|d| d.to_string()).unwrap_or_default()
            )),
        ),
        I::Change(h) => (
            TimelineKind::Change,
            h.record_id.to_string(),
            Some(h.field),
            vec![],
            h.new.map(|v| v.to_string()),
        ),
    };
    TimelineEntry {
        at_ms: e.at.timestamp_millis(),
        kind,
        record_id,
        worker: e.author.worker,
        device_name: e.author.device_name,
        title,
        services,
        notes,
        relay_at_ms: ms(e.relay_at),
        clock_off: e.clock_off,
    }
}

/// One HTTP request to the relay, for a shell's own HTTP stack (OkHttp, URLSession).
#[derive(uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    pub url: String,
    /// Headers to send (authorization, content type).
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

#[derive(uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// The relay's answer.
#[derive(uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a shell's HTTP stack got no answer.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum HttpFailure {
    #[error("no answer: {detail}")]
    Unreachable { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HttpFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpFailure::Unreachable { detail: e.reason }
    }
}

/// A shell's HTTP stack: it moves bytes; the core builds and reads the requests.
#[uniffi::export(with_foreign)]
pub trait HttpExchange: Send + Sync {
    fn send(&self, request: HttpRequest) -> std::result::Result<HttpResponse, HttpFailure>;
}

/// Where a sync round is (for a progress bar) and when records changed (to refresh a screen).
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, pushed: u64, to_push: u64, pulled: u64);
    fn on_records_changed(&self);
}

/// What a sync round did.
#[derive(uniffi::Record)]
pub struct SyncSummary {
    pub pushed: u64,
    pub pulled: u64,
    pub new_changes: u64,
    pub new_conflicts: u64,
    pub cursor: u64,
    /// Envelopes set aside this round (see `Store::set_aside`).
    pub quarantined: u64,
    pub held: u64,
    /// Whether this device holds the space's key (a device that just joined waits for a
    /// coordinator's device to sync).
    pub has_space_key: bool,
}

/// What erasing a person did here, in counts (see `Store::erase_person`).
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub records: u64,
    pub encounters: u64,
    /// Shared encounters re-issued without the erased person.
    pub reissued: u64,
    pub actions: u64,
    pub referrals: u64,
    pub consents: u64,
    /// Health contacts (no content: the team's store holds no health note).
    pub health: u64,
    pub changes: u64,
    /// Blinded ids the order lists for the relay (0 outside a space).
    pub blinded: u64,
}

impl From<core::Erasure> for Erasure {
    fn from(e: core::Erasure) -> Self {
        Erasure {
            records: e.records as u64,
            encounters: e.encounters as u64,
            reissued: e.reissued as u64,
            actions: e.actions as u64,
            referrals: e.referrals as u64,
            consents: e.consents as u64,
            health: e.health as u64,
            changes: e.changes as u64,
            blinded: e.blinded as u64,
        }
    }
}

/// An envelope sync set aside, as listed to a coordinator.
#[derive(uniffi::Record, Clone, Debug, PartialEq, Eq)]
pub struct SetAside {
    pub seq: u64,
    pub quarantined: bool,
    pub reason: String,
    pub received_at_ms: i64,
    pub size: u64,
}

/// A shell's HTTP stack as the protocol's exchange.
struct Foreign(Arc<dyn HttpExchange>);

impl allervers_client::Exchange for Foreign {
    fn exchange(
        &self,
        r: allervers_client::HttpRequest,
    ) -> std::result::Result<(u16, Vec<u8>), allervers_client::TransportError> {
        let mut headers = vec![HttpHeader {
            name: "Content-Type".into(),
            value: allervers_protocol::CONTENT_TYPE.into(),
        }];
        if let Some(token) = r.bearer {
            headers.push(HttpHeader {
                name: "Authorization".into(),
                value: format!("Bearer {token}"),
            });
        }
        let request = HttpRequest {
            method: r.method.into(),
            url: r.url,
            headers,
            body: r.body,
        };
        match self.0.send(request) {
            Ok(response) => Ok((response.status, response.body)),
            Err(HttpFailure::Unreachable { detail }) => {
                Err(allervers_client::TransportError::Unreachable(detail))
            }
        }
    }
}

/// The HTTP stack a call uses: the shell's, or the built-in client (plain HTTP only).
enum Http {
    Foreign(Foreign),
    Builtin(allervers_client::HttpClient),
}

impl From<Option<Arc<dyn HttpExchange>>> for Http {
    fn from(exchange: Option<Arc<dyn HttpExchange>>) -> Self {
        match exchange {
            Some(e) => Http::Foreign(Foreign(e)),
            None => Http::Builtin(allervers_client::HttpClient::default()),
        }
    }
}

impl allervers_client::Exchange for Http {
    fn exchange(
        &self,
        r: allervers_client::HttpRequest,
    ) -> std::result::Result<(u16, Vec<u8>), allervers_client::TransportError> {
        match self {
            Http::Foreign(f) => f.exchange(r),
            Http::Builtin(b) => b.exchange(r),
        }
    }
}

/// The encrypted store of this device.
#[derive(uniffi::Object)]
pub struct Store {
    inner: core::Store,
    listener: std::sync::Mutex<Option<Arc<dyn SyncListener>>>,
}

impl Store {
    /// The core's store, for the other objects of the bindings (the field app).
    pub(crate) fn core(&self) -> &core::Store {
        &self.inner
    }

    /// One sync round, telling the listener its progress and whether records changed (the
    /// sync of `Store::sync` and of the field app's `FieldApp::sync`).
    pub(crate) fn run_sync(
        &self,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> std::result::Result<core::SyncSummary, core::CoreError> {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let summary = allervers_client::sync(&self.inner, &Http::from(exchange), &mut |p| {
            if let Some(l) = &listener {
                match p {
                    core::SyncProgress::Pushing { done, total } => {
                        l.on_progress(done as u64, total as u64, 0)
                    }
                    core::SyncProgress::Pulling { received } => {
                        l.on_progress(0, 0, received as u64)
                    }
                }
            }
        })?;
        if summary.new_changes > 0 {
            if let Some(l) = &listener {
                l.on_records_changed();
            }
        }
        Ok(summary)
    }
}

#[uniffi::export]
impl Store {
    /// Creates the store of a new device. `key` is 32 random bytes kept in the Keystore or the
    /// Keychain.
    #[uniffi::constructor]
    pub fn create(
        path: String,
        key: Vec<u8>,
        device_name: String,
        worker: String,
    ) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::RawKey::from_slice(&key)?;
            Ok(Arc::new(Store {
                inner: core::Store::create(
                    std::path::Path::new(&path),
                    &key,
                    &device_name,
                    &worker,
                )?,
                listener: Default::default(),
            }))
        })
    }

    /// Creates the health store of a health professional's device, beside its team's store:
    /// its key is derived from the team store's `team_key` (the shell keeps one key).
    #[uniffi::constructor]
    pub fn create_health(
        path: String,
        team_key: Vec<u8>,
        device_name: String,
        worker: String,
    ) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::health_store_key(&core::RawKey::from_slice(&team_key)?);
            let inner =
                core::Store::create(std::path::Path::new(&path), &key, &device_name, &worker)?;
            inner.make_health_store()?;
            Ok(Arc::new(Store {
                inner,
                listener: Default::default(),
            }))
        })
    }

    /// Opens a health store made by `create_health`, with the team store's key.
    #[uniffi::constructor]
    pub fn open_health(path: String, team_key: Vec<u8>) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::health_store_key(&core::RawKey::from_slice(&team_key)?);
            Ok(Arc::new(Store {
                inner: core::Store::open(std::path::Path::new(&path), &key)?,
                listener: Default::default(),
            }))
        })
    }

    /// Creates the office's store of a partnership (or of its `restricted` devices) beside its
    /// team's store, under a key derived from the team store's `team_key` and the partner.
    #[uniffi::constructor]
    pub fn create_partnership(
        path: String,
        team_key: Vec<u8>,
        partner: String,
        device_name: String,
        worker: String,
    ) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::partnership_store_key(&core::RawKey::from_slice(&team_key)?, &partner);
            let inner =
                core::Store::create(std::path::Path::new(&path), &key, &device_name, &worker)?;
            inner.make_partnership_store(&partner)?;
            Ok(Arc::new(Store {
                inner,
                listener: Default::default(),
            }))
        })
    }

    /// Opens a partnership store made by `create_partnership`, with the team store's key.
    #[uniffi::constructor]
    pub fn open_partnership(
        path: String,
        team_key: Vec<u8>,
        partner: String,
    ) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::partnership_store_key(&core::RawKey::from_slice(&team_key)?, &partner);
            Ok(Arc::new(Store {
                inner: core::Store::open(std::path::Path::new(&path), &key)?,
                listener: Default::default(),
            }))
        })
    }

    /// Opens an existing store; a wrong key is `FfiError::WrongKey`.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Store>> {
        guard(|| {
            let key = core::RawKey::from_slice(&key)?;
            Ok(Arc::new(Store {
                inner: core::Store::open(std::path::Path::new(&path), &key)?,
                listener: Default::default(),
            }))
        })
    }

    pub fn identity(&self) -> Identity {
        let me = self.inner.identity();
        Identity {
            device: me.device.to_string(),
            device_name: me.device_name.clone(),
            // Who uses the phone now (a shared phone names them with `set_worker`).
            worker: self.inner.worker(),
        }
    }

    pub fn add_person(&self, person: NewPerson) -> Result<String> {
        guard(|| Ok(self.inner.add_person(&person.try_into()?)?.to_string()))
    }

    /// Sets one field of a person (or any record) by name, as text (`"situation"`, `"hotel"`).
    pub fn set_field(&self, record: String, field: String, value: String) -> Result<()> {
        guard(|| {
            let record = id(&record)?;
            let edit = self
                .inner
                .edit_from_text(self.inner.kind_of(record)?, &field, &value)?;
            self.inner.edit(record, &[edit])
        })
    }

    /// The organisation's fields of `kind` (`person` or `encounter`), retired ones included.
    pub fn custom_fields(&self, kind: String) -> Result<Vec<CustomFieldDefinition>> {
        guard(|| {
            let kind = core::Kind::from_name(&kind).ok_or(core::CoreError::InvalidInput {
                field: "kind".into(),
                reason: "is person or encounter".into(),
            })?;
            Ok(self
                .inner
                .custom_fields(Some(kind))?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Defines one of the organisation's fields, or changes its definition (a coordinator's
    /// device only).
    pub fn define_custom_field(&self, definition: CustomFieldDefinition) -> Result<()> {
        guard(|| self.inner.define_field(&definition.try_into()?))
    }

    /// Sets one value of the organisation's fields on a person or an encounter, checked against
    /// its definition (an empty value clears it).
    pub fn set_custom_value(&self, record: String, name: String, value: String) -> Result<()> {
        guard(|| self.inner.set_custom_value(id(&record)?, &name, &value))
    }

    /// The values of the organisation's fields a person or an encounter holds, labelled in
    /// `lang` (`fr` or `en`), each flagged when it does not fit its definition here.
    pub fn custom_values(
        &self,
        record: String,
        lang_code: String,
    ) -> Result<Vec<CustomFieldValue>> {
        guard(|| {
            let record = id(&record)?;
            let lang = lang(&lang_code)?;
            let (kind, values) = match self.inner.record(record)? {
                core::Record::Person(p) => (core::Kind::Person, p.custom),
                core::Record::Encounter(e) => (core::Kind::Encounter, e.custom),
                _ => {
                    return Err(core::CoreError::InvalidInput {
                        field: "record".into(),
                        reason: "is neither a person nor an encounter".into(),
                    })
                }
            };
            Ok(self
                .inner
                .custom_values(kind, &values, lang)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// One person's file; its reading is logged in this device's access log, and refused
    /// (`StorageFull`, `StorageReadOnly`) when it cannot be.
    pub fn person(&self, id_text: String) -> Result<Person> {
        guard(|| {
            Ok(self
                .inner
                .open_person(id(&id_text)?, core::Via::App)?
                .into())
        })
    }

    /// Merges `other` into `keep` (one person recorded twice): `other` leaves the lists, and
    /// every list, timeline and report counts them as one.
    pub fn merge_persons(&self, keep: String, other: String) -> Result<()> {
        guard(|| self.inner.merge_persons(id(&keep)?, id(&other)?))
    }

    /// Undoes a merge: `other` stands for themselves again.
    pub fn unmerge_person(&self, other: String) -> Result<()> {
        guard(|| self.inner.unmerge_person(id(&other)?))
    }

    pub fn list_persons(
        &self,
        search: Option<String>,
        sort: PersonSort,
        limit: u32,
    ) -> Result<Vec<PersonSummary>> {
        guard(|| {
            let list = self.inner.list_persons(&core::PersonQuery {
                search,
                sort: match sort {
                    PersonSort::RecentlySeen => core::PersonSort::RecentlySeen,
                    PersonSort::Name => core::PersonSort::Name,
                },
                limit: limit as usize,
                include_inactive: false,
            })?;
            Ok(list
                .into_iter()
                .map(|p| PersonSummary {
                    id: p.id.to_string(),
                    display_name: p.display_name,
                    situation: p.situation,
                    last_seen_at_ms: ms(p.last_seen_at),
                })
                .collect())
        })
    }

    pub fn log_encounter(&self, encounter: NewEncounter) -> Result<String> {
        guard(|| {
            Ok(self
                .inner
                .log_encounter(&encounter.try_into()?)?
                .to_string())
        })
    }

    pub fn add_action(&self, action: NewAction) -> Result<String> {
        guard(|| Ok(self.inner.add_action(&action.try_into()?)?.to_string()))
    }

    pub fn add_referral(&self, referral: NewReferral) -> Result<String> {
        guard(|| Ok(self.inner.add_referral(&referral.try_into()?)?.to_string()))
    }

    /// Records a period of a person's housing journey; an open-ended one that starts after
    /// every other is their situation now.
    pub fn add_period(&self, period: NewPeriod) -> Result<String> {
        guard(|| {
            let started_on = date("started_on", &Some(period.started_on))?.ok_or_else(|| {
                core::CoreError::InvalidInput {
                    field: "started_on".into(),
                    reason: "is required".into(),
                }
            })?;
            let new = core::NewPeriod {
                concerns: core::Concerns::Person(id(&period.person)?),
                situation: period.situation,
                started_on,
                ended_on: date("ended_on", &period.ended_on)?,
                place: period.place,
                end_reason: None,
                notes: None,
            };
            Ok(self
                .inner
                .add_period(&new, period.previous_end.as_deref())?
                .to_string())
        })
    }

    /// Records the person's own view of the support (during a home visit, often).
    pub fn record_own_view(&self, view: NewOwnView) -> Result<String> {
        guard(|| {
            let new = core::NewOwnView {
                person: id(&view.person)?,
                step: view.step,
                on: None,
                satisfaction: view.satisfaction,
                what_helped: view.what_helped,
                what_missing: view.what_missing,
                own_words: view.own_words,
                answers: view
                    .answers
                    .into_iter()
                    .map(|a| (a.name, a.value))
                    .collect(),
            };
            Ok(self.inner.record_own_view(&new)?.to_string())
        })
    }

    /// The homes of a person and of their household now, the latest entry first.
    pub fn homes(&self, person: String) -> Result<Vec<Home>> {
        guard(|| {
            Ok(self
                .inner
                .homes(Some(core::Concerns::Person(id(&person)?)))?
                .into_iter()
                .map(|h| Home {
                    id: h.id.to_string(),
                    landlord: h.landlord,
                    address: h.address,
                    entered_on: h.entered_on.map(|d| d.to_string()),
                    left_on: h.left_on.map(|d| d.to_string()),
                })
                .collect())
        })
    }

    /// Raises a risk about a home (rent_arrears, neighbour_conflict, isolation, health,
    /// eviction_planned, other), seen during a visit.
    pub fn raise_risk(
        &self,
        home: String,
        risk: String,
        raised_by: Option<String>,
        notes: Option<String>,
    ) -> Result<String> {
        guard(|| {
            Ok(self
                .inner
                .raise_risk(&core::NewRiskSignal {
                    home: id(&home)?,
                    risk,
                    raised_on: None,
                    raised_by,
                    notes,
                })?
                .to_string())
        })
    }

    /// A person's housing journey, the earliest period first: their own periods, their
    /// households', and the changes of their situation.
    pub fn journey(&self, person: String) -> Result<Vec<JourneyStep>> {
        guard(|| {
            Ok(self
                .inner
                .journey(id(&person)?)?
                .into_iter()
                .map(|s| JourneyStep {
                    situation: s.situation,
                    started_on: s.from.to_string(),
                    ended_on: s.to.map(|d| d.to_string()),
                    place: s.place,
                    end_reason: s.end_reason,
                    period_id: s.period.map(|p| p.to_string()),
                    household_id: s.household.map(|h| h.to_string()),
                })
                .collect())
        })
    }

    /// Records consent decisions, all or none; their ids out.
    pub fn record_consents(&self, consents: Vec<NewConsent>) -> Result<Vec<String>> {
        guard(|| {
            let consents = consents
                .into_iter()
                .map(core::NewConsent::try_from)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(self
                .inner
                .record_consents(&consents)?
                .into_iter()
                .map(|id| id.to_string())
                .collect())
        })
    }

    /// The person's consent now: the latest decision per partner and category (a read of
    /// their file, logged).
    pub fn current_consents(&self, person: String) -> Result<Vec<Consent>> {
        guard(|| {
            let decisions = self.inner.open_consents(id(&person)?, core::Via::App)?;
            Ok(self
                .inner
                .consent_now(decisions)
                .into_iter()
                .map(Consent::from)
                .collect())
        })
    }

    /// Records what became of a referral (status: sent, pending, accepted, refused, no_answer).
    pub fn update_referral(
        &self,
        referral: String,
        status: Option<String>,
        outcome: Option<String>,
    ) -> Result<()> {
        guard(|| {
            self.inner
                .update_referral(id(&referral)?, status.as_deref(), outcome.as_deref())
        })
    }

    pub fn add_observation(&self, observation: NewObservation) -> Result<String> {
        guard(|| {
            Ok(self
                .inner
                .add_observation(&observation.try_into()?)?
                .to_string())
        })
    }

    /// The field-level history of any record, in causal order.
    pub fn history(&self, record: String) -> Result<Vec<HistoryEntry>> {
        guard(|| {
            Ok(self
                .inner
                .open_history(id(&record)?, core::Via::App)?
                .into_iter()
                .map(|h| HistoryEntry {
                    at_ms: h.at.timestamp_millis(),
                    worker: h.author.worker,
                    device_name: h.author.device_name,
                    field: h.field,
                    old: h.old.iter().map(|v| v.to_string()).collect(),
                    new: h.new.map(|v| v.to_string()),
                    creation: h.creation,
                    relay_at_ms: ms(h.relay_at),
                    clock_off: h.clock_off,
                })
                .collect())
        })
    }

    pub fn complete_action(&self, action: String, comment: Option<String>) -> Result<()> {
        guard(|| self.inner.complete_action(id(&action)?, comment.as_deref()))
    }

    pub fn due_actions(&self) -> Result<Vec<DueAction>> {
        guard(|| {
            Ok(self
                .inner
                .due_actions(None)?
                .into_iter()
                .map(|a| DueAction {
                    id: a.id.to_string(),
                    person_name: a.person_name,
                    title: a.title,
                    due_at: a.due_at.map(|d| d.to_string()),
                    overdue: a.overdue,
                })
                .collect())
        })
    }

    /// A person's merged timeline; its reading is logged like `person`'s.
    pub fn timeline(&self, person: String) -> Result<Vec<TimelineEntry>> {
        guard(|| {
            Ok(self
                .inner
                .open_timeline(id(&person)?, core::Via::App)?
                .into_iter()
                .map(timeline_entry)
                .collect())
        })
    }

    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        guard(|| {
            Ok(self
                .inner
                .conflicts()?
                .into_iter()
                .map(|c| Conflict {
                    record_id: c.record_id.to_string(),
                    record_label: c.record_label,
                    field: c.field,
                    values: c
                        .values
                        .into_iter()
                        .map(|v| ConflictValue {
                            value: v.value.to_string(),
                            worker: v.author.worker,
                            device_name: v.author.device_name,
                            at_ms: v.at.timestamp_millis(),
                        })
                        .collect(),
                })
                .collect())
        })
    }

    pub fn resolve(&self, record: String, field: String, value: String) -> Result<()> {
        guard(|| self.inner.resolve(id(&record)?, &field, &value))
    }

    pub fn pending_changes(&self) -> Result<u64> {
        guard(|| self.inner.pending_changes())
    }

    /// How many persons are due for the retention review (no contact for the organisation's
    /// retention period): for a coordinator's phone; a worker's device is refused.
    pub fn retention_due_count(&self) -> Result<u64> {
        guard(|| self.inner.retention_due_count())
    }

    /// Every change of this store sealed with a passphrase (a bundle file's bytes).
    pub fn export_bundle(&self, passphrase: String) -> Result<Vec<u8>> {
        guard(|| self.inner.export_bundle_by(&passphrase, core::Via::App))
    }

    /// Registers a coordinator's new space at a relay (`admin_token` is the relay's), and
    /// returns its recovery code: show it once, to be printed and kept in a safe (it makes a
    /// new device the coordinator if every coordinator's device is lost).
    /// `exchange`: the shell's HTTP stack, or none for the built-in client (plain HTTP only).
    pub fn create_space(
        &self,
        name: String,
        relay: String,
        admin_token: String,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> Result<String> {
        guard(|| {
            let http = Http::from(exchange);
            allervers_client::create_space(&self.inner, &http, &relay, &admin_token, &name)?;
            Ok(allervers_client::recovery_code(&self.inner, &http)?.code())
        })
    }

    /// A new recovery code for this device's space (coordinator); the one before stops working.
    pub fn recovery_code(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<String> {
        guard(|| Ok(allervers_client::recovery_code(&self.inner, &Http::from(exchange))?.code()))
    }

    /// Recovers a space with its recovery code (a new device, in no space yet): it becomes the
    /// space's coordinator.
    pub fn recover(&self, code: String, exchange: Option<Arc<dyn HttpExchange>>) -> Result<()> {
        guard(|| allervers_client::recover(&self.inner, &Http::from(exchange), &code).map(|_| ()))
    }

    /// A one-time invite code for a new device, valid seven days (coordinator).
    pub fn invite(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<String> {
        guard(|| {
            let expires_at_ms = self.inner.now().timestamp_millis() + 7 * 86_400_000;
            Ok(allervers_client::invite(&self.inner, &Http::from(exchange), expires_at_ms)?.code())
        })
    }

    /// Joins the space of an invite code.
    pub fn join(&self, code: String, exchange: Option<Arc<dyn HttpExchange>>) -> Result<()> {
        guard(|| allervers_client::join(&self.inner, &Http::from(exchange), &code).map(|_| ()))
    }

    /// Follows the space's relay to its new address (`url`), after its operator moved it with
    /// its data: the new address is asked first, with this device's token, whether it holds
    /// what this device already received, and kept only then (cursors stay: nothing is fetched
    /// again). Refused with nothing changed when it does not; a revoked device obeys the wipe
    /// order as a sync would (`FfiError::Wiped`).
    pub fn set_relay(&self, url: String, exchange: Option<Arc<dyn HttpExchange>>) -> Result<()> {
        guard(|| {
            allervers_client::set_relay(&self.inner, &Http::from(exchange), None, &url).map(|_| ())
        })
    }

    /// Whether this store belongs to a space.
    pub fn is_enrolled(&self) -> Result<bool> {
        guard(|| Ok(self.inner.membership()?.is_some()))
    }

    /// Called with sync progress and after records changed through a sync.
    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
    }

    /// Pushes this device's changes and pulls everyone else's (its outcome is recorded in the
    /// store: the field app's sync screen shows it, and its first screen says it once).
    pub fn sync(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<SyncSummary> {
        let summary = guard(|| self.run_sync(exchange))?;
        let has_space_key = guard(|| match self.inner.membership()? {
            Some(m) => self.inner.holds_space_key(&m.space),
            None => Ok(false),
        })?;
        Ok(SyncSummary {
            pushed: summary.pushed as u64,
            pulled: summary.pulled as u64,
            new_changes: summary.new_changes as u64,
            new_conflicts: summary.new_conflicts as u64,
            cursor: summary.cursor,
            quarantined: summary.quarantined as u64,
            held: summary.held as u64,
            has_space_key,
        })
    }

    /// Names the worker using this (shared) phone from now on: each change it writes records
    /// them.
    pub fn set_worker(&self, name: String) -> Result<()> {
        guard(|| self.inner.set_worker(&name))
    }

    /// The envelopes sync set aside: quarantined ones with the check they failed, held ones
    /// with the key they wait for (a coordinator's device).
    pub fn set_aside(&self) -> Result<Vec<SetAside>> {
        guard(|| {
            let m = self
                .inner
                .membership()?
                .ok_or(core::CoreError::NotEnrolled)?;
            if !m.coordinator {
                return Err(core::CoreError::InvalidInput {
                    field: "quarantine".into(),
                    reason: "only a coordinator's device lists what sync set aside".into(),
                });
            }
            Ok(self
                .inner
                .set_aside(&m.space)?
                .into_iter()
                .map(|a| SetAside {
                    seq: a.seq,
                    quarantined: a.quarantined,
                    reason: a.reason,
                    received_at_ms: a.received_at_ms,
                    size: a.size as u64,
                })
                .collect())
        })
    }

    /// Delivers the space's keys to a device that enrolled with another coordinator's invite,
    /// at the next sync (a coordinator's device); `device` is its id or first hex digits.
    pub fn approve(&self, device: String) -> Result<String> {
        guard(|| Ok(self.inner.approve(&device)?.to_string()))
    }

    /// Revokes a device (a coordinator's device; `device` is its full hex id): the relay hands
    /// it a wipe order signed here and a new key epoch starts for the others. Returns the new
    /// epoch.
    pub fn revoke(&self, device: String, exchange: Option<Arc<dyn HttpExchange>>) -> Result<u32> {
        guard(|| {
            let id = allervers_protocol::parse_hex_id(device.trim()).ok_or_else(|| {
                core::CoreError::InvalidInput {
                    field: "device".into(),
                    reason: "is not a device id (32 hex digits)".into(),
                }
            })?;
            let done = allervers_client::revoke(
                &self.inner,
                &Http::from(exchange),
                &core::DeviceId::from_bytes(&id),
            )?;
            Ok(done.epoch)
        })
    }

    /// Erases a person's file (the right to erasure; a coordinator's device, or a store outside
    /// any space): done here at once, and on every other device and at the relay once the order
    /// is posted, at the next sync. Shared encounters are re-issued without them (notes left
    /// out).
    pub fn erase_person(&self, person: String, reason: String) -> Result<Erasure> {
        guard(|| {
            Ok(self
                .inner
                .erase_person(id(&person)?, &reason, false)?
                .into())
        })
    }

    /// Whether this is a health store (a health professional's, beside the team's).
    pub fn is_health_store(&self) -> bool {
        self.inner.is_health_store()
    }

    /// A one-time code with which the first health professional's device founds the team's
    /// health space (a coordinator's device of the team), valid seven days.
    pub fn health_space_code(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<String> {
        guard(|| {
            let expires_at_ms = self.inner.now().timestamp_millis() + 7 * 86_400_000;
            Ok(
                allervers_client::space_code(&self.inner, &Http::from(exchange), expires_at_ms)?
                    .code(),
            )
        })
    }

    /// Founds the team's health space with a coordinator's code (this health store, new;
    /// `team` the team's store beside it, whose roster declares the space): returns the health
    /// space's recovery code, to show once.
    pub fn found_health_space(
        &self,
        team: Arc<Store>,
        code: String,
        name: String,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> Result<String> {
        guard(|| {
            let http = Http::from(exchange);
            allervers_client::found_health_space(&self.inner, &team.inner, &http, &code, &name)?;
            Ok(allervers_client::recovery_code(&self.inner, &http)?.code())
        })
    }

    /// Joins the team's health space with a health professional's invite (this health store,
    /// new; `team` the team's store beside it): an invite to the team's own space is refused.
    pub fn join_health_space(
        &self,
        team: Arc<Store>,
        code: String,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> Result<()> {
        guard(|| {
            allervers_client::join_health_space(
                &self.inner,
                &team.inner,
                &Http::from(exchange),
                &code,
            )
            .map(|_| ())
        })
    }

    /// Writes a health note in this health store, and the health contact (the person and the
    /// day, no content) in `team`, the team's store.
    pub fn add_health_note(&self, team: Arc<Store>, note: NewHealthNote) -> Result<String> {
        guard(|| {
            let person = id(&note.person)?;
            let on = date("on", &note.on)?.unwrap_or_else(|| team.inner.now().date_naive());
            if team.inner.kind_of(person)? != core::Kind::Person {
                return Err(core::CoreError::RecordNotFound(person));
            }
            let made = self.inner.add_health_note(&core::NewHealthNote {
                person,
                on: Some(on),
                professional: self.inner.worker(),
                category: note.category,
                text: note.text,
                next_step: note.next_step,
            })?;
            team.inner.add_health_contact(person, on)?;
            Ok(made.to_string())
        })
    }

    /// A person's health notes (this health store), logged in its access log.
    pub fn health_notes(&self, person: String) -> Result<Vec<HealthNote>> {
        guard(|| {
            Ok(self
                .inner
                .open_health_notes(id(&person)?, core::Via::App)?
                .into_iter()
                .map(HealthNote::from)
                .collect())
        })
    }

    /// Sets one of a person's health details (`conditions`, `treatments`, `allergies`,
    /// `care_team`) in this health store.
    pub fn set_health_detail(&self, person: String, field: String, value: String) -> Result<()> {
        guard(|| {
            let edit = self
                .inner
                .edit_from_text(core::Kind::HealthProfile, &field, &value)?;
            self.inner
                .set_health_profile(id(&person)?, &[edit])
                .map(|_| ())
        })
    }

    /// A person's health details (this health store), logged in its access log.
    pub fn health_profiles(&self, person: String) -> Result<Vec<HealthProfile>> {
        guard(|| {
            let person = id(&person)?;
            let profiles = self.inner.health_profiles(person)?;
            self.inner
                .log_access(&[core::Access::Health { person }], core::Via::App)?;
            Ok(profiles.into_iter().map(HealthProfile::from).collect())
        })
    }

    /// Makes the professionals this health store let into the health space coordinators of it
    /// (after a sync of a coordinator's health store): how many.
    pub fn promote_professionals(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<u64> {
        guard(|| {
            Ok(allervers_client::promote_professionals(&self.inner, &Http::from(exchange))? as u64)
        })
    }

    /// Erases, in this health store, the notes of the persons `team` erased; after both synced.
    pub fn follow_team_erasures(&self, team: Arc<Store>) -> Result<u64> {
        guard(|| Ok(self.inner.follow_team_erasures(&team.inner)? as u64))
    }

    /// Joins a partnership space (a partner's or a restricted device, this store new): the
    /// store becomes that partnership's.
    pub fn join_partnership(
        &self,
        code: String,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> Result<()> {
        guard(|| {
            let invite = self.inner.read_invite(&code)?;
            self.inner.make_partnership_store(&invite.name)?;
            allervers_client::join(&self.inner, &Http::from(exchange), &code).map(|_| ())
        })
    }

    /// Joins the office's statistics space (a statistics-only device, this store new).
    pub fn join_statistics(
        &self,
        code: String,
        exchange: Option<Arc<dyn HttpExchange>>,
    ) -> Result<()> {
        guard(|| {
            self.inner.read_invite(&code)?;
            self.inner.make_statistics_store()?;
            allervers_client::join(&self.inner, &Http::from(exchange), &code).map(|_| ())
        })
    }

    /// Publishes to `partnership` (the office's partnership store) what each person's consent
    /// now gives its partner (every active person, for `restricted`); this is the team's store.
    /// Returns how many projections were written.
    pub fn publish(&self, partnership: Arc<Store>) -> Result<u64> {
        guard(|| {
            Ok(self
                .inner
                .publish(&partnership.inner, None, core::Via::App)?
                .published
                .len() as u64)
        })
    }

    /// The projections of this partnership store.
    pub fn projections(&self) -> Result<Vec<Projection>> {
        guard(|| {
            Ok(self
                .inner
                .projections()?
                .into_iter()
                .map(Projection::from)
                .collect())
        })
    }

    /// One projection and its shared assessment (logged in the partnership's access log).
    pub fn projection(&self, id_text: String) -> Result<Projection> {
        guard(|| {
            Ok(self
                .inner
                .open_projection(id(&id_text)?, core::Via::App)?
                .into())
        })
    }

    /// Edits a projection's field (one of the categories consented).
    pub fn edit_projection(&self, projection: String, field: String, value: String) -> Result<()> {
        guard(|| self.inner.edit_projection(id(&projection)?, &field, &value))
    }

    /// Edits the shared assessment of a projection (needs, resources, autonomy,
    /// housing_sought, own_words).
    pub fn edit_assessment(&self, projection: String, field: String, value: String) -> Result<()> {
        guard(|| self.inner.edit_assessment(id(&projection)?, &field, &value))
    }

    /// The reports published into this statistics store, the latest first.
    pub fn published_reports(&self) -> Result<Vec<PublishedReport>> {
        guard(|| {
            Ok(self
                .inner
                .published_reports(None, None)?
                .into_iter()
                .map(PublishedReport::from)
                .collect())
        })
    }

    /// Applies a bundle; returns how many changes were new.
    pub fn import_bundle(&self, bytes: Vec<u8>, passphrase: String) -> Result<u64> {
        guard(|| Ok(self.inner.import_bundle(&bytes, &passphrase)?.new_changes as u64))
    }
}

/// A fresh random 256-bit store key, for a shell to keep in its keystore.
#[uniffi::export]
pub fn generate_key() -> Vec<u8> {
    core::RawKey::generate().as_bytes().to_vec()
}
