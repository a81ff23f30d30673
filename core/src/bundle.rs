//! Change bundles: a file that carries a store's changes to another store by hand (a USB stick,
//! a shared folder), sealed with a passphrase (argon2id + XChaCha20-Poly1305).
//!
//! Layout: `ALLERVERS-BUNDLE` (16 bytes), format version (1 byte), argon2id memory (KiB), passes
//! and lanes (3 x u32 LE), salt (16 bytes), nonce (24 bytes), then the sealed body. The header is
//! the associated data, so a changed byte anywhere makes the file refuse to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::crypto::{check_new_passphrase, derive_key, KdfParams, RawKey};
use crate::entropy::{self, Entropy};
use crate::store::{ImportSummary, SignedChange};
use crate::{CoreError, RecordId, Result, Store};

const MAGIC: &[u8; 16] = b"ALLERVERS-BUNDLE";
/// Version 2: each change travels with its author's signature (version 1 had none, and a store
/// that checks authorship cannot take its changes).
const VERSION: u8 = 2;
const HEADER_LEN: usize = 16 + 1 + 12 + 16 + 24;

#[derive(Serialize, Deserialize)]
struct Body {
    created_at_ms: i64,
    device: Vec<u8>,
    /// Record id, change, signature.
    changes: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
}

/// Seals changes into a bundle. The format's own step: it does not judge the passphrase (the
/// fuzz corpora are sealed with it); a bundle made for a person goes through
/// [`Store::export_bundle`], which does.
pub fn seal(
    changes: &[SignedChange],
    device: &[u8],
    created_at_ms: i64,
    passphrase: &str,
    entropy: &dyn Entropy,
) -> Result<Vec<u8>> {
    let params = KdfParams::DEFAULT;
    let salt: [u8; 16] = entropy::bytes(entropy);
    let nonce: [u8; 24] = entropy::bytes(entropy);
    let key = derive_key(passphrase.as_bytes(), &salt, params)?;
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    for n in [params.m_cost_kib, params.t_cost, params.p_cost] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    let body = Body {
        created_at_ms,
        device: device.to_vec(),
        changes: changes
            .iter()
            .map(|c| {
                (
                    c.record.as_bytes().to_vec(),
                    c.bytes.clone(),
                    c.signature.clone(),
                )
            })
            .collect(),
    };
    let plain = zeroize::Zeroizing::new(
        postcard::to_stdvec(&body)
            .map_err(|e| CoreError::Storage(format!("bundle encoding: {e}")))?,
    );
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: &out,
            },
        )
        .map_err(|_| CoreError::Storage("bundle encryption failed".into()))?;
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a bundle: checks its header, derives the key, authenticates and decodes every change
/// record id. Nothing is trusted before the whole file has been authenticated.
pub fn open(bytes: &[u8], passphrase: &str) -> Result<Vec<SignedChange>> {
    let header = read_header(bytes)?;
    let key = derive_key(passphrase.as_bytes(), header.salt, header.params)?;
    open_with_key(bytes, &key)
}

/// What a bundle's header says, once checked (nothing authenticated yet).
pub(crate) struct Header<'a> {
    /// The argon2id settings, already within the accepted range.
    pub params: KdfParams,
    pub salt: &'a [u8],
}

/// Reads and checks a bundle's header: the magic, the length, the version and the key settings,
/// which are refused when out of range before any key is derived with them.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header<'_>> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(refuse("this is not an allervers bundle"));
    }
    if bytes.len() < HEADER_LEN + 16 {
        return Err(refuse("the file is truncated"));
    }
    if bytes[16] == 1 {
        return Err(refuse(
            "this bundle was written by an older version of allervers, without signatures: export it again",
        ));
    }
    if bytes[16] != VERSION {
        return Err(refuse(
            "this bundle was written by another version of allervers",
        ));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let params = KdfParams {
        m_cost_kib: u32_at(17),
        t_cost: u32_at(21),
        p_cost: u32_at(25),
    }
    .check()
    .map_err(|_| refuse("its key settings are out of range (altered file?)"))?;
    Ok(Header {
        params,
        salt: &bytes[29..45],
    })
}

/// Authenticates and decodes a bundle with its key (derived from the header's settings).
pub(crate) fn open_with_key(bytes: &[u8], key: &RawKey) -> Result<Vec<SignedChange>> {
    if bytes.len() < HEADER_LEN + 16 {
        return Err(refuse("the file is truncated"));
    }
    let nonce = &bytes[45..69];
    let cipher = XChaCha20Poly1305::new(key.as_bytes().into());
    let plain = zeroize::Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &bytes[..HEADER_LEN],
                },
            )
            .map_err(|_| refuse("wrong passphrase, or the file was altered or truncated"))?,
    );
    let body: Body =
        postcard::from_bytes(&plain).map_err(|_| refuse("its content does not decode"))?;
    body.changes
        .into_iter()
        .map(|(id, bytes, signature)| {
            RecordId::from_slice(&id)
                .map(|record| SignedChange {
                    record,
                    bytes,
                    signature,
                })
                .ok_or_else(|| refuse("it holds a malformed record id"))
        })
        .collect()
}

fn refuse(why: &str) -> CoreError {
    CoreError::BundleRefused(why.to_string())
}

impl Store {
    /// Every change of this store, sealed with `passphrase`, which must hold a new passphrase's
    /// characters ([`crate::crypto::check_new_passphrase`]).
    /// Every change of this store, sealed with a passphrase, made from the command line (see
    /// [`Store::export_bundle_by`]).
    pub fn export_bundle(&self, passphrase: &str) -> Result<Vec<u8>> {
        self.export_bundle_by(passphrase, crate::access_log::Via::Cli)
    }

    /// Every change of this store, sealed with a passphrase: the largest export there is, so it
    /// is logged in the access log (kind `bundle`, every day up to today, made through `via`)
    /// first, and not made if it cannot be logged. The entry is in the bundle itself, so that
    /// two stores that exchange bundles end with the same changes.
    pub fn export_bundle_by(
        &self,
        passphrase: &str,
        via: crate::access_log::Via,
    ) -> Result<Vec<u8>> {
        check_new_passphrase(passphrase)?;
        let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
        self.log_access(
            &[crate::access_log::Access::Export {
                kind: "bundle".into(),
                from: earliest,
                to: self.now().date_naive(),
                pseudonymised: false,
            }],
            via,
        )?;
        let changes = self.export_changes()?;
        seal(
            &changes,
            &self.identity().device.to_bytes(),
            self.now().timestamp_millis(),
            passphrase,
            &*self.entropy(),
        )
    }

    /// Imports a bundle: refused whole (nothing applied) if it does not open or holds a bad change.
    pub fn import_bundle(&self, bytes: &[u8], passphrase: &str) -> Result<ImportSummary> {
        let changes = open(bytes, passphrase)?;
        self.import_changes(&changes).map_err(|e| match e {
            CoreError::ChangesRefused(why) => CoreError::BundleRefused(why),
            other => other,
        })
    }
}
