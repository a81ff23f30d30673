//! `allervers health`: health data for health professionals only. A coordinator opens the
//! team's health space with a one-time code (`health code`); the first health professional's
//! device founds it with that code (`health found`), in a second store beside the team's
//! (`DIR/health/`, its key derived from the same passphrase), and invites the next ones
//! (`allervers --health invite`, joined with `health join`). Notes are written and read there
//! (`health note`, `health show`); the team's store gets a health contact (the person and the
//! day) for each note, never its content.

use allervers_client::HttpClient;
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{HealthNote, HealthProfile, Kind, NewHealthNote, Store, Via};
use allervers_protocol::hex_id;
use anyhow::{anyhow, bail, Result};
use chrono::Utc;
use clap::Subcommand;
use serde::Serialize;

use crate::render::l;
use crate::{date, find_person, Ctx, Target};

/// How long a space code can be redeemed.
const CODE_DAYS: i64 = 7;

#[derive(Subcommand)]
pub(crate) enum HealthCmd {
    /// Opens the team's health space for its first health professional (coordinator): a
    /// one-time code for their device, valid 7 days. This device never holds the health space's
    /// key.
    Code,
    /// Founds the team's health space with a coordinator's code (`health code`): this device
    /// becomes its first health professional, in a health store beside the team's.
    Found {
        code: String,
        /// The health space's name.
        #[arg(long, default_value = "Santé")]
        name: String,
    },
    /// Joins the team's health space with a health professional's invite (`allervers --health
    /// invite`): its key comes from their device at its next sync.
    Join { code: String },
    /// Writes a health note about a person (a health professional's device); the team sees that
    /// the person was seen that day, never the note.
    Note {
        person: String,
        /// consultation, care, mental_health, addiction, prevention, referral, other
        #[arg(long)]
        category: String,
        #[arg(long)]
        text: String,
        /// When (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
        /// What is to be done next.
        #[arg(long)]
        next_step: Option<String>,
    },
    /// A person's health notes (a health professional's device; logged in the health space's
    /// access log).
    Show { person: String },
    /// Every health note of this device's health store: the person's id, the day and the
    /// category, never the text.
    List,
    /// A person's health details (known conditions, treatments, allergies, care team): shows
    /// them, or sets fields with `--set FIELD=VALUE` (a health professional's device).
    Profile {
        person: String,
        /// conditions, treatments, allergies or care_team, with its text (repeatable).
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        set: Vec<String>,
    },
}

pub(crate) fn run(ctx: &Ctx, cmd: HealthCmd) -> Result<()> {
    match cmd {
        HealthCmd::Code => {
            let team = ctx.on(Target::Team).open()?;
            let expires_at = Utc::now() + chrono::Duration::days(CODE_DAYS);
            let code = allervers_client::space_code(
                &team,
                &HttpClient::default(),
                expires_at.timestamp_millis(),
            )?
            .code();
            ctx.print(
                &serde_json::json!({"code": code, "expires_at": expires_at}),
                || {
                    format!(
                        "Health space code, for the first health professional's device only (valid until {}): allervers health found CODE\n{code}",
                        expires_at.format("%Y-%m-%d %H:%M UTC")
                    )
                },
            )
        }
        HealthCmd::Found { code, name } => {
            let http = HttpClient::default();
            let team = ctx.on(Target::Team).open()?;
            let (health, path) = new_health_store(ctx)?;
            let founded = allervers_client::found_health_space(&health, &team, &http, &code, &name);
            let m = match founded {
                Ok(m) => m,
                Err(e) => return Err(crate::abandon_store(health, &path, e.into())),
            };
            let recovery = allervers_client::recovery_code(&health, &http).map_err(|e| {
                anyhow!(
                    "health space «{}» founded, but its recovery code could not be made ({}): run `allervers --health space recovery-code`",
                    m.name,
                    allervers_core::ApiError::from(e)
                )
            })?;
            let recovery = recovery.code();
            ctx.print(
                &serde_json::json!({"space": hex_id(&m.space), "name": m.name, "relay": m.relay, "recovery_code": recovery}),
                || {
                    format!(
                        "Health space «{}» founded on {}: this device is its first health professional. Next: allervers --health invite (for another health professional)\n\n\
                         Recovery code of the health space, shown this once: whoever holds it can read every health note. Keep it in a safe, with the health professionals only.\n{recovery}",
                        m.name, m.relay
                    )
                },
            )
        }
        HealthCmd::Join { code } => {
            let team = ctx.on(Target::Team).open()?;
            let (health, path) = new_health_store(ctx)?;
            let joined =
                allervers_client::join_health_space(&health, &team, &HttpClient::default(), &code);
            let invite = match joined {
                Ok(invite) => invite,
                Err(e) => return Err(crate::abandon_store(health, &path, e.into())),
            };
            // Who declared this health space in the team's roster: the professional to check
            // the invite with, face to face.
            let founder = invite.founder.device();
            let declared = team
                .declared_health_spaces()?
                .into_iter()
                .find(|d| d.space == invite.space && d.founder == founder);
            let founded_by = declared
                .as_ref()
                .map(|d| {
                    format!(
                        "{} ({})",
                        d.worker.as_deref().unwrap_or("?"),
                        d.name.as_deref().unwrap_or("?")
                    )
                })
                .unwrap_or_default();
            ctx.print(
                &serde_json::json!({"space": hex_id(&invite.space), "name": invite.name, "relay": invite.relay, "founded_by": declared}),
                || {
                    format!(
                        "Joined the health space «{}», founded by {founded_by}: check with them that this is your team's. This device is {} there: the inviting health professional's device delivers its key at its next sync. Next: allervers sync",
                        invite.name,
                        health.identity().device.short()
                    )
                },
            )
        }
        HealthCmd::Note {
            person,
            category,
            text,
            on,
            next_step,
        } => {
            let team = ctx.on(Target::Team).open()?;
            let health = ctx.on(Target::Health).open()?;
            let person = find_person(&team, &person)?;
            let on = date("--on", &on)?.unwrap_or_else(|| team.now().date_naive());
            let id = health.add_health_note(&NewHealthNote {
                person,
                on: Some(on),
                professional: health.worker(),
                category,
                text,
                next_step,
            })?;
            let contact = team.add_health_contact(person, on)?;
            ctx.print(
                &serde_json::json!({"note": id, "contact": contact}),
                || {
                    format!(
                        "Health note {id} written in the health space; the team sees that {} was seen on {on}. Next: allervers sync",
                        person
                    )
                },
            )
        }
        HealthCmd::List => {
            let notes = ctx.on(Target::Health).open()?.health_note_list()?;
            ctx.print(&notes, || {
                let mut out = format!("{} health note(s)", notes.len());
                for n in &notes {
                    out.push_str(&format!(
                        "\n{} {} {}",
                        n.on.map(|d| d.to_string()).unwrap_or_default(),
                        n.person.map(|p| p.to_string()).unwrap_or_default(),
                        n.id
                    ));
                }
                out
            })
        }
        HealthCmd::Show { person } => {
            let team = ctx.on(Target::Team).open()?;
            let health = ctx.on(Target::Health).open()?;
            let person = find_person(&team, &person)?;
            let name = team.person(person)?.display_name();
            // With the records merged into the same person (`person merge`).
            let notes = health.open_person_health_notes(&team, person, Via::Cli)?;
            let profiles = health.person_health_profiles(&team, person)?;
            ctx.print(
                &Shown {
                    person,
                    profiles: &profiles,
                    notes: &notes,
                },
                || {
                    let mut out = render_profiles(&profiles, ctx.lang);
                    out.push_str(&render(&name, &notes, ctx.lang));
                    out
                },
            )
        }
        HealthCmd::Profile { person, set } => {
            let team = ctx.on(Target::Team).open()?;
            let health = ctx.on(Target::Health).open()?;
            let person = find_person(&team, &person)?;
            if !set.is_empty() {
                let edits = set
                    .iter()
                    .map(|a| crate::generic_set(&health, Kind::HealthProfile, a))
                    .collect::<Result<Vec<_>>>()?;
                health.set_health_profile(person, &edits)?;
            }
            // Reading the details is reading the person's health file: logged.
            health.log_access(&[allervers_core::Access::Health { person }], Via::Cli)?;
            let profiles = health.health_profiles(person)?;
            ctx.print(&profiles, || render_profiles(&profiles, ctx.lang))
        }
    }
}

