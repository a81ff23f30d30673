//! `allervers-relay migrate`: a relay's SQLite data copied into PostgreSQL reads back the same
//! through the `Storage` trait (every token, device, invite, space invite, envelope and control
//! item, with its sequence number), numbering continues after it, and a target that already
//! holds data, a missing source or a malformed URL is refused with one line and nothing written.
//! A PostgreSQL database of an older schema is brought to this relay's when a relay opens it,
//! its data kept.

mod common;

use std::path::Path;
use std::process::Command;

use allervers_protocol::{BlindedRecord, ControlBody, Envelope, WipeOrder};
use allervers_relay::storage::postgres::{PostgresOptions, PostgresStorage};
use allervers_relay::storage::{
    sha256, Enrolment, EpochOutcome, SqliteStorage, Storage, StorageError, SPACE_CODE_REFUSED,
};

use common::{id, token, NOW};

fn envelope(n: u8) -> Envelope {
    Envelope {
        record: [n; 16],
        epoch: u32::from(n % 2),
        nonce: [n; 24],
        sealed: vec![n; 30 + usize::from(n)],
        key: n.is_multiple_of(3).then(|| vec![n; 72]),
    }
}

fn enrol(s: &dyn Storage, space: u8, invite: [u8; 32], device: u8) {
    s.enroll(
        &Enrolment {
            space: id(space),
            invite,
            device: id(device),
            sign_key: [device; 32],
            agree_key: [device + 1; 32],
            mac: [device + 2; 32],
        },
        token(device),
        NOW,
    )
    .unwrap();
}

/// Two spaces whose envelopes interleave in SQLite's one sequence, devices enrolled, one
/// revoked with its wipe order, unused invites, a recovery token and a space code, epochs and
/// key deliveries, an erasure.
fn fill(s: &dyn Storage) {
    s.init_admin_token_hash([9; 32]).unwrap();
    s.create_space(id(1), id(11), token(11), NOW).unwrap();
    s.create_space(id(2), id(21), token(21), NOW).unwrap();
    s.push(id(1), &[envelope(1), envelope(2), envelope(3)], NOW, 1_000)
        .unwrap();
    s.push(id(2), &[envelope(4), envelope(5)], NOW + 3_000, -2_000)
        .unwrap();
    s.push(id(1), &[envelope(6), envelope(7)], NOW + 5_000, 0)
        .unwrap();
    for (n, device) in [(1u8, 12u8), (2, 13)] {
        let invite = sha256(&[b'i', n]);
        s.add_invite(id(1), id(11), invite, NOW + 86_400_000)
            .unwrap();
        enrol(s, 1, invite, device);
    }
    s.add_invite(id(1), id(11), sha256(b"unused"), NOW + 86_400_000)
        .unwrap();
    s.set_recovery(id(1), id(11), sha256(b"recovery")).unwrap();
    s.add_space_invite(id(1), id(11), sha256(b"space code"), NOW + 86_400_000)
        .unwrap();
    s.revoke(
        id(1),
        id(13),
        Some(&WipeOrder {
            space: id(1),
            device: id(13),
            by: id(11),
            signature: vec![5; 64],
        }),
        NOW + 7_000,
    )
    .unwrap();
    assert_eq!(
        s.start_epoch(id(1), 0, id(11)).unwrap(),
        EpochOutcome::Started(1)
    );
    s.post_control(
        id(1),
        &[ControlBody::Keys {
            epoch: 1,
            to: id(12),
            from: id(11),
            sealed: vec![1; 80],
            signature: vec![2; 64],
        }],
    )
    .unwrap();
    for epoch in 0..2 {
        s.start_epoch(id(2), epoch, id(21)).unwrap();
    }
    // Space 2's envelope 4 erased.
    s.post_control(
        id(2),
        &[ControlBody::Erase {
            by: id(21),
            records: vec![BlindedRecord {
                epoch: 0,
                record: [4; 16],
            }],
            sealed: vec![3; 60],
            signature: vec![4; 64],
        }],
    )
    .unwrap();
}

