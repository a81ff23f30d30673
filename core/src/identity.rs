//! Who wrote a change: each device has a signing key pair (Ed25519) and a key-agreement key pair
//! (X25519), kept in the encrypted store, and its id (the Automerge actor of every change it
//! writes) is a hash of its two public keys. A device therefore cannot be impersonated: a change
//! under actor `A` must carry a signature that `A`'s keys verify, and keys that hash to `A` are
//! the only keys that can.
//!
//! A change is signed when it first leaves its device (sealed for a relay, or put in a bundle),
//! not in the write's transaction. The signature covers the record id and the change's hash (so a
//! signed change cannot be replayed into another record), and travels with the change wherever
//! it goes. A roster change also carries its author's public keys: that is how every other device
//! learns them (the roster is where a device first writes, when its store is created).

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{DeviceId, RecordId};

/// A device's public keys: what others need to check its signatures and seal keys for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeys {
    pub sign: [u8; 32],
    pub agree: [u8; 32],
}

impl PublicKeys {
    /// The device id these keys stand for.
    pub fn device(&self) -> DeviceId {
        let mut h = Sha256::new();
        h.update(b"allervers device v1");
        h.update(self.sign);
        h.update(self.agree);
        let digest = h.finalize();
        DeviceId::from_bytes(&digest[..16])
    }
}

/// This device's secret keys. Never leaves the store.
pub(crate) struct DeviceKeys {
    signing: SigningKey,
    agreement: x25519_dalek::StaticSecret,
}

impl DeviceKeys {
    /// Keys from their two 32-byte secrets (drawn from the store's entropy).
    pub fn from_secrets(signing: [u8; 32], agreement: [u8; 32]) -> Self {
        DeviceKeys {
            signing: SigningKey::from_bytes(&signing),
            agreement: x25519_dalek::StaticSecret::from(agreement),
        }
    }

    pub fn secrets(&self) -> (zeroize::Zeroizing<[u8; 32]>, zeroize::Zeroizing<[u8; 32]>) {
        (
            zeroize::Zeroizing::new(self.signing.to_bytes()),
            zeroize::Zeroizing::new(self.agreement.to_bytes()),
        )
    }

    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            sign: self.signing.verifying_key().to_bytes(),
            agree: x25519_dalek::PublicKey::from(&self.agreement).to_bytes(),
        }
    }

    /// Signs one change of `record`; `with_keys` adds this device's public keys (roster
    /// changes).
    pub fn sign(&self, record: RecordId, hash: &[u8; 32], with_keys: bool) -> ChangeSignature {
        ChangeSignature {
            signature: self.signing.sign(&message(record, hash)).to_bytes(),
            keys: with_keys.then(|| self.public()),
            credentials: Vec::new(),
        }
    }
}

impl DeviceKeys {
    /// Signs any message of this device's (a key delivery, a wipe order).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Opens a box sealed to this device's agreement key by [`seal_to`]; `None` if it does not
    /// open.
    pub fn open_box(&self, sealed: &[u8], aad: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let ephemeral: [u8; 32] = sealed.get(..32)?.try_into().ok()?;
        let nonce = sealed.get(32..56)?;
        let shared = self
            .agreement
            .diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral));
        if !shared.was_contributory() {
            return None;
        }
        let key = box_key(shared.as_bytes(), &ephemeral, &self.public().agree);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&*key).into());
        cipher
            .decrypt(
                chacha20poly1305::XNonce::from_slice(nonce),
                Payload {
                    msg: &sealed[56..],
                    aad,
                },
            )
            .ok()
            .map(zeroize::Zeroizing::new)
    }
}

/// Seals `message` to a device's agreement key (X25519 with a fresh ephemeral key, HKDF,
/// XChaCha20-Poly1305): ephemeral public key (32), nonce (24), sealed bytes.
pub(crate) fn seal_to(
    recipient: &[u8; 32],
    message: &[u8],
    aad: &[u8],
    entropy: &dyn crate::Entropy,
) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let secret = x25519_dalek::StaticSecret::from(crate::entropy::bytes::<32>(entropy));
    let ephemeral = x25519_dalek::PublicKey::from(&secret).to_bytes();
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    let key = box_key(shared.as_bytes(), &ephemeral, recipient);
    let nonce: [u8; 24] = crate::entropy::bytes(entropy);
    let cipher = chacha20poly1305::XChaCha20Poly1305::new((&*key).into());
    let sealed = cipher
        .encrypt(
            chacha20poly1305::XNonce::from_slice(&nonce),
            Payload { msg: message, aad },
        )
        .unwrap_or_default();
    let mut out = ephemeral.to_vec();
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn box_key(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> zeroize::Zeroizing<[u8; 32]> {
    let mut info = ephemeral.to_vec();
    info.extend_from_slice(recipient);
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"allervers box v1"), shared);
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
    let _ = hkdf.expand(&info, &mut *key);
    key
}

