//! The field app's screens, driven as a worker drives them: events in, view models out (the
//! texts, the order of the lists, what is offered), in French and in English.

use allervers_core::field::{Event, FieldApp, View};
use allervers_core::vocab::Lang;
use allervers_core::{Edit, NewAction, NewEncounter, NewPerson, PersonQuery, RecordId, Value};
use chrono::{Duration, NaiveDate};

use crate::common::{device, Device};

fn add(d: &Device, name: Option<&str>, nickname: Option<&str>) -> RecordId {
    d.clock.set(d.store.now() + Duration::minutes(1));
    d.store
        .add_person(&NewPerson {
            name: name.map(str::to_string),
            nickname: nickname.map(str::to_string),
            situation: Some("street".into()),
            ..Default::default()
        })
        .unwrap()
}

fn meet(d: &Device, person: RecordId, days_ago: i64) {
    d.store
        .log_encounter(&NewEncounter {
            occurred_at: Some(d.store.now() - Duration::days(days_ago)),
            persons: vec![person],
            place: Some("passage Brady".into()),
            ..Default::default()
        })
        .unwrap();
}

fn search(view: View) -> allervers_core::field::SearchView {
    match view {
        View::Search(v) => v,
        other => panic!("not the search screen: {other:?}"),
    }
}

/// Titles of the rows of a list.
fn titles(rows: &[allervers_core::field::PersonRow]) -> Vec<&str> {
    rows.iter().map(|r| r.title.as_str()).collect()
}

