//! `allervers dashboard`: the local web page of this device's role, served on 127.0.0.1 (a free
//! port) from its decrypted stores, protected by a one-time token in the printed address.
//!
//! - A team's device (a team's store): person list with search, a person's merged timeline (its
//!   reading logged in the access log) with the access log about them and their dossier to
//!   download, the conflict queue with resolve buttons, the activity report with charts, the
//!   access log (coordinator), and the retention review with a form per person to keep a file
//!   with a reason (coordinator). On a health professional's device, each person's page also
//!   holds their health follow-up and a page lists the health notes (`health.rs`); on the
//!   office, a page shows each partnership and its erasure acknowledgements
//!   (`partnership.rs`).
//! - A partner's or restricted device (a partnership store): only the persons shared with it,
//!   what was shared of each and the shared assessment, with a form to write it
//!   (`partnership.rs`).
//! - A statistics device (a statistics store): only the published reports (`statistics.rs`).
//!
//! Every response says no caching, a Content-Security-Policy with no script and no inline style,
//! no framing and no type sniffing; a request naming another host than the dashboard's own
//! address (a web page whose name was rebound to 127.0.0.1) is refused before anything else.

mod health;
pub(crate) mod html;
mod partnership;
mod statistics;

use std::sync::Arc;

use allervers_core::vocab::Lang;
use allervers_core::{Access, AccessQuery, PersonQuery, PersonSort, Purpose, RecordId, Store, Via};
use anyhow::{Context, Result};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

const COOKIE: &str = "allervers_dashboard";
const LANG_COOKIE: &str = "allervers_lang";

/// The stores a dashboard serves: those of this device's role. The pages follow `store`'s
/// purpose: a team's (with this device's health store, a health professional's, and its
/// partnership stores by partner, the office's), a partnership's (a partner's device, a
/// restricted device, or the office's own with `--partner`) or a statistics space's.
pub struct View {
    pub store: Store,
    pub health: Option<Store>,
    pub partners: Vec<(String, Store)>,
}

/// Which pages are served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pages {
    Team,
    Partnership,
    Statistics,
}

struct Dash {
    /// The store of the role: the team's, a partnership's or the statistics one.
    store: Arc<Store>,
    pages: Pages,
    /// This device's health store, on a health professional's team device.
    health: Option<Arc<Store>>,
    /// The office's partnership stores, by partner code.
    partners: Vec<(String, Arc<Store>)>,
    token: String,
    default_lang: Lang,
    /// The port it listens on: `127.0.0.1:PORT` and `localhost:PORT` are the only hosts served.
    port: u16,
}

impl Dash {
    /// A whole page: the navigation of this dashboard's pages, then `body` under `title`.
    fn page(&self, lang: Lang, title: &str, body: &str) -> Response {
        let mut links: Vec<(&str, &str)> = Vec::new();
        match self.pages {
            Pages::Team => {
                links.extend([
                    ("/", html::t(lang, "persons")),
                    ("/conflicts", html::t(lang, "conflicts")),
                    ("/duplicates", html::t(lang, "duplicates")),
                    ("/households", html::t(lang, "households")),
                    ("/homes", html::t(lang, "homes_at_risk")),
                    ("/offers", html::t(lang, "offers")),
                    ("/report", html::t(lang, "report")),
                    ("/access-log", html::t(lang, "access_log")),
                    ("/retention", html::t(lang, "retention")),
                ]);
                if self.health.is_some() {
                    links.push(("/health", html::t(lang, "health")));
                }
                if !self.partners.is_empty() {
                    links.push(("/partnerships", html::t(lang, "partnerships")));
                }
            }
            Pages::Partnership => links.push(("/", html::t(lang, "shared_persons"))),
            Pages::Statistics => links.push(("/", html::t(lang, "published_reports"))),
        }
        Html(html::page(lang, &links, title, body)).into_response()
    }

    /// Whether a form's token is this dashboard's.
    fn form_token_ok(&self, token: &str) -> bool {
        bool::from(subtle_eq(token.as_bytes(), self.token.as_bytes()))
    }
}

/// A refused form: its token is not the dashboard's.
fn wrong_form_token() -> Response {
    (StatusCode::FORBIDDEN, "wrong form token").into_response()
}

