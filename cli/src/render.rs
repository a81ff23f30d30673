//! Text output of the command line: short aligned lines with French (or English) labels.

use std::fmt::Write;

use serde::Serialize;

use allervers_core::history::{HistoryEntry, Op};
use allervers_core::vocab::{label, ExtraTerm, Lang, Vocab};
use allervers_core::{
    AccessEntry, Conflict, CustomField, DueAction, Encounter, ImportSummary, Kind, Person,
    PersonSummary, TimelineEntry, TimelineItem, Value,
};

/// The organisation's extra codes of the store this process opened (one store a process).
static EXTRA_TERMS: std::sync::OnceLock<Vec<ExtraTerm>> = std::sync::OnceLock::new();

/// Makes the opened store's extra codes known to the labels below.
pub fn know_extra_terms(terms: Vec<ExtraTerm>) {
    let _ = EXTRA_TERMS.set(terms);
}

/// The organisation's extra codes, as the opened store knows them.
pub(crate) fn extra_terms() -> &'static [ExtraTerm] {
    EXTRA_TERMS.get().map_or(&[], Vec::as_slice)
}

/// The organisation's fields of the store this process opened.
static CUSTOM_FIELDS: std::sync::OnceLock<Vec<CustomField>> = std::sync::OnceLock::new();

/// Makes the opened store's field definitions known to the outputs below.
pub fn know_custom_fields(fields: Vec<CustomField>) {
    let _ = CUSTOM_FIELDS.set(fields);
}

/// The organisation's fields, as the opened store knows them.
pub(crate) fn custom_fields() -> &'static [CustomField] {
    CUSTOM_FIELDS.get().map_or(&[], Vec::as_slice)
}

/// The organisation's fields of `kind` a record holds, as lines: label, value, and what is
/// wrong with a value that does not fit its definition here.
pub(crate) fn custom_lines(
    kind: Kind,
    values: &std::collections::BTreeMap<String, String>,
    lang: Lang,
) -> Vec<(String, String, String)> {
    let defs: Vec<CustomField> = custom_fields()
        .iter()
        .filter(|f| f.kind == kind)
        .cloned()
        .collect();
    allervers_core::model::custom::custom_values(&defs, values, lang)
        .into_iter()
        .filter(|v| !v.raw.is_empty())
        .map(|v| {
            let value = match (&v.problem, v.retired) {
                (Some(problem), _) => format!("{}  ⚠ {problem}", v.value),
                (None, true) => format!("{}  (retired)", v.value),
                (None, false) => v.value,
            };
            (v.label, format!("custom.{}", v.name), value)
        })
        .collect()
}

/// The label of a code: built in, the organisation's, or the code itself.
pub(crate) fn l(vocab: Vocab, code: &str, lang: Lang) -> String {
    label(vocab, code, extra_terms(), lang)
}

pub(crate) fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn codes(vocab: Vocab, list: &[String], lang: Lang) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|c| l(vocab, c, lang))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn persons(list: &[PersonSummary], lang: Lang) -> String {
    if list.is_empty() {
        return "No person found.".into();
    }
    let mut out = String::new();
    for p in list {
        let seen = p
            .last_seen_at
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "never met".into());
        let situation = p
            .situation
            .as_deref()
            .map(|s| l(Vocab::Situation, s, lang))
            .unwrap_or_default();
        let alert = match p.alert_level.as_deref() {
            Some("very_vulnerable") | Some("watch") => format!(
                " [{}]",
                l(
                    Vocab::AlertLevel,
                    p.alert_level.as_deref().unwrap_or_default(),
                    lang
                )
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {:<32} {:<22} {}{}",
            p.id, p.display_name, situation, seen, alert
        );
    }
    out
}

