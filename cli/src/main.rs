//! `allervers`: the office and supervisor command line over the local encrypted store.
//!
//! Every reading command takes `--json`. Bad input gets one line on stderr and a non-zero exit.

mod consent;
pub(crate) mod dashboard;
mod demo;
mod dossier;
mod fields;
mod health;
mod homes;
mod housing;
mod keys;
mod partnership;
mod qr;
mod render;
mod retention;
mod statistics;
mod sync;
mod voice;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use allervers_core::model::fields::{parse_date, parse_time, Kind};
use allervers_core::seed::{self, SeedPlan};
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{
    AccessQuery, ApiError, CoreError, Edit, NewAction, NewEncounter, NewObservation, NewPerson,
    NewReferral, PersonQuery, PersonSort, Purpose, RecordId, Store, Value, Via,
};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

#[derive(Parser)]
#[command(name = "allervers", version, about = "allervers: street outreach records, offline first, encrypted", long_about = None)]
struct Cli {
    /// The folder holding the store (default: the user's data folder, `allervers/`).
    #[arg(long, global = true, env = "ALLERVERS_DATA")]
    data: Option<PathBuf>,
    /// Work on this device's health store (a health professional's: the team's health space)
    /// instead of the team's: `invite`, `devices`, `approve`, `coordinator`, `revoke`,
    /// `quarantine`, `sync`, `access-log`, `space recovery-code`.
    #[arg(long, global = true)]
    health: bool,
    /// Work on this office's partnership store for PARTNER (`partnership open PARTNER`) instead
    /// of the team's: `invite`, `devices`, `approve`, `coordinator`, `revoke`, `quarantine`,
    /// `sync`, `access-log`, `partnership list|show|edit|assessment`. Given before the command
    /// (`allervers --partner siao invite`): `consent record` has a `--partner` of its own.
    #[arg(long, value_name = "PARTNER")]
    partner: Option<String>,
    /// Work on this office's statistics store (`statistics open`) instead of the team's:
    /// `invite`, `devices`, `approve`, `revoke`, `quarantine`, `sync`, `statistics list|show`.
    #[arg(long)]
    statistics: bool,
    /// Print JSON instead of text (reading commands).
    #[arg(long, global = true)]
    json: bool,
    /// Language of labels.
    #[arg(long, global = true, value_enum, default_value_t = LangArg::Fr)]
    lang: LangArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Fr,
    En,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Creates the store of this device (asks for a passphrase or reads ALLERVERS_KEY).
    Init {
        /// How this device is shown to others ("Téléphone maraude nord 2").
        #[arg(long)]
        device_name: String,
        /// The worker using it (defaults to the device name).
        #[arg(long)]
        worker: Option<String>,
    },
    /// Persons met in the street.
    #[command(subcommand)]
    Person(PersonCmd),
    /// Encounters (rencontres).
    #[command(subcommand)]
    Encounter(EncounterCmd),
    /// Follow-up actions (suivis).
    #[command(subcommand)]
    Action(ActionCmd),
    /// Referrals (orientations).
    #[command(subcommand)]
    Referral(ReferralCmd),
    /// Territory observations.
    #[command(subcommand)]
    Observation(ObservationCmd),
    /// A person's consent to share, per partner and category.
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// Households (ménages): their members, with the days they joined and left.
    #[command(subcommand)]
    Household(housing::HouseholdCmd),
    /// The housing journey: periods from the street to a home, housing applications.
    #[command(subcommand)]
    Journey(housing::JourneyCmd),
    /// Support at home: homes, their visits and risks, the homes at risk, a home lost.
    #[command(subcommand)]
    Home(homes::HomeCmd),
    /// Housing offers from landlords, proposed to the persons and households they suit.
    #[command(subcommand)]
    Offer(homes::OfferCmd),
    /// The person's own view of the support after a step, and the organisation's questions.
    #[command(subcommand)]
    Voice(voice::VoiceCmd),
    /// Health notes, for health professionals only: the team's health space.
    #[command(subcommand)]
    Health(health::HealthCmd),
    /// Reports for statistics-only devices: the office's statistics space.
    #[command(subcommand)]
    Statistics(statistics::StatisticsCmd),
    /// Sharing with partners, as each person consented: a partnership space per partner.
    #[command(subcommand)]
    Partnership(partnership::PartnershipCmd),
    /// The code lists (services, needs, situations, referral targets...) and the
    /// organisation's own codes.
    #[command(subcommand)]
    Code(CodeCmd),
    /// The organisation's own fields of persons and encounters (`custom.NAME=VALUE`).
    #[command(subcommand)]
    Field(fields::FieldCmd),
    /// The merged visit history of one person.
    Timeline { person: String },
    /// The field-level history of one record.
    History { record: String },
    /// Fields with concurrent values, oldest first.
    Conflicts,
    /// Settles a conflict by choosing a value.
    Resolve {
        record: String,
        field: String,
        value: String,
    },
    /// Carries changes between stores as a sealed file.
    #[command(subcommand)]
    Changes(ChangesCmd),
    /// Writes a record's Automerge document.
    ExportDoc {
        record: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Fills the store with generated (fictitious) data for demos and benchmarks.
    Seed {
        #[arg(long, default_value_t = 100)]
        persons: usize,
        #[arg(long, default_value_t = 1000)]
        encounters: usize,
        /// Spread the encounters over this many days up to today.
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// A scripted field day on a temporary store: start here.
    Demo,
    /// Spaces: sharing scopes synced through a relay.
    #[command(subcommand)]
    Space(SpaceCmd),
    /// Creates a one-time invite code (and its QR code) for a new device (coordinator).
    Invite {
        /// Where to write the QR code PNG (0600); without it no file is written.
        #[arg(long)]
        qr: Option<PathBuf>,
    },
    /// Joins a space with an invite code.
    Join { code: String },
    /// Recovers a space whose coordinators' devices are all lost, with the recovery code printed
    /// when it was created: this new device becomes its coordinator.
    Recover { code: String },
    /// The devices of the space and the enrolments waiting for approval (coordinator).
    Devices,
    /// Delivers the space's keys to a device that enrolled with another coordinator's invite
    /// (coordinator); a device that enrolled with this device's invite gets them at its sync.
    Approve {
        /// The device id, or its first hex digits (see `allervers devices`).
        device: String,
    },
    /// Makes another device of the space a coordinator too (coordinator): a grant signed here,
    /// checked by every device; keep at least two, so that losing one phone loses no power.
    Coordinator {
        /// The device id, or its first hex digits (see `allervers devices`).
        device: String,
    },
    /// Revokes a device (coordinator): the relay refuses it and hands it a wipe order signed
    /// here, and a new key epoch starts for the remaining devices.
    Revoke {
        /// The device id, or its first hex digits (see `allervers devices`).
        device: String,
        /// Do not ask for confirmation (what the device has not pushed is lost).
        #[arg(long)]
        yes: bool,
    },
    /// Envelopes set aside by sync: quarantined (a check failed) or held (a key is missing)
    /// (coordinator).
    Quarantine,
    /// Pushes this device's changes and pulls everyone else's.
    Sync,
    /// The worker using this device (each change records it); with a name, sets it (a shared
    /// device used by several workers in turn).
    Worker { name: Option<String> },
    /// The activity report for a period (each figure beside the previous period's).
    Report {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        team: Option<String>,
        /// Print CSV for funders (section, item, current, previous; counts under 5 as `< 5`)
        /// instead of text.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
    /// Serves the dashboard on 127.0.0.1 (the printed address holds its token): the pages of
    /// this device's role. A team's device: persons, conflicts, report, access log, retention,
    /// the person's health follow-up on a health professional's device, the partnerships on
    /// the office. A partner's or restricted device: the persons shared with it and their
    /// shared assessment. A statistics device: the published reports.
    Dashboard {
        /// Port to listen on (default: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Who opened which person's file, timeline or dossier, and every export, from every
    /// device whose log reached this store (coordinator).
    AccessLog {
        /// Only the entries about this person (an id or unique name).
        #[arg(long)]
        person: Option<String>,
        /// Only the entries of this worker.
        #[arg(long)]
        worker: Option<String>,
        /// From this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// To this day, included (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
    },
    /// Writes persons, encounters, actions, referrals, or the housing journey's records of a
    /// period to a CSV file.
    Export {
        /// persons, encounters, actions, referrals; journeys, households, homes, applications,
        /// proposals or own_views
        kind: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Replace names, ids and free text with pseudonyms drawn for this export alone (for
        /// funders, researchers); times become days and what reveals health is left out.
        #[arg(long)]
        pseudonymise: bool,
        /// Draw the pseudonyms from a named series (its key is kept in the store), so that
        /// the same person has the same pseudonym in every export of the series.
        #[arg(long)]
        series: Option<String>,
        /// Keep times to the minute in a pseudonymised export.
        #[arg(long)]
        precise_times: bool,
        /// Keep health needs, care, health referrals and appointments, alert levels, and periods
        /// in hospital or prison in a pseudonymised export.
        #[arg(long)]
        include_sensitive: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// The retention review: persons with no contact for the organisation's retention period
    /// (coordinator).
    Retention {
        #[command(subcommand)]
        command: Option<retention::RetentionCmd>,
    },
}

#[derive(Subcommand)]
enum SpaceCmd {
    /// Registers a new space at a relay, with this device as its coordinator (reads the relay's
    /// admin token from ALLERVERS_RELAY_ADMIN_TOKEN).
    Create {
        name: String,
        #[arg(long)]
        relay: String,
    },
    /// Makes a new recovery code for the space (coordinator): the one before stops working.
    RecoveryCode,
    /// Follows the space's relay to its new address, after its operator moved it with its data:
    /// checked first (the new address must know this device and hold what it already
    /// received), then kept; nothing is pulled or pushed twice.
    SetRelay {
        /// The relay's new address (http:// or https://).
        url: String,
    },
}

#[derive(Subcommand)]
enum PersonCmd {
    /// Records a person (a name or a nickname is enough).
    Add(PersonFields),
    /// Lists persons, most recently met first.
    List {
        /// Words of a name, nickname or other name (accents and case ignored).
        #[arg(long)]
        search: Option<String>,
        #[arg(long, value_enum, default_value_t = SortArg::Recent)]
        sort: SortArg,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Include persons out of the active list.
        #[arg(long)]
        all: bool,
        /// Only the active persons not met for DAYS days or more (never met ones counted from
        /// when they were recorded), the longest unseen first: whom to go and see again.
        #[arg(long, value_name = "DAYS", conflicts_with_all = ["search", "all", "sort"])]
        not_seen_for: Option<u32>,
    },
    /// Pairs of active persons likely to be one person recorded twice (a shared name, nickname
    /// or other name, accents and case ignored, and birth years at most two apart or unknown).
    Duplicates,
    /// Merges OTHER into KEEP (one person recorded twice): OTHER leaves the lists, its history
    /// stays readable, and every list, timeline and report counts them as one. A change like
    /// any other: it reaches every device at the next sync.
    Merge {
        /// The person kept (id, or words of a name).
        keep: String,
        /// The record merged into KEEP (id, or words of a name).
        other: String,
    },
    /// Undoes a merge: OTHER (its id, as `person show` lists it) stands for themselves again.
    Unmerge { other: String },
    /// Shows one person.
    Show { person: String },
    /// Writes everything held about a person (their right of access) as a readable HTML
    /// document in French (FILE) and as JSON beside it (the same name ending in .json), both
    /// 0600 (coordinator). The writing is logged in the access log.
    Dossier {
        person: String,
        /// The HTML file to write (for instance dossier.html).
        #[arg(long)]
        out: PathBuf,
        /// Replace FILE and its JSON if they exist.
        #[arg(long)]
        force: bool,
    },
    /// Changes a person's fields.
    Edit {
        person: String,
        #[command(flatten)]
        fields: PersonFields,
        /// Removes a need.
        #[arg(long = "remove-need")]
        remove_needs: Vec<String>,
        /// Takes the person out of the active list, with a reason.
        #[arg(long)]
        inactive: Option<String>,
        /// Puts the person back in the active list.
        #[arg(long)]
        active: bool,
        /// Sets any field: FIELD=VALUE (repeatable).
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Clears a field (repeatable).
        #[arg(long = "clear", value_name = "FIELD")]
        clear: Vec<String>,
    },
    /// Erases a person's file on every device of the space and at the relay (the right to
    /// erasure; coordinator): the person, their encounters, actions and referrals; an encounter
    /// shared with others is re-issued without them. Outside a space, on this store only.
    Erase {
        person: String,
        /// Why (kept in the sealed order, which only the space's devices read).
        #[arg(long)]
        reason: String,
        /// Keeps the notes of shared encounters when they are re-issued (they may speak of the
        /// erased person: left out unless this is given).
        #[arg(long)]
        keep_shared_notes: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SortArg {
    Recent,
    Name,
}

#[derive(Args, Default)]
struct PersonFields {
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    nickname: Option<String>,
    #[arg(long = "other-name")]
    other_names: Vec<String>,
    #[arg(long)]
    birth_year: Option<i64>,
    #[arg(long)]
    birth_date: Option<String>,
    #[arg(long)]
    gender: Option<String>,
    #[arg(long = "language")]
    languages: Vec<String>,
    #[arg(long)]
    phone: Option<String>,
    /// How to recognise them.
    #[arg(long)]
    description: Option<String>,
    /// none, watch, very_vulnerable
    #[arg(long)]
    alert: Option<String>,
    /// street, squat, car, emergency_shelter, hotel, supported_housing, social_housing, other
    #[arg(long)]
    situation: Option<String>,
    /// housing, health, mental_health, addiction, papers, income, food, hygiene, accessible_home,
    /// other (repeatable)
    #[arg(long = "need")]
    needs: Vec<String>,
    /// Consent to record (yes/no).
    #[arg(long)]
    consent_record: Option<String>,
    /// Consent to share with partners (yes/no).
    #[arg(long)]
    consent_share: Option<String>,
    #[arg(long = "team")]
    teams: Vec<String>,
    /// One of the organisation's fields: NAME=VALUE (repeatable; see `allervers field list`).
    #[arg(long = "custom", value_name = "NAME=VALUE")]
    custom: Vec<String>,
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum EncounterCmd {
    /// Logs a contact: with known persons (--person), anonymous people (--anonymous), or both.
    Log {
        /// A person met: id or unique name (repeatable).
        #[arg(long = "person")]
        persons: Vec<String>,
        #[arg(long, default_value_t = 0)]
        anonymous: i64,
        /// When (YYYY-MM-DD HH:MM, UTC); defaults to now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        place: Option<String>,
        #[arg(long)]
        latitude: Option<f64>,
        #[arg(long)]
        longitude: Option<f64>,
        #[arg(long)]
        territory: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long = "worker")]
        workers: Vec<String>,
        /// first_contact, follow_up, intervention, home_visit
        #[arg(long)]
        kind: Option<String>,
        /// food, drink, hygiene_kit, clothing, blanket, information, referral, care, rent_bills,
        /// admin_help, mediation, health_coordination, furnishing, social_ties, other (repeatable)
        #[arg(long = "service")]
        services: Vec<String>,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        follow_up: bool,
        /// One of the organisation's fields: NAME=VALUE (repeatable; see `allervers field list`).
        #[arg(long = "custom", value_name = "NAME=VALUE")]
        custom: Vec<String>,
        /// The household met, as a whole (its id or name).
        #[arg(long)]
        household: Option<String>,
    },
    /// Shows one encounter.
    Show { encounter: String },
}

#[derive(Subcommand)]
enum ActionCmd {
    /// Adds a follow-up action about a person.
    Add {
        person: String,
        #[arg(long)]
        title: String,
        /// housing_application, siao_referral, health_appointment, papers, benefits, other
        #[arg(long)]
        category: String,
        /// Due date (YYYY-MM-DD).
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        assign: Option<String>,
    },
    /// Marks an action done.
    Done {
        action: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Open actions with a due date, oldest first.
    Due {
        /// Only those due on or before this date.
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReferralCmd {
    /// Records a referral of a person.
    Add {
        person: String,
        /// siao_115, emergency_shelter, chrs, social_landlord, psychiatry_cmp, pass_health, day_centre, other
        #[arg(long = "to")]
        target: String,
        /// The name of the service.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        date: Option<String>,
        /// sent, pending, accepted, refused, no_answer
        #[arg(long)]
        status: Option<String>,
        /// The household referred with the person, as a whole (its id or name).
        #[arg(long)]
        household: Option<String>,
    },
    /// Records what became of a referral.
    Update {
        referral: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        outcome: Option<String>,
    },
}

#[derive(Subcommand)]
enum ObservationCmd {
    /// Records anonymous counts on a territory.
    Add {
        #[arg(long)]
        territory: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        date: Option<String>,
        /// NAME=N (repeatable), for instance tentes=12.
        #[arg(long = "count", value_name = "NAME=N")]
        counts: Vec<String>,
        #[arg(long)]
        notes: Option<String>,
    },
}

#[derive(Subcommand)]
enum CodeCmd {
    /// The codes of one list (service, need, situation, referral_target...), or of every list,
    /// with their French and English labels.
    List { list: Option<String> },
    /// Adds the organisation's own code to a list. It is kept in the space's roster and reaches
    /// every device with the next sync.
    Add {
        /// service, need, situation, referral_target, action_category...
        list: String,
        /// 1 to 64 lowercase letters, digits or underscores, for instance phone_charge.
        code: String,
        #[arg(long)]
        fr: String,
        #[arg(long)]
        en: String,
    },
}

#[derive(Subcommand)]
enum ChangesCmd {
    /// Writes every change of this store to a sealed file.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Applies the changes of a sealed file (all of it, or nothing).
    Import { file: PathBuf },
}

/// Writes `bytes` to `path` (mode 0600) through a temporary file in the same folder, so that a
/// crash or a full disk never leaves a half-written file under the final name.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file(path, bytes, true)
}

/// Writes `bytes` to `path` as `write_atomically` does; unless `replace`, an existing file is
/// left alone and the write refused.
pub fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    // Everything written holds something private (key settings, sealed changes, exports, an
    // invite's QR code with the space key): readable by its owner only, whatever the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let persisted = if replace {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => anyhow!(
            "{} exists already: choose another name or pass --force",
            path.display()
        ),
        _ => anyhow!("cannot write {}: {}", path.display(), e.error),
    })?;
    Ok(())
}

/// Which of the device's stores a command works on.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// The device's own store (`DIR/`): a team's, or a partner's device's partnership store.
    Team,
    /// The health store beside the team's (`DIR/health/`).
    Health,
    /// The office's partnership store for a partner (`DIR/partnerships/<partner>/`).
    Partner(String),
    /// The office's statistics store (`DIR/statistics/`).
    Statistics,
}

/// Prints an activity report: as CSV for funders (`csv`: counts under 5 as `< 5`), or its figures
/// and sections as every other output shows them (text, `--json`).
fn print_report(ctx: &Ctx, report: &allervers_core::report::Report, csv: bool) -> Result<()> {
    if csv {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        for row in report.funder_csv_rows(ctx.lang, render::extra_terms()) {
            w.write_record(&row)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| anyhow!("cannot write CSV: {e}"))?;
        std::io::stdout().write_all(&bytes)?;
        return Ok(());
    }
    #[derive(Serialize)]
    struct ReportJson<'a> {
        #[serde(flatten)]
        report: &'a allervers_core::report::Report,
        sections: Vec<allervers_core::report::Section>,
    }
    let json = ReportJson {
        report,
        sections: report.sections_with_fields(
            ctx.lang,
            render::extra_terms(),
            render::custom_fields(),
        ),
    };
    ctx.print(&json, || render::report(report, ctx.lang))
}

/// Makes the office's store `target` beside its team's store `team` (a partnership or
/// statistics store), gives it its purpose (`purpose`), and founds its space with a space code
/// the team's store makes and this store redeems (`found`); then makes the space's recovery
/// code. Nothing is left behind when the founding fails. `flag` is how the command line names
/// the store (`--partner siao`), for the line that says what to do when only the recovery code
/// failed.
fn found_beside_team(
    ctx: &Ctx,
    team: &Store,
    target: Target,
    purpose: impl FnOnce(&Store) -> allervers_core::Result<()>,
    found: impl FnOnce(
        &Store,
        &dyn allervers_client::Exchange,
        &allervers_core::SpaceCode,
    ) -> allervers_core::Result<allervers_core::Membership>,
    flag: &str,
) -> Result<(allervers_core::Membership, String)> {
    let target = ctx.on(target);
    let path = target.store_path();
    let key = target.key()?;
    let me = team.identity();
    let store = Store::create(&path, &key, &me.device_name, &team.worker())?;
    let http = allervers_client::HttpClient::default();
    let founded = (|| -> allervers_core::Result<allervers_core::Membership> {
        purpose(&store)?;
        // The office redeems its own code at once: a day is plenty.
        let expires_at = Utc::now() + chrono::Duration::days(1);
        let code = allervers_client::space_code(team, &http, expires_at.timestamp_millis())?;
        found(&store, &http, &code)
    })();
    let m = match founded {
        Ok(m) => m,
        Err(e) => return Err(abandon_store(store, &path, e.into())),
    };
    let recovery = allervers_client::recovery_code(&store, &http)
        .map_err(|e| {
            anyhow!(
                "space opened, but its recovery code could not be made ({}): run `allervers {flag} space recovery-code`",
                ApiError::from(e)
            )
        })?
        .code();
    Ok((m, recovery))
}

/// Removes a store made beside the team's (a health, partnership or statistics store) that
/// could not found or join its space: nothing was written in it yet. Says why.
fn abandon_store(store: Store, path: &Path, error: anyhow::Error) -> anyhow::Error {
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
    error
}

#[derive(Clone)]
struct Ctx {
    dir: PathBuf,
    target: Target,
    json: bool,
    lang: Lang,
}

impl Ctx {
    /// The folder of the store this context works on: the team's, its health store's or one of
    /// its partnership stores'.
    fn store_dir(&self) -> PathBuf {
        match &self.target {
            Target::Team => self.dir.clone(),
            Target::Health => self.dir.join("health"),
            Target::Partner(p) => self.dir.join("partnerships").join(p),
            Target::Statistics => self.dir.join("statistics"),
        }
    }

    fn store_path(&self) -> PathBuf {
        self.store_dir().join("store.db")
    }

    /// The same context on another of the device's stores.
    fn on(&self, target: Target) -> Ctx {
        Ctx {
            target,
            ..self.clone()
        }
    }

    /// The key of the store this context works on: the team store's (from the passphrase), or
    /// the health store's or a partnership store's, derived from it.
    fn key(&self) -> Result<allervers_core::RawKey> {
        Ok(self.key_under(keys::store_key(&self.dir)?))
    }

    /// The key of the store this context works on, from the team store's.
    fn key_under(&self, team_key: allervers_core::RawKey) -> allervers_core::RawKey {
        match &self.target {
            Target::Team => team_key,
            Target::Health => allervers_core::health_store_key(&team_key),
            Target::Partner(p) => allervers_core::partnership_store_key(&team_key, p),
            Target::Statistics => allervers_core::statistics_store_key(&team_key),
        }
    }

    fn open(&self) -> Result<Store> {
        self.open_with(|| keys::store_key(&self.dir))
    }

    /// Opens the store this context works on with the team store's key (`team_key`, asked for
    /// only once the store is known to exist): the way to open several of the device's stores
    /// with one passphrase.
    fn open_with(
        &self,
        team_key: impl FnOnce() -> Result<allervers_core::RawKey>,
    ) -> Result<Store> {
        if !self.store_path().exists() {
            match &self.target {
                Target::Health => bail!(
                    "no health store in {} (a health professional's device: `allervers health found CODE` or `allervers health join CODE`)",
                    self.dir.display()
                ),
                Target::Partner(p) => bail!(
                    "no partnership with {p} on this device (the office opens one: `allervers partnership open {p}`)"
                ),
                Target::Statistics => bail!(
                    "no statistics store on this device (the office opens one: `allervers statistics open`)"
                ),
                Target::Team => {}
            }
            bail!(
                "no store in {} (run `allervers init --device-name NAME` first)",
                self.dir.display()
            );
        }
        let key = self.key_under(team_key()?);
        let store = Store::open(&self.store_path(), &key)?;
        render::know_extra_terms(store.extra_terms()?);
        render::know_custom_fields(store.custom_fields(None)?);
        Ok(store)
    }

    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> Result<()> {
        let out = if self.json {
            serde_json::to_string_pretty(value)?
        } else {
            text()
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", out.trim_end())?;
        Ok(())
    }
}

/// The stores the dashboard serves, by the purpose of the store `ctx` names: a team's with
/// this device's health store (a health professional's) and its partnership stores (the
/// office's), each opened under the one passphrase asked once; or a partnership or statistics
/// store alone.
fn dashboard_view(ctx: &Ctx) -> Result<dashboard::View> {
    if ctx.target == Target::Health {
        bail!("a health store has no dashboard of its own: the health follow-up is on each person's page of `allervers dashboard`");
    }
    let mut team_key = None;
    let mut key = || -> Result<allervers_core::RawKey> {
        if team_key.is_none() {
            team_key = Some(keys::store_key(&ctx.dir)?);
        }
        team_key
            .clone()
            .ok_or_else(|| anyhow!("the store's key is missing"))
    };
    let store = ctx.open_with(&mut key)?;
    let mut view = dashboard::View {
        store,
        health: None,
        partners: Vec::new(),
    };
    match view.store.purpose() {
        Purpose::Team => {
            let health = ctx.on(Target::Health);
            if health.store_path().exists() {
                view.health = Some(health.open_with(&mut key)?);
            }
            for p in partnership::partners(ctx)? {
                let store = ctx.on(Target::Partner(p.clone())).open_with(&mut key)?;
                view.partners.push((p, store));
            }
        }
        Purpose::Health => bail!("a health store has no dashboard of its own: the health follow-up is on each person's page of `allervers dashboard`"),
        Purpose::Partnership(_) | Purpose::Statistics => {}
    }
    Ok(view)
}

fn code_list(name: &str) -> Result<Vocab> {
    Vocab::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Vocab::ALL.iter().map(|v| v.name()).collect();
        anyhow!(
            "invalid list: {name:?} is not a code list ({})",
            names.join(", ")
        )
    })
}

/// The person that a PERSON argument (an id, or words of one person's names) names. Words that
/// match several persons list them, by id and name, on this supervisor's own terminal (the
/// core's error carries only their ids).
/// `person erase`: asks for confirmation, erases, then syncs so that the order reaches the relay
/// and the other devices. Prints counts, never a value.
fn erase_person(
    ctx: &Ctx,
    store: &Store,
    id: RecordId,
    reason: &str,
    keep_shared_notes: bool,
    yes: bool,
) -> Result<()> {
    let space = store.membership()?;
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            bail!("erasing needs a confirmation: run it in a terminal, or add --yes");
        }
        eprintln!(
            "Person {id}, their encounters, actions and referrals will be erased {} (shared encounters re-issued without them{}). This cannot be undone. Erase? [y/N]",
            if space.is_some() {
                "on every device of the space and at the relay"
            } else {
                "from this store"
            },
            if keep_shared_notes { ", notes kept" } else { ", notes left out" }
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "o" | "oui") {
            bail!("not erased");
        }
    }
    let done = store.erase_person(id, reason, keep_shared_notes)?;
    // Their projection at every partner goes too (posted at the next sync).
    let mut projections = 0;
    for partner in partnership::partners(ctx)? {
        projections += store.unpublish_erased(&ctx.on(Target::Partner(partner)).open()?)?;
    }
    let synced = space.as_ref().map(|_| {
        allervers_client::sync(store, &allervers_client::HttpClient::default(), &mut |_| {})
    });
    let posted = matches!(synced, Some(Ok(_)));
    ctx.print(
        &serde_json::json!({"erased": done, "posted": posted, "projections": projections}),
        || {
            let mut text = format!(
                "Person {id} erased: {} records ({} encounters, {} shared encounters re-issued without them, {} actions, {} referrals, {} consent decisions), {} changes deleted",
                done.records, done.encounters, done.reissued, done.actions, done.referrals, done.consents, done.changes
            );
            if projections > 0 {
                text.push_str(&format!(", {projections} projection(s) at partners erased (allervers sync posts the orders)"));
            }
            match &synced {
                None => text.push_str("; this store belongs to no space: erased here only"),
                Some(Ok(_)) => text.push_str(&format!(
                    "; the order ({} blinded ids) was posted: every device carries it out at its next sync",
                    done.blinded
                )),
                Some(Err(_)) => {}
            }
            text
        },
    )?;
    if let Some(Err(e)) = synced {
        bail!("erased here, but the order could not be posted yet ({}); it is kept and posted at the next sync", ApiError::from(e));
    }
    Ok(())
}

