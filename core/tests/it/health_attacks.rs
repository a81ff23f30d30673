//! Attacks on "health data for health professionals only" that the system withstands: forged
//! changes pushed by a member's modified app, orders replayed from another space, mangled space
//! codes, a professional who wrote offline about a person erased since. Relays are the in-memory
//! relay of `trust_attacks.rs`; the shared team and health space are built here, for these
//! tests and `review_health.rs`.

use allervers_core::{
    fuzzing, CoreError, Edit, Kind, NewHealthNote, NewPerson, RecordId, SpaceCode, Store, Value,
};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ScalarValue, ROOT};
use chrono::NaiveDate;

use crate::common::{device, Device};
use crate::pages;
use crate::trust_attacks::{quarantined, Relay};

/// What no team device may ever read.
pub(crate) const SECRET: &str = "traitement de substitution, 60 mg";

pub(crate) fn health_device(name: &str, worker: &str) -> Device {
    let d = device(name, worker);
    d.store.make_health_store().unwrap();
    d
}

pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

pub(crate) fn note(store: &Store, person: RecordId, text: &str) -> Result<RecordId, CoreError> {
    store.add_health_note(&NewHealthNote {
        person,
        on: Some(day(3)),
        professional: store.worker(),
        category: "addiction".into(),
        text: text.into(),
        next_step: Some("revoir lundi au CSAPA".into()),
    })
}

pub(crate) fn allergy(v: &str) -> Vec<Edit> {
    vec![Edit::Set("allergies".into(), Value::Text(v.into()))]
}

/// A team (coordinator, worker, the nurse's and the doctor's team devices) and its health
/// space (the nurse's health store, its founder, and the doctor's), every device holding its
/// keys; the worker met one person, whom every team device knows.
pub(crate) struct Setting {
    pub team: Relay,
    pub health: Relay,
    pub coordinator: Device,
    pub worker: Device,
    pub nurse: Device,
    pub doctor: Device,
    pub nurse_health: Device,
    pub doctor_health: Device,
    pub person: RecordId,
}

impl Setting {
    pub(crate) fn team_devices(&self) -> [&Device; 4] {
        [&self.coordinator, &self.worker, &self.nurse, &self.doctor]
    }

    pub(crate) fn health_devices(&self) -> [&Device; 2] {
        [&self.nurse_health, &self.doctor_health]
    }
}

pub(crate) fn setting() -> Setting {
    let coordinator = device("Bureau", "Nadia");
    let worker = device("Téléphone 1", "Karim");
    let nurse = device("Téléphone infirmière", "Amina");
    let doctor = device("Téléphone médecin", "Dr Lefèvre");
    let team = Relay::create(&coordinator, "Maraude Nord");
    for d in [&worker, &nurse, &doctor] {
        team.invite(&coordinator, d);
    }
    let person = worker
        .store
        .add_person(&NewPerson {
            name: Some("Baptiste".into()),
            nickname: Some("Le Marin".into()),
            ..Default::default()
        })
        .unwrap();
    team.settle(&[&coordinator, &worker, &nurse, &doctor]);

    let nurse_health = health_device("Téléphone infirmière", "Amina");
    let doctor_health = health_device("Téléphone médecin", "Dr Lefèvre");
    let health = Relay::create(&nurse_health, "Santé");
    health.invite(&nurse_health, &doctor_health);
    health.settle(&[&nurse_health, &doctor_health]);
    Setting {
        team,
        health,
        coordinator,
        worker,
        nurse,
        doctor,
        nurse_health,
        doctor_health,
        person,
    }
}

/// A creation of a new record by `d`'s device (its own actor, an id it drew, signed by it and
/// sealed for its space), with the root `values`: what a modified app pushes.
pub(crate) fn forged_creation(
    d: &Device,
    values: &[(String, ScalarValue)],
) -> (RecordId, allervers_protocol::Envelope) {
    let id = RecordId::new_by(
        d.store.now().timestamp_millis(),
        [7, 1, 2, 3],
        &d.store.identity().device,
    );
    let mut doc = AutoCommit::new();
    doc.set_actor(d.store.identity().device.actor().clone());
    for (key, value) in values {
        doc.put(ROOT, key.as_str(), value.clone()).unwrap();
    }
    doc.commit();
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = fuzzing::sign_change(&d.store, id, &change).unwrap();
    (
        id,
        fuzzing::seal_change(&d.store, id, &change, signature).unwrap(),
    )
}

