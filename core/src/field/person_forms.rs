//! The forms of a person's screen: a follow-up to add (a title, a category from the list, a due
//! day typed as `YYYY-MM-DD`), a referral to add (where to, the service's name, the day), and an
//! open follow-up marked done with a comment. What was typed is a draft (kept in the store by
//! `draft.rs`); a typed day is checked by the store's `Checker`, and a refusal is one sentence
//! with nothing written.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::encounter::Choice;
use super::person::choices;
use super::words::{self, t};
use crate::model::fields::{Checker, Kind};
use crate::timeline::{TimelineEntry, TimelineItem};
use crate::vocab::{label, ExtraTerm, Lang, Vocab};
use crate::{CoreError, NewAction, NewReferral, RecordId, Result, Store};

/// A follow-up being typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ActionDraft {
    pub title: String,
    pub category: String,
    pub due: String,
}

/// A referral being typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ReferralDraft {
    pub target: String,
    pub target_name: String,
    pub date: String,
}

/// A person's screen and what its forms hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Forms {
    pub person: RecordId,
    pub action: ActionDraft,
    pub referral: ReferralDraft,
}

impl ActionDraft {
    fn can_add(&self) -> bool {
        !self.title.trim().is_empty() && !self.category.trim().is_empty()
    }
}

impl ReferralDraft {
    fn can_add(&self) -> bool {
        !self.target.trim().is_empty()
    }
}

impl Forms {
    pub(super) fn new(person: RecordId) -> Forms {
        Forms {
            person,
            action: ActionDraft::default(),
            referral: ReferralDraft::default(),
        }
    }

    /// Whether anything was typed (a draft worth keeping).
    pub(super) fn typed(&self) -> bool {
        self.action != ActionDraft::default() || self.referral != ReferralDraft::default()
    }
}

/// The form that adds a follow-up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionForm {
    pub heading: String,
    /// The title as typed, and its placeholder.
    pub title: String,
    pub title_hint: String,
    /// The action categories, labelled, the one picked selected.
    pub categories: Vec<Choice>,
    /// The due day as typed (`YYYY-MM-DD`), and its placeholder.
    pub due: String,
    pub due_hint: String,
    /// The button that adds it, enabled once a title is typed and a category picked.
    pub add: String,
    pub can_add: bool,
    /// The button that empties the form, enabled when something was typed.
    pub clear: String,
    pub can_clear: bool,
}

/// The form that adds a referral.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferralForm {
    pub heading: String,
    /// Where to refer, labelled, the one picked selected.
    pub targets: Vec<Choice>,
    /// The service's name as typed, and its placeholder.
    pub target_name: String,
    pub target_name_hint: String,
    /// The day as typed (`YYYY-MM-DD`, today when empty), and its placeholder.
    pub date: String,
    pub date_hint: String,
    /// The button that adds it, enabled once a target is picked.
    pub add: String,
    pub can_add: bool,
    pub clear: String,
    pub can_clear: bool,
}

/// A referral of the person, labelled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferralRow {
    pub id: RecordId,
    /// Where to ("SIAO / 115"), and the service's name when given.
    pub target: String,
    pub target_name: Option<String>,
    /// Its day ("2026-03-12").
    pub date: Option<String>,
    /// What became of it ("envoyée").
    pub status: String,
}

/// An edit of a person's forms, or what they ask for.
pub(super) enum FormEvent {
    ActionTitle(String),
    ActionCategory(String),
    ActionDue(String),
    AddAction,
    ClearAction,
    ReferralTarget(String),
    ReferralName(String),
    ReferralDate(String),
    AddReferral,
    ClearReferral,
    CompleteAction { id: RecordId, comment: String },
}

/// Applies `event` to the forms of a person's screen, writing what it asks for. A refusal is
/// returned in one sentence; the form keeps what was typed.
pub(super) fn apply(
    store: &Store,
    forms: &mut Forms,
    event: FormEvent,
    lang: Lang,
) -> Option<String> {
    match event {
        FormEvent::ActionTitle(text) => forms.action.title = text,
        FormEvent::ActionCategory(code) => forms.action.category = code,
        FormEvent::ActionDue(text) => forms.action.due = text,
        FormEvent::ClearAction => forms.action = ActionDraft::default(),
        FormEvent::ReferralTarget(code) => forms.referral.target = code,
        FormEvent::ReferralName(text) => forms.referral.target_name = text,
        FormEvent::ReferralDate(text) => forms.referral.date = text,
        FormEvent::ClearReferral => forms.referral = ReferralDraft::default(),
        FormEvent::AddAction => {
            if !forms.action.can_add() {
                return Some(t(lang, "action_needs").into());
            }
            return match add_action(store, forms.person, &forms.action) {
                Ok(_) => {
                    forms.action = ActionDraft::default();
                    None
                }
                Err(e) => Some(refused(e, lang)),
            };
        }
        FormEvent::AddReferral => {
            if !forms.referral.can_add() {
                return Some(t(lang, "referral_needs").into());
            }
            return match add_referral(store, forms.person, &forms.referral) {
                Ok(_) => {
                    forms.referral = ReferralDraft::default();
                    None
                }
                Err(e) => Some(refused(e, lang)),
            };
        }
        FormEvent::CompleteAction { id, comment } => {
            return complete(store, forms.person, id, &comment)
                .err()
                .map(|e| refused(e, lang))
        }
    }
    None
}

