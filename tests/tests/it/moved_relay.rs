//! End to end against real relay processes: the relay's operator moves it (its data, with the
//! same spaces, device tokens and sequence numbers, behind a new address), and the devices follow
//! it with `set_relay`: nothing lost, nothing received twice. An address that does not serve the
//! space as far as a device has read it is refused, and the device's relay stays what it was.

use allervers_client::HttpClient;
use allervers_core::{CoreError, NewEncounter, PersonQuery, RecordId, Store, TimelineItem};
use allervers_e2e::{
    assert_identical, copy_relay_data, create_space, device, free_port, invite, join, person,
    welcome, Device, RelayProcess,
};

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn set_relay(d: &Device, url: &str) -> Result<allervers_core::Membership, CoreError> {
    allervers_client::set_relay(&d.store, &HttpClient::default(), None, url)
}

fn relay_of(d: &Device) -> String {
    d.store.membership().unwrap().unwrap().relay
}

fn meet(store: &Store, who: RecordId, place: &str) {
    store
        .log_encounter(&NewEncounter {
            persons: vec![who],
            place: Some(place.into()),
            ..Default::default()
        })
        .unwrap();
}

/// Two devices in a new space at `relay`: a coordinator's and one it invited, with its key.
fn pair(relay: &RelayProcess, space: &str) -> (Device, Device) {
    let (a, b) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
    );
    create_space(relay, &a.store, space);
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store]);
    (a, b)
}

/// `allervers-relay migrate` of the relay data in `dir` into a fresh database: its URL.
fn migrate(dir: &std::path::Path, name: &str) -> String {
    let database = allervers_e2e::postgres::fresh_database(name);
    let out = std::process::Command::new(allervers_e2e::relay_binary())
        .args(["migrate", "--from"])
        .arg(dir)
        .args(["--to", &database])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    database
}

/// How many encounters a person's timeline holds on `store`.
fn encounters(store: &Store, who: RecordId) -> usize {
    store
        .timeline(who)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.item, TimelineItem::Encounter { .. }))
        .count()
}

