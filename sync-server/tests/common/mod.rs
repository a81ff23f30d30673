//! What the relay's tests that need PostgreSQL share: a fresh database on the test cluster, and
//! made-up ids, tokens and a time.

#![allow(dead_code)] // each test file uses its own part

use allervers_relay::storage::sha256;

/// A time of the relay's clock, in milliseconds (a whole second).
pub const NOW: i64 = 1_780_000_000_000;

/// A space or device id made of one byte.
pub fn id(n: u8) -> [u8; 16] {
    [n; 16]
}

/// The hash of device `n`'s token.
pub fn token(n: u8) -> [u8; 32] {
    sha256(&[b't', n])
}

/// A new, empty database on the cluster named by `ALLERVERS_TEST_POSTGRES` (which
/// `scripts/test.sh` starts); its URL. Fails loudly when there is no cluster: such tests are
/// never skipped.
pub fn fresh_database(prefix: &str) -> String {
    let admin = std::env::var("ALLERVERS_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "no PostgreSQL for the tests: run scripts/test.sh, or \
             `export ALLERVERS_TEST_POSTGRES=$(scripts/postgres.sh start DIR)` first"
        )
    });
    let name = format!("{prefix}_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = admin
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(base, _)| base.to_string())
        .unwrap();
    format!("{base}/{name}")
}
