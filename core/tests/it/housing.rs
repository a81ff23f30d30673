//! The housing journey: households and their members, journey periods and housing applications
//! made on one store, edited on two and merged (a field edited on both is a conflict to settle);
//! a journey from the street to a home and back reported for the period and the one before; a
//! household's move counted once; a person moving from one household to another; a store from
//! before journeys whose situation changes become its journey, the same on every replica.

use allervers_core::{
    Concerns, Edit, Kind, NewApplication, NewHousehold, NewHouseholdMember, NewPeriod, RecordId,
    Store, Value,
};
use chrono::{TimeZone, Utc};

use crate::common::{day, device, meet, on, person, send};

fn household(store: &Store, label: &str) -> RecordId {
    store
        .add_household(&NewHousehold {
            label: label.into(),
            ..Default::default()
        })
        .unwrap()
}

fn join(
    store: &Store,
    household: RecordId,
    person: RecordId,
    relation: &str,
    on: &str,
) -> RecordId {
    store
        .join_household(&NewHouseholdMember {
            household,
            person,
            relation: relation.into(),
            joined_on: Some(day(on)),
        })
        .unwrap()
}

fn period(concerns: Concerns, situation: &str, from: &str) -> NewPeriod {
    NewPeriod {
        concerns,
        situation: situation.into(),
        started_on: day(from),
        ended_on: None,
        place: None,
        end_reason: None,
        notes: None,
    }
}

fn line(store: &Store, person: RecordId) -> Vec<String> {
    store
        .journey(person)
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}..{}",
                s.situation,
                s.from,
                s.to.map(|d| d.to_string()).unwrap_or_default()
            )
        })
        .collect()
}

fn set(store: &Store, id: RecordId, field: &str, value: Value) {
    store.edit(id, &[Edit::Set(field.into(), value)]).unwrap();
}

#[test]
fn each_housing_record_made_on_one_store_is_edited_on_two_and_merged_with_its_conflicts() {
    let a = device("Téléphone A", "Inès");
    let b = device("Téléphone B", "Mathis");
    let amina = person(&a.store, "Amina Diallo");
    let family = household(&a.store, "Famille Diallo");
    let member = join(&a.store, family, amina, "reference", "2026-02-01");
    let stay = a
        .store
        .add_period(
            &period(Concerns::Household(family), "hotel", "2026-02-01"),
            None,
        )
        .unwrap();
    let application = a
        .store
        .add_application(&NewApplication {
            concerns: Concerns::Household(family),
            kind: "social_housing".into(),
            number: Some("075022601234".into()),
            filed_on: Some(day("2026-02-15")),
            renew_by: Some(day("2027-02-15")),
            status: None,
            areas: None,
        })
        .unwrap();
    send(&a.store, &b.store);

    // Different fields on the two phones merge; the same field on both is a conflict.
    set(&a.store, family, "pets", Value::Text("un chien".into()));
    set(&b.store, family, "unrecorded_children", Value::Int(1));
    set(
        &a.store,
        stay,
        "place",
        Value::Text("Hôtel du Canal".into()),
    );
    set(
        &b.store,
        stay,
        "place",
        Value::Text("Hôtel Bellevue".into()),
    );
    set(&a.store, member, "relation", Value::Code("partner".into()));
    a.store
        .application_step(application, "Dossier complet envoyé au bailleur")
        .unwrap();
    b.store
        .update_application(application, Some("in_review"), None)
        .unwrap();
    b.store
        .application_step(application, "Passage en commission le 12 mars")
        .unwrap();
    send(&a.store, &b.store);
    send(&b.store, &a.store);

    for store in [&a.store, &b.store] {
        let h = store.household(family).unwrap();
        assert_eq!(h.pets.as_deref(), Some("un chien"));
        assert_eq!(h.unrecorded_children, 1);
        assert!(h.conflicts.is_empty());
        let app = store.application(application).unwrap();
        assert_eq!(app.status.as_deref(), Some("in_review"));
        assert_eq!(app.steps.len(), 2, "both steps kept");
        assert_eq!(app.number.as_deref(), Some("075022601234"));
        assert_eq!(store.period(stay).unwrap().conflicts, ["place"]);
        let conflicts = store.conflicts().unwrap();
        assert!(conflicts
            .iter()
            .any(|c| c.record_id == stay && c.kind == Kind::JourneyPeriod && c.field == "place"));
        assert_eq!(
            store.household_member(member).unwrap().relation.as_deref(),
            Some("partner")
        );
    }
    a.store.resolve(stay, "place", "Hôtel Bellevue").unwrap();
    send(&a.store, &b.store);
    for store in [&a.store, &b.store] {
        let p = store.period(stay).unwrap();
        assert!(p.conflicts.is_empty());
        assert_eq!(p.place.as_deref(), Some("Hôtel Bellevue"));
    }
    assert_eq!(a.store.index_rows().unwrap(), b.store.index_rows().unwrap());
}

