//! The field app's behaviour, where it is tested: each screen as a view model (texts already
//! labelled in French or English, lists already sorted, which actions are enabled, what problem
//! to show in one sentence) and the worker's actions as events that produce the next one, in the
//! spirit of Crux (`update(event) -> view`). The Android and iOS shells only render the view
//! models and send the events; no label, sorting or rule is decided there.
//!
//! Screens so far: find or create a person (`search.rs`: search as the worker types, create from
//! what was typed, with the likely duplicates shown first), the encounter form (`encounter.rs`:
//! persons and an anonymous count, services the team uses most first, recent places), a
//! person's screen (`person.rs`: who they are, follow-ups to do, conflicts to settle at the
//! office, the merged timeline in words) and *to see again* (`see_again.rs`: open follow-ups,
//! the alert list, persons not met for the organisation's number of days).
//! Then the sync screen (`sync.rs`: changes waiting, the last success and failure, a background
//! sync's outcome said once on opening), joining a team from an invite code (`join.rs`, the
//! first screen of a phone in no team) and who is using a shared phone (`worker.rs`). Those that
//! need the network (a sync, joining) are run by the bindings, which send what they came to as
//! an event (`SyncFinished`, `JoinFinished`): the core itself never sees a network.
//! Labels and relative days are in `words.rs`.
//!
//! From a person's screen, the worker adds a follow-up or a referral and marks a follow-up done
//! (`person_forms.rs`). The form being typed (the encounter form, or a person's follow-up or
//! referral typed halfway) is kept in the store after each event that changed it and read back
//! at `Start` (`draft.rs`): nothing typed is lost when the phone kills the app.

mod draft;
mod encounter;
mod person;
mod person_forms;
mod search;
mod see_again;
mod words;
// The sync screen, joining a team and the worker using a shared phone.
mod join;
mod sync;
mod worker;

use serde::Serialize;

use crate::vocab::Lang;
use crate::{ApiError, RecordId, Result, Store, SyncOutcome};

pub use encounter::{Choice, EncounterView, Named};
pub use person::{CustomControl, Fact, OpenAction, PersonView, StreetEdit, TimelineRow};
pub use person_forms::{ActionForm, ReferralForm, ReferralRow};
pub use search::{CreateOffer, PersonRow, SearchView};
pub use see_again::{SeeAgainSection, SeeAgainView};
// The sync screen, joining a team and the worker using a shared phone.
pub use join::JoinView;
pub use sync::SyncView;
pub use worker::{WorkerRow, WorkersView};

/// How many days without a meeting put a person on the *to see again* screen, until the
/// organisation sets its own.
pub const DEFAULT_NOT_SEEN_DAYS: u32 = 14;

