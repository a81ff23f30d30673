//! A person's screen: who they are (names, situation, needs, alert level, how to recognise
//! them), their follow-ups still to do, the fields whose values conflict (to settle at the
//! office, never on the phone), and their merged timeline from every device, the latest first,
//! each entry said in words; and what changes in the street, edited in place (situation, needs,
//! alert level, description, phone, consent to be recorded), each choice a change of its own;
//! their referrals, and the forms that add a follow-up or a referral and mark one done
//! (`person_forms.rs`); the organisation's own fields of persons (`CustomControl`), each
//! value checked against its definition when it is written. Opening it is logged in the access log, as every read of a file.

use serde::Serialize;

use super::encounter::Choice;
use super::person_forms::{self, ActionForm, Forms, ReferralForm, ReferralRow};
use super::words::{self, t};
use crate::history::HistoryEntry;
use crate::model::fields::Kind;
use crate::timeline::{TimelineEntry, TimelineItem};
use crate::vocab::{label, ExtraTerm, Lang, Vocab};
use crate::{Edit, RecordId, Result, Store, Value, Via};

/// How many timeline entries the screen lists (the latest first).
const ENTRIES: usize = 100;

/// One thing known about the person, labelled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// A follow-up still to do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenAction {
    pub id: RecordId,
    pub title: String,
    /// Its due day, when it has one ("2026-03-12").
    pub due: Option<String>,
    pub overdue: bool,
}

/// One entry of the timeline, in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineRow {
    /// When, by the device that wrote it ("12/03 21:40").
    pub when: String,
    /// Who wrote it (the worker, else the device).
    pub who: String,
    /// What it is ("Rencontre", "Situation"...).
    pub what: String,
    /// What it says (the place and services, the new value...).
    pub detail: String,
    /// The writing device's clock was off: its time is doubtful.
    pub clock_off: bool,
}

/// One of the organisation's own fields of persons on the person's screen: a text box for
/// `text`, `number` and `date` fields (`value` as it stands), labelled choices for `yes_no`,
/// `choice` and `choices` fields (the current ones selected; `StreetEdit::Custom` with a code
/// chooses it, and for `choices` adds it or takes it off).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomControl {
    pub name: String,
    pub label: String,
    /// `text`, `number`, `date`, `yes_no`, `choice` or `choices`; empty for a value whose field
    /// this phone holds no definition of (shown, not edited).
    pub field_type: String,
    /// The value as the record keeps it (what a text box shows).
    pub value: String,
    /// The value as a person reads it (choices by their labels).
    pub shown: String,
    pub choices: Vec<Choice>,
    /// Whether the worker may change it here: a field in force.
    pub editable: bool,
    /// What is wrong with the value held, in one sentence (kept, not dropped).
    pub problem: Option<String>,
}

/// A person's screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonView {
    pub id: RecordId,
    pub title: String,
    /// The nickname (when the title is the name) and other names.
    pub subtitle: String,
    pub facts: Vec<Fact>,
    pub actions_title: String,
    pub actions: Vec<OpenAction>,
    pub conflicts_title: String,
    /// The fields whose values conflict, labelled: settled at the office.
    pub conflicts: Vec<String>,
    pub timeline_title: String,
    pub timeline: Vec<TimelineRow>,
    /// What changes in the street, to edit in place: the situation, the needs and the alert
    /// level as labelled choices (the current ones selected), the description and the phone as
    /// they stand, and whether the person consented to be recorded.
    pub situations: Vec<Choice>,
    pub needs: Vec<Choice>,
    pub alerts: Vec<Choice>,
    pub description: String,
    pub phone: String,
    pub consent_record: Option<bool>,
    /// The organisation's own fields of persons, in the order of their names.
    pub custom_title: String,
    pub custom: Vec<CustomControl>,
    pub problem: Option<String>,
    /// Each open follow-up is offered a "done" button, with a comment: their words.
    pub done: String,
    pub done_comment_hint: String,
    /// The forms that add a follow-up and a referral, with what was typed.
    pub action_form: ActionForm,
    pub referral_form: ReferralForm,
    /// The person's referrals, the latest day first.
    pub referrals_title: String,
    pub referrals: Vec<ReferralRow>,
    /// Their housing journey, the earliest period first (`Store::journey`).
    pub journey_title: String,
    pub journey: Vec<JourneyRow>,
    // The controls' labels, shown or read aloud.
    pub back_label: String,
    pub new_encounter_label: String,
    /// The labels of the situation, needs and alert level choices.
    pub situations_label: String,
    pub needs_label: String,
    pub alerts_label: String,
    /// Said beside an overdue follow-up's due day ("en retard").
    pub overdue_label: String,
    /// Said beside a timeline entry whose time is doubtful (`clock_off`).
    pub clock_off_label: String,
}

