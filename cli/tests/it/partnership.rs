//! Sharing with a partner from the command line, through a real relay process: the office opens
//! a partnership with the SIAO, a SIAO device joins it, the office publishes what a person
//! consented to, the partner writes the shared assessment and the office reads it, then the
//! person withdraws a category: the projection is erased at the partner's (which acknowledges
//! it) and at the relay, and the relay's database never holds a value of the person in clear.

use std::path::Path;

use allervers_e2e::{RelayProcess, ADMIN_TOKEN};
use assert_cmd::Command;
use serde_json::Value;

const NAME: &str = "Ludovic Marchetti";
const PHONE: &str = "06 47 21 93 58";
const SOUGHT: &str = "pension de famille près du canal";

fn cli(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("allervers").unwrap();
    cmd.arg("--data")
        .arg(dir)
        .env("ALLERVERS_KEY", "clé du test des partenariats")
        .env("ALLERVERS_RELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("ALLERVERS_DATA");
    cmd
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let out = cli(dir).arg("--json").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Every byte of the relay's SQLite database and its log.
fn relay_bytes(relay: &RelayProcess) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["relay.db", "relay.db-wal"] {
        if let Ok(bytes) = std::fs::read(relay.data.join(name)) {
            all.extend(bytes);
        }
    }
    all
}

#[test]
fn a_partner_gets_what_was_consented_and_a_withdrawal_erases_it_on_its_device_and_the_relay() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (office_dir, siao_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (office, siao) = (office_dir.path(), siao_dir.path());
    json(
        office,
        &["init", "--device-name", "Poste bureau", "--worker", "Nadia"],
    );
    json(
        siao,
        &["init", "--device-name", "Poste SIAO", "--worker", "Hélène"],
    );
    json(
        office,
        &["space", "create", "Maraude Est", "--relay", &relay.url],
    );
    let person = json(
        office,
        &[
            "person",
            "add",
            "--name",
            NAME,
            "--phone",
            PHONE,
            "--situation",
            "street",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The office opens the partnership; the SIAO's device joins it, never the team.
    assert!(fails(office, &["partnership", "open", "bailleur_inconnu"]).contains("partner"));
    let opened = json(office, &["partnership", "open", "siao"]);
    assert!(opened["recovery_code"]
        .as_str()
        .unwrap()
        .starts_with("ALVR1-"));
    assert!(fails(office, &["partnership", "open", "siao"]).contains("already"));
    let code = json(office, &["--partner", "siao", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    json(siao, &["partnership", "join", &code]);
    let synced = json(office, &["sync"]);
    assert_eq!(synced["partnerships"]["siao"]["sync"]["approved"], 1);
    json(siao, &["sync"]);
    // The partnership space has the office and the SIAO's device; the team has the office only.
    let count = |v: Value| v["devices"].as_array().unwrap().len();
    assert_eq!(count(json(office, &["--partner", "siao", "devices"])), 2);
    assert_eq!(count(json(office, &["devices"])), 1);
    assert!(fails(siao, &["partnership", "publish", "siao"]).contains("partnership"));
    assert!(json(siao, &["partnership", "list"])
        .as_array()
        .unwrap()
        .is_empty());

    // The person consents to their identity and the assessment: the office publishes.
    json(
        office,
        &[
            "consent",
            "record",
            &person,
            "--partner",
            "siao",
            "--category",
            "identity_contact",
            "--category",
            "shared_assessment",
            "--given",
            "--how",
            "oral",
        ],
    );
    let published = json(office, &["partnership", "publish", "siao"]);
    assert_eq!(published["published"].as_array().unwrap().len(), 1);
    json(office, &["sync"]);
    json(siao, &["sync"]);
    let list = json(siao, &["partnership", "list"]);
    let first = &list.as_array().unwrap()[0];
    let projection = first["id"].as_str().unwrap().to_string();
    assert_ne!(projection, person, "the projection has an id of its own");
    assert_eq!(first["name"], NAME);
    assert_eq!(first["phone"], PHONE);
    assert_eq!(
        first["situation"],
        Value::Null,
        "situation was not consented"
    );

    // The partner writes the shared assessment; the office reads it, with who wrote it.
    json(
        siao,
        &[
            "partnership",
            "assessment",
            &projection,
            "--set",
            &format!("housing_sought={SOUGHT}"),
        ],
    );
    assert!(fails(
        siao,
        &[
            "partnership",
            "edit",
            &projection,
            "--set",
            "situation=squat"
        ]
    )
    .contains("consent"));
    json(siao, &["sync"]);
    json(office, &["sync"]);
    let shown = json(
        office,
        &["--partner", "siao", "partnership", "show", &projection],
    );
    assert_eq!(shown["projection"]["assessment"]["housing_sought"], SOUGHT);
    assert!(shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["author"]["worker"] == "Hélène"));
    // The publication is in the team's access log.
    let log = json(office, &["access-log", "--person", &person]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"] == "publication" && e["partner"] == "siao"),
        "{log}"
    );

    // The person withdraws their identity: recording it erases the projection at once and
    // publishes a fresh one with what remains.
    let withdrawn = json(
        office,
        &[
            "consent",
            "record",
            &person,
            "--partner",
            "siao",
            "--category",
            "identity_contact",
            "--refused",
            "--how",
            "oral",
        ],
    );
    assert_eq!(withdrawn["withdrawn"]["erased"], 1);
    json(office, &["sync"]);
    json(siao, &["sync"]);
    json(siao, &["sync"]);
    json(office, &["sync"]);
    let list = json(siao, &["partnership", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["id"], projection.as_str(), "a fresh projection");
    assert_eq!(list[0]["name"], Value::Null);
    assert_eq!(list[0]["phone"], Value::Null);
    assert!(fails(siao, &["partnership", "show", &projection]).contains(&projection));

    // The SIAO's device acknowledged the order.
    let status = json(office, &["partnership", "status", "siao"]);
    let orders = status["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{status}");
    assert_eq!(orders[0]["acknowledged_by"].as_array().unwrap().len(), 1);
    assert!(orders[0]["waiting_for"].as_array().unwrap().is_empty());

    // The relay deleted the erased projection's and assessment's envelopes, and refuses them.
    let (erased, left) = allervers_e2e::relay_erasures(&relay);
    assert!(erased >= 2, "the projection and its assessment: {erased}");
    assert_eq!(left, 0);

    // The relay's database holds no value of the person in clear.
    let bytes = relay_bytes(&relay);
    assert!(!bytes.is_empty());
    for value in [NAME, PHONE, SOUGHT, "Marchetti"] {
        assert!(!holds(&bytes, value), "{value} at the relay");
    }

    // Erasing the person from the team's file erases what remains at the partner's too.
    let erased = json(
        office,
        &[
            "person",
            "erase",
            &person,
            "--reason",
            "demande de la personne",
            "--yes",
        ],
    );
    assert_eq!(erased["projections"], 1);
    json(office, &["sync"]);
    json(siao, &["sync"]);
    json(siao, &["sync"]);
    json(office, &["sync"]);
    assert!(json(siao, &["partnership", "list"])
        .as_array()
        .unwrap()
        .is_empty());
    let status = json(office, &["partnership", "status", "siao"]);
    assert!(status["projections"].as_array().unwrap().is_empty());
    let orders = status["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "{status}");
    assert!(orders[1]["waiting_for"].as_array().unwrap().is_empty());
}
