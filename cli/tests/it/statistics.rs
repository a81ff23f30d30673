//! Statistics only, from the command line against a real relay: the office opens its
//! statistics space, a statistics-only device joins it, the office publishes a month's report,
//! and the device reads the same figures (and the funders' CSV) while holding no person and no
//! team key; the relay's database holds no name.

use allervers_e2e::RelayProcess;

use crate::sync::{cli, fails, json};

fn code(v: &serde_json::Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

#[test]
fn a_statistics_device_reads_the_published_report_and_nothing_nominative() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let (office, reader) = (dirs[0].path(), dirs[1].path());
    json(
        office,
        &[
            "init",
            "--device-name",
            "Poste bureau",
            "--worker",
            "Sophie",
        ],
    );
    json(
        reader,
        &[
            "init",
            "--device-name",
            "Poste direction",
            "--worker",
            "Régine",
        ],
    );
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    json(
        office,
        &[
            "person",
            "add",
            "--name",
            "Baptiste Quévremont",
            "--need",
            "housing",
        ],
    );
    json(
        office,
        &[
            "encounter",
            "log",
            "--person",
            "Baptiste",
            "--place",
            "Quai de Valmy Xq4",
            "--service",
            "food",
            "--at",
            "2026-03-10 21:00",
        ],
    );

    let opened = json(office, &["statistics", "open"]);
    assert!(opened["recovery_code"]
        .as_str()
        .unwrap()
        .starts_with("ALVR1-"));
    assert!(fails(office, &["statistics", "open"]).contains("already"));
    let invite = code(&json(office, &["--statistics", "invite"]));
    json(reader, &["statistics", "join", &invite]);
    let synced = json(office, &["sync"]);
    assert_eq!(synced["statistics"]["approved"], 1, "{synced}");
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
    assert_eq!(json(reader, &["sync"])["keys_received"], 1);

    let listed = json(reader, &["statistics", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let shown = json(
        reader,
        &[
            "statistics",
            "show",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
        ],
    );
    assert_eq!(shown["encounters"]["current"], 1, "{shown}");
    assert_eq!(shown["services"]["food"]["current"], 1, "{shown}");
    // The same figures as the office's own report.
    let office_report = json(
        office,
        &["report", "--from", "2026-03-01", "--to", "2026-03-31"],
    );
    assert_eq!(shown["encounters"], office_report["encounters"]);
    assert_eq!(shown["needs"], office_report["needs"]);
    let csv = cli(reader)
        .args([
            "statistics",
            "show",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--csv",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(csv.stdout).unwrap().contains("< 5"));
    assert!(fails(
        reader,
        &[
            "statistics",
            "show",
            "--from",
            "2026-02-01",
            "--to",
            "2026-02-28"
        ]
    )
    .contains("no report published"));

    // Nothing nominative on the statistics device, nor anything it could write.
    assert!(json(reader, &["person", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    assert!(fails(reader, &["person", "add", "--name", "Odile"]).contains("statistics"));
    let relay_db = std::fs::read(relay_dir.path().join("relay.db")).unwrap();
    assert!(!relay_db.windows(3).any(|w| w == b"Xq4"));
}
