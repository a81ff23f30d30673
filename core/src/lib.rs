//! allervers-core: the offline-first core of allervers.
//!
//! Records (persons, encounters, actions, referrals, observations) are Automerge documents kept
//! in an SQLCipher store ([`Store`]), the entry point of this crate. Concurrent edits merge
//! without loss; concurrent values of one field are kept and surfaced as [`Conflict`]s until
//! someone resolves them; [`Store::history`] and [`Store::timeline`] tell who changed what.
//!
//! Architecture invariant: this crate knows nothing of HTTP, tokio or uniffi. Time comes from a
//! [`Clock`] passed in.

pub mod access_log;
pub mod bundle;
pub mod clock;
pub mod conflicts;
pub mod crypto;
mod doc;
pub mod dossier;
pub mod entropy;
mod error;
pub mod field;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod history;
pub mod identity;
mod ids;
pub mod journey;
pub mod model;
pub mod partnership;
pub mod report;
pub mod seed;
pub mod sensitive;
pub mod store;
pub mod sync;
pub mod text;
pub mod timeline;
pub mod vocab;

pub use access_log::{Access, AccessEntry, AccessQuery, Via};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conflicts::{Conflict, ConflictValue};
pub use crypto::RawKey;
pub use doc::{Comment, Edit};
pub use dossier::Dossier;
pub use entropy::{Entropy, OsEntropy, SeededEntropy};
pub use error::{ApiError, CoreError, Result};
pub use history::{Author, HistoryEntry, Op};
pub use ids::{DeviceId, RecordId};
pub use journey::JourneyStep;
pub use model::custom::{Choice, CustomField, CustomType, CustomValue, CUSTOM_FIELD_KINDS};
pub use model::fields::{FieldSpec, FieldType, Kind, Value};
pub use model::housing::{
    Application, Concerns, Home, Household, HouseholdMember, NewApplication, NewHome, NewHousehold,
    NewHouseholdMember, NewOffer, NewOwnView, NewPeriod, NewRiskSignal, Offer, OwnView, Period,
    Proposal, RiskSignal,
};
pub use model::{
    Action, Consent, Encounter, HealthContact, HealthNote, HealthProfile, NewAction, NewConsent,
    NewEncounter, NewHealthNote, NewObservation, NewPerson, NewReferral, Observation, Person,
    PersonSummary, Record, Referral,
};
pub use store::duplicates::{LikelyDuplicate, OpenFollowUp, BIRTH_YEAR_SLACK};
pub use store::export;
pub use store::health::health_store_key;
pub use store::homes::{HomeAtRisk, HomeView};
pub use store::housing::{HouseholdSummary, HouseholdView, MemberView};
pub use store::offers::{Candidate, OfferSummary, OfferView, ProposalRow};
pub use store::purpose::{partnership_store_key, Purpose};
pub use store::retention::{RetentionDue, RetentionReview};
pub use store::statistics::{statistics_store_key, PublishedReport};
pub use store::sync_outcome::{SyncFailure, SyncOutcome, SyncStatus};
pub use store::{
    DeviceInfo, DueAction, Identity, ImportSummary, OrderStatus, PersonQuery, PersonSort, SetAside,
    SignedChange, Store, StoreOptions,
};
pub use sync::{
    relay_address, Erasure, Invite, Membership, RecoveryCode, Request, Response, SpaceCode,
    SyncProgress, SyncRound, SyncSummary,
};
pub use timeline::{TimelineEntry, TimelineItem};
