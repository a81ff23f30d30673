//! Simulated devices for the relay's load benchmarks (`sync`'s part 4 and `relay_scale`):
//! registered cheaply, without stores or keys (a space created with the admin token, then an
//! invite and an enrollment per device with made-up public keys: the relay checks nothing it
//! cannot read), and their sync round (push one small envelope, pull what is new after the
//! device's cursor), timed per request.

use std::ops::Range;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use allervers_client::{HttpClient, RelayApi, Transport};
use allervers_core::identity::PublicKeys;
use allervers_core::Invite;
use allervers_e2e::ADMIN_TOKEN;
use allervers_protocol::{CreateInvite, DeviceId, Enroll, Envelope, Push, SpaceId};

/// One device enrolled at a relay: what it needs to push and pull, and its pull cursor.
pub struct SimulatedDevice {
    /// Its number among all the simulated devices of the run (spaces in order, then devices).
    pub number: u32,
    pub space: SpaceId,
    pub token: String,
    after: u64,
    rounds: u32,
}

/// One request of a sync round: how long it took, and why it failed if it did.
pub struct Timed {
    pub took: Duration,
    pub error: Option<String>,
}

/// Space number `s` (distinct for every `s`; one relay holds each once).
fn space_id(s: u32) -> SpaceId {
    let mut id = [0x5a; 16];
    id[..4].copy_from_slice(&s.to_le_bytes());
    id
}

fn device_id(s: u32, d: u32) -> DeviceId {
    let mut id = [0xd0; 16];
    id[..4].copy_from_slice(&s.to_le_bytes());
    id[4..8].copy_from_slice(&d.to_le_bytes());
    id
}

fn keys() -> PublicKeys {
    PublicKeys {
        sign: [1; 32],
        agree: [2; 32],
    }
}

/// Registers the spaces numbered `spaces` at the relay reached at `relay`, `per_space` devices in
/// each (the first is the coordinator that created the space and invites the others).
pub fn register(
    client: &HttpClient,
    relay: &str,
    spaces: Range<u32>,
    per_space: u32,
) -> Vec<SimulatedDevice> {
    let mut devices = Vec::new();
    for s in spaces {
        let space = space_id(s);
        let coordinator = client
            .create_space(relay, ADMIN_TOKEN, space, device_id(s, 0))
            .unwrap()
            .device_token;
        let mut tokens = vec![coordinator.clone()];
        for d in 1..per_space {
            let invite = Invite {
                relay: relay.to_string(),
                space,
                name: String::new(),
                coordinator: keys(),
                founder: keys(),
                secret: rand::random(),
            };
            let expires_at_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
                + 86_400_000;
            client
                .create_invite(
                    relay,
                    &space,
                    &coordinator,
                    &CreateInvite {
                        secret_hash: invite.secret_hash(),
                        expires_at_ms,
                    },
                )
                .unwrap();
            let enrolled = client
                .enroll(
                    relay,
                    &Enroll {
                        space,
                        redeem: invite.redeem(),
                        device: device_id(s, d),
                        sign_key: [3; 32],
                        agree_key: [4; 32],
                        mac: [5; 32],
                    },
                )
                .unwrap();
            tokens.push(enrolled.device_token);
        }
        devices.extend(
            tokens
                .into_iter()
                .enumerate()
                .map(|(d, token)| SimulatedDevice {
                    number: s * per_space + d as u32,
                    space,
                    token,
                    after: 0,
                    rounds: 0,
                }),
        );
    }
    devices
}

impl SimulatedDevice {
    /// One sync round: pushes one envelope (about 250 bytes of sealed content, new every
    /// round), then pulls up to 200 envelopes after its cursor (what its space's other devices
    /// pushed since), and moves the cursor on. The two requests' durations, in that order.
    pub fn sync(&mut self, client: &HttpClient, relay: &str) -> [Timed; 2] {
        self.rounds += 1;
        let n = self.number;
        let mut record = [0; 16];
        record[..4].copy_from_slice(&n.to_le_bytes());
        let mut nonce = [0; 24];
        nonce[..4].copy_from_slice(&self.rounds.to_le_bytes());
        let envelope = Envelope {
            record,
            epoch: 0,
            nonce,
            sealed: format!("device {n} change {}", self.rounds)
                .into_bytes()
                .repeat(12),
            key: None,
        };
        let push = Push {
            envelopes: vec![envelope],
            sent_at_ms: 0,
        };
        let t = Instant::now();
        let pushed = client.push(relay, &self.space, &self.token, &push);
        let push = Timed {
            took: t.elapsed(),
            error: pushed.err().map(|e| format!("push: {e}")),
        };
        let t = Instant::now();
        let pulled = client.pull(relay, &self.space, &self.token, self.after, 200, None);
        let took = t.elapsed();
        let pull = match pulled {
            Ok(page) => {
                self.after = page.next;
                Timed { took, error: None }
            }
            Err(e) => Timed {
                took,
                error: Some(format!("pull: {e}")),
            },
        };
        [push, pull]
    }
}
