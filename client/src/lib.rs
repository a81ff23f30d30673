//! allervers-client: a device's side of the relay protocol over HTTP. The blocking loop that
//! drives the core's sans-IO sync engine ([`allervers_core::SyncRound`]) over a [`Transport`];
//! creating, inviting to and joining a space; following a relay that moved ([`set_relay`]); the
//! relay's API over any [`Exchange`] (one HTTP request in, status and body out) and the built-in
//! ureq [`HttpClient`]. The command line, the bindings and the end-to-end tests use it; the core
//! itself never sees a network.

mod http;
mod linked;
mod moved;
mod relay_api;
mod space;
mod transport;

use allervers_core::{
    Request, Response, Result, Store, SyncOutcome, SyncProgress, SyncRound, SyncSummary,
};

pub use http::{HttpClient, WireStats};
pub use linked::{
    found_health_space, found_partnership_space, found_statistics_space, join_health_space,
    promote_professionals, space_code,
};
pub use moved::set_relay;
pub use relay_api::{Exchange, HttpRequest, RelayApi};
pub use space::{
    create_space, invite, join, make_coordinator, recover, recovery_code, revoke, Revoked,
};
pub use transport::{Transport, TransportError};

/// One sync round of `store` with its space's relay: pushes the outbox, then pulls until
/// nothing remains, telling `progress` how far it got. A failure ends the round; nothing done
/// before it is lost, and the next round goes on from there.
///
/// Every sync of a device passes here (the command line's, the phone's button and its
/// background sync through the bindings, those inside recovering, revoking and naming a
/// coordinator), so its outcome is recorded in the store here (`Store::record_sync`): the field
/// app shows it whoever ran it. A store wiped by its coordinator's order records nothing; one
/// that cannot record (a full disk) still returns the sync's own result.
pub fn sync(
    store: &Store,
    transport: &dyn Transport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncSummary> {
    let result = round(store, transport, progress);
    if !matches!(result, Err(allervers_core::CoreError::Wiped)) {
        let _ = store.record_sync(&SyncOutcome::of(&result, store.now()));
    }
    result
}

fn round(
    store: &Store,
    transport: &dyn Transport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncSummary> {
    let mut round = SyncRound::new(store)?;
    let m = round.membership().clone();
    while let Some(request) = round.poll()? {
        let answer = match request {
            Request::PostControl(post) => transport
                .post_control(&m.relay, &m.space, &m.token, &post)
                .map(Response::Posted),
            Request::Push(push) => transport
                .push(&m.relay, &m.space, &m.token, &push)
                .map(Response::Pushed),
            Request::Pull {
                after,
                limit,
                control_after,
            } => transport
                .pull(&m.relay, &m.space, &m.token, after, limit, control_after)
                .map(Response::Page),
        };
        let response = match answer {
            Ok(response) => response,
            // Revoked: the store obeys a wipe order only if a coordinator it trusts signed it.
            Err(TransportError::Revoked(order)) => return Err(store.obey_wipe(&order)),
            Err(e) => return Err(e.into()),
        };
        progress(round.handle(response)?);
    }
    Ok(round.summary().clone())
}