/// What the browser may load and run on these pages: only this server's own files, no script
/// at all, no inline style (the style sheet is `/style.css`), forms posted back here only, and
/// no other site may frame them.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; \
    style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// Whether a request names the dashboard itself: one `Host` header, `127.0.0.1:PORT` or
/// `localhost:PORT`, and no other host in the request line. A page of another site whose name
/// was rebound to 127.0.0.1 (DNS rebinding) sends its own name and is refused.
fn own_host(dash: &Dash, request: &Request) -> bool {
    let ours = |host: &str| {
        let (name, port) = host.rsplit_once(':').unwrap_or((host, ""));
        (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost"))
            && port == dash.port.to_string()
    };
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host_ok = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().is_ok_and(ours),
        _ => false,
    };
    host_ok && request.uri().authority().is_none_or(|a| ours(a.as_str()))
}

/// The first layer of every request: refuses another host, and sets the headers every response
/// carries (a refusal and a 401 included). The pages hold personal data: nothing is cached.
async fn protect(State(dash): State<Arc<Dash>>, request: Request, next: Next) -> Response {
    let mut response = if own_host(&dash, &request) {
        next.run(request).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "unknown host: open the address the dashboard printed",
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The pages' style sheet. It holds nothing private, so it needs no token.
async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        html::STYLE,
    )
        .into_response()
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Every request needs the token, from the printed address (then kept in a cookie) or the
/// cookie; a request with `?lang=` also sets the language.
async fn guard(State(dash): State<Arc<Dash>>, request: Request, next: Next) -> Response {
    let query = request.uri().query().map(str::to_string);
    let from_query = query_param(query.as_deref(), "token");
    let from_cookie = cookie(request.headers(), COOKIE);
    let ok = |t: Option<&str>| {
        t.is_some_and(|t| bool::from(subtle_eq(t.as_bytes(), dash.token.as_bytes())))
    };
    if !ok(from_query) && !ok(from_cookie) {
        return (
            StatusCode::UNAUTHORIZED,
            Html(
                "<h1>401</h1><p>Missing or wrong token: open the address the command printed.</p>",
            ),
        )
            .into_response();
    }
    let set_lang = query_param(query.as_deref(), "lang")
        .filter(|l| *l == "fr" || *l == "en")
        .map(str::to_string);
    let started = std::time::Instant::now();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // How long the page took to make, for the browser's tools and the benchmark.
    if let Ok(v) = format!("app;dur={:.2}", started.elapsed().as_secs_f64() * 1000.0).parse() {
        headers.insert("server-timing", v);
    }
    if ok(from_query) {
        if let Ok(v) = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", dash.token).parse()
        {
            headers.append(header::SET_COOKIE, v);
        }
    }
    if let Some(lang) = set_lang {
        if let Ok(v) = format!("{LANG_COOKIE}={lang}; SameSite=Strict; Path=/").parse() {
            headers.append(header::SET_COOKIE, v);
        }
    }
    response
}

fn subtle_eq(a: &[u8], b: &[u8]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    if a.len() != b.len() {
        return subtle::Choice::from(0);
    }
    a.ct_eq(b)
}

fn lang(dash: &Dash, headers: &HeaderMap, query: Option<&str>) -> Lang {
    match query.or_else(|| cookie(headers, LANG_COOKIE)) {
        Some("en") => Lang::En,
        Some("fr") => Lang::Fr,
        _ => dash.default_lang,
    }
}

fn failure(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<h1>Error</h1><p>{}</p>",
            html::esc(&e.to_string())
        )),
    )
        .into_response()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> allervers_core::Result<T> + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(failure)?
        .map_err(failure)
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    lang: Option<String>,
}