#[test]
fn a_journey_from_the_street_to_a_home_and_back_is_reported_for_the_period_and_the_one_before() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-01-05");
    let karim = d
        .store
        .add_person(&allervers_core::NewPerson {
            name: Some("Karim Benali".into()),
            situation: Some("street".into()),
            ..Default::default()
        })
        .unwrap();
    meet(&d.store, &[karim], "rue de Belleville");
    on(&d, "2026-02-12");
    let home = d
        .store
        .add_period(
            &NewPeriod {
                place: Some("Paris Habitat, rue des Pyrénées".into()),
                ..period(Concerns::Person(karim), "social_housing", "2026-02-10")
            },
            None,
        )
        .unwrap();
    assert_eq!(
        d.store.person(karim).unwrap().situation.as_deref(),
        Some("social_housing"),
        "the journey's last period is the situation now"
    );
    on(&d, "2026-03-16");
    d.store
        .add_period(
            &period(Concerns::Person(karim), "street", "2026-03-15"),
            Some("eviction"),
        )
        .unwrap();
    let ended = d.store.period(home).unwrap();
    assert_eq!(ended.ended_on, Some(day("2026-03-15")));
    assert_eq!(ended.end_reason.as_deref(), Some("eviction"));
    assert_eq!(
        line(&d.store, karim),
        [
            "street 2026-01-05..2026-02-10",
            "social_housing 2026-02-10..2026-03-15",
            "street 2026-03-15.."
        ]
    );

    // February: out of the street into a home, 36 days after the first contact.
    let feb = d
        .store
        .report(day("2026-02-01"), day("2026-02-28"), None)
        .unwrap();
    assert_eq!(feb.street_exits["social_housing"].current, 1);
    assert_eq!(feb.housed.current, 1);
    assert_eq!(feb.days_to_housing.current, 36);
    assert_eq!(feb.homes_lost.current, 0);
    // March (31 days, the period before it 2026-01-29 to 2026-02-28): the home lost, and the
    // move into it the period before.
    let march = d
        .store
        .report(day("2026-03-01"), day("2026-03-31"), None)
        .unwrap();
    assert_eq!(march.homes_lost.current, 1);
    assert_eq!(march.housed.current, 0);
    assert_eq!(march.housed.previous, 1);
    assert_eq!(march.street_exits["social_housing"].previous, 1);
    assert_eq!(march.street_exits["social_housing"].current, 0);
    let figures = march.figures();
    assert_eq!(figures["homes_lost"], "1 0");
    assert_eq!(figures["x.social_housing"], "0 1");
    let back =
        allervers_core::report::Report::from_figures(march.from, march.to, None, &figures).unwrap();
    assert_eq!(back.homes_lost, march.homes_lost);
    assert_eq!(back.street_exits, march.street_exits);
}

