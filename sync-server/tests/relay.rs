//! The relay as a real process on a loopback port, driven over HTTP: spaces, enrolment,
//! idempotent pushes, paging, refusals, revocation and wipe orders, the control log, epochs,
//! spaces registered by a coordinator's space code, durability across SIGKILL, migrations and
//! shutdown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use allervers_protocol::{
    decode, encode, hex_id, BlindedRecord, ControlBody, ControlPage, CreateInvite,
    CreateLinkedSpace, CreateRecovery, CreateSpace, CreateSpaceInvite, DeviceEntry, Enroll,
    Envelope, EpochStarted, Page, PostControl, Push, Pushed, Registered, StartEpoch, WipeOrder,
    CONTENT_TYPE,
};

const ADMIN: &str = "relay-admin-token-for-tests";

struct Relay {
    child: Child,
    url: String,
}

impl Relay {
    fn start(data: &Path) -> Relay {
        Self::start_with(data, &[])
    }

    fn start_with(data: &Path, extra: &[&str]) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_allervers-relay"))
            .args(["--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(["--admin-token", ADMIN])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start relay");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .to_string();
        Relay { child, url }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build(),
    )
}

/// (status, body)
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
    let (status, _, body) = call_typed(method, url, token, body);
    (status, body)
}

/// (status, content type, body)
fn call_typed(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, String, Vec<u8>) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match method {
        "GET" => {
            let mut req = agent.get(url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call().unwrap()
        }
        _ => {
            let mut req = agent.post(url).content_type(CONTENT_TYPE);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.send(body.unwrap_or_default()).unwrap()
        }
    };
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (
        status,
        content_type,
        response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap(),
    )
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

fn create_space(relay: &Relay, space: [u8; 16], device: [u8; 16]) -> String {
    let (status, body) = call(
        "POST",
        &format!("{}/v1/spaces", relay.url),
        Some(ADMIN),
        Some(encode(&CreateSpace { space, device })),
    );
    assert_eq!(status, 201, "{}", text(&body));
    decode::<Registered>(&body).unwrap().device_token
}

/// An enrolment redeeming an invite; the relay checks neither the keys nor the mac, so any bytes
/// do (these differ per device).
fn enrolment(space: [u8; 16], redeem: [u8; 32], device: [u8; 16]) -> Enroll {
    Enroll {
        space,
        redeem,
        device,
        sign_key: [device[0] ^ 0x51; 32],
        agree_key: [device[0] ^ 0xa5; 32],
        mac: [device[0] ^ 0x3c; 32],
    }
}

fn envelope(i: u8, size: usize) -> Envelope {
    Envelope {
        record: [i; 16],
        epoch: 0,
        nonce: [i; 24],
        sealed: vec![i; size],
        key: i.is_multiple_of(2).then(|| vec![i; 72]),
    }
}

fn push(relay: &Relay, space: [u8; 16], token: &str, envelopes: Vec<Envelope>) -> (u16, Vec<u8>) {
    call(
        "POST",
        &format!("{}/v1/spaces/{}/envelopes", relay.url, hex_id(&space)),
        Some(token),
        Some(encode(&Push {
            envelopes,
            sent_at_ms: 0,
        })),
    )
}

fn pull(relay: &Relay, space: [u8; 16], token: &str, after: u64, limit: usize) -> Page {
    let (status, body) = call(
        "GET",
        &format!(
            "{}/v1/spaces/{}/envelopes?after={after}&limit={limit}",
            relay.url,
            hex_id(&space)
        ),
        Some(token),
        None,
    );
    assert_eq!(status, 200, "{}", text(&body));
    decode(&body).unwrap()
}

#[test]
fn pushes_are_idempotent_and_pages_follow_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let (status, body) = call("GET", &format!("{}/healthz", relay.url), None, None);
    assert_eq!((status, text(&body).trim()), (200, "ok"));
    let space = [1u8; 16];
    let token = create_space(&relay, space, [9; 16]);

    let (status, body) = push(
        &relay,
        space,
        &token,
        (0..5).map(|i| envelope(i, 100)).collect(),
    );
    assert_eq!(status, 200, "{}", text(&body));
    let first: Pushed = decode(&body).unwrap();
    assert_eq!(first.seqs.len(), 5);
    // The same envelopes again (a retry after a lost answer), with one new: stored once.
    let (_, body) = push(
        &relay,
        space,
        &token,
        (0..6).map(|i| envelope(i, 100)).collect(),
    );
    let again: Pushed = decode(&body).unwrap();
    assert_eq!(&again.seqs[..5], &first.seqs[..]);
    assert!(again.seqs[5] > first.seqs[4]);

    let page = pull(&relay, space, &token, 0, 4);
    assert_eq!(page.envelopes.len(), 4);
    assert!(page.more);
    assert_eq!(page.next, page.envelopes[3].seq);
    let rest = pull(&relay, space, &token, page.next, 4);
    assert_eq!(rest.envelopes.len(), 2);
    assert!(!rest.more);
    assert_eq!(rest.envelopes[1].envelope, envelope(5, 100));
    let none = pull(&relay, space, &token, rest.next, 4);
    assert!(none.envelopes.is_empty() && !none.more && none.next == rest.next);

    let (status, body) = call("GET", &format!("{}/metrics", relay.url), None, None);
    assert_eq!(status, 200);
    let metrics = text(&body);
    assert!(
        metrics.contains("allervers_relay_envelopes_stored 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("allervers_relay_active_devices 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"/v1/spaces/{space}/envelopes\",status=\"200\""),
        "{metrics}"
    );
}

#[test]
fn bad_requests_are_refused_with_a_reason_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start_with(dir.path(), &["--max-body", "4096"]);
    let space = [2u8; 16];
    let (status, body) = call(
        "POST",
        &format!("{}/v1/spaces", relay.url),
        Some("not-the-admin-token"),
        Some(encode(&CreateSpace {
            space,
            device: [1; 16],
        })),
    );
    assert_eq!(status, 401, "{}", text(&body));
    assert!(text(&body).contains("admin token"));
    let token = create_space(&relay, space, [1; 16]);
    assert_eq!(
        call(
            "POST",
            &format!("{}/v1/spaces", relay.url),
            Some(ADMIN),
            Some(encode(&CreateSpace {
                space,
                device: [1; 16]
            }))
        )
        .0,
        409
    );

    let url = format!("{}/v1/spaces/{}/envelopes", relay.url, hex_id(&space));
    let cases: Vec<(&str, Option<&str>, Vec<u8>, u16)> = vec![
        (
            "no token",
            None,
            encode(&Push {
                envelopes: vec![envelope(1, 10)],
                sent_at_ms: 0,
            }),
            401,
        ),
        (
            "unknown token",
            Some("abcdef"),
            encode(&Push {
                envelopes: vec![envelope(1, 10)],
                sent_at_ms: 0,
            }),
            401,
        ),
        (
            "malformed body",
            Some(&token),
            b"\xff\xfe not postcard".to_vec(),
            400,
        ),
        (
            "oversize body",
            Some(&token),
            encode(&Push {
                envelopes: vec![envelope(1, 8000)],
                sent_at_ms: 0,
            }),
            413,
        ),
    ];
    for (what, tok, body, expected) in cases {
        let (status, reply) = call("POST", &url, tok, Some(body));
        assert_eq!(status, expected, "{what}: {}", text(&reply));
        assert!(
            !reply.is_empty() && reply.len() < 200,
            "{what}: a short reason: {}",
            text(&reply)
        );
    }
    // A device of another space is refused here.
    let other_space = [3u8; 16];
    let other = create_space(&relay, other_space, [4; 16]);
    assert_eq!(push(&relay, space, &other, vec![envelope(1, 10)]).0, 403);
    assert_eq!(
        call(
            "GET",
            &format!("{}/v1/spaces/zz/envelopes", relay.url),
            Some(&token),
            None
        )
        .0,
        400
    );
    assert_eq!(
        call("GET", &format!("{url}?after=minus-one"), Some(&token), None).0,
        400
    );
    assert!(
        pull(&relay, space, &token, 0, 10).envelopes.is_empty(),
        "nothing was stored"
    );
}

