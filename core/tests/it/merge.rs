//! Merge without loss: two devices that edited while apart exchange sealed bundles and end up
//! identical; concurrent edits of one field become a conflict; appends from both sides are kept.

use crate::common::{device, meet, person, send};
use allervers_core::store::ROSTER_ID;
use allervers_core::{
    CoreError, Edit, Kind, NewAction, NewReferral, Op, RecordId, SignedChange, TimelineItem, Value,
};

#[test]
fn two_devices_that_edited_apart_merge_into_identical_stores_with_a_conflict() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let karim = person(&a.store, "Karim");
    let action = a
        .store
        .add_action(&NewAction {
            person: karim,
            title: "Dossier SIAO".into(),
            category: "siao_referral".into(),
            due_at: None,
            assigned_to: None,
        })
        .unwrap();
    send(&a.store, &b.store);

    // Apart: both change Karim's situation, each logs encounters and comments the action.
    a.clock.advance_ms(60_000);
    b.clock.advance_ms(90_000);
    a.store
        .edit(
            karim,
            &[Edit::Set(
                "situation".into(),
                Value::Code("emergency_shelter".into()),
            )],
        )
        .unwrap();
    b.store
        .edit(
            karim,
            &[Edit::Set("situation".into(), Value::Code("squat".into()))],
        )
        .unwrap();
    a.store
        .edit(
            karim,
            &[Edit::Add("needs".into(), Value::Code("health".into()))],
        )
        .unwrap();
    b.store
        .edit(
            karim,
            &[Edit::Add("needs".into(), Value::Code("papers".into()))],
        )
        .unwrap();
    a.store
        .edit(
            karim,
            &[Edit::Add("other_names".into(), Value::Text("Kiki".into()))],
        )
        .unwrap();
    b.store
        .edit(
            karim,
            &[Edit::Add(
                "other_names".into(),
                Value::Text("le Grand".into()),
            )],
        )
        .unwrap();
    a.store
        .edit(
            action,
            &[Edit::Comment(
                "comments".into(),
                "Appel au 115 ce matin".into(),
            )],
        )
        .unwrap();
    b.store
        .edit(
            action,
            &[Edit::Comment(
                "comments".into(),
                "Pas de place ce soir".into(),
            )],
        )
        .unwrap();
    let ea = meet(&a.store, &[karim], "Gare de l'Est");
    let eb = meet(&b.store, &[karim], "Canal Saint-Martin");

    let to_b = send(&a.store, &b.store);
    let to_a = send(&b.store, &a.store);
    assert!(
        to_b.new_changes >= 5 && to_a.new_changes >= 5,
        "{to_b:?} {to_a:?}"
    );
    assert_eq!(to_b.new_conflicts, 1);
    assert_eq!(to_a.new_conflicts, 1);

    // Identical: same records, same heads, same views.
    let ids = a.store.record_ids().unwrap();
    assert_eq!(ids, b.store.record_ids().unwrap());
    for (id, _) in &ids {
        assert_eq!(
            a.store.record_heads(*id).unwrap(),
            b.store.record_heads(*id).unwrap(),
            "{id}"
        );
    }
    let (pa, pb) = (
        a.store.person(karim).unwrap(),
        b.store.person(karim).unwrap(),
    );
    assert_eq!(
        pa.situation, pb.situation,
        "both devices show the same winner"
    );
    assert_eq!(
        pa.needs,
        vec!["health", "papers"],
        "set additions from both sides are kept"
    );
    let mut others = pa.other_names.clone();
    others.sort();
    assert_eq!(
        others,
        vec!["Kiki", "le Grand"],
        "list appends from both sides are kept"
    );
    assert_eq!(pa.other_names, pb.other_names);
    assert_eq!(pa.conflicts, vec!["situation"]);
    let comments: Vec<_> = a
        .store
        .action(action)
        .unwrap()
        .comments
        .into_iter()
        .map(|c| (c.by, c.text))
        .collect();
    assert_eq!(comments.len(), 2);
    assert!(comments.contains(&("Amina".into(), "Appel au 115 ce matin".into())));
    assert!(comments.contains(&("Julien".into(), "Pas de place ce soir".into())));

    // The conflict lists both values, with author and device, on both devices.
    for store in [&a.store, &b.store] {
        let conflicts = store.conflicts().unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(
            (c.record_id, c.kind, c.field.as_str()),
            (karim, Kind::Person, "situation")
        );
        assert_eq!(c.record_label, "Karim");
        let mut values: Vec<_> = c
            .values
            .iter()
            .map(|v| {
                (
                    v.value.to_string(),
                    v.author.worker.clone().unwrap(),
                    v.author.device_name.clone().unwrap(),
                )
            })
            .collect();
        values.sort();
        assert_eq!(
            values,
            vec![
                (
                    "emergency_shelter".into(),
                    "Amina".into(),
                    "Téléphone A".into()
                ),
                ("squat".into(), "Julien".into(), "Téléphone B".into()),
            ]
        );
    }

    // Both encounters, from both devices, are in one timeline on each device.
    for store in [&a.store, &b.store] {
        let encounters: Vec<_> = store
            .timeline(karim)
            .unwrap()
            .into_iter()
            .filter_map(|e| match e.item {
                TimelineItem::Encounter { id, .. } => Some((id, e.author.worker.unwrap())),
                _ => None,
            })
            .collect();
        assert_eq!(encounters.len(), 2);
        assert!(
            encounters.contains(&(ea, "Amina".into()))
                && encounters.contains(&(eb, "Julien".into()))
        );
    }

    // Resolving records who resolved it; the resolution travels and settles both devices.
    let err = a.store.resolve(karim, "name", "Karim").unwrap_err();
    assert!(matches!(err, CoreError::InvalidInput { .. }), "{err:?}");
    let err = a.store.resolve(karim, "situation", "palace").unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "situation"),
        "{err:?}"
    );
    b.store
        .resolve(karim, "situation", "emergency_shelter")
        .unwrap();
    assert!(b.store.conflicts().unwrap().is_empty());
    send(&b.store, &a.store);
    assert!(a.store.conflicts().unwrap().is_empty());
    assert_eq!(
        a.store.person(karim).unwrap().situation.as_deref(),
        Some("emergency_shelter")
    );
    let resolved: Vec<_> = a
        .store
        .history(karim)
        .unwrap()
        .into_iter()
        .filter(|h| h.op == Op::Resolved)
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].author.worker.as_deref(), Some("Julien"));
    assert_eq!(
        resolved[0].new,
        Some(Value::Code("emergency_shelter".into()))
    );
    let mut old: Vec<_> = resolved[0].old.iter().map(|v| v.to_string()).collect();
    old.sort();
    assert_eq!(
        old,
        vec!["emergency_shelter", "squat"],
        "the resolution shows the values it replaced"
    );
}

