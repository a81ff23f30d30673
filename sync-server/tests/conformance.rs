//! One conformance suite for the relay's `Storage` trait, run against both backends: SQLite (a
//! file in a temporary folder) and PostgreSQL (a fresh database per test on the cluster named by
//! `ALLERVERS_TEST_POSTGRES`, which `scripts/test.sh` starts). Every method, every refusal,
//! idempotency, paging, revocation, and concurrency through two instances over one database.
//! A storage method added later joins the suite: add its test to the `conformance!` list.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

mod common;

use allervers_protocol::{BlindedRecord, ControlBody, Envelope, WipeOrder};
use allervers_relay::storage::postgres::{PostgresOptions, PostgresStorage};
use allervers_relay::storage::{
    sha256, Enrolment, EpochOutcome, SqliteStorage, Storage, StorageError, PAGE_BYTES,
    SPACE_CODE_REFUSED,
};

/// A backend under test: a way to open it (again: a second instance over the same data), and
/// what keeps its data alive for the test.
struct Backend {
    open: Box<dyn Fn() -> Arc<dyn Storage>>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn open(&self) -> Arc<dyn Storage> {
        (self.open)()
    }
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.db");
    Backend {
        open: Box::new(move || Arc::new(SqliteStorage::open(&file).unwrap())),
        _dir: Some(dir),
    }
}

/// A fresh database on the test cluster.
fn postgres() -> Backend {
    let url = common::fresh_database("conformance");
    let options = PostgresOptions {
        max_connections: 4,
        ..PostgresOptions::default()
    };
    Backend {
        open: Box::new(move || Arc::new(PostgresStorage::connect(&url, &options).unwrap())),
        _dir: None,
    }
}

const NOW: i64 = 1_780_000_000_123;

fn space(n: u8) -> [u8; 16] {
    [n; 16]
}

fn device(n: u8) -> [u8; 16] {
    let mut d = [0xd0; 16];
    d[15] = n;
    d
}

fn token(n: u8) -> [u8; 32] {
    sha256(&[b't', n])
}

fn envelope(n: u32, size: usize) -> Envelope {
    let mut sealed = vec![0u8; size.max(8)];
    sealed[..4].copy_from_slice(&n.to_le_bytes());
    Envelope {
        record: [n as u8; 16],
        epoch: n % 3,
        nonce: [n as u8; 24],
        sealed,
        key: n.is_multiple_of(2).then(|| vec![n as u8; 40]),
    }
}

fn enrolment(space: [u8; 16], invite: [u8; 32], device: [u8; 16]) -> Enrolment {
    Enrolment {
        space,
        invite,
        device,
        sign_key: [1; 32],
        agree_key: [2; 32],
        mac: [3; 32],
    }
}

fn keys(epoch: u32, to: u8) -> ControlBody {
    ControlBody::Keys {
        epoch,
        to: device(to),
        from: device(1),
        sealed: vec![to; 48],
        signature: vec![7; 64],
    }
}

/// An erasure order by device 1 listing `(epoch, record byte)` pairs.
fn erase(records: &[(u32, u8)]) -> ControlBody {
    ControlBody::Erase {
        by: device(1),
        records: records
            .iter()
            .map(|&(epoch, r)| BlindedRecord {
                epoch,
                record: [r; 16],
            })
            .collect(),
        sealed: vec![5; 40],
        signature: vec![6; 64],
    }
}

/// The record bytes of a space's envelopes, in log order.
fn records_in(s: &dyn Storage, n: u8) -> Vec<u8> {
    let page = s.pull(space(n), 0, 1000).unwrap();
    page.envelopes
        .iter()
        .map(|e| e.envelope.record[0])
        .collect()
}

/// A space with its coordinator (device 1, token 1).
fn with_space(s: &dyn Storage, n: u8) {
    s.create_space(space(n), device(1), token(n * 16 + 1), NOW)
        .unwrap();
}

fn admin_token_is_stored_once(b: &Backend) {
    let s = b.open();
    s.check().unwrap();
    assert_eq!(s.admin_token_hash().unwrap(), None);
    assert_eq!(s.init_admin_token_hash([4; 32]).unwrap(), [4; 32]);
    // A second instance starting at the same moment finds the first one's.
    assert_eq!(b.open().init_admin_token_hash([5; 32]).unwrap(), [4; 32]);
    assert_eq!(s.admin_token_hash().unwrap(), Some([4; 32]));
}