#[test]
fn invites_enrol_once_and_revoked_devices_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = [5u8; 16];
    let coordinator = create_space(&relay, space, [1; 16]);
    let secret = [42u8; 32];
    let invite = CreateInvite {
        secret_hash: allervers_relay::storage::sha256(&secret),
        expires_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 86_400_000,
    };
    let invites = format!("{}/v1/spaces/{}/invites", relay.url, hex_id(&space));
    assert_eq!(
        call("POST", &invites, Some(&coordinator), Some(encode(&invite))).0,
        204
    );

    let enroll = |device: [u8; 16], secret: [u8; 32]| {
        call(
            "POST",
            &format!("{}/v1/enroll", relay.url),
            None,
            Some(encode(&enrolment(space, secret, device))),
        )
    };
    assert_eq!(
        enroll([2; 16], [0; 32]).0,
        404,
        "a wrong secret enrols nobody"
    );
    let (status, body) = enroll([2; 16], secret);
    assert_eq!(status, 201, "{}", text(&body));
    let member = decode::<Registered>(&body).unwrap().device_token;
    let (status, body) = enroll([3; 16], secret);
    assert_eq!(status, 404, "an invite is used once: {}", text(&body));

    // A member cannot invite or list devices; a coordinator can.
    assert_eq!(
        call("POST", &invites, Some(&member), Some(encode(&invite))).0,
        403
    );
    let devices_url = format!("{}/v1/spaces/{}/devices", relay.url, hex_id(&space));
    assert_eq!(call("GET", &devices_url, Some(&member), None).0, 403);
    let (status, body) = call("GET", &devices_url, Some(&coordinator), None);
    assert_eq!(status, 200);
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices[0].coordinator && !devices[1].coordinator);

    assert_eq!(push(&relay, space, &member, vec![envelope(7, 50)]).0, 200);
    let revoke = format!(
        "{}/v1/spaces/{}/devices/{}/revoke",
        relay.url,
        hex_id(&space),
        hex_id(&[2; 16])
    );
    assert_eq!(call("POST", &revoke, Some(&member), None).0, 403);
    assert_eq!(call("POST", &revoke, Some(&coordinator), None).0, 204);
    let (status, body) = push(&relay, space, &member, vec![envelope(8, 50)]);
    assert_eq!(status, 403);
    assert!(text(&body).contains("revoked"), "{}", text(&body));
    let (status, _) = call(
        "GET",
        &format!("{}/v1/spaces/{}/envelopes", relay.url, hex_id(&space)),
        Some(&member),
        None,
    );
    assert_eq!(status, 403);
}

#[test]
fn a_recovery_token_enrols_a_coordinator_once_is_replaced_by_the_next_and_dies_with_its_setter() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = [6u8; 16];
    let coordinator = create_space(&relay, space, [1; 16]);
    let url = format!("{}/v1/spaces/{}/recovery", relay.url, hex_id(&space));
    let set = |token: &str, redeem: [u8; 32]| {
        let body = CreateRecovery {
            secret_hash: allervers_relay::storage::sha256(&redeem),
        };
        call("POST", &url, Some(token), Some(encode(&body))).0
    };
    let enroll = |device: [u8; 16], redeem: [u8; 32]| {
        call(
            "POST",
            &format!("{}/v1/enroll", relay.url),
            None,
            Some(encode(&enrolment(space, redeem, device))),
        )
    };
    let devices = |token: &str| -> Vec<DeviceEntry> {
        let (status, body) = call(
            "GET",
            &format!("{}/v1/spaces/{}/devices", relay.url, hex_id(&space)),
            Some(token),
            None,
        );
        assert_eq!(status, 200, "{}", text(&body));
        decode(&body).unwrap()
    };
    // Set, then replaced: the first token enrols nobody any more.
    assert_eq!(set(&coordinator, [10; 32]), 204);
    assert_eq!(set(&coordinator, [11; 32]), 204);
    assert_eq!(enroll([2; 16], [10; 32]).0, 404);
    let (status, body) = enroll([2; 16], [11; 32]);
    assert_eq!(status, 201, "{}", text(&body));
    let recovered = decode::<Registered>(&body).unwrap().device_token;
    assert_eq!(enroll([3; 16], [11; 32]).0, 404, "used once");
    // Its device is a coordinator: it lists devices and sets the next token.
    let list = devices(&recovered);
    assert!(list.iter().all(|d| d.coordinator), "{list:?}");
    assert_eq!(set(&recovered, [12; 32]), 204);
    // A member cannot set one; a token set by a coordinator revoked since enrols nobody.
    let invite = CreateInvite {
        secret_hash: allervers_relay::storage::sha256(&[13; 32]),
        expires_at_ms: now_ms() + 86_400_000,
    };
    let invites = format!("{}/v1/spaces/{}/invites", relay.url, hex_id(&space));
    assert_eq!(
        call("POST", &invites, Some(&coordinator), Some(encode(&invite))).0,
        204
    );
    let (_, body) = enroll([4; 16], [13; 32]);
    let member = decode::<Registered>(&body).unwrap().device_token;
    assert_eq!(set(&member, [14; 32]), 403);
    let revoke = format!(
        "{}/v1/spaces/{}/devices/{}/revoke",
        relay.url,
        hex_id(&space),
        hex_id(&[2; 16])
    );
    assert_eq!(call("POST", &revoke, Some(&coordinator), None).0, 204);
    assert_eq!(enroll([5; 16], [12; 32]).0, 404);
}

#[test]
fn every_acknowledged_envelope_survives_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = [6u8; 16];
    let token = create_space(&relay, space, [1; 16]);
    let mut acknowledged = Vec::new();
    for batch in 0..20u8 {
        let (status, body) = push(
            &relay,
            space,
            &token,
            (0..10)
                .map(|i| envelope(batch.wrapping_mul(10).wrapping_add(i), 300))
                .collect(),
        );
        assert_eq!(status, 200);
        acknowledged.extend(decode::<Pushed>(&body).unwrap().seqs);
    }
    relay.kill();
    let relay = Relay::start(dir.path());
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = pull(&relay, space, &token, after, 64);
        seen.extend(page.envelopes.iter().map(|e| e.seq));
        after = page.next;
        if !page.more {
            break;
        }
    }
    assert_eq!(
        seen, acknowledged,
        "every acknowledged envelope, once, in order"
    );
}

