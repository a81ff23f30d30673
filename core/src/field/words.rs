//! The field app's words, in French and English: screen titles, relative days, and a refused
//! action said in one sentence a worker can act on (never a field value or a name).

use chrono::{DateTime, NaiveDate, Utc};

use crate::vocab::Lang;
use crate::{ApiError, CoreError, SyncFailure, SyncOutcome};

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
        "period" => ("Parcours", "Journey"),
        "application" => ("Demande de logement", "Housing application"),
        "household" => ("Ménage", "Household"),
        "home" => ("Logement", "Home"),
        "risk" => ("Risque pour le logement", "Risk to the home"),
        "proposal" => ("Proposition de logement", "Home proposed"),
        "own_view" => ("Parole de la personne", "The person's view"),
        "satisfaction" => ("satisfaction", "satisfaction"),
        "until" => ("au", "to"),
        "days_from" => ("du", "from"),
        "since_day" => ("depuis le", "since"),
        "left_on" => ("parti·e le", "left on"),
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
        "custom_fields" => ("Champs de l'organisation", "The organisation's own fields"),
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
        // The sync screen, joining a team and the worker using a shared phone.
        "sync_title" => ("Synchronisation", "Sync"),
        "sync_now" => ("Synchroniser maintenant", "Sync now"),
        "all_sent" => (
            "Tout est envoyé.",
            "Everything has been sent.",
        ),
        "kept_here" => (
            "Les changements restent sur ce téléphone tant qu'il n'a pas rejoint d'équipe.",
            "The changes stay on this phone until it joins a team.",
        ),
        "never_synced" => (
            "Jamais synchronisé avec l'équipe.",
            "Never synced with the team.",
        ),
        "sync_no_network" => (
            "pas de réseau, les changements attendent sur le téléphone",
            "no network, the changes wait on the phone",
        ),
        "sync_not_enrolled" => (
            "ce téléphone n'a pas encore rejoint d'équipe, rejoignez-en une d'abord",
            "this phone has not joined a team yet, join a team first",
        ),
        "sync_storage_full" => (
            "le téléphone est plein, libérez de la place et réessayez",
            "the phone is full, free some space and try again",
        ),
        "sync_other" => (
            "le téléphone n'a pas pu lire ou écrire ses données, réessayez puis prévenez la coordination",
            "the phone could not read or write its data, try again then tell the coordinator",
        ),
        "join_title" => ("Rejoindre l'équipe", "Join the team"),
        "join_explain" => (
            "Tapez ou scannez le code d'invitation donné par la coordination.",
            "Type or scan the invite code the coordinator gave you.",
        ),
        "join_hint" => ("Code d'invitation (ALV2-…)", "Invite code (ALV2-…)"),
        "join_button" => ("Rejoindre", "Join"),
        "scan" => ("Scanner le QR code", "Scan the QR code"),
        "join_later" => (
            "Plus tard (sans équipe, hors ligne)",
            "Later (no team, offline)",
        ),
        "code_mistyped" => (
            "Ce n'est pas un code d'invitation : vérifiez qu'il est complet et sans faute.",
            "This is not an invite code: check that it is whole and correctly typed.",
        ),
        "code_old" => (
            "Ce code vient d'une ancienne version d'allervers : demandez-en un nouveau.",
            "This code comes from an older version of allervers: ask for a new one.",
        ),
        "code_refused" => (
            "Ce code a déjà servi, a expiré ou est inconnu du relais : demandez-en un nouveau à la coordination.",
            "This code was already used, has expired or is unknown to the relay: ask the coordinator for a new one.",
        ),
        "join_no_network" => (
            "Pas de réseau : réessayez quand le téléphone capte.",
            "No network: try again when the phone has a signal.",
        ),
        "already_in_team" => (
            "Ce téléphone fait déjà partie d'une équipe.",
            "This phone already belongs to a team.",
        ),
        "workers_title" => (
            "Qui utilise le téléphone ce soir ?",
            "Who is using the phone tonight?",
        ),
        "other_worker" => ("Un autre nom", "Another name"),
        "choose" => ("C'est moi", "It's me"),
        "change_worker" => ("Changer", "Change"),
        "current_worker" => ("utilise le téléphone", "using the phone"),
        "type_worker" => (
            "Tapez un nom avant de le choisir.",
            "Type a name before choosing it.",
        ),
        // The controls' labels, shown or read aloud by a screen reader.
        "back" => ("Retour", "Back"),
        "save" => ("Enregistrer", "Save"),
        "fewer_anonymous" => (
            "Une personne anonyme de moins",
            "One anonymous person fewer",
        ),
        "more_anonymous" => (
            "Une personne anonyme de plus",
            "One more anonymous person",
        ),
        "remove" => ("Retirer", "Remove"),
        "find_person_met" => ("Ajouter une personne rencontrée", "Add a person met"),
        "services" => ("Prestations", "Services"),
        "place" => ("Lieu", "Place"),
        "kind" => ("Type de rencontre", "Kind of encounter"),
        "notes" => ("Notes", "Notes"),
        "follow_up_needed" => ("Suivi à prévoir", "Follow-up needed"),
        "overdue" => ("en retard", "overdue"),
        "clock_off" => ("heure douteuse", "doubtful time"),
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
    api_problem(ApiError::from(e), lang)
}

