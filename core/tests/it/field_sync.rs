//! The field app's sync screen, joining a team from an invite code and who is using a shared
//! phone, driven as a worker drives them: each step an event in and the fields of the view
//! model expected out (the view as JSON, its screen's name under `screen`). What needs the
//! network (a sync, joining at the relay) is what the bindings do between two events: here the
//! store is given the outcome a sync records, or joins with a token, as the client would.

use allervers_core::field::{Event, FieldApp};
use allervers_core::vocab::Lang;
use allervers_core::{ApiError, Store, SyncFailure, SyncOutcome};
use chrono::Duration;
use serde_json::{json, Value};

use crate::common::{device, Device};

/// Sends each event in turn and checks the fields given of the view it returns.
fn check(store: &Store, app: &mut FieldApp, steps: Vec<(Event, Value)>) {
    for (i, (event, expected)) in steps.into_iter().enumerate() {
        let shown = format!("{event:?}");
        let view = serde_json::to_value(app.update(store, event)).expect("view as JSON");
        for (field, value) in expected.as_object().expect("expected fields") {
            assert_eq!(
                &view[field], value,
                "step {i} ({shown}), field {field}: {view:#}"
            );
        }
    }
}

/// A phone of a team (a space at a relay it never reaches: these tests make no request).
fn team_phone(worker: &str) -> Device {
    let d = device("Téléphone maraude", worker);
    let mut m = d
        .store
        .new_space("http://relay.invalid", "Maraude nord")
        .unwrap();
    m.token = "token".into();
    d.store.join_space(&m).unwrap();
    d
}

fn outcome(d: &Device, minutes_ago: i64, failure: Option<SyncFailure>) -> SyncOutcome {
    SyncOutcome {
        at: d.store.now() - Duration::minutes(minutes_ago),
        failure,
        sent: 3,
        received: 5,
    }
}

fn add_person(store: &Store, app: &mut FieldApp, name: &str) {
    app.update(store, Event::Search { text: name.into() });
    app.update(store, Event::Create { as_nickname: false });
}

#[test]
fn the_sync_screen_says_what_waits_when_it_last_succeeded_and_why_the_last_one_failed() {
    let d = team_phone("Amina");
    let mut app = FieldApp::new(Lang::Fr);
    check(
        &d.store,
        &mut app,
        vec![(
            Event::ShowSync,
            json!({"screen": "sync", "title": "Synchronisation", "enrolled": true,
                   "last_success": "Jamais synchronisé avec l'équipe.", "last_failure": null,
                   "join_label": null, "sync_label": "Synchroniser maintenant"}),
        )],
    );
    add_person(&d.store, &mut app, "Karim");
    add_person(&d.store, &mut app, "Fatou");
    let waiting = d.store.pending_changes().unwrap();
    assert!(waiting >= 2, "{waiting}");
    d.store
        .record_sync(&outcome(&d, 5, None))
        .expect("a success recorded");
    check(
        &d.store,
        &mut app,
        vec![(
            Event::ShowSync,
            json!({"pending_changes": waiting,
                   "pending": format!("{waiting} changements attendent d'être envoyés."),
                   "last_success": "Dernière synchronisation réussie : il y a 5 min.",
                   "last_failure": null}),
        )],
    );
    // A failure after the success is said; the success stays.
    d.clock.set(d.store.now() + Duration::hours(2));
    d.store
        .record_sync(&outcome(&d, 0, Some(SyncFailure::NoNetwork)))
        .unwrap();
    check(
        &d.store,
        &mut app,
        vec![(
            Event::ShowSync,
            json!({"last_success": "Dernière synchronisation réussie : il y a 2 h.",
                   "last_failure": "Échec de la synchronisation à l'instant : pas de réseau, les changements attendent sur le téléphone."}),
        )],
    );
    // Refused by the relay, in English; then a success makes the failure old news.
    let mut en = FieldApp::new(Lang::En);
    d.clock.set(d.store.now() + Duration::days(3));
    d.store
        .record_sync(&outcome(&d, 1, Some(SyncFailure::Refused { status: 403 })))
        .unwrap();
    check(
        &d.store,
        &mut en,
        vec![(
            Event::ShowSync,
            json!({"title": "Sync", "last_success": "Last successful sync: 3 days ago.",
                   "last_failure": "Sync failed 1 min ago: the relay refused (error 403), tell the coordinator."}),
        )],
    );
    d.store.record_sync(&outcome(&d, 0, None)).unwrap();
    check(
        &d.store,
        &mut en,
        vec![(
            Event::ShowSync,
            json!({"last_success": "Last successful sync: just now.", "last_failure": null}),
        )],
    );
}

