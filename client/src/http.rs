//! A small blocking HTTP client of the relay (ureq), for the command line, tests and the phones'
//! default transport. The relay's API comes with it through [`crate::RelayApi`]. An `https://`
//! relay is reached through rustls with Mozilla's root certificates.

use std::time::Duration;

use allervers_protocol::CONTENT_TYPE;

use crate::TransportError;

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
    /// A client that honours the usual proxy variables (`HTTPS_PROXY`, `ALL_PROXY`...), as an
    /// office network may require.
    pub fn new(timeout: Duration) -> Self {
        Self::with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout)),
        )
    }

    pub(crate) fn with_config(
        config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    ) -> Self {
        HttpClient {
            agent: ureq::Agent::new_with_config(config.build()),
            stats: WireStats::default(),
        }
    }
}

impl crate::Exchange for HttpClient {
    fn exchange(&self, request: crate::HttpRequest) -> Result<(u16, Vec<u8>), TransportError> {
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

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    use crate::{Exchange, HttpRequest};

    use super::HttpClient;

    /// A relay behind a TLS front (a reverse proxy with a public certificate) is reached with an
    /// `https://` address: the client must open a TLS session, not send plain HTTP. The listener
    /// here is no TLS server: it only records the first bytes the client sends.
    #[test]
    fn an_https_relay_address_opens_a_tls_session() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        // What the client sent first, if it connected within five seconds.
        let server = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        conn.set_nonblocking(false).ok()?;
                        conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
                        let mut first = [0u8; 3];
                        conn.read_exact(&mut first).ok()?;
                        return Some(first);
                    }
                    Err(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => return None,
                }
            }
        });
        // Straight to the listener, whatever proxy the environment names.
        let client = HttpClient::with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(5)))
                .proxy(None),
        );
        let result = client.exchange(HttpRequest {
            method: "GET",
            url: format!("https://127.0.0.1:{port}/healthz"),
            bearer: None,
            body: Vec::new(),
        });
        let first = server.join().unwrap().expect("the client never connected");
        // A TLS handshake record (type 22), protocol version 3.x: a ClientHello.
        assert_eq!(
            first[0], 0x16,
            "the client sent {first:?}, not a TLS handshake"
        );
        assert_eq!(first[1], 0x03);
        // The listener never answers as a TLS server: the exchange fails, it is not retried in
        // plain text.
        assert!(result.is_err());
    }
}
