//! `allervers home` and `allervers offer`: support at home (a home, its visits, the risks raised
//! about it and the homes at risk, a home lost) and housing offers proposed to those they suit.

use allervers_core::model::fields::Kind;
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{
    HomeAtRisk, HomeView, NewHome, NewOffer, NewRiskSignal, OfferSummary, OfferView,
};
use anyhow::{anyhow, Result};
use clap::Subcommand;

use crate::housing::concerns;
use crate::render::{l, opt};
use crate::{date, generic_set, record_id, yes_no, Created, Ctx};

#[derive(Subcommand)]
pub(crate) enum HomeCmd {
    /// Records a home once a person or a household is housed; with `--situation`, the journey
    /// gets the period it opens.
    Add {
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
        #[arg(long)]
        landlord: Option<String>,
        #[arg(long)]
        address: Option<String>,
        /// The day of entry (YYYY-MM-DD).
        #[arg(long)]
        entered_on: String,
        /// social_lease, private_lease, sublease, residence, other
        #[arg(long)]
        lease: Option<String>,
        /// The journey's period it opens: social_housing, private_housing, residence_sociale,
        /// pension_de_famille, intermediation_locative, supported_housing.
        #[arg(long)]
        situation: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// The homes of a person or a household, or every home.
    List {
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
    },
    /// A home: its risks, its visits, the actions that answer its risks.
    Show { home: String },
    /// The homes lived in with an open risk, the most at risk first.
    AtRisk,
    /// Raises a risk about a home.
    Risk {
        home: String,
        /// rent_arrears, neighbour_conflict, isolation, health, eviction_planned, other
        #[arg(long)]
        kind: String,
        /// Who raised it (the worker, the landlord, a neighbour).
        #[arg(long)]
        by: Option<String>,
        /// The day it was raised (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Marks a risk resolved.
    Resolve {
        risk: String,
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// An action that answers a risk.
    Action {
        risk: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        assign: Option<String>,
    },
    /// A home lost: left on a day for a reason, and the next period of the journey opened.
    Lost {
        home: String,
        #[arg(long)]
        on: String,
        /// eviction, rent_arrears, left, end_of_stay, hospital, prison, other
        #[arg(long)]
        reason: String,
        /// Where they are now: street, emergency_shelter...
        #[arg(long)]
        situation: String,
        #[arg(long)]
        place: Option<String>,
    },
    /// Changes a home's fields: FIELD=VALUE (landlord, address, lease_kind, notes...).
    Edit {
        home: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum OfferCmd {
    /// Records a home offered by a landlord.
    Add {
        /// The kind of home: social_housing, private_housing, residence_sociale,
        /// pension_de_famille, intermediation_locative, supported_housing.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        rooms: Option<i64>,
        #[arg(long)]
        size_m2: Option<i64>,
        /// The rent, charges included, in euros a month.
        #[arg(long)]
        rent: Option<i64>,
        #[arg(long)]
        area: Option<String>,
        /// yes or no: accessible with reduced mobility (the only offers that suit those who
        /// need `accessible_home`)
        #[arg(long)]
        accessible: Option<String>,
        /// YYYY-MM-DD
        #[arg(long)]
        available_from: Option<String>,
        #[arg(long)]
        landlord: Option<String>,
        #[arg(long)]
        notes: Option<String>,
    },
    /// The offers (the open ones, or `--all`), with how many they could suit.
    List {
        #[arg(long)]
        all: bool,
    },
    /// An offer, its proposals and the persons and households it could suit.
    Show { offer: String },
    /// Proposes an open offer to a person or a household.
    Propose {
        offer: String,
        person: Option<String>,
        #[arg(long, conflicts_with = "person")]
        household: Option<String>,
        #[arg(long)]
        on: Option<String>,
    },
    /// Records what became of a proposal; an accepted one fills its offer.
    Outcome {
        proposal: String,
        /// accepted, refused_by_person, refused_by_landlord, withdrawn, pending
        outcome: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Changes an offer's fields: FIELD=VALUE (rent, area, status...).
    Edit {
        offer: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
}

fn home_text(v: &HomeView, lang: Lang) -> String {
    let h = &v.home;
    let mut out = format!(
        "{}  ({})\n{} — {}\n{} {} → {}{}\n",
        v.name,
        h.id,
        opt(&h.landlord),
        opt(&h.address),
        h.lease_kind
            .as_deref()
            .map(|k| l(Vocab::LeaseKind, k, lang))
            .unwrap_or_default(),
        h.entered_on.map(|d| d.to_string()).unwrap_or_default(),
        h.left_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "…".into()),
        h.left_reason
            .as_deref()
            .map(|r| format!(" ({})", l(Vocab::PeriodEnd, r, lang)))
            .unwrap_or_default()
    );
    out.push_str(match lang {
        Lang::Fr => "\nRisques\n",
        Lang::En => "\nRisks\n",
    });
    for s in &v.signals {
        out.push_str(&format!(
            "  {}  {} {} — {}{}\n",
            s.id,
            s.raised_on.map(|d| d.to_string()).unwrap_or_default(),
            s.risk
                .as_deref()
                .map(|r| l(Vocab::RiskKind, r, lang))
                .unwrap_or_default(),
            s.status
                .as_deref()
                .map(|r| l(Vocab::RiskStatus, r, lang))
                .unwrap_or_default(),
            s.raised_by
                .as_deref()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default()
        ));
    }
    out.push_str(match lang {
        Lang::Fr => "\nVisites à domicile\n",
        Lang::En => "\nHome visits\n",
    });
    for e in &v.visits {
        out.push_str(&format!(
            "  {}  {}\n",
            e.occurred_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            e.services
                .iter()
                .map(|s| l(Vocab::Service, s, lang))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push_str(match lang {
        Lang::Fr => "\nActions\n",
        Lang::En => "\nActions\n",
    });
    for a in &v.actions {
        out.push_str(&format!(
            "  {}  {} {}\n",
            a.id,
            opt(&a.title),
            a.status
                .as_deref()
                .map(|s| l(Vocab::ActionStatus, s, lang))
                .unwrap_or_default()
        ));
    }
    out
}

fn at_risk_text(list: &[HomeAtRisk], lang: Lang) -> String {
    if list.is_empty() {
        return match lang {
            Lang::Fr => "(aucun logement en risque)".into(),
            Lang::En => "(no home at risk)".into(),
        };
    }
    list.iter()
        .map(|h| {
            format!(
                "{}  {:<24} {} — {}",
                h.home,
                h.name,
                opt(&h.address),
                h.risks
                    .iter()
                    .map(|s| format!(
                        "{} ({})",
                        s.risk
                            .as_deref()
                            .map(|r| l(Vocab::RiskKind, r, lang))
                            .unwrap_or_default(),
                        s.raised_on.map(|d| d.to_string()).unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn home(ctx: &Ctx, cmd: HomeCmd) -> Result<()> {
    let store = ctx.open()?;
    let lang = ctx.lang;
    match cmd {
        HomeCmd::Add {
            person,
            household,
            landlord,
            address,
            entered_on,
            lease,
            situation,
            notes,
        } => {
            let entered_on = date("entered_on", &Some(entered_on))?
                .ok_or_else(|| anyhow!("--entered-on is required"))?;
            let id = store.add_home(
                &NewHome {
                    concerns: concerns(&store, person, household)?,
                    landlord,
                    address,
                    entered_on,
                    lease_kind: lease,
                    notes,
                },
                situation.as_deref(),
            )?;
            ctx.print(&Created { id }, || format!("Home {id} added"))?;
        }
        HomeCmd::List { person, household } => {
            let concerns = match (person, household) {
                (None, None) => None,
                (p, h) => Some(concerns(&store, p, h)?),
            };
            let homes = store.homes(concerns)?;
            ctx.print(&homes, || {
                homes
                    .iter()
                    .map(|h| {
                        format!(
                            "{}  {} — {}  {} → {}",
                            h.id,
                            opt(&h.landlord),
                            opt(&h.address),
                            h.entered_on.map(|d| d.to_string()).unwrap_or_default(),
                            h.left_on
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "…".into())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        HomeCmd::Show { home } => {
            let view = store.home_view(record_id(&home)?)?;
            // A reading of the files of those who live there, logged first.
            let reads: Vec<allervers_core::Access> = view
                .persons
                .iter()
                .map(|p| allervers_core::Access::Person { person: *p })
                .collect();
            store.log_access(&reads, allervers_core::Via::Cli)?;
            ctx.print(&view, || home_text(&view, lang))?;
        }
        HomeCmd::AtRisk => {
            let list = store.homes_at_risk()?;
            ctx.print(&list, || at_risk_text(&list, lang))?;
        }
        HomeCmd::Risk {
            home,
            kind,
            by,
            on,
            notes,
        } => {
            let id = store.raise_risk(&NewRiskSignal {
                home: record_id(&home)?,
                risk: kind,
                raised_on: date("on", &on)?,
                raised_by: by,
                notes,
            })?;
            ctx.print(&Created { id }, || format!("Risk {id} raised"))?;
        }
        HomeCmd::Resolve { risk, on, notes } => {
            let id = record_id(&risk)?;
            store.resolve_risk(id, date("on", &on)?, notes.as_deref())?;
            ctx.print(&Created { id }, || format!("Risk {id} resolved"))?;
        }
        HomeCmd::Action {
            risk,
            title,
            due,
            assign,
        } => {
            let id =
                store.add_risk_action(record_id(&risk)?, &title, date("due", &due)?, assign)?;
            ctx.print(&Created { id }, || format!("Action {id} added"))?;
        }
        HomeCmd::Lost {
            home,
            on,
            reason,
            situation,
            place,
        } => {
            let on = date("on", &Some(on))?.ok_or_else(|| anyhow!("--on is required"))?;
            let id =
                store.home_lost(record_id(&home)?, on, &reason, &situation, place.as_deref())?;
            ctx.print(&Created { id }, || format!("Home left; period {id} opened"))?;
        }
        HomeCmd::Edit { home, set } => {
            let id = record_id(&home)?;
            let edits = set
                .iter()
                .map(|a| generic_set(&store, Kind::Home, a))
                .collect::<Result<Vec<_>>>()?;
            store.edit(id, &edits)?;
            ctx.print(&Created { id }, || format!("Home {id} changed"))?;
        }
    }
    Ok(())
}

fn offer_line(o: &OfferSummary, lang: Lang) -> String {
    let f = &o.offer;
    format!(
        "{}  {} {}{} {} — {} {}€ — {}; {} {}",
        f.id,
        f.home_kind
            .as_deref()
            .map(|k| l(Vocab::Situation, k, lang))
            .unwrap_or_default(),
        f.rooms.map(|r| format!("T{r}")).unwrap_or_default(),
        if f.accessible == Some(true) {
            " PMR"
        } else {
            ""
        },
        opt(&f.area),
        opt(&f.landlord),
        f.rent.map(|r| r.to_string()).unwrap_or_default(),
        f.status
            .as_deref()
            .map(|s| l(Vocab::OfferStatus, s, lang))
            .unwrap_or_default(),
        o.candidates,
        match lang {
            Lang::Fr => "à qui il pourrait convenir",
            Lang::En => "it could suit",
        }
    )
}

fn offer_text(v: &OfferView, lang: Lang) -> String {
    let mut out = offer_line(
        &OfferSummary {
            offer: v.offer.clone(),
            proposals: v.proposals.len(),
            candidates: v.candidates.len(),
        },
        lang,
    );
    out.push_str(match lang {
        Lang::Fr => "\n\nPropositions\n",
        Lang::En => "\n\nProposals\n",
    });
    for p in &v.proposals {
        out.push_str(&format!(
            "  {}  {:<24} {} — {}{}\n",
            p.proposal.id,
            p.name,
            p.proposal
                .proposed_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            p.proposal
                .outcome
                .as_deref()
                .map(|o| l(Vocab::ProposalOutcome, o, lang))
                .unwrap_or_default(),
            p.proposal
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    out.push_str(match lang {
        Lang::Fr => "\nPourrait convenir à\n",
        Lang::En => "\nCould suit\n",
    });
    for c in &v.candidates {
        out.push_str(&format!(
            "  {}  {:<24} {} pers.{}{}\n",
            c.concerns.id(),
            c.name,
            c.size,
            c.waiting_since
                .map(|d| match lang {
                    Lang::Fr => format!(", demande depuis le {d}"),
                    Lang::En => format!(", applied on {d}"),
                })
                .unwrap_or_default(),
            match (c.accessible, lang) {
                (false, _) => "",
                (true, Lang::Fr) => ", logement accessible",
                (true, Lang::En) => ", accessible home",
            }
        ));
    }
    out
}

pub(crate) fn offer(ctx: &Ctx, cmd: OfferCmd) -> Result<()> {
    let store = ctx.open()?;
    let lang = ctx.lang;
    match cmd {
        OfferCmd::Add {
            kind,
            rooms,
            size_m2,
            rent,
            area,
            accessible,
            available_from,
            landlord,
            notes,
        } => {
            let id = store.add_offer(&NewOffer {
                home_kind: kind,
                rooms,
                size_m2,
                rent,
                area,
                accessible: yes_no("accessible", &accessible)?,
                available_from: date("available_from", &available_from)?,
                landlord,
                notes,
            })?;
            ctx.print(&Created { id }, || format!("Offer {id} added"))?;
        }
        OfferCmd::List { all } => {
            let list = store.offers(!all)?;
            ctx.print(&list, || {
                if list.is_empty() {
                    return "(no offer)".into();
                }
                list.iter()
                    .map(|o| offer_line(o, lang))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        OfferCmd::Show { offer } => {
            let view = store.offer_view(record_id(&offer)?)?;
            ctx.print(&view, || offer_text(&view, lang))?;
        }
        OfferCmd::Propose {
            offer,
            person,
            household,
            on,
        } => {
            let id = store.propose(
                record_id(&offer)?,
                concerns(&store, person, household)?,
                date("on", &on)?,
            )?;
            ctx.print(&Created { id }, || format!("Proposal {id} recorded"))?;
        }
        OfferCmd::Outcome {
            proposal,
            outcome,
            reason,
        } => {
            let id = record_id(&proposal)?;
            store.proposal_outcome(id, &outcome, reason.as_deref())?;
            ctx.print(&Created { id }, || format!("Proposal {id}: {outcome}"))?;
        }
        OfferCmd::Edit { offer, set } => {
            let id = record_id(&offer)?;
            let edits = set
                .iter()
                .map(|a| generic_set(&store, Kind::HousingOffer, a))
                .collect::<Result<Vec<_>>>()?;
            store.edit(id, &edits)?;
            ctx.print(&Created { id }, || format!("Offer {id} changed"))?;
        }
    }
    Ok(())
}
