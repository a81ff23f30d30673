//! The fields of each record kind: their names, types and bounds. Writing, reading, history,
//! conflicts and the command line all go through this one table, so a field is declared once.

use automerge::ScalarValue;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::vocab::{ExtraTerm, Vocab};
use crate::{CoreError, RecordId, Result};

/// The kinds of record. Every record is one Automerge document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Person,
    Encounter,
    Action,
    Referral,
    Observation,
    Roster,
    Consent,
    /// One device's access log for one day: who opened which person's file, timeline or
    /// dossier, and which exports were made (`store/access_log.rs`).
    AccessLog,
    /// A consultation or care note about a person, in a health space only: written and read
    /// by health professionals' devices (`store/health.rs`).
    HealthNote,
    /// That a person is followed in health, on a day, with no content: what the team's devices
    /// see of a health note (`store/health.rs`).
    HealthContact,
    /// A person's health details (known conditions, treatments, allergies, care team), in a
    /// health space only (`store/health.rs`).
    HealthProfile,
    /// An activity report published by the office into a statistics space: a period, a team
    /// and its figures, nothing nominative (`store/statistics.rs`).
    PublishedReport,
    /// What a partner sees of a person, in a partnership space only: the fields of the
    /// categories the person consented to share with that partner (`partnership.rs`).
    Projection,
    /// The assessment the association and a partner write together about a projected person,
    /// in a partnership space only.
    SharedAssessment,
    /// That a partner's device carried out an erasure order of its partnership space: the
    /// order's place in the control log, the device, when.
    ErasureAck,
    /// A household (ménage): its name, the members not recorded as persons, pets
    /// (`model/housing.rs`). Who belongs to it is said by `HouseholdMember` records.
    Household,
    /// That a person belongs to a household, with their relation to its reference person, from
    /// a day and until a day: a person leaves one household and joins another with dates.
    HouseholdMember,
    /// One period of a person's or a household's housing journey: a situation (street, shelter,
    /// social housing...), from a day until a day, where, and why it ended (`journey.rs`).
    JourneyPeriod,
    /// A housing application (SIAO, social housing with its number, DALO), its steps and
    /// outcome, for a person or a household.
    HousingApplication,
    /// A person's or a household's home once housed (support at home): landlord, address,
    /// entry, lease, and when and why it was left.
    Home,
    /// What puts a home at risk (rent arrears, a planned eviction...), raised on a day by
    /// someone, open until resolved.
    RiskSignal,
    /// A home prospected or offered by a landlord, to propose to persons or households.
    HousingOffer,
    /// A housing offer proposed to a person or a household, and what became of it.
    Proposal,
    /// The person's own view of the support after a step (a home found, six months in it,
    /// the end of the support): how satisfied, what helped, what was missing, their own words,
    /// and the organisation's own questions.
    OwnView,
}

impl Kind {
    pub const ALL: [Kind; 24] = [
        Kind::Person,
        Kind::Encounter,
        Kind::Action,
        Kind::Referral,
        Kind::Observation,
        Kind::Roster,
        Kind::Consent,
        Kind::AccessLog,
        Kind::HealthNote,
        Kind::HealthContact,
        Kind::HealthProfile,
        Kind::PublishedReport,
        Kind::Projection,
        Kind::SharedAssessment,
        Kind::ErasureAck,
        Kind::Household,
        Kind::HouseholdMember,
        Kind::JourneyPeriod,
        Kind::HousingApplication,
        Kind::Home,
        Kind::RiskSignal,
        Kind::HousingOffer,
        Kind::Proposal,
        Kind::OwnView,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Encounter => "encounter",
            Kind::Action => "action",
            Kind::Referral => "referral",
            Kind::Observation => "observation",
            Kind::Roster => "roster",
            Kind::Consent => "consent",
            Kind::AccessLog => "access_log",
            Kind::HealthNote => "health_note",
            Kind::HealthContact => "health_contact",
            Kind::HealthProfile => "health_profile",
            Kind::PublishedReport => "published_report",
            Kind::Projection => "projection",
            Kind::SharedAssessment => "shared_assessment",
            Kind::ErasureAck => "erasure_ack",
            Kind::Household => "household",
            Kind::HouseholdMember => "household_member",
            Kind::JourneyPeriod => "journey_period",
            Kind::HousingApplication => "housing_application",
            Kind::Home => "home",
            Kind::RiskSignal => "risk_signal",
            Kind::HousingOffer => "housing_offer",
            Kind::Proposal => "proposal",
            Kind::OwnView => "own_view",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The fields a record of this kind holds.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Kind::Person => PERSON,
            Kind::Encounter => ENCOUNTER,
            Kind::Action => ACTION,
            Kind::Referral => REFERRAL,
            Kind::Observation => OBSERVATION,
            Kind::Roster => &[],
            Kind::Consent => CONSENT,
            Kind::AccessLog => ACCESS_LOG,
            Kind::HealthNote => HEALTH_NOTE,
            Kind::HealthContact => HEALTH_CONTACT,
            Kind::HealthProfile => HEALTH_PROFILE,
            Kind::PublishedReport => PUBLISHED_REPORT,
            Kind::Projection => PROJECTION,
            Kind::SharedAssessment => SHARED_ASSESSMENT,
            Kind::ErasureAck => ERASURE_ACK,
            Kind::Household => HOUSEHOLD,
            Kind::HouseholdMember => HOUSEHOLD_MEMBER,
            Kind::JourneyPeriod => JOURNEY_PERIOD,
            Kind::HousingApplication => HOUSING_APPLICATION,
            Kind::Home => HOME,
            Kind::RiskSignal => RISK_SIGNAL,
            Kind::HousingOffer => HOUSING_OFFER,
            Kind::Proposal => PROPOSAL,
            Kind::OwnView => OWN_VIEW,
        }
    }

    pub fn field(self, name: &str) -> Result<&'static FieldSpec> {
        self.fields()
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| {
                let names: Vec<_> = self.fields().iter().map(|f| f.name).collect();
                CoreError::invalid(
                    "field",
                    format!(
                        "a {} has no field {name:?} (fields: {})",
                        self.name(),
                        names.join(", ")
                    ),
                )
            })
    }
}

