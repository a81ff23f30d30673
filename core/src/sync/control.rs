//! The control side of sync: what devices exchange besides envelopes, through the space's
//! control log on the relay.
//!
//! - **Enrolment.** A device that redeemed an invite appears in the log with its public keys and
//!   a MAC under a key derived from the invite's secret. The coordinator's device that issued the
//!   invite checks the MAC (a relay that swapped in keys of its own cannot make one), then
//!   delivers every space key it holds, sealed to the new device's agreement key. An enrolment
//!   whose invite another device issued waits for [`Store::approve`].
//! - **Key delivery.** A space key of one epoch sealed to one device and signed by the
//!   coordinator's device; a device takes only deliveries signed by the coordinator it trusts
//!   (its `root`).
//! - **Revocation.** A coordinator signs a wipe order for the revoked device, which the relay
//!   serves it at its next request; then starts a new epoch (the relay numbers them one at a
//!   time) with a fresh key, delivered to every remaining device. What is sealed after a device
//!   learns of the new epoch uses it, with fresh record keys (record ids are blinded per epoch).

use allervers_protocol::{ControlBody, ControlPage, PostControl, SpaceId, WipeOrder};

use super::Membership;
use crate::crypto::RawKey;
use crate::identity::{self, Grant, PublicKeys, Role};
use crate::store::control::{self, Enrolment, EnrolmentStatus};
use crate::store::erasure;
use crate::store::sync_state::{self, Cursor};
use crate::store::trust;
use crate::{CoreError, DeviceId, Result, Store};

/// Key deliveries posted in one request, at most.
pub const CONTROL_BATCH: usize = 500;

/// What a page of the control log did here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlSummary {
    /// Space keys this device received.
    pub keys_received: usize,
    /// Devices whose enrolment this device approved (keys queued for them).
    pub approved: usize,
    /// Enrolments whose MAC did not match, and key deliveries that did not check out.
    pub refused: usize,
    /// Records erased here by erasure orders.
    pub erased: usize,
}

fn keys_message(space: &SpaceId, epoch: u32, to: &[u8; 16], from: &[u8; 16]) -> Vec<u8> {
    let mut out = b"allervers keys v1".to_vec();
    out.extend_from_slice(space);
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(to);
    out.extend_from_slice(from);
    out
}

/// What a key delivery seals: the space key of one epoch; in a device's first delivery, the
/// grants that make it a member (`member`, from the founder down); and the grants that make the
/// sender a coordinator (`sender`), so that a device that does not know the roster yet (one
/// recovering the space) can still tell a coordinator's delivery from anyone else's.
#[derive(serde::Serialize, serde::Deserialize)]
struct Delivery {
    key: [u8; 32],
    member: Vec<Grant>,
    sender: Vec<Grant>,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

impl Delivery {
    fn write(key: &RawKey, member: &[Grant], sender: &[Grant]) -> zeroize::Zeroizing<Vec<u8>> {
        let delivery = Delivery {
            key: *key.as_bytes(),
            member: member.to_vec(),
            sender: sender.to_vec(),
        };
        zeroize::Zeroizing::new(postcard::to_stdvec(&delivery).unwrap_or_default())
    }

