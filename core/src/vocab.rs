//! Code lists (situations, needs, services, referral targets...) with French and English labels.
//!
//! Records store codes, never labels. A list can be extended by the organisation (extra codes are
//! kept in the store), and a code this build does not know, written by a newer device, is kept
//! as it is and shown raw: it is never dropped.

use serde::Serialize;

/// A code list the records use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vocab {
    Gender,
    AlertLevel,
    Situation,
    Need,
    PersonStatus,
    EncounterKind,
    Service,
    ActionCategory,
    ActionStatus,
    ReferralTarget,
    ReferralStatus,
    Partner,
    ConsentCategory,
    ConsentHow,
    HealthCategory,
    Relation,
    PeriodEnd,
    ApplicationKind,
    ApplicationStatus,
    LeaseKind,
    RiskKind,
    RiskStatus,
    OfferStatus,
    ProposalOutcome,
    ViewStep,
}

/// One code of a list, with its labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Term {
    pub code: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
}

const fn t(code: &'static str, fr: &'static str, en: &'static str) -> Term {
    Term { code, fr, en }
}

const GENDER: &[Term] = &[
    t("female", "femme", "female"),
    t("male", "homme", "male"),
    t("non_binary", "non binaire", "non-binary"),
    t("unknown", "non renseigné", "not known"),
];

const ALERT_LEVEL: &[Term] = &[
    t("none", "aucune", "none"),
    t("watch", "à surveiller", "watch"),
    t("very_vulnerable", "très vulnérable", "very vulnerable"),
];

const SITUATION: &[Term] = &[
    t("street", "rue", "street"),
    t("squat", "squat", "squat"),
    t("car", "véhicule", "car"),
    t(
        "emergency_shelter",
        "hébergement d'urgence",
        "emergency shelter",
    ),
    t("hotel", "hôtel", "hotel"),
    t("chrs", "CHRS", "CHRS (shelter with social support)"),
    t(
        "supported_housing",
        "logement accompagné",
        "supported housing",
    ),
    t("residence_sociale", "résidence sociale", "social residence"),
    t("pension_de_famille", "pension de famille", "boarding house"),
    t(
        "intermediation_locative",
        "intermédiation locative",
        "rental intermediation",
    ),
    t("social_housing", "logement social", "social housing"),
    t("private_housing", "logement privé", "private housing"),
    t("hospital", "hôpital", "hospital"),
    t("prison", "prison", "prison"),
    t("other", "autre", "other"),
];

/// The situations that are the street itself: leaving one of them for another situation is an
/// exit from the street in the report.
pub const STREET_SITUATIONS: &[&str] = &["street", "squat", "car"];

/// The situations that are a home of one's own (with a lease, or supported housing): entering
/// one of them is being housed, leaving it for another situation is a home lost.
pub const HOUSING_SITUATIONS: &[&str] = &[
    "supported_housing",
    "residence_sociale",
    "pension_de_famille",
    "intermediation_locative",
    "social_housing",
    "private_housing",
];

/// How a member of a household is related to its reference person.
const RELATION: &[Term] = &[
    t("reference", "personne de référence", "reference person"),
    t("partner", "conjoint·e", "partner"),
    t("child", "enfant", "child"),
    t("parent", "parent", "parent"),
    t("sibling", "frère ou sœur", "sibling"),
    t("other", "autre", "other"),
];

/// Why a period of a housing journey ended.
const PERIOD_END: &[Term] = &[
    t(
        "moved_on",
        "orientation vers une autre solution",
        "moved on",
    ),
    t("end_of_stay", "fin de prise en charge", "end of stay"),
    t("exclusion", "exclusion", "exclusion"),
    t("left", "départ volontaire", "left of their own accord"),
    t("eviction", "expulsion", "eviction"),
    t("rent_arrears", "impayés de loyer", "rent arrears"),
    t("hospital", "hospitalisation", "hospitalisation"),
    t("prison", "incarcération", "imprisonment"),
    t("other", "autre", "other"),
];

