//! End-to-end encryption of changes: what leaves the device is an envelope the relay cannot
//! read.
//!
//! - Each record has its own random 256-bit key (the roster's is derived from the space key, as
//!   every device writes to it); it travels wrapped with the space key on every envelope, so that
//!   any envelope opens on its own (a device that edits a record whose key it never received,
//!   say one that came in a bundle, seals with a key of its own and says so).
//! - The relay sees a blinded record id (HMAC of the id under the space key), the key epoch, a
//!   nonce and the sealed bytes: XChaCha20-Poly1305 under the record key of the record id and the
//!   change (deflated by us, inflated with a size cap: an envelope cannot be a decompression
//!   bomb), with the blinded id and epoch as associated data.
//! - The nonce is derived from the plaintext (SIV-like), so a retried push carries the very
//!   same bytes and the relay stores it once, and different bytes never share a nonce.

use allervers_protocol::Envelope;
use automerge::Change;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

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

/// Inflates at most `MAX_CHANGE` bytes; more is refused, never allocated.
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::DeflateDecoder::new(bytes).take(MAX_CHANGE + 1);
    dec.read_to_end(&mut out).ok()?;
    (out.len() as u64 <= MAX_CHANGE).then_some(out)
}

/// The keys of the space this store syncs with.
#[derive(Clone)]
pub(crate) struct SpaceKeys {
    pub key: RawKey,
    pub epoch: u32,
}

/// What is sealed inside an envelope (never seen by the relay).
#[derive(Serialize, Deserialize)]
struct Inner {
    record: [u8; 16],
    change: Vec<u8>,
}

impl SpaceKeys {
    /// The opaque id the relay sees for a record.
    pub fn blind(&self, record: RecordId) -> [u8; 16] {
        let mac = prf(
            self.key.as_bytes(),
            b"allervers record id",
            record.as_bytes(),
        );
        let mut out = [0u8; 16];
        out.copy_from_slice(&mac[..16]);
        out
    }

    /// The roster's record key: every device writes to the roster, so they derive one key.
    pub fn roster_key(&self) -> RawKey {
        RawKey::from_bytes(prf(self.key.as_bytes(), b"allervers roster key", &[]))
    }

    fn aad(&self, blind: &[u8; 16]) -> Vec<u8> {
        let mut aad = blind.to_vec();
        aad.extend_from_slice(&self.epoch.to_le_bytes());
        aad
    }

    /// A record key wrapped with the space key: nonce (24) then sealed key (48).
    pub fn wrap(&self, record: RecordId, key: &RawKey) -> Vec<u8> {
        let blind = self.blind(record);
        let n = prf(self.key.as_bytes(), b"allervers wrap", record.as_bytes());
        let nonce = XNonce::from_slice(&n[..24]);
        let cipher = XChaCha20Poly1305::new(self.key.as_bytes().into());
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
        let cipher = XChaCha20Poly1305::new(self.key.as_bytes().into());
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

    /// Seals one change of `record` under its record key, with the record key wrapped (except
    /// the roster's, which every device derives).
    pub fn seal(&self, record: RecordId, record_key: &RawKey, change: &Change) -> Envelope {
        let inner = Inner {
            record: *record.as_bytes(),
            change: deflate(change.raw_bytes()),
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

    /// Opens an envelope with its record key: the record id and the change's bytes. Refuses an
    /// envelope that does not authenticate or whose record id does not match its blinded id.
    pub fn open(&self, envelope: &Envelope, record_key: &RawKey) -> Result<(RecordId, Change)> {
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
        let raw = inflate(&inner.change)
            .ok_or_else(|| refuse("an envelope's change does not inflate, or is too large"))?;
        if raw.get(8) != Some(&1) {
            return Err(refuse(
                "an envelope holds something else than one uncompressed change",
            ));
        }
        let change = crate::doc::parse_change(&raw)
            .map_err(|e| refuse(&format!("an envelope holds no valid change: {e}")))?;
        Ok((record, change))
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
        };
        postcard::to_stdvec(&inner).unwrap_or_default()
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
