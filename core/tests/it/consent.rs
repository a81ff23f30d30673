//! Consent decisions: recorded one at a time, all or none, merged from several devices without
//! loss, and read back as the person's consent now (the latest decision per partner and
//! category), the same on every replica.

use allervers_core::{ApiError, NewConsent, RecordId, Store, TimelineItem};
use chrono::NaiveDate;

use crate::common::{consent, device, meet, person, send};

fn day(d: &str) -> Option<NaiveDate> {
    Some(d.parse().unwrap())
}

fn decision(person: RecordId, category: &str, given: bool, on: &str) -> NewConsent {
    NewConsent {
        decided_on: day(on),
        ..consent(person, category, given)
    }
}

/// The person's consent now, as `category=yes/no` lines.
fn now(store: &Store, person: RecordId) -> Vec<String> {
    store
        .current_consents(person)
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}/{}={}",
                c.partner.as_deref().unwrap_or("?"),
                c.category.as_deref().unwrap_or("?"),
                if c.given == Some(true) { "yes" } else { "no" }
            )
        })
        .collect()
}

#[test]
fn the_latest_decision_per_partner_and_category_is_the_consent_and_every_decision_is_kept() {
    let d = device("Poste bureau", "Sophie");
    let amina = person(&d.store, "Amina");
    let other = person(&d.store, "Bastien");
    d.store
        .record_consents(&[
            decision(amina, "identity_contact", true, "2026-02-01"),
            decision(amina, "situation_journey", true, "2026-02-01"),
        ])
        .unwrap();
    // Withdrawn a month later: a decision that refuses.
    let withdrawal = d
        .store
        .record_consents(&[decision(amina, "situation_journey", false, "2026-03-01")])
        .unwrap();
    assert_eq!(
        now(&d.store, amina),
        vec!["siao/identity_contact=yes", "siao/situation_journey=no"]
    );
    let decisions = d.store.consents(amina).unwrap();
    assert_eq!(decisions.len(), 3);
    assert_eq!(decisions[0].id, withdrawal[0], "the latest first");
    assert_eq!(decisions[0].how.as_deref(), Some("oral"));
    // Nothing about another person.
    assert!(d.store.consents(other).unwrap().is_empty());
    assert!(now(&d.store, other).is_empty());
}

#[test]
fn a_bad_decision_is_refused_with_the_others_and_nothing_is_written() {
    let d = device("Poste bureau", "Sophie");
    let amina = person(&d.store, "Amina");
    let encounter = meet(&d.store, &[amina], "rue Oberkampf");
    let good = decision(amina, "identity_contact", true, "2026-02-01");
    let cases: Vec<(NewConsent, &str)> = vec![
        (decision(amina, "health", true, "2026-02-01"), "category"),
        (
            NewConsent {
                partner: "bailleur_inconnu".into(),
                ..good.clone()
            },
            "partner",
        ),
        (
            NewConsent {
                how: "telepathy".into(),
                ..good.clone()
            },
            "how",
        ),
        (
            decision(amina, "identity_contact", true, "2030-01-01"),
            "decided_on",
        ),
        (
            NewConsent {
                person: encounter,
                ..good.clone()
            },
            "person",
        ),
    ];
    for (bad, field) in cases {
        let err = d
            .store
            .record_consents(&[good.clone(), bad])
            .expect_err(field);
        match ApiError::from(err) {
            ApiError::InvalidInput { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(d.store.consents(amina).unwrap().is_empty(), "all or none");
}

#[test]
fn decisions_recorded_offline_on_two_devices_merge_the_same_everywhere() {
    let office = device("Poste bureau", "Sophie");
    let phone = device("Téléphone maraude", "Karim");
    let amina = person(&office.store, "Amina");
    send(&office.store, &phone.store);
    // The same day, apart: the office records a consent, the phone a refusal.
    office
        .store
        .record_consents(&[decision(amina, "housing_application", true, "2026-03-02")])
        .unwrap();
    phone
        .store
        .record_consents(&[decision(amina, "housing_application", false, "2026-03-02")])
        .unwrap();
    send(&office.store, &phone.store);
    send(&phone.store, &office.store);
    assert_eq!(office.store.consents(amina).unwrap().len(), 2, "both kept");
    assert_eq!(now(&office.store, amina), now(&phone.store, amina));
    assert_eq!(
        office.store.index_rows().unwrap(),
        phone.store.index_rows().unwrap()
    );
    assert!(
        office.store.conflicts().unwrap().is_empty(),
        "no conflict to settle"
    );
}

#[test]
fn consent_decisions_are_in_the_persons_timeline_and_only_theirs() {
    let d = device("Poste bureau", "Sophie");
    let amina = person(&d.store, "Amina");
    let other = person(&d.store, "Bastien");
    d.store
        .record_consents(&[decision(amina, "identity_contact", true, "2026-02-01")])
        .unwrap();
    d.clock.advance_ms(5 * 60_000);
    d.store
        .record_consents(&[decision(amina, "identity_contact", false, "2026-03-01")])
        .unwrap();
    let decisions: Vec<(Option<String>, Option<bool>, String)> = d
        .store
        .timeline(amina)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.item {
            TimelineItem::Consent {
                category, given, ..
            } => Some((category, given, e.author.label())),
            _ => None,
        })
        .collect();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].0.as_deref(), Some("identity_contact"));
    assert_eq!(
        (decisions[0].1, decisions[1].1),
        (Some(true), Some(false)),
        "in the order they were recorded"
    );
    assert!(decisions[0].2.contains("Sophie"), "{}", decisions[0].2);
    assert!(d
        .store
        .timeline(other)
        .unwrap()
        .iter()
        .all(|e| !matches!(e.item, TimelineItem::Consent { .. })));
}
