//! Keys: the raw 256-bit store key, and passphrase-derived keys (argon2id) for people who type
//! a passphrase instead of holding a key in a keystore.

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{CoreError, Result};

/// A 256-bit key. The phone shells generate one at random and keep it in the Android Keystore
/// or the iOS Keychain; the command line derives one from a passphrase.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RawKey([u8; 32]);

impl RawKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        RawKey(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 32]>::try_from(bytes).map(RawKey).map_err(|_| {
            CoreError::invalid("key", format!("is {} bytes long, not 32", bytes.len()))
        })
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        RawKey(rand::random())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The SQLCipher `PRAGMA key` literal for a raw key (no passphrase KDF at open).
    pub(crate) fn sqlcipher_literal(&self) -> zeroize::Zeroizing<String> {
        let mut s = String::with_capacity(67);
        s.push_str("x'");
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('\'');
        zeroize::Zeroizing::new(s)
    }
}

impl std::fmt::Debug for RawKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawKey(..)")
    }
}

/// Cost settings of argon2id, stored beside what they protect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's argon2id recommendation (19 MiB, 2 passes).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// Refuses settings read from a file that would cost absurd time or memory: they are read
    /// before anything is authenticated, so a crafted file could otherwise make a phone allocate
    /// gigabytes. At most 64 MiB (a little over three times the default) and 8 passes.
    pub fn check(self) -> Result<Self> {
        let ok = (8 * 1024..=64 * 1024).contains(&self.m_cost_kib)
            && (1..=8).contains(&self.t_cost)
            && (1..=4).contains(&self.p_cost);
        if ok {
            Ok(self)
        } else {
            Err(CoreError::invalid(
                "key derivation settings",
                "are out of the accepted range",
            ))
        }
    }
}

/// The fewest characters a new passphrase may have.
pub const MIN_NEW_PASSPHRASE_CHARS: usize = 12;

/// The rule for a passphrase about to protect something new (a store's key, a bundle): at least
/// [`MIN_NEW_PASSPHRASE_CHARS`] characters, counted as characters (Unicode scalar values), not
/// bytes: "é" counts once. Only creation is judged: a store or a bundle made earlier with a
/// shorter passphrase still opens with it. The error says the rule, not the passphrase's length.
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_NEW_PASSPHRASE_CHARS {
        return Err(CoreError::invalid(
            "passphrase",
            format!("a new passphrase needs at least {MIN_NEW_PASSPHRASE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Derives a 256-bit key from a passphrase and a salt with argon2id.
pub fn derive_key(passphrase: &[u8], salt: &[u8], params: KdfParams) -> Result<RawKey> {
    if passphrase.is_empty() {
        return Err(CoreError::invalid("passphrase", "is empty"));
    }
    let params = params.check()?;
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
            .map_err(|e| CoreError::invalid("key derivation settings", e.to_string()))?,
    );
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase, salt, &mut out)
        .map_err(|e| CoreError::invalid("passphrase", e.to_string()))?;
    Ok(RawKey(out))
}