/// The kind of a housing application.
const APPLICATION_KIND: &[Term] = &[
    t(
        "siao_insertion",
        "demande SIAO insertion",
        "SIAO application (housing)",
    ),
    t(
        "siao_urgence",
        "demande SIAO urgence / 115",
        "SIAO emergency application",
    ),
    t(
        "social_housing",
        "demande de logement social",
        "social housing application",
    ),
    t("dalo", "recours DALO", "DALO claim (right to housing)"),
    t("other", "autre", "other"),
];

/// How a home is held.
const LEASE_KIND: &[Term] = &[
    t("social_lease", "bail social", "social housing lease"),
    t("private_lease", "bail privé", "private lease"),
    t(
        "sublease",
        "sous-location (intermédiation locative)",
        "sublease (rental intermediation)",
    ),
    t(
        "residence",
        "titre d'occupation (résidence sociale, pension de famille)",
        "occupancy agreement (social residence, boarding house)",
    ),
    t("other", "autre", "other"),
];

/// What puts a home at risk (maintien dans le logement).
const RISK_KIND: &[Term] = &[
    t("rent_arrears", "impayés de loyer", "rent arrears"),
    t(
        "neighbour_conflict",
        "conflit de voisinage",
        "neighbourhood conflict",
    ),
    t("isolation", "isolement", "isolation"),
    t("health", "santé", "health"),
    t(
        "eviction_planned",
        "expulsion programmée",
        "planned eviction",
    ),
    t("other", "autre", "other"),
];

/// Where a risk signal stands.
const RISK_STATUS: &[Term] = &[
    t("open", "en cours", "open"),
    t("resolved", "levé", "resolved"),
];

/// Where a housing offer stands.
const OFFER_STATUS: &[Term] = &[
    t("open", "disponible", "open"),
    t("filled", "attribué", "filled"),
    t("withdrawn", "retiré", "withdrawn"),
];

/// What became of a home proposed to a person or a household.
const PROPOSAL_OUTCOME: &[Term] = &[
    t("pending", "en attente", "pending"),
    t("accepted", "acceptée", "accepted"),
    t(
        "refused_by_person",
        "refusée par la personne",
        "refused by the person",
    ),
    t(
        "refused_by_landlord",
        "refusée par le bailleur",
        "refused by the landlord",
    ),
    t("withdrawn", "retirée", "withdrawn"),
];

/// The step of the support after which a person's own view is asked.
const VIEW_STEP: &[Term] = &[
    t("home_found", "logement trouvé", "home found"),
    t(
        "six_months_in_home",
        "six mois dans le logement",
        "six months in the home",
    ),
    t(
        "support_end",
        "fin de l'accompagnement",
        "end of the support",
    ),
    t("other", "autre moment", "another time"),
];

/// Where a housing application stands.
const APPLICATION_STATUS: &[Term] = &[
    t("preparing", "en préparation", "being prepared"),
    t("filed", "déposée", "filed"),
    t("in_review", "en commission", "in review"),
    t("accepted", "acceptée", "accepted"),
    t("refused", "refusée", "refused"),
    t("housed", "relogé·e", "housed"),
    t("closed", "close", "closed"),
];

const NEED: &[Term] = &[
    t("housing", "logement", "housing"),
    t("health", "santé", "health"),
    t("mental_health", "santé mentale", "mental health"),
    t("addiction", "addictions", "addiction"),
    t("papers", "papiers et droits", "papers and rights"),
    t("income", "ressources", "income"),
    t("food", "alimentation", "food"),
    t("hygiene", "hygiène", "hygiene"),
    t(
        "accessible_home",
        "logement accessible (mobilité réduite)",
        "accessible home (reduced mobility)",
    ),
    t("other", "autre", "other"),
];

const PERSON_STATUS: &[Term] = &[
    t("active", "file active", "active"),
    t(
        "inactive",
        "sortie de la file active",
        "out of the active list",
    ),
];

