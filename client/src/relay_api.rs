//! The relay's API over any HTTP stack: the wire format (paths, bodies, statuses) is here once;
//! an [`Exchange`] only moves bytes (the ureq client, or a phone's OkHttp or URLSession).

use allervers_protocol::{
    decode, encode, hex_id, ControlPage, CreateInvite, CreateLinkedSpace, CreateRecovery,
    CreateSpace, CreateSpaceInvite, DeviceEntry, DeviceId, Enroll, EpochStarted, Page, PostControl,
    Push, Pushed, Registered, SpaceId, StartEpoch, WipeOrder,
};

use crate::{Transport, TransportError};

/// One HTTP request to the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    pub url: String,
    /// The bearer token, if any.
    pub bearer: Option<String>,
    /// The body (POST), sent with the content type [`allervers_protocol::CONTENT_TYPE`].
    pub body: Vec<u8>,
}

/// Moves one request to the relay and its answer back: status and body. A failure to get an
/// answer is `TransportError::Unreachable`.
pub trait Exchange {
    fn exchange(&self, request: HttpRequest) -> Result<(u16, Vec<u8>), TransportError>;
}

fn checked(answer: Result<(u16, Vec<u8>), TransportError>) -> Result<Vec<u8>, TransportError> {
    let (status, body) = answer?;
    if (200..300).contains(&status) {
        Ok(body)
    } else if let (410, Ok(order)) = (status, decode::<WipeOrder>(&body)) {
        // Revoked, with the order a coordinator signed (the device checks the signature).
        Err(TransportError::Revoked(order))
    } else {
        let reason: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        Err(TransportError::Refused {
            status,
            reason: reason.trim().to_string(),
        })
    }
}

fn decoded<T: for<'a> serde::Deserialize<'a>>(body: Vec<u8>) -> Result<T, TransportError> {
    decode(&body).map_err(|why| TransportError::Refused {
        status: 200,
        reason: why,
    })
}

fn get(url: String, token: &str) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url,
        bearer: Some(token.to_string()),
        body: Vec::new(),
    }
}

fn post(url: String, token: Option<&str>, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url,
        bearer: token.map(str::to_string),
        body,
    }
}

/// The relay's endpoints, for anything that can exchange requests.
pub trait RelayApi: Exchange {
    fn create_space(
        &self,
        relay: &str,
        admin_token: &str,
        space: SpaceId,
        device: DeviceId,
    ) -> Result<Registered, TransportError> {
        decoded(checked(self.exchange(post(
            format!("{relay}/v1/spaces"),
            Some(admin_token),
            encode(&CreateSpace { space, device }),
        )))?)
    }

    fn create_invite(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        invite: &CreateInvite,
    ) -> Result<(), TransportError> {
        checked(self.exchange(post(
            format!("{relay}/v1/spaces/{}/invites", hex_id(space)),
            Some(token),
            encode(invite),
        )))?;
        Ok(())
    }

    /// Registers the hash of a one-time token that registers one new space (coordinator of
    /// `space`); whoever redeems it ([`RelayApi::create_linked_space`]) is that space's first,
    /// coordinator device.
    fn create_space_invite(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        invite: &CreateSpaceInvite,
    ) -> Result<(), TransportError> {
        checked(self.exchange(post(
            format!("{relay}/v1/spaces/{}/space-invites", hex_id(space)),
            Some(token),
            encode(invite),
        )))?;
        Ok(())
    }

    /// Redeems a space invite's token, once: registers `request.space` with this device as its
    /// coordinator, and returns its device token (no bearer token: the redemption token is the
    /// proof).
    fn create_linked_space(
        &self,
        relay: &str,
        request: &CreateLinkedSpace,
    ) -> Result<Registered, TransportError> {
        decoded(checked(self.exchange(post(
            format!("{relay}/v1/linked-spaces"),
            None,
            encode(request),
        )))?)
    }

    /// Sets the space's recovery token (coordinator), replacing the one before.
    fn set_recovery(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        recovery: &CreateRecovery,
    ) -> Result<(), TransportError> {
        checked(self.exchange(post(
            format!("{relay}/v1/spaces/{}/recovery", hex_id(space)),
            Some(token),
            encode(recovery),
        )))?;
        Ok(())
    }

