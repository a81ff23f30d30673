//! *Aller vers* persistence: whom to go and see again. Three sections, each the most urgent
//! first: persons with a follow-up action still to do (the earliest due first), persons on the
//! alert list (the longest unseen first), and persons not met for the organisation's number of
//! days (the longest unseen first). A follow-up's row says its title and due day, and "en
//! retard" / "overdue" once that day is past. A person is listed once, in the first section that holds
//! them.

use serde::Serialize;

use super::search::PersonRow;
use super::words::{self, t};
use crate::vocab::Lang;
use crate::{RecordId, Result, Store};

/// How many persons a section lists at most.
const ROWS: usize = 100;

/// One section of the screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeeAgainSection {
    pub title: String,
    pub rows: Vec<PersonRow>,
}

/// The *to see again* screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeeAgainView {
    pub title: String,
    /// The sections that list someone, in order of urgency.
    pub sections: Vec<SeeAgainSection>,
    /// Said when no section lists anyone.
    pub empty: Option<String>,
    pub problem: Option<String>,
    /// The button back to the search.
    pub back_label: String,
}

impl SeeAgainView {
    pub(super) fn empty(lang: Lang) -> SeeAgainView {
        SeeAgainView {
            title: t(lang, "see_again_title").into(),
            sections: Vec::new(),
            empty: None,
            problem: None,
            back_label: t(lang, "back").into(),
        }
    }
}

pub(super) fn view(store: &Store, days: u32, lang: Lang) -> Result<SeeAgainView> {
    let today = store.now().date_naive();
    let extra = store.extra_terms()?;
    let mut listed: Vec<RecordId> = Vec::new();
    let mut section = |title: String, persons: Vec<(crate::PersonSummary, Option<String>)>| {
        let mut rows: Vec<PersonRow> = Vec::new();
        for (p, why) in persons {
            if listed.contains(&p.id) {
                continue;
            }
            listed.push(p.id);
            let mut row = PersonRow::new(&p, today, &extra, lang);
            if let Some(why) = why {
                row.detail = why;
            }
            rows.push(row);
        }
        (!rows.is_empty()).then_some(SeeAgainSection { title, rows })
    };
    let open = store
        .persons_with_open_actions(ROWS)?
        .into_iter()
        .map(|o| {
            // An overdue follow-up says so in words, not only in a colour.
            let due = o.due.map(|d| {
                if d < today {
                    format!("{d}, {}", t(lang, "overdue"))
                } else {
                    d.to_string()
                }
            });
            let why = match (o.title, due) {
                (Some(title), Some(due)) => format!("{title} ({due})"),
                (Some(title), None) => title,
                (None, Some(due)) => due,
                (None, None) => String::new(),
            };
            (o.person, Some(why).filter(|w| !w.is_empty()))
        })
        .collect();
    let alert = store
        .persons_on_alert(ROWS)?
        .into_iter()
        .map(|p| (p, None))
        .collect();
    let unseen = store
        .persons_not_seen_for(days, ROWS)?
        .into_iter()
        .map(|p| (p, None))
        .collect();
    let sections: Vec<SeeAgainSection> = [
        section(t(lang, "open_actions").into(), open),
        section(t(lang, "on_alert").into(), alert),
        section(words::not_seen_for(days, lang), unseen),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(SeeAgainView {
        empty: sections
            .is_empty()
            .then(|| t(lang, "nobody_to_see").to_string()),
        sections,
        ..SeeAgainView::empty(lang)
    })
}