    fn read(plain: &[u8]) -> Option<Delivery> {
        postcard::from_bytes(plain).ok()
    }
}

fn wipe_message(space: &SpaceId, device: &[u8; 16]) -> Vec<u8> {
    let mut out = b"allervers wipe v1".to_vec();
    out.extend_from_slice(space);
    out.extend_from_slice(device);
    out
}

fn id16(device: &DeviceId) -> [u8; 16] {
    let mut out = [0u8; 16];
    let bytes = device.to_bytes();
    let n = bytes.len().min(16);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

impl Store {
    fn membership_of(&self, space: &SpaceId) -> Result<Membership> {
        self.memberships()?
            .into_iter()
            .find(|m| m.space == *space)
            .ok_or(CoreError::NotEnrolled)
    }

    /// Where the next read of `space`'s control log starts.
    pub fn control_cursor(&self, space: &SpaceId) -> Result<u64> {
        Ok(sync_state::cursor(&self.lock(), space, Cursor::Control)? as u64)
    }

    /// Applies one page of the control log, with the cursor's move, in one transaction.
    pub fn apply_control(&self, space: &SpaceId, page: &ControlPage) -> Result<ControlSummary> {
        let m = self.membership_of(space)?;
        let me = id16(&self.identity().device);
        let now_ms = self.now().timestamp_millis();
        let mut summary = ControlSummary::default();
        let mut conn = self.lock();
        // An erasure's deletions overwrite what they free.
        if page
            .items
            .iter()
            .any(|i| matches!(i.body, ControlBody::Erase { .. }))
        {
            erasure::secure_delete(&conn)?;
        }
        let deleted = self.apply_control_in(&mut conn, &m, me, now_ms, page, &mut summary)?;
        summary.erased += deleted.records;
        if erasure::scrub_pending(&conn)? {
            erasure::scrub(&conn)?;
        }
        Ok(summary)
    }

    fn apply_control_in(
        &self,
        conn: &mut rusqlite::Connection,
        m: &Membership,
        me: [u8; 16],
        now_ms: i64,
        page: &ControlPage,
        summary: &mut ControlSummary,
    ) -> Result<erasure::Deleted> {
        let mut deleted = erasure::Deleted::default();
        let space = &m.space;
        let tx = conn.transaction()?;
        let recovery =
            sync_state::recovery_secret(&tx, space)?.map(|s| super::recovery::identity_of(&s));
        for item in &page.items {
            match &item.body {
                ControlBody::Enrolled {
                    invite,
                    device,
                    sign_key,
                    agree_key,
                    mac,
                } => {
                    let keys = PublicKeys {
                        sign: *sign_key,
                        agree: *agree_key,
                    };
                    // The grants that make this device a coordinator: the new device's grant
                    // follows them (none in a space made before grants).
                    let chain = match m.founder {
                        Some(founder) => self.own_coordinator_chain(&tx, space, &founder)?,
                        None => Some(Vec::new()),
                    };
                    let Some(chain) = chain.filter(|_| m.coordinator) else {
                        continue;
                    };
                    let member = match m.founder {
                        Some(founder) => {
                            crate::store::role_in(&tx, space, &founder, &keys.device())?.is_some()
                        }
                        None => false,
                    };
                    if id16(&keys.device()) != *device
                        || member
                        || keys.device() == self.identity().device
                        || control::known_enrolment(&tx, space, &keys.device())?
                    {
                        // Not ours to approve, inconsistent, a member already (a device that
                        // recovered the space, this one included), or seen before (a relay
                        // serving an old enrolment again, after a revocation say, gets nothing).
                        continue;
                    }
                    let status = match control::invite_secret(&tx, space, invite)? {
                        Some(secret) => {
                            let expected =
                                super::enrolment_mac(&secret, space, &keys.device(), &keys);
                            if subtle_eq(&expected, mac) {
                                EnrolmentStatus::Approved
                            } else {
                                summary.refused += 1;
                                EnrolmentStatus::Refused
                            }
                        }
                        None => EnrolmentStatus::Pending,
                    };
                    control::keep_enrolment(&tx, space, &keys, status, now_ms)?;
                    if status == EnrolmentStatus::Approved {
                        // Used: its secret goes (a forged item with a wrong MAC does not burn
                        // it).
                        control::forget_invite(&tx, invite)?;
                        self.add_worker(&tx, m, &chain, &keys)?;
                        summary.approved += 1;
                    }
                }
                ControlBody::Keys {
                    epoch,
                    to,
                    from,
                    sealed,
                    signature,
                } => {
                    // To this device, or to the recovery identity it recovers the space with.
                    let opener = if *to == me {
                        self.device_keys()
                    } else {
                        match &recovery {
                            Some(r) if id16(&r.public().device()) == *to => r,
                            _ => continue,
                        }
                    };
                    let mut message = keys_message(space, *epoch, to, from);
                    let aad = message.clone();
                    message.extend_from_slice(sealed);
                    let opened = opener
                        .open_box(sealed, &aad)
                        .and_then(|plain| Delivery::read(&plain));
                    let accepted = match opened {
                        Some(d)
                            if self.delivered_by_coordinator(
                                &tx, m, from, &d, &message, signature,
                            )? =>
                        {
                            Some(d)
                        }
                        _ => None,
                    };
                    match accepted {
                        Some(delivery) => {
                            let key = RawKey::from_bytes(delivery.key);
                            if sync_state::keep_space_key(&tx, space, *epoch, &key)? {
                                summary.keys_received += 1;
                            }
                            match &recovery {
                                Some(r) if *to != me => {
                                    self.take_over(&tx, m, r, &delivery.member)?
                                }
                                _ => self.keep_credentials(&tx, m, &delivery.member)?,
                            }
                        }
                        None => summary.refused += 1,
                    }
                }
                ControlBody::Erase { .. } => {
                    let done = self.carry_out_order(&tx, m, item.seq, &item.body)?;
                    deleted.add(done);
                }
                ControlBody::Epoch { .. } => {}
            }
        }
        if summary.keys_received > 0 {
            // Orders sealed under a key that just arrived.
            deleted.add(self.retry_waiting_orders(&tx, m)?);
        }
        if recovery.is_some() && !page.more && self.own_role(&tx, m)? == Some(Role::Coordinator) {
            // The log read to its end and the role taken: the recovery identity's secret goes
            // (later keys are delivered to this device itself).
            sync_state::set_recovery_secret(&tx, space, None)?;
        }
        let next = i64::try_from(page.next)
            .map_err(|_| CoreError::ChangesRefused("the relay's cursor is out of range".into()))?;
        sync_state::set_cursor(&tx, space, Cursor::Control, next)?;
        tx.commit()?;
        Ok(deleted)
    }

    /// Adds an approved device to the space: its keys learnt, a worker's grant written in the
    /// roster (after `chain`, this coordinator's own), and every key of the space this store
    /// holds queued for it, with the grants that prove its membership.
    fn add_worker(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        chain: &[Grant],
        keys: &PublicKeys,
    ) -> Result<()> {
        trust::learn_device_keys(conn, keys)?;
        let credentials = match m.founder {
            Some(_) => self.grant_worker_in(conn, &m.space, chain, *keys)?,
            None => Vec::new(),
        };
        for (epoch, key) in sync_state::space_keys(conn, &m.space)? {
            self.deliver(conn, &m.space, keys, epoch, &key, &credentials, chain)?;
        }
        Ok(())
    }

    /// Keeps the grants delivered with a key, when they prove this device a member and those it
    /// kept did not.
    fn keep_credentials(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        credentials: &[Grant],
    ) -> Result<()> {
        let Some(founder) = m.founder else {
            return Ok(());
        };
        let me = &self.identity().device;
        let proves = |chain: &[Grant]| identity::role_of(&m.space, &founder, me, chain).is_some();
        if proves(credentials) && !proves(&sync_state::credentials(conn, &m.space)?) {
            sync_state::set_credentials(conn, &m.space, credentials)?;
        }
        Ok(())
    }

    /// Queues one key delivery: `key` (of `epoch`), the grants that make `to` a member
    /// (`member`, in its first delivery) and those that make this device a coordinator
    /// (`sender`), sealed to `to` and signed by this device.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn deliver(
        &self,
        conn: &rusqlite::Connection,
        space: &SpaceId,
        to: &PublicKeys,
        epoch: u32,
        key: &RawKey,
        member: &[Grant],
        sender: &[Grant],
    ) -> Result<()> {
        let to_id = id16(&to.device());
        let from = id16(&self.identity().device);
        let aad = keys_message(space, epoch, &to_id, &from);
        let plain = Delivery::write(key, member, sender);
        let sealed = identity::seal_to(&to.agree, &plain, &aad, &*self.entropy());
        let mut message = aad;
        message.extend_from_slice(&sealed);
        let signature = self.device_keys().sign_bytes(&message).to_vec();
        control::queue(
            conn,
            space,
            &ControlBody::Keys {
                epoch,
                to: to_id,
                from,
                sealed,
                signature,
            },
        )
    }

    /// The next key deliveries to post, with the number to acknowledge them by.
    pub fn control_batch(&self, space: &SpaceId) -> Result<Option<(PostControl, i64)>> {
        let (items, last) = control::queued(&self.lock(), space, CONTROL_BATCH)?;
        Ok((!items.is_empty()).then_some((PostControl { items }, last)))
    }

    /// The relay stored the deliveries up to `last`.
    pub(crate) fn control_posted(&self, space: &SpaceId, last: i64) -> Result<()> {
        control::posted(&self.lock(), space, last)
    }

    /// The devices that enrolled in this store's space, as its control log said, and what
    /// became of them here (a coordinator's device).
    pub fn enrolments(&self) -> Result<Vec<Enrolment>> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        control::enrolments(&self.lock(), &m.space)
    }

