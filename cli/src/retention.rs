//! `allervers retention`: the retention review for a coordinator (the CNIL's référentiel): the
//! persons with no contact for the organisation's retention period, the period itself (kept in
//! the space's roster), and keeping a file with a reason.

use std::fmt::Write;

use allervers_core::RetentionReview;
use anyhow::Result;
use clap::Subcommand;

use crate::{find_person, Ctx};

#[derive(Subcommand)]
pub enum RetentionCmd {
    /// Shows the organisation's retention period in months, or sets it (coordinator): kept in
    /// the space's roster, it reaches every device with the next sync.
    Period {
        /// 1 to 240 months (24 unless set).
        months: Option<u32>,
    },
    /// Keeps a person's file after review, with the reason (coordinator): written on the
    /// person's record, in its history on every device; the person leaves the list until a
    /// whole period has passed again.
    Keep {
        person: String,
        #[arg(long)]
        reason: String,
    },
}

pub fn run(ctx: &Ctx, command: Option<RetentionCmd>) -> Result<()> {
    let store = ctx.open()?;
    match command {
        None => {
            let review = store.retention_review()?;
            ctx.print(&review, || text(&review))
        }
        Some(RetentionCmd::Period { months }) => {
            if let Some(months) = months {
                store.set_retention_months(months)?;
            }
            let months = store.retention_months()?;
            ctx.print(&serde_json::json!({ "retention_months": months }), || {
                format!(
                    "Retention period: {months} months without contact{}",
                    if store.membership().ok().flatten().is_some() {
                        " (kept in the space's roster: every device has it after its next sync)"
                    } else {
                        ""
                    }
                )
            })
        }
        Some(RetentionCmd::Keep { person, reason }) => {
            let id = find_person(&store, &person)?;
            store.retention_keep(id, &reason)?;
            let months = store.retention_months()?;
            ctx.print(
                &serde_json::json!({ "person": id, "kept": true, "retention_months": months }),
                || {
                    format!(
                        "File of {id} kept; it comes back for review after {months} months without contact."
                    )
                },
            )
        }
    }
}

fn text(review: &RetentionReview) -> String {
    let mut out = String::new();
    if review.due.is_empty() {
        let _ = writeln!(
            out,
            "No person without contact for {} months or more.",
            review.period_months
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{} person(s) without contact for {} months or more, oldest first:",
        review.due.len(),
        review.period_months
    );
    for due in &review.due {
        let contact = match due.last_contact {
            Some(t) => format!("last contact {}", t.format("%Y-%m-%d")),
            None => format!("never met, recorded {}", due.recorded_at.format("%Y-%m-%d")),
        };
        let kept = due
            .kept_at
            .map(|t| format!(", kept {}", t.format("%Y-%m-%d")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<32} {contact}{kept} ({} months ago)  {}",
            due.display_name, due.months, due.person
        );
    }
    let _ = writeln!(
        out,
        "Keep a file: allervers retention keep PERSON --reason TEXT\n\
         Erase one: allervers person erase PERSON --reason TEXT"
    );
    out
}
