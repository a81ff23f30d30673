//! The retention review: persons with no contact for the organisation's retention period,
//! a coordinator's decision to keep a file, and the period as a roster setting that reaches
//! every device and that only a coordinator may write.

use allervers_core::store::ROSTER_ID;
use allervers_core::{CoreError, Membership, NewEncounter, NewPerson, RecordId, Value};
use automerge::transaction::Transactable;
use automerge::ScalarValue;
use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{device, Device};
use crate::trust_attacks::{forge, quarantined, Relay};

/// The time the reviews below are made at.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2028, 6, 15, 12, 0, 0).unwrap()
}

fn add(d: &Device, name: &str, recorded_at: DateTime<Utc>) -> RecordId {
    d.clock.set(recorded_at);
    let id = d
        .store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap();
    d.clock.set(now());
    id
}

fn meet_at(d: &Device, person: RecordId, at: DateTime<Utc>) {
    d.store
        .log_encounter(&NewEncounter {
            occurred_at: Some(at),
            persons: vec![person],
            place: Some("quai de la Loire".into()),
            ..Default::default()
        })
        .unwrap();
}

fn due(d: &Device) -> Vec<RecordId> {
    d.store
        .retention_review()
        .unwrap()
        .due
        .into_iter()
        .map(|r| r.person)
        .collect()
}

#[test]
fn persons_without_contact_for_the_period_are_listed_oldest_first() {
    let d = device("Poste bureau", "Sophie");
    d.clock.set(now());
    let limit = now() - Months::new(24);
    let recorded = Utc.with_ymd_and_hms(2024, 1, 10, 10, 0, 0).unwrap();
    let rng = &mut StdRng::seed_from_u64(24);
    let names = allervers_core::seed::FIRST_NAMES;
    // (recorded at, contacts in minutes from the limit; none: never met), then generated ones.
    let mut plans: Vec<(DateTime<Utc>, Vec<i64>)> = vec![
        (recorded, vec![-60]),
        (recorded, vec![60]),
        (recorded, vec![0]),
        (recorded, vec![-400 * 1440, 300 * 1440]),
        (recorded, vec![]),
        (limit + Duration::days(10), vec![]),
        (limit - Duration::minutes(1), vec![]),
    ];
    for _ in 0..30 {
        let contacts = (0..rng.gen_range(0..4))
            .map(|_| rng.gen_range(-500 * 1440..200 * 1440))
            .collect();
        plans.push((recorded, contacts));
    }
    let mut expected = Vec::new();
    let mut expected_ids_all = Vec::new();
    for (i, (recorded_at, contacts)) in plans.iter().enumerate() {
        let id = add(&d, names[i % names.len()], *recorded_at);
        expected_ids_all.push(id);
        for minutes in contacts {
            meet_at(&d, id, limit + Duration::minutes(*minutes));
        }
        let since = contacts
            .iter()
            .map(|m| limit + Duration::minutes(*m))
            .max()
            .unwrap_or(*recorded_at);
        if since <= limit {
            expected.push((since, id));
        }
    }
    expected.sort();
    let review = d.store.retention_review().unwrap();
    assert_eq!(review.period_months, 24);
    let got: Vec<(DateTime<Utc>, RecordId)> =
        review.due.iter().map(|r| (r.since, r.person)).collect();
    assert_eq!(got.len(), expected.len());
    let times = |v: &[(DateTime<Utc>, RecordId)]| v.iter().map(|(t, _)| *t).collect::<Vec<_>>();
    assert_eq!(times(&got), times(&expected), "oldest first");
    let mut got_ids: Vec<RecordId> = got.iter().map(|(_, p)| *p).collect();
    let mut expected_ids: Vec<RecordId> = expected.iter().map(|(_, p)| *p).collect();
    got_ids.sort();
    expected_ids.sort();
    assert_eq!(got_ids, expected_ids);
    // Each row says when it was last met (never: since the recording) and how long ago.
    for row in &review.due {
        let never = row.last_contact.is_none();
        assert_eq!(never, row.since == row.recorded_at, "{row:?}");
        assert!(row.months >= 24, "{row:?}");
    }
    // The fixed cases: an hour before the limit and at the limit are due, an hour after is not,
    // a later contact wins, never met counts from the recording.
    let listed = |i: usize| got_ids.contains(&expected_ids_all[i]);
    assert_eq!(
        (0..7).map(listed).collect::<Vec<_>>(),
        [true, false, true, false, true, false, true]
    );
    assert_eq!(
        d.store.retention_due_count().unwrap(),
        expected.len() as u64,
        "the count the coordinator's phone shows"
    );
}