/// How far in the future a date may lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Horizon {
    /// Facts that happened: at most a day ahead (a device clock or a time zone may be off).
    Past,
    /// Plans (due dates): up to ten years ahead.
    Plan,
}

/// The type of a field, which decides how it is stored in the Automerge document.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldType {
    /// A last-writer-wins string register.
    Text,
    /// A last-writer-wins integer register within bounds.
    Int {
        min: i64,
        max: i64,
    },
    /// A last-writer-wins float register within bounds.
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date(Horizon),
    /// An instant, stored as an Automerge timestamp (milliseconds).
    Time(Horizon),
    /// A code from a list.
    Code(Vocab),
    /// The id of another record of the given kind.
    Ref(Kind),
    /// An append-only list of strings.
    TextList,
    /// An append-only list of codes.
    CodeList(Vocab),
    /// An append-only list of record ids.
    RefList(Kind),
    /// A set of codes: a map from code to true/false, so that two devices adding different
    /// codes merge and a concurrent add and remove of one code is a visible conflict.
    CodeSet(Vocab),
    /// Free named values (custom fields): a map from name to string.
    TextMap,
    /// An append-only list of comments (text, author, time).
    Comments,
    /// An append-only list of access-log entries (maps: time, worker, what was read or
    /// exported), appended only by the device whose log it is.
    AccessEntries,
}

impl FieldType {
    /// Whether the field is a container created once, with the record.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            FieldType::TextList
                | FieldType::CodeList(_)
                | FieldType::RefList(_)
                | FieldType::CodeSet(_)
                | FieldType::TextMap
                | FieldType::Comments
                | FieldType::AccessEntries
        )
    }

    /// The type of one element of a container field.
    pub fn element(self) -> FieldType {
        match self {
            FieldType::TextList
            | FieldType::TextMap
            | FieldType::Comments
            | FieldType::AccessEntries => FieldType::Text,
            FieldType::CodeList(v) => FieldType::Code(v),
            FieldType::RefList(k) => FieldType::Ref(k),
            FieldType::CodeSet(_) => FieldType::Bool,
            scalar => scalar,
        }
    }
}

/// One field of a record kind.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldType,
    /// French label, for screens and exports.
    pub fr: &'static str,
}

const fn f(name: &'static str, ty: FieldType, fr: &'static str) -> FieldSpec {
    FieldSpec { name, ty, fr }
}

use FieldType as T;