#[test]
fn importing_the_same_bundle_twice_changes_nothing() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Fatou");
    meet(&a.store, &[p], "Place de la République");
    let bundle = a.store.export_bundle("mot de passe").unwrap();
    let first = b.store.import_bundle(&bundle, "mot de passe").unwrap();
    assert_eq!(
        first.new_changes, 4,
        "roster entry, person, encounter, and the bundle's own access-log entry"
    );
    let heads = b.store.record_heads(p).unwrap();
    let size = b.store.export_changes().unwrap().len();
    let again = b.store.import_bundle(&bundle, "mot de passe").unwrap();
    assert_eq!(
        (again.new_changes, again.known_changes, again.records),
        (0, 4, 0)
    );
    assert_eq!(b.store.record_heads(p).unwrap(), heads);
    assert_eq!(b.store.export_changes().unwrap().len(), size);
    assert_eq!(b.store.list_persons(&Default::default()).unwrap().len(), 1);
}

#[test]
fn a_tampered_truncated_or_wrongly_sealed_bundle_is_refused_and_changes_nothing() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Sékou");
    meet(&a.store, &[p], "Quai de Valmy");
    let bundle = a.store.export_bundle("mot de passe").unwrap();
    let before = b.store.export_changes().unwrap();

    let mut flipped = bundle.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let mut header = bundle.clone();
    header[40] ^= 0x80; // inside the salt
    let truncated = bundle[..bundle.len() - 10].to_vec();
    // The key settings are read before anything is authenticated: a file asking for 1 GiB of
    // argon2 memory is refused before any is allocated.
    let mut greedy = bundle.clone();
    greedy[17..21].copy_from_slice(&(1024u32 * 1024).to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("flipped byte", flipped, "mot de passe"),
        ("altered header", header, "mot de passe"),
        ("1 GiB of key memory", greedy, "mot de passe"),
        ("truncated", truncated, "mot de passe"),
        ("cut to the header", bundle[..60].to_vec(), "mot de passe"),
        ("not a bundle", b"hello".to_vec(), "mot de passe"),
        ("wrong passphrase", bundle.clone(), "autre chose"),
    ];
    for (what, bytes, passphrase) in cases {
        let err = b.store.import_bundle(&bytes, passphrase).unwrap_err();
        assert!(
            matches!(err, CoreError::BundleRefused(_)),
            "{what}: {err:?}"
        );
        assert_eq!(
            b.store.export_changes().unwrap(),
            before,
            "{what}: nothing was applied"
        );
    }
    assert!(matches!(
        b.store.person(p),
        Err(CoreError::RecordNotFound(_))
    ));
    // The intact bundle still imports.
    b.store.import_bundle(&bundle, "mot de passe").unwrap();
    assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Sékou"));
}

