//! End to end against a real relay process: what a misbehaving member device, or the relay's
//! operator, can send into a space, and what the honest devices make of it. A member forges
//! changes under another device's actor, rewrites another device's roster entry, pushes random
//! and refused envelopes or a page that inflates to gigabytes; a relay swaps a joining device's
//! keys; a device holding a leaked space key but no coordinator's grant syncs into the space; a
//! used invite code and a revoked device's keys are tried on everything the relay stores; a refusal without a trusted wipe order must erase nothing. The test-only hooks that
//! seal, sign and open what a store never would are in `allervers_core::fuzzing`.

use allervers_client::{HttpClient, RelayApi, Transport};
use allervers_core::store::{EnrolmentStatus, ROSTER_ID};
use allervers_core::{
    fuzzing, CoreError, DeviceId, Edit, Invite, Kind, PersonQuery, RecordId, SetAside, Store,
    SyncSummary, Value,
};
use allervers_e2e::{
    assert_identical, create_space, device, invite, join, person, welcome, Device, RelayProcess,
};
use allervers_protocol::{ControlBody, Envelope, Push};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ReadDoc, ROOT};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::alloc_peak::peak_during;

fn sync(d: &Device) -> SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

fn try_sync(d: &Device) -> allervers_core::Result<SyncSummary> {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {})
}

fn space_of(store: &Store) -> [u8; 16] {
    store.membership().unwrap().unwrap().space
}

/// A generated French name (first name and an initial), different at each call of one `rng`.
fn name(rng: &mut StdRng) -> String {
    let first = allervers_core::seed::FIRST_NAMES
        [rng.gen_range(0..allervers_core::seed::FIRST_NAMES.len())];
    format!("{first} {}.", (b'A' + rng.gen_range(0..26u8)) as char)
}

fn id16(device: &DeviceId) -> [u8; 16] {
    device.to_bytes().try_into().unwrap()
}

/// A coordinator's device `a` and members `b` and `c` in one space, each holding the key and
/// knowing the others' keys (their roster entries went round).
struct Team {
    relay: RelayProcess,
    a: Device,
    b: Device,
    c: Device,
    _dir: tempfile::TempDir,
}

fn team(space: &str, rng: &mut StdRng) -> Team {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let a = device("Téléphone coordination", &name(rng));
    let b = device("Téléphone 2", &name(rng));
    let c = device("Téléphone 3", &name(rng));
    create_space(&relay, &a.store, space);
    join(&b.store, &invite(&a.store)).unwrap();
    join(&c.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store, &c.store]);
    for d in [&a, &b, &c, &a] {
        sync(d);
    }
    assert_eq!(a.store.devices().unwrap().len(), 3);
    Team {
        relay,
        a,
        b,
        c,
        _dir: dir,
    }
}

/// Pushes envelopes with `d`'s token, as its device could: their sequence numbers at the relay.
fn push_as(d: &Device, envelopes: Vec<Envelope>) -> Vec<u64> {
    let m = d.store.membership().unwrap().unwrap();
    HttpClient::default()
        .push(
            &m.relay,
            &m.space,
            &m.token,
            &Push {
                envelopes,
                sent_at_ms: chrono::Utc::now().timestamp_millis(),
            },
        )
        .unwrap()
        .seqs
}

/// One Automerge change to `record` as `store` holds it, written under `actor` by `edit`: what
/// a device holding the record can make, whoever it claims to be.
fn forge(
    store: &Store,
    record: RecordId,
    actor: &DeviceId,
    edit: impl FnOnce(&mut AutoCommit),
) -> Vec<u8> {
    let mut doc = AutoCommit::load(&store.record_document(record).unwrap()).unwrap();
    doc.set_actor(actor.actor().clone());
    edit(&mut doc);
    doc.commit_with(CommitOptions::default().with_time(store.now().timestamp_millis()));
    doc.get_last_local_change().unwrap().raw_bytes().to_vec()
}

