//! Exports that cannot be linked: a fresh pseudonym key per export, named series, times as
//! days, and what reveals health left out of pseudonymised exports unless asked.

use std::collections::BTreeSet;

use allervers_core::export::{ExportKind, ExportOptions, Table};
use allervers_core::sensitive::is_sensitive_code;
use allervers_core::vocab::Vocab;
use allervers_core::{CoreError, NewAction, NewEncounter, NewPerson, NewReferral, RecordId, Via};
use chrono::{NaiveDate, TimeZone, Utc};

use crate::common::{device, Device};

struct Field {
    d: Device,
    persons: Vec<RecordId>,
}

const FROM: (i32, u32, u32) = (2026, 2, 1);
const TO: (i32, u32, u32) = (2026, 3, 2);

fn day((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A month of generated field work: persons with health and other needs, an alert level,
/// encounters at odd minutes with care, food and the organisation's own service, referrals to
/// psychiatry and a day centre, a health appointment and a papers action.
fn field() -> Field {
    let d = device("Poste bureau", "Sophie");
    d.store
        .add_term(Vocab::Service, "douche", "douche", "shower")
        .unwrap();
    let people = [
        (
            "Mireille",
            vec!["housing", "addiction", "mental_health"],
            Some("very_vulnerable"),
        ),
        ("Lucien", vec!["food", "health"], None),
        ("Odile", vec!["papers"], Some("watch")),
    ];
    let persons: Vec<RecordId> = people
        .iter()
        .map(|(name, needs, alert)| {
            // One minute apart: exports list persons and actions in the order they were made.
            d.clock.advance_ms(60_000);
            d.store
                .add_person(&NewPerson {
                    name: Some(name.to_string()),
                    needs: needs.iter().map(|n| n.to_string()).collect(),
                    alert_level: alert.map(str::to_string),
                    situation: Some("street".into()),
                    birth_year: Some(1983),
                    ..Default::default()
                })
                .unwrap()
        })
        .collect();
    for (i, minute) in [(0, 37), (1, 11), (2, 58)] {
        d.store
            .log_encounter(&NewEncounter {
                occurred_at: Some(
                    Utc.with_ymd_and_hms(2026, 2, 20 + i as u32, 14, minute, 0)
                        .unwrap(),
                ),
                persons: vec![persons[i]],
                place: Some("rue des Poissonniers".into()),
                services: vec!["food".into(), "care".into(), "douche".into()],
                notes: Some("Fatigué".into()),
                ..Default::default()
            })
            .unwrap();
    }
    for (p, target) in [(0, "psychiatry_cmp"), (1, "pass_health"), (2, "day_centre")] {
        // On different days: exports list referrals by date.
        d.store
            .add_referral(&NewReferral {
                person: persons[p],
                target: target.into(),
                target_name: None,
                date: Some(day((2026, 2, 24 + p as u32))),
                status: None,
                household: None,
            })
            .unwrap();
    }
    for (p, category) in [(0, "health_appointment"), (2, "papers")] {
        d.clock.advance_ms(60_000);
        d.store
            .add_action(&NewAction {
                person: persons[p],
                title: "Rendez-vous".into(),
                category: category.into(),
                due_at: Some(day((2026, 2, 27))),
                assigned_to: None,
            })
            .unwrap();
    }
    Field { d, persons }
}

impl Field {
    fn export(&self, kind: ExportKind, options: &ExportOptions) -> Table {
        self.d
            .store
            .export(kind, day(FROM), day(TO), options, Via::Cli)
            .unwrap()
    }
}

/// A column's cells, sorted (a pseudonymised export's rows come in the order of their
/// pseudonyms, drawn anew each time).
fn column<'a>(table: &'a Table, name: &str) -> Option<Vec<&'a str>> {
    let i = table.header.iter().position(|h| h == name)?;
    let mut cells: Vec<&str> = table.rows.iter().map(|r| r[i].as_str()).collect();
    cells.sort_unstable();
    Some(cells)
}

/// Every pseudonym (`P-...`, `E-...`, `T-...`) in a table.
fn pseudonyms(table: &Table) -> BTreeSet<String> {
    table
        .rows
        .iter()
        .flatten()
        .flat_map(|cell| cell.split(' '))
        .filter(|w| w.len() == 12 && w.as_bytes()[1] == b'-')
        .map(str::to_string)
        .collect()
}

