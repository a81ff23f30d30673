//! The commands that talk to a relay: `space create`, `space recovery-code`, `space set-relay`,
//! `invite`, `join`, `recover`, `devices`, `approve`, `revoke`, `quarantine` and `sync`. The relay
//! is reached with the blocking client of `allervers-client`.

use std::path::PathBuf;

use allervers_client::HttpClient;
use allervers_client::RelayApi;
use allervers_core::store::EnrolmentStatus;
use allervers_core::{CoreError, Membership, Store, SyncProgress};
use allervers_protocol::hex_id;
use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Ctx, Target};

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
    let http = HttpClient::default();
    let m = allervers_client::create_space(&store, &http, relay, &admin, name)?;
    let recovery = allervers_client::recovery_code(&store, &http).map_err(|e| {
        anyhow!(
            "space «{}» created, but its recovery code could not be made ({}): run `allervers space recovery-code`",
            m.name,
            allervers_core::ApiError::from(e)
        )
    })?;
    let code = recovery.code();
    ctx.print(
        &serde_json::json!({"space": hex_id(&m.space), "name": m.name, "relay": m.relay, "recovery_code": code}),
        || {
            format!(
                "Space «{}» created on {}; this device is its coordinator. Next: allervers invite\n\n\
                 {RECOVERY_NOTE}\n{code}",
                m.name, m.relay
            )
        },
    )
}

/// What the recovery code is for, printed with it.
const RECOVERY_NOTE: &str = "Recovery code, shown this once: print it and keep it in a safe, never on a phone. If every coordinator's device is lost, `allervers recover CODE` on a new device makes it the space's coordinator (the code then works no more: make a new one). Whoever holds it can do the same.";

pub fn recovery_code(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let recovery = allervers_client::recovery_code(&store, &HttpClient::default())?;
    let code = recovery.code();
    ctx.print(
        &serde_json::json!({"space": hex_id(&m.space), "recovery_code": code}),
        || format!("New recovery code for «{}» (the one before no longer works).\n{RECOVERY_NOTE}\n{code}", m.name),
    )
}

pub fn recover(ctx: &Ctx, code: &str) -> Result<()> {
    let store = ctx.open()?;
    let recovery = allervers_client::recover(&store, &HttpClient::default(), code)?;
    ctx.print(
        &serde_json::json!({"space": hex_id(&recovery.space), "name": recovery.name, "relay": recovery.relay}),
        || {
            format!(
                "Recovered «{}» on {}: this device ({}) is its coordinator. Next: revoke the lost devices (allervers devices, allervers revoke DEVICE), then make a new recovery code (allervers space recovery-code)",
                recovery.name,
                recovery.relay,
                store.identity().device.short()
            )
        },
    )
}

/// `space set-relay URL`: the space's relay moved; this device follows it once the new address
/// proved it serves the space as far as this device has read it.
pub fn set_relay(ctx: &Ctx, url: &str) -> Result<()> {
    let store = ctx.open()?;
    enrolled(&store)?;
    let m = match allervers_client::set_relay(&store, &HttpClient::default(), None, url) {
        Ok(m) => m,
        Err(CoreError::Wiped) => return Err(erased(ctx)),
        Err(e) => return Err(e.into()),
    };
    ctx.print(
        &serde_json::json!({"space": hex_id(&m.space), "name": m.name, "relay": m.relay}),
        || {
            let mut text = format!(
                "«{}» now syncs with {} (nothing received is fetched again).",
                m.name, m.relay
            );
            if m.coordinator {
                text.push_str(" Invites and recovery codes made before name the old address: make a new recovery code (allervers space recovery-code).");
            }
            text
        },
    )
}

