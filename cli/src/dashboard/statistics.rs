//! The pages of a statistics device (its store is the statistics space's): the reports the
//! office published, newest first, and each one's figures and charts. Nothing nominative is
//! there to show: the store holds periods, teams and figures only.

use std::fmt::Write;
use std::sync::Arc;

use allervers_core::{PublishedReport, RecordId};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::html::{esc, report_figures, t};
use super::{blocking, failure, lang, Dash, LangQuery};

fn published_on(p: &PublishedReport) -> String {
    chrono::DateTime::from_timestamp_millis(p.published_at_ms)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `/`: the published reports, newest period first.
pub(super) async fn published(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    let mut list = match blocking(move || store.published_reports(None, None)).await {
        Ok(list) => list,
        Err(r) => return r,
    };
    list.sort_by(|a, b| {
        (b.report.from, b.published_at_ms).cmp(&(a.report.from, a.published_at_ms))
    });
    let mut body = String::new();
    if list.is_empty() {
        let _ = write!(
            body,
            r#"<p id="no-published">{}</p>"#,
            t(lang, "no_published")
        );
    } else {
        let _ = write!(
            body,
            r#"<table id="published"><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
            t(lang, "current"),
            t(lang, "team"),
            t(lang, "published_at"),
        );
        for p in &list {
            let _ = write!(
                body,
                r#"<tr class="published"><td><a href="/published/{}">{} – {}</a></td><td>{}</td><td>{}</td></tr>"#,
                p.id,
                p.report.from,
                p.report.to,
                esc(p.report.team.as_deref().unwrap_or(t(lang, "all_teams"))),
                published_on(p),
            );
        }
        body.push_str("</table>");
    }
    dash.page(lang, t(lang, "published_reports"), &body)
}

/// `/published/{id}`: one published report, as the office computed it.
pub(super) async fn report(
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
    let found = blocking(move || {
        Ok(store
            .published_reports(None, None)?
            .into_iter()
            .find(|p| p.id == id))
    })
    .await;
    let p = match found {
        Ok(Some(p)) => p,
        Ok(None) => return failure("no published report has this id"),
        Err(r) => return r,
    };
    let title = format!("{} {} – {}", t(lang, "report"), p.report.from, p.report.to);
    let mut body = format!(
        r#"<p>{} {}{}</p>"#,
        t(lang, "published_at"),
        published_on(&p),
        p.report
            .team
            .as_deref()
            .map(|team| format!(" — {} {}", t(lang, "team"), esc(team)))
            .unwrap_or_default()
    );
    body.push_str(&report_figures(&p.report, lang));
    dash.page(lang, &title, &body)
}