/// What the signature of an erasure order covers: a label, the space, the ordering device, the
/// blinded records the relay deletes (each epoch and id) and the sealed content.
pub(crate) fn erasure_message(
    space: &[u8; 16],
    by: &[u8; 16],
    records: &[allervers_protocol::BlindedRecord],
    sealed: &[u8],
) -> Vec<u8> {
    let mut out = b"allervers erase v1".to_vec();
    out.extend_from_slice(space);
    out.extend_from_slice(by);
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for r in records {
        out.extend_from_slice(&r.epoch.to_le_bytes());
        out.extend_from_slice(&r.record);
    }
    out.extend_from_slice(&(sealed.len() as u64).to_le_bytes());
    out.extend_from_slice(sealed);
    out
}

/// Checks one signature by `keys` over `message`.
pub(crate) fn verify_bytes(keys: &PublicKeys, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&keys.sign) else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature))
        .is_ok()
}

/// The signed message of a change: a label, the record id and the change's hash.
fn message(record: RecordId, hash: &[u8; 32]) -> [u8; 19 + 16 + 32] {
    let mut out = [0u8; 19 + 16 + 32];
    out[..19].copy_from_slice(b"allervers change v1");
    out[19..35].copy_from_slice(record.as_bytes());
    out[35..].copy_from_slice(hash);
    out
}

/// A change's signature, as it travels and is kept with the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSignature {
    #[serde(with = "serde_bytes64")]
    pub signature: [u8; 64],
    /// The author's public keys, carried by roster changes.
    pub keys: Option<PublicKeys>,
    /// On a roster change by a coordinator other than the space's founder: the grants that make
    /// it one, from the founder down (see [`Grant`]).
    pub credentials: Vec<Grant>,
}

/// A role in a space, bound to a device by a coordinator's signed [`Grant`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Worker,
    Coordinator,
}

/// A coordinator's signed statement that a device (its public keys) holds a role in a space.
/// The space's founder (its creator's device, whose keys every invite carries) is a coordinator
/// by itself; any other coordinator is one by a chain of grants from the founder down, each
/// signed by a coordinator of the chain above it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub device: PublicKeys,
    pub role: Role,
    pub by: PublicKeys,
    pub signature: Vec<u8>,
}

impl Grant {
    fn message(space: &[u8; 16], device: &PublicKeys, role: Role) -> Vec<u8> {
        let mut out = b"allervers grant v1".to_vec();
        out.extend_from_slice(space);
        out.extend_from_slice(&device.sign);
        out.extend_from_slice(&device.agree);
        out.push(match role {
            Role::Worker => 0,
            Role::Coordinator => 1,
        });
        out
    }

    /// `by`'s grant of `role` to `device` in `space`.
    pub(crate) fn new(space: &[u8; 16], device: PublicKeys, role: Role, by: &DeviceKeys) -> Grant {
        Grant {
            device,
            role,
            by: by.public(),
            signature: by
                .sign_bytes(&Grant::message(space, &device, role))
                .to_vec(),
        }
    }

    fn verifies(&self, space: &[u8; 16]) -> bool {
        verify_bytes(
            &self.by,
            &Grant::message(space, &self.device, self.role),
            &self.signature,
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Grant> {
        postcard::from_bytes(bytes).ok()
    }
}

/// The role `chain` (grants from the founder down) gives `device` in `space`: the founder is a
/// coordinator by itself; otherwise the first grant is the founder's, each next one is signed
/// by the device the previous one made a coordinator, and the last names `device` (as a worker
/// or a coordinator). `None` when the chain proves nothing.
pub fn role_of(
    space: &[u8; 16],
    founder: &PublicKeys,
    device: &DeviceId,
    chain: &[Grant],
) -> Option<Role> {
    if founder.device() == *device {
        return Some(Role::Coordinator);
    }
    let mut signer = *founder;
    for (i, grant) in chain.iter().enumerate() {
        if grant.by != signer || !grant.verifies(space) {
            return None;
        }
        if i + 1 == chain.len() {
            return (grant.device.device() == *device).then_some(grant.role);
        }
        if grant.role != Role::Coordinator {
            return None;
        }
        signer = grant.device;
    }
    None
}

/// Whether `chain` makes `device` a coordinator of `space` (see [`role_of`]).
pub fn is_coordinator(
    space: &[u8; 16],
    founder: &PublicKeys,
    device: &DeviceId,
    chain: &[Grant],
) -> bool {
    role_of(space, founder, device, chain) == Some(Role::Coordinator)
}

impl ChangeSignature {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }
}

mod serde_bytes64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let v: &[u8] = Deserialize::deserialize(d)?;
        <[u8; 64]>::try_from(v).map_err(|_| serde::de::Error::custom("a signature is 64 bytes"))
    }
}

/// One change to check: its record, hash, author and signature.
pub(crate) struct ToVerify<'a> {
    pub record: RecordId,
    pub hash: [u8; 32],
    pub keys: PublicKeys,
    pub signature: &'a [u8; 64],
}