#[test]
fn a_sync_the_worker_asked_for_is_said_at_once_and_not_again_on_the_next_opening() {
    let d = team_phone("Amina");
    let mut app = FieldApp::new(Lang::Fr);
    // The bindings ran the sync (the client recorded it), then send what it came to.
    let done = outcome(&d, 0, None);
    d.store.record_sync(&done).unwrap();
    let failed = outcome(&d, 0, Some(SyncFailure::NotEnrolled));
    check(
        &d.store,
        &mut app,
        vec![
            (Event::Start, json!({"screen": "search"})),
            (
                Event::SyncFinished { outcome: done },
                json!({"screen": "search", "notice": "Synchronisé : 3 changements envoyés, 5 reçus.",
                       "problem": null, "sync_news": null}),
            ),
            (Event::Start, json!({"sync_news": null, "notice": null})),
            (Event::ShowSync, json!({"screen": "sync", "notice": null})),
            (
                Event::SyncFinished { outcome: failed },
                json!({"screen": "sync", "notice": null,
                       "problem": "Échec de la synchronisation à l'instant : ce téléphone n'a pas encore rejoint d'équipe, rejoignez-en une d'abord."}),
            ),
            // Said once.
            (Event::ShowSync, json!({"problem": null})),
        ],
    );
}

#[test]
fn a_background_sync_is_mentioned_once_on_the_next_opening_whoever_ran_it() {
    let d = team_phone("Amina");
    let mut app = FieldApp::new(Lang::Fr);
    app.update(&d.store, Event::Start);
    // The phone's background sync, with the app closed.
    d.store.record_sync(&outcome(&d, 20, None)).unwrap();
    check(
        &d.store,
        &mut app,
        vec![
            (
                Event::Start,
                json!({"screen": "search",
                       "sync_news": "Synchronisation automatique il y a 20 min : 3 changements envoyés, 5 reçus."}),
            ),
            (
                Event::Search { text: "Ka".into() },
                json!({"sync_news": null}),
            ),
            (Event::Start, json!({"sync_news": null})),
        ],
    );
    // A failed one, seen by an app opened in English (a new process: the store remembers).
    d.store
        .record_sync(&outcome(&d, 150, Some(SyncFailure::NoNetwork)))
        .unwrap();
    let mut reopened = FieldApp::new(Lang::En);
    check(
        &d.store,
        &mut reopened,
        vec![
            (
                Event::Start,
                json!({"sync_news": "The automatic sync failed 2 h ago: no network, the changes wait on the phone."}),
            ),
            (Event::Start, json!({"sync_news": null})),
        ],
    );
    let status = d.store.sync_status().unwrap();
    assert_eq!(status.unseen, None);
    assert_eq!(
        status.last_failure.and_then(|f| f.failure),
        Some(SyncFailure::NoNetwork)
    );
    assert!(status.last_success.is_some());
}

#[test]
fn a_phone_in_no_team_opens_on_the_join_screen_and_can_go_on_without_one() {
    let d = device("Téléphone maraude", "Amina");
    let mut app = FieldApp::new(Lang::Fr);
    check(
        &d.store,
        &mut app,
        vec![
            (
                Event::Start,
                json!({"screen": "join", "title": "Rejoindre l'équipe", "code": "",
                       "valid": false, "wrong": null, "can_join": false, "problem": null,
                       "later_label": "Plus tard (sans équipe, hors ligne)"}),
            ),
            (
                Event::JoinLater,
                json!({"screen": "search", "pending_changes": 0}),
            ),
            (Event::Start, json!({"screen": "search"})),
            (
                Event::ShowSync,
                json!({"screen": "sync", "enrolled": false, "join_label": "Rejoindre",
                       "pending": "Les changements restent sur ce téléphone tant qu'il n'a pas rejoint d'équipe."}),
            ),
            (Event::ShowJoin, json!({"screen": "join"})),
        ],
    );
    assert_eq!(app.code_to_join(&d.store), None);
}