    /// Approves a pending enrolment by hand (its invite was not issued by this device): the
    /// space's keys are delivered to it at the next sync. `device` is its id or its first hex
    /// digits, as `devices` shows them.
    pub fn approve(&self, device: &str) -> Result<DeviceId> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator {
            return Err(CoreError::invalid(
                "approve",
                "only a coordinator's device can approve a device",
            ));
        }
        let wanted = device.trim().to_ascii_lowercase();
        let all = control::enrolments(&self.lock(), &m.space)?;
        let matching: Vec<_> = all
            .iter()
            .filter(|e| !wanted.is_empty() && e.device.to_string().starts_with(&wanted))
            .collect();
        let enrolment = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(CoreError::invalid(
                    "device",
                    "no device of this space enrolled with that id",
                ))
            }
            _ => {
                return Err(CoreError::invalid(
                    "device",
                    "several enrolled devices start with these digits: give more of them",
                ))
            }
        };
        match enrolment.status {
            EnrolmentStatus::Refused => {
                return Err(CoreError::invalid(
                    "device",
                    "its keys did not match its invite (swapped on the way): it must enrol again with a new invite",
                ))
            }
            EnrolmentStatus::Revoked => {
                return Err(CoreError::invalid("device", "it was revoked"))
            }
            EnrolmentStatus::Pending | EnrolmentStatus::Approved => {}
        }
        if let Some(founder) = m.founder {
            if enrolment.status == EnrolmentStatus::Pending
                && crate::store::role_in(&self.lock(), &m.space, &founder, &enrolment.device)?
                    .is_some()
            {
                return Err(CoreError::invalid(
                    "device",
                    "it is a member of the space already (a grant in the roster)",
                ));
            }
        }
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        if enrolment.status == EnrolmentStatus::Pending {
            control::keep_enrolment(
                &tx,
                &m.space,
                &enrolment.keys,
                EnrolmentStatus::Approved,
                self.now().timestamp_millis(),
            )?;
            let chain = match m.founder {
                Some(founder) => self
                    .own_coordinator_chain(&tx, &m.space, &founder)?
                    .ok_or_else(|| {
                        CoreError::invalid(
                            "approve",
                            "this device's coordinator grant has not arrived yet: sync, then approve",
                        )
                    })?,
                None => Vec::new(),
            };
            self.add_worker(&tx, &m, &chain, &enrolment.keys)?;
        }
        tx.commit()?;
        Ok(enrolment.device.clone())
    }

    /// The order, signed by this coordinator's device, that `device` erase its store.
    pub fn wipe_order(&self, device: &DeviceId) -> Result<WipeOrder> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator {
            return Err(CoreError::invalid(
                "revoke",
                "only a coordinator's device can revoke a device",
            ));
        }
        let target = id16(device);
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        // From now on it gets no key from this device, whatever the relay serves; and once the
        // roster's revocation entry reaches them, no device takes a key delivery, a wipe order
        // or a grant it signs.
        let keys = trust::device_keys(&tx, device)?;
        control::mark_revoked(
            &tx,
            &m.space,
            device,
            keys.as_ref(),
            self.now().timestamp_millis(),
        )?;
        if m.founder.is_some() {
            let roster = crate::store::load_doc(&tx, crate::store::ROSTER_ID)?;
            let (key, entry) = crate::store::roster::revocation_entry(roster.as_ref(), device);
            self.write_roster_in(&tx, |doc, _| {
                use automerge::transaction::Transactable;
                doc.put(automerge::ROOT, key, automerge::ScalarValue::Bytes(entry))?;
                Ok(())
            })?;
        }
        tx.commit()?;
        drop(conn);
        Ok(WipeOrder {
            space: m.space,
            device: target,
            by: id16(&self.identity().device),
            signature: self
                .device_keys()
                .sign_bytes(&wipe_message(&m.space, &target))
                .to_vec(),
        })
    }

    /// Starts key epoch `epoch` of this store's space (the relay numbered it): a fresh space
    /// key, kept here and queued for each device of `recipients` whose keys this store knows.
    /// Everything this store seals from now on uses it. Returns the devices it could not
    /// deliver to (keys unknown here).
    pub fn rotate(&self, epoch: u32, recipients: &[DeviceId]) -> Result<Vec<DeviceId>> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        if !m.coordinator {
            return Err(CoreError::invalid(
                "revoke",
                "only a coordinator's device can start a key epoch",
            ));
        }
        let key = RawKey::from_bytes(self.random());
        let mut missing = Vec::new();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        sync_state::keep_space_key(&tx, &m.space, epoch, &key)?;
        let revoked: Vec<DeviceId> = control::enrolments(&tx, &m.space)?
            .into_iter()
            .filter(|e| e.status == EnrolmentStatus::Revoked)
            .map(|e| e.device)
            .collect();
        let sender = match m.founder {
            Some(founder) => self
                .own_coordinator_chain(&tx, &m.space, &founder)?
                .unwrap_or_default(),
            None => Vec::new(),
        };
        for device in recipients {
            if *device == self.identity().device || revoked.contains(device) {
                continue;
            }
            match trust::device_keys(&tx, device)? {
                Some(keys) => self.deliver(&tx, &m.space, &keys, epoch, &key, &[], &sender)?,
                None => missing.push(device.clone()),
            }
        }
        // The space's recovery identity, which no relay lists: the key goes to it too, with the
        // grants that make it a coordinator (for whoever recovers the space with its code).
        for (keys, member) in self.recovery_identities(&tx, &m)? {
            self.deliver(&tx, &m.space, &keys, epoch, &key, &member, &sender)?;
        }
        tx.commit()?;
        Ok(missing)
    }

    /// A refusal from the relay that carries a wipe order: if a coordinator this store trusts
    /// signed it for this very device, the store is erased (every table emptied, then its files
    /// removed) and `Wiped` is returned; an order that does not check out erases nothing and is
    /// an ordinary refusal.
    pub fn obey_wipe(&self, order: &WipeOrder) -> CoreError {
        match self.check_wipe(order) {
            Ok(true) => match self.erase() {
                Ok(()) => CoreError::Wiped,
                Err(e) => e,
            },
            Ok(false) => CoreError::RelayRefused {
                status: 410,
                reason: "revoked, with a wipe order this device does not trust: nothing was erased"
                    .into(),
            },
            Err(e) => e,
        }
    }

    fn check_wipe(&self, order: &WipeOrder) -> Result<bool> {
        let Some(m) = self
            .memberships()?
            .into_iter()
            .find(|m| m.space == order.space)
        else {
            return Ok(false);
        };
        if order.device != id16(&self.identity().device) {
            return Ok(false);
        }
        let by = DeviceId::from_bytes(&order.by);
        let conn = self.lock();
        if !self.trusted_coordinator(&conn, &m, &by)? {
            return Ok(false);
        }
        let Some(keys) = trust::device_keys(&conn, &by)? else {
            return Ok(false);
        };
        Ok(identity::verify_bytes(
            &keys,
            &wipe_message(&order.space, &order.device),
            &order.signature,
        ))
    }
}