/// The root values of a record `store` holds (its scalars).
pub(crate) fn root_values(store: &Store, id: RecordId) -> Vec<(String, ScalarValue)> {
    let doc = AutoCommit::load(&store.record_document(id).unwrap()).unwrap();
    doc.keys(ROOT)
        .filter_map(|key| match doc.get(ROOT, key.as_str()).unwrap() {
            Some((automerge::Value::Scalar(s), _)) => Some((key, s.into_owned())),
            _ => None,
        })
        .collect()
}

#[test]
fn an_erasure_order_of_the_team_copied_into_the_health_space_erases_nothing() {
    let s = setting();
    note(&s.nurse_health.store, s.person, SECRET).unwrap();
    s.health.settle(&s.health_devices());
    s.coordinator
        .store
        .erase_person(s.person, "demande de la personne", false)
        .unwrap();
    s.team.settle(&s.team_devices());
    // The relay's operator (or anyone who can write its control log) copies the team's
    // coordinator-signed order into the health space's log.
    let order = s
        .team
        .control
        .borrow()
        .iter()
        .rev()
        .find(|c| matches!(c.body, allervers_protocol::ControlBody::Erase { .. }))
        .map(|c| c.body.clone())
        .unwrap();
    s.health.inject(order);
    s.health.settle(&s.health_devices());
    for d in s.health_devices() {
        let orders = d.store.erasure_orders().unwrap();
        assert!(
            orders
                .iter()
                .all(|(_, st)| matches!(st, allervers_core::OrderStatus::Refused(_))),
            "{orders:?}"
        );
        assert_eq!(d.store.health_notes(s.person).unwrap().len(), 1);
    }
}

#[test]
fn a_note_written_offline_about_a_person_erased_since_never_reaches_the_other_professionals() {
    let s = setting();
    // The doctor's health store writes offline, before its team device hears of the erasure.
    let id = note(&s.doctor_health.store, s.person, SECRET).unwrap();
    s.coordinator
        .store
        .erase_person(s.person, "demande de la personne", false)
        .unwrap();
    s.team.settle(&[&s.coordinator, &s.nurse]);
    // The founder of the health space follows the team's erasure: an order of the health space.
    assert_eq!(
        s.nurse_health
            .store
            .follow_team_erasures(&s.nurse.store)
            .unwrap(),
        1
    );
    s.health.sync(&s.nurse_health).unwrap();
    // The doctor's device syncs: it reads the order before it pushes.
    s.health.settle(&[&s.doctor_health, &s.nurse_health]);
    for d in s.health_devices() {
        assert!(d.store.health_notes(s.person).unwrap().is_empty());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "substitution"));
    }
    assert!(s.doctor_health.store.is_erased(id).unwrap());
    assert!(s.nurse_health.store.kind_of(id).is_err());
}

#[test]
fn no_team_key_opens_a_health_profile_and_no_team_store_holds_it() {
    let s = setting();
    s.doctor_health
        .store
        .set_health_profile(s.person, &allergy("pénicilline"))
        .unwrap();
    s.health.settle(&s.health_devices());
    s.team.settle(&s.team_devices());
    assert_eq!(
        s.nurse_health.store.health_profiles(s.person).unwrap()[0]
            .allergies
            .as_deref(),
        Some("pénicilline")
    );
    let team_keys = fuzzing::space_keys_held(&s.coordinator.store).unwrap();
    for stored in s.health.envelopes.borrow().iter() {
        for (_, key) in &team_keys {
            assert!(!fuzzing::opens_with_space_key(&stored.envelope, key));
        }
    }
    for d in s.team_devices() {
        assert!(d.store.health_profiles(s.person).unwrap().is_empty());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "pénicilline"));
    }
}

#[test]
fn a_keep_decision_written_in_a_workers_forged_person_creation_is_set_aside() {
    let s = setting();
    let now = s.worker.store.now().timestamp_millis();
    let (id, envelope) = forged_creation(
        &s.worker,
        &[
            ("kind".into(), ScalarValue::Str("person".into())),
            ("name".into(), ScalarValue::Str("Gaëlle".into())),
            ("created_at".into(), ScalarValue::Timestamp(now)),
            ("retention_kept_at".into(), ScalarValue::Timestamp(now)),
            (
                "retention_reason".into(),
                ScalarValue::Str("gardé par un téléphone d'équipe".into()),
            ),
        ],
    );
    s.team.push(vec![envelope]);
    s.team.settle(&[&s.coordinator, &s.nurse]);
    for d in [&s.coordinator, &s.nurse] {
        assert!(d.store.kind_of(id).is_err());
        assert!(quarantined(d, &s.team.space)
            .iter()
            .any(|(_, why)| why.contains("retention_kept_at")));
    }
}

