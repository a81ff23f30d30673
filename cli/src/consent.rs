//! `allervers consent`: a person's decisions about sharing each category with each partner,
//! recorded one decision at a time, and their consent now (the latest decision per partner and
//! category).

use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{Consent, NewConsent, Via};
use anyhow::{bail, Result};
use clap::Subcommand;
use serde::Serialize;

use crate::render::l;
use crate::{date, find_person, Ctx, Target};

#[derive(Subcommand)]
pub(crate) enum ConsentCmd {
    /// Records the person's decision for one partner and one or more categories: given
    /// (`--given`) or refused or withdrawn (`--refused`).
    Record {
        person: String,
        /// The partner: siao, or one of the organisation's own (`code add partner ...`).
        #[arg(long)]
        partner: String,
        /// identity_contact, situation_journey, housing_application, shared_assessment
        #[arg(long, required = true)]
        category: Vec<String>,
        #[arg(long, conflicts_with = "refused", required_unless_present = "refused")]
        given: bool,
        #[arg(long)]
        refused: bool,
        /// How it was given: oral, written, representative, other.
        #[arg(long)]
        how: String,
        /// When the person decided (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// The person's consent now, per partner and category, and every decision before it.
    List { person: String },
}

#[derive(Serialize)]
struct Recorded {
    ids: Vec<allervers_core::RecordId>,
    /// What the withdrawal did in the office's partnership store, if it has one for the partner.
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn: Option<allervers_core::partnership::Publication>,
}

#[derive(Serialize)]
struct Consents {
    current: Vec<Consent>,
    decisions: Vec<Consent>,
}

pub(crate) fn run(ctx: &Ctx, cmd: ConsentCmd) -> Result<()> {
    let store = ctx.open()?;
    match cmd {
        ConsentCmd::Record {
            person,
            partner,
            category,
            given,
            refused,
            how,
            on,
            note,
        } => {
            if given == refused {
                bail!("say --given or --refused");
            }
            let person = find_person(&store, &person)?;
            let decided_on = date("on", &on)?;
            // Every category is checked before anything is written.
            let consents: Vec<NewConsent> = category
                .iter()
                .map(|category| NewConsent {
                    person,
                    partner: partner.clone(),
                    category: category.clone(),
                    given,
                    decided_on,
                    how: how.clone(),
                    note: note.clone(),
                })
                .collect();
            let ids = store.record_consents(&consents)?;
            let word = if given { "given" } else { "refused" };
            // A withdrawal stops publication at once: on the office, the person's projection
            // at this partner is erased (and re-published with what remains).
            let partnership = ctx.on(Target::Partner(partner.clone()));
            let withdrawn = if refused && partnership.store_path().exists() {
                Some(store.publish(&partnership.open()?, Some(person), Via::Cli)?)
            } else {
                None
            };
            ctx.print(
                &Recorded {
                    ids: ids.clone(),
                    withdrawn: withdrawn.clone(),
                },
                || {
                    let mut text = format!("Consent {word}: {} decision(s) recorded", ids.len());
                    if let Some(w) = &withdrawn {
                        text.push_str(&format!(
                            "\nPartnership {partner}: {} projection(s) erased, {} published again with what remains. Next: allervers sync",
                            w.erased,
                            w.published.len()
                        ));
                    }
                    text
                },
            )
        }
        ConsentCmd::List { person } => {
            let person = find_person(&store, &person)?;
            let decisions = store.open_consents(person, Via::Cli)?;
            let out = Consents {
                current: store.consent_now(decisions.clone()),
                decisions,
            };
            ctx.print(&out, || render(&out, ctx.lang))
        }
    }
}

fn line(c: &Consent, lang: Lang) -> String {
    let code = |vocab, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| l(vocab, v, lang))
            .unwrap_or_default()
    };
    let given = match (c.given, lang) {
        (Some(true), Lang::Fr) => "oui",
        (Some(true), Lang::En) => "yes",
        (_, Lang::Fr) => "non",
        (_, Lang::En) => "no",
    };
    format!(
        "{}  {} / {}: {given} ({}, {})",
        c.decided_on.map(|d| d.to_string()).unwrap_or_default(),
        code(Vocab::Partner, &c.partner),
        code(Vocab::ConsentCategory, &c.category),
        code(Vocab::ConsentHow, &c.how),
        c.id,
    )
}

fn render(c: &Consents, lang: Lang) -> String {
    let (now, before, none) = match lang {
        Lang::Fr => (
            "Consentement actuel",
            "Décisions",
            "aucune décision enregistrée",
        ),
        Lang::En => ("Consent now", "Decisions", "no decision recorded"),
    };
    if c.decisions.is_empty() {
        return none.to_string();
    }
    let mut out = format!("{now}\n");
    for x in &c.current {
        out += &format!("  {}\n", line(x, lang));
    }
    out += &format!("{before}\n");
    for x in &c.decisions {
        out += &format!("  {}\n", line(x, lang));
    }
    out
}
