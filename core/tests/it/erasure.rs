//! Erasure orders (a person's right to erasure) between devices of a space, through the
//! in-memory relay of `trust_attacks.rs` (which deletes the listed envelopes and refuses them
//! afterwards, as the real relay does): carried out everywhere, refused when not a coordinator's,
//! and nothing erased comes back, whether it was written offline, sent before the order, or
//! received later.

use allervers_core::{
    fuzzing, CoreError, Edit, Kind, NewAction, NewEncounter, NewPerson, NewReferral, OrderStatus,
    RecordId, Store, Value,
};
use allervers_protocol::ControlBody;
use chrono::NaiveDate;

use crate::common::{device, Device};
use crate::pages;
use crate::trust_attacks::Relay;

/// A person with a generated name and nickname.
fn someone(store: &Store, name: &str, nickname: &str) -> RecordId {
    store
        .add_person(&NewPerson {
            name: Some(name.into()),
            nickname: Some(nickname.into()),
            ..Default::default()
        })
        .unwrap()
}

fn meet(store: &Store, persons: &[RecordId], notes: &str) -> RecordId {
    store
        .log_encounter(&NewEncounter {
            persons: persons.to_vec(),
            place: Some("Rue de la Roquette".into()),
            services: vec!["food".into()],
            notes: Some(notes.into()),
            ..Default::default()
        })
        .unwrap()
}

fn action(store: &Store, person: RecordId, title: &str) -> RecordId {
    store
        .add_action(&NewAction {
            person,
            title: title.into(),
            category: "siao_referral".into(),
            due_at: None,
            assigned_to: None,
        })
        .unwrap()
}

fn referral(store: &Store, person: RecordId) -> RecordId {
    store
        .add_referral(&NewReferral {
            person,
            target: "siao_115".into(),
            target_name: None,
            date: None,
            status: None,
            household: None,
        })
        .unwrap()
}

/// Every encounter of the store: its persons and notes.
fn encounters(store: &Store) -> Vec<(Vec<RecordId>, Option<String>)> {
    let mut out: Vec<_> = store
        .record_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, k)| *k == Kind::Encounter)
        .map(|(id, _)| {
            let e = store.encounter(id).unwrap();
            (e.persons, e.notes)
        })
        .collect();
    out.sort();
    out
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// A space with a coordinator and two workers, every device holding the key.
fn team() -> (Relay, Device, Device, Device) {
    let c = device("Bureau", "Nadia");
    let w1 = device("Téléphone 1", "Karim");
    let w2 = device("Téléphone 2", "Julie");
    let relay = Relay::create(&c, "Maraude Nord");
    relay.invite(&c, &w1);
    relay.invite(&c, &w2);
    relay.settle(&[&c, &w1, &w2]);
    (relay, c, w1, w2)
}

fn gone(store: &Store, id: RecordId) -> bool {
    matches!(store.record(id), Err(CoreError::RecordNotFound(_))) && store.is_erased(id).unwrap()
}

#[test]
fn an_order_erases_the_person_on_every_device_and_at_the_relay_and_reissues_a_shared_encounter() {
    let (relay, c, w1, w2) = team();
    let erased = someone(&w1.store, "Gaëtan", "Le Grand");
    let other = someone(&w1.store, "Solène", "Sol");
    let alone = meet(&w1.store, &[erased], "Gaëtan dort sous le pont");
    let shared = meet(&w1.store, &[erased, other], "Gaëtan et Solène ensemble");
    let act = action(&w1.store, erased, "Dossier de Gaëtan");
    let refer = referral(&w1.store, erased);
    relay.settle(&[&w1, &c, &w2]);
    let envelopes_before = relay.envelopes.borrow().len();

    let done = c
        .store
        .erase_person(erased, "demande de la personne", false)
        .unwrap();
    assert_eq!(
        (
            done.records,
            done.encounters,
            done.reissued,
            done.actions,
            done.referrals
        ),
        (5, 1, 1, 1, 1)
    );
    assert!(done.blinded >= 5, "every record under every epoch key held");
    relay.settle(&[&c, &w1, &w2]);

    for d in [&c, &w1, &w2] {
        for id in [erased, alone, shared, act, refer] {
            assert!(
                gone(&d.store, id),
                "{} still holds {id}",
                d.store.identity().device_name
            );
        }
        let names: Vec<_> = d
            .store
            .list_persons(&Default::default())
            .unwrap()
            .into_iter()
            .map(|p| p.display_name)
            .collect();
        assert_eq!(names.len(), 1);
        assert!(!names[0].contains("Gaëtan"));
        // The shared encounter, re-issued by the coordinator without the erased person and
        // without its notes (they spoke of them).
        assert_eq!(encounters(&d.store), vec![(vec![other], None)]);
    }
    assert_eq!(
        c.store.index_rows().unwrap(),
        w1.store.index_rows().unwrap()
    );
    assert_eq!(
        c.store.index_rows().unwrap(),
        w2.store.index_rows().unwrap()
    );
    let report = c.store.report(day(1), day(31), None).unwrap();
    assert_eq!(report, w1.store.report(day(1), day(31), None).unwrap());
    assert_eq!(report, w2.store.report(day(1), day(31), None).unwrap());
    // The relay deleted the erased records' envelopes (and keeps the re-issued one).
    assert!(relay.envelopes.borrow().len() < envelopes_before);
    for d in [&w1, &w2] {
        assert_eq!(
            d.store
                .erasure_orders()
                .unwrap()
                .last()
                .map(|(_, s)| s.clone()),
            Some(OrderStatus::Done)
        );
    }
}