#[test]
fn a_batch_with_one_bad_change_is_refused_whole() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Aïcha");
    let mut changes = a.store.export_changes().unwrap();
    let bad = SignedChange {
        bytes: b"not an automerge change".to_vec(),
        ..changes[0].clone()
    };
    changes.push(bad);
    let err = b.store.import_changes(&changes).unwrap_err();
    assert!(matches!(err, CoreError::ChangesRefused(_)), "{err:?}");
    assert!(matches!(
        b.store.person(p),
        Err(CoreError::RecordNotFound(_))
    ));

    // A change that would turn a known person into another kind of record is refused too.
    let enc = meet(&a.store, &[p], "Rue Myrha");
    let mut changes = a.store.export_changes().unwrap();
    for change in changes.iter_mut() {
        if change.record == enc {
            change.record = p;
        }
    }
    send(&a.store, &b.store);
    let err = b.store.import_changes(&changes).unwrap_err();
    assert!(matches!(err, CoreError::ChangesRefused(_)), "{err:?}");
    assert_eq!(b.store.kind_of(p).unwrap(), Kind::Person);
}

#[test]
fn a_change_of_a_records_kind_is_refused_even_beside_the_records_creation() {
    use automerge::transaction::Transactable;
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let c = device("Téléphone C", "Sophie");
    let p = person(&a.store, "Aïcha");
    // b, which received p, writes a change of its own (signed by b) that makes it an encounter.
    send(&a.store, &b.store);
    let mut doc = automerge::AutoCommit::load(&b.store.record_document(p).unwrap()).unwrap();
    doc.set_actor(b.store.identity().device.actor().clone());
    doc.put(automerge::ROOT, "kind", "encounter").unwrap();
    doc.commit();
    let bytes = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = allervers_core::fuzzing::sign_change(&b.store, p, &bytes).unwrap();
    // A device that never held p receives p's creation and that change together: the answer
    // must be the one a device that held p gives (it compares with the kind it holds), not
    // "an encounter".
    let mut batch = a.store.export_changes().unwrap();
    batch.extend(
        b.store
            .export_changes()
            .unwrap()
            .into_iter()
            .filter(|ch| ch.record == ROSTER_ID),
    );
    batch.push(SignedChange {
        record: p,
        bytes,
        signature,
    });
    let err = c.store.import_changes(&batch).unwrap_err();
    assert!(
        matches!(&err, CoreError::ChangesRefused(why) if why.contains("kind")),
        "{err:?}"
    );
    assert!(matches!(
        c.store.kind_of(p),
        Err(CoreError::RecordNotFound(_))
    ));
    send(&a.store, &c.store);
    assert_eq!(c.store.kind_of(p).unwrap(), Kind::Person);
}

