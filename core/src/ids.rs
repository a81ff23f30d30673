//! Identifiers: records are UUIDv7 (time-ordered, so index pages fill at the right), devices are
//! 16 random bytes used as the Automerge actor id of every change they write.

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
    /// A new time-ordered id (UUIDv7) for a record created at `now_ms`.
    pub fn new_at(now_ms: i64, random: [u8; 10]) -> Self {
        let ms = now_ms.max(0) as u64;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&random);
        // Version 7 and RFC 4122 variant bits.
        bytes[6] = (bytes[6] & 0x0f) | 0x70;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        RecordId(Uuid::from_bytes(bytes))
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
