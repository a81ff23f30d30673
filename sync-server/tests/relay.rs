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
