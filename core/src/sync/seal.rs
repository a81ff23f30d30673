//! End-to-end encryption of changes: what leaves the device is an envelope the relay cannot
//! read.
//!
//! - Each record has its own random 256-bit key (the roster's is derived from the space key, as
//!   every device writes to it); it travels wrapped (under a subkey of the space key, with a
//!   nonce derived from the record id and the record key) on every envelope, so that
//!   any envelope opens on its own (a device that edits a record whose key it never received,
//!   say one that came in a bundle, seals with a key of its own and says so).
//! - The relay sees a blinded record id (HMAC of the id under a subkey of the space key), the key epoch, a
//!   nonce and the sealed bytes: XChaCha20-Poly1305 under the record key of the record id and the
//!   change (deflated by us, inflated with a size cap: an envelope cannot be a decompression
//!   bomb) and its author's signature, with the blinded id and epoch as associated data.
//! - The nonce is derived from the plaintext (SIV-like), so a retried push carries the very
//!   same bytes and the relay stores it once, and different bytes never share a nonce.

use allervers_protocol::Envelope;
use automerge::Change;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::crypto::RawKey;
use crate::store::ROSTER_ID;
use crate::{CoreError, RecordId, Result};

fn prf(key: &[u8; 32], label: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The largest change an envelope may hold once inflated.
pub(crate) const MAX_CHANGE: u64 = 16 * 1024 * 1024;

fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// Inflates at most `max` bytes; more is refused, never allocated.
fn inflate(bytes: &[u8], max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::DeflateDecoder::new(bytes).take(max + 1);
    dec.read_to_end(&mut out).ok()?;
    (out.len() as u64 <= max).then_some(out)
}

/// The keys of a space at one epoch: separate subkeys, derived from the space key with HKDF,
/// for wrapping record keys, blinding record ids and the roster's record key.
#[derive(Clone)]
pub(crate) struct SpaceKeys {
    wrap: RawKey,
    blind: RawKey,
    roster: RawKey,
    erase: RawKey,
    pub epoch: u32,
}

/// What is sealed inside an envelope (never seen by the relay): the record id, the change
/// (deflated) and its author's signature (an encoded `ChangeSignature`).
#[derive(Serialize, Deserialize)]
struct Inner {
    record: [u8; 16],
    change: Vec<u8>,
    signature: Vec<u8>,
}

/// What an envelope holds once opened: a change of `record`, not parsed yet, with its
/// signature.
pub(crate) struct Opened {
    pub record: RecordId,
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

impl SpaceKeys {
    /// The subkeys of `key`, the space key of `epoch`.
    pub fn new(key: &RawKey, epoch: u32) -> Self {
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"allervers space key v1"), key.as_bytes());
        let subkey = |label: &[u8]| {
            let mut out = [0u8; 32];
            // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
            let _ = hkdf.expand(label, &mut out);
            RawKey::from_bytes(out)
        };
        SpaceKeys {
            wrap: subkey(b"wrap record keys"),
            blind: subkey(b"blind record ids"),
            roster: subkey(b"roster record key"),
            erase: subkey(b"seal erasure orders"),
            epoch,
        }
    }

    /// The opaque id the relay sees for a record.
    pub fn blind(&self, record: RecordId) -> [u8; 16] {
        let mac = prf(
            self.blind.as_bytes(),
            b"allervers record id",
            record.as_bytes(),
        );
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac[..16]);
        out
    }

    /// Seals what an erasure order erases under the epoch's erasure subkey: the epoch (4 bytes,
    /// little-endian), a random nonce (24), then the sealed bytes; `aad` binds the space and
    /// the ordering device.
    pub fn seal_order(&self, plain: &[u8], aad: &[u8], nonce: [u8; 24]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.erase.as_bytes().into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .unwrap_or_default();
        let mut out = self.epoch.to_le_bytes().to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`SpaceKeys::seal_order`] sealed under this epoch; `None` if it does not open.
    pub fn open_order(&self, sealed: &[u8], aad: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        let nonce = sealed.get(4..28)?;
        let cipher = XChaCha20Poly1305::new(self.erase.as_bytes().into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &sealed[28..],
                    aad,
                },
            )
            .ok()
            .map(zeroize::Zeroizing::new)
    }

    /// The roster's record key: every device writes to the roster, so they derive one key.
    pub fn roster_key(&self) -> RawKey {
        self.roster.clone()
    }

    fn aad(&self, blind: &[u8; 16]) -> Vec<u8> {
        let mut aad = blind.to_vec();
        aad.extend_from_slice(&self.epoch.to_le_bytes());
        aad
    }

    /// A record key wrapped with the space's wrapping key: nonce (24) then sealed key (48).
    /// The nonce is derived from the record id and the record key both: a record that has two
    /// keys (one made by a device that never received the first) never wraps them under one
    /// nonce.
    pub fn wrap(&self, record: RecordId, key: &RawKey) -> Vec<u8> {
        let blind = self.blind(record);
        let mut input = record.as_bytes().to_vec();
        input.extend_from_slice(key.as_bytes());
        let n = prf(self.wrap.as_bytes(), b"allervers wrap", &input);
        input.zeroize();
        let nonce = XNonce::from_slice(&n[..24]);
        let cipher = XChaCha20Poly1305::new(self.wrap.as_bytes().into());
        let sealed = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: key.as_bytes(),
                    aad: &self.aad(&blind),
                },
            )
            .unwrap_or_default();
        let mut out = n[..24].to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn unwrap(&self, blind: &[u8; 16], wrapped: &[u8]) -> Result<RawKey> {
        let refuse =
            || CoreError::ChangesRefused("a record key does not open with the space key".into());
        if wrapped.len() != 24 + 32 + 16 {
            return Err(refuse());
        }
        let cipher = XChaCha20Poly1305::new(self.wrap.as_bytes().into());
        let key = cipher
            .decrypt(
                XNonce::from_slice(&wrapped[..24]),
                Payload {
                    msg: &wrapped[24..],
                    aad: &self.aad(blind),
                },
            )
            .map_err(|_| refuse())?;
        RawKey::from_slice(&key).map_err(|_| refuse())
    }

    /// Seals one change of `record` and its signature under its record key, with the record
    /// key wrapped (except the roster's, which every device derives).
    pub fn seal(
        &self,
        record: RecordId,
        record_key: &RawKey,
        change: &Change,
        signature: Vec<u8>,
    ) -> Envelope {
        let inner = Inner {
            record: *record.as_bytes(),
            change: deflate(change.raw_bytes()),
            signature,
        };
        let plain = zeroize::Zeroizing::new(postcard::to_stdvec(&inner).unwrap_or_default());
        self.seal_plain(record, record_key, &plain)
    }

    /// Seals an envelope's plaintext (an encoded `Inner`) under the record key.
    fn seal_plain(&self, record: RecordId, record_key: &RawKey, plain: &[u8]) -> Envelope {
        let blind = self.blind(record);
        let n = prf(record_key.as_bytes(), b"allervers nonce", plain);
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&n[..24]);
        let cipher = XChaCha20Poly1305::new(record_key.as_bytes().into());
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &self.aad(&blind),
                },
            )
            .unwrap_or_default();
        let key = (record != ROSTER_ID).then(|| self.wrap(record, record_key));
        Envelope {
            record: blind,
            epoch: self.epoch,
            nonce,
            sealed,
            key,
        }
    }

    /// Opens an envelope with its record key: the record id, the change's bytes (checked by
    /// the import) and its signature. Refuses an envelope that does not authenticate, whose
    /// record id does not match its blinded id, or whose change inflates past `max_change`
    /// bytes.
    pub fn open(
        &self,
        envelope: &Envelope,
        record_key: &RawKey,
        max_change: u64,
    ) -> Result<Opened> {
        let refuse = |why: &str| CoreError::ChangesRefused(why.to_string());
        if envelope.epoch != self.epoch {
            return Err(refuse("an envelope is sealed with an unknown key epoch"));
        }
        let cipher = XChaCha20Poly1305::new(record_key.as_bytes().into());
        let plain = zeroize::Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&envelope.nonce),
                    Payload {
                        msg: &envelope.sealed,
                        aad: &self.aad(&envelope.record),
                    },
                )
                .map_err(|_| {
                    refuse("an envelope does not decrypt (altered, or sealed with another key)")
                })?,
        );
        let inner: Inner = postcard::from_bytes(&plain)
            .map_err(|_| refuse("an envelope's content does not decode"))?;
        let record = RecordId::from_bytes(inner.record);
        if self.blind(record) != envelope.record {
            return Err(refuse(
                "an envelope's record id does not match its sealed content",
            ));
        }
        let bytes = inflate(&inner.change, max_change.min(MAX_CHANGE))
            .ok_or_else(|| refuse("an envelope's change does not inflate, or is too large"))?;
        Ok(Opened {
            record,
            bytes,
            signature: inner.signature,
        })
    }
}

