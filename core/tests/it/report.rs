//! The supervisor's activity report and CSV exports.

use crate::common::{device, meet, person};
use allervers_core::export::{ExportKind, ExportOptions};
use allervers_core::vocab::Lang;
use allervers_core::Via;
use allervers_core::{
    CoreError, Edit, Membership, NewAction, NewEncounter, NewPerson, NewReferral, Value,
};
use chrono::{Duration, NaiveDate, TimeZone, Utc};

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

#[test]
fn the_report_counts_the_period_and_the_one_before() {
    let d = device("Poste bureau", "Sophie");
    d.clock
        .set(Utc.with_ymd_and_hms(2026, 2, 10, 9, 0, 0).unwrap());
    let old = d
        .store
        .add_person(&NewPerson {
            name: Some("Ancien".into()),
            situation: Some("street".into()),
            needs: vec!["housing".into()],
            teams: vec!["nord".into()],
            ..Default::default()
        })
        .unwrap();
    d.store
        .log_encounter(&NewEncounter {
            persons: vec![old],
            team: Some("nord".into()),
            services: vec!["food".into()],
            ..Default::default()
        })
        .unwrap();
    d.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 5, 21, 0, 0).unwrap());
    let new = d
        .store
        .add_person(&NewPerson {
            name: Some("Nouvelle".into()),
            needs: vec!["health".into(), "housing".into()],
            teams: vec!["nord".into()],
            ..Default::default()
        })
        .unwrap();
    for (persons, anonymous, team, services) in [
        (vec![old, new], 0, "nord", vec!["food", "drink"]),
        (vec![old], 2, "nord", vec!["drink"]),
        (vec![], 3, "est", vec!["blanket"]),
    ] {
        d.store
            .log_encounter(&NewEncounter {
                persons,
                anonymous_count: anonymous,
                team: Some(team.into()),
                services: services.into_iter().map(String::from).collect(),
                ..Default::default()
            })
            .unwrap();
    }
    d.store
        .edit(
            old,
            &[Edit::Set(
                "situation".into(),
                Value::Code("emergency_shelter".into()),
            )],
        )
        .unwrap();
    d.store
        .add_referral(&NewReferral {
            person: new,
            target: "pass_health".into(),
            target_name: None,
            date: None,
            status: Some("accepted".into()),
            household: None,
        })
        .unwrap();
    let a = d
        .store
        .add_action(&NewAction {
            person: new,
            title: "Rendez-vous".into(),
            category: "health_appointment".into(),
            due_at: Some(day(3, 20)),
            assigned_to: None,
        })
        .unwrap();
    d.store
        .add_action(&NewAction {
            person: old,
            title: "Dossier".into(),
            category: "papers".into(),
            due_at: Some(day(3, 2)),
            assigned_to: None,
        })
        .unwrap();
    d.clock.advance_ms(3_600_000);
    d.store.complete_action(a, None).unwrap();

    let r = d.store.report(day(3, 1), day(3, 31), None).unwrap();
    assert_eq!((r.previous_from, r.previous_to), (day(1, 29), day(2, 28)));
    assert_eq!((r.encounters.current, r.encounters.previous), (3, 1));
    assert_eq!((r.persons_met.current, r.persons_met.previous), (2, 1));
    assert_eq!((r.new_persons.current, r.new_persons.previous), (1, 1));
    assert_eq!(r.anonymous_contacts.current, 5);
    assert_eq!(r.services["drink"].current, 2);
    assert_eq!(
        (r.services["food"].current, r.services["food"].previous),
        (1, 1)
    );
    assert_eq!(r.needs["housing"].current, 2);
    assert_eq!(r.needs["health"].current, 1);
    assert_eq!(r.referrals_by_target["pass_health"].current, 1);
    assert_eq!(r.referrals_by_outcome["accepted"].current, 1);
    assert_eq!(r.actions_done.current, 1);
    assert_eq!(
        r.actions_overdue.current, 1,
        "the papers action, due on the 2nd, still to do"
    );
    assert_eq!(
        r.situation_changes["street -> emergency_shelter"].current,
        1
    );

    let nord = d.store.report(day(3, 1), day(3, 31), Some("nord")).unwrap();
    assert_eq!(nord.encounters.current, 2);
    assert_eq!(nord.anonymous_contacts.current, 2);
    assert!(matches!(
        d.store.report(day(3, 31), day(3, 1), None),
        Err(CoreError::InvalidInput { .. })
    ));
    let sections = r.sections(Lang::En, &[]);
    let activity = &sections[0];
    assert_eq!(activity.key, "activity");
    assert!(activity.lines.iter().any(|l| l.key == "encounters"
        && l.label == "Encounters"
        && l.figure.current == 3
        && l.figure.previous == 1));
    let services = sections.iter().find(|s| s.key == "services").unwrap();
    assert!(services.breakdown);
    assert_eq!(services.lines.len(), r.services.len());
    let fr = r.sections(Lang::Fr, &[]);
    assert_eq!(fr[0].lines[0].label, "Rencontres");
}

