//! The field app through uniffi: a `FieldApp` over a `Store`, events in, view models out, each a
//! mirror of the core's (`allervers_core::field`). The shells render the views and send the
//! events; nothing is decided here.

use std::sync::{Arc, Mutex};

use allervers_core as core;
use core::field as app;

use crate::{FfiError, Http, HttpExchange, Result, Store};

/// What the worker did.
#[derive(uniffi::Enum)]
pub enum FieldEvent {
    /// The app opened (or came back to the foreground).
    Start,
    /// The search box now holds `text`.
    Search {
        text: String,
    },
    /// Create a person from what was typed, as their name or as their nickname.
    Create {
        as_nickname: bool,
    },
    ShowSeeAgain,
    ShowSearch,
    /// Open a person's screen (an id); its reading is logged.
    OpenPerson {
        id: String,
    },
    /// On a person's screen: what changed in the street, written at once.
    EditPerson {
        edit: FieldStreetEdit,
    },
    /// Open the encounter form, with this person (an id) met when given.
    NewEncounter {
        person: Option<String>,
    },
    SearchPerson {
        text: String,
    },
    AddPerson {
        id: String,
    },
    RemovePerson {
        id: String,
    },
    /// One more anonymous person (1) or one fewer (-1).
    Anonymous {
        delta: i64,
    },
    ToggleService {
        code: String,
    },
    Place {
        text: String,
    },
    /// Where the phone is, when the worker allows it.
    Coordinates {
        latitude: f64,
        longitude: f64,
    },
    Kind {
        code: String,
    },
    Notes {
        text: String,
    },
    FollowUp {
        needed: bool,
    },
    /// On the encounter form: one of the organisation's fields of encounters as typed or
    /// chosen (a code of a several-choices field added, or taken off when chosen).
    EncounterCustom {
        name: String,
        value: String,
    },
    Save,

    // A person's follow-ups and referrals, added from their screen.
    /// The follow-up form: its title, its category (a code of the list), its due day
    /// (`YYYY-MM-DD`, or empty), as typed.
    ActionTitle {
        text: String,
    },
    ActionCategory {
        code: String,
    },
    ActionDue {
        text: String,
    },
    /// Add the follow-up the form holds.
    AddAction,
    /// Empty the follow-up form.
    ClearAction,
    /// The referral form: where to (a code of the list), the service's name, the day
    /// (`YYYY-MM-DD`, today when empty), as typed.
    ReferralTarget {
        code: String,
    },
    ReferralName {
        text: String,
    },
    ReferralDate {
        text: String,
    },
    /// Add the referral the form holds.
    AddReferral,
    /// Empty the referral form.
    ClearReferral,
    /// Mark one of the person's open follow-ups (an id) done, with a comment (empty: none).
    CompleteAction {
        id: String,
        comment: String,
    },
    // The sync screen, joining a team and the worker using a shared phone. A sync and joining
    // need the network: they are `FieldApp::sync` and `FieldApp::join`, not events.
    ShowSync,
    ShowJoin,
    /// On the join screen: the code box now holds `text` (typed, or scanned whole).
    JoinCode {
        text: String,
    },
    /// Go on without a team for now (offline).
    JoinLater,
    /// Show who may be using the phone.
    ShowWorkers,
    /// This worker uses the phone from now on (one of the list, or a name typed).
    ChooseWorker {
        name: String,
    },
}

/// What changes in the street, edited from a person's screen.
#[derive(uniffi::Enum)]
pub enum FieldStreetEdit {
    Situation {
        code: String,
    },
    /// A need added, or taken off when the person has it.
    Need {
        code: String,
    },
    Alert {
        code: String,
    },
    /// As typed, saved when the worker leaves the field (empty clears it).
    Description {
        text: String,
    },
    Phone {
        text: String,
    },
    ConsentRecord {
        given: bool,
    },
    /// One of the organisation's fields: a text box's text (empty clears it), a choice's code,
    /// `yes` or `no`; a code of a `choices` field is added, or taken off when held.
    Custom {
        name: String,
        value: String,
    },
}

