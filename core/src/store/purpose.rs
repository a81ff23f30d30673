//! What a store is for, kept in its `meta` and read at open: a team's store (the default), a
//! health space's store (`health.rs`), a partnership space's store with its partner's code
//! (`partnership.rs`), or a statistics space's store (`statistics.rs`). The purpose decides which kinds of record the store may create
//! ([`check_kind`]): each space holds only what its members may read, and its key is the
//! guarantee.

use rusqlite::{Connection, OptionalExtension};

use crate::crypto::RawKey;
use crate::model::fields::Kind;
use crate::{CoreError, Result};

use super::Store;

/// The `meta` key of the purpose (`health`, `statistics` or `partnership:<partner>`; absent for
/// a team's).
const PURPOSE: &str = "purpose";

/// What a store is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A team's store: the persons, encounters, actions... of the association.
    Team,
    /// A health space's store: health notes only.
    Health,
    /// A partnership space's store, for one partner (its code): projections of persons and
    /// shared assessments only.
    Partnership(String),
    /// A statistics space's store: the reports the office published, nothing nominative.
    Statistics,
}

impl Purpose {
    fn to_meta(&self) -> Option<String> {
        match self {
            Purpose::Team => None,
            Purpose::Health => Some("health".into()),
            Purpose::Statistics => Some("statistics".into()),
            Purpose::Partnership(p) => Some(format!("partnership:{p}")),
        }
    }

    fn from_meta(value: &str) -> Result<Purpose> {
        match value.split_once(':') {
            None if value == "health" => Ok(Purpose::Health),
            None if value == "statistics" => Ok(Purpose::Statistics),
            Some(("partnership", partner)) if !partner.is_empty() => {
                Ok(Purpose::Partnership(partner.to_string()))
            }
            _ => Err(CoreError::corrupt("the store's purpose is unknown")),
        }
    }

    /// The partner of a partnership store.
    pub fn partner(&self) -> Option<&str> {
        match self {
            Purpose::Partnership(p) => Some(p),
            _ => None,
        }
    }
}

/// The purpose of the store behind `conn`.
pub(crate) fn read(conn: &Connection) -> Result<Purpose> {
    let value: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [PURPOSE], |r| {
            r.get(0)
        })
        .optional()?;
    match value {
        Some(value) => {
            let value = String::from_utf8(value)
                .map_err(|_| CoreError::corrupt("the store's purpose is not text"))?;
            Purpose::from_meta(&value)
        }
        None => Ok(Purpose::Team),
    }
}

/// The key of a partnership store on the association's office, derived from the team store's
/// key and the partner's code: one secret opens all of them, and no key is another's.
pub fn partnership_store_key(team_store_key: &RawKey, partner: &str) -> RawKey {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(
        Some(b"allervers partnership store v1"),
        team_store_key.as_bytes(),
    );
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
    let _ = hkdf.expand(partner.as_bytes(), &mut out);
    RawKey::from_bytes(out)
}

/// Whether a store of `purpose` may create (or take, on receipt) a record of `kind`. Every store
/// writes its roster entry and its access log; a health store holds health notes and details and
/// nothing else, a partnership store projections, shared assessments and erasure
/// acknowledgements and nothing else, a statistics store published reports and nothing else, and
/// a team's store none of these.
pub(crate) fn check_kind(purpose: &Purpose, kind: Kind) -> Result<()> {
    let own = matches!(kind, Kind::Roster | Kind::AccessLog);
    let partnership = matches!(
        kind,
        Kind::Projection | Kind::SharedAssessment | Kind::ErasureAck
    );
    let health = matches!(kind, Kind::HealthNote | Kind::HealthProfile);
    match purpose {
        Purpose::Health if own || health => Ok(()),
        Purpose::Health => Err(CoreError::invalid(
            "health",
            format!(
                "a health store holds health notes only, not a {}",
                kind.name()
            ),
        )),
        Purpose::Partnership(_) if own || partnership => Ok(()),
        Purpose::Partnership(_) => Err(CoreError::invalid(
            "partnership",
            format!(
                "a partnership store holds projections and shared assessments only, not a {}",
                kind.name()
            ),
        )),
        Purpose::Statistics if own || kind == Kind::PublishedReport => Ok(()),
        Purpose::Statistics => Err(CoreError::invalid(
            "statistics",
            format!(
                "a statistics store holds published reports only, not a {}",
                kind.name()
            ),
        )),
        Purpose::Team if health => Err(CoreError::invalid(
            "health",
            "health notes and details are written in the health space's store, which only \
             health professionals' devices hold",
        )),
        Purpose::Team if kind == Kind::PublishedReport => Err(CoreError::invalid(
            "statistics",
            "reports are published into a statistics store",
        )),
        Purpose::Team if partnership => Err(CoreError::invalid(
            "partnership",
            "what a partner sees is written in the partnership's store, never in the team's",
        )),
        Purpose::Team => Ok(()),
    }
}

impl Store {
    /// What this store is for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Gives this new store a purpose. Refused once it syncs with a space or holds records of
    /// its own (other than its roster and access log), and once it has another purpose.
    pub(crate) fn set_purpose(&self, purpose: Purpose, field: &str) -> Result<()> {
        let now = self.purpose();
        if now == purpose {
            return Ok(());
        }
        if now != Purpose::Team {
            return Err(CoreError::invalid(
                field,
                "this store has a purpose already",
            ));
        }
        if self.membership()?.is_some() {
            return Err(CoreError::invalid(
                field,
                "this store syncs with a space already",
            ));
        }
        let conn = self.lock();
        let records: i64 = conn.query_row(
            "SELECT count(*) FROM changes WHERE kind IS NULL OR kind NOT IN ('roster', 'access_log')",
            [],
            |r| r.get(0),
        )?;
        if records > 0 {
            return Err(CoreError::invalid(
                field,
                "this store holds records already: it must start empty",
            ));
        }
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![PURPOSE, purpose.to_meta().unwrap_or_default().as_bytes()],
        )?;
        *self.purpose.write().unwrap_or_else(|p| p.into_inner()) = purpose;
        Ok(())
    }
}
