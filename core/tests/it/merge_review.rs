//! An adversarial review of duplicate persons merged at the office: what a merge must not
//! lose, leave behind or cost.

use allervers_core::{NewEncounter, NewPerson, PersonQuery, PersonSort, RecordId, Store, Via};
use chrono::{DateTime, Duration, Months, TimeZone, Utc};

use crate::common::{device, send, Device};

fn add(store: &Store, name: &str) -> RecordId {
    store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

fn meet_at(store: &Store, person: RecordId, place: &str, at: DateTime<Utc>) -> RecordId {
    store
        .log_encounter(&NewEncounter {
            occurred_at: Some(at),
            persons: vec![person],
            place: Some(place.into()),
            ..Default::default()
        })
        .unwrap()
}

fn listed(store: &Store) -> Vec<RecordId> {
    let mut ids: Vec<RecordId> = store
        .list_persons(&PersonQuery::default())
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids
}

fn add_at(d: &Device, name: &str, at: DateTime<Utc>) -> RecordId {
    d.clock.set(at);
    d.store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

fn due(store: &Store) -> Vec<RecordId> {
    store
        .retention_review()
        .unwrap()
        .due
        .into_iter()
        .map(|r| r.person)
        .collect()
}

#[test]
fn a_record_merged_in_recently_keeps_the_person_off_the_retention_review() {
    let d = device("Poste bureau", "Sophie");
    let now = Utc.with_ymd_and_hms(2028, 6, 15, 12, 0, 0).unwrap();
    // Recorded four years ago and never met since: due for review on its own.
    let keep = add_at(&d, "Rémi Fontaine", now - Months::new(48));
    // The same person recorded again last month, under a nickname, at another antenna.
    let other = add_at(&d, "Rémi", now - Months::new(1));
    d.clock.set(now);
    assert_eq!(due(&d.store), vec![keep]);
    d.store.merge_persons(keep, other).unwrap();
    // Recorded last month: the person's file is a month old, not four years.
    assert_eq!(
        due(&d.store),
        Vec::<RecordId>::new(),
        "a merged person is due for review by their latest recording, whichever record holds it"
    );
}

#[test]
fn a_file_kept_after_review_on_a_merged_record_keeps_the_person_off_the_review() {
    let d = device("Poste bureau", "Sophie");
    let now = Utc.with_ymd_and_hms(2028, 6, 15, 12, 0, 0).unwrap();
    let keep = add_at(&d, "Odile Marchand", now - Months::new(60));
    let other = add_at(&d, "Odile", now - Months::new(50));
    // The office reviewed the second record last month and kept the file.
    d.clock.set(now - Months::new(1));
    d.store
        .retention_keep(other, "suivi en cours avec le SIAO")
        .unwrap();
    d.clock.set(now);
    d.store.merge_persons(keep, other).unwrap();
    assert_eq!(
        due(&d.store),
        Vec::<RecordId>::new(),
        "a decision to keep one record of the person keeps the person"
    );
}

#[test]
fn a_long_chain_of_merges_made_by_two_offices_resolves_to_its_end_on_both() {
    const LENGTH: usize = 600;
    let (a, b) = (
        device("Poste bureau", "Sophie"),
        device("Poste antenne", "Malik"),
    );
    let streets = ["rue de Charonne", "rue Saint-Maur", "rue Oberkampf"];
    let ids: Vec<RecordId> = (0..LENGTH)
        .map(|i| add(&a.store, &format!("Lucien {}", streets[i % 3])))
        .collect();
    send(&a.store, &b.store);
    // Each office merges every other pair: short chains on each, one long chain once both
    // are known.
    for i in (0..LENGTH - 1).step_by(2) {
        a.store.merge_persons(ids[i + 1], ids[i]).unwrap();
    }
    for i in (1..LENGTH - 1).step_by(2) {
        b.store.merge_persons(ids[i + 1], ids[i]).unwrap();
    }
    let started = std::time::Instant::now();
    send(&b.store, &a.store);
    let took = started.elapsed();
    let last = ids[LENGTH - 1];
    send(&a.store, &b.store);
    for d in [&a, &b] {
        assert_eq!(d.store.resolved_person(ids[0]).unwrap(), last);
        assert_eq!(d.store.person_group(ids[300]).unwrap().len(), LENGTH);
        assert_eq!(listed(&d.store), vec![last]);
    }
    assert_eq!(a.store.index_rows().unwrap(), b.store.index_rows().unwrap());
    assert!(
        took < std::time::Duration::from_secs(60),
        "receiving {} merges that make one chain took {took:?}",
        LENGTH / 2
    );
}

#[test]
fn a_search_lists_first_the_person_met_most_recently_through_a_record_merged_into_them() {
    let d = device("Poste bureau", "Sophie");
    let now = d.store.now();
    let keep = add(&d.store, "Karim Benali");
    let other = add(&d.store, "Kader");
    let (x, y) = (add(&d.store, "Karim Dupont"), add(&d.store, "Karim Leroy"));
    meet_at(&d.store, x, "rue de Tanger", now - Duration::days(2));
    meet_at(&d.store, y, "rue de Flandre", now - Duration::days(3));
    // The person was met this morning under the other record.
    meet_at(&d.store, other, "quai de Valmy", now - Duration::hours(1));
    d.store.merge_persons(keep, other).unwrap();
    let first_two: Vec<RecordId> = d
        .store
        .list_persons(&PersonQuery {
            search: Some("karim".into()),
            sort: PersonSort::RecentlySeen,
            limit: 2,
            include_inactive: false,
        })
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        first_two,
        vec![keep, x],
        "met this morning, then two days ago"
    );
}

#[test]
fn whom_to_see_again_is_not_cut_short_by_a_person_met_lately_through_a_merged_record() {
    let d = device("Poste bureau", "Sophie");
    let now = d.store.now();
    // Recorded long ago and never met under this record...
    d.clock.set(now - Duration::days(90));
    let keep = add(&d.store, "Solange Petit");
    let other = add(&d.store, "Sol");
    d.clock.set(now);
    // ...but met yesterday under the other one.
    meet_at(
        &d.store,
        other,
        "boulevard de la Villette",
        now - Duration::days(1),
    );
    let unseen = add_at(&d, "Gaston Morel", now - Duration::days(60));
    d.clock.set(now);
    d.store.merge_persons(keep, other).unwrap();
    let first: Vec<RecordId> = d
        .store
        .persons_not_seen_for(30, 1)
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(first, vec![unseen], "the one person not seen for a month");
}

#[test]
fn publishing_a_merged_person_alone_withdraws_the_projection_of_the_record_merged_into_them() {
    let s = crate::partnership::setting();
    // B consented to share who they are with the SIAO, and was published.
    crate::partnership::consents(&s.office.store, s.b, &["identity_contact"], true);
    s.office
        .store
        .publish(&s.office_siao.store, None, Via::Cli)
        .unwrap();
    s.space.settle(&[&s.office_siao, &s.siao]);
    assert_eq!(s.siao.store.projections().unwrap().len(), 1);
    // At the office, B turns out to be A, who refuses: the office merges, records the refusal
    // and publishes that person at once.
    s.office.clock.set(s.office.store.now() + Duration::days(1));
    crate::partnership::consents(&s.office.store, s.a, &["identity_contact"], false);
    s.office.store.merge_persons(s.a, s.b).unwrap();
    s.office
        .store
        .publish(&s.office_siao.store, Some(s.a), Via::Cli)
        .unwrap();
    s.space.settle(&[&s.office_siao, &s.siao]);
    assert!(
        s.siao.store.projections().unwrap().is_empty(),
        "nothing of a person who refused stays at the partner"
    );
}

#[test]
fn merges_received_in_any_order_leave_the_same_index_and_lists() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let office = device("Poste bureau", "Sophie");
    // A chain A→B→C, D merged into C and unmerged, E merged into D, F into D concurrently
    // with D into F (a cycle), the two targets met.
    let ids: Vec<RecordId> = [
        "Aurélien",
        "Aurel",
        "Aurélien Roy",
        "Dounia",
        "Élise",
        "Fanny",
    ]
    .iter()
    .map(|n| add(&office.store, n))
    .collect();
    let (a, b, c, d, e, f) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    meet_at(
        &office.store,
        a,
        "rue du Faubourg-du-Temple",
        office.store.now(),
    );
    meet_at(
        &office.store,
        c,
        "rue de la Fontaine-au-Roi",
        office.store.now(),
    );
    office.store.merge_persons(b, a).unwrap();
    office.store.merge_persons(c, b).unwrap();
    office.store.merge_persons(c, d).unwrap();
    office.store.unmerge_person(d).unwrap();
    office.store.merge_persons(d, e).unwrap();
    let antenna = device("Poste antenne", "Malik");
    send(&office.store, &antenna.store);
    antenna.store.merge_persons(d, f).unwrap();
    office.store.merge_persons(f, d).unwrap();
    send(&antenna.store, &office.store);
    let changes = office.store.export_changes().unwrap();
    // The persons' rows (every replica lists its own device besides).
    let persons = |store: &Store| -> Vec<String> {
        let mut rows = store.index_rows().unwrap();
        rows.retain(|r| r.starts_with("persons:"));
        rows
    };
    let expected = (persons(&office.store), listed(&office.store));
    assert_eq!(expected.0.len(), 6);
    for seed in 0..6u64 {
        // The roster first (the devices' keys), then the records' changes in any order.
        let (roster, mut order): (Vec<_>, Vec<_>) = changes
            .iter()
            .cloned()
            .partition(|c| c.record == allervers_core::store::ROSTER_ID);
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let replica = device("Téléphone maraude", "Julie");
        replica.store.import_changes(&roster).unwrap();
        for change in order {
            replica.store.import_changes(&[change]).unwrap();
        }
        assert_eq!(
            (persons(&replica.store), listed(&replica.store)),
            expected,
            "the changes received in the order of seed {seed}"
        );
    }
}

