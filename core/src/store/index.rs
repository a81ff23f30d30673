//! The index tables: what lists, search, due lists, timelines and reports read without loading
//! Automerge documents. Each refresh rewrites a record's rows from its merged document, read in
//! one pass (`hydrate`), which is much cheaper than one lookup per field.

use automerge::hydrate;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use rusqlite::{params, Connection};

use crate::doc::{self, Reader, CREATED_AT};
use crate::model::fields::{Kind, Value};
use crate::text::fold;
use crate::vocab::{check_term, Vocab};
use crate::{CoreError, DeviceId, RecordId, Result};

/// The winning values of a record's fields, read in one pass.
struct Fields {
    kind: Kind,
    root: hydrate::Map,
}

impl Fields {
    fn read(kind: Kind, doc: &AutoCommit) -> Result<Fields> {
        Fields::read_at(kind, doc, None)
    }

    /// The values at `heads` (the current ones when `None`).
    fn read_at(kind: Kind, doc: &AutoCommit, heads: Option<&[ChangeHash]>) -> Result<Fields> {
        match doc.hydrate(ROOT, heads)? {
            hydrate::Value::Map(root) => Ok(Fields { kind, root }),
            _ => Err(CoreError::corrupt("record root is not a map")),
        }
    }

    fn value(&self, field: &str) -> Option<Value> {
        let spec = self.kind.field(field).ok()?;
        match self.root.get(field)? {
            hydrate::Value::Scalar(s) => Some(doc::from_scalar(spec.ty, s)),
            _ => None,
        }
    }

    fn text(&self, field: &str) -> Option<String> {
        self.value(field).map(|v| v.to_string())
    }

