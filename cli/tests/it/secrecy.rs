//! Professional secrecy from the command line: pseudonymised exports that cannot be linked,
//! the report's CSV for funders, and the retention review (with a real relay for the setting
//! that reaches a worker's phone).

use std::collections::BTreeSet;
use std::path::Path;

use allervers_e2e::{RelayProcess, ADMIN_TOKEN};
use chrono::{Duration, Utc};

use crate::commands::{fails, fails_with, init, json, ok};

/// One column of a CSV file, by its header.
fn column(file: &Path, name: &str) -> Option<Vec<String>> {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let i = reader.headers().unwrap().iter().position(|h| h == name)?;
    Some(
        reader
            .records()
            .map(|r| r.unwrap()[i].to_string())
            .collect(),
    )
}

fn export(d: &Path, kind: &str, flags: &[&str], file: &str) -> std::path::PathBuf {
    let out = d.join(file);
    let from = (Utc::now() - Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let to = Utc::now().format("%Y-%m-%d").to_string();
    let mut args = vec![
        "export",
        kind,
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    json(d, &args);
    out
}

#[test]
fn pseudonymised_exports_share_no_pseudonym_unless_in_a_series_and_leave_health_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let mut people = Vec::new();
    for (name, need) in [
        ("Fernande", "addiction"),
        ("Ulysse", "housing"),
        ("Berthe", "health"),
    ] {
        let p = json(
            d,
            &[
                "person", "add", "--name", name, "--need", need, "--need", "food",
            ],
        );
        people.push(p["id"].as_str().unwrap().to_string());
    }
    let at = (Utc::now() - Duration::days(2))
        .format("%Y-%m-%d 14:37")
        .to_string();
    for p in &people {
        ok(
            d,
            &[
                "encounter",
                "log",
                "--person",
                p,
                "--at",
                &at,
                "--service",
                "care",
                "--service",
                "food",
            ],
        );
    }
    ok(
        d,
        &["referral", "add", &people[0], "--to", "psychiatry_cmp"],
    );
    ok(d, &["referral", "add", &people[1], "--to", "siao_115"]);

    // Two exports: no pseudonym in common. A series: the same ones.
    let ids =
        |file: &Path| -> BTreeSet<String> { column(file, "id").unwrap().into_iter().collect() };
    let first = export(d, "persons", &["--pseudonymise"], "a.csv");
    let second = export(d, "persons", &["--pseudonymise"], "b.csv");
    assert_eq!(ids(&first).len(), 3);
    assert!(ids(&first).is_disjoint(&ids(&second)));
    let series = ["--pseudonymise", "--series", "cohorte-2026"];
    let s1 = export(d, "persons", &series, "s1.csv");
    let s2 = export(d, "encounters", &series, "s2.csv");
    let met: BTreeSet<String> = column(&s2, "persons").unwrap().into_iter().collect();
    assert_eq!(ids(&s1), met, "a series names each person the same way");
    assert!(ids(&s1).is_disjoint(&ids(&first)));

    // Health left out by default, kept when asked; times are days unless asked.
    let plain = export(d, "encounters", &["--pseudonymise"], "e.csv");
    assert_eq!(column(&plain, "services").unwrap(), vec!["food"; 3]);
    assert_eq!(column(&plain, "occurred_at").unwrap(), vec![&at[..10]; 3]);
    let full = export(
        d,
        "encounters",
        &["--pseudonymise", "--include-sensitive", "--precise-times"],
        "f.csv",
    );
    assert_eq!(column(&full, "services").unwrap(), vec!["care food"; 3]);
    assert_eq!(column(&full, "occurred_at").unwrap(), vec![at.as_str(); 3]);
    let persons = export(d, "persons", &["--pseudonymise"], "p.csv");
    let needs = column(&persons, "needs").unwrap().join(" ");
    for word in ["addiction", "health"] {
        assert!(!needs.split(' ').any(|n| n == word), "{needs}");
    }
    assert_eq!(
        column(&persons, "alert_level"),
        None,
        "the column is removed"
    );
    let referrals = export(d, "referrals", &["--pseudonymise"], "r.csv");
    assert_eq!(column(&referrals, "target").unwrap(), vec!["siao_115"]);
    let referrals = export(
        d,
        "referrals",
        &["--pseudonymise", "--include-sensitive"],
        "r2.csv",
    );
    assert_eq!(column(&referrals, "target").unwrap().len(), 2);
    // Options of a pseudonymised export alone are refused on a nominative one, in one line.
    let to = Utc::now().format("%Y-%m-%d").to_string();
    let err = fails(
        d,
        &[
            "export", "persons", "--from", &to, "--to", &to, "--series", "x", "--out", "x.csv",
        ],
    );
    assert!(err.contains("export"), "{err}");
    assert!(!d.join("x.csv").exists());
}

#[test]
fn the_reports_csv_shows_counts_under_5_and_the_text_and_json_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    ok(d, &["person", "add", "--name", "Clémence"]);
    for _ in 0..2 {
        ok(
            d,
            &[
                "encounter",
                "log",
                "--person",
                "Clémence",
                "--service",
                "food",
            ],
        );
    }
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let period = ["report", "--from", &today, "--to", &today];
    let mut csv_args = period.to_vec();
    csv_args.push("--csv");
    let csv = ok(d, &csv_args);
    assert!(csv.contains("activity,encounters,< 5,< 5"), "{csv}");
    assert!(csv.contains("services,food,< 5,< 5"), "{csv}");
    assert!(
        !csv.lines()
            .skip(1)
            .any(|l| l.ends_with(",0") || l.contains(",2,")),
        "{csv}"
    );
    assert_eq!(json(d, &period)["encounters"]["current"], 2);
}

