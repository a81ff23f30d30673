//! The commands that talk to a relay: `space create`, `invite`, `join`, `devices`, `revoke` and
//! `sync`. The relay is reached with the blocking client of `allervers-protocol`.

use std::path::PathBuf;

use allervers_client::HttpClient;
use allervers_client::RelayApi;
use allervers_core::{Membership, Store, SyncProgress};
use allervers_protocol::hex_id;
use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Ctx;

/// How long an invite can be redeemed.
const INVITE_DAYS: i64 = 7;

fn enrolled(store: &Store) -> Result<Membership> {
    store.membership()?.ok_or_else(|| {
        anyhow!("not enrolled: run `allervers space create` or `allervers join CODE` first")
    })
}

pub fn create_space(ctx: &Ctx, name: &str, relay: &str) -> Result<()> {
    let store = ctx.open()?;
    let admin = std::env::var("ALLERVERS_RELAY_ADMIN_TOKEN")
        .map_err(|_| anyhow!("set ALLERVERS_RELAY_ADMIN_TOKEN to the relay's admin token"))?;
    let m = allervers_client::create_space(&store, &HttpClient::default(), relay, &admin, name)?;
    ctx.print(
        &serde_json::json!({"space": hex_id(&m.space), "name": m.name, "relay": m.relay}),
        || {
            format!(
                "Space «{}» created on {}; this device is its coordinator. Next: allervers invite",
                m.name, m.relay
            )
        },
    )
}

#[derive(Serialize)]
struct InviteOut {
    code: String,
    expires_at: DateTime<Utc>,
    qr: Option<PathBuf>,
}

pub fn invite(ctx: &Ctx, qr: Option<PathBuf>) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let expires_at = Utc::now() + chrono::Duration::days(INVITE_DAYS);
    let invite = allervers_client::invite(
        &store,
        &HttpClient::default(),
        expires_at.timestamp_millis(),
    )?;
    let code = invite.code();
    // The QR code carries the space key: it is written only where `--qr` says, never by
    // default into whatever folder the command was run from.
    if let Some(path) = &qr {
        crate::qr::write_png(&code, path)?;
    }
    let written = match &qr {
        Some(path) => format!("QR code written to {}. ", path.display()),
        None => String::new(),
    };
    let out = InviteOut {
        code: code.clone(),
        expires_at,
        qr,
    };
    ctx.print(&out, || {
        format!(
            "Invite to «{}» (valid until {}, usable once):\n{code}\n{written}It carries the space key: hand it over in person.",
            m.name,
            expires_at.format("%Y-%m-%d %H:%M UTC"),
        )
    })
}

pub fn join(ctx: &Ctx, code: &str) -> Result<()> {
    let store = ctx.open()?;
    let invite = allervers_client::join(&store, &HttpClient::default(), code)?;
    ctx.print(&serde_json::json!({"space": hex_id(&invite.space), "name": invite.name, "relay": invite.relay}), || {
        format!("Joined «{}» on {}. Next: allervers sync", invite.name, invite.relay)
    })
}

#[derive(Serialize)]
struct DeviceOut {
    device: String,
    name: Option<String>,
    worker: Option<String>,
    coordinator: bool,
    enrolled_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

fn relay_devices(store: &Store, m: &Membership) -> Result<Vec<DeviceOut>> {
    let list = HttpClient::default()
        .devices(&m.relay, &m.space, &m.token)
        .map_err(allervers_core::CoreError::from)?;
    let known = store.devices()?;
    Ok(list
        .into_iter()
        .map(|d| {
            let id = hex_id(&d.device);
            let local = known.iter().find(|k| k.device.to_string() == id);
            DeviceOut {
                name: local.map(|k| k.name.clone()),
                worker: local.map(|k| k.worker.clone()),
                device: id,
                coordinator: d.coordinator,
                enrolled_at: DateTime::from_timestamp_millis(d.enrolled_at_ms),
                revoked_at: d.revoked_at_ms.and_then(DateTime::from_timestamp_millis),
            }
        })
        .collect())
}

pub fn devices(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let list = relay_devices(&store, &m)?;
    ctx.print(&list, || {
        list.iter()
            .map(|d| {
                format!(
                    "{}  {:<24} {:<12} {}{}",
                    &d.device[..8],
                    d.name.as_deref().unwrap_or("(not synced yet)"),
                    d.worker.as_deref().unwrap_or(""),
                    if d.coordinator { "coordinator " } else { "" },
                    d.revoked_at
                        .map(|t| format!("REVOKED {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

pub fn revoke(ctx: &Ctx, device: &str) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let wanted = device.trim().to_lowercase();
    if wanted.len() < 4 {
        bail!("invalid device: give at least 4 hex digits of its id (see allervers devices)");
    }
    let list = relay_devices(&store, &m)?;
    let matches: Vec<_> = list
        .iter()
        .filter(|d| d.device.starts_with(&wanted))
        .collect();
    let target = match matches.as_slice() {
        [one] => one,
        [] => bail!("invalid device: no device of this space starts with {wanted}"),
        _ => bail!("invalid device: {wanted} matches several devices; give more digits"),
    };
    let id = allervers_protocol::parse_hex_id(&target.device)
        .ok_or_else(|| anyhow!("malformed device id from the relay"))?;
    HttpClient::default()
        .revoke(&m.relay, &m.space, &m.token, &id)
        .map_err(allervers_core::CoreError::from)?;
    ctx.print(&serde_json::json!({"revoked": target.device}), || {
        format!(
            "Device {} ({}) revoked: its next request will be refused",
            &target.device[..8],
            target.name.as_deref().unwrap_or("?")
        )
    })
}

pub fn sync(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    enrolled(&store)?;
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let client = HttpClient::default();
    let summary = allervers_client::sync(&store, &client, &mut |p| match p {
        SyncProgress::Pushing { done, total } => {
            bar.set_message(format!("pushing {done}/{total} changes"))
        }
        SyncProgress::Pulling { received } => bar.set_message(format!("pulled {received} changes")),
    })?;
    bar.finish_and_clear();
    ctx.print(&summary, || {
        format!(
            "Synced: pushed {}, pulled {} ({} new), {} new conflicts, cursor {}",
            summary.pushed,
            summary.pulled,
            summary.new_changes,
            summary.new_conflicts,
            summary.cursor
        )
    })
}