#[test]
fn notes_of_a_shared_encounter_are_kept_only_when_the_coordinator_says_so() {
    let (relay, c, w1, _) = team();
    let erased = someone(&c.store, "Gaëtan", "Le Grand");
    let other = someone(&c.store, "Solène", "Sol");
    meet(&c.store, &[erased, other], "Maraude du soir");
    c.store.erase_person(erased, "demande", true).unwrap();
    relay.settle(&[&c, &w1]);
    assert_eq!(
        encounters(&w1.store),
        vec![(vec![other], Some("Maraude du soir".into()))]
    );
}

#[test]
fn a_worker_cannot_erase_and_a_store_outside_any_space_erases_locally() {
    let (_relay, _c, w1, _) = team();
    let p = someone(&w1.store, "Gaëtan", "Le Grand");
    assert!(matches!(
        w1.store.erase_person(p, "demande", false),
        Err(CoreError::InvalidInput { .. })
    ));
    assert!(!w1.store.is_erased(p).unwrap());

    let alone = device("Poste seul", "Nadia");
    let p = someone(&alone.store, "Gaëtan", "Le Grand");
    let done = alone.store.erase_person(p, "demande", false).unwrap();
    assert_eq!((done.records, done.blinded), (1, 0));
    assert!(gone(&alone.store, p));
}

#[test]
fn an_order_from_a_worker_a_revoked_coordinator_or_altered_on_the_way_is_refused_and_erases_nothing(
) {
    let (relay, c, w1, w2) = team();
    let third = device("Téléphone 3", "Hugo");
    relay.invite(&c, &third);
    relay.settle(&[&c, &w1, &w2, &third]);
    let p = someone(&c.store, "Gaëtan", "Le Grand");
    meet(&c.store, &[p], "Gaëtan au square");
    relay.settle(&[&c, &w1, &w2, &third]);

    // A worker's order, signed by its own device.
    relay.inject(fuzzing::sign_erasure_order(&w1.store, p, "faux").unwrap());
    // A genuine coordinator's order altered on the way: another record list, another sealed
    // content.
    let genuine = fuzzing::sign_erasure_order(&c.store, p, "demande").unwrap();
    let ControlBody::Erase {
        by,
        records,
        sealed,
        signature,
    } = genuine
    else {
        panic!("an erasure order")
    };
    let mut fewer = records.clone();
    fewer.pop();
    relay.inject(ControlBody::Erase {
        by,
        records: fewer,
        sealed: sealed.clone(),
        signature: signature.clone(),
    });
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    relay.inject(ControlBody::Erase {
        by,
        records: records.clone(),
        sealed: tampered,
        signature,
    });
    // A coordinator revoked since.
    relay.make_coordinator(&c, &w2);
    relay.settle(&[&c, &w1, &w2, &third]);
    let from_revoked = fuzzing::sign_erasure_order(&w2.store, p, "après révocation").unwrap();
    relay.revoke(&c, &w2);
    relay.settle(&[&c, &w1, &third]);
    relay.inject(from_revoked);
    relay.settle(&[&c, &w1, &third]);

    for d in [&c, &w1, &third] {
        assert!(d.store.person(p).is_ok(), "nothing erased");
        assert!(!d.store.is_erased(p).unwrap());
        let refused: Vec<String> = d
            .store
            .erasure_orders()
            .unwrap()
            .into_iter()
            .filter_map(|(_, s)| match s {
                OrderStatus::Refused(why) => Some(why),
                _ => None,
            })
            .collect();
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert!(refused[0].contains("not signed by a coordinator"));
        assert!(refused[1].contains("signature does not verify"));
        assert!(refused[2].contains("does not open"));
        assert!(refused[3].contains("not signed by a coordinator"));
    }
}

