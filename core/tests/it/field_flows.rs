//! The person screen's flows (a follow-up or a referral added, a follow-up marked done with a
//! comment, a refused day or code) and the form's draft kept in the store: event sequences in,
//! view models out, and what the store holds afterwards.

use allervers_core::field::{Event, FieldApp, PersonView, View};
use allervers_core::vocab::Lang;
use allervers_core::{NewAction, NewPerson, RecordId, Store, StoreOptions};
use chrono::NaiveDate;

use crate::common::{device, Device};

fn lucie(d: &Device) -> RecordId {
    d.store
        .add_person(&NewPerson {
            name: Some("Lucie".into()),
            nickname: Some("la Brodeuse".into()),
            situation: Some("street".into()),
            ..Default::default()
        })
        .unwrap()
}

fn person(view: View) -> PersonView {
    match view {
        View::Person(v) => v,
        other => panic!("not a person's screen: {other:?}"),
    }
}

/// Opens `id`'s screen, sends `events` and returns the last view.
fn run(d: &Device, app: &mut FieldApp, id: RecordId, events: Vec<Event>) -> View {
    let mut last = app.update(&d.store, Event::OpenPerson { id });
    for event in events {
        last = app.update(&d.store, event);
    }
    last
}

fn text(s: &str) -> String {
    s.to_string()
}

#[test]
fn a_follow_up_typed_on_a_persons_screen_is_added_and_listed_with_its_due_day() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let mut app = FieldApp::new(Lang::Fr);
    let v = person(run(&d, &mut app, id, vec![]));
    let form = &v.action_form;
    assert_eq!(form.heading, "Nouveau suivi");
    assert!(!form.can_add && !form.can_clear);
    // The categories of the list, labelled, in the list's order, none picked.
    let labels: Vec<&str> = form.categories.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "demande de logement",
            "orientation SIAO / 115",
            "rendez-vous santé",
            "papiers",
            "droits et prestations",
            "autre"
        ]
    );
    assert!(form.categories.iter().all(|c| !c.selected));

    // What enables the button, step by step.
    let steps = [
        (
            Event::ActionTitle {
                text: text("Rendez-vous CCAS"),
            },
            false,
        ),
        (
            Event::ActionCategory {
                code: text("papers"),
            },
            true,
        ),
        (
            Event::ActionDue {
                text: text("2026-03-12"),
            },
            true,
        ),
    ];
    for (event, can_add) in steps {
        let v = person(app.update(&d.store, event));
        assert_eq!(v.action_form.can_add, can_add, "{:?}", v.action_form);
        assert!(v.action_form.can_clear);
    }
    let v = person(app.update(&d.store, Event::AddAction));
    assert_eq!(v.problem, None);
    let open: Vec<(&str, Option<&str>, bool)> = v
        .actions
        .iter()
        .map(|a| (a.title.as_str(), a.due.as_deref(), a.overdue))
        .collect();
    assert_eq!(open, [("Rendez-vous CCAS", Some("2026-03-12"), false)]);
    assert_eq!(v.done, "Fait");
    // The form is emptied once the follow-up is written.
    assert_eq!(
        (v.action_form.title.as_str(), v.action_form.due.as_str()),
        ("", "")
    );
    assert!(!v.action_form.can_add);
    let written = d.store.action(v.actions[0].id).unwrap();
    assert_eq!(written.person, Some(id));
    assert_eq!(written.category.as_deref(), Some("papers"));
    assert_eq!(written.due_at, NaiveDate::from_ymd_opt(2026, 3, 12));

    // The same form in English.
    let mut en = FieldApp::new(Lang::En);
    let v = person(run(&d, &mut en, id, vec![]));
    assert_eq!(v.action_form.add, "Add the follow-up");
    assert_eq!(v.action_form.categories[3].label, "papers");
}