/// The pairs of persons likely to be one, each with what they share.
pub fn duplicates(pairs: &[allervers_core::LikelyDuplicate]) -> String {
    if pairs.is_empty() {
        return "No likely duplicate.".into();
    }
    let mut out = String::new();
    for p in pairs {
        let [a, b] = &p.persons;
        let years = match p.birth_years {
            [Some(x), Some(y)] => format!(", born {x} and {y}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {}\n{}  {}\n    share: {}{years}",
            a.id,
            a.display_name,
            b.id,
            b.display_name,
            p.shared.join(", ")
        );
    }
    out
}

pub fn person(p: &Person, lang: Lang) -> String {
    let mut out = String::new();
    let mark = |field: &str| {
        if p.conflicts
            .iter()
            .any(|c| c == field || c.starts_with(&format!("{field}.")))
        {
            "  ⚠ conflict"
        } else {
            ""
        }
    };
    let _ = writeln!(out, "{}  ({})", p.display_name(), p.id);
    let mut line = |label: &str, field: &str, value: String| {
        let label = match (lang, Kind::Person.field(field)) {
            (Lang::Fr, Ok(spec)) => spec.fr,
            _ => label,
        };
        let _ = writeln!(out, "  {label:<32} {value}{}", mark(field));
    };
    line("name", "name", opt(&p.name).into());
    line("nickname", "nickname", opt(&p.nickname).into());
    line(
        "other names",
        "other_names",
        if p.other_names.is_empty() {
            "-".into()
        } else {
            p.other_names.join(", ")
        },
    );
    line(
        "born",
        "birth_year",
        p.birth_date
            .map(|d| d.to_string())
            .or(p.birth_year.map(|y| y.to_string()))
            .unwrap_or("-".into()),
    );
    line(
        "gender",
        "gender",
        p.gender
            .as_deref()
            .map(|g| l(Vocab::Gender, g, lang))
            .unwrap_or("-".into()),
    );
    line(
        "languages",
        "languages",
        if p.languages.is_empty() {
            "-".into()
        } else {
            p.languages.join(", ")
        },
    );
    line("phone", "phone", opt(&p.phone).into());
    line("description", "description", opt(&p.description).into());
    line(
        "alert level",
        "alert_level",
        p.alert_level
            .as_deref()
            .map(|a| l(Vocab::AlertLevel, a, lang))
            .unwrap_or("-".into()),
    );
    line(
        "situation",
        "situation",
        p.situation
            .as_deref()
            .map(|s| l(Vocab::Situation, s, lang))
            .unwrap_or("-".into()),
    );
    line(
        "on the street since",
        "on_street_since",
        p.on_street_since
            .map(|d| d.to_string())
            .unwrap_or("-".into()),
    );
    line("needs", "needs", codes(Vocab::Need, &p.needs, lang));
    let consent = match (p.consent_record, p.consent_share) {
        (None, None) => "-".to_string(),
        (r, s) => format!(
            "record: {}, share: {} ({} {})",
            r.map_or("?", |b| if b { "yes" } else { "no" }),
            s.map_or("?", |b| if b { "yes" } else { "no" }),
            p.consent_date.map(|d| d.to_string()).unwrap_or_default(),
            opt(&p.consent_by)
        ),
    };
    line("consent", "consent_record", consent);
    line(
        "teams",
        "teams",
        if p.teams.is_empty() {
            "-".into()
        } else {
            p.teams.join(", ")
        },
    );
    line(
        "followed since",
        "followed_since",
        p.followed_since
            .map(|d| d.to_string())
            .unwrap_or("-".into()),
    );
    let status = match (p.status.as_deref(), &p.status_reason) {
        (Some(s), Some(r)) => format!("{} ({r})", l(Vocab::PersonStatus, s, lang)),
        (Some(s), None) => l(Vocab::PersonStatus, s, lang),
        _ => "-".into(),
    };
    line("status", "status", status);
    for (label, path, value) in custom_lines(Kind::Person, &p.custom, lang) {
        line(&label, &path, value);
    }
    if !p.merged.is_empty() {
        let ids: Vec<String> = p.merged.iter().map(|id| id.to_string()).collect();
        let _ = writeln!(
            out,
            "  merged in: {} (`allervers person unmerge ID` undoes it)",
            ids.join(", ")
        );
    }
    if !p.conflicts.is_empty() {
        let _ = writeln!(
            out,
            "  conflicts: {} (see `allervers conflicts`)",
            p.conflicts.join(", ")
        );
    }
    out
}

pub fn encounter(e: &Encounter, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Encounter {}", e.id);
    let _ = writeln!(
        out,
        "  when      {}",
        e.occurred_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or("-".into())
    );
    let _ = writeln!(out, "  where     {}", opt(&e.place));
    let _ = writeln!(
        out,
        "  team      {} ({})",
        opt(&e.team),
        e.workers.join(", ")
    );
    let _ = writeln!(
        out,
        "  persons   {} known, {} anonymous",
        e.persons.len(),
        e.anonymous_count
    );
    let _ = writeln!(
        out,
        "  kind      {}",
        e.kind
            .as_deref()
            .map(|k| l(Vocab::EncounterKind, k, lang))
            .unwrap_or("-".into())
    );
    let _ = writeln!(
        out,
        "  services  {}",
        codes(Vocab::Service, &e.services, lang)
    );
    let _ = writeln!(out, "  notes     {}", opt(&e.notes));
    for (label, path, value) in custom_lines(Kind::Encounter, &e.custom, lang) {
        let _ = writeln!(out, "  {label} ({path})  {value}");
    }
    out
}

pub(crate) fn value_label(field: &str, kind: Kind, value: &Value, lang: Lang) -> String {
    let vocab = kind
        .field(field.split('.').next().unwrap_or(field))
        .ok()
        .and_then(|s| match s.ty {
            allervers_core::FieldType::Code(v)
            | allervers_core::FieldType::CodeList(v)
            | allervers_core::FieldType::CodeSet(v) => Some(v),
            _ => None,
        });
    match (vocab, value) {
        (Some(v), Value::Code(c)) => l(v, c, lang),
        _ => value.to_string(),
    }
}

fn change_line(h: &HistoryEntry, kind: Kind, lang: Lang) -> String {
    let new = h
        .new
        .as_ref()
        .map(|v| value_label(&h.field, kind, v, lang))
        .unwrap_or_default();
    let old = h
        .old
        .iter()
        .map(|v| value_label(&h.field, kind, v, lang))
        .collect::<Vec<_>>()
        .join(" | ");
    match h.op {
        Op::Set if h.old.is_empty() => format!("{}: {new}", h.field),
        Op::Set => format!("{}: {old} -> {new}", h.field),
        Op::Cleared => format!("{}: {old} -> (cleared)", h.field),
        Op::Added => format!("{}: + {new}", h.field),
        Op::Removed => format!("{}: - {new}", h.field),
        Op::Commented => format!("comment: {new}"),
        Op::Resolved => format!("{}: conflict {old} resolved -> {new}", h.field),
    }
}

/// Words of the timeline, in the language asked for.
struct Words {
    encounter: &'static str,
    action: &'static str,
    referral: &'static str,
    consent: &'static str,
    health: &'static str,
    period: &'static str,
    application: &'static str,
    household: &'static str,
    home: &'static str,
    risk: &'static str,
    proposal: &'static str,
    own_view: &'static str,
    created: &'static str,
    changed: &'static str,
}

const FR: Words = Words {
    encounter: "RENCONTRE",
    action: "SUIVI",
    referral: "ORIENTATION",
    consent: "CONSENTEMENT",
    health: "SANTÉ",
    period: "PARCOURS",
    application: "DEMANDE DE LOGEMENT",
    household: "MÉNAGE",
    home: "LOGEMENT",
    risk: "RISQUE LOGEMENT",
    proposal: "PROPOSITION DE LOGEMENT",
    own_view: "PAROLE DE LA PERSONNE",
    created: "FICHE créée",
    changed: "modification",
};

const EN: Words = Words {
    encounter: "ENCOUNTER",
    action: "ACTION",
    referral: "REFERRAL",
    consent: "CONSENT",
    health: "HEALTH",
    period: "JOURNEY",
    application: "HOUSING APPLICATION",
    household: "HOUSEHOLD",
    home: "HOME",
    risk: "RISK TO THE HOME",
    proposal: "HOME PROPOSED",
    own_view: "THE PERSON'S VIEW",
    created: "RECORD created",
    changed: "changed",
};

/// What a timeline entry says, without its kind word: the one wording of the command line and
/// the dashboard.
pub fn describe(item: &TimelineItem, lang: Lang) -> String {
    match item {
        TimelineItem::Encounter {
            place,
            team,
            kind,
            services,
            workers,
            notes,
            anonymous_count,
            other_persons,
            ..
        } => {
            let mut s = format!(
                "{} — {} [{}]",
                kind.as_deref()
                    .map(|k| l(Vocab::EncounterKind, k, lang))
                    .unwrap_or_default(),
                opt(place),
                opt(team)
            );
            if !services.is_empty() {
                let _ = write!(s, " — {}", codes(Vocab::Service, services, lang));
            }
            if !workers.is_empty() {
                let _ = write!(s, " ({})", workers.join(", "));
            }
            if *other_persons > 0 || *anonymous_count > 0 {
                let _ = write!(s, " (+{other_persons} known, +{anonymous_count} anonymous)");
            }
            if let Some(n) = notes {
                let _ = write!(s, " — «{n}»");
            }
            s
        }
        TimelineItem::Action {
            title,
            category,
            status,
            due_at,
            ..
        } => format!(
            "{} ({}) {} — {}",
            opt(title),
            category
                .as_deref()
                .map(|c| l(Vocab::ActionCategory, c, lang))
                .unwrap_or_default(),
            due_at.map(|d| d.to_string()).unwrap_or("-".into()),
            status
                .as_deref()
                .map(|s| l(Vocab::ActionStatus, s, lang))
                .unwrap_or_default()
        ),
        TimelineItem::Referral {
            target,
            target_name,
            status,
            outcome,
            ..
        } => format!(
            "{}{} — {}{}",
            target
                .as_deref()
                .map(|t| l(Vocab::ReferralTarget, t, lang))
                .unwrap_or_default(),
            target_name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            status
                .as_deref()
                .map(|s| l(Vocab::ReferralStatus, s, lang))
                .unwrap_or_default(),
            outcome
                .as_deref()
                .map(|o| format!(": {o}"))
                .unwrap_or_default()
        ),
        TimelineItem::Consent {
            partner,
            category,
            given,
            how,
            ..
        } => {
            let answer = match (given, lang) {
                (Some(true), Lang::Fr) => "donné",
                (Some(true), Lang::En) => "given",
                (_, Lang::Fr) => "refusé",
                (_, Lang::En) => "refused",
            };
            format!(
                "{} / {}: {answer} ({})",
                partner
                    .as_deref()
                    .map(|p| l(Vocab::Partner, p, lang))
                    .unwrap_or_default(),
                category
                    .as_deref()
                    .map(|c| l(Vocab::ConsentCategory, c, lang))
                    .unwrap_or_default(),
                how.as_deref()
                    .map(|h| l(Vocab::ConsentHow, h, lang))
                    .unwrap_or_default()
            )
        }
        TimelineItem::HealthContact { .. } => match lang {
            Lang::Fr => {
                "vu(e) par un professionnel de santé (contenu réservé aux professionnels de santé)"
                    .into()
            }
            Lang::En => {
                "seen by a health professional (content for health professionals only)".into()
            }
        },
        TimelineItem::Period {
            situation,
            started_on,
            ended_on,
            place,
            ..
        } => format!(
            "{} {} → {}{}",
            situation
                .as_deref()
                .map(|s| l(Vocab::Situation, s, lang))
                .unwrap_or_default(),
            started_on.map(|d| d.to_string()).unwrap_or_default(),
            ended_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "…".into()),
            place
                .as_deref()
                .map(|p| format!(" — {p}"))
                .unwrap_or_default()
        ),
        TimelineItem::Application {
            kind,
            number,
            status,
            ..
        } => format!(
            "{}{} — {}",
            kind.as_deref()
                .map(|k| l(Vocab::ApplicationKind, k, lang))
                .unwrap_or_default(),
            number
                .as_deref()
                .map(|n| format!(" n° {n}"))
                .unwrap_or_default(),
            status
                .as_deref()
                .map(|s| l(Vocab::ApplicationStatus, s, lang))
                .unwrap_or_default()
        ),
        TimelineItem::Home {
            landlord,
            address,
            entered_on,
            left_on,
            ..
        } => format!(
            "{} {} {} → {}",
            opt(landlord),
            opt(address),
            entered_on.map(|d| d.to_string()).unwrap_or_default(),
            left_on.map(|d| d.to_string()).unwrap_or_else(|| "…".into()),
        ),
        TimelineItem::Risk {
            risk,
            raised_on,
            status,
            ..
        } => format!(
            "{} {} — {}",
            risk.as_deref()
                .map(|r| l(Vocab::RiskKind, r, lang))
                .unwrap_or_default(),
            raised_on.map(|d| d.to_string()).unwrap_or_default(),
            status
                .as_deref()
                .map(|s| l(Vocab::RiskStatus, s, lang))
                .unwrap_or_default()
        ),
        TimelineItem::OwnView {
            step,
            on,
            satisfaction,
            ..
        } => format!(
            "{} {}{}",
            step.as_deref()
                .map(|s| l(Vocab::ViewStep, s, lang))
                .unwrap_or_default(),
            on.map(|d| d.to_string()).unwrap_or_default(),
            satisfaction
                .map(|s| format!(" — satisfaction {s}/5"))
                .unwrap_or_default()
        ),
        TimelineItem::Proposal {
            offer,
            proposed_on,
            outcome,
            ..
        } => format!(
            "{} {} — {}",
            offer.map(|o| o.to_string()).unwrap_or_default(),
            proposed_on.map(|d| d.to_string()).unwrap_or_default(),
            outcome
                .as_deref()
                .map(|o| l(Vocab::ProposalOutcome, o, lang))
                .unwrap_or_default()
        ),
        TimelineItem::Household {
            household,
            relation,
            joined_on,
            left_on,
            ..
        } => format!(
            "{} {} ({}) {} → {}",
            match lang {
                Lang::Fr => "ménage",
                Lang::En => "household",
            },
            household.map(|h| h.to_string()).unwrap_or_default(),
            relation
                .as_deref()
                .map(|r| l(Vocab::Relation, r, lang))
                .unwrap_or_default(),
            joined_on.map(|d| d.to_string()).unwrap_or_default(),
            left_on.map(|d| d.to_string()).unwrap_or_else(|| "…".into()),
        ),
        TimelineItem::Change(h) => {
            let kind = if h.field == "outcome" || h.field == "target" {
                Kind::Referral
            } else {
                Kind::Person
            };
            change_line(h, kind, lang)
        }
    }
}

