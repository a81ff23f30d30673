//! Find or create a person: the search as the worker types (names, nicknames and other names,
//! accents and case ignored, the most recently met first), the persons the typed name would
//! likely duplicate shown apart and first, and the offer to create a person from what was typed,
//! as a name or as a nickname.

use serde::Serialize;

use super::words::{self, t};
use crate::model::PersonSummary;
use crate::vocab::{label, ExtraTerm, Lang, Vocab};
use crate::{NewPerson, RecordId, Result, Store};

/// How many persons the search lists.
const ROWS: usize = 50;

/// One person in a list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonRow {
    pub id: RecordId,
    /// The name, else the nickname.
    pub title: String,
    /// The nickname (when the title is the name) and the situation, labelled.
    pub detail: String,
    /// When they were last met, in words.
    pub last_seen: String,
    /// Their alert level, labelled, when they are on the alert list.
    pub alert: Option<String>,
}

impl PersonRow {
    pub(super) fn new(
        p: &PersonSummary,
        today: chrono::NaiveDate,
        extra: &[ExtraTerm],
        lang: Lang,
    ) -> PersonRow {
        let nickname = p.name.as_ref().and(p.nickname.clone());
        let situation = p
            .situation
            .as_deref()
            .map(|s| label(Vocab::Situation, s, extra, lang));
        PersonRow {
            id: p.id,
            title: p
                .name
                .clone()
                .or_else(|| p.nickname.clone())
                .unwrap_or_else(|| p.display_name.clone()),
            detail: [nickname, situation]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            last_seen: words::last_seen(p.last_seen_at.map(|t| t.date_naive()), today, lang),
            alert: p
                .alert_level
                .as_deref()
                .filter(|a| !a.is_empty() && *a != "none")
                .map(|a| label(Vocab::AlertLevel, a, extra, lang)),
        }
    }
}

/// The offer to create a person from what was typed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreateOffer {
    /// « Créer « Mo » »
    pub label: String,
    /// The two ways: the text as a name, or as a nickname.
    pub as_name: String,
    pub as_nickname: String,
}

/// The find-or-create screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchView {
    pub title: String,
    /// The search box's placeholder.
    pub hint: String,
    /// What the box holds.
    pub query: String,
    /// How many persons the team follows ("312 personnes suivies"), before anything is typed.
    pub followed: String,
    pub duplicates_title: String,
    /// Persons the typed text would likely duplicate (one of their names is exactly it, once
    /// folded): to check before creating anyone.
    pub duplicates: Vec<PersonRow>,
    /// The other persons found, the most recently met first (everyone, when nothing is typed).
    pub rows: Vec<PersonRow>,
    /// Said when something was typed and nobody matches.
    pub empty: Option<String>,
    /// Offered once something is typed.
    pub create: Option<CreateOffer>,
    /// What was just done, said once ("Rencontre enregistrée.").
    pub notice: Option<String>,
    /// Changes written on this phone that have not reached the relay yet (0 before it joins a
    /// team).
    pub pending_changes: u64,
    pub problem: Option<String>,
    // Who uses the phone and its sync.
    /// Who is using the phone ("Téléphone utilisé par Amina"), and the offer to change.
    pub worker: String,
    pub change_worker: String,
    /// The sync button, with what waits ("Synchroniser (3 en attente)").
    pub sync_label: String,
    /// What the phone's own sync came to while the app was closed, said once on opening.
    pub sync_news: Option<String>,
    /// The buttons to the *to see again* screen and to a new encounter.
    pub see_again_label: String,
    pub new_encounter_label: String,
}

impl SearchView {
    pub(super) fn empty(lang: Lang) -> SearchView {
        SearchView {
            title: t(lang, "search_title").into(),
            hint: t(lang, "search_hint").into(),
            query: String::new(),
            followed: String::new(),
            duplicates_title: t(lang, "duplicates").into(),
            duplicates: Vec::new(),
            rows: Vec::new(),
            empty: None,
            create: None,
            notice: None,
            pending_changes: 0,
            problem: None,
            worker: String::new(),
            change_worker: t(lang, "change_worker").into(),
            sync_label: words::sync_button(0, lang),
            sync_news: None,
            see_again_label: t(lang, "see_again_title").into(),
            new_encounter_label: t(lang, "encounter_title").into(),
        }
    }
}

/// The find-or-create screen; `followed` is the count of persons followed as last made (made
/// here when `None`, and kept).
pub(super) fn view(
    store: &Store,
    typed: &str,
    followed: &mut Option<u64>,
    lang: Lang,
) -> Result<SearchView> {
    let today = store.now().date_naive();
    let extra = store.extra_terms()?;
    let words = typed.trim();
    // The persons found and, from two letters (a letter is nobody's whole name), those the
    // text would likely duplicate: one pass over the persons' rows for both.
    let (found, hints) = store.search_persons(words, ROWS)?;
    let row = |p: &PersonSummary| PersonRow::new(p, today, &extra, lang);
    let duplicates: Vec<PersonRow> = hints.iter().map(row).collect();
    let rows: Vec<PersonRow> = found
        .iter()
        .filter(|p| !hints.iter().any(|h| h.id == p.id))
        .map(row)
        .collect();
    // A phone that joined no team has nothing to send yet (it shows the joining screen):
    // counting its changes would read every one of them.
    let pending_changes = if store.membership()?.is_some() {
        store.pending_changes()?
    } else {
        0
    };
    Ok(SearchView {
        query: typed.to_string(),
        // Shown before anything is typed. Counting reads every person's row: it is made again
        // only after what may change it (`FieldApp::followed`).
        followed: if words.is_empty() {
            let count = match *followed {
                Some(count) => count,
                None => store.active_person_count()?,
            };
            *followed = Some(count);
            words::followed(count, lang)
        } else {
            String::new()
        },
        empty: (!words.is_empty() && rows.is_empty() && duplicates.is_empty())
            .then(|| t(lang, "no_result").to_string()),
        create: (!words.is_empty()).then(|| CreateOffer {
            label: words::create(words, lang),
            as_name: t(lang, "as_name").into(),
            as_nickname: t(lang, "as_nickname").into(),
        }),
        duplicates,
        rows,
        pending_changes,
        worker: words::using_phone(&store.worker(), lang),
        sync_label: words::sync_button(pending_changes, lang),
        ..SearchView::empty(lang)
    })
}

/// Creates a person from what was typed (its name, or its nickname); `None` when nothing was.
pub(super) fn create(store: &Store, typed: &str, as_nickname: bool) -> Result<Option<RecordId>> {
    let words = typed.trim();
    if words.is_empty() {
        return Ok(None);
    }
    let given = Some(words.to_string());
    let person = if as_nickname {
        NewPerson {
            nickname: given,
            ..Default::default()
        }
    } else {
        NewPerson {
            name: given,
            ..Default::default()
        }
    };
    store.add_person(&person).map(Some)
}