#[test]
fn changes_that_arrive_before_their_dependencies_wait_and_then_apply() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Moussa");
    a.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("hotel".into()))],
        )
        .unwrap();
    let all = a.store.export_changes().unwrap();
    // The author's roster entry first: it carries the keys that its changes are checked with.
    b.store.import_changes(&only(&all, ROSTER_ID)).unwrap();
    let changes = only(&all, p);
    assert_eq!(changes.len(), 2);
    // The edit first: it waits, the person is not visible yet.
    let first = b.store.import_changes(&changes[1..]).unwrap();
    assert_eq!(first.waiting, 1);
    assert!(matches!(
        b.store.person(p),
        Err(CoreError::RecordNotFound(_))
    ));
    // Then the creation: both apply.
    b.store.import_changes(&changes[..1]).unwrap();
    let person = b.store.person(p).unwrap();
    assert_eq!(person.situation.as_deref(), Some("hotel"));
    assert_eq!(
        b.store.record_heads(p).unwrap(),
        a.store.record_heads(p).unwrap()
    );
}

#[test]
fn damaged_or_random_change_bytes_are_refused_and_never_block_the_genuine_ones() {
    use rand::{Rng, SeedableRng};
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Ioana");
    meet(&a.store, &[p], "Rue Myrha");
    let good = a.store.export_changes().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for round in 0..300 {
        let original = &good[round % good.len()];
        let mut bytes = original.bytes.clone();
        match round % 3 {
            0 => bytes.truncate(rng.gen_range(0..bytes.len())),
            1 => {
                for _ in 0..rng.gen_range(1..4) {
                    let i = rng.gen_range(0..bytes.len());
                    bytes[i] = rng.gen();
                }
            }
            _ => bytes = (0..rng.gen_range(0..600)).map(|_| rng.gen()).collect(),
        }
        if bytes == original.bytes {
            continue;
        }
        let err = b
            .store
            .import_changes(&[SignedChange {
                bytes,
                ..original.clone()
            }])
            .unwrap_err();
        assert!(
            matches!(err, CoreError::ChangesRefused(_)),
            "round {round}: {err:?}"
        );
    }
    // The store still works and takes the genuine changes.
    b.store.import_changes(&good).unwrap();
    assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Ioana"));
}

#[test]
fn the_same_value_written_on_both_sides_is_agreement_not_a_conflict() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Tatiana");
    send(&a.store, &b.store);
    for d in [&a, &b] {
        d.store
            .edit(
                p,
                &[
                    Edit::Add("needs".into(), Value::Code("health".into())),
                    Edit::Set("situation".into(), Value::Code("hotel".into())),
                ],
            )
            .unwrap();
    }
    let s = send(&a.store, &b.store);
    send(&b.store, &a.store);
    assert_eq!(s.new_conflicts, 0);
    assert!(a.store.conflicts().unwrap().is_empty() && b.store.conflicts().unwrap().is_empty());
    assert!(a.store.person(p).unwrap().conflicts.is_empty());
}

