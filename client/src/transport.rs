//! What a device's sync needs from the relay, whatever carries the bytes.

use allervers_core::CoreError;
use allervers_protocol::{Page, PostControl, Push, Pushed, SpaceId, WipeOrder};

/// Why a request to the relay did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// No answer (no network, relay down, timeout): try again later.
    Unreachable(String),
    /// The relay answered with a refusal: its status and short reason.
    Refused { status: u16, reason: String },
    /// The relay refused a revoked device and served the wipe order a coordinator left for it
    /// (`410 Gone`); the device checks it before it obeys.
    Revoked(WipeOrder),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Unreachable(why) => write!(f, "relay unreachable: {why}"),
            TransportError::Refused { status, reason } => {
                write!(f, "relay refused ({status}): {reason}")
            }
            TransportError::Revoked(_) => write!(f, "relay refused (410): this device was revoked"),
        }
    }
}

/// What a device's sync needs from the relay. Anything that is an [`crate::Exchange`] is one (the
/// blocking [`crate::HttpClient`], or a phone shell's OkHttp or URLSession behind an adapter).
pub trait Transport {
    fn push(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        push: &Push,
    ) -> Result<Pushed, TransportError>;
    fn pull(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        after: u64,
        limit: usize,
        control_after: Option<u64>,
    ) -> Result<Page, TransportError>;
    fn post_control(
        &self,
        relay: &str,
        space: &SpaceId,
        token: &str,
        post: &PostControl,
    ) -> Result<Pushed, TransportError>;
}

impl From<TransportError> for CoreError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unreachable(why) => CoreError::RelayUnreachable(why),
            TransportError::Refused { status, reason } => {
                CoreError::RelayRefused { status, reason }
            }
            TransportError::Revoked(_) => CoreError::RelayRefused {
                status: 410,
                reason: "this device was revoked".into(),
            },
        }
    }
}