impl From<FieldStreetEdit> for app::StreetEdit {
    fn from(e: FieldStreetEdit) -> Self {
        match e {
            FieldStreetEdit::Situation { code } => app::StreetEdit::Situation(code),
            FieldStreetEdit::Need { code } => app::StreetEdit::Need(code),
            FieldStreetEdit::Alert { code } => app::StreetEdit::Alert(code),
            FieldStreetEdit::Description { text } => app::StreetEdit::Description(text),
            FieldStreetEdit::Phone { text } => app::StreetEdit::Phone(text),
            FieldStreetEdit::ConsentRecord { given } => app::StreetEdit::ConsentRecord(given),
            FieldStreetEdit::Custom { name, value } => app::StreetEdit::Custom(name, value),
        }
    }
}

fn record(text: &str) -> Result<core::RecordId> {
    text.parse().map_err(|_| FfiError::InvalidInput {
        field: "id".into(),
        reason: "is not a record id".into(),
    })
}

impl TryFrom<FieldEvent> for app::Event {
    type Error = FfiError;

    fn try_from(e: FieldEvent) -> Result<Self> {
        Ok(match e {
            FieldEvent::Start => app::Event::Start,
            FieldEvent::Search { text } => app::Event::Search { text },
            FieldEvent::Create { as_nickname } => app::Event::Create { as_nickname },
            FieldEvent::ShowSeeAgain => app::Event::ShowSeeAgain,
            FieldEvent::ShowSearch => app::Event::ShowSearch,
            FieldEvent::OpenPerson { id } => app::Event::OpenPerson { id: record(&id)? },
            FieldEvent::EditPerson { edit } => app::Event::EditPerson { edit: edit.into() },
            FieldEvent::NewEncounter { person } => app::Event::NewEncounter {
                person: person.as_deref().map(record).transpose()?,
            },
            FieldEvent::SearchPerson { text } => app::Event::SearchPerson { text },
            FieldEvent::AddPerson { id } => app::Event::AddPerson { id: record(&id)? },
            FieldEvent::RemovePerson { id } => app::Event::RemovePerson { id: record(&id)? },
            FieldEvent::Anonymous { delta } => app::Event::Anonymous { delta },
            FieldEvent::ToggleService { code } => app::Event::ToggleService { code },
            FieldEvent::Place { text } => app::Event::Place { text },
            FieldEvent::Coordinates {
                latitude,
                longitude,
            } => app::Event::Coordinates {
                latitude,
                longitude,
            },
            FieldEvent::Kind { code } => app::Event::Kind { code },
            FieldEvent::Notes { text } => app::Event::Notes { text },
            FieldEvent::FollowUp { needed } => app::Event::FollowUp { needed },
            FieldEvent::EncounterCustom { name, value } => {
                app::Event::EncounterCustom { name, value }
            }
            FieldEvent::Save => app::Event::Save,
            FieldEvent::ActionTitle { text } => app::Event::ActionTitle { text },
            FieldEvent::ActionCategory { code } => app::Event::ActionCategory { code },
            FieldEvent::ActionDue { text } => app::Event::ActionDue { text },
            FieldEvent::AddAction => app::Event::AddAction,
            FieldEvent::ClearAction => app::Event::ClearAction,
            FieldEvent::ReferralTarget { code } => app::Event::ReferralTarget { code },
            FieldEvent::ReferralName { text } => app::Event::ReferralName { text },
            FieldEvent::ReferralDate { text } => app::Event::ReferralDate { text },
            FieldEvent::AddReferral => app::Event::AddReferral,
            FieldEvent::ClearReferral => app::Event::ClearReferral,
            FieldEvent::CompleteAction { id, comment } => app::Event::CompleteAction {
                id: record(&id)?,
                comment,
            },
            // The sync screen, joining a team and the worker using a shared phone.
            FieldEvent::ShowSync => app::Event::ShowSync,
            FieldEvent::ShowJoin => app::Event::ShowJoin,
            FieldEvent::JoinCode { text } => app::Event::JoinCode { text },
            FieldEvent::JoinLater => app::Event::JoinLater,
            FieldEvent::ShowWorkers => app::Event::ShowWorkers,
            FieldEvent::ChooseWorker { name } => app::Event::ChooseWorker { name },
        })
    }
}

/// One person in a list.
#[derive(uniffi::Record)]
pub struct FieldPersonRow {
    pub id: String,
    pub title: String,
    pub detail: String,
    pub last_seen: String,
    pub alert: Option<String>,
}