fn find_person(store: &Store, words: &str) -> Result<RecordId> {
    match store.find_person(words) {
        Err(CoreError::AmbiguousPerson(ids)) => {
            let names: Vec<String> = ids
                .iter()
                .map(|id| match store.person(*id) {
                    Ok(p) => format!("{} {id}", p.display_name()),
                    Err(_) => id.to_string(),
                })
                .collect();
            bail!(
                "{} persons match {words:?} ({}): give the id",
                ids.len(),
                names.join("; ")
            )
        }
        other => Ok(other?),
    }
}

fn record_id(s: &str) -> Result<RecordId> {
    Ok(s.parse::<RecordId>()?)
}

fn date(field: &str, s: &Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref()
        .map(|s| {
            parse_date(s)
                .ok_or_else(|| anyhow!("invalid {field}: {s:?} is not a date (YYYY-MM-DD)"))
        })
        .transpose()
}

fn period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate)> {
    let from = parse_date(from)
        .ok_or_else(|| anyhow!("invalid --from: {from:?} is not a date (YYYY-MM-DD)"))?;
    let to =
        parse_date(to).ok_or_else(|| anyhow!("invalid --to: {to:?} is not a date (YYYY-MM-DD)"))?;
    Ok((from, to))
}

fn yes_no(field: &str, s: &Option<String>) -> Result<Option<bool>> {
    s.as_deref()
        .map(|s| match s.to_lowercase().as_str() {
            "yes" | "oui" | "true" => Ok(true),
            "no" | "non" | "false" => Ok(false),
            _ => Err(anyhow!("invalid {field}: {s:?} is not yes or no")),
        })
        .transpose()
}

