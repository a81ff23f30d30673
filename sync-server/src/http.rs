//! The relay's HTTP surface (axum): the endpoints of the wire protocol, bearer-token
//! authentication, body limits, `/healthz` and `/metrics`. Handlers know envelopes, devices,
//! spaces, epochs and control items only; storage sits behind [`Storage`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use allervers_protocol::{
    decode, encode, parse_hex_id, ControlBody, CreateInvite, CreateLinkedSpace, CreateRecovery,
    CreateSpace, CreateSpaceInvite, Enroll, EpochStarted, PostControl, Push, Pushed, Registered,
    SpaceId, StartEpoch, WipeOrder, CONTENT_TYPE, MAX_ERASED_RECORDS,
};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::storage::{sha256, Caller, Enrolment, EpochOutcome, Storage, StorageError};

/// The most envelopes one page returns.
pub const MAX_PAGE: usize = 1_000;
/// The most envelopes one push may carry (each is one row written under the storage lock).
pub const MAX_PUSH: usize = 5_000;
/// The most items one post to a control log may carry.
pub const MAX_CONTROL_POST: usize = 1_000;
/// How long an invite may live.
const MAX_INVITE_MS: i64 = 30 * 24 * 3_600_000;

/// Shared state of the handlers.
pub struct Relay {
    pub storage: Arc<dyn Storage>,
    pub admin_token_hash: [u8; 32],
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    pushed: AtomicU64,
    pulled: AtomicU64,
}

impl Relay {
    pub fn new(storage: Arc<dyn Storage>, admin_token_hash: [u8; 32]) -> Arc<Relay> {
        Arc::new(Relay {
            storage,
            admin_token_hash,
            requests: Mutex::new(BTreeMap::new()),
            pushed: AtomicU64::new(0),
            pulled: AtomicU64::new(0),
        })
    }
}

/// An error response: a status and a short reason in the body, never a record's content; or,
/// where the protocol says so, a wire value (a revoked device's wipe order with 410, the current
/// epoch with 409).
pub enum Refused {
    Reason(StatusCode, String),
    Body(StatusCode, Vec<u8>),
}

impl Refused {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Refused::Reason(status, reason.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Reason(status, reason) => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                reason,
            )
                .into_response(),
            Refused::Body(status, bytes) => (status, body(bytes)).into_response(),
        }
    }
}

impl From<StorageError> for Refused {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(why) => Refused::new(StatusCode::CONFLICT, why),
            StorageError::NotFound(why) => Refused::new(StatusCode::NOT_FOUND, why),
            StorageError::Forbidden(why) => Refused::new(StatusCode::FORBIDDEN, why),
            StorageError::Moved => Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this relay has moved: ask your coordinator for its new address",
            ),
            StorageError::Failed(why) => {
                tracing::error!(error = %why, "storage failed");
                Refused::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage unavailable, try again",
                )
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn body(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response()
}

/// Decodes a request body, refused (400) unless it is exactly one value: bytes left after it
/// are as malformed as missing ones (the protocol's encoding is canonical, so a value encodes
/// back to as many bytes as it was read from).
fn parse<T: for<'a> Deserialize<'a> + Serialize>(bytes: &Bytes) -> Result<T, Refused> {
    let value: T = decode(bytes).map_err(|why| Refused::new(StatusCode::BAD_REQUEST, why))?;
    if encode(&value).len() != bytes.len() {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            "malformed body: bytes after the value",
        ));
    }
    Ok(value)
}

fn bearer(headers: &HeaderMap) -> Result<[u8; 32], Refused> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Refused::new(StatusCode::UNAUTHORIZED, "missing bearer token"))?;
    Ok(sha256(value.as_bytes()))
}

fn space_param(s: &str) -> Result<SpaceId, Refused> {
    parse_hex_id(s).ok_or_else(|| Refused::new(StatusCode::BAD_REQUEST, "malformed space id"))
}