#[test]
fn resolving_a_conflict_follows_the_same_rules_as_an_edit() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Jérôme");
    send(&a.store, &b.store);
    a.store
        .edit(
            p,
            &[Edit::Set("name".into(), Value::Text("Jérôme D.".into()))],
        )
        .unwrap();
    b.store
        .edit(p, &[Edit::Set("name".into(), Value::Text("Jerome".into()))])
        .unwrap();
    send(&b.store, &a.store);
    assert_eq!(a.store.conflicts().unwrap().len(), 1);
    let err = a.store.resolve(p, "name", "   ").unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "name"),
        "{err:?}"
    );
    assert_eq!(a.store.conflicts().unwrap().len(), 1, "nothing was written");
    a.store.resolve(p, "name", "Jérôme D.").unwrap();
    assert!(a.store.conflicts().unwrap().is_empty());
}

/// The conflict queue is in the same order on every replica, whatever order each one met the
/// conflicts in: by the latest of each conflict's concurrent writes.
#[test]
fn every_replica_lists_the_conflict_queue_in_the_same_order() {
    use chrono::{TimeZone, Utc};
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Pascale");
    let q = person(&a.store, "Quentin");
    send(&a.store, &b.store);
    let describe = |d: &crate::common::Device, id, hour, minute, text: &str| {
        d.clock
            .set(Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0).unwrap());
        d.store
            .edit(
                id,
                &[Edit::Set("description".into(), Value::Text(text.into()))],
            )
            .unwrap();
    };
    // Apart. P's conflict comes to be at 10:10 (Julien's write), Q's at 10:05 (Amina's).
    describe(&a, p, 10, 0, "veste rouge");
    describe(&a, q, 10, 5, "chien noir");
    describe(&b, p, 10, 10, "veste bleue");
    describe(&b, q, 9, 50, "chien blanc");

    // One replica meets P's conflict first, an hour before Q's...
    let c = device("Poste bureau", "Sophie");
    send(&a.store, &c.store);
    let julien: Vec<_> = b.store.export_changes().unwrap();
    c.store.import_changes(&only(&julien, ROSTER_ID)).unwrap();
    c.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap());
    c.store.import_changes(&only(&julien, p)).unwrap();
    c.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 3, 10, 0, 0).unwrap());
    c.store.import_changes(&only(&julien, q)).unwrap();
    // ...the others meet both at once.
    send(&b.store, &a.store);
    let order = |d: &crate::common::Device| -> Vec<_> {
        d.store
            .conflicts()
            .unwrap()
            .into_iter()
            .map(|c| (c.record_id, c.field))
            .collect()
    };
    let expected = vec![
        (q, "description".to_string()),
        (p, "description".to_string()),
    ];
    assert_eq!(order(&c), expected);
    assert_eq!(order(&a), expected);
}