#[test]
fn a_households_move_is_counted_once_and_its_size_and_children_beside_persons() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-02-02");
    let mother = person(&d.store, "Fatou Camara");
    let father = person(&d.store, "Ousmane Camara");
    let son = person(&d.store, "Ibrahima Camara");
    let family = d
        .store
        .add_household(&NewHousehold {
            label: "Famille Camara".into(),
            unrecorded_members: Some(1),
            unrecorded_children: Some(1),
            pets: Some("un chat".into()),
            notes: None,
        })
        .unwrap();
    join(&d.store, family, mother, "reference", "2026-02-02");
    join(&d.store, family, father, "partner", "2026-02-02");
    join(&d.store, family, son, "child", "2026-02-02");
    d.store
        .add_period(
            &period(Concerns::Household(family), "car", "2026-02-02"),
            None,
        )
        .unwrap();
    meet(
        &d.store,
        &[mother, father, son],
        "parking de la porte de la Villette",
    );
    on(&d, "2026-03-03");
    d.store
        .add_period(
            &period(Concerns::Household(family), "social_housing", "2026-03-03"),
            None,
        )
        .unwrap();
    for member in [mother, father, son] {
        assert_eq!(
            d.store.person(member).unwrap().situation.as_deref(),
            Some("social_housing")
        );
    }
    meet(&d.store, &[mother], "rue de Flandre");

    let view = d.store.household_view(family).unwrap();
    assert_eq!(view.size, 4);
    assert!(view.children);
    assert_eq!(view.members.len(), 3);
    assert_eq!(view.members[0].person, mother, "the reference person first");
    assert_eq!(view.journey.len(), 2);

    let march = d
        .store
        .report(day("2026-03-01"), day("2026-03-31"), None)
        .unwrap();
    assert_eq!(march.persons_met.current, 1);
    assert_eq!(march.households_met.current, 1);
    assert_eq!(march.household_sizes["4"].current, 1);
    assert_eq!(march.households_with_children.current, 1);
    assert_eq!(march.housed.current, 1, "one household, whatever its size");
    assert_eq!(march.street_exits["social_housing"].current, 1);
    assert_eq!(march.days_to_housing.current, 29);
    let feb = d
        .store
        .report(day("2026-02-01"), day("2026-02-28"), None)
        .unwrap();
    assert_eq!(feb.persons_met.current, 3);
    assert_eq!(feb.households_met.current, 1);
    assert_eq!(feb.housed.current, 0);
    let sections = march.sections(allervers_core::vocab::Lang::Fr, &[]);
    let journey = sections.iter().find(|s| s.key == "journey").unwrap();
    assert_eq!(journey.lines[0].figure.current, 1);
}

#[test]
fn joining_a_household_already_housed_is_the_joiners_own_move_not_the_households() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-02-02");
    let mother = person(&d.store, "Awa Diallo");
    let family = household(&d.store, "Famille Diallo");
    join(&d.store, family, mother, "reference", "2026-02-02");
    d.store
        .add_period(
            &period(Concerns::Household(family), "hotel", "2026-02-02"),
            None,
        )
        .unwrap();
    // Her mother and her brother wait at another hotel, each on their own.
    let grandmother = person(&d.store, "Mariama Diallo");
    let brother = person(&d.store, "Moussa Diallo");
    for p in [grandmother, brother] {
        d.store
            .add_period(&period(Concerns::Person(p), "hotel", "2026-02-02"), None)
            .unwrap();
    }
    on(&d, "2026-03-03");
    d.store
        .add_period(
            &period(Concerns::Household(family), "social_housing", "2026-03-03"),
            None,
        )
        .unwrap();
    // Both join the housed household on one day: two moves of their own, beside the
    // household's.
    on(&d, "2026-03-20");
    join(&d.store, family, grandmother, "parent", "2026-03-20");
    join(&d.store, family, brother, "sibling", "2026-03-20");
    assert_eq!(
        line(&d.store, brother),
        [
            "hotel 2026-02-02..2026-03-20",
            "social_housing 2026-03-20.."
        ]
    );
    let march = d
        .store
        .report(day("2026-03-01"), day("2026-03-31"), None)
        .unwrap();
    assert_eq!(
        march.housed.current, 3,
        "the household's move, then each joiner's own"
    );
    assert_eq!(march.homes_lost.current, 0);
}

