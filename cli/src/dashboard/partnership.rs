//! The partnership pages. On a partner's or restricted device (its store is a partnership's):
//! the persons shared with it, what was shared of each (nothing of another category, nothing of
//! the association's notes), and the shared assessment with a form to write it, each reading
//! logged. On the office: each partnership with its persons shared and the erasure requests of
//! withdrawals, with the partner devices that carried them out and those still waiting.

use std::fmt::Write;
use std::sync::Arc;

use allervers_core::partnership::{PartnershipStatus, Projection};
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{HistoryEntry, RecordId, Store, Via};
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::html::{esc, t};
use super::{blocking, failure, lang, wrong_form_token, Dash, LangQuery};
use crate::render::l;

/// The fields of the shared assessment, in the order they are shown.
const ASSESSMENT: [&str; 5] = [
    "needs",
    "resources",
    "autonomy",
    "housing_sought",
    "own_words",
];

fn categories(list: &[String], lang: Lang) -> String {
    list.iter()
        .map(|c| {
            format!(
                r#"<span class="chip">{}</span>"#,
                esc(&l(Vocab::ConsentCategory, c, lang))
            )
        })
        .collect()
}

fn name(p: &Projection, lang: Lang) -> String {
    p.name
        .clone()
        .or_else(|| p.nickname.clone())
        .unwrap_or_else(|| t(lang, "identity_not_shared").to_string())
}

/// `/` on a partner's device: the persons shared with it.
pub(super) async fn shared(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    let list = match blocking(move || store.projections()).await {
        Ok(list) => list,
        Err(r) => return r,
    };
    let mut body = format!("<p>{}</p>", t(lang, "shared_intro"));
    if list.is_empty() {
        let _ = write!(
            body,
            r#"<p id="no-projection">{}</p>"#,
            t(lang, "no_projection")
        );
    } else {
        let _ = write!(
            body,
            r#"<table id="projections"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
            t(lang, "name"),
            t(lang, "situation"),
            t(lang, "categories"),
        );
        for p in &list {
            let _ = write!(
                body,
                r#"<tr class="projection"><td><a href="/projection/{}">{}</a></td><td>{}</td><td>{}</td></tr>"#,
                p.id,
                esc(&name(p, lang)),
                esc(&p
                    .situation
                    .as_deref()
                    .map(|s| l(Vocab::Situation, s, lang))
                    .unwrap_or_default()),
                categories(&p.categories, lang),
            );
        }
        body.push_str("</table>");
    }
    dash.page(lang, t(lang, "shared_persons"), &body)
}

/// `/projection/{id}`: what was shared of one person, their shared assessment with its form,
/// and the assessment's history (who wrote what, on either side). The reading is logged.
pub(super) async fn projection(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let Ok(id) = id.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    let read = blocking(move || {
        let p = store.open_projection(id, Via::Dashboard)?;
        let history = match &p.assessment {
            Some(a) => store.history(a.id)?,
            None => Vec::new(),
        };
        Ok((p, history))
    })
    .await;
    let (p, history) = match read {
        Ok(read) => read,
        Err(r) => return r,
    };
    let body = projection_html(&p, &history, &dash.token, lang);
    dash.page(lang, &name(&p, lang), &body)
}

