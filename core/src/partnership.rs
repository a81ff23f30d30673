//! Partnerships: what a partner (the SIAO, a social landlord...) sees of a person is what the
//! person consented to share with that partner, and nothing else. Each partnership is a space of
//! its own, founded by the association's office (a coordinator's device of the team) from a
//! second store beside the team's (a partnership store, `store/purpose.rs`); the partner's
//! devices join that space only, so no key they hold opens anything of the team's.
//!
//! - **Publication** ([`Store::publish`], on the team's store, writing into the partnership
//!   store): one projection per person whose consent now gives the partner at least one
//!   category, holding the fields of the consented categories only (never notes, encounters,
//!   health, the alert level or the team's person id); a shared assessment beside it when the
//!   assessment is consented. Publishing again writes only what changed in the team's file since
//!   the last publication (kept on the office, `store/partnership.rs`), so a partner's edit
//!   stands until the team's value changes. Each publication is logged in the team's access log.
//! - **Withdrawal**: a category no longer consented erases the projection and its assessment
//!   with an erasure order of the partnership space (the office is its coordinator), so that
//!   the withdrawn values survive in no history, on no device and at no relay; a fresh
//!   projection (a new id) is published with the categories that remain. The partner's devices
//!   acknowledge each order they carry out ([`Kind::ErasureAck`], `sync/erasure.rs`). A person
//!   erased from the team's file has their projection erased the same way.
//! - **Reading and editing** on either side: [`Store::projections`], [`Store::projection`],
//!   [`Store::edit_projection`] (the fields of the consented categories),
//!   [`Store::edit_assessment`]; [`Store::partnership_status`] for the office.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::access_log::{Access, Via};
use crate::doc::{Edit, Reader};
use crate::model::fields::{Kind, Value};
use crate::model::{get_date, get_int, get_text, Person};
use crate::store::partnership::{self as table, Published};
use crate::store::purpose::Purpose;
use crate::vocab::Vocab;
use crate::{CoreError, RecordId, Result, Store};

pub use crate::store::partnership::ErasureAck;

/// The partnership of the team's own restricted devices (volunteers, staff who may see who is
/// who but no sensitive category): every person on the active list is published there with
/// [`RESTRICTED_CATEGORIES`], the person's consent to be recorded covering the team's own
/// people; never the housing application (referrals can reveal health) nor the assessment.
pub const RESTRICTED: &str = "restricted";

/// What the team's restricted devices see of a person.
pub const RESTRICTED_CATEGORIES: [&str; 2] = ["identity_contact", "situation_journey"];

/// The consent categories, in the order they are listed.
pub const CATEGORIES: [&str; 4] = [
    "identity_contact",
    "situation_journey",
    "housing_application",
    "shared_assessment",
];

/// The projection's fields each category shares.
const SHARED_FIELDS: &[(&str, &[&str])] = &[
    (
        "identity_contact",
        &[
            "name",
            "nickname",
            "other_names",
            "birth_year",
            "gender",
            "languages",
            "phone",
        ],
    ),
    (
        "situation_journey",
        &["situation", "on_street_since", "journey"],
    ),
    (
        "housing_application",
        &["referrals", "housing_actions", "housing_applications"],
    ),
];

/// The action categories the housing application shares.
const HOUSING_ACTIONS: &[&str] = &["housing_application", "siao_referral"];

/// The category a projection's field belongs to.
pub fn category_of(field: &str) -> Option<&'static str> {
    SHARED_FIELDS
        .iter()
        .find(|(_, fields)| fields.contains(&field))
        .map(|(c, _)| *c)
}