#[test]
fn the_retention_review_lists_keeps_and_comes_back_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let old = (Utc::now() - Duration::days(800))
        .format("%Y-%m-%d 20:00")
        .to_string();
    let recent = (Utc::now() - Duration::days(20))
        .format("%Y-%m-%d 20:00")
        .to_string();
    let gaspard = json(d, &["person", "add", "--name", "Gaspard"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let yolande = json(d, &["person", "add", "--name", "Yolande"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(d, &["encounter", "log", "--person", &gaspard, "--at", &old]);
    ok(
        d,
        &["encounter", "log", "--person", &yolande, "--at", &recent],
    );

    let review = json(d, &["retention"]);
    assert_eq!(review["period_months"], 24);
    let due = review["due"].as_array().unwrap();
    assert_eq!(due.len(), 1, "{review}");
    assert_eq!(due[0]["person"], gaspard.as_str());
    assert_eq!(due[0]["months"], 26);
    let text = ok(d, &["retention"]);
    assert!(
        text.contains("Gaspard") && text.contains("26 months"),
        "{text}"
    );
    assert!(text.contains("person erase"), "{text}");

    assert!(fails(d, &["retention", "keep", "Gaspard", "--reason", " "]).contains("reason"));
    ok(
        d,
        &[
            "retention",
            "keep",
            "Gaspard",
            "--reason",
            "Procédure de domiciliation en cours",
        ],
    );
    assert_eq!(json(d, &["retention"])["due"].as_array().unwrap().len(), 0);
    let history = ok(d, &["history", &gaspard]);
    assert!(
        history.contains("Procédure de domiciliation en cours"),
        "{history}"
    );
    assert!(history.contains("Sophie"), "{history}");

    // The shortest period: Gaspard was kept today and Yolande met 20 days ago.
    assert_eq!(
        json(d, &["retention", "period", "1"])["retention_months"],
        1
    );
    let due = json(d, &["retention"])["due"].as_array().unwrap().clone();
    assert_eq!(due.len(), 0, "{due:?}");
    assert!(fails(d, &["retention", "period", "0"]).contains("months"));
    assert_eq!(json(d, &["retention", "period"])["retention_months"], 1);
}

#[test]
fn the_retention_period_reaches_a_workers_phone_which_may_not_set_it_nor_review() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (a_dir, w_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, w) = (a_dir.path(), w_dir.path());
    init(a, "Poste bureau", "Sophie");
    init(w, "Téléphone maraude", "Julien");
    let with_admin = |dir: &Path| {
        let mut cmd = crate::commands::cli(dir);
        cmd.env("ALLERVERS_RELAY_ADMIN_TOKEN", ADMIN_TOKEN);
        cmd
    };
    let created = with_admin(a)
        .args(["space", "create", "Maraude nord", "--relay", &relay.url])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let invite = json(a, &["invite"]);
    ok(w, &["join", invite["code"].as_str().unwrap()]);
    ok(a, &["sync"]);
    ok(w, &["sync"]);

    json(a, &["retention", "period", "12"]);
    ok(a, &["sync"]);
    ok(w, &["sync"]);
    assert_eq!(json(w, &["retention", "period"])["retention_months"], 12);
    for args in [&["retention"][..], &["retention", "period", "6"]] {
        let err = fails_with(&mut crate::commands::cli(w), args);
        assert!(err.contains("coordinator"), "{err}");
    }
    assert_eq!(json(a, &["retention", "period"])["retention_months"], 12);
}
