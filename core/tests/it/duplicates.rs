//! Whom to go and see again (persons not met for some days, oldest first) and persons recorded
//! twice (likely duplicates at the office, hints on a creation form): names, nicknames and other
//! names compared with accents, case and spaces folded, birth years close or unknown.

use allervers_core::{Edit, NewEncounter, NewPerson, RecordId, Value};
use chrono::{Duration, TimeZone, Utc};

use crate::common::{device, Device};

/// Records a person, a minute after the one before.
fn add(d: &Device, person: NewPerson) -> RecordId {
    d.clock.set(d.store.now() + Duration::minutes(1));
    d.store.add_person(&person).unwrap()
}

fn named(name: &str) -> NewPerson {
    NewPerson {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn meet(d: &Device, person: RecordId, days_ago: i64) {
    d.store
        .log_encounter(&NewEncounter {
            occurred_at: Some(d.store.now() - Duration::days(days_ago)),
            persons: vec![person],
            place: Some("rue du Faubourg-Saint-Denis".into()),
            ..Default::default()
        })
        .unwrap();
}

#[test]
fn persons_not_met_for_some_days_come_oldest_first_and_never_met_ones_count_from_their_recording() {
    let d = device("Téléphone maraude", "Amina");
    d.clock
        .set(Utc.with_ymd_and_hms(2026, 1, 1, 20, 0, 0).unwrap());
    let never_met = add(&d, named("Gaspard"));
    d.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 2, 21, 0, 0).unwrap());
    let (amadou, lucie, recent, new) = (
        add(&d, named("Amadou")),
        add(&d, named("Lucie")),
        add(&d, named("Théo")),
        add(&d, named("Inès")),
    );
    meet(&d, amadou, 30);
    meet(&d, lucie, 20);
    meet(&d, lucie, 45);
    meet(&d, recent, 3);
    let gone = add(&d, named("Marcel"));
    meet(&d, gone, 60);
    d.store
        .edit(
            gone,
            &[Edit::Set("status".into(), Value::Code("inactive".into()))],
        )
        .unwrap();

    let ids = |days| -> Vec<RecordId> {
        d.store
            .persons_not_seen_for(days, 100)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    // Gaspard was recorded 60 days ago and never met; Amadou last met 30 days ago, Lucie 20.
    assert_eq!(ids(14), vec![never_met, amadou, lucie]);
    assert_eq!(ids(25), vec![never_met, amadou]);
    assert_eq!(ids(90), Vec::<RecordId>::new());
    // Inès, recorded today and never met, is due once the days have passed.
    assert!(!ids(0).is_empty() && ids(0).contains(&new) && ids(0).contains(&recent));
    assert_eq!(d.store.persons_not_seen_for(14, 2).unwrap().len(), 2);
}

#[test]
fn two_recordings_of_one_person_are_found_by_a_shared_folded_name_and_a_close_birth_year() {
    let d = device("Poste bureau", "Sophie");
    let karim = add(
        &d,
        NewPerson {
            name: Some("Karim".into()),
            nickname: Some("Le Grand".into()),
            birth_year: Some(1984),
            ..Default::default()
        },
    );
    // Another phone met him offline and wrote his nickname with other accents and case.
    let again = add(
        &d,
        NewPerson {
            nickname: Some("le  grand".into()),
            birth_year: Some(1985),
            ..Default::default()
        },
    );
    // Same first name, but born twenty years apart: two persons.
    add(
        &d,
        NewPerson {
            name: Some("Karim".into()),
            birth_year: Some(2004),
            ..Default::default()
        },
    );
    // An other name given later links a fourth recording, whose birth year is unknown.
    let zohra = add(&d, named("Zohra"));
    let zo = add(&d, named("Zo"));
    d.store
        .edit(
            zohra,
            &[Edit::Add("other_names".into(), Value::Text("Zô".into()))],
        )
        .unwrap();
    // A person out of the active list is not offered.
    let left = add(&d, named("Zohra"));
    d.store
        .edit(
            left,
            &[Edit::Set("status".into(), Value::Code("inactive".into()))],
        )
        .unwrap();

    let pairs = d.store.likely_duplicates().unwrap();
    let found: Vec<([RecordId; 2], Vec<String>)> = pairs
        .iter()
        .map(|p| ([p.persons[0].id, p.persons[1].id], p.shared.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            ([karim, again], vec!["le grand".to_string()]),
            ([zohra, zo], vec!["zo".to_string()]),
        ]
    );
    assert_eq!(pairs[0].birth_years, [Some(1984), Some(1985)]);

    // The creation form's hints, while a worker types.
    let hint = |name: Option<&str>, nickname: Option<&str>, year| -> Vec<RecordId> {
        d.store
            .duplicate_hints(name, nickname, year)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    // The most recently met first (neither was: the most recently recorded first).
    assert_eq!(hint(None, Some("LE GRAND"), None), vec![again, karim]);
    assert_eq!(hint(Some("Karím"), None, Some(2005)).len(), 1);
    assert_eq!(hint(Some("Karim"), None, None).len(), 2);
    assert!(hint(Some("  "), None, None).is_empty());
    assert!(
        hint(Some("Kar"), None, None).is_empty(),
        "a whole name, not a prefix"
    );
}

#[test]
fn a_name_held_by_many_pairs_no_one_and_hints_stop_at_ten() {
    let d = device("Poste bureau", "Sophie");
    let many = allervers_core::store::duplicates::COMMON_NAME + 1;
    let leas: Vec<RecordId> = (0..many).map(|_| add(&d, named("Léa"))).collect();
    // Two of them also share a rarer nickname: that pairs them.
    for lea in &leas[..2] {
        d.store
            .edit(
                *lea,
                &[Edit::Set(
                    "nickname".into(),
                    Value::Text("la Rousse".into()),
                )],
            )
            .unwrap();
    }
    let pairs = d.store.likely_duplicates().unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].shared, ["la rousse"]);
    let hints = d.store.duplicate_hints(Some("lea"), None, None).unwrap();
    assert_eq!(hints.len(), allervers_core::store::duplicates::HINTS);
}

#[test]
fn a_search_that_matches_many_persons_lists_the_most_recently_met_first_like_one_that_matches_few()
{
    let d = device("Téléphone maraude", "Amina");
    // Twelve persons hold the letter "a": more than four times a limit of 2.
    let persons: Vec<RecordId> = (0..12)
        .map(|i| add(&d, named(&format!("Anaïs {i}"))))
        .collect();
    let others = add(&d, named("Théo"));
    meet(&d, persons[3], 5);
    meet(&d, persons[7], 2);
    meet(&d, others, 1);
    meet(&d, persons[1], 9);
    let list = |search: &str, limit| -> Vec<RecordId> {
        d.store
            .list_persons(&allervers_core::PersonQuery {
                search: Some(search.into()),
                limit,
                ..Default::default()
            })
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };
    // Many match (walked back from the latest meeting), few match (sorted): the same order.
    assert_eq!(list("A", 2), vec![persons[7], persons[3]]);
    assert_eq!(
        list("a", 4),
        vec![persons[7], persons[3], persons[1], persons[11]]
    );
    assert_eq!(list("anais 7", 50), vec![persons[7]]);
    // Never met ones come after, the most recently recorded first.
    assert_eq!(list("ANAÏS", 5)[3..], [persons[11], persons[10]]);
}