/// Runs a storage call off the async executor.
async fn blocking<T: Send + 'static>(
    relay: &Arc<Relay>,
    f: impl FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, Refused> {
    let storage = relay.storage.clone();
    tokio::task::spawn_blocking(move || f(storage.as_ref()))
        .await
        .map_err(|_| Refused::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?
        .map_err(Refused::from)
}

/// The device behind a token, refused unless it is an active member of `space`. A revoked
/// device is answered `410 Gone` with its wipe order whatever it asks, or `403` when it was
/// revoked without one.
async fn member(
    relay: &Arc<Relay>,
    headers: &HeaderMap,
    space: SpaceId,
    coordinator: bool,
) -> Result<Caller, Refused> {
    let hash = bearer(headers)?;
    let caller = blocking(relay, move |s| s.caller(hash))
        .await?
        .ok_or_else(|| Refused::new(StatusCode::UNAUTHORIZED, "unknown device token"))?;
    if caller.revoked {
        if let Some(order) = caller.wipe_order {
            return Err(Refused::Body(StatusCode::GONE, order));
        }
        return Err(Refused::new(
            StatusCode::FORBIDDEN,
            "this device has been revoked",
        ));
    }
    if caller.space != space {
        return Err(Refused::new(
            StatusCode::FORBIDDEN,
            "this device does not belong to this space",
        ));
    }
    if coordinator && !caller.coordinator {
        return Err(Refused::new(
            StatusCode::FORBIDDEN,
            "only a coordinator's device may do this",
        ));
    }
    Ok(caller)
}

fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

async fn create_space(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refused> {
    let presented = bearer(&headers)?;
    if !bool::from(presented.ct_eq(&relay.admin_token_hash)) {
        return Err(Refused::new(StatusCode::UNAUTHORIZED, "wrong admin token"));
    }
    let req: CreateSpace = parse(&bytes)?;
    let token = new_token();
    let hash = sha256(token.as_bytes());
    blocking(&relay, move |s| {
        s.create_space(req.space, req.device, hash, now_ms())
    })
    .await?;
    tracing::info!(space = %hex::encode(req.space), "space created");
    Ok(registered(token))
}

/// `201 Created` with a new device's token, which the relay returns once and keeps as a hash.
fn registered(token: String) -> Response {
    (
        StatusCode::CREATED,
        body(encode(&Registered {
            device_token: token,
        })),
    )
        .into_response()
}

/// Refuses an invite's (or a space invite's) expiry unless it is in the future and at most
/// [`MAX_INVITE_MS`] ahead.
fn check_expiry(expires_at_ms: i64) -> Result<(), Refused> {
    if expires_at_ms <= now_ms() {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            "the invite expires in the past",
        ));
    }
    if expires_at_ms > now_ms() + MAX_INVITE_MS {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            "an invite lives 30 days at most",
        ));
    }
    Ok(())
}

