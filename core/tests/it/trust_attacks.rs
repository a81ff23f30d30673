//! An adversarial review of membership by grants and of recovery codes, at the core's level.
//! Devices sync through an in-memory relay (`Relay`) that does what the real one does (only its
//! coordinators post key deliveries, a revoked device is refused, epochs are numbered one at a
//! time); its operator is the test, which can add to its logs, reorder them or let a revoked
//! device in. An attacker's own device signs and seals what it likes: its secret keys are read
//! from its own store (`forge`), as anyone holding the phone and its store key can.
//!
//! Each test is named for a defence, and fails saying which check broke. Attacks that still
//! succeed (a relay's operator serving a revoked coordinator's key for an epoch before the
//! genuine one, or cutting the control log short for a recovering device; a revoked worker's
//! writes that the operator lets through) are described in the closing notes, not tested here.

use std::cell::RefCell;

use allervers_core::identity::{ChangeSignature, Grant, PublicKeys, Role};
use allervers_core::store::ROSTER_ID;
use allervers_core::{
    fuzzing, CoreError, DeviceId, RecoveryCode, Request, Response, Store, SyncRound, SyncSummary,
};
use allervers_protocol::{
    Control, ControlBody, ControlPage, Enroll, Envelope, Page, Pushed, SpaceId, Stored,
};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ScalarValue, ROOT};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{device, person, Device};

/// A generated French first name.
fn first_name(rng: &mut StdRng) -> String {
    let names = allervers_core::seed::FIRST_NAMES;
    names[rng.gen_range(0..names.len())].to_string()
}

