//! Joining a team from the invite code a coordinator handed over, typed or scanned: the code as
//! typed, whether it reads as an invite (with the existing parser, `Invite::from_code`), the
//! team it opens, what is wrong in one sentence, and whether joining can be asked for. The
//! joining itself (a request to the relay) is done by the shell's side (the bindings), which
//! sends `Event::JoinFinished` with what it came to.

use serde::Serialize;

use super::words::{self, t};
use crate::vocab::Lang;
use crate::{ApiError, Invite, Result, Store};

/// The join screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JoinView {
    pub title: String,
    /// What to do, in one sentence.
    pub explain: String,
    /// The box's placeholder.
    pub hint: String,
    /// The code as typed or scanned.
    pub code: String,
    /// Whether it reads as an invite code.
    pub valid: bool,
    /// The team it opens ("Équipe « Maraude nord »"), once it reads.
    pub team: Option<String>,
    /// What is wrong with what was typed, in one sentence (nothing while the box is empty).
    pub wrong: Option<String>,
    pub can_join: bool,
    pub join_label: String,
    pub scan_label: String,
    /// Going on without a team (offline), to join later from the sync screen.
    pub later_label: String,
    /// Why joining failed, in one sentence.
    pub problem: Option<String>,
}

/// What was typed, read: the team's name, or what is wrong with it.
fn read(code: &str, lang: Lang) -> std::result::Result<Option<String>, String> {
    if code.trim().is_empty() {
        return Ok(None);
    }
    if Invite::is_older_code(code) {
        return Err(t(lang, "code_old").into());
    }
    Invite::from_code(code)
        .map(|i| Some(i.name))
        .map_err(|_| t(lang, "code_mistyped").into())
}

pub(super) fn view(store: &Store, code: &str, lang: Lang) -> Result<JoinView> {
    let enrolled = store.membership()?.is_some();
    let read = read(code, lang);
    let team = read.as_ref().ok().cloned().flatten();
    Ok(JoinView {
        title: t(lang, "join_title").into(),
        explain: t(lang, "join_explain").into(),
        hint: t(lang, "join_hint").into(),
        code: code.to_string(),
        valid: team.is_some(),
        can_join: team.is_some() && !enrolled,
        team: team.map(|name| words::team(&name, lang)),
        wrong: read.err(),
        join_label: t(lang, "join_button").into(),
        scan_label: t(lang, "scan").into(),
        later_label: t(lang, "join_later").into(),
        problem: enrolled.then(|| t(lang, "already_in_team").to_string()),
    })
}

/// Whether joining with `code` can be asked for (it reads, and the phone is in no team yet).
pub(super) fn can_join(store: &Store, code: &str) -> Result<bool> {
    Ok(store.membership()?.is_none() && Invite::from_code(code).is_ok())
}

/// Why joining failed, in one sentence: the relay's refusal of the code, no network, or the
/// problem said as everywhere else.
pub(super) fn failure(e: ApiError, lang: Lang) -> String {
    match e {
        ApiError::RelayUnreachable { .. } => t(lang, "join_no_network").into(),
        ApiError::RelayRefused {
            status: 403 | 404 | 409 | 410,
            ..
        } => t(lang, "code_refused").into(),
        ApiError::InvalidInput { ref field, .. } if field == "invite code" => {
            t(lang, "code_mistyped").into()
        }
        other => words::api_problem(other, lang),
    }
}

/// The team's name an invite code opens, for the notice once joined.
pub(super) fn team_name(code: &str) -> Option<String> {
    Invite::from_code(code).ok().map(|i| i.name)
}
