//! Attacks on health data for health professionals only that succeeded before their defence:
//! each test failed then. Its comment says what the attack did and what defends against it
//! now. The team and its health space are `health_attacks.rs`'s.

use allervers_core::{Kind, NewEncounter};
use automerge::ScalarValue;
use chrono::Duration;

use crate::common::{device, person};
use crate::health_attacks::{allergy, forged_creation, note, root_values, setting, SECRET};
use crate::pages;
use crate::trust_attacks::Relay;

/// Guarantee 5 (receive path). A health professional's modified app (here the nurse's team
/// device) pushes a health note, with its text, into the TEAM space: a creation of kind
/// `health_note` signed by a member. `health::check_kind` guards local writes only; the import
/// path (`store/import.rs`) applies any kind, so every team device stores the note, indexes it
/// and hands its text to `health_notes`. A fix: the receive path refuses, on the change alone,
/// a creation of a kind the store may not hold (health notes and profiles in a team's store,
/// anything but them, the roster and access logs in a health store) and quarantines it.
#[test]
fn a_health_note_pushed_into_the_team_space_is_refused_by_team_devices() {
    let s = setting();
    let genuine = note(&s.nurse_health.store, s.person, SECRET).unwrap();
    let values = root_values(&s.nurse_health.store, genuine);
    let (forged, envelope) = forged_creation(&s.nurse, &values);
    s.team.push(vec![envelope]);
    s.team.settle(&[&s.coordinator, &s.worker]);
    for d in [&s.coordinator, &s.worker] {
        assert!(
            d.store.kind_of(forged).is_err(),
            "a team store holds a health note"
        );
        assert!(d.store.health_notes(s.person).unwrap().is_empty());
        let plain = pages::store_plaintext(&d.path, d.key.as_bytes());
        assert!(!pages::contains(&plain, "substitution"));
    }
}

/// Guarantee 5, the other way. A health professional's modified app pushes a person record
/// into the HEALTH space; every other health store applies it (a health store then holds a
/// person, which `check_kind` forbids it to write). A fix: the same receive-path kind check as
/// above, in a health store.
#[test]
fn a_person_pushed_into_the_health_space_is_refused_by_health_stores() {
    let s = setting();
    let now = s.nurse_health.store.now().timestamp_millis();
    let (forged, envelope) = forged_creation(
        &s.nurse_health,
        &[
            ("kind".into(), ScalarValue::Str("person".into())),
            ("name".into(), ScalarValue::Str("Gaëlle".into())),
            ("created_at".into(), ScalarValue::Timestamp(now)),
        ],
    );
    s.health.push(vec![envelope]);
    s.health.settle(&[&s.doctor_health]);
    assert!(
        s.doctor_health.store.kind_of(forged).is_err(),
        "a health store holds a {:?}",
        s.doctor_health.store.kind_of(forged)
    );
}

/// Guarantee 4. A health professional's device that is not a coordinator of the health space
/// (the doctor's) holds a person's health details but no note. The person is erased from the
/// team; the doctor's device syncs and follows the team's erasures: `follow_team_erasures`
/// counts only `health_notes` to decide whether something is to erase, so the details
/// (allergies, treatments) stay on that device, readable, until the health space's coordinator
/// (here its founder) happens to follow the erasure too, and for good if that device is gone.
/// Notes in the same situation are erased at once. A fix: `follow_team_erasures` looks for
/// every record about the person (notes and profiles: `person_follow_ups`), not notes alone.
#[test]
fn health_details_are_erased_on_a_professional_device_that_holds_no_note() {
    let s = setting();
    s.doctor_health
        .store
        .set_health_profile(s.person, &allergy("pénicilline"))
        .unwrap();
    s.coordinator
        .store
        .erase_person(s.person, "demande de la personne", false)
        .unwrap();
    s.team.settle(&[&s.coordinator, &s.doctor]);
    s.doctor_health
        .store
        .follow_team_erasures(&s.doctor.store)
        .unwrap();
    assert!(
        s.doctor_health
            .store
            .health_profiles(s.person)
            .unwrap()
            .is_empty(),
        "the health details of an erased person are still on a professional's device"
    );
}

/// Guarantee 6, in its intent (a worker cannot take a person off the retention review). The
/// keep decision's fields are a coordinator's, but the review's other input, the last contact,
/// is any member's: a worker's phone whose clock is fifty years ahead (set so, or wrong) logs an
/// encounter with the person "now", and every coordinator's review drops them for fifty years.
/// Local writes refuse a time more than a day ahead of the device's own clock only; received
/// times are bounded by 2200. A fix: the review does not count a contact dated after tomorrow
/// (as consent decisions do), or the last contact is capped by the relay's time of the change.
#[test]
fn a_workers_future_dated_encounter_does_not_take_a_person_off_the_review() {
    let a = device("Bureau", "Nadia");
    let w = device("Téléphone 1", "Karim");
    let relay = Relay::create(&a, "Maraude Nord");
    relay.invite(&a, &w);
    let p = person(&a.store, "Gaëlle");
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        d.clock
            .advance_ms(Duration::days(30 * 31).num_milliseconds());
    }
    assert_eq!(a.store.retention_review().unwrap().due.len(), 1);
    w.clock
        .advance_ms(Duration::days(50 * 365).num_milliseconds());
    w.store
        .log_encounter(&NewEncounter {
            persons: vec![p],
            place: Some("rue des Lilas".into()),
            ..Default::default()
        })
        .unwrap();
    relay.settle(&[&w, &a]);
    let due = a.store.retention_review().unwrap().due;
    assert_eq!(due.len(), 1, "the person left the review: {due:?}");
    assert_eq!(a.store.kind_of(p).unwrap(), Kind::Person);
}