/// The store was erased on a coordinator's wipe order: so goes what turned the passphrase into
/// its key.
fn erased(ctx: &Ctx) -> anyhow::Error {
    // A wiped health or partnership store leaves the team's store and its key settings alone.
    if ctx.target == Target::Team {
        let _ = std::fs::remove_file(ctx.dir.join("key-params.json"));
        let health = ctx.on(Target::Health).store_dir();
        for file in ["store.db", "store.db-wal", "store.db-shm"] {
            let _ = std::fs::remove_file(health.join(file));
        }
        let _ = std::fs::remove_dir(health);
    }
    let _ = std::fs::remove_dir(ctx.store_dir());
    CoreError::Wiped.into()
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
        format!(
            "Joined «{}» on {}. This device is {}: the coordinator's device delivers the space's key at its next sync. Next: allervers sync",
            invite.name,
            invite.relay,
            store.identity().device.short()
        )
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

#[derive(Serialize)]
struct DevicesOut {
    devices: Vec<DeviceOut>,
    enrolments: Vec<allervers_core::store::Enrolment>,
}

pub fn devices(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let list = relay_devices(&store, &m)?;
    let enrolments = if m.coordinator {
        store.enrolments()?
    } else {
        Vec::new()
    };
    let out = DevicesOut {
        devices: list,
        enrolments,
    };
    ctx.print(&out, || {
        let mut lines: Vec<String> = out
            .devices
            .iter()
            .map(|d| {
                let status = out
                    .enrolments
                    .iter()
                    .find(|e| e.device.to_string() == d.device)
                    .map(|e| match e.status {
                        EnrolmentStatus::Approved => "",
                        EnrolmentStatus::Pending => "WAITING FOR APPROVAL (allervers approve) ",
                        EnrolmentStatus::Refused => "REFUSED: keys did not match its invite ",
                        EnrolmentStatus::Revoked => "",
                    })
                    .unwrap_or("");
                format!(
                    "{}  {:<24} {:<12} {}{}{}",
                    &d.device[..8],
                    d.name.as_deref().unwrap_or("(not synced yet)"),
                    d.worker.as_deref().unwrap_or(""),
                    if d.coordinator { "coordinator " } else { "" },
                    status,
                    d.revoked_at
                        .map(|t| format!("REVOKED {}", t.format("%Y-%m-%d")))
                        .unwrap_or_default()
                )
            })
            .collect();
        if lines.is_empty() {
            lines.push("No devices.".into());
        }
        let coordinators = out
            .devices
            .iter()
            .filter(|d| d.coordinator && d.revoked_at.is_none())
            .count();
        if coordinators < 2 {
            lines.push(
                "Only one coordinator: make a second one (allervers coordinator DEVICE); if its device is lost, only the recovery code can give the space a coordinator again.".into(),
            );
        }
        lines.join("\n")
    })
}

pub fn approve(ctx: &Ctx, device: &str) -> Result<()> {
    let store = ctx.open()?;
    enrolled(&store)?;
    let id = store.approve(device)?;
    ctx.print(&serde_json::json!({"approved": id.to_string()}), || {
        format!(
            "Device {} approved: its keys go with the next sync (allervers sync)",
            id.short()
        )
    })
}

/// The one device of the space whose id starts with `device`, with its id.
fn one_device<'a>(
    list: &'a [DeviceOut],
    device: &str,
) -> Result<(&'a DeviceOut, allervers_core::DeviceId)> {
    let target = matching_device(list, device)?;
    let id = allervers_protocol::parse_hex_id(&target.device)
        .ok_or_else(|| anyhow!("malformed device id from the relay"))?;
    Ok((target, allervers_core::DeviceId::from_bytes(&id)))
}

fn matching_device<'a>(list: &'a [DeviceOut], device: &str) -> Result<&'a DeviceOut> {
    let wanted = device.trim().to_lowercase();
    if wanted.len() < 4 {
        bail!("invalid device: give at least 4 hex digits of its id (see allervers devices)");
    }
    let matches: Vec<_> = list
        .iter()
        .filter(|d| d.device.starts_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => bail!("invalid device: no device of this space starts with {wanted}"),
        _ => bail!("invalid device: {wanted} matches several devices; give more digits"),
    }
}

