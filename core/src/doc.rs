//! The mapping between record fields and Automerge documents.
//!
//! Layout of a record document (root map):
//! - `kind`: the record kind (absent in the roster, whose id is fixed);
//! - one key per scalar field: a last-writer-wins register (`Str`, `Int`, `F64`, `Boolean`,
//!   `Timestamp`); concurrent writes survive side by side and are read with `get_all`;
//! - one key per container field (lists, code sets, free maps, comments), created once, with the
//!   record, by the device that creates it: a container created concurrently on two devices
//!   would hide one of them, so no edit ever creates one;
//! - `_resolutions`: an append-only list of the conflict resolutions made on this record.

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::model::fields::{FieldSpec, FieldType, Kind, Value};
use crate::{CoreError, DeviceId, RecordId, Result};

pub(crate) const RESOLUTIONS: &str = "_resolutions";
pub(crate) const KIND: &str = "kind";
pub(crate) const CREATED_AT: &str = "created_at";

/// One change to make to a record, by field name. Applied after validation, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Set a scalar field (overwriting, and so resolving, any concurrent values).
    Set(String, Value),
    /// Remove the value of a scalar field.
    Clear(String),
    /// Append to a list, or add a code to a set.
    Add(String, Value),
    /// Remove a code from a set (lists are append-only).
    Remove(String, Value),
    /// Put a named value into a free map (custom fields, counts).
    Put(String, String, String),
    /// Append a comment.
    Comment(String, String),
}

impl Edit {
    pub fn field(&self) -> &str {
        match self {
            Edit::Set(f, _)
            | Edit::Clear(f)
            | Edit::Add(f, _)
            | Edit::Remove(f, _)
            | Edit::Put(f, _, _)
            | Edit::Comment(f, _) => f,
        }
    }
}

/// A comment appended to a record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comment {
    pub text: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

pub(crate) fn to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Text(s) | Value::Code(s) | Value::Other(s) => ScalarValue::Str(s.as_str().into()),
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Float(x) => ScalarValue::F64(*x),
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Date(d) => ScalarValue::Str(d.format("%Y-%m-%d").to_string().into()),
        Value::Time(t) => ScalarValue::Timestamp(t.timestamp_millis()),
        Value::Ref(r) => ScalarValue::Str(r.to_string().into()),
    }
}

