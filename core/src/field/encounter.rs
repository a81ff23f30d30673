//! The encounter form: known persons (added from a search inside the form) and a count of
//! anonymous people (a stepper), services as one-tap choices (the team's most used first), the
//! place (typed, or one of the team's recent places), the kind, notes and whether a follow-up is
//! needed. It can be saved once it names a person or counts someone.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::search::PersonRow;
use super::words::{self, t};
use crate::vocab::{label, Lang, Vocab};
use crate::{NewEncounter, PersonQuery, PersonSort, RecordId, Result, Store};

/// How many encounters, the most recent, give the services' order and the recent places.
const RECENT: usize = 300;
/// How many recent places are offered.
const PLACES: usize = 8;
/// How many persons the form's search lists.
const FOUND: usize = 10;

/// What the worker has entered so far (kept in the store as the form's draft, `draft.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Draft {
    pub persons: Vec<RecordId>,
    pub anonymous: i64,
    pub services: BTreeSet<String>,
    pub place: String,
    pub coordinates: Option<(f64, f64)>,
    pub kind: String,
    pub notes: String,
    pub follow_up: bool,
    /// What the form's person search holds.
    pub search: String,
    /// The organisation's fields of encounters chosen or typed so far, each in the form its
    /// definition writes (a draft of an earlier build has none).
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
}

impl Draft {
    pub(super) fn new(person: Option<RecordId>) -> Draft {
        Draft {
            persons: person.into_iter().collect(),
            kind: "follow_up".into(),
            ..Default::default()
        }
    }

    fn can_save(&self) -> bool {
        !self.persons.is_empty() || self.anonymous > 0
    }

    /// Saves the encounter; `None` when it names nobody and counts no one.
    pub(super) fn save(&self, store: &Store) -> Result<Option<RecordId>> {
        if !self.can_save() {
            return Ok(None);
        }
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        store
            .log_encounter(&NewEncounter {
                persons: self.persons.clone(),
                anonymous_count: self.anonymous,
                services: self.services.iter().cloned().collect(),
                place: text(&self.place),
                latitude: self.coordinates.map(|c| c.0),
                longitude: self.coordinates.map(|c| c.1),
                kind: text(&self.kind),
                notes: text(&self.notes),
                follow_up: self.follow_up,
                custom: self.custom.clone(),
                ..Default::default()
            })
            .map(Some)
    }

    /// One of the organisation's fields of encounters, as typed or chosen on the form: checked
    /// against its definition (a code of a `choices` field added, or taken off when chosen);
    /// refused, with the draft unchanged, when the definition does not take it.
    pub(super) fn set_custom(&mut self, store: &Store, name: &str, value: &str) -> Result<()> {
        use crate::model::custom::CustomType;
        let def = store
            .custom_fields(Some(crate::Kind::Encounter))?
            .into_iter()
            .find(|f| f.name == name && !f.retired)
            .ok_or_else(|| crate::CoreError::InvalidInput {
                field: format!("custom.{name}"),
                reason: "is not one of the organisation's fields of encounters".into(),
            })?;
        let value = if def.ty == CustomType::Choices {
            let mut codes: Vec<&str> = self
                .custom
                .get(name)
                .map(String::as_str)
                .unwrap_or_default()
                .split(',')
                .filter(|c| !c.is_empty())
                .collect();
            match codes.iter().position(|c| *c == value.trim()) {
                Some(i) => {
                    codes.remove(i);
                }
                None => codes.push(value.trim()),
            }
            codes.join(",")
        } else {
            value.to_string()
        };
        let value = def.encode(&value)?;
        if value.is_empty() {
            self.custom.remove(name);
        } else {
            self.custom.insert(name.to_string(), value);
        }
        Ok(())
    }
}

/// One of a list's choices (a service, a kind), labelled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// A person named in the encounter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Named {
    pub id: RecordId,
    pub title: String,
}

/// The encounter form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EncounterView {
    pub title: String,
    /// The persons met, in the order they were added.
    pub persons: Vec<Named>,
    /// The form's person search and what it found (those not named yet).
    pub search: String,
    pub found: Vec<PersonRow>,
    /// The anonymous people counted, and its label ("2 personnes anonymes").
    pub anonymous: i64,
    pub anonymous_label: String,
    pub can_decrease: bool,
    /// The services, the team's most used first.
    pub services: Vec<Choice>,
    pub place: String,
    /// The team's recent places, the most recent first.
    pub recent_places: Vec<String>,
    /// Whether the shell gave the place's coordinates.
    pub located: bool,
    pub kinds: Vec<Choice>,
    pub notes: String,
    pub follow_up: bool,
    /// The organisation's own fields of encounters (`Event::EncounterCustom` sets one).
    pub custom_title: String,
    pub custom: Vec<super::person::CustomControl>,
    pub can_save: bool,
    pub problem: Option<String>,
    // The controls' labels, shown or read aloud.
    pub back_label: String,
    pub save_label: String,
    /// The anonymous stepper's two buttons.
    pub fewer_label: String,
    pub more_label: String,
    /// Takes a person met off the encounter (said with their name).
    pub remove_label: String,
    /// The form's person search.
    pub search_label: String,
    pub services_label: String,
    pub place_label: String,
    pub kind_label: String,
    pub notes_label: String,
    pub follow_up_label: String,
}

