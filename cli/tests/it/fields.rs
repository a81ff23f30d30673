//! The organisation's own fields from the command line: defined, listed, written on persons and
//! encounters, refused in one line when a value does not fit, shown with their labels, counted
//! in the report, in exports, retired, and carried to another store.

use crate::commands::{fails, init, json, ok};

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn fields_are_defined_written_checked_shown_counted_exported_and_retired() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    init(&a, "Poste bureau", "Sophie");
    init(&b, "Téléphone maraude", "Yanis");
    ok(
        &a,
        &[
            "field",
            "add",
            "person",
            "logement_souhaite",
            "--type",
            "choice",
            "--label",
            "Logement souhaité",
            "--label-en",
            "Housing wished for",
            "--choice",
            "t1=T1",
            "--choice",
            "foyer=Foyer|Hostel",
            "--sensitive",
            "no",
        ],
    );
    ok(
        &a,
        &[
            "field", "add", "person", "enfants", "--type", "number", "--label", "Enfants", "--min",
            "0", "--max", "20",
        ],
    );
    ok(
        &a,
        &[
            "field",
            "add",
            "encounter",
            "boissons",
            "--type",
            "choices",
            "--label",
            "Boissons",
            "--choice",
            "cafe=Café",
            "--choice",
            "soupe=Soupe",
        ],
    );
    // Bad definitions: one line each.
    assert!(fails(
        &a,
        &["field", "add", "action", "x", "--type", "text", "--label", "X"]
    )
    .contains("kind"));
    assert!(fails(
        &a,
        &["field", "add", "person", "x", "--type", "colour", "--label", "X"]
    )
    .contains("--type"));
    assert!(fails(
        &a,
        &["field", "add", "person", "x", "--type", "choice", "--label", "X"]
    )
    .contains("choice"));

    let listed = json(&a, &["field", "list", "--kind", "person"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["enfants", "logement_souhaite"]);
    assert!(ok(&a, &["field", "list"]).contains("encounter.boissons"));

    // Values: checked, one line when refused, naming the field and not the value.
    let added = json(
        &a,
        &[
            "person",
            "add",
            "--name",
            "Gaston",
            "--custom",
            "logement_souhaite=foyer",
        ],
    );
    let id = added["id"].as_str().unwrap().to_string();
    let err = fails(
        &a,
        &["person", "edit", &id, "--set", "custom.enfants=beaucoup"],
    );
    assert!(
        err.contains("custom.enfants") && !err.contains("beaucoup"),
        "{err}"
    );
    let err = fails(&a, &["person", "edit", &id, "--custom", "chat=oui"]);
    assert!(err.contains("logement_souhaite"), "{err}");
    ok(&a, &["person", "edit", &id, "--set", "custom.enfants=2"]);
    let shown = ok(&a, &["person", "show", &id]);
    assert!(
        shown.contains("Logement souhaité") && shown.contains("Foyer"),
        "{shown}"
    );
    let shown = ok(&a, &["--lang", "en", "person", "show", &id]);
    assert!(
        shown.contains("Housing wished for") && shown.contains("Hostel"),
        "{shown}"
    );
    json(
        &a,
        &[
            "encounter",
            "log",
            "--person",
            &id,
            "--custom",
            "boissons=soupe,cafe",
        ],
    );
    assert!(fails(
        &a,
        &[
            "encounter",
            "log",
            "--anonymous",
            "1",
            "--custom",
            "boissons=the"
        ]
    )
    .contains("custom.boissons"));

    // The report counts them, labelled.
    let day = today();
    let report = json(&a, &["report", "--from", &day, "--to", &day]);
    assert_eq!(
        report["custom_fields"]["person.logement_souhaite.foyer"]["current"],
        1
    );
    assert_eq!(report["custom_fields"]["person.enfants.sum"]["current"], 2);
    assert_eq!(
        report["custom_fields"]["encounter.boissons.soupe"]["current"],
        1
    );
    let text = ok(&a, &["report", "--from", &day, "--to", &day]);
    assert!(
        text.contains("Logement souhaité (personnes) : Foyer"),
        "{text}"
    );

    // Exports: a column per field.
    let out = dir.path().join("persons.csv");
    ok(
        &a,
        &[
            "export",
            "persons",
            "--from",
            &day,
            "--to",
            &day,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("custom.logement_souhaite") && header.contains("custom.enfants"),
        "{header}"
    );

    // Another store learns the fields with the office's changes, and checks values by them.
    let bundle = dir.path().join("office.bundle");
    ok(
        &a,
        &["changes", "export", "--out", bundle.to_str().unwrap()],
    );
    json(&b, &["changes", "import", bundle.to_str().unwrap()]);
    assert_eq!(json(&b, &["field", "list"]).as_array().unwrap().len(), 3);
    assert!(
        fails(&b, &["person", "edit", &id, "--set", "custom.enfants=30"])
            .contains("custom.enfants")
    );
    ok(&b, &["person", "edit", &id, "--set", "custom.enfants=3"]);

    // Retired: no new value, the values kept and shown.
    ok(&a, &["field", "retire", "person", "logement_souhaite"]);
    assert!(fails(
        &a,
        &[
            "person",
            "edit",
            &id,
            "--set",
            "custom.logement_souhaite=t1"
        ]
    )
    .contains("retired"));
    let shown = ok(&a, &["person", "show", &id]);
    assert!(
        shown.contains("Foyer") && shown.contains("retired"),
        "{shown}"
    );
    assert!(ok(&a, &["field", "list"]).contains("retired"));
}

#[test]
fn the_dashboards_person_page_shows_the_fields_with_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d, "Poste bureau", "Sophie");
    ok(
        d,
        &[
            "field",
            "add",
            "person",
            "logement_souhaite",
            "--type",
            "choice",
            "--label",
            "Logement souhaité",
            "--choice",
            "t2=T2 <meublé>",
        ],
    );
    let id = json(
        d,
        &[
            "person",
            "add",
            "--name",
            "Karim",
            "--custom",
            "logement_souhaite=t2",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dashboard = crate::dashboard::Dashboard::start(d);
    let page = dashboard.get(&dashboard.with_token(&format!("/person/{id}")));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Logement souhaité : T2 &lt;meublé&gt;"),
        "{}",
        page.body
    );
}