fn person_input(f: &PersonFields) -> Result<NewPerson> {
    Ok(NewPerson {
        name: f.name.clone(),
        nickname: f.nickname.clone(),
        other_names: f.other_names.clone(),
        birth_year: f.birth_year,
        birth_date: date("birth date", &f.birth_date)?,
        gender: f.gender.clone(),
        languages: f.languages.clone(),
        phone: f.phone.clone(),
        description: f.description.clone(),
        alert_level: f.alert.clone(),
        situation: f.situation.clone(),
        needs: f.needs.clone(),
        consent_record: yes_no("consent to record", &f.consent_record)?,
        consent_share: yes_no("consent to share", &f.consent_share)?,
        teams: f.teams.clone(),
        custom: fields::values(&f.custom)?,
        ..Default::default()
    })
}

fn person_edits(store: &Store, f: &PersonFields) -> Result<Vec<Edit>> {
    Ok(person_input(f)?.changes(store.now().date_naive(), &store.identity().worker))
}

/// `--set FIELD=VALUE` for any field of a kind (a list or a set gets the value added).
fn generic_set(store: &Store, kind: Kind, assignment: &str) -> Result<Edit> {
    let (field, value) = assignment
        .split_once('=')
        .ok_or_else(|| anyhow!("invalid --set: {assignment:?} is not FIELD=VALUE"))?;
    Ok(store.edit_from_text(kind, field, value)?)
}