/// Checks many signatures at once (a batch costs about half of checking them one by one); when
/// the batch fails, each is checked alone to find the bad ones. `true` for each good one.
pub(crate) fn verify_all(items: &[ToVerify<'_>]) -> Vec<bool> {
    let parsed: Vec<Option<(VerifyingKey, ed25519_dalek::Signature)>> = items
        .iter()
        .map(|i| {
            VerifyingKey::from_bytes(&i.keys.sign)
                .ok()
                .map(|k| (k, ed25519_dalek::Signature::from_bytes(i.signature)))
        })
        .collect();
    let messages: Vec<_> = items.iter().map(|i| message(i.record, &i.hash)).collect();
    if parsed.iter().all(Option::is_some) && !items.is_empty() {
        let (keys, sigs): (Vec<_>, Vec<_>) = parsed.iter().flatten().cloned().unzip();
        let msgs: Vec<&[u8]> = messages.iter().map(|m| &m[..]).collect();
        if ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok() {
            return vec![true; items.len()];
        }
    }
    parsed
        .iter()
        .zip(&messages)
        .map(|(p, m)| match p {
            // `verify_strict` refuses the weak keys and malleable signatures that a plain
            // verification lets through.
            Some((k, s)) => k.verify_strict(m, s).is_ok() && k.verify(m, s).is_ok(),
            None => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_record_change_and_keys() {
        let keys = DeviceKeys::from_secrets([1; 32], [2; 32]);
        let other = DeviceKeys::from_secrets([3; 32], [4; 32]);
        let record = RecordId::from_bytes([5; 16]);
        let sig = keys.sign(record, &[6; 32], false);
        let check = |record, hash, k: &DeviceKeys| {
            verify_all(&[ToVerify {
                record,
                hash,
                keys: k.public(),
                signature: &sig.signature,
            }])[0]
        };
        assert!(check(record, [6; 32], &keys));
        assert!(!check(record, [7; 32], &keys));
        assert!(!check(RecordId::from_bytes([8; 16]), [6; 32], &keys));
        assert!(!check(record, [6; 32], &other));
        assert_ne!(keys.public().device(), other.public().device());
        let with_keys = keys.sign(record, &[6; 32], true);
        assert_eq!(
            ChangeSignature::decode(&with_keys.encode()),
            Some(with_keys)
        );
        assert_eq!(ChangeSignature::decode(&[1, 2, 3]), None);
    }

    #[test]
    fn a_role_is_proven_only_by_a_chain_of_coordinators_grants_from_the_founder() {
        let space = [7; 16];
        let founder = DeviceKeys::from_secrets([1; 32], [2; 32]);
        let coordinator = DeviceKeys::from_secrets([3; 32], [4; 32]);
        let worker = DeviceKeys::from_secrets([5; 32], [6; 32]);
        let other = DeviceKeys::from_secrets([8; 32], [9; 32]);
        let f = founder.public();
        let role = |device: &DeviceKeys, chain: &[Grant]| {
            role_of(&space, &f, &device.public().device(), chain)
        };
        let made = Grant::new(&space, coordinator.public(), Role::Coordinator, &founder);
        let added = Grant::new(&space, worker.public(), Role::Worker, &coordinator);
        assert_eq!(role(&founder, &[]), Some(Role::Coordinator));
        assert_eq!(
            role(&coordinator, std::slice::from_ref(&made)),
            Some(Role::Coordinator)
        );
        assert_eq!(
            role(&worker, &[made.clone(), added.clone()]),
            Some(Role::Worker)
        );
        // No grant, a chain that does not start at the founder, one for another space, or a
        // grant for another device: nothing.
        assert_eq!(role(&worker, &[]), None);
        assert_eq!(role(&worker, std::slice::from_ref(&added)), None);
        let elsewhere = Grant::new(&[8; 16], coordinator.public(), Role::Coordinator, &founder);
        assert_eq!(role(&worker, &[elsewhere, added.clone()]), None);
        assert_eq!(role(&other, &[made.clone(), added.clone()]), None);
        // A worker cannot add anyone, and a grant claiming the founder's name without its
        // signature proves nothing.
        let by_worker = Grant::new(&space, other.public(), Role::Worker, &worker);
        assert_eq!(role(&other, &[made.clone(), added, by_worker]), None);
        let mut forged = Grant::new(&space, other.public(), Role::Coordinator, &other);
        forged.by = f;
        assert_eq!(role(&other, &[forged]), None);
    }

    #[test]
    fn a_batch_with_one_bad_signature_names_that_one() {
        let keys = DeviceKeys::from_secrets([1; 32], [2; 32]);
        let record = RecordId::from_bytes([5; 16]);
        let sigs: Vec<_> = (0..5u8)
            .map(|i| keys.sign(record, &[i; 32], false))
            .collect();
        let items: Vec<_> = (0..5u8)
            .map(|i| ToVerify {
                record,
                hash: if i == 3 { [9; 32] } else { [i; 32] },
                keys: keys.public(),
                signature: &sigs[i as usize].signature,
            })
            .collect();
        assert_eq!(verify_all(&items), vec![true, true, true, false, true]);
    }
}
