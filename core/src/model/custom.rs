//! The organisation's own fields: typed fields a coordinator defines for persons and encounters
//! (text, number, date, yes/no, one choice, several choices from its list), kept in the space's
//! roster (`field:<kind>:<name>`, `store/custom_fields.rs`) so that they reach every device, and
//! whose values live in the record's `custom` map as text. This module holds the definitions,
//! their checks and the checks of a value against its definition, with no store: the same
//! answer on every device for the same definition.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::model::fields::{parse_date, Kind};
use crate::vocab::Lang;
use crate::{CoreError, Result};

/// The record kinds that carry the organisation's fields (a `custom` map created with the
/// record). Adding a kind is one line here, once its fields hold `custom`.
pub const CUSTOM_FIELD_KINDS: &[Kind] = &[
    Kind::Person,
    Kind::Encounter,
    Kind::Household,
    Kind::Home,
    Kind::OwnView,
];

/// The prefix of a definition's key in the roster document.
pub(crate) const FIELD_PREFIX: &str = "field:";

/// The record field that holds the values.
pub const CUSTOM: &str = "custom";

/// The type of one of the organisation's fields, which decides how its value is written as
/// text: a number as a decimal, a date `YYYY-MM-DD`, yes/no `yes` or `no`, a choice its code,
/// several choices their codes sorted and joined by `,`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomType {
    Text,
    Number,
    Date,
    YesNo,
    Choice,
    Choices,
}

impl CustomType {
    pub const ALL: [CustomType; 6] = [
        CustomType::Text,
        CustomType::Number,
        CustomType::Date,
        CustomType::YesNo,
        CustomType::Choice,
        CustomType::Choices,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CustomType::Text => "text",
            CustomType::Number => "number",
            CustomType::Date => "date",
            CustomType::YesNo => "yes_no",
            CustomType::Choice => "choice",
            CustomType::Choices => "choices",
        }
    }

    pub fn from_name(name: &str) -> Option<CustomType> {
        CustomType::ALL.into_iter().find(|t| t.name() == name)
    }

    fn has_choices(self) -> bool {
        matches!(self, CustomType::Choice | CustomType::Choices)
    }
}

/// One choice of a `choice` or `choices` field: its code and labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub code: String,
    pub fr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// What a definition holds besides its kind and name (its key in the roster): the roster
/// entry's value, as JSON text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    #[serde(rename = "type")]
    ty: CustomType,
    fr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    en: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    choices: Vec<Choice>,
    sensitive: bool,
    #[serde(default)]
    retired: bool,
}

/// One of the organisation's fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomField {
    /// The kind of record it belongs to (`person`, `encounter`).
    pub kind: Kind,
    /// Its name: what `custom.NAME` writes, a column of exports, a key of the report.
    pub name: String,
    #[serde(rename = "type")]
    pub ty: CustomType,
    /// French label.
    pub fr: String,
    /// English label, when given.
    pub en: Option<String>,
    /// Bounds of a number, when given.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The list of a `choice` or `choices` field.
    pub choices: Vec<Choice>,
    /// Whether its values may reveal health or the like: left out of pseudonymised exports.
    pub sensitive: bool,
    /// A retired field takes no new value; the values written are kept and shown.
    pub retired: bool,
}

/// Whether `name` is a field or choice name: 1 to 40 lower-case ASCII letters, digits and `_`,
/// starting with a letter (it is a key of exports and of the report's figures).
fn is_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_label(field: &str, label: &str) -> Result<()> {
    let n = label.chars().count();
    if n == 0 || n > 200 || label.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "a label is 1 to 200 characters, on one line",
        ));
    }
    Ok(())
}

impl CustomField {
    /// The roster key of this definition.
    pub(crate) fn roster_key(&self) -> String {
        format!("{FIELD_PREFIX}{}:{}", self.kind.name(), self.name)
    }