/// Guarantees 1 and 2. A health store joins whatever space an invite names: nothing tells a
/// professional's device that the space it joins with `health join` is the team's health space.
/// A coordinator who hands the next professional an invite of the TEAM space (or of a space it
/// founded itself) as "the health space's" gets that professional's notes: the health store
/// joins, and its notes go to a space whose key every team device holds (and, with the receive
/// path taking any kind, are stored by all of them). A fix: a health store joins only a health
/// space, the one its team names (say, the founding professional writes the health space's id
/// and founder keys into the team's roster, and `health join` refuses an invite for any other
/// space or founder), and never pushes into a space that is not it.
#[test]
fn a_health_store_does_not_join_the_team_space_with_a_team_invite() {
    let s = setting();
    let newcomer = crate::health_attacks::health_device("Poste psychiatre", "Dr Girard");
    // The coordinator's team invite, handed over as the health space's.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.team.invite(&s.coordinator, &newcomer);
        s.team.settle(&[&s.coordinator, &newcomer]);
    }));
    if joined.is_ok() && note(&newcomer.store, s.person, SECRET).is_ok() {
        let _ = s.team.sync(&newcomer);
        let _ = s.team.sync(&s.coordinator);
    }
    let plain = pages::store_plaintext(&s.coordinator.path, s.coordinator.key.as_bytes());
    assert!(
        !pages::contains(&plain, "substitution"),
        "a team coordinator's store holds a professional's health note"
    );
    assert!(s
        .coordinator
        .store
        .health_notes(s.person)
        .unwrap()
        .is_empty());
}

/// Guarantee 6, in its intent, by a modified app. A worker's device rewrites a person's
/// `created_at` (the review's "recorded at" for a person never met) to 2199 in a later change:
/// only the kind is protected after a creation, so every coordinator's review drops the person.
/// A fix: a later change that writes `created_at` is refused on the change alone (as one that
/// writes `kind`), and the review ignores a recording time after tomorrow.
#[test]
fn a_workers_forged_recording_time_does_not_take_a_person_off_the_review() {
    let a = device("Bureau", "Nadia");
    let w = device("Téléphone 1", "Karim");
    let relay = Relay::create(&a, "Maraude Nord");
    relay.invite(&a, &w);
    let p = person(&a.store, "Gaëlle");
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        d.clock
            .advance_ms(Duration::days(30 * 31).num_milliseconds());
    }
    assert_eq!(a.store.retention_review().unwrap().due.len(), 1);
    let mut doc = automerge::AutoCommit::load(&w.store.record_document(p).unwrap()).unwrap();
    doc.set_actor(w.store.identity().device.actor().clone());
    automerge::transaction::Transactable::put(
        &mut doc,
        automerge::ROOT,
        "created_at",
        ScalarValue::Timestamp(7_226_000_000_000),
    )
    .unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = allervers_core::fuzzing::sign_change(&w.store, p, &change).unwrap();
    relay.push(vec![allervers_core::fuzzing::seal_change(
        &w.store, p, &change, signature,
    )
    .unwrap()]);
    relay.settle(&[&a]);
    let due = a.store.retention_review().unwrap().due;
    assert_eq!(due.len(), 1, "the person left the review: {due:?}");
}

/// Guarantee 2, at `health join`: an invite is checked against the health spaces the team's
/// roster declares (the founding professional's team device declares its space when it founds
/// it). A space the coordinator founded with a second store and did not declare, and the team's
/// own space, are refused; the declared one is taken, and says who declared it.
#[test]
fn a_health_store_joins_only_a_health_space_its_team_declared() {
    let s = setting();
    let newcomer = crate::health_attacks::health_device("Poste psychiatre", "Dr Girard");
    let (_, team_invite) = s.coordinator.store.new_invite().unwrap();
    assert!(newcomer
        .store
        .check_health_invite(&s.coordinator.store, &team_invite)
        .is_err());
    let fake = crate::health_attacks::health_device("Bureau", "Nadia");
    let _fake_space = Relay::create(&fake, "Santé");
    let (_, fake_invite) = fake.store.new_invite().unwrap();
    assert!(newcomer
        .store
        .check_health_invite(&s.coordinator.store, &fake_invite)
        .is_err());
    let (_, genuine) = s.nurse_health.store.new_invite().unwrap();
    assert!(
        newcomer
            .store
            .check_health_invite(&s.coordinator.store, &genuine)
            .is_err(),
        "not declared yet"
    );
    s.nurse
        .store
        .declare_health_space(&s.health.space, &s.nurse_health.store.identity().device)
        .unwrap();
    s.team.settle(&[&s.nurse, &s.coordinator]);
    newcomer
        .store
        .check_health_invite(&s.coordinator.store, &genuine)
        .unwrap();
    let declared = s.coordinator.store.declared_health_spaces().unwrap();
    assert_eq!(declared.len(), 1);
    assert_eq!(declared[0].worker.as_deref(), Some("Amina"));
}
