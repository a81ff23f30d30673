//! The person's right of access (GDPR article 15): `Store::dossier` gathers everything the
//! store holds about one person, for a coordinator to hand over: every field of their record
//! with its French label (and the French label of each code), their consent and its history,
//! the history of each record about them (who, device, when, old -> new), their merged timeline,
//! the encounters they were met in, the actions and referrals about them, what was shared with
//! whom, who consulted their file (the access log), and the exports that may hold their data.
//!
//! An encounter shared with other persons says how many others were met, never who they were:
//! the ids of the other persons it lists are left out, and so are the entries of its history
//! that added them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access_log::{Access, AccessEntry, AccessQuery, Via};
use crate::doc::{Comment, Reader};
use crate::history::{HistoryEntry, Op};
use crate::model::fields::{FieldSpec, FieldType, Kind, Value};
use crate::store::{person_encounters, person_follow_ups, Store};
use crate::timeline::TimelineEntry;
use crate::vocab::{self, ExtraTerm, Lang};
use crate::{CoreError, RecordId, Result};

/// The line the dossier says when nothing about the person was published to a partner.
pub const NO_SHARING_FR: &str = "Aucun partage : rien n'a été publié à un partenaire.";
/// The line the dossier says above the publications to partners.
pub const SHARING_FR: &str = "Publications aux partenaires, selon le consentement de la personne \
     (journal des publications) :";

/// One value of a field: as stored, and, for a code or a yes/no, its French label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierValue {
    pub value: String,
    pub label: Option<String>,
}

/// One field of a record: its name, French label, value(s) (several for a list or a set), and
/// the concurrent values when it is in conflict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierField {
    pub field: String,
    pub label: String,
    pub values: Vec<DossierValue>,
    pub conflict: Vec<DossierValue>,
}

/// A record about the person (an action, a referral): its fields and its history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierRecord {
    pub id: RecordId,
    pub kind: Kind,
    pub fields: Vec<DossierField>,
    /// An action's comments (text, who, when).
    pub comments: Vec<Comment>,
    pub history: Vec<HistoryEntry>,
}

/// An encounter the person was met in: its fields but the persons met, how many others were
/// met, and its history without the other persons' ids.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierEncounter {
    pub id: RecordId,
    pub fields: Vec<DossierField>,
    pub other_persons: usize,
    pub history: Vec<HistoryEntry>,
}

/// Their consent: its fields and their history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierConsent {
    pub fields: Vec<DossierField>,
    pub history: Vec<HistoryEntry>,
}

/// One publication to a partner (from the access log): the partner, the categories published
/// (comma-separated codes) and when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedWith {
    pub partner: String,
    pub what: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierSharing {
    pub partners: Vec<SharedWith>,
    pub note: String,
}

/// What the team's store holds of the person's health follow-up: the days a health
/// professional saw them. The notes and health details are in the health space, which the
/// coordinator's device cannot read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DossierHealth {
    pub contacts: Vec<chrono::NaiveDate>,
    pub note: String,
}

/// Where the health part of a person's file is, said in the dossier.
pub const HEALTH_ELSEWHERE_FR: &str = "Les notes et informations de santé sont conservées dans l'espace santé de l'équipe, que seuls les professionnels de santé lisent : ce document ne les contient pas. Un professionnel de santé de l'équipe les communique à la personne (allervers health show).";

/// Everything held about one person.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dossier {
    pub person: RecordId,
    pub display_name: String,
    pub generated_at: DateTime<Utc>,
    /// The worker and device that wrote the dossier.
    pub generated_by: String,
    pub device: String,
    /// Every field of the person's record but consent, in the order of the record's fields.
    pub identity: Vec<DossierField>,
    pub consent: DossierConsent,
    /// The field-level history of the person's record.
    pub history: Vec<HistoryEntry>,
    pub timeline: Vec<TimelineEntry>,
    pub encounters: Vec<DossierEncounter>,
    pub actions: Vec<DossierRecord>,
    pub referrals: Vec<DossierRecord>,
    /// Their housing journey as a line of periods (theirs and their households'), and the
    /// records of it about them: their household memberships, journey periods and housing
    /// applications (the steps of one are its comments).
    pub journey: Vec<crate::JourneyStep>,
    pub housing: Vec<DossierRecord>,
    pub health: DossierHealth,
    pub sharing: DossierSharing,
    /// Who consulted their file, timeline or dossier, this dossier included.
    pub access_log: Vec<AccessEntry>,
    /// The exports whose period holds a day of their timeline, and so may hold their data
    /// (pseudonymised or not, as each says).
    pub exports: Vec<AccessEntry>,
    /// The dossiers of the records merged into this person (a duplicate merged at the office).
    pub merged: Vec<Dossier>,
}

