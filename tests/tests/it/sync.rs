//! End to end: devices that meet the network converge through a real relay process, which
//! reads nothing.

use allervers_client::HttpClient;
use allervers_client::RelayApi;
use allervers_core::{
    CoreError, Edit, NewEncounter, NewPerson, PersonQuery, Store, TimelineItem, Value,
};
use allervers_e2e::{
    assert_identical, create_space, device, invite, join, welcome, Device, RelayProcess,
};

fn sync(d: &Device) -> allervers_core::SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn person(store: &Store, name: &str) -> allervers_core::RecordId {
    store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

fn meet(
    store: &Store,
    persons: &[allervers_core::RecordId],
    place: &str,
    notes: &str,
) -> allervers_core::RecordId {
    store
        .log_encounter(&NewEncounter {
            persons: persons.to_vec(),
            place: Some(place.into()),
            notes: Some(notes.into()),
            services: vec!["drink".into()],
            ..Default::default()
        })
        .unwrap()
}

/// How many envelopes the relay at `url` stores, from its metrics.
fn stored_envelopes(url: &str) -> u64 {
    let mut r = ureq::get(format!("{url}/metrics")).call().unwrap();
    r.body_mut()
        .read_to_string()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("allervers_relay_envelopes_stored "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[test]
fn three_devices_that_worked_apart_converge_in_any_order_and_a_late_device_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, b, c) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
        device("Téléphone 3", "Sophie"),
    );
    create_space(&relay, &a.store, "Maraude nord");
    join(&b.store, &invite(&a.store)).unwrap();
    join(&c.store, &invite(&a.store)).unwrap();
    let karim = person(&a.store, "Karim");
    sync(&a);
    sync(&b);
    sync(&c);

    // Apart: everyone edits Karim's situation and logs contacts; appends on all sides.
    for (d, situation, place) in [
        (&a, "emergency_shelter", "Gare de l'Est"),
        (&b, "squat", "Quai de Valmy"),
        (&c, "street", "Rue de Lyon"),
    ] {
        d.clock.advance_ms(3_600_000);
        d.store
            .edit(
                karim,
                &[Edit::Set("situation".into(), Value::Code(situation.into()))],
            )
            .unwrap();
        d.store
            .edit(
                karim,
                &[Edit::Add(
                    "other_names".into(),
                    Value::Text(format!("vu par {}", d.store.identity().worker)),
                )],
            )
            .unwrap();
        meet(&d.store, &[karim], place, "Note confidentielle Xq7");
        person(
            &d.store,
            &format!("Nouvelle personne de {}", d.store.identity().worker),
        );
    }
    // Different orders, until nothing moves.
    for d in [&c, &a, &b, &c, &b, &a] {
        sync(d);
    }
    assert_identical(&[&a.store, &b.store, &c.store]);
    for d in [&a, &b, &c] {
        let conflicts = d.store.conflicts().unwrap();
        assert_eq!(conflicts.len(), 1, "{}", d.store.identity().worker);
        assert_eq!(conflicts[0].field, "situation");
        assert_eq!(conflicts[0].values.len(), 3);
        let p = d.store.person(karim).unwrap();
        assert_eq!(p.other_names.len(), 3, "appends from all are kept");
        let encounters = d
            .store
            .timeline(karim)
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e.item, TimelineItem::Encounter { .. }))
            .count();
        assert_eq!(encounters, 3);
        assert_eq!(
            d.store.list_persons(&PersonQuery::default()).unwrap().len(),
            4
        );
    }
    // A nothing-new sync is one request (the control log comes with the envelopes).
    let idle = sync(&a);
    assert_eq!((idle.pushed, idle.pulled, idle.requests), (0, 0, 1));

    // A fresh device joins later and syncs before its key arrives: it holds everything it
    // pulls and pushes nothing...
    let late = device("Téléphone 4", "Inès");
    join(&late.store, &invite(&a.store)).unwrap();
    let early = sync(&late);
    assert!(early.pulled > 10, "{early:?}");
    assert_eq!((early.pushed, early.new_changes), (0, 0), "{early:?}");
    assert_eq!(early.held, early.pulled, "{early:?}");
    // ...then the coordinator's device checks its enrolment and delivers the key, and the
    // device restores everything it held.
    let approving = sync(&a);
    assert_eq!(approving.approved, 1, "{approving:?}");
    let restored = sync(&late);
    assert_eq!(restored.keys_received, 1, "{restored:?}");
    // Everything it held, and the coordinator's grant that added it to the roster.
    assert_eq!(restored.new_changes, early.pulled + 1, "{restored:?}");
    assert_eq!(restored.pushed, 1, "its own roster entry");
    assert!(late
        .store
        .set_aside(&late.store.membership().unwrap().unwrap().space)
        .unwrap()
        .is_empty());
    sync(&a);
    assert_identical(&[&a.store, &late.store]);
    assert_eq!(late.store.conflicts().unwrap().len(), 1);
    let names: Vec<String> = late
        .store
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| d.worker)
        .collect();
    for w in ["Amina", "Julien", "Sophie"] {
        assert!(names.contains(&w.to_string()), "{names:?}");
    }

    // The relay's database holds none of what was written.
    let mut files = vec![relay.data.join("relay.db")];
    let wal = relay.data.join("relay.db-wal");
    if wal.exists() {
        files.push(wal);
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [
            "Karim",
            "Note confidentielle Xq7",
            "Gare de l'Est",
            "Quai de Valmy",
            "emergency_shelter",
            "squat",
            "Amina",
            "Julien",
            "Téléphone",
            "Nouvelle personne",
            "person",
            "encounter",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} found in {}",
                file.display()
            );
        }
    }
}