#[test]
fn a_kept_person_leaves_the_list_until_a_whole_period_passes_again_or_from_a_later_contact() {
    let d = device("Poste bureau", "Sophie");
    let recorded = Utc.with_ymd_and_hms(2024, 2, 1, 9, 0, 0).unwrap();
    let kept = add(&d, "Marcel", recorded);
    let met_again = add(&d, "Josiane", recorded);
    for p in [kept, met_again] {
        meet_at(&d, p, Utc.with_ymd_and_hms(2025, 3, 3, 21, 0, 0).unwrap());
    }
    assert_eq!(due(&d).len(), 2);

    for p in [kept, met_again] {
        d.store
            .retention_keep(p, "Suivi judiciaire en cours, dossier à conserver")
            .unwrap();
    }
    assert!(due(&d).is_empty(), "kept files leave the list");
    // Josiane is met again a year later: the period then runs from that contact.
    d.clock.set(now() + Months::new(12));
    meet_at(&d, met_again, now() + Months::new(12));

    for (at, expected) in [
        (now() + Months::new(24) - Duration::hours(1), vec![]),
        (now() + Months::new(24), vec![kept]),
        (now() + Months::new(36) - Duration::hours(1), vec![kept]),
        (now() + Months::new(36), vec![kept, met_again]),
    ] {
        d.clock.set(at);
        assert_eq!(due(&d), expected, "at {at}");
    }
    let review = d.store.retention_review().unwrap();
    assert_eq!(review.due[0].kept_at, Some(now()));
    assert_eq!(review.due[0].since, now());

    // The decision and its reason are in the person's history, with who made it.
    let history = d.store.history(kept).unwrap();
    let reason = history
        .iter()
        .find(|h| h.field == "retention_reason")
        .expect("the reason in the history");
    assert_eq!(
        reason.new,
        Some(Value::Text(
            "Suivi judiciaire en cours, dossier à conserver".into()
        ))
    );
    assert_eq!(reason.author.worker.as_deref(), Some("Sophie"));
    assert_eq!(reason.at, now());
    assert!(history.iter().any(|h| h.field == "retention_kept_at"));

    for (person, why) in [(kept, "  "), (RecordId::from_bytes([9; 16]), "motif")] {
        assert!(d.store.retention_keep(person, why).is_err());
    }
}

#[test]
fn the_retention_period_is_the_organisations_setting() {
    let d = device("Poste bureau", "Sophie");
    let p = add(
        &d,
        "Roseline",
        Utc.with_ymd_and_hms(2027, 1, 10, 9, 0, 0).unwrap(),
    );
    assert_eq!(d.store.retention_months().unwrap(), 24);
    assert!(due(&d).is_empty(), "17 months without contact");
    d.store.set_retention_months(12).unwrap();
    assert_eq!(d.store.retention_months().unwrap(), 12);
    assert_eq!(due(&d), vec![p]);
    for bad in [0, 241] {
        let err = d.store.set_retention_months(bad).unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidInput { ref field, .. } if field == "months"),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(d.store.retention_months().unwrap(), 12);
}

#[test]
fn the_period_reaches_the_space_through_the_roster_and_a_worker_can_neither_set_it_nor_review() {
    let rng = &mut StdRng::seed_from_u64(2024);
    let names = allervers_core::seed::FIRST_NAMES;
    let mut name = || names[rng.gen_range(0..names.len())];
    let a = device("Téléphone coordination", name());
    let w = device("Téléphone maraude", name());
    let relay = Relay::create(&a, "Maraude de la revue");
    relay.invite(&a, &w);
    relay.settle(&[&a, &w]);

    a.store.set_retention_months(18).unwrap();
    relay.settle(&[&a, &w]);
    assert_eq!(
        w.store.retention_months().unwrap(),
        18,
        "reached the worker's phone"
    );

    // The worker's device refuses, with one reason, and writes nothing.
    let err = w.store.set_retention_months(6).unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "retention"),
        "{err:?}"
    );
    for err in [
        w.store.retention_review().unwrap_err(),
        w.store.retention_due_count().unwrap_err(),
        w.store
            .retention_keep(crate::common::person(&w.store, "Anatole"), "motif")
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, CoreError::InvalidInput { ref field, .. } if field == "retention"),
            "{err:?}"
        );
    }
    // A roster change the worker forges anyway is set aside by every device.
    let w_id = w.store.identity().device.clone();
    let change = forge::roster_change(&w.store, &w_id, |doc| {
        doc.put(
            automerge::ROOT,
            "setting:retention_months",
            ScalarValue::Int(1),
        )
        .unwrap();
    });
    let seq = relay
        .push(vec![forge::sealed_roster_change(&w, &change, None)])
        .seqs[0];
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        let reason = quarantined(d, &relay.space)
            .into_iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, r)| r)
            .expect("the worker's setting was applied");
        assert!(reason.contains("only a coordinator"), "{reason}");
        assert_eq!(d.store.retention_months().unwrap(), 18);
    }
    assert!(a.store.record_document(ROSTER_ID).is_ok());
}