fn a_space_is_created_once_with_its_coordinator(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    assert_eq!(
        s.create_space(space(1), device(2), token(99), NOW),
        Err(StorageError::Conflict("this space already exists"))
    );
    let caller = s.caller(token(17)).unwrap().unwrap();
    assert_eq!(caller.space, space(1));
    assert_eq!(caller.device, device(1));
    assert!(caller.coordinator && !caller.revoked);
    assert_eq!(caller.wipe_order, None);
    assert_eq!(s.caller(token(99)).unwrap(), None);
    let devices = s.devices(space(1)).unwrap();
    assert_eq!(devices.len(), 1);
    // Times the relay writes are kept to the second.
    assert_eq!(devices[0].enrolled_at_ms, 1_780_000_000_000);
    assert_eq!(devices[0].revoked_at_ms, None);
    assert!(s.devices(space(2)).unwrap().is_empty());
}

fn an_invite_enrols_once_and_logs_the_enrolment(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let invite = sha256(b"invite");
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    assert_eq!(
        s.add_invite(space(1), device(1), invite, NOW + 60_000),
        Err(StorageError::Conflict("this invite already exists"))
    );
    let seq = s
        .enroll(&enrolment(space(1), invite, device(2)), token(2), NOW)
        .unwrap();
    let log = s.control(space(1), 0, 10).unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].seq, seq);
    assert!(matches!(
        log.items[0].body,
        ControlBody::Enrolled { device: d, invite: i, .. } if d == device(2) && i == invite
    ));
    let joined = s.caller(token(2)).unwrap().unwrap();
    assert!(!joined.coordinator && !joined.revoked);
    // Used once.
    assert_eq!(
        s.enroll(&enrolment(space(1), invite, device(3)), token(3), NOW),
        Err(StorageError::NotFound(
            "this invite is unknown, already used or expired"
        ))
    );
    assert_eq!(s.caller(token(3)).unwrap(), None);
}

fn an_invite_is_refused_expired_in_another_space_or_from_a_revoked_inviter(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    with_space(&*s, 2);
    let refused = Err(StorageError::NotFound(
        "this invite is unknown, already used or expired",
    ));
    let expired = sha256(b"expired");
    s.add_invite(space(1), device(1), expired, NOW - 1).unwrap();
    assert_eq!(
        s.enroll(&enrolment(space(1), expired, device(2)), token(2), NOW),
        refused
    );
    let other = sha256(b"other space");
    s.add_invite(space(1), device(1), other, NOW + 60_000)
        .unwrap();
    assert_eq!(
        s.enroll(&enrolment(space(2), other, device(2)), token(2), NOW),
        refused
    );
    // The inviter's revocation takes its unused invites with it.
    let invite = sha256(b"inviter revoked");
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    s.revoke(space(1), device(1), None, NOW).unwrap();
    assert_eq!(
        s.enroll(&enrolment(space(1), invite, device(3)), token(3), NOW),
        refused
    );
    assert_eq!(
        s.enroll(&enrolment(space(1), other, device(4)), token(4), NOW),
        refused
    );
    assert!(s.control(space(1), 0, 10).unwrap().items.is_empty());
    // Another space's coordinator still invites.
    let fine = sha256(b"fine");
    s.add_invite(space(2), device(1), fine, NOW + 60_000)
        .unwrap();
    s.enroll(&enrolment(space(2), fine, device(4)), token(4), NOW)
        .unwrap();
}

fn a_device_enrolled_twice_is_refused_and_the_invite_stays_usable(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let (first, second) = (sha256(b"first"), sha256(b"second"));
    for invite in [first, second] {
        s.add_invite(space(1), device(1), invite, NOW + 60_000)
            .unwrap();
    }
    s.enroll(&enrolment(space(1), first, device(2)), token(2), NOW)
        .unwrap();
    assert_eq!(
        s.enroll(&enrolment(space(1), second, device(2)), token(5), NOW),
        Err(StorageError::Conflict(
            "this device is already enrolled in this space"
        ))
    );
    assert_eq!(s.control(space(1), 0, 10).unwrap().items.len(), 1);
    s.enroll(&enrolment(space(1), second, device(3)), token(3), NOW)
        .unwrap();
    assert_eq!(s.devices(space(1)).unwrap().len(), 3);
}

