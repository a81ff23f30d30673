//! Spaces opened by a coordinator's one-time space code: a team's health space, founded by the
//! first health professional's health store and joined by the others with a health
//! professional's invite; and each partnership space, founded by the office's partnership store
//! with a code the office made and redeems itself (the core decides; the relay registers).

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
    let m = health.new_health_space(&code.relay, name)?;
    let m = found(health, exchange, &code, m)?;
    team.declare_health_space(&m.space, &health.identity().device)?;
    Ok(m)
}

/// Founds a partnership space with `code` (made by the office's team store) in `partnership`,
/// the office's new partnership store (its founder and coordinator, drawing its key), and joins
/// it. The space is named after the partner.
pub fn found_partnership_space(
    partnership: &Store,
    exchange: &dyn Exchange,
    code: &SpaceCode,
) -> Result<Membership> {
    let m = partnership.new_partnership_space(&code.relay)?;
    found(partnership, exchange, code, m)
}

/// Founds the office's statistics space with `code` (made by the office's team store) in
/// `statistics`, the office's new statistics store (its founder and coordinator, drawing its
/// key), and joins it.
pub fn found_statistics_space(
    statistics: &Store,
    exchange: &dyn Exchange,
    code: &SpaceCode,
) -> Result<Membership> {
    let m = statistics.new_statistics_space(&code.relay)?;
    found(statistics, exchange, code, m)
}

/// Registers the space `m` at its relay with `code`, then joins it.
fn found(
    store: &Store,
    exchange: &dyn Exchange,
    code: &SpaceCode,
    mut m: Membership,
) -> Result<Membership> {
    m.token = exchange
        .create_linked_space(
            &m.relay,
            &CreateLinkedSpace {
                redeem: code.redeem(),
                space: m.space,
                device: store.device_bytes(),
            },
        )?
        .device_token;
    store.join_space(&m)?;
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