#[test]
fn a_nurse_reads_the_health_notes_of_every_record_merged_into_the_person() {
    let team = device("Poste bureau", "Sophie");
    let health = crate::health_attacks::health_device("Téléphone infirmière", "Amina");
    let keep = add(&team.store, "Marcel Aubry");
    let other = add(&team.store, "Marcel");
    for (person, text, on) in [
        (other, "toux depuis une semaine", 2),
        (keep, "pansement au pied", 1),
    ] {
        health
            .store
            .add_health_note(&allervers_core::NewHealthNote {
                person,
                on: Some(crate::health_attacks::day(on)),
                professional: "Amina".into(),
                category: "care".into(),
                text: text.into(),
                next_step: None,
            })
            .unwrap();
    }
    // Each record alone, as the health store reads them, holds half of the person's file.
    assert_eq!(health.store.health_notes(keep).unwrap().len(), 1);
    team.store.merge_persons(keep, other).unwrap();
    for asked in [keep, other] {
        let notes: Vec<String> = health
            .store
            .open_person_health_notes(&team.store, asked, Via::App)
            .unwrap()
            .into_iter()
            .filter_map(|n| n.text)
            .collect();
        assert_eq!(
            notes,
            vec!["pansement au pied", "toux depuis une semaine"],
            "one person, one health file"
        );
    }
}

