//! The retention review (the CNIL's référentiel for social services): the persons with no
//! contact for the organisation's retention period are listed for a coordinator, who keeps
//! each file with a reason (a change on the person's record, so that the decision is in its
//! history on every replica) or erases it. Read from the index tables only.

use chrono::{DateTime, Months, Utc};
use serde::Serialize;

use crate::doc::Edit;
use crate::model::display_name;
use crate::model::fields::Kind;
use crate::{CoreError, RecordId, Result, Store, Value};

/// One person due for review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionDue {
    pub person: RecordId,
    pub display_name: String,
    /// The latest encounter with them; `None` if they were never met.
    pub last_contact: Option<DateTime<Utc>>,
    /// When they were recorded.
    pub recorded_at: DateTime<Utc>,
    /// When a coordinator last kept their file, if one did.
    pub kept_at: Option<DateTime<Utc>>,
    /// What the period runs from: the latest of the last contact (or the recording, for a
    /// person never met) and the last decision to keep the file.
    pub since: DateTime<Utc>,
    /// Whole months from `since` to now.
    pub months: u32,
}

/// The persons due for review, oldest first, and the period that made them due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionReview {
    pub period_months: u32,
    pub due: Vec<RetentionDue>,
}

/// Whole months from `from` to `to` (0 when `to` is earlier).
pub fn months_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let mut n = 0u32;
    while from
        .checked_add_months(Months::new(n + 1))
        .is_some_and(|t| t <= to)
    {
        n += 1;
    }
    n
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl Store {
    fn refuse_unless_coordinator(&self) -> Result<()> {
        if self.acts_as_coordinator()? {
            Ok(())
        } else {
            Err(CoreError::invalid(
                "retention",
                "refused: the retention review is for a coordinator's device",
            ))
        }
    }

    /// The persons with no contact for the organisation's retention period (nor a decision to
    /// keep their file since), oldest first. A coordinator's device only.
    pub fn retention_review(&self) -> Result<RetentionReview> {
        self.refuse_unless_coordinator()?;
        let period_months = self.retention_months()?;
        let now = self.clock.now();
        let limit = now
            .checked_sub_months(Months::new(period_months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        // A contact or a recording dated after tomorrow (a phone whose clock is years ahead, or
        // a modified app) does not count: it would keep a file off the review for as long.
        let tomorrow = now + chrono::Duration::days(1);
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT p.record_id, p.name, p.nickname, p.created_at, p.kept_at,
                    (SELECT max(t) FROM (
                        SELECT max(e.occurred_at) AS t FROM encounter_persons e
                         WHERE e.person_id = p.record_id AND e.occurred_at <= ?1
                        UNION ALL
                        -- A contact with a record merged into them is a contact with them.
                        SELECT max(e.occurred_at) FROM persons m
                          JOIN encounter_persons e ON e.person_id = m.record_id
                         WHERE m.merged_root = p.record_id AND e.occurred_at <= ?1)),
                    -- So is a recording of one, and a decision to keep one's file.
                    (SELECT max(m.created_at) FROM persons m
                      WHERE m.merged_root = p.record_id AND m.created_at <= ?1),
                    (SELECT max(m.kept_at) FROM persons m WHERE m.merged_root = p.record_id)
             FROM persons p WHERE p.merged_root IS NULL",
        )?;
        let mut rows = stmt.query([tomorrow.timestamp_millis()])?;
        let mut due = Vec::new();
        while let Some(r) = rows.next()? {
            let Some(person) = RecordId::from_slice(&r.get::<_, Vec<u8>>(0)?) else {
                continue;
            };
            let (name, nickname): (Option<String>, Option<String>) = (r.get(1)?, r.get(2)?);
            let recorded_at = time(r.get(3)?);
            let recorded = if recorded_at > tomorrow {
                DateTime::<Utc>::MIN_UTC
            } else {
                recorded_at
            };
            let kept_at = r.get::<_, Option<i64>>(4)?.map(time);
            let last_contact = r.get::<_, Option<i64>>(5)?.map(time);
            // A record merged into them, recorded or kept later, counts for them.
            let members_recorded = r.get::<_, Option<i64>>(6)?.map(time);
            let kept_at = kept_at.max(r.get::<_, Option<i64>>(7)?.map(time));
            let since = last_contact
                .unwrap_or(recorded)
                .max(members_recorded.unwrap_or(DateTime::<Utc>::MIN_UTC))
                .max(kept_at.unwrap_or(DateTime::<Utc>::MIN_UTC));
            if since > limit {
                continue;
            }
            due.push(RetentionDue {
                person,
                display_name: display_name(name.as_deref(), nickname.as_deref()),
                last_contact,
                recorded_at,
                kept_at,
                since,
                months: months_between(since, now),
            });
        }
        due.sort_by(|a, b| a.since.cmp(&b.since).then(a.person.cmp(&b.person)));
        Ok(RetentionReview { period_months, due })
    }

    /// How many persons are due for review (the coordinator's phone shows it).
    pub fn retention_due_count(&self) -> Result<u64> {
        Ok(self.retention_review()?.due.len() as u64)
    }

    /// Keeps a person's file after review: the time and the reason are written on the person's
    /// record (the author and the time of the change say who decided, as history shows), and
    /// the person leaves the list until a whole period has passed again.
    pub fn retention_keep(&self, person: RecordId, reason: &str) -> Result<()> {
        self.refuse_unless_coordinator()?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CoreError::invalid(
                "reason",
                "is empty: say why the file is kept",
            ));
        }
        self.edit_kind(
            person,
            Some(Kind::Person),
            &[
                Edit::Set("retention_kept_at".into(), Value::Time(self.clock.now())),
                Edit::Set("retention_reason".into(), Value::Text(reason.to_string())),
            ],
        )
    }
}
