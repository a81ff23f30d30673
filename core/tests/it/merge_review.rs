//! An adversarial review of duplicate persons merged at the office: what a merge must not
//! lose, leave behind or cost.

use allervers_core::{NewPerson, RecordId, Store};
use chrono::{DateTime, Months, TimeZone, Utc};

use crate::common::{device, Device};

fn add_at(d: &Device, name: &str, at: DateTime<Utc>) -> RecordId {
    d.clock.set(at);
    d.store
        .add_person(&NewPerson {
            name: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

fn due(store: &Store) -> Vec<RecordId> {
    store
        .retention_review()
        .unwrap()
        .due
        .into_iter()
        .map(|r| r.person)
        .collect()
}

#[test]
fn a_record_merged_in_recently_keeps_the_person_off_the_retention_review() {
    let d = device("Poste bureau", "Sophie");
    let now = Utc.with_ymd_and_hms(2028, 6, 15, 12, 0, 0).unwrap();
    // Recorded four years ago and never met since: due for review on its own.
    let keep = add_at(&d, "Rémi Fontaine", now - Months::new(48));
    // The same person recorded again last month, under a nickname, at another antenna.
    let other = add_at(&d, "Rémi", now - Months::new(1));
    d.clock.set(now);
    assert_eq!(due(&d.store), vec![keep]);
    d.store.merge_persons(keep, other).unwrap();
    // Recorded last month: the person's file is a month old, not four years.
    assert_eq!(
        due(&d.store),
        Vec::<RecordId>::new(),
        "a merged person is due for review by their latest recording, whichever record holds it"
    );
}

#[test]
fn a_file_kept_after_review_on_a_merged_record_keeps_the_person_off_the_review() {
    let d = device("Poste bureau", "Sophie");
    let now = Utc.with_ymd_and_hms(2028, 6, 15, 12, 0, 0).unwrap();
    let keep = add_at(&d, "Odile Marchand", now - Months::new(60));
    let other = add_at(&d, "Odile", now - Months::new(50));
    // The office reviewed the second record last month and kept the file.
    d.clock.set(now - Months::new(1));
    d.store
        .retention_keep(other, "suivi en cours avec le SIAO")
        .unwrap();
    d.clock.set(now);
    d.store.merge_persons(keep, other).unwrap();
    assert_eq!(
        due(&d.store),
        Vec::<RecordId>::new(),
        "a decision to keep one record of the person keeps the person"
    );
}