/// Two coordinators resolve the same conflict at the same time, one to the value their screen
/// shows, the other to the other value: neither decision is lost. Both replicas end with a
/// conflict between the two choices; resolving it again settles it everywhere.
#[test]
fn concurrent_resolutions_of_one_conflict_end_as_a_conflict_between_the_choices() {
    for field in ["situation", "phone", "needs.health"] {
        let a = device("Téléphone A", "Amina");
        let b = device("Téléphone B", "Julien");
        let p = person(&a.store, "Nadia");
        send(&a.store, &b.store);
        let (first, second) = match field {
            "situation" => (Value::Code("street".into()), Value::Code("squat".into())),
            "phone" => (
                Value::Text("06 12 34 56 78".into()),
                Value::Text("07 98 76 54 32".into()),
            ),
            _ => (Value::Bool(true), Value::Bool(false)),
        };
        let edit = |v: &Value| match field {
            "needs.health" if *v == Value::Bool(true) => {
                Edit::Add("needs".into(), Value::Code("health".into()))
            }
            "needs.health" => Edit::Remove("needs".into(), Value::Code("health".into())),
            _ => Edit::Set(field.into(), v.clone()),
        };
        a.store.edit(p, &[edit(&first)]).unwrap();
        b.clock.advance_ms(1_000);
        b.store.edit(p, &[edit(&second)]).unwrap();
        send(&a.store, &b.store);
        send(&b.store, &a.store);
        let shown = a.store.conflicts().unwrap();
        assert_eq!(shown.len(), 1, "{field}: {shown:?}");
        assert_eq!(shown[0].field, field);

        // Each picks a different value, one of them the value both screens show.
        a.clock.advance_ms(60_000);
        b.clock.advance_ms(60_000);
        a.store.resolve(p, field, &first.to_string()).unwrap();
        b.store.resolve(p, field, &second.to_string()).unwrap();
        assert!(a.store.conflicts().unwrap().is_empty());
        assert!(b.store.conflicts().unwrap().is_empty());
        send(&a.store, &b.store);
        send(&b.store, &a.store);

        for d in [&a, &b] {
            let conflicts = d.store.conflicts().unwrap();
            assert_eq!(
                conflicts.len(),
                1,
                "{field}: a choice was lost: {conflicts:?}"
            );
            let mut values: Vec<String> = conflicts[0]
                .values
                .iter()
                .map(|v| v.value.to_string())
                .collect();
            values.sort();
            let mut expected = vec![first.to_string(), second.to_string()];
            expected.sort();
            assert_eq!(values, expected, "{field}");
        }
        assert_eq!(
            a.store.record_heads(p).unwrap(),
            b.store.record_heads(p).unwrap()
        );

        a.store.resolve(p, field, &second.to_string()).unwrap();
        send(&a.store, &b.store);
        assert!(b.store.conflicts().unwrap().is_empty(), "{field}");
        assert_eq!(
            format!("{:?}", a.store.person(p).unwrap()),
            format!("{:?}", b.store.person(p).unwrap()),
            "{field}"
        );
    }
}

/// Two coordinators who resolve a conflict to the same value agree: no conflict remains.
#[test]
fn concurrent_resolutions_to_the_same_value_agree() {
    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Nadia");
    send(&a.store, &b.store);
    a.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("street".into()))],
        )
        .unwrap();
    b.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("car".into()))],
        )
        .unwrap();
    send(&a.store, &b.store);
    send(&b.store, &a.store);
    a.store.resolve(p, "situation", "car").unwrap();
    b.store.resolve(p, "situation", "car").unwrap();
    send(&a.store, &b.store);
    send(&b.store, &a.store);
    assert!(a.store.conflicts().unwrap().is_empty());
    assert!(b.store.conflicts().unwrap().is_empty());
    assert_eq!(a.store.person(p).unwrap().situation.as_deref(), Some("car"));
}

/// The changes of one record, in the order given.
fn only(changes: &[SignedChange], record: RecordId) -> Vec<SignedChange> {
    changes
        .iter()
        .filter(|c| c.record == record)
        .cloned()
        .collect()
}