#[test]
fn a_person_leaves_one_household_and_joins_another_and_moves_with_the_second_only() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-01-10");
    let lucas = person(&d.store, "Lucas Martin");
    let first = household(&d.store, "Couple Martin");
    let second = household(&d.store, "Famille Roux");
    join(&d.store, first, lucas, "partner", "2026-01-10");
    assert!(
        d.store
            .join_household(&NewHouseholdMember {
                household: first,
                person: lucas,
                relation: "partner".into(),
                joined_on: None,
            })
            .is_err(),
        "a member does not join twice"
    );
    d.store
        .add_period(
            &period(
                Concerns::Household(first),
                "emergency_shelter",
                "2026-01-10",
            ),
            None,
        )
        .unwrap();
    on(&d, "2026-02-01");
    d.store
        .leave_household(first, lucas, Some(day("2026-02-01")), Some("séparation"))
        .unwrap();
    join(&d.store, second, lucas, "sibling", "2026-02-01");
    d.store
        .add_period(
            &period(Concerns::Household(second), "hotel", "2026-02-01"),
            None,
        )
        .unwrap();
    on(&d, "2026-03-01");
    d.store
        .add_period(
            &period(Concerns::Household(first), "social_housing", "2026-03-01"),
            None,
        )
        .unwrap();
    assert_eq!(
        line(&d.store, lucas),
        [
            "emergency_shelter 2026-01-10..2026-02-01",
            "hotel 2026-02-01.."
        ],
        "the first household's move after they left is not theirs"
    );
    let memberships = d.store.person_households(lucas).unwrap();
    assert_eq!(memberships.len(), 2);
    assert_eq!(memberships[0].left_on, Some(day("2026-02-01")));
    assert_eq!(memberships[0].left_reason.as_deref(), Some("séparation"));
    assert!(d.store.leave_household(first, lucas, None, None).is_err());
    let list = d.store.households().unwrap();
    let first_now = list.iter().find(|h| h.id == first).unwrap();
    assert!(first_now.members.is_empty());
    assert_eq!(first_now.situation.as_deref(), Some("social_housing"));
}

#[test]
fn the_records_rules_refuse_what_cannot_be_with_nothing_written() {
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Chloé Petit");
    let h = household(&d.store, "Chloé et sa fille");
    let before = d.store.index_rows().unwrap();
    assert!(d.store.add_household(&NewHousehold::default()).is_err());
    assert!(d
        .store
        .add_period(
            &NewPeriod {
                ended_on: Some(day("2026-01-01")),
                ..period(Concerns::Person(p), "hotel", "2026-02-01")
            },
            None
        )
        .is_err());
    assert!(
        d.store
            .add_period(&period(Concerns::Person(h), "hotel", "2026-02-01"), None)
            .is_err(),
        "a household's id is no person"
    );
    assert!(
        d.store
            .add_period(&period(Concerns::Person(p), "hotel", "2099-02-01"), None)
            .is_err(),
        "a period in the future"
    );
    assert!(d
        .store
        .join_household(&NewHouseholdMember {
            household: p,
            person: h,
            relation: "child".into(),
            joined_on: None,
        })
        .is_err());
    assert_eq!(d.store.index_rows().unwrap(), before);
    // A period of a person and a household at once.
    let stay = d
        .store
        .add_period(&period(Concerns::Person(p), "hotel", "2026-02-01"), None)
        .unwrap();
    let written = d.store.index_rows().unwrap();
    assert!(d
        .store
        .edit(stay, &[Edit::Set("household".into(), Value::Ref(h))])
        .is_err());
    assert_eq!(d.store.index_rows().unwrap(), written);
}

