//! One sync round as a state machine, with no I/O (in the manner of quinn-proto): the caller
//! asks [`SyncRound::poll`] what to send, sends it however it likes (the blocking HTTP client,
//! a phone's own HTTP stack, the deterministic simulation's relay), and hands the answer to
//! [`SyncRound::handle`]. Time and randomness come from the store's `StoreOptions`.
//!
//! A round first reads the space's control log (key deliveries for this device, enrolments to
//! approve) and posts the key deliveries it queued, then pushes the outbox in batches (once it
//! holds the space's key), then pulls pages until none remain. Everything that
//! must survive is in the store when `handle` returns (the push cursor with the acknowledgement,
//! the pull cursor with the page's changes, in one transaction), so a round abandoned at any
//! point (no answer, the app killed, the device reopened) loses nothing: the next round starts
//! where this one stopped, and the relay stores a pushed envelope once.

use allervers_protocol::{ControlPage, Page, PostControl, Push, Pushed, SpaceId};

use super::{Membership, SyncProgress, SyncSummary, PULL_PAGE, PUSH_BATCH};

/// Control items asked for in one request.
pub const CONTROL_PAGE: usize = 500;
use crate::{CoreError, ImportSummary, Result, Store};

/// What to send to the relay next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Ask for the page of the space's control log after `after`.
    Control { after: u64, limit: usize },
    /// Post key deliveries.
    PostControl(PostControl),
    /// Push a batch of sealed changes.
    Push(Push),
    /// Ask for the page of envelopes after `after`.
    Pull { after: u64, limit: usize },
}

/// What the relay answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Control(ControlPage),
    /// The sequence numbers of posted control items.
    Posted(Pushed),
    Pushed(Pushed),
    Page(Page),
}

#[derive(Clone, Copy, Debug)]
enum Step {
    /// Next: a page of the control log.
    Control,
    /// A control page was asked for; it is awaited.
    Controlling {
        after: u64,
    },
    /// Next: the key deliveries waiting to be posted, if any.
    PostControl,
    /// Key deliveries were posted up to this number; the answer is awaited.
    PostingControl {
        last: i64,
        count: usize,
    },
    /// Next: the outbox's next batch, or the first pull when it is empty.
    Push,
    /// A batch was sent; its acknowledgement is awaited.
    Pushing {
        last_seq: i64,
        count: usize,
    },
    /// Next: a pull from the cursor.
    Pull,
    /// A pull was sent; its page is awaited.
    Pulling {
        after: u64,
    },
    /// A quarantined envelope was asked for again; it is awaited.
    Rechecking {
        seq: u64,
    },
    Done,
}

/// One sync round of a store with the relay of its space.
pub struct SyncRound<'s> {
    store: &'s Store,
    membership: Membership,
    step: Step,
    summary: SyncSummary,
    to_push: usize,
    /// Whether the envelopes set aside earlier were tried again this round.
    retried: bool,
    /// Quarantined envelopes to ask the relay for again this round.
    recheck: Vec<u64>,
}

impl<'s> SyncRound<'s> {
    /// A round of `store` with the space it first joined; `NotEnrolled` outside any space.
    pub fn new(store: &'s Store) -> Result<Self> {
        let membership = store.membership()?.ok_or(CoreError::NotEnrolled)?;
        Self::with(store, membership)
    }

    /// A round of `store` with one of its spaces (each has its own cursors and outbox).
    pub fn for_space(store: &'s Store, space: &SpaceId) -> Result<Self> {
        let membership = store
            .memberships()?
            .into_iter()
            .find(|m| m.space == *space)
            .ok_or(CoreError::NotEnrolled)?;
        Self::with(store, membership)
    }

    fn with(store: &'s Store, membership: Membership) -> Result<Self> {
        Ok(SyncRound {
            store,
            membership,
            step: Step::Control,
            summary: SyncSummary::default(),
            to_push: store.pending_changes()? as usize,
            retried: false,
            recheck: Vec::new(),
        })
    }

    /// The space, its relay and this device's token, for whoever sends the requests.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// What the round did so far.
    pub fn summary(&self) -> &SyncSummary {
        &self.summary
    }