impl From<app::PersonRow> for FieldPersonRow {
    fn from(r: app::PersonRow) -> Self {
        FieldPersonRow {
            id: r.id.to_string(),
            title: r.title,
            detail: r.detail,
            last_seen: r.last_seen,
            alert: r.alert,
        }
    }
}

fn rows(rows: Vec<app::PersonRow>) -> Vec<FieldPersonRow> {
    rows.into_iter().map(Into::into).collect()
}

/// The offer to create a person from what was typed.
#[derive(uniffi::Record)]
pub struct FieldCreateOffer {
    pub label: String,
    pub as_name: String,
    pub as_nickname: String,
}

/// The find-or-create screen.
#[derive(uniffi::Record)]
pub struct FieldSearchView {
    pub title: String,
    pub hint: String,
    pub query: String,
    pub followed: String,
    pub duplicates_title: String,
    pub duplicates: Vec<FieldPersonRow>,
    pub rows: Vec<FieldPersonRow>,
    pub empty: Option<String>,
    pub create: Option<FieldCreateOffer>,
    pub notice: Option<String>,
    pub pending_changes: u64,
    pub problem: Option<String>,
    // Who uses the phone and its sync.
    pub worker: String,
    pub change_worker: String,
    pub sync_label: String,
    /// What the phone's own sync came to while the app was closed, said once on opening.
    pub sync_news: Option<String>,
    pub see_again_label: String,
    pub new_encounter_label: String,
}

/// One of a list's choices (a service, a kind), labelled.
#[derive(uniffi::Record)]
pub struct FieldChoice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

fn choices(list: Vec<app::Choice>) -> Vec<FieldChoice> {
    list.into_iter()
        .map(|c| FieldChoice {
            code: c.code,
            label: c.label,
            selected: c.selected,
        })
        .collect()
}

/// A person named in an encounter.
#[derive(uniffi::Record)]
pub struct FieldNamed {
    pub id: String,
    pub title: String,
}

/// The encounter form.
#[derive(uniffi::Record)]
pub struct FieldEncounterView {
    pub title: String,
    pub persons: Vec<FieldNamed>,
    pub search: String,
    pub found: Vec<FieldPersonRow>,
    pub anonymous: i64,
    pub anonymous_label: String,
    pub can_decrease: bool,
    pub services: Vec<FieldChoice>,
    pub place: String,
    pub recent_places: Vec<String>,
    pub located: bool,
    pub kinds: Vec<FieldChoice>,
    pub notes: String,
    pub follow_up: bool,
    /// The organisation's own fields of encounters.
    pub custom_title: String,
    pub custom: Vec<FieldCustomControl>,
    pub can_save: bool,
    pub problem: Option<String>,
    // The controls' labels, shown or read aloud.
    pub back_label: String,
    pub save_label: String,
    pub fewer_label: String,
    pub more_label: String,
    pub remove_label: String,
    pub search_label: String,
    pub services_label: String,
    pub place_label: String,
    pub kind_label: String,
    pub notes_label: String,
    pub follow_up_label: String,
}

/// One thing known about a person, labelled.
#[derive(uniffi::Record)]
pub struct FieldFact {
    pub label: String,
    pub value: String,
}

/// A follow-up still to do.
#[derive(uniffi::Record)]
pub struct FieldOpenAction {
    pub id: String,
    pub title: String,
    pub due: Option<String>,
    pub overdue: bool,
}

/// One period of a person's housing journey, in words.
#[derive(uniffi::Record)]
pub struct FieldJourneyRow {
    pub situation: String,
    pub days: String,
    pub place: String,
    pub current: bool,
}

/// One entry of a person's timeline, in words.
#[derive(uniffi::Record)]
pub struct FieldTimelineRow {
    pub when: String,
    pub who: String,
    pub what: String,
    pub detail: String,
    pub clock_off: bool,
}

/// One of the organisation's fields on a person's screen: a text box (`text`, `number`,
/// `date`) or labelled choices (`yes_no`, `choice`, `choices`).
#[derive(uniffi::Record)]
pub struct FieldCustomControl {
    pub name: String,
    pub label: String,
    /// Empty for a value whose field this phone holds no definition of (shown, not edited).
    pub field_type: String,
    /// The value as kept (what a text box shows).
    pub value: String,
    /// The value as read (choices by their labels).
    pub shown: String,
    pub choices: Vec<FieldChoice>,
    pub editable: bool,
    /// What is wrong with the value held, in one sentence.
    pub problem: Option<String>,
}