#[test]
fn a_follow_up_marked_done_with_a_comment_leaves_the_open_list() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let add = |title: &str| {
        d.store
            .add_action(&NewAction {
                person: id,
                title: title.into(),
                category: "health_appointment".into(),
                due_at: None,
                assigned_to: None,
            })
            .unwrap()
    };
    let (dentist, papers) = (add("Dentiste à la PASS"), add("Carte d'identité"));
    let mut app = FieldApp::new(Lang::Fr);
    let v = person(run(
        &d,
        &mut app,
        id,
        vec![Event::CompleteAction {
            id: dentist,
            comment: text("  rendez-vous pris le 10 mars "),
        }],
    ));
    assert_eq!(v.problem, None);
    let open: Vec<RecordId> = v.actions.iter().map(|a| a.id).collect();
    assert_eq!(open, [papers]);
    let done = d.store.action(dentist).unwrap();
    assert_eq!(done.status.as_deref(), Some("done"));
    let comments: Vec<&str> = done.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(comments, ["rendez-vous pris le 10 mars"]);
    assert_eq!(done.comments[0].by, "Amina");

    // Without a comment, no comment is written.
    let v = person(app.update(
        &d.store,
        Event::CompleteAction {
            id: papers,
            comment: text(" "),
        },
    ));
    assert!(v.actions.is_empty());
    assert!(d.store.action(papers).unwrap().comments.is_empty());

    // A second tap on "done" (the list not refreshed yet) writes nothing more.
    let changes = d.store.pending_changes().unwrap();
    let v = person(app.update(
        &d.store,
        Event::CompleteAction {
            id: dentist,
            comment: text("encore"),
        },
    ));
    assert_eq!(
        v.problem.as_deref(),
        Some("Ce suivi n'est plus à faire : rien n'a été changé.")
    );
    assert_eq!(d.store.pending_changes().unwrap(), changes);
    assert_eq!(d.store.action(dentist).unwrap().comments.len(), 1);

    // Another person's follow-up is not marked done from this screen.
    let other = crate::common::person(&d.store, "Bastien");
    let theirs = d
        .store
        .add_action(&NewAction {
            person: other,
            title: "Domiciliation".into(),
            category: "papers".into(),
            due_at: None,
            assigned_to: None,
        })
        .unwrap();
    let v = person(app.update(
        &d.store,
        Event::CompleteAction {
            id: theirs,
            comment: String::new(),
        },
    ));
    assert_eq!(
        v.problem.as_deref(),
        Some("Ce suivi n'est pas l'un de ceux de cette personne.")
    );
    assert_eq!(
        d.store.action(theirs).unwrap().status.as_deref(),
        Some("todo")
    );
}

#[test]
fn a_referral_typed_on_a_persons_screen_is_added_and_listed_labelled() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let mut app = FieldApp::new(Lang::Fr);
    let v = person(run(
        &d,
        &mut app,
        id,
        vec![
            Event::ReferralTarget {
                code: text("pass_health"),
            },
            Event::ReferralName {
                text: text(" PASS de l'hôpital Saint-Louis "),
            },
            Event::ReferralDate {
                text: text("2026-02-27"),
            },
        ],
    ));
    let picked: Vec<&str> = v
        .referral_form
        .targets
        .iter()
        .filter(|c| c.selected)
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(picked, ["PASS (santé)"]);
    assert_eq!(
        v.referral_form.targets[0].label, "SIAO / 115",
        "the list's order"
    );
    assert!(v.referral_form.can_add);
    let v = person(app.update(&d.store, Event::AddReferral));
    assert_eq!(v.problem, None);
    assert_eq!(v.referrals_title, "Orientations");
    let rows: Vec<(&str, Option<&str>, Option<&str>, &str)> = v
        .referrals
        .iter()
        .map(|r| {
            (
                r.target.as_str(),
                r.target_name.as_deref(),
                r.date.as_deref(),
                r.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(
            "PASS (santé)",
            Some("PASS de l'hôpital Saint-Louis"),
            Some("2026-02-27"),
            "envoyée"
        )]
    );
    assert!(!v.referral_form.can_add, "the form is emptied");

    // A referral with no day typed is dated today, and listed first.
    let v = person(app.update(
        &d.store,
        Event::ReferralTarget {
            code: text("siao_115"),
        },
    ));
    assert_eq!(v.referral_form.date, "");
    let v = person(app.update(&d.store, Event::AddReferral));
    let days: Vec<Option<&str>> = v.referrals.iter().map(|r| r.date.as_deref()).collect();
    assert_eq!(days, [Some("2026-03-02"), Some("2026-02-27")]);
    assert_eq!(v.referrals[0].target_name, None);
}

