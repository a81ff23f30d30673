//! Creating a space, inviting to it and joining it: the core decides (fresh ids, keys and
//! secrets from the store's entropy, who may invite), the relay registers.

use allervers_core::{CoreError, DeviceId, Invite, Membership, RecoveryCode, Result, Store};
use allervers_protocol::{CreateInvite, CreateRecovery};

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

/// Redeems an invite code at its relay and joins its space: this device's public keys go to
/// the relay with their MAC, and the coordinator's device delivers the space's key at its next
/// sync (until then this device holds what it receives and pushes nothing).
pub fn join(store: &Store, exchange: &dyn Exchange, code: &str) -> Result<Invite> {
    let invite = store.read_invite(code)?;
    let token = exchange
        .enroll(&invite.relay, &store.enrolment(&invite))?
        .device_token;
    store.join_invited(&invite, token)?;
    Ok(invite)
}

/// A new recovery code for the store's space (a coordinator's device): its redemption token's
/// hash replaces the one before at the relay, and a sync sends the recovery identity's grant and
/// the keys sealed to it. Show the code once, to be printed and kept in a safe.
pub fn recovery_code(store: &Store, exchange: &dyn Exchange) -> Result<RecoveryCode> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    let code = store.new_recovery()?;
    let request = CreateRecovery {
        secret_hash: code.secret_hash(),
    };
    exchange.set_recovery(&m.relay, &m.space, &m.token, &request)?;
    crate::sync(store, &Via(exchange), &mut |_| {})?;
    Ok(code)
}

/// Recovers a space with its recovery code, on a new device outside any space: the relay enrols
/// it as a coordinator (once per code), and a sync opens the keys sealed to the recovery
/// identity and makes this device a coordinator by a grant the recovery identity signs.
pub fn recover(store: &Store, exchange: &dyn Exchange, code: &str) -> Result<RecoveryCode> {
    let code = store.read_recovery(code)?;
    let token = exchange
        .enroll(&code.relay, &store.recovery_enrolment(&code))?
        .device_token;
    store.join_recovered(&code, token)?;
    crate::sync(store, &Via(exchange), &mut |_| {})?;
    Ok(code)
}

/// Makes `device` a second (third...) coordinator of the space: a grant signed here goes into
/// the roster (every device can check it), the relay lets it do what coordinators do, and a
/// sync sends the grant.
pub fn make_coordinator(store: &Store, exchange: &dyn Exchange, device: &DeviceId) -> Result<()> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    store.make_coordinator(device)?;
    let id: [u8; 16] = device
        .to_bytes()
        .try_into()
        .map_err(|_| CoreError::InvalidInput {
            field: "device".into(),
            reason: "is not a device id".into(),
        })?;
    exchange.make_coordinator(&m.relay, &m.space, &m.token, &id)?;
    crate::sync(store, &Via(exchange), &mut |_| {})?;
    Ok(())
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub device: DeviceId,
    /// The key epoch started for the devices that remain.
    pub epoch: u32,
    /// Remaining devices whose keys this device does not know: they did not get the new key
    /// (a coordinator that knows them delivers it with `approve`).
    pub undelivered: Vec<DeviceId>,
}

/// Revokes `device` (a coordinator's device): the relay refuses it from now on and serves it a
/// wipe order signed here; a new key epoch is started (the relay numbers it: when another
/// coordinator started one first, this device syncs to receive it and starts the next), its key
/// is delivered to every remaining device, and a sync posts the deliveries.
pub fn revoke(store: &Store, exchange: &dyn Exchange, device: &DeviceId) -> Result<Revoked> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    let order = store.wipe_order(device)?;
    let target = order.device;
    exchange.revoke(&m.relay, &m.space, &m.token, &target, Some(&order))?;
    for _ in 0..5 {
        let expected = store.membership()?.ok_or(CoreError::NotEnrolled)?.epoch;
        match exchange.start_epoch(&m.relay, &m.space, &m.token, expected)? {
            Ok(epoch) => {
                let remaining: Vec<DeviceId> = exchange
                    .devices(&m.relay, &m.space, &m.token)?
                    .into_iter()
                    .filter(|d| d.revoked_at_ms.is_none() && d.device != target)
                    .map(|d| DeviceId::from_bytes(&d.device))
                    .collect();
                let undelivered = store.rotate(epoch, &remaining)?;
                crate::sync(store, &Via(exchange), &mut |_| {})?;
                return Ok(Revoked {
                    device: device.clone(),
                    epoch,
                    undelivered,
                });
            }
            Err(current) => {
                // Another coordinator started an epoch: receive its key, then start the next.
                crate::sync(store, &Via(exchange), &mut |_| {})?;
                if store.membership()?.ok_or(CoreError::NotEnrolled)?.epoch < current {
                    return Err(CoreError::RelayRefused {
                        status: 409,
                        reason: format!(
                            "another coordinator started key epoch {current}, whose key this device has not received"
                        ),
                    });
                }
            }
        }
    }
    Err(CoreError::RelayRefused {
        status: 409,
        reason: "key epochs kept changing: try again".into(),
    })
}

/// A `dyn Exchange` seen as a transport.
pub(crate) struct Via<'a>(pub(crate) &'a dyn Exchange);

impl Exchange for Via<'_> {
    fn exchange(
        &self,
        request: crate::HttpRequest,
    ) -> std::result::Result<(u16, Vec<u8>), crate::TransportError> {
        self.0.exchange(request)
    }
}