/// The kind word of a timeline entry; `created` for the person's own creation.
pub fn kind_word(
    item: &TimelineItem,
    person: allervers_core::RecordId,
    lang: Lang,
) -> &'static str {
    let w = match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    };
    match item {
        TimelineItem::Encounter { .. } => w.encounter,
        TimelineItem::Action { .. } => w.action,
        TimelineItem::Referral { .. } => w.referral,
        TimelineItem::Consent { .. } => w.consent,
        TimelineItem::HealthContact { .. } => w.health,
        TimelineItem::Period { .. } => w.period,
        TimelineItem::Application { .. } => w.application,
        TimelineItem::Household { .. } => w.household,
        TimelineItem::Home { .. } => w.home,
        TimelineItem::Risk { .. } => w.risk,
        TimelineItem::Proposal { .. } => w.proposal,
        TimelineItem::OwnView { .. } => w.own_view,
        TimelineItem::Change(h) if h.creation && h.record_id == person => w.created,
        TimelineItem::Change(_) => w.changed,
    }
}

/// Whether an entry is one of the person's creation fields after the first (shown once).
pub fn repeated_creation(
    item: &TimelineItem,
    person: allervers_core::RecordId,
    shown: &mut bool,
) -> bool {
    match item {
        TimelineItem::Change(h) if h.creation && h.record_id == person => {
            std::mem::replace(shown, true)
        }
        _ => false,
    }
}

