//! One sync round as a state machine, with no I/O (in the manner of quinn-proto): the caller
//! asks [`SyncRound::poll`] what to send, sends it however it likes (the blocking HTTP client,
//! a phone's own HTTP stack, the deterministic simulation's relay), and hands the answer to
//! [`SyncRound::handle`]. Time and randomness come from the store's `StoreOptions`.
//!
//! A round pushes the outbox in batches (once the device holds the space's key), then pulls
//! pages until none remain; each pull also brings the space's control log after this device's
//! control cursor (key deliveries for it, enrolments to approve, erasure orders), applied before
//! the page's envelopes, so that a sync with nothing new stays one round trip. A round with
//! something to push pulls first, until nothing remains: an erasure order read there drops what
//! it erased from the outbox before anything leaves. Then it posts the key deliveries and
//! erasure orders it queued, and, if the key arrived during the round, pushes what waited for it.
//! Everything that must survive is in the store when `handle` returns (the push cursor with the
//! acknowledgement, the pull and control cursors with the page's changes), so a round abandoned
//! at any point (no answer, the app killed, the device reopened) loses nothing: the next round
//! starts where this one stopped, and the relay stores a pushed envelope once.

use allervers_protocol::{Page, PostControl, Push, Pushed, SpaceId};

use super::{Membership, SyncProgress, SyncSummary, PULL_PAGE, PUSH_BATCH};
use crate::{CoreError, ImportSummary, Result, Store};

/// What to send to the relay next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Push a batch of sealed changes.
    Push(Push),
    /// Ask for the page of envelopes after `after`, with the control log's items after
    /// `control_after`.
    Pull {
        after: u64,
        limit: usize,
        control_after: Option<u64>,
    },
    /// Post key deliveries.
    PostControl(PostControl),
}

/// What the relay answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Pushed(Pushed),
    Page(Page),
    /// The sequence numbers of posted control items.
    Posted(Pushed),
}