#[test]
fn erasing_a_person_erases_their_memberships_periods_and_applications_and_keeps_the_households() {
    let d = device("Poste bureau", "Sophie");
    let nadia = person(&d.store, "Nadia Haddad");
    let other = person(&d.store, "Yanis Haddad");
    let family = household(&d.store, "Famille Haddad");
    join(&d.store, family, nadia, "reference", "2026-02-01");
    join(&d.store, family, other, "child", "2026-02-01");
    d.store
        .add_period(
            &period(Concerns::Person(nadia), "hotel", "2026-02-01"),
            None,
        )
        .unwrap();
    d.store
        .add_application(&NewApplication {
            concerns: Concerns::Person(nadia),
            kind: "dalo".into(),
            number: None,
            filed_on: None,
            renew_by: None,
            status: None,
            areas: None,
        })
        .unwrap();
    d.store
        .erase_person(nadia, "demande de la personne", false)
        .unwrap();
    let rows = d.store.index_rows().unwrap();
    let blob = format!(
        "{:?}",
        rusqlite::types::Value::Blob(nadia.as_bytes().to_vec())
    );
    assert!(
        rows.iter().any(|r| r.contains(&format!(
            "{:?}",
            rusqlite::types::Value::Blob(other.as_bytes().to_vec())
        ))),
        "the rows name persons as this test looks for them"
    );
    assert!(
        !rows.iter().any(|r| r.contains(&blob)),
        "no index row names the erased person"
    );
    assert!(d.store.applications(None).unwrap().is_empty());
    let view = d.store.household_view(family).unwrap();
    assert_eq!(view.members.len(), 1);
    assert_eq!(view.members[0].person, other);
}

#[test]
fn a_store_from_before_journeys_reads_its_situation_changes_as_its_journey_on_every_replica() {
    let mut a = device("Poste bureau", "Sophie");
    let b = device("Téléphone", "Inès");
    on(&a, "2026-01-05");
    let moussa = a
        .store
        .add_person(&allervers_core::NewPerson {
            nickname: Some("Moussa".into()),
            situation: Some("street".into()),
            ..Default::default()
        })
        .unwrap();
    on(&a, "2026-01-20");
    set(
        &a.store,
        moussa,
        "situation",
        Value::Code("emergency_shelter".into()),
    );
    on(&a, "2026-02-25");
    set(
        &a.store,
        moussa,
        "situation",
        Value::Code("residence_sociale".into()),
    );
    send(&a.store, &b.store);
    let (path, key) = (a.path.clone(), a.key.clone());
    let _folder = a.dir.take();
    drop(a);
    // Back to the schema before journeys (16) by hand.
    {
        let conn = crate::common::raw_connection(&path, &key);
        conn.execute_batch(
            "DROP TABLE households; DROP TABLE household_members; DROP TABLE journey_periods;
             DROP TABLE housing_applications; DROP INDEX situation_changes_by_person;
             DROP TABLE homes; DROP TABLE risk_signals; DROP TABLE housing_offers; DROP TABLE proposals;
             DROP TABLE own_views; DROP INDEX persons_search;
             DROP TABLE custom_fields; ALTER TABLE persons DROP COLUMN custom;
             ALTER TABLE encounters DROP COLUMN custom;
             PRAGMA user_version = 16;",
        )
        .unwrap();
    }
    let clock = std::sync::Arc::new(allervers_core::ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let a = Store::open_with(&path, &key, allervers_core::StoreOptions::with_clock(clock)).unwrap();
    let expected = [
        "street 2026-01-05..2026-01-20",
        "emergency_shelter 2026-01-20..2026-02-25",
        "residence_sociale 2026-02-25..",
    ];
    assert_eq!(line(&a, moussa), expected);
    assert_eq!(line(&b.store, moussa), expected);
    // The same rows but the phone's own roster entry, which never went to the office.
    let rows = |store: &Store| -> Vec<String> {
        let rows = store.index_rows().unwrap();
        rows.into_iter()
            .filter(|r| !r.starts_with("devices:"))
            .collect()
    };
    assert_eq!(rows(&a), rows(&b.store));
    let feb = a
        .report(day("2026-02-01"), day("2026-02-28"), None)
        .unwrap();
    assert_eq!(feb.housed.current, 1);
    assert_eq!(feb.days_to_housing.current, 51);
    assert_eq!(feb.street_exits.get("residence_sociale"), None);
    let jan = a
        .report(day("2026-01-01"), day("2026-01-31"), None)
        .unwrap();
    assert_eq!(jan.street_exits["emergency_shelter"].current, 1);

    // The office then records the stay it knew of, with its place: it takes the step's place.
    a.add_period(
        &NewPeriod {
            ended_on: Some(day("2026-02-24")),
            place: Some("CHU Saint-Martin".into()),
            end_reason: Some("moved_on".into()),
            ..period(Concerns::Person(moussa), "emergency_shelter", "2026-01-19")
        },
        None,
    )
    .unwrap();
    let steps = a.journey(moussa).unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1].place.as_deref(), Some("CHU Saint-Martin"));
    assert_eq!(steps[1].from, day("2026-01-19"));
    assert_eq!(steps[1].to, Some(day("2026-02-24")));
    assert_eq!(
        a.person(moussa).unwrap().situation.as_deref(),
        Some("residence_sociale"),
        "a past period leaves the situation now alone"
    );
}

