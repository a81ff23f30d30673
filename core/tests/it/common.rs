//! Helpers shared by the core's integration tests: stores in temporary folders, a stepped clock,
//! generated (never real) people.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use allervers_core::{
    ManualClock, NewConsent, NewEncounter, NewPerson, RawKey, RecordId, Store, StoreOptions,
};
use chrono::{TimeZone, Utc};

pub struct Device {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub path: PathBuf,
    pub key: RawKey,
    /// The folder of the store, deleted when the device is dropped (take it to keep it).
    pub dir: Option<tempfile::TempDir>,
}

/// A store for one device in its own temporary folder, with a clock set to 2026-03-02 09:00 UTC.
/// A day written `YYYY-MM-DD`.
pub fn day(s: &str) -> chrono::NaiveDate {
    s.parse().expect("a day")
}

/// Sets the device's clock to 10:00 UTC on the day `s`.
pub fn on(d: &Device, s: &str) {
    d.clock
        .set(Utc.from_utc_datetime(&day(s).and_hms_opt(10, 0, 0).expect("10:00")));
}

pub fn device(name: &str, worker: &str) -> Device {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let key = RawKey::generate();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let store = Store::create_with(
        &path,
        &key,
        name,
        worker,
        StoreOptions::with_clock(clock.clone()),
    )
    .expect("create store");
    Device {
        store,
        clock,
        path,
        key,
        dir: Some(dir),
    }
}

pub fn person(store: &Store, name: &str) -> RecordId {
    store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .expect("add person")
}

pub fn meet(store: &Store, persons: &[RecordId], place: &str) -> RecordId {
    store
        .log_encounter(&NewEncounter {
            persons: persons.to_vec(),
            place: Some(place.into()),
            services: vec!["food".into(), "drink".into()],
            ..Default::default()
        })
        .expect("log encounter")
}

/// A decision of `person`, given orally today, about sharing `category` with the SIAO.
pub fn consent(person: RecordId, category: &str, given: bool) -> NewConsent {
    NewConsent {
        person,
        partner: "siao".into(),
        category: category.into(),
        given,
        decided_on: None,
        how: "oral".into(),
        note: None,
    }
}

/// Sends every change of `from` to `to` through a sealed bundle, as the command line does.
pub fn send(from: &Store, to: &Store) -> allervers_core::ImportSummary {
    let bundle = from
        .export_bundle("phrase de passe du test")
        .expect("export");
    to.import_bundle(&bundle, "phrase de passe du test")
        .expect("import")
}

/// A tmpfs of its own, unmounted when dropped.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "mounting a tmpfs needs root (the test command runs as root)"
        );
        SmallDisk { dir }
    }

    /// Remounts the disk read-only. The kernel refuses while a file on it is open for writing,
    /// which a child process another test spawns can hold for a moment after it was forked:
    /// tried again for up to ten seconds.
    pub fn remount_read_only(&self) {
        for _ in 0..100 {
            let ok = std::process::Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(self.dir.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the disk could not be remounted read-only");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// The store file at `path` opened with its raw key and the store's cipher settings, straight
/// through SQLite: what a test that rewinds a schema or reads secrets by hand needs.
pub fn raw_connection(path: &std::path::Path, key: &RawKey) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\";",
        hex::encode(key.as_bytes())
    ))
    .unwrap();
    conn.execute_batch(allervers_core::store::CIPHER_SETTINGS)
        .unwrap();
    conn
}
