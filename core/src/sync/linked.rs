//! Spaces a coordinator opens for someone else: a one-time space code. A team's first health
//! professional founds the team's health space with one (and the office founds each
//! partnership space with one it redeems itself, `partnership.rs`): the coordinator's device registers, at
//! the relay, the hash of a token derived from the code's secret; the code goes by hand to the
//! professional's device, which redeems the token once to register a new space with itself as
//! its founder. The coordinator never holds the new space's key: the founder draws it.

use serde::{Deserialize, Serialize};

use super::{derive_from, read_code, write_code, Membership};
use crate::{CoreError, Result, Store};

const SPACE_CODE_PREFIX: &str = "ALVS1-";

/// A one-time code that founds a new space at a relay. It carries the relay's address and a
/// secret, nothing that decrypts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceCode {
    pub relay: String,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for SpaceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpaceCode")
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl SpaceCode {
    /// The token that registers the new space at the relay (once).
    pub fn redeem(&self) -> [u8; 32] {
        derive_from(b"allervers space code v1", &self.secret, b"redeem")
    }

    /// What the relay keeps of the code: the SHA-256 of its token.
    pub fn secret_hash(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.redeem()).into()
    }

    /// The code to hand over (typed or scanned).
    pub fn code(&self) -> String {
        write_code(SPACE_CODE_PREFIX, self)
    }

    /// Reads a code; a mistyped or truncated code is refused.
    pub fn from_code(code: &str) -> Result<SpaceCode> {
        read_code(SPACE_CODE_PREFIX, code, |c: &SpaceCode| &c.relay).ok_or_else(|| {
            CoreError::invalid(
                "space code",
                "is not an allervers space code (mistyped or cut?)",
            )
        })
    }
}

impl Store {
    /// A new space code for the relay of this store's space (a coordinator's device of a team's
    /// store), with that membership, whose token registers the code at the relay.
    pub fn new_space_code(&self) -> Result<(Membership, SpaceCode)> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator || self.purpose() != crate::Purpose::Team {
            return Err(CoreError::invalid(
                "space code",
                "only a coordinator's device of a team can open a space for someone else",
            ));
        }
        let code = SpaceCode {
            relay: m.relay.clone(),
            secret: self.random(),
        };
        Ok((m, code))
    }

    /// A new statistics space at `relay` with this statistics store's device (the office's) its
    /// founder (the caller registers it with a space code, then joins it).
    pub fn new_statistics_space(&self, relay: &str) -> Result<Membership> {
        if !self.is_statistics_store() {
            return Err(CoreError::invalid(
                "statistics",
                "a statistics space is founded from a statistics store",
            ));
        }
        self.new_space(relay, "Statistiques")
    }

    /// A new health space at `relay` with this health store's device its founder (the caller
    /// registers it with a space code, then joins it).
    pub fn new_health_space(&self, relay: &str, name: &str) -> Result<Membership> {
        if !self.is_health_store() {
            return Err(CoreError::invalid(
                "health",
                "a health space is founded from a health store",
            ));
        }
        self.new_space(relay, name)
    }
}