#[test]
fn a_refused_day_or_code_is_one_sentence_and_nothing_is_written() {
    let cases: Vec<(&str, Vec<Event>, &str)> = vec![
        (
            "a due day typed the French way",
            vec![
                Event::ActionTitle {
                    text: text("Rendez-vous CCAS"),
                },
                Event::ActionCategory {
                    code: text("papers"),
                },
                Event::ActionDue {
                    text: text("12/03/2026"),
                },
                Event::AddAction,
            ],
            "L'échéance doit être une date AAAA-MM-JJ entre 1900 et dans dix ans.",
        ),
        (
            "a due day more than ten years ahead",
            vec![
                Event::ActionTitle {
                    text: text("Rendez-vous CCAS"),
                },
                Event::ActionCategory {
                    code: text("papers"),
                },
                Event::ActionDue {
                    text: text("2041-01-01"),
                },
                Event::AddAction,
            ],
            "L'échéance doit être une date AAAA-MM-JJ entre 1900 et dans dix ans.",
        ),
        (
            "a day that does not exist",
            vec![
                Event::ReferralTarget { code: text("chrs") },
                Event::ReferralDate {
                    text: text("2026-02-30"),
                },
                Event::AddReferral,
            ],
            "La date de l'orientation doit être une date AAAA-MM-JJ entre 1900 et demain.",
        ),
        (
            "a referral dated next week",
            vec![
                Event::ReferralTarget { code: text("chrs") },
                Event::ReferralDate {
                    text: text("2026-03-09"),
                },
                Event::AddReferral,
            ],
            "La date de l'orientation doit être une date AAAA-MM-JJ entre 1900 et demain.",
        ),
        (
            "a category the list does not hold",
            vec![
                Event::ActionTitle {
                    text: text("Rendez-vous CCAS"),
                },
                Event::ActionCategory {
                    code: text("zz_inconnu"),
                },
                Event::AddAction,
            ],
            "Ce choix n'est pas dans la liste : choisissez-en un autre.",
        ),
        (
            "a target the list does not hold",
            vec![
                Event::ReferralTarget {
                    code: text("zz_inconnu"),
                },
                Event::AddReferral,
            ],
            "Ce choix n'est pas dans la liste : choisissez-en un autre.",
        ),
        (
            "a follow-up with no title",
            vec![
                Event::ActionTitle { text: text("   ") },
                Event::ActionCategory {
                    code: text("papers"),
                },
                Event::AddAction,
            ],
            "Tapez un intitulé et choisissez une catégorie avant d'ajouter le suivi.",
        ),
        (
            "a referral to nowhere",
            vec![
                Event::ReferralName {
                    text: text("Accueil Goutte d'Or"),
                },
                Event::AddReferral,
            ],
            "Choisissez vers où orienter avant d'ajouter l'orientation.",
        ),
    ];
    for (case, events, sentence) in cases {
        let d = device("Téléphone maraude", "Amina");
        let id = lucie(&d);
        let mut app = FieldApp::new(Lang::Fr);
        app.update(&d.store, Event::OpenPerson { id });
        let changes = d.store.pending_changes().unwrap();
        let v = person(run(&d, &mut app, id, events));
        assert_eq!(v.problem.as_deref(), Some(sentence), "{case}");
        assert_eq!(
            d.store.pending_changes().unwrap(),
            changes,
            "{case}: nothing written"
        );
        assert!(v.actions.is_empty() && v.referrals.is_empty(), "{case}");
        // What was typed stays, to be corrected.
        assert!(
            v.action_form.can_clear || v.referral_form.can_clear,
            "{case}"
        );
        // Said once.
        assert_eq!(person(app.view(&d.store)).problem, None, "{case}");
    }
}

fn reopened(d: &Device) -> Store {
    Store::open_with(&d.path, &d.key, StoreOptions::with_clock(d.clock.clone())).unwrap()
}