    /// The next request to send, or `None` when the round is over.
    pub fn poll(&mut self) -> Result<Option<Request>> {
        let space = self.membership.space;
        if let Step::Control = self.step {
            let after = self.store.control_cursor(&space)?;
            self.step = Step::Controlling { after };
            return Ok(Some(Request::Control {
                after,
                limit: CONTROL_PAGE,
            }));
        }
        if let Step::PostControl = self.step {
            match self.store.control_batch(&space)? {
                Some((post, last)) => {
                    self.step = Step::PostingControl {
                        last,
                        count: post.items.len(),
                    };
                    return Ok(Some(Request::PostControl(post)));
                }
                None => self.step = Step::Push,
            }
        }
        if let Step::Push = self.step {
            // A device that has not received the space's key yet seals nothing: its changes
            // wait in the outbox.
            if !self.store.holds_space_key(&space)? {
                self.step = Step::Pull;
            }
        }
        if let Step::Push = self.step {
            match self
                .store
                .outbox_batch(&self.membership.space, PUSH_BATCH)?
            {
                Some(batch) => {
                    self.step = Step::Pushing {
                        last_seq: batch.last_seq,
                        count: batch.push.envelopes.len(),
                    };
                    return Ok(Some(Request::Push(batch.push)));
                }
                None => self.step = Step::Pull,
            }
        }
        match self.step {
            Step::Pull => {
                if !self.retried {
                    // What was set aside earlier and may apply now (a key learnt since, newer
                    // checks), before the new pages; and the quarantined envelopes the relay
                    // served only once, asked for again.
                    self.retried = true;
                    let applied = self.store.retry_set_aside(&self.membership.space)?;
                    self.count(&applied);
                    self.recheck = self.store.to_recheck(&self.membership.space)?;
                }
                if let Some(seq) = self.recheck.pop() {
                    self.step = Step::Rechecking { seq };
                    return Ok(Some(Request::Pull {
                        after: seq.saturating_sub(1),
                        limit: 1,
                    }));
                }
                let after = self.store.pull_cursor(&self.membership.space)?;
                self.step = Step::Pulling { after };
                Ok(Some(Request::Pull {
                    after,
                    limit: PULL_PAGE,
                }))
            }
            Step::Done => Ok(None),
            Step::Push
            | Step::Control
            | Step::Controlling { .. }
            | Step::PostControl
            | Step::PostingControl { .. }
            | Step::Pushing { .. }
            | Step::Pulling { .. }
            | Step::Rechecking { .. } => Err(CoreError::invalid(
                "sync",
                "the answer to the last request is still awaited",
            )),
        }
    }

    /// The relay's answer to the last request; what to show of the round's progress.
    pub fn handle(&mut self, response: Response) -> Result<SyncProgress> {
        self.summary.requests += 1;
        match (self.step, response) {
            (Step::Controlling { after }, Response::Control(page)) => {
                if page.next < after || (page.next == after && !page.items.is_empty()) {
                    return Err(CoreError::ChangesRefused(
                        "the relay's control cursor went backwards".into(),
                    ));
                }
                let done = self.store.apply_control(&self.membership.space, &page)?;
                self.summary.keys_received += done.keys_received;
                self.summary.approved += done.approved;
                self.step = if page.more && page.next > after {
                    Step::Control
                } else {
                    Step::PostControl
                };
                Ok(SyncProgress::Pulling {
                    received: self.summary.pulled,
                })
            }
            (Step::PostingControl { last, count }, Response::Posted(posted)) => {
                if posted.seqs.len() != count {
                    return Err(CoreError::RelayRefused {
                        status: 200,
                        reason: format!(
                            "acknowledged {} control items of {count}",
                            posted.seqs.len()
                        ),
                    });
                }
                self.store.control_posted(&self.membership.space, last)?;
                self.step = Step::PostControl;
                Ok(SyncProgress::Pushing {
                    done: self.summary.pushed,
                    total: self.to_push.max(self.summary.pushed),
                })
            }
            (Step::Pushing { last_seq, count }, Response::Pushed(pushed)) => {
                self.store
                    .ack_push(&self.membership.space, last_seq, count, &pushed)?;
                self.summary.pushed += count;
                self.step = Step::Push;
                Ok(SyncProgress::Pushing {
                    done: self.summary.pushed,
                    total: self.to_push.max(self.summary.pushed),
                })
            }
            (Step::Rechecking { seq }, Response::Page(page)) => {
                self.step = Step::Pull;
                let served = page.envelopes.iter().find(|s| s.seq == seq);
                let applied = self.store.recheck(&self.membership.space, seq, served)?;
                self.count(&applied);
                Ok(SyncProgress::Pulling {
                    received: self.summary.pulled,
                })
            }
            (Step::Pulling { after }, Response::Page(page)) => {
                self.step = Step::Done;
                if page.envelopes.is_empty() {
                    self.summary.cursor = after;
                } else {
                    check_page(&page, after)?;
                    let applied = self.store.apply_page(&self.membership.space, &page)?;
                    self.summary.pulled += page.envelopes.len();
                    self.count(&applied);
                    self.summary.waiting = applied.waiting;
                    self.summary.cursor = page.next;
                    if page.more {
                        self.step = Step::Pull;
                    }
                }
                Ok(SyncProgress::Pulling {
                    received: self.summary.pulled,
                })
            }
            _ => Err(CoreError::ChangesRefused(
                "the relay's answer is not the one awaited".into(),
            )),
        }
    }
}

impl SyncRound<'_> {
    fn count(&mut self, applied: &ImportSummary) {
        self.summary.new_changes += applied.new_changes;
        self.summary.new_conflicts += applied.new_conflicts;
        self.summary.held += applied.held;
        self.summary.quarantined += applied.quarantined;
    }
}

/// A page must move the cursor forward and hold only envelopes after it, in order: anything
/// else (a stale or replayed answer, a confused relay) is refused before anything is applied.
fn check_page(page: &Page, after: u64) -> Result<()> {
    let refuse = |why: &str| Err(CoreError::ChangesRefused(why.into()));
    if page.next <= after {
        return refuse("the relay's cursor did not move forward");
    }
    let mut previous = after;
    for stored in &page.envelopes {
        if stored.seq <= previous {
            return refuse("the relay's page is out of order or starts before the cursor");
        }
        previous = stored.seq;
    }
    if page.next < previous {
        return refuse("the relay's cursor is behind its own page");
    }
    Ok(())
}
