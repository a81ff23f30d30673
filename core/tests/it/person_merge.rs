//! Two records of one person merged at the office: the merged record leaves the lists, its
//! history stays readable, every list, timeline and report counts the two as one, the merged
//! view combines them; concurrent merges are a conflict resolved the same way on every replica;
//! edits and encounters of the merged record made offline after the merge land on the person it
//! was merged into; unmerging undoes it; erasing the person erases both.

use allervers_core::export::{ExportKind, ExportOptions};
use allervers_core::{
    Edit, NewAction, NewEncounter, NewPerson, PersonQuery, RecordId, Store, TimelineItem, Value,
    Via,
};
use chrono::NaiveDate;

use crate::common::{device, send};

fn add(store: &Store, name: &str, nickname: Option<&str>) -> RecordId {
    store
        .add_person(&NewPerson {
            name: Some(name.into()),
            nickname: nickname.map(str::to_string),
            ..Default::default()
        })
        .unwrap()
}

fn meet(store: &Store, person: RecordId, place: &str) -> RecordId {
    store
        .log_encounter(&NewEncounter {
            persons: vec![person],
            place: Some(place.into()),
            ..Default::default()
        })
        .unwrap()
}

fn listed(store: &Store, search: Option<&str>) -> Vec<RecordId> {
    store
        .list_persons(&PersonQuery {
            search: search.map(str::to_string),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

fn set(store: &Store, id: RecordId, field: &str, value: Value) {
    store.edit(id, &[Edit::Set(field.into(), value)]).unwrap();
}

fn persons_met(store: &Store) -> i64 {
    let day = store.now().date_naive();
    store.report(day, day, None).unwrap().persons_met.current
}

#[test]
fn a_merged_record_leaves_the_lists_and_every_list_timeline_and_report_counts_the_two_as_one() {
    let d = device("Poste bureau", "Sophie");
    let keep = add(&d.store, "Karim Benali", Some("Le Grand"));
    let other = add(&d.store, "Kader", None);
    d.store
        .edit(
            keep,
            &[Edit::Add("needs".into(), Value::Code("food".into()))],
        )
        .unwrap();
    d.store
        .edit(
            other,
            &[
                Edit::Add("needs".into(), Value::Code("health".into())),
                Edit::Set("alert_level".into(), Value::Code("very_vulnerable".into())),
                Edit::Set("consent_share".into(), Value::Bool(false)),
            ],
        )
        .unwrap();
    set(&d.store, keep, "consent_share", Value::Bool(true));
    let met_keep = meet(&d.store, keep, "rue de Belleville");
    let met_other = meet(&d.store, other, "quai de Jemmapes");
    let action = d
        .store
        .add_action(&NewAction {
            person: other,
            title: "Accompagner à la PASS".into(),
            category: "health_appointment".into(),
            due_at: NaiveDate::from_ymd_opt(2026, 3, 10),
            assigned_to: None,
        })
        .unwrap();
    assert_eq!(persons_met(&d.store), 2);
    assert_eq!(listed(&d.store, None).len(), 2);

    d.store.merge_persons(keep, other).unwrap();

    // The lists: one person, found by either record's names.
    assert_eq!(listed(&d.store, None), vec![keep]);
    assert_eq!(listed(&d.store, Some("kader")), vec![keep]);
    assert_eq!(listed(&d.store, Some("grand")), vec![keep]);
    assert_eq!(d.store.active_person_count().unwrap(), 1);
    let follow_ups = d.store.persons_with_open_actions(10).unwrap();
    assert_eq!(follow_ups.len(), 1);
    assert_eq!(follow_ups[0].person.id, keep);
    let alert: Vec<RecordId> = d
        .store
        .persons_on_alert(10)
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        alert,
        vec![keep],
        "the merged record's alert puts the person on the list"
    );
    assert_eq!(persons_met(&d.store), 1, "counted as one person");
    // An export counts one person too: one row, and both encounters name the same pseudonym.
    let day = d.store.now().date_naive();
    let export = |kind| {
        d.store
            .export(kind, day, day, &ExportOptions::pseudonymised(), Via::Cli)
            .unwrap()
    };
    assert_eq!(export(ExportKind::Persons).rows.len(), 1);
    let encounters = export(ExportKind::Encounters);
    let column = encounters
        .header
        .iter()
        .position(|h| h == "persons")
        .unwrap();
    assert_eq!(encounters.rows.len(), 2);
    assert_eq!(encounters.rows[0][column], encounters.rows[1][column]);
    assert!(d.store.likely_duplicates().unwrap().is_empty());
    assert_eq!(
        d.store.duplicate_hints(Some("Kader"), None, None).unwrap()[0].id,
        keep
    );

    // The merged view: needs combined, the higher alert level, the more restrictive consent.
    let merged = d.store.merged_person(other).unwrap();
    assert_eq!(merged.id, keep);
    assert_eq!(merged.needs, vec!["food".to_string(), "health".to_string()]);
    assert_eq!(merged.alert_level.as_deref(), Some("very_vulnerable"));
    assert_eq!(merged.consent_share, Some(false));
    assert_eq!(merged.merged, vec![other]);
    assert!(merged.other_names.contains(&"Kader".to_string()));

    // One history, whichever record is asked; the merged record's own history stays readable.
    for asked in [keep, other] {
        let timeline = d.store.timeline(asked).unwrap();
        let encounters: Vec<RecordId> = timeline
            .iter()
            .filter_map(|e| match &e.item {
                TimelineItem::Encounter { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(encounters.len(), 2);
        assert!(encounters.contains(&met_keep) && encounters.contains(&met_other));
        assert!(timeline
            .iter()
            .any(|e| matches!(&e.item, TimelineItem::Action { id, .. } if *id == action)));
    }
    assert_eq!(d.store.person(other).unwrap().merged_into, Some(keep));
    // The right of access covers both records.
    let dossier = d.store.dossier(other, Via::Cli).unwrap();
    assert_eq!(dossier.person, keep);
    assert_eq!(dossier.merged.len(), 1);
    assert_eq!(dossier.merged[0].person, other);
    assert!(dossier.merged[0].actions.iter().any(|a| a.id == action));
    assert!(d.store.history(other).unwrap().len() >= 2);

    // Undone: two persons again, with their own records.
    d.store.unmerge_person(other).unwrap();
    assert_eq!(listed(&d.store, None).len(), 2);
    assert_eq!(persons_met(&d.store), 2);
    assert_eq!(
        d.store.merged_person(keep).unwrap().merged,
        Vec::<RecordId>::new()
    );
    assert_eq!(
        d.store.likely_duplicates().unwrap().len(),
        0,
        "no shared name"
    );
}

#[test]
fn a_merge_is_refused_when_it_means_nothing_and_is_never_written_as_a_plain_edit() {
    let d = device("Poste bureau", "Sophie");
    let (a, b, c) = (
        add(&d.store, "Lucie", None),
        add(&d.store, "Lucie", None),
        add(&d.store, "Luce", None),
    );
    let encounter = meet(&d.store, a, "rue Oberkampf");
    assert!(d.store.merge_persons(a, a).is_err());
    assert!(d.store.merge_persons(a, encounter).is_err());
    assert!(d.store.unmerge_person(b).is_err(), "not merged");
    d.store.merge_persons(a, b).unwrap();
    assert!(d.store.merge_persons(a, b).is_err(), "already merged");
    assert!(d.store.merge_persons(b, c).is_err(), "b is merged into a");
    // The register is written by merging only.
    assert!(d
        .store
        .edit(c, &[Edit::Set("merged_into".into(), Value::Ref(a))])
        .is_err());
    let mut now = listed(&d.store, None);
    now.sort();
    let mut expected = vec![a, c];
    expected.sort();
    assert_eq!(now, expected, "the refused merges wrote nothing");
}

#[test]
fn two_offline_merges_of_one_person_are_a_conflict_and_every_replica_resolves_them_the_same() {
    let (a, b) = (
        device("Poste bureau", "Sophie"),
        device("Poste antenne", "Malik"),
    );
    let p1 = add(&a.store, "Moussa", None);
    let p2 = add(&a.store, "Moussa", Some("Mouss"));
    let p3 = add(&a.store, "Moussa Diallo", None);
    send(&a.store, &b.store);
    a.store.merge_persons(p1, p3).unwrap();
    b.store.merge_persons(p2, p3).unwrap();
    // And two merges in opposite directions.
    a.store.merge_persons(p1, p2).unwrap();
    b.store.merge_persons(p2, p1).unwrap();
    send(&a.store, &b.store);
    send(&b.store, &a.store);

    for d in [&a, &b] {
        let conflicts = d.store.conflicts().unwrap();
        assert!(
            conflicts
                .iter()
                .any(|c| c.record_id == p3 && c.field == "merged_into"),
            "the two merges of p3 are a conflict to settle"
        );
    }
    // Every replica resolves every record to the same person, and lists it alone.
    let smallest = *[p1, p2].iter().min().unwrap();
    for d in [&a, &b] {
        for p in [p1, p2, p3] {
            assert_eq!(d.store.resolved_person(p).unwrap(), smallest);
        }
        assert_eq!(listed(&d.store, None), vec![smallest]);
        assert_eq!(d.store.person_group(p3).unwrap().len(), 3);
    }
    // Settling the conflict at the office is an edit like any other.
    a.store.resolve(p3, "merged_into", &p1.to_string()).unwrap();
    send(&a.store, &b.store);
    assert!(!b
        .store
        .conflicts()
        .unwrap()
        .iter()
        .any(|c| c.record_id == p3 && c.field == "merged_into"));
}

#[test]
fn what_a_phone_wrote_on_a_merged_record_after_the_merge_lands_on_the_person_it_was_merged_into() {
    let (office, phone) = (
        device("Poste bureau", "Sophie"),
        device("Téléphone maraude", "Amina"),
    );
    let keep = add(&office.store, "Nadia", None);
    let other = add(&office.store, "Nadia", Some("Nana"));
    set(
        &office.store,
        keep,
        "situation",
        Value::Code("street".into()),
    );
    send(&office.store, &phone.store);
    office.store.merge_persons(keep, other).unwrap();
    // The phone, offline, has not heard of the merge.
    set(
        &phone.store,
        other,
        "situation",
        Value::Code("emergency_shelter".into()),
    );
    set(
        &phone.store,
        other,
        "phone",
        Value::Text("06 00 00 00 00".into()),
    );
    let met = meet(&phone.store, other, "place de la République");
    send(&phone.store, &office.store);
    send(&office.store, &phone.store);

    for d in [&office, &phone] {
        let merged = d.store.merged_person(keep).unwrap();
        assert_eq!(merged.situation.as_deref(), Some("emergency_shelter"));
        assert_eq!(merged.phone.as_deref(), Some("06 00 00 00 00"));
        assert_eq!(listed(&d.store, None), vec![keep]);
        let summary = d
            .store
            .list_persons(&PersonQuery::default())
            .unwrap()
            .remove(0);
        assert!(
            summary.last_seen_at.is_some(),
            "met through the merged record"
        );
        assert!(d
            .store
            .timeline(keep)
            .unwrap()
            .iter()
            .any(|e| matches!(&e.item, TimelineItem::Encounter { id, .. } if *id == met)));
    }
}

#[test]
fn erasing_a_merged_person_erases_every_record_merged_into_them() {
    let d = device("Poste bureau", "Sophie");
    let keep = add(&d.store, "Jules", None);
    let other = add(&d.store, "Julot", None);
    meet(&d.store, other, "rue des Pyrénées");
    meet(&d.store, keep, "rue des Pyrénées");
    d.store.merge_persons(keep, other).unwrap();
    let erased = d
        .store
        .erase_person(keep, "demande de la personne", false)
        .unwrap();
    assert_eq!(erased.person, keep);
    assert_eq!(erased.encounters, 2);
    for id in [keep, other] {
        assert!(d.store.person(id).is_err(), "erased");
    }
    assert!(listed(&d.store, None).is_empty());
}