/// A day typed for `field` of a record of `kind`, checked as the store checks it (empty: none).
fn day(store: &Store, kind: Kind, field: &str, text: &str) -> Result<Option<NaiveDate>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let extra = store.extra_terms()?;
    let checker = Checker {
        now: store.now(),
        extra: &extra,
    };
    match checker.parse(field, kind.field(field)?.ty, text)? {
        crate::Value::Date(d) => Ok(Some(d)),
        _ => Err(CoreError::invalid(field, "is not a date (YYYY-MM-DD)")),
    }
}

fn add_action(store: &Store, person: RecordId, draft: &ActionDraft) -> Result<RecordId> {
    let due_at = day(store, Kind::Action, "due_at", &draft.due)?;
    store.add_action(&NewAction {
        person,
        title: draft.title.trim().into(),
        category: draft.category.trim().into(),
        due_at,
        assigned_to: None,
    })
}

fn add_referral(store: &Store, person: RecordId, draft: &ReferralDraft) -> Result<RecordId> {
    let date = day(store, Kind::Referral, "date", &draft.date)?;
    let name = draft.target_name.trim();
    store.add_referral(&NewReferral {
        person,
        target: draft.target.trim().into(),
        target_name: (!name.is_empty()).then(|| name.to_string()),
        date,
        status: None,
        household: None,
    })
}

/// Marks `id` done, when it is one of `person`'s follow-ups still to do (a second tap on "done"
/// writes nothing more).
fn complete(store: &Store, person: RecordId, id: RecordId, comment: &str) -> Result<()> {
    let action = store.action(id)?;
    if action.person != Some(person) {
        return Err(CoreError::invalid(
            "action",
            "is not one of this person's follow-ups",
        ));
    }
    if action.status.as_deref() != Some("todo") {
        return Err(CoreError::invalid("status", "is no longer to do"));
    }
    store.complete_action(id, Some(comment))
}

/// A refusal of a form, in one sentence: a typed day or a choice said plainly, anything else as
/// the other screens say it.
fn refused(e: CoreError, lang: Lang) -> String {
    let key = match &e {
        CoreError::InvalidInput { field, .. } => match field.as_str() {
            "due_at" => "bad_due",
            "date" => "bad_referral_date",
            "category" | "target" => "unknown_choice",
            "action" => "not_this_persons",
            "status" => "no_longer_open",
            _ => return words::problem(e, lang),
        },
        _ => return words::problem(e, lang),
    };
    t(lang, key).into()
}

pub(super) fn action_form(draft: &ActionDraft, extra: &[ExtraTerm], lang: Lang) -> ActionForm {
    let picked: Vec<String> = Some(draft.category.clone())
        .filter(|c| !c.is_empty())
        .into_iter()
        .collect();
    ActionForm {
        heading: t(lang, "new_action").into(),
        title: draft.title.clone(),
        title_hint: t(lang, "action_title_hint").into(),
        categories: choices(Vocab::ActionCategory, &picked, extra, lang),
        due: draft.due.clone(),
        due_hint: t(lang, "due_hint").into(),
        add: t(lang, "add_action").into(),
        can_add: draft.can_add(),
        clear: t(lang, "clear_form").into(),
        can_clear: *draft != ActionDraft::default(),
    }
}

pub(super) fn referral_form(
    draft: &ReferralDraft,
    extra: &[ExtraTerm],
    lang: Lang,
) -> ReferralForm {
    let picked: Vec<String> = Some(draft.target.clone())
        .filter(|c| !c.is_empty())
        .into_iter()
        .collect();
    ReferralForm {
        heading: t(lang, "new_referral").into(),
        targets: choices(Vocab::ReferralTarget, &picked, extra, lang),
        target_name: draft.target_name.clone(),
        target_name_hint: t(lang, "target_name_hint").into(),
        date: draft.date.clone(),
        date_hint: t(lang, "referral_date_hint").into(),
        add: t(lang, "add_referral").into(),
        can_add: draft.can_add(),
        clear: t(lang, "clear_form").into(),
        can_clear: *draft != ReferralDraft::default(),
    }
}

/// The person's referrals, the latest day first, labelled.
pub(super) fn referrals(
    store: &Store,
    timeline: &[TimelineEntry],
    extra: &[ExtraTerm],
    lang: Lang,
) -> Result<Vec<ReferralRow>> {
    let mut rows = Vec::new();
    for e in timeline {
        let TimelineItem::Referral { id, .. } = &e.item else {
            continue;
        };
        if rows.iter().any(|r: &ReferralRow| r.id == *id) {
            continue;
        }
        let r = store.referral(*id)?;
        let l = |vocab: Vocab, code: &Option<String>| {
            code.as_deref()
                .map(|c| label(vocab, c, extra, lang))
                .unwrap_or_default()
        };
        rows.push(ReferralRow {
            id: *id,
            target: l(Vocab::ReferralTarget, &r.target),
            target_name: r.target_name.clone(),
            date: r.date.map(|d| d.to_string()),
            status: l(Vocab::ReferralStatus, &r.status),
        });
    }
    // The latest day first; the same day, the latest recorded first (ids are time-ordered).
    rows.sort_by(|a, b| (&b.date, b.id).cmp(&(&a.date, a.id)));
    Ok(rows)
}
