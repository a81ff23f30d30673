//! The index tables: what lists, search, due lists, timelines and reports read without loading
//! Automerge documents. Each refresh rewrites a record's rows from its merged document.

use automerge::{AutoCommit, ReadDoc, ROOT};
use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::{Reader, CREATED_AT};
use crate::model::schema::{FieldType, Kind, Value};
use crate::text::fold;
use crate::{CoreError, DeviceId, RecordId, Result};

fn text(r: &Reader, kind: Kind, field: &str) -> Option<String> {
    kind.field(field)
        .ok()
        .and_then(|s| r.get(s))
        .map(|v| v.to_string())
}

fn time_ms(r: &Reader, kind: Kind, field: &str) -> Option<i64> {
    match kind.field(field).ok().and_then(|s| r.get(s)) {
        Some(Value::Time(t)) => Some(t.timestamp_millis()),
        _ => None,
    }
}

fn list(r: &Reader, kind: Kind, field: &str) -> Vec<Value> {
    kind.field(field).map(|s| r.list(s)).unwrap_or_default()
}

fn joined(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn created_at(doc: &AutoCommit, now_ms: i64) -> i64 {
    match doc.get(ROOT, CREATED_AT).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Timestamp(ms) => *ms,
            _ => now_ms,
        },
        _ => now_ms,
    }
}

/// The device that wrote the record's first change.
fn creator(doc: &AutoCommit) -> Vec<u8> {
    match doc.get(ROOT, CREATED_AT).ok().flatten() {
        Some((_, automerge::ObjId::Id(_, actor, _))) => actor.to_bytes().to_vec(),
        _ => Vec::new(),
    }
}

/// Rewrites the index rows of one record from its document.
pub(crate) fn refresh(
    tx: &Connection,
    kind: Kind,
    id: RecordId,
    doc: &AutoCommit,
    now_ms: i64,
) -> Result<()> {
    let r = Reader::new(doc);
    let key = id.as_bytes();
    match kind {
        Kind::Person => {
            let name = text(&r, kind, "name");
            let nickname = text(&r, kind, "nickname");
            let others = list(&r, kind, "other_names");
            let mut search = String::new();
            for part in name
                .iter()
                .chain(nickname.iter())
                .cloned()
                .chain(others.iter().map(|v| v.to_string()))
            {
                if !search.is_empty() {
                    search.push_str(" | ");
                }
                search.push_str(&fold(&part));
            }
            let birth_year = match kind.field("birth_year").ok().and_then(|s| r.get(s)) {
                Some(Value::Int(y)) => Some(y),
                _ => None,
            };
            tx.prepare_cached(
                "INSERT INTO persons (record_id, name, nickname, other_names, search, situation, alert_level,
                                      status, birth_year, created_at, updated_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                         (SELECT max(occurred_at) FROM encounter_persons WHERE person_id = ?1))
                 ON CONFLICT (record_id) DO UPDATE SET
                    name = excluded.name, nickname = excluded.nickname, other_names = excluded.other_names,
                    search = excluded.search, situation = excluded.situation,
                    alert_level = excluded.alert_level, status = excluded.status,
                    birth_year = excluded.birth_year, updated_at = excluded.updated_at",
            )?
            .execute(params![
                key,
                name,
                nickname,
                joined(&others),
                search,
                text(&r, kind, "situation"),
                text(&r, kind, "alert_level"),
                text(&r, kind, "status"),
                birth_year,
                created_at(doc, now_ms),
                now_ms,
            ])?;
        }
        Kind::Encounter => {
            let occurred_at =
                time_ms(&r, kind, "occurred_at").unwrap_or_else(|| created_at(doc, now_ms));
            let persons: Vec<RecordId> = list(&r, kind, "persons")
                .into_iter()
                .filter_map(|v| match v {
                    Value::Ref(p) => Some(p),
                    _ => None,
                })
                .collect();
            let previous: Option<i64> = tx
                .prepare_cached("SELECT occurred_at FROM encounters WHERE record_id = ?1")?
                .query_row([key], |row| row.get(0))
                .optional()?;
            let mut touched: Vec<RecordId> = persons.clone();
            if let Some(prev) = previous {
                // Drop the links written for the previous state of this encounter.
                let mut old_links =
                    tx.prepare_cached("SELECT persons FROM encounters WHERE record_id = ?1")?;
                let old_persons: String = old_links.query_row([key], |row| row.get(0))?;
                for p in old_persons.split(',').filter(|s| !s.is_empty()) {
                    let p: RecordId = p.parse()?;
                    tx.prepare_cached(
                        "DELETE FROM encounter_persons WHERE person_id = ?1 AND occurred_at = ?2 AND encounter_id = ?3",
                    )?
                    .execute(params![p.as_bytes(), prev, key])?;
                    touched.push(p);
                }
            }
            let services = list(&r, kind, "services");
            tx.prepare_cached(
                "INSERT OR REPLACE INTO encounters (record_id, occurred_at, recorded_at, device, team, place,
                    territory, encounter_kind, anonymous_count, services, workers, persons, notes, follow_up)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                key,
                occurred_at,
                time_ms(&r, kind, "recorded_at"),
                creator(doc),
                text(&r, kind, "team"),
                text(&r, kind, "place"),
                text(&r, kind, "territory"),
                text(&r, kind, "encounter_kind"),
                match kind.field("anonymous_count").ok().and_then(|s| r.get(s)) {
                    Some(Value::Int(n)) => n,
                    _ => 0,
                },
                joined(&services),
                joined(&list(&r, kind, "workers")),
                joined(&persons.iter().map(|p| Value::Ref(*p)).collect::<Vec<_>>()),
                text(&r, kind, "notes"),
                matches!(kind.field("follow_up").ok().and_then(|s| r.get(s)), Some(Value::Bool(true))),
            ])?;
            for p in &persons {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO encounter_persons (person_id, occurred_at, encounter_id) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![p.as_bytes(), occurred_at, key])?;
            }
            touched.sort();
            touched.dedup();
            for p in touched {
                if previous.is_none() {
                    // A new encounter can only move "last seen" forward.
                    tx.prepare_cached(
                        "UPDATE persons SET last_seen_at = ?2
                         WHERE record_id = ?1 AND (last_seen_at IS NULL OR last_seen_at < ?2)",
                    )?
                    .execute(params![p.as_bytes(), occurred_at])?;
                } else {
                    tx.prepare_cached(
                        "UPDATE persons SET last_seen_at =
                            (SELECT max(occurred_at) FROM encounter_persons WHERE person_id = ?1)
                         WHERE record_id = ?1",
                    )?
                    .execute([p.as_bytes()])?;
                }
            }
        }
        Kind::Action => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO actions (record_id, person_id, title, category, due_at, status,
                    assigned_to, done_at, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                key,
                person_ref(&r, kind),
                text(&r, kind, "title"),
                text(&r, kind, "category"),
                text(&r, kind, "due_at"),
                text(&r, kind, "status"),
                text(&r, kind, "assigned_to"),
                time_ms(&r, kind, "done_at"),
                created_at(doc, now_ms),
                creator(doc),
            ])?;
        }
        Kind::Referral => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO referrals (record_id, person_id, target, target_name, date, status,
                    outcome, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                key,
                person_ref(&r, kind),
                text(&r, kind, "target"),
                text(&r, kind, "target_name"),
                text(&r, kind, "date"),
                text(&r, kind, "status"),
                text(&r, kind, "outcome"),
                created_at(doc, now_ms),
                creator(doc),
            ])?;
        }
        Kind::Observation => {
            let counts = kind
                .field("counts")
                .map(|s| r.text_map(s))
                .unwrap_or_default();
            let total: i64 = counts.values().filter_map(|v| v.parse::<i64>().ok()).sum();
            tx.prepare_cached(
                "INSERT OR REPLACE INTO observations (record_id, territory, team, date, total, notes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key,
                text(&r, kind, "territory"),
                text(&r, kind, "team"),
                text(&r, kind, "date"),
                total,
                text(&r, kind, "notes"),
            ])?;
        }
        Kind::Roster => {
            for k in doc.keys(ROOT) {
                let Some(hex) = k.strip_prefix("device:") else {
                    continue;
                };
                let Ok(Some((automerge::Value::Object(_), entry))) = doc.get(ROOT, k.as_str())
                else {
                    continue;
                };
                let field = |name: &str| match doc.get(&entry, name).ok().flatten() {
                    Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                        automerge::ScalarValue::Str(v) => Some(v.to_string()),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(bytes) = decode_hex(hex) else {
                    continue;
                };
                let device = DeviceId::from_bytes(&bytes);
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO devices (device, name, worker) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![
                    device.to_bytes(),
                    field("name").unwrap_or_else(|| device.short()),
                    field("worker").unwrap_or_default(),
                ])?;
            }
        }
    }
    Ok(())
}

