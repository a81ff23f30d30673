//! Entry points for coverage-guided fuzzing (`fuzz/` at the workspace root) and for replaying
//! the fuzz corpora in the test suite (`core/tests/it/fuzz_corpus.rs`). Built only with the
//! `fuzzing` feature, which normal builds leave off.
//!
//! One function per decoder of outside input. Each takes any bytes and returns nothing: refusing
//! the input is fine, panicking is a bug. Keys are fixed (these are test keys, never a real
//! space's), so that seed inputs made by [`seeds`] open.
//!
//! The store that pages and changes are applied to is made once per process, in a temporary
//! folder (left behind when the process ends; `TMPDIR` chooses where). Inputs it accepts stay in
//! it, as on a device. The store of signed changes is made once too, but every import into it is
//! rolled back: a change it kept would be known the next time, and skip the checks fuzzed there.

use std::sync::{Arc, OnceLock};

use allervers_protocol::{
    decode, encode, Control, ControlBody, ControlPage, CreateInvite, CreateRecovery, CreateSpace,
    DeviceEntry, Enroll, Envelope, EpochStarted, Page, PostControl, Push, Pushed, Registered,
    StartEpoch, Stored, WipeOrder,
};
use automerge::transaction::Transactable;
use automerge::{ObjType, ScalarValue, ROOT};
use chrono::{TimeZone, Utc};

use crate::bundle;
use crate::crypto::{derive_key, KdfParams, RawKey};
use crate::identity::{ChangeSignature, Grant, PublicKeys, Role};
use crate::store::trust::Setback;
use crate::store::SignedChange;
use crate::sync::{Invite, Membership, SpaceKeys, PUSH_BATCH};
use crate::{
    CoreError, ManualClock, NewEncounter, NewPerson, RecordId, Result, SeededEntropy, Store,
    StoreOptions,
};

/// The space key of every fuzzed envelope and page.
const SPACE_KEY: [u8; 32] = [0x5a; 32];
/// The space of every fuzzed page.
const SPACE: [u8; 16] = [0x11; 16];
/// The passphrase of the seed bundles.
const BUNDLE_PASSPHRASE: &str = "phrase de passe du fuzzing";
/// The seed of the entropy that seals seed bundles: its first 16 bytes are their salt.
const BUNDLE_ENTROPY_SEED: u64 = 0xb0d1e;
/// The space of the `signed` target, which has a founder: its grants are signed for this id.
const SIGNED_SPACE: [u8; 16] = [0x22; 16];
/// The seeds of the entropy of the `signed` target's devices (their keys are drawn from it, so
/// the founder's keys, which anchor every grant, are the same in every process).
const FOUNDER_SEED: u64 = 0xf0;
const COORDINATOR_SEED: u64 = 0xc0;
const WORKER_SEED: u64 = 0xa0;
const VERIFIER_SEED: u64 = 0x5e;
/// At most this many changes are read from one input of the `signed` target.
const SIGNED_BATCH_MAX: usize = 16;

fn space_keys() -> SpaceKeys {
    SpaceKeys::new(&RawKey::from_bytes(SPACE_KEY), 0)
}

fn membership(token: &str) -> Membership {
    Membership {
        space: SPACE,
        name: "Espace de fuzzing".into(),
        relay: "http://relay.invalid".into(),
        token: token.into(),
        epoch: 0,
        coordinator: false,
        root: None,
        founder: None,
    }
}

fn options(seed: u64) -> StoreOptions {
    StoreOptions {
        clock: Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
                .single()
                .unwrap_or_default(),
        )),
        entropy: Arc::new(SeededEntropy::new(seed)),
    }
}

/// A store in its own temporary folder (fields drop in order: the store, then the folder).
struct TempStore {
    store: Store,
    _dir: tempfile::TempDir,
}

/// A new store in a new temporary folder, in no space yet (its keys come from `seed`).
fn empty_store(seed: u64, device: &str) -> Result<TempStore> {
    let dir = tempfile::Builder::new()
        .prefix("allervers-fuzz-")
        .tempdir()
        .map_err(|e| CoreError::Storage(format!("temporary folder: {e}")))?;
    let store = Store::create_with(
        &dir.path().join("store.db"),
        &RawKey::from_bytes([0x42; 32]),
        device,
        "Travailleur fictif",
        options(seed),
    )?;
    Ok(TempStore { store, _dir: dir })
}

/// A new store in a new temporary folder, member of the fuzzing space.
fn new_store(seed: u64, device: &str, token: &str) -> Result<TempStore> {
    let made = empty_store(seed, device)?;
    made.store.join_space(&membership(token))?;
    made.store
        .keep_space_key(&SPACE, 0, &RawKey::from_bytes(SPACE_KEY))?;
    Ok(made)
}

