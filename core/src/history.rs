//! History and timelines. `history(record)` lists a record's field-level changes in causal order
//! (who, which device, when, old -> new); `timeline(person)` merges everything about one person
//! from every device (encounters, actions, referrals, field changes) in time order.

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash, PatchAction, Prop, ReadDoc, ROOT};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::doc::{self, Reader, RESOLUTIONS};
use crate::model::schema::{FieldType, Kind, Value};
use crate::store::{load_doc, record_kind, Store};
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

/// Relay time and device clock offset of each change of a record that came through the relay.
pub(crate) type RelayTimes = HashMap<[u8; 32], (i64, Option<i64>)>;

pub(crate) fn relay_times(conn: &Connection, id: RecordId) -> Result<RelayTimes> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, relay_at, clock_offset FROM changes WHERE record_id = ?1 AND relay_at IS NOT NULL",
    )?;
    let rows = stmt.query_map([id.as_bytes()], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (hash, at, offset) = row?;
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            out.insert(hash, (at, offset));
        }
    }
    Ok(out)
}

fn relay_info(times: &RelayTimes, hash: &[u8; 32]) -> (Option<DateTime<Utc>>, bool) {
    match times.get(hash) {
        Some((at, offset)) => (
            DateTime::from_timestamp_millis(*at),
            offset.is_some_and(|o| o.saturating_abs() > CLOCK_TOLERANCE_MS),
        ),
        None => (None, false),
    }
}

/// Relay time and clock mark of a record's first change (an encounter is one change, mostly).
fn first_relay_info(conn: &Connection, id: RecordId) -> Result<(Option<DateTime<Utc>>, bool)> {
    let row: Option<(Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT relay_at, clock_offset FROM changes WHERE record_id = ?1 ORDER BY seq LIMIT 1",
        )?
        .query_row([id.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((at, offset)) => (
            at.and_then(DateTime::from_timestamp_millis),
            offset.is_some_and(|o| o.saturating_abs() > CLOCK_TOLERANCE_MS),
        ),
        None => (None, false),
    })
}

pub(crate) fn authors(conn: &Connection) -> Result<HashMap<Vec<u8>, (String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT device, name, worker FROM devices")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, (r.get(1)?, r.get(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn author_of(
    known: &HashMap<Vec<u8>, (String, String)>,
    actor: &automerge::ActorId,
) -> Author {
    let device = DeviceId(actor.clone());
    match known.get(actor.to_bytes()) {
        Some((name, worker)) => Author {
            device: device.to_string(),
            device_name: Some(name.clone()),
            worker: Some(worker.clone()).filter(|w| !w.is_empty()),
        },
        None => Author {
            device: device.to_string(),
            device_name: None,
            worker: None,
        },
    }
}

fn scalar_of(ty: FieldType, value: &automerge::Value) -> Option<Value> {
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
            )
        })
        .collect();
    let mut out = Vec::new();
    for (i, (hash, deps, actor, ts)) in changes.into_iter().enumerate() {
        let after = [hash];
        let patches = doc.diff(&deps, &after);
        let author = author_of(known, &actor);
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

/// What a timeline entry is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Encounter {
        id: RecordId,
        place: Option<String>,
        team: Option<String>,
        kind: Option<String>,
        services: Vec<String>,
        workers: Vec<String>,
        notes: Option<String>,
        follow_up: bool,
        anonymous_count: i64,
        other_persons: usize,
    },
    Action {
        id: RecordId,
        title: Option<String>,
        category: Option<String>,
        status: Option<String>,
        due_at: Option<NaiveDate>,
    },
    Referral {
        id: RecordId,
        target: Option<String>,
        target_name: Option<String>,
        status: Option<String>,
        outcome: Option<String>,
    },
    /// A change to the person's record, or to an action or referral about them.
    Change(HistoryEntry),
}