fn run(cli: Cli) -> Result<()> {
    let dir = match cli.data.clone() {
        Some(d) => d,
        None => dirs::data_dir()
            .ok_or_else(|| anyhow!("no data folder on this system: pass --data DIR"))?
            .join("allervers"),
    };
    if cli.statistics && (cli.health || cli.partner.is_some()) {
        bail!("invalid flags: --statistics, --health and --partner name different stores");
    }
    let target = match (&cli.partner, cli.health) {
        _ if cli.statistics => Target::Statistics,
        (Some(_), true) => bail!("invalid flags: --health and --partner name different stores"),
        (Some(p), false) => {
            let p = p.trim();
            // A partner's code names a folder: nothing else is taken for one.
            if p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                bail!("invalid partner: not a partner code (lowercase letters, digits or underscores)");
            }
            Target::Partner(p.to_string())
        }
        (None, true) => Target::Health,
        (None, false) => Target::Team,
    };
    let ctx = Ctx {
        dir,
        target,
        json: cli.json,
        lang: match cli.lang {
            LangArg::Fr => Lang::Fr,
            LangArg::En => Lang::En,
        },
    };
    match cli.command {
        Command::Init {
            device_name,
            worker,
        } => {
            match &ctx.target {
                Target::Health => bail!("a health store is made by `allervers health found CODE` or `allervers health join CODE`"),
                Target::Partner(p) => bail!("a partnership store is made by `allervers partnership open {p}`"),
                Target::Statistics => bail!("a statistics store is made by `allervers statistics open`"),
                Target::Team => {}
            }
            if ctx.store_path().exists() {
                bail!("a store already exists in {}", ctx.dir.display());
            }
            if device_name.trim().is_empty() {
                bail!("invalid device name: is empty");
            }
            // Checks the passphrase, then makes the store's private folder and key settings.
            let key = keys::new_store_key(&ctx.dir)?;
            let worker = worker.unwrap_or_else(|| device_name.clone());
            let store = Store::create(&ctx.store_path(), &key, &device_name, &worker).inspect_err(
                |_| {
                    let _ = std::fs::remove_file(ctx.dir.join("key-params.json"));
                },
            )?;
            ctx.print(store.identity(), || {
                format!(
                    "Store created in {} for {} ({}), device {}",
                    ctx.dir.display(),
                    store.identity().worker,
                    store.identity().device_name,
                    store.identity().device.short()
                )
            })?;
        }
        Command::Health(cmd) => health::run(&ctx, cmd)?,
        Command::Statistics(cmd) => statistics::run(&ctx, cmd)?,
        Command::Partnership(cmd) => partnership::run(&ctx, cmd)?,
        Command::Person(cmd) => person_cmd(&ctx, cmd)?,
        Command::Encounter(cmd) => encounter_cmd(&ctx, cmd)?,
        Command::Action(cmd) => {
            let store = ctx.open()?;
            match cmd {
                ActionCmd::Add {
                    person,
                    title,
                    category,
                    due,
                    assign,
                } => {
                    let person = find_person(&store, &person)?;
                    let id = store.add_action(&NewAction {
                        person,
                        title,
                        category,
                        due_at: date("due date", &due)?,
                        assigned_to: assign,
                    })?;
                    ctx.print(&Created { id }, || format!("Action {id} added"))?;
                }
                ActionCmd::Done { action, comment } => {
                    let id = record_id(&action)?;
                    store.complete_action(id, comment.as_deref())?;
                    ctx.print(&Created { id }, || format!("Action {id} done"))?;
                }
                ActionCmd::Due { by } => {
                    let due = store.due_actions(date("date", &by)?)?;
                    ctx.print(&due, || render::due(&due, ctx.lang))?;
                }
            }
        }
        Command::Referral(cmd) => {
            let store = ctx.open()?;
            match cmd {
                ReferralCmd::Add {
                    person,
                    target,
                    name,
                    date: d,
                    status,
                    household,
                } => {
                    let person = find_person(&store, &person)?;
                    let household = household
                        .map(|h| housing::find_household(&store, &h))
                        .transpose()?;
                    let id = store.add_referral(&NewReferral {
                        person,
                        target,
                        target_name: name,
                        date: date("date", &d)?,
                        status,
                        household,
                    })?;
                    ctx.print(&Created { id }, || format!("Referral {id} added"))?;
                }
                ReferralCmd::Update {
                    referral,
                    status,
                    outcome,
                } => {
                    let id = record_id(&referral)?;
                    store.update_referral(id, status.as_deref(), outcome.as_deref())?;
                    ctx.print(&Created { id }, || format!("Referral {id} updated"))?;
                }
            }
        }
        Command::Consent(cmd) => consent::run(&ctx, cmd)?,
        Command::Household(cmd) => housing::household(&ctx, cmd)?,
        Command::Journey(cmd) => housing::journey(&ctx, cmd)?,
        Command::Home(cmd) => homes::home(&ctx, cmd)?,
        Command::Offer(cmd) => homes::offer(&ctx, cmd)?,
        Command::Voice(cmd) => voice::run(&ctx, cmd)?,
        Command::Observation(ObservationCmd::Add {
            territory,
            team,
            date: d,
            counts,
            notes,
        }) => {
            let store = ctx.open()?;
            let mut parsed = std::collections::BTreeMap::new();
            for c in &counts {
                let (k, v) = c
                    .split_once('=')
                    .ok_or_else(|| anyhow!("invalid count: {c:?} is not NAME=N"))?;
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| anyhow!("invalid count: {v:?} is not a whole number"))?;
                parsed.insert(k.trim().to_string(), n);
            }
            let id = store.add_observation(&NewObservation {
                territory,
                team,
                date: date("date", &d)?,
                counts: parsed,
                notes,
            })?;
            ctx.print(&Created { id }, || format!("Observation {id} added"))?;
        }
        Command::Timeline { person } => {
            let store = ctx.open()?;
            let id = find_person(&store, &person)?;
            let p = store.person(id)?;
            let timeline = store.open_timeline(id, Via::Cli)?;
            ctx.print(&timeline, || render::timeline(&p, &timeline, ctx.lang))?;
        }
        Command::History { record } => {
            let store = ctx.open()?;
            let history = store.open_history(record_id(&record)?, Via::Cli)?;
            ctx.print(&history, || render::history(&history))?;
        }
        Command::Code(CodeCmd::List { list }) => {
            let store = ctx.open()?;
            let lists = match list {
                Some(name) => vec![code_list(&name)?],
                None => Vocab::ALL.to_vec(),
            };
            let codes = render::CodeRow::all(&lists, &store.extra_terms()?);
            ctx.print(&codes, || render::code_list(&codes, ctx.lang))?;
        }
        Command::Field(command) => fields::run(&ctx, command)?,
        Command::Code(CodeCmd::Add { list, code, fr, en }) => {
            let store = ctx.open()?;
            store.add_term(code_list(&list)?, &code, &fr, &en)?;
            println!("Added {code} to {list}; it reaches the other devices with the next sync.");
        }
        Command::Conflicts => {
            let store = ctx.open()?;
            let conflicts = store.conflicts()?;
            ctx.print(&conflicts, || render::conflicts(&conflicts, ctx.lang))?;
        }
        Command::Resolve {
            record,
            field,
            value,
        } => {
            let store = ctx.open()?;
            let id = record_id(&record)?;
            store.resolve(id, &field, &value)?;
            ctx.print(&serde_json::json!({"record": id, "field": field, "value": value, "resolved_by": store.identity().worker}), || {
                format!("Conflict on {field} of {id} resolved: {value} (by {})", store.identity().worker)
            })?;
        }
        Command::Changes(ChangesCmd::Export { out }) => {
            let store = ctx.open()?;
            let passphrase = keys::bundle_passphrase(true)?;
            let changes = store.export_changes()?.len();
            let bytes = store.export_bundle(&passphrase)?;
            write_atomically(&out, &bytes)?;
            ctx.print(
                &serde_json::json!({"file": out, "changes": changes, "bytes": bytes.len()}),
                || {
                    format!(
                        "{changes} changes sealed into {} ({} bytes)",
                        out.display(),
                        bytes.len()
                    )
                },
            )?;
        }
        Command::Changes(ChangesCmd::Import { file }) => {
            let store = ctx.open()?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let passphrase = keys::bundle_passphrase(false)?;
            let summary = store.import_bundle(&bytes, &passphrase)?;
            ctx.print(&summary, || render::import(&summary))?;
        }
        Command::ExportDoc { record, out } => {
            let store = ctx.open()?;
            let id = record_id(&record)?;
            let bytes = store.open_document(id, Via::Cli)?;
            write_atomically(&out, &bytes)?;
            ctx.print(
                &serde_json::json!({"record": id, "file": out, "bytes": bytes.len()}),
                || {
                    format!(
                        "Automerge document of {id} written to {} ({} bytes)",
                        out.display(),
                        bytes.len()
                    )
                },
            )?;
        }
        Command::Seed {
            persons,
            encounters,
            days,
            seed: s,
        } => {
            let store = ctx.open()?;
            let plan = SeedPlan {
                persons,
                encounters,
                days,
                end: Utc::now(),
                seed: s,
            };
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            if ctx.json {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            bar.set_message("generating");
            let seeded = seed::seed(&store, &plan, &mut |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })?;
            bar.finish_and_clear();
            store.checkpoint()?;
            let out = serde_json::json!({
                "persons": seeded.persons.len(),
                "encounters": seeded.encounters,
                "actions": seeded.actions,
                "referrals": seeded.referrals,
                "households": seeded.households,
                "periods": seeded.periods,
                "applications": seeded.applications,
                "homes": seeded.homes,
                "offers": seeded.offers,
            });
            ctx.print(&out, || {
                format!(
                    "Generated {} persons, {} encounters, {} actions, {} referrals, {} households, \
                     {} journey periods, {} housing applications, {} homes, {} offers \
                     (fictitious data)",
                    seeded.persons.len(),
                    seeded.encounters,
                    seeded.actions,
                    seeded.referrals,
                    seeded.households,
                    seeded.periods,
                    seeded.applications,
                    seeded.homes,
                    seeded.offers
                )
            })?;
        }
        Command::Demo => demo::run(ctx.lang)?,
        Command::Space(SpaceCmd::Create { name, relay }) => {
            sync::create_space(&ctx, &name, &relay)?
        }
        Command::Invite { qr } => sync::invite(&ctx, qr)?,
        Command::Space(SpaceCmd::RecoveryCode) => sync::recovery_code(&ctx)?,
        Command::Space(SpaceCmd::SetRelay { url }) => sync::set_relay(&ctx, &url)?,
        Command::Join { code } => sync::join(&ctx, &code)?,
        Command::Recover { code } => sync::recover(&ctx, &code)?,
        Command::Devices => sync::devices(&ctx)?,
        Command::Approve { device } => sync::approve(&ctx, &device)?,
        Command::Coordinator { device } => sync::coordinator(&ctx, &device)?,
        Command::Revoke { device, yes } => sync::revoke(&ctx, &device, yes)?,
        Command::Quarantine => sync::quarantine(&ctx)?,
        Command::Sync => sync::sync(&ctx)?,
        Command::Worker { name } => {
            let store = ctx.open()?;
            if let Some(name) = name {
                store.set_worker(&name)?;
            }
            let worker = store.worker();
            ctx.print(&serde_json::json!({ "worker": worker }), || {
                format!("This device's changes are recorded as written by {worker}.")
            })?;
        }
        Command::Report {
            from,
            to,
            team,
            csv,
        } => {
            let store = ctx.open()?;
            let (from, to) = period(&from, &to)?;
            let report = store.report(from, to, team.as_deref())?;
            print_report(&ctx, &report, csv)?;
        }
        Command::AccessLog {
            person,
            worker,
            from,
            to,
        } => {
            let store = ctx.open()?;
            let person = person.map(|p| find_person(&store, &p)).transpose()?;
            let entries = store.access_log(&AccessQuery {
                person,
                worker,
                from: date("--from", &from)?,
                to: date("--to", &to)?,
            })?;
            let rows = render::access_rows(&store, entries);
            ctx.print(&rows, || render::access_log(&rows, ctx.lang))?;
        }
        Command::Dashboard { port } => dashboard::serve(dashboard_view(&ctx)?, ctx.lang, port)?,
        Command::Export {
            kind,
            from,
            to,
            pseudonymise,
            series,
            precise_times,
            include_sensitive,
            out,
        } => {
            let options = allervers_core::export::ExportOptions {
                pseudonymise,
                series,
                precise_times,
                include_sensitive,
            };
            export(&ctx, &kind, &from, &to, &options, &out)?
        }
        Command::Retention { command } => retention::run(&ctx, command)?,
    }
    Ok(())
}

