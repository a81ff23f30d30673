//! The PostgreSQL backend under failure: a session that stalls while it holds a space's row
//! lock does not hold the other spaces, nor the health check, for more than a few seconds, and
//! a mistyped database URL is refused without printing its password.

mod common;

use std::process::Command;

use allervers_protocol::Envelope;
use allervers_relay::storage::postgres::{PostgresOptions, PostgresStorage};
use allervers_relay::storage::{Storage, StorageError};

use common::{id, token, NOW};

fn envelope(n: u8) -> Envelope {
    Envelope {
        record: [n; 16],
        epoch: 0,
        nonce: [n; 24],
        sealed: vec![n; 40],
        key: None,
    }
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
/// hours by default) keeps its space's row locked. Requests waiting for that lock give up after
/// the relay's lock_timeout (503), so that they do not keep the pool's connections: with a pool
/// of two, taken by two pushes to the stalled space, a push to another space and the health
/// check are still served.
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
        other_space.is_ok() && health.is_ok(),
        "space 2 push: {other_space:?}; healthz: {health:?}"
    );
    // The stalled space's pushes were refused (the device retries), not left waiting.
    assert_eq!(answered, Ok(false));
}
