//! Review of the PostgreSQL backend and `migrate`: cases the conformance suite and the migration
//! tests do not cover. Each test states what should hold; a failing one is a finding.

mod common;

use std::path::Path;
use std::process::Command;

use allervers_protocol::{ControlBody, Envelope};
use allervers_relay::storage::postgres::{PostgresOptions, PostgresStorage};
use allervers_relay::storage::{sha256, SqliteStorage, Storage, StorageError};

const NOW: i64 = 1_780_000_000_000;

fn id(n: u8) -> [u8; 16] {
    [n; 16]
}

fn token(n: u8) -> [u8; 32] {
    sha256(&[b't', n])
}

fn envelope(n: u8) -> Envelope {
    Envelope {
        record: [n; 16],
        epoch: 0,
        nonce: [n; 24],
        sealed: vec![n; 40],
        key: None,
    }
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

/// `migrate` takes SQLite's write lock "so that nothing written meanwhile is left behind", but
/// a relay still running on the file acknowledges pushes again as soon as the copy is done: an
/// acknowledged push that never reaches PostgreSQL. It should be refused (the file marked as
/// moved in the same locked transaction), or be in PostgreSQL.
#[test]
fn a_push_the_old_relay_acknowledges_after_the_migration_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    // The relay still running on its file (the same `Storage` its handlers call).
    let running = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    running.init_admin_token_hash([9; 32]).unwrap();
    running.create_space(id(1), id(11), token(11), NOW).unwrap();
    running
        .push(id(1), &[envelope(1), envelope(2)], NOW, 0)
        .unwrap();

    let url = common::fresh_database("review_running");
    let out = migrate(dir.path(), &url);
    assert!(out.status.success(), "{out:?}");

    // A device syncs with the old address (it has not been told to move yet).
    let acknowledged = running.push(id(1), &[envelope(3)], NOW, 0);
    let pg = postgres(&url);
    let on_pg = pg.pull(id(1), 0, 100).unwrap();
    if let Ok(seqs) = acknowledged {
        assert!(
            on_pg.envelopes.iter().any(|e| e.envelope.sealed == envelope(3).sealed),
            "the old relay acknowledged envelope 3 as seq {seqs:?} after the migration; \
             PostgreSQL will never have it: {:?}",
            on_pg.envelopes.iter().map(|e| e.seq).collect::<Vec<_>>()
        );
    }
}

/// The sequence number a device holds as its cursor names one envelope, whichever relay serves
/// it: a number handed out by the old relay (after the copy) must never be handed out again, for
/// another envelope, by the new one, or `set_relay`'s check (which compares the number only)
/// accepts the new relay and the device skips everything up to that number.
#[test]
fn a_sequence_number_handed_out_by_the_old_relay_is_not_reused_by_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let running = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    running.create_space(id(1), id(11), token(11), NOW).unwrap();
    running
        .push(id(1), &[envelope(1), envelope(2)], NOW, 0)
        .unwrap();
    let url = common::fresh_database("review_reuse");
    assert!(migrate(dir.path(), &url).status.success());

    let old = running.push(id(1), &[envelope(3)], NOW, 0).unwrap();
    let new = postgres(&url).push(id(1), &[envelope(4)], NOW, 0).unwrap();
    assert_ne!(
        old, new,
        "seq {old:?} names envelope 3 on the old relay and envelope 4 on PostgreSQL"
    );
}

/// The two backends answer a write for a space the relay does not know the same way (the
/// conformance suite never asks). SQLite stores an invite and control items for it (a control
/// item with epoch 0, since a missing space reads as epoch 0); PostgreSQL refuses both.
#[test]
fn both_backends_treat_writes_to_an_unknown_space_alike() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    let pg = postgres(&common::fresh_database("review_unknown"));
    let keys = ControlBody::Keys {
        epoch: 0,
        to: id(2),
        from: id(1),
        sealed: vec![1; 48],
        signature: vec![2; 64],
    };
    let on = |s: &dyn Storage| {
        (
            s.add_invite(id(42), id(1), sha256(b"x"), NOW + 1_000),
            s.post_control(id(42), std::slice::from_ref(&keys)),
        )
    };
    let (sq, pq) = (on(&sqlite), on(&pg));
    assert_eq!(sq, pq, "SQLite {sq:?} / PostgreSQL {pq:?}");
}

