//! Health notes from the command line, against a real relay process: a coordinator opens the
//! team's health space with a one-time code, the nurse's device founds it in its health store
//! and invites a doctor's; a note written by the nurse reaches the doctor, the team sees only
//! that the person was seen, the relay's database holds no word of it, and a coordinator who
//! founds a health space of its own with another code reads nothing of the team's.

use std::path::Path;

use allervers_e2e::RelayProcess;
use serde_json::Value;

use crate::sync::{cli, fails, json};

const NOTE: &str = "Plaie au pied gauche, pansement refait, Zx81";

fn init(dir: &Path, device: &str, worker: &str) {
    json(dir, &["init", "--device-name", device, "--worker", worker]);
}

fn text(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The code a JSON answer carries.
fn code(v: &Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

#[test]
fn a_health_note_reaches_health_professionals_only() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (office, worker, nurse, doctor) = (
        dirs[0].path(),
        dirs[1].path(),
        dirs[2].path(),
        dirs[3].path(),
    );
    init(office, "Poste bureau", "Sophie");
    init(worker, "Téléphone maraude", "Julien");
    init(nurse, "Téléphone infirmière", "Amina");
    init(doctor, "Poste médecin", "Dr Lefèvre");
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    for d in [worker, nurse, doctor] {
        let invite = code(&json(office, &["invite"]));
        json(d, &["join", &invite]);
    }
    json(office, &["sync"]);
    json(
        worker,
        &[
            "person",
            "add",
            "--name",
            "Baptiste",
            "--nickname",
            "Le Marin",
        ],
    );
    for d in [worker, nurse, doctor, worker, office] {
        json(d, &["sync"]);
    }

    // Only a coordinator opens the health space; a worker cannot.
    assert!(fails(worker, &["health", "code"]).contains("coordinator"));
    let opened = code(&json(office, &["health", "code"]));
    assert!(opened.starts_with("ALVS1-"), "{opened}");
    // A note needs a health store.
    assert!(fails(nurse, &["health", "show", "Baptiste"]).contains("no health store"));
    let founded = json(nurse, &["health", "found", &opened]);
    assert!(founded["recovery_code"]
        .as_str()
        .unwrap()
        .starts_with("ALVR1-"));
    // The code founded one space: a second use is refused, and leaves no health store behind.
    let refused = fails(doctor, &["health", "found", &opened]);
    assert!(refused.contains("403"), "{refused}");
    assert!(!doctor.join("health").exists());

    // The founding is declared in the team's roster, which the doctor's device reads before it
    // joins.
    json(nurse, &["sync"]);
    json(doctor, &["sync"]);
    // An invite to the team's own space, handed over as if it were the health space's, is
    // refused, and leaves no health store behind.
    let team_invite = code(&json(office, &["invite"]));
    let refused = fails(doctor, &["health", "join", &team_invite]);
    assert!(refused.contains("team's own space"), "{refused}");
    assert!(!doctor.join("health").exists());

    // The nurse's device invites the doctor's into the health space (a health professional's
    // signature: a coordinator holds no key of it to hand over).
    let health_invite = code(&json(nurse, &["--health", "invite"]));
    let joined = json(doctor, &["health", "join", &health_invite]);
    assert_eq!(joined["founded_by"]["worker"], "Amina", "{joined}");
    let approved = json(nurse, &["sync"]);
    assert_eq!(approved["health"]["approved"], 1, "{approved}");
    // Professionals are peers: the doctor's device is made a coordinator of the health space.
    assert_eq!(approved["health_promoted"], 1, "{approved}");
    let note = json(
        nurse,
        &[
            "health",
            "note",
            "Baptiste",
            "--category",
            "care",
            "--text",
            NOTE,
            "--next-step",
            "revoir jeudi",
        ],
    );
    assert!(note["note"].is_string() && note["contact"].is_string());
    assert!(fails(
        nurse,
        &[
            "health",
            "note",
            "Baptiste",
            "--category",
            "care",
            "--text",
            " "
        ]
    )
    .contains("text"));
    let profile = json(
        nurse,
        &[
            "health",
            "profile",
            "Baptiste",
            "--set",
            "allergies=pénicilline Qk7",
        ],
    );
    assert_eq!(profile[0]["allergies"], "pénicilline Qk7");
    assert!(fails(
        nurse,
        &["health", "profile", "Baptiste", "--set", "person=x"]
    )
    .contains("person"));
    json(nurse, &["sync"]);
    let received = json(doctor, &["sync"]);
    assert_eq!(received["health"]["keys_received"], 1, "{received}");
    let shown = json(doctor, &["health", "show", "Baptiste"]);
    let notes = shown["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{shown}");
    assert_eq!(notes[0]["text"], NOTE);
    assert_eq!(notes[0]["professional"], "Amina");
    assert_eq!(shown["profiles"][0]["allergies"], "pénicilline Qk7");
    assert!(text(doctor, &["health", "show", "Baptiste"]).contains("soins"));
    let listed = json(doctor, &["health", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("text").is_none(),
        "a list holds no text: {listed}"
    );

    // The team sees that Baptiste was seen, never the note.
    for d in [office, worker] {
        json(d, &["sync"]);
        let timeline = text(d, &["timeline", "Baptiste"]);
        assert!(timeline.contains("SANTÉ"), "{timeline}");
        assert!(!timeline.contains("Zx81"), "{timeline}");
        assert!(fails(d, &["health", "show", "Baptiste"]).contains("no health store"));
    }
    let relay_db = std::fs::read(relay_dir.path().join("relay.db")).unwrap();
    assert!(!relay_db.windows(4).any(|w| w == b"Zx81"));
    assert!(!relay_db.windows(3).any(|w| w == b"Qk7"));

    // A coordinator who opens a second health space for itself founds an empty one: the team's
    // health key never reaches it.
    let own = code(&json(office, &["health", "code"]));
    json(office, &["health", "found", &own]);
    json(office, &["sync"]);
    let mine = json(office, &["health", "show", "Baptiste"]);
    assert_eq!(mine["notes"].as_array().unwrap().len(), 0, "{mine}");

    // Erasing Baptiste from the team's file erases the notes in the health space too.
    json(
        office,
        &[
            "person", "erase", "Baptiste", "--reason", "demande", "--yes",
        ],
    );
    // The doctor's device, a coordinator of the health space since the nurse's device let it
    // in, orders it there while the founder's phone is away; the nurse's device then obeys.
    let followed = json(doctor, &["sync"]);
    assert_eq!(followed["health_erasures"], 1, "{followed}");
    assert_eq!(
        json(doctor, &["health", "list"]).as_array().unwrap().len(),
        0
    );
    json(nurse, &["sync"]);
    assert_eq!(
        json(nurse, &["health", "list"]).as_array().unwrap().len(),
        0
    );

    // The nurse's phone revoked from the team: its wipe takes the health store too.
    let devices = json(office, &["devices"]);
    let amina = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["worker"] == "Amina")
        .expect("the nurse's team device")["device"]
        .as_str()
        .unwrap()[..8]
        .to_string();
    json(office, &["revoke", &amina, "--yes"]);
    assert!(fails(nurse, &["sync"]).contains("erased"));
    assert!(!nurse.join("store.db").exists());
    assert!(!nurse.join("health").exists());
}
