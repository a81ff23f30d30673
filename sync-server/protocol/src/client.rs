//! A small blocking HTTP client of the relay (ureq), for the command line and tests.

use std::time::Duration;

use crate::{
    decode, encode, hex_id, CreateInvite, CreateSpace, DeviceEntry, DeviceId, Enroll, Page, Push,
    Pushed, Registered, SpaceId, Transport, TransportError, CONTENT_TYPE,
};

/// Counts what went over the wire (request and response bodies and headers, approximately).
#[derive(Debug, Default)]
pub struct WireStats {
    pub requests: std::sync::atomic::AtomicU64,
    pub bytes_sent: std::sync::atomic::AtomicU64,
    pub bytes_received: std::sync::atomic::AtomicU64,
}

/// The relay's HTTP client.
pub struct HttpClient {
    agent: ureq::Agent,
    pub stats: WireStats,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build(),
        );
        HttpClient {
            agent,
            stats: WireStats::default(),
        }
    }

    fn call(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, TransportError> {
        use std::sync::atomic::Ordering::Relaxed;
        let auth = token.map(|t| format!("Bearer {t}"));
        let sent = body.as_ref().map_or(0, Vec::len)
            + url.len()
            + auth.as_ref().map_or(0, String::len)
            + 64;
        let result = match method {
            "GET" => {
                let mut req = self.agent.get(url);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            }
            _ => {
                let mut req = self.agent.post(url).content_type(CONTENT_TYPE);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.send(body.unwrap_or_default())
            }
        };
        let mut response = result.map_err(|e| TransportError::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| TransportError::Unreachable(e.to_string()))?;
        self.stats.requests.fetch_add(1, Relaxed);
        self.stats.bytes_sent.fetch_add(sent as u64, Relaxed);
        self.stats
            .bytes_received
            .fetch_add(bytes.len() as u64 + 64, Relaxed);
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            let reason: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            Err(TransportError::Refused {
                status,
                reason: reason.trim().to_string(),
            })
        }
    }

    fn decoded<T: for<'a> serde::Deserialize<'a>>(bytes: Vec<u8>) -> Result<T, TransportError> {
        decode(&bytes).map_err(|why| TransportError::Refused {
            status: 200,
            reason: why,
        })
    }

    pub fn create_space(
        &self,
        relay: &str,
        admin_token: &str,
        space: SpaceId,
        device: DeviceId,
    ) -> Result<Registered, TransportError> {
        let body = self.call(
            "POST",
            &format!("{relay}/v1/spaces"),
            Some(admin_token),
            Some(encode(&CreateSpace { space, device })),
        )?;
        Self::decoded(body)
    }

    pub fn create_invite(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        invite: &CreateInvite,
    ) -> Result<(), TransportError> {
        self.call(
            "POST",
            &format!("{relay}/v1/spaces/{}/invites", hex_id(space)),
            Some(token),
            Some(encode(invite)),
        )?;
        Ok(())
    }

    pub fn enroll(&self, relay: &str, enroll: &Enroll) -> Result<Registered, TransportError> {
        Self::decoded(self.call(
            "POST",
            &format!("{relay}/v1/enroll"),
            None,
            Some(encode(enroll)),
        )?)
    }

    pub fn devices(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
    ) -> Result<Vec<DeviceEntry>, TransportError> {
        Self::decoded(self.call(
            "GET",
            &format!("{relay}/v1/spaces/{}/devices", hex_id(space)),
            Some(token),
            None,
        )?)
    }

    pub fn revoke(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        device: &DeviceId,
    ) -> Result<(), TransportError> {
        self.call(
            "POST",
            &format!(
                "{relay}/v1/spaces/{}/devices/{}/revoke",
                hex_id(space),
                hex_id(device)
            ),
            Some(token),
            None,
        )?;
        Ok(())
    }
}

impl Transport for HttpClient {
    fn push(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        push: &Push,
    ) -> Result<Pushed, TransportError> {
        Self::decoded(self.call(
            "POST",
            &format!("{relay}/v1/spaces/{}/envelopes", hex_id(space)),
            Some(token),
            Some(encode(push)),
        )?)
    }

    fn pull(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        after: u64,
        limit: usize,
    ) -> Result<Page, TransportError> {
        Self::decoded(self.call(
            "GET",
            &format!(
                "{relay}/v1/spaces/{}/envelopes?after={after}&limit={limit}",
                hex_id(space)
            ),
            Some(token),
            None,
        )?)
    }
}