const PERSON: &[FieldSpec] = &[
    f("name", T::Text, "nom"),
    f("nickname", T::Text, "surnom"),
    f("other_names", T::TextList, "autres noms"),
    f(
        "birth_year",
        T::Int {
            min: 1900,
            max: 2100,
        },
        "année de naissance",
    ),
    f("birth_date", T::Date(Horizon::Past), "date de naissance"),
    f("gender", T::Code(Vocab::Gender), "genre"),
    f("languages", T::TextList, "langues"),
    f("phone", T::Text, "téléphone"),
    f("description", T::Text, "signalement"),
    f("alert_level", T::Code(Vocab::AlertLevel), "niveau d'alerte"),
    f("on_street_since", T::Date(Horizon::Past), "à la rue depuis"),
    f("situation", T::Code(Vocab::Situation), "situation"),
    f("needs", T::CodeSet(Vocab::Need), "besoins"),
    f("consent_record", T::Bool, "consentement à l'enregistrement"),
    f("consent_share", T::Bool, "consentement au partage"),
    f(
        "consent_date",
        T::Date(Horizon::Past),
        "date du consentement",
    ),
    f("consent_by", T::Text, "consentement recueilli par"),
    f("teams", T::TextList, "équipes"),
    f("followed_since", T::Date(Horizon::Past), "suivi depuis"),
    f("status", T::Code(Vocab::PersonStatus), "statut"),
    f("status_reason", T::Text, "motif de sortie"),
    f("status_date", T::Date(Horizon::Past), "date du statut"),
    f("household", T::Text, "ménage"),
    f("custom", T::TextMap, "champs libres"),
    // The retention review (CNIL référentiel): when a coordinator decided to keep the file of a
    // person not met for the organisation's retention period, and why. Who decided and when
    // it was written come from the change itself, as history shows.
    f(
        "retention_kept_at",
        T::Time(Horizon::Past),
        "conservé après revue le",
    ),
    f("retention_reason", T::Text, "motif de conservation"),
    // A duplicate merged at the office: the person this record is the same as. Written by
    // `Store::merge_persons` and `unmerge_person` only (`merge.rs`), a register like any other
    // field: two concurrent merges of one person are a conflict to settle.
    f("merged_into", T::Ref(Kind::Person), "fusionné·e avec"),
];

const ENCOUNTER: &[FieldSpec] = &[
    f(
        "occurred_at",
        T::Time(Horizon::Past),
        "date de la rencontre",
    ),
    f("recorded_at", T::Time(Horizon::Past), "saisie le"),
    f("place", T::Text, "lieu"),
    f(
        "latitude",
        T::Float {
            min: -90.0,
            max: 90.0,
        },
        "latitude",
    ),
    f(
        "longitude",
        T::Float {
            min: -180.0,
            max: 180.0,
        },
        "longitude",
    ),
    f("territory", T::Text, "territoire"),
    f("team", T::Text, "équipe"),
    f("workers", T::TextList, "intervenants"),
    f("persons", T::RefList(Kind::Person), "personnes rencontrées"),
    f(
        "anonymous_count",
        T::Int {
            min: 0,
            max: 10_000,
        },
        "personnes non identifiées",
    ),
    f(
        "encounter_kind",
        T::Code(Vocab::EncounterKind),
        "type de rencontre",
    ),
    f("services", T::CodeList(Vocab::Service), "prestations"),
    f("notes", T::Text, "notes"),
    f("follow_up", T::Bool, "suite à donner"),
    // The household met, when the encounter is with a household as a whole.
    f("household", T::Ref(Kind::Household), "ménage"),
    // The organisation's own fields (`model/custom.rs`); an encounter made by an earlier build
    // has no such map, and takes no value of them.
    f("custom", T::TextMap, "champs de l'organisation"),
];

const ACTION: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("title", T::Text, "intitulé"),
    f("category", T::Code(Vocab::ActionCategory), "catégorie"),
    f("due_at", T::Date(Horizon::Plan), "échéance"),
    f("status", T::Code(Vocab::ActionStatus), "statut"),
    f("assigned_to", T::Text, "confiée à"),
    f("done_at", T::Time(Horizon::Past), "faite le"),
    f("comments", T::Comments, "commentaires"),
    // The risk to a home it answers, when it answers one.
    f("signal", T::Ref(Kind::RiskSignal), "risque traité"),
];

const REFERRAL: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("target", T::Code(Vocab::ReferralTarget), "orientée vers"),
    f("target_name", T::Text, "structure"),
    f("date", T::Date(Horizon::Past), "date"),
    f("status", T::Code(Vocab::ReferralStatus), "statut"),
    f("outcome", T::Text, "suite donnée"),
    // The household referred, when the referral is for a household as a whole.
    f("household", T::Ref(Kind::Household), "ménage"),
];

const OBSERVATION: &[FieldSpec] = &[
    f("territory", T::Text, "territoire"),
    f("team", T::Text, "équipe"),
    f("date", T::Date(Horizon::Past), "date"),
    f("counts", T::TextMap, "comptages"),
    f("notes", T::Text, "notes"),
];