    fn int(&self, field: &str) -> Option<i64> {
        match self.value(field)? {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    fn time_ms(&self, field: &str) -> Option<i64> {
        match self.value(field)? {
            Value::Time(t) => Some(t.timestamp_millis()),
            _ => None,
        }
    }

    fn list(&self, field: &str) -> Vec<Value> {
        let Ok(spec) = self.kind.field(field) else {
            return Vec::new();
        };
        match self.root.get(field) {
            Some(hydrate::Value::List(items)) => items
                .iter()
                .filter_map(|item| match &item.value {
                    hydrate::Value::Scalar(s) => Some(doc::from_scalar(spec.ty, s)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn joined(&self, field: &str) -> String {
        joined(&self.list(field))
    }

    fn persons(&self) -> Vec<RecordId> {
        self.list("persons")
            .into_iter()
            .filter_map(|v| match v {
                Value::Ref(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn person_ref(&self) -> Option<Vec<u8>> {
        match self.value("person") {
            Some(Value::Ref(p)) => Some(p.as_bytes().to_vec()),
            _ => None,
        }
    }

    fn reference(&self, field: &str) -> Option<RecordId> {
        match self.value(field) {
            Some(Value::Ref(p)) => Some(p),
            _ => None,
        }
    }

    /// The record's `custom` map as JSON text (names to values), `None` when it holds no value:
    /// the report and exports read the organisation's fields from here.
    fn custom(&self) -> Option<String> {
        let Some(hydrate::Value::Map(map)) = self.root.get(crate::model::custom::CUSTOM) else {
            return None;
        };
        let values: std::collections::BTreeMap<&str, &str> = map
            .iter()
            .filter_map(|(k, v)| match &v.value {
                hydrate::Value::Scalar(automerge::ScalarValue::Str(s)) if !s.is_empty() => {
                    Some((k.as_str(), s.as_str()))
                }
                _ => None,
            })
            .collect();
        if values.is_empty() {
            return None;
        }
        serde_json::to_string(&values).ok()
    }

    fn created_at(&self, now_ms: i64) -> i64 {
        match self.root.get(CREATED_AT) {
            Some(hydrate::Value::Scalar(automerge::ScalarValue::Timestamp(ms))) => *ms,
            _ => now_ms,
        }
    }
}

fn joined(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The device that wrote the record's first change.
pub(crate) fn creator(doc: &AutoCommit) -> Vec<u8> {
    match doc.get(ROOT, CREATED_AT).ok().flatten() {
        Some((_, automerge::ObjId::Id(_, actor, _))) => actor.to_bytes().to_vec(),
        _ => Vec::new(),
    }
}

/// What a record looked like before a change, read before the document changes: the keys of
/// the rows written for it (an encounter's rows are keyed by its time) and the document's heads,
/// so that what the change brought can be told apart.
#[derive(Default)]
pub(crate) struct Before {
    encounter: Option<(i64, Vec<RecordId>)>,
    heads: Vec<ChangeHash>,
}

impl Before {
    /// The state of a record before a change (empty for a record new to this store).
    pub(crate) fn read(kind: Option<Kind>, doc: &mut AutoCommit) -> Before {
        let heads = doc.get_heads();
        if kind != Some(Kind::Encounter) {
            return Before {
                encounter: None,
                heads,
            };
        }
        let r = Reader::new(doc);
        let occurred = Kind::Encounter
            .field("occurred_at")
            .ok()
            .and_then(|s| r.get(s));
        let persons = Kind::Encounter
            .field("persons")
            .map(|s| r.list(s))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| match v {
                Value::Ref(p) => Some(p),
                _ => None,
            })
            .collect();
        let occurred_ms = match occurred {
            Some(Value::Time(t)) => t.timestamp_millis(),
            _ => created_ms(doc),
        };
        Before {
            encounter: Some((occurred_ms, persons)),
            heads,
        }
    }
}

fn created_ms(doc: &AutoCommit) -> i64 {
    match doc.get(ROOT, CREATED_AT).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Timestamp(ms) => *ms,
            _ => 0,
        },
        _ => 0,
    }
}

/// Writes the index rows of a record this device has just created, from the root it wrote.
pub(crate) fn insert_new(
    tx: &Connection,
    kind: Kind,
    id: RecordId,
    root: hydrate::Map,
    creator: &DeviceId,
    now_ms: i64,
) -> Result<()> {
    write(
        tx,
        id,
        Fields { kind, root },
        &creator.to_bytes(),
        now_ms,
        &Before::default(),
    )
}

/// Rewrites the index rows of one record from its document. `before` is the record as it was
/// before the changes being indexed (empty for a record new to this store).
pub(crate) fn refresh(
    tx: &Connection,
    kind: Kind,
    id: RecordId,
    doc: &mut AutoCommit,
    now_ms: i64,
    before: &Before,
) -> Result<()> {
    if kind == Kind::Roster {
        return refresh_roster(tx, doc);
    }
    if kind == Kind::AccessLog {
        return super::access_log::reindex(tx, id, doc);
    }
    let fields = if matches!(kind, Kind::Consent | Kind::PublishedReport) {
        // A consent decision, or a published report, is what its creation says: a later change
        // (which no device of this build writes) changes nothing the person decided or the
        // office published.
        let creation = doc::creation_heads(doc);
        Fields::read_at(kind, doc, Some(&creation))?
    } else {
        Fields::read(kind, doc)?
    };
    write(tx, id, fields, &creator(doc), now_ms, before)?;
    if kind == Kind::Person {
        situation_changes(tx, id, doc, &before.heads)?;
    }
    Ok(())
}

/// Writes a `situation_changes` row for each change of a person's document past `since` (the
/// heads before these changes arrived) that moved the situation from one value (or none, an
/// empty `from`) to another: the value the change saw (at its dependencies) and the value it
/// left, at the change's own time.
/// The rows follow from the changes alone, so every device that holds the same changes holds the
/// same rows, whatever order and batches they arrived in (a device restoring a person's whole
/// history writes every step of it).
fn situation_changes(
    tx: &Connection,
    id: RecordId,
    doc: &mut AutoCommit,
    since: &[ChangeHash],
) -> Result<()> {
    let spec = Kind::Person.field("situation")?;
    let at = |doc: &AutoCommit, heads: &[ChangeHash]| -> Option<String> {
        if heads.is_empty() {
            return None;
        }
        match doc.get_at(ROOT, "situation", heads).ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => {
                Some(doc::from_scalar(spec.ty, &s).to_string())
            }
            _ => None,
        }
    };
    // The changes' metadata only: re-encoding whole changes would cost more than the rest.
    let changes: Vec<(ChangeHash, Vec<ChangeHash>, i64)> = doc
        .get_changes_meta(since)
        .into_iter()
        .map(|m| (m.hash, m.deps, m.timestamp))
        .collect();
    for (hash, deps, timestamp) in changes {
        // The creation's situation is the person's first step, from their creation
        // (`store/housing.rs`): a device writes no row for the person it creates.
        if deps.is_empty() {
            continue;
        }
        let Some(to) = at(doc, &[hash]) else {
            continue;
        };
        // A situation given for the first time moves from none (an empty `from`).
        let from = at(doc, &deps).unwrap_or_default();
        if from != to {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO situation_changes (at, person_id, from_situation, to_situation)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![timestamp, id.as_bytes(), from, to])?;
        }
    }
    Ok(())
}

fn write(
    tx: &Connection,
    id: RecordId,
    f: Fields,
    creator: &[u8],
    now_ms: i64,
    before: &Before,
) -> Result<()> {
    let key = id.as_bytes();
    let kind = f.kind;
    match kind {
        Kind::Person => {
            let name = f.text("name");
            let nickname = f.text("nickname");
            let others = f.list("other_names");
            let search = name
                .iter()
                .chain(nickname.iter())
                .cloned()
                .chain(others.iter().map(|v| v.to_string()))
                .map(|s| fold(&s))
                .collect::<Vec<_>>()
                .join(" | ");
            let situation = f.text("situation");
            let merged_into = f.reference("merged_into").filter(|m| *m != id);
            let needs = match f.root.get("needs") {
                Some(hydrate::Value::Map(set)) => {
                    let mut codes: Vec<&str> = set
                        .iter()
                        .filter(|(_, v)| {
                            matches!(
                                v.value,
                                hydrate::Value::Scalar(automerge::ScalarValue::Boolean(true))
                            )
                        })
                        .map(|(k, _)| k.as_str())
                        .collect();
                    codes.sort_unstable();
                    codes.join(",")
                }
                _ => String::new(),
            };
            tx.prepare_cached(
                "INSERT OR REPLACE INTO persons (record_id, name, nickname, other_names, search, situation,
                    alert_level, status, birth_year, created_at, updated_at, teams, needs, kept_at,
                    merged_into, custom)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                key,
                name,
                nickname,
                joined(&others),
                search,
                situation,
                f.text("alert_level"),
                f.text("status"),
                f.int("birth_year"),
                f.created_at(now_ms),
                now_ms,
                f.joined("teams"),
                needs,
                f.time_ms("retention_kept_at"),
                merged_into.map(|m| m.as_bytes().to_vec()),
                f.custom(),
            ])?;
            // The row was written anew (its `merged_root` empty): the identities resolve again
            // when this person is merged, or when others are merged into them.
            if merged_into.is_some() || super::merge::is_merge_target(tx, id)? {
                super::merge::resolve(tx)?;
            }
        }
        Kind::Encounter => {
            remove_encounter(tx, id, before)?;
            let occurred_at = f
                .time_ms("occurred_at")
                .unwrap_or_else(|| f.created_at(now_ms));
            let persons = f.persons();
            tx.prepare_cached(
                "INSERT OR REPLACE INTO encounters (occurred_at, record_id, recorded_at, device, team, place,
                    territory, encounter_kind, anonymous_count, services, workers, persons, notes, follow_up,
                    custom)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(params![
                occurred_at,
                key,
                f.time_ms("recorded_at"),
                creator,
                f.text("team"),
                f.text("place"),
                f.text("territory"),
                f.text("encounter_kind"),
                f.int("anonymous_count").unwrap_or(0),
                f.joined("services"),
                f.joined("workers"),
                f.joined("persons"),
                f.text("notes"),
                matches!(f.value("follow_up"), Some(Value::Bool(true))),
                f.custom(),
            ])?;
            for p in &persons {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO encounter_persons (person_id, occurred_at, encounter_id) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![p.as_bytes(), occurred_at, key])?;
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
                f.person_ref(),
                f.text("title"),
                f.text("category"),
                f.text("due_at"),
                f.text("status"),
                f.text("assigned_to"),
                f.time_ms("done_at"),
                f.created_at(now_ms),
                creator,
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
                f.person_ref(),
                f.text("target"),
                f.text("target_name"),
                f.text("date"),
                f.text("status"),
                f.text("outcome"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::Observation => {
            let total: i64 = match f.root.get("counts") {
                Some(hydrate::Value::Map(counts)) => counts
                    .iter()
                    .filter_map(|(_, v)| match &v.value {
                        hydrate::Value::Scalar(automerge::ScalarValue::Str(n)) => {
                            n.parse::<i64>().ok()
                        }
                        _ => None,
                    })
                    .sum(),
                _ => 0,
            };
            tx.prepare_cached(
                "INSERT OR REPLACE INTO observations (record_id, territory, team, date, total, notes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![key, f.text("territory"), f.text("team"), f.text("date"), total, f.text("notes")])?;
        }
        Kind::Consent => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO consents (record_id, person_id, partner, category, given,
                    decided_on, how, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.text("partner"),
                f.text("category"),
                f.value("given").map(|v| matches!(v, Value::Bool(true))),
                f.text("decided_on"),
                f.text("how"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::HealthNote => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO health_notes (record_id, person_id, on_day, category,
                    created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.text("on"),
                f.text("category"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::HealthContact => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO health_contacts (record_id, person_id, on_day, created_at,
                    device)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.text("on"),
                f.created_at(now_ms),
                creator
            ])?;
        }
        Kind::HealthProfile => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO health_profiles (record_id, person_id, created_at)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, f.person_ref(), f.created_at(now_ms)])?;
        }
        Kind::PublishedReport => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO published_reports (record_id, period_from, period_to, team,
                    created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                key,
                f.text("period_from"),
                f.text("period_to"),
                f.text("team"),
                f.created_at(now_ms),
            ])?;
        }
        Kind::Projection => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO projections (record_id, created_at, device)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, f.created_at(now_ms), creator])?;
        }
        Kind::SharedAssessment => {
            let projection = match f.value("projection") {
                Some(Value::Ref(p)) => Some(p.as_bytes().to_vec()),
                _ => None,
            };
            tx.prepare_cached(
                "INSERT OR REPLACE INTO shared_assessments (record_id, person_id, created_at,
                    device)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![key, projection, f.created_at(now_ms), creator])?;
        }
        Kind::ErasureAck => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO erasure_acks (record_id, order_seq, device, at,
                    created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            // The device is the acknowledgement's author (the creator of its record, whose
            // signature was checked), never what its text says: a partner's device cannot
            // acknowledge for another.
            .execute(params![
                key,
                f.int("order"),
                DeviceId::from_bytes(creator).to_string(),
                f.time_ms("at"),
                f.created_at(now_ms)
            ])?;
        }
        Kind::Household => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO households (record_id, label, unrecorded_members,
                    unrecorded_children, created_at, device, custom)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                key,
                f.text("label"),
                f.int("unrecorded_members"),
                f.int("unrecorded_children"),
                f.created_at(now_ms),
                creator,
                f.custom(),
            ])?;
        }
        Kind::HouseholdMember => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO household_members (record_id, household_id, person_id,
                    relation, joined_on, left_on, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                key,
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.person_ref(),
                f.text("relation"),
                f.text("joined_on"),
                f.text("left_on"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::JourneyPeriod => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO journey_periods (record_id, person_id, household_id,
                    situation, started_on, ended_on, place, end_reason, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.text("situation"),
                f.text("started_on"),
                f.text("ended_on"),
                f.text("place"),
                f.text("end_reason"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::HousingApplication => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO housing_applications (record_id, person_id, household_id,
                    application_kind, number, filed_on, renew_by, status, created_at, device, areas)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.text("application_kind"),
                f.text("number"),
                f.text("filed_on"),
                f.text("renew_by"),
                f.text("status"),
                f.created_at(now_ms),
                creator,
                f.text("areas"),
            ])?;
        }
        Kind::Home => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO homes (record_id, person_id, household_id, landlord,
                    entered_on, left_on, lease_kind, created_at, device, custom)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.text("landlord"),
                f.text("entered_on"),
                f.text("left_on"),
                f.text("lease_kind"),
                f.created_at(now_ms),
                creator,
                f.custom(),
            ])?;
        }
        Kind::RiskSignal => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO risk_signals (record_id, home_id, person_id, household_id,
                    risk, raised_on, status, resolved_on, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                key,
                f.reference("home").map(|h| h.as_bytes().to_vec()),
                f.person_ref(),
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.text("risk"),
                f.text("raised_on"),
                f.text("status"),
                f.text("resolved_on"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::HousingOffer => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO housing_offers (record_id, home_kind, rooms, rent, area,
                    accessible, available_from, status, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                key,
                f.text("home_kind"),
                f.int("rooms"),
                f.int("rent"),
                f.text("area"),
                f.value("accessible")
                    .map(|v| matches!(v, Value::Bool(true))),
                f.text("available_from"),
                f.text("status"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::Proposal => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO proposals (record_id, offer_id, person_id, household_id,
                    proposed_on, outcome, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                key,
                f.reference("offer").map(|o| o.as_bytes().to_vec()),
                f.person_ref(),
                f.reference("household").map(|h| h.as_bytes().to_vec()),
                f.text("proposed_on"),
                f.text("outcome"),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::OwnView => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO own_views (record_id, person_id, step, on_day,
                    satisfaction, custom, created_at, device)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                key,
                f.person_ref(),
                f.text("step"),
                f.text("on"),
                f.int("satisfaction"),
                f.custom(),
                f.created_at(now_ms),
                creator,
            ])?;
        }
        Kind::Roster | Kind::AccessLog => {}
    }
    Ok(())
}

