//! Health data for health professionals only: health notes live in health stores joined to the
//! team's health space (its own relay log and key), the team's stores hold a health contact
//! (the person and the day) and never a note, and erasing a person from the team's file erases
//! their notes in the health space too. Relays are the in-memory relay of `trust_attacks.rs`.

use allervers_core::{
    fuzzing, AccessQuery, CoreError, Kind, NewHealthNote, NewPerson, RecordId, Store, TimelineItem,
    Via,
};
use chrono::NaiveDate;

use crate::common::{device, Device};
use crate::health_attacks::{health_device, setting};
use crate::pages;

/// What no team device may ever hold.
const SECRET: &str = "insulinothérapie, injection du soir";

fn note(store: &Store, person: RecordId, text: &str) -> Result<RecordId, CoreError> {
    store.add_health_note(&NewHealthNote {
        person,
        on: Some(day(3)),
        professional: store.worker(),
        category: "care".into(),
        text: text.into(),
        next_step: Some("revoir jeudi au camion".into()),
    })
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn someone(store: &Store) -> RecordId {
    store
        .add_person(&NewPerson {
            name: Some("Baptiste".into()),
            nickname: Some("Le Marin".into()),
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn a_team_store_refuses_health_notes_and_a_health_store_holds_nothing_else() {
    let team = device("Bureau", "Nadia");
    let person = someone(&team.store);
    assert!(matches!(
        note(&team.store, person, SECRET),
        Err(CoreError::InvalidInput { .. })
    ));
    // A store that holds records cannot become a health store.
    assert!(team.store.make_health_store().is_err());

    let health = health_device("Infirmerie", "Amina");
    assert!(health.store.is_health_store());
    assert!(matches!(
        health.store.add_person(&NewPerson {
            name: Some("Baptiste".into()),
            ..Default::default()
        }),
        Err(CoreError::InvalidInput { .. })
    ));
    // A health note needs its text; its person is the team's, not checked here.
    assert!(matches!(
        note(&health.store, person, "  "),
        Err(CoreError::InvalidInput { .. })
    ));
    let id = note(&health.store, person, SECRET).unwrap();
    assert_eq!(health.store.kind_of(id).unwrap(), Kind::HealthNote);
    let notes = health.store.health_notes(person).unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text.as_deref(), Some(SECRET));
    assert_eq!(notes[0].professional.as_deref(), Some("Amina"));
    // A health contact is the team's: the health store does not know the person.
    assert!(health.store.add_health_contact(person, day(3)).is_err());
    // Reopened, the store is still a health store.
    let Device {
        store, path, key, ..
    } = health;
    drop(store);
    assert!(Store::open(&path, &key).unwrap().is_health_store());
}

#[test]
fn health_notes_reach_every_health_professional_and_no_team_device_or_team_key() {
    let s = setting();
    note(&s.nurse_health.store, s.person, SECRET).unwrap();
    s.nurse.store.add_health_contact(s.person, day(3)).unwrap();
    s.health.settle(&[&s.nurse_health, &s.doctor_health]);
    s.team.settle(&[&s.nurse, &s.coordinator, &s.worker]);

    let read = s
        .doctor_health
        .store
        .open_health_notes(s.person, Via::Cli)
        .unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].text.as_deref(), Some(SECRET));

    // The team sees that the person was seen that day, in the timeline, and nothing more.
    for d in [&s.coordinator, &s.worker] {
        let contacts = d.store.health_contacts(s.person).unwrap();
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0].on, Some(day(3)));
        assert!(d.store.timeline(s.person).unwrap().iter().any(|e| matches!(
            e.item,
            TimelineItem::HealthContact { on: Some(on), .. } if on == day(3)
        )));
        assert!(d.store.health_notes(s.person).unwrap().is_empty());
        // Reports count health activity, never its content.
        let report = d.store.report(day(1), day(31), None).unwrap();
        assert_eq!(
            (
                report.health_contacts.current,
                report.health_persons.current
            ),
            (1, 1)
        );
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "insulinothérapie"));
        assert!(!pages::contains(&plain, "revoir jeudi"));
    }
    // The person's dossier, written at the office, says when they were seen and where the
    // notes are, never what they say.
    let dossier = s.coordinator.store.dossier(s.person, Via::Cli).unwrap();
    assert_eq!(dossier.health.contacts, vec![day(3)]);
    assert!(!serde_json::to_string(&dossier)
        .unwrap()
        .contains("insulinothérapie"));
    // No key a team device holds opens an envelope of the health space.
    let team_keys = fuzzing::space_keys_held(&s.coordinator.store).unwrap();
    assert!(!team_keys.is_empty());
    let envelopes = s.health.envelopes.borrow();
    assert!(!envelopes.is_empty());
    for stored in envelopes.iter() {
        for (_, key) in &team_keys {
            assert!(!fuzzing::opens_with_space_key(&stored.envelope, key));
        }
    }
    drop(envelopes);

    // The reading was logged in the health space, where its founder reviews it.
    s.health.settle(&[&s.doctor_health, &s.nurse_health]);
    let log = s
        .nurse_health
        .store
        .access_log(&AccessQuery {
            person: Some(s.person),
            ..Default::default()
        })
        .unwrap();
    assert!(log
        .iter()
        .any(|e| e.what == "health" && e.worker == "Dr Lefèvre"));
}

