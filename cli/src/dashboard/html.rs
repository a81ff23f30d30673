//! Server-rendered pages of the dashboard: plain HTML with every value escaped, bar charts as
//! inline SVG, French labels by default and English on demand. No script, and no inline style:
//! the style sheet is a file of its own (`STYLE`, served as `/style.css`).

use std::fmt::Write;

use allervers_core::report::{Figure, Report};
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{Conflict, LikelyDuplicate, RetentionReview, TimelineEntry, TimelineItem};

use crate::render::{access_what, l, via_word, AccessRow};
use allervers_core::{
    Application, Concerns, HomeAtRisk, HouseholdSummary, HouseholdView, JourneyStep, OfferSummary,
    OfferView, Person, PersonSummary,
};

/// The pages' style sheet, served as `/style.css`: the Content-Security-Policy lets no inline
/// style or script run, so nothing is inlined.
pub const STYLE: &str = "body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; }
nav { background: #1d3b5a; padding: .6em 1em; } nav a { color: #fff; margin-right: 1.2em; text-decoration: none; }
main { padding: 1em 1.5em; max-width: 72em; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #dde3ea; padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #f2f5f8; } .num { text-align: right; } .warn { color: #a0380e; font-weight: bold; }
.chip { display: inline-block; background: #eef2f6; border-radius: .3em; padding: 0 .4em; margin: 0 .2em .2em 0; }
form.inline { display: inline; } button { cursor: pointer; }
#erase { margin-top: 2em; } button.danger { background: #a4262c; color: #fff; border: 0; padding: 0.3em 0.8em; }
ol.journey { display: flex; list-style: none; padding: 0; gap: .3em; overflow-x: auto; }
ol.journey li { flex: 1 0 9em; border-top: .5em solid #98a6b5; padding: .3em .5em; background: #f7f9fb; }
ol.journey li.street { border-color: #a0380e; } ol.journey li.shelter { border-color: #c79a1b; }
ol.journey li.housing { border-color: #2d7a3a; } ol.journey small { color: #5a6b7d; }
";

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The words of the pages.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let (fr, en) = match key {
        "persons" => ("Personnes", "Persons"),
        "journey" => ("Parcours vers le logement", "Journey to a home"),
        "no_period" => ("Aucune période connue.", "No period known."),
        "household_word" => ("ménage", "household"),
        "from_changes" => ("d'après les changements de situation", "from the situation's changes"),
        "households" => ("Ménages", "Households"),
        "homes_at_risk" => ("Logements en risque", "Homes at risk"),
        "no_home_at_risk" => ("Aucun logement en risque.", "No home at risk."),
        "risks" => ("Risques", "Risks"),
        "address" => ("Adresse", "Address"),
        "offers" => ("Offres de logement", "Housing offers"),
        "no_offer" => ("Aucune offre ouverte.", "No open offer."),
        "home_kind" => ("Logement", "Home"),
        "rent" => ("Loyer", "Rent"),
        "area" => ("Secteur", "Area"),
        "could_suit" => ("Pourrait convenir à", "Could suit"),
        "proposals" => ("Propositions", "Proposals"),
        "waiting_since" => ("Demande depuis le", "Applied on"),
        "needs_accessible" => ("logement accessible", "accessible home"),
        "no_household" => ("Aucun ménage.", "No household."),
        "members" => ("Membres", "Members"),
        "relation" => ("Lien", "Relation"),
        "joined" => ("Arrivée", "Joined"),
        "left" => ("Départ", "Left"),
        "size" => ("Taille", "Size"),
        "with_children" => ("avec enfants", "with children"),
        "pets" => ("Animaux", "Pets"),
        "applications" => ("Demandes de logement", "Housing applications"),
        "no_application" => ("Aucune demande.", "No application."),
        "number" => ("Numéro", "Number"),
        "filed" => ("Déposée le", "Filed on"),
        "conflicts" => ("Conflits", "Conflicts"),
        "duplicates" => ("Doublons", "Duplicates"),
        "no_duplicate" => ("Aucun doublon probable.", "No likely duplicate."),
        "shared_names" => ("Noms en commun", "Shared names"),
        "keep_merge" => ("Garder cette fiche, y fusionner l'autre", "Keep this one, merge the other into it"),
        "merged_in" => ("Fiches fusionnées dans celle-ci", "Records merged into this one"),
        "unmerge" => ("Défaire la fusion", "Unmerge"),
        "report" => ("Rapport d'activité", "Activity report"),
        "search" => ("Rechercher", "Search"),
        "name" => ("Nom", "Name"),
        "situation" => ("Situation", "Situation"),
        "last_seen" => ("Dernière rencontre", "Last seen"),
        "never" => ("jamais", "never"),
        "timeline" => ("Historique des passages", "Visit history"),
        "when" => ("Quand", "When"),
        "who" => ("Qui (appareil)", "Who (device)"),
        "what" => ("Quoi", "What"),
        "relay_time" => ("Heure du relais", "Relay time"),
        "clock_off" => ("horloge de l'appareil décalée", "device clock off"),
        "no_conflict" => ("Aucun conflit.", "No conflict."),
        "field" => ("Champ", "Field"),
        "choose" => ("Choisir", "Choose"),
        "since" => ("depuis", "since"),
        "from" => ("Du", "From"),
        "to" => ("au", "to"),
        "team" => ("Équipe", "Team"),
        "all_teams" => ("toutes", "all"),
        "show" => ("Afficher", "Show"),
        "current" => ("Période", "Period"),
        "previous" => ("Période précédente", "Previous period"),
        "language" => ("English", "Français"),
        "access_log" => ("Consultations", "Access log"),
        "access_about" => (
            "Consultations et exports de cette fiche",
            "Reads and exports of this file",
        ),
        "access_reserved" => (
            "Le journal des consultations est réservé aux coordinateurs.",
            "The access log is for coordinators only.",
        ),
        "no_access" => ("Aucune consultation enregistrée.", "No read recorded."),
        "dossier" => (
            "Télécharger le dossier de la personne (HTML)",
            "Download the person's dossier (HTML)",
        ),
        "person" => ("Personne (identifiant)", "Person (id)"),
        "worker" => ("Intervenant", "Worker"),
        "via" => ("Par", "Through"),
        "retention" => ("Revue de conservation", "Retention review"),
        "retention_intro" => (
            "Personnes sans contact depuis la durée de conservation de l'organisation, la plus ancienne d'abord. Conserver un dossier demande un motif, inscrit dans son historique ; l'effacer se fait avec « allervers person erase ».",
            "Persons with no contact for the organisation's retention period, oldest first. Keeping a file takes a reason, written in its history; erasing it is done with \"allervers person erase\".",
        ),
        "retention_none" => ("Aucune personne à revoir.", "No person to review."),
        "period" => ("Durée de conservation (mois)", "Retention period (months)"),
        "last_contact" => ("Dernier contact", "Last contact"),
        "never_met" => ("jamais rencontrée, enregistrée le", "never met, recorded"),
        "kept_on" => ("conservé le", "kept on"),
        "months_ago" => ("mois", "months"),
        "reason" => ("Motif", "Reason"),
        "keep" => ("Conserver", "Keep"),
        "erase" => ("Effacer ce dossier", "Erase this file"),
        "erase_what" => (
            "La personne, ses rencontres, actions, orientations et consentements seront effacés de chaque appareil de l'équipe et du relais (les rencontres partagées sont recréées sans elle, sans leurs notes), à la prochaine synchronisation. C'est définitif.",
            "The person, their encounters, actions, referrals and consents will be erased from every device of the team and from the relay (shared encounters are re-issued without them, without their notes), at the next sync. This cannot be undone.",
        ),
        "erase_reason" => ("Motif (sans nom)", "Reason (no name)"),
        "confirm_erase" => ("Je confirme l'effacement", "I confirm the erasure"),
        "health" => ("Santé", "Health"),
        "health_followup" => (
            "Suivi santé (réservé aux professionnels de santé)",
            "Health follow-up (health professionals only)",
        ),
        "health_notes" => ("Notes de santé", "Health notes"),
        "no_health_note" => ("Aucune note de santé.", "No health note."),
        "health_details" => ("Informations de santé", "Health details"),
        "conditions" => ("Problèmes de santé connus", "Known conditions"),
        "treatments" => ("Traitements", "Treatments"),
        "allergies" => ("Allergies", "Allergies"),
        "care_team" => ("Médecin traitant, équipe de soins", "Care team"),
        "day" => ("Jour", "Day"),
        "category" => ("Catégorie", "Category"),
        "professional" => ("Professionnel", "Professional"),
        "note" => ("Note", "Note"),
        "next_step" => ("Suite", "Follow-up"),
        "partnerships" => ("Partenariats", "Partnerships"),
        "no_partnership" => ("Aucun partenariat.", "No partnership."),
        "projections" => ("Personnes partagées", "Persons shared"),
        "categories" => ("Catégories partagées", "Categories shared"),
        "erasure_orders" => ("Demandes d'effacement", "Erasure requests"),
        "no_erasure_order" => ("Aucune demande d'effacement.", "No erasure request."),
        "unposted" => (
            "demande(s) pas encore envoyée(s) : allervers sync",
            "request(s) not sent yet: allervers sync",
        ),
        "order" => ("Demande", "Request"),
        "status" => ("État", "Status"),
        "acknowledged_by" => ("Exécutée et confirmée par", "Carried out and acknowledged by"),
        "waiting_for" => ("En attente de", "Waiting for"),
        "shared_persons" => ("Personnes partagées", "Persons shared"),
        "shared_intro" => (
            "Ce que chaque personne a consenti à partager avec votre structure, et rien d'autre.",
            "What each person consented to share with your organisation, and nothing else.",
        ),
        "no_projection" => ("Aucune personne partagée.", "No person shared."),
        "identity_not_shared" => ("(identité non partagée)", "(identity not shared)"),
        "shared_fields" => ("Ce qui est partagé", "What is shared"),
        "assessment" => ("Évaluation partagée", "Shared assessment"),
        "assessment_intro" => (
            "Écrite par les deux structures, avec la personne et dans ses mots.",
            "Written by both organisations, with the person and in their own words.",
        ),
        "no_assessment" => (
            "La personne n'a pas consenti à partager une évaluation.",
            "The person did not consent to share an assessment.",
        ),
        "needs" => ("Besoins", "Needs"),
        "resources" => ("Ressources", "Resources"),
        "autonomy" => ("Autonomie", "Autonomy"),
        "housing_sought" => ("Solution de logement recherchée", "Housing solution sought"),
        "own_words" => ("Dans les mots de la personne", "In the person's own words"),
        "save" => ("Enregistrer", "Save"),
        "not_found" => ("Page introuvable", "Page not found"),
        "not_found_why" => (
            "Cette page n'existe pas sur le tableau de bord de cet appareil : il ne montre que ce que son rôle peut voir.",
            "This page does not exist on this device's dashboard: it shows only what its role may see.",
        ),
        "nickname" => ("Surnom", "Nickname"),
        "other_names" => ("Autres noms", "Other names"),
        "birth_year" => ("Année de naissance", "Birth year"),
        "gender" => ("Genre", "Gender"),
        "languages" => ("Langues", "Languages"),
        "phone" => ("Téléphone", "Phone"),
        "on_street_since" => ("À la rue depuis", "On the street since"),
        "referrals" => ("Orientations", "Referrals"),
        "housing_actions" => ("Démarches logement", "Housing steps"),
        "history" => ("Historique", "History"),
        "published_reports" => ("Rapports publiés", "Published reports"),
        "published_at" => ("Publié le", "Published on"),
        "no_published" => ("Aucun rapport publié.", "No report published yet."),
        _ => ("?", "?"),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// A whole page: the navigation (`links`, each an address and its label, then the other
/// language), then `body` under `title`.
pub fn page(lang: Lang, links: &[(&str, &str)], title: &str, body: &str) -> String {
    let other = match lang {
        Lang::Fr => "en",
        Lang::En => "fr",
    };
    let nav: String = links
        .iter()
        .map(|(href, label)| format!(r#"<a href="{}">{}</a>"#, esc(href), esc(label)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="{lang_code}"><head><meta charset="utf-8"><title>{title} — allervers</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/style.css"></head>
<body><nav>{nav}<a href="?lang={other}" id="lang">{language}</a></nav>
<main><h1>{title}</h1>
{body}
</main></body></html>"#,
        lang_code = match lang {
            Lang::Fr => "fr",
            Lang::En => "en",
        },
        title = esc(title),
        language = t(lang, "language"),
    )
}

pub fn persons(list: &[PersonSummary], search: &str, lang: Lang) -> String {
    let mut out = format!(
        r#"<form method="get" action="/"><input name="q" value="{}" placeholder="{}" autofocus> <button>{}</button></form>
<table id="persons"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(search),
        t(lang, "search"),
        t(lang, "search"),
        t(lang, "name"),
        t(lang, "situation"),
        t(lang, "last_seen")
    );
    for p in list {
        let _ = write!(
            out,
            r#"<tr><td><a href="/person/{}">{}</a></td><td>{}</td><td>{}</td></tr>"#,
            p.id,
            esc(&p.display_name),
            esc(&p
                .situation
                .as_deref()
                .map(|s| l(Vocab::Situation, s, lang))
                .unwrap_or_default()),
            p.last_seen_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| t(lang, "never").into())
        );
    }
    out.push_str("</table>");
    out
}

/// A person's page: situation and needs, the link to their dossier, their merged timeline, and
/// the access log about them (`None` on a device that may not read it).
pub fn person(
    p: &Person,
    housing: (&[JourneyStep], &[Application]),
    timeline: &[TimelineEntry],
    log: Option<&[AccessRow]>,
    token: &str,
    lang: Lang,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<p><span class="chip">{}</span>{}</p>{}{}<h2>{}</h2><table id="timeline"><tr><th>{}</th><th>{}</th><th>{}</th><th></th><th>{}</th></tr>"#,
        esc(&p
            .situation
            .as_deref()
            .map(|s| l(Vocab::Situation, s, lang))
            .unwrap_or_default()),
        p.needs
            .iter()
            .map(|n| format!(
                r#"<span class="chip">{}</span>"#,
                esc(&l(Vocab::Need, n, lang))
            ))
            // The organisation's own fields, labelled, flagged when a value does not fit.
            .chain(
                crate::render::custom_lines(allervers_core::Kind::Person, &p.custom, lang)
                    .into_iter()
                    .map(|(label, _, value)| format!(
                        r#"<span class="chip custom">{} : {}</span>"#,
                        esc(&label),
                        esc(&value)
                    ))
            )
            .collect::<String>(),
        journey(housing.0, lang),
        if housing.1.is_empty() {
            String::new()
        } else {
            applications(housing.1, lang)
        },
        t(lang, "timeline"),
        t(lang, "when"),
        t(lang, "who"),
        t(lang, "what"),
        t(lang, "relay_time"),
    );
    let mut creation_shown = false;
    for e in timeline {
        if crate::render::repeated_creation(&e.item, p.id, &mut creation_shown) {
            continue;
        }
        let kind = crate::render::kind_word(&e.item, p.id, lang);
        let text = match &e.item {
            TimelineItem::Change(h) if h.creation && h.record_id == p.id => String::new(),
            item => crate::render::describe(item, lang),
        };
        let (relay, skew) = (e.relay_at, e.clock_off);
        let _ = write!(
            out,
            r#"<tr class="entry"><td>{}</td><td class="author">{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>"#,
            e.at.format("%Y-%m-%d %H:%M"),
            esc(&e.author.label()),
            esc(kind),
            esc(&text),
            relay
                .map(|r| r.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            if skew {
                format!(r#" <span class="warn">⚠ {}</span>"#, t(lang, "clock_off"))
            } else {
                String::new()
            }
        );
    }
    out.push_str("</table>");
    out.push_str(&merged_in(p, token, lang));
    let _ = write!(
        out,
        r#"<p><a id="dossier" href="/person/{}/dossier" download>{}</a></p><h2>{}</h2>"#,
        p.id,
        t(lang, "dossier"),
        t(lang, "access_about"),
    );
    match log {
        Some(rows) => out.push_str(&access_table(rows, lang)),
        None => {
            let _ = write!(
                out,
                r#"<p id="access-reserved">{}</p>"#,
                t(lang, "access_reserved")
            );
        }
    }
    let _ = write!(
        out,
        r#"<details id="erase"><summary>{}</summary><p>{}</p><form method="post" action="/person/{}/erase"><input type="hidden" name="token" value="{token}"><label>{} <input name="reason" required></label> <label><input type="checkbox" name="confirm" value="yes" required> {}</label> <button class="danger">{}</button></form></details>"#,
        t(lang, "erase"),
        t(lang, "erase_what"),
        p.id,
        t(lang, "erase_reason"),
        t(lang, "confirm_erase"),
        t(lang, "erase"),
    );
    out
}

/// The filters of the access-log page, as typed.
pub struct AccessFilters {
    pub person: String,
    pub worker: String,
    pub from: String,
    pub to: String,
}

/// The access log as a table.
fn access_table(rows: &[AccessRow], lang: Lang) -> String {
    if rows.is_empty() {
        return format!(r#"<p id="no-access">{}</p>"#, t(lang, "no_access"));
    }
    let mut out = format!(
        r#"<table id="access-log"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "when"),
        t(lang, "who"),
        t(lang, "what"),
        t(lang, "persons"),
        t(lang, "via"),
    );
    for r in rows {
        let e = &r.entry;
        let device = e.device_label();
        let about = match (&e.person, &r.person_name) {
            (Some(id), name) => format!(
                r#"<a href="/person/{id}">{}</a>"#,
                esc(name.as_deref().unwrap_or(&id.to_string()))
            ),
            (None, _) => String::new(),
        };
        let _ = write!(
            out,
            r#"<tr class="access"><td>{}</td><td class="worker">{}</td><td>{}</td><td>{about}</td><td>{}</td></tr>"#,
            e.at.format("%Y-%m-%d %H:%M"),
            esc(&format!("{} ({device})", e.worker)),
            esc(&access_what(e, lang)),
            esc(&via_word(&e.via, lang)),
        );
    }
    out.push_str("</table>");
    out
}

/// The access-log page: filters by person, worker and period, then the entries.
pub fn access_log_page(rows: &[AccessRow], f: &AccessFilters, lang: Lang) -> String {
    let mut out = format!(
        r#"<form method="get" action="/access-log">{} <input name="person" value="{}"> {} <input name="worker" value="{}"> {} <input type="date" name="from" value="{}"> {} <input type="date" name="to" value="{}"> <button>{}</button></form>"#,
        t(lang, "person"),
        esc(&f.person),
        t(lang, "worker"),
        esc(&f.worker),
        t(lang, "from"),
        esc(&f.from),
        t(lang, "to"),
        esc(&f.to),
        t(lang, "show"),
    );
    out.push_str(&access_table(rows, lang));
    out
}

pub fn conflicts(list: &[Conflict], token: &str, lang: Lang) -> String {
    if list.is_empty() {
        return format!(r#"<p id="no-conflict">{}</p>"#, t(lang, "no_conflict"));
    }
    let mut out = String::from(r#"<table id="conflicts">"#);
    for c in list {
        let _ = write!(
            out,
            r#"<tr class="conflict"><td><a href="/person/{id}">{label}</a><br>{field_l}: <b>{field}</b><br>{since_l} {since}</td><td>"#,
            id = c.record_id,
            label = esc(&c.record_label),
            field_l = t(lang, "field"),
            field = esc(&c.field),
            since_l = t(lang, "since"),
            since = c.since.format("%Y-%m-%d %H:%M"),
        );
        for v in &c.values {
            let value = v.value.to_string();
            let _ = write!(
                out,
                r#"<form class="inline" method="post" action="/conflicts/resolve"><input type="hidden" name="token" value="{token}"><input type="hidden" name="record" value="{id}"><input type="hidden" name="field" value="{field}"><input type="hidden" name="value" value="{value}"><button class="resolve" data-value="{value}">{choose} «{value}»</button> <small>{author}, {at}</small></form><br>"#,
                token = esc(token),
                id = c.record_id,
                field = esc(&c.field),
                value = esc(&value),
                choose = t(lang, "choose"),
                author = esc(&v.author.label()),
                at = v.at.format("%Y-%m-%d %H:%M"),
            );
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    out
}

/// The pairs of persons likely to be one, each with a form per side: keep it and merge the
/// other into it.
pub fn duplicates(pairs: &[LikelyDuplicate], token: &str, lang: Lang) -> String {
    if pairs.is_empty() {
        return format!(r#"<p id="no-duplicate">{}</p>"#, t(lang, "no_duplicate"));
    }
    let mut out = format!(
        r#"<table id="duplicates"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "persons"),
        t(lang, "persons"),
        t(lang, "shared_names")
    );
    for pair in pairs {
        out.push_str(r#"<tr class="pair">"#);
        for (keep, other) in [(0, 1), (1, 0)] {
            let (k, o) = (&pair.persons[keep], &pair.persons[other]);
            let _ = write!(
                out,
                r#"<td><a href="/person/{id}">{name}</a>{born}<form method="post" action="/duplicates/merge"><input type="hidden" name="token" value="{token}"><input type="hidden" name="keep" value="{id}"><input type="hidden" name="other" value="{other}"><button class="merge" data-keep="{id}">{label}</button></form></td>"#,
                id = k.id,
                name = esc(&k.display_name),
                born = pair.birth_years[keep]
                    .map(|y| format!(" <small>({y})</small>"))
                    .unwrap_or_default(),
                token = esc(token),
                other = o.id,
                label = t(lang, "keep_merge"),
            );
        }
        let _ = write!(out, "<td>{}</td></tr>", esc(&pair.shared.join(", ")));
    }
    out.push_str("</table>");
    out
}

/// The records merged into a person, each with a form that undoes its merge.
fn merged_in(p: &Person, token: &str, lang: Lang) -> String {
    if p.merged.is_empty() {
        return String::new();
    }
    let mut out = format!(r#"<h2>{}</h2><ul id="merged-in">"#, t(lang, "merged_in"));
    for id in &p.merged {
        let _ = write!(
            out,
            r#"<li>{id} <form class="inline" method="post" action="/person/{id}/unmerge"><input type="hidden" name="token" value="{token}"><button class="unmerge">{label}</button></form></li>"#,
            token = esc(token),
            label = t(lang, "unmerge"),
        );
    }
    out.push_str("</ul>");
    out
}

/// A horizontal bar chart: the period in dark, the previous period in light.
fn chart(title: &str, rows: &[(String, Figure)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let max = rows
        .iter()
        .map(|(_, f)| f.current.max(f.previous))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (label_w, bar_w, row_h) = (230.0, 360.0, 26.0);
    let height = row_h * rows.len() as f64 + 10.0;
    let mut svg = format!(
        r#"<figure><figcaption>{} <small>(▬ dark: period, light: previous period)</small></figcaption><svg class="chart" width="{}" height="{height}" role="img" aria-label="{}">"#,
        esc(title),
        label_w + bar_w + 80.0,
        esc(title)
    );
    for (i, (name, f)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let cw = bar_w * f.current as f64 / max;
        let pw = bar_w * f.previous as f64 / max;
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13">{name}</text><rect x="{label_w}" y="{y}" width="{pw:.1}" height="10" fill="#b9cbe0"/><rect x="{label_w}" y="{y2}" width="{cw:.1}" height="10" fill="#1d3b5a"/><text x="{tx:.1}" y="{ty}" font-size="12">{c}</text>"##,
            ty = y + 13.0,
            name = esc(name),
            y2 = y + 10.0,
            tx = label_w + cw.max(pw) + 6.0,
            c = f.current,
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

pub fn report(r: &Report, lang: Lang) -> String {
    let mut out = format!(
        r#"<form method="get" action="/report">{} <input type="date" name="from" value="{}"> {} <input type="date" name="to" value="{}"> {} <input name="team" value="{}" placeholder="{}"> <button>{}</button></form>
"#,
        t(lang, "from"),
        r.from,
        t(lang, "to"),
        r.to,
        t(lang, "team"),
        esc(r.team.as_deref().unwrap_or("")),
        t(lang, "all_teams"),
        t(lang, "show"),
    );
    out.push_str(&report_figures(r, lang));
    out
}

/// A report's figures and charts, without the form that chooses its period.
pub fn report_figures(r: &Report, lang: Lang) -> String {
    let mut out = format!(
        r#"<table id="report"><tr><th></th><th class="num">{} {} – {}</th><th class="num">{} {} – {}</th></tr>"#,
        t(lang, "current"),
        r.from,
        r.to,
        t(lang, "previous"),
        r.previous_from,
        r.previous_to,
    );
    let sections = r.sections_with_fields(
        lang,
        crate::render::extra_terms(),
        crate::render::custom_fields(),
    );
    for section in sections.iter().filter(|s| !s.breakdown) {
        for line in &section.lines {
            let _ = write!(
                out,
                r#"<tr data-figure="{}.{}"><td>{}</td><td class="num current">{}</td><td class="num previous">{}</td></tr>"#,
                section.key,
                esc(&line.key),
                esc(&line.label),
                line.figure.current,
                line.figure.previous
            );
        }
    }
    out.push_str("</table>");
    for section in sections.iter().filter(|s| s.breakdown) {
        let rows: Vec<(String, Figure)> = section
            .lines
            .iter()
            .map(|line| (line.label.clone(), line.figure))
            .collect();
        out.push_str(&chart(section.title, &rows));
    }
    out
}

/// The retention review: each person due, with a form to keep the file with a reason.
pub fn retention(review: &RetentionReview, token: &str, lang: Lang) -> String {
    let mut out = format!(
        r#"<p>{}</p><p id="period">{} : <b>{}</b></p>"#,
        t(lang, "retention_intro"),
        t(lang, "period"),
        review.period_months
    );
    if review.due.is_empty() {
        let _ = write!(
            out,
            r#"<p id="no-review">{}</p>"#,
            t(lang, "retention_none")
        );
        return out;
    }
    let _ = write!(
        out,
        r#"<table id="retention"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "name"),
        t(lang, "last_contact"),
        t(lang, "keep"),
    );
    for due in &review.due {
        let contact = match due.last_contact {
            Some(at) => at.format("%Y-%m-%d").to_string(),
            None => format!(
                "{} {}",
                t(lang, "never_met"),
                due.recorded_at.format("%Y-%m-%d")
            ),
        };
        let kept = due
            .kept_at
            .map(|at| format!("<br>{} {}", t(lang, "kept_on"), at.format("%Y-%m-%d")))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<tr class="due" data-person="{id}"><td><a href="/person/{id}">{name}</a></td><td>{contact} ({months} {ago}){kept}</td><td><form class="inline" method="post" action="/retention/keep"><input type="hidden" name="token" value="{token}"><input type="hidden" name="person" value="{id}"><input name="reason" required placeholder="{reason}"> <button class="keep">{keep}</button></form></td></tr>"#,
            id = due.person,
            name = esc(&due.display_name),
            contact = esc(&contact),
            months = due.months,
            ago = t(lang, "months_ago"),
            token = esc(token),
            reason = t(lang, "reason"),
            keep = t(lang, "keep"),
        );
    }
    out.push_str("</table>");
    out
}

/// A journey as a line of periods, the earliest first, each coloured by what it is (the street,
/// a shelter, a home).
pub fn journey(steps: &[JourneyStep], lang: Lang) -> String {
    let mut out = format!(r#"<h2>{}</h2>"#, t(lang, "journey"));
    if steps.is_empty() {
        let _ = write!(out, r#"<p id="journey">{}</p>"#, t(lang, "no_period"));
        return out;
    }
    out.push_str(r#"<ol class="journey" id="journey">"#);
    for s in steps {
        let class = match s.situation.as_str() {
            c if allervers_core::vocab::STREET_SITUATIONS.contains(&c) => "street",
            c if allervers_core::vocab::HOUSING_SITUATIONS.contains(&c) => "housing",
            "emergency_shelter" | "hotel" | "chrs" => "shelter",
            _ => "other",
        };
        let _ = write!(
            out,
            r#"<li class="{class}"><strong>{}</strong><br>{} → {}"#,
            esc(&l(Vocab::Situation, &s.situation, lang)),
            s.from,
            s.to.map(|d| d.to_string()).unwrap_or_else(|| "…".into()),
        );
        if let Some(p) = &s.place {
            let _ = write!(out, "<br>{}", esc(p));
        }
        if let Some(r) = &s.end_reason {
            let _ = write!(
                out,
                "<br><small>{}</small>",
                esc(&l(Vocab::PeriodEnd, r, lang))
            );
        }
        if s.household.is_some() {
            let _ = write!(out, "<br><small>{}</small>", t(lang, "household_word"));
        }
        if s.period.is_none() {
            let _ = write!(out, "<br><small>{}</small>", t(lang, "from_changes"));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    out
}

/// The households, with their members today.
pub fn households(list: &[HouseholdSummary], lang: Lang) -> String {
    if list.is_empty() {
        return format!(r#"<p id="households">{}</p>"#, t(lang, "no_household"));
    }
    let mut out = format!(
        r#"<table id="households"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "name"),
        t(lang, "size"),
        t(lang, "members"),
        t(lang, "situation"),
    );
    for h in list {
        let _ = write!(
            out,
            r#"<tr><td><a href="/household/{}">{}</a></td><td class="num">{}{}</td><td>{}</td><td>{}</td></tr>"#,
            h.id,
            esc(&h.label),
            h.size,
            if h.children {
                format!(" ({})", t(lang, "with_children"))
            } else {
                String::new()
            },
            h.members
                .iter()
                .map(|m| format!(r#"<a href="/person/{}">{}</a>"#, m.person, esc(&m.name)))
                .collect::<Vec<_>>()
                .join(", "),
            esc(&h
                .situation
                .as_deref()
                .map(|s| l(Vocab::Situation, s, lang))
                .unwrap_or_default()),
        );
    }
    out.push_str("</table>");
    out
}

fn applications(list: &[Application], lang: Lang) -> String {
    let mut out = format!(r#"<h2>{}</h2>"#, t(lang, "applications"));
    if list.is_empty() {
        let _ = write!(out, "<p>{}</p>", t(lang, "no_application"));
        return out;
    }
    let _ = write!(
        out,
        r#"<table id="applications"><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "number"),
        t(lang, "filed"),
        t(lang, "status"),
    );
    for a in list {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&a
                .kind
                .as_deref()
                .map(|k| l(Vocab::ApplicationKind, k, lang))
                .unwrap_or_default()),
            esc(a.number.as_deref().unwrap_or_default()),
            a.filed_on.map(|d| d.to_string()).unwrap_or_default(),
            esc(&a
                .status
                .as_deref()
                .map(|s| l(Vocab::ApplicationStatus, s, lang))
                .unwrap_or_default()),
            a.outcome
                .as_deref()
                .map(|o| format!(": {}", esc(o)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</table>");
    out
}

/// A household: its size, members (today's and earlier ones), journey and applications.
pub fn household(v: &HouseholdView, lang: Lang) -> String {
    let mut out = format!(
        r#"<p><span class="chip">{} {}</span>{}{}</p><h2>{}</h2><table id="members"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "size"),
        v.size,
        if v.children {
            format!(r#"<span class="chip">{}</span>"#, t(lang, "with_children"))
        } else {
            String::new()
        },
        v.household
            .pets
            .as_deref()
            .map(|p| format!(
                r#"<span class="chip">{} : {}</span>"#,
                t(lang, "pets"),
                esc(p)
            ))
            .unwrap_or_default(),
        t(lang, "members"),
        t(lang, "name"),
        t(lang, "relation"),
        t(lang, "joined"),
        t(lang, "left"),
    );
    for m in &v.members {
        let _ = write!(
            out,
            r#"<tr><td><a href="/person/{}">{}</a></td><td>{}</td><td>{}</td><td>{}{}</td></tr>"#,
            m.person,
            esc(&m.name),
            esc(&m
                .relation
                .as_deref()
                .map(|r| l(Vocab::Relation, r, lang))
                .unwrap_or_default()),
            m.joined_on.map(|d| d.to_string()).unwrap_or_default(),
            m.left_on.map(|d| d.to_string()).unwrap_or_default(),
            m.left_reason
                .as_deref()
                .map(|r| format!(" ({})", esc(r)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</table>");
    out.push_str(&journey(&v.journey, lang));
    out.push_str(&applications(&v.applications, lang));
    out
}

/// Where a person's or a household's page is.
fn concerns_link(c: Option<Concerns>, name: &str) -> String {
    match c {
        Some(Concerns::Person(p)) => format!(r#"<a href="/person/{p}">{}</a>"#, esc(name)),
        Some(Concerns::Household(h)) => format!(r#"<a href="/household/{h}">{}</a>"#, esc(name)),
        None => esc(name),
    }
}

/// The homes lived in with an open risk, the most at risk first.
pub fn homes_at_risk(list: &[HomeAtRisk], lang: Lang) -> String {
    if list.is_empty() {
        return format!(r#"<p id="homes">{}</p>"#, t(lang, "no_home_at_risk"));
    }
    let mut out = format!(
        r#"<table id="homes"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "name"),
        t(lang, "address"),
        t(lang, "risks"),
    );
    for h in list {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            concerns_link(h.concerns, &h.name),
            esc(&[h.landlord.as_deref(), h.address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")),
            h.risks
                .iter()
                .map(|s| format!(
                    r#"<span class="chip">{} {}</span>"#,
                    esc(&s
                        .risk
                        .as_deref()
                        .map(|r| l(Vocab::RiskKind, r, lang))
                        .unwrap_or_default()),
                    s.raised_on.map(|d| d.to_string()).unwrap_or_default()
                ))
                .collect::<String>(),
        );
    }
    out.push_str("</table>");
    out
}

fn offer_cells(o: &allervers_core::Offer, lang: Lang) -> String {
    format!(
        "<td>{}{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>",
        esc(&o
            .home_kind
            .as_deref()
            .map(|k| l(Vocab::Situation, k, lang))
            .unwrap_or_default()),
        o.rooms.map(|r| format!(" T{r}")).unwrap_or_default(),
        esc(o.area.as_deref().unwrap_or_default()),
        o.rent.map(|r| format!("{r} €")).unwrap_or_default(),
        o.available_from.map(|d| d.to_string()).unwrap_or_default(),
    )
}

/// The open offers, each with how many it could suit.
pub fn offers(list: &[OfferSummary], lang: Lang) -> String {
    if list.is_empty() {
        return format!(r#"<p id="offers">{}</p>"#, t(lang, "no_offer"));
    }
    let mut out = format!(
        r#"<table id="offers"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "home_kind"),
        t(lang, "area"),
        t(lang, "rent"),
        t(lang, "from"),
        t(lang, "proposals"),
        t(lang, "could_suit"),
    );
    for o in list {
        let _ = write!(
            out,
            r#"<tr>{}<td class="num">{}</td><td class="num"><a href="/offer/{}">{}</a></td></tr>"#,
            offer_cells(&o.offer, lang),
            o.proposals,
            o.offer.id,
            o.candidates,
        );
    }
    out.push_str("</table>");
    out
}

/// An offer: its proposals and whom it could suit.
pub fn offer(v: &OfferView, lang: Lang) -> String {
    let mut out = format!(
        r#"<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr><tr>{}</tr></table><h2>{}</h2><table id="proposals">"#,
        t(lang, "home_kind"),
        t(lang, "area"),
        t(lang, "rent"),
        t(lang, "from"),
        offer_cells(&v.offer, lang),
        t(lang, "proposals"),
    );
    for p in &v.proposals {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            concerns_link(p.proposal.concerns, &p.name),
            p.proposal
                .proposed_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            esc(&p
                .proposal
                .outcome
                .as_deref()
                .map(|o| l(Vocab::ProposalOutcome, o, lang))
                .unwrap_or_default()),
            p.proposal
                .reason
                .as_deref()
                .map(|r| format!(": {}", esc(r)))
                .unwrap_or_default(),
        );
    }
    let _ = write!(
        out,
        r#"</table><h2>{}</h2><table id="candidates"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "could_suit"),
        t(lang, "name"),
        t(lang, "size"),
        t(lang, "waiting_since"),
    );
    for c in &v.candidates {
        let _ = write!(
            out,
            r#"<tr><td>{}{}</td><td class="num">{}</td><td>{}</td></tr>"#,
            concerns_link(Some(c.concerns), &c.name),
            if c.accessible {
                format!(" ({})", t(lang, "needs_accessible"))
            } else {
                String::new()
            },
            c.size,
            c.waiting_since.map(|d| d.to_string()).unwrap_or_default(),
        );
    }
    out.push_str("</table>");
    out
}
