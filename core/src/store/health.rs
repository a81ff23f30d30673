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
use crate::doc::Edit;
use crate::model::fields::Kind;
use crate::model::fields::Value;
use crate::model::{HealthContact, HealthNote, HealthProfile, NewHealthNote};
use crate::{CoreError, DeviceId, RecordId, Result};
use allervers_protocol::SpaceId;

use super::purpose::Purpose;
use super::Store;

/// The key, in a device's own roster entry, of the health space its health store founded.
const HEALTH_SPACE: &str = "health_space";

/// A health space a device of the team declared in the team's roster.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeclaredHealthSpace {
    #[serde(serialize_with = "hex_space")]
    pub space: SpaceId,
    /// The health store's device that founded it (its keys are in every invite to it).
    pub founder: DeviceId,
    /// The team's device that declared it, with its name and worker in the roster.
    pub declared_by: DeviceId,
    pub name: Option<String>,
    pub worker: Option<String>,
}

fn hex_space<S: serde::Serializer>(space: &SpaceId, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&allervers_protocol::hex_id(space))
}

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

    /// The health notes about the person `person` stands as in the team's store `team`: about
    /// every record merged into the same person there too (`merge.rs`, which a health store,
    /// holding no person, cannot know), oldest first; each record's reading logged in this
    /// store's access log (nothing returned unlogged).
    pub fn open_person_health_notes(
        &self,
        team: &Store,
        person: RecordId,
        via: Via,
    ) -> Result<Vec<HealthNote>> {
        let group = team.person_group(person)?;
        let mut notes = Vec::new();
        for member in &group {
            notes.extend(self.health_notes(*member)?);
        }
        notes.sort_by(|a, b| a.on.cmp(&b.on).then(a.id.cmp(&b.id)));
        let read: Vec<Access> = group
            .into_iter()
            .map(|person| Access::Health { person })
            .collect();
        self.log_access(&read, via)?;
        Ok(notes)
    }

    /// The health details of every record of the person `person` stands as in the team's store
    /// `team` (see [`Store::open_person_health_notes`]), oldest first within each record.
    pub fn person_health_profiles(
        &self,
        team: &Store,
        person: RecordId,
    ) -> Result<Vec<HealthProfile>> {
        let mut out = Vec::new();
        for member in team.person_group(person)? {
            out.extend(self.health_profiles(member)?);
        }
        Ok(out)
    }

    /// Every health note of this store, by day: whom it is about and when, nothing of what it
    /// says (not even its category): a list reads no one's health file, so it is not logged.
    pub fn health_note_list(&self) -> Result<Vec<HealthNoteRow>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT record_id, person_id, on_day FROM health_notes
              ORDER BY on_day, record_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, person, on) = row?;
            out.push(HealthNoteRow {
                id: RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id"))?,
                person: person.as_deref().and_then(RecordId::from_slice),
                on: on.as_deref().and_then(crate::model::fields::parse_date),
            });
        }
        Ok(out)
    }

    /// The health details of `person` (a record per professional's device that first wrote
    /// some, usually one), oldest first.
    pub fn health_profiles(&self, person: RecordId) -> Result<Vec<HealthProfile>> {
        let ids = ids_about(&self.lock(), "health_profiles", person)?;
        ids.into_iter()
            .map(|id| self.read(id, Kind::HealthProfile, |r| HealthProfile::read(id, r)))
            .collect()
    }

    /// Writes `person`'s health details (a health store only): `edits` of the profile's
    /// fields, on the person's first profile, made with them when there is none yet.
    pub fn set_health_profile(&self, person: RecordId, edits: &[Edit]) -> Result<RecordId> {
        if edits.is_empty() {
            return Err(CoreError::invalid("health profile", "nothing to change"));
        }
        if edits.iter().any(|e| e.field() == "person") {
            return Err(CoreError::invalid(
                "person",
                "a profile stays with its person",
            ));
        }
        if self.is_erased(person)? {
            return Err(CoreError::invalid("person", "was erased"));
        }
        let existing = ids_about(&self.lock(), "health_profiles", person)?
            .into_iter()
            .next();
        match existing {
            Some(id) => {
                self.edit_kind(id, Some(Kind::HealthProfile), edits)?;
                Ok(id)
            }
            None => {
                let mut all = vec![Edit::Set("person".into(), Value::Ref(person))];
                all.extend(edits.iter().cloned());
                self.create_record(Kind::HealthProfile, all)
            }
        }
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
                Edit::Set("person".into(), Value::Ref(person)),
                Edit::Set("on".into(), Value::Date(on)),
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
    /// Checks that `invite` may bring this new health store into a health space: a health
    /// store joins no space its team's store (`team`) belongs to, so that an invite to the team's
    /// own space, handed over as if it were the health space's, cannot carry health notes to
    /// every team device.
    pub fn check_health_invite(&self, team: &Store, invite: &crate::Invite) -> Result<()> {
        if !self.is_health_store() || team.is_health_store() {
            return Err(CoreError::invalid(
                "health",
                "a health store joins its health space beside a team's store",
            ));
        }
        if team.memberships()?.iter().any(|m| m.space == invite.space) {
            return Err(CoreError::invalid(
                "invite code",
                "is an invite to the team's own space, not to its health space: ask a health \
                 professional for one (allervers --health invite)",
            ));
        }
        let founder = invite.founder.device();
        if !team
            .declared_health_spaces()?
            .iter()
            .any(|d| d.space == invite.space && d.founder == founder)
        {
            return Err(CoreError::invalid(
                "invite code",
                "is for a space no device of the team declared as the health space it founded \
                 (sync the team's store first, or ask the health professional who founded it)",
            ));
        }
        Ok(())
    }

    /// Declares, in the team's roster (this team store's own entry, which only it writes), the
    /// health space its device's health store founded: the space and its founder. Devices that
    /// join a health space later check the invite against it and say who founded it.
    pub fn declare_health_space(&self, space: &SpaceId, founder: &DeviceId) -> Result<()> {
        if self.is_health_store() {
            return Err(CoreError::invalid(
                "health",
                "a health space is declared in the team's store",
            ));
        }
        let me = self.identity().device.clone();
        self.write_roster(|doc, _| {
            use automerge::transaction::Transactable;
            use automerge::ReadDoc;
            let entry = match doc.get(automerge::ROOT, super::roster::device_key(&me))? {
                Some((automerge::Value::Object(automerge::ObjType::Map), id)) => id,
                _ => return Err(CoreError::corrupt("this device has no roster entry")),
            };
            doc.put(
                &entry,
                HEALTH_SPACE,
                format!("{}:{founder}", allervers_protocol::hex_id(space)),
            )?;
            Ok(())
        })
    }

    /// The health spaces devices of the team declared, from the team's roster: each with the
    /// declaring device, its name and worker.
    pub fn declared_health_spaces(&self) -> Result<Vec<DeclaredHealthSpace>> {
        use automerge::ReadDoc;
        let conn = self.lock();
        let Some(doc) = super::load_doc(&conn, super::ROSTER_ID)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for key in doc.keys(automerge::ROOT) {
            let Some(device) = key.strip_prefix("device:") else {
                continue;
            };
            let Some((automerge::Value::Object(automerge::ObjType::Map), entry)) =
                doc.get(automerge::ROOT, &key)?
            else {
                continue;
            };
            let text = |field: &str| -> Option<String> {
                match doc.get(&entry, field).ok().flatten() {
                    Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
                        automerge::ScalarValue::Str(s) => Some(s.to_string()),
                        _ => None,
                    },
                    _ => None,
                }
            };
            let Some(declared) = text(HEALTH_SPACE) else {
                continue;
            };
            let Some((space, founder)) = declared.split_once(':') else {
                continue;
            };
            let (Some(space), Some(founder), Some(declared_by)) = (
                allervers_protocol::parse_hex_id(space),
                allervers_protocol::parse_hex_id(founder).map(|b| DeviceId::from_bytes(&b)),
                allervers_protocol::parse_hex_id(device).map(|b| DeviceId::from_bytes(&b)),
            ) else {
                continue;
            };
            out.push(DeclaredHealthSpace {
                space,
                founder,
                declared_by,
                name: text("name"),
                worker: text("worker"),
            });
        }
        Ok(out)
    }

    /// Carries out, in this health store, the erasures the team's store (`team`) carried out:
    /// the health notes and details about each person erased there are erased here (with an order for
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
            let held = {
                let conn = self.lock();
                !ids_about(&conn, "health_notes", person)?.is_empty()
                    || !ids_about(&conn, "health_profiles", person)?.is_empty()
            };
            let pending = held || (orders && !done_here.contains(&person));
            if pending {
                self.erase_person(person, "erased from the team's file", false)?;
                followed += 1;
            }
        }
        Ok(followed)
    }
}

/// A health note as listed: no text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HealthNoteRow {
    pub id: RecordId,
    pub person: Option<RecordId>,
    pub on: Option<NaiveDate>,
}

/// The records of `table` (`health_notes`, `health_contacts` or `health_profiles`) about
/// `person`: notes and contacts by day then id, profiles by when they were made.
fn ids_about(conn: &Connection, table: &str, person: RecordId) -> Result<Vec<RecordId>> {
    let order = if table == "health_profiles" {
        "created_at, record_id"
    } else {
        "on_day, record_id"
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT record_id FROM {table} WHERE person_id = ?1 ORDER BY {order}"
    ))?;
    let rows = stmt.query_map([person.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|row| RecordId::from_slice(&row?).ok_or_else(|| CoreError::corrupt("bad record id")))
        .collect()
}