fn projection_html(p: &Projection, history: &[HistoryEntry], token: &str, lang: Lang) -> String {
    let label = |vocab: Vocab, code: &Option<String>| code.as_deref().map(|c| l(vocab, c, lang));
    let mut out = format!(
        r#"<p>{}</p><h2>{}</h2><table id="projection">"#,
        categories(&p.categories, lang),
        t(lang, "shared_fields")
    );
    for (field, value) in [
        ("name", p.name.clone()),
        ("nickname", p.nickname.clone()),
        ("other_names", p.other_names.clone()),
        ("birth_year", p.birth_year.map(|y| y.to_string())),
        ("gender", label(Vocab::Gender, &p.gender)),
        ("languages", p.languages.clone()),
        ("phone", p.phone.clone()),
        ("situation", label(Vocab::Situation, &p.situation)),
        ("on_street_since", p.on_street_since.map(|d| d.to_string())),
        ("referrals", p.referrals.clone()),
        ("housing_actions", p.housing_actions.clone()),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            let _ = write!(
                out,
                r#"<tr data-field="{field}"><th>{}</th><td>{}</td></tr>"#,
                t(lang, field),
                esc(&v)
            );
        }
    }
    out.push_str("</table>");
    let _ = write!(out, "<h2>{}</h2>", t(lang, "assessment"));
    let Some(a) = &p.assessment else {
        let _ = write!(
            out,
            r#"<p id="no-assessment">{}</p>"#,
            t(lang, "no_assessment")
        );
        return out;
    };
    let _ = write!(
        out,
        r#"<p>{}</p><form id="assessment" method="post" action="/projection/{}/assessment"><input type="hidden" name="token" value="{}">"#,
        t(lang, "assessment_intro"),
        p.id,
        esc(token)
    );
    for field in ASSESSMENT {
        let _ = write!(
            out,
            r#"<p><label>{}<br><textarea name="{field}" rows="3" cols="70">{}</textarea></label></p>"#,
            t(lang, field),
            esc(assessment_value(a, field).unwrap_or_default())
        );
    }
    let _ = write!(out, r#"<button>{}</button></form>"#, t(lang, "save"));
    let _ = write!(
        out,
        r#"<h3>{}</h3><table id="assessment-history"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "history"),
        t(lang, "when"),
        t(lang, "who"),
        t(lang, "field"),
        t(lang, "what"),
    );
    for h in history
        .iter()
        .filter(|h| ASSESSMENT.contains(&h.field.as_str()))
    {
        let _ = write!(
            out,
            r#"<tr class="change"><td>{}</td><td class="author">{}</td><td>{}</td><td>{}</td></tr>"#,
            h.at.format("%Y-%m-%d %H:%M"),
            esc(&h.author.label()),
            t(lang, field_key(&h.field)),
            esc(&h.new.as_ref().map(|v| v.to_string()).unwrap_or_default()),
        );
    }
    out.push_str("</table>");
    out
}

/// The key of an assessment field's label (`field` is one of [`ASSESSMENT`]).
fn field_key(field: &str) -> &'static str {
    ASSESSMENT
        .iter()
        .find(|f| **f == field)
        .copied()
        .unwrap_or("field")
}

fn assessment_value<'a>(
    a: &'a allervers_core::partnership::SharedAssessment,
    field: &str,
) -> Option<&'a str> {
    match field {
        "needs" => a.needs.as_deref(),
        "resources" => a.resources.as_deref(),
        "autonomy" => a.autonomy.as_deref(),
        "housing_sought" => a.housing_sought.as_deref(),
        "own_words" => a.own_words.as_deref(),
        _ => None,
    }
}

#[derive(Deserialize)]
pub(super) struct AssessmentForm {
    /// Missing is as wrong as another token (403), not a form that cannot be read.
    #[serde(default)]
    token: String,
    needs: Option<String>,
    resources: Option<String>,
    autonomy: Option<String>,
    housing_sought: Option<String>,
    own_words: Option<String>,
}

/// The assessment's form: writes the fields that changed, all in one change with this device as
/// its author, or nothing when one is refused; then shows the projection again. A field the form
/// does not carry is left as it is.
pub(super) async fn assessment(
    State(dash): State<Arc<Dash>>,
    Path(id): Path<String>,
    Form(form): Form<AssessmentForm>,
) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let Ok(id) = id.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    let written = blocking(move || write_assessment(&store, id, &form)).await;
    match written {
        Ok(()) => Redirect::to(&format!("/projection/{id}")).into_response(),
        Err(r) => r,
    }
}