/// Deletes an encounter's rows as they were `before` (they are keyed by its time).
fn remove_encounter(tx: &Connection, id: RecordId, before: &Before) -> Result<()> {
    let key = id.as_bytes();
    if let Some((occurred_at, persons)) = &before.encounter {
        tx.prepare_cached("DELETE FROM encounters WHERE occurred_at = ?1 AND record_id = ?2")?
            .execute(params![occurred_at, key])?;
        for p in persons {
            tx.prepare_cached(
                "DELETE FROM encounter_persons WHERE person_id = ?1 AND occurred_at = ?2 AND encounter_id = ?3",
            )?
            .execute(params![p.as_bytes(), occurred_at, key])?;
        }
    }
    Ok(())
}

/// Deletes every row of a record that was of `kind` (as it was `before`) and is no longer: a
/// second creation made it another kind (`import.rs`).
pub(crate) fn remove(tx: &Connection, kind: Kind, id: RecordId, before: &Before) -> Result<()> {
    let key = id.as_bytes();
    let table = match kind {
        Kind::Person => {
            // A scan of the table (keyed by time), for an event this rare.
            tx.prepare_cached("DELETE FROM situation_changes WHERE person_id = ?1")?
                .execute([key])?;
            Some("persons")
        }
        Kind::Encounter => {
            remove_encounter(tx, id, before)?;
            None
        }
        Kind::Action => Some("actions"),
        Kind::Referral => Some("referrals"),
        Kind::Observation => Some("observations"),
        Kind::Consent => Some("consents"),
        Kind::HealthNote => Some("health_notes"),
        Kind::HealthContact => Some("health_contacts"),
        Kind::HealthProfile => Some("health_profiles"),
        Kind::PublishedReport => Some("published_reports"),
        Kind::Projection => Some("projections"),
        Kind::SharedAssessment => Some("shared_assessments"),
        Kind::ErasureAck => Some("erasure_acks"),
        Kind::Household => Some("households"),
        Kind::HouseholdMember => Some("household_members"),
        Kind::JourneyPeriod => Some("journey_periods"),
        Kind::HousingApplication => Some("housing_applications"),
        Kind::Home => Some("homes"),
        Kind::RiskSignal => Some("risk_signals"),
        Kind::HousingOffer => Some("housing_offers"),
        Kind::Proposal => Some("proposals"),
        Kind::OwnView => Some("own_views"),
        Kind::Roster => None,
        Kind::AccessLog => {
            super::access_log::remove(tx, id)?;
            None
        }
    };
    if let Some(table) = table {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE record_id = ?1"))?
            .execute([key])?;
    }
    if kind == Kind::Person {
        super::merge::resolve(tx)?;
    }
    tx.prepare_cached("DELETE FROM conflicts WHERE record_id = ?1")?
        .execute([key])?;
    Ok(())
}

