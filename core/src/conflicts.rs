//! The conflict queue: fields holding concurrent values, each value with its author (the device,
//! and the worker recorded in the change that wrote it), in an order every replica agrees on.

use std::collections::HashMap;

use automerge::{ActorId, AutoCommit, ReadDoc, ROOT};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::doc::{self, Reader};
use crate::history::{author_of, scalar_of, Author};
use crate::model::fields::{Kind, Value};
use crate::store::{authors, conflict_rows, load_doc, record_kind, Store};
use crate::{CoreError, RecordId, Result};

/// One value of a conflict, with who wrote it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConflictValue {
    pub value: Value,
    /// The device, and the worker recorded in the change that wrote the value.
    pub author: Author,
    pub at: DateTime<Utc>,
}

/// A field holding concurrent values until someone resolves it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conflict {
    pub record_id: RecordId,
    pub kind: Kind,
    /// What the record is (a person's name, an encounter's date and place).
    pub record_label: String,
    pub field: String,
    /// When this device first saw the conflict.
    pub since: DateTime<Utc>,
    pub values: Vec<ConflictValue>,
}

impl Store {
    /// Every open conflict, oldest first: by when the conflict came to be (the latest of its
    /// concurrent writes, in the writing devices' time), which every replica holding the same
    /// changes agrees on, then by record and field.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let conn = self.lock();
        let known = authors(&conn)?;
        let rows = conflict_rows(&conn)?;
        let mut docs: HashMap<RecordId, (Kind, AutoCommit, Writers)> = HashMap::new();
        let mut out = Vec::new();
        for (id, field, since) in rows {
            let (kind, doc, writers) = match docs.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let kind = record_kind(&conn, id)?;
                    let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
                    let writers = Writers::of(&mut doc);
                    e.insert((kind, doc, writers))
                }
            };
            let values = conflict_values(doc, *kind, &field, writers, &known);
            out.push(Conflict {
                record_id: id,
                kind: *kind,
                record_label: record_label(*kind, doc),
                field,
                since: DateTime::from_timestamp_millis(since).unwrap_or_default(),
                values,
            });
        }
        // A conflict none of whose values can be read (a damaged change) goes last.
        out.sort_by_cached_key(|c| {
            (
                c.values
                    .iter()
                    .map(|v| v.at)
                    .max()
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
                c.record_id,
                c.field.clone(),
            )
        });
        Ok(out)
    }
}

fn record_label(kind: Kind, doc: &AutoCommit) -> String {
    let r = Reader::new(doc);
    let text = |f: &str| {
        kind.field(f)
            .ok()
            .and_then(|s| r.get(s))
            .map(|v| v.to_string())
    };
    match kind {
        Kind::Person => {
            crate::model::display_name(text("name").as_deref(), text("nickname").as_deref())
        }
        Kind::Encounter => format!(
            "rencontre du {} {}",
            text("occurred_at").unwrap_or_default(),
            text("place").unwrap_or_default()
        )
        .trim()
        .to_string(),
        Kind::Action => text("title").unwrap_or_default(),
        Kind::Referral => text("target").unwrap_or_default(),
        Kind::Observation => text("territory").unwrap_or_default(),
        Kind::Consent => text("category").unwrap_or_default(),
        Kind::HealthNote => format!("note de santé du {}", text("on").unwrap_or_default()),
        Kind::HealthContact => format!("suivi santé du {}", text("on").unwrap_or_default()),
        Kind::HealthProfile => "informations de santé".into(),
        Kind::Household => text("label").unwrap_or_default(),
        Kind::HouseholdMember => format!(
            "membre d'un ménage depuis le {}",
            text("joined_on").unwrap_or_default()
        ),
        Kind::JourneyPeriod => format!(
            "période {} depuis le {}",
            text("situation").unwrap_or_default(),
            text("started_on").unwrap_or_default()
        ),
        Kind::Home => format!(
            "logement {} {}",
            text("landlord").unwrap_or_default(),
            text("address").unwrap_or_default()
        )
        .trim()
        .to_string(),
        Kind::RiskSignal => format!(
            "risque {} du {}",
            text("risk").unwrap_or_default(),
            text("raised_on").unwrap_or_default()
        ),
        Kind::HousingOffer => format!(
            "offre {} {}",
            text("home_kind").unwrap_or_default(),
            text("area").unwrap_or_default()
        )
        .trim()
        .to_string(),
        Kind::OwnView => format!(
            "parole de la personne du {}",
            text("on").unwrap_or_default()
        ),
        Kind::Proposal => format!("proposition du {}", text("proposed_on").unwrap_or_default()),
        Kind::HousingApplication => format!(
            "demande {} {}",
            text("application_kind").unwrap_or_default(),
            text("number").unwrap_or_default()
        )
        .trim()
        .to_string(),
        Kind::PublishedReport => format!(
            "rapport du {} au {}",
            text("period_from").unwrap_or_default(),
            text("period_to").unwrap_or_default()
        ),
        Kind::Roster => "roster".into(),
        Kind::AccessLog => "access log".into(),
        Kind::Projection => "personne partagée".into(),
        Kind::SharedAssessment => "évaluation partagée".into(),
        Kind::ErasureAck => "accusé d'effacement".into(),
    }
}

