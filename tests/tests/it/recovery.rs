//! End to end against a real relay process: a space whose coordinators' phones are all lost is
//! recovered with the recovery code printed when it was created, and the recovered coordinator
//! invites, approves and revokes like any other.

use allervers_client::{HttpClient, RelayApi};
use allervers_core::{fuzzing, CoreError, PersonQuery, Store};
use allervers_e2e::{
    assert_identical, create_space, device, invite, join, person, welcome, Device, RelayProcess,
};

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn persons(store: &Store) -> usize {
    store.list_persons(&PersonQuery::default()).unwrap().len()
}

#[test]
fn a_space_whose_coordinators_phones_are_lost_is_recovered_with_its_code_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let http = HttpClient::default();
    let founder = device("Téléphone coordination", "Sophie");
    let (second, worker, leaving) = (
        device("Téléphone adjoint", "Karim"),
        device("Téléphone maraude", "Inès"),
        device("Téléphone prêté", "Bastien"),
    );
    create_space(&relay, &founder.store, "Maraude des quais");
    let code = allervers_client::recovery_code(&founder.store, &http).unwrap();
    for d in [&second, &worker, &leaving] {
        join(&d.store, &invite(&founder.store)).unwrap();
    }
    welcome(
        &founder.store,
        &[&second.store, &worker.store, &leaving.store],
    );
    for (d, name) in [(&founder, "Gérard"), (&worker, "Awa"), (&leaving, "Rémi")] {
        person(&d.store, name);
        sync(d);
    }
    // The second coordinator revokes a phone: epoch 1 is its doing, and its key reaches the
    // recovery identity from it, not from the founder.
    allervers_client::make_coordinator(&founder.store, &http, &second.store.identity().device)
        .unwrap();
    sync(&second);
    allervers_client::revoke(&second.store, &http, &leaving.store.identity().device).unwrap();
    for d in [&founder, &worker] {
        sync(d);
    }
    person(&worker.store, "Odile");
    sync(&worker);

    // Both coordinators' phones are lost. A new phone recovers the space with the code.
    drop((founder, second));
    let new = device("Nouveau téléphone coordination", "Sophie");
    allervers_client::recover(&new.store, &http, &code.code()).unwrap();
    sync(&new);
    sync(&worker);
    let held: Vec<u32> = fuzzing::space_keys_held(&new.store)
        .unwrap()
        .into_iter()
        .map(|(epoch, _)| epoch)
        .collect();
    assert_eq!(held, vec![0, 1], "every epoch's key");
    assert_eq!(persons(&new.store), 4);
    assert!(!fuzzing::holds_recovery_secret(&new.store).unwrap());
    assert_identical(&[&new.store, &worker.store]);
    let new_id = new.store.identity().device.clone();
    assert_eq!(new.store.is_coordinator(&new_id).unwrap(), Some(true));
    assert_eq!(
        worker.store.is_coordinator(&new_id).unwrap(),
        Some(true),
        "the other devices check the grant the recovery identity signed"
    );

    // The code redeems once.
    let again = device("Téléphone trouvé", "Inconnu");
    match allervers_client::recover(&again.store, &http, &code.code()) {
        Err(CoreError::RelayRefused { status: 404, .. }) => {}
        other => panic!("{other:?}"),
    }

    // The recovered coordinator invites and approves a new phone, whose writes every device
    // takes (its grant is signed by the recovered coordinator)...
    let joining = device("Téléphone neuf", "Nadia");
    join(&joining.store, &invite(&new.store)).unwrap();
    welcome(&new.store, &[&joining.store]);
    person(&joining.store, "Lucien");
    sync(&joining);
    sync(&worker);
    assert_eq!(persons(&worker.store), 5);
    // ...revokes the lost founder's phone (a new epoch for the others)...
    let m = new.store.membership().unwrap().unwrap();
    let lost = http
        .devices(&m.relay, &m.space, &m.token)
        .unwrap()
        .into_iter()
        .find(|d| {
            d.coordinator && d.revoked_at_ms.is_none() && d.device != new.store.device_bytes()
        })
        .expect("a lost coordinator's phone");
    let revoked = allervers_client::revoke(
        &new.store,
        &http,
        &allervers_core::DeviceId::from_bytes(&lost.device),
    )
    .unwrap();
    assert_eq!(revoked.epoch, 2);
    // ...and makes a new code, since the old one is used.
    let renewed = allervers_client::recovery_code(&new.store, &http).unwrap();
    assert_ne!(renewed.device(), code.device());
    for d in [&worker, &joining, &new, &worker, &joining] {
        sync(d);
    }
    person(&worker.store, "Maëlle");
    for d in [&worker, &new, &joining] {
        sync(d);
    }
    assert_eq!(persons(&new.store), 6);
    assert_identical(&[&new.store, &worker.store, &joining.store]);
}
