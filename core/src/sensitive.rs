//! What reveals health (GDPR article 9: health, including mental health and addiction), or a
//! criminal conviction (article 10), among the codes and fields the records hold, defined once: pseudonymised exports leave it out
//! unless asked (`ExportOptions::include_sensitive`).
//!
//! A code an organisation added (`code add`), or one this build does not know (written by a
//! newer device), counts as sensitive too: nothing says what it reveals, and an organisation's
//! own "CSAPA" referral target or "methadone" service would reveal addiction.
//!
//! The organisation's own fields say themselves whether they are sensitive: their coordinator
//! decides when defining one (a text field is, unless said otherwise), and no pseudonymised
//! export keeps a text field's free text.

use crate::model::custom::{CustomField, CustomType};
use crate::model::fields::Kind;
use crate::vocab::Vocab;

/// The built-in codes that reveal health, each with why.
pub const SENSITIVE_CODES: &[(Vocab, &str)] = &[
    // A need for health care says the person is ill or injured.
    (Vocab::Need, "health"),
    // A need for mental health care says the person has a psychiatric condition.
    (Vocab::Need, "mental_health"),
    // A need about addiction says the person uses drugs or alcohol.
    (Vocab::Need, "addiction"),
    // A need of a home accessible with reduced mobility says the person has a disability or
    // an illness that limits their moving about.
    (Vocab::Need, "accessible_home"),
    // Care given in the street (wound dressing, first aid, a nurse's act) is health data.
    (Vocab::Service, "care"),
    // Coordinating a housed person's care says they are being treated.
    (Vocab::Service, "health_coordination"),
    // A referral to psychiatry (a CMP, the public mental health centre) reveals mental health.
    (Vocab::ReferralTarget, "psychiatry_cmp"),
    // A referral to a PASS (hospital care for people without health cover) reveals a health
    // problem.
    (Vocab::ReferralTarget, "pass_health"),
    // A health appointment to arrange reveals a health problem.
    (Vocab::ActionCategory, "health_appointment"),
    // A period of the housing journey spent in hospital, or one that ended with a
    // hospitalisation, reveals a health problem.
    (Vocab::Situation, "hospital"),
    (Vocab::PeriodEnd, "hospital"),
    // A period in prison, or one that ended with imprisonment, reveals a criminal conviction or
    // proceedings (GDPR article 10), which is as protected.
    (Vocab::Situation, "prison"),
    (Vocab::PeriodEnd, "prison"),
    // A home at risk for health reasons says the person is ill.
    (Vocab::RiskKind, "health"),
];

/// The fields that reveal health whatever their value, each with why.
pub const SENSITIVE_FIELDS: &[(Kind, &str)] = &[
    // A person's alert level ("watch", "very vulnerable") is set, most often, for a health or
    // psychiatric fragility, which it then reveals.
    (Kind::Person, "alert_level"),
];

/// Whether a code reveals (or may reveal) health: a sensitive built-in code, or any code that
/// is not built in.
pub fn is_sensitive_code(vocab: Vocab, code: &str) -> bool {
    vocab.builtin(code).is_none() || SENSITIVE_CODES.contains(&(vocab, code))
}

/// Whether one of the organisation's own fields is left out of a pseudonymised export where
/// what reveals health is: one its coordinator marked sensitive (a text field is, unless said
/// otherwise). Its text, like any free text, is left out of pseudonymised exports anyway
/// ([`custom_field_is_free_text`]).
pub fn is_sensitive_custom_field(field: &CustomField) -> bool {
    field.sensitive
}

/// Whether one of the organisation's fields holds free text, which no pseudonymised export
/// keeps: a name or a health detail typed there could not be told apart.
pub fn custom_field_is_free_text(field: &CustomField) -> bool {
    field.ty == CustomType::Text
}

/// Whether a field reveals health whatever its value.
pub fn is_sensitive_field(kind: Kind, field: &str) -> bool {
    SENSITIVE_FIELDS.contains(&(kind, field))
}