/// The roster entry object of `device` in a roster document.
fn entry(doc: &AutoCommit, device: &DeviceId) -> automerge::ObjId {
    match doc.get(ROOT, format!("device:{device}")).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        other => panic!("no roster entry for {device}: {other:?}"),
    }
}

/// The envelopes `d` quarantined, by sequence number.
fn quarantined(d: &Device) -> Vec<SetAside> {
    d.store
        .set_aside(&space_of(&d.store))
        .unwrap()
        .into_iter()
        .filter(|s| s.quarantined)
        .collect()
}

/// `d` quarantined the envelope at `seq`, for a reason that says one of `words`.
fn assert_quarantined(d: &Device, seq: u64, words: &[&str]) {
    let who = d.store.identity().device_name.clone();
    let all = quarantined(d);
    let found = all
        .iter()
        .find(|s| s.seq == seq)
        .unwrap_or_else(|| panic!("{who}: envelope {seq} is not quarantined: {all:?}"));
    assert!(
        words.iter().any(|w| found.reason.contains(w)),
        "{who}: envelope {seq} quarantined for {:?}, expected one of {words:?}",
        found.reason
    );
}

/// The envelopes the relay stores, with their sequence numbers, read from its database file.
pub(crate) fn relay_envelopes(relay: &RelayProcess) -> Vec<(u64, Envelope)> {
    let db = rusqlite::Connection::open_with_flags(
        relay.data.join("relay.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db
        .prepare(
            "SELECT seq, record, epoch, nonce, sealed, wrapped_key FROM envelopes ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            Envelope {
                record: r.get::<_, Vec<u8>>(1)?.try_into().unwrap(),
                epoch: r.get(2)?,
                nonce: r.get::<_, Vec<u8>>(3)?.try_into().unwrap(),
                sealed: r.get(4)?,
                key: r.get(5)?,
            },
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_change_forged_under_another_devices_actor_is_quarantined_and_the_real_authors_next_edit_still_arrives(
) {
    let rng = &mut StdRng::seed_from_u64(1);
    let Team { a, b, c, .. } = &team("Maraude faussaire", rng);
    let karim = person(&a.store, &name(rng));
    for d in [a, b, c] {
        sync(d);
    }
    let b_id = b.store.identity().device.clone();
    // c writes b's change to a record it holds: signed with its own keys, and with none.
    let signed = forge(&c.store, karim, &b_id, |doc| {
        doc.put(ROOT, "nickname", "Surnom inventé").unwrap();
    });
    let unsigned = forge(&c.store, karim, &b_id, |doc| {
        doc.put(ROOT, "nickname", "Autre surnom inventé").unwrap();
    });
    let envelopes = vec![
        fuzzing::seal_change(
            &c.store,
            karim,
            &signed,
            fuzzing::sign_change(&c.store, karim, &signed).unwrap(),
        )
        .unwrap(),
        fuzzing::seal_change(&c.store, karim, &unsigned, Vec::new()).unwrap(),
    ];
    let seqs = push_as(c, envelopes);
    assert_eq!(seqs.len(), 2);

    for d in [a, b, c] {
        sync(d);
    }
    for d in [a, b, c] {
        for &seq in &seqs {
            assert_quarantined(d, seq, &["signature", "author"]);
        }
        let history = d.store.history(karim).unwrap();
        assert!(
            history.iter().all(|h| h.author.device != b_id.to_string()),
            "an entry is attributed to b, who wrote nothing: {history:?}"
        );
        assert_eq!(d.store.person(karim).unwrap().nickname, None);
    }

    // b's own first edit of the record takes the sequence number the forgeries claimed.
    b.clock.advance_ms(60_000);
    b.store
        .edit(
            karim,
            &[Edit::Set("nickname".into(), Value::Text("Le vrai".into()))],
        )
        .unwrap();
    let seq_of = |bytes: &[u8]| automerge::Change::from_bytes(bytes.to_vec()).unwrap().seq();
    let genuine = AutoCommit::load(&b.store.record_document(karim).unwrap())
        .unwrap()
        .get_changes(&[])
        .into_iter()
        .find(|ch| ch.actor_id() == b_id.actor())
        .map(|ch| ch.seq())
        .unwrap();
    assert_eq!(genuine, seq_of(&signed));
    assert_eq!(genuine, seq_of(&unsigned));
    for d in [b, a, c, a] {
        sync(d);
    }
    for d in [a, b, c] {
        assert_eq!(
            d.store.person(karim).unwrap().nickname.as_deref(),
            Some("Le vrai")
        );
        let by_b: Vec<_> = d
            .store
            .history(karim)
            .unwrap()
            .into_iter()
            .filter(|h| h.author.device == b_id.to_string())
            .collect();
        assert_eq!(by_b.len(), 1, "{by_b:?}");
        assert_eq!(by_b[0].new, Some(Value::Text("Le vrai".into())));
    }
    assert_identical(&[&a.store, &b.store, &c.store]);
}

#[test]
fn a_roster_change_that_rewrites_another_devices_entry_or_the_recovery_grant_is_quarantined() {
    let rng = &mut StdRng::seed_from_u64(2);
    let Team { a, b, c, .. } = &team("Maraude usurpée", rng);
    let b_id = b.store.identity().device.clone();
    let c_id = c.store.identity().device.clone();
    let entry_of = |store: &Store| {
        store
            .devices()
            .unwrap()
            .into_iter()
            .find(|d| d.device == b_id)
            .map(|d| (d.name, d.worker))
            .unwrap()
    };
    let before = entry_of(&a.store);
    assert_eq!(before.0, "Téléphone 2");

    // c's own change, validly signed by c: b's entry renamed inside, and replaced at the root.
    let renamed = forge(&c.store, ROSTER_ID, &c_id, |doc| {
        let obj = entry(doc, &b_id);
        doc.put(&obj, "name", "Téléphone volé").unwrap();
    });
    let replaced = forge(&c.store, ROSTER_ID, &c_id, |doc| {
        let obj = doc
            .put_object(ROOT, format!("device:{b_id}"), automerge::ObjType::Map)
            .unwrap();
        doc.put(&obj, "name", "Téléphone remplacé").unwrap();
        doc.put(&obj, "worker", name(&mut StdRng::seed_from_u64(20)))
            .unwrap();
    });
    // And a recovery identity of its own: the role of coordinator, for whoever holds c's
    // made-up code.
    let recovery = forge(&c.store, ROSTER_ID, &c_id, |doc| {
        doc.put(
            ROOT,
            "recovery",
            automerge::ScalarValue::Bytes(vec![7; 200]),
        )
        .unwrap();
    });
    let envelopes = [renamed, replaced, recovery]
        .iter()
        .map(|bytes| {
            let signature = fuzzing::sign_change(&c.store, ROSTER_ID, bytes).unwrap();
            fuzzing::seal_change(&c.store, ROSTER_ID, bytes, signature).unwrap()
        })
        .collect();
    let seqs = push_as(c, envelopes);
    for d in [a, b, c] {
        sync(d);
    }
    for d in [a, b, c] {
        for &seq in &seqs[..2] {
            assert_quarantined(d, seq, &["another device's roster entry"]);
        }
        assert_quarantined(d, seqs[2], &["only a coordinator"]);
        assert_eq!(entry_of(&d.store), before);
    }
}

#[test]
fn random_and_refused_envelopes_are_quarantined_everywhere_sync_goes_on_and_a_late_device_restores_the_rest(
) {
    let rng = &mut StdRng::seed_from_u64(3);
    let Team { a, b, c, .. } = &team("Maraude bruitée", rng);
    let p = person(&a.store, &name(rng));
    for d in [a, b, c] {
        sync(d);
    }
    let b_id = b.store.identity().device.clone();
    let c_id = c.store.identity().device.clone();
    let random = Envelope {
        record: rng.gen(),
        epoch: 0,
        nonce: rng.gen(),
        sealed: (0..40).map(|_| rng.gen()).collect(),
        key: Some((0..72).map(|_| rng.gen()).collect()),
    };
    // Validly signed by c, refused by a check every device makes: a person made an encounter,
    // and b's roster entry deleted.
    let to_encounter = forge(&c.store, p, &c_id, |doc| {
        doc.put(ROOT, "kind", "encounter").unwrap();
    });
    let delete_entry = forge(&c.store, ROSTER_ID, &c_id, |doc| {
        doc.delete(ROOT, format!("device:{b_id}")).unwrap();
    });
    let signed = |record, bytes: &[u8]| {
        let signature = fuzzing::sign_change(&c.store, record, bytes).unwrap();
        fuzzing::seal_change(&c.store, record, bytes, signature).unwrap()
    };
    let seqs = push_as(
        c,
        vec![
            random,
            signed(p, &to_encounter),
            signed(ROSTER_ID, &delete_entry),
        ],
    );
    assert_eq!(seqs.len(), 3);
    // Written after them.
    let later = person(&a.store, &name(rng));
    sync(a);

    let reasons: [&[&str]; 3] = [
        &["record key does not open"],
        &["changes the kind", "is a person here"],
        &["another device's roster entry"],
    ];
    let check = |d: &Device| {
        for (seq, words) in seqs.iter().zip(reasons) {
            assert_quarantined(d, *seq, words);
        }
        assert!(d.store.pull_cursor(&space_of(&d.store)).unwrap() > seqs[2]);
        assert_eq!(d.store.kind_of(p).unwrap(), Kind::Person);
        assert!(d.store.person(later).is_ok());
        assert!(d.store.devices().unwrap().iter().any(|e| e.device == b_id));
    };
    for d in [b, c, a] {
        sync(d);
    }
    for d in [a, b, c] {
        check(d);
    }
    // Each keeps syncing: b's next write reaches the others.
    let after = person(&b.store, &name(rng));
    for d in [b, a, c] {
        sync(d);
    }
    for d in [a, c] {
        assert!(d.store.person(after).is_ok());
    }

    // A device that joins now holds everything until its key arrives, then restores all but the
    // three, which it quarantines too.
    let late = device("Téléphone 4", &name(rng));
    join(&late.store, &invite(&a.store)).unwrap();
    sync(&late);
    sync(a);
    let restored = sync(&late);
    assert_eq!(restored.keys_received, 1, "{restored:?}");
    for d in [a, b, c] {
        sync(d);
    }
    check(&late);
    assert_eq!(quarantined(&late).len(), 3, "{:?}", quarantined(&late));
    assert_identical(&[&a.store, &b.store, &c.store, &late.store]);
    assert_eq!(
        late.store
            .list_persons(&PersonQuery::default())
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_device_holding_the_space_key_without_a_coordinators_grant_gets_nothing_applied_anywhere() {
    let rng = &mut StdRng::seed_from_u64(9);
    let Team { a, b, c, .. } = &team("Maraude à clé divulguée", rng);
    // The space's key and c's device token leaked to a device no coordinator added: it joins
    // with them and syncs like any device (its roster entry, then a person).
    let intruder = device("Téléphone inconnu", &name(rng));
    let m = c.store.membership().unwrap().unwrap();
    intruder.store.join_space(&m).unwrap();
    for (epoch, key) in fuzzing::space_keys_held(&c.store).unwrap() {
        intruder
            .store
            .keep_space_key(&m.space, epoch, &allervers_core::RawKey::from_bytes(key))
            .unwrap();
    }
    let intruded = person(&intruder.store, &name(rng));
    let pushed = sync(&intruder);
    assert_eq!(pushed.pushed, 2, "{pushed:?}");
    let intruder_id = intruder.store.identity().device.clone();
    let later = person(&b.store, &name(rng));

    let check = |d: &Device| {
        let aside = d.store.set_aside(&space_of(&d.store)).unwrap();
        // Its roster entry is refused for want of a grant; its person waits for keys no
        // device will ever learn.
        let refused: Vec<_> = aside
            .iter()
            .filter(|s| s.quarantined && s.reason.contains("grant"))
            .collect();
        assert_eq!(refused.len(), 1, "{aside:?}");
        assert_eq!(
            aside.iter().filter(|s| !s.quarantined).count(),
            1,
            "{aside:?}"
        );
        assert!(d.store.person(intruded).is_err());
        assert!(d.store.person(later).is_ok());
        assert!(!d
            .store
            .devices()
            .unwrap()
            .iter()
            .any(|e| e.device == intruder_id));
    };
    for d in [b, a, c, b] {
        sync(d);
    }
    for d in [a, b, c] {
        check(d);
    }
    // A device that joins later restores everything else, and sets the two aside too.
    let late = device("Téléphone 4", &name(rng));
    join(&late.store, &invite(&a.store)).unwrap();
    sync(&late);
    sync(a);
    sync(&late);
    for d in [a, b, c] {
        sync(d);
    }
    check(&late);
    assert_identical(&[&a.store, &b.store, &c.store, &late.store]);
}

/// Envelopes of the bomb, and what each change holds once inflated.
const BOMB_ENVELOPES: usize = 768;
const BOMB_CHANGE: usize = 4 * 1024 * 1024;
/// The most the syncing thread may allocate while it applies them.
const BOMB_BOUND: usize = 200 * 1024 * 1024;

#[test]
fn a_page_that_inflates_to_gigabytes_is_applied_within_a_bounded_allocation() {
    const { assert!(BOMB_ENVELOPES * BOMB_CHANGE >= 3 * 1024 * 1024 * 1024) };
    let rng = &mut StdRng::seed_from_u64(4);
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let a = device("Téléphone coordination", &name(rng));
    let b = device("Téléphone 2", &name(rng));
    create_space(&relay, &a.store, "Maraude compressée");
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&b.store]);
    sync(&a);
    // One change of a new person named with megabytes of one letter (a few kilobytes once
    // deflated), sealed by b for many records: unsigned, so that each is opened, inflated and
    // parsed, then quarantined, and nothing of gigabytes is stored.
    let mut doc = AutoCommit::new();
    doc.set_actor(b.store.identity().device.actor().clone());
    doc.put(ROOT, "kind", "person").unwrap();
    doc.put(ROOT, "name", "a".repeat(BOMB_CHANGE)).unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    assert!(change.len() >= BOMB_CHANGE);
    let mut pushed = 0;
    let mut sealed = 0;
    while pushed < BOMB_ENVELOPES {
        let batch: Vec<Envelope> = (0..128.min(BOMB_ENVELOPES - pushed))
            .map(|_| {
                let record = RecordId::from_bytes(rng.gen());
                let env = fuzzing::seal_change(&b.store, record, &change, Vec::new()).unwrap();
                sealed += env.sealed.len();
                env
            })
            .collect();
        pushed += push_as(&b, batch).len();
    }
    assert!(
        sealed < BOMB_ENVELOPES * 16 * 1024,
        "small envelopes: {sealed} bytes"
    );

    let (summary, peak) = peak_during(|| sync(&a));
    assert_eq!(summary.quarantined, BOMB_ENVELOPES, "{summary:?}");
    assert!(
        peak < BOMB_BOUND,
        "the sync thread held {} MiB at its peak",
        peak >> 20
    );
    // And the space goes on.
    let later = person(&b.store, &name(rng));
    sync(&b);
    sync(&a);
    assert!(a.store.person(later).is_ok());
}

#[test]
fn an_enrolment_whose_keys_a_relay_swapped_is_refused_and_receives_no_key() {
    let rng = &mut StdRng::seed_from_u64(5);
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let a = device("Téléphone coordination", &name(rng));
    let honest = device("Téléphone 2", &name(rng));
    let relay_device = device("Appareil du relais", &name(rng));
    create_space(&relay, &a.store, "Maraude interceptée");
    join(&honest.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&honest.store]);
    person(&a.store, &name(rng));
    sync(&a);

    // The relay saw the redemption token go by; it enrols its own keys with it, under a MAC it
    // can only make with a secret of its own.
    let invite = Invite::from_code(&invite(&a.store)).unwrap();
    let mut enroll = relay_device.store.enrolment(&invite);
    enroll.mac = relay_device
        .store
        .enrolment(&Invite {
            secret: rng.gen(),
            ..invite.clone()
        })
        .mac;
    let token = HttpClient::default()
        .enroll(&invite.relay, &enroll)
        .unwrap()
        .device_token;
    relay_device.store.join_invited(&invite, token).unwrap();

    let refused_id = relay_device.store.identity().device.clone();
    let summary = sync(&a);
    assert_eq!(summary.approved, 0, "{summary:?}");
    let enrolment = a
        .store
        .enrolments()
        .unwrap()
        .into_iter()
        .find(|e| e.device == refused_id)
        .unwrap();
    assert_eq!(enrolment.status, EnrolmentStatus::Refused);
    let err = a.store.approve(&refused_id.to_string()).unwrap_err();
    assert!(
        matches!(err, CoreError::InvalidInput { .. }),
        "approve: {err:?}"
    );
    sync(&a);
    let got = sync(&relay_device);
    assert_eq!(got.keys_received, 0, "{got:?}");
    let space = space_of(&a.store);
    assert!(!relay_device.store.holds_space_key(&space).unwrap());
    assert!(fuzzing::space_keys_held(&relay_device.store)
        .unwrap()
        .is_empty());

    // No delivery in the control log opens with the swapped keys; the honest device's does.
    let m = a.store.membership().unwrap().unwrap();
    let log = HttpClient::default()
        .control(&m.relay, &m.space, &m.token, 0, 1_000)
        .unwrap();
    assert!(!log.more);
    let deliveries: Vec<&ControlBody> = log
        .items
        .iter()
        .map(|i| &i.body)
        .filter(|b| matches!(b, ControlBody::Keys { .. }))
        .collect();
    assert!(deliveries
        .iter()
        .any(|b| fuzzing::opens_delivery(&honest.store, &space, b)));
    assert!(deliveries
        .iter()
        .all(|b| !fuzzing::opens_delivery(&relay_device.store, &space, b)));
}

#[test]
fn a_used_invite_code_is_refused_and_no_part_of_it_opens_any_envelope() {
    let rng = &mut StdRng::seed_from_u64(6);
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let a = device("Téléphone coordination", &name(rng));
    let b = device("Téléphone 2", &name(rng));
    let c = device("Téléphone 3", &name(rng));
    create_space(&relay, &a.store, "Maraude du code");
    let code = invite(&a.store);
    join(&b.store, &code).unwrap();
    welcome(&a.store, &[&b.store]);
    person(&a.store, &name(rng));
    person(&b.store, &name(rng));
    sync(&b);
    sync(&a);

    let err = join(&c.store, &code).unwrap_err();
    assert!(
        matches!(err, CoreError::RelayRefused { status: 404, .. }),
        "{err:?}"
    );

    use base64::Engine;
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(code.strip_prefix("ALV2-").unwrap())
        .unwrap();
    let envelopes: Vec<Envelope> = relay_envelopes(&relay)
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert!(envelopes.len() >= 4, "{}", envelopes.len());
    let a_keys = fuzzing::space_keys_held(&a.store).unwrap();
    for env in &envelopes {
        assert!(a_keys
            .iter()
            .any(|(_, k)| fuzzing::opens_with_space_key(env, k)));
        for window in decoded.windows(32) {
            let window: &[u8; 32] = window.try_into().unwrap();
            assert!(!fuzzing::opens_with_space_key(env, window));
            assert!(!fuzzing::opens_with_record_key(env, window));
        }
    }
}

#[test]
fn a_revoked_devices_keys_open_nothing_sealed_after_the_rotation_and_its_store_is_erased() {
    let rng = &mut StdRng::seed_from_u64(7);
    let Team { relay, a, b, c, .. } = &team("Maraude révoquée", rng);
    for d in [a, b, c] {
        person(&d.store, &name(rng));
    }
    for d in [a, b, c, a, b, c] {
        sync(d);
    }
    let c_space = fuzzing::space_keys_held(&c.store).unwrap();
    let c_records = fuzzing::record_keys_held(&c.store).unwrap();
    assert!(!c_space.is_empty() && c_records.len() >= 3);
    let c_keys: Vec<[u8; 32]> = c_space
        .iter()
        .map(|(_, k)| *k)
        .chain(c_records.iter().copied())
        .collect();

    let c_id = c.store.identity().device.clone();
    let revoked = allervers_client::revoke(&a.store, &HttpClient::default(), &c_id).unwrap();
    assert!(revoked.undelivered.is_empty(), "{revoked:?}");
    sync(b);
    for d in [a, b] {
        person(&d.store, &name(rng));
        d.store
            .edit(
                d.store.list_persons(&PersonQuery::default()).unwrap()[0].id,
                &[Edit::Set("nickname".into(), Value::Text(name(rng)))],
            )
            .unwrap();
    }
    for d in [a, b, a] {
        sync(d);
    }

    let envelopes: Vec<Envelope> = relay_envelopes(relay).into_iter().map(|(_, e)| e).collect();
    let (after, before): (Vec<&Envelope>, Vec<&Envelope>) =
        envelopes.iter().partition(|e| e.epoch >= revoked.epoch);
    assert!(after.len() >= 4, "{} sealed after", after.len());
    let opens = |env: &Envelope| {
        c_keys.iter().any(|k| {
            fuzzing::opens_with_space_key(env, k) || fuzzing::opens_with_record_key(env, k)
        })
    };
    assert!(
        before.iter().any(|e| opens(e)),
        "c's keys open what was sealed before"
    );
    for env in after {
        assert!(
            !opens(env),
            "c's keys open an envelope of epoch {}",
            env.epoch
        );
    }

    let err = try_sync(c).unwrap_err();
    assert!(matches!(err, CoreError::Wiped), "{err:?}");
    assert!(!c.dir.path().join("store.db").exists());
}

#[test]
fn a_refusal_without_a_wipe_order_the_device_trusts_erases_nothing() {
    let rng = &mut StdRng::seed_from_u64(8);
    let Team { a, b, c, .. } = &team("Maraude prudente", rng);
    // Two more members: one revoked with an order b signed as itself, one with an order naming
    // the coordinator but signed by b.
    let (d, e) = (
        &device("Téléphone 4", &name(rng)),
        &device("Téléphone 5", &name(rng)),
    );
    join(&d.store, &invite(&a.store)).unwrap();
    join(&e.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&d.store, &e.store]);
    for x in [b, c, d, e] {
        person(&x.store, &name(rng));
    }
    for x in [a, b, c, d, e, a, b, c, d, e] {
        sync(x);
    }
    let persons = |s: &Store| s.list_persons(&PersonQuery::default()).unwrap().len();
    assert_eq!(persons(&c.store), 4);

    let m = a.store.membership().unwrap().unwrap();
    let http = HttpClient::default();
    let id = |x: &Device| x.store.identity().device.clone();
    http.revoke(&m.relay, &m.space, &m.token, &id16(&id(c)), None)
        .unwrap();
    let by_member = fuzzing::sign_wipe_order(&b.store, &id(d)).unwrap();
    http.revoke(
        &m.relay,
        &m.space,
        &m.token,
        &id16(&id(d)),
        Some(&by_member),
    )
    .unwrap();
    let mut in_coordinators_name = fuzzing::sign_wipe_order(&b.store, &id(e)).unwrap();
    in_coordinators_name.by = id16(&id(a));
    http.revoke(
        &m.relay,
        &m.space,
        &m.token,
        &id16(&id(e)),
        Some(&in_coordinators_name),
    )
    .unwrap();

    for (x, status) in [(c, 403), (d, 410), (e, 410)] {
        match try_sync(x).unwrap_err() {
            CoreError::RelayRefused { status: s, .. } => assert_eq!(s, status),
            other => panic!("{other:?}"),
        }
        let path = x.dir.path().join("store.db");
        assert!(path.exists());
        let reopened = Store::open(&path, &x.key).unwrap();
        assert_eq!(persons(&reopened), 4);
        assert_eq!(persons(&x.store), 4);
    }
}
