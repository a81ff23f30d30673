//! A team's health space: opened by a coordinator's one-time space code, founded by the first
//! health professional's health store, joined by the others with a health professional's
//! invite (the core decides; the relay registers).

use allervers_core::{Membership, Result, SpaceCode, Store};
use allervers_protocol::{CreateLinkedSpace, CreateSpaceInvite};

use crate::{Exchange, RelayApi};

/// A one-time space code, registered at the relay of `team`'s space until `expires_at_ms`
/// (relay clock; a coordinator's device only).
pub fn space_code(team: &Store, exchange: &dyn Exchange, expires_at_ms: i64) -> Result<SpaceCode> {
    let (m, code) = team.new_space_code()?;
    let request = CreateSpaceInvite {
        secret_hash: code.secret_hash(),
        expires_at_ms,
    };
    exchange.create_space_invite(&m.relay, &m.space, &m.token, &request)?;
    Ok(code)
}

/// Joins the team's health space with a health professional's invite `code`, in `health`, a
/// new health store beside `team`'s: refused for an invite to a space the team's store belongs
/// to.
pub fn join_health_space(
    health: &Store,
    team: &Store,
    exchange: &dyn Exchange,
    code: &str,
) -> Result<allervers_core::Invite> {
    let invite = health.read_invite(code)?;
    health.check_health_invite(team, &invite)?;
    crate::join(health, exchange, code)
}

/// Founds the health space with `code` in `health`, a new health store (this device its first
/// health professional, the space's founder and coordinator, drawing its key), joins it, and
/// declares it in the roster of `team`, the team's store beside it (sent at its next sync), so
/// that the professionals who join later can check their invite against it.
pub fn found_health_space(
    health: &Store,
    team: &Store,
    exchange: &dyn Exchange,
    code: &str,
    name: &str,
) -> Result<Membership> {
    let code = SpaceCode::from_code(code)?;
    let mut m = health.new_health_space(&code.relay, name)?;
    m.token = exchange
        .create_linked_space(
            &m.relay,
            &CreateLinkedSpace {
                redeem: code.redeem(),
                space: m.space,
                device: health.device_bytes(),
            },
        )?
        .device_token;
    health.join_space(&m)?;
    team.declare_health_space(&m.space, &health.identity().device)?;
    Ok(m)
}

/// Makes every professional's device this health store approved into the health space a
/// coordinator of it too (a coordinator's health store, after a sync): professionals are peers,
/// so that any of them lets the next one in and orders the erasures the team's file needs
/// (`Store::follow_team_erasures`), with or without the founder's device. Returns how many.
pub fn promote_professionals(health: &Store, exchange: &dyn Exchange) -> Result<usize> {
    if !health.is_health_store() || !health.membership()?.is_some_and(|m| m.coordinator) {
        return Ok(0);
    }
    let mut promoted = 0;
    for e in health.enrolments()? {
        if e.status == allervers_core::store::EnrolmentStatus::Approved
            && health.is_coordinator(&e.device)? == Some(false)
        {
            crate::make_coordinator(health, exchange, &e.device)?;
            promoted += 1;
        }
    }
    Ok(promoted)
}
