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

/// `POST /v1/spaces/{space}/recovery` (coordinator): the hash of the space's recovery token,
/// which replaces the one before. Redeemed through `POST /v1/enroll` like an invite's (once, and
/// only while the coordinator who set it is not revoked), it enrols the device as a coordinator:
/// how a space whose only coordinator's phone was lost gets one again. It does not expire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRecovery {
    pub secret_hash: [u8; 32],
}

/// `POST /v1/enroll`: an invite's redemption token, once, for a new device token. The relay
/// keeps only `sha256(redeem)` of each invite (`CreateInvite::secret_hash`); it never sees the
/// invite's secret, from which both `redeem` and the key of `mac` are derived. The relay writes a
/// [`ControlBody::Enrolled`] item with the device's public keys and `mac` for the space's
/// coordinators, who check `mac` before they deliver the space key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enroll {
    pub space: SpaceId,
    pub redeem: [u8; 32],
    pub device: DeviceId,
    pub sign_key: [u8; 32],
    pub agree_key: [u8; 32],
    /// HMAC-SHA256 of the space, device and both keys, under a key only the invite's holder and
    /// its coordinator can derive.
    pub mac: [u8; 32],
}

/// `POST /v1/spaces/{space}/space-invites` (coordinator of `space`): the hash of a one-time
/// token that registers one new space, a space of its own, with whoever redeems it as that
/// space's first, coordinator device ([`CreateLinkedSpace`]). How a coordinator opens a space
/// for someone else (a team's health professionals, a partnership) without handing over the
/// relay's admin token: the code (the relay's address and the token) goes by hand to the other
/// person's device. The relay keeps `sha256(token)` (never the token), the inviting device, the
/// space it came from and the expiry until the token is used or expires, and nothing of what the
/// new space is for; the token dies with its inviter's revocation. At most 30 days ahead, like an
/// invite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSpaceInvite {
    pub secret_hash: [u8; 32],
    /// Milliseconds since the Unix epoch, relay clock.
    pub expires_at_ms: i64,
}

/// `POST /v1/linked-spaces` (no bearer token): `redeem` is the token whose sha256 a coordinator
/// registered ([`CreateSpaceInvite`]); registers `space` with `device` as its first, coordinator
/// device; answered `201 Registered` (the device token), once per token. An unknown, used or
/// expired token (or one whose inviter was revoked) is `403`; a `space` the relay has already is
/// `409`, and the token stays usable. The new space shares nothing with the inviting one at the
/// relay: the invite row, the only link between them, is deleted by the redemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkedSpace {
    pub redeem: [u8; 32],
    pub space: SpaceId,
    pub device: DeviceId,
}

/// One item of a space's control log (`GET /v1/spaces/{space}/control?after=SEQ&limit=N`, any
/// device of the space that is not revoked): what devices need besides envelopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlBody {
    /// Written by the relay when a device redeems an invite: `invite` is the invite's
    /// `secret_hash`.
    Enrolled {
        invite: [u8; 32],
        device: DeviceId,
        sign_key: [u8; 32],
        agree_key: [u8; 32],
        mac: [u8; 32],
    },
    /// Posted by a coordinator's device (`POST /v1/spaces/{space}/control`): the space key of
    /// `epoch` sealed to the agreement key of device `to`, signed by device `from`.
    Keys {
        epoch: u32,
        to: DeviceId,
        from: DeviceId,
        sealed: Vec<u8>,
        signature: Vec<u8>,
    },
    /// Written by the relay when a coordinator starts a new key epoch.
    Epoch { epoch: u32, by: DeviceId },
    /// Posted by a coordinator's device (`POST /v1/spaces/{space}/control`): an erasure order
    /// (a person's right to erasure). In the transaction that stores the item, the relay deletes
    /// the space's envelopes whose `(epoch, record)` is listed in `records`, and keeps those
    /// pairs so that it refuses (409) a later push of an envelope carrying one of them. `sealed`
    /// (what the order erases, readable with the space key) and `signature` (by device `by`) are
    /// for the devices, which check them; the relay can check neither.
    Erase {
        by: DeviceId,
        records: Vec<BlindedRecord>,
        sealed: Vec<u8>,
        signature: Vec<u8>,
    },
}

/// A record as the relay sees it in one key epoch: its id blinded with that epoch's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlindedRecord {
    pub epoch: u32,
    pub record: [u8; 16],
}

/// The most records one erasure order may list (a person's records under every epoch).
pub const MAX_ERASED_RECORDS: usize = 200_000;

/// A control item with its sequence number in the space's control log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub seq: u64,
    pub body: ControlBody,
}

/// One page of a space's control log, the next cursor, and whether more remain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlPage {
    pub items: Vec<Control>,
    pub next: u64,
    pub more: bool,
}

/// `POST /v1/spaces/{space}/control` (coordinator): key deliveries (`ControlBody::Keys`) and
/// erasure orders (`ControlBody::Erase`), each signed by the posting device; answered with `Pushed` (their sequence numbers; an item posted twice is stored once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostControl {
    pub items: Vec<ControlBody>,
}

/// `POST /v1/spaces/{space}/epochs` (coordinator): starts epoch `expected + 1` if the space's
/// epoch is still `expected` (the relay numbers epochs one at a time: two coordinators revoking
/// at once cannot fork them); otherwise 409 and the current epoch in `EpochStarted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartEpoch {
    pub expected: u32,
}

/// The space's epoch after `StartEpoch` (the new one, or on 409 the current one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStarted {
    pub epoch: u32,
}

/// `POST /v1/spaces/{space}/devices/{device}/revoke` (coordinator): the order, signed by a
/// coordinator's device, that the revoked device erase its store. The relay keeps it and
/// answers every later request of the revoked device with `410 Gone` and this order as the body
/// (`403` when a device was revoked without one). Devices check the signature; the relay cannot
/// forge one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeOrder {
    pub space: SpaceId,
    pub device: DeviceId,
    pub by: DeviceId,
    pub signature: Vec<u8>,
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

/// `GET /v1/spaces/{space}/envelopes?after=SEQ&limit=N[&control_after=C]`: one page, the next
/// cursor, and whether more remain; with `control_after`, the page of the space's control log
/// after `C` too (so that a sync with nothing new stays one round trip).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub envelopes: Vec<Stored>,
    pub next: u64,
    pub more: bool,
    pub control: Option<ControlPage>,
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
            control: None,
        };
        assert_eq!(decode::<Page>(&encode(&page)).unwrap(), page);
        let linked = CreateLinkedSpace {
            redeem: [5; 32],
            space: [6; 16],
            device: [7; 16],
        };
        assert_eq!(
            decode::<CreateLinkedSpace>(&encode(&linked)).unwrap(),
            linked
        );
        let invite = CreateSpaceInvite {
            secret_hash: [8; 32],
            expires_at_ms: 1_700_000_000_000,
        };
        assert_eq!(
            decode::<CreateSpaceInvite>(&encode(&invite)).unwrap(),
            invite
        );
        assert!(decode::<CreateLinkedSpace>(&encode(&linked)[..40]).is_err());
        assert!(decode::<Page>(b"\xff\xff\xff\xff\xff").is_err());
        assert_eq!(parse_hex_id(&hex_id(&[0xab; 16])), Some([0xab; 16]));
        assert_eq!(parse_hex_id("zz"), None);
        assert_eq!(parse_hex_id(&"g".repeat(32)), None);
    }
}
