//! `allervers household` and `allervers journey`: households and their members, the periods of
//! a person's or a household's housing journey, and housing applications.

use allervers_core::model::fields::Kind;
use allervers_core::text::fold;
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{
    Access, Application, Concerns, HouseholdSummary, HouseholdView, JourneyStep, NewApplication,
    NewHousehold, NewHouseholdMember, NewPeriod, RecordId, Store, Via,
};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use serde::Serialize;

use crate::render::{l, opt};
use crate::{date, find_person, generic_set, record_id, Created, Ctx};

#[derive(Subcommand)]
pub(crate) enum HouseholdCmd {
    /// Records a household.
    New {
        /// Its name ("Famille Camara", "Couple de la gare de l'Est").
        #[arg(long)]
        label: String,
        /// Members not recorded as persons (a baby, a relative staying elsewhere).
        #[arg(long)]
        unrecorded: Option<i64>,
        /// Of whom children.
        #[arg(long)]
        unrecorded_children: Option<i64>,
        /// Pets ("deux chiens"): many shelters take none.
        #[arg(long)]
        pets: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Every household, with its members today.
    List,
    /// A household: its members, today's and earlier ones, its journey and applications.
    Show { household: String },
    /// A person joins a household.
    Join {
        household: String,
        person: String,
        /// reference, partner, child, parent, sibling, other
        #[arg(long)]
        relation: String,
        /// The day they joined (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
    },
    /// A person leaves a household.
    Leave {
        household: String,
        person: String,
        /// The day they left (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Changes a household's fields: FIELD=VALUE (label, unrecorded_members,
    /// unrecorded_children, pets, notes).
    Edit {
        household: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum JourneyCmd {
    /// A person's (or a household's) journey as a line of periods.
    Show {
        /// The person (a name, a nickname or an id).
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
    },
    /// Records a period of a journey. An open-ended one that starts after every other is the
    /// situation now: the open period before it ends on its first day, and the person's (each
    /// member's) situation follows.
    Add {
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
        /// street, squat, car, emergency_shelter, hotel, chrs, supported_housing,
        /// residence_sociale, pension_de_famille, intermediation_locative, social_housing,
        /// private_housing, hospital, prison, other
        #[arg(long)]
        situation: String,
        /// Its first day (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Its last day, when it is over.
        #[arg(long)]
        to: Option<String>,
        /// The place or the structure (a CHRS's name, a landlord and an address).
        #[arg(long)]
        place: Option<String>,
        /// Why it ended: moved_on, end_of_stay, exclusion, left, eviction, rent_arrears,
        /// hospital, prison, other.
        #[arg(long)]
        end_reason: Option<String>,
        /// Why the period before it ended (the same codes): a home lost opens the next period
        /// with its reason.
        #[arg(long)]
        previous_end: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Changes a period's fields: FIELD=VALUE (situation, started_on, ended_on, place,
    /// end_reason, notes).
    Edit {
        period: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Housing applications (SIAO, social housing, DALO).
    #[command(subcommand)]
    Application(ApplicationCmd),
}

#[derive(Subcommand)]
pub(crate) enum ApplicationCmd {
    /// Records a housing application.
    Add {
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
        /// siao_insertion, siao_urgence, social_housing, dalo, other
        #[arg(long)]
        kind: String,
        /// Its number (the social housing application's "numéro unique").
        #[arg(long)]
        number: Option<String>,
        /// The day it was filed (YYYY-MM-DD); today by default.
        #[arg(long)]
        filed_on: Option<String>,
        /// The day it must be renewed by.
        #[arg(long)]
        renew_by: Option<String>,
        /// preparing, filed (the default), in_review, accepted, refused, housed, closed
        #[arg(long)]
        status: Option<String>,
        /// The areas wished for, comma-separated ("Pantin, Bobigny"): offers elsewhere are not
        /// said to suit them.
        #[arg(long)]
        areas: Option<String>,
    },
    /// Adds a step (a document sent, a commission's date).
    Step { application: String, text: String },
    /// Records where it stands and its outcome.
    Update {
        application: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        outcome: Option<String>,
    },
    /// A person's or a household's applications, or all of them.
    List {
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
    },
}

/// A household named by its id, or by its name when one household alone has it.
pub(crate) fn find_household(store: &Store, text: &str) -> Result<RecordId> {
    if let Ok(id) = text.trim().parse::<RecordId>() {
        return Ok(id);
    }
    let wanted = fold(text.trim());
    let found: Vec<HouseholdSummary> = store
        .households()?
        .into_iter()
        .filter(|h| fold(&h.label) == wanted)
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id),
        [] => bail!("no household is named {text:?}: give its id (`household list`)"),
        many => bail!(
            "{} households are named so: give the id of one ({})",
            many.len(),
            many.iter()
                .map(|h| h.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A person named by PERSON, or a household by `--household`: one of the two.
pub(crate) fn concerns(
    store: &Store,
    person: Option<String>,
    household: Option<String>,
) -> Result<Concerns> {
    match (person, household) {
        (Some(p), None) => Ok(Concerns::Person(find_person(store, &p)?)),
        (None, Some(h)) => Ok(Concerns::Household(find_household(store, &h)?)),
        _ => Err(anyhow!("give a person or --household")),
    }
}

/// A journey as lines: "rue  2026-01-05 → 2026-02-10  (lieu)".
pub(crate) fn journey_lines(steps: &[JourneyStep], lang: Lang) -> String {
    if steps.is_empty() {
        return match lang {
            Lang::Fr => "(aucune période)".into(),
            Lang::En => "(no period)".into(),
        };
    }
    steps
        .iter()
        .map(|s| {
            let mut line = format!(
                "{:<28} {} → {}",
                l(Vocab::Situation, &s.situation, lang),
                s.from,
                s.to.map(|d| d.to_string()).unwrap_or_else(|| "…".into())
            );
            if let Some(p) = &s.place {
                line.push_str(&format!("  {p}"));
            }
            if let Some(r) = &s.end_reason {
                line.push_str(&format!("  ({})", l(Vocab::PeriodEnd, r, lang)));
            }
            if s.household.is_some() {
                line.push_str(match lang {
                    Lang::Fr => "  [ménage]",
                    Lang::En => "  [household]",
                });
            }
            if s.period.is_none() {
                line.push_str(match lang {
                    Lang::Fr => "  [d'après les changements de situation]",
                    Lang::En => "  [from the situation's changes]",
                });
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn application_lines(apps: &[Application], lang: Lang) -> String {
    if apps.is_empty() {
        return match lang {
            Lang::Fr => "(aucune demande)".into(),
            Lang::En => "(no application)".into(),
        };
    }
    apps.iter()
        .map(|a| {
            let mut line = format!(
                "{}  {}{} — {} ({})",
                a.id,
                a.kind
                    .as_deref()
                    .map(|k| l(Vocab::ApplicationKind, k, lang))
                    .unwrap_or_default(),
                a.number
                    .as_deref()
                    .map(|n| format!(" n° {n}"))
                    .unwrap_or_default(),
                a.status
                    .as_deref()
                    .map(|s| l(Vocab::ApplicationStatus, s, lang))
                    .unwrap_or_default(),
                a.filed_on.map(|d| d.to_string()).unwrap_or_default()
            );
            if let Some(o) = &a.outcome {
                line.push_str(&format!(": {o}"));
            }
            for step in &a.steps {
                line.push_str(&format!(
                    "\n    {} {}",
                    step.at.format("%Y-%m-%d"),
                    step.text
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn household_text(v: &HouseholdView, lang: Lang) -> String {
    let fr = lang == Lang::Fr;
    let mut out = format!(
        "{}  ({})\n{} {}{}\n",
        opt(&v.household.label),
        v.household.id,
        if fr { "taille :" } else { "size:" },
        v.size,
        match (v.children, fr) {
            (true, true) => ", avec enfants",
            (true, false) => ", with children",
            _ => "",
        }
    );
    if let Some(p) = &v.household.pets {
        out.push_str(&format!("{} {p}\n", if fr { "animaux :" } else { "pets:" }));
    }
    if v.household.unrecorded_members > 0 {
        out.push_str(&format!(
            "{} {}\n",
            if fr {
                "non enregistrés :"
            } else {
                "not recorded:"
            },
            v.household.unrecorded_members
        ));
    }
    out.push_str(if fr { "\nMembres\n" } else { "\nMembers\n" });
    for m in &v.members {
        out.push_str(&format!(
            "  {:<24} {:<22} {} → {}{}\n",
            m.name,
            m.relation
                .as_deref()
                .map(|r| l(Vocab::Relation, r, lang))
                .unwrap_or_default(),
            m.joined_on.map(|d| d.to_string()).unwrap_or_default(),
            m.left_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "…".into()),
            m.left_reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        ));
    }
    out.push_str(if fr { "\nParcours\n" } else { "\nJourney\n" });
    out.push_str(&journey_lines(&v.journey, lang));
    out.push_str(if fr {
        "\n\nDemandes de logement\n"
    } else {
        "\n\nHousing applications\n"
    });
    out.push_str(&application_lines(&v.applications, lang));
    out
}

pub(crate) fn household(ctx: &Ctx, cmd: HouseholdCmd) -> Result<()> {
    let store = ctx.open()?;
    let lang = ctx.lang;
    match cmd {
        HouseholdCmd::New {
            label,
            unrecorded,
            unrecorded_children,
            pets,
            notes,
        } => {
            let id = store.add_household(&NewHousehold {
                label,
                unrecorded_members: unrecorded,
                unrecorded_children,
                pets,
                notes,
            })?;
            ctx.print(&Created { id }, || format!("Household {id} added"))?;
        }
        HouseholdCmd::List => {
            let list = store.households()?;
            ctx.print(&list, || {
                if list.is_empty() {
                    return "(no household)".into();
                }
                list.iter()
                    .map(|h| {
                        format!(
                            "{}  {:<28} {} pers.  {}{}",
                            h.id,
                            h.label,
                            h.size,
                            h.members
                                .iter()
                                .map(|m| m.name.clone())
                                .collect::<Vec<_>>()
                                .join(", "),
                            h.situation
                                .as_deref()
                                .map(|s| format!("  [{}]", l(Vocab::Situation, s, lang)))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        HouseholdCmd::Show { household } => {
            let view = store.household_view(find_household(&store, &household)?)?;
            // The members' names and journey: a reading of each member's file, logged first.
            let reads: Vec<Access> = view
                .members
                .iter()
                .map(|m| Access::Person { person: m.person })
                .collect();
            store.log_access(&reads, Via::Cli)?;
            ctx.print(&view, || household_text(&view, lang))?;
        }
        HouseholdCmd::Join {
            household,
            person,
            relation,
            on,
        } => {
            let id = store.join_household(&NewHouseholdMember {
                household: find_household(&store, &household)?,
                person: find_person(&store, &person)?,
                relation,
                joined_on: date("on", &on)?,
            })?;
            ctx.print(&Created { id }, || format!("Member {id} added"))?;
        }
        HouseholdCmd::Leave {
            household,
            person,
            on,
            reason,
        } => {
            let household = find_household(&store, &household)?;
            store.leave_household(
                household,
                find_person(&store, &person)?,
                date("on", &on)?,
                reason.as_deref(),
            )?;
            ctx.print(&Created { id: household }, || {
                format!("Left household {household}")
            })?;
        }
        HouseholdCmd::Edit { household, set } => {
            let id = find_household(&store, &household)?;
            let edits = set
                .iter()
                .map(|a| generic_set(&store, Kind::Household, a))
                .collect::<Result<Vec<_>>>()?;
            store.edit(id, &edits)?;
            ctx.print(&Created { id }, || format!("Household {id} changed"))?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Journey {
    concerns: Concerns,
    steps: Vec<JourneyStep>,
    applications: Vec<Application>,
}

pub(crate) fn journey(ctx: &Ctx, cmd: JourneyCmd) -> Result<()> {
    let store = ctx.open()?;
    let lang = ctx.lang;
    match cmd {
        JourneyCmd::Show { person, household } => {
            let concerns = concerns(&store, person, household)?;
            // A person's journey is part of their file: its reading is logged first.
            if let Concerns::Person(p) = concerns {
                store.log_access(&[Access::Timeline { person: p }], Via::Cli)?;
            }
            let steps = match concerns {
                Concerns::Person(p) => store.journey(p)?,
                Concerns::Household(h) => store.household_journey(h)?,
            };
            let journey = Journey {
                concerns,
                steps,
                applications: store.applications(Some(concerns))?,
            };
            ctx.print(&journey, || {
                format!(
                    "{}\n\n{}",
                    journey_lines(&journey.steps, lang),
                    application_lines(&journey.applications, lang)
                )
            })?;
        }
        JourneyCmd::Add {
            person,
            household,
            situation,
            from,
            to,
            place,
            end_reason,
            previous_end,
            notes,
        } => {
            let concerns = concerns(&store, person, household)?;
            let started_on =
                date("from", &Some(from))?.ok_or_else(|| anyhow!("--from is required"))?;
            let id = store.add_period(
                &NewPeriod {
                    concerns,
                    situation,
                    started_on,
                    ended_on: date("to", &to)?,
                    place,
                    end_reason,
                    notes,
                },
                previous_end.as_deref(),
            )?;
            ctx.print(&Created { id }, || format!("Period {id} added"))?;
        }
        JourneyCmd::Edit { period, set } => {
            let id = record_id(&period)?;
            let edits = set
                .iter()
                .map(|a| generic_set(&store, Kind::JourneyPeriod, a))
                .collect::<Result<Vec<_>>>()?;
            store.edit(id, &edits)?;
            ctx.print(&Created { id }, || format!("Period {id} changed"))?;
        }
        JourneyCmd::Application(cmd) => match cmd {
            ApplicationCmd::Add {
                person,
                household,
                kind,
                number,
                filed_on,
                renew_by,
                status,
                areas,
            } => {
                let id = store.add_application(&NewApplication {
                    concerns: concerns(&store, person, household)?,
                    kind,
                    number,
                    filed_on: date("filed_on", &filed_on)?,
                    renew_by: date("renew_by", &renew_by)?,
                    status,
                    areas,
                })?;
                ctx.print(&Created { id }, || format!("Application {id} added"))?;
            }
            ApplicationCmd::Step { application, text } => {
                let id = record_id(&application)?;
                store.application_step(id, &text)?;
                ctx.print(&Created { id }, || format!("Application {id}: step added"))?;
            }
            ApplicationCmd::Update {
                application,
                status,
                outcome,
            } => {
                let id = record_id(&application)?;
                store.update_application(id, status.as_deref(), outcome.as_deref())?;
                ctx.print(&Created { id }, || format!("Application {id} updated"))?;
            }
            ApplicationCmd::List { person, household } => {
                let concerns = match (person, household) {
                    (None, None) => None,
                    (p, h) => Some(concerns(&store, p, h)?),
                };
                let apps = store.applications(concerns)?;
                ctx.print(&apps, || application_lines(&apps, lang))?;
            }
        },
    }
    Ok(())
}
