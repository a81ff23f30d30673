//! What a device checks in the values of every change it receives, whatever the sender ran:
//! the checks that give the same answer on every device (lengths, formats, bounds). What it
//! does not know (a field, a code) it keeps.

use crate::common::{device, person};
use allervers_core::{CoreError, RecordId, SignedChange, Store};
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ScalarValue, ROOT};

/// A change to `record` written by hand with Automerge, as a modified app could.
fn by_hand(source: &Store, record: RecordId, edit: impl FnOnce(&mut AutoCommit)) -> SignedChange {
    let mut doc = AutoCommit::load(&source.record_document(record).unwrap()).unwrap();
    doc.set_actor(ActorId::from([9u8; 16]));
    edit(&mut doc);
    doc.commit();
    let change = doc.get_last_local_change().unwrap();
    SignedChange {
        record,
        bytes: change.raw_bytes().to_vec(),
        signature: Vec::new(),
    }
}

#[test]
fn received_values_out_of_bounds_are_refused_and_unknown_fields_and_codes_are_kept() {
    let a = device("Téléphone A", "Amina");
    let b = device("Poste bureau", "Sophie");
    let p = person(&a.store, "Odile");
    b.store
        .import_changes(&a.store.export_changes().unwrap())
        .unwrap();
    // These changes carry no signature: the checks tested here lie past that one.
    b.store.skip_signature_checks();
    type Put = Box<dyn FnOnce(&mut AutoCommit)>;
    let cases: Vec<(&str, Put)> = vec![
        (
            "longer than 10,000",
            Box::new(|d| d.put(ROOT, "name", "x".repeat(10_001)).unwrap()),
        ),
        (
            "control characters",
            Box::new(|d| d.put(ROOT, "description", "veste\u{7} bleue").unwrap()),
        ),
        (
            "outside 1900..=2100",
            Box::new(|d| d.put(ROOT, "birth_year", 1_200i64).unwrap()),
        ),
        (
            "not a date",
            Box::new(|d| d.put(ROOT, "birth_date", "2026-13-45").unwrap()),
        ),
        (
            "before 1900 or after 2200",
            Box::new(|d| {
                d.put(
                    ROOT,
                    "retention_kept_at",
                    ScalarValue::Timestamp(32_503_680_000_000),
                )
                .unwrap()
            }),
        ),
        (
            "does not fit",
            Box::new(|d| d.put(ROOT, "consent_record", "peut-être").unwrap()),
        ),
    ];
    for (why, edit) in cases {
        let change = by_hand(&a.store, p, edit);
        match b.store.import_changes(&[change]) {
            Err(CoreError::ChangesRefused(reason)) => {
                assert!(reason.contains(why), "{why}: {reason}")
            }
            other => panic!("{why}: {other:?}"),
        }
        assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Odile"));
    }

    // A field and a code this version does not know come from a newer one: kept.
    let newer = by_hand(&a.store, p, |d| {
        d.put(ROOT, "champ_futur", "une valeur").unwrap();
        d.put(ROOT, "situation", "pension_de_famille").unwrap();
    });
    b.store.import_changes(&[newer]).unwrap();
    assert_eq!(
        b.store.person(p).unwrap().situation.as_deref(),
        Some("pension_de_famille")
    );
}
