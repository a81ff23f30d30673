//! `allervers partnership`: sharing with partners, as each person consented. The office (a
//! coordinator's device of the team) opens a partnership per partner (`partnership open`): a
//! store beside the team's (`DIR/partnerships/<partner>/`, its key derived from the same
//! passphrase) that founds the partnership's own space; a partner's device joins that space only
//! (`partnership join`, with an invite from `allervers --partner PARTNER invite`). The office
//! publishes (`partnership publish`) a projection of each consenting person; both sides read
//! and edit it (`list`, `show`, `edit`, `assessment`); `status` lists the erasure orders of
//! withdrawals and the partner devices' acknowledgements.

use allervers_client::HttpClient;
use allervers_core::partnership::{PartnershipStatus, Projection, Publication};
use allervers_core::vocab::{Lang, Vocab};
use allervers_core::{Purpose, Store, Via};
use allervers_protocol::hex_id;
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;

use crate::render::l;
use crate::{find_person, record_id, Ctx, Target};

#[derive(Subcommand)]
pub(crate) enum PartnershipCmd {
    /// Opens a partnership with PARTNER (the office, a coordinator's device): a partnership
    /// store beside the team's, founding the partnership's own space. Next: `allervers
    /// --partner PARTNER invite` for each of the partner's devices.
    Open { partner: String },
    /// Joins a partnership space with the office's invite (a partner's device, right after
    /// `allervers init`): this device's store becomes that partnership's, and never holds the
    /// team's key.
    Join { code: String },
    /// Publishes to PARTNER what each person's consent now gives it (the office): a projection
    /// per person, only what changed since the last publication; withdrawn categories erase the
    /// projection first. Every publication is logged in the team's access log.
    Publish {
        partner: String,
        /// Only this person (an id or words of their names).
        person: Option<String>,
    },
    /// The projections of the partnership (a partner's device, or the office with
    /// `--partner PARTNER`).
    List,
    /// One projection, its shared assessment and their histories (logged).
    Show { projection: String },
    /// Edits fields of a projection (only those of the categories consented):
    /// `--set phone=06...`.
    Edit {
        projection: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Edits the shared assessment of a projection (either side): needs, resources, autonomy,
    /// housing_sought, own_words.
    Assessment {
        projection: String,
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// The partnership as the office sees it: projections, erasure orders not posted yet, and
    /// each order's acknowledgements per partner device.
    Status { partner: String },
}

pub(crate) fn run(ctx: &Ctx, cmd: PartnershipCmd) -> Result<()> {
    match cmd {
        PartnershipCmd::Open { partner } => open(ctx, &partner),
        PartnershipCmd::Join { code } => join(ctx, &code),
        PartnershipCmd::Publish { partner, person } => {
            let team = ctx.on(Target::Team).open()?;
            let store = ctx.on(Target::Partner(partner)).open()?;
            let person = person.map(|p| find_person(&team, &p)).transpose()?;
            let out = team.publish(&store, person, Via::Cli)?;
            ctx.print(&out, || publication_text(&out, ctx.lang))
        }
        PartnershipCmd::List => {
            let store = partnership_store(ctx)?;
            let list = store.projections()?;
            ctx.print(&list, || {
                if list.is_empty() {
                    return "No projection.".into();
                }
                list.iter()
                    .map(|p| {
                        let name = p
                            .name
                            .clone()
                            .or_else(|| p.nickname.clone())
                            .unwrap_or_else(|| {
                                match ctx.lang {
                                    Lang::Fr => "(identité non partagée)",
                                    Lang::En => "(identity not shared)",
                                }
                                .to_string()
                            });
                        format!(
                            "{}  {name}  [{}]",
                            p.id,
                            categories(&p.categories, ctx.lang)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        PartnershipCmd::Show { projection } => {
            let store = partnership_store(ctx)?;
            let id = record_id(&projection)?;
            let p = store.open_projection(id, Via::Cli)?;
            let mut history = store.history(id)?;
            if let Some(a) = &p.assessment {
                history.extend(store.history(a.id)?);
            }
            history.sort_by_key(|h| h.at);
            ctx.print(
                &serde_json::json!({"projection": p, "history": history}),
                || {
                    format!(
                        "{}\n\nHistory\n{}",
                        projection_text(&p, ctx.lang),
                        crate::render::history(&history)
                    )
                },
            )
        }
        PartnershipCmd::Edit { projection, set } => {
            let store = partnership_store(ctx)?;
            let id = record_id(&projection)?;
            for (field, value) in pairs(&set)? {
                store.edit_projection(id, field, value)?;
            }
            ctx.print(&serde_json::json!({"projection": id}), || {
                format!("Projection {id} updated. Next: allervers sync")
            })
        }
        PartnershipCmd::Assessment { projection, set } => {
            let store = partnership_store(ctx)?;
            let id = record_id(&projection)?;
            for (field, value) in pairs(&set)? {
                store.edit_assessment(id, field, value)?;
            }
            ctx.print(&serde_json::json!({"projection": id}), || {
                format!("Shared assessment of {id} updated. Next: allervers sync")
            })
        }
        PartnershipCmd::Status { partner } => {
            let store = ctx.on(Target::Partner(partner)).open()?;
            let status = store.partnership_status()?;
            ctx.print(&status, || status_text(&store, &status, ctx.lang))
        }
    }
}

/// The partners this device (the office) has a partnership store for, by code.
pub(crate) fn partners(ctx: &Ctx) -> Result<Vec<String>> {
    let dir = ctx.dir.join("partnerships");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().join("store.db").exists() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// The partnership store a reading or editing command works on: the office's for `--partner`,
/// else this device's own, which must be a partner's.
fn partnership_store(ctx: &Ctx) -> Result<Store> {
    let store = ctx.open()?;
    if store.purpose().partner().is_none() {
        bail!(
            "invalid partnership: this device's store is not a partnership's (on the office, pass --partner PARTNER)"
        );
    }
    Ok(store)
}

fn pairs(set: &[String]) -> Result<Vec<(&str, &str)>> {
    set.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(f, v)| (f.trim(), v))
                .ok_or_else(|| anyhow!("invalid --set: takes FIELD=VALUE"))
        })
        .collect()
}

fn open(ctx: &Ctx, partner: &str) -> Result<()> {
    let partner = partner.trim();
    let team = ctx.on(Target::Team).open()?;
    if team.purpose() != Purpose::Team {
        bail!("invalid partnership: a partnership is opened from the office's team store");
    }
    let known = partner == allervers_core::partnership::RESTRICTED
        || Vocab::Partner.builtin(partner).is_some()
        || team
            .extra_terms()?
            .iter()
            .any(|t| t.vocab == Vocab::Partner && t.code == partner);
    if !known {
        bail!("invalid partner: not a partner code (siao, or one added with `allervers code add partner ...`)");
    }
    let target = ctx.on(Target::Partner(partner.to_string()));
    let path = target.store_path();
    if path.exists() {
        bail!("this device has a partnership with {partner} already");
    }
    std::fs::create_dir_all(ctx.dir.join("partnerships"))
        .map_err(|e| anyhow!("cannot make the partnerships folder: {e}"))?;
    let (m, recovery) = crate::found_beside_team(
        ctx,
        &team,
        Target::Partner(partner.to_string()),
        |store| store.make_partnership_store(partner),
        allervers_client::found_partnership_space,
        &format!("--partner {partner}"),
    )?;
    ctx.print(
        &serde_json::json!({"partner": partner, "space": hex_id(&m.space), "relay": m.relay, "recovery_code": recovery}),
        || {
            format!(
                "Partnership with {} opened on {}: this device is its coordinator. Next: allervers --partner {partner} invite (for each of the partner's devices), then allervers partnership publish {partner}\n\n\
                 Recovery code of the partnership space, shown this once: whoever holds it can read what is published to this partner. Keep it in a safe, with the team's.\n{recovery}",
                l(Vocab::Partner, partner, ctx.lang),
                m.relay
            )
        },
    )
}

fn join(ctx: &Ctx, code: &str) -> Result<()> {
    if ctx.target != Target::Team {
        bail!("invalid partnership: a partner's device joins with its own store (no --partner, no --health)");
    }
    let store = ctx.open()?;
    let invite = store.read_invite(code)?;
    store.make_partnership_store(&invite.name)?;
    let invite = allervers_client::join(&store, &HttpClient::default(), code)?;
    ctx.print(
        &serde_json::json!({"space": hex_id(&invite.space), "partner": invite.name, "relay": invite.relay}),
        || {
            format!(
                "Joined the partnership «{}». This device is {} there: the office delivers the space's key at its next sync. Next: allervers sync",
                invite.name,
                store.identity().device.short()
            )
        },
    )
}

fn categories(list: &[String], lang: Lang) -> String {
    list.iter()
        .map(|c| l(Vocab::ConsentCategory, c, lang))
        .collect::<Vec<_>>()
        .join(", ")
}

fn publication_text(out: &Publication, lang: Lang) -> String {
    let mut text = format!(
        "Published to {}: {} projection(s) written ({} new), {} unchanged, {} erased",
        l(Vocab::Partner, &out.partner, lang),
        out.published.len(),
        out.published.iter().filter(|p| p.new).count(),
        out.unchanged,
        out.erased
    );
    for p in &out.published {
        text.push_str(&format!(
            "\n  {} -> {} [{}] {} field(s)",
            p.person,
            p.projection,
            categories(&p.categories, lang),
            p.fields
        ));
    }
    if out.erased > 0 || !out.published.is_empty() {
        text.push_str("\nNext: allervers sync");
    }
    text
}

fn projection_text(p: &Projection, lang: Lang) -> String {
    let mut out = format!("{}  [{}]", p.id, categories(&p.categories, lang));
    let mut line = |label: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!(
                "\n{label:<20} {}",
                v.replace('\n', "\n                     ")
            ));
        }
    };
    line("name", p.name.clone());
    line("nickname", p.nickname.clone());
    line("other_names", p.other_names.clone());
    line("birth_year", p.birth_year.map(|y| y.to_string()));
    line(
        "gender",
        p.gender.as_deref().map(|g| l(Vocab::Gender, g, lang)),
    );
    line("languages", p.languages.clone());
    line("phone", p.phone.clone());
    line(
        "situation",
        p.situation.as_deref().map(|s| l(Vocab::Situation, s, lang)),
    );
    line("on_street_since", p.on_street_since.map(|d| d.to_string()));
    line("referrals", p.referrals.clone());
    line("housing_actions", p.housing_actions.clone());
    if let Some(a) = &p.assessment {
        out.push_str(&format!("\n\nShared assessment {}", a.id));
        for (label, value) in [
            ("needs", &a.needs),
            ("resources", &a.resources),
            ("autonomy", &a.autonomy),
            ("housing_sought", &a.housing_sought),
            ("own_words", &a.own_words),
        ] {
            out.push_str(&format!("\n{label:<20} {}", value.as_deref().unwrap_or("")));
        }
    }
    out
}

fn status_text(store: &Store, s: &PartnershipStatus, lang: Lang) -> String {
    let names: std::collections::BTreeMap<String, String> = store
        .devices()
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.device.to_string(), d.name))
        .collect();
    let device = |id: &String| {
        names
            .get(id)
            .map(|n| format!("{n} ({})", id.chars().take(8).collect::<String>()))
            .unwrap_or_else(|| id.clone())
    };
    let mut out = format!(
        "Partnership with {}: {} projection(s)",
        l(Vocab::Partner, &s.partner, lang),
        s.projections.len()
    );
    for (id, cats) in &s.projections {
        out.push_str(&format!("\n  {id}  [{}]", categories(cats, lang)));
    }
    if s.unposted_orders > 0 {
        out.push_str(&format!(
            "\nErasure orders not posted yet: {} (allervers sync)",
            s.unposted_orders
        ));
    }
    if s.orders.is_empty() {
        out.push_str("\nNo erasure order.");
    }
    for o in &s.orders {
        out.push_str(&format!("\nErasure order #{} ({})", o.order, o.status));
        for d in &o.acknowledged_by {
            out.push_str(&format!("\n  acknowledged by {}", device(d)));
        }
        for d in &o.waiting_for {
            out.push_str(&format!("\n  waiting for {}", device(d)));
        }
    }
    out
}
