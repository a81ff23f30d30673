//! A store's folder and files are its owner's alone (0700 and 0600), whatever the umask: the
//! database, SQLite's `-wal` and `-shm` files as they appear, and a folder left open to others
//! when a store is created in it.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::person;
use allervers_core::{RawKey, Store};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The database and SQLite's log files beside it.
fn store_files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            PathBuf::from(file)
        })
        .collect()
}

#[test]
fn a_new_store_in_a_new_folder_is_private_with_its_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("données").join("appareil");
    let path = folder.join("store.db");
    let store = Store::create(&path, &RawKey::generate(), "Téléphone A", "Amina").unwrap();
    person(&store, "Lucienne");
    assert_eq!(mode(&folder), 0o700, "the store's folder");
    assert_eq!(mode(folder.parent().unwrap()), 0o700, "a missing parent");
    for file in store_files(&path) {
        assert!(
            file.exists(),
            "{} is there while the store is open",
            file.display()
        );
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn creating_a_store_tightens_a_folder_open_to_others() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let path = dir.path().join("store.db");
    Store::create(&path, &RawKey::generate(), "Téléphone A", "Amina").unwrap();
    assert_eq!(mode(dir.path()), 0o700);
}

/// `/tmp` and its like are everyone's: a store made directly in one leaves the folder as it is
/// (narrowing it would break other programs), and its own files are private still.
#[test]
fn a_store_created_in_a_shared_sticky_folder_leaves_the_folder_alone() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o1777);
    let path = dir.path().join("store.db");
    let store = Store::create(&path, &RawKey::generate(), "Téléphone A", "Amina").unwrap();
    person(&store, "Lucienne");
    assert_eq!(mode(dir.path()), 0o1777);
    for file in store_files(&path) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// A store made before this rule (or log files another program left readable) is narrowed when
/// it is opened.
#[test]
fn opening_a_store_tightens_files_left_open_to_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let key = RawKey::generate();
    let first = Store::create(&path, &key, "Téléphone A", "Amina").unwrap();
    let p = person(&first, "Lucienne");
    // The first connection keeps the log files in place.
    for file in store_files(&path) {
        set_mode(&file, 0o644);
    }
    let second = Store::open(&path, &key).unwrap();
    for file in store_files(&path) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert_eq!(second.person(p).unwrap().name.as_deref(), Some("Lucienne"));
}

/// A refused creation leaves nothing behind, and a second creation over a store is refused
/// without touching it.
#[test]
fn a_refused_creation_leaves_no_store_file_and_an_existing_store_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    assert!(Store::create(&path, &RawKey::generate(), " ", "Amina").is_err());
    assert!(!path.exists());
    let key = RawKey::generate();
    let p = person(
        &Store::create(&path, &key, "Téléphone A", "Amina").unwrap(),
        "Lucienne",
    );
    assert!(Store::create(&path, &RawKey::generate(), "Téléphone B", "Julien").is_err());
    assert_eq!(mode(&path), 0o600);
    let store = Store::open(&path, &key).unwrap();
    assert_eq!(store.person(p).unwrap().name.as_deref(), Some("Lucienne"));
}
