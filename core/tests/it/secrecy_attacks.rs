//! Attacks on the professional-secrecy features by a member worker's device running a modified
//! app: a change written under its own actor, signed with its own keys and pushed through the
//! relay, as no honest build writes it. Each test was seen failing before its defence.

use allervers_core::{fuzzing, AccessQuery, Edit, Kind, NewConsent, RecordId, Store, Value, Via};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::Duration;

use crate::common::{consent, device, person, Device};
use crate::trust_attacks::Relay;

/// One change to `record` as `d` holds it, written by `edit` under `d`'s own actor, signed by
/// `d`'s device and sealed for its space: what a modified app pushes.
pub(crate) fn forged(
    d: &Device,
    record: RecordId,
    edit: impl FnOnce(&mut AutoCommit),
) -> allervers_protocol::Envelope {
    let mut doc = AutoCommit::load(&d.store.record_document(record).unwrap()).unwrap();
    doc.set_actor(d.store.identity().device.actor().clone());
    edit(&mut doc);
    doc.commit_with(CommitOptions::default().with_time(d.store.now().timestamp_millis()));
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    let signature = fuzzing::sign_change(&d.store, record, &change).unwrap();
    fuzzing::seal_change(&d.store, record, &change, signature).unwrap()
}

/// A coordinator's device and a worker's, in one space.
fn team() -> (Device, Device, Relay) {
    let a = device("Téléphone coordination", "Claire");
    let w = device("Téléphone maraude", "Bruno");
    let relay = Relay::create(&a, "Maraude de l'équipe");
    relay.invite(&a, &w);
    relay.settle(&[&a, &w]);
    (a, w, relay)
}

fn decision(person: RecordId, given: bool) -> NewConsent {
    consent(person, "identity_contact", given)
}

fn consent_now(store: &Store, person: RecordId) -> Vec<Option<bool>> {
    store
        .current_consents(person)
        .unwrap()
        .iter()
        .map(|c| c.given)
        .collect()
}

#[test]
fn a_consent_decision_is_what_its_creation_says_whatever_a_later_change_writes() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Amina");
    relay.settle(&[&a, &w]);
    let id = a.store.record_consents(&[decision(p, true)]).unwrap()[0];
    // Through the public API, on the device that recorded it: refused.
    let edited = a
        .store
        .edit(id, &[Edit::Set("given".into(), Value::Bool(false))]);
    assert!(edited.is_err());
    relay.settle(&[&a, &w]);
    // A worker's modified app turns the decision into a refusal and pushes it.
    relay.push(vec![forged(&w, id, |doc| {
        doc.put(ROOT, "given", false).unwrap();
    })]);
    relay.settle(&[&a, &w]);
    for store in [&a.store, &w.store] {
        assert_eq!(consent_now(store, p), vec![Some(true)]);
        assert_eq!(store.consent(id).unwrap().given, Some(true));
    }
}

#[test]
fn a_decision_dated_in_the_future_does_not_pin_the_consent_against_a_withdrawal() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Amina");
    relay.settle(&[&a, &w]);
    // A worker's device whose clock is fifty years ahead (wrong, or set so on purpose) records
    // a decision dated on its own today.
    w.clock
        .advance_ms(Duration::days(50 * 365).num_milliseconds());
    w.store.record_consents(&[decision(p, true)]).unwrap();
    relay.settle(&[&a, &w]);
    // The person withdraws, recorded by the coordinator the next day.
    a.clock.advance_ms(Duration::days(1).num_milliseconds());
    a.store.record_consents(&[decision(p, false)]).unwrap();
    assert_eq!(consent_now(&a.store, p), vec![Some(false)]);
}

#[test]
fn an_export_entry_with_a_reversed_period_does_not_stop_the_dossier() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Hélène");
    relay.settle(&[&a, &w]);
    // The worker's device opens a file, so that it has a log of the day, then appends to it.
    w.store.open_person(p, Via::App).unwrap();
    relay.settle(&[&a, &w]);
    let log = w
        .store
        .record_ids()
        .unwrap()
        .into_iter()
        .find(|(_, k)| *k == Kind::AccessLog)
        .map(|(id, _)| id)
        .unwrap();
    let now = w.store.now().timestamp_millis();
    relay.push(vec![forged(&w, log, |doc| {
        let (_, list) = doc.get(ROOT, "entries").unwrap().unwrap();
        let n = doc.length(&list);
        let e = doc.insert_object(&list, n, ObjType::Map).unwrap();
        doc.put(&e, "at", ScalarValue::Timestamp(now)).unwrap();
        doc.put(&e, "worker", "Bruno").unwrap();
        doc.put(&e, "via", "app").unwrap();
        doc.put(&e, "what", "export").unwrap();
        doc.put(&e, "kind", "persons").unwrap();
        doc.put(&e, "from", "2026-03-10").unwrap();
        doc.put(&e, "to", "2026-03-01").unwrap();
        doc.put(&e, "pseudonymised", false).unwrap();
    })]);
    relay.settle(&[&a, &w]);
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.store.dossier(p, Via::Cli).map(|d| d.person)
    }));
    assert!(matches!(made, Ok(Ok(id)) if id == p));
}

