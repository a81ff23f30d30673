//! `allervers person dossier` and `allervers access-log`: the dossier's two files (escaped
//! HTML and JSON, 0600, never over an existing file without `--force`), and the reads and
//! exports of the command line listed per person and per worker.

use crate::commands::{fails, init, json, ok};

#[test]
fn the_dossier_is_escaped_html_and_json_readable_by_its_owner_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    let id = json(
        d,
        &[
            "person",
            "add",
            "--name",
            "<script>alert(1)</script>Hélène",
            "--situation",
            "street",
            "--consent-record",
            "yes",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        d,
        &[
            "encounter",
            "log",
            "--person",
            &id,
            "--place",
            "Quai de Valmy & \"pont\"",
            "--service",
            "food",
        ],
    );
    ok(
        d,
        &[
            "action",
            "add",
            &id,
            "--title",
            "Rendez-vous <CCAS>",
            "--category",
            "papers",
        ],
    );
    let html = d.join("dossier.html");
    let out = json(
        d,
        &["person", "dossier", &id, "--out", html.to_str().unwrap()],
    );
    assert_eq!(out["person"], id.as_str());

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;Hélène"),
        "{page}"
    );
    assert!(!page.contains("<script"), "no script reaches the page");
    assert!(page.contains("Quai de Valmy &amp; &quot;pont&quot;"));
    assert!(page.contains("Rendez-vous &lt;CCAS&gt;"));
    assert!(
        page.contains("<td>situation</td><td>rue</td>"),
        "code-list labels in French"
    );
    assert!(page.contains("Aucun partage"));
    assert!(
        page.contains("<td>oui</td>") && !page.contains(">yes<"),
        "yes and no in French"
    );
    assert!(page.starts_with("<!doctype html>") && page.contains("<html lang=\"fr\">"));
    let dossier: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("dossier.json")).unwrap()).unwrap();
    assert_eq!(dossier["person"], id.as_str());
    assert_eq!(dossier["encounters"].as_array().unwrap().len(), 1);
    assert_eq!(dossier["actions"].as_array().unwrap().len(), 1);
    assert_eq!(dossier["sharing"]["partners"], serde_json::json!([]));
    #[cfg(unix)]
    for file in ["dossier.html", "dossier.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }

    // An existing file is left alone, unless --force.
    std::fs::write(&html, "déjà là").unwrap();
    let err = fails(
        d,
        &["person", "dossier", &id, "--out", html.to_str().unwrap()],
    );
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read_to_string(&html).unwrap(), "déjà là");
    ok(
        d,
        &[
            "person",
            "dossier",
            &id,
            "--out",
            html.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("Dossier de"));

    // Each dossier written is in the access log; the refused one is not.
    let log = json(d, &["access-log", "--person", &id]);
    let whats: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["dossier", "dossier"]);
}

#[test]
fn the_access_log_lists_reads_and_exports_per_person_and_per_worker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    ok(d, &["person", "add", "--name", "Hélène"]);
    ok(d, &["person", "add", "--name", "Marcel"]);
    ok(d, &["person", "show", "helene"]);
    ok(d, &["worker", "Karim"]);
    ok(d, &["timeline", "marcel"]);
    let csv = d.join("personnes.csv");
    ok(
        d,
        &[
            "export",
            "persons",
            "--from",
            "2020-01-01",
            "--to",
            "2030-12-31",
            "--pseudonymise",
            "--out",
            csv.to_str().unwrap(),
        ],
    );

    let all = json(d, &["access-log"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0]["what"], "person");
    assert_eq!(all[0]["worker"], "Sophie");
    assert_eq!(all[0]["person_name"], "Hélène");
    assert_eq!(all[0]["via"], "cli");
    assert_eq!(all[1]["what"], "timeline");
    assert_eq!(all[1]["worker"], "Karim");
    assert_eq!(all[2]["what"], "export");
    assert_eq!(all[2]["export_kind"], "persons");
    assert_eq!(all[2]["pseudonymised"], true);

    let karim = json(d, &["access-log", "--worker", "Karim"]);
    assert_eq!(karim.as_array().unwrap().len(), 2);
    let helene = json(d, &["access-log", "--person", "helene"]);
    assert_eq!(helene.as_array().unwrap().len(), 1);
    let later = json(d, &["access-log", "--from", "2099-01-01"]);
    assert!(later.as_array().unwrap().is_empty());
    let text = ok(d, &["access-log"]);
    assert!(
        text.contains("fiche consultée") && text.contains("Hélène"),
        "{text}"
    );
    assert!(text.contains("export persons"), "{text}");
    let err = fails(d, &["access-log", "--from", "hier"]);
    assert!(err.contains("--from"), "{err}");
}
