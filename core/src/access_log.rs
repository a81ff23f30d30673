//! The access log: who opened a person's file, timeline or dossier, and every export of
//! personal data, from which device and when (professional secrecy needs the trace).
//!
//! Each device keeps one record a day (`Kind::AccessLog`), created by that device, whose
//! `entries` list it appends to: a day's reads are one record, synced like the others, so the
//! log reaches coordinators with the next sync. This module holds the entries' shape and their
//! mapping to the Automerge document; the store writes, indexes and lists them
//! (`store/access_log.rs`).

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::doc::{CREATED_AT, KIND};
use crate::model::fields::Kind;
use crate::{CoreError, DeviceId, RecordId, Result};

/// How long the access log is kept and listed, in months, until the organisation's settings
/// hold a period of their own. Entries older than this are no longer listed; deleting their
/// records waits for the store's record-deletion primitive (the erasure work).
pub const RETENTION_MONTHS: u32 = 12;

/// Where a read was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The office command line.
    Cli,
    /// The local dashboard.
    Dashboard,
    /// The field app (through the bindings).
    App,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Dashboard => "dashboard",
            Via::App => "app",
        }
    }
}

/// What was read or exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Access {
    /// A person's file (their record) was opened.
    Person { person: RecordId },
    /// A person's merged timeline was read.
    Timeline { person: RecordId },
    /// A person's dossier (everything held about them) was written.
    Dossier { person: RecordId },
    /// A person's health notes were read (on a health professional's device).
    Health { person: RecordId },
    /// What the person consented to share was published to a partner (its code): the
    /// categories published.
    Publication {
        person: RecordId,
        partner: String,
        categories: Vec<String>,
    },
    /// An export of personal data: its kind, its period and whether it was pseudonymised.
    Export {
        kind: String,
        from: NaiveDate,
        to: NaiveDate,
        pseudonymised: bool,
    },
}

impl Access {
    pub fn what(&self) -> &'static str {
        match self {
            Access::Person { .. } => "person",
            Access::Timeline { .. } => "timeline",
            Access::Dossier { .. } => "dossier",
            Access::Health { .. } => "health",
            Access::Export { .. } => "export",
            Access::Publication { .. } => "publication",
        }
    }
}

/// One entry of the access log, as listed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    /// The device that wrote the entry (the author of its operation).
    pub device: String,
    /// Its name in the roster, when the roster knows it.
    pub device_name: Option<String>,
    /// The worker using the device then.
    pub worker: String,
    /// `cli`, `dashboard` or `app` (or what a newer device wrote).
    pub via: String,
    /// `person`, `timeline`, `dossier`, `health`, `export` or `publication` (or what a newer
    /// device wrote).
    pub what: String,
    pub person: Option<RecordId>,
    /// For a publication: the partner and the categories published.
    pub partner: Option<String>,
    pub categories: Vec<String>,
    /// For an export: its kind, period and whether it was pseudonymised.
    pub export_kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub pseudonymised: Option<bool>,
}

impl AccessEntry {
    /// The device as a person reads it: its name from the roster, else its id's first digits.
    pub fn device_label(&self) -> String {
        self.device_name
            .clone()
            .unwrap_or_else(|| self.device.chars().take(8).collect())
    }
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct AccessQuery {
    pub person: Option<RecordId>,
    /// The worker's name, exactly (case and accents ignored).
    pub worker: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// An entry as the document holds it, with the device whose operation wrote it.
pub(crate) struct StoredEntry {
    pub(crate) device: DeviceId,
    pub(crate) at_ms: i64,
    pub(crate) worker: String,
    pub(crate) via: String,
    pub(crate) what: String,
    pub(crate) person: Option<RecordId>,
    pub(crate) partner: Option<String>,
    pub(crate) categories: Option<String>,
    pub(crate) export_kind: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) pseudonymised: Option<bool>,
}

const ENTRIES: &str = "entries";

/// A new day's log document of `device`: its kind, creation time, day and an empty entries
/// list, all in the creating change (the list is created once, with the record).
pub(crate) fn new_log(device: &DeviceId, now_ms: i64, day: NaiveDate) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new();
    doc.set_actor(device.actor().clone());
    doc.put(ROOT, KIND, Kind::AccessLog.name())?;
    doc.put(ROOT, CREATED_AT, ScalarValue::Timestamp(now_ms))?;
    doc.put(ROOT, "day", day.format("%Y-%m-%d").to_string())?;
    doc.put_object(ROOT, ENTRIES, ObjType::List)?;
    Ok(doc)
}

fn entries_list(doc: &AutoCommit) -> Option<ObjId> {
    match doc.get(ROOT, ENTRIES).ok().flatten() {
        Some((automerge::Value::Object(ObjType::List), id)) => Some(id),
        _ => None,
    }
}