/// What a partner sees of a person.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projection {
    pub id: RecordId,
    /// The categories published (consent codes).
    pub categories: Vec<String>,
    pub name: Option<String>,
    pub nickname: Option<String>,
    pub other_names: Option<String>,
    pub birth_year: Option<i64>,
    pub gender: Option<String>,
    pub languages: Option<String>,
    pub phone: Option<String>,
    pub situation: Option<String>,
    pub on_street_since: Option<NaiveDate>,
    /// The person's housing journey, one period a line (never a period in hospital or prison).
    pub journey: Option<String>,
    /// The person's referrals, one a line.
    pub referrals: Option<String>,
    /// The person's housing actions, one a line.
    pub housing_actions: Option<String>,
    /// The person's housing applications (theirs and their households'), one a line.
    pub housing_applications: Option<String>,
    /// The shared assessment, when the person consented to it.
    pub assessment: Option<SharedAssessment>,
}

impl Projection {
    fn read(id: RecordId, r: &Reader) -> Projection {
        let k = Kind::Projection;
        Projection {
            id,
            categories: get_text(r, k, "categories")
                .map(|c| {
                    c.split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            name: get_text(r, k, "name"),
            nickname: get_text(r, k, "nickname"),
            other_names: get_text(r, k, "other_names"),
            birth_year: get_int(r, k, "birth_year"),
            gender: get_text(r, k, "gender"),
            languages: get_text(r, k, "languages"),
            phone: get_text(r, k, "phone"),
            situation: get_text(r, k, "situation"),
            on_street_since: get_date(r, k, "on_street_since"),
            journey: get_text(r, k, "journey"),
            referrals: get_text(r, k, "referrals"),
            housing_actions: get_text(r, k, "housing_actions"),
            housing_applications: get_text(r, k, "housing_applications"),
            assessment: None,
        }
    }
}

/// The assessment the association and the partner write together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedAssessment {
    pub id: RecordId,
    pub projection: Option<RecordId>,
    pub needs: Option<String>,
    pub resources: Option<String>,
    pub autonomy: Option<String>,
    pub housing_sought: Option<String>,
    pub own_words: Option<String>,
}

impl SharedAssessment {
    fn read(id: RecordId, r: &Reader) -> SharedAssessment {
        let k = Kind::SharedAssessment;
        SharedAssessment {
            id,
            projection: get_text(r, k, "projection").and_then(|s| s.parse().ok()),
            needs: get_text(r, k, "needs"),
            resources: get_text(r, k, "resources"),
            autonomy: get_text(r, k, "autonomy"),
            housing_sought: get_text(r, k, "housing_sought"),
            own_words: get_text(r, k, "own_words"),
        }
    }
}

/// What one publication did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Publication {
    pub partner: String,
    /// Persons whose projection was written (new or updated).
    pub published: Vec<PublishedPerson>,
    /// Persons whose projection was erased (a withdrawal, or an erasure from the team's file).
    pub erased: usize,
    /// Persons whose projection was already up to date.
    pub unchanged: usize,
}

/// One person's projection written by a publication.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublishedPerson {
    pub person: RecordId,
    pub projection: RecordId,
    pub categories: Vec<String>,
    /// Whether the projection is new (first publication, or after a withdrawal).
    pub new: bool,
    /// How many fields were written.
    pub fields: usize,
}

/// One erasure order of a partnership space and who acknowledged it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderAcks {
    /// Its sequence number in the space's control log.
    pub order: u64,
    /// `done`, `refused` or `waiting` on this device.
    pub status: String,
    /// The partner devices that acknowledged it (ids, hex).
    pub acknowledged_by: Vec<String>,
    /// The partner devices that have not yet (ids, hex).
    pub waiting_for: Vec<String>,
}

/// A partnership as its coordinator sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartnershipStatus {
    pub partner: String,
    /// The projections the space holds, with their categories.
    pub projections: Vec<(RecordId, Vec<String>)>,
    /// Erasure orders made here and not yet posted to the relay (the next sync posts them).
    pub unposted_orders: usize,
    /// The orders read from the space's control log, with their acknowledgements.
    pub orders: Vec<OrderAcks>,
}

