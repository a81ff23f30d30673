//! Attacks on the role dashboards that they withstand, against a real relay process: a
//! partner's device (its name and worker name made of markup) writes markup into the shared
//! assessment, and the partner's dashboard, the office's `--partner` dashboard and the office's
//! partnerships page serve only their role's pages, escape what the other side wrote, refuse the
//! assessment form's abuses without writing, log the projection's reading and keep serving
//! after ids that are not theirs; a damaged partnership store stops the office's dashboard with
//! one line.

use std::path::Path;

use allervers_e2e::RelayProcess;
use serde_json::Value;

use crate::commands::fails_with;
use crate::dashboard::Dashboard;
use crate::sync::{cli, json};

/// What the partner's device writes into the shared assessment, to become markup if unescaped.
const SCRIPT: &str = "<script>alert(1)</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=alert(1)>";
/// A value of several lines: a browser posts its line ends as CRLF.
const LINES: &str = "je veux un studio\nprès de la gare";
const DEVICE: &str = "Poste SIAO \"><img src=x onerror=alert(2)>";
const WORKER: &str = "<b>Hélène</b>";

/// Every byte not a letter or a digit, percent-encoded (a form's value).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Whether `html` holds markup that the partner's device wrote.
fn holds_their_markup(html: &str) -> bool {
    ["<script", "<img", "<b>"].iter().any(|m| html.contains(m))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn list(dir: &Path, args: &[&str]) -> Vec<Value> {
    json(dir, args).as_array().unwrap().clone()
}

#[test]
fn partner_and_office_dashboards_serve_their_role_escape_the_other_side_and_refuse_bad_forms() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (office_dir, siao_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (office, siao) = (office_dir.path(), siao_dir.path());
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(siao, &["init", "--device-name", DEVICE, "--worker", WORKER]);
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let add = |name: &str| {
        id(&json(
            office,
            &["person", "add", "--name", name, "--situation", "street"],
        ))
    };
    let (ludovic, theo, margaux) = (
        add("Ludovic Marchetti"),
        add("Théo Garnier"),
        add("Margaux Perrin"),
    );
    json(office, &["partnership", "open", "siao"]);
    let code = json(office, &["--partner", "siao", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(siao, &["partnership", "join", &code]);
    json(office, &["sync"]);
    json(siao, &["sync"]);
    // Ludovic consents to his identity and the assessment, Théo to his identity only, Margaux
    // to nothing; no one consents to share their situation.
    let consent = |person: &str, categories: &[&str]| {
        let mut args = vec!["consent", "record", person, "--partner", "siao"];
        for c in categories {
            args.extend(["--category", c]);
        }
        args.extend(["--given", "--how", "oral"]);
        json(office, &args);
    };
    consent(&ludovic, &["identity_contact", "shared_assessment"]);
    consent(&theo, &["identity_contact"]);
    json(office, &["partnership", "publish", "siao"]);
    json(office, &["sync"]);
    json(siao, &["sync"]);
    let shared = list(siao, &["partnership", "list"]);
    assert_eq!(shared.len(), 2, "{shared:?}");
    let projection_of = |name: &str| {
        id(shared
            .iter()
            .find(|p| p["name"] == name)
            .expect("a shared person"))
    };
    let (p_ludovic, p_theo) = (
        projection_of("Ludovic Marchetti"),
        projection_of("Théo Garnier"),
    );
    // The partner's device writes markup into the assessment.
    for set in [
        format!("needs={SCRIPT}"),
        format!("housing_sought={ATTRIBUTE}"),
        format!("own_words={LINES}"),
    ] {
        json(
            siao,
            &["partnership", "assessment", &p_ludovic, "--set", &set],
        );
    }
    json(siao, &["sync"]);
    json(office, &["sync"]);
    let history = |dir: &Path, args: &[&str], projection: &str| {
        let mut all = args.to_vec();
        all.extend(["partnership", "show", projection]);
        json(dir, &all)["history"].as_array().unwrap().len()
    };
    let written = history(siao, &[], &p_ludovic);
    assert!(written >= 3);

    // The partner's device: only its pages.
    let dash = Dashboard::start_with(&cli(siao), &["dashboard"]);
    let home = dash.get(&dash.with_token("/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Ludovic Marchetti") && home.body.contains("Théo Garnier"));
    assert!(!home.body.contains("Margaux"), "a person never shared");
    for path in [
        format!("/person/{ludovic}"),
        format!("/person/{ludovic}/dossier"),
        "/conflicts".into(),
        "/report".into(),
        "/access-log".into(),
        "/retention".into(),
        "/health".into(),
        "/partnerships".into(),
        format!("/published/{p_ludovic}"),
    ] {
        let page = dash.get(&dash.with_token(&path));
        assert_eq!(page.status, 404, "{path} on a partner's device");
        assert!(!page.body.contains("Ludovic"), "{path}");
    }
    for path in [
        "/conflicts/resolve".to_string(),
        "/retention/keep".into(),
        format!("/person/{ludovic}/erase"),
    ] {
        let form = format!("token={}&record={p_ludovic}&person={p_ludovic}&field=name&value=x&reason=x&confirm=yes", dash.token());
        assert_eq!(dash.post_form(&path, &form).status, 404, "{path}");
    }

    // The projection's page escapes what the partner wrote, its author's names too, shows no
    // field that was not consented, and its reading is logged.
    let logged = |dir: &Path, args: &[&str]| {
        let mut all = args.to_vec();
        all.push("access-log");
        list(dir, &all).len()
    };
    let page = dash.get(&dash.with_token(&format!("/projection/{p_ludovic}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!holds_their_markup(&page.body), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page
        .body
        .contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        page.body.contains("&lt;b&gt;Hélène&lt;/b&gt;"),
        "the author"
    );
    assert!(page.body.contains(r#"data-field="name""#));
    assert!(!page.body.contains(r#"data-field="situation""#));

    // The assessment's form: a wrong token, an unchanged form, fields it has not, a person who
    // did not consent, ids of no projection, a value too long, a body too large.
    let path = format!("/projection/{p_ludovic}/assessment");
    let unchanged = format!(
        "needs={}&resources=&autonomy=&housing_sought={}&own_words={}",
        encode(SCRIPT),
        encode(ATTRIBUTE),
        encode(&LINES.replace('\n', "\r\n"))
    );
    let wrong = dash.post_form(&path, &format!("token=0badc0de&{unchanged}&needs2=x"));
    assert_eq!(wrong.status, 403);
    let same = dash.post_form(&path, &format!("token={}&{unchanged}", dash.token()));
    assert_eq!(same.status, 303, "{}", same.body);
    assert_eq!(history(siao, &[], &p_ludovic), written, "nothing written");
    let extra = format!(
        "token={}&{unchanged}&projection={p_theo}&situation=squat&name=Autre&phone=0600000000",
        dash.token()
    );
    assert_eq!(dash.post_form(&path, &extra).status, 303);
    assert_eq!(
        history(siao, &[], &p_ludovic),
        written,
        "extra fields ignored"
    );
    let shown = json(siao, &["partnership", "show", &p_ludovic]);
    assert_eq!(shown["projection"]["name"], "Ludovic Marchetti");
    assert_eq!(shown["projection"]["situation"], Value::Null);
    let refused = dash.post_form(
        &format!("/projection/{p_theo}/assessment"),
        &format!("token={}&needs=domiciliation", dash.token()),
    );
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("consent"), "{}", refused.body);
    assert!(!refused.body.contains("domiciliation"));
    let theo_shown = json(siao, &["partnership", "show", &p_theo]);
    assert_eq!(theo_shown["projection"]["assessment"], Value::Null);
    for other in [&ludovic, &margaux, &"pas-un-id".to_string()] {
        let posted = dash.post_form(
            &format!("/projection/{other}/assessment"),
            &format!("token={}&needs=domiciliation", dash.token()),
        );
        assert_eq!(posted.status, 400, "{other}: {}", posted.body);
    }
    let long = format!("token={}&needs={}", dash.token(), "a".repeat(10_001));
    assert_eq!(dash.post_form(&path, &long).status, 400);
    let huge = format!("token={}&needs={}", dash.token(), "a".repeat(3_000_000));
    assert_eq!(dash.post_form(&path, &huge).status, 413);
    // A form without its token is refused as one with a wrong token; a form with one refused
    // field writes none of the others; bytes that are not UTF-8 are refused, not mangled.
    assert_eq!(dash.post_form(&path, "needs=domiciliation").status, 403);
    let one_refused = format!(
        "token={}&needs=domiciliation&own_words=bien%01",
        dash.token()
    );
    let refused = dash.post_form(&path, &one_refused);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("own_words"), "{}", refused.body);
    let latin1 = format!("token={}&needs=h%E9bergement", dash.token());
    let refused = dash.post_form(&path, &latin1);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("UTF-8"), "{}", refused.body);
    assert_eq!(history(siao, &[], &p_ludovic), written, "nothing written");
    // A field the form does not carry is left as the other side wrote it.
    let only_needs = format!("token={}&needs=domiciliation%20postale", dash.token());
    assert_eq!(dash.post_form(&path, &only_needs).status, 303);
    let after = json(siao, &["partnership", "show", &p_ludovic]);
    let after = &after["projection"]["assessment"];
    assert_eq!(after["needs"], "domiciliation postale");
    assert_eq!(after["housing_sought"], ATTRIBUTE);
    assert_eq!(after["own_words"], LINES);

    // Ids that are not a projection's, on a partner's device: refused, never a 500.
    let assessment = id(&shown["projection"]["assessment"]);
    for other in [
        &ludovic,
        &assessment,
        &"pas-un-id".to_string(),
        &"0".repeat(32),
    ] {
        let page = dash.get(&dash.with_token(&format!("/projection/{other}")));
        assert_eq!(page.status, 400, "{other}: {}", page.body);
    }
    assert_eq!(dash.get(&dash.with_token("/")).status, 200, "still serving");
    drop(dash);

    // The office's own partnership store: what the partner wrote is escaped there too, and a
    // person's id (the team's) is no projection.
    let dash = Dashboard::start_with(&cli(office), &["--partner", "siao", "dashboard"]);
    let before = logged(office, &["--partner", "siao"]);
    let page = dash.get(&dash.with_token(&format!("/projection/{p_ludovic}")));
    assert_eq!(page.status, 200);
    assert!(!holds_their_markup(&page.body), "{}", page.body);
    assert!(page.body.contains("&lt;b&gt;Hélène&lt;/b&gt;"));
    assert!(logged(office, &["--partner", "siao"]) > before);
    for path in [
        format!("/projection/{ludovic}"),
        format!("/person/{ludovic}"),
    ] {
        let page = dash.get(&dash.with_token(&path));
        assert!(page.status == 400 || page.status == 404, "{path}");
        assert!(!page.body.contains("Ludovic"), "{path}: {}", page.body);
    }
    assert!(!holds_their_markup(&dash.get(&dash.with_token("/")).body));
    drop(dash);

    // Théo withdraws: the partner's device carries out the order and acknowledges it; the
    // office's partnerships page names that device, escaped.
    json(
        office,
        &[
            "consent",
            "record",
            &theo,
            "--partner",
            "siao",
            "--category",
            "identity_contact",
            "--refused",
            "--how",
            "oral",
        ],
    );
    for d in [office, siao, siao, office] {
        json(d, &["sync"]);
    }
    // The partner's device logged its reading of the projection: the office reads it.
    let log = list(office, &["--partner", "siao", "access-log"]);
    assert!(
        log.iter().any(|e| e["via"] == "dashboard"
            && e["person"] == p_ludovic.as_str()
            && e["device_name"] == DEVICE),
        "{log:?}"
    );
    let dash = Dashboard::start_with(&cli(office), &["dashboard"]);
    let page = dash.get(&dash.with_token("/partnerships"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"id="partner-siao""#));
    assert!(
        page.body
            .contains("Poste SIAO &quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "{}",
        page.body
    );
    assert!(!holds_their_markup(&page.body), "{}", page.body);
    // The team's pages do not answer a projection's id, nor serve a projection page.
    assert_eq!(
        dash.get(&dash.with_token(&format!("/projection/{p_ludovic}")))
            .status,
        404
    );
    assert_eq!(
        dash.get(&dash.with_token(&format!("/person/{p_ludovic}")))
            .status,
        400
    );
    assert_eq!(dash.get(&dash.with_token("/")).status, 200, "still serving");
    drop(dash);

    // On the partner's device, Théo's erased projection is gone from every page.
    let dash = Dashboard::start_with(&cli(siao), &["dashboard"]);
    assert!(!dash.get(&dash.with_token("/")).body.contains("Théo"));
    let page = dash.get(&dash.with_token(&format!("/projection/{p_theo}")));
    assert_eq!(page.status, 400);
    assert!(!page.body.contains("Théo"), "{}", page.body);
    assert_eq!(dash.get(&dash.with_token("/projection/%FF%FE")).status, 400);
    drop(dash);

    // A damaged partnership store: the office's dashboard stops with one line.
    let damaged = office.join("partnerships").join("bailleur");
    std::fs::create_dir_all(&damaged).unwrap();
    std::fs::write(damaged.join("store.db"), b"pas une base").unwrap();
    fails_with(&mut cli(office), &["dashboard"]);
    std::fs::remove_dir_all(&damaged).unwrap();
    // The one passphrase opens every store; a wrong one stops the dashboard with one line.
    fails_with(
        cli(office).env("ALLERVERS_KEY", "pas la bonne phrase"),
        &["dashboard"],
    );
}

#[test]
fn statistics_and_health_dashboards_serve_their_role_escape_notes_and_log_the_follow_up() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (office, reader, nurse) = (dirs[0].path(), dirs[1].path(), dirs[2].path());
    for (d, device, worker) in [
        (office, "Poste bureau", "Sophie"),
        (reader, "Poste direction", "Régine"),
        (nurse, "Téléphone infirmière", "Amina"),
    ] {
        json(d, &["init", "--device-name", device, "--worker", worker]);
    }
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    let invite = json(office, &["invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(nurse, &["join", &invite]);
    json(office, &["sync"]);
    let baptiste = id(&json(
        office,
        &[
            "person",
            "add",
            "--name",
            "Baptiste Quévremont",
            "--need",
            "housing",
        ],
    ));
    json(
        office,
        &[
            "encounter",
            "log",
            "--person",
            "Baptiste",
            "--place",
            "Quai de Valmy",
            "--service",
            "food",
            "--at",
            "2026-03-10 21:00",
        ],
    );
    json(office, &["statistics", "open"]);
    let invite = json(office, &["--statistics", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(reader, &["statistics", "join", &invite]);
    json(office, &["sync"]);
    json(
        office,
        &[
            "statistics",
            "publish",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
        ],
    );
    json(office, &["sync"]);
    json(reader, &["sync"]);
    json(nurse, &["sync"]);
    let code = json(office, &["health", "code"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(nurse, &["health", "found", &code]);
    let note = json(
        nurse,
        &[
            "health",
            "note",
            "Baptiste",
            "--category",
            "care",
            "--text",
            "<script>alert(3)</script> pansement refait",
            "--next-step",
            "\"><img src=x onerror=alert(4)>",
        ],
    )["note"]
        .as_str()
        .unwrap()
        .to_string();

    // A statistics device: the published reports only.
    let published = list(reader, &["statistics", "list"]);
    let report = id(&published[0]);
    let dash = Dashboard::start_with(&cli(reader), &["dashboard"]);
    let home = dash.get(&dash.with_token("/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&format!("/published/{report}")));
    let page = dash.get(&dash.with_token(&format!("/published/{report}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("Baptiste") && !page.body.contains("Valmy"));
    for path in [
        format!("/person/{baptiste}"),
        format!("/projection/{baptiste}"),
        "/health".into(),
        "/conflicts".into(),
        "/report".into(),
        "/access-log".into(),
        "/partnerships".into(),
    ] {
        assert_eq!(dash.get(&dash.with_token(&path)).status, 404, "{path}");
    }
    for other in [&baptiste, &note, &"pas-un-id".to_string(), &"0".repeat(32)] {
        let page = dash.get(&dash.with_token(&format!("/published/{other}")));
        assert_eq!(page.status, 400, "{other}: {}", page.body);
    }
    assert_eq!(dash.get(&dash.with_token("/")).status, 200, "still serving");
    drop(dash);

    // The office holds no health store: no health page, no health content on a person's page
    // (the health contact the note made reached it: that a professional met the person).
    json(nurse, &["sync"]);
    json(office, &["sync"]);
    let dash = Dashboard::start_with(&cli(office), &["dashboard"]);
    assert_eq!(dash.get(&dash.with_token("/health")).status, 404);
    let page = dash.get(&dash.with_token(&format!("/person/{baptiste}")));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("vu(e) par un professionnel de santé"));
    for health in ["pansement", "alert(3)", "soins", r#"id="health""#] {
        assert!(!page.body.contains(health), "{health}: {}", page.body);
    }
    drop(dash);

    // The health professional's device: the follow-up escaped, its reading logged in the health
    // space's access log; no other role's page, and a note's id is no person.
    fails_with(&mut cli(nurse), &["--health", "dashboard"]);
    let logged = || list(nurse, &["--health", "access-log"]).len();
    let before = logged();
    let dash = Dashboard::start_with(&cli(nurse), &["dashboard"]);
    let page = dash.get(&dash.with_token(&format!("/person/{baptiste}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains("&lt;script&gt;alert(3)&lt;/script&gt; pansement refait"));
    assert!(page
        .body
        .contains("&quot;&gt;&lt;img src=x onerror=alert(4)&gt;"));
    assert!(!holds_their_markup(&page.body), "{}", page.body);
    // The list of notes says whom and when, nothing of what they say (so it is not logged).
    let notes = dash.get(&dash.with_token("/health"));
    assert_eq!(notes.status, 200);
    assert!(!holds_their_markup(&notes.body));
    assert!(
        notes.body.contains(r#"<a href="/person/"#),
        "{}",
        notes.body
    );
    for said in ["soins", "pansement", "alert("] {
        assert!(!notes.body.contains(said), "{said}: {}", notes.body);
    }
    for path in [
        format!("/projection/{baptiste}"),
        format!("/published/{baptiste}"),
    ] {
        assert_eq!(dash.get(&dash.with_token(&path)).status, 404, "{path}");
    }
    let page = dash.get(&dash.with_token(&format!("/person/{note}")));
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(dash.get(&dash.with_token("/")).status, 200, "still serving");
    drop(dash);
    assert!(logged() > before, "the follow-up's reading is logged");
}

#[test]
fn a_restricted_device_dashboard_shows_identity_and_situation_and_no_assessment_form() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (office_dir, volunteer_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (office, volunteer) = (office_dir.path(), volunteer_dir.path());
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        volunteer,
        &[
            "init",
            "--device-name",
            "Tablette bénévole",
            "--worker",
            "Rémi",
        ],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let person = id(&json(
        office,
        &[
            "person",
            "add",
            "--name",
            "Ludovic Marchetti",
            "--situation",
            "street",
            "--need",
            "housing",
        ],
    ));
    json(office, &["partnership", "open", "restricted"]);
    let code = json(office, &["--partner", "restricted", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(volunteer, &["partnership", "join", &code]);
    json(office, &["sync"]);
    json(volunteer, &["sync"]);
    json(office, &["partnership", "publish", "restricted"]);
    json(office, &["sync"]);
    json(volunteer, &["sync"]);
    let shared = list(volunteer, &["partnership", "list"]);
    assert_eq!(shared.len(), 1, "{shared:?}");
    let projection = id(&shared[0]);

    let dash = Dashboard::start_with(&cli(volunteer), &["dashboard"]);
    let home = dash.get(&dash.with_token("/"));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Ludovic Marchetti"));
    let page = dash.get(&dash.with_token(&format!("/projection/{projection}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"data-field="situation""#));
    assert!(page.body.contains(r#"id="no-assessment""#));
    assert!(!page.body.contains(r#"<form id="assessment""#));
    let posted = dash.post_form(
        &format!("/projection/{projection}/assessment"),
        &format!("token={}&needs=domiciliation", dash.token()),
    );
    assert_eq!(posted.status, 400);
    assert!(posted.body.contains("consent"), "{}", posted.body);
    for path in [
        format!("/person/{person}"),
        "/conflicts".into(),
        "/report".into(),
        "/health".into(),
        "/partnerships".into(),
        format!("/published/{projection}"),
    ] {
        assert_eq!(dash.get(&dash.with_token(&path)).status, 404, "{path}");
    }
    assert!(
        list(volunteer, &["partnership", "list"])[0]["assessment"].is_null(),
        "nothing written"
    );
}