async fn persons(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let search = q.q.clone().unwrap_or_default();
    let store = dash.store.clone();
    let query = PersonQuery {
        search: Some(search.clone()).filter(|s| !s.trim().is_empty()),
        sort: PersonSort::RecentlySeen,
        limit: 200,
        include_inactive: true,
    };
    match blocking(move || store.list_persons(&query)).await {
        Ok(list) => dash.page(
            lang,
            html::t(lang, "persons"),
            &html::persons(&list, &search, lang),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn households(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.households()).await {
        Ok(list) => dash.page(
            lang,
            html::t(lang, "households"),
            &html::households(&list, lang),
        ),
        Err(r) => r,
    }
}

async fn homes_at_risk(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.homes_at_risk()).await {
        Ok(list) => dash.page(
            lang,
            html::t(lang, "homes_at_risk"),
            &html::homes_at_risk(&list, lang),
        ),
        Err(r) => r,
    }
}

async fn offers(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.offers(true)).await {
        Ok(list) => dash.page(lang, html::t(lang, "offers"), &html::offers(&list, lang)),
        Err(r) => r,
    }
}

async fn offer(
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
    match blocking(move || store.offer_view(id)).await {
        Ok(view) => dash.page(lang, html::t(lang, "offers"), &html::offer(&view, lang)),
        Err(r) => r,
    }
}

/// A household's page: it shows its members' names and journey, so it is logged as a reading
/// of each member's file.
async fn household(
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
    let page = move || {
        let view = store.household_view(id)?;
        let reads: Vec<Access> = view
            .members
            .iter()
            .map(|m| Access::Person { person: m.person })
            .collect();
        if !reads.is_empty() {
            store.log_access(&reads, Via::Dashboard)?;
        }
        Ok(view)
    };
    match blocking(page).await {
        Ok(view) => {
            let title = view.household.label.clone().unwrap_or_default();
            dash.page(lang, &title, &html::household(&view, lang))
        }
        Err(r) => r,
    }
}

async fn person(
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
    let health_store = dash.health.clone();
    let page = move || {
        // With the records merged into them (`person merge`).
        let (p, timeline) = (store.merged_person(id)?, store.timeline(id)?);
        let journey = store.journey(id)?;
        let applications = store.applications(Some(allervers_core::Concerns::Person(id)))?;
        // A health professional's device: the health follow-up, its reading logged in the
        // health space's own access log.
        let health = health_store
            .map(|h| health::Followup::read(&h, &store, id))
            .transpose()?;
        // The page is shown only once its reading is logged.
        store.log_access(
            &[
                Access::Person { person: id },
                Access::Timeline { person: id },
            ],
            Via::Dashboard,
        )?;
        let log = if store.may_review()? {
            Some(crate::render::access_rows(
                &store,
                store.access_log(&AccessQuery {
                    person: Some(id),
                    ..Default::default()
                })?,
            ))
        } else {
            None
        };
        Ok((p, (journey, applications), timeline, log, health))
    };
    match blocking(page).await {
        Ok((p, housing, timeline, log, health)) => {
            let mut body = html::person(
                &p,
                (&housing.0, &housing.1),
                &timeline,
                log.as_deref(),
                &dash.token,
                lang,
            );
            if let Some(h) = &health {
                body.push_str(&h.html(lang));
            }
            dash.page(lang, &p.display_name(), &body)
        }
        Err(r) => r,
    }
}

/// A person's dossier as a file to download (coordinator): one self-contained HTML page, logged
/// in the access log like the command's.
async fn dossier(State(dash): State<Arc<Dash>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    match blocking(move || store.dossier(id, Via::Dashboard)).await {
        Ok(d) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"dossier-{id}.html\""),
                ),
            ],
            crate::dossier::html(&d),
        )
            .into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct AccessLogQuery {
    person: Option<String>,
    worker: Option<String>,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
}

/// The access log (coordinator), by person, worker and period.
async fn access_log(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<AccessLogQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let given = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let date = |s: &Option<String>| match given(s) {
        None => Ok(None),
        Some(s) => allervers_core::model::fields::parse_date(&s)
            .map(Some)
            .ok_or(()),
    };
    let (Ok(from), Ok(to)) = (date(&q.from), date(&q.to)) else {
        return failure("dates are YYYY-MM-DD");
    };
    let person = match given(&q.person).map(|p| p.parse::<RecordId>()) {
        Some(Err(_)) => return failure("not a record id"),
        Some(Ok(id)) => Some(id),
        None => None,
    };
    let query = AccessQuery {
        person,
        worker: given(&q.worker),
        from,
        to,
    };
    let store = dash.store.clone();
    let filters = html::AccessFilters {
        person: given(&q.person).unwrap_or_default(),
        worker: given(&q.worker).unwrap_or_default(),
        from: given(&q.from).unwrap_or_default(),
        to: given(&q.to).unwrap_or_default(),
    };
    match blocking(move || {
        Ok(crate::render::access_rows(
            &store,
            store.access_log(&query)?,
        ))
    })
    .await
    {
        Ok(rows) => dash.page(
            lang,
            html::t(lang, "access_log"),
            &html::access_log_page(&rows, &filters, lang),
        ),
        Err(r) => r,
    }
}