/// [`problem`], from the public error.
pub(super) fn api_problem(e: ApiError, lang: Lang) -> String {
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

// The sync screen, joining a team and the worker using a shared phone.

/// How long ago `then` was, from `now`: "il y a 5 min", "à l'instant", "il y a 3 jours"...
pub(super) fn ago(then: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let minutes = (now - then).num_minutes();
    let (fr, en) = match minutes {
        // A time ahead of the phone's clock is not "in 2 min".
        m if m < 1 => ("à l'instant".to_string(), "just now".to_string()),
        m if m < 60 => (format!("il y a {m} min"), format!("{m} min ago")),
        m if m < 24 * 60 => (format!("il y a {} h", m / 60), format!("{} h ago", m / 60)),
        m if m < 48 * 60 => ("hier".to_string(), "yesterday".to_string()),
        m => {
            let d = m / (24 * 60);
            (format!("il y a {d} jours"), format!("{d} days ago"))
        }
    };
    pick(lang, fr, en)
}

/// Why a sync failed, as the end of a sentence.
pub(super) fn sync_failure(failure: &SyncFailure, lang: Lang) -> String {
    let key = match failure {
        SyncFailure::NoNetwork => "sync_no_network",
        SyncFailure::NotEnrolled => "sync_not_enrolled",
        SyncFailure::StorageFull => "sync_storage_full",
        SyncFailure::Other => "sync_other",
        SyncFailure::Refused { status } => {
            return pick(
                lang,
                format!("le relais a refusé (erreur {status}), prévenez la coordination"),
                format!("the relay refused (error {status}), tell the coordinator"),
            )
        }
    };
    t(lang, key).to_string()
}

/// How many changes wait to be sent.
pub(super) fn pending(count: u64, lang: Lang) -> String {
    match (lang, count) {
        (_, 0) => t(lang, "all_sent").to_string(),
        (Lang::Fr, 1) => "1 changement attend d'être envoyé.".to_string(),
        (Lang::Fr, _) => format!("{count} changements attendent d'être envoyés."),
        (Lang::En, 1) => "1 change waits to be sent.".to_string(),
        (Lang::En, _) => format!("{count} changes wait to be sent."),
    }
}

/// The sync button of the first screen, with what waits.
pub(super) fn sync_button(count: u64, lang: Lang) -> String {
    match (lang, count) {
        (Lang::Fr, 0) => "Synchroniser".to_string(),
        (Lang::Fr, _) => format!("Synchroniser ({count} en attente)"),
        (Lang::En, 0) => "Sync".to_string(),
        (Lang::En, _) => format!("Sync ({count} waiting)"),
    }
}

/// The last successful sync: "Dernière synchronisation réussie : il y a 5 min."
pub(super) fn last_success(ago: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("Dernière synchronisation réussie : {ago}."),
        format!("Last successful sync: {ago}."),
    )
}

