//! A second creation of an existing record: a member device (it holds the space key and signs
//! validly, as itself) writes a change with no dependencies under another device's record id
//! that says the record is of another kind. A record id binds its creator (`RecordId::drawn_by`),
//! so the forgery is refused on the change alone: every device ends with the genuine record,
//! whatever order the two arrive in, through the relay or in bundles (`store/import.rs`).

use crate::common::{device, person};
use allervers_core::fuzzing::{seal_change, sign_change};
use allervers_core::store::ROSTER_ID;
use allervers_core::{
    Edit, Kind, Membership, PersonQuery, RawKey, RecordId, SignedChange, Store, Value,
};
use allervers_protocol::{Page, Stored};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ScalarValue, ROOT};

const SPACE: [u8; 16] = [7; 16];

fn enrol(stores: &[&Store], key: &RawKey) {
    for (i, s) in stores.iter().enumerate() {
        s.join_space(&Membership {
            space: SPACE,
            name: "Maraude test".into(),
            relay: "http://relay.invalid".into(),
            token: format!("token-{i}"),
            epoch: 0,
            coordinator: i == 0,
            root: None,
            founder: None,
        })
        .unwrap();
        s.keep_space_key(&SPACE, 0, key).unwrap();
    }
}

/// A store's changes of one record, signed, in its local order.
fn changes_of(store: &Store, record: RecordId) -> Vec<SignedChange> {
    store
        .export_changes()
        .unwrap()
        .into_iter()
        .filter(|c| c.record == record)
        .collect()
}

/// `forger`'s creation of `record`, signed by its own device: an encounter at a street of its
/// choosing that also names the record as its person and writes a name. `padding` operations
/// come before the kind: the later the kind's operation, the likelier Automerge's merge keeps it
/// over the genuine creation's.
fn forged_creation(forger: &Store, record: RecordId, padding: usize) -> SignedChange {
    let mut doc = AutoCommit::new();
    doc.set_actor(forger.identity().device.actor().clone());
    for i in 0..padding {
        doc.put(ROOT, "place", format!("{i} rue des Lilas"))
            .unwrap();
    }
    doc.put(ROOT, "kind", "encounter").unwrap();
    let at = ScalarValue::Timestamp(1_772_442_000_000);
    doc.put(ROOT, "created_at", at.clone()).unwrap();
    doc.put(ROOT, "occurred_at", at).unwrap();
    let persons = doc.put_object(ROOT, "persons", ObjType::List).unwrap();
    doc.insert(&persons, 0, record.to_string()).unwrap();
    doc.put(ROOT, "name", "Gaëlle").unwrap();
    doc.commit();
    signed(forger, record, doc)
}

/// The last change of `doc`, signed by `store`'s device for `record`.
fn signed(store: &Store, record: RecordId, mut doc: AutoCommit) -> SignedChange {
    let bytes = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = sign_change(store, record, &bytes).unwrap();
    SignedChange {
        record,
        bytes,
        signature,
    }
}

/// A relay that serves one device its pages: each batch of changes is one page, sealed by
/// `sealer` (any member), numbered after the previous one.
struct Pages<'a> {
    sealer: &'a Store,
    to: &'a Store,
    seq: u64,
}

impl Pages<'_> {
    fn serve(&mut self, changes: &[SignedChange]) {
        let envelopes: Vec<Stored> = changes
            .iter()
            .map(|c| {
                self.seq += 1;
                Stored {
                    seq: self.seq,
                    received_at_ms: 1_772_442_000_000,
                    clock_offset_ms: 0,
                    envelope: seal_change(self.sealer, c.record, &c.bytes, c.signature.clone())
                        .unwrap(),
                }
            })
            .collect();
        let page = Page {
            envelopes,
            next: self.seq,
            more: false,
            control: None,
        };
        self.to.apply_page(&SPACE, &page).unwrap();
    }
}

/// What a device holds of record `p`: what it set aside (the reasons: sequence numbers depend
/// on the order), its kind, the persons listed and found by name, the index rows (but the
/// devices', which name each store's own device) and the record's heads.
#[derive(Debug, PartialEq)]
struct Outcome {
    set_aside: Vec<String>,
    kind: Option<Kind>,
    listed: Vec<String>,
    found: Vec<String>,
    rows: Vec<String>,
    heads: Vec<String>,
}