/// What the worker did.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The app opened (or came back): the form kept in the store when one was being typed,
    /// else the first screen.
    Start,
    /// The search box now holds `text`.
    Search {
        text: String,
    },
    /// Create a person from what was typed: the text as their name, or as their nickname.
    Create {
        as_nickname: bool,
    },
    /// Show the *to see again* screen.
    ShowSeeAgain,
    /// Back to finding a person (an encounter form is dropped).
    ShowSearch,
    /// Open a person's screen (its reading is logged).
    OpenPerson {
        id: RecordId,
    },
    /// On a person's screen: what changed in the street, written at once.
    EditPerson {
        edit: StreetEdit,
    },
    /// Open the encounter form, with this person met when given.
    NewEncounter {
        person: Option<RecordId>,
    },
    /// On the encounter form: the person search now holds `text`.
    SearchPerson {
        text: String,
    },
    /// On the encounter form: a person met, added or taken off.
    AddPerson {
        id: RecordId,
    },
    RemovePerson {
        id: RecordId,
    },
    /// On the encounter form: one more anonymous person (`1`) or one fewer (`-1`).
    Anonymous {
        delta: i64,
    },
    /// On the encounter form: a service given, or taken back.
    ToggleService {
        code: String,
    },
    /// On the encounter form: the place, typed or picked from the recent ones.
    Place {
        text: String,
    },
    /// On the encounter form: where the phone is, when the worker allows it.
    Coordinates {
        latitude: f64,
        longitude: f64,
    },
    /// On the encounter form: its kind (first contact, follow-up, intervention).
    Kind {
        code: String,
    },
    Notes {
        text: String,
    },
    FollowUp {
        needed: bool,
    },
    /// On the encounter form: one of the organisation's fields of encounters (its name) as
    /// typed or chosen (a text box's text, empty clears it; a choice's code; `yes` or `no`; a
    /// code of a several-choices field added, or taken off when chosen).
    EncounterCustom {
        name: String,
        value: String,
    },
    /// Save the encounter form; back to finding a person once saved.
    Save,

    // A person's follow-ups and referrals, added from their screen.
    /// On a person's screen, the follow-up form: its title, its category (a code of the list)
    /// and its due day (`YYYY-MM-DD`, or empty), as typed.
    ActionTitle {
        text: String,
    },
    ActionCategory {
        code: String,
    },
    ActionDue {
        text: String,
    },
    /// Add the follow-up the form holds; the form is emptied once it is written.
    AddAction,
    /// Empty the follow-up form.
    ClearAction,
    /// On a person's screen, the referral form: where to (a code of the list), the service's
    /// name and the day (`YYYY-MM-DD`, today when empty), as typed.
    ReferralTarget {
        code: String,
    },
    ReferralName {
        text: String,
    },
    ReferralDate {
        text: String,
    },
    /// Add the referral the form holds; the form is emptied once it is written.
    AddReferral,
    /// Empty the referral form.
    ClearReferral,
    /// Mark one of the person's open follow-ups done, with a comment (empty: none).
    CompleteAction {
        id: RecordId,
        comment: String,
    },
    // The sync screen, joining a team and the worker using a shared phone.
    /// Show the sync screen.
    ShowSync,
    /// A sync the worker asked for ended (run by the bindings): what it came to. The store
    /// recorded it already; the app says it once.
    SyncFinished {
        outcome: SyncOutcome,
    },
    /// Show the join screen.
    ShowJoin,
    /// On the join screen: the code box now holds `text` (typed, or scanned whole).
    JoinCode {
        text: String,
    },
    /// Go on without a team for now (offline): the first screen.
    JoinLater,
    /// Joining with the code of the join screen ended (run by the bindings): `None` when the
    /// phone joined, else why not.
    JoinFinished {
        error: Option<ApiError>,
    },
    /// Show who may be using the phone.
    ShowWorkers,
    /// This worker uses the phone from now on (one of the list, or a name typed).
    ChooseWorker {
        name: String,
    },
}

/// One screen, ready to render.
// One view is built per event and handed over by value: boxing the person's screen, the largest,
// would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum View {
    Search(SearchView),
    SeeAgain(SeeAgainView),
    Encounter(EncounterView),
    Person(PersonView),
    // The sync screen, joining a team and the worker using a shared phone.
    Sync(SyncView),
    Join(JoinView),
    Workers(WorkersView),
}

#[derive(Clone, Debug, Default, PartialEq)]
enum Screen {
    #[default]
    Search,
    SeeAgain,
    Encounter(encounter::Draft),
    /// A person's screen, with what its forms hold.
    Person(person_forms::Forms),
    // The sync screen, joining a team and the worker using a shared phone.
    Sync,
    Join,
    Workers,
}

/// The app's state between events: the screen shown (with the form being typed), what was
/// typed in the search, the last problem and notice, and what the store keeps of the form.
#[derive(Clone, Debug)]
pub struct FieldApp {
    lang: Lang,
    not_seen_days: u32,
    screen: Screen,
    typed: String,
    /// A problem to say once, on the next view (a creation refused...).
    problem: Option<String>,
    /// What was just done, said once on the next search screen.
    notice: Option<String>,
    /// The form's draft as the store holds it (written only when the form changed).
    kept: draft::Kept,
    /// The person whose screen is shown and whose reading was logged when it came up.
    logged: Option<RecordId>,
    // The sync screen, joining a team and the worker using a shared phone.
    /// The invite code typed or scanned on the join screen.
    join_code: String,
    /// The worker chose to go on without a team for now: the first screen is the search.
    join_later: bool,
    /// A background sync's outcome, said once on the first screen after opening.
    sync_news: Option<String>,
    /// How many persons the team follows, as the first screen last counted them: counted again
    /// after what may change it (a start, a creation, a sync, a view asked from outside), not at
    /// each screen (counting reads every person's row).
    followed: Option<u64>,
}

