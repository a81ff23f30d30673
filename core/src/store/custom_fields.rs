//! The organisation's own fields in the store: definitions written in the roster
//! (`field:<kind>:<name>` -> the definition as JSON text) by a coordinator's device, so that
//! they reach every device with the next sync (the roster rule refuses them from any other,
//! `roster.rs`); the derived `custom_fields` table the index rewrites from the roster; and the
//! check of the values written into a record's `custom` map against the definitions held here.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ReadDoc, ScalarValue, ROOT};
use rusqlite::{params, Connection};

use crate::doc::Edit;
use crate::model::custom::{
    custom_values, CustomField, CustomValue, CUSTOM, CUSTOM_FIELD_KINDS, FIELD_PREFIX,
};
use crate::model::fields::Kind;
use crate::vocab::Lang;
use crate::{CoreError, RecordId, Result, Store};

/// Rewrites the `custom_fields` rows from the roster document: every well-formed definition,
/// retired ones included; an entry that does not read (a newer build's, a damaged one) is left
/// in the roster and not indexed.
pub(crate) fn refresh(tx: &Connection, doc: &AutoCommit) -> Result<()> {
    tx.prepare_cached("DELETE FROM custom_fields")?
        .execute([])?;
    for key in doc.keys(ROOT) {
        if !key.starts_with(FIELD_PREFIX) {
            continue;
        }
        let text = match doc.get(ROOT, key.as_str()).ok().flatten() {
            Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(v) => v.to_string(),
                _ => continue,
            },
            _ => continue,
        };
        let Some(field) = CustomField::from_roster(&key, &text) else {
            continue;
        };
        tx.prepare_cached(
            "INSERT OR REPLACE INTO custom_fields (kind, name, definition) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![field.kind.name(), field.name, field.roster_value()])?;
    }
    Ok(())
}

/// The definitions of `kind` held here (all kinds when `None`), retired ones included, by kind
/// and name.
pub(crate) fn definitions(conn: &Connection, kind: Option<Kind>) -> Result<Vec<CustomField>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, name, definition FROM custom_fields
         WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, name",
    )?;
    let rows = stmt.query_map([kind.map(Kind::name)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, name, definition) = row?;
        if let Some(field) =
            CustomField::from_roster(&format!("{FIELD_PREFIX}{kind}:{name}"), &definition)
        {
            out.push(field);
        }
    }
    Ok(out)
}

/// A record's `custom` map as its index row keeps it (JSON text), empty when it holds none.
pub(crate) fn parse_values(json: Option<&str>) -> BTreeMap<String, String> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// The edits with every value written into `custom` checked against its definition and
/// written as the record keeps it. Refused: a name this device holds no definition of (the
/// defined ones listed), a retired field, a value that does not fit. When `settling` (a
/// conflict resolved), a value of a field retired or not defined here is taken as it is: the
/// conflict is settled with one of the values the record holds.
pub(crate) fn fit_edits(
    conn: &Connection,
    kind: Kind,
    edits: &[Edit],
    settling: bool,
) -> Result<Vec<Edit>> {
    if !CUSTOM_FIELD_KINDS.contains(&kind) || !edits.iter().any(|e| e.field() == CUSTOM) {
        return Ok(edits.to_vec());
    }
    let defs = definitions(conn, Some(kind))?;
    edits
        .iter()
        .map(|edit| match edit {
            Edit::Put(field, name, _)
                if field == CUSTOM
                    && settling
                    && !defs.iter().any(|d| &d.name == name && !d.retired) =>
            {
                Ok(edit.clone())
            }
            Edit::Put(field, name, value) if field == CUSTOM => {
                let def = defs.iter().find(|d| &d.name == name).ok_or_else(|| {
                    let names: Vec<&str> = defs
                        .iter()
                        .filter(|d| !d.retired)
                        .map(|d| d.name.as_str())
                        .collect();
                    CoreError::invalid(
                        format!("{CUSTOM}.{name}"),
                        if names.is_empty() {
                            format!(
                                "is not one of the organisation's fields: a {} has none",
                                kind.name()
                            )
                        } else {
                            format!(
                                "is not one of the organisation's fields (a {} has: {})",
                                kind.name(),
                                names.join(", ")
                            )
                        },
                    )
                })?;
                if def.retired {
                    return Err(CoreError::invalid(
                        def.path(),
                        "is retired: it takes no new value",
                    ));
                }
                Ok(Edit::Put(field.clone(), name.clone(), def.encode(value)?))
            }
            Edit::Put(..) | Edit::Set(..) | Edit::Add(..) | Edit::Remove(..)
                if edit.field() == CUSTOM =>
            {
                Err(CoreError::invalid(CUSTOM, "takes NAME=VALUE"))
            }
            other => Ok(other.clone()),
        })
        .collect()
}

impl Store {
    /// Defines one of the organisation's fields, or changes its definition (its labels, its
    /// choices, its bounds): in the roster, so that it reaches every device of the space. The
    /// values already written are kept whatever the new definition says; those that no longer
    /// fit are shown flagged. A coordinator's device only, in a space with roles (outside one,
    /// or in a space made before grants, any device, as for the organisation's codes).
    pub fn define_field(&self, field: &CustomField) -> Result<()> {
        field.check()?;
        // In a space, the organisation's fields are its coordinators' to define (every device
        // refuses a definition written by another), as its codes are.
        if self.is_coordinator(&self.me.device)? == Some(false) {
            return Err(CoreError::invalid(
                "field",
                "only a coordinator's device can define the organisation's fields",
            ));
        }
        let key = field.roster_key();
        let value = field.roster_value();
        self.write_roster(|doc, _| {
            use automerge::transaction::Transactable;
            doc.put(ROOT, key, value)?;
            Ok(())
        })
    }

    /// Retires one of the organisation's fields: it takes no new value, and the values written
    /// are kept and still shown. A coordinator's device only.
    pub fn retire_field(&self, kind: Kind, name: &str) -> Result<()> {
        let mut field = self
            .custom_fields(Some(kind))?
            .into_iter()
            .find(|f| f.name == name)
            .ok_or_else(|| {
                CoreError::invalid(
                    "field",
                    format!(
                        "a {} has no field {name:?} of the organisation",
                        kind.name()
                    ),
                )
            })?;
        field.retired = true;
        self.define_field(&field)
    }

    /// The organisation's fields of `kind` (every kind when `None`), retired ones included,
    /// sorted by kind and name.
    pub fn custom_fields(&self, kind: Option<Kind>) -> Result<Vec<CustomField>> {
        definitions(&self.lock(), kind)
    }

    /// The values of the organisation's fields a record holds (`Person::custom`,
    /// `Encounter::custom`) as a screen shows them: labelled in `lang`, each flagged when it
    /// does not fit the definition held here.
    pub fn custom_values(
        &self,
        kind: Kind,
        values: &BTreeMap<String, String>,
        lang: Lang,
    ) -> Result<Vec<CustomValue>> {
        Ok(custom_values(
            &self.custom_fields(Some(kind))?,
            values,
            lang,
        ))
    }

    /// Sets one value of the organisation's fields on a person or an encounter, checked against
    /// its definition (an empty value clears it).
    pub fn set_custom_value(&self, id: RecordId, name: &str, value: &str) -> Result<()> {
        self.edit(
            id,
            &[Edit::Put(
                CUSTOM.into(),
                name.trim().to_string(),
                value.to_string(),
            )],
        )
    }
}