    /// The roster entry's value (JSON text).
    pub(crate) fn roster_value(&self) -> String {
        let stored = Stored {
            ty: self.ty,
            fr: self.fr.clone(),
            en: self.en.clone(),
            min: self.min,
            max: self.max,
            choices: self.choices.clone(),
            sensitive: self.sensitive,
            retired: self.retired,
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// A definition read back from a roster entry, if it is well formed: definitions come from
    /// other devices and are checked like the ones typed here.
    pub(crate) fn from_roster(key: &str, value: &str) -> Option<CustomField> {
        let (kind, name) = key.strip_prefix(FIELD_PREFIX)?.split_once(':')?;
        let kind = Kind::from_name(kind)?;
        let stored: Stored = serde_json::from_str(value).ok()?;
        let field = CustomField {
            kind,
            name: name.to_string(),
            ty: stored.ty,
            fr: stored.fr,
            en: stored.en,
            min: stored.min,
            max: stored.max,
            choices: stored.choices,
            sensitive: stored.sensitive,
            retired: stored.retired,
        };
        field.check().ok()?;
        Some(field)
    }

    /// Checks a definition: a kind that carries the organisation's fields, a name, labels,
    /// bounds for numbers only, a list of distinct choices for choice fields only.
    pub fn check(&self) -> Result<()> {
        if !CUSTOM_FIELD_KINDS.contains(&self.kind) {
            let kinds: Vec<_> = CUSTOM_FIELD_KINDS.iter().map(|k| k.name()).collect();
            return Err(CoreError::invalid(
                "kind",
                format!("the organisation's fields are for: {}", kinds.join(", ")),
            ));
        }
        if !is_name(&self.name) {
            return Err(CoreError::invalid(
                "name",
                "a field's name is 1 to 40 lower-case letters, digits or '_', starting with a letter",
            ));
        }
        check_label("label", &self.fr)?;
        if let Some(en) = &self.en {
            check_label("label_en", en)?;
        }
        if self.ty != CustomType::Number && (self.min.is_some() || self.max.is_some()) {
            return Err(CoreError::invalid("min", "only a number field has bounds"));
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                return Err(CoreError::invalid("min", "is more than max"));
            }
        }
        if self.min.is_some_and(|x| !x.is_finite()) || self.max.is_some_and(|x| !x.is_finite()) {
            return Err(CoreError::invalid("min", "bounds are finite numbers"));
        }
        if self.ty.has_choices() {
            if self.choices.is_empty() || self.choices.len() > 200 {
                return Err(CoreError::invalid(
                    "choice",
                    "a choice field lists 1 to 200 choices",
                ));
            }
            for (i, c) in self.choices.iter().enumerate() {
                if !is_name(&c.code) {
                    return Err(CoreError::invalid(
                        "choice",
                        "a choice's code is 1 to 40 lower-case letters, digits or '_', starting with a letter",
                    ));
                }
                if self.choices[..i].iter().any(|o| o.code == c.code) {
                    return Err(CoreError::invalid(
                        "choice",
                        format!("{} is listed twice", c.code),
                    ));
                }
                check_label("choice", &c.fr)?;
                if let Some(en) = &c.en {
                    check_label("choice", en)?;
                }
            }
        } else if !self.choices.is_empty() {
            return Err(CoreError::invalid(
                "choice",
                "only a choice field has choices",
            ));
        }
        // Every device refuses a roster value longer than a text may be (`check_received`): a
        // definition that long would define the field on this device alone.
        if self.roster_value().chars().count() > 10_000 {
            return Err(CoreError::invalid(
                "choice",
                "the definition is too long: give fewer or shorter choices",
            ));
        }
        Ok(())
    }

    /// The label in `lang` (French when no English one was given).
    pub fn label(&self, lang: Lang) -> &str {
        match (lang, &self.en) {
            (Lang::En, Some(en)) => en,
            _ => &self.fr,
        }
    }

    /// The label of one of its choices in `lang`; the code itself for one not in the list.
    pub fn choice_label(&self, code: &str, lang: Lang) -> String {
        match self.choices.iter().find(|c| c.code == code) {
            Some(Choice { en: Some(en), .. }) if lang == Lang::En => en.clone(),
            Some(c) => c.fr.clone(),
            None => code.to_string(),
        }
    }

    /// The path a value is written under (`custom.NAME`): what errors name.
    pub fn path(&self) -> String {
        format!("{CUSTOM}.{}", self.name)
    }

    /// A value typed for this field, checked and written as the text the record keeps; an
    /// empty value clears it. Refusals name the field, never the value.
    pub fn encode(&self, text: &str) -> Result<String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(String::new());
        }
        let path = self.path();
        let bad = |why: String| CoreError::invalid(&path, why);
        Ok(match self.ty {
            CustomType::Text => {
                if text.chars().count() > 10_000 {
                    return Err(bad("is longer than 10,000 characters".into()));
                }
                if text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
                {
                    return Err(bad("contains control characters".into()));
                }
                text.to_string()
            }
            CustomType::Number => {
                let x: f64 = text
                    .replace(',', ".")
                    .parse()
                    .map_err(|_| bad("is not a number".into()))?;
                if !x.is_finite() {
                    return Err(bad("is not a number".into()));
                }
                if self.min.is_some_and(|min| x < min) || self.max.is_some_and(|max| x > max) {
                    return Err(bad(format!(
                        "is outside {}..={}",
                        self.min.map(number).unwrap_or_default(),
                        self.max.map(number).unwrap_or_default()
                    )));
                }
                number(x)
            }
            CustomType::Date => match parse_date(text) {
                Some(d) if (1900..=2200).contains(&d.year()) => d.format("%Y-%m-%d").to_string(),
                _ => return Err(bad("is not a date from 1900 to 2200 (YYYY-MM-DD)".into())),
            },
            CustomType::YesNo => match text.to_lowercase().as_str() {
                "yes" | "oui" | "true" | "1" => "yes".into(),
                "no" | "non" | "false" | "0" => "no".into(),
                _ => return Err(bad("is not yes or no".into())),
            },
            CustomType::Choice | CustomType::Choices => {
                let mut codes: Vec<&str> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                if self.ty == CustomType::Choice && codes.len() > 1 {
                    return Err(bad("takes one choice".into()));
                }
                if codes
                    .iter()
                    .any(|c| !self.choices.iter().any(|o| o.code == *c))
                {
                    let list: Vec<&str> = self.choices.iter().map(|c| c.code.as_str()).collect();
                    return Err(bad(format!(
                        "is not one of its choices ({})",
                        list.join(", ")
                    )));
                }
                codes.join(",")
            }
        })
    }

    /// What is wrong with a value the record holds (written by another device under another
    /// definition, or before this one changed), in one sentence; `None` when it fits.
    pub fn problem(&self, value: &str) -> Option<String> {
        if self.retired {
            return None;
        }
        match self.encode(value) {
            Ok(canonical) if canonical == value.trim() => None,
            Ok(_) => Some(format!(
                "{} is not written as this device writes it",
                self.path()
            )),
            Err(e) => Some(e.to_string()),
        }
    }

    /// A value as a person reads it: choices by their labels, yes/no in words.
    pub fn display(&self, value: &str, lang: Lang) -> String {
        match self.ty {
            CustomType::Choice | CustomType::Choices => value
                .split(',')
                .filter(|c| !c.is_empty())
                .map(|c| self.choice_label(c, lang))
                .collect::<Vec<_>>()
                .join(", "),
            CustomType::YesNo => match (value, lang) {
                ("yes", Lang::Fr) => "oui".into(),
                ("no", Lang::Fr) => "non".into(),
                _ => value.to_string(),
            },
            _ => value.to_string(),
        }
    }
}

