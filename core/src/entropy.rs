//! Randomness is passed in, like time: the store draws ids, keys and secrets from an `Entropy`
//! it is given. The OS's generator by default; a seeded one for tests and the deterministic
//! simulation, which keeps it across a simulated device's reopening so that a reopened device
//! goes on drawing new numbers instead of repeating the ones it drew before.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// Where the store draws random bytes.
pub trait Entropy: Send + Sync {
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's generator.
#[derive(Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, dest: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(dest);
    }
}

/// A generator that draws the same numbers for the same seed (tests, the simulation). Never
/// for a real store: its keys would be known to anyone who knows the seed.
#[derive(Debug)]
pub struct SeededEntropy(Mutex<StdRng>);

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        SeededEntropy(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, dest: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .fill_bytes(dest);
    }
}

/// `N` random bytes from `entropy`.
pub(crate) fn bytes<const N: usize>(entropy: &dyn Entropy) -> [u8; N] {
    let mut out = [0u8; N];
    entropy.fill(&mut out);
    out
}