impl Store {
    /// Makes this new store a partnership store for `partner` (a partner code: `siao`, or one
    /// of the organisation's own). Refused once it syncs with a space or holds records.
    pub fn make_partnership_store(&self, partner: &str) -> Result<()> {
        check_partner_code(partner)?;
        self.set_purpose(Purpose::Partnership(partner.to_string()), "partnership")
    }

    /// The partner of this partnership store (an error on any other store).
    pub fn partner(&self) -> Result<String> {
        self.purpose()
            .partner()
            .map(str::to_string)
            .ok_or_else(|| CoreError::invalid("partnership", "this is not a partnership store"))
    }

    /// A new partnership space at `relay`, with this partnership store's device (the office)
    /// its founder and coordinator; the caller registers it with a space code, then joins it.
    pub fn new_partnership_space(&self, relay: &str) -> Result<crate::Membership> {
        let partner = self.partner()?;
        self.new_space(relay, &partner)
    }

    /// Publishes to the partnership store `partnership` (this being the team's store, on a
    /// coordinator's device) what each person's consent now gives its partner: every person
    /// with a consent decision about that partner or a projection there, or `only` that one.
    /// Withdrawn categories erase the projection first (see the module's comment).
    pub fn publish(
        &self,
        partnership: &Store,
        only: Option<RecordId>,
        via: Via,
    ) -> Result<Publication> {
        let partner = self.check_publisher(partnership)?;
        let persons = match only {
            Some(p) => vec![p],
            None => {
                let mut all = if partner == RESTRICTED {
                    table::active_persons(&self.lock())?
                } else {
                    table::persons_with_consents(&self.lock(), &partner)?
                };
                let published = table::published_persons(&partnership.lock())?;
                for (p, _) in published {
                    if !all.contains(&p) {
                        all.push(p);
                    }
                }
                all
            }
        };
        let mut out = Publication {
            partner: partner.clone(),
            ..Default::default()
        };
        for person in persons {
            self.publish_person(partnership, &partner, person, via, &mut out)?;
        }
        Ok(out)
    }