/// The store every page and change is applied to, made once per process (a static is never
/// dropped: its folder is left behind when the process ends). A store that cannot be made stops
/// the run at its first input rather than letting it pass without testing anything.
fn target_store() -> &'static Store {
    static STORE: OnceLock<TempStore> = OnceLock::new();
    &STORE
        .get_or_init(|| match new_store(1, "Appareil cible", "jeton-cible") {
            Ok(store) => store,
            Err(e) => panic!("the fuzzing store cannot be made: {e}"),
        })
        .store
}

/// A second store, which does not check signatures, for the target of received changes.
fn unverified_store() -> &'static Store {
    static STORE: OnceLock<TempStore> = OnceLock::new();
    let store = &STORE
        .get_or_init(
            || match new_store(3, "Appareil sans contrôle", "jeton-sans") {
                Ok(store) => store,
                Err(e) => panic!("the fuzzing store cannot be made: {e}"),
            },
        )
        .store;
    store.skip_signature_checks();
    store
}

/// The membership of a device of the `signed` target's space, founded by the device with
/// `founder`'s keys (each device that joined by its invite trusts them as its root).
fn signed_membership(founder: &PublicKeys, coordinator: bool) -> Membership {
    Membership {
        space: SIGNED_SPACE,
        name: "Espace signé du fuzzing".into(),
        relay: "http://relay.invalid".into(),
        token: "jeton-signé".into(),
        epoch: 0,
        coordinator,
        root: Some(founder.device()),
        founder: Some(*founder),
    }
}

/// The founder of the `signed` target's space: a coordinator by itself.
fn founder_store() -> Result<TempStore> {
    let made = empty_store(FOUNDER_SEED, "Appareil fondateur")?;
    let keys = made.store.device_keys().public();
    made.store.join_space(&signed_membership(&keys, true))?;
    Ok(made)
}

/// A device that joined the `signed` target's space by the founder's invite: it knows the
/// founder's keys (the invite carries them), and nothing else of the space yet.
fn member_store(seed: u64, device: &str, founder: &PublicKeys) -> Result<TempStore> {
    let made = empty_store(seed, device)?;
    crate::store::trust::learn_device_keys(&made.store.lock(), founder)?;
    made.store.join_space(&signed_membership(founder, false))?;
    Ok(made)
}

/// The founder's public keys (its store is made once per process to read them, then dropped).
fn founder_keys() -> Result<PublicKeys> {
    static KEYS: OnceLock<PublicKeys> = OnceLock::new();
    if let Some(keys) = KEYS.get() {
        return Ok(*keys);
    }
    let keys = founder_store()?.store.device_keys().public();
    Ok(*KEYS.get_or_init(|| keys))
}

/// A new store that checks signed changes as a member of the `signed` target's space does.
fn verifier_store() -> Result<TempStore> {
    member_store(VERIFIER_SEED, "Appareil vérificateur", &founder_keys()?)
}

/// The store the `signed` target imports into, made once per process (its folder is left behind,
/// as `target_store`'s). Every import into it is rolled back (see [`import_rolled_back`]).
fn signed_store() -> &'static Store {
    static STORE: OnceLock<TempStore> = OnceLock::new();
    &STORE
        .get_or_init(|| match verifier_store() {
            Ok(store) => store,
            Err(e) => panic!("the fuzzing store cannot be made: {e}"),
        })
        .store
}

/// The key of seed bundles (derived once: argon2id is far too slow to run per input).
fn bundle_key() -> &'static RawKey {
    static KEY: OnceLock<RawKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let salt: [u8; 16] = crate::entropy::bytes(&SeededEntropy::new(BUNDLE_ENTROPY_SEED));
        match derive_key(BUNDLE_PASSPHRASE.as_bytes(), &salt, KdfParams::DEFAULT) {
            Ok(key) => key,
            Err(e) => panic!("the fuzzing bundle key cannot be derived: {e}"),
        }
    })
}

/// The fuzz targets' panic hook (their `init`). libfuzzer-sys's hook aborts at any panic, even
/// one core catches on purpose (Automerge's, around parsing and applying received changes); this
/// one only prints it. A panic that escapes an entry point is still a crash: libfuzzer-sys catches
/// it around the target and aborts.
pub fn report_panics_without_aborting() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("panic (a crash only if it escapes the entry point): {info}");
    }));
}

/// a. An envelope as the relay hands it over (postcard), opened with the space key: its record
/// key unwrapped when it carries one, the roster's key otherwise.
///
/// The sealed part only opens for bytes sealed with the key, so the same input is also sealed
/// as an envelope's plaintext under a fixed record key and opened: what a member device (that
/// holds the space key) could send is decoded too.
pub fn envelope(data: &[u8]) {
    let keys = space_keys();
    if let Ok(env) = decode::<Envelope>(data) {
        let key = match &env.key {
            Some(wrapped) => keys.unwrap(&env.record, wrapped).ok(),
            None => Some(keys.roster_key()),
        };
        if let Some(key) = key {
            let _ = keys.open(&env, &key, u64::MAX);
        }
    }
    let _ = open_plaintext(&keys, data);
}