fn is_consent(field: &str) -> bool {
    field.starts_with("consent_")
}

fn labelled(ty: FieldType, value: &Value, extra: &[ExtraTerm]) -> DossierValue {
    let label = match (ty.element(), value) {
        (FieldType::Code(v), Value::Code(code)) => Some(vocab::label(v, code, extra, Lang::Fr)),
        (FieldType::Bool, Value::Bool(b)) => Some(if *b { "oui" } else { "non" }.to_string()),
        _ => None,
    };
    DossierValue {
        value: value.to_string(),
        label,
    }
}

/// Every field of a record (but comments and the persons met, which are told apart), as the
/// document holds it.
fn fields(
    kind: Kind,
    r: &Reader,
    extra: &[ExtraTerm],
    keep: impl Fn(&FieldSpec) -> bool,
) -> Vec<DossierField> {
    let conflicts = r.conflicts(kind);
    let mut out = Vec::new();
    for spec in kind.fields().iter().filter(|s| keep(s)) {
        let values: Vec<DossierValue> = match spec.ty {
            FieldType::Comments | FieldType::AccessEntries => continue,
            FieldType::CodeSet(v) => r
                .set(spec)
                .into_iter()
                .map(|code| labelled(FieldType::Code(v), &Value::Code(code), extra))
                .collect(),
            FieldType::TextMap => r
                .text_map(spec)
                .into_iter()
                .map(|(k, v)| DossierValue {
                    value: format!("{k} = {v}"),
                    label: None,
                })
                .collect(),
            ty if ty.is_container() => r
                .list(spec)
                .iter()
                .map(|v| labelled(ty, v, extra))
                .collect(),
            ty => r.get(spec).iter().map(|v| labelled(ty, v, extra)).collect(),
        };
        let conflict = match spec.ty {
            ty if ty.is_container() => Vec::new(),
            ty => conflicts
                .iter()
                .find(|(f, _)| f == spec.name)
                .map(|(_, vs)| vs.iter().map(|v| labelled(ty, v, extra)).collect())
                .unwrap_or_default(),
        };
        out.push(DossierField {
            field: spec.name.to_string(),
            label: spec.fr.to_string(),
            values,
            conflict,
        });
    }
    out
}

impl Store {
    /// Everything held about one person (coordinator): see the module's comment. Writing it is
    /// logged in the access log; a dossier that cannot be logged is not made.
    pub fn dossier(&self, person: RecordId, via: Via) -> Result<Dossier> {
        self.require_reviewer("dossier")?;
        // The person's records merged into one another (`merge.rs`): the one they resolve to,
        // with every record merged into it.
        let group = self.person_group(person)?;
        let mut dossier = self.dossier_of(group[0], via)?;
        for &member in &group[1..] {
            dossier.merged.push(self.dossier_of(member, via)?);
        }
        Ok(dossier)
    }