/// At the trait level, a page asked with `limit = usize::MAX` (callers clamp, the trait does
/// not say they must): SQLite computes `LIMIT (usize::MAX as i64) + 1` = `LIMIT 0`, serves
/// nothing and says nothing more remains; PostgreSQL serves the page.
#[test]
fn both_backends_serve_a_page_for_the_largest_limit() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open(&dir.path().join("relay.db")).unwrap();
    let pg = postgres(&common::fresh_database("review_limit"));
    for s in [&sqlite as &dyn Storage, &pg] {
        s.create_space(id(1), id(11), token(11), NOW).unwrap();
        s.push(id(1), &[envelope(1)], NOW, 0).unwrap();
    }
    let (sq, pq) = (
        sqlite.pull(id(1), 0, usize::MAX).unwrap(),
        pg.pull(id(1), 0, usize::MAX).unwrap(),
    );
    assert_eq!(
        (sq.envelopes.len(), sq.more),
        (pq.envelopes.len(), pq.more),
        "SQLite {sq:?} / PostgreSQL {pq:?}"
    );
}

/// A database URL with a one-letter slip in its scheme is read as `key=value` text, and the
/// error names the whole "key", password included; `main` prints it and logs keep it (the
/// option is declared `hide_env_values` for that very reason).
#[test]
fn a_mistyped_database_url_does_not_print_its_password() {
    let url = "postgress://relay:Sup3rS3cret@db.internal:5432/relay?sslmode=require";
    let err = match PostgresStorage::connect(url, &PostgresOptions::default()) {
        Err(StorageError::Failed(why)) => why,
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("connected"),
    };
    let relay = Command::new(env!("CARGO_BIN_EXE_allervers-relay"))
        .args(["--addr", "127.0.0.1:0", "--database", url])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let relay_stderr = String::from_utf8_lossy(&relay.stderr);
    assert!(
        !err.contains("Sup3rS3cret") && !relay_stderr.contains("Sup3rS3cret"),
        "connect: {err}\nrelay stderr: {relay_stderr}"
    );
}

/// An instance that stalls inside a transaction (its machine frozen or cut off from the
/// database: no FIN reaches PostgreSQL, which then keeps the session for its TCP keepalive, two
/// hours by default) keeps its space's row locked. The relay sets no lock_timeout,
/// statement_timeout or idle_in_transaction_session_timeout, so every other instance's request
/// for that space waits without end, each holding a pooled connection; once the pool is taken
/// this way, requests for every other space and /healthz fail too.
#[test]
fn a_stalled_transaction_on_one_space_does_not_take_the_relay_down() {
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::Duration;

    let url = common::fresh_database("review_stall");
    let options = PostgresOptions {
        max_connections: 2,
        ..PostgresOptions::default()
    };
    let pg = Arc::new(PostgresStorage::connect(&url, &options).unwrap());
    pg.create_space(id(1), id(11), token(11), NOW).unwrap();
    pg.create_space(id(2), id(21), token(21), NOW).unwrap();

    // The stalled instance: its transaction took space 1's row and went silent.
    let mut stalled = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = stalled.transaction().unwrap();
    tx.query(
        "SELECT last_seq FROM spaces WHERE space = $1 FOR UPDATE",
        &[&&id(1)[..]],
    )
    .unwrap();

    // Two devices push to space 1 through this instance.
    let (done, finished) = mpsc::channel();
    for n in 0..2u8 {
        let (pg, done) = (pg.clone(), done.clone());
        std::thread::spawn(move || {
            let _ = done.send(pg.push(id(1), &[envelope(10 + n)], NOW, 0).is_ok());
        });
    }
    std::thread::sleep(Duration::from_secs(1));
    let other_space = pg.push(id(2), &[envelope(1)], NOW, 0);
    let health = pg.check();
    let answered = finished.recv_timeout(Duration::from_secs(20));
    drop(tx);
    assert!(
        other_space.is_ok() && health.is_ok() && answered.is_ok(),
        "space 2 push: {other_space:?}; healthz: {health:?}; \
         space 1 pushes answered within 20 s: {answered:?}"
    );
}