impl FieldApp {
    pub fn new(lang: Lang) -> FieldApp {
        FieldApp {
            lang,
            not_seen_days: DEFAULT_NOT_SEEN_DAYS,
            screen: Screen::default(),
            typed: String::new(),
            problem: None,
            notice: None,
            kept: draft::Kept::Unknown,
            logged: None,
            join_code: String::new(),
            join_later: false,
            sync_news: None,
            followed: None,
        }
    }

    /// The number of days without a meeting after which a person is to see again.
    pub fn with_not_seen_days(mut self, days: u32) -> FieldApp {
        self.not_seen_days = days;
        self
    }

    /// Applies what the worker did to `store`, and returns the screen to show. Never fails: a
    /// refused action is said in the view's problem, in one sentence. The form being typed is
    /// kept in the store when the event changed it.
    pub fn update(&mut self, store: &Store, event: Event) -> View {
        match event {
            Event::Start => {
                // Back to a form kept in the store first; else the first screen.
                self.restore(store);
                if matches!(self.screen, Screen::Search) {
                    self.start(store);
                }
            }
            Event::ShowSearch => self.screen = Screen::Search,
            Event::Search { text } => {
                self.screen = Screen::Search;
                self.typed = text;
            }
            Event::Create { as_nickname } => {
                self.screen = Screen::Search;
                self.followed = None;
                match search::create(store, &self.typed, as_nickname) {
                    Ok(Some(_)) => {}
                    Ok(None) => self.problem = Some(words::t(self.lang, "type_first").into()),
                    Err(e) => self.problem = Some(words::problem(e, self.lang)),
                }
            }
            Event::ShowSeeAgain => self.screen = Screen::SeeAgain,
            Event::OpenPerson { id } => {
                // The same person's screen again keeps what its forms hold.
                if !matches!(&self.screen, Screen::Person(forms) if forms.person == id) {
                    self.screen = Screen::Person(person_forms::Forms::new(id));
                }
            }
            Event::EditPerson { edit } => {
                if let Screen::Person(forms) = &self.screen {
                    if let Err(e) = person::apply(store, forms.person, edit) {
                        self.problem = Some(words::problem(e, self.lang));
                    }
                }
            }
            Event::NewEncounter { person } => {
                self.screen = Screen::Encounter(encounter::Draft::new(person))
            }
            Event::EncounterCustom { name, value } => {
                if let Screen::Encounter(draft) = &mut self.screen {
                    if let Err(e) = draft.set_custom(store, &name, &value) {
                        self.problem = Some(words::problem(e, self.lang));
                    }
                }
            }
            Event::Save => {
                if let Screen::Encounter(draft) = &self.screen {
                    match draft.save(store) {
                        Ok(Some(_)) => {
                            // Back to the whole list, the persons just met first: the search
                            // that led to the form is done with.
                            self.screen = Screen::Search;
                            self.typed.clear();
                            self.notice = Some(words::t(self.lang, "saved").into());
                        }
                        Ok(None) => self.problem = Some(words::t(self.lang, "nobody_met").into()),
                        Err(e) => self.problem = Some(words::problem(e, self.lang)),
                    }
                }
            }
            // The sync screen, joining a team and the worker using a shared phone.
            Event::ShowSync => self.screen = Screen::Sync,
            Event::SyncFinished { outcome } => {
                self.followed = None;
                self.sync_finished(store, &outcome)
            }
            Event::ShowJoin => self.screen = Screen::Join,
            Event::JoinCode { text } => {
                self.screen = Screen::Join;
                self.join_code = text;
            }
            Event::JoinLater => {
                self.join_later = true;
                self.screen = Screen::Search;
            }
            Event::JoinFinished { error } => {
                self.followed = None;
                self.join_finished(error)
            }
            Event::ShowWorkers => self.screen = Screen::Workers,
            Event::ChooseWorker { name } if name.trim().is_empty() => {
                self.screen = Screen::Workers;
                self.problem = Some(words::t(self.lang, "type_worker").into());
            }
            Event::ChooseWorker { name } => match store.set_worker(&name) {
                Ok(()) => {
                    self.screen = Screen::Search;
                    self.notice = Some(words::now_using(&store.worker(), self.lang));
                }
                Err(e) => {
                    self.screen = Screen::Workers;
                    self.problem = Some(words::problem(e, self.lang));
                }
            },
            form => match (&mut self.screen, person_form(form)) {
                (Screen::Person(forms), Ok(event)) => {
                    self.problem = person_forms::apply(store, forms, event, self.lang);
                }
                (Screen::Encounter(draft), Err(form)) => edit(draft, form),
                _ => {}
            },
        }
        self.keep_draft(store);
        self.render(store)
    }

