//! The access log in the store: writing a read's entry into this device's record of the day
//! (one change, in a transaction of its own: reads only, never the write path of encounters),
//! its index tables (`access_logs`: each log record's device and day; `access_log`: one row per
//! entry), and the list coordinators read, within the retention period.

use automerge::AutoCommit;
use chrono::{DateTime, Months, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{insert_change, load_doc, maybe_snapshot, Store};
use crate::access_log::{self, Access, AccessEntry, AccessQuery, Via, RETENTION_MONTHS};
use crate::doc;
use crate::model::fields::{date_ms, parse_date, Kind};
use crate::timeline::TimelineEntry;
use crate::{CoreError, DeviceId, Person, RecordId, Result};

/// This device's log record of `day`, if it has one.
fn todays_log(conn: &Connection, device: &DeviceId, day: &str) -> Result<Option<RecordId>> {
    let id: Option<Vec<u8>> = conn
        .prepare_cached("SELECT record_id FROM access_logs WHERE device = ?1 AND day = ?2 LIMIT 1")?
        .query_row(params![device.to_bytes(), day], |r| r.get(0))
        .optional()?;
    id.map(|id| RecordId::from_slice(&id).ok_or_else(|| CoreError::corrupt("bad record id")))
        .transpose()
}

/// Writes the index row of one entry (at its position `n` in its record's list).
fn entry_row(conn: &Connection, id: RecordId, n: usize, e: &access_log::StoredEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO access_log (record_id, n, at, device, worker, via, what, person_id,
            export_kind, period_from, period_to, pseudonymised, partner, categories)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        id.as_bytes(),
        n as i64,
        e.at_ms,
        e.device.to_bytes(),
        e.worker,
        e.via,
        e.what,
        e.person.map(|p| p.as_bytes().to_vec()),
        e.export_kind,
        e.from,
        e.to,
        e.pseudonymised,
        e.partner,
        e.categories,
    ])?;
    Ok(())
}

/// Rewrites the index rows of one log record from its merged document: the record's device (its
/// creator) and day, and every entry its creator wrote (`access_log::entries`).
pub(crate) fn reindex(tx: &Connection, id: RecordId, doc: &mut AutoCommit) -> Result<()> {
    remove(tx, id)?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO access_logs (record_id, device, day) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        id.as_bytes(),
        access_log::creator(doc)
            .map(|a| a.to_bytes().to_vec())
            .unwrap_or_default(),
        access_log::day(doc).unwrap_or_default()
    ])?;
    for (n, entry) in access_log::entries(doc, 0) {
        entry_row(tx, id, n, &entry)?;
    }
    Ok(())
}

/// Deletes a log record's index rows.
pub(crate) fn remove(tx: &Connection, id: RecordId) -> Result<()> {
    tx.prepare_cached("DELETE FROM access_log WHERE record_id = ?1")?
        .execute([id.as_bytes()])?;
    tx.prepare_cached("DELETE FROM access_logs WHERE record_id = ?1")?
        .execute([id.as_bytes()])?;
    Ok(())
}

/// The first instant still listed: now, less the retention period.
fn retention_start(now: DateTime<Utc>) -> i64 {
    now.checked_sub_months(Months::new(RETENTION_MONTHS))
        .unwrap_or(now)
        .timestamp_millis()
}