#[test]
fn an_invite_code_is_read_as_typed_or_scanned_and_joining_is_said_in_one_sentence() {
    let office = team_phone("Coordination");
    let (_, invite) = office.store.new_invite().unwrap();
    let code = invite.code();
    let d = device("Téléphone maraude", "Amina");
    let mut app = FieldApp::new(Lang::Fr);
    let mistyped = "Ce n'est pas un code d'invitation : vérifiez qu'il est complet et sans faute.";
    // Scanned or copied with line breaks: read the same.
    let (head, tail) = code.split_at(20);
    let scanned = format!(" {head}\n{tail} ");
    check(
        &d.store,
        &mut app,
        vec![
            (Event::Start, json!({"screen": "join"})),
            (
                Event::JoinCode {
                    text: code[..code.len() - 4].into(),
                },
                json!({"valid": false, "can_join": false, "team": null, "wrong": mistyped}),
            ),
            (
                Event::JoinCode {
                    text: "ALV1-AAAA".into(),
                },
                json!({"valid": false,
                       "wrong": "Ce code vient d'une ancienne version d'allervers : demandez-en un nouveau."}),
            ),
            (
                Event::JoinCode { text: scanned },
                json!({"valid": true, "can_join": true, "wrong": null,
                       "team": "Équipe « Maraude nord »"}),
            ),
        ],
    );
    assert!(app.code_to_join(&d.store).is_some());
    // The relay's answers, as the bindings send them.
    check(
        &d.store,
        &mut app,
        vec![
            (
                Event::JoinFinished {
                    error: Some(ApiError::RelayRefused {
                        status: 404,
                        reason: "unknown, used or expired invite".into(),
                    }),
                },
                json!({"screen": "join", "can_join": true,
                       "problem": "Ce code a déjà servi, a expiré ou est inconnu du relais : demandez-en un nouveau à la coordination."}),
            ),
            (
                Event::JoinFinished {
                    error: Some(ApiError::RelayUnreachable {
                        reason: "connection refused".into(),
                    }),
                },
                json!({"screen": "join",
                       "problem": "Pas de réseau : réessayez quand le téléphone capte."}),
            ),
        ],
    );
    // Joined (the relay gave a token): the first screen, said once.
    let to_join = app.code_to_join(&d.store).unwrap();
    let invite = d.store.read_invite(&to_join).unwrap();
    d.store.join_invited(&invite, "token".into()).unwrap();
    check(
        &d.store,
        &mut app,
        vec![
            (
                Event::JoinFinished { error: None },
                json!({"screen": "search",
                       "notice": "Équipe « Maraude nord » rejointe : les données arrivent après la prochaine synchronisation de la coordination."}),
            ),
            (Event::Start, json!({"screen": "search", "notice": null})),
            (
                Event::ShowJoin,
                json!({"screen": "join", "can_join": false,
                       "problem": "Ce téléphone fait déjà partie d'une équipe."}),
            ),
        ],
    );
    assert_eq!(app.code_to_join(&d.store), None);
}

#[test]
fn the_worker_using_a_shared_phone_is_chosen_from_the_roster_and_each_change_records_them() {
    // A phone outside any team, which takes every roster entry it is given.
    let d = device("Téléphone de l'équipe", "Amina");
    // Other workers' phones: their roster entries reach this one.
    for worker in ["Zoé", "élodie", "Bruno"] {
        let other = device("Téléphone", worker);
        crate::common::send(&other.store, &d.store);
    }
    let mut app = FieldApp::new(Lang::Fr);
    check(
        &d.store,
        &mut app,
        vec![
            (
                Event::JoinLater,
                json!({"screen": "search", "worker": "Téléphone utilisé par Amina",
                       "change_worker": "Changer"}),
            ),
            (
                Event::ShowWorkers,
                json!({"screen": "workers", "title": "Qui utilise le téléphone ce soir ?",
                       "workers": [
                           {"name": "Amina", "current": true},
                           {"name": "Bruno", "current": false},
                           {"name": "élodie", "current": false},
                           {"name": "Zoé", "current": false}]}),
            ),
            (
                Event::ChooseWorker {
                    name: "élodie".into(),
                },
                json!({"screen": "search", "worker": "Téléphone utilisé par élodie",
                       "notice": "C'est élodie qui utilise le téléphone : ses changements portent son nom."}),
            ),
            (
                Event::ShowWorkers,
                json!({"workers": [
                           {"name": "Amina", "current": false},
                           {"name": "Bruno", "current": false},
                           {"name": "élodie", "current": true},
                           {"name": "Zoé", "current": false}]}),
            ),
            (
                Event::ChooseWorker { name: "  ".into() },
                json!({"screen": "workers",
                       "problem": "Tapez un nom avant de le choisir."}),
            ),
        ],
    );
    // A change written now records her; one written before her turn does not.
    add_person(&d.store, &mut app, "Moussa");
    let moussa = d
        .store
        .list_persons(&allervers_core::PersonQuery {
            search: Some("Moussa".into()),
            ..Default::default()
        })
        .unwrap()[0]
        .id;
    let history = d.store.history(moussa).unwrap();
    assert!(!history.is_empty());
    assert!(history
        .iter()
        .all(|h| h.author.worker.as_deref() == Some("élodie")));
    // The phone remembers who uses it when it opens again.
    let again = Store::open(&d.path, &d.key).unwrap();
    assert_eq!(again.worker(), "élodie");
}
