//! Statistics only: the office publishes its activity reports into a statistics space held in
//! a store of its own; a statistics-only device reads them there, holds no team key and no
//! person's data, and cannot publish (a forged report is set aside). In-memory relays of
//! `trust_attacks.rs`.

use allervers_core::{fuzzing, CoreError, NewEncounter, NewPerson, RecordId};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT};
use chrono::NaiveDate;

use crate::common::{device, Device};
use crate::pages;
use crate::trust_attacks::Relay;

fn statistics_device(name: &str, worker: &str) -> Device {
    let d = device(name, worker);
    d.store.make_statistics_store().unwrap();
    d
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

/// The office's team store with a month of activity, its statistics store founding the
/// statistics space, and a statistics-only device in it.
fn setting() -> (Device, Device, Device, Relay, Relay) {
    let office = device("Poste bureau", "Nadia");
    let team = Relay::create(&office, "Maraude Nord");
    for name in ["Baptiste Quévremont", "Odile"] {
        let p = office
            .store
            .add_person(&NewPerson {
                name: Some(name.into()),
                needs: vec!["housing".into()],
                ..Default::default()
            })
            .unwrap();
        office
            .store
            .log_encounter(&NewEncounter {
                persons: vec![p],
                place: Some("Quai de Valmy".into()),
                services: vec!["food".into(), "hygiene_kit".into()],
                notes: Some("note de rencontre Wq5".into()),
                ..Default::default()
            })
            .unwrap();
    }
    team.settle(&[&office]);
    let office_stats = statistics_device("Poste bureau", "Nadia");
    let reader = statistics_device("Poste direction", "Régine");
    let stats = Relay::create(&office_stats, "Statistiques");
    stats.invite(&office_stats, &reader);
    stats.settle(&[&office_stats, &reader]);
    (office, office_stats, reader, team, stats)
}

#[test]
fn a_published_report_reaches_the_statistics_device_with_the_same_figures_and_nothing_nominative() {
    let (office, office_stats, reader, _team, stats) = setting();
    let report = office.store.report(day(1), day(31), None).unwrap();
    assert_eq!(report.encounters.current, 2);
    office_stats.store.publish_report(&report).unwrap();
    stats.settle(&[&office_stats, &reader]);

    let got = reader
        .store
        .published_reports(Some((day(1), day(31))), None)
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].report, report);
    assert!(reader
        .store
        .published_reports(Some((day(1), day(30))), None)
        .unwrap()
        .is_empty());

    // The statistics device holds no team key and no person's data.
    let team_keys = fuzzing::space_keys_held(&office.store).unwrap();
    let reader_keys = fuzzing::space_keys_held(&reader.store).unwrap();
    assert!(!reader_keys.is_empty());
    assert!(reader_keys.iter().all(|k| !team_keys.contains(k)));
    let plain = pages::store_plaintext(&reader.path, reader.key.as_bytes());
    assert!(!pages::contains(&plain, "Quévremont"));
    assert!(!pages::contains(&plain, "Wq5"));
    assert!(!pages::contains(&plain, "Quai de Valmy"));
}

#[test]
fn a_statistics_store_holds_reports_only_and_only_the_office_publishes() {
    let (office, office_stats, reader, _team, stats) = setting();
    // A statistics store records no person; a team's store publishes no report.
    assert!(matches!(
        reader.store.add_person(&NewPerson {
            name: Some("Odile".into()),
            ..Default::default()
        }),
        Err(CoreError::InvalidInput { .. })
    ));
    let report = office.store.report(day(1), day(31), None).unwrap();
    assert!(office.store.publish_report(&report).is_err());
    // The statistics device is no coordinator of the space: refused here...
    assert!(reader.store.publish_report(&report).is_err());

    // ...and a report forged by a modified app on it is set aside by the office's store.
    let mut doc = AutoCommit::new();
    doc.set_actor(reader.store.identity().device.actor().clone());
    doc.put(ROOT, "kind", "published_report").unwrap();
    doc.put(ROOT, "period_from", "2026-03-01").unwrap();
    doc.put(ROOT, "period_to", "2026-03-31").unwrap();
    let figures = doc.put_object(ROOT, "figures", ObjType::Map).unwrap();
    doc.put(&figures, "encounters", "900 0").unwrap();
    doc.commit_with(CommitOptions::default().with_time(reader.store.now().timestamp_millis()));
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let record = RecordId::new_by(
        reader.store.now().timestamp_millis(),
        [7, 7, 7, 7],
        &reader.store.identity().device,
    );
    let signature = fuzzing::sign_change(&reader.store, record, &change).unwrap();
    stats.push(vec![fuzzing::seal_change(
        &reader.store,
        record,
        &change,
        signature,
    )
    .unwrap()]);
    stats.settle(&[&office_stats]);
    assert!(office_stats
        .store
        .published_reports(None, None)
        .unwrap()
        .is_empty());
    assert!(office_stats
        .store
        .set_aside(&stats.space)
        .unwrap()
        .iter()
        .any(|s| s.quarantined && s.reason.contains("only a coordinator")));
}