#[test]
fn revoked_devices_and_reused_invites_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, b, c) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
        device("Téléphone 3", "Sophie"),
    );
    create_space(&relay, &a.store, "Maraude est");
    let code = invite(&a.store);
    join(&b.store, &code).unwrap();
    welcome(&a.store, &[&b.store]);
    let err = join(&c.store, &code).unwrap_err();
    assert!(
        matches!(err, CoreError::RelayRefused { status: 404, .. }),
        "{err:?}"
    );
    assert!(matches!(
        join(&c.store, "ALV1-not-a-code"),
        Err(CoreError::InvalidInput { .. })
    ));

    person(&b.store, "Moussa");
    sync(&b);
    let m = a.store.membership().unwrap().unwrap();
    let b_id: [u8; 16] = b.store.identity().device.to_bytes().try_into().unwrap();
    HttpClient::default()
        .revoke(&m.relay, &m.space, &m.token, &b_id, None)
        .unwrap();
    person(&b.store, "Après révocation");
    let err = allervers_client::sync(&b.store, &HttpClient::default(), &mut |_| {}).unwrap_err();
    match err {
        CoreError::RelayRefused { status, reason } => {
            assert_eq!(status, 403);
            assert!(reason.contains("revoked"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        b.store.pending_changes().unwrap(),
        1,
        "the refused change stays in the outbox"
    );
    sync(&a);
    assert_eq!(
        a.store.list_persons(&PersonQuery::default()).unwrap().len(),
        1,
        "only what b sent before"
    );
}

#[test]
fn a_relay_killed_in_the_middle_of_a_push_loses_nothing_and_the_next_sync_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(dir.path());
    let (a, b) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
    );
    create_space(&relay, &a.store, "Maraude centre");
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store]);
    let p = person(&a.store, "Fatou");
    for i in 0..3_000 {
        a.store
            .log_encounter(&NewEncounter {
                persons: vec![p],
                anonymous_count: i % 3,
                notes: Some(format!("passage {i}")),
                ..Default::default()
            })
            .unwrap();
    }
    let total = a.store.pending_changes().unwrap();
    let before = stored_envelopes(&relay.url);
    // Kill the relay once a few batches were acknowledged, while the push goes on.
    let pushed = std::sync::atomic::AtomicUsize::new(0);
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            allervers_client::sync(&a.store, &HttpClient::default(), &mut |p| {
                if let allervers_core::SyncProgress::Pushing { done, .. } = p {
                    pushed.store(done, std::sync::atomic::Ordering::SeqCst);
                }
            })
        });
        let mut waited = 0;
        while pushed.load(std::sync::atomic::Ordering::SeqCst) < 512 && waited < 2_000 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            waited += 1;
        }
        relay.kill();
        worker.join().unwrap()
    });
    let err = result.expect_err("the push cannot finish without a relay");
    assert!(matches!(err, CoreError::RelayUnreachable(_)), "{err:?}");
    let left = a.store.pending_changes().unwrap();
    assert!(
        left > 0 && left < total,
        "cut in the middle: {left} of {total} left"
    );

    let relay = RelayProcess::start_on(dir.path(), relay.port);
    let resumed = sync(&a);
    assert_eq!(resumed.pushed as u64, left, "the rest, and only the rest");
    assert_eq!(a.store.pending_changes().unwrap(), 0);
    // Every change reached the relay exactly once.
    assert_eq!(stored_envelopes(&relay.url), before + total);
    sync(&b);
    assert_eq!(
        b.store
            .timeline(p)
            .unwrap()
            .iter()
            .filter(|e| matches!(e.item, TimelineItem::Encounter { .. }))
            .count(),
        3_000
    );
    sync(&a);
    assert_identical(&[&a.store, &b.store]);
}