/// Everything a relay serves, read through the trait.
fn served(s: &dyn Storage) -> String {
    let mut out = format!("admin {:?}\n", s.admin_token_hash().unwrap());
    for device in [11, 12, 13, 21, 99] {
        out += &format!("caller {device}: {:?}\n", s.caller(token(device)).unwrap());
    }
    for space in [1, 2] {
        out += &format!("devices {space}: {:?}\n", s.devices(id(space)).unwrap());
        out += &format!(
            "envelopes {space}: {:?}\n",
            s.pull(id(space), 0, 100).unwrap()
        );
        out += &format!(
            "control {space}: {:?}\n",
            s.control(id(space), 0, 100).unwrap()
        );
    }
    out
}

fn migrate(from: &Path, to: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_allervers-relay"))
        .args(["migrate", "--from"])
        .arg(from)
        .args(["--to", to])
        .env("RUST_LOG", "off")
        .output()
        .unwrap()
}

fn postgres(url: &str) -> PostgresStorage {
    PostgresStorage::connect(url, &PostgresOptions::default()).unwrap()
}

#[test]
fn a_relay_moved_to_postgres_serves_what_it_served_and_numbers_on() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    fill(&sqlite);
    let before = served(&sqlite);
    drop(sqlite);

    let url = common::fresh_database("migrate");
    let out = migrate(dir.path(), &url);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "copied 2 spaces, 4 devices, 2 invites, 1 space invites, 6 envelopes, 7 control items and 1 erased records"
    );
    let pg = postgres(&url);
    assert_eq!(served(&pg), before);

    // Space 1's numbers were 1, 2, 3, 6, 7 and space 2's 4, 5: each goes on after its last.
    assert_eq!(pg.push(id(1), &[envelope(8)], NOW, 0).unwrap(), vec![8]);
    assert_eq!(pg.push(id(2), &[envelope(8)], NOW, 0).unwrap(), vec![6]);
    // The erased record stays refused.
    assert!(matches!(
        pg.push(id(2), &[envelope(4)], NOW, 0),
        Err(StorageError::Conflict(_))
    ));
    // An envelope already there keeps its number.
    assert_eq!(pg.push(id(1), &[envelope(2)], NOW, 0).unwrap(), vec![2]);
    assert_eq!(
        pg.start_epoch(id(1), 1, id(11)).unwrap(),
        EpochOutcome::Started(2)
    );
    // Its control items were 1 to 4 (space 2's 5 and 6): the new epoch's item is 5.
    let control = pg.control(id(1), 0, 100).unwrap();
    assert_eq!(control.items.last().unwrap().seq, 5);
    // The unused invite and the recovery token still enrol, once.
    enrol(&pg, 1, sha256(b"unused"), 14);
    enrol(&pg, 1, sha256(b"recovery"), 15);
    assert!(pg.caller(token(15)).unwrap().unwrap().coordinator);
    // The pending space code crossed too: it registers a new space once.
    pg.create_linked_space(sha256(b"space code"), id(3), id(31), token(31), NOW)
        .unwrap();
    let founder = pg.caller(token(31)).unwrap().unwrap();
    assert!(founder.space == id(3) && founder.coordinator);
    assert_eq!(
        pg.create_linked_space(sha256(b"space code"), id(4), id(41), token(41), NOW),
        Err(SPACE_CODE_REFUSED)
    );
    assert!(pg
        .enroll(
            &Enrolment {
                space: id(1),
                invite: sha256(b"unused"),
                device: id(16),
                sign_key: [0; 32],
                agree_key: [0; 32],
                mac: [0; 32],
            },
            token(16),
            NOW,
        )
        .is_err());
}

