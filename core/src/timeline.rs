//! Timelines: `timeline(person)` merges everything about one person from every device
//! (encounters, actions, referrals, consent decisions, health contacts, field changes) in time
//! order.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::doc::Reader;
use crate::history::{author_of, creation, record_history, Author, Creation, HistoryEntry};
use crate::model::fields::Kind;
use crate::store::{
    authors, load_doc, person_encounters, person_follow_ups, record_kind, relay_times, Store,
};
use crate::{CoreError, RecordId, Result};

/// What a timeline entry is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineItem {
    Encounter {
        id: RecordId,
        place: Option<String>,
        team: Option<String>,
        kind: Option<String>,
        services: Vec<String>,
        workers: Vec<String>,
        notes: Option<String>,
        follow_up: bool,
        anonymous_count: i64,
        other_persons: usize,
    },
    Action {
        id: RecordId,
        title: Option<String>,
        category: Option<String>,
        status: Option<String>,
        due_at: Option<NaiveDate>,
    },
    Referral {
        id: RecordId,
        target: Option<String>,
        target_name: Option<String>,
        status: Option<String>,
        outcome: Option<String>,
    },
    /// A consent decision about sharing one category with one partner.
    Consent {
        id: RecordId,
        partner: Option<String>,
        category: Option<String>,
        given: Option<bool>,
        decided_on: Option<NaiveDate>,
        how: Option<String>,
    },
    /// A health professional saw the person that day: the content is in the health space,
    /// which only health professionals' devices read.
    HealthContact { id: RecordId, on: Option<NaiveDate> },
    /// A period of the person's housing journey was recorded.
    Period {
        id: RecordId,
        situation: Option<String>,
        started_on: Option<NaiveDate>,
        ended_on: Option<NaiveDate>,
        place: Option<String>,
    },
    /// A housing application was recorded.
    Application {
        id: RecordId,
        kind: Option<String>,
        number: Option<String>,
        status: Option<String>,
    },
    /// A home of the person's (or of their household's) was recorded.
    Home {
        id: RecordId,
        landlord: Option<String>,
        address: Option<String>,
        entered_on: Option<NaiveDate>,
        left_on: Option<NaiveDate>,
    },
    /// A risk to the person's home was raised.
    Risk {
        id: RecordId,
        risk: Option<String>,
        raised_on: Option<NaiveDate>,
        status: Option<String>,
    },
    /// A housing offer was proposed to the person.
    Proposal {
        id: RecordId,
        offer: Option<RecordId>,
        proposed_on: Option<NaiveDate>,
        outcome: Option<String>,
    },
    /// The person's own view of the support was recorded (its words are in the record).
    OwnView {
        id: RecordId,
        step: Option<String>,
        on: Option<NaiveDate>,
        satisfaction: Option<i64>,
    },
    /// The person joined a household.
    Household {
        id: RecordId,
        household: Option<RecordId>,
        relation: Option<String>,
        joined_on: Option<NaiveDate>,
        left_on: Option<NaiveDate>,
    },
    /// A change to the person's record, or to an action, referral or consent about them.
    Change(HistoryEntry),
}