#[test]
fn sigterm_stops_the_relay_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(dir.path());
    let pid = relay.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut waited = 0;
    let status = loop {
        if let Some(status) = relay.child.try_wait().unwrap() {
            break status;
        }
        assert!(waited < 100, "the relay did not stop within 10 s");
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_relay_started_without_a_token_generates_one_and_prints_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |dir: &Path| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_allervers-relay"))
            .args(["--addr", "127.0.0.1:0", "--data"])
            .arg(dir)
            .env_remove("ALLERVERS_RELAY_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        first
    };
    let first = run(dir.path());
    let token = first
        .trim()
        .strip_prefix("admin token (shown once, keep it): ")
        .expect(&first)
        .to_string();
    assert_eq!(token.len(), 64);
    let second = run(dir.path());
    assert!(
        second.starts_with("listening on "),
        "not printed again: {second}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn invites_are_short_lived_and_die_with_a_revoked_inviter() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = [8u8; 16];
    let coordinator = create_space(&relay, space, [1; 16]);
    let invites = format!("{}/v1/spaces/{}/invites", relay.url, hex_id(&space));
    let secret = [3u8; 32];
    let hash = allervers_relay::storage::sha256(&secret);
    let too_long = CreateInvite {
        secret_hash: hash,
        expires_at_ms: now_ms() + 400 * 86_400_000,
    };
    assert_eq!(
        call(
            "POST",
            &invites,
            Some(&coordinator),
            Some(encode(&too_long))
        )
        .0,
        400
    );
    let ok = CreateInvite {
        secret_hash: hash,
        expires_at_ms: now_ms() + 86_400_000,
    };
    assert_eq!(
        call("POST", &invites, Some(&coordinator), Some(encode(&ok))).0,
        204
    );
    // The inviting phone is lost and revoked: its pending invite no longer enrols anyone.
    let revoke = format!(
        "{}/v1/spaces/{}/devices/{}/revoke",
        relay.url,
        hex_id(&space),
        hex_id(&[1; 16])
    );
    assert_eq!(call("POST", &revoke, Some(&coordinator), None).0, 204);
    let (status, body) = call(
        "POST",
        &format!("{}/v1/enroll", relay.url),
        None,
        Some(encode(&enrolment(space, secret, [2; 16]))),
    );
    assert_eq!(status, 404, "{}", text(&body));
}

/// A team's coordinator opens a space for someone else (a health professional's device) without
/// the admin token: the code's token registers one new space, once, with the redeeming device as
/// its coordinator, and the relay keeps no link between the two spaces once it is used.
#[test]
fn a_coordinators_space_code_registers_one_new_space_once_and_leaves_no_link_to_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let team = [0x61u8; 16];
    let coordinator = create_space(&relay, team, [1; 16]);
    let secret = [0x51u8; 32];
    let invite = CreateInvite {
        secret_hash: allervers_relay::storage::sha256(&secret),
        expires_at_ms: now_ms() + 86_400_000,
    };
    let invites = format!("{}/v1/spaces/{}/invites", relay.url, hex_id(&team));
    assert_eq!(
        call("POST", &invites, Some(&coordinator), Some(encode(&invite))).0,
        204
    );
    let (status, body) = call(
        "POST",
        &format!("{}/v1/enroll", relay.url),
        None,
        Some(encode(&enrolment(team, secret, [2; 16]))),
    );
    assert_eq!(status, 201, "{}", text(&body));
    let worker = decode::<Registered>(&body).unwrap().device_token;

    // Bytes that appear nowhere but in the redemption request.
    let redeem: [u8; 32] = *b"space-code-token-only-in-request";
    let hash = allervers_relay::storage::sha256(&redeem);
    let code = |expires_at_ms: i64| {
        Some(encode(&CreateSpaceInvite {
            secret_hash: hash,
            expires_at_ms,
        }))
    };
    let space_invites = format!("{}/v1/spaces/{}/space-invites", relay.url, hex_id(&team));
    let in_a_day = now_ms() + 86_400_000;
    assert_eq!(call("POST", &space_invites, None, code(in_a_day)).0, 401);
    let (status, body) = call("POST", &space_invites, Some(&worker), code(in_a_day));
    assert_eq!(status, 403, "a worker opens no space: {}", text(&body));
    for refused in [now_ms() - 1_000, now_ms() + 31 * 86_400_000] {
        assert_eq!(
            call("POST", &space_invites, Some(&coordinator), code(refused)).0,
            400
        );
    }
    assert_eq!(
        call("POST", &space_invites, Some(&coordinator), code(in_a_day)).0,
        204
    );

    let linked = |redeem: [u8; 32], space: [u8; 16], device: [u8; 16]| {
        call(
            "POST",
            &format!("{}/v1/linked-spaces", relay.url),
            None,
            Some(encode(&CreateLinkedSpace {
                redeem,
                space,
                device,
            })),
        )
    };
    let (health, nurse) = ([0x62u8; 16], [3u8; 16]);
    let (status, body) = linked([0; 32], health, nurse);
    assert_eq!(
        (status, text(&body).as_str()),
        (403, "unknown, used or expired space code")
    );
    // A space id the relay has already: refused, and the code is not used up.
    let (status, body) = linked(redeem, team, nurse);
    assert_eq!(status, 409, "{}", text(&body));
    let (status, body) = linked(redeem, health, nurse);
    assert_eq!(status, 201, "{}", text(&body));
    let founder = decode::<Registered>(&body).unwrap().device_token;

    // The new token is the new space's coordinator's: it syncs and lists the devices there.
    assert_eq!(push(&relay, health, &founder, vec![envelope(9, 64)]).0, 200);
    let page = pull(&relay, health, &founder, 0, 10);
    assert_eq!(page.envelopes.len(), 1);
    assert_eq!(page.envelopes[0].envelope, envelope(9, 64));
    let devices_url =
        |space: &[u8; 16]| format!("{}/v1/spaces/{}/devices", relay.url, hex_id(space));
    let (status, body) = call("GET", &devices_url(&health), Some(&founder), None);
    assert_eq!(status, 200, "{}", text(&body));
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert_eq!(devices.len(), 1);
    assert!(devices[0].device == nurse && devices[0].coordinator);
    // Nothing of the team's space: its devices, its envelopes.
    assert_eq!(
        call("GET", &devices_url(&team), Some(&founder), None).0,
        403
    );
    assert_eq!(push(&relay, team, &founder, vec![envelope(10, 64)]).0, 403);
    let (status, body) = call("GET", &devices_url(&team), Some(&coordinator), None);
    assert_eq!(status, 200);
    assert_eq!(decode::<Vec<DeviceEntry>>(&body).unwrap().len(), 2);
    // Once.
    let (status, body) = linked(redeem, [0x63; 16], [4; 16]);
    assert_eq!(
        (status, text(&body).as_str()),
        (403, "unknown, used or expired space code")
    );
    // A body that is not one `CreateLinkedSpace` registers nothing.
    let mut long = encode(&CreateLinkedSpace {
        redeem,
        space: [0x64; 16],
        device: [5; 16],
    });
    long.push(0);
    assert_eq!(
        call(
            "POST",
            &format!("{}/v1/linked-spaces", relay.url),
            None,
            Some(long)
        )
        .0,
        400
    );
    // The admin token's route still registers spaces.
    create_space(&relay, [0x65; 16], [6; 16]);

    // No row keeps the code once used: not its token, nor its hash, which tied the new space to
    // the team's.
    relay.kill();
    let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
    assert_eq!(integers(&db, "SELECT count(*) FROM space_invites"), [0]);
    assert_eq!(integers(&db, "SELECT count(*) FROM spaces"), [3]);
    for table in tables(&db) {
        for (column, bytes) in column_bytes(&db, &table) {
            assert!(!holds(&bytes, &redeem), "{table}.{column} holds the token");
            assert!(!holds(&bytes, &hash), "{table}.{column} holds its hash");
        }
    }
    drop(db);
    for file in ["relay.db", "relay.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(!holds(&bytes, &redeem), "{file} holds the token");
        }
    }
}

