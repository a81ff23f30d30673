//! History: `history(record)` lists a record's field-level changes in causal order (who, which
//! device, when, old -> new, and when the relay received them).

use std::collections::HashMap;

use automerge::{AutoCommit, PatchAction, Prop};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::doc::{self, Reader, RESOLUTIONS};
use crate::model::fields::{FieldType, Kind, Value};
use crate::store::{authors, load_doc, record_kind, relay_times, RelayTimes, Store};
use crate::{CoreError, DeviceId, RecordId, Result};

/// What a change did to a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The field got a value (on creation, `old` is empty).
    Set,
    /// The value was removed.
    Cleared,
    /// An item was appended to a list, or a code added to a set.
    Added,
    /// A code was removed from a set.
    Removed,
    /// A comment was appended.
    Commented,
    /// A conflict was settled by choosing `new`.
    Resolved,
}

/// Who wrote a change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Author {
    pub device: String,
    pub device_name: Option<String>,
    pub worker: Option<String>,
}

impl Author {
    /// "worker (device)", or the short device id when the roster does not know the device.
    pub fn label(&self) -> String {
        match (&self.worker, &self.device_name) {
            (Some(w), Some(d)) if !w.is_empty() => format!("{w} ({d})"),
            (_, Some(d)) => d.clone(),
            _ => self.device.chars().take(8).collect(),
        }
    }
}

/// One field-level change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub record_id: RecordId,
    pub change: String,
    /// Device time of the change.
    pub at: DateTime<Utc>,
    pub author: Author,
    /// Whether this is the change that created the record.
    pub creation: bool,
    /// The field (`situation`), the entry of a set or map (`needs.health`), or a list.
    pub field: String,
    pub op: Op,
    /// The value(s) the author saw before (two or more when resolving a conflict).
    pub old: Vec<Value>,
    /// The value written (`None` when cleared).
    pub new: Option<Value>,
    /// When the relay received the change (changes that came through it).
    pub relay_at: Option<DateTime<Utc>>,
    /// The writing device's clock was off by more than ten minutes against the relay's when it
    /// sent the change.
    pub clock_off: bool,
}
/// How far off a device clock may be before its changes are marked.
pub const CLOCK_TOLERANCE_MS: i64 = 10 * 60 * 1000;

fn relay_info(times: &RelayTimes, hash: &[u8; 32]) -> (Option<DateTime<Utc>>, bool) {
    match times.get(hash) {
        Some((at, offset)) => (
            DateTime::from_timestamp_millis(*at),
            offset.is_some_and(|o| o.saturating_abs() > CLOCK_TOLERANCE_MS),
        ),
        None => (None, false),
    }
}

/// Who created a record and when the relay received that creation.
pub(crate) struct Creation {
    /// The device, and the worker the creating change records.
    pub(crate) author: Author,
    pub(crate) relay_at: Option<DateTime<Utc>>,
    pub(crate) clock_off: bool,
}

/// A record's creation, from the creating change's row alone (a timeline lists encounters
/// without loading their documents); `None` when the store holds no creation of the record.
pub(crate) fn creation(
    conn: &rusqlite::Connection,
    id: RecordId,
    known: &HashMap<Vec<u8>, (String, String)>,
) -> Result<Option<Creation>> {
    let Some(stored) = crate::store::creating_change(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(Creation {
        author: author_of(known, stored.change.actor_id(), stored.change.message()),
        relay_at: stored.relay_at.and_then(DateTime::from_timestamp_millis),
        clock_off: stored
            .clock_offset
            .is_some_and(|o| o.saturating_abs() > CLOCK_TOLERANCE_MS),
    }))
}

/// Who wrote a change: its device, named from the roster, and its worker: the one the change
/// itself records (a shared team phone is used by several), else the device's from the roster.
pub(crate) fn author_of(
    known: &HashMap<Vec<u8>, (String, String)>,
    actor: &automerge::ActorId,
    recorded_worker: Option<&str>,
) -> Author {
    let device = DeviceId(actor.clone());
    let recorded = recorded_worker
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(100).collect::<String>());
    match known.get(actor.to_bytes()) {
        Some((name, worker)) => Author {
            device: device.to_string(),
            device_name: Some(name.clone()),
            worker: recorded.or_else(|| Some(worker.clone()).filter(|w| !w.is_empty())),
        },
        None => Author {
            device: device.to_string(),
            device_name: None,
            worker: recorded,
        },
    }
}

pub(crate) fn scalar_of(ty: FieldType, value: &automerge::Value) -> Option<Value> {
    match value {
        automerge::Value::Scalar(s) => Some(doc::from_scalar(ty, s)),
        automerge::Value::Object(_) => None,
    }
}