/// What the fuzz targets need to reach what is inside an envelope: its plaintext sealed as is.
#[cfg(feature = "fuzzing")]
impl SpaceKeys {
    /// The plaintext `seal` encrypts for one change.
    pub(crate) fn plaintext(&self, record: RecordId, change: &Change) -> Vec<u8> {
        let inner = Inner {
            record: *record.as_bytes(),
            change: deflate(change.raw_bytes()),
            signature: Vec::new(),
        };
        postcard::to_stdvec(&inner).unwrap_or_default()
    }

    /// Any change bytes (not parsed: they need not be a change) and any signature bytes sealed
    /// for `record` as [`SpaceKeys::seal`] seals a change.
    pub(crate) fn seal_bytes(
        &self,
        record: RecordId,
        record_key: &RawKey,
        change: &[u8],
        signature: Vec<u8>,
    ) -> Envelope {
        let inner = Inner {
            record: *record.as_bytes(),
            change: deflate(change),
            signature,
        };
        let plain = zeroize::Zeroizing::new(postcard::to_stdvec(&inner).unwrap_or_default());
        self.seal_plain(record, record_key, &plain)
    }

    /// Whether `envelope`'s sealed bytes authenticate under `record_key` (at this epoch).
    pub(crate) fn decrypts(&self, envelope: &Envelope, record_key: &RawKey) -> bool {
        envelope.epoch == self.epoch
            && XChaCha20Poly1305::new(record_key.as_bytes().into())
                .decrypt(
                    XNonce::from_slice(&envelope.nonce),
                    Payload {
                        msg: &envelope.sealed,
                        aad: &self.aad(&envelope.record),
                    },
                )
                .is_ok()
    }

    /// Any bytes sealed as an envelope's plaintext for `record`.
    pub(crate) fn seal_plaintext(
        &self,
        record: RecordId,
        record_key: &RawKey,
        plain: &[u8],
    ) -> Envelope {
        self.seal_plain(record, record_key, plain)
    }
}