fn series(name: &str) -> ExportOptions {
    ExportOptions {
        series: Some(name.into()),
        ..ExportOptions::pseudonymised()
    }
}

#[test]
fn two_pseudonymised_exports_share_no_pseudonym() {
    let f = field();
    for kind in [ExportKind::Persons, ExportKind::Encounters] {
        let first = f.export(kind, &ExportOptions::pseudonymised());
        let second = f.export(kind, &ExportOptions::pseudonymised());
        let (a, b) = (pseudonyms(&first), pseudonyms(&second));
        assert!(a.len() >= 3, "{kind:?}: {a:?}");
        assert!(
            a.is_disjoint(&b),
            "{kind:?}: shared {:?}",
            a.intersection(&b)
        );
    }
}

#[test]
fn a_series_gives_the_same_pseudonyms_in_its_own_exports_only() {
    let f = field();
    let cohort = f.export(ExportKind::Persons, &series("cohorte-2026"));
    let again = f.export(ExportKind::Encounters, &series("cohorte-2026"));
    let other = f.export(ExportKind::Persons, &series("evaluation.b"));
    let fresh = f.export(ExportKind::Persons, &ExportOptions::pseudonymised());
    let ids = column(&cohort, "id").unwrap();
    let mut met = column(&again, "persons").unwrap();
    met.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(met, expected, "the series names each person the same way");
    for table in [&other, &fresh] {
        assert!(pseudonyms(&cohort).is_disjoint(&pseudonyms(table)));
    }
    assert_eq!(
        f.d.store.export_series().unwrap(),
        vec!["cohorte-2026".to_string(), "evaluation.b".to_string()],
        "a series key is kept; a fresh export's key is not"
    );
    for bad in ["", "deux mots", "a/b", &"x".repeat(65)] {
        let err =
            f.d.store
                .export(
                    ExportKind::Persons,
                    day(FROM),
                    day(TO),
                    &series(bad),
                    Via::Cli,
                )
                .unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidInput { ref field, .. } if field == "series"),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn pseudonymised_times_are_days_unless_precise_times_are_asked_and_nominative_ones_are_minutes() {
    let f = field();
    let precise = ExportOptions {
        precise_times: true,
        ..ExportOptions::pseudonymised()
    };
    // (options, the first encounter's time as the export shows it)
    let cases = [
        (ExportOptions::pseudonymised(), "2026-02-20"),
        (precise, "2026-02-20 14:37"),
        (ExportOptions::nominative(), "2026-02-20 14:37"),
    ];
    for (options, expected) in cases {
        let table = f.export(ExportKind::Encounters, &options);
        assert!(
            column(&table, "occurred_at").unwrap().contains(&expected),
            "{options:?}"
        );
        let persons = f.export(ExportKind::Persons, &options);
        for cell in column(&persons, "created_at").unwrap() {
            assert_eq!(cell.len(), expected.len(), "{options:?}: {cell}");
        }
        // A birth year becomes its five-year band where times become days.
        let band = if expected.len() == 10 {
            "1980-1984"
        } else {
            "1983"
        };
        for cell in column(&persons, "birth_year").unwrap() {
            assert_eq!(cell, band, "{options:?}");
        }
    }
}

#[test]
fn health_is_left_out_of_pseudonymised_exports_unless_asked() {
    let f = field();
    let sensitive = ExportOptions {
        include_sensitive: true,
        ..ExportOptions::pseudonymised()
    };
    // (kind, column, cells by default, cells with --include-sensitive, nominative cells; each
    // sorted)
    type Case = (
        ExportKind,
        &'static str,
        Option<Vec<&'static str>>,
        Vec<&'static str>,
    );
    let cases: [Case; 5] = [
        (
            ExportKind::Persons,
            "needs",
            Some(vec!["food", "housing", "papers"]),
            vec!["addiction housing mental_health", "food health", "papers"],
        ),
        (
            ExportKind::Persons,
            "alert_level",
            None,
            vec!["", "very_vulnerable", "watch"],
        ),
        (
            ExportKind::Encounters,
            "services",
            Some(vec!["food", "food", "food"]),
            vec!["food care douche"; 3],
        ),
        (
            ExportKind::Referrals,
            "target",
            Some(vec!["day_centre"]),
            vec!["day_centre", "pass_health", "psychiatry_cmp"],
        ),
        (
            ExportKind::Actions,
            "category",
            Some(vec!["papers"]),
            vec!["health_appointment", "papers"],
        ),
    ];
    for (kind, name, by_default, asked) in cases {
        let hidden = f.export(kind, &ExportOptions::pseudonymised());
        assert_eq!(
            column(&hidden, name),
            by_default,
            "{kind:?} {name} by default"
        );
        let shown = f.export(kind, &sensitive);
        assert_eq!(
            column(&shown, name),
            Some(asked.clone()),
            "{kind:?} {name} asked"
        );
        let nominative = f.export(kind, &ExportOptions::nominative());
        assert_eq!(
            column(&nominative, name),
            Some(asked),
            "{kind:?} {name} nominative"
        );
        assert_eq!(
            hidden.header.len(),
            hidden.rows.first().map_or(hidden.header.len(), Vec::len)
        );
    }
    // The rows left out take nothing of the person with them: the person is still exported.
    let persons = f.export(ExportKind::Persons, &ExportOptions::pseudonymised());
    assert_eq!(persons.rows.len(), f.persons.len());
}

#[test]
fn the_sensitive_list_covers_health_needs_care_health_referrals_and_unknown_codes() {
    let cases = [
        (Vocab::Need, "health", true),
        (Vocab::Need, "mental_health", true),
        (Vocab::Need, "addiction", true),
        (Vocab::Need, "housing", false),
        (Vocab::Service, "care", true),
        (Vocab::Service, "food", false),
        (Vocab::ReferralTarget, "psychiatry_cmp", true),
        (Vocab::ReferralTarget, "pass_health", true),
        (Vocab::ReferralTarget, "siao_115", false),
        (Vocab::ActionCategory, "health_appointment", true),
        (Vocab::ActionCategory, "papers", false),
        // An organisation's own code, or a newer device's: nothing says what it reveals.
        (Vocab::Service, "douche", true),
        (Vocab::Situation, "hopital", true),
        (Vocab::Situation, "street", false),
    ];
    for (vocab, code, expected) in cases {
        assert_eq!(is_sensitive_code(vocab, code), expected, "{vocab:?} {code}");
    }
}

#[test]
fn export_options_without_pseudonyms_are_refused() {
    let f = field();
    for options in [
        ExportOptions {
            series: Some("cohorte".into()),
            ..Default::default()
        },
        ExportOptions {
            precise_times: true,
            ..Default::default()
        },
        ExportOptions {
            include_sensitive: true,
            ..Default::default()
        },
    ] {
        let err =
            f.d.store
                .export(ExportKind::Persons, day(FROM), day(TO), &options, Via::Cli)
                .unwrap_err();
        assert!(
            matches!(err, CoreError::InvalidInput { ref field, .. } if field == "export"),
            "{options:?}: {err:?}"
        );
    }
}

#[test]
fn the_single_key_of_earlier_versions_goes_on_as_the_default_series() {
    use hmac::{Hmac, Mac};
    let mut f = field();
    let legacy = [42u8; 32];
    let (path, key) = (f.d.path.clone(), f.d.key.clone());
    let _folder = f.d.dir.take();
    let persons = f.persons.clone();
    drop(f);
    {
        let conn = crate::common::raw_connection(&path, &key);
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('pseudonym_key', ?1)",
            [legacy.as_slice()],
        )
        .unwrap();
    }
    let store = allervers_core::Store::open(&path, &key).unwrap();
    let expected: BTreeSet<String> = persons
        .iter()
        .map(|p| {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&legacy).unwrap();
            mac.update(b"P");
            mac.update(p.as_bytes());
            format!("P-{}", hex::encode(&mac.finalize().into_bytes()[..5]))
        })
        .collect();
    let export = |options: &ExportOptions| {
        store
            .export(ExportKind::Persons, day(FROM), day(TO), options, Via::Cli)
            .unwrap()
    };
    let default = export(&series("default"));
    let ids: BTreeSet<String> = column(&default, "id")
        .unwrap()
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(ids, expected, "the pseudonyms of the exports made before");
    let fresh = export(&ExportOptions::pseudonymised());
    assert!(pseudonyms(&fresh).is_disjoint(&expected));
    assert_eq!(
        column(&export(&series("default")), "id"),
        column(&default, "id"),
        "the key moved to the series stays"
    );
}