fn write_assessment(
    store: &Store,
    id: RecordId,
    form: &AssessmentForm,
) -> allervers_core::Result<()> {
    // Without an assessment (not consented), any field typed is refused by the store.
    let current = store.projection(id)?;
    let a = current.assessment.as_ref();
    let mut changed: Vec<(&str, String)> = Vec::new();
    for (field, typed) in [
        ("needs", &form.needs),
        ("resources", &form.resources),
        ("autonomy", &form.autonomy),
        ("housing_sought", &form.housing_sought),
        ("own_words", &form.own_words),
    ] {
        let Some(typed) = typed else { continue };
        // Bytes that are not UTF-8 reach here as U+FFFD: refused rather than written mangled.
        if typed.contains('\u{FFFD}') {
            return Err(allervers_core::CoreError::InvalidInput {
                field: field.to_string(),
                reason: "is not valid text (UTF-8)".to_string(),
            });
        }
        // Browsers send a textarea's line ends as CRLF.
        let typed = typed.replace("\r\n", "\n");
        let now = a
            .and_then(|a| assessment_value(a, field))
            .unwrap_or_default()
            .trim();
        if typed.trim() != now {
            changed.push((field, typed.trim().to_string()));
        }
    }
    let fields: Vec<(&str, &str)> = changed.iter().map(|(f, v)| (*f, v.as_str())).collect();
    store.edit_assessment_fields(id, &fields)
}

/// `/partnerships` on the office: each partnership's persons shared and erasure requests.
pub(super) async fn office(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let partners = dash.partners.clone();
    let read = blocking(move || {
        partners
            .iter()
            .map(|(_, store)| Ok((store.partnership_status()?, device_names(store)?)))
            .collect::<allervers_core::Result<Vec<_>>>()
    })
    .await;
    let statuses = match read {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut body = String::new();
    if statuses.is_empty() {
        let _ = write!(body, "<p>{}</p>", t(lang, "no_partnership"));
    }
    for (status, names) in &statuses {
        body.push_str(&status_html(status, names, lang));
    }
    dash.page(lang, t(lang, "partnerships"), &body)
}

/// The names of a space's devices, by id (hex).
fn device_names(store: &Store) -> allervers_core::Result<Vec<(String, String)>> {
    Ok(store
        .devices()?
        .into_iter()
        .map(|d| (d.device.to_string(), d.name))
        .collect())
}

fn status_html(s: &PartnershipStatus, names: &[(String, String)], lang: Lang) -> String {
    let device = |id: &String| {
        let short: String = id.chars().take(8).collect();
        match names.iter().find(|(d, _)| d == id) {
            Some((_, name)) => format!("{name} ({short})"),
            None => short.to_string(),
        }
    };
    let mut out = format!(
        r#"<section class="partner" id="partner-{}"><h2>{}</h2><p>{}: {}</p>"#,
        esc(&s.partner),
        esc(&l(Vocab::Partner, &s.partner, lang)),
        t(lang, "projections"),
        s.projections.len()
    );
    if s.unposted_orders > 0 {
        let _ = write!(
            out,
            r#"<p class="warn">{} {}</p>"#,
            s.unposted_orders,
            t(lang, "unposted")
        );
    }
    let _ = write!(out, "<h3>{}</h3>", t(lang, "erasure_orders"));
    if s.orders.is_empty() {
        let _ = write!(out, "<p>{}</p>", t(lang, "no_erasure_order"));
        out.push_str("</section>");
        return out;
    }
    let _ = write!(
        out,
        r#"<table class="orders"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        t(lang, "order"),
        t(lang, "status"),
        t(lang, "acknowledged_by"),
        t(lang, "waiting_for"),
    );
    for o in &s.orders {
        let list = |ids: &[String]| {
            ids.iter()
                .map(|d| esc(&device(d)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            out,
            r#"<tr class="order"><td>#{}</td><td>{}</td><td class="acknowledged">{}</td><td class="waiting">{}</td></tr>"#,
            o.order,
            esc(&o.status),
            list(&o.acknowledged_by),
            list(&o.waiting_for),
        );
    }
    out.push_str("</table></section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_id_of_any_characters_is_cut_at_a_character_boundary() {
        let status = PartnershipStatus {
            partner: "siao".into(),
            projections: Vec::new(),
            unposted_orders: 0,
            orders: vec![allervers_core::partnership::OrderAcks {
                order: 3,
                status: "done".into(),
                acknowledged_by: vec!["aéééééééé".into()],
                waiting_for: vec!["é".into()],
            }],
        };
        let html = status_html(&status, &[], Lang::Fr);
        assert!(html.contains("aééééééé<"), "{html}");
    }
}