async fn conflicts(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.conflicts()).await {
        Ok(list) => dash.page(
            lang,
            html::t(lang, "conflicts"),
            &html::conflicts(&list, &dash.token, lang),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Resolve {
    /// Missing is as wrong as another token (403).
    #[serde(default)]
    token: String,
    record: String,
    field: String,
    value: String,
}

async fn resolve(State(dash): State<Arc<Dash>>, Form(form): Form<Resolve>) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let Ok(id) = form.record.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    match blocking(move || store.resolve(id, &form.field, &form.value)).await {
        Ok(()) => Redirect::to("/conflicts").into_response(),
        Err(r) => r,
    }
}

async fn duplicates(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.likely_duplicates()).await {
        Ok(pairs) => dash.page(
            lang,
            html::t(lang, "duplicates"),
            &html::duplicates(&pairs, &dash.token, lang),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Merge {
    /// Missing is as wrong as another token (403).
    #[serde(default)]
    token: String,
    keep: String,
    other: String,
}

/// A duplicate's form: OTHER merged into KEEP, then KEEP's page.
async fn merge(State(dash): State<Arc<Dash>>, Form(form): Form<Merge>) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let (Ok(keep), Ok(other)) = (
        form.keep.parse::<RecordId>(),
        form.other.parse::<RecordId>(),
    ) else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    match blocking(move || store.merge_persons(keep, other)).await {
        Ok(()) => Redirect::to(&format!("/person/{keep}")).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Unmerge {
    /// Missing is as wrong as another token (403).
    #[serde(default)]
    token: String,
}

/// A merged record's form on its person's page: the merge undone, then its own page.
async fn unmerge(
    State(dash): State<Arc<Dash>>,
    Path(id): Path<String>,
    Form(form): Form<Unmerge>,
) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let Ok(id) = id.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    match blocking(move || store.unmerge_person(id)).await {
        Ok(()) => Redirect::to(&format!("/person/{id}")).into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Erase {
    /// Missing is as wrong as another token (403).
    #[serde(default)]
    token: String,
    reason: String,
    confirm: Option<String>,
}

/// The erasure form of a person's page (confirmed by its checkbox): the person is erased here
/// and the order leaves at the next sync.
async fn erase(
    State(dash): State<Arc<Dash>>,
    Path(id): Path<String>,
    Form(form): Form<Erase>,
) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let Ok(id) = id.parse::<RecordId>() else {
        return failure("not a record id");
    };
    if form.confirm.as_deref() != Some("yes") {
        return (StatusCode::BAD_REQUEST, "the erasure was not confirmed").into_response();
    }
    let store = dash.store.clone();
    match blocking(move || store.erase_person(id, &form.reason, false)).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    team: Option<String>,
    lang: Option<String>,
}

async fn report(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let today = dash.store.now().date_naive();
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let parse = |s: &Option<String>, default: NaiveDate| {
        s.as_deref()
            .filter(|s| !s.is_empty())
            .map_or(Some(default), allervers_core::model::fields::parse_date)
    };
    let (Some(from), Some(to)) = (parse(&q.from, month_start), parse(&q.to, today)) else {
        return failure("dates are YYYY-MM-DD");
    };
    let store = dash.store.clone();
    let team = q.team.clone().filter(|t| !t.trim().is_empty());
    match blocking(move || store.report(from, to, team.as_deref())).await {
        Ok(r) => dash.page(lang, html::t(lang, "report"), &html::report(&r, lang)),
        Err(r) => r,
    }
}

async fn retention(
    State(dash): State<Arc<Dash>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = lang(&dash, &headers, q.lang.as_deref());
    let store = dash.store.clone();
    match blocking(move || store.retention_review()).await {
        Ok(review) => dash.page(
            lang,
            html::t(lang, "retention"),
            &html::retention(&review, &dash.token, lang),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct Keep {
    /// Missing is as wrong as another token (403).
    #[serde(default)]
    token: String,
    person: String,
    reason: String,
}

async fn keep(State(dash): State<Arc<Dash>>, Form(form): Form<Keep>) -> Response {
    if !dash.form_token_ok(&form.token) {
        return wrong_form_token();
    }
    let Ok(id) = form.person.parse::<RecordId>() else {
        return failure("not a record id");
    };
    let store = dash.store.clone();
    match blocking(move || store.retention_keep(id, &form.reason)).await {
        Ok(()) => Redirect::to("/retention").into_response(),
        Err(r) => r,
    }
}

/// A page this dashboard does not serve (another role's, or none).
async fn not_found(State(dash): State<Arc<Dash>>, headers: HeaderMap) -> Response {
    let lang = lang(&dash, &headers, None);
    let mut page = dash.page(
        lang,
        html::t(lang, "not_found"),
        &format!("<p>{}</p>", html::t(lang, "not_found_why")),
    );
    *page.status_mut() = StatusCode::NOT_FOUND;
    page
}

fn router(dash: Arc<Dash>) -> Router {
    let pages = match dash.pages {
        Pages::Team => {
            let mut team = Router::new()
                .route("/", get(persons))
                .route("/person/{id}", get(person))
                .route("/person/{id}/dossier", get(dossier))
                .route("/person/{id}/erase", post(erase))
                .route("/access-log", get(access_log))
                .route("/conflicts", get(conflicts))
                .route("/conflicts/resolve", post(resolve))
                .route("/duplicates", get(duplicates))
                .route("/households", get(households))
                .route("/homes", get(homes_at_risk))
                .route("/offers", get(offers))
                .route("/offer/{id}", get(offer))
                .route("/household/{id}", get(household))
                .route("/duplicates/merge", post(merge))
                .route("/person/{id}/unmerge", post(unmerge))
                .route("/report", get(report))
                .route("/retention", get(retention))
                .route("/retention/keep", post(keep));
            if dash.health.is_some() {
                team = team.route("/health", get(health::notes));
            }
            if !dash.partners.is_empty() {
                team = team.route("/partnerships", get(partnership::office));
            }
            team
        }
        Pages::Partnership => Router::new()
            .route("/", get(partnership::shared))
            .route("/projection/{id}", get(partnership::projection))
            .route("/projection/{id}/assessment", post(partnership::assessment)),
        Pages::Statistics => Router::new()
            .route("/", get(statistics::published))
            .route("/published/{id}", get(statistics::report)),
    };
    pages
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(dash.clone(), guard))
        .route("/style.css", get(style))
        .layer(middleware::from_fn_with_state(dash.clone(), protect))
        .with_state(dash)
}

/// Serves the dashboard until Ctrl-C. The address (with its token) is printed on stdout.
pub fn serve(view: View, lang: Lang, port: u16) -> Result<()> {
    let token: String = (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the dashboard")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .context("cannot listen on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let View {
            store,
            health,
            partners,
        } = view;
        let pages = match store.purpose() {
            Purpose::Team => Pages::Team,
            Purpose::Partnership(_) => Pages::Partnership,
            Purpose::Statistics => Pages::Statistics,
            Purpose::Health => anyhow::bail!("a health store has no dashboard of its own"),
        };
        let dash = Arc::new(Dash {
            store: Arc::new(store),
            pages,
            health: health.map(Arc::new),
            partners: partners
                .into_iter()
                .map(|(p, s)| (p, Arc::new(s)))
                .collect(),
            token: token.clone(),
            default_lang: lang,
            port: addr.port(),
        });
        // A closed stdout (the reader of the address went away) is no reason to panic.
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "Dashboard: http://{addr}/?token={token}");
        let _ = writeln!(
            stdout,
            "Only this computer can reach it; stop it with Ctrl-C."
        );
        let _ = stdout.flush();
        drop(stdout);
        axum::serve(listener, router(dash))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the dashboard stopped")
    })
}