/// One decision of a person about sharing one category with one partner: given or refused
/// (a withdrawal is a later decision that refuses). Decisions are never edited into each other:
/// each is a record of its own, so that two workers recording decisions offline both keep
/// theirs, and the person's consent is the latest decision per partner and category.
const CONSENT: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("partner", T::Code(Vocab::Partner), "partenaire"),
    f(
        "category",
        T::Code(Vocab::ConsentCategory),
        "catégorie partagée",
    ),
    f("given", T::Bool, "consentement donné"),
    f("decided_on", T::Date(Horizon::Past), "date de la décision"),
    f("how", T::Code(Vocab::ConsentHow), "recueilli"),
    f("note", T::Text, "précisions"),
];

/// One device's log of one day's reads and exports: who looked at what, when.
const ACCESS_LOG: &[FieldSpec] = &[
    f("day", T::Date(Horizon::Past), "jour"),
    f("entries", T::AccessEntries, "consultations et exports"),
];

/// A health professional's note about a person (the person is held in the team's store, not
/// in the health space's).
const HEALTH_NOTE: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("on", T::Date(Horizon::Past), "date"),
    f("professional", T::Text, "professionnel de santé"),
    f("category", T::Code(Vocab::HealthCategory), "catégorie"),
    f("text", T::Text, "note"),
    f("next_step", T::Text, "suite à donner"),
];

/// That a health professional saw a person on a day: the team sees this, never the note.
const HEALTH_CONTACT: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("on", T::Date(Horizon::Past), "date"),
];

/// A person's health details, kept by health professionals (the person is held in the team's
/// store).
const HEALTH_PROFILE: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("conditions", T::Text, "problèmes de santé connus"),
    f("treatments", T::Text, "traitements"),
    f("allergies", T::Text, "allergies"),
    f("care_team", T::Text, "médecin traitant, équipe de soins"),
];

/// An activity report as a statistics space receives it.
const PUBLISHED_REPORT: &[FieldSpec] = &[
    f("period_from", T::Date(Horizon::Plan), "du"),
    f("period_to", T::Date(Horizon::Plan), "au"),
    f("team", T::Text, "équipe"),
    f("figures", T::TextMap, "chiffres"),
];

/// What a partner sees of a person: only the fields of the consented categories are ever
/// written (identity and contact; situation and journey; the housing application, as lines of
/// text), never notes, encounters, health or the alert level, and never the team's person id.
/// Lists are text here (one line or comma-separated), so that a later publication can replace
/// them.
const PROJECTION: &[FieldSpec] = &[
    f("categories", T::Text, "catégories partagées"),
    f("name", T::Text, "nom"),
    f("nickname", T::Text, "surnom"),
    f("other_names", T::Text, "autres noms"),
    f(
        "birth_year",
        T::Int {
            min: 1900,
            max: 2100,
        },
        "année de naissance",
    ),
    f("gender", T::Code(Vocab::Gender), "genre"),
    f("languages", T::Text, "langues"),
    f("phone", T::Text, "téléphone"),
    f("situation", T::Code(Vocab::Situation), "situation"),
    f("on_street_since", T::Date(Horizon::Past), "à la rue depuis"),
    f("journey", T::Text, "parcours"),
    f("referrals", T::Text, "orientations"),
    f("housing_actions", T::Text, "démarches logement"),
    f("housing_applications", T::Text, "demandes de logement"),
];

/// The assessment the association and a partner write together about a projected person.
const SHARED_ASSESSMENT: &[FieldSpec] = &[
    f("projection", T::Ref(Kind::Projection), "personne partagée"),
    f("needs", T::Text, "besoins"),
    f("resources", T::Text, "ressources"),
    f("autonomy", T::Text, "autonomie"),
    f("housing_sought", T::Text, "solution de logement recherchée"),
    f("own_words", T::Text, "paroles de la personne"),
];

/// That a partner's device carried out an erasure order.
const ERASURE_ACK: &[FieldSpec] = &[
    f(
        "order",
        T::Int {
            min: 0,
            max: i64::MAX,
        },
        "ordre d'effacement",
    ),
    f("device", T::Text, "appareil"),
    f("at", T::Time(Horizon::Past), "effacé le"),
];

/// A household: who belongs to it is said by its members' `HouseholdMember` records, so that
/// two devices adding members offline keep both; what is here is the household itself.
const HOUSEHOLD: &[FieldSpec] = &[
    f("label", T::Text, "nom du ménage"),
    f(
        "unrecorded_members",
        T::Int { min: 0, max: 30 },
        "personnes du ménage non enregistrées",
    ),
    f(
        "unrecorded_children",
        T::Int { min: 0, max: 30 },
        "dont enfants",
    ),
    f("pets", T::Text, "animaux"),
    f("notes", T::Text, "notes"),
    f("custom", T::TextMap, "champs libres"),
];

