//! The sync screen: the changes waiting on the phone, the last successful sync ("il y a
//! 5 min"), the last failed one said in one sentence when it came after it, and whether a sync
//! can be asked for (the phone belongs to a team). What it reads was recorded in the store by
//! every sync, the worker's or the phone's background one (`Store::sync_status`); the outcome
//! of a background sync is said once on the next first screen (`background_news`).

use serde::Serialize;

use super::words::{self, t};
use crate::vocab::Lang;
use crate::{Result, Store, SyncOutcome};

/// The sync screen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncView {
    pub title: String,
    /// Changes written on this phone that have not reached the relay yet.
    pub pending_changes: u64,
    /// The same, in words ("3 changements attendent d'être envoyés.").
    pub pending: String,
    /// When the last sync succeeded, in words, or that none ever did.
    pub last_success: String,
    /// The last failed sync in one sentence, when it came after the last success.
    pub last_failure: Option<String>,
    /// Whether the phone belongs to a team (a sync can be asked for); otherwise joining is
    /// offered.
    pub enrolled: bool,
    pub sync_label: String,
    /// Offered when the phone belongs to no team.
    pub join_label: Option<String>,
    /// What the sync just done came to, once.
    pub notice: Option<String>,
    pub problem: Option<String>,
    /// The button back to the search.
    pub back_label: String,
}

pub(super) fn view(store: &Store, lang: Lang) -> Result<SyncView> {
    let now = store.now();
    let status = store.sync_status()?;
    let enrolled = store.membership()?.is_some();
    let pending_changes = if enrolled {
        store.pending_changes()?
    } else {
        0
    };
    let last_success = match &status.last_success {
        Some(ok) => words::last_success(&words::ago(ok.at, now, lang), lang),
        None => t(lang, "never_synced").to_string(),
    };
    let last_failure = status
        .last_failure
        .as_ref()
        .filter(|f| status.last_success.as_ref().is_none_or(|ok| f.at >= ok.at))
        .and_then(|f| {
            f.failure
                .as_ref()
                .map(|why| words::failed(&words::ago(f.at, now, lang), why, lang))
        });
    Ok(SyncView {
        title: t(lang, "sync_title").into(),
        pending_changes,
        // A phone in no team sends nothing: its changes are not "all sent".
        pending: if enrolled {
            words::pending(pending_changes, lang)
        } else {
            t(lang, "kept_here").to_string()
        },
        last_success,
        last_failure,
        enrolled,
        sync_label: t(lang, "sync_now").into(),
        join_label: (!enrolled).then(|| t(lang, "join_button").to_string()),
        notice: None,
        problem: None,
        back_label: t(lang, "back").into(),
    })
}

/// What a sync the worker asked for came to, in one sentence: the notice of a success, or the
/// problem of a failure.
pub(super) fn finished(outcome: &SyncOutcome, lang: Lang) -> (Option<String>, Option<String>) {
    match &outcome.failure {
        None => (
            Some(words::synced(outcome.sent, outcome.received, lang)),
            None,
        ),
        Some(why) => (
            None,
            Some(words::failed(
                &words::ago(outcome.at, outcome.at, lang),
                why,
                lang,
            )),
        ),
    }
}

/// The outcome of a sync the worker has not seen (the phone's background one), said once:
/// marked as seen when read.
pub(super) fn background_news(store: &Store, lang: Lang) -> Result<Option<String>> {
    let Some(outcome) = store.sync_status()?.unseen else {
        return Ok(None);
    };
    store.mark_sync_seen()?;
    let ago = words::ago(outcome.at, store.now(), lang);
    Ok(Some(words::background(&ago, &outcome, lang)))
}