/// The office's replica is usually a device that joined later and restored everything: its
/// report must be the street devices' report, situation changes included, whether the changes
/// arrived one by one or all in one batch.
#[test]
fn a_replica_that_restores_later_reports_the_same_figures() {
    let street = device("Téléphone maraude", "Yanis");
    street
        .clock
        .set(Utc.with_ymd_and_hms(2026, 3, 3, 20, 0, 0).unwrap());
    let karim = street
        .store
        .add_person(&NewPerson {
            name: Some("Karim".into()),
            situation: Some("street".into()),
            teams: vec!["nord".into()],
            ..Default::default()
        })
        .unwrap();
    let step = device("Tablette relais", "Inès");
    let moves = [("emergency_shelter", 4), ("street", 12), ("hotel", 20)];
    for (situation, day_of_march) in moves {
        street.clock.set(
            Utc.with_ymd_and_hms(2026, 3, day_of_march, 21, 0, 0)
                .unwrap(),
        );
        street
            .store
            .edit(
                karim,
                &[Edit::Set("situation".into(), Value::Code(situation.into()))],
            )
            .unwrap();
        // One replica follows each step as it happens...
        crate::common::send(&street.store, &step.store);
    }
    // ...and the office's, enrolled at the end of the month, receives the whole history at once.
    let office = device("Poste bureau", "Sophie");
    crate::common::send(&street.store, &office.store);

    let expected = street.store.report(day(3, 1), day(3, 31), None).unwrap();
    assert_eq!(
        expected
            .situation_changes
            .iter()
            .map(|(k, f)| (k.as_str(), f.current))
            .collect::<Vec<_>>(),
        vec![
            ("emergency_shelter -> street", 1),
            ("street -> emergency_shelter", 1),
            ("street -> hotel", 1),
        ]
    );
    for replica in [&step, &office] {
        assert_eq!(
            replica.store.report(day(3, 1), day(3, 31), None).unwrap(),
            expected
        );
        assert_eq!(
            replica
                .store
                .report(day(3, 1), day(3, 31), Some("nord"))
                .unwrap(),
            street
                .store
                .report(day(3, 1), day(3, 31), Some("nord"))
                .unwrap()
        );
    }
}