/// A number as a value's text: a whole number without decimals.
pub(crate) fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One value of the organisation's fields as a screen shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomValue {
    pub name: String,
    /// The field's label, or its name when this device holds no definition of it.
    pub label: String,
    /// Its type; `None` when this device holds no definition of it (a newer device's field).
    #[serde(rename = "type")]
    pub ty: Option<CustomType>,
    /// The value as text (choices by their labels); empty when none was written.
    pub value: String,
    /// The value as the record keeps it.
    pub raw: String,
    pub retired: bool,
    /// What is wrong with the value, in one sentence, when it does not fit the definition this
    /// device holds (the value is kept and shown as it is).
    pub problem: Option<String>,
}

/// The values of a record's `custom` map beside the definitions of its kind: every field in
/// force (with its value, or empty), then retired fields and names with no definition here
/// that hold a value, each flagged when it does not fit.
pub fn custom_values(
    definitions: &[CustomField],
    values: &BTreeMap<String, String>,
    lang: Lang,
) -> Vec<CustomValue> {
    let mut out = Vec::new();
    for def in definitions {
        let raw = values.get(&def.name).cloned().unwrap_or_default();
        if def.retired && raw.is_empty() {
            continue;
        }
        out.push(CustomValue {
            name: def.name.clone(),
            label: def.label(lang).to_string(),
            ty: Some(def.ty),
            value: def.display(&raw, lang),
            problem: if raw.is_empty() {
                None
            } else {
                def.problem(&raw)
            },
            raw,
            retired: def.retired,
        });
    }
    for (name, raw) in values {
        if raw.is_empty() || definitions.iter().any(|d| &d.name == name) {
            continue;
        }
        out.push(CustomValue {
            name: name.clone(),
            label: name.clone(),
            ty: None,
            value: raw.clone(),
            raw: raw.clone(),
            retired: false,
            problem: Some(format!(
                "{CUSTOM}.{name} is not one of the organisation's fields on this device"
            )),
        });
    }
    out
}