/// That a person belongs to a household: their relation to its reference person, and when they
/// joined and left it.
const HOUSEHOLD_MEMBER: &[FieldSpec] = &[
    f("household", T::Ref(Kind::Household), "ménage"),
    f("person", T::Ref(Kind::Person), "personne"),
    f("relation", T::Code(Vocab::Relation), "lien"),
    f("joined_on", T::Date(Horizon::Past), "arrivée le"),
    f("left_on", T::Date(Horizon::Past), "départ le"),
    f("left_reason", T::Text, "motif du départ"),
];

/// One period of a housing journey, a person's or a household's.
const JOURNEY_PERIOD: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("household", T::Ref(Kind::Household), "ménage"),
    f("situation", T::Code(Vocab::Situation), "situation"),
    f("started_on", T::Date(Horizon::Past), "depuis le"),
    f("ended_on", T::Date(Horizon::Past), "jusqu'au"),
    f("place", T::Text, "lieu ou structure"),
    f("end_reason", T::Code(Vocab::PeriodEnd), "fin de la période"),
    f("notes", T::Text, "notes"),
];

/// A housing application, a person's or a household's: its steps are comments (who, when,
/// what), its outcome a status and a text.
const HOUSING_APPLICATION: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("household", T::Ref(Kind::Household), "ménage"),
    f(
        "application_kind",
        T::Code(Vocab::ApplicationKind),
        "type de demande",
    ),
    f("number", T::Text, "numéro de la demande"),
    f("filed_on", T::Date(Horizon::Past), "déposée le"),
    f("renew_by", T::Date(Horizon::Plan), "à renouveler avant le"),
    f("status", T::Code(Vocab::ApplicationStatus), "état"),
    f("outcome", T::Text, "suite donnée"),
    f("steps", T::Comments, "étapes"),
    f("areas", T::Text, "secteurs souhaités"),
];

/// A home, a person's or a household's.
const HOME: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("household", T::Ref(Kind::Household), "ménage"),
    f("landlord", T::Text, "bailleur"),
    f("address", T::Text, "adresse"),
    f("entered_on", T::Date(Horizon::Past), "entrée le"),
    f("lease_kind", T::Code(Vocab::LeaseKind), "type de bail"),
    f("left_on", T::Date(Horizon::Past), "sortie le"),
    f(
        "left_reason",
        T::Code(Vocab::PeriodEnd),
        "motif de la sortie",
    ),
    f("notes", T::Text, "notes"),
    f("custom", T::TextMap, "champs libres"),
];

/// What puts a home at risk. It names the home's person or household too, so that erasing the
/// person erases it.
const RISK_SIGNAL: &[FieldSpec] = &[
    f("home", T::Ref(Kind::Home), "logement"),
    f("person", T::Ref(Kind::Person), "personne"),
    f("household", T::Ref(Kind::Household), "ménage"),
    f("risk", T::Code(Vocab::RiskKind), "risque"),
    f("raised_on", T::Date(Horizon::Past), "signalé le"),
    f("raised_by", T::Text, "signalé par"),
    f("status", T::Code(Vocab::RiskStatus), "état"),
    f("resolved_on", T::Date(Horizon::Past), "levé le"),
    f("notes", T::Text, "notes"),
];

/// A home offered by a landlord.
const HOUSING_OFFER: &[FieldSpec] = &[
    f("home_kind", T::Code(Vocab::Situation), "type de logement"),
    f("rooms", T::Int { min: 0, max: 12 }, "pièces"),
    f("size_m2", T::Int { min: 0, max: 1_000 }, "surface (m²)"),
    f(
        "rent",
        T::Int {
            min: 0,
            max: 100_000,
        },
        "loyer charges comprises (€)",
    ),
    f("area", T::Text, "secteur"),
    f("accessible", T::Bool, "accessible (PMR)"),
    f("available_from", T::Date(Horizon::Plan), "disponible le"),
    f("landlord", T::Text, "bailleur"),
    f("status", T::Code(Vocab::OfferStatus), "état"),
    f("notes", T::Text, "notes"),
];

/// An offer proposed to a person or a household.
const PROPOSAL: &[FieldSpec] = &[
    f("offer", T::Ref(Kind::HousingOffer), "offre"),
    f("person", T::Ref(Kind::Person), "personne"),
    f("household", T::Ref(Kind::Household), "ménage"),
    f("proposed_on", T::Date(Horizon::Past), "proposée le"),
    f("outcome", T::Code(Vocab::ProposalOutcome), "suite"),
    f("reason", T::Text, "motif"),
];