/// The team's services by use in its recent encounters (the most used first, then the list's
/// order), and its recent places (the most recent first).
fn recent_use(store: &Store) -> Result<(Vec<String>, Vec<String>)> {
    let recent = store.recent_encounter_facts(RECENT)?;
    let mut uses: BTreeMap<String, usize> = BTreeMap::new();
    let mut places: Vec<String> = Vec::new();
    for (services, place) in recent {
        for s in services {
            *uses.entry(s).or_default() += 1;
        }
        if let Some(place) = place
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
        {
            if places.len() < PLACES && !places.iter().any(|p| p.eq_ignore_ascii_case(&place)) {
                places.push(place);
            }
        }
    }
    let mut codes: Vec<String> = Vocab::Service
        .terms()
        .iter()
        .map(|t| t.code.to_string())
        .chain(
            store
                .extra_terms()?
                .into_iter()
                .filter(|t| t.vocab == Vocab::Service)
                .map(|t| t.code),
        )
        .collect();
    // A stable sort: equal uses keep the list's order.
    codes.sort_by_key(|c| std::cmp::Reverse(uses.get(c).copied().unwrap_or(0)));
    Ok((codes, places))
}

pub(super) fn view(store: &Store, draft: &Draft, lang: Lang) -> Result<EncounterView> {
    let today = store.now().date_naive();
    let extra = store.extra_terms()?;
    let persons = draft
        .persons
        .iter()
        .map(|id| {
            let p = store.person(*id)?;
            Ok(Named {
                id: *id,
                title: p
                    .name
                    .clone()
                    .or_else(|| p.nickname.clone())
                    .unwrap_or_else(|| p.display_name()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let found = if draft.search.trim().is_empty() {
        Vec::new()
    } else {
        store
            .list_persons(&PersonQuery {
                search: Some(draft.search.trim().to_string()),
                sort: PersonSort::RecentlySeen,
                limit: FOUND + draft.persons.len(),
                include_inactive: false,
            })?
            .iter()
            .filter(|p| !draft.persons.contains(&p.id))
            .take(FOUND)
            .map(|p| PersonRow::new(p, today, &extra, lang))
            .collect()
    };
    let (services, recent_places) = recent_use(store)?;
    Ok(EncounterView {
        title: t(lang, "encounter_title").into(),
        persons,
        search: draft.search.clone(),
        found,
        anonymous: draft.anonymous,
        anonymous_label: words::anonymous(draft.anonymous, lang),
        can_decrease: draft.anonymous > 0,
        services: services
            .into_iter()
            .map(|code| Choice {
                label: label(Vocab::Service, &code, &extra, lang),
                selected: draft.services.contains(&code),
                code,
            })
            .collect(),
        place: draft.place.clone(),
        recent_places,
        located: draft.coordinates.is_some(),
        kinds: Vocab::EncounterKind
            .terms()
            .iter()
            .map(|t| Choice {
                code: t.code.to_string(),
                label: label(Vocab::EncounterKind, t.code, &extra, lang),
                selected: draft.kind == t.code,
            })
            .collect(),
        notes: draft.notes.clone(),
        custom_title: t(lang, "custom_fields").into(),
        custom: super::person::custom_controls(store, crate::Kind::Encounter, &draft.custom, lang)?,
        follow_up: draft.follow_up,
        can_save: draft.can_save(),
        problem: None,
        back_label: t(lang, "back").into(),
        save_label: t(lang, "save").into(),
        fewer_label: t(lang, "fewer_anonymous").into(),
        more_label: t(lang, "more_anonymous").into(),
        remove_label: t(lang, "remove").into(),
        search_label: t(lang, "find_person_met").into(),
        services_label: t(lang, "services").into(),
        place_label: t(lang, "place").into(),
        kind_label: t(lang, "kind").into(),
        notes_label: t(lang, "notes").into(),
        follow_up_label: t(lang, "follow_up_needed").into(),
    })
}