/// Seals `plain` as an envelope's plaintext and opens it. The plaintext begins with the record
/// id (16 bytes): the envelope is addressed to it, as a sealing device does, so that opening goes
/// past the record id check.
fn open_plaintext(keys: &SpaceKeys, plain: &[u8]) -> Result<()> {
    let record_key = RawKey::from_bytes([0x33; 32]);
    let record = RecordId::from_bytes(plain.first_chunk::<16>().copied().unwrap_or([0x44; 16]));
    let env = keys.seal_plaintext(record, &record_key, plain);
    keys.open(&env, &record_key, u64::MAX).map(|_| ())
}

/// b. A page from the relay (postcard), applied to the store.
pub fn page(data: &[u8]) {
    if let Ok(page) = decode::<Page>(data) {
        let _ = target_store().apply_page(&SPACE, &page);
    }
}

/// c. A bundle file: its header read and checked (bad key settings refused before deriving
/// anything), then its body authenticated and decoded with the key of the seed bundles.
pub fn bundle(data: &[u8]) {
    if let Ok(header) = bundle::read_header(data) {
        assert!(
            header.params.check().is_ok(),
            "a bundle header passed with key settings out of range"
        );
    }
    let _ = bundle::open_with_key(data, bundle_key());
}

/// d. An invite code or a recovery code, typed or scanned.
pub fn invite(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Invite::from_code(&text);
    let _ = crate::RecoveryCode::from_code(&text);
}

/// e. Every body the relay decodes (requests: `CreateSpace`, `CreateInvite`, `CreateRecovery`,
/// `Enroll`, `Push`,
/// `PostControl`, `StartEpoch`, a revocation's `WipeOrder`; and the control items it reads back
/// from its database) and every one a device decodes (answers: `Registered`, `Pushed`, `Page`
/// with its control log, `ControlPage`, `Vec<DeviceEntry>`, `EpochStarted`, a 410's `WipeOrder`).
pub fn relay_bodies(data: &[u8]) {
    body::<CreateSpace>(data);
    body::<CreateInvite>(data);
    body::<CreateRecovery>(data);
    body::<Enroll>(data);
    body::<Push>(data);
    body::<PostControl>(data);
    body::<StartEpoch>(data);
    body::<WipeOrder>(data);
    body::<ControlBody>(data);
    body::<Registered>(data);
    body::<Pushed>(data);
    body::<Page>(data);
    body::<ControlPage>(data);
    body::<Vec<DeviceEntry>>(data);
    body::<EpochStarted>(data);
}

/// Decodes `data` as a `T`; a value it decodes is encoded again (as the relay does to refuse
/// bytes after a body) and must decode back to itself.
fn body<T>(data: &[u8])
where
    T: for<'a> serde::Deserialize<'a> + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = decode::<T>(data) {
        let again = encode(&value);
        assert_eq!(
            decode::<T>(&again).ok().as_ref(),
            Some(&value),
            "a body does not decode back to itself once encoded"
        );
    }
}

/// f. Automerge changes received from elsewhere: the record id (16 bytes) then one change's
/// bytes, imported into the store (a store that does not check signatures: a fuzzed change
/// cannot carry its author's, and what lies past the check is what is fuzzed here).
pub fn changes(data: &[u8]) {
    let Some((id, bytes)) = data.split_first_chunk::<16>() else {
        return;
    };
    let _ = unverified_store().import_changes(&[SignedChange {
        record: RecordId::from_bytes(*id),
        bytes: bytes.to_vec(),
        signature: Vec::new(),
    }]);
}

/// g. Signed changes from other devices of a space that has a founder, as the envelopes of a
/// relay's page hold them once opened: each one's record id, its signature (an encoded
/// `ChangeSignature`: the signature, the author's keys and its chain of grants) and its bytes
/// (see [`signed_batch`] for how the input is cut). They are imported as a page's are (a change
/// that fails a check is set aside, the others apply) into a store that checks signatures and
/// reads roles from the founder's keys: the signature's decoding, which keys it teaches and
/// whether its grants prove its author a member, the batch verification, the roster rule, then
/// everything an applied change goes through. The import is rolled back at its last step, so
/// every input meets the same store (a change applied once would otherwise be known, and skip
/// every check, the next time).
pub fn signed(data: &[u8]) {
    let _ = import_rolled_back(signed_store(), &signed_batch(data));
}

/// Cuts an input of the `signed` target into changes, at most [`SIGNED_BATCH_MAX`]: each is a
/// record id (16 bytes), the signature's length (2 bytes, little-endian) and the signature, the
/// change's length (likewise) and the change. A length past the input's end takes what is
/// left; the input's tail shorter than a record id is ignored.
pub fn signed_batch(data: &[u8]) -> Vec<SignedChange> {
    fn framed(data: &[u8]) -> (&[u8], &[u8]) {
        match data.split_first_chunk::<2>() {
            Some((len, rest)) => {
                rest.split_at(usize::from(u16::from_le_bytes(*len)).min(rest.len()))
            }
            None => (&[], &[]),
        }
    }
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < SIGNED_BATCH_MAX {
        let Some((record, after)) = rest.split_first_chunk::<16>() else {
            break;
        };
        let (signature, after) = framed(after);
        let (bytes, after) = framed(after);
        out.push(SignedChange {
            record: RecordId::from_bytes(*record),
            bytes: bytes.to_vec(),
            signature: signature.to_vec(),
        });
        rest = after;
    }
    out
}

