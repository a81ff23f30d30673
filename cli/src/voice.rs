//! `allervers voice`: the person's own view of the support after a step (a home found, six
//! months in it, the end of the support), with the organisation's own questions answered.

use std::collections::BTreeMap;

use allervers_core::vocab::Vocab;
use allervers_core::NewOwnView;
use anyhow::{anyhow, Result};
use clap::Subcommand;

use crate::render::l;
use crate::{date, find_person, Created, Ctx};

#[derive(Subcommand)]
pub(crate) enum VoiceCmd {
    /// Records what the person says of the support.
    Add {
        person: String,
        /// home_found, six_months_in_home, support_end, other
        #[arg(long)]
        step: String,
        /// The day (YYYY-MM-DD); today by default.
        #[arg(long)]
        on: Option<String>,
        /// How satisfied, from 1 (not at all) to 5 (very).
        #[arg(long)]
        satisfaction: Option<i64>,
        #[arg(long)]
        helped: Option<String>,
        #[arg(long)]
        missing: Option<String>,
        /// Their own words.
        #[arg(long)]
        words: Option<String>,
        /// An answer to one of the organisation's questions (`field add own_view ...`):
        /// NAME=VALUE, repeatable.
        #[arg(long = "answer", value_name = "NAME=VALUE")]
        answers: Vec<String>,
    },
    /// A person's own views, the latest first.
    List { person: String },
}

pub(crate) fn run(ctx: &Ctx, cmd: VoiceCmd) -> Result<()> {
    let store = ctx.open()?;
    match cmd {
        VoiceCmd::Add {
            person,
            step,
            on,
            satisfaction,
            helped,
            missing,
            words,
            answers,
        } => {
            let answers = answers
                .iter()
                .map(|a| {
                    a.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .ok_or_else(|| anyhow!("invalid --answer: {a:?} is not NAME=VALUE"))
                })
                .collect::<Result<BTreeMap<_, _>>>()?;
            let id = store.record_own_view(&NewOwnView {
                person: find_person(&store, &person)?,
                step,
                on: date("on", &on)?,
                satisfaction,
                what_helped: helped,
                what_missing: missing,
                own_words: words,
                answers,
            })?;
            ctx.print(&Created { id }, || format!("View {id} recorded"))?;
        }
        VoiceCmd::List { person } => {
            let person = find_person(&store, &person)?;
            let views = store.own_views(person)?;
            // Their own words are part of their file: the reading is logged first.
            store.log_access(
                &[allervers_core::Access::Person { person }],
                allervers_core::Via::Cli,
            )?;
            let lang = ctx.lang;
            ctx.print(&views, || {
                views
                    .iter()
                    .map(|v| {
                        let mut s = format!(
                            "{}  {}{}",
                            v.on.map(|d| d.to_string()).unwrap_or_default(),
                            v.step
                                .as_deref()
                                .map(|s| l(Vocab::ViewStep, s, lang))
                                .unwrap_or_default(),
                            v.satisfaction
                                .map(|s| format!(" — {s}/5"))
                                .unwrap_or_default()
                        );
                        for (label, text) in [
                            ("+", &v.what_helped),
                            ("-", &v.what_missing),
                            ("«", &v.own_words),
                        ] {
                            if let Some(t) = text {
                                s.push_str(&format!("\n    {label} {t}"));
                            }
                        }
                        for (k, a) in &v.answers {
                            s.push_str(&format!("\n    {k}: {a}"));
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(())
}
