//! Every write: a record created or edited is checked (field values, then the record's rules),
//! changed in its Automerge document, and committed with its index rows in one transaction.

use automerge::AutoCommit;
use rusqlite::{Connection, Transaction};

use crate::doc::{self, Edit, Reader};
use crate::model::fields::{Checker, FieldType, Kind, Value};
use crate::model::rules::check_record_rules;
use crate::model::{NewAction, NewConsent, NewEncounter, NewObservation, NewPerson, NewReferral};
use crate::{CoreError, RecordId, Result};

use super::*;

impl Store {
    /// Records a person met in the street.
    pub fn add_person(&self, person: &NewPerson) -> Result<RecordId> {
        let now = self.clock.now();
        self.create_record(Kind::Person, person.edits(now.date_naive(), &self.worker()))
    }

    /// Logs an encounter.
    pub fn log_encounter(&self, encounter: &NewEncounter) -> Result<RecordId> {
        self.create_record(Kind::Encounter, encounter.edits(self.clock.now()))
    }

    /// Adds a follow-up action about a person.
    pub fn add_action(&self, action: &NewAction) -> Result<RecordId> {
        self.create_record(Kind::Action, action.edits())
    }

    /// Marks an action done, with an optional closing comment.
    pub fn complete_action(&self, id: RecordId, comment: Option<&str>) -> Result<()> {
        let mut edits = vec![
            Edit::Set("status".into(), Value::Code("done".into())),
            Edit::Set("done_at".into(), Value::Time(self.clock.now())),
        ];
        if let Some(c) = comment.map(str::trim).filter(|c| !c.is_empty()) {
            edits.push(Edit::Comment("comments".into(), c.to_string()));
        }
        self.edit_kind(id, Some(Kind::Action), &edits)
    }

    /// Adds a referral.
    pub fn add_referral(&self, referral: &NewReferral) -> Result<RecordId> {
        self.create_record(
            Kind::Referral,
            referral.edits(self.clock.now().date_naive()),
        )
    }