fn outcome(store: &Store, p: RecordId) -> Outcome {
    let names = |query: PersonQuery| -> Vec<String> {
        store
            .list_persons(&query)
            .unwrap()
            .into_iter()
            .map(|s| s.display_name)
            .collect()
    };
    Outcome {
        set_aside: store
            .set_aside(&SPACE)
            .unwrap()
            .into_iter()
            .map(|s| s.reason)
            .collect(),
        kind: store.kind_of(p).ok(),
        listed: names(PersonQuery::default()),
        found: names(PersonQuery {
            search: Some("odile".into()),
            ..Default::default()
        }),
        rows: store
            .index_rows()
            .unwrap()
            .into_iter()
            .filter(|r| !r.starts_with("devices:"))
            .collect(),
        heads: store.record_heads(p).unwrap(),
    }
}

/// Person `p` created by one device (then edited: a situation), a second creation of `p` by
/// another, and what each of several devices holds of `p` once it was given both: in either
/// order through the relay, both in one page, in either order in bundles (the forged one is
/// refused whole), and on the device that created `p`.
fn second_creation(padding: usize) -> Vec<(&'static str, Outcome)> {
    let key = RawKey::generate();
    let a = device("Téléphone A", "Amina");
    let m = device("Téléphone M", "Maxime");
    enrol(&[&a.store, &m.store], &key);
    let p = person(&a.store, "Odile");
    a.clock.advance_ms(60_000);
    a.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("hotel".into()))],
        )
        .unwrap();
    let mut roster = changes_of(&a.store, ROSTER_ID);
    roster.extend(changes_of(&m.store, ROSTER_ID));
    let genuine = changes_of(&a.store, p);
    assert_eq!(genuine.len(), 2);
    let forged = forged_creation(&m.store, p, padding);

    let both = |first: &[SignedChange], second: &[SignedChange]| -> Vec<SignedChange> {
        first.iter().chain(second).cloned().collect()
    };
    let forged = vec![forged];
    let relay_orders: [(&str, Vec<Vec<SignedChange>>); 4] = [
        (
            "relay: genuine, then forged",
            vec![genuine.clone(), forged.clone()],
        ),
        (
            "relay: forged, then genuine",
            vec![forged.clone(), genuine.clone()],
        ),
        (
            "relay: genuine and forged in one page",
            vec![both(&genuine, &forged)],
        ),
        (
            "relay: forged and genuine in one page",
            vec![both(&forged, &genuine)],
        ),
    ];
    let mut outcomes = Vec::new();
    for (name, pages) in relay_orders {
        let r = device("Téléphone R", "Rémi");
        enrol(&[&r.store], &key);
        let mut relay = Pages {
            sealer: &m.store,
            to: &r.store,
            seq: 0,
        };
        relay.serve(&roster);
        for changes in &pages {
            relay.serve(changes);
        }
        outcomes.push((name, outcome(&r.store, p)));
    }
    let bundle_orders: [(&str, [&[SignedChange]; 2]); 2] = [
        ("bundles: genuine, then forged", [&genuine, &forged]),
        ("bundles: forged, then genuine", [&forged, &genuine]),
    ];
    for (name, bundles) in bundle_orders {
        let r = device("Téléphone R", "Rémi");
        enrol(&[&r.store], &key);
        r.store.import_changes(&roster).unwrap();
        for changes in bundles {
            let imported = r.store.import_changes(changes);
            if changes[0].bytes == forged[0].bytes {
                let err = imported.expect_err("the forged bundle is refused whole");
                assert!(err.to_string().contains("did not draw"), "{err}");
            } else {
                imported.unwrap();
            }
        }
        outcomes.push((name, outcome(&r.store, p)));
    }
    // The device that created the record receives the forgery.
    Pages {
        sealer: &m.store,
        to: &a.store,
        seq: 0,
    }
    .serve(&both(&changes_of(&m.store, ROSTER_ID), &forged));
    outcomes.push(("the creator's own device", outcome(&a.store, p)));
    outcomes
}