pub fn timeline(p: &Person, entries: &[TimelineEntry], lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Timeline of {} ({})", p.display_name(), p.id);
    let mut creation_shown = false;
    for e in entries {
        if repeated_creation(&e.item, p.id, &mut creation_shown) {
            continue;
        }
        let text = match &e.item {
            TimelineItem::Change(h) if h.creation && h.record_id == p.id => String::new(),
            item => describe(item, lang),
        };
        let relay = e
            .relay_at
            .map(|r| format!("  [relais {}]", r.format("%Y-%m-%d %H:%M")))
            .unwrap_or_default();
        let clock = if e.clock_off {
            "  ⚠ horloge de l'appareil décalée"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{}  {:<28} {} {text}{relay}{clock}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.author.label(),
            kind_word(&e.item, p.id, lang)
        );
    }
    out
}

pub fn history(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "No change.".into();
    }
    let mut out = String::new();
    for h in entries {
        let _ = writeln!(
            out,
            "{}  {:<28} {}{}",
            h.at.format("%Y-%m-%d %H:%M:%S"),
            h.author.label(),
            if h.creation { "(creation) " } else { "" },
            change_line(h, Kind::Person, Lang::En)
        );
    }
    out
}

pub fn conflicts(list: &[Conflict], lang: Lang) -> String {
    if list.is_empty() {
        return "No conflict.".into();
    }
    let mut out = String::new();
    for c in list {
        let _ = writeln!(
            out,
            "{} {} ({}) — field {} (since {})",
            c.kind.name(),
            c.record_id,
            c.record_label,
            c.field,
            c.since.format("%Y-%m-%d %H:%M")
        );
        for v in &c.values {
            let _ = writeln!(
                out,
                "    {:<24} by {} at {}",
                value_label(&c.field, c.kind, &v.value, lang),
                v.author.label(),
                v.at.format("%Y-%m-%d %H:%M")
            );
        }
        let _ = writeln!(
            out,
            "    resolve: allervers resolve {} {} VALUE",
            c.record_id, c.field
        );
    }
    out
}