/// The changes of one record document by the ops they made: each actor's changes with their
/// range of op counters (an actor's ranges never overlap), time and recorded worker. Read once
/// per record from the changes' metadata, which re-encodes no change.
struct Writers(HashMap<ActorId, Vec<Written>>);

struct Written {
    start_op: u64,
    max_op: u64,
    timestamp: i64,
    worker: Option<String>,
}

impl Writers {
    fn of(doc: &mut AutoCommit) -> Writers {
        let mut by_actor: HashMap<ActorId, Vec<Written>> = HashMap::new();
        for meta in doc.get_changes_meta(&[]) {
            by_actor
                .entry(meta.actor.into_owned())
                .or_default()
                .push(Written {
                    start_op: meta.start_op,
                    max_op: meta.max_op,
                    timestamp: meta.timestamp,
                    worker: meta.message.map(|m| m.into_owned()),
                });
        }
        for changes in by_actor.values_mut() {
            changes.sort_unstable_by_key(|c| c.start_op);
        }
        Writers(by_actor)
    }

    /// The change of `actor` that made the op numbered `counter`.
    fn of_op(&self, actor: &ActorId, counter: u64) -> Option<&Written> {
        let changes = self.0.get(actor)?;
        let i = changes.partition_point(|c| c.start_op <= counter);
        changes[..i].last().filter(|c| counter <= c.max_op)
    }
}

fn conflict_values(
    doc: &mut AutoCommit,
    kind: Kind,
    path: &str,
    writers: &Writers,
    known: &HashMap<Vec<u8>, (String, String)>,
) -> Vec<ConflictValue> {
    let (field, key) = doc::split_path(path);
    let Ok(spec) = kind.field(field) else {
        return Vec::new();
    };
    let obj = match key {
        Some(_) => match doc.get(ROOT, field).ok().flatten() {
            Some((automerge::Value::Object(_), id)) => id,
            _ => return Vec::new(),
        },
        None => ROOT,
    };
    let prop = key.unwrap_or(field).to_string();
    let values: Vec<(Option<Value>, automerge::ObjId)> = doc
        .get_all(&obj, prop.as_str())
        .unwrap_or_default()
        .into_iter()
        .map(|(v, op)| (scalar_of(spec.ty, &v), op))
        .collect();
    let mut out = Vec::new();
    for (value, op) in values {
        let Some(value) = value else { continue };
        let automerge::ObjId::Id(counter, actor, _) = &op else {
            continue;
        };
        let (at, worker) = match writers.of_op(actor, *counter) {
            Some(c) => (c.timestamp, c.worker.as_deref()),
            None => (0, None),
        };
        out.push(ConflictValue {
            value,
            author: author_of(known, actor, worker),
            at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        });
    }
    out
}
