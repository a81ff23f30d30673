//! The command line, driven as a person would: real processes, real stores in temporary
//! folders, keys and passphrases from the environment.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

pub(crate) const KEY: &str = "clé de test du magasin";
pub(crate) const BUNDLE: &str = "phrase du bundle de test";

pub(crate) fn cli(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("allervers").unwrap();
    cmd.arg("--data")
        .arg(dir)
        .env("ALLERVERS_KEY", KEY)
        .env("ALLERVERS_BUNDLE_PASSPHRASE", BUNDLE)
        .env_remove("ALLERVERS_DATA");
    cmd
}

pub(crate) fn ok(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &all)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

/// Runs a command that must fail; returns its stderr, checked to be one line.
pub(crate) fn fails(dir: &Path, args: &[&str]) -> String {
    fails_with(&mut cli(dir), args)
}

pub(crate) fn fails_with(cmd: &mut Command, args: &[&str]) -> String {
    let out = cmd.args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should have failed");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected, got: {err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

pub(crate) fn init(dir: &Path, device: &str, worker: &str) {
    ok(dir, &["init", "--device-name", device, "--worker", worker]);
}

#[test]
fn a_field_session_from_init_to_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Téléphone maraude 1", "Amina");
    let helene = json(
        d,
        &[
            "person",
            "add",
            "--name",
            "Hélène",
            "--nickname",
            "la Fée",
            "--situation",
            "street",
            "--need",
            "health",
        ],
    );
    let id = helene["id"].as_str().unwrap().to_string();
    json(d, &["person", "add", "--nickname", "Papi"]);

    // Search is accent- and case-insensitive.
    let found = json(d, &["person", "list", "--search", "HELENE"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], id.as_str());

    // A person can be named instead of an id when the name is unique.
    json(
        d,
        &[
            "encounter",
            "log",
            "--person",
            "helene",
            "--place",
            "Gare de l'Est",
            "--service",
            "food",
            "--service",
            "blanket",
            "--at",
            "2026-01-10 21:30",
        ],
    );
    json(
        d,
        &[
            "encounter",
            "log",
            "--anonymous",
            "3",
            "--place",
            "Canal Saint-Martin",
        ],
    );
    json(
        d,
        &[
            "person",
            "edit",
            &id,
            "--situation",
            "emergency_shelter",
            "--need",
            "papers",
        ],
    );
    let action = json(
        d,
        &[
            "action",
            "add",
            &id,
            "--title",
            "Dossier SIAO",
            "--category",
            "siao_referral",
            "--due",
            "2026-01-01",
        ],
    );
    let due = json(d, &["action", "due"]);
    assert_eq!(due[0]["overdue"], true);
    json(
        d,
        &[
            "action",
            "done",
            action["id"].as_str().unwrap(),
            "--comment",
            "Dossier déposé",
        ],
    );
    let referral = json(d, &["referral", "add", &id, "--to", "pass_health"]);
    json(
        d,
        &[
            "referral",
            "update",
            referral["id"].as_str().unwrap(),
            "--status",
            "accepted",
        ],
    );
    json(
        d,
        &[
            "observation",
            "add",
            "--territory",
            "Canal Saint-Martin",
            "--count",
            "tentes=12",
        ],
    );

    let person = json(d, &["person", "show", &id]);
    assert_eq!(person["situation"], "emergency_shelter");
    assert_eq!(person["needs"], serde_json::json!(["health", "papers"]));

    let timeline = json(d, &["timeline", &id]);
    let types: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["item"]["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"encounter")
            && types.contains(&"action")
            && types.contains(&"referral")
            && types.contains(&"change"),
        "{types:?}"
    );
    let text = ok(d, &["timeline", "Hélène"]);
    assert!(
        text.contains("Gare de l'Est") && text.contains("Amina"),
        "{text}"
    );

    let history = json(d, &["history", &id]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["field"] == "situation"
            && h["new"] == "emergency_shelter"
            && h["old"][0] == "street"));

    // export-doc writes a document any Automerge implementation loads.
    let out = d.join("helene.automerge");
    ok(d, &["export-doc", &id, "--out", out.to_str().unwrap()]);
    let doc = automerge::AutoCommit::load(&std::fs::read(&out).unwrap()).unwrap();
    use automerge::ReadDoc;
    assert_eq!(
        doc.get(automerge::ROOT, "name")
            .unwrap()
            .unwrap()
            .0
            .as_str(),
        Some("Hélène")
    );
}