#[derive(Serialize)]
struct Shown<'a> {
    person: allervers_core::RecordId,
    profiles: &'a [HealthProfile],
    notes: &'a [HealthNote],
}

/// The health details, one block per profile (usually one), or nothing when there is none.
fn render_profiles(profiles: &[HealthProfile], lang: Lang) -> String {
    let mut out = String::new();
    for p in profiles {
        let lines = [
            (
                "Problèmes de santé connus",
                "Known conditions",
                &p.conditions,
            ),
            ("Traitements", "Treatments", &p.treatments),
            ("Allergies", "Allergies", &p.allergies),
            (
                "Médecin traitant, équipe de soins",
                "Care team",
                &p.care_team,
            ),
        ];
        for (fr, en, value) in lines {
            if let Some(v) = value {
                let label = if lang == Lang::Fr { fr } else { en };
                out.push_str(&format!("{label} : {v}\n"));
            }
        }
    }
    out
}

/// A new, empty health store beside the team's, under the key derived from the team store's
/// passphrase, named like the team's device.
fn new_health_store(ctx: &Ctx) -> Result<(Store, std::path::PathBuf)> {
    let team = ctx.on(Target::Team).open()?;
    let health = ctx.on(Target::Health);
    let path = health.store_path();
    if path.exists() {
        bail!(
            "this device has a health store already ({})",
            health.store_dir().display()
        );
    }
    let key = health.key()?;
    let me = team.identity();
    let store = Store::create(&path, &key, &me.device_name, &team.worker())?;
    if let Err(e) = store.make_health_store() {
        return Err(crate::abandon_store(store, &path, e.into()));
    }
    Ok((store, path))
}

fn render(name: &str, notes: &[HealthNote], lang: Lang) -> String {
    let mut out = match lang {
        Lang::Fr => format!("Notes de santé de {name} ({})", notes.len()),
        Lang::En => format!("Health notes of {name} ({})", notes.len()),
    };
    for n in notes {
        out.push_str(&format!(
            "\n{} {} — {}: {}",
            n.on.map(|d| d.to_string()).unwrap_or_default(),
            n.category
                .as_deref()
                .map(|c| l(Vocab::HealthCategory, c, lang))
                .unwrap_or_default(),
            n.professional.as_deref().unwrap_or_default(),
            n.text.as_deref().unwrap_or_default()
        ));
        if let Some(f) = &n.next_step {
            out.push_str(&match lang {
                Lang::Fr => format!("\n    suite : {f}"),
                Lang::En => format!("\n    follow-up: {f}"),
            });
        }
    }
    out
}