/// An input of the `signed` target holding `batch` (the inverse of [`signed_batch`]).
fn frame_signed(batch: &[SignedChange]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for change in batch {
        out.extend_from_slice(change.record.as_bytes());
        for part in [&change.signature, &change.bytes] {
            let len = u16::try_from(part.len())
                .map_err(|_| CoreError::Storage("a seed change is over 64 KiB".into()))?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    Ok(out)
}

/// Imports `batch` into `store` as a page's changes are imported, and rolls the import's
/// transaction back at its last step (where it would commit): what became of each change
/// (`None`: applied, or already known; else why it was set aside).
fn import_rolled_back(store: &Store, batch: &[SignedChange]) -> Result<Vec<Option<String>>> {
    let mut outcome = None;
    let imported = store.import_with(batch, false, |_, verdicts| {
        outcome = Some(
            verdicts
                .iter()
                .map(|v| {
                    v.as_ref().map(|s| match s {
                        Setback::Hold(why) => format!("held: {why}"),
                        Setback::Quarantine(why) => format!("quarantined: {why}"),
                    })
                })
                .collect(),
        );
        Err(CoreError::ChangesRefused(
            "rolled back by the fuzz target".into(),
        ))
    });
    match (outcome, imported) {
        (Some(outcome), _) => Ok(outcome),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => Err(CoreError::Storage("the import committed".into())),
    }
}

/// Imports an input of the `signed` target into a new store like the target's, and commits it:
/// what the import did. The test suite checks with it that every seed is applied, with nothing
/// held or quarantined.
pub fn signed_applied(data: &[u8]) -> Result<crate::ImportSummary> {
    let made = verifier_store()?;
    made.store
        .import_with(&signed_batch(data), false, |_, _| Ok(()))
}

/// Valid inputs for each fuzz target, made with the real code: `(target, file name, bytes)`.
pub fn seeds() -> Result<Vec<(&'static str, String, Vec<u8>)>> {
    let mut out = Vec::new();
    // A device of the same space writes a few records and seals them as it would push them.
    let source = new_store(2, "Appareil source", "jeton-source")?;
    let source = &source.store;
    let first_person = source.add_person(&NewPerson {
        name: Some("Personne Fictive".into()),
        nickname: Some("Fifi".into()),
        ..Default::default()
    })?;
    let second_person = source.add_person(&NewPerson {
        name: Some("Autre Fictif".into()),
        ..Default::default()
    })?;
    source.log_encounter(&NewEncounter {
        persons: vec![first_person, second_person],
        place: Some("Gare fictive".into()),
        services: vec!["food".into()],
        ..Default::default()
    })?;
    let changes = source.export_changes()?;
    for (i, c) in changes.iter().enumerate() {
        let mut input = c.record.as_bytes().to_vec();
        input.extend_from_slice(&c.bytes);
        out.push(("changes", format!("seed-change-{i}"), input));
    }
    let batch = source
        .outbox_batch(&SPACE, PUSH_BATCH)?
        .ok_or_else(|| CoreError::Storage("nothing to push".into()))?;
    let envelopes = batch.push.envelopes;
    let keys = space_keys();
    for (i, env) in envelopes.iter().enumerate() {
        out.push(("envelope", format!("seed-envelope-{i}"), encode(env)));
        out.push(("relay_bodies", format!("seed-envelope-{i}"), encode(env)));
    }
    // Plaintexts of envelopes (the second half of the envelope target).
    for (i, c) in changes.iter().take(2).enumerate() {
        let change = automerge::Change::try_from(&c.bytes[..])
            .map_err(|e| CoreError::Storage(format!("seed change: {e}")))?;
        out.push((
            "envelope",
            format!("seed-plaintext-{i}"),
            keys.plaintext(c.record, &change),
        ));
    }
    let stored: Vec<Stored> = envelopes
        .iter()
        .enumerate()
        .map(|(i, env)| Stored {
            seq: i as u64 + 1,
            received_at_ms: 1_772_441_000_000 + i as i64,
            clock_offset_ms: 0,
            envelope: env.clone(),
        })
        .collect();
    let whole = Page {
        next: stored.len() as u64,
        envelopes: stored.clone(),
        more: false,
        control: None,
    };
    let first = Page {
        envelopes: stored.iter().take(1).cloned().collect(),
        next: 1,
        more: true,
        control: None,
    };
    let empty = Page {
        envelopes: Vec::new(),
        next: 0,
        more: false,
        control: None,
    };
    let control = ControlPage {
        items: vec![
            Control {
                seq: 1,
                body: ControlBody::Enrolled {
                    invite: [3; 32],
                    device: [5; 16],
                    sign_key: [6; 32],
                    agree_key: [7; 32],
                    mac: [8; 32],
                },
            },
            Control {
                seq: 2,
                body: ControlBody::Keys {
                    epoch: 1,
                    to: [5; 16],
                    from: [6; 16],
                    sealed: vec![9; 80],
                    signature: vec![10; 64],
                },
            },
            Control {
                seq: 3,
                body: ControlBody::Epoch {
                    epoch: 1,
                    by: [6; 16],
                },
            },
        ],
        next: 3,
        more: false,
    };
    let with_control = Page {
        control: Some(control.clone()),
        ..whole.clone()
    };
    for (name, page) in [
        ("whole", &whole),
        ("first", &first),
        ("empty", &empty),
        ("control", &with_control),
    ] {
        out.push(("page", format!("seed-page-{name}"), encode(page)));
        out.push(("relay_bodies", format!("seed-page-{name}"), encode(page)));
    }
    // The relay's other bodies.
    let bodies = [
        (
            "create-space",
            encode(&CreateSpace {
                space: [1; 16],
                device: [2; 16],
            }),
        ),
        (
            "create-invite",
            encode(&CreateInvite {
                secret_hash: [3; 32],
                expires_at_ms: 1_772_441_000_000,
            }),
        ),
        (
            "enroll",
            encode(&Enroll {
                space: [1; 16],
                redeem: [4; 32],
                device: [5; 16],
                sign_key: [6; 32],
                agree_key: [7; 32],
                mac: [8; 32],
            }),
        ),
        (
            "push",
            encode(&Push {
                envelopes: envelopes.iter().take(2).cloned().collect(),
                sent_at_ms: 1_772_441_000_000,
            }),
        ),
        (
            "registered",
            encode(&Registered {
                device_token: "jeton-fictif-0123456789".into(),
            }),
        ),
        (
            "pushed",
            encode(&Pushed {
                seqs: vec![1, 2, 300],
            }),
        ),
        (
            "devices",
            encode(&vec![
                DeviceEntry {
                    device: [6; 16],
                    coordinator: true,
                    enrolled_at_ms: 1_772_441_000_000,
                    revoked_at_ms: None,
                },
                DeviceEntry {
                    device: [7; 16],
                    coordinator: false,
                    enrolled_at_ms: 1_772_441_000_000,
                    revoked_at_ms: Some(1_772_442_000_000),
                },
            ]),
        ),
    ];
    let bodies = bodies.into_iter().chain([
        ("control-page", encode(&control)),
        (
            "post-control",
            encode(&PostControl {
                items: control.items[1..2].iter().map(|c| c.body.clone()).collect(),
            }),
        ),
        ("start-epoch", encode(&StartEpoch { expected: 0 })),
        ("epoch-started", encode(&EpochStarted { epoch: 1 })),
        (
            "wipe-order",
            encode(&WipeOrder {
                space: SPACE,
                device: [5; 16],
                by: [6; 16],
                signature: vec![11; 64],
            }),
        ),
    ]);
    for (name, body) in bodies {
        out.push(("relay_bodies", format!("seed-{name}"), body));
    }
    // Bundles: sealed as `export_bundle` does, with the salt the fuzz target's key was derived
    // with.
    for (name, take) in [("one", 1), ("all", changes.len())] {
        let bytes = bundle::seal(
            &changes[..take.min(changes.len())],
            &[9; 16],
            1_772_441_000_000,
            BUNDLE_PASSPHRASE,
            &SeededEntropy::new(BUNDLE_ENTROPY_SEED),
        )?;
        out.push(("bundle", format!("seed-bundle-{name}"), bytes));
    }
    // Invite codes.
    for (i, secret) in [[1u8; 32], [2; 32]].into_iter().enumerate() {
        let m = membership("jeton");
        let code = Invite {
            relay: m.relay,
            space: m.space,
            name: m.name,
            coordinator: crate::identity::PublicKeys {
                sign: [3; 32],
                agree: [4; 32],
            },
            founder: crate::identity::PublicKeys {
                sign: [3; 32],
                agree: [4; 32],
            },
            secret,
        }
        .code();
        out.push(("invite", format!("seed-invite-{i}"), code.into_bytes()));
    }
    // A recovery code (the same target reads both).
    let m = membership("jeton");
    let code = crate::RecoveryCode {
        relay: m.relay,
        space: m.space,
        name: m.name,
        founder: crate::identity::PublicKeys {
            sign: [3; 32],
            agree: [4; 32],
        },
        secret: [5; 32],
    }
    .code();
    out.push(("invite", "seed-recovery-0".into(), code.into_bytes()));
    for (name, batch) in signed_seeds()? {
        out.push(("signed", format!("seed-{name}"), frame_signed(&batch)?));
    }
    check_seeds(&out)?;
    Ok(out)
}

/// Signed changes of a space with a founder, made as its devices make them: the founder makes a
/// second device a coordinator, which admits a worker's device (its grant, chained from the
/// founder's, in the roster) and adds one of the organisation's codes; each of the three writes
/// records. Batches of them, each applied whole by the `signed` target's store (which knows the
/// founder's keys only: the others' are learnt from their roster changes in the batch), but for
/// the refused seeds' last change.
/// Each batch is small: an input costs about what its valid changes cost to apply, and a mutated
/// batch keeps applying the changes it left intact.
fn signed_seeds() -> Result<Vec<(&'static str, Vec<SignedChange>)>> {
    let founder_made = founder_store()?;
    let founder = &founder_made.store;
    let founder_public = founder.device_keys().public();
    if founder_public != founder_keys()? {
        return Err(CoreError::Storage(
            "the founder's keys differ from one store to the next".into(),
        ));
    }
    let coordinator_made =
        member_store(COORDINATOR_SEED, "Appareil coordinateur", &founder_public)?;
    let coordinator = &coordinator_made.store;
    // The founder knows the coordinator's keys (as from its enrolment) and grants it the role.
    crate::store::trust::learn_device_keys(&founder.lock(), &coordinator.device_keys().public())?;
    founder.make_coordinator(&coordinator.identity().device)?;
    founder.add_person(&NewPerson {
        name: Some("Personne Fondatrice".into()),
        ..Default::default()
    })?;
    // The coordinator receives them: the roster's grant makes it a coordinator.
    coordinator.import_changes(&founder.export_changes()?)?;
    let worker_made = member_store(WORKER_SEED, "Appareil travailleur", &founder_public)?;
    let worker = &worker_made.store;
    admit(coordinator, worker)?;
    coordinator.add_term(
        crate::vocab::Vocab::Service,
        "atelier_velo",
        "Atelier vélo",
        "Bike workshop",
    )?;
    let met = worker.add_person(&NewPerson {
        name: Some("Personne Rencontrée".into()),
        ..Default::default()
    })?;
    worker.log_encounter(&NewEncounter {
        persons: vec![met],
        place: Some("Square fictif".into()),
        services: vec!["food".into()],
        ..Default::default()
    })?;
    // Each device's own changes, in the order it wrote them (a store exports what it received
    // too).
    let own = |store: &Store| -> Result<Vec<SignedChange>> {
        let mut out = Vec::new();
        for c in store.export_changes()? {
            let change = automerge::Change::try_from(&c.bytes[..])
                .map_err(|e| CoreError::Storage(format!("seed change: {e}")))?;
            if change.actor_id() == store.identity().device.actor() {
                out.push(c);
            }
        }
        Ok(out)
    };
    let (by_founder, by_coordinator, by_worker) = (own(founder)?, own(coordinator)?, own(worker)?);
    let roster = |changes: &[SignedChange]| -> Vec<SignedChange> {
        changes
            .iter()
            .filter(|c| c.record == crate::store::ROSTER_ID)
            .cloned()
            .collect()
    };
    let records = |changes: &[SignedChange]| -> Vec<SignedChange> {
        changes
            .iter()
            .filter(|c| c.record != crate::store::ROSTER_ID)
            .cloned()
            .collect()
    };
    let roster_by_both = [roster(&by_founder), roster(&by_coordinator)].concat();
    // What the worker's device can sign but never writes: each one after its entry, which
    // teaches its keys; every device refuses it by the roster rule.
    let entry = roster(&by_worker);
    let worker_keys = worker.device_keys().public();
    let coordinator_device = coordinator.identity().device.clone();
    let code = forbidden_roster_change(worker, |doc| {
        let labels = doc.put_object(ROOT, "term:service:atelier_pirate", ObjType::Map)?;
        doc.put(&labels, "fr", "Atelier pirate")?;
        doc.put(&labels, "en", "Pirate workshop")?;
        Ok(())
    })?;
    let role = forbidden_roster_change(worker, |doc| {
        // A coordinator's grant to itself, signed by itself.
        let grant = Grant::new(
            &SIGNED_SPACE,
            worker_keys,
            Role::Coordinator,
            worker.device_keys(),
        );
        doc.put(
            ROOT,
            crate::store::roster::grant_key(&worker_keys.device()),
            ScalarValue::Bytes(grant.encode()),
        )?;
        Ok(())
    })?;
    let other_entry = forbidden_roster_change(worker, |doc| {
        let entry = doc.put_object(
            ROOT,
            crate::store::roster::device_key(&coordinator_device),
            ObjType::Map,
        )?;
        doc.put(&entry, "name", "Appareil usurpé")?;
        Ok(())
    })?;
    Ok(vec![
        // The founder's entry and the coordinator's grant (they carry the founder's keys and no
        // grant: the founder needs none).
        ("founder-roster", roster(&by_founder)),
        // A record by the founder, whose keys the store knows.
        ("founder-record", records(&by_founder)),
        // The founder's roster changes, then the coordinator's entry, the worker's grant and a
        // code, carrying the founder's grant (the last two depend on the founder's changes).
        ("coordinator-roster", roster_by_both),
        // The worker's entry, with the chain founder -> coordinator -> worker.
        ("worker-roster", roster(&by_worker)),
        // The worker's entry then its records: its keys are learnt in the batch.
        ("worker-all", by_worker),
        // Refused seeds (`seed-refused-*`): every change applies but the last, which the roster
        // rule quarantines.
        ("refused-worker-code", [entry.clone(), vec![code]].concat()),
        ("refused-worker-role", [entry.clone(), vec![role]].concat()),
        (
            "refused-worker-other-entry",
            [entry, vec![other_entry]].concat(),
        ),
    ])
}

/// A roster change `store`'s device writes with `edit` (whatever the roster rule says of it),
/// signed as its roster changes are (with its keys and its grants).
fn forbidden_roster_change(
    store: &Store,
    edit: impl FnOnce(&mut automerge::AutoCommit) -> std::result::Result<(), automerge::AutomergeError>,
) -> Result<SignedChange> {
    let mut conn = store.lock();
    let tx = conn.transaction()?;
    store.write_roster_in(&tx, |doc, _| edit(doc).map_err(CoreError::from))?;
    tx.commit()?;
    drop(conn);
    store
        .export_changes()?
        .pop()
        .ok_or_else(|| CoreError::Storage("no roster change".into()))
}

/// The `signed` target's refused seeds, and why the roster rule
/// (`store::roster::check_roster_change`) refuses their last change.
const REFUSED_SEEDS: [(&str, &str); 3] = [
    (
        "seed-refused-worker-code",
        "only a coordinator may write the organisation's codes",
    ),
    (
        "seed-refused-worker-role",
        "only a coordinator may write roles",
    ),
    (
        "seed-refused-worker-other-entry",
        "it writes another device's roster entry",
    ),
];

/// Seeds that would not get past the keys would teach the fuzzer nothing: each one is opened
/// here as its target opens it.
fn check_seeds(seeds: &[(&'static str, String, Vec<u8>)]) -> Result<()> {
    let keys = space_keys();
    let bad = |name: &str| CoreError::Storage(format!("seed {name} does not open"));
    for (target, name, bytes) in seeds {
        match *target {
            "envelope" if name.starts_with("seed-envelope") => {
                let env = decode::<Envelope>(bytes).map_err(|_| bad(name))?;
                let key = match &env.key {
                    Some(wrapped) => keys.unwrap(&env.record, wrapped)?,
                    None => keys.roster_key(),
                };
                keys.open(&env, &key, u64::MAX)?;
            }
            "envelope" => open_plaintext(&keys, bytes)?,
            "bundle" => {
                bundle::read_header(bytes)?;
                bundle::open_with_key(bytes, bundle_key())?;
            }
            "signed" => {
                let batch = signed_batch(bytes);
                if batch.is_empty()
                    || frame_signed(&batch)? != *bytes
                    || batch
                        .iter()
                        .any(|c| ChangeSignature::decode(&c.signature).is_none())
                {
                    return Err(bad(name));
                }
                // Every change applies; in a refused seed, all but the last, which only the
                // roster rule refuses.
                let mut verdicts = import_rolled_back(signed_store(), &batch)?;
                if name.starts_with("seed-refused-") {
                    let last = verdicts.pop().flatten();
                    let expected = REFUSED_SEEDS
                        .iter()
                        .find(|(seed, _)| seed == name)
                        .map(|(_, why)| format!("quarantined: {why}"));
                    if expected.is_none() || last != expected {
                        return Err(CoreError::Storage(format!(
                            "seed {name} is not refused by the roster rule: {last:?}"
                        )));
                    }
                }
                if let Some(why) = verdicts.into_iter().flatten().next() {
                    return Err(CoreError::Storage(format!(
                        "seed {name} is set aside: {why}"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

// Hooks for the adversarial end-to-end tests (`tests/tests/it/adversarial.rs`): they let a test
// play a member device that misbehaves (sealing and signing what the store itself never would)
// and look inside envelopes with a device's keys. They read a store's keys and never change what
// a store checks.

/// Seals any change bytes with any signature bytes, as `store` seals a change of `record` for
/// its space at its current epoch: under the record's key if the store knows it (the roster's
/// derived key for the roster), a fresh one otherwise (not kept). The bytes need not be a change.
pub fn seal_change(
    store: &Store,
    record: RecordId,
    change: &[u8],
    signature: Vec<u8>,
) -> Result<Envelope> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    let key = crate::store::sync_state::space_key(&store.lock(), &m.space, m.epoch)?
        .ok_or(CoreError::NotEnrolled)?;
    let keys = SpaceKeys::new(&key, m.epoch);
    let record_key = if record == crate::store::ROSTER_ID {
        keys.roster_key()
    } else {
        match crate::store::sync_state::record_key(&store.lock(), &keys.blind(record))? {
            Some(key) => key,
            None => RawKey::from_bytes(store.random()),
        }
    };
    Ok(keys.seal_bytes(record, &record_key, change, signature))
}

/// `store`'s signature of a change of `record` (an encoded `ChangeSignature`, with the device's
/// public keys and its grants for a roster change), whichever actor the change names.
pub fn sign_change(store: &Store, record: RecordId, change: &[u8]) -> Result<Vec<u8>> {
    let change = automerge::Change::try_from(change)
        .map_err(|e| CoreError::invalid("change", e.to_string()))?;
    let mut signature =
        store
            .device_keys()
            .sign(record, &change.hash().0, record == crate::store::ROSTER_ID);
    if record == crate::store::ROSTER_ID {
        signature.credentials = store.own_credentials(&store.lock())?;
    }
    Ok(signature.encode())
}

/// A wipe order for `device`, signed by `store`'s device whether or not it is a coordinator's.
pub fn sign_wipe_order(store: &Store, device: &crate::DeviceId) -> Result<WipeOrder> {
    crate::sync::wipe_order_signed_by(store, device)
}

/// An erasure order for `person`, signed by `store`'s device whether or not it is a
/// coordinator's, and carried out nowhere ([`Store::erase_person`] refuses a worker).
pub fn sign_erasure_order(
    store: &Store,
    person: crate::RecordId,
    reason: &str,
) -> Result<allervers_protocol::ControlBody> {
    crate::sync::order_signed_by(store, person, reason)
}

/// Every space key `store` holds, with its epoch.
pub fn space_keys_held(store: &Store) -> Result<Vec<(u32, [u8; 32])>> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    Ok(
        crate::store::sync_state::space_keys(&store.lock(), &m.space)?
            .into_iter()
            .map(|(epoch, key)| (epoch, *key.as_bytes()))
            .collect(),
    )
}

/// Every record key `store` holds.
pub fn record_keys_held(store: &Store) -> Result<Vec<[u8; 32]>> {
    Ok(crate::store::sync_state::all_record_keys(&store.lock())?
        .into_iter()
        .map(|key| *key.as_bytes())
        .collect())
}

/// Whether `envelope` opens with `space_key` taken as the key of its epoch: its record key
/// unwrapped (the roster's derived when it carries none), then its content opened.
pub fn opens_with_space_key(envelope: &Envelope, space_key: &[u8; 32]) -> bool {
    let keys = SpaceKeys::new(&RawKey::from_bytes(*space_key), envelope.epoch);
    let record_key = match &envelope.key {
        Some(wrapped) => match keys.unwrap(&envelope.record, wrapped) {
            Ok(key) => key,
            Err(_) => return false,
        },
        None => keys.roster_key(),
    };
    keys.open(envelope, &record_key, u64::MAX).is_ok()
}

/// Whether `envelope`'s sealed content decrypts with `record_key`.
pub fn opens_with_record_key(envelope: &Envelope, record_key: &[u8; 32]) -> bool {
    // The epoch's subkeys play no part in decrypting (only the blinded id and the epoch, which
    // the envelope carries, are associated data): any space key will do.
    SpaceKeys::new(&RawKey::from_bytes([0; 32]), envelope.epoch)
        .decrypts(envelope, &RawKey::from_bytes(*record_key))
}

/// Whether a control item is a key delivery that opens with `store`'s agreement key.
pub fn opens_delivery(store: &Store, space: &[u8; 16], body: &ControlBody) -> bool {
    crate::sync::delivery_opens(store, space, body)
}

/// What a coordinator's approval does, without a control log (the simulation hands keys over
/// out of band): `coordinator` learns `device`'s keys and writes its worker's grant in the
/// roster, and `device` keeps the grants that prove its membership.
pub fn admit(coordinator: &Store, device: &Store) -> Result<()> {
    let m = coordinator.membership()?.ok_or(CoreError::NotEnrolled)?;
    let founder = m.founder.ok_or(CoreError::NotEnrolled)?;
    let keys = device.device_keys().public();
    let mut conn = coordinator.lock();
    let tx = conn.transaction()?;
    let chain = coordinator
        .own_coordinator_chain(&tx, &m.space, &founder)?
        .ok_or_else(|| CoreError::invalid("admit", "not a coordinator"))?;
    crate::store::trust::learn_device_keys(&tx, &keys)?;
    let credentials = coordinator.grant_worker_in(&tx, &m.space, &chain, keys)?;
    tx.commit()?;
    drop(conn);
    crate::store::sync_state::set_credentials(&device.lock(), &m.space, &credentials)
}

/// Whether `store` still keeps the secret of a recovery code it recovered its space with.
pub fn holds_recovery_secret(store: &Store) -> Result<bool> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    Ok(crate::store::sync_state::recovery_secret(&store.lock(), &m.space)?.is_some())
}