#[test]
fn a_merged_person_is_new_in_the_period_of_their_first_record_and_counted_once() {
    let d = device("Poste bureau", "Sophie");
    let march = Utc.with_ymd_and_hms(2026, 3, 5, 10, 0, 0).unwrap();
    let april = Utc.with_ymd_and_hms(2026, 4, 10, 10, 0, 0).unwrap();
    let other = add_at(&d, "Yvette", march);
    let keep = add_at(&d, "Yvette Lambert", april);
    d.clock.set(april + Duration::days(1));
    let new_in = |from: (u32, u32), to: (u32, u32)| {
        let day = |(m, d): (u32, u32)| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        d.store
            .report(day(from), day(to), None)
            .unwrap()
            .new_persons
            .current
    };
    assert_eq!((new_in((3, 1), (3, 31)), new_in((4, 1), (4, 30))), (1, 1));
    d.store.merge_persons(keep, other).unwrap();
    assert_eq!(
        (new_in((3, 1), (3, 31)), new_in((4, 1), (4, 30))),
        (1, 0),
        "first recorded in March: new in March, not again in April"
    );
}

#[test]
fn a_person_recorded_again_lately_under_a_merged_record_is_not_to_see_again() {
    let d = device("Poste bureau", "Sophie");
    let now = d.store.now();
    let keep = add_at(&d, "Hervé Caron", now - Duration::days(90));
    // Recorded again yesterday, in the street, under a nickname.
    let other = add_at(&d, "Riton", now - Duration::days(1));
    d.clock.set(now);
    d.store.merge_persons(keep, other).unwrap();
    assert!(
        d.store.persons_not_seen_for(30, 10).unwrap().is_empty(),
        "recorded yesterday: not a month unseen"
    );
}