    /// Records what became of a referral.
    pub fn update_referral(
        &self,
        id: RecordId,
        status: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<()> {
        let mut edits = Vec::new();
        if let Some(s) = status {
            edits.push(Edit::Set("status".into(), Value::Code(s.trim().into())));
        }
        if let Some(o) = outcome.map(str::trim).filter(|o| !o.is_empty()) {
            edits.push(Edit::Set("outcome".into(), Value::Text(o.into())));
        }
        if edits.is_empty() {
            return Err(CoreError::invalid(
                "referral",
                "nothing to update: give a status or an outcome",
            ));
        }
        self.edit_kind(id, Some(Kind::Referral), &edits)
    }

    /// Records a person's decisions about sharing categories with partners (a withdrawal is a
    /// decision that refuses), all or none. Each person must be one this store holds.
    pub fn record_consents(&self, consents: &[NewConsent]) -> Result<Vec<RecordId>> {
        for consent in consents {
            if self.kind_of(consent.person)? != Kind::Person {
                return Err(CoreError::invalid("person", "is not a person"));
            }
        }
        let today = self.clock.now().date_naive();
        let edits: Vec<Vec<Edit>> = consents.iter().map(|c| c.edits(today)).collect();
        self.create_records(Kind::Consent, &edits)
    }

    /// Records a territory observation.
    pub fn add_observation(&self, observation: &NewObservation) -> Result<RecordId> {
        if let Some((k, _)) = observation.counts.iter().find(|(_, v)| **v < 0) {
            return Err(CoreError::invalid("counts", format!("{k} is negative")));
        }
        self.create_record(
            Kind::Observation,
            observation.edits(self.clock.now().date_naive()),
        )
    }

    /// Applies edits to a record of any kind, by field name.
    pub fn edit(&self, id: RecordId, edits: &[Edit]) -> Result<()> {
        self.edit_kind(id, None, edits)
    }

    /// Settles a conflict: writes `value` over every concurrent value of `path` (a field name, or
    /// `field.key` for sets and free maps) and records who resolved it and what was replaced.
    pub fn resolve(&self, id: RecordId, path: &str, value: &str) -> Result<()> {
        // A coordinator's decision (a merge, keeping a file) is settled by a coordinator: any
        // other device's change would be set aside everywhere.
        let (field, _) = doc::split_path(path);
        if crate::model::fields::COORDINATOR_FIELDS.contains(&field)
            && !self.acts_as_coordinator()?
        {
            return Err(CoreError::invalid(
                field,
                "is a coordinator's decision: a coordinator's device settles it",
            ));
        }
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let kind = record_kind(&tx, id)?;
        let mut doc = load_doc(&tx, id)?.ok_or(CoreError::RecordNotFound(id))?;
        let before = index::Before::read(Some(kind), &mut doc);
        let conflicts = Reader::new(&doc).conflicts(kind);
        let Some((_, values)) = conflicts.iter().find(|(p, _)| p == path) else {
            let fields: Vec<_> = conflicts.iter().map(|(p, _)| p.as_str()).collect();
            return Err(CoreError::invalid(
                "field",
                if fields.is_empty() {
                    format!("record {id} has no conflict")
                } else {
                    format!(
                        "{path:?} is not in conflict on record {id} (conflicts: {})",
                        fields.join(", ")
                    )
                },
            ));
        };
        let (field, key) = doc::split_path(path);
        let spec = kind.field(field)?;
        let extra = extra_terms(&tx)?;
        let checker = Checker {
            now: self.clock.now(),
            extra: &extra,
        };
        let parsed = checker.parse(path, spec.ty, value)?;
        let edit = match (spec.ty, key) {
            (FieldType::CodeSet(_), Some(k)) => match parsed {
                Value::Bool(true) => Edit::Add(field.into(), Value::Code(k.into())),
                _ => Edit::Remove(field.into(), Value::Code(k.into())),
            },
            (FieldType::TextMap, Some(k)) => Edit::Put(field.into(), k.into(), parsed.to_string()),
            (_, None) => Edit::Set(field.into(), parsed.clone()),
            _ => {
                return Err(CoreError::invalid(
                    "field",
                    format!("{path:?} cannot be resolved"),
                ))
            }
        };
        let edit = super::custom_fields::fit_edits(&tx, kind, &[edit], true)?
            .pop()
            .ok_or_else(|| CoreError::corrupt("a resolution lost its edit"))?;
        self.checker_edits(&tx, kind, std::slice::from_ref(&edit))?;
        doc.set_actor(self.me.device.actor().clone());
        doc::apply(&mut doc, kind, &edit, &self.worker(), now_ms)?;
        check_record_rules(kind, &Reader::new(&doc))?;
        let replaced: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        doc::record_resolution(
            &mut doc,
            path,
            &parsed.to_string(),
            &replaced,
            &self.worker(),
            now_ms,
        )?;
        self.commit_edit(&tx, id, kind, &mut doc, now_ms, &before)?;
        tx.commit()?;
        Ok(())
    }

    fn checker_edits(&self, conn: &Connection, kind: Kind, edits: &[Edit]) -> Result<()> {
        let extra = self.extra.read().unwrap_or_else(|p| p.into_inner());
        let checker = Checker {
            now: self.clock.now(),
            extra: &extra,
        };
        for edit in edits {
            let spec = kind.field(edit.field())?;
            match edit {
                Edit::Set(_, v) | Edit::Add(_, v) | Edit::Remove(_, v) => {
                    let ty = match (edit, spec.ty) {
                        (Edit::Set(..), ty) if !ty.is_container() => ty,
                        (Edit::Add(..) | Edit::Remove(..), FieldType::CodeSet(v)) => {
                            FieldType::Code(v)
                        }
                        (
                            Edit::Add(..),
                            ty @ (FieldType::TextList
                            | FieldType::CodeList(_)
                            | FieldType::RefList(_)),
                        ) => ty.element(),
                        _ => {
                            return Err(CoreError::invalid(
                                spec.name,
                                "this change does not apply to this kind of field",
                            ))
                        }
                    };
                    checker.check(spec.name, ty, v)?;
                    // Persons are held in a team's store: a health store's notes refer to the
                    // team's persons, which it cannot look up.
                    let elsewhere = matches!(ty, FieldType::Ref(Kind::Person))
                        && self.purpose() != super::purpose::Purpose::Team;
                    if let (FieldType::Ref(target), Value::Ref(r), false) = (ty, v, elsewhere) {
                        let actual = record_kind(conn, *r)?;
                        if actual != target {
                            return Err(CoreError::WrongKind {
                                id: *r,
                                expected: target.name(),
                                actual: actual.name().to_string(),
                            });
                        }
                    }
                    if let Value::Text(t) = v {
                        if t.is_empty() && matches!(edit, Edit::Add(..)) {
                            return Err(CoreError::invalid(spec.name, "is empty"));
                        }
                    }
                }
                Edit::Clear(_) => {}
                Edit::Put(_, k, v) => {
                    if k.trim().is_empty() || k.chars().count() > 64 {
                        return Err(CoreError::invalid(
                            spec.name,
                            "names are 1 to 64 characters",
                        ));
                    }
                    checker.check(spec.name, FieldType::Text, &Value::Text(v.clone()))?;
                }
                Edit::Comment(_, text) => {
                    if text.trim().is_empty() {
                        return Err(CoreError::invalid(spec.name, "comment is empty"));
                    }
                    checker.check(spec.name, FieldType::Text, &Value::Text(text.clone()))?;
                }
            }
        }
        Ok(())
    }

    /// A new record id of this device. An id binds its creator, so only this device's own ids
    /// can collide with it (26 random bits a millisecond), and all of them are in this store or
    /// among the ids `drawn` for the same transaction: one drawn twice is drawn again.
    pub(crate) fn new_record_id(
        &self,
        conn: &Connection,
        now_ms: i64,
        drawn: &[RecordId],
    ) -> Result<RecordId> {
        for _ in 0..64 {
            let id = RecordId::new_by(now_ms, self.random(), &self.me.device);
            if !drawn.contains(&id) && !super::changes::record_exists(conn, id)? {
                return Ok(id);
            }
        }
        Err(CoreError::corrupt(
            "the entropy source keeps repeating itself: no new record id",
        ))
    }

    /// Creates a record in the caller's transaction (an erasure re-issues a shared encounter in
    /// its own).
    pub(crate) fn create_record_in(
        &self,
        tx: &Connection,
        kind: Kind,
        edits: Vec<Edit>,
    ) -> Result<RecordId> {
        let now_ms = self.clock.now_ms();
        let edits = super::custom_fields::fit_edits(tx, kind, &edits, false)?;
        self.checker_edits(tx, kind, &edits)?;
        let id = self.new_record_id(tx, now_ms, &[])?;
        let (mut doc, root) = doc::new_record(kind, &self.me.device, now_ms, &edits)?;
        check_record_rules(kind, &root)?;
        let hash = doc::commit(&mut doc, now_ms, &self.worker())
            .ok_or_else(|| CoreError::corrupt("new record has no change"))?;
        // The document is new: everything after its (empty) save cursor is this one change.
        let bytes = doc.save_incremental();
        insert_raw_change(tx, id, Some(kind), &hash, &bytes, true, now_ms, None)?;
        index::insert_new(tx, kind, id, root, &self.me.device, now_ms)?;
        Ok(id)
    }

    pub(crate) fn create_record(&self, kind: Kind, edits: Vec<Edit>) -> Result<RecordId> {
        let ids = self.create_records(kind, std::slice::from_ref(&edits))?;
        ids.into_iter()
            .next()
            .ok_or_else(|| CoreError::corrupt("a record was made and not returned"))
    }

    /// Creates records of one kind in one transaction: every one is checked before any is
    /// written, and all are written or none.
    fn create_records(&self, kind: Kind, records: &[Vec<Edit>]) -> Result<Vec<RecordId>> {
        super::purpose::check_kind(&self.purpose(), kind)?;
        let now_ms = self.clock.now_ms();
        let mut conn = self.lock();
        let records = records
            .iter()
            .map(|edits| super::custom_fields::fit_edits(&conn, kind, edits, false))
            .collect::<Result<Vec<_>>>()?;
        for edits in &records {
            self.checker_edits(&conn, kind, edits)?;
        }
        let mut made: Vec<(RecordId, _, _, _)> = Vec::with_capacity(records.len());
        for edits in &records {
            let drawn: Vec<RecordId> = made.iter().map(|(id, ..)| *id).collect();
            let id = self.new_record_id(&conn, now_ms, &drawn)?;
            let (mut doc, root) = doc::new_record(kind, &self.me.device, now_ms, edits)?;
            check_record_rules(kind, &root)?;
            let hash = doc::commit(&mut doc, now_ms, &self.worker())
                .ok_or_else(|| CoreError::corrupt("new record has no change"))?;
            // The document is new: everything after its (empty) save cursor is this one change.
            let bytes = doc.save_incremental();
            made.push((id, hash, bytes, root));
        }
        let ids: Vec<RecordId> = made.iter().map(|(id, ..)| *id).collect();
        let tx = conn.transaction()?;
        for (id, hash, bytes, root) in made {
            insert_raw_change(&tx, id, Some(kind), &hash, &bytes, true, now_ms, None)?;
            index::insert_new(&tx, kind, id, root, &self.me.device, now_ms)?;
        }
        tx.commit()?;
        Ok(ids)
    }

    pub(crate) fn edit_kind(
        &self,
        id: RecordId,
        expected: Option<Kind>,
        edits: &[Edit],
    ) -> Result<()> {
        if edits.is_empty() {
            return Err(CoreError::invalid("edit", "nothing to change"));
        }
        if let Some(edit) = edits
            .iter()
            .find(|e| crate::model::fields::CREATION_FIELDS.contains(&e.field()))
        {
            return Err(CoreError::invalid(
                edit.field(),
                "is written when the record is created, never changed after",
            ));
        }
        // A merge goes through `merge_persons` and `unmerge_person`, which check it.
        if let Some(edit) = edits
            .iter()
            .find(|e| e.field() == super::merge::MERGED_INTO)
        {
            return Err(CoreError::invalid(
                edit.field(),
                "is written by merging or unmerging persons",
            ));
        }
        self.edit_kind_unchecked(id, expected, edits)
    }

    /// [`Store::edit_kind`] without the checks of who may write which field (the caller made
    /// them).
    pub(crate) fn edit_kind_unchecked(
        &self,
        id: RecordId,
        expected: Option<Kind>,
        edits: &[Edit],
    ) -> Result<()> {
        // The retention review's decision is a coordinator's (`retention.rs`), whichever way
        // it is written.
        if let Some(edit) = edits.iter().find(|e| e.field().starts_with("retention_")) {
            if !self.acts_as_coordinator()? {
                return Err(CoreError::invalid(
                    edit.field(),
                    "only a coordinator's device keeps a file after the retention review",
                ));
            }
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        self.edit_in(&tx, id, expected, edits)?;
        tx.commit()?;
        Ok(())
    }

    /// Edits a record in the caller's transaction, with every check of [`Store::edit_kind`]
    /// but who may write which field (the caller made it): one write that changes several
    /// records (a journey period that ends the one before it) commits them together.
    pub(crate) fn edit_in(
        &self,
        tx: &Transaction,
        id: RecordId,
        expected: Option<Kind>,
        edits: &[Edit],
    ) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let kind = record_kind(tx, id)?;
        if let Some(expected) = expected {
            if kind != expected {
                return Err(CoreError::WrongKind {
                    id,
                    expected: expected.name(),
                    actual: kind.name().to_string(),
                });
            }
        }
        if kind == Kind::Roster {
            return Err(CoreError::invalid(
                "record",
                "the roster is not edited field by field",
            ));
        }
        if kind == Kind::Consent {
            return Err(CoreError::invalid(
                "record",
                "a consent decision is never edited: record a new decision",
            ));
        }
        let edits = super::custom_fields::fit_edits(tx, kind, edits, false)?;
        self.checker_edits(tx, kind, &edits)?;
        let mut doc = load_doc(tx, id)?.ok_or(CoreError::RecordNotFound(id))?;
        // A record made by an earlier build may lack a map its kind holds now (an encounter
        // without the organisation's fields): no edit creates one (a container is made once,
        // with its record).
        if let Some(edit) = edits.iter().find(|e| matches!(e, Edit::Put(..))) {
            use automerge::ReadDoc;
            if !matches!(
                doc.get(automerge::ROOT, edit.field()),
                Ok(Some((automerge::Value::Object(_), _)))
            ) {
                return Err(CoreError::invalid(
                    edit.field(),
                    format!(
                        "this {} was recorded by an earlier version, which kept no {}: it cannot take one",
                        kind.name(),
                        edit.field()
                    ),
                ));
            }
        }
        let before = index::Before::read(Some(kind), &mut doc);
        doc.set_actor(self.me.device.actor().clone());
        for edit in &edits {
            doc::apply(&mut doc, kind, edit, &self.worker(), now_ms)?;
        }
        check_record_rules(kind, &Reader::new(&doc))?;
        self.commit_edit(tx, id, kind, &mut doc, now_ms, &before)
    }

    fn commit_edit(
        &self,
        tx: &Transaction,
        id: RecordId,
        kind: Kind,
        doc: &mut AutoCommit,
        now_ms: i64,
        before: &index::Before,
    ) -> Result<()> {
        if doc::commit(doc, now_ms, &self.worker()).is_none() {
            return Ok(());
        }
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("edit has no change"))?;
        insert_change(tx, id, Some(kind), &change, true, now_ms)?;
        index::refresh(tx, kind, id, doc, now_ms, before)?;
        index::refresh_conflicts(tx, kind, id, doc, now_ms)?;
        maybe_snapshot(tx, id, doc)?;
        Ok(())
    }
}