/// The roster's key for an organisation's extra code.
pub(crate) fn term_key(vocab: Vocab, code: &str) -> String {
    format!("term:{}:{code}", vocab.name())
}

/// An extra code as the roster holds it, if it is well formed: codes and labels come from
/// other devices and are checked like the ones typed here.
fn roster_term(doc: &AutoCommit, key: &str) -> Option<(Vocab, String, String, String)> {
    let (vocab, code) = key.strip_prefix("term:")?.split_once(':')?;
    let vocab = Vocab::from_name(vocab)?;
    let Ok(Some((automerge::Value::Object(_), entry))) = doc.get(ROOT, key) else {
        return None;
    };
    let label = |lang: &str| match doc.get(&entry, lang).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Str(v) => Some(v.trim().to_string()),
            _ => None,
        },
        _ => None,
    };
    let (fr, en) = (label("fr")?, label("en")?);
    check_term(vocab, code, &fr, &en).ok()?;
    Some((vocab, code.to_string(), fr, en))
}

fn refresh_roster(tx: &Connection, doc: &AutoCommit) -> Result<()> {
    super::settings::refresh(tx, doc)?;
    super::custom_fields::refresh(tx, doc)?;
    for k in doc.keys(ROOT) {
        if let Some((vocab, code, fr, en)) = roster_term(doc, &k) {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO vocab_extra (vocab, code, fr, en) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![vocab.name(), code, fr, en])?;
            continue;
        }
        let Some(hex) = k.strip_prefix("device:") else {
            continue;
        };
        let Ok(Some((automerge::Value::Object(_), entry))) = doc.get(ROOT, k.as_str()) else {
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
    Ok(())
}

/// Bytes from hex text (at most 32 bytes); `None` when it is not that.
pub(super) fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || hex.is_empty() || hex.len() > 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Rewrites the conflict rows of one record: fields with concurrent values are listed (keeping
/// the time they were first seen), settled ones are removed. Returns how many are new.
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

/// The index tables, and the columns of theirs that say only when this device wrote a row.
const REPLICATED: &[(&str, &[&str])] = &[
    ("persons", &["updated_at"]),
    ("encounters", &[]),
    ("encounter_persons", &[]),
    ("actions", &[]),
    ("referrals", &[]),
    ("observations", &[]),
    ("consents", &[]),
    ("situation_changes", &[]),
    ("conflicts", &["since"]),
    ("devices", &[]),
    ("vocab_extra", &[]),
    ("access_logs", &[]),
    ("access_log", &[]),
    ("settings", &[]),
    ("custom_fields", &[]),
    ("projections", &[]),
    ("shared_assessments", &[]),
    ("erasure_acks", &[]),
    ("households", &[]),
    ("household_members", &[]),
    ("journey_periods", &[]),
    ("housing_applications", &[]),
    ("homes", &[]),
    ("risk_signals", &[]),
    ("housing_offers", &[]),
    ("proposals", &[]),
    ("own_views", &[]),
];

impl crate::Store {
    /// Every row of the index tables as text, sorted, without the columns that say only when
    /// this device wrote it: two replicas holding the same changes hold the same rows (the
    /// deterministic simulation compares them).
    pub fn index_rows(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut out = Vec::new();
        for (table, local) in REPLICATED {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table}"))?;
            let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut text = format!("{table}:");
                for (i, name) in names.iter().enumerate() {
                    if local.contains(&name.as_str()) {
                        continue;
                    }
                    let value: rusqlite::types::Value = row.get(i)?;
                    text.push_str(&format!(" {name}={value:?}"));
                }
                out.push(text);
            }
        }
        out.sort();
        Ok(out)
    }
}