fn a_recovery_token_replaces_the_last_and_enrols_a_coordinator(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let (old, new) = (sha256(b"old recovery"), sha256(b"new recovery"));
    s.set_recovery(space(1), device(1), old).unwrap();
    s.set_recovery(space(1), device(1), new).unwrap();
    assert!(s
        .enroll(&enrolment(space(1), old, device(2)), token(2), NOW)
        .is_err());
    // It never expires.
    let later = NOW + 10 * 365 * 86_400_000;
    s.enroll(&enrolment(space(1), new, device(3)), token(3), later)
        .unwrap();
    assert!(s.caller(token(3)).unwrap().unwrap().coordinator);
    // A token equal to an invite's is refused, and the recovery token before it stays.
    let invite = sha256(b"invite");
    let last = sha256(b"last recovery");
    s.set_recovery(space(1), device(1), last).unwrap();
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    assert_eq!(
        s.set_recovery(space(1), device(1), invite),
        Err(StorageError::Conflict("this token already exists"))
    );
    s.enroll(&enrolment(space(1), last, device(4)), token(4), later)
        .unwrap();
}

fn a_revoked_device_keeps_its_first_revocation_and_order(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let invite = sha256(b"invite");
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    s.enroll(&enrolment(space(1), invite, device(2)), token(2), NOW)
        .unwrap();
    let order = |n: u8| WipeOrder {
        space: space(1),
        device: device(2),
        by: device(1),
        signature: vec![n; 64],
    };
    s.revoke(space(1), device(2), Some(&order(1)), NOW + 5_000)
        .unwrap();
    s.revoke(space(1), device(2), Some(&order(2)), NOW + 9_000)
        .unwrap();
    let caller = s.caller(token(2)).unwrap().unwrap();
    assert!(caller.revoked);
    assert_eq!(
        caller.wipe_order,
        Some(allervers_protocol::encode(&order(1)))
    );
    let revoked = s.devices(space(1)).unwrap()[1].clone();
    assert_eq!(revoked.device, device(2));
    assert_eq!(revoked.revoked_at_ms, Some(1_780_000_005_000));
    assert_eq!(
        s.revoke(space(1), device(9), None, NOW),
        Err(StorageError::NotFound("no such device in this space"))
    );
    assert_eq!(
        s.revoke(space(2), device(2), None, NOW),
        Err(StorageError::NotFound("no such device in this space"))
    );
    // A revoked device cannot be made a coordinator.
    let refused = Err(StorageError::NotFound(
        "no such device in this space, or it was revoked",
    ));
    assert_eq!(s.make_coordinator(space(1), device(2)), refused);
    assert_eq!(s.make_coordinator(space(1), device(9)), refused);
}

fn a_device_is_made_coordinator(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let invite = sha256(b"invite");
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    s.enroll(&enrolment(space(1), invite, device(2)), token(2), NOW)
        .unwrap();
    s.make_coordinator(space(1), device(2)).unwrap();
    assert!(s.caller(token(2)).unwrap().unwrap().coordinator);
    assert!(s.devices(space(1)).unwrap().iter().all(|d| d.coordinator));
}

fn pushes_are_numbered_idempotent_and_kept_apart_by_space(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    with_space(&*s, 2);
    let batch: Vec<Envelope> = (0..5).map(|n| envelope(n, 100)).collect();
    let seqs = s.push(space(1), &batch, NOW, 1_499).unwrap();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The same envelopes again, and one twice in one batch: stored once, same numbers.
    let again = vec![batch[3].clone(), batch[1].clone(), batch[1].clone()];
    assert_eq!(
        s.push(space(1), &again, NOW + 9_000, 0).unwrap(),
        vec![seqs[3], seqs[1], seqs[1]]
    );
    let fresh = vec![envelope(9, 100), envelope(9, 100)];
    let fresh_seqs = s.push(space(1), &fresh, NOW, 0).unwrap();
    assert_eq!(fresh_seqs[0], fresh_seqs[1]);
    assert!(fresh_seqs[0] > seqs[4]);
    // Another space holds its own copy of the same bytes.
    let other = s.push(space(2), &batch[..1], NOW, -1_500).unwrap();
    let page = s.pull(space(2), 0, 100).unwrap();
    assert_eq!(page.envelopes.len(), 1);
    assert_eq!(page.envelopes[0].seq, other[0]);
    assert_eq!(page.envelopes[0].clock_offset_ms, -2_000);
    let page = s.pull(space(1), 0, 100).unwrap();
    assert_eq!(page.envelopes.len(), 6);
    assert!(!page.more);
    assert_eq!(page.next, fresh_seqs[0]);
    for (stored, sent) in page.envelopes.iter().zip(&batch) {
        assert_eq!(&stored.envelope, sent);
        // Whole seconds; the offset of the first push that stored it, rounded.
        assert_eq!(stored.received_at_ms, 1_780_000_000_000);
        assert_eq!(stored.clock_offset_ms, 1_000);
    }
    let totals = s.totals().unwrap();
    assert_eq!(
        (totals.spaces, totals.envelopes, totals.active_devices),
        (2, 7, 2)
    );
    assert_eq!(totals.envelope_bytes, 700);
}