#[test]
fn erasing_a_person_from_the_team_erases_their_health_notes_in_the_health_space() {
    let s = setting();
    let id = note(&s.nurse_health.store, s.person, SECRET).unwrap();
    s.nurse.store.add_health_contact(s.person, day(3)).unwrap();
    s.health.settle(&[&s.nurse_health, &s.doctor_health]);
    s.team.settle(&[&s.nurse, &s.coordinator, &s.worker]);
    let envelopes_before = s.health.envelopes.borrow().len();

    let done = s
        .coordinator
        .store
        .erase_person(s.person, "demande de la personne", false)
        .unwrap();
    assert_eq!(done.health, 1, "the health contact goes with the person");
    s.team.settle(&[&s.coordinator, &s.worker, &s.nurse]);
    for d in [&s.coordinator, &s.worker, &s.nurse] {
        assert!(d.store.health_contacts(s.person).unwrap().is_empty());
    }

    // The nurse's device follows the team's erasure in the health space, as the founder of
    // that space: an order every professional's device carries out.
    assert_eq!(
        s.nurse_health
            .store
            .follow_team_erasures(&s.nurse.store)
            .unwrap(),
        1
    );
    // Once done, nothing is left to follow.
    assert_eq!(
        s.nurse_health
            .store
            .follow_team_erasures(&s.nurse.store)
            .unwrap(),
        0
    );
    s.health.settle(&[&s.nurse_health, &s.doctor_health]);
    for d in [&s.nurse_health, &s.doctor_health] {
        assert!(d.store.health_notes(s.person).unwrap().is_empty());
        assert!(d.store.is_erased(id).unwrap());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "insulinothérapie"));
    }
    assert!(s.health.envelopes.borrow().len() < envelopes_before);

    // A note written offline afterwards about the erased person does not stay either.
    note(&s.doctor_health.store, s.person, "note tardive").unwrap_err();
}

#[test]
fn a_persons_health_details_are_kept_in_the_health_space_and_erased_with_them() {
    let s = setting();
    let allergy = |v: &str| {
        vec![allervers_core::Edit::Set(
            "allergies".into(),
            allervers_core::Value::Text(v.into()),
        )]
    };
    let refused = s
        .coordinator
        .store
        .set_health_profile(s.person, &allergy("pénicilline"));
    assert!(
        matches!(refused, Err(CoreError::InvalidInput { .. })),
        "{refused:?}"
    );
    let id = s
        .nurse_health
        .store
        .set_health_profile(s.person, &allergy("pénicilline"))
        .unwrap();
    // A second write edits the same profile.
    let again = s
        .nurse_health
        .store
        .set_health_profile(
            s.person,
            &[allervers_core::Edit::Set(
                "treatments".into(),
                allervers_core::Value::Text("metformine".into()),
            )],
        )
        .unwrap();
    assert_eq!(id, again);
    s.health.settle(&[&s.nurse_health, &s.doctor_health]);
    let profiles = s.doctor_health.store.health_profiles(s.person).unwrap();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0].allergies.as_deref(), Some("pénicilline"));
    assert_eq!(profiles[0].treatments.as_deref(), Some("metformine"));

    s.coordinator
        .store
        .erase_person(s.person, "demande", false)
        .unwrap();
    s.team.settle(&[&s.coordinator, &s.nurse]);
    s.nurse_health
        .store
        .follow_team_erasures(&s.nurse.store)
        .unwrap();
    s.health.settle(&[&s.nurse_health, &s.doctor_health]);
    for d in [&s.nurse_health, &s.doctor_health] {
        assert!(d.store.health_profiles(s.person).unwrap().is_empty());
        assert!(d.store.is_erased(id).unwrap());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "pénicilline"));
    }
}