fn export(
    ctx: &Ctx,
    kind: &str,
    from: &str,
    to: &str,
    options: &allervers_core::export::ExportOptions,
    out: &Path,
) -> Result<()> {
    let store = ctx.open()?;
    use allervers_core::export::ExportKind;
    let kind = ExportKind::from_name(kind).ok_or_else(|| {
        let names: Vec<&str> = ExportKind::ALL.iter().map(|k| k.name()).collect();
        anyhow!("invalid kind: {kind:?} is not one of {}", names.join(", "))
    })?;
    let (from, to) = period(from, to)?;
    let table = store.export(kind, from, to, options, Via::Cli)?;
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(&table.header)?;
    for row in &table.rows {
        w.write_record(row)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow!("cannot write CSV: {e}"))?;
    write_atomically(out, &bytes)?;
    let pseudonymised = options.pseudonymise;
    ctx.print(
        &serde_json::json!({
            "file": out,
            "rows": table.rows.len(),
            "pseudonymised": pseudonymised,
            "series": options.series,
            "precise_times": options.precise_times,
            "include_sensitive": options.include_sensitive,
        }),
        || {
            let how = match (&options.series, pseudonymised) {
                (_, false) => String::new(),
                (None, true) => " (pseudonymised, pseudonyms of this export only)".to_string(),
                (Some(name), true) => format!(" (pseudonymised, series {name})"),
            };
            format!(
                "{} rows written to {}{how}",
                table.rows.len(),
                out.display()
            )
        },
    )
}