pub fn due(list: &[DueAction], lang: Lang) -> String {
    if list.is_empty() {
        return "Nothing due.".into();
    }
    let mut out = String::new();
    for a in list {
        let _ = writeln!(
            out,
            "{}  {}{}  {:<28} {} ({})  {}",
            a.due_at.map(|d| d.to_string()).unwrap_or_default(),
            if a.overdue { "EN RETARD " } else { "" },
            a.id,
            a.person_name.as_deref().unwrap_or("-"),
            a.title.as_deref().unwrap_or("-"),
            a.category
                .as_deref()
                .map(|c| l(Vocab::ActionCategory, c, lang))
                .unwrap_or_default(),
            a.assigned_to.as_deref().unwrap_or("")
        );
    }
    out
}

pub fn import(s: &ImportSummary) -> String {
    let mut out = format!(
        "Imported {} new changes into {} records ({} already known), {} new conflicts",
        s.new_changes, s.records, s.known_changes, s.new_conflicts
    );
    if s.waiting > 0 {
        let _ = write!(out, "; {} changes wait for earlier ones", s.waiting);
    }
    out
}

pub fn report(r: &allervers_core::report::Report, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Activity report {} to {}{} (previous period {} to {})",
        r.from,
        r.to,
        r.team
            .as_deref()
            .map(|t| format!(", team {t}"))
            .unwrap_or_default(),
        r.previous_from,
        r.previous_to
    );
    for section in r.sections_with_fields(lang, extra_terms(), custom_fields()) {
        let _ = writeln!(out, "{}", section.title);
        for line in &section.lines {
            let _ = writeln!(
                out,
                "  {:<44} {:>7}   (before: {})",
                line.label, line.figure.current, line.figure.previous
            );
        }
    }
    out
}