#[test]
fn an_encounter_form_typed_halfway_survives_the_app_being_killed_and_is_gone_once_saved() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    {
        let mut app = FieldApp::new(Lang::Fr);
        app.update(&d.store, Event::Start);
        for event in [
            Event::NewEncounter { person: Some(id) },
            Event::Anonymous { delta: 1 },
            Event::ToggleService {
                code: text("drink"),
            },
            Event::Place {
                text: text("square Villemin"),
            },
            Event::Notes {
                text: text("Lucie demande une couverture"),
            },
        ] {
            app.update(&d.store, event);
        }
        // The app is killed here: nothing more is sent.
    }
    let store = reopened(&d);
    let mut app = FieldApp::new(Lang::Fr);
    let View::Encounter(form) = app.update(&store, Event::Start) else {
        panic!("the encounter form is not back")
    };
    assert_eq!(form.persons[0].id, id);
    assert_eq!(form.anonymous, 1);
    assert_eq!(form.place, "square Villemin");
    assert_eq!(form.notes, "Lucie demande une couverture");
    let services: Vec<&str> = form
        .services
        .iter()
        .filter(|s| s.selected)
        .map(|s| s.code.as_str())
        .collect();
    assert_eq!(services, ["drink"]);

    // Saved: the draft is gone, and the next start is the first screen (joining a team, for
    // this phone in none).
    assert!(matches!(app.update(&store, Event::Save), View::Search(_)));
    assert_eq!(store.draft("field").unwrap(), None);
    let mut next = FieldApp::new(Lang::Fr);
    assert!(matches!(next.update(&store, Event::Start), View::Join(_)));

    // A form left for the search is dropped as well.
    next.update(&store, Event::NewEncounter { person: None });
    next.update(&store, Event::Anonymous { delta: 1 });
    assert!(store.draft("field").unwrap().is_some());
    next.update(&store, Event::ShowSearch);
    assert_eq!(store.draft("field").unwrap(), None);
}

#[test]
fn a_follow_up_and_a_referral_typed_halfway_come_back_on_the_persons_screen() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let mut app = FieldApp::new(Lang::Fr);
    run(
        &d,
        &mut app,
        id,
        vec![
            Event::ActionTitle {
                text: text("Renouveler la domiciliation"),
            },
            Event::ActionDue {
                text: text("2026-04"),
            },
            Event::ReferralTarget {
                code: text("day_centre"),
            },
        ],
    );
    drop(app);
    let store = reopened(&d);
    let mut app = FieldApp::new(Lang::Fr);
    let v = person(app.update(&store, Event::Start));
    assert_eq!(v.id, id);
    assert_eq!(v.action_form.title, "Renouveler la domiciliation");
    assert_eq!(v.action_form.due, "2026-04");
    assert!(v
        .referral_form
        .targets
        .iter()
        .any(|c| c.selected && c.code == "day_centre"));

    // The follow-up added: the referral still kept; then the referral cleared: nothing kept.
    app.update(
        &store,
        Event::ActionCategory {
            code: text("papers"),
        },
    );
    app.update(
        &store,
        Event::ActionDue {
            text: text("2026-04-15"),
        },
    );
    let v = person(app.update(&store, Event::AddAction));
    assert_eq!(v.problem, None);
    assert_eq!(v.actions.len(), 1);
    let v = person(FieldApp::new(Lang::Fr).update(&store, Event::Start));
    assert_eq!(v.action_form.title, "");
    assert!(v.referral_form.can_add);
    app.update(&store, Event::ClearReferral);
    assert_eq!(store.draft("field").unwrap(), None);
    assert!(matches!(
        FieldApp::new(Lang::Fr).update(&store, Event::Start),
        View::Join(_)
    ));
}