/// The entries of the access log that `query` selects, oldest first, within the retention
/// period, read from the index.
pub(crate) fn list(
    conn: &Connection,
    now: DateTime<Utc>,
    query: &AccessQuery,
) -> Result<Vec<AccessEntry>> {
    let start = query
        .from
        .map(date_ms)
        .unwrap_or(i64::MIN)
        .max(retention_start(now));
    let end = query
        .to
        .and_then(|d| d.succ_opt())
        .map(date_ms)
        .unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT a.at, a.device, d.name, a.worker, a.via, a.what, a.person_id, a.export_kind,
                a.period_from, a.period_to, a.pseudonymised, a.partner, a.categories
         FROM access_log a LEFT JOIN devices d ON d.device = a.device
         WHERE a.at >= ?1 AND a.at < ?2 AND (?3 IS NULL OR a.person_id = ?3)
         ORDER BY a.at, a.record_id, a.n",
    )?;
    let person = query.person.map(|p| p.as_bytes().to_vec());
    let mut rows = stmt.query(params![start, end, person])?;
    let worker = query.worker.as_deref().map(crate::text::fold);
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let entry_worker: String = r.get(3)?;
        if worker
            .as_deref()
            .is_some_and(|w| crate::text::fold(&entry_worker).trim() != w.trim())
        {
            continue;
        }
        let device: Vec<u8> = r.get(1)?;
        let date = |s: Option<String>| s.as_deref().and_then(parse_date);
        out.push(AccessEntry {
            at: DateTime::from_timestamp_millis(r.get(0)?).unwrap_or_default(),
            device: DeviceId::from_bytes(&device).to_string(),
            device_name: r.get(2)?,
            worker: entry_worker,
            via: r.get(4)?,
            what: r.get(5)?,
            person: r
                .get::<_, Option<Vec<u8>>>(6)?
                .and_then(|p| RecordId::from_slice(&p)),
            export_kind: r.get(7)?,
            from: date(r.get(8)?),
            to: date(r.get(9)?),
            pseudonymised: r.get(10)?,
            partner: r.get(11)?,
            categories: r
                .get::<_, Option<String>>(12)?
                .map(|c| {
                    c.split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

impl Store {
    /// Whether this device may read the registers of professional secrecy (the access log, a
    /// person's dossier): a coordinator's device, or a store outside any space, which is its own
    /// coordinator.
    pub fn may_review(&self) -> Result<bool> {
        Ok(self.membership()?.is_none_or(|m| m.coordinator))
    }

    pub(crate) fn require_reviewer(&self, what: &str) -> Result<()> {
        if self.may_review()? {
            return Ok(());
        }
        Err(CoreError::invalid(
            what,
            "refused: only a coordinator's device (or an office store outside any space) may read it",
        ))
    }

    /// Records reads (or an export) in this device's access log of the day: one change, in its
    /// own transaction. A read that cannot be logged (storage full or read-only) is an error:
    /// the caller shows nothing rather than something unlogged.
    pub fn log_access(&self, accesses: &[Access], via: Via) -> Result<()> {
        if accesses.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let now_ms = now.timestamp_millis();
        let day = now.date_naive();
        let day_text = day.format("%Y-%m-%d").to_string();
        let worker = self.worker();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        // A new log's creation and its first entries are one change: its document is made
        // under this device's actor (setting the actor again would commit what is pending).
        let (id, mut doc, new) = match todays_log(&tx, &self.me.device, &day_text)? {
            Some(id) => {
                let mut doc = load_doc(&tx, id)?.ok_or(CoreError::RecordNotFound(id))?;
                doc.set_actor(self.me.device.actor().clone());
                (id, doc, false)
            }
            None => (
                self.new_record_id(&tx, now_ms, &[])?,
                access_log::new_log(&self.me.device, now_ms, day)?,
                true,
            ),
        };
        // The entries this device wrote in its log before (its index rows): where the new ones go.
        let from: usize = tx
            .prepare_cached("SELECT coalesce(max(n) + 1, 0) FROM access_log WHERE record_id = ?1")?
            .query_row([id.as_bytes()], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))?;
        for access in accesses {
            access_log::append(&mut doc, access, via, &worker, now_ms)?;
        }
        doc::commit(&mut doc, now_ms, &worker)
            .ok_or_else(|| CoreError::corrupt("access log entry has no change"))?;
        let change = doc
            .get_last_local_change()
            .ok_or_else(|| CoreError::corrupt("access log entry has no change"))?;
        insert_change(&tx, id, Some(Kind::AccessLog), &change, true, now_ms)?;
        match access_log::added_by(&doc, &change, from) {
            Some(added) if !new => {
                for (n, entry) in added {
                    entry_row(&tx, id, n, &entry)?;
                }
            }
            _ => reindex(&tx, id, &mut doc)?,
        }
        maybe_snapshot(&tx, id, &mut doc)?;
        tx.commit()?;
        Ok(())
    }

    /// The access log (coordinator): who opened which person's file, timeline or dossier, and
    /// every export, from every device whose log has reached this store, oldest first; entries
    /// older than the retention period are no longer listed.
    pub fn access_log(&self, query: &AccessQuery) -> Result<Vec<AccessEntry>> {
        self.require_reviewer("access_log")?;
        list(&self.lock(), self.clock.now(), query)
    }

    /// A person's file, opened by a worker: read, then logged; not shown if it cannot be logged.
    pub fn open_person(&self, id: RecordId, via: Via) -> Result<Person> {
        // As the office and the phones see them: with the records merged into them.
        let person = self.merged_person(id)?;
        self.log_access(&[Access::Person { person: id }], via)?;
        Ok(person)
    }

    /// A person's merged timeline, read by a worker: read, then logged; not shown if it cannot
    /// be logged.
    pub fn open_timeline(&self, id: RecordId, via: Via) -> Result<Vec<TimelineEntry>> {
        let timeline = self.timeline(id)?;
        self.log_access(&[Access::Timeline { person: id }], via)?;
        Ok(timeline)
    }

    /// The persons a record is about: a person itself; the person of an action, a referral or
    /// a consent decision; the persons met in an encounter.
    fn persons_of(&self, id: RecordId) -> Result<Vec<RecordId>> {
        Ok(match self.kind_of(id)? {
            Kind::Person => vec![id],
            Kind::Action => self.action(id)?.person.into_iter().collect(),
            Kind::Referral => self.referral(id)?.person.into_iter().collect(),
            Kind::HouseholdMember => self.household_member(id)?.person.into_iter().collect(),
            Kind::JourneyPeriod => match self.period(id)?.concerns {
                Some(crate::Concerns::Person(p)) => vec![p],
                Some(crate::Concerns::Household(h)) => self.household_persons(h)?,
                None => Vec::new(),
            },
            Kind::HousingApplication => match self.application(id)?.concerns {
                Some(crate::Concerns::Person(p)) => vec![p],
                Some(crate::Concerns::Household(h)) => self.household_persons(h)?,
                None => Vec::new(),
            },
            Kind::Household => self.household_persons(id)?,
            Kind::Home => match self.home(id)?.concerns {
                Some(crate::Concerns::Person(p)) => vec![p],
                Some(crate::Concerns::Household(h)) => self.household_persons(h)?,
                None => Vec::new(),
            },
            Kind::RiskSignal => match self.risk_signal(id)?.home {
                Some(home) => self.persons_of(home)?,
                None => Vec::new(),
            },
            Kind::Proposal => match self.proposal(id)?.concerns {
                Some(crate::Concerns::Person(p)) => vec![p],
                Some(crate::Concerns::Household(h)) => self.household_persons(h)?,
                None => Vec::new(),
            },
            Kind::HousingOffer => Vec::new(),
            Kind::OwnView => self.own_view(id)?.person.into_iter().collect(),
            Kind::Consent => self.consent(id)?.person.into_iter().collect(),
            Kind::HealthNote => self
                .read(id, Kind::HealthNote, |r| {
                    crate::model::HealthNote::read(id, r).person
                })?
                .into_iter()
                .collect(),
            Kind::HealthContact => self
                .read(id, Kind::HealthContact, |r| {
                    crate::model::HealthContact::read(id, r).person
                })?
                .into_iter()
                .collect(),
            Kind::HealthProfile => self
                .read(id, Kind::HealthProfile, |r| {
                    crate::model::HealthProfile::read(id, r).person
                })?
                .into_iter()
                .collect(),
            Kind::Encounter => self.encounter(id)?.persons,
            // A partnership's records show the projection, not the team's person.
            Kind::Observation
            | Kind::Roster
            | Kind::AccessLog
            | Kind::PublishedReport
            | Kind::Projection
            | Kind::SharedAssessment
            | Kind::ErasureAck => Vec::new(),
        })
    }

    /// A record's whole history (every value it ever held), read: logged as a read of the file
    /// of each person it is about; not shown if it cannot be logged.
    pub fn open_history(&self, id: RecordId, via: Via) -> Result<Vec<crate::HistoryEntry>> {
        let history = self.history(id)?;
        let reads: Vec<Access> = self
            .persons_of(id)?
            .into_iter()
            .map(|person| Access::Person { person })
            .collect();
        self.log_access(&reads, via)?;
        Ok(history)
    }

    /// A record's whole Automerge document, written out: logged as an export of the file of
    /// each person it is about (the day it was made, its kind `document`).
    pub fn open_document(&self, id: RecordId, via: Via) -> Result<Vec<u8>> {
        let bytes = self.record_document(id)?;
        let today = self.now().date_naive();
        let mut reads: Vec<Access> = self
            .persons_of(id)?
            .into_iter()
            .map(|person| Access::Person { person })
            .collect();
        if !reads.is_empty() {
            reads.push(Access::Export {
                kind: "document".into(),
                from: today,
                to: today,
                pseudonymised: false,
            });
        }
        self.log_access(&reads, via)?;
        Ok(bytes)
    }

    /// The person's consent decisions, read: logged as a read of their file.
    pub fn open_consents(&self, person: RecordId, via: Via) -> Result<Vec<crate::Consent>> {
        let consents = self.consents(person)?;
        self.log_access(&[Access::Person { person }], via)?;
        Ok(consents)
    }
}