impl From<app::CustomControl> for FieldCustomControl {
    fn from(c: app::CustomControl) -> Self {
        FieldCustomControl {
            name: c.name,
            label: c.label,
            field_type: c.field_type,
            value: c.value,
            shown: c.shown,
            choices: choices(c.choices),
            editable: c.editable,
            problem: c.problem,
        }
    }
}

/// A person's screen.
#[derive(uniffi::Record)]
pub struct FieldPersonView {
    pub id: String,
    pub title: String,
    pub subtitle: String,
    pub facts: Vec<FieldFact>,
    pub actions_title: String,
    pub actions: Vec<FieldOpenAction>,
    pub conflicts_title: String,
    pub conflicts: Vec<String>,
    pub timeline_title: String,
    pub timeline: Vec<FieldTimelineRow>,
    pub situations: Vec<FieldChoice>,
    pub needs: Vec<FieldChoice>,
    pub alerts: Vec<FieldChoice>,
    pub description: String,
    pub phone: String,
    pub consent_record: Option<bool>,
    /// The organisation's own fields of persons.
    pub custom_title: String,
    pub custom: Vec<FieldCustomControl>,
    pub problem: Option<String>,
    /// The "done" button of each open follow-up, and its comment's placeholder.
    pub done: String,
    pub done_comment_hint: String,
    pub action_form: FieldActionForm,
    pub referral_form: FieldReferralForm,
    pub referrals_title: String,
    pub referrals: Vec<FieldReferralRow>,
    /// The housing journey, the earliest period first.
    pub journey_title: String,
    pub journey: Vec<FieldJourneyRow>,
    // The controls' labels, shown or read aloud.
    pub back_label: String,
    pub new_encounter_label: String,
    pub situations_label: String,
    pub needs_label: String,
    pub alerts_label: String,
    pub overdue_label: String,
    pub clock_off_label: String,
}

/// The form that adds a follow-up on a person's screen.
#[derive(uniffi::Record)]
pub struct FieldActionForm {
    pub heading: String,
    pub title: String,
    pub title_hint: String,
    pub categories: Vec<FieldChoice>,
    pub due: String,
    pub due_hint: String,
    pub add: String,
    pub can_add: bool,
    pub clear: String,
    pub can_clear: bool,
}

impl From<app::ActionForm> for FieldActionForm {
    fn from(f: app::ActionForm) -> Self {
        FieldActionForm {
            heading: f.heading,
            title: f.title,
            title_hint: f.title_hint,
            categories: choices(f.categories),
            due: f.due,
            due_hint: f.due_hint,
            add: f.add,
            can_add: f.can_add,
            clear: f.clear,
            can_clear: f.can_clear,
        }
    }
}

/// The form that adds a referral on a person's screen.
#[derive(uniffi::Record)]
pub struct FieldReferralForm {
    pub heading: String,
    pub targets: Vec<FieldChoice>,
    pub target_name: String,
    pub target_name_hint: String,
    pub date: String,
    pub date_hint: String,
    pub add: String,
    pub can_add: bool,
    pub clear: String,
    pub can_clear: bool,
}

impl From<app::ReferralForm> for FieldReferralForm {
    fn from(f: app::ReferralForm) -> Self {
        FieldReferralForm {
            heading: f.heading,
            targets: choices(f.targets),
            target_name: f.target_name,
            target_name_hint: f.target_name_hint,
            date: f.date,
            date_hint: f.date_hint,
            add: f.add,
            can_add: f.can_add,
            clear: f.clear,
            can_clear: f.can_clear,
        }
    }
}

/// A referral of a person, labelled.
#[derive(uniffi::Record)]
pub struct FieldReferralRow {
    pub id: String,
    pub target: String,
    pub target_name: Option<String>,
    pub date: Option<String>,
    pub status: String,
}

impl From<app::ReferralRow> for FieldReferralRow {
    fn from(r: app::ReferralRow) -> Self {
        FieldReferralRow {
            id: r.id.to_string(),
            target: r.target,
            target_name: r.target_name,
            date: r.date,
            status: r.status,
        }
    }
}

