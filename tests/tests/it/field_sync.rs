//! End to end: every sync of a device through a real relay process records what it came to in
//! the store (`allervers_client::sync`), and the field app shows it whoever ran the sync: the
//! sync screen's last success and failure, and a background sync said once on the first screen.

use allervers_client::HttpClient;
use allervers_core::field::{Event, FieldApp, View};
use allervers_core::vocab::Lang;
use allervers_core::SyncFailure;
use allervers_e2e::{create_space, device, invite, join, person, welcome, RelayProcess};
use chrono::Duration;

fn sync_screen(app: &mut FieldApp, d: &allervers_e2e::Device) -> allervers_core::field::SyncView {
    match app.update(&d.store, Event::ShowSync) {
        View::Sync(v) => v,
        other => panic!("not the sync screen: {other:?}"),
    }
}

#[test]
fn every_sync_through_the_relay_records_its_outcome_and_the_field_app_says_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let office = device("Téléphone coordination", "Amina");
    let phone = device("Téléphone maraude", "Julien");
    create_space(&relay, &office.store, "Maraude nord");
    join(&phone.store, &invite(&office.store)).unwrap();
    welcome(&office.store, &[&phone.store]);
    let http = HttpClient::default();

    // A sync the app did not run (the phone's background one): recorded, said once on opening.
    person(&phone.store, "Mireille");
    phone.clock.set(phone.store.now() + Duration::minutes(1));
    let done = allervers_client::sync(&phone.store, &http, &mut |_| {}).unwrap();
    assert_eq!(done.pushed, 1);
    let status = phone.store.sync_status().unwrap();
    let last = status.last_success.expect("the success recorded");
    assert_eq!((last.sent, last.at), (1, phone.store.now()));
    phone.clock.set(phone.store.now() + Duration::minutes(20));
    let mut app = FieldApp::new(Lang::Fr);
    let View::Search(first) = app.update(&phone.store, Event::Start) else {
        panic!("a phone of a team opens on the search screen");
    };
    assert_eq!(
        first.sync_news.as_deref(),
        Some("Synchronisation automatique il y a 20 min : 1 changement envoyé, 0 reçu.")
    );
    let View::Search(again) = app.update(&phone.store, Event::Start) else {
        panic!("the search screen");
    };
    assert_eq!(again.sync_news, None);

    // The relay gone: the failure is recorded, and the sync screen says it after the success.
    relay.kill();
    person(&phone.store, "Hector");
    let lost = allervers_client::sync(&phone.store, &http, &mut |_| {});
    assert!(lost.is_err());
    let status = phone.store.sync_status().unwrap();
    assert_eq!(
        status.last_failure.and_then(|f| f.failure),
        Some(SyncFailure::NoNetwork)
    );
    let screen = sync_screen(&mut app, &phone);
    assert_eq!(screen.pending, "1 changement attend d'être envoyé.");
    assert_eq!(
        screen.last_success,
        "Dernière synchronisation réussie : il y a 20 min."
    );
    assert_eq!(
        screen.last_failure.as_deref(),
        Some("Échec de la synchronisation à l'instant : pas de réseau, les changements attendent sur le téléphone.")
    );
    // The coordinator's device recorded its own syncs as well (inside `welcome`).
    assert!(office.store.sync_status().unwrap().last_success.is_some());
}