/// A person's own view of the support after a step. The organisation's own questions are its
/// fields of this kind (`field add own_view ...`), answered in `custom`.
const OWN_VIEW: &[FieldSpec] = &[
    f("person", T::Ref(Kind::Person), "personne"),
    f("step", T::Code(Vocab::ViewStep), "étape"),
    f("on", T::Date(Horizon::Past), "date"),
    f(
        "satisfaction",
        T::Int { min: 1, max: 5 },
        "satisfaction (1 à 5)",
    ),
    f("what_helped", T::Text, "ce qui a aidé"),
    f("what_missing", T::Text, "ce qui a manqué"),
    f("own_words", T::Text, "ses propres mots"),
    f("custom", T::TextMap, "questions de l'organisation"),
];

/// A typed value of a scalar field (or of one element of a container).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    /// A code; unknown codes from newer devices are kept as they are.
    Code(String),
    Ref(RecordId),
    /// A stored value of an unexpected type (written by a newer or foreign device), shown raw.
    Other(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) | Value::Code(s) | Value::Other(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Value::Date(d) => write!(f, "{d}"),
            Value::Time(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M")),
            Value::Ref(r) => write!(f, "{r}"),
        }
    }
}

/// The context validation needs: the time now and the organisation's extra codes.
pub struct Checker<'a> {
    pub now: DateTime<Utc>,
    pub extra: &'a [ExtraTerm],
}

impl Checker<'_> {
    /// Parses `text` as a value of type `ty` (command line and `resolve` input).
    pub fn parse(&self, field: &str, ty: FieldType, text: &str) -> Result<Value> {
        let text = text.trim();
        let bad = |why: String| CoreError::invalid(field, why);
        let value = match ty.element() {
            T::Text => Value::Text(text.to_string()),
            T::Int { .. } => Value::Int(
                text.parse()
                    .map_err(|_| bad("is not a whole number".into()))?,
            ),
            T::Float { .. } => {
                Value::Float(text.parse().map_err(|_| bad("is not a number".into()))?)
            }
            T::Bool => Value::Bool(match text.to_lowercase().as_str() {
                "yes" | "oui" | "true" | "1" => true,
                "no" | "non" | "false" | "0" => false,
                _ => return Err(bad("is not yes or no".into())),
            }),
            T::Date(_) => Value::Date(
                parse_date(text).ok_or_else(|| bad("is not a date (YYYY-MM-DD)".into()))?,
            ),
            T::Time(_) => Value::Time(
                parse_time(text)
                    .ok_or_else(|| bad("is not a date and time (YYYY-MM-DD HH:MM, UTC)".into()))?,
            ),
            T::Code(_) => Value::Code(text.to_string()),
            T::Ref(_) => Value::Ref(text.parse().map_err(|_| bad("is not a record id".into()))?),
            container => return Err(bad(format!("a {container:?} field takes no single value"))),
        };
        self.check(field, ty.element(), &value)?;
        Ok(value)
    }

    /// Checks a value against its type and bounds. Record references are checked by the store.
    pub fn check(&self, field: &str, ty: FieldType, value: &Value) -> Result<()> {
        let bad = |why: String| Err(CoreError::invalid(field, why));
        match (ty, value) {
            (T::Text, Value::Text(s)) => {
                if s.chars().count() > 10_000 {
                    return bad("is longer than 10,000 characters".into());
                }
                if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    return bad("contains control characters".into());
                }
            }
            (T::Int { min, max }, Value::Int(i)) => {
                if *i < min || *i > max {
                    return bad(format!("is outside {min}..={max}"));
                }
            }
            (T::Float { min, max }, Value::Float(x)) => {
                if !x.is_finite() || *x < min || *x > max {
                    return bad(format!("is outside {min}..={max}"));
                }
            }
            (T::Bool, Value::Bool(_)) => {}
            (T::Date(h), Value::Date(d)) => self.check_instant(field, h, d.year(), date_ms(*d))?,
            (T::Time(h), Value::Time(t)) => {
                self.check_instant(field, h, t.year(), t.timestamp_millis())?
            }
            (T::Code(vocab), Value::Code(code)) => {
                let known = vocab.builtin(code).is_some()
                    || self
                        .extra
                        .iter()
                        .any(|t| t.vocab == vocab && &t.code == code);
                if !known {
                    let mut codes: Vec<String> =
                        vocab.terms().iter().map(|t| t.code.to_string()).collect();
                    codes.extend(
                        self.extra
                            .iter()
                            .filter(|t| t.vocab == vocab)
                            .map(|t| t.code.clone()),
                    );
                    return bad(format!(
                        "{code:?} is not a {} code (one of: {})",
                        vocab.name(),
                        codes.join(", ")
                    ));
                }
            }
            (T::Ref(_), Value::Ref(_)) => {}
            (ty, _) => return bad(format!("does not fit a {ty:?} field")),
        }
        Ok(())
    }

    fn check_instant(&self, field: &str, horizon: Horizon, year: i32, ms: i64) -> Result<()> {
        if year < 1900 {
            return Err(CoreError::invalid(field, "is before 1900"));
        }
        let ahead_ms = match horizon {
            Horizon::Past => 86_400_000,
            Horizon::Plan => 10 * 366 * 86_400_000,
        };
        if ms > self.now.timestamp_millis() + ahead_ms {
            let limit = match horizon {
                Horizon::Past => "more than a day in the future",
                Horizon::Plan => "more than ten years ahead",
            };
            return Err(CoreError::invalid(field, format!("is {limit}")));
        }
        Ok(())
    }
}

