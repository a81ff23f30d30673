//! `allervers field`: the organisation's own fields (a coordinator's device defines them; kept in
//! the space's roster, they reach every device with the next sync), and the `NAME=VALUE`
//! arguments that write their values on persons and encounters.

use std::collections::BTreeMap;
use std::fmt::Write;

use allervers_core::vocab::Lang;
use allervers_core::{Choice, CustomField, CustomType, Kind, CUSTOM_FIELD_KINDS};
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;

use crate::Ctx;

#[derive(Subcommand)]
pub enum FieldCmd {
    /// Defines one of the organisation's fields, or changes its definition (coordinator).
    Add {
        /// person or encounter.
        kind: String,
        /// 1 to 40 lowercase letters, digits or underscores, for instance logement_souhaite:
        /// what `custom.NAME=VALUE` writes.
        name: String,
        /// text, number, date, yes_no, choice (one of a list) or choices (several of a list).
        #[arg(long = "type")]
        ty: String,
        /// The French label.
        #[arg(long)]
        label: String,
        /// The English label.
        #[arg(long)]
        label_en: Option<String>,
        /// A choice of a choice field: CODE=French label, or CODE=French label|English label
        /// (repeatable).
        #[arg(long = "choice", value_name = "CODE=LABEL")]
        choices: Vec<String>,
        /// The smallest number a number field takes.
        #[arg(long, allow_negative_numbers = true)]
        min: Option<f64>,
        /// The largest number a number field takes.
        #[arg(long, allow_negative_numbers = true)]
        max: Option<f64>,
        /// Whether its values may reveal health or the like (yes or no): pseudonymised exports
        /// leave those out. Yes for a text field unless said otherwise.
        #[arg(long)]
        sensitive: Option<String>,
    },
    /// The organisation's fields, retired ones included.
    List {
        /// person or encounter.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Retires one of the organisation's fields (coordinator): it takes no new value, and the
    /// values written are kept and still shown.
    Retire { kind: String, name: String },
}

fn kind_arg(name: &str) -> Result<Kind> {
    Kind::from_name(name.trim())
        .filter(|k| CUSTOM_FIELD_KINDS.contains(k))
        .ok_or_else(|| {
            let kinds: Vec<&str> = CUSTOM_FIELD_KINDS.iter().map(|k| k.name()).collect();
            anyhow!(
                "invalid kind: the organisation's fields are for {}",
                kinds.join(", ")
            )
        })
}

fn choice_arg(text: &str) -> Result<Choice> {
    let (code, labels) = text
        .split_once('=')
        .ok_or_else(|| anyhow!("invalid --choice: write CODE=LABEL"))?;
    let (fr, en) = match labels.split_once('|') {
        Some((fr, en)) => (fr, Some(en.trim().to_string())),
        None => (labels, None),
    };
    Ok(Choice {
        code: code.trim().to_string(),
        fr: fr.trim().to_string(),
        en,
    })
}

/// `NAME=VALUE` arguments (`--custom`) as a record's values of the organisation's fields.
pub fn values(assignments: &[String]) -> Result<BTreeMap<String, String>> {
    assignments
        .iter()
        .map(|a| {
            let (name, value) = a
                .split_once('=')
                .ok_or_else(|| anyhow!("invalid --custom: write NAME=VALUE"))?;
            Ok((name.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

pub fn run(ctx: &Ctx, command: FieldCmd) -> Result<()> {
    let store = ctx.open()?;
    match command {
        FieldCmd::Add {
            kind,
            name,
            ty,
            label,
            label_en,
            choices,
            min,
            max,
            sensitive,
        } => {
            let ty = CustomType::from_name(ty.trim()).ok_or_else(|| {
                let types: Vec<&str> = CustomType::ALL.iter().map(|t| t.name()).collect();
                anyhow!("invalid --type: one of {}", types.join(", "))
            })?;
            let sensitive = match sensitive.as_deref().map(str::trim) {
                None => ty == CustomType::Text,
                Some("yes" | "oui") => true,
                Some("no" | "non") => false,
                Some(_) => bail!("invalid --sensitive: yes or no"),
            };
            let field = CustomField {
                kind: kind_arg(&kind)?,
                name: name.trim().to_string(),
                ty,
                fr: label.trim().to_string(),
                en: label_en
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
                min,
                max,
                choices: choices
                    .iter()
                    .map(|c| choice_arg(c))
                    .collect::<Result<_>>()?,
                sensitive,
                retired: false,
            };
            store.define_field(&field)?;
            ctx.print(&field, || {
                format!(
                    "Field {}.{} defined; it reaches the other devices with the next sync.",
                    field.kind.name(),
                    field.name
                )
            })
        }
        FieldCmd::List { kind } => {
            let kind = kind.as_deref().map(kind_arg).transpose()?;
            let fields = store.custom_fields(kind)?;
            ctx.print(&fields, || list(&fields, ctx.lang))
        }
        FieldCmd::Retire { kind, name } => {
            let kind = kind_arg(&kind)?;
            store.retire_field(kind, name.trim())?;
            ctx.print(
                &serde_json::json!({"kind": kind, "name": name.trim(), "retired": true}),
                || {
                    format!(
                        "Field {}.{} retired: it takes no new value; the values written are kept.",
                        kind.name(),
                        name.trim()
                    )
                },
            )
        }
    }
}

/// The fields as lines: kind and name, type, label, then the choices or bounds.
fn list(fields: &[CustomField], lang: Lang) -> String {
    if fields.is_empty() {
        return "No field of the organisation (`allervers field add` defines one).\n".into();
    }
    let mut out = String::new();
    for f in fields {
        let mut notes = Vec::new();
        if f.sensitive {
            notes.push("sensitive".to_string());
        }
        if f.retired {
            notes.push("retired".to_string());
        }
        let _ = writeln!(
            out,
            "{:<40} {:<8} {}{}",
            format!("{}.{}", f.kind.name(), f.name),
            f.ty.name(),
            f.label(lang),
            if notes.is_empty() {
                String::new()
            } else {
                format!("  ({})", notes.join(", "))
            }
        );
        for c in &f.choices {
            let _ = writeln!(out, "    {:<20} {}", c.code, f.choice_label(&c.code, lang));
        }
        if f.min.is_some() || f.max.is_some() {
            let bound = |b: Option<f64>| b.map(|x| x.to_string()).unwrap_or_default();
            let _ = writeln!(out, "    from {} to {}", bound(f.min), bound(f.max));
        }
    }
    out
}