/// A section of the *to see again* screen.
#[derive(uniffi::Record)]
pub struct FieldSeeAgainSection {
    pub title: String,
    pub rows: Vec<FieldPersonRow>,
}

/// The *to see again* screen.
#[derive(uniffi::Record)]
pub struct FieldSeeAgainView {
    pub title: String,
    pub sections: Vec<FieldSeeAgainSection>,
    pub empty: Option<String>,
    pub problem: Option<String>,
    pub back_label: String,
}

// The sync screen, joining a team and the worker using a shared phone.

/// The sync screen.
#[derive(uniffi::Record)]
pub struct FieldSyncView {
    pub title: String,
    pub pending_changes: u64,
    pub pending: String,
    pub last_success: String,
    pub last_failure: Option<String>,
    pub enrolled: bool,
    pub sync_label: String,
    pub join_label: Option<String>,
    pub notice: Option<String>,
    pub problem: Option<String>,
    pub back_label: String,
}

/// The join screen.
#[derive(uniffi::Record)]
pub struct FieldJoinView {
    pub title: String,
    pub explain: String,
    pub hint: String,
    pub code: String,
    pub valid: bool,
    pub team: Option<String>,
    pub wrong: Option<String>,
    pub can_join: bool,
    pub join_label: String,
    pub scan_label: String,
    pub later_label: String,
    pub problem: Option<String>,
}

/// A worker of the team.
#[derive(uniffi::Record)]
pub struct FieldWorkerRow {
    pub name: String,
    pub current: bool,
}

/// Who is using the phone.
#[derive(uniffi::Record)]
pub struct FieldWorkersView {
    pub title: String,
    pub workers: Vec<FieldWorkerRow>,
    pub current_label: String,
    pub choose_label: String,
    pub other_hint: String,
    pub problem: Option<String>,
    pub back_label: String,
}

/// One screen, ready to render.
// One view is built per event and handed over by value (as the core's `View`).
#[allow(clippy::large_enum_variant)]
#[derive(uniffi::Enum)]
pub enum FieldView {
    Search { view: FieldSearchView },
    SeeAgain { view: FieldSeeAgainView },
    Encounter { view: FieldEncounterView },
    Person { view: FieldPersonView },
    // The sync screen, joining a team and the worker using a shared phone.
    Sync { view: FieldSyncView },
    Join { view: FieldJoinView },
    Workers { view: FieldWorkersView },
}