pub(crate) fn date_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Parses `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` (UTC) or RFC 3339.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(t.and_utc());
        }
    }
    parse_date(text).map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

/// The checks a received change's values pass that give the same answer on every device (no
/// clock, no organisation's list): text at most 10,000 characters with no control characters,
/// times and dates from 1900 to 2200, and, for a known field set at the top of a record, a value
/// of the field's type within its bounds. Unknown fields, kinds and codes are kept: they may come
/// from a newer version or another organisation's list.
///
/// The answer depends on the change alone, never on what this device holds: a field is checked
/// against its type in every kind that has a field of that name (where kinds share a name, they
/// give it the same type, but for the code list, which is not checked here), not against the
/// record's kind on this device, which a device that has not received the record's creation
/// does not know yet and which a second creation can change (`import.rs`).
/// Whether an operation writes or deletes a record's kind.
fn writes_kind(op: &automerge::legacy::Op) -> bool {
    use automerge::legacy::{Key, ObjectId};
    matches!(op.obj, ObjectId::Root)
        && matches!(&op.key, Key::Map(key) if key.as_str() == crate::doc::KIND)
}

fn writes_created_at(op: &automerge::legacy::Op) -> bool {
    use automerge::legacy::{Key, ObjectId};
    matches!(op.obj, ObjectId::Root)
        && matches!(&op.key, Key::Map(key) if key.as_str() == crate::doc::CREATED_AT)
}

/// Fields that only a record's creation writes, in every kind that has them: which projection a
/// shared assessment is about (moving it would show one person's assessment on another's, who
/// may not have consented to share one), and what an erasure acknowledgement says (which order,
/// which device, when). A later change that writes or deletes one is refused, on the change
/// alone on receipt (`check_received`) and before writing on this device (`store/write.rs`).
pub(crate) const CREATION_FIELDS: &[&str] = &["projection", "order", "device", "at"];

/// The creation-only field (`CREATION_FIELDS`) an operation writes or deletes at a record's
/// root, if any.
fn writes_creation_field(op: &automerge::legacy::Op) -> Option<&'static str> {
    use automerge::legacy::{Key, ObjectId};
    match (&op.obj, &op.key) {
        (ObjectId::Root, Key::Map(key)) => {
            CREATION_FIELDS.iter().copied().find(|f| *f == key.as_str())
        }
        _ => None,
    }
}

/// Whether a change creates a record: it has no dependencies and says what the record is.
pub(crate) fn is_creation(change: &automerge::Change) -> bool {
    change.deps().is_empty() && change.decode().operations.iter().any(writes_kind)
}

/// Fields only a coordinator writes: the decision to keep a person's file after the retention
/// review, a report published to a statistics space (its period and figures), and a duplicate
/// merged into another person (which takes it off the lists and into that person's erasure). A
/// change that
/// writes or deletes one carries its author's grants, and a device takes it only if they prove
/// a coordinator (`store/import.rs`), deciding on the change alone.
pub(crate) const COORDINATOR_FIELDS: &[&str] = &[
    "retention_kept_at",
    "retention_reason",
    "period_from",
    "period_to",
    "figures",
    "merged_into",
];

/// The coordinator's field (`COORDINATOR_FIELDS`) a change writes or deletes at a record's root,
/// if any.
pub(crate) fn coordinator_field(ops: &[automerge::legacy::Op]) -> Option<&'static str> {
    use automerge::legacy::{Key, ObjectId};
    ops.iter().find_map(|op| match (&op.obj, &op.key) {
        (ObjectId::Root, Key::Map(key)) => COORDINATOR_FIELDS
            .iter()
            .copied()
            .find(|f| *f == key.as_str()),
        _ => None,
    })
}

