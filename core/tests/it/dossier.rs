//! The person's dossier holds every item the store has about them, compared with what the
//! store's own queries return, and nothing about another person but what a shared encounter
//! says (how many others were met).

use std::collections::BTreeSet;

use allervers_core::export::{ExportKind, ExportOptions};
use allervers_core::{AccessQuery, Edit, NewAction, NewReferral, RecordId, Value, Via};

use crate::common::{device, meet, person, send};

#[test]
fn the_dossier_holds_everything_about_the_person_and_nothing_of_another() {
    let a = device("Poste bureau", "Sophie");
    let b = device("Téléphone B", "Julien");
    let p = person(&a.store, "Hélène");
    let other = person(&a.store, "Gaston");
    let alone = meet(&a.store, &[p], "Gare de l'Est");
    a.clock.advance_ms(60_000);
    let together = meet(&a.store, &[p, other], "Parvis de la mairie");
    meet(&a.store, &[other], "Rue des Envierges");
    let action = a
        .store
        .add_action(&NewAction {
            person: p,
            title: "Dossier de domiciliation".into(),
            category: "papers".into(),
            due_at: None,
            assigned_to: Some("Sophie".into()),
        })
        .unwrap();
    a.store
        .complete_action(action, Some("Pièces déposées au CCAS"))
        .unwrap();
    let referral = a
        .store
        .add_referral(&NewReferral {
            person: p,
            target: "siao_115".into(),
            target_name: Some("SIAO 75".into()),
            date: None,
            status: None,
            household: None,
        })
        .unwrap();
    a.store
        .update_referral(referral, Some("accepted"), Some("Place en CHRS"))
        .unwrap();
    // Edits from two stores, merged, one of them a conflict.
    send(&a.store, &b.store);
    a.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("squat".into()))],
        )
        .unwrap();
    b.store
        .edit(
            p,
            &[
                Edit::Set("situation".into(), Value::Code("car".into())),
                Edit::Set("description".into(), Value::Text("Bonnet rouge".into())),
                Edit::Set("consent_share".into(), Value::Bool(true)),
            ],
        )
        .unwrap();
    send(&b.store, &a.store);

    // Two exports: one whose period holds their encounters, one of another year.
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    a.store
        .export(
            ExportKind::Encounters,
            day(2026, 3, 1),
            day(2026, 3, 31),
            &ExportOptions::nominative(),
            Via::Cli,
        )
        .unwrap();
    a.store
        .export(
            ExportKind::Persons,
            day(2025, 1, 1),
            day(2025, 12, 31),
            &ExportOptions::pseudonymised(),
            Via::Cli,
        )
        .unwrap();

    let d = a.store.dossier(p, Via::Cli).unwrap();
    let json = serde_json::to_string(&d).unwrap();

    // The person's record: every field value, the conflict, the history, the timeline.
    let field = |name: &str| {
        d.identity
            .iter()
            .chain(&d.consent.fields)
            .find(|f| f.field == name)
            .unwrap_or_else(|| panic!("no field {name}"))
            .clone()
    };
    let stored = a.store.person(p).unwrap();
    assert_eq!(field("name").values[0].value, "Hélène");
    assert_eq!(field("name").label, "nom");
    assert_eq!(field("description").values[0].value, "Bonnet rouge");
    assert_eq!(
        field("situation").values[0].value,
        stored.situation.clone().unwrap()
    );
    let conflict: BTreeSet<_> = field("situation")
        .conflict
        .iter()
        .map(|v| v.label.clone().unwrap())
        .collect();
    assert_eq!(
        conflict,
        BTreeSet::from(["squat".to_string(), "véhicule".to_string()])
    );
    assert_eq!(
        field("consent_share").values[0].label.as_deref(),
        Some("oui")
    );
    assert_eq!(
        field("status").values[0].label.as_deref(),
        Some("file active")
    );
    assert_eq!(
        d.identity.len() + d.consent.fields.len(),
        allervers_core::Kind::Person.fields().len(),
        "every field of the record is there"
    );
    assert_eq!(d.history, a.store.history(p).unwrap());
    assert!(d
        .consent
        .history
        .iter()
        .any(|h| h.field == "consent_share" && h.author.worker.as_deref() == Some("Julien")));
    assert_eq!(d.timeline, a.store.timeline(p).unwrap());

    // Every encounter, action and referral about them, with its whole history.
    let ids: BTreeSet<RecordId> = d.encounters.iter().map(|e| e.id).collect();
    assert_eq!(ids, BTreeSet::from([alone, together]));
    assert_eq!(
        d.encounters
            .iter()
            .map(|e| (e.id, e.other_persons))
            .collect::<Vec<_>>(),
        vec![(alone, 0), (together, 1)]
    );
    let e = &d.encounters[0];
    assert_eq!(e.history, a.store.history(alone).unwrap());
    assert!(e
        .fields
        .iter()
        .any(|f| f.field == "place" && f.values[0].value == "Gare de l'Est"));
    assert_eq!(d.actions.len(), 1);
    assert_eq!(d.actions[0].id, action);
    assert_eq!(d.actions[0].history, a.store.history(action).unwrap());
    assert_eq!(
        d.actions[0].comments,
        a.store.action(action).unwrap().comments
    );
    assert_eq!(d.actions[0].comments[0].text, "Pièces déposées au CCAS");
    assert_eq!(d.referrals.len(), 1);
    assert_eq!(d.referrals[0].id, referral);
    assert_eq!(d.referrals[0].history, a.store.history(referral).unwrap());
    assert!(json.contains("Place en CHRS"));

    // Nothing about the other person: not their id, not their name; the shared encounter's
    // history is whole but for the entry that added them.
    assert!(!json.contains(&other.to_string()), "the other person's id");
    assert!(!json.contains("Gaston"), "the other person's name");
    let shared = &d.encounters[1];
    let full = a.store.history(together).unwrap();
    assert_eq!(shared.history.len(), full.len() - 1);
    assert!(
        !json.contains("Rue des Envierges"),
        "an encounter without them"
    );

    // Sharing: none yet, said in French; the dossier's own writing is in its access log.
    assert!(d.sharing.partners.is_empty());
    assert!(d.sharing.note.starts_with("Aucun partage"));
    // The month's export of encounters, and the bundles that carried the stores' changes (a
    // bundle holds everything, so every person's file).
    let kinds: Vec<_> = d
        .exports
        .iter()
        .map(|e| e.export_kind.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "encounters").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "bundle"), "{kinds:?}");
    assert!(
        kinds.iter().all(|k| k == "encounters" || k == "bundle"),
        "{kinds:?}"
    );
    assert_eq!(d.access_log.len(), 1);
    assert_eq!(d.access_log[0].what, "dossier");
    assert_eq!(
        a.store
            .access_log(&AccessQuery {
                person: Some(p),
                ..Default::default()
            })
            .unwrap(),
        d.access_log
    );
}
