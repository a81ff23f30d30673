//! The sync commands against a real relay process: space create, invite (with its QR code),
//! join, sync, devices, revoke, space set-relay (a relay that moved).

use std::path::Path;

use allervers_e2e::{RelayProcess, ADMIN_TOKEN};
use assert_cmd::Command;
use serde_json::Value;

pub(crate) fn cli(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("allervers").unwrap();
    cmd.arg("--data")
        .arg(dir)
        .env("ALLERVERS_KEY", "clé du test de synchronisation")
        .env("ALLERVERS_RELAY_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("ALLERVERS_DATA");
    cmd
}

pub(crate) fn json(dir: &Path, args: &[&str]) -> Value {
    let out = cli(dir).arg("--json").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn fails(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[test]
fn two_stores_sync_through_the_relay_from_the_command_line() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (a_dir, b_dir, c_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (a, b, c) = (a_dir.path(), b_dir.path(), c_dir.path());
    json(
        a,
        &[
            "init",
            "--device-name",
            "Poste bureau",
            "--worker",
            "Sophie",
        ],
    );
    json(
        b,
        &[
            "init",
            "--device-name",
            "Téléphone maraude",
            "--worker",
            "Julien",
        ],
    );
    json(
        c,
        &["init", "--device-name", "Téléphone 3", "--worker", "Inès"],
    );

    assert!(fails(b, &["sync"]).contains("not enrolled"));
    let created = json(
        a,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    let recovery = created["recovery_code"].as_str().unwrap().to_string();
    assert!(recovery.starts_with("ALVR1-"), "{created}");
    let qr = a.join("invite.png");
    let invite = json(a, &["invite", "--qr", qr.to_str().unwrap()]);
    let code = invite["code"].as_str().unwrap().to_string();
    let png = std::fs::read(&qr).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG QR code");
    json(b, &["join", &code]);
    assert!(
        fails(c, &["join", &code]).contains("404"),
        "an invite is used once"
    );

    json(
        a,
        &["person", "add", "--name", "Hélène", "--situation", "street"],
    );
    // The coordinator's sync checks the new device's enrolment, adds it to the roster with a
    // signed grant and delivers the space's key.
    let pushed = json(a, &["sync"]);
    // (Its roster entry and the recovery identity's grant went with `space create`.)
    assert_eq!(pushed["pushed"], 2, "the person and the new device's grant");
    assert_eq!(pushed["approved"], 1);
    let pulled = json(b, &["sync"]);
    assert_eq!(pulled["keys_received"], 1);
    // The founder's roster entry, the recovery identity's grant, the person and b's grant.
    assert_eq!(pulled["new_changes"], 4);
    assert_eq!(
        pulled["pushed"], 1,
        "its own roster entry, once it holds the key"
    );
    let found = json(b, &["person", "list", "--search", "helene"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    json(a, &["sync"]);

    let devices = json(a, &["devices"]);
    let list = devices["devices"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let julien = list
        .iter()
        .find(|d| d["worker"] == "Julien")
        .expect("names come from the synced roster");
    let prefix = &julien["device"].as_str().unwrap()[..8];
    assert_eq!(devices["enrolments"][0]["status"], "approved");
    assert!(fails(b, &["devices"]).contains("coordinator"));

    // A worker's phone defines no codes; made a coordinator, it does, and it invites and
    // approves a third phone, which trusts it for its keys.
    let shower = [
        "code", "add", "service", "douche", "--fr", "Douche", "--en", "Shower",
    ];
    assert!(fails(b, &shower).contains("coordinator"));
    json(a, &["coordinator", prefix]);
    json(b, &["sync"]);
    let added = cli(b).args(shower).output().unwrap();
    assert!(added.status.success(), "{added:?}");
    let code = json(b, &["invite"])["code"].as_str().unwrap().to_string();
    json(c, &["join", &code]);
    assert_eq!(json(b, &["sync"])["approved"], 1);
    let third = json(c, &["sync"]);
    assert_eq!(third["keys_received"], 1, "{third}");
    json(a, &["sync"]);
    let services = json(a, &["code", "list", "service"]);
    assert!(
        services.to_string().contains("douche"),
        "the new coordinator's code reached the founder's device: {services}"
    );
    assert!(json(c, &["code", "list", "service"])
        .to_string()
        .contains("douche"));
    // Revoking asks for a confirmation, which a script gives with --yes.
    assert!(fails(a, &["revoke", prefix]).contains("--yes"));
    let revoked = json(a, &["revoke", prefix, "--yes"]);
    assert_eq!(revoked["epoch"], 1);
    json(b, &["person", "add", "--nickname", "Papi"]);
    let err = fails(b, &["sync"]);
    assert!(err.contains("revoked") && err.contains("erased"), "{err}");
    assert!(
        !b.join("store.db").exists(),
        "the revoked phone's store is gone"
    );
    assert!(!b.join("key-params.json").exists());
    // The coordinator goes on under the new epoch.
    json(a, &["person", "add", "--name", "Rosalie"]);
    assert_eq!(json(a, &["sync"])["pushed"], 1);

    // Every coordinator's phone lost: a new one recovers the space with the recovery code,
    // holds everything, and is a coordinator (it lists devices, it invites).
    let new_dir = tempfile::tempdir().unwrap();
    let new = new_dir.path();
    json(
        new,
        &[
            "init",
            "--device-name",
            "Téléphone neuf",
            "--worker",
            "Sophie",
        ],
    );
    let recovered = json(new, &["recover", &recovery]);
    assert_eq!(recovered["name"], "Maraude nord");
    json(new, &["sync"]);
    let everyone = json(new, &["person", "list"]);
    assert_eq!(everyone.as_array().unwrap().len(), 2, "{everyone}");
    assert!(json(new, &["devices"])["devices"].as_array().unwrap().len() >= 3);
    assert!(json(new, &["invite"])["code"]
        .as_str()
        .unwrap()
        .starts_with("ALV2-"));
    // The code worked once; a new one replaces it.
    let other_dir = tempfile::tempdir().unwrap();
    let other = other_dir.path();
    json(
        other,
        &[
            "init",
            "--device-name",
            "Téléphone trouvé",
            "--worker",
            "Inconnu",
        ],
    );
    assert!(fails(other, &["recover", &recovery]).contains("404"));
    let renewed = json(new, &["space", "recovery-code"]);
    assert_ne!(renewed["recovery_code"].as_str().unwrap(), recovery);
}

/// The QR code enrols whoever scans it first: `invite` writes it only where `--qr` says, never
/// into the folder it was run from.
#[test]
fn invite_writes_its_qr_code_only_where_qr_says() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let (office_dir, here_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (office, here) = (office_dir.path(), here_dir.path());
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
        office,
        &["space", "create", "Maraude sud", "--relay", &relay.url],
    );
    let files = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let store_files = files(office);

    let out = cli(office)
        .current_dir(here)
        .args(["--json", "invite"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let invite: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(invite["code"].as_str().unwrap().starts_with("ALV2-"));
    assert!(invite["qr"].is_null(), "{invite}");
    assert!(files(here).is_empty(), "written here: {:?}", files(here));
    assert_eq!(
        files(office),
        store_files,
        "nothing new in the store's folder"
    );
    let text = cli(office)
        .current_dir(here)
        .arg("invite")
        .output()
        .unwrap();
    assert!(text.status.success());
    assert!(!String::from_utf8_lossy(&text.stdout).contains("QR code written"));
    assert!(files(here).is_empty(), "written here: {:?}", files(here));

    let qr = here.join("pour-julien.png");
    let invite = json(office, &["invite", "--qr", qr.to_str().unwrap()]);
    assert_eq!(invite["qr"], qr.to_str().unwrap());
    assert_eq!(files(here), ["pour-julien.png"]);
    assert_eq!(&std::fs::read(&qr).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&qr).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the QR code carries the space key");
    }
}

/// The relay moved (its data copied behind a new address): `space set-relay` follows it, and the
/// next sync receives nothing twice; an address that does not know the device is refused in one
/// line, and the store keeps syncing with the relay it had.
#[test]
fn space_set_relay_follows_a_moved_relay_and_refuses_one_that_does_not_know_the_device() {
    let relay_dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(relay_dir.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = office_dir.path();
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
        office,
        &["space", "create", "Maraude ouest", "--relay", &relay.url],
    );
    json(office, &["person", "add", "--name", "Hélène"]);
    let before = json(office, &["sync"]);
    assert!(before["pulled"].as_u64().unwrap() > 0, "{before}");

    relay.kill();
    let moved_dir = tempfile::tempdir().unwrap();
    allervers_e2e::copy_relay_data(relay_dir.path(), moved_dir.path());
    let moved = RelayProcess::start(moved_dir.path());
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = RelayProcess::start(fresh_dir.path());

    let err = fails(office, &["space", "set-relay", &fresh.url]);
    assert!(err.contains("does not know this device"), "{err}");
    assert!(fails(office, &["space", "set-relay", "relais-ouest"]).contains("relay address"));
    assert!(
        fails(office, &["sync"]).contains("unreachable"),
        "still the old relay"
    );

    let out = cli(office)
        .args(["space", "set-relay", &moved.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("«Maraude ouest» now syncs with {}", moved.url)),
        "{text}"
    );
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    let again = json(office, &["space", "set-relay", &format!("{}/", moved.url)]);
    assert_eq!(again["relay"], moved.url.as_str());
    let after = json(office, &["sync"]);
    assert_eq!(after["pulled"], 0, "nothing received twice: {after}");
    assert_eq!(after["cursor"], before["cursor"]);
}

/// Reads made on two workers' phones reach the office with the next syncs, where the access log
/// lists them per person and per worker; a worker's phone may not list it nor write a dossier.
#[test]
fn reads_on_two_phones_reach_the_coordinator_and_a_phone_may_not_list_them() {
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(relay_dir.path());
    let dirs = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let [office, julien, ines] = [dirs[0].path(), dirs[1].path(), dirs[2].path()];
    for (dir, device, worker) in [
        (office, "Poste bureau", "Sophie"),
        (julien, "Téléphone 1", "Julien"),
        (ines, "Téléphone 2", "Inès"),
    ] {
        json(dir, &["init", "--device-name", device, "--worker", worker]);
    }
    json(
        office,
        &["space", "create", "Maraude nord", "--relay", &relay.url],
    );
    for phone in [julien, ines] {
        let code = json(office, &["invite"])["code"]
            .as_str()
            .unwrap()
            .to_string();
        json(phone, &["join", &code]);
    }
    json(office, &["person", "add", "--name", "Hélène"]);
    json(office, &["person", "add", "--name", "Marcel"]);
    json(office, &["sync"]);
    for phone in [julien, ines] {
        json(phone, &["sync"]);
    }
    json(julien, &["person", "show", "helene"]);
    json(julien, &["timeline", "marcel"]);
    json(ines, &["timeline", "helene"]);
    for phone in [julien, ines] {
        json(phone, &["sync"]);
    }
    json(office, &["sync"]);

    let entries = |args: &[&str]| {
        let mut all = vec!["access-log"];
        all.extend_from_slice(args);
        let mut out: Vec<(String, String, String)> = json(office, &all)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["worker"].as_str().unwrap().to_string(),
                    e["what"].as_str().unwrap().to_string(),
                    e["person_name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    let s = |w: &str, what: &str, p: &str| (w.to_string(), what.to_string(), p.to_string());
    assert_eq!(
        entries(&["--person", "helene"]),
        vec![
            s("Inès", "timeline", "Hélène"),
            s("Julien", "person", "Hélène")
        ]
    );
    assert_eq!(
        entries(&["--worker", "Julien"]),
        vec![
            s("Julien", "person", "Hélène"),
            s("Julien", "timeline", "Marcel")
        ]
    );
    let log = json(office, &["access-log", "--worker", "ines"]);
    assert_eq!(log[0]["device_name"], "Téléphone 2");
    assert_eq!(log[0]["via"], "cli");

    // A worker's phone: one line, nothing written.
    assert!(fails(julien, &["access-log"]).contains("coordinator"));
    let out = julien.join("dossier.html");
    let err = fails(
        julien,
        &[
            "person",
            "dossier",
            "helene",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(err.contains("coordinator"), "{err}");
    assert!(!out.exists() && !julien.join("dossier.json").exists());
}