#[derive(Serialize)]
struct Created {
    id: RecordId,
}

fn person_cmd(ctx: &Ctx, cmd: PersonCmd) -> Result<()> {
    let store = ctx.open()?;
    match cmd {
        PersonCmd::Add(fields) => {
            let id = store.add_person(&person_input(&fields)?)?;
            let p = store.person(id)?;
            ctx.print(&p, || format!("Person {} added: {id}", p.display_name()))?;
        }
        PersonCmd::List {
            not_seen_for: Some(days),
            limit,
            ..
        } => {
            let persons = store.persons_not_seen_for(days, limit)?;
            ctx.print(&persons, || render::persons(&persons, ctx.lang))?;
        }
        PersonCmd::Duplicates => {
            let pairs = store.likely_duplicates()?;
            ctx.print(&pairs, || render::duplicates(&pairs))?;
        }
        PersonCmd::Merge { keep, other } => {
            let (keep, other) = (find_person(&store, &keep)?, find_person(&store, &other)?);
            store.merge_persons(keep, other)?;
            let p = store.merged_person(keep)?;
            ctx.print(&serde_json::json!({"kept": keep, "merged": other}), || {
                format!("{other} merged into {} ({keep})", p.display_name())
            })?;
        }
        PersonCmd::Unmerge { other } => {
            let other = find_person(&store, &other)?;
            store.unmerge_person(other)?;
            let p = store.person(other)?;
            ctx.print(&serde_json::json!({"unmerged": other}), || {
                format!("{} ({other}) stands for themselves again", p.display_name())
            })?;
        }
        PersonCmd::List {
            search,
            sort,
            limit,
            all,
            not_seen_for: None,
        } => {
            let persons = store.list_persons(&PersonQuery {
                search,
                sort: match sort {
                    SortArg::Recent => PersonSort::RecentlySeen,
                    SortArg::Name => PersonSort::Name,
                },
                limit,
                include_inactive: all,
            })?;
            ctx.print(&persons, || render::persons(&persons, ctx.lang))?;
        }
        PersonCmd::Erase {
            person,
            reason,
            keep_shared_notes,
            yes,
        } => {
            let id = find_person(&store, &person)?;
            erase_person(ctx, &store, id, &reason, keep_shared_notes, yes)?;
        }
        PersonCmd::Show { person } => {
            let id = find_person(&store, &person)?;
            let p = store.open_person(id, Via::Cli)?;
            ctx.print(&p, || render::person(&p, ctx.lang))?;
        }
        PersonCmd::Dossier { person, out, force } => {
            let json_out = out.with_extension("json");
            if json_out == out {
                bail!("invalid --out: name the HTML file (for instance dossier.html)");
            }
            if !force {
                for path in [&out, &json_out] {
                    if path.exists() {
                        bail!(
                            "{} exists already: choose another name or pass --force",
                            path.display()
                        );
                    }
                }
            }
            let id = find_person(&store, &person)?;
            let d = store.dossier(id, Via::Cli)?;
            write_file(&json_out, &serde_json::to_vec_pretty(&d)?, force)?;
            write_file(&out, dossier::html(&d).as_bytes(), force)?;
            ctx.print(
                &serde_json::json!({"person": id, "html": out, "json": json_out}),
                || {
                    format!(
                        "Dossier of {id} written to {} and {} (readable by you only)",
                        out.display(),
                        json_out.display()
                    )
                },
            )?;
        }
        PersonCmd::Edit {
            person,
            fields,
            remove_needs,
            inactive,
            active,
            set,
            clear,
        } => {
            let id = find_person(&store, &person)?;
            let mut edits = person_edits(&store, &fields)?;
            edits.extend(
                remove_needs
                    .iter()
                    .map(|n| Edit::Remove("needs".into(), Value::Code(n.trim().into()))),
            );
            if let Some(reason) = inactive {
                edits.push(Edit::Set("status".into(), Value::Code("inactive".into())));
                edits.push(Edit::Set("status_reason".into(), Value::Text(reason)));
                edits.push(Edit::Set(
                    "status_date".into(),
                    Value::Date(store.now().date_naive()),
                ));
            }
            if active {
                edits.push(Edit::Set("status".into(), Value::Code("active".into())));
                edits.push(Edit::Set(
                    "status_date".into(),
                    Value::Date(store.now().date_naive()),
                ));
            }
            for s in &set {
                edits.push(generic_set(&store, Kind::Person, s)?);
            }
            for c in &clear {
                let spec = Kind::Person.field(c.trim())?;
                if spec.ty.is_container() {
                    bail!("invalid --clear: {} is a list or set", spec.name);
                }
                edits.push(Edit::Clear(spec.name.into()));
            }
            if edits.is_empty() {
                bail!("nothing to change: give at least one field option");
            }
            store.edit(id, &edits)?;
            let p = store.person(id)?;
            ctx.print(&p, || format!("Person {} updated", p.display_name()))?;
        }
    }
    Ok(())
}