#[test]
fn bad_input_gets_one_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = fails(d, &["person", "list"]);
    assert!(err.contains("allervers init"), "{err}");
    init(d, "Téléphone", "Amina");
    assert!(fails(d, &["person", "add"]).contains("name"));
    assert!(fails(
        d,
        &["person", "add", "--name", "Jo", "--situation", "castle"]
    )
    .contains("situation"));
    assert!(fails(
        d,
        &[
            "person",
            "add",
            "--name",
            "Jo",
            "--birth-date",
            "1850-01-01"
        ]
    )
    .contains("before 1900"));
    assert!(fails(d, &["encounter", "log", "--place", "Parvis"]).contains("persons"));
    assert!(fails(
        d,
        &[
            "encounter",
            "log",
            "--anonymous",
            "1",
            "--at",
            "2999-01-01 10:00"
        ]
    )
    .contains("future"));
    assert!(fails(
        d,
        &["person", "show", "0190f0c2-0000-7000-8000-000000000000"]
    )
    .contains("unknown record"));
    assert!(fails(d, &["history", "not-an-id"]).contains("record id"));
    assert!(fails(d, &["seed", "--days", "200000000"]).contains("days"));
    assert!(fails(d, &["changes", "import", "/nonexistent/file"]).contains("cannot read"));
    assert!(fails(d, &["init", "--device-name", "again"]).contains("already exists"));
    // A wrong key is refused, and the store is untouched.
    let err = fails_with(
        cli(d).env("ALLERVERS_KEY", "pas la bonne clé"),
        &["person", "list"],
    );
    assert!(err.contains("wrong key"), "{err}");
    assert!(json(d, &["person", "list"]).as_array().unwrap().is_empty());
}

#[test]
fn two_stores_merge_through_bundle_files_and_a_conflict_is_resolved() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a_dir.path(), b_dir.path());
    init(a, "Téléphone A", "Amina");
    init(b, "Téléphone B", "Julien");
    let karim = json(a, &["person", "add", "--name", "Karim"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bundle = a.join("a.bundle");
    ok(a, &["changes", "export", "--out", bundle.to_str().unwrap()]);
    json(b, &["changes", "import", bundle.to_str().unwrap()]);

    ok(a, &["person", "edit", &karim, "--situation", "hotel"]);
    ok(b, &["person", "edit", &karim, "--situation", "squat"]);
    let back = b.join("b.bundle");
    ok(a, &["changes", "export", "--out", bundle.to_str().unwrap()]);
    ok(b, &["changes", "export", "--out", back.to_str().unwrap()]);
    let into_b = json(b, &["changes", "import", bundle.to_str().unwrap()]);
    assert_eq!(into_b["new_conflicts"], 1);
    json(a, &["changes", "import", back.to_str().unwrap()]);
    let again = json(a, &["changes", "import", back.to_str().unwrap()]);
    assert_eq!(again["new_changes"], 0, "importing twice changes nothing");

    let conflicts = json(a, &["conflicts"]);
    assert_eq!(conflicts.as_array().unwrap().len(), 1);
    assert_eq!(conflicts[0]["field"], "situation");
    let workers: Vec<&str> = conflicts[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["author"]["worker"].as_str().unwrap())
        .collect();
    assert!(workers.contains(&"Amina") && workers.contains(&"Julien"));
    assert!(fails(a, &["resolve", &karim, "situation", "palace"]).contains("situation"));
    ok(a, &["resolve", &karim, "situation", "hotel"]);
    assert!(json(a, &["conflicts"]).as_array().unwrap().is_empty());

    // A tampered bundle is refused whole.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    let tampered = a.join("tampered.bundle");
    std::fs::write(&tampered, bytes).unwrap();
    assert!(fails(b, &["changes", "import", tampered.to_str().unwrap()]).contains("refused"));
    let wrong = cli(b)
        .env("ALLERVERS_BUNDLE_PASSPHRASE", "autre")
        .args(["changes", "import", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
}

/// The office adds its own code to a list; another store learns it with the next exchange.
#[test]
fn an_organisation_code_is_added_listed_and_reaches_another_store() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    init(&a, "Poste bureau", "Sophie");
    init(&b, "Téléphone maraude", "Yanis");
    assert!(fails(
        &a,
        &["code", "add", "snacks", "chips", "--fr", "x", "--en", "y"]
    )
    .contains("not a code list"));
    assert!(fails(
        &a,
        &[
            "code",
            "add",
            "service",
            "Phone Charge",
            "--fr",
            "x",
            "--en",
            "y"
        ]
    )
    .contains("lowercase"));
    assert!(fails(
        &a,
        &["code", "add", "service", "food", "--fr", "repas", "--en", "meal"]
    )
    .contains("already"));
    ok(
        &a,
        &[
            "code",
            "add",
            "service",
            "phone_charge",
            "--fr",
            "recharge de téléphone",
            "--en",
            "phone charging",
        ],
    );
    let listed = json(&a, &["code", "list", "service"]);
    let rows = listed.as_array().unwrap();
    assert!(rows
        .iter()
        .any(|r| r["code"] == "food" && r["organisation"] == false));
    let own: Vec<_> = rows.iter().filter(|r| r["organisation"] == true).collect();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["code"], "phone_charge");
    assert_eq!(own[0]["fr"], "recharge de téléphone");
    assert!(ok(&a, &["code", "list", "service"]).contains("recharge de téléphone  (organisation)"));

    // The phone does not know the code yet, then learns it from the office's changes.
    let log = [
        "encounter",
        "log",
        "--anonymous",
        "1",
        "--service",
        "phone_charge",
    ];
    assert!(fails(&b, &log).contains("services"));
    let bundle = dir.path().join("office.bundle");
    ok(
        &a,
        &["changes", "export", "--out", bundle.to_str().unwrap()],
    );
    json(&b, &["changes", "import", bundle.to_str().unwrap()]);
    let on_phone = json(&b, &["code", "list", "service"]);
    assert!(on_phone
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "phone_charge" && r["en"] == "phone charging"));
    let logged = json(&b, &log);
    let id = logged["id"].as_str().unwrap();
    let shown = ok(&b, &["encounter", "show", id]);
    assert!(shown.contains("recharge de téléphone"), "{shown}");
    let shown = ok(&b, &["--lang", "en", "encounter", "show", id]);
    assert!(shown.contains("phone charging"), "{shown}");
}

