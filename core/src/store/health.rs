//! Health data for health professionals only. A team's health professionals share a space of
//! their own (the health space), whose key only their devices hold: each of them keeps a second
//! store, the health store, joined to that space, beside the team's store. Health notes
//! (consultations and care) are written there and nowhere else; the team's store receives, for
//! each note, a health contact (the person and the day, no content) so that the team sees that
//! a health follow-up exists and reports count health activity.
//!
//! A health store holds health notes only (and its roster and access log); a team's store holds
//! none: the kind of a new record decides which store may write it (`purpose::check_kind`).

use chrono::NaiveDate;
use rusqlite::Connection;

use crate::access_log::{Access, Via};
use crate::crypto::RawKey;
use crate::model::fields::Kind;
use crate::model::{HealthContact, HealthNote, NewHealthNote};
use crate::{CoreError, RecordId, Result};

use super::purpose::Purpose;
use super::Store;

/// The key of a device's health store, derived from the key of its team's store: one secret
/// opens both, and neither key is the other.
pub fn health_store_key(team_store_key: &RawKey) -> RawKey {
    let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(
        Some(b"allervers health store v1"),
        team_store_key.as_bytes(),
    );
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit: this cannot fail.
    let _ = hkdf.expand(b"store key", &mut out);
    RawKey::from_bytes(out)
}

impl Store {
    /// Makes this new store a health store. Refused once it syncs with a space or holds records
    /// of its own.
    pub fn make_health_store(&self) -> Result<()> {
        self.set_purpose(Purpose::Health, "health")
    }

    /// Whether this is a health space's store.
    pub fn is_health_store(&self) -> bool {
        self.purpose() == Purpose::Health
    }

    /// Writes a health note (a health store only). The person is one the team's store holds:
    /// the caller found them there.
    pub fn add_health_note(&self, note: &NewHealthNote) -> Result<RecordId> {
        if note.text.trim().is_empty() {
            return Err(CoreError::invalid("text", "is empty"));
        }
        if note.professional.trim().is_empty() {
            return Err(CoreError::invalid("professional", "is empty"));
        }
        if self.is_erased(note.person)? {
            return Err(CoreError::invalid("person", "was erased"));
        }
        let today = self.now().date_naive();
        self.create_record(Kind::HealthNote, note.edits(today))
    }

    /// The health notes about `person`, oldest first. Not logged: [`Store::open_health_notes`]
    /// is the read a professional makes.
    pub fn health_notes(&self, person: RecordId) -> Result<Vec<HealthNote>> {
        let ids = ids_about(&self.lock(), "health_notes", person)?;
        ids.into_iter()
            .map(|id| self.read(id, Kind::HealthNote, |r| HealthNote::read(id, r)))
            .collect()
    }

    /// The health notes about `person`, read and logged in this store's access log (nothing
    /// returned unlogged).
    pub fn open_health_notes(&self, person: RecordId, via: Via) -> Result<Vec<HealthNote>> {
        let notes = self.health_notes(person)?;
        self.log_access(&[Access::Health { person }], via)?;
        Ok(notes)
    }

    /// Records, in the team's store, that a health professional saw `person` on `on`: the
    /// person and the day, no content.
    pub fn add_health_contact(&self, person: RecordId, on: NaiveDate) -> Result<RecordId> {
        if self.kind_of(person)? != Kind::Person {
            return Err(CoreError::invalid("person", "is not a person"));
        }
        self.create_record(
            Kind::HealthContact,
            vec![
                crate::doc::Edit::Set("person".into(), crate::model::fields::Value::Ref(person)),
                crate::doc::Edit::Set("on".into(), crate::model::fields::Value::Date(on)),
            ],
        )
    }

    /// The health contacts of `person`, oldest first.
    pub fn health_contacts(&self, person: RecordId) -> Result<Vec<HealthContact>> {
        let ids = ids_about(&self.lock(), "health_contacts", person)?;
        let mut out: Vec<HealthContact> = ids
            .into_iter()
            .map(|id| self.read(id, Kind::HealthContact, |r| HealthContact::read(id, r)))
            .collect::<Result<_>>()?;
        out.sort_by_key(|c| (c.on, c.id));
        Ok(out)
    }
}

impl Store {
    /// Carries out, in this health store, the erasures the team's store (`team`) carried out:
    /// the health notes about each person erased there are erased here (with an order for
    /// every health professional's device when this one is a coordinator of the health space).
    /// Returns how many persons had notes here.
    pub fn follow_team_erasures(&self, team: &Store) -> Result<usize> {
        if !self.is_health_store() || team.is_health_store() {
            return Err(CoreError::invalid(
                "health",
                "erasures go from a team's store to its health store",
            ));
        }
        let erased = super::erasure::erased_persons(&team.lock())?;
        // A coordinator of the health space orders each erasure once, even with no note here:
        // another professional's device may hold notes it has not sent yet.
        let orders = self.membership()?.is_some_and(|m| m.coordinator);
        let done_here = super::erasure::erased_persons(&self.lock())?;
        let mut followed = 0;
        for person in erased {
            let pending = !ids_about(&self.lock(), "health_notes", person)?.is_empty()
                || (orders && !done_here.contains(&person));
            if pending {
                self.erase_person(person, "erased from the team's file", false)?;
                followed += 1;
            }
        }
        Ok(followed)
    }
}

/// The records of `table` (`health_notes` or `health_contacts`) about `person`, by day then id.
fn ids_about(conn: &Connection, table: &str, person: RecordId) -> Result<Vec<RecordId>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT record_id FROM {table} WHERE person_id = ?1 ORDER BY on_day, record_id"
    ))?;
    let rows = stmt.query_map([person.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| RecordId::from_slice(&row?).ok_or_else(|| CoreError::corrupt("bad record id")))
        .collect()
}