impl Store {
    /// Whether a key delivery from `from` is a coordinator's: its signature verifies under the
    /// sender's keys (known here, or those of the grants sealed with it), the roster does not
    /// say the sender was revoked, and the sender is this device's root, a coordinator by the
    /// roster's grants, or one by the grants sealed with it (none of them signed by a device
    /// revoked since, unless the revocation kept it).
    fn delivered_by_coordinator(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        from: &[u8; 16],
        delivery: &Delivery,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let from_id = DeviceId::from_bytes(from);
        let keys = match trust::device_keys(conn, &from_id)? {
            Some(keys) => Some(keys),
            None => delivery
                .sender
                .last()
                .map(|g| g.device)
                .or(m.founder)
                .filter(|k| id16(&k.device()) == *from),
        };
        let Some(keys) = keys else {
            return Ok(false);
        };
        if !identity::verify_bytes(&keys, message, signature) {
            return Ok(false);
        }
        if self.trusted_coordinator(conn, m, &from_id)? {
            return Ok(true);
        }
        let revocations = crate::store::roster::revocations_in(conn)?;
        Ok(m.founder.is_some_and(|founder| {
            !revocations.is_revoked(&from_id)
                && identity::is_coordinator(&m.space, &founder, &from_id, &delivery.sender)
                && revocations.chain_stands(&delivery.sender)
        }))
    }