/// Every value of every column of `table`, as the bytes SQLite holds (blobs and text).
fn column_bytes(db: &rusqlite::Connection, table: &str) -> Vec<(String, Vec<u8>)> {
    let columns: Vec<String> = db
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for column in columns {
        let mut stmt = db
            .prepare(&format!("SELECT \"{column}\" FROM {table}"))
            .unwrap();
        let values = stmt
            .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
            .unwrap();
        for value in values {
            let bytes = match value.unwrap() {
                rusqlite::types::Value::Blob(b) => b,
                rusqlite::types::Value::Text(t) => t.into_bytes(),
                rusqlite::types::Value::Integer(i) => i.to_le_bytes().to_vec(),
                rusqlite::types::Value::Real(f) => f.to_le_bytes().to_vec(),
                rusqlite::types::Value::Null => Vec::new(),
            };
            out.push((column.clone(), bytes));
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn integers(db: &rusqlite::Connection, sql: &str) -> Vec<i64> {
    db.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn columns(db: &rusqlite::Connection, table: &str) -> Vec<String> {
    db.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_relay_stores_no_device_id_beside_an_envelope_and_times_to_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = [10u8; 16];
    let coordinator_id: [u8; 16] = *b"coordinator-dev1";
    let member_id: [u8; 16] = *b"member-device-02";
    let coordinator = create_space(&relay, space, coordinator_id);
    let secret = [11u8; 32];
    let invite = CreateInvite {
        secret_hash: allervers_relay::storage::sha256(&secret),
        expires_at_ms: now_ms() + 86_400_000,
    };
    let invites = format!("{}/v1/spaces/{}/invites", relay.url, hex_id(&space));
    assert_eq!(
        call("POST", &invites, Some(&coordinator), Some(encode(&invite))).0,
        204
    );
    let (status, body) = call(
        "POST",
        &format!("{}/v1/enroll", relay.url),
        None,
        Some(encode(&enrolment(space, secret, member_id))),
    );
    assert_eq!(status, 201, "{}", text(&body));
    let member = decode::<Registered>(&body).unwrap().device_token;

    // Both devices push, their clocks 1.234 s behind the relay's.
    let envelopes_url = format!("{}/v1/spaces/{}/envelopes", relay.url, hex_id(&space));
    for (token, first) in [(&coordinator, 0u8), (&member, 10)] {
        let (status, body) = call(
            "POST",
            &envelopes_url,
            Some(token),
            Some(encode(&Push {
                envelopes: (first..first + 3).map(|i| envelope(i, 200)).collect(),
                sent_at_ms: now_ms() - 1_234,
            })),
        );
        assert_eq!(status, 200, "{}", text(&body));
    }
    let revoke = format!(
        "{}/v1/spaces/{}/devices/{}/revoke",
        relay.url,
        hex_id(&space),
        hex_id(&member_id)
    );
    assert_eq!(call("POST", &revoke, Some(&coordinator), None).0, 204);

    // What it serves: whole seconds.
    let page = pull(&relay, space, &coordinator, 0, 100);
    assert_eq!(page.envelopes.len(), 6);
    for stored in &page.envelopes {
        assert_eq!(stored.received_at_ms % 1000, 0, "{stored:?}");
        assert!(
            [1000, 2000].contains(&stored.clock_offset_ms),
            "1.234 s, rounded: {stored:?}"
        );
    }
    let (status, body) = call(
        "GET",
        &format!("{}/v1/spaces/{}/devices", relay.url, hex_id(&space)),
        Some(&coordinator),
        None,
    );
    assert_eq!(status, 200);
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d.enrolled_at_ms % 1000 == 0));
    assert_eq!(devices[1].device, member_id);
    assert_eq!(devices[1].revoked_at_ms.map(|t| t % 1000), Some(0));

    // What it keeps: no column of the envelopes table holds either device's id, and its times
    // are seconds (a time in milliseconds would be a thousand times larger).
    let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
    let cells = column_bytes(&db, "envelopes");
    assert!(cells.len() >= 6 * 9, "{} cells", cells.len());
    for (column, bytes) in &cells {
        for id in [coordinator_id, member_id] {
            assert!(!holds(bytes, &id), "envelopes.{column} holds a device id");
        }
    }
    let now_s = now_ms() / 1000;
    let times = integers(&db, "SELECT received_at FROM envelopes");
    assert_eq!(times.len(), 6);
    assert!(
        times.iter().all(|t| (now_s - 120..=now_s).contains(t)),
        "{times:?} against {now_s}"
    );
    assert!(integers(&db, "SELECT clock_offset FROM envelopes")
        .iter()
        .all(|o| [1, 2].contains(o)));
    let enrolment = integers(
        &db,
        "SELECT enrolled_at FROM devices UNION ALL SELECT revoked_at FROM devices WHERE revoked_at IS NOT NULL
         UNION ALL SELECT created_at FROM spaces",
    );
    assert_eq!(enrolment.len(), 4);
    assert!(
        enrolment.iter().all(|t| (now_s - 120..=now_s).contains(t)),
        "{enrolment:?} against {now_s}"
    );
    // The used invite is gone: the member's enrolment says when it was used.
    assert_eq!(integers(&db, "SELECT count(*) FROM invites"), [0]);
    assert_eq!(
        integers(&db, "PRAGMA user_version"),
        [allervers_relay::storage::SCHEMA_VERSION as i64]
    );
}

#[test]
fn clock_offsets_round_to_the_nearest_second_and_times_to_the_second_below() {
    use allervers_relay::storage::{rounded_seconds, whole_seconds};
    let cases = [
        (0, 0),
        (499, 0),
        (500, 1),
        (1_234, 1),
        (-499, 0),
        (-500, -1),
        (-1_500, -2),
        (3 * 3_600_000 + 700, 3 * 3_600 + 1),
        (i64::MAX, i64::MAX / 1000 + 1),
        (i64::MIN, i64::MIN / 1000 - 1),
    ];
    for (ms, s) in cases {
        assert_eq!(rounded_seconds(ms), s, "offset {ms} ms");
    }
    assert_eq!(whole_seconds(1_772_441_000_999), 1_772_441_000);
    assert_eq!(whole_seconds(1_772_441_000_000), 1_772_441_000);
}

/// The relay's schema before it was versioned (user_version 0), as its files still are.
const OLD_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spaces (space BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    space BLOB NOT NULL,
    device BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    coordinator INTEGER NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (space, device)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS invites (
    secret_hash BLOB PRIMARY KEY,
    space BLOB NOT NULL,
    created_by BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    space BLOB NOT NULL,
    digest BLOB NOT NULL,
    record BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    sealed BLOB NOT NULL,
    wrapped_key BLOB,
    device BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    clock_offset INTEGER NOT NULL DEFAULT 0,
    UNIQUE (space, digest)
);
CREATE INDEX IF NOT EXISTS envelopes_by_space ON envelopes (space, seq);
"#;

#[test]
fn a_relay_file_of_the_old_schema_is_migrated_when_the_relay_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let space = [12u8; 16];
    let other_space = [13u8; 16];
    let coordinator_id: [u8; 16] = *b"old-coordinator1";
    let revoked_id: [u8; 16] = *b"old-lost-phone-2";
    // A pusher that appears nowhere else in the file: finding its bytes anywhere after the
    // migration would mean the dropped column left them behind.
    let marker: [u8; 16] = *b"only-in-envelope";
    let token = "old-coordinator-token-0123456789";
    let hash = allervers_relay::storage::sha256;
    let future = now_ms() + 86_400_000;
    let (used_secret, pending_secret) = ([20u8; 32], [21u8; 32]);
    // (seq, space, envelope, pusher, received_at ms, clock_offset ms)
    let rows = [
        (
            3i64,
            space,
            envelope(1, 120),
            coordinator_id,
            1_772_441_000_999i64,
            -1_499i64,
        ),
        (
            5,
            other_space,
            envelope(2, 80),
            revoked_id,
            1_772_441_001_000,
            0,
        ),
        // Larger than a page: the columns after `sealed` sit on overflow pages.
        (
            7,
            space,
            envelope(3, 9_000),
            marker,
            1_772_441_002_500,
            2_500,
        ),
        (
            8,
            space,
            envelope(4, 60),
            revoked_id,
            1_772_441_003_001,
            10_800_400,
        ),
    ];
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        db.execute_batch(OLD_SCHEMA).unwrap();
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('admin_token_hash', ?1)",
            [hash(ADMIN.as_bytes()).as_slice()],
        )
        .unwrap();
        for s in [space, other_space] {
            db.execute(
                "INSERT INTO spaces (space, created_at) VALUES (?1, 1772440000123)",
                [s],
            )
            .unwrap();
        }
        db.execute(
            "INSERT INTO devices VALUES (?1, ?2, ?3, 1, 1772440000456, NULL)",
            rusqlite::params![space, coordinator_id, hash(token.as_bytes())],
        )
        .unwrap();
        db.execute(
            "INSERT INTO devices VALUES (?1, ?2, ?3, 0, 1772440500789, 1772442000999)",
            rusqlite::params![space, revoked_id, hash(b"the lost phone's token")],
        )
        .unwrap();
        db.execute(
            "INSERT INTO invites VALUES (?1, ?2, ?3, ?4, 1772440500789)",
            rusqlite::params![hash(&used_secret), space, coordinator_id, future],
        )
        .unwrap();
        db.execute(
            "INSERT INTO invites VALUES (?1, ?2, ?3, ?4, NULL)",
            rusqlite::params![hash(&pending_secret), space, coordinator_id, future],
        )
        .unwrap();
        for (seq, s, e, device, at, offset) in &rows {
            db.execute(
                "INSERT INTO envelopes (seq, space, digest, record, epoch, nonce, sealed, wrapped_key, device, received_at, clock_offset)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![seq, s, hash(&e.sealed), e.record, e.epoch, e.nonce, e.sealed, e.key, device, at, offset],
            )
            .unwrap();
        }
    }
    assert!(holds(&std::fs::read(&path).unwrap(), &marker));

    let relay = Relay::start(dir.path());
    let page = pull(&relay, space, token, 0, 100);
    let served: Vec<(u64, Envelope, i64, i64)> = page
        .envelopes
        .into_iter()
        .map(|s| (s.seq, s.envelope, s.received_at_ms, s.clock_offset_ms))
        .collect();
    assert_eq!(
        served,
        vec![
            (3, envelope(1, 120), 1_772_441_000_000, -1_000),
            (7, envelope(3, 9_000), 1_772_441_002_000, 3_000),
            (8, envelope(4, 60), 1_772_441_003_000, 10_800_000),
        ],
        "every envelope, with its sequence number, times to the second"
    );
    // The log goes on after the last sequence number it ever gave, and a repeat is still
    // recognised by its digest.
    let (status, body) = push(
        &relay,
        space,
        token,
        vec![envelope(3, 9_000), envelope(9, 40)],
    );
    assert_eq!(status, 200, "{}", text(&body));
    let seqs = decode::<Pushed>(&body).unwrap().seqs;
    assert_eq!(seqs[0], 7);
    assert!(seqs[1] > 8, "{seqs:?}");
    let (status, body) = call(
        "GET",
        &format!("{}/v1/spaces/{}/devices", relay.url, hex_id(&space)),
        Some(token),
        None,
    );
    assert_eq!(status, 200);
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert_eq!(
        devices,
        vec![
            DeviceEntry {
                device: coordinator_id,
                coordinator: true,
                enrolled_at_ms: 1_772_440_000_000,
                revoked_at_ms: None,
            },
            DeviceEntry {
                device: revoked_id,
                coordinator: false,
                enrolled_at_ms: 1_772_440_500_000,
                revoked_at_ms: Some(1_772_442_000_000),
            },
        ]
    );
    // The pending invite still enrols a device; the used one does not.
    let enroll = |secret: [u8; 32]| {
        call(
            "POST",
            &format!("{}/v1/enroll", relay.url),
            None,
            Some(encode(&enrolment(space, secret, [14; 16]))),
        )
    };
    assert_eq!(enroll(used_secret).0, 404);
    let (status, body) = enroll(pending_secret);
    assert_eq!(status, 201, "{}", text(&body));

    let db = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        integers(&db, "PRAGMA user_version"),
        [allervers_relay::storage::SCHEMA_VERSION as i64]
    );
    let envelope_columns = columns(&db, "envelopes");
    assert!(
        !envelope_columns.iter().any(|c| c == "device"),
        "{envelope_columns:?}"
    );
    assert!(!columns(&db, "invites").iter().any(|c| c == "used_at"));
    assert_eq!(
        integers(&db, "SELECT count(*) FROM invites"),
        [0],
        "used invites are not kept"
    );
    assert_eq!(
        integers(
            &db,
            "SELECT received_at FROM envelopes WHERE seq <= 8 ORDER BY seq"
        ),
        [1_772_441_000, 1_772_441_001, 1_772_441_002, 1_772_441_003]
    );
    assert_eq!(
        integers(
            &db,
            "SELECT clock_offset FROM envelopes WHERE seq <= 8 ORDER BY seq"
        ),
        [-1, 0, 3, 10_800]
    );
    assert_eq!(
        integers(&db, "SELECT created_at FROM spaces"),
        [1_772_440_000, 1_772_440_000]
    );
    assert_eq!(
        integers(&db, "SELECT epoch FROM spaces"),
        [0, 0],
        "existing spaces start at epoch 0"
    );
    for (column, bytes) in column_bytes(&db, "envelopes") {
        for id in [coordinator_id, revoked_id, marker] {
            assert!(!holds(&bytes, &id), "envelopes.{column} holds a device id");
        }
    }
    drop(db);
    drop(relay);
    for file in ["relay.db", "relay.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(
                !holds(&bytes, &marker),
                "{file} still holds the dropped column's bytes"
            );
        }
    }
}

