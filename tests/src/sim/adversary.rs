//! The simulation's adversary: one more member of the space (it holds the space key and its own
//! device keys, and syncs like any device) that, at random steps, pushes into the relay what an
//! honest store never would. Each forgery says how every honest device must end up treating it
//! (quarantined, or held for a key no device has) and which change it carries, which must never
//! be applied on an honest device.
//!
//! What it forges (with the `fuzzing` hooks that seal and sign as a store's device would):
//! a change written under an honest device's actor, signed with the adversary's own keys or not
//! at all (to a record, or to the victim's own roster entry); a roster change of its own that
//! renames, replaces or deletes an honest device's `device:` entry, or writes the
//! organisation's codes (`term:`) or a role (`grant:`) though it is no coordinator; random
//! envelopes; and a validly signed change that turns an existing record into another kind.

use allervers_core::store::ROSTER_ID;
use allervers_core::{fuzzing, DeviceId, Kind, RecordId, Store};
use allervers_protocol::Envelope;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, ScalarValue, ROOT};
use rand::rngs::StdRng;
use rand::Rng;

/// How every honest device must hold a forged envelope at quiescence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Expect {
    /// Refused by a check every device makes the same way.
    Quarantined,
    /// Waiting for a key that never comes (an epoch no device has, a record key never sent).
    Held,
}

/// One envelope the adversary pushes.
pub(super) struct Forgery {
    pub envelope: Envelope,
    pub expect: Expect,
    /// The change it carries: applied on no honest device, ever.
    pub change: Option<(RecordId, ChangeHash)>,
    /// What it is, for the schedule's log.
    pub what: String,
}

const KINDS: &[&str] = &["person", "encounter", "action", "referral", "observation"];