#[test]
fn space_codes_that_are_mangled_or_of_another_kind_are_refused_with_one_error() {
    let s = setting();
    let (_, code) = s.coordinator.store.new_space_code().unwrap();
    let good = code.code();
    assert_eq!(SpaceCode::from_code(&good).unwrap(), code);
    let (_, invite) = s.coordinator.store.new_invite().unwrap();
    let mut mangled = vec![
        String::new(),
        "ALVS1-".into(),
        "ALVS1-????".into(),
        invite.code(),
        good.replace("ALVS1-", "ALV2-"),
        "ALVS1-".to_string() + &"A".repeat(100_000),
        "ALVS1-é😀\u{0}".into(),
    ];
    for cut in (0..good.len()).step_by(7) {
        mangled.push(good[..cut].to_string());
    }
    for i in (6..good.len()).step_by(5) {
        let mut bytes = good.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        mangled.push(String::from_utf8(bytes).unwrap());
    }
    for bad in &mangled {
        let read = std::panic::catch_unwind(|| SpaceCode::from_code(bad));
        match read {
            Ok(Err(CoreError::InvalidInput { .. })) => {}
            Ok(Ok(c)) => assert_ne!(c, code, "a mangled code read as the genuine one: {bad}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn only_a_team_coordinators_device_opens_a_space_code() {
    let s = setting();
    assert!(s.coordinator.store.new_space_code().is_ok());
    for d in [&s.worker, &s.nurse, &s.nurse_health, &s.doctor_health] {
        assert!(matches!(
            d.store.new_space_code(),
            Err(CoreError::InvalidInput { .. })
        ));
    }
    // A team's store founds no health space, and erasures go from the team's store to the
    // health store only.
    assert!(s
        .coordinator
        .store
        .new_health_space("http://relay.invalid", "Santé")
        .is_err());
    assert!(s
        .nurse
        .store
        .follow_team_erasures(&s.nurse_health.store)
        .is_err());
    assert!(s
        .nurse_health
        .store
        .follow_team_erasures(&s.doctor_health.store)
        .is_err());
    assert_eq!(
        s.nurse_health.store.kind_of(s.person).ok(),
        None::<Kind>,
        "a health store does not know the team's persons"
    );
}

#[test]
fn a_malformed_health_note_from_a_professionals_modified_app_stops_nothing() {
    let s = setting();
    let now = s.nurse_health.store.now().timestamp_millis();
    let (forged, envelope) = forged_creation(
        &s.nurse_health,
        &[
            ("kind".into(), ScalarValue::Str("health_note".into())),
            ("created_at".into(), ScalarValue::Timestamp(now)),
            (
                "person".into(),
                ScalarValue::Str("pas un identifiant".into()),
            ),
            ("on".into(), ScalarValue::Str("2026-99-99".into())),
            ("category".into(), ScalarValue::Str("inconnue_zz".into())),
            ("text".into(), ScalarValue::Int(42)),
        ],
    );
    s.health.push(vec![envelope]);
    note(&s.nurse_health.store, s.person, SECRET).unwrap();
    s.health.settle(&s.health_devices());
    let d = &s.doctor_health.store;
    let listed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        d.health_note_list().unwrap()
    }))
    .expect("listing health notes does not panic");
    assert!(listed.iter().any(|n| n.person == Some(s.person)));
    assert!(listed.iter().all(|n| n.id != forged || n.person.is_none()));
    assert_eq!(d.health_notes(s.person).unwrap().len(), 1);
    s.coordinator
        .store
        .erase_person(s.person, "demande de la personne", false)
        .unwrap();
    s.team.settle(&[&s.coordinator, &s.doctor]);
    s.doctor_health
        .store
        .follow_team_erasures(&s.doctor.store)
        .unwrap();
    assert!(d.health_notes(s.person).unwrap().is_empty());
}