/// Reads a stored scalar as a value of type `ty`; a value of an unexpected type is kept raw.
pub(crate) fn from_scalar(ty: FieldType, scalar: &ScalarValue) -> Value {
    let raw = || Value::Other(scalar.to_string());
    match (ty.element(), scalar) {
        (FieldType::Text, ScalarValue::Str(s)) => Value::Text(s.to_string()),
        (FieldType::Code(_), ScalarValue::Str(s)) => Value::Code(s.to_string()),
        (FieldType::Int { .. }, ScalarValue::Int(i)) => Value::Int(*i),
        (FieldType::Int { .. }, ScalarValue::Uint(u)) => Value::Int(*u as i64),
        (FieldType::Float { .. }, ScalarValue::F64(x)) => Value::Float(*x),
        (FieldType::Float { .. }, ScalarValue::Int(i)) => Value::Float(*i as f64),
        (FieldType::Bool, ScalarValue::Boolean(b)) => Value::Bool(*b),
        (FieldType::Date(_), ScalarValue::Str(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Value::Date)
            .unwrap_or_else(|_| raw()),
        (FieldType::Time(_), ScalarValue::Timestamp(ms)) => DateTime::from_timestamp_millis(*ms)
            .map(Value::Time)
            .unwrap_or_else(raw),
        (FieldType::Ref(_), ScalarValue::Str(s)) => s
            .parse::<RecordId>()
            .map(Value::Ref)
            .unwrap_or_else(|_| raw()),
        _ => raw(),
    }
}

/// A new record document of `kind` written by `device`, holding its kind, creation time, every
/// container field and the initial `edits`, built in one batch (one operation-set splice instead
/// of one per field, which is what makes logging an encounter cheap). The caller commits.
/// Also returns the root it wrote, so that the index rows of the new record are computed without
/// reading the document back.
pub(crate) fn new_record(
    kind: Kind,
    device: &DeviceId,
    now_ms: i64,
    edits: &[Edit],
) -> Result<(AutoCommit, automerge::hydrate::Map)> {
    use automerge::hydrate;
    enum Node {
        Scalar(ScalarValue),
        List(Vec<ScalarValue>),
        Map(HashMap<String, hydrate::Value>),
    }
    let mut root: HashMap<String, Node> = HashMap::new();
    if kind != Kind::Roster {
        root.insert(
            KIND.into(),
            Node::Scalar(ScalarValue::Str(kind.name().into())),
        );
        root.insert(
            CREATED_AT.into(),
            Node::Scalar(ScalarValue::Timestamp(now_ms)),
        );
        for spec in kind.fields().iter().filter(|f| f.ty.is_container()) {
            let node = match spec.ty {
                FieldType::CodeSet(_) | FieldType::TextMap => Node::Map(HashMap::new()),
                _ => Node::List(Vec::new()),
            };
            root.insert(spec.name.into(), node);
        }
        root.insert(RESOLUTIONS.into(), Node::List(Vec::new()));
    }
    for edit in edits {
        let spec = kind.field(edit.field())?;
        let wrong = || CoreError::invalid(spec.name, "this change does not apply to a new record");
        match (edit, root.get_mut(spec.name)) {
            (Edit::Set(_, value), _) if !spec.ty.is_container() => {
                root.insert(spec.name.into(), Node::Scalar(to_scalar(value)));
            }
            (Edit::Clear(_), _) if !spec.ty.is_container() => {
                root.remove(spec.name);
            }
            (Edit::Add(_, value), Some(Node::List(items))) => items.push(to_scalar(value)),
            (Edit::Add(_, value), Some(Node::Map(map)))
                if matches!(spec.ty, FieldType::CodeSet(_)) =>
            {
                map.insert(value.to_string(), ScalarValue::Boolean(true).into());
            }
            (Edit::Remove(_, value), Some(Node::Map(map)))
                if matches!(spec.ty, FieldType::CodeSet(_)) =>
            {
                map.insert(value.to_string(), ScalarValue::Boolean(false).into());
            }
            (Edit::Put(_, key, value), Some(Node::Map(map))) if spec.ty == FieldType::TextMap => {
                map.insert(key.clone(), ScalarValue::Str(value.as_str().into()).into());
            }
            _ => return Err(wrong()),
        }
    }
    let root: HashMap<String, hydrate::Value> = root
        .into_iter()
        .map(|(k, node)| {
            let value = match node {
                Node::Scalar(s) => hydrate::Value::Scalar(s),
                Node::List(items) => items
                    .into_iter()
                    .map(hydrate::Value::Scalar)
                    .collect::<Vec<_>>()
                    .into(),
                Node::Map(map) => hydrate::Value::Map(map.into()),
            };
            (k, value)
        })
        .collect();
    let root: hydrate::Map = root.into();
    let mut doc = AutoCommit::new();
    doc.set_actor(device.actor().clone());
    doc.init_root_from_hydrate(&root)?;
    Ok((doc, root))
}

/// Commits the pending operations as one change stamped with `now_ms`; `None` if nothing changed.
/// Parses a change received from elsewhere. Automerge's parser panics on some malformed bytes
/// (an `unwrap` of an out-of-range counter in its key decoder, automerge 0.12): a bad change must
/// be refused, never take the process down, so the panic is caught and said as an error.
pub(crate) fn parse_change(bytes: &[u8]) -> std::result::Result<automerge::Change, String> {
    match std::panic::catch_unwind(|| automerge::Change::try_from(bytes)) {
        Ok(Ok(change)) => Ok(change),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("it could not be read".to_string()),
    }
}

/// Commits the pending operations as one change, with its time and the worker who made it (a
/// shared team phone is one device, used by several workers in turn: the change says which).
pub(crate) fn commit(doc: &mut AutoCommit, now_ms: i64, worker: &str) -> Option<ChangeHash> {
    if doc.pending_ops() == 0 {
        return None;
    }
    doc.commit_with(
        CommitOptions::default()
            .with_time(now_ms)
            .with_message(worker.to_string()),
    )
}

/// The kind recorded in a document, if any.
/// The heads of a record as its creation left it: the one change with no dependencies (empty
/// when the creation has not arrived).
pub(crate) fn creation_heads(doc: &mut AutoCommit) -> Vec<ChangeHash> {
    doc.get_changes(&[])
        .into_iter()
        .find(|c| c.deps().is_empty())
        .map(|c| vec![c.hash()])
        .unwrap_or_default()
}

pub(crate) fn kind_of(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, KIND).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(k) => Some(k.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn container(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((automerge::Value::Object(_), id)) => Ok(id),
        _ => Err(CoreError::corrupt(format!("record has no {key} container"))),
    }
}

/// Applies one edit to a record document (already validated against the schema).
pub(crate) fn apply(
    doc: &mut AutoCommit,
    kind: Kind,
    edit: &Edit,
    author: &str,
    now_ms: i64,
) -> Result<()> {
    let spec = kind.field(edit.field())?;
    let wrong = || {
        CoreError::invalid(
            spec.name,
            format!("this edit does not apply to a {:?} field", spec.ty),
        )
    };
    match edit {
        Edit::Set(_, value) if !spec.ty.is_container() => {
            put_over(doc, &ROOT, spec.name, to_scalar(value))?
        }
        Edit::Clear(_) if !spec.ty.is_container() => doc.delete(ROOT, spec.name)?,
        Edit::Add(_, value) => match spec.ty {
            FieldType::TextList | FieldType::CodeList(_) | FieldType::RefList(_) => {
                let list = container(doc, &ROOT, spec.name)?;
                let len = doc.length(&list);
                doc.insert(&list, len, to_scalar(value))?;
            }
            FieldType::CodeSet(_) => {
                let set = container(doc, &ROOT, spec.name)?;
                put_over(doc, &set, &value.to_string(), true.into())?;
            }
            _ => return Err(wrong()),
        },
        Edit::Remove(_, value) => match spec.ty {
            FieldType::CodeSet(_) => {
                let set = container(doc, &ROOT, spec.name)?;
                put_over(doc, &set, &value.to_string(), false.into())?;
            }
            _ => return Err(wrong()),
        },
        Edit::Put(_, key, value) if spec.ty == FieldType::TextMap => {
            let map = container(doc, &ROOT, spec.name)?;
            put_over(doc, &map, key, value.as_str().into())?;
        }
        Edit::Comment(_, text) if spec.ty == FieldType::Comments => {
            let list = container(doc, &ROOT, spec.name)?;
            let len = doc.length(&list);
            let entry = doc.insert_object(&list, len, ObjType::Map)?;
            doc.put(&entry, "text", text.as_str())?;
            doc.put(&entry, "by", author)?;
            doc.put(&entry, "at", ScalarValue::Timestamp(now_ms))?;
        }
        _ => return Err(wrong()),
    }
    Ok(())
}

/// Writes a scalar over every value a map key holds.
///
/// When the key holds concurrent values and the new value equals one of them, Automerge writes
/// only a deletion of the others, and a deletion loses to a concurrent write: a second device
/// resolving the same conflict to another value at the same time would silently win. Deleting
/// the key first, then writing the value, makes every resolution a write of its own, so two
/// concurrent resolutions to different values end as a conflict between them on every replica
/// (and two to the same value agree).
fn put_over(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: ScalarValue) -> Result<()> {
    if doc.get_all(obj, key)?.len() > 1 {
        doc.delete(obj, key)?;
    }
    doc.put(obj, key, value)?;
    Ok(())
}

/// Appends a conflict resolution to the record's `_resolutions` list: which field, the value
/// chosen, the values it replaced, who chose it and when.
pub(crate) fn record_resolution(
    doc: &mut AutoCommit,
    path: &str,
    chosen: &str,
    replaced: &[String],
    by: &str,
    now_ms: i64,
) -> Result<()> {
    let list = container(doc, &ROOT, RESOLUTIONS)?;
    let len = doc.length(&list);
    let entry = doc.insert_object(&list, len, ObjType::Map)?;
    doc.put(&entry, "field", path)?;
    doc.put(&entry, "value", chosen)?;
    doc.put(&entry, "replaced", replaced.join(" | "))?;
    doc.put(&entry, "by", by)?;
    doc.put(&entry, "at", ScalarValue::Timestamp(now_ms))?;
    Ok(())
}

/// Reads documents at their current heads, or at given heads (for history).
pub(crate) struct Reader<'a> {
    pub doc: &'a AutoCommit,
    pub heads: Option<&'a [ChangeHash]>,
}