fn pulls_page_by_count_and_by_bytes(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let seqs = s
        .push(
            space(1),
            &(0..7).map(|n| envelope(n, 64)).collect::<Vec<_>>(),
            NOW,
            0,
        )
        .unwrap();
    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page = s.pull(space(1), after, 3).unwrap();
        pages.push(page.envelopes.iter().map(|e| e.seq).collect::<Vec<_>>());
        after = page.next;
        if !page.more {
            break;
        }
    }
    assert_eq!(
        pages,
        vec![seqs[..3].to_vec(), seqs[3..6].to_vec(), seqs[6..].to_vec()]
    );
    // Nothing new: an empty page that keeps the cursor.
    let page = s.pull(space(1), after, 3).unwrap();
    assert!(page.envelopes.is_empty() && !page.more);
    assert_eq!(page.next, after);
    // A page holds at most PAGE_BYTES of sealed bytes, and at least one envelope.
    let big: Vec<Envelope> = (100..103)
        .map(|n| envelope(n, PAGE_BYTES / 2 + 1))
        .collect();
    s.push(space(1), &big, NOW, 0).unwrap();
    let page = s.pull(space(1), after, 100).unwrap();
    assert_eq!(page.envelopes.len(), 1);
    assert!(page.more);
    let huge = envelope(200, PAGE_BYTES + 10);
    let seq = s.push(space(1), &[huge], NOW, 0).unwrap()[0];
    let page = s.pull(space(1), seq - 1, 100).unwrap();
    assert_eq!(page.envelopes.len(), 1);
    assert_eq!(page.envelopes[0].seq, seq);
}

fn control_items_are_idempotent_and_deliveries_wait_for_their_epoch(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let seqs = s.post_control(space(1), &[keys(0, 2), keys(0, 3)]).unwrap();
    assert!(seqs[0] < seqs[1]);
    assert_eq!(
        s.post_control(space(1), &[keys(0, 3)]).unwrap(),
        vec![seqs[1]]
    );
    // A delivery for an epoch not started refuses the whole post.
    assert_eq!(
        s.post_control(space(1), &[keys(0, 4), keys(1, 4)]),
        Err(StorageError::Conflict(
            "a key delivery for an epoch this relay has not started"
        ))
    );
    assert_eq!(s.control(space(1), 0, 100).unwrap().items.len(), 2);
    assert_eq!(
        s.start_epoch(space(1), 0, device(1)).unwrap(),
        EpochOutcome::Started(1)
    );
    assert_eq!(
        s.start_epoch(space(1), 0, device(1)).unwrap(),
        EpochOutcome::Stale(1)
    );
    assert_eq!(
        s.start_epoch(space(9), 0, device(1)),
        Err(StorageError::NotFound("no such space"))
    );
    s.post_control(space(1), &[keys(1, 4)]).unwrap();
    let mut after = 0;
    let mut items = Vec::new();
    loop {
        let page = s.control(space(1), after, 2).unwrap();
        assert!(page.items.len() <= 2);
        items.extend(page.items.into_iter().map(|c| c.body));
        after = page.next;
        if !page.more {
            break;
        }
    }
    assert_eq!(
        items,
        vec![
            keys(0, 2),
            keys(0, 3),
            ControlBody::Epoch {
                epoch: 1,
                by: device(1)
            },
            keys(1, 4)
        ]
    );
    assert!(s.control(space(2), 0, 10).unwrap().items.is_empty());
}

