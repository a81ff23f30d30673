//! allervers-client: the blocking loop that drives the core's sans-IO sync engine
//! ([`allervers_core::SyncRound`]) over a [`Transport`]: the command line, the bindings and the
//! end-to-end tests sync through it. The core itself never waits on a network.

use allervers_core::{Request, Response, Result, Store, SyncProgress, SyncRound, SyncSummary};
use allervers_protocol::Transport;

/// One sync round of `store` with its space's relay: pushes the outbox, then pulls until
/// nothing remains, telling `progress` how far it got. A failure ends the round; nothing done
/// before it is lost, and the next round goes on from there.
pub fn sync(
    store: &Store,
    transport: &dyn Transport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncSummary> {
    let mut round = SyncRound::new(store)?;
    let m = round.membership().clone();
    while let Some(request) = round.poll()? {
        let response = match request {
            Request::Push(push) => {
                Response::Pushed(transport.push(&m.relay, &m.space, &m.token, &push)?)
            }
            Request::Pull { after, limit } => {
                Response::Page(transport.pull(&m.relay, &m.space, &m.token, after, limit)?)
            }
        };
        progress(round.handle(response)?);
    }
    Ok(round.summary().clone())
}
