//! Recovery of a space whose only coordinator's phone is lost.
//!
//! When a space is created, its coordinator's device draws a recovery secret and shows it once,
//! as a code (`ALVR1-...`, with the relay, the space and the founder's public keys) to print and
//! keep in a safe. From the secret come a signing and an agreement key pair, the space's
//! *recovery identity*, and a redemption token whose hash the relay keeps. The coordinator's
//! device grants the recovery identity the coordinator's role (the roster's `recovery` entry) and
//! delivers it every key of the space; every later key epoch is delivered to it as well, so the
//! control log always holds every key sealed to it.
//!
//! A new device given the code redeems the token (the relay enrols it as a coordinator, once),
//! derives the recovery identity, opens the deliveries sealed to it (each carries the grants that
//! make its sender a coordinator, since this device knows no roster yet), and signs, as the
//! recovery identity, a coordinator's grant for itself, which its roster changes carry. Then it
//! forgets the recovery secret: it is a coordinator of its own. It should revoke the lost phone,
//! and make a new code (which replaces the old one at the relay and in the roster).

use allervers_protocol::{Enroll, SpaceId};
use automerge::{ScalarValue, ROOT};
use serde::{Deserialize, Serialize};

use super::Membership;
use crate::identity::{self, DeviceKeys, Grant, PublicKeys, Role};
use crate::store::roster::{self, RECOVERY_KEY, ROSTER_ID};
use crate::store::{load_doc, sync_state, trust};
use crate::{CoreError, DeviceId, Result, Store};

const PREFIX: &str = "ALVR1-";

/// A space's recovery code: the relay's address, the space, its founder's public keys and the
/// recovery secret. Whoever holds it can make a device a coordinator of the space (once at the
/// relay): keep it on paper, in a safe, never on a phone.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCode {
    pub relay: String,
    pub space: SpaceId,
    pub name: String,
    pub founder: PublicKeys,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCode")
            .field("relay", &self.relay)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn derive(secret: &[u8; 32], label: &[u8]) -> [u8; 32] {
    super::derive_from(b"allervers recovery v1", secret, label)
}

/// The recovery identity of a recovery secret.
pub(crate) fn identity_of(secret: &[u8; 32]) -> DeviceKeys {
    DeviceKeys::from_secrets(derive(secret, b"sign"), derive(secret, b"agree"))
}

impl RecoveryCode {
    /// The recovery identity's device id (as the roster's `recovery` grant names it).
    pub fn device(&self) -> DeviceId {
        identity_of(&self.secret).public().device()
    }

    /// The token that redeems the code at the relay (once).
    pub fn redeem(&self) -> [u8; 32] {
        derive(&self.secret, b"redeem")
    }

    /// The hash of the redemption token, which is all the relay keeps.
    pub fn secret_hash(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(self.redeem()).into()
    }

    /// The code to print.
    pub fn code(&self) -> String {
        super::write_code(PREFIX, self)
    }

    /// Reads a code; a mistyped or truncated one is refused.
    pub fn from_code(code: &str) -> Result<RecoveryCode> {
        super::read_code(PREFIX, code, |c: &RecoveryCode| &c.relay).ok_or_else(|| {
            CoreError::invalid(
                "recovery code",
                "is not an allervers recovery code (mistyped or cut?)",
            )
        })
    }
}

impl Store {
    /// A new recovery code for this store's space (a coordinator's device): the recovery
    /// identity's coordinator grant written in the roster (replacing the one before), and every
    /// key of the space queued for it. The caller registers the redemption token's hash at the
    /// relay and shows the code once; nothing here keeps its secret.
    pub fn new_recovery(&self) -> Result<RecoveryCode> {
        let m = self.membership()?.ok_or(CoreError::NotEnrolled)?;
        let founder = m.founder.ok_or_else(|| {
            CoreError::invalid(
                "recovery",
                "this space was created by an older version: create it anew",
            )
        })?;
        let code = RecoveryCode {
            relay: m.relay.clone(),
            space: m.space,
            name: m.name.clone(),
            founder,
            secret: self.random(),
        };
        let recovery = identity_of(&code.secret).public();
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let chain = self
            .own_coordinator_chain(&tx, &m.space, &founder)?
            .ok_or_else(|| {
                CoreError::invalid(
                    "recovery",
                    "only a coordinator's device can make a recovery code",
                )
            })?;
        let grant = Grant::new(&m.space, recovery, Role::Coordinator, self.device_keys());
        let value = grant.encode();
        // The codes before are revoked: their identities receive no later key, and what they
        // sign from now on stands nowhere (the device that recovered with one stays).
        let roster = load_doc(&tx, ROSTER_ID)?;
        let revoked: Vec<(String, Vec<u8>)> = roster
            .as_ref()
            .map(roster::recovery_grants)
            .unwrap_or_default()
            .iter()
            .map(|old| roster::revocation_entry(roster.as_ref(), &old.device.device()))
            .collect();
        self.write_roster_in(&tx, |doc, _| {
            use automerge::transaction::Transactable;
            doc.put(ROOT, RECOVERY_KEY, ScalarValue::Bytes(value))?;
            for (key, entry) in revoked {
                doc.put(ROOT, key, ScalarValue::Bytes(entry))?;
            }
            Ok(())
        })?;
        trust::learn_device_keys(&tx, &recovery)?;
        let mut member = chain.clone();
        member.push(grant);
        for (epoch, key) in sync_state::space_keys(&tx, &m.space)? {
            self.deliver(&tx, &m.space, &recovery, epoch, &key, &member, &chain)?;
        }
        tx.commit()?;
        Ok(code)
    }

