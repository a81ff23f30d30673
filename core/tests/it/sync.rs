//! The sync engine without a network: an in-memory relay that answers the engine's requests,
//! which a test can make fail, drop answers, or tamper with.

use std::cell::{Cell, RefCell};

use crate::common::{device, meet, person};
use allervers_core::{
    CoreError, Membership, RawKey, Request, Response, Store, SyncProgress, SyncRound, SyncSummary,
};
use allervers_core::{Edit, Value};
use allervers_protocol::{Page, Push, Pushed, Stored};

/// Drives one sync round of `store` through `relay`, as the client crate does over HTTP.
fn sync(
    store: &Store,
    relay: &MemoryRelay,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncSummary, CoreError> {
    let mut round = SyncRound::new(store)?;
    while let Some(request) = round.poll()? {
        let response = match request {
            Request::PostControl(post) => Response::Posted(Pushed {
                seqs: vec![0; post.items.len()],
            }),
            Request::Push(push) => Response::Pushed(relay.push(&push)?),
            // This relay keeps no control log: the keys are handed to each store by `enrol`.
            Request::Pull { after, limit, .. } => Response::Page(relay.pull(after, limit)?),
        };
        progress(round.handle(response)?);
    }
    Ok(round.summary().clone())
}

#[derive(Default)]
struct MemoryRelay {
    log: RefCell<Vec<Stored>>,
    /// Fail every call after this many (None: never).
    fail_after: Cell<Option<usize>>,
    calls: Cell<usize>,
    /// Store a push but answer as if the connection dropped.
    drop_push_answer: Cell<bool>,
    /// Flip a byte of the sealed content of served envelopes.
    tamper: Cell<bool>,
    /// Answer a quarantined envelope's recheck (a pull of one) with an empty page, as a
    /// confused or stale answer would.
    lose_rechecks: Cell<bool>,
    /// The relay's clock.
    now_ms: Cell<i64>,
}

impl MemoryRelay {
    fn tick(&self) -> Result<(), CoreError> {
        self.calls.set(self.calls.get() + 1);
        match self.fail_after.get() {
            Some(n) if self.calls.get() > n => {
                Err(CoreError::RelayUnreachable("connection reset".into()))
            }
            _ => Ok(()),
        }
    }
}

impl MemoryRelay {
    fn push(&self, push: &Push) -> Result<Pushed, CoreError> {
        self.tick()?;
        let mut log = self.log.borrow_mut();
        let mut seqs = Vec::new();
        for e in &push.envelopes {
            match log.iter().find(|s| s.envelope.sealed == e.sealed) {
                Some(s) => seqs.push(s.seq),
                None => {
                    let seq = log.len() as u64 + 1;
                    log.push(Stored {
                        seq,
                        received_at_ms: self.now_ms.get(),
                        clock_offset_ms: self.now_ms.get() - push.sent_at_ms,
                        envelope: e.clone(),
                    });
                    seqs.push(seq);
                }
            }
        }
        if self.drop_push_answer.get() {
            return Err(CoreError::RelayUnreachable("answer lost".into()));
        }
        Ok(Pushed { seqs })
    }

    fn pull(&self, after: u64, limit: usize) -> Result<Page, CoreError> {
        self.tick()?;
        if limit == 1 && self.lose_rechecks.get() {
            return Ok(Page {
                envelopes: Vec::new(),
                next: after,
                more: false,
                control: None,
            });
        }
        let log = self.log.borrow();
        let mut envelopes: Vec<Stored> = log
            .iter()
            .filter(|s| s.seq > after)
            .take(limit + 1)
            .cloned()
            .collect();
        let more = envelopes.len() > limit;
        envelopes.truncate(limit);
        if self.tamper.get() {
            if let Some(last) = envelopes.last_mut() {
                let n = last.envelope.sealed.len();
                last.envelope.sealed[n / 2] ^= 1;
            }
        }
        let next = envelopes.last().map_or(after, |s| s.seq);
        Ok(Page {
            envelopes,
            next,
            more,
            control: None,
        })
    }
}

fn enrol(stores: &[&Store]) {
    let key = RawKey::generate();
    for (i, s) in stores.iter().enumerate() {
        s.join_space(&Membership {
            space: [7; 16],
            name: "Maraude test".into(),
            relay: "http://relay.invalid".into(),
            token: format!("token-{i}"),
            epoch: 0,
            coordinator: i == 0,
            root: None,
            founder: None,
        })
        .unwrap();
        s.keep_space_key(&[7; 16], 0, &key).unwrap();
    }
}

#[test]
fn a_tampered_envelope_is_quarantined_and_the_rest_of_the_page_applies() {
    let relay = MemoryRelay::default();
    let (a, b, c) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
        device("Téléphone C", "Sophie"),
    );
    enrol(&[&a.store, &b.store, &c.store]);
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    let p = person(&a.store, "Hamza");
    let e = meet(&a.store, &[p], "Porte de Clignancourt");
    sync(&a.store, &relay, &mut |_| {}).unwrap();

    // The page's last envelope (the encounter) does not open: it is set aside with its reason,
    // the others apply and the cursor moves past it.
    relay.tamper.set(true);
    let summary = sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(summary.quarantined, 1, "{summary:?}");
    assert_eq!(summary.cursor, 4);
    assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Hamza"));
    assert!(matches!(
        b.store.encounter(e),
        Err(CoreError::RecordNotFound(_))
    ));
    let aside = b.store.set_aside(&[7; 16]).unwrap();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].quarantined);
    assert_eq!(aside[0].seq, 4);
    assert!(aside[0].reason.contains("does not decrypt"), "{aside:?}");
    // The next round goes on from there.
    relay.tamper.set(false);
    let again = sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(again.quarantined, 0);
    // A device that received the genuine envelope has it all.
    sync(&c.store, &relay, &mut |_| {}).unwrap();
    assert!(c.store.encounter(e).is_ok());
    assert!(c.store.set_aside(&[7; 16]).unwrap().is_empty());
}