#[test]
fn a_bundle_of_the_whole_store_made_on_a_workers_phone_is_in_the_coordinators_access_log() {
    let (a, w, relay) = team();
    person(&a.store, "Hélène");
    relay.settle(&[&a, &w]);
    w.store
        .export_bundle_by("phrase de passe du test", Via::App)
        .unwrap();
    relay.settle(&[&a, &w]);
    let log = a.store.access_log(&AccessQuery::default()).unwrap();
    let bundles: Vec<_> = log
        .iter()
        .filter(|e| e.what == "export" && e.export_kind.as_deref() == Some("bundle"))
        .collect();
    assert_eq!(bundles.len(), 1, "{log:?}");
    assert_eq!(bundles[0].worker, "Bruno");
}

#[test]
fn a_records_history_and_its_document_are_logged_as_reads_of_the_persons_files() {
    let d = device("Poste bureau", "Sophie");
    let p = person(&d.store, "Hélène");
    let q = person(&d.store, "Yanis");
    let met = crate::common::meet(&d.store, &[p, q], "quai de Valmy");
    let history = d.store.open_history(p, Via::Cli).unwrap();
    assert!(!history.is_empty());
    d.store.open_document(met, Via::Cli).unwrap();
    d.store.open_consents(p, Via::Cli).unwrap();
    let about = |person: RecordId| {
        d.store
            .access_log(&AccessQuery {
                person: Some(person),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    // Hélène: her history, the shared encounter's document, her consent decisions; Yanis: the
    // encounter's document.
    assert_eq!((about(p), about(q)), (3, 1));
    let log = d.store.access_log(&AccessQuery::default()).unwrap();
    assert!(log
        .iter()
        .any(|e| e.export_kind.as_deref() == Some("document")));
}

#[test]
fn a_lone_hidden_count_in_the_funders_csv_cannot_be_recovered_by_difference() {
    use allervers_core::vocab::Lang;
    use allervers_core::NewReferral;
    let d = device("Poste bureau", "Sophie");
    let today = d.store.now().date_naive();
    // Six referrals to the 115, one to psychiatry: all "sent".
    for (i, target) in ["siao_115"; 6]
        .iter()
        .chain(&["psychiatry_cmp"])
        .enumerate()
    {
        let p = person(&d.store, &format!("Personne {i}"));
        d.store
            .add_referral(&NewReferral {
                person: p,
                target: (*target).into(),
                target_name: None,
                date: Some(today),
                status: Some("sent".into()),
                household: None,
            })
            .unwrap();
    }
    let rows = d
        .store
        .report(today, today, None)
        .unwrap()
        .funder_csv_rows(Lang::Fr, &[]);
    let cell = |section: &str, item: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == item)
            .map(|r| r[2].clone())
            .unwrap_or_default()
    };
    assert_eq!(cell("referrals_by_target", "psychiatry_cmp"), "< 5");
    assert_eq!(cell("referrals_by_outcome", "sent"), "7");
    // The 115's six are hidden too: 7 less what is shown no longer gives the psychiatry one.
    assert_eq!(cell("referrals_by_target", "siao_115"), "s");
}

/// The access-log records of a device (the only ones there are in these tests).
fn log_records(store: &Store) -> Vec<RecordId> {
    store
        .record_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, k)| *k == Kind::AccessLog)
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn an_entry_deleted_from_an_access_log_stays_listed() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Hélène");
    relay.settle(&[&a, &w]);
    w.store.open_person(p, Via::App).unwrap();
    relay.settle(&[&a, &w]);
    assert_eq!(
        a.store.access_log(&AccessQuery::default()).unwrap().len(),
        1
    );
    // The worker's modified app deletes its own read from its log.
    let log = log_records(&w.store)[0];
    relay.push(vec![forged(&w, log, |doc| {
        let (_, list) = doc.get(ROOT, "entries").unwrap().unwrap();
        doc.delete(&list, 0).unwrap();
    })]);
    relay.settle(&[&a, &w]);
    for store in [&a.store, &w.store] {
        let rows = store.index_rows().unwrap();
        assert_eq!(
            rows.iter().filter(|r| r.starts_with("access_log:")).count(),
            1,
            "{rows:?}"
        );
    }
}