#[test]
fn a_store_outside_any_space_sets_the_period_freely_and_a_workers_membership_refuses_it() {
    let d = device("Poste bureau", "Sophie");
    let p = crate::common::person(&d.store, "Eugène");
    d.store.set_retention_months(36).unwrap();
    assert_eq!(d.store.retention_months().unwrap(), 36);
    d.store
        .join_space(&Membership {
            space: [3; 16],
            name: "Maraude sud".into(),
            relay: "http://relay.invalid".into(),
            token: "jeton".into(),
            epoch: 0,
            coordinator: false,
            root: None,
            founder: None,
        })
        .unwrap();
    assert!(d.store.set_retention_months(12).is_err());
    assert!(d.store.retention_review().is_err());
    // Nor may a worker's device write the decision as a plain edit.
    let err = d
        .store
        .edit(
            p,
            &[allervers_core::Edit::Set(
                "retention_reason".into(),
                Value::Text("motif".into()),
            )],
        )
        .unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "retention_reason"),
        "{err:?}"
    );
    assert_eq!(d.store.retention_months().unwrap(), 36);
}

#[test]
fn a_store_from_before_the_review_indexes_kept_files_and_the_period_when_it_migrates() {
    let mut d = device("Poste bureau", "Sophie");
    let p = add(
        &d,
        "Hippolyte",
        Utc.with_ymd_and_hms(2024, 5, 2, 9, 0, 0).unwrap(),
    );
    let other = add(
        &d,
        "Ginette",
        Utc.with_ymd_and_hms(2024, 5, 2, 9, 0, 0).unwrap(),
    );
    d.store.set_retention_months(12).unwrap();
    d.store.retention_keep(p, "Recours en cours").unwrap();
    assert_eq!(due(&d), vec![other]);
    let (path, key) = (d.path.clone(), d.key.clone());
    let _folder = d.dir.take();
    drop(d);
    // Back to the schema before the review (10) by hand: no `settings`, no `persons.kept_at`
    // (and none of the tables or columns of the migrations after it).
    {
        let conn = crate::common::raw_connection(&path, &key);
        conn.execute_batch(
            "DROP TABLE erased; DROP TABLE erasure_orders;
             DROP TABLE health_notes; DROP TABLE health_contacts;
             DROP TABLE health_profiles; DROP TABLE published_reports;
             DROP TABLE projections; DROP TABLE shared_assessments;
             DROP TABLE erasure_acks; DROP TABLE published;
             ALTER TABLE access_log DROP COLUMN partner;
             ALTER TABLE access_log DROP COLUMN categories;
             DROP TABLE custom_fields; ALTER TABLE persons DROP COLUMN custom;
             ALTER TABLE encounters DROP COLUMN custom;
             DROP INDEX persons_merged_into; DROP INDEX persons_merged_root;
             ALTER TABLE persons DROP COLUMN merged_into; ALTER TABLE persons DROP COLUMN merged_root;
             DROP TABLE settings; ALTER TABLE persons DROP COLUMN kept_at;
             DROP TABLE households; DROP TABLE household_members; DROP TABLE journey_periods;
             DROP TABLE housing_applications; DROP INDEX situation_changes_by_person;
             DROP TABLE homes; DROP TABLE risk_signals; DROP TABLE housing_offers; DROP TABLE proposals;
             DROP TABLE own_views; DROP INDEX persons_search;
             PRAGMA user_version = 10;",
        )
        .unwrap();
    }
    let clock = std::sync::Arc::new(allervers_core::ManualClock::new(now()));
    let store = allervers_core::Store::open_with(
        &path,
        &key,
        allervers_core::StoreOptions::with_clock(clock),
    )
    .unwrap();
    assert_eq!(store.retention_months().unwrap(), 12);
    let due: Vec<RecordId> = store
        .retention_review()
        .unwrap()
        .due
        .into_iter()
        .map(|r| r.person)
        .collect();
    assert_eq!(due, vec![other], "the kept file stays off the list");
}