// The control log, epochs and wipe orders.

/// A space with its coordinator's token, on a running relay.
struct Space<'a> {
    relay: &'a Relay,
    id: [u8; 16],
    coordinator: String,
}

impl<'a> Space<'a> {
    fn create(relay: &'a Relay, id: [u8; 16], coordinator: [u8; 16]) -> Space<'a> {
        let coordinator = create_space(relay, id, coordinator);
        Space {
            relay,
            id,
            coordinator,
        }
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/v1/spaces/{}/{tail}", self.relay.url, hex_id(&self.id))
    }

    /// Registers an invite whose redemption token is `redeem` (the relay gets its hash only).
    fn invite(&self, redeem: [u8; 32]) {
        let invite = CreateInvite {
            secret_hash: allervers_relay::storage::sha256(&redeem),
            expires_at_ms: now_ms() + 86_400_000,
        };
        let (status, body) = call(
            "POST",
            &self.url("invites"),
            Some(&self.coordinator),
            Some(encode(&invite)),
        );
        assert_eq!(status, 204, "{}", text(&body));
    }

    fn enroll(&self, enroll: &Enroll) -> (u16, Vec<u8>) {
        call(
            "POST",
            &format!("{}/v1/enroll", self.relay.url),
            None,
            Some(encode(enroll)),
        )
    }

    /// A new member's device token, through a fresh invite.
    fn member(&self, device: [u8; 16]) -> String {
        let redeem = [device[0].wrapping_add(100); 32];
        self.invite(redeem);
        let (status, body) = self.enroll(&enrolment(self.id, redeem, device));
        assert_eq!(status, 201, "{}", text(&body));
        decode::<Registered>(&body).unwrap().device_token
    }

    fn control(&self, token: &str, after: u64, limit: usize) -> ControlPage {
        let (status, body) = call(
            "GET",
            &self.url(&format!("control?after={after}&limit={limit}")),
            Some(token),
            None,
        );
        assert_eq!(status, 200, "{}", text(&body));
        decode(&body).unwrap()
    }

    /// Every item of the control log, read page by page.
    fn whole_control(&self, token: &str) -> Vec<ControlBody> {
        let (mut items, mut after) = (Vec::new(), 0);
        loop {
            let page = self.control(token, after, 3);
            items.extend(page.items.into_iter().map(|c| c.body));
            after = page.next;
            if !page.more {
                return items;
            }
        }
    }

    fn post_control(&self, token: &str, items: Vec<ControlBody>) -> (u16, Vec<u8>) {
        call(
            "POST",
            &self.url("control"),
            Some(token),
            Some(encode(&PostControl { items })),
        )
    }

    fn start_epoch(&self, token: &str, expected: u32) -> (u16, String, Vec<u8>) {
        call_typed(
            "POST",
            &self.url("epochs"),
            Some(token),
            Some(encode(&StartEpoch { expected })),
        )
    }

    fn revoke(&self, device: [u8; 16], order: Option<&WipeOrder>) -> (u16, Vec<u8>) {
        call(
            "POST",
            &self.url(&format!("devices/{}/revoke", hex_id(&device))),
            Some(&self.coordinator),
            order.map(encode),
        )
    }
}

/// A key delivery; the relay reads none of it.
fn keys(i: u8, to: [u8; 16], from: [u8; 16]) -> ControlBody {
    ControlBody::Keys {
        epoch: 0,
        to,
        from,
        sealed: vec![i; 48 + i as usize],
        signature: vec![i ^ 0xff; 64],
    }
}

fn wipe_order(space: [u8; 16], device: [u8; 16], by: [u8; 16], mark: u8) -> WipeOrder {
    WipeOrder {
        space,
        device,
        by,
        signature: vec![mark; 64],
    }
}

/// The names of every table of the relay's database.
fn tables(db: &rusqlite::Connection) -> Vec<String> {
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn enrolment_writes_one_enrolled_item_with_the_posted_keys_and_never_stores_the_redeem_token() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [30; 16], coordinator_id);
    // Bytes that appear nowhere but in the enrolment request.
    let redeem: [u8; 32] = *b"redeem-token-only-in-the-request";
    let invite = allervers_relay::storage::sha256(&redeem);
    space.invite(redeem);
    let device: [u8; 16] = *b"new-phone-device";
    let enroll = Enroll {
        space: space.id,
        redeem,
        device,
        sign_key: *b"sign-key-of-the-new-phone-32-byt",
        agree_key: *b"agree-key-of-the-new-phone-32-by",
        mac: *b"mac-the-relay-cannot-check-32-by",
    };
    let (status, body) = space.enroll(&enroll);
    assert_eq!(status, 201, "{}", text(&body));
    let member = decode::<Registered>(&body).unwrap().device_token;

    let expected = ControlBody::Enrolled {
        invite,
        device,
        sign_key: enroll.sign_key,
        agree_key: enroll.agree_key,
        mac: enroll.mac,
    };
    let page = space.control(&space.coordinator, 0, 100);
    assert_eq!(page.items.len(), 1, "{page:?}");
    assert_eq!(page.items[0].body, expected);
    assert_eq!((page.next, page.more), (page.items[0].seq, false));
    // Any device of the space reads the log, the new one too.
    assert_eq!(space.control(&member, 0, 100), page);
    // Enrolling pushed no envelope.
    assert!(pull(&relay, space.id, &member, 0, 10).envelopes.is_empty());

    // The relay's database holds the invite's hash (in the Enrolled item), never the token.
    relay.kill();
    let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
    let mut hash_seen = false;
    for table in tables(&db) {
        for (column, bytes) in column_bytes(&db, &table) {
            assert!(
                !holds(&bytes, &redeem),
                "{table}.{column} holds the redeem token"
            );
            hash_seen |= holds(&bytes, &invite);
        }
    }
    assert!(hash_seen, "the Enrolled item names the invite by its hash");
    drop(db);
    for file in ["relay.db", "relay.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(file)) {
            assert!(!holds(&bytes, &redeem), "{file} holds the redeem token");
        }
    }
}