    fn dossier_of(&self, person: RecordId, via: Via) -> Result<Dossier> {
        let kind = self.kind_of(person)?;
        if kind != Kind::Person {
            return Err(CoreError::WrongKind {
                id: person,
                expected: "person",
                actual: kind.name().into(),
            });
        }
        let extra = self.extra_terms()?;
        let (identity, consent_fields) = {
            let conn = self.lock();
            let doc =
                crate::store::load_doc(&conn, person)?.ok_or(CoreError::RecordNotFound(person))?;
            let r = Reader::new(&doc);
            (
                fields(Kind::Person, &r, &extra, |s| !is_consent(s.name)),
                fields(Kind::Person, &r, &extra, |s| is_consent(s.name)),
            )
        };
        // The organisation's own fields by their French labels (the raw values stay in the
        // JSON), each flagged when it does not fit its definition here.
        let mut identity = identity;
        if let Some(custom) = identity
            .iter_mut()
            .find(|f| f.field == crate::model::custom::CUSTOM)
        {
            let values = self.person(person)?.custom;
            custom.values = self
                .custom_values(Kind::Person, &values, crate::vocab::Lang::Fr)?
                .into_iter()
                .filter(|v| !v.raw.is_empty())
                .map(|v| DossierValue {
                    value: format!("{} = {}", v.name, v.raw),
                    label: Some(match v.problem {
                        Some(problem) => format!("{} : {} ({problem})", v.label, v.value),
                        None => format!("{} : {}", v.label, v.value),
                    }),
                })
                .collect();
        }
        let display_name = self.person(person)?.display_name();
        let history = self.history(person)?;
        let consent_history = history
            .iter()
            .filter(|h| is_consent(&h.field))
            .cloned()
            .collect();
        let timeline = self.timeline(person)?;
        let (encounter_ids, others) = {
            let conn = self.lock();
            let encounters: Vec<(RecordId, usize)> = person_encounters(&conn, person)?
                .into_iter()
                .map(|e| {
                    let others = e
                        .persons
                        .split(',')
                        .filter(|p| !p.is_empty() && *p != person.to_string())
                        .count();
                    (e.id, others)
                })
                .collect();
            let others = person_follow_ups(&conn, person)?;
            (encounters, others)
        };
        let mut encounters = Vec::new();
        for (id, other_persons) in encounter_ids {
            let (fields, history) =
                self.record_part(id, Kind::Encounter, &extra, |s| s.name != "persons")?;
            let history = history
                .into_iter()
                .filter(|h| {
                    !(h.field == "persons"
                        && h.op == Op::Added
                        && h.new != Some(Value::Ref(person)))
                })
                .collect();
            encounters.push(DossierEncounter {
                id,
                fields,
                other_persons,
                history,
            });
        }
        let (mut actions, mut referrals, mut housing) = (Vec::new(), Vec::new(), Vec::new());
        for (id, kind) in others {
            let (fields, history) = self.record_part(id, kind, &extra, |_| true)?;
            let comments = match kind {
                Kind::Action => self.action(id)?.comments,
                Kind::HousingApplication => self.application(id)?.steps,
                _ => Vec::new(),
            };
            let part = DossierRecord {
                id,
                kind,
                fields,
                comments,
                history,
            };
            match kind {
                Kind::Action => actions.push(part),
                Kind::Referral => referrals.push(part),
                Kind::HouseholdMember
                | Kind::JourneyPeriod
                | Kind::HousingApplication
                | Kind::Home
                | Kind::RiskSignal
                | Kind::Proposal
                | Kind::OwnView => housing.push(part),
                // Consent decisions have their own part; health contacts are in the timeline.
                _ => {}
            }
        }
        self.log_access(&[Access::Dossier { person }], via)?;
        let access_log = crate::store::access_log::list(
            &self.lock(),
            self.now(),
            &AccessQuery {
                person: Some(person),
                ..Default::default()
            },
        )?;
        let days: std::collections::BTreeSet<chrono::NaiveDate> =
            timeline.iter().map(|e| e.at.date_naive()).collect();
        let exports =
            crate::store::access_log::list(&self.lock(), self.now(), &AccessQuery::default())?
                .into_iter()
                .filter(|e| e.what == "export")
                .filter(|e| match (e.from, e.to) {
                    // A period that ends before it starts (as a member's device may have logged
                    // it) holds no day.
                    (Some(from), Some(to)) if from <= to => days.range(from..=to).next().is_some(),
                    (Some(_), Some(_)) => false,
                    _ => true,
                })
                .collect();
        let me = self.identity();
        Ok(Dossier {
            person,
            display_name,
            generated_at: self.now(),
            generated_by: self.worker(),
            device: me.device_name.clone(),
            identity,
            consent: DossierConsent {
                fields: consent_fields,
                history: consent_history,
            },
            history,
            timeline,
            encounters,
            actions,
            referrals,
            journey: self.journey(person)?,
            housing,
            health: DossierHealth {
                contacts: self
                    .health_contacts(person)?
                    .into_iter()
                    .filter_map(|c| c.on)
                    .collect(),
                note: HEALTH_ELSEWHERE_FR.to_string(),
            },
            sharing: sharing(&access_log),
            access_log,
            exports,
            merged: Vec::new(),
        })
    }

    fn record_part(
        &self,
        id: RecordId,
        kind: Kind,
        extra: &[ExtraTerm],
        keep: impl Fn(&FieldSpec) -> bool,
    ) -> Result<(Vec<DossierField>, Vec<HistoryEntry>)> {
        let fields = {
            let conn = self.lock();
            let doc = crate::store::load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
            fields(kind, &Reader::new(&doc), extra, keep)
        };
        Ok((fields, self.history(id)?))
    }
}

/// The publications to partners among the access log's entries about the person.
fn sharing(log: &[crate::AccessEntry]) -> DossierSharing {
    let partners: Vec<SharedWith> = log
        .iter()
        .filter(|e| e.what == "publication")
        .map(|e| SharedWith {
            partner: e.partner.clone().unwrap_or_default(),
            what: e.categories.join(","),
            at: e.at,
        })
        .collect();
    let note = if partners.is_empty() {
        NO_SHARING_FR
    } else {
        SHARING_FR
    };
    DossierSharing {
        partners,
        note: note.to_string(),
    }
}
