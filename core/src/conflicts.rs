//! The conflict queue: fields holding concurrent values, each value with its author, in an
//! order every replica agrees on.

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
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
        let mut docs: HashMap<RecordId, (Kind, AutoCommit)> = HashMap::new();
        let mut out = Vec::new();
        for (id, field, since) in rows {
            if let std::collections::hash_map::Entry::Vacant(e) = docs.entry(id) {
                let kind = record_kind(&conn, id)?;
                let doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
                e.insert((kind, doc));
            }
            let (kind, doc) = docs.get_mut(&id).expect("inserted above");
            let values = conflict_values(doc, *kind, &field, &known);
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
        Kind::Roster => "roster".into(),
    }
}

fn conflict_values(
    doc: &mut AutoCommit,
    kind: Kind,
    path: &str,
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
        let hash: Option<ChangeHash> = doc.hash_for_opid(&op);
        let (actor, at) = match hash.and_then(|h| doc.get_change_by_hash(&h)) {
            Some(c) => (c.actor_id().clone(), c.timestamp()),
            None => match &op {
                automerge::ObjId::Id(_, actor, _) => (actor.clone(), 0),
                automerge::ObjId::Root => continue,
            },
        };
        out.push(ConflictValue {
            value,
            author: author_of(known, &actor, None),
            at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        });
    }
    out
}