#[test]
fn exports_are_complete_or_pseudonymised_and_refused_to_a_worker_device() {
    let d = device("Poste bureau", "Sophie");
    let p = d
        .store
        .add_person(&NewPerson {
            name: Some("Bartholomé".into()),
            nickname: Some("Barth".into()),
            ..Default::default()
        })
        .unwrap();
    let e = d
        .store
        .log_encounter(&NewEncounter {
            persons: vec![p],
            place: Some("Sous le pont Marie".into()),
            notes: Some("Parle de son frère Alain".into()),
            ..Default::default()
        })
        .unwrap();
    let today = d.store.now().date_naive();
    let (from, to) = (today - Duration::days(1), today);

    let plain = d
        .store
        .export(
            ExportKind::Encounters,
            from,
            to,
            &ExportOptions::nominative(),
            Via::Cli,
        )
        .unwrap();
    assert_eq!(plain.rows.len(), 1);
    assert_eq!(plain.rows[0][0], e.to_string());
    assert!(plain.rows[0]
        .iter()
        .any(|c| c == "Parle de son frère Alain"));

    // One series, so that the persons' pseudonyms match between its two exports.
    let series = ExportOptions {
        series: Some("suivi".into()),
        ..ExportOptions::pseudonymised()
    };
    let persons = d
        .store
        .export(ExportKind::Persons, from, to, &series, Via::Cli)
        .unwrap();
    let encounters = d
        .store
        .export(ExportKind::Encounters, from, to, &series, Via::Cli)
        .unwrap();
    let again = d
        .store
        .export(ExportKind::Encounters, from, to, &series, Via::Cli)
        .unwrap();
    assert_eq!(encounters, again, "pseudonyms are stable within a series");
    for table in [&persons, &encounters] {
        for cell in table.rows.iter().flatten() {
            for secret in [
                "Bartholomé",
                "Barth",
                "Sous le pont",
                "Alain",
                &p.to_string(),
                &e.to_string(),
            ] {
                assert!(!cell.contains(secret), "{secret} leaked in {cell}");
            }
        }
    }
    let person_pseudonym = &persons.rows[0][0];
    assert!(person_pseudonym.starts_with("P-"));
    assert_eq!(
        &encounters.rows[0][6], person_pseudonym,
        "the encounter names the same pseudonym"
    );

    // A worker's phone in a space may not export.
    d.store
        .join_space(&Membership {
            space: [1; 16],
            name: "x".into(),
            relay: "http://relay.invalid".into(),
            token: "t".into(),
            epoch: 0,
            coordinator: false,
            root: None,
            founder: None,
        })
        .unwrap();
    let err = d
        .store
        .export(
            ExportKind::Persons,
            from,
            to,
            &ExportOptions::pseudonymised(),
            Via::Cli,
        )
        .unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { ref field, .. } if field == "export"),
        "{err:?}"
    );
}

#[test]
fn the_csv_for_funders_shows_every_count_under_5_as_under_5() {
    use allervers_core::report::funder_count;
    for (count, cell) in [
        (0, "< 5"),
        (1, "< 5"),
        (4, "< 5"),
        (5, "5"),
        (6, "6"),
        (120, "120"),
    ] {
        assert_eq!(funder_count(count), cell, "{count}");
    }
    // A month with three encounters and one person met: small figures hidden, the report's own
    // figures exact.
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Gaston");
    for _ in 0..3 {
        meet(&d.store, &[p], "place du Marché");
    }
    let today = d.store.now().date_naive();
    let report = d.store.report(today, today, None).unwrap();
    assert_eq!(report.encounters.current, 3);
    let rows = report.funder_csv_rows(Lang::Fr, &[]);
    assert_eq!(rows[0], ["section", "item", "current", "previous"]);
    let encounters = rows.iter().find(|r| r[1] == "encounters").unwrap();
    assert_eq!(encounters[2..], ["< 5", "< 5"]);
    // The median of days to a home is no count: hidden whole while fewer than 5 were housed.
    let days = rows.iter().find(|r| r[1] == "days_to_housing").unwrap();
    assert_eq!(days[2..], ["s", "s"]);
    for row in rows[1..].iter().filter(|r| r[1] != "days_to_housing") {
        for cell in &row[2..] {
            assert!(
                cell == "< 5" || cell.parse::<i64>().is_ok_and(|n| n >= 5),
                "{row:?}"
            );
        }
    }
}