/// One period of the person's housing journey, in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JourneyRow {
    /// Its situation's label ("hébergement d'urgence").
    pub situation: String,
    /// Its days ("du 2026-01-05 au 2026-02-10", "depuis le 2026-02-10").
    pub days: String,
    /// The place or structure, when known.
    pub place: String,
    /// Whether it is the situation now.
    pub current: bool,
}

/// An edit of what changes in the street, from the person's screen.
#[derive(Clone, Debug, PartialEq)]
pub enum StreetEdit {
    Situation(String),
    /// A need added, or taken off when the person has it.
    Need(String),
    Alert(String),
    /// The description or the phone as typed (empty clears it), saved when the worker leaves
    /// the field.
    Description(String),
    Phone(String),
    ConsentRecord(bool),
    /// One of the organisation's fields (its name) as typed or chosen: a text box's text
    /// (empty clears it), a choice's code, a `yes_no` field's `yes` or `no`; a code of a
    /// `choices` field is added, or taken off when the person has it.
    Custom(String, String),
}

/// Writes an edit of the person's file: one change, the worker using the phone its author.
pub(super) fn apply(store: &Store, id: RecordId, edit: StreetEdit) -> Result<()> {
    let text = |field: &str, text: String| {
        let text = text.trim().to_string();
        if text.is_empty() {
            Edit::Clear(field.into())
        } else {
            Edit::Set(field.into(), Value::Text(text))
        }
    };
    let edit = match edit {
        StreetEdit::Situation(code) => Edit::Set("situation".into(), Value::Code(code)),
        StreetEdit::Need(code) => {
            if store.person(id)?.needs.contains(&code) {
                Edit::Remove("needs".into(), Value::Code(code))
            } else {
                Edit::Add("needs".into(), Value::Code(code))
            }
        }
        StreetEdit::Alert(code) => Edit::Set("alert_level".into(), Value::Code(code)),
        StreetEdit::Description(t) => text("description", t),
        StreetEdit::Phone(t) => text("phone", t),
        StreetEdit::ConsentRecord(given) => Edit::Set("consent_record".into(), Value::Bool(given)),
        StreetEdit::Custom(name, value) => {
            let def = store
                .custom_fields(Some(Kind::Person))?
                .into_iter()
                .find(|f| f.name == name);
            let value = match def {
                Some(def) if def.ty == crate::CustomType::Choices => {
                    let held = store.person(id)?.custom.get(&name).cloned();
                    let mut codes: Vec<String> = held
                        .unwrap_or_default()
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect();
                    let code = value.trim().to_string();
                    if let Some(i) = codes.iter().position(|c| *c == code) {
                        codes.remove(i);
                    } else {
                        codes.push(code);
                    }
                    codes.join(",")
                }
                _ => value,
            };
            Edit::Put(crate::model::custom::CUSTOM.into(), name, value)
        }
    };
    store.edit(id, &[edit])
}

/// The codes of a list, labelled, the current ones selected.
pub(super) fn choices(
    vocab: Vocab,
    current: &[String],
    extra: &[ExtraTerm],
    lang: Lang,
) -> Vec<Choice> {
    vocab
        .terms()
        .iter()
        .map(|t| t.code.to_string())
        .chain(
            extra
                .iter()
                .filter(|t| t.vocab == vocab)
                .map(|t| t.code.clone()),
        )
        // A code from a newer device or another list, held by the person: kept, shown raw.
        .chain(current.iter().cloned())
        .fold(Vec::<String>::new(), |mut codes, code| {
            if !codes.contains(&code) {
                codes.push(code);
            }
            codes
        })
        .into_iter()
        .map(|code| Choice {
            label: label(vocab, &code, extra, lang),
            selected: current.contains(&code),
            code,
        })
        .collect()
}