pub fn coordinator(ctx: &Ctx, device: &str) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let list = relay_devices(&store, &m)?;
    let (target, device_id) = one_device(&list, device)?;
    allervers_client::make_coordinator(&store, &HttpClient::default(), &device_id)?;
    ctx.print(&serde_json::json!({"coordinator": target.device}), || {
        format!(
            "Device {} ({}) is a coordinator too: its grant goes with this sync",
            &target.device[..8],
            target.name.as_deref().unwrap_or("?")
        )
    })
}

pub fn revoke(ctx: &Ctx, device: &str, yes: bool) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let list = relay_devices(&store, &m)?;
    let (target, device_id) = one_device(&list, device)?;
    if device_id == store.identity().device {
        bail!("invalid device: this is this device itself");
    }
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            bail!("revoking needs a confirmation: run it in a terminal, or add --yes");
        }
        let last = store.last_change_from(&device_id)?;
        eprintln!(
            "Device {} ({}, {}): enrolled {}, last change received from it {}.",
            &target.device[..8],
            target.name.as_deref().unwrap_or("name not synced yet"),
            target.worker.as_deref().unwrap_or("?"),
            target
                .enrolled_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "?".into()),
            last.map(|t| format!("relayed {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_else(|| "never".into())
        );
        eprintln!("What it has not pushed yet will be lost. Revoke it? [y/N]");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "o" | "oui") {
            bail!("not revoked");
        }
    }
    let done = allervers_client::revoke(&store, &HttpClient::default(), &device_id)?;
    let undelivered: Vec<String> = done.undelivered.iter().map(|d| d.to_string()).collect();
    ctx.print(
        &serde_json::json!({"revoked": target.device, "epoch": done.epoch, "undelivered": undelivered}),
        || {
            let mut text = format!(
                "Device {} ({}) revoked: the relay refuses it and hands it the wipe order; key epoch {} started for the other devices",
                &target.device[..8],
                target.name.as_deref().unwrap_or("?"),
                done.epoch
            );
            if !undelivered.is_empty() {
                text.push_str(&format!(
                    "\n{} device(s) did not get the new key (keys unknown here): {}",
                    undelivered.len(),
                    undelivered.iter().map(|d| &d[..8]).collect::<Vec<_>>().join(", ")
                ));
            }
            text
        },
    )
}