const ENCOUNTER_KIND: &[Term] = &[
    t("first_contact", "premier contact", "first contact"),
    t("follow_up", "suivi", "follow-up"),
    t("intervention", "intervention", "intervention"),
    t("home_visit", "visite à domicile", "home visit"),
];

const SERVICE: &[Term] = &[
    t("food", "repas", "food"),
    t("drink", "boisson", "drink"),
    t("hygiene_kit", "kit d'hygiène", "hygiene kit"),
    t("clothing", "vêtements", "clothing"),
    t("blanket", "couverture", "blanket"),
    t("information", "information", "information"),
    t("referral", "orientation", "referral"),
    t("care", "soins", "care"),
    // What a home visit gives (support at home, "maintien dans le logement").
    t("rent_bills", "loyer et factures", "rent and bills"),
    t("admin_help", "aide administrative", "administrative help"),
    t(
        "mediation",
        "médiation avec le voisinage ou le bailleur",
        "neighbourhood and landlord mediation",
    ),
    t(
        "health_coordination",
        "coordination des soins",
        "health coordination",
    ),
    t("furnishing", "ameublement, équipement", "furnishing"),
    t("social_ties", "lien social", "social ties"),
    t("other", "autre", "other"),
];

const ACTION_CATEGORY: &[Term] = &[
    t(
        "housing_application",
        "demande de logement",
        "housing application",
    ),
    t(
        "siao_referral",
        "orientation SIAO / 115",
        "SIAO / 115 referral",
    ),
    t(
        "health_appointment",
        "rendez-vous santé",
        "health appointment",
    ),
    t("papers", "papiers", "papers"),
    t("benefits", "droits et prestations", "benefits"),
    t("other", "autre", "other"),
];

const ACTION_STATUS: &[Term] = &[
    t("todo", "à faire", "to do"),
    t("done", "fait", "done"),
    t("cancelled", "annulé", "cancelled"),
];

const REFERRAL_TARGET: &[Term] = &[
    t("siao_115", "SIAO / 115", "SIAO / 115"),
    t(
        "emergency_shelter",
        "hébergement d'urgence",
        "emergency shelter",
    ),
    t("chrs", "CHRS", "CHRS"),
    t("social_landlord", "bailleur social", "social landlord"),
    t("psychiatry_cmp", "psychiatrie / CMP", "psychiatry / CMP"),
    t("pass_health", "PASS (santé)", "PASS health"),
    t("day_centre", "accueil de jour", "day centre"),
    t("other", "autre", "other"),
];

const REFERRAL_STATUS: &[Term] = &[
    t("sent", "envoyée", "sent"),
    t("pending", "en attente", "pending"),
    t("accepted", "acceptée", "accepted"),
    t("refused", "refusée", "refused"),
    t("no_answer", "sans réponse", "no answer"),
];

/// The partners a person may consent to share with: the SIAO is everywhere; each organisation
/// adds its own (a social landlord, a CMP, a day centre) with `code add partner`.
const PARTNER: &[Term] = &[t(
    "siao",
    "SIAO (service intégré d'accueil et d'orientation)",
    "SIAO (integrated reception and referral service)",
)];

/// What a person may consent to share with a partner, one category at a time. Health is not
/// among them: only a health professional may share it.
const CONSENT_CATEGORY: &[Term] = &[
    t(
        "identity_contact",
        "identité et coordonnées",
        "identity and contact",
    ),
    t(
        "situation_journey",
        "situation et parcours",
        "situation and housing journey",
    ),
    t(
        "housing_application",
        "demande de logement et orientations",
        "housing application and referrals",
    ),
    t(
        "shared_assessment",
        "évaluation partagée",
        "shared assessment",
    ),
];

/// How a consent was given or refused.
const CONSENT_HOW: &[Term] = &[
    t("oral", "oralement", "orally"),
    t("written", "par écrit, signé", "in writing, signed"),
    t(
        "representative",
        "par son représentant légal",
        "by a legal representative",
    ),
    t("other", "autre", "other"),
];