#[test]
fn a_draft_that_cannot_be_read_back_is_dropped_with_a_notice_and_the_form_is_empty() {
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        (
            "cut short",
            br#"{"version":1,"form":{"encounter":{"persons":["#.to_vec(),
        ),
        ("not text", vec![0xff, 0xfe, 0x00, 0x9c]),
        (
            "an older shape",
            br#"{"version":0,"form":{"encounter":{"anonymous":2}}}"#.to_vec(),
        ),
        (
            "a form this build does not know",
            br#"{"version":1,"form":{"observation":{}}}"#.to_vec(),
        ),
        (
            "a wrong type",
            br#"{"version":1,"form":{"person":{"person":7}}}"#.to_vec(),
        ),
    ];
    for (case, bytes) in damaged {
        let d = device("Téléphone maraude", "Amina");
        d.store.save_draft("field", &bytes).unwrap();
        let mut app = FieldApp::new(Lang::Fr);
        // This phone is in no team: the join screen first, then the search says it.
        assert!(
            matches!(app.update(&d.store, Event::Start), View::Join(_)),
            "{case}"
        );
        let View::Search(v) = app.update(&d.store, Event::JoinLater) else {
            panic!("{case}: not the search screen")
        };
        assert_eq!(
            v.notice.as_deref(),
            Some("Le formulaire en cours n'a pas pu être relu : il a été effacé."),
            "{case}"
        );
        assert_eq!(v.problem, None, "{case}");
        assert_eq!(d.store.draft("field").unwrap(), None, "{case}");
        let View::Encounter(form) = app.update(&d.store, Event::NewEncounter { person: None })
        else {
            panic!("{case}: not the encounter form")
        };
        assert!(form.persons.is_empty() && form.anonymous == 0 && form.notes.is_empty());
    }
}

#[test]
fn a_draft_naming_a_person_no_longer_there_brings_back_the_search() {
    let d = device("Téléphone maraude", "Amina");
    let gone = "0190f0c2-0000-7000-8000-000000000000";
    let bytes = format!(
        r#"{{"version":1,"form":{{"person":{{"person":"{gone}","action":{{"title":"x","category":"","due":""}},"referral":{{"target":"","target_name":"","date":""}}}}}}}}"#
    );
    d.store.save_draft("field", bytes.as_bytes()).unwrap();
    let mut app = FieldApp::new(Lang::Fr);
    let View::Search(v) = app.update(&d.store, Event::Start) else {
        panic!("not the search screen")
    };
    assert!(v.problem.is_some());
    assert_eq!(d.store.draft("field").unwrap(), None);
}

#[test]
fn a_persons_screen_logs_its_reading_once_when_it_comes_up_not_at_each_keystroke() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let readings = || {
        d.store
            .access_log(&allervers_core::AccessQuery {
                person: Some(id),
                ..Default::default()
            })
            .unwrap()
            .iter()
            .filter(|e| e.via == "app" && e.what == "timeline")
            .count()
    };
    let mut app = FieldApp::new(Lang::Fr);
    let typing = "Rendez-vous"
        .char_indices()
        .map(|(i, c)| Event::ActionTitle {
            text: format!("{}{c}", &"Rendez-vous"[..i]),
        })
        .collect();
    let v = person(run(&d, &mut app, id, typing));
    assert_eq!(v.action_form.title, "Rendez-vous");
    assert_eq!(readings(), 1);
    // Opened again after another screen: a new reading.
    app.update(&d.store, Event::ShowSearch);
    app.update(&d.store, Event::OpenPerson { id });
    assert_eq!(readings(), 2);
}

#[test]
fn a_form_typed_about_a_person_does_not_outlive_their_erasure() {
    let d = device("Téléphone maraude", "Amina");
    let id = lucie(&d);
    let mut app = FieldApp::new(Lang::Fr);
    app.update(&d.store, Event::NewEncounter { person: Some(id) });
    app.update(
        &d.store,
        Event::Notes {
            text: text("Lucie dort sous le pont"),
        },
    );
    assert!(d.store.draft("field").unwrap().is_some());
    d.store
        .erase_person(id, "demande de la personne", false)
        .unwrap();
    assert_eq!(d.store.draft("field").unwrap(), None);
    // A draft about someone else is kept.
    let other = crate::common::person(&d.store, "Bastien");
    let mut app = FieldApp::new(Lang::Fr);
    app.update(
        &d.store,
        Event::NewEncounter {
            person: Some(other),
        },
    );
    app.update(&d.store, Event::Anonymous { delta: 1 });
    let third = crate::common::person(&d.store, "Maëlle");
    d.store
        .erase_person(third, "demande de la personne", false)
        .unwrap();
    assert!(d.store.draft("field").unwrap().is_some());
}