pub fn quarantine(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    if !m.coordinator {
        bail!("refused: only a coordinator's device lists what sync set aside");
    }
    let list = store.set_aside(&m.space)?;
    ctx.print(&list, || {
        if list.is_empty() {
            return "Nothing set aside: every envelope received applied.".into();
        }
        list.iter()
            .map(|a| {
                format!(
                    "#{:<8} {} {:>7} bytes  {}  {}",
                    a.seq,
                    DateTime::from_timestamp_millis(a.received_at_ms)
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    a.size,
                    if a.quarantined {
                        "QUARANTINED"
                    } else {
                        "held       "
                    },
                    a.reason
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

pub fn sync(ctx: &Ctx) -> Result<()> {
    let (summary, mut text) = sync_store(ctx)?;
    if ctx.target == Target::Health {
        let (promoted, said) = promote(ctx)?;
        text.push_str(&said);
        let mut out = serde_json::to_value(&summary)?;
        out["promoted"] = promoted.into();
        return ctx.print(&out, || text);
    }
    if ctx.target != Target::Team {
        return ctx.print(&summary, || text);
    }
    let mut json = serde_json::json!({"team": summary});
    // A health professional's device syncs its health store too, makes the professionals it
    // let in coordinators of the health space, and erases there the health notes of the
    // persons erased from the team's file.
    let health = ctx.on(Target::Health);
    if health.store_path().exists() {
        let (health_summary, mut health_text) = sync_store(&health)?;
        let (promoted, said) = promote(&health)?;
        health_text.push_str(&said);
        let followed = health
            .open()?
            .follow_team_erasures(&ctx.open()?)
            .map_err(anyhow::Error::from)?;
        json["health"] = serde_json::json!(health_summary);
        json["health_erasures"] = serde_json::json!(followed);
        json["health_promoted"] = serde_json::json!(promoted);
        text = format!("{text}\nHealth space: {health_text}");
        if followed > 0 {
            text.push_str(&format!(
                "\nHealth notes of {followed} erased person(s) erased"
            ));
        }
    }
    // The office syncs each partnership store after the team's, and erases there the
    // projections of the persons erased from the team's file.
    let mut partnerships = serde_json::Map::new();
    for partner in crate::partnership::partners(ctx)? {
        let p = ctx.on(Target::Partner(partner.clone()));
        let erased = ctx
            .open()?
            .unpublish_erased(&p.open()?)
            .map_err(anyhow::Error::from)?;
        let (summary, p_text) = sync_store(&p)?;
        partnerships.insert(
            partner.clone(),
            serde_json::json!({"sync": summary, "erased": erased}),
        );
        text = format!("{text}\nPartnership {partner}: {p_text}");
        if erased > 0 {
            text.push_str(&format!(
                "\nProjections of {erased} erased person(s) erased"
            ));
        }
    }
    if !partnerships.is_empty() {
        json["partnerships"] = serde_json::Value::Object(partnerships);
    }
    // And its statistics store, where the reports it published wait to leave.
    let statistics = ctx.on(Target::Statistics);
    if statistics.store_path().exists() {
        let (summary, s_text) = sync_store(&statistics)?;
        json["statistics"] = serde_json::json!(summary);
        text = format!("{text}\nStatistics space: {s_text}");
    }
    if json.as_object().is_some_and(|o| o.len() == 1) {
        return ctx.print(&summary, || text);
    }
    ctx.print(&json, || text)
}

/// On a coordinator's health store, makes the professionals it let in coordinators of the
/// health space too; says so, or nothing.
fn promote(health: &Ctx) -> Result<(usize, String)> {
    let promoted =
        allervers_client::promote_professionals(&health.open()?, &HttpClient::default())?;
    let said = if promoted > 0 {
        format!(", {promoted} professional(s) made coordinators of the health space")
    } else {
        String::new()
    };
    Ok((promoted, said))
}

/// One sync round of the store `ctx` works on, with the summary and its text.
fn sync_store(ctx: &Ctx) -> Result<(allervers_core::SyncSummary, String)> {
    let store = ctx.open()?;
    let m = enrolled(&store)?;
    let bar = indicatif::ProgressBar::new_spinner();
    if ctx.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let client = HttpClient::default();
    let summary = match allervers_client::sync(&store, &client, &mut |p| match p {
        SyncProgress::Pushing { done, total } => {
            bar.set_message(format!("pushing {done}/{total} changes"))
        }
        SyncProgress::Pulling { received } => bar.set_message(format!("pulled {received} changes")),
    }) {
        Ok(summary) => summary,
        Err(CoreError::Wiped) => {
            bar.finish_and_clear();
            return Err(erased(ctx));
        }
        Err(e) => return Err(e.into()),
    };
    bar.finish_and_clear();
    let mut text = format!(
        "Synced: pushed {}, pulled {} ({} new), {} new conflicts, cursor {}",
        summary.pushed, summary.pulled, summary.new_changes, summary.new_conflicts, summary.cursor
    );
    if summary.keys_received > 0 {
        text.push_str(&format!(
            ", {} space key(s) received",
            summary.keys_received
        ));
    }
    if summary.approved > 0 {
        text.push_str(&format!(", {} device(s) approved", summary.approved));
    }
    if summary.quarantined + summary.held > 0 {
        text.push_str(&format!(
            "\nSet aside: {} quarantined, {} held (allervers quarantine)",
            summary.quarantined, summary.held
        ));
    }
    if !store.holds_space_key(&m.space).unwrap_or(true) {
        text.push_str("\nThis device has not received the space's key yet: its changes wait until a coordinator's device syncs");
    }
    Ok((summary, text))
}