/// What a health note is about: written and read by health professionals only.
const HEALTH_CATEGORY: &[Term] = &[
    t("consultation", "consultation", "consultation"),
    t("care", "soins", "care"),
    t("mental_health", "santé mentale", "mental health"),
    t("addiction", "addictologie", "addiction"),
    t(
        "prevention",
        "prévention, dépistage",
        "prevention, screening",
    ),
    t("referral", "orientation vers le soin", "referral to care"),
    t("other", "autre", "other"),
];

impl Vocab {
    pub const ALL: [Vocab; 25] = [
        Vocab::Gender,
        Vocab::AlertLevel,
        Vocab::Situation,
        Vocab::Need,
        Vocab::PersonStatus,
        Vocab::EncounterKind,
        Vocab::Service,
        Vocab::ActionCategory,
        Vocab::ActionStatus,
        Vocab::ReferralTarget,
        Vocab::ReferralStatus,
        Vocab::Partner,
        Vocab::ConsentCategory,
        Vocab::ConsentHow,
        Vocab::HealthCategory,
        Vocab::Relation,
        Vocab::PeriodEnd,
        Vocab::ApplicationKind,
        Vocab::ApplicationStatus,
        Vocab::LeaseKind,
        Vocab::RiskKind,
        Vocab::RiskStatus,
        Vocab::OfferStatus,
        Vocab::ProposalOutcome,
        Vocab::ViewStep,
    ];

    /// The built-in codes of this list.
    pub fn terms(self) -> &'static [Term] {
        match self {
            Vocab::Gender => GENDER,
            Vocab::AlertLevel => ALERT_LEVEL,
            Vocab::Situation => SITUATION,
            Vocab::Need => NEED,
            Vocab::PersonStatus => PERSON_STATUS,
            Vocab::EncounterKind => ENCOUNTER_KIND,
            Vocab::Service => SERVICE,
            Vocab::ActionCategory => ACTION_CATEGORY,
            Vocab::ActionStatus => ACTION_STATUS,
            Vocab::ReferralTarget => REFERRAL_TARGET,
            Vocab::ReferralStatus => REFERRAL_STATUS,
            Vocab::Partner => PARTNER,
            Vocab::ConsentCategory => CONSENT_CATEGORY,
            Vocab::ConsentHow => CONSENT_HOW,
            Vocab::HealthCategory => HEALTH_CATEGORY,
            Vocab::Relation => RELATION,
            Vocab::PeriodEnd => PERIOD_END,
            Vocab::ApplicationKind => APPLICATION_KIND,
            Vocab::ApplicationStatus => APPLICATION_STATUS,
            Vocab::LeaseKind => LEASE_KIND,
            Vocab::RiskKind => RISK_KIND,
            Vocab::RiskStatus => RISK_STATUS,
            Vocab::OfferStatus => OFFER_STATUS,
            Vocab::ProposalOutcome => PROPOSAL_OUTCOME,
            Vocab::ViewStep => VIEW_STEP,
        }
    }

    /// The name of the list, as stored in the extension table and shown in errors.
    pub fn name(self) -> &'static str {
        match self {
            Vocab::Gender => "gender",
            Vocab::AlertLevel => "alert_level",
            Vocab::Situation => "situation",
            Vocab::Need => "need",
            Vocab::PersonStatus => "person_status",
            Vocab::EncounterKind => "encounter_kind",
            Vocab::Service => "service",
            Vocab::ActionCategory => "action_category",
            Vocab::ActionStatus => "action_status",
            Vocab::ReferralTarget => "referral_target",
            Vocab::ReferralStatus => "referral_status",
            Vocab::Partner => "partner",
            Vocab::ConsentCategory => "consent_category",
            Vocab::ConsentHow => "consent_how",
            Vocab::HealthCategory => "health_category",
            Vocab::Relation => "relation",
            Vocab::PeriodEnd => "period_end",
            Vocab::ApplicationKind => "application_kind",
            Vocab::ApplicationStatus => "application_status",
            Vocab::LeaseKind => "lease_kind",
            Vocab::RiskKind => "risk_kind",
            Vocab::RiskStatus => "risk_status",
            Vocab::OfferStatus => "offer_status",
            Vocab::ProposalOutcome => "proposal_outcome",
            Vocab::ViewStep => "view_step",
        }
    }

    pub fn from_name(name: &str) -> Option<Vocab> {
        Vocab::ALL.into_iter().find(|v| v.name() == name)
    }

    pub fn builtin(self, code: &str) -> Option<&'static Term> {
        self.terms().iter().find(|t| t.code == code)
    }
}

