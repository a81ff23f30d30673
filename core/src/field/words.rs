//! The field app's words, in French and English: screen titles, relative days, and a refused
//! action said in one sentence a worker can act on (never a field value or a name).

use chrono::NaiveDate;

use crate::vocab::Lang;
use crate::{ApiError, CoreError};

/// A word of the screens, by key.
pub(super) fn t(lang: Lang, key: &str) -> &'static str {
    let (fr, en) = match key {
        "search_title" => ("Trouver ou créer une personne", "Find or add a person"),
        "encounter_title" => ("Nouvelle rencontre", "New encounter"),
        "yes" => ("oui", "yes"),
        "no" => ("non", "no"),
        "recorded" => ("Fiche créée", "File created"),
        "cleared" => ("effacé", "cleared"),
        "encounter" => ("Rencontre", "Encounter"),
        "action" => ("Suivi", "Follow-up"),
        "referral" => ("Orientation", "Referral"),
        "consent" => ("Consentement", "Consent"),
        "given" => ("donné", "given"),
        "refused" => ("refusé", "refused"),
        "health_contact" => (
            "Vu·e par un professionnel de santé",
            "Seen by a health professional",
        ),
        "situation" => ("Situation", "Situation"),
        "needs" => ("Besoins", "Needs"),
        "alert" => ("Alerte", "Alert"),
        "description" => ("Signalement", "Description"),
        "phone" => ("Téléphone", "Phone"),
        "to_settle" => ("À régler au bureau", "To settle at the office"),
        "timeline" => ("Historique des passages", "Visit history"),
        "saved" => ("Rencontre enregistrée.", "Encounter saved."),
        "nobody_met" => (
            "Ajoutez une personne ou comptez les personnes anonymes avant d'enregistrer.",
            "Add a person or count the anonymous people before saving.",
        ),
        "search_hint" => ("Nom, surnom ou autre nom", "Name, nickname or other name"),
        "see_again_title" => ("À revoir", "To see again"),
        "open_actions" => ("Suivi à faire", "Follow-up to do"),
        "on_alert" => ("Liste d'alerte", "Alert list"),
        "duplicates" => (
            "Déjà rencontré·e ? Vérifiez avant de créer",
            "Already met? Check before adding",
        ),
        "no_result" => ("Personne ne correspond.", "Nobody matches."),
        "nobody_to_see" => (
            "Personne à revoir pour l'instant.",
            "Nobody to see again for now.",
        ),
        "never_met" => ("jamais rencontré·e", "never met"),
        "seen_today" => ("vu·e aujourd'hui", "seen today"),
        "seen_yesterday" => ("vu·e hier", "seen yesterday"),
        "as_name" => ("comme nom", "as a name"),
        "as_nickname" => ("comme surnom", "as a nickname"),
        "type_first" => (
            "Tapez un nom ou un surnom avant de créer la personne.",
            "Type a name or a nickname before adding the person.",
        ),
        "no_network" => (
            "Pas de réseau : les changements attendent sur le téléphone.",
            "No network: the changes wait on the phone.",
        ),
        "wrong_key" => (
            "La clé de ce téléphone n'ouvre pas ses données.",
            "This phone's key does not open its data.",
        ),
        "not_enrolled" => (
            "Ce téléphone n'a pas encore rejoint d'équipe.",
            "This phone has not joined a team yet.",
        ),
        "wiped" => (
            "Un coordinateur a retiré ce téléphone de l'équipe : ses données ont été effacées.",
            "A coordinator removed this phone from the team: its data was erased.",
        ),
        "storage_full" => (
            "Le téléphone est plein : libérez de la place et réessayez.",
            "The phone is full: free some space and try again.",
        ),
        // A person's follow-ups and referrals, and the drafts kept in the store.
        "referrals" => ("Orientations", "Referrals"),
        "done" => ("Fait", "Done"),
        "done_comment_hint" => ("Commentaire (facultatif)", "Comment (optional)"),
        "new_action" => ("Nouveau suivi", "New follow-up"),
        "action_title_hint" => ("Intitulé du suivi", "What is to be done"),
        "due_hint" => (
            "Échéance AAAA-MM-JJ (facultative)",
            "Due date YYYY-MM-DD (optional)",
        ),
        "add_action" => ("Ajouter le suivi", "Add the follow-up"),
        "new_referral" => ("Nouvelle orientation", "New referral"),
        "target_name_hint" => (
            "Nom de la structure (facultatif)",
            "Service's name (optional)",
        ),
        "referral_date_hint" => (
            "Date AAAA-MM-JJ (aujourd'hui si vide)",
            "Date YYYY-MM-DD (today when empty)",
        ),
        "add_referral" => ("Ajouter l'orientation", "Add the referral"),
        "clear_form" => ("Effacer", "Clear"),
        "action_needs" => (
            "Tapez un intitulé et choisissez une catégorie avant d'ajouter le suivi.",
            "Type what is to be done and pick a category before adding the follow-up.",
        ),
        "referral_needs" => (
            "Choisissez vers où orienter avant d'ajouter l'orientation.",
            "Pick where to refer before adding the referral.",
        ),
        "bad_due" => (
            "L'échéance doit être une date AAAA-MM-JJ entre 1900 et dans dix ans.",
            "The due date must be a YYYY-MM-DD date between 1900 and ten years from now.",
        ),
        "bad_referral_date" => (
            "La date de l'orientation doit être une date AAAA-MM-JJ entre 1900 et demain.",
            "The referral's date must be a YYYY-MM-DD date between 1900 and tomorrow.",
        ),
        "unknown_choice" => (
            "Ce choix n'est pas dans la liste : choisissez-en un autre.",
            "This choice is not on the list: pick another one.",
        ),
        "not_this_persons" => (
            "Ce suivi n'est pas l'un de ceux de cette personne.",
            "This follow-up is not one of this person's.",
        ),
        "no_longer_open" => (
            "Ce suivi n'est plus à faire : rien n'a été changé.",
            "This follow-up is no longer to do: nothing was changed.",
        ),
        "draft_dropped" => (
            "Le formulaire en cours n'a pas pu être relu : il a été effacé.",
            "The form being typed could not be read back: it was dropped.",
        ),
        _ => ("?", "?"),
    };
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

