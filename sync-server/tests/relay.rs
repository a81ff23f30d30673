//! The relay as a real process on a loopback port, driven over HTTP: spaces, enrolment,
//! idempotent pushes, paging, refusals, revocation, durability across SIGKILL, and shutdown.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use allervers_protocol::{
    decode, encode, hex_id, CreateInvite, CreateSpace, DeviceEntry, Enroll, Envelope, Page, Push,
    Pushed, Registered, CONTENT_TYPE,
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
    (
        status,
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
            Some(encode(&Enroll {
                space,
                secret,
                device,
            })),
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
        Some(encode(&Enroll {
            space,
            secret,
            device: [2; 16],
        })),
    );
    assert_eq!(status, 404, "{}", text(&body));
}