/// What a received change says that the receiving store checks against itself: the kind a
/// creation writes, and a coordinator's field it writes.
#[derive(Default)]
pub(crate) struct Received {
    /// The kind a record's creation writes (an unknown kind, from a newer device, is `None`).
    pub kind: Option<Kind>,
    pub coordinator_field: Option<&'static str>,
}

/// Checks a received change's values on the change alone; returns what the receiving store
/// checks against itself ([`Received`]).
pub(crate) fn check_received(change: &automerge::Change) -> std::result::Result<Received, String> {
    use automerge::legacy::{Key, ObjectId, OpType};
    let ops = change.decode().operations;
    // Only a record's first change (no dependencies) says what the record is: a later one
    // that writes or deletes its kind is refused on the change alone, so devices that hold the
    // record and devices that receive both at once agree.
    if !change.deps().is_empty() && ops.iter().any(writes_kind) {
        return Err("it changes the kind of an existing record".into());
    }
    // Nor when it was recorded: the retention review and the reports read it.
    if !change.deps().is_empty() && ops.iter().any(writes_created_at) {
        return Err("it changes when an existing record was recorded".into());
    }
    if !change.deps().is_empty() {
        if let Some(field) = ops.iter().find_map(writes_creation_field) {
            return Err(format!(
                "it changes the {field} of an existing record, fixed at its creation"
            ));
        }
    }
    for op in &ops {
        let OpType::Put(scalar) = &op.action else {
            continue;
        };
        let field = match (&op.obj, &op.key) {
            (ObjectId::Root, Key::Map(key)) => Some(key.as_str()),
            _ => None,
        };
        let name = field.unwrap_or("a value");
        let refuse = |why: &str| Err(format!("{name} {why}"));
        match scalar {
            ScalarValue::Str(s) => {
                if s.chars().count() > 10_000 {
                    return refuse("is longer than 10,000 characters");
                }
                if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    return refuse("contains control characters");
                }
            }
            ScalarValue::Timestamp(ms) if !(MIN_RECEIVED_MS..=MAX_RECEIVED_MS).contains(ms) => {
                return refuse("is a time before 1900 or after 2200")
            }
            ScalarValue::F64(x) if !x.is_finite() => return refuse("is not a finite number"),
            _ => {}
        }
        let Some(field) = field else { continue };
        let specs = Kind::ALL
            .iter()
            .filter_map(|kind| kind.fields().iter().find(|spec| spec.name == field))
            .filter(|spec| !spec.ty.is_container());
        for spec in specs {
            match (spec.ty, scalar) {
                (T::Int { min, max }, ScalarValue::Int(i)) if *i < min || *i > max => {
                    return refuse(&format!("is outside {min}..={max}"))
                }
                (T::Int { max, .. }, ScalarValue::Uint(u)) if *u > max.max(0) as u64 => {
                    return refuse(&format!("is more than {max}"))
                }
                (T::Float { min, max }, ScalarValue::F64(x)) if *x < min || *x > max => {
                    return refuse(&format!("is outside {min}..={max}"))
                }
                (T::Date(_), ScalarValue::Str(s)) => match parse_date(s) {
                    Some(d) if (1900..=2200).contains(&d.year()) => {}
                    _ => return refuse("is not a date from 1900 to 2200 (YYYY-MM-DD)"),
                },
                (T::Ref(_), ScalarValue::Str(s)) if s.parse::<crate::RecordId>().is_err() => {
                    return refuse("is not a record id")
                }
                (T::Text | T::Code(_) | T::Ref(_), ScalarValue::Str(_))
                | (T::Int { .. }, ScalarValue::Int(_) | ScalarValue::Uint(_))
                | (T::Float { .. }, ScalarValue::F64(_) | ScalarValue::Int(_))
                | (T::Bool, ScalarValue::Boolean(_))
                | (T::Time(_), ScalarValue::Timestamp(_))
                | (_, ScalarValue::Unknown { .. } | ScalarValue::Null) => {}
                _ => return refuse(&format!("does not fit a {:?} field", spec.ty)),
            }
        }
    }
    let kind = ops
        .iter()
        .find_map(|op| match (&op.action, writes_kind(op)) {
            (OpType::Put(ScalarValue::Str(name)), true) => Kind::from_name(name),
            _ => None,
        });
    Ok(Received {
        kind,
        coordinator_field: coordinator_field(&ops),
    })
}

/// 1900-01-01 and 2200-12-31T23:59:59.999Z in milliseconds.
const MIN_RECEIVED_MS: i64 = -2_208_988_800_000;
const MAX_RECEIVED_MS: i64 = 7_289_654_399_999;