fn pick(lang: Lang, fr: String, en: String) -> String {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

/// When a person was last met, from `today`: "vu·e il y a 3 jours", "never met"...
pub(super) fn last_seen(seen: Option<NaiveDate>, today: NaiveDate, lang: Lang) -> String {
    let Some(seen) = seen else {
        return t(lang, "never_met").to_string();
    };
    match (today - seen).num_days() {
        d if d <= 0 => t(lang, "seen_today").to_string(),
        1 => t(lang, "seen_yesterday").to_string(),
        d => pick(
            lang,
            format!("vu·e il y a {d} jours"),
            format!("seen {d} days ago"),
        ),
    }
}

/// The title of the section of persons not met for `days` days.
pub(super) fn not_seen_for(days: u32, lang: Lang) -> String {
    pick(
        lang,
        format!("Pas vu·es depuis {days} jours ou plus"),
        format!("Not seen for {days} days or more"),
    )
}

/// How many persons the team follows.
pub(super) fn followed(count: u64, lang: Lang) -> String {
    match (lang, count) {
        (Lang::Fr, 0 | 1) => format!("{count} personne suivie"),
        (Lang::Fr, _) => format!("{count} personnes suivies"),
        (Lang::En, 1) => "1 person followed".to_string(),
        (Lang::En, _) => format!("{count} persons followed"),
    }
}

/// The anonymous people counted on an encounter form.
pub(super) fn anonymous(count: i64, lang: Lang) -> String {
    match (lang, count) {
        (Lang::Fr, 0 | 1) => format!("{count} personne anonyme"),
        (Lang::Fr, _) => format!("{count} personnes anonymes"),
        (Lang::En, 1) => "1 anonymous person".to_string(),
        (Lang::En, _) => format!("{count} anonymous people"),
    }
}

/// The other persons met in the same encounter.
pub(super) fn with_others(count: usize, lang: Lang) -> String {
    match (lang, count) {
        (Lang::Fr, 1) => "avec 1 autre personne".to_string(),
        (Lang::Fr, _) => format!("avec {count} autres personnes"),
        (Lang::En, 1) => "with 1 other person".to_string(),
        (Lang::En, _) => format!("with {count} other persons"),
    }
}

/// The button that creates a person from what was typed.
pub(super) fn create(typed: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("Créer « {typed} »"),
        format!("Add \u{201c}{typed}\u{201d}"),
    )
}

/// A refused action or an unreadable store, in one sentence.
pub(super) fn problem(e: CoreError, lang: Lang) -> String {
    let e = ApiError::from(e);
    let key = match &e {
        ApiError::RelayUnreachable { .. } => "no_network",
        ApiError::WrongKey => "wrong_key",
        ApiError::NotEnrolled => "not_enrolled",
        ApiError::Wiped => "wiped",
        ApiError::StorageFull => "storage_full",
        ApiError::InvalidInput { field, reason } => {
            return pick(
                lang,
                format!("Champ {field} refusé : {reason}."),
                format!("Field {field} refused: {reason}."),
            )
        }
        other => {
            return pick(
                lang,
                format!("Action impossible : {other}."),
                format!("Could not do it: {other}."),
            )
        }
    };
    t(lang, key).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_seen_says_days_in_words() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d);
        assert_eq!(last_seen(day(10), today, Lang::Fr), "vu·e aujourd'hui");
        assert_eq!(last_seen(day(9), today, Lang::En), "seen yesterday");
        assert_eq!(last_seen(day(1), today, Lang::Fr), "vu·e il y a 9 jours");
        assert_eq!(last_seen(None, today, Lang::En), "never met");
        // A meeting dated after today (a phone's clock ahead) is not "in -2 days".
        assert_eq!(last_seen(day(12), today, Lang::En), "seen today");
    }

    #[test]
    fn a_refused_action_is_one_sentence_in_the_worker_s_language() {
        let offline = problem(CoreError::RelayUnreachable("timeout".into()), Lang::Fr);
        assert_eq!(
            offline,
            "Pas de réseau : les changements attendent sur le téléphone."
        );
        let invalid = problem(CoreError::invalid("name", "is too long"), Lang::En);
        assert_eq!(invalid, "Field name refused: is too long.");
        assert!(!invalid.contains('\n'));
    }
}
