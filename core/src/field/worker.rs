//! On a shared team phone, who is using it tonight: the team's workers from the roster (each
//! device's worker, and the one using this phone now), names sorted with accents and case
//! ignored, the current one marked. Choosing one names them with `Store::set_worker`, so that
//! every change written from then on records them.

use serde::Serialize;

use super::words::t;
use crate::text::fold;
use crate::vocab::Lang;
use crate::{Result, Store};

/// A worker of the team.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerRow {
    pub name: String,
    /// Whether they are the one using the phone now.
    pub current: bool,
}

/// The screen that asks who is using the phone.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkersView {
    pub title: String,
    pub workers: Vec<WorkerRow>,
    /// The label of the current one's mark ("utilise le téléphone").
    pub current_label: String,
    /// The button on each row.
    pub choose_label: String,
    /// The box for a name the roster does not hold yet (a new volunteer).
    pub other_hint: String,
    pub problem: Option<String>,
    /// The button back to the search.
    pub back_label: String,
}

pub(super) fn view(store: &Store, lang: Lang) -> Result<WorkersView> {
    let current = store.worker();
    let mut names: Vec<String> = store
        .devices()?
        .into_iter()
        .map(|d| d.worker.trim().to_string())
        .chain(std::iter::once(current.clone()))
        .filter(|w| !w.is_empty())
        .collect();
    names.sort_by(|a, b| fold(a).cmp(&fold(b)).then_with(|| a.cmp(b)));
    names.dedup_by(|a, b| fold(a) == fold(b));
    Ok(WorkersView {
        title: t(lang, "workers_title").into(),
        workers: names
            .into_iter()
            .map(|name| WorkerRow {
                current: fold(&name) == fold(&current),
                name,
            })
            .collect(),
        current_label: t(lang, "current_worker").into(),
        choose_label: t(lang, "choose").into(),
        other_hint: t(lang, "other_worker").into(),
        back_label: t(lang, "back").into(),
        problem: None,
    })
}