/// One entry of a person's merged visit history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// When it happened (occurred at for encounters, device time of the change otherwise).
    pub at: DateTime<Utc>,
    /// Who wrote it: the device, and the worker the change records (for an encounter, action or
    /// referral, the change that created it), else the device's worker from the roster.
    pub author: Author,
    /// When the relay received that change (the creation, for an encounter, action or
    /// referral), for changes that came through it.
    pub relay_at: Option<DateTime<Utc>>,
    /// The writing device's clock was off by more than ten minutes against the relay's.
    pub clock_off: bool,
    pub item: TimelineItem,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// The merged visit history of one person: every encounter, action, referral, consent
    /// decision and change about them, from every device, oldest first; with those of the
    /// records merged into the same person (`merge.rs`), whichever of them is asked.
    pub fn timeline(&self, person: RecordId) -> Result<Vec<TimelineEntry>> {
        let conn = self.lock();
        let kind = record_kind(&conn, person)?;
        if kind != Kind::Person {
            return Err(CoreError::WrongKind {
                id: person,
                expected: "person",
                actual: kind.name().into(),
            });
        }
        let known = authors(&conn)?;
        let mut out = Vec::new();
        // A person's records merged into one another tell one history (`merge.rs`).
        let mut listed = std::collections::HashSet::new();
        for person in crate::store::merge::Groups::load(&conn)?.group(person) {
            // Changes to the person's own record (the creation is the first entry).
            let mut doc = load_doc(&conn, person)?.ok_or(CoreError::RecordNotFound(person))?;
            let times = relay_times(&conn, person)?;
            for entry in record_history(person, Kind::Person, &mut doc, &known, &times) {
                out.push(TimelineEntry {
                    at: entry.at,
                    author: entry.author.clone(),
                    relay_at: entry.relay_at,
                    clock_off: entry.clock_off,
                    item: TimelineItem::Change(entry),
                });
            }
            // Encounters, from the index: who logged one is the worker its creating change records.
            for e in person_encounters(&conn, person)? {
                if !listed.insert(e.id) {
                    // Met with a record merged into the same person: listed once.
                    continue;
                }
                let made = creation(&conn, e.id, &known)?.unwrap_or_else(|| Creation {
                    author: author_of(&known, &automerge::ActorId::from(&e.device[..]), None),
                    relay_at: None,
                    clock_off: false,
                });
                out.push(TimelineEntry {
                    at: DateTime::from_timestamp_millis(e.occurred_at).unwrap_or_default(),
                    author: made.author,
                    relay_at: made.relay_at,
                    clock_off: made.clock_off,
                    item: TimelineItem::Encounter {
                        id: e.id,
                        place: e.place,
                        team: e.team,
                        kind: e.kind,
                        services: split_list(&e.services),
                        workers: split_list(&e.workers),
                        notes: e.notes,
                        follow_up: e.follow_up,
                        anonymous_count: e.anonymous_count,
                        other_persons: split_list(&e.persons).len().saturating_sub(1),
                    },
                });
            }

            // Actions, referrals and consent decisions: their creation, then their later changes
            // (status, outcome).
            for (id, kind) in person_follow_ups(&conn, person)? {
                if !listed.insert(id) {
                    continue;
                }
                let Some(mut doc) = load_doc(&conn, id)? else {
                    continue;
                };
                let times = relay_times(&conn, id)?;
                let history = record_history(id, kind, &mut doc, &known, &times);
                let r = Reader::new(&doc);
                let text = |f: &str| {
                    kind.field(f)
                        .ok()
                        .and_then(|s| r.get(s))
                        .map(|v| v.to_string())
                };
                let date = |f: &str| {
                    text(f)
                        .as_deref()
                        .and_then(crate::model::fields::parse_date)
                };
                if let Some(first) = history.first() {
                    let item = match kind {
                        Kind::Action => TimelineItem::Action {
                            id,
                            title: text("title"),
                            category: text("category"),
                            status: text("status"),
                            due_at: text("due_at")
                                .as_deref()
                                .and_then(crate::model::fields::parse_date),
                        },
                        Kind::Consent => TimelineItem::Consent {
                            id,
                            partner: text("partner"),
                            category: text("category"),
                            given: text("given").map(|g| g == "yes"),
                            decided_on: text("decided_on")
                                .as_deref()
                                .and_then(crate::model::fields::parse_date),
                            how: text("how"),
                        },
                        Kind::HealthContact => TimelineItem::HealthContact {
                            id,
                            on: text("on")
                                .as_deref()
                                .and_then(crate::model::fields::parse_date),
                        },
                        Kind::JourneyPeriod => TimelineItem::Period {
                            id,
                            situation: text("situation"),
                            started_on: date("started_on"),
                            ended_on: date("ended_on"),
                            place: text("place"),
                        },
                        Kind::HousingApplication => TimelineItem::Application {
                            id,
                            kind: text("application_kind"),
                            number: text("number"),
                            status: text("status"),
                        },
                        Kind::Home => TimelineItem::Home {
                            id,
                            landlord: text("landlord"),
                            address: text("address"),
                            entered_on: date("entered_on"),
                            left_on: date("left_on"),
                        },
                        Kind::RiskSignal => TimelineItem::Risk {
                            id,
                            risk: text("risk"),
                            raised_on: date("raised_on"),
                            status: text("status"),
                        },
                        Kind::OwnView => TimelineItem::OwnView {
                            id,
                            step: text("step"),
                            on: date("on"),
                            satisfaction: text("satisfaction").and_then(|s| s.parse().ok()),
                        },
                        Kind::Proposal => TimelineItem::Proposal {
                            id,
                            offer: text("offer").and_then(|o| o.parse().ok()),
                            proposed_on: date("proposed_on"),
                            outcome: text("outcome"),
                        },
                        Kind::HouseholdMember => TimelineItem::Household {
                            id,
                            household: text("household").and_then(|h| h.parse().ok()),
                            relation: text("relation"),
                            joined_on: date("joined_on"),
                            left_on: date("left_on"),
                        },
                        _ => TimelineItem::Referral {
                            id,
                            target: text("target"),
                            target_name: text("target_name"),
                            status: text("status"),
                            outcome: text("outcome"),
                        },
                    };
                    out.push(TimelineEntry {
                        at: first.at,
                        author: first.author.clone(),
                        relay_at: first.relay_at,
                        clock_off: first.clock_off,
                        item,
                    });
                }
                for entry in history.into_iter().filter(|e| !e.creation) {
                    out.push(TimelineEntry {
                        at: entry.at,
                        author: entry.author.clone(),
                        relay_at: entry.relay_at,
                        clock_off: entry.clock_off,
                        item: TimelineItem::Change(entry),
                    });
                }
            }
        }

        // Stable sort: entries of one record keep their causal order when times tie.
        out.sort_by_key(|e| e.at);
        Ok(out)
    }
}