impl<'a> Reader<'a> {
    pub fn new(doc: &'a AutoCommit) -> Self {
        Reader { doc, heads: None }
    }

    pub fn at(doc: &'a AutoCommit, heads: &'a [ChangeHash]) -> Self {
        Reader {
            doc,
            heads: Some(heads),
        }
    }

    fn values_at(&self, obj: &ObjId, key: &str) -> Vec<(automerge::Value<'a>, ObjId)> {
        let got = match self.heads {
            Some(h) => self.doc.get_all_at(obj, key, h),
            None => self.doc.get_all(obj, key),
        };
        got.unwrap_or_default()
    }

    fn scalars(&self, obj: &ObjId, key: &str, ty: FieldType) -> Vec<Value> {
        self.values_at(obj, key)
            .into_iter()
            .filter_map(|(v, _)| match v {
                automerge::Value::Scalar(s) => Some(from_scalar(ty, &s)),
                automerge::Value::Object(_) => None,
            })
            .collect()
    }

    /// Every concurrent value of a scalar field; more than one is a conflict.
    pub fn all(&self, spec: &FieldSpec) -> Vec<Value> {
        self.scalars(&ROOT, spec.name, spec.ty)
    }

    /// The winning value of a scalar field (the same on every device).
    pub fn get(&self, spec: &FieldSpec) -> Option<Value> {
        let got = match self.heads {
            Some(h) => self.doc.get_at(ROOT, spec.name, h),
            None => self.doc.get(ROOT, spec.name),
        };
        match got.ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => Some(from_scalar(spec.ty, &s)),
            _ => None,
        }
    }

    fn container(&self, key: &str) -> Option<ObjId> {
        let got = match self.heads {
            Some(h) => self.doc.get_at(ROOT, key, h),
            None => self.doc.get(ROOT, key),
        };
        match got.ok().flatten() {
            Some((automerge::Value::Object(_), id)) => Some(id),
            _ => None,
        }
    }

    fn list_len(&self, obj: &ObjId) -> usize {
        match self.heads {
            Some(h) => self.doc.length_at(obj, h),
            None => self.doc.length(obj),
        }
    }

    fn list_item(&self, obj: &ObjId, i: usize) -> Option<(automerge::Value<'a>, ObjId)> {
        let got = match self.heads {
            Some(h) => self.doc.get_at(obj, i, h),
            None => self.doc.get(obj, i),
        };
        got.ok().flatten()
    }

    fn keys(&self, obj: &ObjId) -> Vec<String> {
        match self.heads {
            Some(h) => self.doc.keys_at(obj, h).collect(),
            None => self.doc.keys(obj).collect(),
        }
    }

    /// The items of a list field, in list order.
    pub fn list(&self, spec: &FieldSpec) -> Vec<Value> {
        let Some(list) = self.container(spec.name) else {
            return Vec::new();
        };
        (0..self.list_len(&list))
            .filter_map(|i| match self.list_item(&list, i) {
                Some((automerge::Value::Scalar(s), _)) => Some(from_scalar(spec.ty, &s)),
                _ => None,
            })
            .collect()
    }

    /// The entries of a map field (code set or free map): key -> every concurrent value.
    pub fn map(&self, spec: &FieldSpec) -> BTreeMap<String, Vec<Value>> {
        let Some(map) = self.container(spec.name) else {
            return BTreeMap::new();
        };
        self.keys(&map)
            .into_iter()
            .map(|k| {
                let values = self.scalars(&map, &k, spec.ty);
                (k, values)
            })
            .collect()
    }

    /// The codes of a set field that are in the set (winning value true).
    pub fn set(&self, spec: &FieldSpec) -> Vec<String> {
        let Some(map) = self.container(spec.name) else {
            return Vec::new();
        };
        self.keys(&map)
            .into_iter()
            .filter(|k| {
                let got = match self.heads {
                    Some(h) => self.doc.get_at(&map, k.as_str(), h),
                    None => self.doc.get(&map, k.as_str()),
                };
                matches!(got.ok().flatten(), Some((automerge::Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
            })
            .collect()
    }

    /// The winning entries of a free map field.
    pub fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String> {
        self.map(spec)
            .into_iter()
            .filter_map(|(k, v)| v.last().map(|v| (k, v.to_string())))
            .collect()
    }

    /// The comments of a comments field, in order.
    pub fn comments(&self, spec: &FieldSpec) -> Vec<Comment> {
        let Some(list) = self.container(spec.name) else {
            return Vec::new();
        };
        (0..self.list_len(&list))
            .filter_map(|i| match self.list_item(&list, i) {
                Some((automerge::Value::Object(_), entry)) => {
                    let text = self.scalars(&entry, "text", FieldType::Text).pop()?;
                    let by = self.scalars(&entry, "by", FieldType::Text).pop()?;
                    let at = match self
                        .scalars(
                            &entry,
                            "at",
                            FieldType::Time(crate::model::fields::Horizon::Past),
                        )
                        .pop()?
                    {
                        Value::Time(t) => t,
                        _ => return None,
                    };
                    Some(Comment {
                        text: text.to_string(),
                        by: by.to_string(),
                        at,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The paths of fields holding concurrent values (conflicts), with those values.
    /// Two devices writing the same value concurrently is agreement, not a conflict: only
    /// fields holding at least two distinct values are listed.
    pub fn conflicts(&self, kind: Kind) -> Vec<(String, Vec<Value>)> {
        let distinct = |values: &[Value]| values.iter().any(|v| *v != values[0]);
        let mut out = Vec::new();
        for spec in kind.fields() {
            match spec.ty {
                FieldType::CodeSet(_) | FieldType::TextMap => {
                    for (k, v) in self.map(spec) {
                        if v.len() > 1 && distinct(&v) {
                            out.push((format!("{}.{k}", spec.name), v));
                        }
                    }
                }
                ty if ty.is_container() => {}
                _ => {
                    let all = self.all(spec);
                    if all.len() > 1 && distinct(&all) {
                        out.push((spec.name.to_string(), all));
                    }
                }
            }
        }
        out
    }
}

/// Splits a field path (`situation`, `needs.health`, `custom.key`) into its field and map key.
pub(crate) fn split_path(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((field, key)) => (field, Some(key)),
        None => (path, None),
    }
}
