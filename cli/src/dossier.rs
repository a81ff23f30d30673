//! The person's dossier as a readable document: one self-contained HTML page in French (its
//! print style inside it, no script, no outside resource), every value escaped with the
//! dashboard's `esc`. `allervers person dossier` writes it beside its JSON; the dashboard
//! serves it as a download.

use std::fmt::Write;

use allervers_core::dossier::{Dossier, DossierField, DossierValue};
use allervers_core::history::HistoryEntry;
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{Kind, TimelineItem};

use crate::dashboard::html::esc;
use crate::render::{access_what, describe, kind_word, repeated_creation, value_label, via_word};

/// The page's style, for the screen and for print (sections kept whole across pages where
/// they fit, links printed as text).
const STYLE: &str = "body { font-family: system-ui, sans-serif; color: #1d2733; margin: 2em auto; max-width: 60em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #1d3b5a; margin-top: 2em; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; } td, th { border-bottom: 1px solid #dde3ea; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #f2f5f8; } .conflict { color: #a0380e; } .meta { color: #4a5866; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { page-break-after: avoid; } tr, .record { page-break-inside: avoid; } th { background: none; } }
";

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// A value as the page shows it: its French label when it has one (the code stays in the JSON).
fn value_text(v: &DossierValue) -> String {
    v.label.clone().unwrap_or_else(|| v.value.clone())
}