fn id_of(d: &Device) -> DeviceId {
    d.store.identity().device.clone()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

// ---------------------------------------------------------------------------------------------
// The relay, and its operator's powers.

struct Account {
    token: String,
    device: [u8; 16],
    coordinator: bool,
    revoked: bool,
}

pub(crate) struct Relay {
    pub(crate) space: SpaceId,
    pub(crate) envelopes: RefCell<Vec<Stored>>,
    pub(crate) control: RefCell<Vec<Control>>,
    /// The `(epoch, blinded record)` pairs erasure orders listed: their envelopes are deleted
    /// and a push carrying one is refused (409), as the real relay does.
    erased: RefCell<Vec<allervers_protocol::BlindedRecord>>,
    /// The last envelope sequence number handed out (deleted envelopes keep theirs).
    last_seq: RefCell<u64>,
    epoch: RefCell<u32>,
    accounts: RefCell<Vec<Account>>,
    /// The hash of the space's recovery token.
    recovery: RefCell<Option<[u8; 32]>>,
    /// The operator serves the control log only up to this item, as if it ended there.
    cut: RefCell<Option<u64>>,
}

impl Relay {
    /// A space created by `founder`'s device.
    pub(crate) fn create(founder: &Device, name: &str) -> Relay {
        let mut m = founder
            .store
            .new_space("http://relay.invalid", name)
            .unwrap();
        m.token = "jeton-0".into();
        founder.store.join_space(&m).unwrap();
        Relay {
            space: m.space,
            envelopes: RefCell::default(),
            control: RefCell::default(),
            epoch: RefCell::new(0),
            accounts: RefCell::new(vec![Account {
                token: m.token,
                device: founder.store.device_bytes(),
                coordinator: true,
                revoked: false,
            }]),
            recovery: RefCell::default(),
            cut: RefCell::default(),
            erased: RefCell::default(),
            last_seq: RefCell::default(),
        }
    }

    fn append(&self, body: ControlBody) -> u64 {
        let mut log = self.control.borrow_mut();
        let seq = log.len() as u64 + 1;
        log.push(Control { seq, body });
        seq
    }

    /// Enrols the device of `e` (the invite or recovery token already checked): its account,
    /// and the `Enrolled` item.
    fn enrol(&self, e: &Enroll, coordinator: bool) -> String {
        let token = format!("jeton-{}", self.accounts.borrow().len());
        self.accounts.borrow_mut().push(Account {
            token: token.clone(),
            device: e.device,
            coordinator,
            revoked: false,
        });
        self.append(ControlBody::Enrolled {
            invite: sha256(&e.redeem),
            device: e.device,
            sign_key: e.sign_key,
            agree_key: e.agree_key,
            mac: e.mac,
        });
        token
    }

    /// `joining` redeems an invite of `coordinator`'s.
    pub(crate) fn invite(&self, coordinator: &Device, joining: &Device) {
        let (_, invite) = coordinator.store.new_invite().unwrap();
        let token = self.enrol(&joining.store.enrolment(&invite), false);
        joining.store.join_invited(&invite, token).unwrap();
    }

    fn account(&self, token: &str) -> Option<([u8; 16], bool, bool)> {
        self.accounts
            .borrow()
            .iter()
            .find(|a| a.token == token)
            .map(|a| (a.device, a.coordinator, a.revoked))
    }

    fn set_account(&self, device: &[u8; 16], change: impl FnOnce(&mut Account)) {
        let mut accounts = self.accounts.borrow_mut();
        change(
            accounts
                .iter_mut()
                .find(|a| a.device == *device)
                .expect("an account"),
        );
    }

    /// One sync round of `d`, answered as the relay does.
    pub(crate) fn sync(&self, d: &Device) -> Result<SyncSummary, CoreError> {
        let m = d.store.membership()?.ok_or(CoreError::NotEnrolled)?;
        let refused = |status, reason: &str| CoreError::RelayRefused {
            status,
            reason: reason.into(),
        };
        let (device, coordinator, revoked) = self
            .account(&m.token)
            .ok_or_else(|| refused(401, "unknown device token"))?;
        if revoked {
            return Err(refused(403, "this device has been revoked"));
        }
        let mut round = SyncRound::new(&d.store)?;
        while let Some(request) = round.poll()? {
            let response = match request {
                Request::Push(push) => {
                    let erased = self.erased.borrow();
                    if push.envelopes.iter().any(|e| {
                        erased.contains(&allervers_protocol::BlindedRecord {
                            epoch: e.epoch,
                            record: e.record,
                        })
                    }) {
                        return Err(refused(409, "a record in this push was erased"));
                    }
                    drop(erased);
                    Response::Pushed(self.push(push.envelopes))
                }
                Request::Pull {
                    after,
                    limit,
                    control_after,
                } => Response::Page(self.page(after, limit, control_after)),
                Request::PostControl(post) => {
                    let own = post.items.iter().all(|i| match i {
                        ControlBody::Keys { from, .. } => *from == device,
                        ControlBody::Erase { by, .. } => *by == device,
                        _ => false,
                    });
                    if !coordinator || !own {
                        return Err(refused(
                            403,
                            "only a coordinator's own key deliveries and erasure orders",
                        ));
                    }
                    for item in &post.items {
                        if let ControlBody::Erase { records, .. } = item {
                            self.erase(records);
                        }
                    }
                    Response::Posted(Pushed {
                        seqs: post.items.into_iter().map(|i| self.append(i)).collect(),
                    })
                }
            };
            round.handle(response)?;
        }
        Ok(round.summary().clone())
    }

    /// Deletes the envelopes of the listed records and keeps the pairs, in the same step.
    fn erase(&self, records: &[allervers_protocol::BlindedRecord]) {
        self.envelopes.borrow_mut().retain(|s| {
            !records.contains(&allervers_protocol::BlindedRecord {
                epoch: s.envelope.epoch,
                record: s.envelope.record,
            })
        });
        self.erased.borrow_mut().extend_from_slice(records);
    }

    pub(crate) fn push(&self, envelopes: Vec<Envelope>) -> Pushed {
        let mut log = self.envelopes.borrow_mut();
        let mut seqs = Vec::new();
        for envelope in envelopes {
            match log.iter().find(|s| s.envelope.sealed == envelope.sealed) {
                Some(s) => seqs.push(s.seq),
                None => {
                    let seq = *self.last_seq.borrow() + 1;
                    *self.last_seq.borrow_mut() = seq;
                    log.push(Stored {
                        seq,
                        received_at_ms: 1_772_441_000_000 + seq as i64 * 1000,
                        clock_offset_ms: 0,
                        envelope,
                    });
                    seqs.push(seq);
                }
            }
        }
        Pushed { seqs }
    }

    fn page(&self, after: u64, limit: usize, control_after: Option<u64>) -> Page {
        let log = self.envelopes.borrow();
        let mut envelopes: Vec<Stored> = log
            .iter()
            .filter(|s| s.seq > after)
            .take(limit + 1)
            .cloned()
            .collect();
        let more = envelopes.len() > limit;
        envelopes.truncate(limit);
        let next = envelopes.last().map_or(after, |s| s.seq);
        let cut = *self.cut.borrow();
        let control = control_after.map(|after| {
            let items: Vec<Control> = self
                .control
                .borrow()
                .iter()
                .filter(|c| c.seq > after && cut.is_none_or(|cut| c.seq <= cut))
                .cloned()
                .collect();
            ControlPage {
                next: items.last().map_or(after, |c| c.seq),
                items,
                more: false,
            }
        });
        Page {
            envelopes,
            next,
            more,
            control,
        }
    }

    /// Every device syncs in turn, twice.
    pub(crate) fn settle(&self, devices: &[&Device]) {
        for _ in 0..2 {
            for d in devices {
                self.sync(d).unwrap();
            }
        }
    }

    /// `by` makes `who` a coordinator (a grant in the roster, and the relay told).
    pub(crate) fn make_coordinator(&self, by: &Device, who: &Device) {
        by.store.make_coordinator(&id_of(who)).unwrap();
        self.set_account(&who.store.device_bytes(), |a| a.coordinator = true);
        self.sync(by).unwrap();
    }

    /// `by` revokes `who` as the client does: the relay refuses it from now on, the next epoch
    /// starts, and its key goes to the remaining devices. Returns the epoch.
    pub(crate) fn revoke(&self, by: &Device, who: &Device) -> u32 {
        by.store.wipe_order(&id_of(who)).unwrap();
        self.set_account(&who.store.device_bytes(), |a| a.revoked = true);
        let expected = by.store.membership().unwrap().unwrap().epoch;
        assert_eq!(expected, *self.epoch.borrow(), "the relay's epoch");
        let epoch = expected + 1;
        *self.epoch.borrow_mut() = epoch;
        self.append(ControlBody::Epoch {
            epoch,
            by: by.store.device_bytes(),
        });
        let remaining: Vec<DeviceId> = self
            .accounts
            .borrow()
            .iter()
            .filter(|a| !a.revoked)
            .map(|a| DeviceId::from_bytes(&a.device))
            .collect();
        by.store.rotate(epoch, &remaining).unwrap();
        self.sync(by).unwrap();
        epoch
    }

    /// A new recovery code made on `by`'s device, its token set at the relay (replacing the one
    /// before), its grant and deliveries sent.
    fn recovery_code(&self, by: &Device) -> RecoveryCode {
        let code = by.store.new_recovery().unwrap();
        *self.recovery.borrow_mut() = Some(code.secret_hash());
        self.sync(by).unwrap();
        code
    }

    /// `d` redeems `code` (once) and joins the space as the device recovering it.
    fn recover(&self, d: &Device, code: &RecoveryCode) -> Result<(), CoreError> {
        let e = d.store.recovery_enrolment(code);
        if *self.recovery.borrow() != Some(sha256(&e.redeem)) {
            return Err(CoreError::RelayRefused {
                status: 404,
                reason: "this invite is unknown, already used or expired".into(),
            });
        }
        *self.recovery.borrow_mut() = None;
        let token = self.enrol(&e, true);
        d.store.join_recovered(code, token)
    }

    // The operator's powers.

    /// Appends an item to the control log, whoever signed it.
    pub(crate) fn inject(&self, body: ControlBody) -> u64 {
        self.append(body)
    }

    /// Serves the items at `a` and `b` in each other's place.
    fn swap(&self, a: u64, b: u64) {
        let mut log = self.control.borrow_mut();
        let (i, j) = ((a - 1) as usize, (b - 1) as usize);
        let body = log[i].body.clone();
        log[i].body = log[j].body.clone();
        log[j].body = body;
    }

    /// Takes the envelopes `d` would push next (a revoked device's, say) into the log.
    pub(crate) fn accept_outbox(&self, d: &Device) -> Vec<u64> {
        match d.store.outbox_batch(&self.space, 256).unwrap() {
            Some(batch) => self.push(batch.push.envelopes).seqs,
            None => Vec::new(),
        }
    }

    /// The key deliveries `d` queued (a revoked coordinator's, say), into the log.
    fn accept_deliveries(&self, d: &Device) -> Vec<u64> {
        let (post, _) = d.store.control_batch(&self.space).unwrap().expect("queued");
        post.items.into_iter().map(|i| self.append(i)).collect()
    }

    /// The key deliveries of the log.
    fn deliveries(&self) -> Vec<ControlBody> {
        self.control
            .borrow()
            .iter()
            .map(|c| c.body.clone())
            .filter(|b| matches!(b, ControlBody::Keys { .. }))
            .collect()
    }

    /// Whether the log holds a key of `epoch` sealed to `identity` (that opens with its keys).
    fn delivers_to(&self, identity: &forge::Keys, epoch: u32) -> bool {
        self.deliveries()
            .iter()
            .filter_map(|d| forge::open(&self.space, d, identity))
            .any(|(e, _)| e == epoch)
    }
}

// ---------------------------------------------------------------------------------------------
// What an attacker's own code can sign and seal (the formats are the core's; the secret keys
// are the attacker's own).

pub(crate) mod forge {
    use super::*;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use ed25519_dalek::{Signer, SigningKey};
    use x25519_dalek::StaticSecret;

    /// A device's or a recovery identity's secret keys.
    pub struct Keys {
        pub signing: SigningKey,
        pub agreement: StaticSecret,
    }

    impl Keys {
        pub fn public(&self) -> PublicKeys {
            PublicKeys {
                sign: self.signing.verifying_key().to_bytes(),
                agree: x25519_dalek::PublicKey::from(&self.agreement).to_bytes(),
            }
        }

        pub fn id(&self) -> [u8; 16] {
            id16(&self.public().device())
        }
    }

    pub fn id16(device: &DeviceId) -> [u8; 16] {
        device.to_bytes().try_into().unwrap()
    }

    /// The secret keys of `d`'s device, read from its store (with its store key).
    pub fn device_keys(d: &Device) -> Keys {
        let conn = crate::common::raw_connection(&d.path, &d.key);
        let meta = |key: &str| -> [u8; 32] {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .unwrap()
            .try_into()
            .unwrap()
        };
        let keys = Keys {
            signing: SigningKey::from_bytes(&meta("signing_key")),
            agreement: StaticSecret::from(meta("agreement_key")),
        };
        assert_eq!(keys.public().device(), id_of(d), "the device's own keys");
        keys
    }

    /// The recovery identity of a code: what its secret derives.
    pub fn recovery_keys(secret: &[u8; 32]) -> Keys {
        let derive = |label: &[u8]| {
            let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"allervers recovery v1"), secret);
            let mut out = [0u8; 32];
            hkdf.expand(label, &mut out).unwrap();
            out
        };
        Keys {
            signing: SigningKey::from_bytes(&derive(b"sign")),
            agreement: StaticSecret::from(derive(b"agree")),
        }
    }

    /// `by`'s grant of `role` to `device` in `space`.
    pub fn grant(space: &SpaceId, device: PublicKeys, role: Role, by: &Keys) -> Grant {
        let mut message = b"allervers grant v1".to_vec();
        message.extend_from_slice(space);
        message.extend_from_slice(&device.sign);
        message.extend_from_slice(&device.agree);
        message.push(match role {
            Role::Worker => 0,
            Role::Coordinator => 1,
        });
        Grant {
            device,
            role,
            by: by.public(),
            signature: by.signing.sign(&message).to_bytes().to_vec(),
        }
    }

    /// What a key delivery seals.
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Delivery {
        pub key: [u8; 32],
        pub member: Vec<Grant>,
        pub sender: Vec<Grant>,
    }

    fn keys_message(space: &SpaceId, epoch: u32, to: &[u8; 16], from: &[u8; 16]) -> Vec<u8> {
        let mut out = b"allervers keys v1".to_vec();
        out.extend_from_slice(space);
        out.extend_from_slice(&epoch.to_le_bytes());
        out.extend_from_slice(to);
        out.extend_from_slice(from);
        out
    }

    fn box_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
        let mut info = ephemeral.to_vec();
        info.extend_from_slice(recipient);
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"allervers box v1"), shared);
        let mut key = [0u8; 32];
        hkdf.expand(&info, &mut key).unwrap();
        key
    }

    /// A key delivery of `plain` (any bytes) for `epoch`, sealed to `to`, naming `from` as its
    /// sender and signed by `signer` (who need not be `from`).
    pub fn delivery_of(
        space: &SpaceId,
        epoch: u32,
        to: &PublicKeys,
        from: [u8; 16],
        signer: &Keys,
        plain: &[u8],
    ) -> ControlBody {
        let to_id = id16(&to.device());
        let aad = keys_message(space, epoch, &to_id, &from);
        let ephemeral_secret = StaticSecret::from(rand::random::<[u8; 32]>());
        let ephemeral = x25519_dalek::PublicKey::from(&ephemeral_secret).to_bytes();
        let shared = ephemeral_secret.diffie_hellman(&x25519_dalek::PublicKey::from(to.agree));
        let key = box_key(shared.as_bytes(), &ephemeral, &to.agree);
        let nonce: [u8; 24] = rand::random();
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&key).into());
        let sealed_part = cipher
            .encrypt(
                chacha20poly1305::XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .unwrap();
        let mut sealed = ephemeral.to_vec();
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&sealed_part);
        let mut message = aad;
        message.extend_from_slice(&sealed);
        ControlBody::Keys {
            epoch,
            to: to_id,
            from,
            sealed,
            signature: signer.signing.sign(&message).to_bytes().to_vec(),
        }
    }

    /// A key delivery of `key` with the grants `member` and `sender`.
    #[allow(clippy::too_many_arguments)]
    pub fn delivery(
        space: &SpaceId,
        epoch: u32,
        to: &PublicKeys,
        from: [u8; 16],
        signer: &Keys,
        key: [u8; 32],
        member: &[Grant],
        sender: &[Grant],
    ) -> ControlBody {
        let plain = postcard::to_stdvec(&Delivery {
            key,
            member: member.to_vec(),
            sender: sender.to_vec(),
        })
        .unwrap();
        delivery_of(space, epoch, to, from, signer, &plain)
    }

    /// What a key delivery holds, opened with `keys` (whoever it is addressed to).
    pub fn open(space: &SpaceId, body: &ControlBody, keys: &Keys) -> Option<(u32, Delivery)> {
        let ControlBody::Keys {
            epoch,
            to,
            from,
            sealed,
            ..
        } = body
        else {
            return None;
        };
        let ephemeral: [u8; 32] = sealed.get(..32)?.try_into().ok()?;
        let nonce = sealed.get(32..56)?;
        let shared = keys
            .agreement
            .diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral));
        let key = box_key(shared.as_bytes(), &ephemeral, &keys.public().agree);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&key).into());
        let plain = cipher
            .decrypt(
                chacha20poly1305::XNonce::from_slice(nonce),
                Payload {
                    msg: &sealed[56..],
                    aad: &keys_message(space, *epoch, to, from),
                },
            )
            .ok()?;
        Some((*epoch, postcard::from_bytes(&plain).ok()?))
    }

    /// The grants `d`'s roster changes carry (its credentials).
    pub fn credentials(d: &Device) -> Vec<Grant> {
        let change = roster_change(&d.store, &id_of(d), |doc| {
            let _ = doc.put(ROOT, format!("device:{}", id_of(d)), "x");
        });
        let signature = fuzzing::sign_change(&d.store, ROSTER_ID, &change).unwrap();
        ChangeSignature::decode(&signature).unwrap().credentials
    }

    /// One change to the roster as `store` holds it, written under `actor` by `edit`.
    pub fn roster_change(
        store: &Store,
        actor: &DeviceId,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Vec<u8> {
        let mut doc = AutoCommit::load(&store.record_document(ROSTER_ID).unwrap()).unwrap();
        doc.set_actor(actor.actor().clone());
        edit(&mut doc);
        doc.commit_with(CommitOptions::default().with_time(store.now().timestamp_millis()));
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    /// `change` of the roster, signed by `d`'s device with `credentials` in place of its own,
    /// and sealed as `d` seals for its space.
    pub fn sealed_roster_change(
        d: &Device,
        change: &[u8],
        credentials: Option<Vec<Grant>>,
    ) -> Envelope {
        let mut signature =
            ChangeSignature::decode(&fuzzing::sign_change(&d.store, ROSTER_ID, change).unwrap())
                .unwrap();
        if let Some(credentials) = credentials {
            signature.credentials = credentials;
        }
        fuzzing::seal_change(&d.store, ROSTER_ID, change, signature.encode()).unwrap()
    }
}

use forge::id16;

/// The roster key of a device's grant.
fn grant_key(device: &DeviceId) -> String {
    format!("grant:{device}")
}

/// The envelopes `d` quarantined, with their reasons.
pub(crate) fn quarantined(d: &Device, space: &SpaceId) -> Vec<(u64, String)> {
    d.store
        .set_aside(space)
        .unwrap()
        .into_iter()
        .filter(|s| s.quarantined)
        .map(|s| (s.seq, s.reason))
        .collect()
}

fn epoch_of(d: &Device) -> u32 {
    d.store.membership().unwrap().unwrap().epoch
}

fn keys_held(d: &Device) -> Vec<(u32, [u8; 32])> {
    fuzzing::space_keys_held(&d.store).unwrap()
}

/// The envelopes of the log from `from_seq` on that open under a key of `keys`.
fn opened_by(relay: &Relay, from_seq: u64, keys: &[(u32, [u8; 32])]) -> Vec<u64> {
    relay
        .envelopes
        .borrow()
        .iter()
        .filter(|s| s.seq >= from_seq)
        .filter(|s| {
            keys.iter()
                .any(|(_, k)| fuzzing::opens_with_space_key(&s.envelope, k))
        })
        .map(|s| s.seq)
        .collect()
}

fn next_seq(relay: &Relay) -> u64 {
    relay.envelopes.borrow().len() as u64 + 1
}

/// Asserts that no hole was found; each hole says which defence did not hold.
fn assert_no_hole(holes: Vec<String>) {
    assert!(holes.is_empty(), "broken:\n- {}", holes.join("\n- "));
}

// ---------------------------------------------------------------------------------------------
// Defences that hold (regression tests).

#[test]
fn a_worker_cannot_write_itself_or_anyone_a_grant_and_an_outsider_cannot_borrow_a_members_grants() {
    let rng = &mut StdRng::seed_from_u64(101);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let w = device("Téléphone 3", &first_name(rng));
    let relay = Relay::create(&a, "Maraude des grants");
    relay.invite(&a, &b);
    relay.invite(&a, &w);
    relay.settle(&[&a, &b, &w]);
    let space = relay.space;
    let founder = forge::device_keys(&a);
    let wk = forge::device_keys(&w);
    let w_id = id_of(&w);

    // An outsider holding the leaked space key (and w as its accomplice).
    let x = device("Téléphone inconnu", &first_name(rng));
    let mut m = w.store.membership().unwrap().unwrap();
    m.token = "jeton-fuite".into();
    x.store.join_space(&m).unwrap();
    for (epoch, key) in keys_held(&w) {
        x.store
            .keep_space_key(&space, epoch, &allervers_core::RawKey::from_bytes(key))
            .unwrap();
    }
    let xk = forge::device_keys(&x);

    let put_grant = |device: &DeviceId, grant: &Grant| {
        let key = grant_key(device);
        let value = grant.encode();
        forge::roster_change(&w.store, &w_id, move |doc| {
            doc.put(ROOT, key, ScalarValue::Bytes(value)).unwrap();
        })
    };
    // w makes itself a coordinator (signed by itself, or in the founder's name), and adds x.
    let by_itself = forge::grant(&space, wk.public(), Role::Coordinator, &wk);
    let mut in_founders_name = by_itself.clone();
    in_founders_name.by = founder.public();
    let adds_x = forge::grant(&space, xk.public(), Role::Worker, &wk);
    let mut envelopes: Vec<Envelope> = [
        put_grant(&w_id, &by_itself),
        put_grant(&w_id, &in_founders_name),
        put_grant(&x.store.identity().device, &adds_x),
    ]
    .iter()
    .map(|change| forge::sealed_roster_change(&w, change, None))
    .collect();
    // x's own roster entry, carrying w's grants, then w's grants with x's grant after them.
    let x_entry = x
        .store
        .export_changes()
        .unwrap()
        .into_iter()
        .find(|c| c.record == ROSTER_ID)
        .unwrap()
        .bytes;
    let w_chain = forge::credentials(&w);
    assert_eq!(w_chain.len(), 1, "the founder's worker grant");
    let mut extended = w_chain.clone();
    extended.push(adds_x);
    envelopes.push(forge::sealed_roster_change(&x, &x_entry, Some(w_chain)));
    envelopes.push(forge::sealed_roster_change(&x, &x_entry, Some(extended)));
    let seqs = relay.push(envelopes).seqs;
    relay.settle(&[&a, &b, &w]);

    for d in [&a, &b, &w] {
        let aside = quarantined(d, &space);
        for (i, seq) in seqs.iter().enumerate() {
            let words: &[&str] = if i < 3 {
                &["only a coordinator"]
            } else {
                &["grant"]
            };
            let reason = aside
                .iter()
                .find(|(s, _)| s == seq)
                .map(|(_, r)| r.clone())
                .unwrap_or_else(|| panic!("envelope {seq} applied: {aside:?}"));
            assert!(words.iter().any(|w| reason.contains(w)), "{seq}: {reason}");
        }
        assert_eq!(d.store.is_coordinator(&w_id).unwrap(), Some(false));
        assert!(!d
            .store
            .devices()
            .unwrap()
            .iter()
            .any(|e| e.device == x.store.identity().device));
    }
}

#[test]
fn a_key_delivery_signed_by_a_worker_is_refused_by_members_and_by_a_recovering_device_whatever_grants_it_seals(
) {
    let rng = &mut StdRng::seed_from_u64(102);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let w = device("Téléphone 3", &first_name(rng));
    let relay = Relay::create(&a, "Maraude des clés");
    for d in [&c, &b, &w] {
        relay.invite(&a, d);
    }
    relay.settle(&[&a, &c, &b, &w]);
    relay.make_coordinator(&a, &c);
    relay.settle(&[&c, &b, &w, &a]);
    let code = relay.recovery_code(&a);
    relay.settle(&[&b, &w]);
    let space = relay.space;
    let wk = forge::device_keys(&w);
    let ck = forge::device_keys(&c);
    let bk = forge::device_keys(&b).public();
    let identity = forge::recovery_keys(&code.secret);
    let w_chain = forge::credentials(&w);
    let c_chain = forge::credentials(&c);
    assert_eq!(c_chain.len(), 1, "the founder's coordinator grant");
    // The grants that make the recovery identity a coordinator, as the roster shows them to
    // every member (here: opened from the founder's delivery to it).
    let (_, genuine) = relay
        .deliveries()
        .iter()
        .find_map(|d| forge::open(&space, d, &identity))
        .expect("a delivery to the recovery identity");
    let recovery_chain = genuine.member.clone();

    let forged_key: [u8; 32] = rng.gen();
    let w_id = wk.id();
    let c_id = ck.id();
    // To b: for epoch 1 and for epoch 0, from w with its own grants, from w with c's, and in
    // c's name (signed by w).
    let mut to_b = Vec::new();
    for epoch in [1, 0] {
        to_b.push(forge::delivery(
            &space,
            epoch,
            &bk,
            w_id,
            &wk,
            forged_key,
            &[],
            &w_chain,
        ));
        to_b.push(forge::delivery(
            &space,
            epoch,
            &bk,
            w_id,
            &wk,
            forged_key,
            &[],
            &c_chain,
        ));
        to_b.push(forge::delivery(
            &space,
            epoch,
            &bk,
            c_id,
            &wk,
            forged_key,
            &[],
            &c_chain,
        ));
    }
    // To the recovery identity, with the grants that would make a recovering device a
    // coordinator: epoch 0 served before the founder's genuine delivery.
    let to_identity = [
        forge::delivery(
            &space,
            0,
            &identity.public(),
            w_id,
            &wk,
            forged_key,
            &recovery_chain,
            &c_chain,
        ),
        forge::delivery(
            &space,
            0,
            &identity.public(),
            c_id,
            &wk,
            forged_key,
            &recovery_chain,
            &c_chain,
        ),
    ];
    let b_keys = keys_held(&b);
    // Each is applied to b on its own: refused, and nothing changes.
    let cursor = b.store.control_cursor(&space).unwrap();
    let apply = |body: ControlBody| {
        b.store
            .apply_control(
                &space,
                &ControlPage {
                    items: vec![Control { seq: cursor, body }],
                    next: cursor,
                    more: false,
                },
            )
            .unwrap()
    };
    for body in to_b {
        let done = apply(body);
        assert_eq!((done.keys_received, done.refused), (0, 1), "{done:?}");
    }
    assert_eq!(keys_held(&b), b_keys);
    assert_eq!(epoch_of(&b), 0);
    // The same forgery signed by the founder's device (its own key again) is taken: the
    // refusals above are the signer's, not the format's.
    let ak = forge::device_keys(&a);
    let again = forge::delivery(&space, 0, &bk, ak.id(), &ak, b_keys[0].1, &[], &[]);
    assert_eq!(apply(again).refused, 0);

    // The forgeries to the recovery identity go in the log, the first one served in place of
    // the founder's genuine delivery.
    let before = relay.control.borrow().len() as u64;
    for body in to_identity {
        relay.inject(body);
    }
    let first_to_identity = relay
        .control
        .borrow()
        .iter()
        .find(|c| matches!(&c.body, ControlBody::Keys { to, .. } if *to == identity.id()))
        .unwrap()
        .seq;
    assert!(first_to_identity <= before);
    relay.swap(first_to_identity, before + 1);

    // The founder's phone is lost: a new one recovers the space and must take the founder's
    // key, and the role, from the founder's delivery only.
    drop(a);
    let r = device("Nouveau téléphone coordination", &first_name(rng));
    relay.recover(&r, &code).unwrap();
    relay.sync(&r).unwrap();
    relay.sync(&r).unwrap();
    assert_eq!(keys_held(&r), b_keys, "the founder's key, not w's");
    assert_eq!(r.store.is_coordinator(&id_of(&r)).unwrap(), Some(true));
    assert!(!fuzzing::holds_recovery_secret(&r.store).unwrap());
    relay.settle(&[&b, &c]);
    assert_eq!(
        b.store.is_coordinator(&id_of(&r)).unwrap(),
        Some(true),
        "by the recovery identity's grant"
    );
}

#[test]
fn a_recovery_code_with_the_right_space_and_founder_but_another_secret_gives_no_key_and_no_role() {
    let rng = &mut StdRng::seed_from_u64(103);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude sans code");
    relay.invite(&a, &b);
    relay.settle(&[&a, &b]);
    let code = relay.recovery_code(&a);
    relay.settle(&[&b]);
    person(&a.store, &first_name(rng));
    relay.sync(&a).unwrap();

    // The relay's operator knows the space and the founder's keys (not the secret): it makes up
    // a code with them, and lets it redeem as a coordinator's.
    let made_up = RecoveryCode {
        secret: rng.gen(),
        ..code.clone()
    };
    *relay.recovery.borrow_mut() = Some(made_up.secret_hash());
    let intruder = device("Appareil du relais", &first_name(rng));
    relay.recover(&intruder, &made_up).unwrap();
    let got = relay.sync(&intruder).unwrap();
    assert_eq!(got.keys_received, 0, "{got:?}");
    assert!(keys_held(&intruder).is_empty());
    let intruder_id = id_of(&intruder);
    assert_eq!(
        intruder.store.is_coordinator(&intruder_id).unwrap(),
        Some(false)
    );
    // Its enrolment waits, by hand, on the coordinator's device.
    relay.sync(&a).unwrap();
    assert!(a
        .store
        .enrolments()
        .unwrap()
        .iter()
        .any(|e| e.device == intruder_id
            && e.status == allervers_core::store::EnrolmentStatus::Pending));
    assert_eq!(b.store.is_coordinator(&intruder_id).unwrap(), Some(false));
}

#[test]
fn crafted_key_deliveries_grants_and_codes_are_refused_without_a_panic() {
    let rng = &mut StdRng::seed_from_u64(104);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude bruitée");
    relay.invite(&a, &b);
    relay.settle(&[&a, &b]);
    let space = relay.space;
    let ak = forge::device_keys(&a);
    let bk = forge::device_keys(&b).public();
    let b_id = bk.device();
    let (a_id, b16) = (ak.id(), id16(&b_id));

    // Boxes too short, empty, random; a box that opens to bytes that are no delivery; a
    // delivery whose grants hold keys that are no curve points and a long chain of them; an
    // epoch at the end of the range; all signed by the founder itself.
    let bad_keys = PublicKeys {
        sign: [0xff; 32],
        agree: [0xff; 32],
    };
    let junk_grant = Grant {
        device: bad_keys,
        role: Role::Coordinator,
        by: bad_keys,
        signature: vec![0; 3],
    };
    let mut items: Vec<ControlBody> = [0usize, 1, 31, 55, 56, 57, 200]
        .into_iter()
        .map(|n| {
            let sealed: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            ControlBody::Keys {
                epoch: 0,
                to: b16,
                from: a_id,
                sealed,
                signature: vec![1; 64],
            }
        })
        .collect();
    items.push(forge::delivery_of(&space, 1, &bk, a_id, &ak, &[7; 5]));
    items.push(forge::delivery_of(&space, 1, &bk, a_id, &ak, &[]));
    // Sent in the name of the device the junk keys stand for (this store knows no keys of it:
    // they are read from the chain sealed with it).
    items.push(forge::delivery(
        &space,
        2,
        &bk,
        id16(&bad_keys.device()),
        &ak,
        rng.gen(),
        &vec![junk_grant.clone(); 5_000],
        &vec![junk_grant.clone(); 5_000],
    ));
    items.push(ControlBody::Keys {
        epoch: u32::MAX,
        to: b16,
        from: [0; 16],
        sealed: vec![0; 56],
        signature: Vec::new(),
    });
    items.push(ControlBody::Enrolled {
        invite: [0; 32],
        device: b16,
        sign_key: [0xff; 32],
        agree_key: [0; 32],
        mac: [0; 32],
    });
    items.push(ControlBody::Epoch {
        epoch: u32::MAX,
        by: [0xee; 16],
    });
    for item in items {
        relay.inject(item);
    }
    relay.sync(&b).unwrap();
    relay.sync(&a).unwrap();

    // Roster changes by b carrying grants that are garbage, and a grant value of garbage bytes.
    let b_change = forge::roster_change(&b.store, &b_id, |doc| {
        doc.put(ROOT, format!("device:{b_id}"), "x").unwrap();
    });
    let junk_value = forge::roster_change(&b.store, &b_id, |doc| {
        doc.put(
            ROOT,
            grant_key(&b_id),
            ScalarValue::Bytes((0..300).map(|_| rng.gen()).collect()),
        )
        .unwrap();
    });
    let envelopes = vec![
        forge::sealed_roster_change(&b, &b_change, Some(vec![junk_grant.clone(); 2_000])),
        forge::sealed_roster_change(&b, &junk_value, None),
    ];
    let seqs = relay.push(envelopes).seqs;
    relay.settle(&[&a, &b]);
    for seq in seqs {
        assert!(
            quarantined(&a, &space).iter().any(|(s, _)| *s == seq),
            "{seq}"
        );
    }
    assert_eq!(epoch_of(&b), 0);
    assert_eq!(keys_held(&b), keys_held(&a));

    // Recovery codes that are cut, empty, or whose name claims four gigabytes.
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let code = relay.recovery_code(&a).code();
    let mut bytes = engine.decode(code.strip_prefix("ALVR1-").unwrap()).unwrap();
    let name_at = 1 + bytes[0] as usize + 16;
    bytes.splice(name_at..name_at + 1, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    let fresh = device("Téléphone neuf", &first_name(rng));
    for text in [
        code[..code.len() / 2].to_string(),
        format!("ALVR1-{}", engine.encode(&bytes)),
        "ALVR1-".to_string(),
        "ALVR1-\u{1F600}".to_string(),
    ] {
        assert!(fresh.store.read_recovery(&text).is_err(), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Holes: each fails today.

/// A coordinator's device is revoked (stolen, or its holder left): the relay refuses it, but the
/// relay's operator lets its key deliveries through. They name an epoch the relay never started.
#[test]
fn a_revoked_coordinator_cannot_hand_out_the_key_of_a_later_epoch() {
    let rng = &mut StdRng::seed_from_u64(111);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude révoquée");
    relay.invite(&a, &c);
    relay.invite(&a, &b);
    relay.settle(&[&a, &c, &b]);
    relay.make_coordinator(&a, &c);
    relay.settle(&[&c, &b, &a]);
    let epoch = relay.revoke(&a, &c);
    relay.sync(&b).unwrap();
    assert_eq!(epoch_of(&b), epoch);
    assert!(relay.sync(&c).is_err(), "the relay refuses c");

    // c's own device starts "epoch 2" for a and b; the operator serves it.
    let undelivered = c.store.rotate(epoch + 1, &[id_of(&a), id_of(&b)]).unwrap();
    assert!(undelivered.is_empty());
    relay.accept_deliveries(&c);
    let mut holes = Vec::new();
    for d in [&a, &b] {
        let got = relay.sync(d).unwrap();
        if got.keys_received > 0 || epoch_of(d) != epoch {
            holes.push(format!(
                "{} took the revoked coordinator's key for epoch {} (now at epoch {})",
                d.store.identity().device_name,
                epoch + 1,
                epoch_of(d)
            ));
        }
    }
    // What b writes now is sealed under that key: the revoked device (and the relay, to whom it
    // gives it) reads it.
    let from = next_seq(&relay);
    person(&b.store, &first_name(rng));
    relay.sync(&b).unwrap();
    let readable = opened_by(&relay, from, &keys_held(&c));
    if !readable.is_empty() {
        holes.push(format!(
            "the revoked coordinator's keys open envelopes {readable:?} that b sealed after its revocation"
        ));
    }
    // And the order to erase b, signed by c's device, served by the relay with a 410.
    let order = c.store.wipe_order(&id_of(&b)).unwrap();
    if matches!(b.store.obey_wipe(&order), CoreError::Wiped) {
        holes.push("b erased its store on the revoked coordinator's order".into());
    }
    assert_no_hole(holes);
}

/// A worker kept the recovery code the founder replaced (it saw it printed). With nothing but its
/// own device's access to the relay, it makes itself a coordinator, and points the recovery
/// identity at a code of its own, so that every later key reaches it, even once it is revoked.
#[test]
fn a_replaced_recovery_code_gives_a_worker_who_kept_it_no_trust_and_no_later_key() {
    let rng = &mut StdRng::seed_from_u64(113);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let w = device("Téléphone 3", &first_name(rng));
    let relay = Relay::create(&a, "Maraude au vieux code");
    relay.invite(&a, &b);
    relay.invite(&a, &w);
    relay.settle(&[&a, &b, &w]);
    let old = relay.recovery_code(&a);
    relay.recovery_code(&a);
    relay.settle(&[&b, &w, &a]);
    let space = relay.space;

    // w reads the control log (any device of the space may) and opens what was sealed to the old
    // identity: the founder's grant of the coordinator's role to it.
    let old_identity = forge::recovery_keys(&old.secret);
    let (_, opened) = relay
        .deliveries()
        .iter()
        .find_map(|d| forge::open(&space, d, &old_identity))
        .expect("a delivery to the old identity");
    let old_grant = opened.member.last().unwrap().clone();
    assert_eq!(old_grant.device, old_identity.public());

    // The old identity makes w a coordinator; w writes that grant, the old identity's, and a
    // recovery identity of its own into the roster, with one change signed as itself.
    let wk = forge::device_keys(&w);
    let w_id = id_of(&w);
    let mine = forge::recovery_keys(&rng.gen());
    let w_grant = forge::grant(&space, wk.public(), Role::Coordinator, &old_identity);
    let hijack = forge::grant(&space, mine.public(), Role::Coordinator, &wk);
    let change = {
        let (g1, g2, g3) = (w_grant.encode(), old_grant.encode(), hijack.encode());
        let (k1, k2) = (grant_key(&w_id), grant_key(&old_identity.public().device()));
        forge::roster_change(&w.store, &w_id, move |doc| {
            doc.put(ROOT, k1, ScalarValue::Bytes(g1)).unwrap();
            doc.put(ROOT, k2, ScalarValue::Bytes(g2)).unwrap();
            doc.put(ROOT, "recovery", ScalarValue::Bytes(g3)).unwrap();
        })
    };
    let envelope = forge::sealed_roster_change(&w, &change, Some(vec![old_grant.clone(), w_grant]));
    let seq = relay.push(vec![envelope]).seqs[0];
    relay.settle(&[&a, &b]);

    let mut holes = Vec::new();
    // (The roster change itself is applied: its grants form a valid chain, and the rule that
    // reads a change alone cannot know the code was replaced. What matters is below: the
    // roster's revocation of the old identity keeps w from being trusted as a coordinator.)
    assert!(quarantined(&a, &space).iter().all(|(s, _)| *s != seq));
    for d in [&a, &b] {
        let name = d.store.identity().device_name.clone();
        if d.store.is_coordinator(&w_id).unwrap() != Some(false) {
            holes.push(format!("{name} takes w for a coordinator"));
        }
    }
    // The founder revokes w: the new epoch's key goes to the remaining devices, and to the
    // recovery identity the roster names.
    let epoch = relay.revoke(&a, &w);
    if relay.delivers_to(&mine, epoch) {
        holes.push(format!(
            "epoch {epoch}'s key, made to shut w out, is delivered to w's own recovery identity"
        ));
    }
    // (w's `recovery` entry replaced the current code's in the roster: the current code gets
    // no later key until a coordinator makes a new one. Availability, not secrecy.)
    // The relay's operator serves b an order to erase itself, signed by w.
    let order = fuzzing::sign_wipe_order(&w.store, &id_of(&b)).unwrap();
    if matches!(b.store.obey_wipe(&order), CoreError::Wiped) {
        holes.push("b erased its store on w's order".into());
    }
    assert_no_hole(holes);
}

/// A revoked coordinator writes a recovery identity of its own into the roster (the relay's
/// operator takes its envelope): every later rotation delivers its key to it.
#[test]
fn a_revoked_coordinator_cannot_point_the_recovery_identity_at_itself() {
    let rng = &mut StdRng::seed_from_u64(114);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude détournée");
    relay.invite(&a, &c);
    relay.invite(&a, &b);
    relay.settle(&[&a, &c, &b]);
    relay.make_coordinator(&a, &c);
    relay.settle(&[&c, &b, &a]);
    relay.recovery_code(&a);
    relay.settle(&[&b, &c]);
    relay.revoke(&a, &c);

    // c's own device makes a code (its recovery grant in the roster, sealed under the epoch-0
    // key it still holds); the operator takes the envelope.
    let theirs = c.store.new_recovery().unwrap();
    let seqs = relay.accept_outbox(&c);
    assert!(!seqs.is_empty());
    relay.settle(&[&a, &b]);
    // The founder revokes b later: epoch 2.
    let epoch = relay.revoke(&a, &b);
    let mut holes = Vec::new();
    let stolen = forge::recovery_keys(&theirs.secret);
    if relay.delivers_to(&stolen, epoch) {
        holes.push(format!(
            "epoch {epoch}'s key is delivered to the recovery identity of the revoked coordinator"
        ));
    }
    // (c's code replaced and revoked the founder's in the roster: the founder's code gets no
    // later key until a coordinator makes a new one. Availability, not secrecy.)
    assert_no_hole(holes);
}

/// The device that recovered the space replaces the code it used, as it is told to: its own
/// chain of grants went through the old recovery identity, whose grant the roster no longer
/// holds.
#[test]
fn a_recovered_coordinator_stays_one_everywhere_after_it_replaces_the_code() {
    let rng = &mut StdRng::seed_from_u64(116);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let w = device("Téléphone 3", &first_name(rng));
    let relay = Relay::create(&a, "Maraude retrouvée");
    relay.invite(&a, &b);
    relay.invite(&a, &w);
    relay.settle(&[&a, &b, &w]);
    let code = relay.recovery_code(&a);
    relay.settle(&[&b, &w]);
    drop(a);
    let r = device("Nouveau téléphone coordination", &first_name(rng));
    relay.recover(&r, &code).unwrap();
    relay.settle(&[&r, &b, &w]);
    let r_id = id_of(&r);
    assert_eq!(b.store.is_coordinator(&r_id).unwrap(), Some(true));

    let renewed = relay.recovery_code(&r);
    relay.settle(&[&b, &w, &r]);
    let mut holes = Vec::new();
    for d in [&b, &w, &r] {
        if d.store.is_coordinator(&r_id).unwrap() != Some(true) {
            holes.push(format!(
                "{} no longer takes the recovered device for a coordinator",
                d.store.identity().device_name
            ));
        }
    }
    let order = r.store.wipe_order(&id_of(&w)).unwrap();
    let epoch = relay.revoke(&r, &w);
    let current = forge::recovery_keys(&renewed.secret);
    if !relay.delivers_to(&current, epoch) {
        holes.push(format!(
            "the new recovery code does not receive epoch {epoch}'s key"
        ));
    }
    if !matches!(w.store.obey_wipe(&order), CoreError::Wiped) {
        holes
            .push("the revoked worker does not obey the recovered coordinator's wipe order".into());
    }
    assert_no_hole(holes);
}

/// A second coordinator sees the enrolment the recovery left in the control log as pending (no
/// invite of its own matches it) and approves it: a worker's grant then replaces the recovered
/// device's coordinator grant in the roster.
#[test]
fn approving_the_enrolment_a_recovery_left_does_not_demote_the_recovered_coordinator() {
    let rng = &mut StdRng::seed_from_u64(117);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude approuvée");
    relay.invite(&a, &c);
    relay.invite(&a, &b);
    relay.settle(&[&a, &c, &b]);
    relay.make_coordinator(&a, &c);
    let code = relay.recovery_code(&a);
    relay.settle(&[&c, &b]);
    drop(a);
    let r = device("Nouveau téléphone coordination", &first_name(rng));
    relay.recover(&r, &code).unwrap();
    relay.settle(&[&r, &c, &b]);
    let r_id = id_of(&r);
    assert_eq!(c.store.is_coordinator(&r_id).unwrap(), Some(true));
    let pending = c
        .store
        .enrolments()
        .unwrap()
        .into_iter()
        .find(|e| e.device == r_id)
        .expect("the recovery's enrolment");
    assert_eq!(
        pending.status,
        allervers_core::store::EnrolmentStatus::Pending
    );

    let mut holes = Vec::new();
    match c.store.approve(&r_id.to_string()) {
        Err(_) => {}
        Ok(_) => {
            relay.settle(&[&c, &r, &b]);
            for d in [&c, &r, &b] {
                if d.store.is_coordinator(&r_id).unwrap() != Some(true) {
                    holes.push(format!(
                        "{} no longer takes the recovered device for a coordinator",
                        d.store.identity().device_name
                    ));
                }
            }
            if fuzzing::holds_recovery_secret(&r.store).unwrap() {
                holes.push("the recovered device keeps the recovery secret again".into());
            }
        }
    }
    assert_no_hole(holes);
}

/// The founder's phone was lost, the space recovered, and the lost phone revoked by the
/// recovered coordinator. Whoever holds the lost phone (and the relay's operator) still speaks
/// as the founder, a coordinator by itself whatever the relay says.
#[test]
fn the_lost_founders_phone_revoked_after_a_recovery_is_trusted_no_more() {
    let rng = &mut StdRng::seed_from_u64(119);
    let a = device("Téléphone coordination", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude au téléphone perdu");
    relay.invite(&a, &b);
    relay.settle(&[&a, &b]);
    let code = relay.recovery_code(&a);
    relay.settle(&[&b]);
    // a is lost (and found by someone else); a new phone recovers the space and revokes it.
    let r = device("Nouveau téléphone coordination", &first_name(rng));
    relay.recover(&r, &code).unwrap();
    relay.settle(&[&r, &b]);
    let epoch = relay.revoke(&r, &a);
    relay.settle(&[&b, &r]);
    assert_eq!(epoch_of(&b), epoch);

    // The operator lets the lost phone read the space once (it learns the recovered device's
    // keys), then serves the key it hands out for the next epoch.
    let a_device = a.store.device_bytes();
    relay.set_account(&a_device, |x| x.revoked = false);
    relay.sync(&a).unwrap();
    relay.set_account(&a_device, |x| x.revoked = true);
    let undelivered = a.store.rotate(epoch + 1, &[id_of(&b), id_of(&r)]).unwrap();
    assert!(undelivered.is_empty(), "{undelivered:?}");
    relay.accept_deliveries(&a);
    let mut holes = Vec::new();
    for d in [&b, &r] {
        relay.sync(d).unwrap();
        if epoch_of(d) != epoch {
            holes.push(format!(
                "{} took the lost phone's key for epoch {}",
                d.store.identity().device_name,
                epoch + 1
            ));
        }
    }
    let order = a.store.wipe_order(&id_of(&b)).unwrap();
    if matches!(b.store.obey_wipe(&order), CoreError::Wiped) {
        holes.push("b erased its store on the lost phone's order".into());
    }
    assert_no_hole(holes);
}

/// A coordinator made the space's recovery code (it may have kept a copy), then is revoked: the
/// relay lets its token die with it, yet the rotation that shuts it out delivers the new key to
/// the identity of its code.
#[test]
fn a_recovery_code_made_by_a_revoked_coordinator_receives_no_later_key() {
    let rng = &mut StdRng::seed_from_u64(121);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let relay = Relay::create(&a, "Maraude au code du partant");
    relay.invite(&a, &c);
    relay.invite(&a, &b);
    relay.settle(&[&a, &c, &b]);
    relay.make_coordinator(&a, &c);
    relay.settle(&[&c, &b, &a]);
    let kept = relay.recovery_code(&c);
    relay.settle(&[&a, &b]);
    let epoch = relay.revoke(&a, &c);
    let identity = forge::recovery_keys(&kept.secret);
    let mut holes = Vec::new();
    if relay.delivers_to(&identity, epoch) {
        holes.push(format!(
            "epoch {epoch}'s key, made to shut c out, is delivered to the code c made"
        ));
    }
    assert_no_hole(holes);
}

/// Two coordinators each make a recovery code before either has synced the other's: the relay
/// keeps the token it received last, and the roster keeps both grants (concurrent values), so a
/// rotation delivers to both identities and the code that redeems opens every key.
#[test]
fn the_recovery_code_the_relay_redeems_is_one_later_keys_are_delivered_to() {
    let rng = &mut StdRng::seed_from_u64(122);
    let a = device("Téléphone coordination", &first_name(rng));
    let c = device("Téléphone adjoint", &first_name(rng));
    let b = device("Téléphone 2", &first_name(rng));
    let w = device("Téléphone 3", &first_name(rng));
    let relay = Relay::create(&a, "Maraude aux deux codes");
    for d in [&c, &b, &w] {
        relay.invite(&a, d);
    }
    relay.settle(&[&a, &c, &b, &w]);
    relay.make_coordinator(&a, &c);
    relay.settle(&[&c, &b, &w, &a]);
    let from_a = a.store.new_recovery().unwrap();
    let from_c = c.store.new_recovery().unwrap();
    relay.settle(&[&a, &c, &b]);
    // Which identity the roster kept: the one a rotation delivers to.
    let epoch = relay.revoke(&a, &w);
    let receives =
        |code: &RecoveryCode| relay.delivers_to(&forge::recovery_keys(&code.secret), epoch);
    assert_eq!(
        (receives(&from_a), receives(&from_c)),
        (true, true),
        "the rotation reaches both codes made at once"
    );
    let (kept, dropped) = (from_a, from_c);
    // The relay received c's token last.
    *relay.recovery.borrow_mut() = Some(dropped.secret_hash());
    assert!(relay.recovery.borrow().is_some() && kept.secret_hash() != dropped.secret_hash());
    drop((a, c));
    let r = device("Nouveau téléphone coordination", &first_name(rng));
    relay.recover(&r, &dropped).unwrap();
    relay.sync(&r).unwrap();
    relay.sync(&r).unwrap();
    let held: Vec<u32> = keys_held(&r).into_iter().map(|(e, _)| e).collect();
    assert_no_hole(if held.contains(&epoch) {
        Vec::new()
    } else {
        vec![format!(
            "the code the relay redeems opens the keys of epochs {held:?} only, not epoch {epoch}'s"
        )]
    });
}