#[test]
fn an_invite_redeemed_twice_at_once_enrols_one_device() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let space = Space::create(&relay, [31; 16], [1; 16]);
    let mut winners = Vec::new();
    for round in 0..8u8 {
        let redeem = [round; 32];
        space.invite(redeem);
        let barrier = std::sync::Barrier::new(2);
        let devices = [[2 * round + 10; 16], [2 * round + 11; 16]];
        let statuses: Vec<(u16, [u8; 16])> = std::thread::scope(|scope| {
            let handles: Vec<_> = devices
                .iter()
                .map(|&device| {
                    let (space, barrier) = (&space, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        (space.enroll(&enrolment(space.id, redeem, device)).0, device)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut codes: Vec<u16> = statuses.iter().map(|s| s.0).collect();
        codes.sort();
        assert_eq!(codes, [201, 404], "round {round}: {statuses:?}");
        winners.extend(statuses.iter().filter(|s| s.0 == 201).map(|s| s.1));
    }
    // One device per invite, in the devices table and in the control log.
    let (status, body) = call("GET", &space.url("devices"), Some(&space.coordinator), None);
    assert_eq!(status, 200);
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert_eq!(devices.len(), 1 + winners.len());
    let mut enrolled: Vec<[u8; 16]> = space
        .whole_control(&space.coordinator)
        .into_iter()
        .map(|item| match item {
            ControlBody::Enrolled { device, .. } => device,
            other => panic!("only enrolments: {other:?}"),
        })
        .collect();
    enrolled.sort();
    winners.sort();
    assert_eq!(enrolled, winners);
}

#[test]
fn the_control_log_pages_by_seq_with_after_limit_next_and_more() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [32; 16], coordinator_id);
    let member = space.member([2; 16]);
    space.member([3; 16]);
    let deliveries: Vec<ControlBody> = (0..3).map(|i| keys(i, [2; 16], coordinator_id)).collect();
    let (status, body) = space.post_control(&space.coordinator, deliveries.clone());
    assert_eq!(status, 200, "{}", text(&body));
    let (status, ..) = space.start_epoch(&space.coordinator, 0);
    assert_eq!(status, 200);
    // Envelopes are numbered apart: pushing some adds nothing to the control log.
    assert_eq!(
        push(&relay, space.id, &member, vec![envelope(1, 10)]).0,
        200
    );

    let first = space.control(&member, 0, 4);
    assert_eq!(first.items.len(), 4);
    assert!(first.more);
    assert_eq!(first.next, first.items[3].seq);
    let rest = space.control(&member, first.next, 4);
    assert_eq!(rest.items.len(), 2);
    assert!(!rest.more);
    assert_eq!(rest.next, rest.items[1].seq);
    let none = space.control(&member, rest.next, 4);
    assert!(none.items.is_empty() && !none.more && none.next == rest.next);
    let beyond = space.control(&member, u64::MAX, 4);
    assert!(beyond.items.is_empty() && !beyond.more && beyond.next == u64::MAX);

    let all: Vec<_> = first.items.iter().chain(&rest.items).collect();
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "{all:?}");
    assert!(matches!(all[0].body, ControlBody::Enrolled { device, .. } if device == [2; 16]));
    assert!(matches!(all[1].body, ControlBody::Enrolled { device, .. } if device == [3; 16]));
    let posted: Vec<ControlBody> = all[2..5].iter().map(|c| c.body.clone()).collect();
    assert_eq!(posted, deliveries);
    assert_eq!(
        all[5].body,
        ControlBody::Epoch {
            epoch: 1,
            by: coordinator_id
        }
    );
    // A limit of 0 is one item, a limit above the most a page holds is that most.
    assert_eq!(space.control(&member, 0, 0).items.len(), 1);
    assert_eq!(space.control(&member, 0, 1_000_000).items.len(), 6);
    // Each space has its own log; a device of another space reads neither.
    let other = Space::create(&relay, [33; 16], [4; 16]);
    assert!(other.whole_control(&other.coordinator).is_empty());
    let (status, body) = call("GET", &space.url("control"), Some(&other.coordinator), None);
    assert_eq!(status, 403, "{}", text(&body));
    assert_eq!(call("GET", &space.url("control"), None, None).0, 401);
    assert_eq!(
        call(
            "GET",
            &space.url("control?after=-1"),
            Some(&space.coordinator),
            None
        )
        .0,
        400
    );
}

#[test]
fn control_posts_are_key_deliveries_from_coordinators_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [34; 16], coordinator_id);
    let member = space.member([2; 16]);
    let k1 = keys(1, [2; 16], coordinator_id);
    let k2 = keys(2, [2; 16], coordinator_id);

    let (status, body) = space.post_control(&member, vec![k1.clone()]);
    assert_eq!(status, 403, "a member posts no keys: {}", text(&body));
    let refused = [
        vec![ControlBody::Epoch {
            epoch: 7,
            by: coordinator_id,
        }],
        vec![enrolment_item([9; 16])],
        vec![
            k1.clone(),
            ControlBody::Epoch {
                epoch: 1,
                by: [2; 16],
            },
        ],
        vec![k1.clone(); 1_001],
        // A delivery that claims to come from another device than the one posting it.
        vec![keys(3, [2; 16], [2; 16])],
    ];
    for items in refused {
        let n = items.len();
        let (status, body) = space.post_control(&space.coordinator, items);
        assert_eq!(status, 400, "{n} items: {}", text(&body));
        assert!(!body.is_empty() && body.len() < 200, "{}", text(&body));
    }
    assert_eq!(
        space.whole_control(&member).len(),
        1,
        "only the member's enrolment: nothing refused was stored"
    );

    let seqs = |items: Vec<ControlBody>| {
        let (status, body) = space.post_control(&space.coordinator, items);
        assert_eq!(status, 200, "{}", text(&body));
        decode::<Pushed>(&body).unwrap().seqs
    };
    let first = seqs(vec![k1.clone()]);
    let again = seqs(vec![k1.clone(), k2.clone()]);
    assert_eq!(again[0], first[0], "the same item keeps its number");
    assert!(again[1] > first[0]);
    assert_eq!(seqs(vec![k2.clone(), k2.clone()]), [again[1], again[1]]);
    assert_eq!(seqs(Vec::new()), Vec::<u64>::new());
    assert_eq!(seqs(vec![k1.clone(); 1_000]), vec![first[0]; 1_000]);
    let log = space.whole_control(&member);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(&log[1..], &[k1.clone(), k2]);

    // A delivery for an epoch the relay has not started is refused, with the whole post; once
    // the epoch is started it is taken.
    let next = ControlBody::Keys {
        epoch: 1,
        to: [2; 16],
        from: coordinator_id,
        sealed: vec![5; 60],
        signature: vec![6; 64],
    };
    let (status, body) = space.post_control(&space.coordinator, vec![k1, next.clone()]);
    assert_eq!(status, 409, "{}", text(&body));
    assert_eq!(space.whole_control(&member).len(), 3);
    assert_eq!(space.start_epoch(&space.coordinator, 0).0, 200);
    assert_eq!(seqs(vec![next.clone()]).len(), 1);
    assert_eq!(space.whole_control(&member).last(), Some(&next));
}

fn enrolment_item(device: [u8; 16]) -> ControlBody {
    ControlBody::Enrolled {
        invite: [7; 32],
        device,
        sign_key: [8; 32],
        agree_key: [9; 32],
        mac: [10; 32],
    }
}

#[test]
fn two_epochs_started_at_once_from_the_same_epoch_one_succeeds_the_other_gets_409_and_the_new_epoch(
) {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [35; 16], coordinator_id);
    let member = space.member([2; 16]);
    for expected in 0..5u32 {
        let barrier = std::sync::Barrier::new(2);
        let answers: Vec<(u16, String, Vec<u8>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (space, barrier) = (&space, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        space.start_epoch(&space.coordinator, expected)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 409], "from epoch {expected}");
        for (status, content_type, body) in &answers {
            assert_eq!(content_type, CONTENT_TYPE, "{status}");
            assert_eq!(
                decode::<EpochStarted>(body).unwrap(),
                EpochStarted {
                    epoch: expected + 1
                },
                "{status}: the new epoch, to the winner and to the loser"
            );
        }
    }
    // A stale start changes nothing; the log holds one Epoch item per epoch, in order.
    let (status, content_type, body) = space.start_epoch(&space.coordinator, 2);
    assert_eq!((status, content_type.as_str()), (409, CONTENT_TYPE));
    assert_eq!(decode::<EpochStarted>(&body).unwrap().epoch, 5);
    let epochs: Vec<ControlBody> = space
        .whole_control(&member)
        .into_iter()
        .filter(|item| matches!(item, ControlBody::Epoch { .. }))
        .collect();
    assert_eq!(
        epochs,
        (1..=5)
            .map(|epoch| ControlBody::Epoch {
                epoch,
                by: coordinator_id
            })
            .collect::<Vec<_>>()
    );
    // Only a coordinator's device starts an epoch.
    let (status, _, body) = space.start_epoch(&member, 5);
    assert_eq!(status, 403, "{}", text(&body));
    let (status, _, body) = space.start_epoch(&space.coordinator, 5);
    assert_eq!(status, 200, "{}", text(&body));
}