fn field_label(kind: Kind, field: &str, lang: Lang) -> String {
    let base = field.split('.').next().unwrap_or(field);
    match (lang, kind.field(base)) {
        (Lang::Fr, Ok(spec)) => {
            let mut label = spec.fr.to_string();
            if let Some(first) = label.get(..1) {
                label.replace_range(..1, &first.to_uppercase());
            }
            label
        }
        _ => {
            let mut label = base.replace('_', " ");
            if let Some(first) = label.get(..1) {
                label.replace_range(..1, &first.to_uppercase());
            }
            label
        }
    }
}

/// A value of a field, labelled when it is a code of a list.
fn value_text(
    kind: Kind,
    field: &str,
    value: &crate::Value,
    extra: &[ExtraTerm],
    lang: Lang,
) -> String {
    use crate::model::fields::FieldType;
    let base = field.split('.').next().unwrap_or(field);
    match (kind.field(base).map(|s| &s.ty), value) {
        (Ok(FieldType::Code(vocab) | FieldType::CodeSet(vocab)), crate::Value::Code(code)) => {
            label(*vocab, code, extra, lang)
        }
        (_, crate::Value::Bool(b)) => t(lang, if *b { "yes" } else { "no" }).to_string(),
        _ => value.to_string(),
    }
}

fn change_row(h: &HistoryEntry, extra: &[ExtraTerm], lang: Lang) -> (String, String) {
    // The person's own fields; a field of an action or a referral about them is named as is.
    let kind = Kind::Person;
    if h.creation {
        return (t(lang, "recorded").to_string(), String::new());
    }
    let what = field_label(kind, &h.field, lang);
    // A code added to a set (`needs.health`) says the code; a value written says it.
    let detail = match (&h.new, h.field.split_once('.')) {
        (Some(v), _) => value_text(kind, &h.field, v, extra, lang),
        (None, Some((field, code))) => value_text(
            kind,
            field,
            &crate::Value::Code(code.to_string()),
            extra,
            lang,
        ),
        (None, None) => t(lang, "cleared").to_string(),
    };
    (what, detail)
}

fn journey_rows(steps: &[crate::JourneyStep], extra: &[ExtraTerm], lang: Lang) -> Vec<JourneyRow> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| JourneyRow {
            situation: label(Vocab::Situation, &s.situation, extra, lang),
            days: match s.to {
                Some(to) => format!(
                    "{} {} {} {to}",
                    t(lang, "days_from"),
                    s.from,
                    t(lang, "until")
                ),
                None => format!("{} {}", t(lang, "since_day"), s.from),
            },
            place: s.place.clone().unwrap_or_default(),
            current: i + 1 == steps.len() && s.to.is_none(),
        })
        .collect()
}