/// The language labels are shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// An organisation's extra code, kept in the space's roster (so it reaches every device) and
/// indexed in the local store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtraTerm {
    pub vocab: Vocab,
    pub code: String,
    pub fr: String,
    pub en: String,
}

/// The longest label an organisation's code may have, in bytes.
const MAX_LABEL: usize = 200;

/// Checks an organisation's extra code and its labels, typed here or received from another
/// device: a well-formed code that is not built in, and two labels (trimmed, not empty, at most
/// 200 bytes).
pub(crate) fn check_term(vocab: Vocab, code: &str, fr: &str, en: &str) -> crate::Result<()> {
    use crate::CoreError;
    if !is_code_shaped(code) {
        return Err(CoreError::invalid(
            "code",
            "must be 1 to 64 lowercase letters, digits or underscores",
        ));
    }
    if vocab.builtin(code).is_some() {
        return Err(CoreError::invalid(
            "code",
            format!("{code:?} is already a {} code", vocab.name()),
        ));
    }
    for label in [fr, en] {
        let label = label.trim();
        if label.is_empty() {
            return Err(CoreError::invalid(
                "label",
                "both French and English labels are needed",
            ));
        }
        if label.len() > MAX_LABEL {
            return Err(CoreError::invalid(
                "label",
                format!("is longer than {MAX_LABEL} bytes"),
            ));
        }
    }
    Ok(())
}

/// The label of `code` in `vocab`: built-in, then the organisation's extra codes, then the raw
/// code itself (a code from a newer device is shown as it is, never dropped).
pub fn label(vocab: Vocab, code: &str, extra: &[ExtraTerm], lang: Lang) -> String {
    if let Some(term) = vocab.builtin(code) {
        return match lang {
            Lang::Fr => term.fr,
            Lang::En => term.en,
        }
        .to_string();
    }
    if let Some(term) = extra.iter().find(|t| t.vocab == vocab && t.code == code) {
        return match lang {
            Lang::Fr => term.fr.clone(),
            Lang::En => term.en.clone(),
        };
    }
    code.to_string()
}

/// Whether `code` is a valid code for a new local value: codes are lowercase ASCII words.
pub(crate) fn is_code_shaped(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_code_is_shown_raw_and_extra_codes_have_labels() {
        let extra = vec![ExtraTerm {
            vocab: Vocab::Service,
            code: "phone_charge".into(),
            fr: "recharge de téléphone".into(),
            en: "phone charging".into(),
        }];
        assert_eq!(
            label(Vocab::Service, "blanket", &extra, Lang::Fr),
            "couverture"
        );
        assert_eq!(
            label(Vocab::Service, "blanket", &extra, Lang::En),
            "blanket"
        );
        assert_eq!(
            label(Vocab::Service, "phone_charge", &extra, Lang::Fr),
            "recharge de téléphone"
        );
        assert_eq!(
            label(Vocab::Service, "from_the_future", &extra, Lang::En),
            "from_the_future"
        );
    }

    #[test]
    fn every_list_has_unique_well_shaped_codes() {
        for vocab in Vocab::ALL {
            let codes: Vec<_> = vocab.terms().iter().map(|t| t.code).collect();
            let mut dedup = codes.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(codes.len(), dedup.len(), "{}", vocab.name());
            assert!(codes.iter().all(|c| is_code_shaped(c)), "{}", vocab.name());
            assert_eq!(Vocab::from_name(vocab.name()), Some(vocab));
        }
    }
}