/// One code of a code list, as `allervers code list` shows it.
#[derive(Serialize)]
pub struct CodeRow {
    pub list: &'static str,
    pub code: String,
    pub fr: String,
    pub en: String,
    /// Added by the organisation (kept in the space's roster), not built in.
    pub organisation: bool,
}

impl CodeRow {
    pub fn all(lists: &[Vocab], extra: &[ExtraTerm]) -> Vec<CodeRow> {
        let mut rows = Vec::new();
        for &list in lists {
            rows.extend(list.terms().iter().map(|t| CodeRow {
                list: list.name(),
                code: t.code.into(),
                fr: t.fr.into(),
                en: t.en.into(),
                organisation: false,
            }));
            let mut own: Vec<_> = extra.iter().filter(|t| t.vocab == list).collect();
            own.sort_by(|a, b| a.code.cmp(&b.code));
            rows.extend(own.into_iter().map(|t| CodeRow {
                list: list.name(),
                code: t.code.clone(),
                fr: t.fr.clone(),
                en: t.en.clone(),
                organisation: true,
            }));
        }
        rows
    }
}

pub fn code_list(rows: &[CodeRow], lang: Lang) -> String {
    let mut out = String::new();
    let mut list = "";
    for r in rows {
        if r.list != list {
            list = r.list;
            let _ = writeln!(out, "{list}:");
        }
        let shown = match lang {
            Lang::Fr => &r.fr,
            Lang::En => &r.en,
        };
        let _ = writeln!(
            out,
            "  {:<24} {}{}",
            r.code,
            shown,
            if r.organisation {
                "  (organisation)"
            } else {
                ""
            }
        );
    }
    out
}