#[test]
fn a_worker_finds_a_person_as_they_type_sees_a_likely_duplicate_and_creates_from_the_text() {
    let d = device("Téléphone maraude", "Amina");
    let karim = add(&d, Some("Karim"), Some("Le Grand"));
    let zoe = add(&d, Some("Zoé"), None);
    add(&d, Some("Karima"), None);
    meet(&d, zoe, 1);
    meet(&d, karim, 3);
    let mut app = FieldApp::new(Lang::Fr);

    // Opening (a phone in no team, going on without one): everyone, the most recently met
    // first, labelled.
    let v = search(app.update(&d.store, Event::JoinLater));
    assert_eq!(v.title, "Trouver ou créer une personne");
    assert_eq!(v.followed, "3 personnes suivies");
    assert_eq!(titles(&v.rows), ["Zoé", "Karim", "Karima"]);
    assert_eq!(v.rows[1].detail, "Le Grand · rue");
    assert_eq!(v.rows[0].last_seen, "vu·e hier");
    assert_eq!(v.rows[1].last_seen, "vu·e il y a 3 jours");
    assert_eq!(v.rows[2].last_seen, "jamais rencontré·e");
    assert_eq!((v.create, v.empty), (None, None));

    // Typing: accents and case ignored; a name typed whole is a likely duplicate, shown apart.
    let v = search(app.update(&d.store, Event::Search { text: "KAR".into() }));
    assert_eq!(titles(&v.rows), ["Karim", "Karima"]);
    assert!(v.duplicates.is_empty());
    let v = search(app.update(
        &d.store,
        Event::Search {
            text: "karïm ".into(),
        },
    ));
    assert_eq!(titles(&v.duplicates), ["Karim"]);
    assert_eq!(v.duplicates[0].id, karim);
    assert_eq!(
        titles(&v.rows),
        ["Karima"],
        "found, but not a likely duplicate"
    );
    assert_eq!(v.create.as_ref().unwrap().label, "Créer « karïm »");
    let v = search(app.update(
        &d.store,
        Event::Search {
            text: "le grand".into(),
        },
    ));
    assert_eq!(titles(&v.duplicates), ["Karim"]);

    // Nobody matches: said, and creating is offered; created from the text as a nickname.
    let v = search(app.update(
        &d.store,
        Event::Search {
            text: "Le Rouquin".into(),
        },
    ));
    assert_eq!(v.empty.as_deref(), Some("Personne ne correspond."));
    let v = search(app.update(&d.store, Event::Create { as_nickname: true }));
    assert_eq!(
        titles(&v.duplicates),
        ["Le Rouquin"],
        "the new person, found by what was typed"
    );
    assert_eq!(v.problem, None);
    let created = d
        .store
        .list_persons(&PersonQuery {
            search: Some("rouquin".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].nickname.as_deref(), Some("Le Rouquin"));
    assert_eq!(created[0].name, None);

    // Creating from nothing is refused in one sentence, once.
    app.update(&d.store, Event::Search { text: "   ".into() });
    let v = search(app.update(&d.store, Event::Create { as_nickname: false }));
    assert_eq!(
        v.problem.as_deref(),
        Some("Tapez un nom ou un surnom avant de créer la personne.")
    );
    assert_eq!(search(app.view(&d.store)).problem, None);

    // The same screen in English.
    let mut en = FieldApp::new(Lang::En);
    let v = search(en.update(&d.store, Event::Search { text: "zoe".into() }));
    assert_eq!(v.title, "Find or add a person");
    assert_eq!(v.create.unwrap().label, "Add \u{201c}zoe\u{201d}");
    assert_eq!(v.duplicates[0].last_seen, "seen yesterday");
}

#[test]
fn the_to_see_again_screen_lists_follow_ups_then_alerts_then_persons_not_met_for_long() {
    let d = device("Téléphone maraude", "Amina");
    let (lucien, rose, yanis, hugo, ines) = (
        add(&d, Some("Lucien"), None),
        add(&d, Some("Rose"), None),
        add(&d, Some("Yanis"), None),
        add(&d, Some("Hugo"), None),
        add(&d, Some("Inès"), None),
    );
    d.store
        .add_action(&NewAction {
            person: rose,
            title: "Rendez-vous CCAS".into(),
            category: "papers".into(),
            due_at: NaiveDate::from_ymd_opt(2026, 3, 5),
            assigned_to: None,
        })
        .unwrap();
    d.store
        .edit(
            yanis,
            &[Edit::Set(
                "alert_level".into(),
                Value::Code("very_vulnerable".into()),
            )],
        )
        .unwrap();
    d.store
        .edit(
            ines,
            &[Edit::Set("alert_level".into(), Value::Code("none".into()))],
        )
        .unwrap();
    // Rose is also on the alert list: she is listed once, under her follow-up.
    d.store
        .edit(
            rose,
            &[Edit::Set("alert_level".into(), Value::Code("watch".into()))],
        )
        .unwrap();
    meet(&d, lucien, 40);
    meet(&d, hugo, 20);
    meet(&d, yanis, 2);
    meet(&d, ines, 1);
    meet(&d, rose, 1);

    let mut app = FieldApp::new(Lang::Fr);
    let v = match app.update(&d.store, Event::ShowSeeAgain) {
        View::SeeAgain(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(v.title, "À revoir");
    let sections: Vec<(&str, Vec<&str>)> = v
        .sections
        .iter()
        .map(|s| (s.title.as_str(), titles(&s.rows)))
        .collect();
    assert_eq!(
        sections,
        [
            ("Suivi à faire", vec!["Rose"]),
            ("Liste d'alerte", vec!["Yanis"]),
            ("Pas vu·es depuis 14 jours ou plus", vec!["Lucien", "Hugo"]),
        ]
    );
    assert_eq!(
        v.sections[0].rows[0].detail,
        "Rendez-vous CCAS (2026-03-05)"
    );
    assert_eq!(
        v.sections[1].rows[0].alert.as_deref(),
        Some("très vulnérable")
    );
    assert_eq!(v.empty, None);

    // The organisation's own number of days.
    let mut app = FieldApp::new(Lang::En).with_not_seen_days(30);
    let View::SeeAgain(v) = app.update(&d.store, Event::ShowSeeAgain) else {
        panic!("not the see-again screen")
    };
    assert_eq!(v.sections[2].title, "Not seen for 30 days or more");
    assert_eq!(titles(&v.sections[2].rows), ["Lucien"]);
    // Back to the search.
    assert!(matches!(
        app.update(&d.store, Event::ShowSearch),
        View::Search(_)
    ));
}

#[test]
fn nobody_to_see_again_is_said() {
    let d = device("Téléphone maraude", "Amina");
    let View::SeeAgain(v) = FieldApp::new(Lang::Fr).update(&d.store, Event::ShowSeeAgain) else {
        panic!("not the see-again screen")
    };
    assert!(v.sections.is_empty());
    assert_eq!(
        v.empty.as_deref(),
        Some("Personne à revoir pour l'instant.")
    );
}

fn encounter(view: View) -> allervers_core::field::EncounterView {
    match view {
        View::Encounter(v) => v,
        other => panic!("not the encounter form: {other:?}"),
    }
}

#[test]
fn an_encounter_is_logged_from_the_form_with_known_and_anonymous_people_and_one_tap_services() {
    let d = device("Téléphone maraude", "Amina");
    let karim = add(&d, Some("Karim"), None);
    let zoe = add(&d, Some("Zoé"), None);
    // The team gives blankets most, then drinks, at the car park and the station.
    for (services, place) in [
        (vec!["blanket", "drink"], "parking Villette"),
        (vec!["blanket"], "gare du Nord"),
        (vec!["blanket", "drink"], "parking Villette"),
    ] {
        d.clock.set(d.store.now() + Duration::minutes(10));
        d.store
            .log_encounter(&NewEncounter {
                persons: vec![zoe],
                services: services.into_iter().map(str::to_string).collect(),
                place: Some(place.into()),
                ..Default::default()
            })
            .unwrap();
    }
    let mut app = FieldApp::new(Lang::Fr);
    let v = encounter(app.update(
        &d.store,
        Event::NewEncounter {
            person: Some(karim),
        },
    ));
    assert_eq!(v.title, "Nouvelle rencontre");
    assert_eq!(
        v.persons
            .iter()
            .map(|p| p.title.as_str())
            .collect::<Vec<_>>(),
        ["Karim"]
    );
    let order: Vec<&str> = v.services.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(&order[..3], ["blanket", "drink", "food"], "most used first");
    assert_eq!(v.services[0].label, "couverture");
    assert_eq!(v.recent_places, ["parking Villette", "gare du Nord"]);
    assert_eq!(
        v.kinds.iter().find(|k| k.selected).unwrap().code,
        "follow_up"
    );
    assert!(v.can_save && !v.can_decrease);

    // Zoé is added from the form's search; two anonymous people counted, one taken back.
    let v = encounter(app.update(&d.store, Event::SearchPerson { text: "zo".into() }));
    assert_eq!(titles(&v.found), ["Zoé"]);
    let v = encounter(app.update(&d.store, Event::AddPerson { id: zoe }));
    assert!(v.found.is_empty() && v.search.is_empty());
    for delta in [1, 1, 1, -1, 5] {
        app.update(&d.store, Event::Anonymous { delta });
    }
    let v = encounter(app.update(
        &d.store,
        Event::ToggleService {
            code: "food".into(),
        },
    ));
    assert_eq!(v.anonymous, 3, "a step is one at a time");
    assert_eq!(v.anonymous_label, "3 personnes anonymes");
    assert!(
        v.services
            .iter()
            .find(|s| s.code == "food")
            .unwrap()
            .selected
    );
    app.update(
        &d.store,
        Event::ToggleService {
            code: "drink".into(),
        },
    );
    app.update(
        &d.store,
        Event::ToggleService {
            code: "drink".into(),
        },
    );
    app.update(
        &d.store,
        Event::Place {
            text: "gare du Nord".into(),
        },
    );
    app.update(
        &d.store,
        Event::Coordinates {
            latitude: 48.88,
            longitude: 2.355,
        },
    );
    app.update(
        &d.store,
        Event::Notes {
            text: "Karim tousse, à revoir".into(),
        },
    );
    let v = encounter(app.update(&d.store, Event::FollowUp { needed: true }));
    assert!(v.located && v.follow_up);

    // Saved: back to the search, said once; the encounter holds what the form said.
    let v = search(app.update(&d.store, Event::Save));
    assert_eq!(v.notice.as_deref(), Some("Rencontre enregistrée."));
    assert_eq!(search(app.view(&d.store)).notice, None);
    let logged: Vec<RecordId> = d
        .store
        .timeline(karim)
        .unwrap()
        .into_iter()
        .filter_map(|t| match t.item {
            allervers_core::TimelineItem::Encounter { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(logged.len(), 1);
    let e = d.store.encounter(logged[0]).unwrap();
    assert_eq!(e.persons, [karim, zoe]);
    assert_eq!(e.anonymous_count, 3);
    assert_eq!(e.services, ["food"]);
    assert_eq!(e.place.as_deref(), Some("gare du Nord"));
    assert_eq!((e.latitude, e.longitude), (Some(48.88), Some(2.355)));
    assert_eq!(e.notes.as_deref(), Some("Karim tousse, à revoir"));
    assert!(e.follow_up);
}

#[test]
fn an_encounter_that_names_nobody_and_counts_no_one_is_not_saved() {
    let d = device("Téléphone maraude", "Amina");
    let mut app = FieldApp::new(Lang::En);
    let v = encounter(app.update(&d.store, Event::NewEncounter { person: None }));
    assert!(!v.can_save);
    app.update(&d.store, Event::Anonymous { delta: -1 });
    let v = encounter(app.update(&d.store, Event::Save));
    assert_eq!(
        v.problem.as_deref(),
        Some("Add a person or count the anonymous people before saving.")
    );
    assert_eq!(v.anonymous, 0);
    // Coordinates out of range are not kept.
    let v = encounter(app.update(
        &d.store,
        Event::Coordinates {
            latitude: 123.0,
            longitude: 2.0,
        },
    ));
    assert!(!v.located);
    let v = encounter(app.update(&d.store, Event::Anonymous { delta: 1 }));
    assert_eq!(v.anonymous_label, "1 anonymous person");
    assert!(matches!(app.update(&d.store, Event::Save), View::Search(_)));
    // Leaving the form drops it.
    app.update(&d.store, Event::NewEncounter { person: None });
    app.update(&d.store, Event::Anonymous { delta: 1 });
    app.update(&d.store, Event::ShowSearch);
    let v = encounter(app.update(&d.store, Event::NewEncounter { person: None }));
    assert_eq!(v.anonymous, 0);
}

#[test]
fn a_persons_screen_says_who_they_are_what_is_to_do_what_to_settle_and_their_history_in_words() {
    let d = device("Téléphone maraude", "Amina");
    let karim = add(&d, Some("Karim"), Some("le Grand"));
    d.store
        .edit(
            karim,
            &[
                Edit::Add("needs".into(), Value::Code("health".into())),
                Edit::Set("alert_level".into(), Value::Code("watch".into())),
            ],
        )
        .unwrap();
    d.store
        .add_action(&NewAction {
            person: karim,
            title: "Renouveler la domiciliation".into(),
            category: "papers".into(),
            due_at: NaiveDate::from_ymd_opt(2026, 3, 1),
            assigned_to: None,
        })
        .unwrap();
    d.clock.set(d.store.now() + Duration::hours(1));
    d.store
        .log_encounter(&NewEncounter {
            persons: vec![karim],
            place: Some("square Villemin".into()),
            services: vec!["drink".into()],
            anonymous_count: 2,
            ..Default::default()
        })
        .unwrap();
    let mut app = FieldApp::new(Lang::Fr);
    let View::Person(v) = app.update(&d.store, Event::OpenPerson { id: karim }) else {
        panic!("not the person's screen")
    };
    assert_eq!(
        (v.title.as_str(), v.subtitle.as_str()),
        ("Karim", "le Grand")
    );
    let facts: Vec<(&str, &str)> = v
        .facts
        .iter()
        .map(|f| (f.label.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        facts,
        [
            ("Situation", "rue"),
            ("Besoins", "santé"),
            ("Alerte", "à surveiller")
        ]
    );
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].title, "Renouveler la domiciliation");
    assert!(v.actions[0].overdue, "due 2026-03-01, today is 2026-03-02");
    assert!(v.conflicts.is_empty());
    let latest = &v.timeline[0];
    assert_eq!(latest.what, "Rencontre");
    assert_eq!(
        latest.detail,
        "square Villemin · boisson · 2 personnes anonymes"
    );
    assert_eq!(latest.who, "Amina (Téléphone maraude)");
    assert!(v.timeline.iter().any(|r| r.what == "Suivi"));
    // The reading is in the access log.
    let log = d
        .store
        .access_log(&allervers_core::AccessQuery {
            person: Some(karim),
            ..Default::default()
        })
        .unwrap();
    assert!(
        log.iter().any(|e| e.via == "app" && e.what == "timeline"),
        "{log:?}"
    );
    // The encounter form opens with Karim met.
    let View::Encounter(form) = app.update(&d.store, Event::NewEncounter { person: Some(v.id) })
    else {
        panic!("not the encounter form")
    };
    assert_eq!(form.persons[0].title, "Karim");
    // A person who does not exist (erased since, say) brings back the search, with a problem.
    let gone: RecordId = "0190f0c2-0000-7000-8000-000000000000".parse().unwrap();
    let View::Search(back) = app.update(&d.store, Event::OpenPerson { id: gone }) else {
        panic!("not the search screen")
    };
    assert!(back.problem.is_some());
}

#[test]
fn what_changes_in_the_street_is_edited_from_the_persons_screen_one_change_each() {
    use allervers_core::field::StreetEdit;
    let d = device("Téléphone maraude", "Amina");
    let lucie = add(&d, Some("Lucie"), None);
    let mut app = FieldApp::new(Lang::Fr);
    let View::Person(v) = app.update(&d.store, Event::OpenPerson { id: lucie }) else {
        panic!("not the person's screen")
    };
    let selected = |choices: &[allervers_core::field::Choice]| -> Vec<String> {
        choices
            .iter()
            .filter(|c| c.selected)
            .map(|c| c.code.clone())
            .collect()
    };
    assert_eq!(selected(&v.situations), ["street"]);
    assert!(selected(&v.needs).is_empty());
    let edits = [
        StreetEdit::Situation("emergency_shelter".into()),
        StreetEdit::Need("health".into()),
        StreetEdit::Need("food".into()),
        StreetEdit::Need("health".into()),
        StreetEdit::Alert("very_vulnerable".into()),
        StreetEdit::Description("  parka rouge, chien noir ".into()),
        StreetEdit::Phone("06 11 22 33 44".into()),
        StreetEdit::Phone(" ".into()),
        StreetEdit::ConsentRecord(true),
    ];
    let mut last = None;
    for edit in edits {
        last = Some(app.update(&d.store, Event::EditPerson { edit }));
    }
    let Some(View::Person(v)) = last else {
        panic!("not the person's screen")
    };
    assert_eq!(selected(&v.situations), ["emergency_shelter"]);
    assert_eq!(selected(&v.needs), ["food"], "health added, then taken off");
    assert_eq!(selected(&v.alerts), ["very_vulnerable"]);
    assert_eq!(v.description, "parka rouge, chien noir");
    assert_eq!(v.phone, "", "an empty phone clears it");
    assert_eq!(v.consent_record, Some(true));
    assert_eq!(v.problem, None);
    let p = d.store.person(lucie).unwrap();
    assert_eq!(p.situation.as_deref(), Some("emergency_shelter"));
    assert_eq!(p.phone, None);
    // Each choice is a change of its own in the timeline, said in words.
    assert!(v
        .timeline
        .iter()
        .any(|r| r.what == "Situation" && r.detail == "hébergement d'urgence"));
    // A code the list does not hold is refused in one sentence; nothing is written.
    let View::Person(v) = app.update(
        &d.store,
        Event::EditPerson {
            edit: StreetEdit::Alert("Zz Inconnu!".into()),
        },
    ) else {
        panic!("not the person's screen")
    };
    assert!(
        v.problem
            .as_deref()
            .unwrap_or_default()
            .contains("alert_level"),
        "{:?}",
        v.problem
    );
    assert_eq!(selected(&v.alerts), ["very_vulnerable"]);
}

/// The label fields of every screen, by screen and field name, as the view gives them.
fn labels(
    app: &mut FieldApp,
    d: &Device,
    person: RecordId,
) -> Vec<(&'static str, &'static str, String)> {
    let mut got = Vec::new();
    let View::Search(s) = app.update(&d.store, Event::ShowSearch) else {
        panic!("not the search screen")
    };
    got.push(("search", "see_again_label", s.see_again_label));
    got.push(("search", "new_encounter_label", s.new_encounter_label));
    let View::SeeAgain(s) = app.update(&d.store, Event::ShowSeeAgain) else {
        panic!("not the see-again screen")
    };
    got.push(("see_again", "back_label", s.back_label));
    let e = encounter(app.update(&d.store, Event::NewEncounter { person: None }));
    got.extend([
        ("encounter", "back_label", e.back_label),
        ("encounter", "save_label", e.save_label),
        ("encounter", "fewer_label", e.fewer_label),
        ("encounter", "more_label", e.more_label),
        ("encounter", "remove_label", e.remove_label),
        ("encounter", "search_label", e.search_label),
        ("encounter", "services_label", e.services_label),
        ("encounter", "place_label", e.place_label),
        ("encounter", "kind_label", e.kind_label),
        ("encounter", "notes_label", e.notes_label),
        ("encounter", "follow_up_label", e.follow_up_label),
    ]);
    let View::Person(p) = app.update(&d.store, Event::OpenPerson { id: person }) else {
        panic!("not the person's screen")
    };
    got.extend([
        ("person", "back_label", p.back_label),
        ("person", "new_encounter_label", p.new_encounter_label),
        ("person", "situations_label", p.situations_label),
        ("person", "needs_label", p.needs_label),
        ("person", "alerts_label", p.alerts_label),
        ("person", "overdue_label", p.overdue_label),
        ("person", "clock_off_label", p.clock_off_label),
    ]);
    let View::Sync(s) = app.update(&d.store, Event::ShowSync) else {
        panic!("not the sync screen")
    };
    got.push(("sync", "back_label", s.back_label));
    let View::Workers(w) = app.update(&d.store, Event::ShowWorkers) else {
        panic!("not the workers' screen")
    };
    got.push(("workers", "back_label", w.back_label));
    got
}

#[test]
fn every_control_the_shells_show_or_read_aloud_is_labelled_by_the_core_in_french_and_english() {
    let d = device("Téléphone maraude", "Amina");
    let rose = add(&d, Some("Rose"), None);
    // (screen, field, French, English)
    let expected = [
        ("search", "see_again_label", "À revoir", "To see again"),
        (
            "search",
            "new_encounter_label",
            "Nouvelle rencontre",
            "New encounter",
        ),
        ("see_again", "back_label", "Retour", "Back"),
        ("encounter", "back_label", "Retour", "Back"),
        ("encounter", "save_label", "Enregistrer", "Save"),
        (
            "encounter",
            "fewer_label",
            "Une personne anonyme de moins",
            "One anonymous person fewer",
        ),
        (
            "encounter",
            "more_label",
            "Une personne anonyme de plus",
            "One more anonymous person",
        ),
        ("encounter", "remove_label", "Retirer", "Remove"),
        (
            "encounter",
            "search_label",
            "Ajouter une personne rencontrée",
            "Add a person met",
        ),
        ("encounter", "services_label", "Prestations", "Services"),
        ("encounter", "place_label", "Lieu", "Place"),
        (
            "encounter",
            "kind_label",
            "Type de rencontre",
            "Kind of encounter",
        ),
        ("encounter", "notes_label", "Notes", "Notes"),
        (
            "encounter",
            "follow_up_label",
            "Suivi à prévoir",
            "Follow-up needed",
        ),
        ("person", "back_label", "Retour", "Back"),
        (
            "person",
            "new_encounter_label",
            "Nouvelle rencontre",
            "New encounter",
        ),
        ("person", "situations_label", "Situation", "Situation"),
        ("person", "needs_label", "Besoins", "Needs"),
        ("person", "alerts_label", "Alerte", "Alert"),
        ("person", "overdue_label", "en retard", "overdue"),
        (
            "person",
            "clock_off_label",
            "heure douteuse",
            "doubtful time",
        ),
        ("sync", "back_label", "Retour", "Back"),
        ("workers", "back_label", "Retour", "Back"),
    ];
    for lang in [Lang::Fr, Lang::En] {
        let mut app = FieldApp::new(lang);
        app.update(&d.store, Event::JoinLater);
        let got = labels(&mut app, &d, rose);
        let want: Vec<(&str, &str, String)> = expected
            .iter()
            .map(|&(screen, field, fr, en)| {
                let text = if lang == Lang::Fr { fr } else { en };
                (screen, field, text.to_string())
            })
            .collect();
        assert_eq!(got, want, "{lang:?}");
    }
}

#[test]
fn an_overdue_follow_up_says_so_in_words_on_the_to_see_again_screen() {
    let d = device("Téléphone maraude", "Amina");
    let (rose, hugo) = (add(&d, Some("Rose"), None), add(&d, Some("Hugo"), None));
    // Today is 2026-03-02: Rose's follow-up was due the day before, Hugo's is due today.
    for (person, title, day) in [(rose, "Rendez-vous CCAS", 1), (hugo, "Dossier CMU", 2)] {
        d.store
            .add_action(&NewAction {
                person,
                title: title.into(),
                category: "papers".into(),
                due_at: NaiveDate::from_ymd_opt(2026, 3, day),
                assigned_to: None,
            })
            .unwrap();
    }
    for (lang, overdue, due_today) in [
        (
            Lang::Fr,
            "Rendez-vous CCAS (2026-03-01, en retard)",
            "Dossier CMU (2026-03-02)",
        ),
        (
            Lang::En,
            "Rendez-vous CCAS (2026-03-01, overdue)",
            "Dossier CMU (2026-03-02)",
        ),
    ] {
        let View::SeeAgain(v) = FieldApp::new(lang).update(&d.store, Event::ShowSeeAgain) else {
            panic!("not the see-again screen")
        };
        // The earliest due first, the overdue one said so.
        let rows: Vec<(&str, &str)> = v.sections[0]
            .rows
            .iter()
            .map(|r| (r.title.as_str(), r.detail.as_str()))
            .collect();
        assert_eq!(rows, [("Rose", overdue), ("Hugo", due_today)], "{lang:?}");
    }
}

#[test]
fn saving_the_encounter_form_brings_back_the_whole_list_with_the_person_just_met_first() {
    let d = device("Téléphone maraude", "Amina");
    let karim = add(&d, Some("Karim"), None);
    let zoe = add(&d, Some("Zoé"), None);
    meet(&d, zoe, 1);
    let mut app = FieldApp::new(Lang::Fr);
    app.update(&d.store, Event::JoinLater);
    let found = search(app.update(&d.store, Event::Search { text: "kar".into() }));
    assert_eq!(titles(&found.rows), ["Karim"]);
    app.update(
        &d.store,
        Event::NewEncounter {
            person: Some(karim),
        },
    );
    let saved = search(app.update(&d.store, Event::Save));
    assert_eq!(saved.query, "");
    assert_eq!(titles(&saved.rows), ["Karim", "Zoé"]);
    assert_eq!(saved.followed, "2 personnes suivies");
    assert_eq!(saved.notice.as_deref(), Some("Rencontre enregistrée."));
    // A person created from the search is counted at once.
    app.update(
        &d.store,
        Event::Search {
            text: "Inès".into(),
        },
    );
    app.update(&d.store, Event::Create { as_nickname: false });
    let back = search(app.update(&d.store, Event::Search { text: "".into() }));
    assert_eq!(back.followed, "3 personnes suivies");
}