fn data_outlives_the_instance(b: &Backend) {
    let first = b.open();
    with_space(&*first, 1);
    let seqs = first
        .push(space(1), &[envelope(1, 10), envelope(2, 10)], NOW, 0)
        .unwrap();
    first.start_epoch(space(1), 0, device(1)).unwrap();
    drop(first);
    let again = b.open();
    let page = again.pull(space(1), 0, 10).unwrap();
    assert_eq!(
        page.envelopes.iter().map(|e| e.seq).collect::<Vec<_>>(),
        seqs
    );
    // Numbering continues after the last number, and the epoch is kept.
    let next = again.push(space(1), &[envelope(3, 10)], NOW, 0).unwrap();
    assert!(next[0] > seqs[1]);
    assert_eq!(
        again.start_epoch(space(1), 1, device(1)).unwrap(),
        EpochOutcome::Started(2)
    );
}

/// Writers push through two instances while readers page through both: every reader ends with
/// every envelope, so none was numbered below a number a reader had already passed.
fn concurrent_pushes_never_hide_an_envelope_from_a_reader(b: &Backend) {
    let instances = [b.open(), b.open()];
    with_space(&*instances[0], 1);
    const WRITERS: u32 = 4;
    const PUSHES: u32 = 40;
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let s = instances[w as usize % 2].clone();
            thread::spawn(move || {
                for i in 0..PUSHES {
                    let n = 1000 + w * PUSHES + i;
                    // Two envelopes per push, one of them also pushed by the next writer.
                    let shared = 1000 + ((w + 1) % WRITERS) * PUSHES + i;
                    s.push(space(1), &[envelope(n, 32), envelope(shared, 32)], NOW, 0)
                        .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let s = instances[r].clone();
            let done = done.clone();
            thread::spawn(move || {
                let mut seen = BTreeSet::new();
                let mut after = 0;
                // Bounded: the writers finish, then one last pass catches up.
                for _ in 0..100_000 {
                    let finished = done.load(Ordering::SeqCst);
                    let page = s.pull(space(1), after, 7).unwrap();
                    for e in &page.envelopes {
                        assert!(e.seq > after);
                        seen.insert(e.seq);
                    }
                    after = page.next;
                    if finished && !page.more {
                        break;
                    }
                }
                seen
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let all: BTreeSet<u64> = {
        let mut all = BTreeSet::new();
        let mut after = 0;
        loop {
            let page = instances[0].pull(space(1), after, 1000).unwrap();
            all.extend(page.envelopes.iter().map(|e| e.seq));
            after = page.next;
            if !page.more {
                break;
            }
        }
        all
    };
    assert_eq!(all.len(), (WRITERS * PUSHES) as usize);
    for r in readers {
        assert_eq!(r.join().unwrap(), all, "a reader missed envelopes");
    }
}

/// Two redemptions of one invite, two starts of the same epoch, the same envelope pushed at
/// once: through two instances, exactly one of each wins.
fn concurrent_redemptions_and_epochs_have_one_winner(b: &Backend) {
    let instances = [b.open(), b.open()];
    with_space(&*instances[0], 1);
    let invite = sha256(b"one invite");
    instances[0]
        .add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    const RACERS: u8 = 6;
    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let s = instances[n as usize % 2].clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                let enrolled = s
                    .enroll(
                        &enrolment(space(1), invite, device(10 + n)),
                        token(10 + n),
                        NOW,
                    )
                    .is_ok();
                let epoch = s.start_epoch(space(1), 0, device(1)).unwrap();
                let seq = s.push(space(1), &[envelope(77, 50)], NOW, 0).unwrap()[0];
                (enrolled, epoch, seq)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.0).count(), 1, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|r| r.1 == EpochOutcome::Started(1))
            .count(),
        1
    );
    assert!(results
        .iter()
        .all(|r| matches!(r.1, EpochOutcome::Started(1) | EpochOutcome::Stale(1))));
    assert!(results.iter().all(|r| r.2 == results[0].2));
    assert_eq!(instances[1].devices(space(1)).unwrap().len(), 2);
    assert_eq!(
        instances[1].pull(space(1), 0, 10).unwrap().envelopes.len(),
        1
    );
}

/// A write for a space the relay does not have is refused, whichever method makes it.
fn writes_to_an_unknown_space_are_refused(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    let refused = StorageError::NotFound("no such space");
    assert_eq!(
        s.add_invite(space(9), device(1), sha256(b"x"), NOW + 1_000),
        Err(refused.clone())
    );
    assert_eq!(
        s.set_recovery(space(9), device(1), sha256(b"y")),
        Err(refused.clone())
    );
    assert_eq!(
        s.post_control(space(9), &[keys(0, 2)]),
        Err(refused.clone())
    );
    assert_eq!(s.push(space(9), &[envelope(1, 10)], NOW, 0), Err(refused));
    assert!(s.control(space(9), 0, 10).unwrap().items.is_empty());
    assert!(s.pull(space(9), 0, 10).unwrap().envelopes.is_empty());
}

/// The largest limit and cursor a caller can pass are served, not wrapped into an empty page.
fn the_largest_limit_and_cursor_are_served(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    s.push(space(1), &[envelope(1, 10)], NOW, 0).unwrap();
    s.post_control(space(1), &[keys(0, 2)]).unwrap();
    let page = s.pull(space(1), 0, usize::MAX).unwrap();
    assert_eq!((page.envelopes.len(), page.more), (1, false));
    let page = s.control(space(1), 0, usize::MAX).unwrap();
    assert_eq!((page.items.len(), page.more), (1, false));
    assert!(s.pull(space(1), u64::MAX, 10).unwrap().envelopes.is_empty());
    assert!(s.control(space(1), u64::MAX, 10).unwrap().items.is_empty());
}

fn an_erasure_deletes_its_records_and_refuses_their_pushes(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    with_space(&*s, 2);
    // Envelope n is record n under epoch n % 3.
    let batch: Vec<Envelope> = (0..7).map(|n| envelope(n, 100)).collect();
    s.push(space(1), &batch, NOW, 0).unwrap();
    s.push(space(2), &batch[3..4], NOW, 0).unwrap();
    // An order naming an epoch the space has not started is refused whole.
    assert!(matches!(
        s.post_control(space(1), &[erase(&[(0, 3), (1, 1)])]),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(records_in(&*s, 1), vec![0, 1, 2, 3, 4, 5, 6]);
    // Records 3 and 6 (epoch 0) go; a listed pair that was never pushed is fine.
    let order = erase(&[(0, 3), (0, 6), (0, 42)]);
    let seqs = s
        .post_control(space(1), std::slice::from_ref(&order))
        .unwrap();
    assert_eq!(records_in(&*s, 1), vec![0, 1, 2, 4, 5]);
    // Only in this space: another space's copy of the same bytes stays.
    assert_eq!(records_in(&*s, 2), vec![3]);
    // Devices read the order in the control log; posted again, it keeps its number.
    let log = s.control(space(1), 0, 10).unwrap();
    assert_eq!(
        log.items.last().map(|c| (c.seq, &c.body)),
        Some((seqs[0], &order))
    );
    assert_eq!(
        s.post_control(space(1), std::slice::from_ref(&order))
            .unwrap(),
        seqs
    );
    // A push carrying an erased pair is refused whole: the envelope beside it is not stored.
    assert!(matches!(
        s.push(space(1), &[envelope(10, 100), batch[3].clone()], NOW, 0),
        Err(StorageError::Conflict(_))
    ));
    let mut changed = envelope(6, 150);
    changed.sealed[5] = 1;
    assert!(matches!(
        s.push(space(1), &[changed.clone()], NOW, 0),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(records_in(&*s, 1), vec![0, 1, 2, 4, 5]);
    // The same record under another epoch (its id blinded otherwise), or in another space, is
    // not an erased pair.
    changed.epoch = 1;
    s.push(space(1), &[changed], NOW, 0).unwrap();
    s.push(space(2), &batch[6..7], NOW, 0).unwrap();
    assert_eq!(records_in(&*s, 1), vec![0, 1, 2, 4, 5, 6]);
    assert_eq!(records_in(&*s, 2), vec![3, 6]);
    // A second instance over the same data refuses the erased pairs too.
    let again = b.open();
    assert!(matches!(
        again.push(space(1), &batch[3..4], NOW, 0),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(s.totals().unwrap().envelopes, 8);
}

/// Redeems the space code whose token is `code` for a new space `new`, by device `by` with the
/// token hash `token(by)`.
fn redeem(s: &dyn Storage, code: &[u8], new: u8, by: u8, now: i64) -> Result<(), StorageError> {
    s.create_linked_space(sha256(code), space(new), device(by), token(by), now)
}

fn a_space_code_registers_one_new_space_with_its_redeemer_as_coordinator(b: &Backend) {
    let s = b.open();
    with_space(&*s, 1);
    s.add_space_invite(space(1), device(1), sha256(b"health"), NOW + 60_000)
        .unwrap();
    assert_eq!(
        s.add_space_invite(space(1), device(1), sha256(b"health"), NOW + 60_000),
        Err(StorageError::Conflict("this space code already exists"))
    );
    redeem(&*s, b"health", 2, 5, NOW).unwrap();
    // The redeemer's token is the new space's coordinator's, and only that space's.
    let founder = s.caller(token(5)).unwrap().unwrap();
    assert_eq!((founder.space, founder.device), (space(2), device(5)));
    assert!(founder.coordinator && !founder.revoked);
    let devices = s.devices(space(2)).unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].device == device(5) && devices[0].coordinator);
    assert_eq!(devices[0].enrolled_at_ms, 1_780_000_000_000);
    let seqs = s.push(space(2), &[envelope(1, 50)], NOW, 0).unwrap();
    let page = s.pull(space(2), 0, 10).unwrap();
    assert_eq!(page.envelopes.len(), 1);
    assert_eq!(page.envelopes[0].seq, seqs[0]);
    assert_eq!(page.envelopes[0].envelope, envelope(1, 50));
    // The spaces share nothing: no device, no envelope, no control item.
    assert_eq!(s.devices(space(1)).unwrap().len(), 1);
    assert!(s.pull(space(1), 0, 10).unwrap().envelopes.is_empty());
    assert!(s.control(space(1), 0, 10).unwrap().items.is_empty());
    assert!(s.control(space(2), 0, 10).unwrap().items.is_empty());
    // Used once: a second redemption registers nothing.
    assert_eq!(redeem(&*s, b"health", 3, 6, NOW), Err(SPACE_CODE_REFUSED));
    assert_eq!(s.caller(token(6)).unwrap(), None);
    assert!(s.devices(space(3)).unwrap().is_empty());
    // The new space's coordinator opens spaces in turn, and the admin route still registers.
    s.add_space_invite(space(2), device(5), sha256(b"partner"), NOW + 60_000)
        .unwrap();
    redeem(&*s, b"partner", 4, 7, NOW).unwrap();
    s.create_space(space(5), device(8), token(8), NOW).unwrap();
    assert_eq!(
        s.create_space(space(2), device(9), token(9), NOW),
        Err(StorageError::Conflict("this space already exists"))
    );
    assert_eq!(s.totals().unwrap().spaces, 4);
}

fn a_space_code_is_refused_unknown_expired_from_a_worker_or_from_a_revoked_coordinator(
    b: &Backend,
) {
    let s = b.open();
    with_space(&*s, 1);
    assert_eq!(
        redeem(&*s, b"never made", 2, 5, NOW),
        Err(SPACE_CODE_REFUSED)
    );
    // Expired.
    s.add_space_invite(space(1), device(1), sha256(b"expired"), NOW)
        .unwrap();
    assert_eq!(redeem(&*s, b"expired", 2, 5, NOW), Err(SPACE_CODE_REFUSED));
    // A worker of the space, a device of another space, an unknown space.
    let invite = sha256(b"invite");
    s.add_invite(space(1), device(1), invite, NOW + 60_000)
        .unwrap();
    s.enroll(&enrolment(space(1), invite, device(2)), token(2), NOW)
        .unwrap();
    let not_coordinator = Err(StorageError::Forbidden(
        "only a coordinator's device may do this",
    ));
    assert_eq!(
        s.add_space_invite(space(1), device(2), sha256(b"worker"), NOW + 60_000),
        not_coordinator
    );
    with_space(&*s, 3);
    s.revoke(space(3), device(1), None, NOW).unwrap();
    assert_eq!(
        s.add_space_invite(space(3), device(1), sha256(b"revoked"), NOW + 60_000),
        not_coordinator
    );
    assert_eq!(
        s.add_space_invite(space(9), device(1), sha256(b"nowhere"), NOW + 60_000),
        Err(StorageError::NotFound("no such space"))
    );
    assert_eq!(redeem(&*s, b"worker", 2, 5, NOW), Err(SPACE_CODE_REFUSED));
    // A coordinator revoked after making a code takes it along.
    s.make_coordinator(space(1), device(2)).unwrap();
    s.add_space_invite(space(1), device(2), sha256(b"pending"), NOW + 60_000)
        .unwrap();
    s.revoke(space(1), device(2), None, NOW).unwrap();
    assert_eq!(redeem(&*s, b"pending", 2, 5, NOW), Err(SPACE_CODE_REFUSED));
    assert_eq!(s.totals().unwrap().spaces, 2);
    assert_eq!(s.caller(token(5)).unwrap(), None);
}

fn a_space_code_for_a_taken_space_id_stays_usable_and_expired_codes_go_at_the_next_redemption(
    b: &Backend,
) {
    let s = b.open();
    with_space(&*s, 1);
    s.add_space_invite(space(1), device(1), sha256(b"short"), NOW + 1_000)
        .unwrap();
    s.add_space_invite(space(1), device(1), sha256(b"long"), NOW + 60_000)
        .unwrap();
    // The taken id is refused and nothing is written: no device, the code not used.
    assert_eq!(
        redeem(&*s, b"long", 1, 5, NOW),
        Err(StorageError::Conflict("this space already exists"))
    );
    assert_eq!(s.caller(token(5)).unwrap(), None);
    assert_eq!(s.devices(space(1)).unwrap().len(), 1);
    redeem(&*s, b"long", 2, 5, NOW + 2_000).unwrap();
    // That redemption, after the short code expired, deleted it: it registers nothing even at
    // a time before its expiry.
    assert_eq!(redeem(&*s, b"short", 3, 6, NOW), Err(SPACE_CODE_REFUSED));
    assert_eq!(s.totals().unwrap().spaces, 2);
}

/// Six redemptions of one space code at once, through two instances, each for a space id of
/// its own: exactly one registers its space.
fn concurrent_redemptions_of_a_space_code_have_one_winner(b: &Backend) {
    let instances = [b.open(), b.open()];
    with_space(&*instances[0], 1);
    instances[0]
        .add_space_invite(space(1), device(1), sha256(b"one code"), NOW + 60_000)
        .unwrap();
    const RACERS: u8 = 6;
    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let s = instances[n as usize % 2].clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                redeem(&*s, b"one code", 10 + n, 10 + n, NOW)
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || *r == Err(SPACE_CODE_REFUSED)));
    assert_eq!(instances[1].totals().unwrap().spaces, 2);
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $test() { super::$test(&super::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $test() { super::$test(&super::postgres()) })*
        }
    };
}

conformance!(
    admin_token_is_stored_once,
    a_space_is_created_once_with_its_coordinator,
    an_invite_enrols_once_and_logs_the_enrolment,
    an_invite_is_refused_expired_in_another_space_or_from_a_revoked_inviter,
    a_device_enrolled_twice_is_refused_and_the_invite_stays_usable,
    a_recovery_token_replaces_the_last_and_enrols_a_coordinator,
    a_revoked_device_keeps_its_first_revocation_and_order,
    a_device_is_made_coordinator,
    pushes_are_numbered_idempotent_and_kept_apart_by_space,
    pulls_page_by_count_and_by_bytes,
    control_items_are_idempotent_and_deliveries_wait_for_their_epoch,
    data_outlives_the_instance,
    concurrent_pushes_never_hide_an_envelope_from_a_reader,
    concurrent_redemptions_and_epochs_have_one_winner,
    writes_to_an_unknown_space_are_refused,
    the_largest_limit_and_cursor_are_served,
    an_erasure_deletes_its_records_and_refuses_their_pushes,
    a_space_code_registers_one_new_space_with_its_redeemer_as_coordinator,
    a_space_code_is_refused_unknown_expired_from_a_worker_or_from_a_revoked_coordinator,
    a_space_code_for_a_taken_space_id_stays_usable_and_expired_codes_go_at_the_next_redemption,
    concurrent_redemptions_of_a_space_code_have_one_winner,
);
