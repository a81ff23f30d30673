//! Identifiers: records are UUIDv7 (time-ordered, so index pages fill at the right, and bound to
//! the device that created them), devices are 16 bytes (a hash of their public keys) used as the
//! Automerge actor id of every change they write.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CoreError;

/// The identifier of one record (one Automerge document).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

impl RecordId {
    /// A new id for a record that `creator` creates at `now_ms`: a UUIDv7 (time-ordered) whose
    /// last 48 bits bind it to its creator ([`RecordId::drawn_by`]), so that no other device can
    /// write a record's creation under its id. 26 bits are random.
    pub fn new_by(now_ms: i64, random: [u8; 4], creator: &DeviceId) -> Self {
        let ms = now_ms.max(0) as u64;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        bytes[6..10].copy_from_slice(&random);
        // Version 7 and RFC 4122 variant bits.
        bytes[6] = (bytes[6] & 0x0f) | 0x70;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let tag = creator_tag(&bytes[..10], creator);
        bytes[10..].copy_from_slice(&tag);
        RecordId(Uuid::from_bytes(bytes))
    }

    /// Whether `creator` drew this id: its last 48 bits are the hash of the rest and of the
    /// creator's id. Finding another device id that matches takes about 2^48 key pairs.
    pub fn drawn_by(&self, creator: &DeviceId) -> bool {
        let bytes = self.as_bytes();
        bytes[10..] == creator_tag(&bytes[..10], creator)
    }

    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        RecordId(Uuid::from_bytes(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(bytes).ok().map(Self::from_bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn uuid(&self) -> Uuid {
        self.0
    }
}

fn creator_tag(head: &[u8], creator: &DeviceId) -> [u8; 6] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"allervers record v1");
    h.update(head);
    h.update(creator.0.to_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 6];
    out.copy_from_slice(&digest[..6]);
    out
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.0.hyphenated())
    }
}

impl FromStr for RecordId {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Uuid::parse_str(s.trim())
            .map(RecordId)
            .map_err(|_| CoreError::invalid("record id", "is not a record id"))
    }
}

/// The identifier of one device: the Automerge actor id of every change it writes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub(crate) automerge::ActorId);

impl DeviceId {
    pub fn random(bytes: [u8; 16]) -> Self {
        DeviceId(automerge::ActorId::from(&bytes[..]))
    }

    pub fn from_bytes(bytes: &[u8]) -> Self {
        DeviceId(automerge::ActorId::from(bytes))
    }

    pub fn actor(&self) -> &automerge::ActorId {
        &self.0
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// The short form shown to people (the first 8 hex digits).
    pub fn short(&self) -> String {
        self.to_string().chars().take(8).collect()
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_hex_string())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