fn person_ref(r: &Reader, kind: Kind) -> Option<Vec<u8>> {
    let spec = kind.field("person").ok()?;
    debug_assert_eq!(spec.ty, FieldType::Ref(Kind::Person));
    match r.get(spec) {
        Some(Value::Ref(p)) => Some(p.as_bytes().to_vec()),
        _ => None,
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || hex.is_empty() || hex.len() > 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Rewrites the conflict rows of one record: fields with concurrent values are listed (keeping
/// the time they were first seen), settled ones are removed.
pub(crate) fn refresh_conflicts(
    tx: &Connection,
    kind: Kind,
    id: RecordId,
    doc: &AutoCommit,
    now_ms: i64,
) -> Result<usize> {
    if kind == Kind::Roster {
        return Ok(0);
    }
    let key = id.as_bytes();
    let current: Vec<String> = Reader::new(doc)
        .conflicts(kind)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut stmt = tx.prepare_cached("SELECT field FROM conflicts WHERE record_id = ?1")?;
    let known: Vec<String> = stmt
        .query_map([key], |r| r.get(0))?
        .collect::<Result<_, _>>()
        .map_err(CoreError::from)?;
    for field in known.iter().filter(|f| !current.contains(f)) {
        tx.prepare_cached("DELETE FROM conflicts WHERE record_id = ?1 AND field = ?2")?
            .execute(params![key, field])?;
    }
    let mut new = 0;
    for field in current.iter().filter(|f| !known.contains(f)) {
        tx.prepare_cached("INSERT INTO conflicts (record_id, field, since) VALUES (?1, ?2, ?3)")?
            .execute(params![key, field, now_ms])?;
        new += 1;
    }
    Ok(new)
}
