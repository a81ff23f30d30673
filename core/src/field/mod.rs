//! The field app's behaviour, where it is tested: each screen as a view model (texts already
//! labelled in French or English, lists already sorted, which actions are enabled, what problem
//! to show in one sentence) and the worker's actions as events that produce the next one, in the
//! spirit of Crux (`update(event) -> view`). The Android and iOS shells only render the view
//! models and send the events; no label, sorting or rule is decided there.
//!
//! Screens so far: find or create a person (`search.rs`: search as the worker types, create from
//! what was typed, with the likely duplicates shown first) and *to see again* (`see_again.rs`:
//! open follow-ups, the alert list, persons not met for the organisation's number of days).
//! Labels and relative days are in `words.rs`.

mod search;
mod see_again;
mod words;

use serde::Serialize;

use crate::vocab::Lang;
use crate::{Result, Store};

pub use search::{CreateOffer, PersonRow, SearchView};
pub use see_again::{SeeAgainSection, SeeAgainView};

/// How many days without a meeting put a person on the *to see again* screen, until the
/// organisation sets its own.
pub const DEFAULT_NOT_SEEN_DAYS: u32 = 14;

/// What the worker did.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The app opened (or came back): the first screen.
    Start,
    /// The search box now holds `text`.
    Search { text: String },
    /// Create a person from what was typed: the text as their name, or as their nickname.
    Create { as_nickname: bool },
    /// Show the *to see again* screen.
    ShowSeeAgain,
    /// Back to finding a person.
    ShowSearch,
}

/// One screen, ready to render.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum View {
    Search(SearchView),
    SeeAgain(SeeAgainView),
}

#[derive(Clone, Debug, Default, PartialEq)]
enum Screen {
    #[default]
    Search,
    SeeAgain,
}

/// The app's state between events: the screen shown, what was typed, the last problem.
#[derive(Clone, Debug)]
pub struct FieldApp {
    lang: Lang,
    not_seen_days: u32,
    screen: Screen,
    typed: String,
    /// A problem to say once, on the next view (a creation refused...).
    problem: Option<String>,
}

impl FieldApp {
    pub fn new(lang: Lang) -> FieldApp {
        FieldApp {
            lang,
            not_seen_days: DEFAULT_NOT_SEEN_DAYS,
            screen: Screen::default(),
            typed: String::new(),
            problem: None,
        }
    }

    /// The number of days without a meeting after which a person is to see again.
    pub fn with_not_seen_days(mut self, days: u32) -> FieldApp {
        self.not_seen_days = days;
        self
    }

    /// Applies what the worker did to `store`, and returns the screen to show. Never fails: a
    /// refused action is said in the view's problem, in one sentence.
    pub fn update(&mut self, store: &Store, event: Event) -> View {
        match event {
            Event::Start | Event::ShowSearch => self.screen = Screen::Search,
            Event::Search { text } => {
                self.screen = Screen::Search;
                self.typed = text;
            }
            Event::Create { as_nickname } => {
                self.screen = Screen::Search;
                match search::create(store, &self.typed, as_nickname) {
                    Ok(Some(_)) => {}
                    Ok(None) => self.problem = Some(words::t(self.lang, "type_first").into()),
                    Err(e) => self.problem = Some(words::problem(e, self.lang)),
                }
            }
            Event::ShowSeeAgain => self.screen = Screen::SeeAgain,
        }
        self.view(store)
    }

    /// The screen to show now (what the store holds changed since: a sync ran).
    pub fn view(&mut self, store: &Store) -> View {
        let problem = self.problem.take();
        let built: Result<View> = match self.screen {
            Screen::Search => search::view(store, &self.typed, self.lang).map(|mut v| {
                v.problem = problem.clone().or(v.problem);
                View::Search(v)
            }),
            Screen::SeeAgain => {
                see_again::view(store, self.not_seen_days, self.lang).map(|mut v| {
                    v.problem = problem.clone().or(v.problem);
                    View::SeeAgain(v)
                })
            }
        };
        built.unwrap_or_else(|e| {
            // The store could not be read: the screen says so, with nothing else.
            let problem = Some(words::problem(e, self.lang));
            match self.screen {
                Screen::Search => View::Search(SearchView {
                    query: self.typed.clone(),
                    problem,
                    ..SearchView::empty(self.lang)
                }),
                Screen::SeeAgain => View::SeeAgain(SeeAgainView {
                    problem,
                    ..SeeAgainView::empty(self.lang)
                }),
            }
        })
    }
}