/// One forgery by `adversary` against the honest devices `honest` (ids), chosen with `rng`.
pub(super) fn forge(
    rng: &mut StdRng,
    adversary: &Store,
    honest: &[DeviceId],
) -> Result<Forgery, String> {
    let err = |e: allervers_core::CoreError| e.to_string();
    let victim = &honest[rng.gen_range(0..honest.len())];
    let records: Vec<RecordId> = adversary
        .record_ids()
        .map_err(err)?
        .into_iter()
        .filter(|(_, kind)| *kind != Kind::Roster)
        .map(|(id, _)| id)
        .collect();
    let me = adversary.identity().device.clone();
    let pick = rng.gen_range(0..6);
    match pick {
        // A change to a record under the victim's actor: signed with the adversary's keys, or
        // not signed at all.
        0 | 1 if !records.is_empty() => {
            let record = records[rng.gen_range(0..records.len())];
            let text = format!("surnom inventé {}", rng.gen_range(0..1_000));
            let bytes = change(adversary, record, victim, |doc| {
                doc.put(ROOT, "nickname", text.as_str()).map(|_| ())
            })?;
            let signed = pick == 0;
            let signature = if signed {
                fuzzing::sign_change(adversary, record, &bytes).map_err(err)?
            } else {
                Vec::new()
            };
            sealed(
                adversary,
                record,
                bytes,
                signature,
                format!(
                    "change to {record} under {victim}'s actor, {}",
                    if signed {
                        "signed by itself"
                    } else {
                        "unsigned"
                    }
                ),
            )
        }
        // The victim's own roster entry rewritten under its actor, signed by the adversary
        // (its keys travel with a roster change: they are not the actor's).
        0 | 1 => {
            let key = format!("device:{victim}");
            let bytes = change(adversary, ROSTER_ID, victim, |doc| {
                let entry = doc.put_object(ROOT, key.as_str(), ObjType::Map)?;
                doc.put(&entry, "name", "Téléphone usurpé").map(|_| ())
            })?;
            let signature = fuzzing::sign_change(adversary, ROSTER_ID, &bytes).map_err(err)?;
            sealed(
                adversary,
                ROSTER_ID,
                bytes,
                signature,
                format!("roster entry of {victim} under its actor, signed by itself"),
            )
        }
        // A roster change of its own that writes a code, or makes itself a coordinator.
        2 if rng.gen_bool(0.3) => {
            let grant = rng.gen_bool(0.5);
            let code = format!("term:service:faux_{}", rng.gen_range(0..4));
            let bytes = change(adversary, ROSTER_ID, &me, |doc| {
                if grant {
                    let bytes: Vec<u8> = (0..rng.gen_range(0..120)).map(|_| rng.gen()).collect();
                    doc.put(ROOT, format!("grant:{me}"), ScalarValue::Bytes(bytes))
                } else {
                    let entry = doc.put_object(ROOT, code.as_str(), ObjType::Map)?;
                    doc.put(&entry, "fr", "Faux service")?;
                    doc.put(&entry, "en", "Fake service")
                }
            })?;
            let signature = fuzzing::sign_change(adversary, ROSTER_ID, &bytes).map_err(err)?;
            sealed(
                adversary,
                ROSTER_ID,
                bytes,
                signature,
                if grant {
                    "own roster change granting itself the coordinator's role".into()
                } else {
                    format!("own roster change writing the code {code}")
                },
            )
        }
        // A roster change of its own that renames, replaces or deletes the victim's entry.
        2 => {
            let key = format!("device:{victim}");
            let how = rng.gen_range(0..3);
            let mut done = "";
            let bytes = change(adversary, ROSTER_ID, &me, |doc| {
                let existing = match doc.get(ROOT, key.as_str())? {
                    Some((automerge::Value::Object(_), id)) => Some(id),
                    _ => None,
                };
                match (how, existing) {
                    (0, Some(entry)) => {
                        done = "renames";
                        doc.put(&entry, "name", "Téléphone volé")
                    }
                    (1, Some(_)) => {
                        done = "deletes";
                        doc.delete(ROOT, key.as_str())
                    }
                    _ => {
                        done = "replaces";
                        let entry = doc.put_object(ROOT, key.as_str(), ObjType::Map)?;
                        doc.put(&entry, "name", "Téléphone remplacé")?;
                        doc.put(&entry, "worker", "Personne")
                    }
                }
            })?;
            let signature = fuzzing::sign_change(adversary, ROSTER_ID, &bytes).map_err(err)?;
            sealed(
                adversary,
                ROSTER_ID,
                bytes,
                signature,
                format!("own roster change that {done} {victim}'s entry"),
            )
        }
        // A validly signed change of its own that makes an existing record another kind.
        3 if !records.is_empty() => {
            let record = records[rng.gen_range(0..records.len())];
            let kind = adversary.kind_of(record).map_err(err)?.name();
            let others: Vec<&str> = KINDS.iter().copied().filter(|k| *k != kind).collect();
            let other = others[rng.gen_range(0..others.len())];
            let bytes = change(adversary, record, &me, |doc| {
                doc.put(ROOT, "kind", other).map(|_| ())
            })?;
            let signature = fuzzing::sign_change(adversary, record, &bytes).map_err(err)?;
            sealed(
                adversary,
                record,
                bytes,
                signature,
                format!("signed change making {record} ({kind}) a {other}"),
            )
        }
        // Random bytes: under the space's epoch with a (random) wrapped key, they fail to open;
        // with no record key (not the roster's), they are refused outright; under an epoch no
        // device has, they wait for a key forever.
        _ => {
            let (epoch, key, expect) = match rng.gen_range(0..10) {
                0 => (rng.gen_range(1..4), true, Expect::Held),
                1 => (0, false, Expect::Quarantined),
                _ => (0, true, Expect::Quarantined),
            };
            let len = rng.gen_range(0..200);
            let envelope = Envelope {
                record: rng.gen(),
                epoch,
                nonce: rng.gen(),
                sealed: (0..len).map(|_| rng.gen()).collect(),
                key: key.then(|| (0..72).map(|_| rng.gen()).collect()),
            };
            Ok(Forgery {
                envelope,
                expect,
                change: None,
                what: format!("random envelope (epoch {epoch}, key {key}, {len} bytes)"),
            })
        }
    }
}

/// One Automerge change to `record` as `store` holds it (a roster of its own when it holds
/// none), written under `actor` by `edit`, at the store's time.
fn change(
    store: &Store,
    record: RecordId,
    actor: &DeviceId,
    edit: impl FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
) -> Result<Vec<u8>, String> {
    let mut doc = AutoCommit::load(&store.record_document(record).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    doc.set_actor(actor.actor().clone());
    edit(&mut doc).map_err(|e| e.to_string())?;
    doc.commit_with(CommitOptions::default().with_time(store.now().timestamp_millis()));
    Ok(doc
        .get_last_local_change()
        .ok_or("the forged change is empty")?
        .raw_bytes()
        .to_vec())
}

/// `bytes` sealed with `signature` as the adversary's store seals a change of `record`.
fn sealed(
    store: &Store,
    record: RecordId,
    bytes: Vec<u8>,
    signature: Vec<u8>,
    what: String,
) -> Result<Forgery, String> {
    let hash = automerge::Change::try_from(&bytes[..])
        .map_err(|e| e.to_string())?
        .hash();
    let envelope =
        fuzzing::seal_change(store, record, &bytes, signature).map_err(|e| e.to_string())?;
    Ok(Forgery {
        envelope,
        expect: Expect::Quarantined,
        change: Some((record, hash)),
        what,
    })
}