#[test]
fn seed_generates_data_and_demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let seeded = json(d, &["seed", "--persons", "30", "--encounters", "200"]);
    assert_eq!(seeded["encounters"], 200);
    let listed = json(d, &["person", "list", "--limit", "10"]);
    assert_eq!(listed.as_array().unwrap().len(), 10);
    assert!(listed[0]["last_seen_at"].is_string());

    let demo = ok(d, &["demo"]);
    assert!(
        demo.contains("same records with the same heads: yes"),
        "{demo}"
    );
    assert!(demo.contains("0 open conflict"), "{demo}");
    assert!(demo.contains("Timeline of Karim"), "{demo}");
}

#[test]
fn report_and_exports_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    json(
        d,
        &[
            "seed",
            "--persons",
            "40",
            "--encounters",
            "300",
            "--days",
            "60",
        ],
    );
    let today = chrono_today();
    let from = (today - chrono::Duration::days(29))
        .format("%Y-%m-%d")
        .to_string();
    let to = today.format("%Y-%m-%d").to_string();
    let report = json(d, &["report", "--from", &from, "--to", &to]);
    let encounters = report["encounters"]["current"].as_i64().unwrap();
    assert_eq!(report["sections"][0]["key"], "activity", "{report}");
    assert_eq!(report["sections"][0]["lines"][0]["key"], "encounters");
    assert_eq!(
        report["sections"][0]["lines"][0]["figure"]["current"].as_i64(),
        Some(encounters)
    );
    assert!(
        encounters > 100 && report["encounters"]["previous"].as_i64().unwrap() > 100,
        "{report}"
    );
    let csv = ok(d, &["report", "--from", &from, "--to", &to, "--csv"]);
    assert!(csv.starts_with("section,item,current,previous"));
    assert!(
        csv.contains(&format!("activity,encounters,{encounters},")),
        "{csv}"
    );
    let text = ok(d, &["report", "--from", &from, "--to", &to]);
    assert!(text.contains("Rencontres") && text.contains(&encounters.to_string()));
    assert!(fails(d, &["report", "--from", "2026-13-01", "--to", &to]).contains("--from"));

    let out = d.join("encounters.csv");
    let written = json(
        d,
        &[
            "export",
            "encounters",
            "--from",
            &from,
            "--to",
            &to,
            "--pseudonymise",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(written["rows"].as_i64().unwrap(), encounters);
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count() as i64, encounters + 1);
    for name in ["Amina", "Julien", "Sophie", "rue ", "boulevard"] {
        assert!(!csv.contains(name), "{name} in a pseudonymised export");
    }
    // The housing journey's records, from the seeded households, homes and offers.
    for kind in [
        "journeys",
        "households",
        "homes",
        "applications",
        "proposals",
        "own_views",
    ] {
        let out = d.join(format!("{kind}.csv"));
        let written = json(
            d,
            &[
                "export",
                kind,
                "--from",
                &from,
                "--to",
                &to,
                "--pseudonymise",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let csv = std::fs::read_to_string(&out).unwrap();
        let rows = written["rows"].as_i64().unwrap();
        assert_eq!(csv.lines().count() as i64, rows + 1, "{kind}");
        if matches!(kind, "journeys" | "households") {
            assert!(rows > 0, "{kind}: {csv}");
        }
        for name in ["Amina", "Julien", "Famille", "rue ", "boulevard"] {
            assert!(
                !csv.contains(name),
                "{name} in a pseudonymised {kind} export"
            );
        }
    }
    let refused = fails(
        d,
        &[
            "export", "cats", "--from", &from, "--to", &to, "--out", "x.csv",
        ],
    );
    assert!(
        refused.contains("kind") && refused.contains("own_views"),
        "{refused}"
    );
}

fn chrono_today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[test]
fn person_erase_asks_first_then_prints_counts_and_the_person_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Nadia");
    let gone = json(
        d,
        &["person", "add", "--name", "Gaëtan", "--nickname", "Zébulon"],
    );
    let gone = gone["id"].as_str().unwrap().to_string();
    let kept = json(d, &["person", "add", "--name", "Solène"]);
    let kept = kept["id"].as_str().unwrap().to_string();
    ok(
        d,
        &[
            "encounter",
            "log",
            "--person",
            &gone,
            "--place",
            "Quai de Valmy",
        ],
    );
    ok(
        d,
        &[
            "encounter",
            "log",
            "--person",
            &gone,
            "--person",
            &kept,
            "--place",
            "Quai de Valmy",
        ],
    );
    // No terminal to answer the question: refused, nothing erased.
    let err = fails(d, &["person", "erase", &gone, "--reason", "demande"]);
    assert!(err.contains("--yes"), "{err}");
    assert!(fails(d, &["person", "erase", &gone, "--reason", " ", "--yes"]).contains("reason"));
    assert_eq!(json(d, &["person", "list"]).as_array().unwrap().len(), 2);

    let text = ok(
        d,
        &["person", "erase", &gone, "--reason", "demande", "--yes"],
    );
    assert!(
        text.contains("3 records (1 encounters, 1 shared encounters re-issued"),
        "{text}"
    );
    assert!(text.contains("erased here only"), "{text}");
    assert!(
        !text.contains("Gaëtan") && !text.contains("Zébulon"),
        "counts, never values"
    );
    let persons = json(d, &["person", "list"]);
    assert_eq!(persons.as_array().unwrap().len(), 1);
    assert_eq!(persons[0]["id"], kept.as_str());
    assert!(fails(d, &["person", "show", &gone]).contains("unknown record"));
}

#[test]
fn whom_to_see_again_and_persons_recorded_twice_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let old = (chrono::Utc::now() - chrono::Duration::days(40))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let recent = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let malik = id(json(
        d,
        &["person", "add", "--name", "Malik", "--birth-year", "1979"],
    ));
    let twice = id(json(
        d,
        &["person", "add", "--name", "MÁLIK", "--birth-year", "1980"],
    ));
    let nour = id(json(d, &["person", "add", "--name", "Nour"]));
    json(d, &["encounter", "log", "--person", &malik, "--at", &old]);
    json(
        d,
        &["encounter", "log", "--person", &twice, "--at", &recent],
    );
    json(d, &["encounter", "log", "--person", &nour, "--at", &recent]);

    let due = json(d, &["person", "list", "--not-seen-for", "14"]);
    let due: Vec<&str> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(due, vec![malik.as_str()]);
    let both = cli(d)
        .args(["person", "list", "--not-seen-for", "14", "--search", "x"])
        .output()
        .unwrap();
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));

    let pairs = json(d, &["person", "duplicates"]);
    let pairs = pairs.as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0]["persons"][0]["id"], malik.as_str());
    assert_eq!(pairs[0]["persons"][1]["id"], twice.as_str());
    assert_eq!(pairs[0]["shared"][0], "malik");
    let text = ok(d, &["person", "duplicates"]);
    assert!(text.contains("share: malik, born 1979 and 1980"), "{text}");

    // Merged: one person, met lately through the record merged in, no longer a duplicate.
    let merged = json(d, &["person", "merge", &malik, &twice]);
    assert_eq!(merged["kept"], malik.as_str());
    let persons = json(d, &["person", "list"]);
    let ids: Vec<&str> = persons
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&malik.as_str()) && !ids.contains(&twice.as_str()));
    assert_eq!(
        json(d, &["person", "list", "--not-seen-for", "14"]),
        serde_json::json!([])
    );
    assert_eq!(json(d, &["person", "duplicates"]), serde_json::json!([]));
    let shown = ok(d, &["person", "show", &malik]);
    assert!(shown.contains(&format!("merged in: {twice}")), "{shown}");
    assert!(
        fails(d, &["person", "merge", &malik, &twice]).contains("merged into this person already")
    );
    assert!(fails(d, &["person", "unmerge", &nour]).contains("is not merged"));

    // Undone: two persons again, Malik to see again.
    json(d, &["person", "unmerge", &twice]);
    let due = json(d, &["person", "list", "--not-seen-for", "14"]);
    assert_eq!(due[0]["id"], malik.as_str());
    assert_eq!(
        json(d, &["person", "duplicates"]).as_array().unwrap().len(),
        1
    );
}