#[test]
fn a_migration_is_refused_whole_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    fill(&SqliteStorage::open(&dir.path().join("relay.db")).unwrap());
    let url = common::fresh_database("migrate_twice");
    assert!(migrate(dir.path(), &url).status.success());
    let pg = postgres(&url);
    let after_first = served(&pg);

    let refused = |out: std::process::Output, why: &str| {
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(why),
            "{stderr}"
        );
    };
    // The source is marked as moved: a second migration of it is refused whatever the target.
    refused(migrate(dir.path(), &url), "was moved to PostgreSQL");
    refused(
        migrate(dir.path(), &common::fresh_database("migrate_again")),
        "was moved to PostgreSQL",
    );
    // Another relay's data into a database that holds some already.
    let other = tempfile::tempdir().unwrap();
    fill(&SqliteStorage::open(&other.path().join("relay.db")).unwrap());
    refused(
        migrate(other.path(), &url),
        "the PostgreSQL database already holds a relay's data",
    );
    let empty = tempfile::tempdir().unwrap();
    refused(migrate(empty.path(), &url), "no relay database in");
    refused(
        migrate(dir.path(), "postgres://nobody@127.0.0.1:99999/x"),
        "not a PostgreSQL URL",
    );
    assert_eq!(served(&pg), after_first);
}

/// A relay still running on its file while it is migrated: once the copy commits, it refuses
/// every request and every write (nothing acknowledged there could be missing from PostgreSQL,
/// and no sequence number it hands out could name another envelope there), and no relay starts
/// on the file again.
#[test]
fn the_old_relay_refuses_everything_once_its_data_moved() {
    let dir = tempfile::tempdir().unwrap();
    let running = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    fill(&running);
    let url = common::fresh_database("migrate_running");
    assert!(migrate(dir.path(), &url).status.success());

    assert_eq!(
        running.push(id(1), &[envelope(9)], NOW, 0),
        Err(StorageError::Moved)
    );
    assert_eq!(running.caller(token(11)), Err(StorageError::Moved));
    assert_eq!(
        running.start_epoch(id(1), 1, id(11)),
        Err(StorageError::Moved)
    );
    assert_eq!(
        running.add_invite(id(1), id(11), sha256(b"late"), NOW + 60_000),
        Err(StorageError::Moved)
    );
    assert_eq!(
        running.create_linked_space(sha256(b"space code"), id(5), id(51), token(51), NOW),
        Err(StorageError::Moved)
    );
    assert!(SqliteStorage::open(&dir.path().join("relay.db")).is_err());
    let relay = Command::new(env!("CARGO_BIN_EXE_allervers-relay"))
        .args(["--addr", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!relay.status.success());
    assert!(
        String::from_utf8_lossy(&relay.stderr).contains("start the relay with --database"),
        "{relay:?}"
    );
    // PostgreSQL holds what the file held, and numbers on.
    assert_eq!(
        postgres(&url).push(id(1), &[envelope(9)], NOW, 0).unwrap(),
        vec![8]
    );
}

/// A database a relay of schema 2 (before space codes) left: the next relay to open it adds
/// `space_invites`, and serves what it served.
#[test]
fn a_postgres_database_from_before_space_codes_gains_them_and_keeps_its_data() {
    let url = common::fresh_database("schema_2");
    let pg = postgres(&url);
    fill(&pg);
    let before = served(&pg);
    drop(pg);
    let mut db = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    db.batch_execute("DROP TABLE space_invites; UPDATE relay_schema SET version = 2")
        .unwrap();

    let pg = postgres(&url);
    let version: i32 = db
        .query_one("SELECT version FROM relay_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        version as usize,
        allervers_relay::storage::postgres::SCHEMA_VERSION
    );
    assert_eq!(served(&pg), before);
    pg.add_space_invite(id(1), id(11), sha256(b"new code"), NOW + 60_000)
        .unwrap();
    pg.create_linked_space(sha256(b"new code"), id(3), id(31), token(31), NOW)
        .unwrap();
    assert!(pg.caller(token(31)).unwrap().unwrap().coordinator);
}