#[test]
fn devices_follow_a_relay_moved_to_a_new_address_and_receive_nothing_twice() {
    let old_dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(old_dir.path());
    let (a, b) = pair(&relay, "Maraude sud");
    let karim = person(&a.store, "Karim");
    meet(&a.store, karim, "Gare de Lyon");
    sync(&a);
    sync(&b);

    // A backup of the relay taken now, restored later by mistake: it knows every token but
    // misses what came after.
    relay.kill();
    let stale_dir = tempfile::tempdir().unwrap();
    copy_relay_data(old_dir.path(), stale_dir.path());
    let mut relay = RelayProcess::start_on(old_dir.path(), relay.port);
    let awa = person(&b.store, "Awa");
    meet(&b.store, awa, "Quai de la Rapée");
    for d in [&b, &a, &b] {
        sync(d);
    }
    assert_identical(&[&a.store, &b.store]);

    // The move: the relay stopped, its data copied, a relay started from the copy elsewhere.
    relay.kill();
    let old_url = relay.url.clone();
    let new_dir = tempfile::tempdir().unwrap();
    copy_relay_data(old_dir.path(), new_dir.path());
    let moved = RelayProcess::start(new_dir.path());
    assert_ne!(moved.url, old_url);
    assert!(matches!(
        allervers_client::sync(&a.store, &HttpClient::default(), &mut |_| {}),
        Err(CoreError::RelayUnreachable(_))
    ));

    // Refused, nothing changed: a relay that never heard of the space...
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = RelayProcess::start(fresh_dir.path());
    match set_relay(&b, &fresh.url) {
        Err(CoreError::RelayRefused { status, reason }) => {
            assert_eq!(status, 401);
            assert!(reason.contains("does not know this device"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // ...the old backup, whose log ends before what the devices received...
    let stale = RelayProcess::start(stale_dir.path());
    for d in [&a, &b] {
        match set_relay(d, &stale.url) {
            Err(CoreError::InvalidInput { reason, .. }) => {
                assert!(reason.contains("ends before"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
    // ...an address where nothing listens, and no address at all.
    assert!(matches!(
        set_relay(&b, &format!("http://127.0.0.1:{}", free_port())),
        Err(CoreError::RelayUnreachable(_))
    ));
    assert!(matches!(
        set_relay(&b, "relais-sud"),
        Err(CoreError::InvalidInput { .. })
    ));
    for d in [&a, &b] {
        assert_eq!(relay_of(d), old_url);
    }

    // Followed: the cursors stay, so a sync with nothing new receives nothing.
    let space = a.store.membership().unwrap().unwrap().space;
    for d in [&a, &b] {
        let cursors = (
            d.store.pull_cursor(&space).unwrap(),
            d.store.control_cursor(&space).unwrap(),
        );
        let m = set_relay(d, &format!("{}/", moved.url)).unwrap();
        assert_eq!(m.relay, moved.url);
        assert_eq!(relay_of(d), moved.url);
        assert_eq!(
            (
                d.store.pull_cursor(&space).unwrap(),
                d.store.control_cursor(&space).unwrap()
            ),
            cursors
        );
        let quiet = sync(d);
        assert_eq!((quiet.pushed, quiet.pulled), (0, 0), "{quiet:?}");
    }

    // Work goes on through the moved relay; each device receives the others' new changes once.
    let lucie = person(&a.store, "Lucie");
    meet(&a.store, karim, "Bercy");
    meet(&b.store, awa, "Austerlitz");
    let (from_a, from_b) = (
        a.store.pending_changes().unwrap() as usize,
        b.store.pending_changes().unwrap() as usize,
    );
    assert_eq!((from_a, from_b), (2, 1));
    let sent = sync(&a);
    assert_eq!((sent.pushed, sent.new_changes), (from_a, 0), "{sent:?}");
    let got = sync(&b);
    assert_eq!(got.pushed, from_b, "{got:?}");
    assert_eq!(got.new_changes, from_a, "{got:?}");
    assert_eq!(
        got.pulled,
        from_a + from_b,
        "its own come back once: {got:?}"
    );
    let back = sync(&a);
    assert_eq!(
        (back.pulled, back.new_changes),
        (from_b, from_b),
        "{back:?}"
    );

    assert_identical(&[&a.store, &b.store]);
    for d in [&a, &b] {
        let names: Vec<String> = d
            .store
            .list_persons(&PersonQuery::default())
            .unwrap()
            .into_iter()
            .map(|p| p.display_name)
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        for id in [karim, awa, lucie] {
            d.store.person(id).unwrap();
        }
        for who in [karim, awa] {
            let met = encounters(&d.store, who);
            assert_eq!(met, 2);
        }
    }
}

/// The operator outgrows one machine: the relay's SQLite data goes into PostgreSQL with
/// `allervers-relay migrate`, two instances serve it behind nginx, and the devices follow with
/// nothing lost or received twice; a device that joins afterwards receives everything.
#[test]
fn devices_follow_a_relay_migrated_from_sqlite_to_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let (a, b) = pair(&relay, "Maraude nord");
    let karim = person(&a.store, "Karim");
    meet(&a.store, karim, "Porte de la Chapelle");
    let awa = person(&b.store, "Awa");
    for d in [&a, &b, &a] {
        sync(d);
    }
    relay.kill();

    let database = migrate(dir.path(), "moved");
    let instances = [
        RelayProcess::start_postgres(&database),
        RelayProcess::start_postgres(&database),
    ];
    let nginx = allervers_e2e::nginx::Nginx::start(&[instances[0].port, instances[1].port]);

    let space = a.store.membership().unwrap().unwrap().space;
    for d in [&a, &b] {
        let cursor = d.store.pull_cursor(&space).unwrap();
        set_relay(d, &nginx.url).unwrap();
        assert_eq!(d.store.pull_cursor(&space).unwrap(), cursor);
        let quiet = sync(d);
        assert_eq!((quiet.pushed, quiet.pulled), (0, 0), "{quiet:?}");
    }
    meet(&b.store, awa, "Gare du Nord");
    meet(&a.store, karim, "La Villette");
    for d in [&a, &b, &a] {
        sync(d);
    }
    // A new member, invited through the moved relay, receives the space's keys and its log.
    let c = device("Téléphone 3", "Sofiane");
    join(&c.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&c.store]);
    for d in [&a, &b, &c] {
        sync(d);
    }
    assert_identical(&[&a.store, &b.store, &c.store]);
    for who in [karim, awa] {
        c.store.person(who).unwrap();
    }
    let met = encounters(&c.store, karim);
    assert_eq!(met, 2);
}

/// The operator migrates while the old relay still runs, and a device syncs with the old
/// address once more before it is told to move: the old relay refuses it (503, "this relay has
/// moved"), so its change stays in its outbox, and once it follows, nothing is lost either way.
#[test]
fn a_device_that_reaches_the_old_relay_after_the_migration_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let (a, b) = pair(&relay, "Maraude est");
    person(&a.store, "Karim");
    for d in [&a, &b, &a] {
        sync(d);
    }

    let database = migrate(dir.path(), "moved_running");

    let awa = person(&b.store, "Awa");
    match allervers_client::sync(&b.store, &HttpClient::default(), &mut |_| {}) {
        Err(CoreError::RelayRefused { status, reason }) => {
            assert_eq!(status, 503);
            assert!(reason.contains("has moved"), "{reason}");
        }
        other => panic!("the old relay took a sync after the migration: {other:?}"),
    }
    assert_eq!(b.store.pending_changes().unwrap(), 1);
    relay.kill();

    let moved = RelayProcess::start_postgres(&database);
    set_relay(&a, &moved.url).unwrap();
    let lucie = person(&a.store, "Lucie");
    sync(&a);
    set_relay(&b, &moved.url).unwrap();
    for d in [&b, &a, &b] {
        sync(d);
    }
    assert_identical(&[&a.store, &b.store]);
    assert!(b.store.person(lucie).is_ok() && a.store.person(awa).is_ok());
}
