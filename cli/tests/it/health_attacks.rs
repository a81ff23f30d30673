//! Attacks on the health space through the command line that it withstands, against a real
//! relay: a health store wiped by the health space's coordinator leaves the team's store and
//! its key settings in place; a space code or invite that is not one leaves no health store.

use allervers_e2e::RelayProcess;
use serde_json::Value;

use crate::sync::{fails, json};

fn code(v: &Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

#[test]
fn a_wiped_health_store_leaves_the_team_store_and_its_key_settings() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (office, nurse, doctor) = (dirs[0].path(), dirs[1].path(), dirs[2].path());
    for (d, device, worker) in [
        (office, "Poste bureau", "Sophie"),
        (nurse, "Téléphone infirmière", "Amina"),
        (doctor, "Poste médecin", "Dr Lefèvre"),
    ] {
        json(d, &["init", "--device-name", device, "--worker", worker]);
    }
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    for d in [nurse, doctor] {
        let invite = code(&json(office, &["invite"]));
        json(d, &["join", &invite]);
    }
    json(office, &["sync"]);
    json(office, &["person", "add", "--name", "Baptiste"]);
    for d in [office, nurse, doctor, office] {
        json(d, &["sync"]);
    }
    // Codes that are not the health space's leave no health store behind.
    for bad in ["ALVS1-", "garbage", "ALV2-AAAA"] {
        fails(doctor, &["health", "found", bad]);
        fails(doctor, &["health", "join", bad]);
        assert!(!doctor.join("health").exists());
    }
    let opened = code(&json(office, &["health", "code"]));
    json(nurse, &["health", "found", &opened]);
    // The founding, declared in the team's roster, reaches the doctor's team store.
    json(nurse, &["sync"]);
    json(doctor, &["sync"]);
    let invite = code(&json(nurse, &["--health", "invite"]));
    json(doctor, &["health", "join", &invite]);
    json(nurse, &["sync"]);
    json(doctor, &["sync"]);

    // The doctor's roster entry reaches the founder's health store, which revokes it.
    json(doctor, &["sync"]);
    json(nurse, &["sync"]);
    let devices = json(nurse, &["--health", "devices"]);
    let health_device = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["worker"] == "Dr Lefèvre")
        .unwrap()["device"]
        .as_str()
        .unwrap()[..8]
        .to_string();
    json(nurse, &["--health", "revoke", &health_device, "--yes"]);
    let wiped = fails(doctor, &["sync"]);
    assert!(wiped.contains("erased"), "{wiped}");
    assert!(!doctor.join("health").join("store.db").exists());
    assert!(doctor.join("store.db").exists());
    assert!(doctor.join("key-params.json").exists());
    // The team's store opens and syncs as before.
    let persons = json(doctor, &["person", "list"]);
    assert_eq!(persons.as_array().unwrap().len(), 1, "{persons}");
    json(doctor, &["sync"]);
    assert!(fails(doctor, &["health", "show", "Baptiste"]).contains("no health store"));
}
