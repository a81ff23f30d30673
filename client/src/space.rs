//! Creating a space, inviting to it and joining it: the core decides (fresh ids, keys and
//! secrets from the store's entropy, who may invite), the relay registers.

use allervers_core::{Invite, Membership, Result, Store};
use allervers_protocol::{CreateInvite, Enroll};

use crate::{Exchange, RelayApi};

/// Registers a new space at `relay` (with the relay's admin token), this device its
/// coordinator, and joins it.
pub fn create_space(
    store: &Store,
    exchange: &dyn Exchange,
    relay: &str,
    admin_token: &str,
    name: &str,
) -> Result<Membership> {
    let mut m = store.new_space(relay, name)?;
    m.token = exchange
        .create_space(&m.relay, admin_token, m.space, store.device_bytes())?
        .device_token;
    store.join_space(&m)?;
    Ok(m)
}

/// A one-time invite to the store's space, registered at the relay until `expires_at_ms`
/// (relay clock; a coordinator's device only).
pub fn invite(store: &Store, exchange: &dyn Exchange, expires_at_ms: i64) -> Result<Invite> {
    let (m, invite) = store.new_invite()?;
    let request = CreateInvite {
        secret_hash: invite.secret_hash(),
        expires_at_ms,
    };
    exchange.create_invite(&m.relay, &m.space, &m.token, &request)?;
    Ok(invite)
}

/// Redeems an invite code at its relay and joins its space.
pub fn join(store: &Store, exchange: &dyn Exchange, code: &str) -> Result<Invite> {
    let invite = store.read_invite(code)?;
    let enroll = Enroll {
        space: invite.space,
        secret: invite.secret,
        device: store.device_bytes(),
    };
    let token = exchange.enroll(&invite.relay, &enroll)?.device_token;
    store.join_space(&invite.membership(token))?;
    Ok(invite)
}