#[test]
fn another_devices_access_log_cannot_be_rewritten_or_added_to() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Hélène");
    let q = person(&a.store, "Karim");
    a.store.open_person(p, Via::Cli).unwrap();
    relay.settle(&[&a, &w]);
    let log = log_records(&a.store)[0];
    let now = w.store.now().timestamp_millis();
    // The worker's device rewrites the coordinator's read (another person, another name), and
    // adds a read of its own making in the coordinator's log.
    relay.push(vec![forged(&w, log, |doc| {
        let (_, list) = doc.get(ROOT, "entries").unwrap().unwrap();
        let (_, entry) = doc.get(&list, 0).unwrap().unwrap();
        doc.put(&entry, "person", q.to_string()).unwrap();
        doc.put(&entry, "worker", "Bruno").unwrap();
        let e = doc.insert_object(&list, 1, ObjType::Map).unwrap();
        doc.put(&e, "at", ScalarValue::Timestamp(now)).unwrap();
        doc.put(&e, "worker", "Claire").unwrap();
        doc.put(&e, "via", "cli").unwrap();
        doc.put(&e, "what", "dossier").unwrap();
        doc.put(&e, "person", q.to_string()).unwrap();
    })]);
    relay.settle(&[&a, &w]);
    let listed = a.store.access_log(&AccessQuery::default()).unwrap();
    let seen: Vec<_> = listed
        .iter()
        .map(|e| (e.what.clone(), e.person, e.worker.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![("person".to_string(), Some(p), "Claire".to_string())]
    );
    assert_eq!(a.store.index_rows().unwrap(), w.store.index_rows().unwrap());
}

/// The persons due for the retention review on `d`'s device.
fn due(d: &Device) -> Vec<RecordId> {
    d.store
        .retention_review()
        .unwrap()
        .due
        .into_iter()
        .map(|r| r.person)
        .collect()
}

#[test]
fn a_workers_forged_decision_to_keep_a_file_is_set_aside_and_a_coordinators_applies() {
    let (a, w, relay) = team();
    let p = person(&a.store, "Anatole");
    let q = person(&a.store, "Berthe");
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        d.clock.advance_ms(Duration::days(800).num_milliseconds());
    }
    assert_eq!(due(&a).len(), 2, "due before the attack");
    assert!(
        w.store.retention_keep(p, "motif").is_err(),
        "refused locally"
    );

    // The same decision, forged by a modified app on the worker's phone: its author's grants
    // do not prove a coordinator, and every device sets it aside.
    let now = w.store.now().timestamp_millis();
    relay.push(vec![forged(&w, p, |doc| {
        doc.put(ROOT, "retention_kept_at", ScalarValue::Timestamp(now))
            .unwrap();
        doc.put(ROOT, "retention_reason", "Gardé").unwrap();
    })]);
    relay.settle(&[&a, &w]);
    assert!(
        due(&a).contains(&p),
        "the forged decision took the person off the review"
    );
    for d in [&a, &w] {
        assert!(d
            .store
            .set_aside(&relay.space)
            .unwrap()
            .iter()
            .any(|s| s.quarantined && s.reason.contains("only a coordinator")));
    }

    // The coordinator's own decision carries its grants and applies on every device.
    a.store.retention_keep(q, "Recours en cours").unwrap();
    relay.settle(&[&a, &w]);
    assert!(!due(&a).contains(&q), "the coordinator's decision applied");
    assert_eq!(
        a.store.index_rows().unwrap(),
        w.store.index_rows().unwrap(),
        "the worker's device holds the same decisions (the coordinator's kept, the forged one not)"
    );
}

#[test]
fn a_workers_forged_merge_is_set_aside_and_pulls_no_one_into_anothers_erasure() {
    let (a, w, relay) = team();
    let victim = person(&a.store, "Victor");
    let target = person(&a.store, "Théo");
    relay.settle(&[&a, &w]);
    assert!(
        w.store.merge_persons(target, victim).is_err(),
        "refused locally"
    );

    // The same merge, forged by a modified app on the worker's phone: had it applied, Victor
    // would leave every list and be erased with Théo.
    relay.push(vec![forged(&w, victim, |doc| {
        doc.put(ROOT, "merged_into", target.to_string()).unwrap();
    })]);
    relay.settle(&[&a, &w]);
    for d in [&a, &w] {
        assert_eq!(d.store.resolved_person(victim).unwrap(), victim);
        assert!(d
            .store
            .set_aside(&relay.space)
            .unwrap()
            .iter()
            .any(|s| s.quarantined && s.reason.contains("only a coordinator")));
    }
    a.store
        .erase_person(target, "demande de la personne", false)
        .unwrap();
    assert_eq!(
        a.store.person(victim).unwrap().name.as_deref(),
        Some("Victor")
    );

    // The coordinator's own merge carries its grants and applies on every device.
    let twice = person(&a.store, "Victor");
    a.store.merge_persons(victim, twice).unwrap();
    relay.settle(&[&a, &w]);
    assert_eq!(w.store.resolved_person(twice).unwrap(), victim);
}