fn row(e: &TimelineEntry, extra: &[ExtraTerm], lang: Lang) -> TimelineRow {
    let l =
        |vocab: Vocab, code: &Option<String>| code.as_deref().map(|c| label(vocab, c, extra, lang));
    let join = |parts: Vec<Option<String>>| {
        parts
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let (what, detail) = match &e.item {
        TimelineItem::Encounter {
            place,
            services,
            notes,
            anonymous_count,
            other_persons,
            ..
        } => (
            t(lang, "encounter").to_string(),
            join(vec![
                place.clone(),
                Some(
                    services
                        .iter()
                        .map(|s| label(Vocab::Service, s, extra, lang))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                (*other_persons > 0).then(|| words::with_others(*other_persons, lang)),
                (*anonymous_count > 0).then(|| words::anonymous(*anonymous_count, lang)),
                notes.clone(),
            ]),
        ),
        TimelineItem::Action {
            title,
            status,
            due_at,
            ..
        } => (
            t(lang, "action").to_string(),
            join(vec![
                title.clone(),
                due_at.map(|d| d.to_string()),
                l(Vocab::ActionStatus, status),
            ]),
        ),
        TimelineItem::Referral {
            target,
            target_name,
            status,
            ..
        } => (
            t(lang, "referral").to_string(),
            join(vec![
                l(Vocab::ReferralTarget, target),
                target_name.clone(),
                l(Vocab::ReferralStatus, status),
            ]),
        ),
        TimelineItem::Consent {
            partner,
            category,
            given,
            ..
        } => (
            t(lang, "consent").to_string(),
            join(vec![
                l(Vocab::Partner, partner),
                l(Vocab::ConsentCategory, category),
                given.map(|g| t(lang, if g { "given" } else { "refused" }).to_string()),
            ]),
        ),
        TimelineItem::HealthContact { .. } => {
            (t(lang, "health_contact").to_string(), String::new())
        }
        TimelineItem::Period {
            situation,
            started_on,
            ended_on,
            place,
            ..
        } => (
            t(lang, "period").to_string(),
            join(vec![
                l(Vocab::Situation, situation),
                started_on.map(|d| d.to_string()),
                ended_on.map(|d| format!("{} {d}", t(lang, "until"))),
                place.clone(),
            ]),
        ),
        TimelineItem::Application {
            kind,
            number,
            status,
            ..
        } => (
            t(lang, "application").to_string(),
            join(vec![
                l(Vocab::ApplicationKind, kind),
                number.clone(),
                l(Vocab::ApplicationStatus, status),
            ]),
        ),
        TimelineItem::Home {
            landlord,
            address,
            entered_on,
            left_on,
            ..
        } => (
            t(lang, "home").to_string(),
            join(vec![
                landlord.clone(),
                address.clone(),
                entered_on.map(|d| d.to_string()),
                left_on.map(|d| format!("{} {d}", t(lang, "left_on"))),
            ]),
        ),
        TimelineItem::Risk {
            risk,
            raised_on,
            status,
            ..
        } => (
            t(lang, "risk").to_string(),
            join(vec![
                l(Vocab::RiskKind, risk),
                raised_on.map(|d| d.to_string()),
                l(Vocab::RiskStatus, status),
            ]),
        ),
        TimelineItem::OwnView {
            step,
            on,
            satisfaction,
            ..
        } => (
            t(lang, "own_view").to_string(),
            join(vec![
                l(Vocab::ViewStep, step),
                on.map(|d| d.to_string()),
                satisfaction.map(|s| format!("{} {s}/5", t(lang, "satisfaction"))),
            ]),
        ),
        TimelineItem::Proposal {
            proposed_on,
            outcome,
            ..
        } => (
            t(lang, "proposal").to_string(),
            join(vec![
                proposed_on.map(|d| d.to_string()),
                l(Vocab::ProposalOutcome, outcome),
            ]),
        ),
        TimelineItem::Household {
            relation,
            joined_on,
            left_on,
            ..
        } => (
            t(lang, "household").to_string(),
            join(vec![
                l(Vocab::Relation, relation),
                joined_on.map(|d| d.to_string()),
                left_on.map(|d| format!("{} {d}", t(lang, "left_on"))),
            ]),
        ),
        TimelineItem::Change(h) => change_row(h, extra, lang),
    };
    TimelineRow {
        when: e.at.format("%d/%m %H:%M").to_string(),
        who: e.author.label(),
        what,
        detail,
        clock_off: e.clock_off,
    }
}

/// The person's screen. Its reading is logged when `opened` (the screen just came up), not each
/// time it is shown again after a change made on it (a keystroke in a form is no new reading).
pub(super) fn view(store: &Store, forms: &Forms, opened: bool, lang: Lang) -> Result<PersonView> {
    let id = forms.person;
    let today = store.now().date_naive();
    let extra = store.extra_terms()?;
    let (p, timeline) = if opened {
        (
            store.open_person(id, Via::App)?,
            store.open_timeline(id, Via::App)?,
        )
    } else {
        (store.person(id)?, store.timeline(id)?)
    };
    let l = |vocab: Vocab, code: &str| label(vocab, code, &extra, lang);
    let mut facts = Vec::new();
    let mut fact = |key: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            facts.push(Fact {
                label: t(lang, key).to_string(),
                value,
            });
        }
    };
    fact(
        "situation",
        p.situation.as_deref().map(|s| l(Vocab::Situation, s)),
    );
    fact(
        "needs",
        Some(
            p.needs
                .iter()
                .map(|n| l(Vocab::Need, n))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    );
    fact(
        "alert",
        p.alert_level
            .as_deref()
            .filter(|a| *a != "none")
            .map(|a| l(Vocab::AlertLevel, a)),
    );
    fact("description", p.description.clone());
    fact("phone", p.phone.clone());
    let mut actions: Vec<OpenAction> = timeline
        .iter()
        .filter_map(|e| match &e.item {
            TimelineItem::Action {
                id,
                title,
                status,
                due_at,
                ..
            } if status.as_deref() == Some("todo") => Some(OpenAction {
                id: *id,
                title: title.clone().unwrap_or_default(),
                due: due_at.map(|d| d.to_string()),
                overdue: due_at.is_some_and(|d| d < today),
            }),
            _ => None,
        })
        .collect();
    actions.sort_by(|a, b| (a.due.is_none(), &a.due).cmp(&(b.due.is_none(), &b.due)));
    actions.dedup_by_key(|a| a.id);
    let mut rows: Vec<TimelineRow> = timeline
        .iter()
        .rev()
        .take(ENTRIES)
        .map(|e| row(e, &extra, lang))
        .collect();
    rows.retain(|r| !(r.what.is_empty() && r.detail.is_empty()));
    let custom = custom_controls(store, Kind::Person, &p.custom, lang)?;
    Ok(PersonView {
        id,
        title: p
            .name
            .clone()
            .or_else(|| p.nickname.clone())
            .unwrap_or_else(|| p.display_name()),
        subtitle: p
            .name
            .as_ref()
            .and(p.nickname.clone())
            .into_iter()
            .chain(p.other_names.iter().cloned())
            .collect::<Vec<_>>()
            .join(" · "),
        facts,
        actions_title: t(lang, "open_actions").into(),
        actions,
        conflicts_title: t(lang, "to_settle").into(),
        conflicts: p
            .conflicts
            .iter()
            .map(|f| field_label(Kind::Person, f, lang))
            .collect(),
        timeline_title: t(lang, "timeline").into(),
        timeline: rows,
        situations: choices(
            Vocab::Situation,
            &p.situation.iter().cloned().collect::<Vec<_>>(),
            &extra,
            lang,
        ),
        needs: choices(Vocab::Need, &p.needs, &extra, lang),
        alerts: choices(
            Vocab::AlertLevel,
            &p.alert_level.iter().cloned().collect::<Vec<_>>(),
            &extra,
            lang,
        ),
        description: p.description.clone().unwrap_or_default(),
        phone: p.phone.clone().unwrap_or_default(),
        consent_record: p.consent_record,
        custom_title: t(lang, "custom_fields").into(),
        custom,
        problem: None,
        done: t(lang, "done").into(),
        done_comment_hint: t(lang, "done_comment_hint").into(),
        action_form: person_forms::action_form(&forms.action, &extra, lang),
        referral_form: person_forms::referral_form(&forms.referral, &extra, lang),
        referrals_title: t(lang, "referrals").into(),
        referrals: person_forms::referrals(store, &timeline, &extra, lang)?,
        journey_title: t(lang, "period").into(),
        journey: journey_rows(&store.journey(id)?, &extra, lang),
        back_label: t(lang, "back").into(),
        new_encounter_label: t(lang, "encounter_title").into(),
        situations_label: t(lang, "situation").into(),
        needs_label: t(lang, "needs").into(),
        alerts_label: t(lang, "alert").into(),
        overdue_label: t(lang, "overdue").into(),
        clock_off_label: t(lang, "clock_off").into(),
    })
}

/// The organisation's fields of `kind` as a screen's controls: every field in force, then the
/// values of retired fields and of fields this phone holds no definition of (shown only).
pub(super) fn custom_controls(
    store: &Store,
    kind: Kind,
    values: &std::collections::BTreeMap<String, String>,
    lang: Lang,
) -> Result<Vec<CustomControl>> {
    use crate::model::custom::CustomType;
    let defs = store.custom_fields(Some(kind))?;
    Ok(store
        .custom_values(kind, values, lang)?
        .into_iter()
        .map(|v| {
            let def = defs.iter().find(|d| d.name == v.name);
            let choices = match def {
                Some(def) if def.ty == CustomType::YesNo => ["yes", "no"]
                    .iter()
                    .map(|code| Choice {
                        code: code.to_string(),
                        label: t(lang, code).to_string(),
                        selected: v.raw == *code,
                    })
                    .collect(),
                Some(def) if matches!(def.ty, CustomType::Choice | CustomType::Choices) => def
                    .choices
                    .iter()
                    .map(|c| Choice {
                        code: c.code.clone(),
                        label: def.choice_label(&c.code, lang),
                        selected: v.raw.split(',').any(|held| held == c.code),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            CustomControl {
                field_type: v.ty.map(|t| t.name().to_string()).unwrap_or_default(),
                editable: def.is_some_and(|d| !d.retired),
                name: v.name,
                label: v.label,
                value: v.raw,
                shown: v.value,
                choices,
                problem: v.problem,
            }
        })
        .collect())
}
