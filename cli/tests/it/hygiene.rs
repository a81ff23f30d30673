//! Local hygiene of the command line: the store's folder and every file in it are its owner's
//! alone.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::commands::{init, ok};

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