    /// Back to the form kept in the store, if one was being typed; else the first screen. A
    /// draft that cannot be read back is dropped, and the search screen says so.
    fn restore(&mut self, store: &Store) {
        self.screen = Screen::Search;
        match draft::find(store) {
            Ok(draft::Found::Form(screen, bytes)) => {
                self.screen = *screen;
                self.kept = draft::Kept::Bytes(bytes);
            }
            Ok(draft::Found::Nothing) => self.kept = draft::Kept::Nothing,
            Ok(draft::Found::Unreadable) => {
                self.kept = draft::Kept::Nothing;
                self.notice = Some(words::t(self.lang, "draft_dropped").into());
            }
            Err(e) => self.problem = Some(words::problem(e, self.lang)),
        }
    }

    /// Writes the form being typed to the store when it changed (drops it when there is none).
    fn keep_draft(&mut self, store: &Store) {
        if let Err(e) = draft::keep(store, &self.screen, &mut self.kept) {
            self.problem = Some(words::problem(e, self.lang));
        }
    }

    // The sync screen, joining a team and the worker using a shared phone.

    /// The first screen: joining a team for a phone in none (unless the worker chose to go on
    /// without one), else finding a person, with a background sync's outcome said once.
    fn start(&mut self, store: &Store) {
        self.followed = None;
        let enrolled = store.membership().map(|m| m.is_some()).unwrap_or(true);
        if !enrolled && !self.join_later {
            self.screen = Screen::Join;
            return;
        }
        self.screen = Screen::Search;
        // A store that cannot say it has nothing to say: the search screen tells its problem.
        self.sync_news = sync::background_news(store, self.lang).ok().flatten();
    }

    fn sync_finished(&mut self, store: &Store, outcome: &SyncOutcome) {
        // Said now: the first screen will not mention it again.
        let _ = store.mark_sync_seen();
        let (notice, problem) = sync::finished(outcome, self.lang);
        if matches!(self.screen, Screen::Search | Screen::Sync) {
            self.notice = notice;
        }
        self.problem = problem;
    }

    fn join_finished(&mut self, error: Option<ApiError>) {
        match error {
            None => {
                self.screen = Screen::Search;
                self.notice =
                    join::team_name(&self.join_code).map(|n| words::joined(&n, self.lang));
                self.join_code.clear();
            }
            Some(e) => {
                self.screen = Screen::Join;
                self.problem = Some(join::failure(e, self.lang));
            }
        }
    }

    /// The invite code to join with, when the join screen holds one that reads and the phone
    /// is in no team yet: the bindings then ask the relay, and send `JoinFinished`.
    pub fn code_to_join(&self, store: &Store) -> Option<String> {
        (matches!(self.screen, Screen::Join)
            && join::can_join(store, &self.join_code).unwrap_or(false))
        .then(|| self.join_code.clone())
    }

    /// The screen to show now (what the store holds changed since: a sync ran).
    pub fn view(&mut self, store: &Store) -> View {
        self.followed = None;
        self.render(store)
    }