fn encounter_cmd(ctx: &Ctx, cmd: EncounterCmd) -> Result<()> {
    let store = ctx.open()?;
    match cmd {
        EncounterCmd::Log {
            persons,
            anonymous,
            at,
            place,
            latitude,
            longitude,
            territory,
            team,
            workers,
            kind,
            services,
            notes,
            follow_up,
            custom,
            household,
        } => {
            let household = household
                .map(|h| housing::find_household(&store, &h))
                .transpose()?;
            let persons = persons
                .iter()
                .map(|p| find_person(&store, p))
                .collect::<Result<Vec<_>>>()?;
            let occurred_at = at
                .as_deref()
                .map(|s| {
                    parse_time(s).ok_or_else(|| {
                        anyhow!(
                            "invalid occurred_at: {s:?} is not a date and time (YYYY-MM-DD HH:MM)"
                        )
                    })
                })
                .transpose()?;
            let workers = if workers.is_empty() {
                vec![store.identity().worker.clone()]
            } else {
                workers
            };
            let id = store.log_encounter(&NewEncounter {
                occurred_at,
                place,
                latitude,
                longitude,
                territory,
                team,
                workers,
                persons,
                anonymous_count: anonymous,
                kind,
                services,
                notes,
                follow_up,
                custom: fields::values(&custom)?,
                household,
            })?;
            ctx.print(&Created { id }, || format!("Encounter {id} logged"))?;
        }
        EncounterCmd::Show { encounter } => {
            let e = store.encounter(record_id(&encounter)?)?;
            ctx.print(&e, || render::encounter(&e, ctx.lang))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            // The core's errors are said as their public form.
            let e = match e.chain().count() {
                1 => match e.downcast::<CoreError>() {
                    Ok(core) => anyhow::Error::new(ApiError::from(core)),
                    Err(other) => other,
                },
                _ => e,
            };
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
