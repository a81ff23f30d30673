//! Review: a relay migrated to PostgreSQL while it still ran (the migration takes SQLite's write
//! lock and its doc says nothing written meanwhile is left behind), and a device that synced with
//! the old address once more before it was told to move. PostgreSQL numbers each space on from
//! its largest copied number, so it hands out again the number the old relay gave that device's
//! last envelope; `set_relay` compares that number only, accepts the new relay, and the device
//! then skips what PostgreSQL numbered up to it. Its own change, acknowledged by the old relay,
//! never reaches anyone.

use allervers_client::HttpClient;
use allervers_core::CoreError;
use allervers_e2e::{create_space, device, invite, join, person, welcome, Device, RelayProcess};

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn set_relay(d: &Device, url: &str) -> Result<allervers_core::Membership, CoreError> {
    allervers_client::set_relay(&d.store, &HttpClient::default(), None, url)
}

#[test]
fn a_device_never_follows_a_relay_that_gave_its_cursor_number_to_another_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let (a, b) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
    );
    create_space(&relay, &a.store, "Maraude est");
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store]);
    person(&a.store, "Karim");
    for d in [&a, &b, &a] {
        sync(d);
    }

    // The operator migrates while the relay still runs.
    let database = allervers_e2e::postgres::fresh_database("review_moved");
    let out = std::process::Command::new(allervers_e2e::relay_binary())
        .args(["migrate", "--from"])
        .arg(dir.path())
        .args(["--to", &database])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // B syncs once more with the old address: its change is acknowledged, its cursor moves.
    let awa = person(&b.store, "Awa");
    let late = sync(&b);
    assert_eq!(late.pushed, 1, "{late:?}");
    relay.kill();

    let moved = RelayProcess::start_postgres(&database);
    set_relay(&a, &moved.url).unwrap();
    let lucie = person(&a.store, "Lucie");
    sync(&a);

    match set_relay(&b, &moved.url) {
        // Refused: the loss of Awa is at least visible (still a loss: see the relay test
        // `a_push_the_old_relay_acknowledges_after_the_migration_is_not_lost`).
        Err(e) => panic!("refused ({e:?}); B's change is stranded on the old relay"),
        Ok(_) => {
            for d in [&b, &a, &b] {
                sync(d);
            }
            let b_has_lucie = b.store.person(lucie).is_ok();
            let a_has_awa = a.store.person(awa).is_ok();
            assert!(
                b_has_lucie && a_has_awa,
                "B was moved onto the new relay; B holds Lucie (pushed to PostgreSQL by A): \
                 {b_has_lucie}; A holds Awa (acknowledged to B by the old relay): {a_has_awa}"
            );
        }
    }
}
