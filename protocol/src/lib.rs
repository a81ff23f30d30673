//! The relay's wire protocol: the only crate that knows how bodies are encoded, and nothing
//! about HTTP (the client crate and the relay speak it). Bodies are postcard (binary, compact,
//! no base64); errors are a short `text/plain` reason with the HTTP status. Everything the relay sees is here: space ids, opaque record ids, device ids, sizes,
//! times and sealed bytes. No record field ever appears in these types.

use serde::{Deserialize, Serialize};

/// The content type of every request and response body.
pub const CONTENT_TYPE: &str = "application/vnd.allervers.v1+postcard";

/// A space: one sharing scope with one append-only log on the relay (random 16 bytes).
pub type SpaceId = [u8; 16];
/// A device: its Automerge actor id (16 bytes).
pub type DeviceId = [u8; 16];

/// `POST /v1/spaces` (relay admin token): registers a space and its first, coordinator device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSpace {
    pub space: SpaceId,
    pub device: DeviceId,
}

/// A device token, returned once; the relay keeps only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub device_token: String,
}

/// `POST /v1/spaces/{space}/invites` (coordinator): the hash of a one-time enrolment secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInvite {
    pub secret_hash: [u8; 32],
    /// Milliseconds since the Unix epoch, relay clock.
    pub expires_at_ms: i64,
}

/// `POST /v1/enroll`: the secret of an invite, once, for a new device token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enroll {
    pub space: SpaceId,
    pub secret: [u8; 32],
    pub device: DeviceId,
}

/// One device of a space, as `GET /v1/spaces/{space}/devices` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    pub device: DeviceId,
    pub coordinator: bool,
    pub enrolled_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// One sealed change: an opaque record id, the key epoch, the nonce, the sealed bytes, and the
/// record key wrapped with the space key (so that any envelope opens on its own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub record: [u8; 16],
    pub epoch: u32,
    pub nonce: [u8; 24],
    pub sealed: Vec<u8>,
    pub key: Option<Vec<u8>>,
}

/// `POST /v1/spaces/{space}/envelopes`: a batch in, with the device's clock when it sent the
/// request (an envelope is sealed once and may be sent again much later: the relay measures the
/// device's clock offset from the request, not from the sealed content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    pub envelopes: Vec<Envelope>,
    pub sent_at_ms: i64,
}

/// The sequence number of each pushed envelope, in order (an envelope pushed before keeps the
/// number it got then).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    pub seqs: Vec<u64>,
}

/// An envelope as stored: its sequence number in the space's log, the relay's time, and how far
/// the pushing device's clock was from the relay's when it pushed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub seq: u64,
    /// When the relay received the envelope, in milliseconds since the Unix epoch, relay clock;
    /// the relay keeps it to the second, so this is a multiple of 1000.
    pub received_at_ms: i64,
    /// The relay's clock minus the pushing device's when it pushed, in milliseconds, rounded to
    /// the nearest whole second by the relay (a multiple of 1000).
    pub clock_offset_ms: i64,
    pub envelope: Envelope,
}

/// `GET /v1/spaces/{space}/envelopes?after=SEQ&limit=N`: one page, the next cursor, and
/// whether more remain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub envelopes: Vec<Stored>,
    pub next: u64,
    pub more: bool,
}

/// Encodes a body.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs into a Vec cannot fail.
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Decodes a body; the error says what could not be read, never echoes the bytes.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("malformed body: {e}"))
}

/// Hex form of ids in paths (`/v1/spaces/{space}`...).
pub fn hex_id(id: &[u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a 32-hex-digit id from a path.
pub fn parse_hex_id(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_garbage_is_refused() {
        let page = Page {
            envelopes: vec![Stored {
                seq: 7,
                received_at_ms: 1_700_000_000_000,
                clock_offset_ms: -1_200,
                envelope: Envelope {
                    record: [1; 16],
                    epoch: 0,
                    nonce: [2; 24],
                    sealed: vec![3; 40],
                    key: Some(vec![4; 72]),
                },
            }],
            next: 7,
            more: false,
        };
        assert_eq!(decode::<Page>(&encode(&page)).unwrap(), page);
        assert!(decode::<Page>(b"\xff\xff\xff\xff\xff").is_err());
        assert_eq!(parse_hex_id(&hex_id(&[0xab; 16])), Some([0xab; 16]));
        assert_eq!(parse_hex_id("zz"), None);
        assert_eq!(parse_hex_id(&"g".repeat(32)), None);
    }
}
