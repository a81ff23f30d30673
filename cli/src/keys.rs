//! Where the command line gets its secrets: the store key (derived once per run from
//! `ALLERVERS_KEY` or a prompt, with argon2id and a salt kept beside the store) and bundle
//! passphrases (`ALLERVERS_BUNDLE_PASSPHRASE` or a prompt). A passphrase for a new store or a
//! new bundle follows core's rule (`check_new_passphrase`: at least 12 characters).

use std::io::IsTerminal;
use std::path::Path;

use allervers_core::crypto::{check_new_passphrase, derive_key, KdfParams};
use allervers_core::store::files::private_folder;
use allervers_core::RawKey;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The key-derivation settings stored beside the store (`key-params.json`). Not secret.
#[derive(Serialize, Deserialize)]
struct KeyParams {
    kdf: String,
    salt: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len()
        .is_multiple_of(2)
        .then(|| {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

/// A secret from `var` or the terminal. A `new` one (for a store or a bundle being created) must
/// follow core's rule for new passphrases, checked before it is asked a second time.
fn secret(var: &str, prompt: &str, new: bool) -> Result<String> {
    if let Ok(value) = std::env::var(var) {
        if value.is_empty() {
            bail!("{var} is set but empty");
        }
        if new {
            check_new_passphrase(&value)?;
        }
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no {var} in the environment and no terminal to ask on: set {var}");
    }
    let value = rpassword::prompt_password(prompt).context("could not read from the terminal")?;
    if value.is_empty() {
        bail!("empty passphrase");
    }
    if new {
        check_new_passphrase(&value)?;
        if rpassword::prompt_password("Confirm: ").context("could not read from the terminal")?
            != value
        {
            bail!("the two passphrases differ");
        }
    }
    Ok(value)
}

/// Creates the store's private folder and key settings, and returns the new store's key. The
/// passphrase is read and checked first: a refused one leaves nothing behind.
pub fn new_store_key(dir: &Path) -> Result<RawKey> {
    let passphrase = secret("ALLERVERS_KEY", "Passphrase for the new store: ", true)?;
    // The store's folder is its owner's alone (0700), before key-params.json lands in it.
    private_folder(dir)
        .with_context(|| format!("cannot create a private folder {}", dir.display()))?;
    let salt: [u8; 16] = rand::random();
    let p = KdfParams::DEFAULT;
    let params = KeyParams {
        kdf: "argon2id".into(),
        salt: hex(&salt),
        m_cost_kib: p.m_cost_kib,
        t_cost: p.t_cost,
        p_cost: p.p_cost,
    };
    let key = derive_key(passphrase.as_bytes(), &salt, p)?;
    crate::write_atomically(
        &dir.join("key-params.json"),
        serde_json::to_string_pretty(&params)?.as_bytes(),
    )?;
    Ok(key)
}

/// The key of an existing store.
pub fn store_key(dir: &Path) -> Result<RawKey> {
    let path = dir.join("key-params.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no store in {} (run `allervers init` first)", dir.display()))?;
    let params: KeyParams =
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    if params.kdf != "argon2id" {
        bail!(
            "{} names an unknown key derivation {:?}",
            path.display(),
            params.kdf
        );
    }
    let salt = unhex(&params.salt)
        .filter(|s| s.len() >= 8)
        .with_context(|| format!("{} holds a bad salt", path.display()))?;
    let passphrase = secret("ALLERVERS_KEY", "Store passphrase: ", false)?;
    Ok(derive_key(
        passphrase.as_bytes(),
        &salt,
        KdfParams {
            m_cost_kib: params.m_cost_kib,
            t_cost: params.t_cost,
            p_cost: params.p_cost,
        },
    )?)
}

/// The passphrase sealing a `new` change bundle, or opening one.
pub fn bundle_passphrase(new: bool) -> Result<String> {
    secret("ALLERVERS_BUNDLE_PASSPHRASE", "Bundle passphrase: ", new)
}