impl From<app::View> for FieldView {
    fn from(v: app::View) -> Self {
        match v {
            app::View::Search(v) => FieldView::Search {
                view: FieldSearchView {
                    title: v.title,
                    hint: v.hint,
                    query: v.query,
                    followed: v.followed,
                    duplicates_title: v.duplicates_title,
                    duplicates: rows(v.duplicates),
                    rows: rows(v.rows),
                    empty: v.empty,
                    create: v.create.map(|c| FieldCreateOffer {
                        label: c.label,
                        as_name: c.as_name,
                        as_nickname: c.as_nickname,
                    }),
                    notice: v.notice,
                    pending_changes: v.pending_changes,
                    problem: v.problem,
                    worker: v.worker,
                    change_worker: v.change_worker,
                    sync_label: v.sync_label,
                    sync_news: v.sync_news,
                    see_again_label: v.see_again_label,
                    new_encounter_label: v.new_encounter_label,
                },
            },
            app::View::SeeAgain(v) => FieldView::SeeAgain {
                view: FieldSeeAgainView {
                    title: v.title,
                    sections: v
                        .sections
                        .into_iter()
                        .map(|s| FieldSeeAgainSection {
                            title: s.title,
                            rows: rows(s.rows),
                        })
                        .collect(),
                    empty: v.empty,
                    problem: v.problem,
                    back_label: v.back_label,
                },
            },
            app::View::Encounter(v) => FieldView::Encounter {
                view: FieldEncounterView {
                    title: v.title,
                    persons: v
                        .persons
                        .into_iter()
                        .map(|p| FieldNamed {
                            id: p.id.to_string(),
                            title: p.title,
                        })
                        .collect(),
                    search: v.search,
                    found: rows(v.found),
                    anonymous: v.anonymous,
                    anonymous_label: v.anonymous_label,
                    can_decrease: v.can_decrease,
                    services: choices(v.services),
                    place: v.place,
                    recent_places: v.recent_places,
                    located: v.located,
                    kinds: choices(v.kinds),
                    notes: v.notes,
                    follow_up: v.follow_up,
                    custom_title: v.custom_title,
                    custom: v.custom.into_iter().map(Into::into).collect(),
                    can_save: v.can_save,
                    problem: v.problem,
                    back_label: v.back_label,
                    save_label: v.save_label,
                    fewer_label: v.fewer_label,
                    more_label: v.more_label,
                    remove_label: v.remove_label,
                    search_label: v.search_label,
                    services_label: v.services_label,
                    place_label: v.place_label,
                    kind_label: v.kind_label,
                    notes_label: v.notes_label,
                    follow_up_label: v.follow_up_label,
                },
            },
            app::View::Person(v) => FieldView::Person {
                view: FieldPersonView {
                    id: v.id.to_string(),
                    title: v.title,
                    subtitle: v.subtitle,
                    facts: v
                        .facts
                        .into_iter()
                        .map(|f| FieldFact {
                            label: f.label,
                            value: f.value,
                        })
                        .collect(),
                    actions_title: v.actions_title,
                    actions: v
                        .actions
                        .into_iter()
                        .map(|a| FieldOpenAction {
                            id: a.id.to_string(),
                            title: a.title,
                            due: a.due,
                            overdue: a.overdue,
                        })
                        .collect(),
                    conflicts_title: v.conflicts_title,
                    conflicts: v.conflicts,
                    timeline_title: v.timeline_title,
                    timeline: v
                        .timeline
                        .into_iter()
                        .map(|r| FieldTimelineRow {
                            when: r.when,
                            who: r.who,
                            what: r.what,
                            detail: r.detail,
                            clock_off: r.clock_off,
                        })
                        .collect(),
                    situations: choices(v.situations),
                    needs: choices(v.needs),
                    alerts: choices(v.alerts),
                    description: v.description,
                    phone: v.phone,
                    consent_record: v.consent_record,
                    custom_title: v.custom_title,
                    custom: v.custom.into_iter().map(Into::into).collect(),
                    problem: v.problem,
                    done: v.done,
                    done_comment_hint: v.done_comment_hint,
                    action_form: v.action_form.into(),
                    referral_form: v.referral_form.into(),
                    referrals_title: v.referrals_title,
                    referrals: v.referrals.into_iter().map(Into::into).collect(),
                    journey_title: v.journey_title,
                    journey: v
                        .journey
                        .into_iter()
                        .map(|r| FieldJourneyRow {
                            situation: r.situation,
                            days: r.days,
                            place: r.place,
                            current: r.current,
                        })
                        .collect(),
                    back_label: v.back_label,
                    new_encounter_label: v.new_encounter_label,
                    situations_label: v.situations_label,
                    needs_label: v.needs_label,
                    alerts_label: v.alerts_label,
                    overdue_label: v.overdue_label,
                    clock_off_label: v.clock_off_label,
                },
            },
            // The sync screen, joining a team and the worker using a shared phone.
            app::View::Sync(v) => FieldView::Sync {
                view: FieldSyncView {
                    title: v.title,
                    pending_changes: v.pending_changes,
                    pending: v.pending,
                    last_success: v.last_success,
                    last_failure: v.last_failure,
                    enrolled: v.enrolled,
                    sync_label: v.sync_label,
                    join_label: v.join_label,
                    notice: v.notice,
                    problem: v.problem,
                    back_label: v.back_label,
                },
            },
            app::View::Join(v) => FieldView::Join {
                view: FieldJoinView {
                    title: v.title,
                    explain: v.explain,
                    hint: v.hint,
                    code: v.code,
                    valid: v.valid,
                    team: v.team,
                    wrong: v.wrong,
                    can_join: v.can_join,
                    join_label: v.join_label,
                    scan_label: v.scan_label,
                    later_label: v.later_label,
                    problem: v.problem,
                },
            },
            app::View::Workers(v) => FieldView::Workers {
                view: FieldWorkersView {
                    title: v.title,
                    workers: v
                        .workers
                        .into_iter()
                        .map(|w| FieldWorkerRow {
                            name: w.name,
                            current: w.current,
                        })
                        .collect(),
                    current_label: v.current_label,
                    choose_label: v.choose_label,
                    other_hint: v.other_hint,
                    problem: v.problem,
                    back_label: v.back_label,
                },
            },
        }
    }
}