/// Every device holds the genuine record, as its creator wrote it: a person, Odile, in a
/// hotel, with the creator's two changes and no trace of the forgery but its quarantine (where
/// it came through the relay; a bundle holding it is refused whole).
fn assert_genuine_everywhere(outcomes: &[(&str, Outcome)], genuine_heads: &[String]) {
    for (name, o) in outcomes {
        assert_eq!(o.kind, Some(Kind::Person), "{name}: {o:?}");
        assert_eq!(o.listed, ["Odile"], "{name}");
        assert_eq!(o.found, ["Odile"], "{name}");
        assert_eq!(o.heads, genuine_heads, "{name}");
        assert!(
            o.rows.iter().any(|r| r.starts_with("persons:")
                && r.contains("name=Text(\"Odile\")")
                && r.contains("situation=Text(\"hotel\")")),
            "{name}: {o:?}"
        );
        assert!(
            !o.rows
                .iter()
                .any(|r| r.starts_with("encounter") || r.starts_with("conflicts:")),
            "{name}: {o:?}"
        );
        match o.set_aside.as_slice() {
            [] => assert!(name.starts_with("bundles"), "{name}: {o:?}"),
            [why] => assert!(why.contains("did not draw"), "{name}: {why}"),
            more => panic!("{name}: {more:?}"),
        }
    }
    let rows = |i: usize| &outcomes[i].1.rows;
    for i in 1..outcomes.len() {
        assert_eq!(
            rows(i),
            rows(0),
            "{} differs from {}",
            outcomes[i].0,
            outcomes[0].0
        );
    }
}

/// Whether the forgery's kind would lose Automerge's merge (its first operation) or win it (after
/// forty operations), it is refused on every device in every order, and the record stays as
/// its creator wrote it.
#[test]
fn a_second_creation_under_another_devices_record_id_is_refused_on_every_device() {
    for padding in [0, 40] {
        let outcomes = second_creation(padding);
        let heads = outcomes
            .iter()
            .find(|(name, _)| *name == "the creator's own device")
            .map(|(_, o)| o.heads.clone())
            .unwrap();
        assert_eq!(heads.len(), 1, "the creation and its edit, in a line");
        assert_genuine_everywhere(&outcomes, &heads);
    }
}

/// A value is checked on the change alone: an out-of-bounds birth year is refused whether the
/// person's creation came before it, in the same page, or not at all, and whether it is an edit
/// or sits in a second creation of another kind (refused then for its id, or its value).
#[test]
fn a_received_value_is_refused_the_same_whatever_came_before_it() {
    let key = RawKey::generate();
    let a = device("Téléphone A", "Amina");
    let m = device("Téléphone M", "Maxime");
    enrol(&[&a.store, &m.store], &key);
    let p = person(&a.store, "Odile");
    let mut roster = changes_of(&a.store, ROSTER_ID);
    roster.extend(changes_of(&m.store, ROSTER_ID));
    let genuine = changes_of(&a.store, p);

    let mut doc = AutoCommit::load(&a.store.record_document(p).unwrap()).unwrap();
    doc.set_actor(m.store.identity().device.actor().clone());
    doc.put(ROOT, "birth_year", 1_200i64).unwrap();
    doc.commit();
    let edit = signed(&m.store, p, doc);

    let mut doc = AutoCommit::new();
    doc.set_actor(m.store.identity().device.actor().clone());
    doc.put(ROOT, "kind", "encounter").unwrap();
    doc.put(ROOT, "place", "Rue Oberkampf").unwrap();
    doc.put(ROOT, "birth_year", 1_200i64).unwrap();
    doc.commit();
    let creation = signed(&m.store, p, doc);

    for bad in [edit, creation] {
        let cases: [(&str, Vec<Vec<SignedChange>>); 3] = [
            (
                "after the creation",
                vec![genuine.clone(), vec![bad.clone()]],
            ),
            (
                "beside the creation",
                vec![genuine.iter().cloned().chain([bad.clone()]).collect()],
            ),
            ("alone", vec![vec![bad.clone()]]),
        ];
        for (name, pages) in cases {
            let r = device("Téléphone R", "Rémi");
            enrol(&[&r.store], &key);
            let mut relay = Pages {
                sealer: &m.store,
                to: &r.store,
                seq: 0,
            };
            relay.serve(&roster);
            for changes in &pages {
                relay.serve(changes);
            }
            let aside = r.store.set_aside(&SPACE).unwrap();
            assert_eq!(aside.len(), 1, "{name}: {aside:?}");
            let why = &aside[0].reason;
            assert!(
                aside[0].quarantined
                    && (why.contains("birth_year is outside") || why.contains("did not draw")),
                "{name}: {aside:?}"
            );
            if pages.len() > 1 || pages[0].len() > 1 {
                assert_eq!(r.store.person(p).unwrap().birth_year, None, "{name}");
                assert_eq!(
                    r.store.record_heads(p).unwrap(),
                    a.store.record_heads(p).unwrap(),
                    "{name}"
                );
            }
        }
    }
}
