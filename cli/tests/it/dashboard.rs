//! The local dashboard as a browser meets it, spoken to over raw HTTP/1.1 so that every header
//! (the `Host` above all) is the test's own: the security headers on every response, and a
//! request for another host refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};

use crate::commands::{cli, init, json};

/// A running `allervers dashboard`, stopped when dropped.
pub(crate) struct Dashboard {
    child: Child,
    /// Kept open: the dashboard prints more than its address.
    _stdout: BufReader<ChildStdout>,
    /// `127.0.0.1:PORT`
    addr: String,
    token: String,
}

impl Dashboard {
    pub(crate) fn start(dir: &Path) -> Dashboard {
        Dashboard::start_with(&cli(dir), &["dashboard"])
    }

    /// `cmd` (its program, arguments and environment) followed by `args`, which start a
    /// dashboard: `--partner P dashboard` on the office, `dashboard` on another device.
    pub(crate) fn start_with(cmd: &assert_cmd::Command, args: &[&str]) -> Dashboard {
        let mut child = std::process::Command::new(cmd.get_program())
            .args(cmd.get_args())
            .envs(
                cmd.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .env_remove("ALLERVERS_DATA")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let url = line.trim().trim_start_matches("Dashboard: http://");
        let (addr, token) = url.split_once("/?token=").expect("the printed address");
        Dashboard {
            addr: addr.to_string(),
            token: token.to_string(),
            child,
            _stdout: stdout,
        }
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    fn port(&self) -> &str {
        self.addr.rsplit_once(':').unwrap().1
    }

    /// Sends one request line and headers (`Host` is the caller's, or none) and reads the whole
    /// answer: status, headers (names in lower case) and body.
    pub(crate) fn send(&self, request_line: &str, host: Option<&str>) -> Answer {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let mut request = format!("{request_line}\r\nConnection: close\r\n");
        if let Some(host) = host {
            request.push_str(&format!("Host: {host}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {raw:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// A form posted to `path` (with the token in the address) for the dashboard's own address.
    pub(crate) fn post_form(&self, path: &str, form: &str) -> Answer {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            self.with_token(path),
            self.addr,
            form.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {raw:?}"));
        Answer {
            status,
            headers: Vec::new(),
            body: raw,
        }
    }

    /// A GET of `path` for the dashboard's own address.
    pub(crate) fn get(&self, path: &str) -> Answer {
        self.send(&format!("GET {path} HTTP/1.1"), Some(&self.addr))
    }

    pub(crate) fn with_token(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}token={}", self.token)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn dashboard_with_a_person() -> (tempfile::TempDir, Dashboard, String) {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), "Poste bureau", "Sophie");
    let id = json(dir.path(), &["person", "add", "--name", "Karim"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dashboard = Dashboard::start(dir.path());
    (dir, dashboard, id)
}

/// Whether an HTML text holds an inline event handler (` onclick=`, ` onload=`...).
fn has_event_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(i, _)| {
        let rest = &html[i + 3..];
        let name = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        name > 0 && rest[name..].starts_with('=')
    })
}

fn assert_protected(what: &str, answer: &Answer) {
    assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        answer.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    let csp = answer
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    for directive in [
        "default-src 'self'",
        "script-src 'none'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
}

#[test]
fn every_dashboard_response_forbids_caching_framing_sniffing_and_inline_code() {
    let (_dir, dashboard, karim) = dashboard_with_a_person();
    let pages = [
        ("persons", dashboard.with_token("/")),
        ("search", dashboard.with_token("/?q=karim")),
        ("person", dashboard.with_token(&format!("/person/{karim}"))),
        ("conflicts", dashboard.with_token("/conflicts")),
        ("report", dashboard.with_token("/report?lang=en")),
        ("access log", dashboard.with_token("/access-log")),
        ("retention", dashboard.with_token("/retention")),
    ];
    for (what, path) in &pages {
        let answer = dashboard.get(path);
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        assert_protected(what, &answer);
        // The policy lets no inline code run: the pages hold none.
        let body = answer.body.to_ascii_lowercase();
        for inline in ["<script", "<style", " style=", "javascript:"] {
            assert!(!body.contains(inline), "{what} holds {inline:?}");
        }
        assert!(
            !has_event_handler(&body),
            "{what} holds an on...= attribute"
        );
        assert!(answer.body.contains(r#"href="/style.css""#), "{what}");
    }
    assert!(dashboard.get(&pages[2].1).body.contains("Karim"));

    let css = dashboard.get("/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.body.contains("font-family"));
    assert_protected("style sheet", &css);

    let no_token = dashboard.get("/");
    assert_eq!(no_token.status, 401);
    assert_protected("401", &no_token);
    let missing = dashboard.get(&dashboard.with_token("/nowhere"));
    assert_eq!(missing.status, 404);
    assert_protected("404", &missing);
    let bad_id = dashboard.get(&dashboard.with_token("/person/not-an-id"));
    assert_eq!(bad_id.status, 400);
    assert_protected("400", &bad_id);
}

/// A web page of another site whose name was rebound to 127.0.0.1 reaches the dashboard's port
/// with its own name in `Host`: refused, token or not, before anything is read.
#[test]
fn the_dashboard_refuses_a_request_for_another_host() {
    let (_dir, dashboard, _) = dashboard_with_a_person();
    let port = dashboard.port().to_string();
    let page = dashboard.with_token("/");
    let get = format!("GET {page} HTTP/1.1");
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
    ] {
        assert_eq!(dashboard.send(&get, Some(&host)).status, 200, "{host}");
    }
    for host in [
        Some(format!("evil.example:{port}")),
        Some("evil.example".to_string()),
        Some(format!("127.0.0.1.evil.example:{port}")),
        Some("127.0.0.1".to_string()),
        Some(format!("localhost:{}", port.parse::<u32>().unwrap() + 1)),
        Some(format!("[::1]:{port}")),
        None,
    ] {
        let answer = dashboard.send(&get, host.as_deref());
        assert!(
            answer.status == 421 || answer.status == 400,
            "{host:?}: {} {}",
            answer.status,
            answer.body
        );
        assert!(!answer.body.contains("Karim"), "{host:?}");
        assert_eq!(
            answer.body.trim_end().lines().count(),
            1,
            "{host:?}: one short reason"
        );
        assert_protected(&format!("{host:?}"), &answer);
    }
    // A request line naming another host is refused too, whatever `Host` says.
    let absolute = dashboard.send(
        &format!("GET http://evil.example:{port}{page} HTTP/1.1"),
        Some(&dashboard.addr),
    );
    assert!(
        absolute.status == 421 || absolute.status == 400,
        "{}",
        absolute.status
    );
    assert!(!absolute.body.contains("Karim"));
}

/// The person's page is logged when it is shown, lists who consulted the file and links to the
/// dossier, which downloads as one self-contained page; the access-log page lists every read.
#[test]
fn the_person_page_is_logged_lists_its_readers_and_offers_the_dossier() {
    let (_dir, dashboard, karim) = dashboard_with_a_person();
    let page = dashboard.get(&dashboard.with_token(&format!("/person/{karim}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!(r#"href="/person/{karim}/dossier""#)),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("Consultations et exports de cette fiche"));
    // The page's own reading is listed there: the file and the timeline, by Sophie.
    assert_eq!(
        page.body.matches(r#"<tr class="access">"#).count(),
        2,
        "{}",
        page.body
    );
    assert!(page.body.contains("fiche consultée") && page.body.contains("historique consulté"));

    let download = dashboard.get(&dashboard.with_token(&format!("/person/{karim}/dossier")));
    assert_eq!(download.status, 200, "{}", download.body);
    assert_eq!(
        download.header("content-disposition"),
        Some(format!(r#"attachment; filename="dossier-{karim}.html""#).as_str())
    );
    assert!(download.body.contains("<h1>Dossier de Karim</h1>"));
    assert!(download.body.contains("@media print"));
    assert!(!download.body.contains("<script") && !download.body.contains("src="));

    let log = dashboard.get(&dashboard.with_token(&format!("/access-log?person={karim}&lang=en")));
    assert_eq!(log.status, 200, "{}", log.body);
    assert_eq!(
        log.body.matches(r#"<tr class="access">"#).count(),
        3,
        "{}",
        log.body
    );
    assert!(log.body.contains("dossier written"));
    let none = dashboard.get(&dashboard.with_token("/access-log?worker=Julien"));
    assert!(none.body.contains(r#"id="no-access""#), "{}", none.body);
}

#[test]
fn the_retention_page_lists_a_person_not_met_for_the_period_and_keeps_the_file_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let id = json(d, &["person", "add", "--name", "Léontine"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let old = (chrono::Utc::now() - chrono::Duration::days(900))
        .format("%Y-%m-%d 18:00")
        .to_string();
    json(d, &["encounter", "log", "--person", &id, "--at", &old]);
    let dashboard = Dashboard::start(d);

    let page = dashboard.get(&dashboard.with_token("/retention"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Revue de conservation"), "{}", page.body);
    assert!(page.body.contains("Léontine"));
    assert!(page.body.contains(&format!(r#"data-person="{id}""#)));
    assert!(page.body.contains(r#"action="/retention/keep""#));
    let english = dashboard.get(&dashboard.with_token("/retention?lang=en"));
    assert!(english.body.contains("Retention review") && english.body.contains("Keep"));

    let wrong = dashboard.post_form(
        "/retention/keep",
        &format!("token=faux&person={id}&reason=motif"),
    );
    assert_eq!(wrong.status, 403);
    let kept = dashboard.post_form(
        "/retention/keep",
        &format!(
            "token={}&person={id}&reason=Demande+de+logement+en+cours",
            dashboard.token
        ),
    );
    assert_eq!(kept.status, 303, "{}", kept.body);
    let page = dashboard.get(&dashboard.with_token("/retention"));
    assert!(page.body.contains(r#"id="no-review""#), "{}", page.body);
    drop(dashboard);
    let history = crate::commands::ok(d, &["history", &id]);
    assert!(
        history.contains("Demande de logement en cours"),
        "{history}"
    );
}

#[test]
fn a_person_is_erased_from_the_dashboard_only_with_the_form_token_and_the_box_ticked() {
    let (_dir, dashboard, karim) = dashboard_with_a_person();
    let page = dashboard.get(&dashboard.with_token(&format!("/person/{karim}")));
    let action = format!("/person/{karim}/erase");
    assert!(
        page.body.contains(&format!(r#"action="{action}""#)),
        "the form is on the page"
    );
    let token = dashboard.token.clone();

    let forged = dashboard.post_form(&action, "token=autre&reason=demande&confirm=yes");
    assert_eq!(forged.status, 403);
    let unconfirmed = dashboard.post_form(&action, &format!("token={token}&reason=demande"));
    assert_eq!(unconfirmed.status, 400);
    let no_reason = dashboard.post_form(&action, &format!("token={token}&reason=&confirm=yes"));
    assert_eq!(no_reason.status, 400);
    assert!(dashboard
        .get(&dashboard.with_token("/"))
        .body
        .contains("Karim"));

    let done = dashboard.post_form(
        &action,
        &format!("token={token}&reason=demande+de+la+personne&confirm=yes"),
    );
    assert!(done.status == 303 || done.status == 302, "{}", done.status);
    assert!(!dashboard
        .get(&dashboard.with_token("/"))
        .body
        .contains("Karim"));
    assert_ne!(
        dashboard
            .get(&dashboard.with_token(&format!("/person/{karim}")))
            .status,
        200
    );
}

#[test]
fn a_health_store_has_no_dashboard_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), "Téléphone infirmière", "Amina");
    let refused = crate::commands::fails(dir.path(), &["--health", "dashboard"]);
    assert!(refused.contains("on each person's page"), "{refused}");
}