/// An access-log entry with the name of the person it is about, when this store holds them.
#[derive(Serialize)]
pub struct AccessRow {
    #[serde(flatten)]
    pub entry: AccessEntry,
    pub person_name: Option<String>,
}

/// The access log's entries with the names of the persons they are about, when this store
/// holds them (read without logging: a coordinator reading the log reads no file).
pub fn access_rows(store: &allervers_core::Store, entries: Vec<AccessEntry>) -> Vec<AccessRow> {
    let mut names = std::collections::HashMap::new();
    entries
        .into_iter()
        .map(|entry| {
            let person_name = entry.person.and_then(|id| {
                names
                    .entry(id)
                    .or_insert_with(|| store.person(id).ok().map(|p| p.display_name()))
                    .clone()
            });
            AccessRow { entry, person_name }
        })
        .collect()
}

/// Where a read was made, in words.
pub fn via_word(via: &str, lang: Lang) -> String {
    let (fr, en) = match via {
        "cli" => ("ligne de commande", "command line"),
        "dashboard" => ("tableau de bord", "dashboard"),
        "app" => ("application", "app"),
        other => (other, other),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
    .to_string()
}

/// What an access-log entry records, in words: what was read, or which export.
pub fn access_what(e: &AccessEntry, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    match e.what.as_str() {
        "person" => if fr {
            "fiche consultée"
        } else {
            "file opened"
        }
        .into(),
        "timeline" => if fr {
            "historique consulté"
        } else {
            "timeline read"
        }
        .into(),
        "dossier" => if fr {
            "dossier établi"
        } else {
            "dossier written"
        }
        .into(),
        "export" => {
            let period = match (e.from, e.to) {
                (Some(f), Some(t)) => format!(" {f} – {t}"),
                _ => String::new(),
            };
            let pseudo = match (e.pseudonymised, fr) {
                (Some(true), true) => " (pseudonymisé)",
                (Some(true), false) => " (pseudonymised)",
                (_, true) => " (nominatif)",
                (_, false) => " (with names)",
            };
            format!(
                "{} {}{period}{pseudo}",
                if fr { "export" } else { "export of" },
                e.export_kind.as_deref().unwrap_or("?")
            )
        }
        "publication" => {
            let categories: Vec<String> = e
                .categories
                .iter()
                .map(|c| l(Vocab::ConsentCategory, c, lang))
                .collect();
            format!(
                "{} {}: {}",
                if fr { "publié à" } else { "published to" },
                e.partner
                    .as_deref()
                    .map(|p| l(Vocab::Partner, p, lang))
                    .unwrap_or_default(),
                categories.join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// The access log as text, one line an entry.
pub fn access_log(rows: &[AccessRow], lang: Lang) -> String {
    if rows.is_empty() {
        return match lang {
            Lang::Fr => "Aucune consultation ni export enregistré.",
            Lang::En => "No read or export recorded.",
        }
        .into();
    }
    let mut out = String::new();
    for r in rows {
        let e = &r.entry;
        let device = e.device_label();
        let about = match (&e.person, &r.person_name) {
            (Some(id), Some(name)) => format!("  {name} ({id})"),
            (Some(id), None) => format!("  {id}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {:<28} {}{about}  [{}]",
            e.at.format("%Y-%m-%d %H:%M"),
            format!("{} ({device})", e.worker),
            access_what(e, lang),
            via_word(&e.via, lang)
        );
    }
    out
}
