//! `allervers statistics`: reports for devices that may read statistics and nothing nominative.
//! The office opens a statistics space of its own (`statistics open`, a store beside the team's
//! in `DIR/statistics/`), invites the statistics-only devices into it (`allervers --statistics
//! invite`; they join with `statistics join`), and publishes there the reports it computes
//! (`statistics publish`). A statistics-only device holds that space's key only, never the
//! team's: it reads the published reports (`statistics list`, `statistics show`).

use allervers_client::HttpClient;
use allervers_core::{PublishedReport, Store};
use allervers_protocol::hex_id;
use anyhow::{bail, Result};
use clap::Subcommand;
use serde::Serialize;

use crate::{period, Ctx, Target};

#[derive(Subcommand)]
pub(crate) enum StatisticsCmd {
    /// Opens the office's statistics space (a coordinator's device): a statistics store beside
    /// the team's, which founds the space; prints its recovery code once.
    Open,
    /// On a statistics-only device (right after `init`): joins the statistics space of an
    /// invite from `allervers --statistics invite`; the device's store becomes a statistics
    /// store.
    Join { code: String },
    /// Publishes the activity report of a period into the statistics space (the office).
    Publish {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        team: Option<String>,
    },
    /// The reports published, the latest first (a statistics-only device; the office with
    /// `--statistics`).
    List,
    /// One published report, as `report` shows it (`--csv` for funders: counts under 5 as
    /// `< 5`).
    Show {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

pub(crate) fn run(ctx: &Ctx, cmd: StatisticsCmd) -> Result<()> {
    match cmd {
        StatisticsCmd::Open => open(ctx),
        StatisticsCmd::Join { code } => join(ctx, &code),
        StatisticsCmd::Publish { from, to, team } => {
            let team_store = ctx.on(Target::Team).open()?;
            let statistics = ctx.on(Target::Statistics).open()?;
            let (from, to) = period(&from, &to)?;
            let report = team_store.report(from, to, team.as_deref())?;
            let id = statistics.publish_report(&report)?;
            ctx.print(
                &serde_json::json!({"published": id, "from": from, "to": to, "team": report.team}),
                || {
                    format!(
                        "Report from {from} to {to} published into the statistics space ({id}). Next: allervers sync"
                    )
                },
            )
        }
        StatisticsCmd::List => {
            let store = statistics_store(ctx)?;
            let list = store.published_reports(None, None)?;
            #[derive(Serialize)]
            struct Listed<'a> {
                id: allervers_core::RecordId,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
                team: &'a Option<String>,
                published_at_ms: i64,
            }
            let rows: Vec<Listed> = list
                .iter()
                .map(|p| Listed {
                    id: p.id,
                    from: p.report.from,
                    to: p.report.to,
                    team: &p.report.team,
                    published_at_ms: p.published_at_ms,
                })
                .collect();
            ctx.print(&rows, || {
                if rows.is_empty() {
                    return "No report published yet.".into();
                }
                rows.iter()
                    .map(|r| {
                        format!(
                            "{} to {}{}",
                            r.from,
                            r.to,
                            r.team
                                .as_deref()
                                .map(|t| format!(" (team {t})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        StatisticsCmd::Show {
            from,
            to,
            team,
            csv,
        } => {
            let store = statistics_store(ctx)?;
            let (from, to) = period(&from, &to)?;
            let found: Vec<PublishedReport> =
                store.published_reports(Some((from, to)), team.as_deref())?;
            let Some(latest) = found.into_iter().find(|p| p.report.team == team) else {
                bail!("no report published for {from} to {to}: the office publishes one with `allervers statistics publish`");
            };
            crate::print_report(ctx, &latest.report, csv)
        }
    }
}

/// The store a statistics command reads: the device's own (a statistics-only device's), or the
/// office's statistics store with `--statistics`.
fn statistics_store(ctx: &Ctx) -> Result<Store> {
    let store = ctx.open()?;
    if !store.is_statistics_store() {
        bail!("invalid store: not a statistics store (on the office, give --statistics first)");
    }
    Ok(store)
}

fn open(ctx: &Ctx) -> Result<()> {
    let team = ctx.on(Target::Team).open()?;
    if team.is_statistics_store() || team.is_health_store() {
        bail!("invalid statistics: a statistics space is opened from the office's team store");
    }
    let target = ctx.on(Target::Statistics);
    let path = target.store_path();
    if path.exists() {
        bail!("this device has a statistics store already");
    }
    let (m, recovery) = crate::found_beside_team(
        ctx,
        &team,
        Target::Statistics,
        Store::make_statistics_store,
        allervers_client::found_statistics_space,
        "--statistics",
    )?;
    ctx.print(
        &serde_json::json!({"space": hex_id(&m.space), "relay": m.relay, "recovery_code": recovery}),
        || {
            format!(
                "Statistics space opened on {}: this device is its coordinator. Next: allervers --statistics invite (for each statistics-only device), then allervers statistics publish --from ... --to ...\n\n\
                 Recovery code of the statistics space, shown this once: keep it in a safe, with the team's.\n{recovery}",
                m.relay
            )
        },
    )
}

fn join(ctx: &Ctx, code: &str) -> Result<()> {
    if ctx.target != Target::Team {
        bail!("invalid statistics: a statistics-only device joins with its own store (no --statistics)");
    }
    let store = ctx.open()?;
    store.read_invite(code)?;
    store.make_statistics_store()?;
    let invite = allervers_client::join(&store, &HttpClient::default(), code)?;
    ctx.print(
        &serde_json::json!({"space": hex_id(&invite.space), "name": invite.name, "relay": invite.relay}),
        || {
            format!(
                "Joined the statistics space «{}». This device is {} there: the office delivers the space's key at its next sync. Next: allervers sync",
                invite.name,
                store.identity().device.short()
            )
        },
    )
}
