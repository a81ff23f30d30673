//! A small blocking HTTP client of the relay (ureq), for the command line, tests and the phones'
//! default transport. The relay's API comes with it through [`crate::RelayApi`].

use std::time::Duration;

use crate::{TransportError, CONTENT_TYPE};

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
}

impl crate::Exchange for HttpClient {
    fn exchange(&self, request: crate::Request) -> Result<(u16, Vec<u8>), TransportError> {
        use std::sync::atomic::Ordering::Relaxed;
        let auth = request.bearer.as_ref().map(|t| format!("Bearer {t}"));
        let sent =
            request.body.len() + request.url.len() + auth.as_ref().map_or(0, String::len) + 64;
        let result = match request.method {
            "GET" => {
                let mut req = self.agent.get(&request.url);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            }
            _ => {
                let mut req = self.agent.post(&request.url).content_type(CONTENT_TYPE);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.send(request.body)
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
        Ok((status, bytes))
    }
}