fn fields_table(out: &mut String, fields: &[DossierField]) {
    out.push_str("<table><tr><th>Champ</th><th>Valeur</th></tr>");
    for f in fields {
        let values = f
            .values
            .iter()
            .map(|v| esc(&value_text(v)))
            .collect::<Vec<_>>()
            .join("<br>");
        let conflict = if f.conflict.is_empty() {
            String::new()
        } else {
            format!(
                r#"<br><span class="conflict">Valeurs concurrentes (conflit non résolu) : {}</span>"#,
                f.conflict
                    .iter()
                    .map(|v| esc(&value_text(v)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        };
        let _ = write!(
            out,
            r#"<tr data-field="{}"><td>{}</td><td>{}{conflict}</td></tr>"#,
            esc(&f.field),
            esc(&f.label),
            if values.is_empty() {
                "—".into()
            } else {
                values
            },
        );
    }
    out.push_str("</table>");
}

fn field_label(kind: Kind, field: &str) -> String {
    let name = field.split('.').next().unwrap_or(field);
    match kind.field(name) {
        Ok(spec) if name == field => spec.fr.to_string(),
        Ok(spec) => format!("{} ({})", spec.fr, &field[name.len() + 1..]),
        Err(_) => field.to_string(),
    }
}

/// A value of a history entry in French: a code's label, yes and no as oui and non.
fn french(field: &str, kind: Kind, value: &allervers_core::Value) -> String {
    match value {
        allervers_core::Value::Bool(true) => "oui".into(),
        allervers_core::Value::Bool(false) => "non".into(),
        v => value_label(field, kind, v, Lang::Fr),
    }
}

fn history_table(out: &mut String, kind: Kind, history: &[HistoryEntry]) {
    if history.is_empty() {
        out.push_str("<p>Aucune modification.</p>");
        return;
    }
    out.push_str(
        "<table><tr><th>Quand</th><th>Qui (appareil)</th><th>Champ</th><th>Avant</th><th>Après</th></tr>",
    );
    for h in history {
        let old = h
            .old
            .iter()
            .map(|v| french(&h.field, kind, v))
            .collect::<Vec<_>>()
            .join(" | ");
        let new = h
            .new
            .as_ref()
            .map(|v| french(&h.field, kind, v))
            .unwrap_or_else(|| "(effacé)".into());
        let op = match h.op {
            allervers_core::Op::Set if h.creation => " (création)",
            allervers_core::Op::Added => " (ajout)",
            allervers_core::Op::Removed => " (retrait)",
            allervers_core::Op::Commented => " (commentaire)",
            allervers_core::Op::Resolved => " (conflit résolu)",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr><td>{}{}</td><td>{}</td><td>{}{op}</td><td>{}</td><td>{}</td></tr>",
            when(&h.at),
            h.relay_at
                .map(|r| format!("<br><small>relais {}</small>", when(&r)))
                .unwrap_or_default(),
            esc(&h.author.label()),
            esc(&field_label(kind, &h.field)),
            esc(&old),
            esc(&new),
        );
    }
    out.push_str("</table>");
}

/// The dossier as one self-contained HTML page, in French.
pub fn html(d: &Dossier) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Dossier de {name}</title>
<style>{STYLE}</style></head><body>
<h1>Dossier de {name}</h1>
<p class="meta">Tout ce que cet appareil détient sur cette personne, établi au titre du droit d'accès (article 15 du RGPD) le {at} UTC par {by} ({device}). Identifiant de la fiche : {id}.</p>
"#,
        name = esc(&d.display_name),
        at = when(&d.generated_at),
        by = esc(&d.generated_by),
        device = esc(&d.device),
        id = d.person,
    );

    sections(&mut out, d);
    for m in &d.merged {
        let _ = write!(
            out,
            r#"<hr><h1 class="merged">Fiche fusionnée dans celle-ci : {name} ({id})</h1>"#,
            name = esc(&m.display_name),
            id = m.person,
        );
        sections(&mut out, m);
    }
    out.push_str("</body></html>\n");
    out
}

/// Every part of one record's dossier.
fn sections(out: &mut String, d: &Dossier) {
    out.push_str(r#"<h2 id="identite">Identité et situation</h2>"#);
    fields_table(out, &d.identity);

    out.push_str(r#"<h2 id="consentement">Consentement</h2>"#);
    fields_table(out, &d.consent.fields);
    out.push_str("<h3>Historique du consentement</h3>");
    history_table(out, Kind::Person, &d.consent.history);

    out.push_str(r#"<h2 id="historique">Historique des passages</h2>"#);
    if d.timeline.is_empty() {
        out.push_str("<p>Aucun passage.</p>");
    } else {
        out.push_str("<table><tr><th>Quand</th><th>Qui (appareil)</th><th>Quoi</th><th></th></tr>");
        let mut creation_shown = false;
        for e in &d.timeline {
            if repeated_creation(&e.item, d.person, &mut creation_shown) {
                continue;
            }
            let text = match &e.item {
                TimelineItem::Change(h) if h.creation && h.record_id == d.person => String::new(),
                item => describe(item, Lang::Fr),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                when(&e.at),
                esc(&e.author.label()),
                esc(kind_word(&e.item, d.person, Lang::Fr)),
                esc(&text),
            );
        }
        out.push_str("</table>");
    }

    out.push_str(r#"<h2 id="rencontres">Rencontres</h2>"#);
    if d.encounters.is_empty() {
        out.push_str("<p>Aucune rencontre.</p>");
    }
    for e in &d.encounters {
        let _ = write!(
            out,
            r#"<div class="record" id="e-{id}"><h3>Rencontre {id}</h3>"#,
            id = e.id
        );
        fields_table(out, &e.fields);
        if e.other_persons > 0 {
            let _ = write!(
                out,
                "<p>Autre(s) personne(s) rencontrée(s) en même temps : {} (non nommée(s) ici).</p>",
                e.other_persons
            );
        }
        out.push_str("<h4>Modifications</h4>");
        history_table(out, Kind::Encounter, &e.history);
        out.push_str("</div>");
    }

    out.push_str(r#"<h2 id="parcours">Parcours vers le logement</h2>"#);
    if d.journey.is_empty() {
        out.push_str("<p>Aucune période.</p>");
    } else {
        out.push_str(
            "<table><tr><th>Situation</th><th>Du</th><th>Au</th><th>Lieu</th><th>Fin</th></tr>",
        );
        for s in &d.journey {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&crate::render::l(
                    allervers_core::vocab::Vocab::Situation,
                    &s.situation,
                    allervers_core::vocab::Lang::Fr
                )),
                s.from,
                s.to.map(|d| d.to_string()).unwrap_or_default(),
                esc(s.place.as_deref().unwrap_or_default()),
                esc(&s
                    .end_reason
                    .as_deref()
                    .map(|r| crate::render::l(
                        allervers_core::vocab::Vocab::PeriodEnd,
                        r,
                        allervers_core::vocab::Lang::Fr
                    ))
                    .unwrap_or_default()),
            );
        }
        out.push_str("</table>");
    }

    for (title, anchor, records) in [
        ("Suivis", "suivis", &d.actions),
        ("Orientations", "orientations", &d.referrals),
        (
            "Ménage, parcours, demandes et logement",
            "logement",
            &d.housing,
        ),
    ] {
        let _ = write!(out, r#"<h2 id="{anchor}">{title}</h2>"#);
        if records.is_empty() {
            out.push_str("<p>Aucun.</p>");
        }
        for r in records {
            let _ = write!(
                out,
                r#"<div class="record" id="r-{id}"><h3>{word} {id}</h3>"#,
                id = r.id,
                word = match r.kind {
                    Kind::Action => "Suivi",
                    Kind::Referral => "Orientation",
                    Kind::HouseholdMember => "Appartenance à un ménage",
                    Kind::JourneyPeriod => "Période du parcours",
                    Kind::HousingApplication => "Demande de logement",
                    Kind::Home => "Logement",
                    Kind::RiskSignal => "Risque pour le logement",
                    Kind::Proposal => "Proposition de logement",
                    Kind::OwnView => "Parole de la personne",
                    _ => "Fiche",
                },
            );
            fields_table(out, &r.fields);
            if !r.comments.is_empty() {
                out.push_str("<h4>Commentaires</h4><table><tr><th>Quand</th><th>Qui</th><th>Commentaire</th></tr>");
                for c in &r.comments {
                    let _ = write!(
                        out,
                        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                        when(&c.at),
                        esc(&c.by),
                        esc(&c.text)
                    );
                }
                out.push_str("</table>");
            }
            out.push_str("<h4>Modifications</h4>");
            history_table(out, r.kind, &r.history);
            out.push_str("</div>");
        }
    }

    out.push_str(r#"<h2 id="modifications">Historique des modifications de la fiche</h2>"#);
    history_table(out, Kind::Person, &d.history);

    let _ = write!(out, r#"<h2 id="sante">Suivi santé</h2>"#);
    if d.health.contacts.is_empty() {
        out.push_str("<p>Aucun contact avec un professionnel de santé de l'équipe.</p>");
    } else {
        let days: Vec<String> = d.health.contacts.iter().map(|d| d.to_string()).collect();
        let _ = write!(
            out,
            "<p>Vu(e) par un professionnel de santé de l'équipe le : {}.</p>",
            esc(&days.join(", "))
        );
    }
    let _ = write!(out, "<p>{}</p>", esc(&d.health.note));

    let _ = write!(
        out,
        r#"<h2 id="partages">Partages</h2><p>{}</p>"#,
        esc(&d.sharing.note)
    );
    if !d.sharing.partners.is_empty() {
        out.push_str("<ul>");
        for p in &d.sharing.partners {
            let _ = write!(
                out,
                "<li>{} — {} : {}</li>",
                esc(&p.at.format("%Y-%m-%d %H:%M").to_string()),
                esc(&crate::render::l(Vocab::Partner, &p.partner, Lang::Fr)),
                esc(&p
                    .what
                    .split(',')
                    .map(|c| crate::render::l(Vocab::ConsentCategory, c, Lang::Fr))
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
        out.push_str("</ul>");
    }

    out.push_str(r#"<h2 id="consultations">Consultations et exports</h2>"#);
    access_table(out, &d.access_log, "Aucune consultation enregistrée.");
    out.push_str("<h3>Exports dont la période couvre un de ses passages</h3>");
    access_table(out, &d.exports, "Aucun export.");
}

/// Access-log entries as a table, or `none` when there are none.
fn access_table(out: &mut String, entries: &[allervers_core::AccessEntry], none: &str) {
    if entries.is_empty() {
        let _ = write!(out, "<p>{none}</p>");
        return;
    }
    out.push_str("<table><tr><th>Quand</th><th>Qui (appareil)</th><th>Quoi</th><th>Par</th></tr>");
    for e in entries {
        let device = e
            .device_name
            .clone()
            .unwrap_or_else(|| e.device.chars().take(8).collect());
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(&e.at),
            esc(&format!("{} ({device})", e.worker)),
            esc(&access_what(e, Lang::Fr)),
            esc(&via_word(&e.via, Lang::Fr)),
        );
    }
    out.push_str("</table>");
}