/// A device's keys come with its first roster change. When that envelope was damaged on the way,
/// the device's later changes are held until the recheck brings its genuine copy: they apply in
/// the round that learns the keys, not one round later (a round that moves nothing else would
/// otherwise leave the replicas apart).
#[test]
fn changes_held_for_keys_that_a_recheck_brings_apply_in_the_same_round() {
    let relay = MemoryRelay::default();
    let (a, b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    // b's roster entry, then a's; b's next round damages a's on the way: quarantined, to be
    // rechecked.
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    relay.tamper.set(true);
    let first = sync(&b.store, &relay, &mut |_| {}).unwrap();
    relay.tamper.set(false);
    assert_eq!(first.quarantined, 1, "{first:?}");
    // a's person arrives while the recheck goes unanswered: held for a's keys.
    let p = person(&a.store, "Hamza");
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    relay.lose_rechecks.set(true);
    let held = sync(&b.store, &relay, &mut |_| {}).unwrap();
    relay.lose_rechecks.set(false);
    assert_eq!(held.held, 1, "{held:?}");
    assert!(b.store.person(p).is_err());
    // The recheck brings the keys; the person applies in that round.
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert!(b.store.set_aside(&[7; 16]).unwrap().is_empty());
    assert_eq!(b.store.person(p).unwrap().name.as_deref(), Some("Hamza"));
}

#[test]
fn a_push_whose_answer_was_lost_is_stored_once_when_retried() {
    let relay = MemoryRelay::default();
    let (a, b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    person(&a.store, "Martine");
    relay.drop_push_answer.set(true);
    assert!(matches!(
        sync(&a.store, &relay, &mut |_| {}),
        Err(CoreError::RelayUnreachable(_))
    ));
    assert_eq!(
        a.store.pending_changes().unwrap(),
        2,
        "not acknowledged, still in the outbox"
    );
    relay.drop_push_answer.set(false);
    let s = sync(&a.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(s.pushed, 2);
    assert_eq!(
        relay.log.borrow().len(),
        2,
        "the retry carried the same sealed bytes: stored once"
    );
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(b.store.list_persons(&Default::default()).unwrap().len(), 1);
}

#[test]
fn a_pull_cut_between_pages_resumes_without_loss_or_duplication() {
    let relay = MemoryRelay::default();
    let (a, b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    let p = person(&a.store, "Didier");
    for i in 0..2_500 {
        a.store
            .log_encounter(&allervers_core::NewEncounter {
                persons: vec![p],
                notes: Some(format!("{i}")),
                ..Default::default()
            })
            .unwrap();
    }
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    relay.calls.set(0);
    // Two pages of 1,000 (a round with something to push, b's roster entry, reads first), then
    // the network goes.
    relay.fail_after.set(Some(2));
    let err = sync(&b.store, &relay, &mut |_| {}).unwrap_err();
    assert!(matches!(err, CoreError::RelayUnreachable(_)));
    assert_eq!(b.store.pull_cursor(&[7; 16]).unwrap(), 2_000);
    relay.fail_after.set(None);
    let s = sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(s.pulled, relay.log.borrow().len() - 2_000);
    assert_eq!(
        b.store.export_changes().unwrap().len(),
        a.store.export_changes().unwrap().len() + 1,
        "plus b's own roster entry"
    );
    assert_eq!(
        b.store.timeline(p).unwrap().len(),
        2_500 + a.store.history(p).unwrap().len()
    );
}

#[test]
fn a_store_without_a_space_is_told_so() {
    let a = device("Téléphone A", "Amina");
    let err = sync(&a.store, &MemoryRelay::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, CoreError::NotEnrolled));
}

/// A relay that moved: only the space's address changes (without its trailing `/`); the token,
/// the key and the cursors stay, so the next round receives nothing twice. A malformed address,
/// or a space the store does not belong to, is refused and changes nothing, and the error does
/// not repeat the address.
#[test]
fn a_new_relay_address_keeps_the_cursors_and_a_malformed_one_is_refused() {
    let relay = MemoryRelay::default();
    let (a, b, c) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
        device("Téléphone C", "Sophie"),
    );
    enrol(&[&a.store, &b.store]);
    person(&a.store, "Karim");
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    let space = [7; 16];
    let before = b.store.membership().unwrap().unwrap();
    let (pulled, read) = (
        b.store.pull_cursor(&space).unwrap(),
        b.store.control_cursor(&space).unwrap(),
    );
    assert!(pulled > 0);

    let moved = b
        .store
        .set_relay(&space, " https://relais.example.org:8443/allervers/ ")
        .unwrap();
    assert_eq!(moved.relay, "https://relais.example.org:8443/allervers");
    let kept = b.store.membership().unwrap().unwrap();
    assert_eq!(kept.relay, moved.relay);
    assert_eq!(
        (kept.space, &kept.token, kept.epoch),
        (before.space, &before.token, before.epoch)
    );
    assert_eq!(b.store.pull_cursor(&space).unwrap(), pulled);
    assert_eq!(b.store.control_cursor(&space).unwrap(), read);
    assert!(b.store.holds_space_key(&space).unwrap());
    let again = sync(&b.store, &relay, &mut |_| {}).unwrap();
    assert_eq!((again.pulled, again.new_changes), (0, 0), "{again:?}");

    for bad in [
        "relais.example.org",
        "ftp://relais.example.org",
        "http://",
        "https://:8443",
        "https:///allervers",
        "http://amina:secret@relais.example.org",
        "http://relais.example.org:99999",
        "http://relais.example.org:0",
        "http://relais.example.org/?space=1",
        "http://relais.example.org/#x",
        "http://relais example.org",
        "http://[::1",
        "http://relais.example.org\\x",
    ] {
        match b.store.set_relay(&space, bad) {
            Err(CoreError::InvalidInput { field, reason }) => {
                assert_eq!(field, "relay address", "{bad}");
                assert!(
                    !reason.contains("example") && !reason.contains("secret"),
                    "{reason}"
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
        assert_eq!(b.store.membership().unwrap().unwrap().relay, moved.relay);
    }
    for (good, kept) in [
        ("http://[::1]:8787/", "http://[::1]:8787"),
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("https://relais", "https://relais"),
    ] {
        assert_eq!(allervers_core::relay_address(good).unwrap(), kept);
    }

    assert!(matches!(
        b.store.set_relay(&[8; 16], "https://relais.example.org"),
        Err(CoreError::NotEnrolled)
    ));
    assert!(matches!(
        c.store.set_relay(&space, "https://relais.example.org"),
        Err(CoreError::NotEnrolled)
    ));
    assert!(c.store.membership().unwrap().is_none());
}

/// A change is sealed once: a push retried hours later sends the very same bytes (the relay
/// stores it once), and the device's clock offset is measured from the request that got
/// through, not from when the change was first sealed.
#[test]
fn a_push_retried_hours_later_is_byte_identical_and_its_clock_offset_comes_from_the_retry() {
    let relay = MemoryRelay::default();
    let (a, b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    relay.now_ms.set(a.store.now().timestamp_millis());
    let p = person(&a.store, "Martine");

    // In the metro: the push's answer is lost (stored), then the network is gone (not stored).
    relay.drop_push_answer.set(true);
    assert!(sync(&a.store, &relay, &mut |_| {}).is_err());
    relay.drop_push_answer.set(false);
    let first: Vec<Vec<u8>> = relay
        .log
        .borrow()
        .iter()
        .map(|s| s.envelope.sealed.clone())
        .collect();
    a.store
        .edit(
            p,
            &[Edit::Set("situation".into(), Value::Code("squat".into()))],
        )
        .unwrap();
    relay.fail_after.set(Some(relay.calls.get()));
    assert!(sync(&a.store, &relay, &mut |_| {}).is_err());

    // Three hours later, on the wifi of the day centre: both clocks moved on together.
    a.clock.advance_ms(3 * 3_600_000);
    relay.now_ms.set(relay.now_ms.get() + 3 * 3_600_000);
    relay.fail_after.set(None);
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    let log = relay.log.borrow().clone();
    assert_eq!(log.len(), 3, "the first two stored once, the edit once");
    for (i, bytes) in first.iter().enumerate() {
        assert_eq!(
            &log[i].envelope.sealed, bytes,
            "the retry was byte-identical"
        );
    }
    assert_eq!(log[2].clock_offset_ms, 0, "measured from the retry");

    sync(&b.store, &relay, &mut |_| {}).unwrap();
    let edit = b
        .store
        .history(p)
        .unwrap()
        .into_iter()
        .find(|e| e.field == "situation" && !e.creation)
        .expect("the edit arrived");
    assert!(edit.relay_at.is_some());
    assert!(
        !edit.clock_off,
        "a correct clock is not marked because the push was late"
    );
    assert_eq!(a.store.pending_changes().unwrap(), 0);
}

/// The relay's time and clock offset are not sealed: a page may carry any number there. The
/// offset once overflowed on such a page and panicked.
#[test]
fn a_page_with_a_relay_time_at_the_end_of_the_range_is_applied_and_marked() {
    let (a, b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    let p = person(&a.store, "Odile");
    let batch = a.store.outbox_batch(&[7; 16], 256).unwrap().unwrap();
    let envelopes: Vec<Stored> = batch
        .push
        .envelopes
        .into_iter()
        .enumerate()
        .map(|(i, envelope)| Stored {
            seq: i as u64 + 1,
            received_at_ms: i64::MIN,
            clock_offset_ms: i64::MIN,
            envelope,
        })
        .collect();
    let page = Page {
        next: envelopes.len() as u64,
        envelopes,
        more: false,
        control: None,
    };
    let applied = b.store.apply_page(&[7; 16], &page).unwrap();
    assert_eq!(applied.new_changes, 2);
    let history = b.store.history(p).unwrap();
    assert!(!history.is_empty());
    assert!(history.iter().all(|e| e.clock_off && e.relay_at.is_none()));
    assert!(b.store.timeline(p).is_ok());
}

/// A store of schema 4 (one space row, cursors beside it) keeps its space, its cursors and its
/// outbox when it moves to per-space state.
#[test]
fn a_store_migrated_to_per_space_state_keeps_its_space_and_cursors() {
    let relay = MemoryRelay::default();
    let (a, mut b) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
    );
    enrol(&[&a.store, &b.store]);
    person(&a.store, "Fatou");
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    person(&b.store, "Yvette");
    let cursor = b.store.pull_cursor(&[7; 16]).unwrap();
    assert_eq!(
        cursor, 3,
        "A's roster entry and person, and B's own roster entry"
    );
    let pending = b.store.pending_changes().unwrap();
    let membership = format!("{:?}", b.store.membership().unwrap());
    let path = b.path.clone();
    let key = b.key.clone();
    let _folder = b.dir.take();
    drop(b);

    // Back to schema 4 by hand: the single space row and the cursors in sync_state.
    {
        let conn = crate::common::raw_connection(&path, &key);
        conn.execute_batch(
            "CREATE TABLE space (id INTEGER PRIMARY KEY CHECK (id = 1), space BLOB NOT NULL,
                 name TEXT NOT NULL, relay TEXT NOT NULL, token TEXT NOT NULL, key BLOB NOT NULL,
                 epoch INTEGER NOT NULL, coordinator INTEGER NOT NULL, joined_at INTEGER NOT NULL);
             INSERT INTO space SELECT 1, space, name, relay, token,
                 (SELECT key FROM space_keys k WHERE k.space = spaces.space
                     AND k.epoch = spaces.epoch),
                 epoch, coordinator, joined_at FROM spaces;
             INSERT INTO sync_state SELECT 'push_cursor', push_cursor FROM spaces;
             INSERT INTO sync_state SELECT 'pull_cursor', pull_cursor FROM spaces;
             DROP TABLE spaces;
             DROP TABLE sealed;
             DROP TABLE consents;
             DROP TABLE access_logs;
             DROP TABLE access_log;
             DROP TABLE space_keys;
             DROP TABLE invites;
             DROP TABLE enrolments;
             DROP TABLE control_out;
             DROP TABLE device_keys;
             DROP TABLE held;
             DROP TABLE quarantine;
             DROP TABLE erased;
             DROP TABLE erasure_orders;
             DROP TABLE health_notes;
             DROP TABLE health_contacts;
             DROP TABLE health_profiles;
             DROP TABLE published_reports;
             DROP TABLE projections;
             DROP TABLE shared_assessments;
             DROP TABLE erasure_acks;
             DROP TABLE published;
             ALTER TABLE changes DROP COLUMN signature;
             DROP TABLE settings;
             ALTER TABLE persons DROP COLUMN kept_at;
             DROP TABLE custom_fields; ALTER TABLE persons DROP COLUMN custom;
             ALTER TABLE encounters DROP COLUMN custom;
             DROP INDEX persons_merged_into; DROP INDEX persons_merged_root;
             ALTER TABLE persons DROP COLUMN merged_into; ALTER TABLE persons DROP COLUMN merged_root;
             DROP TABLE households; DROP TABLE household_members; DROP TABLE journey_periods;
             DROP TABLE housing_applications; DROP INDEX situation_changes_by_person;
             DROP TABLE homes; DROP TABLE risk_signals; DROP TABLE housing_offers; DROP TABLE proposals;
             DROP TABLE own_views; DROP INDEX persons_search;
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let b = Store::open(&path, &key).unwrap();
    assert_eq!(format!("{:?}", b.membership().unwrap()), membership);
    assert_eq!(b.pull_cursor(&[7; 16]).unwrap(), cursor);
    assert_eq!(b.pending_changes().unwrap(), pending);
    let s = sync(&b, &relay, &mut |_| {}).unwrap();
    assert_eq!(s.pushed, pending as usize, "the outbox was kept");
    assert_eq!(s.new_changes, 0, "nothing new came back");
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    assert_eq!(a.store.list_persons(&Default::default()).unwrap().len(), 2);
}

/// Every envelope but the roster's carries its record key: one without is refused the same way
/// by a device that knows the record's key and by one that does not (else they would disagree).
#[test]
fn an_envelope_without_its_record_key_is_quarantined_whether_or_not_the_device_knows_the_key() {
    let relay = MemoryRelay::default();
    let (a, b, c) = (
        device("Téléphone A", "Amina"),
        device("Téléphone B", "Julien"),
        device("Téléphone C", "Sophie"),
    );
    enrol(&[&a.store, &b.store, &c.store]);
    let p = person(&a.store, "Fanta");
    sync(&a.store, &relay, &mut |_| {}).unwrap();
    sync(&b.store, &relay, &mut |_| {}).unwrap();
    // A change of Fanta's record sealed under its key, sent without it.
    let creation = a
        .store
        .export_changes()
        .unwrap()
        .into_iter()
        .find(|c| c.record == p)
        .unwrap();
    let signature = allervers_core::fuzzing::sign_change(&b.store, p, &creation.bytes).unwrap();
    let mut envelope =
        allervers_core::fuzzing::seal_change(&a.store, p, &creation.bytes, signature).unwrap();
    envelope.key = None;
    relay
        .push(&Push {
            envelopes: vec![envelope],
            sent_at_ms: 0,
        })
        .unwrap();
    for d in [&b, &c] {
        let summary = sync(&d.store, &relay, &mut |_| {}).unwrap();
        assert_eq!((summary.quarantined, summary.held), (1, 0), "{summary:?}");
        let aside = d.store.set_aside(&[7; 16]).unwrap();
        assert!(
            aside[0].reason.contains("no wrapped record key"),
            "{aside:?}"
        );
    }
    assert_eq!(c.store.person(p).unwrap().name.as_deref(), Some("Fanta"));
}

/// Reads made on two workers' phones reach the coordinator's store with the next syncs, and
/// are listed there per person and per worker.
#[test]
fn reads_logged_on_two_phones_reach_the_coordinator_through_sync() {
    use allervers_core::{AccessQuery, Via};
    let relay = MemoryRelay::default();
    let (office, julien, amina) = (
        device("Poste bureau", "Sophie"),
        device("Téléphone B", "Julien"),
        device("Téléphone C", "Amina"),
    );
    enrol(&[&office.store, &julien.store, &amina.store]);
    let p = person(&office.store, "Hélène");
    let q = person(&office.store, "Marcel");
    sync(&office.store, &relay, &mut |_| {}).unwrap();
    for phone in [&julien.store, &amina.store] {
        sync(phone, &relay, &mut |_| {}).unwrap();
    }
    julien.store.open_person(p, Via::App).unwrap();
    julien.store.open_timeline(q, Via::App).unwrap();
    amina.clock.advance_ms(60_000);
    amina.store.open_timeline(p, Via::App).unwrap();
    for phone in [&julien.store, &amina.store] {
        sync(phone, &relay, &mut |_| {}).unwrap();
    }
    sync(&office.store, &relay, &mut |_| {}).unwrap();

    let list = |query: AccessQuery| {
        office
            .store
            .access_log(&query)
            .unwrap()
            .into_iter()
            .map(|e| (e.worker, e.what, e.person))
            .collect::<Vec<_>>()
    };
    assert_eq!(list(AccessQuery::default()).len(), 3);
    let about_p = list(AccessQuery {
        person: Some(p),
        ..Default::default()
    });
    assert_eq!(
        about_p,
        vec![
            ("Julien".to_string(), "person".to_string(), Some(p)),
            ("Amina".to_string(), "timeline".to_string(), Some(p)),
        ]
    );
    let by_julien = list(AccessQuery {
        worker: Some("Julien".into()),
        ..Default::default()
    });
    assert_eq!(
        by_julien,
        vec![
            ("Julien".to_string(), "person".to_string(), Some(p)),
            ("Julien".to_string(), "timeline".to_string(), Some(q)),
        ]
    );
    // Each entry names the phone it was made on, and the replicas index the same rows.
    let entries = office.store.access_log(&AccessQuery::default()).unwrap();
    assert_eq!(
        entries[0].device,
        julien.store.identity().device.to_string()
    );
    assert_eq!(entries[0].device_name.as_deref(), Some("Téléphone B"));
    sync(&julien.store, &relay, &mut |_| {}).unwrap();
    sync(&amina.store, &relay, &mut |_| {}).unwrap();
    let rows = |s: &Store| {
        s.index_rows()
            .unwrap()
            .into_iter()
            .filter(|r| r.starts_with("access_log"))
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&office.store).len(), 3 + 2);
    assert_eq!(rows(&office.store), rows(&julien.store));
    assert_eq!(rows(&office.store), rows(&amina.store));
}