    fn enroll(&self, relay: &str, enroll: &Enroll) -> Result<Registered, TransportError> {
        decoded(checked(self.exchange(post(
            format!("{relay}/v1/enroll"),
            None,
            encode(enroll),
        )))?)
    }

    fn devices(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
    ) -> Result<Vec<DeviceEntry>, TransportError> {
        decoded(checked(self.exchange(get(
            format!("{relay}/v1/spaces/{}/devices", hex_id(space)),
            token,
        )))?)
    }

    /// A page of the space's control log (the sync gets it with its pulls).
    fn control(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        after: u64,
        limit: usize,
    ) -> Result<ControlPage, TransportError> {
        let url = format!(
            "{relay}/v1/spaces/{}/control?after={after}&limit={limit}",
            hex_id(space)
        );
        decoded(checked(self.exchange(get(url, token)))?)
    }

    /// Revokes `device`, with the wipe order the relay serves it at its next request.
    fn revoke(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        device: &DeviceId,
        order: Option<&WipeOrder>,
    ) -> Result<(), TransportError> {
        let url = format!(
            "{relay}/v1/spaces/{}/devices/{}/revoke",
            hex_id(space),
            hex_id(device)
        );
        let body = order.map(encode).unwrap_or_default();
        checked(self.exchange(post(url, Some(token), body)))?;
        Ok(())
    }

    /// Makes `device` a coordinator of the space at the relay.
    fn make_coordinator(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        device: &DeviceId,
    ) -> Result<(), TransportError> {
        let url = format!(
            "{relay}/v1/spaces/{}/devices/{}/coordinator",
            hex_id(space),
            hex_id(device)
        );
        checked(self.exchange(post(url, Some(token), Vec::new())))?;
        Ok(())
    }

    /// Starts epoch `expected + 1`: `Ok(new epoch)`, or `Err(Ok(current))` when another
    /// coordinator started one first (the relay answered 409 with the current epoch).
    fn start_epoch(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        expected: u32,
    ) -> Result<Result<u32, u32>, TransportError> {
        let (status, body) = self.exchange(post(
            format!("{relay}/v1/spaces/{}/epochs", hex_id(space)),
            Some(token),
            encode(&StartEpoch { expected }),
        ))?;
        if status == 409 {
            if let Ok(current) = decode::<EpochStarted>(&body) {
                return Ok(Err(current.epoch));
            }
        }
        let started: EpochStarted = decoded(checked(Ok((status, body)))?)?;
        Ok(Ok(started.epoch))
    }
}

impl<T: Exchange + ?Sized> RelayApi for T {}

impl<T: Exchange> Transport for T {
    fn push(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        push: &Push,
    ) -> Result<Pushed, TransportError> {
        decoded(checked(self.exchange(post(
            format!("{relay}/v1/spaces/{}/envelopes", hex_id(space)),
            Some(token),
            encode(push),
        )))?)
    }

    fn pull(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        after: u64,
        limit: usize,
        control_after: Option<u64>,
    ) -> Result<Page, TransportError> {
        let mut url = format!(
            "{relay}/v1/spaces/{}/envelopes?after={after}&limit={limit}",
            hex_id(space)
        );
        if let Some(c) = control_after {
            url.push_str(&format!("&control_after={c}"));
        }
        decoded(checked(self.exchange(get(url, token)))?)
    }