    fn render(&mut self, store: &Store) -> View {
        let problem = self.problem.take();
        if !matches!(&self.screen, Screen::Person(forms) if Some(forms.person) == self.logged) {
            self.logged = None;
        }
        let built: Result<View> = match &self.screen {
            Screen::Search => {
                let notice = self.notice.take();
                let sync_news = self.sync_news.take();
                search::view(store, &self.typed, &mut self.followed, self.lang).map(|mut v| {
                    v.problem = problem.clone().or(v.problem);
                    v.notice = notice;
                    v.sync_news = sync_news;
                    View::Search(v)
                })
            }
            Screen::SeeAgain => {
                see_again::view(store, self.not_seen_days, self.lang).map(|mut v| {
                    v.problem = problem.clone().or(v.problem);
                    View::SeeAgain(v)
                })
            }
            Screen::Encounter(draft) => encounter::view(store, draft, self.lang).map(|mut v| {
                v.problem = problem.clone();
                View::Encounter(v)
            }),
            Screen::Person(forms) => {
                let opened = self.logged != Some(forms.person);
                person::view(store, forms, opened, self.lang).map(|mut v| {
                    v.problem = problem.clone();
                    self.logged = Some(v.id);
                    View::Person(v)
                })
            }
            // The sync screen, joining a team and the worker using a shared phone.
            Screen::Sync => {
                let notice = self.notice.take();
                sync::view(store, self.lang).map(|mut v| {
                    v.notice = notice;
                    v.problem = problem.clone();
                    View::Sync(v)
                })
            }
            Screen::Join => join::view(store, &self.join_code, self.lang).map(|mut v| {
                v.problem = problem.clone().or(v.problem);
                View::Join(v)
            }),
            Screen::Workers => worker::view(store, self.lang).map(|mut v| {
                v.problem = problem.clone();
                View::Workers(v)
            }),
        };
        built.unwrap_or_else(|e| {
            // The store could not be read (or the person is gone, erased since): the search
            // screen says so, with nothing else (a form that cannot be shown is dropped).
            self.screen = Screen::Search;
            self.keep_draft(store);
            View::Search(SearchView {
                query: self.typed.clone(),
                problem: Some(words::problem(e, self.lang)),
                ..SearchView::empty(self.lang)
            })
        })
    }
}

/// The event of a person's forms, or the event given back when it is not one.
fn person_form(event: Event) -> std::result::Result<person_forms::FormEvent, Event> {
    use person_forms::FormEvent as F;
    Ok(match event {
        Event::ActionTitle { text } => F::ActionTitle(text),
        Event::ActionCategory { code } => F::ActionCategory(code),
        Event::ActionDue { text } => F::ActionDue(text),
        Event::AddAction => F::AddAction,
        Event::ClearAction => F::ClearAction,
        Event::ReferralTarget { code } => F::ReferralTarget(code),
        Event::ReferralName { text } => F::ReferralName(text),
        Event::ReferralDate { text } => F::ReferralDate(text),
        Event::AddReferral => F::AddReferral,
        Event::ClearReferral => F::ClearReferral,
        Event::CompleteAction { id, comment } => F::CompleteAction { id, comment },
        other => return Err(other),
    })
}

/// Applies an edit of the encounter form to its draft.
fn edit(draft: &mut encounter::Draft, event: Event) {
    match event {
        Event::SearchPerson { text } => draft.search = text,
        Event::AddPerson { id } => {
            if !draft.persons.contains(&id) {
                draft.persons.push(id);
            }
            draft.search.clear();
        }
        Event::RemovePerson { id } => draft.persons.retain(|p| *p != id),
        Event::Anonymous { delta } => {
            draft.anonymous = draft
                .anonymous
                .saturating_add(delta.clamp(-1, 1))
                .clamp(0, 999)
        }
        Event::ToggleService { code } if !draft.services.remove(&code) => {
            draft.services.insert(code);
        }
        Event::Place { text } => draft.place = text,
        Event::Coordinates {
            latitude,
            longitude,
        } => {
            let valid = (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude);
            draft.coordinates = valid.then_some((latitude, longitude));
        }
        Event::Kind { code } => draft.kind = code,
        Event::Notes { text } => draft.notes = text,
        Event::FollowUp { needed } => draft.follow_up = needed,
        _ => {}
    }
}