#[test]
fn a_revoked_device_with_a_wipe_order_gets_410_and_the_order_on_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [36; 16], coordinator_id);
    let (lost_id, other_id) = ([2u8; 16], [3u8; 16]);
    let lost = space.member(lost_id);
    let other = space.member(other_id);

    // An order must name this space and this device; a refused one revokes nobody.
    for order in [
        wipe_order([99; 16], lost_id, coordinator_id, 1),
        wipe_order(space.id, other_id, coordinator_id, 1),
    ] {
        let (status, body) = space.revoke(lost_id, Some(&order));
        assert_eq!(status, 400, "{}", text(&body));
    }
    assert_eq!(pull(&relay, space.id, &lost, 0, 10).next, 0, "not revoked");

    let order = wipe_order(space.id, lost_id, coordinator_id, 0xab);
    let (status, body) = space.revoke(lost_id, Some(&order));
    assert_eq!(status, 204, "{}", text(&body));
    // Revoked again with another order: the first one stands.
    let (status, _) = space.revoke(lost_id, Some(&wipe_order(space.id, lost_id, [7; 16], 0xcd)));
    assert_eq!(status, 204);
    let (status, _) = space.revoke(lost_id, None);
    assert_eq!(status, 204);

    let other_space = Space::create(&relay, [37; 16], [4; 16]);
    let requests: Vec<(&str, String, Option<Vec<u8>>)> = vec![
        (
            "POST",
            space.url("envelopes"),
            Some(encode(&Push {
                envelopes: vec![envelope(1, 10)],
                sent_at_ms: 0,
            })),
        ),
        ("GET", space.url("envelopes?after=0"), None),
        ("GET", space.url("control"), None),
        (
            "POST",
            space.url("control"),
            Some(encode(&PostControl {
                items: vec![keys(1, other_id, lost_id)],
            })),
        ),
        (
            "POST",
            space.url("epochs"),
            Some(encode(&StartEpoch { expected: 0 })),
        ),
        ("GET", space.url("devices"), None),
        (
            "POST",
            space.url("invites"),
            Some(encode(&CreateInvite {
                secret_hash: [5; 32],
                expires_at_ms: now_ms() + 60_000,
            })),
        ),
        // A malformed body or another space's path: still the order.
        (
            "POST",
            space.url("envelopes"),
            Some(b"\xff garbage".to_vec()),
        ),
        ("GET", other_space.url("envelopes"), None),
    ];
    for (method, url, body) in requests {
        let (status, content_type, reply) = call_typed(method, &url, Some(&lost), body);
        assert_eq!(status, 410, "{method} {url}: {}", text(&reply));
        assert_eq!(content_type, CONTENT_TYPE, "{method} {url}");
        assert_eq!(reply, encode(&order), "{method} {url}: exactly the order");
    }
    // The other devices go on.
    assert_eq!(push(&relay, space.id, &other, vec![envelope(2, 10)]).0, 200);
    assert_eq!(pull(&relay, space.id, &other, 0, 10).envelopes.len(), 1);
}

#[test]
fn a_device_revoked_without_an_order_gets_403_until_an_order_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [38; 16], coordinator_id);
    let lost_id = [2u8; 16];
    let lost = space.member(lost_id);
    let (status, body) = space.revoke(lost_id, None);
    assert_eq!(status, 204, "{}", text(&body));
    for (method, url) in [
        ("GET", space.url("control")),
        ("GET", space.url("envelopes")),
    ] {
        let (status, content_type, reply) = call_typed(method, &url, Some(&lost), None);
        assert_eq!(status, 403, "{url}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert!(text(&reply).contains("revoked"), "{}", text(&reply));
    }
    let (status, body) = push(&relay, space.id, &lost, vec![envelope(1, 10)]);
    assert_eq!((status, text(&body).contains("revoked")), (403, true));

    // The first revocation had no order: a later one stores its order, and that one stays.
    let order = wipe_order(space.id, lost_id, coordinator_id, 0x11);
    assert_eq!(space.revoke(lost_id, Some(&order)).0, 204);
    assert_eq!(
        space
            .revoke(
                lost_id,
                Some(&wipe_order(space.id, lost_id, coordinator_id, 0x22))
            )
            .0,
        204
    );
    let (status, content_type, reply) = call_typed("GET", &space.url("control"), Some(&lost), None);
    assert_eq!((status, content_type.as_str()), (410, CONTENT_TYPE));
    assert_eq!(reply, encode(&order));
    // A device that is not in the space cannot be revoked.
    assert_eq!(space.revoke([9; 16], None).0, 404);
}

#[test]
fn malformed_bodies_and_queries_are_refused_with_400_and_never_stop_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start_with(dir.path(), &["--max-body", "65536"]);
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [39; 16], coordinator_id);
    let member_id = [2u8; 16];
    space.member(member_id);
    let garbage: Vec<Vec<u8>> = vec![
        b"\xff\xfe not postcard".to_vec(),
        vec![0xff; 40],
        // A control item of a kind that does not exist.
        vec![1, 7, 0, 0],
        // A valid body cut short.
        {
            let mut b = encode(&PostControl {
                items: vec![keys(1, member_id, coordinator_id)],
            });
            b.truncate(b.len() - 3);
            b
        },
        {
            let mut b = encode(&enrolment(space.id, [1; 32], [5; 16]));
            b.truncate(40);
            b
        },
    ];
    let admin_url = format!("{}/v1/spaces", relay.url);
    let enroll_url = format!("{}/v1/enroll", relay.url);
    let revoke_url = space.url(&format!("devices/{}/revoke", hex_id(&member_id)));
    // Each endpoint with a body it would accept.
    let endpoints: Vec<(String, Option<&str>, Vec<u8>)> = vec![
        (
            admin_url,
            Some(ADMIN),
            encode(&CreateSpace {
                space: [50; 16],
                device: [5; 16],
            }),
        ),
        (
            enroll_url.clone(),
            None,
            encode(&enrolment(space.id, [1; 32], [5; 16])),
        ),
        (
            space.url("invites"),
            Some(&space.coordinator),
            encode(&CreateInvite {
                secret_hash: [5; 32],
                expires_at_ms: now_ms() + 60_000,
            }),
        ),
        (
            space.url("envelopes"),
            Some(&space.coordinator),
            encode(&Push {
                envelopes: vec![envelope(1, 10)],
                sent_at_ms: 0,
            }),
        ),
        (
            space.url("control"),
            Some(&space.coordinator),
            encode(&PostControl {
                items: vec![keys(1, member_id, coordinator_id)],
            }),
        ),
        (
            space.url("epochs"),
            Some(&space.coordinator),
            encode(&StartEpoch { expected: 0 }),
        ),
        (
            revoke_url,
            Some(&space.coordinator),
            encode(&wipe_order(space.id, member_id, coordinator_id, 1)),
        ),
    ];
    for (url, token, valid) in &endpoints {
        // A valid body with a byte after it is malformed too: nothing of it is done.
        let mut longer = valid.clone();
        longer.push(0);
        for body in garbage.iter().chain([&longer]) {
            let (status, content_type, reply) = call_typed("POST", url, *token, Some(body.clone()));
            assert_eq!(status, 400, "{url} {body:?}: {}", text(&reply));
            assert!(
                content_type.starts_with("text/plain"),
                "{url}: {content_type}"
            );
            assert!(!reply.is_empty() && reply.len() < 200, "{}", text(&reply));
        }
    }
    // An empty body is a malformed one, except for a revocation (which then has no order).
    for url in [
        enroll_url,
        space.url("control"),
        space.url("epochs"),
        space.url("invites"),
    ] {
        let token = (!url.ends_with("enroll")).then_some(space.coordinator.as_str());
        assert_eq!(call("POST", &url, token, None).0, 400, "{url}");
    }
    for query in [
        "after=x",
        "limit=-3",
        "after=1&limit=999999999999999999999999",
    ] {
        let (status, body) = call(
            "GET",
            &space.url(&format!("control?{query}")),
            Some(&space.coordinator),
            None,
        );
        assert_eq!(status, 400, "{query}: {}", text(&body));
    }
    // Too large a post: 413, like any body.
    let (status, _) = space.post_control(
        &space.coordinator,
        vec![ControlBody::Keys {
            epoch: 1,
            to: member_id,
            from: coordinator_id,
            sealed: vec![0; 70_000],
            signature: vec![],
        }],
    );
    assert_eq!(status, 413);

    // Still up, and nothing refused was stored: no space was created, the member is not
    // revoked, the space is at epoch 0, its control log holds only the enrolment and its log
    // no envelope.
    let (status, body) = call("GET", &format!("{}/healthz", relay.url), None, None);
    assert_eq!((status, text(&body).trim()), (200, "ok"));
    let (status, body) = call("GET", &space.url("devices"), Some(&space.coordinator), None);
    assert_eq!(status, 200);
    let devices: Vec<DeviceEntry> = decode(&body).unwrap();
    assert!(devices.iter().all(|d| d.revoked_at_ms.is_none()));
    assert_eq!(space.whole_control(&space.coordinator).len(), 1);
    assert_eq!(space.start_epoch(&space.coordinator, 0).0, 200);
    assert!(pull(&relay, space.id, &space.coordinator, 0, 10)
        .envelopes
        .is_empty());
    create_space(&relay, [50; 16], [5; 16]);
}

