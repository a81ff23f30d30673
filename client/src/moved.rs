//! Following a relay that moved: its operator moved its data (say from its SQLite file to
//! PostgreSQL) to a new address, with the same spaces, device token hashes and sequence
//! numbers. The device asks the new address, with its own token, for what it already holds,
//! and switches only if it is there: cursors stay, nothing is pulled or pushed twice.

use allervers_core::{relay_address, CoreError, Membership, Result, Store};
use allervers_protocol::SpaceId;

use crate::space::Via;
use crate::{Exchange, RelayApi, Transport, TransportError};

/// Makes `space` (the store's space when `None`) sync with the relay at `url` from now on,
/// once the new address proved it serves that space's log as far as this device has read it:
/// one pull of a single envelope from just before the pull cursor (it must hold the cursor's
/// own envelope: sequence numbers are the relay's, kept by a move), and likewise one read of
/// the control log. Refused, with nothing changed, when the address is not an http(s)
/// address, cannot be reached, does not know this device's token (401), refuses it (403) or
/// serves no such space (404), or its logs end before what this device has received.
///
/// A revoked device is answered `410` with its wipe order by the relay it moved to, as by the
/// old one: it is handled as a sync handles it (the store obeys an order its trusted
/// coordinator signed, and is erased: `CoreError::Wiped`; it refuses any other).
pub fn set_relay(
    store: &Store,
    exchange: &dyn Exchange,
    space: Option<&SpaceId>,
    url: &str,
) -> Result<Membership> {
    let url = relay_address(url)?;
    let m = store
        .memberships()?
        .into_iter()
        .find(|m| space.is_none_or(|s| m.space == *s))
        .ok_or(CoreError::NotEnrolled)?;
    let via = Via(exchange);

    // The envelope the pull cursor names is the last this device applied: the new relay's
    // page after the one before it must start with it.
    let pulled = store.pull_cursor(&m.space)?;
    let page = via
        .pull(&url, &m.space, &m.token, pulled.saturating_sub(1), 1, None)
        .map_err(|e| refusal(store, e))?;
    if pulled > 0 {
        match page.envelopes.first().map(|e| e.seq) {
            Some(seq) if seq == pulled => {}
            None => return Err(behind("log")),
            Some(_) => return Err(lacks("log")),
        }
    }
    // The same for the control log (key deliveries, enrolments): a relay that lost them
    // would leave the space's devices without keys.
    let read = store.control_cursor(&m.space)?;
    if read > 0 {
        let page = via
            .control(&url, &m.space, &m.token, read - 1, 1)
            .map_err(|e| refusal(store, e))?;
        match page.items.first().map(|c| c.seq) {
            Some(seq) if seq == read => {}
            None => return Err(behind("control log")),
            Some(_) => return Err(lacks("control log")),
        }
    }
    store.set_relay(&m.space, &url)
}

/// What a refusal of the new address means for a device about to follow it.
fn refusal(store: &Store, e: TransportError) -> CoreError {
    let refused = |status: u16, reason: &str| CoreError::RelayRefused {
        status,
        reason: reason.into(),
    };
    match e {
        TransportError::Unreachable(why) => CoreError::RelayUnreachable(format!(
            "the new address did not answer ({why}): nothing changed"
        )),
        TransportError::Refused { status: 401, .. } => refused(
            401,
            "this relay does not know this device: it does not serve the space",
        ),
        TransportError::Refused { status: 403, .. } => refused(
            403,
            "this relay refuses this device for this space (revoked, or another space's device)",
        ),
        TransportError::Refused { status: 404, .. } => refused(
            404,
            "this address serves no such space: is it the relay's address (with its path, behind a proxy)?",
        ),
        // A body that is not the protocol's (a web page answered 200).
        TransportError::Refused { status: 200, .. } => CoreError::InvalidInput {
            field: "relay address".into(),
            reason: "this address answered, but not as an allervers relay".into(),
        },
        // Revoked: the relay that moved serves the wipe order as the old one would.
        TransportError::Revoked(order) => store.obey_wipe(&order),
        other => other.into(),
    }
}

/// The new address's log ends before this device's cursor.
fn behind(log: &str) -> CoreError {
    CoreError::InvalidInput {
        field: "relay address".into(),
        reason: format!(
            "this relay's {log} of the space ends before what this device has already received: it is not this space's relay, or it lost data"
        ),
    }
}

/// The new address's log goes on past this device's cursor but lacks the item it names.
fn lacks(log: &str) -> CoreError {
    CoreError::InvalidInput {
        field: "relay address".into(),
        reason: format!(
            "this relay's {log} of the space lacks what this device has already received: it is not this space's relay, or it lost data"
        ),
    }
}