#[test]
fn changes_for_erased_records_received_later_are_dropped_and_edits_of_a_shared_one_set_aside() {
    let (relay, c, w1, w2) = team();
    let p = someone(&c.store, "Gaëtan", "Le Grand");
    let other = someone(&c.store, "Solène", "Sol");
    let shared = meet(&c.store, &[p, other], "Gaëtan et Solène");
    relay.settle(&[&c, &w1, &w2]);
    // w1, offline, edits the person and the shared encounter; its envelopes reach the relay
    // without the device reading the control log (a buggy device, an old version).
    w1.store
        .edit(
            p,
            &[Edit::Set("nickname".into(), Value::Text("Gaga".into()))],
        )
        .unwrap();
    w1.store
        .edit(
            shared,
            &[Edit::Set("notes".into(), Value::Text("Gaëtan revu".into()))],
        )
        .unwrap();
    let bundle = w1.store.export_bundle("phrase de passe du test").unwrap();
    c.store.erase_person(p, "demande", false).unwrap();
    relay.sync(&c).unwrap();
    relay.accept_outbox(&w1);
    relay.settle(&[&w2]);

    assert!(gone(&w2.store, p));
    assert!(gone(&w2.store, shared));
    let reasons: Vec<String> = w2
        .store
        .set_aside(&relay.space)
        .unwrap()
        .into_iter()
        .map(|s| s.reason)
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("shared with a person erased since"));

    // The same changes in a bundle: dropped, nothing comes back.
    let imported = c
        .store
        .import_bundle(&bundle, "phrase de passe du test")
        .unwrap();
    assert!(imported.erased >= 2, "{imported:?}");
    assert!(gone(&c.store, p));
    assert!(gone(&c.store, shared));
}

#[test]
fn what_an_offline_device_wrote_about_the_person_is_erased_before_it_pushes() {
    let (relay, c, w1, w2) = team();
    let p = someone(&c.store, "Gaëtan", "Le Grand");
    let other = someone(&c.store, "Solène", "Sol");
    relay.settle(&[&c, &w1, &w2]);
    // Offline: an edit of the person, an encounter with them alone, one with them and someone
    // else, an action.
    w1.store
        .edit(
            p,
            &[Edit::Set("nickname".into(), Value::Text("Gaga".into()))],
        )
        .unwrap();
    let alone = meet(&w1.store, &[p], "Gaëtan seul");
    let shared = meet(&w1.store, &[p, other], "Gaëtan et Solène");
    let act = action(&w1.store, p, "Rappeler Gaëtan");
    c.store.erase_person(p, "demande", false).unwrap();
    relay.sync(&c).unwrap();

    // The round reads the control log before it pushes: no push is refused.
    relay.sync(&w1).unwrap();
    relay.settle(&[&c, &w1, &w2]);
    for d in [&c, &w1, &w2] {
        for id in [p, alone, shared, act] {
            assert!(
                d.store.record(id).is_err(),
                "{id} on {}",
                d.store.identity().device_name
            );
        }
        // w1 re-issued its shared encounter without the erased person.
        assert_eq!(encounters(&d.store), vec![(vec![other], None)]);
        assert!(d.store.set_aside(&relay.space).unwrap().is_empty());
    }
    assert_eq!(
        c.store.index_rows().unwrap(),
        w1.store.index_rows().unwrap()
    );
    assert_eq!(
        c.store.index_rows().unwrap(),
        w2.store.index_rows().unwrap()
    );
}

#[test]
fn a_record_about_the_person_sent_before_the_order_is_set_aside_then_erased_everywhere() {
    let (relay, c, w1, w2) = team();
    let p = someone(&c.store, "Gaëtan", "Le Grand");
    relay.settle(&[&c, &w1, &w2]);
    // w1 sends an action the coordinator has not received when it erases the person.
    let act = action(&w1.store, p, "Rappeler Gaëtan");
    relay.sync(&w1).unwrap();
    let envelopes = relay.envelopes.borrow().len();
    c.store.erase_person(p, "demande", false).unwrap();
    relay.sync(&c).unwrap();
    // The coordinator set it aside on arrival, and posted a follow-up order for it.
    let reasons: Vec<String> = c
        .store
        .set_aside(&relay.space)
        .unwrap()
        .into_iter()
        .map(|s| s.reason)
        .collect();
    assert_eq!(reasons, vec!["refers to an erased person".to_string()]);
    let orders = relay
        .control
        .borrow()
        .iter()
        .filter(|i| matches!(i.body, ControlBody::Erase { .. }))
        .count();
    assert_eq!(orders, 2, "the order and its follow-up");
    assert!(relay.envelopes.borrow().len() < envelopes - 1);

    relay.settle(&[&c, &w1, &w2]);
    for d in [&c, &w1, &w2] {
        assert!(d.store.record(act).is_err());
        assert!(d.store.is_erased(act).unwrap());
        assert!(d.store.set_aside(&relay.space).unwrap().is_empty());
    }
    assert_eq!(
        c.store.index_rows().unwrap(),
        w1.store.index_rows().unwrap()
    );
    assert_eq!(
        c.store.index_rows().unwrap(),
        w2.store.index_rows().unwrap()
    );
}