impl Store {
    /// The edit that typed text asks for on a field of a record of `kind` (`set FIELD=VALUE` on
    /// the command line, `set_field` in the FFI): a scalar field takes the value, a list or a
    /// code set gets it appended or added, a free map takes `name=text`, comments a comment.
    /// The value is checked as a typed one would be.
    /// A free map's entry may be named in the path too (`custom.NAME` and the value).
    pub fn edit_from_text(&self, kind: Kind, field: &str, value: &str) -> Result<Edit> {
        if let (name, Some(key)) = doc::split_path(field.trim()) {
            let spec = kind.field(name)?;
            if spec.ty != FieldType::TextMap {
                return Err(CoreError::invalid(
                    spec.name,
                    "takes no name after a dot: only a map of named values does",
                ));
            }
            return Ok(Edit::Put(
                spec.name.to_string(),
                key.trim().to_string(),
                value.trim().to_string(),
            ));
        }
        let spec = kind.field(field.trim())?;
        let extra = self.extra_terms()?;
        let checker = Checker {
            now: self.now(),
            extra: &extra,
        };
        let name = spec.name.to_string();
        Ok(match spec.ty {
            FieldType::CodeSet(vocab) => Edit::Add(
                name,
                checker.parse(spec.name, FieldType::Code(vocab), value)?,
            ),
            FieldType::TextMap => {
                let (key, text) = value
                    .split_once('=')
                    .ok_or_else(|| CoreError::invalid(spec.name, "takes NAME=TEXT"))?;
                Edit::Put(name, key.trim().to_string(), text.trim().to_string())
            }
            FieldType::Comments => Edit::Comment(name, value.trim().to_string()),
            ty if ty.is_container() => Edit::Add(name, checker.parse(spec.name, ty, value)?),
            ty => Edit::Set(name, checker.parse(spec.name, ty, value)?),
        })
    }
}