/// A failed sync, in one sentence: "Échec il y a 2 min : pas de réseau, ...".
pub(super) fn failed(ago: &str, failure: &SyncFailure, lang: Lang) -> String {
    let why = sync_failure(failure, lang);
    pick(
        lang,
        format!("Échec de la synchronisation {ago} : {why}."),
        format!("Sync failed {ago}: {why}."),
    )
}

/// The changes a sync sent and received: "3 changements envoyés, 1 reçu".
fn sent_received(sent: u64, received: u64, lang: Lang) -> String {
    match lang {
        Lang::Fr => {
            let s = if sent > 1 { "s" } else { "" };
            let r = if received > 1 { "s" } else { "" };
            format!("{sent} changement{s} envoyé{s}, {received} reçu{r}")
        }
        Lang::En => {
            let s = if sent == 1 { "" } else { "s" };
            format!("{sent} change{s} sent, {received} received")
        }
    }
}

/// A sync that just succeeded: what it sent and received.
pub(super) fn synced(sent: u64, received: u64, lang: Lang) -> String {
    let counts = sent_received(sent, received, lang);
    pick(
        lang,
        format!("Synchronisé : {counts}."),
        format!("Synced: {counts}."),
    )
}

/// The phone's own sync, in the background, said once on the next open.
pub(super) fn background(ago: &str, outcome: &SyncOutcome, lang: Lang) -> String {
    match &outcome.failure {
        None => {
            let counts = sent_received(outcome.sent, outcome.received, lang);
            pick(
                lang,
                format!("Synchronisation automatique {ago} : {counts}."),
                format!("Automatic sync {ago}: {counts}."),
            )
        }
        Some(f) => {
            let why = sync_failure(f, lang);
            pick(
                lang,
                format!("La synchronisation automatique a échoué {ago} : {why}."),
                format!("The automatic sync failed {ago}: {why}."),
            )
        }
    }
}

/// The team an invite code opens.
pub(super) fn team(name: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("Équipe « {name} »"),
        format!("Team \u{201c}{name}\u{201d}"),
    )
}

/// Said once joined.
pub(super) fn joined(name: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("Équipe « {name} » rejointe : les données arrivent après la prochaine synchronisation de la coordination."),
        format!("Joined \u{201c}{name}\u{201d}: the data arrives after the coordinator's next sync."),
    )
}

/// Who is using the phone, on the first screen.
pub(super) fn using_phone(worker: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("Téléphone utilisé par {worker}"),
        format!("Phone used by {worker}"),
    )
}

/// Said once the worker is chosen.
pub(super) fn now_using(worker: &str, lang: Lang) -> String {
    pick(
        lang,
        format!("C'est {worker} qui utilise le téléphone : ses changements portent son nom."),
        format!("{worker} is using the phone: their changes carry their name."),
    )
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
    fn how_long_ago_is_said_in_minutes_hours_then_days() {
        let now = DateTime::from_timestamp(1_773_000_000, 0).unwrap();
        let before = |m| now - chrono::Duration::minutes(m);
        assert_eq!(ago(before(0), now, Lang::Fr), "à l'instant");
        assert_eq!(ago(before(5), now, Lang::Fr), "il y a 5 min");
        assert_eq!(ago(before(59), now, Lang::En), "59 min ago");
        assert_eq!(ago(before(61), now, Lang::Fr), "il y a 1 h");
        assert_eq!(ago(before(30 * 60), now, Lang::En), "yesterday");
        assert_eq!(
            ago(before(3 * 24 * 60 + 5), now, Lang::Fr),
            "il y a 3 jours"
        );
        // A sync dated after now (a phone's clock set back) is not "in 5 min".
        assert_eq!(ago(before(-5), now, Lang::En), "just now");
    }

    #[test]
    fn what_a_sync_sent_and_received_is_counted_in_words() {
        assert_eq!(synced(1, 0, Lang::En), "Synced: 1 change sent, 0 received.");
        assert_eq!(
            synced(0, 2, Lang::En),
            "Synced: 0 changes sent, 2 received."
        );
        assert_eq!(
            synced(2, 1, Lang::Fr),
            "Synchronisé : 2 changements envoyés, 1 reçu."
        );
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