/// A new bundle needs a passphrase of 12 characters or more, counted as characters ("é" once,
/// though it takes two bytes); a bundle sealed earlier with a shorter one still opens with it.
#[test]
fn a_new_bundle_needs_a_passphrase_of_twelve_characters_and_an_older_short_one_still_opens() {
    use allervers_core::crypto::check_new_passphrase;
    for (passphrase, accepted) in [
        ("", false),
        ("phrase", false),
        ("éléphant ok", false), // 11 characters in 13 bytes
        ("éléphant ok!", true),
        ("mot de passe", true),
    ] {
        assert_eq!(
            check_new_passphrase(passphrase).is_ok(),
            accepted,
            "{passphrase:?}"
        );
    }

    let a = device("Téléphone A", "Amina");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Fatou");
    let err = a.store.export_bundle("éléphant ok").unwrap_err();
    assert!(
        matches!(&err, CoreError::InvalidInput { field, .. } if field == "passphrase"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("éléphant"), "{err}");
    a.store.export_bundle("éléphant ok!").unwrap();

    // A bundle sealed before the rule, with a short passphrase: importing is not creating.
    let old = allervers_core::bundle::seal(
        &a.store.export_changes().unwrap(),
        &a.store.identity().device.to_bytes(),
        0,
        "court",
        &allervers_core::SeededEntropy::new(7),
    )
    .unwrap();
    b.store.import_bundle(&old, "court").unwrap();
    assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Fatou"));
}

/// A shared team phone is one device, used by several workers in turn: each change records the
/// worker who made it, signed with it, and every device's history names that worker.
#[test]
fn a_shared_phone_records_the_worker_of_each_change_and_other_devices_show_it() {
    let phone = device("Téléphone d'équipe", "Amina");
    let office = device("Poste bureau", "Sophie");
    let p = person(&phone.store, "Ibrahim");
    phone.store.set_worker("Bastien").unwrap();
    assert_eq!(phone.store.worker(), "Bastien");
    phone
        .store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("squat".into()))],
        )
        .unwrap();
    assert!(phone.store.set_worker("  ").is_err());
    send(&phone.store, &office.store);
    for store in [&phone.store, &office.store] {
        let history = store.history(p).unwrap();
        let worker_of = |field: &str| {
            history
                .iter()
                .find(|e| e.field == field)
                .and_then(|e| e.author.worker.clone())
        };
        assert_eq!(worker_of("name").as_deref(), Some("Amina"));
        assert_eq!(worker_of("situation").as_deref(), Some("Bastien"));
    }
    // Kept in the store: the phone reopened still writes as Bastien.
    let path = phone.path.clone();
    let key = phone.key.clone();
    drop(phone.store);
    let reopened = allervers_core::Store::open(&path, &key).unwrap();
    assert_eq!(reopened.worker(), "Bastien");
}