#[derive(Clone, Copy, Debug)]
enum Step {
    /// Next: a pull before pushing anything (a round with something to push reads the control
    /// log first: an erasure order there drops what it erased from the outbox).
    Prefetch,
    /// Next: the outbox's next batch, or the first pull when it is empty.
    Push,
    /// A batch was sent; its acknowledgement is awaited.
    Pushing {
        last_seq: i64,
        count: usize,
    },
    /// Next: a pull from the cursor.
    Pull,
    /// A pull was sent; its page is awaited (then the round pushes, if it was sent before).
    Pulling {
        after: u64,
        control_after: u64,
        before_push: bool,
    },
    /// A quarantined envelope was asked for again; it is awaited.
    Rechecking {
        seq: u64,
    },
    /// Next: the key deliveries waiting to be posted, if any.
    PostControl,
    /// Key deliveries were posted up to this number; the answer is awaited.
    PostingControl {
        last: i64,
        count: usize,
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
    /// Whether the round began without the space's key (then, if it arrives, the round pushes
    /// once more at its end).
    keyless: bool,
    /// Whether the round pushed once more at its end (done at most once).
    late_pushed: bool,
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
        let keyless = !store.holds_space_key(&membership.space)?;
        let to_push = store.pending_changes()? as usize;
        Ok(SyncRound {
            store,
            membership,
            // Only a round with something to push asks for the control log first: a sync with
            // nothing new stays one request.
            step: if to_push > 0 {
                Step::Prefetch
            } else {
                Step::Push
            },
            summary: SyncSummary::default(),
            to_push,
            retried: false,
            recheck: Vec::new(),
            keyless,
            late_pushed: false,
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
        if let Step::Prefetch = self.step {
            let after = self.store.pull_cursor(&space)?;
            let control_after = self.store.control_cursor(&space)?;
            self.step = Step::Pulling {
                after,
                control_after,
                before_push: true,
            };
            return Ok(Some(Request::Pull {
                after,
                limit: PULL_PAGE,
                control_after: Some(control_after),
            }));
        }
        if let Step::Push = self.step {
            // A device that has not received the space's key yet seals nothing: its changes
            // wait in the outbox.
            let batch = if self.store.holds_space_key(&space)? {
                self.store.outbox_batch(&space, PUSH_BATCH)?
            } else {
                None
            };
            match batch {
                Some(batch) => {
                    self.step = Step::Pushing {
                        last_seq: batch.last_seq,
                        count: batch.push.envelopes.len(),
                    };
                    return Ok(Some(Request::Push(batch.push)));
                }
                // After the late push (the key came during the round), the round is over.
                None if self.retried => self.step = Step::Done,
                None => self.step = Step::Pull,
            }
        }
        if let Step::Pull = self.step {
            if !self.retried {
                // What was set aside earlier and may apply now (a key learnt since, newer
                // checks), before the new pages; and the quarantined envelopes the relay
                // served only once, asked for again.
                self.retried = true;
                let applied = self.store.retry_set_aside(&space)?;
                self.count(&applied);
                self.recheck = self.store.to_recheck(&space)?;
            }
            if let Some(seq) = self.recheck.pop() {
                self.step = Step::Rechecking { seq };
                return Ok(Some(Request::Pull {
                    after: seq.saturating_sub(1),
                    limit: 1,
                    control_after: None,
                }));
            }
            let after = self.store.pull_cursor(&space)?;
            let control_after = self.store.control_cursor(&space)?;
            self.step = Step::Pulling {
                after,
                control_after,
                before_push: false,
            };
            return Ok(Some(Request::Pull {
                after,
                limit: PULL_PAGE,
                control_after: Some(control_after),
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
                None if (self.keyless || self.summary.approved > 0)
                    && !self.late_pushed
                    && self.store.holds_space_key(&space)? =>
                {
                    // The key arrived during this round, or this coordinator added devices
                    // (their grants are roster changes): push what waited for it.
                    self.late_pushed = true;
                    self.step = Step::Push;
                    return self.poll();
                }
                None => self.step = Step::Done,
            }
        }
        match self.step {
            Step::Done => Ok(None),
            _ => Err(CoreError::invalid(
                "sync",
                "the answer to the last request is still awaited",
            )),
        }
    }

    /// The relay's answer to the last request; what to show of the round's progress.
    pub fn handle(&mut self, response: Response) -> Result<SyncProgress> {
        self.summary.requests += 1;
        let space = self.membership.space;
        match (self.step, response) {
            (Step::Pushing { last_seq, count }, Response::Pushed(pushed)) => {
                self.store.ack_push(&space, last_seq, count, &pushed)?;
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
                let applied = self.store.recheck(&space, seq, served)?;
                self.count(&applied);
                Ok(SyncProgress::Pulling {
                    received: self.summary.pulled,
                })
            }
            (
                Step::Pulling {
                    after,
                    control_after,
                    before_push,
                },
                Response::Page(page),
            ) => {
                // The control log first: a key delivered in it opens the envelopes below.
                let mut control_more = false;
                if let Some(control) = &page.control {
                    if control.next < control_after
                        || (control.next == control_after && !control.items.is_empty())
                    {
                        return Err(CoreError::ChangesRefused(
                            "the relay's control cursor went backwards".into(),
                        ));
                    }
                    let done = self.store.apply_control(&space, control)?;
                    self.summary.keys_received += done.keys_received;
                    self.summary.approved += done.approved;
                    self.summary.erased += done.erased;
                    if done.keys_received > 0 {
                        // What was held for want of that key.
                        let applied = self.store.retry_set_aside(&space)?;
                        self.count(&applied);
                    }
                    control_more = control.more && control.next > control_after;
                }
                self.step = Step::PostControl;
                if page.envelopes.is_empty() {
                    self.summary.cursor = after;
                } else {
                    check_page(&page, after)?;
                    let applied = self.store.apply_page(&space, &page)?;
                    self.summary.pulled += page.envelopes.len();
                    self.count(&applied);
                    self.summary.waiting = applied.waiting;
                    self.summary.cursor = page.next;
                    if page.more {
                        self.step = Step::Pull;
                    }
                }
                if control_more {
                    self.step = Step::Pull;
                }
                if before_push {
                    // Pull on until nothing remains, then push what is left of the outbox.
                    self.step = match self.step {
                        Step::Pull => Step::Prefetch,
                        _ => Step::Push,
                    };
                }
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
                self.store.control_posted(&space, last)?;
                self.step = Step::PostControl;
                Ok(SyncProgress::Pushing {
                    done: self.summary.pushed,
                    total: self.to_push.max(self.summary.pushed),
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