    /// Reads a recovery code for this store, which must not belong to a space yet.
    pub fn read_recovery(&self, code: &str) -> Result<RecoveryCode> {
        if self.membership()?.is_some() {
            return Err(CoreError::invalid(
                "space",
                "this store already belongs to a space",
            ));
        }
        RecoveryCode::from_code(code)
    }

    /// What `POST /v1/enroll` needs to redeem `code`: its token, this device's id and keys.
    pub fn recovery_enrolment(&self, code: &RecoveryCode) -> Enroll {
        let keys = self.device_keys().public();
        Enroll {
            space: code.space,
            redeem: code.redeem(),
            device: self.device_bytes(),
            sign_key: keys.sign,
            agree_key: keys.agree,
            mac: super::enrolment_mac(&code.secret, &code.space, &self.identity().device, &keys),
        }
    }

    /// Joins the space of `code` as a coordinator, with the device token the relay gave when it
    /// redeemed the code. The recovery secret is kept until the next syncs have opened the keys
    /// sealed to the recovery identity and this device has taken the coordinator's role.
    pub fn join_recovered(&self, code: &RecoveryCode, token: String) -> Result<()> {
        trust::learn_device_keys(&self.lock(), &code.founder)?;
        let membership = Membership {
            space: code.space,
            name: code.name.clone(),
            relay: code.relay.clone(),
            token,
            epoch: 0,
            coordinator: true,
            root: Some(code.founder.device()),
            founder: Some(code.founder),
        };
        self.join_space_with(&membership, Some(&code.secret))
    }

    /// The space's current recovery identities (by the roster's `recovery` grants: one, or
    /// several made at once) and the grants that make each a coordinator; none revoked, each
    /// granted by a coordinator the roster proves.
    pub(super) fn recovery_identities(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
    ) -> Result<Vec<(PublicKeys, Vec<Grant>)>> {
        let (Some(founder), Some(doc)) = (m.founder, load_doc(conn, ROSTER_ID)?) else {
            return Ok(Vec::new());
        };
        let revocations = roster::Revocations::of(&doc);
        let mut out = Vec::new();
        for grant in roster::recovery_grants(&doc) {
            let keys = grant.device;
            let Some(mut chain) =
                roster::coordinator_chain(&doc, &m.space, &founder, &grant.by.device())
            else {
                continue;
            };
            chain.push(grant);
            if identity::is_coordinator(&m.space, &founder, &keys.device(), &chain)
                && revocations.chain_stands(&chain)
            {
                out.push((keys, chain));
            }
        }
        Ok(out)
    }

    /// The role this device's own grants give it in `m`'s space.
    pub(super) fn own_role(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
    ) -> Result<Option<Role>> {
        let Some(founder) = m.founder else {
            return Ok(None);
        };
        Ok(identity::role_of(
            &m.space,
            &founder,
            &self.identity().device,
            &self.own_credentials(conn)?,
        ))
    }

    /// A key delivered to the recovery identity came with the grants that make it a
    /// coordinator (`member`): this device takes the role, by a coordinator's grant for itself
    /// signed by the recovery identity, kept as its credentials and written in the roster.
    pub(super) fn take_over(
        &self,
        conn: &rusqlite::Connection,
        m: &Membership,
        recovery: &DeviceKeys,
        member: &[Grant],
    ) -> Result<()> {
        let Some(founder) = m.founder else {
            return Ok(());
        };
        let proven =
            identity::is_coordinator(&m.space, &founder, &recovery.public().device(), member);
        if !proven || self.own_role(conn, m)? == Some(Role::Coordinator) {
            return Ok(());
        }
        let me = self.device_keys().public();
        let grant = Grant::new(&m.space, me, Role::Coordinator, recovery);
        let mut chain = member.to_vec();
        chain.push(grant.clone());
        sync_state::set_credentials(conn, &m.space, &chain)?;
        // The recovery identity's grant too, under its own key: the chain stays in the roster
        // when a new code replaces the `recovery` entry.
        let mut entries = vec![(roster::grant_key(&me.device()), grant.encode())];
        if let Some(identity_grant) = member.last() {
            entries.push((
                roster::grant_key(&recovery.public().device()),
                identity_grant.encode(),
            ));
        }
        self.write_roster_in(conn, |doc, _| {
            use automerge::transaction::Transactable;
            for (key, value) in entries {
                doc.put(ROOT, key, ScalarValue::Bytes(value))?;
            }
            Ok(())
        })
    }
}