/// On a shared phone, the timeline and the conflict queue name the worker each change records,
/// not the phone's worker in the roster: what Nadia wrote stays hers after Karim takes the phone,
/// on the phone and on the device that received it.
#[test]
fn timelines_and_conflicts_name_the_worker_recorded_in_each_change_of_a_shared_phone() {
    let phone = device("Téléphone d'équipe", "Nadia");
    let office = device("Poste bureau", "Julien");
    let p = person(&phone.store, "Moussa");
    send(&phone.store, &office.store);

    // Nadia: a situation, an encounter, an action.
    phone.clock.advance_ms(60_000);
    phone
        .store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("squat".into()))],
        )
        .unwrap();
    let met_by_nadia = meet(&phone.store, &[p], "Gare du Nord");
    let action = phone
        .store
        .add_action(&NewAction {
            person: p,
            title: "Dossier SIAO".into(),
            category: "siao_referral".into(),
            due_at: None,
            assigned_to: None,
        })
        .unwrap();
    // Karim takes the phone: a nickname, an encounter, a referral.
    phone.store.set_worker("Karim").unwrap();
    phone.clock.advance_ms(60_000);
    phone
        .store
        .edit(
            p,
            &[Edit::Set("nickname".into(), Value::Text("le Grand".into()))],
        )
        .unwrap();
    let met_by_karim = meet(&phone.store, &[p], "Quai de Valmy");
    let referral = phone
        .store
        .add_referral(&NewReferral {
            person: p,
            target: "siao_115".into(),
            target_name: None,
            date: None,
            status: None,
            household: None,
        })
        .unwrap();
    // Meanwhile, at the office, Julien writes both fields.
    office.clock.advance_ms(90_000);
    office
        .store
        .edit(
            p,
            &[
                Edit::Set("situation".into(), Value::Code("hotel".into())),
                Edit::Set("nickname".into(), Value::Text("Tonton".into())),
            ],
        )
        .unwrap();
    send(&phone.store, &office.store);
    send(&office.store, &phone.store);

    for store in [&phone.store, &office.store] {
        let mut values: Vec<(String, String, String)> = store
            .conflicts()
            .unwrap()
            .into_iter()
            .flat_map(|c| {
                c.values
                    .into_iter()
                    .map(move |v| (c.field.clone(), v.value.to_string(), v.author.label()))
            })
            .collect();
        values.sort();
        let value = |field: &str, value: &str, by: &str| (field.into(), value.into(), by.into());
        assert_eq!(
            values,
            vec![
                value("nickname", "Tonton", "Julien (Poste bureau)"),
                value("nickname", "le Grand", "Karim (Téléphone d'équipe)"),
                value("situation", "hotel", "Julien (Poste bureau)"),
                value("situation", "squat", "Nadia (Téléphone d'équipe)"),
            ]
        );

        let timeline = store.timeline(p).unwrap();
        let by = |record: RecordId| -> Vec<String> {
            timeline
                .iter()
                .filter(|e| match &e.item {
                    TimelineItem::Encounter { id, .. }
                    | TimelineItem::Action { id, .. }
                    | TimelineItem::Referral { id, .. }
                    | TimelineItem::Consent { id, .. }
                    | TimelineItem::HealthContact { id, .. }
                    | TimelineItem::Period { id, .. }
                    | TimelineItem::Application { id, .. }
                    | TimelineItem::Household { id, .. }
                    | TimelineItem::Home { id, .. }
                    | TimelineItem::Risk { id, .. }
                    | TimelineItem::Proposal { id, .. }
                    | TimelineItem::OwnView { id, .. } => *id == record,
                    TimelineItem::Change(_) => false,
                })
                .map(|e| e.author.label())
                .collect()
        };
        assert_eq!(by(met_by_nadia), ["Nadia (Téléphone d'équipe)"]);
        assert_eq!(by(action), ["Nadia (Téléphone d'équipe)"]);
        assert_eq!(by(met_by_karim), ["Karim (Téléphone d'équipe)"]);
        assert_eq!(by(referral), ["Karim (Téléphone d'équipe)"]);
        let changed = |field: &str| -> Vec<String> {
            let mut workers: Vec<String> = timeline
                .iter()
                .filter_map(|e| match &e.item {
                    TimelineItem::Change(h) if h.record_id == p && h.field == field => {
                        Some(e.author.label())
                    }
                    _ => None,
                })
                .collect();
            workers.sort();
            workers
        };
        assert_eq!(
            changed("situation"),
            ["Julien (Poste bureau)", "Nadia (Téléphone d'équipe)"]
        );
        assert_eq!(
            changed("nickname"),
            ["Julien (Poste bureau)", "Karim (Téléphone d'équipe)"]
        );
    }
}

/// An encounter's author is its creating change's worker, even on a device that received a later
/// edit of it before the creation (the edit is then the encounter's first stored change).
#[test]
fn an_encounter_is_credited_to_its_creation_even_when_an_edit_of_it_arrived_first() {
    let phone = device("Téléphone d'équipe", "Nadia");
    let office = device("Poste bureau", "Julien");
    let p = person(&phone.store, "Moussa");
    let met = meet(&phone.store, &[p], "Gare du Nord");
    phone.store.set_worker("Karim").unwrap();
    phone
        .store
        .edit(
            met,
            &[Edit::Set(
                "notes".into(),
                Value::Text("Revu le soir".into()),
            )],
        )
        .unwrap();
    let all = phone.store.export_changes().unwrap();
    office.store.import_changes(&only(&all, ROSTER_ID)).unwrap();
    office.store.import_changes(&only(&all, p)).unwrap();
    let changes = only(&all, met);
    assert_eq!(changes.len(), 2);
    assert_eq!(
        office.store.import_changes(&changes[1..]).unwrap().waiting,
        1
    );
    office.store.import_changes(&changes[..1]).unwrap();

    let authors: Vec<String> = office
        .store
        .timeline(p)
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.item, TimelineItem::Encounter { id, .. } if id == met))
        .map(|e| e.author.label())
        .collect();
    assert_eq!(authors, ["Nadia (Téléphone d'équipe)"]);
}
