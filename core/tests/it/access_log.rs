//! The access log: every read of a person's file, timeline or dossier and every export is
//! logged in the reading device's record of the day; a read that cannot be logged is refused;
//! only a coordinator (or a store outside any space) lists it, within the retention period.

use allervers_core::access_log::RETENTION_MONTHS;
use allervers_core::export::{ExportKind, ExportOptions};
use allervers_core::{AccessQuery, CoreError, Kind, Membership, RawKey, Store, Via};
use chrono::{Duration, NaiveDate};

use crate::common::{device, person, SmallDisk};

fn logs(store: &Store) -> usize {
    store
        .record_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, k)| *k == Kind::AccessLog)
        .count()
}

#[test]
fn reads_are_logged_with_who_what_and_when_in_one_record_a_day() {
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Hélène");
    assert!(d
        .store
        .access_log(&AccessQuery::default())
        .unwrap()
        .is_empty());

    let shown = d.store.open_person(p, Via::Cli).unwrap();
    assert_eq!(shown.name.as_deref(), Some("Hélène"));
    d.clock.advance_ms(Duration::minutes(5).num_milliseconds());
    d.store.set_worker("Karim").unwrap();
    assert!(!d.store.open_timeline(p, Via::Dashboard).unwrap().is_empty());

    let log = d.store.access_log(&AccessQuery::default()).unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (
            log[0].what.as_str(),
            log[0].worker.as_str(),
            log[0].via.as_str()
        ),
        ("person", "Sophie", "cli")
    );
    assert_eq!(
        (
            log[1].what.as_str(),
            log[1].worker.as_str(),
            log[1].via.as_str()
        ),
        ("timeline", "Karim", "dashboard")
    );
    assert!(log.iter().all(|e| e.person == Some(p)));
    assert_eq!(log[0].device, d.store.identity().device.to_string());
    assert_eq!(log[0].device_name.as_deref(), Some("Poste bureau"));
    assert_eq!(log[0].at.to_rfc3339(), "2026-03-02T09:00:00+00:00");
    assert_eq!(logs(&d.store), 1, "a day's reads share one record");

    // The next day, a new record.
    d.clock.advance_ms(Duration::days(1).num_milliseconds());
    d.store.open_person(p, Via::App).unwrap();
    assert_eq!(logs(&d.store), 2);
    assert_eq!(
        d.store.access_log(&AccessQuery::default()).unwrap().len(),
        3
    );

    // Filters: by worker (case and accents ignored), by person, by period.
    let by_worker = |w: &str| {
        d.store
            .access_log(&AccessQuery {
                worker: Some(w.into()),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(by_worker("karim"), 2);
    assert_eq!(by_worker("SOPHIE"), 1);
    assert_eq!(by_worker("Amina"), 0);
    let other = person(&d.store, "Gaston");
    assert!(d
        .store
        .access_log(&AccessQuery {
            person: Some(other),
            ..Default::default()
        })
        .unwrap()
        .is_empty());
    let on = |day: &str| {
        let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        d.store
            .access_log(&AccessQuery {
                from: Some(day),
                to: Some(day),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(
        (on("2026-03-02"), on("2026-03-03"), on("2026-03-04")),
        (2, 1, 0)
    );

    // A plain read of the store (a list, an edit's echo) logs nothing.
    d.store.person(p).unwrap();
    d.store.list_persons(&Default::default()).unwrap();
    assert_eq!(
        d.store.access_log(&AccessQuery::default()).unwrap().len(),
        3
    );
}

#[test]
fn exports_are_logged_with_their_kind_period_and_pseudonymisation() {
    let d = device("Poste bureau", "Sophie");
    person(&d.store, "Hélène");
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    );
    d.store
        .export(
            ExportKind::Persons,
            from,
            to,
            &ExportOptions::pseudonymised(),
            Via::Cli,
        )
        .unwrap();
    d.store
        .export(
            ExportKind::Encounters,
            from,
            to,
            &ExportOptions::nominative(),
            Via::Cli,
        )
        .unwrap();
    let log = d.store.access_log(&AccessQuery::default()).unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.what == "export" && e.person.is_none()));
    assert_eq!(log[0].export_kind.as_deref(), Some("persons"));
    assert_eq!(log[0].pseudonymised, Some(true));
    assert_eq!(log[1].export_kind.as_deref(), Some("encounters"));
    assert_eq!(log[1].pseudonymised, Some(false));
    assert_eq!((log[0].from, log[0].to), (Some(from), Some(to)));
}

/// Professional secrecy needs the trace: a read that cannot be logged shows nothing.
#[test]
fn a_read_that_cannot_be_logged_is_refused() {
    let disk = SmallDisk::mount("3m");
    let path = disk.dir.path().join("store.db");
    let key = RawKey::generate();
    let p = {
        let store = Store::create(&path, &key, "Poste bureau", "Sophie").unwrap();
        let p = person(&store, "Lucienne");
        store.checkpoint().unwrap();
        p
    };
    disk.remount_read_only();
    let store = Store::open(&path, &key).unwrap();
    let err = store.open_person(p, Via::Cli).unwrap_err();
    assert!(matches!(err, CoreError::StorageReadOnly), "{err:?}");
    let err = store.open_timeline(p, Via::Cli).unwrap_err();
    assert!(matches!(err, CoreError::StorageReadOnly), "{err:?}");
    let err = store.dossier(p, Via::Cli).unwrap_err();
    assert!(matches!(err, CoreError::StorageReadOnly), "{err:?}");
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    );
    let err = store
        .export(
            ExportKind::Persons,
            from,
            to,
            &ExportOptions::nominative(),
            Via::Cli,
        )
        .unwrap_err();
    assert!(matches!(err, CoreError::StorageReadOnly), "{err:?}");
}

#[test]
fn a_worker_device_may_neither_list_the_access_log_nor_write_a_dossier() {
    let d = device("Téléphone maraude", "Julien");
    let p = person(&d.store, "Hélène");
    d.store
        .join_space(&Membership {
            space: [1; 16],
            name: "Maraude nord".into(),
            relay: "http://relay.invalid".into(),
            token: "t".into(),
            epoch: 0,
            coordinator: false,
            root: None,
            founder: None,
        })
        .unwrap();
    // The worker's own reads are logged all the same.
    d.store.open_person(p, Via::App).unwrap();
    for err in [
        d.store.access_log(&AccessQuery::default()).unwrap_err(),
        d.store.dossier(p, Via::Cli).unwrap_err(),
    ] {
        assert!(
            matches!(&err, CoreError::InvalidInput { reason, .. } if reason.starts_with("refused")),
            "{err:?}"
        );
    }
    assert!(!d.store.may_review().unwrap());
}

#[test]
fn entries_older_than_the_retention_period_are_no_longer_listed() {
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Hélène");
    d.store.open_person(p, Via::Cli).unwrap();
    d.clock
        .advance_ms(Duration::days(31 * RETENTION_MONTHS as i64 - 40).num_milliseconds());
    d.store.open_timeline(p, Via::Cli).unwrap();
    assert_eq!(
        d.store.access_log(&AccessQuery::default()).unwrap().len(),
        2
    );
    d.clock.advance_ms(Duration::days(60).num_milliseconds());
    let log = d.store.access_log(&AccessQuery::default()).unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].what, "timeline");
}
