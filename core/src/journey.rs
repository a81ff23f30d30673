//! A housing journey as a line of periods, and what the report counts of it.
//!
//! A journey is read from two sources, the same on every replica:
//! - the periods recorded (`JourneyPeriod` records: a situation, from a day until a day, where,
//!   why it ended), the person's own and those of the households they belonged to at the time;
//! - the changes of the person's `situation` register (`situation_changes`, one row per
//!   Automerge change that moved it, at that change's time), which are the whole journey of a
//!   store from before periods were recorded, and what a phone writes when it edits the
//!   situation in the street.
//!
//! A step read from a situation change gives way to a recorded period that says the same, or
//! says more: one of the same situation starting within `SLACK_DAYS` of it, or any recorded
//! period whose dates hold its day (an open-ended one only for its own situation: a later
//! change to another situation is a move the period did not know of). Nothing is written for
//! the past: a migration that wrote periods on every device would hold each one once per device.

#[cfg(test)]
use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::vocab::{HOUSING_SITUATIONS, STREET_SITUATIONS};
use crate::RecordId;

/// How far apart a recorded period's start and a situation change to the same situation may be
/// and still be one move: the office often records the day of entry a few days after the phone
/// changed the situation, or the other way round.
pub const SLACK_DAYS: i64 = 31;

/// One step of a journey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JourneyStep {
    pub situation: String,
    pub from: NaiveDate,
    /// The day it ended: the period's own end when recorded, else the next step's start; none
    /// while it lasts.
    pub to: Option<NaiveDate>,
    pub place: Option<String>,
    pub end_reason: Option<String>,
    /// The period record, when the step was recorded as one (none when it was read from a
    /// change of the situation).
    pub period: Option<RecordId>,
    /// The household whose period this is, when it is a household's.
    pub household: Option<RecordId>,
    /// A household's period that the person joined after it began: the day they joined is
    /// their own move into it, not the household's.
    #[serde(skip)]
    pub(crate) joined: bool,
}

/// A recorded period, as the journey reads it.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub id: RecordId,
    pub situation: String,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub place: Option<String>,
    pub end_reason: Option<String>,
    /// The person whose period it is, or the household's.
    pub person: Option<RecordId>,
    pub household: Option<RecordId>,
    /// A household's period cut to start on the day a member joined, after it began.
    pub joined: bool,
}

/// The situation steps of a person's record: the situation it was created with, from its
/// creation day, then each change, at its day (in the order of the changes' times).
#[derive(Clone, Debug, Default)]
pub(crate) struct Changes {
    pub steps: Vec<(NaiveDate, String)>,
}

/// The journey: recorded periods and the situation steps they do not already say, in order of
/// their start, each ended by its own end or the next step's start.
pub(crate) fn steps(mut recorded: Vec<Recorded>, changes: &Changes) -> Vec<JourneyStep> {
    // Successive changes to one situation are one step (a merge of two records of one person
    // brings the same step twice).
    let mut derived: Vec<(NaiveDate, &str)> = Vec::new();
    for (day, situation) in &changes.steps {
        if derived.last().is_some_and(|(_, s)| s == situation) {
            continue;
        }
        // Several changes on one day: the day ends in the last one.
        if derived.last().is_some_and(|(d, _)| d == day) {
            derived.pop();
            if derived.last().is_some_and(|(_, s)| s == situation) {
                continue;
            }
        }
        derived.push((*day, situation));
    }
    let covered = |day: NaiveDate, situation: &str| {
        recorded.iter().any(|r| {
            let near = (r.from - day).num_days().abs() <= SLACK_DAYS;
            let holds = r.from <= day && r.to.is_none_or(|to| day <= to);
            let same = r.situation == situation;
            (same && (near || holds)) || (holds && r.to.is_some())
        })
    };
    let mut out: Vec<JourneyStep> = derived
        .into_iter()
        .filter(|(day, situation)| !covered(*day, situation))
        .map(|(from, situation)| JourneyStep {
            situation: situation.to_string(),
            from,
            to: None,
            place: None,
            end_reason: None,
            period: None,
            household: None,
            joined: false,
        })
        .collect();
    recorded.sort_by_key(|r| (r.from, r.id));
    out.extend(recorded.into_iter().map(|r| JourneyStep {
        situation: r.situation,
        from: r.from,
        to: r.to.map(|to| to.max(r.from)),
        place: r.place,
        end_reason: r.end_reason,
        period: Some(r.id),
        household: r.household,
        joined: r.joined,
    }));
    // Recorded before read, on a tie: the record says more; a household's period before a
    // member's own of the same day, so that a member moving with their household is the
    // household's move (the member's own period then follows it in the same situation).
    out.sort_by_key(|s| (s.from, s.period.is_none(), s.household.is_none(), s.period));
    let starts: Vec<NaiveDate> = out.iter().map(|s| s.from).collect();
    for (i, step) in out.iter_mut().enumerate() {
        if step.to.is_none() {
            step.to = starts[i + 1..].iter().copied().find(|d| *d > step.from);
        }
    }
    out
}

