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

/// Any address that echoes the cursor it is asked about passes `set_relay`'s check: the request
/// itself says which number to answer (`after=N-1&limit=1`). The device then hands its token to
/// that address and syncs with it from then on. The check proves nothing about the address; the
/// docs say it is "checked first (the new address must know this device and hold what it
/// already received)".
#[test]
fn an_address_that_echoes_the_cursor_is_not_taken_for_the_space_relay() {
    use allervers_client::{Exchange, HttpRequest, TransportError};
    use allervers_protocol::{encode, Control, ControlBody, ControlPage, Envelope, Page, Stored};
    use std::sync::Mutex;

    struct Echo(Mutex<Vec<String>>);
    impl Exchange for Echo {
        fn exchange(&self, r: HttpRequest) -> Result<(u16, Vec<u8>), TransportError> {
            self.0.lock().unwrap().push(r.bearer.clone().unwrap_or_default());
            let after: u64 = r
                .url
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("after="))
                .unwrap()
                .parse()
                .unwrap();
            let body = if r.url.contains("/control?") {
                encode(&ControlPage {
                    items: vec![Control {
                        seq: after + 1,
                        body: ControlBody::Epoch { epoch: 0, by: [0; 16] },
                    }],
                    next: after + 1,
                    more: false,
                })
            } else {
                encode(&Page {
                    envelopes: vec![Stored {
                        seq: after + 1,
                        received_at_ms: 0,
                        clock_offset_ms: 0,
                        envelope: Envelope {
                            record: [0; 16],
                            epoch: 0,
                            nonce: [0; 24],
                            sealed: vec![0; 64],
                            key: None,
                        },
                    }],
                    next: after + 1,
                    more: false,
                    control: None,
                })
            };
            Ok((200, body))
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, b) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
    );
    create_space(&relay, &a.store, "Maraude ouest");
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store]);
    person(&a.store, "Karim");
    for d in [&a, &b] {
        sync(d);
    }
    let space = b.store.membership().unwrap().unwrap().space;
    assert!(b.store.pull_cursor(&space).unwrap() > 0);
    let token = b.store.membership().unwrap().unwrap().token;

    let echo = Echo(Mutex::new(Vec::new()));
    let outcome =
        allervers_client::set_relay(&b.store, &echo, None, "https://relais-sud.example.net");
    let seen = echo.0.lock().unwrap().clone();
    assert!(
        outcome.is_err(),
        "accepted an address that only echoes the cursor; it received the device token {} \
         times ({}), and the device now syncs with {}",
        seen.iter().filter(|t| **t == token).count(),
        if seen.contains(&token) { "the real one" } else { "none" },
        b.store.membership().unwrap().unwrap().relay
    );
}
