//! The health pages of a health professional's dashboard: the follow-up on a person's page
//! (health details and notes, from this device's health store, its reading logged in the health
//! space's access log) and the list of health notes. Another device has no health store, so
//! these pages are not served there: the team sees only that a health professional met the
//! person, in the timeline.

use std::fmt::Write;
use std::sync::Arc;

use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{HealthNote, HealthProfile, RecordId, Store, Via};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::html::{esc, t};
use super::{blocking, lang, Dash, LangQuery};
use crate::render::l;

/// A person's health follow-up, as read on this device.
pub(super) struct Followup {
    profiles: Vec<HealthProfile>,
    notes: Vec<HealthNote>,
}

impl Followup {
    /// Reads the person's health details and notes, the notes' reading logged: those of every
    /// record merged into the same person in the team's store `team` too.
    pub(super) fn read(
        health: &Store,
        team: &Store,
        person: RecordId,
    ) -> allervers_core::Result<Followup> {
        Ok(Followup {
            notes: health.open_person_health_notes(team, person, Via::Dashboard)?,
            profiles: health.person_health_profiles(team, person)?,
        })
    }

    /// The follow-up's section of the person's page.
    pub(super) fn html(&self, lang: Lang) -> String {
        let mut out = format!(
            r#"<section id="health"><h2>{}</h2>"#,
            t(lang, "health_followup")
        );
        for p in &self.profiles {
            let _ = write!(
                out,
                r#"<h3>{}</h3><table class="health-details">"#,
                t(lang, "health_details")
            );
            for (key, value) in [
                ("conditions", &p.conditions),
                ("treatments", &p.treatments),
                ("allergies", &p.allergies),
                ("care_team", &p.care_team),
            ] {
                if let Some(v) = value {
                    let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", t(lang, key), esc(v));
                }
            }
            out.push_str("</table>");
        }
        let _ = write!(out, "<h3>{}</h3>", t(lang, "health_notes"));
        if self.notes.is_empty() {
            let _ = write!(out, "<p>{}</p>", t(lang, "no_health_note"));
        } else {
            let _ = write!(
                out,
                r#"<table id="health-notes"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
                t(lang, "day"),
                t(lang, "category"),
                t(lang, "professional"),
                t(lang, "note"),
                t(lang, "next_step"),
            );
            for n in &self.notes {
                let _ = write!(
                    out,
                    r#"<tr class="health-note"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                    n.on.map(|d| d.to_string()).unwrap_or_default(),
                    esc(&category(n.category.as_deref(), lang)),
                    esc(n.professional.as_deref().unwrap_or_default()),
                    esc(n.text.as_deref().unwrap_or_default()),
                    esc(n.next_step.as_deref().unwrap_or_default()),
                );
            }
            out.push_str("</table>");
        }
        out.push_str("</section>");
        out
    }
}

fn category(code: Option<&str>, lang: Lang) -> String {
    code.map(|c| l(Vocab::HealthCategory, c, lang))
        .unwrap_or_default()
}

/// `/health`: the health notes this device holds, newest day first, each with the person it is
/// about (a link to their page) and nothing of what it says: the content is on the person's
/// page, whose reading is logged.
pub(super) async fn notes(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let Some(health) = dash.health.clone() else {
        return super::failure("this device holds no health store");
    };
    let team = dash.store.clone();
    let rows = blocking(move || {
        let mut rows = health.health_note_list()?;
        rows.sort_by(|a, b| b.on.cmp(&a.on).then(a.id.cmp(&b.id)));
        // A note about a person the team's store no longer holds (erased) shows its id.
        let named = rows
            .into_iter()
            .map(|r| {
                let name = r
                    .person
                    .and_then(|p| team.person(p).ok())
                    .map(|p| p.display_name());
                (r, name)
            })
            .collect::<Vec<_>>();
        Ok(named)
    })
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(r) => return r,
    };
    let mut body = String::new();
    if rows.is_empty() {
        let _ = write!(
            body,
            r#"<p id="no-health-note">{}</p>"#,
            t(lang, "no_health_note")
        );
    } else {
        let _ = write!(
            body,
            r#"<table id="health-list"><tr><th>{}</th><th>{}</th></tr>"#,
            t(lang, "day"),
            t(lang, "persons"),
        );
        for (r, name) in &rows {
            let person = match r.person {
                Some(p) => format!(
                    r#"<a href="/person/{p}">{}</a>"#,
                    esc(name.as_deref().unwrap_or(&p.to_string()))
                ),
                None => String::new(),
            };
            let _ = write!(
                body,
                r#"<tr class="health-row"><td>{}</td><td>{person}</td></tr>"#,
                r.on.map(|d| d.to_string()).unwrap_or_default(),
            );
        }
        body.push_str("</table>");
    }
    dash.page(lang, t(lang, "health_notes"), &body)
}