/// The field-level history of one record document, in causal order.
pub(crate) fn record_history(
    id: RecordId,
    kind: Kind,
    doc: &mut AutoCommit,
    known: &HashMap<Vec<u8>, (String, String)>,
    times: &RelayTimes,
) -> Vec<HistoryEntry> {
    let changes: Vec<_> = doc
        .get_changes(&[])
        .into_iter()
        .map(|c| {
            (
                c.hash(),
                c.deps().to_vec(),
                c.actor_id().clone(),
                c.timestamp(),
                c.message().map(str::to_string),
            )
        })
        .collect();
    let mut out = Vec::new();
    for (i, (hash, deps, actor, ts, message)) in changes.into_iter().enumerate() {
        let after = [hash];
        let patches = doc.diff(&deps, &after);
        let author = author_of(known, &actor, message.as_deref());
        let at = DateTime::from_timestamp_millis(ts).unwrap_or_default();
        let (relay_at, clock_off) = relay_info(times, &hash.0);
        let resolving = patches
            .iter()
            .any(|p| matches!(p.path.first(), Some((_, Prop::Map(k))) if k == RESOLUTIONS));
        let mut entries = Vec::new();
        {
            let before = Reader::at(doc, &deps);
            for patch in &patches {
                let entry =
                    |field: String, op: Op, old: Vec<Value>, new: Option<Value>| HistoryEntry {
                        record_id: id,
                        change: hash.to_string(),
                        at,
                        author: author.clone(),
                        creation: i == 0 && deps.is_empty(),
                        field,
                        op,
                        old,
                        new,
                        relay_at,
                        clock_off,
                    };
                match (&patch.path[..], &patch.action) {
                    // A scalar field at the root.
                    ([], PatchAction::PutMap { key, value, .. }) => {
                        let Ok(spec) = kind.field(key) else { continue };
                        let Some(new) = scalar_of(spec.ty, &value.0) else {
                            continue;
                        };
                        let old = if deps.is_empty() {
                            Vec::new()
                        } else {
                            before.all(spec)
                        };
                        let op = if resolving { Op::Resolved } else { Op::Set };
                        entries.push(entry(key.clone(), op, old, Some(new)));
                    }
                    ([], PatchAction::DeleteMap { key }) => {
                        let Ok(spec) = kind.field(key) else { continue };
                        entries.push(entry(key.clone(), Op::Cleared, before.all(spec), None));
                    }
                    // An entry of a set or free map.
                    ([(_, Prop::Map(field))], PatchAction::PutMap { key, value, .. }) => {
                        let Ok(spec) = kind.field(field) else {
                            continue;
                        };
                        let Some(new) = scalar_of(spec.ty, &value.0) else {
                            continue;
                        };
                        let path = format!("{field}.{key}");
                        let old = if deps.is_empty() {
                            Vec::new()
                        } else {
                            before.map(spec).remove(key).unwrap_or_default()
                        };
                        let (op, new) = match (spec.ty, &new) {
                            _ if resolving => (Op::Resolved, new),
                            (FieldType::CodeSet(_), Value::Bool(true)) => {
                                (Op::Added, Value::Code(key.clone()))
                            }
                            (FieldType::CodeSet(_), Value::Bool(false)) => {
                                (Op::Removed, Value::Code(key.clone()))
                            }
                            _ => (Op::Set, new),
                        };
                        let field = if op == Op::Added || op == Op::Removed {
                            field.clone()
                        } else {
                            path
                        };
                        entries.push(entry(field, op, old, Some(new)));
                    }
                    // Items appended to a list.
                    ([(_, Prop::Map(field))], PatchAction::Insert { values, .. }) => {
                        if field == RESOLUTIONS {
                            continue;
                        }
                        let Ok(spec) = kind.field(field) else {
                            continue;
                        };
                        for (v, _, _) in values.iter() {
                            if let Some(new) = scalar_of(spec.ty, v) {
                                entries.push(entry(
                                    field.clone(),
                                    Op::Added,
                                    Vec::new(),
                                    Some(new),
                                ));
                            }
                        }
                    }
                    // The text of an appended comment.
                    (
                        [(_, Prop::Map(field)), (_, Prop::Seq(_))],
                        PatchAction::PutMap { key, value, .. },
                    ) if key == "text" && field != RESOLUTIONS => {
                        if let Some(new) = scalar_of(FieldType::Text, &value.0) {
                            entries.push(entry(
                                field.clone(),
                                Op::Commented,
                                Vec::new(),
                                Some(new),
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        out.extend(entries);
    }
    out
}

impl Store {
    /// The field-level history of a record, in causal order.
    pub fn history(&self, id: RecordId) -> Result<Vec<HistoryEntry>> {
        let conn = self.lock();
        let kind = record_kind(&conn, id)?;
        let mut doc = load_doc(&conn, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let known = authors(&conn)?;
        let times = relay_times(&conn, id)?;
        Ok(record_history(id, kind, &mut doc, &known, &times))
    }
}