/// The day a log is for, as written (`YYYY-MM-DD`).
pub(crate) fn day(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, "day").ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(d) => Some(d.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// Appends one entry to a log document (the caller commits).
pub(crate) fn append(
    doc: &mut AutoCommit,
    access: &Access,
    via: Via,
    worker: &str,
    now_ms: i64,
) -> Result<()> {
    let list = entries_list(doc).ok_or_else(|| CoreError::corrupt("access log has no entries"))?;
    let len = doc.length(&list);
    let entry = doc.insert_object(&list, len, ObjType::Map)?;
    doc.put(&entry, "at", ScalarValue::Timestamp(now_ms))?;
    doc.put(&entry, "worker", worker)?;
    doc.put(&entry, "via", via.name())?;
    doc.put(&entry, "what", access.what())?;
    match access {
        Access::Person { person }
        | Access::Timeline { person }
        | Access::Dossier { person }
        | Access::Health { person } => {
            doc.put(&entry, "person", person.to_string())?;
        }
        Access::Publication {
            person,
            partner,
            categories,
        } => {
            doc.put(&entry, "person", person.to_string())?;
            doc.put(&entry, "partner", partner.as_str())?;
            doc.put(&entry, "categories", categories.join(","))?;
        }
        Access::Export {
            kind,
            from,
            to,
            pseudonymised,
        } => {
            doc.put(&entry, "kind", kind.as_str())?;
            doc.put(&entry, "from", from.format("%Y-%m-%d").to_string())?;
            doc.put(&entry, "to", to.format("%Y-%m-%d").to_string())?;
            doc.put(&entry, "pseudonymised", *pseudonymised)?;
        }
    }
    Ok(())
}

/// The device that created a log: the author of its creation (the one change with no
/// dependencies), which only the device its id binds may write.
pub(crate) fn creator(doc: &mut AutoCommit) -> Option<automerge::ActorId> {
    doc.get_changes(&[])
        .into_iter()
        .find(|c| c.deps().is_empty())
        .map(|c| c.actor_id().clone())
}

/// The entries of a log from position `from` on, as its creator wrote them: a log is its
/// device's alone, so only the operations of the device that created the record count (the
/// list it made, the entries it inserted in it, the values it put in them), read from its own
/// changes. What another member's device did to the record (an entry inserted, deleted or
/// rewritten, the list replaced) changes nothing, the same on every device whatever order the
/// changes came in. An entry another version wrote oddly is read as far as it goes (missing
/// texts empty, an unreadable person id absent); one without a time is skipped.
pub(crate) fn entries(doc: &mut AutoCommit, from: usize) -> Vec<(usize, StoredEntry)> {
    let Some(creator) = creator(doc) else {
        return Vec::new();
    };
    let changes = doc.get_changes(&[]);
    let mine: Vec<&automerge::Change> = changes
        .iter()
        .filter(|c| *c.actor_id() == creator)
        .collect();
    stored(&mine, &creator, None)
        .into_iter()
        .skip(from)
        .collect()
}

/// The entries this device's own `change` to its own log added, numbered from `from` (the
/// entries it held before): what `entries` would find past them, without reading the whole
/// day's changes again. `None` when the log's list is not this device's own (another device's
/// change replaced it): the caller reads the whole log then.
pub(crate) fn added_by(
    doc: &AutoCommit,
    change: &automerge::Change,
    from: usize,
) -> Option<Vec<(usize, StoredEntry)>> {
    let ObjId::Id(list, actor, _) = entries_list(doc)? else {
        return None;
    };
    if actor != *change.actor_id() {
        return None;
    }
    Some(
        stored(&[change], change.actor_id(), Some(list))
            .into_iter()
            .enumerate()
            .map(|(i, (_, e))| (from + i, e))
            .collect(),
    )
}

/// The entries the creator's `changes` (in causal order) put in the creator's list (`list`, its
/// counter, when known), numbered from 0.
fn stored(
    changes: &[&automerge::Change],
    creator: &automerge::ActorId,
    mut list: Option<u64>,
) -> Vec<(usize, StoredEntry)> {
    use automerge::legacy::{Key, ObjectId, OpType};
    use std::collections::BTreeMap;
    // The creator's list (its counter, found in its changes unless given), and each entry it
    // inserted: the entry map's counter -> the values the creator put in it.
    let mut maps: BTreeMap<u64, BTreeMap<String, ScalarValue>> = BTreeMap::new();
    for change in changes.iter().filter(|c| c.actor_id() == creator) {
        let start = change.start_op().get();
        for (i, op) in change.decode().operations.iter().enumerate() {
            let counter = start + i as u64;
            match (&op.obj, &op.key, &op.action) {
                (ObjectId::Root, Key::Map(key), OpType::Make(ObjType::List)) if key == ENTRIES => {
                    list = Some(counter);
                }
                (ObjectId::Id(obj), _, OpType::Make(ObjType::Map))
                    if op.insert && obj.actor() == creator && Some(obj.counter()) == list =>
                {
                    maps.insert(counter, BTreeMap::new());
                }
                (ObjectId::Id(obj), Key::Map(key), OpType::Put(value))
                    if obj.actor() == creator =>
                {
                    if let Some(map) = maps.get_mut(&obj.counter()) {
                        map.insert(key.to_string(), value.clone());
                    }
                }
                _ => {}
            }
        }
    }
    let device = DeviceId(creator.clone());
    let mut out = Vec::new();
    for (n, map) in maps.into_values().enumerate() {
        let text = |key: &str| match map.get(key) {
            Some(ScalarValue::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let Some(ScalarValue::Timestamp(at_ms)) = map.get("at") else {
            continue;
        };
        out.push((
            n,
            StoredEntry {
                device: device.clone(),
                at_ms: *at_ms,
                worker: text("worker").unwrap_or_default(),
                via: text("via").unwrap_or_default(),
                what: text("what").unwrap_or_default(),
                person: text("person").and_then(|p| p.parse().ok()),
                partner: text("partner"),
                categories: text("categories"),
                export_kind: text("kind"),
                from: text("from"),
                to: text("to"),
                pseudonymised: match map.get("pseudonymised") {
                    Some(ScalarValue::Boolean(b)) => Some(*b),
                    _ => None,
                },
            },
        ));
    }
    out
}