#[test]
fn erasing_the_last_member_of_a_household_erases_what_it_lived_after_the_others_left() {
    let d = device("Poste bureau", "Sophie");
    on(&d, "2026-01-10");
    let marc = person(&d.store, "Marc Roussel");
    let claire = person(&d.store, "Claire Roussel");
    let family = household(&d.store, "Famille Roussel");
    join(&d.store, family, marc, "partner", "2026-01-10");
    join(&d.store, family, claire, "reference", "2026-01-10");
    let together = d
        .store
        .add_period(
            &period(Concerns::Household(family), "hotel", "2026-01-10"),
            None,
        )
        .unwrap();
    on(&d, "2026-02-01");
    d.store
        .leave_household(family, marc, Some(day("2026-02-01")), Some("séparation"))
        .unwrap();
    on(&d, "2026-03-02");
    let hers = d
        .store
        .add_period(
            &period(Concerns::Household(family), "social_housing", "2026-03-02"),
            None,
        )
        .unwrap();
    let application = d
        .store
        .add_application(&NewApplication {
            concerns: Concerns::Household(family),
            kind: "social_housing".into(),
            number: Some("75-2026-01234".into()),
            filed_on: None,
            renew_by: None,
            status: None,
            areas: None,
        })
        .unwrap();
    d.store
        .erase_person(claire, "demande de la personne", false)
        .unwrap();
    assert!(
        d.store.period(hers).is_err(),
        "what the household lived after Marc left was Claire's alone"
    );
    assert!(d.store.application(application).is_err());
    assert!(d.store.household(family).is_ok(), "Marc's history stays");
    assert!(d.store.period(together).is_ok());
    assert_eq!(line(&d.store, marc), ["hotel 2026-01-10..2026-02-01"]);
    let view = d.store.household_view(family).unwrap();
    assert_eq!(view.members.len(), 1);
    assert_eq!(view.journey.len(), 1);
}

#[test]
fn erasing_the_only_member_of_a_household_erases_the_household_and_its_journey_too() {
    let d = device("Poste bureau", "Sophie");
    let alone = person(&d.store, "Malik Benyahia");
    let other = person(&d.store, "Sarah Benyahia");
    let his = household(&d.store, "Famille Benyahia");
    let shared = household(&d.store, "Colocation du canal");
    join(&d.store, his, alone, "reference", "2026-01-10");
    join(&d.store, shared, alone, "other", "2026-01-10");
    join(&d.store, shared, other, "other", "2026-01-10");
    let period_id = d
        .store
        .add_period(
            &period(Concerns::Household(his), "hotel", "2026-01-10"),
            None,
        )
        .unwrap();
    let kept = d
        .store
        .add_period(
            &period(Concerns::Household(shared), "squat", "2026-01-10"),
            None,
        )
        .unwrap();
    d.store
        .erase_person(alone, "demande de la personne", false)
        .unwrap();
    assert!(
        d.store.household(his).is_err(),
        "his household said who he was"
    );
    assert!(d.store.period(period_id).is_err());
    assert!(
        d.store.household(shared).is_ok(),
        "another member's household stays"
    );
    assert!(d.store.period(kept).is_ok());
    let labels: Vec<String> = d
        .store
        .households()
        .unwrap()
        .into_iter()
        .map(|h| h.label)
        .collect();
    assert_eq!(labels, ["Colocation du canal"]);
}