async fn create_invite(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, Refused> {
    let space = space_param(&space)?;
    let caller = member(&relay, &headers, space, true).await?;
    let req: CreateInvite = parse(&bytes)?;
    check_expiry(req.expires_at_ms)?;
    blocking(&relay, move |s| {
        s.add_invite(space, caller.device, req.secret_hash, req.expires_at_ms)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A coordinator registers the hash of a one-time token that registers one new space, whose
/// first, coordinator device is the one that redeems it ([`create_linked_space`]).
async fn create_space_invite(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, Refused> {
    let space = space_param(&space)?;
    let caller = member(&relay, &headers, space, true).await?;
    let req: CreateSpaceInvite = parse(&bytes)?;
    check_expiry(req.expires_at_ms)?;
    blocking(&relay, move |s| {
        s.add_space_invite(space, caller.device, req.secret_hash, req.expires_at_ms)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A space code's redemption: no bearer token, the token whose hash a coordinator registered.
/// Registers the new space with the redeeming device as its coordinator, as `create_space`
/// does with the admin token; the space it was invited from is not kept.
async fn create_linked_space(
    State(relay): State<Arc<Relay>>,
    bytes: Bytes,
) -> Result<Response, Refused> {
    let req: CreateLinkedSpace = parse(&bytes)?;
    let token = new_token();
    let hash = sha256(token.as_bytes());
    // Only the hash of the redemption token is looked up; the token goes no further.
    let invite = sha256(&req.redeem);
    blocking(&relay, move |s| {
        s.create_linked_space(invite, req.space, req.device, hash, now_ms())
    })
    .await?;
    tracing::info!(space = %hex::encode(req.space), "linked space created");
    Ok(registered(token))
}

/// A coordinator sets the space's recovery token (replacing the one before): redeemed once
/// through `enroll`, it enrols a coordinator.
async fn set_recovery(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, Refused> {
    let space = space_param(&space)?;
    let caller = member(&relay, &headers, space, true).await?;
    let req: CreateRecovery = parse(&bytes)?;
    blocking(&relay, move |s| {
        s.set_recovery(space, caller.device, req.secret_hash)
    })
    .await?;
    tracing::info!(space = %hex::encode(space), "recovery token set");
    Ok(StatusCode::NO_CONTENT)
}

async fn enroll(State(relay): State<Arc<Relay>>, bytes: Bytes) -> Result<Response, Refused> {
    let req: Enroll = parse(&bytes)?;
    let token = new_token();
    let hash = sha256(token.as_bytes());
    // Only the hash of the redemption token is looked up and written (into the Enrolled item);
    // the token itself goes no further than this request.
    let enrolment = Enrolment {
        space: req.space,
        invite: sha256(&req.redeem),
        device: req.device,
        sign_key: req.sign_key,
        agree_key: req.agree_key,
        mac: req.mac,
    };
    blocking(&relay, move |s| s.enroll(&enrolment, hash, now_ms())).await?;
    tracing::info!(space = %hex::encode(req.space), "device enrolled");
    Ok(registered(token))
}

async fn devices(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    member(&relay, &headers, space, true).await?;
    let list = blocking(&relay, move |s| s.devices(space)).await?;
    Ok(body(encode(&list)))
}

/// Revokes a device; the body is empty, or the wipe order the device will be served from then
/// on (it must name this space and device; its signature is the devices' to check).
async fn revoke(
    State(relay): State<Arc<Relay>>,
    Path((space, device)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, Refused> {
    let space = space_param(&space)?;
    let device = parse_hex_id(&device)
        .ok_or_else(|| Refused::new(StatusCode::BAD_REQUEST, "malformed device id"))?;
    member(&relay, &headers, space, true).await?;
    let order: Option<WipeOrder> = if bytes.is_empty() {
        None
    } else {
        Some(parse(&bytes)?)
    };
    if order
        .as_ref()
        .is_some_and(|o| o.space != space || o.device != device)
    {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            "the wipe order names another space or device",
        ));
    }
    let with_order = order.is_some();
    blocking(&relay, move |s| {
        s.revoke(space, device, order.as_ref(), now_ms())
    })
    .await?;
    tracing::info!(space = %hex::encode(space), device = %hex::encode(device), with_order, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A coordinator makes another device of the space a coordinator too (its device holds the
/// signed grant; the relay only lets it do what coordinators do here).
async fn make_coordinator(
    State(relay): State<Arc<Relay>>,
    Path((space, device)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Refused> {
    let space = space_param(&space)?;
    let device = parse_hex_id(&device)
        .ok_or_else(|| Refused::new(StatusCode::BAD_REQUEST, "malformed device id"))?;
    member(&relay, &headers, space, true).await?;
    blocking(&relay, move |s| s.make_coordinator(space, device)).await?;
    tracing::info!(space = %hex::encode(space), device = %hex::encode(device), "coordinator added");
    Ok(StatusCode::NO_CONTENT)
}

/// Key deliveries and erasure orders from a coordinator's device into the space's control log.
/// The other kinds are the relay's own to write.
async fn post_control(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    let caller = member(&relay, &headers, space, true).await?;
    let req: PostControl = parse(&bytes)?;
    if req.items.len() > MAX_CONTROL_POST {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            format!("at most {MAX_CONTROL_POST} control items a post"),
        ));
    }
    for item in &req.items {
        // Devices check each item's signature; the relay still refuses one that claims to come
        // from another device than the one posting it.
        let from = match item {
            ControlBody::Keys { from, .. } => from,
            ControlBody::Erase { by, records, .. } => {
                if records.is_empty() || records.len() > MAX_ERASED_RECORDS {
                    return Err(Refused::new(
                        StatusCode::BAD_REQUEST,
                        format!("an erasure order lists 1 to {MAX_ERASED_RECORDS} records"),
                    ));
                }
                by
            }
            ControlBody::Enrolled { .. } | ControlBody::Epoch { .. } => {
                return Err(Refused::new(
                    StatusCode::BAD_REQUEST,
                    "only key deliveries and erasure orders may be posted: enrolments and epochs are the relay's to write",
                ))
            }
        };
        if *from != caller.device {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "a control item names another device than the one posting it",
            ));
        }
    }
    let erasures = req
        .items
        .iter()
        .filter(|item| matches!(item, ControlBody::Erase { .. }))
        .count();
    let seqs = blocking(&relay, move |s| s.post_control(space, &req.items)).await?;
    if erasures > 0 {
        tracing::info!(space = %hex::encode(space), orders = erasures, "erasure carried out");
    }
    Ok(body(encode(&Pushed { seqs })))
}

async fn get_control(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    let q = page_query(query)?;
    member(&relay, &headers, space, false).await?;
    let limit = q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let page = blocking(&relay, move |s| {
        s.control(space, q.after.unwrap_or(0), limit)
    })
    .await?;
    Ok(body(encode(&page)))
}

/// Starts the space's next epoch if it is still at the one the coordinator's device expects:
/// the relay numbers epochs one at a time, so two coordinators cannot fork them.
async fn start_epoch(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    let caller = member(&relay, &headers, space, true).await?;
    let req: StartEpoch = parse(&bytes)?;
    let outcome = blocking(&relay, move |s| {
        s.start_epoch(space, req.expected, caller.device)
    })
    .await?;
    match outcome {
        EpochOutcome::Started(epoch) => {
            tracing::info!(space = %hex::encode(space), epoch, "epoch started");
            Ok(body(encode(&EpochStarted { epoch })))
        }
        EpochOutcome::Stale(epoch) => Err(Refused::Body(
            StatusCode::CONFLICT,
            encode(&EpochStarted { epoch }),
        )),
    }
}

async fn push(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    // Which member pushed is checked, not stored.
    member(&relay, &headers, space, false).await?;
    let req: Push = parse(&bytes)?;
    if req.envelopes.len() > MAX_PUSH {
        return Err(Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_PUSH} envelopes a push"),
        ));
    }
    let count = req.envelopes.len() as u64;
    let seqs = blocking(&relay, move |s| {
        let now = now_ms();
        s.push(
            space,
            &req.envelopes,
            now,
            now.saturating_sub(req.sent_at_ms),
        )
    })
    .await?;
    relay.pushed.fetch_add(count, Ordering::Relaxed);
    Ok(body(encode(&Pushed { seqs })))
}

#[derive(Deserialize)]
struct PullQuery {
    after: Option<u64>,
    limit: Option<usize>,
    /// With a pull of envelopes: the control log's items after this too.
    control_after: Option<u64>,
}

fn page_query(
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<PullQuery, Refused> {
    query.map(|Query(q)| q).map_err(|_| {
        Refused::new(
            StatusCode::BAD_REQUEST,
            "after and limit must be whole numbers",
        )
    })
}

async fn pull(
    State(relay): State<Arc<Relay>>,
    Path(space): Path<String>,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let space = space_param(&space)?;
    let q = page_query(query)?;
    member(&relay, &headers, space, false).await?;
    let limit = q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let control_after = q.control_after;
    let page = blocking(&relay, move |s| {
        let mut page = s.pull(space, q.after.unwrap_or(0), limit)?;
        if let Some(after) = control_after {
            page.control = Some(s.control(space, after, MAX_PAGE)?);
        }
        Ok(page)
    })
    .await?;
    relay
        .pulled
        .fetch_add(page.envelopes.len() as u64, Ordering::Relaxed);
    Ok(body(encode(&page)))
}

/// 200 "ok" while the database answers, 503 with the reason while it does not (a load balancer
/// takes the instance out of its rotation meanwhile).
async fn healthz(State(relay): State<Arc<Relay>>) -> Result<&'static str, Refused> {
    blocking(&relay, |s| s.check())
        .await
        .map_err(|_| Refused::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable"))?;
    Ok("ok\n")
}

async fn metrics(State(relay): State<Arc<Relay>>) -> Result<Response, Refused> {
    let totals = blocking(&relay, |s| s.totals()).await?;
    let mut out = String::new();
    out.push_str("# HELP allervers_relay_requests_total HTTP requests by route and status.\n");
    out.push_str("# TYPE allervers_relay_requests_total counter\n");
    for ((route, status), n) in relay
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        out.push_str(&format!(
            "allervers_relay_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
        ));
    }
    let gauges = [
        (
            "allervers_relay_envelopes_pushed_total",
            "counter",
            "Envelopes received since start (including repeats).",
            relay.pushed.load(Ordering::Relaxed),
        ),
        (
            "allervers_relay_envelopes_pulled_total",
            "counter",
            "Envelopes served since start.",
            relay.pulled.load(Ordering::Relaxed),
        ),
        (
            "allervers_relay_envelopes_stored",
            "gauge",
            "Envelopes stored.",
            totals.envelopes,
        ),
        (
            "allervers_relay_envelope_bytes_stored",
            "gauge",
            "Sealed bytes stored.",
            totals.envelope_bytes,
        ),
        (
            "allervers_relay_spaces",
            "gauge",
            "Spaces registered.",
            totals.spaces,
        ),
        (
            "allervers_relay_active_devices",
            "gauge",
            "Enrolled devices not revoked.",
            totals.active_devices,
        ),
    ];
    for (name, kind, help, value) in gauges {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

async fn count_requests(State(relay): State<Arc<Relay>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let key = (route, response.status().as_u16());
    *relay
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default() += 1;
    response
}

/// The relay's router. `max_body` bounds every request body (413 beyond it).
pub fn router(relay: Arc<Relay>, max_body: usize) -> Router {
    Router::new()
        .route("/v1/spaces", post(create_space))
        .route("/v1/spaces/{space}/invites", post(create_invite))
        .route("/v1/spaces/{space}/recovery", post(set_recovery))
        .route(
            "/v1/spaces/{space}/space-invites",
            post(create_space_invite),
        )
        .route("/v1/linked-spaces", post(create_linked_space))
        .route("/v1/enroll", post(enroll))
        .route("/v1/spaces/{space}/devices", get(devices))
        .route("/v1/spaces/{space}/devices/{device}/revoke", post(revoke))
        .route(
            "/v1/spaces/{space}/devices/{device}/coordinator",
            post(make_coordinator),
        )
        .route("/v1/spaces/{space}/envelopes", post(push).get(pull))
        .route(
            "/v1/spaces/{space}/control",
            post(post_control).get(get_control),
        )
        .route("/v1/spaces/{space}/epochs", post(start_epoch))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body))
        .route_layer(middleware::from_fn_with_state(
            relay.clone(),
            count_requests,
        ))
        .with_state(relay)
}