    /// Erases, in `partnership`, the projections of the persons erased from this team's file.
    /// Returns how many.
    pub fn unpublish_erased(&self, partnership: &Store) -> Result<usize> {
        self.check_publisher(partnership)?;
        let mut erased = 0;
        let published = table::published_persons(&partnership.lock())?;
        for (person, _) in published {
            if self.is_erased(person)? {
                partnership.withdraw(person, "erased from the team's file")?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// The partner of `partnership`, if this team's store may publish to it.
    fn check_publisher(&self, partnership: &Store) -> Result<String> {
        if self.purpose() != Purpose::Team {
            return Err(CoreError::invalid(
                "partnership",
                "publications go from a team's store to a partnership store",
            ));
        }
        let partner = partnership.partner()?;
        if !self.acts_as_coordinator()? {
            return Err(CoreError::invalid(
                "partnership",
                "only a coordinator's device publishes to a partner",
            ));
        }
        if partnership.membership()?.is_some_and(|m| !m.coordinator) {
            return Err(CoreError::invalid(
                "partnership",
                "only the partnership space's coordinator publishes to it",
            ));
        }
        Ok(partner)
    }

    fn publish_person(
        &self,
        partnership: &Store,
        partner: &str,
        person: RecordId,
        via: Via,
        out: &mut Publication,
    ) -> Result<()> {
        let mut before = table::published(&partnership.lock(), person)?;
        // A record merged into another person is published as that person, under their
        // consent over both records; its own projection, if any, is withdrawn.
        let root = self.resolved_person(person)?;
        if root != person {
            if before.is_some() {
                partnership.withdraw(person, "merged into another person")?;
                out.erased += 1;
            }
            return self.publish_person(partnership, partner, root, via, out);
        }
        // The records merged into them are published as them: a projection of their own goes,
        // whichever of them is published (`only` this person included).
        for member in self.person_group(person)?.into_iter().skip(1) {
            if table::published(&partnership.lock(), member)?.is_some() {
                partnership.withdraw(member, "merged into another person")?;
                out.erased += 1;
            }
        }
        if self.is_erased(person)? {
            if before.is_some() {
                partnership.withdraw(person, "erased from the team's file")?;
                out.erased += 1;
            }
            return Ok(());
        }
        let consented: Vec<String> = if partner == RESTRICTED {
            let active = self.person(person)?.status.as_deref().unwrap_or("active") == "active";
            RESTRICTED_CATEGORIES
                .iter()
                .filter(|_| active)
                .map(|c| c.to_string())
                .collect()
        } else {
            let now = self.merged_consents(person)?;
            CATEGORIES
                .iter()
                .filter(|c| {
                    now.iter().any(|d| {
                        d.partner.as_deref() == Some(partner)
                            && d.category.as_deref() == Some(**c)
                            && d.given == Some(true)
                    })
                })
                .map(|c| c.to_string())
                .collect()
        };
        if let Some(b) = &before {
            if b.categories.iter().any(|c| !consented.contains(c)) {
                partnership.withdraw(person, "consent withdrawn")?;
                out.erased += 1;
                before = None;
            }
        }
        if consented.is_empty() {
            return Ok(());
        }
        let values = self.shared_values(person, &consented)?;
        let texts: BTreeMap<String, String> = values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let categories = Value::Text(consented.join(","));
        let wants_assessment = consented.iter().any(|c| c == "shared_assessment");
        let access = Access::Publication {
            person,
            partner: partner.to_string(),
            categories: consented.clone(),
        };
        match before {
            None => {
                let mut edits = vec![Edit::Set("categories".into(), categories)];
                edits.extend(values.into_iter().map(|(k, v)| Edit::Set(k, v)));
                let fields = edits.len() - 1;
                self.log_access(&[access], via)?;
                let projection = partnership.create_record(Kind::Projection, edits)?;
                let assessment = wants_assessment
                    .then(|| partnership.new_assessment(projection))
                    .transpose()?;
                let kept = Published {
                    projection,
                    assessment,
                    categories: consented.clone(),
                    fields: texts,
                };
                table::keep_published(&partnership.lock(), person, &kept, self.now_ms())?;
                out.published.push(PublishedPerson {
                    person,
                    projection,
                    categories: consented,
                    new: true,
                    fields,
                });
            }
            Some(b) => {
                let mut edits: Vec<Edit> = Vec::new();
                if b.categories != consented {
                    edits.push(Edit::Set("categories".into(), categories));
                }
                for (k, v) in values {
                    if b.fields.get(&k) != texts.get(&k) {
                        edits.push(Edit::Set(k, v));
                    }
                }
                for k in b.fields.keys().filter(|k| !texts.contains_key(*k)) {
                    edits.push(Edit::Clear(k.clone()));
                }
                let add_assessment = wants_assessment && b.assessment.is_none();
                if edits.is_empty() && !add_assessment {
                    out.unchanged += 1;
                    return Ok(());
                }
                self.log_access(&[access], via)?;
                if !edits.is_empty() {
                    partnership.edit_kind(b.projection, Some(Kind::Projection), &edits)?;
                }
                let assessment = match b.assessment {
                    Some(a) => Some(a),
                    None if add_assessment => Some(partnership.new_assessment(b.projection)?),
                    None => None,
                };
                let kept = Published {
                    projection: b.projection,
                    assessment,
                    categories: consented.clone(),
                    fields: texts,
                };
                table::keep_published(&partnership.lock(), person, &kept, self.now_ms())?;
                out.published.push(PublishedPerson {
                    person,
                    projection: b.projection,
                    categories: consented,
                    new: false,
                    fields: edits.len(),
                });
            }
        }
        Ok(())
    }

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// The projection's values of `person` for the `consented` categories (empty ones left out).
    fn shared_values(
        &self,
        person: RecordId,
        consented: &[String],
    ) -> Result<BTreeMap<String, Value>> {
        let p: Person = self.person(person)?;
        let mut out = BTreeMap::new();
        let mut put = |field: &str, value: Option<Value>| {
            if let Some(v) = value.filter(|v| !v.to_string().trim().is_empty()) {
                out.insert(field.to_string(), v);
            }
        };
        let text = |s: &Option<String>| s.clone().map(Value::Text);
        let joined = |l: &[String]| Some(Value::Text(l.join(", ")));
        let has = |c: &str| consented.iter().any(|x| x == c);
        if has("identity_contact") {
            put("name", text(&p.name));
            put("nickname", text(&p.nickname));
            put("other_names", joined(&p.other_names));
            put("birth_year", p.birth_year.map(Value::Int));
            put("gender", p.gender.clone().map(Value::Code));
            put("languages", joined(&p.languages));
            put("phone", text(&p.phone));
        }
        // A situation that reveals health or a conviction (hospital, prison, or a code that
        // is not built in) is never shared, as referrals to psychiatry are not.
        let shareable = |s: &str| !crate::sensitive::is_sensitive_code(Vocab::Situation, s);
        if has("situation_journey") {
            put(
                "situation",
                p.situation
                    .clone()
                    .filter(|s| shareable(s))
                    .map(Value::Code),
            );
            put("on_street_since", p.on_street_since.map(Value::Date));
            let journey: Vec<String> = self
                .journey(person)?
                .into_iter()
                .filter(|s| shareable(&s.situation))
                .map(|s| {
                    format!(
                        "{} {} → {} {}",
                        s.situation,
                        s.from,
                        s.to.map(|d| d.to_string()).unwrap_or_default(),
                        s.place.unwrap_or_default()
                    )
                    .trim()
                    .to_string()
                })
                .collect();
            put("journey", Some(Value::Text(journey.join("\n"))));
        }
        if has("housing_application") {
            let (referrals, actions) = self.housing_lines(person)?;
            put("referrals", Some(Value::Text(referrals)));
            put("housing_actions", Some(Value::Text(actions)));
            put(
                "housing_applications",
                Some(Value::Text(self.application_lines(person)?)),
            );
        }
        Ok(out)
    }

    /// The person's referrals (those that reveal no health: never a referral to a CMP or a
    /// PASS) and housing actions, one a line.
    fn housing_lines(&self, person: RecordId) -> Result<(String, String)> {
        let follow_ups = crate::store::person_follow_ups(&self.lock(), person)?;
        let mut referrals = Vec::new();
        let mut actions = Vec::new();
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        for (id, kind) in follow_ups {
            match kind {
                Kind::Referral => {
                    let r = self.referral(id)?;
                    let target = opt(&r.target);
                    if crate::sensitive::is_sensitive_code(Vocab::ReferralTarget, &target) {
                        continue;
                    }
                    referrals.push(
                        format!(
                            "{} {target} {} — {} {}",
                            r.date.map(|d| d.to_string()).unwrap_or_default(),
                            opt(&r.target_name),
                            opt(&r.status),
                            opt(&r.outcome)
                        )
                        .trim()
                        .to_string(),
                    );
                }
                Kind::Action => {
                    let a = self.action(id)?;
                    if !a
                        .category
                        .as_deref()
                        .is_some_and(|c| HOUSING_ACTIONS.contains(&c))
                    {
                        continue;
                    }
                    actions.push(
                        format!(
                            "{} {} — {}",
                            a.due_at.map(|d| d.to_string()).unwrap_or_default(),
                            opt(&a.title),
                            opt(&a.status)
                        )
                        .trim()
                        .to_string(),
                    );
                }
                _ => {}
            }
        }
        Ok((referrals.join("\n"), actions.join("\n")))
    }

    /// The housing applications of the person and of the households they belong to now, one
    /// a line: kind, number, day filed, status.
    fn application_lines(&self, person: RecordId) -> Result<String> {
        let mut apps = self.applications(Some(crate::Concerns::Person(person)))?;
        let today = self.now().date_naive();
        for m in self.person_households(person)? {
            if let (Some(h), true) = (m.household, m.on(today)) {
                apps.extend(self.applications(Some(crate::Concerns::Household(h)))?);
            }
        }
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        Ok(apps
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} — {}",
                    opt(&a.kind),
                    opt(&a.number),
                    a.filed_on.map(|d| d.to_string()).unwrap_or_default(),
                    opt(&a.status)
                )
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Erases, in this partnership store, the projection of `person` and its assessment (an
    /// order of the partnership space when this device is its coordinator), and forgets what
    /// was published of them.
    fn withdraw(&self, person: RecordId, reason: &str) -> Result<()> {
        let published = table::published(&self.lock(), person)?;
        let Some(p) = published else {
            return Ok(());
        };
        if !self.is_erased(p.projection)? {
            self.erase_person(p.projection, reason, false)?;
        }
        table::forget_published(&self.lock(), person)
    }

    fn new_assessment(&self, projection: RecordId) -> Result<RecordId> {
        self.create_record(
            Kind::SharedAssessment,
            vec![Edit::Set("projection".into(), Value::Ref(projection))],
        )
    }

    /// The projections this partnership store holds, each with its assessment.
    pub fn projections(&self) -> Result<Vec<Projection>> {
        self.partner()?;
        let ids = table::projections(&self.lock())?;
        ids.into_iter().map(|id| self.projection(id)).collect()
    }

    /// One projection, with its assessment.
    pub fn projection(&self, id: RecordId) -> Result<Projection> {
        let mut p = self.read(id, Kind::Projection, |r| Projection::read(id, r))?;
        let assessment = table::assessment_of(&self.lock(), id)?;
        if let Some(a) = assessment {
            p.assessment =
                Some(self.read(a, Kind::SharedAssessment, |r| SharedAssessment::read(a, r))?);
        }
        Ok(p)
    }

    /// One projection, read and logged in this partnership store's access log.
    pub fn open_projection(&self, id: RecordId, via: Via) -> Result<Projection> {
        let p = self.projection(id)?;
        self.log_access(&[Access::Person { person: id }], via)?;
        Ok(p)
    }

    /// Edits a field of a projection (either side): only a field of a category the person
    /// consented to share with the partner.
    pub fn edit_projection(&self, id: RecordId, field: &str, value: &str) -> Result<()> {
        self.partner()?;
        let p = self.projection(id)?;
        let field = field.trim();
        let Some(category) = category_of(field) else {
            return Err(CoreError::invalid(
                "field",
                format!(
                    "a projection's editable fields are {}",
                    SHARED_FIELDS
                        .iter()
                        .flat_map(|(_, f)| f.iter().copied())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if !p.categories.iter().any(|c| c == category) {
            return Err(CoreError::invalid(
                field,
                "belongs to a category the person did not consent to share with this partner",
            ));
        }
        let edit = self.edit_from_text(Kind::Projection, field, value)?;
        self.edit_kind(id, Some(Kind::Projection), &[edit])
    }

    /// Edits a field of a projection's shared assessment (either side).
    pub fn edit_assessment(&self, projection: RecordId, field: &str, value: &str) -> Result<()> {
        self.edit_assessment_fields(projection, &[(field, value)])
    }

    /// Edits several fields of a projection's shared assessment in one change: every value is
    /// checked first, and nothing is written if one is refused.
    pub fn edit_assessment_fields(
        &self,
        projection: RecordId,
        fields: &[(&str, &str)],
    ) -> Result<()> {
        self.partner()?;
        if fields.iter().any(|(f, _)| f.trim() == "projection") {
            return Err(CoreError::invalid("field", "the projection is not edited"));
        }
        let assessment = table::assessment_of(&self.lock(), projection)?;
        let Some(a) = assessment else {
            return Err(CoreError::invalid(
                "assessment",
                "the person did not consent to share an assessment with this partner",
            ));
        };
        let edits = fields
            .iter()
            .map(|(field, value)| self.edit_from_text(Kind::SharedAssessment, field, value))
            .collect::<Result<Vec<_>>>()?;
        if edits.is_empty() {
            return Ok(());
        }
        self.edit_kind(a, Some(Kind::SharedAssessment), &edits)
    }

    /// Writes, in the caller's transaction, that this partner's device carried out the order at
    /// `seq` of its partnership space's control log.
    pub(crate) fn acknowledge_erasure(
        &self,
        tx: &rusqlite::Connection,
        seq: u64,
        now_ms: i64,
    ) -> Result<()> {
        let at = chrono::DateTime::from_timestamp_millis(now_ms)
            .ok_or_else(|| CoreError::corrupt("the time now"))?;
        self.create_record_in(
            tx,
            Kind::ErasureAck,
            vec![
                Edit::Set(
                    "order".into(),
                    Value::Int(i64::try_from(seq).unwrap_or(i64::MAX)),
                ),
                Edit::Set(
                    "device".into(),
                    Value::Text(self.identity().device.to_string()),
                ),
                Edit::Set("at".into(), Value::Time(at)),
            ],
        )?;
        Ok(())
    }

    /// The acknowledgements of erasure orders this partnership store holds.
    pub fn erasure_acks(&self) -> Result<Vec<ErasureAck>> {
        table::erasure_acks(&self.lock())
    }

    /// The partnership as its coordinator sees it: projections, erasure orders not yet posted,
    /// and each order read from the control log with the partner devices that acknowledged it
    /// and those that have not yet (every member device but this one and the revoked).
    pub fn partnership_status(&self) -> Result<PartnershipStatus> {
        let partner = self.partner()?;
        let projections = self
            .projections()?
            .into_iter()
            .map(|p| (p.id, p.categories))
            .collect();
        let me = self.identity().device.clone();
        let (devices, unposted) = {
            let conn = self.lock();
            let revoked = crate::store::roster::revocations_in(&conn)?;
            let unposted = match crate::store::sync_state::memberships(&conn)?.first() {
                Some(m) => crate::store::control::queued(&conn, &m.space, 10_000)?
                    .0
                    .iter()
                    .filter(|b| matches!(b, allervers_protocol::ControlBody::Erase { .. }))
                    .count(),
                None => 0,
            };
            drop(conn);
            let devices: Vec<String> = self
                .devices()?
                .into_iter()
                .filter(|d| d.device != me && !revoked.is_revoked(&d.device))
                .map(|d| d.device.to_string())
                .collect();
            (devices, unposted)
        };
        let acks = self.erasure_acks()?;
        let orders = self
            .erasure_orders()?
            .into_iter()
            .map(|(seq, status)| {
                // Each device once, however many acknowledgements it wrote.
                let acknowledged_by: Vec<String> = acks
                    .iter()
                    .filter(|a| a.order == seq)
                    .map(|a| a.device.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                OrderAcks {
                    order: seq,
                    status: match status {
                        crate::store::OrderStatus::Done => "done".to_string(),
                        crate::store::OrderStatus::Refused(why) => format!("refused: {why}"),
                        crate::store::OrderStatus::Waiting => "waiting".to_string(),
                    },
                    waiting_for: devices
                        .iter()
                        .filter(|d| !acknowledged_by.contains(d))
                        .cloned()
                        .collect(),
                    acknowledged_by,
                }
            })
            .collect();
        Ok(PartnershipStatus {
            partner,
            projections,
            unposted_orders: unposted,
            orders,
        })
    }
}

/// A partner's code names a folder on the office: the shape of a code (lowercase letters,
/// digits, underscores).
fn check_partner_code(partner: &str) -> Result<()> {
    let ok = !partner.is_empty()
        && partner.len() <= 64
        && partner
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "partner",
            "is not a partner code (lowercase letters, digits or underscores)",
        ))
    }
}