#[test]
fn a_record_received_in_a_bundle_and_edited_reaches_the_whole_space() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, b, offline) = (
        device("Téléphone 1", "Amina"),
        device("Téléphone 2", "Julien"),
        device("Poste hors ligne", "Bastien"),
    );
    let outside = device("Poste d'une autre équipe", "Odile");
    create_space(&relay, &a.store, "Maraude sud");
    join(&b.store, &invite(&a.store)).unwrap();
    join(&offline.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store, &offline.store]);
    // A member of the space without network: a person it records reaches b by a bundle, and
    // b edits it.
    let p = person(&offline.store, "Gérard");
    let bundle = offline
        .store
        .export_bundle("phrase de passe du test")
        .unwrap();
    b.store
        .import_bundle(&bundle, "phrase de passe du test")
        .unwrap();
    // A bundle from a device no coordinator added to the space is refused whole.
    person(&outside.store, "Rémi");
    let foreign = outside
        .store
        .export_bundle("phrase de passe du test")
        .unwrap();
    let before = b.store.record_ids().unwrap();
    let err = b
        .store
        .import_bundle(&foreign, "phrase de passe du test")
        .expect_err("its author is no member");
    assert!(err.to_string().contains("grant"), "{err}");
    assert_eq!(b.store.record_ids().unwrap(), before);
    b.clock.advance_ms(60_000);
    b.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("hotel".into()))],
        )
        .unwrap();
    sync(&b);
    sync(&a);
    let seen = a.store.person(p).unwrap();
    assert_eq!(seen.name.as_deref(), Some("Gérard"));
    assert_eq!(seen.situation.as_deref(), Some("hotel"));
    // And a's own edit of it goes back to b.
    a.clock.advance_ms(120_000);
    a.store
        .edit(
            p,
            &[Edit::Add("needs".into(), Value::Code("health".into()))],
        )
        .unwrap();
    sync(&a);
    sync(&b);
    assert_eq!(b.store.person(p).unwrap().needs, vec!["health"]);
    sync(&a);
    assert_identical(&[&a.store, &b.store]);
}

#[test]
fn a_device_whose_clock_is_off_is_marked_against_the_relay_time() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (office, right, wrong) = (
        device("Poste bureau", "Sophie"),
        device("Téléphone à l'heure", "Amina"),
        device("Téléphone déréglé", "Julien"),
    );
    let now = chrono::Utc::now();
    office.clock.set(now);
    right.clock.set(now);
    wrong.clock.set(now + chrono::Duration::hours(3));
    create_space(&relay, &office.store, "Maraude horloges");
    join(&right.store, &invite(&office.store)).unwrap();
    join(&wrong.store, &invite(&office.store)).unwrap();
    welcome(&office.store, &[&right.store, &wrong.store]);
    let p = person(&right.store, "Awa");
    sync(&right);
    sync(&wrong);
    meet(&right.store, &[p], "Parvis", "à l'heure");
    meet(&wrong.store, &[p], "Métro", "trois heures d'avance");
    sync(&right);
    sync(&wrong);
    sync(&office);
    let marks: Vec<(String, bool, bool)> = office
        .store
        .timeline(p)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.item {
            TimelineItem::Encounter { notes, .. } => {
                Some((notes.unwrap(), e.clock_off, e.relay_at.is_some()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(marks.len(), 2);
    assert!(
        marks.contains(&("à l'heure".into(), false, true)),
        "{marks:?}"
    );
    assert!(
        marks.contains(&("trois heures d'avance".into(), true, true)),
        "{marks:?}"
    );
}