/// The field app of one store: its screens' state between events.
#[derive(uniffi::Object)]
pub struct FieldApp {
    store: Arc<Store>,
    app: Mutex<app::FieldApp>,
}

#[uniffi::export]
impl FieldApp {
    /// The app over `store`, its words in `lang` (`fr` or `en`), persons not met for
    /// `not_seen_days` days listed to see again (the organisation's choice; 14 by default).
    #[uniffi::constructor]
    pub fn new(store: Arc<Store>, lang: String, not_seen_days: Option<u32>) -> Result<Arc<Self>> {
        let lang = match lang.as_str() {
            "fr" => core::vocab::Lang::Fr,
            "en" => core::vocab::Lang::En,
            _ => {
                return Err(FfiError::InvalidInput {
                    field: "lang".into(),
                    reason: "is fr or en".into(),
                })
            }
        };
        let app = app::FieldApp::new(lang)
            .with_not_seen_days(not_seen_days.unwrap_or(app::DEFAULT_NOT_SEEN_DAYS));
        Ok(Arc::new(FieldApp {
            store,
            app: Mutex::new(app),
        }))
    }

    /// Applies what the worker did and returns the screen to show (a refused action is in the
    /// view's problem, in one sentence).
    pub fn send(&self, event: FieldEvent) -> Result<FieldView> {
        let event = app::Event::try_from(event)?;
        self.with(|app, store| app.update(store, event))
    }

    /// The screen to show now (after a sync, for instance).
    pub fn view(&self) -> Result<FieldView> {
        self.with(|app, store| app.view(store))
    }

    // The sync screen, joining a team and the worker using a shared phone.

    /// Syncs now (the worker asked for it) and returns the screen to show, with what the sync
    /// came to said once (the store recorded it too, as it records a background sync).
    /// `exchange`: the shell's HTTP stack, or none for the built-in client (plain HTTP only).
    /// A phone a coordinator removed gets `FfiError::Wiped`, as from `Store::sync`.
    pub fn sync(&self, exchange: Option<Arc<dyn HttpExchange>>) -> Result<FieldView> {
        let result = unwound(|| self.store.run_sync(exchange))?;
        if let Err(core::CoreError::Wiped) = result {
            return Err(FfiError::Wiped);
        }
        let outcome = core::SyncOutcome::of(&result, self.store.core().now());
        self.with(|app, store| app.update(store, app::Event::SyncFinished { outcome }))
    }

    /// Joins the team of an invite code (typed, or scanned whole) and returns the screen to
    /// show: the first screen once joined, else the join screen saying what is wrong in one
    /// sentence. A code that does not read asks nothing of the relay.
    pub fn join(&self, code: String, exchange: Option<Arc<dyn HttpExchange>>) -> Result<FieldView> {
        let (typed, to_join) = self.locked(|app, store| {
            let view = app.update(store, app::Event::JoinCode { text: code });
            (view, app.code_to_join(store))
        })?;
        let Some(code) = to_join else {
            return Ok(typed.into());
        };
        let joined = unwound(|| {
            allervers_client::join(self.store.core(), &Http::from(exchange), &code).map(|_| ())
        })?;
        let error = joined.err().map(core::ApiError::from);
        self.with(|app, store| app.update(store, app::Event::JoinFinished { error }))
    }
}

/// Runs `f`, turning a panic into an error instead of unwinding across FFI.
fn unwound<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| FfiError::Internal {
        detail: "the core failed unexpectedly".into(),
    })
}

impl FieldApp {
    fn with(
        &self,
        f: impl FnOnce(&mut app::FieldApp, &core::Store) -> app::View,
    ) -> Result<FieldView> {
        self.locked(f).map(Into::into)
    }

    /// Runs `f` on the app's state and the store, the app locked.
    fn locked<T>(&self, f: impl FnOnce(&mut app::FieldApp, &core::Store) -> T) -> Result<T> {
        unwound(|| {
            let mut app = self
                .app
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut app, self.store.core())
        })
    }
}
