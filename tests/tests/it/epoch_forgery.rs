//! End to end against a real relay process: a coordinator's device about to be revoked (stolen,
//! or its holder leaving) tries to deliver, through the relay like any coordinator, a key of its
//! own for an epoch the relay has not started. Devices keep the first key they receive for an
//! epoch, so the relay refuses a delivery for an epoch after the space's current one. The core's
//! own tests of the same family are in `core/tests/it/trust_attacks.rs`.

use allervers_client::HttpClient;
use allervers_core::{fuzzing, DeviceId, SyncSummary};
use allervers_e2e::{create_space, device, invite, join, person, welcome, Device, RelayProcess};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::adversarial::relay_envelopes;

fn sync(d: &Device) -> SyncSummary {
    allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}).unwrap()
}

/// The rogue device's sync: the relay refuses the delivery it posts for an epoch not started.
fn refused_sync(d: &Device) {
    match allervers_client::sync(&d.store, &HttpClient::default(), &mut |_| {}) {
        Err(allervers_core::CoreError::RelayRefused {
            status: 409,
            reason,
        }) => {
            assert!(reason.contains("not started"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// A generated French first name.
fn first_name(rng: &mut StdRng) -> String {
    let names = allervers_core::seed::FIRST_NAMES;
    names[rng.gen_range(0..names.len())].to_string()
}

fn id_of(d: &Device) -> DeviceId {
    d.store.identity().device.clone()
}

fn epoch_of(d: &Device) -> u32 {
    d.store.membership().unwrap().unwrap().epoch
}

/// A founder's device `a`, a second coordinator `c` (by `a`'s grant, the relay told) and a
/// member `b`, each holding the key and the others' keys.
fn team(relay: &RelayProcess, rng: &mut StdRng, space: &str) -> (Device, Device, Device) {
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    create_space(relay, &a.store, space);
    join(&c.store, &invite(&a.store)).unwrap();
    join(&b.store, &invite(&a.store)).unwrap();
    welcome(&a.store, &[&c.store, &b.store]);
    for d in [&a, &c, &b, &a] {
        sync(d);
    }
    allervers_client::make_coordinator(&a.store, &HttpClient::default(), &id_of(&c)).unwrap();
    for d in [&c, &b, &a, &c] {
        sync(d);
    }
    assert_eq!(b.store.is_coordinator(&id_of(&c)).unwrap(), Some(true));
    (a, c, b)
}

/// `c` tries to post a key for epoch 1 to `b` before `a` revokes it: refused, so `b` takes the
/// key of the epoch `a` starts, `a` reads what `b` writes, and `c`'s keys open none of it.
#[test]
fn a_key_delivered_for_an_epoch_the_relay_never_started_is_not_taken() {
    let rng = &mut StdRng::seed_from_u64(201);
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, c, b) = team(&relay, rng, "Maraude minée");

    c.store.rotate(1, &[id_of(&b)]).unwrap();
    refused_sync(&c);
    let mut holes = Vec::new();
    let got = sync(&b);
    if got.keys_received > 0 {
        holes.push(format!(
            "b took c's key for epoch 1, which the relay never started (now at epoch {})",
            epoch_of(&b)
        ));
    }
    let revoked = allervers_client::revoke(&a.store, &HttpClient::default(), &id_of(&c)).unwrap();
    assert_eq!(revoked.epoch, 1);
    sync(&b);
    let a_keys = fuzzing::space_keys_held(&a.store).unwrap();
    let b_keys = fuzzing::space_keys_held(&b.store).unwrap();
    if a_keys != b_keys {
        holes.push("a and b hold different keys for epoch 1".into());
    }
    let from = relay_envelopes(&relay).len() as u64 + 1;
    let p = person(&b.store, &first_name(rng));
    sync(&b);
    sync(&a);
    if a.store.person(p).is_err() {
        holes.push("a cannot read what b wrote after the revocation".into());
    }
    let c_keys = fuzzing::space_keys_held(&c.store).unwrap();
    let opened: Vec<u64> = relay_envelopes(&relay)
        .into_iter()
        .filter(|(seq, env)| {
            *seq >= from
                && c_keys
                    .iter()
                    .any(|(_, k)| fuzzing::opens_with_space_key(env, k))
        })
        .map(|(seq, _)| seq)
        .collect();
    if !opened.is_empty() {
        holes.push(format!(
            "the revoked device's keys open envelopes {opened:?} b sealed after its revocation"
        ));
    }
    assert!(holes.is_empty(), "\n- {}", holes.join("\n- "));
}

/// `c` tries to post a key for epoch 1 to the founder's device too (which would make the
/// founder's next `StartEpoch` expect epoch 1 while the relay is at 0): refused, and revoking `c`
/// works.
#[test]
fn a_coordinator_cannot_stop_its_revocation_with_a_key_for_the_next_epoch() {
    let rng = &mut StdRng::seed_from_u64(202);
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(dir.path());
    let (a, c, b) = team(&relay, rng, "Maraude verrouillée");

    c.store.rotate(1, &[id_of(&a), id_of(&b)]).unwrap();
    refused_sync(&c);
    sync(&a);
    sync(&b);
    let revoked = allervers_client::revoke(&a.store, &HttpClient::default(), &id_of(&c));
    assert!(
        revoked.is_ok(),
        "the founder cannot revoke c after c delivered it a key for epoch 1: {revoked:?}"
    );
}