/// The relay's schema at version 2 (before the control log), as running relays' files are.
const V2_SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE spaces (space BLOB PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE devices (
    space BLOB NOT NULL,
    device BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    coordinator INTEGER NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (space, device)
) WITHOUT ROWID;
CREATE TABLE invites (
    secret_hash BLOB PRIMARY KEY,
    space BLOB NOT NULL,
    created_by BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE envelopes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    space BLOB NOT NULL,
    digest BLOB NOT NULL,
    record BLOB NOT NULL,
    epoch INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    sealed BLOB NOT NULL,
    wrapped_key BLOB,
    received_at INTEGER NOT NULL,
    clock_offset INTEGER NOT NULL DEFAULT 0,
    UNIQUE (space, digest)
);
CREATE INDEX envelopes_by_space ON envelopes (space, seq);
PRAGMA user_version = 2;
"#;

#[test]
fn a_version_2_relay_file_gains_epochs_a_control_log_and_wipe_orders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let space = [40u8; 16];
    let (coordinator_id, revoked_id, member_id) = ([1u8; 16], [2u8; 16], [3u8; 16]);
    let hash = allervers_relay::storage::sha256;
    let (token, revoked_token, member_token) = ("v2-coordinator", "v2-revoked", "v2-member");
    let pending: [u8; 32] = [41; 32];
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        db.execute_batch(V2_SCHEMA).unwrap();
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('admin_token_hash', ?1)",
            [hash(ADMIN.as_bytes()).as_slice()],
        )
        .unwrap();
        db.execute(
            "INSERT INTO spaces (space, created_at) VALUES (?1, 1772440000)",
            [space],
        )
        .unwrap();
        for (device, token, coordinator, revoked) in [
            (coordinator_id, token, 1, None),
            (revoked_id, revoked_token, 0, Some(1772440900)),
            (member_id, member_token, 0, None),
        ] {
            db.execute(
                "INSERT INTO devices VALUES (?1, ?2, ?3, ?4, 1772440000, ?5)",
                rusqlite::params![space, device, hash(token.as_bytes()), coordinator, revoked],
            )
            .unwrap();
        }
        db.execute(
            "INSERT INTO invites VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![hash(&pending), space, coordinator_id, now_ms() + 86_400_000],
        )
        .unwrap();
        db.execute(
            "INSERT INTO envelopes (space, digest, record, epoch, nonce, sealed, wrapped_key, received_at, clock_offset)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, NULL, 1772441000, 0)",
            rusqlite::params![space, hash(&[6; 30]), [6u8; 16], [6u8; 24], vec![6u8; 30]],
        )
        .unwrap();
    }

    let relay = Relay::start(dir.path());
    let space = Space {
        relay: &relay,
        id: space,
        coordinator: token.to_string(),
    };
    // The space starts at epoch 0 with an empty control log; its envelopes are still there.
    assert!(space.whole_control(member_token).is_empty());
    assert_eq!(
        pull(&relay, space.id, member_token, 0, 10).envelopes.len(),
        1
    );
    let (status, _, body) = space.start_epoch(token, 0);
    assert_eq!(status, 200, "{}", text(&body));
    assert_eq!(decode::<EpochStarted>(&body).unwrap().epoch, 1);
    // A device revoked before has no order: 403.
    assert_eq!(
        call("GET", &space.url("control"), Some(revoked_token), None).0,
        403
    );
    // The pending invite enrols with the new body and writes its Enrolled item.
    let (status, body) = space.enroll(&enrolment(space.id, pending, [4; 16]));
    assert_eq!(status, 201, "{}", text(&body));
    let log = space.whole_control(member_token);
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[0],
        ControlBody::Epoch {
            epoch: 1,
            by: coordinator_id
        }
    );
    assert!(matches!(log[1], ControlBody::Enrolled { invite, .. } if invite == hash(&pending)));
    drop(relay);

    let db = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        integers(&db, "PRAGMA user_version"),
        [allervers_relay::storage::SCHEMA_VERSION as i64]
    );
    assert_eq!(integers(&db, "SELECT epoch FROM spaces"), [1]);
    assert!(columns(&db, "devices").iter().any(|c| c == "wipe_order"));
}

/// An erasure order by `by` listing records of epoch 0.
fn erase_order(by: [u8; 16], records: &[u8]) -> ControlBody {
    ControlBody::Erase {
        by,
        records: records
            .iter()
            .map(|&r| BlindedRecord {
                epoch: 0,
                record: [r; 16],
            })
            .collect(),
        sealed: vec![9; 80],
        signature: vec![8; 64],
    }
}

/// The bytes of the relay's database and of its write-ahead log, read while it runs.
fn relay_files(data: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(data.join("relay.db")).unwrap();
    if let Ok(wal) = std::fs::read(data.join("relay.db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

#[test]
fn an_erasure_order_from_a_coordinator_deletes_the_envelopes_and_leaves_no_byte_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let coordinator_id = [1u8; 16];
    let space = Space::create(&relay, [35; 16], coordinator_id);
    let member = space.member([2; 16]);
    let marked = |i: u8| Envelope {
        sealed: format!("sealed envelope number {i} ")
            .repeat(30)
            .into_bytes(),
        ..envelope(i, 0)
    };
    let (status, body) = push(&relay, space.id, &member, (1..=4).map(marked).collect());
    assert_eq!(status, 200, "{}", text(&body));
    let before = relay_files(dir.path());
    assert!(
        holds(&before, &marked(2).sealed),
        "the grep finds what is there"
    );

    let (status, body) = space.post_control(&member, vec![erase_order([2; 16], &[2])]);
    assert_eq!(status, 403, "a member erases nothing: {}", text(&body));
    for items in [
        vec![erase_order([2; 16], &[2])],
        vec![erase_order(coordinator_id, &[])],
    ] {
        let (status, body) = space.post_control(&space.coordinator, items);
        assert_eq!(status, 400, "{}", text(&body));
    }
    assert_eq!(pull(&relay, space.id, &member, 0, 10).envelopes.len(), 4);

    let order = erase_order(coordinator_id, &[2, 3]);
    let (status, body) = space.post_control(&space.coordinator, vec![order.clone()]);
    assert_eq!(status, 200, "{}", text(&body));
    let left: Vec<u8> = pull(&relay, space.id, &member, 0, 10)
        .envelopes
        .iter()
        .map(|e| e.envelope.record[0])
        .collect();
    assert_eq!(left, vec![1, 4]);
    assert_eq!(space.whole_control(&member).last(), Some(&order));
    let (status, body) = push(&relay, space.id, &member, vec![marked(3)]);
    assert_eq!(status, 409, "{}", text(&body));
    assert_eq!(text(&body), "a record in this push was erased");

    // Neither the database file nor its log keeps a byte of the erased envelopes.
    let after = relay_files(dir.path());
    assert!(holds(&after, &marked(1).sealed), "the others stay");
    for erased in [2, 3] {
        assert!(
            !holds(&after, &marked(erased).sealed[..40]),
            "envelope {erased} is still in the relay's files"
        );
    }
}