    fn post_control(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        post_control: &PostControl,
    ) -> Result<Pushed, TransportError> {
        decoded(checked(self.exchange(post(
            format!("{relay}/v1/spaces/{}/control", hex_id(space)),
            Some(token),
            encode(post_control),
        )))?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use allervers_protocol::{
        CreateInvite, CreateLinkedSpace, CreateSpaceInvite, Enroll, Envelope, Push,
    };
    use allervers_relay::http::{router, Relay};
    use allervers_relay::storage::{sha256, SqliteStorage};

    use super::RelayApi;
    use crate::{HttpClient, Transport, TransportError};

    const ADMIN: &str = "relay-admin-token-for-the-client";

    /// The relay's router on a loopback port, on a SQLite file in a temporary folder, served by
    /// a runtime of its own until the test ends.
    struct Served {
        url: String,
        _runtime: tokio::runtime::Runtime,
        _dir: tempfile::TempDir,
    }

    fn serve() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(SqliteStorage::open(&dir.path().join("relay.db")).unwrap());
        let app = router(Relay::new(storage, sha256(ADMIN.as_bytes())), 1 << 20);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Served {
            url,
            _runtime: runtime,
            _dir: dir,
        }
    }

    /// Straight to the loopback relay, whatever proxy the environment names.
    fn client() -> HttpClient {
        HttpClient::with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(20)))
                .proxy(None),
        )
    }

    fn in_a_day() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 86_400_000
    }

    fn refused(status: u16, reason: &str) -> TransportError {
        TransportError::Refused {
            status,
            reason: reason.to_string(),
        }
    }

    #[test]
    fn a_coordinators_space_code_registers_one_new_space_with_its_redeemer_as_coordinator() {
        let relay = serve();
        let http = client();
        let (team, office) = ([0x11; 16], [0x21; 16]);
        let coordinator = http
            .create_space(&relay.url, ADMIN, team, office)
            .unwrap()
            .device_token;
        // A worker of the team may not open a space.
        let secret = [0x31; 32];
        http.create_invite(
            &relay.url,
            &team,
            &coordinator,
            &CreateInvite {
                secret_hash: sha256(&secret),
                expires_at_ms: in_a_day(),
            },
        )
        .unwrap();
        let worker = http
            .enroll(
                &relay.url,
                &Enroll {
                    space: team,
                    redeem: secret,
                    device: [0x22; 16],
                    sign_key: [1; 32],
                    agree_key: [2; 32],
                    mac: [3; 32],
                },
            )
            .unwrap()
            .device_token;
        let redeem = [0x41; 32];
        let invite = CreateSpaceInvite {
            secret_hash: sha256(&redeem),
            expires_at_ms: in_a_day(),
        };
        assert_eq!(
            http.create_space_invite(&relay.url, &team, &worker, &invite),
            Err(refused(403, "only a coordinator's device may do this"))
        );
        http.create_space_invite(&relay.url, &team, &coordinator, &invite)
            .unwrap();

        // The space id the relay has already is refused, and the code stays usable.
        let (health, nurse) = ([0x12; 16], [0x23; 16]);
        let taken = CreateLinkedSpace {
            redeem,
            space: team,
            device: nurse,
        };
        assert_eq!(
            http.create_linked_space(&relay.url, &taken),
            Err(refused(409, "this space already exists"))
        );
        let request = CreateLinkedSpace {
            redeem,
            space: health,
            device: nurse,
        };
        let token = http
            .create_linked_space(&relay.url, &request)
            .unwrap()
            .device_token;
        // The redeemer's token is the new space's coordinator's: it lists its devices and syncs.
        let devices = http.devices(&relay.url, &health, &token).unwrap();
        assert_eq!(devices.len(), 1);
        assert!(devices[0].device == nurse && devices[0].coordinator);
        let envelope = Envelope {
            record: [7; 16],
            epoch: 0,
            nonce: [8; 24],
            sealed: vec![9; 40],
            key: None,
        };
        let push = Push {
            envelopes: vec![envelope.clone()],
            sent_at_ms: 0,
        };
        let seqs = http.push(&relay.url, &health, &token, &push).unwrap().seqs;
        let page = http.pull(&relay.url, &health, &token, 0, 10, None).unwrap();
        assert_eq!(page.envelopes.len(), 1);
        assert_eq!(page.envelopes[0].seq, seqs[0]);
        assert_eq!(page.envelopes[0].envelope, envelope);
        // It belongs to the new space only.
        assert!(matches!(
            http.devices(&relay.url, &team, &token),
            Err(TransportError::Refused { status: 403, .. })
        ));
        // Once.
        let again = CreateLinkedSpace {
            redeem,
            space: [0x13; 16],
            device: [0x24; 16],
        };
        assert_eq!(
            http.create_linked_space(&relay.url, &again),
            Err(refused(403, "unknown, used or expired space code"))
        );
    }
}