#[test]
fn no_page_of_a_store_file_keeps_the_erased_persons_name_nickname_or_notes() {
    let (relay, c, w1, _) = team();
    let p = someone(&w1.store, "Gaëtan", "Le Grand Zébulon");
    let other = someone(&w1.store, "Solène", "Sol");
    for i in 0..20 {
        // Many edits: snapshots refreshed, index rows rewritten, cells freed before the order.
        w1.store
            .edit(
                p,
                &[Edit::Set(
                    "description".into(),
                    Value::Text(format!("Manteau vert numéro {i}")),
                )],
            )
            .unwrap();
    }
    meet(&w1.store, &[p], "Note confidentielle sur Zébulon");
    meet(&w1.store, &[other], "Solène va bien");
    relay.settle(&[&w1, &c]);
    c.store.erase_person(p, "demande", false).unwrap();
    relay.settle(&[&c, &w1]);
    for d in [&c, &w1] {
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        // The pages did decrypt: what was not erased is there.
        assert!(pages::contains(&plain, "Solène va bien"));
        for erased in [
            "Gaëtan",
            "Le Grand Zébulon",
            "Note confidentielle",
            "Manteau vert",
        ] {
            assert!(
                !pages::contains(&plain, erased),
                "{erased:?} survives in {}",
                d.store.identity().device_name
            );
        }
    }
}

#[test]
fn what_a_device_writes_after_erasing_its_latest_changes_still_leaves() {
    let (relay, c, w1, _) = team();
    let p = someone(&c.store, "Gaëtan", "Le Grand");
    meet(&c.store, &[p], "Gaëtan au square");
    relay.settle(&[&c, &w1]);
    // The erased records' changes were this store's last ones.
    c.store.erase_person(p, "demande", false).unwrap();
    let q = someone(&c.store, "Solène", "Sol");
    relay.settle(&[&c, &w1]);
    assert!(
        w1.store.person(q).is_ok(),
        "the new person reached the other device"
    );
}

#[test]
fn an_order_read_before_its_key_and_its_signers_grant_is_carried_out_once_the_key_arrives() {
    let (relay, c, w1, w2) = team();
    relay.make_coordinator(&c, &w1);
    relay.settle(&[&c, &w1, &w2]);
    let p = someone(&w1.store, "Gaëtan", "Le Grand");
    relay.settle(&[&w1, &c, &w2]);
    w1.store.erase_person(p, "demande", false).unwrap();
    relay.sync(&w1).unwrap();
    // A device that joins afterwards reads the order before the delivery of its first key, and
    // before the roster that makes w1 a coordinator.
    let late = device("Téléphone 4", "Hugo");
    relay.invite(&c, &late);
    relay.sync(&c).unwrap();
    relay.sync(&late).unwrap();
    assert_eq!(
        late.store.erasure_orders().unwrap(),
        vec![(
            relay
                .control
                .borrow()
                .iter()
                .find(|i| matches!(i.body, ControlBody::Erase { .. }))
                .unwrap()
                .seq,
            OrderStatus::Done
        )]
    );
    assert!(late.store.is_erased(p).unwrap());
    relay.settle(&[&c, &w2]);
    for d in [&c, &w2] {
        assert!(gone(&d.store, p));
    }
}

#[test]
fn consent_decisions_about_the_person_are_erased_with_them() {
    let (relay, c, w1, _) = team();
    let p = someone(&w1.store, "Gaëtan", "Le Grand");
    let ids = w1
        .store
        .record_consents(&[crate::common::consent(p, "identity_contact", true)])
        .unwrap();
    relay.settle(&[&w1, &c]);
    let done = c.store.erase_person(p, "demande", false).unwrap();
    assert_eq!((done.records, done.consents), (2, 1));
    relay.settle(&[&c, &w1]);
    for d in [&c, &w1] {
        assert!(gone(&d.store, ids[0]));
        assert!(d.store.consents(p).unwrap().is_empty());
    }
}