    /// Whether this store takes key deliveries and wipe orders from `device`: the coordinator
    /// whose invite it joined with, or any coordinator of the space by the roster's grants;
    /// never a device the roster says was revoked.
    pub(super) fn trusted_coordinator(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        device: &DeviceId,
    ) -> Result<bool> {
        if crate::store::roster::revocations_in(conn)?.is_revoked(device) {
            return Ok(false);
        }
        if m.root.as_ref() == Some(device) {
            return Ok(true);
        }
        match &m.founder {
            Some(founder) => Ok(crate::store::role_in(conn, &m.space, founder, device)?
                == Some(crate::identity::Role::Coordinator)),
            None => Ok(false),
        }
    }
}

/// Whether a key delivery of the control log opens with `store`'s agreement key (whatever it is
/// addressed to and whoever signed it): for the adversarial tests, which check that keys a relay
/// swapped in never receive one.
#[cfg(feature = "fuzzing")]
pub(crate) fn delivery_opens(store: &Store, space: &SpaceId, body: &ControlBody) -> bool {
    match body {
        ControlBody::Keys {
            epoch,
            to,
            from,
            sealed,
            ..
        } => store
            .device_keys()
            .open_box(sealed, &keys_message(space, *epoch, to, from))
            .is_some(),
        _ => false,
    }
}

/// A wipe order for `device`, signed by `store`'s device whatever its role (a member's device
/// forging one, for the adversarial tests; [`Store::wipe_order`] refuses it).
#[cfg(feature = "fuzzing")]
pub(crate) fn wipe_order_signed_by(store: &Store, device: &DeviceId) -> Result<WipeOrder> {
    let m = store.membership()?.ok_or(CoreError::NotEnrolled)?;
    let target = id16(device);
    Ok(WipeOrder {
        space: m.space,
        device: target,
        by: id16(&store.identity().device),
        signature: store
            .device_keys()
            .sign_bytes(&wipe_message(&m.space, &target))
            .to_vec(),
    })
}

/// Compares two MACs in constant time.
fn subtle_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
