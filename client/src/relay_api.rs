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
