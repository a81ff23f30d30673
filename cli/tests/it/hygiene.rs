//! Local hygiene of the command line: the store's folder and every file in it are its owner's
//! alone, and a new store or bundle needs a passphrase of 12 characters or more.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use allervers_core::crypto::{derive_key, KdfParams};
use allervers_core::{NewPerson, SeededEntropy, Store};

use crate::commands::{cli, fails_with, init, json, ok};

/// 11 characters in 13 bytes: refused, though a count of bytes would take it.
const SHORT: &str = "éléphant ok";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every entry of the store's folder with its mode.
fn modes_in(dir: &Path) -> Vec<(String, u32)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn init_makes_a_new_store_folder_and_every_file_in_it_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("allervers").join("poste");
    init(&store, "Poste bureau", "Sophie");
    ok(&store, &["person", "add", "--name", "Lucienne"]);
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(store.parent().unwrap()), 0o700, "a missing parent");
    let files = modes_in(&store);
    let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"store.db") && names.contains(&"key-params.json"),
        "{names:?}"
    );
    for (name, mode) in files {
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[test]
fn init_tightens_an_existing_folder_open_to_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    init(dir.path(), "Poste bureau", "Sophie");
    assert_eq!(mode(dir.path()), 0o700);
    for (name, mode) in modes_in(dir.path()) {
        assert_eq!(mode, 0o600, "{name}");
    }
}

/// Runs a command that must succeed.
fn succeeds(cmd: &mut assert_cmd::Command, args: &[&str]) {
    let out = cmd.args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_new_store_with_a_passphrase_under_twelve_characters_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("poste");
    let err = fails_with(
        cli(&store).env("ALLERVERS_KEY", SHORT),
        &["init", "--device-name", "Poste bureau"],
    );
    assert!(err.contains("passphrase") && err.contains("12"), "{err}");
    assert!(!err.contains(SHORT), "{err}");
    assert!(!store.exists(), "no folder was created");
    // An existing, empty folder stays empty.
    fails_with(
        cli(dir.path()).env("ALLERVERS_KEY", SHORT),
        &["init", "--device-name", "Poste bureau"],
    );
    assert!(
        modes_in(dir.path()).is_empty(),
        "{:?}",
        modes_in(dir.path())
    );
    // Twelve characters are enough.
    succeeds(
        cli(&store).env("ALLERVERS_KEY", "éléphant ok!"),
        &["init", "--device-name", "Poste bureau"],
    );
}

#[test]
fn a_new_bundle_with_a_passphrase_under_twelve_characters_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), "Poste bureau", "Sophie");
    ok(dir.path(), &["person", "add", "--name", "Lucienne"]);
    let out = dir.path().join("lucienne.bundle");
    let err = fails_with(
        cli(dir.path()).env("ALLERVERS_BUNDLE_PASSPHRASE", SHORT),
        &["changes", "export", "--out", out.to_str().unwrap()],
    );
    assert!(err.contains("passphrase") && err.contains("12"), "{err}");
    assert!(!out.exists());
    succeeds(
        cli(dir.path()).env("ALLERVERS_BUNDLE_PASSPHRASE", "éléphant ok!"),
        &["changes", "export", "--out", out.to_str().unwrap()],
    );
    assert!(out.exists());
}

/// Only creation is judged: a store made before the rule with a short passphrase (its key
/// settings as `init` writes them) still opens with it, and a bundle sealed with a short one
/// still imports.
#[test]
fn a_store_and_a_bundle_made_earlier_with_a_short_passphrase_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let (old, other) = (dir.path().join("ancien"), dir.path().join("autre"));
    std::fs::create_dir(&old).unwrap();
    let salt = [7u8; 16];
    let params = KdfParams::DEFAULT;
    std::fs::write(
        old.join("key-params.json"),
        serde_json::json!({
            "kdf": "argon2id",
            "salt": salt.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "m_cost_kib": params.m_cost_kib,
            "t_cost": params.t_cost,
            "p_cost": params.p_cost,
        })
        .to_string(),
    )
    .unwrap();
    let key = derive_key(b"court", &salt, params).unwrap();
    let bundle = {
        let store = Store::create(&old.join("store.db"), &key, "Poste ancien", "Sophie").unwrap();
        store
            .add_person(&NewPerson {
                name: Some("Lucienne".into()),
                ..Default::default()
            })
            .unwrap();
        allervers_core::bundle::seal(
            &store.export_changes().unwrap(),
            &store.identity().device.to_bytes(),
            0,
            "court",
            &SeededEntropy::new(3),
        )
        .unwrap()
    };
    let listed = cli(&old)
        .env("ALLERVERS_KEY", "court")
        .args(["--json", "person", "list"])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Lucienne"));

    init(&other, "Téléphone B", "Julien");
    let file = dir.path().join("ancien.bundle");
    std::fs::write(&file, bundle).unwrap();
    succeeds(
        cli(&other).env("ALLERVERS_BUNDLE_PASSPHRASE", "court"),
        &["changes", "import", file.to_str().unwrap()],
    );
    let persons = json(&other, &["person", "list", "--search", "lucienne"]);
    assert_eq!(persons.as_array().unwrap().len(), 1);
}