/// One entry of a person's merged visit history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// When it happened (occurred at for encounters, device time of the change otherwise).
    pub at: DateTime<Utc>,
    pub author: Author,
    /// When the relay received the record's first change, for records that came through it.
    pub relay_at: Option<DateTime<Utc>>,
    /// The writing device's clock was off by more than ten minutes against the relay's.
    pub clock_off: bool,
    pub item: TimelineItem,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
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

    /// The merged visit history of one person: every encounter, action, referral and change
    /// about them, from every device, oldest first.
    pub fn timeline(&self, person: RecordId) -> Result<Vec<TimelineEntry>> {
        let conn = self.lock();
        let kind = record_kind(&conn, person)?;
        if kind != Kind::Person {
            return Err(CoreError::WrongKind {
                id: person,
                expected: "person",
                actual: kind.name().into(),
            });
        }
        let known = authors(&conn)?;
        let mut out = Vec::new();
        let pid = person.as_bytes();

        // Changes to the person's own record (the creation is the first entry).
        let mut doc = load_doc(&conn, person)?.ok_or(CoreError::RecordNotFound(person))?;
        let times = relay_times(&conn, person)?;
        for entry in record_history(person, Kind::Person, &mut doc, &known, &times) {
            out.push(TimelineEntry {
                at: entry.at,
                author: entry.author.clone(),
                relay_at: entry.relay_at,
                clock_off: entry.clock_off,
                item: TimelineItem::Change(entry),
            });
        }
        let mut stmt = conn.prepare_cached(
            "SELECT e.record_id, e.occurred_at, e.device, e.place, e.team, e.encounter_kind, e.services,
                    e.workers, e.notes, e.follow_up, e.anonymous_count, e.persons
             FROM encounter_persons ep JOIN encounters e ON e.occurred_at = ep.occurred_at AND e.record_id = ep.encounter_id
             WHERE ep.person_id = ?1 ORDER BY ep.occurred_at",
        )?;
        let rows = stmt.query_map([pid], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, bool>(9)?,
                r.get::<_, i64>(10)?,
                r.get::<_, String>(11)?,
            ))
        })?;
        for row in rows {
            let (
                id,
                at,
                device,
                place,
                team,
                kind,
                services,
                workers,
                notes,
                follow_up,
                anonymous,
                persons,
            ) = row?;
            let record =
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
            let (relay_at, clock_off) = first_relay_info(&conn, record)?;
            out.push(TimelineEntry {
                at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
                author: author_of(&known, &automerge::ActorId::from(&device[..])),
                relay_at,
                clock_off,
                item: TimelineItem::Encounter {
                    id: RecordId::from_slice(&id)
                        .ok_or_else(|| CoreError::corrupt("bad record id"))?,
                    place,
                    team,
                    kind,
                    services: split_list(&services),
                    workers: split_list(&workers),
                    notes,
                    follow_up,
                    anonymous_count: anonymous,
                    other_persons: split_list(&persons).len().saturating_sub(1),
                },
            });
        }

        // Actions and referrals: their creation, then their later changes (status, outcome).
        let mut related = Vec::new();
        for (table, kind) in [("actions", Kind::Action), ("referrals", Kind::Referral)] {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT record_id FROM {table} WHERE person_id = ?1 ORDER BY created_at"
            ))?;
            let ids = stmt.query_map([pid], |r| r.get::<_, Vec<u8>>(0))?;
            for id in ids {
                let id = RecordId::from_slice(&id?)
                    .ok_or_else(|| CoreError::corrupt("bad record id"))?;
                related.push((id, kind));
            }
        }
        for (id, kind) in related {
            let Some(mut doc) = load_doc(&conn, id)? else {
                continue;
            };
            let times = relay_times(&conn, id)?;
            let history = record_history(id, kind, &mut doc, &known, &times);
            let r = Reader::new(&doc);
            let text = |f: &str| {
                kind.field(f)
                    .ok()
                    .and_then(|s| r.get(s))
                    .map(|v| v.to_string())
            };
            if let Some(first) = history.first() {
                let item = match kind {
                    Kind::Action => TimelineItem::Action {
                        id,
                        title: text("title"),
                        category: text("category"),
                        status: text("status"),
                        due_at: text("due_at")
                            .as_deref()
                            .and_then(crate::model::schema::parse_date),
                    },
                    _ => TimelineItem::Referral {
                        id,
                        target: text("target"),
                        target_name: text("target_name"),
                        status: text("status"),
                        outcome: text("outcome"),
                    },
                };
                out.push(TimelineEntry {
                    at: first.at,
                    author: first.author.clone(),
                    relay_at: first.relay_at,
                    clock_off: first.clock_off,
                    item,
                });
            }
            for entry in history.into_iter().filter(|e| !e.creation) {
                out.push(TimelineEntry {
                    at: entry.at,
                    author: entry.author.clone(),
                    relay_at: entry.relay_at,
                    clock_off: entry.clock_off,
                    item: TimelineItem::Change(entry),
                });
            }
        }

        // Stable sort: entries of one record keep their causal order when times tie.
        out.sort_by_key(|e| e.at);
        Ok(out)
    }
}

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
        let mut stmt = conn.prepare_cached(
            "SELECT record_id, field, since FROM conflicts ORDER BY since, record_id, field",
        )?;
        let rows: Vec<(Vec<u8>, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut docs: HashMap<RecordId, (Kind, AutoCommit)> = HashMap::new();
        let mut out = Vec::new();
        for (id, field, since) in rows {
            let id =
                RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?;
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
            author: author_of(known, &actor),
            at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
        });
    }
    out
}