/// Who moved: a household counts once, whatever its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Unit {
    Person(RecordId),
    Household(RecordId),
}

/// One move between two steps of a journey, on the day the second began.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Move {
    pub on: NaiveDate,
    pub unit: Unit,
    pub from: String,
    pub to: String,
}

/// The moves of `person`'s journey into a step that began within `first..=last`: a step of a
/// household's period is the household's move, but for a person who joined it after it began
/// (their own).
pub(crate) fn moves(
    person: RecordId,
    steps: &[JourneyStep],
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<Move> {
    steps
        .windows(2)
        .filter(|w| w[1].from >= first && w[1].from <= last && w[0].situation != w[1].situation)
        .map(|w| Move {
            on: w[1].from,
            unit: match w[1].household {
                Some(h) if !w[1].joined => Unit::Household(h),
                _ => Unit::Person(person),
            },
            from: w[0].situation.clone(),
            to: w[1].situation.clone(),
        })
        .collect()
}

pub(crate) fn is_street(situation: &str) -> bool {
    STREET_SITUATIONS.contains(&situation)
}

pub(crate) fn is_housing(situation: &str) -> bool {
    HOUSING_SITUATIONS.contains(&situation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn id(n: u8) -> RecordId {
        RecordId::from_slice(&[n; 16]).unwrap()
    }

    fn period(n: u8, situation: &str, from: &str, to: Option<&str>) -> Recorded {
        Recorded {
            id: id(n),
            situation: situation.into(),
            from: day(from),
            to: to.map(day),
            place: None,
            end_reason: None,
            person: None,
            household: None,
            joined: false,
        }
    }

    fn changes(steps: &[(&str, &str)]) -> Changes {
        Changes {
            steps: steps.iter().map(|(d, s)| (day(d), s.to_string())).collect(),
        }
    }

    fn line(steps: &[JourneyStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| {
                format!(
                    "{} {}..{}{}",
                    s.situation,
                    s.from,
                    s.to.map(|d| d.to_string()).unwrap_or_default(),
                    if s.period.is_some() { " R" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn situation_changes_alone_make_the_journey() {
        let c = changes(&[
            ("2026-01-05", "street"),
            ("2026-02-01", "emergency_shelter"),
            ("2026-02-01", "hotel"),
            ("2026-03-10", "social_housing"),
        ]);
        assert_eq!(
            line(&steps(vec![], &c)),
            [
                "street 2026-01-05..2026-02-01",
                "hotel 2026-02-01..2026-03-10",
                "social_housing 2026-03-10.."
            ]
        );
    }

    #[test]
    fn a_recorded_period_takes_the_place_of_the_change_it_says_more_about() {
        let c = changes(&[("2026-01-05", "street"), ("2026-03-12", "social_housing")]);
        let recorded = vec![period(1, "social_housing", "2026-03-01", None)];
        assert_eq!(
            line(&steps(recorded, &c)),
            [
                "street 2026-01-05..2026-03-01",
                "social_housing 2026-03-01.. R"
            ]
        );
    }

    #[test]
    fn a_later_change_ends_an_open_period_and_a_closed_one_hides_what_it_holds() {
        let c = changes(&[
            ("2026-01-05", "street"),
            ("2026-02-01", "hotel"),
            ("2026-03-02", "social_housing"),
            ("2026-06-01", "street"),
        ]);
        let recorded = vec![
            period(1, "emergency_shelter", "2026-01-20", Some("2026-02-20")),
            period(2, "social_housing", "2026-03-01", None),
        ];
        assert_eq!(
            line(&steps(recorded, &c)),
            [
                "street 2026-01-05..2026-01-20",
                "emergency_shelter 2026-01-20..2026-02-20 R",
                "social_housing 2026-03-01..2026-06-01 R",
                "street 2026-06-01.."
            ]
        );
    }

    #[test]
    fn a_household_move_is_one_move() {
        let h = id(9);
        let mut p = period(1, "social_housing", "2026-03-01", None);
        p.household = Some(h);
        let c = changes(&[("2026-01-05", "hotel")]);
        let first = steps(vec![p.clone()], &c);
        let second = steps(vec![p], &c);
        let all = moves(id(1), &first, day("2026-03-01"), day("2026-03-31"))
            .into_iter()
            .chain(moves(id(2), &second, day("2026-03-01"), day("2026-03-31")));
        let moves: BTreeSet<Move> = all.collect();
        assert_eq!(moves.len(), 1);
        assert_eq!(moves.iter().next().unwrap().unit, Unit::Household(h));
    }

    #[test]
    fn joining_a_housed_household_is_ones_own_move() {
        let h = id(9);
        let mut p = period(1, "social_housing", "2026-03-24", None);
        p.household = Some(h);
        p.joined = true;
        let c = changes(&[("2026-01-05", "hotel")]);
        let line = steps(vec![p], &c);
        let moved = moves(id(2), &line, day("2026-03-01"), day("2026-03-31"));
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].unit, Unit::Person(id(2)));
        assert_eq!(moved[0].to, "social_housing");
    }
}
