//! Rules over a whole record (a person needs a name or a nickname, an encounter someone met...),
//! checked after edits and before a write commits.

use std::collections::BTreeMap;

use crate::doc::{self, Reader};
use crate::model::fields::{FieldSpec, Kind, Value};
use crate::{CoreError, Result};

/// What the record rules read of a record: its merged document after edits, or the root a new
/// record is built from (read without going through Automerge, which costs more than the
/// rules themselves on a write).
pub(crate) trait RuleFields {
    fn value(&self, spec: &FieldSpec) -> Option<Value>;
    fn list_len(&self, spec: &FieldSpec) -> usize;
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String>;
}

impl RuleFields for Reader<'_> {
    fn value(&self, spec: &FieldSpec) -> Option<Value> {
        self.get(spec)
    }
    fn list_len(&self, spec: &FieldSpec) -> usize {
        self.list(spec).len()
    }
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String> {
        Reader::text_map(self, spec)
    }
}

impl RuleFields for automerge::hydrate::Map {
    fn value(&self, spec: &FieldSpec) -> Option<Value> {
        match self.get(spec.name)? {
            automerge::hydrate::Value::Scalar(s) => Some(doc::from_scalar(spec.ty, s)),
            _ => None,
        }
    }
    fn list_len(&self, spec: &FieldSpec) -> usize {
        match self.get(spec.name) {
            Some(automerge::hydrate::Value::List(items)) => items.len(),
            _ => 0,
        }
    }
    fn text_map(&self, spec: &FieldSpec) -> BTreeMap<String, String> {
        match self.get(spec.name) {
            Some(automerge::hydrate::Value::Map(map)) => map
                .iter()
                .filter_map(|(k, v)| match &v.value {
                    automerge::hydrate::Value::Scalar(automerge::ScalarValue::Str(s)) => {
                        Some((k.to_string(), s.to_string()))
                    }
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        }
    }
}

/// Rules over a whole record, checked after edits and before commit.
pub(crate) fn check_record_rules(kind: Kind, r: &impl RuleFields) -> Result<()> {
    let field = |name: &str| kind.field(name).ok();
    let present = |name: &str| {
        field(name)
            .and_then(|s| r.value(s))
            .is_some_and(|v| !v.to_string().trim().is_empty())
    };
    match kind {
        Kind::Person if !present("name") && !present("nickname") => Err(CoreError::invalid(
            "name",
            "a person needs a name or a nickname",
        )),
        Kind::Encounter => {
            let persons = field("persons").map(|s| r.list_len(s)).unwrap_or(0);
            let anonymous = match field("anonymous_count").and_then(|s| r.value(s)) {
                Some(Value::Int(n)) => n,
                _ => 0,
            };
            if persons == 0 && anonymous <= 0 {
                return Err(CoreError::invalid(
                    "persons",
                    "an encounter needs at least one person met or an anonymous count",
                ));
            }
            Ok(())
        }
        Kind::Action if !present("title") => Err(CoreError::invalid("title", "is empty")),
        Kind::Action | Kind::Referral if !present("person") => {
            Err(CoreError::invalid("person", "is required"))
        }
        Kind::Referral if !present("target") => Err(CoreError::invalid("target", "is required")),
        Kind::Consent => {
            for field in [
                "person",
                "partner",
                "category",
                "given",
                "decided_on",
                "how",
            ] {
                if !present(field) {
                    return Err(CoreError::invalid(field, "is required"));
                }
            }
            Ok(())
        }
        Kind::HealthNote | Kind::HealthContact => {
            let required: &[&str] = if kind == Kind::HealthNote {
                &["person", "on", "category", "text"]
            } else {
                &["person", "on"]
            };
            match required.iter().find(|f| !present(f)) {
                Some(field) => Err(CoreError::invalid(*field, "is required")),
                None => Ok(()),
            }
        }
        Kind::SharedAssessment if !present("projection") => {
            Err(CoreError::invalid("projection", "is required"))
        }
        Kind::ErasureAck if !present("order") => Err(CoreError::invalid("order", "is required")),
        Kind::Observation => {
            if !present("territory") {
                return Err(CoreError::invalid("territory", "is empty"));
            }
            let counts = field("counts").map(|s| r.text_map(s)).unwrap_or_default();
            match counts.iter().find(|(_, v)| v.parse::<u32>().is_err()) {
                Some((k, _)) => Err(CoreError::invalid(
                    "counts",
                    format!("{k} is not a whole number of zero or more"),
                )),
                None => Ok(()),
            }
        }
        Kind::Household if !present("label") => Err(CoreError::invalid("label", "is empty")),
        Kind::HouseholdMember => {
            for field in ["household", "person", "relation", "joined_on"] {
                if !present(field) {
                    return Err(CoreError::invalid(field, "is required"));
                }
            }
            in_order(kind, r, "joined_on", "left_on")
        }
        Kind::Home | Kind::Proposal => {
            if present("person") == present("household") {
                return Err(CoreError::invalid(
                    "person",
                    "concerns one person or one household: give one of them",
                ));
            }
            let required: &[&str] = if kind == Kind::Home {
                &["entered_on"]
            } else {
                &["offer", "proposed_on"]
            };
            if let Some(field) = required.iter().find(|f| !present(f)) {
                return Err(CoreError::invalid(*field, "is required"));
            }
            in_order(kind, r, "entered_on", "left_on")
        }
        Kind::RiskSignal => {
            for field in ["home", "risk", "raised_on"] {
                if !present(field) {
                    return Err(CoreError::invalid(field, "is required"));
                }
            }
            in_order(kind, r, "raised_on", "resolved_on")
        }
        Kind::OwnView => match ["person", "step", "on"].iter().find(|f| !present(f)) {
            Some(field) => Err(CoreError::invalid(*field, "is required")),
            None => Ok(()),
        },
        Kind::HousingOffer if !present("home_kind") => {
            Err(CoreError::invalid("home_kind", "is required"))
        }
        Kind::JourneyPeriod | Kind::HousingApplication => {
            if present("person") == present("household") {
                return Err(CoreError::invalid(
                    "person",
                    "concerns one person or one household: give one of them",
                ));
            }
            let required: &[&str] = if kind == Kind::JourneyPeriod {
                &["situation", "started_on"]
            } else {
                &["application_kind"]
            };
            if let Some(field) = required.iter().find(|f| !present(f)) {
                return Err(CoreError::invalid(*field, "is required"));
            }
            if kind == Kind::JourneyPeriod {
                in_order(kind, r, "started_on", "ended_on")
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// That the date of `last` is not before the date of `first`, when both are set.
fn in_order(kind: Kind, r: &impl RuleFields, first: &str, last: &str) -> Result<()> {
    let date = |name: &str| match kind.field(name).ok().and_then(|s| r.value(s)) {
        Some(Value::Date(d)) => Some(d),
        _ => None,
    };
    match (date(first), date(last)) {
        (Some(a), Some(b)) if b < a => Err(CoreError::invalid(last, format!("is before {first}"))),
        _ => Ok(()),
    }
}
